//! The root-ca-cert-publisher controller (upstream
//! `pkg/controller/certificates/rootcacertpublisher`): the `kube-root-ca.crt` ConfigMap in every
//! namespace, whose `ca.crt` is the CA bundle that verifies the API server (what the admin
//! kubeconfig's `certificate-authority-data` holds), with upstream's `kubernetes.io/description`
//! annotation. It is recreated when deleted and reset when its data or that annotation change.
//!
//! Keyed by namespace: the namespace watch and a watch of the `kube-root-ca.crt` ConfigMaps (a
//! field selector, as only those matter) both enqueue the namespace. A sync compares the cached
//! ConfigMap with the desired one and creates or updates (a PUT with the cached resourceVersion,
//! so a concurrent change is a conflict and a retry). As upstream, creates refused because the
//! namespace is gone or terminating are not errors.

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use futures::StreamExt as _;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::{
    Api, Client, ResourceExt as _,
    api::{ObjectMeta, PostParams},
    runtime::{
        Controller, WatchStreamExt as _,
        controller::Action,
        reflector::{self, ObjectRef, Store},
        watcher,
    },
};
use tokio::sync::watch;

use crate::backoff::FailureBackoff;

/// The ConfigMap's name.
pub const CONFIG_MAP_NAME: &str = "kube-root-ca.crt";
/// The data key holding the CA bundle.
pub const CA_KEY: &str = "ca.crt";
/// The annotation describing the ConfigMap.
pub const DESCRIPTION_ANNOTATION: &str = "kubernetes.io/description";
/// Upstream's description.
pub const DESCRIPTION: &str = "Contains a CA bundle that can be used to verify the kube-apiserver \
    when using internal endpoints such as the internal service IP or kubernetes.default.svc. No \
    other usage is guaranteed across distributions of Kubernetes clusters.";

/// How soon a namespace is retried while the ConfigMap cache has not finished its first list.
const CACHE_SYNC_RETRY: Duration = Duration::from_millis(100);

/// A failed sync of one namespace.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The ConfigMap cache's reflector is gone.
    #[error("the ConfigMap cache stopped before its first list")]
    CacheGone,
    /// Creating the ConfigMap failed.
    #[error("creating ConfigMap {namespace}/kube-root-ca.crt: {source}")]
    Create {
        /// The namespace.
        namespace: String,
        /// Why.
        #[source]
        source: kube::Error,
    },
    /// Updating the ConfigMap failed.
    #[error("updating ConfigMap {namespace}/kube-root-ca.crt: {source}")]
    Update {
        /// The namespace.
        namespace: String,
        /// Why.
        #[source]
        source: kube::Error,
    },
}

/// The ConfigMap the controller creates in `namespace`.
pub fn desired(namespace: &str, ca_pem: &str) -> ConfigMap {
    ConfigMap {
        metadata: ObjectMeta {
            name: Some(CONFIG_MAP_NAME.to_owned()),
            namespace: Some(namespace.to_owned()),
            annotations: Some(BTreeMap::from([(
                DESCRIPTION_ANNOTATION.to_owned(),
                DESCRIPTION.to_owned(),
            )])),
            ..ObjectMeta::default()
        },
        data: Some(desired_data(ca_pem)),
        ..ConfigMap::default()
    }
}

fn desired_data(ca_pem: &str) -> BTreeMap<String, String> {
    BTreeMap::from([(CA_KEY.to_owned(), ca_pem.to_owned())])
}

/// The existing ConfigMap reset to the desired data and annotation, or `None` when it is right
/// already (upstream compares `data` exactly and requires a non-empty annotation).
pub fn reconciled(existing: &ConfigMap, ca_pem: &str) -> Option<ConfigMap> {
    let data = desired_data(ca_pem);
    let described = existing
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(DESCRIPTION_ANNOTATION))
        .is_some_and(|d| !d.is_empty());
    if existing.data.as_ref() == Some(&data) && described {
        return None;
    }
    let mut updated = existing.clone();
    updated.data = Some(data);
    updated
        .metadata
        .annotations
        .get_or_insert_with(BTreeMap::new)
        .insert(DESCRIPTION_ANNOTATION.to_owned(), DESCRIPTION.to_owned());
    Some(updated)
}

struct Context {
    client: Client,
    config_maps: Store<ConfigMap>,
    ca_pem: String,
    backoff: FailureBackoff,
}

/// Run the controller, publishing `ca_pem`, until `shutdown` turns true.
pub async fn run(client: Client, ca_pem: String, shutdown: watch::Receiver<bool>) {
    let name = "root-ca-certificate-publisher-controller";
    tracing::info!(controller = name, "starting controller");
    let (reader, writer) = reflector::store();
    let config_maps = reflector::reflector(
        writer,
        watcher(
            Api::<ConfigMap>::all(client.clone()),
            watcher::Config::default().fields(&format!("metadata.name={CONFIG_MAP_NAME}")),
        ),
    )
    .default_backoff()
    .touched_objects();
    let context = Arc::new(Context {
        client: client.clone(),
        config_maps: reader,
        ca_pem,
        backoff: FailureBackoff::default(),
    });
    Controller::new(Api::<Namespace>::all(client), watcher::Config::default())
        .watches_stream(config_maps, |cm: ConfigMap| {
            cm.namespace().map(|ns| ObjectRef::new(&ns))
        })
        .graceful_shutdown_on(crate::serviceaccount::shutdown_signal(shutdown))
        .run(reconcile, error_policy, context)
        .for_each(|result| async move {
            crate::manager::log_controller_result(name, result);
        })
        .await;
    tracing::info!(controller = name, "shutting down controller");
}

async fn reconcile(namespace: Arc<Namespace>, context: Arc<Context>) -> Result<Action, SyncError> {
    let name = namespace.name_any();
    match crate::store_ready(&context.config_maps) {
        Some(true) => {}
        Some(false) => return Err(SyncError::CacheGone),
        None => return Ok(Action::requeue(CACHE_SYNC_RETRY)),
    }
    sync_namespace(&name, &context).await?;
    context.backoff.forget(&name);
    Ok(Action::await_change())
}

fn error_policy(namespace: Arc<Namespace>, error: &SyncError, context: Arc<Context>) -> Action {
    let name = namespace.name_any();
    let delay = context.backoff.next_delay(&name);
    tracing::warn!(
        controller = "root-ca-certificate-publisher-controller",
        namespace = %name,
        %error,
        retry_in = ?delay,
        "syncing namespace failed"
    );
    Action::requeue(delay)
}

async fn sync_namespace(ns: &str, context: &Context) -> Result<(), SyncError> {
    let api = Api::<ConfigMap>::namespaced(context.client.clone(), ns);
    let params = PostParams {
        field_manager: Some(crate::FIELD_MANAGER.to_owned()),
        ..PostParams::default()
    };
    let cached = context
        .config_maps
        .get(&ObjectRef::new(CONFIG_MAP_NAME).within(ns));
    let Some(existing) = cached else {
        return match api.create(&params, &desired(ns, &context.ca_pem)).await {
            Ok(_) => {
                tracing::info!(namespace = %ns, configmap = CONFIG_MAP_NAME, "published the root CA");
                Ok(())
            }
            // Don't retry a create if the namespace doesn't exist or is terminating.
            Err(error)
                if crate::api_code(&error) == Some(404)
                    || crate::is_namespace_terminating(&error) =>
            {
                Ok(())
            }
            Err(source) => Err(SyncError::Create {
                namespace: ns.to_owned(),
                source,
            }),
        };
    };
    let Some(updated) = reconciled(&existing, &context.ca_pem) else {
        return Ok(());
    };
    api.replace(CONFIG_MAP_NAME, &params, &updated)
        .await
        .map_err(|source| SyncError::Update {
            namespace: ns.to_owned(),
            source,
        })?;
    tracing::info!(namespace = %ns, configmap = CONFIG_MAP_NAME, "reset the root CA ConfigMap");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn desired_config_map() {
        let cm = desired("team-a", "PEM");
        assert_eq!(
            serde_json::to_value(&cm).expect("json"),
            serde_json::json!({
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {
                    "name": "kube-root-ca.crt",
                    "namespace": "team-a",
                    "annotations": {"kubernetes.io/description": DESCRIPTION},
                },
                "data": {"ca.crt": "PEM"},
            })
        );
        assert!(DESCRIPTION.starts_with("Contains a CA bundle that can be used to verify"));
        assert!(DESCRIPTION.ends_with("across distributions of Kubernetes clusters."));
        assert!(!DESCRIPTION.contains("  "));
    }

    #[test]
    fn correct_config_map_is_left_alone() {
        assert_eq!(reconciled(&desired("a", "PEM"), "PEM"), None);
    }

    #[test]
    fn changed_data_is_reset_and_other_fields_kept() {
        let mut cm = desired("a", "PEM");
        cm.data = Some(BTreeMap::from([
            ("ca.crt".to_owned(), String::new()),
            ("extra".to_owned(), "x".to_owned()),
        ]));
        cm.metadata.resource_version = Some("42".to_owned());
        cm.metadata
            .labels
            .get_or_insert_with(BTreeMap::new)
            .insert("team".to_owned(), "a".to_owned());
        let fixed = reconciled(&cm, "PEM").expect("needs a reset");
        assert_eq!(fixed.data, desired("a", "PEM").data);
        assert_eq!(fixed.metadata.resource_version.as_deref(), Some("42"));
        assert!(fixed.metadata.labels.is_some());
    }

    #[test]
    fn missing_annotation_is_restored() {
        let mut cm = desired("a", "PEM");
        cm.metadata.annotations = Some(BTreeMap::from([("other".to_owned(), "kept".to_owned())]));
        let fixed = reconciled(&cm, "PEM").expect("needs the annotation");
        let annotations = fixed.metadata.annotations.expect("annotations");
        assert_eq!(annotations.get("other").map(String::as_str), Some("kept"));
        assert_eq!(
            annotations.get(DESCRIPTION_ANNOTATION).map(String::as_str),
            Some(DESCRIPTION)
        );
        // A new CA is published too.
        assert!(reconciled(&desired("a", "OLD"), "NEW").is_some());
    }
}
