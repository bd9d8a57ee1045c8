//! Kubeconfig files: the admin kubeconfig `tugboat server` writes to `--write-kubeconfig`
//! (default `<data-dir>/kubeconfig.yaml`), in k3s's shape (cluster, user and context all named
//! `default`, credentials embedded as base64 `*-data` fields), written atomically with mode 0600
//! unless `--write-kubeconfig-mode` says otherwise.

use std::io;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::Serialize;

use crate::pki::{PRIVATE_MODE, create_dir_all, write_atomic};

/// The name of the cluster, user and context, as k3s.
pub const DEFAULT_NAME: &str = "default";

/// Errors writing a kubeconfig.
#[derive(Debug, thiserror::Error)]
pub enum KubeconfigError {
    /// The kubeconfig could not be serialized to YAML.
    #[error("serializing kubeconfig: {0}")]
    Serialize(#[source] serde_norway::Error),
    /// The parent directory could not be created.
    #[error("creating directory {path}: {source}")]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The file could not be written.
    #[error("writing kubeconfig {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
}

/// Writes the admin kubeconfig to `path` with mode 0600 (see [`write_admin_kubeconfig_with_mode`]).
pub fn write_admin_kubeconfig(
    path: &Path,
    server_url: &str,
    ca_pem: &str,
    client_cert_pem: &str,
    client_key_pem: &str,
) -> Result<(), KubeconfigError> {
    write_admin_kubeconfig_with_mode(
        path,
        server_url,
        ca_pem,
        client_cert_pem,
        client_key_pem,
        PRIVATE_MODE,
    )
}

/// Writes the admin kubeconfig to `path` with `mode` (`--write-kubeconfig-mode`), replacing
/// any previous file atomically and creating missing parent directories (mode 0700).
pub fn write_admin_kubeconfig_with_mode(
    path: &Path,
    server_url: &str,
    ca_pem: &str,
    client_cert_pem: &str,
    client_key_pem: &str,
    mode: u32,
) -> Result<(), KubeconfigError> {
    let yaml = render_kubeconfig(server_url, ca_pem, client_cert_pem, client_key_pem)?;
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        create_dir_all(parent, 0o700).map_err(|source| KubeconfigError::CreateDir {
            path: parent.to_owned(),
            source,
        })?;
    }
    write_atomic(path, yaml.as_bytes(), mode).map_err(|source| KubeconfigError::Write {
        path: path.to_owned(),
        source,
    })?;
    tracing::info!(path = %path.display(), "wrote kubeconfig");
    Ok(())
}

/// Renders a kubeconfig for one server and one client certificate, cluster, user and context
/// all named `default`. Also usable for in-process components' credentials.
pub fn render_kubeconfig(
    server_url: &str,
    ca_pem: &str,
    client_cert_pem: &str,
    client_key_pem: &str,
) -> Result<String, KubeconfigError> {
    let config = Config {
        api_version: "v1",
        clusters: vec![NamedCluster {
            cluster: Cluster {
                certificate_authority_data: BASE64.encode(ca_pem),
                server: server_url,
            },
            name: DEFAULT_NAME,
        }],
        contexts: vec![NamedContext {
            context: Context {
                cluster: DEFAULT_NAME,
                user: DEFAULT_NAME,
            },
            name: DEFAULT_NAME,
        }],
        current_context: DEFAULT_NAME,
        kind: "Config",
        preferences: Preferences {},
        users: vec![NamedUser {
            name: DEFAULT_NAME,
            user: User {
                client_certificate_data: BASE64.encode(client_cert_pem),
                client_key_data: BASE64.encode(client_key_pem),
            },
        }],
    };
    serde_norway::to_string(&config).map_err(KubeconfigError::Serialize)
}

// The file's shape, fields in the order kubectl writes them.

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct Config<'a> {
    #[serde(rename = "apiVersion")]
    api_version: &'a str,
    clusters: Vec<NamedCluster<'a>>,
    contexts: Vec<NamedContext<'a>>,
    current_context: &'a str,
    kind: &'a str,
    preferences: Preferences,
    users: Vec<NamedUser<'a>>,
}

#[derive(Serialize)]
struct Preferences {}

#[derive(Serialize)]
struct NamedCluster<'a> {
    cluster: Cluster<'a>,
    name: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct Cluster<'a> {
    certificate_authority_data: String,
    server: &'a str,
}

#[derive(Serialize)]
struct NamedContext<'a> {
    context: Context<'a>,
    name: &'a str,
}

#[derive(Serialize)]
struct Context<'a> {
    cluster: &'a str,
    user: &'a str,
}

#[derive(Serialize)]
struct NamedUser<'a> {
    name: &'a str,
    user: User,
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct User {
    client_certificate_data: String,
    client_key_data: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn decode(value: &serde_norway::Value) -> String {
        let text = value.as_str().unwrap();
        String::from_utf8(BASE64.decode(text).unwrap()).unwrap()
    }

    #[test]
    fn admin_kubeconfig_is_private_and_parses_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/dir/kubeconfig.yaml");
        write_admin_kubeconfig(&path, "https://127.0.0.1:6443", "CA", "CERT", "KEY").unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);

        let text = std::fs::read_to_string(&path).unwrap();
        let doc: serde_norway::Value = serde_norway::from_str(&text).unwrap();
        assert_eq!(doc["apiVersion"].as_str(), Some("v1"));
        assert_eq!(doc["kind"].as_str(), Some("Config"));
        assert_eq!(doc["current-context"].as_str(), Some("default"));
        let cluster = &doc["clusters"][0];
        assert_eq!(cluster["name"].as_str(), Some("default"));
        assert_eq!(
            cluster["cluster"]["server"].as_str(),
            Some("https://127.0.0.1:6443")
        );
        assert_eq!(
            decode(&cluster["cluster"]["certificate-authority-data"]),
            "CA"
        );
        let context = &doc["contexts"][0];
        assert_eq!(context["name"].as_str(), Some("default"));
        assert_eq!(context["context"]["cluster"].as_str(), Some("default"));
        assert_eq!(context["context"]["user"].as_str(), Some("default"));
        let user = &doc["users"][0];
        assert_eq!(user["name"].as_str(), Some("default"));
        assert_eq!(decode(&user["user"]["client-certificate-data"]), "CERT");
        assert_eq!(decode(&user["user"]["client-key-data"]), "KEY");

        // Rewriting replaces the file and honours another mode.
        write_admin_kubeconfig_with_mode(&path, "https://10.0.0.1:6443", "CA", "C", "K", 0o644)
            .unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o644);
        assert!(
            std::fs::read_to_string(&path)
                .unwrap()
                .contains("https://10.0.0.1:6443")
        );
    }
}
