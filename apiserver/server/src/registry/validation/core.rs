//! Validation of the core group (upstream `pkg/apis/core/validation/validation.go`): the pod spec
//! shared by Pods and every pod template, Pods, PodTemplates, ReplicationControllers, Services,
//! ConfigMaps, Secrets, Namespaces, claims, volumes, Events.
//!
//! The pod spec checks cover what users hit daily: volumes (name, exactly one source, the
//! required reference of each common source, file modes), containers (names unique DNS labels,
//! image, ports, environment names, mounts of declared volumes, pull and termination policies,
//! requests within limits, probe handlers and thresholds), init containers, and the spec's
//! policies. Rarer corners (security contexts, affinity, topology spread, resize policies,
//! resource claims, host aliases) are not checked yet.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;
use tugboat_machinery::{
    names,
    status::{FieldError, FieldPath},
};

use super::{
    dns_label, dns_subdomain, immutable, int_at, list_at, nonnegative, one_of, regex_message,
    str_at, string_map, template_matches,
};
use crate::registry::defaults::core::parse_quantity;

const RESTART_POLICIES: &[&str] = &["Always", "OnFailure", "Never"];
const DNS_POLICIES: &[&str] = &["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"];
const PULL_POLICIES: &[&str] = &["Always", "IfNotPresent", "Never"];
const TERMINATION_MESSAGE_POLICIES: &[&str] = &["File", "FallbackToLogsOnError"];
const PROTOCOLS: &[&str] = &["SCTP", "TCP", "UDP"];
const FILE_MODE_MESSAGE: &str = "must be a number between 0 and 0777 (octal), both inclusive";
/// The largest ConfigMap or Secret payload (1 MiB).
pub const MAX_SECRET_SIZE: usize = 1024 * 1024;

/// The volume sources of a pod volume, in upstream's order of checks.
const VOLUME_SOURCES: &[&str] = &[
    "hostPath",
    "emptyDir",
    "gitRepo",
    "gcePersistentDisk",
    "awsElasticBlockStore",
    "secret",
    "nfs",
    "iscsi",
    "glusterfs",
    "persistentVolumeClaim",
    "rbd",
    "quobyte",
    "flexVolume",
    "cinder",
    "cephfs",
    "flocker",
    "downwardAPI",
    "fc",
    "azureFile",
    "configMap",
    "vsphereVolume",
    "azureDisk",
    "photonPersistentDisk",
    "projected",
    "portworxVolume",
    "scaleIO",
    "storageos",
    "csi",
    "ephemeral",
    "image",
];

// === numbers and names ===

/// Upstream's `IsValidPortNum`.
fn port_number(port: i64) -> Vec<String> {
    if (1..=65535).contains(&port) {
        Vec::new()
    } else {
        vec!["must be between 1 and 65535, inclusive".to_owned()]
    }
}

/// Upstream's `IsValidPortName` (an IANA service name).
pub fn port_name(name: &str) -> Vec<String> {
    let mut errors = Vec::new();
    if name.len() > 15 {
        errors.push("must be no more than 15 bytes".to_owned());
    }
    if name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        errors.push(
            "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)".to_owned(),
        );
    }
    if !name.bytes().any(|b| b.is_ascii_lowercase()) {
        errors.push("must contain at least one letter (a-z)".to_owned());
    }
    if name.contains("--") {
        errors.push("must not contain consecutive hyphens".to_owned());
    }
    if name.starts_with('-') || name.ends_with('-') {
        errors.push("must not begin or end with a hyphen".to_owned());
    }
    errors
}

/// Upstream's `IsConfigMapKey`: the keys of ConfigMaps, Secrets and projected items.
pub fn config_map_key(key: &str) -> Vec<String> {
    let mut errors = Vec::new();
    if key.len() > names::DNS1123_SUBDOMAIN_MAX_LENGTH {
        errors.push(format!(
            "must be no more than {} bytes",
            names::DNS1123_SUBDOMAIN_MAX_LENGTH
        ));
    }
    if key.is_empty()
        || !key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'))
    {
        errors.push(regex_message(
            "a valid config key must consist of alphanumeric characters, '-', '_' or '.'",
            "[-._a-zA-Z0-9]+",
            &["key.name", "KEY_NAME", "key-name"],
        ));
    }
    if key == "." {
        errors.push("must not be '.'".to_owned());
    } else if key == ".." {
        errors.push("must not be '..'".to_owned());
    } else if key.starts_with("..") {
        errors.push("must not start with '..'".to_owned());
    }
    errors
}

/// Environment variable names: printable ASCII other than `=` (upstream's relaxed rule, GA).
fn env_var_name(name: &str) -> Vec<String> {
    if name
        .bytes()
        .all(|b| (b' '..=b'~').contains(&b) && b != b'=')
    {
        Vec::new()
    } else {
        vec!["a valid environment variable name must consist only of printable ASCII characters other than '='".to_owned()]
    }
}

// === pod spec ===

/// Options that differ between a Pod and a pod template.
#[derive(Debug, Clone, Copy, Default)]
pub struct PodSpecContext {
    /// Validating a real Pod on create (ephemeral containers are forbidden then).
    pub pod_create: bool,
}

/// Upstream's `ValidatePodSpec` (the parts listed in the module docs).
pub fn pod_spec(spec: &Value, path: &FieldPath) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let volumes = volumes(
        list_at(spec, "volumes"),
        &path.child("volumes"),
        &mut errors,
    );
    let mut names = BTreeSet::new();
    containers(spec, &volumes, path, &mut names, &mut errors);
    init_containers(spec, &volumes, path, &mut names, &mut errors);
    errors.extend(one_of(
        str_at(spec, "restartPolicy"),
        RESTART_POLICIES,
        &path.child("restartPolicy"),
    ));
    errors.extend(one_of(
        str_at(spec, "dnsPolicy"),
        DNS_POLICIES,
        &path.child("dnsPolicy"),
    ));
    errors.extend(names::validate_labels(
        &string_map(spec.get("nodeSelector")),
        &path.child("nodeSelector"),
    ));
    if str_at(spec, "dnsPolicy") == "None" && spec.get("dnsConfig").is_none_or(Value::is_null) {
        errors.push(FieldError::required(
            &path.child("dnsConfig"),
            "must provide `dnsConfig` when `dnsPolicy` is None",
        ));
    }
    for (index, secret) in list_at(spec, "imagePullSecrets").iter().enumerate() {
        if str_at(secret, "name").is_empty() {
            errors.push(FieldError::required(
                &path.child("imagePullSecrets").index(index).child("name"),
                "",
            ));
        }
    }
    let service_account = str_at(spec, "serviceAccountName");
    if !service_account.is_empty() {
        errors.extend(dns_subdomain(
            service_account,
            &path.child("serviceAccountName"),
        ));
    }
    let node_name = str_at(spec, "nodeName");
    if !node_name.is_empty() {
        errors.extend(dns_subdomain(node_name, &path.child("nodeName")));
    }
    if let Some(deadline) = int_at(spec, "activeDeadlineSeconds")
        && !(1..=i64::from(i32::MAX)).contains(&deadline)
    {
        errors.push(FieldError::invalid(
            &path.child("activeDeadlineSeconds"),
            deadline,
            "must be between 1 and 2147483647, inclusive",
        ));
    }
    for field in ["hostname", "subdomain"] {
        let value = str_at(spec, field);
        if !value.is_empty() {
            errors.extend(dns_label(value, &path.child(field)));
        }
    }
    errors.extend(tolerations(
        list_at(spec, "tolerations"),
        &path.child("tolerations"),
    ));
    let preemption = str_at(spec, "preemptionPolicy");
    if !preemption.is_empty() && !["Never", "PreemptLowerPriority"].contains(&preemption) {
        errors.push(FieldError::not_supported(
            &path.child("preemptionPolicy"),
            preemption,
            &["Never", "PreemptLowerPriority"],
        ));
    }
    errors
}

/// Validates the volumes and returns the names of the valid ones.
fn volumes(list: &[Value], path: &FieldPath, errors: &mut Vec<FieldError>) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for (index, volume) in list.iter().enumerate() {
        let volume_path = path.index(index);
        let name_path = volume_path.child("name");
        let mut own = volume_source(volume, &volume_path);
        let name = str_at(volume, "name");
        if name.is_empty() {
            own.push(FieldError::required(&name_path, ""));
        } else {
            own.extend(dns_label(name, &name_path));
        }
        if names.contains(name) {
            own.push(FieldError::duplicate(&name_path, name));
        }
        if own.is_empty() {
            names.insert(name.to_owned());
        } else {
            errors.extend(own);
        }
    }
    names
}

fn volume_source(volume: &Value, path: &FieldPath) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let mut count = 0;
    for key in VOLUME_SOURCES {
        let Some(source) = volume.get(*key).filter(|s| !s.is_null()) else {
            continue;
        };
        if count > 0 {
            errors.push(FieldError::forbidden(
                &path.child(key),
                "may not specify more than 1 volume type",
            ));
            continue;
        }
        count += 1;
        let source_path = path.child(key);
        let required = match *key {
            "hostPath" => Some("path"),
            "secret" => Some("secretName"),
            "configMap" => Some("name"),
            "persistentVolumeClaim" => Some("claimName"),
            "nfs" => Some("server"),
            "csi" => Some("driver"),
            _ => None,
        };
        if let Some(field) = required
            && str_at(source, field).is_empty()
        {
            errors.push(FieldError::required(&source_path.child(field), ""));
        }
        if let Some(mode) = int_at(source, "defaultMode")
            && !(0..=0o777).contains(&mode)
        {
            errors.push(FieldError::invalid(
                &source_path.child("defaultMode"),
                mode,
                FILE_MODE_MESSAGE,
            ));
        }
        for (item_index, item) in list_at(source, "items").iter().enumerate() {
            let item_path = source_path.child("items").index(item_index);
            if matches!(*key, "secret" | "configMap") {
                let item_key = str_at(item, "key");
                if item_key.is_empty() {
                    errors.push(FieldError::required(&item_path.child("key"), ""));
                }
            }
            let item_file = str_at(item, "path");
            if item_file.is_empty() {
                errors.push(FieldError::required(&item_path.child("path"), ""));
            }
            if let Some(mode) = int_at(item, "mode")
                && !(0..=0o777).contains(&mode)
            {
                errors.push(FieldError::invalid(
                    &item_path.child("mode"),
                    mode,
                    FILE_MODE_MESSAGE,
                ));
            }
        }
    }
    if count == 0 {
        errors.push(FieldError::required(path, "must specify a volume type"));
    }
    errors
}

fn containers(
    spec: &Value,
    volumes: &BTreeSet<String>,
    path: &FieldPath,
    names: &mut BTreeSet<String>,
    errors: &mut Vec<FieldError>,
) {
    let path = path.child("containers");
    let list = list_at(spec, "containers");
    if list.is_empty() {
        errors.push(FieldError::required(&path, ""));
        return;
    }
    for (index, container) in list.iter().enumerate() {
        let container_path = path.index(index);
        errors.extend(container_common(container, volumes, &container_path));
        let name = str_at(container, "name");
        if !names.insert(name.to_owned()) {
            errors.push(FieldError::duplicate(&container_path.child("name"), name));
        }
        for (probe, liveness_like) in [
            ("livenessProbe", true),
            ("readinessProbe", false),
            ("startupProbe", true),
        ] {
            if let Some(value) = container.get(probe).filter(|p| !p.is_null()) {
                errors.extend(self::probe(
                    value,
                    &container_path.child(probe),
                    liveness_like,
                ));
            }
        }
        if let Some(policy) = container.get("restartPolicy").and_then(Value::as_str) {
            errors.push(FieldError::forbidden(
                &container_path.child("restartPolicy"),
                &format!("may not be set for non-init containers: {policy}"),
            ));
        }
    }
}

fn init_containers(
    spec: &Value,
    volumes: &BTreeSet<String>,
    path: &FieldPath,
    names: &mut BTreeSet<String>,
    errors: &mut Vec<FieldError>,
) {
    let path = path.child("initContainers");
    for (index, container) in list_at(spec, "initContainers").iter().enumerate() {
        let container_path = path.index(index);
        errors.extend(container_common(container, volumes, &container_path));
        let name = str_at(container, "name");
        if !names.insert(name.to_owned()) {
            errors.push(FieldError::duplicate(&container_path.child("name"), name));
        }
        let sidecar = match container.get("restartPolicy").and_then(Value::as_str) {
            None => false,
            Some("Always") => true,
            Some(other) => {
                errors.push(FieldError::not_supported(
                    &container_path.child("restartPolicy"),
                    other,
                    &["Always"],
                ));
                false
            }
        };
        for (probe, liveness_like) in [
            ("livenessProbe", true),
            ("readinessProbe", false),
            ("startupProbe", true),
        ] {
            let Some(value) = container.get(probe).filter(|p| !p.is_null()) else {
                continue;
            };
            if sidecar {
                errors.extend(self::probe(
                    value,
                    &container_path.child(probe),
                    liveness_like,
                ));
            } else {
                errors.push(FieldError::forbidden(
                    &container_path.child(probe),
                    "may not be set for init containers without restartPolicy=Always",
                ));
            }
        }
    }
}

/// Upstream's `validateContainerCommon`.
fn container_common(
    container: &Value,
    volumes: &BTreeSet<String>,
    path: &FieldPath,
) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let name = str_at(container, "name");
    if name.is_empty() {
        errors.push(FieldError::required(&path.child("name"), ""));
    } else {
        errors.extend(dns_label(name, &path.child("name")));
    }
    if str_at(container, "image").is_empty() {
        errors.push(FieldError::required(&path.child("image"), ""));
    }
    errors.extend(one_of(
        str_at(container, "terminationMessagePolicy"),
        TERMINATION_MESSAGE_POLICIES,
        &path.child("terminationMessagePolicy"),
    ));
    errors.extend(ports(list_at(container, "ports"), &path.child("ports")));
    errors.extend(env(list_at(container, "env"), &path.child("env")));
    errors.extend(volume_mounts(
        list_at(container, "volumeMounts"),
        volumes,
        &path.child("volumeMounts"),
    ));
    errors.extend(one_of(
        str_at(container, "imagePullPolicy"),
        PULL_POLICIES,
        &path.child("imagePullPolicy"),
    ));
    if let Some(resources) = container.get("resources") {
        errors.extend(requests_within_limits(resources, &path.child("resources")));
    }
    errors
}

fn ports(list: &[Value], path: &FieldPath) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let mut names = BTreeSet::new();
    for (index, port) in list.iter().enumerate() {
        let port_path = path.index(index);
        let name = str_at(port, "name");
        if !name.is_empty() {
            let messages = port_name(name);
            if !messages.is_empty() {
                errors.extend(
                    messages
                        .iter()
                        .map(|m| FieldError::invalid(&port_path.child("name"), name, m)),
                );
            } else if !names.insert(name) {
                errors.push(FieldError::duplicate(&port_path.child("name"), name));
            }
        }
        match int_at(port, "containerPort").unwrap_or(0) {
            0 => errors.push(FieldError::required(&port_path.child("containerPort"), "")),
            number => errors.extend(
                port_number(number)
                    .iter()
                    .map(|m| FieldError::invalid(&port_path.child("containerPort"), number, m)),
            ),
        }
        let host = int_at(port, "hostPort").unwrap_or(0);
        if host != 0 {
            errors.extend(
                port_number(host)
                    .iter()
                    .map(|m| FieldError::invalid(&port_path.child("hostPort"), host, m)),
            );
        }
        errors.extend(one_of(
            str_at(port, "protocol"),
            PROTOCOLS,
            &port_path.child("protocol"),
        ));
    }
    errors
}

fn env(list: &[Value], path: &FieldPath) -> Vec<FieldError> {
    let mut errors = Vec::new();
    for (index, variable) in list.iter().enumerate() {
        let variable_path = path.index(index);
        let name = str_at(variable, "name");
        if name.is_empty() {
            errors.push(FieldError::required(&variable_path.child("name"), ""));
        } else {
            errors.extend(
                env_var_name(name)
                    .iter()
                    .map(|m| FieldError::invalid(&variable_path.child("name"), name, m)),
            );
        }
        let Some(from) = variable.get("valueFrom").filter(|v| !v.is_null()) else {
            continue;
        };
        let from_path = variable_path.child("valueFrom");
        if !str_at(variable, "value").is_empty() {
            errors.push(FieldError::invalid(
                &from_path,
                "",
                "may not be specified when `value` is not empty",
            ));
        }
        let sources: Vec<&str> = [
            "fieldRef",
            "resourceFieldRef",
            "configMapKeyRef",
            "secretKeyRef",
            "fileKeyRef",
        ]
        .into_iter()
        .filter(|key| from.get(*key).is_some_and(|v| !v.is_null()))
        .collect();
        match sources.as_slice() {
            [] => errors.push(FieldError::invalid(
                &from_path,
                "",
                "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`",
            )),
            [_] => {}
            _ => errors.push(FieldError::invalid(
                &from_path,
                "",
                "may not have more than one field specified at a time",
            )),
        }
        for key in ["configMapKeyRef", "secretKeyRef"] {
            if let Some(reference) = from.get(key).filter(|v| !v.is_null()) {
                let key_path = from_path.child(key).child("key");
                let value = str_at(reference, "key");
                if value.is_empty() {
                    errors.push(FieldError::required(&key_path, ""));
                } else {
                    errors.extend(
                        config_map_key(value)
                            .iter()
                            .map(|m| FieldError::invalid(&key_path, value, m)),
                    );
                }
            }
        }
        if let Some(field_ref) = from.get("fieldRef").filter(|v| !v.is_null())
            && str_at(field_ref, "fieldPath").is_empty()
        {
            errors.push(FieldError::required(
                &from_path.child("fieldRef").child("fieldPath"),
                "",
            ));
        }
    }
    errors
}

fn volume_mounts(list: &[Value], volumes: &BTreeSet<String>, path: &FieldPath) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let mut paths = BTreeSet::new();
    for (index, mount) in list.iter().enumerate() {
        let mount_path = path.index(index);
        let name = str_at(mount, "name");
        if name.is_empty() {
            errors.push(FieldError::required(&mount_path.child("name"), ""));
        } else if !volumes.contains(name) {
            errors.push(FieldError::not_found(&mount_path.child("name"), name));
        }
        let target = str_at(mount, "mountPath");
        if target.is_empty() {
            errors.push(FieldError::required(&mount_path.child("mountPath"), ""));
        }
        if !paths.insert(target) {
            errors.push(FieldError::invalid(
                &mount_path.child("mountPath"),
                target,
                "must be unique",
            ));
        }
    }
    errors
}

/// Requests may not exceed limits (`spec.containers[0].resources.requests[cpu]: Invalid value:
/// "2": must be less than or equal to cpu limit of 1`).
fn requests_within_limits(resources: &Value, path: &FieldPath) -> Vec<FieldError> {
    let requests = string_map(resources.get("requests"));
    let limits: BTreeMap<String, String> = string_map(resources.get("limits"));
    let mut errors = Vec::new();
    for (name, request) in &requests {
        let Some(limit) = limits.get(name) else {
            continue;
        };
        if let (Some(r), Some(l)) = (parse_quantity(request), parse_quantity(limit))
            && r > l
        {
            errors.push(FieldError::invalid(
                &path.child("requests").key(name),
                request.as_str(),
                &format!("must be less than or equal to {name} limit of {limit}"),
            ));
        }
    }
    errors
}

/// Upstream's `validateProbe`, plus the liveness and startup rule that `successThreshold` is 1.
fn probe(probe: &Value, path: &FieldPath, success_must_be_one: bool) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let handlers: Vec<&str> = ["exec", "httpGet", "tcpSocket", "grpc"]
        .into_iter()
        .filter(|key| probe.get(*key).is_some_and(|v| !v.is_null()))
        .collect();
    match handlers.as_slice() {
        [] => errors.push(FieldError::required(path, "must specify a handler type")),
        [_] => {}
        [_, rest @ ..] => {
            for extra in rest {
                errors.push(FieldError::forbidden(
                    &path.child(extra),
                    "may not specify more than 1 handler type",
                ));
            }
        }
    }
    for field in [
        "initialDelaySeconds",
        "timeoutSeconds",
        "periodSeconds",
        "successThreshold",
        "failureThreshold",
    ] {
        errors.extend(nonnegative(int_at(probe, field), &path.child(field)));
    }
    if let Some(grace) = int_at(probe, "terminationGracePeriodSeconds")
        && grace <= 0
    {
        errors.push(FieldError::invalid(
            &path.child("terminationGracePeriodSeconds"),
            grace,
            "must be greater than 0",
        ));
    }
    if success_must_be_one
        && let Some(threshold) = int_at(probe, "successThreshold")
        && threshold != 1
    {
        errors.push(FieldError::invalid(
            &path.child("successThreshold"),
            threshold,
            "must be 1",
        ));
    }
    errors
}

fn tolerations(list: &[Value], path: &FieldPath) -> Vec<FieldError> {
    let mut errors = Vec::new();
    for (index, toleration) in list.iter().enumerate() {
        let toleration_path = path.index(index);
        let key = str_at(toleration, "key");
        if !key.is_empty() {
            errors.extend(names::validate_label_name(
                key,
                &toleration_path.child("key"),
            ));
        }
        let operator = str_at(toleration, "operator");
        if key.is_empty() && operator != "Exists" {
            errors.push(FieldError::invalid(
                &toleration_path.child("operator"),
                operator,
                "operator must be Exists when `key` is empty, which means \"match all values and all keys\"",
            ));
        }
        match operator {
            "" | "Equal" => {
                let value = str_at(toleration, "value");
                errors.extend(
                    names::is_label_value(value)
                        .iter()
                        .map(|m| FieldError::invalid(&toleration_path.child("value"), value, m)),
                );
            }
            "Exists" => {
                if !str_at(toleration, "value").is_empty() {
                    errors.push(FieldError::invalid(
                        &toleration_path.child("operator"),
                        toleration.clone(),
                        "value must be empty when `operator` is 'Exists'",
                    ));
                }
            }
            other => errors.push(FieldError::not_supported(
                &toleration_path.child("operator"),
                other,
                &["Equal", "Exists"],
            )),
        }
        let effect = str_at(toleration, "effect");
        if !effect.is_empty() && !["NoSchedule", "PreferNoSchedule", "NoExecute"].contains(&effect)
        {
            errors.push(FieldError::not_supported(
                &toleration_path.child("effect"),
                effect,
                &["NoSchedule", "PreferNoSchedule", "NoExecute"],
            ));
        }
        if toleration
            .get("tolerationSeconds")
            .is_some_and(|s| !s.is_null())
            && effect != "NoExecute"
        {
            errors.push(FieldError::invalid(
                &toleration_path.child("effect"),
                effect,
                "effect must be 'NoExecute' when `tolerationSeconds` is set",
            ));
        }
    }
    errors
}

/// Upstream's `ValidatePodTemplateSpec`: the template's labels and annotations, its pod spec,
/// and no ephemeral containers.
pub fn pod_template_spec(template: &Value, path: &FieldPath) -> Vec<FieldError> {
    let empty = Value::Null;
    let metadata = template.get("metadata").unwrap_or(&empty);
    let mut errors =
        names::validate_labels(&string_map(metadata.get("labels")), &path.child("labels"));
    errors.extend(names::validate_annotations(
        &string_map(metadata.get("annotations")),
        &path.child("annotations"),
    ));
    let spec = template.get("spec").unwrap_or(&empty);
    errors.extend(pod_spec(spec, &path.child("spec")));
    if !list_at(spec, "ephemeralContainers").is_empty() {
        errors.push(FieldError::forbidden(
            &path.child("spec").child("ephemeralContainers"),
            "ephemeral containers not allowed in pod template",
        ));
    }
    errors
}

/// The template checks of controllers whose pods always restart (ReplicationController,
/// ReplicaSet, Deployment, StatefulSet, DaemonSet): `restartPolicy: Always`, no deadline.
pub fn restarting_template(template: &Value, path: &FieldPath, kind: &str) -> Vec<FieldError> {
    let empty = Value::Null;
    let spec = template.get("spec").unwrap_or(&empty);
    let mut errors = Vec::new();
    let restart = str_at(spec, "restartPolicy");
    if restart != "Always" {
        errors.push(FieldError::not_supported(
            &path.child("spec").child("restartPolicy"),
            restart,
            &["Always"],
        ));
    }
    if spec
        .get("activeDeadlineSeconds")
        .is_some_and(|d| !d.is_null())
    {
        errors.push(FieldError::forbidden(
            &path.child("spec").child("activeDeadlineSeconds"),
            &format!("activeDeadlineSeconds in {kind} is not Supported"),
        ));
    }
    errors
}

// === kinds ===

/// Pod: its spec, and no ephemeral containers on create.
pub fn pod(object: &Value) -> Vec<FieldError> {
    let empty = Value::Null;
    let spec = object.get("spec").unwrap_or(&empty);
    let path = FieldPath::new("spec");
    let mut errors = pod_spec(spec, &path);
    if !list_at(spec, "ephemeralContainers").is_empty() {
        errors.push(FieldError::forbidden(
            &path.child("ephemeralContainers"),
            "cannot be set on create",
        ));
    }
    errors
}

/// The fields of a Pod's spec an update may change.
const POD_UPDATABLE: &str = "`spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)";

/// Pod update: apart from images, the deadline, added tolerations and scheduling gates being
/// removed, the spec is immutable. (Upstream appends a diff of the two specs to the message; this
/// reports the same error without it.)
pub fn pod_update(new: &Value, old: &Value) -> Vec<FieldError> {
    let strip = |pod: &Value| -> Value {
        let mut spec = pod.get("spec").cloned().unwrap_or(Value::Null);
        for key in ["containers", "initContainers"] {
            for container in spec
                .get_mut(key)
                .and_then(Value::as_array_mut)
                .into_iter()
                .flatten()
            {
                if let Some(map) = container.as_object_mut() {
                    map.remove("image");
                }
            }
        }
        if let Some(map) = spec.as_object_mut() {
            for key in [
                "activeDeadlineSeconds",
                "tolerations",
                "schedulingGates",
                "terminationGracePeriodSeconds",
                "ephemeralContainers",
            ] {
                map.remove(key);
            }
        }
        spec
    };
    let mut errors = Vec::new();
    if strip(new) != strip(old) {
        errors.push(FieldError::forbidden(
            &FieldPath::new("spec"),
            &format!("pod updates may not change fields other than {POD_UPDATABLE}"),
        ));
    }
    let empty = Value::Null;
    let new_spec = new.get("spec").unwrap_or(&empty);
    let old_spec = old.get("spec").unwrap_or(&empty);
    for key in ["containers", "initContainers"] {
        for (index, container) in list_at(new_spec, key).iter().enumerate() {
            if str_at(container, "image").is_empty() && list_at(old_spec, key).get(index).is_some()
            {
                errors.push(FieldError::required(
                    &FieldPath::new("spec")
                        .child(key)
                        .index(index)
                        .child("image"),
                    "",
                ));
            }
        }
    }
    errors
}

/// PodTemplate: its template.
pub fn pod_template(object: &Value) -> Vec<FieldError> {
    let empty = Value::Null;
    pod_template_spec(
        object.get("template").unwrap_or(&empty),
        &FieldPath::new("template"),
    )
}

/// ReplicationController: a non-empty selector that selects the template, which restarts always.
pub fn replication_controller(object: &Value) -> Vec<FieldError> {
    let empty = Value::Null;
    let spec = object.get("spec").unwrap_or(&empty);
    let path = FieldPath::new("spec");
    let mut errors = Vec::new();
    let selector = string_map(spec.get("selector"));
    if selector.is_empty() {
        errors.push(FieldError::required(&path.child("selector"), ""));
    } else {
        errors.extend(names::validate_labels(&selector, &path.child("selector")));
    }
    errors.extend(nonnegative(
        int_at(spec, "replicas"),
        &path.child("replicas"),
    ));
    errors.extend(nonnegative(
        int_at(spec, "minReadySeconds"),
        &path.child("minReadySeconds"),
    ));
    let template_path = path.child("template");
    match spec.get("template").filter(|t| !t.is_null()) {
        None => errors.push(FieldError::required(&template_path, "")),
        Some(template) => {
            if !selector.is_empty() {
                let selector = k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector {
                    match_labels: Some(selector),
                    match_expressions: None,
                };
                errors.extend(template_matches(&selector, spec, &path));
            }
            errors.extend(pod_template_spec(template, &template_path));
            errors.extend(restarting_template(
                template,
                &template_path,
                "ReplicationController",
            ));
        }
    }
    errors
}

const SERVICE_TYPES: &[&str] = &["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"];

/// Service: type and affinity values, ports (required unless headless or ExternalName, named
/// when several, numbers in range, protocols, target ports), selector labels, the external name.
pub fn service(object: &Value) -> Vec<FieldError> {
    let empty = Value::Null;
    let spec = object.get("spec").unwrap_or(&empty);
    let path = FieldPath::new("spec");
    let mut errors = Vec::new();
    let kind = str_at(spec, "type");
    let headless = str_at(spec, "clusterIP") == "None";
    let ports = list_at(spec, "ports");
    if ports.is_empty() && !headless && kind != "ExternalName" {
        errors.push(FieldError::required(&path.child("ports"), ""));
    }
    if kind == "ExternalName" {
        let external = str_at(spec, "externalName");
        if external.is_empty() {
            errors.push(FieldError::required(&path.child("externalName"), ""));
        } else {
            let trimmed = external.strip_suffix('.').unwrap_or(external);
            errors.extend(dns_subdomain(trimmed, &path.child("externalName")));
        }
    }
    let mut port_names = BTreeSet::new();
    for (index, port) in ports.iter().enumerate() {
        let port_path = path.child("ports").index(index);
        let name = str_at(port, "name");
        if ports.len() > 1 && name.is_empty() {
            errors.push(FieldError::required(&port_path.child("name"), ""));
        } else if !name.is_empty() {
            errors.extend(dns_label(name, &port_path.child("name")));
            if !port_names.insert(name) {
                errors.push(FieldError::duplicate(&port_path.child("name"), name));
            }
        }
        let number = int_at(port, "port").unwrap_or(0);
        errors.extend(
            port_number(number)
                .iter()
                .map(|m| FieldError::invalid(&port_path.child("port"), number, m)),
        );
        errors.extend(one_of(
            str_at(port, "protocol"),
            PROTOCOLS,
            &port_path.child("protocol"),
        ));
        match port.get("targetPort") {
            Some(Value::Number(n)) => {
                let target = n.as_i64().unwrap_or(0);
                errors.extend(
                    port_number(target)
                        .iter()
                        .map(|m| FieldError::invalid(&port_path.child("targetPort"), target, m)),
                );
            }
            Some(Value::String(target)) => {
                errors.extend(port_name(target).iter().map(|m| {
                    FieldError::invalid(&port_path.child("targetPort"), target.as_str(), m)
                }))
            }
            _ => {}
        }
        if let Some(node_port) = int_at(port, "nodePort")
            && node_port != 0
        {
            errors.extend(
                port_number(node_port)
                    .iter()
                    .map(|m| FieldError::invalid(&port_path.child("nodePort"), node_port, m)),
            );
        }
    }
    errors.extend(one_of(kind, SERVICE_TYPES, &path.child("type")));
    errors.extend(one_of(
        str_at(spec, "sessionAffinity"),
        &["ClientIP", "None"],
        &path.child("sessionAffinity"),
    ));
    errors.extend(names::validate_labels(
        &string_map(spec.get("selector")),
        &path.child("selector"),
    ));
    errors
}

/// Service update: the cluster IP may not change once set.
pub fn service_update(new: &Value, old: &Value) -> Vec<FieldError> {
    let path = FieldPath::new("spec");
    let old_ip = old
        .get("spec")
        .map(|s| str_at(s, "clusterIP"))
        .unwrap_or_default();
    let new_ip = new
        .get("spec")
        .map(|s| str_at(s, "clusterIP"))
        .unwrap_or_default();
    let mut errors = Vec::new();
    let external_name = new.get("spec").map(|s| str_at(s, "type")) == Some("ExternalName");
    // An update that leaves the address out keeps the allocated one (upstream patches it back).
    if !old_ip.is_empty() && !new_ip.is_empty() && !external_name && new_ip != old_ip {
        errors.push(FieldError::invalid(
            &path.child("clusterIPs").index(0),
            new_ip,
            "may not change once set",
        ));
    }
    errors
}

fn data_keys(object: &Value, errors: &mut Vec<FieldError>) -> usize {
    let data = object.get("data").and_then(Value::as_object);
    let binary = object.get("binaryData").and_then(Value::as_object);
    let mut total = 0;
    for (field, map, other, other_name) in [
        ("data", data, binary, "binaryData"),
        ("binaryData", binary, data, "data"),
    ] {
        for (key, value) in map.into_iter().flatten() {
            let path = FieldPath::new(field).key(key);
            errors.extend(
                config_map_key(key)
                    .iter()
                    .map(|m| FieldError::invalid(&path, key.as_str(), m)),
            );
            if other.is_some_and(|o| o.contains_key(key)) {
                errors.push(FieldError::invalid(
                    &path,
                    key.as_str(),
                    &format!("duplicate of key present in {other_name}"),
                ));
            }
            total += value.as_str().map_or(0, str::len);
        }
    }
    total
}

/// ConfigMap: valid keys, not repeated across `data` and `binaryData`, at most 1 MiB.
pub fn config_map(object: &Value) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let total = data_keys(object, &mut errors);
    if total > MAX_SECRET_SIZE {
        errors.push(FieldError::too_long(
            &FieldPath::root(),
            Some(MAX_SECRET_SIZE),
        ));
    }
    errors
}

/// An immutable ConfigMap or Secret keeps its payload, and stays immutable.
fn immutable_payload(new: &Value, old: &Value, fields: &[&str]) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if old.get("immutable").and_then(Value::as_bool) != Some(true) {
        return errors;
    }
    const MESSAGE: &str = "field is immutable when `immutable` is set";
    if new.get("immutable").and_then(Value::as_bool) != Some(true) {
        errors.push(FieldError::forbidden(&FieldPath::new("immutable"), MESSAGE));
    }
    for field in fields {
        let normal = |v: &Value| {
            v.get(*field)
                .filter(|d| d.as_object().is_some_and(|m| !m.is_empty()))
                .cloned()
        };
        if normal(new) != normal(old) {
            errors.push(FieldError::forbidden(&FieldPath::new(field), MESSAGE));
        }
    }
    errors
}

/// ConfigMap update: immutable payload when `immutable: true`.
pub fn config_map_update(new: &Value, old: &Value) -> Vec<FieldError> {
    immutable_payload(new, old, &["data", "binaryData"])
}

/// Secret: valid keys, at most 1 MiB decoded, and the keys each built-in type requires.
pub fn secret(object: &Value) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let data_path = FieldPath::new("data");
    let data = object.get("data").and_then(Value::as_object);
    let mut total = 0;
    for (key, value) in data.into_iter().flatten() {
        errors.extend(
            config_map_key(key)
                .iter()
                .map(|m| FieldError::invalid(&data_path.key(key), key.as_str(), m)),
        );
        total += value.as_str().map_or(0, decoded_len);
    }
    if total > MAX_SECRET_SIZE {
        errors.push(FieldError::too_long(&data_path, Some(MAX_SECRET_SIZE)));
    }
    let has = |key: &str| data.is_some_and(|d| d.contains_key(key));
    let require = |key: &str, errors: &mut Vec<FieldError>| {
        if !has(key) {
            errors.push(FieldError::required(&data_path.key(key), ""));
        }
    };
    match str_at(object, "type") {
        "kubernetes.io/service-account-token" => {
            let annotations = object.get("metadata").and_then(|m| m.get("annotations"));
            if string_map(annotations)
                .get("kubernetes.io/service-account.name")
                .is_none_or(String::is_empty)
            {
                errors.push(FieldError::required(
                    &FieldPath::new("metadata")
                        .child("annotations")
                        .key("kubernetes.io/service-account.name"),
                    "",
                ));
            }
        }
        "kubernetes.io/dockercfg" => require(".dockercfg", &mut errors),
        "kubernetes.io/dockerconfigjson" => require(".dockerconfigjson", &mut errors),
        "kubernetes.io/basic-auth" if !has("username") && !has("password") => {
            errors.push(FieldError::required(&data_path.key("username"), ""));
            errors.push(FieldError::required(&data_path.key("password"), ""));
        }
        "kubernetes.io/ssh-auth" => require("ssh-privatekey", &mut errors),
        "kubernetes.io/tls" => {
            require("tls.crt", &mut errors);
            require("tls.key", &mut errors);
        }
        _ => {}
    }
    errors
}

fn decoded_len(encoded: &str) -> usize {
    let padding = encoded.bytes().rev().take_while(|b| *b == b'=').count();
    (encoded.len() / 4 * 3).saturating_sub(padding)
}

/// Secret update: the type never changes; immutable payload when `immutable: true`.
pub fn secret_update(new: &Value, old: &Value) -> Vec<FieldError> {
    let mut errors = immutable(new.get("type"), old.get("type"), &FieldPath::new("type"));
    errors.extend(immutable_payload(new, old, &["data"]));
    errors
}

/// The finalizers upstream knows without a domain.
const STANDARD_FINALIZERS: &[&str] = &["kubernetes", "orphan", "foregroundDeletion"];

/// Namespace: the spec's finalizers are qualified or standard names.
pub fn namespace(object: &Value) -> Vec<FieldError> {
    let path = FieldPath::new("spec").child("finalizers");
    let mut errors = Vec::new();
    let empty = Value::Null;
    for finalizer in list_at(object.get("spec").unwrap_or(&empty), "finalizers")
        .iter()
        .filter_map(Value::as_str)
    {
        errors.extend(
            names::is_qualified_name(finalizer)
                .iter()
                .map(|m| FieldError::invalid(&path, finalizer, m)),
        );
        if !finalizer.contains('/') && !STANDARD_FINALIZERS.contains(&finalizer) {
            errors.push(FieldError::invalid(
                &path,
                finalizer,
                "name is neither a standard finalizer name nor is it fully qualified",
            ));
        }
    }
    errors
}

const ACCESS_MODES: &[&str] = &[
    "ReadOnlyMany",
    "ReadWriteMany",
    "ReadWriteOnce",
    "ReadWriteOncePod",
];

fn access_modes(spec: &Value, path: &FieldPath) -> Vec<FieldError> {
    let modes = list_at(spec, "accessModes");
    let mut errors = Vec::new();
    if modes.is_empty() {
        errors.push(FieldError::required(
            &path.child("accessModes"),
            "at least 1 access mode is required",
        ));
    }
    for mode in modes.iter().filter_map(Value::as_str) {
        if !ACCESS_MODES.contains(&mode) {
            errors.push(FieldError::not_supported(
                &path.child("accessModes"),
                mode,
                ACCESS_MODES,
            ));
        }
    }
    errors
}

/// PersistentVolumeClaim: access modes and a storage request.
pub fn persistent_volume_claim(object: &Value) -> Vec<FieldError> {
    let empty = Value::Null;
    claim_spec(
        object.get("spec").unwrap_or(&empty),
        &FieldPath::new("spec"),
    )
}

/// A claim spec (also StatefulSet claim templates).
pub fn claim_spec(spec: &Value, path: &FieldPath) -> Vec<FieldError> {
    let mut errors = access_modes(spec, path);
    let requests = spec.get("resources").and_then(|r| r.get("requests"));
    if requests
        .and_then(|r| r.get("storage"))
        .is_none_or(Value::is_null)
    {
        errors.push(FieldError::required(
            &path.child("resources").key("storage"),
            "",
        ));
    }
    let mode = str_at(spec, "volumeMode");
    if !mode.is_empty() && !["Block", "Filesystem"].contains(&mode) {
        errors.push(FieldError::not_supported(
            &path.child("volumeMode"),
            mode,
            &["Block", "Filesystem"],
        ));
    }
    errors
}

/// PersistentVolumeClaim update: only the storage request, and a few metadata-like fields, may
/// change; the rest of the spec is fixed once bound. Here: the access modes, selector, class and
/// volume mode are immutable.
pub fn persistent_volume_claim_update(new: &Value, old: &Value) -> Vec<FieldError> {
    let path = FieldPath::new("spec");
    let mut errors = Vec::new();
    let empty = Value::Null;
    let new_spec = new.get("spec").unwrap_or(&empty);
    let old_spec = old.get("spec").unwrap_or(&empty);
    let strip = |spec: &Value| {
        let mut spec = spec.clone();
        if let Some(map) = spec.as_object_mut() {
            map.remove("resources");
            map.remove("volumeAttributesClassName");
            if old_spec
                .get("volumeName")
                .is_none_or(|v| v.as_str() == Some(""))
            {
                map.remove("volumeName");
            }
        }
        spec
    };
    if strip(new_spec) != strip(old_spec) {
        errors.push(FieldError::forbidden(
            &path,
            "spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims",
        ));
    }
    errors
}

/// PersistentVolume: capacity, access modes, exactly one source, a known reclaim policy.
pub fn persistent_volume(object: &Value) -> Vec<FieldError> {
    let empty = Value::Null;
    let spec = object.get("spec").unwrap_or(&empty);
    let path = FieldPath::new("spec");
    let mut errors = access_modes(spec, &path);
    let capacity = string_map(spec.get("capacity"));
    if capacity.is_empty() {
        errors.push(FieldError::required(&path.child("capacity"), ""));
    } else if !capacity.contains_key("storage") || capacity.len() > 1 {
        errors.push(FieldError::not_supported(
            &path.child("capacity"),
            Value::from(capacity.keys().cloned().collect::<Vec<_>>()),
            &["storage"],
        ));
    }
    let sources: Vec<&&str> = VOLUME_SOURCES
        .iter()
        .chain(["local"].iter())
        .filter(|key| spec.get(**key).is_some_and(|v| !v.is_null()))
        .collect();
    match sources.len() {
        0 => errors.push(FieldError::required(&path, "must specify a volume type")),
        1 => {}
        _ => {
            for extra in &sources[1..] {
                errors.push(FieldError::forbidden(
                    &path.child(extra),
                    "may not specify more than 1 volume type",
                ));
            }
        }
    }
    let policy = str_at(spec, "persistentVolumeReclaimPolicy");
    if !policy.is_empty() && !["Delete", "Recycle", "Retain"].contains(&policy) {
        errors.push(FieldError::not_supported(
            &path.child("persistentVolumeReclaimPolicy"),
            policy,
            &["Delete", "Recycle", "Retain"],
        ));
    }
    errors
}

/// ServiceAccount: the secrets and image pull secrets it lists are named.
pub fn service_account(object: &Value) -> Vec<FieldError> {
    let mut errors = Vec::new();
    for field in ["secrets", "imagePullSecrets"] {
        for (index, reference) in list_at(object, field).iter().enumerate() {
            if str_at(reference, "name").is_empty() {
                errors.push(FieldError::required(
                    &FieldPath::new(field).index(index).child("name"),
                    "",
                ));
            }
        }
    }
    errors
}

/// Endpoints: addresses are IPs, ports in range, names DNS labels, protocols known.
pub fn endpoints(object: &Value) -> Vec<FieldError> {
    let mut errors = Vec::new();
    for (index, subset) in list_at(object, "subsets").iter().enumerate() {
        let subset_path = FieldPath::new("subsets").index(index);
        for field in ["addresses", "notReadyAddresses"] {
            for (address_index, address) in list_at(subset, field).iter().enumerate() {
                let ip = str_at(address, "ip");
                if ip.parse::<std::net::IpAddr>().is_err() {
                    errors.push(FieldError::invalid(
                        &subset_path.child(field).index(address_index).child("ip"),
                        ip,
                        "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
                    ));
                }
            }
        }
        let ports = list_at(subset, "ports");
        for (port_index, port) in ports.iter().enumerate() {
            let port_path = subset_path.child("ports").index(port_index);
            let name = str_at(port, "name");
            if ports.len() > 1 && name.is_empty() {
                errors.push(FieldError::required(&port_path.child("name"), ""));
            } else if !name.is_empty() {
                errors.extend(dns_label(name, &port_path.child("name")));
            }
            let number = int_at(port, "port").unwrap_or(0);
            errors.extend(
                port_number(number)
                    .iter()
                    .map(|m| FieldError::invalid(&port_path.child("port"), number, m)),
            );
            errors.extend(one_of(
                str_at(port, "protocol"),
                PROTOCOLS,
                &port_path.child("protocol"),
            ));
        }
    }
    errors
}

/// Event (core/v1): an old-style event's involved object lives in the event's namespace; a
/// new-style one (with `reportingController`) names its controller, instance, action and reason.
pub fn event(object: &Value) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let empty = Value::Null;
    let involved = object.get("involvedObject").unwrap_or(&empty);
    let namespace = object
        .get("metadata")
        .map(|m| str_at(m, "namespace"))
        .unwrap_or_default();
    let involved_namespace = str_at(involved, "namespace");
    let controller = str_at(object, "reportingComponent");
    if controller.is_empty() {
        if !involved_namespace.is_empty() && involved_namespace != namespace {
            errors.push(FieldError::invalid(
                &FieldPath::new("involvedObject").child("namespace"),
                involved_namespace,
                "does not match event.namespace",
            ));
        }
        return errors;
    }
    errors.extend(
        names::is_qualified_name(controller)
            .iter()
            .map(|m| FieldError::invalid(&FieldPath::new("reportingController"), controller, m)),
    );
    for (field, path, limit) in [
        ("reportingInstance", "reportingInstance", 128),
        ("action", "action", 128),
        ("reason", "reason", 128),
    ] {
        let value = str_at(object, field);
        if value.is_empty() {
            errors.push(FieldError::required(&FieldPath::new(path), ""));
        } else if value.len() > limit {
            errors.push(FieldError::invalid(
                &FieldPath::new(path),
                "",
                &format!("can have at most {limit} characters"),
            ));
        }
    }
    let kind = str_at(object, "type");
    if !kind.is_empty() && !["Normal", "Warning"].contains(&kind) {
        errors.push(FieldError::invalid(
            &FieldPath::new("type"),
            "",
            &format!("has invalid value: {kind}"),
        ));
    }
    errors
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::registry::{defaults, validation::rendered};

    fn defaulted_pod(spec: Value) -> Value {
        let mut object = json!({"metadata": {"name": "p", "namespace": "default"}, "spec": spec});
        defaults::core::pod(&mut object);
        object
    }

    #[test]
    fn pod_cases() {
        let cases: Vec<(&str, Value, Vec<&str>)> = vec![
            (
                "valid",
                json!({"containers": [{"name": "c", "image": "nginx", "ports": [{"containerPort": 80, "name": "http"}]}]}),
                vec![],
            ),
            (
                "no containers",
                json!({"containers": []}),
                vec!["spec.containers: Required value"],
            ),
            (
                "no image and bad name",
                json!({"containers": [{"name": "Web"}]}),
                vec![
                    "spec.containers[0].name: Invalid value: \"Web\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
                    "spec.containers[0].image: Required value",
                ],
            ),
            (
                "duplicate names",
                json!({"containers": [{"name": "c", "image": "i"}], "initContainers": [{"name": "c", "image": "i"}]}),
                vec!["spec.initContainers[0].name: Duplicate value: \"c\""],
            ),
            (
                "ports",
                json!({"containers": [{"name": "c", "image": "i", "ports": [
                    {"containerPort": 0}, {"containerPort": 70000, "hostPort": -1, "protocol": "ICMP", "name": "Http"}]}]}),
                vec![
                    "spec.containers[0].ports[0].containerPort: Required value",
                    "spec.containers[0].ports[1].name: Invalid value: \"Http\": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)",
                    "spec.containers[0].ports[1].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive",
                    "spec.containers[0].ports[1].hostPort: Invalid value: -1: must be between 1 and 65535, inclusive",
                    "spec.containers[0].ports[1].protocol: Unsupported value: \"ICMP\": supported values: \"SCTP\", \"TCP\", \"UDP\"",
                ],
            ),
            (
                "policies",
                json!({"containers": [{"name": "c", "image": "i", "imagePullPolicy": "Sometimes"}], "restartPolicy": "Maybe", "dnsPolicy": "None"}),
                vec![
                    "spec.containers[0].imagePullPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", \"IfNotPresent\", \"Never\"",
                    "spec.restartPolicy: Unsupported value: \"Maybe\": supported values: \"Always\", \"OnFailure\", \"Never\"",
                    "spec.dnsConfig: Required value: must provide `dnsConfig` when `dnsPolicy` is None",
                ],
            ),
            (
                "volumes and mounts",
                json!({"containers": [{"name": "c", "image": "i", "volumeMounts": [{"name": "missing", "mountPath": "/a"}, {"name": "v", "mountPath": "/a"}]}],
                    "volumes": [{"name": "v"}, {"name": "two", "emptyDir": {}, "hostPath": {"path": "/x"}}, {"name": "cm", "configMap": {"defaultMode": 1000}}]}),
                vec![
                    "spec.volumes[1].emptyDir: Forbidden: may not specify more than 1 volume type",
                    "spec.volumes[2].configMap.name: Required value",
                    "spec.volumes[2].configMap.defaultMode: Invalid value: 1000: must be a number between 0 and 0777 (octal), both inclusive",
                    "spec.containers[0].volumeMounts[0].name: Not found: \"missing\"",
                    "spec.containers[0].volumeMounts[1].mountPath: Invalid value: \"/a\": must be unique",
                ],
            ),
            (
                "probes and resources",
                json!({"containers": [{"name": "c", "image": "i",
                    "livenessProbe": {"successThreshold": 2, "periodSeconds": -1},
                    "readinessProbe": {"exec": {"command": ["x"]}, "httpGet": {"port": 80}},
                    "resources": {"requests": {"cpu": "2"}, "limits": {"cpu": "1"}}}]}),
                vec![
                    "spec.containers[0].resources.requests[cpu]: Invalid value: \"2\": must be less than or equal to cpu limit of 1",
                    "spec.containers[0].livenessProbe: Required value: must specify a handler type",
                    "spec.containers[0].livenessProbe.periodSeconds: Invalid value: -1: must be greater than or equal to 0",
                    "spec.containers[0].livenessProbe.successThreshold: Invalid value: 2: must be 1",
                    "spec.containers[0].readinessProbe.httpGet: Forbidden: may not specify more than 1 handler type",
                ],
            ),
            (
                "env",
                json!({"containers": [{"name": "c", "image": "i", "env": [{"name": ""}, {"name": "A=B"},
                    {"name": "X", "value": "v", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}]}]}),
                vec![
                    "spec.containers[0].env[0].name: Required value",
                    "spec.containers[0].env[1].name: Invalid value: \"A=B\": a valid environment variable name must consist only of printable ASCII characters other than '='",
                    "spec.containers[0].env[2].valueFrom: Invalid value: \"\": may not be specified when `value` is not empty",
                ],
            ),
            (
                "tolerations and deadline",
                json!({"containers": [{"name": "c", "image": "i"}], "activeDeadlineSeconds": 0,
                    "tolerations": [{"operator": "Equal", "value": "x"}, {"key": "k", "operator": "Exists", "effect": "NoSchedule", "tolerationSeconds": 5}]}),
                vec![
                    "spec.activeDeadlineSeconds: Invalid value: 0: must be between 1 and 2147483647, inclusive",
                    "spec.tolerations[0].operator: Invalid value: \"Equal\": operator must be Exists when `key` is empty, which means \"match all values and all keys\"",
                    "spec.tolerations[1].effect: Invalid value: \"NoSchedule\": effect must be 'NoExecute' when `tolerationSeconds` is set",
                ],
            ),
            (
                "ephemeral containers on create",
                json!({"containers": [{"name": "c", "image": "i"}], "ephemeralContainers": [{"name": "e", "image": "i"}]}),
                vec!["spec.ephemeralContainers: Forbidden: cannot be set on create"],
            ),
        ];
        for (name, spec, expected) in cases {
            assert_eq!(rendered(&pod(&defaulted_pod(spec))), expected, "{name}");
        }
    }

    #[test]
    fn pod_update_cases() {
        let old = defaulted_pod(json!({"containers": [{"name": "c", "image": "nginx:1"}]}));
        let mut new_image = old.clone();
        new_image["spec"]["containers"][0]["image"] = json!("nginx:2");
        assert!(pod_update(&new_image, &old).is_empty());
        let mut new_port = old.clone();
        new_port["spec"]["containers"][0]["ports"] =
            json!([{"containerPort": 80, "protocol": "TCP"}]);
        assert_eq!(
            rendered(&pod_update(&new_port, &old)),
            vec![format!(
                "spec: Forbidden: pod updates may not change fields other than {POD_UPDATABLE}"
            )]
        );
    }

    #[test]
    fn replication_controller_cases() {
        let mut rc = json!({"metadata": {"name": "rc", "namespace": "default"}, "spec": {"selector": {"app": "b"},
            "template": {"metadata": {"labels": {"app": "a"}}, "spec": {"containers": [{"name": "c", "image": "i"}], "restartPolicy": "Never"}}}});
        defaults::core::replication_controller(&mut rc);
        assert_eq!(
            rendered(&replication_controller(&rc)),
            vec![
                "spec.template.metadata.labels: Invalid value: {\"app\":\"a\"}: `selector` does not match template `labels`",
                "spec.template.spec.restartPolicy: Unsupported value: \"Never\": supported values: \"Always\"",
            ]
        );
    }

    #[test]
    fn service_cases() {
        let cases: Vec<(&str, Value, Vec<&str>)> = vec![
            (
                "valid",
                json!({"spec": {"selector": {"app": "a"}, "ports": [{"port": 80}]}}),
                vec![],
            ),
            (
                "no ports",
                json!({"spec": {}}),
                vec!["spec.ports: Required value"],
            ),
            (
                "headless without ports",
                json!({"spec": {"clusterIP": "None"}}),
                vec![],
            ),
            (
                "bad ports",
                json!({"spec": {"ports": [{"port": 0}, {"port": 80, "name": "web", "targetPort": "Web"}], "type": "Magic"}}),
                vec![
                    "spec.ports[0].name: Required value",
                    "spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive",
                    "spec.ports[0].targetPort: Invalid value: 0: must be between 1 and 65535, inclusive",
                    "spec.ports[1].targetPort: Invalid value: \"Web\": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)",
                    "spec.type: Unsupported value: \"Magic\": supported values: \"ClusterIP\", \"ExternalName\", \"LoadBalancer\", \"NodePort\"",
                ],
            ),
            (
                "external name required",
                json!({"spec": {"type": "ExternalName"}}),
                vec!["spec.externalName: Required value"],
            ),
        ];
        for (name, object, expected) in cases {
            let mut object = object;
            defaults::core::service(&mut object);
            assert_eq!(rendered(&service(&object)), expected, "{name}");
        }
    }

    #[test]
    fn config_and_secret_cases() {
        assert_eq!(
            rendered(&config_map(
                &json!({"data": {"ok.key": "v", "bad key": "v", "..x": "v", "dup": "v"}, "binaryData": {"dup": "AA=="}})
            )),
            vec![
                "data[..x]: Invalid value: \"..x\": must not start with '..'",
                "data[bad key]: Invalid value: \"bad key\": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')",
                "data[dup]: Invalid value: \"dup\": duplicate of key present in binaryData",
                "binaryData[dup]: Invalid value: \"dup\": duplicate of key present in data",
            ]
        );
        assert_eq!(
            rendered(&secret(
                &json!({"type": "kubernetes.io/tls", "data": {"tls.crt": "AA=="}})
            )),
            vec!["data[tls.key]: Required value"]
        );
        let old = json!({"immutable": true, "data": {"a": "AA=="}, "type": "Opaque"});
        let new = json!({"data": {"a": "AQ=="}, "type": "kubernetes.io/tls"});
        assert_eq!(
            rendered(&secret_update(&new, &old)),
            vec![
                "type: Invalid value: \"kubernetes.io/tls\": field is immutable",
                "immutable: Forbidden: field is immutable when `immutable` is set",
                "data: Forbidden: field is immutable when `immutable` is set",
            ]
        );
        assert!(config_map_update(&json!({"data": {"a": "b"}}), &json!({"data": {}})).is_empty());
    }

    #[test]
    fn namespace_and_storage_cases() {
        assert_eq!(
            rendered(&namespace(
                &json!({"spec": {"finalizers": ["kubernetes", "custom", "example.com/x"]}})
            )),
            vec![
                "spec.finalizers: Invalid value: \"custom\": name is neither a standard finalizer name nor is it fully qualified"
            ]
        );
        assert_eq!(
            rendered(&persistent_volume_claim(&json!({"spec": {}}))),
            vec![
                "spec.accessModes: Required value: at least 1 access mode is required",
                "spec.resources[storage]: Required value",
            ]
        );
        assert_eq!(
            rendered(&persistent_volume(
                &json!({"spec": {"accessModes": ["ReadWriteOnce"], "capacity": {"storage": "1Gi"}}})
            )),
            vec!["spec: Required value: must specify a volume type"]
        );
        assert!(persistent_volume(&json!({"spec": {"accessModes": ["ReadWriteOnce"], "capacity": {"storage": "1Gi"}, "hostPath": {"path": "/x"}}})).is_empty());
        assert_eq!(
            rendered(&endpoints(
                &json!({"subsets": [{"addresses": [{"ip": "nope"}], "ports": [{"port": 80, "protocol": "TCP"}]}]})
            )),
            vec![
                "subsets[0].addresses[0].ip: Invalid value: \"nope\": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"
            ]
        );
        assert_eq!(
            rendered(&event(
                &json!({"metadata": {"namespace": "a"}, "involvedObject": {"namespace": "b"}})
            )),
            vec!["involvedObject.namespace: Invalid value: \"b\": does not match event.namespace"]
        );
    }
}
