//! The embedded store: the default backend, durable on local disk with no other process.
//!
//! # Design
//!
//! **Memory.** An MVCC index ([`index`]) maps each key to its history (value or tombstone per
//! revision, with `create_revision`, `version` and TTL deadline). It is an `imbl::OrdMap`, so a
//! consistent view is an O(1) clone: `list`, the snapshot writer and the compactor work on clones
//! without holding the state lock. Values are `Bytes` and keys `Arc<str>`, shared by the index, the
//! watch ring and the `KeyValue`s handed out; nothing is copied per read or per watcher.
//!
//! **Write path and durability** ([`store`]). A write takes the state mutex, checks its
//! precondition against the latest entry (including writes not yet durable), takes revision
//! `last_assigned + 1`, inserts the entry into the index, appends its log record and watch event to
//! the pending batch, releases the lock and waits. The commit thread takes the whole pending batch,
//! writes it with one `write_all` and one `fdatasync` (group commit), appends its events to the
//! watch ring, advances the committed revision and only then wakes the writers and watchers. Reads
//! are served at the committed revision, so an entry above it sits in the index invisible
//! (invariant 9). A precondition failure decided by a not-yet-durable entry is reported only once
//! that entry is durable. A failed write or fsync puts the store in a failed state: every later
//! call is `Unavailable`, nothing that may be lost is ever acknowledged, fsync is never retried.
//!
//! **Files** in the data dir (formats in [`codec`], [`wal`], [`snapshot`]):
//! - `wal-<first revision, 20 digits>.log`: log segments of checksummed records (put, delete,
//!   compact). A new segment starts past `Options::segment_bytes` and at every open (a torn segment
//!   is never appended to). The directory is fsynced after files are created, renamed or removed.
//! - `snapshot-<revision, 20 digits>.snap`: the whole index (all retained history, the compaction
//!   revision, TTL deadlines) at a committed revision, with a checksum; written to a `.tmp` file,
//!   fsynced, renamed.
//! - `LOCK`: held with an exclusive file lock so two processes never open one store.
//!
//! **Open** loads the newest snapshot that passes its checksum (older ones are tried next), replays
//! the log records above its revision (records must be dense; a truncated or bad record ends the
//! *last* segment, which is cut there; anywhere else it is `Corrupt`), rebuilds the watch ring from
//! the retained history and re-arms TTLs. A `kill -9` at any moment thus loses only
//! unacknowledged writes and needs no repair.
//!
//! **Compaction** (`compact(c)`) sets the compaction revision and queues a compact record under the
//! lock, waits until that record is durable (a restart cannot resurrect compacted history), prunes
//! the watch ring, prunes an O(1) clone of the index off the lock, and swaps it in under the lock
//! after re-pruning the few keys written meanwhile: writers stall only for the clone and the swap.
//! Pruning keeps, per key, every entry at or above `c` plus the latest value below it (the state at
//! `c`, and the previous value the watch event at `c` carries). A snapshot follows in the
//! background; once durable it deletes older snapshots and the segments it covers (a segment
//! holding a compaction the snapshot lacks is kept).
//!
//! **Watch** ([`watch`]): a ring of committed events, one per revision from the compaction
//! revision on, read by pull-based streams that keep only their next revision.
//!
//! **TTL**: deadlines (unix millis) live in the entries and the log; an ordered set of
//! `(deadline, key, revision)` with lazy invalidation is checked every `ttl_check_interval`, and an
//! expired key is deleted with a delete conditional on that revision (a normal delete revision).
//!
//! # What is bounded, and by what
//!
//! - History in memory (superseded values in the index and the ring, plus 128 bytes per retained
//!   event): `Options::max_history_bytes`. Past it the store compacts itself, oldest first, down to
//!   three quarters of the budget (logged at info). kube-apiserver's periodic compaction normally
//!   keeps it far lower.
//! - Log on disk: a snapshot is taken after `Options::snapshot_log_bytes` of log (and after every
//!   compaction), and then the covered segments are deleted, so the log is about
//!   `snapshot_log_bytes + segment_bytes`; startup replay is bounded by the same.
//! - Snapshots on disk: one (the newest), about the size of the index.
//! - Per watcher: no buffer; a batch is at most 1,000 events and a scan at most 10,000 under the
//!   ring's read lock.
//! - Pending batch: bounded by the number of concurrent writers, each of which waits.
//!
//! # Threads
//!
//! The commit thread and the maintenance thread (snapshots, automatic compaction) are std
//! threads; TTL expiry is a tokio task. Dropping the [`EmbeddedBackend`] stops all three (and ends
//! watch streams with `Unavailable`) and joins the threads; pending unacknowledged writes are
//! failed, acknowledged ones are already durable.

mod codec;
mod index;
mod snapshot;
mod store;
mod wal;
mod watch;

#[cfg(test)]
mod tests;

use std::{
    fs::{File, OpenOptions},
    path::Path,
    sync::Arc,
    thread::JoinHandle,
    time::Duration,
};

use async_trait::async_trait;
use bytes::Bytes;

use self::store::{Cond, Shared};
use crate::{Backend, KeyValue, ListRequest, ListResponse, Result, Revision, StorageError, Watch};

/// Tuning of the embedded store.
#[derive(Debug, Clone)]
pub struct Options {
    /// Start a new log segment once the current one is this big.
    pub segment_bytes: u64,
    /// How often expired TTL keys are looked for.
    pub ttl_check_interval: Duration,
    /// Upper bound on the bytes of superseded values (history) held for watches and past reads; past
    /// it the store compacts by itself, oldest first.
    pub max_history_bytes: u64,
    /// Write a snapshot (and delete the log it covers) once this many log bytes were written since
    /// the last one; bounds startup replay and the log on disk.
    pub snapshot_log_bytes: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            segment_bytes: 64 << 20,
            ttl_check_interval: Duration::from_millis(500),
            max_history_bytes: 512 << 20,
            snapshot_log_bytes: 128 << 20,
        }
    }
}

/// The embedded backend.
pub struct EmbeddedBackend {
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
    ttl_task: tokio::task::JoinHandle<()>,
    /// Holds the exclusive lock on `LOCK` until dropped (after the threads stopped).
    _lock: File,
}

impl std::fmt::Debug for EmbeddedBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedBackend")
            .field("dir", &self.shared.dir())
            .field("committed", &self.shared.committed())
            .field("compacted", &self.shared.compacted())
            .finish_non_exhaustive()
    }
}

impl EmbeddedBackend {
    /// Open (or create) the store in `dir`, replaying its snapshot and log.
    pub async fn open(dir: &Path, options: Options) -> Result<Self> {
        let dir = dir.to_owned();
        let runtime = tokio::runtime::Handle::current();
        tokio::task::spawn_blocking(move || Self::open_blocking(&dir, options, &runtime))
            .await
            .map_err(|e| StorageError::Unavailable(format!("opening the store panicked: {e}")))?
    }

    fn open_blocking(
        dir: &Path,
        options: Options,
        runtime: &tokio::runtime::Handle,
    ) -> Result<Self> {
        std::fs::create_dir_all(dir)
            .map_err(|e| StorageError::io(format!("creating {}", dir.display()), e))?;
        let lock_path = dir.join("LOCK");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| StorageError::io(format!("opening {}", lock_path.display()), e))?;
        lock.try_lock().map_err(|e| {
            StorageError::Unavailable(format!(
                "{} is locked (is another process using the store?): {e}",
                lock_path.display()
            ))
        })?;
        let recovered = store::recover(dir, options)?;
        let shared = recovered.shared;
        let mut threads = Vec::new();
        let spawn = |name: &str, f: Box<dyn FnOnce() + Send>| {
            std::thread::Builder::new()
                .name(name.into())
                .spawn(f)
                .map_err(|e| StorageError::io(format!("starting thread {name}"), e))
        };
        let started = (|| {
            let s = shared.clone();
            let active = recovered.active;
            threads.push(spawn(
                "tugboat-wal",
                Box::new(move || s.commit_loop(active)),
            )?);
            let s = shared.clone();
            let (jobs, last) = (recovered.jobs, recovered.last_snapshot);
            threads.push(spawn(
                "tugboat-snapshot",
                Box::new(move || s.maintenance_loop(jobs, last)),
            )?);
            Ok::<_, StorageError>(())
        })();
        if let Err(error) = started {
            shared.shut_down();
            for t in threads {
                let _ = t.join();
            }
            return Err(error);
        }
        let ttl_task = runtime.spawn(shared.clone().ttl_loop());
        Ok(EmbeddedBackend {
            shared,
            threads,
            ttl_task,
            _lock: lock,
        })
    }
}

impl Drop for EmbeddedBackend {
    fn drop(&mut self) {
        self.shared.shut_down();
        self.ttl_task.abort();
        // Joined so that the directory is quiet (and unlocked) once the backend is gone: a reopen
        // right after must not race a snapshot still being written.
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

#[async_trait]
impl Backend for EmbeddedBackend {
    async fn current_revision(&self) -> Result<Revision> {
        self.shared.check_available()?;
        Ok(self.shared.committed())
    }

    async fn compacted_revision(&self) -> Result<Revision> {
        self.shared.check_available()?;
        Ok(self.shared.compacted())
    }

    async fn get(&self, key: &str, revision: Revision) -> Result<(Revision, Option<KeyValue>)> {
        self.shared.get(key, revision)
    }

    async fn list(&self, request: &ListRequest) -> Result<ListResponse> {
        self.shared.list(request)
    }

    async fn count(&self, prefix: &str) -> Result<(Revision, i64)> {
        self.shared.count(prefix)
    }

    async fn create(&self, key: &str, value: Bytes, ttl: Option<Duration>) -> Result<Revision> {
        let (rev, _) = self
            .shared
            .write(key, Cond::Create, Some(value), ttl)
            .await?;
        Ok(rev)
    }

    async fn update(
        &self,
        key: &str,
        value: Bytes,
        expected: Revision,
        ttl: Option<Duration>,
    ) -> Result<Revision> {
        let (rev, _) = self
            .shared
            .write(key, Cond::Update(expected), Some(value), ttl)
            .await?;
        Ok(rev)
    }

    async fn delete(&self, key: &str, expected: Option<Revision>) -> Result<(Revision, KeyValue)> {
        let (rev, prev) = self
            .shared
            .write(key, Cond::Delete(expected), None, None)
            .await?;
        let prev = prev.ok_or_else(|| StorageError::NotFound { key: key.into() })?;
        Ok((rev, prev))
    }

    async fn watch(&self, prefix: &str, start: Revision) -> Result<Watch> {
        watch::start(self.shared.clone(), prefix, start)
    }

    async fn compact(&self, revision: Revision) -> Result<()> {
        let shared = self.shared.clone();
        tokio::task::spawn_blocking(move || shared.compact_blocking(revision))
            .await
            .map_err(|e| StorageError::Unavailable(format!("compaction panicked: {e}")))?
    }

    async fn size_on_disk(&self) -> Result<u64> {
        self.shared.check_available()?;
        self.shared.size_on_disk()
    }
}
