//! The TTL-after-finished controller (upstream `pkg/controller/ttlafterfinished`): a finished Job
//! with `spec.ttlSecondsAfterFinished` is deleted (foreground, so its pods go first) once that many
//! seconds have passed since it finished (its `Complete` or `Failed` condition).
//!
//! Keyed by Job; a Job not due yet is requeued for the moment it is. The delete carries the Job's
//! uid as a precondition, so a Job recreated under the same name is not deleted by mistake.

use std::{sync::Arc, time::Duration};

use futures::StreamExt as _;
use k8s_openapi::{api::batch::v1::Job, jiff::Timestamp};
use kube::{
    Api, Client, ResourceExt as _,
    api::{DeleteParams, Preconditions, PropagationPolicy},
    runtime::{Controller, controller::Action, watcher},
};
use tokio::sync::watch;

use crate::backoff::FailureBackoff;

const NAME: &str = "ttl-after-finished-controller";

/// Deleting an expired Job failed.
#[derive(Debug, thiserror::Error)]
#[error("deleting expired Job {key}: {source}")]
pub struct SyncError {
    key: String,
    #[source]
    source: kube::Error,
}

struct Context {
    client: Client,
    backoff: FailureBackoff,
}

/// When a Job finished: the time of its `Complete` or `Failed` condition (or `completionTime`).
pub fn finish_time(job: &Job) -> Option<Timestamp> {
    let status = job.status.as_ref()?;
    status
        .conditions
        .iter()
        .flatten()
        .find(|c| matches!(c.type_.as_str(), "Complete" | "Failed") && c.status == "True")
        .and_then(|c| c.last_transition_time.as_ref().map(|t| t.0))
        .or_else(|| status.completion_time.as_ref().map(|t| t.0))
}

/// How long until the Job expires (zero when it has), or `None` when it never does.
pub fn time_left(job: &Job, now: Timestamp) -> Option<Duration> {
    let ttl = job.spec.as_ref()?.ttl_seconds_after_finished?;
    let finished = finish_time(job)?;
    let expires = finished.as_second().saturating_add(i64::from(ttl.max(0)));
    let left = expires - now.as_second();
    Some(Duration::from_secs(u64::try_from(left.max(0)).unwrap_or(0)))
}

/// Run the controller until `shutdown` turns true.
pub async fn run(client: Client, shutdown: watch::Receiver<bool>) {
    tracing::info!(controller = NAME, "starting controller");
    let context = Arc::new(Context {
        client: client.clone(),
        backoff: FailureBackoff::default(),
    });
    Controller::new(Api::<Job>::all(client), watcher::Config::default())
        .graceful_shutdown_on(crate::serviceaccount::shutdown_signal(shutdown))
        .run(reconcile, error_policy, context)
        .for_each(|result| async move {
            crate::manager::log_controller_result(NAME, result);
        })
        .await;
    tracing::info!(controller = NAME, "shutting down controller");
}

fn key(job: &Job) -> String {
    format!("{}/{}", job.namespace().unwrap_or_default(), job.name_any())
}

fn error_policy(job: Arc<Job>, error: &SyncError, context: Arc<Context>) -> Action {
    let delay = context.backoff.next_delay(&key(&job));
    tracing::warn!(controller = NAME, %error, retry_in = ?delay, "sync failed");
    Action::requeue(delay)
}

async fn reconcile(job: Arc<Job>, context: Arc<Context>) -> Result<Action, SyncError> {
    if job.metadata.deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    match time_left(&job, Timestamp::now()) {
        None => Ok(Action::await_change()),
        Some(left) if !left.is_zero() => Ok(Action::requeue(left)),
        Some(_) => {
            let api: Api<Job> =
                Api::namespaced(context.client.clone(), &job.namespace().unwrap_or_default());
            let params = DeleteParams {
                propagation_policy: Some(PropagationPolicy::Foreground),
                preconditions: job.metadata.uid.clone().map(|uid| Preconditions {
                    uid: Some(uid),
                    resource_version: None,
                }),
                ..DeleteParams::default()
            };
            match api.delete(&job.name_any(), &params).await {
                Ok(_) => {
                    tracing::info!(controller = NAME, job = %key(&job), "deleted finished Job after its TTL");
                }
                Err(error) if matches!(crate::api_code(&error), Some(404 | 409)) => {}
                Err(source) => {
                    return Err(SyncError {
                        key: key(&job),
                        source,
                    });
                }
            }
            context.backoff.forget(&key(&job));
            Ok(Action::await_change())
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;

    #[test]
    fn expiry_counts_from_the_terminal_condition() {
        let job: Job = serde_json::from_value(json!({
            "spec": {"ttlSecondsAfterFinished": 100, "template": {}},
            "status": {"conditions": [{"type": "Complete", "status": "True", "lastTransitionTime": "2026-01-01T00:00:00Z"}]}
        }))
        .unwrap();
        let at = |s: &str| s.parse::<Timestamp>().unwrap();
        assert_eq!(
            time_left(&job, at("2026-01-01T00:00:40Z")),
            Some(Duration::from_secs(60))
        );
        assert_eq!(
            time_left(&job, at("2026-01-01T00:05:00Z")),
            Some(Duration::ZERO)
        );
        let running: Job =
            serde_json::from_value(json!({"spec": {"ttlSecondsAfterFinished": 0, "template": {}}}))
                .unwrap();
        assert_eq!(time_left(&running, at("2026-01-01T00:00:00Z")), None);
        let no_ttl: Job = serde_json::from_value(json!({"spec": {"template": {}},
            "status": {"conditions": [{"type": "Failed", "status": "True", "lastTransitionTime": "2026-01-01T00:00:00Z"}]}})).unwrap();
        assert_eq!(time_left(&no_ttl, at("2026-01-01T00:00:00Z")), None);
    }
}
