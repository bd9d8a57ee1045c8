//! Defaults of the core group (upstream `pkg/apis/core/v1/defaults.go` and the declarative
//! `+default` markers of `k8s.io/api/core/v1`), and the status the core strategies' PrepareForCreate
//! give new objects (Pods, Namespaces, claims and volumes start `Pending`/`Active`).
//!
//! [`pod_spec`] is the part every pod template shares; [`pod`] adds what only a real Pod gets
//! (requests copied from limits, `enableServiceLinks`, host ports under `hostNetwork`), because
//! upstream keeps those out of templates so that a controller's template hash stays stable.

use serde_json::{Map, Value, json};

use super::{
    child, existing, items, non_empty_map, or_set, or_set_in, or_set_nonzero, str_of, unset,
};

/// `kubernetes.io/metadata.name`, the label every Namespace carries with its own name.
pub const NAMESPACE_NAME_LABEL: &str = "kubernetes.io/metadata.name";

// === pod spec ===

/// Defaults of a `PodSpec` (upstream `SetDefaults_PodSpec` and the generated walk over its
/// containers and volumes).
pub fn pod_spec(spec: &mut Value) {
    let Some(map) = spec.as_object_mut() else {
        return;
    };
    or_set(map, "dnsPolicy", json!("ClusterFirst"));
    or_set(map, "restartPolicy", json!("Always"));
    or_set(map, "securityContext", json!({}));
    or_set(map, "terminationGracePeriodSeconds", json!(30));
    or_set(map, "schedulerName", json!("default-scheduler"));
    for key in ["containers", "initContainers", "ephemeralContainers"] {
        for container in items(spec, key) {
            self::container(container);
        }
    }
    for volume in items(spec, "volumes") {
        self::volume(volume);
    }
}

/// Defaults of a container (also init and ephemeral containers).
pub fn container(container: &mut Value) {
    let Some(map) = container.as_object_mut() else {
        return;
    };
    if unset(map.get("imagePullPolicy")) {
        let image = map.get("image").and_then(Value::as_str).unwrap_or_default();
        map.insert("imagePullPolicy".into(), json!(pull_policy_for(image)));
    }
    or_set(map, "terminationMessagePath", json!("/dev/termination-log"));
    or_set(map, "terminationMessagePolicy", json!("File"));
    // A non-pointer struct in Go: always present.
    or_set(map, "resources", json!({}));
    for port in items(container, "ports") {
        or_set_in(port, "protocol", json!("TCP"));
    }
    for env in items(container, "env") {
        if let Some(field_ref) = env
            .get_mut("valueFrom")
            .and_then(|from| existing(from, "fieldRef"))
        {
            or_set_in(field_ref, "apiVersion", json!("v1"));
        }
    }
    for key in ["livenessProbe", "readinessProbe", "startupProbe"] {
        if let Some(probe) = existing(container, key) {
            self::probe(probe);
        }
    }
    if let Some(lifecycle) = existing(container, "lifecycle") {
        for key in ["postStart", "preStop"] {
            if let Some(http_get) =
                existing(lifecycle, key).and_then(|handler| existing(handler, "httpGet"))
            {
                self::http_get(http_get);
            }
        }
    }
}

/// `Always` for an image tagged `latest` or not tagged at all, `IfNotPresent` otherwise (and for a
/// reference that does not parse, as upstream ignores the parse error).
pub fn pull_policy_for(image: &str) -> &'static str {
    if image_tag(image).as_deref() == Some("latest") {
        "Always"
    } else {
        "IfNotPresent"
    }
}

/// The tag of an image reference as upstream's `parsers.ParseImageName` reports it: the explicit
/// tag, `latest` when there is neither tag nor digest, empty with only a digest; `None` when the
/// reference does not parse (empty, upper case in the repository path, a bad tag).
fn image_tag(image: &str) -> Option<String> {
    if image.is_empty() {
        return None;
    }
    let (name, digest) = match image.split_once('@') {
        Some((name, digest)) => (name, Some(digest)),
        None => (image, None),
    };
    let last_slash = name.rfind('/');
    let (repository, tag) = match name.rfind(':') {
        Some(colon) if last_slash.is_none_or(|slash| colon > slash) => {
            (&name[..colon], Some(&name[colon + 1..]))
        }
        _ => (name, None),
    };
    if repository.is_empty() || digest.is_some_and(|d| !d.contains(':')) {
        return None;
    }
    // The first component is a registry host when it looks like one; the path after it must be
    // lower case.
    let mut components = repository.split('/');
    let first = components.next().unwrap_or_default();
    let has_domain = repository.contains('/')
        && (first.contains('.') || first.contains(':') || first == "localhost");
    let path_ok = |c: &str| {
        !c.is_empty()
            && c.bytes().all(|b| {
                b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
            })
    };
    if !has_domain && !path_ok(first) {
        return None;
    }
    if !components.all(path_ok) {
        return None;
    }
    match tag {
        Some(tag) => {
            let valid = !tag.is_empty()
                && tag.len() <= 128
                && tag
                    .bytes()
                    .next()
                    .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
                && tag
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
            valid.then(|| tag.to_owned())
        }
        None if digest.is_some() => Some(String::new()),
        None => Some("latest".to_owned()),
    }
}

/// Probe timings (upstream `SetDefaults_Probe`: zero means unset) and its HTTP action.
fn probe(probe: &mut Value) {
    if let Some(map) = probe.as_object_mut() {
        or_set_nonzero(map, "timeoutSeconds", 1);
        or_set_nonzero(map, "periodSeconds", 10);
        or_set_nonzero(map, "successThreshold", 1);
        or_set_nonzero(map, "failureThreshold", 3);
    }
    if let Some(http_get) = existing(probe, "httpGet") {
        self::http_get(http_get);
    }
}

fn http_get(action: &mut Value) {
    or_set_in(action, "path", json!("/"));
    or_set_in(action, "scheme", json!("HTTP"));
}

/// The keys of a volume that are not a volume source.
const VOLUME_NON_SOURCE_KEYS: &[&str] = &["name"];

/// Defaults of a pod volume: an `emptyDir` when no source is given, file modes, and the
/// per-source defaults.
pub fn volume(volume: &mut Value) {
    let Some(map) = volume.as_object_mut() else {
        return;
    };
    let has_source = map
        .iter()
        .any(|(key, value)| !VOLUME_NON_SOURCE_KEYS.contains(&key.as_str()) && !value.is_null());
    if !has_source {
        map.insert("emptyDir".into(), json!({}));
    }
    for key in ["secret", "configMap", "downwardAPI", "projected"] {
        if let Some(source) = existing(volume, key) {
            or_set_in(source, "defaultMode", json!(420));
        }
    }
    if let Some(host_path) = existing(volume, "hostPath") {
        // `""` (HostPathUnset) is the default itself.
        or_set_in(host_path, "type", json!(""));
    }
    if let Some(downward) = existing(volume, "downwardAPI") {
        downward_items(downward);
    }
    if let Some(projected) = existing(volume, "projected") {
        for source in items(projected, "sources") {
            if let Some(downward) = existing(source, "downwardAPI") {
                downward_items(downward);
            }
            if let Some(token) = existing(source, "serviceAccountToken") {
                or_set_in(token, "expirationSeconds", json!(3600));
            }
        }
    }
    if let Some(image) = existing(volume, "image")
        && let Some(map) = image.as_object_mut()
        && unset(map.get("pullPolicy"))
    {
        let reference = map
            .get("reference")
            .and_then(Value::as_str)
            .unwrap_or_default();
        map.insert("pullPolicy".into(), json!(pull_policy_for(reference)));
    }
    if let Some(template) = existing(volume, "ephemeral")
        .and_then(|ephemeral| existing(ephemeral, "volumeClaimTemplate"))
        .and_then(|template| existing(template, "spec"))
    {
        claim_spec(template);
    }
    legacy_sources(volume);
}

/// Declarative defaults of the in-tree volume plugins that still carry them.
fn legacy_sources(volume: &mut Value) {
    if let Some(iscsi) = existing(volume, "iscsi") {
        or_set_in(iscsi, "iscsiInterface", json!("default"));
    }
    if let Some(rbd) = existing(volume, "rbd") {
        or_set_in(rbd, "pool", json!("rbd"));
        or_set_in(rbd, "user", json!("admin"));
        or_set_in(rbd, "keyring", json!("/etc/ceph/keyring"));
    }
    if let Some(azure) = existing(volume, "azureDisk") {
        or_set_in(azure, "cachingMode", json!("ReadWrite"));
        or_set_in(azure, "fsType", json!("ext4"));
        or_set_in(azure, "readOnly", json!(false));
        or_set_in(azure, "kind", json!("Shared"));
    }
    if let Some(scale_io) = existing(volume, "scaleIO") {
        or_set_in(scale_io, "storageMode", json!("ThinProvisioned"));
        or_set_in(scale_io, "fsType", json!("xfs"));
    }
}

fn downward_items(source: &mut Value) {
    for item in items(source, "items") {
        if let Some(field_ref) = existing(item, "fieldRef") {
            or_set_in(field_ref, "apiVersion", json!("v1"));
        }
    }
}

/// A pod template: defaults of its pod spec (an absent spec is left absent, as a Go zero struct
/// gets the same defaults but we do not invent one the client did not send).
pub fn pod_template_spec(template: &mut Value) {
    if let Some(spec) = existing(template, "spec") {
        pod_spec(spec);
    }
}

// === Pod ===

/// Defaults of a Pod (upstream `SetDefaults_Pod` on top of the pod spec's).
pub fn pod(pod: &mut Value) {
    let Some(spec) = existing(pod, "spec") else {
        return;
    };
    for key in ["containers", "initContainers"] {
        for container in items(spec, key) {
            requests_from_limits(container);
        }
    }
    pod_level_requests_from_limits(spec);
    if let Some(map) = spec.as_object_mut() {
        or_set(map, "enableServiceLinks", json!(true));
    }
    if spec.get("hostNetwork").and_then(Value::as_bool) == Some(true) {
        for key in ["containers", "initContainers"] {
            for container in items(spec, key) {
                for port in items(container, "ports") {
                    if let Some(map) = port.as_object_mut()
                        && map.get("hostPort").and_then(Value::as_i64).unwrap_or(0) == 0
                        && let Some(container_port) = map.get("containerPort").cloned()
                    {
                        map.insert("hostPort".into(), container_port);
                    }
                }
            }
        }
    }
    pod_spec(spec);
}

/// Requests default to limits for every resource that has a limit but no request.
fn requests_from_limits(container: &mut Value) {
    let Some(resources) = container
        .get_mut("resources")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    let Some(limits) = resources.get("limits").and_then(Value::as_object).cloned() else {
        return;
    };
    let requests = resources
        .entry("requests")
        .or_insert_with(|| Value::Object(Map::new()));
    if requests.is_null() {
        *requests = Value::Object(Map::new());
    }
    if let Some(requests) = requests.as_object_mut() {
        for (name, quantity) in limits {
            requests.entry(name).or_insert(quantity);
        }
    }
}

/// Pod-level requests (upstream `defaultPodRequests`, after the containers' defaults): when the pod
/// sets limits, a supported resource with a pod limit but no pod request and no container request
/// gets the limit as its request.
///
/// Upstream also defaults a pod request to the containers' aggregated requests when they set one,
/// and pod limits from the containers' limits; that needs quantity arithmetic and is not done yet.
fn pod_level_requests_from_limits(spec: &mut Value) {
    let Some(limits) = spec
        .get("resources")
        .and_then(|r| r.get("limits"))
        .and_then(Value::as_object)
        .filter(|l| !l.is_empty())
        .cloned()
    else {
        return;
    };
    let container_requests = |name: &str| {
        ["containers", "initContainers"].iter().any(|key| {
            spec.get(*key)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .any(|c| {
                    c.get("resources")
                        .and_then(|r| r.get("requests"))
                        .and_then(|r| r.get(name))
                        .is_some()
                })
        })
    };
    let defaults: Vec<(String, Value)> = limits
        .into_iter()
        .filter(|(name, _)| is_pod_level_resource(name) && !container_requests(name))
        .collect();
    let Some(resources) = spec.get_mut("resources").and_then(Value::as_object_mut) else {
        return;
    };
    let requests = resources
        .entry("requests")
        .or_insert_with(|| Value::Object(Map::new()));
    if requests.is_null() {
        *requests = Value::Object(Map::new());
    }
    if let Some(requests) = requests.as_object_mut() {
        for (name, quantity) in defaults {
            requests.entry(name).or_insert(quantity);
        }
    }
}

/// Upstream's `IsSupportedPodLevelResource`: CPU, memory and huge pages.
fn is_pod_level_resource(name: &str) -> bool {
    matches!(name, "cpu" | "memory") || name.starts_with("hugepages-")
}

/// Upstream's `IsPodLevelResourcesSet`: pod-level requests or limits name a supported resource.
fn pod_level_resources_set(resources: &Value) -> bool {
    ["requests", "limits"].iter().any(|key| {
        resources
            .get(*key)
            .and_then(Value::as_object)
            .is_some_and(|list| list.keys().any(|name| is_pod_level_resource(name)))
    })
}

/// PodStatusStrategy.PrepareForUpdate: the QoS class is set once, at creation; a status update
/// that leaves it out keeps the old one (old kubelets dropped it).
pub fn pod_prepare_status_update(pod: &mut Value, old: &Value) {
    let Some(qos) = old
        .get("status")
        .and_then(|s| s.get("qosClass"))
        .filter(|q| q.as_str().is_some_and(|q| !q.is_empty()))
    else {
        return;
    };
    let Some(root) = pod.as_object_mut() else {
        return;
    };
    let status = root
        .entry("status")
        .or_insert_with(|| Value::Object(Map::new()));
    if status.is_null() {
        *status = Value::Object(Map::new());
    }
    if let Some(status) = status.as_object_mut()
        && unset(status.get("qosClass"))
    {
        status.insert("qosClass".into(), qos.clone());
    }
}

/// PodStrategy.PrepareForCreate: a new Pod's status is `Pending` with its QoS class.
pub fn pod_prepare_create(pod: &mut Value) {
    let qos = pod.get("spec").map_or("BestEffort", qos_class);
    if let Some(root) = pod.as_object_mut() {
        root.insert(
            "status".into(),
            json!({"phase": "Pending", "qosClass": qos}),
        );
    }
    if let Some(gates) = pod
        .get("spec")
        .and_then(|s| s.get("schedulingGates"))
        .and_then(Value::as_array)
        && !gates.is_empty()
        && let Some(status) = pod.get_mut("status").and_then(Value::as_object_mut)
    {
        status.insert(
            "conditions".into(),
            json!([{
                "type": "PodScheduled",
                "status": "False",
                "reason": "SchedulingGated",
                "message": "Scheduling is blocked due to non-empty scheduling gates",
                "lastProbeTime": null,
                "lastTransitionTime": null,
            }]),
        );
    }
}

/// The resources that decide a QoS class.
const QOS_RESOURCES: &[&str] = &["cpu", "memory"];

/// Upstream's `ComputePodQOS`: `BestEffort` without any CPU or memory request or limit,
/// `Guaranteed` when every container (init containers included) limits both and the summed
/// requests equal the summed limits (pod-level resources, when they name a supported resource,
/// decide instead), `Burstable` otherwise. Zero quantities count as unset.
pub fn qos_class(spec: &Value) -> &'static str {
    let mut requests: Map<String, Value> = Map::new();
    let mut limits: Map<String, Value> = Map::new();
    let sums = |target: &mut Map<String, Value>, list: Option<&Value>| -> Vec<String> {
        let mut found = Vec::new();
        for (name, quantity) in list.and_then(Value::as_object).into_iter().flatten() {
            if !QOS_RESOURCES.contains(&name.as_str()) {
                continue;
            }
            let amount = quantity.as_str().and_then(parse_quantity).unwrap_or(0.0);
            if amount > 0.0 {
                found.push(name.clone());
                let total = target.get(name).and_then(Value::as_f64).unwrap_or(0.0) + amount;
                target.insert(name.clone(), json!(total));
            }
        }
        found
    };
    if let Some(resources) = spec.get("resources").filter(|r| pod_level_resources_set(r)) {
        sums(&mut requests, resources.get("requests"));
        let found = sums(&mut limits, resources.get("limits"));
        // As upstream, only pod limits that are set must name both; without any, the comparison
        // of requests with limits below decides.
        let all_limited =
            !non_empty_map(resources.get("limits")) || found.len() == QOS_RESOURCES.len();
        return classify(&requests, &limits, all_limited);
    }
    let mut guaranteed = true;
    for key in ["containers", "initContainers"] {
        for container in spec
            .get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let resources = container.get("resources");
            sums(&mut requests, resources.and_then(|r| r.get("requests")));
            let found = sums(&mut limits, resources.and_then(|r| r.get("limits")));
            if found.len() != QOS_RESOURCES.len() {
                guaranteed = false;
            }
        }
    }
    classify(&requests, &limits, guaranteed)
}

fn classify(
    requests: &Map<String, Value>,
    limits: &Map<String, Value>,
    all_limited: bool,
) -> &'static str {
    if requests.is_empty() && limits.is_empty() {
        return "BestEffort";
    }
    let equal = requests.len() == limits.len()
        && requests.iter().all(|(name, request)| {
            limits
                .get(name)
                .and_then(Value::as_f64)
                .is_some_and(|limit| {
                    request.as_f64().is_some_and(|request| {
                        (request - limit).abs() <= f64::EPSILON * limit.abs()
                    })
                })
        });
    if all_limited && equal {
        "Guaranteed"
    } else {
        "Burstable"
    }
}

/// A resource quantity (`500m`, `1Gi`, `2e3`) as a number, for comparisons only.
pub fn parse_quantity(text: &str) -> Option<f64> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | '+' | '-')))
        .unwrap_or(text.len());
    let (number, suffix) = text.split_at(split);
    let number: f64 = number.parse().ok()?;
    let scale = match suffix {
        "" => 1.0,
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024.0,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        exponent if exponent.starts_with(['e', 'E']) => {
            10f64.powi(exponent[1..].parse::<i32>().ok()?)
        }
        _ => return None,
    };
    Some(number * scale)
}

/// Defaults of a PodTemplate object.
pub fn pod_template(object: &mut Value) {
    if let Some(template) = existing(object, "template") {
        pod_template_spec(template);
    }
}

/// Defaults of a ReplicationController: the selector and the object's labels come from the
/// template's labels when unset, one replica.
pub fn replication_controller(object: &mut Value) {
    let Some(spec) = existing(object, "spec") else {
        return;
    };
    or_set_in(spec, "replicas", json!(1));
    let labels = spec
        .get("template")
        .and_then(|t| t.get("metadata"))
        .and_then(|m| m.get("labels"))
        .filter(|l| l.is_object())
        .cloned();
    if let Some(labels) = labels {
        if !non_empty_map(spec.get("selector"))
            && let Some(map) = spec.as_object_mut()
        {
            map.insert("selector".into(), labels.clone());
        }
        if !non_empty_map(object.get("metadata").and_then(|m| m.get("labels"))) {
            super::super::meta::set(object, "labels", labels);
        }
    }
    if let Some(template) = object
        .get_mut("spec")
        .and_then(|spec| existing(spec, "template"))
    {
        pod_template_spec(template);
    }
}

// === Service ===

/// Defaults of a Service (upstream `SetDefaults_Service`), plus the IP family fields the service
/// REST storage fills for a single-stack IPv4 cluster.
pub fn service(object: &mut Value) {
    let Some(spec) = child(object, "spec") else {
        return;
    };
    or_set(spec, "sessionAffinity", json!("None"));
    match spec.get("sessionAffinity").and_then(Value::as_str) {
        Some("None") => {
            spec.remove("sessionAffinityConfig");
        }
        Some("ClientIP") => {
            let has_timeout = spec
                .get("sessionAffinityConfig")
                .and_then(|c| c.get("clientIP"))
                .and_then(|c| c.get("timeoutSeconds"))
                .is_some_and(|t| !t.is_null());
            if !has_timeout {
                spec.insert(
                    "sessionAffinityConfig".into(),
                    json!({"clientIP": {"timeoutSeconds": 10800}}),
                );
            }
        }
        _ => {}
    }
    or_set(spec, "type", json!("ClusterIP"));
    let kind = spec
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    for port in spec
        .get_mut("ports")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
    {
        let Some(port) = port.as_object_mut() else {
            continue;
        };
        or_set(port, "protocol", json!("TCP"));
        let target_unset = match port.get("targetPort") {
            None | Some(Value::Null) => true,
            Some(Value::String(s)) => s.is_empty(),
            Some(Value::Number(n)) => n.as_i64() == Some(0),
            _ => false,
        };
        if target_unset && let Some(number) = port.get("port").cloned() {
            port.insert("targetPort".into(), number);
        }
    }
    let externally_accessible = matches!(kind.as_str(), "NodePort" | "LoadBalancer")
        || (kind == "ClusterIP"
            && spec
                .get("externalIPs")
                .and_then(Value::as_array)
                .is_some_and(|ips| !ips.is_empty()));
    if externally_accessible {
        or_set(spec, "externalTrafficPolicy", json!("Cluster"));
    }
    if matches!(kind.as_str(), "NodePort" | "LoadBalancer" | "ClusterIP") {
        or_set(spec, "internalTrafficPolicy", json!("Cluster"));
    }
    if kind == "LoadBalancer" {
        or_set(spec, "allocateLoadBalancerNodePorts", json!(true));
    }
    if kind != "ExternalName" {
        ip_families(spec);
    }
}

/// `ipFamilyPolicy` and `ipFamilies` on a single-stack IPv4 cluster: a headless Service without a
/// selector may serve any family (`RequireDualStack`), everything else is `SingleStack`; the
/// family follows the cluster IP when one is given.
fn ip_families(spec: &mut Map<String, Value>) {
    let headless = spec.get("clusterIP").and_then(Value::as_str) == Some("None");
    let selector = non_empty_map(spec.get("selector"));
    let policy = if headless && !selector {
        "RequireDualStack"
    } else {
        "SingleStack"
    };
    or_set(spec, "ipFamilyPolicy", json!(policy));
    let has_families = spec
        .get("ipFamilies")
        .and_then(Value::as_array)
        .is_some_and(|f| !f.is_empty());
    if !has_families {
        let ip = spec
            .get("clusterIP")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let family = if ip.contains(':') { "IPv6" } else { "IPv4" };
        spec.insert("ipFamilies".into(), json!([family]));
    }
}

// === config and storage objects ===

/// Secrets are `Opaque` unless told otherwise.
pub fn secret(object: &mut Value) {
    or_set_in(object, "type", json!("Opaque"));
}

/// Endpoints ports are TCP unless told otherwise.
pub fn endpoints(object: &mut Value) {
    for subset in items(object, "subsets") {
        for port in items(subset, "ports") {
            or_set_in(port, "protocol", json!("TCP"));
        }
    }
}

/// Namespaces carry their name as the `kubernetes.io/metadata.name` label.
pub fn namespace(object: &mut Value) {
    let name = object
        .get("metadata")
        .map(|m| str_of(m, "name").to_owned())
        .unwrap_or_default();
    if name.is_empty() {
        return;
    }
    if let Some(metadata) = child(object, "metadata") {
        let labels = metadata
            .entry("labels")
            .or_insert_with(|| Value::Object(Map::new()));
        if labels.is_null() {
            *labels = Value::Object(Map::new());
        }
        if let Some(labels) = labels.as_object_mut() {
            labels.insert(NAMESPACE_NAME_LABEL.into(), json!(name));
        }
    }
}

/// NamespaceStrategy.PrepareForCreate: `Active`, and the `kubernetes` finalizer in the spec.
pub fn namespace_prepare_create(object: &mut Value) {
    if let Some(root) = object.as_object_mut() {
        root.insert("status".into(), json!({"phase": "Active"}));
    }
    if let Some(spec) = child(object, "spec") {
        let finalizers = spec.entry("finalizers").or_insert_with(|| json!([]));
        if !finalizers.is_array() {
            *finalizers = json!([]);
        }
        if let Some(list) = finalizers.as_array_mut()
            && !list.iter().any(|f| f.as_str() == Some("kubernetes"))
        {
            list.push(json!("kubernetes"));
        }
    }
}

/// NamespaceStrategy.PrepareForUpdate: the spec's finalizers change only through `/finalize`, and
/// the status only through `/status`.
pub fn namespace_prepare_update(new: &mut Value, old: &Value) {
    let finalizers = old.get("spec").and_then(|s| s.get("finalizers")).cloned();
    if let Some(spec) = child(new, "spec") {
        match finalizers {
            Some(finalizers) => spec.insert("finalizers".into(), finalizers),
            None => spec.remove("finalizers"),
        };
    }
}

/// Defaults of a claim spec (also inside StatefulSet templates and ephemeral volumes).
pub fn claim_spec(spec: &mut Value) {
    or_set_in(spec, "volumeMode", json!("Filesystem"));
}

/// Defaults of a PersistentVolumeClaim: Filesystem mode, `Pending` until bound.
pub fn persistent_volume_claim(object: &mut Value) {
    if let Some(spec) = existing(object, "spec") {
        claim_spec(spec);
    }
    if let Some(status) = child(object, "status") {
        or_set(status, "phase", json!("Pending"));
    }
}

/// Defaults of a PersistentVolume: `Retain`, Filesystem mode, `Pending` until available.
pub fn persistent_volume(object: &mut Value) {
    if let Some(spec) = child(object, "spec") {
        or_set(spec, "persistentVolumeReclaimPolicy", json!("Retain"));
        or_set(spec, "volumeMode", json!("Filesystem"));
    }
    if let Some(spec) = existing(object, "spec") {
        for key in ["iscsi", "rbd", "azureDisk", "scaleIO"] {
            if spec.get(key).is_some_and(Value::is_object) {
                legacy_sources(spec);
                break;
            }
        }
    }
    if let Some(status) = child(object, "status") {
        or_set(status, "phase", json!("Pending"));
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::registry::defaults::testing::check;

    fn defaulted_container(name: &str, image: &str, pull: &str) -> Value {
        json!({
            "name": name,
            "image": image,
            "imagePullPolicy": pull,
            "terminationMessagePath": "/dev/termination-log",
            "terminationMessagePolicy": "File",
            "resources": {},
        })
    }

    #[test]
    fn image_pull_policy_follows_the_tag() {
        let cases = [
            ("nginx", "Always"),
            ("nginx:latest", "Always"),
            ("nginx:1.27", "IfNotPresent"),
            ("registry.k8s.io/pause:3.10", "IfNotPresent"),
            ("localhost:5000/app", "Always"),
            ("localhost:5000/app:v1", "IfNotPresent"),
            ("nginx@sha256:0123456789abcdef", "IfNotPresent"),
            ("nginx:latest@sha256:0123456789abcdef", "Always"),
            ("Nginx", "IfNotPresent"),
            ("", "IfNotPresent"),
            ("docker.io/library/busybox", "Always"),
        ];
        for (image, expected) in cases {
            assert_eq!(pull_policy_for(image), expected, "{image}");
        }
    }

    #[test]
    fn pod_defaults() {
        check(
            "minimal pod",
            pod,
            json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}}),
            json!({"metadata": {"name": "p"}, "spec": {
                "containers": [defaulted_container("c", "nginx", "Always")],
                "dnsPolicy": "ClusterFirst",
                "enableServiceLinks": true,
                "restartPolicy": "Always",
                "schedulerName": "default-scheduler",
                "securityContext": {},
                "terminationGracePeriodSeconds": 30,
            }}),
        );
        check(
            "explicit values are kept",
            pod,
            json!({"spec": {
                "containers": [{"name": "c", "image": "nginx:1", "imagePullPolicy": "Never",
                    "terminationMessagePolicy": "FallbackToLogsOnError", "resources": {"limits": {"cpu": "1"}},
                    "ports": [{"containerPort": 80}, {"containerPort": 53, "protocol": "UDP"}],
                    "env": [{"name": "N", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
                    "livenessProbe": {"httpGet": {"port": 80}, "periodSeconds": 5},
                    "readinessProbe": {"exec": {"command": ["true"]}, "timeoutSeconds": 0},
                    "lifecycle": {"preStop": {"httpGet": {"port": 8080, "path": "/stop"}}}}],
                "restartPolicy": "Never", "dnsPolicy": "Default", "terminationGracePeriodSeconds": 0,
                "enableServiceLinks": false, "hostNetwork": true,
            }}),
            json!({"spec": {
                "containers": [{"name": "c", "image": "nginx:1", "imagePullPolicy": "Never",
                    "terminationMessagePath": "/dev/termination-log",
                    "terminationMessagePolicy": "FallbackToLogsOnError",
                    "resources": {"limits": {"cpu": "1"}, "requests": {"cpu": "1"}},
                    "ports": [{"containerPort": 80, "hostPort": 80, "protocol": "TCP"},
                              {"containerPort": 53, "hostPort": 53, "protocol": "UDP"}],
                    "env": [{"name": "N", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name", "apiVersion": "v1"}}}],
                    "livenessProbe": {"httpGet": {"port": 80, "path": "/", "scheme": "HTTP"}, "periodSeconds": 5,
                        "timeoutSeconds": 1, "successThreshold": 1, "failureThreshold": 3},
                    "readinessProbe": {"exec": {"command": ["true"]}, "timeoutSeconds": 1, "periodSeconds": 10,
                        "successThreshold": 1, "failureThreshold": 3},
                    "lifecycle": {"preStop": {"httpGet": {"port": 8080, "path": "/stop", "scheme": "HTTP"}}}}],
                "restartPolicy": "Never", "dnsPolicy": "Default", "terminationGracePeriodSeconds": 0,
                "enableServiceLinks": false, "hostNetwork": true,
                "schedulerName": "default-scheduler", "securityContext": {},
            }}),
        );
    }

    #[test]
    fn volume_defaults() {
        check(
            "volume sources",
            pod_spec,
            json!({"containers": [], "volumes": [
                {"name": "empty"},
                {"name": "cm", "configMap": {"name": "x"}},
                {"name": "s", "secret": {"secretName": "x", "defaultMode": 256}},
                {"name": "h", "hostPath": {"path": "/tmp"}},
                {"name": "d", "downwardAPI": {"items": [{"path": "n", "fieldRef": {"fieldPath": "metadata.name"}}]}},
                {"name": "p", "projected": {"sources": [{"serviceAccountToken": {"path": "t"}}]}},
                {"name": "e", "ephemeral": {"volumeClaimTemplate": {"spec": {"accessModes": ["ReadWriteOnce"]}}}},
            ]}),
            json!({"containers": [], "volumes": [
                {"name": "empty", "emptyDir": {}},
                {"name": "cm", "configMap": {"name": "x", "defaultMode": 420}},
                {"name": "s", "secret": {"secretName": "x", "defaultMode": 256}},
                {"name": "h", "hostPath": {"path": "/tmp", "type": ""}},
                {"name": "d", "downwardAPI": {"defaultMode": 420, "items": [{"path": "n", "fieldRef": {"fieldPath": "metadata.name", "apiVersion": "v1"}}]}},
                {"name": "p", "projected": {"defaultMode": 420, "sources": [{"serviceAccountToken": {"path": "t", "expirationSeconds": 3600}}]}},
                {"name": "e", "ephemeral": {"volumeClaimTemplate": {"spec": {"accessModes": ["ReadWriteOnce"], "volumeMode": "Filesystem"}}}},
            ],
            "dnsPolicy": "ClusterFirst", "restartPolicy": "Always", "schedulerName": "default-scheduler",
            "securityContext": {}, "terminationGracePeriodSeconds": 30}),
        );
    }

    #[test]
    fn pod_status_on_create_carries_the_qos_class() {
        let cases = [
            (
                "no resources",
                json!({"containers": [{"name": "c"}]}),
                "BestEffort",
            ),
            (
                "equal requests and limits",
                json!({"containers": [{"name": "c", "resources": {
                    "limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "1000m", "memory": "1024Mi"}}}]}),
                "Guaranteed",
            ),
            (
                "requests only",
                json!({"containers": [{"name": "c", "resources": {"requests": {"cpu": "100m"}}}]}),
                "Burstable",
            ),
            (
                "one container unlimited",
                json!({"containers": [
                    {"name": "a", "resources": {"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "1", "memory": "1Gi"}}},
                    {"name": "b"}]}),
                "Burstable",
            ),
            (
                "other resources do not count",
                json!({"containers": [{"name": "c", "resources": {"limits": {"ephemeral-storage": "1Gi"}}}]}),
                "BestEffort",
            ),
            (
                "limits only: requests default to them",
                json!({"containers": [{"name": "c", "resources": {"limits": {"cpu": "100m", "memory": "100Mi"}}}]}),
                "Guaranteed",
            ),
            (
                "requests below limits",
                json!({"containers": [{"name": "c", "resources": {
                    "limits": {"cpu": "200m", "memory": "100Mi"}, "requests": {"cpu": "100m", "memory": "100Mi"}}}]}),
                "Burstable",
            ),
            (
                "zero quantities count as unset",
                json!({"containers": [{"name": "c", "resources": {"requests": {"cpu": "0", "memory": "0"}}}]}),
                "BestEffort",
            ),
            (
                "an init container without limits",
                json!({
                    "containers": [{"name": "c", "resources": {"limits": {"cpu": "1", "memory": "1Gi"}}}],
                    "initContainers": [{"name": "i"}]}),
                "Burstable",
            ),
            (
                "init containers limited like the rest",
                json!({
                    "containers": [{"name": "c", "resources": {"limits": {"cpu": "1", "memory": "1Gi"}}}],
                    "initContainers": [{"name": "i", "resources": {"limits": {"cpu": "2", "memory": "2Gi"}}}]}),
                "Guaranteed",
            ),
            (
                "an init container with requests only",
                json!({
                    "containers": [{"name": "c"}],
                    "initContainers": [{"name": "i", "resources": {"requests": {"memory": "1Gi"}}}]}),
                "Burstable",
            ),
            (
                "pod-level limits decide over unlimited containers",
                json!({"resources": {"limits": {"cpu": "1", "memory": "1Gi"}}, "containers": [{"name": "c"}]}),
                "Guaranteed",
            ),
            (
                "pod-level requests below limits",
                json!({"resources": {"requests": {"cpu": "500m"}, "limits": {"cpu": "1", "memory": "1Gi"}},
                    "containers": [{"name": "c"}]}),
                "Burstable",
            ),
            (
                "pod-level limits without memory",
                json!({"resources": {"limits": {"cpu": "1"}},
                    "containers": [{"name": "c", "resources": {"limits": {"cpu": "1", "memory": "1Gi"}}}]}),
                "Burstable",
            ),
            (
                "empty pod-level resources leave it to the containers",
                json!({"resources": {}, "containers": [{"name": "c", "resources": {"limits": {"cpu": "1", "memory": "1Gi"}}}]}),
                "Guaranteed",
            ),
        ];
        for (name, spec, expected) in cases {
            let mut object = json!({"spec": spec});
            pod(&mut object);
            pod_prepare_create(&mut object);
            assert_eq!(
                object["status"],
                json!({"phase": "Pending", "qosClass": expected}),
                "{name}"
            );
        }
        let mut gated = json!({"spec": {"containers": [], "schedulingGates": [{"name": "g"}]}});
        pod_prepare_create(&mut gated);
        assert_eq!(
            gated["status"]["conditions"][0]["reason"],
            json!("SchedulingGated")
        );
    }

    #[test]
    fn pod_level_requests_default_to_pod_limits() {
        let mut object = json!({"spec": {
            "resources": {"limits": {"cpu": "1", "memory": "1Gi", "example.com/x": "1"}, "requests": {"memory": "512Mi"}},
            "containers": [{"name": "c"}]}});
        pod(&mut object);
        assert_eq!(
            object["spec"]["resources"],
            json!({"limits": {"cpu": "1", "memory": "1Gi", "example.com/x": "1"},
                "requests": {"cpu": "1", "memory": "512Mi"}})
        );
        // Containers that request the resource leave the pod request to their aggregate.
        let mut object = json!({"spec": {
            "resources": {"limits": {"cpu": "1"}},
            "containers": [{"name": "c", "resources": {"requests": {"cpu": "100m"}}}]}});
        pod(&mut object);
        assert_eq!(object["spec"]["resources"]["requests"], json!({}));
    }

    #[test]
    fn pod_status_updates_keep_the_qos_class() {
        let old = json!({"status": {"phase": "Pending", "qosClass": "Guaranteed"}});
        for status in [
            json!(null),
            json!({}),
            json!({"phase": "Running", "qosClass": ""}),
        ] {
            let mut new = json!({"status": status});
            pod_prepare_status_update(&mut new, &old);
            assert_eq!(new["status"]["qosClass"], "Guaranteed", "{new}");
        }
        let mut missing = json!({});
        pod_prepare_status_update(&mut missing, &old);
        assert_eq!(missing["status"]["qosClass"], "Guaranteed");
        // A kubelet's own value is kept (validation decides whether it may change).
        let mut given = json!({"status": {"qosClass": "Burstable"}});
        pod_prepare_status_update(&mut given, &old);
        assert_eq!(given["status"]["qosClass"], "Burstable");
    }

    #[test]
    fn service_defaults() {
        check(
            "cluster ip",
            service,
            json!({"spec": {"selector": {"app": "a"}, "ports": [{"port": 80}, {"port": 53, "protocol": "UDP", "targetPort": "dns"}]}}),
            json!({"spec": {"selector": {"app": "a"},
                "ports": [{"port": 80, "protocol": "TCP", "targetPort": 80}, {"port": 53, "protocol": "UDP", "targetPort": "dns"}],
                "sessionAffinity": "None", "type": "ClusterIP", "internalTrafficPolicy": "Cluster",
                "ipFamilyPolicy": "SingleStack", "ipFamilies": ["IPv4"]}}),
        );
        check(
            "load balancer with client ip affinity",
            service,
            json!({"spec": {"type": "LoadBalancer", "sessionAffinity": "ClientIP", "ports": [{"port": 443, "targetPort": 0}]}}),
            json!({"spec": {"type": "LoadBalancer", "sessionAffinity": "ClientIP",
                "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 10800}},
                "ports": [{"port": 443, "protocol": "TCP", "targetPort": 443}],
                "externalTrafficPolicy": "Cluster", "internalTrafficPolicy": "Cluster",
                "allocateLoadBalancerNodePorts": true,
                "ipFamilyPolicy": "SingleStack", "ipFamilies": ["IPv4"]}}),
        );
        check(
            "headless without selector",
            service,
            json!({"spec": {"clusterIP": "None"}}),
            json!({"spec": {"clusterIP": "None", "sessionAffinity": "None", "type": "ClusterIP",
                "internalTrafficPolicy": "Cluster", "ipFamilyPolicy": "RequireDualStack", "ipFamilies": ["IPv4"]}}),
        );
        check(
            "external name",
            service,
            json!({"spec": {"type": "ExternalName", "externalName": "example.com"}}),
            json!({"spec": {"type": "ExternalName", "externalName": "example.com", "sessionAffinity": "None"}}),
        );
    }

    #[test]
    fn small_core_kinds() {
        check(
            "secret",
            secret,
            json!({"data": {}}),
            json!({"data": {}, "type": "Opaque"}),
        );
        check(
            "secret keeps its type",
            secret,
            json!({"type": "kubernetes.io/tls"}),
            json!({"type": "kubernetes.io/tls"}),
        );
        check(
            "namespace label",
            namespace,
            json!({"metadata": {"name": "dev", "labels": {"team": "a"}}}),
            json!({"metadata": {"name": "dev", "labels": {"team": "a", "kubernetes.io/metadata.name": "dev"}}}),
        );
        check(
            "endpoints",
            endpoints,
            json!({"subsets": [{"ports": [{"port": 80}]}]}),
            json!({"subsets": [{"ports": [{"port": 80, "protocol": "TCP"}]}]}),
        );
        check(
            "pvc",
            persistent_volume_claim,
            json!({"spec": {"accessModes": ["ReadWriteOnce"]}}),
            json!({"spec": {"accessModes": ["ReadWriteOnce"], "volumeMode": "Filesystem"}, "status": {"phase": "Pending"}}),
        );
        check(
            "pv",
            persistent_volume,
            json!({"spec": {"hostPath": {"path": "/d"}}}),
            json!({"spec": {"hostPath": {"path": "/d"}, "persistentVolumeReclaimPolicy": "Retain", "volumeMode": "Filesystem"},
                "status": {"phase": "Pending"}}),
        );
        check(
            "replication controller",
            replication_controller,
            json!({"metadata": {"name": "rc"}, "spec": {"template": {"metadata": {"labels": {"app": "a"}}, "spec": {"containers": []}}}}),
            json!({"metadata": {"name": "rc", "labels": {"app": "a"}}, "spec": {"replicas": 1, "selector": {"app": "a"},
                "template": {"metadata": {"labels": {"app": "a"}}, "spec": {"containers": [],
                "dnsPolicy": "ClusterFirst", "restartPolicy": "Always", "schedulerName": "default-scheduler",
                "securityContext": {}, "terminationGracePeriodSeconds": 30}}}}),
        );
        let mut ns =
            json!({"metadata": {"name": "dev"}, "spec": {"finalizers": ["example.com/x"]}});
        namespace_prepare_create(&mut ns);
        assert_eq!(
            ns["spec"]["finalizers"],
            json!(["example.com/x", "kubernetes"])
        );
        assert_eq!(ns["status"], json!({"phase": "Active"}));
        let mut updated = json!({"spec": {"finalizers": []}});
        namespace_prepare_update(&mut updated, &ns);
        assert_eq!(
            updated["spec"]["finalizers"],
            json!(["example.com/x", "kubernetes"])
        );
    }

    #[test]
    fn quantities() {
        assert_eq!(parse_quantity("500m"), Some(0.5));
        assert_eq!(parse_quantity("1Gi"), Some(1024f64.powi(3)));
        assert_eq!(parse_quantity("2e3"), Some(2000.0));
        assert_eq!(parse_quantity("1x"), None);
    }
}
