//! The pod garbage collector (upstream `pkg/controller/podgc`), every 20 seconds:
//!
//! - terminated pods (Succeeded or Failed) beyond `--terminated-pod-gc-threshold` (12,500) are
//!   deleted, oldest first;
//! - pods bound to a node that does not exist (for 40 seconds, upstream's quarantine) are marked
//!   failed with the `DisruptionTarget` condition (`DeletionByPodGC`) and force-deleted;
//! - pods being deleted that were never scheduled, and pods being deleted on a node tainted
//!   `node.kubernetes.io/out-of-service`, are force-deleted.
//!
//! It reads pods from the shared pod informer and lists nodes once per pass.

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::Arc,
    time::{Duration, Instant},
};

use k8s_openapi::{
    api::core::v1::{Node, Pod},
    jiff::Timestamp,
};
use kube::{
    Api, Client, ResourceExt as _,
    api::{DeleteParams, ListParams, Patch, PatchParams, Preconditions},
};
use tokio::sync::watch;

use crate::informer::SharedInformer;

const NAME: &str = "pod-garbage-collector-controller";
/// How often a pass runs (upstream's `gcCheckPeriod`).
const PERIOD: Duration = Duration::from_secs(20);
/// How long a node must be missing before its pods are collected.
const QUARANTINE: Duration = Duration::from_secs(40);
/// Upstream's default `--terminated-pod-gc-threshold`.
pub const TERMINATED_THRESHOLD: usize = 12_500;
const OUT_OF_SERVICE_TAINT: &str = "node.kubernetes.io/out-of-service";

/// Run the collector until `shutdown` turns true.
pub async fn run(
    client: Client,
    pods: SharedInformer<Pod>,
    threshold: usize,
    mut shutdown: watch::Receiver<bool>,
) {
    tracing::info!(controller = NAME, "starting controller");
    let store = pods.store();
    let mut missing_since: BTreeMap<String, Instant> = BTreeMap::new();
    loop {
        tokio::select! {
            () = tokio::time::sleep(PERIOD) => {}
            () = crate::stopped(&mut shutdown) => break,
        }
        if crate::store_ready(&store) != Some(true) {
            continue;
        }
        let all = store.state();
        let nodes = match Api::<Node>::all(client.clone())
            .list(&ListParams::default())
            .await
        {
            Ok(nodes) => nodes.items,
            Err(error) => {
                tracing::warn!(controller = NAME, %error, "listing nodes failed; skipping a pass");
                continue;
            }
        };
        let existing: BTreeSet<String> = nodes.iter().map(|n| n.name_any()).collect();
        let out_of_service: BTreeSet<String> = nodes
            .iter()
            .filter(|n| {
                n.spec
                    .as_ref()
                    .and_then(|s| s.taints.as_ref())
                    .is_some_and(|t| t.iter().any(|t| t.key == OUT_OF_SERVICE_TAINT))
            })
            .map(|n| n.name_any())
            .collect();
        let now = Instant::now();
        missing_since.retain(|node, _| !existing.contains(node));
        for plan in plan_pass(&all, &existing, &out_of_service, threshold) {
            match plan {
                Collect::Terminated(pod) => delete(&client, &pod, false).await,
                Collect::Unscheduled(pod) | Collect::OutOfService(pod) => {
                    delete(&client, &pod, true).await
                }
                Collect::Orphaned(pod, node) => {
                    let first = *missing_since.entry(node).or_insert(now);
                    if now.duration_since(first) >= QUARANTINE {
                        mark_failed(&client, &pod).await;
                        delete(&client, &pod, true).await;
                    }
                }
            }
        }
    }
    tracing::info!(controller = NAME, "shutting down controller");
}

/// What a pass collects, and why.
#[derive(Debug, Clone)]
pub enum Collect {
    /// Over the terminated-pod threshold.
    Terminated(Arc<Pod>),
    /// Bound to this node, which does not exist.
    Orphaned(Arc<Pod>, String),
    /// Being deleted, never scheduled.
    Unscheduled(Arc<Pod>),
    /// Being deleted on an out-of-service node.
    OutOfService(Arc<Pod>),
}

/// The pods a pass collects.
pub fn plan_pass(
    pods: &[Arc<Pod>],
    nodes: &BTreeSet<String>,
    out_of_service: &BTreeSet<String>,
    threshold: usize,
) -> Vec<Collect> {
    let mut out = Vec::new();
    let mut terminated: Vec<&Arc<Pod>> = pods
        .iter()
        .filter(|p| {
            matches!(
                p.status.as_ref().and_then(|s| s.phase.as_deref()),
                Some("Succeeded" | "Failed")
            )
        })
        .collect();
    if terminated.len() > threshold {
        terminated.sort_by_key(|p| p.metadata.creation_timestamp.as_ref().map(|t| t.0));
        let excess = terminated.len() - threshold;
        out.extend(
            terminated
                .into_iter()
                .take(excess)
                .cloned()
                .map(Collect::Terminated),
        );
    }
    for pod in pods {
        let node = pod
            .spec
            .as_ref()
            .and_then(|s| s.node_name.clone())
            .filter(|n| !n.is_empty());
        let deleting = pod.metadata.deletion_timestamp.is_some();
        match node {
            None if deleting => out.push(Collect::Unscheduled(pod.clone())),
            None => {}
            Some(node) if !nodes.contains(&node) => out.push(Collect::Orphaned(pod.clone(), node)),
            Some(node) if deleting && out_of_service.contains(&node) => {
                out.push(Collect::OutOfService(pod.clone()));
            }
            Some(_) => {}
        }
    }
    out
}

async fn mark_failed(client: &Client, pod: &Pod) {
    let api: Api<Pod> = Api::namespaced(client.clone(), &pod.namespace().unwrap_or_default());
    let now = Timestamp::now().to_string();
    let mut conditions: Vec<serde_json::Value> = pod
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .map(|c| {
            c.iter()
                .filter(|c| c.type_ != "DisruptionTarget")
                .filter_map(|c| serde_json::to_value(c).ok())
                .collect()
        })
        .unwrap_or_default();
    conditions.push(serde_json::json!({
        "type": "DisruptionTarget", "status": "True", "reason": "DeletionByPodGC",
        "message": "PodGC: node no longer exists", "lastTransitionTime": now,
    }));
    let patch = serde_json::json!({"status": {"phase": "Failed", "conditions": conditions}});
    if let Err(error) = api
        .patch_status(
            &pod.name_any(),
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await
        && crate::api_code(&error) != Some(404)
    {
        tracing::warn!(controller = NAME, pod = %pod.name_any(), %error, "marking an orphaned pod failed");
    }
}

async fn delete(client: &Client, pod: &Pod, force: bool) {
    let api: Api<Pod> = Api::namespaced(client.clone(), &pod.namespace().unwrap_or_default());
    let params = DeleteParams {
        grace_period_seconds: force.then_some(0),
        preconditions: pod.metadata.uid.clone().map(|uid| Preconditions {
            uid: Some(uid),
            resource_version: None,
        }),
        ..DeleteParams::default()
    };
    match api.delete(&pod.name_any(), &params).await {
        Ok(_) => {
            tracing::info!(controller = NAME, pod = %format!("{}/{}", pod.namespace().unwrap_or_default(), pod.name_any()), force, "collected pod")
        }
        Err(error) if matches!(crate::api_code(&error), Some(404 | 409)) => {}
        Err(error) => {
            tracing::warn!(controller = NAME, pod = %pod.name_any(), %error, "deleting a pod failed")
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;

    fn pod(name: &str, value: serde_json::Value) -> Arc<Pod> {
        let mut base = json!({"metadata": {"name": name, "namespace": "ns", "creationTimestamp": format!("2026-01-01T00:00:0{}Z", name.len())}});
        if let (Some(b), Some(v)) = (base.as_object_mut(), value.as_object()) {
            for (k, val) in v {
                if k == "metadata" {
                    for (mk, mv) in val.as_object().unwrap() {
                        b["metadata"]
                            .as_object_mut()
                            .unwrap()
                            .insert(mk.clone(), mv.clone());
                    }
                } else {
                    b.insert(k.clone(), val.clone());
                }
            }
        }
        Arc::new(serde_json::from_value(base).unwrap())
    }

    #[test]
    fn a_pass_collects_what_upstream_does() {
        let pods = vec![
            pod("a", json!({"status": {"phase": "Succeeded"}})),
            pod("bb", json!({"status": {"phase": "Failed"}})),
            pod(
                "ccc",
                json!({"spec": {"containers": [], "nodeName": "gone"}}),
            ),
            pod(
                "dddd",
                json!({"metadata": {"deletionTimestamp": "2026-01-01T00:00:00Z"}, "spec": {"containers": []}}),
            ),
            pod(
                "eeeee",
                json!({"metadata": {"deletionTimestamp": "2026-01-01T00:00:00Z"}, "spec": {"containers": [], "nodeName": "oos"}}),
            ),
            pod(
                "ffffff",
                json!({"spec": {"containers": [], "nodeName": "here"}}),
            ),
        ];
        let nodes: BTreeSet<String> = ["here".to_owned(), "oos".to_owned()].into();
        let oos: BTreeSet<String> = ["oos".to_owned()].into();
        let plan: Vec<String> = plan_pass(&pods, &nodes, &oos, 1)
            .into_iter()
            .map(|c| match c {
                Collect::Terminated(p) => format!("terminated {}", p.name_any()),
                Collect::Orphaned(p, n) => format!("orphaned {} on {n}", p.name_any()),
                Collect::Unscheduled(p) => format!("unscheduled {}", p.name_any()),
                Collect::OutOfService(p) => format!("out-of-service {}", p.name_any()),
            })
            .collect();
        assert_eq!(
            plan,
            [
                "terminated a",
                "orphaned ccc on gone",
                "unscheduled dddd",
                "out-of-service eeeee"
            ]
        );
    }
}
