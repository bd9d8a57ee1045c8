//! The statefulset controller (upstream `pkg/controller/statefulset`): pods with stable names
//! (`<set>-<ordinal>`), stable hostnames under the governing Service, and stable storage.
//!
//! Keyed by StatefulSet; its pods (controller owner reference) come from the shared pod informer
//! and requeue it. A sync:
//!
//! 1. records the pod template as a ControllerRevision (`<set>-<hash>`, the hash of the template)
//!    when it is new, and prunes revisions beyond `revisionHistoryLimit` that no pod uses;
//! 2. creates each missing ordinal's PersistentVolumeClaims (`<template>-<set>-<ordinal>`) from
//!    `volumeClaimTemplates`, owned by the set when `persistentVolumeClaimRetentionPolicy.whenDeleted`
//!    is Delete, then the pod; with `OrderedReady` one ordinal at a time, each only once every
//!    lower one is Running and Ready, with `Parallel` all at once; failed pods are replaced;
//! 3. scales down from the highest ordinal (one at a time with `OrderedReady`), deleting the
//!    scaled-down pods' claims when `whenScaled` is Delete;
//! 4. rolls pods onto the update revision with `RollingUpdate` (ordinals at or above `partition`,
//!    highest first, one at a time once the others are ready) or, with `OnDelete`, only when a pod
//!    is deleted;
//! 5. writes the status (`replicas`, `readyReplicas`, `availableReplicas`, `currentReplicas`,
//!    `updatedReplicas`, `currentRevision`, `updateRevision`, `observedGeneration`).

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use futures::StreamExt as _;
use k8s_openapi::{
    api::{
        apps::v1::{StatefulSet, StatefulSetStatus},
        core::v1::{PersistentVolumeClaim, PersistentVolumeClaimVolumeSource, Pod, Volume},
    },
    apimachinery::pkg::apis::meta::v1::OwnerReference,
};
use kube::{
    Api, Client, Resource as _, ResourceExt as _,
    api::{DeleteParams, PostParams, Preconditions},
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

const NAME: &str = "statefulset-controller";
/// The label carrying a pod's revision.
pub const REVISION_LABEL: &str = crate::revisions::REVISION_LABEL;
/// The label carrying a pod's name (for per-pod Services).
pub const POD_NAME_LABEL: &str = "statefulset.kubernetes.io/pod-name";
/// The label carrying a pod's ordinal.
pub const POD_INDEX_LABEL: &str = "apps.kubernetes.io/pod-index";
const CACHE_SYNC_RETRY: Duration = Duration::from_millis(100);

/// A failed sync.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The pod cache's reflector is gone.
    #[error("the pod cache stopped before its first list")]
    CacheGone,
    /// A call to the API failed.
    #[error("{action} for StatefulSet {key}: {source}")]
    Api {
        /// What was done.
        action: &'static str,
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
    recorder: Recorder,
    backoff: FailureBackoff,
}

/// Run the controller until `shutdown` turns true.
pub async fn run(client: Client, pods: SharedInformer<Pod>, shutdown: watch::Receiver<bool>) {
    tracing::info!(controller = NAME, "starting controller");
    let pod_stream = pods.subscribe();
    let context = Arc::new(Context {
        recorder: Recorder::new(
            client.clone(),
            Reporter {
                controller: NAME.to_owned(),
                instance: None,
            },
        ),
        client: client.clone(),
        pods: pods.store(),
        backoff: FailureBackoff::default(),
    });
    Controller::new(Api::<StatefulSet>::all(client), watcher::Config::default())
        .watches_shared_stream(pod_stream, |pod: Arc<Pod>| {
            let owner = pod
                .owner_references()
                .iter()
                .find(|o| o.controller == Some(true) && o.kind == "StatefulSet")?;
            Some(ObjectRef::<StatefulSet>::new(&owner.name).within(&pod.namespace()?))
        })
        .graceful_shutdown_on(crate::serviceaccount::shutdown_signal(shutdown))
        .run(reconcile, error_policy, context)
        .for_each(|result| async move {
            crate::manager::log_controller_result(NAME, result);
        })
        .await;
    tracing::info!(controller = NAME, "shutting down controller");
}

fn key(set: &StatefulSet) -> String {
    format!("{}/{}", set.namespace().unwrap_or_default(), set.name_any())
}

fn error_policy(set: Arc<StatefulSet>, error: &SyncError, context: Arc<Context>) -> Action {
    let delay = context.backoff.next_delay(&key(&set));
    tracing::warn!(controller = NAME, set = %key(&set), %error, retry_in = ?delay, "sync failed");
    Action::requeue(delay)
}

fn api_error(action: &'static str, set: &StatefulSet) -> impl FnOnce(kube::Error) -> SyncError {
    let key = key(set);
    move |source| SyncError::Api {
        action,
        key,
        source,
    }
}

// === pod facts ===

fn phase(pod: &Pod) -> &str {
    pod.status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or("Pending")
}

fn is_ready(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

fn is_running_and_ready(pod: &Pod) -> bool {
    phase(pod) == "Running" && is_ready(pod) && pod.metadata.deletion_timestamp.is_none()
}

/// The ordinal in a pod's name `<set>-<ordinal>`.
pub fn ordinal_of(set_name: &str, pod_name: &str) -> Option<i32> {
    pod_name
        .strip_prefix(set_name)?
        .strip_prefix('-')?
        .parse()
        .ok()
        .filter(|o: &i32| *o >= 0)
}

fn revision_of(pod: &Pod) -> Option<&str> {
    pod.labels().get(REVISION_LABEL).map(String::as_str)
}

// === revisions ===

/// The name of the revision holding the set's current template.
pub fn update_revision_name(set: &StatefulSet) -> String {
    let collisions = set
        .status
        .as_ref()
        .and_then(|s| s.collision_count)
        .unwrap_or(0);
    crate::revisions::revision_name(&set.name_any(), &set.spec.template, collisions)
}

fn owner_ref(set: &StatefulSet) -> OwnerReference {
    OwnerReference {
        api_version: "apps/v1".to_owned(),
        kind: "StatefulSet".to_owned(),
        name: set.name_any(),
        uid: set.metadata.uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

/// Make sure the update revision exists; prune unused old ones beyond the history limit.
async fn sync_revisions(
    context: &Context,
    set: &StatefulSet,
    revision: &str,
    pods: &[Arc<Pod>],
) -> Result<(), SyncError> {
    let namespace = set.namespace().unwrap_or_default();
    let mut keep: Vec<String> = pods
        .iter()
        .filter_map(|p| revision_of(p).map(str::to_owned))
        .collect();
    keep.extend(set.status.as_ref().and_then(|s| s.current_revision.clone()));
    let request = crate::revisions::RevisionRequest {
        namespace: &namespace,
        owner: owner_ref(set),
        name: revision,
        data: serde_json::json!({"spec": {"template": set.spec.template, "$patch": "replace"}}),
        labels: set.spec.selector.match_labels.clone().unwrap_or_default(),
        history_limit: usize::try_from(set.spec.revision_history_limit.unwrap_or(10).max(0))
            .unwrap_or(10),
        keep,
    };
    crate::revisions::ensure(&context.client, request)
        .await
        .map_err(api_error("syncing revisions", set))
}

// === pods and claims ===

/// The claim `template` makes for `ordinal`: `<template>-<set>-<ordinal>`.
pub fn claim_name(template: &str, set: &str, ordinal: i32) -> String {
    format!("{template}-{set}-{ordinal}")
}

/// The pod for `ordinal` at `revision`.
pub fn pod_for(set: &StatefulSet, ordinal: i32, revision: &str) -> Pod {
    let spec = set.spec.clone();
    let set_name = set.name_any();
    let name = format!("{set_name}-{ordinal}");
    let mut metadata = spec.template.metadata.clone().unwrap_or_default();
    let mut pod_spec = spec.template.spec.clone().unwrap_or_default();
    metadata.name = Some(name.clone());
    metadata.generate_name = None;
    metadata.namespace = set.namespace();
    metadata.owner_references = Some(vec![owner_ref(set)]);
    let labels = metadata.labels.get_or_insert_with(BTreeMap::new);
    labels.insert(POD_NAME_LABEL.to_owned(), name.clone());
    labels.insert(POD_INDEX_LABEL.to_owned(), ordinal.to_string());
    labels.insert(REVISION_LABEL.to_owned(), revision.to_owned());
    pod_spec.hostname = Some(name);
    if let Some(service) = spec.service_name.clone().filter(|s| !s.is_empty()) {
        pod_spec.subdomain = Some(service);
    }
    for template in spec.volume_claim_templates.iter().flatten() {
        let template_name = template.name_any();
        let volumes = pod_spec.volumes.get_or_insert_with(Vec::new);
        volumes.retain(|v| v.name != template_name);
        volumes.push(Volume {
            name: template_name.clone(),
            persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                claim_name: claim_name(&template_name, &set_name, ordinal),
                read_only: None,
            }),
            ..Volume::default()
        });
    }
    Pod {
        metadata,
        spec: Some(pod_spec),
        status: None,
    }
}

fn retention(set: &StatefulSet) -> (bool, bool) {
    let policy = Some(&set.spec).and_then(|s| s.persistent_volume_claim_retention_policy.as_ref());
    let delete_on = |value: Option<&String>| value.is_some_and(|v| v == "Delete");
    (
        delete_on(policy.and_then(|p| p.when_deleted.as_ref())),
        delete_on(policy.and_then(|p| p.when_scaled.as_ref())),
    )
}

async fn create_claims(
    context: &Context,
    set: &StatefulSet,
    ordinal: i32,
) -> Result<(), SyncError> {
    let namespace = set.namespace().unwrap_or_default();
    let api: Api<PersistentVolumeClaim> = Api::namespaced(context.client.clone(), &namespace);
    let (delete_with_set, _) = retention(set);
    for template in
        std::iter::once(&set.spec).flat_map(|s| s.volume_claim_templates.iter().flatten())
    {
        let name = claim_name(&template.name_any(), &set.name_any(), ordinal);
        if api
            .get_opt(&name)
            .await
            .map_err(api_error("reading a claim", set))?
            .is_some()
        {
            continue;
        }
        let mut claim = template.clone();
        claim.metadata.name = Some(name);
        claim.metadata.namespace = Some(namespace.clone());
        claim.metadata.resource_version = None;
        claim.metadata.uid = None;
        claim.status = None;
        let labels = claim.metadata.labels.get_or_insert_with(BTreeMap::new);
        for (k, v) in Some(&set.spec)
            .and_then(|s| s.selector.match_labels.clone())
            .unwrap_or_default()
        {
            labels.entry(k).or_insert(v);
        }
        if delete_with_set {
            claim.metadata.owner_references = Some(vec![OwnerReference {
                controller: Some(false),
                ..owner_ref(set)
            }]);
        }
        match api.create(&PostParams::default(), &claim).await {
            Ok(_) => {}
            Err(error) if crate::api_code(&error) == Some(409) => {}
            Err(error) => return Err(api_error("creating a claim", set)(error)),
        }
    }
    Ok(())
}

async fn delete_claims(
    context: &Context,
    set: &StatefulSet,
    ordinal: i32,
) -> Result<(), SyncError> {
    let api: Api<PersistentVolumeClaim> =
        Api::namespaced(context.client.clone(), &set.namespace().unwrap_or_default());
    for template in
        std::iter::once(&set.spec).flat_map(|s| s.volume_claim_templates.iter().flatten())
    {
        let name = claim_name(&template.name_any(), &set.name_any(), ordinal);
        match api.delete(&name, &DeleteParams::default()).await {
            Ok(_) => {}
            Err(error) if crate::api_code(&error) == Some(404) => {}
            Err(error) => return Err(api_error("deleting a claim", set)(error)),
        }
    }
    Ok(())
}

async fn event(context: &Context, set: &StatefulSet, kind: EventType, reason: &str, note: String) {
    let event = Event {
        type_: kind,
        reason: reason.to_owned(),
        note: Some(note),
        action: reason.to_owned(),
        secondary: None,
    };
    if let Err(error) = context.recorder.publish(&event, &set.object_ref(&())).await {
        tracing::debug!(controller = NAME, %error, "recording an event failed");
    }
}

async fn create_pod(
    context: &Context,
    set: &StatefulSet,
    ordinal: i32,
    revision: &str,
) -> Result<(), SyncError> {
    create_claims(context, set, ordinal).await?;
    let api: Api<Pod> =
        Api::namespaced(context.client.clone(), &set.namespace().unwrap_or_default());
    let pod = pod_for(set, ordinal, revision);
    let name = pod.name_any();
    match api.create(&PostParams::default(), &pod).await {
        Ok(_) => {
            event(
                context,
                set,
                EventType::Normal,
                "SuccessfulCreate",
                format!(
                    "create Pod {name} in StatefulSet {} successful",
                    set.name_any()
                ),
            )
            .await;
            Ok(())
        }
        Err(error) if crate::api_code(&error) == Some(409) => Ok(()),
        Err(error) if crate::is_namespace_terminating(&error) => Ok(()),
        Err(error) => {
            event(
                context,
                set,
                EventType::Warning,
                "FailedCreate",
                format!(
                    "create Pod {name} in StatefulSet {} failed error: {error}",
                    set.name_any()
                ),
            )
            .await;
            Err(api_error("creating a pod", set)(error))
        }
    }
}

async fn delete_pod(context: &Context, set: &StatefulSet, pod: &Pod) -> Result<(), SyncError> {
    let api: Api<Pod> =
        Api::namespaced(context.client.clone(), &set.namespace().unwrap_or_default());
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
                set,
                EventType::Normal,
                "SuccessfulDelete",
                format!(
                    "delete Pod {} in StatefulSet {} successful",
                    pod.name_any(),
                    set.name_any()
                ),
            )
            .await;
            Ok(())
        }
        Err(error) if matches!(crate::api_code(&error), Some(404 | 409)) => Ok(()),
        Err(error) => Err(api_error("deleting a pod", set)(error)),
    }
}

// === the sync ===

async fn reconcile(set: Arc<StatefulSet>, context: Arc<Context>) -> Result<Action, SyncError> {
    match crate::store_ready(&context.pods) {
        Some(true) => {}
        Some(false) => return Err(SyncError::CacheGone),
        None => return Ok(Action::requeue(CACHE_SYNC_RETRY)),
    }
    if set.metadata.deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    let uid = set.metadata.uid.clone();
    let namespace = set.namespace();
    let set_name = set.name_any();
    let pods: Vec<Arc<Pod>> = context
        .pods
        .state()
        .into_iter()
        .filter(|p| p.namespace() == namespace)
        .filter(|p| {
            p.owner_references()
                .iter()
                .any(|o| o.controller == Some(true) && Some(&o.uid) == uid.as_ref())
        })
        .collect();
    let spec = set.spec.clone();
    let replicas = spec.replicas.unwrap_or(1).max(0);
    let ordered = spec.pod_management_policy.as_deref() != Some("Parallel");
    let on_delete = spec
        .update_strategy
        .as_ref()
        .and_then(|s| s.type_.as_deref())
        == Some("OnDelete");
    let partition = spec
        .update_strategy
        .as_ref()
        .and_then(|s| s.rolling_update.as_ref())
        .and_then(|r| r.partition)
        .unwrap_or(0);
    let revision = update_revision_name(&set);
    sync_revisions(&context, &set, &revision, &pods).await?;
    let current_revision = set
        .status
        .as_ref()
        .and_then(|s| s.current_revision.clone())
        .filter(|r| pods.iter().any(|p| revision_of(p) == Some(r.as_str())))
        .unwrap_or_else(|| revision.clone());

    let mut by_ordinal: BTreeMap<i32, Arc<Pod>> = BTreeMap::new();
    for pod in &pods {
        if let Some(ordinal) = ordinal_of(&set_name, &pod.name_any()) {
            by_ordinal.insert(ordinal, pod.clone());
        }
    }
    let mut requeue = None;
    // Replace failed pods; create missing ones.
    let mut blocked = false;
    for ordinal in 0..replicas {
        match by_ordinal.get(&ordinal) {
            Some(pod) if phase(pod) == "Failed" && pod.metadata.deletion_timestamp.is_none() => {
                delete_pod(&context, &set, pod).await?;
                blocked |= ordered;
            }
            Some(pod) => {
                if ordered && !is_running_and_ready(pod) {
                    blocked = true;
                }
            }
            None if ordered && blocked => {}
            None => {
                // OnDelete and partitioned ordinals keep the current revision.
                let at = if on_delete || ordinal < partition {
                    current_revision.as_str()
                } else {
                    revision.as_str()
                };
                create_pod(&context, &set, ordinal, at).await?;
                blocked |= ordered;
            }
        }
        if ordered && blocked {
            break;
        }
    }
    // Scale down, highest first.
    let condemned: Vec<&Arc<Pod>> = by_ordinal
        .iter()
        .rev()
        .filter(|(ordinal, _)| **ordinal >= replicas)
        .map(|(_, pod)| pod)
        .collect();
    let (_, delete_on_scale) = retention(&set);
    for pod in condemned {
        if pod.metadata.deletion_timestamp.is_some() {
            if ordered {
                break;
            }
            continue;
        }
        if ordered
            && (blocked
                || by_ordinal
                    .range(..replicas)
                    .any(|(_, p)| !is_running_and_ready(p)))
        {
            break;
        }
        delete_pod(&context, &set, pod).await?;
        if delete_on_scale && let Some(ordinal) = ordinal_of(&set_name, &pod.name_any()) {
            delete_claims(&context, &set, ordinal).await?;
        }
        if ordered {
            break;
        }
    }
    // Rolling update: the highest ordinal at or above the partition that is not yet updated, once
    // every other pod is running and ready.
    if !on_delete && !blocked {
        let all_ready = by_ordinal
            .range(..replicas)
            .all(|(_, p)| is_running_and_ready(p));
        let stale = by_ordinal
            .range(partition..replicas)
            .rev()
            .find(|(_, p)| revision_of(p) != Some(revision.as_str()));
        if let Some((_, pod)) = stale
            && pod.metadata.deletion_timestamp.is_none()
            && (all_ready || !ordered)
        {
            delete_pod(&context, &set, pod).await?;
            requeue = Some(Duration::from_millis(500));
        }
    }

    // Status.
    let live: Vec<&Arc<Pod>> = pods
        .iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .collect();
    let count = |f: &dyn Fn(&Pod) -> bool| {
        i32::try_from(live.iter().filter(|p| f(p)).count()).unwrap_or(i32::MAX)
    };
    let updated = count(&|p| revision_of(p) == Some(revision.as_str()));
    let current = count(&|p| revision_of(p) == Some(current_revision.as_str()));
    let ready = count(&|p| is_ready(p));
    let everything_updated =
        updated >= replicas && live.len() == usize::try_from(replicas).unwrap_or(0);
    let old = set.status.clone().unwrap_or_default();
    let status = StatefulSetStatus {
        replicas: count(&|_| true),
        ready_replicas: Some(ready),
        available_replicas: Some(ready),
        current_replicas: Some(if everything_updated { updated } else { current }),
        updated_replicas: Some(updated),
        current_revision: Some(if everything_updated {
            revision.clone()
        } else {
            current_revision.clone()
        }),
        update_revision: Some(revision.clone()),
        observed_generation: set.metadata.generation,
        collision_count: old.collision_count,
        conditions: old.conditions.clone(),
    };
    if status != old {
        let api: Api<StatefulSet> =
            Api::namespaced(context.client.clone(), &set.namespace().unwrap_or_default());
        let mut written = (*set).clone();
        written.status = Some(status);
        match api
            .replace_status(&set_name, &PostParams::default(), &written)
            .await
        {
            Ok(_) => {}
            Err(error) if crate::api_code(&error) == Some(409) => {
                return Ok(Action::requeue(Duration::from_millis(50)));
            }
            Err(error) => return Err(api_error("updating the status", &set)(error)),
        }
    }
    context.backoff.forget(&key(&set));
    Ok(requeue.map_or_else(Action::await_change, Action::requeue))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;

    fn set() -> StatefulSet {
        serde_json::from_value(json!({
            "metadata": {"name": "web", "namespace": "ns", "uid": "set-uid"},
            "spec": {
                "serviceName": "web",
                "selector": {"matchLabels": {"app": "web"}},
                "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}},
                "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}]
            }
        }))
        .unwrap()
    }

    #[test]
    fn pods_have_stable_identity_and_storage() {
        let pod = serde_json::to_value(pod_for(&set(), 2, "web-abc")).unwrap();
        assert_eq!(pod["metadata"]["name"], "web-2");
        assert_eq!(pod["metadata"]["labels"][POD_NAME_LABEL], "web-2");
        assert_eq!(pod["metadata"]["labels"][POD_INDEX_LABEL], "2");
        assert_eq!(pod["metadata"]["labels"][REVISION_LABEL], "web-abc");
        assert_eq!(pod["spec"]["hostname"], "web-2");
        assert_eq!(pod["spec"]["subdomain"], "web");
        assert_eq!(
            pod["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"],
            "data-web-2"
        );
        assert_eq!(pod["metadata"]["ownerReferences"][0]["uid"], "set-uid");
    }

    #[test]
    fn ordinals_and_revisions() {
        assert_eq!(ordinal_of("web", "web-10"), Some(10));
        assert_eq!(ordinal_of("web", "web2-1"), None);
        assert_eq!(ordinal_of("web", "web-x"), None);
        let a = update_revision_name(&set());
        assert!(a.starts_with("web-"));
        assert_eq!(a, update_revision_name(&set()));
        let mut changed = set();
        changed.spec.template.spec.as_mut().unwrap().containers[0].image = Some("busybox:2".into());
        assert_ne!(a, update_revision_name(&changed));
    }
}
