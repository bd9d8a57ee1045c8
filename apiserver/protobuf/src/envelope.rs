//! The framing around objects on the wire: the `k8s\0` + `runtime.Unknown` envelope of every
//! protobuf body, and the length-prefixed `meta.v1.WatchEvent` frames of a protobuf watch stream.
//!
//! Upstream (`apimachinery/pkg/runtime/serializer/protobuf/protobuf.go`): a body is the 4 bytes
//! `6b 38 73 00` followed by `runtime.Unknown {typeMeta = 1 {apiVersion = 1, kind = 2}, raw = 2,
//! contentEncoding = 3, contentType = 4}` whose `raw` is the object's own message. A watch stream uses
//! the "raw" serializer (no envelope) with a length-delimited framer: each frame is a 4-byte big-endian
//! length and a `WatchEvent {type = 1, object = 2 (RawExtension {raw = 1})}` whose `raw` is the object
//! in its own envelope.

use serde_json::{Map, Value};

use crate::decode::decode_message;
use crate::encode::encode_message;
use crate::error::{Error, Path, Result};
use crate::schema::{Label, Message, Ty, message, message_for_kind};
use crate::wire::{Reader, Value as Wire, Writer};
use crate::{CONTENT_TYPE, MAGIC};

/// An object's apiVersion and kind, as the envelope carries them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TypeMeta {
    pub api_version: String,
    pub kind: String,
}

/// Decodes a protobuf body (`k8s\0` + `runtime.Unknown`) into its type and JSON object (with
/// `apiVersion` and `kind` set). Fails with [`Error::NotProtobufKind`] for a kind without a message.
pub fn decode_envelope(bytes: &[u8]) -> Result<(TypeMeta, Value)> {
    decode_envelope_with_defaults(bytes, None)
}

/// Like [`decode_envelope`], but an envelope without apiVersion or kind takes them from `defaults`
/// (upstream defaults them from the request's URL).
pub fn decode_envelope_with_defaults(
    bytes: &[u8],
    defaults: Option<&TypeMeta>,
) -> Result<(TypeMeta, Value)> {
    let (mut tm, raw, content_type) = read_unknown(bytes, &Path::default())?;
    if let Some(d) = defaults {
        if tm.kind.is_empty() {
            tm.kind.clone_from(&d.kind);
        }
        if tm.api_version.is_empty() {
            tm.api_version.clone_from(&d.api_version);
        }
    }
    let value = decode_unknown(tm.clone(), raw, &content_type, &mut Path::default())?;
    Ok((tm, value))
}

/// Decodes an envelope embedded in a RawExtension (a watch event's object, or any raw field).
pub(crate) fn decode_envelope_at(bytes: &[u8], path: &mut Path) -> Result<(TypeMeta, Value)> {
    let (tm, raw, content_type) = read_unknown(bytes, path)?;
    let value = decode_unknown(tm.clone(), raw, &content_type, path)?;
    Ok((tm, value))
}

fn read_unknown<'a>(bytes: &'a [u8], path: &Path) -> Result<(TypeMeta, &'a [u8], String)> {
    let body = bytes.strip_prefix(MAGIC).ok_or(Error::MissingMagic)?;
    let mut tm = TypeMeta::default();
    let mut raw: &[u8] = &[];
    let mut content_type = String::new();
    let mut r = Reader::new(body);
    while let Some((tag, v)) = r.next_field().map_err(|e| path.wire(e))? {
        match (tag, v) {
            (1, Wire::Len(b)) => {
                let mut tr = Reader::new(b);
                while let Some((t, v)) = tr.next_field().map_err(|e| path.wire(e))? {
                    match (t, v) {
                        (1, Wire::Len(s)) => {
                            tm.api_version = String::from_utf8_lossy(s).into_owned()
                        }
                        (2, Wire::Len(s)) => tm.kind = String::from_utf8_lossy(s).into_owned(),
                        _ => {}
                    }
                }
            }
            (2, Wire::Len(b)) => raw = b,
            (3, Wire::Len(b)) if !b.is_empty() => {
                return Err(Error::UnsupportedEnvelope {
                    what: "contentEncoding",
                    value: String::from_utf8_lossy(b).into_owned(),
                });
            }
            (4, Wire::Len(b)) => content_type = String::from_utf8_lossy(b).into_owned(),
            _ => {}
        }
    }
    Ok((tm, raw, content_type))
}

fn decode_unknown(tm: TypeMeta, raw: &[u8], content_type: &str, path: &mut Path) -> Result<Value> {
    if tm.kind.is_empty() {
        return Err(Error::MissingTypeMeta("kind"));
    }
    if tm.api_version.is_empty() {
        return Err(Error::MissingTypeMeta("apiVersion"));
    }
    let mut body = match content_type {
        "" | CONTENT_TYPE => {
            let msg = message_for_kind(&tm.api_version, &tm.kind).ok_or_else(|| {
                Error::NotProtobufKind {
                    api_version: tm.api_version.clone(),
                    kind: tm.kind.clone(),
                }
            })?;
            decode_message(msg, raw, path)?
        }
        "application/json" => {
            serde_json::from_slice(raw).map_err(|source| Error::EmbeddedJson {
                path: path.get(),
                source,
            })?
        }
        other => {
            return Err(Error::UnsupportedEnvelope {
                what: "contentType",
                value: other.to_owned(),
            });
        }
    };
    let mut out = Map::new();
    out.insert("apiVersion".to_owned(), Value::String(tm.api_version));
    out.insert("kind".to_owned(), Value::String(tm.kind));
    if let Value::Object(fields) = &mut body {
        for (k, v) in std::mem::take(fields) {
            if k != "apiVersion" && k != "kind" {
                out.insert(k, v);
            }
        }
    }
    Ok(Value::Object(out))
}

/// The apiVersion and kind of a JSON object.
pub fn type_meta(obj: &Value) -> Result<TypeMeta> {
    let get = |k: &'static str| -> Result<String> {
        match obj.get(k).and_then(Value::as_str) {
            Some(s) if !s.is_empty() => Ok(s.to_owned()),
            _ => Err(Error::MissingTypeMeta(k)),
        }
    };
    Ok(TypeMeta {
        api_version: get("apiVersion")?,
        kind: get("kind")?,
    })
}

/// Whether Kubernetes has a protobuf form for this kind (lists included: `PodList`). When not, the
/// server answers in JSON (or 406/415 when the client insists on protobuf).
pub fn has_protobuf(api_version: &str, kind: &str) -> bool {
    message_for_kind(api_version, kind).is_some()
}

/// Encodes a JSON object (with `apiVersion` and `kind`) as the object's own message, without the
/// envelope. Unknown JSON fields are dropped.
pub fn encode_object(obj: &Value) -> Result<Vec<u8>> {
    let tm = type_meta(obj)?;
    let msg = message_for_kind(&tm.api_version, &tm.kind).ok_or(Error::NotProtobufKind {
        api_version: tm.api_version,
        kind: tm.kind,
    })?;
    let mut w = Writer::default();
    encode_message(msg, obj, &mut w, &mut Path::default())?;
    Ok(w.buf)
}

/// Decodes an object's own message (no envelope) of a known type into JSON with `apiVersion` and
/// `kind` set.
pub fn decode_object(api_version: &str, kind: &str, raw: &[u8]) -> Result<Value> {
    let tm = TypeMeta {
        api_version: api_version.to_owned(),
        kind: kind.to_owned(),
    };
    decode_unknown(tm, raw, "", &mut Path::default())
}

/// Encodes a JSON object (with `apiVersion` and `kind`; a list such as `PodList` too) as a protobuf
/// body: `k8s\0` + `runtime.Unknown`, byte for byte as upstream's serializer lays it out.
pub fn encode_envelope(obj: &Value) -> Result<Vec<u8>> {
    let tm = type_meta(obj)?;
    let raw = encode_object(obj)?;
    Ok(wrap(&tm, &raw))
}

/// Encodes a list (`PodList`, ...) one item at a time, so that a large LIST never holds every
/// item's JSON tree at once: the list's metadata first, each item as it comes, then the envelope.
/// The bytes are those [`encode_envelope`] gives for the whole list.
#[derive(Debug)]
pub struct ListEncoder {
    type_meta: TypeMeta,
    items_tag: u32,
    item: &'static Message,
    body: Writer,
}

impl ListEncoder {
    /// A list of kind `list_kind` in `api_version` with `list_meta` (the JSON `ListMeta`). Fails
    /// with [`Error::NotProtobufKind`] when the list has no message.
    pub fn new(api_version: &str, list_kind: &str, list_meta: &Value) -> Result<Self> {
        let not_protobuf = || Error::NotProtobufKind {
            api_version: api_version.to_owned(),
            kind: list_kind.to_owned(),
        };
        let list = message_for_kind(api_version, list_kind).ok_or_else(not_protobuf)?;
        let items = list
            .fields
            .iter()
            .find(|field| field.json == "items" && field.label == Label::Repeated)
            .ok_or_else(not_protobuf)?;
        let Ty::Msg(item) = items.ty else {
            return Err(not_protobuf());
        };
        let mut body = Writer::default();
        let mut head = Map::new();
        head.insert("metadata".to_owned(), list_meta.clone());
        encode_message(list, &Value::Object(head), &mut body, &mut Path::default())?;
        Ok(ListEncoder {
            type_meta: TypeMeta {
                api_version: api_version.to_owned(),
                kind: list_kind.to_owned(),
            },
            items_tag: items.tag,
            item: message(item),
            body,
        })
    }

    /// Appends one item (its JSON object as served).
    pub fn push(&mut self, item: &Value) -> Result<()> {
        let message = self.item;
        self.body.message_field(self.items_tag, |w| {
            encode_message(message, item, w, &mut Path::default())
        })
    }

    /// The protobuf body: `k8s\0` + `runtime.Unknown` around the list.
    pub fn finish(self) -> Vec<u8> {
        wrap(&self.type_meta, &self.body.buf)
    }
}

/// Wraps an object's message in the envelope.
fn wrap(tm: &TypeMeta, raw: &[u8]) -> Vec<u8> {
    let mut w = Writer::default();
    let mut meta = Writer::default();
    meta.bytes_field(1, tm.api_version.as_bytes());
    meta.bytes_field(2, tm.kind.as_bytes());
    w.bytes_field(1, &meta.buf);
    w.bytes_field(2, raw);
    // Go's runtime.Unknown marshaller always writes contentEncoding and contentType, empty here.
    w.bytes_field(3, b"");
    w.bytes_field(4, b"");
    let mut out = Vec::with_capacity(MAGIC.len() + w.buf.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&w.buf);
    out
}

/// Encodes one watch event as a frame of a `application/vnd.kubernetes.protobuf;stream=watch`
/// response: 4-byte big-endian length, then `WatchEvent {type, object: {raw: envelope(object)}}`.
/// `event_type` is ADDED, MODIFIED, DELETED, BOOKMARK or ERROR (whose object is a Status).
pub fn encode_watch_event(event_type: &str, object: &Value) -> Result<Vec<u8>> {
    let envelope = encode_envelope(object)?;
    let mut ev = Writer::default();
    ev.bytes_field(1, event_type.as_bytes());
    let mut ext = Writer::default();
    ext.bytes_field(1, &envelope);
    ev.bytes_field(2, &ext.buf);
    let len = u32::try_from(ev.buf.len()).map_err(|_| Error::Frame {
        declared: u32::MAX as usize,
        actual: ev.buf.len(),
    })?;
    let mut out = Vec::with_capacity(4 + ev.buf.len());
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&ev.buf);
    Ok(out)
}

/// Decodes one watch frame (length prefix included) into the event type and the object.
pub fn decode_watch_event(frame: &[u8]) -> Result<(String, TypeMeta, Value)> {
    let (len, body) = frame.split_first_chunk::<4>().ok_or(Error::Frame {
        declared: 4,
        actual: frame.len(),
    })?;
    let declared = u32::from_be_bytes(*len) as usize;
    if declared != body.len() {
        return Err(Error::Frame {
            declared,
            actual: body.len(),
        });
    }
    let mut path = Path::default();
    let mut event_type = String::new();
    let mut object = None;
    let mut r = Reader::new(body);
    while let Some((tag, v)) = r.next_field().map_err(|e| path.wire(e))? {
        match (tag, v) {
            (1, Wire::Len(b)) => event_type = String::from_utf8_lossy(b).into_owned(),
            (2, Wire::Len(b)) => {
                let mut er = Reader::new(b);
                while let Some((t, v)) = er.next_field().map_err(|e| path.wire(e))? {
                    if let (1, Wire::Len(raw)) = (t, v) {
                        object = Some(raw);
                    }
                }
            }
            _ => {}
        }
    }
    let raw = object.ok_or(Error::MissingTypeMeta("object"))?;
    let (tm, value) = path.field("object", |path| decode_envelope_at(raw, path))?;
    Ok((event_type, tm, value))
}
