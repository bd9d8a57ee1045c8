//! k3s-style configuration files: a YAML map whose keys are flag names.
//!
//! As in k3s, `--config FILE` (default `/etc/tugboat/config.yaml` when it exists) is turned into flags
//! placed before the ones on the command line, so that the command line wins for single-valued flags
//! and adds to the file's values for repeatable ones (`kube-apiserver-arg`). Scalars become
//! `--key=value`; a list becomes one flag per item; `true` becomes `--key=true`.

use std::{ffi::OsString, path::Path};

/// Where the config file is looked for when `--config` is not given.
pub const DEFAULT_CONFIG_FILE: &str = "/etc/tugboat/config.yaml";

/// Why a config file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file named by `--config` could not be read.
    #[error("reading config file {path}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not YAML.
    #[error("parsing config file {path}")]
    Parse {
        /// The file.
        path: String,
        /// The parser's error.
        #[source]
        source: serde_norway::Error,
    },
    /// The YAML is not a map of flag names to scalars or lists of scalars.
    #[error("config file {path}: {message}")]
    Shape {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
}

/// Expand the config file into `args` (the full argv, program name first). The file is named by
/// `--config`/`-c` after the subcommand, or `TUGBOAT_CONFIG_FILE`, else the default when it exists.
pub fn expand_args(args: Vec<OsString>) -> Result<Vec<OsString>, ConfigError> {
    // Only the subcommands that take flags read a config file; `--help`, `--version` and no
    // subcommand at all are left to clap.
    let Some(subcommand_at) = args
        .iter()
        .skip(1)
        .position(|a| a == "server" || a == "agent")
        .map(|i| i + 1)
    else {
        return Ok(args);
    };
    let (path, explicit) = match find_config_flag(&args[subcommand_at + 1..]) {
        Some(path) => (path, true),
        None => match std::env::var("TUGBOAT_CONFIG_FILE") {
            Ok(path) if !path.is_empty() => (path, true),
            _ => (DEFAULT_CONFIG_FILE.to_owned(), false),
        },
    };
    if !explicit && !Path::new(&path).exists() {
        return Ok(args);
    }
    let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
        path: path.clone(),
        source,
    })?;
    let flags = flags_from_yaml(&path, &text)?;
    let mut expanded = Vec::with_capacity(args.len() + flags.len());
    expanded.extend_from_slice(&args[..=subcommand_at]);
    expanded.extend(flags.into_iter().map(OsString::from));
    expanded.extend_from_slice(&args[subcommand_at + 1..]);
    Ok(expanded)
}

fn find_config_flag(args: &[OsString]) -> Option<String> {
    let mut iter = args.iter().map(|a| a.to_string_lossy());
    while let Some(arg) = iter.next() {
        if let Some(value) = arg.strip_prefix("--config=") {
            return Some(value.to_owned());
        }
        if arg == "--config" || arg == "-c" {
            return iter.next().map(|v| v.into_owned());
        }
    }
    None
}

/// Turn the YAML text of a config file into `--flag=value` arguments, in the file's order.
pub fn flags_from_yaml(path: &str, text: &str) -> Result<Vec<String>, ConfigError> {
    let shape = |message: String| ConfigError::Shape {
        path: path.to_owned(),
        message,
    };
    let value: serde_norway::Value =
        serde_norway::from_str(text).map_err(|source| ConfigError::Parse {
            path: path.to_owned(),
            source,
        })?;
    let map = match value {
        serde_norway::Value::Null => return Ok(Vec::new()),
        serde_norway::Value::Mapping(map) => map,
        _ => {
            return Err(shape(
                "the top level must be a map of flag names to values".into(),
            ));
        }
    };
    let mut flags = Vec::new();
    for (key, value) in map {
        let serde_norway::Value::String(key) = key else {
            return Err(shape(format!("key {key:?} is not a flag name")));
        };
        // k3s allows `key+:` to append to a list set elsewhere; with one file the two are the same.
        let name = key.strip_suffix('+').unwrap_or(&key);
        if name == "config" {
            return Err(shape(
                "a config file cannot name another config file".into(),
            ));
        }
        let items = match value {
            serde_norway::Value::Sequence(items) => items,
            other => vec![other],
        };
        for item in items {
            let text = scalar_text(&item).ok_or_else(|| {
                shape(format!(
                    "the value of {name:?} must be a scalar or a list of scalars"
                ))
            })?;
            flags.push(format!("--{name}={text}"));
        }
    }
    Ok(flags)
}

fn scalar_text(value: &serde_norway::Value) -> Option<String> {
    match value {
        serde_norway::Value::String(s) => Some(s.clone()),
        serde_norway::Value::Bool(b) => Some(b.to_string()),
        serde_norway::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_keys_become_flags_in_order() {
        let flags = flags_from_yaml(
            "c.yaml",
            "data-dir: /srv/tb\nhttps-listen-port: 7443\ndisable-agent: true\nkube-apiserver-arg:\n  - event-ttl=2h\n  - etcd-compaction-interval=1m\n",
        );
        assert_eq!(
            flags.ok(),
            Some(vec![
                "--data-dir=/srv/tb".to_owned(),
                "--https-listen-port=7443".to_owned(),
                "--disable-agent=true".to_owned(),
                "--kube-apiserver-arg=event-ttl=2h".to_owned(),
                "--kube-apiserver-arg=etcd-compaction-interval=1m".to_owned(),
            ])
        );
    }

    #[test]
    fn bad_shapes_are_rejected() {
        assert!(matches!(
            flags_from_yaml("c", "- a\n- b\n"),
            Err(ConfigError::Shape { .. })
        ));
        assert!(matches!(
            flags_from_yaml("c", "data-dir: {a: b}\n"),
            Err(ConfigError::Shape { .. })
        ));
        assert!(matches!(
            flags_from_yaml("c", "a: [\n"),
            Err(ConfigError::Parse { .. })
        ));
        assert!(matches!(
            flags_from_yaml("c", "config: x.yaml\n"),
            Err(ConfigError::Shape { .. })
        ));
        assert_eq!(flags_from_yaml("c", "").ok(), Some(vec![]));
    }

    #[test]
    fn file_flags_go_before_command_line_flags() {
        let dir = tempfile::tempdir().ok();
        let Some(dir) = dir else { return };
        let file = dir.path().join("config.yaml");
        assert!(std::fs::write(&file, "node-name: from-file\n").is_ok());
        let args: Vec<OsString> = [
            "tugboat",
            "server",
            "--config",
            file.to_str().unwrap_or_default(),
            "--node-name=cli",
        ]
        .iter()
        .map(OsString::from)
        .collect();
        let expanded = expand_args(args).ok();
        let expanded: Option<Vec<String>> =
            expanded.map(|v| v.iter().map(|a| a.to_string_lossy().into_owned()).collect());
        assert_eq!(
            expanded,
            Some(vec![
                "tugboat".to_owned(),
                "server".to_owned(),
                "--node-name=from-file".to_owned(),
                "--config".to_owned(),
                file.to_string_lossy().into_owned(),
                "--node-name=cli".to_owned(),
            ])
        );
    }
}
