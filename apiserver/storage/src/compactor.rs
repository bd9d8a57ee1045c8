//! Periodic compaction, as kube-apiserver's `--etcd-compaction-interval` does for etcd.
//!
//! Every tick the compactor compacts to the revision it saw at the previous tick, so that at least one
//! interval of history always stays readable for watchers that reconnect. It works on any [`Backend`].

use std::{sync::Arc, time::Duration};

use tokio::sync::watch;

use crate::{Backend, Revision, StorageError};

/// Upstream's default compaction interval.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(5 * 60);

/// Run the compaction loop until `shutdown` becomes true. Errors are logged and retried next tick.
pub async fn run(
    backend: Arc<dyn Backend>,
    interval: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The first tick fires at once: it only records the starting revision.
    let mut previous: Option<Revision> = None;
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            changed = shutdown.changed() => {
                if changed.is_err() || *shutdown.borrow() {
                    return;
                }
                continue;
            }
        }
        if let Some(target) = previous {
            match compact_to(backend.as_ref(), target).await {
                Ok(true) => tracing::info!(revision = target, "compacted storage"),
                Ok(false) => {}
                Err(error) => {
                    tracing::warn!(%error, revision = target, "storage compaction failed")
                }
            }
        }
        match backend.current_revision().await {
            Ok(revision) => previous = Some(revision),
            Err(error) => {
                tracing::warn!(%error, "reading the storage revision for compaction failed")
            }
        }
    }
}

/// Compact to `target` unless the store is already compacted that far. Returns whether it compacted.
pub async fn compact_to(backend: &dyn Backend, target: Revision) -> Result<bool, StorageError> {
    if target <= 0 || backend.compacted_revision().await? >= target {
        return Ok(false);
    }
    match backend.compact(target).await {
        Ok(()) => Ok(true),
        // Someone else (another server on the same etcd) compacted further already.
        Err(StorageError::Compacted { .. }) => Ok(false),
        Err(error) => Err(error),
    }
}
