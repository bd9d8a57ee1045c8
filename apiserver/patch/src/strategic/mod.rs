//! Strategic merge patch (`application/strategic-merge-patch+json`): Kubernetes' JSON merge patch
//! that merges lists by their `patchMergeKey`, as kube-apiserver applies it to built-in kinds
//! (`k8s.io/apimachinery/pkg/util/strategicpatch`, server side).
//!
//! This module owns the public entry points and where merge metadata comes from; `merge` owns the
//! algorithm, `order` the ordering of merged lists. The rules, upstream's:
//! - Objects merge recursively; `null` deletes a member. A field with `patchStrategy=replace` takes
//!   the patch's object whole.
//! - Lists with `patchStrategy=merge` merge: lists of objects by `patchMergeKey` (containers by
//!   `name`, ports by `containerPort`, conditions by `type`), lists of scalars as sets (`finalizers`).
//!   Every other list is replaced. New elements go first, then the rest in their old order, unless
//!   `$setElementOrder/<field>` gives the order.
//! - Directives: `$patch: replace | delete` on an object; as a list element `{"$patch": "delete",
//!   <key>: v}` removes the elements with that key and `{"$patch": "replace"}` makes the list's other
//!   elements replace the list; `$retainKeys: [...]` clears the members it does not name;
//!   `$deleteFromPrimitiveList/<field>: [...]` removes scalars; `$setElementOrder/<field>: [...]`
//!   orders a merged list. `$patch: merge` is an error, as upstream.
//! - Other `$`-keys are not directives: upstream passes them through to the object, where decoding
//!   drops them (or reports them as unknown fields), so this module does too.
//! - A member the schema does not know (a field newer than the table, the inside of a
//!   `RawExtension`) has no metadata: its objects merge and its lists are replaced, which is
//!   JSON merge patch with directives, as upstream's schema-less lookup does.

mod merge;
mod order;

use serde_json::Value;
use tugboat_protobuf::{ItemShape, MessageRef, PatchStrategy, Shape};

use crate::error::PatchError;

/// The built-in schema of `(apiVersion, kind)`, or upstream's 415 for kinds without one (custom
/// resources: strategic merge patch needs Go struct tags they do not have).
pub fn schema_for_kind(api_version: &str, kind: &str) -> Result<MessageRef, PatchError> {
    MessageRef::for_kind(api_version, kind).ok_or(PatchError::StrategicMergeNotSupported)
}

/// Applies strategic merge `patch` (the decoded body) to `original` (a stored object of type
/// `schema`), returning the patched object. A `null` patch changes nothing; a patch that is not an
/// object is 400, as upstream's decoder answers.
pub fn apply(original: &Value, patch: &Value, schema: MessageRef) -> Result<Value, PatchError> {
    apply_with_schema(original, patch, Builtin::Object(schema))
}

/// [`apply`] with any [`PatchSchema`]: the seam for tests and for schemas that are not built-in.
pub fn apply_with_schema<S: PatchSchema>(
    original: &Value,
    patch: &Value,
    schema: S,
) -> Result<Value, PatchError> {
    let patch = match patch {
        Value::Object(patch) => patch.clone(),
        // Decoding `null` into a Go map leaves it empty.
        Value::Null => serde_json::Map::new(),
        other => {
            return Err(PatchError::MalformedPatch(format!(
                "json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
                crate::json_patch::json_kind(other)
            )));
        }
    };
    let Value::Object(original) = original else {
        return Err(PatchError::InvalidDocument);
    };
    merge::merge_map(original.clone(), patch, Some(&schema)).map(Value::Object)
}

/// What strategic merge needs to know about an object type: for each member, how to merge it and
/// the schema of its value.
pub trait PatchSchema: Sized {
    /// The member `key` of an object of this type. Unknown members have [`Member::default`].
    fn member(&self, key: &str) -> Member<Self>;
}

/// How to merge one member.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member<S> {
    /// `patchStrategy` (without `retainKeys`, which needs no schema: `$retainKeys` is honoured
    /// wherever it appears, as upstream does).
    pub strategy: Option<PatchStrategy>,
    /// `patchMergeKey`, for lists of objects.
    pub merge_key: Option<&'static str>,
    /// The schema of the member's value: of the object, of a list's elements, or of a map's values
    /// (a schema whose members are the map's keys). `None` when unknown or not an object.
    pub schema: Option<S>,
}

impl<S> Default for Member<S> {
    fn default() -> Self {
        Member {
            strategy: None,
            merge_key: None,
            schema: None,
        }
    }
}

/// The built-in types' schema, read from tugboat-protobuf's table.
#[derive(Clone, Copy, Debug)]
enum Builtin {
    /// A struct: members are its fields.
    Object(MessageRef),
    /// A Go map: any key, every value of the given type (a struct, or something without schema).
    MapOf(Option<MessageRef>),
}

impl PatchSchema for Builtin {
    fn member(&self, key: &str) -> Member<Self> {
        match *self {
            Builtin::MapOf(values) => Member {
                schema: values.map(Builtin::Object),
                ..Member::default()
            },
            Builtin::Object(message) => {
                let Some(field) = message.field(key) else {
                    return Member::default();
                };
                let meta = field.merge();
                let schema = match field.shape() {
                    Shape::Object(m) | Shape::List(ItemShape::Object(m)) => {
                        Some(Builtin::Object(m))
                    }
                    Shape::Map(ItemShape::Object(m)) => Some(Builtin::MapOf(Some(m))),
                    Shape::Map(_) => Some(Builtin::MapOf(None)),
                    Shape::Scalar | Shape::List(_) | Shape::Untyped => None,
                };
                Member {
                    strategy: meta.patch_strategy,
                    merge_key: meta.patch_merge_key,
                    schema,
                }
            }
        }
    }
}
