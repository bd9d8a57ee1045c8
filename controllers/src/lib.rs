//! The controller manager: tugboat's kube-controller-manager, on kube-runtime.
//!
//! It runs inside `tugboat server` but talks to the API server only through its HTTPS API, with its
//! own client identity (`system:kube-controller-manager`, a client certificate), exactly as a
//! separate process would. This crate owns:
//!
//! - [`client`]: the kube `Config` built from the server URL, the cluster CA and the client
//!   certificate (no kubeconfig file on disk);
//! - [`selection`]: which controllers run (`--disable-controller`, upstream's `--controllers`);
//! - [`leader`]: leader election over the `kube-system/kube-controller-manager` Lease, with
//!   client-go's semantics and upstream's timings, so that two servers on one datastore never both
//!   run controllers;
//! - [`manager`]: waiting for the API server, campaigning, running the enabled controllers while
//!   leading and stopping them when the lease is lost or the server shuts down;
//! - the controllers, one module each: [`serviceaccount`] (a `default` ServiceAccount in every active
//!   namespace), [`rootca`] (the `kube-root-ca.crt` ConfigMap in every namespace) and
//!   [`resourcequota`] (ResourceQuota `status.hard` and `status.used`), [`endpoints`] (the
//!   endpoints, endpointslice and endpointslice-mirroring controllers), [`job`] and
//!   [`disruption`] (PodDisruptionBudget status), [`ttl_after_finished`], [`podgc`] and
//!   [`csrsigning`], [`statefulset`], [`daemonset`], [`nodelifecycle`], [`namespace`];
//! - [`informer`]: shared watches and caches (one for pods), as upstream's informer factory;
//! - [`backoff`]: the per-key exponential requeue delay of upstream's default controller rate
//!   limiter, shared by the controllers.
//!
//! Every controller is a kube-runtime `Controller` (watcher, reflector store, work queue with
//! backoff) keyed by the object it reconciles, and writes with upstream's field manager,
//! [`FIELD_MANAGER`].

pub mod backoff;
pub mod client;
pub mod csrsigning;
pub mod daemonset;
pub mod disruption;
pub mod endpoints;
pub mod informer;
pub mod job;
pub mod leader;
pub mod manager;
pub mod namespace;
pub mod nodelifecycle;
pub mod podgc;
pub mod resourcequota;
pub mod revisions;
pub mod rootca;
pub mod selection;
pub mod serviceaccount;
pub mod statefulset;
pub mod ttl_after_finished;

pub use manager::{ManagerConfig, ManagerError, run};

/// The user the controller manager authenticates as (its client certificate's common name).
pub const USER: &str = "system:kube-controller-manager";

/// The field manager of every write, as upstream's: the User-Agent prefix of
/// kube-controller-manager, which the API server records for writes without `fieldManager`.
pub const FIELD_MANAGER: &str = "kube-controller-manager";

/// Resolves when `shutdown` turns true or its sender is gone.
pub(crate) async fn stopped(shutdown: &mut tokio::sync::watch::Receiver<bool>) {
    // An error means the sender is gone, which is a stop too.
    let _ = shutdown.wait_for(|stop| *stop).await;
}

/// Whether a write failed because the namespace is being deleted: upstream's
/// `NamespaceTerminating` status cause, or the API server's message for it (tugboat's server does
/// not add the cause yet).
pub(crate) fn is_namespace_terminating(error: &kube::Error) -> bool {
    let kube::Error::Api(status) = error else {
        return false;
    };
    let has_cause = status.details.as_ref().is_some_and(|details| {
        details
            .causes
            .iter()
            .any(|cause| cause.reason == "NamespaceTerminating")
    });
    has_cause || (status.code == 403 && status.message.contains("because it is being terminated"))
}

/// Whether a reflector's store has finished its first list, without waiting: `Some(true)` ready,
/// `Some(false)` its writer is gone, `None` not yet.
///
/// Reconcilers must not each await `Store::wait_until_ready`: kube-runtime 5's store readiness
/// (`DelayedInit` over a oneshot channel) keeps only the last waiter's waker, so of several
/// concurrent waiters all but one would hang forever. A reconcile that finds the store not ready
/// requeues itself instead.
pub(crate) fn store_ready<K>(store: &kube::runtime::reflector::Store<K>) -> Option<bool>
where
    K: kube::runtime::reflector::Lookup + Clone + 'static,
    K::DynamicType: Eq + std::hash::Hash + Clone,
{
    use futures::FutureExt as _;
    store
        .wait_until_ready()
        .now_or_never()
        .map(|ready| ready.is_ok())
}

/// The status code of an API error, if `error` is one.
pub(crate) fn api_code(error: &kube::Error) -> Option<u16> {
    match error {
        kube::Error::Api(status) => Some(status.code),
        _ => None,
    }
}
