//! The namespace controller (upstream `pkg/controller/namespace`): empties a Terminating namespace
//! and then releases it.
//!
//! For a namespace marked for deletion that still has the `kubernetes` finalizer in
//! `spec.finalizers`, a sync discovers every namespaced resource that can be listed and deleted,
//! deletes the pods first (upstream's ordered namespace deletion) and, once none is left, every
//! other resource's objects (deletecollection where the resource supports it), then counts what
//! remains. While something remains it records upstream's conditions on the namespace
//! (`NamespaceContentRemaining`, `NamespaceFinalizersRemaining`, with the discovery and deletion
//! conditions) and looks again shortly; once nothing is left it removes `kubernetes` from
//! `spec.finalizers` through the `finalize` subresource, after which the API server deletes the
//! namespace (when no other finalizer holds it).

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use futures::StreamExt as _;
use k8s_openapi::api::core::v1::Namespace;
use kube::{
    Api, Client, ResourceExt as _,
    runtime::{Controller, controller::Action, watcher},
};
use serde_json::{Value, json};
use tokio::sync::watch;

use crate::backoff::FailureBackoff;

const NAME: &str = "namespace-controller";
/// The finalizer this controller owns.
pub const FINALIZER: &str = "kubernetes";
/// How soon a namespace with content left is looked at again.
const REMAINING_RETRY: Duration = Duration::from_secs(2);

/// A failed sync.
#[derive(Debug, thiserror::Error)]
#[error("{action} for namespace {namespace}: {source}")]
pub struct SyncError {
    action: String,
    namespace: String,
    #[source]
    source: kube::Error,
}

struct Context {
    client: Client,
    backoff: FailureBackoff,
}

/// A namespaced resource the controller empties: its API path prefix and plural, and whether it
/// supports deletecollection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    /// `/api/v1` or `/apis/<group>/<version>`.
    pub prefix: String,
    /// The plural name.
    pub plural: String,
    /// Whether `deletecollection` is served.
    pub delete_collection: bool,
}

/// Run the controller until `shutdown` turns true.
pub async fn run(client: Client, shutdown: watch::Receiver<bool>) {
    tracing::info!(controller = NAME, "starting controller");
    let context = Arc::new(Context {
        client: client.clone(),
        backoff: FailureBackoff::default(),
    });
    Controller::new(Api::<Namespace>::all(client), watcher::Config::default())
        .graceful_shutdown_on(crate::serviceaccount::shutdown_signal(shutdown))
        .run(reconcile, error_policy, context)
        .for_each(|result| async move {
            crate::manager::log_controller_result(NAME, result);
        })
        .await;
    tracing::info!(controller = NAME, "shutting down controller");
}

fn error_policy(namespace: Arc<Namespace>, error: &SyncError, context: Arc<Context>) -> Action {
    let delay = context.backoff.next_delay(&namespace.name_any());
    tracing::warn!(controller = NAME, %error, retry_in = ?delay, "sync failed");
    Action::requeue(delay)
}

async fn get(client: &Client, path: &str) -> Result<Value, kube::Error> {
    let request = http::Request::get(path)
        .body(Vec::new())
        .map_err(kube::Error::HttpError)?;
    client.request::<Value>(request).await
}

async fn delete(client: &Client, path: &str) -> Result<(), kube::Error> {
    let request = http::Request::delete(path)
        .body(Vec::new())
        .map_err(kube::Error::HttpError)?;
    match client.request::<Value>(request).await {
        Ok(_) => Ok(()),
        Err(error) if matches!(crate::api_code(&error), Some(404 | 405)) => Ok(()),
        Err(error) => Err(error),
    }
}

/// The namespaced resources of one discovery document (`APIResourceList`) that can be listed and
/// deleted.
pub fn resources_of(prefix: &str, list: &Value) -> Vec<Resource> {
    list["resources"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["namespaced"] == true)
        .filter_map(|r| {
            let plural = r["name"].as_str()?;
            if plural.contains('/') {
                return None;
            }
            let verbs: Vec<&str> = r["verbs"]
                .as_array()?
                .iter()
                .filter_map(Value::as_str)
                .collect();
            (verbs.contains(&"list")
                && (verbs.contains(&"delete") || verbs.contains(&"deletecollection")))
            .then(|| Resource {
                prefix: prefix.to_owned(),
                plural: plural.to_owned(),
                delete_collection: verbs.contains(&"deletecollection"),
            })
        })
        .collect()
}

/// Every namespaced, deletable resource the server serves (each group in its preferred version).
async fn discover(client: &Client) -> Result<Vec<Resource>, kube::Error> {
    let mut out = resources_of("/api/v1", &get(client, "/api/v1").await?);
    let groups = get(client, "/apis").await?;
    for group in groups["groups"].as_array().into_iter().flatten() {
        let Some(version) = group["preferredVersion"]["groupVersion"].as_str() else {
            continue;
        };
        let prefix = format!("/apis/{version}");
        match get(client, &prefix).await {
            Ok(list) => out.extend(resources_of(&prefix, &list)),
            Err(error) => {
                tracing::debug!(controller = NAME, %error, %prefix, "discovery of a group failed")
            }
        }
    }
    Ok(out)
}

async fn reconcile(namespace: Arc<Namespace>, context: Arc<Context>) -> Result<Action, SyncError> {
    let name = namespace.name_any();
    let finalizers = namespace
        .spec
        .as_ref()
        .and_then(|s| s.finalizers.clone())
        .unwrap_or_default();
    if namespace.metadata.deletion_timestamp.is_none() || !finalizers.iter().any(|f| f == FINALIZER)
    {
        return Ok(Action::await_change());
    }
    let client = &context.client;
    let fail = |action: &str| {
        let (action, namespace) = (action.to_owned(), name.clone());
        move |source| SyncError {
            action,
            namespace,
            source,
        }
    };
    let resources = discover(client)
        .await
        .map_err(fail("discovering resources"))?;
    // Pods first; everything else once no pod is left.
    let (pods, others): (Vec<&Resource>, Vec<&Resource>) = resources
        .iter()
        .partition(|r| r.prefix == "/api/v1" && r.plural == "pods");
    let mut remaining: BTreeMap<String, (usize, BTreeMap<String, usize>)> = BTreeMap::new();
    let mut content_failure = None;
    for phase in [pods, others] {
        for resource in &phase {
            let collection = format!("{}/namespaces/{name}/{}", resource.prefix, resource.plural);
            let result = if resource.delete_collection {
                delete(client, &collection).await
            } else {
                match get(client, &collection).await {
                    Ok(list) => {
                        let mut last = Ok(());
                        for item in list["items"].as_array().into_iter().flatten() {
                            if let Some(item_name) = item["metadata"]["name"].as_str()
                                && let Err(error) =
                                    delete(client, &format!("{collection}/{item_name}")).await
                            {
                                last = Err(error);
                            }
                        }
                        last
                    }
                    Err(error) => Err(error),
                }
            };
            if let Err(error) = result {
                content_failure.get_or_insert(format!("{}: {error}", resource.plural));
            }
            // What is left.
            if let Ok(list) = get(client, &collection).await {
                let items = list["items"].as_array().cloned().unwrap_or_default();
                if !items.is_empty() {
                    let entry = remaining.entry(resource.plural.clone()).or_default();
                    entry.0 += items.len();
                    for item in &items {
                        for finalizer in item["metadata"]["finalizers"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(Value::as_str)
                        {
                            *entry.1.entry(finalizer.to_owned()).or_default() += 1;
                        }
                    }
                }
            }
        }
        if !remaining.is_empty() {
            break;
        }
    }
    if remaining.is_empty() && content_failure.is_none() {
        let kept: Vec<&String> = finalizers.iter().filter(|f| *f != FINALIZER).collect();
        let mut finalized = serde_json::to_value(namespace.as_ref()).unwrap_or(Value::Null);
        finalized["spec"]["finalizers"] = json!(kept);
        let body = serde_json::to_vec(&finalized).unwrap_or_default();
        let request = http::Request::put(format!("/api/v1/namespaces/{name}/finalize"))
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(body)
            .map_err(|e| fail("finalizing")(kube::Error::HttpError(e)))?;
        match client.request::<Value>(request).await {
            Ok(_) => {
                tracing::info!(controller = NAME, namespace = %name, "namespace emptied and finalized")
            }
            Err(error) if matches!(crate::api_code(&error), Some(404 | 409)) => {}
            Err(error) => return Err(fail("finalizing")(error)),
        }
        context.backoff.forget(&name);
        return Ok(Action::await_change());
    }
    set_conditions(client, &namespace, &remaining, content_failure.as_deref()).await;
    Ok(Action::requeue(REMAINING_RETRY))
}

/// Upstream's deletion conditions for a namespace with content left.
fn conditions(
    remaining: &BTreeMap<String, (usize, BTreeMap<String, usize>)>,
    content_failure: Option<&str>,
    now: &str,
) -> Vec<Value> {
    let condition = |kind: &str, status: bool, reason: &str, message: String| {
        json!({"type": kind, "status": if status { "True" } else { "False" }, "reason": reason,
            "message": message, "lastTransitionTime": now})
    };
    let content = remaining
        .iter()
        .map(|(plural, (count, _))| format!("{plural}. has {count} resource instances"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut finalizers: BTreeMap<&str, usize> = BTreeMap::new();
    for (_, by_finalizer) in remaining.values() {
        for (finalizer, count) in by_finalizer {
            *finalizers.entry(finalizer.as_str()).or_default() += count;
        }
    }
    let finalizer_text = finalizers
        .iter()
        .map(|(finalizer, count)| format!("{finalizer} in {count} resource instances"))
        .collect::<Vec<_>>()
        .join(", ");
    vec![
        condition(
            "NamespaceDeletionDiscoveryFailure",
            false,
            "ResourcesDiscovered",
            "All resources successfully discovered".to_owned(),
        ),
        condition(
            "NamespaceDeletionGroupVersionParsingFailure",
            false,
            "ParsedGroupVersions",
            "All legacy kube types successfully parsed".to_owned(),
        ),
        match content_failure {
            Some(failure) => condition(
                "NamespaceDeletionContentFailure",
                true,
                "ContentDeletionFailed",
                format!("Failed to delete all resource types, 1 remaining: {failure}"),
            ),
            None => condition(
                "NamespaceDeletionContentFailure",
                false,
                "ContentDeleted",
                "All content successfully deleted, may be waiting on finalization".to_owned(),
            ),
        },
        if remaining.is_empty() {
            condition(
                "NamespaceContentRemaining",
                false,
                "ContentRemoved",
                "All content successfully removed".to_owned(),
            )
        } else {
            condition(
                "NamespaceContentRemaining",
                true,
                "SomeResourcesRemain",
                format!("Some resources are remaining: {content}"),
            )
        },
        if finalizers.is_empty() {
            condition(
                "NamespaceFinalizersRemaining",
                false,
                "ContentHasNoFinalizers",
                "All content-preserving finalizers finished".to_owned(),
            )
        } else {
            condition(
                "NamespaceFinalizersRemaining",
                true,
                "SomeFinalizersRemain",
                format!("Some content in the namespace has finalizers remaining: {finalizer_text}"),
            )
        },
    ]
}

async fn set_conditions(
    client: &Client,
    namespace: &Namespace,
    remaining: &BTreeMap<String, (usize, BTreeMap<String, usize>)>,
    content_failure: Option<&str>,
) {
    let now = k8s_openapi::jiff::Timestamp::now().to_string();
    let mut wanted = conditions(remaining, content_failure, &now);
    // Keep transition times of conditions whose status did not change.
    let old: Vec<Value> = namespace
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .map(|c| {
            c.iter()
                .filter_map(|c| serde_json::to_value(c).ok())
                .collect()
        })
        .unwrap_or_default();
    for condition in &mut wanted {
        if let Some(previous) = old.iter().find(|o| o["type"] == condition["type"]) {
            if previous["status"] == condition["status"]
                && previous["reason"] == condition["reason"]
                && previous["message"] == condition["message"]
            {
                *condition = previous.clone();
            } else if previous["status"] == condition["status"] {
                condition["lastTransitionTime"] = previous["lastTransitionTime"].clone();
            }
        }
    }
    if wanted == old {
        return;
    }
    let mut updated = serde_json::to_value(namespace).unwrap_or(Value::Null);
    updated["status"]["conditions"] = json!(wanted);
    let Ok(updated) = serde_json::from_value::<Namespace>(updated) else {
        return;
    };
    if let Err(error) = Api::<Namespace>::all(client.clone())
        .replace_status(
            &namespace.name_any(),
            &kube::api::PostParams::default(),
            &updated,
        )
        .await
    {
        tracing::debug!(controller = NAME, %error, "recording namespace conditions failed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discovery_picks_namespaced_deletable_resources() {
        let list = json!({"resources": [
            {"name": "pods", "namespaced": true, "verbs": ["create", "delete", "deletecollection", "get", "list"]},
            {"name": "pods/status", "namespaced": true, "verbs": ["get", "patch"]},
            {"name": "nodes", "namespaced": false, "verbs": ["delete", "list"]},
            {"name": "bindings", "namespaced": true, "verbs": ["create"]},
            {"name": "events", "namespaced": true, "verbs": ["delete", "list"]},
        ]});
        assert_eq!(
            resources_of("/api/v1", &list),
            [
                Resource {
                    prefix: "/api/v1".into(),
                    plural: "pods".into(),
                    delete_collection: true
                },
                Resource {
                    prefix: "/api/v1".into(),
                    plural: "events".into(),
                    delete_collection: false
                },
            ]
        );
    }

    #[test]
    fn conditions_say_what_remains() {
        let mut remaining = BTreeMap::new();
        remaining.insert(
            "configmaps".to_owned(),
            (1, BTreeMap::from([("example.com/hold".to_owned(), 1)])),
        );
        let c = conditions(&remaining, None, "t");
        assert_eq!(
            c[3]["message"],
            "Some resources are remaining: configmaps. has 1 resource instances"
        );
        assert_eq!(
            c[4]["message"],
            "Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances"
        );
        assert_eq!(c[4]["status"], "True");
    }
}
