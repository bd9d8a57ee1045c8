//! The scale subresource (`autoscaling/v1` Scale) of deployments, replica sets, stateful sets and
//! replication controllers: `kubectl scale` with preconditions (a GET and a PUT of `/scale`),
//! `kubectl get --raw` / `replace --raw` on `/scale`, and the Python client's `*_scale` calls.

use serde_json::{Value, json};
use tugboat_conformance::{Output, Server, upstream::*};

use crate::support::{create_manifest, create_namespace, table};

/// `kubectl get <what> -n <namespace> -o json`.
fn get_json(server: &Server, namespace: &str, what: &[&str]) -> Value {
    let mut args = vec!["get", "-n", namespace, "-o", "json"];
    args.extend_from_slice(what);
    server.kubectl(&args).ok().json()
}

/// `kubectl replace --raw <path> -f <file>` with `scale` as the file.
fn replace_raw(server: &Server, path: &str, scale: &Value) -> Output {
    let file = server.write_file("scale.json", scale.to_string().as_bytes());
    server.kubectl(&["replace", "--raw", path, "-f", &file.to_string_lossy()])
}

/// The Scale a parent should have: its identity, desired and observed replicas and selector.
fn expected_scale(parent: &Value, selector: &str) -> Value {
    let metadata = &parent["metadata"];
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            "name": metadata["name"],
            "namespace": metadata["namespace"],
            "uid": metadata["uid"],
            "resourceVersion": metadata["resourceVersion"],
            "creationTimestamp": metadata["creationTimestamp"],
        },
        "spec": {"replicas": parent["spec"]["replicas"]},
        "status": {"replicas": 0, "selector": selector},
    })
}

scenario! {
    /// `kubectl scale deployment --current-replicas` (GET then PUT of /scale) sets spec.replicas and
    /// bumps the generation; the Scale at /scale mirrors the deployment; a replica-count
    /// precondition that does not hold is refused; a server-side dry run changes nothing;
    /// `get --subresource=scale` prints upstream's Scale columns; a missing deployment is a 404.
    fn kubectl_scale_deployment(server) covers [] {
        server
            .kubectl(&["create", "deployment", "web", "--image=registry.k8s.io/pause:3.10"])
            .ok()
            .stdout_contains("deployment.apps/web created");
        let created = get_json(server, "default", &["deployment", "web"]);
        assert_eq!(created["spec"]["replicas"], 1, "{created:#}");
        assert_eq!(created["metadata"]["generation"], 1);

        server
            .kubectl(&["scale", "deployment", "web", "--replicas=5", "--current-replicas=1"])
            .ok()
            .stdout_contains("deployment.apps/web scaled");
        let out = server
            .kubectl(&["get", "deploy", "web", "-o", "jsonpath={.spec.replicas}"])
            .ok();
        assert_eq!(out.stdout, "5");
        let scaled = get_json(server, "default", &["deployment", "web"]);
        assert_eq!(scaled["metadata"]["generation"], 2, "{scaled:#}");
        assert_eq!(scaled["spec"]["template"], created["spec"]["template"]);

        let scale = server
            .kubectl(&["get", "--raw", "/apis/apps/v1/namespaces/default/deployments/web/scale"])
            .ok()
            .json();
        assert_eq!(scale, expected_scale(&scaled, "app=web"));

        server
            .kubectl(&["scale", "deployment", "web", "--replicas=2", "--current-replicas=1"])
            .fails()
            .stderr_contains("Expected replicas to be 1, was 5");

        server
            .kubectl(&["scale", "deployment", "web", "--replicas=7", "--current-replicas=5", "--dry-run=server"])
            .ok()
            .stdout_contains("deployment.apps/web scaled (server dry run)");
        let after_dry_run = get_json(server, "default", &["deployment", "web"]);
        assert_eq!(after_dry_run["spec"]["replicas"], 5);
        assert_eq!(after_dry_run["metadata"]["resourceVersion"], scaled["metadata"]["resourceVersion"]);

        let out = server.kubectl(&["get", "deployment", "web", "--subresource=scale"]).ok();
        let rows = table(&out);
        assert_eq!(rows[0], ["NAME", "DESIRED", "AVAILABLE", "AGE"], "{out}");
        assert_eq!(rows[1][..3], ["web", "5", "0"], "{out}");

        server
            .kubectl(&["get", "--raw", "/apis/apps/v1/namespaces/default/deployments/missing/scale"])
            .fails()
            .stderr_contains("Error from server (NotFound): deployments.apps \"missing\" not found");
    }
}

scenario! {
    /// `kubectl scale rs --resource-version` (a PUT carrying that resourceVersion) and a stale one;
    /// PUTs of /scale with `kubectl replace --raw`: a stale resourceVersion is a 409 Conflict on the
    /// replica set, -1 replicas a 422 on the Scale, a foreign name a 400, no resourceVersion an
    /// unconditional write, a missing replica set a 404 of `replicasets/scale`.
    fn kubectl_scale_replicaset_preconditions(server) covers [] {
        let manifest = json!({
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {"name": "frontend"},
            "spec": {
                "replicas": 1,
                "selector": {
                    "matchLabels": {"tier": "frontend"},
                    "matchExpressions": [{"key": "env", "operator": "In", "values": ["prod", "dev"]}],
                },
                "template": {
                    "metadata": {"labels": {"tier": "frontend", "env": "prod"}},
                    "spec": {"containers": [{"name": "c", "image": "registry.k8s.io/pause:3.10"}]},
                },
            },
        });
        create_manifest(server, "default", &manifest.to_string())
            .ok()
            .stdout_contains("replicaset.apps/frontend created");
        let created = get_json(server, "default", &["rs", "frontend"]);
        let first_rv = created["metadata"]["resourceVersion"].as_str().unwrap().to_owned();

        server
            .kubectl(&["scale", "rs", "frontend", "--replicas=3", &format!("--resource-version={first_rv}")])
            .ok()
            .stdout_contains("replicaset.apps/frontend scaled");
        let scaled = get_json(server, "default", &["rs", "frontend"]);
        assert_eq!(scaled["spec"]["replicas"], 3);
        let second_rv = scaled["metadata"]["resourceVersion"].as_str().unwrap().to_owned();
        assert_ne!(second_rv, first_rv);

        server
            .kubectl(&["scale", "rs", "frontend", "--replicas=4", &format!("--resource-version={first_rv}")])
            .fails()
            .stderr_contains(&format!("Expected resource version to be {first_rv}, was {second_rv}"));

        let path = "/apis/apps/v1/namespaces/default/replicasets/frontend/scale";
        let scale = server.kubectl(&["get", "--raw", path]).ok().json();
        assert_eq!(scale, expected_scale(&scaled, "env in (dev,prod),tier=frontend"));

        let mut stale = scale.clone();
        stale["metadata"]["resourceVersion"] = json!(first_rv);
        stale["spec"]["replicas"] = json!(4);
        replace_raw(server, path, &stale).fails().stderr_contains(
            "Error from server (Conflict): Operation cannot be fulfilled on replicasets.apps \"frontend\": the object has been modified; please apply your changes to the latest version and try again",
        );

        let mut negative = scale.clone();
        negative["spec"]["replicas"] = json!(-1);
        replace_raw(server, path, &negative).fails().stderr_contains(
            // kubectl prints a 422 from its details (kind Scale): upstream's message is
            // `Scale.autoscaling "frontend" is invalid: ...`.
            "The Scale \"frontend\" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0",
        );

        let mut renamed = scale.clone();
        renamed["metadata"]["name"] = json!("other");
        replace_raw(server, path, &renamed).fails().stderr_contains(
            "the name of the object (other) does not match the name on the URL (frontend)",
        );

        let mut unconditional = scale.clone();
        unconditional["metadata"]
            .as_object_mut()
            .unwrap()
            .remove("resourceVersion");
        unconditional["spec"]["replicas"] = json!(6);
        let written = replace_raw(server, path, &unconditional).ok().json();
        let after = get_json(server, "default", &["rs", "frontend"]);
        assert_eq!(after["spec"]["replicas"], 6);
        assert_eq!(written, expected_scale(&after, "env in (dev,prod),tier=frontend"));

        let mut missing = scale.clone();
        missing["metadata"]["name"] = json!("missing");
        replace_raw(server, "/apis/apps/v1/namespaces/default/replicasets/missing/scale", &missing)
            .fails()
            .stderr_contains("Error from server (NotFound): replicasets/scale.apps \"missing\" not found");
    }
}

scenario! {
    /// `kubectl scale` without preconditions sends a merge PATCH of /scale.
    fn kubectl_scale_without_preconditions(server) covers [] {
        server
            .kubectl(&["create", "deployment", "api", "--image=registry.k8s.io/pause:3.10"])
            .ok();
        server
            .kubectl(&["scale", "deployment", "api", "--replicas=4"])
            .ok()
            .stdout_contains("deployment.apps/api scaled");
        let out = server
            .kubectl(&["get", "deploy", "api", "-o", "jsonpath={.spec.replicas}"])
            .ok();
        assert_eq!(out.stdout, "4");
        let scale = server
            .kubectl(&["get", "--raw", "/apis/apps/v1/namespaces/default/deployments/api/scale"])
            .ok()
            .json();
        assert_eq!(scale["spec"]["replicas"], 4);
    }
}

scenario! {
    /// What the upstream ReplicationController scale test does, with the status the RC controller
    /// would write standing in for the controller: read the Scale (status.replicas from the RC's
    /// status, the selector map as a string), replace it unconditionally with 2 replicas, read the
    /// RC back. Also a stale resourceVersion (409), -1 replicas (422 with its cause) and a missing
    /// RC (404 on read and on replace).
    fn python_replication_controller_scale(server) covers [RC_SCALE] {
        create_namespace(server, "scn");
        let result = server.python_json(r#"
core, ns, name = client.CoreV1Api(), "scn", "e2e-rc-abcde"
labels = {"name": name}
rc = client.V1ReplicationController(
    metadata=client.V1ObjectMeta(name=name, labels=labels),
    spec=client.V1ReplicationControllerSpec(replicas=1, selector=labels,
        template=client.V1PodTemplateSpec(metadata=client.V1ObjectMeta(labels=labels),
            spec=client.V1PodSpec(containers=[client.V1Container(name="httpd", image="httpd:2.4")]))))
made = core.create_namespaced_replication_controller(ns, rc)
made.status = client.V1ReplicationControllerStatus(replicas=1)
core.replace_namespaced_replication_controller_status(name, ns, made)
scale = core.read_namespaced_replication_controller_scale(name, ns)
first = {"spec": scale.spec.replicas, "status": scale.status.replicas, "selector": scale.status.selector,
         "kind": scale.kind, "api_version": scale.api_version, "uid": scale.metadata.uid,
         "rv": scale.metadata.resource_version}
stale_rv = scale.metadata.resource_version
scale.metadata.resource_version = ""
scale.spec.replicas = 2
updated = core.replace_namespaced_replication_controller_scale(name, ns, scale)
after = core.read_namespaced_replication_controller(name, ns)
def failure(call):
    try:
        call()
        return None
    except ApiException as e:
        return {"status": e.status, "body": json.loads(e.body)}
scale.metadata.resource_version = stale_rv
scale.spec.replicas = 3
stale = failure(lambda: core.replace_namespaced_replication_controller_scale(name, ns, scale))
scale.metadata.resource_version = None
scale.spec.replicas = -1
negative = failure(lambda: core.replace_namespaced_replication_controller_scale(name, ns, scale))
missing_read = failure(lambda: core.read_namespaced_replication_controller_scale("missing", ns))
scale.metadata.name = "missing"
scale.spec.replicas = 1
missing_replace = failure(lambda: core.replace_namespaced_replication_controller_scale("missing", ns, scale))
print(json.dumps({
    "made": {"uid": made.metadata.uid},
    "first": first,
    "updated": {"spec": updated.spec.replicas, "status": updated.status.replicas, "rv": updated.metadata.resource_version},
    "after": {"spec": after.spec.replicas, "generation": after.metadata.generation, "rv": after.metadata.resource_version},
    "stale": stale, "negative": negative, "missing_read": missing_read, "missing_replace": missing_replace,
}))
"#);
        let first = &result["first"];
        assert_eq!(first["kind"], "Scale", "{result:#}");
        assert_eq!(first["api_version"], "autoscaling/v1");
        assert_eq!(first["uid"], result["made"]["uid"]);
        assert_eq!(first["spec"], 1);
        assert_eq!(first["status"], 1);
        assert_eq!(first["selector"], "name=e2e-rc-abcde");

        assert_eq!(result["updated"]["spec"], 2, "{result:#}");
        assert_eq!(result["updated"]["status"], 1);
        assert_eq!(result["after"]["spec"], 2);
        assert_eq!(result["after"]["generation"], 2);
        assert_eq!(result["updated"]["rv"], result["after"]["rv"]);
        assert_ne!(result["after"]["rv"], first["rv"]);

        let stale = &result["stale"];
        assert_eq!(stale["status"], 409, "{result:#}");
        assert_eq!(stale["body"]["reason"], "Conflict");
        assert_eq!(
            stale["body"]["message"],
            "Operation cannot be fulfilled on replicationcontrollers \"e2e-rc-abcde\": the object has been modified; please apply your changes to the latest version and try again"
        );

        let negative = &result["negative"];
        assert_eq!(negative["status"], 422, "{result:#}");
        assert_eq!(negative["body"]["reason"], "Invalid");
        assert_eq!(
            negative["body"]["message"],
            "Scale.autoscaling \"e2e-rc-abcde\" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0"
        );
        assert_eq!(
            negative["body"]["details"],
            json!({
                "name": "e2e-rc-abcde",
                "group": "autoscaling",
                "kind": "Scale",
                "causes": [{
                    "reason": "FieldValueInvalid",
                    "message": "Invalid value: -1: must be greater than or equal to 0",
                    "field": "spec.replicas",
                }],
            })
        );

        let missing_read = &result["missing_read"];
        assert_eq!(missing_read["status"], 404, "{result:#}");
        assert_eq!(missing_read["body"]["message"], "replicationcontrollers \"missing\" not found");
        let missing_replace = &result["missing_replace"];
        assert_eq!(missing_replace["status"], 404, "{result:#}");
        assert_eq!(
            missing_replace["body"]["message"],
            "replicationcontrollers/scale \"missing\" not found"
        );
        assert_eq!(
            missing_replace["body"]["details"],
            json!({"name": "missing", "kind": "replicationcontrollers/scale"})
        );
    }
}

scenario! {
    /// A StatefulSet through the Python client: read its Scale, replace it with the current
    /// resourceVersion (a dry run first, which changes nothing), and see the StatefulSet and a
    /// watch on StatefulSets reflect the new replica count.
    fn python_statefulset_scale(server) covers [] {
        create_namespace(server, "scn");
        let result = server.python_json(r#"
apps, ns, name = client.AppsV1Api(), "scn", "db"
labels = {"app": "db"}
made = apps.create_namespaced_stateful_set(ns, client.V1StatefulSet(
    metadata=client.V1ObjectMeta(name=name),
    spec=client.V1StatefulSetSpec(replicas=1, service_name="db",
        selector=client.V1LabelSelector(match_labels=labels,
            match_expressions=[client.V1LabelSelectorRequirement(key="role", operator="NotIn", values=["replica", "backup"])]),
        template=client.V1PodTemplateSpec(metadata=client.V1ObjectMeta(labels=labels),
            spec=client.V1PodSpec(containers=[client.V1Container(name="db", image="registry.k8s.io/pause:3.10")])))))
scale = apps.read_namespaced_stateful_set_scale(name, ns)
first = {"spec": scale.spec.replicas, "status": scale.status.replicas, "selector": scale.status.selector,
         "rv": scale.metadata.resource_version}
scale.spec.replicas = 2
dry = apps.replace_namespaced_stateful_set_scale(name, ns, scale, dry_run="All")
after_dry = apps.read_namespaced_stateful_set(name, ns)
updated = apps.replace_namespaced_stateful_set_scale(name, ns, scale)
after = apps.read_namespaced_stateful_set(name, ns)
seen = []
w = watch.Watch()
for event in w.stream(apps.list_namespaced_stateful_set, ns, resource_version=made.metadata.resource_version, timeout_seconds=10):
    seen.append([event["type"], event["object"].spec.replicas])
    if event["type"] == "MODIFIED":
        w.stop()
print(json.dumps({
    "made_rv": made.metadata.resource_version,
    "first": first,
    "dry": {"spec": dry.spec.replicas, "rv": dry.metadata.resource_version},
    "after_dry": {"spec": after_dry.spec.replicas, "rv": after_dry.metadata.resource_version},
    "updated": {"spec": updated.spec.replicas, "rv": updated.metadata.resource_version},
    "after": {"spec": after.spec.replicas, "generation": after.metadata.generation, "rv": after.metadata.resource_version},
    "seen": seen,
}))
"#);
        let first = &result["first"];
        assert_eq!(first["spec"], 1, "{result:#}");
        assert_eq!(first["status"], 0);
        assert_eq!(first["selector"], "app=db,role notin (backup,replica)");
        assert_eq!(first["rv"], result["made_rv"]);

        assert_eq!(result["dry"]["spec"], 2, "{result:#}");
        assert_eq!(result["dry"]["rv"], result["made_rv"]);
        assert_eq!(result["after_dry"]["spec"], 1);
        assert_eq!(result["after_dry"]["rv"], result["made_rv"]);

        assert_eq!(result["updated"]["spec"], 2);
        assert_eq!(result["after"]["spec"], 2);
        assert_eq!(result["after"]["generation"], 2);
        assert_eq!(result["updated"]["rv"], result["after"]["rv"]);
        assert_eq!(result["seen"], json!([["MODIFIED", 2]]));
    }
}
