//! The embedded store: the default backend, durable on local disk with no other process.
//!
//! (Being written: see `ARCHITECTURE.md` for the design.)

use std::path::Path;

use async_trait::async_trait;
use bytes::Bytes;
use std::time::Duration;

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
}

impl Default for Options {
    fn default() -> Self {
        Options {
            segment_bytes: 64 << 20,
            ttl_check_interval: Duration::from_millis(500),
            max_history_bytes: 512 << 20,
        }
    }
}

/// The embedded backend.
#[derive(Debug)]
pub struct EmbeddedBackend {}

impl EmbeddedBackend {
    /// Open (or create) the store in `dir`, replaying its snapshot and log.
    pub async fn open(dir: &Path, options: Options) -> Result<Self> {
        let _ = (dir, options);
        Err(StorageError::Unavailable("embedded store not implemented yet".into()))
    }
}

#[async_trait]
impl Backend for EmbeddedBackend {
    async fn current_revision(&self) -> Result<Revision> {
        unimplemented!()
    }
    async fn compacted_revision(&self) -> Result<Revision> {
        unimplemented!()
    }
    async fn get(&self, _key: &str, _revision: Revision) -> Result<(Revision, Option<KeyValue>)> {
        unimplemented!()
    }
    async fn list(&self, _request: &ListRequest) -> Result<ListResponse> {
        unimplemented!()
    }
    async fn count(&self, _prefix: &str) -> Result<(Revision, i64)> {
        unimplemented!()
    }
    async fn create(&self, _key: &str, _value: Bytes, _ttl: Option<Duration>) -> Result<Revision> {
        unimplemented!()
    }
    async fn update(
        &self,
        _key: &str,
        _value: Bytes,
        _expected: Revision,
        _ttl: Option<Duration>,
    ) -> Result<Revision> {
        unimplemented!()
    }
    async fn delete(&self, _key: &str, _expected: Option<Revision>) -> Result<(Revision, KeyValue)> {
        unimplemented!()
    }
    async fn watch(&self, _prefix: &str, _start: Revision) -> Result<Watch> {
        unimplemented!()
    }
    async fn compact(&self, _revision: Revision) -> Result<()> {
        unimplemented!()
    }
    async fn size_on_disk(&self) -> Result<u64> {
        unimplemented!()
    }
}
