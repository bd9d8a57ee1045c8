//! `/healthz`, `/livez` and `/readyz`, with upstream's output: `ok`, or with `?verbose` one
//! `[+]name ok` / `[-]name failed: reason withheld` line per check and `<endpoint> check passed|failed`;
//! `?exclude=name` skips a check; `/<endpoint>/<check>` runs one.

use std::{fmt::Write as _, sync::Arc};

use axum::{
    extract::{Path, RawQuery, State},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use futures::future::BoxFuture;

/// One named check; `Err` carries the reason, which is logged but withheld from clients.
pub type CheckFn = Arc<dyn Fn() -> BoxFuture<'static, Result<(), String>> + Send + Sync>;

/// A named health check.
#[derive(Clone)]
pub struct Check {
    /// The name shown in verbose output and used in `/<endpoint>/<name>`.
    pub name: String,
    /// The check itself.
    pub run: CheckFn,
}

impl std::fmt::Debug for Check {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Check").field("name", &self.name).finish()
    }
}

impl Check {
    /// A check that always passes (upstream's `ping`).
    pub fn ping() -> Self {
        Check::new("ping", || async { Ok(()) })
    }

    /// A check from an async closure.
    pub fn new<F, Fut>(name: &str, f: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        Check {
            name: name.to_owned(),
            run: Arc::new(move || Box::pin(f())),
        }
    }
}

/// The checks behind one endpoint (`healthz`, `livez` or `readyz`).
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// `healthz`, `livez` or `readyz`: used in the summary line.
    pub name: &'static str,
    /// Its checks, in output order.
    pub checks: Vec<Check>,
}

/// `GET /<endpoint>`.
pub async fn all(State(endpoint): State<Arc<Endpoint>>, RawQuery(query): RawQuery) -> Response {
    let (verbose, excluded) = parse_query(query.as_deref());
    let mut out = String::new();
    let mut failed = false;
    let mut unmatched: Vec<&str> = excluded.iter().map(String::as_str).collect();
    for check in &endpoint.checks {
        if excluded.contains(&check.name) {
            unmatched.retain(|name| *name != check.name);
            let _ = writeln!(out, "[+]{} excluded: ok", check.name);
            continue;
        }
        match (check.run)().await {
            Ok(()) => {
                let _ = writeln!(out, "[+]{} ok", check.name);
            }
            Err(reason) => {
                tracing::warn!(check = %check.name, %reason, endpoint = endpoint.name, "health check failed");
                failed = true;
                let _ = writeln!(out, "[-]{} failed: reason withheld", check.name);
            }
        }
    }
    if !unmatched.is_empty() {
        let names: Vec<String> = unmatched.iter().map(|n| format!("{n:?}")).collect();
        let _ = writeln!(
            out,
            "warn: some health checks cannot be excluded: no matches for {}",
            names.join(",")
        );
    }
    if failed {
        let _ = write!(out, "{} check failed", endpoint.name);
        return text(StatusCode::INTERNAL_SERVER_ERROR, out);
    }
    if !verbose {
        return text(StatusCode::OK, "ok".to_owned());
    }
    let _ = writeln!(out, "{} check passed", endpoint.name);
    text(StatusCode::OK, out)
}

/// `GET /<endpoint>/<check>`.
pub async fn one(State(endpoint): State<Arc<Endpoint>>, Path(name): Path<String>) -> Response {
    let Some(check) = endpoint.checks.iter().find(|c| c.name == name) else {
        return text(StatusCode::NOT_FOUND, "404 page not found\n".to_owned());
    };
    match (check.run)().await {
        Ok(()) => text(StatusCode::OK, "ok".to_owned()),
        Err(reason) => {
            tracing::warn!(check = %check.name, %reason, "health check failed");
            text(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("internal server error: {name} check failed\n"),
            )
        }
    }
}

fn parse_query(query: Option<&str>) -> (bool, Vec<String>) {
    let mut verbose = false;
    let mut excluded = Vec::new();
    for pair in query
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
    {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key {
            "verbose" => verbose = value != "false",
            "exclude" if !value.is_empty() => excluded.push(value.to_owned()),
            _ => {}
        }
    }
    (verbose, excluded)
}

fn text(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}
