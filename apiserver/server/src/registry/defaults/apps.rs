//! Defaults of the apps group (upstream `pkg/apis/apps/v1/defaults.go`): replicas, update
//! strategies and history limits of Deployments, ReplicaSets, StatefulSets and DaemonSets, and
//! the pod spec defaults of their templates.

use serde_json::{Value, json};

use super::{child, core, existing, items, or_set, unset};

fn template(spec: &mut Value) {
    if let Some(template) = existing(spec, "template") {
        core::pod_template_spec(template);
    }
}

/// Deployment: one replica, RollingUpdate with 25% surge and unavailability, ten old
/// ReplicaSets kept, a 600-second progress deadline.
pub fn deployment(object: &mut Value) {
    let Some(spec) = child(object, "spec") else {
        return;
    };
    or_set(spec, "replicas", json!(1));
    if let Some(strategy) = spec.get_mut("strategy").filter(|s| s.is_null()) {
        *strategy = json!({});
    }
    let strategy = spec.entry("strategy").or_insert_with(|| json!({}));
    if let Some(strategy) = strategy.as_object_mut() {
        or_set(strategy, "type", json!("RollingUpdate"));
        if strategy.get("type").and_then(Value::as_str) == Some("RollingUpdate") {
            let rolling = strategy.entry("rollingUpdate").or_insert_with(|| json!({}));
            if rolling.is_null() {
                *rolling = json!({});
            }
            if let Some(rolling) = rolling.as_object_mut() {
                or_set(rolling, "maxUnavailable", json!("25%"));
                or_set(rolling, "maxSurge", json!("25%"));
            }
        }
    }
    or_set(spec, "revisionHistoryLimit", json!(10));
    or_set(spec, "progressDeadlineSeconds", json!(600));
    if let Some(spec) = existing(object, "spec") {
        template(spec);
    }
}

/// ReplicaSet: one replica.
pub fn replica_set(object: &mut Value) {
    let Some(spec) = child(object, "spec") else {
        return;
    };
    or_set(spec, "replicas", json!(1));
    if let Some(spec) = existing(object, "spec") {
        template(spec);
    }
}

/// StatefulSet: OrderedReady, RollingUpdate from partition 0, PVCs retained, one replica, ten
/// revisions kept; claim templates get the claim defaults (a `Pending` status included, as
/// upstream shows them).
pub fn stateful_set(object: &mut Value) {
    let Some(spec) = child(object, "spec") else {
        return;
    };
    or_set(spec, "podManagementPolicy", json!("OrderedReady"));
    let strategy = spec.entry("updateStrategy").or_insert_with(|| json!({}));
    if strategy.is_null() {
        *strategy = json!({});
    }
    if let Some(strategy) = strategy.as_object_mut() {
        if unset(strategy.get("type")) {
            strategy.insert("type".into(), json!("RollingUpdate"));
            if unset(strategy.get("rollingUpdate")) {
                strategy.insert("rollingUpdate".into(), json!({}));
            }
        }
        if strategy.get("type").and_then(Value::as_str) == Some("RollingUpdate")
            && let Some(rolling) = strategy
                .get_mut("rollingUpdate")
                .and_then(Value::as_object_mut)
        {
            or_set(rolling, "partition", json!(0));
        }
    }
    let retention = spec
        .entry("persistentVolumeClaimRetentionPolicy")
        .or_insert_with(|| json!({}));
    if retention.is_null() {
        *retention = json!({});
    }
    if let Some(retention) = retention.as_object_mut() {
        or_set(retention, "whenDeleted", json!("Retain"));
        or_set(retention, "whenScaled", json!("Retain"));
    }
    or_set(spec, "replicas", json!(1));
    or_set(spec, "revisionHistoryLimit", json!(10));
    let Some(spec) = existing(object, "spec") else {
        return;
    };
    template(spec);
    for claim in items(spec, "volumeClaimTemplates") {
        core::persistent_volume_claim(claim);
    }
}

/// DaemonSet: RollingUpdate one node at a time without surge, ten revisions kept.
pub fn daemon_set(object: &mut Value) {
    let Some(spec) = child(object, "spec") else {
        return;
    };
    let strategy = spec.entry("updateStrategy").or_insert_with(|| json!({}));
    if strategy.is_null() {
        *strategy = json!({});
    }
    if let Some(strategy) = strategy.as_object_mut() {
        or_set(strategy, "type", json!("RollingUpdate"));
        if strategy.get("type").and_then(Value::as_str) == Some("RollingUpdate") {
            let rolling = strategy.entry("rollingUpdate").or_insert_with(|| json!({}));
            if rolling.is_null() {
                *rolling = json!({});
            }
            if let Some(rolling) = rolling.as_object_mut() {
                or_set(rolling, "maxUnavailable", json!(1));
                or_set(rolling, "maxSurge", json!(0));
            }
        }
    }
    or_set(spec, "revisionHistoryLimit", json!(10));
    if let Some(spec) = existing(object, "spec") {
        template(spec);
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::registry::defaults::testing::check;

    fn pod_spec_defaults() -> Value {
        json!({"containers": [], "dnsPolicy": "ClusterFirst", "restartPolicy": "Always",
            "schedulerName": "default-scheduler", "securityContext": {}, "terminationGracePeriodSeconds": 30})
    }

    #[test]
    fn workloads() {
        let template = json!({"metadata": {"labels": {"app": "a"}}, "spec": {"containers": []}});
        let defaulted = json!({"metadata": {"labels": {"app": "a"}}, "spec": pod_spec_defaults()});
        check(
            "deployment",
            deployment,
            json!({"spec": {"template": template}}),
            json!({"spec": {"replicas": 1, "revisionHistoryLimit": 10, "progressDeadlineSeconds": 600,
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}},
                "template": defaulted}}),
        );
        check(
            "deployment recreate",
            deployment,
            json!({"spec": {"replicas": 0, "strategy": {"type": "Recreate"}}}),
            json!({"spec": {"replicas": 0, "revisionHistoryLimit": 10, "progressDeadlineSeconds": 600,
                "strategy": {"type": "Recreate"}}}),
        );
        check(
            "replicaset",
            replica_set,
            json!({"spec": {"template": template}}),
            json!({"spec": {"replicas": 1, "template": defaulted}}),
        );
        check(
            "statefulset",
            stateful_set,
            json!({"spec": {"template": template, "volumeClaimTemplates": [{"metadata": {"name": "d"}, "spec": {}}]}}),
            json!({"spec": {"replicas": 1, "revisionHistoryLimit": 10, "podManagementPolicy": "OrderedReady",
                "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}},
                "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain", "whenScaled": "Retain"},
                "volumeClaimTemplates": [{"metadata": {"name": "d"}, "spec": {"volumeMode": "Filesystem"}, "status": {"phase": "Pending"}}],
                "template": defaulted}}),
        );
        check(
            "statefulset on delete",
            stateful_set,
            json!({"spec": {"updateStrategy": {"type": "OnDelete"}}}),
            json!({"spec": {"replicas": 1, "revisionHistoryLimit": 10, "podManagementPolicy": "OrderedReady",
                "updateStrategy": {"type": "OnDelete"},
                "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain", "whenScaled": "Retain"}}}),
        );
        check(
            "daemonset",
            daemon_set,
            json!({"spec": {"template": template}}),
            json!({"spec": {"revisionHistoryLimit": 10,
                "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}},
                "template": defaulted}}),
        );
    }
}
