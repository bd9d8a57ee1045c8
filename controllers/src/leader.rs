//! Leader election over a `coordination.k8s.io/v1` Lease, as client-go's `leaderelection` package
//! with a `LeaseLock` does it, so that of several servers on one datastore only one runs
//! controllers.
//!
//! The lease records the holder (`<hostname>_<uuid>`, unique per process), the lease duration, the
//! acquire and renew times and the number of transitions. A candidate takes the lease when it does
//! not exist, has no holder, or has not changed for `leaseDurationSeconds` *as observed on the
//! candidate's own clock* (client-go compares the time it last saw the record change, never the
//! recorded renew time, so clock skew between servers does not matter). Every write is a PUT
//! carrying the resourceVersion last read, so two candidates cannot both win a race.
//!
//! Timings are kube-controller-manager's defaults: lease duration 15 s, renew deadline 10 s, retry
//! period 2 s. A candidate retries every retry period (jittered by a factor of 1.2, as
//! `wait.JitterUntil`); the leader renews every retry period and steps down when it could not renew
//! for the renew deadline, which is shorter than the lease duration, so it stops before anyone else
//! may take over. On a clean shutdown the leader releases the lease (client-go's
//! `ReleaseOnCancel`: holder emptied, duration 1 s), so a restarted server need not wait 15 s.
//!
//! [`decide`] and [`Observation`] are the pure decisions; [`LeaderElector`] does the I/O.

use std::time::Duration;

use k8s_openapi::{
    api::coordination::v1::{Lease, LeaseSpec},
    apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta},
    jiff::Timestamp,
};
use kube::{
    Api, Client,
    api::{PostParams, ResourceExt as _},
};
use tokio::{sync::watch, time::Instant};

/// kube-controller-manager's `--leader-elect-lease-duration`.
pub const DEFAULT_LEASE_DURATION: Duration = Duration::from_secs(15);
/// kube-controller-manager's `--leader-elect-renew-deadline`.
pub const DEFAULT_RENEW_DEADLINE: Duration = Duration::from_secs(10);
/// kube-controller-manager's `--leader-elect-retry-period`.
pub const DEFAULT_RETRY_PERIOD: Duration = Duration::from_secs(2);
/// client-go's `leaderelection.JitterFactor`.
pub const JITTER_FACTOR: f64 = 1.2;

/// Which lease, who we are, and the timings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaderElectionConfig {
    /// The lease's namespace (`kube-system`).
    pub namespace: String,
    /// The lease's name (`kube-controller-manager`).
    pub name: String,
    /// This candidate's identity, unique per process ([`new_identity`]).
    pub identity: String,
    /// How long a lease stays valid after it was last seen to change.
    pub lease_duration: Duration,
    /// How long the leader keeps trying to renew before it steps down.
    pub renew_deadline: Duration,
    /// How often candidates try to acquire and the leader renews.
    pub retry_period: Duration,
}

impl LeaderElectionConfig {
    /// kube-controller-manager's lease with upstream's default timings.
    pub fn controller_manager(identity: String) -> Self {
        LeaderElectionConfig {
            namespace: "kube-system".to_owned(),
            name: "kube-controller-manager".to_owned(),
            identity,
            lease_duration: DEFAULT_LEASE_DURATION,
            renew_deadline: DEFAULT_RENEW_DEADLINE,
            retry_period: DEFAULT_RETRY_PERIOD,
        }
    }
}

/// `<hostname>_<uuid>`, as kube-controller-manager names itself.
pub fn new_identity() -> String {
    let host = hostname::get()
        .map(|h| h.to_string_lossy().into_owned())
        .unwrap_or_else(|error| {
            tracing::warn!(%error, "reading the host name for the leader-election identity");
            "localhost".to_owned()
        });
    format!("{host}_{}", uuid_v4())
}

/// A random (version 4) UUID in its usual text form.
fn uuid_v4() -> String {
    let mut bytes = [0u8; 16];
    if let Err(error) = getrandom::fill(&mut bytes) {
        // Unreachable on Linux; still unique enough per process for an identity.
        tracing::warn!(%error, "no OS randomness for the leader-election identity");
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        bytes[..8].copy_from_slice(&(nanos as u64).to_le_bytes());
        bytes[8..12].copy_from_slice(&std::process::id().to_le_bytes());
    }
    format_uuid_v4(bytes)
}

/// Format 16 random bytes as a version-4, variant-1 UUID.
pub fn format_uuid_v4(mut bytes: [u8; 16]) -> String {
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// The leader-election fields of a Lease (client-go's `LeaderElectionRecord`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Record {
    /// The holder; empty when released.
    pub holder: String,
    /// `leaseDurationSeconds`.
    pub lease_duration_seconds: i32,
    /// When the holder acquired the lease.
    pub acquire_time: Option<Timestamp>,
    /// When the holder last renewed it.
    pub renew_time: Option<Timestamp>,
    /// `leaseTransitions`: how many times the holder changed.
    pub transitions: i32,
}

impl Record {
    /// The record a Lease holds.
    pub fn from_lease(lease: &Lease) -> Record {
        let spec = lease.spec.clone().unwrap_or_default();
        Record {
            holder: spec.holder_identity.unwrap_or_default(),
            lease_duration_seconds: spec.lease_duration_seconds.unwrap_or_default(),
            acquire_time: spec.acquire_time.map(|t| t.0),
            renew_time: spec.renew_time.map(|t| t.0),
            transitions: spec.lease_transitions.unwrap_or_default(),
        }
    }

    /// Write the record into a Lease's spec (client-go's `LeaseSpecFromLeaderElectionRecord`),
    /// keeping the fields leader election does not own.
    pub fn apply_to(&self, lease: &mut Lease) {
        let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
        spec.holder_identity = Some(self.holder.clone());
        spec.lease_duration_seconds = Some(self.lease_duration_seconds);
        spec.acquire_time = self.acquire_time.map(MicroTime);
        spec.renew_time = self.renew_time.map(MicroTime);
        spec.lease_transitions = Some(self.transitions);
    }
}

/// The last record a candidate saw and when it first saw it (client-go's `observedRecord` and
/// `observedTime`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    /// The record.
    pub record: Record,
    /// When this candidate first saw it, on its own monotonic clock.
    pub at: Instant,
}

impl Observation {
    /// Note a record read from the server: the observation time moves only when it changed.
    pub fn observe(previous: Option<Observation>, record: Record, now: Instant) -> Observation {
        match previous {
            Some(previous) if previous.record == record => previous,
            _ => Observation { record, at: now },
        }
    }

    /// Whether the lease is still valid at `now`: observed less than its duration ago.
    pub fn is_valid(&self, now: Instant) -> bool {
        let duration =
            Duration::from_secs(u64::try_from(self.record.lease_duration_seconds).unwrap_or(0));
        self.at + duration > now
    }
}

/// What to do with the lease as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// There is none: create it with this record.
    Create(Record),
    /// Write this record (renew ours or take over an expired or released one).
    Update(Record),
    /// Someone else holds a valid lease.
    HeldBy(String),
}

/// client-go's `tryAcquireOrRenew` decision, steps 2 to 4: `current` is the lease's record as read
/// (`None`: not found) and `valid` whether its observation is still valid.
pub fn decide(
    current: Option<&Record>,
    valid: bool,
    identity: &str,
    lease_duration: Duration,
    now: Timestamp,
) -> Step {
    let mut ours = Record {
        holder: identity.to_owned(),
        lease_duration_seconds: i32::try_from(lease_duration.as_secs()).unwrap_or(i32::MAX),
        acquire_time: Some(now),
        renew_time: Some(now),
        transitions: 0,
    };
    let Some(current) = current else {
        return Step::Create(ours);
    };
    if !current.holder.is_empty() && valid && current.holder != identity {
        return Step::HeldBy(current.holder.clone());
    }
    if current.holder == identity {
        ours.acquire_time = current.acquire_time;
        ours.transitions = current.transitions;
    } else {
        ours.transitions = current.transitions.saturating_add(1);
    }
    Step::Update(ours)
}

/// The retry wait: `period` stretched by up to `factor` (client-go's `wait.Jitter`).
pub fn jittered(period: Duration, factor: f64, random: f64) -> Duration {
    period.mul_f64(1.0 + factor * random.clamp(0.0, 1.0))
}

/// A lease read or write that failed.
#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    /// Reading the lease failed.
    #[error("reading lease {namespace}/{name}: {source}")]
    Get {
        /// The lease's namespace.
        namespace: String,
        /// The lease's name.
        name: String,
        /// Why.
        #[source]
        source: kube::Error,
    },
    /// Creating or updating the lease failed.
    #[error("writing lease {namespace}/{name}: {source}")]
    Write {
        /// The lease's namespace.
        namespace: String,
        /// The lease's name.
        name: String,
        /// Why.
        #[source]
        source: kube::Error,
    },
}

/// How leading ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeadingEnded {
    /// The lease could not be renewed within the renew deadline.
    Lost,
    /// Shutdown was asked for.
    Shutdown,
}

/// One candidate: campaigns, renews and releases the lease.
#[derive(Debug)]
pub struct LeaderElector {
    api: Api<Lease>,
    config: LeaderElectionConfig,
    observed: Option<Observation>,
    /// The lease as last read or written, whose resourceVersion the next write carries.
    lease: Option<Lease>,
    /// The holder last reported in the log.
    reported_leader: Option<String>,
}

impl LeaderElector {
    /// A candidate for `config`'s lease.
    pub fn new(client: Client, config: LeaderElectionConfig) -> Self {
        LeaderElector {
            api: Api::namespaced(client, &config.namespace),
            config,
            observed: None,
            lease: None,
            reported_leader: None,
        }
    }

    /// This candidate's identity.
    pub fn identity(&self) -> &str {
        &self.config.identity
    }

    /// Whether the last observed holder is this candidate.
    pub fn is_leader(&self) -> bool {
        self.observed
            .as_ref()
            .is_some_and(|o| o.record.holder == self.config.identity)
    }

    fn write_params() -> PostParams {
        PostParams {
            field_manager: Some(crate::FIELD_MANAGER.to_owned()),
            ..PostParams::default()
        }
    }

    fn write_error(&self, source: kube::Error) -> LeaseError {
        LeaseError::Write {
            namespace: self.config.namespace.clone(),
            name: self.config.name.clone(),
            source,
        }
    }

    fn set_observed(&mut self, record: Record, lease: Lease) {
        self.observed = Some(Observation {
            record,
            at: Instant::now(),
        });
        self.lease = Some(lease);
    }

    /// Write `record` over the lease last read (a PUT with its resourceVersion).
    async fn update(&mut self, record: Record) -> Result<(), LeaseError> {
        let mut lease = self.lease.clone().unwrap_or_default();
        record.apply_to(&mut lease);
        let written = self
            .api
            .replace(&self.config.name, &Self::write_params(), &lease)
            .await
            .map_err(|e| self.write_error(e))?;
        self.set_observed(record, written);
        Ok(())
    }

    /// One attempt to acquire or renew; `Ok(true)` when this candidate holds the lease now.
    pub async fn try_acquire_or_renew(&mut self) -> Result<bool, LeaseError> {
        let now = Instant::now();
        // 1. The leader's fast path: write over the lease it last wrote.
        if let Some(observed) = self.observed.clone()
            && self.is_leader()
            && observed.is_valid(now)
            && self.lease.is_some()
        {
            let record = Record {
                renew_time: Some(Timestamp::now()),
                ..observed.record
            };
            match self.update(record).await {
                Ok(()) => return Ok(true),
                Err(error) => {
                    tracing::warn!(%error, "renewing the lease optimistically failed; re-reading it");
                }
            }
        }
        // 2. Read the lease, or create it.
        let current = self
            .api
            .get_opt(&self.config.name)
            .await
            .map_err(|source| LeaseError::Get {
                namespace: self.config.namespace.clone(),
                name: self.config.name.clone(),
                source,
            })?;
        let Some(current) = current else {
            let Step::Create(record) = decide(
                None,
                false,
                &self.config.identity,
                self.config.lease_duration,
                Timestamp::now(),
            ) else {
                return Ok(false);
            };
            let mut lease = Lease {
                metadata: ObjectMeta {
                    name: Some(self.config.name.clone()),
                    namespace: Some(self.config.namespace.clone()),
                    ..ObjectMeta::default()
                },
                spec: None,
            };
            record.apply_to(&mut lease);
            let created = self
                .api
                .create(&Self::write_params(), &lease)
                .await
                .map_err(|e| self.write_error(e))?;
            self.set_observed(record, created);
            self.report_leader();
            return Ok(true);
        };
        // 3. Note what we read, then decide.
        let record = Record::from_lease(&current);
        let observed = Observation::observe(self.observed.take(), record.clone(), Instant::now());
        let valid = observed.is_valid(Instant::now());
        self.observed = Some(observed);
        self.lease = Some(current);
        self.report_leader();
        match decide(
            Some(&record),
            valid,
            &self.config.identity,
            self.config.lease_duration,
            Timestamp::now(),
        ) {
            Step::HeldBy(holder) => {
                tracing::debug!(%holder, "the lease is held by another candidate and has not expired");
                Ok(false)
            }
            Step::Create(record) | Step::Update(record) => {
                self.update(record).await?;
                self.report_leader();
                Ok(true)
            }
        }
    }

    /// Log the holder when it changed (client-go's `OnNewLeader`).
    fn report_leader(&mut self) {
        let holder = self
            .observed
            .as_ref()
            .map(|o| o.record.holder.clone())
            .unwrap_or_default();
        if self.reported_leader.as_deref() == Some(holder.as_str()) {
            return;
        }
        if !holder.is_empty() {
            tracing::info!(
                lease = %format!("{}/{}", self.config.namespace, self.config.name),
                leader = %holder,
                "new leader elected"
            );
        }
        self.reported_leader = Some(holder);
    }

    /// Try until this candidate holds the lease (`true`) or shutdown is asked for (`false`).
    pub async fn acquire(&mut self, shutdown: &mut watch::Receiver<bool>) -> bool {
        let lease = format!("{}/{}", self.config.namespace, self.config.name);
        tracing::info!(%lease, identity = %self.config.identity, "attempting to acquire leader lease");
        loop {
            if *shutdown.borrow() {
                return false;
            }
            let attempt =
                tokio::time::timeout(self.config.renew_deadline, self.try_acquire_or_renew());
            let acquired = tokio::select! {
                result = attempt => result,
                () = crate::stopped(shutdown) => return false,
            };
            match acquired {
                Ok(Ok(true)) => {
                    tracing::info!(%lease, "successfully acquired lease");
                    return true;
                }
                Ok(Ok(false)) => {}
                Ok(Err(error)) => tracing::warn!(%error, "acquiring the leader lease failed"),
                Err(_) => tracing::warn!(%lease, "acquiring the leader lease timed out"),
            }
            let wait = jittered(self.config.retry_period, JITTER_FACTOR, random_fraction());
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = crate::stopped(shutdown) => return false,
            }
        }
    }

    /// Renew every retry period until a renewal fails for the renew deadline or shutdown is asked
    /// for.
    pub async fn renew(&mut self, shutdown: &mut watch::Receiver<bool>) -> LeadingEnded {
        loop {
            let deadline = Instant::now() + self.config.renew_deadline;
            let renewed = loop {
                let attempt = tokio::time::timeout_at(deadline, self.try_acquire_or_renew());
                let result = tokio::select! {
                    result = attempt => result,
                    () = crate::stopped(shutdown) => return LeadingEnded::Shutdown,
                };
                match result {
                    Ok(Ok(true)) => break true,
                    Ok(Ok(false)) => {}
                    Ok(Err(error)) => tracing::warn!(%error, "renewing the leader lease failed"),
                    Err(_) => break false,
                }
                if Instant::now() + self.config.retry_period >= deadline {
                    break false;
                }
                tokio::select! {
                    () = tokio::time::sleep(self.config.retry_period) => {}
                    () = crate::stopped(shutdown) => return LeadingEnded::Shutdown,
                }
            };
            if !renewed {
                tracing::warn!(
                    lease = %format!("{}/{}", self.config.namespace, self.config.name),
                    "failed to renew the leader lease within the renew deadline; stepping down"
                );
                return LeadingEnded::Lost;
            }
            tokio::select! {
                () = tokio::time::sleep(self.config.retry_period) => {}
                () = crate::stopped(shutdown) => return LeadingEnded::Shutdown,
            }
        }
    }

    /// Give the lease up if this candidate holds it (client-go's `release`): holder emptied,
    /// duration 1 s, transitions kept.
    pub async fn release(&mut self) -> Result<(), LeaseError> {
        if !self.is_leader() {
            return Ok(());
        }
        let transitions = self.observed.as_ref().map_or(0, |o| o.record.transitions);
        let now = Timestamp::now();
        let record = Record {
            holder: String::new(),
            lease_duration_seconds: 1,
            acquire_time: Some(now),
            renew_time: Some(now),
            transitions,
        };
        self.update(record).await?;
        tracing::info!(
            lease = %format!("{}/{}", self.config.namespace, self.config.name),
            name = %self.lease.as_ref().map(|l| l.name_any()).unwrap_or_default(),
            "released the leader lease"
        );
        Ok(())
    }
}

/// A number in `[0, 1)` for jitter.
fn random_fraction() -> f64 {
    let mut bytes = [0u8; 8];
    if getrandom::fill(&mut bytes).is_err() {
        return 0.5;
    }
    (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(seconds: i64) -> Timestamp {
        Timestamp::from_second(seconds).expect("timestamp")
    }

    fn record(holder: &str, transitions: i32) -> Record {
        Record {
            holder: holder.to_owned(),
            lease_duration_seconds: 15,
            acquire_time: Some(ts(100)),
            renew_time: Some(ts(110)),
            transitions,
        }
    }

    #[test]
    fn creates_a_missing_lease() {
        let step = decide(None, false, "me", DEFAULT_LEASE_DURATION, ts(200));
        assert_eq!(
            step,
            Step::Create(Record {
                holder: "me".into(),
                lease_duration_seconds: 15,
                acquire_time: Some(ts(200)),
                renew_time: Some(ts(200)),
                transitions: 0,
            })
        );
    }

    #[test]
    fn a_valid_lease_of_another_holder_is_left_alone() {
        let step = decide(
            Some(&record("other", 3)),
            true,
            "me",
            DEFAULT_LEASE_DURATION,
            ts(200),
        );
        assert_eq!(step, Step::HeldBy("other".into()));
    }

    #[test]
    fn an_expired_or_released_lease_is_taken_over() {
        let expected = Step::Update(Record {
            holder: "me".into(),
            lease_duration_seconds: 15,
            acquire_time: Some(ts(200)),
            renew_time: Some(ts(200)),
            transitions: 4,
        });
        let expired = decide(
            Some(&record("other", 3)),
            false,
            "me",
            DEFAULT_LEASE_DURATION,
            ts(200),
        );
        assert_eq!(expired, expected);
        // A released lease (empty holder) is free even while "valid".
        let released = decide(
            Some(&record("", 3)),
            true,
            "me",
            DEFAULT_LEASE_DURATION,
            ts(200),
        );
        assert_eq!(released, expected);
    }

    #[test]
    fn renewing_keeps_acquire_time_and_transitions() {
        let step = decide(
            Some(&record("me", 3)),
            true,
            "me",
            DEFAULT_LEASE_DURATION,
            ts(200),
        );
        assert_eq!(
            step,
            Step::Update(Record {
                holder: "me".into(),
                lease_duration_seconds: 15,
                acquire_time: Some(ts(100)),
                renew_time: Some(ts(200)),
                transitions: 3,
            })
        );
    }

    #[test]
    fn validity_follows_the_local_observation_time() {
        let start = Instant::now();
        let first = Observation::observe(None, record("other", 0), start);
        assert!(first.is_valid(start + Duration::from_secs(14)));
        assert!(!first.is_valid(start + Duration::from_secs(15)));
        // The same record read again later does not extend the lease...
        let again = Observation::observe(
            Some(first.clone()),
            record("other", 0),
            start + Duration::from_secs(10),
        );
        assert_eq!(again.at, start);
        // ...a renewed one does.
        let mut renewed = record("other", 0);
        renewed.renew_time = Some(ts(120));
        let later = Observation::observe(Some(first), renewed, start + Duration::from_secs(10));
        assert_eq!(later.at, start + Duration::from_secs(10));
        assert!(later.is_valid(start + Duration::from_secs(24)));
    }

    #[test]
    fn upstream_timings() {
        let config = LeaderElectionConfig::controller_manager("me".into());
        assert_eq!(config.namespace, "kube-system");
        assert_eq!(config.name, "kube-controller-manager");
        assert_eq!(config.lease_duration, Duration::from_secs(15));
        assert_eq!(config.renew_deadline, Duration::from_secs(10));
        assert_eq!(config.retry_period, Duration::from_secs(2));
        assert!(config.renew_deadline < config.lease_duration);
        assert_eq!(
            jittered(Duration::from_secs(2), 1.2, 0.0),
            Duration::from_secs(2)
        );
        assert_eq!(
            jittered(Duration::from_secs(2), 1.2, 1.0),
            Duration::from_millis(4400)
        );
    }

    #[test]
    fn identity_is_host_and_uuid() {
        assert_eq!(
            format_uuid_v4([0xff; 16]),
            "ffffffff-ffff-4fff-bfff-ffffffffffff"
        );
        let identity = new_identity();
        let (host, uuid) = identity.rsplit_once('_').expect("host_uuid");
        assert!(!host.is_empty());
        assert_eq!(uuid.len(), 36);
        assert_eq!(&uuid[14..15], "4");
        assert_ne!(new_identity(), identity);
    }

    #[test]
    fn record_round_trips_through_a_lease() {
        let mut lease = Lease::default();
        let original = record("me", 2);
        original.apply_to(&mut lease);
        assert_eq!(Record::from_lease(&lease), original);
        let spec = lease.spec.expect("spec");
        assert_eq!(spec.holder_identity.as_deref(), Some("me"));
        assert_eq!(spec.lease_duration_seconds, Some(15));
    }
}
