//! Printers of the remaining groups: networking, RBAC bindings, storage, scheduling, policy,
//! autoscaling, certificates, coordination, discovery, admission, flow control, node, resource
//! and storage migration.

use std::time::SystemTime;

use serde_json::{Value, json};

use super::format::{
    age, at, count, deleting, format_label_selector, go_label_selector, int, list, list_with_more,
    load_balancer, map, name, opt_bool, opt_int, opt_text, or, scalar, text,
};
use super::{AGE, Column, NAME, Printer, col, docs};

pub(super) fn printer(group: &str, kind: &str) -> Option<Printer> {
    let printer = match (group, kind) {
        ("networking.k8s.io", "Ingress") => Printer::new(ingress::columns, ingress::cells),
        ("networking.k8s.io", "IngressClass") => {
            Printer::new(ingress_class::columns, ingress_class::cells)
        }
        ("networking.k8s.io", "NetworkPolicy") => {
            Printer::new(network_policy::columns, network_policy::cells)
        }
        ("networking.k8s.io", "ServiceCIDR") => {
            Printer::new(service_cidr::columns, service_cidr::cells)
        }
        ("networking.k8s.io", "IPAddress") => Printer::new(ip_address::columns, ip_address::cells),
        ("discovery.k8s.io", "EndpointSlice") => {
            Printer::new(endpoint_slice::columns, endpoint_slice::cells)
        }
        ("rbac.authorization.k8s.io", "RoleBinding") => {
            Printer::new(role_binding::columns, role_binding::cells)
        }
        ("rbac.authorization.k8s.io", "ClusterRoleBinding") => {
            Printer::new(role_binding::cluster_columns, role_binding::cells)
        }
        ("storage.k8s.io", "StorageClass") => {
            Printer::new(storage_class::columns, storage_class::cells)
        }
        ("storage.k8s.io", "VolumeAttributesClass") => Printer::new(
            volume_attributes_class::columns,
            volume_attributes_class::cells,
        ),
        ("storage.k8s.io", "VolumeAttachment") => {
            Printer::new(volume_attachment::columns, volume_attachment::cells)
        }
        ("storage.k8s.io", "CSINode") => Printer::new(csi_node::columns, csi_node::cells),
        ("storage.k8s.io", "CSIDriver") => Printer::new(csi_driver::columns, csi_driver::cells),
        ("storage.k8s.io", "CSIStorageCapacity") => {
            Printer::new(csi_storage_capacity::columns, csi_storage_capacity::cells)
        }
        ("scheduling.k8s.io", "PriorityClass") => {
            Printer::new(priority_class::columns, priority_class::cells)
        }
        ("node.k8s.io", "RuntimeClass") => {
            Printer::new(runtime_class::columns, runtime_class::cells)
        }
        ("policy", "PodDisruptionBudget") => {
            Printer::new(pod_disruption_budget::columns, pod_disruption_budget::cells)
        }
        ("autoscaling", "HorizontalPodAutoscaler") => Printer::new(
            horizontal_pod_autoscaler::columns,
            horizontal_pod_autoscaler::cells,
        ),
        ("autoscaling", "Scale") => Printer::new(scale::columns, scale::cells),
        ("certificates.k8s.io", "CertificateSigningRequest") => Printer::new(
            certificate_signing_request::columns,
            certificate_signing_request::cells,
        ),
        ("certificates.k8s.io", "ClusterTrustBundle") => {
            Printer::new(cluster_trust_bundle::columns, cluster_trust_bundle::cells)
        }
        ("coordination.k8s.io", "Lease") => Printer::new(lease::columns, lease::cells),
        ("admissionregistration.k8s.io", "MutatingWebhookConfiguration")
        | ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration") => {
            Printer::new(webhook_configuration::columns, webhook_configuration::cells)
        }
        ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy") => Printer::new(
            admission_policy::validating_columns,
            admission_policy::validating_cells,
        ),
        ("admissionregistration.k8s.io", "MutatingAdmissionPolicy") => Printer::new(
            admission_policy::mutating_columns,
            admission_policy::mutating_cells,
        ),
        ("admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding")
        | ("admissionregistration.k8s.io", "MutatingAdmissionPolicyBinding") => Printer::new(
            admission_policy::binding_columns,
            admission_policy::binding_cells,
        ),
        ("flowcontrol.apiserver.k8s.io", "FlowSchema") => Printer {
            sort: Some(flow_schema::order),
            ..Printer::new(flow_schema::columns, flow_schema::cells)
        },
        ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration") => Printer::new(
            priority_level_configuration::columns,
            priority_level_configuration::cells,
        ),
        ("resource.k8s.io", "DeviceClass" | "ResourceClaimTemplate") => {
            Printer::new(name_age::columns, name_age::cells)
        }
        ("resource.k8s.io", "ResourceClaim") => {
            Printer::new(resource_claim::columns, resource_claim::cells)
        }
        ("resource.k8s.io", "ResourceSlice") => {
            Printer::new(resource_slice::columns, resource_slice::cells)
        }
        ("storagemigration.k8s.io", "StorageVersionMigration") => Printer::new(
            storage_version_migration::columns,
            storage_version_migration::cells,
        ),
        _ => return None,
    };
    Some(printer)
}

// === networking ===

pub(super) mod ingress {
    use super::*;

    static COLUMNS: &[Column] = &[
        NAME,
        col(
            "Class",
            "string",
            "The name of the IngressClass resource that should be used for additional configuration",
        ),
        col(
            "Hosts",
            "string",
            "Hosts that incoming requests are matched against before the ingress rule",
        ),
        col(
            "Address",
            "string",
            "Address is a list containing ingress points for the load-balancer",
        ),
        col("Ports", "string", "Ports of TLS configurations that open"),
        AGE,
    ];

    pub fn columns() -> &'static [Column] {
        COLUMNS
    }

    /// `formatHosts`: up to three hosts, `*` when no rule names one.
    fn hosts(ingress: &Value) -> String {
        let rules = list(ingress, &["spec", "rules"]);
        const MAX: usize = 3;
        let mut hosts: Vec<&str> = Vec::new();
        let mut more = false;
        for rule in rules {
            if hosts.len() == MAX {
                more = true;
            }
            let host = text(rule, &["host"]);
            if !more && !host.is_empty() {
                hosts.push(host);
            }
        }
        if hosts.is_empty() {
            return "*".to_owned();
        }
        let joined = hosts.join(",");
        if more {
            format!("{joined} + {} more...", rules.len() - MAX)
        } else {
            joined
        }
    }

    pub fn cells(ingress: &Value, now: SystemTime) -> Vec<Value> {
        let ports = if list(ingress, &["spec", "tls"]).is_empty() {
            "80"
        } else {
            "80, 443"
        };
        vec![
            name(ingress),
            json!(opt_text(ingress, &["spec", "ingressClassName"]).unwrap_or("<none>")),
            json!(hosts(ingress)),
            json!(load_balancer(at(ingress, &["status", "loadBalancer"]))),
            json!(ports),
            age(ingress, now),
        ]
    }
}

pub(super) mod ingress_class {
    use super::*;

    static COLUMNS: &[Column] = &[
        NAME,
        col(
            "Controller",
            "string",
            "Controller that is responsible for handling this class",
        ),
        col(
            "Parameters",
            "string",
            "A reference to a resource with additional parameters",
        ),
        AGE,
    ];

    pub fn columns() -> &'static [Column] {
        COLUMNS
    }

    pub fn cells(class: &Value, now: SystemTime) -> Vec<Value> {
        let parameters = match at(class, &["spec", "parameters"]) {
            Some(p) => {
                let mut kind = text(p, &["kind"]).to_owned();
                if let Some(group) = opt_text(p, &["apiGroup"]) {
                    kind = format!("{kind}.{group}");
                }
                format!("{kind}/{}", text(p, &["name"]))
            }
            None => "<none>".to_owned(),
        };
        vec![
            name(class),
            json!(text(class, &["spec", "controller"])),
            json!(parameters),
            age(class, now),
        ]
    }
}

pub(super) mod network_policy {
    use super::*;

    static COLUMNS: &[Column] = &[
        NAME,
        col("Pod-Selector", "string", docs::NETPOL_POD_SELECTOR),
        AGE,
    ];

    pub fn columns() -> &'static [Column] {
        COLUMNS
    }

    pub fn cells(policy: &Value, now: SystemTime) -> Vec<Value> {
        // The pod selector is a struct upstream, never nil: an absent one selects everything.
        let empty = json!({});
        let selector = at(policy, &["spec", "podSelector"]).unwrap_or(&empty);
        vec![
            name(policy),
            json!(format_label_selector(Some(selector))),
            age(policy, now),
        ]
    }
}

pub(super) mod service_cidr {
    use super::*;

    static COLUMNS: &[Column] = &[NAME, col("CIDRs", "string", docs::SCIDR_CIDRS), AGE];

    pub fn columns() -> &'static [Column] {
        COLUMNS
    }

    pub fn cells(object: &Value, now: SystemTime) -> Vec<Value> {
        let cidrs: Vec<&str> = list(object, &["spec", "cidrs"])
            .iter()
            .filter_map(Value::as_str)
            .collect();
        vec![name(object), json!(cidrs.join(",")), age(object, now)]
    }
}

pub(super) mod ip_address {
    use super::*;

    static COLUMNS: &[Column] = &[NAME, col("ParentRef", "string", docs::IPADDR_PARENT)];

    pub fn columns() -> &'static [Column] {
        COLUMNS
    }

    /// Upstream appends the age although the table has no Age column; so do we.
    pub fn cells(object: &Value, now: SystemTime) -> Vec<Value> {
        let parent = match at(object, &["spec", "parentRef"]) {
            Some(p) => {
                let resource = text(p, &["resource"]);
                let mut s = match text(p, &["group"]) {
                    "" => resource.to_lowercase(),
                    group => format!("{resource}.{group}").to_lowercase(),
                };
                let namespace = text(p, &["namespace"]);
                if !namespace.is_empty() {
                    s = format!("{s}/{namespace}");
                }
                format!("{s}/{}", text(p, &["name"]))
            }
            None => "<none>".to_owned(),
        };
        vec![name(object), json!(parent), age(object, now)]
    }
}

pub(super) mod endpoint_slice {
    use super::*;

    static COLUMNS: &[Column] = &[
        NAME,
        col("AddressType", "string", docs::EPS_ADDRESS_TYPE),
        col("Ports", "string", docs::EPS_PORTS),
        col("Endpoints", "string", docs::EPS_ENDPOINTS),
        AGE,
    ];

    pub fn columns() -> &'static [Column] {
        COLUMNS
    }

    pub fn cells(slice: &Value, now: SystemTime) -> Vec<Value> {
        let ports: Vec<String> = list(slice, &["ports"])
            .iter()
            .map(|p| match (opt_int(p, &["port"]), opt_text(p, &["name"])) {
                (Some(port), _) => port.to_string(),
                (None, Some(name)) => name.to_owned(),
                (None, None) => "*".to_owned(),
            })
            .collect();
        let addresses: Vec<String> = list(slice, &["endpoints"])
            .iter()
            .flat_map(|e| list(e, &["addresses"]))
            .map(|a| a.as_str().unwrap_or("").to_owned())
            .collect();
        vec![
            name(slice),
            json!(text(slice, &["addressType"])),
            json!(list_with_more(&ports, 3)),
            json!(list_with_more(&addresses, 3)),
            age(slice, now),
        ]
    }
}

// === RBAC ===

pub(super) mod role_binding {
    use super::*;
    use crate::rest::table::wide;

    static COLUMNS: &[Column] = &[
        NAME,
        col("Role", "string", docs::RB_ROLE_REF),
        AGE,
        wide("Users", "string", "Users in the roleBinding"),
        wide("Groups", "string", "Groups in the roleBinding"),
        wide(
            "ServiceAccounts",
            "string",
            "ServiceAccounts in the roleBinding",
        ),
    ];
    static CLUSTER_COLUMNS: &[Column] = &[
        NAME,
        col("Role", "string", docs::CRB_ROLE_REF),
        AGE,
        wide("Users", "string", "Users in the clusterRoleBinding"),
        wide("Groups", "string", "Groups in the clusterRoleBinding"),
        wide(
            "ServiceAccounts",
            "string",
            "ServiceAccounts in the clusterRoleBinding",
        ),
    ];

    pub fn columns() -> &'static [Column] {
        COLUMNS
    }

    pub fn cluster_columns() -> &'static [Column] {
        CLUSTER_COLUMNS
    }

    /// `rbac.SubjectsStrings`: users, groups and `namespace/name` service accounts.
    pub fn cells(binding: &Value, now: SystemTime) -> Vec<Value> {
        let mut users = Vec::new();
        let mut groups = Vec::new();
        let mut service_accounts = Vec::new();
        for subject in list(binding, &["subjects"]) {
            let name = text(subject, &["name"]);
            match text(subject, &["kind"]) {
                "ServiceAccount" => {
                    service_accounts.push(format!("{}/{name}", text(subject, &["namespace"])))
                }
                "User" => users.push(name.to_owned()),
                "Group" => groups.push(name.to_owned()),
                _ => {}
            }
        }
        vec![
            name(binding),
            json!(format!(
                "{}/{}",
                text(binding, &["roleRef", "kind"]),
                text(binding, &["roleRef", "name"])
            )),
            age(binding, now),
            json!(users.join(", ")),
            json!(groups.join(", ")),
            json!(service_accounts.join(", ")),
        ]
    }
}

// === storage ===

/// `storageutil.IsDefaultAnnotation`: GA or beta default-class annotation set to `true`.
fn is_default_class(object: &Value) -> bool {
    map(object, &["metadata", "annotations"]).is_some_and(|a| {
        [
            "storageclass.kubernetes.io/is-default-class",
            "storageclass.beta.kubernetes.io/is-default-class",
        ]
        .iter()
        .any(|key| a.get(*key).and_then(Value::as_str) == Some("true"))
    })
}

pub(super) mod storage_class {
    use super::*;

    static COLUMNS: &[Column] = &[
        NAME,
        col("Provisioner", "string", docs::SC_PROVISIONER),
        col("ReclaimPolicy", "string", docs::SC_RECLAIM),
        col("VolumeBindingMode", "string", docs::SC_BINDING_MODE),
        col("AllowVolumeExpansion", "string", docs::SC_EXPANSION),
        AGE,
    ];

    pub fn columns() -> &'static [Column] {
        COLUMNS
    }

    pub fn cells(class: &Value, now: SystemTime) -> Vec<Value> {
        let mut shown = text(class, &["metadata", "name"]).to_owned();
        if is_default_class(class) {
            shown.push_str(" (default)");
        }
        vec![
            json!(shown),
            json!(text(class, &["provisioner"])),
            json!(opt_text(class, &["reclaimPolicy"]).unwrap_or("Delete")),
            json!(opt_text(class, &["volumeBindingMode"]).unwrap_or("Immediate")),
            json!(opt_bool(class, &["allowVolumeExpansion"]).unwrap_or(false)),
            age(class, now),
        ]
    }
}

pub(super) mod volume_attributes_class {
    use super::*;

    static COLUMNS: &[Column] = &[NAME, col("DriverName", "string", docs::VAC_DRIVER), AGE];

    pub fn columns() -> &'static [Column] {
        COLUMNS
    }

    pub fn cells(class: &Value, now: SystemTime) -> Vec<Value> {
        vec![
            name(class),
            json!(text(class, &["driverName"])),
            age(class, now),
        ]
    }
}

pub(super) mod volume_attachment {
    use super::*;

    static COLUMNS: &[Column] = &[
        NAME,
        Column {
            format: "name",
            ..col("Attacher", "string", docs::VA_ATTACHER)
        },
        col("PV", "string", docs::VA_PV),
        col("Node", "string", docs::VA_NODE),
        col("Attached", "boolean", docs::VA_ATTACHED),
        AGE,
    ];

    pub fn columns() -> &'static [Column] {
        COLUMNS
    }

    pub fn cells(object: &Value, now: SystemTime) -> Vec<Value> {
        vec![
            name(object),
            json!(text(object, &["spec", "attacher"])),
            json!(text(object, &["spec", "source", "persistentVolumeName"])),
            json!(text(object, &["spec", "nodeName"])),
            json!(opt_bool(object, &["status", "attached"]).unwrap_or(false)),
            age(object, now),
        ]
    }
}

pub(super) mod csi_node {
    use super::*;

    static COLUMNS: &[Column] = &[
        NAME,
        col(
            "Drivers",
            "integer",
            "Drivers indicates the number of CSI drivers registered on the node",
        ),
        AGE,
    ];

    pub fn columns() -> &'static [Column] {
        COLUMNS
    }

    pub fn cells(object: &Value, now: SystemTime) -> Vec<Value> {
        vec![
            name(object),
            json!(count(object, &["spec", "drivers"])),
            age(object, now),
        ]
    }
}

pub(super) mod csi_driver {
    use super::*;

    static COLUMNS: &[Column] = &[
        NAME,
        col("AttachRequired", "boolean", docs::CSID_ATTACH),
        col("PodInfoOnMount", "boolean", docs::CSID_POD_INFO),
        col("StorageCapacity", "boolean", docs::CSID_CAPACITY),
        col("TokenRequests", "string", docs::CSID_TOKENS),
        col("RequiresRepublish", "boolean", docs::CSID_REPUBLISH),
        col("Modes", "string", docs::CSID_MODES),
        AGE,
    ];

    pub fn columns() -> &'static [Column] {
        COLUMNS
    }

    pub fn cells(driver: &Value, now: SystemTime) -> Vec<Value> {
        let flag = |field: &str, default: bool| {
            json!(opt_bool(driver, &["spec", field]).unwrap_or(default))
        };
        let modes: Vec<&str> = list(driver, &["spec", "volumeLifecycleModes"])
            .iter()
            .filter_map(Value::as_str)
            .collect();
        let tokens = match at(driver, &["spec", "tokenRequests"]).and_then(Value::as_array) {
            Some(requests) => requests
                .iter()
                .map(|t| text(t, &["audience"]))
                .collect::<Vec<_>>()
                .join(","),
            None => "<unset>".to_owned(),
        };
        let modes = modes.join(",");
        vec![
            name(driver),
            flag("attachRequired", true),
            flag("podInfoOnMount", false),
            flag("storageCapacity", false),
            json!(tokens),
            flag("requiresRepublish", false),
            json!(or(&modes, "<none>")),
            age(driver, now),
        ]
    }
}

pub(super) mod csi_storage_capacity {
    use super::*;

    static COLUMNS: &[Column] = &[
        NAME,
        col("StorageClassName", "string", docs::CSISC_CLASS),
        col("Capacity", "string", docs::CSISC_CAPACITY),
    ];

    pub fn columns() -> &'static [Column] {
        COLUMNS
    }

    pub fn cells(object: &Value, _now: SystemTime) -> Vec<Value> {
        vec![
            name(object),
            json!(text(object, &["storageClassName"])),
            json!(scalar(at(object, &["capacity"])).unwrap_or_else(|| "<unset>".into())),
        ]
    }
}

// === scheduling, node, policy, autoscaling ===

pub(super) mod priority_class {
    use super::*;

    static COLUMNS: &[Column] = &[
        NAME,
        col("Value", "integer", docs::PC_VALUE),
        col("Global-Default", "boolean", docs::PC_GLOBAL_DEFAULT),
        AGE,
        col("PreemptionPolicy", "string", docs::PC_PREEMPTION),
    ];

    pub fn columns() -> &'static [Column] {
        COLUMNS
    }

    pub fn cells(class: &Value, now: SystemTime) -> Vec<Value> {
        vec![
            name(class),
            json!(int(class, &["value"])),
            json!(opt_bool(class, &["globalDefault"]).unwrap_or(false)),
            age(class, now),
            json!(text(class, &["preemptionPolicy"])),
        ]
    }
}

pub(super) mod runtime_class {
    use super::*;

    // Upstream looks the description up in ObjectMeta's docs, which have no `handler`: empty.
    static COLUMNS: &[Column] = &[NAME, col("Handler", "string", ""), AGE];

    pub fn columns() -> &'static [Column] {
        COLUMNS
    }

    pub fn cells(class: &Value, now: SystemTime) -> Vec<Value> {
        vec![
            name(class),
            json!(text(class, &["handler"])),
            age(class, now),
        ]
    }
}

pub(super) mod pod_disruption_budget {
    use super::*;

    static COLUMNS: &[Column] = &[
        NAME,
        col(
            "Min Available",
            "string",
            "The minimum number of pods that must be available.",
        ),
        col(
            "Max Unavailable",
            "string",
            "The maximum number of pods that may be unavailable.",
        ),
        col(
            "Allowed Disruptions",
            "integer",
            "Calculated number of pods that may be disrupted at this time.",
        ),
        AGE,
    ];

    pub fn columns() -> &'static [Column] {
        COLUMNS
    }

    pub fn cells(pdb: &Value, now: SystemTime) -> Vec<Value> {
        let bound =
            |field: &str| json!(scalar(at(pdb, &["spec", field])).unwrap_or_else(|| "N/A".into()));
        vec![
            name(pdb),
            bound("minAvailable"),
            bound("maxUnavailable"),
            json!(int(pdb, &["status", "disruptionsAllowed"])),
            age(pdb, now),
        ]
    }
}

pub(super) mod horizontal_pod_autoscaler {
    use super::*;

    static COLUMNS: &[Column] = &[
        NAME,
        col("Reference", "string", docs::HPA_REFERENCE),
        col("Targets", "string", docs::HPA_METRICS),
        col("MinPods", "string", docs::HPA_MIN),
        col("MaxPods", "string", docs::HPA_MAX),
        col("Replicas", "string", docs::HPA_CURRENT),
        AGE,
    ];

    pub fn columns() -> &'static [Column] {
        COLUMNS
    }

    fn quantity(value: Option<&Value>) -> String {
        scalar(value).unwrap_or_else(|| "<unknown>".to_owned())
    }

    /// One `Targets` entry of an autoscaling/v2 metric and its status.
    fn metric(spec: &Value, status: Option<&Value>) -> String {
        let unknown = || "<unknown>".to_owned();
        let kind = text(spec, &["type"]);
        // The field of the spec and status holding this metric's source.
        let field = match kind {
            "External" => "external",
            "Pods" => "pods",
            "Object" => "object",
            "Resource" => "resource",
            "ContainerResource" => "containerResource",
            _ => return "<unknown type>".to_owned(),
        };
        let source = at(spec, &[field]).unwrap_or(&Value::Null);
        let current = status.and_then(|s| at(s, &[field]));
        let target_average = at(source, &["target", "averageValue"]);
        match kind {
            "External" | "Object" => match target_average {
                Some(target) => format!(
                    "{}/{} (avg)",
                    current
                        .and_then(|c| at(c, &["current", "averageValue"]))
                        .map_or_else(unknown, |v| quantity(Some(v))),
                    quantity(Some(target))
                ),
                None => format!(
                    "{}/{}",
                    current.map_or_else(unknown, |c| quantity(at(c, &["current", "value"]))),
                    quantity(at(source, &["target", "value"]))
                ),
            },
            "Pods" => format!(
                "{}/{}",
                current.map_or_else(unknown, |c| quantity(at(c, &["current", "averageValue"]))),
                quantity(target_average)
            ),
            _ => {
                let resource = text(source, &["name"]);
                match target_average {
                    Some(target) => format!(
                        "{resource}: {}/{}",
                        current.map_or_else(unknown, |c| quantity(at(
                            c,
                            &["current", "averageValue"]
                        ))),
                        quantity(Some(target))
                    ),
                    None => {
                        let current = current
                            .and_then(|c| opt_int(c, &["current", "averageUtilization"]))
                            .map_or_else(unknown, |u| format!("{u}%"));
                        let target = opt_int(source, &["target", "averageUtilization"])
                            .map_or_else(|| "<auto>".to_owned(), |u| format!("{u}%"));
                        format!("{resource}: {current}/{target}")
                    }
                }
            }
        }
    }

    /// `formatHPAMetrics`, over autoscaling/v2 metrics or the autoscaling/v1 CPU target.
    fn targets(hpa: &Value) -> String {
        let (specs, statuses): (Vec<Value>, Vec<Value>) = match opt_int(
            hpa,
            &["spec", "targetCPUUtilizationPercentage"],
        ) {
            Some(target) => {
                let spec = json!({"type": "Resource", "resource": {
                        "name": "cpu", "target": {"type": "Utilization", "averageUtilization": target}}});
                let status = match opt_int(hpa, &["status", "currentCPUUtilizationPercentage"]) {
                    Some(current) => vec![json!({"type": "Resource", "resource": {
                            "name": "cpu", "current": {"averageUtilization": current}}})],
                    None => vec![],
                };
                (vec![spec], status)
            }
            None => (
                list(hpa, &["spec", "metrics"]).to_vec(),
                list(hpa, &["status", "currentMetrics"]).to_vec(),
            ),
        };
        if specs.is_empty() {
            return "<none>".to_owned();
        }
        const MAX: usize = 2;
        let shown: Vec<String> = specs
            .iter()
            .enumerate()
            .take(MAX)
            .map(|(i, spec)| metric(spec, statuses.get(i)))
            .collect();
        let joined = shown.join(", ");
        if specs.len() > MAX {
            format!("{joined} + {} more...", specs.len() - MAX)
        } else {
            joined
        }
    }

    pub fn cells(hpa: &Value, now: SystemTime) -> Vec<Value> {
        vec![
            name(hpa),
            json!(format!(
                "{}/{}",
                text(hpa, &["spec", "scaleTargetRef", "kind"]),
                text(hpa, &["spec", "scaleTargetRef", "name"])
            )),
            json!(targets(hpa)),
            json!(
                opt_int(hpa, &["spec", "minReplicas"])
                    .map_or_else(|| "<unset>".to_owned(), |m| m.to_string())
            ),
            json!(int(hpa, &["spec", "maxReplicas"])),
            json!(int(hpa, &["status", "currentReplicas"])),
            age(hpa, now),
        ]
    }
}

/// The `autoscaling/v1` Scale of a scale subresource (`kubectl get deploy x --subresource=scale`).
pub(super) mod scale {
    use super::*;

    // Upstream's Name column here has no `name` format.
    static COLUMNS: &[Column] = &[
        col("Name", "string", super::super::NAME_DESCRIPTION),
        col(
            "Desired",
            "integer",
            "replicas is the desired number of instances for the scaled object.",
        ),
        col(
            "Available",
            "integer",
            "replicas is the actual number of observed instances of the scaled object.",
        ),
        AGE,
    ];

    pub fn columns() -> &'static [Column] {
        COLUMNS
    }

    pub fn cells(scale: &Value, now: SystemTime) -> Vec<Value> {
        vec![
            name(scale),
            json!(int(scale, &["spec", "replicas"])),
            json!(int(scale, &["status", "replicas"])),
            age(scale, now),
        ]
    }
}

// === certificates, coordination ===

pub(super) mod certificate_signing_request {
    use super::*;
    use crate::rest::table::format::human_duration;

    static COLUMNS: &[Column] = &[
        NAME,
        AGE,
        col("SignerName", "string", docs::CSR_SIGNER),
        col("Requestor", "string", docs::CSR_REQUEST),
        col("RequestedDuration", "string", docs::CSR_EXPIRATION),
        col("Condition", "string", docs::CSR_CONDITIONS),
    ];

    pub fn columns() -> &'static [Column] {
        COLUMNS
    }

    /// `extractCSRStatus`: Denied, Approved or Pending, then `,Failed` and `,Issued`.
    fn condition(csr: &Value) -> String {
        let has = |kind: &str| {
            list(csr, &["status", "conditions"])
                .iter()
                .any(|c| text(c, &["type"]) == kind)
        };
        let mut status = if has("Denied") {
            "Denied"
        } else if has("Approved") {
            "Approved"
        } else {
            "Pending"
        }
        .to_owned();
        if has("Failed") {
            status.push_str(",Failed");
        }
        if !text(csr, &["status", "certificate"]).is_empty() {
            status.push_str(",Issued");
        }
        status
    }

    pub fn cells(csr: &Value, now: SystemTime) -> Vec<Value> {
        let duration = opt_int(csr, &["spec", "expirationSeconds"]).map_or_else(
            || "<none>".to_owned(),
            |s| human_duration(i128::from(s) * 1_000_000_000),
        );
        vec![
            name(csr),
            age(csr, now),
            json!(or(text(csr, &["spec", "signerName"]), "<none>")),
            json!(text(csr, &["spec", "username"])),
            json!(duration),
            json!(condition(csr)),
        ]
    }
}

pub(super) mod cluster_trust_bundle {
    use super::*;

    static COLUMNS: &[Column] = &[NAME, col("SignerName", "string", docs::CTB_SIGNER)];

    pub fn columns() -> &'static [Column] {
        COLUMNS
    }

    pub fn cells(bundle: &Value, _now: SystemTime) -> Vec<Value> {
        vec![
            name(bundle),
            json!(or(text(bundle, &["spec", "signerName"]), "<none>")),
        ]
    }
}

pub(super) mod lease {
    use super::*;

    static COLUMNS: &[Column] = &[NAME, col("Holder", "string", docs::LEASE_HOLDER), AGE];

    pub fn columns() -> &'static [Column] {
        COLUMNS
    }

    pub fn cells(lease: &Value, now: SystemTime) -> Vec<Value> {
        vec![
            name(lease),
            json!(text(lease, &["spec", "holderIdentity"])),
            age(lease, now),
        ]
    }
}

// === admission ===

pub(super) mod webhook_configuration {
    use super::*;

    static COLUMNS: &[Column] = &[
        NAME,
        col(
            "Webhooks",
            "integer",
            "Webhooks indicates the number of webhooks registered in this configuration",
        ),
        AGE,
    ];

    pub fn columns() -> &'static [Column] {
        COLUMNS
    }

    pub fn cells(object: &Value, now: SystemTime) -> Vec<Value> {
        vec![
            name(object),
            json!(count(object, &["webhooks"])),
            age(object, now),
        ]
    }
}

pub(super) mod admission_policy {
    use super::*;

    const PARAM_KIND: Column = col(
        "ParamKind",
        "string",
        "ParamKind specifies the kind of resources used to parameterize this policy",
    );
    static VALIDATING: &[Column] = &[
        NAME,
        col(
            "Validations",
            "integer",
            "Validations indicates the number of validation rules defined in this configuration",
        ),
        PARAM_KIND,
        AGE,
    ];
    static MUTATING: &[Column] = &[
        NAME,
        col(
            "Mutations",
            "integer",
            "Mutation indicates the number of mutations rules defined in this configuration",
        ),
        PARAM_KIND,
        AGE,
    ];
    static BINDING: &[Column] = &[
        NAME,
        col(
            "PolicyName",
            "string",
            "PolicyName indicates the policy definition which the policy binding binded to",
        ),
        col(
            "ParamRef",
            "string",
            "ParamRef indicates the param resource which sets the configration param",
        ),
        AGE,
    ];

    pub fn validating_columns() -> &'static [Column] {
        VALIDATING
    }

    pub fn mutating_columns() -> &'static [Column] {
        MUTATING
    }

    pub fn binding_columns() -> &'static [Column] {
        BINDING
    }

    fn param_kind(policy: &Value) -> Value {
        json!(match at(policy, &["spec", "paramKind"]) {
            Some(kind) => format!("{}/{}", text(kind, &["apiVersion"]), text(kind, &["kind"])),
            None => "<unset>".to_owned(),
        })
    }

    fn policy_cells(policy: &Value, rules: &str, now: SystemTime) -> Vec<Value> {
        vec![
            name(policy),
            json!(count(policy, &["spec", rules])),
            param_kind(policy),
            age(policy, now),
        ]
    }

    pub fn validating_cells(policy: &Value, now: SystemTime) -> Vec<Value> {
        policy_cells(policy, "validations", now)
    }

    pub fn mutating_cells(policy: &Value, now: SystemTime) -> Vec<Value> {
        policy_cells(policy, "mutations", now)
    }

    pub fn binding_cells(binding: &Value, now: SystemTime) -> Vec<Value> {
        let param = match at(binding, &["spec", "paramRef"]) {
            Some(r) => {
                let name = text(r, &["name"]);
                let namespace = text(r, &["namespace"]);
                if !name.is_empty() {
                    if namespace.is_empty() {
                        format!("*/{name}")
                    } else {
                        format!("{namespace}/{name}")
                    }
                } else if let Some(selector) = at(r, &["selector"]) {
                    go_label_selector(selector)
                } else {
                    "<unset>".to_owned()
                }
            }
            None => "<unset>".to_owned(),
        };
        vec![
            name(binding),
            json!(text(binding, &["spec", "policyName"])),
            json!(param),
            age(binding, now),
        ]
    }
}

// === flow control ===

pub(super) mod flow_schema {
    use super::*;

    static COLUMNS: &[Column] = &[
        NAME,
        col("PriorityLevel", "string", docs::FS_PL),
        col("MatchingPrecedence", "string", docs::FS_PRECEDENCE),
        col("DistinguisherMethod", "string", docs::FS_DISTINGUISHER),
        AGE,
        col(
            "MissingPL",
            "string",
            "references a broken or non-existent PriorityLevelConfiguration",
        ),
    ];

    pub fn columns() -> &'static [Column] {
        COLUMNS
    }

    /// `FlowSchemaSequence`: by matching precedence, then name.
    pub fn order(a: &Value, b: &Value) -> std::cmp::Ordering {
        let key = |v: &Value| {
            (
                int(v, &["spec", "matchingPrecedence"]),
                text(v, &["metadata", "name"]).to_owned(),
            )
        };
        key(a).cmp(&key(b))
    }

    pub fn cells(schema: &Value, now: SystemTime) -> Vec<Value> {
        let dangling = list(schema, &["status", "conditions"])
            .iter()
            .find(|c| text(c, &["type"]) == "Dangling")
            .map_or("?", |c| text(c, &["status"]));
        vec![
            name(schema),
            json!(text(
                schema,
                &["spec", "priorityLevelConfiguration", "name"]
            )),
            json!(int(schema, &["spec", "matchingPrecedence"])),
            json!(opt_text(schema, &["spec", "distinguisherMethod", "type"]).unwrap_or("<none>")),
            age(schema, now),
            json!(dangling),
        ]
    }
}

pub(super) mod priority_level_configuration {
    use super::*;

    static COLUMNS: &[Column] = &[
        NAME,
        col("Type", "string", docs::PL_TYPE),
        col("NominalConcurrencyShares", "string", docs::PL_NCS),
        col("Queues", "string", docs::PL_QUEUES),
        col("HandSize", "string", docs::PL_HAND_SIZE),
        col("QueueLengthLimit", "string", docs::PL_QUEUE_LENGTH),
        AGE,
    ];

    pub fn columns() -> &'static [Column] {
        COLUMNS
    }

    pub fn cells(level: &Value, now: SystemTime) -> Vec<Value> {
        let none = || json!("<none>");
        let (shares, queues, hand_size, queue_length) = match at(level, &["spec", "limited"]) {
            Some(limited) => {
                let queuing = at(limited, &["limitResponse", "queuing"]);
                let q = |field: &str| queuing.map_or_else(none, |q| json!(int(q, &[field])));
                (
                    json!(int(limited, &["nominalConcurrencyShares"])),
                    q("queues"),
                    q("handSize"),
                    q("queueLengthLimit"),
                )
            }
            None => (none(), none(), none(), none()),
        };
        vec![
            name(level),
            json!(text(level, &["spec", "type"])),
            shares,
            queues,
            hand_size,
            queue_length,
            age(level, now),
        ]
    }
}

// === resource, storage migration ===

pub(super) mod name_age {
    use super::*;

    static COLUMNS: &[Column] = &[NAME, AGE];

    pub fn columns() -> &'static [Column] {
        COLUMNS
    }

    pub fn cells(object: &Value, now: SystemTime) -> Vec<Value> {
        vec![name(object), age(object, now)]
    }
}

pub(super) mod resource_claim {
    use super::*;

    static COLUMNS: &[Column] = &[
        NAME,
        col(
            "State",
            "string",
            "A summary of the current state (allocated, pending, reserved, etc.).",
        ),
        AGE,
    ];

    pub fn columns() -> &'static [Column] {
        COLUMNS
    }

    pub fn cells(claim: &Value, now: SystemTime) -> Vec<Value> {
        let mut states = Vec::new();
        if deleting(claim) {
            states.push("deleted");
        }
        if at(claim, &["status", "allocation"]).is_none() {
            if !deleting(claim) {
                states.push("pending");
            }
        } else {
            states.push("allocated");
            if !list(claim, &["status", "reservedFor"]).is_empty() {
                states.push("reserved");
            }
        }
        vec![name(claim), json!(states.join(",")), age(claim, now)]
    }
}

pub(super) mod resource_slice {
    use super::*;

    static COLUMNS: &[Column] = &[
        NAME,
        col("Node", "string", docs::RS_NODE),
        col("Driver", "string", docs::RS_DRIVER),
        col("Pool", "string", docs::RS_POOL),
        AGE,
    ];

    pub fn columns() -> &'static [Column] {
        COLUMNS
    }

    pub fn cells(slice: &Value, now: SystemTime) -> Vec<Value> {
        vec![
            name(slice),
            json!(text(slice, &["spec", "nodeName"])),
            json!(text(slice, &["spec", "driver"])),
            json!(text(slice, &["spec", "pool", "name"])),
            age(slice, now),
        ]
    }
}

pub(super) mod storage_version_migration {
    use super::*;

    static COLUMNS: &[Column] = &[
        Column { format: "", ..NAME },
        col("Resource", "string", "Fully qualified resource to migrate"),
    ];

    pub fn columns() -> &'static [Column] {
        COLUMNS
    }

    /// `resource.version.group` as upstream's v1alpha1-era printer; v1 has no version, so
    /// `resource.group` (`resource` for the core group).
    pub fn cells(migration: &Value, _now: SystemTime) -> Vec<Value> {
        let resource = text(migration, &["spec", "resource", "resource"]);
        let parts: Vec<&str> = [
            resource,
            text(migration, &["spec", "resource", "version"]),
            text(migration, &["spec", "resource", "group"]),
        ]
        .into_iter()
        .filter(|p| !p.is_empty())
        .collect();
        vec![name(migration), json!(parts.join("."))]
    }
}
