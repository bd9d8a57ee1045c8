//! The etcd backend: a real etcd cluster through `etcd-client`.
//!
//! (Being written.)

use async_trait::async_trait;
use bytes::Bytes;
use std::time::Duration;

use crate::{
    Backend, DatastoreTls, KeyValue, ListRequest, ListResponse, Result, Revision, StorageError, Watch,
};

/// The etcd backend.
#[derive(Debug)]
pub struct EtcdBackend {}

impl EtcdBackend {
    /// Connect to etcd at `endpoints` (http:// or https:// URLs), with client TLS from `tls`.
    pub async fn connect(endpoints: &[String], tls: &DatastoreTls) -> Result<Self> {
        let _ = (endpoints, tls);
        Err(StorageError::Unavailable("etcd backend not implemented yet".into()))
    }
}

#[async_trait]
impl Backend for EtcdBackend {
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
