//! Storage benchmark: the embedded backend against a real etcd (from the test harness, data dir on the
//! same disk), on the operations kube-apiserver leans on.
//!
//! Run with `cargo bench -p tugboat-storage --bench storage -- [embedded|etcd|all]`. Prints a Markdown
//! table to stdout; a backend that fails reports its error in the table and the others still run.
//!
//! - creates/s with 1 writer (2,000 creates) and with 64 concurrent writers (40,000 creates), 1 KiB
//!   values;
//! - listing 10,000 keys of 1 KiB: median and p99 over 30 runs;
//! - watch delivery to 100 watchers of one prefix while one writer creates 2,000 keys at 500/s: the
//!   delay from just before the write call to delivery at each watcher (p50, p99), and the events per
//!   second delivered to all watchers together.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use bytes::Bytes;
use futures::StreamExt;
use tugboat_storage::{Backend, DatastoreTls, ListRequest, StorageError, WatchResponse};

const VALUE_BYTES: usize = 1024;
const SINGLE_WRITES: usize = 2_000;
const PARALLEL_WRITERS: usize = 64;
const PARALLEL_WRITES: usize = 40_000;
const LIST_KEYS: usize = 10_000;
const LIST_RUNS: usize = 30;
const WATCHERS: usize = 100;
const WATCH_WRITES: usize = 2_000;
const WATCH_INTERVAL: Duration = Duration::from_millis(2);

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// One backend's figures.
#[derive(Debug, Default)]
struct Figures {
    creates_1: Option<f64>,
    creates_64: Option<f64>,
    list_p50: Option<Duration>,
    list_p99: Option<Duration>,
    watch_p50: Option<Duration>,
    watch_p99: Option<Duration>,
    watch_events_per_sec: Option<f64>,
    errors: Vec<String>,
}

fn main() {
    let selected: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let want = |name: &str| selected.is_empty() || selected.iter().any(|s| s == name || s == "all");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut results: Vec<(&str, Figures)> = Vec::new();
    if want("embedded") {
        eprintln!("== embedded");
        let figures = runtime.block_on(async {
            let dir = tempfile::Builder::new()
                .prefix("bench-embedded-")
                .tempdir()
                .unwrap();
            let opened = tugboat_storage::embedded::EmbeddedBackend::open(
                dir.path(),
                tugboat_storage::embedded::Options::default(),
            )
            .await;
            match opened {
                Ok(backend) => {
                    let backend: Arc<dyn Backend> = Arc::new(backend);
                    run_all(backend).await
                }
                Err(error) => failed(format!("open: {error}")),
            }
        });
        results.push(("embedded", figures));
    }
    if want("etcd") {
        eprintln!("== etcd");
        let figures = match tugboat_etcd_testing::EtcdServer::start() {
            Ok(server) => runtime.block_on(async {
                match tugboat_storage::etcd::EtcdBackend::connect(
                    std::slice::from_ref(&server.endpoint),
                    &DatastoreTls::default(),
                )
                .await
                {
                    Ok(backend) => {
                        eprintln!("etcd {}", backend.server_version());
                        let backend: Arc<dyn Backend> = Arc::new(backend);
                        run_all(backend).await
                    }
                    Err(error) => failed(format!("connect: {error}")),
                }
            }),
            Err(error) => failed(format!("start etcd: {error}")),
        };
        results.push(("etcd", figures));
    }
    print_table(&results);
}

fn failed(message: String) -> Figures {
    eprintln!("error: {message}");
    Figures {
        errors: vec![message],
        ..Figures::default()
    }
}

async fn run_all(backend: Arc<dyn Backend>) -> Figures {
    let mut figures = Figures::default();
    let record = |what: &str, error: BoxError, figures: &mut Figures| {
        eprintln!("error in {what}: {error}");
        figures.errors.push(format!("{what}: {error}"));
    };
    match creates(&backend, "/bench/c1/", 1, SINGLE_WRITES).await {
        Ok(rate) => figures.creates_1 = Some(rate),
        Err(e) => record("creates (1 writer)", e, &mut figures),
    }
    match creates(&backend, "/bench/c64/", PARALLEL_WRITERS, PARALLEL_WRITES).await {
        Ok(rate) => figures.creates_64 = Some(rate),
        Err(e) => record("creates (64 writers)", e, &mut figures),
    }
    match list(&backend).await {
        Ok((p50, p99)) => {
            figures.list_p50 = Some(p50);
            figures.list_p99 = Some(p99);
        }
        Err(e) => record("list", e, &mut figures),
    }
    match watch(&backend).await {
        Ok((p50, p99, rate)) => {
            figures.watch_p50 = Some(p50);
            figures.watch_p99 = Some(p99);
            figures.watch_events_per_sec = Some(rate);
        }
        Err(e) => record("watch", e, &mut figures),
    }
    figures
}

fn value(fill: u8) -> Bytes {
    Bytes::from(vec![fill; VALUE_BYTES])
}

/// `total` creates of 1 KiB under `prefix` by `writers` concurrent tasks; creates per second.
async fn creates(
    backend: &Arc<dyn Backend>,
    prefix: &str,
    writers: usize,
    total: usize,
) -> Result<f64, BoxError> {
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(writers);
    for w in 0..writers {
        let backend = Arc::clone(backend);
        let prefix = prefix.to_owned();
        let count = total / writers + usize::from(w < total % writers);
        tasks.push(tokio::spawn(async move {
            let v = value(b'c');
            for i in 0..count {
                backend
                    .create(&format!("{prefix}{w:03}/{i:06}"), v.clone(), None)
                    .await?;
            }
            Ok::<_, StorageError>(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    let elapsed = started.elapsed();
    let rate = total as f64 / elapsed.as_secs_f64();
    eprintln!("creates: {writers} writers, {total} writes in {elapsed:?}: {rate:.0}/s");
    Ok(rate)
}

/// Fill a prefix with 10,000 keys, then time full lists; (median, p99).
async fn list(backend: &Arc<dyn Backend>) -> Result<(Duration, Duration), BoxError> {
    creates(backend, "/bench/list/", PARALLEL_WRITERS, LIST_KEYS).await?;
    let request = ListRequest {
        prefix: "/bench/list/".into(),
        ..ListRequest::default()
    };
    // One warm-up run, which also checks the count.
    let warm = backend.list(&request).await?;
    if warm.kvs.len() != LIST_KEYS {
        return Err(format!("listed {} keys, expected {LIST_KEYS}", warm.kvs.len()).into());
    }
    let mut times = Vec::with_capacity(LIST_RUNS);
    for _ in 0..LIST_RUNS {
        let started = Instant::now();
        let response = backend.list(&request).await?;
        times.push(started.elapsed());
        std::hint::black_box(response);
    }
    times.sort();
    let (p50, p99) = (percentile(&times, 50.0), percentile(&times, 99.0));
    eprintln!("list {LIST_KEYS}: p50 {p50:?}, p99 {p99:?}");
    Ok((p50, p99))
}

/// 100 watchers of one prefix, one paced writer; (p50, p99, events/s delivered).
async fn watch(backend: &Arc<dyn Backend>) -> Result<(Duration, Duration, f64), BoxError> {
    let base = Instant::now();
    let prefix = "/bench/watch/";
    let mut watchers = Vec::with_capacity(WATCHERS);
    for _ in 0..WATCHERS {
        let mut watch = backend.watch(prefix, 0).await?;
        watchers.push(tokio::spawn(async move {
            let mut delays = Vec::with_capacity(WATCH_WRITES);
            let mut last_delivery = base;
            while delays.len() < WATCH_WRITES {
                let next = tokio::time::timeout(Duration::from_secs(60), watch.next()).await;
                let response = match next {
                    Ok(Some(Ok(response))) => response,
                    Ok(Some(Err(error))) => return Err(error.to_string()),
                    Ok(None) => return Err("watch ended".to_owned()),
                    Err(_) => return Err(format!("stalled after {} events", delays.len())),
                };
                let now = Instant::now();
                if let WatchResponse::Events(events) = response {
                    for event in events {
                        if let tugboat_storage::Event::Created(kv) = event {
                            let sent = u64::from_le_bytes(
                                kv.value[..8].try_into().map_err(|_| "short value")?,
                            );
                            let sent = base + Duration::from_nanos(sent);
                            delays.push(now.saturating_duration_since(sent));
                        }
                    }
                    last_delivery = now;
                }
            }
            Ok::<_, String>((delays, last_delivery))
        }));
    }
    let mut ticker = tokio::time::interval(WATCH_INTERVAL);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let started = Instant::now();
    for i in 0..WATCH_WRITES {
        ticker.tick().await;
        let mut v = vec![b'w'; 128];
        let sent = u64::try_from(base.elapsed().as_nanos()).unwrap_or(u64::MAX);
        v[..8].copy_from_slice(&sent.to_le_bytes());
        backend
            .create(&format!("{prefix}{i:06}"), Bytes::from(v), None)
            .await?;
    }
    let written = started.elapsed();
    let mut all = Vec::with_capacity(WATCHERS * WATCH_WRITES);
    let mut last = started;
    for watcher in watchers {
        let (delays, last_delivery) = watcher.await??;
        all.extend(delays);
        last = last.max(last_delivery);
    }
    all.sort();
    let (p50, p99) = (percentile(&all, 50.0), percentile(&all, 99.0));
    let rate = all.len() as f64 / (last - started).as_secs_f64();
    eprintln!(
        "watch: {WATCH_WRITES} writes in {written:?}, {} deliveries; p50 {p50:?}, p99 {p99:?}, \
         {rate:.0} events/s",
        all.len()
    );
    Ok((p50, p99, rate))
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn print_table(results: &[(&str, Figures)]) {
    fn rate(v: Option<f64>) -> String {
        v.map_or_else(|| "error".to_owned(), |v| format!("{v:.0}"))
    }
    fn ms(v: Option<Duration>) -> String {
        v.map_or_else(
            || "error".to_owned(),
            |d| format!("{:.2} ms", d.as_secs_f64() * 1000.0),
        )
    }
    type Cell<'a> = &'a dyn Fn(&Figures) -> String;
    let rows: [(&str, Cell<'_>); 7] = [
        ("creates/s, 1 writer (2,000 × 1 KiB)", &|f| {
            rate(f.creates_1)
        }),
        ("creates/s, 64 writers (40,000 × 1 KiB)", &|f| {
            rate(f.creates_64)
        }),
        ("list 10,000 keys, median", &|f| ms(f.list_p50)),
        ("list 10,000 keys, p99", &|f| ms(f.list_p99)),
        ("watch delivery to 100 watchers, p50", &|f| ms(f.watch_p50)),
        ("watch delivery to 100 watchers, p99", &|f| ms(f.watch_p99)),
        (
            "watch events delivered/s (all watchers, 500 writes/s offered)",
            &|f| rate(f.watch_events_per_sec),
        ),
    ];
    let mut header = String::from("| |");
    let mut rule = String::from("|---|");
    for (name, _) in results {
        header.push_str(&format!(" {name} |"));
        rule.push_str("---:|");
    }
    println!("{header}");
    println!("{rule}");
    for (label, cell) in rows {
        let mut line = format!("| {label} |");
        for (_, figures) in results {
            line.push_str(&format!(" {} |", cell(figures)));
        }
        println!("{line}");
    }
    for (name, figures) in results {
        for error in &figures.errors {
            println!();
            println!("{name}: {error}");
        }
    }
}
