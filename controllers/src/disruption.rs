//! The disruption controller (upstream `pkg/controller/disruption`): keeps each
//! PodDisruptionBudget's status current so that the eviction API can decide: `expectedPods`,
//! `desiredHealthy`, `currentHealthy`, `disruptionsAllowed`, `observedGeneration`, the
//! `DisruptionAllowed` condition and the `disruptedPods` the eviction API recorded.
//!
//! Keyed by budget; pod changes requeue the budgets of their namespace. Healthy means Ready and not
//! being deleted, and not just evicted (`disruptedPods` entries live until the pod is gone or two
//! minutes have passed). With an integer `minAvailable` the expected count is the selected pods;
//! with a percentage or `maxUnavailable` it is the scale of the pods' controllers (ReplicaSets
//! through their Deployments, ReplicationControllers, StatefulSets), and a selected pod without a
//! controller fails the sync (`SyncFailed`, no disruptions allowed), as upstream.

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use futures::StreamExt as _;
use k8s_openapi::{
    api::{
        core::v1::Pod,
        policy::v1::{PodDisruptionBudget, PodDisruptionBudgetStatus},
    },
    apimachinery::pkg::{
        apis::meta::v1::{Condition, Time},
        util::intstr::IntOrString,
    },
    jiff::Timestamp,
};
use kube::{
    Api, Client, ResourceExt as _,
    api::PostParams,
    runtime::{
        Controller,
        controller::Action,
        reflector::{ObjectRef, Store},
        watcher,
    },
};
use serde_json::Value;
use tokio::sync::watch;
use tugboat_machinery::selectors::labels::LabelSelector;

use crate::{backoff::FailureBackoff, informer::SharedInformer};

const NAME: &str = "disruption-controller";
/// How long an eviction recorded in `disruptedPods` counts before the pod must be gone.
const DISRUPTION_TIMEOUT: Duration = Duration::from_secs(120);
const CACHE_SYNC_RETRY: Duration = Duration::from_millis(100);

/// A failed sync.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The pod cache's reflector is gone.
    #[error("the pod cache stopped before its first list")]
    CacheGone,
    /// Writing the status failed.
    #[error("updating the status of PodDisruptionBudget {key}: {source}")]
    Update {
        /// namespace/name.
        key: String,
        /// Why.
        #[source]
        source: kube::Error,
    },
}

struct Context {
    client: Client,
    pods: Store<Pod>,
    backoff: FailureBackoff,
}

/// Run the controller until `shutdown` turns true.
pub async fn run(client: Client, pods: SharedInformer<Pod>, shutdown: watch::Receiver<bool>) {
    tracing::info!(controller = NAME, "starting controller");
    let pod_stream = pods.subscribe();
    let pods = pods.store();
    let controller = Controller::new(
        Api::<PodDisruptionBudget>::all(client.clone()),
        watcher::Config::default(),
    );
    let budgets = controller.store();
    let context = Arc::new(Context {
        client,
        pods,
        backoff: FailureBackoff::default(),
    });
    controller
        .watches_shared_stream(pod_stream, move |pod: Arc<Pod>| {
            let namespace = pod.namespace();
            budgets
                .state()
                .into_iter()
                .filter(|b| b.namespace() == namespace)
                .map(|b| ObjectRef::from_obj(b.as_ref()))
                .collect::<Vec<_>>()
        })
        .graceful_shutdown_on(crate::serviceaccount::shutdown_signal(shutdown))
        .run(reconcile, error_policy, context)
        .for_each(|result| async move {
            crate::manager::log_controller_result(NAME, result);
        })
        .await;
    tracing::info!(controller = NAME, "shutting down controller");
}

fn key(budget: &PodDisruptionBudget) -> String {
    format!(
        "{}/{}",
        budget.namespace().unwrap_or_default(),
        budget.name_any()
    )
}

fn error_policy(
    budget: Arc<PodDisruptionBudget>,
    error: &SyncError,
    context: Arc<Context>,
) -> Action {
    let delay = context.backoff.next_delay(&key(&budget));
    tracing::warn!(controller = NAME, budget = %key(&budget), %error, retry_in = ?delay, "sync failed");
    Action::requeue(delay)
}

fn is_ready(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

/// The pods the budget selects (none without a selector), not finished.
fn selected_pods(budget: &PodDisruptionBudget, pods: &Store<Pod>) -> Vec<Arc<Pod>> {
    let Some(selector) = budget.spec.as_ref().and_then(|s| s.selector.as_ref()) else {
        return Vec::new();
    };
    let Ok(selector) = LabelSelector::from_api(Some(selector)) else {
        return Vec::new();
    };
    let namespace = budget.namespace();
    pods.state()
        .into_iter()
        .filter(|pod| pod.namespace() == namespace)
        .filter(|pod| selector.matches(pod.labels()))
        .filter(|pod| {
            !matches!(
                pod.status.as_ref().and_then(|s| s.phase.as_deref()),
                Some("Succeeded" | "Failed")
            )
        })
        .collect()
}

/// An int-or-percent against `total`, rounding percentages up.
pub fn scaled(value: &IntOrString, total: i32) -> i32 {
    match value {
        IntOrString::Int(n) => *n,
        IntOrString::String(text) => {
            let percent: i64 = text.trim_end_matches('%').parse().unwrap_or(0);
            i32::try_from((percent * i64::from(total) + 99) / 100).unwrap_or(i32::MAX)
        }
    }
}

/// The scale of a pod's controller, keyed by the controller's uid; `None` when the pod has none.
async fn controller_scale(client: &Client, pod: &Pod) -> Option<(String, i32)> {
    let owner = pod
        .owner_references()
        .iter()
        .find(|o| o.controller == Some(true))?
        .clone();
    let namespace = pod.namespace()?;
    let path = match (owner.api_version.as_str(), owner.kind.as_str()) {
        ("apps/v1", "ReplicaSet") => format!(
            "/apis/apps/v1/namespaces/{namespace}/replicasets/{}",
            owner.name
        ),
        ("apps/v1", "StatefulSet") => format!(
            "/apis/apps/v1/namespaces/{namespace}/statefulsets/{}",
            owner.name
        ),
        ("v1", "ReplicationController") => format!(
            "/api/v1/namespaces/{namespace}/replicationcontrollers/{}",
            owner.name
        ),
        _ => return None,
    };
    let object = get_json(client, &path).await?;
    // A ReplicaSet of a Deployment counts with the Deployment's scale.
    if owner.kind == "ReplicaSet"
        && let Some(deployment) = object
            .pointer("/metadata/ownerReferences")
            .and_then(Value::as_array)
            .and_then(|refs| {
                refs.iter()
                    .find(|r| r["controller"] == true && r["kind"] == "Deployment")
            })
        && let Some(name) = deployment["name"].as_str()
        && let Some(uid) = deployment["uid"].as_str()
    {
        let deployment = get_json(
            client,
            &format!("/apis/apps/v1/namespaces/{namespace}/deployments/{name}"),
        )
        .await?;
        let replicas = deployment
            .pointer("/spec/replicas")
            .and_then(Value::as_i64)
            .unwrap_or(1);
        return Some((uid.to_owned(), i32::try_from(replicas).unwrap_or(i32::MAX)));
    }
    let replicas = object
        .pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .unwrap_or(1);
    Some((owner.uid, i32::try_from(replicas).unwrap_or(i32::MAX)))
}

async fn get_json(client: &Client, path: &str) -> Option<Value> {
    let request = http::Request::get(path).body(Vec::new()).ok()?;
    client.request::<Value>(request).await.ok()
}

async fn reconcile(
    budget: Arc<PodDisruptionBudget>,
    context: Arc<Context>,
) -> Result<Action, SyncError> {
    match crate::store_ready(&context.pods) {
        Some(true) => {}
        Some(false) => return Err(SyncError::CacheGone),
        None => return Ok(Action::requeue(CACHE_SYNC_RETRY)),
    }
    let now = Timestamp::now();
    let pods = selected_pods(&budget, &context.pods);
    let spec = budget.spec.clone().unwrap_or_default();
    let old = budget.status.clone().unwrap_or_default();

    // Evictions recorded by the API server, until the pod is gone or the timeout passes.
    let mut disrupted = BTreeMap::new();
    let mut next_expiry: Option<Duration> = None;
    for (pod_name, when) in old.disrupted_pods.clone().unwrap_or_default() {
        let Some(pod) = pods.iter().find(|p| p.name_any() == pod_name) else {
            continue;
        };
        if pod.metadata.deletion_timestamp.is_some() {
            continue;
        }
        let age = now.duration_since(when.0).as_secs_f64();
        let left = DISRUPTION_TIMEOUT.as_secs_f64() - age;
        if left > 0.0 {
            disrupted.insert(pod_name, when);
            let left = Duration::from_secs_f64(left);
            next_expiry = Some(next_expiry.map_or(left, |n| n.min(left)));
        }
    }
    let current_healthy = i32::try_from(
        pods.iter()
            .filter(|p| is_ready(p) && p.metadata.deletion_timestamp.is_none())
            .filter(|p| !disrupted.contains_key(&p.name_any()))
            .count(),
    )
    .unwrap_or(i32::MAX);

    let mut failure = None;
    let (expected, desired) = match (&spec.min_available, &spec.max_unavailable) {
        (Some(IntOrString::Int(min)), None) => {
            (i32::try_from(pods.len()).unwrap_or(i32::MAX), *min)
        }
        (min, max) if min.is_some() || max.is_some() => {
            let mut scales: BTreeMap<String, i32> = BTreeMap::new();
            for pod in &pods {
                match controller_scale(&context.client, pod).await {
                    Some((uid, replicas)) => {
                        scales.insert(uid, replicas);
                    }
                    None => {
                        failure.get_or_insert(format!(
                            "found no controllers for pod {:?}",
                            pod.name_any()
                        ));
                    }
                }
            }
            let expected: i32 = scales.values().sum();
            let desired = match (min, max) {
                (_, Some(max)) => (expected - scaled(max, expected)).max(0),
                (Some(min), None) => scaled(min, expected),
                (None, None) => 0,
            };
            (expected, desired)
        }
        _ => (i32::try_from(pods.len()).unwrap_or(i32::MAX), 0),
    };
    let allowed = if failure.is_some() {
        0
    } else {
        (current_healthy - desired).max(0)
    };
    let (condition_status, reason, message) = match &failure {
        Some(message) => ("False", "SyncFailed", message.clone()),
        None if allowed > 0 => ("True", "SufficientPods", String::new()),
        None => ("False", "InsufficientPods", String::new()),
    };
    let mut conditions = old.conditions.clone().unwrap_or_default();
    let generation = budget.metadata.generation;
    match conditions
        .iter_mut()
        .find(|c| c.type_ == "DisruptionAllowed")
    {
        Some(c) => {
            if c.status != condition_status {
                c.last_transition_time = Time(now);
            }
            c.status = condition_status.to_owned();
            c.reason = reason.to_owned();
            c.message = message;
            c.observed_generation = generation;
        }
        None => conditions.push(Condition {
            type_: "DisruptionAllowed".to_owned(),
            status: condition_status.to_owned(),
            reason: reason.to_owned(),
            message,
            last_transition_time: Time(now),
            observed_generation: generation,
        }),
    }
    let status = PodDisruptionBudgetStatus {
        conditions: Some(conditions),
        current_healthy: Some(current_healthy),
        desired_healthy: Some(desired),
        disrupted_pods: (!disrupted.is_empty()).then_some(disrupted),
        disruptions_allowed: Some(allowed),
        expected_pods: Some(expected),
        observed_generation: generation,
    };
    if status != old {
        let mut updated = (*budget).clone();
        updated.status = Some(status);
        let api: Api<PodDisruptionBudget> = Api::namespaced(
            context.client.clone(),
            &budget.namespace().unwrap_or_default(),
        );
        api.replace_status(&budget.name_any(), &PostParams::default(), &updated)
            .await
            .map_err(|source| SyncError::Update {
                key: key(&budget),
                source,
            })?;
    }
    context.backoff.forget(&key(&budget));
    Ok(next_expiry.map_or_else(Action::await_change, Action::requeue))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_round_up() {
        assert_eq!(scaled(&IntOrString::String("50%".into()), 3), 2);
        assert_eq!(scaled(&IntOrString::String("10%".into()), 10), 1);
        assert_eq!(scaled(&IntOrString::Int(2), 10), 2);
        assert_eq!(scaled(&IntOrString::String("0%".into()), 10), 0);
    }
}
