//! Shared informers: one watch and one cache per kind for every controller that needs it, as
//! upstream's shared informer factory. Without sharing, each controller watching pods held its own
//! copy of every pod in the cluster.
//!
//! A [`SharedInformer`] runs one kube-runtime watcher, applies its events to a reflector store
//! (read by the controllers), and fans every added, changed and deleted object out to its
//! subscribers over a bounded broadcast channel, so a slow controller cannot make memory grow: a
//! subscriber that falls behind gets every cached object once instead of the events it missed,
//! which requeues everything it might care about.

use std::sync::Arc;

use futures::{Stream, StreamExt as _, stream};
use k8s_openapi::serde::de::DeserializeOwned;
use kube::{
    Api, Resource,
    runtime::{
        WatchStreamExt as _,
        reflector::{self, Store},
        watcher,
    },
};
use tokio::sync::{broadcast, watch};

/// How many changes a subscriber may fall behind before it is resynced from the cache.
const CHANNEL_CAPACITY: usize = 4096;

/// One watch and cache of a kind, shared by controllers.
pub struct SharedInformer<K>
where
    K: Resource + Clone + 'static,
    K::DynamicType: Eq + std::hash::Hash + Clone,
{
    store: Store<K>,
    changes: broadcast::Sender<Arc<K>>,
}

impl<K> std::fmt::Debug for SharedInformer<K>
where
    K: Resource + Clone + 'static,
    K::DynamicType: Eq + std::hash::Hash + Clone,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedInformer")
            .field("cached", &self.store.len())
            .field("subscribers", &self.changes.receiver_count())
            .finish()
    }
}

impl<K> Clone for SharedInformer<K>
where
    K: Resource + Clone + 'static,
    K::DynamicType: Eq + std::hash::Hash + Clone,
{
    fn clone(&self) -> Self {
        SharedInformer {
            store: self.store.clone(),
            changes: self.changes.clone(),
        }
    }
}

impl<K> SharedInformer<K>
where
    K: Resource + Clone + DeserializeOwned + std::fmt::Debug + Send + Sync + 'static,
    K::DynamicType: Eq + std::hash::Hash + Clone + Default + Send + Sync,
{
    /// The informer over `api`, and the task that drives it until `shutdown` turns true. Subscribe
    /// the controllers before spawning the task, so that none misses the first list.
    pub fn new(
        api: Api<K>,
        mut shutdown: watch::Receiver<bool>,
    ) -> (SharedInformer<K>, impl Future<Output = ()> + Send + 'static) {
        let (store, mut writer) = reflector::store();
        let (changes, _) = broadcast::channel(CHANNEL_CAPACITY);
        let informer = SharedInformer {
            store,
            changes: changes.clone(),
        };
        let driver = async move {
            let mut events = watcher(api, watcher::Config::default())
                .default_backoff()
                .boxed();
            loop {
                let event = tokio::select! {
                    event = events.next() => event,
                    () = crate::stopped(&mut shutdown) => return,
                };
                let Some(event) = event else { return };
                let event = match event {
                    Ok(event) => event,
                    Err(error) => {
                        tracing::debug!(%error, "shared informer watch error; retrying");
                        continue;
                    }
                };
                writer.apply_watcher_event(&event);
                let changed = match &event {
                    watcher::Event::Apply(object)
                    | watcher::Event::Delete(object)
                    | watcher::Event::InitApply(object) => Some(object.clone()),
                    watcher::Event::Init | watcher::Event::InitDone => None,
                };
                if let Some(object) = changed {
                    // No subscriber is not an error.
                    let _ = changes.send(Arc::new(object));
                }
            }
        };
        (informer, driver)
    }

    /// The cache.
    pub fn store(&self) -> Store<K> {
        self.store.clone()
    }

    /// Every change from now on (the object as added, changed or deleted).
    pub fn subscribe(&self) -> impl Stream<Item = Arc<K>> + Send + 'static {
        let receiver = self.changes.subscribe();
        let store = self.store.clone();
        stream::unfold((receiver, store), |(mut receiver, store)| async move {
            match receiver.recv().await {
                Ok(object) => Some((vec![object], (receiver, store))),
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::debug!(
                        missed,
                        "a controller fell behind; resyncing it from the cache"
                    );
                    let everything = store.state();
                    Some((everything, (receiver, store)))
                }
                Err(broadcast::error::RecvError::Closed) => None,
            }
        })
        .flat_map(stream::iter)
    }
}
