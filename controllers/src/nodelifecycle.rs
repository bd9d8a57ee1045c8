//! The node lifecycle controller (upstream `pkg/controller/nodelifecycle` with its taint manager):
//!
//! - a node whose kubelet stopped reporting (neither its Ready condition's heartbeat nor its Lease
//!   in `kube-node-lease` renewed within `--node-monitor-grace-period`, 40 s) gets its conditions
//!   set to `Unknown` ("Kubelet stopped posting node status.") and its pods' Ready condition set to
//!   False;
//! - nodes carry the taints their state implies: `node.kubernetes.io/unreachable` (Ready Unknown)
//!   and `node.kubernetes.io/not-ready` (Ready False), each as `NoSchedule` and `NoExecute`, and
//!   `node.kubernetes.io/unschedulable:NoSchedule` for cordoned nodes;
//! - pods on a node with a `NoExecute` taint they do not tolerate are evicted (deleted) at once, and
//!   those tolerating it for `tolerationSeconds` once that time has passed since the taint was added.
//!
//! It runs as one loop over the node, Lease and pod caches every `--node-monitor-period` (5 s).

use std::{collections::BTreeMap, time::Duration};

use futures::StreamExt as _;
use k8s_openapi::{
    api::{
        coordination::v1::Lease,
        core::v1::{Node, Pod, Taint, Toleration},
    },
    apimachinery::pkg::apis::meta::v1::Time,
    jiff::Timestamp,
};
use kube::{
    Api, Client, ResourceExt as _,
    api::{DeleteParams, Patch, PatchParams, PostParams, Preconditions},
    runtime::{WatchStreamExt as _, reflector, watcher},
};
use tokio::sync::watch;

use crate::informer::SharedInformer;

const NAME: &str = "node-lifecycle-controller";
/// How often nodes are looked at (upstream's `--node-monitor-period`).
const MONITOR_PERIOD: Duration = Duration::from_secs(5);
/// Upstream's default `--node-monitor-grace-period`.
pub const DEFAULT_GRACE_PERIOD: Duration = Duration::from_secs(40);
/// The taint of a node whose kubelet stopped reporting.
pub const UNREACHABLE: &str = "node.kubernetes.io/unreachable";
/// The taint of a node that reports itself not ready.
pub const NOT_READY: &str = "node.kubernetes.io/not-ready";
/// The taint of a cordoned node.
pub const UNSCHEDULABLE: &str = "node.kubernetes.io/unschedulable";

/// The taints a node's state implies, as (key, effect).
pub fn implied_taints(node: &Node) -> Vec<(&'static str, &'static str)> {
    let ready = node
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|c| c.iter().find(|c| c.type_ == "Ready"))
        .map(|c| c.status.as_str());
    let mut out = Vec::new();
    match ready {
        Some("Unknown") => {
            out.push((UNREACHABLE, "NoSchedule"));
            out.push((UNREACHABLE, "NoExecute"));
        }
        Some("False") => {
            out.push((NOT_READY, "NoSchedule"));
            out.push((NOT_READY, "NoExecute"));
        }
        _ => {}
    }
    if node.spec.as_ref().and_then(|s| s.unschedulable) == Some(true) {
        out.push((UNSCHEDULABLE, "NoSchedule"));
    }
    out
}

fn tolerates(toleration: &Toleration, taint: &Taint) -> bool {
    let effect_ok = toleration
        .effect
        .as_deref()
        .is_none_or(|e| e.is_empty() || e == taint.effect);
    let key_ok = toleration
        .key
        .as_deref()
        .is_none_or(|k| k.is_empty() || k == taint.key);
    let value_ok = match toleration.operator.as_deref().unwrap_or("Equal") {
        "Exists" => true,
        _ => toleration.value.as_deref().unwrap_or("") == taint.value.as_deref().unwrap_or(""),
    };
    effect_ok && key_ok && value_ok
}

/// When a pod on a node with `taints` must go: `None` if it tolerates every `NoExecute` taint
/// for ever, `Some(0)` at once, else after the shortest matching `tolerationSeconds` (counted from
/// the taint's `timeAdded`).
pub fn eviction_due(pod: &Pod, taints: &[Taint], now: Timestamp) -> Option<Duration> {
    let tolerations = pod
        .spec
        .as_ref()
        .and_then(|s| s.tolerations.clone())
        .unwrap_or_default();
    let mut due: Option<Duration> = None;
    for taint in taints.iter().filter(|t| t.effect == "NoExecute") {
        let matching: Vec<&Toleration> =
            tolerations.iter().filter(|t| tolerates(t, taint)).collect();
        if matching.is_empty() {
            return Some(Duration::ZERO);
        }
        // Tolerated for ever by any toleration without a time limit.
        if matching.iter().any(|t| t.toleration_seconds.is_none()) {
            continue;
        }
        let seconds = matching
            .iter()
            .filter_map(|t| t.toleration_seconds)
            .min()
            .unwrap_or(0)
            .max(0);
        let added = taint.time_added.as_ref().map_or(now, |t| t.0);
        let elapsed = now.duration_since(added).as_secs_f64().max(0.0);
        let left = Duration::from_secs_f64((seconds as f64 - elapsed).max(0.0));
        due = Some(due.map_or(left, |d| d.min(left)));
    }
    due
}

/// Run the controller until `shutdown` turns true.
pub async fn run(
    client: Client,
    pods: SharedInformer<Pod>,
    grace_period: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    tracing::info!(controller = NAME, "starting controller");
    let (nodes, node_writer) = reflector::store();
    let node_watch = reflector::reflector(
        node_writer,
        watcher(Api::<Node>::all(client.clone()), watcher::Config::default()),
    )
    .default_backoff()
    .for_each(|_| async {});
    let (leases, lease_writer) = reflector::store();
    let lease_watch = reflector::reflector(
        lease_writer,
        watcher(
            Api::<Lease>::namespaced(client.clone(), "kube-node-lease"),
            watcher::Config::default(),
        ),
    )
    .default_backoff()
    .for_each(|_| async {});
    let watches = tokio::spawn(async move {
        tokio::join!(node_watch, lease_watch);
    });
    let pods = pods.store();
    // When this controller first saw each node's current heartbeat: a node is judged by the time
    // since a heartbeat was observed here, not by the kubelet's clock.
    let mut observed: BTreeMap<String, (String, Timestamp)> = BTreeMap::new();
    loop {
        tokio::select! {
            () = tokio::time::sleep(MONITOR_PERIOD) => {}
            () = crate::stopped(&mut shutdown) => break,
        }
        if [
            crate::store_ready(&nodes),
            crate::store_ready(&leases),
            crate::store_ready(&pods),
        ] != [Some(true); 3]
        {
            continue;
        }
        let now = Timestamp::now();
        let all_pods = pods.state();
        for node in nodes.state() {
            let name = node.name_any();
            let heartbeat = heartbeat_of(
                &node,
                leases
                    .get(&reflector::ObjectRef::new(&name).within("kube-node-lease"))
                    .as_deref(),
            );
            let seen = observed
                .entry(name.clone())
                .or_insert_with(|| (heartbeat.clone(), now));
            if seen.0 != heartbeat {
                *seen = (heartbeat, now);
            }
            let silent = now.duration_since(seen.1).as_secs_f64() > grace_period.as_secs_f64();
            if silent && let Err(error) = mark_unknown(&client, &node, &all_pods, now).await {
                tracing::warn!(controller = NAME, node = %name, %error, "marking a silent node Unknown failed");
            }
            if let Err(error) = sync_taints(&client, &node, now).await {
                tracing::warn!(controller = NAME, node = %name, %error, "updating a node's taints failed");
            }
            let taints = node
                .spec
                .as_ref()
                .and_then(|s| s.taints.clone())
                .unwrap_or_default();
            for pod in all_pods.iter().filter(|p| {
                p.spec.as_ref().and_then(|s| s.node_name.as_deref()) == Some(name.as_str())
                    && p.metadata.deletion_timestamp.is_none()
            }) {
                if eviction_due(pod, &taints, now) == Some(Duration::ZERO) {
                    evict(&client, pod).await;
                }
            }
        }
        observed.retain(|name, _| nodes.get(&reflector::ObjectRef::new(name)).is_some());
    }
    watches.abort();
    tracing::info!(controller = NAME, "shutting down controller");
}

/// What changes when the kubelet is alive: its Ready heartbeat and its Lease's renew time.
fn heartbeat_of(node: &Node, lease: Option<&Lease>) -> String {
    let ready = node
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|c| c.iter().find(|c| c.type_ == "Ready"))
        .and_then(|c| c.last_heartbeat_time.as_ref())
        .map(|t| t.0.to_string())
        .unwrap_or_default();
    let renewed = lease
        .and_then(|l| l.spec.as_ref())
        .and_then(|s| s.renew_time.as_ref())
        .map(|t| t.0.to_string())
        .unwrap_or_default();
    format!("{ready}|{renewed}")
}

async fn mark_unknown(
    client: &Client,
    node: &Node,
    pods: &[std::sync::Arc<Pod>],
    now: Timestamp,
) -> Result<(), kube::Error> {
    let Some(status) = node.status.as_ref() else {
        return Ok(());
    };
    let conditions = status.conditions.clone().unwrap_or_default();
    if conditions.iter().all(|c| c.status == "Unknown") && !conditions.is_empty() {
        return Ok(());
    }
    let mut updated = node.clone();
    let status = updated.status.get_or_insert_with(Default::default);
    let conditions = status.conditions.get_or_insert_with(Vec::new);
    if !conditions.iter().any(|c| c.type_ == "Ready") {
        conditions.push(k8s_openapi::api::core::v1::NodeCondition {
            type_: "Ready".to_owned(),
            status: "Unknown".to_owned(),
            ..Default::default()
        });
    }
    for condition in conditions.iter_mut() {
        if condition.status != "Unknown" {
            condition.status = "Unknown".to_owned();
            condition.last_transition_time = Some(Time(now));
        }
        condition.reason = Some("NodeStatusUnknown".to_owned());
        condition.message = Some("Kubelet stopped posting node status.".to_owned());
    }
    Api::<Node>::all(client.clone())
        .replace_status(&node.name_any(), &PostParams::default(), &updated)
        .await?;
    tracing::info!(controller = NAME, node = %node.name_any(), "node stopped reporting: conditions Unknown");
    // Its pods are no longer known to be ready.
    let name = node.name_any();
    for pod in pods
        .iter()
        .filter(|p| p.spec.as_ref().and_then(|s| s.node_name.as_deref()) == Some(name.as_str()))
    {
        let ready = pod
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
        if !ready {
            continue;
        }
        let mut conditions: Vec<serde_json::Value> = pod
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .map(|c| {
                c.iter()
                    .filter_map(|c| serde_json::to_value(c).ok())
                    .collect()
            })
            .unwrap_or_default();
        for condition in &mut conditions {
            if condition["type"] == "Ready" {
                condition["status"] = "False".into();
                condition["lastTransitionTime"] = now.to_string().into();
            }
        }
        let patch = serde_json::json!({"status": {"conditions": conditions}});
        let api: Api<Pod> = Api::namespaced(client.clone(), &pod.namespace().unwrap_or_default());
        if let Err(error) = api
            .patch_status(
                &pod.name_any(),
                &PatchParams::default(),
                &Patch::Merge(&patch),
            )
            .await
        {
            tracing::debug!(controller = NAME, pod = %pod.name_any(), %error, "marking a pod not ready failed");
        }
    }
    Ok(())
}

/// Add the taints the node's state implies and drop the lifecycle taints it no longer does.
async fn sync_taints(client: &Client, node: &Node, now: Timestamp) -> Result<(), kube::Error> {
    let implied = implied_taints(node);
    let current = node
        .spec
        .as_ref()
        .and_then(|s| s.taints.clone())
        .unwrap_or_default();
    let managed = |t: &Taint| [UNREACHABLE, NOT_READY, UNSCHEDULABLE].contains(&t.key.as_str());
    let mut wanted: Vec<Taint> = current
        .iter()
        .filter(|t| !managed(t) || implied.contains(&(t.key.as_str(), t.effect.as_str())))
        .cloned()
        .collect();
    for (key, effect) in &implied {
        if !wanted.iter().any(|t| t.key == *key && t.effect == *effect) {
            wanted.push(Taint {
                key: (*key).to_owned(),
                effect: (*effect).to_owned(),
                time_added: (*effect == "NoExecute").then_some(Time(now)),
                value: None,
            });
        }
    }
    if wanted == current {
        return Ok(());
    }
    let patch = serde_json::json!({
        "metadata": {"resourceVersion": node.metadata.resource_version},
        "spec": {"taints": wanted},
    });
    match Api::<Node>::all(client.clone())
        .patch(
            &node.name_any(),
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await
    {
        Ok(_) => Ok(()),
        // Changed meanwhile: the next pass looks again.
        Err(error) if crate::api_code(&error) == Some(409) => Ok(()),
        Err(error) => Err(error),
    }
}

async fn evict(client: &Client, pod: &Pod) {
    let api: Api<Pod> = Api::namespaced(client.clone(), &pod.namespace().unwrap_or_default());
    let params = DeleteParams {
        preconditions: pod.metadata.uid.clone().map(|uid| Preconditions {
            uid: Some(uid),
            resource_version: None,
        }),
        ..DeleteParams::default()
    };
    match api.delete(&pod.name_any(), &params).await {
        Ok(_) => {
            tracing::info!(controller = NAME, pod = %pod.name_any(), "evicted a pod from a NoExecute-tainted node")
        }
        Err(error) if matches!(crate::api_code(&error), Some(404 | 409)) => {}
        Err(error) => {
            tracing::warn!(controller = NAME, pod = %pod.name_any(), %error, "evicting a pod failed")
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;

    #[test]
    fn node_state_implies_taints() {
        let node = |ready: &str, unschedulable: bool| -> Node {
            serde_json::from_value(
                json!({"metadata": {"name": "n"}, "spec": {"unschedulable": unschedulable},
                "status": {"conditions": [{"type": "Ready", "status": ready}]}}),
            )
            .unwrap()
        };
        assert_eq!(implied_taints(&node("True", false)), []);
        assert_eq!(
            implied_taints(&node("Unknown", false)),
            [(UNREACHABLE, "NoSchedule"), (UNREACHABLE, "NoExecute")]
        );
        assert_eq!(
            implied_taints(&node("False", true)),
            [
                (NOT_READY, "NoSchedule"),
                (NOT_READY, "NoExecute"),
                (UNSCHEDULABLE, "NoSchedule")
            ]
        );
    }

    #[test]
    fn evictions_follow_tolerations() {
        let now: Timestamp = "2026-01-01T00:10:00Z".parse().unwrap();
        let taint: Taint = serde_json::from_value(
            json!({"key": UNREACHABLE, "effect": "NoExecute", "timeAdded": "2026-01-01T00:00:00Z"}),
        )
        .unwrap();
        let pod = |tolerations: serde_json::Value| -> Pod {
            serde_json::from_value(json!({"spec": {"containers": [], "tolerations": tolerations}}))
                .unwrap()
        };
        assert_eq!(
            eviction_due(&pod(json!([])), std::slice::from_ref(&taint), now),
            Some(Duration::ZERO)
        );
        assert_eq!(
            eviction_due(
                &pod(json!([{"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute"}])),
                std::slice::from_ref(&taint),
                now
            ),
            None
        );
        assert_eq!(
            eviction_due(
                &pod(
                    json!([{"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 900}])
                ),
                std::slice::from_ref(&taint),
                now
            ),
            Some(Duration::from_secs(300))
        );
        assert_eq!(
            eviction_due(
                &pod(
                    json!([{"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}])
                ),
                std::slice::from_ref(&taint),
                now
            ),
            Some(Duration::ZERO)
        );
        assert_eq!(eviction_due(&pod(json!([])), &[], now), None);
    }
}
