//! Printers of the core group (and `events.k8s.io`, whose events upstream prints as core events).

use std::time::SystemTime;

use serde_json::{Value, json};

use super::format::{
    age, at, containers, count, deleting, format_labels, int, list, map, name, opt_text, or,
    parse_time, scalar, since, text,
};
use super::{AGE, CONTAINERS, Column, IMAGES, NAME, Printer, col, docs, wide};

pub(super) fn printer(group: &str, kind: &str) -> Option<Printer> {
    let printer = match (group, kind) {
        ("", "Pod") => Printer {
            conditions: Some(pod::conditions),
            ..Printer::new(pod::columns, pod::cells)
        },
        ("", "PodTemplate") => Printer::new(pod_template::columns, pod_template::cells),
        ("", "ReplicationController") => Printer::new(
            replication_controller::columns,
            replication_controller::cells,
        ),
        ("", "Service") => Printer::new(service::columns, service::cells),
        ("", "Endpoints") => Printer::new(endpoints::columns, endpoints::cells),
        ("", "Node") => Printer::new(node::columns, node::cells),
        ("" | "events.k8s.io", "Event") => Printer::new(event::columns, event::cells),
        ("", "Namespace") => Printer::new(namespace::columns, namespace::cells),
        ("", "Secret") => Printer::new(secret::columns, secret::cells),
        ("", "ServiceAccount") => Printer::new(service_account::columns, service_account::cells),
        ("", "PersistentVolume") => {
            Printer::new(persistent_volume::columns, persistent_volume::cells)
        }
        ("", "PersistentVolumeClaim") => Printer::new(
            persistent_volume_claim::columns,
            persistent_volume_claim::cells,
        ),
        ("", "ComponentStatus") => Printer::new(component_status::columns, component_status::cells),
        ("", "ConfigMap") => Printer::new(config_map::columns, config_map::cells),
        ("", "ResourceQuota") => Printer::new(resource_quota::columns, resource_quota::cells),
        _ => return None,
    };
    Some(printer)
}

/// `helper.GetAccessModesAsString`: RWO, ROX, RWX, RWOP in that order, de-duplicated.
fn access_modes(modes: &[Value]) -> String {
    let has = |mode: &str| modes.iter().any(|m| m.as_str() == Some(mode));
    [
        ("ReadWriteOnce", "RWO"),
        ("ReadOnlyMany", "ROX"),
        ("ReadWriteMany", "RWX"),
        ("ReadWriteOncePod", "RWOP"),
    ]
    .iter()
    .filter(|(mode, _)| has(mode))
    .map(|(_, short)| *short)
    .collect::<Vec<_>>()
    .join(",")
}

/// The beta storage-class annotation upstream still honours before `storageClassName`.
const BETA_STORAGE_CLASS: &str = "volume.beta.kubernetes.io/storage-class";

fn storage_class(object: &Value) -> String {
    if let Some(class) = map(object, &["metadata", "annotations"])
        .and_then(|a| a.get(BETA_STORAGE_CLASS))
        .and_then(Value::as_str)
    {
        return class.to_owned();
    }
    text(object, &["spec", "storageClassName"]).to_owned()
}

pub(super) mod pod {
    use super::*;
    use crate::rest::table::format::{human_duration, unix_nanos};

    static COLUMNS: &[Column] = &[
        NAME,
        col(
            "Ready",
            "string",
            "The aggregate readiness state of this pod for accepting traffic.",
        ),
        col(
            "Status",
            "string",
            "The aggregate status of the containers in this pod.",
        ),
        col(
            "Restarts",
            "string",
            "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.",
        ),
        AGE,
        wide("IP", "string", docs::POD_IP),
        wide("Node", "string", docs::POD_NODE_NAME),
        wide("Nominated Node", "string", docs::POD_NOMINATED_NODE),
        wide("Readiness Gates", "string", docs::POD_READINESS_GATES),
    ];

    pub fn columns() -> &'static [Column] {
        COLUMNS
    }

    /// `Completed` row conditions of terminal pods.
    pub fn conditions(pod: &Value) -> Option<Value> {
        let (reason, message) = match text(pod, &["status", "phase"]) {
            "Succeeded" => ("Succeeded", "The pod has completed successfully."),
            "Failed" => ("Failed", "The pod failed."),
            _ => return None,
        };
        Some(json!([{
            "type": "Completed",
            "status": "True",
            "reason": reason,
            "message": message,
        }]))
    }

    fn condition_status<'a>(pod: &'a Value, kind: &str) -> Option<&'a str> {
        list(pod, &["status", "conditions"])
            .iter()
            .find(|c| text(c, &["type"]) == kind)
            .map(|c| text(c, &["status"]))
    }

    /// The later of `latest` and the container's last termination time.
    fn last_termination(status: &Value, latest: &mut Option<i128>) {
        if at(status, &["lastState", "terminated"]).is_some() {
            let finished =
                opt_text(status, &["lastState", "terminated", "finishedAt"]).and_then(parse_time);
            if let Some(finished) = finished
                && latest.is_none_or(|l| l < finished)
            {
                *latest = Some(finished);
            }
        }
    }

    fn terminated_reason(terminated: &Value, prefix: &str) -> String {
        let reason = text(terminated, &["reason"]);
        if !reason.is_empty() {
            return format!("{prefix}{reason}");
        }
        let signal = int(terminated, &["signal"]);
        if signal != 0 {
            format!("{prefix}Signal:{signal}")
        } else {
            format!("{prefix}ExitCode:{}", int(terminated, &["exitCode"]))
        }
    }

    pub fn cells(pod: &Value, now: SystemTime) -> Vec<Value> {
        let init_containers = list(pod, &["spec", "initContainers"]);
        let restartable = |name: &str| {
            init_containers
                .iter()
                .any(|c| text(c, &["name"]) == name && text(c, &["restartPolicy"]) == "Always")
        };
        let mut total = list(pod, &["spec", "containers"]).len();
        total += init_containers
            .iter()
            .filter(|c| text(c, &["restartPolicy"]) == "Always")
            .count();
        let mut ready = 0;
        let mut restarts = 0;
        let mut sidecar_restarts = 0;
        let mut last_restart: Option<i128> = None;
        let mut sidecar_last_restart: Option<i128> = None;

        let phase = text(pod, &["status", "phase"]);
        let mut reason = or(text(pod, &["status", "reason"]), phase).to_owned();
        if list(pod, &["status", "conditions"]).iter().any(|c| {
            text(c, &["type"]) == "PodScheduled" && text(c, &["reason"]) == "SchedulingGated"
        }) {
            reason = "SchedulingGated".to_owned();
        }

        let mut initializing = false;
        for (i, status) in list(pod, &["status", "initContainerStatuses"])
            .iter()
            .enumerate()
        {
            restarts += int(status, &["restartCount"]);
            last_termination(status, &mut last_restart);
            let sidecar = restartable(text(status, &["name"]));
            if sidecar {
                sidecar_restarts += int(status, &["restartCount"]);
                last_termination(status, &mut sidecar_last_restart);
            }
            let terminated = at(status, &["state", "terminated"]);
            let waiting = text(status, &["state", "waiting", "reason"]);
            if terminated.is_some_and(|t| int(t, &["exitCode"]) == 0) {
                continue;
            }
            if sidecar && at(status, &["started"]).and_then(Value::as_bool) == Some(true) {
                if at(status, &["ready"]).and_then(Value::as_bool) == Some(true) {
                    ready += 1;
                }
                continue;
            }
            reason = match terminated {
                Some(terminated) => terminated_reason(terminated, "Init:"),
                None if !waiting.is_empty() && waiting != "PodInitializing" => {
                    format!("Init:{waiting}")
                }
                None => format!("Init:{i}/{}", init_containers.len()),
            };
            initializing = true;
            break;
        }

        if !initializing || condition_status(pod, "Initialized") == Some("True") {
            restarts = sidecar_restarts;
            last_restart = sidecar_last_restart;
            let mut has_running = false;
            for status in list(pod, &["status", "containerStatuses"]).iter().rev() {
                restarts += int(status, &["restartCount"]);
                last_termination(status, &mut last_restart);
                let waiting = text(status, &["state", "waiting", "reason"]);
                let terminated = at(status, &["state", "terminated"]);
                if !waiting.is_empty() {
                    reason = waiting.to_owned();
                } else if let Some(terminated) = terminated {
                    reason = terminated_reason(terminated, "");
                } else if at(status, &["ready"]).and_then(Value::as_bool) == Some(true)
                    && at(status, &["state", "running"]).is_some()
                {
                    has_running = true;
                    ready += 1;
                }
            }
            if reason == "Completed" && has_running {
                reason = if condition_status(pod, "Ready") == Some("True") {
                    "Running".to_owned()
                } else {
                    "NotReady".to_owned()
                };
            }
        }

        if deleting(pod) && text(pod, &["status", "reason"]) == "NodeLost" {
            reason = "Unknown".to_owned();
        } else if deleting(pod) && phase != "Succeeded" && phase != "Failed" {
            reason = "Terminating".to_owned();
        }

        let restarts = match last_restart {
            Some(t) if restarts != 0 => {
                format!("{restarts} ({} ago)", human_duration(unix_nanos(now) - t))
            }
            _ => restarts.to_string(),
        };

        let ip = list(pod, &["status", "podIPs"])
            .first()
            .map(|ip| text(ip, &["ip"]))
            .unwrap_or("");
        let gates = list(pod, &["spec", "readinessGates"]);
        let readiness_gates = if gates.is_empty() {
            "<none>".to_owned()
        } else {
            let passed = gates
                .iter()
                .filter(|g| condition_status(pod, text(g, &["conditionType"])) == Some("True"))
                .count();
            format!("{passed}/{}", gates.len())
        };
        vec![
            name(pod),
            json!(format!("{ready}/{total}")),
            json!(reason),
            json!(restarts),
            age(pod, now),
            json!(or(ip, "<none>")),
            json!(or(text(pod, &["spec", "nodeName"]), "<none>")),
            json!(or(text(pod, &["status", "nominatedNodeName"]), "<none>")),
            json!(readiness_gates),
        ]
    }
}

pub(super) mod pod_template {
    use super::*;

    static COLUMNS: &[Column] = &[
        NAME,
        col("Containers", "string", CONTAINERS),
        col("Images", "string", IMAGES),
        col("Pod Labels", "string", "The labels for the pod template."),
    ];

    pub fn columns() -> &'static [Column] {
        COLUMNS
    }

    pub fn cells(object: &Value, _now: SystemTime) -> Vec<Value> {
        let (names, images) = containers(at(object, &["template", "spec"]));
        vec![
            name(object),
            names,
            images,
            json!(format_labels(at(
                object,
                &["template", "metadata", "labels"]
            ))),
        ]
    }
}

pub(super) mod replication_controller {
    use super::*;

    static COLUMNS: &[Column] = &[
        NAME,
        col("Desired", "integer", docs::RC_SPEC_REPLICAS),
        col("Current", "integer", docs::RC_STATUS_REPLICAS),
        col("Ready", "integer", docs::RC_READY_REPLICAS),
        AGE,
        wide("Containers", "string", CONTAINERS),
        wide("Images", "string", IMAGES),
        wide("Selector", "string", docs::RC_SELECTOR),
    ];

    pub fn columns() -> &'static [Column] {
        COLUMNS
    }

    pub fn cells(object: &Value, now: SystemTime) -> Vec<Value> {
        let (names, images) = containers(at(object, &["spec", "template", "spec"]));
        vec![
            name(object),
            json!(int(object, &["spec", "replicas"])),
            json!(int(object, &["status", "replicas"])),
            json!(int(object, &["status", "readyReplicas"])),
            age(object, now),
            names,
            images,
            json!(format_labels(at(object, &["spec", "selector"]))),
        ]
    }
}

pub(super) mod service {
    use super::*;
    use crate::rest::table::format::load_balancer;

    static COLUMNS: &[Column] = &[
        NAME,
        col("Type", "string", docs::SVC_TYPE),
        col("Cluster-IP", "string", docs::SVC_CLUSTER_IP),
        col("External-IP", "string", docs::SVC_EXTERNAL_IPS),
        col("Port(s)", "string", docs::SVC_PORTS),
        AGE,
        wide("Selector", "string", docs::SVC_SELECTOR),
    ];

    pub fn columns() -> &'static [Column] {
        COLUMNS
    }

    /// `getServiceExternalIP` (wide: the load balancer list is not clipped).
    fn external_ip(service: &Value) -> String {
        let external: Vec<&str> = list(service, &["spec", "externalIPs"])
            .iter()
            .filter_map(Value::as_str)
            .collect();
        match text(service, &["spec", "type"]) {
            "ClusterIP" | "NodePort" => {
                if external.is_empty() {
                    "<none>".to_owned()
                } else {
                    external.join(",")
                }
            }
            "LoadBalancer" => {
                let lb = load_balancer(at(service, &["status", "loadBalancer"]));
                if !external.is_empty() {
                    let mut all: Vec<&str> = Vec::new();
                    if !lb.is_empty() {
                        all.extend(lb.split(','));
                    }
                    all.extend(external);
                    all.join(",")
                } else if !lb.is_empty() {
                    lb
                } else {
                    "<pending>".to_owned()
                }
            }
            "ExternalName" => text(service, &["spec", "externalName"]).to_owned(),
            _ => "<unknown>".to_owned(),
        }
    }

    /// `makePortString`: `80/TCP,443:30443/TCP`.
    fn ports(service: &Value) -> String {
        list(service, &["spec", "ports"])
            .iter()
            .map(|p| {
                let port = int(p, &["port"]);
                let protocol = text(p, &["protocol"]);
                let node_port = int(p, &["nodePort"]);
                if node_port > 0 {
                    format!("{port}:{node_port}/{protocol}")
                } else {
                    format!("{port}/{protocol}")
                }
            })
            .collect::<Vec<_>>()
            .join(",")
    }

    pub fn cells(service: &Value, now: SystemTime) -> Vec<Value> {
        let cluster_ip = list(service, &["spec", "clusterIPs"])
            .first()
            .and_then(Value::as_str)
            .unwrap_or("<none>");
        let ports = ports(service);
        vec![
            name(service),
            json!(text(service, &["spec", "type"])),
            json!(cluster_ip),
            json!(external_ip(service)),
            json!(or(&ports, "<none>")),
            age(service, now),
            json!(format_labels(at(service, &["spec", "selector"]))),
        ]
    }
}

pub(super) mod endpoints {
    use super::*;

    static COLUMNS: &[Column] = &[
        NAME,
        col("Endpoints", "string", docs::ENDPOINTS_SUBSETS),
        AGE,
    ];

    pub fn columns() -> &'static [Column] {
        COLUMNS
    }

    /// `formatEndpoints`: up to three `ip:port` (or bare IPs for port-less subsets).
    pub fn format(object: &Value) -> String {
        let subsets = list(object, &["subsets"]);
        if subsets.is_empty() {
            return "<none>".to_owned();
        }
        const MAX: usize = 3;
        let mut shown: Vec<String> = Vec::new();
        let mut more = false;
        let mut total = 0;
        for subset in subsets {
            let addresses = list(subset, &["addresses"]);
            let ports = list(subset, &["ports"]);
            if ports.is_empty() {
                total += addresses.len();
                for address in addresses {
                    if shown.len() == MAX {
                        more = true;
                        break;
                    }
                    shown.push(text(address, &["ip"]).to_owned());
                }
                continue;
            }
            for port in ports {
                total += addresses.len();
                for address in addresses {
                    if shown.len() == MAX {
                        more = true;
                        break;
                    }
                    let ip = text(address, &["ip"]);
                    let port = int(port, &["port"]);
                    shown.push(if ip.contains(':') {
                        format!("[{ip}]:{port}")
                    } else {
                        format!("{ip}:{port}")
                    });
                }
            }
        }
        let joined = shown.join(",");
        if more {
            format!("{joined} + {} more...", total - MAX)
        } else {
            joined
        }
    }

    pub fn cells(object: &Value, now: SystemTime) -> Vec<Value> {
        vec![name(object), json!(format(object)), age(object, now)]
    }
}

pub(super) mod node {
    use super::*;

    static COLUMNS: &[Column] = &[
        NAME,
        col("Status", "string", "The status of the node"),
        col("Roles", "string", "The roles of the node"),
        AGE,
        col("Version", "string", docs::NODE_KUBELET_VERSION),
        wide("Internal-IP", "string", docs::NODE_ADDRESSES),
        wide("External-IP", "string", docs::NODE_ADDRESSES),
        wide("OS-Image", "string", docs::NODE_OS_IMAGE),
        wide("Kernel-Version", "string", docs::NODE_KERNEL_VERSION),
        wide("Container-Runtime", "string", docs::NODE_CONTAINER_RUNTIME),
    ];

    pub fn columns() -> &'static [Column] {
        COLUMNS
    }

    /// `findNodeRoles`: `node-role.kubernetes.io/<role>` keys and `kubernetes.io/role` values.
    pub fn roles(node: &Value) -> String {
        let mut roles = std::collections::BTreeSet::new();
        if let Some(labels) = map(node, &["metadata", "labels"]) {
            for (key, value) in labels {
                if let Some(role) = key.strip_prefix("node-role.kubernetes.io/") {
                    if !role.is_empty() {
                        roles.insert(role.to_owned());
                    }
                } else if key == "kubernetes.io/role"
                    && let Some(value) = value.as_str().filter(|v| !v.is_empty())
                {
                    roles.insert(value.to_owned());
                }
            }
        }
        if roles.is_empty() {
            "<none>".to_owned()
        } else {
            roles.into_iter().collect::<Vec<_>>().join(",")
        }
    }

    fn address(node: &Value, kind: &str) -> String {
        list(node, &["status", "addresses"])
            .iter()
            .find(|a| text(a, &["type"]) == kind)
            .map(|a| text(a, &["address"]).to_owned())
            .unwrap_or_else(|| "<none>".to_owned())
    }

    pub fn cells(node: &Value, now: SystemTime) -> Vec<Value> {
        // The last `Ready` condition wins, as upstream's map of conditions by type.
        let ready = list(node, &["status", "conditions"])
            .iter()
            .rev()
            .find(|c| text(c, &["type"]) == "Ready");
        let mut status = vec![match ready {
            Some(c) if text(c, &["status"]) == "True" => "Ready",
            Some(_) => "NotReady",
            None => "Unknown",
        }];
        if at(node, &["spec", "unschedulable"]).and_then(Value::as_bool) == Some(true) {
            status.push("SchedulingDisabled");
        }
        let info = |field: &str| json!(or(text(node, &["status", "nodeInfo", field]), "<unknown>"));
        vec![
            name(node),
            json!(status.join(",")),
            json!(roles(node)),
            age(node, now),
            json!(text(node, &["status", "nodeInfo", "kubeletVersion"])),
            json!(address(node, "InternalIP")),
            json!(address(node, "ExternalIP")),
            info("osImage"),
            info("kernelVersion"),
            info("containerRuntimeVersion"),
        ]
    }
}

pub(super) mod event {
    use super::*;

    static COLUMNS: &[Column] = &[
        col("Last Seen", "string", docs::EVENT_LAST_TIMESTAMP),
        col("Type", "string", docs::EVENT_TYPE),
        col("Reason", "string", docs::EVENT_REASON),
        col("Object", "string", docs::EVENT_INVOLVED_OBJECT),
        wide("Subobject", "string", docs::EVENT_FIELD_PATH),
        wide("Source", "string", docs::EVENT_SOURCE),
        col("Message", "string", docs::EVENT_MESSAGE),
        wide("First Seen", "string", docs::EVENT_FIRST_TIMESTAMP),
        wide("Count", "string", docs::EVENT_COUNT),
        Column {
            priority: 1,
            ..NAME
        },
    ];

    pub fn columns() -> &'static [Column] {
        COLUMNS
    }

    /// A core/v1 field or its events.k8s.io/v1 name.
    fn field<'a>(event: &'a Value, core: &str, events: &str) -> Option<&'a Value> {
        at(event, &[core]).or_else(|| at(event, &[events]))
    }

    fn time(v: Option<&Value>) -> Option<&str> {
        v.and_then(Value::as_str).filter(|s| !s.is_empty())
    }

    pub fn cells(event: &Value, now: SystemTime) -> Vec<Value> {
        let first_seen = match time(field(event, "firstTimestamp", "deprecatedFirstTimestamp")) {
            Some(t) => since(Some(t), now),
            None => since(opt_text(event, &["eventTime"]), now),
        };
        let mut last_seen = match time(field(event, "lastTimestamp", "deprecatedLastTimestamp")) {
            Some(t) => since(Some(t), now),
            None => first_seen.clone(),
        };
        let mut count = field(event, "count", "deprecatedCount")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        if let Some(series) = at(event, &["series"]) {
            last_seen = since(opt_text(series, &["lastObservedTime"]), now);
            count = int(series, &["count"]);
        } else if count == 0 {
            count = 1;
        }
        let object = field(event, "involvedObject", "regarding").unwrap_or(&Value::Null);
        let kind = text(object, &["kind"]).to_lowercase();
        let target = match text(object, &["name"]) {
            "" => kind,
            name => format!("{kind}/{name}"),
        };
        let source = field(event, "source", "deprecatedSource").unwrap_or(&Value::Null);
        let component = or(
            text(source, &["component"]),
            text(event, &["reportingController"]),
        );
        let host = or(text(source, &["host"]), text(event, &["reportingInstance"]));
        let source = if host.is_empty() {
            component.to_owned()
        } else {
            format!("{component}, {host}")
        };
        let message = field(event, "message", "note")
            .and_then(Value::as_str)
            .unwrap_or("")
            .trim();
        vec![
            json!(last_seen),
            json!(text(event, &["type"])),
            json!(text(event, &["reason"])),
            json!(target),
            json!(text(object, &["fieldPath"])),
            json!(source),
            json!(message),
            json!(first_seen),
            json!(count),
            name(event),
        ]
    }
}

pub(super) mod namespace {
    use super::*;

    static COLUMNS: &[Column] = &[
        NAME,
        col("Status", "string", "The status of the namespace"),
        AGE,
    ];

    pub fn columns() -> &'static [Column] {
        COLUMNS
    }

    pub fn cells(object: &Value, now: SystemTime) -> Vec<Value> {
        vec![
            name(object),
            json!(text(object, &["status", "phase"])),
            age(object, now),
        ]
    }
}

pub(super) mod secret {
    use super::*;

    static COLUMNS: &[Column] = &[
        NAME,
        col("Type", "string", docs::SECRET_TYPE),
        col("Data", "string", docs::SECRET_DATA),
        AGE,
    ];

    pub fn columns() -> &'static [Column] {
        COLUMNS
    }

    pub fn cells(object: &Value, now: SystemTime) -> Vec<Value> {
        vec![
            name(object),
            json!(text(object, &["type"])),
            json!(count(object, &["data"])),
            age(object, now),
        ]
    }
}

pub(super) mod service_account {
    use super::*;

    static COLUMNS: &[Column] = &[NAME, col("Secrets", "string", docs::SA_SECRETS), AGE];

    pub fn columns() -> &'static [Column] {
        COLUMNS
    }

    pub fn cells(object: &Value, now: SystemTime) -> Vec<Value> {
        vec![
            name(object),
            json!(count(object, &["secrets"])),
            age(object, now),
        ]
    }
}

pub(super) mod persistent_volume {
    use super::*;

    static COLUMNS: &[Column] = &[
        NAME,
        col("Capacity", "string", docs::PV_CAPACITY),
        col("Access Modes", "string", docs::PV_ACCESS_MODES),
        col("Reclaim Policy", "string", docs::PV_RECLAIM_POLICY),
        col("Status", "string", docs::PV_PHASE),
        col("Claim", "string", docs::PV_CLAIM_REF),
        col("StorageClass", "string", "StorageClass of the pv"),
        col(
            "VolumeAttributesClass",
            "string",
            "VolumeAttributesClass of the pv",
        ),
        col("Reason", "string", docs::PV_REASON),
        AGE,
        wide("VolumeMode", "string", docs::PV_VOLUME_MODE),
    ];

    pub fn columns() -> &'static [Column] {
        COLUMNS
    }

    pub fn cells(pv: &Value, now: SystemTime) -> Vec<Value> {
        let claim = match at(pv, &["spec", "claimRef"]) {
            Some(claim) => format!("{}/{}", text(claim, &["namespace"]), text(claim, &["name"])),
            None => String::new(),
        };
        let phase = if deleting(pv) {
            "Terminating"
        } else {
            text(pv, &["status", "phase"])
        };
        vec![
            name(pv),
            json!(scalar(at(pv, &["spec", "capacity", "storage"])).unwrap_or_else(|| "0".into())),
            json!(access_modes(list(pv, &["spec", "accessModes"]))),
            json!(text(pv, &["spec", "persistentVolumeReclaimPolicy"])),
            json!(phase),
            json!(claim),
            json!(storage_class(pv)),
            json!(opt_text(pv, &["spec", "volumeAttributesClassName"]).unwrap_or("<unset>")),
            json!(text(pv, &["status", "reason"])),
            age(pv, now),
            json!(opt_text(pv, &["spec", "volumeMode"]).unwrap_or("<unset>")),
        ]
    }
}

pub(super) mod persistent_volume_claim {
    use super::*;

    static COLUMNS: &[Column] = &[
        NAME,
        col("Status", "string", docs::PVC_PHASE),
        col("Volume", "string", docs::PVC_VOLUME_NAME),
        col("Capacity", "string", docs::PVC_CAPACITY),
        col("Access Modes", "string", docs::PVC_ACCESS_MODES),
        col("StorageClass", "string", "StorageClass of the pvc"),
        col(
            "VolumeAttributesClass",
            "string",
            "VolumeAttributesClass of the pvc",
        ),
        AGE,
        wide("VolumeMode", "string", docs::PVC_VOLUME_MODE),
    ];

    pub fn columns() -> &'static [Column] {
        COLUMNS
    }

    pub fn cells(pvc: &Value, now: SystemTime) -> Vec<Value> {
        let phase = if deleting(pvc) {
            "Terminating"
        } else {
            text(pvc, &["status", "phase"])
        };
        let volume = text(pvc, &["spec", "volumeName"]);
        let (capacity, modes) = if volume.is_empty() {
            (String::new(), String::new())
        } else {
            (
                scalar(at(pvc, &["status", "capacity", "storage"])).unwrap_or_else(|| "0".into()),
                access_modes(list(pvc, &["status", "accessModes"])),
            )
        };
        vec![
            name(pvc),
            json!(phase),
            json!(volume),
            json!(capacity),
            json!(modes),
            json!(storage_class(pvc)),
            json!(opt_text(pvc, &["spec", "volumeAttributesClassName"]).unwrap_or("<unset>")),
            age(pvc, now),
            json!(opt_text(pvc, &["spec", "volumeMode"]).unwrap_or("<unset>")),
        ]
    }
}

pub(super) mod component_status {
    use super::*;

    static COLUMNS: &[Column] = &[
        NAME,
        col("Status", "string", "Status of the component conditions"),
        col("Message", "string", "Message of the component conditions"),
        col("Error", "string", "Error of the component conditions"),
    ];

    pub fn columns() -> &'static [Column] {
        COLUMNS
    }

    pub fn cells(object: &Value, _now: SystemTime) -> Vec<Value> {
        let healthy = list(object, &["conditions"])
            .iter()
            .find(|c| text(c, &["type"]) == "Healthy");
        let (status, message, error) = match healthy {
            Some(c) => (
                if text(c, &["status"]) == "True" {
                    "Healthy"
                } else {
                    "Unhealthy"
                },
                text(c, &["message"]),
                text(c, &["error"]),
            ),
            None => ("Unknown", "", ""),
        };
        vec![name(object), json!(status), json!(message), json!(error)]
    }
}

pub(super) mod config_map {
    use super::*;

    static COLUMNS: &[Column] = &[NAME, col("Data", "string", docs::CONFIGMAP_DATA), AGE];

    pub fn columns() -> &'static [Column] {
        COLUMNS
    }

    pub fn cells(object: &Value, now: SystemTime) -> Vec<Value> {
        vec![
            name(object),
            json!(count(object, &["data"]) + count(object, &["binaryData"])),
            age(object, now),
        ]
    }
}

pub(super) mod resource_quota {
    use super::*;

    static COLUMNS: &[Column] = &[
        NAME,
        col(
            "Request",
            "string",
            "Request represents a minimum amount of cpu/memory that a container may consume.",
        ),
        col(
            "Limit",
            "string",
            "Limits control the maximum amount of cpu/memory that a container may use independent of contention on the node.",
        ),
        AGE,
    ];

    pub fn columns() -> &'static [Column] {
        COLUMNS
    }

    pub fn cells(quota: &Value, now: SystemTime) -> Vec<Value> {
        let mut requests: Vec<String> = Vec::new();
        let mut limits: Vec<String> = Vec::new();
        if let Some(hard) = map(quota, &["status", "hard"]) {
            let mut resources: Vec<&String> = hard.keys().collect();
            resources.sort();
            for resource in resources {
                let used =
                    scalar(at(quota, &["status", "used", resource])).unwrap_or_else(|| "0".into());
                let limit = scalar(hard.get(resource)).unwrap_or_else(|| "0".into());
                let entry = format!("{resource}: {used}/{limit}");
                let mut pieces = resource.split('.');
                if pieces.next() == Some("limits") && pieces.next().is_some() {
                    limits.push(entry);
                } else {
                    requests.push(entry);
                }
            }
        }
        vec![
            name(quota),
            json!(requests.join(", ")),
            json!(limits.join(", ")),
            age(quota, now),
        ]
    }
}
