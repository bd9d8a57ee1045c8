//! The HTTPS listener: TLS handshakes, HTTP/1.1 and HTTP/2 on one port, and graceful shutdown.
//!
//! This module owns connections, not requests: it accepts TCP, completes the TLS handshake (ALPN picks
//! `h2` or `http/1.1`), records what the connection proved about its client in a [`ConnectionInfo`]
//! request extension, and hands every request to the router. Authentication reads that extension.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use axum::Router;
use hyper_util::{
    rt::{TokioExecutor, TokioIo},
    server::{conn::auto, graceful::GracefulShutdown},
    service::TowerToHyperService,
};
use rustls_pki_types::CertificateDer;
use tokio::{net::TcpListener, sync::watch};
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt as _;

/// How long a client may take to finish the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long open connections get to finish their requests at shutdown (watches are cut then).
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// What the connection a request arrived on says about the client.
#[derive(Debug, Clone)]
pub struct ConnectionInfo {
    /// The client's address.
    pub remote: SocketAddr,
    /// The client certificate chain, already verified against the client CA by rustls; empty when
    /// the client presented none.
    pub peer_certificates: Arc<Vec<CertificateDer<'static>>>,
}

/// Serve `app` over TLS on `listener` until `shutdown` turns true, then drain connections.
pub async fn serve(
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    app: Router,
    mut shutdown: watch::Receiver<bool>,
) {
    let acceptor = TlsAcceptor::from(tls);
    let graceful = GracefulShutdown::new();
    loop {
        let (tcp, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(%error, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = crate::stopped(&mut shutdown) => break,
        };
        let _ = tcp.set_nodelay(true);
        let acceptor = acceptor.clone();
        let app = app.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(tls)) => tls,
                Ok(Err(error)) => {
                    tracing::debug!(%remote, %error, "TLS handshake failed");
                    return;
                }
                Err(_) => {
                    tracing::debug!(%remote, "TLS handshake timed out");
                    return;
                }
            };
            let peer_certificates = tls
                .get_ref()
                .1
                .peer_certificates()
                .map(|chain| chain.iter().map(|c| c.clone().into_owned()).collect())
                .unwrap_or_default();
            let info = ConnectionInfo {
                remote,
                peer_certificates: Arc::new(peer_certificates),
            };
            let service = app.map_request(move |mut request: http::Request<_>| {
                request.extensions_mut().insert(info.clone());
                request
            });
            let builder = auto::Builder::new(TokioExecutor::new());
            let connection = builder.serve_connection_with_upgrades(
                TokioIo::new(tls),
                TowerToHyperService::new(service),
            );
            if let Err(error) = watcher.watch(connection.into_owned()).await {
                tracing::debug!(%remote, error = %error, "connection ended with an error");
            }
        });
    }
    tracing::info!("stopped accepting connections; draining");
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::info!("connections still open after the drain timeout; closing them");
    }
}
