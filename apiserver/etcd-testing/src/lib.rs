//! A throwaway single-member etcd (the `etcd` binary from Debian's `etcd-server`, or `$ETCD_BIN`) on
//! free loopback ports, for the storage contract tests, the scenario suite and the benchmarks.
//!
//! [`EtcdServer::start_with`] takes [`Options`]: client TLS with client-certificate auth, fsync on
//! (as in production: storage tests and benchmarks) or off (`--unsafe-no-fsync`: scenarios, which
//! never survive a crash and where fsync dominates start-up on CI disks), and the directory for the
//! data and log (a temp dir removed on drop, or the caller's). A started server answers before
//! `start` returns; a port taken in between is retried with fresh ones. Dropping the server stops it
//! with SIGTERM, then SIGKILL. A missing `etcd` binary is an error, never a skip.

use std::{
    fs::File,
    io::{self, Read, Write},
    net::{TcpListener, TcpStream},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

/// How long a started etcd may take to answer.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// How many times to retry with fresh ports when etcd exits early (a port taken in between).
const START_ATTEMPTS: usize = 5;
/// How long etcd may take to exit after SIGTERM before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(5);
/// Backend quota: large enough for the benchmarks (etcd's recommended maximum is 8 GiB).
const QUOTA_BACKEND_BYTES: u64 = 8 * 1024 * 1024 * 1024;

/// How to run the server.
#[derive(Debug, Clone)]
pub struct Options {
    /// Client TLS: a server certificate for 127.0.0.1/localhost and `--client-cert-auth`.
    pub tls: bool,
    /// fsync every commit; `false` runs with `--unsafe-no-fsync`.
    pub fsync: bool,
    /// Where the data and log go; `None`: a temp dir removed on drop.
    pub dir: Option<PathBuf>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            tls: false,
            fsync: true,
            dir: None,
        }
    }
}

/// CA, client certificate and client key (PEM files) of a TLS etcd.
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
    tls: Option<TlsFiles>,
    // Holds the data dir, the log and the certificates when the caller gave no dir; removed on
    // drop, after the child is gone.
    _temp: Option<tempfile::TempDir>,
}

impl EtcdServer {
    /// A plain-HTTP etcd with fsync on, in a temp dir.
    pub fn start() -> io::Result<EtcdServer> {
        EtcdServer::start_with(Options::default())
    }

    /// A TLS etcd with fsync on, in a temp dir, and the files a client needs.
    pub fn start_tls() -> io::Result<(EtcdServer, TlsFiles)> {
        let server = EtcdServer::start_with(Options {
            tls: true,
            ..Options::default()
        })?;
        let files = server
            .tls
            .clone()
            .ok_or_else(|| io::Error::other("a TLS etcd without TLS files"))?;
        Ok((server, files))
    }

    /// Start a fresh single-member etcd as `options` say; wait until it answers.
    pub fn start_with(options: Options) -> io::Result<EtcdServer> {
        let (root, temp) = match &options.dir {
            Some(dir) => {
                std::fs::create_dir_all(dir)?;
                (dir.clone(), None)
            }
            None => {
                let temp = tempfile::Builder::new().prefix("etcd-test-").tempdir()?;
                (temp.path().to_owned(), Some(temp))
            }
        };
        let pki = if options.tls {
            Some(write_pki(&root)?)
        } else {
            None
        };
        let binary = binary();
        check_binary(&binary)?;
        let mut last_err = io::Error::other("etcd did not start");
        for attempt in 0..START_ATTEMPTS {
            let (client_port, peer_port) = (free_port()?, free_port()?);
            if client_port == peer_port {
                continue;
            }
            let scheme = if pki.is_some() { "https" } else { "http" };
            let client_url = format!("{scheme}://127.0.0.1:{client_port}");
            let peer_url = format!("http://127.0.0.1:{peer_port}");
            let data_dir = root.join(format!("etcd-data-{attempt}"));
            let log_file = root.join(format!("etcd-{attempt}.log"));
            let log = File::create(&log_file)?;
            let mut command = Command::new(&binary);
            command
                .arg("--name=default")
                .arg(format!("--data-dir={}", data_dir.display()))
                .arg(format!("--listen-client-urls={client_url}"))
                .arg(format!("--advertise-client-urls={client_url}"))
                .arg(format!("--listen-peer-urls={peer_url}"))
                .arg(format!("--initial-advertise-peer-urls={peer_url}"))
                .arg(format!("--initial-cluster=default={peer_url}"))
                .arg("--initial-cluster-state=new")
                .arg(format!("--quota-backend-bytes={QUOTA_BACKEND_BYTES}"))
                .stdin(Stdio::null())
                .stdout(log.try_clone()?)
                .stderr(log);
            if !options.fsync {
                command.arg("--unsafe-no-fsync");
            }
            if let Some(pki) = &pki {
                command
                    .arg(format!("--cert-file={}", pki.server_cert.display()))
                    .arg(format!("--key-file={}", pki.server_key.display()))
                    .arg(format!("--trusted-ca-file={}", pki.client.ca.display()))
                    .arg("--client-cert-auth");
            }
            let child = command.spawn().map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!(
                        "cannot run {} ({e}); install it with `apt-get install etcd-server`",
                        binary.display()
                    ),
                )
            })?;
            let mut server = EtcdServer {
                endpoint: client_url,
                child,
                data_dir,
                log_file,
                tls: pki.as_ref().map(|p| p.client.clone()),
                _temp: None,
            };
            match server.wait_ready(client_port) {
                Ok(()) => {
                    server._temp = temp;
                    return Ok(server);
                }
                Err(e) => {
                    // Dropping `server` stops it; retry with fresh ports.
                    last_err =
                        io::Error::other(format!("{e}; etcd log tail:\n{}", server.log_tail(20)));
                }
            }
        }
        Err(last_err)
    }

    /// The child's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The server's log file (etcd's stdout and stderr).
    pub fn log_file(&self) -> &Path {
        &self.log_file
    }

    /// The last `n` lines of the log.
    pub fn log_tail(&self, n: usize) -> String {
        let text = std::fs::read_to_string(&self.log_file).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    /// The client's TLS files, for a TLS server.
    pub fn tls_files(&self) -> Option<&TlsFiles> {
        self.tls.as_ref()
    }

    /// Poll until etcd answers (`/health` over HTTP, a KV get over TLS), the child exits, or the
    /// timeout passes.
    fn wait_ready(&mut self, port: u16) -> io::Result<()> {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Err(io::Error::other(format!("etcd exited early ({status})")));
            }
            let ready = match &self.tls {
                None => health_ok(port),
                Some(tls) => {
                    TcpStream::connect(("127.0.0.1", port)).is_ok()
                        && kv_get_ok(&self.endpoint, tls)
                }
            };
            if ready {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(io::Error::other(format!(
                    "etcd at {} did not answer within {READY_TIMEOUT:?}",
                    self.endpoint
                )));
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }
}

impl Drop for EtcdServer {
    fn drop(&mut self) {
        // SIGTERM through kill(1): the workspace forbids unsafe code, so no `libc::kill`.
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let deadline = Instant::now() + STOP_TIMEOUT;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `$ETCD_BIN`, else `etcd` on the `PATH`.
fn binary() -> PathBuf {
    std::env::var_os("ETCD_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("etcd"))
}

fn check_binary(binary: &Path) -> io::Result<()> {
    match Command::new(binary)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
    {
        Ok(s) if s.success() => Ok(()),
        Ok(s) => Err(io::Error::other(format!(
            "`{} --version` failed ({s}); install etcd with `apt-get install etcd-server`",
            binary.display()
        ))),
        Err(e) => Err(io::Error::new(
            e.kind(),
            format!(
                "etcd binary {} not found ({e}); install it with `apt-get install etcd-server`",
                binary.display()
            ),
        )),
    }
}

fn free_port() -> io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// `GET /health` over plain HTTP/1.0 answers `{"health":"true"}`.
fn health_ok(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    if stream
        .write_all(b"GET /health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    response.contains("\"health\":\"true\"")
}

/// A KV get over TLS with the client certificate succeeds. Runs on its own thread with its own
/// runtime, so that it works from plain and from async callers alike.
fn kv_get_ok(endpoint: &str, tls: &TlsFiles) -> bool {
    let endpoint = endpoint.to_owned();
    let tls = tls.clone();
    std::thread::spawn(move || {
        let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return false;
        };
        runtime.block_on(async {
            let (Ok(ca), Ok(cert), Ok(key)) = (
                std::fs::read(&tls.ca),
                std::fs::read(&tls.cert),
                std::fs::read(&tls.key),
            ) else {
                return false;
            };
            let options = etcd_client::ConnectOptions::new()
                .with_connect_timeout(Duration::from_secs(1))
                .with_timeout(Duration::from_secs(2))
                .with_tls(
                    etcd_client::TlsOptions::new()
                        .ca_certificate(etcd_client::Certificate::from_pem(ca))
                        .identity(etcd_client::Identity::from_pem(cert, key)),
                );
            let Ok(mut client) = etcd_client::Client::connect([endpoint], Some(options)).await
            else {
                return false;
            };
            client.get("/health-check", None).await.is_ok()
        })
    })
    .join()
    .unwrap_or(false)
}

/// Server-side and client-side PEM files.
struct Pki {
    server_cert: PathBuf,
    server_key: PathBuf,
    client: TlsFiles,
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
        server_cert: write("etcd-server.crt", server_cert.pem())?,
        server_key: write("etcd-server.key", server_key.serialize_pem())?,
        client: TlsFiles {
            ca: write("etcd-ca.crt", ca_cert.pem())?,
            cert: write("etcd-client.crt", client_cert.pem())?,
            key: write("etcd-client.key", client_key.serialize_pem())?,
        },
    })
}
