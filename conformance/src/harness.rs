//! Start a real `tugboat server` and drive it with stock clients.
//!
//! [`Server::start`] runs the already-built binary ([`tugboat_bin`]) on a free loopback port with its
//! own temp dir (and, for [`Backend::Etcd`], its own throwaway etcd), waits until kubectl gets `ok`
//! from `/readyz`, and stops it with SIGTERM when dropped. Start-up costs ~50 ms on the embedded
//! store and ~1 s with etcd, so every scenario gets a fresh server: no state leaks between scenarios.
//! [`Server::restart`] stops it with SIGTERM and starts it again on the same data dir, port and etcd,
//! for scenarios about clients surviving a server restart.
//!
//! Clients come from `hack/install-clients.sh`: `<workspace>/.tools/bin/kubectl` and
//! `<workspace>/.tools/venv/bin/python` (override with `TUGBOAT_KUBECTL`, `TUGBOAT_PYTHON`). Every
//! command has a timeout, so a hung client fails its scenario instead of hanging the suite. A missing
//! binary or client is an error that says how to get it, never a skip.

use std::{
    ffi::OsStr,
    fmt,
    fs::File,
    io::{self, Write},
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command, ExitStatus, Stdio},
    sync::{Mutex, MutexGuard, PoisonError, mpsc},
    time::{Duration, Instant},
};

use tugboat_etcd_testing::{EtcdServer as Etcd, Options as EtcdOptions};

/// How long `tugboat server` may take to answer `/readyz` with `ok`.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long one client command may run before it is killed and its scenario fails.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the server may take to exit after SIGTERM before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// Fresh ports are tried this many times when the server exits early (a port taken in between).
const START_ATTEMPTS: usize = 5;
/// A restart (same port) is retried this many times while the port is still taken.
const RESTART_ATTEMPTS: usize = 10;

/// Which datastore the server runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// The embedded store (no `--datastore-endpoint`).
    Embedded,
    /// A fresh etcd started for this server.
    Etcd,
}

// === paths ===

/// The workspace root (the parent of this crate's folder).
pub fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_owned()
}

/// The `tugboat` binary: `$TUGBOAT_BIN`, else `$CARGO_TARGET_DIR/debug/tugboat`, else
/// `<workspace>/target/debug/tugboat`. It is another package's binary, so cargo does not build it for
/// this crate's tests: run `cargo build -p tugboat` first (hack/test.sh does).
pub fn tugboat_bin() -> PathBuf {
    if let Some(bin) = std::env::var_os("TUGBOAT_BIN") {
        return PathBuf::from(bin);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|t| {
            if t.is_relative() {
                workspace_root().join(t)
            } else {
                t
            }
        })
        .unwrap_or_else(|| workspace_root().join("target"));
    target.join("debug").join("tugboat")
}

/// kubectl 1.37: `$TUGBOAT_KUBECTL`, else `<workspace>/.tools/bin/kubectl`.
pub fn kubectl_bin() -> PathBuf {
    std::env::var_os("TUGBOAT_KUBECTL")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join(".tools/bin/kubectl"))
}

/// The helm binary: `$TUGBOAT_HELM`, else `<workspace>/.tools/bin/helm` (hack/install-clients.sh).
pub fn helm_bin() -> PathBuf {
    std::env::var_os("TUGBOAT_HELM")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join(".tools/bin/helm"))
}

/// The venv Python with the `kubernetes` client: `$TUGBOAT_PYTHON`, else
/// `<workspace>/.tools/venv/bin/python`.
pub fn python_bin() -> PathBuf {
    std::env::var_os("TUGBOAT_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join(".tools/venv/bin/python"))
}

fn require(path: &Path, how: &str) -> io::Result<()> {
    if path.is_file() {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("{} not found; {how}", path.display()),
        ))
    }
}

/// A port that was free on 127.0.0.1 a moment ago.
pub(crate) fn free_port() -> io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// The last `n` lines of a text file (empty if it cannot be read).
pub(crate) fn log_tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

// === Output ===

/// What a finished client command printed and how it exited.
#[derive(Debug, Clone)]
pub struct Output {
    /// The command line, for failure messages.
    pub command: String,
    /// The exit code (`None` if killed by a signal).
    pub code: Option<i32>,
    /// Standard output (lossy UTF-8).
    pub stdout: String,
    /// Standard error (lossy UTF-8).
    pub stderr: String,
}

impl Output {
    /// Whether the command exited with status 0.
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }

    /// Panic (with everything the command printed) unless it exited with status 0.
    #[track_caller]
    pub fn ok(self) -> Output {
        assert!(self.success(), "command failed:\n{self}");
        self
    }

    /// Panic unless the command failed; returns it to assert on the error message.
    #[track_caller]
    pub fn fails(self) -> Output {
        assert!(!self.success(), "command unexpectedly succeeded:\n{self}");
        self
    }

    /// Standard output parsed as JSON (panics, with the output, if it is not).
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        match serde_json::from_str(&self.stdout) {
            Ok(v) => v,
            Err(e) => panic!("stdout is not JSON ({e}):\n{self}"),
        }
    }

    /// The non-empty lines of standard output.
    pub fn lines(&self) -> Vec<&str> {
        self.stdout
            .lines()
            .filter(|l| !l.trim().is_empty())
            .collect()
    }

    /// Panic unless standard error contains `needle`.
    #[track_caller]
    pub fn stderr_contains(self, needle: &str) -> Output {
        assert!(
            self.stderr.contains(needle),
            "stderr does not contain {needle:?}:\n{self}"
        );
        self
    }

    /// Panic unless standard output contains `needle`.
    #[track_caller]
    pub fn stdout_contains(self, needle: &str) -> Output {
        assert!(
            self.stdout.contains(needle),
            "stdout does not contain {needle:?}:\n{self}"
        );
        self
    }
}

impl fmt::Display for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "$ {}", self.command)?;
        writeln!(f, "exit code: {:?}", self.code)?;
        writeln!(f, "--- stdout:\n{}", self.stdout)?;
        write!(f, "--- stderr:\n{}", self.stderr)
    }
}

/// Run `cmd` to completion with `stdin`, killing it after `timeout`.
fn run(mut cmd: Command, stdin: Option<&[u8]>, timeout: Duration) -> io::Result<Output> {
    let command = describe(&cmd);
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .map_err(|e| io::Error::new(e.kind(), format!("cannot run `{command}`: {e}")))?;
    if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
        // A large body to a process that exits early may fail with EPIPE: the exit status tells.
        let _ = pipe.write_all(input);
    }
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let (out, timed_out) = match rx.recv_timeout(timeout) {
        Ok(out) => (out?, false),
        Err(_) => {
            signal(pid, "KILL");
            let out = rx
                .recv()
                .map_err(|_| io::Error::other("waiter thread vanished"))??;
            (out, true)
        }
    };
    let mut output = Output {
        command,
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    if timed_out {
        output.stderr.push_str(&format!(
            "\n[harness: killed after {timeout:?} without exiting]"
        ));
        output.code = None;
    }
    Ok(output)
}

fn describe(cmd: &Command) -> String {
    std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|a| {
            let a = a.to_string_lossy();
            if a.contains(char::is_whitespace) || a.is_empty() {
                format!("'{a}'")
            } else {
                a.into_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Send a signal by name to a process we started (through `sh`'s builtin `kill`: no unsafe code).
fn signal(pid: u32, name: &str) {
    let _ = Command::new("sh")
        .arg("-c")
        .arg(format!("kill -{name} {pid}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

// === Server ===

/// A running `tugboat server` with its temp dir (and etcd); stopped with SIGTERM when dropped.
#[derive(Debug)]
pub struct Server {
    backend: Backend,
    port: u16,
    /// The server process; behind a lock so that [`Server::restart`] works through the `&Server`
    /// scenarios get.
    child: Mutex<Option<Child>>,
    data_dir: PathBuf,
    /// Arguments added to every start (see [`Server::start_with_args`]).
    extra_args: Vec<String>,
    log: PathBuf,
    kubeconfig: PathBuf,
    // Dropped after `child` is stopped (see `Drop`): the etcd, then the directory holding everything.
    etcd: Option<Etcd>,
    dir: tempfile::TempDir,
}

impl Server {
    /// `tugboat server` arguments of [`Server::start`]: the API server without the controller
    /// manager, so that API scenarios see only what they write (no `default` ServiceAccount or
    /// `kube-root-ca.crt` in every namespace, no status rewritten by a controller); scenarios
    /// about controllers start with [`Server::start_with_args`].
    pub const API_ONLY_ARGS: &[&str] = &["--disable-controller-manager"];

    /// Start a server on `backend` with [`Server::API_ONLY_ARGS`]; panics with the reason (and
    /// the server's log) if it cannot.
    #[track_caller]
    pub fn start(backend: Backend) -> Server {
        Server::start_with_args(backend, Self::API_ONLY_ARGS)
    }

    /// Start a server on `backend` with extra `tugboat server` arguments (e.g.
    /// `--kube-apiserver-arg=etcd-compaction-interval=1s`), kept across [`Server::restart`].
    #[track_caller]
    pub fn start_with_args(backend: Backend, args: &[&str]) -> Server {
        match Server::try_start_with_args(backend, args) {
            Ok(server) => server,
            Err(e) => panic!("cannot start tugboat server on {backend:?}: {e}"),
        }
    }

    /// Start a server on `backend` and wait until it is ready.
    pub fn try_start(backend: Backend) -> io::Result<Server> {
        Server::try_start_with_args(backend, Self::API_ONLY_ARGS)
    }

    /// [`Server::start_with_args`], returning the error instead of panicking.
    pub fn try_start_with_args(backend: Backend, args: &[&str]) -> io::Result<Server> {
        let extra_args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        let bin = tugboat_bin();
        require(
            &bin,
            "build it with `cargo build -p tugboat` (hack/test.sh does) or set TUGBOAT_BIN",
        )?;
        require(
            &kubectl_bin(),
            "install it with `bash hack/install-clients.sh`",
        )?;
        let dir = tempfile::Builder::new()
            .prefix("tugboat-scenario-")
            .tempdir()?;
        let etcd = match backend {
            Backend::Embedded => None,
            // No fsync: a scenario never survives a crash, and fsync dominates etcd's start-up
            // and write latency on CI disks.
            Backend::Etcd => Some(Etcd::start_with(EtcdOptions {
                tls: false,
                fsync: false,
                dir: Some(dir.path().to_owned()),
            })?),
        };
        let mut last_err = io::Error::other("tugboat server did not start");
        for attempt in 0..START_ATTEMPTS {
            let port = free_port()?;
            let data_dir = dir.path().join(format!("data-{attempt}"));
            let log = dir.path().join(format!("server-{attempt}.log"));
            let kubeconfig = data_dir.join("kubeconfig.yaml");
            File::create(&log)?;
            let endpoint = etcd.as_ref().map(|e| e.endpoint.as_str());
            let mut child = spawn_server(&bin, &data_dir, port, endpoint, &extra_args, &log)?;
            match wait_ready(&mut child, &kubeconfig, dir.path()) {
                Ok(()) => {
                    return Ok(Server {
                        backend,
                        port,
                        child: Mutex::new(Some(child)),
                        data_dir,
                        extra_args,
                        log,
                        kubeconfig,
                        etcd,
                        dir,
                    });
                }
                Err(e) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    let tail = log_tail(&log, 30);
                    let port_taken = tail.contains("Address already in use");
                    last_err = io::Error::other(format!("{e}; server log tail:\n{tail}"));
                    if !port_taken {
                        break;
                    }
                }
            }
        }
        Err(last_err)
    }

    /// The datastore this server runs on.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The HTTPS port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The admin kubeconfig the server wrote.
    pub fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }

    /// A scratch directory for manifests and outputs, removed with the server.
    pub fn scratch_dir(&self) -> &Path {
        self.dir.path()
    }

    /// Write `contents` to `name` in the scratch directory; returns its path.
    #[track_caller]
    pub fn write_file(&self, name: &str, contents: &[u8]) -> PathBuf {
        let path = self.dir.path().join(name);
        if let Err(e) = std::fs::write(&path, contents) {
            panic!("cannot write {}: {e}", path.display());
        }
        path
    }

    /// Everything the server logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn kubectl_command<S: AsRef<OsStr>>(&self, args: &[S]) -> Command {
        let mut cmd = Command::new(kubectl_bin());
        cmd.args(args);
        client_env(&mut cmd, &self.kubeconfig, self.dir.path());
        cmd
    }

    /// Run kubectl with this server's kubeconfig; panics only if kubectl cannot be run at all.
    #[track_caller]
    pub fn kubectl<S: AsRef<OsStr>>(&self, args: &[S]) -> Output {
        self.kubectl_with_stdin(args, None)
    }

    /// Run kubectl with `stdin` as its standard input (for `-f -`).
    #[track_caller]
    pub fn kubectl_with_stdin<S: AsRef<OsStr>>(&self, args: &[S], stdin: Option<&[u8]>) -> Output {
        match run(self.kubectl_command(args), stdin, COMMAND_TIMEOUT) {
            Ok(out) => out,
            Err(e) => panic!("{e}"),
        }
    }

    /// Run helm with this server's kubeconfig and its own cache, config and data folders under the
    /// scratch dir (so runs never share state); panics only if helm cannot be run at all.
    #[track_caller]
    pub fn helm<S: AsRef<OsStr>>(&self, args: &[S]) -> Output {
        let mut cmd = Command::new(helm_bin());
        cmd.args(args);
        client_env(&mut cmd, &self.kubeconfig, self.dir.path());
        let home = self.dir.path().join("helm");
        cmd.env("HELM_CACHE_HOME", home.join("cache"))
            .env("HELM_CONFIG_HOME", home.join("config"))
            .env("HELM_DATA_HOME", home.join("data"));
        match run(cmd, None, COMMAND_TIMEOUT) {
            Ok(out) => out,
            Err(e) => panic!("{e}"),
        }
    }

    /// Run kubectl with extra environment variables (e.g. `KUBE_EDITOR` for `kubectl edit`).
    #[track_caller]
    pub fn kubectl_with_env<S: AsRef<OsStr>>(&self, args: &[S], env: &[(&str, &str)]) -> Output {
        let mut cmd = self.kubectl_command(args);
        cmd.envs(env.iter().copied());
        match run(cmd, None, COMMAND_TIMEOUT) {
            Ok(out) => out,
            Err(e) => panic!("{e}"),
        }
    }

    /// Start kubectl in the background (a watch, a proxy); stdout and stderr go to files that
    /// [`Background`] reads while it runs. Killed when the `Background` is stopped or dropped.
    #[track_caller]
    pub fn kubectl_background<S: AsRef<OsStr>>(&self, args: &[S]) -> Background {
        let cmd = self.kubectl_command(args);
        match Background::spawn(cmd, self.dir.path()) {
            Ok(bg) => bg,
            Err(e) => panic!("{e}"),
        }
    }

    /// Run a Python snippet with the official client, after a prelude that imports `json`, `sys`,
    /// `threading`, `time`, `client`, `config`, `watch`, `ApiException`, loads this server's
    /// kubeconfig and defines `raw(method, path, accept=..., body=None, content_type=...)`, a raw
    /// request returning `(status, content type, parsed JSON body)` whatever the status.
    #[track_caller]
    pub fn python(&self, script: &str) -> Output {
        let python = python_bin();
        if let Err(e) = require(&python, "install it with `bash hack/install-clients.sh`") {
            panic!("{e}");
        }
        let mut cmd = Command::new(python);
        cmd.arg("-");
        client_env(&mut cmd, &self.kubeconfig, self.dir.path());
        let program = format!("{PYTHON_PRELUDE}\n{script}\n");
        match run(cmd, Some(program.as_bytes()), COMMAND_TIMEOUT) {
            Ok(out) => out,
            Err(e) => panic!("{e}"),
        }
    }

    /// Run a Python snippet that must succeed and print one JSON value on its last line; returns it.
    #[track_caller]
    pub fn python_json(&self, script: &str) -> serde_json::Value {
        let out = self.python(script).ok();
        let last = out.stdout.lines().last().unwrap_or_default();
        match serde_json::from_str(last) {
            Ok(v) => v,
            Err(e) => panic!("the last line of stdout is not JSON ({e}):\n{out}"),
        }
    }

    /// Stop the server with SIGTERM and wait (SIGKILL after a timeout); returns how it exited.
    pub fn stop(self) -> Option<ExitStatus> {
        self.terminate()
    }

    /// Restart the server: SIGTERM and wait (as [`Server::stop`]), then start it again with the same
    /// arguments (data dir, port, etcd) and wait for `/readyz`. Its log continues in the same file.
    /// Panics with the reason (and the log tail) if it cannot.
    #[track_caller]
    pub fn restart(&self) {
        if let Err(e) = self.try_restart() {
            panic!("cannot restart tugboat server on {:?}: {e}", self.backend);
        }
    }

    /// [`Server::restart`], returning the error instead of panicking. A server that did not exit
    /// within the stop timeout (and was killed) is an error, after which it is started anyway.
    pub fn try_restart(&self) -> io::Result<()> {
        let stopped = self.terminate();
        let note = match stopped {
            Some(status) => format!("stopped ({status})"),
            None => format!("killed: no exit within {STOP_TIMEOUT:?} of SIGTERM"),
        };
        File::options()
            .append(true)
            .open(&self.log)
            .and_then(|mut log| writeln!(log, "[harness: server {note}; restarting]"))?;
        let mut child_slot = self.child_slot();
        let bin = tugboat_bin();
        let endpoint = self.etcd.as_ref().map(|e| e.endpoint.as_str());
        let mut last_err = io::Error::other("tugboat server did not restart");
        for _ in 0..RESTART_ATTEMPTS {
            let mut child = spawn_server(
                &bin,
                &self.data_dir,
                self.port,
                endpoint,
                &self.extra_args,
                &self.log,
            )?;
            match wait_ready(&mut child, &self.kubeconfig, self.dir.path()) {
                Ok(()) => {
                    *child_slot = Some(child);
                    return match stopped {
                        Some(_) => Ok(()),
                        None => Err(io::Error::other(format!(
                            "the server was {note} (it has been started again)"
                        ))),
                    };
                }
                Err(e) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    let tail = log_tail(&self.log, 30);
                    last_err = io::Error::other(format!("{e}; server log tail:\n{tail}"));
                    // The old process's socket may linger a moment; anything else is fatal.
                    if !tail.contains("Address already in use") {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(200));
                }
            }
        }
        Err(last_err)
    }

    fn child_slot(&self) -> MutexGuard<'_, Option<Child>> {
        self.child.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn terminate(&self) -> Option<ExitStatus> {
        let mut child = self.child_slot().take()?;
        signal(child.id(), "TERM");
        let deadline = Instant::now() + STOP_TIMEOUT;
        loop {
            match child.try_wait() {
                Ok(Some(status)) => return Some(status),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(10))
                }
                _ => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return None;
                }
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.terminate();
        if std::thread::panicking() {
            // Shown with the failing scenario's output.
            eprintln!(
                "--- tugboat server log tail ({:?}, port {}):\n{}",
                self.backend,
                self.port,
                log_tail(&self.log, 40)
            );
        }
    }
}

const PYTHON_PRELUDE: &str = "\
import json, sys, threading, time
from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException
config.load_kube_config()
_raw_client = client.ApiClient()
def raw(method, path, accept=\"application/json\", body=None, content_type=\"application/json\"):
    r = _raw_client.call_api(method, _raw_client.configuration.host + path,
                             header_params={\"Accept\": accept, \"Content-Type\": content_type}, body=body)
    r.read()
    return r.status, r.getheader(\"Content-Type\"), json.loads(r.data)";

/// Start `tugboat server` on `data_dir` and `port` (and the etcd at `etcd_endpoint`), appending its
/// output to `log`.
fn spawn_server(
    bin: &Path,
    data_dir: &Path,
    port: u16,
    etcd_endpoint: Option<&str>,
    extra_args: &[String],
    log: &Path,
) -> io::Result<Child> {
    let mut cmd = Command::new(bin);
    cmd.arg("server")
        .arg("--data-dir")
        .arg(data_dir)
        .arg("--bind-address=127.0.0.1")
        .arg(format!("--https-listen-port={port}"))
        .arg("--disable-agent")
        .env(
            "RUST_LOG",
            std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()),
        )
        .env("NO_COLOR", "1")
        .env_remove("KUBECONFIG")
        .stdin(Stdio::null())
        .stdout(File::options().append(true).open(log)?)
        .stderr(File::options().append(true).open(log)?);
    if let Some(endpoint) = etcd_endpoint {
        cmd.arg("--datastore-endpoint").arg(endpoint);
    }
    cmd.args(extra_args);
    cmd.spawn()
        .map_err(|e| io::Error::new(e.kind(), format!("cannot run {}: {e}", bin.display())))
}

/// Point a client at `kubeconfig`, with a discovery cache private to this server.
fn client_env(cmd: &mut Command, kubeconfig: &Path, scratch: &Path) {
    cmd.env("KUBECONFIG", kubeconfig)
        .env("KUBECACHEDIR", scratch.join("kube-cache"))
        .env_remove("KUBERNETES_SERVICE_HOST")
        .env_remove("KUBERNETES_SERVICE_PORT")
        .env_remove("KUBECTL_KUBERC")
        .env("KUBERC", "off");
}

/// Wait until the kubeconfig exists and kubectl reads `ok` from `/readyz`.
fn wait_ready(child: &mut Child, kubeconfig: &Path, scratch: &Path) -> io::Result<()> {
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        if let Some(status) = child.try_wait()? {
            return Err(io::Error::other(format!(
                "tugboat server exited early ({status})"
            )));
        }
        if kubeconfig.is_file() {
            let mut cmd = Command::new(kubectl_bin());
            cmd.args(["get", "--raw", "/readyz", "--request-timeout=2s"]);
            client_env(&mut cmd, kubeconfig, scratch);
            let out = run(cmd, None, Duration::from_secs(5))?;
            if out.success() && out.stdout.trim() == "ok" {
                return Ok(());
            }
        }
        if Instant::now() > deadline {
            return Err(io::Error::other(format!(
                "tugboat server was not ready within {READY_TIMEOUT:?}"
            )));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

// === Background ===

/// A client command running in the background, its output going to files read while it runs.
#[derive(Debug)]
pub struct Background {
    command: String,
    child: Option<Child>,
    stdout: PathBuf,
    stderr: PathBuf,
}

impl Background {
    fn spawn(mut cmd: Command, scratch: &Path) -> io::Result<Background> {
        let command = describe(&cmd);
        let out = tempfile::Builder::new()
            .prefix("bg-stdout-")
            .tempfile_in(scratch)?
            .into_temp_path()
            .keep()
            .map_err(|e| e.error)?;
        let err = out.with_file_name(format!(
            "{}.stderr",
            out.file_name().unwrap_or_default().to_string_lossy()
        ));
        let child = cmd
            .stdin(Stdio::null())
            .stdout(File::create(&out)?)
            .stderr(File::create(&err)?)
            .spawn()
            .map_err(|e| io::Error::new(e.kind(), format!("cannot run `{command}`: {e}")))?;
        Ok(Background {
            command,
            child: Some(child),
            stdout: out,
            stderr: err,
        })
    }

    /// Standard output so far.
    pub fn stdout(&self) -> String {
        std::fs::read_to_string(&self.stdout).unwrap_or_default()
    }

    /// Standard error so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// Wait until `pred(stdout, stderr)` holds; panics with the output so far after `timeout` or if
    /// the command exits first.
    #[track_caller]
    pub fn wait_until(&mut self, what: &str, timeout: Duration, pred: impl Fn(&str, &str) -> bool) {
        let deadline = Instant::now() + timeout;
        loop {
            let (out, err) = (self.stdout(), self.stderr());
            if pred(&out, &err) {
                return;
            }
            let exited = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten());
            if exited.is_some() || Instant::now() > deadline {
                let why = match exited {
                    Some(status) => format!("exited ({status})"),
                    None => format!("still waiting after {timeout:?}"),
                };
                panic!(
                    "background `{}` {why}, waiting for {what}\n--- stdout:\n{out}\n--- stderr:\n{err}",
                    self.command
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kill the command (if still running) and return what it printed.
    pub fn stop(mut self) -> Output {
        let code = self.kill();
        Output {
            command: self.command.clone(),
            code,
            stdout: self.stdout(),
            stderr: self.stderr(),
        }
    }

    fn kill(&mut self) -> Option<i32> {
        let mut child = self.child.take()?;
        if let Ok(Some(status)) = child.try_wait() {
            return status.code();
        }
        let _ = child.kill();
        child.wait().ok().and_then(|s| s.code())
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        self.kill();
    }
}
