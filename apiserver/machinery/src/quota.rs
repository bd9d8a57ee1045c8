//! ResourceQuota evaluation, shared by the API server's quota admission and the resource quota
//! controller: what one object uses (`pods`, `requests.cpu`, `count/configmaps`, ...), which quotas
//! an object falls under (their scopes), and upstream's texts for usage and for refusals.
//!
//! Objects are JSON as stored. A pod counts while it is not terminal and its deletion grace period
//! has not run out, as upstream's `QuotaV1Pod`; its compute usage follows upstream's pod request
//! rules (the larger of the containers' sum and any init container, sidecars included, plus the
//! pod overhead).

use std::collections::BTreeMap;

use serde_json::Value;

use crate::quantity::{Format, Quantity};

/// Resource name → quantity, sorted by name.
pub type ResourceList = BTreeMap<String, Quantity>;

/// The compute resources a pod's containers request and limit.
const COMPUTE: &[&str] = &["cpu", "memory", "ephemeral-storage"];

/// The quota scopes that only pods fall under.
const POD_SCOPES: &[&str] = &[
    "Terminating",
    "NotTerminating",
    "BestEffort",
    "NotBestEffort",
    "PriorityClass",
    "CrossNamespacePodAffinity",
];

/// A quota's hard limits (`spec.hard`), parsed; unparsable values are left out (validation
/// refuses them).
pub fn hard(quota: &Value) -> ResourceList {
    parse_list(quota.pointer("/spec/hard"))
}

/// What a quota enforces: `status.hard`, which the quota controller copies from `spec.hard`.
pub fn enforced(quota: &Value) -> ResourceList {
    parse_list(quota.pointer("/status/hard"))
}

/// A quota's recorded usage (`status.used`), parsed.
pub fn used(quota: &Value) -> ResourceList {
    parse_list(quota.pointer("/status/used"))
}

fn parse_list(value: Option<&Value>) -> ResourceList {
    value
        .and_then(Value::as_object)
        .map(|map| {
            map.iter()
                .filter_map(|(name, q)| Some((name.clone(), q.as_str()?.parse().ok()?)))
                .collect()
        })
        .unwrap_or_default()
}

/// The quota resource names an object of `resource` in `group` may count under: `count/<resource>`
/// (with `.<group>` outside the core group) and, for core kinds, the legacy names.
fn count_names(group: &str, resource: &str) -> Vec<String> {
    let mut names = vec![if group.is_empty() {
        format!("count/{resource}")
    } else {
        format!("count/{resource}.{group}")
    }];
    if group.is_empty()
        && matches!(
            resource,
            "pods"
                | "services"
                | "configmaps"
                | "secrets"
                | "replicationcontrollers"
                | "resourcequotas"
                | "persistentvolumeclaims"
        )
    {
        names.push(resource.to_owned());
    }
    names
}

/// What one object of `resource` in `group` uses. A pod that no longer counts uses nothing.
pub fn usage(group: &str, resource: &str, object: &Value) -> ResourceList {
    let mut out = ResourceList::new();
    if group.is_empty() && resource == "pods" && !pod_counts(object) {
        return out;
    }
    for name in count_names(group, resource) {
        out.insert(name, Quantity::count(1));
    }
    if !group.is_empty() {
        return out;
    }
    match resource {
        "pods" => add_pod_compute(object, &mut out),
        "services" => {
            let kind = object
                .pointer("/spec/type")
                .and_then(Value::as_str)
                .unwrap_or("ClusterIP");
            if kind == "LoadBalancer" {
                out.insert("services.loadbalancers".into(), Quantity::count(1));
            }
            if matches!(kind, "NodePort" | "LoadBalancer") {
                let ports = object
                    .pointer("/spec/ports")
                    .and_then(Value::as_array)
                    .map_or(0, Vec::len);
                out.insert(
                    "services.nodeports".into(),
                    Quantity::count(i64::try_from(ports).unwrap_or(i64::MAX)),
                );
            }
        }
        "persistentvolumeclaims" => {
            let storage = object
                .pointer("/spec/resources/requests/storage")
                .and_then(Value::as_str)
                .and_then(|s| s.parse::<Quantity>().ok());
            let class = object
                .pointer("/spec/storageClassName")
                .and_then(Value::as_str);
            if let Some(storage) = storage {
                out.insert("requests.storage".into(), storage);
                if let Some(class) = class {
                    out.insert(
                        format!("{class}.storageclass.storage.k8s.io/requests.storage"),
                        storage,
                    );
                }
            }
            if let Some(class) = class {
                out.insert(
                    format!("{class}.storageclass.storage.k8s.io/persistentvolumeclaims"),
                    Quantity::count(1),
                );
            }
        }
        _ => {}
    }
    out
}

/// Whether a pod counts against quota: not finished, and not past its deletion grace period.
fn pod_counts(pod: &Value) -> bool {
    let phase = pod.pointer("/status/phase").and_then(Value::as_str);
    if matches!(phase, Some("Succeeded" | "Failed")) {
        return false;
    }
    // A pod marked for deletion with a zero grace period is gone as far as quota is concerned;
    // one still in its grace period counts (upstream compares against the clock; a controller
    // that recomputes later sees it gone).
    !(pod.pointer("/metadata/deletionTimestamp").is_some()
        && pod
            .pointer("/metadata/deletionGracePeriodSeconds")
            .and_then(Value::as_i64)
            == Some(0))
}

/// A container's requests and limits: requests default to limits where unset, as the API server's
/// defaulting does.
fn container_resources(container: &Value) -> (ResourceList, ResourceList) {
    let limits = parse_list(container.pointer("/resources/limits"));
    let mut requests = parse_list(container.pointer("/resources/requests"));
    for (name, limit) in &limits {
        requests.entry(name.clone()).or_insert(*limit);
    }
    (requests, limits)
}

fn add_into(total: &mut ResourceList, more: &ResourceList) {
    for (name, q) in more {
        let sum = total.get(name).map_or(*q, |existing| existing.add(q));
        total.insert(name.clone(), sum);
    }
}

fn max_into(total: &mut ResourceList, other: &ResourceList) {
    for (name, q) in other {
        let larger = total.get(name).map_or(*q, |existing| (*existing).max(*q));
        total.insert(name.clone(), larger);
    }
}

/// The pod's effective requests and limits: the larger of the regular containers' sum (with
/// sidecars) and each init container's needs (with the sidecars started before it), plus overhead.
fn pod_resources(pod: &Value) -> (ResourceList, ResourceList) {
    let containers = |field: &str| {
        pod.pointer(&format!("/spec/{field}"))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let (mut requests, mut limits) = (ResourceList::new(), ResourceList::new());
    for container in containers("containers") {
        let (r, l) = container_resources(&container);
        add_into(&mut requests, &r);
        add_into(&mut limits, &l);
    }
    let (mut sidecar_requests, mut sidecar_limits) = (ResourceList::new(), ResourceList::new());
    let (mut init_requests, mut init_limits) = (ResourceList::new(), ResourceList::new());
    for container in containers("initContainers") {
        let (r, l) = container_resources(&container);
        if container.get("restartPolicy").and_then(Value::as_str) == Some("Always") {
            add_into(&mut requests, &r);
            add_into(&mut limits, &l);
            add_into(&mut sidecar_requests, &r);
            add_into(&mut sidecar_limits, &l);
        } else {
            let mut r = r;
            let mut l = l;
            add_into(&mut r, &sidecar_requests);
            add_into(&mut l, &sidecar_limits);
            max_into(&mut init_requests, &r);
            max_into(&mut init_limits, &l);
        }
    }
    max_into(&mut requests, &init_requests);
    max_into(&mut limits, &init_limits);
    let overhead = parse_list(pod.pointer("/spec/overhead"));
    add_into(&mut requests, &overhead);
    for (name, q) in &overhead {
        if let Some(limit) = limits.get(name) {
            limits.insert(name.clone(), limit.add(q));
        }
    }
    (requests, limits)
}

fn add_pod_compute(pod: &Value, out: &mut ResourceList) {
    let (requests, limits) = pod_resources(pod);
    for (name, q) in &requests {
        if COMPUTE.contains(&name.as_str()) {
            out.insert(name.clone(), *q);
            out.insert(format!("requests.{name}"), *q);
        } else if name.starts_with("hugepages-") || name.contains('/') {
            // Extended resources and huge pages cannot be overcommitted: only requests count.
            out.insert(format!("requests.{name}"), *q);
        }
    }
    for (name, q) in &limits {
        if COMPUTE.contains(&name.as_str()) {
            out.insert(format!("limits.{name}"), *q);
        }
    }
}

/// Whether every container sets no cpu or memory requests or limits (QoS class BestEffort).
fn is_best_effort(pod: &Value) -> bool {
    let all = ["containers", "initContainers"]
        .into_iter()
        .flat_map(|field| {
            pod.pointer(&format!("/spec/{field}"))
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
        });
    all.into_iter().all(|c| {
        let (requests, limits) = container_resources(&c);
        !["cpu", "memory"]
            .iter()
            .any(|r| requests.contains_key(*r) || limits.contains_key(*r))
    })
}

/// A quota's scope requirements: `spec.scopes` (each an `Exists`) and
/// `spec.scopeSelector.matchExpressions`, as (scope, operator, values).
fn scope_requirements(quota: &Value) -> Vec<(String, String, Vec<String>)> {
    let mut out: Vec<(String, String, Vec<String>)> = quota
        .pointer("/spec/scopes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(|scope| (scope.to_owned(), "Exists".to_owned(), Vec::new()))
        .collect();
    for expression in quota
        .pointer("/spec/scopeSelector/matchExpressions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let text = |field: &str| {
            expression
                .get(field)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let values = expression
            .get("values")
            .and_then(Value::as_array)
            .map(|v| {
                v.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        out.push((text("scopeName"), text("operator"), values));
    }
    out
}

/// Whether an object of `resource` in `group` falls under `quota`'s scopes (an unscoped quota
/// covers everything; scoped quotas cover only pods).
pub fn in_scope(quota: &Value, group: &str, resource: &str, object: &Value) -> bool {
    let requirements = scope_requirements(quota);
    if requirements.is_empty() {
        return true;
    }
    let is_pod = group.is_empty() && resource == "pods";
    requirements.iter().all(|(scope, operator, values)| {
        if !is_pod && POD_SCOPES.contains(&scope.as_str()) {
            return false;
        }
        let terminating = object
            .pointer("/spec/activeDeadlineSeconds")
            .and_then(Value::as_i64)
            .is_some_and(|s| s >= 0);
        let holds = match scope.as_str() {
            "Terminating" => terminating,
            "NotTerminating" => !terminating,
            "BestEffort" => is_best_effort(object),
            "NotBestEffort" => !is_best_effort(object),
            "CrossNamespacePodAffinity" => has_cross_namespace_affinity(object),
            "PriorityClass" => {
                let class = object
                    .pointer("/spec/priorityClassName")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                return match operator.as_str() {
                    "In" => values.iter().any(|v| v == class),
                    "NotIn" => !values.iter().any(|v| v == class),
                    "Exists" => true,
                    "DoesNotExist" => class.is_empty(),
                    _ => false,
                };
            }
            _ => false,
        };
        match operator.as_str() {
            "DoesNotExist" => !holds,
            _ => holds,
        }
    })
}

fn has_cross_namespace_affinity(pod: &Value) -> bool {
    ["podAffinity", "podAntiAffinity"].iter().any(|kind| {
        let Some(affinity) = pod.pointer(&format!("/spec/affinity/{kind}")) else {
            return false;
        };
        [
            "requiredDuringSchedulingIgnoredDuringExecution",
            "preferredDuringSchedulingIgnoredDuringExecution",
        ]
        .iter()
        .flat_map(|field| {
            affinity
                .get(*field)
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
        })
        .any(|term| {
            let term = term.get("podAffinityTerm").unwrap_or(&term);
            term.get("namespaceSelector").is_some()
                || term
                    .get("namespaces")
                    .and_then(Value::as_array)
                    .is_some_and(|n| !n.is_empty())
        })
    })
}

/// The names of `usage` that `hard` constrains.
pub fn constrained<'a>(hard: &'a ResourceList, usage: &'a ResourceList) -> Vec<&'a str> {
    usage
        .keys()
        .filter(|name| hard.contains_key(*name))
        .map(String::as_str)
        .collect()
}

/// The cpu and memory requests and limits `hard` constrains that a pod's containers leave unset:
/// upstream refuses such pods (`must specify limits.cpu for: app; requests.memory for: app`).
/// Empty when the pod may be admitted.
pub fn missing_compute(hard: &ResourceList, pod: &Value) -> String {
    let containers: Vec<Value> = ["initContainers", "containers"]
        .iter()
        .flat_map(|field| {
            pod.pointer(&format!("/spec/{field}"))
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
        })
        .collect();
    let mut parts = Vec::new();
    for name in hard.keys() {
        let validated = ["cpu", "memory"];
        let (kind, resource) = match name.split_once('.') {
            Some(("requests", resource)) if validated.contains(&resource) => ("requests", resource),
            Some(("limits", resource)) if validated.contains(&resource) => ("limits", resource),
            None if validated.contains(&name.as_str()) => ("requests", name.as_str()),
            _ => continue,
        };
        let mut missing: Vec<&str> = containers
            .iter()
            .filter(|c| {
                let (requests, limits) = container_resources(c);
                let list = if kind == "requests" { requests } else { limits };
                !list.contains_key(resource)
            })
            .filter_map(|c| c.get("name").and_then(Value::as_str))
            .collect();
        missing.sort_unstable();
        missing.dedup();
        if !missing.is_empty() {
            parts.push(format!("{name} for: {}", missing.join(",")));
        }
    }
    parts.join("; ")
}

/// Upstream's `prettyPrint`: `name=quantity` pairs sorted by name, comma-separated.
pub fn pretty(list: &ResourceList) -> String {
    list.iter()
        .map(|(name, q)| format!("{name}={q}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// `list` restricted to `names`.
pub fn mask(list: &ResourceList, names: &[&str]) -> ResourceList {
    list.iter()
        .filter(|(name, _)| names.contains(&name.as_str()))
        .map(|(name, q)| (name.clone(), *q))
        .collect()
}

/// `status.used` for `hard` from per-object usages: every hard name, zero when nothing uses it.
pub fn total<'a>(
    hard: &ResourceList,
    usages: impl IntoIterator<Item = &'a ResourceList>,
) -> ResourceList {
    let mut used: ResourceList = hard
        .keys()
        .map(|name| (name.clone(), Quantity::zero(Format::DecimalSi)))
        .collect();
    for usage in usages {
        for (name, q) in usage {
            if let Some(sum) = used.get_mut(name) {
                *sum = sum.add(q);
            }
        }
    }
    used
}

/// The resources (group, plural) whose objects `hard` counts: what the quota controller lists.
pub fn tracked_resources(hard: &ResourceList) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut add = |group: &str, resource: &str| {
        let entry = (group.to_owned(), resource.to_owned());
        if !out.contains(&entry) {
            out.push(entry);
        }
    };
    for name in hard.keys() {
        if let Some(counted) = name.strip_prefix("count/") {
            match counted.split_once('.') {
                Some((resource, group)) => add(group, resource),
                None => add("", counted),
            }
            continue;
        }
        match name.as_str() {
            "pods" | "cpu" | "memory" | "ephemeral-storage" => add("", "pods"),
            "services" | "services.nodeports" | "services.loadbalancers" => add("", "services"),
            "configmaps"
            | "secrets"
            | "replicationcontrollers"
            | "resourcequotas"
            | "persistentvolumeclaims" => add("", name),
            "requests.storage" => add("", "persistentvolumeclaims"),
            _ if name.starts_with("requests.") || name.starts_with("limits.") => add("", "pods"),
            _ if name.contains(".storageclass.storage.k8s.io/") => {
                add("", "persistentvolumeclaims");
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;

    fn names(list: &ResourceList) -> Vec<String> {
        list.iter().map(|(n, q)| format!("{n}={q}")).collect()
    }

    #[test]
    fn pods_use_their_requests_limits_and_counts() {
        let pod = json!({"spec": {
            "containers": [
                {"name": "a", "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"cpu": "1"}}},
                {"name": "b", "resources": {"limits": {"cpu": "250m", "example.com/gpu": "2"}}}
            ],
            "initContainers": [{"name": "i", "resources": {"requests": {"cpu": "2"}}}]
        }});
        assert_eq!(
            names(&usage("", "pods", &pod)),
            [
                "count/pods=1",
                "cpu=2",
                "limits.cpu=1250m",
                "memory=1Gi",
                "pods=1",
                "requests.cpu=2",
                "requests.example.com/gpu=2",
                "requests.memory=1Gi",
            ]
        );
        let finished = json!({"status": {"phase": "Succeeded"}, "spec": {"containers": []}});
        assert!(usage("", "pods", &finished).is_empty());
    }

    #[test]
    fn other_kinds_count() {
        assert_eq!(
            names(&usage("", "configmaps", &json!({}))),
            ["configmaps=1", "count/configmaps=1"]
        );
        assert_eq!(
            names(&usage("apps", "replicasets", &json!({}))),
            ["count/replicasets.apps=1"]
        );
        let service = json!({"spec": {"type": "NodePort", "ports": [{"port": 80}, {"port": 443}]}});
        assert_eq!(
            names(&usage("", "services", &service)),
            ["count/services=1", "services=1", "services.nodeports=2"]
        );
    }

    #[test]
    fn scopes_select_pods() {
        let best_effort = json!({"spec": {"containers": [{"name": "a"}]}});
        let burstable = json!({"spec": {"containers": [{"name": "a", "resources": {"requests": {"cpu": "1"}}}]}});
        let terminating =
            json!({"spec": {"activeDeadlineSeconds": 60, "containers": [{"name": "a"}]}});
        let quota = |scope: &str| json!({"spec": {"scopes": [scope]}});
        assert!(in_scope(&quota("BestEffort"), "", "pods", &best_effort));
        assert!(!in_scope(&quota("BestEffort"), "", "pods", &burstable));
        assert!(in_scope(&quota("NotBestEffort"), "", "pods", &burstable));
        assert!(in_scope(&quota("Terminating"), "", "pods", &terminating));
        assert!(!in_scope(
            &quota("NotTerminating"),
            "",
            "pods",
            &terminating
        ));
        assert!(!in_scope(
            &quota("BestEffort"),
            "",
            "configmaps",
            &json!({})
        ));
        assert!(in_scope(&json!({"spec": {}}), "", "configmaps", &json!({})));
        let priority = json!({"spec": {"scopeSelector": {"matchExpressions": [
            {"scopeName": "PriorityClass", "operator": "In", "values": ["high"]}]}}});
        let high = json!({"spec": {"priorityClassName": "high", "containers": []}});
        assert!(in_scope(&priority, "", "pods", &high));
        assert!(!in_scope(&priority, "", "pods", &best_effort));
    }

    #[test]
    fn totals_missing_compute_and_texts() {
        let hard: ResourceList = [
            ("pods".to_owned(), Quantity::count(2)),
            ("requests.cpu".to_owned(), "1".parse().unwrap()),
        ]
        .into_iter()
        .collect();
        let a = usage(
            "",
            "pods",
            &json!({"spec": {"containers": [{"name": "a", "resources": {"requests": {"cpu": "300m"}}}]}}),
        );
        let total = total(&hard, [&a, &a]);
        assert_eq!(pretty(&total), "pods=2,requests.cpu=600m");
        assert_eq!(pretty(&mask(&total, &["pods"])), "pods=2");
        let bare = json!({"spec": {"containers": [{"name": "app"}]}});
        assert_eq!(missing_compute(&hard, &bare), "requests.cpu for: app");
        assert_eq!(
            tracked_resources(&hard),
            [("".to_owned(), "pods".to_owned())]
        );
        let counted: ResourceList = [("count/deployments.apps".to_owned(), Quantity::count(1))]
            .into_iter()
            .collect();
        assert_eq!(
            tracked_resources(&counted),
            [("apps".to_owned(), "deployments".to_owned())]
        );
    }
}
