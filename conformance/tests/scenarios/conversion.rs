//! Resources served in another version than their storage version: events.k8s.io/v1 Events
//! (stored as core/v1 Events) and autoscaling/v1 HorizontalPodAutoscalers (stored as
//! autoscaling/v2). Whatever version an object is written in, every served version reads it,
//! lists it, selects it by its own field names and watches it.

use std::time::Duration;

use serde_json::{Value, json};
use tugboat_conformance::Server;

use crate::support::{create_manifest, create_namespace, replace_manifest, table};

const WATCH_TIMEOUT: Duration = Duration::from_secs(20);

/// A core/v1 Event about pod `p` in `scn`, the way client-go's recorder writes one.
fn core_event(name: &str) -> String {
    json!({
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": name, "namespace": "scn", "labels": {"via": "core"}},
        "involvedObject": {"apiVersion": "v1", "kind": "Pod", "name": "p", "namespace": "scn"},
        "reason": "Started", "message": "Started container app", "type": "Normal",
        "source": {"component": "kubelet", "host": "node-1"},
        "firstTimestamp": "2025-01-01T00:00:00Z", "lastTimestamp": "2025-01-01T00:01:00Z",
        "count": 2,
    })
    .to_string()
}

scenario! {
    /// A core/v1 Event created with kubectl reads as events.k8s.io/v1 (upstream's field renames,
    /// `eventTime: null` for an old-style event), lists as an events.k8s.io/v1 `EventList`,
    /// selects by `regarding.*` (and rejects the core names there), and prints the event table.
    fn core_event_read_as_events_v1(server) covers [] {
        create_namespace(server, "scn");
        create_manifest(server, "scn", &core_event("ev1")).ok();
        create_manifest(server, "scn", &core_event("ev2").replace("\"name\":\"p\"", "\"name\":\"q\"")).ok();

        let event = server
            .kubectl(&["get", "events.v1.events.k8s.io", "ev1", "-n", "scn", "-o", "json"])
            .ok()
            .json();
        assert_eq!(event["apiVersion"], "events.k8s.io/v1", "{event:#}");
        assert_eq!(event["kind"], "Event");
        assert_eq!(
            event["regarding"],
            json!({"apiVersion": "v1", "kind": "Pod", "name": "p", "namespace": "scn"})
        );
        assert_eq!(event["note"], "Started container app");
        assert_eq!(event["deprecatedSource"], json!({"component": "kubelet", "host": "node-1"}));
        assert_eq!(event["deprecatedFirstTimestamp"], "2025-01-01T00:00:00Z");
        assert_eq!(event["deprecatedLastTimestamp"], "2025-01-01T00:01:00Z");
        assert_eq!(event["deprecatedCount"], 2);
        assert_eq!(event["eventTime"], Value::Null);
        assert!(event.get("eventTime").is_some(), "{event:#}");
        for core_only in ["involvedObject", "message", "source", "count", "firstTimestamp"] {
            assert!(event.get(core_only).is_none(), "{core_only} in {event:#}");
        }
        let core = server.kubectl(&["get", "events", "ev1", "-n", "scn", "-o", "json"]).ok().json();
        assert_eq!(core["apiVersion"], "v1");
        assert_eq!(core["metadata"]["uid"], event["metadata"]["uid"]);
        assert_eq!(core["metadata"]["resourceVersion"], event["metadata"]["resourceVersion"]);

        let list = server
            .kubectl(&["get", "--raw", "/apis/events.k8s.io/v1/namespaces/scn/events"])
            .ok()
            .json();
        assert_eq!(list["kind"], "EventList");
        assert_eq!(list["apiVersion"], "events.k8s.io/v1");
        let names: Vec<&str> = list["items"].as_array().unwrap().iter()
            .map(|i| i["metadata"]["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["ev1", "ev2"]);
        assert!(list["items"].as_array().unwrap().iter().all(|i| i["apiVersion"] == "events.k8s.io/v1"));

        let selected = server
            .kubectl(&["get", "events.v1.events.k8s.io", "-n", "scn", "--field-selector",
                "regarding.name=q,reportingController=", "-o", "name"])
            .ok();
        assert_eq!(selected.lines(), ["event.events.k8s.io/ev2"], "{selected}");
        server
            .kubectl(&["get", "events.v1.events.k8s.io", "-n", "scn", "--field-selector",
                "involvedObject.name=q"])
            .fails()
            .stderr_contains("field label not supported: involvedObject.name");
        let core_selected = server
            .kubectl(&["get", "events", "-n", "scn", "--field-selector", "involvedObject.name=q", "-o", "name"])
            .ok();
        assert_eq!(core_selected.lines(), ["event/ev2"], "{core_selected}");

        let printed = server.kubectl(&["get", "events.v1.events.k8s.io", "-n", "scn"]).ok();
        let rows = table(&printed);
        assert_eq!(rows[0], ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"], "{printed}");
        // LAST SEEN is one cell (an age), then TYPE, REASON, OBJECT and the message's words.
        assert_eq!(rows[1][1..], ["Normal", "Started", "pod/p", "Started", "container", "app"], "{printed}");
    }
}

scenario! {
    /// The Python client's EventsV1Api creates, reads, lists and deletes events.k8s.io/v1 Events;
    /// CoreV1Api reads the same objects with the core names. events.k8s.io/v1 validates by its
    /// own stricter rules (422 naming the core fields, as upstream), which core/v1 does not apply.
    fn python_events_v1_api(server) covers [] {
        create_namespace(server, "scn");
        let result = server.python_json(r#"
ns, events, core = "scn", client.EventsV1Api(), client.CoreV1Api()
made = events.create_namespaced_event(ns, client.EventsV1Event(
    metadata=client.V1ObjectMeta(name="new"), event_time="2025-01-01T00:00:00.000001Z",
    reporting_controller="example.com/ctl", reporting_instance="ctl-1", action="Scale",
    reason="Scaled", type="Normal", note="scaled to 3",
    regarding=client.V1ObjectReference(kind="Deployment", name="web", namespace=ns)))
got = events.read_namespaced_event("new", ns)
listed = events.list_namespaced_event(ns, field_selector="regarding.kind=Deployment")
as_core = core.read_namespaced_event("new", ns)
status, _, invalid = raw("POST", "/apis/events.k8s.io/v1/namespaces/scn/events", body={
    "metadata": {"name": "bad"}, "reason": "R", "type": "Odd", "deprecatedCount": 2,
    "regarding": {"kind": "Pod", "name": "p", "namespace": ns}})
events.delete_namespaced_event("new", ns)
after = [e.metadata.name for e in events.list_namespaced_event(ns).items]
print(json.dumps({
    "made": {"api_version": made.api_version, "note": made.note, "rv": made.metadata.resource_version},
    "got": {"controller": got.reporting_controller, "regarding": got.regarding.name, "time": str(got.event_time)},
    "listed": {"kind": listed.kind, "api_version": listed.api_version, "names": [e.metadata.name for e in listed.items]},
    "core": {"api_version": as_core.api_version, "message": as_core.message, "component": as_core.reporting_component,
             "involved": as_core.involved_object.name, "rv": as_core.metadata.resource_version},
    "invalid": {"status": status, "body": invalid},
    "after": after,
}))
"#);
        assert_eq!(result["made"]["api_version"], "events.k8s.io/v1", "{result:#}");
        assert_eq!(result["made"]["note"], "scaled to 3");
        assert_eq!(result["got"]["controller"], "example.com/ctl");
        assert_eq!(result["got"]["regarding"], "web");
        assert_eq!(result["got"]["time"], "2025-01-01 00:00:00.000001+00:00");
        assert_eq!(result["listed"], json!({"kind": "EventList", "api_version": "events.k8s.io/v1", "names": ["new"]}));
        assert_eq!(result["core"]["api_version"], "v1");
        assert_eq!(result["core"]["message"], "scaled to 3");
        assert_eq!(result["core"]["component"], "example.com/ctl");
        assert_eq!(result["core"]["involved"], "web");
        assert_eq!(result["core"]["rv"], result["made"]["rv"]);
        assert_eq!(result["after"], json!([]));
        let invalid = &result["invalid"];
        assert_eq!(invalid["status"], 422, "{invalid:#}");
        assert_eq!(invalid["body"]["reason"], "Invalid");
        let causes: Vec<&str> = invalid["body"]["details"]["causes"].as_array().unwrap().iter()
            .map(|c| c["field"].as_str().unwrap()).collect();
        assert!(causes.contains(&"eventTime"), "{invalid:#}");
        assert!(causes.contains(&"type"), "{invalid:#}");
        assert!(causes.contains(&"count"), "{invalid:#}");

        // The same body through core/v1 (with core names) is fine: its rules are the legacy ones.
        let result = server.python_json(r#"
status, _, body = raw("POST", "/api/v1/namespaces/scn/events", body={
    "metadata": {"name": "old"}, "reason": "R", "type": "Odd", "count": 2,
    "involvedObject": {"kind": "Pod", "name": "p", "namespace": "scn"}})
print(json.dumps({"status": status}))
"#);
        assert_eq!(result["status"], 201, "{result:#}");
    }
}

scenario! {
    /// A watch on events.k8s.io/v1 sees a core/v1 Event created afterwards, as an events.k8s.io/v1
    /// object, and its deletion.
    fn events_v1_watch_sees_core_writes(server) covers [] {
        create_namespace(server, "scn");
        let mut watch = server.kubectl_background(&[
            "get", "events.v1.events.k8s.io", "-n", "scn", "--watch-only", "--output-watch-events",
            "-o", "json", "-v=6",
        ]);
        watch.wait_until("the watch to be established", WATCH_TIMEOUT, |_, err| {
            err.lines().any(|l| l.contains("watch=true") && l.contains("200 OK"))
        });
        create_manifest(server, "scn", &core_event("watched")).ok();
        server.kubectl(&["delete", "events", "watched", "-n", "scn"]).ok();
        watch.wait_until("DELETED", WATCH_TIMEOUT, |out, _| out.contains("\"DELETED\""));
        let out = watch.stop();
        let seen: Vec<Value> = serde_json::Deserializer::from_str(&out.stdout)
            .into_iter::<Value>()
            .map(|e| e.expect("a JSON watch event"))
            .collect();
        assert_eq!(seen.len(), 2, "{out}");
        assert_eq!(seen[0]["type"], "ADDED");
        assert_eq!(seen[1]["type"], "DELETED");
        for event in &seen {
            let object = &event["object"];
            assert_eq!(object["apiVersion"], "events.k8s.io/v1", "{out}");
            assert_eq!(object["metadata"]["name"], "watched");
            assert_eq!(object["note"], "Started container app");
            assert_eq!(object["regarding"]["name"], "p");
        }
    }
}

/// An autoscaling/v1 HPA for deployment `web`.
const HPA_V1: &str = "
apiVersion: autoscaling/v1
kind: HorizontalPodAutoscaler
metadata:
  name: web
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: web
  maxReplicas: 3
  targetCPUUtilizationPercentage: 50
";

/// An autoscaling/v2 HPA with metrics and a behavior autoscaling/v1 cannot express.
const HPA_V2: &str = "
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: rich
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: web
  minReplicas: 2
  maxReplicas: 10
  metrics:
  - type: Resource
    resource:
      name: cpu
      target:
        type: Utilization
        averageUtilization: 60
  - type: Resource
    resource:
      name: memory
      target:
        type: AverageValue
        averageValue: 500Mi
  - type: Pods
    pods:
      metric:
        name: requests_per_second
      target:
        type: AverageValue
        averageValue: '100'
  behavior:
    scaleDown:
      stabilizationWindowSeconds: 60
      policies:
      - type: Percent
        value: 10
        periodSeconds: 60
";

fn annotation(object: &Value, key: &str) -> Value {
    let text = object["metadata"]["annotations"][key]
        .as_str()
        .unwrap_or_else(|| panic!("no annotation {key} in {object:#}"));
    serde_json::from_str(text).unwrap_or_else(|e| panic!("annotation {key}: {e}"))
}

fn get_hpa(server: &Server, version: &str, name: &str) -> Value {
    server
        .kubectl(&[
            "get",
            // The full resource name: kubectl expands the short name `hpa` to the group's
            // preferred version, whatever version follows it.
            &format!("horizontalpodautoscalers.{version}.autoscaling"),
            name,
            "-n",
            "scn",
            "-o",
            "json",
        ])
        .ok()
        .json()
}

scenario! {
    /// An HPA created as autoscaling/v1 reads back as autoscaling/v2 with its CPU target as a
    /// Resource metric (and the v2 defaults); one created as autoscaling/v2 with other metrics and
    /// a behavior reads as autoscaling/v1 with them in upstream's annotations, and a v1 client
    /// writing that back (object and status) loses nothing.
    fn hpa_v1_and_v2(server) covers [] {
        create_namespace(server, "scn");
        create_manifest(server, "scn", HPA_V1).ok().stdout_contains("horizontalpodautoscaler.autoscaling/web created");

        let v2 = get_hpa(server, "v2", "web");
        assert_eq!(v2["apiVersion"], "autoscaling/v2", "{v2:#}");
        assert_eq!(v2["spec"]["minReplicas"], 1);
        assert_eq!(v2["spec"]["maxReplicas"], 3);
        assert_eq!(
            v2["spec"]["metrics"],
            json!([{"type": "Resource", "resource": {"name": "cpu",
                "target": {"type": "Utilization", "averageUtilization": 50}}}])
        );
        let v1 = get_hpa(server, "v1", "web");
        assert_eq!(v1["apiVersion"], "autoscaling/v1");
        assert_eq!(v1["spec"]["targetCPUUtilizationPercentage"], 50);
        assert_eq!(v1["status"], json!({"currentReplicas": 0, "desiredReplicas": 0}));
        assert!(v1["metadata"].get("annotations").is_none(), "{v1:#}");

        create_manifest(server, "scn", HPA_V2).ok();
        let mut v1 = get_hpa(server, "v1", "rich");
        assert_eq!(v1["spec"]["targetCPUUtilizationPercentage"], 60, "{v1:#}");
        assert_eq!(
            annotation(&v1, "autoscaling.alpha.kubernetes.io/metrics"),
            json!([
                {"type": "Resource", "resource": {"name": "memory", "targetAverageValue": "500Mi"}},
                {"type": "Pods", "pods": {"metricName": "requests_per_second", "targetAverageValue": "100"}},
            ])
        );
        let behavior = annotation(&v1, "autoscaling.alpha.kubernetes.io/behavior");
        assert_eq!(behavior["ScaleDown"]["StabilizationWindowSeconds"], 60, "{behavior:#}");
        assert_eq!(behavior["ScaleDown"]["Policies"], json!([{"Type": "Percent", "Value": 10, "PeriodSeconds": 60}]));
        assert_eq!(behavior["ScaleUp"]["SelectPolicy"], "Max");

        // A v1 client replaces the object: the annotations bring the v2-only fields back.
        v1["spec"]["maxReplicas"] = json!(12);
        replace_manifest(server, &v1.to_string()).ok();
        let v2 = get_hpa(server, "v2", "rich");
        assert_eq!(v2["spec"]["maxReplicas"], 12, "{v2:#}");
        let metrics: Vec<&str> = v2["spec"]["metrics"].as_array().unwrap().iter()
            .map(|m| m["resource"]["name"].as_str().or(m["pods"]["metric"]["name"].as_str()).unwrap())
            .collect();
        assert_eq!(metrics, ["memory", "requests_per_second", "cpu"], "{v2:#}");
        assert_eq!(v2["spec"]["behavior"]["scaleDown"]["stabilizationWindowSeconds"], 60);
        assert!(v2["metadata"].get("annotations").is_none(), "{v2:#}");

        // The autoscaling/v1 status subresource.
        let result = server.python_json(r#"
api = client.AutoscalingV1Api()
hpa = api.read_namespaced_horizontal_pod_autoscaler_status("rich", "scn")
hpa.status = client.V1HorizontalPodAutoscalerStatus(current_replicas=2, desired_replicas=4,
    current_cpu_utilization_percentage=90)
written = api.replace_namespaced_horizontal_pod_autoscaler_status("rich", "scn", hpa)
print(json.dumps({"status": written.status.to_dict(), "max": written.spec.max_replicas}))
"#);
        assert_eq!(result["status"]["current_cpu_utilization_percentage"], 90, "{result:#}");
        assert_eq!(result["status"]["desired_replicas"], 4);
        assert_eq!(result["max"], 12);
        let v2 = get_hpa(server, "v2", "rich");
        assert_eq!(v2["status"]["desiredReplicas"], 4, "{v2:#}");
        assert_eq!(v2["status"]["currentReplicas"], 2);
        assert_eq!(
            v2["status"]["currentMetrics"],
            json!([{"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 90}}}])
        );
        let v1 = get_hpa(server, "v1", "rich");
        assert_eq!(
            annotation(&v1, "autoscaling.alpha.kubernetes.io/current-metrics"),
            json!([{"type": "Resource", "resource": {"name": "cpu", "currentAverageUtilization": 90,
                "currentAverageValue": "0"}}])
        );

        let printed = server.kubectl(&["get", "horizontalpodautoscalers.v1.autoscaling", "-n", "scn"]).ok();
        let rows = table(&printed);
        assert_eq!(rows[0], ["NAME", "REFERENCE", "TARGETS", "MINPODS", "MAXPODS", "REPLICAS", "AGE"], "{printed}");
    }
}
