//! Lease reuse for TTL writes, after upstream kube-apiserver's `leaseManager`.
//!
//! Granting one etcd lease per TTL write (every Event) would make etcd track one lease per object. A
//! lease is instead granted for `ttl + reuse` seconds, where `reuse` is 5% of the TTL capped at 60 s,
//! and a later write whose deadline falls in the lease's last `reuse` seconds shares it. An object may
//! thus live up to `reuse` seconds past its TTL (as upstream). TTLs under 20 s get no reuse. A lease
//! carries at most [`MAX_ATTACHED`] objects, and the manager remembers the last [`REMEMBERED`] leases
//! so that writes with a few distinct TTLs do not evict each other's lease.

use std::{
    sync::Mutex,
    time::{Duration, Instant},
};

/// Most reuse window, seconds (upstream `--lease-reuse-duration-seconds`).
const REUSE_MAX_SECS: u64 = 60;
/// Reuse window as a percentage of the TTL.
const REUSE_PERCENT: u64 = 5;
/// Most objects attached to one lease (upstream `leaseMaxAttachedObjectCount`).
pub(crate) const MAX_ATTACHED: u32 = 1000;
/// How many live leases are remembered for reuse.
const REMEMBERED: usize = 8;

/// A lease this backend granted.
#[derive(Debug, Clone, Copy)]
struct Lease {
    id: i64,
    /// When etcd will expire it at the earliest (measured from before the grant request).
    expires: Instant,
    attached: u32,
}

/// Picks a reusable lease or says a new one is needed.
#[derive(Debug, Default)]
pub(crate) struct LeaseManager {
    leases: Mutex<Vec<Lease>>,
}

/// The lease TTL to grant for a write's TTL: whole seconds, at least 1, plus the reuse window.
pub(crate) fn grant_ttl_secs(ttl: Duration) -> (u64, u64) {
    let secs = ttl.as_secs() + u64::from(ttl.subsec_nanos() > 0);
    let secs = secs.max(1);
    let reuse = (secs * REUSE_PERCENT / 100).min(REUSE_MAX_SECS);
    (secs, reuse)
}

impl LeaseManager {
    /// A remembered lease that expires after `now + ttl` but no later than `now + ttl + reuse`, and
    /// has room for one more object; attaches the object to it.
    pub(crate) fn reuse(&self, ttl: Duration, now: Instant) -> Option<i64> {
        let (secs, reuse) = grant_ttl_secs(ttl);
        let deadline = now + Duration::from_secs(secs);
        let latest = deadline + Duration::from_secs(reuse);
        let mut leases = self.leases.lock().unwrap_or_else(|e| e.into_inner());
        leases.retain(|l| l.expires > now);
        let lease = leases
            .iter_mut()
            .find(|l| deadline < l.expires && l.expires <= latest && l.attached < MAX_ATTACHED)?;
        lease.attached += 1;
        Some(lease.id)
    }

    /// Remember a lease granted at `granted_at` (taken before the request) for `ttl_secs`, with one
    /// object attached.
    pub(crate) fn remember(&self, id: i64, granted_at: Instant, ttl_secs: u64) {
        let mut leases = self.leases.lock().unwrap_or_else(|e| e.into_inner());
        leases.push(Lease {
            id,
            expires: granted_at + Duration::from_secs(ttl_secs),
            attached: 1,
        });
        if leases.len() > REMEMBERED {
            let excess = leases.len() - REMEMBERED;
            leases.drain(..excess);
        }
    }

    /// Forget a lease etcd no longer knows (revoked or expired early).
    pub(crate) fn forget(&self, id: i64) {
        let mut leases = self.leases.lock().unwrap_or_else(|e| e.into_inner());
        leases.retain(|l| l.id != id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_rounding_and_reuse_window() {
        assert_eq!(grant_ttl_secs(Duration::from_millis(1)), (1, 0));
        assert_eq!(grant_ttl_secs(Duration::from_millis(1500)), (2, 0));
        assert_eq!(grant_ttl_secs(Duration::from_secs(100)), (100, 5));
        assert_eq!(grant_ttl_secs(Duration::from_secs(3600)), (3600, 60));
    }

    #[test]
    fn reuses_within_window_only() {
        let m = LeaseManager::default();
        let t0 = Instant::now();
        let ttl = Duration::from_secs(3600);
        assert_eq!(m.reuse(ttl, t0), None);
        m.remember(7, t0, 3660);
        assert_eq!(m.reuse(ttl, t0 + Duration::from_secs(1)), Some(7));
        assert_eq!(m.reuse(ttl, t0 + Duration::from_secs(59)), Some(7));
        // Past the window the object would outlive the lease.
        assert_eq!(m.reuse(ttl, t0 + Duration::from_secs(60)), None);
        // A short TTL must not ride on a long lease.
        assert_eq!(m.reuse(Duration::from_secs(30), t0), None);
        // No reuse for small TTLs.
        m.remember(8, t0, 5);
        assert_eq!(m.reuse(Duration::from_secs(5), t0), None);
    }

    #[test]
    fn caps_attached_objects() {
        let m = LeaseManager::default();
        let t0 = Instant::now();
        m.remember(1, t0, 3660);
        for _ in 1..MAX_ATTACHED {
            assert_eq!(m.reuse(Duration::from_secs(3600), t0), Some(1));
        }
        assert_eq!(m.reuse(Duration::from_secs(3600), t0), None);
    }
}
