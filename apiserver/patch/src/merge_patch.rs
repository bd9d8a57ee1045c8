//! JSON merge patch (`application/merge-patch+json`, RFC 7386): objects merge recursively, `null`
//! deletes a member, anything else replaces.
//!
//! [`apply`] is the RFC's algorithm and never fails. kube-apiserver rejects some bodies before
//! merging; [`validate`] says which, with upstream's answer.

use serde_json::{Map, Value};

use crate::FieldValidation;
use crate::error::PatchError;
use crate::json_patch::json_kind;

/// Merges `patch` into `doc` (RFC 7386 `MergePatch(Target, Patch)`).
pub fn apply(doc: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *doc = patch.clone();
        return;
    };
    if !doc.is_object() {
        *doc = Value::Object(Map::new());
    }
    let Value::Object(target) = doc else {
        return;
    };
    for (key, value) in patch {
        if value.is_null() {
            target.remove(key);
        } else {
            apply(target.entry(key.as_str()).or_insert(Value::Null), value);
        }
    }
}

/// Whether kube-apiserver accepts `patch` as a merge patch body. With `fieldValidation` `Warn` (the
/// default) or `Strict` it first decodes the body strictly into an object, so anything but an object
/// or `null` is 400 `error decoding patch: json: cannot unmarshal array into Go value of type
/// map[string]interface {}`. Then `null` and scalars are 400 `Invalid JSON Patch`; with `Ignore` an
/// array gets through and replaces the object (which then fails to decode: the caller's 422).
pub fn validate(patch: &Value, validation: FieldValidation) -> Result<(), PatchError> {
    if validation != FieldValidation::Ignore && !matches!(patch, Value::Object(_) | Value::Null) {
        return Err(PatchError::MalformedPatch(format!(
            "error decoding patch: json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
            json_kind(patch)
        )));
    }
    match patch {
        Value::Object(_) | Value::Array(_) => Ok(()),
        _ => Err(PatchError::MalformedPatch("Invalid JSON Patch".to_owned())),
    }
}
