//! Defaults of the smaller groups: networking.k8s.io (NetworkPolicy, IngressClass), storage.k8s.io
//! (StorageClass), rbac.authorization.k8s.io (subjects and role references),
//! scheduling.k8s.io (PriorityClass), discovery.k8s.io (EndpointSlice) and autoscaling
//! (HorizontalPodAutoscaler), each as in upstream's
//! `pkg/apis/<group>/v1/defaults.go`.

use serde_json::{Value, json};

use super::{child, existing, items, or_set, or_set_in, unset};

/// The RBAC API group, the default `apiGroup` of users, groups and role references.
pub const RBAC_GROUP: &str = "rbac.authorization.k8s.io";

/// NetworkPolicy: ports are TCP, and a policy without `policyTypes` is an Ingress policy (and an
/// Egress one too when it has egress rules).
pub fn network_policy(object: &mut Value) {
    let Some(spec) = existing(object, "spec") else {
        return;
    };
    for direction in ["ingress", "egress"] {
        for rule in items(spec, direction) {
            for port in items(rule, "ports") {
                or_set_in(port, "protocol", json!("TCP"));
            }
        }
    }
    let Some(map) = spec.as_object_mut() else {
        return;
    };
    let has_types = map
        .get("policyTypes")
        .and_then(Value::as_array)
        .is_some_and(|t| !t.is_empty());
    if !has_types {
        let has_egress = map
            .get("egress")
            .and_then(Value::as_array)
            .is_some_and(|e| !e.is_empty());
        let types = if has_egress {
            json!(["Ingress", "Egress"])
        } else {
            json!(["Ingress"])
        };
        map.insert("policyTypes".into(), types);
    }
}

/// IngressClass: parameters are cluster-scoped unless told otherwise.
pub fn ingress_class(object: &mut Value) {
    if let Some(parameters) = existing(object, "spec").and_then(|s| existing(s, "parameters")) {
        or_set_in(parameters, "scope", json!("Cluster"));
    }
}

/// StorageClass: volumes are deleted with their claim and bound immediately.
pub fn storage_class(object: &mut Value) {
    or_set_in(object, "reclaimPolicy", json!("Delete"));
    or_set_in(object, "volumeBindingMode", json!("Immediate"));
}

/// CSIDriver (`SetDefaults_CSIDriver`): attach required, no pod info on mount, no capacity
/// tracking, no republish, no SELinux mount option, fsGroup changes for ReadWriteOnce volumes with
/// an fsType, persistent volumes only.
pub fn csi_driver(object: &mut Value) {
    let Some(spec) = child(object, "spec") else {
        return;
    };
    or_set(spec, "attachRequired", json!(true));
    or_set(spec, "podInfoOnMount", json!(false));
    or_set(spec, "storageCapacity", json!(false));
    or_set(spec, "fsGroupPolicy", json!("ReadWriteOnceWithFSType"));
    or_set(spec, "requiresRepublish", json!(false));
    or_set(spec, "seLinuxMount", json!(false));
    let no_modes = spec
        .get("volumeLifecycleModes")
        .and_then(Value::as_array)
        .is_none_or(Vec::is_empty);
    if no_modes {
        spec.insert("volumeLifecycleModes".into(), json!(["Persistent"]));
    }
}

/// VolumeAttachment: `status.attached` is a non-pointer bool upstream, so every VolumeAttachment
/// reads back with `status: {attached: false}` until an attacher sets it.
pub fn volume_attachment(object: &mut Value) {
    if let Some(status) = child(object, "status") {
        or_set(status, "attached", json!(false));
    }
}

/// ResourceClaim: its status is a non-pointer struct upstream, so a claim reads back with
/// `status: {}` before anything is allocated (and a JSON patch can add `/status/allocation`).
pub fn resource_claim(object: &mut Value) {
    child(object, "status");
}

/// PriorityClass: preempts lower priorities.
pub fn priority_class(object: &mut Value) {
    or_set_in(object, "preemptionPolicy", json!("PreemptLowerPriority"));
}

/// EndpointSlice ports: an empty name and TCP when unset.
pub fn endpoint_slice(object: &mut Value) {
    for port in items(object, "ports") {
        if let Some(map) = port.as_object_mut() {
            if map.get("name").is_none_or(Value::is_null) {
                map.insert("name".into(), json!(""));
            }
            or_set(map, "protocol", json!("TCP"));
        }
    }
}

/// RoleBinding and ClusterRoleBinding: the role reference and user or group subjects are in the
/// RBAC group unless told otherwise (service accounts stay in the core group, whose empty name
/// upstream omits).
pub fn role_binding(object: &mut Value) {
    if let Some(role_ref) = child(object, "roleRef") {
        or_set(role_ref, "apiGroup", json!(RBAC_GROUP));
    }
    for subject in items(object, "subjects") {
        let Some(map) = subject.as_object_mut() else {
            continue;
        };
        if unset(map.get("apiGroup"))
            && matches!(
                map.get("kind").and_then(Value::as_str),
                Some("User" | "Group")
            )
        {
            map.insert("apiGroup".into(), json!(RBAC_GROUP));
        }
    }
}

/// HorizontalPodAutoscaler (autoscaling/v2, also the storage of autoscaling/v1): at least one
/// replica, an 80% CPU utilization target when no metric is given, and a given `behavior`
/// completed with the default scaling rules (`pkg/apis/autoscaling/v2/defaults.go`). The
/// scale-down stabilization window stays unset: the controller's flag decides it.
pub fn horizontal_pod_autoscaler(object: &mut Value) {
    let Some(spec) = existing(object, "spec") else {
        return;
    };
    let Some(map) = spec.as_object_mut() else {
        return;
    };
    or_set(map, "minReplicas", json!(1));
    let has_metrics = map
        .get("metrics")
        .and_then(Value::as_array)
        .is_some_and(|m| !m.is_empty());
    if !has_metrics {
        map.insert(
            "metrics".into(),
            json!([{"type": "Resource", "resource": {"name": "cpu",
                "target": {"type": "Utilization", "averageUtilization": 80}}}]),
        );
    }
    let Some(behavior) = existing(spec, "behavior") else {
        return;
    };
    let rules = [
        (
            "scaleUp",
            Some(json!(0)),
            json!([{"type": "Pods", "value": 4, "periodSeconds": 15},
                {"type": "Percent", "value": 100, "periodSeconds": 15}]),
        ),
        (
            "scaleDown",
            None,
            json!([{"type": "Percent", "value": 100, "periodSeconds": 15}]),
        ),
    ];
    for (direction, window, policies) in rules {
        let Some(rules) = child(behavior, direction) else {
            continue;
        };
        if let Some(window) = window {
            or_set(rules, "stabilizationWindowSeconds", window);
        }
        or_set(rules, "selectPolicy", json!("Max"));
        if rules.get("policies").is_none_or(Value::is_null) {
            rules.insert("policies".into(), policies);
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::registry::defaults::testing::check;

    #[test]
    fn horizontal_pod_autoscalers() {
        let target = json!({"kind": "Deployment", "name": "web"});
        check(
            "no metrics",
            horizontal_pod_autoscaler,
            json!({"spec": {"scaleTargetRef": target, "maxReplicas": 3}}),
            json!({"spec": {"scaleTargetRef": target, "maxReplicas": 3, "minReplicas": 1,
                "metrics": [{"type": "Resource", "resource": {"name": "cpu",
                    "target": {"type": "Utilization", "averageUtilization": 80}}}]}}),
        );
        let metrics = json!([{"type": "Pods", "pods": {"metric": {"name": "qps"},
            "target": {"type": "AverageValue", "averageValue": "1"}}}]);
        check(
            "behavior completed",
            horizontal_pod_autoscaler,
            json!({"spec": {"minReplicas": 2, "metrics": metrics,
                "behavior": {"scaleDown": {"stabilizationWindowSeconds": 30}}}}),
            json!({"spec": {"minReplicas": 2, "metrics": metrics, "behavior": {
                "scaleUp": {"stabilizationWindowSeconds": 0, "selectPolicy": "Max", "policies": [
                    {"type": "Pods", "value": 4, "periodSeconds": 15},
                    {"type": "Percent", "value": 100, "periodSeconds": 15}]},
                "scaleDown": {"stabilizationWindowSeconds": 30, "selectPolicy": "Max", "policies": [
                    {"type": "Percent", "value": 100, "periodSeconds": 15}]}}}}),
        );
    }

    #[test]
    fn small_groups() {
        check(
            "network policy ingress only",
            network_policy,
            json!({"spec": {"podSelector": {}, "ingress": [{"ports": [{"port": 80}]}]}}),
            json!({"spec": {"podSelector": {}, "ingress": [{"ports": [{"port": 80, "protocol": "TCP"}]}],
                "policyTypes": ["Ingress"]}}),
        );
        check(
            "network policy with egress",
            network_policy,
            json!({"spec": {"podSelector": {}, "egress": [{}]}}),
            json!({"spec": {"podSelector": {}, "egress": [{}], "policyTypes": ["Ingress", "Egress"]}}),
        );
        check(
            "network policy keeps its types",
            network_policy,
            json!({"spec": {"podSelector": {}, "egress": [{}], "policyTypes": ["Egress"]}}),
            json!({"spec": {"podSelector": {}, "egress": [{}], "policyTypes": ["Egress"]}}),
        );
        check(
            "storage class",
            storage_class,
            json!({"provisioner": "p"}),
            json!({"provisioner": "p", "reclaimPolicy": "Delete", "volumeBindingMode": "Immediate"}),
        );
        check(
            "csi driver",
            csi_driver,
            json!({"spec": {"volumeLifecycleModes": ["Ephemeral"], "attachRequired": false}}),
            json!({"spec": {"volumeLifecycleModes": ["Ephemeral"], "attachRequired": false,
                "podInfoOnMount": false, "storageCapacity": false, "requiresRepublish": false,
                "seLinuxMount": false, "fsGroupPolicy": "ReadWriteOnceWithFSType"}}),
        );
        check(
            "csi driver without modes",
            csi_driver,
            json!({"spec": {}}),
            json!({"spec": {"volumeLifecycleModes": ["Persistent"], "attachRequired": true,
                "podInfoOnMount": false, "storageCapacity": false, "requiresRepublish": false,
                "seLinuxMount": false, "fsGroupPolicy": "ReadWriteOnceWithFSType"}}),
        );
        check(
            "volume attachment",
            volume_attachment,
            json!({"spec": {"attacher": "a"}}),
            json!({"spec": {"attacher": "a"}, "status": {"attached": false}}),
        );
        check(
            "attached volume attachment",
            volume_attachment,
            json!({"spec": {"attacher": "a"}, "status": {"attached": true}}),
            json!({"spec": {"attacher": "a"}, "status": {"attached": true}}),
        );
        check(
            "resource claim",
            resource_claim,
            json!({"spec": {"devices": {}}}),
            json!({"spec": {"devices": {}}, "status": {}}),
        );
        check(
            "allocated resource claim",
            resource_claim,
            json!({"spec": {}, "status": {"allocation": {}}}),
            json!({"spec": {}, "status": {"allocation": {}}}),
        );
        check(
            "priority class",
            priority_class,
            json!({"value": 1}),
            json!({"value": 1, "preemptionPolicy": "PreemptLowerPriority"}),
        );
        check(
            "endpoint slice",
            endpoint_slice,
            json!({"addressType": "IPv4", "ports": [{"port": 80}]}),
            json!({"addressType": "IPv4", "ports": [{"port": 80, "name": "", "protocol": "TCP"}]}),
        );
        check(
            "role binding",
            role_binding,
            json!({"roleRef": {"kind": "Role", "name": "r"}, "subjects": [
                {"kind": "User", "name": "u"}, {"kind": "Group", "name": "g"},
                {"kind": "ServiceAccount", "name": "s", "namespace": "n"}]}),
            json!({"roleRef": {"kind": "Role", "name": "r", "apiGroup": "rbac.authorization.k8s.io"}, "subjects": [
                {"kind": "User", "name": "u", "apiGroup": "rbac.authorization.k8s.io"},
                {"kind": "Group", "name": "g", "apiGroup": "rbac.authorization.k8s.io"},
                {"kind": "ServiceAccount", "name": "s", "namespace": "n"}]}),
        );
        check(
            "ingress class",
            ingress_class,
            json!({"spec": {"parameters": {"kind": "K", "name": "n"}}}),
            json!({"spec": {"parameters": {"kind": "K", "name": "n", "scope": "Cluster"}}}),
        );
    }
}
