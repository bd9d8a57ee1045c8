//! The protobuf schema of Kubernetes' built-in types, as data: for each message its fields (tag, JSON
//! name, label, type), and the map from (apiVersion, kind) to a top-level message.
//!
//! This module owns the table's types and lookups; the table itself is `schema_generated.rs`, written
//! by `hack/gen-protobuf-schema.py` from the k8s-pb and k8s-openapi crates. The transcoder never names a
//! Kubernetes type in code: everything it knows about a type is here.

use crate::schema_generated::{KINDS, MESSAGES};

/// How a field repeats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Label {
    /// `optional`: at most one value (the last one on the wire wins).
    Single,
    /// `repeated`: a JSON array.
    Repeated,
    /// `map<string, T>`: a JSON object; on the wire repeated entries {key = 1, value = 2}.
    Map,
    /// A Go struct embedded with `json:",inline"`: one protobuf field whose message's fields appear in
    /// the parent's JSON object (`Probe.handler`, `Volume.volumeSource`).
    Inline,
}

/// The type of a field (of a map's value, for maps).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ty {
    String,
    Int32,
    Int64,
    Bool,
    Double,
    /// JSON: a base64 string (`Secret.data`).
    Bytes,
    /// An index into [`MESSAGES`].
    Msg(u16),
}

/// Messages whose JSON form is not an object of their fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Special {
    None,
    /// metav1.Time {seconds = 1, nanos = 2}: an RFC 3339 string with seconds.
    Time,
    /// metav1.MicroTime {seconds = 1, nanos = 2}: an RFC 3339 string with microseconds.
    MicroTime,
    /// metav1.Duration {duration = 1 (nanoseconds)}: a Go duration string ("1h0m0s").
    Duration,
    /// resource.Quantity {string = 1}: a string.
    Quantity,
    /// intstr.IntOrString {type = 1, intVal = 2, strVal = 3}: a number or a string.
    IntOrString,
    /// runtime.RawExtension {raw = 1}: the embedded JSON document.
    RawExtension,
    /// metav1.FieldsV1 {Raw = 1}: the embedded JSON document.
    FieldsV1,
    /// apiextensions JSON {raw = 1}: the embedded JSON document.
    Json,
    /// {schema = 2, allows = 1}: the schema object, or a bool.
    JsonSchemaPropsOrBool,
    /// {schema = 1, JSONSchemas = 2}: a schema object, or an array of schemas.
    JsonSchemaPropsOrArray,
    /// {schema = 1, property = 2}: a schema object, or an array of strings.
    JsonSchemaPropsOrStringArray,
    /// A Go named slice ({items = 1} of strings: metav1.Verbs, ExtraValue): a JSON array.
    StringArray,
}

/// One field of a message.
#[derive(Debug)]
pub(crate) struct Field {
    pub(crate) tag: u32,
    /// The Go json tag; empty for [`Label::Inline`].
    pub(crate) json: &'static str,
    pub(crate) label: Label,
    pub(crate) ty: Ty,
    /// A Go value field with `omitempty`: a zero value read from the wire is left out of the JSON.
    pub(crate) omit_empty: bool,
}

/// Builds a [`Field`]; keeps the generated table one line per field.
pub(crate) const fn field(
    tag: u32,
    json: &'static str,
    label: Label,
    ty: Ty,
    omit_empty: bool,
) -> Field {
    Field {
        tag,
        json,
        label,
        ty,
        omit_empty,
    }
}

/// One protobuf message; `fields` are sorted by tag.
#[derive(Debug)]
pub(crate) struct Message {
    /// The full protobuf name, e.g. `k8s.io.api.core.v1.Pod`.
    pub(crate) name: &'static str,
    pub(crate) special: Special,
    pub(crate) fields: &'static [Field],
}

impl Message {
    pub(crate) fn field_by_tag(&self, tag: u32) -> Option<&'static Field> {
        self.fields
            .binary_search_by_key(&tag, |f| f.tag)
            .ok()
            .and_then(|i| self.fields.get(i))
    }
}

/// A top-level object: its apiVersion and kind, and its message.
#[derive(Debug)]
pub(crate) struct Kind {
    pub(crate) api_version: &'static str,
    pub(crate) kind: &'static str,
    pub(crate) message: u16,
}

/// The message with the given index (indices come from the table itself).
pub(crate) fn message(id: u16) -> &'static Message {
    // Indices are written by the generator from the same table, so they are in range; fall back to an
    // empty message rather than panic should a hand edit break that.
    static EMPTY: Message = Message {
        name: "",
        special: Special::None,
        fields: &[],
    };
    MESSAGES.get(usize::from(id)).unwrap_or(&EMPTY)
}

/// The top-level message for an (apiVersion, kind), if Kubernetes has a protobuf form for it.
pub(crate) fn message_for_kind(api_version: &str, kind: &str) -> Option<&'static Message> {
    KINDS
        .binary_search_by(|k| (k.api_version, k.kind).cmp(&(api_version, kind)))
        .ok()
        .and_then(|i| KINDS.get(i))
        .map(|k| message(k.message))
}

/// The full protobuf message name of a kind (`k8s.io.api.core.v1.Pod`), if it has one.
pub fn message_name(api_version: &str, kind: &str) -> Option<&'static str> {
    message_for_kind(api_version, kind).map(|m| m.name)
}

/// The number of messages and fields in the table (for diagnostics).
pub fn table_size() -> (usize, usize) {
    (
        MESSAGES.len(),
        MESSAGES.iter().map(|m| m.fields.len()).sum(),
    )
}

/// Every (apiVersion, kind) that has a protobuf form, sorted.
pub fn kinds() -> impl Iterator<Item = (&'static str, &'static str)> {
    KINDS.iter().map(|k| (k.api_version, k.kind))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_sorted_and_consistent() {
        for w in KINDS.windows(2) {
            assert!(
                (w[0].api_version, w[0].kind) < (w[1].api_version, w[1].kind),
                "{:?}",
                w[1]
            );
        }
        for m in &MESSAGES {
            for w in m.fields.windows(2) {
                assert!(w[0].tag < w[1].tag, "{} tag {}", m.name, w[1].tag);
            }
            for f in m.fields {
                if let Ty::Msg(id) = f.ty {
                    assert!(usize::from(id) < MESSAGES.len());
                }
            }
        }
        for k in &KINDS {
            assert!(usize::from(k.message) < MESSAGES.len());
        }
        assert_eq!(
            message_for_kind("v1", "Pod").map(|m| m.name),
            Some("k8s.io.api.core.v1.Pod")
        );
        assert_eq!(
            message_for_kind("apps/v1", "DeploymentList").map(|m| m.name),
            Some("k8s.io.api.apps.v1.DeploymentList")
        );
        assert!(message_for_kind("example.com/v1", "Widget").is_none());
    }
}
