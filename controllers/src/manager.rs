//! The controller manager's life: build the client, wait for the API server, campaign for the
//! `kube-system/kube-controller-manager` Lease, run the enabled controllers while leading, stop them
//! when the lease is lost (then campaign again) or on shutdown (then release the lease).
//!
//! Upstream's kube-controller-manager exits when it loses its lease and is restarted by its
//! supervisor; inside `tugboat server` the manager instead stops its controllers and campaigns
//! again, which is the same from the cluster's point of view.

use std::time::Duration;

use k8s_openapi::api::core::v1::{Namespace, Pod};
use kube::{
    Api, Client,
    runtime::{controller, reflector::ObjectRef, watcher},
};
use tokio::{sync::watch, task::JoinSet};

use crate::{
    client::{ClientConfigError, Credentials},
    leader::{LeaderElectionConfig, LeaderElector, LeadingEnded},
    selection::{ControllerKind, Selection},
};

/// How often the API server is polled until it is ready.
const READY_POLL: Duration = Duration::from_millis(100);
/// How long stopping controllers may take before their tasks are aborted.
const STOP_TIMEOUT: Duration = Duration::from_secs(5);
/// How long releasing the lease on shutdown may take.
const RELEASE_TIMEOUT: Duration = Duration::from_secs(2);

/// What the controller manager needs.
#[derive(Debug, Clone)]
pub struct ManagerConfig {
    /// How to reach the API server, and as whom.
    pub credentials: Credentials,
    /// The CA bundle the root-ca-cert-publisher publishes, PEM.
    pub root_ca_pem: String,
    /// Which controllers run.
    pub selection: Selection,
    /// The lease to campaign for; `None` runs controllers without leader election (upstream's
    /// `--leader-elect=false`).
    pub leader_election: Option<LeaderElectionConfig>,
    /// `--terminated-pod-gc-threshold`: terminated pods kept before the pod GC deletes the oldest.
    pub terminated_pod_gc_threshold: usize,
    /// `--node-monitor-grace-period`: how long a node may stay silent before it is Unknown.
    pub node_monitor_grace_period: std::time::Duration,
    /// Signs approved CertificateSigningRequests; `None`: the csrsigning controller does not run.
    pub csr_signer: Option<std::sync::Arc<dyn crate::csrsigning::CsrSigner>>,
}

/// The controller manager could not start.
#[derive(Debug, thiserror::Error)]
pub enum ManagerError {
    /// The client configuration is unusable.
    #[error(transparent)]
    ClientConfig(#[from] ClientConfigError),
    /// kube could not build a client from it.
    #[error("creating the controller manager's client: {0}")]
    Client(#[source] kube::Error),
}

/// Run the controller manager until `shutdown` turns true.
pub async fn run(
    config: ManagerConfig,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), ManagerError> {
    let kube_config = crate::client::config(&config.credentials).await?;
    let client = Client::try_from(kube_config).map_err(ManagerError::Client)?;
    if !wait_for_listener(&config.credentials.server_url, &mut shutdown).await
        || !wait_for_api_server(&client, &mut shutdown).await
    {
        return Ok(());
    }
    let controllers: Vec<&str> = config
        .selection
        .enabled()
        .map(ControllerKind::alias)
        .collect();
    tracing::info!(controllers = %controllers.join(","), "controller manager started");
    let Some(leader_election) = config.leader_election.clone() else {
        run_controllers(client, &config, shutdown).await;
        return Ok(());
    };
    let mut elector = LeaderElector::new(client.clone(), leader_election);
    loop {
        if !elector.acquire(&mut shutdown).await {
            break;
        }
        let (stop_tx, stop_rx) = watch::channel(false);
        let running = {
            let client = client.clone();
            let config = config.clone();
            tokio::spawn(async move { run_controllers(client, &config, stop_rx).await })
        };
        let ended = elector.renew(&mut shutdown).await;
        let _ = stop_tx.send(true);
        let abort = running.abort_handle();
        if tokio::time::timeout(STOP_TIMEOUT, running).await.is_err() {
            tracing::warn!("controllers did not stop in time; aborting them");
            abort.abort();
        }
        match ended {
            LeadingEnded::Shutdown => {
                match tokio::time::timeout(RELEASE_TIMEOUT, elector.release()).await {
                    Ok(Ok(())) => {}
                    Ok(Err(error)) => tracing::warn!(%error, "releasing the leader lease failed"),
                    Err(_) => tracing::warn!("releasing the leader lease timed out"),
                }
                break;
            }
            LeadingEnded::Lost => {
                tracing::warn!(
                    identity = %elector.identity(),
                    "leader election lost: controllers stopped; campaigning again"
                );
            }
        }
    }
    tracing::info!("controller manager stopped");
    Ok(())
}

/// Poll until the API server's port accepts connections (before that, kube's client would log every
/// refused connection as an error); `false` on shutdown. A URL without a usable host and port is
/// left to [`wait_for_api_server`].
async fn wait_for_listener(server_url: &str, shutdown: &mut watch::Receiver<bool>) -> bool {
    let Ok(uri) = server_url.parse::<http::Uri>() else {
        return true;
    };
    let (Some(host), Some(port)) = (uri.host(), uri.port_u16()) else {
        return true;
    };
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    loop {
        if tokio::net::TcpStream::connect((host.as_str(), port))
            .await
            .is_ok()
        {
            return true;
        }
        tokio::select! {
            () = tokio::time::sleep(READY_POLL) => {}
            () = crate::stopped(shutdown) => return false,
        }
    }
}

/// Poll until `/readyz` answers ok and `kube-system` exists (the lease's namespace); `false` on
/// shutdown.
async fn wait_for_api_server(client: &Client, shutdown: &mut watch::Receiver<bool>) -> bool {
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let mut last_error = String::new();
    loop {
        let ready = async {
            let request = http::Request::get("/readyz")
                .body(Vec::new())
                .map_err(|e| e.to_string())?;
            client
                .request_text(request)
                .await
                .map_err(|e| e.to_string())?;
            match namespaces.get_opt("kube-system").await {
                Ok(Some(_)) => Ok(()),
                Ok(None) => Err("namespace kube-system does not exist yet".to_owned()),
                Err(e) => Err(e.to_string()),
            }
        };
        match ready.await {
            Ok(()) => return true,
            Err(error) => {
                if error != last_error {
                    tracing::debug!(%error, "waiting for the API server");
                    last_error = error;
                }
            }
        }
        tokio::select! {
            () = tokio::time::sleep(READY_POLL) => {}
            () = crate::stopped(shutdown) => return false,
        }
    }
}

/// Run every enabled controller until `stop` turns true.
async fn run_controllers(client: Client, config: &ManagerConfig, stop: watch::Receiver<bool>) {
    let mut tasks = JoinSet::new();
    // One pod watch and cache for every controller that follows pods; its driver starts after
    // they have subscribed.
    let (pods, pod_driver) =
        crate::informer::SharedInformer::<Pod>::new(Api::all(client.clone()), stop.clone());
    for kind in config.selection.enabled() {
        match kind {
            ControllerKind::ServiceAccount => {
                tasks.spawn(crate::serviceaccount::run(client.clone(), stop.clone()));
            }
            ControllerKind::RootCaCertPublisher => {
                tasks.spawn(crate::rootca::run(
                    client.clone(),
                    config.root_ca_pem.clone(),
                    stop.clone(),
                ));
            }
            ControllerKind::ResourceQuota => {
                tasks.spawn(crate::resourcequota::run(client.clone(), stop.clone()));
            }
            ControllerKind::Endpoints => {
                tasks.spawn(crate::endpoints::run(
                    client.clone(),
                    crate::endpoints::Which::Endpoints,
                    pods.clone(),
                    stop.clone(),
                ));
            }
            ControllerKind::EndpointSlice => {
                tasks.spawn(crate::endpoints::run(
                    client.clone(),
                    crate::endpoints::Which::EndpointSlices,
                    pods.clone(),
                    stop.clone(),
                ));
            }
            ControllerKind::EndpointSliceMirroring => {
                tasks.spawn(crate::endpoints::run_mirroring(
                    client.clone(),
                    stop.clone(),
                ));
            }
            ControllerKind::Job => {
                tasks.spawn(crate::job::run(client.clone(), pods.clone(), stop.clone()));
            }
            ControllerKind::Disruption => {
                tasks.spawn(crate::disruption::run(
                    client.clone(),
                    pods.clone(),
                    stop.clone(),
                ));
            }
            ControllerKind::CsrSigning => {
                if let Some(signer) = &config.csr_signer {
                    tasks.spawn(crate::csrsigning::run(
                        client.clone(),
                        signer.clone(),
                        stop.clone(),
                    ));
                }
            }
            ControllerKind::StatefulSet => {
                tasks.spawn(crate::statefulset::run(
                    client.clone(),
                    pods.clone(),
                    stop.clone(),
                ));
            }
            ControllerKind::DaemonSet => {
                tasks.spawn(crate::daemonset::run(
                    client.clone(),
                    pods.clone(),
                    stop.clone(),
                ));
            }
            ControllerKind::NodeLifecycle => {
                tasks.spawn(crate::nodelifecycle::run(
                    client.clone(),
                    pods.clone(),
                    config.node_monitor_grace_period,
                    stop.clone(),
                ));
            }
            ControllerKind::Namespace => {
                tasks.spawn(crate::namespace::run(client.clone(), stop.clone()));
            }
            ControllerKind::TtlAfterFinished => {
                tasks.spawn(crate::ttl_after_finished::run(client.clone(), stop.clone()));
            }
            ControllerKind::PodGc => {
                tasks.spawn(crate::podgc::run(
                    client.clone(),
                    pods.clone(),
                    config.terminated_pod_gc_threshold,
                    stop.clone(),
                ));
            }
        }
    }
    tasks.spawn(pod_driver);
    while let Some(result) = tasks.join_next().await {
        if let Err(error) = result
            && error.is_panic()
        {
            tracing::error!(%error, "a controller panicked");
        }
    }
}

/// Log what a controller's stream yields: reconcile failures are logged by the error policy, the
/// rest here.
pub(crate) fn log_controller_result<K: kube::Resource, E: std::error::Error>(
    controller: &str,
    result: Result<(ObjectRef<K>, controller::Action), controller::Error<E, watcher::Error>>,
) {
    match result {
        Ok(_) | Err(controller::Error::ReconcilerFailed(..)) => {}
        Err(controller::Error::ObjectNotFound(object)) => {
            tracing::debug!(controller, %object, "object to reconcile is gone");
        }
        Err(error) => tracing::warn!(controller, %error, "controller stream error"),
    }
}
