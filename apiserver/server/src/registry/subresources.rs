//! What an update through a subresource may change, as upstream's per-subresource strategies'
//! `PrepareForUpdate`: `status` (everything but the spec, for most kinds including metadata),
//! `approval` of CertificateSigningRequests (metadata and the conditions) and `finalize` of
//! Namespaces (everything but the status). Each function turns the submitted object `new` into the
//! object to store, given the stored `old`; the generic fields (uid, creationTimestamp, ...) are
//! carried over afterwards by the store for every update.

use serde_json::{Map, Value, json};

use super::meta;

/// Kinds whose status updates also keep the old metadata (upstream calls
/// `ResetObjectMetaForStatus` or copies the old `ObjectMeta` in their status strategies); for the
/// others labels, annotations, finalizers and owner references sent to `status` are kept.
fn status_resets_metadata(group: &str, kind: &str) -> bool {
    matches!(
        (group, kind),
        (
            "flowcontrol.apiserver.k8s.io",
            "FlowSchema" | "PriorityLevelConfiguration"
        ) | (
            "admissionregistration.k8s.io",
            "ValidatingAdmissionPolicy" | "MutatingAdmissionPolicy"
        ) | ("resource.k8s.io", "ResourceClaim" | "PodSchedulingContext")
            | ("internal.apiserver.k8s.io", "StorageVersion")
            | ("storagemigration.k8s.io", "StorageVersionMigration")
            | ("apiextensions.k8s.io", "CustomResourceDefinition")
    )
}

/// An applied configuration without the fields the write through `subresource` resets
/// (upstream's `ResetFieldsStrategy`, which the field manager strips before applying, so that no
/// manager owns a field the write cannot change): `status` on the main resource of a kind with a
/// status subresource; everything but `status` (and the metadata the kind keeps) through
/// `status`. `None`: nothing to strip.
pub fn without_reset_fields(
    group: &str,
    kind: &str,
    subresource: Option<&str>,
    status_subresource: bool,
    config: &Value,
) -> Option<Value> {
    let root = config.as_object()?;
    match subresource {
        None if status_subresource && root.contains_key("status") => {
            let mut out = root.clone();
            out.remove("status");
            Some(Value::Object(out))
        }
        Some("status") => {
            let mut out = root.clone();
            out.retain(|field, _| {
                matches!(
                    field.as_str(),
                    "apiVersion" | "kind" | "metadata" | "status"
                )
            });
            if status_resets_metadata(group, kind)
                && let Some(metadata) = out.get_mut("metadata").and_then(Value::as_object_mut)
            {
                metadata.retain(|field, _| {
                    matches!(
                        field.as_str(),
                        "name" | "namespace" | "resourceVersion" | "uid"
                    )
                });
            }
            Some(Value::Object(out))
        }
        _ => None,
    }
}

/// `old` with `field` of `new` (removed when `new` has none).
fn old_with(old: &Value, new: &Value, fields: &[&str]) -> Value {
    let mut out = old.clone();
    if let Some(root) = out.as_object_mut() {
        for field in fields {
            match new.get(*field) {
                Some(value) => root.insert((*field).to_owned(), value.clone()),
                None => root.remove(*field),
            };
        }
    }
    out
}

/// `status`: the old object with the new status (and, unless the kind resets it, the new
/// metadata).
pub fn prepare_status(group: &str, kind: &str, new: &Value, old: &Value) -> Value {
    let mut out = if status_resets_metadata(group, kind) {
        old_with(old, new, &["status"])
    } else {
        old_with(old, new, &["status", "metadata"])
    };
    if (group, kind) == ("certificates.k8s.io", "CertificateSigningRequest") {
        // The approval conditions belong to the approval subresource.
        for condition in ["Approved", "Denied"] {
            preserve_condition_instances(&mut out, old, condition);
        }
        populate_condition_timestamps(&mut out, old);
    }
    out
}

/// `approval` of a CertificateSigningRequest: the old object with the new metadata and
/// conditions (the certificate stays).
pub fn prepare_approval(new: &Value, old: &Value) -> Value {
    let mut out = old_with(old, new, &["metadata"]);
    let conditions = new.get("status").and_then(|s| s.get("conditions")).cloned();
    if let Some(root) = out.as_object_mut() {
        let status = root
            .entry("status")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(status) = status.as_object_mut() {
            match conditions {
                Some(conditions) => status.insert("conditions".into(), conditions),
                None => status.remove("conditions"),
            };
        }
    }
    populate_condition_timestamps(&mut out, old);
    out
}

/// `finalize` of a Namespace: the new object with the old status (the namespace's own update
/// keeps `spec.finalizers`; this is where they change).
pub fn prepare_finalize(new: &Value, old: &Value) -> Value {
    old_with(new, old, &["status"])
}

/// The `status.conditions` of a CSR.
fn conditions_mut(object: &mut Value) -> Option<&mut Vec<Value>> {
    object
        .get_mut("status")?
        .get_mut("conditions")?
        .as_array_mut()
}

fn conditions(object: &Value) -> &[Value] {
    object
        .get("status")
        .and_then(|s| s.get("conditions"))
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

fn condition_type(condition: &Value) -> Option<&str> {
    condition.get("type").and_then(Value::as_str)
}

/// Upstream's `preserveConditionInstances`: when `new` has as many conditions of `kind` as `old`,
/// they keep their old values (in their new positions).
fn preserve_condition_instances(new: &mut Value, old: &Value, kind: &str) {
    let old_instances: Vec<Value> = conditions(old)
        .iter()
        .filter(|c| condition_type(c) == Some(kind))
        .cloned()
        .collect();
    let Some(new_conditions) = conditions_mut(new) else {
        return;
    };
    let positions: Vec<usize> = new_conditions
        .iter()
        .enumerate()
        .filter(|(_, c)| condition_type(c) == Some(kind))
        .map(|(i, _)| i)
        .collect();
    if positions.len() != old_instances.len() {
        return;
    }
    for (position, old_condition) in positions.into_iter().zip(old_instances) {
        new_conditions[position] = old_condition;
    }
}

fn is_unset(condition: &Value, field: &str) -> bool {
    condition
        .get(field)
        .is_none_or(|v| v.is_null() || v.as_str() == Some(""))
}

/// Upstream's `populateConditionTimestamps`: conditions without `lastUpdateTime` get now; without
/// `lastTransitionTime`, that of an old condition of the same type and status, else now.
fn populate_condition_timestamps(new: &mut Value, old: &Value) {
    let now = meta::now_rfc3339();
    let old_conditions = conditions(old).to_vec();
    let Some(new_conditions) = conditions_mut(new) else {
        return;
    };
    for condition in new_conditions.iter_mut() {
        let transition = old_conditions
            .iter()
            .find(|o| {
                condition_type(o) == condition_type(condition)
                    && o.get("status") == condition.get("status")
                    && !is_unset(o, "lastTransitionTime")
            })
            .and_then(|o| o.get("lastTransitionTime").cloned())
            .unwrap_or_else(|| json!(now));
        let Some(fields) = condition.as_object_mut() else {
            continue;
        };
        if fields
            .get("lastUpdateTime")
            .is_none_or(|v| v.is_null() || v.as_str() == Some(""))
        {
            fields.insert("lastUpdateTime".into(), json!(now));
        }
        if fields
            .get("lastTransitionTime")
            .is_none_or(|v| v.is_null() || v.as_str() == Some(""))
        {
            fields.insert("lastTransitionTime".into(), transition);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csr(annotations: Value, conditions: Value, certificate: Option<&str>) -> Value {
        let mut status = json!({"conditions": conditions});
        if let Some(certificate) = certificate {
            status["certificate"] = json!(certificate);
        }
        json!({
            "metadata": {"name": "c", "annotations": annotations},
            "spec": {"signerName": "example.com/s", "request": "cmVx"},
            "status": status,
        })
    }

    #[test]
    fn status_keeps_metadata_but_not_spec() {
        let old = json!({"metadata": {"name": "s"}, "spec": {"type": "ClusterIP"}, "status": {}});
        let new = json!({
            "metadata": {"name": "s", "annotations": {"patchedstatus": "true"}},
            "spec": {"type": "NodePort"},
            "status": {"loadBalancer": {"ingress": [{"ip": "203.0.113.1"}]}},
        });
        let out = prepare_status("", "Service", &new, &old);
        assert_eq!(
            out["metadata"]["annotations"],
            json!({"patchedstatus": "true"})
        );
        assert_eq!(out["spec"], json!({"type": "ClusterIP"}));
        assert_eq!(out["status"], new["status"]);
    }

    #[test]
    fn status_of_flow_schemas_keeps_old_metadata() {
        let old = json!({"metadata": {"name": "f", "labels": {"a": "1"}}, "spec": {}});
        let new =
            json!({"metadata": {"name": "f", "labels": {"a": "2"}}, "status": {"conditions": []}});
        let out = prepare_status("flowcontrol.apiserver.k8s.io", "FlowSchema", &new, &old);
        assert_eq!(out["metadata"]["labels"], json!({"a": "1"}));
        assert_eq!(out["status"], json!({"conditions": []}));
    }

    #[test]
    fn approval_changes_conditions_and_metadata_only() {
        let old = csr(json!({}), json!([]), Some("Y2VydA=="));
        let mut new = csr(
            json!({"patchedapproval": "true"}),
            json!([{"type": "Approved", "status": "True", "reason": "E2E"}]),
            None,
        );
        new["spec"]["signerName"] = json!("example.com/other");
        let out = prepare_approval(&new, &old);
        assert_eq!(
            out["metadata"]["annotations"],
            json!({"patchedapproval": "true"})
        );
        assert_eq!(out["spec"], old["spec"]);
        assert_eq!(out["status"]["certificate"], "Y2VydA==");
        let condition = &out["status"]["conditions"][0];
        assert_eq!(condition["type"], "Approved");
        assert!(condition["lastUpdateTime"].is_string(), "{condition}");
        assert!(condition["lastTransitionTime"].is_string(), "{condition}");
    }

    #[test]
    fn csr_status_keeps_the_approval_conditions() {
        let approved = json!({"type": "Approved", "status": "True", "reason": "E2E",
            "lastUpdateTime": "2025-01-01T00:00:00Z", "lastTransitionTime": "2025-01-01T00:00:00Z"});
        let old = csr(json!({}), json!([approved]), None);
        let new = csr(
            json!({"patchedstatus": "true"}),
            json!([{"type": "Approved", "status": "True", "reason": "Changed"},
                   {"type": "StatusUpdate", "status": "True", "reason": "E2E"}]),
            Some("Y2VydA=="),
        );
        let out = prepare_status(
            "certificates.k8s.io",
            "CertificateSigningRequest",
            &new,
            &old,
        );
        assert_eq!(out["status"]["conditions"][0], approved);
        assert_eq!(out["status"]["conditions"][1]["type"], "StatusUpdate");
        assert_eq!(out["status"]["certificate"], "Y2VydA==");
        assert_eq!(
            out["metadata"]["annotations"],
            json!({"patchedstatus": "true"})
        );
    }

    #[test]
    fn transition_time_is_kept_for_an_unchanged_condition() {
        let old = csr(
            json!({}),
            json!([{"type": "Approved", "status": "True", "lastTransitionTime": "2025-01-01T00:00:00Z"}]),
            None,
        );
        let new = csr(
            json!({}),
            json!([{"type": "Approved", "status": "True"}]),
            None,
        );
        let out = prepare_approval(&new, &old);
        assert_eq!(
            out["status"]["conditions"][0]["lastTransitionTime"],
            "2025-01-01T00:00:00Z"
        );
    }

    #[test]
    fn finalize_changes_everything_but_the_status() {
        let old = json!({"metadata": {"name": "n"}, "spec": {"finalizers": ["kubernetes"]},
                         "status": {"phase": "Active"}});
        let new = json!({"metadata": {"name": "n"}, "spec": {"finalizers": ["kubernetes", "x.io/y"]},
                         "status": {"phase": "Terminating"}});
        let out = prepare_finalize(&new, &old);
        assert_eq!(out["spec"]["finalizers"], json!(["kubernetes", "x.io/y"]));
        assert_eq!(out["status"], json!({"phase": "Active"}));
    }
}
