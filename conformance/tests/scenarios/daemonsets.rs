//! The daemonset controller through kubectl, over Node objects created by the scenario: one pod
//! per eligible node (nodeSelector, taints), pinned by node affinity and bound to the node, pods
//! follow node label changes, and an image change rolls every pod onto the new revision.

use std::time::{Duration, Instant};

use serde_json::Value;
use tugboat_conformance::Server;

use crate::support::{create_manifest, create_namespace};

const DEADLINE: Duration = Duration::from_secs(45);

fn eventually<T>(what: &str, mut check: impl FnMut() -> Result<T, String>) -> T {
    let start = Instant::now();
    loop {
        match check() {
            Ok(value) => return value,
            Err(last) => assert!(
                start.elapsed() < DEADLINE,
                "timed out waiting for {what}; last: {last}"
            ),
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// (node, image) of the set's live pods, sorted.
fn placement(server: &Server, app: &str) -> Vec<(String, String)> {
    let list = server
        .kubectl(&[
            "get",
            "pods",
            "-n",
            "ds",
            "-l",
            &format!("app={app}"),
            "-o",
            "json",
        ])
        .ok()
        .json();
    let mut out: Vec<(String, String)> = list["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|p: &Value| p["metadata"].get("deletionTimestamp").is_none())
        .map(|p| {
            (
                p["spec"]["nodeName"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                p["spec"]["containers"][0]["image"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect();
    out.sort();
    out
}

fn wait_placement(server: &Server, app: &str, expected: &[(&str, &str)]) {
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(n, i)| ((*n).to_owned(), (*i).to_owned()))
        .collect();
    eventually(&format!("{app} on {expected:?}"), || {
        let now = placement(server, app);
        if now == expected {
            Ok(())
        } else {
            Err(format!("{now:?}"))
        }
    });
}

scenario! {
    /// Pods on every untainted node (and on a tainted one once tolerated), only on nodes matching
    /// a nodeSelector as their labels change, and rolled onto a new image.
    fn one_pod_per_eligible_node(server) covers []
    server_args ["--disable-controller", "serviceaccount"]
    {
        create_manifest(server, "default", r#"
apiVersion: v1
kind: Node
metadata: {name: n1, labels: {disk: ssd}}
---
apiVersion: v1
kind: Node
metadata: {name: n2}
---
apiVersion: v1
kind: Node
metadata: {name: n3}
spec: {taints: [{key: dedicated, value: db, effect: NoSchedule}]}
"#);
        create_namespace(server, "ds");
        create_manifest(server, "ds", r#"
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec: {containers: [{name: c, image: "busybox:1"}]}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: ssd}
spec:
  selector: {matchLabels: {app: ssd}}
  template:
    metadata: {labels: {app: ssd}}
    spec: {nodeSelector: {disk: ssd}, containers: [{name: c, image: busybox}]}
"#);
        wait_placement(server, "agent", &[("n1", "busybox:1"), ("n2", "busybox:1")]);
        wait_placement(server, "ssd", &[("n1", "busybox")]);
        let set = eventually("the status", || {
            let set = server.kubectl(&["get", "ds", "agent", "-n", "ds", "-o", "json"]).ok().json();
            if set["status"]["desiredNumberScheduled"] == 2 && set["status"]["currentNumberScheduled"] == 2 {
                Ok(set)
            } else {
                Err(set["status"].to_string())
            }
        });
        assert_eq!(set["status"]["observedGeneration"], set["metadata"]["generation"]);
        let pod = server.kubectl(&["get", "pods", "-n", "ds", "-l", "app=ssd", "-o", "json"]).ok().json();
        assert_eq!(
            pod["items"][0]["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"][0]["matchFields"][0]["values"][0],
            "n1"
        );

        server.kubectl(&["label", "node", "n2", "disk=ssd"]).ok();
        server.kubectl(&["label", "node", "n1", "disk-"]).ok();
        wait_placement(server, "ssd", &[("n2", "busybox")]);

        server
            .kubectl(&["patch", "ds", "agent", "-n", "ds", "--type=json", "-p",
                r#"[{"op": "add", "path": "/spec/template/spec/tolerations", "value": [{"key": "dedicated", "operator": "Exists"}]}]"#])
            .ok();
        wait_placement(server, "agent", &[("n1", "busybox:1"), ("n2", "busybox:1"), ("n3", "busybox:1")]);
        server.kubectl(&["set", "image", "ds/agent", "-n", "ds", "c=busybox:2"]).ok();
        wait_placement(server, "agent", &[("n1", "busybox:2"), ("n2", "busybox:2"), ("n3", "busybox:2")]);
        let revisions = server.kubectl(&["get", "controllerrevisions", "-n", "ds", "-l", "app=agent", "-o", "name"]).ok();
        assert_eq!(revisions.lines().len(), 3, "{revisions}");
    }
}
