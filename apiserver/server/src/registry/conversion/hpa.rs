//! autoscaling/v1 `HorizontalPodAutoscaler` served from autoscaling/v2 storage.
//!
//! Upstream's `pkg/apis/autoscaling/v1/conversion.go`: autoscaling/v1 has only a CPU
//! utilization target (`targetCPUUtilizationPercentage`, the first `Resource` metric named
//! `cpu`) and its current value. Everything else v2 holds travels in annotations, so a v1
//! client that reads an object and writes it back loses nothing:
//! - `autoscaling.alpha.kubernetes.io/metrics`: the other metrics, as autoscaling/v1
//!   `MetricSpec`s (a Go type that never made it into the OpenAPI document, hence
//!   [`MetricSpecV1`] here);
//! - `autoscaling.alpha.kubernetes.io/current-metrics`: every current metric, as v1
//!   `MetricStatus`es;
//! - `autoscaling.alpha.kubernetes.io/behavior`: the scaling behavior, as Go marshals the
//!   *internal* type, which has no json tags: Go field names (`ScaleUp`,
//!   `StabilizationWindowSeconds`, ...) and `null` for nil pointers;
//! - `autoscaling.alpha.kubernetes.io/conditions`: the status conditions.
//!
//! On the way in the annotations are read back (malformed ones are ignored, as upstream "only
//! moves well-formed data") and dropped; an HPA with no metric at all gets upstream's implicit
//! 80% CPU target. The v1 `status` is a Go struct, so it is always written.

use std::collections::BTreeMap;

use k8s_openapi::{
    api::autoscaling::{v1, v2},
    apimachinery::pkg::{
        api::resource::Quantity,
        apis::meta::v1::{LabelSelector, Time},
    },
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Other metrics than the CPU utilization target, as v1 `MetricSpec`s.
pub const METRICS_ANNOTATION: &str = "autoscaling.alpha.kubernetes.io/metrics";
/// Current metrics, as v1 `MetricStatus`es.
pub const CURRENT_METRICS_ANNOTATION: &str = "autoscaling.alpha.kubernetes.io/current-metrics";
/// Status conditions.
pub const CONDITIONS_ANNOTATION: &str = "autoscaling.alpha.kubernetes.io/conditions";
/// The scaling behavior, as the internal Go type.
pub const BEHAVIOR_ANNOTATION: &str = "autoscaling.alpha.kubernetes.io/behavior";

/// Every annotation upstream's `DropRoundTripHorizontalPodAutoscalerAnnotations` removes (the
/// two tolerance ones carry autoscaling/v2beta2's round trip).
const ROUND_TRIP_ANNOTATIONS: [&str; 6] = [
    METRICS_ANNOTATION,
    BEHAVIOR_ANNOTATION,
    CURRENT_METRICS_ANNOTATION,
    CONDITIONS_ANNOTATION,
    "autoscaling.alpha.kubernetes.io/scale-down-tolerance",
    "autoscaling.alpha.kubernetes.io/scale-up-tolerance",
];

/// `autoscaling.DefaultCPUUtilization`.
const DEFAULT_CPU_UTILIZATION: i32 = 80;

// === autoscaling/v1 types only found in the annotations ===
// Fields are declared in Go's order, so the annotations read as upstream writes them.

/// `autoscaling/v1.CrossVersionObjectReference`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct ReferenceV1 {
    kind: String,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    api_version: Option<String>,
}

/// `autoscaling/v1.MetricSpec`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct MetricSpecV1 {
    #[serde(rename = "type")]
    type_: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    object: Option<ObjectSourceV1>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pods: Option<PodsSourceV1>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resource: Option<ResourceSourceV1>,
    #[serde(skip_serializing_if = "Option::is_none")]
    container_resource: Option<ResourceSourceV1>,
    #[serde(skip_serializing_if = "Option::is_none")]
    external: Option<ExternalSourceV1>,
}

/// `autoscaling/v1.ObjectMetricSource`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct ObjectSourceV1 {
    target: ReferenceV1,
    metric_name: String,
    target_value: Quantity,
    #[serde(skip_serializing_if = "Option::is_none")]
    selector: Option<LabelSelector>,
    #[serde(skip_serializing_if = "Option::is_none")]
    average_value: Option<Quantity>,
}

/// `autoscaling/v1.PodsMetricSource`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct PodsSourceV1 {
    metric_name: String,
    target_average_value: Quantity,
    #[serde(skip_serializing_if = "Option::is_none")]
    selector: Option<LabelSelector>,
}

/// `autoscaling/v1.ResourceMetricSource` and (with `container`) `ContainerResourceMetricSource`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct ResourceSourceV1 {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    target_average_utilization: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    target_average_value: Option<Quantity>,
    #[serde(skip_serializing_if = "Option::is_none")]
    container: Option<String>,
}

/// `autoscaling/v1.ExternalMetricSource`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct ExternalSourceV1 {
    metric_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    metric_selector: Option<LabelSelector>,
    #[serde(skip_serializing_if = "Option::is_none")]
    target_value: Option<Quantity>,
    #[serde(skip_serializing_if = "Option::is_none")]
    target_average_value: Option<Quantity>,
}

/// `autoscaling/v1.MetricStatus`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct MetricStatusV1 {
    #[serde(rename = "type")]
    type_: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    object: Option<ObjectStatusV1>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pods: Option<PodsStatusV1>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resource: Option<ResourceStatusV1>,
    #[serde(skip_serializing_if = "Option::is_none")]
    container_resource: Option<ResourceStatusV1>,
    #[serde(skip_serializing_if = "Option::is_none")]
    external: Option<ExternalStatusV1>,
}

/// `autoscaling/v1.ObjectMetricStatus`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct ObjectStatusV1 {
    target: ReferenceV1,
    metric_name: String,
    current_value: Quantity,
    #[serde(skip_serializing_if = "Option::is_none")]
    selector: Option<LabelSelector>,
    #[serde(skip_serializing_if = "Option::is_none")]
    average_value: Option<Quantity>,
}

/// `autoscaling/v1.PodsMetricStatus`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct PodsStatusV1 {
    metric_name: String,
    current_average_value: Quantity,
    #[serde(skip_serializing_if = "Option::is_none")]
    selector: Option<LabelSelector>,
}

/// `autoscaling/v1.ResourceMetricStatus` and (with `container`) `ContainerResourceMetricStatus`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct ResourceStatusV1 {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    current_average_utilization: Option<i32>,
    current_average_value: Quantity,
    #[serde(skip_serializing_if = "Option::is_none")]
    container: Option<String>,
}

/// `autoscaling/v1.ExternalMetricStatus`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct ExternalStatusV1 {
    metric_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    metric_selector: Option<LabelSelector>,
    current_value: Quantity,
    #[serde(skip_serializing_if = "Option::is_none")]
    current_average_value: Option<Quantity>,
}

/// `autoscaling/v1.HorizontalPodAutoscalerCondition`. `lastTransitionTime` is a Go struct: a
/// zero time is written as `null`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct ConditionV1 {
    #[serde(rename = "type")]
    type_: String,
    status: String,
    last_transition_time: Option<Time>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
}

/// The internal `autoscaling.HorizontalPodAutoscalerBehavior` as Go marshals it (no json tags).
/// Go matches keys case-insensitively on the way in; the aliases take the json names too.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct BehaviorInternal {
    #[serde(alias = "scaleUp")]
    scale_up: Option<RulesInternal>,
    #[serde(alias = "scaleDown")]
    scale_down: Option<RulesInternal>,
}

/// The internal `autoscaling.HPAScalingRules`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct RulesInternal {
    #[serde(alias = "stabilizationWindowSeconds")]
    stabilization_window_seconds: Option<i32>,
    #[serde(alias = "selectPolicy")]
    select_policy: Option<String>,
    #[serde(alias = "policies")]
    policies: Option<Vec<PolicyInternal>>,
    #[serde(alias = "tolerance")]
    tolerance: Option<Quantity>,
}

/// The internal `autoscaling.HPAScalingPolicy`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct PolicyInternal {
    #[serde(rename = "Type", alias = "type")]
    type_: String,
    #[serde(alias = "value")]
    value: i32,
    #[serde(alias = "periodSeconds")]
    period_seconds: i32,
}

/// Go's zero `resource.Quantity`, as it marshals.
fn zero() -> Quantity {
    Quantity("0".to_owned())
}

fn is_cpu_resource(metric: &v2::MetricSpec) -> Option<&v2::ResourceMetricSource> {
    metric
        .resource
        .as_ref()
        .filter(|r| metric.type_ == "Resource" && r.name == "cpu")
}

fn reference_to_v1(r: v2::CrossVersionObjectReference) -> ReferenceV1 {
    ReferenceV1 {
        kind: r.kind,
        name: r.name,
        api_version: r.api_version,
    }
}

fn reference_to_v2(r: ReferenceV1) -> v2::CrossVersionObjectReference {
    v2::CrossVersionObjectReference {
        kind: r.kind,
        name: r.name,
        api_version: r.api_version,
    }
}

fn identifier(name: String, selector: Option<LabelSelector>) -> v2::MetricIdentifier {
    v2::MetricIdentifier { name, selector }
}

fn metric_spec_to_v1(m: v2::MetricSpec) -> MetricSpecV1 {
    let resource =
        |name: String, target: v2::MetricTarget, container: Option<String>| ResourceSourceV1 {
            name,
            target_average_utilization: target.average_utilization,
            target_average_value: target.average_value,
            container,
        };
    MetricSpecV1 {
        type_: m.type_,
        object: m.object.map(|o| ObjectSourceV1 {
            target: reference_to_v1(o.described_object),
            metric_name: o.metric.name,
            target_value: o.target.value.unwrap_or_else(zero),
            selector: o.metric.selector,
            average_value: o.target.average_value,
        }),
        pods: m.pods.map(|p| PodsSourceV1 {
            metric_name: p.metric.name,
            target_average_value: p.target.average_value.unwrap_or_else(zero),
            selector: p.metric.selector,
        }),
        resource: m.resource.map(|r| resource(r.name, r.target, None)),
        container_resource: m
            .container_resource
            .map(|r| resource(r.name, r.target, Some(r.container))),
        external: m.external.map(|e| ExternalSourceV1 {
            metric_name: e.metric.name,
            metric_selector: e.metric.selector,
            target_value: e.target.value,
            target_average_value: e.target.average_value,
        }),
    }
}

fn metric_spec_to_v2(m: MetricSpecV1) -> v2::MetricSpec {
    let resource_target = |r: &ResourceSourceV1| v2::MetricTarget {
        type_: if r.target_average_utilization.is_some() {
            "Utilization"
        } else {
            "AverageValue"
        }
        .to_owned(),
        average_utilization: r.target_average_utilization,
        average_value: r.target_average_value.clone(),
        value: None,
    };
    v2::MetricSpec {
        type_: m.type_,
        object: m.object.map(|o| v2::ObjectMetricSource {
            target: v2::MetricTarget {
                type_: if o.average_value.is_some() {
                    "AverageValue"
                } else {
                    "Value"
                }
                .to_owned(),
                value: Some(o.target_value),
                average_value: o.average_value,
                average_utilization: None,
            },
            described_object: reference_to_v2(o.target),
            metric: identifier(o.metric_name, o.selector),
        }),
        pods: m.pods.map(|p| v2::PodsMetricSource {
            target: v2::MetricTarget {
                type_: "AverageValue".to_owned(),
                average_value: Some(p.target_average_value),
                ..Default::default()
            },
            metric: identifier(p.metric_name, p.selector),
        }),
        resource: m.resource.map(|r| v2::ResourceMetricSource {
            target: resource_target(&r),
            name: r.name,
        }),
        container_resource: m
            .container_resource
            .map(|r| v2::ContainerResourceMetricSource {
                target: resource_target(&r),
                name: r.name,
                container: r.container.unwrap_or_default(),
            }),
        external: m.external.map(|e| v2::ExternalMetricSource {
            target: v2::MetricTarget {
                type_: if e.target_value.is_some() {
                    "Value"
                } else {
                    "AverageValue"
                }
                .to_owned(),
                value: e.target_value,
                average_value: e.target_average_value,
                average_utilization: None,
            },
            metric: identifier(e.metric_name, e.metric_selector),
        }),
    }
}

fn metric_status_to_v1(m: v2::MetricStatus) -> MetricStatusV1 {
    let resource = |name: String, current: v2::MetricValueStatus, container: Option<String>| {
        ResourceStatusV1 {
            name,
            current_average_utilization: current.average_utilization,
            current_average_value: current.average_value.unwrap_or_else(zero),
            container,
        }
    };
    MetricStatusV1 {
        type_: m.type_,
        object: m.object.map(|o| ObjectStatusV1 {
            target: reference_to_v1(o.described_object),
            metric_name: o.metric.name,
            current_value: o.current.value.unwrap_or_else(zero),
            selector: o.metric.selector,
            average_value: o.current.average_value,
        }),
        pods: m.pods.map(|p| PodsStatusV1 {
            metric_name: p.metric.name,
            current_average_value: p.current.average_value.unwrap_or_else(zero),
            selector: p.metric.selector,
        }),
        resource: m.resource.map(|r| resource(r.name, r.current, None)),
        container_resource: m
            .container_resource
            .map(|r| resource(r.name, r.current, Some(r.container))),
        external: m.external.map(|e| ExternalStatusV1 {
            metric_name: e.metric.name,
            metric_selector: e.metric.selector,
            current_value: e.current.value.unwrap_or_else(zero),
            current_average_value: e.current.average_value,
        }),
    }
}

fn metric_status_to_v2(m: MetricStatusV1) -> v2::MetricStatus {
    let resource_current = |r: &ResourceStatusV1| v2::MetricValueStatus {
        average_utilization: r.current_average_utilization,
        average_value: Some(r.current_average_value.clone()),
        value: None,
    };
    v2::MetricStatus {
        type_: m.type_,
        object: m.object.map(|o| v2::ObjectMetricStatus {
            current: v2::MetricValueStatus {
                value: Some(o.current_value),
                average_value: o.average_value,
                average_utilization: None,
            },
            described_object: reference_to_v2(o.target),
            metric: identifier(o.metric_name, o.selector),
        }),
        pods: m.pods.map(|p| v2::PodsMetricStatus {
            current: v2::MetricValueStatus {
                average_value: Some(p.current_average_value),
                ..Default::default()
            },
            metric: identifier(p.metric_name, p.selector),
        }),
        resource: m.resource.map(|r| v2::ResourceMetricStatus {
            current: resource_current(&r),
            name: r.name,
        }),
        container_resource: m
            .container_resource
            .map(|r| v2::ContainerResourceMetricStatus {
                current: resource_current(&r),
                name: r.name,
                container: r.container.unwrap_or_default(),
            }),
        external: m.external.map(|e| v2::ExternalMetricStatus {
            current: v2::MetricValueStatus {
                value: Some(e.current_value),
                average_value: e.current_average_value,
                average_utilization: None,
            },
            metric: identifier(e.metric_name, e.metric_selector),
        }),
    }
}

fn behavior_to_internal(b: v2::HorizontalPodAutoscalerBehavior) -> BehaviorInternal {
    let rules = |r: v2::HPAScalingRules| RulesInternal {
        stabilization_window_seconds: r.stabilization_window_seconds,
        select_policy: r.select_policy,
        policies: r.policies.map(|policies| {
            policies
                .into_iter()
                .map(|p| PolicyInternal {
                    type_: p.type_,
                    value: p.value,
                    period_seconds: p.period_seconds,
                })
                .collect()
        }),
        tolerance: r.tolerance,
    };
    BehaviorInternal {
        scale_up: b.scale_up.map(rules),
        scale_down: b.scale_down.map(rules),
    }
}

fn behavior_to_v2(b: BehaviorInternal) -> v2::HorizontalPodAutoscalerBehavior {
    let rules = |r: RulesInternal| v2::HPAScalingRules {
        stabilization_window_seconds: r.stabilization_window_seconds,
        select_policy: r.select_policy,
        policies: r.policies.map(|policies| {
            policies
                .into_iter()
                .map(|p| v2::HPAScalingPolicy {
                    type_: p.type_,
                    value: p.value,
                    period_seconds: p.period_seconds,
                })
                .collect()
        }),
        tolerance: r.tolerance,
    };
    v2::HorizontalPodAutoscalerBehavior {
        scale_up: b.scale_up.map(rules),
        scale_down: b.scale_down.map(rules),
    }
}

/// Remove the round-trip annotations (an emptied map goes too, as Go omits it).
fn drop_round_trip(annotations: &mut Option<BTreeMap<String, String>>) {
    if let Some(map) = annotations {
        for key in ROUND_TRIP_ANNOTATIONS {
            map.remove(key);
        }
        if map.is_empty() {
            *annotations = None;
        }
    }
}

fn encode<T: Serialize>(value: &T) -> Result<String, String> {
    serde_json::to_string(value).map_err(|e| e.to_string())
}

/// A well-formed annotation decoded; anything else is ignored, as upstream does.
fn decode<T: for<'de> Deserialize<'de>>(
    annotations: Option<&BTreeMap<String, String>>,
    key: &str,
) -> Option<T> {
    serde_json::from_str(annotations?.get(key)?).ok()
}

/// A stored autoscaling/v2 HPA as autoscaling/v1.
pub(super) fn to_v1(stored: Value) -> Result<Value, String> {
    let hpa: v2::HorizontalPodAutoscaler =
        serde_json::from_value(stored).map_err(|e| e.to_string())?;
    let mut metadata = hpa.metadata;
    drop_round_trip(&mut metadata.annotations);
    let spec = hpa.spec;
    let status = hpa.status.unwrap_or_default();
    let metrics = spec.metrics.unwrap_or_default();

    // The first CPU resource metric is the target, if it is a utilization; the loop over the
    // current metrics has no break upstream, so the last CPU utilization wins there.
    let target_cpu = metrics
        .iter()
        .find_map(is_cpu_resource)
        .and_then(|r| r.target.average_utilization);
    let current_cpu = status
        .current_metrics
        .iter()
        .flatten()
        .rev()
        .filter(|m| m.type_ == "Resource")
        .filter_map(|m| m.resource.as_ref())
        .filter(|r| r.name == "cpu")
        .find_map(|r| r.current.average_utilization);

    let other_metrics: Vec<MetricSpecV1> = metrics
        .into_iter()
        .filter(|m| is_cpu_resource(m).is_none_or(|r| r.target.average_utilization.is_none()))
        .map(metric_spec_to_v1)
        .collect();
    let current_metrics: Vec<MetricStatusV1> = status
        .current_metrics
        .unwrap_or_default()
        .into_iter()
        .map(metric_status_to_v1)
        .collect();
    let conditions: Vec<ConditionV1> = status
        .conditions
        .unwrap_or_default()
        .into_iter()
        .map(|c| ConditionV1 {
            type_: c.type_,
            status: c.status,
            last_transition_time: c.last_transition_time,
            reason: c.reason.filter(|r| !r.is_empty()),
            message: c.message.filter(|m| !m.is_empty()),
        })
        .collect();

    let mut added = Vec::new();
    if !other_metrics.is_empty() {
        added.push((METRICS_ANNOTATION, encode(&other_metrics)?));
    }
    if !current_metrics.is_empty() {
        added.push((CURRENT_METRICS_ANNOTATION, encode(&current_metrics)?));
    }
    if let Some(behavior) = spec.behavior {
        added.push((
            BEHAVIOR_ANNOTATION,
            encode(&behavior_to_internal(behavior))?,
        ));
    }
    if !conditions.is_empty() {
        added.push((CONDITIONS_ANNOTATION, encode(&conditions)?));
    }
    if !added.is_empty() {
        let annotations = metadata.annotations.get_or_insert_with(BTreeMap::new);
        for (key, value) in added {
            annotations.insert(key.to_owned(), value);
        }
    }

    let v1 = v1::HorizontalPodAutoscaler {
        metadata,
        spec: v1::HorizontalPodAutoscalerSpec {
            scale_target_ref: v1::CrossVersionObjectReference {
                kind: spec.scale_target_ref.kind,
                name: spec.scale_target_ref.name,
                api_version: spec.scale_target_ref.api_version,
            },
            min_replicas: spec.min_replicas,
            max_replicas: spec.max_replicas,
            target_cpu_utilization_percentage: target_cpu,
        },
        status: Some(v1::HorizontalPodAutoscalerStatus {
            observed_generation: status.observed_generation,
            last_scale_time: status.last_scale_time,
            current_replicas: status.current_replicas.unwrap_or(0),
            desired_replicas: status.desired_replicas,
            current_cpu_utilization_percentage: current_cpu,
        }),
    };
    serde_json::to_value(&v1).map_err(|e| e.to_string())
}

/// An autoscaling/v1 HPA as autoscaling/v2, for storage.
pub(super) fn to_v2(served: Value) -> Result<Value, String> {
    let hpa: v1::HorizontalPodAutoscaler =
        serde_json::from_value(served).map_err(|e| e.to_string())?;
    let mut metadata = hpa.metadata;
    let annotations = metadata.annotations.as_ref();

    let mut metrics: Vec<v2::MetricSpec> = Vec::new();
    if let Some(other) = decode::<Vec<MetricSpecV1>>(annotations, METRICS_ANNOTATION) {
        metrics.extend(other.into_iter().map(metric_spec_to_v2));
    }
    // The CPU target goes after the annotation's metrics, as upstream appends it.
    if let Some(target) = hpa.spec.target_cpu_utilization_percentage {
        metrics.push(cpu_utilization_target(target));
    }
    // autoscaling/v1 once had an implicit default in the controller; upstream makes it explicit
    // here, where the annotation's metrics are known.
    if metrics.is_empty() {
        metrics.push(cpu_utilization_target(DEFAULT_CPU_UTILIZATION));
    }
    let behavior = decode::<BehaviorInternal>(annotations, BEHAVIOR_ANNOTATION)
        .filter(|b| b.scale_up.is_some() || b.scale_down.is_some())
        .map(behavior_to_v2);
    let annotated_current = decode::<Vec<MetricStatusV1>>(annotations, CURRENT_METRICS_ANNOTATION);
    let annotated_conditions = decode::<Vec<ConditionV1>>(annotations, CONDITIONS_ANNOTATION);

    let status = match (hpa.status, annotated_current, annotated_conditions) {
        (None, None, None) => None,
        (status, current, conditions) => {
            let status = status.unwrap_or_default();
            // The annotation's statuses have more information than the CPU utilization.
            let current_metrics = match current {
                Some(current) => Some(current.into_iter().map(metric_status_to_v2).collect()),
                None => status.current_cpu_utilization_percentage.map(|u| {
                    vec![v2::MetricStatus {
                        type_: "Resource".to_owned(),
                        resource: Some(v2::ResourceMetricStatus {
                            name: "cpu".to_owned(),
                            current: v2::MetricValueStatus {
                                average_utilization: Some(u),
                                ..Default::default()
                            },
                        }),
                        ..Default::default()
                    }]
                }),
            };
            Some(v2::HorizontalPodAutoscalerStatus {
                observed_generation: status.observed_generation,
                last_scale_time: status.last_scale_time,
                // `currentReplicas` is `omitempty` in v2.
                current_replicas: Some(status.current_replicas).filter(|r| *r != 0),
                desired_replicas: status.desired_replicas,
                current_metrics,
                conditions: conditions.map(|conditions| {
                    conditions
                        .into_iter()
                        .map(|c| v2::HorizontalPodAutoscalerCondition {
                            type_: c.type_,
                            status: c.status,
                            last_transition_time: c.last_transition_time,
                            reason: c.reason,
                            message: c.message,
                            observed_generation: None,
                        })
                        .collect()
                }),
            })
        }
    };
    drop_round_trip(&mut metadata.annotations);

    let v2 = v2::HorizontalPodAutoscaler {
        metadata,
        spec: v2::HorizontalPodAutoscalerSpec {
            scale_target_ref: v2::CrossVersionObjectReference {
                kind: hpa.spec.scale_target_ref.kind,
                name: hpa.spec.scale_target_ref.name,
                api_version: hpa.spec.scale_target_ref.api_version,
            },
            min_replicas: hpa.spec.min_replicas,
            max_replicas: hpa.spec.max_replicas,
            metrics: Some(metrics),
            behavior,
        },
        status,
    };
    serde_json::to_value(&v2).map_err(|e| e.to_string())
}

fn cpu_utilization_target(utilization: i32) -> v2::MetricSpec {
    v2::MetricSpec {
        type_: "Resource".to_owned(),
        resource: Some(v2::ResourceMetricSource {
            name: "cpu".to_owned(),
            target: v2::MetricTarget {
                type_: "Utilization".to_owned(),
                average_utilization: Some(utilization),
                ..Default::default()
            },
        }),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn v2_hpa() -> Value {
        json!({
            "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "web", "namespace": "d", "annotations": {"team": "a"}},
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                "minReplicas": 1, "maxReplicas": 5,
                "metrics": [
                    {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 60}}},
                    {"type": "Pods", "pods": {"metric": {"name": "qps"}, "target": {"type": "AverageValue", "averageValue": "10"}}},
                    {"type": "Resource", "resource": {"name": "memory", "target": {"type": "AverageValue", "averageValue": "100Mi"}}},
                    {"type": "External", "external": {"metric": {"name": "queue", "selector": {"matchLabels": {"q": "a"}}},
                        "target": {"type": "Value", "value": "30"}}},
                    {"type": "Object", "object": {"metric": {"name": "hits"},
                        "describedObject": {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "name": "main"},
                        "target": {"type": "Value", "value": "2k"}}},
                    {"type": "ContainerResource", "containerResource": {"name": "cpu", "container": "app",
                        "target": {"type": "Utilization", "averageUtilization": 70}}},
                ],
                "behavior": {"scaleDown": {"stabilizationWindowSeconds": 60, "selectPolicy": "Max",
                    "policies": [{"type": "Percent", "value": 10, "periodSeconds": 60}]}},
            },
            "status": {
                "observedGeneration": 2, "currentReplicas": 2, "desiredReplicas": 3,
                "currentMetrics": [
                    {"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 75, "averageValue": "150m"}}},
                    {"type": "Pods", "pods": {"metric": {"name": "qps"}, "current": {"averageValue": "12"}}},
                ],
                "conditions": [{"type": "AbleToScale", "status": "True", "lastTransitionTime": "2025-01-01T00:00:00Z",
                    "reason": "ReadyForNewScale", "message": "recommended size matches current size"}],
            },
        })
    }

    fn annotation(v1: &Value, key: &str) -> Value {
        let text = v1["metadata"]["annotations"][key]
            .as_str()
            .unwrap_or_else(|| panic!("no {key} in {v1:#}"));
        serde_json::from_str(text).unwrap_or_else(|e| panic!("{key}: {e}"))
    }

    #[test]
    fn v2_to_v1_keeps_the_cpu_target_and_annotates_the_rest() {
        let v1 = to_v1(v2_hpa()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(v1["apiVersion"], "autoscaling/v1");
        assert_eq!(
            v1["spec"],
            json!({"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                "minReplicas": 1, "maxReplicas": 5, "targetCPUUtilizationPercentage": 60})
        );
        assert_eq!(
            v1["status"],
            json!({"observedGeneration": 2, "currentReplicas": 2, "desiredReplicas": 3,
                "currentCPUUtilizationPercentage": 75})
        );
        assert_eq!(v1["metadata"]["annotations"]["team"], "a");
        assert_eq!(
            annotation(&v1, METRICS_ANNOTATION),
            json!([
                {"type": "Pods", "pods": {"metricName": "qps", "targetAverageValue": "10"}},
                {"type": "Resource", "resource": {"name": "memory", "targetAverageValue": "100Mi"}},
                {"type": "External", "external": {"metricName": "queue",
                    "metricSelector": {"matchLabels": {"q": "a"}}, "targetValue": "30"}},
                {"type": "Object", "object": {"target": {"kind": "Ingress", "name": "main",
                    "apiVersion": "networking.k8s.io/v1"}, "metricName": "hits", "targetValue": "2k"}},
                {"type": "ContainerResource", "containerResource": {"name": "cpu",
                    "targetAverageUtilization": 70, "container": "app"}},
            ])
        );
        assert_eq!(
            annotation(&v1, CURRENT_METRICS_ANNOTATION),
            json!([
                {"type": "Resource", "resource": {"name": "cpu", "currentAverageUtilization": 75,
                    "currentAverageValue": "150m"}},
                {"type": "Pods", "pods": {"metricName": "qps", "currentAverageValue": "12"}},
            ])
        );
        assert_eq!(
            annotation(&v1, BEHAVIOR_ANNOTATION),
            json!({"ScaleUp": null, "ScaleDown": {"StabilizationWindowSeconds": 60,
                "SelectPolicy": "Max", "Policies": [{"Type": "Percent", "Value": 10, "PeriodSeconds": 60}],
                "Tolerance": null}})
        );
        assert_eq!(
            annotation(&v1, CONDITIONS_ANNOTATION),
            json!([{"type": "AbleToScale", "status": "True", "lastTransitionTime": "2025-01-01T00:00:00Z",
                "reason": "ReadyForNewScale", "message": "recommended size matches current size"}])
        );
    }

    #[test]
    fn the_annotations_round_trip() {
        let stored = v2_hpa();
        let v1 = to_v1(stored.clone()).unwrap_or_else(|e| panic!("{e}"));
        let back = to_v2(v1).unwrap_or_else(|e| panic!("{e}"));
        // Upstream appends the CPU target after the annotation's metrics.
        let mut expected = stored;
        let metrics = expected["spec"]["metrics"]
            .as_array_mut()
            .unwrap_or_else(|| panic!("no metrics"));
        let cpu = metrics.remove(0);
        metrics.push(cpu);
        assert_eq!(back, expected);
        // A second trip changes nothing more.
        let again = to_v2(to_v1(back.clone()).unwrap_or_else(|e| panic!("{e}")))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(again, back);
    }

    #[test]
    fn a_plain_v1_hpa_becomes_a_cpu_metric() {
        let v1 = json!({"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "web"},
            "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "maxReplicas": 3,
                "targetCPUUtilizationPercentage": 50}});
        let v2 = to_v2(v1.clone()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            v2,
            json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
                "metadata": {"name": "web"},
                "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "maxReplicas": 3,
                    "metrics": [{"type": "Resource", "resource": {"name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": 50}}}]}})
        );
        let mut expected = v1;
        expected["status"] = json!({"currentReplicas": 0, "desiredReplicas": 0});
        assert_eq!(to_v1(v2).unwrap_or_else(|e| panic!("{e}")), expected);
    }

    #[test]
    fn no_metric_at_all_is_the_implicit_cpu_target() {
        let v1 = json!({"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "web", "annotations": {METRICS_ANNOTATION: "not json"}},
            "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "maxReplicas": 3},
            "status": {"currentReplicas": 1, "desiredReplicas": 1, "currentCPUUtilizationPercentage": 20}});
        let v2 = to_v2(v1).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            v2["spec"]["metrics"],
            json!([{"type": "Resource", "resource": {"name": "cpu",
                "target": {"type": "Utilization", "averageUtilization": 80}}}])
        );
        // The malformed annotation is dropped, not kept.
        assert!(v2["metadata"].get("annotations").is_none(), "{v2:#}");
        assert_eq!(
            v2["status"],
            json!({"currentReplicas": 1, "desiredReplicas": 1, "currentMetrics": [{"type": "Resource",
                "resource": {"name": "cpu", "current": {"averageUtilization": 20}}}]})
        );
    }

    #[test]
    fn behavior_is_read_with_go_or_json_names() {
        let text = r#"{"scaleUp":{"stabilizationWindowSeconds":0,"selectPolicy":"Max","policies":[{"type":"Pods","value":4,"periodSeconds":15}]}}"#;
        let behavior: BehaviorInternal =
            serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            behavior.scale_up.and_then(|r| r.policies).map(|p| p.len()),
            Some(1)
        );
    }
}
