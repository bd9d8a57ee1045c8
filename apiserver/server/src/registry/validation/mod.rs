//! Validation: the field errors upstream's `pkg/apis/<group>/validation/validation.go` returns for
//! an object, with the same paths, types, values and messages, since clients print them verbatim.
//!
//! [`meta`] is upstream's `ValidateObjectMeta` (names, namespace, labels, annotations, finalizers,
//! owner references), which the generic store applies to every kind; [`core`] owns the pod spec
//! (shared by every pod template) and the core kinds; [`apps`] and [`batch`] the workload
//! controllers; [`other`] the smaller groups. The (group, kind) table that picks a function lives
//! in `registry/strategy.rs`.
//!
//! Objects arrive normalized through their k8s-openapi type, so field types are right; the checks
//! read them as JSON and treat an absent field as Go's zero value.

pub mod apps;
pub mod batch;
pub mod core;
pub mod meta;
pub mod other;

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1 as metav1;
use serde_json::Value;
use tugboat_machinery::{
    names,
    selectors::labels::{LabelSelector, LabelSelectorValidationOptions, validate_label_selector},
    status::{BadValue, FieldError, FieldPath},
};

/// Upstream's `apimachineryvalidation.FieldImmutableErrorMsg`.
pub const FIELD_IMMUTABLE: &str = "field is immutable";
/// Upstream's `isNegativeErrorMsg`.
pub const NEGATIVE: &str = "must be greater than or equal to 0";
/// The message of a pod template whose labels its controller's selector does not select.
pub const SELECTOR_MISMATCH: &str = "`selector` does not match template `labels`";

/// A string field, `""` when absent (Go's zero value).
pub(crate) fn str_at<'a>(object: &'a Value, key: &str) -> &'a str {
    object.get(key).and_then(Value::as_str).unwrap_or_default()
}

/// An integer field, if present.
pub(crate) fn int_at(object: &Value, key: &str) -> Option<i64> {
    object.get(key).and_then(Value::as_i64)
}

/// A list field's items (none when absent).
pub(crate) fn list_at<'a>(object: &'a Value, key: &str) -> &'a [Value] {
    object
        .get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

/// A `map[string]string` field (empty when absent).
pub(crate) fn string_map(value: Option<&Value>) -> BTreeMap<String, String> {
    value
        .and_then(Value::as_object)
        .map(|map| {
            map.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                .collect()
        })
        .unwrap_or_default()
}

/// Upstream's `ValidateNonnegativeField`.
pub(crate) fn nonnegative(value: Option<i64>, path: &FieldPath) -> Vec<FieldError> {
    match value {
        Some(value) if value < 0 => vec![FieldError::invalid(path, value, NEGATIVE)],
        _ => Vec::new(),
    }
}

/// Upstream's `ValidateDNS1123Label`: one error per problem.
pub(crate) fn dns_label(value: &str, path: &FieldPath) -> Vec<FieldError> {
    names::is_dns1123_label(value)
        .iter()
        .map(|message| FieldError::invalid(path, value, message))
        .collect()
}

/// Upstream's `ValidateDNS1123Subdomain`.
pub(crate) fn dns_subdomain(value: &str, path: &FieldPath) -> Vec<FieldError> {
    names::is_dns1123_subdomain(value)
        .iter()
        .map(|message| FieldError::invalid(path, value, message))
        .collect()
}

/// An enumerated string: `Required` when empty, `Unsupported value` when not one of `supported`.
pub(crate) fn one_of(value: &str, supported: &[&str], path: &FieldPath) -> Vec<FieldError> {
    if value.is_empty() {
        vec![FieldError::required(path, "")]
    } else if supported.contains(&value) {
        Vec::new()
    } else {
        vec![FieldError::not_supported(path, value, supported)]
    }
}

/// Upstream's `ValidateImmutableField`: the new value as the bad value.
pub(crate) fn immutable(
    new: Option<&Value>,
    old: Option<&Value>,
    path: &FieldPath,
) -> Vec<FieldError> {
    let normal = |v: Option<&Value>| v.filter(|v| !v.is_null()).cloned();
    if normal(new) == normal(old) {
        return Vec::new();
    }
    vec![FieldError::invalid(path, bad_value(new), FIELD_IMMUTABLE)]
}

/// How a JSON value is reported as a bad value: strings quoted, integers plain, the rest JSON.
pub(crate) fn bad_value(value: Option<&Value>) -> BadValue {
    match value {
        Some(Value::String(s)) => BadValue::String(s.clone()),
        Some(Value::Number(n)) if n.is_i64() => BadValue::Integer(n.as_i64().unwrap_or_default()),
        Some(other) => BadValue::Json(other.clone()),
        None => BadValue::Json(Value::Null),
    }
}

/// A `metav1.LabelSelector` field, if present and well formed.
pub(crate) fn label_selector(value: Option<&Value>) -> Option<metav1::LabelSelector> {
    value
        .filter(|v| !v.is_null())
        .and_then(|v| serde_json::from_value(v.clone()).ok())
}

/// Whether a selector has neither labels nor expressions.
pub(crate) fn selector_is_empty(selector: &metav1::LabelSelector) -> bool {
    selector
        .match_labels
        .as_ref()
        .is_none_or(BTreeMap::is_empty)
        && selector
            .match_expressions
            .as_ref()
            .is_none_or(Vec::is_empty)
}

/// The checks every apps/v1 controller makes of its selector and template: the selector is
/// required, well formed and not empty (`empty_message`), and selects the template's labels.
pub(crate) fn controller_selector(
    spec: &Value,
    spec_path: &FieldPath,
    empty_message: &str,
) -> Vec<FieldError> {
    let path = spec_path.child("selector");
    let mut errors = Vec::new();
    let Some(raw) = spec.get("selector").filter(|s| !s.is_null()) else {
        errors.push(FieldError::required(&path, ""));
        return errors;
    };
    let Some(selector) = label_selector(Some(raw)) else {
        return errors;
    };
    errors.extend(validate_label_selector(
        &selector,
        LabelSelectorValidationOptions::default(),
        &path,
    ));
    if selector_is_empty(&selector) {
        errors.push(FieldError::invalid(&path, raw.clone(), empty_message));
    }
    errors.extend(template_matches(&selector, spec, spec_path));
    errors
}

/// `spec.template.metadata.labels: Invalid value: ...: selector does not match` when a non-empty
/// selector does not select the template's labels.
pub(crate) fn template_matches(
    selector: &metav1::LabelSelector,
    spec: &Value,
    spec_path: &FieldPath,
) -> Vec<FieldError> {
    let Ok(parsed) = LabelSelector::from_api(Some(selector)) else {
        return Vec::new();
    };
    let raw_labels = spec
        .get("template")
        .and_then(|t| t.get("metadata"))
        .and_then(|m| m.get("labels"));
    let labels = string_map(raw_labels);
    if parsed.is_empty() || parsed.matches(&labels) {
        return Vec::new();
    }
    let path = spec_path
        .child("template")
        .child("metadata")
        .child("labels");
    vec![FieldError::invalid(
        &path,
        raw_labels.cloned().unwrap_or(Value::Null),
        SELECTOR_MISMATCH,
    )]
}

/// Upstream's `RegexError`: the explanation, examples and the pattern.
pub(crate) fn regex_message(explanation: &str, format: &str, examples: &[&str]) -> String {
    let mut message = format!("{explanation} (");
    if !examples.is_empty() {
        let quoted: Vec<String> = examples.iter().map(|e| format!("'{e}'")).collect();
        message.push_str(&format!("e.g. {}, ", quoted.join(",  or ")));
    }
    message.push_str(&format!("regex used for validation is '{format}')"));
    message
}

/// The rendered messages of a list of errors, for tests.
#[cfg(test)]
pub(crate) fn rendered(errors: &[FieldError]) -> Vec<String> {
    errors.iter().map(ToString::to_string).collect()
}
