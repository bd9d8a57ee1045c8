//! POST, PUT and DELETE (of one object and of a collection).

use axum::response::Response;
use bytes::Bytes;
use http::{HeaderValue, StatusCode};
use serde_json::{Value, json};
use tugboat_machinery::status::ApiError;

use super::{Context, body, respond_value};
use crate::{
    negotiate::ResponseFormat,
    registry::{
        meta,
        store::{Deleted, Preconditions, WriteOptions},
    },
};

fn write_options(context: &Context<'_>) -> WriteOptions {
    WriteOptions {
        dry_run: context.query.dry_run,
    }
}

fn with_warnings(mut response: Response, warnings: &[String]) -> Response {
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
    if let Some(namespace) = context.namespace {
        let name = meta::name(&decoded.object).unwrap_or_default();
        context
            .registry
            .check_namespace_for_create(namespace, &context.store.info, name)
            .await?;
    }
    let mut object = decoded.object;
    let is_service = context.store.info.group.is_empty() && context.store.info.plural == "services";
    let allocated = match (is_service, context.namespace) {
        (true, Some(namespace)) if !context.query.dry_run => {
            context
                .registry
                .allocate_service(namespace, &mut object)
                .await?
        }
        _ => Vec::new(),
    };
    let created = match context
        .store
        .create(context.namespace, object, write_options(context))
        .await
    {
        Ok(created) => created,
        Err(error) => {
            context.registry.release_ips(&allocated).await;
            return Err(error);
        }
    };
    Ok(with_warnings(
        respond_value(StatusCode::CREATED, &created, &format)?,
        &decoded.warnings,
    ))
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
/// `ReturnDeletedObject`).
fn returns_deleted_object(group: &str, plural: &str) -> bool {
    matches!(
        (group, plural),
        ("", "pods" | "serviceaccounts" | "namespaces" | "services")
            | ("storage.k8s.io", "storageclasses")
    )
}

/// DeleteOptions from the body and the query.
struct DeleteRequest {
    preconditions: Preconditions,
    dry_run: bool,
}

fn delete_request(context: &Context<'_>, body: &Bytes) -> Result<DeleteRequest, ApiError> {
    let mut request = DeleteRequest {
        preconditions: Preconditions::default(),
        dry_run: context.query.dry_run,
    };
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(request);
    }
    let options = body::decode_value(context, body)?;
    if !options.is_object() {
        return Err(ApiError::bad_request("DeleteOptions must be a JSON object"));
    }
    if let Some(pre) = options.get("preconditions") {
        request.preconditions.uid = pre.get("uid").and_then(Value::as_str).map(str::to_owned);
        request.preconditions.resource_version = pre
            .get("resourceVersion")
            .and_then(Value::as_str)
            .map(str::to_owned);
    }
    match options.get("dryRun").and_then(Value::as_array) {
        Some(values) if values.iter().any(|v| v == "All") => request.dry_run = true,
        Some(values) if !values.is_empty() => {
            return Err(ApiError::bad_request(
                "Invalid dryRun value: only \"All\" is supported",
            ));
        }
        _ => {}
    }
    if let Some(policy) = options.get("propagationPolicy").and_then(Value::as_str)
        && !matches!(policy, "Orphan" | "Background" | "Foreground")
    {
        return Err(ApiError::bad_request(format!(
            "propagationPolicy: Unsupported value: \"{policy}\": supported values: \"Foreground\", \"Background\", \"Orphan\""
        )));
    }
    Ok(request)
}

/// DELETE of one object.
pub(crate) async fn delete(context: &Context<'_>, body: Bytes) -> Result<Response, ApiError> {
    let format = format(context)?;
    let request = delete_request(context, &body)?;
    let info = &context.store.info;
    let outcome = context
        .store
        .delete(
            context.namespace,
            context.name(),
            &request.preconditions,
            WriteOptions {
                dry_run: request.dry_run,
            },
        )
        .await?;
    if let Deleted::Gone(object) = &outcome
        && info.group.is_empty()
        && info.plural == "services"
        && !request.dry_run
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
    let request = delete_request(context, &body)?;
    let store = context.store;
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
            .delete(
                namespace,
                &object.attributes.name,
                &Preconditions::default(),
                WriteOptions {
                    dry_run: request.dry_run,
                },
            )
            .await;
        match outcome {
            Ok(Deleted::Gone(value) | Deleted::Marked(value)) => items.push(value),
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
