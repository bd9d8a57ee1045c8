//! The storage contract suite: the invariants of the crate docs (`src/lib.rs`), checked by the same
//! cases against every backend. `embedded::<case>` runs a case against a fresh embedded store in a temp
//! dir, `etcd::<case>` against a fresh etcd (one server per test, so tests are isolated and may
//! compact). Every assertion about revisions is relative to the revision read at the start of the case
//! (a fresh etcd starts at revision 1, a fresh embedded store at 0), and every read of a watch stream has
//! a timeout so that a broken backend fails a test instead of hanging it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    sync::Arc,
    time::{Duration, Instant},
};

use bytes::Bytes;
use futures::StreamExt;
use tokio::time::timeout;
use tugboat_storage::{
    Backend, Event, KeyValue, ListRequest, ListResponse, Revision, StorageError, Watch,
    WatchResponse,
};

/// How long one read of a watch stream may take before the test fails.
const STREAM_TIMEOUT: Duration = Duration::from_secs(10);
/// Upper bound on one whole case.
const CASE_TIMEOUT: Duration = Duration::from_secs(180);

// ---------------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------------

/// Which backend a fixture runs.
enum Store {
    Embedded(tempfile::TempDir),
    Etcd(tugboat_etcd_testing::EtcdServer),
}

/// A fresh backend, and what it needs to be reopened (embedded: the same dir; etcd: a new client of
/// the same server).
struct Fixture {
    store: Store,
    backend: Option<Arc<dyn Backend>>,
}

impl Fixture {
    async fn embedded() -> Fixture {
        let dir = tempfile::Builder::new()
            .prefix("tugboat-contract-")
            .tempdir()
            .unwrap();
        let mut f = Fixture {
            store: Store::Embedded(dir),
            backend: None,
        };
        f.backend = Some(f.open().await);
        f
    }

    async fn etcd() -> Fixture {
        let server = tokio::task::spawn_blocking(tugboat_etcd_testing::EtcdServer::start)
            .await
            .unwrap()
            .expect("starting etcd");
        let mut f = Fixture {
            store: Store::Etcd(server),
            backend: None,
        };
        f.backend = Some(f.open().await);
        f
    }

    async fn open(&self) -> Arc<dyn Backend> {
        match &self.store {
            Store::Embedded(dir) => Arc::new(
                tugboat_storage::embedded::EmbeddedBackend::open(
                    dir.path(),
                    tugboat_storage::embedded::Options::default(),
                )
                .await
                .expect("opening the embedded store"),
            ),
            Store::Etcd(server) => Arc::new(
                tugboat_storage::etcd::EtcdBackend::connect(
                    std::slice::from_ref(&server.endpoint),
                    &Default::default(),
                )
                .await
                .expect("connecting to etcd"),
            ),
        }
    }

    fn backend(&self) -> &dyn Backend {
        self.backend.as_deref().expect("backend is open")
    }

    /// Close the backend (drop every handle) and open it again.
    async fn reopen(&mut self) {
        let old = self.backend.take().expect("backend is open");
        assert_eq!(
            Arc::strong_count(&old),
            1,
            "the test holds the only handle to the backend"
        );
        drop(old);
        // Give background tasks that own clones of the store's internals a moment to wind down.
        tokio::time::sleep(Duration::from_millis(100)).await;
        self.backend = Some(self.open().await);
    }
}

/// Instantiate every case for every backend. `plain` cases take `&dyn Backend`; `fixture` cases take
/// `&mut Fixture` (they reopen the backend).
macro_rules! contract_cases {
    (plain: [$($case:ident),* $(,)?], fixture: [$($fcase:ident),* $(,)?] $(,)?) => {
        contract_cases!(@backend embedded, embedded, [$($case),*], [$($fcase),*]);
        contract_cases!(@backend etcd, etcd, [$($case),*], [$($fcase),*]);
    };
    (@backend $module:ident, $ctor:ident, [$($case:ident),*], [$($fcase:ident),*]) => {
        mod $module {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    let fixture = super::Fixture::$ctor().await;
                    tokio::time::timeout(super::CASE_TIMEOUT, super::$case(fixture.backend()))
                        .await
                        .expect("case timed out");
                }
            )*
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $fcase() {
                    let mut fixture = super::Fixture::$ctor().await;
                    tokio::time::timeout(super::CASE_TIMEOUT, super::$fcase(&mut fixture))
                        .await
                        .expect("case timed out");
                }
            )*
        }
    };
}

contract_cases! {
    plain: [
        create_then_get,
        values_round_trip,
        update_compare_and_swap,
        delete_unconditional_and_conditional,
        recreate_after_delete,
        concurrent_creates_of_one_key,
        concurrent_cas_increments,
        list_prefix_isolation_and_order,
        list_limit_more_count,
        list_pagination_consistent_snapshot,
        history_reads_match_model,
        future_revision,
        get_at_past_revision,
        watch_replays_history_then_live,
        watch_from_zero_sees_only_later_changes,
        watch_prefix_filtering,
        watch_ordering_under_concurrent_writers,
        watch_progress_on_idle_watch,
        watch_progress_after_events,
        watch_from_future_revision,
        slow_watcher_misses_nothing,
        slow_watcher_and_compaction,
        watch_catch_up_while_writing,
        many_watchers_and_dropped_watchers,
        reads_under_concurrent_writes_are_snapshots,
        ttl_does_not_outlive_its_key,
        compaction,
        compacted_watch_fails_and_ends,
        ttl_expiry_is_a_watched_delete,
        update_without_ttl_clears_it,
        invalid_requests,
        size_on_disk_reports_bytes,
    ],
    fixture: [
        reopen_keeps_state_and_history,
    ],
}

// ---------------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------------

fn val(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

fn kv(key: &str, value: &str, create: Revision, modr: Revision, version: i64) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: val(value),
        create_revision: create,
        mod_revision: modr,
        version,
    }
}

async fn current(b: &dyn Backend) -> Revision {
    b.current_revision().await.expect("current_revision")
}

async fn get_latest(b: &dyn Backend, key: &str) -> Option<KeyValue> {
    let (rev, kv) = b.get(key, 0).await.expect("get");
    assert_eq!(
        rev,
        current(b).await,
        "a get at 0 reports the current revision"
    );
    kv
}

async fn list_prefix(b: &dyn Backend, prefix: &str, revision: Revision) -> ListResponse {
    b.list(&ListRequest {
        prefix: prefix.into(),
        revision,
        ..Default::default()
    })
    .await
    .unwrap_or_else(|e| panic!("list {prefix:?} at {revision}: {e}"))
}

fn keys(kvs: &[KeyValue]) -> Vec<&str> {
    kvs.iter().map(|kv| &*kv.key).collect()
}

#[track_caller]
fn assert_already_exists(r: Result<Revision, StorageError>, key: &str) {
    match r {
        Err(StorageError::AlreadyExists { key: k }) => assert_eq!(k, key),
        other => panic!("expected AlreadyExists for {key:?}, got {other:?}"),
    }
}

#[track_caller]
fn assert_not_found<T: std::fmt::Debug>(r: Result<T, StorageError>, key: &str) {
    match r {
        Err(StorageError::NotFound { key: k }) => assert_eq!(k, key),
        other => panic!("expected NotFound for {key:?}, got {other:?}"),
    }
}

#[track_caller]
fn assert_conflict<T: std::fmt::Debug>(
    r: Result<T, StorageError>,
    expected: Revision,
    now: &KeyValue,
) {
    match r {
        Err(StorageError::Conflict {
            key,
            expected: e,
            current,
        }) => {
            assert_eq!(key, &*now.key, "Conflict names the key");
            assert_eq!(
                e, expected,
                "Conflict carries the caller's expected revision"
            );
            assert_eq!(*current, *now, "Conflict carries the key's current value");
        }
        other => panic!("expected Conflict on {:?}, got {other:?}", now.key),
    }
}

#[track_caller]
fn assert_compacted<T: std::fmt::Debug>(
    r: Result<T, StorageError>,
    requested: Revision,
    compacted: Revision,
) {
    match r {
        Err(StorageError::Compacted {
            requested: req,
            compacted: c,
        }) => {
            assert_eq!(req, requested, "Compacted carries the requested revision");
            assert_eq!(c, compacted, "Compacted carries the compaction revision");
        }
        other => panic!("expected Compacted for revision {requested}, got {other:?}"),
    }
}

#[track_caller]
fn assert_future<T: std::fmt::Debug>(r: Result<T, StorageError>, requested: Revision) {
    match r {
        Err(StorageError::FutureRevision { requested: req, .. }) => assert_eq!(req, requested),
        other => panic!("expected FutureRevision for {requested}, got {other:?}"),
    }
}

#[track_caller]
fn assert_invalid<T: std::fmt::Debug>(r: Result<T, StorageError>, what: &str) {
    match r {
        Err(StorageError::InvalidRequest(_)) => {}
        other => panic!("{what}: expected InvalidRequest, got {other:?}"),
    }
}

/// A deterministic PRNG (xorshift64*), so a failing case replays the same operations.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A watch whose every message is checked against invariant 6 as it is read: events under the prefix,
/// never empty batches, revisions strictly increasing and above any progress already reported,
/// well-formed Created / Updated / Deleted events.
struct CheckedWatch {
    watch: Watch,
    prefix: String,
    /// The highest revision delivered so far (event or progress).
    last: Revision,
    /// The revision of the last event.
    last_event: Revision,
}

impl CheckedWatch {
    async fn start(b: &dyn Backend, prefix: &str, start: Revision) -> CheckedWatch {
        let watch = b
            .watch(prefix, start)
            .await
            .unwrap_or_else(|e| panic!("watch {prefix:?} from {start}: {e}"));
        CheckedWatch {
            watch,
            prefix: prefix.into(),
            last: if start > 0 { start - 1 } else { 0 },
            last_event: 0,
        }
    }

    /// The next message, checked; panics if none comes within [`STREAM_TIMEOUT`].
    async fn next(&mut self) -> Option<Result<WatchResponse, StorageError>> {
        let item = timeout(STREAM_TIMEOUT, self.watch.next())
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "watch on {:?} yielded nothing for {STREAM_TIMEOUT:?} (last revision seen: {})",
                    self.prefix, self.last
                )
            });
        self.check_item(&item);
        item
    }

    fn check_item(&mut self, item: &Option<Result<WatchResponse, StorageError>>) {
        match item {
            Some(Ok(WatchResponse::Events(events))) => {
                assert!(!events.is_empty(), "a watch yielded an empty Events batch");
                for event in events {
                    self.check_event(event);
                }
            }
            Some(Ok(WatchResponse::Progress(r))) => {
                assert!(
                    *r >= self.last_event,
                    "Progress({r}) after an event at {}",
                    self.last_event
                );
                self.last = self.last.max(*r);
            }
            Some(Err(_)) | None => {}
        }
    }

    fn check_event(&mut self, event: &Event) {
        let rev = event.revision();
        assert!(
            rev > self.last,
            "watch on {:?}: event at {rev} ({event:?}) does not follow revision {} already delivered",
            self.prefix,
            self.last
        );
        assert!(
            event.key().starts_with(&self.prefix),
            "watch on {:?} yielded an event for {:?}",
            self.prefix,
            event.key()
        );
        match event {
            Event::Created(kv) => {
                assert_eq!(kv.create_revision, kv.mod_revision, "Created: {kv:?}");
                assert_eq!(kv.version, 1, "Created: {kv:?}");
            }
            Event::Updated { kv, prev } => {
                assert_eq!(kv.key, prev.key, "Updated: prev is of the same key");
                assert_eq!(
                    kv.create_revision, prev.create_revision,
                    "Updated: {kv:?} {prev:?}"
                );
                assert_eq!(kv.version, prev.version + 1, "Updated: {kv:?} {prev:?}");
                assert!(
                    prev.mod_revision < kv.mod_revision,
                    "Updated: {kv:?} {prev:?}"
                );
            }
            Event::Deleted { revision, prev } => {
                assert!(
                    prev.mod_revision < *revision,
                    "Deleted at {revision}: {prev:?}"
                );
            }
        }
        self.last = rev;
        self.last_event = rev;
    }

    /// Read until at least `n` events have arrived (progress messages are skipped); returns all
    /// events read, which may be more than `n` if a batch held more.
    async fn events(&mut self, n: usize) -> Vec<Event> {
        let mut out = Vec::new();
        while out.len() < n {
            match self.next().await {
                Some(Ok(WatchResponse::Events(events))) => out.extend(events),
                Some(Ok(WatchResponse::Progress(_))) => {}
                Some(Err(e)) => panic!("watch failed after {} events: {e}", out.len()),
                None => panic!("watch ended after {} of {n} events", out.len()),
            }
        }
        out
    }

    /// Read events until one at revision `>= until` arrives.
    async fn events_until(&mut self, until: Revision) -> Vec<Event> {
        let mut out: Vec<Event> = Vec::new();
        while out.last().is_none_or(|e| e.revision() < until) {
            out.extend(self.events(1).await);
        }
        out
    }

    /// Ask for progress and read until a `Progress(r)` with `r >= at_least` arrives. Returns the
    /// events that came before it and `r`.
    async fn progress(&mut self, at_least: Revision) -> (Vec<Event>, Revision) {
        let deadline = Instant::now() + STREAM_TIMEOUT;
        let mut events = Vec::new();
        self.watch.request_progress();
        loop {
            assert!(
                Instant::now() < deadline,
                "no Progress >= {at_least} within {STREAM_TIMEOUT:?}"
            );
            // Ask again now and then: a request made before the watch caught up may be merged or
            // answered with an older revision. (`next` on a stream is cancel-safe.)
            let Ok(item) = timeout(Duration::from_secs(1), self.watch.next()).await else {
                self.watch.request_progress();
                continue;
            };
            self.check_item(&item);
            match item {
                Some(Ok(WatchResponse::Events(evs))) => events.extend(evs),
                Some(Ok(WatchResponse::Progress(r))) if r >= at_least => return (events, r),
                Some(Ok(WatchResponse::Progress(_))) => self.watch.request_progress(),
                Some(Err(e)) => panic!("watch failed while waiting for progress: {e}"),
                None => panic!("watch ended while waiting for progress"),
            }
        }
    }
}

/// Every key of a store at one revision, for model-based checks.
type Snapshot = BTreeMap<String, KeyValue>;

// ---------------------------------------------------------------------------------------------------
// Cases: single-key writes (invariants 1-4)
// ---------------------------------------------------------------------------------------------------

async fn create_then_get(b: &dyn Backend) {
    let key = "/registry/pods/default/a";
    let r0 = current(b).await;
    assert_eq!(b.get(key, 0).await.unwrap(), (r0, None), "missing key");

    let r1 = b.create(key, val("one"), None).await.unwrap();
    assert_eq!(r1, r0 + 1, "a create consumes exactly one revision");
    assert_eq!(current(b).await, r1);
    let (rev, got) = b.get(key, 0).await.unwrap();
    assert_eq!(rev, r1, "get reports the revision it read at");
    assert_eq!(got, Some(kv(key, "one", r1, r1, 1)));

    // Reads do not change the revision.
    for _ in 0..3 {
        b.get(key, 0).await.unwrap();
        list_prefix(b, "/registry/", 0).await;
        b.count("/registry/").await.unwrap();
    }
    assert_eq!(current(b).await, r1, "reads never change the revision");

    // Create of an existing key fails and consumes no revision.
    assert_already_exists(b.create(key, val("two"), None).await, key);
    assert_already_exists(
        b.create(key, val("two"), Some(Duration::from_secs(30)))
            .await,
        key,
    );
    assert_eq!(current(b).await, r1, "a failed create consumes no revision");
    assert_eq!(get_latest(b, key).await, Some(kv(key, "one", r1, r1, 1)));

    // A second key gets the next revision.
    let r2 = b
        .create("/registry/pods/default/b", val("x"), None)
        .await
        .unwrap();
    assert_eq!(r2, r1 + 1);
    assert_eq!(get_latest(b, key).await, Some(kv(key, "one", r1, r1, 1)));
}

async fn values_round_trip(b: &dyn Backend) {
    let empty = "/registry/secrets/ns/empty";
    let binary = "/registry/secrets/ns/binary";
    let big = "/registry/secrets/ns/big";
    let binary_value: Bytes = (0..=255u8).cycle().take(4096).collect::<Vec<u8>>().into();
    let big_value: Bytes = (0..512 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect::<Vec<u8>>()
        .into();
    let r_empty = b.create(empty, Bytes::new(), None).await.unwrap();
    let r_bin = b.create(binary, binary_value.clone(), None).await.unwrap();
    let r_big = b.create(big, big_value.clone(), None).await.unwrap();
    assert_eq!(get_latest(b, empty).await.unwrap().value, Bytes::new());
    assert_eq!(get_latest(b, binary).await.unwrap().value, binary_value);
    assert_eq!(get_latest(b, big).await.unwrap().value, big_value);
    // Past reads too.
    assert_eq!(
        b.get(empty, r_empty).await.unwrap().1.unwrap().value.len(),
        0
    );
    assert_eq!(
        b.get(binary, r_bin).await.unwrap().1.unwrap().value,
        binary_value
    );
    // Overwrite with empty and back.
    let r = b.update(big, Bytes::new(), r_big, None).await.unwrap();
    assert_eq!(get_latest(b, big).await.unwrap().value.len(), 0);
    assert_eq!(b.get(big, r_big).await.unwrap().1.unwrap().value, big_value);
    b.update(big, big_value.clone(), r, None).await.unwrap();
    assert_eq!(get_latest(b, big).await.unwrap().value, big_value);
}

async fn update_compare_and_swap(b: &dyn Backend) {
    let key = "/registry/configmaps/default/cm";
    let other = "/registry/configmaps/default/other";
    let r0 = current(b).await;
    let r1 = b.create(key, val("v1"), None).await.unwrap();
    assert_eq!(r1, r0 + 1);

    let r2 = b.update(key, val("v2"), r1, None).await.unwrap();
    assert_eq!(r2, r1 + 1, "an update consumes exactly one revision");
    assert_eq!(current(b).await, r2);
    let now = kv(key, "v2", r1, r2, 2);
    assert_eq!(get_latest(b, key).await, Some(now.clone()));

    // A stale expected revision: Conflict with the current value, nothing written.
    assert_conflict(b.update(key, val("v3"), r1, None).await, r1, &now);
    // An expected revision from the future, or 0, is as wrong as a stale one.
    assert_conflict(
        b.update(key, val("v3"), r2 + 100, None).await,
        r2 + 100,
        &now,
    );
    assert_conflict(b.update(key, val("v3"), 0, None).await, 0, &now);
    assert_eq!(
        current(b).await,
        r2,
        "a conflicting update consumes no revision"
    );
    assert_eq!(get_latest(b, key).await, Some(now.clone()));

    // Writes to another key move the global revision; the next update of `key` gets current + 1.
    let r3 = b.create(other, val("o"), None).await.unwrap();
    assert_eq!(r3, r2 + 1);
    assert_conflict(b.update(key, val("v3"), r3, None).await, r3, &now);
    let r4 = b.update(key, val("v3"), r2, None).await.unwrap();
    assert_eq!(r4, r3 + 1);
    assert_eq!(get_latest(b, key).await, Some(kv(key, "v3", r1, r4, 3)));
    assert_eq!(get_latest(b, other).await, Some(kv(other, "o", r3, r3, 1)));

    // Update of a missing key: NotFound, whatever revision is expected, and nothing written.
    let missing = "/registry/configmaps/default/missing";
    assert_not_found(b.update(missing, val("x"), 0, None).await, missing);
    assert_not_found(b.update(missing, val("x"), r4, None).await, missing);
    assert_eq!(current(b).await, r4, "a failed update consumes no revision");
    assert_eq!(get_latest(b, missing).await, None);

    // The Conflict's value is enough to retry without reading again.
    let retried = match b.update(key, val("v4"), r1, None).await {
        Err(StorageError::Conflict { current, .. }) => b
            .update(key, val("v4"), current.mod_revision, None)
            .await
            .unwrap(),
        other => panic!("expected Conflict, got {other:?}"),
    };
    assert_eq!(retried, r4 + 1);
    assert_eq!(get_latest(b, key).await, Some(kv(key, "v4", r1, r4 + 1, 4)));
}

async fn delete_unconditional_and_conditional(b: &dyn Backend) {
    let a = "/registry/secrets/default/a";
    let c = "/registry/secrets/default/c";
    let r0 = current(b).await;
    let ra = b.create(a, val("a1"), None).await.unwrap();
    assert_eq!(ra, r0 + 1);

    // Unconditional delete returns the value it removed and consumes one revision.
    let (rd, prev) = b.delete(a, None).await.unwrap();
    assert_eq!(rd, ra + 1, "a delete consumes exactly one revision");
    assert_eq!(prev, kv(a, "a1", ra, ra, 1));
    assert_eq!(current(b).await, rd);
    assert_eq!(get_latest(b, a).await, None);

    // Deleting a missing key: NotFound, conditional or not, and nothing written.
    assert_not_found(b.delete(a, None).await, a);
    assert_not_found(b.delete(a, Some(ra)).await, a);
    assert_not_found(
        b.delete("/registry/secrets/default/never", None).await,
        "/registry/secrets/default/never",
    );
    assert_eq!(current(b).await, rd, "a failed delete consumes no revision");

    // Conditional delete.
    let rc1 = b.create(c, val("c1"), None).await.unwrap();
    let rc2 = b.update(c, val("c2"), rc1, None).await.unwrap();
    let now = kv(c, "c2", rc1, rc2, 2);
    assert_conflict(b.delete(c, Some(rc1)).await, rc1, &now);
    assert_conflict(b.delete(c, Some(rc2 + 7)).await, rc2 + 7, &now);
    assert_eq!(
        current(b).await,
        rc2,
        "a conflicting delete consumes no revision"
    );
    assert_eq!(get_latest(b, c).await, Some(now.clone()));
    let (rdc, prev) = b.delete(c, Some(rc2)).await.unwrap();
    assert_eq!(rdc, rc2 + 1);
    assert_eq!(prev, now);
    assert_eq!(get_latest(b, c).await, None);
    assert_eq!(current(b).await, rdc);
}

async fn recreate_after_delete(b: &dyn Backend) {
    let key = "/registry/services/default/svc";
    let r1 = b.create(key, val("life1"), None).await.unwrap();
    let r2 = b.update(key, val("life1b"), r1, None).await.unwrap();
    let (r3, _) = b.delete(key, None).await.unwrap();
    // An update of the deleted key must not resurrect it.
    assert_not_found(b.update(key, val("x"), r2, None).await, key);
    let r4 = b.create(key, val("life2"), None).await.unwrap();
    assert_eq!(r4, r3 + 1);
    assert_eq!(
        get_latest(b, key).await,
        Some(kv(key, "life2", r4, r4, 1)),
        "a re-create starts a new life: new create_revision, version 1"
    );
    let r5 = b.update(key, val("life2b"), r4, None).await.unwrap();
    assert_eq!(get_latest(b, key).await, Some(kv(key, "life2b", r4, r5, 2)));
    // The old life is still readable in history.
    assert_eq!(
        b.get(key, r2).await.unwrap().1,
        Some(kv(key, "life1b", r1, r2, 2))
    );
    assert_eq!(b.get(key, r3).await.unwrap().1, None);
}

async fn concurrent_creates_of_one_key(b: &dyn Backend) {
    let key = "/registry/leases/kube-system/leader";
    let r0 = current(b).await;
    let results: Vec<Result<Revision, StorageError>> = futures::future::join_all(
        (0..16).map(|i| async move { b.create(key, val(&format!("candidate-{i}")), None).await }),
    )
    .await;
    let won: Vec<Revision> = results
        .iter()
        .filter_map(|r| r.as_ref().ok().copied())
        .collect();
    assert_eq!(won, vec![r0 + 1], "exactly one create wins: {results:?}");
    for r in results.into_iter().filter(|r| r.is_err()) {
        assert_already_exists(r, key);
    }
    assert_eq!(
        current(b).await,
        r0 + 1,
        "losing creates consume no revision"
    );
}

async fn concurrent_cas_increments(b: &dyn Backend) {
    let key = "/registry/counters/c";
    let created = b.create(key, val("0"), None).await.unwrap();
    const TASKS: usize = 8;
    const PER_TASK: usize = 15;
    let run = |_task: usize| async move {
        let mut seen: Option<KeyValue> = None;
        for _ in 0..PER_TASK {
            loop {
                let cur = match seen.take() {
                    Some(kv) => kv,
                    None => b.get(key, 0).await.unwrap().1.unwrap(),
                };
                let n: u64 = std::str::from_utf8(&cur.value).unwrap().parse().unwrap();
                match b
                    .update(key, val(&(n + 1).to_string()), cur.mod_revision, None)
                    .await
                {
                    Ok(_) => break,
                    Err(StorageError::Conflict { current, .. }) => {
                        assert!(
                            current.mod_revision > cur.mod_revision,
                            "Conflict's current is newer"
                        );
                        seen = Some(*current);
                    }
                    Err(e) => panic!("update: {e}"),
                }
            }
        }
    };
    futures::future::join_all((0..TASKS).map(run)).await;
    let total = (TASKS * PER_TASK) as i64;
    let end = get_latest(b, key).await.unwrap();
    assert_eq!(end.value, val(&total.to_string()), "no increment lost");
    assert_eq!(end.version, total + 1);
    assert_eq!(end.create_revision, created);
    assert_eq!(
        end.mod_revision,
        created + total,
        "conflicts consumed no revision"
    );
    assert_eq!(current(b).await, created + total);
}

// ---------------------------------------------------------------------------------------------------
// Cases: lists and reads at a revision (invariant 5)
// ---------------------------------------------------------------------------------------------------

async fn list_prefix_isolation_and_order(b: &dyn Backend) {
    let inside = [
        "/registry/pods/",
        "/registry/pods/kube-system/c",
        "/registry/pods/default/b",
        "/registry/pods/default/a",
        "/registry/pods/default/a-1",
        "/registry/pods/default/a.1",
        "/registry/pods/default/a/1",
        "/registry/pods/default/B",
        "/registry/pods/default/\u{e9}t\u{e9}",
    ];
    let outside = [
        "/registry/pods",
        "/registry/podsx/default/z",
        "/registry/pod",
        "/registry/pods0",
        "/registry/services/default/a",
        "/registry/apods/x",
    ];
    let r0 = current(b).await;
    for (i, key) in inside.iter().chain(outside.iter()).enumerate() {
        assert_eq!(
            b.create(key, val(key), None).await.unwrap(),
            r0 + 1 + i as i64
        );
    }
    let cur = current(b).await;
    let mut expected: Vec<&str> = inside.to_vec();
    expected.sort(); // byte order, as etcd orders keys

    let resp = list_prefix(b, "/registry/pods/", 0).await;
    assert_eq!(
        keys(&resp.kvs),
        expected,
        "only keys under the prefix, in key order"
    );
    assert_eq!(
        resp.revision, cur,
        "a list at 0 reports the current revision"
    );
    assert_eq!(resp.count, inside.len() as i64);
    assert!(!resp.more);
    for kv in &resp.kvs {
        assert_eq!(kv.value, val(&kv.key), "each key with its own value");
        assert_eq!(kv.version, 1);
        assert_eq!(kv.create_revision, kv.mod_revision);
    }
    assert_eq!(
        b.count("/registry/pods/").await.unwrap(),
        (cur, inside.len() as i64)
    );

    // A narrower prefix.
    let resp = list_prefix(b, "/registry/pods/default/a", 0).await;
    assert_eq!(
        keys(&resp.kvs),
        vec![
            "/registry/pods/default/a",
            "/registry/pods/default/a-1",
            "/registry/pods/default/a.1",
            "/registry/pods/default/a/1"
        ]
    );
    // Everything under /registry/, sorted.
    let mut all: Vec<&str> = inside.iter().chain(outside.iter()).copied().collect();
    all.sort();
    let resp = list_prefix(b, "/registry/", 0).await;
    assert_eq!(keys(&resp.kvs), all);
    assert_eq!(
        b.count("/registry/").await.unwrap(),
        (cur, all.len() as i64)
    );

    // An empty prefix range.
    let resp = list_prefix(b, "/registry/nothing/", 0).await;
    assert!(resp.kvs.is_empty());
    assert_eq!((resp.revision, resp.count, resp.more), (cur, 0, false));
    assert_eq!(b.count("/registry/nothing/").await.unwrap(), (cur, 0));

    // Deleted keys leave the list and the count.
    b.delete("/registry/pods/default/b", None).await.unwrap();
    let resp = list_prefix(b, "/registry/pods/", 0).await;
    assert_eq!(resp.kvs.len(), inside.len() - 1);
    assert!(!keys(&resp.kvs).contains(&"/registry/pods/default/b"));
    assert_eq!(
        b.count("/registry/pods/").await.unwrap(),
        (cur + 1, inside.len() as i64 - 1)
    );
}

async fn list_limit_more_count(b: &dyn Backend) {
    let prefix = "/registry/configmaps/ns/";
    let names: Vec<String> = (0..10).map(|i| format!("{prefix}k{i:02}")).collect();
    for name in &names {
        b.create(name, val(name), None).await.unwrap();
    }
    b.create("/registry/configmaps/other/k", val("x"), None)
        .await
        .unwrap();
    let cur = current(b).await;
    let req = |start_key: &str, limit: usize| ListRequest {
        prefix: prefix.into(),
        start_key: start_key.into(),
        limit,
        revision: 0,
    };

    let r = b.list(&req("", 3)).await.unwrap();
    assert_eq!(
        keys(&r.kvs),
        names[..3].iter().map(String::as_str).collect::<Vec<_>>()
    );
    assert!(r.more, "the limit cut the list short");
    assert_eq!(
        r.count, 10,
        "count covers the whole range, not just the page"
    );
    assert_eq!(r.revision, cur);

    // A limit exactly as big as what is left: no more.
    let r = b.list(&req(&names[7], 3)).await.unwrap();
    assert_eq!(
        keys(&r.kvs),
        names[7..].iter().map(String::as_str).collect::<Vec<_>>()
    );
    assert!(!r.more, "limit == remaining keys: nothing more follows");
    assert_eq!(r.count, 3, "count is of the range from start_key");

    // Limit larger than the range.
    let r = b.list(&req("", 100)).await.unwrap();
    assert_eq!(r.kvs.len(), 10);
    assert!(!r.more);
    assert_eq!(r.count, 10);

    // No limit, from a start key that is not itself a key.
    let r = b.list(&req(&format!("{prefix}k04x"), 0)).await.unwrap();
    assert_eq!(
        keys(&r.kvs),
        names[5..].iter().map(String::as_str).collect::<Vec<_>>()
    );
    assert!(!r.more);
    assert_eq!(r.count, 5);

    // Start key past the end of the range.
    let r = b.list(&req(&format!("{prefix}z"), 2)).await.unwrap();
    assert!(r.kvs.is_empty());
    assert!(!r.more);
    assert_eq!(r.count, 0);

    // Limit 1 walks the whole range one key at a time.
    let mut start = String::new();
    let mut walked = Vec::new();
    loop {
        let r = b.list(&req(&start, 1)).await.unwrap();
        assert!(r.kvs.len() <= 1);
        walked.extend(r.kvs.iter().map(|kv| kv.key.to_string()));
        if !r.more {
            break;
        }
        start = format!("{}\0", r.kvs[0].key);
    }
    assert_eq!(walked, names);
}

async fn list_pagination_consistent_snapshot(b: &dyn Backend) {
    let prefix = "/registry/deployments/ns/";
    let names: Vec<String> = (0..10).map(|i| format!("{prefix}d{i:02}")).collect();
    let mut originals = Vec::new();
    for name in &names {
        let r = b
            .create(name, val(&format!("{name}@orig")), None)
            .await
            .unwrap();
        originals.push(kv(name, &format!("{name}@orig"), r, r, 1));
    }

    let page1 = b
        .list(&ListRequest {
            prefix: prefix.into(),
            limit: 4,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(page1.kvs, originals[..4]);
    assert!(page1.more);
    assert_eq!(page1.count, 10);
    let snapshot = page1.revision;
    assert_eq!(snapshot, current(b).await);

    // Writes between pages, on both sides of the page boundary.
    b.create(&format!("{prefix}d04a"), val("new"), None)
        .await
        .unwrap(); // after page 1, new
    b.create(&format!("{prefix}d00a"), val("new"), None)
        .await
        .unwrap(); // inside page 1, new
    let upd = originals[5].clone();
    b.update(&upd.key, val("changed"), upd.mod_revision, None)
        .await
        .unwrap();
    b.delete(&names[6], None).await.unwrap();
    b.delete(&names[9], None).await.unwrap();
    let after_writes = current(b).await;
    assert_eq!(after_writes, snapshot + 5);

    // The following pages at the first page's revision see the snapshot, not the writes.
    let mut all = page1.kvs.clone();
    let mut start = format!("{}\0", page1.kvs.last().unwrap().key);
    let mut pages = 1;
    loop {
        let page = b
            .list(&ListRequest {
                prefix: prefix.into(),
                start_key: start.clone(),
                limit: 4,
                revision: snapshot,
            })
            .await
            .unwrap();
        pages += 1;
        assert_eq!(
            page.revision, snapshot,
            "a list at a revision reports that revision"
        );
        assert_eq!(
            page.count,
            10 - all.len() as i64,
            "count at the snapshot of the range from start_key"
        );
        all.extend(page.kvs.iter().cloned());
        if !page.more {
            break;
        }
        start = format!("{}\0", page.kvs.last().unwrap().key);
        assert!(pages < 10, "pagination does not end");
    }
    assert_eq!(
        all, originals,
        "the pages together are the snapshot at the first page's revision"
    );
    assert_eq!(pages, 3);

    // And the latest state has the writes.
    let latest = list_prefix(b, prefix, 0).await;
    assert_eq!(latest.revision, after_writes);
    assert_eq!(latest.kvs.len(), 10);
    assert!(keys(&latest.kvs).contains(&&*format!("{prefix}d04a")));
    assert!(!keys(&latest.kvs).contains(&names[6].as_str()));
}

/// A deterministic random history of creates, updates and deletes (and failed writes) on a few keys;
/// then every list and get at every revision must match the model of the store at that revision, and
/// a watch from the start must replay exactly the model's events.
async fn history_reads_match_model(b: &dyn Backend) {
    let prefix = "/registry/h/";
    let names: Vec<String> = (0..5).map(|i| format!("{prefix}key{i}")).collect();
    let mut rng = Rng::new(0x5eed_1234);
    let r0 = current(b).await;
    let mut model: Snapshot = BTreeMap::new();
    let mut snapshots: Vec<(Revision, Snapshot)> = vec![(r0, model.clone())];
    let mut expected_events = Vec::new();
    let mut rev = r0;
    for step in 0..80 {
        let name = &names[rng.below(names.len() as u64) as usize];
        let value = format!("{name}#{step}");
        let existing = model.get(name).cloned();
        match (existing, rng.below(6)) {
            (None, 0) => {
                assert_not_found(b.update(name, val(&value), rev, None).await, name);
                assert_not_found(b.delete(name, None).await, name);
                continue;
            }
            (None, _) => {
                let r = b.create(name, val(&value), None).await.unwrap();
                assert_eq!(r, rev + 1);
                rev = r;
                let new = kv(name, &value, r, r, 1);
                expected_events.push(Event::Created(new.clone()));
                model.insert(name.clone(), new);
            }
            (Some(old), 0) => {
                assert_already_exists(b.create(name, val(&value), None).await, name);
                assert_conflict(
                    b.update(name, val(&value), old.mod_revision - 1, None)
                        .await,
                    old.mod_revision - 1,
                    &old,
                );
                continue;
            }
            (Some(old), 1..=3) => {
                let r = b
                    .update(name, val(&value), old.mod_revision, None)
                    .await
                    .unwrap();
                assert_eq!(r, rev + 1);
                rev = r;
                let new = kv(name, &value, old.create_revision, r, old.version + 1);
                expected_events.push(Event::Updated {
                    kv: new.clone(),
                    prev: old,
                });
                model.insert(name.clone(), new);
            }
            (Some(old), n) => {
                let expected = (n == 4).then_some(old.mod_revision);
                let (r, prev) = b.delete(name, expected).await.unwrap();
                assert_eq!(r, rev + 1);
                assert_eq!(prev, old);
                rev = r;
                expected_events.push(Event::Deleted {
                    revision: r,
                    prev: old,
                });
                model.remove(name);
            }
        }
        snapshots.push((rev, model.clone()));
    }
    assert_eq!(current(b).await, rev, "failed writes consumed no revision");

    for (at, snap) in &snapshots {
        if *at == 0 {
            continue; // 0 means "latest" in a request
        }
        let resp = list_prefix(b, prefix, *at).await;
        assert_eq!(resp.revision, *at);
        assert_eq!(
            resp.kvs,
            snap.values().cloned().collect::<Vec<_>>(),
            "list at {at}"
        );
        assert_eq!(resp.count, snap.len() as i64);
        assert!(!resp.more);
        let limited = b
            .list(&ListRequest {
                prefix: prefix.into(),
                limit: 2,
                revision: *at,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(
            limited.kvs,
            snap.values().take(2).cloned().collect::<Vec<_>>()
        );
        assert_eq!(limited.more, snap.len() > 2, "more at {at}");
        assert_eq!(limited.count, snap.len() as i64, "count at {at}");
        for name in &names {
            let (r, got) = b.get(name, *at).await.unwrap();
            assert_eq!(r, *at, "get at a revision reports that revision");
            assert_eq!(got.as_ref(), snap.get(name), "get {name} at {at}");
        }
    }

    // A watch from the first write replays the model's events in order, with prev values.
    let mut w = CheckedWatch::start(b, prefix, r0 + 1).await;
    let got = w.events(expected_events.len()).await;
    assert_eq!(got, expected_events, "watch replay matches the history");
    // From the middle too.
    let mid = expected_events[expected_events.len() / 2].revision();
    let mut w = CheckedWatch::start(b, prefix, mid).await;
    let tail: Vec<Event> = expected_events
        .iter()
        .filter(|e| e.revision() >= mid)
        .cloned()
        .collect();
    assert_eq!(w.events(tail.len()).await, tail);
}

async fn future_revision(b: &dyn Backend) {
    b.create("/registry/a/x", val("x"), None).await.unwrap();
    let cur = current(b).await;
    assert_future(b.get("/registry/a/x", cur + 1).await, cur + 1);
    assert_future(b.get("/registry/a/x", cur + 1000).await, cur + 1000);
    assert_future(
        b.list(&ListRequest {
            prefix: "/registry/a/".into(),
            revision: cur + 1,
            ..Default::default()
        })
        .await,
        cur + 1,
    );
    // The current revision itself is readable.
    assert_eq!(b.get("/registry/a/x", cur).await.unwrap().0, cur);
    assert_eq!(list_prefix(b, "/registry/a/", cur).await.kvs.len(), 1);
    assert_eq!(current(b).await, cur);
}

async fn get_at_past_revision(b: &dyn Backend) {
    let key = "/registry/nodes/n1";
    let later = "/registry/nodes/n2";
    let r1 = b.create(key, val("old"), None).await.unwrap();
    let r2 = b.update(key, val("new"), r1, None).await.unwrap();
    let r3 = b.create(later, val("l"), None).await.unwrap();
    assert_eq!(
        b.get(key, r1).await.unwrap(),
        (r1, Some(kv(key, "old", r1, r1, 1)))
    );
    assert_eq!(
        b.get(key, r2).await.unwrap(),
        (r2, Some(kv(key, "new", r1, r2, 2)))
    );
    assert_eq!(
        b.get(key, r3).await.unwrap(),
        (r3, Some(kv(key, "new", r1, r2, 2)))
    );
    assert_eq!(
        b.get(later, r2).await.unwrap(),
        (r2, None),
        "a key created later is absent"
    );
    assert_eq!(b.get(later, r1).await.unwrap(), (r1, None));
    assert_eq!(
        b.get(later, r3).await.unwrap(),
        (r3, Some(kv(later, "l", r3, r3, 1)))
    );
    let (r4, _) = b.delete(key, None).await.unwrap();
    assert_eq!(b.get(key, r4).await.unwrap(), (r4, None));
    assert_eq!(
        b.get(key, r3).await.unwrap().1,
        Some(kv(key, "new", r1, r2, 2))
    );
    let past = list_prefix(b, "/registry/nodes/", r1).await;
    assert_eq!(past.kvs, vec![kv(key, "old", r1, r1, 1)]);
    assert_eq!(past.revision, r1);
}

// ---------------------------------------------------------------------------------------------------
// Cases: watch (invariant 6)
// ---------------------------------------------------------------------------------------------------

async fn watch_replays_history_then_live(b: &dyn Backend) {
    let prefix = "/registry/pods/";
    let a = "/registry/pods/ns/a";
    let c = "/registry/pods/ns/c";
    let r1 = b.create(a, val("a1"), None).await.unwrap();
    let r2 = b.update(a, val("a2"), r1, None).await.unwrap();
    b.create("/registry/services/ns/s", val("s"), None)
        .await
        .unwrap();
    let (r4, _) = b.delete(a, None).await.unwrap();
    let r5 = b.create(c, val("c1"), None).await.unwrap();

    let mut w = CheckedWatch::start(b, prefix, r1).await;
    let got = w.events(4).await;
    assert_eq!(
        got,
        vec![
            Event::Created(kv(a, "a1", r1, r1, 1)),
            Event::Updated {
                kv: kv(a, "a2", r1, r2, 2),
                prev: kv(a, "a1", r1, r1, 1)
            },
            Event::Deleted {
                revision: r4,
                prev: kv(a, "a2", r1, r2, 2)
            },
            Event::Created(kv(c, "c1", r5, r5, 1)),
        ]
    );

    // Then live changes.
    let r6 = b.update(c, val("c2"), r5, None).await.unwrap();
    let r7 = b.create(a, val("a-again"), None).await.unwrap();
    let (r8, _) = b.delete(c, Some(r6)).await.unwrap();
    let got = w.events(3).await;
    assert_eq!(
        got,
        vec![
            Event::Updated {
                kv: kv(c, "c2", r5, r6, 2),
                prev: kv(c, "c1", r5, r5, 1)
            },
            Event::Created(kv(a, "a-again", r7, r7, 1)),
            Event::Deleted {
                revision: r8,
                prev: kv(c, "c2", r5, r6, 2)
            },
        ]
    );
    assert_eq!(got.last().unwrap().key(), c);

    // A watch from the middle of the history starts exactly there.
    let mut w = CheckedWatch::start(b, prefix, r2).await;
    let got = w.events_until(r8).await;
    let revs: Vec<Revision> = got.iter().map(Event::revision).collect();
    assert_eq!(revs, vec![r2, r4, r5, r6, r7, r8]);

    // A watch from the next revision (what a client does after a list) sees only later writes.
    let next = current(b).await + 1;
    let mut w = CheckedWatch::start(b, prefix, next).await;
    let r9 = b.update(a, val("a-live"), r7, None).await.unwrap();
    assert_eq!(r9, next);
    assert_eq!(
        w.events(1).await,
        vec![Event::Updated {
            kv: kv(a, "a-live", r7, r9, 2),
            prev: kv(a, "a-again", r7, r7, 1)
        }]
    );
}

async fn watch_from_zero_sees_only_later_changes(b: &dyn Backend) {
    let prefix = "/registry/secrets/";
    let a = "/registry/secrets/ns/a";
    let r1 = b.create(a, val("before"), None).await.unwrap();
    let mut w = CheckedWatch::start(b, prefix, 0).await;
    // Writes right after the watch call returns must be seen: the watch is established by then.
    let r2 = b.update(a, val("after"), r1, None).await.unwrap();
    let r3 = b
        .create("/registry/secrets/ns/b", val("b"), None)
        .await
        .unwrap();
    let got = w.events(2).await;
    assert_eq!(
        got,
        vec![
            Event::Updated {
                kv: kv(a, "after", r1, r2, 2),
                prev: kv(a, "before", r1, r1, 1)
            },
            Event::Created(kv("/registry/secrets/ns/b", "b", r3, r3, 1)),
        ]
    );
    // A second start-0 watch opened later does not replay those.
    let mut w2 = CheckedWatch::start(b, prefix, 0).await;
    let (r4, _) = b.delete(a, None).await.unwrap();
    let got = w2.events(1).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].revision(), r4);
    assert_eq!(w.events(1).await[0].revision(), r4);
}

async fn watch_prefix_filtering(b: &dyn Backend) {
    let prefix = "/registry/pods/";
    let mut w = CheckedWatch::start(b, prefix, 0).await;
    let mut w_all = CheckedWatch::start(b, "/registry/", 0).await;
    let mut w_ns = CheckedWatch::start(b, "/registry/pods/ns1/", 0).await;
    for key in [
        "/registry/podsx/ns/a",
        "/registry/pods",
        "/registry/pod",
        "/registry/services/ns/a",
        "/registry/pods0",
        "/registry/pods/ns2/a",
        "/registry/pods/ns1/a",
    ] {
        b.create(key, val("v"), None).await.unwrap();
    }
    let sentinel = b
        .create("/registry/pods/ns1/zz", val("end"), None)
        .await
        .unwrap();
    let got = w.events_until(sentinel).await;
    assert_eq!(
        got.iter().map(Event::key).collect::<Vec<_>>(),
        vec![
            "/registry/pods/ns2/a",
            "/registry/pods/ns1/a",
            "/registry/pods/ns1/zz"
        ]
    );
    let got = w_ns.events_until(sentinel).await;
    assert_eq!(
        got.iter().map(Event::key).collect::<Vec<_>>(),
        vec!["/registry/pods/ns1/a", "/registry/pods/ns1/zz"]
    );
    let got = w_all.events_until(sentinel).await;
    assert_eq!(got.len(), 8);
}

async fn watch_ordering_under_concurrent_writers(b: &dyn Backend) {
    const WRITERS: usize = 8;
    const WRITES: usize = 200;
    let prefix = "/registry/leases/";
    let start = current(b).await + 1;
    let mut w = CheckedWatch::start(b, prefix, start).await;

    // Each writer owns a few keys and creates, updates and deletes them; the noise writers write
    // next to the prefix. Every write records (revision, key, kind).
    let writer = |id: usize, prefix: &'static str| async move {
        let mut rng = Rng::new(id as u64 * 7919 + 1);
        let mut live: HashMap<String, Revision> = HashMap::new();
        let mut out = Vec::with_capacity(WRITES);
        for i in 0..WRITES {
            let key = format!("{prefix}w{id}/k{}", rng.below(4));
            let entry = live.get(&key).copied();
            let (rev, kind) = match entry {
                None => (
                    b.create(&key, val(&format!("{i}")), None).await.unwrap(),
                    'C',
                ),
                Some(m) if rng.below(4) == 0 => {
                    let (r, _) = b.delete(&key, Some(m)).await.unwrap();
                    (r, 'D')
                }
                Some(m) => (
                    b.update(&key, val(&format!("{i}")), m, None).await.unwrap(),
                    'U',
                ),
            };
            if kind == 'D' {
                live.remove(&key);
            } else {
                live.insert(key.clone(), rev);
            }
            out.push((rev, key, kind));
        }
        out
    };
    let mut tasks = Vec::new();
    for id in 0..WRITERS {
        tasks.push(writer(id, "/registry/leases/"));
    }
    let noise = futures::future::join(
        writer(100, "/registry/leasesx/"),
        writer(101, "/registry/lease/"),
    );
    let (writes, _) = futures::future::join(futures::future::join_all(tasks), noise).await;

    let mut expected: BTreeMap<Revision, (String, char)> = BTreeMap::new();
    for (rev, key, kind) in writes.into_iter().flatten() {
        assert!(
            expected.insert(rev, (key, kind)).is_none(),
            "revision {rev} returned twice"
        );
    }
    assert_eq!(expected.len(), WRITERS * WRITES);
    let last = *expected.keys().next_back().unwrap();

    let got = w.events_until(last).await;
    let got_revs: Vec<Revision> = got.iter().map(Event::revision).collect();
    let want_revs: Vec<Revision> = expected.keys().copied().collect();
    if got_revs != want_revs {
        let got_set: BTreeSet<Revision> = got_revs.iter().copied().collect();
        let want_set: BTreeSet<Revision> = want_revs.iter().copied().collect();
        let missing: Vec<_> = want_set.difference(&got_set).take(20).collect();
        let extra: Vec<_> = got_set.difference(&want_set).take(20).collect();
        panic!(
            "watch saw {} events, writers made {}; missing (first 20): {missing:?}; extra: {extra:?}",
            got_revs.len(),
            want_revs.len()
        );
    }
    // Each event is the write its revision was returned for, and prev links up per key.
    let mut last_rev_of: HashMap<String, Revision> = HashMap::new();
    for event in &got {
        let (key, kind) = &expected[&event.revision()];
        assert_eq!(event.key(), key);
        match (event, kind) {
            (Event::Created(_), 'C') => {}
            (Event::Updated { prev, .. }, 'U') | (Event::Deleted { prev, .. }, 'D') => {
                assert_eq!(
                    Some(&prev.mod_revision),
                    last_rev_of.get(key),
                    "prev of {event:?}"
                );
            }
            _ => panic!("event {event:?} is not the {kind} the writer made"),
        }
        last_rev_of.insert(key.clone(), event.revision());
    }
}

async fn watch_progress_on_idle_watch(b: &dyn Backend) {
    let prefix = "/registry/events/";
    b.create("/registry/events/ns/e", val("e"), None)
        .await
        .unwrap();
    let mut w = CheckedWatch::start(b, prefix, 0).await;
    // Writes outside the prefix move the revision; the idle watch must still report progress past
    // them.
    for i in 0..5 {
        b.create(&format!("/registry/other/{i}"), val("o"), None)
            .await
            .unwrap();
    }
    let cur = current(b).await;
    let (events, r) = w.progress(cur).await;
    assert!(
        events.is_empty(),
        "an idle watch yielded events: {events:?}"
    );
    assert!(r >= cur, "Progress({r}) below the current revision {cur}");
    // Asking again works too.
    b.create("/registry/other/again", val("o"), None)
        .await
        .unwrap();
    let cur = current(b).await;
    let (events, r) = w.progress(cur).await;
    assert!(events.is_empty());
    assert!(r >= cur);
}

async fn watch_progress_after_events(b: &dyn Backend) {
    let prefix = "/registry/jobs/";
    let r1 = b
        .create("/registry/jobs/ns/j", val("1"), None)
        .await
        .unwrap();
    let r2 = b
        .update("/registry/jobs/ns/j", val("2"), r1, None)
        .await
        .unwrap();
    b.create("/registry/other/x", val("x"), None).await.unwrap();
    let cur = current(b).await;
    let mut w = CheckedWatch::start(b, prefix, r1).await;
    // Progress at the current revision implies both events were delivered first.
    let (events, r) = w.progress(cur).await;
    assert_eq!(
        events.iter().map(Event::revision).collect::<Vec<_>>(),
        vec![r1, r2]
    );
    assert!(r >= cur);
}

// ---------------------------------------------------------------------------------------------------
// Cases: compaction (invariant 7)
// ---------------------------------------------------------------------------------------------------

async fn compaction(b: &dyn Backend) {
    let prefix = "/registry/c/";
    let a = "/registry/c/a";
    let bb = "/registry/c/b";
    let r1 = b.create(a, val("a1"), None).await.unwrap();
    let r2 = b.update(a, val("a2"), r1, None).await.unwrap();
    let r3 = b.create(bb, val("b1"), None).await.unwrap();
    let r4 = b.update(bb, val("b2"), r3, None).await.unwrap();
    let before = b.compacted_revision().await.unwrap();
    assert!(before < r3);

    b.compact(r3).await.unwrap();
    assert_eq!(
        b.compacted_revision().await.unwrap(),
        r3,
        "compacted_revision reports c"
    );
    assert_eq!(current(b).await, r4, "compaction is not a write");

    // Below c: Compacted.
    assert_compacted(b.get(a, r2).await, r2, r3);
    assert_compacted(b.get(a, r1).await, r1, r3);
    assert_compacted(
        b.list(&ListRequest {
            prefix: prefix.into(),
            revision: r2,
            ..Default::default()
        })
        .await,
        r2,
        r3,
    );
    // At and above c: still readable, including the latest value of a key last written before c.
    assert_eq!(
        b.get(a, r3).await.unwrap(),
        (r3, Some(kv(a, "a2", r1, r2, 2)))
    );
    assert_eq!(
        b.get(bb, r3).await.unwrap(),
        (r3, Some(kv(bb, "b1", r3, r3, 1)))
    );
    let at_c = list_prefix(b, prefix, r3).await;
    assert_eq!(
        at_c.kvs,
        vec![kv(a, "a2", r1, r2, 2), kv(bb, "b1", r3, r3, 1)]
    );
    assert_eq!(at_c.revision, r3);
    let latest = list_prefix(b, prefix, 0).await;
    assert_eq!(
        latest.kvs,
        vec![kv(a, "a2", r1, r2, 2), kv(bb, "b2", r3, r4, 2)]
    );

    // A watch from c replays from c on, with prev values that predate c.
    let mut w = CheckedWatch::start(b, prefix, r3).await;
    let r5 = b.update(a, val("a3"), r2, None).await.unwrap();
    let got = w.events(3).await;
    assert_eq!(
        got,
        vec![
            Event::Created(kv(bb, "b1", r3, r3, 1)),
            Event::Updated {
                kv: kv(bb, "b2", r3, r4, 2),
                prev: kv(bb, "b1", r3, r3, 1)
            },
            Event::Updated {
                kv: kv(a, "a3", r1, r5, 3),
                prev: kv(a, "a2", r1, r2, 2)
            },
        ]
    );

    // Compacting again at or below c fails with Compacted; beyond the current revision fails.
    assert_compacted(b.compact(r3).await, r3, r3);
    assert_compacted(b.compact(r2).await, r2, r3);
    match b.compact(r5 + 10).await {
        Err(StorageError::FutureRevision { .. } | StorageError::InvalidRequest(_)) => {}
        other => panic!("compacting a future revision: expected FutureRevision, got {other:?}"),
    }
    assert_eq!(b.compacted_revision().await.unwrap(), r3);

    // Compacting to the current revision leaves the latest state intact.
    b.compact(r5).await.unwrap();
    assert_eq!(b.compacted_revision().await.unwrap(), r5);
    assert_eq!(list_prefix(b, prefix, 0).await.kvs.len(), 2);
    assert_eq!(b.get(a, r5).await.unwrap().1, Some(kv(a, "a3", r1, r5, 3)));
    assert_compacted(b.get(a, r4).await, r4, r5);
    // And writes go on from there.
    assert_eq!(
        b.create("/registry/c/new", val("n"), None).await.unwrap(),
        r5 + 1
    );
}

async fn compacted_watch_fails_and_ends(b: &dyn Backend) {
    let prefix = "/registry/w/";
    let r1 = b.create("/registry/w/a", val("1"), None).await.unwrap();
    let r2 = b.update("/registry/w/a", val("2"), r1, None).await.unwrap();
    // The write at c is a create: the previous value of an update at exactly c is compacted away on
    // etcd (it keeps only the latest revision <= c of each key), so such an event cannot carry its
    // prev there; the contract cannot promise it.
    let r3 = b.create("/registry/w/b", val("b"), None).await.unwrap();
    b.compact(r3).await.unwrap();

    // The watch call itself may fail, or the stream yields Err(Compacted) and ends.
    match b.watch(prefix, r2).await {
        Err(StorageError::Compacted {
            requested,
            compacted,
        }) => {
            assert_eq!((requested, compacted), (r2, r3));
        }
        Err(e) => panic!("watch from a compacted revision: expected Compacted, got {e}"),
        Ok(mut w) => {
            let first = timeout(STREAM_TIMEOUT, w.next())
                .await
                .expect("watch stalled");
            match first {
                Some(Err(StorageError::Compacted {
                    requested,
                    compacted,
                })) => {
                    assert_eq!(requested, r2);
                    assert_eq!(compacted, r3);
                }
                other => {
                    panic!("watch from a compacted revision yielded {other:?}, not Err(Compacted)")
                }
            }
            let after = timeout(STREAM_TIMEOUT, w.next())
                .await
                .expect("watch did not end");
            assert!(
                after.is_none(),
                "the watch goes on after Compacted: {after:?}"
            );
        }
    }
    // A watch from c works.
    let mut w = CheckedWatch::start(b, prefix, r3).await;
    assert_eq!(
        w.events(1).await,
        vec![Event::Created(kv("/registry/w/b", "b", r3, r3, 1))]
    );
    // An update whose prev is the latest value below c still carries it.
    let r4 = b.update("/registry/w/a", val("3"), r2, None).await.unwrap();
    assert_eq!(
        w.events(1).await,
        vec![Event::Updated {
            kv: kv("/registry/w/a", "3", r1, r4, 3),
            prev: kv("/registry/w/a", "2", r1, r2, 2)
        }]
    );
}

// ---------------------------------------------------------------------------------------------------
// Cases: TTL (invariant 10)
// ---------------------------------------------------------------------------------------------------

/// Wait until `key` is gone, at most `limit`.
async fn wait_gone(b: &dyn Backend, key: &str, limit: Duration) -> Duration {
    let start = Instant::now();
    loop {
        if b.get(key, 0).await.unwrap().1.is_none() {
            return start.elapsed();
        }
        assert!(start.elapsed() < limit, "{key} still there after {limit:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn ttl_expiry_is_a_watched_delete(b: &dyn Backend) {
    let prefix = "/registry/events/";
    let key = "/registry/events/ns/ev";
    let keep = "/registry/events/ns/keep";
    let rk = b.create(keep, val("keep"), None).await.unwrap();
    let start = current(b).await + 1;
    let mut w = CheckedWatch::start(b, prefix, start).await;
    let created = Instant::now();
    let r1 = b
        .create(key, val("short-lived"), Some(Duration::from_secs(1)))
        .await
        .unwrap();
    assert_eq!(r1, start);
    assert_eq!(
        get_latest(b, key).await,
        Some(kv(key, "short-lived", r1, r1, 1)),
        "present at first"
    );

    let waited = wait_gone(b, key, Duration::from_secs(8)).await;
    let elapsed = created.elapsed();
    assert!(
        elapsed >= Duration::from_millis(900),
        "expired after {elapsed:?}, before its 1 s TTL"
    );
    let _ = waited;
    // The expiry is a normal delete revision, seen by the watch.
    let got = w.events(2).await;
    assert_eq!(got[0], Event::Created(kv(key, "short-lived", r1, r1, 1)));
    match &got[1] {
        Event::Deleted { revision, prev } => {
            assert_eq!(
                *revision,
                r1 + 1,
                "the expiry consumed exactly the next revision"
            );
            assert_eq!(*prev, kv(key, "short-lived", r1, r1, 1));
        }
        other => panic!("expected the TTL delete, got {other:?}"),
    }
    assert_eq!(got.len(), 2);
    assert_eq!(current(b).await, r1 + 1);
    // Other keys are untouched; the key can be created again.
    assert_eq!(get_latest(b, keep).await, Some(kv(keep, "keep", rk, rk, 1)));
    assert_eq!(b.create(key, val("again"), None).await.unwrap(), r1 + 2);
}

async fn update_without_ttl_clears_it(b: &dyn Backend) {
    let cleared = "/registry/leases/ns/cleared";
    let renewed = "/registry/leases/ns/renewed";
    let r1 = b
        .create(cleared, val("1"), Some(Duration::from_secs(1)))
        .await
        .unwrap();
    let r2 = b.update(cleared, val("2"), r1, None).await.unwrap();
    // An update with a new TTL replaces the old one.
    let r3 = b
        .create(renewed, val("1"), Some(Duration::from_secs(1)))
        .await
        .unwrap();
    let r4 = b
        .update(renewed, val("2"), r3, Some(Duration::from_secs(30)))
        .await
        .unwrap();
    // Well past the 1 s TTL (etcd rounds short leases up to 2 s) and its expiry delay.
    tokio::time::sleep(Duration::from_millis(4500)).await;
    assert_eq!(
        get_latest(b, cleared).await,
        Some(kv(cleared, "2", r1, r2, 2)),
        "TTL cleared"
    );
    assert_eq!(
        get_latest(b, renewed).await,
        Some(kv(renewed, "2", r3, r4, 2)),
        "TTL replaced"
    );
    assert_eq!(current(b).await, r4, "no expiry happened");
    // A TTL set by an update expires.
    let r5 = b
        .update(cleared, val("3"), r2, Some(Duration::from_secs(1)))
        .await
        .unwrap();
    wait_gone(b, cleared, Duration::from_secs(8)).await;
    assert_eq!(current(b).await, r5 + 1);
}

// ---------------------------------------------------------------------------------------------------
// Cases: bad input, metrics
// ---------------------------------------------------------------------------------------------------

async fn invalid_requests(b: &dyn Backend) {
    let r0 = current(b).await;
    assert_invalid(b.create("", val("x"), None).await, "create of an empty key");
    assert_invalid(
        b.update("", val("x"), 1, None).await,
        "update of an empty key",
    );
    assert_invalid(b.delete("", None).await, "delete of an empty key");
    assert_invalid(b.get("", 0).await, "get of an empty key");
    assert_invalid(
        b.list(&ListRequest {
            prefix: "/registry/pods/".into(),
            start_key: "/registry/apps/x".into(),
            ..Default::default()
        })
        .await,
        "start_key before the prefix",
    );
    assert_invalid(
        b.list(&ListRequest {
            prefix: "/registry/pods/".into(),
            start_key: "/registry/podsz".into(),
            ..Default::default()
        })
        .await,
        "start_key after the prefix",
    );
    assert_eq!(current(b).await, r0, "invalid requests write nothing");
    // start_key equal to the prefix is fine.
    b.create("/registry/pods/ns/a", val("a"), None)
        .await
        .unwrap();
    let r = b
        .list(&ListRequest {
            prefix: "/registry/pods/".into(),
            start_key: "/registry/pods/".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(r.kvs.len(), 1);
}

async fn size_on_disk_reports_bytes(b: &dyn Backend) {
    for i in 0..20 {
        b.create(
            &format!("/registry/s/{i}"),
            Bytes::from(vec![b'x'; 4096]),
            None,
        )
        .await
        .unwrap();
    }
    let size = b.size_on_disk().await.unwrap();
    assert!(size > 0, "size_on_disk is {size} after 80 KiB of writes");
}

// ---------------------------------------------------------------------------------------------------
// Cases: reopen (invariant 8 across a clean restart)
// ---------------------------------------------------------------------------------------------------

async fn reopen_keeps_state_and_history(f: &mut Fixture) {
    let prefix = "/registry/r/";
    let b = f.backend();
    let r0 = current(b).await;
    let mut expected_events = Vec::new();
    let ra = b.create("/registry/r/a", val("a1"), None).await.unwrap();
    expected_events.push(Event::Created(kv("/registry/r/a", "a1", ra, ra, 1)));
    let rb = b.create("/registry/r/b", val("b1"), None).await.unwrap();
    expected_events.push(Event::Created(kv("/registry/r/b", "b1", rb, rb, 1)));
    let ra2 = b
        .update("/registry/r/a", val("a2"), ra, None)
        .await
        .unwrap();
    expected_events.push(Event::Updated {
        kv: kv("/registry/r/a", "a2", ra, ra2, 2),
        prev: kv("/registry/r/a", "a1", ra, ra, 1),
    });
    let (rbd, _) = b.delete("/registry/r/b", None).await.unwrap();
    expected_events.push(Event::Deleted {
        revision: rbd,
        prev: kv("/registry/r/b", "b1", rb, rb, 1),
    });
    let rc = b.create("/registry/r/c", val("c1"), None).await.unwrap();
    expected_events.push(Event::Created(kv("/registry/r/c", "c1", rc, rc, 1)));
    b.compact(rb).await.unwrap();
    let rt = b
        .create("/registry/r/ttl", val("t"), Some(Duration::from_secs(2)))
        .await
        .unwrap();
    let before = list_prefix(b, prefix, 0).await;
    let history_at_ra2 = list_prefix(b, prefix, ra2).await;
    assert_eq!(before.revision, rt);
    assert_eq!(r0 + 6, rt);

    f.reopen().await;
    let b = f.backend();

    assert_eq!(current(b).await, rt, "the revision survives a restart");
    assert_eq!(
        b.compacted_revision().await.unwrap(),
        rb,
        "the compaction survives a restart"
    );
    let after = list_prefix(b, prefix, rt).await;
    assert_eq!(after.kvs, before.kvs, "the state survives a restart");
    assert_eq!(
        list_prefix(b, prefix, ra2).await.kvs,
        history_at_ra2.kvs,
        "history too"
    );
    assert_compacted(b.get("/registry/r/a", ra).await, ra, rb);
    let mut w = CheckedWatch::start(b, prefix, rb).await;
    let got = w.events_until(rt).await;
    let want: Vec<Event> = expected_events
        .into_iter()
        .filter(|e| e.revision() >= rb)
        .collect();
    assert_eq!(got[..want.len()], want[..], "watch replay after a restart");
    assert_eq!(got.len(), want.len() + 1);
    // New writes continue the revision sequence.
    let rn = b.create("/registry/r/new", val("n"), None).await.unwrap();
    assert_eq!(rn, rt + 1);
    // The TTL survives the restart: the key still expires.
    wait_gone(b, "/registry/r/ttl", Duration::from_secs(10)).await;
    assert!(matches!(
        w.events(2).await[..],
        [Event::Created(_), Event::Deleted { .. }]
    ));
}

// ---------------------------------------------------------------------------------------------------
// Cases: harder watch and read scenarios
// ---------------------------------------------------------------------------------------------------

/// `tasks` concurrent writers, `per_task` writes each, every write under `prefix` (create, update or
/// delete of the task's own keys, with `value_len`-byte values); returns the revision of every write.
async fn write_load(
    b: &dyn Backend,
    prefix: &str,
    tasks: usize,
    per_task: usize,
    value_len: usize,
    done: Option<&std::sync::atomic::AtomicUsize>,
) -> BTreeSet<Revision> {
    let writer = |id: usize| async move {
        let mut rng = Rng::new(id as u64 * 104_729 + 17);
        let mut live: HashMap<String, Revision> = HashMap::new();
        let mut revs = Vec::with_capacity(per_task);
        let value = Bytes::from(vec![b'v'; value_len]);
        for _ in 0..per_task {
            let key = format!("{prefix}t{id}/k{}", rng.below(5));
            let (rev, deleted) = match live.get(&key).copied() {
                None => (b.create(&key, value.clone(), None).await.unwrap(), false),
                Some(m) if rng.below(5) == 0 => (b.delete(&key, Some(m)).await.unwrap().0, true),
                Some(m) => (b.update(&key, value.clone(), m, None).await.unwrap(), false),
            };
            if deleted {
                live.remove(&key);
            } else {
                live.insert(key, rev);
            }
            revs.push(rev);
            if let Some(done) = done {
                done.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
        }
        revs
    };
    let all = futures::future::join_all((0..tasks).map(writer)).await;
    let set: BTreeSet<Revision> = all.into_iter().flatten().collect();
    assert_eq!(
        set.len(),
        tasks * per_task,
        "every write got its own revision"
    );
    set
}

#[track_caller]
fn assert_revisions(got: &[Event], want: &BTreeSet<Revision>, what: &str) {
    let got_set: BTreeSet<Revision> = got.iter().map(Event::revision).collect();
    assert_eq!(got_set.len(), got.len(), "{what}: duplicate events");
    if got_set != *want {
        let missing: Vec<_> = want.difference(&got_set).take(10).collect();
        let extra: Vec<_> = got_set.difference(want).take(10).collect();
        panic!(
            "{what}: {} events for {} writes; missing (first 10): {missing:?}; extra: {extra:?}",
            got.len(),
            want.len()
        );
    }
}

async fn watch_from_future_revision(b: &dyn Backend) {
    let prefix = "/registry/future/";
    let start = current(b).await + 3;
    let mut w = CheckedWatch::start(b, prefix, start).await;
    let mut revs = Vec::new();
    for i in 0..5 {
        revs.push(
            b.create(&format!("{prefix}k{i}"), val("v"), None)
                .await
                .unwrap(),
        );
    }
    let got = w.events_until(revs[4]).await;
    assert_eq!(
        got.iter().map(Event::revision).collect::<Vec<_>>(),
        revs[2..].to_vec(),
        "a watch from a future revision starts there"
    );
}

/// A watcher that reads nothing while thousands of writes happen still gets every one of them.
async fn slow_watcher_misses_nothing(b: &dyn Backend) {
    let prefix = "/registry/slow/";
    let start = current(b).await + 1;
    let mut w = CheckedWatch::start(b, prefix, start).await;
    let want = write_load(b, prefix, 8, 400, 1024, None).await;
    let got = w.events_until(*want.last().unwrap()).await;
    assert_revisions(&got, &want, "slow watcher");
}

/// A watcher that falls behind a compaction either still gets every event (it had them already) or
/// fails with Compacted and ends; it never skips events.
async fn slow_watcher_and_compaction(b: &dyn Backend) {
    let prefix = "/registry/slowc/";
    let start = current(b).await + 1;
    let mut w = CheckedWatch::start(b, prefix, start).await;
    let want = write_load(b, prefix, 4, 300, 256, None).await;
    let last = *want.last().unwrap();
    b.compact(last).await.unwrap();
    let more = b
        .create(&format!("{prefix}after"), val("a"), None)
        .await
        .unwrap();
    let mut got: Vec<Event> = Vec::new();
    let mut failed = false;
    loop {
        match w.next().await {
            Some(Ok(WatchResponse::Events(evs))) => {
                got.extend(evs);
                if got.last().is_some_and(|e| e.revision() >= more) {
                    break;
                }
            }
            Some(Ok(WatchResponse::Progress(_))) => {}
            Some(Err(StorageError::Compacted { compacted, .. })) => {
                assert_eq!(compacted, last, "Compacted reports the compaction revision");
                failed = true;
                break;
            }
            Some(Err(e)) => panic!("slow watcher failed with {e}, not Compacted"),
            None => panic!("slow watcher ended without an error"),
        }
    }
    // What was delivered is a gap-free prefix of the writes.
    let mut all = want.clone();
    all.insert(more);
    let expected_prefix: BTreeSet<Revision> = all.iter().copied().take(got.len()).collect();
    assert_revisions(
        &got,
        &expected_prefix,
        "slow watcher before the compaction error",
    );
    if failed {
        let after = timeout(STREAM_TIMEOUT, w.watch.next())
            .await
            .expect("the watch did not end after Compacted");
        assert!(
            after.is_none(),
            "the watch goes on after Compacted: {after:?}"
        );
    } else {
        assert_eq!(got.len(), all.len());
    }
}

/// Watches opened from an old revision while writes go on: the hand-over from replaying history to
/// live events loses and repeats nothing.
async fn watch_catch_up_while_writing(b: &dyn Backend) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let prefix = "/registry/catchup/";
    let start = current(b).await + 1;
    let before = write_load(b, &format!("{prefix}a/"), 4, 300, 128, None).await;
    let done = AtomicUsize::new(0);
    let (end_tx, end_rx) = tokio::sync::watch::channel(0);
    // Watchers open at different moments of the second load and read while it runs.
    let watcher = |open_after: usize| {
        let done = &done;
        let mut end_rx = end_rx.clone();
        async move {
            while done.load(Ordering::SeqCst) < open_after {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            let mut w = CheckedWatch::start(b, prefix, start).await;
            let mut got: Vec<Event> = Vec::new();
            loop {
                let end = *end_rx.borrow_and_update();
                if end > 0 && got.last().is_some_and(|e| e.revision() >= end) {
                    return got;
                }
                tokio::select! {
                    item = w.next() => match item {
                        Some(Ok(WatchResponse::Events(evs))) => got.extend(evs),
                        Some(Ok(WatchResponse::Progress(_))) => {}
                        Some(Err(e)) => panic!("catch-up watch failed: {e}"),
                        None => panic!("catch-up watch ended"),
                    },
                    _ = end_rx.changed() => {}
                }
            }
        }
    };
    let load = async {
        let during = write_load(b, &format!("{prefix}b/"), 8, 250, 128, Some(&done)).await;
        end_tx.send(*during.last().unwrap()).unwrap();
        during
    };
    let (during, watched) = futures::future::join(
        load,
        futures::future::join_all([0, 300, 1000, 1800].map(watcher)),
    )
    .await;
    let want: BTreeSet<Revision> = before.union(&during).copied().collect();
    for (i, got) in watched.iter().enumerate() {
        assert_revisions(got, &want, &format!("catch-up watcher {i}"));
    }
}

async fn many_watchers_and_dropped_watchers(b: &dyn Backend) {
    let prefix = "/registry/many/";
    let mut watches = Vec::new();
    for i in 0..40 {
        let p = if i % 4 == 0 { "/registry/" } else { prefix };
        watches.push(CheckedWatch::start(b, p, 0).await);
    }
    let first = b
        .create(&format!("{prefix}x"), val("1"), None)
        .await
        .unwrap();
    // Drop half of them, some after reading, some before.
    let mut kept = Vec::new();
    for (i, mut w) in watches.into_iter().enumerate() {
        match i % 4 {
            1 => drop(w),
            2 => {
                assert_eq!(w.events(1).await[0].revision(), first);
                drop(w);
            }
            _ => kept.push(w),
        }
    }
    let mut last = first;
    for i in 0..50 {
        last = b
            .create(&format!("{prefix}k{i}"), val("v"), None)
            .await
            .unwrap();
    }
    for w in &mut kept {
        let got = w.events_until(last).await;
        assert_eq!(got.len(), 51);
        assert_eq!(got[0].revision(), first);
    }
    // New watches still work after all that.
    let mut w = CheckedWatch::start(b, prefix, first).await;
    assert_eq!(w.events_until(last).await.len(), 51);
}

/// Lists and gets served while writers run are consistent snapshots: reading again at the revision
/// they reported gives the same answer.
async fn reads_under_concurrent_writes_are_snapshots(b: &dyn Backend) {
    use std::sync::atomic::{AtomicBool, Ordering};
    let prefix = "/registry/snap/";
    let stop = AtomicBool::new(false);
    let reader = async {
        let mut seen: Vec<ListResponse> = Vec::new();
        let mut gets: Vec<(Revision, String, Option<KeyValue>)> = Vec::new();
        while !stop.load(Ordering::SeqCst) {
            let r = list_prefix(b, prefix, 0).await;
            for kv in &r.kvs {
                assert!(
                    kv.mod_revision <= r.revision,
                    "list at {} saw {kv:?}",
                    r.revision
                );
            }
            assert_eq!(r.count, r.kvs.len() as i64);
            if let Some(kv) = r.kvs.first() {
                let (at, got) = b.get(&kv.key, 0).await.unwrap();
                assert!(
                    at >= r.revision,
                    "a later get is served at an older revision"
                );
                if let Some(g) = &got {
                    assert!(g.mod_revision <= at);
                }
                gets.push((at, kv.key.to_string(), got));
            }
            seen.push(r);
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        (seen, gets)
    };
    let writers = async {
        write_load(b, prefix, 6, 200, 64, None).await;
        stop.store(true, Ordering::SeqCst);
    };
    let ((seen, gets), ()) = futures::future::join(reader, writers).await;
    assert!(seen.len() > 3, "the reader ran during the writes");
    let mut last_rev = 0;
    for r in &seen {
        assert!(r.revision >= last_rev, "list revisions went backwards");
        last_rev = r.revision;
        if r.revision == 0 {
            continue; // an empty new store; 0 in a request means "latest"
        }
        let again = list_prefix(b, prefix, r.revision).await;
        assert_eq!(
            again.kvs, r.kvs,
            "a list at {} is not repeatable",
            r.revision
        );
    }
    for (at, key, got) in gets.into_iter().filter(|g| g.0 > 0) {
        assert_eq!(
            b.get(&key, at).await.unwrap().1,
            got,
            "get {key} at {at} is not repeatable"
        );
    }
}

/// A TTL belongs to one life of a key: deleting the key and creating it again (without a TTL, or
/// with a longer one) must not let the old TTL delete the new key.
async fn ttl_does_not_outlive_its_key(b: &dyn Backend) {
    let plain = "/registry/ttl/recreated-plain";
    let longer = "/registry/ttl/recreated-longer";
    let cas = "/registry/ttl/deleted-conditionally";
    let r = b
        .create(plain, val("1"), Some(Duration::from_secs(1)))
        .await
        .unwrap();
    b.delete(plain, None).await.unwrap();
    let rp = b.create(plain, val("2"), None).await.unwrap();
    let r2 = b
        .create(longer, val("1"), Some(Duration::from_secs(1)))
        .await
        .unwrap();
    b.delete(longer, Some(r2)).await.unwrap();
    let rl = b
        .create(longer, val("2"), Some(Duration::from_secs(60)))
        .await
        .unwrap();
    let r3 = b
        .create(cas, val("1"), Some(Duration::from_secs(1)))
        .await
        .unwrap();
    b.delete(cas, Some(r3)).await.unwrap();
    let cur = current(b).await;
    assert!(r < rp && rp < rl && rl < cur);
    tokio::time::sleep(Duration::from_millis(4500)).await;
    assert_eq!(get_latest(b, plain).await, Some(kv(plain, "2", rp, rp, 1)));
    assert_eq!(
        get_latest(b, longer).await,
        Some(kv(longer, "2", rl, rl, 1))
    );
    assert_eq!(get_latest(b, cas).await, None);
    assert_eq!(
        current(b).await,
        cur,
        "no expiry of a key that was already deleted"
    );
}
