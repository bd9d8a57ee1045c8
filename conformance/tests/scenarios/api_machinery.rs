//! API machinery conformance behaviours driven through the official Python client (and kubectl):
//! finishing a paginated list after its revision was compacted, concurrent watches agreeing on the
//! order of events, Table responses (and the 406 of a resource without them), and the QoS class the
//! pod strategy sets on create.

use serde_json::{Value, json};
use tugboat_conformance::upstream::*;

use crate::support::{create_manifest, create_namespace};

scenario! {
    /// Upstream's chunking test after compaction: list the first page of 40 PodTemplates, move the
    /// revision on and wait (compaction every second) until continuing with the first token is a
    /// 410 Expired whose Status carries an "inconsistent" continue token (revision -1, the same
    /// key, relative to the namespace's key prefix as upstream's).
    /// A PodTemplate created after the 410 shows that the rest of the list is read at the latest
    /// revision: the remaining pages come with remainingItemCount and one resourceVersion, newer
    /// than the first page's.
    fn continue_after_compaction(server) covers [CHUNKING_COMPACTED]
    server_args ["--kube-apiserver-arg=etcd-compaction-interval=1s"]
    {
        create_namespace(server, "scn");
        create_namespace(server, "other");
        let result = server.python_json(r#"
import base64
ns, core = "scn", client.CoreV1Api()
TOTAL, LIMIT = 40, 4
def template(name):
    return client.V1PodTemplate(metadata=client.V1ObjectMeta(name=name),
        template=client.V1PodTemplateSpec(spec=client.V1PodSpec(containers=[client.V1Container(name="test", image="test2")])))
for i in range(TOTAL):
    core.create_namespaced_pod_template(ns, template("template-%04d" % i))
def summary(page):
    return {"names": [i.metadata.name for i in page.items], "rv": page.metadata.resource_version,
            "remaining": page.metadata.remaining_item_count, "continue": page.metadata._continue}
first = core.list_namespaced_pod_template(ns, limit=LIMIT)
first_token = first.metadata._continue
# A write after the first page, so that compaction passes the first page's revision.
core.create_namespaced_config_map("other", client.V1ConfigMap(metadata=client.V1ObjectMeta(name="bump")))
expired, polls, deadline = None, 0, time.time() + 40
while expired is None and time.time() < deadline:
    try:
        core.list_namespaced_pod_template(ns, limit=LIMIT, _continue=first_token)
        polls += 1
        time.sleep(0.2)
    except ApiException as e:
        expired = {"status": e.status, "body": json.loads(e.body)}
token = expired and expired["body"].get("metadata", {}).get("continue")
decoded = token and json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
created = core.create_namespaced_pod_template(ns, template("template-%04d" % TOTAL)).metadata.resource_version
pages = []
while token:
    page = core.list_namespaced_pod_template(ns, limit=LIMIT, _continue=token)
    pages.append(summary(page))
    token = page.metadata._continue
print(json.dumps({"first": summary(first), "expired": expired, "decoded": decoded, "polls": polls,
                  "created": created, "pages": pages}))
"#);
        let first = &result["first"];
        assert_eq!(
            first["names"],
            json!(["template-0000", "template-0001", "template-0002", "template-0003"]),
            "{result:#}"
        );
        assert_eq!(first["remaining"], 36, "{result:#}");
        let expired = &result["expired"];
        assert_eq!(expired["status"], 410, "no 410 within the deadline: {result:#}");
        let status = &expired["body"];
        assert_eq!(status["kind"], "Status");
        assert_eq!(status["reason"], "Expired");
        assert_eq!(status["code"], 410);
        assert_eq!(
            status["message"],
            "The provided continue parameter is too old to display a consistent list result. You \
             can start a new list without the continue parameter, or use the continue token in \
             this response to retrieve the remainder of the results. Continuing with the provided \
             token results in an inconsistent list - objects that were created, modified, or \
             deleted between the time the first chunk was returned and now may show up in the list."
        );
        assert_eq!(
            result["decoded"],
            json!({"v": "meta.k8s.io/v1", "rv": -1, "start": "template-0003\u{0}"}),
            "{result:#}"
        );

        // The rest of the list, at the latest revision: it includes the template created after
        // the 410, so 41 objects in all.
        let pages = result["pages"].as_array().unwrap();
        let rv = |v: &Value| v.as_str().unwrap().parse::<i64>().unwrap();
        let inconsistent_rv = &pages[0]["rv"];
        assert_ne!(inconsistent_rv, &first["rv"], "{result:#}");
        assert!(rv(inconsistent_rv) >= rv(&result["created"]), "{result:#}");
        let mut found = 4;
        for (index, page) in pages.iter().enumerate() {
            let names = page["names"].as_array().unwrap();
            assert!(names.len() <= 4, "{result:#}");
            assert_eq!(&page["rv"], inconsistent_rv, "page {index}: {result:#}");
            for name in names {
                assert_eq!(name, &json!(format!("template-{found:04}")), "{result:#}");
                found += 1;
            }
            if page["continue"].is_null() {
                assert!(page["remaining"].is_null(), "{result:#}");
            } else {
                let remaining = page["remaining"].as_u64().unwrap() as usize;
                assert_eq!(remaining + found, 41, "page {index}: {result:#}");
            }
        }
        assert_eq!(pages[0]["names"].as_array().unwrap().len(), 4, "{result:#}");
        assert_eq!(found, 41, "{result:#}");
    }
}

scenario! {
    /// Upstream's watch-consistency test: a background writer creates, updates (unconditionally)
    /// and deletes ConfigMaps every few milliseconds; for each event the first watch sees, another
    /// watch starts at that event's resourceVersion, and every open watch's next event carries the
    /// same resourceVersion as the first watch's.
    fn concurrent_watches_same_order(server) covers [WATCH_CONCURRENT_ORDER] {
        create_namespace(server, "scn");
        let result = server.python_json(r#"
import random
ns, v1 = "scn", client.CoreV1Api()
ITERATIONS = 50
rv = v1.list_namespaced_config_map(ns).metadata.resource_version
stop, errors, writes = threading.Event(), [], [0]
def produce():
    api, rnd, existing, i, updates = client.CoreV1Api(), random.Random(7), [], 0, 0
    name = lambda n: "cm-%d" % n
    while not stop.is_set():
        op = rnd.randrange(3) if existing else 0
        try:
            if op == 0:
                api.create_namespaced_config_map(ns, client.V1ConfigMap(metadata=client.V1ObjectMeta(name=name(i))))
                existing.append(i)
                i += 1
            elif op == 1:
                idx = rnd.randrange(len(existing))
                api.replace_namespaced_config_map(name(existing[idx]), ns, client.V1ConfigMap(
                    metadata=client.V1ObjectMeta(name=name(existing[idx]), labels={"mutated": str(updates)})))
                updates += 1
            else:
                idx = rnd.randrange(len(existing))
                api.delete_namespaced_config_map(name(existing[idx]), ns)
                existing.pop(idx)
            writes[0] += 1
        except Exception as e:
            errors.append(repr(e))
            return
        time.sleep(0.005)
producer = threading.Thread(target=produce, daemon=True)
producer.start()
def open_watch(rv):
    w = watch.Watch()
    return w, w.stream(v1.list_namespaced_config_map, ns, resource_version=rv, timeout_seconds=55,
                       _request_timeout=20)
def next_rv(stream):
    return next(stream)["object"].metadata.resource_version
watches, seen, mismatches = [], [], []
for i in range(ITERATIONS):
    watches.append(open_watch(rv))
    rv = next_rv(watches[0][1])
    seen.append(rv)
    for _, stream in watches[1:]:
        got = next_rv(stream)
        if got != rv:
            mismatches.append([i, rv, got])
stop.set()
producer.join(10)
for w, _ in watches:
    w.stop()
print(json.dumps({"seen": seen, "mismatches": mismatches, "errors": errors, "writes": writes[0]}))
"#);
        assert_eq!(result["errors"], json!([]), "{result:#}");
        assert_eq!(result["mismatches"], json!([]), "{result:#}");
        let seen: Vec<i64> = result["seen"]
            .as_array()
            .unwrap()
            .iter()
            .map(|rv| rv.as_str().unwrap().parse().unwrap())
            .collect();
        assert_eq!(seen.len(), 50);
        assert!(seen.windows(2).all(|w| w[0] < w[1]), "{result:#}");
    }
}

scenario! {
    /// Upstream's Table tests: a POST of a SelfSubjectAccessReview asking for a Table is a 406
    /// NotAcceptable Status (reviews have no table convertor), as is one for a SelfSubjectReview;
    /// a Pod as a `meta.k8s.io/v1beta1` Table has a Name column and one row (with the object as
    /// `includeObject` asks); a Table list of PodTemplates pages with `limit` and `continue`.
    fn table_transformation(server) covers [TABLE_NOT_ACCEPTABLE] {
        create_namespace(server, "scn");
        let result = server.python_json(r#"
ns, core = "scn", client.CoreV1Api()
TABLE_V1 = "application/json;as=Table;v=v1;g=meta.k8s.io"
TABLE_V1BETA1 = "application/json;as=Table;v=v1beta1;g=meta.k8s.io"
sar = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
       "spec": {"nonResourceAttributes": {"path": "/", "verb": "get"}}}
ssar = raw("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", accept=TABLE_V1, body=sar)
ssr = raw("POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews", accept=TABLE_V1,
          body={"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"})
core.create_namespaced_pod(ns, client.V1Pod(metadata=client.V1ObjectMeta(name="pod-1"), spec=client.V1PodSpec(
    restart_policy="Never", containers=[client.V1Container(name="agnhost", image="registry.k8s.io/e2e-test-images/agnhost:2.53",
        args=["porter"], ports=[client.V1ContainerPort(container_port=8080)],
        env=[client.V1EnvVar(name="SERVE_PORT_8080", value="foo")])])))
pod = {}
for include in ["", "None", "Object"]:
    query = "?includeObject=" + include if include else ""
    pod[include or "default"] = raw("GET", "/api/v1/namespaces/scn/pods/pod-1" + query, accept=TABLE_V1BETA1)
for i in range(20):
    core.create_namespaced_pod_template(ns, client.V1PodTemplate(metadata=client.V1ObjectMeta(name="template-%04d" % i),
        template=client.V1PodTemplateSpec(spec=client.V1PodSpec(containers=[client.V1Container(name="test", image="test2")]))))
paged = raw("GET", "/api/v1/namespaces/scn/podtemplates?limit=2", accept=TABLE_V1BETA1)
token = paged[2]["metadata"].get("continue", "")
rest = raw("GET", "/api/v1/namespaces/scn/podtemplates?continue=" + token, accept=TABLE_V1BETA1)
print(json.dumps({"ssar": ssar, "ssr": ssr, "pod": pod, "paged": paged, "rest": rest}))
"#);
        let accepted = "only the following media types are accepted: application/json, \
                        application/yaml, application/vnd.kubernetes.protobuf";
        for review in ["ssar", "ssr"] {
            let (code, body) = (&result[review][0], &result[review][2]);
            assert_eq!(code, 406, "{review}: {result:#}");
            assert_eq!(body["kind"], "Status", "{review}: {result:#}");
            assert_eq!(body["reason"], "NotAcceptable", "{review}: {result:#}");
            assert_eq!(body["code"], 406, "{review}: {result:#}");
            assert_eq!(body["message"], accepted, "{review}: {result:#}");
        }

        for (include, object_kind) in [
            ("default", Some("PartialObjectMetadata")),
            ("None", None),
            ("Object", Some("Pod")),
        ] {
            let (code, table) = (&result["pod"][include][0], &result["pod"][include][2]);
            assert_eq!(code, 200, "{include}: {result:#}");
            assert_eq!(table["kind"], "Table");
            assert_eq!(table["apiVersion"], "meta.k8s.io/v1beta1");
            let columns = table["columnDefinitions"].as_array().unwrap();
            assert!(columns.len() > 2, "{table:#}");
            assert_eq!(columns[0]["name"], "Name");
            let rows = table["rows"].as_array().unwrap();
            assert_eq!(rows.len(), 1, "{table:#}");
            assert_eq!(rows[0]["cells"].as_array().unwrap().len(), columns.len());
            assert_eq!(rows[0]["cells"][0], "pod-1");
            match object_kind {
                Some(kind) => {
                    assert_eq!(rows[0]["object"]["kind"], kind, "{include}: {table:#}");
                    assert_eq!(rows[0]["object"]["metadata"]["name"], "pod-1");
                }
                None => assert!(rows[0]["object"].is_null(), "{include}: {table:#}"),
            }
        }

        let (code, paged) = (&result["paged"][0], &result["paged"][2]);
        assert_eq!(code, 200, "{result:#}");
        let first_cells: Vec<&Value> = paged["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|row| &row["cells"][0])
            .collect();
        assert_eq!(first_cells, [&json!("template-0000"), &json!("template-0001")]);
        assert_ne!(paged["metadata"]["resourceVersion"], json!(""));
        assert!(paged["metadata"]["resourceVersion"].is_string(), "{paged:#}");
        assert!(paged["metadata"]["continue"].is_string(), "{paged:#}");
        let rest = &result["rest"][2];
        assert_eq!(result["rest"][0], 200, "{result:#}");
        assert_eq!(rest["rows"].as_array().unwrap().len(), 18, "{rest:#}");
        assert_eq!(rest["rows"][0]["cells"][0], "template-0002");
    }
}

/// A Pod whose one container (and, when given, init container) has `resources`.
fn pod_manifest(name: &str, resources: &str, init_resources: Option<&str>) -> String {
    let init = init_resources.map_or(String::new(), |r| {
        format!("  initContainers:\n  - name: init\n    image: busybox\n    resources: {r}\n")
    });
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\nspec:\n{init}  containers:\n  - name: c\n    image: registry.k8s.io/pause:3.10\n    resources: {resources}\n"
    )
}

scenario! {
    /// Upstream's QoS test (a Pod whose container requests and limits 100m CPU and 100Mi memory is
    /// `Guaranteed`, read back with the Python client), and through kubectl the other classes:
    /// limits only (requests default to them) is `Guaranteed`, requests only `Burstable`, an init
    /// container without limits spoils a guarantee, nothing is `BestEffort`. Neither an update of
    /// the Pod nor a status update without a QoS class changes it.
    fn pod_qos_class(server) covers [POD_QOS_CLASS] {
        create_namespace(server, "scn");
        let result = server.python_json(r#"
import uuid
ns, core = "scn", client.CoreV1Api()
name = "pod-qos-class-" + str(uuid.uuid4())
quantities = {"cpu": "100m", "memory": "100Mi"}
core.create_namespaced_pod(ns, client.V1Pod(metadata=client.V1ObjectMeta(name=name, labels={"name": name}),
    spec=client.V1PodSpec(containers=[client.V1Container(name="agnhost",
        image="registry.k8s.io/e2e-test-images/agnhost:2.53", args=["pause"],
        resources=client.V1ResourceRequirements(limits=quantities, requests=quantities))])))
created = core.read_namespaced_pod(name, ns)
created.metadata.labels["updated"] = "yes"
updated = core.replace_namespaced_pod(name, ns, created)
status = core.read_namespaced_pod_status(name, ns)
status.status.qos_class = None
status.status.phase = "Pending"
after_status = core.replace_namespaced_pod_status(name, ns, status)
print(json.dumps({"created": created.status.qos_class, "updated": updated.status.qos_class,
                  "after_status": after_status.status.qos_class,
                  "read": core.read_namespaced_pod(name, ns).status.qos_class}))
"#);
        assert_eq!(
            result,
            json!({"created": "Guaranteed", "updated": "Guaranteed", "after_status": "Guaranteed", "read": "Guaranteed"})
        );

        let limits = "{limits: {cpu: 200m, memory: 64Mi}}";
        let cases = [
            ("limits-only", limits, None, "Guaranteed"),
            ("requests-only", "{requests: {cpu: 100m}}", None, "Burstable"),
            ("unlimited-init", limits, Some("{}"), "Burstable"),
            ("limited-init", limits, Some(limits), "Guaranteed"),
            ("nothing", "{}", None, "BestEffort"),
        ];
        for (name, resources, init, _) in cases {
            create_manifest(server, "scn", &pod_manifest(name, resources, init))
                .ok()
                .stdout_contains(&format!("pod/{name} created"));
        }
        let out = server
            .kubectl(&[
                "get",
                "pods",
                "-n",
                "scn",
                "--sort-by=.metadata.name",
                "-o",
                "custom-columns=NAME:.metadata.name,QOS:.status.qosClass",
                "--no-headers",
            ])
            .ok();
        let mut got: Vec<(String, String)> = out
            .lines()
            .iter()
            .filter(|l| !l.starts_with("pod-qos-class-"))
            .map(|l| {
                let mut fields = l.split_whitespace().map(str::to_owned);
                (fields.next().unwrap(), fields.next().unwrap_or_default())
            })
            .collect();
        got.sort();
        let mut want: Vec<(String, String)> = cases
            .iter()
            .map(|(name, _, _, qos)| ((*name).to_owned(), (*qos).to_owned()))
            .collect();
        want.sort();
        assert_eq!(got, want, "{out}");
    }
}

scenario! {
    /// An object with a finalizer is only marked when deleted; removing its last finalizer
    /// (by patch or update) deletes it. A dry-run removal deletes nothing.
    fn last_finalizer_removal_deletes(server) covers [] {
        create_namespace(server, "fin");
        create_manifest(server, "fin", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: held, finalizers: [example.com/hold, example.com/second]}\n");
        server.kubectl(&["delete", "configmap", "held", "-n", "fin", "--wait=false"]).ok();
        let marked = server.kubectl(&["get", "configmap", "held", "-n", "fin", "-o", "json"]).ok().json();
        assert!(marked["metadata"]["deletionTimestamp"].is_string(), "{marked:#}");
        server
            .kubectl(&["patch", "configmap", "held", "-n", "fin", "--type=json", "-p", r#"[{"op": "remove", "path": "/metadata/finalizers/1"}]"#])
            .ok();
        assert_eq!(
            server.kubectl(&["get", "configmap", "held", "-n", "fin", "-o", "json"]).ok().json()["metadata"]["finalizers"],
            json!(["example.com/hold"])
        );
        server
            .kubectl(&["patch", "configmap", "held", "-n", "fin", "--dry-run=server", "--type=merge", "-p", r#"{"metadata": {"finalizers": null}}"#])
            .ok();
        server.kubectl(&["get", "configmap", "held", "-n", "fin"]).ok();
        server
            .kubectl(&["patch", "configmap", "held", "-n", "fin", "--type=merge", "-p", r#"{"metadata": {"finalizers": null}}"#])
            .ok();
        let gone = server.kubectl(&["get", "configmap", "held", "-n", "fin"]).fails();
        assert!(gone.stderr.contains(r#"configmaps "held" not found"#), "{gone}");
    }
}
