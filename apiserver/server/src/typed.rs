//! Built-in kinds as k8s-openapi types: the schema that decoding, normalization and strict field
//! validation of built-in objects use.
//!
//! A request body is parsed into a `serde_json::Value`, then run through the kind's typed
//! representation and back ([`TypedKind::normalize`]): that rejects values of the wrong type (400)
//! and drops fields the type does not have, which [`unknown_fields`] then lists for
//! `fieldValidation=Strict|Warn`.

use std::{collections::HashMap, sync::LazyLock};

use serde_json::Value;

/// One built-in kind.
#[derive(Debug)]
pub struct TypedKind {
    /// `apiVersion`, e.g. `apps/v1`.
    pub api_version: &'static str,
    /// `kind`, e.g. `Deployment`.
    pub kind: &'static str,
    /// Decode into the typed struct and encode back.
    pub normalize: fn(&Value) -> Result<Value, serde_json::Error>,
    /// Add the kind's schema (and every schema it refers to) to a generator; returns the
    /// reference to it.
    pub schema: fn(&mut schemars::SchemaGenerator) -> schemars::Schema,
    /// The schema's definition name, e.g. `io.k8s.api.core.v1.Pod`.
    pub schema_name: fn() -> std::borrow::Cow<'static, str>,
}

fn round_trip<T: serde::de::DeserializeOwned + serde::Serialize>(
    value: &Value,
) -> Result<Value, serde_json::Error> {
    let typed: T = T::deserialize(value)?;
    serde_json::to_value(&typed)
}

macro_rules! kinds {
    ($($path:path,)*) => {
        &[$({
            use $path as K;
            TypedKind {
                api_version: <K as k8s_openapi::Resource>::API_VERSION,
                kind: <K as k8s_openapi::Resource>::KIND,
                normalize: round_trip::<K>,
                schema: |generator| generator.subschema_for::<K>(),
                schema_name: <K as schemars::JsonSchema>::schema_name,
            }
        },)*]
    };
}

static KINDS: &[TypedKind] = kinds![
    k8s_openapi::api::admissionregistration::v1::MutatingAdmissionPolicy,
    k8s_openapi::api::admissionregistration::v1::MutatingAdmissionPolicyBinding,
    k8s_openapi::api::admissionregistration::v1::MutatingWebhookConfiguration,
    k8s_openapi::api::admissionregistration::v1::ValidatingAdmissionPolicy,
    k8s_openapi::api::admissionregistration::v1::ValidatingAdmissionPolicyBinding,
    k8s_openapi::api::admissionregistration::v1::ValidatingWebhookConfiguration,
    k8s_openapi::api::admissionregistration::v1alpha1::MutatingAdmissionPolicy,
    k8s_openapi::api::admissionregistration::v1alpha1::MutatingAdmissionPolicyBinding,
    k8s_openapi::api::admissionregistration::v1beta1::MutatingAdmissionPolicy,
    k8s_openapi::api::admissionregistration::v1beta1::MutatingAdmissionPolicyBinding,
    k8s_openapi::api::apiserverinternal::v1alpha1::StorageVersion,
    k8s_openapi::api::apps::v1::ControllerRevision,
    k8s_openapi::api::apps::v1::DaemonSet,
    k8s_openapi::api::apps::v1::Deployment,
    k8s_openapi::api::apps::v1::ReplicaSet,
    k8s_openapi::api::apps::v1::StatefulSet,
    k8s_openapi::api::authentication::v1::SelfSubjectReview,
    k8s_openapi::api::authentication::v1::TokenRequest,
    k8s_openapi::api::authentication::v1::TokenReview,
    k8s_openapi::api::authorization::v1::LocalSubjectAccessReview,
    k8s_openapi::api::authorization::v1::SelfSubjectAccessReview,
    k8s_openapi::api::authorization::v1::SelfSubjectRulesReview,
    k8s_openapi::api::authorization::v1::SubjectAccessReview,
    k8s_openapi::api::autoscaling::v1::HorizontalPodAutoscaler,
    k8s_openapi::api::autoscaling::v1::Scale,
    k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler,
    k8s_openapi::api::batch::v1::CronJob,
    k8s_openapi::api::batch::v1::Job,
    k8s_openapi::api::certificates::v1::CertificateSigningRequest,
    k8s_openapi::api::certificates::v1::ClusterTrustBundle,
    k8s_openapi::api::certificates::v1::PodCertificateRequest,
    k8s_openapi::api::certificates::v1beta1::ClusterTrustBundle,
    k8s_openapi::api::certificates::v1beta1::PodCertificateRequest,
    k8s_openapi::api::coordination::v1::Lease,
    k8s_openapi::api::coordination::v1alpha2::LeaseCandidate,
    k8s_openapi::api::coordination::v1beta1::LeaseCandidate,
    k8s_openapi::api::core::v1::Binding,
    k8s_openapi::api::core::v1::ComponentStatus,
    k8s_openapi::api::core::v1::ConfigMap,
    k8s_openapi::api::core::v1::Endpoints,
    k8s_openapi::api::core::v1::Event,
    k8s_openapi::api::core::v1::LimitRange,
    k8s_openapi::api::core::v1::Namespace,
    k8s_openapi::api::core::v1::Node,
    k8s_openapi::api::core::v1::PersistentVolume,
    k8s_openapi::api::core::v1::PersistentVolumeClaim,
    k8s_openapi::api::core::v1::Pod,
    k8s_openapi::api::core::v1::PodTemplate,
    k8s_openapi::api::core::v1::ReplicationController,
    k8s_openapi::api::core::v1::ResourceQuota,
    k8s_openapi::api::core::v1::Secret,
    k8s_openapi::api::core::v1::Service,
    k8s_openapi::api::core::v1::ServiceAccount,
    k8s_openapi::api::discovery::v1::EndpointSlice,
    k8s_openapi::api::events::v1::Event,
    k8s_openapi::api::flowcontrol::v1::FlowSchema,
    k8s_openapi::api::flowcontrol::v1::PriorityLevelConfiguration,
    k8s_openapi::api::lifecycle::v1alpha1::Eviction,
    k8s_openapi::api::lifecycle::v1alpha1::EvictionRequest,
    k8s_openapi::api::networking::v1::IPAddress,
    k8s_openapi::api::networking::v1::Ingress,
    k8s_openapi::api::networking::v1::IngressClass,
    k8s_openapi::api::networking::v1::NetworkPolicy,
    k8s_openapi::api::networking::v1::ServiceCIDR,
    k8s_openapi::api::node::v1::RuntimeClass,
    k8s_openapi::api::policy::v1::Eviction,
    k8s_openapi::api::policy::v1::PodDisruptionBudget,
    k8s_openapi::api::rbac::v1::ClusterRole,
    k8s_openapi::api::rbac::v1::ClusterRoleBinding,
    k8s_openapi::api::rbac::v1::Role,
    k8s_openapi::api::rbac::v1::RoleBinding,
    k8s_openapi::api::resource::v1::DeviceClass,
    k8s_openapi::api::resource::v1::DeviceTaintRule,
    k8s_openapi::api::resource::v1::ResourceClaim,
    k8s_openapi::api::resource::v1::ResourceClaimTemplate,
    k8s_openapi::api::resource::v1::ResourceSlice,
    k8s_openapi::api::resource::v1alpha3::DeviceTaintRule,
    k8s_openapi::api::resource::v1alpha3::ResourcePoolStatusRequest,
    k8s_openapi::api::resource::v1beta1::DeviceClass,
    k8s_openapi::api::resource::v1beta1::ResourceClaim,
    k8s_openapi::api::resource::v1beta1::ResourceClaimTemplate,
    k8s_openapi::api::resource::v1beta1::ResourceSlice,
    k8s_openapi::api::resource::v1beta2::DeviceClass,
    k8s_openapi::api::resource::v1beta2::DeviceTaintRule,
    k8s_openapi::api::resource::v1beta2::ResourceClaim,
    k8s_openapi::api::resource::v1beta2::ResourceClaimTemplate,
    k8s_openapi::api::resource::v1beta2::ResourceSlice,
    k8s_openapi::api::scheduling::v1::PriorityClass,
    k8s_openapi::api::scheduling::v1alpha3::CompositePodGroup,
    k8s_openapi::api::scheduling::v1alpha3::PodGroup,
    k8s_openapi::api::scheduling::v1alpha3::Workload,
    k8s_openapi::api::scheduling::v1beta1::PodGroup,
    k8s_openapi::api::scheduling::v1beta1::Workload,
    k8s_openapi::api::storage::v1::CSIDriver,
    k8s_openapi::api::storage::v1::CSINode,
    k8s_openapi::api::storage::v1::CSIStorageCapacity,
    k8s_openapi::api::storage::v1::StorageClass,
    k8s_openapi::api::storage::v1::VolumeAttachment,
    k8s_openapi::api::storage::v1::VolumeAttributesClass,
    k8s_openapi::api::storagemigration::v1::StorageVersionMigration,
    k8s_openapi::api::storagemigration::v1beta1::StorageVersionMigration,
    k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition,
    k8s_openapi::kube_aggregator::pkg::apis::apiregistration::v1::APIService,
];

static BY_GVK: LazyLock<HashMap<(&'static str, &'static str), &'static TypedKind>> =
    LazyLock::new(|| KINDS.iter().map(|k| ((k.api_version, k.kind), k)).collect());

/// The typed kind for an `apiVersion` and `kind`, if it is built in.
pub fn lookup(api_version: &str, kind: &str) -> Option<&'static TypedKind> {
    BY_GVK.get(&(api_version, kind)).copied()
}

/// Every built-in kind.
pub fn all() -> &'static [TypedKind] {
    KINDS
}

/// Paths of fields in `original` that `normalized` lacks, in upstream's notation
/// (`spec.containers[0].foo`). `null` values are not reported: they mean "unset".
pub fn unknown_fields(original: &Value, normalized: &Value) -> Vec<String> {
    let mut found = Vec::new();
    collect_unknown(original, normalized, &mut String::new(), &mut found);
    found
}

fn collect_unknown(
    original: &Value,
    normalized: &Value,
    path: &mut String,
    found: &mut Vec<String>,
) {
    match (original, normalized) {
        (Value::Object(given), Value::Object(kept)) => {
            for (key, value) in given {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
                match kept.get(key) {
                    Some(kept_value) => collect_unknown(value, kept_value, path, found),
                    None if !value.is_null() => found.push(path.clone()),
                    None => {}
                }
                path.truncate(len);
            }
        }
        (Value::Array(given), Value::Array(kept)) => {
            for (index, (value, kept_value)) in given.iter().zip(kept).enumerate() {
                let len = path.len();
                path.push_str(&format!("[{index}]"));
                collect_unknown(value, kept_value, path, found);
                path.truncate(len);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn every_kind_is_found_once() {
        assert!(all().len() > 90);
        assert_eq!(BY_GVK.len(), all().len());
        assert!(lookup("v1", "Pod").is_some());
        assert!(lookup("apps/v1", "Deployment").is_some());
        assert!(lookup("apiextensions.k8s.io/v1", "CustomResourceDefinition").is_some());
        assert!(lookup("v1", "Deployment").is_none());
    }

    #[test]
    fn unknown_fields_are_listed_with_paths() {
        let pod = json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "bogus": 1, "labels": {"a": "b"}},
            "spec": {"containers": [{"name": "c", "image": "i", "imagePullPolicyy": "Always"}], "nodeName": null},
        });
        let kind = lookup("v1", "Pod").unwrap();
        let normalized = (kind.normalize)(&pod).unwrap();
        assert_eq!(
            unknown_fields(&pod, &normalized),
            vec![
                "metadata.bogus".to_owned(),
                "spec.containers[0].imagePullPolicyy".to_owned()
            ]
        );
    }

    #[test]
    fn wrong_types_are_errors() {
        let kind = lookup("v1", "ConfigMap").unwrap();
        assert!((kind.normalize)(&json!({"metadata": {"name": 5}})).is_err());
        assert!((kind.normalize)(&json!({"data": {"a": 1}})).is_err());
    }
}
