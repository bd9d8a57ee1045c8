//! POST, PUT and DELETE (of one object and of a collection).

use axum::response::Response;
use bytes::Bytes;
use http::{HeaderValue, StatusCode};
use serde_json::{Value, json};
use tugboat_machinery::status::{ApiError, FieldError, FieldPath};

use super::{Context, body, respond_value};
use crate::{
    negotiate::ResponseFormat,
    registry::{
        deletion::{DeleteOptions, Propagation},
        meta,
        store::{Deleted, WriteOptions},
    },
};

fn write_options(context: &Context<'_>) -> WriteOptions {
    context.write_options()
}

pub(super) fn with_warnings(mut response: Response, warnings: &[String]) -> Response {
    for warning in warnings {
        let text = format!(
            "299 - \"{}\"",
            warning.replace('\\', "\\\\").replace('"', "\\\"")
        );
        if let Ok(value) = HeaderValue::from_str(&text) {
            response.headers_mut().append(http::header::WARNING, value);
        }
    }
    response
}

fn format(context: &Context<'_>) -> Result<ResponseFormat, ApiError> {
    context.response_format(false)
}

/// POST: create.
pub(crate) async fn create(context: &Context<'_>, body: Bytes) -> Result<Response, ApiError> {
    if context.request.name.is_some() {
        return Err(ApiError::method_not_supported(
            &context.request.group,
            &context.request.resource,
            "create",
        ));
    }
    let format = format(context)?;
    let decoded = body::decode_object(context, &body)?;
    let created = create_object(context, decoded.object, write_options(context)).await?;
    Ok(with_warnings(
        respond_value(StatusCode::CREATED, &created, &format)?,
        &decoded.warnings,
    ))
}

/// Create a decoded object: the namespace admission check, the RuntimeClass admission of pods,
/// the ResourceQuota admission, ClusterIP and NodePort allocation for Services (released again if the create fails), then the store. Shared by POST and by
/// server-side apply's create-on-apply.
pub(super) async fn create_object(
    context: &Context<'_>,
    mut object: Value,
    options: WriteOptions,
) -> Result<Value, ApiError> {
    if let Some(namespace) = context.namespace {
        let name = meta::name(&object).unwrap_or_default();
        context
            .registry
            .check_namespace_for_create(namespace, &context.store.info, name)
            .await?;
    }
    if context.store.info.group.is_empty() && context.store.info.plural == "pods" {
        context
            .registry
            .admit_pod_runtime_class(&mut object)
            .await?;
    }
    if let Some(namespace) = context.namespace {
        context
            .registry
            .admit_quota(namespace, &context.store.info, &object, options.dry_run)
            .await?;
    }
    let is_service = context.store.info.group.is_empty() && context.store.info.plural == "services";
    let allocated = match (is_service, context.namespace) {
        (true, Some(namespace)) if !options.dry_run => {
            context
                .registry
                .allocate_service(namespace, &mut object)
                .await?
        }
        _ => Vec::new(),
    };
    match context
        .store
        .create(context.namespace, object, options)
        .await
    {
        Ok(created) => Ok(created),
        Err(error) => {
            context.registry.release_ips(&allocated).await;
            Err(error)
        }
    }
}

/// PUT: replace (also of the status subresource).
pub(crate) async fn update(context: &Context<'_>, body: Bytes) -> Result<Response, ApiError> {
    let format = format(context)?;
    let decoded = body::decode_object(context, &body)?;
    let updated = context
        .store
        .update(
            context.namespace,
            context.name(),
            decoded.object,
            context.request.subresource.as_deref(),
            write_options(context),
        )
        .await?;
    Ok(with_warnings(
        respond_value(StatusCode::OK, &updated, &format)?,
        &decoded.warnings,
    ))
}

/// Kinds whose delete answers with the deleted object rather than a Status (upstream's
/// `ReturnDeletedObject`; the OpenAPI documents, and so the generated clients, type these
/// deletes' 200 response as the kind: the Python client fails to decode a Status as a CSIDriver).
fn returns_deleted_object(group: &str, plural: &str) -> bool {
    matches!(
        (group, plural),
        (
            "",
            "pods"
                | "serviceaccounts"
                | "namespaces"
                | "services"
                | "podtemplates"
                | "resourcequotas"
                | "persistentvolumes"
                | "persistentvolumeclaims"
        ) | (
            "storage.k8s.io",
            "storageclasses"
                | "csidrivers"
                | "csinodes"
                | "volumeattachments"
                | "volumeattributesclasses"
        ) | (
            "resource.k8s.io",
            "deviceclasses" | "resourceclaims" | "resourceclaimtemplates" | "resourceslices"
        )
    )
}

/// DeleteOptions from the query, overridden by the body's where it sets them.
fn delete_options(context: &Context<'_>, body: &Bytes) -> Result<DeleteOptions, ApiError> {
    let mut options = DeleteOptions {
        grace_period_seconds: context.query.grace_period_seconds,
        dry_run: context.query.dry_run,
        ..DeleteOptions::default()
    };
    let mut policy = context.query.propagation_policy.clone();
    if !body.iter().all(u8::is_ascii_whitespace) {
        let given = body::decode_value(context, body)?;
        if !given.is_object() {
            return Err(ApiError::bad_request("DeleteOptions must be a JSON object"));
        }
        if let Some(pre) = given.get("preconditions") {
            options.uid = pre.get("uid").and_then(Value::as_str).map(str::to_owned);
            options.resource_version = pre
                .get("resourceVersion")
                .and_then(Value::as_str)
                .map(str::to_owned);
        }
        match given.get("dryRun").and_then(Value::as_array) {
            Some(values) if values.iter().any(|v| v == "All") => options.dry_run = true,
            Some(values) if !values.is_empty() => {
                return Err(ApiError::bad_request(
                    "Invalid dryRun value: only \"All\" is supported",
                ));
            }
            _ => {}
        }
        if let Some(grace) = given.get("gracePeriodSeconds").filter(|v| !v.is_null()) {
            options.grace_period_seconds =
                Some(grace.as_i64().ok_or_else(|| {
                    ApiError::bad_request("gracePeriodSeconds must be an integer")
                })?);
        }
        if let Some(given_policy) = given.get("propagationPolicy").and_then(Value::as_str) {
            policy = Some(given_policy.to_owned());
        }
        options.orphan_dependents = given.get("orphanDependents").and_then(Value::as_bool);
    }
    if let Some(policy) = policy {
        options.propagation = Some(Propagation::parse(&policy).ok_or_else(|| {
            ApiError::invalid(
                "meta.k8s.io",
                "DeleteOptions",
                "",
                &[FieldError::not_supported(
                    &FieldPath::new("propagationPolicy"),
                    policy.as_str(),
                    &["Foreground", "Background", "Orphan"],
                )],
            )
        })?);
    }
    Ok(options)
}

/// DELETE of one object.
pub(crate) async fn delete(context: &Context<'_>, body: Bytes) -> Result<Response, ApiError> {
    let format = format(context)?;
    let options = delete_options(context, &body)?;
    let info = &context.store.info;
    let outcome = context
        .store
        .delete(context.namespace, context.name(), &options)
        .await?;
    if let Deleted::Gone(object) = &outcome
        && info.group.is_empty()
        && info.plural == "services"
        && !options.dry_run
    {
        let ips = crate::registry::service_ips::cluster_ips(object);
        context.registry.release_ips(&ips).await;
    }
    match outcome {
        Deleted::Marked(object) => respond_value(StatusCode::OK, &object, &format),
        Deleted::Gone(object) if returns_deleted_object(&info.group, &info.plural) => {
            respond_value(StatusCode::OK, &object, &format)
        }
        Deleted::Gone(object) => {
            let mut details = json!({
                "name": context.name(),
                "kind": info.plural,
                "uid": meta::string(&object, "uid").unwrap_or_default(),
            });
            if !info.group.is_empty() {
                details["group"] = json!(info.group);
            }
            let status = json!({
                "kind": "Status",
                "apiVersion": "v1",
                "metadata": {},
                "status": "Success",
                "details": details,
            });
            respond_value(StatusCode::OK, &status, &format)
        }
    }
}

/// DELETE of a collection: every object matching the selectors, one by one.
pub(crate) async fn delete_collection(
    context: &Context<'_>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let format = format(context)?;
    let options = delete_options(context, &body)?;
    let store = context.store;
    let is_service = store.info.group.is_empty() && store.info.plural == "services";
    store
        .cache
        .wait_for(0, super::list::FRESHNESS_TIMEOUT)
        .await
        .map_err(super::list::cache_error)?;
    let within = store.key_within(context.namespace);
    let query = context.query;
    let listed = store
        .cache
        .list(&within, None, 0, |object| {
            query.label_selector.matches(&object.attributes.labels)
                && query.field_selector.matches(&object.attributes.fields)
        })
        .map_err(super::list::cache_error)?;
    let mut items = Vec::with_capacity(listed.objects.len());
    for object in &listed.objects {
        let namespace = (!object.attributes.namespace.is_empty())
            .then_some(object.attributes.namespace.as_str());
        let outcome = store
            .delete(namespace, &object.attributes.name, &options)
            .await;
        match outcome {
            Ok(Deleted::Gone(value)) => {
                if is_service && !options.dry_run {
                    let ips = crate::registry::service_ips::cluster_ips(&value);
                    context.registry.release_ips(&ips).await;
                }
                items.push(value);
            }
            Ok(Deleted::Marked(value)) => items.push(value),
            // Deleted meanwhile by someone else: that is what we wanted.
            Err(error) if error.code == 404 => {}
            Err(error) => return Err(error),
        }
    }
    let list = json!({
        "kind": store.info.list_kind,
        "apiVersion": store.info.api_version(),
        "metadata": { "resourceVersion": listed.revision.to_string() },
        "items": items,
    });
    respond_value(StatusCode::OK, &list, &format)
}

#[cfg(test)]
mod tests {
    use super::returns_deleted_object;

    #[test]
    fn deletes_that_return_the_object_follow_upstream() {
        for (group, plural) in [
            ("", "pods"),
            ("", "persistentvolumes"),
            ("", "persistentvolumeclaims"),
            ("", "podtemplates"),
            ("storage.k8s.io", "csidrivers"),
            ("storage.k8s.io", "csinodes"),
            ("storage.k8s.io", "volumeattachments"),
            ("storage.k8s.io", "volumeattributesclasses"),
            ("resource.k8s.io", "deviceclasses"),
            ("resource.k8s.io", "resourceclaims"),
            ("resource.k8s.io", "resourceclaimtemplates"),
            ("resource.k8s.io", "resourceslices"),
        ] {
            assert!(returns_deleted_object(group, plural), "{group}/{plural}");
        }
        for (group, plural) in [
            ("", "configmaps"),
            ("", "secrets"),
            ("storage.k8s.io", "csistoragecapacities"),
            ("policy", "poddisruptionbudgets"),
            (
                "admissionregistration.k8s.io",
                "validatingadmissionpolicies",
            ),
        ] {
            assert!(!returns_deleted_object(group, plural), "{group}/{plural}");
        }
    }
}
