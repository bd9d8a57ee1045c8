//! Kubernetes' protobuf wire format (`application/vnd.kubernetes.protobuf`) to and from Kubernetes JSON
//! (`serde_json::Value`), for every built-in type.
//!
//! kubectl and client-go send bodies of built-in objects as protobuf and ask for protobuf responses;
//! tugboat keeps objects as JSON. This crate owns the translation between the two, and nothing else:
//! content negotiation and the choice to fall back to JSON are the server's.
//!
//! - [`decode_envelope`] / [`encode_envelope`]: a request or response body (`k8s\0` + `runtime.Unknown`
//!   wrapping the object's message; lists such as `PodList` are messages of their own).
//! - [`encode_watch_event`] / [`decode_watch_event`]: the length-prefixed frames of a protobuf watch.
//! - [`has_protobuf`]: whether a kind has a protobuf form (custom resources and kinds unknown to this
//!   build do not: the server answers in JSON, or 406/415). Encoding such a kind fails with
//!   [`Error::NotProtobufKind`].
//! - [`MessageRef`] / [`FieldRef`]: the schema of built-in types read as data: the root type of an
//!   (apiVersion, kind), a field by JSON name, its [`Shape`] (scalar, object, list, map) and its
//!   [`MergeMeta`] (patch strategy and merge key, list/map/struct type), for strategic merge patch,
//!   server-side apply and the OpenAPI documents.
//!
//! The transcoder is generic: everything it knows about Kubernetes' types is the table in
//! `schema_generated.rs` (tags, JSON names, wire types, (apiVersion, kind) to message), written by
//! `hack/gen-protobuf-schema.py`. Kubernetes' special JSON forms are handled by message type:
//! metav1.Time/MicroTime (RFC 3339), Duration (Go duration string), resource.Quantity (string),
//! IntOrString (number or string), RawExtension/FieldsV1/apiextensions JSON (embedded JSON),
//! JSONSchemaPropsOrBool/OrArray/OrStringArray, Go named string slices (Verbs, ExtraValue), bytes
//! (base64), int64 as JSON numbers, and embedded (`json:",inline"`) structs.
//!
//! Presence: protobuf fields present on the wire are kept even when zero (a pointer set to zero, such
//! as `replicas: 0`, must survive), except fields the table marks `omit_empty` (Go value fields with
//! `omitempty`, which Go's marshaller always writes). Unknown protobuf fields are skipped and unknown
//! JSON fields dropped, as upstream does.

mod decode;
mod encode;
mod envelope;
mod error;
mod schema;
mod schema_generated;
mod time;
mod wire;

pub use envelope::{
    ListEncoder, TypeMeta, decode_envelope, decode_envelope_with_defaults, decode_object,
    decode_watch_event, encode_envelope, encode_object, encode_watch_event, has_protobuf,
    type_meta,
};
pub use error::{Error, Result};
pub use schema::{
    FieldRef, Granularity, ItemShape, ListType, MergeMeta, MessageRef, PatchStrategy, Shape, kinds,
    message_name, table_size,
};
pub use wire::WireError;

/// The media type of Kubernetes protobuf bodies.
pub const CONTENT_TYPE: &str = "application/vnd.kubernetes.protobuf";

/// The media type of a protobuf watch stream.
pub const WATCH_CONTENT_TYPE: &str = "application/vnd.kubernetes.protobuf;stream=watch";

/// The 4 bytes every protobuf body starts with: `k8s` and encoding 0 (a `runtime.Unknown` follows).
pub const MAGIC: &[u8; 4] = b"k8s\0";
