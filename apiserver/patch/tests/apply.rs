//! Server-side apply and managed fields over real objects, each case taken from upstream's
//! documented behaviour: the "Server-Side Apply" docs page (conflicts, `--force-conflicts`,
//! transferring ownership, removing fields, the replicas example) and structured-merge-diff's merge
//! test cases (multiple appliers, sets, list maps, atomic values).

// Test helpers panic on fixtures that are not what the case set up.
#![allow(clippy::unwrap_used)]

use serde_json::{Value, json};
use tugboat_patch::apply::{
    self, ApplyError, BEFORE_FIRST_APPLY, Conflict, FieldSet, Operation, record_update,
};
use tugboat_protobuf::MessageRef;

const T0: &str = "2024-01-01T00:00:00Z";
const T1: &str = "2024-01-01T00:01:00Z";
const T2: &str = "2024-01-01T00:02:00Z";

fn deployment_schema() -> MessageRef {
    MessageRef::for_kind("apps/v1", "Deployment").unwrap()
}

fn config_map_schema() -> MessageRef {
    MessageRef::for_kind("v1", "ConfigMap").unwrap()
}

/// The docs' nginx Deployment, with `image` and `replicas` to vary.
fn nginx(image: &str, replicas: i64) -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "nginx", "labels": {"app": "nginx"}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "nginx"}},
            "template": {
                "metadata": {"labels": {"app": "nginx"}},
                "spec": {"containers": [{"name": "nginx", "image": image, "ports": [{"containerPort": 80}]}]}
            }
        }
    })
}

fn apply_d(
    live: Option<&Value>,
    config: &Value,
    manager: &str,
    force: bool,
    now: &str,
) -> Result<Value, ApplyError> {
    apply::apply(live, config, deployment_schema(), manager, force, now)
}

/// The managed fields entries as (manager, operation, time), in order.
fn entries(obj: &Value) -> Vec<(String, String, Option<String>)> {
    obj.pointer("/metadata/managedFields")
        .and_then(Value::as_array)
        .map(|l| {
            l.iter()
                .map(|e| {
                    (
                        e["manager"].as_str().unwrap().to_owned(),
                        e["operation"].as_str().unwrap().to_owned(),
                        e.get("time").and_then(Value::as_str).map(str::to_owned),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The `FieldsV1` text of `manager`'s entry with `operation`, as upstream writes it.
fn fields(obj: &Value, manager: &str, operation: &str) -> String {
    let entry = obj["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["manager"] == manager && e["operation"] == operation)
        .unwrap_or_else(|| panic!("no entry {manager} {operation} in {obj}"));
    assert_eq!(entry["fieldsType"], "FieldsV1");
    FieldSet::from_fields_v1(&entry["fieldsV1"])
        .unwrap()
        .to_fields_v1_string()
}

fn strip_managed(obj: &Value) -> Value {
    let mut o = obj.clone();
    o["metadata"]
        .as_object_mut()
        .unwrap()
        .remove("managedFields");
    o
}

#[test]
fn fields_v1_round_trip_of_upstream_documents() {
    for text in [
        r#"{"f:metadata":{"f:labels":{"f:app":{}}},"f:spec":{"f:containers":{"k:{\"name\":\"nginx\"}":{".":{},"f:image":{},"f:name":{}}}}}"#,
        // `kubectl create` of a Deployment (an Update entry, from the docs page).
        r#"{"f:metadata":{"f:labels":{".":{},"f:app":{}}},"f:spec":{"f:progressDeadlineSeconds":{},"f:replicas":{},"f:selector":{},"f:strategy":{"f:rollingUpdate":{".":{},"f:maxSurge":{},"f:maxUnavailable":{}},"f:type":{}},"f:template":{"f:metadata":{"f:labels":{".":{},"f:app":{}}},"f:spec":{"f:containers":{"k:{\"name\":\"nginx\"}":{".":{},"f:image":{},"f:imagePullPolicy":{},"f:name":{},"f:ports":{".":{},"k:{\"containerPort\":80,\"protocol\":\"TCP\"}":{".":{},"f:containerPort":{},"f:protocol":{}}}}}}}}}"#,
        r#"{"f:metadata":{"f:finalizers":{".":{},"v:\"example.com/a\"":{},"v:\"example.com/b\"":{}}}}"#,
    ] {
        let value: Value = serde_json::from_str(text).unwrap();
        let set = FieldSet::from_fields_v1(&value).unwrap();
        assert_eq!(set.to_fields_v1_string(), text);
        assert_eq!(FieldSet::from_fields_v1(&set.to_fields_v1()).unwrap(), set);
    }
}

#[test]
fn create_on_apply_of_a_deployment() {
    let config = nginx("nginx:1.14.2", 2);
    let out = apply_d(None, &config, "kubectl", false, T0).unwrap();
    assert_eq!(strip_managed(&out), config);
    assert_eq!(
        entries(&out),
        [("kubectl".into(), "Apply".into(), Some(T0.into()))]
    );
    let entry = &out["metadata"]["managedFields"][0];
    assert_eq!(entry["apiVersion"], "apps/v1");
    assert!(entry.get("subresource").is_none());
    // Ports are keyed by (containerPort, protocol), protocol defaulting to TCP; spec.selector is an
    // atomic LabelSelector: one leaf.
    assert_eq!(
        fields(&out, "kubectl", "Apply"),
        r#"{"f:metadata":{"f:labels":{"f:app":{}}},"f:spec":{"f:replicas":{},"f:selector":{},"f:template":{"f:metadata":{"f:labels":{"f:app":{}}},"f:spec":{"f:containers":{"k:{\"name\":\"nginx\"}":{".":{},"f:image":{},"f:name":{},"f:ports":{"k:{\"containerPort\":80,\"protocol\":\"TCP\"}":{".":{},"f:containerPort":{}}}}}}}}}"#
    );
}

#[test]
fn reapply_with_a_changed_image() {
    let live = apply_d(None, &nginx("nginx:1.14.2", 2), "kubectl", false, T0).unwrap();
    let out = apply_d(Some(&live), &nginx("nginx:1.16.1", 2), "kubectl", false, T1).unwrap();
    assert_eq!(
        out["spec"]["template"]["spec"]["containers"][0]["image"],
        "nginx:1.16.1"
    );
    assert_eq!(
        entries(&out),
        [("kubectl".into(), "Apply".into(), Some(T1.into()))]
    );
    // Applying the same again changes nothing, not even the time.
    let again = apply_d(Some(&out), &nginx("nginx:1.16.1", 2), "kubectl", false, T2).unwrap();
    assert_eq!(again, out);
}

#[test]
fn dropped_label_is_removed_unless_someone_else_owns_it() {
    let mut config = nginx("nginx", 1);
    config["metadata"]["labels"]["team"] = json!("a");
    config["metadata"]["labels"]["tier"] = json!("web");
    let live = apply_d(None, &config, "mgr", false, T0).unwrap();
    // Another manager (an Update) sets `tier` to the value it already has: shared ownership.
    let mut updated = live.clone();
    updated["metadata"]["labels"]["tier"] = json!("web");
    updated["metadata"]["labels"]["other"] = json!("x");
    let live = record_update(
        Some(&live),
        &updated,
        deployment_schema(),
        "kubectl-edit",
        T1,
    );
    assert_eq!(
        fields(&live, "kubectl-edit", "Update"),
        r#"{"f:metadata":{"f:labels":{"f:other":{}}}}"#
    );
    // Make `tier` co-owned by a second applier.
    let co = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "nginx", "labels": {"tier": "web"}}});
    let live = apply_d(Some(&live), &co, "co-owner", false, T1).unwrap();

    let mut dropped = config.clone();
    let labels = dropped["metadata"]["labels"].as_object_mut().unwrap();
    labels.remove("team");
    labels.remove("tier");
    let out = apply_d(Some(&live), &dropped, "mgr", false, T2).unwrap();
    assert_eq!(
        out["metadata"]["labels"],
        json!({"app": "nginx", "tier": "web", "other": "x"})
    );
    assert!(!fields(&out, "mgr", "Apply").contains("f:team"));
    assert!(!fields(&out, "mgr", "Apply").contains("f:tier"));
}

#[test]
fn conflict_between_two_appliers_on_replicas() {
    let live = apply_d(None, &nginx("nginx", 3), "kubectl", false, T0).unwrap();
    let hpa = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "nginx"}, "spec": {"replicas": 5}});
    let err = apply_d(Some(&live), &hpa, "hpa", false, T1).unwrap_err();
    assert_eq!(
        err,
        ApplyError::Conflicts(vec![Conflict {
            manager: "kubectl".into(),
            operation: Operation::Apply,
            api_version: "apps/v1".into(),
            subresource: String::new(),
            path: ".spec.replicas".into(),
        }])
    );
    assert_eq!(err.status_code(), 409);
    assert_eq!(err.reason(), "Conflict");
    assert_eq!(
        err.status_message(),
        r#"Apply failed with 1 conflict: conflict with "kubectl": .spec.replicas"#
    );
    let causes: Vec<Value> = err.causes().iter().map(|c| c.to_json()).collect();
    assert_eq!(
        causes,
        [
            json!({"type": "FieldManagerConflict", "message": "conflict with \"kubectl\"", "field": ".spec.replicas"})
        ]
    );

    // The same value is no conflict: both own it.
    let same = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "nginx"}, "spec": {"replicas": 3}});
    let shared = apply_d(Some(&live), &same, "hpa", false, T1).unwrap();
    assert_eq!(
        fields(&shared, "hpa", "Apply"),
        r#"{"f:spec":{"f:replicas":{}}}"#
    );
    assert!(fields(&shared, "kubectl", "Apply").contains("f:replicas"));
}

#[test]
fn force_takes_ownership_and_the_loser_can_then_drop_the_field() {
    let live = apply_d(None, &nginx("nginx", 3), "kubectl", false, T0).unwrap();
    let hpa = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "nginx"}, "spec": {"replicas": 5}});
    let out = apply_d(Some(&live), &hpa, "hpa", true, T1).unwrap();
    assert_eq!(out["spec"]["replicas"], 5);
    assert!(!fields(&out, "kubectl", "Apply").contains("f:replicas"));
    assert_eq!(
        fields(&out, "hpa", "Apply"),
        r#"{"f:spec":{"f:replicas":{}}}"#
    );
    assert_eq!(
        entries(&out),
        [
            ("kubectl".into(), "Apply".into(), Some(T0.into())),
            ("hpa".into(), "Apply".into(), Some(T1.into())),
        ]
    );
    // The docs' transfer of ownership: kubectl now applies without replicas; the value stays.
    let mut without = nginx("nginx", 0);
    without["spec"].as_object_mut().unwrap().remove("replicas");
    let out = apply_d(Some(&out), &without, "kubectl", false, T2).unwrap();
    assert_eq!(out["spec"]["replicas"], 5);
}

#[test]
fn dropping_a_field_only_its_applier_owned_removes_it() {
    let live = apply_d(None, &nginx("nginx", 3), "kubectl", false, T0).unwrap();
    let mut without = nginx("nginx", 0);
    without["spec"].as_object_mut().unwrap().remove("replicas");
    let out = apply_d(Some(&live), &without, "kubectl", false, T1).unwrap();
    assert!(out["spec"].get("replicas").is_none(), "{out}");
}

#[test]
fn client_side_apply_update_then_server_side_apply_conflicts() {
    // `kubectl apply` (client-side) creates through an Update by kubectl-client-side-apply.
    let created = record_update(
        None,
        &nginx("nginx", 2),
        deployment_schema(),
        "kubectl-client-side-apply",
        T0,
    );
    assert_eq!(
        entries(&created),
        [(
            "kubectl-client-side-apply".into(),
            "Update".into(),
            Some(T0.into())
        )]
    );
    let mut live = created.clone();
    live["metadata"]["uid"] = json!("1234");
    let err = apply_d(Some(&live), &nginx("nginx", 4), "kubectl", false, T1).unwrap_err();
    assert_eq!(
        err.status_message(),
        r#"Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using apps/v1: .spec.replicas"#
    );
    assert_eq!(
        err.causes()[0].to_json(),
        json!({"type": "FieldManagerConflict", "message": "conflict with \"kubectl-client-side-apply\" using apps/v1", "field": ".spec.replicas"})
    );
    // Migrating with the same values shares ownership.
    let out = apply_d(Some(&live), &nginx("nginx", 2), "kubectl", false, T1).unwrap();
    assert_eq!(strip_managed(&out), strip_managed(&live));
    assert_eq!(entries(&out).len(), 2);
    assert_eq!(entries(&out)[0], ("kubectl".into(), "Apply".into(), None));
}

#[test]
fn conflicts_on_fields_client_side_apply_left_unchanged_may_be_taken_over() {
    let mut live = record_update(
        None,
        &nginx("nginx", 2),
        deployment_schema(),
        "kubectl-client-side-apply",
        T0,
    );
    live["metadata"]["uid"] = json!("1234");
    let last_applied = nginx("nginx", 2);
    let Err(ApplyError::Conflicts(conflicts)) =
        apply_d(Some(&live), &nginx("nginx:2", 4), "kubectl", false, T1)
    else {
        panic!("expected conflicts");
    };
    assert_eq!(conflicts.len(), 2, "{conflicts:?}");
    assert!(apply::conflicts_allowed_by_last_applied(
        &conflicts,
        &live,
        &last_applied,
        deployment_schema()
    ));
    // Someone changed the replicas after the client-side apply: that conflict stands.
    let mut changed = live.clone();
    changed["spec"]["replicas"] = json!(3);
    let Err(ApplyError::Conflicts(conflicts)) =
        apply_d(Some(&changed), &nginx("nginx:2", 4), "kubectl", false, T1)
    else {
        panic!("expected conflicts");
    };
    assert!(!apply::conflicts_allowed_by_last_applied(
        &conflicts,
        &changed,
        &last_applied,
        deployment_schema()
    ));
    // A field client-side apply never applied is not covered either.
    let mut narrower = last_applied.clone();
    narrower["spec"].as_object_mut().unwrap().remove("replicas");
    let Err(ApplyError::Conflicts(conflicts)) =
        apply_d(Some(&live), &nginx("nginx", 4), "kubectl", false, T1)
    else {
        panic!("expected conflicts");
    };
    assert!(!apply::conflicts_allowed_by_last_applied(
        &conflicts,
        &live,
        &narrower,
        deployment_schema()
    ));
}

#[test]
fn multiple_conflicts_are_grouped_by_manager() {
    let live = apply_d(None, &nginx("nginx", 3), "alpha", false, T0).unwrap();
    let mut upd = live.clone();
    upd["metadata"]["labels"]["tier"] = json!("x");
    let live = record_update(Some(&live), &upd, deployment_schema(), "beta", T1);
    let mut config = nginx("nginx:2", 4);
    config["metadata"]["labels"]["tier"] = json!("y");
    let err = apply_d(Some(&live), &config, "gamma", false, T2).unwrap_err();
    assert_eq!(
        err.status_message(),
        "Apply failed with 3 conflicts: conflicts with \"alpha\":\n- .spec.replicas\n- .spec.template.spec.containers[name=\"nginx\"].image\nconflicts with \"beta\" using apps/v1:\n- .metadata.labels.tier"
    );
    assert_eq!(err.causes().len(), 3);
    assert_eq!(err.causes()[2].field, ".metadata.labels.tier");
}

#[test]
fn containers_are_keyed_by_name() {
    let base = nginx("nginx", 1);
    let live = apply_d(None, &base, "a", false, T0).unwrap();
    let sidecar = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "nginx"},
        "spec": {"template": {"spec": {"containers": [{"name": "sidecar", "image": "busybox"}]}}}});
    let out = apply_d(Some(&live), &sidecar, "b", false, T1).unwrap();
    let names: Vec<&str> = out["spec"]["template"]["spec"]["containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["nginx", "sidecar"]);
    assert_eq!(
        fields(&out, "b", "Apply"),
        r#"{"f:spec":{"f:template":{"f:spec":{"f:containers":{"k:{\"name\":\"sidecar\"}":{".":{},"f:image":{},"f:name":{}}}}}}}"#
    );
    // b stops applying its container: the item goes, a's stays.
    let empty = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "nginx"}, "spec": {"template": {"spec": {"containers": []}}}});
    let out = apply_d(Some(&out), &empty, "b", false, T2).unwrap();
    assert_eq!(
        out["spec"]["template"]["spec"]["containers"],
        base["spec"]["template"]["spec"]["containers"]
    );
}

#[test]
fn finalizers_are_a_set() {
    let cm = |fin: &[&str]| json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "finalizers": fin}});
    let s = config_map_schema();
    let live = apply::apply(None, &cm(&["example.com/a"]), s, "a", false, T0).unwrap();
    let live = apply::apply(Some(&live), &cm(&["example.com/b"]), s, "b", false, T1).unwrap();
    assert_eq!(
        live["metadata"]["finalizers"],
        json!(["example.com/a", "example.com/b"])
    );
    assert_eq!(
        fields(&live, "b", "Apply"),
        r#"{"f:metadata":{"f:finalizers":{"v:\"example.com/b\"":{}}}}"#
    );
    let out = apply::apply(Some(&live), &cm(&[]), s, "a", false, T2).unwrap();
    assert_eq!(out["metadata"]["finalizers"], json!(["example.com/b"]));
}

#[test]
fn atomic_selector_is_replaced_whole() {
    let mut config = nginx("nginx", 1);
    config["spec"]["selector"] = json!({"matchLabels": {"app": "nginx", "tier": "web"}});
    let live = apply_d(None, &config, "a", false, T0).unwrap();
    config["spec"]["selector"] =
        json!({"matchExpressions": [{"key": "app", "operator": "Exists"}]});
    let out = apply_d(Some(&live), &config, "a", false, T1).unwrap();
    assert_eq!(out["spec"]["selector"], config["spec"]["selector"]);
    // Another applier changing part of it conflicts on the whole selector.
    let other = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "nginx"}, "spec": {"selector": {"matchLabels": {"app": "x"}}}});
    let err = apply_d(Some(&out), &other, "b", false, T2).unwrap_err();
    assert_eq!(err.causes()[0].field, ".spec.selector");
}

#[test]
fn configuration_errors() {
    let mut wrong_kind = nginx("nginx", 1);
    wrong_kind["kind"] = json!("StatefulSet");
    let err = apply_d(None, &wrong_kind, "m", false, T0).unwrap_err();
    assert_eq!(err.status_code(), 400);
    assert_eq!(
        err.status_message(),
        "invalid object type: apps/v1, Kind=StatefulSet"
    );
    let err = apply_d(None, &json!({"metadata": {"name": "x"}}), "m", false, T0).unwrap_err();
    assert_eq!(err.status_message(), "invalid object type: /, Kind=");
    let err = apply::apply(
        None,
        &json!({"apiVersion": "v1", "kind": "Pod"}),
        deployment_schema(),
        "m",
        false,
        T0,
    )
    .unwrap_err();
    assert_eq!(err.status_message(), "invalid object type: /v1, Kind=Pod");

    let mut with_mf = nginx("nginx", 1);
    with_mf["metadata"]["managedFields"] = json!([]);
    let err = apply_d(None, &with_mf, "m", false, T0).unwrap_err();
    assert_eq!(
        (err.status_code(), err.status_message()),
        (400, "metadata.managedFields must be nil".to_owned())
    );

    let mut unknown = nginx("nginx", 1);
    unknown["spec"]["bogus"] = json!(1);
    unknown["metadata"]["namespace"] = json!("default");
    let err = apply_d(None, &unknown, "m", false, T0).unwrap_err();
    assert_eq!(err.status_code(), 500);
    assert_eq!(err.reason(), "");
    assert_eq!(
        err.status_message(),
        "failed to create typed patch object (apps/v1, Kind=Deployment; default/nginx): .spec.bogus: field not declared in schema"
    );

    let mut dup = nginx("nginx", 1);
    dup["spec"]["template"]["spec"]["containers"] = json!([{"name": "a"}, {"name": "a"}]);
    let err = apply_d(None, &dup, "m", false, T0).unwrap_err();
    assert!(
        err.status_message()
            .contains("duplicate entries for key [name=\"a\"]"),
        "{err}"
    );

    assert!(apply::check_name(&nginx("x", 1), "nginx", Some("default")).is_ok());
    assert_eq!(
        apply::check_name(&nginx("x", 1), "other", None)
            .unwrap_err()
            .status_message(),
        "the name of the object (nginx) does not match the name on the URL (other)"
    );
}

#[test]
fn update_takes_the_fields_it_changes() {
    let created = record_update(
        None,
        &nginx("nginx", 1),
        deployment_schema(),
        "kubectl-create",
        T0,
    );
    let mut live = created.clone();
    live["metadata"]["uid"] = json!("u");
    let mut scaled = live.clone();
    scaled["spec"]["replicas"] = json!(3);
    let out = record_update(
        Some(&live),
        &scaled,
        deployment_schema(),
        "kubectl-scale",
        T1,
    );
    assert_eq!(
        fields(&out, "kubectl-scale", "Update"),
        r#"{"f:spec":{"f:replicas":{}}}"#
    );
    assert!(!fields(&out, "kubectl-create", "Update").contains("f:replicas"));
    assert_eq!(
        entries(&out),
        [
            ("kubectl-create".into(), "Update".into(), Some(T0.into())),
            ("kubectl-scale".into(), "Update".into(), Some(T1.into())),
        ]
    );
    // A write that changes nothing leaves the entries alone.
    let same = record_update(Some(&out), &out, deployment_schema(), "someone", T2);
    assert_eq!(same, out);
    // Removing a field takes it from its owner.
    let mut removed = out.clone();
    removed["spec"].as_object_mut().unwrap().remove("replicas");
    let out2 = record_update(Some(&out), &removed, deployment_schema(), "editor", T2);
    assert!(
        out2["metadata"]["managedFields"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["manager"] != "kubectl-scale")
    );
    // Status through its subresource records it.
    let mut status = out.clone();
    status["status"] = json!({"replicas": 3});
    let out3 = apply::record_update_subresource(
        Some(&out),
        &status,
        deployment_schema(),
        "controller",
        "status",
        T2,
    );
    let entry = out3["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["manager"] == "controller")
        .unwrap()
        .clone();
    assert_eq!(entry["subresource"], "status");
}

#[test]
fn client_sent_managed_fields() {
    let created = record_update(None, &nginx("nginx", 1), deployment_schema(), "creator", T0);
    let mut live = created.clone();
    live["metadata"]["uid"] = json!("u");
    // Reset with [] (or [{}]): cleared, and an update of an untracked object stays untracked.
    for reset in [json!([]), json!([{}])] {
        let mut new = live.clone();
        new["metadata"]["managedFields"] = reset;
        let out = record_update(Some(&live), &new, deployment_schema(), "resetter", T1);
        assert!(out["metadata"].get("managedFields").is_none(), "{out}");
        let mut later = out.clone();
        later["spec"]["replicas"] = json!(9);
        let out = record_update(Some(&out), &later, deployment_schema(), "x", T2);
        assert!(out["metadata"].get("managedFields").is_none());
    }
    // Invalid entries are ignored: the live object's count.
    let mut new = live.clone();
    new["metadata"]["managedFields"] = json!([{"manager": "m", "operation": "Bogus"}]);
    let out = record_update(Some(&live), &new, deployment_schema(), "other", T1);
    assert_eq!(
        out["metadata"]["managedFields"],
        created["metadata"]["managedFields"]
    );
    // Valid ones replace them.
    let mut new = live.clone();
    new["metadata"]["managedFields"] = json!([{"manager": "m", "operation": "Apply", "apiVersion": "apps/v1", "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {"f:replicas": {}}}}]);
    let out = record_update(Some(&live), &new, deployment_schema(), "other", T1);
    assert_eq!(entries(&out), [("m".into(), "Apply".into(), None)]);
}

#[test]
fn first_apply_to_an_untracked_object_records_before_first_apply() {
    let mut live = nginx("nginx", 1);
    live["metadata"]["uid"] = json!("u");
    let config = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "nginx"}, "spec": {"replicas": 2}});
    let err = apply_d(Some(&live), &config, "m", false, T1).unwrap_err();
    assert_eq!(
        err.status_message(),
        format!(
            "Apply failed with 1 conflict: conflict with \"{BEFORE_FIRST_APPLY}\" using apps/v1: .spec.replicas"
        )
    );
    let out = apply_d(Some(&live), &config, "m", true, T1).unwrap();
    assert_eq!(out["spec"]["replicas"], 2);
    let names: Vec<String> = entries(&out).into_iter().map(|e| e.0).collect();
    assert_eq!(names, ["m", BEFORE_FIRST_APPLY]);
}

#[test]
fn update_managers_are_capped() {
    let mut obj = record_update(None, &nginx("nginx", 0), deployment_schema(), "creator", T0);
    obj["metadata"]["uid"] = json!("u");
    for i in 0..12 {
        let mut next = obj.clone();
        next["metadata"]["labels"][format!("l{i}")] = json!("v");
        obj = record_update(
            Some(&obj),
            &next,
            deployment_schema(),
            &format!("m{i:02}"),
            &format!("2024-01-01T00:00:{:02}Z", i + 1),
        );
    }
    let e = entries(&obj);
    assert_eq!(e.len(), 10, "{e:?}");
    assert!(e.iter().any(|(m, _, _)| m == "ancient-changes"));
}

#[test]
fn malformed_input_never_panics() {
    let odd = [
        json!(null),
        json!([]),
        json!("x"),
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": "x"}),
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "n"}, "spec": {"template": {"spec": {"containers": "nope"}}}}),
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "n"}, "spec": {"template": {"spec": {"containers": [1, null, {"image": "x"}]}}}}),
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "n", "labels": null, "finalizers": [{}, [], 1]}, "spec": null}),
    ];
    let live = apply_d(None, &nginx("nginx", 1), "m", false, T0).unwrap();
    for o in &odd {
        let _ = apply_d(Some(&live), o, "x", false, T1);
        let _ = apply_d(Some(o), &nginx("nginx", 1), "x", true, T1);
        let _ = record_update(Some(o), &live, deployment_schema(), "x", T1);
        let _ = record_update(Some(&live), o, deployment_schema(), "x", T1);
        let mut bad_mf = live.clone();
        bad_mf["metadata"]["managedFields"] = o.clone();
        let _ = apply_d(Some(&bad_mf), &nginx("nginx", 2), "x", true, T1);
    }
}
