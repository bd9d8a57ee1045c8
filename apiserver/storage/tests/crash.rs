//! Crash test of the embedded store (invariants 8 and 9): a child process writes under load and is
//! killed with SIGKILL at a random moment; on reopen, every write it acknowledged must be there.
//!
//! The test binary re-executes itself as the child (`child_writer`, an ignored test that acts only
//! when `TUGBOAT_CRASH_CHILD_DIR` is set). The child runs many concurrent writers; each writer owns
//! its keys and does one operation at a time, printing `try ...` before it issues a write and
//! `ack ...` once the write returned. So after the kill the parent knows, for every key, the last
//! acknowledged state and at most one write in flight, and checks that the reopened store holds
//! exactly the acknowledged state or the in-flight write's result. It also checks that the revision
//! did not go back, that no acknowledged revision was ever reused by a later write, that a watch
//! replays every acknowledged write still above the compaction, and that the store takes new writes.
//! Several kill cycles run on the same directory (so replay of torn tails is exercised again and
//! again); the last cycles use small log segments, big values and compaction so that segment rotation,
//! snapshots and self-compaction happen between kills.
//!
//! Set `TUGBOAT_CRASH_SEED` to replay the kill timings of a failed run.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    io::{BufRead, BufReader, Write},
    path::Path,
    process::{Command, Stdio},
    sync::{Arc, mpsc},
    time::{Duration, Instant},
};

use bytes::Bytes;
use futures::StreamExt;
use tugboat_storage::{
    Backend, Event, KeyValue, ListRequest, Revision, StorageError, WatchResponse, embedded,
};

const CHILD_DIR_ENV: &str = "TUGBOAT_CRASH_CHILD_DIR";
const CHILD_MODE_ENV: &str = "TUGBOAT_CRASH_CHILD_MODE";
const CHILD_CYCLE_ENV: &str = "TUGBOAT_CRASH_CHILD_CYCLE";
const SEED_ENV: &str = "TUGBOAT_CRASH_SEED";

const PREFIX: &str = "/registry/crash/";
const WRITERS: usize = 32;
/// A child that is never killed (the parent died) stops by itself.
const CHILD_LIFETIME: Duration = Duration::from_secs(60);

/// What the child does, and with which store options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Small values, default options.
    Steady,
    /// Big values, tiny log segments, snapshot interval and history bound, and a compactor task:
    /// segment rotation, snapshots and compaction happen while writing.
    Churn,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Steady => "steady",
            Mode::Churn => "churn",
        }
    }

    fn parse(s: &str) -> Mode {
        match s {
            "churn" => Mode::Churn,
            _ => Mode::Steady,
        }
    }

    fn options(self) -> embedded::Options {
        match self {
            Mode::Steady => embedded::Options::default(),
            Mode::Churn => embedded::Options {
                segment_bytes: 128 << 10,
                max_history_bytes: 1 << 20,
                snapshot_log_bytes: 512 << 10,
                ..embedded::Options::default()
            },
        }
    }
}

/// A deterministic PRNG (xorshift64*).
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

// ---------------------------------------------------------------------------------------------------
// The child
// ---------------------------------------------------------------------------------------------------

/// The child process of `crash_recovery`; does nothing unless that test started it.
#[test]
#[ignore = "the child process of crash_recovery; does nothing on its own"]
fn child_writer() {
    let Ok(dir) = std::env::var(CHILD_DIR_ENV) else {
        return;
    };
    let mode = Mode::parse(&std::env::var(CHILD_MODE_ENV).unwrap_or_default());
    let cycle: u64 = std::env::var(CHILD_CYCLE_ENV).unwrap().parse().unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(child_main(Path::new(&dir), mode, cycle));
    std::process::exit(0);
}

/// Print one protocol line; a write of a short line to a pipe is atomic, and the line is flushed
/// before the caller goes on.
fn emit(line: &str) {
    let mut out = std::io::stdout().lock();
    if out
        .write_all(line.as_bytes())
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.flush())
        .is_err()
    {
        std::process::exit(2); // the parent is gone
    }
}

fn fail(what: &str, error: &StorageError) -> ! {
    eprintln!("crash child: {what}: {error}");
    std::process::exit(3);
}

/// The value of a write: a tag that names it, then padding.
fn value_of(tag: &str, pad: usize) -> Bytes {
    let mut v = Vec::with_capacity(tag.len() + 1 + pad);
    v.extend_from_slice(tag.as_bytes());
    v.push(b'|');
    v.resize(tag.len() + 1 + pad, b'x');
    Bytes::from(v)
}

fn tag_of(value: &[u8]) -> &str {
    let end = value.iter().position(|&c| c == b'|').unwrap_or(value.len());
    std::str::from_utf8(&value[..end]).unwrap_or("<not utf-8>")
}

async fn child_main(dir: &Path, mode: Mode, cycle: u64) {
    // Protocol lines start on a fresh line whatever the test harness printed before.
    emit("");
    let backend: Arc<dyn Backend> = match embedded::EmbeddedBackend::open(dir, mode.options()).await
    {
        Ok(b) => Arc::new(b),
        Err(e) => fail("open", &e),
    };
    // Each writer takes over the keys it wrote in earlier cycles.
    let existing = match backend
        .list(&ListRequest {
            prefix: PREFIX.into(),
            ..Default::default()
        })
        .await
    {
        Ok(r) => r.kvs,
        Err(e) => fail("list", &e),
    };
    let mut owned: Vec<HashMap<String, KeyValue>> = vec![HashMap::new(); WRITERS];
    for kv in existing {
        let writer: usize = kv.key[PREFIX.len() + 1..]
            .split('/')
            .next()
            .and_then(|w| w.parse().ok())
            .unwrap();
        owned[writer].insert(kv.key.to_string(), kv);
    }
    emit(&format!(
        "ready {}",
        backend.current_revision().await.unwrap_or(-1)
    ));

    let mut tasks = Vec::new();
    for (id, keys) in owned.into_iter().enumerate() {
        let backend = backend.clone();
        tasks.push(tokio::spawn(writer(backend, mode, cycle, id, keys)));
    }
    if mode == Mode::Churn {
        let backend = backend.clone();
        tasks.push(tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(150)).await;
                let Ok(cur) = backend.current_revision().await else {
                    continue;
                };
                let target = cur - 300;
                if target > backend.compacted_revision().await.unwrap_or(0) {
                    match backend.compact(target).await {
                        Ok(()) | Err(StorageError::Compacted { .. }) => {}
                        Err(e) => fail("compact", &e),
                    }
                }
            }
        }));
    }
    tokio::time::sleep(CHILD_LIFETIME).await;
}

/// One writer: creates, updates, deletes and re-creates its own keys, one write at a time.
async fn writer(
    b: Arc<dyn Backend>,
    mode: Mode,
    cycle: u64,
    id: usize,
    mut keys: HashMap<String, KeyValue>,
) {
    let mut rng = Rng::new((cycle << 32) ^ (id as u64 * 0x9e37_79b9) ^ 0xdead_beef);
    let mut deleted: Vec<String> = Vec::new();
    for seq in 0u64.. {
        let tag = format!("c{cycle}.w{id}.s{seq}");
        let pad = match mode {
            Mode::Steady => rng.below(64) as usize,
            Mode::Churn => 512 + rng.below(8192) as usize,
        };
        let roll = rng.below(100);
        let pick = |rng: &mut Rng, keys: &HashMap<String, KeyValue>| {
            let mut names: Vec<&String> = keys.keys().collect();
            names.sort();
            names[rng.below(names.len() as u64) as usize].clone()
        };
        if keys.len() < 3 || roll < 15 {
            // Create: a new key, or one deleted before.
            let key = if !deleted.is_empty() && roll.is_multiple_of(2) {
                deleted.swap_remove(rng.below(deleted.len() as u64) as usize)
            } else {
                format!("{PREFIX}w{id}/c{cycle}-k{seq}")
            };
            emit(&format!("try C {key} {tag}"));
            match b.create(&key, value_of(&tag, pad), None).await {
                Ok(rev) => {
                    emit(&format!("ack C {key} {rev} {rev} 1 {tag}"));
                    keys.insert(key.clone(), kv_of(&key, &tag, rev, rev, 1));
                }
                Err(e) => fail("create", &e),
            }
        } else if roll < 30 {
            let key = pick(&mut rng, &keys);
            let old = keys.remove(&key).unwrap();
            let expected = (roll.is_multiple_of(2)).then_some(old.mod_revision);
            emit(&format!("try D {key} -"));
            match b.delete(&key, expected).await {
                Ok((rev, prev)) => {
                    let same = prev.key == old.key
                        && prev.create_revision == old.create_revision
                        && prev.mod_revision == old.mod_revision
                        && prev.version == old.version
                        && tag_of(&prev.value) == tag_of(&old.value);
                    if !same {
                        eprintln!(
                            "crash child: delete of {key} returned {prev:?}, expected {old:?}"
                        );
                        std::process::exit(3);
                    }
                    emit(&format!("ack D {key} {rev} 0 0 -"));
                    deleted.push(key);
                }
                Err(e) => fail("delete", &e),
            }
        } else {
            let key = pick(&mut rng, &keys);
            let old = &keys[&key];
            emit(&format!("try U {key} {tag}"));
            match b
                .update(&key, value_of(&tag, pad), old.mod_revision, None)
                .await
            {
                Ok(rev) => {
                    let (create, version) = (old.create_revision, old.version + 1);
                    emit(&format!("ack U {key} {rev} {create} {version} {tag}"));
                    keys.insert(key.clone(), kv_of(&key, &tag, create, rev, version));
                }
                Err(e) => fail("update", &e),
            }
        }
    }
}

fn kv_of(key: &str, tag: &str, create: Revision, modr: Revision, version: i64) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Bytes::copy_from_slice(tag.as_bytes()),
        create_revision: create,
        mod_revision: modr,
        version,
    }
}

// ---------------------------------------------------------------------------------------------------
// The parent
// ---------------------------------------------------------------------------------------------------

/// What the parent knows of one key.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Known {
    /// Present, with exactly this metadata and value tag.
    Present {
        create: Revision,
        modr: Revision,
        version: i64,
        tag: String,
    },
    /// Absent (never created, or deleted).
    Absent,
}

/// A write the child issued but did not acknowledge: it may or may not have happened.
#[derive(Debug, Clone)]
struct InFlight {
    op: char,
    tag: String,
}

/// One acknowledged write.
#[derive(Debug, Clone)]
struct Ack {
    op: char,
    key: String,
    rev: Revision,
}

/// What one child run reported.
#[derive(Debug, Default)]
struct ChildRun {
    acks: Vec<Ack>,
    /// The last acknowledged state of each key the child acknowledged a write to.
    acked: HashMap<String, Known>,
    /// Writes issued and not acknowledged, by key.
    in_flight: HashMap<String, InFlight>,
    ready_revision: Option<Revision>,
}

impl ChildRun {
    fn parse_line(&mut self, line: &str) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        match fields.as_slice() {
            ["ready", rev] => self.ready_revision = Some(rev.parse().unwrap()),
            ["try", op, key, tag] => {
                let op = op.chars().next().unwrap();
                let previous = self.in_flight.insert(
                    key.to_string(),
                    InFlight {
                        op,
                        tag: tag.to_string(),
                    },
                );
                assert!(previous.is_none(), "two writes in flight on {key}: {line}");
            }
            ["ack", op, key, rev, create, version, tag] => {
                let op = op.chars().next().unwrap();
                let rev: Revision = rev.parse().unwrap();
                let flight = self.in_flight.remove(*key);
                assert!(
                    flight.is_some_and(|f| f.op == op),
                    "ack without try: {line}"
                );
                let known = if op == 'D' {
                    Known::Absent
                } else {
                    Known::Present {
                        create: create.parse().unwrap(),
                        modr: rev,
                        version: version.parse().unwrap(),
                        tag: tag.to_string(),
                    }
                };
                self.acked.insert(key.to_string(), known);
                self.acks.push(Ack {
                    op,
                    key: key.to_string(),
                    rev,
                });
            }
            [] => {}
            _ if line.starts_with("running ") || line.starts_with("test ") => {}
            _ => {} // libtest chatter
        }
    }
}

/// Run one child on `dir` and SIGKILL it `kill_after` after its first acknowledged write, or, with
/// `during_open`, `kill_after` after it started (most likely while it replays the log).
fn run_child(
    dir: &Path,
    mode: Mode,
    cycle: u64,
    kill_after: Duration,
    during_open: bool,
) -> ChildRun {
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(exe)
        .args([
            "--exact",
            "child_writer",
            "--nocapture",
            "--ignored",
            "--test-threads=1",
            "-q",
        ])
        .env(CHILD_DIR_ENV, dir)
        .env(CHILD_MODE_ENV, mode.name())
        .env(CHILD_CYCLE_ENV, cycle.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("starting the child");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        loop {
            let mut line = String::new();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => break,
                // A line cut short by the kill was never completely printed: not an ack.
                Ok(_) if !line.ends_with('\n') => break,
                Ok(_) => {
                    if tx.send(line.trim_end().to_owned()).is_err() {
                        break;
                    }
                }
            }
        }
    });

    let mut run = ChildRun::default();
    // Wait for the first ack (the child may first replay a long log).
    let deadline = Instant::now() + Duration::from_secs(120);
    if !during_open {
        loop {
            match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(line) => {
                    let is_ack = line.starts_with("ack ");
                    run.parse_line(&line);
                    if is_ack {
                        break;
                    }
                }
                Err(_) => {
                    let status = child.try_wait().unwrap();
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!(
                        "cycle {cycle}: the child acknowledged no write (exit status: {status:?})"
                    );
                }
            }
        }
    }
    std::thread::sleep(kill_after);
    if let Some(status) = child.try_wait().unwrap() {
        panic!("cycle {cycle}: the child exited before the kill: {status}");
    }
    child.kill().expect("SIGKILL the child");
    let status = child.wait().unwrap();
    reader.join().unwrap();
    for line in rx.try_iter() {
        run.parse_line(&line);
    }
    {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(
            status.signal(),
            Some(libc::SIGKILL),
            "the child died of SIGKILL"
        );
    }
    run
}

/// The whole history the parent has seen.
#[derive(Debug, Default)]
struct Model {
    /// The state of every key the children ever wrote, as verified after the last cycle.
    state: BTreeMap<String, Known>,
    /// Every acknowledged revision, with its write.
    acked_revisions: BTreeMap<Revision, Ack>,
    /// The current revision verified after the last cycle.
    revision: Revision,
}

#[test]
fn crash_recovery() {
    let seed: u64 = std::env::var(SEED_ENV)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    println!("crash_recovery: {SEED_ENV}={seed}");
    let mut rng = Rng::new(seed);
    let dir = tempfile::Builder::new()
        .prefix("tugboat-crash-")
        .tempdir()
        .unwrap();
    let mut model = Model::default();
    // (mode, kill while the child opens the store)
    let cycles = [
        (Mode::Steady, false),
        (Mode::Steady, false),
        (Mode::Steady, false),
        (Mode::Steady, true),
        (Mode::Steady, false),
        (Mode::Steady, false),
        (Mode::Churn, false),
        (Mode::Churn, true),
        (Mode::Churn, false),
    ];
    for (cycle, (mode, during_open)) in cycles.into_iter().enumerate() {
        let kill_after = if during_open {
            Duration::from_millis(5 + rng.below(60))
        } else {
            Duration::from_millis(200 + rng.below(1300))
        };
        let run = run_child(dir.path(), mode, cycle as u64, kill_after, during_open);
        println!(
            "cycle {cycle} ({}{}): killed after {kill_after:?}: {} acknowledged writes, {} in \
             flight, started at revision {:?}",
            mode.name(),
            if during_open { ", during open" } else { "" },
            run.acks.len(),
            run.in_flight.len(),
            run.ready_revision,
        );
        if let Some(ready) = run.ready_revision {
            assert!(
                ready >= model.revision,
                "cycle {cycle}: the child opened the store at revision {ready}, below {} verified \
                 after the previous cycle",
                model.revision
            );
        }
        verify(dir.path(), mode, cycle, &mut model, run);
        let mut files: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        files.sort();
        println!("cycle {cycle}: data dir after recovery: {files:?}");
    }
    println!(
        "crash_recovery: {} acknowledged writes over {} cycles survived; store at revision {}",
        model.acked_revisions.len(),
        cycles.len(),
        model.revision
    );
}

/// Reopen the store after a kill and check it against what the child acknowledged.
fn verify(dir: &Path, mode: Mode, cycle: usize, model: &mut Model, run: ChildRun) {
    // Revisions are never reused: a revision acknowledged once names one write forever.
    let mut max_acked = model.revision;
    for ack in &run.acks {
        max_acked = max_acked.max(ack.rev);
        if let Some(earlier) = model.acked_revisions.insert(ack.rev, ack.clone()) {
            panic!(
                "cycle {cycle}: revision {} acknowledged twice: {earlier:?} and {ack:?} (a write \
                 acknowledged before a crash was lost and its revision reused)",
                ack.rev
            );
        }
    }

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let b: Arc<dyn Backend> = Arc::new(
            embedded::EmbeddedBackend::open(dir, mode.options())
                .await
                .unwrap_or_else(|e| panic!("cycle {cycle}: reopening after SIGKILL failed: {e}")),
        );
        let cur = b.current_revision().await.unwrap();
        let compacted = b.compacted_revision().await.unwrap();
        assert!(
            cur >= max_acked,
            "cycle {cycle}: current revision {cur} is below the acknowledged revision {max_acked}"
        );
        assert!(
            compacted <= cur,
            "cycle {cycle}: compacted {compacted} > current {cur}"
        );

        // The state: well-formed, and what was acknowledged (or the in-flight write's result).
        let list = b
            .list(&ListRequest {
                prefix: PREFIX.into(),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(list.revision, cur);
        assert_eq!(list.count, list.kvs.len() as i64);
        let mut mod_revisions = HashSet::new();
        let mut found: HashMap<String, KeyValue> = HashMap::new();
        for kv in &list.kvs {
            assert!(
                kv.create_revision <= kv.mod_revision && kv.mod_revision <= cur,
                "cycle {cycle}: bad revisions {kv:?} (current {cur})"
            );
            assert!(kv.version >= 1, "cycle {cycle}: bad version {kv:?}");
            assert_eq!(
                kv.version == 1,
                kv.create_revision == kv.mod_revision,
                "cycle {cycle}: version and revisions disagree: {kv:?}"
            );
            assert!(
                mod_revisions.insert(kv.mod_revision),
                "cycle {cycle}: two keys with mod_revision {}",
                kv.mod_revision
            );
            found.insert(kv.key.to_string(), kv.clone());
        }
        let keys: Vec<&str> = list.kvs.iter().map(|kv| &*kv.key).collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted, "cycle {cycle}: list out of key order");

        // Expected state per key: the model updated by this run's acks.
        let mut expected = model.state.clone();
        for (key, known) in &run.acked {
            expected.insert(key.clone(), known.clone());
        }
        let all_keys: HashSet<String> = expected
            .keys()
            .chain(run.in_flight.keys())
            .chain(found.keys())
            .cloned()
            .collect();
        let mut new_state = BTreeMap::new();
        for key in all_keys {
            let before = expected.get(&key).cloned().unwrap_or(Known::Absent);
            let actual = match found.get(&key) {
                Some(kv) => Known::Present {
                    create: kv.create_revision,
                    modr: kv.mod_revision,
                    version: kv.version,
                    tag: tag_of(&kv.value).to_owned(),
                },
                None => Known::Absent,
            };
            let ok = actual == before
                || run.in_flight.get(&key).is_some_and(|f| {
                    in_flight_result_matches(&before, f, &actual, max_acked_of(&before))
                });
            assert!(
                ok,
                "cycle {cycle}: key {key}: store has {actual:?}; acknowledged state {before:?}, \
                 in flight: {:?}",
                run.in_flight.get(&key)
            );
            if actual != Known::Absent {
                new_state.insert(key, actual);
            }
        }

        // History: a watch from the compaction replays every acknowledged write above it.
        let start = compacted.max(1);
        let first_ack = model.acked_revisions.range(start..).next().map(|(r, _)| *r);
        if let Some(first) = first_ack {
            let mut watch = b.watch(PREFIX, first).await.unwrap();
            let mut events: BTreeMap<Revision, Event> = BTreeMap::new();
            let mut last = 0;
            // Up to which revision the replay is complete.
            let mut complete_to = cur;
            watch.request_progress();
            loop {
                let item = tokio::time::timeout(Duration::from_secs(20), watch.next())
                    .await
                    .unwrap_or_else(|_| {
                        panic!("cycle {cycle}: the replay watch stalled at {last}")
                    });
                match item {
                    Some(Ok(WatchResponse::Events(evs))) => {
                        for e in evs {
                            assert!(
                                e.revision() > last,
                                "cycle {cycle}: replay out of order at {}",
                                e.revision()
                            );
                            last = e.revision();
                            events.insert(e.revision(), e);
                        }
                        if last >= cur {
                            break;
                        }
                    }
                    Some(Ok(WatchResponse::Progress(r))) if r >= cur => break,
                    Some(Ok(WatchResponse::Progress(_))) => watch.request_progress(),
                    Some(Err(StorageError::Compacted { .. })) => {
                        // Self-compaction overtook the replay (churn mode); check what we got.
                        assert_eq!(mode, Mode::Churn, "cycle {cycle}: replay watch compacted");
                        complete_to = last;
                        break;
                    }
                    Some(Err(e)) => panic!("cycle {cycle}: replay watch failed: {e}"),
                    None => panic!("cycle {cycle}: replay watch ended"),
                }
            }
            for (rev, ack) in model.acked_revisions.range(first..=complete_to) {
                let event = events.get(rev).unwrap_or_else(|| {
                    panic!("cycle {cycle}: the watch replay has no event at acknowledged {ack:?}")
                });
                assert_eq!(event.key(), ack.key, "cycle {cycle}: event at {rev}");
                let kind = match event {
                    Event::Created(_) => 'C',
                    Event::Updated { .. } => 'U',
                    Event::Deleted { .. } => 'D',
                };
                assert_eq!(kind, ack.op, "cycle {cycle}: event at {rev}: {event:?}");
            }
        }

        // The store takes new writes, at the next revision.
        let probe = format!("/registry/crash-probe/{cycle}");
        let rev = b
            .create(&probe, Bytes::from_static(b"probe"), None)
            .await
            .unwrap();
        assert_eq!(
            rev,
            cur + 1,
            "cycle {cycle}: the first write after the crash"
        );
        assert_eq!(
            b.get(&probe, 0).await.unwrap().1.map(|kv| kv.mod_revision),
            Some(rev)
        );

        model.state = new_state;
        model.revision = rev;
        drop(b);
    });
    runtime.shutdown_timeout(Duration::from_secs(5));
}

fn max_acked_of(known: &Known) -> Revision {
    match known {
        Known::Present { modr, .. } => *modr,
        Known::Absent => 0,
    }
}

/// Whether `actual` is what the in-flight write `f` on a key in state `before` would have made.
fn in_flight_result_matches(
    before: &Known,
    f: &InFlight,
    actual: &Known,
    before_rev: Revision,
) -> bool {
    match (f.op, before, actual) {
        ('D', Known::Present { .. }, Known::Absent) => true,
        (
            'C',
            Known::Absent,
            Known::Present {
                create,
                modr,
                version,
                tag,
            },
        ) => create == modr && *version == 1 && *tag == f.tag,
        (
            'U',
            Known::Present {
                create: c0,
                version: v0,
                ..
            },
            Known::Present {
                create,
                modr,
                version,
                tag,
            },
        ) => create == c0 && *version == v0 + 1 && *modr > before_rev && *tag == f.tag,
        _ => false,
    }
}
