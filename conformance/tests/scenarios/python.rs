//! The official Python client: typed CRUD, delete-collection, chunked lists, and the generic
//! "API operations" walk the upstream `... API operations` tests make for a resource.

use serde_json::{Value, json};
use tugboat_conformance::{Server, upstream::*};

use crate::support::create_namespace;

scenario! {
    /// Create, read, list by label selector, replace and delete a ConfigMap; reading it afterwards is
    /// a 404 NotFound Status.
    fn configmap_crud(server) covers [] {
        create_namespace(server, "scn");
        let result = server.python_json(r#"
v1 = client.CoreV1Api()
ns = "scn"
made = v1.create_namespaced_config_map(ns, client.V1ConfigMap(
    metadata=client.V1ObjectMeta(name="py", labels={"app": "py"}), data={"k": "v"}))
v1.create_namespaced_config_map(ns, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="other"), data={}))
got = v1.read_namespaced_config_map("py", ns)
listed = v1.list_namespaced_config_map(ns, label_selector="app=py")
got.data["k"] = "v2"
replaced = v1.replace_namespaced_config_map("py", ns, got)
v1.delete_namespaced_config_map("py", ns)
try:
    v1.read_namespaced_config_map("py", ns)
    missing = None
except ApiException as e:
    missing = {"status": e.status, "body": json.loads(e.body)}
print(json.dumps({
    "made": {"name": made.metadata.name, "uid": made.metadata.uid, "rv": made.metadata.resource_version, "data": made.data},
    "got": {"uid": got.metadata.uid, "labels": got.metadata.labels},
    "listed": [i.metadata.name for i in listed.items],
    "list_kind": listed.kind,
    "replaced": {"data": replaced.data, "rv": replaced.metadata.resource_version},
    "missing": missing,
}))
"#);
        assert_eq!(result["made"]["name"], "py");
        assert_eq!(result["made"]["data"], json!({"k": "v"}));
        assert_eq!(result["got"]["uid"], result["made"]["uid"]);
        assert_eq!(result["got"]["labels"], json!({"app": "py"}));
        assert_eq!(result["listed"], json!(["py"]));
        assert_eq!(result["list_kind"], "ConfigMapList");
        assert_eq!(result["replaced"]["data"], json!({"k": "v2"}));
        assert_ne!(result["replaced"]["rv"], result["made"]["rv"]);
        assert_eq!(result["missing"]["status"], 404, "{result:#}");
        let status = &result["missing"]["body"];
        assert_eq!(status["kind"], "Status");
        assert_eq!(status["reason"], "NotFound");
        assert_eq!(status["message"], "configmaps \"py\" not found");
        assert_eq!(status["details"], json!({"name": "py", "kind": "configmaps"}));
    }
}

/// DeleteCollection by label selector over the kinds named in `kinds` (keys of the Python table):
/// three labelled objects and one other; asserts only the labelled ones go.
fn delete_collection_of(server: &Server, kinds: &[&str]) {
    create_namespace(server, "scn");
    let script = format!(
        r#"
ns = "scn"
core, events = client.CoreV1Api(), client.EventsV1Api()
now = "2025-01-01T00:00:00Z"
def template(name, labels):
    return client.V1PodTemplate(metadata=client.V1ObjectMeta(name=name, labels=labels),
        template=client.V1PodTemplateSpec(spec=client.V1PodSpec(containers=[client.V1Container(name="c", image="pause")])))
def core_event(name, labels):
    return client.CoreV1Event(metadata=client.V1ObjectMeta(name=name, labels=labels),
        involved_object=client.V1ObjectReference(kind="Pod", name="p", namespace=ns), reason="Test", message="m")
def new_event(name, labels):
    return client.EventsV1Event(metadata=client.V1ObjectMeta(name=name, labels=labels), event_time=now,
        reporting_controller="example.com/test", reporting_instance="i", action="Test", reason="Test", type="Normal",
        regarding=client.V1ObjectReference(kind="Pod", name="p", namespace=ns))
table = {{
    "podtemplates": (template, core.create_namespaced_pod_template, core.list_namespaced_pod_template, core.delete_collection_namespaced_pod_template),
    "events": (core_event, core.create_namespaced_event, core.list_namespaced_event, core.delete_collection_namespaced_event),
    "events.k8s.io": (new_event, events.create_namespaced_event, events.list_namespaced_event, events.delete_collection_namespaced_event),
}}
out = {{}}
for kind in json.loads({kinds:?}):
    make, create, lst, delete_collection = table[kind]
    for i in range(3):
        create(ns, make("set-%d" % i, {{"set": "yes"}}))
    create(ns, make("loner", {{"set": "no"}}))
    before = sorted(o.metadata.name for o in lst(ns, label_selector="set=yes").items)
    delete_collection(ns, label_selector="set=yes")
    after = sorted(o.metadata.name for o in lst(ns, label_selector="set=yes").items)
    rest = sorted(o.metadata.name for o in lst(ns).items)
    out[kind] = {{"before": before, "after": after, "rest": rest}}
print(json.dumps(out))
"#,
        kinds = serde_json::to_string(kinds).unwrap(),
    );
    let result = server.python_json(&script);
    for kind in kinds {
        let r = &result[kind];
        assert_eq!(
            r["before"],
            json!(["set-0", "set-1", "set-2"]),
            "{kind}: {r:#}"
        );
        assert_eq!(r["after"], json!([]), "{kind}: {r:#}");
        assert_eq!(r["rest"], json!(["loner"]), "{kind}: {r:#}");
    }
}

scenario! {
    /// DeleteCollection with a label selector removes exactly the labelled PodTemplates and core
    /// Events, and leaves the others.
    fn delete_collection(server) covers [PODTEMPLATE_DELETE_COLLECTION, EVENTS_DELETE_COLLECTION] {
        delete_collection_of(server, &["podtemplates", "events"]);
    }
}

scenario! {
    /// The same for events.k8s.io/v1 Events (served from core/v1 storage).
    fn delete_collection_events_v1(server) covers [EVENTS_API_DELETE_COLLECTION] {
        delete_collection_of(server, &["events.k8s.io"]);
    }
}

/// Lists 40 PodTemplates 7 at a time and checks the pages; `remaining_count` also checks every
/// page's remainingItemCount.
fn chunked_list_of_40(server: &Server, remaining_count: bool) {
    create_namespace(server, "scn");
    let result = server.python_json(
        r#"
ns, core = "scn", client.CoreV1Api()
for i in range(40):
    core.create_namespaced_pod_template(ns, client.V1PodTemplate(metadata=client.V1ObjectMeta(name="t-%02d" % i),
        template=client.V1PodTemplateSpec(spec=client.V1PodSpec(containers=[client.V1Container(name="c", image="pause")]))))
pages, token = [], None
while True:
    page = core.list_namespaced_pod_template(ns, limit=7, _continue=token)
    pages.append({"n": len(page.items), "names": [i.metadata.name for i in page.items],
                  "remaining": page.metadata.remaining_item_count, "rv": page.metadata.resource_version,
                  "continue": page.metadata._continue})
    token = page.metadata._continue
    if not token:
        break
full = core.list_namespaced_pod_template(ns)
print(json.dumps({"pages": pages, "full": [i.metadata.name for i in full.items]}))
"#,
    );
    let pages = result["pages"].as_array().unwrap();
    assert_eq!(pages.len(), 6, "{result:#}");
    let first_rv = &pages[0]["rv"];
    let mut seen = Vec::new();
    for (i, page) in pages.iter().enumerate() {
        let n = page["n"].as_u64().unwrap();
        seen.extend(page["names"].as_array().unwrap().iter().cloned());
        assert_eq!(
            &page["rv"], first_rv,
            "page {i} has another resourceVersion"
        );
        let remaining = 40 - seen.len() as u64;
        if i + 1 < pages.len() {
            assert_eq!(n, 7, "page {i}: {page:#}");
            assert!(
                page["continue"].as_str().is_some_and(|c| !c.is_empty()),
                "page {i}: {page:#}"
            );
            if remaining_count {
                assert_eq!(page["remaining"], remaining, "page {i}: {page:#}");
            }
        } else {
            assert!(n <= 7, "page {i}: {page:#}");
            assert_eq!(page["remaining"], Value::Null, "last page: {page:#}");
        }
    }
    let expected: Vec<Value> = (0..40).map(|i| Value::from(format!("t-{i:02}"))).collect();
    assert_eq!(seen, expected);
    assert_eq!(result["full"], Value::Array(expected));
}

scenario! {
    /// Listing 40 PodTemplates 7 at a time: full pages but the last, each with a continue token and
    /// the first page's resourceVersion; the pages add up to the unpaged list.
    fn chunked_list(server) covers [] {
        chunked_list_of_40(server, false);
    }
}

scenario! {
    /// The same, and every page but the last says how many items remain (remainingItemCount).
    fn chunked_list_remaining_count(server) covers [CHUNKING] {
        chunked_list_of_40(server, true);
    }
}

/// The generic walk, in Python, over one resource with the dynamic client: discovery, create, get,
/// list by label, watch (sees the update), update, optionally merge-patch, delete and
/// deletecollection by label. Prints `{"problems": [...]}`.
const PY_API_OPERATIONS: &str = r#"
from kubernetes import dynamic
dyn = dynamic.DynamicClient(client.ApiClient())
def raw_get(path):
    return raw("GET", path)[2]
def walk(api_version, kind, plural, namespaced, body, subresources, with_patch):
    problems = []
    group = api_version.split("/")[0] if "/" in api_version else ""
    if group:
        if group not in [g["name"] for g in raw_get("/apis")["groups"]]:
            problems.append("group %s not in /apis" % group)
        if api_version not in [v["groupVersion"] for v in raw_get("/apis/" + group)["versions"]]:
            problems.append("%s not in /apis/%s" % (api_version, group))
    names = [r["name"] for r in raw_get(("/apis/" if group else "/api/") + api_version)["resources"]]
    for name in [plural] + [plural + "/" + s for s in subresources]:
        if name not in names:
            problems.append("%s not in %s discovery" % (name, api_version))
    res = dyn.resources.get(api_version=api_version, kind=kind)
    ns = "scn" if namespaced else None
    def obj(name, labels):
        o = json.loads(json.dumps(body))
        o.update({"apiVersion": api_version, "kind": kind})
        o["metadata"] = {"name": name, "labels": labels}
        return o
    res.create(body=obj("walk-1", {"walk": "yes"}), namespace=ns)
    res.create(body=obj("walk-2", {"walk": "yes"}), namespace=ns)
    got = res.get(name="walk-1", namespace=ns)
    listed = res.get(namespace=ns, label_selector="walk=yes")
    if sorted(i.metadata.name for i in listed.items) != ["walk-1", "walk-2"]:
        problems.append("list by label: %s" % [i.metadata.name for i in listed.items])
    rv = listed.metadata.resourceVersion
    seen = []
    def watcher():
        for ev in res.watch(namespace=ns, resource_version=rv, timeout=10):
            seen.append((ev["type"], ev["object"].metadata.name))
            if ev["type"] == "MODIFIED":
                return
    t = threading.Thread(target=watcher); t.start()
    updated = got.to_dict()
    updated["metadata"].setdefault("annotations", {})
    updated["metadata"]["annotations"] = dict(updated["metadata"]["annotations"] or {}, updated="true")
    res.replace(body=updated, namespace=ns)
    t.join(15)
    if ("MODIFIED", "walk-1") not in seen:
        problems.append("watch saw %s" % seen)
    if res.get(name="walk-1", namespace=ns).metadata.annotations["updated"] != "true":
        problems.append("update not visible")
    if with_patch:
        res.patch(name="walk-1", namespace=ns, body={"metadata": {"annotations": {"patched": "true"}}},
                  content_type="application/merge-patch+json")
        if res.get(name="walk-1", namespace=ns).metadata.annotations["patched"] != "true":
            problems.append("patch not visible")
    res.delete(name="walk-1", namespace=ns)
    try:
        res.get(name="walk-1", namespace=ns)
        problems.append("walk-1 still there after delete")
    except dynamic.exceptions.NotFoundError:
        pass
    res.create(body=obj("walk-3", {"walk": "no"}), namespace=ns)
    res.delete(namespace=ns, label_selector="walk=yes")
    left = sorted(i.metadata.name for i in res.get(namespace=ns).items if i.metadata.name.startswith("walk-"))
    if left != ["walk-3"]:
        problems.append("after deletecollection: %s" % left)
    res.delete(name="walk-3", namespace=ns)
    return problems
"#;

/// Resources walked by the API-operations scenarios, each
/// `[apiVersion, kind, plural, namespaced, body without apiVersion/kind/metadata, subresources that
/// discovery must list]`.
fn api_operation_cases() -> Vec<Value> {
    vec![
        json!(["networking.k8s.io/v1", "IngressClass", "ingressclasses", false,
               {"spec": {"controller": "example.com/controller"}}, []]),
        json!(["node.k8s.io/v1", "RuntimeClass", "runtimeclasses", false, {"handler": "runc"}, []]),
        json!(["discovery.k8s.io/v1", "EndpointSlice", "endpointslices", true,
               {"addressType": "IPv4", "endpoints": [{"addresses": ["10.0.0.1"]}], "ports": [{"port": 80}]}, []]),
        json!(["flowcontrol.apiserver.k8s.io/v1", "PriorityLevelConfiguration", "prioritylevelconfigurations", false,
               {"spec": {"type": "Limited", "limited": {"nominalConcurrencyShares": 2, "limitResponse": {"type": "Reject"}}}},
               ["status"]]),
        json!(["flowcontrol.apiserver.k8s.io/v1", "FlowSchema", "flowschemas", false,
               {"spec": {"priorityLevelConfiguration": {"name": "global-default"}, "matchingPrecedence": 9000,
                         "rules": [{"subjects": [{"kind": "Group", "group": {"name": "example"}}],
                                    "resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"],
                                                       "namespaces": ["*"]}]}]}},
               ["status"]]),
    ]
}

fn walk_api_operations(server: &Server, with_patch: bool) {
    create_namespace(server, "scn");
    let cases = api_operation_cases();
    let py_patch = if with_patch { "True" } else { "False" };
    let script = format!(
        "{PY_API_OPERATIONS}\ncases = json.loads({cases:?})\n\
         print(json.dumps({{c[1]: walk(c[0], c[1], c[2], c[3], c[4], c[5], {py_patch}) for c in cases}}))",
        cases = Value::Array(cases.clone()).to_string(),
    );
    let result = server.python_json(&script);
    for case in &cases {
        let kind = case[1].as_str().unwrap();
        assert_eq!(result[kind], json!([]), "{kind}: {result:#}");
    }
}

scenario! {
    /// The API-operations walk without patch, on IngressClass, RuntimeClass, EndpointSlice,
    /// PriorityLevelConfiguration and FlowSchema (tags nothing: the upstream tests also patch).
    fn api_operations_without_patch(server) covers [] {
        walk_api_operations(server, false);
    }
}

scenario! {
    /// The full API-operations walk (with merge patch) the upstream `... API operations` tests make.
    fn api_operations(server) covers [INGRESS_CLASS_API, RUNTIME_CLASS_API, ENDPOINT_SLICE_API, PRIORITY_LEVEL_API, FLOWSCHEMA_API] {
        walk_api_operations(server, true);
    }
}
