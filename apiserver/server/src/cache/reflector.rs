//! The task that fills a [`ResourceCache`] from storage: list, then watch, relisting when the watch
//! fails (compaction, a storage restart).

use std::{sync::Arc, time::Duration};

use futures::StreamExt as _;
use tugboat_storage::{Event, KeyValue, ListRequest, Revision, StorageError, WatchResponse};

use super::{Change, Extractor, Object, ResourceCache, State};

/// Page size of the initial list, so a huge resource does not make one giant storage response.
const LIST_PAGE: usize = 10_000;

/// Keeps one [`ResourceCache`] in step with storage.
#[derive(Debug)]
pub struct Reflector;

impl Reflector {
    /// Run until `shutdown` fires. Errors are logged and retried with backoff.
    pub async fn run(
        cache: Arc<ResourceCache>,
        extract: Extractor,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) {
        let mut backoff = Duration::from_millis(100);
        loop {
            let attempt = sync_once(&cache, &extract);
            tokio::select! {
                result = attempt => {
                    match result {
                        Ok(()) => backoff = Duration::from_millis(100),
                        Err(error) => {
                            tracing::warn!(prefix = %cache.prefix, %error, "watch cache lost its storage watch; relisting");
                        }
                    }
                }
                _ = crate::stopped(&mut shutdown) => return,
            }
            tokio::select! {
                _ = tokio::time::sleep(backoff) => {}
                _ = crate::stopped(&mut shutdown) => return,
            }
            backoff = (backoff * 2).min(Duration::from_secs(5));
        }
    }
}

/// List, install the result, then apply the watch until it fails.
async fn sync_once(cache: &ResourceCache, extract: &Extractor) -> Result<(), StorageError> {
    let (objects, revision) = list_all(cache, extract).await?;
    {
        let mut state = cache.state.write().unwrap_or_else(|p| p.into_inner());
        let capacity = state.capacity;
        *state = State {
            objects,
            revision,
            ring: Default::default(),
            oldest_watchable: revision,
            generation: state.generation + 1,
            ready: true,
            capacity,
        };
    }
    cache.revision_tx.send_replace(revision);
    let mut watch = cache.backend.watch(&cache.prefix, revision + 1).await?;
    loop {
        tokio::select! {
            item = watch.next() => match item {
                None => return Err(StorageError::Unavailable("storage watch ended".into())),
                Some(Err(error)) => return Err(error),
                Some(Ok(WatchResponse::Progress(revision))) => advance(cache, revision),
                Some(Ok(WatchResponse::Events(events))) => apply(cache, extract, events),
            },
            _ = cache.progress_wanted.notified() => watch.request_progress(),
        }
    }
}

async fn list_all(
    cache: &ResourceCache,
    extract: &Extractor,
) -> Result<(std::collections::BTreeMap<Arc<str>, Object>, Revision), StorageError> {
    let mut objects = std::collections::BTreeMap::new();
    let mut request = ListRequest {
        prefix: cache.prefix.clone(),
        start_key: String::new(),
        limit: LIST_PAGE,
        revision: 0,
    };
    loop {
        let page = cache.backend.list(&request).await?;
        request.revision = page.revision;
        let last = page.kvs.last().map(|kv| kv.key.to_string());
        for kv in page.kvs {
            if let Some(object) = to_object(extract, kv) {
                objects.insert(object.key.clone(), object);
            }
        }
        match last {
            Some(last) if page.more => request.start_key = format!("{last}\0"),
            _ => return Ok((objects, request.revision)),
        }
    }
}

fn to_object(extract: &Extractor, kv: KeyValue) -> Option<Object> {
    match extract(&kv.value) {
        Ok(attributes) => Some(Object {
            key: kv.key,
            value: kv.value,
            revision: kv.mod_revision,
            attributes: Arc::new(attributes),
        }),
        Err(error) => {
            tracing::warn!(key = %kv.key, %error, "stored object cannot be decoded; leaving it out of the cache");
            None
        }
    }
}

fn advance(cache: &ResourceCache, revision: Revision) {
    let mut state = cache.state.write().unwrap_or_else(|p| p.into_inner());
    if revision > state.revision {
        state.revision = revision;
        drop(state);
        cache.revision_tx.send_replace(revision);
    }
}

fn apply(cache: &ResourceCache, extract: &Extractor, events: Vec<Event>) {
    let mut state = cache.state.write().unwrap_or_else(|p| p.into_inner());
    let mut last = state.revision;
    for event in events {
        last = event.revision();
        let change = match event {
            Event::Created(kv) | Event::Updated { kv, .. } => {
                let Some(object) = to_object(extract, kv) else {
                    continue;
                };
                match state.objects.insert(object.key.clone(), object.clone()) {
                    None => Change::Added(object),
                    Some(previous) => Change::Modified { object, previous },
                }
            }
            Event::Deleted { revision, prev } => match state.objects.remove(&*prev.key) {
                Some(previous) => Change::Deleted { revision, previous },
                None => continue,
            },
        };
        state.ring.push_back(change);
        while state.ring.len() > state.capacity {
            if let Some(dropped) = state.ring.pop_front() {
                state.oldest_watchable = dropped.revision();
            }
        }
    }
    if last > state.revision {
        state.revision = last;
    }
    let revision = state.revision;
    drop(state);
    cache.revision_tx.send_replace(revision);
}
