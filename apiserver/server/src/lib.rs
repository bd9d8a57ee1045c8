//! The Kubernetes API server.
//!
//! Today this crate only re-exports storage; the API server issue adds the REST and watch handlers,
//! the registry, authentication, admission, discovery and OpenAPI on top of [`tugboat_storage`].

pub use tugboat_storage as storage;

/// The Kubernetes release whose API this server speaks.
pub const KUBERNETES_VERSION: &str = "v1.37.1";

/// The `gitVersion` reported by `/version` and `tugboat --version`: the Kubernetes version with a
/// tugboat build suffix, as k3s reports `v1.x.y+k3s1`.
pub fn git_version() -> String {
    format!("{KUBERNETES_VERSION}+tugboat-{}", env!("CARGO_PKG_VERSION"))
}
