//! The in-memory MVCC index (etcd's treeIndex): an ordered map from key to that key's history.
//!
//! Each key maps to a [`Chain`], its entries in increasing revision order; an entry is a value or a
//! tombstone. The map is an `imbl::OrdMap`, so cloning it is O(1) and a clone is a consistent
//! snapshot that readers, the snapshot writer and the compactor use without holding the state lock.
//! Chains are `Arc`'d so that a copy-on-write of a map node copies pointers, not histories.
//!
//! The index may hold entries above the committed revision (written, not yet durable); every reader
//! asks for "the latest entry at or below revision r" with r <= committed, so they stay invisible.

use std::sync::Arc;

use bytes::Bytes;
use imbl::OrdMap;

use crate::{Event, KeyValue, Revision};

/// One revision of one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    /// The revision of this write (the key's `mod_revision`).
    pub rev: Revision,
    /// `create_revision` of this life of the key; 0 for a tombstone.
    pub create_rev: Revision,
    /// Writes since the create; 0 for a tombstone.
    pub version: i64,
    /// The value, or `None` for a delete.
    pub value: Option<Bytes>,
    /// TTL deadline in unix milliseconds; 0 when the key has none.
    pub deadline: u64,
}

/// A key's history, oldest first.
pub(crate) type Chain = Arc<Vec<Entry>>;

/// The whole index.
pub(crate) type Index = OrdMap<Arc<str>, Chain>;

/// The latest entry at or below `rev` (value or tombstone).
pub(crate) fn entry_at(chain: &[Entry], rev: Revision) -> Option<&Entry> {
    let i = chain.partition_point(|e| e.rev <= rev);
    i.checked_sub(1).and_then(|i| chain.get(i))
}

/// The key as it was at `rev`, if it existed then.
pub(crate) fn kv_at(key: &Arc<str>, chain: &[Entry], rev: Revision) -> Option<KeyValue> {
    entry_at(chain, rev).and_then(|e| to_kv(key, e))
}

/// The key-value an entry describes; `None` for a tombstone.
pub(crate) fn to_kv(key: &Arc<str>, e: &Entry) -> Option<KeyValue> {
    let value = e.value.as_ref()?;
    Some(KeyValue {
        key: key.clone(),
        value: value.clone(),
        create_revision: e.create_rev,
        mod_revision: e.rev,
        version: e.version,
    })
}

/// The live latest entry of a key (including writes not yet durable).
pub(crate) fn latest_live(chain: &[Entry]) -> Option<&Entry> {
    chain.last().filter(|e| e.value.is_some())
}

/// Apply a put (`Some(value)`) or delete (`None`) at `rev` to `key`, whose preconditions the caller
/// has checked. Returns the watch event, or `None` when deleting a key that does not exist (only
/// possible from a corrupt log).
pub(crate) fn apply(
    index: &mut Index,
    key: &str,
    rev: Revision,
    value: Option<Bytes>,
    deadline: u64,
) -> Option<Event> {
    // Reuse the map's `Arc<str>` for a known key so that index and events share one allocation.
    let (key, prev) = match index.get_key_value(key) {
        Some((k, chain)) => (k.clone(), latest_live(chain).cloned()),
        None => (Arc::<str>::from(key), None),
    };
    let prev_kv = prev.as_ref().and_then(|p| to_kv(&key, p));
    let entry = match (&value, &prev) {
        (Some(_), Some(p)) => Entry {
            rev,
            create_rev: p.create_rev,
            version: p.version + 1,
            value,
            deadline,
        },
        (Some(_), None) => Entry {
            rev,
            create_rev: rev,
            version: 1,
            value,
            deadline,
        },
        (None, Some(_)) => Entry {
            rev,
            create_rev: 0,
            version: 0,
            value: None,
            deadline: 0,
        },
        (None, None) => return None,
    };
    let kv = to_kv(&key, &entry);
    match index.get_mut(&*key) {
        Some(chain) => Arc::make_mut(chain).push(entry),
        None => {
            index.insert(key, Arc::new(vec![entry]));
        }
    }
    Some(match (kv, prev_kv) {
        (Some(kv), None) => Event::Created(kv),
        (Some(kv), Some(prev)) => Event::Updated { kv, prev },
        (None, Some(prev)) => Event::Deleted {
            revision: rev,
            prev,
        },
        (None, None) => return None,
    })
}

/// What compaction does to one chain.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Pruned {
    /// Nothing to drop.
    Keep,
    /// Keep only these entries.
    Replace(Vec<Entry>),
    /// Drop the key.
    Remove,
}

/// Compaction at `compact` keeps every entry with `rev >= compact` plus the latest entry below it
/// when that is a value: the key's state at `compact` (reads at `compact` work) and the previous
/// value of the first later entry (the watch event at `compact` can be rebuilt after a restart).
/// A key left with nothing is dropped.
pub(crate) fn prune_chain(chain: &[Entry], compact: Revision) -> Pruned {
    let first_kept = chain.partition_point(|e| e.rev < compact);
    let start = match first_kept.checked_sub(1).and_then(|i| chain.get(i)) {
        Some(e) if e.value.is_some() => first_kept - 1,
        _ => first_kept,
    };
    if start >= chain.len() {
        Pruned::Remove
    } else if start == 0 {
        Pruned::Keep
    } else {
        Pruned::Replace(chain[start..].to_vec())
    }
}

/// Compact a whole index in place (on a clone, off the state lock).
pub(crate) fn prune_index(index: &mut Index, compact: Revision) {
    let mut changes = Vec::new();
    for (key, chain) in index.iter() {
        match prune_chain(chain, compact) {
            Pruned::Keep => {}
            other => changes.push((key.clone(), other)),
        }
    }
    for (key, change) in changes {
        prune_key_with(index, key, change);
    }
}

/// Re-prune one key of `index` from `chain` (the live chain of a key written during compaction).
pub(crate) fn prune_key(index: &mut Index, key: Arc<str>, chain: Option<Chain>, compact: Revision) {
    match chain {
        None => {
            index.remove(&*key);
        }
        Some(chain) => match prune_chain(&chain, compact) {
            Pruned::Keep => {
                index.insert(key, chain);
            }
            other => prune_key_with(index, key, other),
        },
    }
}

fn prune_key_with(index: &mut Index, key: Arc<str>, change: Pruned) {
    match change {
        Pruned::Keep => {}
        Pruned::Replace(entries) => {
            index.insert(key, Arc::new(entries));
        }
        Pruned::Remove => {
            index.remove(&*key);
        }
    }
}

/// The watch event of `chain[k]`, from it and the entry before it. `None` when the chain cannot
/// explain it (a delete with no previous value).
pub(crate) fn event_of(key: &Arc<str>, chain: &[Entry], k: usize) -> Option<Event> {
    let e = chain.get(k)?;
    let prev = k
        .checked_sub(1)
        .and_then(|p| chain.get(p))
        .and_then(|p| to_kv(key, p));
    match (to_kv(key, e), prev) {
        (Some(kv), None) => Some(Event::Created(kv)),
        (Some(kv), Some(prev)) => Some(Event::Updated { kv, prev }),
        (None, Some(prev)) => Some(Event::Deleted {
            revision: e.rev,
            prev,
        }),
        (None, None) => None,
    }
}
