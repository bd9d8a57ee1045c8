//! Validation of the smaller groups: coordination.k8s.io Leases, discovery.k8s.io EndpointSlices,
//! networking.k8s.io NetworkPolicies and Ingresses, storage.k8s.io StorageClasses,
//! scheduling.k8s.io PriorityClasses and the RBAC bindings (their immutable role reference). Each
//! covers the required fields and enumerations of upstream's validation, not every corner.

use serde_json::Value;
use tugboat_machinery::status::{FieldError, FieldPath};

use super::{int_at, list_at, nonnegative, one_of, str_at};

/// Lease: durations positive, transitions non-negative.
pub fn lease(object: &Value) -> Vec<FieldError> {
    let empty = Value::Null;
    let spec = object.get("spec").unwrap_or(&empty);
    let path = FieldPath::new("spec");
    let mut errors = Vec::new();
    if let Some(duration) = int_at(spec, "leaseDurationSeconds")
        && duration <= 0
    {
        errors.push(FieldError::invalid(
            &path.child("leaseDurationSeconds"),
            duration,
            "must be greater than 0",
        ));
    }
    errors.extend(nonnegative(
        int_at(spec, "leaseTransitions"),
        &path.child("leaseTransitions"),
    ));
    errors
}

/// EndpointSlice: a known address type and at most 1000 endpoints, each with an address.
pub fn endpoint_slice(object: &Value) -> Vec<FieldError> {
    let mut errors = one_of(
        str_at(object, "addressType"),
        &["IPv4", "IPv6", "FQDN"],
        &FieldPath::new("addressType"),
    );
    let endpoints = list_at(object, "endpoints");
    if endpoints.len() > 1000 {
        errors.push(FieldError::too_many(
            &FieldPath::new("endpoints"),
            Some(endpoints.len()),
            Some(1000),
        ));
    }
    for (index, endpoint) in endpoints.iter().enumerate() {
        let addresses = list_at(endpoint, "addresses");
        let path = FieldPath::new("endpoints").index(index).child("addresses");
        if addresses.is_empty() {
            errors.push(FieldError::required(
                &path,
                "must contain at least 1 address",
            ));
        } else if addresses.len() > 100 {
            errors.push(FieldError::too_many(
                &path,
                Some(addresses.len()),
                Some(100),
            ));
        }
    }
    errors
}

/// NetworkPolicy: policy types are Ingress or Egress.
pub fn network_policy(object: &Value) -> Vec<FieldError> {
    let empty = Value::Null;
    let spec = object.get("spec").unwrap_or(&empty);
    let mut errors = Vec::new();
    let types = list_at(spec, "policyTypes");
    for (index, kind) in types.iter().enumerate() {
        let kind = kind.as_str().unwrap_or_default();
        if !["Ingress", "Egress"].contains(&kind) {
            errors.push(FieldError::not_supported(
                &FieldPath::new("spec").child("policyTypes").index(index),
                kind,
                &["Ingress", "Egress"],
            ));
        }
    }
    if types.len() > 2 {
        errors.push(FieldError::invalid(
            &FieldPath::new("spec").child("policyTypes"),
            spec.get("policyTypes").cloned().unwrap_or(Value::Null),
            "may not specify more than two policyTypes",
        ));
    }
    errors
}

/// Ingress: every HTTP path has a known path type and a backend.
pub fn ingress(object: &Value) -> Vec<FieldError> {
    let empty = Value::Null;
    let spec = object.get("spec").unwrap_or(&empty);
    let mut errors = Vec::new();
    for (rule_index, rule) in list_at(spec, "rules").iter().enumerate() {
        let Some(http) = rule.get("http").filter(|h| !h.is_null()) else {
            continue;
        };
        let paths_path = FieldPath::new("spec")
            .child("rules")
            .index(rule_index)
            .child("http")
            .child("paths");
        let paths = list_at(http, "paths");
        if paths.is_empty() {
            errors.push(FieldError::required(&paths_path, ""));
        }
        for (index, path) in paths.iter().enumerate() {
            let path_path = paths_path.index(index);
            errors.extend(one_of(
                str_at(path, "pathType"),
                &["Exact", "ImplementationSpecific", "Prefix"],
                &path_path.child("pathType"),
            ));
            let value = str_at(path, "path");
            if str_at(path, "pathType") != "ImplementationSpecific" && !value.starts_with('/') {
                errors.push(FieldError::invalid(
                    &path_path.child("path"),
                    value,
                    "must be an absolute path",
                ));
            }
        }
    }
    errors
}

/// StorageClass: a provisioner and known policies.
pub fn storage_class(object: &Value) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if str_at(object, "provisioner").is_empty() {
        errors.push(FieldError::required(&FieldPath::new("provisioner"), ""));
    }
    let reclaim = str_at(object, "reclaimPolicy");
    if !reclaim.is_empty() && !["Delete", "Retain"].contains(&reclaim) {
        errors.push(FieldError::not_supported(
            &FieldPath::new("reclaimPolicy"),
            reclaim,
            &["Delete", "Retain"],
        ));
    }
    let binding = str_at(object, "volumeBindingMode");
    if !binding.is_empty() && !["Immediate", "WaitForFirstConsumer"].contains(&binding) {
        errors.push(FieldError::not_supported(
            &FieldPath::new("volumeBindingMode"),
            binding,
            &["Immediate", "WaitForFirstConsumer"],
        ));
    }
    errors
}

/// StorageClass update: parameters, provisioner, reclaim policy and binding mode are fixed.
pub fn storage_class_update(new: &Value, old: &Value) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if new.get("parameters") != old.get("parameters") {
        errors.push(FieldError::forbidden(
            &FieldPath::new("parameters"),
            "updates to parameters are forbidden.",
        ));
    }
    if str_at(new, "provisioner") != str_at(old, "provisioner") {
        errors.push(FieldError::forbidden(
            &FieldPath::new("provisioner"),
            "updates to provisioner are forbidden.",
        ));
    }
    for field in ["reclaimPolicy", "volumeBindingMode"] {
        errors.extend(super::immutable(
            new.get(field),
            old.get(field),
            &FieldPath::new(field),
        ));
    }
    errors
}

/// PriorityClass: names starting `system-` are reserved; the preemption policy is known.
pub fn priority_class(object: &Value) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let name = object
        .get("metadata")
        .map(|m| str_at(m, "name"))
        .unwrap_or_default();
    let system = ["system-node-critical", "system-cluster-critical"];
    if name.starts_with("system-") && !system.contains(&name) {
        errors.push(FieldError::forbidden(
            &FieldPath::new("metadata").child("name"),
            "priority class names with 'system-' prefix are reserved",
        ));
    }
    let policy = str_at(object, "preemptionPolicy");
    if !policy.is_empty() && !["Never", "PreemptLowerPriority"].contains(&policy) {
        errors.push(FieldError::not_supported(
            &FieldPath::new("preemptionPolicy"),
            policy,
            &["Never", "PreemptLowerPriority"],
        ));
    }
    errors
}

/// PriorityClass update: the value and preemption policy are fixed.
pub fn priority_class_update(new: &Value, old: &Value) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if new.get("value") != old.get("value") {
        errors.push(FieldError::forbidden(
            &FieldPath::new("value"),
            "may not be changed in an update.",
        ));
    }
    errors.extend(super::immutable(
        new.get("preemptionPolicy"),
        old.get("preemptionPolicy"),
        &FieldPath::new("preemptionPolicy"),
    ));
    errors
}

/// RoleBinding and ClusterRoleBinding: a role reference of a supported kind, subjects with kinds
/// and names.
pub fn role_binding(object: &Value) -> Vec<FieldError> {
    let empty = Value::Null;
    let role_ref = object.get("roleRef").unwrap_or(&empty);
    let path = FieldPath::new("roleRef");
    let mut errors = Vec::new();
    let api_group = str_at(role_ref, "apiGroup");
    if api_group != "rbac.authorization.k8s.io" {
        errors.push(FieldError::not_supported(
            &path.child("apiGroup"),
            api_group,
            &["rbac.authorization.k8s.io"],
        ));
    }
    let kind = str_at(role_ref, "kind");
    let cluster_scoped = object
        .get("metadata")
        .is_none_or(|m| str_at(m, "namespace").is_empty());
    let kinds: &[&str] = if cluster_scoped {
        &["ClusterRole"]
    } else {
        &["Role", "ClusterRole"]
    };
    if !kinds.contains(&kind) {
        errors.push(FieldError::not_supported(&path.child("kind"), kind, kinds));
    }
    if str_at(role_ref, "name").is_empty() {
        errors.push(FieldError::required(&path.child("name"), ""));
    }
    for (index, subject) in list_at(object, "subjects").iter().enumerate() {
        let subject_path = FieldPath::new("subjects").index(index);
        if str_at(subject, "name").is_empty() {
            errors.push(FieldError::required(&subject_path.child("name"), ""));
        }
        let kind = str_at(subject, "kind");
        if !["ServiceAccount", "User", "Group"].contains(&kind) {
            errors.push(FieldError::not_supported(
                &subject_path.child("kind"),
                kind,
                &["ServiceAccount", "User", "Group"],
            ));
        }
    }
    errors
}

/// Binding update: `cannot change roleRef`.
pub fn role_binding_update(new: &Value, old: &Value) -> Vec<FieldError> {
    if new.get("roleRef") == old.get("roleRef") {
        return Vec::new();
    }
    vec![FieldError::invalid(
        &FieldPath::new("roleRef"),
        new.get("roleRef").cloned().unwrap_or(Value::Null),
        "cannot change roleRef",
    )]
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::registry::validation::rendered;

    #[test]
    fn small_group_cases() {
        assert_eq!(
            rendered(&lease(&json!({"spec": {"leaseDurationSeconds": 0}}))),
            vec!["spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0"]
        );
        assert_eq!(
            rendered(&endpoint_slice(
                &json!({"addressType": "IPX", "endpoints": [{"addresses": []}]})
            )),
            vec![
                "addressType: Unsupported value: \"IPX\": supported values: \"IPv4\", \"IPv6\", \"FQDN\"",
                "endpoints[0].addresses: Required value: must contain at least 1 address",
            ]
        );
        assert_eq!(
            rendered(&network_policy(
                &json!({"spec": {"policyTypes": ["Sideways"]}})
            )),
            vec![
                "spec.policyTypes[0]: Unsupported value: \"Sideways\": supported values: \"Ingress\", \"Egress\""
            ]
        );
        assert_eq!(
            rendered(&ingress(
                &json!({"spec": {"rules": [{"http": {"paths": [{"path": "x", "pathType": "Prefix"}]}}]}})
            )),
            vec![
                "spec.rules[0].http.paths[0].path: Invalid value: \"x\": must be an absolute path"
            ]
        );
        assert_eq!(
            rendered(&storage_class(&json!({"reclaimPolicy": "Recycle"}))),
            vec![
                "provisioner: Required value",
                "reclaimPolicy: Unsupported value: \"Recycle\": supported values: \"Delete\", \"Retain\"",
            ]
        );
        assert_eq!(
            rendered(&priority_class(
                &json!({"metadata": {"name": "system-mine"}, "value": 1})
            )),
            vec![
                "metadata.name: Forbidden: priority class names with 'system-' prefix are reserved"
            ]
        );
        let binding = json!({"metadata": {"name": "b", "namespace": "n"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "r"},
            "subjects": [{"kind": "User", "name": "u"}]});
        assert!(role_binding(&binding).is_empty());
        let mut changed = binding.clone();
        changed["roleRef"]["name"] = json!("other");
        assert_eq!(
            rendered(&role_binding_update(&changed, &binding)),
            vec![
                "roleRef: Invalid value: {\"apiGroup\":\"rbac.authorization.k8s.io\",\"kind\":\"Role\",\"name\":\"other\"}: cannot change roleRef"
            ]
        );
    }
}
