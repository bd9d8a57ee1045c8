//! The resource quota controller (upstream `pkg/controller/resourcequota`): keeps every
//! ResourceQuota's `status.hard` equal to its `spec.hard` and its `status.used` equal to what the
//! namespace's objects use, so that the API server's quota admission (which charges creates to
//! `status.used`) sees deletions released and drift repaired.
//!
//! Keyed by quota. A sync lists, in the quota's namespace, each resource its hard limits count
//! (`tugboat_machinery::quota::tracked_resources`), sums the usage of the objects in the quota's
//! scopes with the same rules the admission uses, and writes the status when it differs. Changes
//! to the usual counted kinds (metadata-only watches) requeue the quotas of their namespace;
//! every quota is also recomputed every five minutes (upstream's `--resource-quota-sync-period`)
//! for kinds counted with `count/<resource>.<group>` that no watch covers.

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use futures::{StreamExt as _, stream};
use k8s_openapi::api::core::v1::ResourceQuota;
use kube::{
    Api, Client, ResourceExt as _,
    api::{ApiResource, DynamicObject, GroupVersionKind, PartialObjectMeta, PostParams},
    runtime::{
        Controller, WatchStreamExt as _,
        controller::Action,
        reflector::{ObjectRef, Store},
        watcher,
    },
};
use serde_json::{Value, json};
use tokio::sync::watch;
use tugboat_machinery::quota;

use crate::backoff::FailureBackoff;

/// The controller's upstream name.
const NAME: &str = "resourcequota-controller";
/// How often every quota is recomputed regardless of events.
const FULL_RESYNC: Duration = Duration::from_secs(300);

/// The kinds whose changes requeue their namespace's quotas: (group, version, kind, plural).
const WATCHED: &[(&str, &str, &str, &str)] = &[
    ("", "v1", "Pod", "pods"),
    ("", "v1", "Service", "services"),
    ("", "v1", "ConfigMap", "configmaps"),
    ("", "v1", "Secret", "secrets"),
    ("", "v1", "ReplicationController", "replicationcontrollers"),
    ("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims"),
    ("apps", "v1", "ReplicaSet", "replicasets"),
    ("apps", "v1", "Deployment", "deployments"),
    ("apps", "v1", "StatefulSet", "statefulsets"),
    ("apps", "v1", "DaemonSet", "daemonsets"),
    ("batch", "v1", "Job", "jobs"),
    ("batch", "v1", "CronJob", "cronjobs"),
];

/// A failed sync of one quota.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// Listing what the quota counts failed.
    #[error("listing {resource} in namespace {namespace}: {source}")]
    List {
        /// The namespace.
        namespace: String,
        /// The resource listed.
        resource: String,
        /// Why.
        #[source]
        source: kube::Error,
    },
    /// Writing the status failed (a conflict retries with the fresh quota).
    #[error("updating the status of ResourceQuota {namespace}/{name}: {source}")]
    Update {
        /// The namespace.
        namespace: String,
        /// The quota.
        name: String,
        /// Why.
        #[source]
        source: kube::Error,
    },
}

struct Context {
    client: Client,
    backoff: FailureBackoff,
}

/// Run the controller until `shutdown` turns true.
pub async fn run(client: Client, shutdown: watch::Receiver<bool>) {
    tracing::info!(controller = NAME, "starting controller");
    let controller = Controller::new(
        Api::<ResourceQuota>::all(client.clone()),
        watcher::Config::default(),
    );
    let quotas = controller.store();
    let triggers = stream::select_all(WATCHED.iter().map(|(group, version, kind, plural)| {
        let resource =
            ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), plural);
        let api: Api<PartialObjectMeta<DynamicObject>> = Api::all_with(client.clone(), &resource);
        watcher(api, watcher::Config::default())
            .default_backoff()
            .touched_objects()
            .filter_map(|object| async move { object.ok().and_then(|o| o.namespace()) })
            .boxed()
    }))
    .flat_map(move |namespace| stream::iter(quotas_in(&quotas, &namespace)));
    let context = Arc::new(Context {
        client,
        backoff: FailureBackoff::default(),
    });
    controller
        .reconcile_all_on(stream::unfold((), |()| async {
            tokio::time::sleep(FULL_RESYNC).await;
            Some(((), ()))
        }))
        .reconcile_on(triggers)
        .graceful_shutdown_on(crate::serviceaccount::shutdown_signal(shutdown))
        .run(reconcile, error_policy, context)
        .for_each(|result| async move {
            crate::manager::log_controller_result(NAME, result);
        })
        .await;
    tracing::info!(controller = NAME, "shutting down controller");
}

/// The quotas the controller knows in `namespace`.
fn quotas_in(quotas: &Store<ResourceQuota>, namespace: &str) -> Vec<ObjectRef<ResourceQuota>> {
    quotas
        .state()
        .iter()
        .filter(|quota| quota.namespace().as_deref() == Some(namespace))
        .map(|quota| ObjectRef::from_obj(quota.as_ref()))
        .collect()
}

async fn reconcile(quota: Arc<ResourceQuota>, context: Arc<Context>) -> Result<Action, SyncError> {
    let key = format!(
        "{}/{}",
        quota.namespace().unwrap_or_default(),
        quota.name_any()
    );
    sync(&quota, &context.client).await?;
    context.backoff.forget(&key);
    Ok(Action::await_change())
}

fn error_policy(quota: Arc<ResourceQuota>, error: &SyncError, context: Arc<Context>) -> Action {
    let key = format!(
        "{}/{}",
        quota.namespace().unwrap_or_default(),
        quota.name_any()
    );
    let delay = context.backoff.next_delay(&key);
    tracing::warn!(controller = NAME, quota = %key, %error, ?delay, "sync failed; retrying");
    Action::requeue(delay)
}

/// Recompute one quota's status and write it when it changed.
async fn sync(quota: &ResourceQuota, client: &Client) -> Result<(), SyncError> {
    let namespace = quota.namespace().unwrap_or_default();
    let name = quota.name_any();
    let value = serde_json::to_value(quota).unwrap_or(Value::Null);
    let hard = quota::hard(&value);
    let mut usages = Vec::new();
    for (group, resource) in quota::tracked_resources(&hard) {
        for object in list(client, &namespace, &group, &resource).await? {
            if quota::in_scope(&value, &group, &resource, &object) {
                usages.push(quota::usage(&group, &resource, &object));
            }
        }
    }
    let used = quota::total(&hard, &usages);
    let recorded_hard = quota::enforced(&value);
    let recorded_used = quota::used(&value);
    if recorded_hard == hard && recorded_used == used {
        return Ok(());
    }
    let text = |list: &quota::ResourceList| -> BTreeMap<String, String> {
        list.iter()
            .map(|(name, q)| (name.clone(), q.to_string()))
            .collect()
    };
    let mut updated = value.clone();
    updated["status"] = json!({ "hard": text(&hard), "used": text(&used) });
    let updated: ResourceQuota = match serde_json::from_value(updated) {
        Ok(updated) => updated,
        // The quota came from the API server, so it round-trips; nothing to write otherwise.
        Err(_) => return Ok(()),
    };
    let api: Api<ResourceQuota> = Api::namespaced(client.clone(), &namespace);
    api.replace_status(&name, &PostParams::default(), &updated)
        .await
        .map_err(|source| SyncError::Update {
            namespace: namespace.clone(),
            name: name.clone(),
            source,
        })?;
    tracing::debug!(controller = NAME, quota = %format!("{namespace}/{name}"), "status updated");
    Ok(())
}

/// Every object of `resource` in `group` in `namespace`, as JSON.
async fn list(
    client: &Client,
    namespace: &str,
    group: &str,
    resource: &str,
) -> Result<Vec<Value>, SyncError> {
    let error = |source| SyncError::List {
        namespace: namespace.to_owned(),
        resource: if group.is_empty() {
            resource.to_owned()
        } else {
            format!("{resource}.{group}")
        },
        source,
    };
    let prefix = if group.is_empty() {
        "/api/v1".to_owned()
    } else {
        let request = http::Request::get(format!("/apis/{group}"))
            .body(Vec::new())
            .map_err(|e| error(kube::Error::HttpError(e)))?;
        let discovery: Value = match client.request(request).await {
            Ok(discovery) => discovery,
            // A group the server does not serve has nothing to count.
            Err(kube::Error::Api(status)) if status.code == 404 => return Ok(Vec::new()),
            Err(e) => return Err(error(e)),
        };
        let Some(version) = discovery
            .pointer("/preferredVersion/groupVersion")
            .and_then(Value::as_str)
        else {
            return Ok(Vec::new());
        };
        format!("/apis/{version}")
    };
    let request = http::Request::get(format!("{prefix}/namespaces/{namespace}/{resource}"))
        .body(Vec::new())
        .map_err(|e| error(kube::Error::HttpError(e)))?;
    match client.request::<Value>(request).await {
        Ok(mut list) => Ok(match list.get_mut("items").map(Value::take) {
            Some(Value::Array(items)) => items,
            _ => Vec::new(),
        }),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(Vec::new()),
        Err(e) => Err(error(e)),
    }
}
