//! Upstream's `ValidateObjectMeta` and `ValidateObjectMetaUpdate`
//! (`k8s.io/apimachinery/pkg/api/validation/objectmeta.go`), which every kind's validation starts
//! with: the name (by the resource's rule) and `generateName` prefix, namespace presence,
//! `generation`, labels, annotations, owner references and finalizers; on update, no new
//! finalizers once deletion started.

use std::collections::BTreeSet;

use serde_json::Value;
use tugboat_machinery::{
    names,
    status::{FieldError, FieldPath},
};

use super::{int_at, list_at, nonnegative, str_at, string_map};
use crate::registry::strategy::NameRule;

/// Kinds that may not own other objects.
const BANNED_OWNERS: &[(&str, &str)] = &[("v1", "Event")];

/// The orphan and foreground finalizers, which cannot be set together.
const ORPHAN: &str = "orphan";
const FOREGROUND: &str = "foregroundDeletion";

/// Validate an object's metadata on create (and as part of every update).
pub fn validate_object_meta(object: &Value, namespaced: bool, rule: NameRule) -> Vec<FieldError> {
    let empty = Value::Null;
    let metadata = object.get("metadata").unwrap_or(&empty);
    let path = FieldPath::new("metadata");
    let mut errors = Vec::new();
    let generate_name = str_at(metadata, "generateName");
    if !generate_name.is_empty() {
        errors.extend(
            rule.check_prefix(generate_name)
                .iter()
                .map(|m| FieldError::invalid(&path.child("generateName"), generate_name, m)),
        );
    }
    let name = str_at(metadata, "name");
    if name.is_empty() {
        errors.push(FieldError::required(
            &path.child("name"),
            "name or generateName is required",
        ));
    } else {
        errors.extend(
            rule.check(name)
                .iter()
                .map(|m| FieldError::invalid(&path.child("name"), name, m)),
        );
    }
    let namespace = str_at(metadata, "namespace");
    if namespaced {
        if namespace.is_empty() {
            errors.push(FieldError::required(&path.child("namespace"), ""));
        } else {
            errors.extend(
                names::name_is_dns_label(namespace, false)
                    .iter()
                    .map(|m| FieldError::invalid(&path.child("namespace"), namespace, m)),
            );
        }
    } else if !namespace.is_empty() {
        errors.push(FieldError::forbidden(
            &path.child("namespace"),
            "not allowed on this type",
        ));
    }
    errors.extend(nonnegative(
        int_at(metadata, "generation"),
        &path.child("generation"),
    ));
    errors.extend(names::validate_labels(
        &string_map(metadata.get("labels")),
        &path.child("labels"),
    ));
    errors.extend(names::validate_annotations(
        &string_map(metadata.get("annotations")),
        &path.child("annotations"),
    ));
    errors.extend(owner_references(
        list_at(metadata, "ownerReferences"),
        &path.child("ownerReferences"),
    ));
    errors.extend(finalizers(
        metadata.get("finalizers"),
        &path.child("finalizers"),
    ));
    errors
}

fn owner_references(references: &[Value], path: &FieldPath) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let mut first_controller: Option<String> = None;
    for reference in references {
        let api_version = str_at(reference, "apiVersion");
        let kind = str_at(reference, "kind");
        // The version is what follows the last `/` (all of it for the core group).
        let version = api_version.rsplit('/').next().unwrap_or_default();
        if version.is_empty() || api_version.matches('/').count() > 1 {
            errors.push(FieldError::invalid(
                &path.child("apiVersion"),
                api_version,
                "version must not be empty",
            ));
        }
        if kind.is_empty() {
            errors.push(FieldError::invalid(
                &path.child("kind"),
                kind,
                "must not be empty",
            ));
        }
        for field in ["name", "uid"] {
            let value = str_at(reference, field);
            if value.is_empty() {
                errors.push(FieldError::invalid(
                    &path.child(field),
                    value,
                    "must not be empty",
                ));
            }
        }
        if BANNED_OWNERS.contains(&(api_version, kind)) {
            errors.push(FieldError::invalid(
                path,
                reference.clone(),
                &format!("/{api_version}, Kind={kind} is disallowed from being an owner"),
            ));
        }
        if reference.get("controller").and_then(Value::as_bool) == Some(true) {
            let current = format!("{kind}/{}", str_at(reference, "name"));
            match &first_controller {
                Some(first) => errors.push(FieldError::invalid(
                    path,
                    Value::Array(references.to_vec()),
                    &format!(
                        "Only one reference can have Controller set to true. Found \"true\" in references for {first} and {current}"
                    ),
                )),
                None => first_controller = Some(current),
            }
        }
    }
    errors
}

fn finalizers(list: Option<&Value>, path: &FieldPath) -> Vec<FieldError> {
    let items: Vec<&str> = list
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let mut errors: Vec<FieldError> = items
        .iter()
        .flat_map(|name| {
            names::is_qualified_name(name)
                .into_iter()
                .map(move |m| FieldError::invalid(path, *name, &m))
        })
        .collect();
    if items.contains(&ORPHAN) && items.contains(&FOREGROUND) {
        errors.push(FieldError::invalid(
            path,
            list.cloned().unwrap_or(Value::Null),
            &format!("finalizer {ORPHAN} and {FOREGROUND} cannot be both set"),
        ));
    }
    errors
}

/// The metadata checks of an update beyond those of create: once deletion started, no finalizer
/// may be added; `generation` never decreases.
pub fn validate_object_meta_update(new: &Value, old: &Value) -> Vec<FieldError> {
    let path = FieldPath::new("metadata");
    let empty = Value::Null;
    let new_meta = new.get("metadata").unwrap_or(&empty);
    let old_meta = old.get("metadata").unwrap_or(&empty);
    let mut errors = Vec::new();
    if old_meta
        .get("deletionTimestamp")
        .is_some_and(|t| !t.is_null())
    {
        let old_set: BTreeSet<&str> = list_at(old_meta, "finalizers")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        let extra: BTreeSet<&str> = list_at(new_meta, "finalizers")
            .iter()
            .filter_map(Value::as_str)
            .filter(|f| !old_set.contains(f))
            .collect();
        if !extra.is_empty() {
            let quoted: Vec<String> = extra
                .iter()
                .map(|f| tugboat_machinery::status::go_quote(f))
                .collect();
            errors.push(FieldError::forbidden(
                &path.child("finalizers"),
                &format!(
                    "no new finalizers can be added if the object is being deleted, found new finalizers []string{{{}}}",
                    quoted.join(", ")
                ),
            ));
        }
    }
    if let (Some(new_generation), Some(old_generation)) = (
        int_at(new_meta, "generation"),
        int_at(old_meta, "generation"),
    ) && new_generation < old_generation
    {
        errors.push(FieldError::invalid(
            &path.child("generation"),
            new_generation,
            "must not be decremented",
        ));
    }
    errors
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::registry::validation::rendered;

    const KEY_MESSAGE: &str = "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";

    #[test]
    fn object_meta_cases() {
        let cases: Vec<(&str, Value, bool, Vec<String>)> = vec![
            (
                "valid",
                json!({"metadata": {"name": "a", "namespace": "default", "labels": {"app": "x"},
                    "finalizers": ["example.com/f", "kubernetes"],
                    "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "r", "uid": "1", "controller": true}]}}),
                true,
                vec![],
            ),
            (
                "missing name",
                json!({"metadata": {"namespace": "default"}}),
                true,
                vec!["metadata.name: Required value: name or generateName is required".into()],
            ),
            (
                "namespace required and forbidden",
                json!({"metadata": {"name": "a"}}),
                true,
                vec!["metadata.namespace: Required value".into()],
            ),
            (
                "cluster scoped with namespace",
                json!({"metadata": {"name": "a", "namespace": "x"}}),
                false,
                vec!["metadata.namespace: Forbidden: not allowed on this type".into()],
            ),
            (
                "bad label key and finalizer",
                json!({"metadata": {"name": "a", "labels": {"bad key": "v"}, "finalizers": ["a b"]}}),
                false,
                vec![
                    format!("metadata.labels: Invalid value: \"bad key\": {KEY_MESSAGE}"),
                    format!("metadata.finalizers: Invalid value: \"a b\": {KEY_MESSAGE}"),
                ],
            ),
            (
                "generate name prefix",
                json!({"metadata": {"name": "Web-abcde", "generateName": "Web-"}}),
                false,
                vec![
                    "metadata.generateName: Invalid value: \"Web-\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')".into(),
                    "metadata.name: Invalid value: \"Web-abcde\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')".into(),
                ],
            ),
            (
                "owner references",
                json!({"metadata": {"name": "a", "ownerReferences": [
                    {"apiVersion": "", "kind": "", "name": "", "uid": ""},
                    {"apiVersion": "v1", "kind": "Event", "name": "e", "uid": "1"}]}}),
                false,
                vec![
                    "metadata.ownerReferences.apiVersion: Invalid value: \"\": version must not be empty".into(),
                    "metadata.ownerReferences.kind: Invalid value: \"\": must not be empty".into(),
                    "metadata.ownerReferences.name: Invalid value: \"\": must not be empty".into(),
                    "metadata.ownerReferences.uid: Invalid value: \"\": must not be empty".into(),
                    "metadata.ownerReferences: Invalid value: {\"apiVersion\":\"v1\",\"kind\":\"Event\",\"name\":\"e\",\"uid\":\"1\"}: /v1, Kind=Event is disallowed from being an owner".into(),
                ],
            ),
            (
                "two controllers",
                json!({"metadata": {"name": "a", "ownerReferences": [
                    {"apiVersion": "v1", "kind": "A", "name": "a", "uid": "1", "controller": true},
                    {"apiVersion": "v1", "kind": "B", "name": "b", "uid": "2", "controller": true}]}}),
                false,
                vec!["metadata.ownerReferences: Invalid value: [{\"apiVersion\":\"v1\",\"controller\":true,\"kind\":\"A\",\"name\":\"a\",\"uid\":\"1\"},{\"apiVersion\":\"v1\",\"controller\":true,\"kind\":\"B\",\"name\":\"b\",\"uid\":\"2\"}]: Only one reference can have Controller set to true. Found \"true\" in references for A/a and B/b".into()],
            ),
            (
                "orphan and foreground",
                json!({"metadata": {"name": "a", "finalizers": ["orphan", "foregroundDeletion"]}}),
                false,
                vec!["metadata.finalizers: Invalid value: [\"orphan\",\"foregroundDeletion\"]: finalizer orphan and foregroundDeletion cannot be both set".into()],
            ),
            (
                "negative generation",
                json!({"metadata": {"name": "a", "generation": -1}}),
                false,
                vec!["metadata.generation: Invalid value: -1: must be greater than or equal to 0".into()],
            ),
        ];
        for (name, object, namespaced, expected) in cases {
            assert_eq!(
                rendered(&validate_object_meta(
                    &object,
                    namespaced,
                    NameRule::Subdomain
                )),
                expected,
                "{name}"
            );
        }
        let big = "v".repeat(names::TOTAL_ANNOTATION_SIZE_LIMIT_BYTES);
        assert_eq!(
            rendered(&validate_object_meta(
                &json!({"metadata": {"name": "a", "annotations": {"k": big}}}),
                false,
                NameRule::Subdomain
            )),
            vec!["metadata.annotations: Too long: may not be more than 262144 bytes"]
        );
    }

    #[test]
    fn object_meta_update_cases() {
        let old = json!({"metadata": {"name": "a", "deletionTimestamp": "2025-01-01T00:00:00Z",
            "finalizers": ["example.com/a"], "generation": 3}});
        let new = json!({"metadata": {"name": "a", "finalizers": ["example.com/a", "example.com/b"], "generation": 2}});
        assert_eq!(
            rendered(&validate_object_meta_update(&new, &old)),
            vec![
                "metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{\"example.com/b\"}",
                "metadata.generation: Invalid value: 2: must not be decremented",
            ]
        );
        assert!(validate_object_meta_update(&old, &old).is_empty());
    }
}
