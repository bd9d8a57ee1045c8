//! The API server assembled: configuration, start-up order and the request chain.
//!
//! Requests pass, outermost first: tracing and metrics, then authentication (every path but the
//! health, version and discovery-free public endpoints needs a user), then gzip of large responses,
//! then the router. Authorization and admission hook in here later: authorization as a layer after
//! authentication, admission inside the registry.

use std::{net::SocketAddr, path::PathBuf, sync::Arc};

use axum::{
    Router,
    extract::{Request, State},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{any, get},
};
use tokio::sync::watch;
use tugboat_machinery::status::{ApiError, StatusReason};
use tugboat_storage::Backend;

use crate::{
    authn::{Authenticator, UserInfo},
    bootstrap,
    errors::Failure,
    health::{self, Check, Endpoint},
    kubeconfig, pki, rest,
    serve::{self, ConnectionInfo},
    version,
};

/// What `tugboat server` tells the API server.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where to listen.
    pub bind: SocketAddr,
    /// Certificates and keys live under this folder.
    pub tls_dir: PathBuf,
    /// Where to write the admin kubeconfig.
    pub kubeconfig: PathBuf,
    /// The address clients are told to use in the kubeconfig.
    pub advertise_url: String,
    /// `--cluster-domain`.
    pub cluster_domain: String,
    /// `--service-cidr`.
    pub service_cidr: crate::registry::service_ips::ServiceCidr,
    /// `--kube-apiserver-arg=token-auth-file=`.
    pub token_auth_file: Option<PathBuf>,
    /// `--event-ttl`.
    pub event_ttl: std::time::Duration,
}

impl Config {
    /// Where the PKI lives and what the serving certificate covers: what [`run`] ensures, and what
    /// in-process components that need certificates from the same CAs load beforehand.
    pub fn pki_config(&self) -> pki::PkiConfig {
        pki::PkiConfig {
            dir: self.tls_dir.clone(),
            cluster_domain: self.cluster_domain.clone(),
            service_cidr_first_ip: self.service_cidr.first(),
            extra_sans: pki::node_addresses(),
        }
    }
}

/// Errors starting the API server.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Certificates could not be created or loaded.
    #[error("preparing certificates")]
    Pki(#[from] pki::PkiError),
    /// The token file is unusable.
    #[error("loading the token auth file")]
    Authn(#[from] crate::authn::AuthnError),
    /// The kubeconfig could not be written.
    #[error("writing the admin kubeconfig")]
    Kubeconfig(#[from] kubeconfig::KubeconfigError),
    /// The port could not be bound.
    #[error("listening on {addr}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// Shared by every request.
#[derive(Debug)]
pub struct AppState {
    /// Who is calling.
    pub authenticator: Authenticator,
    /// The datastore.
    pub backend: Arc<dyn Backend>,
    /// Every resource's store.
    pub registry: Arc<crate::registry::Registry>,
    /// Request and storage metrics.
    pub metrics: crate::metrics::Metrics,
    /// The OpenAPI documents.
    pub openapi: crate::openapi::OpenApi,
}

/// Paths that answer without credentials, as upstream's `system:public-info-viewer` allows.
fn is_public(path: &str) -> bool {
    matches!(path, "/healthz" | "/livez" | "/readyz" | "/version")
        || ["/healthz/", "/livez/", "/readyz/"]
            .iter()
            .any(|p| path.starts_with(p))
}

async fn authenticate(
    State(state): State<Arc<AppState>>,
    mut request: Request,
    next: Next,
) -> Response {
    if is_public(request.uri().path()) {
        return next.run(request).await;
    }
    let certificates = request
        .extensions()
        .get::<ConnectionInfo>()
        .map(|info| info.peer_certificates.clone());
    let header = request.headers().get(http::header::AUTHORIZATION);
    let user = state
        .authenticator
        .authenticate(certificates.as_deref().map(|c| c.as_slice()), header);
    match user {
        Ok(Some(user)) => {
            request.extensions_mut().insert::<UserInfo>(user);
            next.run(request).await
        }
        Ok(None) => Failure(ApiError::unauthorized("Unauthorized")).into_response(),
        Err(error) => {
            tracing::debug!(%error, "authentication failed");
            Failure(ApiError::unauthorized("Unauthorized")).into_response()
        }
    }
}

/// Build the router with every endpoint and the request chain.
pub fn router(state: Arc<AppState>) -> Router<()> {
    let storage_check = {
        let backend = state.backend.clone();
        Check::new("etcd", move || {
            let backend = backend.clone();
            async move {
                backend
                    .current_revision()
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            }
        })
    };
    let checks = vec![
        Check::ping(),
        Check::new("log", || async { Ok(()) }),
        storage_check,
    ];
    // readyz also waits for every watch cache's first list, as upstream's `informer-sync`.
    let informer_sync = {
        let registry = state.registry.clone();
        Check::new("informer-sync", move || {
            let ready = registry.caches_ready();
            async move {
                if ready {
                    Ok(())
                } else {
                    Err("watch caches have not finished their first list".to_owned())
                }
            }
        })
    };
    let health_router = |name: &'static str| {
        let mut endpoint_checks = checks.clone();
        if name == "readyz" {
            endpoint_checks.push(informer_sync.clone());
        }
        let endpoint = Arc::new(Endpoint {
            name,
            checks: endpoint_checks,
        });
        Router::new()
            .route(&format!("/{name}"), get(health::all))
            .route(&format!("/{name}/{{check}}"), get(health::one))
            .with_state(endpoint)
    };
    Router::new()
        .route("/version", get(version::get))
        .merge(health_router("healthz"))
        .merge(health_router("livez"))
        .merge(health_router("readyz"))
        .route("/metrics", get(crate::metrics::serve))
        .route("/openapi/v2", get(crate::openapi::v2))
        .route("/openapi/v3", get(crate::openapi::v3_index))
        .route("/openapi/v3/{*path}", get(crate::openapi::v3_document))
        .route("/api", any(rest::handle))
        .route("/api/", any(rest::handle))
        .route("/apis/", any(rest::handle))
        .route("/api/{*rest}", any(rest::handle))
        .route("/apis", any(rest::handle))
        .route("/apis/{*rest}", any(rest::handle))
        .fallback(|| async { Failure(not_found_path()).into_response() })
        .layer(middleware::from_fn(
            crate::compression::gzip_large_responses,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), authenticate))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::metrics::record,
        ))
        .with_state(state)
}

/// Prepare certificates and the kubeconfig, bind, and serve until `shutdown` turns true.
pub async fn run(
    config: Config,
    backend: Arc<dyn Backend>,
    shutdown: watch::Receiver<bool>,
) -> Result<(), StartError> {
    let registry = crate::registry::Registry::new(
        tugboat_machinery::catalog::Catalog::builtin(),
        backend.clone(),
        config.event_ttl,
        config.service_cidr,
        shutdown.clone(),
    );
    let pki = pki::ensure(&config.pki_config())?;
    let (admin_cert, admin_key) = pki.admin_client_pem();
    kubeconfig::write_admin_kubeconfig(
        &config.kubeconfig,
        &config.advertise_url,
        pki.ca_bundle_pem(),
        admin_cert,
        admin_key,
    )?;
    let authenticator = Authenticator::new(config.token_auth_file.as_deref())?;
    {
        let registry = registry.clone();
        let advertise = bootstrap::Advertise {
            service_ip: config.service_cidr.first(),
            endpoint_ip: advertise_ip(),
            port: config.bind.port(),
        };
        // Storage is up already; the objects appear within moments of the listener opening.
        tokio::spawn(async move {
            let mut delay = std::time::Duration::from_millis(50);
            loop {
                match bootstrap::run(&registry, advertise).await {
                    Ok(()) => break,
                    Err(error) => {
                        tracing::warn!(%error, "bootstrapping system objects failed; retrying");
                        tokio::time::sleep(delay).await;
                        delay = (delay * 2).min(std::time::Duration::from_secs(5));
                    }
                }
            }
        });
    }
    let tls = pki.server_config()?;
    let openapi = crate::openapi::OpenApi::new(registry.catalog());
    let state = Arc::new(AppState {
        authenticator,
        backend,
        registry,
        metrics: crate::metrics::Metrics::default(),
        openapi,
    });
    {
        let state = state.clone();
        tokio::task::spawn_blocking(move || state.openapi.warm());
    }
    let listener = tokio::net::TcpListener::bind(config.bind)
        .await
        .map_err(|source| StartError::Bind {
            addr: config.bind,
            source,
        })?;
    tracing::info!(addr = %config.bind, kubeconfig = %config.kubeconfig.display(), "API server listening");
    serve::serve(listener, tls, router(state), shutdown).await;
    Ok(())
}

/// The address Endpoints of the `kubernetes` Service point at: the node's first address.
fn advertise_ip() -> std::net::IpAddr {
    pki::node_addresses()
        .iter()
        .find_map(|a| a.parse::<std::net::IpAddr>().ok())
        .unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST))
}

/// Upstream's answer for a path nothing serves.
pub fn not_found_path() -> ApiError {
    ApiError::new(
        404,
        StatusReason::NotFound,
        "the server could not find the requested resource",
    )
}
