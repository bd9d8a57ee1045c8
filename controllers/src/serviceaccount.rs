//! The serviceaccount controller (upstream `pkg/controller/serviceaccount`,
//! `ServiceAccountsController`): a `default` ServiceAccount in every active namespace, created when
//! a namespace appears or its `default` ServiceAccount is deleted.
//!
//! Keyed by namespace: the namespace watch and a watch of the `default` ServiceAccounts (a field
//! selector, as only those matter) both enqueue the namespace. A sync looks the ServiceAccount up in
//! the reflector's store and creates it when missing; namespaces that are not `Active` are skipped,
//! and creates refused because the namespace is terminating or already done are not errors.

use std::{sync::Arc, time::Duration};

use futures::{FutureExt as _, StreamExt as _};
use k8s_openapi::api::core::v1::{Namespace, ServiceAccount};
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

/// The ServiceAccounts ensured in every namespace (upstream's default options).
pub const SERVICE_ACCOUNTS: &[&str] = &["default"];

/// How soon a namespace is retried while the ServiceAccount cache has not finished its first list.
const CACHE_SYNC_RETRY: Duration = Duration::from_millis(100);

/// A failed sync of one namespace.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The ServiceAccount cache's reflector is gone.
    #[error("the ServiceAccount cache stopped before its first list")]
    CacheGone,
    /// A create failed.
    #[error("creating ServiceAccount {namespace}/{name}: {source}")]
    Create {
        /// The namespace.
        namespace: String,
        /// The ServiceAccount.
        name: String,
        /// Why.
        #[source]
        source: kube::Error,
    },
}

/// The ServiceAccount `name` the controller creates in `namespace`.
pub fn desired(namespace: &str, name: &str) -> ServiceAccount {
    ServiceAccount {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            namespace: Some(namespace.to_owned()),
            ..ObjectMeta::default()
        },
        ..ServiceAccount::default()
    }
}

/// Whether a namespace is `Active` (upstream creates nothing in other phases).
pub fn is_active(namespace: &Namespace) -> bool {
    namespace.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Active")
}

struct Context {
    client: Client,
    accounts: Store<ServiceAccount>,
    backoff: FailureBackoff,
}

/// Run the controller until `shutdown` turns true.
pub async fn run(client: Client, shutdown: watch::Receiver<bool>) {
    tracing::info!(
        controller = "serviceaccount-controller",
        "starting controller"
    );
    let (reader, writer) = reflector::store();
    let field_selector = format!("metadata.name={}", SERVICE_ACCOUNTS.join(","));
    let accounts = reflector::reflector(
        writer,
        watcher(
            Api::<ServiceAccount>::all(client.clone()),
            watcher::Config::default().fields(&field_selector),
        ),
    )
    .default_backoff()
    .touched_objects();
    let context = Arc::new(Context {
        client: client.clone(),
        accounts: reader,
        backoff: FailureBackoff::default(),
    });
    Controller::new(Api::<Namespace>::all(client), watcher::Config::default())
        .watches_stream(accounts, |account: ServiceAccount| {
            account.namespace().map(|ns| ObjectRef::new(&ns))
        })
        .graceful_shutdown_on(shutdown_signal(shutdown))
        .run(reconcile, error_policy, context)
        .for_each(|result| async move {
            crate::manager::log_controller_result("serviceaccount-controller", result);
        })
        .await;
    tracing::info!(
        controller = "serviceaccount-controller",
        "shutting down controller"
    );
}

/// A `Send + Sync` future that resolves on shutdown, as `graceful_shutdown_on` wants.
pub(crate) fn shutdown_signal(
    mut shutdown: watch::Receiver<bool>,
) -> impl Future<Output = ()> + Send + Sync + 'static {
    let (tx, rx) = futures::channel::oneshot::channel::<()>();
    tokio::spawn(async move {
        crate::stopped(&mut shutdown).await;
        let _ = tx.send(());
    });
    rx.map(|_| ())
}

async fn reconcile(namespace: Arc<Namespace>, context: Arc<Context>) -> Result<Action, SyncError> {
    let name = namespace.name_any();
    match crate::store_ready(&context.accounts) {
        Some(true) => {}
        Some(false) => return Err(SyncError::CacheGone),
        None => return Ok(Action::requeue(CACHE_SYNC_RETRY)),
    }
    sync_namespace(&namespace, &context).await?;
    context.backoff.forget(&name);
    Ok(Action::await_change())
}

fn error_policy(namespace: Arc<Namespace>, error: &SyncError, context: Arc<Context>) -> Action {
    let name = namespace.name_any();
    let delay = context.backoff.next_delay(&name);
    tracing::warn!(
        controller = "serviceaccount-controller",
        namespace = %name,
        %error,
        retry_in = ?delay,
        "syncing namespace failed"
    );
    Action::requeue(delay)
}

async fn sync_namespace(namespace: &Namespace, context: &Context) -> Result<(), SyncError> {
    if !is_active(namespace) {
        return Ok(());
    }
    let ns = namespace.name_any();
    let api = Api::<ServiceAccount>::namespaced(context.client.clone(), &ns);
    let params = PostParams {
        field_manager: Some(crate::FIELD_MANAGER.to_owned()),
        ..PostParams::default()
    };
    let mut failure = None;
    for name in SERVICE_ACCOUNTS {
        if context
            .accounts
            .get(&ObjectRef::new(name).within(&ns))
            .is_some()
        {
            continue;
        }
        match api.create(&params, &desired(&ns, name)).await {
            Ok(_) => {
                tracing::info!(namespace = %ns, serviceaccount = %name, "created ServiceAccount");
            }
            Err(error) if crate::api_code(&error) == Some(409) => {}
            Err(error) if crate::is_namespace_terminating(&error) => {}
            Err(source) => {
                failure = Some(SyncError::Create {
                    namespace: ns.clone(),
                    name: (*name).to_owned(),
                    source,
                });
            }
        }
    }
    failure.map_or(Ok(()), Err)
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::NamespaceStatus;

    use super::*;

    #[test]
    fn desired_default_account() {
        let account = desired("team-a", "default");
        assert_eq!(
            serde_json::to_value(&account).expect("json"),
            serde_json::json!({
                "apiVersion": "v1",
                "kind": "ServiceAccount",
                "metadata": {"name": "default", "namespace": "team-a"},
            })
        );
    }

    #[test]
    fn only_active_namespaces() {
        let with_phase = |phase: Option<&str>| Namespace {
            status: Some(NamespaceStatus {
                phase: phase.map(str::to_owned),
                ..NamespaceStatus::default()
            }),
            ..Namespace::default()
        };
        assert!(is_active(&with_phase(Some("Active"))));
        assert!(!is_active(&with_phase(Some("Terminating"))));
        assert!(!is_active(&with_phase(None)));
        assert!(!is_active(&Namespace::default()));
    }
}
