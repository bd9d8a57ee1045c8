//! The measured phases: concurrent creates and GETs, large LISTs in three encodings, watch fan-out.
//!
//! Every request that does not get the expected status fails the run with the server's body (a
//! Status for API errors). Every loop is bounded by a count and the caller's phase timeout.

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use anyhow::{Context as _, anyhow, bail};
use reqwest::{Client, Response, StatusCode, header};
use tokio::{
    sync::{Barrier, Semaphore, oneshot},
    task::JoinSet,
};

use crate::server::Server;

/// The namespace everything is created in.
pub const NAMESPACE: &str = "bench";

/// The body of a response with the `expected` status, else an error carrying the server's body.
pub async fn expect(
    response: reqwest::Result<Response>,
    expected: StatusCode,
    what: &str,
) -> anyhow::Result<bytes::Bytes> {
    let response = response.with_context(|| format!("{what}: request failed"))?;
    let status = response.status();
    let body = response
        .bytes()
        .await
        .with_context(|| format!("{what}: reading the response body (HTTP {status})"))?;
    if status != expected {
        bail!(
            "{what}: HTTP {status} (expected {expected}); server said: {}",
            String::from_utf8_lossy(&body)
        );
    }
    Ok(body)
}

/// Microseconds since the Unix epoch (the watch latency clock: client and watchers share it).
fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

/// `POST` a JSON body, expecting 201.
pub async fn create(client: &Client, base: &str, path: &str, body: String) -> anyhow::Result<()> {
    let response = client
        .post(format!("{base}{path}"))
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::ACCEPT, "application/json")
        .body(body)
        .send()
        .await;
    expect(response, StatusCode::CREATED, &format!("POST {path}")).await?;
    Ok(())
}

/// Create the benchmark's namespace.
pub async fn create_namespace(server: &Server) -> anyhow::Result<()> {
    let client = server.client()?;
    create(
        &client,
        &server.base,
        "/api/v1/namespaces",
        format!(r#"{{"apiVersion":"v1","kind":"Namespace","metadata":{{"name":"{NAMESPACE}"}}}}"#),
    )
    .await
}

/// What one concurrent phase measured.
#[derive(Debug)]
pub struct Throughput {
    /// From the first request to the last response (connections are set up before).
    pub elapsed: Duration,
    /// Per-request latency, microseconds.
    pub latencies_us: Vec<u64>,
}

/// Run `op(client, i)` for `i` in `0..n` on `concurrency` workers, each with its own client (its own
/// HTTP/2 connection, as separate client processes would have). Connections are opened (one
/// `GET /version` each) before the clock starts.
pub async fn concurrent<F, Fut>(
    server: &Server,
    n: usize,
    concurrency: usize,
    op: F,
) -> anyhow::Result<Throughput>
where
    F: Fn(Client, String, usize) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    let next = Arc::new(AtomicUsize::new(0));
    let barrier = Arc::new(Barrier::new(concurrency + 1));
    let mut workers = JoinSet::new();
    for _ in 0..concurrency {
        let client = server.client()?;
        let base = server.base.clone();
        let (next, barrier, op) = (next.clone(), barrier.clone(), op.clone());
        workers.spawn(async move {
            let warm = expect(
                client.get(format!("{base}/version")).send().await,
                StatusCode::OK,
                "GET /version",
            )
            .await;
            barrier.wait().await;
            warm?;
            let mut latencies = Vec::with_capacity(n / concurrency + 1);
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    return Ok::<_, anyhow::Error>(latencies);
                }
                let start = Instant::now();
                op(client.clone(), base.clone(), i).await?;
                latencies.push(start.elapsed().as_micros() as u64);
            }
        });
    }
    barrier.wait().await;
    let start = Instant::now();
    let mut latencies_us = Vec::with_capacity(n);
    while let Some(joined) = workers.join_next().await {
        match joined {
            Ok(Ok(l)) => latencies_us.extend(l),
            Ok(Err(e)) => {
                workers.abort_all();
                return Err(e);
            }
            Err(e) => {
                workers.abort_all();
                return Err(anyhow!("a worker task failed: {e}"));
            }
        }
    }
    Ok(Throughput {
        elapsed: start.elapsed(),
        latencies_us,
    })
}

/// A small ConfigMap.
pub fn configmap(name: &str, data: &str) -> String {
    format!(
        r#"{{"apiVersion":"v1","kind":"ConfigMap","metadata":{{"name":"{name}"}},"data":{{"key":"{data}"}}}}"#
    )
}

/// A minimal valid Pod: one container `c` running `busybox`.
pub fn pod(name: &str) -> String {
    format!(
        r#"{{"apiVersion":"v1","kind":"Pod","metadata":{{"name":"{name}"}},"spec":{{"containers":[{{"name":"c","image":"busybox"}}]}}}}"#
    )
}

/// One LIST encoding's figures.
#[derive(Debug)]
pub struct ListFigures {
    pub times: Vec<Duration>,
    pub size: usize,
}

/// `runs` LISTs of every pod in the namespace with `accept`, each timed from send to the last body
/// byte. The first response is checked to hold `expected` items.
pub async fn list_pods(
    server: &Server,
    accept: &str,
    runs: usize,
    expected: usize,
) -> anyhow::Result<ListFigures> {
    let client = server.client()?;
    let path = format!("/api/v1/namespaces/{NAMESPACE}/pods");
    // Open the connection first so the first run does not pay the TLS handshake.
    expect(
        client.get(format!("{}/version", server.base)).send().await,
        StatusCode::OK,
        "GET /version",
    )
    .await?;
    let mut times = Vec::with_capacity(runs);
    let mut size = 0;
    for run in 0..runs {
        let start = Instant::now();
        let response = client
            .get(format!("{}{path}", server.base))
            .header(header::ACCEPT, accept)
            .send()
            .await;
        let content_type = response
            .as_ref()
            .ok()
            .and_then(|r| r.headers().get(header::CONTENT_TYPE))
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let body = expect(
            response,
            StatusCode::OK,
            &format!("GET {path} (Accept: {accept})"),
        )
        .await?;
        times.push(start.elapsed());
        size = body.len();
        if run == 0 {
            check_list(&body, &content_type, accept, expected)
                .with_context(|| format!("GET {path} (Accept: {accept})"))?;
        }
    }
    Ok(ListFigures { times, size })
}

/// The LIST body is what was asked for and holds `expected` items.
fn check_list(
    body: &[u8],
    content_type: &str,
    accept: &str,
    expected: usize,
) -> anyhow::Result<()> {
    if accept.starts_with("application/vnd.kubernetes.protobuf") {
        if !content_type.starts_with("application/vnd.kubernetes.protobuf") {
            bail!("answered with Content-Type {content_type:?}, not protobuf");
        }
        if !body.starts_with(b"k8s\0") {
            bail!("the protobuf body does not start with the k8s\\0 magic");
        }
        return Ok(());
    }
    let doc: serde_json::Value = serde_json::from_slice(body).context("the body is not JSON")?;
    let (kind, field) = if accept.contains("as=Table") {
        ("Table", "rows")
    } else {
        ("PodList", "items")
    };
    if doc["kind"] != kind {
        bail!("answered kind {}, expected {kind}", doc["kind"]);
    }
    let got = doc[field].as_array().map_or(0, Vec::len);
    if got != expected {
        bail!("{kind} has {got} {field}, expected {expected}");
    }
    Ok(())
}

/// What one watch fan-out run measured.
#[derive(Debug)]
pub struct WatchFigures {
    pub watchers: usize,
    pub writes: usize,
    /// Time to open every watch (their response headers received).
    pub setup: Duration,
    /// From the first write's send to the last write's response.
    pub write_elapsed: Duration,
    /// From the first write's send to the last delivery at any watcher.
    pub deliver_elapsed: Duration,
    /// Delivery latency of every event at every watcher, microseconds.
    pub latencies_us: Vec<u64>,
}

/// `watchers` watches on the namespace's ConfigMaps from the current revision, each on its own
/// connection; then one writer creates `writes` ConfigMaps in sequence with its send time (µs since
/// the epoch) in `data.sent`; each watcher records receive time minus send time per event.
pub async fn watch_fanout(
    server: &Server,
    watchers: usize,
    writes: usize,
    timeout: Duration,
) -> anyhow::Result<WatchFigures> {
    let path = format!("/api/v1/namespaces/{NAMESPACE}/configmaps");
    let client = server.client()?;
    let body = expect(
        client
            .get(format!("{}{path}?limit=1", server.base))
            .header(header::ACCEPT, "application/json")
            .send()
            .await,
        StatusCode::OK,
        &format!("GET {path}?limit=1"),
    )
    .await?;
    let list: serde_json::Value = serde_json::from_slice(&body).context("LIST body")?;
    let rv = list["metadata"]["resourceVersion"]
        .as_str()
        .ok_or_else(|| anyhow!("GET {path}?limit=1: no metadata.resourceVersion"))?
        .to_owned();
    let url = format!(
        "{}{path}?watch=true&resourceVersion={rv}&timeoutSeconds={}",
        server.base,
        timeout.as_secs().max(1)
    );

    let setup_start = Instant::now();
    let connecting = Arc::new(Semaphore::new(64));
    let mut tasks = JoinSet::new();
    let mut opened = Vec::with_capacity(watchers);
    for w in 0..watchers {
        let client = server.watch_client()?;
        let (url, connecting) = (url.clone(), connecting.clone());
        let (tx, rx) = oneshot::channel::<()>();
        opened.push(rx);
        tasks.spawn(async move {
            let permit = connecting.acquire_owned().await?;
            let response = client
                .get(&url)
                .header(header::ACCEPT, "application/json")
                .send()
                .await
                .with_context(|| format!("watcher {w}: GET {url}"))?;
            if response.status() != StatusCode::OK {
                let status = response.status();
                let body = response.text().await.unwrap_or_default();
                bail!("watcher {w}: GET {url}: HTTP {status}; server said: {body}");
            }
            drop(permit);
            let _ = tx.send(());
            read_events(w, response, writes).await
        });
    }
    for rx in opened {
        if rx.await.is_err() {
            // The watcher failed before its headers: its error is in the join set.
            return Err(first_error(&mut tasks).await);
        }
    }
    let setup = setup_start.elapsed();
    // Let every watch task reach its first read.
    tokio::time::sleep(Duration::from_millis(200)).await;

    let write_start_us = now_us();
    let write_start = Instant::now();
    for i in 0..writes {
        let sent = now_us();
        let name = format!("watch-{watchers}-{i}");
        let body = format!(
            r#"{{"apiVersion":"v1","kind":"ConfigMap","metadata":{{"name":"{name}"}},"data":{{"sent":"{sent}"}}}}"#
        );
        if let Err(e) = create(&client, &server.base, &path, body).await {
            tasks.abort_all();
            return Err(e);
        }
    }
    let write_elapsed = write_start.elapsed();

    let mut latencies_us = Vec::with_capacity(watchers * writes);
    let mut last_us = write_start_us;
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(Ok((l, last))) => {
                latencies_us.extend(l);
                last_us = last_us.max(last);
            }
            Ok(Err(e)) => {
                tasks.abort_all();
                return Err(e);
            }
            Err(e) => {
                tasks.abort_all();
                return Err(anyhow!("a watcher task failed: {e}"));
            }
        }
    }
    Ok(WatchFigures {
        watchers,
        writes,
        setup,
        write_elapsed,
        deliver_elapsed: Duration::from_micros(last_us.saturating_sub(write_start_us)),
        latencies_us,
    })
}

async fn first_error(tasks: &mut JoinSet<anyhow::Result<(Vec<u64>, u64)>>) -> anyhow::Error {
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(Err(e)) => {
                tasks.abort_all();
                return e;
            }
            Err(e) => {
                tasks.abort_all();
                return anyhow!("a watcher task failed: {e}");
            }
            Ok(Ok(_)) => {}
        }
    }
    anyhow!("a watcher stopped before its watch was open")
}

/// Read JSON-lines watch events until `expected` carry a `sent` time; returns each event's latency
/// (µs) and the receive time of the last one.
async fn read_events(
    w: usize,
    mut response: Response,
    expected: usize,
) -> anyhow::Result<(Vec<u64>, u64)> {
    let mut latencies = Vec::with_capacity(expected);
    let mut pending: Vec<u8> = Vec::new();
    let mut last = 0;
    while latencies.len() < expected {
        let Some(chunk) = response
            .chunk()
            .await
            .with_context(|| format!("watcher {w}: reading the stream"))?
        else {
            bail!(
                "watcher {w}: the server ended the watch after {} of {expected} events",
                latencies.len()
            );
        };
        let received = now_us();
        pending.extend_from_slice(&chunk);
        while let Some(end) = pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = pending.drain(..=end).collect();
            if let Some(sent) = sent_time(&line) {
                latencies.push(received.saturating_sub(sent));
                last = received;
            } else if contains(&line, br#""type":"ERROR""#) {
                bail!(
                    "watcher {w}: ERROR event after {} events: {}",
                    latencies.len(),
                    String::from_utf8_lossy(&line)
                );
            }
        }
    }
    Ok((latencies, last))
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The `"sent":"<µs>"` value in an event line, without parsing the whole event.
fn sent_time(line: &[u8]) -> Option<u64> {
    const KEY: &[u8] = br#""sent":""#;
    let at = line.windows(KEY.len()).position(|w| w == KEY)? + KEY.len();
    let digits = &line[at..];
    let end = digits.iter().position(|b| !b.is_ascii_digit())?;
    std::str::from_utf8(&digits[..end]).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sent_time_is_found_in_an_event_line() {
        let line = br#"{"type":"ADDED","object":{"kind":"ConfigMap","data":{"sent":"1732300000123456"},"metadata":{"managedFields":[{"fieldsV1":{"f:data":{"f:sent":{}}}}]}}}"#;
        assert_eq!(sent_time(line), Some(1_732_300_000_123_456));
        assert_eq!(sent_time(br#"{"type":"ERROR","object":{}}"#), None);
        assert!(contains(
            br#"{"type":"ERROR","object":{}}"#,
            br#""type":"ERROR""#
        ));
    }

    #[test]
    fn bodies_are_json() {
        let cm: serde_json::Value = serde_json::from_str(&configmap("a", "b")).unwrap();
        assert_eq!(cm["data"]["key"], "b");
        let pod: serde_json::Value = serde_json::from_str(&pod("p")).unwrap();
        assert_eq!(pod["spec"]["containers"][0]["image"], "busybox");
    }
}
