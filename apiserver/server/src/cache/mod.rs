//! The watch cache: one per resource, serving LIST and WATCH from memory.
//!
//! A [`Reflector`] task lists the resource's key prefix from storage and then keeps one storage watch
//! on it, applying every change to an ordered map of [`Object`]s (the stored bytes plus the few
//! attributes selectors need, extracted once per write) and to a bounded ring of recent [`Change`]s.
//! API watchers are pull-based, as in the embedded store: each remembers the last revision it sent
//! and reads newer changes from the ring when the cache's revision moves, so a watcher holds no
//! buffer of its own. A watcher that falls behind the ring's start is ended with 410 Gone and the
//! client relists; so is one that asks for a revision older than the ring holds.
//!
//! Consistent reads (resourceVersion unset) ask storage for its current revision and wait until
//! the cache has applied it, nudging the storage watch with a progress request so that an idle
//! prefix still catches up at once.

mod reflector;

use std::{
    collections::{BTreeMap, VecDeque},
    ops::Bound,
    sync::{Arc, RwLock},
    time::Duration,
};

use bytes::Bytes;
use tokio::sync::{Notify, watch};
use tugboat_storage::{Backend, Revision};

pub use reflector::Reflector;

/// How many changes a resource's ring keeps. Watchers asking for older revisions relist.
pub const DEFAULT_RING_CAPACITY: usize = 8_192;

/// What selectors need of an object, extracted once when it enters the cache.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attributes {
    /// `metadata.namespace` (empty for cluster-scoped objects).
    pub namespace: String,
    /// `metadata.name`.
    pub name: String,
    /// `metadata.labels`.
    pub labels: BTreeMap<String, String>,
    /// The field-selector fields of the resource (`metadata.name`, `spec.nodeName`, ...).
    pub fields: BTreeMap<String, String>,
}

/// Reads the attributes of a stored value; an error leaves the object out of the cache (logged).
pub type Extractor = Arc<dyn Fn(&[u8]) -> Result<Attributes, String> + Send + Sync>;

/// One object as stored, with its revision and attributes. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Object {
    /// The storage key.
    pub key: Arc<str>,
    /// The stored bytes (JSON without `metadata.resourceVersion`).
    pub value: Bytes,
    /// The revision of the object's last write: its resourceVersion.
    pub revision: Revision,
    /// What selectors look at.
    pub attributes: Arc<Attributes>,
}

/// One change to the resource, as the cache saw it.
#[derive(Debug, Clone)]
pub enum Change {
    /// The object was created.
    Added(Object),
    /// The object was overwritten; `previous` is what it replaced.
    Modified {
        /// The new object.
        object: Object,
        /// The replaced object.
        previous: Object,
    },
    /// The object was deleted at `revision`; `previous` is its last state.
    Deleted {
        /// The delete's revision.
        revision: Revision,
        /// The last state of the object.
        previous: Object,
    },
}

impl Change {
    /// The revision of the change.
    pub fn revision(&self) -> Revision {
        match self {
            Change::Added(object) | Change::Modified { object, .. } => object.revision,
            Change::Deleted { revision, .. } => *revision,
        }
    }
}

/// Why the cache cannot answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CacheError {
    /// The requested revision is older than the ring holds (410 Gone: relist).
    #[error("too old resource version: {requested} ({oldest})")]
    TooOld {
        /// What the client asked for.
        requested: Revision,
        /// The oldest revision a watch can start from.
        oldest: Revision,
    },
    /// The cache did not reach the revision in time (504 with retry).
    #[error("Too large resource version: {requested}, current: {current}")]
    NotFresh {
        /// The revision waited for.
        requested: Revision,
        /// Where the cache is.
        current: Revision,
    },
    /// The cache has not finished its first list yet, or storage failed.
    #[error("the watch cache is not ready: {0}")]
    Unavailable(String),
}

/// The cached state of one resource.
#[derive(Debug, Default)]
pub(crate) struct State {
    pub(crate) objects: BTreeMap<Arc<str>, Object>,
    /// Every change up to this revision has been applied.
    pub(crate) revision: Revision,
    /// Recent changes in revision order.
    pub(crate) ring: VecDeque<Change>,
    /// A watch may start from any revision `>=` this: every later change is in the ring.
    pub(crate) oldest_watchable: Revision,
    /// Bumped on every relist; watchers of an older generation end (their history is gone).
    pub(crate) generation: u64,
    pub(crate) ready: bool,
    pub(crate) capacity: usize,
}

/// The cache of one resource, shared by its reflector and every request.
#[derive(Debug)]
pub struct ResourceCache {
    prefix: String,
    pub(crate) state: RwLock<State>,
    /// The cache revision, for watchers and consistent readers to wait on.
    pub(crate) revision_tx: watch::Sender<Revision>,
    /// Asks the reflector to request progress from the storage watch.
    pub(crate) progress_wanted: Notify,
    backend: Arc<dyn Backend>,
}

/// A consistent view of the cached objects, taken under the read lock.
#[derive(Debug)]
pub struct ListResult {
    /// The matching objects in key order.
    pub objects: Vec<Object>,
    /// The cache revision the list reflects.
    pub revision: Revision,
    /// When the limit cut the list short: the last key returned.
    pub last_key: Option<Arc<str>>,
    /// Objects after the last one returned, not counting selectors (for remainingItemCount).
    pub remaining: usize,
}

impl ResourceCache {
    /// A cache for the keys under `prefix` (which ends with `/`), not yet filled: start a
    /// [`Reflector`] on it.
    pub fn new(prefix: String, backend: Arc<dyn Backend>, capacity: usize) -> Arc<Self> {
        let (revision_tx, _) = watch::channel(0);
        Arc::new(ResourceCache {
            prefix,
            state: RwLock::new(State {
                capacity,
                ..State::default()
            }),
            revision_tx,
            progress_wanted: Notify::new(),
            backend,
        })
    }

    /// The key prefix this cache holds.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// How many objects the cache holds.
    pub fn len(&self) -> usize {
        self.read(|state| state.objects.len())
    }

    /// Whether the cache holds no objects.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the first list finished.
    pub fn is_ready(&self) -> bool {
        self.read(|state| state.ready)
    }

    /// The revision the cache has applied.
    pub fn revision(&self) -> Revision {
        *self.revision_tx.borrow()
    }

    /// Wait until the cache reflects at least `revision` (0: the store's current revision, i.e. a
    /// consistent read), for at most `timeout`.
    pub async fn wait_for(
        &self,
        revision: Revision,
        timeout: Duration,
    ) -> Result<Revision, CacheError> {
        let target = if revision > 0 {
            revision
        } else {
            self.backend
                .current_revision()
                .await
                .map_err(|e| CacheError::Unavailable(e.to_string()))?
        };
        let mut rx = self.revision_tx.subscribe();
        let ready = |state: &State| state.ready;
        if *rx.borrow() >= target && self.read(ready) {
            return Ok(*rx.borrow());
        }
        self.progress_wanted.notify_one();
        let wait = rx.wait_for(|current| *current >= target);
        match tokio::time::timeout(timeout, wait).await {
            Ok(Ok(current)) => Ok(*current),
            Ok(Err(_)) => Err(CacheError::Unavailable("the cache was shut down".into())),
            Err(_) => Err(CacheError::NotFresh {
                requested: target,
                current: self.revision(),
            }),
        }
    }

    fn read<T>(&self, f: impl FnOnce(&State) -> T) -> T {
        let state = self
            .state
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&state)
    }

    /// One object by key, with the cache revision.
    pub fn get(&self, key: &str) -> (Option<Object>, Revision) {
        self.read(|state| (state.objects.get(key).cloned(), state.revision))
    }

    /// Objects whose keys start with `within` (the resource prefix, or a namespace's prefix under
    /// it), after `start_after` if given, that pass `filter`, at most `limit` of them (0: all).
    pub fn list(
        &self,
        within: &str,
        start_after: Option<&str>,
        limit: usize,
        filter: impl Fn(&Object) -> bool,
    ) -> Result<ListResult, CacheError> {
        self.read(|state| {
            if !state.ready {
                return Err(CacheError::Unavailable("initial list not finished".into()));
            }
            let lower = match start_after {
                Some(key) => Bound::Excluded(key),
                None => Bound::Included(within),
            };
            let mut range = state
                .objects
                .range::<str, _>((lower, Bound::Unbounded))
                .take_while(|(key, _)| key.starts_with(within));
            let mut objects = Vec::new();
            let mut last_key = None;
            for (key, object) in range.by_ref() {
                if !filter(object) {
                    continue;
                }
                objects.push(object.clone());
                if limit > 0 && objects.len() == limit {
                    last_key = Some(key.clone());
                    break;
                }
            }
            let remaining = if last_key.is_some() { range.count() } else { 0 };
            // Only "more" when something after the last key still matches; otherwise the list
            // ended exactly at the limit.
            let last_key = match last_key {
                Some(key)
                    if state
                        .objects
                        .range::<str, _>((Bound::Excluded(&*key), Bound::Unbounded))
                        .take_while(|(k, _)| k.starts_with(within))
                        .any(|(_, o)| filter(o)) =>
                {
                    Some(key)
                }
                _ => None,
            };
            Ok(ListResult {
                objects,
                revision: state.revision,
                remaining,
                last_key,
            })
        })
    }

    /// Start watching after `revision` (0: from now, with no initial state). Returns the
    /// cursor and, when `with_initial` is set, the objects under `within` as of the cursor's
    /// start, for synthetic ADDED events.
    pub fn watch(
        self: &Arc<Self>,
        revision: Revision,
        within: &str,
        with_initial: bool,
    ) -> Result<(WatchCursor, Vec<Object>), CacheError> {
        self.read(|state| {
            if !state.ready {
                return Err(CacheError::Unavailable("initial list not finished".into()));
            }
            let start = if revision == 0 || with_initial {
                state.revision
            } else {
                if revision < state.oldest_watchable {
                    return Err(CacheError::TooOld {
                        requested: revision,
                        oldest: state.oldest_watchable,
                    });
                }
                revision
            };
            let initial = if with_initial {
                state
                    .objects
                    .range::<str, _>((Bound::Included(within), Bound::Unbounded))
                    .take_while(|(key, _)| key.starts_with(within))
                    .map(|(_, o)| o.clone())
                    .collect()
            } else {
                Vec::new()
            };
            Ok((
                WatchCursor {
                    cache: self.clone(),
                    position: start,
                    generation: state.generation,
                    revision_rx: self.revision_tx.subscribe(),
                },
                initial,
            ))
        })
    }
}

/// Most changes handed to a watcher at once.
const MAX_BATCH: usize = 500;

/// A watcher's position in a [`ResourceCache`]'s ring.
#[derive(Debug)]
pub struct WatchCursor {
    cache: Arc<ResourceCache>,
    position: Revision,
    generation: u64,
    revision_rx: watch::Receiver<Revision>,
}

impl WatchCursor {
    /// The revision of the last change handed out (or the start).
    pub fn position(&self) -> Revision {
        self.position
    }

    /// Wait for changes after the position; returns them in order (never empty), or an error when
    /// the watcher fell behind the ring or the cache relisted.
    pub async fn next(&mut self) -> Result<Vec<Change>, CacheError> {
        loop {
            let batch = self.cache.read(|state| {
                if state.generation != self.generation || self.position < state.oldest_watchable {
                    return Err(CacheError::TooOld {
                        requested: self.position,
                        oldest: state.oldest_watchable,
                    });
                }
                let first = state
                    .ring
                    .partition_point(|c| c.revision() <= self.position);
                Ok(state
                    .ring
                    .range(first..)
                    .take(MAX_BATCH)
                    .cloned()
                    .collect::<Vec<_>>())
            })?;
            if let Some(last) = batch.last() {
                self.position = last.revision();
                return Ok(batch);
            }
            if self.revision_rx.changed().await.is_err() {
                return Err(CacheError::Unavailable("the cache was shut down".into()));
            }
        }
    }

    /// For a bookmark: when no change after the position is waiting, move the position up to the
    /// cache revision and return it (nothing up to it is left to send); otherwise `None`.
    pub fn idle_revision(&mut self) -> Option<Revision> {
        let position = self.position;
        let idle = self.cache.read(|state| {
            let pending = state.ring.back().is_some_and(|c| c.revision() > position);
            (!pending && state.generation == self.generation).then_some(state.revision)
        })?;
        self.position = self.position.max(idle);
        Some(self.position)
    }
}
