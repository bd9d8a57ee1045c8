//! WATCH: a chunked stream of `{"type":...,"object":...}` lines served from the watch cache, or of
//! length-prefixed protobuf `WatchEvent` frames (`application/vnd.kubernetes.protobuf;stream=watch`).
//!
//! Without a resourceVersion (or with `0`) the stream starts with the current state as ADDED
//! events; with `sendInitialEvents=true` that state ends with a bookmark annotated
//! `k8s.io/initial-events-end`. Selector moves become ADDED/DELETED as upstream. A watcher that
//! falls behind the cache's ring gets an ERROR event with 410 and the stream ends; the client
//! relists. The producer writes into a small bounded channel, so a slow client slows only its
//! own task, and the cursor holds no buffer of its own.

use std::{sync::Arc, time::Duration};

use axum::{body::Body, response::Response};
use bytes::Bytes;
use http::{HeaderValue, StatusCode, header};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tugboat_machinery::status::ApiError;

use super::{
    Context,
    list::{FRESHNESS_TIMEOUT, cache_error},
    query::VersionMatch,
    table,
};
use crate::{
    cache::{Change, Object},
    negotiate::{self, Encoding, Offers, Shape},
    registry::conversion::Conversion,
    stored,
};

/// Events buffered between the producer and the client's connection.
const CHANNEL_DEPTH: usize = 16;
/// The default lifetime of a watch without `timeoutSeconds` (upstream: 30 to 60 minutes).
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30 * 60);
/// How often an idle watch sends a bookmark when bookmarks are allowed.
const BOOKMARK_INTERVAL: Duration = Duration::from_secs(60);

/// Start a watch.
pub(crate) async fn watch(context: &Context<'_>) -> Result<Response, ApiError> {
    let store = context.store.clone();
    let query = context.query;
    let accept = context
        .headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok());
    let table_version = negotiate::negotiate(
        accept,
        Offers {
            conversions: true,
            aggregated_discovery: false,
            protobuf: false,
        },
    )
    .and_then(|f| match f.shape {
        Shape::Table { version } => Some(version),
        _ => None,
    });
    let protobuf_offered =
        tugboat_protobuf::has_protobuf(&store.info.api_version(), &store.info.kind);
    let protobuf = match table_version {
        Some(_) => false,
        None => {
            negotiate::watch_encoding(accept, protobuf_offered).ok_or_else(|| {
                ApiError::not_acceptable(&["application/json", PROTOBUF_WATCH_MEDIA_TYPE])
            })? == Encoding::Protobuf
        }
    };
    super::check_field_selector(&store.info, &query.field_selector)?;
    let requested = query.revision()?;
    if let Some(send) = query.send_initial_events {
        if send && !query.allow_bookmarks {
            return Err(ApiError::bad_request(
                "sendInitialEvents is forbidden for watch unless allowWatchBookmarks is set to true",
            ));
        }
        if query.version_match != VersionMatch::NotOlderThan {
            return Err(ApiError::bad_request(
                "sendInitialEvents is forbidden for watch unless resourceVersionMatch is set to NotOlderThan",
            ));
        }
    }
    let initial_end_bookmark = query.send_initial_events == Some(true);
    let with_initial = match query.send_initial_events {
        Some(send) => send,
        None => matches!(requested, None | Some(0)),
    };
    if requested.is_none() && with_initial {
        store
            .cache
            .wait_for(0, FRESHNESS_TIMEOUT)
            .await
            .map_err(cache_error)?;
    }
    let within = store.key_within(context.namespace);
    let start = if with_initial {
        0
    } else {
        requested.unwrap_or(0)
    };
    let label_selector = query.label_selector.clone();
    let field_selector = query.field_selector.clone();
    let matches = move |object: &Object| {
        object.key.starts_with(within.as_str())
            && label_selector.matches(&object.attributes.labels)
            && field_selector.matches(&object.attributes.fields)
    };
    let timeout = query.timeout.unwrap_or(DEFAULT_TIMEOUT);
    let allow_bookmarks = query.allow_bookmarks;
    let include_object = query.include_object.clone();
    let info = store.info.clone();
    let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(CHANNEL_DEPTH);

    let encoder = EventEncoder {
        protobuf,
        table_version,
        include_object,
        kind: info.kind.clone(),
        api_version: info.api_version(),
        conversion: store.conversion().cloned(),
    };
    let opened = store
        .cache
        .watch(start, &store.key_within(context.namespace), with_initial);
    let mut shutdown = context.registry.shutdown.clone();
    tokio::spawn(async move {
        let deadline = tokio::time::sleep(timeout);
        tokio::pin!(deadline);
        let (mut cursor, initial) = match opened {
            Ok(opened) => opened,
            Err(error) => {
                let _ = tx.send(Ok(encoder.error(&cache_error(error)))).await;
                return;
            }
        };
        for object in initial.iter().filter(|o| matches(o)) {
            if tx
                .send(Ok(encoder.event("ADDED", object, None)))
                .await
                .is_err()
            {
                return;
            }
        }
        if initial_end_bookmark {
            let revision = cursor.position();
            if tx.send(Ok(encoder.bookmark(revision, true))).await.is_err() {
                return;
            }
        }
        let mut bookmark_timer = tokio::time::interval(BOOKMARK_INTERVAL);
        bookmark_timer.tick().await;
        loop {
            tokio::select! {
                changes = cursor.next() => {
                    let changes = match changes {
                        Ok(changes) => changes,
                        Err(error) => {
                            let _ = tx.send(Ok(encoder.error(&cache_error(error)))).await;
                            return;
                        }
                    };
                    for change in &changes {
                        if let Some(line) = encoder.change(change, &matches)
                            && tx.send(Ok(line)).await.is_err() {
                                return;
                            }
                    }
                }
                _ = bookmark_timer.tick(), if allow_bookmarks => {
                    if let Some(revision) = cursor.idle_revision()
                        && tx.send(Ok(encoder.bookmark(revision, false))).await.is_err() {
                            return;
                        }
                }
                _ = &mut deadline => return,
                () = crate::stopped(&mut shutdown) => return,
                _ = tx.closed() => return,
            }
        }
    });
    let stream = tokio_stream::wrappers::ReceiverStream::new(rx);
    let mut response = Response::new(Body::from_stream(stream));
    *response.status_mut() = StatusCode::OK;
    let media_type = if protobuf {
        PROTOBUF_WATCH_MEDIA_TYPE
    } else {
        Encoding::Json.media_type()
    };
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(media_type));
    response.headers_mut().insert(
        header::TRANSFER_ENCODING,
        HeaderValue::from_static("chunked"),
    );
    Ok(response)
}

/// The content type of protobuf watch streams.
const PROTOBUF_WATCH_MEDIA_TYPE: &str = "application/vnd.kubernetes.protobuf;stream=watch";

/// Turns cache changes into watch lines (JSON) or frames (protobuf).
struct EventEncoder {
    /// Length-prefixed protobuf frames rather than JSON lines.
    protobuf: bool,
    table_version: Option<String>,
    include_object: String,
    kind: String,
    api_version: String,
    /// For a resource served in another version than its storage version.
    conversion: Option<Arc<Conversion>>,
}

impl EventEncoder {
    fn change(&self, change: &Change, matches: &impl Fn(&Object) -> bool) -> Option<Bytes> {
        match change {
            Change::Added(object) => matches(object).then(|| self.event("ADDED", object, None)),
            Change::Modified { object, previous } => match (matches(previous), matches(object)) {
                (true, true) => Some(self.event("MODIFIED", object, None)),
                (false, true) => Some(self.event("ADDED", object, None)),
                (true, false) => Some(self.event("DELETED", object, None)),
                (false, false) => None,
            },
            Change::Deleted { revision, previous } => {
                matches(previous).then(|| self.event("DELETED", previous, Some(*revision)))
            }
        }
    }

    /// One event line; `revision` overrides the object's resourceVersion (deletes).
    fn event(&self, kind: &str, object: &Object, revision: Option<i64>) -> Bytes {
        let revision = revision.unwrap_or(object.revision);
        // Objects go out in the served version; Table cells are printed from the stored form
        // (converted below for `includeObject=Object`).
        let converted;
        let object = match (&self.conversion, &self.table_version) {
            (Some(conversion), None) => match conversion.object_to_external(object) {
                Ok(served) => {
                    converted = served;
                    &converted
                }
                Err(error) => return self.error(&error),
            },
            _ => object,
        };
        if self.protobuf {
            let mut with_rv = Vec::with_capacity(object.value.len() + 32);
            stored::with_resource_version(&object.value, revision, &mut with_rv);
            return match serde_json::from_slice::<Value>(&with_rv) {
                Ok(value) => self.frame(kind, &value),
                Err(error) => self.error(&ApiError::internal(&format!(
                    "stored object is not valid JSON: {error}"
                ))),
            };
        }
        let mut line = Vec::with_capacity(object.value.len() + 64);
        line.extend_from_slice(b"{\"type\":\"");
        line.extend_from_slice(kind.as_bytes());
        line.extend_from_slice(b"\",\"object\":");
        match &self.table_version {
            None => stored::with_resource_version(&object.value, revision, &mut line),
            Some(version) => {
                let mut with_rv = Vec::new();
                stored::with_resource_version(&object.value, revision, &mut with_rv);
                let value: Value = serde_json::from_slice(&with_rv).unwrap_or(Value::Null);
                let mut table = table::table_for_watch(
                    &value,
                    revision,
                    &self.include_object,
                    &self.api_version,
                    &self.kind,
                );
                if let Some(conversion) = &self.conversion
                    && let Err(error) = conversion.table_to_external(&mut table)
                {
                    return self.error(&error);
                }
                if version != "v1" {
                    table = table::with_version(&table, version);
                }
                line.extend_from_slice(table.to_string().as_bytes());
            }
        }
        line.extend_from_slice(b"}\n");
        Bytes::from(line)
    }

    fn bookmark(&self, revision: i64, initial_events_end: bool) -> Bytes {
        let mut metadata = json!({ "resourceVersion": revision.to_string() });
        if initial_events_end {
            metadata["annotations"] = json!({ "k8s.io/initial-events-end": "true" });
        }
        let object = json!({
            "kind": self.kind,
            "apiVersion": self.api_version,
            "metadata": metadata,
        });
        if self.protobuf {
            return self.frame("BOOKMARK", &object);
        }
        let line = json!({ "type": "BOOKMARK", "object": object });
        Bytes::from(format!("{line}\n"))
    }

    fn error(&self, error: &ApiError) -> Bytes {
        if self.protobuf {
            let status: Value = serde_json::from_str(&error.to_json()).unwrap_or(Value::Null);
            return self.frame("ERROR", &status);
        }
        let mut line = b"{\"type\":\"ERROR\",\"object\":".to_vec();
        line.extend_from_slice(error.to_json().as_bytes());
        line.extend_from_slice(b"}\n");
        Bytes::from(line)
    }

    /// One protobuf frame. An object the transcoder cannot encode ends the stream with an ERROR
    /// frame rather than a frame the client cannot read (every kind served here has a message).
    fn frame(&self, event_type: &str, object: &Value) -> Bytes {
        match tugboat_protobuf::encode_watch_event(event_type, object) {
            Ok(frame) => Bytes::from(frame),
            Err(error) => {
                tracing::warn!(%error, kind = %self.kind, "encoding a protobuf watch event");
                let status = ApiError::internal(&format!("encoding a watch event: {error}"));
                let status: Value = serde_json::from_str(&status.to_json()).unwrap_or(Value::Null);
                tugboat_protobuf::encode_watch_event("ERROR", &status)
                    .map(Bytes::from)
                    .unwrap_or_default()
            }
        }
    }
}
