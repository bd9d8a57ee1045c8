//! Unit tests of the embedded store: file formats, recovery, compaction, watch, TTL, group commit,
//! and (ignored by default) throughput measurements.

use std::{path::Path, sync::Arc, time::Duration};

use bytes::Bytes;
use futures::StreamExt;

use super::{
    EmbeddedBackend, Options,
    codec::{self, Decoded, Op, Record},
    wal,
};
use crate::{Backend, Event, ListRequest, StorageError, Watch, WatchResponse};

fn small_segments() -> Options {
    Options {
        segment_bytes: 512,
        ttl_check_interval: Duration::from_millis(50),
        ..Options::default()
    }
}

async fn open(dir: &Path, options: Options) -> EmbeddedBackend {
    EmbeddedBackend::open(dir, options).await.unwrap()
}

fn val(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

async fn next(w: &mut Watch) -> Result<WatchResponse, StorageError> {
    tokio::time::timeout(Duration::from_secs(5), w.next())
        .await
        .expect("watch timed out")
        .expect("watch ended")
}

/// Collect events (skipping progress) until `n` events arrived.
async fn events(w: &mut Watch, n: usize) -> Vec<Event> {
    let mut out = Vec::new();
    while out.len() < n {
        match next(w).await.unwrap() {
            WatchResponse::Events(evs) => out.extend(evs),
            WatchResponse::Progress(_) => {}
        }
    }
    out
}

fn segments(dir: &Path) -> Vec<std::path::PathBuf> {
    wal::list_files(dir, "wal-", ".log")
        .unwrap()
        .into_iter()
        .map(|(_, p)| p)
        .collect()
}

async fn wait_for_snapshot(dir: &Path, at_least: i64) {
    for _ in 0..500 {
        if super::snapshot::list(dir)
            .unwrap()
            .iter()
            .any(|(rev, _)| *rev >= at_least)
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("no snapshot at {at_least} was written");
}

#[test]
fn record_round_trip() {
    let mut buf = Vec::new();
    codec::encode_record(&mut buf, Op::Put, 7, 1234, "/a/b", b"value").unwrap();
    codec::encode_record(&mut buf, Op::Delete, 8, 0, "/a/b", b"").unwrap();
    codec::encode_record(&mut buf, Op::Compact, 5, 0, "", b"").unwrap();
    let mut offset = 0;
    let mut records = Vec::new();
    while offset < buf.len() {
        match codec::decode_record(&buf[offset..]) {
            Decoded::Record(r, used) => {
                records.push(r);
                offset += used;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(
        records,
        vec![
            Record {
                op: Op::Put,
                revision: 7,
                deadline: 1234,
                key: "/a/b".into(),
                value: val("value"),
            },
            Record {
                op: Op::Delete,
                revision: 8,
                deadline: 0,
                key: "/a/b".into(),
                value: Bytes::new(),
            },
            Record {
                op: Op::Compact,
                revision: 5,
                deadline: 0,
                key: String::new(),
                value: Bytes::new(),
            },
        ]
    );
    // Every proper prefix of a record is truncated, and a flipped bit fails the checksum.
    let mut one = Vec::new();
    codec::encode_record(&mut one, Op::Put, 1, 0, "k", b"v").unwrap();
    for cut in 0..one.len() {
        assert_eq!(
            codec::decode_record(&one[..cut]),
            Decoded::Truncated,
            "cut {cut}"
        );
    }
    let last = one.len() - 1;
    one[last] ^= 1;
    assert!(matches!(codec::decode_record(&one), Decoded::Bad(_)));
}

#[tokio::test]
async fn basic_semantics() {
    let dir = tempfile::tempdir().unwrap();
    let b = open(dir.path(), Options::default()).await;
    assert_eq!(b.current_revision().await.unwrap(), 0);
    assert!(matches!(
        b.create("", val("x"), None).await,
        Err(StorageError::InvalidRequest(_))
    ));
    let r1 = b.create("/r/a", val("1"), None).await.unwrap();
    assert_eq!(r1, 1);
    assert!(matches!(
        b.create("/r/a", val("1"), None).await,
        Err(StorageError::AlreadyExists { .. })
    ));
    let r2 = b.update("/r/a", val("2"), r1, None).await.unwrap();
    assert_eq!(r2, 2);
    match b.update("/r/a", val("3"), r1, None).await {
        Err(StorageError::Conflict { current, .. }) => {
            assert_eq!(current.mod_revision, 2);
            assert_eq!(current.version, 2);
            assert_eq!(current.create_revision, 1);
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        b.update("/r/zz", val("3"), 1, None).await,
        Err(StorageError::NotFound { .. })
    ));
    b.create("/r/b", val("b"), None).await.unwrap();
    b.create("/r/c", val("c"), None).await.unwrap();
    b.create("/s/x", val("x"), None).await.unwrap();
    let (rev, kv) = b.get("/r/a", 1).await.unwrap();
    assert_eq!((rev, kv.unwrap().value), (1, val("1")));
    assert!(matches!(
        b.get("/r/a", 99).await,
        Err(StorageError::FutureRevision { .. })
    ));
    let list = b
        .list(&ListRequest {
            prefix: "/r/".into(),
            limit: 2,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(list.kvs.len(), 2);
    assert!(list.more);
    assert_eq!(list.count, 3);
    assert_eq!(list.revision, 5);
    let page2 = b
        .list(&ListRequest {
            prefix: "/r/".into(),
            start_key: "/r/c".into(),
            limit: 2,
            revision: list.revision,
        })
        .await
        .unwrap();
    assert_eq!(page2.kvs.len(), 1);
    assert!(!page2.more);
    assert_eq!(page2.count, 1);
    assert!(matches!(
        b.list(&ListRequest {
            prefix: "/r/".into(),
            start_key: "/s/x".into(),
            ..Default::default()
        })
        .await,
        Err(StorageError::InvalidRequest(_))
    ));
    let (drev, prev) = b.delete("/r/b", Some(3)).await.unwrap();
    assert_eq!((drev, prev.value), (6, val("b")));
    assert_eq!(b.count("/r/").await.unwrap(), (6, 2));
    // A list at an older revision still sees the deleted key.
    let old = b
        .list(&ListRequest {
            prefix: "/r/".into(),
            revision: 5,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(old.count, 3);
    // Re-create starts a new life.
    let r7 = b.create("/r/b", val("b2"), None).await.unwrap();
    let kv = b.get("/r/b", 0).await.unwrap().1.unwrap();
    assert_eq!(
        (kv.create_revision, kv.mod_revision, kv.version),
        (r7, r7, 1)
    );
    assert!(b.size_on_disk().await.unwrap() > 0);
}

#[tokio::test]
async fn torn_tail_is_cut_and_store_stays_writable() {
    let dir = tempfile::tempdir().unwrap();
    {
        let b = open(dir.path(), Options::default()).await;
        for i in 0..10 {
            b.create(&format!("/k/{i}"), val("v"), None).await.unwrap();
        }
    }
    let segs = segments(dir.path());
    let last = segs.last().unwrap();
    let len = std::fs::metadata(last).unwrap().len();
    assert!(len > 0);
    // Cut the last record in half, as a crash mid-write would.
    let f = std::fs::OpenOptions::new().write(true).open(last).unwrap();
    f.set_len(len - 5).unwrap();
    drop(f);
    let b = open(dir.path(), Options::default()).await;
    assert_eq!(b.current_revision().await.unwrap(), 9);
    assert!(b.get("/k/8", 0).await.unwrap().1.is_some());
    assert!(b.get("/k/9", 0).await.unwrap().1.is_none());
    assert_eq!(b.create("/k/9", val("again"), None).await.unwrap(), 10);
    drop(b);
    // And garbage appended after valid records is a torn tail too.
    let last = segments(dir.path()).pop().unwrap();
    let mut data = std::fs::read(&last).unwrap();
    data.extend_from_slice(&[0xAB; 37]);
    std::fs::write(&last, data).unwrap();
    let b = open(dir.path(), Options::default()).await;
    assert_eq!(b.current_revision().await.unwrap(), 10);
    assert_eq!(
        b.get("/k/9", 0).await.unwrap().1.unwrap().value,
        val("again")
    );
}

#[tokio::test]
async fn bad_record_in_an_earlier_segment_is_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    {
        let b = open(dir.path(), small_segments()).await;
        for i in 0..20 {
            b.create(&format!("/k/{i}"), Bytes::from(vec![b'x'; 100]), None)
                .await
                .unwrap();
        }
    }
    let segs = segments(dir.path());
    assert!(segs.len() >= 3, "{segs:?}");
    let mut data = std::fs::read(&segs[0]).unwrap();
    // Flip a byte of the first record's payload.
    data[20] ^= 0xFF;
    std::fs::write(&segs[0], data).unwrap();
    match EmbeddedBackend::open(dir.path(), small_segments()).await {
        Err(StorageError::Corrupt(why)) => assert!(why.contains("checksum"), "{why}"),
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

#[tokio::test]
async fn snapshot_and_replay_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let b = open(dir.path(), small_segments()).await;
        for i in 0..10 {
            b.create(&format!("/k/{i}"), val(&format!("v{i}")), None)
                .await
                .unwrap();
        }
        // Revisions 11..=15 update /k/0 five times; 16 deletes /k/1.
        let mut rev = 1;
        for n in 0..5 {
            rev = b
                .update("/k/0", val(&format!("u{n}")), rev, None)
                .await
                .unwrap();
        }
        b.delete("/k/1", None).await.unwrap();
        assert_eq!(b.current_revision().await.unwrap(), 16);
        b.compact(13).await.unwrap();
        assert!(matches!(
            b.compact(12).await,
            Err(StorageError::Compacted { .. })
        ));
        assert!(matches!(
            b.compact(99).await,
            Err(StorageError::FutureRevision { .. })
        ));
        wait_for_snapshot(dir.path(), 16).await;
        for i in 10..15 {
            b.create(&format!("/k/{i}"), val(&format!("v{i}")), None)
                .await
                .unwrap();
        }
        b.update("/k/0", val("late"), 15, None).await.unwrap();
    }
    // The snapshot removed the segments it covers.
    assert!(segments(dir.path()).iter().all(|p| {
        wal::parse_name(p.file_name().unwrap().to_str().unwrap(), "wal-", ".log").unwrap() > 1
    }));
    let b = open(dir.path(), small_segments()).await;
    assert_eq!(b.current_revision().await.unwrap(), 22);
    assert_eq!(b.compacted_revision().await.unwrap(), 13);
    let kv = b.get("/k/0", 0).await.unwrap().1.unwrap();
    assert_eq!(kv.value, val("late"));
    assert_eq!(
        (kv.create_revision, kv.mod_revision, kv.version),
        (1, 22, 7)
    );
    assert_eq!(b.get("/k/14", 0).await.unwrap().1.unwrap().mod_revision, 21);
    assert!(b.get("/k/1", 0).await.unwrap().1.is_none());
    // At and above the compaction revision history is there, below it is gone.
    assert_eq!(b.get("/k/0", 13).await.unwrap().1.unwrap().value, val("u2"));
    assert_eq!(b.get("/k/0", 14).await.unwrap().1.unwrap().value, val("u3"));
    assert_eq!(b.get("/k/1", 15).await.unwrap().1.unwrap().value, val("v1"));
    assert!(matches!(
        b.get("/k/0", 12).await,
        Err(StorageError::Compacted {
            requested: 12,
            compacted: 13
        })
    ));
    assert!(matches!(
        b.list(&ListRequest {
            prefix: "/k/".into(),
            revision: 5,
            ..Default::default()
        })
        .await,
        Err(StorageError::Compacted { .. })
    ));
    let at13 = b
        .list(&ListRequest {
            prefix: "/k/".into(),
            revision: 13,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(at13.count, 10);
    // Still writable, revisions continue.
    assert_eq!(b.create("/k/new", val("n"), None).await.unwrap(), 23);
}

#[tokio::test]
async fn watch_from_past_revision_after_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let b = open(dir.path(), small_segments()).await;
        b.create("/w/a", val("1"), None).await.unwrap(); // 1
        b.create("/other/x", val("x"), None).await.unwrap(); // 2
        b.update("/w/a", val("2"), 1, None).await.unwrap(); // 3
        b.delete("/w/a", Some(3)).await.unwrap(); // 4
        b.create("/w/b", val("b"), None).await.unwrap(); // 5
        b.compact(3).await.unwrap();
        wait_for_snapshot(dir.path(), 5).await;
        b.update("/w/b", val("b2"), 5, None).await.unwrap(); // 6
    }
    let b = open(dir.path(), small_segments()).await;
    assert!(matches!(
        next(&mut b.watch("/w/", 2).await.unwrap()).await,
        Err(StorageError::Compacted {
            requested: 2,
            compacted: 3
        })
    ));
    let mut w = b.watch("/w/", 3).await.unwrap();
    let evs = events(&mut w, 4).await;
    let revs: Vec<_> = evs.iter().map(Event::revision).collect();
    assert_eq!(revs, vec![3, 4, 5, 6]);
    match &evs[0] {
        Event::Updated { kv, prev } => {
            assert_eq!((kv.value.clone(), prev.value.clone()), (val("2"), val("1")));
            assert_eq!(prev.mod_revision, 1);
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(&evs[1], Event::Deleted { revision: 4, prev } if prev.value == val("2")));
    assert!(matches!(&evs[2], Event::Created(kv) if kv.key.as_ref() == "/w/b"));
    assert!(matches!(&evs[3], Event::Updated { prev, .. } if prev.value == val("b")));
    // Live events follow, and progress reports the current revision.
    b.create("/w/c", val("c"), None).await.unwrap(); // 7
    b.create("/other/y", val("y"), None).await.unwrap(); // 8
    assert_eq!(events(&mut w, 1).await[0].revision(), 7);
    w.request_progress();
    loop {
        match next(&mut w).await.unwrap() {
            WatchResponse::Progress(r) if r >= 8 => break,
            WatchResponse::Progress(_) => {}
            WatchResponse::Events(e) => panic!("unexpected {e:?}"),
        }
    }
    // A watcher from "now" sees only later writes.
    let mut now = b.watch("/w/", 0).await.unwrap();
    b.create("/w/d", val("d"), None).await.unwrap(); // 9
    assert_eq!(events(&mut now, 1).await[0].revision(), 9);
}

#[tokio::test]
async fn watcher_behind_compaction_fails() {
    let dir = tempfile::tempdir().unwrap();
    let b = open(dir.path(), Options::default()).await;
    for i in 0..5 {
        b.create(&format!("/c/{i}"), val("v"), None).await.unwrap();
    }
    let mut w = b.watch("/c/", 1).await.unwrap();
    b.compact(4).await.unwrap();
    assert!(matches!(
        next(&mut w).await,
        Err(StorageError::Compacted { .. })
    ));
    assert!(w.next().await.is_none());
    // Idle watchers still get progress as the revision moves on.
    let mut idle = b.watch("/nothing/", 0).await.unwrap();
    b.create("/c/x", val("v"), None).await.unwrap();
    assert_eq!(next(&mut idle).await.unwrap(), WatchResponse::Progress(6));
}

#[tokio::test]
async fn ttl_expiry_deletes_and_notifies() {
    let dir = tempfile::tempdir().unwrap();
    let b = open(dir.path(), small_segments()).await;
    let mut w = b.watch("/ttl/", 0).await.unwrap();
    let r = b
        .create("/ttl/e", val("event"), Some(Duration::from_millis(100)))
        .await
        .unwrap();
    // A TTL cleared by a later write does not fire.
    let k = b
        .create("/ttl/keep", val("k"), Some(Duration::from_millis(100)))
        .await
        .unwrap();
    b.update("/ttl/keep", val("k2"), k, None).await.unwrap();
    let evs = events(&mut w, 4).await;
    match &evs[3] {
        Event::Deleted { revision, prev } => {
            assert_eq!(prev.key.as_ref(), "/ttl/e");
            assert_eq!(prev.mod_revision, r);
            assert_eq!(*revision, 4);
        }
        other => panic!("{other:?}"),
    }
    assert!(b.get("/ttl/e", 0).await.unwrap().1.is_none());
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(b.get("/ttl/keep", 0).await.unwrap().1.is_some());
    // Deadlines survive a restart.
    b.create("/ttl/later", val("l"), Some(Duration::from_millis(300)))
        .await
        .unwrap();
    drop(w);
    drop(b);
    let b = open(dir.path(), small_segments()).await;
    assert!(b.get("/ttl/later", 0).await.unwrap().1.is_some());
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(b.get("/ttl/later", 0).await.unwrap().1.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_commit_with_concurrent_writers() {
    let dir = tempfile::tempdir().unwrap();
    let b = Arc::new(open(dir.path(), Options::default()).await);
    let tasks = 64;
    let per_task = 20;
    let mut handles = Vec::new();
    for t in 0..tasks {
        let b = b.clone();
        handles.push(tokio::spawn(async move {
            let mut revs = Vec::new();
            for i in 0..per_task {
                revs.push(
                    b.create(
                        &format!("/g/{t:02}/{i:02}"),
                        Bytes::from(vec![7u8; 1024]),
                        None,
                    )
                    .await
                    .unwrap(),
                );
            }
            revs
        }));
    }
    let mut revs = Vec::new();
    for h in handles {
        revs.extend(h.await.unwrap());
    }
    revs.sort_unstable();
    let n = (tasks * per_task) as i64;
    assert_eq!(revs, (1..=n).collect::<Vec<_>>());
    assert_eq!(b.count("/g/").await.unwrap(), (n, n));
    drop(Arc::into_inner(b).unwrap());
    let b = open(dir.path(), Options::default()).await;
    assert_eq!(b.count("/g/").await.unwrap(), (n, n));
}

#[tokio::test]
async fn history_budget_compacts_automatically() {
    let dir = tempfile::tempdir().unwrap();
    let b = open(
        dir.path(),
        Options {
            max_history_bytes: 64 << 10,
            ..Options::default()
        },
    )
    .await;
    let mut rev = b
        .create("/h/k", Bytes::from(vec![1u8; 1024]), None)
        .await
        .unwrap();
    for _ in 0..200 {
        rev = b
            .update("/h/k", Bytes::from(vec![2u8; 1024]), rev, None)
            .await
            .unwrap();
    }
    for _ in 0..200 {
        if b.compacted_revision().await.unwrap() > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let compacted = b.compacted_revision().await.unwrap();
    assert!(compacted > 100, "compacted {compacted}");
    assert!(b.get("/h/k", compacted).await.is_ok());
}

#[tokio::test]
async fn second_open_of_a_locked_dir_fails() {
    let dir = tempfile::tempdir().unwrap();
    let _b = open(dir.path(), Options::default()).await;
    assert!(matches!(
        EmbeddedBackend::open(dir.path(), Options::default()).await,
        Err(StorageError::Unavailable(_))
    ));
}

/// Throughput figures; run with
/// `cargo test --release -p tugboat-storage --lib embedded::tests::measure -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn measure() {
    let dir = tempfile::tempdir().unwrap();
    let b = Arc::new(open(dir.path(), Options::default()).await);
    let writers = 64;
    let per_writer = 1_000;
    let value = Bytes::from(vec![b'v'; 1024]);
    let start = std::time::Instant::now();
    let mut handles = Vec::new();
    for w in 0..writers {
        let (b, value) = (b.clone(), value.clone());
        handles.push(tokio::spawn(async move {
            for i in 0..per_writer {
                b.create(
                    &format!("/registry/pods/ns{w}/pod-{i:05}"),
                    value.clone(),
                    None,
                )
                .await
                .unwrap();
            }
        }));
    }
    for h in handles {
        h.await.unwrap();
    }
    let secs = start.elapsed().as_secs_f64();
    let n = writers * per_writer;
    println!(
        "creates: {n} durable 1 KiB creates by {writers} writers in {secs:.2}s = {:.0}/s",
        n as f64 / secs
    );
    // 10,000 keys under one prefix.
    let ns = "/registry/configmaps/";
    for i in 0..10_000 {
        b.create(&format!("{ns}cm-{i:05}"), value.clone(), None)
            .await
            .unwrap();
    }
    let mut best = f64::MAX;
    for _ in 0..10 {
        let start = std::time::Instant::now();
        let list = b
            .list(&ListRequest {
                prefix: ns.into(),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(list.kvs.len(), 10_000);
        best = best.min(start.elapsed().as_secs_f64());
    }
    println!(
        "list of 10,000 keys (of {} total): best {:.2} ms",
        n + 10_000,
        best * 1000.0
    );
    let mut base = Duration::ZERO;
    for i in 0..500 {
        let start = std::time::Instant::now();
        b.create(&format!("/registry/base/{i}"), value.clone(), None)
            .await
            .unwrap();
        base = base.max(start.elapsed());
    }
    println!("worst create latency of 500 sequential, no compaction: {base:?}");
    // Writer stall during a compaction of ~74k keys: the longest create latency while it runs.
    let rev = b.current_revision().await.unwrap();
    let compactor = {
        let b = b.clone();
        tokio::spawn(async move {
            let start = std::time::Instant::now();
            b.compact(rev).await.unwrap();
            start.elapsed()
        })
    };
    let mut worst = Duration::ZERO;
    for i in 0..2_000 {
        let start = std::time::Instant::now();
        b.create(&format!("/registry/stall/{i}"), value.clone(), None)
            .await
            .unwrap();
        worst = worst.max(start.elapsed());
        if compactor.is_finished() {
            break;
        }
    }
    println!(
        "compaction took {:?}; worst create latency meanwhile {worst:?}",
        compactor.await.unwrap()
    );
    // Watch latency to 100 watchers.
    let mut watchers = Vec::new();
    for _ in 0..100 {
        watchers.push(b.watch("/registry/lat/", 0).await.unwrap());
    }
    let mut lat = Vec::new();
    for i in 0..50 {
        let start = std::time::Instant::now();
        b.create(&format!("/registry/lat/{i}"), value.clone(), None)
            .await
            .unwrap();
        for w in &mut watchers {
            events(w, 1).await;
        }
        lat.push(start.elapsed());
    }
    lat.sort();
    println!(
        "create + delivery to 100 watchers: median {:?}, max {:?}",
        lat[lat.len() / 2],
        lat[lat.len() - 1]
    );
    let reopen = std::time::Instant::now();
    drop(watchers);
    drop(Arc::into_inner(b).unwrap());
    let b = open(dir.path(), Options::default()).await;
    println!(
        "reopen with {} keys: {:?}, {} bytes on disk",
        b.count("/").await.unwrap().1,
        reopen.elapsed(),
        b.size_on_disk().await.unwrap()
    );
}

#[test]
fn ring_prunes_across_chunks_and_accounts_history() {
    use super::watch::{EVENT_OVERHEAD, Ring};
    use crate::KeyValue;
    let kv = |rev: i64| KeyValue {
        key: Arc::from("/k"),
        value: Bytes::from(vec![0u8; 10]),
        create_revision: 1,
        mod_revision: rev,
        version: rev,
    };
    let mut ring = Ring::new(1);
    ring.push(Event::Created(kv(1))).unwrap();
    for rev in 2..=5000 {
        ring.push(Event::Updated {
            kv: kv(rev),
            prev: kv(rev - 1),
        })
        .unwrap();
    }
    assert!(ring.push(Event::Created(kv(9))).is_err());
    let per_update = EVENT_OVERHEAD + 12;
    assert_eq!(ring.history_bytes(), EVENT_OVERHEAD + 4999 * per_update);
    // Down to 100 events' worth of history: compact to revision 4901.
    assert_eq!(ring.compaction_target(100 * per_update), 4901);
    let removed = ring.prune_before(2500);
    assert_eq!(
        removed
            .iter()
            .flatten()
            .filter(|s| s.event().is_some())
            .count(),
        2499
    );
    assert!(ring.get(2499).is_none());
    assert_eq!(ring.get(2500).map(Event::revision), Some(2500));
    assert_eq!(ring.get(5000).map(Event::revision), Some(5000));
    assert!(ring.get(5001).is_none());
    assert_eq!(ring.history_bytes(), 2501 * per_update);
    ring.prune_before(5001);
    assert_eq!(ring.history_bytes(), 0);
    assert_eq!(ring.next(), 5001);
    ring.push(Event::Updated {
        kv: kv(5001),
        prev: kv(5000),
    })
    .unwrap();
    assert_eq!(ring.get(5001).map(Event::revision), Some(5001));
    assert_eq!(ring.history_bytes(), per_update);
}

/// Child half of `kill9_keeps_acknowledged_writes`: writes until killed, printing each
/// acknowledged write.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn crash_child() {
    let Ok(dir) = std::env::var("TUGBOAT_CRASH_DIR") else {
        return;
    };
    let round: usize = std::env::var("TUGBOAT_CRASH_ROUND")
        .unwrap()
        .parse()
        .unwrap();
    let options = Options {
        segment_bytes: 256 << 10,
        snapshot_log_bytes: 1 << 20,
        ..Options::default()
    };
    let b = Arc::new(open(Path::new(&dir), options).await);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    for w in 0..32 {
        let (b, tx) = (b.clone(), tx.clone());
        tokio::spawn(async move {
            for i in 0.. {
                let key = format!("/crash/{round}/{w}/{i}");
                let rev = b
                    .create(&key, Bytes::from(vec![1u8; 1024]), None)
                    .await
                    .unwrap();
                let _ = tx.send(format!("ack {key} {rev}"));
                if i % 10 == 0 {
                    let upd = b
                        .update(&key, Bytes::from(vec![2u8; 1024]), rev, None)
                        .await
                        .unwrap();
                    let _ = tx.send(format!("ack {key} {upd}"));
                }
            }
        });
    }
    {
        let b = b.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(50)).await;
                let rev = b.current_revision().await.unwrap();
                if rev > 100 {
                    let _ = crate::compactor::compact_to(b.as_ref(), rev - 100).await;
                }
            }
        });
    }
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    while let Some(line) = rx.recv().await {
        writeln!(out, "{line}").unwrap();
        out.flush().unwrap();
    }
}

/// `kill -9` the writer child at random moments; every acknowledged write must be there after.
#[tokio::test]
#[ignore]
async fn kill9_keeps_acknowledged_writes() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut last_rev = 0;
    for round in 0..8 {
        let mut child = std::process::Command::new(&exe)
            .args([
                "embedded::tests::crash_child",
                "--ignored",
                "--exact",
                "--nocapture",
            ])
            .env("TUGBOAT_CRASH_DIR", dir.path())
            .env("TUGBOAT_CRASH_ROUND", round.to_string())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
                .filter_map(|l| {
                    let mut parts = l.strip_prefix("ack ")?.split(' ');
                    Some((parts.next()?.to_owned(), parts.next()?.parse::<i64>().ok()?))
                })
                .collect::<Vec<_>>()
        });
        std::thread::sleep(Duration::from_millis(300 + 150 * round as u64));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let acked = reader.join().unwrap();
        let b = open(dir.path(), Options::default()).await;
        let current = b.current_revision().await.unwrap();
        assert!(
            current >= last_rev,
            "revision went back from {last_rev} to {current}"
        );
        let mut checked = 0;
        for (key, rev) in &acked {
            let kv = b
                .get(key, 0)
                .await
                .unwrap()
                .1
                .unwrap_or_else(|| panic!("{key} lost"));
            assert!(
                kv.mod_revision >= *rev,
                "{key}: {} < {rev}",
                kv.mod_revision
            );
            checked += 1;
        }
        // History is consistent: a watch from the compaction revision replays densely.
        let compacted = b.compacted_revision().await.unwrap().max(1);
        let mut w = b.watch("", compacted).await.unwrap();
        let evs = events(&mut w, (current - compacted + 1) as usize).await;
        assert!(
            evs.windows(2)
                .all(|p| p[1].revision() == p[0].revision() + 1)
        );
        println!(
            "round {round}: {checked} acknowledged writes present, revision {current}, compacted {compacted}, {} bytes",
            b.size_on_disk().await.unwrap()
        );
        last_rev = current;
    }
}
