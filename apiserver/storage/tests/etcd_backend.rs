//! Tests of the etcd backend's etcd-specific behaviour (TLS, progress requests, lease reuse, TTL
//! expiry, compaction discovery) plus a few quick sanity checks, against a real etcd started by the
//! harness. The shared contract suite covers the rest of the contract.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt;
use tugboat_etcd_testing::EtcdServer;
use tugboat_storage::{
    Backend, DatastoreTls, Event, ListRequest, StorageError, Watch, WatchResponse,
    etcd::EtcdBackend,
};

async fn connect(server: &EtcdServer) -> EtcdBackend {
    EtcdBackend::connect(
        std::slice::from_ref(&server.endpoint),
        &DatastoreTls::default(),
    )
    .await
    .unwrap()
}

async fn next(watch: &mut Watch) -> Result<WatchResponse, StorageError> {
    tokio::time::timeout(Duration::from_secs(10), watch.next())
        .await
        .expect("watch response within 10 s")
        .expect("watch stream not ended")
}

/// Collect events until `n` have arrived, skipping progress notifications.
async fn events(watch: &mut Watch, n: usize) -> Vec<Event> {
    let mut out = Vec::new();
    while out.len() < n {
        match next(watch).await.unwrap() {
            WatchResponse::Events(evs) => out.extend(evs),
            WatchResponse::Progress(_) => {}
        }
    }
    out
}

fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

#[test]
fn harness_starts_plain_and_tls() {
    let plain = EtcdServer::start().unwrap();
    assert!(plain.endpoint.starts_with("http://127.0.0.1:"));
    let (tls, files) = EtcdServer::start_tls().unwrap();
    assert!(tls.endpoint.starts_with("https://127.0.0.1:"));
    assert!(files.ca.exists() && files.cert.exists() && files.key.exists());
}

#[tokio::test]
async fn crud_sanity() {
    let server = EtcdServer::start().unwrap();
    let db = connect(&server).await;
    let r0 = db.current_revision().await.unwrap();

    let r1 = db.create("/registry/a/x", b("1"), None).await.unwrap();
    assert_eq!(r1, r0 + 1);
    assert!(matches!(
        db.create("/registry/a/x", b("again"), None).await,
        Err(StorageError::AlreadyExists { .. })
    ));
    let (at, kv) = db.get("/registry/a/x", 0).await.unwrap();
    let kv = kv.unwrap();
    assert_eq!(
        (at, kv.create_revision, kv.mod_revision, kv.version),
        (r1, r1, r1, 1)
    );

    let r2 = db.update("/registry/a/x", b("2"), r1, None).await.unwrap();
    assert_eq!(r2, r1 + 1);
    match db.update("/registry/a/x", b("3"), r1, None).await {
        Err(StorageError::Conflict {
            expected, current, ..
        }) => {
            assert_eq!(expected, r1);
            assert_eq!(current.mod_revision, r2);
            assert_eq!(current.value, b("2"));
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert!(matches!(
        db.update("/registry/a/missing", b("3"), r1, None).await,
        Err(StorageError::NotFound { .. })
    ));
    assert!(matches!(
        db.update("/registry/a/missing", b("3"), 0, None).await,
        Err(StorageError::NotFound { .. })
    ));
    // Failed writes consume no revision.
    assert_eq!(db.current_revision().await.unwrap(), r2);

    // Reads at an old revision.
    let (at, old) = db.get("/registry/a/x", r1).await.unwrap();
    assert_eq!((at, old.unwrap().value), (r1, b("1")));
    assert!(matches!(
        db.get("/registry/a/x", r2 + 100).await,
        Err(StorageError::FutureRevision { requested, current }) if requested == r2 + 100 && current == r2
    ));

    // Conditional and plain deletes.
    assert!(matches!(
        db.delete("/registry/a/x", Some(r1)).await,
        Err(StorageError::Conflict { .. })
    ));
    let (r3, prev) = db.delete("/registry/a/x", Some(r2)).await.unwrap();
    assert_eq!((r3, prev.value), (r2 + 1, b("2")));
    assert!(matches!(
        db.delete("/registry/a/x", None).await,
        Err(StorageError::NotFound { .. })
    ));
    assert!(matches!(
        db.create("", b("x"), None).await,
        Err(StorageError::InvalidRequest(_))
    ));
}

#[tokio::test]
async fn list_pagination_and_count() {
    let server = EtcdServer::start().unwrap();
    let db = connect(&server).await;
    for i in 0..25 {
        db.create(&format!("/registry/pods/ns/p{i:02}"), b("v"), None)
            .await
            .unwrap();
    }
    db.create("/registry/podsx", b("outside"), None)
        .await
        .unwrap();
    let first = db
        .list(&ListRequest {
            prefix: "/registry/pods/".into(),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!((first.kvs.len(), first.more, first.count), (10, true, 25));
    let next_key = format!("{}\0", first.kvs[9].key);
    let rest = db
        .list(&ListRequest {
            prefix: "/registry/pods/".into(),
            start_key: next_key,
            revision: first.revision,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!((rest.kvs.len(), rest.more, rest.count), (15, false, 15));
    assert_eq!(rest.revision, first.revision);
    assert_eq!(db.count("/registry/pods/").await.unwrap().1, 25);
    assert_eq!(db.count("").await.unwrap().1, 26);
    assert!(matches!(
        db.list(&ListRequest {
            prefix: "/registry/pods/".into(),
            start_key: "/registry/other".into(),
            ..Default::default()
        })
        .await,
        Err(StorageError::InvalidRequest(_))
    ));
}

#[tokio::test]
async fn watch_events_and_compaction() {
    let server = EtcdServer::start().unwrap();
    let db = connect(&server).await;
    let mut watch = db.watch("/registry/cm/", 0).await.unwrap();
    let r1 = db.create("/registry/cm/a", b("1"), None).await.unwrap();
    db.create("/registry/other/a", b("x"), None).await.unwrap();
    let r2 = db.update("/registry/cm/a", b("2"), r1, None).await.unwrap();
    let (r3, _) = db.delete("/registry/cm/a", None).await.unwrap();
    let evs = events(&mut watch, 3).await;
    assert!(matches!(&evs[0], Event::Created(kv) if kv.mod_revision == r1));
    assert!(
        matches!(&evs[1], Event::Updated { kv, prev } if kv.mod_revision == r2 && prev.value == b("1"))
    );
    assert!(
        matches!(&evs[2], Event::Deleted { revision, prev } if *revision == r3 && prev.value == b("2"))
    );

    // A watch from the past replays history.
    let mut replay = db.watch("/registry/cm/", r2).await.unwrap();
    let evs = events(&mut replay, 2).await;
    assert_eq!(
        evs.iter().map(Event::revision).collect::<Vec<_>>(),
        vec![r2, r3]
    );

    assert_eq!(db.compacted_revision().await.unwrap(), 0);
    db.compact(r2).await.unwrap();
    assert_eq!(db.compacted_revision().await.unwrap(), r2);
    assert!(matches!(
        db.compact(r2).await,
        Err(StorageError::Compacted { requested, compacted }) if requested == r2 && compacted == r2
    ));
    assert!(matches!(
        db.get("/registry/cm/a", r1).await,
        Err(StorageError::Compacted { requested, compacted }) if requested == r1 && compacted == r2
    ));
    assert!(db.get("/registry/cm/a", r2).await.is_ok());
    match db.watch("/registry/cm/", r1).await {
        Err(StorageError::Compacted {
            requested,
            compacted,
        }) => assert_eq!((requested, compacted), (r1, r2)),
        Ok(mut w) => match next(&mut w).await {
            Err(StorageError::Compacted { compacted, .. }) => assert_eq!(compacted, r2),
            other => panic!("expected a compacted watch, got {other:?}"),
        },
        Err(other) => panic!("expected a compacted watch, got {other:?}"),
    }

    // A compaction by another client is discovered by a fresh backend.
    let r4 = db.create("/registry/cm/b", b("1"), None).await.unwrap();
    let r5 = db.create("/registry/cm/c", b("1"), None).await.unwrap();
    let mut raw = etcd_client::Client::connect([&server.endpoint], None)
        .await
        .unwrap();
    raw.compact(r4, None).await.unwrap();
    let fresh = connect(&server).await;
    assert_eq!(fresh.compacted_revision().await.unwrap(), r4);
    assert_eq!(db.compacted_revision().await.unwrap(), r4);
    assert!(r5 > r4);
    assert!(db.size_on_disk().await.unwrap() > 0);
}

#[tokio::test]
async fn progress_request_on_idle_watch() {
    let server = EtcdServer::start().unwrap();
    let db = connect(&server).await;
    db.create("/registry/unwatched/a", b("1"), None)
        .await
        .unwrap();
    let mut watch = db.watch("/registry/quiet/", 0).await.unwrap();
    db.create("/registry/unwatched/b", b("1"), None)
        .await
        .unwrap();
    let current = db.current_revision().await.unwrap();
    watch.request_progress();
    let started = Instant::now();
    loop {
        match next(&mut watch).await.unwrap() {
            WatchResponse::Progress(r) if r >= current => break,
            WatchResponse::Progress(_) => {}
            WatchResponse::Events(evs) => panic!("unexpected events {evs:?}"),
        }
    }
    assert!(started.elapsed() < Duration::from_secs(5));

    // Requests merge and repeat: a second request yields another progress.
    db.create("/registry/unwatched/c", b("1"), None)
        .await
        .unwrap();
    let current = db.current_revision().await.unwrap();
    watch.request_progress();
    watch.request_progress();
    loop {
        if let WatchResponse::Progress(r) = next(&mut watch).await.unwrap()
            && r >= current
        {
            break;
        }
    }
}

#[tokio::test]
async fn progress_after_events_covers_them() {
    let server = EtcdServer::start().unwrap();
    let db = connect(&server).await;
    let mut watch = db.watch("/registry/busy/", 0).await.unwrap();
    let mut last = 0;
    for i in 0..50 {
        last = db
            .create(&format!("/registry/busy/{i}"), b("v"), None)
            .await
            .unwrap();
    }
    watch.request_progress();
    let mut seen = 0;
    loop {
        match next(&mut watch).await.unwrap() {
            WatchResponse::Events(evs) => seen = evs.last().unwrap().revision(),
            WatchResponse::Progress(r) if r >= last => {
                assert_eq!(seen, last, "progress {r} arrived before every event");
                break;
            }
            WatchResponse::Progress(r) => assert!(r <= seen),
        }
    }
}

#[tokio::test]
async fn ttl_writes_reuse_leases() {
    let server = EtcdServer::start().unwrap();
    let db = connect(&server).await;
    for i in 0..300 {
        db.create(
            &format!("/registry/events/ns/e{i}"),
            b("event"),
            Some(Duration::from_secs(3600)),
        )
        .await
        .unwrap();
    }
    let mut raw = etcd_client::Client::connect([&server.endpoint], None)
        .await
        .unwrap();
    let leases = raw.leases().await.unwrap();
    assert!(
        leases.leases().len() <= 2,
        "300 TTL writes made {} leases",
        leases.leases().len()
    );
    // A write without TTL detaches the lease.
    let (_, kv) = db.get("/registry/events/ns/e0", 0).await.unwrap();
    db.update(
        "/registry/events/ns/e0",
        b("kept"),
        kv.unwrap().mod_revision,
        None,
    )
    .await
    .unwrap();
    let got = raw.get("/registry/events/ns/e0", None).await.unwrap();
    assert_eq!(got.kvs()[0].lease(), 0);
}

#[tokio::test]
async fn ttl_expiry_deletes_and_notifies() {
    let server = EtcdServer::start().unwrap();
    let db = connect(&server).await;
    let mut watch = db.watch("/registry/leases/", 0).await.unwrap();
    let created = db
        .create("/registry/leases/l", b("v"), Some(Duration::from_secs(1)))
        .await
        .unwrap();
    let started = Instant::now();
    let evs = events(&mut watch, 2).await;
    assert!(matches!(&evs[0], Event::Created(kv) if kv.mod_revision == created));
    match &evs[1] {
        Event::Deleted { revision, prev } => {
            assert_eq!(*revision, created + 1);
            assert_eq!(&*prev.key, "/registry/leases/l");
        }
        other => panic!("expected a delete, got {other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(8));
    assert!(db.get("/registry/leases/l", 0).await.unwrap().1.is_none());
}

#[tokio::test]
async fn tls_with_client_certificate() {
    let (server, files) = EtcdServer::start_tls().unwrap();
    let endpoints = vec![server.endpoint.clone()];
    let tls = DatastoreTls {
        ca_file: Some(files.ca.clone()),
        cert_file: Some(files.cert.clone()),
        key_file: Some(files.key.clone()),
    };
    let db = EtcdBackend::connect(&endpoints, &tls).await.unwrap();
    let r = db
        .create("/registry/tls/a", b("secure"), None)
        .await
        .unwrap();
    let (_, kv) = db.get("/registry/tls/a", 0).await.unwrap();
    assert_eq!(kv.unwrap().mod_revision, r);

    // Without the client certificate etcd refuses the handshake: an error, not a hang.
    let started = Instant::now();
    let no_cert = DatastoreTls {
        ca_file: Some(files.ca.clone()),
        ..Default::default()
    };
    let result = EtcdBackend::connect(&endpoints, &no_cert).await;
    assert!(result.is_err(), "connected without a client certificate");
    assert!(started.elapsed() < Duration::from_secs(15));

    // A missing CA file is a configuration error naming the path.
    let missing = DatastoreTls {
        ca_file: Some(files.ca.with_file_name("missing-ca.crt")),
        ..tls.clone()
    };
    match EtcdBackend::connect(&endpoints, &missing).await {
        Err(StorageError::Config(message)) => assert!(message.contains("missing-ca.crt")),
        other => panic!("expected a config error, got {other:?}"),
    }
}

#[tokio::test]
async fn unreachable_etcd_fails_fast() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let started = Instant::now();
    let result = EtcdBackend::connect(
        &[format!("http://127.0.0.1:{port}")],
        &DatastoreTls::default(),
    )
    .await;
    let error = result.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(15));
    assert!(error.to_string().contains("127.0.0.1"), "{error}");
}

#[tokio::test]
async fn dropped_watch_releases_the_stream() {
    let server = EtcdServer::start().unwrap();
    let db = connect(&server).await;
    for _ in 0..20 {
        let watch = db.watch("/registry/drop/", 0).await.unwrap();
        drop(watch);
    }
    // The backend still works and new watches still see writes.
    let mut watch = db.watch("/registry/drop/", 0).await.unwrap();
    let r = db.create("/registry/drop/a", b("1"), None).await.unwrap();
    assert_eq!(events(&mut watch, 1).await[0].revision(), r);
}
