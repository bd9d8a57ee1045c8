//! The store's shared state and the work around it: the write path, reads, the commit thread (group
//! commit), compaction, the maintenance thread (snapshots, automatic compaction), TTL expiry and
//! recovery at open.
//!
//! Locks, in the order they may nest: `compaction` (serializes compactions; held across a whole
//! compaction but never by writers) -> `state` (short critical sections only: no I/O, no O(n) work)
//! -> `ring` / `segments` / `failure`. The commit thread does its I/O holding none of them.

use std::{
    collections::BTreeSet,
    ops::Bound,
    path::{Path, PathBuf},
    sync::{
        Arc, Condvar, Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard,
        atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering},
        mpsc,
    },
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use bytes::Bytes;
use tokio::sync::{Notify, oneshot, watch};

use super::{
    Options,
    codec::{self, Op},
    index::{self, Index},
    snapshot,
    wal::{self, ActiveSegment, Segment},
    watch::Ring,
};
use crate::{Event, KeyValue, ListRequest, ListResponse, Result, Revision, StorageError};

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Wall-clock time in unix milliseconds (TTL deadlines survive restarts, so not `Instant`).
pub(crate) fn now_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Writes accepted but not yet durable: what the commit thread takes in one go.
#[derive(Debug, Default)]
struct Batch {
    /// Encoded log records.
    bytes: Vec<u8>,
    /// The watch events of its puts and deletes, in revision order.
    events: Vec<Event>,
    /// One per waiting caller; sent on durability, dropped on failure.
    waiters: Vec<oneshot::Sender<()>>,
    /// The highest put/delete revision in it (0: none).
    last_rev: Revision,
    /// The highest compaction revision in it (0: none).
    max_compact: Revision,
}

/// Everything the state lock protects.
#[derive(Debug)]
struct State {
    index: Index,
    /// The last revision given to a write (>= committed).
    last_assigned: Revision,
    /// The compaction revision: reads below it fail.
    compacted: Revision,
    pending: Batch,
    /// While a compaction prunes its clone of the index, the keys written meanwhile.
    dirty: Option<Vec<Arc<str>>>,
    /// TTL deadlines `(unix millis, key, mod_revision)`; stale entries are skipped when they expire.
    ttl: BTreeSet<(u64, Arc<str>, Revision)>,
}

/// A write accepted into the pending batch: its revision, the live value it replaced, and the
/// signal of its durability.
type Submitted = (Revision, Option<KeyValue>, oneshot::Receiver<()>);

/// The precondition of a write.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Cond {
    /// The key must not exist.
    Create,
    /// The key must exist with this `mod_revision`.
    Update(Revision),
    /// The key must exist (with this `mod_revision` if given).
    Delete(Option<Revision>),
}

/// Background work for the maintenance thread.
#[derive(Debug)]
pub(crate) enum Job {
    Snapshot,
    AutoCompact,
    Shutdown,
}

/// What the backend, the threads and the watch streams share.
#[derive(Debug)]
pub(crate) struct Shared {
    dir: PathBuf,
    options: Options,
    state: Mutex<State>,
    /// Signalled when `state.pending` gets work or on shutdown; the commit thread waits on it.
    work: Condvar,
    /// The committed (durable, visible) revision; the channel wakes watchers and waiting callers.
    committed: AtomicI64,
    committed_tx: watch::Sender<Revision>,
    /// Mirror of `state.compacted` for lock-free reads.
    compacted: AtomicI64,
    ring: RwLock<Ring>,
    failed: AtomicBool,
    failure: Mutex<Option<String>>,
    shutdown: AtomicBool,
    /// Segments on disk, oldest first; the last is the active one.
    segments: Mutex<Vec<Segment>>,
    compaction: Mutex<()>,
    jobs: mpsc::Sender<Job>,
    snapshot_requested: AtomicBool,
    auto_compact_requested: AtomicBool,
    log_bytes_since_snapshot: AtomicU64,
    ttl_wake: Notify,
}

/// The store as recovered by [`recover`], before its threads start.
#[derive(Debug)]
pub(crate) struct Recovered {
    pub shared: Arc<Shared>,
    pub active: ActiveSegment,
    pub jobs: mpsc::Receiver<Job>,
    /// `(revision, compaction revision)` of the snapshot loaded, if any.
    pub last_snapshot: (Revision, Revision),
}

/// Rebuild the store from the newest valid snapshot and the log after it.
pub(crate) fn recover(dir: &Path, options: Options) -> Result<Recovered> {
    for entry in std::fs::read_dir(dir)
        .map_err(|e| StorageError::io(format!("reading {}", dir.display()), e))?
        .flatten()
    {
        // Snapshots that a crash interrupted.
        if entry
            .file_name()
            .to_str()
            .is_some_and(|n| n.ends_with(".tmp"))
        {
            let _ = std::fs::remove_file(entry.path());
        }
    }

    let mut loaded = None;
    for (rev, path) in snapshot::list(dir)?.into_iter().rev() {
        match snapshot::load(&path) {
            Ok(l) => {
                tracing::debug!(revision = rev, "loaded snapshot");
                loaded = Some(l);
                break;
            }
            Err(StorageError::Corrupt(why)) => {
                tracing::warn!(%why, "skipping a corrupt snapshot, trying an older one");
            }
            Err(e) => return Err(e),
        }
    }
    let (mut index, snap_rev, mut compacted) = match loaded {
        Some(l) => (l.index, l.rev, l.compacted),
        None => (Index::new(), 0, 0),
    };
    let snap_compacted = compacted;

    let mut last = snap_rev;
    let mut segments = wal::replay(dir, |record| {
        match record.op {
            Op::Compact => compacted = compacted.max(record.revision),
            Op::Put | Op::Delete => {
                if record.revision <= snap_rev {
                    return Ok(());
                }
                if record.revision != last + 1 {
                    return Err(StorageError::Corrupt(format!(
                        "the log jumps from revision {last} to {}",
                        record.revision
                    )));
                }
                let (value, deadline) = match record.op {
                    Op::Put => (Some(record.value), record.deadline),
                    _ => (None, 0),
                };
                index::apply(&mut index, &record.key, record.revision, value, deadline)
                    .ok_or_else(|| {
                        StorageError::Corrupt(format!(
                            "revision {} deletes the absent key {:?}",
                            record.revision, record.key
                        ))
                    })?;
                last = record.revision;
            }
        }
        Ok(())
    })?;
    if compacted > last {
        return Err(StorageError::Corrupt(format!(
            "compaction revision {compacted} is above the last revision {last}"
        )));
    }
    if let Some(s) = segments.iter().find(|s| s.first_rev > last + 1) {
        return Err(StorageError::Corrupt(format!(
            "revisions {} to {} are missing from the log",
            last + 1,
            s.first_rev - 1
        )));
    }
    // Also when the snapshot's compaction equals ours: it may have been cloned before the
    // compaction had pruned the index.
    index::prune_index(&mut index, compacted);

    // The ring from the index: every retained entry at or above the ring start is one event.
    let start = compacted.max(1);
    let mut events = Vec::new();
    let mut ttl = BTreeSet::new();
    for (key, chain) in index.iter() {
        for (i, e) in chain.iter().enumerate() {
            if e.rev >= start {
                events.push(index::event_of(key, chain, i).ok_or_else(|| {
                    StorageError::Corrupt(format!(
                        "history of {key:?} cannot explain revision {}",
                        e.rev
                    ))
                })?);
            }
        }
        if let Some(e) = index::latest_live(chain).filter(|e| e.deadline != 0) {
            ttl.insert((e.deadline, key.clone(), e.rev));
        }
    }
    events.sort_unstable_by_key(Event::revision);
    let mut ring = Ring::new(start);
    for event in events {
        ring.push(event)?;
    }
    if ring.next() != last + 1 {
        return Err(StorageError::Corrupt(format!(
            "history ends at revision {} but the log at {last}",
            ring.next() - 1
        )));
    }

    // Appends go to a fresh segment (or the last one if nothing was written to it yet), so that a
    // torn segment is never appended to.
    let active = match segments.last() {
        Some(s) if s.first_rev == last + 1 => {
            let max_compact = s.max_compact;
            segments.pop();
            let (active, mut segment) = ActiveSegment::open(dir, last + 1)?;
            segment.max_compact = max_compact;
            segments.push(segment);
            active
        }
        _ => {
            let (active, segment) = ActiveSegment::open(dir, last + 1)?;
            segments.push(segment);
            active
        }
    };
    let log_bytes: u64 = segments
        .iter()
        .filter(|s| s.first_rev > snap_rev)
        .map(|s| s.bytes)
        .sum();
    tracing::info!(
        dir = %dir.display(),
        revision = last,
        compacted,
        snapshot = snap_rev,
        keys = index.len(),
        "opened the embedded store"
    );

    let (jobs_tx, jobs) = mpsc::channel();
    let (committed_tx, _) = watch::channel(last);
    let shared = Arc::new(Shared {
        dir: dir.to_owned(),
        options,
        state: Mutex::new(State {
            index,
            last_assigned: last,
            compacted,
            pending: Batch::default(),
            dirty: None,
            ttl,
        }),
        work: Condvar::new(),
        committed: AtomicI64::new(last),
        committed_tx,
        compacted: AtomicI64::new(compacted),
        ring: RwLock::new(ring),
        failed: AtomicBool::new(false),
        failure: Mutex::new(None),
        shutdown: AtomicBool::new(false),
        segments: Mutex::new(segments),
        compaction: Mutex::new(()),
        jobs: jobs_tx,
        snapshot_requested: AtomicBool::new(false),
        auto_compact_requested: AtomicBool::new(false),
        log_bytes_since_snapshot: AtomicU64::new(log_bytes),
        ttl_wake: Notify::new(),
    });
    Ok(Recovered {
        shared,
        active,
        jobs,
        last_snapshot: (snap_rev, snap_compacted),
    })
}

impl Shared {
    fn lock_state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    pub(crate) fn ring_read(&self) -> RwLockReadGuard<'_, Ring> {
        self.ring.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn ring_write(&self) -> RwLockWriteGuard<'_, Ring> {
        self.ring.write().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn committed(&self) -> Revision {
        self.committed.load(Ordering::Acquire)
    }

    pub(crate) fn compacted(&self) -> Revision {
        self.compacted.load(Ordering::Acquire)
    }

    pub(crate) fn committed_receiver(&self) -> watch::Receiver<Revision> {
        self.committed_tx.subscribe()
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// `Unavailable` once the store failed or shut down.
    pub(crate) fn check_available(&self) -> Result<()> {
        if self.failed.load(Ordering::Acquire) || self.shutdown.load(Ordering::Acquire) {
            Err(self.unavailable())
        } else {
            Ok(())
        }
    }

    fn unavailable(&self) -> StorageError {
        match lock(&self.failure).as_ref() {
            Some(why) => StorageError::Unavailable(why.clone()),
            None => StorageError::Unavailable("the embedded store is closed".into()),
        }
    }

    /// Enter the failed state: from now on every call is `Unavailable`. Like Postgres after an
    /// fsync error we never retry, since the kernel may have dropped the dirty pages.
    fn fail(&self, why: String) {
        tracing::error!(%why, "the embedded store failed and refuses all further requests");
        lock(&self.failure).get_or_insert(why);
        self.failed.store(true, Ordering::Release);
        // Wake watchers and callers waiting for a revision so that they see the failure.
        self.committed_tx.send_modify(|_| {});
    }

    /// Stop the background work: the commit thread, the maintenance thread, the TTL task and
    /// every watch stream.
    pub(crate) fn shut_down(&self) {
        {
            // Set under the lock so that the commit thread cannot miss the wakeup.
            let _st = self.lock_state();
            self.shutdown.store(true, Ordering::Release);
            self.work.notify_all();
        }
        let _ = self.jobs.send(Job::Shutdown);
        self.ttl_wake.notify_one();
        self.committed_tx.send_modify(|_| {});
    }

    fn request(&self, job: Job) {
        let flag = match job {
            Job::Snapshot => &self.snapshot_requested,
            Job::AutoCompact => &self.auto_compact_requested,
            Job::Shutdown => return,
        };
        if !flag.swap(true, Ordering::AcqRel) {
            let _ = self.jobs.send(job);
        }
    }

    // ---------------------------------------------------------------- writes

    /// Perform one write and wait until it is durable. `value` is `Some` for a put. Returns the new
    /// revision and the live value the key held before.
    pub(crate) async fn write(
        &self,
        key: &str,
        cond: Cond,
        value: Option<Bytes>,
        ttl: Option<Duration>,
    ) -> Result<(Revision, Option<KeyValue>)> {
        if key.is_empty() {
            return Err(StorageError::InvalidRequest("empty key".into()));
        }
        let deadline = match ttl {
            Some(ttl) => now_millis()
                .saturating_add(u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX))
                .max(1),
            None => 0,
        };
        match self.submit(key, cond, value, deadline) {
            Ok((rev, prev, durable)) => {
                self.work.notify_one();
                durable.await.map_err(|_| self.unavailable())?;
                Ok((rev, prev))
            }
            Err((error, depends_on)) => {
                // The answer was decided by a write that may not be durable yet: do not reveal it
                // before it is (invariant 9).
                self.wait_committed(depends_on).await?;
                Err(error)
            }
        }
    }

    /// Check the precondition against the latest state (including writes not yet durable), assign
    /// the revision, update the index and queue the log record: all under the state lock, all
    /// O(log n) or O(record).
    fn submit(
        &self,
        key: &str,
        cond: Cond,
        value: Option<Bytes>,
        deadline: u64,
    ) -> Result<Submitted, (StorageError, Revision)> {
        let mut guard = self.lock_state();
        let st = &mut *guard;
        self.check_available().map_err(|e| (e, 0))?;
        let (depends_on, live) = match st.index.get_key_value(key) {
            Some((k, chain)) => (
                chain.last().map_or(0, |e| e.rev),
                index::latest_live(chain).and_then(|e| index::to_kv(k, e)),
            ),
            None => (0, None),
        };
        let refuse = |error| Err((error, depends_on));
        match (cond, &live) {
            (Cond::Create, Some(_)) => {
                return refuse(StorageError::AlreadyExists { key: key.into() });
            }
            (Cond::Update(_) | Cond::Delete(_), None) => {
                return refuse(StorageError::NotFound { key: key.into() });
            }
            (Cond::Update(expected) | Cond::Delete(Some(expected)), Some(current))
                if current.mod_revision != expected =>
            {
                return refuse(StorageError::Conflict {
                    key: key.into(),
                    expected,
                    current: Box::new(current.clone()),
                });
            }
            _ => {}
        }
        let rev = st.last_assigned + 1;
        let mark = st.pending.bytes.len();
        let op = if value.is_some() { Op::Put } else { Op::Delete };
        codec::encode_record(
            &mut st.pending.bytes,
            op,
            rev,
            deadline,
            key,
            value.as_deref().unwrap_or_default(),
        )
        .map_err(|e| (e, 0))?;
        let Some(event) = index::apply(&mut st.index, key, rev, value, deadline) else {
            st.pending.bytes.truncate(mark);
            return refuse(StorageError::NotFound { key: key.into() });
        };
        st.last_assigned = rev;
        let key_arc = match &event {
            Event::Created(kv) | Event::Updated { kv, .. } => kv.key.clone(),
            Event::Deleted { prev, .. } => prev.key.clone(),
        };
        if deadline != 0 {
            st.ttl.insert((deadline, key_arc.clone(), rev));
        }
        if let Some(dirty) = &mut st.dirty {
            dirty.push(key_arc);
        }
        let (tx, rx) = oneshot::channel();
        st.pending.events.push(event);
        st.pending.waiters.push(tx);
        st.pending.last_rev = rev;
        Ok((rev, live, rx))
    }

    /// Wait until `rev` is committed (or the store fails).
    async fn wait_committed(&self, rev: Revision) -> Result<()> {
        if rev <= self.committed() {
            return Ok(());
        }
        let mut rx = self.committed_receiver();
        let waited = rx
            .wait_for(|c| *c >= rev || self.check_available().is_err())
            .await
            .is_ok();
        if waited {
            self.check_available()
        } else {
            Err(self.unavailable())
        }
    }

    // ---------------------------------------------------------------- reads

    /// The revision a read at `revision` (0: latest) is served at, checked against the committed
    /// and compaction revisions.
    fn resolve(&self, st: &State, revision: Revision) -> Result<Revision> {
        self.check_available()?;
        if revision < 0 {
            return Err(StorageError::InvalidRequest(format!(
                "negative revision {revision}"
            )));
        }
        let committed = self.committed();
        if revision > committed {
            return Err(StorageError::FutureRevision {
                requested: revision,
                current: committed,
            });
        }
        let rev = if revision == 0 { committed } else { revision };
        if rev < st.compacted {
            return Err(StorageError::Compacted {
                requested: rev,
                compacted: st.compacted,
            });
        }
        Ok(rev)
    }

    /// An O(1) consistent view: the index and the revision to read it at.
    fn view(&self, revision: Revision) -> Result<(Index, Revision)> {
        let st = self.lock_state();
        let rev = self.resolve(&st, revision)?;
        Ok((st.index.clone(), rev))
    }

    pub(crate) fn get(
        &self,
        key: &str,
        revision: Revision,
    ) -> Result<(Revision, Option<KeyValue>)> {
        if key.is_empty() {
            return Err(StorageError::InvalidRequest("empty key".into()));
        }
        let (rev, found) = {
            let st = self.lock_state();
            let rev = self.resolve(&st, revision)?;
            (
                rev,
                st.index
                    .get_key_value(key)
                    .map(|(k, c)| (k.clone(), c.clone())),
            )
        };
        Ok((
            rev,
            found.and_then(|(k, chain)| index::kv_at(&k, &chain, rev)),
        ))
    }

    pub(crate) fn list(&self, request: &ListRequest) -> Result<ListResponse> {
        let prefix = request.prefix.as_str();
        if !request.start_key.is_empty() && !request.start_key.starts_with(prefix) {
            return Err(StorageError::InvalidRequest(format!(
                "start key {:?} is not under prefix {prefix:?}",
                request.start_key
            )));
        }
        let from = if request.start_key.is_empty() {
            prefix
        } else {
            &request.start_key
        };
        let (index, rev) = self.view(request.revision)?;
        let mut response = ListResponse {
            revision: rev,
            ..ListResponse::default()
        };
        let range = index.range::<_, str>((Bound::Included(from), Bound::Unbounded));
        for (key, chain) in range {
            if !key.starts_with(prefix) {
                break;
            }
            let Some(entry) = index::entry_at(chain, rev) else {
                continue;
            };
            if entry.value.is_none() {
                continue;
            }
            response.count += 1;
            if request.limit == 0 || response.kvs.len() < request.limit {
                response.kvs.extend(index::to_kv(key, entry));
            } else {
                response.more = true;
            }
        }
        Ok(response)
    }

    pub(crate) fn count(&self, prefix: &str) -> Result<(Revision, i64)> {
        let (index, rev) = self.view(0)?;
        let count = index
            .range::<_, str>((Bound::Included(prefix), Bound::Unbounded))
            .take_while(|(k, _)| k.starts_with(prefix))
            .filter(|(_, chain)| index::entry_at(chain, rev).is_some_and(|e| e.value.is_some()))
            .count();
        Ok((rev, count as i64))
    }

    pub(crate) fn size_on_disk(&self) -> Result<u64> {
        let mut total = 0;
        let files = snapshot::list(&self.dir)?
            .into_iter()
            .chain(wal::list_files(&self.dir, "wal-", ".log")?);
        for (_, path) in files {
            // A file may vanish under us (snapshot cleanup); it no longer counts.
            if let Ok(meta) = std::fs::metadata(&path) {
                total += meta.len();
            }
        }
        Ok(total)
    }

    // ---------------------------------------------------------------- commit thread

    /// The commit thread: take the whole pending batch, write it with one `write_all` and one
    /// `fdatasync`, then publish it (ring, committed revision) and wake its writers.
    pub(crate) fn commit_loop(self: Arc<Self>, mut active: ActiveSegment) {
        let mut spare = Vec::new();
        loop {
            let mut batch = {
                let mut st = self.lock_state();
                loop {
                    if self.shutdown.load(Ordering::Acquire) {
                        // Nothing pending was acknowledged; dropping the waiters fails them.
                        st.pending = Batch::default();
                        return;
                    }
                    if !st.pending.bytes.is_empty() {
                        break;
                    }
                    st = self.work.wait(st).unwrap_or_else(PoisonError::into_inner);
                }
                let fresh = Batch {
                    bytes: std::mem::take(&mut spare),
                    ..Batch::default()
                };
                std::mem::replace(&mut st.pending, fresh)
            };
            if self.failed.load(Ordering::Acquire) {
                continue;
            }
            if let Err(e) = active.append_durably(&batch.bytes) {
                self.fail(format!("writing the write-ahead log failed: {e}"));
                continue;
            }
            if batch.last_rev > 0 {
                let history = {
                    let mut ring = self.ring_write();
                    let mut pushed = Ok(());
                    for event in batch.events.drain(..) {
                        pushed = pushed.and_then(|()| ring.push(event));
                    }
                    if let Err(e) = pushed {
                        drop(ring);
                        self.fail(format!("internal error publishing a batch: {e}"));
                        continue;
                    }
                    ring.history_bytes()
                };
                self.committed.store(batch.last_rev, Ordering::Release);
                self.committed_tx.send_replace(batch.last_rev);
                if history > self.options.max_history_bytes {
                    self.request(Job::AutoCompact);
                }
            }
            for waiter in batch.waiters.drain(..) {
                let _ = waiter.send(());
            }
            let written = batch.bytes.len() as u64;
            batch.bytes.clear();
            spare = batch.bytes;
            {
                let mut segments = lock(&self.segments);
                if let Some(last) = segments.last_mut() {
                    last.bytes = active.bytes;
                    last.max_compact = last.max_compact.max(batch.max_compact);
                }
            }
            let since = self
                .log_bytes_since_snapshot
                .fetch_add(written, Ordering::AcqRel)
                + written;
            if since > self.options.snapshot_log_bytes {
                self.request(Job::Snapshot);
            }
            let next = self.committed() + 1;
            if active.bytes >= self.options.segment_bytes && next > active.first_rev {
                match ActiveSegment::open(&self.dir, next) {
                    Ok((new, segment)) => {
                        active = new;
                        lock(&self.segments).push(segment);
                    }
                    Err(e) => self.fail(format!("starting a new log segment failed: {e}")),
                }
            }
        }
    }

    // ---------------------------------------------------------------- compaction

    /// Compact to `rev`: record it durably, prune the watch ring, then prune a clone of the index
    /// off the lock and swap it in, re-pruning the keys written meanwhile. Writers wait on the
    /// state lock only for the O(1) clone and the swap. Blocking; run off the async runtime.
    pub(crate) fn compact_blocking(&self, rev: Revision) -> Result<()> {
        let _serial = lock(&self.compaction);
        let (base, durable) = {
            let mut st = self.lock_state();
            self.check_available()?;
            if rev <= st.compacted {
                return Err(StorageError::Compacted {
                    requested: rev,
                    compacted: st.compacted,
                });
            }
            let committed = self.committed();
            if rev > committed {
                return Err(StorageError::FutureRevision {
                    requested: rev,
                    current: committed,
                });
            }
            codec::encode_record(&mut st.pending.bytes, Op::Compact, rev, 0, "", &[])?;
            let (tx, rx) = oneshot::channel();
            st.pending.waiters.push(tx);
            st.pending.max_compact = rev;
            // From here reads below `rev` fail; the record is durable before we return.
            st.compacted = rev;
            self.compacted.store(rev, Ordering::Release);
            st.dirty = Some(Vec::new());
            (st.index.clone(), rx)
        };
        self.work.notify_one();
        if durable.blocking_recv().is_err() {
            self.lock_state().dirty = None;
            return Err(self.unavailable());
        }
        let removed = self.ring_write().prune_before(rev);
        // Freed outside the lock.
        drop(removed);
        let mut pruned = base;
        index::prune_index(&mut pruned, rev);
        let old = {
            let mut st = self.lock_state();
            let swap_start = std::time::Instant::now();
            let dirty = st.dirty.as_ref().map_or(0, Vec::len);
            for key in st.dirty.take().unwrap_or_default() {
                let chain = st.index.get(&*key).cloned();
                index::prune_key(&mut pruned, key, chain, rev);
            }
            let old = std::mem::replace(&mut st.index, pruned);
            tracing::debug!(revision = rev, dirty, held = ?swap_start.elapsed(), "compaction swapped the index");
            old
        };
        // Freed outside the lock.
        drop(old);
        self.request(Job::Snapshot);
        Ok(())
    }

    /// Compact the oldest history away when it exceeds the budget, down to three quarters of it so
    /// that this does not run on every write.
    fn auto_compact(&self) {
        let budget = self.options.max_history_bytes;
        let (history, target) = {
            let ring = self.ring_read();
            (ring.history_bytes(), ring.compaction_target(budget / 4 * 3))
        };
        let target = target.min(self.committed());
        if history <= budget || target <= self.compacted() {
            return;
        }
        tracing::info!(
            revision = target,
            history_bytes = history,
            max_history_bytes = budget,
            "history exceeds its budget; compacting"
        );
        match self.compact_blocking(target) {
            Ok(()) | Err(StorageError::Compacted { .. }) => {}
            Err(error) => tracing::warn!(%error, "automatic compaction failed"),
        }
    }

    // ---------------------------------------------------------------- maintenance thread

    /// Snapshots and automatic compaction, off the writers' path.
    pub(crate) fn maintenance_loop(
        self: Arc<Self>,
        jobs: mpsc::Receiver<Job>,
        mut last_snapshot: (Revision, Revision),
    ) {
        while let Ok(job) = jobs.recv() {
            if self.shutdown.load(Ordering::Acquire) {
                return;
            }
            match job {
                Job::Shutdown => return,
                Job::Snapshot => {
                    self.snapshot_requested.store(false, Ordering::Release);
                    if let Err(error) = self.take_snapshot(&mut last_snapshot) {
                        tracing::warn!(%error, "writing a snapshot failed; will retry later");
                    }
                }
                Job::AutoCompact => {
                    self.auto_compact();
                    self.auto_compact_requested.store(false, Ordering::Release);
                }
            }
        }
    }

    /// Write a snapshot of the committed state, then delete older snapshots and the segments it
    /// covers.
    fn take_snapshot(&self, last: &mut (Revision, Revision)) -> Result<()> {
        let (index, rev, compacted) = {
            let st = self.lock_state();
            (st.index.clone(), self.committed(), st.compacted)
        };
        if (rev, compacted) == *last {
            return Ok(());
        }
        // Log written from now on counts towards the next snapshot.
        self.log_bytes_since_snapshot.store(0, Ordering::Release);
        let Some(path) = snapshot::write(&self.dir, &index, rev, compacted, &self.shutdown)? else {
            return Ok(());
        };
        drop(index);
        *last = (rev, compacted);
        for (old, old_path) in snapshot::list(&self.dir)? {
            if old < rev {
                let _ = std::fs::remove_file(old_path);
            }
        }
        let mut removed = 0;
        {
            let mut segments = lock(&self.segments);
            // Segment i holds the put/delete revisions below first(i + 1); the active (last) one
            // is never removed.
            while removed + 1 < segments.len()
                && segments[removed + 1].first_rev <= rev + 1
                && segments[removed].max_compact <= compacted
            {
                if let Err(error) = std::fs::remove_file(&segments[removed].path) {
                    tracing::warn!(%error, "removing an old log segment failed");
                    break;
                }
                removed += 1;
            }
            segments.drain(..removed);
        }
        wal::sync_dir(&self.dir)?;
        tracing::debug!(snapshot = %path.display(), removed_segments = removed, "snapshot written");
        Ok(())
    }

    // ---------------------------------------------------------------- TTL

    /// Take the TTL entries due by `now` that still describe their key's latest write.
    fn take_expired(&self, now: u64) -> Vec<(Arc<str>, Revision)> {
        let mut st = self.lock_state();
        let mut due = Vec::new();
        while st
            .ttl
            .first()
            .is_some_and(|(deadline, _, _)| *deadline <= now)
        {
            let Some((deadline, key, rev)) = st.ttl.pop_first() else {
                break;
            };
            let current = st
                .index
                .get(&*key)
                .and_then(|chain| index::latest_live(chain))
                .is_some_and(|e| e.rev == rev && e.deadline == deadline);
            if current {
                due.push((key, rev));
            }
        }
        due
    }

    /// Delete expired keys every `ttl_check_interval`, each with a delete conditional on the
    /// revision that set its TTL, so that a concurrent write wins.
    pub(crate) async fn ttl_loop(self: Arc<Self>) {
        let period = self
            .options
            .ttl_check_interval
            .max(Duration::from_millis(1));
        let mut ticker = tokio::time::interval(period);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticker.tick() => {}
                _ = self.ttl_wake.notified() => {}
            }
            if self.check_available().is_err() {
                return;
            }
            for (key, rev) in self.take_expired(now_millis()) {
                match self.write(&key, Cond::Delete(Some(rev)), None, None).await {
                    Ok((deleted, _)) => {
                        tracing::debug!(key = %key, revision = deleted, "TTL expired")
                    }
                    Err(StorageError::Conflict { .. } | StorageError::NotFound { .. }) => {}
                    Err(StorageError::Unavailable(_)) => return,
                    Err(error) => {
                        tracing::warn!(%error, key = %key, "deleting an expired key failed")
                    }
                }
            }
        }
    }
}
