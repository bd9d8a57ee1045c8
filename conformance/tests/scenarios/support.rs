//! Small helpers shared by scenarios.

use std::io::{Read, Write};

use tugboat_conformance::{Output, Server};

/// Create namespace `name` with kubectl and check kubectl's answer.
pub fn create_namespace(server: &Server, name: &str) {
    server
        .kubectl(&["create", "namespace", name])
        .ok()
        .stdout_contains(&format!("namespace/{name} created"));
}

/// `kubectl create -f -` with `manifest` (YAML or JSON), with kubectl's default validation (strict,
/// server-side, after kubectl checked the OpenAPI document for the fieldValidation parameter).
pub fn create_manifest(server: &Server, namespace: &str, manifest: &str) -> Output {
    server.kubectl_with_stdin(
        &["create", "-n", namespace, "-f", "-"],
        Some(manifest.as_bytes()),
    )
}

/// `kubectl replace -f -` with `manifest` (default validation, see [`create_manifest`]).
pub fn replace_manifest(server: &Server, manifest: &str) -> Output {
    server.kubectl_with_stdin(&["replace", "-f", "-"], Some(manifest.as_bytes()))
}

/// The names (`kind/name`) kubectl lists for `args` (e.g. `["get", "cm", "-n", ns]`), sorted.
pub fn names(server: &Server, args: &[&str]) -> Vec<String> {
    let mut full = args.to_vec();
    full.extend(["-o", "name"]);
    let out = server.kubectl(&full).ok();
    let mut names: Vec<String> = out.lines().iter().map(|l| l.trim().to_owned()).collect();
    names.sort();
    names
}

/// Sorted owned strings, for comparing name lists.
pub fn sorted(items: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = items.iter().map(|s| (*s).to_owned()).collect();
    v.sort();
    v
}

/// The whitespace-separated fields of each non-empty line of a table.
pub fn table(out: &Output) -> Vec<Vec<String>> {
    out.lines()
        .iter()
        .map(|l| l.split_whitespace().map(str::to_owned).collect())
        .collect()
}

/// An HTTP/1.0 GET over an already-connected stream; returns (status line, body).
pub fn http_get(mut stream: impl Read + Write, path: &str) -> (String, String) {
    write!(stream, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").expect("sending request");
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .expect("reading response");
    let (head, body) = response
        .split_once("\r\n\r\n")
        .unwrap_or((response.as_str(), ""));
    (
        head.lines().next().unwrap_or_default().to_owned(),
        body.to_owned(),
    )
}
