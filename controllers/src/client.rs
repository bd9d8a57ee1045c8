//! The controller manager's client configuration: a kube `Config` for the API server's URL, trusting
//! the cluster's server CA and presenting the controller manager's client certificate. Built in
//! memory from PEM text, as if from a kubeconfig with `*-data` fields, so no key lands on disk.

use base64::Engine as _;
use kube::config::{KubeConfigOptions, Kubeconfig};

/// Where and as whom to connect.
#[derive(Clone)]
pub struct Credentials {
    /// The API server, e.g. `https://127.0.0.1:6443`.
    pub server_url: String,
    /// The CA bundle that verifies the API server's serving certificate, PEM.
    pub ca_pem: String,
    /// The client certificate, PEM.
    pub cert_pem: String,
    /// The client certificate's key, PEM.
    pub key_pem: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("server_url", &self.server_url)
            .finish_non_exhaustive()
    }
}

/// A client configuration that cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum ClientConfigError {
    /// The in-memory kubeconfig did not deserialize.
    #[error("building the controller manager's kubeconfig: {0}")]
    Kubeconfig(#[source] serde_json::Error),
    /// kube rejected the kubeconfig (bad URL, certificate or key).
    #[error("loading the controller manager's kubeconfig: {0}")]
    Load(#[source] kube::config::KubeconfigError),
}

/// The kubeconfig the credentials describe (one cluster, user and context).
pub fn kubeconfig(credentials: &Credentials) -> Result<Kubeconfig, ClientConfigError> {
    let b64 = |pem: &str| base64::engine::general_purpose::STANDARD.encode(pem);
    let value = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{
            "name": "tugboat",
            "cluster": {
                "server": credentials.server_url,
                "certificate-authority-data": b64(&credentials.ca_pem),
            },
        }],
        "users": [{
            "name": crate::USER,
            "user": {
                "client-certificate-data": b64(&credentials.cert_pem),
                "client-key-data": b64(&credentials.key_pem),
            },
        }],
        "contexts": [{
            "name": "kube-controller-manager",
            "context": {"cluster": "tugboat", "user": crate::USER},
        }],
        "current-context": "kube-controller-manager",
    });
    serde_json::from_value(value).map_err(ClientConfigError::Kubeconfig)
}

/// The kube `Config` for the credentials.
pub async fn config(credentials: &Credentials) -> Result<kube::Config, ClientConfigError> {
    let kubeconfig = kubeconfig(credentials)?;
    kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .map_err(ClientConfigError::Load)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubeconfig_carries_the_credentials() {
        let credentials = Credentials {
            server_url: "https://127.0.0.1:6443".into(),
            ca_pem: "CA".into(),
            cert_pem: "CERT".into(),
            key_pem: "KEY".into(),
        };
        let config = kubeconfig(&credentials).expect("kubeconfig");
        assert_eq!(
            config.current_context.as_deref(),
            Some("kube-controller-manager")
        );
        let cluster = config.clusters[0].cluster.as_ref().expect("cluster");
        assert_eq!(cluster.server.as_deref(), Some("https://127.0.0.1:6443"));
        assert_eq!(cluster.certificate_authority_data.as_deref(), Some("Q0E="));
        let user = config.auth_infos[0].auth_info.as_ref().expect("user");
        assert_eq!(user.client_certificate_data.as_deref(), Some("Q0VSVA=="));
        assert!(!format!("{credentials:?}").contains("KEY"));
    }
}
