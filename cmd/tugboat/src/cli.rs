//! The command line: k3s's verbs and flag names where k3s has them.

use std::{net::IpAddr, path::PathBuf, sync::LazyLock, time::Duration};

use clap::{Args, Parser, Subcommand};

/// Kubernetes in one binary.
#[derive(Debug, Parser)]
// A flag given twice takes its last value, as with k3s: config-file values come first and yield to the
// command line.
#[command(
    name = "tugboat",
    version = VERSION_TEXT.as_str(),
    about,
    propagate_version = true,
    args_override_self = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// What `--version` prints: tugboat's version and the Kubernetes version it serves.
static VERSION_TEXT: LazyLock<String> = LazyLock::new(|| {
    format!(
        "v{} (Kubernetes {}, gitVersion {})",
        env!("CARGO_PKG_VERSION"),
        tugboat_apiserver::KUBERNETES_VERSION,
        tugboat_apiserver::git_version(),
    )
});

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a control plane: API server, controllers, scheduler, embedded store and (unless
    /// --disable-agent) a node agent.
    Server(Box<ServerArgs>),
    /// Run a node that joins a server.
    Agent(Box<AgentArgs>),
}

#[derive(Debug, Args)]
pub struct ServerArgs {
    /// Config file: a YAML map of flag names to values.
    #[arg(short = 'c', long, env = "TUGBOAT_CONFIG_FILE", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Folder holding all state.
    #[arg(
        short = 'd',
        long,
        default_value = "/var/lib/tugboat",
        value_name = "DIR"
    )]
    pub data_dir: PathBuf,

    /// Address the API server listens on.
    #[arg(long, default_value = "0.0.0.0")]
    pub bind_address: IpAddr,

    /// Port of the HTTPS API.
    #[arg(long, default_value_t = 6443)]
    pub https_listen_port: u16,

    /// Where to write the admin kubeconfig (default: <data-dir>/kubeconfig.yaml).
    #[arg(short = 'o', long, value_name = "FILE")]
    pub write_kubeconfig: Option<PathBuf>,

    /// Empty: the embedded store under the data dir. Otherwise comma-separated http:// or https://
    /// etcd endpoints.
    #[arg(long, env = "TUGBOAT_DATASTORE_ENDPOINT", default_value = "")]
    pub datastore_endpoint: String,

    /// CA bundle of the etcd datastore.
    #[arg(long, env = "TUGBOAT_DATASTORE_CAFILE", value_name = "FILE")]
    pub datastore_cafile: Option<PathBuf>,

    /// Client certificate for the etcd datastore.
    #[arg(long, env = "TUGBOAT_DATASTORE_CERTFILE", value_name = "FILE")]
    pub datastore_certfile: Option<PathBuf>,

    /// Client key for the etcd datastore.
    #[arg(long, env = "TUGBOAT_DATASTORE_KEYFILE", value_name = "FILE")]
    pub datastore_keyfile: Option<PathBuf>,

    /// Do not run a node agent inside the server.
    #[arg(long, num_args = 0..=1, default_value_t = false, default_missing_value = "true")]
    pub disable_agent: bool,

    /// Do not run the controller manager inside the server (k3s's flag; the API server alone).
    #[arg(long, num_args = 0..=1, default_value_t = false, default_missing_value = "true")]
    pub disable_controller_manager: bool,

    /// Name of this node (default: the host name).
    #[arg(long, env = "TUGBOAT_NODE_NAME")]
    pub node_name: Option<String>,

    /// Pod network.
    #[arg(long, default_value = "10.42.0.0/16")]
    pub cluster_cidr: String,

    /// Service network (ClusterIPs).
    #[arg(long, default_value = "10.43.0.0/16")]
    pub service_cidr: String,

    /// Cluster DNS service address.
    #[arg(long, default_value = "10.43.0.10")]
    pub cluster_dns: IpAddr,

    /// Cluster DNS domain.
    #[arg(long, default_value = "cluster.local")]
    pub cluster_domain: String,

    /// Shared secret agents use to join.
    #[arg(short = 't', long, env = "TUGBOAT_TOKEN")]
    pub token: Option<String>,

    /// Extra kube-apiserver flag, as `name=value` (repeatable).
    #[arg(long = "kube-apiserver-arg", value_name = "NAME=VALUE")]
    pub kube_apiserver_args: Vec<String>,

    /// Do not run this controller, by upstream's name (`serviceaccount`,
    /// `root-ca-cert-publisher`, ...; repeatable).
    #[arg(long = "disable-controller", value_name = "NAME")]
    pub disable_controllers: Vec<String>,

    /// Extra kube-controller-manager flag, as `name=value` (repeatable).
    #[arg(long = "kube-controller-manager-arg", value_name = "NAME=VALUE")]
    pub kube_controller_manager_args: Vec<String>,
}

#[derive(Debug, Args)]
pub struct AgentArgs {
    /// Config file: a YAML map of flag names to values.
    #[arg(short = 'c', long, env = "TUGBOAT_CONFIG_FILE", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Server to join, as https://host:port.
    #[arg(short = 's', long, env = "TUGBOAT_URL")]
    pub server: Option<String>,

    /// Token the server gave out.
    #[arg(short = 't', long, env = "TUGBOAT_TOKEN")]
    pub token: Option<String>,

    /// Folder holding all state.
    #[arg(
        short = 'd',
        long,
        default_value = "/var/lib/tugboat",
        value_name = "DIR"
    )]
    pub data_dir: PathBuf,

    /// Name of this node (default: the host name).
    #[arg(long, env = "TUGBOAT_NODE_NAME")]
    pub node_name: Option<String>,
}

/// The kube-apiserver flags tugboat understands through `--kube-apiserver-arg`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiServerArgs {
    /// `--etcd-compaction-interval`: how often storage is compacted; zero turns it off.
    pub compaction_interval: Duration,
    /// `--event-ttl`: how long Events live.
    pub event_ttl: Duration,
    /// `--token-auth-file`: static bearer tokens (upstream CSV format).
    pub token_auth_file: Option<PathBuf>,
}

impl Default for ApiServerArgs {
    fn default() -> Self {
        ApiServerArgs {
            compaction_interval: tugboat_storage::compactor::DEFAULT_INTERVAL,
            event_ttl: Duration::from_secs(3600),
            token_auth_file: None,
        }
    }
}

/// A `--kube-apiserver-arg` that cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ApiServerArgError {
    /// Not of the form `name=value`.
    #[error("--kube-apiserver-arg {0:?} must be NAME=VALUE")]
    Malformed(String),
    /// An upstream flag tugboat does not implement.
    #[error("--kube-apiserver-arg {0:?}: tugboat does not implement this kube-apiserver flag")]
    Unsupported(String),
    /// A value that does not parse.
    #[error("--kube-apiserver-arg {name}={value:?}: {reason}")]
    BadValue {
        /// The flag.
        name: String,
        /// Its value.
        value: String,
        /// Why it is wrong.
        reason: String,
    },
}

impl ApiServerArgs {
    /// Parse `--kube-apiserver-arg` values; later values win, as with repeated upstream flags.
    pub fn parse(args: &[String]) -> Result<Self, ApiServerArgError> {
        let mut parsed = ApiServerArgs::default();
        for arg in args {
            let arg = arg.trim_start_matches('-');
            let (name, value) = arg
                .split_once('=')
                .ok_or_else(|| ApiServerArgError::Malformed(arg.to_owned()))?;
            let duration = || {
                parse_go_duration(value).map_err(|reason| ApiServerArgError::BadValue {
                    name: name.to_owned(),
                    value: value.to_owned(),
                    reason,
                })
            };
            match name {
                "etcd-compaction-interval" => parsed.compaction_interval = duration()?,
                "event-ttl" => parsed.event_ttl = duration()?,
                "token-auth-file" => parsed.token_auth_file = Some(PathBuf::from(value)),
                _ => return Err(ApiServerArgError::Unsupported(name.to_owned())),
            }
        }
        Ok(parsed)
    }
}

/// A `--kube-controller-manager-arg` that cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ControllerManagerArgError {
    /// Not of the form `name=value`.
    #[error("--kube-controller-manager-arg {0:?} must be NAME=VALUE")]
    Malformed(String),
    /// An upstream flag tugboat does not implement.
    #[error(
        "--kube-controller-manager-arg {0:?}: tugboat does not implement this kube-controller-manager flag"
    )]
    Unsupported(String),
    /// A value that does not parse or does not fit.
    #[error("--kube-controller-manager-arg {name}={value:?}: {reason}")]
    BadValue {
        /// The flag.
        name: String,
        /// Its value.
        value: String,
        /// Why it is wrong.
        reason: String,
    },
}

/// The kube-controller-manager flags tugboat understands through `--kube-controller-manager-arg`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControllerManagerArgs {
    /// `--controllers`: upstream's list (`*`, `name`, `-name`); later values win.
    pub controllers: Vec<String>,
    /// `--leader-elect`: whether to campaign for the lease before running controllers.
    pub leader_elect: bool,
    /// `--leader-elect-lease-duration`.
    pub lease_duration: Duration,
    /// `--leader-elect-renew-deadline`.
    pub renew_deadline: Duration,
    /// `--leader-elect-retry-period`.
    pub retry_period: Duration,
    /// `--terminated-pod-gc-threshold`.
    pub terminated_pod_gc_threshold: usize,
    /// `--node-monitor-grace-period`.
    pub node_monitor_grace_period: Duration,
}

impl Default for ControllerManagerArgs {
    fn default() -> Self {
        use tugboat_controllers::leader;
        ControllerManagerArgs {
            controllers: Vec::new(),
            leader_elect: true,
            lease_duration: leader::DEFAULT_LEASE_DURATION,
            renew_deadline: leader::DEFAULT_RENEW_DEADLINE,
            retry_period: leader::DEFAULT_RETRY_PERIOD,
            terminated_pod_gc_threshold: tugboat_controllers::podgc::TERMINATED_THRESHOLD,
            node_monitor_grace_period: tugboat_controllers::nodelifecycle::DEFAULT_GRACE_PERIOD,
        }
    }
}

impl ControllerManagerArgs {
    /// Parse `--kube-controller-manager-arg` values; later values win, as with repeated upstream
    /// flags.
    pub fn parse(args: &[String]) -> Result<Self, ControllerManagerArgError> {
        let mut parsed = ControllerManagerArgs::default();
        for arg in args {
            let arg = arg.trim_start_matches('-');
            let (name, value) = arg
                .split_once('=')
                .ok_or_else(|| ControllerManagerArgError::Malformed(arg.to_owned()))?;
            let bad = |reason: String| ControllerManagerArgError::BadValue {
                name: name.to_owned(),
                value: value.to_owned(),
                reason,
            };
            let duration = || parse_go_duration(value).map_err(bad);
            match name {
                "controllers" => parsed.controllers.push(value.to_owned()),
                "leader-elect" => {
                    parsed.leader_elect = value
                        .parse()
                        .map_err(|_| bad("must be true or false".to_owned()))?;
                }
                "leader-elect-lease-duration" => parsed.lease_duration = duration()?,
                "leader-elect-renew-deadline" => parsed.renew_deadline = duration()?,
                "leader-elect-retry-period" => parsed.retry_period = duration()?,
                "node-monitor-grace-period" => parsed.node_monitor_grace_period = duration()?,
                "terminated-pod-gc-threshold" => {
                    parsed.terminated_pod_gc_threshold = value
                        .parse()
                        .map_err(|_| bad("must be a non-negative integer".to_owned()))?;
                }
                _ => return Err(ControllerManagerArgError::Unsupported(name.to_owned())),
            }
        }
        if parsed.leader_elect && parsed.renew_deadline >= parsed.lease_duration {
            return Err(ControllerManagerArgError::BadValue {
                name: "leader-elect-renew-deadline".to_owned(),
                value: format!("{:?}", parsed.renew_deadline),
                reason: "must be shorter than leader-elect-lease-duration".to_owned(),
            });
        }
        Ok(parsed)
    }
}

/// Parse a Go `time.Duration` string such as `5m`, `1h30m`, `250ms` or `0`.
pub fn parse_go_duration(text: &str) -> Result<Duration, String> {
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    if text.is_empty() {
        return Err("empty duration".into());
    }
    let mut total = Duration::ZERO;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| format!("missing unit in duration {text:?}"))?;
        if digits == 0 {
            return Err(format!("invalid duration {text:?}"));
        }
        let number: f64 = rest[..digits]
            .parse()
            .map_err(|_| format!("invalid number in duration {text:?}"))?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let seconds_per_unit = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            unit => return Err(format!("unknown unit {unit:?} in duration {text:?}")),
        };
        rest = &rest[unit_len..];
        total += Duration::from_secs_f64(number * seconds_per_unit);
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_go_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_go_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_go_duration("0"), Ok(Duration::ZERO));
        assert!(parse_go_duration("5").is_err());
        assert!(parse_go_duration("5x").is_err());
        assert!(parse_go_duration("").is_err());
    }

    #[test]
    fn apiserver_args() {
        let parsed = ApiServerArgs::parse(&[
            "event-ttl=2h".into(),
            "--etcd-compaction-interval=1m".into(),
        ]);
        assert_eq!(
            parsed,
            Ok(ApiServerArgs {
                compaction_interval: Duration::from_secs(60),
                event_ttl: Duration::from_secs(7200),
                token_auth_file: None,
            })
        );
        assert_eq!(
            ApiServerArgs::parse(&["enable-admission-plugins=Foo".into()]),
            Err(ApiServerArgError::Unsupported(
                "enable-admission-plugins".into()
            ))
        );
        assert!(matches!(
            ApiServerArgs::parse(&["event-ttl".into()]),
            Err(ApiServerArgError::Malformed(_))
        ));
        assert!(matches!(
            ApiServerArgs::parse(&["event-ttl=soon".into()]),
            Err(ApiServerArgError::BadValue { .. })
        ));
    }

    #[test]
    fn controller_manager_args() {
        let parsed = ControllerManagerArgs::parse(&[
            "controllers=*,-serviceaccount".into(),
            "--leader-elect-retry-period=1s".into(),
        ]);
        assert_eq!(
            parsed,
            Ok(ControllerManagerArgs {
                controllers: vec!["*,-serviceaccount".into()],
                retry_period: Duration::from_secs(1),
                ..ControllerManagerArgs::default()
            })
        );
        let defaults = ControllerManagerArgs::default();
        assert!(defaults.leader_elect);
        assert_eq!(defaults.lease_duration, Duration::from_secs(15));
        assert!(matches!(
            ControllerManagerArgs::parse(&["leader-elect=maybe".into()]),
            Err(ControllerManagerArgError::BadValue { .. })
        ));
        assert!(matches!(
            ControllerManagerArgs::parse(&["leader-elect-renew-deadline=20s".into()]),
            Err(ControllerManagerArgError::BadValue { .. })
        ));
        assert_eq!(
            ControllerManagerArgs::parse(&["node-monitor-period=5s".into()]),
            Err(ControllerManagerArgError::Unsupported(
                "node-monitor-period".into()
            ))
        );
    }

    #[test]
    fn disable_controller_repeats() {
        let cli = Cli::try_parse_from([
            "tugboat",
            "server",
            "--disable-controller",
            "serviceaccount",
            "--disable-controller=root-ca-cert-publisher",
            "--kube-controller-manager-arg=leader-elect=false",
        ]);
        let Ok(Cli {
            command: Command::Server(args),
        }) = cli
        else {
            panic!("server flags did not parse: {cli:?}");
        };
        assert_eq!(
            args.disable_controllers,
            vec![
                "serviceaccount".to_owned(),
                "root-ca-cert-publisher".to_owned()
            ]
        );
        assert_eq!(
            args.kube_controller_manager_args,
            vec!["leader-elect=false".to_owned()]
        );
    }

    #[test]
    fn cli_parses_k3s_flags() {
        let cli = Cli::try_parse_from([
            "tugboat",
            "server",
            "--data-dir=/tmp/x",
            "--https-listen-port",
            "7443",
            "--disable-agent",
            "--node-name=a",
            "--node-name=b",
        ]);
        let Ok(Cli {
            command: Command::Server(args),
        }) = cli
        else {
            panic!("server flags did not parse: {cli:?}");
        };
        assert_eq!(args.data_dir, PathBuf::from("/tmp/x"));
        assert_eq!(args.https_listen_port, 7443);
        assert!(args.disable_agent);
        // A later flag overrides an earlier one, which is how config-file values yield to the CLI.
        assert_eq!(args.node_name.as_deref(), Some("b"));
        let cli = Cli::try_parse_from(["tugboat", "server", "--disable-agent=false"]);
        assert!(matches!(cli, Ok(Cli { command: Command::Server(args) }) if !args.disable_agent));
    }
}
