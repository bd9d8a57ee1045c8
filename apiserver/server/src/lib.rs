//! The Kubernetes API server.
//!
//! Serves the Kubernetes REST and watch API over HTTPS on top of [`tugboat_storage`]. Module map:
//! - [`pki`]: the cluster CA, serving and client certificates under the data dir.
//! - [`authn`]: who is calling (x509 client certificates, bearer tokens from a token file).
//! - [`kubeconfig`]: the admin kubeconfig file.

pub mod app;
pub mod authn;
pub mod bootstrap;
pub mod cache;
pub mod compression;
pub mod errors;
pub mod health;
pub mod kubeconfig;
pub mod metrics;
pub mod negotiate;
pub mod openapi;
pub mod pki;
pub mod registry;
pub mod request_info;
pub mod rest;
pub mod serve;
pub mod stored;
pub mod typed;
pub mod version;

pub use tugboat_storage as storage;

/// The Kubernetes release whose API this server speaks.
pub const KUBERNETES_VERSION: &str = "v1.37.1";

/// The `gitVersion` reported by `/version` and `tugboat --version`: the Kubernetes version with a
/// tugboat build suffix, as k3s reports `v1.x.y+k3s1`.
pub fn git_version() -> String {
    format!("{KUBERNETES_VERSION}+tugboat-{}", env!("CARGO_PKG_VERSION"))
}

/// Resolve once `shutdown` turns true (or its sender is gone). Unlike `wait_for`, it holds no
/// borrow of the channel's value, so the future stays `Send`.
pub async fn stopped(shutdown: &mut tokio::sync::watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stop| *stop).await.map(|_| ());
}
