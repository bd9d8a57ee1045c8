//! The etcd backend: a real etcd cluster through `etcd-client`, used the way upstream kube-apiserver's
//! etcd3 store uses it.
//!
//! This module owns the connection (endpoints, client TLS, timeouts), the mapping of every [`Backend`]
//! call to etcd requests (compare-and-swap transactions for writes, ranges at a revision for reads),
//! the mapping of etcd's errors to [`StorageError`], and the discovery of the compaction revision.
//! Lease reuse for TTL writes lives in [`lease`], the watch forwarder in [`watch`].
//!
//! etcd numbers revisions from 1 for an empty store (its first write is revision 2); the backend
//! passes etcd's revisions through unchanged, so that they match what other etcd clients see.

mod lease;
mod watch;

use std::{
    fmt,
    future::Future,
    path::Path,
    sync::{
        Arc,
        atomic::{AtomicI64, Ordering},
    },
    time::{Duration, Instant},
};

use async_trait::async_trait;
use bytes::Bytes;
use etcd_client::{
    Certificate, Client, CompactionOptions, Compare, CompareOp, ConnectOptions, DeleteOptions,
    GetOptions, Identity, KvClient, LeaseClient, MaintenanceClient, PutOptions, TlsOptions, Txn,
    TxnOp, TxnOpResponse, WatchClient, WatchOptions,
};

use crate::{
    Backend, DatastoreTls, KeyValue, ListRequest, ListResponse, Result, Revision, StorageError,
    Watch, prefix_range_end,
};

/// How long connecting (and the first request) may take before `connect` gives up.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one unary request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Largest response accepted (etcd's own client allows `math.MaxInt32`): big lists must decode.
const MAX_RESPONSE_BYTES: usize = i32::MAX as usize;
/// A key no Kubernetes object uses, for requests that only want a response header.
const PROBE_KEY: &[u8] = b"\0tugboat-probe";

/// The etcd backend.
pub struct EtcdBackend {
    endpoints: Vec<String>,
    kv: KvClient,
    watch: WatchClient,
    lease: LeaseClient,
    maintenance: MaintenanceClient,
    leases: lease::LeaseManager,
    /// The highest compaction revision this backend performed or observed.
    compacted: Arc<AtomicI64>,
    /// How long requested progress notifications are held (see [`watch`]); zero on fixed etcd.
    progress_hold: Duration,
    server_version: String,
}

impl fmt::Debug for EtcdBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EtcdBackend")
            .field("endpoints", &self.endpoints)
            .field("server_version", &self.server_version)
            .field("compacted", &self.compacted.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl EtcdBackend {
    /// Connect to etcd at `endpoints` (http:// or https:// URLs), with client TLS from `tls`.
    ///
    /// Fails with [`StorageError::Config`] for unusable endpoints or TLS files and with
    /// [`StorageError::Unavailable`] when no endpoint answers within a few seconds.
    pub async fn connect(endpoints: &[String], tls: &DatastoreTls) -> Result<Self> {
        if endpoints.is_empty() {
            return Err(StorageError::Config("no etcd endpoints given".into()));
        }
        let https = endpoints
            .iter()
            .filter(|e| e.starts_with("https://"))
            .count();
        let http = endpoints
            .iter()
            .filter(|e| e.starts_with("http://"))
            .count();
        if https + http != endpoints.len() {
            return Err(StorageError::Config(format!(
                "etcd endpoints must be http:// or https:// URLs: {endpoints:?}"
            )));
        }
        if https > 0 && http > 0 {
            return Err(StorageError::Config(format!(
                "etcd endpoints mix http:// and https://: {endpoints:?}"
            )));
        }
        let mut options = ConnectOptions::new()
            .with_connect_timeout(CONNECT_TIMEOUT)
            .with_keep_alive(Duration::from_secs(30), Duration::from_secs(10))
            .with_keep_alive_while_idle(true)
            .with_tcp_keepalive(Duration::from_secs(30));
        if https > 0 {
            options = options.with_tls(tls_options(tls)?);
        } else if tls.cert_file.is_some() || tls.key_file.is_some() {
            tracing::warn!("datastore TLS files are ignored for http:// etcd endpoints");
        }

        let described = endpoints.join(",");
        let unreachable = |detail: String| {
            StorageError::Unavailable(format!("cannot reach etcd at {described}: {detail}"))
        };
        let client =
            match tokio::time::timeout(CONNECT_TIMEOUT, Client::connect(endpoints, Some(options)))
                .await
            {
                Ok(Ok(client)) => client,
                Ok(Err(error)) => {
                    return Err(StorageError::etcd(
                        format!("connecting to etcd at {described}"),
                        error,
                    ));
                }
                Err(_) => return Err(unreachable(format!("no answer within {CONNECT_TIMEOUT:?}"))),
            };
        let mut maintenance = client.maintenance_client();
        let status = match tokio::time::timeout(CONNECT_TIMEOUT, maintenance.status()).await {
            Ok(Ok(status)) => status,
            Ok(Err(error)) => {
                return Err(StorageError::etcd(
                    format!("reading the status of etcd at {described}"),
                    error,
                ));
            }
            Err(_) => {
                return Err(unreachable(format!(
                    "no answer within {CONNECT_TIMEOUT:?} (is etcd running, and do the TLS \
                     settings match the server's?)"
                )));
            }
        };
        let server_version = status.version().to_owned();
        let progress_hold = if progress_races_events(&server_version) {
            tracing::warn!(
                version = %server_version,
                "this etcd version sends requested watch progress out of order with events \
                 (etcd issue 15220; fixed in 3.4.24 and 3.5.8); holding progress notifications back"
            );
            watch::BUGGY_PROGRESS_HOLD
        } else {
            Duration::ZERO
        };
        Ok(EtcdBackend {
            endpoints: endpoints.to_vec(),
            kv: client
                .kv_client()
                .max_decoding_message_size(MAX_RESPONSE_BYTES),
            watch: client
                .watch_client()
                .max_decoding_message_size(MAX_RESPONSE_BYTES),
            lease: client.lease_client(),
            maintenance,
            leases: lease::LeaseManager::default(),
            compacted: Arc::new(AtomicI64::new(0)),
            progress_hold,
            server_version,
        })
    }

    /// The version the etcd server reported at connect time.
    pub fn server_version(&self) -> &str {
        &self.server_version
    }

    /// A lease for a write with this TTL: a reused one when possible, else a newly granted one.
    async fn lease_for(&self, ttl: Duration) -> Result<i64> {
        let now = Instant::now();
        if let Some(id) = self.leases.reuse(ttl, now) {
            return Ok(id);
        }
        let (secs, reuse) = lease::grant_ttl_secs(ttl);
        let grant_secs = secs + reuse;
        let ttl_arg = i64::try_from(grant_secs).unwrap_or(i64::MAX);
        let mut client = self.lease.clone();
        let response = timed("granting a lease", client.grant(ttl_arg, None))
            .await?
            .map_err(|e| StorageError::etcd("granting a lease", e))?;
        // etcd may raise a TTL below its minimum; the lease then lives longer, never shorter.
        let granted = u64::try_from(response.ttl()).unwrap_or(0).max(grant_secs);
        self.leases.remember(response.id(), now, granted);
        Ok(response.id())
    }

    /// Put options for a write, with a lease when it has a TTL.
    async fn put_options(&self, ttl: Option<Duration>) -> Result<(PutOptions, Option<i64>)> {
        match ttl {
            Some(ttl) => {
                let id = self.lease_for(ttl).await?;
                Ok((PutOptions::new().with_lease(id), Some(id)))
            }
            None => Ok((PutOptions::new(), None)),
        }
    }

    /// Run a write transaction; if etcd no longer knows the reused lease, forget it and retry once
    /// with a fresh one.
    async fn write_txn(
        &self,
        context: &str,
        ttl: Option<Duration>,
        build: impl Fn(PutOptions) -> Txn,
    ) -> Result<etcd_client::TxnResponse> {
        let mut retried = false;
        loop {
            let (options, lease) = self.put_options(ttl).await?;
            let mut kv = self.kv.clone();
            match timed(context, kv.txn(build(options))).await? {
                Ok(response) => return Ok(response),
                Err(error) if !retried && lease.is_some() && is_lease_not_found(&error) => {
                    if let Some(id) = lease {
                        self.leases.forget(id);
                    }
                    retried = true;
                }
                Err(error) => return Err(StorageError::etcd(context.to_owned(), error)),
            }
        }
    }

    /// Map an error of a request made at `revision`: compaction and future revisions get their own
    /// variants, everything else is an etcd error with `context`.
    async fn revision_error(
        &self,
        context: &str,
        error: etcd_client::Error,
        revision: Revision,
    ) -> StorageError {
        if is_compacted(&error) {
            let compacted = match self.discover_compacted().await {
                Ok(c) => c,
                Err(_) => self.compacted.load(Ordering::Relaxed),
            };
            StorageError::Compacted {
                requested: revision,
                compacted,
            }
        } else if is_future_revision(&error) {
            let current = self.current_revision().await.unwrap_or(0);
            StorageError::FutureRevision {
                requested: revision,
                current,
            }
        } else {
            StorageError::etcd(context.to_owned(), error)
        }
    }

    /// Whether a read at `revision` is still possible (false: compacted).
    async fn readable_at(&self, revision: Revision) -> Result<bool> {
        let mut kv = self.kv.clone();
        let options = GetOptions::new().with_revision(revision).with_count_only();
        match timed(
            "probing the compaction revision",
            kv.get(PROBE_KEY, Some(options)),
        )
        .await?
        {
            Ok(_) => Ok(true),
            Err(error) if is_compacted(&error) => Ok(false),
            Err(error) => Err(StorageError::etcd("probing the compaction revision", error)),
        }
    }

    /// Find etcd's compaction revision: the oldest revision still readable. etcd 3.4 reports it
    /// nowhere cheap, so binary-search it with count-only reads, starting from the highest one known
    /// (usually one request: the known revision is still the compaction revision).
    async fn discover_compacted(&self) -> Result<Revision> {
        let known = self.compacted.load(Ordering::Relaxed);
        let low = known.max(1);
        if self.readable_at(low).await? {
            return Ok(known);
        }
        // `low` is compacted away; the current revision is always readable.
        let mut low = low;
        let mut high = self.current_revision().await?;
        while high - low > 1 {
            let mid = low + (high - low) / 2;
            if self.readable_at(mid).await? {
                high = mid;
            } else {
                low = mid;
            }
        }
        self.compacted.fetch_max(high, Ordering::Relaxed);
        Ok(self.compacted.load(Ordering::Relaxed))
    }

    /// The current value of `key` from the else branch of a failed compare-and-swap.
    fn else_get(response: &etcd_client::TxnResponse) -> Option<KeyValue> {
        response.op_responses().into_iter().find_map(|r| match r {
            TxnOpResponse::Get(mut get) => get.take_kvs().into_iter().next().map(convert_kv),
            _ => None,
        })
    }

    /// Read one key at the latest revision (for writes that cannot succeed anyway).
    async fn get_latest(&self, key: &str) -> Result<Option<KeyValue>> {
        Ok(self.get(key, 0).await?.1)
    }
}

/// Client TLS from the datastore files. A named file that cannot be read is a config error.
fn tls_options(tls: &DatastoreTls) -> Result<TlsOptions> {
    let read = |what: &str, path: &Path| {
        std::fs::read(path).map_err(|e| {
            StorageError::Config(format!(
                "cannot read the datastore {what} {}: {e}",
                path.display()
            ))
        })
    };
    let mut options = TlsOptions::new();
    match &tls.ca_file {
        Some(path) => {
            options = options.ca_certificate(Certificate::from_pem(read("CA file", path)?));
        }
        None => {
            return Err(StorageError::Config(
                "https:// etcd endpoints need a CA file (--datastore-cafile)".into(),
            ));
        }
    }
    match (&tls.cert_file, &tls.key_file) {
        (Some(cert), Some(key)) => {
            options = options.identity(Identity::from_pem(
                read("certificate file", cert)?,
                read("key file", key)?,
            ));
        }
        (None, None) => {}
        (Some(_), None) | (None, Some(_)) => {
            return Err(StorageError::Config(
                "the datastore certificate and key files must be given together".into(),
            ));
        }
    }
    Ok(options)
}

/// Whether this etcd version answers a progress request out of order with the event stream.
fn progress_races_events(version: &str) -> bool {
    let mut parts = version
        .split(['.', '-', '+'])
        .map(|p| p.parse::<u64>().ok());
    let (Some(Some(major)), Some(Some(minor)), Some(Some(patch))) =
        (parts.next(), parts.next(), parts.next())
    else {
        return true;
    };
    match (major, minor) {
        (3, 4) => patch < 24,
        (3, 5) => patch < 8,
        (3, m) => m < 4,
        (m, _) => m < 3,
    }
}

/// Bound a unary request; a timeout is [`StorageError::Unavailable`].
async fn timed<T>(
    context: &str,
    request: impl Future<Output = Result<T, etcd_client::Error>>,
) -> Result<Result<T, etcd_client::Error>> {
    tokio::time::timeout(REQUEST_TIMEOUT, request)
        .await
        .map_err(|_| {
            StorageError::Unavailable(format!(
                "etcd did not answer within {REQUEST_TIMEOUT:?} ({context})"
            ))
        })
}

fn grpc_message(error: &etcd_client::Error) -> Option<&str> {
    match error {
        etcd_client::Error::GRpcStatus(status) => Some(status.message()),
        _ => None,
    }
}

fn is_compacted(error: &etcd_client::Error) -> bool {
    grpc_message(error).is_some_and(|m| m.contains("required revision has been compacted"))
}

fn is_future_revision(error: &etcd_client::Error) -> bool {
    grpc_message(error).is_some_and(|m| m.contains("required revision is a future revision"))
}

fn is_lease_not_found(error: &etcd_client::Error) -> bool {
    grpc_message(error).is_some_and(|m| m.contains("requested lease not found"))
}

/// An etcd key-value as this crate's [`KeyValue`], without copying the value.
pub(crate) fn convert_kv(kv: etcd_client::KeyValue) -> KeyValue {
    let (create_revision, mod_revision, version) =
        (kv.create_revision(), kv.mod_revision(), kv.version());
    let (key, value) = kv.into_key_value();
    let key = match String::from_utf8(key) {
        Ok(key) => key,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    };
    KeyValue {
        key: Arc::from(key),
        value: Bytes::from(value),
        create_revision,
        mod_revision,
        version,
    }
}

fn header_revision(header: Option<&etcd_client::ResponseHeader>) -> Revision {
    header.map_or(0, |h| h.revision())
}

fn check_key(key: &str) -> Result<()> {
    if key.is_empty() {
        return Err(StorageError::InvalidRequest("empty key".into()));
    }
    Ok(())
}

/// The etcd range (key, range end) covering every key under `prefix`.
fn prefix_range(prefix: &str) -> (Vec<u8>, Vec<u8>) {
    let end = prefix_range_end(prefix.as_bytes());
    // An empty range end would mean "this one key"; "\0" means "to the end of the key space".
    let end = if end.is_empty() { vec![0] } else { end };
    let start = if prefix.is_empty() {
        vec![0]
    } else {
        prefix.as_bytes().to_vec()
    };
    (start, end)
}

#[async_trait]
impl Backend for EtcdBackend {
    async fn current_revision(&self) -> Result<Revision> {
        let mut kv = self.kv.clone();
        let options = GetOptions::new().with_count_only();
        let response = timed(
            "reading the current revision",
            kv.get(PROBE_KEY, Some(options)),
        )
        .await?
        .map_err(|e| StorageError::etcd("reading the current revision", e))?;
        Ok(header_revision(response.header()))
    }

    async fn compacted_revision(&self) -> Result<Revision> {
        self.discover_compacted().await
    }

    async fn get(&self, key: &str, revision: Revision) -> Result<(Revision, Option<KeyValue>)> {
        check_key(key)?;
        let mut kv = self.kv.clone();
        let mut options = GetOptions::new();
        if revision > 0 {
            options = options.with_revision(revision);
        }
        let context = "reading a key";
        let mut response = match timed(context, kv.get(key, Some(options))).await? {
            Ok(response) => response,
            Err(error) => return Err(self.revision_error(context, error, revision).await),
        };
        let read_at = if revision > 0 {
            revision
        } else {
            header_revision(response.header())
        };
        Ok((
            read_at,
            response.take_kvs().into_iter().next().map(convert_kv),
        ))
    }

    async fn list(&self, request: &ListRequest) -> Result<ListResponse> {
        if !request.start_key.is_empty() && !request.start_key.starts_with(&request.prefix) {
            return Err(StorageError::InvalidRequest(format!(
                "start key {:?} is not under prefix {:?}",
                request.start_key, request.prefix
            )));
        }
        let (start, end) = prefix_range(&request.prefix);
        let start = if request.start_key.is_empty() {
            start
        } else {
            request.start_key.as_bytes().to_vec()
        };
        let mut options = GetOptions::new().with_range(end);
        if request.limit > 0 {
            options = options.with_limit(i64::try_from(request.limit).unwrap_or(i64::MAX));
        }
        if request.revision > 0 {
            options = options.with_revision(request.revision);
        }
        let mut kv = self.kv.clone();
        let context = "listing keys";
        let mut response = match timed(context, kv.get(start, Some(options))).await? {
            Ok(response) => response,
            Err(error) => return Err(self.revision_error(context, error, request.revision).await),
        };
        let revision = if request.revision > 0 {
            request.revision
        } else {
            header_revision(response.header())
        };
        let (more, count) = (response.more(), response.count());
        Ok(ListResponse {
            kvs: response.take_kvs().into_iter().map(convert_kv).collect(),
            revision,
            more,
            count,
        })
    }

    async fn count(&self, prefix: &str) -> Result<(Revision, i64)> {
        let (start, end) = prefix_range(prefix);
        let mut kv = self.kv.clone();
        let options = GetOptions::new().with_range(end).with_count_only();
        let response = timed("counting keys", kv.get(start, Some(options)))
            .await?
            .map_err(|e| StorageError::etcd("counting keys", e))?;
        Ok((header_revision(response.header()), response.count()))
    }

    async fn create(&self, key: &str, value: Bytes, ttl: Option<Duration>) -> Result<Revision> {
        check_key(key)?;
        let response = self
            .write_txn("creating a key", ttl, |options| {
                Txn::new()
                    .when([Compare::mod_revision(key, CompareOp::Equal, 0)])
                    .and_then([TxnOp::put(key, value.to_vec(), Some(options))])
            })
            .await?;
        if !response.succeeded() {
            return Err(StorageError::AlreadyExists {
                key: key.to_owned(),
            });
        }
        Ok(header_revision(response.header()))
    }

    async fn update(
        &self,
        key: &str,
        value: Bytes,
        expected: Revision,
        ttl: Option<Duration>,
    ) -> Result<Revision> {
        check_key(key)?;
        let not_found = || StorageError::NotFound {
            key: key.to_owned(),
        };
        let conflict = |current: KeyValue| StorageError::Conflict {
            key: key.to_owned(),
            expected,
            current: Box::new(current),
        };
        if expected <= 0 {
            // No live key has mod_revision 0, and comparing with 0 would match a missing key.
            return Err(self.get_latest(key).await?.map_or_else(not_found, conflict));
        }
        let response = self
            .write_txn("updating a key", ttl, |options| {
                Txn::new()
                    .when([Compare::mod_revision(key, CompareOp::Equal, expected)])
                    .and_then([TxnOp::put(key, value.to_vec(), Some(options))])
                    .or_else([TxnOp::get(key, None)])
            })
            .await?;
        if response.succeeded() {
            return Ok(header_revision(response.header()));
        }
        Err(Self::else_get(&response).map_or_else(not_found, conflict))
    }

    async fn delete(&self, key: &str, expected: Option<Revision>) -> Result<(Revision, KeyValue)> {
        check_key(key)?;
        let not_found = || StorageError::NotFound {
            key: key.to_owned(),
        };
        let mut kv = self.kv.clone();
        let Some(expected) = expected else {
            let context = "deleting a key";
            let mut response = timed(
                context,
                kv.delete(key, Some(DeleteOptions::new().with_prev_key())),
            )
            .await?
            .map_err(|e| StorageError::etcd(context, e))?;
            let revision = header_revision(response.header());
            let prev = response.take_prev_kvs().into_iter().next();
            return match prev {
                Some(prev) if response.deleted() > 0 => Ok((revision, convert_kv(prev))),
                _ => Err(not_found()),
            };
        };
        let conflict = |current: KeyValue| StorageError::Conflict {
            key: key.to_owned(),
            expected,
            current: Box::new(current),
        };
        if expected <= 0 {
            return Err(self.get_latest(key).await?.map_or_else(not_found, conflict));
        }
        let context = "deleting a key conditionally";
        let txn = Txn::new()
            .when([Compare::mod_revision(key, CompareOp::Equal, expected)])
            .and_then([TxnOp::delete(
                key,
                Some(DeleteOptions::new().with_prev_key()),
            )])
            .or_else([TxnOp::get(key, None)]);
        let response = timed(context, kv.txn(txn))
            .await?
            .map_err(|e| StorageError::etcd(context, e))?;
        if !response.succeeded() {
            return Err(Self::else_get(&response).map_or_else(not_found, conflict));
        }
        let revision = header_revision(response.header());
        let prev = response.op_responses().into_iter().find_map(|r| match r {
            TxnOpResponse::Delete(mut d) => d.take_prev_kvs().into_iter().next(),
            _ => None,
        });
        prev.map(|p| (revision, convert_kv(p)))
            .ok_or_else(not_found)
    }

    async fn watch(&self, prefix: &str, start: Revision) -> Result<Watch> {
        let start = if start <= 0 {
            self.current_revision().await? + 1
        } else {
            // Fail at once rather than on the stream when the start is already compacted.
            let current = self.current_revision().await?;
            if start <= current && !self.readable_at(start).await? {
                return Err(StorageError::Compacted {
                    requested: start,
                    compacted: self.discover_compacted().await?,
                });
            }
            start
        };
        let (key, end) = prefix_range(prefix);
        let options = WatchOptions::new()
            .with_range(end)
            .with_prev_key()
            .with_progress_notify()
            .with_start_revision(start);
        let context = "starting a watch";
        let mut client = self.watch.clone();
        let (sender, mut responses) = timed(context, client.watch(key, Some(options)))
            .await?
            .map_err(|e| StorageError::etcd(context, e))?
            .split();
        // The first response confirms the watcher (or refuses it).
        let created =
            tokio::time::timeout(REQUEST_TIMEOUT, futures::StreamExt::next(&mut responses))
                .await
                .map_err(|_| {
                    StorageError::Unavailable(format!(
                        "etcd did not confirm the watch within {REQUEST_TIMEOUT:?}"
                    ))
                })?;
        let created = match created {
            Some(Ok(created)) => created,
            Some(Err(error)) => return Err(StorageError::etcd(context, error)),
            None => {
                return Err(StorageError::Unavailable(
                    "etcd closed the watch stream before confirming the watch".into(),
                ));
            }
        };
        if created.canceled() {
            let compacted = created.compact_revision();
            if compacted > 0 {
                self.compacted.fetch_max(compacted, Ordering::Relaxed);
                return Err(StorageError::Compacted {
                    requested: start,
                    compacted,
                });
            }
            return Err(StorageError::Unavailable(format!(
                "etcd refused the watch: {}",
                created.cancel_reason()
            )));
        }
        Ok(watch::Forwarder {
            sender,
            responses,
            watch_id: created.watch_id(),
            start,
            compacted: Arc::clone(&self.compacted),
            progress_hold: self.progress_hold,
        }
        .spawn())
    }

    async fn compact(&self, revision: Revision) -> Result<()> {
        let mut kv = self.kv.clone();
        let context = "compacting";
        match timed(
            context,
            kv.compact(revision, Some(CompactionOptions::new())),
        )
        .await?
        {
            Ok(_) => {
                self.compacted.fetch_max(revision, Ordering::Relaxed);
                Ok(())
            }
            Err(error) => Err(self.revision_error(context, error, revision).await),
        }
    }

    async fn size_on_disk(&self) -> Result<u64> {
        let mut maintenance = self.maintenance.clone();
        let status = timed("reading the etcd status", maintenance.status())
            .await?
            .map_err(|e| StorageError::etcd("reading the etcd status", e))?;
        Ok(u64::try_from(status.db_size()).unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_race_versions() {
        assert!(progress_races_events("3.4.23"));
        assert!(!progress_races_events("3.4.24"));
        assert!(progress_races_events("3.5.7"));
        assert!(!progress_races_events("3.5.8"));
        assert!(!progress_races_events("3.6.0"));
        assert!(progress_races_events("3.3.27"));
        assert!(progress_races_events("garbage"));
    }

    #[test]
    fn prefix_ranges() {
        assert_eq!(prefix_range("/a/"), (b"/a/".to_vec(), b"/a0".to_vec()));
        assert_eq!(prefix_range(""), (vec![0], vec![0]));
    }

    #[test]
    fn missing_tls_file_is_config_error() {
        let tls = DatastoreTls {
            ca_file: Some("/nonexistent/ca.crt".into()),
            ..Default::default()
        };
        match tls_options(&tls) {
            Err(StorageError::Config(message)) => assert!(message.contains("/nonexistent/ca.crt")),
            other => panic!("expected a config error, got {other:?}"),
        }
    }
}
