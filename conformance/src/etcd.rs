//! A throwaway single-member etcd (Debian's `etcd-server`) on free loopback ports, for scenarios that
//! run `tugboat server --datastore-endpoint`. Killed when dropped; its directory belongs to the caller.
//!
//! Runs with `--unsafe-no-fsync`: a scenario never survives a crash, and fsync dominates etcd's
//! start-up and write latency on CI disks.

use std::{
    fs::File,
    io::{self, Read, Write},
    net::TcpStream,
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use crate::harness::{free_port, log_tail};

/// How long a started etcd may take to report healthy.
const READY_TIMEOUT: Duration = Duration::from_secs(20);
/// Fresh ports are tried this many times when etcd exits early (a port taken in between).
const START_ATTEMPTS: usize = 5;

/// A running etcd child process.
#[derive(Debug)]
pub(crate) struct Etcd {
    /// The client URL, `http://127.0.0.1:PORT`.
    pub(crate) endpoint: String,
    child: Child,
}

impl Etcd {
    /// Start etcd with its data and log under `dir`; wait until `/health` says healthy.
    pub(crate) fn start(dir: &Path) -> io::Result<Etcd> {
        let mut last_err = io::Error::other("etcd did not start");
        for attempt in 0..START_ATTEMPTS {
            let (client_port, peer_port) = (free_port()?, free_port()?);
            if client_port == peer_port {
                continue;
            }
            let client_url = format!("http://127.0.0.1:{client_port}");
            let peer_url = format!("http://127.0.0.1:{peer_port}");
            let log_path = dir.join(format!("etcd-{attempt}.log"));
            let log = File::create(&log_path)?;
            let child = Command::new("etcd")
                .arg("--name=default")
                .arg(format!(
                    "--data-dir={}",
                    dir.join(format!("etcd-{attempt}")).display()
                ))
                .arg(format!("--listen-client-urls={client_url}"))
                .arg(format!("--advertise-client-urls={client_url}"))
                .arg(format!("--listen-peer-urls={peer_url}"))
                .arg(format!("--initial-advertise-peer-urls={peer_url}"))
                .arg(format!("--initial-cluster=default={peer_url}"))
                .arg("--initial-cluster-state=new")
                .arg("--unsafe-no-fsync")
                .stdin(Stdio::null())
                .stdout(log.try_clone()?)
                .stderr(log)
                .spawn()
                .map_err(|e| {
                    io::Error::new(
                        e.kind(),
                        format!(
                            "cannot run etcd ({e}); install it with `apt-get install etcd-server`"
                        ),
                    )
                })?;
            let mut etcd = Etcd {
                endpoint: client_url,
                child,
            };
            match etcd.wait_healthy(client_port) {
                Ok(()) => return Ok(etcd),
                Err(e) => {
                    last_err = io::Error::other(format!(
                        "{e}; etcd log tail:\n{}",
                        log_tail(&log_path, 20)
                    ));
                    // Dropping `etcd` kills it; retry with fresh ports.
                }
            }
        }
        Err(last_err)
    }

    fn wait_healthy(&mut self, port: u16) -> io::Result<()> {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Err(io::Error::other(format!("etcd exited early ({status})")));
            }
            if health_ok(port) {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(io::Error::other(format!(
                    "etcd at {} was not healthy within {READY_TIMEOUT:?}",
                    self.endpoint
                )));
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }
}

impl Drop for Etcd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
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
