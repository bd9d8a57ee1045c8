//! Per-kind behaviour of the generic store: what create and update reset, whether `generation`
//! tracks spec changes, and the kind's own defaulting and validation. The generic store runs these
//! in a fixed order (upstream's `rest.BeforeCreate` / `BeforeUpdate`): prepare, default, validate.

use serde_json::Value;
use tugboat_machinery::{catalog::ResourceInfo, status::FieldError};

/// Hooks of one kind. Plain function pointers: strategies are static data, chosen per resource.
#[derive(Debug, Clone, Copy)]
pub struct Strategy {
    /// How object names are validated.
    pub name_rule: NameRule,
    /// The kind has a `status` subresource: the main resource ignores status changes and the
    /// status subresource ignores everything else.
    pub status_subresource: bool,
    /// `metadata.generation` starts at 1 and grows on every change outside metadata and status.
    pub tracks_generation: bool,
    /// Fill in defaults on create and update.
    pub default: fn(&mut Value),
    /// The kind's own validation of an object.
    pub validate: fn(&Value) -> Vec<FieldError>,
}

fn no_defaults(_: &mut Value) {}

fn no_validation(_: &Value) -> Vec<FieldError> {
    Vec::new()
}

/// Kinds whose registry strategy sets and bumps `metadata.generation` upstream.
const GENERATION_KINDS: &[(&str, &str)] = &[
    ("apps", "Deployment"),
    ("apps", "ReplicaSet"),
    ("apps", "StatefulSet"),
    ("apps", "DaemonSet"),
    ("batch", "Job"),
    ("batch", "CronJob"),
    ("", "ReplicationController"),
    ("", "Pod"),
    ("autoscaling", "HorizontalPodAutoscaler"),
    ("policy", "PodDisruptionBudget"),
    ("networking.k8s.io", "NetworkPolicy"),
    ("networking.k8s.io", "Ingress"),
    ("apiextensions.k8s.io", "CustomResourceDefinition"),
    ("flowcontrol.apiserver.k8s.io", "FlowSchema"),
    ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration"),
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy"),
    ("admissionregistration.k8s.io", "MutatingAdmissionPolicy"),
    (
        "admissionregistration.k8s.io",
        "ValidatingWebhookConfiguration",
    ),
    (
        "admissionregistration.k8s.io",
        "MutatingWebhookConfiguration",
    ),
    ("resource.k8s.io", "ResourceClaim"),
    ("resource.k8s.io", "DeviceClass"),
];

/// Which rule object names of a resource follow, as upstream's per-resource `ValidateName`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameRule {
    /// RFC 1123 subdomain: most resources.
    Subdomain,
    /// RFC 1123 label: namespaces.
    Label,
    /// RFC 1035 label: services.
    Rfc1035Label,
    /// Any path segment: RBAC kinds, and others whose names are not DNS names.
    PathSegment,
}

impl NameRule {
    /// Messages for a name that breaks the rule.
    pub fn check(self, name: &str) -> Vec<String> {
        use tugboat_machinery::names;
        match self {
            NameRule::Subdomain => names::name_is_dns_subdomain(name, false),
            NameRule::Label => names::name_is_dns_label(name, false),
            NameRule::Rfc1035Label => names::name_is_dns1035_label(name, false),
            NameRule::PathSegment => names::name_is_path_segment(name, false),
        }
    }
}

fn name_rule(info: &ResourceInfo) -> NameRule {
    match (info.group.as_str(), info.plural.as_str()) {
        ("", "namespaces") => NameRule::Label,
        ("", "services") => NameRule::Rfc1035Label,
        ("rbac.authorization.k8s.io", _) => NameRule::PathSegment,
        _ => NameRule::Subdomain,
    }
}

/// The strategy of a resource.
pub fn for_resource(info: &ResourceInfo) -> Strategy {
    Strategy {
        name_rule: name_rule(info),
        status_subresource: info.subresource("status").is_some(),
        tracks_generation: GENERATION_KINDS
            .iter()
            .any(|(group, kind)| *group == info.group && *kind == info.kind),
        default: no_defaults,
        validate: no_validation,
    }
}
