//! Test harness: a throwaway single-member etcd (the `etcd` binary from Debian's `etcd-server`) on
//! free loopback ports in a temp dir, optionally with client TLS and client-certificate auth.
//!
//! Include it with `#[path = "support/etcd_server.rs"] mod etcd_server;` (from a bench:
//! `#[path = "../tests/support/etcd_server.rs"]`). The server is killed and its directory removed when
//! the [`EtcdServer`] is dropped. A missing `etcd` binary is an error, never a skip.
#![allow(dead_code)]

use std::{
    fs::File,
    io,
    net::{TcpListener, TcpStream},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

/// How long to wait for a started etcd to answer a KV request.
const READY_TIMEOUT: Duration = Duration::from_secs(15);
/// How many times to retry with fresh ports when etcd exits early (a port taken in between).
const START_ATTEMPTS: usize = 5;
/// Backend quota: large enough for the benchmarks (etcd's recommended maximum is 8 GiB).
const QUOTA_BACKEND_BYTES: u64 = 8 * 1024 * 1024 * 1024;

/// CA, client certificate and client key (PEM files) for a TLS etcd from [`EtcdServer::start_tls`].
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// The CA that signed the server and client certificates.
    pub ca: PathBuf,
    /// A client certificate the server accepts.
    pub cert: PathBuf,
    /// The client certificate's key.
    pub key: PathBuf,
}

/// A running etcd child process with its own data dir.
#[derive(Debug)]
pub struct EtcdServer {
    /// The client URL, `http://127.0.0.1:PORT` or `https://127.0.0.1:PORT`.
    pub endpoint: String,
    child: Child,
    data_dir: PathBuf,
    log_file: PathBuf,
    // Holds the data dir, the log and the certificates; removed on drop (after the child is gone).
    _dir: tempfile::TempDir,
}

impl EtcdServer {
    /// Start a fresh single-member etcd on free loopback ports in a temp dir; wait until it answers.
    pub fn start() -> io::Result<EtcdServer> {
        let dir = tempfile::Builder::new().prefix("etcd-test-").tempdir()?;
        start_in(dir, None)
    }

    /// Same with client TLS: a server certificate for 127.0.0.1/localhost and `--client-cert-auth`.
    /// Returns the server and the CA, client certificate and client key file paths.
    pub fn start_tls() -> io::Result<(EtcdServer, TlsFiles)> {
        let dir = tempfile::Builder::new().prefix("etcd-test-").tempdir()?;
        let pki = write_pki(dir.path())?;
        let client = pki.client.clone();
        let server = start_in(dir, Some(&pki))?;
        Ok((server, client))
    }

    /// The data directory (under the server's temp dir).
    pub fn data_dir(&self) -> PathBuf {
        self.data_dir.clone()
    }

    /// The server's log file (etcd's stdout and stderr).
    pub fn log_file(&self) -> PathBuf {
        self.log_file.clone()
    }
}

impl Drop for EtcdServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Server-side and client-side PEM files.
struct Pki {
    server_cert: PathBuf,
    server_key: PathBuf,
    client: TlsFiles,
}

fn start_in(dir: tempfile::TempDir, pki: Option<&Pki>) -> io::Result<EtcdServer> {
    check_binary()?;
    let mut last_err = io::Error::other("etcd did not start");
    for attempt in 0..START_ATTEMPTS {
        let client_port = free_port()?;
        let peer_port = free_port()?;
        if client_port == peer_port {
            continue;
        }
        let scheme = if pki.is_some() { "https" } else { "http" };
        let client_url = format!("{scheme}://127.0.0.1:{client_port}");
        let peer_url = format!("http://127.0.0.1:{peer_port}");
        let root = dir.path().to_owned();
        let data_dir = root.join(format!("data-{attempt}"));
        let log_path = root.join(format!("etcd-{attempt}.log"));
        let log = File::create(&log_path)?;
        let mut cmd = Command::new("etcd");
        cmd.arg("--name")
            .arg("default")
            .arg("--data-dir")
            .arg(&data_dir)
            .arg("--listen-client-urls")
            .arg(&client_url)
            .arg("--advertise-client-urls")
            .arg(&client_url)
            .arg("--listen-peer-urls")
            .arg(&peer_url)
            .arg("--initial-advertise-peer-urls")
            .arg(&peer_url)
            .arg("--initial-cluster")
            .arg(format!("default={peer_url}"))
            .arg("--initial-cluster-state")
            .arg("new")
            .arg("--quota-backend-bytes")
            .arg(QUOTA_BACKEND_BYTES.to_string())
            .arg("--logger")
            .arg("zap")
            .arg("--log-outputs")
            .arg("stderr")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        if let Some(pki) = pki {
            cmd.arg("--cert-file")
                .arg(&pki.server_cert)
                .arg("--key-file")
                .arg(&pki.server_key)
                .arg("--trusted-ca-file")
                .arg(&pki.client.ca)
                .arg("--client-cert-auth");
        }
        let mut child = cmd.spawn().map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("cannot run etcd ({e}); install it with `apt-get install etcd-server`"),
            )
        })?;
        match wait_ready(&mut child, &client_url, pki.map(|p| &p.client)) {
            Ok(()) => {
                return Ok(EtcdServer {
                    endpoint: client_url,
                    child,
                    data_dir,
                    log_file: log_path,
                    _dir: dir,
                });
            }
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                let log = std::fs::read_to_string(&log_path).unwrap_or_default();
                let lines: Vec<&str> = log.lines().collect();
                let tail = lines[lines.len().saturating_sub(20)..].join("\n");
                last_err = io::Error::other(format!("{e}; etcd log tail:\n{tail}"));
                // Retry with fresh ports (another process may have taken ours).
            }
        }
    }
    Err(last_err)
}

fn check_binary() -> io::Result<()> {
    match Command::new("etcd")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
    {
        Ok(s) if s.success() => Ok(()),
        Ok(s) => Err(io::Error::other(format!(
            "`etcd --version` failed ({s}); install etcd with `apt-get install etcd-server`"
        ))),
        Err(e) => Err(io::Error::new(
            e.kind(),
            format!("etcd binary not found ({e}); install it with `apt-get install etcd-server`"),
        )),
    }
}

fn free_port() -> io::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// Poll until etcd serves a KV get, the child exits, or the timeout passes. The check runs on its own
/// thread with its own runtime, so it works both from plain and from async tests.
fn wait_ready(child: &mut Child, endpoint: &str, tls: Option<&TlsFiles>) -> io::Result<()> {
    let deadline = Instant::now() + READY_TIMEOUT;
    let addr = endpoint
        .rsplit_once("://")
        .map(|(_, a)| a.to_owned())
        .unwrap_or_default();
    loop {
        if let Some(status) = child.try_wait()? {
            return Err(io::Error::other(format!("etcd exited early ({status})")));
        }
        if Instant::now() > deadline {
            return Err(io::Error::other(format!(
                "etcd at {endpoint} did not answer within {READY_TIMEOUT:?}"
            )));
        }
        if TcpStream::connect_timeout(
            &addr
                .parse()
                .map_err(|e| io::Error::other(format!("bad address {addr}: {e}")))?,
            Duration::from_millis(200),
        )
        .is_ok()
        {
            let endpoint = endpoint.to_owned();
            let tls = tls.cloned();
            let ok = std::thread::spawn(move || kv_get_ok(&endpoint, tls.as_ref()))
                .join()
                .unwrap_or(false);
            if ok {
                return Ok(());
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn kv_get_ok(endpoint: &str, tls: Option<&TlsFiles>) -> bool {
    let Ok(rt) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return false;
    };
    rt.block_on(async {
        let mut options = etcd_client::ConnectOptions::new()
            .with_connect_timeout(Duration::from_secs(1))
            .with_timeout(Duration::from_secs(2));
        if let Some(tls) = tls {
            let (Ok(ca), Ok(cert), Ok(key)) = (
                std::fs::read(&tls.ca),
                std::fs::read(&tls.cert),
                std::fs::read(&tls.key),
            ) else {
                return false;
            };
            options = options.with_tls(
                etcd_client::TlsOptions::new()
                    .ca_certificate(etcd_client::Certificate::from_pem(ca))
                    .identity(etcd_client::Identity::from_pem(cert, key)),
            );
        }
        let Ok(mut client) = etcd_client::Client::connect([endpoint], Some(options)).await else {
            return false;
        };
        client.get("/health-check", None).await.is_ok()
    })
}

/// Generate a CA, a server certificate for 127.0.0.1/localhost and a client certificate.
fn write_pki(dir: &Path) -> io::Result<Pki> {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
        KeyPair, KeyUsagePurpose,
    };
    let err = |e: rcgen::Error| io::Error::other(format!("generating test certificates: {e}"));

    let ca_key = KeyPair::generate().map_err(err)?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(err)?;
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "tugboat test CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_cert = ca_params.self_signed(&ca_key).map_err(err)?;
    let issuer = Issuer::new(ca_params, ca_key);

    let server_key = KeyPair::generate().map_err(err)?;
    let mut server_params =
        CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .map_err(err)?;
    server_params
        .distinguished_name
        .push(DnType::CommonName, "etcd");
    server_params.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    let server_cert = server_params.signed_by(&server_key, &issuer).map_err(err)?;

    let client_key = KeyPair::generate().map_err(err)?;
    let mut client_params = CertificateParams::new(Vec::<String>::new()).map_err(err)?;
    client_params
        .distinguished_name
        .push(DnType::CommonName, "tugboat-apiserver");
    client_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let client_cert = client_params.signed_by(&client_key, &issuer).map_err(err)?;

    let write = |name: &str, contents: String| -> io::Result<PathBuf> {
        let path = dir.join(name);
        std::fs::write(&path, contents)?;
        Ok(path)
    };
    Ok(Pki {
        server_cert: write("server.crt", server_cert.pem())?,
        server_key: write("server.key", server_key.serialize_pem())?,
        client: TlsFiles {
            ca: write("ca.crt", ca_cert.pem())?,
            cert: write("client.crt", client_cert.pem())?,
            key: write("client.key", client_key.serialize_pem())?,
        },
    })
}
