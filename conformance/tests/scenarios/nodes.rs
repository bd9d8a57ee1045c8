//! The node lifecycle controller through kubectl, over Node objects the scenario creates and
//! reports for: a node that stops reporting becomes Unknown and tainted unreachable, its pods that
//! do not tolerate that are evicted while tolerating ones stay, and cordoning taints a node
//! unschedulable.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tugboat_conformance::Server;

use crate::support::{create_manifest, create_namespace};

const DEADLINE: Duration = Duration::from_secs(60);

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
        std::thread::sleep(Duration::from_millis(250));
    }
}

fn node(server: &Server, name: &str) -> Value {
    server
        .kubectl(&["get", "node", name, "-o", "json"])
        .ok()
        .json()
}

fn taints(node: &Value) -> Vec<String> {
    let mut out: Vec<String> = node["spec"]["taints"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| {
            format!(
                "{}:{}",
                t["key"].as_str().unwrap_or_default(),
                t["effect"].as_str().unwrap_or_default()
            )
        })
        .collect();
    out.sort();
    out
}

fn report_ready(server: &Server, name: &str) {
    let status = json!({"status": {"conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
        "lastHeartbeatTime": "2026-01-01T00:00:00Z", "lastTransitionTime": "2026-01-01T00:00:00Z"}]}});
    server
        .kubectl(&[
            "patch",
            "node",
            name,
            "--subresource=status",
            "--type=merge",
            "-p",
            &status.to_string(),
        ])
        .ok();
}

scenario! {
    /// A silent node turns Unknown with the unreachable taints; an untolerating pod on it is
    /// evicted, a tolerating one stays; cordon and uncordon add and remove the unschedulable taint.
    fn silent_nodes_and_cordon(server) covers []
    server_args ["--disable-controller", "serviceaccount", "--kube-controller-manager-arg", "node-monitor-grace-period=3s"]
    {
        create_manifest(server, "default", "apiVersion: v1\nkind: Node\nmetadata: {name: quiet}\n---\napiVersion: v1\nkind: Node\nmetadata: {name: busy}\n");
        report_ready(server, "quiet");
        create_namespace(server, "nodes");
        create_manifest(server, "nodes", r#"
apiVersion: v1
kind: Pod
metadata: {name: plain}
spec: {nodeName: quiet, containers: [{name: c, image: busybox}]}
---
apiVersion: v1
kind: Pod
metadata: {name: patient}
spec:
  nodeName: quiet
  tolerations: [{key: node.kubernetes.io/unreachable, operator: Exists, effect: NoExecute, tolerationSeconds: 3600}]
  containers: [{name: c, image: busybox}]
"#);
        let unknown = eventually("the node Unknown and tainted", || {
            let n = node(server, "quiet");
            let ready = n["status"]["conditions"].as_array().and_then(|c| c.iter().find(|c| c["type"] == "Ready").cloned());
            let t = taints(&n);
            match ready {
                Some(r) if r["status"] == "Unknown" && t == ["node.kubernetes.io/unreachable:NoExecute", "node.kubernetes.io/unreachable:NoSchedule"] => Ok(r),
                _ => Err(format!("{:?} {t:?}", n["status"]["conditions"])),
            }
        });
        assert_eq!(unknown["reason"], "NodeStatusUnknown");
        assert_eq!(unknown["message"], "Kubelet stopped posting node status.");
        // Evicted: deleted, and (no kubelet will confirm on a silent node) left terminating.
        eventually("the untolerating pod evicted", || {
            let out = server.kubectl(&["get", "pod", "plain", "-n", "nodes", "-o", "json"]);
            if !out.success() || out.json()["metadata"]["deletionTimestamp"].is_string() { Ok(()) } else { Err(out.stdout.clone()) }
        });
        let patient = server.kubectl(&["get", "pod", "patient", "-n", "nodes", "-o", "json"]).ok().json();
        assert!(patient["metadata"].get("deletionTimestamp").is_none(), "{patient:#}");

        server.kubectl(&["cordon", "busy"]).ok();
        eventually("the unschedulable taint", || {
            let t = taints(&node(server, "busy"));
            if t == ["node.kubernetes.io/unschedulable:NoSchedule"] { Ok(()) } else { Err(format!("{t:?}")) }
        });
        server.kubectl(&["uncordon", "busy"]).ok();
        eventually("the taint gone", || {
            let t = taints(&node(server, "busy"));
            if t.is_empty() { Ok(()) } else { Err(format!("{t:?}")) }
        });
    }
}
