//! `POST pods/{name}/eviction`: delete a pod only if its PodDisruptionBudget allows it (what
//! `kubectl drain` uses), as upstream's eviction REST (`pkg/registry/core/pod/storage/eviction.go`).
//!
//! Pods that are not running (Pending, Succeeded, Failed) or already being deleted go at once, as
//! do pods no budget selects. With exactly one budget (more is a 500, as upstream), the eviction
//! takes one of the budget's `disruptionsAllowed` (recording the pod in `status.disruptedPods`,
//! compare-and-swap on the budget's status) or is refused with 429 and a `DisruptionBudget` cause; a
//! budget the disruption controller has not caught up with (`observedGeneration`) refuses too. An
//! unready pod under an `AlwaysAllow` unhealthy-pod policy is evicted without taking from the
//! budget. The pod gets the `DisruptionTarget` condition before it is deleted.

use axum::response::Response;
use bytes::Bytes;
use http::StatusCode;
use k8s_openapi::apimachinery::pkg::apis::meta::v1 as metav1;
use serde_json::{Value, json};
use tugboat_machinery::{
    selectors::labels::LabelSelector,
    status::{ApiError, CauseType, StatusCause, StatusDetails, StatusReason},
};

use super::{Context, body, respond_value};
use crate::registry::{
    deletion::DeleteOptions,
    meta,
    store::{Stored, WriteOptions},
};

/// How many times the budget's status write is retried on a conflict.
const RETRIES: usize = 5;
/// Upstream's cap on evictions the disruption controller has not confirmed yet.
const MAX_DISRUPTED_PODS: usize = 2000;

/// Evict the pod named by the request.
pub(crate) async fn create(context: &Context<'_>, body_bytes: Bytes) -> Result<Response, ApiError> {
    let format = context.response_format(false)?;
    let eviction = body::decode_value(context, &body_bytes)?;
    if !eviction.is_object() {
        return Err(ApiError::bad_request(
            "the body of the request must be a JSON object",
        ));
    }
    let name = context.name();
    if meta::name(&eviction).is_some_and(|given| !given.is_empty() && given != name) {
        return Err(ApiError::bad_request(
            "name in URL does not match name in Eviction object",
        ));
    }
    let options = delete_options(context, eviction.get("deleteOptions"))?;
    let pods = context.store;
    for _ in 0..RETRIES {
        let pod = pods.get(context.namespace, name).await?.to_value()?;
        if can_ignore_budget(&pod) {
            return evict(context, &pod, &options, &format).await;
        }
        let budgets = matching_budgets(context, &pod)?;
        let budget = match budgets.as_slice() {
            [] => return evict(context, &pod, &options, &format).await,
            [budget] => budget,
            _ => {
                return Err(ApiError::internal(
                    "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.",
                ));
            }
        };
        let always_allow = budget
            .pointer("/spec/unhealthyPodEvictionPolicy")
            .and_then(Value::as_str)
            == Some("AlwaysAllow");
        if always_allow && !is_ready(&pod) {
            return evict(context, &pod, &options, &format).await;
        }
        check_budget(budget)?;
        if !options.dry_run {
            match take_disruption(context, budget, name).await {
                Ok(()) => {}
                // The budget changed meanwhile: look again with the fresh one.
                Err(error) if error.code == 409 => continue,
                Err(error) => return Err(error),
            }
        }
        return evict(context, &pod, &options, &format).await;
    }
    Err(ApiError::too_many_requests_error(
        "the disruption budget could not be updated; try again",
    ))
}

fn delete_options(context: &Context<'_>, given: Option<&Value>) -> Result<DeleteOptions, ApiError> {
    let mut options = DeleteOptions {
        dry_run: context.query.dry_run,
        ..DeleteOptions::default()
    };
    let Some(given) = given.filter(|g| !g.is_null()) else {
        return Ok(options);
    };
    if let Some(pre) = given.get("preconditions") {
        options.uid = pre.get("uid").and_then(Value::as_str).map(str::to_owned);
        options.resource_version = pre
            .get("resourceVersion")
            .and_then(Value::as_str)
            .map(str::to_owned);
    }
    if let Some(grace) = given.get("gracePeriodSeconds").filter(|v| !v.is_null()) {
        options.grace_period_seconds = Some(
            grace
                .as_i64()
                .ok_or_else(|| ApiError::bad_request("gracePeriodSeconds must be an integer"))?,
        );
    }
    if given
        .get("dryRun")
        .and_then(Value::as_array)
        .is_some_and(|values| values.iter().any(|v| v == "All"))
    {
        options.dry_run = true;
    }
    Ok(options)
}

/// Pods upstream evicts without asking their budget: not running, or already going.
fn can_ignore_budget(pod: &Value) -> bool {
    meta::string(pod, "deletionTimestamp").is_some()
        || matches!(
            pod.pointer("/status/phase").and_then(Value::as_str),
            None | Some("Pending" | "Succeeded" | "Failed")
        )
}

fn is_ready(pod: &Value) -> bool {
    pod.pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|conditions| {
            conditions
                .iter()
                .any(|c| c["type"] == "Ready" && c["status"] == "True")
        })
}

/// The budgets in the pod's namespace whose selector selects it.
fn matching_budgets(context: &Context<'_>, pod: &Value) -> Result<Vec<Value>, ApiError> {
    let Some(budgets) = context
        .registry
        .store("policy", "v1", "poddisruptionbudgets")
    else {
        return Ok(Vec::new());
    };
    let within = budgets.key_within(context.namespace);
    let listed = budgets
        .cache
        .list(&within, None, usize::MAX, |_| true)
        .map_err(super::list::cache_error)?;
    let labels: std::collections::BTreeMap<String, String> = pod
        .pointer("/metadata/labels")
        .and_then(|l| serde_json::from_value(l.clone()).ok())
        .unwrap_or_default();
    let mut out = Vec::new();
    for object in listed.objects {
        let budget = Stored {
            value: object.value.clone(),
            revision: object.revision,
        }
        .to_value()?;
        let selector: Option<metav1::LabelSelector> = budget
            .pointer("/spec/selector")
            .and_then(|s| serde_json::from_value(s.clone()).ok());
        // A budget without a selector selects nothing; an empty one selects every pod.
        let Some(selector) = selector else { continue };
        let Ok(selector) = LabelSelector::from_api(Some(&selector)) else {
            continue;
        };
        if selector.matches(&labels) {
            out.push(budget);
        }
    }
    Ok(out)
}

/// 429 unless the budget allows a disruption now.
fn check_budget(budget: &Value) -> Result<(), ApiError> {
    let name = meta::name(budget).unwrap_or_default();
    let generation = budget
        .pointer("/metadata/generation")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    let observed = budget
        .pointer("/status/observedGeneration")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    if observed < generation {
        return Err(refusal(format!(
            "The disruption budget {name} is still being processed by the server."
        )));
    }
    let allowed = budget
        .pointer("/status/disruptionsAllowed")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    if allowed < 0 {
        return Err(ApiError::forbidden(
            "",
            "",
            "",
            "pdb disruptions allowed is negative",
        ));
    }
    if allowed == 0 {
        let desired = budget
            .pointer("/status/desiredHealthy")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        let current = budget
            .pointer("/status/currentHealthy")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        return Err(refusal(format!(
            "The disruption budget {name} needs {desired} healthy pods and has {current} currently"
        )));
    }
    let disrupted = budget
        .pointer("/status/disruptedPods")
        .and_then(Value::as_object)
        .map_or(0, serde_json::Map::len);
    if disrupted > MAX_DISRUPTED_PODS {
        return Err(ApiError::forbidden(
            "",
            "",
            "",
            "DisruptedPods map too big - too many evictions not confirmed by PDB controller",
        ));
    }
    Ok(())
}

/// Upstream's refusal: 429 with one `DisruptionBudget` cause.
fn refusal(cause: String) -> ApiError {
    ApiError::new(
        429,
        StatusReason::TooManyRequests,
        "Cannot evict pod as it would violate the pod's disruption budget.",
    )
    .with_details(StatusDetails {
        causes: vec![StatusCause {
            cause_type: Some(CauseType::DisruptionBudget),
            message: cause,
            field: String::new(),
        }],
        ..StatusDetails::default()
    })
}

/// Take one disruption from the budget for `pod_name` (409 when the budget changed since read).
async fn take_disruption(
    context: &Context<'_>,
    budget: &Value,
    pod_name: &str,
) -> Result<(), ApiError> {
    let Some(budgets) = context
        .registry
        .store("policy", "v1", "poddisruptionbudgets")
    else {
        return Ok(());
    };
    let budget_name = meta::name(budget).unwrap_or_default().to_owned();
    let read_version = meta::string(budget, "resourceVersion").map(str::to_owned);
    let now = crate::registry::meta::now_rfc3339();
    budgets
        .update_with(
            context.namespace,
            &budget_name,
            Some("status"),
            WriteOptions::default(),
            |current| {
                if meta::string(current, "resourceVersion").map(str::to_owned) != read_version {
                    return Err(ApiError::new(
                        409,
                        StatusReason::Conflict,
                        "the budget changed",
                    ));
                }
                check_budget(current)?;
                let mut taken = current.clone();
                let allowed = taken
                    .pointer("/status/disruptionsAllowed")
                    .and_then(Value::as_i64)
                    .unwrap_or(0);
                let status = taken
                    .as_object_mut()
                    .and_then(|root| {
                        root.entry("status")
                            .or_insert_with(|| json!({}))
                            .as_object_mut()
                    })
                    .ok_or_else(|| ApiError::internal("a budget that is not an object"))?;
                status.insert("disruptionsAllowed".into(), json!(allowed - 1));
                let disrupted = status.entry("disruptedPods").or_insert_with(|| json!({}));
                if let Some(map) = disrupted.as_object_mut() {
                    map.insert(pod_name.to_owned(), json!(now));
                } else {
                    *disrupted = json!({ pod_name: now });
                }
                Ok(taken)
            },
        )
        .await
        .map(|_| ())
}

/// Mark the pod as a disruption target and delete it; upstream's `Success` Status with 201.
async fn evict(
    context: &Context<'_>,
    pod: &Value,
    options: &DeleteOptions,
    format: &crate::negotiate::ResponseFormat,
) -> Result<Response, ApiError> {
    let name = context.name();
    if !options.dry_run && meta::string(pod, "deletionTimestamp").is_none() {
        let now = crate::registry::meta::now_rfc3339();
        // Best effort, as upstream: the deletion matters, the condition informs.
        let _ = context
            .store
            .update_with(
                context.namespace,
                name,
                Some("status"),
                WriteOptions::default(),
                |current| {
                    let mut marked = current.clone();
                    let conditions = marked
                        .as_object_mut()
                        .and_then(|root| {
                            root.entry("status")
                                .or_insert_with(|| json!({}))
                                .as_object_mut()
                        })
                        .map(|status| status.entry("conditions").or_insert_with(|| json!([])));
                    if let Some(Value::Array(conditions)) = conditions {
                        conditions.retain(|c| c["type"] != "DisruptionTarget");
                        conditions.push(json!({
                            "type": "DisruptionTarget", "status": "True",
                            "reason": "EvictionByEvictionAPI", "message": "Eviction API: evicting",
                            "lastTransitionTime": now,
                        }));
                    }
                    Ok(marked)
                },
            )
            .await;
    }
    context
        .store
        .delete(context.namespace, name, options)
        .await?;
    respond_value(
        StatusCode::CREATED,
        &json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Success",
            "code": 201,
        }),
        format,
    )
}
