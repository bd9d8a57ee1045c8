//! `GET /version`: the build information kubectl prints as "Server Version".

use axum::Json;
use k8s_openapi::apimachinery::pkg::version::Info;

use crate::{KUBERNETES_VERSION, git_version};

/// The version document. `major`/`minor` come from the Kubernetes version tugboat serves.
pub fn info() -> Info {
    let mut parts = KUBERNETES_VERSION.trim_start_matches('v').split('.');
    let major = parts.next().unwrap_or("1").to_owned();
    let minor = parts.next().unwrap_or("0").to_owned();
    Info {
        major: major.clone(),
        minor: minor.clone(),
        emulation_major: Some(major.clone()),
        emulation_minor: Some(minor.clone()),
        min_compatibility_major: Some(major),
        min_compatibility_minor: Some(minor),
        git_version: git_version(),
        git_commit: option_env!("TUGBOAT_GIT_COMMIT")
            .unwrap_or("unknown")
            .to_owned(),
        git_tree_state: "clean".to_owned(),
        build_date: "1970-01-01T00:00:00Z".to_owned(),
        go_version: format!("rust-{}", env!("CARGO_PKG_RUST_VERSION")),
        compiler: "rustc".to_owned(),
        platform: format!("{}/{}", std::env::consts::OS, go_arch()),
    }
}

/// Go's name for this architecture, as `platform` uses it.
fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        other => other,
    }
}

/// The handler.
pub async fn get() -> Json<Info> {
    Json(info())
}
