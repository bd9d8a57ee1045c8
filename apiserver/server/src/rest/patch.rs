//! PATCH: JSON patch (RFC 6902), JSON merge patch (RFC 7386) and strategic merge patch, applied to
//! the current object inside the store's conflict-retrying update loop, so a patch never loses a
//! concurrent write and an unchanged result writes no revision.
//!
//! The patch algorithms live in `tugboat-patch`; this module owns the HTTP side: the patch type
//! from `Content-Type`, `PatchOptions` validation, upstream's status codes for each failure, and
//! strict decoding of the patched object (`fieldValidation`).

use axum::response::Response;
use bytes::Bytes;
use http::StatusCode;
use serde_json::Value;
use tugboat_machinery::status::{ApiError, FieldError, FieldPath, StatusReason};

use super::{Context, query::FieldValidation, respond_value, write::with_warnings};
use crate::negotiate::ResponseFormat;
use crate::registry::store::WriteOptions;
use crate::{registry::meta, typed};

/// The media types of the patch kinds, in the order upstream lists them in a 415.
const JSON_PATCH: &str = "application/json-patch+json";
const MERGE_PATCH: &str = "application/merge-patch+json";
const STRATEGIC_MERGE_PATCH: &str = "application/strategic-merge-patch+json";
const APPLY_PATCH: &str = "application/apply-patch+yaml";

/// What kind of patch a request carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PatchType {
    Json,
    Merge,
    Strategic,
    Apply,
}

impl PatchType {
    fn from_content_type(content_type: Option<&str>) -> Option<Self> {
        // Parameters such as `; charset=utf-8` do not matter.
        let media_type = content_type?.split(';').next()?.trim();
        match media_type {
            JSON_PATCH => Some(PatchType::Json),
            MERGE_PATCH => Some(PatchType::Merge),
            STRATEGIC_MERGE_PATCH => Some(PatchType::Strategic),
            APPLY_PATCH => Some(PatchType::Apply),
            _ => None,
        }
    }
}

/// PATCH of an object or its `status` subresource.
pub(crate) async fn patch(context: &Context<'_>, body: Bytes) -> Result<Response, ApiError> {
    let content_type = context
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let supports_strategic = supports_strategic_merge(context);
    let patch_type = PatchType::from_content_type(content_type)
        .filter(|t| *t != PatchType::Strategic || supports_strategic)
        .ok_or_else(|| unsupported_patch_type(supports_strategic))?;
    validate_patch_options(context, patch_type)?;
    let patch = parse_patch(patch_type, &body, context.query.field_validation)?;
    if context.request.subresource.as_deref() == Some("scale") {
        return patch_scale(context, patch_type, &patch).await;
    }
    let format = context.response_format(false)?;
    if patch_type == PatchType::Apply {
        return server_side_apply(context, &patch, &format).await;
    }
    let field_validation = context.query.field_validation;
    let api_version = context.store.info.api_version();
    let kind = context.store.info.kind.clone();
    let mut warnings = Vec::new();
    let updated = context
        .store
        .update_with(
            context.namespace,
            context.name(),
            context.request.subresource.as_deref(),
            context.write_options(),
            |current| {
                let mut patched = apply(
                    patch_type,
                    current,
                    &patch,
                    &api_version,
                    &kind,
                    field_validation,
                )?;
                // The patched object carries the current resourceVersion unless the patch set
                // another: only a resourceVersion the client chose is a precondition, so that a
                // patch racing another writer is re-applied rather than failed.
                if meta::string(&patched, "resourceVersion")
                    == meta::string(current, "resourceVersion")
                {
                    meta::remove(&mut patched, "resourceVersion");
                }
                let (normalized, problems) =
                    strict_decode(&patched, &api_version, &kind, field_validation)?;
                warnings = problems;
                Ok(normalized)
            },
        )
        .await?;
    Ok(with_warnings(
        respond_value(StatusCode::OK, &updated, &format)?,
        &warnings,
    ))
}

/// Whether kubectl's server-side apply may force `conflicts`: they are all on fields that
/// client-side `kubectl apply` last applied and that still hold those values (upstream's
/// last-applied manager, which makes the move from client-side to server-side apply conflict-free).
fn takes_over_from_client_side_apply(
    manager: &str,
    conflicts: &[tugboat_patch::apply::Conflict],
    live: &Value,
    schema: tugboat_protobuf::MessageRef,
) -> bool {
    if manager != "kubectl" {
        return false;
    }
    let Some(last_applied) = live
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(LAST_APPLIED))
        .and_then(Value::as_str)
        .and_then(|text| serde_json::from_str::<Value>(text).ok())
    else {
        return false;
    };
    tugboat_patch::apply::conflicts_allowed_by_last_applied(conflicts, live, &last_applied, schema)
}

/// The annotation client-side `kubectl apply` keeps its last applied configuration in.
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";
/// The most all annotations of an object may hold (upstream's `TotalAnnotationSizeLimitB`).
const ANNOTATIONS_SIZE_LIMIT: usize = 256 * 1024;

/// Keep client-side apply's annotation in step with kubectl's server-side applies, as upstream's
/// field manager does, so that a later client-side `kubectl apply` computes its deletions from
/// what was applied last: when the manager is `kubectl` and the result carries the annotation,
/// it becomes the applied configuration (without the annotation itself), or goes when that
/// would exceed the annotations' size limit.
fn sync_last_applied(applied: &mut Value, config: &Value, manager: &str) {
    if manager != "kubectl" {
        return;
    }
    let Some(annotations) = applied
        .pointer_mut("/metadata/annotations")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    if !annotations.contains_key(LAST_APPLIED) {
        return;
    }
    let mut last = config.clone();
    if let Some(config_annotations) = last
        .pointer_mut("/metadata/annotations")
        .and_then(Value::as_object_mut)
    {
        config_annotations.remove(LAST_APPLIED);
    }
    // Go's encoder writes map keys sorted, as serde_json's map does, and ends with a newline.
    let value = format!("{last}\n");
    let others: usize = annotations
        .iter()
        .filter(|(key, _)| key.as_str() != LAST_APPLIED)
        .map(|(key, value)| key.len() + value.as_str().map_or(0, str::len))
        .sum();
    if others + LAST_APPLIED.len() + value.len() > ANNOTATIONS_SIZE_LIMIT {
        annotations.remove(LAST_APPLIED);
    } else {
        annotations.insert(LAST_APPLIED.to_owned(), Value::String(value));
    }
}

/// Server-side apply: merge the applied configuration into the live object by the type's
/// structure, track field ownership in `managedFields`, refuse (409) to change fields another
/// manager owns unless `force`, and create the object when it does not exist yet.
async fn server_side_apply(
    context: &Context<'_>,
    config: &Value,
    format: &ResponseFormat,
) -> Result<Response, ApiError> {
    let info = &context.store.info;
    let api_version = info.api_version();
    let schema = tugboat_protobuf::MessageRef::for_kind(&api_version, &info.kind)
        .ok_or_else(|| unsupported_patch_type(false))?;
    tugboat_patch::apply::check_name(config, context.name(), context.namespace)
        .map_err(apply_error)?;
    // validate_patch_options made sure there is one.
    let manager = context.query.field_manager.clone().unwrap_or_default();
    let force = context.query.force.unwrap_or(false);
    let subresource = context.request.subresource.as_deref();
    let stripped = crate::registry::subresources::without_reset_fields(
        &info.group,
        &info.kind,
        subresource,
        info.subresource("status").is_some(),
        config,
    );
    let config = stripped.as_ref().unwrap_or(config);
    let field_validation = context.query.field_validation;
    // Apply records ownership itself; the store must not add an Update entry on top.
    let options = WriteOptions {
        dry_run: context.query.dry_run,
        update_manager: None,
    };
    let mut warnings = Vec::new();
    for _ in 0..3 {
        let updated = context
            .store
            .update_with(
                context.namespace,
                context.name(),
                subresource,
                options.clone(),
                |current| {
                    let now = meta::now_rfc3339();
                    let apply = |force| match subresource {
                        Some(sub) => tugboat_patch::apply::apply_to_subresource(
                            Some(current),
                            config,
                            schema,
                            &manager,
                            sub,
                            force,
                            &now,
                        ),
                        None => tugboat_patch::apply::apply(
                            Some(current),
                            config,
                            schema,
                            &manager,
                            force,
                            &now,
                        ),
                    };
                    let mut applied = match apply(force) {
                        Err(tugboat_patch::apply::ApplyError::Conflicts(conflicts))
                            if takes_over_from_client_side_apply(
                                &manager, &conflicts, current, schema,
                            ) =>
                        {
                            apply(true)
                        }
                        other => other,
                    }
                    .map_err(apply_error)?;
                    sync_last_applied(&mut applied, config, &manager);
                    if meta::string(&applied, "resourceVersion")
                        == meta::string(current, "resourceVersion")
                    {
                        meta::remove(&mut applied, "resourceVersion");
                    }
                    let (normalized, problems) =
                        strict_decode(&applied, &api_version, &info.kind, field_validation)?;
                    warnings = problems;
                    Ok(normalized)
                },
            )
            .await;
        match updated {
            Ok(updated) => {
                return Ok(with_warnings(
                    respond_value(StatusCode::OK, &updated, format)?,
                    &warnings,
                ));
            }
            Err(error) if error.code == 404 && subresource.is_none() => {}
            Err(error) => return Err(error),
        }
        // Create on apply.
        let now = meta::now_rfc3339();
        let mut object = tugboat_patch::apply::apply(None, config, schema, &manager, force, &now)
            .map_err(apply_error)?;
        sync_last_applied(&mut object, config, &manager);
        let (object, problems) =
            strict_decode(&object, &api_version, &info.kind, field_validation)?;
        match super::write::create_object(context, object, options.clone()).await {
            Ok(created) => {
                return Ok(with_warnings(
                    respond_value(StatusCode::CREATED, &created, format)?,
                    &problems,
                ));
            }
            // Created meanwhile by someone else: apply to theirs.
            Err(error) if error.reason == StatusReason::AlreadyExists => continue,
            Err(error) => return Err(error),
        }
    }
    Err(ApiError::conflict(
        &info.group,
        &info.plural,
        context.name(),
        "the object was created and deleted concurrently; retry the apply",
    ))
}

/// Upstream's answers for server-side apply: conflicts are 409 with one cause per field.
fn apply_error(error: tugboat_patch::apply::ApplyError) -> ApiError {
    let reason = match error.status_code() {
        400 => StatusReason::BadRequest,
        409 => StatusReason::Conflict,
        422 => StatusReason::Invalid,
        _ => StatusReason::InternalError,
    };
    let causes: Vec<tugboat_machinery::status::StatusCause> = error
        .causes()
        .into_iter()
        .map(|cause| tugboat_machinery::status::StatusCause {
            cause_type: Some(tugboat_machinery::status::CauseType::FieldManagerConflict),
            message: cause.message,
            field: cause.field,
        })
        .collect();
    let mut api_error = ApiError::new(error.status_code(), reason, error.status_message());
    if !causes.is_empty() {
        api_error = api_error.with_details(tugboat_machinery::status::StatusDetails {
            causes,
            ..Default::default()
        });
    }
    api_error
}

/// PATCH of a `scale` subresource: the patch applies to the Scale, whose replica count then goes
/// to the parent. Read, patch and conditional write repeat while another writer changes the parent
/// in between, unless the patch itself named the resourceVersion.
async fn patch_scale(
    context: &Context<'_>,
    patch_type: PatchType,
    patch: &Value,
) -> Result<Response, ApiError> {
    const SCALE_API_VERSION: &str = "autoscaling/v1";
    const SCALE_KIND: &str = "Scale";
    let format = super::scale::response_format(context)?;
    let mut attempts = 0;
    loop {
        attempts += 1;
        let current = super::scale::read(context).await?;
        let patched = apply(
            patch_type,
            &current,
            patch,
            SCALE_API_VERSION,
            SCALE_KIND,
            context.query.field_validation,
        )?;
        let chosen_by_client =
            meta::string(&patched, "resourceVersion") != meta::string(&current, "resourceVersion");
        let (patched, warnings) = strict_decode(
            &patched,
            SCALE_API_VERSION,
            SCALE_KIND,
            context.query.field_validation,
        )?;
        match super::scale::write(context, patched).await {
            Ok(scale) => {
                return Ok(with_warnings(
                    super::scale::respond(context, StatusCode::OK, &scale, &format)?,
                    &warnings,
                ));
            }
            Err(error) if error.code == 409 && !chosen_by_client && attempts < 8 => continue,
            Err(error) => return Err(error),
        }
    }
}

/// Strategic merge patch needs the Go struct tags of a built-in type; custom resources get 415.
fn supports_strategic_merge(context: &Context<'_>) -> bool {
    let info = &context.store.info;
    typed::lookup(&info.api_version(), &info.kind).is_some()
}

fn unsupported_patch_type(strategic: bool) -> ApiError {
    let mut accepted = vec![JSON_PATCH, MERGE_PATCH];
    if strategic {
        accepted.push(STRATEGIC_MERGE_PATCH);
    }
    accepted.push(APPLY_PATCH);
    ApiError::unsupported_media_type(&accepted)
}

/// `ValidatePatchOptions`: `force` belongs to apply, and apply needs a field manager.
fn validate_patch_options(context: &Context<'_>, patch_type: PatchType) -> Result<(), ApiError> {
    let mut causes = Vec::new();
    if patch_type == PatchType::Apply {
        if context.query.field_manager.is_none() {
            causes.push(FieldError::required(
                &FieldPath::new("fieldManager"),
                "is required for apply patch",
            ));
        }
    } else if context.query.force.is_some() {
        causes.push(FieldError::forbidden(
            &FieldPath::new("force"),
            "may not be specified for non-apply patch",
        ));
    }
    if let Some(manager) = &context.query.field_manager
        && manager.chars().count() > 128
    {
        causes.push(FieldError::too_long_characters(
            &FieldPath::new("fieldManager"),
            Some(128),
        ));
    }
    if causes.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid(
            "meta.k8s.io",
            "PatchOptions",
            "",
            &causes,
        ))
    }
}

/// The request's `fieldValidation` as the patch library takes it.
fn library_validation(validation: FieldValidation) -> tugboat_patch::FieldValidation {
    match validation {
        FieldValidation::Ignore => tugboat_patch::FieldValidation::Ignore,
        FieldValidation::Warn => tugboat_patch::FieldValidation::Warn,
        FieldValidation::Strict => tugboat_patch::FieldValidation::Strict,
    }
}

/// Parse the body once, before the update loop re-applies it, and reject what upstream rejects
/// before reading the object.
fn parse_patch(
    patch_type: PatchType,
    body: &Bytes,
    validation: FieldValidation,
) -> Result<Value, ApiError> {
    if patch_type == PatchType::Apply {
        // YAML is a superset of JSON: kubectl sends JSON, helm and hand-written requests YAML.
        let config: Value = serde_norway::from_slice(body)
            .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")))?;
        if !config.is_object() {
            return Err(ApiError::bad_request(
                "error decoding YAML: the applied configuration must be an object",
            ));
        }
        return Ok(config);
    }
    let patch: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?;
    match patch_type {
        PatchType::Merge => {
            tugboat_patch::merge_patch::validate(&patch, library_validation(validation))
                .map_err(patch_error)?;
        }
        PatchType::Strategic if !patch.is_object() => {
            return Err(ApiError::bad_request(format!(
                "json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
                if patch.is_array() { "array" } else { "value" }
            )));
        }
        _ => {}
    }
    Ok(patch)
}

/// Apply the patch to the current object (as served, with its resourceVersion).
fn apply(
    patch_type: PatchType,
    current: &Value,
    patch: &Value,
    api_version: &str,
    kind: &str,
    validation: FieldValidation,
) -> Result<Value, ApiError> {
    match patch_type {
        PatchType::Json => {
            let mut doc = current.clone();
            let options = tugboat_patch::json_patch::Options {
                field_validation: library_validation(validation),
                ..tugboat_patch::json_patch::Options::default()
            };
            tugboat_patch::json_patch::apply_with(&mut doc, patch, &options)
                .map_err(patch_error)?;
            Ok(doc)
        }
        PatchType::Merge => {
            let mut doc = current.clone();
            tugboat_patch::merge_patch::apply(&mut doc, patch);
            Ok(doc)
        }
        PatchType::Strategic => {
            let schema = tugboat_patch::strategic::schema_for_kind(api_version, kind)
                .map_err(|_| unsupported_patch_type(false))?;
            tugboat_patch::strategic::apply(current, patch, schema).map_err(patch_error)
        }
        PatchType::Apply => Err(unsupported_patch_type(true)),
    }
}

/// Upstream's answers, which `tugboat-patch` knows: malformed patches are 400 with the parser's
/// message; a well-formed patch that cannot apply (a failed `test`, a missing path) is a generic
/// 422 whose message does not carry the detail.
fn patch_error(error: tugboat_patch::PatchError) -> ApiError {
    let reason = match error.status_code() {
        400 => StatusReason::BadRequest,
        413 => StatusReason::RequestEntityTooLarge,
        415 => StatusReason::UnsupportedMediaType,
        422 => StatusReason::Invalid,
        _ => StatusReason::InternalError,
    };
    ApiError::new(error.status_code(), reason, error.status_message())
}

/// Decode the patched object through its type, as upstream decodes the patched JSON: a value of
/// the wrong type is 422; unknown fields are 422 under `Strict`, warnings under `Warn`.
fn strict_decode(
    patched: &Value,
    api_version: &str,
    kind: &str,
    field_validation: FieldValidation,
) -> Result<(Value, Vec<String>), ApiError> {
    let Some(typed) = typed::lookup(api_version, kind) else {
        return Ok((patched.clone(), Vec::new()));
    };
    let invalid = |detail: String| {
        ApiError::invalid(
            "",
            "",
            "",
            &[FieldError::invalid(
                &FieldPath::new("patch"),
                patched.to_string().as_str(),
                &detail,
            )],
        )
    };
    let normalized = (typed.normalize)(patched).map_err(|e| invalid(e.to_string()))?;
    let unknown: Vec<String> = typed::unknown_fields(patched, &normalized)
        .iter()
        .map(|f| format!("unknown field \"{f}\""))
        .collect();
    if unknown.is_empty() || field_validation == FieldValidation::Ignore {
        return Ok((normalized, Vec::new()));
    }
    match field_validation {
        FieldValidation::Strict => Err(invalid(format!(
            "strict decoding error: {}",
            unknown.join(", ")
        ))),
        _ => Ok((normalized, unknown)),
    }
}
