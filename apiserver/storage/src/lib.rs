//! Revisioned key-value storage with etcd's data model.
//!
//! This crate owns the [`Backend`] trait, the only way the API server touches persistent state, and its
//! two implementations: [`embedded::EmbeddedBackend`] (the default; an in-memory MVCC index made durable
//! by a checksummed write-ahead log and snapshots under the data dir) and [`etcd::EtcdBackend`] (a real
//! etcd cluster through `etcd-client`). [`open`] picks one from a datastore endpoint, as kine does by URL
//! scheme.
//!
//! # Invariants every backend keeps
//!
//! These are what kube-apiserver relies on from etcd; the contract suite in `tests/contract.rs` checks
//! each of them against every backend.
//!
//! 1. **One global revision.** Every successful write (create, update, delete, TTL expiry) increases the
//!    store's revision by exactly one, and that revision becomes the written key's `mod_revision`.
//!    Reads never change it. Failed writes (conflicts, not found, already exists) never consume one.
//! 2. **Per-key metadata.** `create_revision` is the revision that created the key (a re-create after a
//!    delete starts a new life with a new `create_revision`), `version` counts writes since the create
//!    (1 on create).
//! 3. **Create fails if the key exists** with [`StorageError::AlreadyExists`].
//! 4. **Compare-and-swap.** `update` and a conditional `delete` compare the caller's expected
//!    `mod_revision` with the key's; on mismatch they fail with [`StorageError::Conflict`] carrying the
//!    current value, so that a retry loop need not read again. A missing key is [`StorageError::NotFound`].
//! 5. **Reads at a revision.** `get` and `list` with `revision > 0` see the store exactly as it was
//!    after that revision; with `revision == 0` they see the latest committed state. Every read reports
//!    the revision it was served at. A revision above the current one is
//!    [`StorageError::FutureRevision`].
//! 6. **Watch never skips or reorders.** A watch from revision `r` yields every change to a key under its
//!    prefix with revision `>= r`, in strictly increasing revision order, each update and delete with the
//!    previous value. It yields [`WatchResponse::Progress`] to say "nothing under this prefix up to this
//!    revision that you have not seen". A watch that can no longer be served (its start revision is
//!    compacted, or it fell behind compaction) fails with [`StorageError::Compacted`] and ends; the
//!    client must list again (HTTP 410 Gone at the API edge).
//! 7. **Compaction.** After `compact(c)`, reads and watches at revisions `< c` fail with
//!    [`StorageError::Compacted`]; reads at `>= c` and watches from `> c` still work. (A watch from
//!    exactly `c` may fail on etcd: an update at `c` needs its previous value, which etcd's
//!    compaction discarded. kube-apiserver never asks for it: a watch from resourceVersion `r`
//!    starts at storage revision `r + 1`.)
//! 8. **Durability.** A write is acknowledged only once it survives a crash of the process.
//! 9. **Visibility follows durability.** No read or watch ever observes a write that has not been
//!    acknowledged as durable, so a revision that a client saw can never be lost or reused.
//! 10. **TTL.** A key written with a TTL is deleted by the store (a normal delete revision, seen by
//!     watchers) once the TTL has passed; a later write without a TTL clears it. Expiry is not instant:
//!     it happens within about a second of the deadline.

pub mod compactor;
pub mod embedded;
pub mod etcd;

use std::{fmt, path::PathBuf, pin::Pin, sync::Arc, task::Poll, time::Duration};

use async_trait::async_trait;
use bytes::Bytes;
use futures::{Stream, stream::BoxStream};

/// A store revision. It only grows; 0 means "latest" in requests.
pub type Revision = i64;

/// A key and its value as stored at some revision.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyValue {
    /// The full key, for example `/registry/configmaps/default/app`.
    pub key: Arc<str>,
    /// The stored bytes; cheap to clone.
    pub value: Bytes,
    /// The revision that created this key's current life.
    pub create_revision: Revision,
    /// The revision of the last write to this key.
    pub mod_revision: Revision,
    /// Writes to this key since its create (1 after the create).
    pub version: i64,
}

impl fmt::Debug for KeyValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyValue")
            .field("key", &self.key)
            .field("value_len", &self.value.len())
            .field("create_revision", &self.create_revision)
            .field("mod_revision", &self.mod_revision)
            .field("version", &self.version)
            .finish()
    }
}

/// What a [`Backend::list`] reads.
#[derive(Debug, Clone, Default)]
pub struct ListRequest {
    /// Only keys starting with this prefix. Kubernetes prefixes end in `/`.
    pub prefix: String,
    /// Start at this key (inclusive) instead of the beginning of the prefix; used by pagination.
    /// Must itself start with `prefix`, or be empty.
    pub start_key: String,
    /// At most this many keys; 0 means no limit.
    pub limit: usize,
    /// Read at this revision; 0 means the latest.
    pub revision: Revision,
}

/// The answer to a [`Backend::list`].
#[derive(Debug, Clone, Default)]
pub struct ListResponse {
    /// The keys in key order.
    pub kvs: Vec<KeyValue>,
    /// The revision the list was read at (the current revision when the request said 0).
    pub revision: Revision,
    /// True when the limit cut the list short: more keys follow the last one returned.
    pub more: bool,
    /// How many keys the range from `start_key` holds in all, including those returned.
    pub count: i64,
}

/// One change seen by a watch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A key was created; `create_revision == mod_revision`.
    Created(KeyValue),
    /// A key was overwritten.
    Updated {
        /// The new value.
        kv: KeyValue,
        /// The value it replaced.
        prev: KeyValue,
    },
    /// A key was deleted (by a client or by TTL expiry).
    Deleted {
        /// The revision of the delete.
        revision: Revision,
        /// The last value the key held.
        prev: KeyValue,
    },
}

impl Event {
    /// The revision at which this change happened.
    pub fn revision(&self) -> Revision {
        match self {
            Event::Created(kv) | Event::Updated { kv, .. } => kv.mod_revision,
            Event::Deleted { revision, .. } => *revision,
        }
    }

    /// The key that changed.
    pub fn key(&self) -> &str {
        match self {
            Event::Created(kv) | Event::Updated { kv, .. } => &kv.key,
            Event::Deleted { prev, .. } => &prev.key,
        }
    }
}

/// One message on a watch stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchResponse {
    /// Changes in increasing revision order; never empty.
    Events(Vec<Event>),
    /// Every change under the watched prefix up to and including this revision has been delivered.
    Progress(Revision),
}

/// Asks a watch to report its progress; see [`Watch::request_progress`].
pub trait ProgressRequester: Send + Sync + fmt::Debug {
    /// Ask for one [`WatchResponse::Progress`] once the watch has caught up with the store's current
    /// revision. Never blocks; a request made while one is pending may be merged with it.
    fn request_progress(&self);
}

/// A running watch: a stream of [`WatchResponse`]s that ends after an error or when dropped.
pub struct Watch {
    stream: BoxStream<'static, Result<WatchResponse, StorageError>>,
    progress: Box<dyn ProgressRequester>,
}

impl Watch {
    /// Assemble a watch from a backend's stream and its progress requester.
    pub fn new(
        stream: BoxStream<'static, Result<WatchResponse, StorageError>>,
        progress: Box<dyn ProgressRequester>,
    ) -> Self {
        Watch { stream, progress }
    }

    /// Ask for a [`WatchResponse::Progress`] at (at least) the store revision current now. The watch
    /// cache uses this to serve consistent reads: once the progress arrives, it has seen every write.
    pub fn request_progress(&self) {
        self.progress.request_progress();
    }
}

impl fmt::Debug for Watch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Watch").finish_non_exhaustive()
    }
}

impl Stream for Watch {
    type Item = Result<WatchResponse, StorageError>;

    fn poll_next(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> Poll<Option<Self::Item>> {
        self.stream.as_mut().poll_next(cx)
    }
}

/// Every way a storage operation can fail.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// `create` found the key already there.
    #[error("key {key:?} already exists")]
    AlreadyExists {
        /// The key.
        key: String,
    },
    /// The key does not exist (update, conditional or plain delete).
    #[error("key {key:?} not found")]
    NotFound {
        /// The key.
        key: String,
    },
    /// The key's `mod_revision` is not the one the caller expected.
    #[error("key {key:?} was modified: expected revision {expected}, found {}", current.mod_revision)]
    Conflict {
        /// The key.
        key: String,
        /// The revision the caller expected.
        expected: Revision,
        /// The key as it is now, so that a retry need not read it again.
        current: Box<KeyValue>,
    },
    /// The requested revision is older than the oldest revision the store still holds.
    #[error("required revision {requested} has been compacted (oldest available: {compacted})")]
    Compacted {
        /// The revision the caller asked for.
        requested: Revision,
        /// The compaction revision: the oldest revision still readable.
        compacted: Revision,
    },
    /// The requested revision is newer than the store's current revision.
    #[error("required revision {requested} is a future revision (current: {current})")]
    FutureRevision {
        /// The revision the caller asked for.
        requested: Revision,
        /// The store's current revision.
        current: Revision,
    },
    /// The request itself is malformed (an empty key, a start key outside the prefix, ...).
    #[error("invalid storage request: {0}")]
    InvalidRequest(String),
    /// The datastore endpoint or its TLS files are not usable.
    #[error("invalid datastore configuration: {0}")]
    Config(String),
    /// Reading or writing the embedded store's files failed.
    #[error("storage I/O error: {context}")]
    Io {
        /// What the store was doing.
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The embedded store's files hold data that fails its checksums beyond a torn tail.
    #[error("storage data is corrupt: {0}")]
    Corrupt(String),
    /// An etcd request failed.
    #[error("etcd request failed: {context}")]
    Etcd {
        /// What the backend was doing.
        context: String,
        /// The client's error.
        #[source]
        source: Box<etcd_client::Error>,
    },
    /// The store is shut down or has failed (after an fsync error the embedded store refuses writes
    /// rather than risk acknowledging lost data).
    #[error("storage unavailable: {0}")]
    Unavailable(String),
}

impl StorageError {
    /// An I/O error with what the store was doing.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        StorageError::Io {
            context: context.into(),
            source,
        }
    }

    /// An etcd client error with what the backend was doing.
    pub fn etcd(context: impl Into<String>, source: etcd_client::Error) -> Self {
        StorageError::Etcd {
            context: context.into(),
            source: Box::new(source),
        }
    }
}

/// Result type of this crate.
pub type Result<T, E = StorageError> = std::result::Result<T, E>;

/// The storage contract: etcd's data model as kube-apiserver uses it. See the crate docs for the
/// invariants every implementation keeps.
#[async_trait]
pub trait Backend: Send + Sync + fmt::Debug + 'static {
    /// The latest committed revision. An empty store starts at 0 (embedded) or 1 (etcd, whose first
    /// write is revision 2); callers must not assume either.
    async fn current_revision(&self) -> Result<Revision>;

    /// The compaction revision: reads below it fail (0 if never compacted).
    async fn compacted_revision(&self) -> Result<Revision>;

    /// Read one key at `revision` (0: latest). Returns the revision read at and the key if it existed.
    async fn get(&self, key: &str, revision: Revision) -> Result<(Revision, Option<KeyValue>)>;

    /// Read keys under a prefix; see [`ListRequest`].
    async fn list(&self, request: &ListRequest) -> Result<ListResponse>;

    /// Count the keys under a prefix at the latest revision. Returns (revision, count).
    async fn count(&self, prefix: &str) -> Result<(Revision, i64)>;

    /// Create a key that must not exist. `ttl` makes the store delete it later. Returns the new
    /// revision, which is the key's `create_revision` and `mod_revision`.
    async fn create(&self, key: &str, value: Bytes, ttl: Option<Duration>) -> Result<Revision>;

    /// Overwrite a key whose `mod_revision` is `expected`. Returns the new revision.
    async fn update(
        &self,
        key: &str,
        value: Bytes,
        expected: Revision,
        ttl: Option<Duration>,
    ) -> Result<Revision>;

    /// Delete a key; when `expected` is `Some`, only if its `mod_revision` matches. Returns the delete
    /// revision and the value the key held.
    async fn delete(&self, key: &str, expected: Option<Revision>) -> Result<(Revision, KeyValue)>;

    /// Watch every key under `prefix` from `start` (inclusive). `start == 0` means "changes after the
    /// current revision".
    async fn watch(&self, prefix: &str, start: Revision) -> Result<Watch>;

    /// Forget history before `revision`; see the crate docs.
    async fn compact(&self, revision: Revision) -> Result<()>;

    /// Bytes the store occupies on disk (etcd: its database size), for metrics.
    async fn size_on_disk(&self) -> Result<u64>;
}

/// TLS material for an etcd datastore (k3s `--datastore-cafile`, `--datastore-certfile`,
/// `--datastore-keyfile`).
#[derive(Debug, Clone, Default)]
pub struct DatastoreTls {
    /// CA bundle that signed the etcd servers' certificates.
    pub ca_file: Option<PathBuf>,
    /// Client certificate presented to etcd.
    pub cert_file: Option<PathBuf>,
    /// Key of the client certificate.
    pub key_file: Option<PathBuf>,
}

/// Where and how to store data.
#[derive(Debug, Clone)]
pub struct DatastoreConfig {
    /// Empty: the embedded store in `embedded_dir`. Otherwise comma-separated `http://` or `https://`
    /// etcd endpoints.
    pub endpoint: String,
    /// Directory of the embedded store.
    pub embedded_dir: PathBuf,
    /// TLS files for etcd.
    pub tls: DatastoreTls,
}

/// Open the backend a datastore endpoint names: the embedded store when it is empty, etcd for
/// `http://` and `https://` endpoints. Anything else is a [`StorageError::Config`].
pub async fn open(config: &DatastoreConfig) -> Result<Arc<dyn Backend>> {
    match DatastoreKind::parse(&config.endpoint)? {
        DatastoreKind::Embedded => {
            let backend =
                embedded::EmbeddedBackend::open(&config.embedded_dir, embedded::Options::default())
                    .await?;
            Ok(Arc::new(backend))
        }
        DatastoreKind::Etcd(endpoints) => {
            let backend = etcd::EtcdBackend::connect(&endpoints, &config.tls).await?;
            Ok(Arc::new(backend))
        }
    }
}

/// Which backend an endpoint selects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatastoreKind {
    /// The embedded store.
    Embedded,
    /// etcd at these endpoints.
    Etcd(Vec<String>),
}

impl DatastoreKind {
    /// Parse a `--datastore-endpoint` value.
    pub fn parse(endpoint: &str) -> Result<Self> {
        let endpoint = endpoint.trim();
        if endpoint.is_empty() {
            return Ok(DatastoreKind::Embedded);
        }
        let endpoints: Vec<String> = endpoint
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .map(str::to_owned)
            .collect();
        for e in &endpoints {
            if !(e.starts_with("http://") || e.starts_with("https://")) {
                let scheme = e.split_once("://").map_or(e.as_str(), |(s, _)| s);
                return Err(StorageError::Config(format!(
                    "unsupported datastore endpoint {e:?}: scheme {scheme:?} is not supported; use an empty \
                     endpoint for the embedded store or http:// / https:// URLs for etcd"
                )));
            }
        }
        Ok(DatastoreKind::Etcd(endpoints))
    }
}

/// The range end that covers every key with `prefix` (etcd's `GetPrefix`): the prefix with its last
/// byte incremented, dropping trailing 0xff bytes. Empty means "to the end of the key space".
pub fn prefix_range_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_selects_backend() {
        assert_eq!(DatastoreKind::parse("").ok(), Some(DatastoreKind::Embedded));
        assert_eq!(
            DatastoreKind::parse("http://127.0.0.1:2379, https://10.0.0.2:2379").ok(),
            Some(DatastoreKind::Etcd(vec![
                "http://127.0.0.1:2379".into(),
                "https://10.0.0.2:2379".into()
            ]))
        );
        assert!(matches!(
            DatastoreKind::parse("sqlite:///tmp/x.db"),
            Err(StorageError::Config(_))
        ));
    }

    #[test]
    fn range_end_of_prefix() {
        assert_eq!(prefix_range_end(b"/registry/"), b"/registry0".to_vec());
        assert_eq!(prefix_range_end(b"a\xff"), b"b".to_vec());
        assert_eq!(prefix_range_end(b"\xff\xff"), Vec::<u8>::new());
    }
}
