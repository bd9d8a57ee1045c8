//! Request bodies: decoded by `Content-Type`, checked against the URL's kind, normalized through the
//! built-in type (wrong types are 400) and checked for unknown fields per `fieldValidation`.

use bytes::Bytes;
use serde_json::Value;
use tugboat_machinery::status::ApiError;

use super::{Context, query::FieldValidation};
use crate::{
    negotiate::{self, Encoding},
    typed,
};

/// A decoded body and the warnings it earned.
#[derive(Debug)]
pub(crate) struct Decoded {
    /// The object.
    pub object: Value,
    /// `Warning` header texts.
    pub warnings: Vec<String>,
}

/// Decode an object for `context`'s resource (or, with `expected_kind`, another kind, e.g.
/// DeleteOptions).
pub(crate) fn decode_object(context: &Context<'_>, body: &Bytes) -> Result<Decoded, ApiError> {
    let info = &context.store.info;
    let mut object = decode_value(context, body)?;
    let expected_api_version = info.api_version();
    let root = object
        .as_object_mut()
        .ok_or_else(|| ApiError::bad_request("the body of the request must be a JSON object"))?;
    match root.get("apiVersion").and_then(Value::as_str) {
        Some(given) if !given.is_empty() && given != expected_api_version => {
            return Err(ApiError::bad_request(format!(
                "the API version in the data ({given}) does not match the expected API version ({expected_api_version})"
            )));
        }
        _ => {}
    }
    match root.get("kind").and_then(Value::as_str) {
        Some(given) if !given.is_empty() && given != info.kind => {
            return Err(ApiError::bad_request(format!(
                "the kind in the data ({given}) does not match the expected kind ({})",
                info.kind
            )));
        }
        _ => {}
    }
    root.insert(
        "apiVersion".into(),
        Value::String(expected_api_version.clone()),
    );
    root.insert("kind".into(), Value::String(info.kind.clone()));
    let mut warnings = Vec::new();
    if let Some(kind) = typed::lookup(&expected_api_version, &info.kind) {
        let normalized = (kind.normalize)(&object).map_err(|e| {
            ApiError::bad_request(format!(
                "{} in version \"{}\" cannot be handled as a {}: {e}",
                info.kind, info.version, info.kind
            ))
        })?;
        let unknown = typed::unknown_fields(&object, &normalized);
        if !unknown.is_empty() {
            match context.query.field_validation {
                FieldValidation::Strict => {
                    let list: Vec<String> = unknown
                        .iter()
                        .map(|f| format!("unknown field \"{f}\""))
                        .collect();
                    return Err(ApiError::bad_request(format!(
                        "{} in version \"{}\" cannot be handled as a {}: strict decoding error: {}",
                        info.kind,
                        info.version,
                        info.kind,
                        list.join(", ")
                    )));
                }
                FieldValidation::Warn => {
                    warnings.extend(unknown.iter().map(|f| format!("unknown field \"{f}\"")));
                }
                FieldValidation::Ignore => {}
            }
        }
        object = normalized;
    }
    Ok(Decoded { object, warnings })
}

/// Parse the body as JSON or YAML into a value.
pub(crate) fn decode_value(context: &Context<'_>, body: &Bytes) -> Result<Value, ApiError> {
    let content_type = context
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    match negotiate::request_encoding(content_type) {
        Some(Encoding::Json) => serde_json::from_slice(body)
            .map_err(|e| ApiError::bad_request(format!("json parse error: {e}"))),
        Some(Encoding::Yaml) => serde_norway::from_slice(body)
            .map_err(|e| ApiError::bad_request(format!("yaml parse error: {e}"))),
        Some(Encoding::Protobuf) => tugboat_protobuf::decode_envelope(body)
            .map(|(_, value)| value)
            .map_err(|e| ApiError::bad_request(format!("protobuf decoding error: {e}"))),
        None => Err(ApiError::unsupported_media_type(&[
            "application/json",
            "application/yaml",
            "application/vnd.kubernetes.protobuf",
        ])),
    }
}
