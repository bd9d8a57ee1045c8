//! The etcd watch forwarder: one etcd watch stream per [`Watch`], owned by a task that turns etcd
//! watch responses into [`WatchResponse`]s, forwards progress requests, and cancels the etcd watch when
//! the [`Watch`] is dropped.
//!
//! Every channel is bounded: when the consumer is slow the task stops reading the gRPC stream, and
//! HTTP/2 flow control pushes back on etcd (which then treats the watcher as slow, as with any client).
//!
//! Progress: [`Watch::request_progress`] sends etcd's `WatchProgressRequest` on the watch's own stream.
//! etcd before 3.4.24 / 3.5.8 sends the answer on a control channel that races the events already
//! queued for the stream (etcd issue 15220), so on those versions a requested progress is held back for
//! [`BUGGY_PROGRESS_HOLD`] and events arriving meanwhile go first. etcd from 3.4.24 drops a progress
//! request while the watcher is still catching up (etcd issue 17507 until 3.4.31), so an unanswered
//! request is sent again every [`PROGRESS_RETRY`].

use std::{
    sync::{
        Arc,
        atomic::{AtomicI64, Ordering},
    },
    time::Duration,
};

use etcd_client::{EventType, WatchResponseStream};
use futures::StreamExt;
use tokio::{sync::mpsc, time::Instant};
use tokio_stream::wrappers::ReceiverStream;

use super::convert_kv;
use crate::{Event, ProgressRequester, Revision, StorageError, Watch, WatchResponse};

/// Responses buffered between the forwarding task and the consumer.
const WATCH_BUFFER: usize = 128;
/// How long a requested progress is held on etcd versions whose progress races the event stream.
pub(crate) const BUGGY_PROGRESS_HOLD: Duration = Duration::from_millis(100);
/// How often an unanswered progress request is sent again.
const PROGRESS_RETRY: Duration = Duration::from_millis(500);

/// Sends progress requests to a watch's forwarding task; merges requests while one is queued.
#[derive(Debug)]
struct EtcdProgressRequester {
    requests: mpsc::Sender<()>,
}

impl ProgressRequester for EtcdProgressRequester {
    fn request_progress(&self) {
        // A full channel means a request is already queued: this one merges with it.
        let _ = self.requests.try_send(());
    }
}

/// What the forwarding task needs besides the etcd stream.
pub(crate) struct Forwarder {
    /// The etcd watch stream's request side (progress requests, cancel).
    pub(crate) sender: etcd_client::WatchRequestSender,
    /// The etcd watch stream's response side, after the `created` response.
    pub(crate) responses: WatchResponseStream,
    /// The etcd watch id.
    pub(crate) watch_id: i64,
    /// The watch's start revision (for the `Compacted` error).
    pub(crate) start: Revision,
    /// The backend's known compaction revision, raised when etcd reports a higher one.
    pub(crate) compacted: Arc<AtomicI64>,
    /// How long to hold a requested progress (zero on fixed etcd versions).
    pub(crate) progress_hold: Duration,
}

impl Forwarder {
    /// Spawn the forwarding task and return the [`Watch`] it feeds.
    pub(crate) fn spawn(self) -> Watch {
        let (tx, rx) = mpsc::channel(WATCH_BUFFER);
        let (requests_tx, requests_rx) = mpsc::channel(1);
        tokio::spawn(self.run(tx, requests_rx));
        Watch::new(
            ReceiverStream::new(rx).boxed(),
            Box::new(EtcdProgressRequester {
                requests: requests_tx,
            }),
        )
    }

    async fn run(
        mut self,
        tx: mpsc::Sender<Result<WatchResponse, StorageError>>,
        mut requests: mpsc::Receiver<()>,
    ) {
        let mut state = State {
            last_revision: self.start.saturating_sub(1),
            held: None,
            retry_at: None,
        };
        let mut requests_open = true;
        loop {
            let timer = state.next_timer();
            tokio::select! {
                biased;
                () = tx.closed() => break,
                message = self.responses.next() => {
                    let outcome = match message {
                        Some(Ok(response)) => state.handle(&self, response),
                        Some(Err(error)) => Outcome::fail(StorageError::etcd("etcd watch stream failed", error)),
                        None => Outcome::fail(StorageError::Unavailable("etcd closed the watch stream".into())),
                    };
                    let done = outcome.done;
                    if !deliver(&tx, outcome.items).await || done {
                        break;
                    }
                }
                request = requests.recv(), if requests_open => match request {
                    Some(()) => {
                        if state.retry_at.is_none() {
                            state.retry_at = Some(Instant::now() + PROGRESS_RETRY);
                            if let Err(error) = self.sender.request_progress().await {
                                let _ = tx.send(Err(StorageError::etcd("requesting watch progress", error))).await;
                                break;
                            }
                        }
                    }
                    None => requests_open = false,
                },
                () = sleep_until(timer) => {
                    let now = Instant::now();
                    if let Some((revision, at)) = state.held
                        && at <= now
                    {
                        state.held = None;
                        state.retry_at = None;
                        let progress = revision.max(state.last_revision);
                        if !deliver(&tx, vec![Ok(WatchResponse::Progress(progress))]).await {
                            break;
                        }
                    }
                    if let Some(at) = state.retry_at
                        && at <= now
                        && state.held.is_none()
                    {
                        state.retry_at = Some(now + PROGRESS_RETRY);
                        if let Err(error) = self.sender.request_progress().await {
                            let _ = tx.send(Err(StorageError::etcd("requesting watch progress", error))).await;
                            break;
                        }
                    }
                }
            }
        }
        // Best effort: tell etcd to drop the watcher; dropping the sender then closes the stream.
        let _ = self.sender.cancel(self.watch_id).await;
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Send items in order; false once the consumer is gone.
async fn deliver(
    tx: &mpsc::Sender<Result<WatchResponse, StorageError>>,
    items: Vec<Result<WatchResponse, StorageError>>,
) -> bool {
    for item in items {
        if tx.send(item).await.is_err() {
            return false;
        }
    }
    true
}

/// The forwarding task's bookkeeping.
struct State {
    /// The revision of the last delivered event (or `start - 1`).
    last_revision: Revision,
    /// A requested progress held back until the given instant (racy etcd versions).
    held: Option<(Revision, Instant)>,
    /// When to resend an unanswered progress request; `Some` while one is outstanding.
    retry_at: Option<Instant>,
}

/// What one etcd response turns into.
struct Outcome {
    items: Vec<Result<WatchResponse, StorageError>>,
    done: bool,
}

impl Outcome {
    fn fail(error: StorageError) -> Self {
        Outcome {
            items: vec![Err(error)],
            done: true,
        }
    }
}

impl State {
    fn next_timer(&self) -> Option<Instant> {
        match (self.held.map(|(_, at)| at), self.retry_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn handle(&mut self, fwd: &Forwarder, response: etcd_client::WatchResponse) -> Outcome {
        if response.canceled() {
            let compacted = response.compact_revision();
            let error = if compacted > 0 {
                fwd.compacted.fetch_max(compacted, Ordering::Relaxed);
                StorageError::Compacted {
                    requested: fwd.start,
                    compacted,
                }
            } else {
                StorageError::Unavailable(format!(
                    "etcd canceled the watch: {}",
                    response.cancel_reason()
                ))
            };
            return Outcome::fail(error);
        }
        if response.created() {
            return Outcome {
                items: Vec::new(),
                done: false,
            };
        }
        if response.events().is_empty() {
            let revision = response.header().map_or(0, |h| h.revision());
            // etcd answers a progress request with watch id -1; its periodic notifications carry ours.
            let requested = response.watch_id() != fwd.watch_id;
            if requested && !fwd.progress_hold.is_zero() {
                let at = Instant::now() + fwd.progress_hold;
                self.held = Some(match self.held {
                    Some((held, held_at)) => (held.max(revision), held_at),
                    None => (revision, at),
                });
                return Outcome {
                    items: Vec::new(),
                    done: false,
                };
            }
            self.retry_at = None;
            let revision = self
                .held
                .take()
                .map_or(revision, |(held, _)| held.max(revision))
                .max(self.last_revision);
            return Outcome {
                items: vec![Ok(WatchResponse::Progress(revision))],
                done: false,
            };
        }
        let mut events = Vec::with_capacity(response.events().len());
        for event in response.events() {
            match convert_event(event, fwd) {
                Ok(e) => events.push(e),
                Err(error) => {
                    let mut items = Vec::new();
                    if !events.is_empty() {
                        items.push(Ok(WatchResponse::Events(events)));
                    }
                    items.push(Err(error));
                    return Outcome { items, done: true };
                }
            }
        }
        let mut items = Vec::with_capacity(2);
        if let Some(last) = events.last() {
            self.last_revision = self.last_revision.max(last.revision());
        }
        items.push(Ok(WatchResponse::Events(events)));
        // Events past a held progress prove it: deliver it now rather than after the hold.
        if let Some((held, _)) = self.held
            && held <= self.last_revision
        {
            self.held = None;
            self.retry_at = None;
            items.push(Ok(WatchResponse::Progress(self.last_revision)));
        }
        Outcome { items, done: false }
    }
}

fn convert_event(event: &etcd_client::Event, fwd: &Forwarder) -> Result<Event, StorageError> {
    let Some(kv) = event.kv() else {
        return Err(StorageError::Unavailable(
            "etcd sent a watch event without a key".into(),
        ));
    };
    let revision = kv.mod_revision();
    let missing_prev = || StorageError::Compacted {
        requested: revision.saturating_sub(1),
        compacted: fwd.compacted.load(Ordering::Relaxed),
    };
    match event.event_type() {
        EventType::Put => {
            let kv = convert_kv(kv.clone());
            if kv.create_revision == kv.mod_revision {
                Ok(Event::Created(kv))
            } else {
                let prev = event.prev_kv().ok_or_else(missing_prev)?;
                Ok(Event::Updated {
                    kv,
                    prev: convert_kv(prev.clone()),
                })
            }
        }
        EventType::Delete => {
            let prev = event.prev_kv().ok_or_else(missing_prev)?;
            Ok(Event::Deleted {
                revision,
                prev: convert_kv(prev.clone()),
            })
        }
    }
}
