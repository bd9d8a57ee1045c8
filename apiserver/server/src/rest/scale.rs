//! The `scale` subresource of deployments, replica sets and stateful sets (apps/v1) and of
//! replication controllers (core/v1): an `autoscaling/v1` `Scale` that shows the parent's desired
//! and observed replica counts and its selector, and through which the desired count is set.
//!
//! The subresource is two functions over JSON, [`read`] (the parent as a Scale) and [`write`] (a
//! Scale onto the parent); GET and PUT ([`serve`]) wrap them in decoding and content negotiation,
//! and PATCH applies its patch to what [`read`] returns and hands the result to [`write`]. A write
//! is an ordinary update of the parent through its [`Store`](crate::registry::store::Store): the
//! generation is bumped, watchers see the change and `dryRun` is honoured as for any update.

use std::collections::BTreeMap;

use axum::{body::Body, response::Response};
use http::{StatusCode, header};
use k8s_openapi::apimachinery::pkg::apis::meta::v1 as metav1;
use serde_json::{Map, Value, json};
use tugboat_machinery::{
    catalog::ResourceInfo,
    selectors::LabelSelector,
    status::{ApiError, FieldError, FieldPath},
};

use super::{Context, body, read_body, respond_value, table, write::with_warnings};
use crate::{
    negotiate::{self, Offers, ResponseFormat, Shape},
    registry::{meta, strategy::NameRule, validation},
    request_info::Verb,
};

/// The Scale's `apiVersion`.
const API_VERSION: &str = "autoscaling/v1";
/// The Scale's `kind`.
const KIND: &str = "Scale";

/// How a parent spells the selector of its pods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SelectorForm {
    /// `spec.selector` is a `metav1.LabelSelector` (the apps/v1 workloads).
    LabelSelector,
    /// `spec.selector` is a map of labels (ReplicationController).
    LabelMap,
}

impl SelectorForm {
    /// The form of a resource that has a scale subresource here; `None` for every other.
    pub(crate) fn of(info: &ResourceInfo) -> Option<Self> {
        match (info.group.as_str(), info.plural.as_str()) {
            ("apps", "deployments" | "replicasets" | "statefulsets") => {
                Some(SelectorForm::LabelSelector)
            }
            ("", "replicationcontrollers") => Some(SelectorForm::LabelMap),
            _ => None,
        }
    }
}

/// The parent's selector as a selector string (`app=web,tier in (a,b)`), as upstream's
/// `LabelSelectorAsSelector(...).String()` and `SelectorFromSet(...).String()` print it: keys
/// sorted, values of `in`/`notin` sorted, an absent or empty selector as `""`.
pub(crate) fn selector_string(parent: &Value, form: SelectorForm) -> Result<String, ApiError> {
    let selector = parent.get("spec").and_then(|spec| spec.get("selector"));
    let selector = match form {
        SelectorForm::LabelSelector => {
            let api: Option<metav1::LabelSelector> = selector
                .filter(|s| !s.is_null())
                .map(|s| serde_json::from_value(s.clone()))
                .transpose()
                .map_err(|e| ApiError::bad_request(e.to_string()))?;
            LabelSelector::from_api(api.as_ref())
                .map_err(|e| ApiError::bad_request(e.to_string()))?
        }
        SelectorForm::LabelMap => {
            let labels: BTreeMap<String, String> = selector
                .and_then(Value::as_object)
                .map(|map| {
                    map.iter()
                        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                        .collect()
                })
                .unwrap_or_default();
            LabelSelector::from_labels(&labels)
        }
    };
    Ok(selector.to_string())
}

/// The Scale of a parent object (upstream's `scaleFromDeployment`, `scaleFromRC`, ...): the
/// parent's identity in `metadata`, its `spec.replicas`, its `status.replicas` (0 when unset) and
/// its selector as a string. Zero desired replicas and an empty selector are left out, as Go's
/// `omitempty` does.
pub(crate) fn scale_of(parent: &Value, form: SelectorForm) -> Result<Value, ApiError> {
    let mut metadata = Map::new();
    for field in ["name", "namespace", "uid", "resourceVersion"] {
        if let Some(value) = meta::string(parent, field).filter(|v| !v.is_empty()) {
            metadata.insert(field.to_owned(), Value::from(value));
        }
    }
    metadata.insert(
        "creationTimestamp".to_owned(),
        parent
            .get("metadata")
            .and_then(|m| m.get("creationTimestamp"))
            .cloned()
            .unwrap_or(Value::Null),
    );
    let replicas_at = |part: &str| {
        parent
            .get(part)
            .and_then(|p| p.get("replicas"))
            .and_then(Value::as_i64)
            .unwrap_or(0)
    };
    let desired = replicas_at("spec");
    let spec = if desired == 0 {
        json!({})
    } else {
        json!({ "replicas": desired })
    };
    let mut status = json!({ "replicas": replicas_at("status") });
    let selector = selector_string(parent, form)?;
    if !selector.is_empty() {
        status["selector"] = Value::from(selector);
    }
    Ok(json!({
        "kind": KIND,
        "apiVersion": API_VERSION,
        "metadata": metadata,
        "spec": spec,
        "status": status,
    }))
}

/// The form of the addressed resource's selector; 404 for a resource without a scale here.
fn form(context: &Context<'_>) -> Result<SelectorForm, ApiError> {
    SelectorForm::of(&context.store.info).ok_or_else(crate::app::not_found_path)
}

/// `deployments/scale`: the resource upstream names in the subresource's own errors.
fn scale_resource(info: &ResourceInfo) -> String {
    format!("{}/scale", info.plural)
}

/// The addressed parent's Scale. `resourceVersion=0` may be served from the watch cache, as a GET
/// of the parent would be; a missing parent is the parent's 404.
pub(crate) async fn read(context: &Context<'_>) -> Result<Value, ApiError> {
    let form = form(context)?;
    let store = context.store;
    let name = context.name();
    let parent = store
        .get_for_read(
            context.namespace,
            name,
            context.query.resource_version.as_deref(),
        )
        .await?;
    scale_of(&parent.to_value()?, form)
}

/// Upstream's `ValidateScale` on a Scale whose namespace the request has filled in.
fn validate(scale: &Value) -> Vec<FieldError> {
    let mut errors = validation::meta::validate_object_meta(scale, true, NameRule::Subdomain);
    let replicas = scale
        .get("spec")
        .and_then(|spec| spec.get("replicas"))
        .and_then(Value::as_i64)
        .unwrap_or(0);
    if replicas < 0 {
        errors.push(FieldError::invalid(
            &FieldPath::new("spec").child("replicas"),
            replicas,
            "must be greater than or equal to 0",
        ));
    }
    errors
}

/// Set the addressed parent's desired replicas from `scale` (a decoded `autoscaling/v1` Scale) and
/// return the parent's new Scale.
///
/// As upstream: the Scale's namespace and name must be the URL's (400); a missing parent is a 404
/// of `<plural>/scale`; an invalid Scale is 422; a `metadata.uid` other than the parent's and a
/// `metadata.resourceVersion` other than the parent's current one are 409. Without a
/// resourceVersion the write is unconditional.
pub(crate) async fn write(context: &Context<'_>, mut scale: Value) -> Result<Value, ApiError> {
    let form = form(context)?;
    let store = context.store;
    let info = &store.info;
    let name = context.name();
    if let Some(namespace) = context.namespace {
        match meta::namespace(&scale).filter(|ns| !ns.is_empty()) {
            Some(given) if given != namespace => {
                return Err(ApiError::bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request",
                ));
            }
            Some(_) => {}
            None => meta::set(&mut scale, "namespace", Value::from(namespace)),
        }
    }
    let given_name = meta::name(&scale).unwrap_or_default();
    if given_name != name {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({given_name}) does not match the name on the URL ({name})"
        )));
    }
    let replicas = scale
        .get("spec")
        .and_then(|spec| spec.get("replicas"))
        .and_then(Value::as_i64)
        .unwrap_or(0);
    let precondition = meta::string(&scale, "resourceVersion")
        .filter(|rv| !rv.is_empty())
        .map(str::to_owned);
    let options = context.write_options();
    // The revision the last attempt started from: a dry run answers with it.
    let mut read_revision = None;
    let updated = store
        .update_with(context.namespace, name, None, options, |old| {
            read_revision = meta::string(old, "resourceVersion").map(str::to_owned);
            let errors = validate(&scale);
            if !errors.is_empty() {
                return Err(ApiError::invalid("autoscaling", KIND, name, &errors));
            }
            let uid = meta::string(old, "uid").unwrap_or_default();
            if let Some(given) = meta::string(&scale, "uid").filter(|u| !u.is_empty())
                && given != uid
            {
                return Err(ApiError::conflict(
                    &info.group,
                    &scale_resource(info),
                    name,
                    &format!(
                        "Precondition failed: UID in precondition: {given}, UID in object meta: {uid}"
                    ),
                ));
            }
            let mut parent = old.clone();
            if let Some(spec) = parent.get_mut("spec").and_then(Value::as_object_mut) {
                spec.insert("replicas".to_owned(), Value::from(replicas));
            } else if let Some(root) = parent.as_object_mut() {
                root.insert("spec".to_owned(), json!({ "replicas": replicas }));
            }
            // The Scale's resourceVersion, or none (an unconditional write), as upstream moves
            // `scale.ResourceVersion` onto the parent.
            match &precondition {
                Some(rv) => meta::set(&mut parent, "resourceVersion", Value::from(rv.as_str())),
                None => {
                    meta::remove(&mut parent, "resourceVersion");
                }
            }
            Ok(parent)
        })
        .await;
    let mut updated = match updated {
        Ok(updated) => updated,
        Err(error) if error.code == 404 => {
            return Err(ApiError::not_found(
                &info.group,
                &scale_resource(info),
                name,
            ));
        }
        Err(error) => return Err(error),
    };
    if meta::string(&updated, "resourceVersion").is_none()
        && let Some(revision) = read_revision
    {
        meta::set(&mut updated, "resourceVersion", Value::from(revision));
    }
    scale_of(&updated, form)
}

/// GET and PUT of the subresource; other verbs are not allowed on it.
pub(super) async fn serve(
    context: &Context<'_>,
    verb: Verb,
    request_body: Body,
) -> Result<Response, ApiError> {
    match verb {
        Verb::Get => {
            let format = response_format(context)?;
            let scale = read(context).await?;
            respond(context, StatusCode::OK, &scale, &format)
        }
        Verb::Update => {
            let format = response_format(context)?;
            let bytes = read_body(request_body).await?;
            let decoded = body::decode_object_as(context, &bytes, API_VERSION, KIND)?;
            let scale = write(context, decoded.object).await?;
            Ok(with_warnings(
                respond(context, StatusCode::OK, &scale, &format)?,
                &decoded.warnings,
            ))
        }
        other => Err(ApiError::method_not_supported(
            &context.store.info.group,
            &scale_resource(&context.store.info),
            other.as_str(),
        )),
    }
}

/// The response format for a Scale (which has a protobuf form of its own, unlike the parent's).
pub(super) fn response_format(context: &Context<'_>) -> Result<ResponseFormat, ApiError> {
    negotiate::negotiate(
        context
            .headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok()),
        Offers {
            conversions: true,
            aggregated_discovery: false,
            protobuf: tugboat_protobuf::has_protobuf(API_VERSION, KIND),
        },
    )
    .ok_or_else(|| ApiError::not_acceptable(&["application/json", "application/yaml"]))
}

/// A Scale in the negotiated encoding and shape (a Table prints upstream's Scale columns).
pub(super) fn respond(
    context: &Context<'_>,
    status: StatusCode,
    scale: &Value,
    format: &ResponseFormat,
) -> Result<Response, ApiError> {
    match &format.shape {
        Shape::Table { .. } => {
            let revision = meta::string(scale, "resourceVersion")
                .and_then(|rv| rv.parse().ok())
                .unwrap_or(0);
            let table = table::table_for_watch(
                scale,
                revision,
                &context.query.include_object,
                API_VERSION,
                KIND,
            );
            respond_value(status, &table, format)
        }
        Shape::PartialObjectMetadata { version, .. } => {
            respond_value(status, &table::partial_metadata(scale, version), format)
        }
        _ => respond_value(status, scale, format),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deployment(selector: Value) -> Value {
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {
                "name": "web",
                "namespace": "default",
                "uid": "1f0c",
                "resourceVersion": "42",
                "generation": 3,
                "labels": {"app": "web"},
                "creationTimestamp": "2025-01-01T00:00:00Z",
            },
            "spec": {"replicas": 3, "selector": selector, "template": {}},
            "status": {"replicas": 2, "readyReplicas": 1},
        })
    }

    #[test]
    fn selector_strings_sort_keys_and_values() {
        let parent = deployment(json!({
            "matchLabels": {"tier": "front", "app": "web"},
            "matchExpressions": [
                {"key": "env", "operator": "In", "values": ["prod", "dev"]},
                {"key": "canary", "operator": "DoesNotExist"},
                {"key": "zone", "operator": "NotIn", "values": ["b", "a"]},
                {"key": "owner", "operator": "Exists"},
            ],
        }));
        assert_eq!(
            selector_string(&parent, SelectorForm::LabelSelector).unwrap(),
            "app=web,!canary,env in (dev,prod),owner,tier=front,zone notin (a,b)"
        );
    }

    #[test]
    fn absent_and_empty_selectors_print_empty() {
        for selector in [Value::Null, json!({}), json!({"matchLabels": {}})] {
            let parent = deployment(selector);
            assert_eq!(
                selector_string(&parent, SelectorForm::LabelSelector).unwrap(),
                ""
            );
        }
        let rc = json!({"spec": {"replicas": 1}});
        assert_eq!(selector_string(&rc, SelectorForm::LabelMap).unwrap(), "");
    }

    #[test]
    fn a_bad_operator_is_a_bad_request() {
        let parent = deployment(json!({
            "matchExpressions": [{"key": "a", "operator": "Near", "values": ["x"]}],
        }));
        let error = selector_string(&parent, SelectorForm::LabelSelector).unwrap_err();
        assert_eq!(error.code, 400);
        assert!(
            error
                .message
                .contains("\"Near\" is not a valid label selector operator")
        );
    }

    #[test]
    fn replication_controller_selectors_are_label_maps() {
        let rc = json!({"spec": {"selector": {"name": "rc", "app": "x"}}});
        assert_eq!(
            selector_string(&rc, SelectorForm::LabelMap).unwrap(),
            "app=x,name=rc"
        );
    }

    #[test]
    fn scale_of_a_deployment() {
        let parent = deployment(json!({"matchLabels": {"app": "web"}}));
        assert_eq!(
            scale_of(&parent, SelectorForm::LabelSelector).unwrap(),
            json!({
                "kind": "Scale",
                "apiVersion": "autoscaling/v1",
                "metadata": {
                    "name": "web",
                    "namespace": "default",
                    "uid": "1f0c",
                    "resourceVersion": "42",
                    "creationTimestamp": "2025-01-01T00:00:00Z",
                },
                "spec": {"replicas": 3},
                "status": {"replicas": 2, "selector": "app=web"},
            })
        );
    }

    #[test]
    fn zero_and_unset_counts_as_upstream_prints_them() {
        let rc = json!({
            "metadata": {"name": "rc", "namespace": "ns"},
            "spec": {"replicas": 0, "selector": {}},
        });
        assert_eq!(
            scale_of(&rc, SelectorForm::LabelMap).unwrap(),
            json!({
                "kind": "Scale",
                "apiVersion": "autoscaling/v1",
                "metadata": {"name": "rc", "namespace": "ns", "creationTimestamp": null},
                "spec": {},
                "status": {"replicas": 0},
            })
        );
    }

    #[test]
    fn scales_have_a_protobuf_form() {
        assert!(tugboat_protobuf::has_protobuf(API_VERSION, KIND));
        let parent = deployment(json!({"matchLabels": {"app": "web"}}));
        let scale = scale_of(&parent, SelectorForm::LabelSelector).unwrap();
        let bytes = tugboat_protobuf::encode_envelope(&scale).unwrap();
        let (_, decoded) = tugboat_protobuf::decode_envelope(&bytes).unwrap();
        assert_eq!(decoded, scale);
    }

    #[test]
    fn resources_with_a_scale_subresource() {
        let catalog = tugboat_machinery::catalog::Catalog::builtin();
        let form_of = |group: &str, plural: &str| {
            catalog
                .in_discovery_order()
                .find(|info| info.group == group && info.plural == plural)
                .and_then(|info| SelectorForm::of(&info))
        };
        assert_eq!(
            form_of("apps", "deployments"),
            Some(SelectorForm::LabelSelector)
        );
        assert_eq!(
            form_of("apps", "statefulsets"),
            Some(SelectorForm::LabelSelector)
        );
        assert_eq!(
            form_of("", "replicationcontrollers"),
            Some(SelectorForm::LabelMap)
        );
        assert_eq!(form_of("apps", "daemonsets"), None);
        // Every resource the catalog gives a scale subresource is one this module knows.
        for info in catalog.in_discovery_order() {
            if info.subresource("scale").is_some() {
                assert!(SelectorForm::of(&info).is_some(), "{}", info.plural);
            }
        }
    }

    #[test]
    fn validation_as_upstream() {
        let scale = |replicas: i64| {
            json!({
                "metadata": {"name": "web", "namespace": "default"},
                "spec": {"replicas": replicas},
            })
        };
        assert!(validate(&scale(0)).is_empty());
        let errors = validate(&scale(-1));
        let error = ApiError::invalid("autoscaling", KIND, "web", &errors);
        assert_eq!(error.code, 422);
        assert_eq!(
            error.message,
            "Scale.autoscaling \"web\" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0"
        );
    }
}
