//! The job controller (upstream `pkg/controller/job`): runs a Job's pods to its completions.
//!
//! Keyed by Job; the Job's pods (controller owner reference) come from a shared reflector store and
//! requeue their Job. A sync, as upstream's `syncJob` with pod tracking by finalizers:
//!
//! 1. finished pods that still carry the `batch.kubernetes.io/job-tracking` finalizer are first
//!    recorded in `status.uncountedTerminatedPods`, then their finalizers are removed, then they are
//!    folded into `status.succeeded` / `status.failed` (and `completedIndexes` for Indexed Jobs), so
//!    that no pod is counted twice or lost across restarts;
//! 2. the Job's fate: a `podFailurePolicy` rule that fails the Job, `failed > backoffLimit`
//!    (`BackoffLimitExceeded`), `activeDeadlineSeconds` passed (`DeadlineExceeded`), or enough
//!    successes (`completions`, every index, or a `successPolicy` rule) add the `FailureTarget` or
//!    `SuccessCriteriaMet` condition, the remaining pods are deleted, and once none is left the
//!    `Failed` or `Complete` condition (with `completionTime`) ends the Job;
//! 3. otherwise `suspend` deletes the active pods (condition `Suspended`), and a running Job gets
//!    as many active pods as `parallelism` and the remaining completions allow, created in
//!    slow-start batches (1, 2, 4, ...) after the failure backoff (10 s doubling to 6 min);
//! 4. the status (`active`, `ready`, `terminating`, `startTime`, conditions) is written when it
//!    changed, with upstream's Events (`SuccessfulCreate`, `SuccessfulDelete`, `Completed`,
//!    `BackoffLimitExceeded`, `DeadlineExceeded`, `Suspended`, `Resumed`).
//!
//! Upstream's expectations are kept simply: a Job whose created or deleted pods have not all shown
//! up in the pod store yet is requeued rather than acted on again.

use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    sync::{Arc, Mutex},
    time::Duration,
};

use futures::StreamExt as _;
use k8s_openapi::{
    api::{
        batch::v1::{Job, JobCondition, JobStatus, UncountedTerminatedPods},
        core::v1::{EnvVar, ObjectReference, Pod, PodTemplateSpec},
    },
    apimachinery::pkg::apis::meta::v1::{OwnerReference, Time},
    jiff::Timestamp,
};
use kube::{
    Api, Client, Resource as _, ResourceExt as _,
    api::{DeleteParams, ObjectMeta, Patch, PatchParams, PostParams, Preconditions},
    runtime::{
        Controller,
        controller::Action,
        events::{Event, EventType, Recorder, Reporter},
        reflector::{ObjectRef, Store},
        watcher,
    },
};
use tokio::sync::watch;

use crate::{backoff::FailureBackoff, informer::SharedInformer};

const NAME: &str = "job-controller";
/// The finalizer that keeps a pod until the controller has counted it.
pub const TRACKING_FINALIZER: &str = "batch.kubernetes.io/job-tracking";
/// The annotation (and label) carrying an Indexed Job pod's index.
pub const COMPLETION_INDEX: &str = "batch.kubernetes.io/job-completion-index";
/// How soon a sync is retried while the pod cache has not finished its first list.
const CACHE_SYNC_RETRY: Duration = Duration::from_millis(100);
/// How soon a Job is looked at again while its pod writes have not shown up in the cache.
const EXPECTATIONS_RETRY: Duration = Duration::from_millis(200);
/// The first delay before a pod replaces a failed one; doubled per failure up to [`MAX_BACKOFF`].
const BASE_BACKOFF: Duration = Duration::from_secs(10);
const MAX_BACKOFF: Duration = Duration::from_secs(360);
/// The most pods created in one sync (upstream's burst).
const MAX_BATCH: usize = 500;

/// A failed sync.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The pod cache's reflector is gone.
    #[error("the pod cache stopped before its first list")]
    CacheGone,
    /// A write to the API failed.
    #[error("{action} for Job {namespace}/{name}: {source}")]
    Api {
        /// What was done.
        action: &'static str,
        /// The namespace.
        namespace: String,
        /// The Job.
        name: String,
        /// Why.
        #[source]
        source: kube::Error,
    },
}

struct Context {
    client: Client,
    pods: Store<Pod>,
    recorder: Recorder,
    backoff: FailureBackoff,
    /// Pods created or deleted per Job uid that the pod store has not shown yet: (created names
    /// pending, deleted uids pending).
    expectations: Mutex<HashMap<String, Expectation>>,
}

#[derive(Default)]
struct Expectation {
    creates: usize,
    deletes: BTreeSet<String>,
    seen_pods: BTreeSet<String>,
}

/// Run the controller until `shutdown` turns true.
pub async fn run(client: Client, pods: SharedInformer<Pod>, shutdown: watch::Receiver<bool>) {
    tracing::info!(controller = NAME, "starting controller");
    let pod_stream = pods.subscribe();
    let pods = pods.store();
    let context = Arc::new(Context {
        recorder: Recorder::new(
            client.clone(),
            Reporter {
                controller: NAME.to_owned(),
                instance: None,
            },
        ),
        client: client.clone(),
        pods,
        backoff: FailureBackoff::default(),
        expectations: Mutex::new(HashMap::new()),
    });
    Controller::new(Api::<Job>::all(client), watcher::Config::default())
        .watches_shared_stream(pod_stream, |pod: Arc<Pod>| {
            let owner = pod
                .owner_references()
                .iter()
                .find(|o| o.controller == Some(true) && o.kind == "Job")?;
            Some(ObjectRef::<Job>::new(&owner.name).within(&pod.namespace()?))
        })
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
    tracing::warn!(controller = NAME, job = %key(&job), %error, retry_in = ?delay, "sync failed");
    Action::requeue(delay)
}

// === pod facts ===

fn phase(pod: &Pod) -> &str {
    pod.status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or("Pending")
}

fn is_finished(pod: &Pod) -> bool {
    matches!(phase(pod), "Succeeded" | "Failed")
}

fn is_terminating(pod: &Pod) -> bool {
    pod.metadata.deletion_timestamp.is_some() && !is_finished(pod)
}

fn is_active(pod: &Pod) -> bool {
    !is_finished(pod) && pod.metadata.deletion_timestamp.is_none()
}

fn is_ready(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

fn has_tracking_finalizer(pod: &Pod) -> bool {
    pod.finalizers().iter().any(|f| f == TRACKING_FINALIZER)
}

fn completion_index(pod: &Pod) -> Option<i32> {
    pod.annotations()
        .get(COMPLETION_INDEX)
        .and_then(|i| i.parse().ok())
        .filter(|i: &i32| *i >= 0)
}

/// When a pod finished (its last container termination, else now).
fn finish_time(pod: &Pod) -> Option<Timestamp> {
    pod.status
        .as_ref()?
        .container_statuses
        .iter()
        .flatten()
        .filter_map(|c| c.state.as_ref()?.terminated.as_ref()?.finished_at.as_ref())
        .map(|t| t.0)
        .max()
}

// === indexes ===

/// Parse `completedIndexes` text (`"0-2,4"`).
pub fn parse_indexes(text: &str) -> BTreeSet<i32> {
    let mut out = BTreeSet::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => {
                if let (Ok(a), Ok(b)) = (a.parse::<i32>(), b.parse::<i32>()) {
                    out.extend(a..=b);
                }
            }
            None => {
                if let Ok(i) = part.parse() {
                    out.insert(i);
                }
            }
        }
    }
    out
}

/// Format indexes as upstream does: ascending, runs of 3+ as `a-b`, else separate.
pub fn format_indexes(indexes: &BTreeSet<i32>) -> String {
    let mut parts = Vec::new();
    let mut iter = indexes.iter().copied().peekable();
    while let Some(start) = iter.next() {
        let mut end = start;
        while iter.peek() == Some(&(end + 1)) {
            end += 1;
            iter.next();
        }
        if end == start {
            parts.push(start.to_string());
        } else if end == start + 1 {
            parts.push(start.to_string());
            parts.push(end.to_string());
        } else {
            parts.push(format!("{start}-{end}"));
        }
    }
    parts.join(",")
}

// === conditions ===

fn condition<'a>(status: &'a JobStatus, kind: &str) -> Option<&'a JobCondition> {
    status
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == kind && c.status == "True")
}

/// Set condition `kind` to `status` with reason and message; `true` when something changed.
fn set_condition(
    status: &mut JobStatus,
    kind: &str,
    value: &str,
    reason: &str,
    message: &str,
    now: Timestamp,
) -> bool {
    let conditions = status.conditions.get_or_insert_with(Vec::new);
    match conditions.iter_mut().find(|c| c.type_ == kind) {
        Some(existing) => {
            if existing.status == value
                && existing.reason.as_deref() == Some(reason)
                && existing.message.as_deref() == Some(message)
            {
                return false;
            }
            if existing.status != value {
                existing.last_transition_time = Some(Time(now));
            }
            existing.status = value.to_owned();
            existing.reason = Some(reason.to_owned());
            existing.message = Some(message.to_owned());
            existing.last_probe_time = Some(Time(now));
            true
        }
        None => {
            conditions.push(JobCondition {
                type_: kind.to_owned(),
                status: value.to_owned(),
                reason: Some(reason.to_owned()),
                message: Some(message.to_owned()),
                last_probe_time: Some(Time(now)),
                last_transition_time: Some(Time(now)),
            });
            true
        }
    }
}

fn is_finished_job(status: &JobStatus) -> bool {
    condition(status, "Complete").is_some() || condition(status, "Failed").is_some()
}

// === the pod failure policy ===

/// What a failure policy rule decides for a failed pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FailureVerdict {
    /// Fail the Job with this message.
    FailJob(String),
    /// Fail the pod's index (backoffLimitPerIndex).
    FailIndex,
    /// Do not count the failure.
    Ignore,
    /// Count it towards backoffLimit.
    Count,
}

/// Upstream's `matchPodFailurePolicy`: the first rule matching the failed pod (by a container's
/// exit code or a pod condition), or `Count` when none does.
pub fn failure_verdict(job: &Job, pod: &Pod) -> FailureVerdict {
    let Some(policy) = job
        .spec
        .as_ref()
        .and_then(|s| s.pod_failure_policy.as_ref())
    else {
        return FailureVerdict::Count;
    };
    let namespace = pod.namespace().unwrap_or_default();
    let pod_name = pod.name_any();
    let statuses: Vec<_> = pod
        .status
        .iter()
        .flat_map(|s| {
            s.init_container_statuses
                .iter()
                .flatten()
                .chain(s.container_statuses.iter().flatten())
        })
        .collect();
    for (index, rule) in policy.rules.iter().enumerate() {
        let mut matched = None;
        if let Some(on_exit) = &rule.on_exit_codes {
            for status in &statuses {
                if on_exit
                    .container_name
                    .as_deref()
                    .is_some_and(|n| n != status.name)
                {
                    continue;
                }
                let Some(code) = status
                    .state
                    .as_ref()
                    .and_then(|s| s.terminated.as_ref())
                    .map(|t| t.exit_code)
                else {
                    continue;
                };
                if code == 0 {
                    continue;
                }
                let listed = on_exit.values.contains(&code);
                let hit = match on_exit.operator.as_str() {
                    "In" => listed,
                    "NotIn" => !listed,
                    _ => false,
                };
                if hit {
                    matched = Some(format!(
                        "Container {} for pod {namespace}/{pod_name} failed with exit code {code} matching {} rule at index {index}",
                        status.name, rule.action
                    ));
                    break;
                }
            }
        }
        if matched.is_none()
            && let Some(on_conditions) = &rule.on_pod_conditions
        {
            let conditions = pod
                .status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .cloned()
                .unwrap_or_default();
            if let Some(pattern) = on_conditions.iter().find(|pattern| {
                conditions.iter().any(|c| {
                    c.type_ == pattern.type_
                        && c.status == pattern.status.clone().unwrap_or_else(|| "True".to_owned())
                })
            }) {
                matched = Some(format!(
                    "Pod {namespace}/{pod_name} has condition {} matching {} rule at index {index}",
                    pattern.type_, rule.action
                ));
            }
        }
        if let Some(message) = matched {
            return match rule.action.as_str() {
                "FailJob" => FailureVerdict::FailJob(message),
                "FailIndex" => FailureVerdict::FailIndex,
                "Ignore" => FailureVerdict::Ignore,
                _ => FailureVerdict::Count,
            };
        }
    }
    FailureVerdict::Count
}

// === the sync ===

async fn reconcile(job: Arc<Job>, context: Arc<Context>) -> Result<Action, SyncError> {
    match crate::store_ready(&context.pods) {
        Some(true) => {}
        Some(false) => return Err(SyncError::CacheGone),
        None => return Ok(Action::requeue(CACHE_SYNC_RETRY)),
    }
    if job.metadata.deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    let uid = job.metadata.uid.clone().unwrap_or_default();
    let pods = owned_pods(&job, &context.pods);
    if !expectations_met(&context, &uid, &pods) {
        return Ok(Action::requeue(EXPECTATIONS_RETRY));
    }
    let action = sync(&job, &pods, &context).await?;
    context.backoff.forget(&key(&job));
    Ok(action)
}

fn owned_pods(job: &Job, pods: &Store<Pod>) -> Vec<Arc<Pod>> {
    let uid = job.metadata.uid.as_deref();
    let namespace = job.namespace();
    pods.state()
        .into_iter()
        .filter(|pod| pod.namespace() == namespace)
        .filter(|pod| {
            pod.owner_references()
                .iter()
                .any(|o| o.controller == Some(true) && Some(o.uid.as_str()) == uid)
        })
        .collect()
}

/// Whether the pod store reflects every create and delete this controller made for the Job.
fn expectations_met(context: &Context, uid: &str, pods: &[Arc<Pod>]) -> bool {
    let mut all = context
        .expectations
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let Some(expectation) = all.get_mut(uid) else {
        return true;
    };
    let present: BTreeSet<String> = pods.iter().filter_map(|p| p.metadata.uid.clone()).collect();
    let new_pods = present.difference(&expectation.seen_pods).count();
    expectation.creates = expectation.creates.saturating_sub(new_pods);
    expectation.seen_pods = present.clone();
    let gone_or_marked = |uid: &String| {
        !present.contains(uid)
            || pods.iter().any(|p| {
                p.metadata.uid.as_ref() == Some(uid) && p.metadata.deletion_timestamp.is_some()
            })
    };
    expectation.deletes.retain(|uid| !gone_or_marked(uid));
    let met = expectation.creates == 0 && expectation.deletes.is_empty();
    if met {
        all.remove(uid);
    }
    met
}

fn expect(context: &Context, uid: &str, pods: &[Arc<Pod>], creates: usize, deletes: &[String]) {
    let mut all = context
        .expectations
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let entry = all.entry(uid.to_owned()).or_default();
    if entry.seen_pods.is_empty() {
        entry.seen_pods = pods.iter().filter_map(|p| p.metadata.uid.clone()).collect();
    }
    entry.creates += creates;
    entry.deletes.extend(deletes.iter().cloned());
}

fn object_reference(job: &Job) -> ObjectReference {
    job.object_ref(&())
}

async fn event(context: &Context, job: &Job, kind: EventType, reason: &str, note: String) {
    let event = Event {
        type_: kind,
        reason: reason.to_owned(),
        note: Some(note),
        action: reason.to_owned(),
        secondary: None,
    };
    if let Err(error) = context
        .recorder
        .publish(&event, &object_reference(job))
        .await
    {
        tracing::debug!(controller = NAME, job = %key(job), %error, "recording an event failed");
    }
}

fn api_error(action: &'static str, job: &Job) -> impl FnOnce(kube::Error) -> SyncError {
    let (namespace, name) = (job.namespace().unwrap_or_default(), job.name_any());
    move |source| SyncError::Api {
        action,
        namespace,
        name,
        source,
    }
}

async fn sync(job: &Job, pods: &[Arc<Pod>], context: &Context) -> Result<Action, SyncError> {
    let now = Timestamp::now();
    let spec = job.spec.clone().unwrap_or_default();
    let indexed = spec.completion_mode.as_deref() == Some("Indexed");
    let original = job.status.clone().unwrap_or_default();
    let mut status = original.clone();
    let mut current = job.clone();
    let jobs: Api<Job> =
        Api::namespaced(context.client.clone(), &job.namespace().unwrap_or_default());
    let pod_api: Api<Pod> =
        Api::namespaced(context.client.clone(), &job.namespace().unwrap_or_default());

    // A finished Job only lets go of its pods.
    if is_finished_job(&status) {
        for pod in pods.iter().filter(|p| has_tracking_finalizer(p)) {
            remove_finalizer(&pod_api, pod)
                .await
                .map_err(api_error("removing a pod finalizer", job))?;
        }
        return Ok(Action::await_change());
    }

    // 1. Count finished pods through uncountedTerminatedPods.
    let uncounted = status
        .uncounted_terminated_pods
        .get_or_insert_with(UncountedTerminatedPods::default);
    let mut recorded: BTreeSet<String> = uncounted
        .succeeded
        .iter()
        .flatten()
        .chain(uncounted.failed.iter().flatten())
        .cloned()
        .collect();
    let mut fail_job_message: Option<String> = None;
    let mut failed_indexes = status
        .failed_indexes
        .as_deref()
        .map(parse_indexes)
        .unwrap_or_default();
    let mut newly_recorded = false;
    for pod in pods {
        let Some(uid) = pod.metadata.uid.clone() else {
            continue;
        };
        if !has_tracking_finalizer(pod) || recorded.contains(&uid) {
            continue;
        }
        // A pod deleted before it finished counts as failed while the Job runs; the pods a
        // finishing Job deletes itself are only let go.
        let succeeded = phase(pod) == "Succeeded";
        let ending = condition(&original, "FailureTarget").is_some()
            || condition(&original, "SuccessCriteriaMet").is_some();
        let deleted = pod.metadata.deletion_timestamp.is_some() && !succeeded;
        if deleted && ending && phase(pod) != "Failed" {
            recorded.insert(uid);
            continue;
        }
        let failed = phase(pod) == "Failed" || deleted;
        if !succeeded && !failed {
            continue;
        }
        if succeeded {
            uncounted
                .succeeded
                .get_or_insert_with(Vec::new)
                .push(uid.clone());
        } else {
            match failure_verdict(job, pod) {
                FailureVerdict::Ignore => {}
                FailureVerdict::FailJob(message) => {
                    fail_job_message.get_or_insert(message);
                    uncounted
                        .failed
                        .get_or_insert_with(Vec::new)
                        .push(uid.clone());
                }
                FailureVerdict::FailIndex => {
                    if let Some(index) = completion_index(pod) {
                        failed_indexes.insert(index);
                    }
                    uncounted
                        .failed
                        .get_or_insert_with(Vec::new)
                        .push(uid.clone());
                }
                FailureVerdict::Count => {
                    uncounted
                        .failed
                        .get_or_insert_with(Vec::new)
                        .push(uid.clone());
                }
            }
        }
        recorded.insert(uid);
        newly_recorded = true;
    }
    let mut completed_indexes = status
        .completed_indexes
        .as_deref()
        .map(parse_indexes)
        .unwrap_or_default();
    if newly_recorded {
        if status.start_time.is_none() && !spec.suspend.unwrap_or(false) {
            status.start_time = Some(Time(now));
        }
        current = write_status(&jobs, &current, &status).await?;
    }
    // Finalizers off every recorded (and every untracked finished) pod.
    for pod in pods.iter().filter(|p| has_tracking_finalizer(p)) {
        let uid = pod.metadata.uid.clone().unwrap_or_default();
        if recorded.contains(&uid) {
            remove_finalizer(&pod_api, pod)
                .await
                .map_err(api_error("removing a pod finalizer", job))?;
        }
    }
    // Fold recorded pods whose finalizer is gone into the counts.
    let mut succeeded = status.succeeded.unwrap_or(0);
    let mut failed = status.failed.unwrap_or(0);
    let tracked: BTreeMap<String, &Arc<Pod>> = pods
        .iter()
        .filter_map(|p| Some((p.metadata.uid.clone()?, p)))
        .collect();
    if let Some(uncounted) = status.uncounted_terminated_pods.as_mut() {
        let still_held = |uid: &String| tracked.get(uid).is_some_and(|p| has_tracking_finalizer(p));
        let mut keep_succeeded = Vec::new();
        for uid in uncounted.succeeded.take().unwrap_or_default() {
            if still_held(&uid) {
                keep_succeeded.push(uid);
                continue;
            }
            succeeded += 1;
            if indexed && let Some(index) = tracked.get(&uid).and_then(|p| completion_index(p)) {
                completed_indexes.insert(index);
            }
        }
        let mut keep_failed = Vec::new();
        for uid in uncounted.failed.take().unwrap_or_default() {
            if still_held(&uid) {
                keep_failed.push(uid);
                continue;
            }
            failed += 1;
        }
        uncounted.succeeded = (!keep_succeeded.is_empty()).then_some(keep_succeeded);
        uncounted.failed = (!keep_failed.is_empty()).then_some(keep_failed);
    }
    status.succeeded = Some(succeeded);
    status.failed = Some(failed);
    // The Job's fate and its pod count go by every finished pod, counted or still uncounted.
    let (pending_succeeded, pending_failed) =
        status
            .uncounted_terminated_pods
            .as_ref()
            .map_or((Vec::new(), Vec::new()), |u| {
                (
                    u.succeeded.clone().unwrap_or_default(),
                    u.failed.clone().unwrap_or_default(),
                )
            });
    let mut completed_so_far = completed_indexes.clone();
    for uid in &pending_succeeded {
        if let Some(index) = tracked.get(uid).and_then(|p| completion_index(p)) {
            completed_so_far.insert(index);
        }
    }
    let succeeded = succeeded + i32::try_from(pending_succeeded.len()).unwrap_or(i32::MAX);
    let failed = failed + i32::try_from(pending_failed.len()).unwrap_or(i32::MAX);
    if indexed {
        let completions = spec.completions.unwrap_or(1);
        completed_indexes.retain(|i| *i < completions);
        status.completed_indexes = Some(format_indexes(&completed_indexes));
        if spec.backoff_limit_per_index.is_some() {
            status.failed_indexes = Some(format_indexes(&failed_indexes));
        }
    }

    // 2. The Job's fate.
    let active: Vec<&Arc<Pod>> = pods.iter().filter(|p| is_active(p)).collect();
    let terminating = pods.iter().filter(|p| is_terminating(p)).count();
    let backoff_limit = spec.backoff_limit.unwrap_or(6);
    let completions = spec.completions;
    let parallelism = spec.parallelism.unwrap_or(1).max(0);
    let suspended = spec.suspend.unwrap_or(false);
    let mut failure: Option<(String, String)> = None;
    if condition(&status, "FailureTarget").is_none()
        && condition(&status, "SuccessCriteriaMet").is_none()
    {
        if let Some(message) = fail_job_message {
            failure = Some(("PodFailurePolicy".to_owned(), message));
        } else if spec.backoff_limit_per_index.is_none() && failed > backoff_limit {
            failure = Some((
                "BackoffLimitExceeded".to_owned(),
                "Job has reached the specified backoff limit".to_owned(),
            ));
        } else if let (Some(deadline), Some(start)) =
            (spec.active_deadline_seconds, status.start_time.as_ref())
            && !suspended
            && now.as_second() - start.0.as_second() >= deadline
        {
            failure = Some((
                "DeadlineExceeded".to_owned(),
                "Job was active longer than specified deadline".to_owned(),
            ));
        } else if indexed
            && let Some(limit) = spec.max_failed_indexes
            && i32::try_from(failed_indexes.len()).unwrap_or(i32::MAX) > limit
        {
            failure = Some((
                "MaxFailedIndexesExceeded".to_owned(),
                "Job has exceeded the specified maximal number of failed indexes".to_owned(),
            ));
        }
    }
    if let Some((reason, message)) = &failure {
        set_condition(&mut status, "FailureTarget", "True", reason, message, now);
        event(context, job, EventType::Warning, reason, message.clone()).await;
    }
    let success = if condition(&status, "SuccessCriteriaMet").is_none()
        && condition(&status, "FailureTarget").is_none()
    {
        success_reached(job, indexed, succeeded, &completed_so_far)
    } else {
        None
    };
    if let Some((reason, message)) = success {
        set_condition(
            &mut status,
            "SuccessCriteriaMet",
            "True",
            &reason,
            &message,
            now,
        );
    }
    let ending_failed = condition(&status, "FailureTarget").cloned();
    let ending_succeeded = condition(&status, "SuccessCriteriaMet").cloned();
    let mut requeue = None;
    if ending_failed.is_some() || ending_succeeded.is_some() {
        delete_pods(context, job, pods, &active).await?;
        let still_running = pods.iter().filter(|p| !is_finished(p)).count();
        if still_running == 0
            && status
                .uncounted_terminated_pods
                .as_ref()
                .is_none_or(|u| u.succeeded.is_none() && u.failed.is_none())
        {
            if let Some(target) = ending_failed {
                set_condition(
                    &mut status,
                    "Failed",
                    "True",
                    target.reason.as_deref().unwrap_or_default(),
                    target.message.as_deref().unwrap_or_default(),
                    now,
                );
            } else if let Some(target) = ending_succeeded {
                set_condition(
                    &mut status,
                    "Complete",
                    "True",
                    target.reason.as_deref().unwrap_or("CompletionsReached"),
                    target
                        .message
                        .as_deref()
                        .unwrap_or("Reached expected number of succeeded pods"),
                    now,
                );
                status.completion_time = Some(Time(now));
                event(
                    context,
                    job,
                    EventType::Normal,
                    "Completed",
                    "Job completed".to_owned(),
                )
                .await;
            }
        } else {
            requeue = Some(EXPECTATIONS_RETRY);
        }
    } else if suspended {
        // 3a. Suspended: no pods.
        delete_pods(context, job, pods, &active).await?;
        if set_condition(
            &mut status,
            "Suspended",
            "True",
            "JobSuspended",
            "Job suspended",
            now,
        ) {
            event(
                context,
                job,
                EventType::Normal,
                "Suspended",
                "Job suspended".to_owned(),
            )
            .await;
        }
        status.start_time = None;
    } else {
        // 3b. Running: resume, then the right number of active pods.
        if status
            .conditions
            .iter()
            .flatten()
            .any(|c| c.type_ == "Suspended" && c.status == "True")
        {
            set_condition(
                &mut status,
                "Suspended",
                "False",
                "JobResumed",
                "Job resumed",
                now,
            );
            event(
                context,
                job,
                EventType::Normal,
                "Resumed",
                "Job resumed".to_owned(),
            )
            .await;
        }
        if status.start_time.is_none() {
            status.start_time = Some(Time(now));
        }
        let wanted = wanted_indexes_or_count(
            indexed,
            completions,
            parallelism,
            succeeded,
            &completed_so_far,
            &failed_indexes,
            &active,
        );
        match wanted {
            Wanted::Count(want) => {
                let have = active.len();
                if have < want {
                    if let Some(wait) = failure_backoff(pods, failed, now) {
                        requeue = Some(wait);
                    } else {
                        create_pods(context, job, pods, &vec![None; want - have]).await?;
                    }
                } else if have > want {
                    let mut surplus: Vec<&Arc<Pod>> = active.clone();
                    surplus.sort_by_key(|p| (is_ready(p), phase(p) == "Running"));
                    surplus.truncate(have - want);
                    delete_pods(context, job, pods, &surplus).await?;
                }
            }
            Wanted::Indexes(indexes) => {
                if !indexes.is_empty() {
                    if let Some(wait) = failure_backoff(pods, failed, now) {
                        requeue = Some(wait);
                    } else {
                        let indexes: Vec<Option<i32>> = indexes.into_iter().map(Some).collect();
                        create_pods(context, job, pods, &indexes).await?;
                    }
                }
            }
        }
        if let (Some(deadline), Some(start)) =
            (spec.active_deadline_seconds, status.start_time.as_ref())
        {
            let left = deadline - (now.as_second() - start.0.as_second());
            let left = Duration::from_secs(u64::try_from(left.max(1)).unwrap_or(1));
            requeue = Some(requeue.map_or(left, |r: Duration| r.min(left)));
        }
    }

    // 4. The status.
    let live_pods = owned_pods(job, &context.pods);
    status.active =
        Some(i32::try_from(live_pods.iter().filter(|p| is_active(p)).count()).unwrap_or(i32::MAX));
    status.ready = Some(
        i32::try_from(
            live_pods
                .iter()
                .filter(|p| is_active(p) && is_ready(p))
                .count(),
        )
        .unwrap_or(i32::MAX),
    );
    status.terminating = Some(i32::try_from(terminating).unwrap_or(i32::MAX));
    if status != original {
        write_status(&jobs, &current, &status).await?;
    }
    Ok(requeue.map_or_else(Action::await_change, Action::requeue))
}

/// Whether the Job has enough successes: `(reason, message)` for `SuccessCriteriaMet`.
fn success_reached(
    job: &Job,
    indexed: bool,
    succeeded: i32,
    completed: &BTreeSet<i32>,
) -> Option<(String, String)> {
    let spec = job.spec.as_ref()?;
    if indexed {
        if let Some(policy) = &spec.success_policy {
            for (index, rule) in policy.rules.iter().enumerate() {
                let wanted = rule.succeeded_indexes.as_deref().map(parse_indexes);
                let hits = match &wanted {
                    Some(wanted) => wanted.intersection(completed).count(),
                    None => completed.len(),
                };
                let enough_count = rule
                    .succeeded_count
                    .is_none_or(|n| i32::try_from(hits).unwrap_or(i32::MAX) >= n);
                let all_listed = rule.succeeded_count.is_some()
                    || wanted.as_ref().is_some_and(|w| w.is_subset(completed));
                if enough_count && all_listed {
                    return Some((
                        "SuccessPolicy".to_owned(),
                        format!("Matched rules at index {index}"),
                    ));
                }
            }
        }
        let completions = spec.completions.unwrap_or(1);
        (i32::try_from(completed.len()).unwrap_or(i32::MAX) >= completions).then(|| {
            (
                "CompletionsReached".to_owned(),
                "Reached expected number of succeeded pods".to_owned(),
            )
        })
    } else {
        let reached = match spec.completions {
            Some(completions) => succeeded >= completions,
            // Without completions, the first success ends the Job once nothing else runs.
            None => succeeded > 0,
        };
        reached.then(|| {
            (
                "CompletionsReached".to_owned(),
                "Reached expected number of succeeded pods".to_owned(),
            )
        })
    }
}

enum Wanted {
    Count(usize),
    Indexes(Vec<i32>),
}

fn wanted_indexes_or_count(
    indexed: bool,
    completions: Option<i32>,
    parallelism: i32,
    succeeded: i32,
    completed: &BTreeSet<i32>,
    failed_indexes: &BTreeSet<i32>,
    active: &[&Arc<Pod>],
) -> Wanted {
    let parallelism = usize::try_from(parallelism).unwrap_or(0);
    if indexed {
        let completions = completions.unwrap_or(1);
        let running: BTreeSet<i32> = active.iter().filter_map(|p| completion_index(p)).collect();
        let room = parallelism.saturating_sub(active.len());
        let missing: Vec<i32> = (0..completions)
            .filter(|i| {
                !completed.contains(i) && !running.contains(i) && !failed_indexes.contains(i)
            })
            .take(room)
            .collect();
        return Wanted::Indexes(missing);
    }
    let want = match completions {
        Some(completions) => {
            let remaining = usize::try_from((completions - succeeded).max(0)).unwrap_or(0);
            remaining.min(parallelism)
        }
        None if succeeded > 0 => 0,
        None => parallelism,
    };
    Wanted::Count(want)
}

/// How long to wait before replacing failed pods: 10 s doubled per failure (up to 6 min) from the
/// last failure; `None` when it has passed or nothing failed.
fn failure_backoff(pods: &[Arc<Pod>], failed: i32, now: Timestamp) -> Option<Duration> {
    if failed <= 0 {
        return None;
    }
    let exponent = u32::try_from(failed - 1).unwrap_or(0).min(10);
    let delay = (BASE_BACKOFF * 2u32.pow(exponent)).min(MAX_BACKOFF);
    let last = pods
        .iter()
        .filter(|p| phase(p) == "Failed")
        .filter_map(|p| finish_time(p))
        .max()?;
    let elapsed = now.duration_since(last).as_secs_f64();
    let remaining = delay.as_secs_f64() - elapsed;
    (remaining > 0.0).then(|| Duration::from_secs_f64(remaining))
}

/// Write `status` over `job` (its resourceVersion guards the write); the Job as written.
async fn write_status(jobs: &Api<Job>, job: &Job, status: &JobStatus) -> Result<Job, SyncError> {
    let mut updated = job.clone();
    updated.status = Some(status.clone());
    jobs.replace_status(&job.name_any(), &PostParams::default(), &updated)
        .await
        .map_err(api_error("updating the status", job))
}

async fn remove_finalizer(pods: &Api<Pod>, pod: &Pod) -> Result<(), kube::Error> {
    if !has_tracking_finalizer(pod) {
        return Ok(());
    }
    let remaining: Vec<&String> = pod
        .finalizers()
        .iter()
        .filter(|f| *f != TRACKING_FINALIZER)
        .collect();
    // The resourceVersion makes the merge patch conditional: a pod changed meanwhile is looked at
    // again by the next sync rather than losing someone else's finalizer.
    let patch = serde_json::json!({"metadata": {
        "finalizers": remaining,
        "resourceVersion": pod.metadata.resource_version,
    }});
    match pods
        .patch(
            &pod.name_any(),
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await
    {
        Ok(_) => Ok(()),
        Err(error) if matches!(crate::api_code(&error), Some(404 | 409)) => Ok(()),
        Err(error) => Err(error),
    }
}

async fn delete_pods(
    context: &Context,
    job: &Job,
    all: &[Arc<Pod>],
    victims: &[&Arc<Pod>],
) -> Result<(), SyncError> {
    if victims.is_empty() {
        return Ok(());
    }
    let api: Api<Pod> =
        Api::namespaced(context.client.clone(), &job.namespace().unwrap_or_default());
    let uids: Vec<String> = victims
        .iter()
        .filter_map(|p| p.metadata.uid.clone())
        .collect();
    expect(
        context,
        job.metadata.uid.as_deref().unwrap_or_default(),
        all,
        0,
        &uids,
    );
    for pod in victims {
        let params = DeleteParams {
            preconditions: pod.metadata.uid.clone().map(|uid| Preconditions {
                uid: Some(uid),
                resource_version: None,
            }),
            ..DeleteParams::default()
        };
        match api.delete(&pod.name_any(), &params).await {
            Ok(_) => {
                event(
                    context,
                    job,
                    EventType::Normal,
                    "SuccessfulDelete",
                    format!("Deleted pod: {}", pod.name_any()),
                )
                .await;
            }
            Err(error) if matches!(crate::api_code(&error), Some(404 | 409)) => {}
            Err(error) => return Err(api_error("deleting a pod", job)(error)),
        }
    }
    Ok(())
}

/// The pod for `index` (Indexed Jobs) or an unindexed one.
pub fn pod_for(job: &Job, index: Option<i32>) -> Pod {
    let template: PodTemplateSpec = job
        .spec
        .as_ref()
        .map(|s| s.template.clone())
        .unwrap_or_default();
    let job_name = job.name_any();
    let mut metadata = template.metadata.unwrap_or_default();
    let mut spec = template.spec.unwrap_or_default();
    metadata.name = None;
    metadata.generate_name = Some(match index {
        Some(i) => format!("{job_name}-{i}-"),
        None => format!("{job_name}-"),
    });
    metadata.namespace = job.namespace();
    metadata.finalizers = Some(vec![TRACKING_FINALIZER.to_owned()]);
    metadata.owner_references = Some(vec![OwnerReference {
        api_version: "batch/v1".to_owned(),
        kind: "Job".to_owned(),
        name: job_name.clone(),
        uid: job.metadata.uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }]);
    if let Some(i) = index {
        metadata
            .annotations
            .get_or_insert_with(BTreeMap::new)
            .insert(COMPLETION_INDEX.to_owned(), i.to_string());
        metadata
            .labels
            .get_or_insert_with(BTreeMap::new)
            .insert(COMPLETION_INDEX.to_owned(), i.to_string());
        if spec.hostname.is_none() {
            spec.hostname = Some(format!("{job_name}-{i}"));
        }
        let index_env = EnvVar {
            name: "JOB_COMPLETION_INDEX".to_owned(),
            value_from: Some(k8s_openapi::api::core::v1::EnvVarSource {
                field_ref: Some(k8s_openapi::api::core::v1::ObjectFieldSelector {
                    api_version: None,
                    field_path: format!("metadata.labels['{COMPLETION_INDEX}']"),
                }),
                ..Default::default()
            }),
            value: None,
        };
        for container in spec
            .containers
            .iter_mut()
            .chain(spec.init_containers.iter_mut().flatten())
        {
            container
                .env
                .get_or_insert_with(Vec::new)
                .push(index_env.clone());
        }
    }
    Pod {
        metadata: ObjectMeta { ..metadata },
        spec: Some(spec),
        status: None,
    }
}

async fn create_pods(
    context: &Context,
    job: &Job,
    all: &[Arc<Pod>],
    indexes: &[Option<i32>],
) -> Result<(), SyncError> {
    let api: Api<Pod> =
        Api::namespaced(context.client.clone(), &job.namespace().unwrap_or_default());
    let uid = job.metadata.uid.clone().unwrap_or_default();
    let params = PostParams {
        field_manager: Some(crate::FIELD_MANAGER.to_owned()),
        ..PostParams::default()
    };
    let mut remaining = &indexes[..indexes.len().min(MAX_BATCH)];
    let mut batch = 1;
    while !remaining.is_empty() {
        let (now, later) = remaining.split_at(batch.min(remaining.len()));
        expect(context, &uid, all, now.len(), &[]);
        let built: Vec<Pod> = now.iter().map(|index| pod_for(job, *index)).collect();
        let results =
            futures::future::join_all(built.iter().map(|pod| api.create(&params, pod))).await;
        let mut failure = None;
        for result in results {
            match result {
                Ok(pod) => {
                    event(
                        context,
                        job,
                        EventType::Normal,
                        "SuccessfulCreate",
                        format!("Created pod: {}", pod.name_any()),
                    )
                    .await;
                }
                Err(error) => {
                    // The pod never comes: lower the expectation.
                    expect_fewer(context, &uid);
                    if crate::is_namespace_terminating(&error) {
                        continue;
                    }
                    event(
                        context,
                        job,
                        EventType::Warning,
                        "FailedCreate",
                        format!("Error creating: {error}"),
                    )
                    .await;
                    failure.get_or_insert(error);
                }
            }
        }
        if let Some(error) = failure {
            return Err(api_error("creating a pod", job)(error));
        }
        remaining = later;
        batch *= 2;
    }
    Ok(())
}

fn expect_fewer(context: &Context, uid: &str) {
    let mut all = context
        .expectations
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(entry) = all.get_mut(uid) {
        entry.creates = entry.creates.saturating_sub(1);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;

    #[test]
    fn indexes_round_trip_in_upstreams_text() {
        let set = parse_indexes("0-2,4,7,8");
        assert_eq!(set, [0, 1, 2, 4, 7, 8].into_iter().collect());
        assert_eq!(format_indexes(&set), "0-2,4,7,8");
        assert_eq!(format_indexes(&BTreeSet::new()), "");
        assert_eq!(format_indexes(&[1, 2, 3, 4].into_iter().collect()), "1-4");
    }

    fn job(spec: serde_json::Value) -> Job {
        serde_json::from_value(
            json!({"metadata": {"name": "pi", "namespace": "ns", "uid": "job-uid"}, "spec": spec}),
        )
        .unwrap()
    }

    #[test]
    fn failure_policy_rules_match_exit_codes_and_conditions() {
        let j = job(json!({"template": {}, "podFailurePolicy": {"rules": [
            {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget"}]},
            {"action": "FailJob", "onExitCodes": {"containerName": "main", "operator": "In", "values": [42]}},
        ]}}));
        let pod = |code: i32, disrupted: bool| -> Pod {
            serde_json::from_value(json!({"metadata": {"name": "p", "namespace": "ns"}, "status": {
                "phase": "Failed",
                "conditions": if disrupted { json!([{"type": "DisruptionTarget", "status": "True"}]) } else { json!([]) },
                "containerStatuses": [{"name": "main", "image": "i", "imageID": "", "ready": false, "restartCount": 0,
                    "state": {"terminated": {"exitCode": code}}}]
            }})).unwrap()
        };
        assert_eq!(
            failure_verdict(&j, &pod(42, false)),
            FailureVerdict::FailJob("Container main for pod ns/p failed with exit code 42 matching FailJob rule at index 1".into())
        );
        assert_eq!(failure_verdict(&j, &pod(1, true)), FailureVerdict::Ignore);
        assert_eq!(failure_verdict(&j, &pod(1, false)), FailureVerdict::Count);
    }

    #[test]
    fn pods_carry_owner_finalizer_and_index() {
        let j = job(
            json!({"completionMode": "Indexed", "template": {"metadata": {"labels": {"app": "pi"}}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}}}),
        );
        let pod = serde_json::to_value(pod_for(&j, Some(3))).unwrap();
        assert_eq!(pod["metadata"]["generateName"], "pi-3-");
        assert_eq!(pod["metadata"]["finalizers"], json!([TRACKING_FINALIZER]));
        assert_eq!(pod["metadata"]["annotations"][COMPLETION_INDEX], "3");
        assert_eq!(pod["metadata"]["ownerReferences"][0]["uid"], "job-uid");
        assert_eq!(pod["spec"]["hostname"], "pi-3");
        assert_eq!(
            pod["spec"]["containers"][0]["env"][0]["name"],
            "JOB_COMPLETION_INDEX"
        );
    }

    #[test]
    fn wanted_pods_follow_parallelism_and_completions() {
        let none: Vec<&Arc<Pod>> = Vec::new();
        let count = |completions, parallelism, succeeded| match wanted_indexes_or_count(
            false,
            completions,
            parallelism,
            succeeded,
            &BTreeSet::new(),
            &BTreeSet::new(),
            &none,
        ) {
            Wanted::Count(n) => n,
            Wanted::Indexes(_) => usize::MAX,
        };
        assert_eq!(count(Some(5), 2, 0), 2);
        assert_eq!(count(Some(5), 2, 4), 1);
        assert_eq!(count(None, 3, 0), 3);
        assert_eq!(count(None, 3, 1), 0);
        match wanted_indexes_or_count(
            true,
            Some(4),
            2,
            0,
            &[0].into_iter().collect(),
            &BTreeSet::new(),
            &none,
        ) {
            Wanted::Indexes(i) => assert_eq!(i, [1, 2]),
            Wanted::Count(_) => panic!("indexed"),
        }
    }
}
