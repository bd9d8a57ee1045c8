//! The upstream "lifecycle" and "API operations" conformance tests of core kinds that need only the
//! API server: each scenario makes the upstream test's requests (verbs, patch types, selectors,
//! watches, status and other subresources) through the official Python client and asserts what the
//! upstream test asserts.

use serde_json::{Value, json};
use tugboat_conformance::{Server, upstream::*};

use crate::support::create_namespace;

/// Python helpers for these scenarios: the patch content types (the client would otherwise send a
/// dict as a JSON patch) and a watch that replays events from a resourceVersion until one matches.
const PY_HELPERS: &str = r#"
import base64, datetime
SMP = "application/strategic-merge-patch+json"
MERGE = "application/merge-patch+json"
def events_until(list_fn, *args, stop, **kw):
    out = []
    w = watch.Watch()
    for ev in w.stream(list_fn, *args, timeout_seconds=10, **kw):
        out.append(ev)
        if stop(ev):
            w.stop()
            break
    return out
def summary(evs, field):
    return [[e["type"], field(e["raw_object"])] for e in evs]
def error_of(call):
    try:
        call()
        return None
    except ApiException as e:
        return {"status": e.status, "reason": json.loads(e.body).get("reason")}
def b64(s):
    return base64.b64encode(s.encode()).decode()
def labels_of(o):
    return o.get("metadata", {}).get("labels") or {}
def annotations_of(o):
    return o.get("metadata", {}).get("annotations") or {}
"#;

/// Run `script` after [`PY_HELPERS`]; returns the JSON its last line prints.
fn python(server: &Server, script: &str) -> Value {
    server.python_json(&format!("{PY_HELPERS}\n{script}"))
}

scenario! {
    /// ConfigMap lifecycle: create, get, strategic-merge patch (a label and a data value), list in
    /// all namespaces by the patched label, delete the collection by the static label.
    fn configmap_lifecycle(server) covers [CONFIGMAP_LIFECYCLE] {
        create_namespace(server, "scn");
        create_namespace(server, "other");
        let r = python(server, r#"
v1, ns, name = client.CoreV1Api(), "scn", "test-configmap"
v1.create_namespaced_config_map(ns, client.V1ConfigMap(
    metadata=client.V1ObjectMeta(name=name, labels={"test-configmap-static": "true"}), data={"valueName": "value"}))
v1.create_namespaced_config_map("other", client.V1ConfigMap(
    metadata=client.V1ObjectMeta(name="elsewhere", labels={"test-configmap": "patched"}), data={"k": "v"}))
got = v1.read_namespaced_config_map(name, ns)
v1.patch_namespaced_config_map(name, ns, {"metadata": {"labels": {"test-configmap": "patched"}},
    "data": {"valueName": "value1"}}, _content_type=SMP)
listed = v1.list_config_map_for_all_namespaces(label_selector="test-configmap=patched")
v1.delete_collection_namespaced_config_map(ns, label_selector="test-configmap-static=true")
left = v1.list_namespaced_config_map(ns, label_selector="test-configmap-static=true")
print(json.dumps({
    "got": [got.data, got.metadata.labels],
    "listed": sorted([c.metadata.namespace, c.metadata.name, c.metadata.labels, c.data] for c in listed.items),
    "left": [c.metadata.name for c in left.items],
    "other": [c.metadata.name for c in v1.list_namespaced_config_map("other", label_selector="test-configmap").items],
}))
"#);
        assert_eq!(r["got"], json!([{"valueName": "value"}, {"test-configmap-static": "true"}]));
        assert_eq!(r["listed"], json!([
            ["other", "elsewhere", {"test-configmap": "patched"}, {"k": "v"}],
            ["scn", "test-configmap", {"test-configmap-static": "true", "test-configmap": "patched"},
             {"valueName": "value1"}],
        ]), "{r:#}");
        assert_eq!(r["left"], json!([]));
        assert_eq!(r["other"], json!(["elsewhere"]));
    }
}

scenario! {
    /// Secret patch: create, list in all namespaces by label, strategic-merge patch a label and the
    /// base64 data, read the new values, delete the collection by the static label.
    fn secret_patch(server) covers [SECRET_PATCH] {
        create_namespace(server, "scn");
        let r = python(server, r#"
v1, ns, name = client.CoreV1Api(), "scn", "test-secret"
v1.create_namespaced_secret(ns, client.V1Secret(type="Opaque",
    metadata=client.V1ObjectMeta(name=name, labels={"testsecret-constant": "true"}), data={"key": b64("value")}))
found = [s.metadata.name for s in v1.list_secret_for_all_namespaces(label_selector="testsecret-constant=true").items]
patched = v1.patch_namespaced_secret(name, ns, {"metadata": {"labels": {"testsecret": "true"}},
    "data": {"key": b64("value1")}}, _content_type=SMP)
got = v1.read_namespaced_secret(name, ns)
v1.delete_collection_namespaced_secret(ns, label_selector="testsecret-constant=true")
after = [s.metadata.name for s in v1.list_secret_for_all_namespaces(label_selector="testsecret-constant=true").items]
print(json.dumps({"found": found, "patched_labels": patched.metadata.labels,
    "got": [base64.b64decode(got.data["key"]).decode(), got.metadata.labels, got.type], "after": after}))
"#);
        assert_eq!(r["found"], json!(["test-secret"]));
        let labels = json!({"testsecret-constant": "true", "testsecret": "true"});
        assert_eq!(r["patched_labels"], labels);
        assert_eq!(r["got"], json!(["value1", labels, "Opaque"]));
        assert_eq!(r["after"], json!([]));
    }
}

scenario! {
    /// PodTemplate lifecycle: create, get, strategic-merge patch a label, list in all namespaces by
    /// the static label (seeing the patch), delete, and the label selector finds nothing.
    fn podtemplate_lifecycle(server) covers [PODTEMPLATE_LIFECYCLE] {
        create_namespace(server, "scn");
        let r = python(server, r#"
v1, ns, name = client.CoreV1Api(), "scn", "nginx-pod-template"
v1.create_namespaced_pod_template(ns, client.V1PodTemplate(
    metadata=client.V1ObjectMeta(name=name, labels={"podtemplate-static": "true"}),
    template=client.V1PodTemplateSpec(metadata=client.V1ObjectMeta(labels={"app": "nginx"}),
        spec=client.V1PodSpec(containers=[client.V1Container(name="nginx", image="nginx")]))))
got = v1.read_namespaced_pod_template(name, ns)
v1.patch_namespaced_pod_template(name, ns, {"metadata": {"labels": {"podtemplate": "patched"}}}, _content_type=SMP)
listed = v1.list_pod_template_for_all_namespaces(label_selector="podtemplate-static=true")
deleted = v1.delete_namespaced_pod_template(name, ns)
left = v1.list_namespaced_pod_template(ns, label_selector="podtemplate-static=true")
print(json.dumps({"got": got.metadata.name, "listed": [[t.metadata.name, t.metadata.labels] for t in listed.items],
    "deleted": deleted.metadata.name, "left": len(left.items)}))
"#);
        assert_eq!(r["got"], "nginx-pod-template");
        assert_eq!(r["listed"], json!([["nginx-pod-template",
            {"podtemplate-static": "true", "podtemplate": "patched"}]]));
        assert_eq!(r["deleted"], "nginx-pod-template");
        assert_eq!(r["left"], 0);
    }
}

scenario! {
    /// Lease API: create and read back the spec, update it, strategic-merge patch it, list, delete
    /// the labelled second lease by collection, delete the first (then 404), list in all namespaces.
    fn lease_api(server) covers [LEASE_API] {
        create_namespace(server, "scn");
        let r = python(server, r#"
api, ns = client.CoordinationV1Api(), "scn"
def t(seconds):
    return datetime.datetime(1, 1, 1, tzinfo=datetime.timezone.utc) + datetime.timedelta(seconds=seconds)
def spec(holder, duration, acquire, renew, transitions):
    return client.V1LeaseSpec(holder_identity=holder, lease_duration_seconds=duration,
        acquire_time=t(acquire), renew_time=t(renew), lease_transitions=transitions)
out = {}
lease = client.V1Lease(metadata=client.V1ObjectMeta(name="lease"), spec=spec("holder", 30, 2, 5, 0))
created = api.create_namespaced_lease(ns, lease)
out["read_matches_created"] = api.read_namespaced_lease("lease", ns).spec == lease.spec
created.spec = spec("holder2", 30, 20, 50, 1)
api.replace_namespaced_lease("lease", ns, created)
out["read_matches_updated"] = api.read_namespaced_lease("lease", ns).spec == created.spec
api.patch_namespaced_lease("lease", ns, {"spec": {"holderIdentity": "holder3", "leaseDurationSeconds": 60,
    "acquireTime": "0001-01-01T00:00:50.000000Z", "renewTime": "0001-01-01T00:01:10.000000Z",
    "leaseTransitions": 2}}, _content_type=SMP)
read = api.read_namespaced_lease("lease", ns)
out["read_matches_patched"] = read.spec == spec("holder3", 60, 50, 70, 2)
out["patched_holder"] = read.spec.holder_identity
api.create_namespaced_lease(ns, client.V1Lease(
    metadata=client.V1ObjectMeta(name="lease2", labels={"deletecollection": "true"}), spec=spec("holder", 30, 2, 5, 0)))
out["two"] = sorted(l.metadata.name for l in api.list_namespaced_lease(ns).items)
api.delete_collection_namespaced_lease(ns, label_selector="deletecollection=true")
out["one"] = [l.metadata.name for l in api.list_namespaced_lease(ns).items]
api.delete_namespaced_lease("lease", ns)
out["gone"] = error_of(lambda: api.read_namespaced_lease("lease", ns))
out["all_namespaces_kind"] = api.list_lease_for_all_namespaces().kind
print(json.dumps(out))
"#);
        assert_eq!(r, json!({
            "read_matches_created": true,
            "read_matches_updated": true,
            "read_matches_patched": true,
            "patched_holder": "holder3",
            "two": ["lease", "lease2"],
            "one": ["lease"],
            "gone": {"status": 404, "reason": "NotFound"},
            "all_namespaces_kind": "LeaseList",
        }));
    }
}

scenario! {
    /// Node lifecycle (API only): create a fake unschedulable node, get it, strategic-merge patch a
    /// label (newer resourceVersion), list by that label, update the label, delete, and 404.
    fn node_lifecycle(server) covers [NODE_LIFECYCLE] {
        let r = python(server, r#"
v1, name = client.CoreV1Api(), "e2e-fake-node-abcde"
created = v1.create_node(client.V1Node(metadata=client.V1ObjectMeta(name=name),
    spec=client.V1NodeSpec(unschedulable=True),
    status=client.V1NodeStatus(phase="Running", conditions=[client.V1NodeCondition(
        type="Ready", status="True", reason="E2E", message="Set from e2e test")])))
got = v1.read_node(name)
patched = v1.patch_node(name, {"metadata": {"labels": {name: "patched"}}}, _content_type=SMP)
listed = v1.list_node(label_selector=name + "=patched")
current = v1.read_node(name)
current.metadata.labels[name] = "updated"
updated = v1.replace_node(name, current)
v1.delete_node(name)
print(json.dumps({"created": created.metadata.name, "got": got.metadata.name,
    "rv_grew": int(patched.metadata.resource_version) > int(created.metadata.resource_version),
    "patched": patched.metadata.labels.get(name), "listed": [n.metadata.name for n in listed.items],
    "updated": updated.metadata.labels.get(name), "gone": error_of(lambda: v1.read_node(name))}))
"#);
        assert_eq!(r, json!({
            "created": "e2e-fake-node-abcde", "got": "e2e-fake-node-abcde", "rv_grew": true,
            "patched": "patched", "listed": ["e2e-fake-node-abcde"], "updated": "updated",
            "gone": {"status": 404, "reason": "NotFound"},
        }));
    }
}

scenario! {
    /// Service status lifecycle: create a LoadBalancer Service, read `/status`, merge-patch
    /// `/status` (load balancer ingress and an annotation), update `/status` with a condition,
    /// strategic-merge patch a label, delete; a label-selected watch sees each step.
    fn service_status_lifecycle(server) covers [SERVICE_STATUS_LIFECYCLE] {
        create_namespace(server, "scn");
        let r = python(server, r#"
v1, ns, name = client.CoreV1Api(), "scn", "test-service-xyz"
sel = "test-service-static=true"
rv = v1.list_service_for_all_namespaces(label_selector=sel).metadata.resource_version
v1.create_namespaced_service(ns, client.V1Service(
    metadata=client.V1ObjectMeta(name=name, labels={"test-service-static": "true"}),
    spec=client.V1ServiceSpec(type="LoadBalancer", ports=[client.V1ServicePort(name="http", protocol="TCP", port=80, target_port=80)])))
code, ctype, status = raw("GET", "/api/v1/namespaces/%s/services/%s/status" % (ns, name))
patched = v1.patch_namespaced_service_status(name, ns, {"metadata": {"annotations": {"patchedstatus": "true"}},
    "status": {"loadBalancer": {"ingress": [{"ip": "203.0.113.1"}]}}}, _content_type=MERGE)
current = v1.read_namespaced_service(name, ns)
current.status.conditions = (current.status.conditions or []) + [client.V1Condition(type="StatusUpdate",
    status="True", reason="E2E", message="Set from e2e test", last_transition_time=datetime.datetime.now(datetime.timezone.utc))]
updated = v1.replace_namespaced_service_status(name, ns, current)
v1.patch_namespaced_service(name, ns, {"metadata": {"labels": {"test-service": "patched"}}}, _content_type=SMP)
v1.delete_namespaced_service(name, ns)
evs = events_until(v1.list_namespaced_service, ns, label_selector=sel, resource_version=rv,
    stop=lambda e: e["type"] == "DELETED")
def step(o):
    conds = [c["type"] for c in (o.get("status", {}).get("conditions") or [])]
    ingress = [i["ip"] for i in (o.get("status", {}).get("loadBalancer", {}).get("ingress") or [])]
    return [annotations_of(o).get("patchedstatus"), ingress, conds, labels_of(o).get("test-service")]
print(json.dumps({
    "status_get": [code, status["kind"], status["metadata"]["name"], status["spec"]["type"]],
    "patched": [patched.metadata.annotations, [i.ip for i in patched.status.load_balancer.ingress], patched.spec.type],
    "updated": [[c.type, c.status, c.reason, c.message] for c in updated.status.conditions],
    "events": summary(evs, step),
}))
"#);
        assert_eq!(r["status_get"], json!([200, "Service", "test-service-xyz", "LoadBalancer"]));
        assert_eq!(r["patched"], json!([{"patchedstatus": "true"}, ["203.0.113.1"], "LoadBalancer"]));
        assert_eq!(r["updated"], json!([["StatusUpdate", "True", "E2E", "Set from e2e test"]]));
        let lb = json!(["203.0.113.1"]);
        assert_eq!(r["events"], json!([
            ["ADDED", [null, [], [], null]],
            ["MODIFIED", ["true", lb, [], null]],
            ["MODIFIED", ["true", lb, ["StatusUpdate"], null]],
            ["MODIFIED", ["true", lb, ["StatusUpdate"], "patched"]],
            ["DELETED", ["true", lb, ["StatusUpdate"], "patched"]],
        ]), "{r:#}");
    }
}

scenario! {
    /// DeleteCollection of Services by label: three labelled Services go, an unlabelled one stays.
    fn services_delete_collection(server) covers [SERVICES_DELETE_COLLECTION] {
        create_namespace(server, "scn");
        let r = python(server, r#"
v1, ns = client.CoreV1Api(), "scn"
def svc(name, labels, port):
    return client.V1Service(metadata=client.V1ObjectMeta(name=name, labels=labels),
        spec=client.V1ServiceSpec(type="ClusterIP", ports=[client.V1ServicePort(name="http", protocol="TCP", port=port, target_port=80)]))
for i, n in enumerate(["e2e-svc-a", "e2e-svc-b", "e2e-svc-c"]):
    v1.create_namespaced_service(ns, svc(n, {"e2e-test-service": "delete"}, 8000 + i))
v1.create_namespaced_service(ns, svc("e2e-svc-keep", {}, 9000))
before = sorted(s.metadata.name for s in v1.list_namespaced_service(ns, label_selector="e2e-test-service=delete").items)
v1.delete_collection_namespaced_service(ns, label_selector="e2e-test-service=delete")
after = [s.metadata.name for s in v1.list_namespaced_service(ns).items]
print(json.dumps({"before": before, "after": after}))
"#);
        assert_eq!(r["before"], json!(["e2e-svc-a", "e2e-svc-b", "e2e-svc-c"]));
        assert_eq!(r["after"], json!(["e2e-svc-keep"]));
    }
}

scenario! {
    /// Endpoints lifecycle: create, list in all namespaces by label, update a label, strategic-merge
    /// patch a label and the subsets (replaced whole), delete the collection by label; a
    /// label-selected watch sees added, two modifications and the deletion.
    fn endpoint_lifecycle(server) covers [ENDPOINT_LIFECYCLE] {
        create_namespace(server, "scn");
        let r = python(server, r#"
v1, ns, name, sel = client.CoreV1Api(), "scn", "testservice", "test-endpoint-static=true"
rv = v1.list_endpoints_for_all_namespaces(label_selector=sel).metadata.resource_version
created = v1.create_namespaced_endpoints(ns, client.V1Endpoints(
    metadata=client.V1ObjectMeta(name=name, labels={"test-endpoint-static": "true"}),
    subsets=[client.V1EndpointSubset(addresses=[client.V1EndpointAddress(ip="10.0.0.24")],
        ports=[client.CoreV1EndpointPort(name="http", port=80, protocol="TCP")])]))
found = [e for e in v1.list_endpoints_for_all_namespaces(label_selector=sel).items
         if e.metadata.name == name and e.metadata.namespace == ns][0]
found.metadata.labels["test-service"] = "updated"
v1.replace_namespaced_endpoints(name, ns, found)
fetched = v1.read_namespaced_endpoints(name, ns)
patched = v1.patch_namespaced_endpoints(name, ns, {"metadata": {"labels": {"test-service": "patched"}},
    "subsets": [{"addresses": [{"ip": "10.0.0.25"}], "ports": [{"name": "http-test", "port": 8080}]}]}, _content_type=SMP)
got = v1.read_namespaced_endpoints(name, ns)
v1.delete_collection_namespaced_endpoints(ns, label_selector=sel)
evs = events_until(v1.list_namespaced_endpoints, ns, label_selector=sel, resource_version=rv,
    stop=lambda e: e["type"] == "DELETED")
print(json.dumps({
    "updated_label": fetched.metadata.labels.get("test-service"),
    "rv_grew": int(patched.metadata.resource_version) > int(created.metadata.resource_version),
    "got": [got.metadata.labels.get("test-service"), [[a.ip for a in s.addresses] for s in got.subsets],
            [[p.name, p.port, p.protocol] for s in got.subsets for p in s.ports]],
    "events": summary(evs, lambda o: labels_of(o).get("test-service")),
    "gone": error_of(lambda: v1.read_namespaced_endpoints(name, ns)),
}))
"#);
        assert_eq!(r["updated_label"], "updated");
        assert_eq!(r["rv_grew"], true);
        assert_eq!(r["got"], json!(["patched", [["10.0.0.25"]], [["http-test", 8080, "TCP"]]]));
        assert_eq!(r["events"], json!([
            ["ADDED", null], ["MODIFIED", "updated"], ["MODIFIED", "patched"], ["DELETED", "patched"],
        ]));
        assert_eq!(r["gone"], json!({"status": 404, "reason": "NotFound"}));
    }
}

/// The upstream `... API operations` walk with a status subresource, over one namespaced kind:
/// discovery, create three, get, list in the namespace and in all namespaces by label, watch from
/// the list, merge-patch and update annotations, GET/merge-patch/update `/status`, delete one (404
/// afterwards), delete the collection by label. `api`: the Python API class; `kind`/`plural` name
/// the methods; `status_patch`/`status_update(obj)`: Python expressions for the status changes;
/// `status_check(obj)`: a Python expression printed for each status write.
struct ApiWalk<'a> {
    group_version: &'a str,
    plural: &'a str,
    kind: &'a str,
    api: &'a str,
    snake: &'a str,
    template: &'a str,
    status_patch: &'a str,
    status_update: &'a str,
    status_check: &'a str,
}

fn api_walk(server: &Server, walk: &ApiWalk<'_>) -> Value {
    create_namespace(server, "scn");
    let script = r#"
api, ns, sel = client.@API@(), "scn", "special-label=scn"
group, version = "@GV@".split("/")
out = {}
out["in_apis"] = any(g["name"] == group and any(v["version"] == version for v in g["versions"])
                     for g in raw("GET", "/apis")[2]["groups"])
out["in_group"] = [v["version"] for v in raw("GET", "/apis/" + group)[2]["versions"]]
out["resources"] = sorted(r["name"] for r in raw("GET", "/apis/@GV@")[2]["resources"]
                          if r["name"].split("/")[0] == "@PLURAL@")
def template(name):
    o = @TEMPLATE@
    o["metadata"] = {"name": name, "labels": {"special-label": "scn"}}
    return o
create = getattr(api, "create_namespaced_@SNAKE@")
for n in ["walk-1", "walk-2", "walk-3"]:
    created = create(ns, template(n))
got = getattr(api, "read_namespaced_@SNAKE@")("walk-3", ns)
out["got_uid_matches"] = got.metadata.uid == created.metadata.uid
listed = getattr(api, "list_namespaced_@SNAKE@")(ns, label_selector=sel)
out["listed"] = sorted(i.metadata.name for i in listed.items)
out["listed_all"] = sorted(i.metadata.name for i in getattr(api, "list_@SNAKE@_for_all_namespaces")(label_selector=sel).items)
patched = getattr(api, "patch_namespaced_@SNAKE@")("walk-3", ns, {"metadata": {"annotations": {"patched": "true"}}}, _content_type=MERGE)
out["patched"] = dict(patched.metadata.annotations)
patched.metadata.annotations["updated"] = "true"
updated = getattr(api, "replace_namespaced_@SNAKE@")("walk-3", ns, patched)
out["updated"] = updated.metadata.annotations
evs = events_until(getattr(api, "list_namespaced_@SNAKE@"), ns, resource_version=listed.metadata.resource_version,
    field_selector="metadata.name=walk-3", stop=lambda e: annotations_of(e["raw_object"]).get("updated") == "true")
out["watched"] = summary(evs, lambda o: sorted(annotations_of(o)))
code, _, st = raw("GET", "/apis/@GV@/namespaces/%s/@PLURAL@/walk-3/status" % ns)
out["status_get"] = [code, st["kind"], st["apiVersion"], st["metadata"]["uid"] == created.metadata.uid]
obj = getattr(api, "patch_namespaced_@SNAKE@_status")("walk-3", ns,
    {"metadata": {"annotations": {"patchedstatus": "true"}}, "status": @STATUS_PATCH@}, _content_type=MERGE)
out["status_patched"] = [obj.metadata.annotations.get("patchedstatus"), @STATUS_CHECK@]
@STATUS_UPDATE@
obj = getattr(api, "replace_namespaced_@SNAKE@_status")("walk-3", ns, obj)
out["status_updated"] = @STATUS_CHECK@
getattr(api, "delete_namespaced_@SNAKE@")("walk-3", ns)
out["gone"] = error_of(lambda: getattr(api, "read_namespaced_@SNAKE@")("walk-3", ns))
out["after_delete"] = sorted(i.metadata.name for i in getattr(api, "list_namespaced_@SNAKE@")(ns, label_selector=sel).items)
getattr(api, "delete_collection_namespaced_@SNAKE@")(ns, label_selector=sel)
out["after_collection"] = [i.metadata.name for i in getattr(api, "list_namespaced_@SNAKE@")(ns, label_selector=sel).items]
print(json.dumps(out, default=str))
"#
    .replace("@API@", walk.api)
    .replace("@GV@", walk.group_version)
    .replace("@PLURAL@", walk.plural)
    .replace("@SNAKE@", walk.snake)
    .replace("@TEMPLATE@", walk.template)
    .replace("@STATUS_PATCH@", walk.status_patch)
    .replace("@STATUS_UPDATE@", walk.status_update)
    .replace("@STATUS_CHECK@", walk.status_check);
    let r = python(server, &script);
    let (group, version) = walk.group_version.split_once('/').unwrap();
    assert_eq!(r["in_apis"], true, "{r:#}");
    assert!(
        r["in_group"].as_array().unwrap().contains(&json!(version)),
        "{group}: {r:#}"
    );
    let resources = r["resources"].as_array().unwrap();
    for expected in [walk.plural.to_owned(), format!("{}/status", walk.plural)] {
        assert!(resources.contains(&json!(expected)), "{expected}: {r:#}");
    }
    assert_eq!(r["got_uid_matches"], true);
    let three = json!(["walk-1", "walk-2", "walk-3"]);
    assert_eq!(r["listed"], three);
    assert_eq!(r["listed_all"], three);
    assert_eq!(r["patched"], json!({"patched": "true"}));
    assert_eq!(r["updated"], json!({"patched": "true", "updated": "true"}));
    assert_eq!(
        r["watched"],
        json!([
            ["MODIFIED", ["patched"]],
            ["MODIFIED", ["patched", "updated"]]
        ]),
        "{r:#}"
    );
    assert_eq!(
        r["status_get"],
        json!([200, walk.kind, walk.group_version, true])
    );
    assert_eq!(r["status_patched"][0], "true", "{r:#}");
    assert_eq!(r["gone"], json!({"status": 404, "reason": "NotFound"}));
    assert_eq!(r["after_delete"], json!(["walk-1", "walk-2"]));
    assert_eq!(r["after_collection"], json!([]));
    r
}

scenario! {
    /// Ingress API operations, with `/status` (load balancer ingress IPs).
    fn ingress_api(server) covers [INGRESS_API] {
        let r = api_walk(server, &ApiWalk {
            group_version: "networking.k8s.io/v1",
            plural: "ingresses",
            kind: "Ingress",
            api: "NetworkingV1Api",
            snake: "ingress",
            template: r#"{"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "spec": {
    "defaultBackend": {"service": {"name": "default-backend", "port": {"number": 8080}}},
    "rules": [{"host": "foo.bar.com", "http": {"paths": [{"path": "/", "pathType": "Prefix",
        "backend": {"service": {"name": "test-backend", "port": {"number": 8080}}}}]}}]}}"#,
            status_patch: r#"{"loadBalancer": {"ingress": [{"ip": "169.1.1.1"}]}}"#,
            status_update: r#"obj.status.load_balancer.ingress = [client.V1IngressLoadBalancerIngress(ip="169.1.1.2")]"#,
            status_check: "[i.ip for i in obj.status.load_balancer.ingress]",
        });
        assert_eq!(r["status_patched"][1], json!(["169.1.1.1"]));
        assert_eq!(r["status_updated"], json!(["169.1.1.2"]));
    }
}

scenario! {
    /// CronJob API operations, with `/status` (lastScheduleTime).
    fn cronjob_api(server) covers [CRONJOB_API] {
        let r = api_walk(server, &ApiWalk {
            group_version: "batch/v1",
            plural: "cronjobs",
            kind: "CronJob",
            api: "BatchV1Api",
            snake: "cron_job",
            template: r#"{"apiVersion": "batch/v1", "kind": "CronJob", "spec": {
    "schedule": "*/1 * * * ?", "concurrencyPolicy": "Allow", "jobTemplate": {"spec": {"template": {"spec": {
        "restartPolicy": "OnFailure", "containers": [{"name": "c", "image": "busybox", "command": ["sleep", "300"]}]}}}}}}"#,
            status_patch: r#"{"lastScheduleTime": "2025-01-01T00:00:00Z"}"#,
            status_update: r#"obj.status.last_schedule_time = datetime.datetime(2025, 1, 2, tzinfo=datetime.timezone.utc)"#,
            status_check: "obj.status.last_schedule_time.isoformat()",
        });
        assert_eq!(r["status_patched"][1], "2025-01-01T00:00:00+00:00");
        assert_eq!(r["status_updated"], "2025-01-02T00:00:00+00:00");
    }
}

scenario! {
    /// Job API operations on a suspended Job (no pods): create, get, list (also across
    /// namespaces) by label, patch and replace, watch, `/status` get, patch (an annotation and
    /// `startTime`) and replace, delete and delete the collection by label.
    fn job_api(server) covers [JOB_STATUS, JOB_LIFECYCLE] {
        let r = api_walk(server, &ApiWalk {
            group_version: "batch/v1",
            plural: "jobs",
            kind: "Job",
            api: "BatchV1Api",
            snake: "job",
            template: r#"{"apiVersion": "batch/v1", "kind": "Job", "spec": {"suspend": True, "parallelism": 1, "completions": 1,
    "template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox", "command": ["true"]}]}}}}"#,
            status_patch: r#"{"startTime": "2025-01-01T00:00:00Z"}"#,
            status_update: r#"obj.status.start_time = datetime.datetime(2025, 1, 2, tzinfo=datetime.timezone.utc)"#,
            status_check: "obj.status.start_time.isoformat()",
        });
        assert_eq!(r["status_patched"][1], "2025-01-01T00:00:00+00:00");
        assert_eq!(r["status_updated"], "2025-01-02T00:00:00+00:00");
    }
}

scenario! {
    /// PodDisruptionBudget API operations: create, get, list (also across namespaces) by label,
    /// patch and replace, watch, `/status` get, patch and replace, delete and delete the
    /// collection by label.
    fn pod_disruption_budget_api(server) covers [PDB_CREATE, PDB_LIST_DELETE_COLLECTION, PDB_STATUS_UPDATE_PATCH] {
        let r = api_walk(server, &ApiWalk {
            group_version: "policy/v1",
            plural: "poddisruptionbudgets",
            kind: "PodDisruptionBudget",
            api: "PolicyV1Api",
            snake: "pod_disruption_budget",
            template: r#"{"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "walk"}}}}"#,
            status_patch: r#"{"currentHealthy": 0, "desiredHealthy": 1, "disruptionsAllowed": 0, "expectedPods": 0, "observedGeneration": 1}"#,
            status_update: r#"obj.status.disruptions_allowed = 2; obj.status.current_healthy = 3"#,
            status_check: "obj.status.disruptions_allowed",
        });
        assert_eq!(r["status_patched"][1], 0);
        assert_eq!(r["status_updated"], 2);
    }
}

scenario! {
    /// Deployment `/status`: read, patch and replace it, each change visible to the next read.
    fn deployment_status_api(server) covers [DEPLOYMENT_STATUS_ENDPOINTS] {
        let r = api_walk(server, &ApiWalk {
            group_version: "apps/v1",
            plural: "deployments",
            kind: "Deployment",
            api: "AppsV1Api",
            snake: "deployment",
            template: r#"{"apiVersion": "apps/v1", "kind": "Deployment", "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "walk"}},
    "template": {"metadata": {"labels": {"app": "walk"}}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}}}}"#,
            status_patch: r#"{"replicas": 1, "readyReplicas": 1}"#,
            status_update: r#"obj.status.ready_replicas = 0; obj.status.conditions = [client.V1DeploymentCondition(type="StatusUpdate", status="True", reason="E2E", message="Set from e2e test")]"#,
            status_check: "[obj.status.ready_replicas, [c.type for c in (obj.status.conditions or [])]]",
        });
        assert_eq!(r["status_patched"][1], json!([1, []]));
        assert_eq!(r["status_updated"], json!([0, ["StatusUpdate"]]));
    }
}

scenario! {
    /// ServiceCIDR API: the default `kubernetes` ServiceCIDR, its `/status` (same kind and uid),
    /// list and watch.
    fn servicecidr_api(server) covers [SERVICECIDR_API] {
        let r = python(server, r#"
api = client.NetworkingV1Api()
default = api.read_service_cidr("kubernetes")
code, _, st = raw("GET", "/apis/networking.k8s.io/v1/servicecidrs/kubernetes/status")
listed = api.list_service_cidr()
evs = events_until(api.list_service_cidr, resource_version=listed.metadata.resource_version, stop=lambda e: True)
print(json.dumps({"cidrs": default.spec.cidrs, "status": [code, st["apiVersion"], st["kind"], st["metadata"]["uid"] == default.metadata.uid],
    "listed": [c.metadata.name for c in listed.items], "watched": len(evs)}))
"#);
        assert_eq!(r["status"], json!([200, "networking.k8s.io/v1", "ServiceCIDR", true]));
        assert!(r["cidrs"].as_array().is_some_and(|c| !c.is_empty()), "{r:#}");
        assert!(r["listed"].as_array().unwrap().contains(&json!("kubernetes")), "{r:#}");
        assert_eq!(r["watched"], 0, "no change since the list: {r:#}");
    }
}

scenario! {
    /// IPAddress API: create an IPv4 and an IPv6 address, merge-patch and update annotations, get,
    /// list and watch by label, delete one, delete the other by collection.
    fn ipaddress_api(server) covers [IPADDRESS_API] {
        let r = python(server, r#"
api = client.NetworkingV1Api()
def ip(name, kind):
    return client.V1IPAddress(metadata=client.V1ObjectMeta(name=name, labels={"type": kind}),
        spec=client.V1IPAddressSpec(parent_ref=client.V1ParentReference(group="mygroup", resource="myresources", namespace="foo", name="bar")))
created = api.create_ip_address(ip("255.255.255.255", "broadcast"))
api.create_ip_address(ip("fe80::42:1dff:fe84:f9e2", "link-local"))
patched = api.patch_ip_address("255.255.255.255", {"metadata": {"annotations": {"patched": "true"}}}, _content_type=MERGE)
current = api.read_ip_address("255.255.255.255")
current.metadata.annotations["updated"] = "true"
updated = api.replace_ip_address("255.255.255.255", current)
got = api.read_ip_address("255.255.255.255")
listed = api.list_ip_address(label_selector="type=broadcast")
evs = events_until(api.list_ip_address, label_selector="type=broadcast", resource_version=listed.metadata.resource_version, stop=lambda e: True)
api.delete_ip_address("255.255.255.255")
api.delete_collection_ip_address(label_selector="type=link-local")
print(json.dumps({
    "rv_grew": int(patched.metadata.resource_version) > int(created.metadata.resource_version),
    "patched": patched.metadata.annotations, "updated": updated.metadata.annotations,
    "parent": [got.spec.parent_ref.group, got.spec.parent_ref.resource, got.spec.parent_ref.namespace, got.spec.parent_ref.name],
    "listed": [i.metadata.name for i in listed.items], "watched": len(evs),
    "gone": error_of(lambda: api.read_ip_address("255.255.255.255")),
    "link_local": [i.metadata.name for i in api.list_ip_address(label_selector="type=link-local").items],
}))
"#);
        assert_eq!(r, json!({
            "rv_grew": true,
            "patched": {"patched": "true"},
            "updated": {"patched": "true", "updated": "true"},
            "parent": ["mygroup", "myresources", "foo", "bar"],
            "listed": ["255.255.255.255"],
            "watched": 0,
            "gone": {"status": 404, "reason": "NotFound"},
            "link_local": [],
        }));
    }
}

scenario! {
    /// The `kubernetes` Service in `default` has Endpoints and EndpointSlices (selected by
    /// `kubernetes.io/service-name`) with the same addresses and ports.
    fn apiserver_endpoints(server) covers [APISERVER_ENDPOINTS] {
        let r = python(server, r#"
v1, disc = client.CoreV1Api(), client.DiscoveryV1Api()
v1.read_namespaced_service("kubernetes", "default")
ep = v1.read_namespaced_endpoints("kubernetes", "default")
ep_addrs = sorted({a.ip for s in ep.subsets for a in (s.addresses or []) + (s.not_ready_addresses or [])})
ep_ports = sorted({p.port for s in ep.subsets for p in s.ports})
slices = disc.list_namespaced_endpoint_slice("default", label_selector="kubernetes.io/service-name=kubernetes").items
ipv4 = [s for s in slices if s.address_type == "IPv4"]
print(json.dumps({"subsets": len(ep.subsets), "slices": len(slices), "ep": [ep_addrs, ep_ports],
    "slice": [sorted({a for s in ipv4 for e in s.endpoints for a in e.addresses}),
              sorted({p.port for s in ipv4 for p in s.ports if p.port is not None})]}))
"#);
        assert!(r["subsets"].as_u64().unwrap() >= 1, "{r:#}");
        assert!(r["slices"].as_u64().unwrap() >= 1, "{r:#}");
        assert!(!r["ep"][0].as_array().unwrap().is_empty(), "{r:#}");
        assert_eq!(r["ep"], r["slice"], "{r:#}");
    }
}

scenario! {
    /// Namespace patch: a strategic-merge patch adds a label.
    fn namespace_patch(server) covers [NAMESPACE_PATCH] {
        let r = python(server, r#"
v1, name = client.CoreV1Api(), "nspatchtest-1234"
v1.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
v1.patch_namespace(name, {"metadata": {"labels": {"testLabel": "testValue"}}}, _content_type=SMP)
print(json.dumps(v1.read_namespace(name).metadata.labels))
"#);
        assert_eq!(r["testLabel"], "testValue", "{r:#}");
        assert_eq!(r["kubernetes.io/metadata.name"], "nspatchtest-1234", "{r:#}");
    }
}

scenario! {
    /// Namespace status: `/status` reads phase Active; a merge patch of `/status` adds a condition
    /// and an annotation; an update of `/status` appends a condition. The spec stays.
    fn namespace_status(server) covers [NAMESPACE_STATUS] {
        create_namespace(server, "scn");
        let r = python(server, r#"
v1, ns = client.CoreV1Api(), "scn"
code, _, st = raw("GET", "/api/v1/namespaces/scn/status")
read = v1.read_namespace_status(ns)
cond = {"type": "StatusPatch", "status": "True", "reason": "E2E", "message": "Patched by an e2e test"}
patched = v1.patch_namespace_status(ns, {"metadata": {"annotations": {"e2e-patched-ns-status": ns}},
    "status": {"conditions": [cond]}}, _content_type=MERGE)
current = v1.read_namespace(ns)
current.status.conditions.append(client.V1NamespaceCondition(type="StatusUpdate", status="True", reason="E2E", message="Updated by an e2e test"))
updated = v1.replace_namespace_status(ns, current)
conds = lambda o: [[c.type, c.reason, c.message] for c in o.status.conditions]
print(json.dumps({"get": [code, st["kind"], st["status"]["phase"]], "read_phase": read.status.phase,
    "patched": [patched.metadata.annotations, conds(patched)],
    "updated": [updated.metadata.annotations, conds(updated), updated.spec.finalizers, updated.status.phase]}))
"#);
        assert_eq!(r["get"], json!([200, "Namespace", "Active"]));
        assert_eq!(r["read_phase"], "Active");
        let annotations = json!({"e2e-patched-ns-status": "scn"});
        let patch = json!(["StatusPatch", "E2E", "Patched by an e2e test"]);
        assert_eq!(r["patched"], json!([annotations, [patch]]), "{r:#}");
        assert_eq!(r["updated"], json!([annotations,
            [patch, ["StatusUpdate", "E2E", "Updated by an e2e test"]], ["kubernetes"], "Active"]), "{r:#}");
    }
}

scenario! {
    /// Namespace finalizers: a PUT of `/finalize` adds a fake finalizer (an update of the namespace
    /// itself leaves `spec.finalizers` alone) and a second one removes it again.
    fn namespace_finalizer(server) covers [NAMESPACE_FINALIZER] {
        let r = python(server, r#"
v1, name, fake = client.CoreV1Api(), "e2e-ns-abcde", "e2e.example.com/fakeFinalizer"
v1.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
ns = v1.read_namespace(name)
ns.spec.finalizers.append(fake)
replaced = v1.replace_namespace(name, ns)
ns = v1.read_namespace(name)
ns.spec.finalizers.append(fake)
added = v1.replace_namespace_finalize(name, ns)
added_finalizers = list(added.spec.finalizers)
read_added = v1.read_namespace(name)
added.spec.finalizers = [f for f in added.spec.finalizers if f != fake]
removed = v1.replace_namespace_finalize(name, added)
print(json.dumps({"replaced": replaced.spec.finalizers, "added": added_finalizers,
    "read_added": read_added.spec.finalizers, "removed": removed.spec.finalizers,
    "read_removed": v1.read_namespace(name).spec.finalizers, "phase": removed.status.phase}))
"#);
        let both = json!(["kubernetes", "e2e.example.com/fakeFinalizer"]);
        assert_eq!(r, json!({
            "replaced": ["kubernetes"],
            "added": both,
            "read_added": both,
            "removed": ["kubernetes"],
            "read_removed": ["kubernetes"],
            "phase": "Active",
        }));
    }
}

scenario! {
    /// ResourceQuota status: update `/status` to the hard values, strategic-merge patch the spec,
    /// patch `/status` to the new values, read `/status`, patch `/status` again: the spec stays.
    fn resourcequota_status(server) covers [RESOURCE_QUOTA_STATUS] {
        create_namespace(server, "scn");
        let r = python(server, r#"
v1, ns, name = client.CoreV1Api(), "scn", "e2e-rq-status-abcde"
sel = "e2e-rq-label=" + name
rv = v1.list_namespaced_resource_quota(ns, label_selector=sel).metadata.resource_version
rq = v1.create_namespaced_resource_quota(ns, client.V1ResourceQuota(
    metadata=client.V1ObjectMeta(name=name, labels={"e2e-rq-label": name}),
    spec=client.V1ResourceQuotaSpec(hard={"cpu": "500m", "memory": "500Mi"})))
out = {"created_status": rq.status.hard if rq.status else None}
rq.status = client.V1ResourceQuotaStatus(hard={"cpu": "500m", "memory": "500Mi"})
out["updated_status"] = v1.replace_namespaced_resource_quota_status(name, ns, rq).status.hard
patched = v1.patch_namespaced_resource_quota(name, ns, {"spec": {"hard": {"cpu": "1", "memory": "1Gi"}}}, _content_type=SMP)
out["patched_spec"] = [patched.spec.hard, patched.status.hard]
patched = v1.patch_namespaced_resource_quota_status(name, ns, {"status": {"hard": {"cpu": "1", "memory": "1Gi"}}}, _content_type=SMP)
out["patched_status"] = [patched.spec.hard, patched.status.hard]
code, _, st = raw("GET", "/api/v1/namespaces/scn/resourcequotas/%s/status" % name)
out["get_status"] = [code, st["kind"], st["spec"]["hard"], st["status"]["hard"]]
repatched = v1.patch_namespaced_resource_quota_status(name, ns, {"spec": {"hard": {"cpu": "3"}}, "status": {"hard": {"cpu": "2", "memory": "2Gi"}}}, _content_type=SMP)
out["repatched"] = [repatched.spec.hard, repatched.status.hard]
evs = events_until(v1.list_namespaced_resource_quota, ns, label_selector=sel, resource_version=rv,
    stop=lambda e: (e["raw_object"].get("status", {}).get("hard") or {}).get("cpu") == "2")
out["events"] = summary(evs, lambda o: [o["spec"]["hard"]["cpu"], (o.get("status", {}).get("hard") or {}).get("cpu")])
print(json.dumps(out))
"#);
        let half = json!({"cpu": "500m", "memory": "500Mi"});
        let one = json!({"cpu": "1", "memory": "1Gi"});
        assert_eq!(r, json!({
            "created_status": null,
            "updated_status": half,
            "patched_spec": [one, half],
            "patched_status": [one, one],
            "get_status": [200, "ResourceQuota", one, one],
            "repatched": [one, {"cpu": "2", "memory": "2Gi"}],
            "events": [["ADDED", ["500m", null]], ["MODIFIED", ["500m", "500m"]], ["MODIFIED", ["1", "500m"]],
                       ["MODIFIED", ["1", "1"]], ["MODIFIED", ["1", "2"]]],
        }));
    }
}

scenario! {
    /// ResourceQuota lifecycle: create, list in all namespaces by label, strategic-merge patch a
    /// label and a hard limit, delete the collection by label.
    fn resourcequota_lifecycle(server) covers [RESOURCE_QUOTA_LIFECYCLE] {
        create_namespace(server, "scn");
        let r = python(server, r#"
v1, ns, name = client.CoreV1Api(), "scn", "e2e-quota-abcde"
sel = "e2e-rq-label=" + name
v1.create_namespaced_resource_quota(ns, client.V1ResourceQuota(
    metadata=client.V1ObjectMeta(name=name, labels={"e2e-rq-label": name}),
    spec=client.V1ResourceQuotaSpec(hard={"cpu": "1", "memory": "500Mi"})))
listed = [q.metadata.name for q in v1.list_resource_quota_for_all_namespaces(label_selector=sel).items]
patched = v1.patch_namespaced_resource_quota(name, ns, {"metadata": {"labels": {"rq": "patched"}},
    "spec": {"hard": {"memory": "750Mi"}}}, _content_type=SMP)
v1.delete_collection_namespaced_resource_quota(ns, label_selector=sel)
left = [q.metadata.name for q in v1.list_resource_quota_for_all_namespaces(label_selector=sel).items]
print(json.dumps({"listed": listed, "patched": [patched.metadata.labels.get("rq"), patched.spec.hard], "left": left}))
"#);
        assert_eq!(r, json!({
            "listed": ["e2e-quota-abcde"],
            "patched": ["patched", {"cpu": "1", "memory": "750Mi"}],
            "left": [],
        }));
    }
}

scenario! {
    /// ServiceAccount lifecycle: create with a static label, strategic-merge patch
    /// `automountServiceAccountToken`, list in all namespaces by label, delete the collection by
    /// label; a label-selected watch sees added, modified and deleted.
    fn serviceaccount_lifecycle(server) covers [SERVICE_ACCOUNT_LIFECYCLE] {
        create_namespace(server, "scn");
        let r = python(server, r#"
v1, ns, name, sel = client.CoreV1Api(), "scn", "testserviceaccount", "test-serviceaccount-static=true"
rv = v1.list_service_account_for_all_namespaces(label_selector=sel).metadata.resource_version
v1.create_namespaced_service_account(ns, client.V1ServiceAccount(
    metadata=client.V1ObjectMeta(name=name, labels={"test-serviceaccount-static": "true"})))
patched = v1.patch_namespaced_service_account(name, ns, {"automountServiceAccountToken": False}, _content_type=SMP)
listed = [[s.metadata.name, s.automount_service_account_token] for s in v1.list_service_account_for_all_namespaces(label_selector=sel).items]
v1.delete_collection_namespaced_service_account(ns, label_selector=sel)
evs = events_until(v1.list_namespaced_service_account, ns, label_selector=sel, resource_version=rv,
    stop=lambda e: e["type"] == "DELETED")
print(json.dumps({"patched": patched.automount_service_account_token, "listed": listed,
    "events": summary(evs, lambda o: o.get("automountServiceAccountToken"))}))
"#);
        assert_eq!(r, json!({
            "patched": false,
            "listed": [["testserviceaccount", false]],
            "events": [["ADDED", null], ["MODIFIED", false], ["DELETED", false]],
        }));
    }
}

scenario! {
    /// core/v1 Event lifecycle: create, list in all namespaces by label, strategic-merge patch the
    /// message, update with a series, delete; the label selector then finds nothing.
    fn event_lifecycle(server) covers [EVENT_LIFECYCLE] {
        create_namespace(server, "scn");
        let r = python(server, r#"
v1, ns, name, sel = client.CoreV1Api(), "scn", "event-test", "testevent-constant=true"
v1.create_namespaced_event(ns, client.CoreV1Event(
    metadata=client.V1ObjectMeta(name=name, labels={"testevent-constant": "true"}),
    reason="Test", message="This is a test event", type="Normal", count=1,
    involved_object=client.V1ObjectReference(namespace=ns), source=client.V1EventSource(component="e2e")))
listed = [e.metadata.name for e in v1.list_event_for_all_namespaces(label_selector=sel).items]
v1.patch_namespaced_event(name, ns, {"message": "This is a test event - patched"}, _content_type=SMP)
got = v1.read_namespaced_event(name, ns)
got.series = client.CoreV1EventSeries(count=100, last_observed_time=datetime.datetime.fromtimestamp(1505828956, datetime.timezone.utc))
v1.replace_namespaced_event(name, ns, got)
series = v1.read_namespaced_event(name, ns).series
v1.delete_namespaced_event(name, ns)
left = [e.metadata.name for e in v1.list_event_for_all_namespaces(label_selector=sel).items]
print(json.dumps({"listed": listed, "message": got.message, "series": [series.count, series.last_observed_time.timestamp()],
    "left": left}))
"#);
        assert_eq!(r, json!({
            "listed": ["event-test"],
            "message": "This is a test event - patched",
            "series": [100, 1_505_828_956.0],
            "left": [],
        }));
    }
}

scenario! {
    /// events.k8s.io/v1 Event: create, list in all namespaces and in the namespace, select by the
    /// core `source` and the v1 `reportingController` fields, strategic-merge patch a series (the
    /// rest unchanged), update the series, delete; the lists then miss it.
    fn events_api(server) covers [EVENTS_API_LIFECYCLE] {
        create_namespace(server, "scn");
        let r = python(server, r#"
api, core, ns, name = client.EventsV1Api(), client.CoreV1Api(), "scn", "event-test"
api.create_namespaced_event(ns, client.EventsV1Event(
    metadata=client.V1ObjectMeta(name=name, labels={"testevent-constant": "true"}),
    event_time=datetime.datetime.now(datetime.timezone.utc), reporting_controller="test-controller",
    reporting_instance="test-node", action="Do", reason="Test", type="Normal", note="This is " + name,
    regarding=client.V1ObjectReference(namespace=ns)))
def names_in(lst):
    return [[e.metadata.namespace, e.metadata.name] for e in lst.items if e.metadata.namespace == ns]
out = {"all": names_in(api.list_event_for_all_namespaces()), "ns": names_in(api.list_namespaced_event(ns)),
    "by_source": names_in(core.list_namespaced_event(ns, field_selector="source=test-controller")),
    "by_controller": names_in(api.list_namespaced_event(ns, field_selector="reportingController=test-controller"))}
def comparable(e):
    d = _raw_client.sanitize_for_serialization(e)
    d["metadata"].pop("resourceVersion", None)
    d["metadata"].pop("managedFields", None)
    return d
test_event = api.read_namespaced_event(name, ns)
api.patch_namespaced_event(name, ns, {"series": {"count": 2, "lastObservedTime": "2017-09-19T13:49:11.000000Z"}}, _content_type=SMP)
event = api.read_namespaced_event(name, ns)
test_event.series = client.EventsV1EventSeries(count=2, last_observed_time=datetime.datetime.fromtimestamp(1505828951, datetime.timezone.utc))
out["patched_equal"] = comparable(test_event) == comparable(event)
out["patched_series"] = [event.series.count, event.series.last_observed_time.timestamp()]
test_event.series = client.EventsV1EventSeries(count=100, last_observed_time=datetime.datetime.fromtimestamp(1505828956, datetime.timezone.utc))
test_event.metadata.resource_version = None
api.replace_namespaced_event(name, ns, test_event)
event = api.read_namespaced_event(name, ns)
out["updated_equal"] = comparable(test_event) == comparable(event)
out["updated_series"] = [event.series.count, event.series.last_observed_time.timestamp()]
api.delete_namespaced_event(name, ns)
out["after"] = [names_in(api.list_event_for_all_namespaces()), names_in(api.list_namespaced_event(ns))]
print(json.dumps(out))
"#);
        let found = json!([["scn", "event-test"]]);
        assert_eq!(r, json!({
            "all": found, "ns": found, "by_source": found, "by_controller": found,
            "patched_equal": true, "patched_series": [2, 1_505_828_951.0],
            "updated_equal": true, "updated_series": [100, 1_505_828_956.0],
            "after": [[], []],
        }));
    }
}

scenario! {
    /// LimitRanges in two namespaces: list both in all namespaces by label, strategic-merge patch
    /// one, delete the collection by label in one namespace: the other stays.
    fn limitrange_collection(server) covers [LIMIT_RANGE_COLLECTION] {
        create_namespace(server, "scn");
        create_namespace(server, "scn2");
        let r = python(server, r#"
v1, name, sel = client.CoreV1Api(), "e2e-limitrange-abcde", "e2e-test=abcde"
def lr():
    return client.V1LimitRange(metadata=client.V1ObjectMeta(name=name, labels={"e2e-test": "abcde"}),
        spec=client.V1LimitRangeSpec(limits=[client.V1LimitRangeItem(type="Container",
            min={"cpu": "100m", "memory": "10Mi"}, max={"cpu": "500m", "memory": "500Mi"},
            default={"cpu": "500m", "memory": "500Mi"}, default_request={"cpu": "100m", "memory": "10Mi"})]))
v1.create_namespaced_limit_range("scn", lr())
v1.create_namespaced_limit_range("scn2", lr())
listed = sorted(l.metadata.namespace for l in v1.list_limit_range_for_all_namespaces(label_selector=sel).items)
patched = v1.patch_namespaced_limit_range(name, "scn", {"metadata": {"labels": {"e2e-test": "abcde", "limitrange": "patched"}},
    "spec": {"limits": [{"type": "Container", "default": {"cpu": "300m", "memory": "300Mi"}, "defaultRequest": {"cpu": "200m", "memory": "20Mi"}}]}},
    _content_type=SMP)
v1.delete_collection_namespaced_limit_range("scn", label_selector=sel)
left = sorted(l.metadata.namespace for l in v1.list_limit_range_for_all_namespaces(label_selector=sel).items)
item = patched.spec.limits[0]
print(json.dumps({"listed": listed, "patched": [patched.metadata.labels, item.type, item.default, item.default_request], "left": left}))
"#);
        assert_eq!(r, json!({
            "listed": ["scn", "scn2"],
            "patched": [{"e2e-test": "abcde", "limitrange": "patched"}, "Container",
                        {"cpu": "300m", "memory": "300Mi"}, {"cpu": "200m", "memory": "20Mi"}],
            "left": ["scn2"],
        }));
    }
}

scenario! {
    /// CertificateSigningRequest API operations: discovery lists the kind with `approval` and
    /// `status`; create three (generateName), get, list and delete by the `spec.signerName` field
    /// selector, watch by name, merge-patch and update annotations; GET/merge-patch/update of
    /// `/approval` (conditions only) and of `/status` (the certificate, a condition).
    fn csr_api(server) covers [CSR_API] {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(vec!["e2e.example.com".to_owned()]).unwrap();
        params.distinguished_name.push(rcgen::DnType::CommonName, "e2e.example.com");
        let request = params.serialize_request(&key).unwrap().pem().unwrap();
        let certificate = params.self_signed(&key).unwrap().pem();
        let script = r#"
api, signer = client.CertificatesV1Api(), "example.com/e2e-scn"
request, certificate = b64("""@REQUEST@"""), b64("""@CERTIFICATE@""")
out = {}
out["in_apis"] = [v["version"] for g in raw("GET", "/apis")[2]["groups"] if g["name"] == "certificates.k8s.io" for v in g["versions"]]
out["in_group"] = [v["version"] for v in raw("GET", "/apis/certificates.k8s.io")[2]["versions"]]
out["resources"] = sorted(r["name"] for r in raw("GET", "/apis/certificates.k8s.io/v1")[2]["resources"]
                         if r["name"].startswith("certificatesigningrequests"))
def template():
    return client.V1CertificateSigningRequest(metadata=client.V1ObjectMeta(generate_name="e2e-example-csr-"),
        spec=client.V1CertificateSigningRequestSpec(request=request, signer_name=signer, expiration_seconds=3600,
            usages=["digital signature", "key encipherment", "server auth"]))
api.create_certificate_signing_request(template())
api.create_certificate_signing_request(template())
created = api.create_certificate_signing_request(template())
name = created.metadata.name
got = api.read_certificate_signing_request(name)
out["got"] = [got.metadata.uid == created.metadata.uid, got.spec.expiration_seconds, name.startswith("e2e-example-csr-")]
csrs = api.list_certificate_signing_request(field_selector="spec.signerName=" + signer)
out["listed"] = len(csrs.items)
patched = api.patch_certificate_signing_request(name, {"metadata": {"annotations": {"patched": "true"}}}, _content_type=MERGE)
patched.metadata.annotations["updated"] = "true"
updated = api.replace_certificate_signing_request(name, patched)
out["updated"] = updated.metadata.annotations
evs = events_until(api.list_certificate_signing_request, resource_version=csrs.metadata.resource_version,
    field_selector="metadata.name=" + name, stop=lambda e: annotations_of(e["raw_object"]).get("updated") == "true")
out["watched"] = summary(evs, lambda o: sorted(annotations_of(o)))
code, _, ap = raw("GET", "/apis/certificates.k8s.io/v1/certificatesigningrequests/%s/approval" % name)
out["approval_get"] = [code, ap["apiVersion"], ap["kind"], ap["metadata"]["uid"] == created.metadata.uid]
pa = api.patch_certificate_signing_request_approval(name, {"metadata": {"annotations": {"patchedapproval": "true"}},
    "status": {"conditions": [{"type": "ApprovalPatch", "status": "True", "reason": "e2e"}]}}, _content_type=MERGE)
out["approval_patched"] = [[c.type for c in pa.status.conditions], pa.metadata.annotations.get("patchedapproval"),
    pa.status.conditions[0].last_update_time is not None]
pa.status.conditions.append(client.V1CertificateSigningRequestCondition(type="Approved", status="True",
    reason="E2E", message="Set from an e2e test"))
ua = api.replace_certificate_signing_request_approval(name, pa)
out["approval_updated"] = [c.type for c in ua.status.conditions]
code, _, st = raw("GET", "/apis/certificates.k8s.io/v1/certificatesigningrequests/%s/status" % name)
out["status_get"] = [code, st["apiVersion"], st["kind"], st["metadata"]["uid"] == created.metadata.uid]
ps = api.patch_certificate_signing_request_status(name, {"metadata": {"annotations": {"patchedstatus": "true"}},
    "status": {"certificate": certificate}}, _content_type=MERGE)
out["status_patched"] = [ps.status.certificate == certificate, ps.metadata.annotations.get("patchedstatus"),
    [c.type for c in ps.status.conditions], ps.spec.request == request]
ps.status.conditions.append(client.V1CertificateSigningRequestCondition(type="StatusUpdate", status="True",
    reason="E2E", message="Set from an e2e test"))
us = api.replace_certificate_signing_request_status(name, ps)
out["status_updated"] = [c.type for c in us.status.conditions]
api.delete_certificate_signing_request(name)
out["gone"] = error_of(lambda: api.read_certificate_signing_request(name))
out["after_delete"] = len(api.list_certificate_signing_request(field_selector="spec.signerName=" + signer).items)
api.delete_collection_certificate_signing_request(field_selector="spec.signerName=" + signer)
out["after_collection"] = len(api.list_certificate_signing_request(field_selector="spec.signerName=" + signer).items)
print(json.dumps(out))
"#
        .replace("@REQUEST@", &request)
        .replace("@CERTIFICATE@", &certificate);
        let r = python(server, &script);
        assert_eq!(r, json!({
            "in_apis": ["v1"],
            "in_group": ["v1"],
            "resources": ["certificatesigningrequests", "certificatesigningrequests/approval",
                          "certificatesigningrequests/status"],
            "got": [true, 3600, true],
            "listed": 3,
            "updated": {"patched": "true", "updated": "true"},
            "watched": [["MODIFIED", ["patched"]], ["MODIFIED", ["patched", "updated"]]],
            "approval_get": [200, "certificates.k8s.io/v1", "CertificateSigningRequest", true],
            "approval_patched": [["ApprovalPatch"], "true", true],
            "approval_updated": ["ApprovalPatch", "Approved"],
            "status_get": [200, "certificates.k8s.io/v1", "CertificateSigningRequest", true],
            "status_patched": [true, "true", ["ApprovalPatch", "Approved"], true],
            "status_updated": ["ApprovalPatch", "Approved", "StatusUpdate"],
            "gone": {"status": 404, "reason": "NotFound"},
            "after_delete": 2,
            "after_collection": 0,
        }), "{r:#}");
    }
}

scenario! {
    /// RuntimeClass admission: a Pod naming a RuntimeClass that does not exist, or one that was
    /// deleted, is forbidden; a Pod naming an existing class gets the class's pod overhead.
    fn runtimeclass_rejects_pods(server) covers [RUNTIME_CLASS_REJECT_MISSING, RUNTIME_CLASS_REJECT_DELETED] {
        create_namespace(server, "scn");
        let r = python(server, r#"
v1, node, ns = client.CoreV1Api(), client.NodeV1Api(), "scn"
def pod(name, rc):
    return client.V1Pod(metadata=client.V1ObjectMeta(name=name), spec=client.V1PodSpec(runtime_class_name=rc,
        restart_policy="Never", containers=[client.V1Container(name="test", image="busybox")]))
def rejection(name, rc):
    try:
        v1.create_namespaced_pod(ns, pod(name, rc))
        return None
    except ApiException as e:
        body = json.loads(e.body)
        return [e.status, body["reason"], body["message"]]
out = {"missing": rejection("missing", "nonexistent-runtimeclass")}
node.create_runtime_class(client.V1RuntimeClass(metadata=client.V1ObjectMeta(name="delete-me"), handler="runc"))
node.delete_runtime_class("delete-me")
out["deleted_gone"] = error_of(lambda: node.read_runtime_class("delete-me"))
out["deleted"] = rejection("deleted", "delete-me")
node.create_runtime_class(client.V1RuntimeClass(metadata=client.V1ObjectMeta(name="with-overhead"), handler="runc",
    overhead=client.V1Overhead(pod_fixed={"cpu": "250m", "memory": "120Mi"})))
out["overhead"] = v1.create_namespaced_pod(ns, pod("admitted", "with-overhead")).spec.overhead
out["pods"] = [p.metadata.name for p in v1.list_namespaced_pod(ns).items]
print(json.dumps(out))
"#);
        assert_eq!(r, json!({
            "missing": [403, "Forbidden",
                "pods \"missing\" is forbidden: pod rejected: RuntimeClass \"nonexistent-runtimeclass\" not found"],
            "deleted_gone": {"status": 404, "reason": "NotFound"},
            "deleted": [403, "Forbidden",
                "pods \"deleted\" is forbidden: pod rejected: RuntimeClass \"delete-me\" not found"],
            "overhead": {"cpu": "250m", "memory": "120Mi"},
            "pods": ["admitted"],
        }));
    }
}
