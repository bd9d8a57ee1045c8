//! Watches: kubectl `get -w` in the background, and the Python client's `watch.Watch().stream`.
//!
//! Races are avoided, not slept over: a kubectl watch is known to be established when its `-v=6` log
//! shows the `watch=true` response; Python watches start from a listed resourceVersion, so writes
//! made before the watch connects are still delivered.

use std::time::Duration;

use serde_json::{Value, json};
use tugboat_conformance::{Server, upstream::*};

use crate::support::{create_namespace, replace_manifest};

const WATCH_TIMEOUT: Duration = Duration::from_secs(20);

/// Wait until a background kubectl run with `-v=6` has its watch response.
fn wait_watching(bg: &mut tugboat_conformance::Background) {
    bg.wait_until("the watch to be established", WATCH_TIMEOUT, |_, err| {
        err.lines()
            .any(|l| l.contains("watch=true") && l.contains("200 OK"))
    });
}

scenario! {
    /// `get -w` prints the list then later changes; `--watch-only` prints only the later changes;
    /// `--output-watch-events -o json` shows ADDED, MODIFIED and DELETED with the objects.
    fn kubectl_watch(server) covers [] {
        create_namespace(server, "scn");
        server.kubectl(&["create", "cm", "early", "-n", "scn"]).ok();

        let mut table = server.kubectl_background(&["get", "cm", "-n", "scn", "-w", "-v=6"]);
        let mut only = server.kubectl_background(&["get", "cm", "-n", "scn", "--watch-only", "-o", "name", "-v=6"]);
        let mut events = server.kubectl_background(&[
            "get", "cm", "-n", "scn", "--watch-only", "--output-watch-events", "-o", "json", "-v=6",
        ]);
        for bg in [&mut table, &mut only, &mut events] {
            wait_watching(bg);
        }

        server.kubectl(&["create", "cm", "late", "-n", "scn", "--from-literal=v=1"]).ok();
        let mut late = server.kubectl(&["get", "cm", "late", "-n", "scn", "-o", "json"]).ok().json();
        late["data"]["v"] = json!("2");
        replace_manifest(server, &late.to_string()).ok();
        server.kubectl(&["delete", "cm", "late", "-n", "scn"]).ok();

        events.wait_until("DELETED", WATCH_TIMEOUT, |out, _| out.contains("\"DELETED\""));
        only.wait_until("three events", WATCH_TIMEOUT, |out, _| out.lines().count() >= 3);
        table.wait_until("late", WATCH_TIMEOUT, |out, _| out.lines().filter(|l| l.starts_with("late ")).count() >= 3);

        let table = table.stop();
        let rows: Vec<&str> = table.lines().iter().map(|l| l.split_whitespace().next().unwrap_or("")).collect();
        assert_eq!(rows[..2], ["NAME", "early"], "{table}");
        assert_eq!(rows[2..], ["late", "late", "late"], "{table}");

        let only = only.stop();
        assert_eq!(only.lines(), ["configmap/late", "configmap/late", "configmap/late"], "{only}");

        let events = events.stop();
        let stream = serde_json::Deserializer::from_str(&events.stdout).into_iter::<Value>();
        let seen: Vec<(String, String, Value)> = stream
            .map(|e| e.expect("a JSON watch event"))
            .map(|e| {
                (
                    e["type"].as_str().unwrap_or_default().to_owned(),
                    e["object"]["metadata"]["name"].as_str().unwrap_or_default().to_owned(),
                    e["object"]["data"]["v"].clone(),
                )
            })
            .collect();
        assert_eq!(
            seen,
            [
                ("ADDED".to_owned(), "late".to_owned(), json!("1")),
                ("MODIFIED".to_owned(), "late".to_owned(), json!("2")),
                ("DELETED".to_owned(), "late".to_owned(), json!("2")),
            ],
            "{events}"
        );
    }
}

/// Python helpers for the watch scenarios: `cm(name, labels, data)` creates a ConfigMap, `update`
/// replaces labels/data, `watch_events(rv, selector, count)` collects `count` events
/// (type, name, data) on a thread started at once; `.result()` joins it.
const PY_WATCH: &str = r#"
v1, ns = client.CoreV1Api(), "scn"
def cm(name, labels=None, data=None):
    return v1.create_namespaced_config_map(ns, client.V1ConfigMap(
        metadata=client.V1ObjectMeta(name=name, labels=labels), data=data))
def update(name, labels=None, data=None):
    o = v1.read_namespaced_config_map(name, ns)
    if labels is not None: o.metadata.labels = labels
    if data is not None: o.data = data
    return v1.replace_namespaced_config_map(name, ns, o)
class Watcher:
    def __init__(self, rv, selector=None, count=1):
        self.events, self.rv, self.selector, self.count = [], rv, selector, count
        self.thread = threading.Thread(target=self.run); self.thread.start()
    def run(self):
        w = watch.Watch()
        kw = {"resource_version": self.rv, "timeout_seconds": 15}
        if self.selector: kw["label_selector"] = self.selector
        for ev in w.stream(v1.list_namespaced_config_map, ns, **kw):
            o = ev["object"]
            self.events.append([ev["type"], o.metadata.name, o.data, o.metadata.resource_version])
            if len(self.events) >= self.count:
                w.stop()
    def result(self):
        self.thread.join(20)
        return [e[:3] for e in self.events]
def list_rv():
    return v1.list_namespaced_config_map(ns).metadata.resource_version
"#;

fn watch_script(server: &Server, body: &str) -> Value {
    create_namespace(server, "scn");
    server.python_json(&format!("{PY_WATCH}\n{body}"))
}

scenario! {
    /// `watch.Watch().stream(...)` sees a ConfigMap ADDED, MODIFIED and DELETED, with its data.
    fn python_watch_stream(server) covers [] {
        let result = watch_script(server, r#"
w = Watcher(list_rv(), count=3)
cm("py", data={"k": "v1"})
update("py", data={"k": "v2"})
v1.delete_namespaced_config_map("py", ns)
print(json.dumps(w.result()))
"#);
        assert_eq!(
            result,
            json!([["ADDED", "py", {"k": "v1"}], ["MODIFIED", "py", {"k": "v2"}], ["DELETED", "py", {"k": "v2"}]])
        );
    }
}

scenario! {
    /// Three watchers (label A, label B, A or B) each see exactly the add, update and delete
    /// notifications of the ConfigMaps their selector matches.
    fn label_selected_watchers(server) covers [WATCH_ADD_UPDATE_DELETE] {
        let result = watch_script(server, r#"
rv = list_rv()
a = Watcher(rv, "watch-this=A", 4)
b = Watcher(rv, "watch-this=B", 2)
ab = Watcher(rv, "watch-this in (A,B)", 6)
cm("cm-a", {"watch-this": "A"}, {"n": "0"})
update("cm-a", data={"n": "1"})
update("cm-a", data={"n": "2"})
v1.delete_namespaced_config_map("cm-a", ns)
cm("cm-b", {"watch-this": "B"})
v1.delete_namespaced_config_map("cm-b", ns)
cm("cm-c", {"watch-this": "C"})
print(json.dumps({"a": a.result(), "b": b.result(), "ab": ab.result()}))
"#);
        let a = json!([
            ["ADDED", "cm-a", {"n": "0"}],
            ["MODIFIED", "cm-a", {"n": "1"}],
            ["MODIFIED", "cm-a", {"n": "2"}],
            ["DELETED", "cm-a", {"n": "2"}],
        ]);
        let b = json!([["ADDED", "cm-b", null], ["DELETED", "cm-b", null]]);
        assert_eq!(result["a"], a, "{result:#}");
        assert_eq!(result["b"], b, "{result:#}");
        let mut ab = a.as_array().unwrap().clone();
        ab.extend(b.as_array().unwrap().iter().cloned());
        assert_eq!(result["ab"], Value::Array(ab), "{result:#}");
    }
}

scenario! {
    /// A watch from the resourceVersion of the first update sees only the later updates and the
    /// delete.
    fn from_resource_version(server) covers [WATCH_FROM_RESOURCE_VERSION] {
        let result = watch_script(server, r#"
cm("rv", data={"mutation": "0"})
first = update("rv", data={"mutation": "1"}).metadata.resource_version
update("rv", data={"mutation": "2"})
v1.delete_namespaced_config_map("rv", ns)
w = Watcher(first, count=2)
print(json.dumps(w.result()))
"#);
        assert_eq!(
            result,
            json!([["MODIFIED", "rv", {"mutation": "2"}], ["DELETED", "rv", {"mutation": "2"}]])
        );
    }
}

scenario! {
    /// A watch closed after two events and reopened from the last resourceVersion it saw continues
    /// with the changes made in between.
    fn restart_from_last_seen(server) covers [WATCH_RESTART] {
        let result = watch_script(server, r#"
first = Watcher(list_rv(), "watch-this=restart", 2)
cm("again", {"watch-this": "restart"}, {"mutation": "0"})
update("again", data={"mutation": "1"})
first_events = first.result()
last_rv = first.events[-1][3]
update("again", data={"mutation": "2"})
v1.delete_namespaced_config_map("again", ns)
second = Watcher(last_rv, "watch-this=restart", 2)
print(json.dumps({"first": first_events, "second": second.result()}))
"#);
        assert_eq!(
            result["first"],
            json!([["ADDED", "again", {"mutation": "0"}], ["MODIFIED", "again", {"mutation": "1"}]])
        );
        assert_eq!(
            result["second"],
            json!([["MODIFIED", "again", {"mutation": "2"}], ["DELETED", "again", {"mutation": "2"}]])
        );
    }
}

scenario! {
    /// A selector watch sees DELETED when the object's label stops matching, nothing while it does
    /// not match, and ADDED when it matches again.
    fn object_leaving_selector(server) covers [WATCH_SELECTOR_EXIT] {
        let result = watch_script(server, r#"
w = Watcher(list_rv(), "watch-this=yes", 5)
cm("moving", {"watch-this": "yes"}, {"n": "0"})
update("moving", data={"n": "1"})
update("moving", labels={"watch-this": "no"})
update("moving", data={"n": "2"})
update("moving", labels={"watch-this": "yes"})
v1.delete_namespaced_config_map("moving", ns)
print(json.dumps(w.result()))
"#);
        assert_eq!(
            result,
            json!([
                ["ADDED", "moving", {"n": "0"}],
                ["MODIFIED", "moving", {"n": "1"}],
                ["DELETED", "moving", {"n": "1"}],
                ["ADDED", "moving", {"n": "2"}],
                ["DELETED", "moving", {"n": "2"}],
            ])
        );
    }
}

/// The events of a protobuf watch stream, decoded with the prost messages of k8s-pb (generated from
/// upstream's `.proto` files, independent of tugboat's transcoder): (type, name, resourceVersion).
fn decode_protobuf_watch(mut body: &[u8]) -> Vec<(String, String, String)> {
    use k8s_pb::apimachinery::pkg::runtime::Unknown;
    use k8s_pb::{api::core::v1::ConfigMap, apimachinery::pkg::apis::meta::v1::WatchEvent};
    use prost::Message;
    let mut events = Vec::new();
    while !body.is_empty() {
        let (len, rest) = body
            .split_first_chunk::<4>()
            .expect("a 4-byte frame length");
        let len = u32::from_be_bytes(*len) as usize;
        let (frame, rest) = rest.split_at(len);
        body = rest;
        let event = WatchEvent::decode(frame).expect("a WatchEvent frame");
        let raw = event
            .object
            .and_then(|o| o.raw)
            .expect("the event's object");
        let unknown = Unknown::decode(raw.strip_prefix(b"k8s\0").expect("the k8s\\0 envelope"))
            .expect("a runtime.Unknown");
        let type_meta = unknown.type_meta.expect("typeMeta");
        let event_type = event.r#type.unwrap_or_default();
        if event_type == "BOOKMARK" || event_type == "ERROR" {
            events.push((event_type, String::new(), String::new()));
            continue;
        }
        assert_eq!(
            (type_meta.api_version(), type_meta.kind()),
            ("v1", "ConfigMap")
        );
        let cm =
            ConfigMap::decode(unknown.raw.as_deref().unwrap_or_default()).expect("a ConfigMap");
        let meta = cm.metadata.expect("metadata");
        events.push((
            event_type,
            meta.name().to_owned(),
            meta.resource_version().to_owned(),
        ));
    }
    events
}

scenario! {
    /// A watch asked for in protobuf (`Accept: application/vnd.kubernetes.protobuf;stream=watch`, as
    /// client-go's typed clients send) streams length-prefixed `WatchEvent` frames that upstream's
    /// own message definitions decode: the changes after the requested resourceVersion, in order.
    fn protobuf_watch_stream(server) covers [] {
        create_namespace(server, "pbw");
        let first = server.kubectl(&["create", "cm", "a", "-n", "pbw", "-o", "jsonpath={.metadata.resourceVersion}"]).ok();
        replace_manifest(server, "{apiVersion: v1, kind: ConfigMap, metadata: {name: a, namespace: pbw}, data: {k: v}}");
        server.kubectl(&["create", "cm", "b", "-n", "pbw"]).ok();
        server.kubectl(&["delete", "cm", "a", "-n", "pbw"]).ok();

        let socket = server.scratch_dir().join("pbw.sock");
        let arg = format!("--unix-socket={}", socket.display());
        let mut proxy = server.kubectl_background(&["proxy", arg.as_str()]);
        proxy.wait_until("the proxy to listen", WATCH_TIMEOUT, |out, _| out.contains("Starting to serve on"));
        let mut stream = std::os::unix::net::UnixStream::connect(&socket).expect("connecting to the proxy");
        use std::io::{Read, Write};
        write!(
            stream,
            "GET /api/v1/namespaces/pbw/configmaps?watch=1&resourceVersion={}&timeoutSeconds=2 HTTP/1.0\r\n\
             Host: localhost\r\nAccept: application/vnd.kubernetes.protobuf;stream=watch\r\n\r\n",
            first.stdout.trim()
        )
        .unwrap();
        let mut response = Vec::new();
        stream.read_to_end(&mut response).unwrap();
        proxy.stop();
        let split = response.windows(4).position(|w| w == b"\r\n\r\n").expect("response head");
        let head = String::from_utf8_lossy(&response[..split]).to_lowercase();
        assert!(head.starts_with("http/1.0 200") || head.starts_with("http/1.1 200"), "{head}");
        assert!(head.contains("content-type: application/vnd.kubernetes.protobuf;stream=watch"), "{head}");
        let events = decode_protobuf_watch(&response[split + 4..]);
        let summary: Vec<(&str, &str)> = events.iter().map(|(t, n, _)| (t.as_str(), n.as_str())).collect();
        assert_eq!(summary, [("MODIFIED", "a"), ("ADDED", "b"), ("DELETED", "a")], "{events:?}");
        let revisions: Vec<u64> = events.iter().map(|(_, _, rv)| rv.parse().unwrap()).collect();
        assert!(revisions.windows(2).all(|w| w[0] < w[1]), "{events:?}");
        assert!(revisions[0] > first.stdout.trim().parse::<u64>().unwrap());
    }
}
