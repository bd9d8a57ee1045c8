//! Per-kind behaviour of the generic store: what create and update reset, whether `generation`
//! tracks spec changes, and the kind's own defaulting, preparation and validation. The generic
//! store runs these in a fixed order (upstream's decode-time defaulting, then `rest.BeforeCreate`
//! / `BeforeUpdate`): generic prepare, default, kind prepare, validate (metadata, then the kind's
//! checks, then on update its update checks).
//!
//! [`KIND_HOOKS`] is the table from (group, kind) to the functions in `registry/defaults/` and
//! `registry/validation/`; a kind not listed gets metadata validation only.

use serde_json::Value;
use tugboat_machinery::{catalog::ResourceInfo, status::FieldError};

use super::{defaults, validation};

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
    /// The kind's PrepareForCreate, after defaulting (and after the uid is set): status resets,
    /// generated fields.
    pub prepare_create: fn(&mut Value),
    /// The kind's PrepareForUpdate, after defaulting: carry over from the old object (the second
    /// argument) what the main resource may not change.
    pub prepare_update: fn(&mut Value, &Value),
    /// The kind's status strategy's PrepareForUpdate, on an update of the status subresource
    /// (new, old), after everything but the status was carried over from the old object.
    pub prepare_status_update: fn(&mut Value, &Value),
    /// The kind's own validation of an object (on create and update).
    pub validate: fn(&Value) -> Vec<FieldError>,
    /// Checks only a create makes, on top of [`Strategy::validate`] (events.k8s.io/v1's strict
    /// rules, which upstream applies by request version).
    pub validate_create: fn(&Value) -> Vec<FieldError>,
    /// The kind's checks of an update (new, old), on top of [`Strategy::validate`].
    pub validate_update: fn(&Value, &Value) -> Vec<FieldError>,
}

fn no_defaults(_: &mut Value) {}

fn no_prepare_create(_: &mut Value) {}

fn no_prepare_update(_: &mut Value, _: &Value) {}

fn no_validation(_: &Value) -> Vec<FieldError> {
    Vec::new()
}

fn no_update_validation(_: &Value, _: &Value) -> Vec<FieldError> {
    Vec::new()
}

/// The hooks of one kind; unset entries do nothing.
#[derive(Debug, Clone, Copy)]
pub struct KindHooks {
    /// See [`Strategy::default`].
    pub default: fn(&mut Value),
    /// See [`Strategy::prepare_create`].
    pub prepare_create: fn(&mut Value),
    /// See [`Strategy::prepare_update`].
    pub prepare_update: fn(&mut Value, &Value),
    /// See [`Strategy::prepare_status_update`].
    pub prepare_status_update: fn(&mut Value, &Value),
    /// See [`Strategy::validate`].
    pub validate: fn(&Value) -> Vec<FieldError>,
    /// See [`Strategy::validate_update`].
    pub validate_update: fn(&Value, &Value) -> Vec<FieldError>,
}

/// Hooks that do nothing.
pub const NO_HOOKS: KindHooks = KindHooks {
    default: no_defaults,
    prepare_create: no_prepare_create,
    prepare_update: no_prepare_update,
    prepare_status_update: no_prepare_update,
    validate: no_validation,
    validate_update: no_update_validation,
};

/// Hooks by (group, kind).
pub const KIND_HOOKS: &[((&str, &str), KindHooks)] = &[
    (
        ("", "Pod"),
        KindHooks {
            default: defaults::core::pod,
            prepare_create: defaults::core::pod_prepare_create,
            prepare_status_update: defaults::core::pod_prepare_status_update,
            validate: validation::core::pod,
            validate_update: validation::core::pod_update,
            ..NO_HOOKS
        },
    ),
    (
        ("", "PodTemplate"),
        KindHooks {
            default: defaults::core::pod_template,
            validate: validation::core::pod_template,
            ..NO_HOOKS
        },
    ),
    (
        ("", "ReplicationController"),
        KindHooks {
            default: defaults::core::replication_controller,
            validate: validation::core::replication_controller,
            ..NO_HOOKS
        },
    ),
    (
        ("", "Service"),
        KindHooks {
            default: defaults::core::service,
            validate: validation::core::service,
            validate_update: validation::core::service_update,
            ..NO_HOOKS
        },
    ),
    (
        ("", "ConfigMap"),
        KindHooks {
            validate: validation::core::config_map,
            validate_update: validation::core::config_map_update,
            ..NO_HOOKS
        },
    ),
    (
        ("", "Secret"),
        KindHooks {
            default: defaults::core::secret,
            validate: validation::core::secret,
            validate_update: validation::core::secret_update,
            ..NO_HOOKS
        },
    ),
    (
        ("", "Namespace"),
        KindHooks {
            default: defaults::core::namespace,
            prepare_create: defaults::core::namespace_prepare_create,
            prepare_update: defaults::core::namespace_prepare_update,
            validate: validation::core::namespace,
            ..NO_HOOKS
        },
    ),
    (
        ("", "ServiceAccount"),
        KindHooks {
            validate: validation::core::service_account,
            ..NO_HOOKS
        },
    ),
    (
        ("", "Endpoints"),
        KindHooks {
            default: defaults::core::endpoints,
            validate: validation::core::endpoints,
            ..NO_HOOKS
        },
    ),
    (
        ("", "Event"),
        KindHooks {
            validate: validation::core::event,
            ..NO_HOOKS
        },
    ),
    (
        ("", "PersistentVolumeClaim"),
        KindHooks {
            default: defaults::core::persistent_volume_claim,
            validate: validation::core::persistent_volume_claim,
            validate_update: validation::core::persistent_volume_claim_update,
            ..NO_HOOKS
        },
    ),
    (
        ("", "PersistentVolume"),
        KindHooks {
            default: defaults::core::persistent_volume,
            validate: validation::core::persistent_volume,
            ..NO_HOOKS
        },
    ),
    (
        ("apps", "Deployment"),
        KindHooks {
            default: defaults::apps::deployment,
            validate: validation::apps::deployment,
            validate_update: validation::apps::selector_update,
            ..NO_HOOKS
        },
    ),
    (
        ("apps", "ReplicaSet"),
        KindHooks {
            default: defaults::apps::replica_set,
            validate: validation::apps::replica_set,
            validate_update: validation::apps::selector_update,
            ..NO_HOOKS
        },
    ),
    (
        ("apps", "StatefulSet"),
        KindHooks {
            default: defaults::apps::stateful_set,
            validate: validation::apps::stateful_set,
            validate_update: validation::apps::stateful_set_update,
            ..NO_HOOKS
        },
    ),
    (
        ("apps", "DaemonSet"),
        KindHooks {
            default: defaults::apps::daemon_set,
            validate: validation::apps::daemon_set,
            validate_update: validation::apps::selector_update,
            ..NO_HOOKS
        },
    ),
    (
        ("batch", "Job"),
        KindHooks {
            default: defaults::batch::job,
            prepare_create: defaults::batch::job_prepare_create,
            validate: validation::batch::job,
            validate_update: validation::batch::job_update,
            ..NO_HOOKS
        },
    ),
    (
        ("batch", "CronJob"),
        KindHooks {
            default: defaults::batch::cron_job,
            validate: validation::batch::cron_job,
            ..NO_HOOKS
        },
    ),
    (
        ("autoscaling", "HorizontalPodAutoscaler"),
        KindHooks {
            default: defaults::other::horizontal_pod_autoscaler,
            ..NO_HOOKS
        },
    ),
    (
        ("coordination.k8s.io", "Lease"),
        KindHooks {
            validate: validation::other::lease,
            ..NO_HOOKS
        },
    ),
    (
        ("discovery.k8s.io", "EndpointSlice"),
        KindHooks {
            default: defaults::other::endpoint_slice,
            validate: validation::other::endpoint_slice,
            ..NO_HOOKS
        },
    ),
    (
        ("networking.k8s.io", "NetworkPolicy"),
        KindHooks {
            default: defaults::other::network_policy,
            validate: validation::other::network_policy,
            ..NO_HOOKS
        },
    ),
    (
        ("networking.k8s.io", "Ingress"),
        KindHooks {
            validate: validation::other::ingress,
            ..NO_HOOKS
        },
    ),
    (
        ("networking.k8s.io", "IngressClass"),
        KindHooks {
            default: defaults::other::ingress_class,
            ..NO_HOOKS
        },
    ),
    (
        ("storage.k8s.io", "StorageClass"),
        KindHooks {
            default: defaults::other::storage_class,
            validate: validation::other::storage_class,
            validate_update: validation::other::storage_class_update,
            ..NO_HOOKS
        },
    ),
    (
        ("storage.k8s.io", "CSIDriver"),
        KindHooks {
            default: defaults::other::csi_driver,
            ..NO_HOOKS
        },
    ),
    (
        ("storage.k8s.io", "VolumeAttachment"),
        KindHooks {
            default: defaults::other::volume_attachment,
            ..NO_HOOKS
        },
    ),
    (
        ("resource.k8s.io", "ResourceClaim"),
        KindHooks {
            default: defaults::other::resource_claim,
            ..NO_HOOKS
        },
    ),
    (
        ("scheduling.k8s.io", "PriorityClass"),
        KindHooks {
            default: defaults::other::priority_class,
            validate: validation::other::priority_class,
            validate_update: validation::other::priority_class_update,
            ..NO_HOOKS
        },
    ),
    (
        ("rbac.authorization.k8s.io", "RoleBinding"),
        KindHooks {
            default: defaults::other::role_binding,
            validate: validation::other::role_binding,
            validate_update: validation::other::role_binding_update,
            ..NO_HOOKS
        },
    ),
    (
        ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
        KindHooks {
            default: defaults::other::role_binding,
            validate: validation::other::role_binding,
            validate_update: validation::other::role_binding_update,
            ..NO_HOOKS
        },
    ),
];

/// The hooks of a kind ([`NO_HOOKS`] when it has none).
pub fn hooks(group: &str, kind: &str) -> KindHooks {
    KIND_HOOKS
        .iter()
        .find(|((g, k), _)| *g == group && *k == kind)
        .map_or(NO_HOOKS, |(_, hooks)| *hooks)
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
    /// An IP address in canonical form: IPAddresses.
    IpAddress,
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
            NameRule::IpAddress => ip_address_name(name),
        }
    }

    /// Messages for a `generateName` prefix that breaks the rule (a trailing `-` is allowed).
    pub fn check_prefix(self, prefix: &str) -> Vec<String> {
        use tugboat_machinery::names;
        match self {
            NameRule::Subdomain => names::name_is_dns_subdomain(prefix, true),
            NameRule::Label => names::name_is_dns_label(prefix, true),
            NameRule::Rfc1035Label => names::name_is_dns1035_label(prefix, true),
            NameRule::PathSegment => names::name_is_path_segment(prefix, true),
            NameRule::IpAddress => ip_address_name(prefix),
        }
    }
}

fn name_rule(info: &ResourceInfo) -> NameRule {
    match (info.group.as_str(), info.plural.as_str()) {
        ("", "namespaces") => NameRule::Label,
        ("", "services") => NameRule::Rfc1035Label,
        ("rbac.authorization.k8s.io", _) => NameRule::PathSegment,
        ("networking.k8s.io", "ipaddresses") => NameRule::IpAddress,
        _ => NameRule::Subdomain,
    }
}

/// Upstream's `ValidateIPAddressName`: a name Go's `netip.ParseAddr` accepts, in the form it
/// prints.
fn ip_address_name(name: &str) -> Vec<String> {
    match name.parse::<std::net::IpAddr>() {
        Err(_) => vec![format!("ParseAddr({name:?}): unable to parse IP")],
        Ok(ip) if ip.to_string() != name => {
            vec!["must be a canonical format IP address".to_owned()]
        }
        Ok(_) => Vec::new(),
    }
}

/// The strategy of a resource.
pub fn for_resource(info: &ResourceInfo) -> Strategy {
    let hooks = hooks(&info.group, &info.kind);
    Strategy {
        name_rule: name_rule(info),
        status_subresource: info.subresource("status").is_some(),
        tracks_generation: GENERATION_KINDS
            .iter()
            .any(|(group, kind)| *group == info.group && *kind == info.kind),
        default: hooks.default,
        prepare_create: hooks.prepare_create,
        prepare_update: hooks.prepare_update,
        prepare_status_update: hooks.prepare_status_update,
        validate: hooks.validate,
        validate_create: no_validation,
        validate_update: hooks.validate_update,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_address_names_are_canonical_ips() {
        assert!(NameRule::IpAddress.check("255.255.255.255").is_empty());
        assert!(
            NameRule::IpAddress
                .check("fe80::42:1dff:fe84:f9e2")
                .is_empty()
        );
        assert_eq!(
            NameRule::IpAddress.check("fe80:0::1"),
            ["must be a canonical format IP address"]
        );
        assert_eq!(
            NameRule::IpAddress.check("not-an-ip"),
            ["ParseAddr(\"not-an-ip\"): unable to parse IP"]
        );
    }

    #[test]
    fn every_kind_is_listed_once() {
        let mut seen = std::collections::BTreeSet::new();
        for (key, _) in KIND_HOOKS {
            assert!(seen.insert(*key), "{key:?} listed twice");
        }
    }
}
