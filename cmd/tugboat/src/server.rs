//! `tugboat server`: start the control plane's components in order, each once what it needs is ready,
//! and stop them on SIGTERM or SIGINT.

use std::{net::SocketAddr, sync::Arc, time::Instant};

use anyhow::Context as _;
use tokio::sync::watch;
use tugboat_storage::{Backend, DatastoreConfig, DatastoreKind, DatastoreTls, compactor};

use crate::cli::{ApiServerArgs, ServerArgs};

/// Run the server until a signal asks it to stop.
pub async fn run(args: ServerArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let apiserver_args = ApiServerArgs::parse(&args.kube_apiserver_args)?;
    warn_unimplemented(&args);

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
    let mut apiserver = tokio::spawn(tugboat_apiserver::app::run(
        apiserver_config,
        backend.clone(),
        stop_rx.clone(),
    ));
    tracing::info!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        version = %tugboat_apiserver::git_version(),
        "tugboat server is ready"
    );

    let signal = tokio::select! {
        signal = wait_for_signal() => signal?,
        finished = &mut apiserver => {
            let _ = stop_tx.send(true);
            return match finished {
                Ok(Ok(())) => Err(anyhow::anyhow!("the API server stopped unexpectedly")),
                Ok(Err(error)) => Err(anyhow::Error::new(error).context("the API server failed")),
                Err(error) => Err(anyhow::anyhow!("the API server task failed: {error}")),
            };
        }
    };
    tracing::info!(signal, "shutting down");
    let _ = stop_tx.send(true);
    let _ = apiserver.await;
    while tasks.join_next().await.is_some() {}
    drop(backend);
    tracing::info!("stopped");
    Ok(())
}

/// Log, once, every flag that was accepted but has no effect yet.
fn warn_unimplemented(args: &ServerArgs) {
    let mut inert = vec!["--cluster-cidr", "--cluster-dns"];
    if args.token.is_some() {
        inert.push("--token");
    }
    if args.node_name.is_some() {
        inert.push("--node-name");
    }
    tracing::warn!(
        flags = %inert.join(" "),
        "the controllers and node agent are not implemented yet: these flags are accepted but have no \
         effect yet"
    );
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
