//! The protobuf schema of Kubernetes' built-in types, as data: for each message its fields (tag, JSON
//! name, label, type), and the map from (apiVersion, kind) to a top-level message.
//!
//! This module owns the table's types and lookups; the table itself is `schema_generated.rs`, written
//! by `hack/gen-protobuf-schema.py` from the k8s-pb and k8s-openapi crates. The transcoder never names a
//! Kubernetes type in code: everything it knows about a type is here.
//!
//! The same table carries each field's merge metadata (upstream's `+patchStrategy`, `+patchMergeKey`,
//! `+listType`, `+listMapKey`, `+mapType`, `+structType` markers), read through the public
//! [`MessageRef`] / [`FieldRef`] API by strategic merge patch, and later by server-side apply and the
//! OpenAPI documents (`x-kubernetes-patch-merge-key` and friends): one table for all of them.

use crate::schema_generated::{KINDS, MERGE, MESSAGES, STRUCT_TYPES};

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
    MessageRef::for_kind(api_version, kind).map(|m| message(m.0))
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

/// `+patchStrategy`: how a strategic merge patch combines a field's old and new values. Fields without
/// one merge maps and replace lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PatchStrategy {
    /// `merge`: lists merge (by [`MergeMeta::patch_merge_key`] for lists of objects, as a set for lists
    /// of scalars).
    Merge,
    /// `replace`: the patch's value replaces the old one whole (e.g. `PodDisruptionBudgetSpec.selector`).
    Replace,
}

/// `+listType`: what a list is to server-side apply and the OpenAPI `x-kubernetes-list-type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ListType {
    /// Replaced whole.
    Atomic,
    /// A set of scalars.
    Set,
    /// A map keyed by [`MergeMeta::list_map_keys`].
    Map,
}

/// `+mapType` / `+structType`: whether a map or struct is owned field by field or whole.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Granularity {
    Granular,
    Atomic,
}

/// The merge metadata of one field, as upstream's markers on the Go field declare it. Everything is
/// optional: most fields have none.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MergeMeta {
    /// `+patchStrategy=merge|replace` (without `retainKeys`, which is [`Self::retain_keys`]).
    pub patch_strategy: Option<PatchStrategy>,
    /// `+patchStrategy` includes `retainKeys` (`DeploymentSpec.strategy`, `PodSpec.volumes`): a patch may
    /// carry `$retainKeys` to clear the other members of a union.
    pub retain_keys: bool,
    /// `+patchMergeKey`: the member identifying an element of a merged list of objects.
    pub patch_merge_key: Option<&'static str>,
    /// `+listType`.
    pub list_type: Option<ListType>,
    /// `+listMapKey`, in declaration order (composite keys: `containerPort`, `protocol`).
    pub list_map_keys: &'static [&'static str],
    /// `+mapType`.
    pub map_type: Option<Granularity>,
    /// `+structType` on the field (the Go type's own marker is [`MessageRef::struct_type`]).
    pub struct_type: Option<Granularity>,
}

impl MergeMeta {
    /// No markers.
    pub const NONE: MergeMeta = MergeMeta {
        patch_strategy: None,
        retain_keys: false,
        patch_merge_key: None,
        list_type: None,
        list_map_keys: &[],
        map_type: None,
        struct_type: None,
    };
}

/// One row of the generated `MERGE` table.
#[derive(Debug)]
pub(crate) struct FieldMerge {
    message: u16,
    tag: u32,
    meta: MergeMeta,
}

/// Builds a [`FieldMerge`]; keeps the generated table one line per field.
#[allow(clippy::too_many_arguments)] // mirrors the markers one to one
pub(crate) const fn merge(
    message: u16,
    tag: u32,
    patch_strategy: Option<PatchStrategy>,
    retain_keys: bool,
    patch_merge_key: Option<&'static str>,
    list_type: Option<ListType>,
    list_map_keys: &'static [&'static str],
    map_type: Option<Granularity>,
    struct_type: Option<Granularity>,
) -> FieldMerge {
    FieldMerge {
        message,
        tag,
        meta: MergeMeta {
            patch_strategy,
            retain_keys,
            patch_merge_key,
            list_type,
            list_map_keys,
            map_type,
            struct_type,
        },
    }
}

/// A built-in Kubernetes type (a protobuf message of the table): the root of an object's schema, or
/// the type of one of its fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MessageRef(u16);

impl MessageRef {
    /// The root type of a top-level object, if `(apiVersion, kind)` is a built-in kind. Custom resources
    /// and kinds unknown to this build have none.
    pub fn for_kind(api_version: &str, kind: &str) -> Option<MessageRef> {
        KINDS
            .binary_search_by(|k| (k.api_version, k.kind).cmp(&(api_version, kind)))
            .ok()
            .and_then(|i| KINDS.get(i))
            .map(|k| MessageRef(k.message))
    }

    /// Every type of the table, in table order: for indexes a caller builds once (the OpenAPI
    /// documents map their definition names to types).
    pub fn all() -> impl Iterator<Item = MessageRef> {
        (0..MESSAGES.len()).filter_map(|i| u16::try_from(i).ok().map(MessageRef))
    }

    /// The full protobuf name, e.g. `k8s.io.api.core.v1.PodSpec`.
    pub fn name(self) -> &'static str {
        message(self.0).name
    }

    /// The field serialized under `json_name`, looking through embedded (`json:",inline"`) structs, as
    /// JSON sees them. `None` for a name this build does not know (a newer field, or a typo).
    pub fn field(self, json_name: &str) -> Option<FieldRef> {
        find_field(self.0, json_name)
    }

    /// Every field as it appears in JSON (embedded structs flattened), in tag order.
    pub fn fields(self) -> Vec<FieldRef> {
        let mut out = Vec::new();
        collect_fields(self.0, &mut out);
        out
    }

    /// `+structType` on the Go type (`LabelSelector`, `ObjectReference`: atomic).
    pub fn struct_type(self) -> Option<Granularity> {
        STRUCT_TYPES
            .binary_search_by_key(&self.0, |&(id, _)| id)
            .ok()
            .and_then(|i| STRUCT_TYPES.get(i))
            .map(|&(_, g)| g)
    }
}

/// What a field's JSON value is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Shape {
    /// A string, number or boolean (including `Time`, `Quantity`, `IntOrString`, base64 bytes).
    Scalar,
    /// An object with the fields of a type.
    Object(MessageRef),
    /// An array.
    List(ItemShape),
    /// An object with arbitrary keys (a Go map): `labels`, `data`, `resources.limits`.
    Map(ItemShape),
    /// Any JSON (`RawExtension`, `FieldsV1`, apiextensions `JSON` and schema unions): no schema.
    Untyped,
}

/// What the elements of a [`Shape::List`] or the values of a [`Shape::Map`] are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ItemShape {
    Scalar,
    Object(MessageRef),
    /// Any JSON, or a shape the table does not describe further (lists of lists).
    Untyped,
}

/// A field of a [`MessageRef`], as JSON names it.
#[derive(Clone, Copy, Debug)]
pub struct FieldRef {
    /// The message that declares the field (an embedded struct's, for its fields).
    message: u16,
    field: &'static Field,
}

impl FieldRef {
    /// The JSON name.
    pub fn json_name(self) -> &'static str {
        self.field.json
    }

    /// The type declaring the field.
    pub fn parent(self) -> MessageRef {
        MessageRef(self.message)
    }

    /// Whether the value is a scalar, an object, a list or a map, and of what.
    pub fn shape(self) -> Shape {
        let form = value_form(self.field.ty);
        match self.field.label {
            Label::Single | Label::Inline => match form {
                Form::Scalar => Shape::Scalar,
                Form::Object(m) => Shape::Object(m),
                Form::ScalarList => Shape::List(ItemShape::Scalar),
                Form::Untyped => Shape::Untyped,
            },
            Label::Repeated => Shape::List(form.item()),
            Label::Map => Shape::Map(form.item()),
        }
    }

    /// The field's merge metadata ([`MergeMeta::NONE`] when it has no markers).
    pub fn merge(self) -> &'static MergeMeta {
        static NONE: MergeMeta = MergeMeta::NONE;
        MERGE
            .binary_search_by(|m| (m.message, m.tag).cmp(&(self.message, self.field.tag)))
            .ok()
            .and_then(|i| MERGE.get(i))
            .map_or(&NONE, |m| &m.meta)
    }
}

/// The JSON form of a value of type `ty`, before the field's label (repeated, map) applies.
#[derive(Clone, Copy)]
enum Form {
    Scalar,
    Object(MessageRef),
    ScalarList,
    Untyped,
}

impl Form {
    fn item(self) -> ItemShape {
        match self {
            Form::Scalar => ItemShape::Scalar,
            Form::Object(m) => ItemShape::Object(m),
            Form::ScalarList | Form::Untyped => ItemShape::Untyped,
        }
    }
}

fn value_form(ty: Ty) -> Form {
    let Ty::Msg(id) = ty else {
        return Form::Scalar;
    };
    match message(id).special {
        Special::None => Form::Object(MessageRef(id)),
        Special::Time
        | Special::MicroTime
        | Special::Duration
        | Special::Quantity
        | Special::IntOrString => Form::Scalar,
        Special::StringArray => Form::ScalarList,
        Special::RawExtension
        | Special::FieldsV1
        | Special::Json
        | Special::JsonSchemaPropsOrBool
        | Special::JsonSchemaPropsOrArray
        | Special::JsonSchemaPropsOrStringArray => Form::Untyped,
    }
}

fn find_field(id: u16, json_name: &str) -> Option<FieldRef> {
    let msg = message(id);
    // Named fields first: an embedded struct never shadows its parent's own fields.
    if let Some(field) = msg
        .fields
        .iter()
        .find(|f| f.label != Label::Inline && f.json == json_name)
    {
        return Some(FieldRef { message: id, field });
    }
    msg.fields.iter().find_map(|f| match (f.label, f.ty) {
        (Label::Inline, Ty::Msg(inner)) => find_field(inner, json_name),
        _ => None,
    })
}

fn collect_fields(id: u16, out: &mut Vec<FieldRef>) {
    for field in message(id).fields {
        match (field.label, field.ty) {
            (Label::Inline, Ty::Msg(inner)) => collect_fields(inner, out),
            _ => out.push(FieldRef { message: id, field }),
        }
    }
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

    #[test]
    fn merge_tables_are_sorted_and_consistent() {
        for w in MERGE.windows(2) {
            assert!((w[0].message, w[0].tag) < (w[1].message, w[1].tag), "{w:?}");
        }
        for m in &MERGE {
            assert!(message(m.message).field_by_tag(m.tag).is_some(), "{m:?}");
            // A merge key only makes sense with the merge strategy.
            if m.meta.patch_merge_key.is_some() {
                assert_eq!(m.meta.patch_strategy, Some(PatchStrategy::Merge), "{m:?}");
            }
        }
        for w in STRUCT_TYPES.windows(2) {
            assert!(w[0].0 < w[1].0);
        }
    }

    fn walk(api_version: &str, kind: &str, path: &[&str]) -> FieldRef {
        let mut msg = MessageRef::for_kind(api_version, kind).expect("kind");
        let (last, parents) = path.split_last().expect("path");
        for name in parents {
            msg = match msg.field(name).expect(name).shape() {
                Shape::Object(m)
                | Shape::List(ItemShape::Object(m))
                | Shape::Map(ItemShape::Object(m)) => m,
                other => panic!("{name}: {other:?}"),
            };
        }
        msg.field(last).expect(last)
    }

    #[test]
    fn merge_metadata_of_well_known_fields() {
        let containers = walk("v1", "Pod", &["spec", "containers"]);
        assert_eq!(
            containers.merge().patch_strategy,
            Some(PatchStrategy::Merge)
        );
        assert_eq!(containers.merge().patch_merge_key, Some("name"));
        assert_eq!(containers.merge().list_type, Some(ListType::Map));
        assert!(
            matches!(containers.shape(), Shape::List(ItemShape::Object(m)) if m.name() == "k8s.io.api.core.v1.Container")
        );

        let ports = walk("v1", "Pod", &["spec", "containers", "ports"]);
        assert_eq!(ports.merge().patch_merge_key, Some("containerPort"));
        assert_eq!(ports.merge().list_map_keys, &["containerPort", "protocol"]);

        let volumes = walk(
            "apps/v1",
            "Deployment",
            &["spec", "template", "spec", "volumes"],
        );
        assert!(volumes.merge().retain_keys);
        assert_eq!(volumes.merge().patch_strategy, Some(PatchStrategy::Merge));

        let strategy = walk("apps/v1", "Deployment", &["spec", "strategy"]);
        assert!(strategy.merge().retain_keys);
        assert_eq!(strategy.merge().patch_strategy, None);

        let tolerations = walk("v1", "Pod", &["spec", "tolerations"]);
        assert_eq!(tolerations.merge().patch_strategy, None);
        assert_eq!(tolerations.merge().list_type, Some(ListType::Atomic));

        let finalizers = walk("v1", "ConfigMap", &["metadata", "finalizers"]);
        assert_eq!(
            finalizers.merge().patch_strategy,
            Some(PatchStrategy::Merge)
        );
        assert_eq!(finalizers.merge().list_type, Some(ListType::Set));
        assert_eq!(finalizers.shape(), Shape::List(ItemShape::Scalar));

        let selector = walk("policy/v1", "PodDisruptionBudget", &["spec", "selector"]);
        assert_eq!(
            selector.merge().patch_strategy,
            Some(PatchStrategy::Replace)
        );

        let node_selector = walk("v1", "Pod", &["spec", "nodeSelector"]);
        assert_eq!(node_selector.merge().map_type, Some(Granularity::Atomic));
        assert_eq!(node_selector.shape(), Shape::Map(ItemShape::Scalar));

        let labels = walk("v1", "Service", &["metadata", "labels"]);
        assert_eq!(labels.merge(), &MergeMeta::NONE);
    }

    #[test]
    fn shapes_and_inline_fields() {
        // `Volume` embeds `VolumeSource`: its members are the volume's own JSON fields.
        let host_path = walk("v1", "Pod", &["spec", "volumes", "hostPath"]);
        assert_eq!(host_path.parent().name(), "k8s.io.api.core.v1.VolumeSource");
        assert!(matches!(host_path.shape(), Shape::Object(_)));
        let volume = MessageRef::for_kind("v1", "Pod")
            .and_then(|p| p.field("spec"))
            .and_then(|f| match f.shape() {
                Shape::Object(m) => m.field("volumes"),
                _ => None,
            })
            .map(|f| f.shape());
        let Some(Shape::List(ItemShape::Object(volume))) = volume else {
            panic!("{volume:?}")
        };
        let names: Vec<_> = volume.fields().iter().map(|f| f.json_name()).collect();
        assert!(
            names.contains(&"name") && names.contains(&"emptyDir"),
            "{names:?}"
        );

        assert_eq!(
            walk("v1", "Pod", &["metadata", "creationTimestamp"]).shape(),
            Shape::Scalar
        );
        assert_eq!(
            walk("v1", "Pod", &["spec", "containers", "resources", "limits"]).shape(),
            Shape::Map(ItemShape::Scalar)
        );
        assert_eq!(
            walk("v1", "Pod", &["metadata", "managedFields", "fieldsV1"]).shape(),
            Shape::Untyped
        );
        assert_eq!(
            walk("apps/v1", "ControllerRevision", &["data"]).shape(),
            Shape::Untyped
        );
        assert!(
            MessageRef::for_kind("v1", "Pod")
                .and_then(|p| p.field("nope"))
                .is_none()
        );

        let selector = walk("apps/v1", "Deployment", &["spec", "selector"]);
        let Shape::Object(label_selector) = selector.shape() else {
            panic!()
        };
        assert_eq!(label_selector.struct_type(), Some(Granularity::Atomic));
        assert!(MessageRef::for_kind("example.com/v1", "Widget").is_none());
    }
}
