//! Watches: the ring of committed events and the pull-based watch streams that read it.
//!
//! The ring holds exactly one [`Event`] per revision from the compaction revision (or 1) to the
//! committed revision, so it is indexed by revision; events share keys and values with the index.
//! It is stored in chunks of 1,024 events with running cost sums, so that compaction prunes it in
//! O(chunks) under the write lock (the events are freed after the lock) and the history size of
//! any suffix is O(1).
//! The commit thread appends a batch's events before publishing the new committed revision on a
//! `tokio::sync::watch` channel. A watch stream only remembers its next revision: it wakes on that
//! channel, scans `[next, committed]` under the ring's read lock, filters by prefix and yields one
//! batch. There is no per-watcher buffer, so a slow watcher costs nothing; one that falls behind the
//! ring's start (compaction) gets [`StorageError::Compacted`] and ends.
//!
//! The ring is bounded by compaction: its `history_bytes` (superseded values plus a fixed overhead
//! per event) is what `Options::max_history_bytes` limits.

use std::{
    collections::VecDeque,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use futures::StreamExt;
use tokio::{sync::Notify, time::Instant};

use super::store::Shared;
use crate::{Event, ProgressRequester, Result, Revision, StorageError, Watch, WatchResponse};

/// Bytes charged per event on top of the superseded value: the event and index entry structs.
pub(crate) const EVENT_OVERHEAD: u64 = 128;
/// Most events in one `WatchResponse::Events`.
const MAX_BATCH: usize = 1_000;
/// Most events scanned per read-lock hold, so that a watcher catching up on a long history
/// matching nothing does not hold the lock long.
const MAX_SCAN: usize = 10_000;
/// How often an idle watcher (revisions advance, none under its prefix) reports progress.
const PROGRESS_INTERVAL: Duration = Duration::from_millis(100);

/// Events per ring chunk: pruning moves whole chunks out, so its time under the write lock is
/// O(pruned / CHUNK + CHUNK), not O(pruned).
const CHUNK: usize = 1024;

/// One ring slot: the event (taken out when pruned) and the cost of all events pushed before it.
#[derive(Debug)]
pub(crate) struct Slot {
    event: Option<Event>,
    cost_before: u64,
}

#[cfg(test)]
impl Slot {
    pub(crate) fn event(&self) -> Option<&Event> {
        self.event.as_ref()
    }
}

/// Committed events by revision, in chunks of `CHUNK` slots: every chunk but the last is full, and
/// the first `head_skip` slots of the first chunk are already pruned.
#[derive(Debug)]
pub(crate) struct Ring {
    /// Revision of the first live event (the next revision when empty).
    start: Revision,
    len: usize,
    chunks: VecDeque<Vec<Slot>>,
    head_skip: usize,
    /// The cost of every event ever pushed; with `Slot::cost_before` it gives the cost of any
    /// suffix in O(1).
    total_cost: u64,
}

/// What keeping an event costs against the history budget.
fn cost(event: &Event) -> u64 {
    EVENT_OVERHEAD
        + match event {
            Event::Created(_) => 0,
            Event::Updated { prev, .. } | Event::Deleted { prev, .. } => {
                (prev.value.len() + prev.key.len()) as u64
            }
        }
}

impl Ring {
    pub(crate) fn new(start: Revision) -> Self {
        Ring {
            start,
            len: 0,
            chunks: VecDeque::new(),
            head_skip: 0,
            total_cost: 0,
        }
    }

    /// The revision the next event must have.
    pub(crate) fn next(&self) -> Revision {
        self.start + self.len as Revision
    }

    fn slot(&self, rev: Revision) -> Option<&Slot> {
        if rev < self.start || rev >= self.next() {
            return None;
        }
        let i = (rev - self.start) as usize + self.head_skip;
        self.chunks.get(i / CHUNK)?.get(i % CHUNK)
    }

    /// The event of `rev`, if the ring holds it.
    pub(crate) fn get(&self, rev: Revision) -> Option<&Event> {
        self.slot(rev)?.event.as_ref()
    }

    /// The cost of the events from `rev` on.
    fn cost_from(&self, rev: Revision) -> u64 {
        self.slot(rev)
            .map_or(0, |s| self.total_cost - s.cost_before)
    }

    /// Superseded value bytes plus `EVENT_OVERHEAD` per event: the history budget in use.
    pub(crate) fn history_bytes(&self) -> u64 {
        self.cost_from(self.start)
    }

    /// Append the event of revision `next()`.
    pub(crate) fn push(&mut self, event: Event) -> Result<()> {
        if event.revision() != self.next() {
            return Err(StorageError::Corrupt(format!(
                "event of revision {} does not follow revision {}",
                event.revision(),
                self.next() - 1
            )));
        }
        let slot = Slot {
            cost_before: self.total_cost,
            event: Some(event),
        };
        self.total_cost += slot.event.as_ref().map_or(0, cost);
        if self.chunks.back().is_none_or(|c| c.len() >= CHUNK) {
            self.chunks.push_back(Vec::with_capacity(CHUNK));
        }
        if let Some(chunk) = self.chunks.back_mut() {
            chunk.push(slot);
        }
        self.len += 1;
        Ok(())
    }

    /// Drop events below `rev`. Returns what was removed so that the caller frees it after
    /// releasing the lock.
    pub(crate) fn prune_before(&mut self, rev: Revision) -> Vec<Vec<Slot>> {
        let n = (rev - self.start).clamp(0, self.len as Revision) as usize;
        let skip = self.head_skip + n;
        let whole = (skip / CHUNK).min(self.chunks.len());
        let mut removed: Vec<Vec<Slot>> = self.chunks.drain(..whole).collect();
        self.head_skip = skip - whole * CHUNK;
        if let Some(first) = self.chunks.front_mut() {
            let skipped = self.head_skip.min(first.len());
            let taken: Vec<Slot> = first[..skipped]
                .iter_mut()
                .filter_map(|s| {
                    s.event.take().map(|e| Slot {
                        event: Some(e),
                        cost_before: 0,
                    })
                })
                .collect();
            removed.push(taken);
        }
        self.start += n as Revision;
        self.len -= n;
        removed
    }

    /// The smallest revision to compact to so that the history falls to `target` bytes.
    pub(crate) fn compaction_target(&self, target: u64) -> Revision {
        // cost_from is non-increasing in the revision: binary search the first that fits.
        let (mut lo, mut hi) = (self.start, self.next());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.cost_from(mid) <= target {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        lo
    }
}

/// A watch's progress request flag.
#[derive(Debug, Default)]
struct ProgressFlag {
    requested: AtomicBool,
    wake: Notify,
}

#[derive(Debug)]
struct ProgressHandle(Arc<ProgressFlag>);

impl ProgressRequester for ProgressHandle {
    fn request_progress(&self) {
        self.0.requested.store(true, Ordering::Release);
        // notify_one keeps a permit when the stream is not waiting, so no request is lost.
        self.0.wake.notify_one();
    }
}

struct WatchState {
    shared: Arc<Shared>,
    prefix: String,
    /// The next revision to scan.
    next: Revision,
    committed: tokio::sync::watch::Receiver<Revision>,
    progress: Arc<ProgressFlag>,
    /// The highest revision the client knows it has everything up to.
    reported: Revision,
    last_progress: Instant,
    done: bool,
}

/// Start a watch of `prefix` from `start` (0: after the committed revision).
pub(crate) fn start(shared: Arc<Shared>, prefix: &str, start: Revision) -> Result<Watch> {
    if start < 0 {
        return Err(StorageError::InvalidRequest(format!(
            "negative watch revision {start}"
        )));
    }
    shared.check_available()?;
    let committed = shared.committed_receiver();
    let next = if start == 0 {
        *committed.borrow() + 1
    } else {
        start
    };
    let progress = Arc::new(ProgressFlag::default());
    let state = WatchState {
        shared,
        prefix: prefix.to_owned(),
        next,
        committed,
        progress: progress.clone(),
        reported: next - 1,
        last_progress: Instant::now(),
        done: false,
    };
    let stream = futures::stream::unfold(state, |mut state| async move {
        let item = next_item(&mut state).await?;
        Some((item, state))
    });
    Ok(Watch::new(
        stream.boxed(),
        Box::new(ProgressHandle(progress)),
    ))
}

async fn next_item(st: &mut WatchState) -> Option<Result<WatchResponse>> {
    if st.done {
        return None;
    }
    let item = loop {
        if let Err(error) = st.shared.check_available() {
            break Err(error);
        }
        let committed = *st.committed.borrow_and_update();
        if st.next <= committed {
            let before = st.next;
            match scan(st, committed) {
                // Nothing matched: scan on, or wait once caught up. (The ring always holds the
                // committed revision; the `before` check only guards against spinning.)
                Ok(events) if events.is_empty() && st.next > before => continue,
                Ok(events) if events.is_empty() => {}
                Ok(events) => {
                    st.reported = st.next - 1;
                    return Some(Ok(WatchResponse::Events(events)));
                }
                Err(error) => break Err(error),
            }
        }
        // Caught up: everything up to `caught` is delivered (a watch starting in the future has
        // seen everything up to the committed revision).
        let caught = (st.next - 1).min(committed);
        if st.progress.requested.swap(false, Ordering::AcqRel) {
            st.reported = st.reported.max(caught);
            st.last_progress = Instant::now();
            return Some(Ok(WatchResponse::Progress(caught)));
        }
        let due = (st.reported < caught).then(|| st.last_progress + PROGRESS_INTERVAL);
        if let Some(due) = due
            && due <= Instant::now()
        {
            st.reported = caught;
            st.last_progress = Instant::now();
            return Some(Ok(WatchResponse::Progress(caught)));
        }
        tokio::select! {
            changed = st.committed.changed() => {
                if changed.is_err() {
                    break Err(StorageError::Unavailable("the embedded store is closed".into()));
                }
            }
            _ = st.progress.wake.notified() => {}
            _ = tokio::time::sleep_until(due.unwrap_or_else(Instant::now)), if due.is_some() => {}
        }
    };
    st.done = true;
    Some(item)
}

/// Read matching events from `st.next` up to `committed`, advancing `st.next` past what was
/// scanned.
fn scan(st: &mut WatchState, committed: Revision) -> Result<Vec<Event>> {
    let ring = st.shared.ring_read();
    let compacted = st.shared.compacted();
    // The compaction revision is published before the ring is pruned, so check both.
    if st.next < ring.start || st.next < compacted {
        return Err(StorageError::Compacted {
            requested: st.next,
            compacted,
        });
    }
    let end = committed.min(ring.next() - 1);
    let mut out = Vec::new();
    let mut scanned = 0;
    while st.next <= end && scanned < MAX_SCAN && out.len() < MAX_BATCH {
        let Some(event) = ring.get(st.next) else {
            break;
        };
        if event.key().starts_with(st.prefix.as_str()) {
            out.push(event.clone());
        }
        st.next += 1;
        scanned += 1;
    }
    Ok(out)
}
