//! `tugboat server`: start the control plane's components in order, each once what it needs is ready,
//! and stop them on SIGTERM or SIGINT.

use std::{net::SocketAddr, sync::Arc, time::Instant};

use anyhow::Context as _;
use tokio::sync::watch;
use tugboat_storage::{Backend, DatastoreConfig, DatastoreKind, DatastoreTls, compactor};

use crate::cli::{ApiServerArgs, ControllerManagerArgs, ServerArgs};

/// How long the controller manager may take to stop (and release its lease) on shutdown.
const CONTROLLER_MANAGER_STOP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Run the server until a signal asks it to stop.
pub async fn run(args: ServerArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let apiserver_args = ApiServerArgs::parse(&args.kube_apiserver_args)?;
    let controller_manager_args = ControllerManagerArgs::parse(&args.kube_controller_manager_args)?;
    let selection = tugboat_controllers::selection::Selection::new(
        &controller_manager_args.controllers,
        &args.disable_controllers,
    )?;
    warn_unimplemented(&args, &selection);

    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("creating data dir {}", args.data_dir.display()))?;
    let datastore = DatastoreConfig {
        endpoint: args.datastore_endpoint.clone(),
        embedded_dir: args.data_dir.join("server").join("db"),
        tls: DatastoreTls {
            ca_file: args.datastore_cafile.clone(),
            cert_file: args.datastore_certfile.clone(),
            key_file: args.datastore_keyfile.clone(),
        },
    };
    let kind = DatastoreKind::parse(&datastore.endpoint)?;
    let backend: Arc<dyn Backend> = tugboat_storage::open(&datastore)
        .await
        .context("opening the datastore")?;
    let revision = backend.current_revision().await?;
    match &kind {
        DatastoreKind::Embedded => tracing::info!(
            dir = %datastore.embedded_dir.display(),
            revision,
            "embedded datastore ready"
        ),
        DatastoreKind::Etcd(endpoints) => {
            tracing::info!(?endpoints, revision, "etcd datastore ready")
        }
    }

    let (stop_tx, stop_rx) = watch::channel(false);
    let mut tasks = tokio::task::JoinSet::new();
    if apiserver_args.compaction_interval.is_zero() {
        tracing::info!("storage compaction is off (etcd-compaction-interval=0)");
    } else {
        tasks.spawn(compactor::run(
            backend.clone(),
            apiserver_args.compaction_interval,
            stop_rx.clone(),
        ));
    }

    let apiserver_config = tugboat_apiserver::app::Config {
        bind: SocketAddr::new(args.bind_address, args.https_listen_port),
        tls_dir: args.data_dir.join("server").join("tls"),
        kubeconfig: args
            .write_kubeconfig
            .clone()
            .unwrap_or_else(|| args.data_dir.join("kubeconfig.yaml")),
        advertise_url: format!("https://127.0.0.1:{}", args.https_listen_port),
        cluster_domain: args.cluster_domain.clone(),
        service_cidr: tugboat_apiserver::registry::service_ips::ServiceCidr::parse(
            &args.service_cidr,
        )
        .map_err(|e| anyhow::anyhow!("--service-cidr: {e}"))?,
        token_auth_file: apiserver_args.token_auth_file.clone(),
        event_ttl: apiserver_args.event_ttl,
    };
    // The controller manager's credentials come from the API server's CAs, so the PKI is made
    // (or loaded) before the API server starts, which then loads it again.
    let controller_manager = if args.disable_controller_manager {
        tracing::info!("--disable-controller-manager: the controller manager does not run");
        None
    } else if selection.is_empty() {
        tracing::info!("every controller is disabled: the controller manager does not run");
        None
    } else {
        let config = apiserver_config.clone();
        let leader_election = controller_manager_args.leader_elect.then(|| {
            tugboat_controllers::leader::LeaderElectionConfig {
                lease_duration: controller_manager_args.lease_duration,
                renew_deadline: controller_manager_args.renew_deadline,
                retry_period: controller_manager_args.retry_period,
                ..tugboat_controllers::leader::LeaderElectionConfig::controller_manager(
                    tugboat_controllers::leader::new_identity(),
                )
            }
        });
        Some(
            tokio::task::spawn_blocking(move || {
                controller_manager_config(&config, selection, leader_election)
            })
            .await
            .context("preparing the controller manager's credentials")?
            .map(|config| tugboat_controllers::ManagerConfig {
                terminated_pod_gc_threshold: controller_manager_args.terminated_pod_gc_threshold,
                node_monitor_grace_period: controller_manager_args.node_monitor_grace_period,
                ..config
            })?,
        )
    };
    let mut apiserver = tokio::spawn(tugboat_apiserver::app::run(
        apiserver_config,
        backend.clone(),
        stop_rx.clone(),
    ));
    // It waits for the API server to be ready by itself, so it never delays readiness.
    let (controllers_stop_tx, controllers_stop_rx) = watch::channel(false);
    let controller_manager = controller_manager.map(|config| {
        tokio::spawn(async move {
            if let Err(error) = tugboat_controllers::run(config, controllers_stop_rx).await {
                tracing::error!(
                    "the controller manager failed: {:#}",
                    anyhow::Error::new(error)
                );
            }
        })
    });
    tracing::info!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        version = %tugboat_apiserver::git_version(),
        "tugboat server is ready"
    );

    let signal = tokio::select! {
        signal = wait_for_signal() => signal?,
        finished = &mut apiserver => {
            let _ = controllers_stop_tx.send(true);
            let _ = stop_tx.send(true);
            return match finished {
                Ok(Ok(())) => Err(anyhow::anyhow!("the API server stopped unexpectedly")),
                Ok(Err(error)) => Err(anyhow::Error::new(error).context("the API server failed")),
                Err(error) => Err(anyhow::anyhow!("the API server task failed: {error}")),
            };
        }
    };
    tracing::info!(signal, "shutting down");
    // Controllers first, while the API server still serves, so the leader lease is released.
    let _ = controllers_stop_tx.send(true);
    if let Some(controller_manager) = controller_manager
        && tokio::time::timeout(CONTROLLER_MANAGER_STOP_TIMEOUT, controller_manager)
            .await
            .is_err()
    {
        tracing::warn!("the controller manager did not stop in time");
    }
    let _ = stop_tx.send(true);
    let _ = apiserver.await;
    while tasks.join_next().await.is_some() {}
    drop(backend);
    tracing::info!("stopped");
    Ok(())
}

/// The controller manager's configuration: a client certificate for `system:kube-controller-manager`
/// from the API server's client CA, the server CA to trust and publish, and the server's URL.
/// Synchronous (key generation, file I/O): call it from `spawn_blocking`.
fn controller_manager_config(
    apiserver: &tugboat_apiserver::app::Config,
    selection: tugboat_controllers::selection::Selection,
    leader_election: Option<tugboat_controllers::leader::LeaderElectionConfig>,
) -> anyhow::Result<tugboat_controllers::ManagerConfig> {
    let pki = tugboat_apiserver::pki::ensure(&apiserver.pki_config())
        .context("preparing certificates")?;
    let (cert_pem, key_pem) = pki
        .issue_client_cert(tugboat_controllers::USER, &[])
        .context("issuing the controller manager's client certificate")?;
    // The API server listens on `bind`; a wildcard address is reached over loopback.
    let host = match apiserver.bind.ip() {
        std::net::IpAddr::V4(ip) if ip.is_unspecified() => "127.0.0.1".to_owned(),
        std::net::IpAddr::V6(ip) if ip.is_unspecified() => "[::1]".to_owned(),
        std::net::IpAddr::V4(ip) => ip.to_string(),
        std::net::IpAddr::V6(ip) => format!("[{ip}]"),
    };
    Ok(tugboat_controllers::ManagerConfig {
        credentials: tugboat_controllers::client::Credentials {
            server_url: format!("https://{host}:{}", apiserver.bind.port()),
            ca_pem: pki.ca_bundle_pem().to_owned(),
            cert_pem,
            key_pem,
        },
        root_ca_pem: pki.ca_bundle_pem().to_owned(),
        selection,
        leader_election,
        terminated_pod_gc_threshold: tugboat_controllers::podgc::TERMINATED_THRESHOLD,
        node_monitor_grace_period: tugboat_controllers::nodelifecycle::DEFAULT_GRACE_PERIOD,
        csr_signer: Some(std::sync::Arc::new(PkiSigner(pki))),
    })
}

/// Log, once, every flag that was accepted but has no effect yet.
fn warn_unimplemented(args: &ServerArgs, selection: &tugboat_controllers::selection::Selection) {
    let mut inert = vec!["--cluster-cidr", "--cluster-dns"];
    if args.token.is_some() {
        inert.push("--token");
    }
    if args.node_name.is_some() {
        inert.push("--node-name");
    }
    tracing::warn!(
        flags = %inert.join(" "),
        "the scheduler, the node agent and some controllers are not implemented yet: these \
         flags are accepted but have no effect yet"
    );
    if !selection.unknown.is_empty() {
        tracing::warn!(
            controllers = %selection.unknown.join(","),
            "not controllers tugboat runs (not implemented yet, or misspelt): ignored"
        );
    }
    if !args.disable_agent {
        tracing::warn!("the node agent is not implemented yet: the server runs without one");
    }
}

async fn wait_for_signal() -> anyhow::Result<&'static str> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    let mut int = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
    Ok(tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    })
}

/// The API server's PKI as the CSR signing controller's signer.
struct PkiSigner(tugboat_apiserver::pki::Pki);

impl std::fmt::Debug for PkiSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PkiSigner")
    }
}

impl tugboat_controllers::csrsigning::CsrSigner for PkiSigner {
    fn decide(
        &self,
        csr_pem: &str,
        signer: &str,
        usages: &[String],
        expiration_seconds: Option<i32>,
    ) -> tugboat_controllers::csrsigning::SignDecision {
        use tugboat_apiserver::pki::CsrDecision;
        use tugboat_controllers::csrsigning::SignDecision;
        match self
            .0
            .decide_csr(csr_pem, signer, usages, expiration_seconds)
        {
            CsrDecision::NotOurs => SignDecision::NotOurs,
            CsrDecision::Invalid(message) => SignDecision::Invalid(message),
            CsrDecision::Signed(pem) => SignDecision::Signed(pem),
        }
    }
}
