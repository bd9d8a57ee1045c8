//! `tugboat-bench`: a load benchmark of a real `tugboat server`.
//!
//! It starts the server itself (`$TUGBOAT_BIN`, else `<workspace>/target/release/tugboat`; build it
//! with `cargo build --release -p tugboat`) on a fresh data dir and a free loopback port, with the
//! embedded store or (`--etcd`) a fresh `/usr/bin/etcd`, and measures: the time from spawn to
//! `/readyz` answering 200, the server's RSS idle and with 10,000 pods, ConfigMap creates/s and GET
//! latency with 64 concurrent clients, LIST of 10,000 pods as JSON, Table and protobuf, and watch
//! fan-out to 100 and 1,000 watchers. It prints a Markdown table and stops the server with SIGTERM.
//! Any failed request ends the run with a non-zero exit and the server's answer.
//!
//! ```sh
//! cargo build --release -p tugboat -p tugboat-bench
//! target/release/tugboat-bench            # embedded store; --etcd for etcd; --quick for 1/10 counts
//! ```
//!
//! All traffic goes to 127.0.0.1. See `docs/benchmarks.md` ("API server load") for the figures.

mod load;
mod patch;
mod server;
mod stats;

use std::{future::Future, process::ExitCode, time::Duration};

use anyhow::{Context as _, anyhow};
use clap::Parser;
use reqwest::StatusCode;

use crate::{
    load::{NAMESPACE, Throughput, concurrent, expect},
    server::{Etcd, Server, log_tail, memory},
    stats::{bytes, count, ms, percentile, rate, us_as_ms},
};

/// Load benchmark of a real `tugboat server` (started and stopped by this program).
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Run the server on a fresh etcd (`/usr/bin/etcd`, or `$ETCD_BIN`) instead of the embedded store.
    #[arg(long)]
    etcd: bool,
    /// One tenth of every count (watchers too), for a quick smoke test.
    #[arg(long)]
    quick: bool,
    /// Concurrent clients (each with its own connection) for creates and GETs.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// LISTs per encoding (the median is reported).
    #[arg(long, default_value_t = 5)]
    list_runs: usize,
    /// Upper bound on each phase, in seconds.
    #[arg(long, default_value_t = 600)]
    phase_timeout: u64,
}

/// How much work each phase does.
#[derive(Debug)]
struct Counts {
    configmaps: usize,
    gets: usize,
    pods: usize,
    list_runs: usize,
    /// (watchers, writes) per watch run.
    watch: [(usize, usize); 2],
}

impl Counts {
    fn new(quick: bool, list_runs: usize) -> Counts {
        let full = Counts {
            configmaps: 20_000,
            gets: 20_000,
            pods: 10_000,
            list_runs: list_runs.max(1),
            watch: [(100, 1_000), (1_000, 200)],
        };
        if !quick {
            return full;
        }
        Counts {
            configmaps: full.configmaps / 10,
            gets: full.gets / 10,
            pods: full.pods / 10,
            list_runs: full.list_runs,
            watch: full.watch.map(|(w, n)| (w / 10, n / 10)),
        }
    }
}

/// One row of the report.
#[derive(Debug)]
struct Row {
    what: String,
    value: String,
    target: &'static str,
    upstream: &'static str,
}

#[derive(Debug, Default)]
struct Report {
    rows: Vec<Row>,
}

impl Report {
    fn add(&mut self, what: String, value: String, target: &'static str, upstream: &'static str) {
        eprintln!("  {what}: {value}");
        self.rows.push(Row {
            what,
            value,
            target,
            upstream,
        });
    }

    fn print(&self, backend: &str) {
        println!("| measurement | tugboat ({backend}) | target | upstream kube-apiserver + etcd |");
        println!("|---|---:|---:|---:|");
        for row in &self.rows {
            println!(
                "| {} | {} | {} | {} |",
                row.what, row.value, row.target, row.upstream
            );
        }
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("tugboat-bench: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tugboat-bench: FAILED: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Bound a phase by the configured timeout.
async fn phase<T>(
    name: &str,
    timeout: Duration,
    fut: impl Future<Output = anyhow::Result<T>>,
) -> anyhow::Result<T> {
    eprintln!("== {name}");
    tokio::time::timeout(timeout, fut)
        .await
        .map_err(|_| anyhow!("{name}: did not finish within {timeout:?}"))?
        .with_context(|| format!("{name} failed"))
}

async fn run(args: Args) -> anyhow::Result<()> {
    let counts = Counts::new(args.quick, args.list_runs);
    let bin = server::tugboat_bin();
    let etcd = if args.etcd {
        eprintln!("== starting etcd");
        let etcd = tokio::task::spawn_blocking(Etcd::start).await??;
        eprintln!("  etcd at {} (pid {})", etcd.endpoint, etcd.pid());
        Some(etcd)
    } else {
        None
    };
    let backend = if args.etcd { "etcd" } else { "embedded" };
    eprintln!("== starting {} ({backend})", bin.display());
    let mut server = Server::start(&bin, etcd.as_ref().map(|e| e.endpoint.as_str())).await?;
    eprintln!(
        "  pid {}, {}, log {}",
        server.pid(),
        server.base,
        server.log_path.display()
    );

    let result = measure(&args, &counts, &mut server, etcd.as_ref()).await;
    let result = match result {
        Ok(mut report) => match server.stop() {
            Ok((took, status)) => {
                report.add(
                    "stop (SIGTERM to exit)".into(),
                    format!("{} ({status})", ms(took)),
                    "",
                    "",
                );
                Ok(report)
            }
            Err(e) => Err(e),
        },
        Err(e) => {
            eprintln!(
                "tugboat-bench: server log tail ({}):\n{}",
                server.log_path.display(),
                log_tail(&server.log_path, 30)
            );
            Err(e)
        }
    };
    drop(server);
    drop(etcd);
    let report = result?;
    println!();
    if args.quick {
        println!("(--quick: one tenth of the counts; the targets are for the full counts)\n");
    }
    report.print(backend);
    Ok(())
}

async fn measure(
    args: &Args,
    counts: &Counts,
    server: &mut Server,
    etcd: Option<&Etcd>,
) -> anyhow::Result<Report> {
    let timeout = Duration::from_secs(args.phase_timeout);
    let c = args.concurrency.max(1);
    let mut report = Report::default();

    let client = server.client()?;
    let version = expect(
        client.get(format!("{}/version", server.base)).send().await,
        StatusCode::OK,
        "GET /version",
    )
    .await?;
    let version: serde_json::Value = serde_json::from_slice(&version).context("GET /version")?;
    eprintln!(
        "  server {} on {} CPUs",
        version["gitVersion"].as_str().unwrap_or("?"),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );

    report.add(
        "ready to serve (spawn to `/readyz` 200)".into(),
        ms(server.ready_time),
        "< 1 s",
        "5–6 s",
    );
    // Let start-up work (bootstrap objects, first compaction timer) settle.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (rss, _) = memory(server.pid())?;
    report.add(
        "server RSS, idle".into(),
        bytes(rss),
        "< 50 MiB",
        "~350 MiB",
    );
    if let Some(etcd) = etcd {
        let (etcd_rss, _) = memory(etcd.pid())?;
        report.add(
            "etcd RSS, idle (server + etcd)".into(),
            format!("{} ({})", bytes(etcd_rss), bytes(rss + etcd_rss)),
            "",
            "",
        );
    }

    load::create_namespace(server).await?;

    // ConfigMap creates.
    let n = counts.configmaps;
    let t = phase(
        &format!("create {n} ConfigMaps, {c} clients"),
        timeout,
        concurrent(server, n, c, |client, base, i| async move {
            load::create(
                &client,
                &base,
                &format!("/api/v1/namespaces/{NAMESPACE}/configmaps"),
                load::configmap(&format!("cm-{i}"), &format!("value-{i}")),
            )
            .await
        }),
    )
    .await?;
    let Throughput {
        elapsed,
        mut latencies_us,
    } = t;
    report.add(
        format!(
            "ConfigMap creates/s ({} creates, {c} clients)",
            count(n as u64)
        ),
        rate(n, elapsed),
        "≥ 5,000/s",
        "~1,500/s",
    );
    report.add(
        "ConfigMap create latency p50 / p99".into(),
        p50_p99(&mut latencies_us),
        "",
        "",
    );

    // ConfigMap GETs.
    let gets = counts.gets;
    let created = counts.configmaps.max(1);
    let mut t = phase(
        &format!("GET {gets} ConfigMaps, {c} clients"),
        timeout,
        concurrent(server, gets, c, move |client, base, i| async move {
            let path = format!(
                "/api/v1/namespaces/{NAMESPACE}/configmaps/cm-{}",
                i % created
            );
            expect(
                client
                    .get(format!("{base}{path}"))
                    .header(reqwest::header::ACCEPT, "application/json")
                    .send()
                    .await,
                StatusCode::OK,
                &format!("GET {path}"),
            )
            .await?;
            Ok(())
        }),
    )
    .await?;
    report.add(
        format!(
            "ConfigMap GET p50 / p99 ({} GETs, {c} clients)",
            count(gets as u64)
        ),
        format!(
            "{} ({})",
            p50_p99(&mut t.latencies_us),
            rate(gets, t.elapsed)
        ),
        "",
        "",
    );

    // Updates, strategic merge patches and server-side applies of the same Deployments.
    patch::create_deployments(server).await?;
    let writes = counts.gets / 4;
    let mut rates = Vec::new();
    for (write, label) in [
        (patch::Write::Update, "Deployment updates (PUT)"),
        (
            patch::Write::StrategicMerge,
            "Deployment strategic merge patches",
        ),
        (patch::Write::Apply, "Deployment server-side applies"),
    ] {
        let mut t = phase(
            &format!("{writes} {label}, {c} clients"),
            timeout,
            patch::writes(server, write, writes, c),
        )
        .await?;
        let per_second = writes as f64 / t.elapsed.as_secs_f64();
        rates.push(per_second);
        let versus = match rates.first() {
            Some(update) if rates.len() > 1 => {
                format!(", {:.2}× the update's cost", update / per_second)
            }
            _ => String::new(),
        };
        report.add(
            format!(
                "{label}/s ({} writes over {} objects, {c} clients)",
                count(writes as u64),
                patch::DEPLOYMENTS
            ),
            format!(
                "{} (p50 / p99 {}{versus})",
                rate(writes, t.elapsed),
                p50_p99(&mut t.latencies_us)
            ),
            if rates.len() > 1 {
                "≤ 2× an update"
            } else {
                ""
            },
            "",
        );
    }
    let (size, managed) = patch::managed_fields_overhead(server).await?;
    report.add(
        "managedFields in a Deployment written by 4 managers".into(),
        format!(
            "{managed} of {size} bytes ({:.0}%)",
            100.0 * managed as f64 / size as f64
        ),
        "",
        "",
    );

    // Pods.
    let pods = counts.pods;
    let mut t = phase(
        &format!("create {pods} Pods, {c} clients"),
        timeout,
        concurrent(server, pods, c, |client, base, i| async move {
            load::create(
                &client,
                &base,
                &format!("/api/v1/namespaces/{NAMESPACE}/pods"),
                load::pod(&format!("pod-{i}")),
            )
            .await
        }),
    )
    .await?;
    report.add(
        format!(
            "Pod creates/s ({} creates, {c} clients)",
            count(pods as u64)
        ),
        format!(
            "{} (p50 / p99 {})",
            rate(pods, t.elapsed),
            p50_p99(&mut t.latencies_us)
        ),
        "",
        "",
    );
    let (rss_pods, _) = memory(server.pid())?;

    for (label, accept, target, upstream) in [
        ("JSON", "application/json", "< 150 ms", "600–800 ms"),
        (
            "Table",
            "application/json;as=Table;v=v1;g=meta.k8s.io",
            "",
            "",
        ),
        ("protobuf", "application/vnd.kubernetes.protobuf", "", ""),
    ] {
        let mut l = phase(
            &format!("LIST {pods} pods as {label}, {} runs", counts.list_runs),
            timeout,
            load::list_pods(server, accept, counts.list_runs, pods),
        )
        .await?;
        let (rss_now, _) = memory(server.pid())?;
        eprintln!("  server RSS after the {label} LISTs: {}", bytes(rss_now));
        l.times.sort();
        let median = l.times[l.times.len() / 2];
        let (min, max) = (l.times[0], l.times[l.times.len() - 1]);
        report.add(
            format!(
                "LIST {} pods as {label}, median of {} (min–max; size)",
                count(pods as u64),
                counts.list_runs
            ),
            format!(
                "{} ({}–{}; {})",
                ms(median),
                ms(min),
                ms(max),
                bytes(l.size as u64)
            ),
            target,
            upstream,
        );
    }
    let (rss_listed, _) = memory(server.pid())?;
    report.add(
        format!(
            "server RSS with {} pods (after creates / after LISTs)",
            count(pods as u64)
        ),
        format!("{} / {}", bytes(rss_pods), bytes(rss_listed)),
        "< 300 MiB",
        "1.3 GiB",
    );
    if let Some(etcd) = etcd {
        let (etcd_rss, _) = memory(etcd.pid())?;
        report.add(
            format!("etcd RSS with {} pods", count(pods as u64)),
            bytes(etcd_rss),
            "",
            "",
        );
    }

    for (watchers, writes) in counts.watch {
        let mut w = phase(
            &format!("watch fan-out: {watchers} watchers, {writes} creates"),
            timeout,
            load::watch_fanout(server, watchers, writes, timeout),
        )
        .await?;
        let delivered = w.latencies_us.len();
        report.add(
            format!(
                "watch, {} watchers × {} creates: events delivered/s (writer's creates/s; watch setup)",
                count(w.watchers as u64),
                count(w.writes as u64)
            ),
            format!(
                "{} ({}; {})",
                rate(delivered, w.deliver_elapsed),
                rate(w.writes, w.write_elapsed),
                ms(w.setup)
            ),
            "",
            "",
        );
        report.add(
            format!(
                "watch, {} watchers: delivery latency p50 / p99",
                count(w.watchers as u64)
            ),
            p50_p99(&mut w.latencies_us),
            "",
            "",
        );
    }
    server.check_alive()?;
    let (rss_end, hwm) = memory(server.pid())?;
    report.add(
        "server RSS at the end / peak (VmHWM)".into(),
        format!("{} / {}", bytes(rss_end), bytes(hwm)),
        "",
        "",
    );
    Ok(report)
}

fn p50_p99(latencies_us: &mut [u64]) -> String {
    match (
        percentile(latencies_us, 50.0),
        percentile(latencies_us, 99.0),
    ) {
        (Some(p50), Some(p99)) => format!("{} / {}", us_as_ms(p50), us_as_ms(p99)),
        _ => "-".into(),
    }
}
