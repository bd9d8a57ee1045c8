//! The system under test: a real `tugboat server` child process (and, with `--etcd`, a fresh etcd),
//! the admin kubeconfig it writes, HTTPS clients built from it, and its memory use.

use std::{
    fs::File,
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{Context as _, anyhow, bail};
use base64::{Engine as _, engine::general_purpose::STANDARD as BASE64};
use rustls::{ClientConfig, RootCertStore};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};

/// How long the server may take from spawn to `/readyz` answering 200.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the server may take to exit after SIGTERM before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(15);
/// Timeout of one ordinary (non-watch) request.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// The `tugboat` binary: `$TUGBOAT_BIN`, else `<workspace>/target/release/tugboat` (build it with
/// `cargo build --release -p tugboat`).
pub fn tugboat_bin() -> PathBuf {
    if let Some(bin) = std::env::var_os("TUGBOAT_BIN") {
        return PathBuf::from(bin);
    }
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .unwrap_or(manifest)
        .join("target/release/tugboat")
}

/// A port that was free on 127.0.0.1 a moment ago.
fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// The last `n` lines of a text file.
pub fn log_tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Send SIGTERM through `kill(1)` (the workspace forbids unsafe code, so no `libc::kill`).
fn sigterm(pid: u32) {
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(pid.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// A fresh single-member etcd (`etcd` on the `PATH`, or `$ETCD_BIN`) on free loopback ports, with
/// its data in a temp dir on the same disk and fsync on, as in production.
pub use tugboat_etcd_testing::EtcdServer as Etcd;

/// A running `tugboat server`; SIGTERM (then SIGKILL) when stopped or dropped.
#[derive(Debug)]
pub struct Server {
    child: Option<Child>,
    pid: u32,
    /// `https://127.0.0.1:PORT`.
    pub base: String,
    /// TLS for clients: trusts the server CA, presents the admin client certificate.
    pub tls: ClientConfig,
    /// From spawn until `/readyz` answered 200.
    pub ready_time: Duration,
    pub log_path: PathBuf,
    _dir: tempfile::TempDir,
}

impl Server {
    /// Spawn the server on a fresh data dir and wait until `/readyz` answers 200.
    pub async fn start(bin: &Path, datastore_endpoint: Option<&str>) -> anyhow::Result<Server> {
        if !bin.is_file() {
            bail!(
                "{} not found: build it with `cargo build --release -p tugboat` or set TUGBOAT_BIN",
                bin.display()
            );
        }
        let dir = tempfile::Builder::new()
            .prefix("tugboat-bench-")
            .tempdir()?;
        let data_dir = dir.path().join("data");
        let log_path = dir.path().join("server.log");
        let port = free_port()?;
        let mut cmd = Command::new(bin);
        cmd.arg("server")
            .arg("--data-dir")
            .arg(&data_dir)
            .arg("--https-listen-port")
            .arg(port.to_string())
            .arg("--bind-address")
            .arg("127.0.0.1")
            .arg("--disable-agent")
            // The API server alone, as the upstream kube-apiserver figures it is compared with:
            // controllers would add their own caches and writes to the server's memory and load.
            .arg("--disable-controller-manager");
        if let Some(endpoint) = datastore_endpoint {
            cmd.arg("--datastore-endpoint").arg(endpoint);
        }
        let log = File::create(&log_path)?;
        cmd.stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        let spawned = Instant::now();
        let child = cmd
            .spawn()
            .with_context(|| format!("cannot run {}", bin.display()))?;
        let pid = child.id();
        let mut server = Server {
            child: Some(child),
            pid,
            base: format!("https://127.0.0.1:{port}"),
            tls: ClientConfig::builder_with_provider(Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_safe_default_protocol_versions()?
            .with_root_certificates(RootCertStore::empty())
            .with_no_client_auth(),
            ready_time: Duration::ZERO,
            log_path,
            _dir: dir,
        };
        let kubeconfig = data_dir.join("kubeconfig.yaml");
        let deadline = spawned + READY_TIMEOUT;
        let mut client = None;
        let mut last = String::from("no answer yet");
        loop {
            server.check_alive()?;
            if Instant::now() > deadline {
                bail!(
                    "tugboat server did not answer /readyz with 200 within {READY_TIMEOUT:?} (last: {last}); log tail:\n{}",
                    log_tail(&server.log_path, 30)
                );
            }
            if client.is_none() && kubeconfig.is_file() {
                // Written atomically before the listener opens.
                server.tls = tls_from_kubeconfig(&kubeconfig)?;
                client = Some(server.client()?);
            }
            if let Some(client) = &client {
                match client
                    .get(format!("{}/readyz", server.base))
                    .timeout(Duration::from_secs(2))
                    .send()
                    .await
                {
                    Ok(response) if response.status() == reqwest::StatusCode::OK => {
                        server.ready_time = spawned.elapsed();
                        return Ok(server);
                    }
                    Ok(response) => {
                        last = format!("HTTP {}", response.status());
                    }
                    Err(error) => last = format!("{error:#}"),
                }
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    /// A new client with its own connection pool (one HTTP/2 connection to the server).
    pub fn client(&self) -> anyhow::Result<reqwest::Client> {
        reqwest::Client::builder()
            .tls_backend_preconfigured(self.tls.clone())
            .no_proxy()
            .timeout(REQUEST_TIMEOUT)
            .build()
            .context("building the HTTPS client")
    }

    /// A client for long-running watches: no overall timeout.
    pub fn watch_client(&self) -> anyhow::Result<reqwest::Client> {
        reqwest::Client::builder()
            .tls_backend_preconfigured(self.tls.clone())
            .no_proxy()
            .connect_timeout(Duration::from_secs(30))
            .build()
            .context("building the HTTPS client")
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Fails (with the log tail) if the server has exited.
    pub fn check_alive(&mut self) -> anyhow::Result<()> {
        if let Some(child) = &mut self.child
            && let Some(status) = child.try_wait()?
        {
            self.child = None;
            bail!(
                "tugboat server exited ({status}); log tail:\n{}",
                log_tail(&self.log_path, 30)
            );
        }
        Ok(())
    }

    /// SIGTERM, wait for the exit; returns how long the server took to exit and its status.
    pub fn stop(&mut self) -> anyhow::Result<(Duration, String)> {
        let Some(mut child) = self.child.take() else {
            bail!("tugboat server was not running");
        };
        let start = Instant::now();
        sigterm(child.id());
        loop {
            if let Some(status) = child.try_wait()? {
                return Ok((start.elapsed(), status.to_string()));
            }
            if start.elapsed() > STOP_TIMEOUT {
                let _ = child.kill();
                let _ = child.wait();
                bail!("tugboat server did not exit within {STOP_TIMEOUT:?} of SIGTERM; killed it");
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.child.is_some() {
            let _ = self.stop();
        }
    }
}

/// Memory of a process from `/proc/<pid>/status`: (VmRSS, VmHWM) in bytes.
pub fn memory(pid: u32) -> anyhow::Result<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("reading /proc/{pid}/status"))?;
    let field = |name: &str| -> anyhow::Result<u64> {
        let line = status
            .lines()
            .find(|l| l.starts_with(name))
            .ok_or_else(|| anyhow!("no {name} in /proc/{pid}/status"))?;
        let kib: u64 = line[name.len()..]
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .with_context(|| format!("parsing {line:?}"))?;
        Ok(kib * 1024)
    };
    Ok((field("VmRSS:")?, field("VmHWM:")?))
}

/// The admin kubeconfig's CA and client credentials as a rustls client configuration.
fn tls_from_kubeconfig(path: &Path) -> anyhow::Result<ClientConfig> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the kubeconfig {}", path.display()))?;
    let doc: serde_norway::Value = serde_norway::from_str(&text)
        .with_context(|| format!("parsing the kubeconfig {}", path.display()))?;
    let field = |list: &str, inner: &str, name: &str| -> anyhow::Result<Vec<u8>> {
        let value = doc[list][0][inner][name]
            .as_str()
            .ok_or_else(|| anyhow!("kubeconfig {}: no {list}[0].{inner}.{name}", path.display()))?;
        BASE64
            .decode(value.trim())
            .with_context(|| format!("kubeconfig {}: {name} is not base64", path.display()))
    };
    let ca = field("clusters", "cluster", "certificate-authority-data")?;
    let cert = field("users", "user", "client-certificate-data")?;
    let key = field("users", "user", "client-key-data")?;

    let mut roots = RootCertStore::empty();
    for der in CertificateDer::pem_slice_iter(&ca) {
        roots.add(der.context("certificate-authority-data")?)?;
    }
    let chain = CertificateDer::pem_slice_iter(&cert)
        .collect::<Result<Vec<_>, _>>()
        .context("client-certificate-data")?;
    let key = PrivateKeyDer::from_pem_slice(&key).context("client-key-data")?;
    let mut config =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_client_auth_cert(chain, key)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}
