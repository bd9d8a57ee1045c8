//! API errors as upstream's `Status` objects: the one error type every handler returns at the HTTP
//! edge ([`ApiError`]), its machine-readable [`StatusReason`], the field-level validation errors
//! ([`FieldError`], [`FieldPath`]) that become `details.causes`, and the exact JSON body upstream
//! writes for them.
//!
//! Messages, codes, reasons and cause types follow `k8s.io/apimachinery/pkg/api/errors/errors.go`,
//! `pkg/util/validation/field/{errors,path}.go` and `apiserver/pkg/endpoints/handlers/negotiation`
//! word for word, because clients (kubectl, client-go's `errors.Is*`, the conformance suite) match
//! on them. Upstream formats values with Go's `%q` and `encoding/json`; [`go_quote`] and the JSON
//! writer here reproduce those byte for byte (including `encoding/json`'s `\u003c`-style HTML
//! escaping) so a response body is indistinguishable from kube-apiserver's.

use std::fmt;

use k8s_openapi::apimachinery::pkg::apis::meta::v1 as metav1;
use serde::Serialize;

/// Detail upstream's generic registry uses when an update's `resourceVersion` is stale
/// (`storage.OptimisticLockErrorMsg`); pass it to [`ApiError::conflict`].
pub const OPTIMISTIC_LOCK_ERROR_MESSAGE: &str =
    "the object has been modified; please apply your changes to the latest version and try again";

/// Cause message attached to [`ApiError::too_large_resource_version`].
const TOO_LARGE_RESOURCE_VERSION_CAUSE: &str = "Too large resource version";

// === StatusReason ===

/// Why a request failed, as upstream's `metav1.StatusReason`. Clients switch on it
/// (`errors.IsNotFound`, `IsConflict`, ...), so the spelling is part of the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatusReason {
    /// No reason given (serialized as an absent `reason`).
    Unknown,
    /// 401: the request carries no valid credentials.
    Unauthorized,
    /// 403: the caller may not perform the action.
    Forbidden,
    /// 404: the object does not exist.
    NotFound,
    /// 409: create of an object whose name is taken.
    AlreadyExists,
    /// 409: the write raced another one (stale `resourceVersion`).
    Conflict,
    /// 410: the resource is gone and has no forwarding address (deprecated in favour of `Expired`).
    Gone,
    /// 422: the object failed validation; `details.causes` lists the fields.
    Invalid,
    /// 500: the server could not finish in time; retry.
    ServerTimeout,
    /// 500: the object could not be read from storage (e.g. it could not be decrypted).
    StoreReadError,
    /// 504: the request timed out before it completed; it may still complete.
    Timeout,
    /// 429: the client must back off.
    TooManyRequests,
    /// 400: the request itself is malformed.
    BadRequest,
    /// 405: the verb is not supported on the resource.
    MethodNotAllowed,
    /// 406: none of the `Accept`ed media types can be produced.
    NotAcceptable,
    /// 413: the request body is too large.
    RequestEntityTooLarge,
    /// 415: the request body's `Content-Type` is not understood.
    UnsupportedMediaType,
    /// 500: an unexpected server-side failure.
    InternalError,
    /// 410: the requested `resourceVersion` or continue token is too old (compacted).
    Expired,
    /// 503: the service is temporarily unavailable.
    ServiceUnavailable,
}

impl StatusReason {
    /// The wire spelling (`""` for [`StatusReason::Unknown`]).
    pub fn as_str(self) -> &'static str {
        match self {
            StatusReason::Unknown => "",
            StatusReason::Unauthorized => "Unauthorized",
            StatusReason::Forbidden => "Forbidden",
            StatusReason::NotFound => "NotFound",
            StatusReason::AlreadyExists => "AlreadyExists",
            StatusReason::Conflict => "Conflict",
            StatusReason::Gone => "Gone",
            StatusReason::Invalid => "Invalid",
            StatusReason::ServerTimeout => "ServerTimeout",
            StatusReason::StoreReadError => "StorageReadError",
            StatusReason::Timeout => "Timeout",
            StatusReason::TooManyRequests => "TooManyRequests",
            StatusReason::BadRequest => "BadRequest",
            StatusReason::MethodNotAllowed => "MethodNotAllowed",
            StatusReason::NotAcceptable => "NotAcceptable",
            StatusReason::RequestEntityTooLarge => "RequestEntityTooLarge",
            StatusReason::UnsupportedMediaType => "UnsupportedMediaType",
            StatusReason::InternalError => "InternalError",
            StatusReason::Expired => "Expired",
            StatusReason::ServiceUnavailable => "ServiceUnavailable",
        }
    }
}

impl fmt::Display for StatusReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

// === CauseType ===

/// The machine-readable kind of a [`StatusCause`], as upstream's `metav1.CauseType` (which for
/// field errors is `field.ErrorType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CauseType {
    /// A referenced value was not found.
    FieldValueNotFound,
    /// A required value is missing.
    FieldValueRequired,
    /// A value that must be unique is repeated.
    FieldValueDuplicate,
    /// A value is malformed.
    FieldValueInvalid,
    /// A value is not one of an enumeration.
    FieldValueNotSupported,
    /// A value is valid in form but not allowed here.
    FieldValueForbidden,
    /// A value is too long (the value itself is omitted).
    FieldValueTooLong,
    /// A list has too many items.
    FieldValueTooMany,
    /// A list has too few items.
    FieldValueTooFew,
    /// A value is too short.
    FieldValueTooShort,
    /// An error unrelated to user input.
    InternalError,
    /// A value has the wrong type for its schema.
    FieldValueTypeInvalid,
    /// The server's response could not be understood (client side only).
    UnexpectedServerResponse,
    /// Server-side apply found a field owned by another manager.
    FieldManagerConflict,
    /// A requested `resourceVersion` is newer than the server has.
    ResourceVersionTooLarge,
    /// An eviction would violate a PodDisruptionBudget.
    DisruptionBudget,
}

impl CauseType {
    /// The wire spelling, e.g. `FieldValueRequired`.
    pub fn as_str(self) -> &'static str {
        match self {
            CauseType::FieldValueNotFound => "FieldValueNotFound",
            CauseType::FieldValueRequired => "FieldValueRequired",
            CauseType::FieldValueDuplicate => "FieldValueDuplicate",
            CauseType::FieldValueInvalid => "FieldValueInvalid",
            CauseType::FieldValueNotSupported => "FieldValueNotSupported",
            CauseType::FieldValueForbidden => "FieldValueForbidden",
            CauseType::FieldValueTooLong => "FieldValueTooLong",
            CauseType::FieldValueTooMany => "FieldValueTooMany",
            CauseType::FieldValueTooFew => "FieldValueTooFew",
            CauseType::FieldValueTooShort => "FieldValueTooShort",
            CauseType::InternalError => "InternalError",
            CauseType::FieldValueTypeInvalid => "FieldValueTypeInvalid",
            CauseType::UnexpectedServerResponse => "UnexpectedServerResponse",
            CauseType::FieldManagerConflict => "FieldManagerConflict",
            CauseType::ResourceVersionTooLarge => "ResourceVersionTooLarge",
            CauseType::DisruptionBudget => "DisruptionBudget",
        }
    }

    /// The human wording upstream's `field.ErrorType.String()` prints before a field error's value,
    /// e.g. `Required value`.
    fn field_error_label(self) -> &'static str {
        match self {
            CauseType::FieldValueNotFound => "Not found",
            CauseType::FieldValueRequired => "Required value",
            CauseType::FieldValueDuplicate => "Duplicate value",
            CauseType::FieldValueInvalid | CauseType::FieldValueTypeInvalid => "Invalid value",
            CauseType::FieldValueNotSupported => "Unsupported value",
            CauseType::FieldValueForbidden => "Forbidden",
            CauseType::FieldValueTooLong => "Too long",
            CauseType::FieldValueTooMany => "Too many",
            CauseType::FieldValueTooFew => "Too few",
            CauseType::FieldValueTooShort => "Too short",
            CauseType::InternalError => "Internal error",
            CauseType::UnexpectedServerResponse => "Unexpected server response",
            CauseType::FieldManagerConflict => "Field manager conflict",
            CauseType::ResourceVersionTooLarge => "Resource version too large",
            CauseType::DisruptionBudget => "Disruption budget",
        }
    }
}

impl fmt::Display for CauseType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

// === FieldPath ===

/// The path to a field inside an object, rendered as upstream's `field.Path`:
/// `spec.containers[0].name`, `metadata.labels[app]`. The empty path renders as `<nil>`, as
/// upstream's nil `*field.Path` does (the label selector parser reports key errors that way).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct FieldPath {
    rendered: String,
}

impl FieldPath {
    /// A path starting at the named top-level field.
    pub fn new(name: &str) -> Self {
        FieldPath::root().child(name)
    }

    /// The empty path (upstream's nil path).
    pub fn root() -> Self {
        FieldPath::default()
    }

    /// The named field below this one.
    pub fn child(&self, name: &str) -> Self {
        let mut rendered = self.rendered.clone();
        if !rendered.is_empty() && !name.is_empty() {
            rendered.push('.');
        }
        rendered.push_str(name);
        FieldPath { rendered }
    }

    /// The `index`th element of this list.
    pub fn index(&self, index: usize) -> Self {
        self.subscript(&index.to_string())
    }

    /// The element of this map under `key`.
    pub fn key(&self, key: &str) -> Self {
        self.subscript(key)
    }

    fn subscript(&self, subscript: &str) -> Self {
        FieldPath {
            rendered: format!("{}[{subscript}]", self.rendered),
        }
    }

    /// Whether this is the empty (nil) path.
    pub fn is_root(&self) -> bool {
        self.rendered.is_empty()
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.rendered.is_empty() {
            f.write_str("<nil>")
        } else {
            f.write_str(&self.rendered)
        }
    }
}

// === FieldError ===

/// The offending value a [`FieldError`] reports, rendered as upstream does: strings with Go's `%q`,
/// numbers plainly, anything else as JSON.
#[derive(Debug, Clone, PartialEq)]
pub enum BadValue {
    /// The value is not printed (upstream's `omitValue`, and the types that never print one).
    Omitted,
    /// A string, printed quoted.
    String(String),
    /// An integer, printed as is.
    Integer(i64),
    /// Any other value (lists, maps, `null`), printed as JSON.
    Json(serde_json::Value),
}

impl From<&str> for BadValue {
    fn from(value: &str) -> Self {
        BadValue::String(value.to_owned())
    }
}

impl From<String> for BadValue {
    fn from(value: String) -> Self {
        BadValue::String(value)
    }
}

impl From<&String> for BadValue {
    fn from(value: &String) -> Self {
        BadValue::String(value.clone())
    }
}

impl From<i64> for BadValue {
    fn from(value: i64) -> Self {
        BadValue::Integer(value)
    }
}

impl From<i32> for BadValue {
    fn from(value: i32) -> Self {
        BadValue::Integer(i64::from(value))
    }
}

impl From<serde_json::Value> for BadValue {
    fn from(value: serde_json::Value) -> Self {
        BadValue::Json(value)
    }
}

impl BadValue {
    /// A list of strings, as upstream prints a `[]string` (`null` when absent or empty, as Go
    /// marshals a nil slice).
    pub fn string_list(values: Option<&[String]>) -> Self {
        match values {
            Some(values) if !values.is_empty() => BadValue::Json(serde_json::Value::Array(
                values
                    .iter()
                    .map(|value| serde_json::Value::String(value.clone()))
                    .collect(),
            )),
            _ => BadValue::Json(serde_json::Value::Null),
        }
    }
}

/// One field-level validation failure, as upstream's `field.Error`. Its `Display` is upstream's
/// `Error()` (`metadata.name: Invalid value: "x": <detail>`); in a Status it becomes a cause whose
/// message is [`FieldError::body`].
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    /// What kind of failure this is.
    pub error_type: CauseType,
    /// The rendered path of the offending field.
    pub field: String,
    /// The offending value.
    pub bad_value: BadValue,
    /// Extra explanation, appended after `: ` when not empty.
    pub detail: String,
}

impl FieldError {
    fn new(error_type: CauseType, path: &FieldPath, bad_value: BadValue, detail: String) -> Self {
        FieldError {
            error_type,
            field: path.to_string(),
            bad_value,
            detail,
        }
    }

    /// A required value is missing (`Required value`).
    pub fn required(path: &FieldPath, detail: &str) -> Self {
        FieldError::new(
            CauseType::FieldValueRequired,
            path,
            BadValue::Omitted,
            detail.to_owned(),
        )
    }

    /// A value is malformed (`Invalid value: "x": <detail>`).
    pub fn invalid(path: &FieldPath, value: impl Into<BadValue>, detail: &str) -> Self {
        FieldError::new(
            CauseType::FieldValueInvalid,
            path,
            value.into(),
            detail.to_owned(),
        )
    }

    /// A value has the wrong type for its schema (`Invalid value: ...`).
    pub fn type_invalid(path: &FieldPath, value: impl Into<BadValue>, detail: &str) -> Self {
        FieldError::new(
            CauseType::FieldValueTypeInvalid,
            path,
            value.into(),
            detail.to_owned(),
        )
    }

    /// A value is not one of `supported` (`Unsupported value: "x": supported values: "a", "b"`).
    pub fn not_supported(path: &FieldPath, value: impl Into<BadValue>, supported: &[&str]) -> Self {
        let detail = if supported.is_empty() {
            String::new()
        } else {
            let quoted: Vec<String> = supported.iter().map(|value| go_quote(value)).collect();
            format!("supported values: {}", quoted.join(", "))
        };
        FieldError::new(
            CauseType::FieldValueNotSupported,
            path,
            value.into(),
            detail,
        )
    }

    /// A value is allowed in form but not here (`Forbidden: <detail>`).
    pub fn forbidden(path: &FieldPath, detail: &str) -> Self {
        FieldError::new(
            CauseType::FieldValueForbidden,
            path,
            BadValue::Omitted,
            detail.to_owned(),
        )
    }

    /// A value that must be unique is repeated (`Duplicate value: "x"`).
    pub fn duplicate(path: &FieldPath, value: impl Into<BadValue>) -> Self {
        FieldError::new(
            CauseType::FieldValueDuplicate,
            path,
            value.into(),
            String::new(),
        )
    }

    /// A referenced value does not exist (`Not found: "x"`).
    pub fn not_found(path: &FieldPath, value: impl Into<BadValue>) -> Self {
        FieldError::new(
            CauseType::FieldValueNotFound,
            path,
            value.into(),
            String::new(),
        )
    }

    /// A value is longer than `max_bytes` (`Too long: may not be more than 63 bytes`); `None`
    /// gives upstream's wording for an unknown limit.
    pub fn too_long(path: &FieldPath, max_bytes: Option<usize>) -> Self {
        let detail = match max_bytes {
            Some(1) => "may not be more than 1 byte".to_owned(),
            Some(max) => format!("may not be more than {max} bytes"),
            None => "value is too long".to_owned(),
        };
        FieldError::new(
            CauseType::FieldValueTooLong,
            path,
            BadValue::Omitted,
            detail,
        )
    }

    /// A value is longer than `max_characters` characters (upstream's `TooLongCharacters`).
    pub fn too_long_characters(path: &FieldPath, max_characters: Option<usize>) -> Self {
        let detail = match max_characters {
            Some(1) => "may not be more than 1 character".to_owned(),
            Some(max) => format!("may not be more than {max} characters"),
            None => "value is too long".to_owned(),
        };
        FieldError::new(
            CauseType::FieldValueTooLong,
            path,
            BadValue::Omitted,
            detail,
        )
    }

    /// A value is shorter than `min_characters` (`Too short: must be at least 3 characters`).
    pub fn too_short(path: &FieldPath, min_characters: Option<usize>) -> Self {
        let detail = match min_characters {
            Some(1) => "must be at least 1 character".to_owned(),
            Some(min) => format!("must be at least {min} characters"),
            None => "value is too short".to_owned(),
        };
        FieldError::new(
            CauseType::FieldValueTooShort,
            path,
            BadValue::Omitted,
            detail,
        )
    }

    /// A list has more than `max_items` items (`Too many: 5: must have at most 3 items`);
    /// `actual` is printed when known.
    pub fn too_many(path: &FieldPath, actual: Option<usize>, max_items: Option<usize>) -> Self {
        let detail = match max_items {
            Some(1) => "must have at most 1 item".to_owned(),
            Some(max) => format!("must have at most {max} items"),
            None => "has too many items".to_owned(),
        };
        let bad_value = actual.map_or(BadValue::Omitted, count_value);
        FieldError::new(CauseType::FieldValueTooMany, path, bad_value, detail)
    }

    /// A list has fewer than `min_items` items (`Too few: 0: must have at least 1 item`).
    pub fn too_few(path: &FieldPath, actual: usize, min_items: Option<usize>) -> Self {
        let detail = match min_items {
            Some(1) => "must have at least 1 item".to_owned(),
            Some(min) => format!("must have at least {min} items"),
            None => "has too few items".to_owned(),
        };
        FieldError::new(
            CauseType::FieldValueTooFew,
            path,
            count_value(actual),
            detail,
        )
    }

    /// A failure unrelated to user input (`Internal error: <message>`).
    pub fn internal(path: &FieldPath, message: &str) -> Self {
        FieldError::new(
            CauseType::InternalError,
            path,
            BadValue::Omitted,
            message.to_owned(),
        )
    }

    /// The message without the field name, upstream's `ErrorBody()`; it is the cause message in a
    /// Status.
    pub fn body(&self) -> String {
        let label = self.error_type.field_error_label();
        let prints_value = !matches!(
            self.error_type,
            CauseType::FieldValueRequired
                | CauseType::FieldValueForbidden
                | CauseType::FieldValueTooLong
                | CauseType::FieldValueTooShort
                | CauseType::InternalError
        );
        let mut body = match (&self.bad_value, prints_value) {
            (BadValue::String(value), true) => format!("{label}: {}", go_quote(value)),
            (BadValue::Integer(value), true) => format!("{label}: {value}"),
            (BadValue::Json(value), true) => format!("{label}: {}", go_json(value)),
            _ => label.to_owned(),
        };
        if !self.detail.is_empty() {
            body.push_str(": ");
            body.push_str(&self.detail);
        }
        body
    }

    /// This error as a Status cause (`reason` is the cause type, `message` the body).
    pub fn to_cause(&self) -> StatusCause {
        StatusCause {
            cause_type: Some(self.error_type),
            message: self.body(),
            field: self.field.clone(),
        }
    }
}

fn count_value(count: usize) -> BadValue {
    BadValue::Integer(i64::try_from(count).unwrap_or(i64::MAX))
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.body())
    }
}

impl std::error::Error for FieldError {}

/// Upstream's `ErrorList.ToAggregate().Error()`: duplicates (by message) dropped, one error printed
/// alone, several as `[a, b]`; `None` for an empty list.
pub fn aggregate_message(errors: &[FieldError]) -> Option<String> {
    let mut messages: Vec<String> = Vec::with_capacity(errors.len());
    for error in errors {
        let message = error.to_string();
        if !messages.contains(&message) {
            messages.push(message);
        }
    }
    match messages.len() {
        0 => None,
        1 => messages.pop(),
        _ => Some(format!("[{}]", messages.join(", "))),
    }
}

// === StatusDetails ===

/// One reason a request failed, as upstream's `metav1.StatusCause`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StatusCause {
    /// The kind of failure (serialized as `reason`).
    pub cause_type: Option<CauseType>,
    /// Human-readable description.
    pub message: String,
    /// The offending field's path, if any.
    pub field: String,
}

/// Extra data about a failure, as upstream's `metav1.StatusDetails`. Empty strings, an empty cause
/// list and a zero `retry_after_seconds` are omitted on the wire, as upstream's `omitempty` does.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StatusDetails {
    /// Name of the object concerned (for ServerTimeout: the operation).
    pub name: String,
    /// API group of the object concerned.
    pub group: String,
    /// Kind, or for most reasons the plural resource, of the object concerned.
    pub kind: String,
    /// UID of the object concerned.
    pub uid: String,
    /// The individual failures.
    pub causes: Vec<StatusCause>,
    /// Seconds the client should wait before retrying.
    pub retry_after_seconds: i32,
}

impl StatusDetails {
    fn for_resource(resource: &GroupResource<'_>, name: &str) -> Self {
        StatusDetails {
            name: name.to_owned(),
            group: resource.group.to_owned(),
            kind: resource.resource.to_owned(),
            ..StatusDetails::default()
        }
    }
}

/// A resource qualified by its group, printed as upstream's `GroupResource.String()`:
/// `configmaps`, `deployments.apps`.
#[derive(Debug, Clone, Copy)]
struct GroupResource<'a> {
    group: &'a str,
    resource: &'a str,
}

impl fmt::Display for GroupResource<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.group.is_empty() {
            f.write_str(self.resource)
        } else {
            write!(f, "{}.{}", self.resource, self.group)
        }
    }
}

// === ApiError ===

/// A failed request, exactly as kube-apiserver reports it: HTTP code, reason, message and details.
/// Every handler returns this; [`ApiError::to_json`] / [`ApiError::to_status`] turn it into the
/// response. Construct it with the named constructors, which carry upstream's wording.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    /// HTTP status code.
    pub code: u16,
    /// Machine-readable reason.
    pub reason: StatusReason,
    /// Human-readable message; also this error's `Display`.
    pub message: String,
    /// Extra data, serialized as `details` when present.
    pub details: Option<Box<StatusDetails>>,
    /// `metadata.continue` of the Status: set only on the 410 upstream returns when a continue
    /// token has been compacted away, carrying a token to finish the list inconsistently.
    pub list_continue: Option<String>,
}

impl ApiError {
    /// An error with just a code, reason and message.
    pub fn new(code: u16, reason: StatusReason, message: impl Into<String>) -> Self {
        ApiError {
            code,
            reason,
            message: message.into(),
            details: None,
            list_continue: None,
        }
    }

    pub fn with_details(mut self, details: StatusDetails) -> Self {
        self.details = Some(Box::new(details));
        self
    }

    /// 404: `configmaps "x" not found` (`deployments.apps "x" not found` with a group).
    pub fn not_found(group: &str, resource: &str, name: &str) -> Self {
        let resource = GroupResource { group, resource };
        ApiError::new(
            404,
            StatusReason::NotFound,
            format!("{resource} {} not found", go_quote(name)),
        )
        .with_details(StatusDetails::for_resource(&resource, name))
    }

    /// 409: `configmaps "x" already exists`.
    pub fn already_exists(group: &str, resource: &str, name: &str) -> Self {
        let resource = GroupResource { group, resource };
        ApiError::new(
            409,
            StatusReason::AlreadyExists,
            format!("{resource} {} already exists", go_quote(name)),
        )
        .with_details(StatusDetails::for_resource(&resource, name))
    }

    /// 409 when every `generateName` attempt collided, with a retry hint.
    pub fn generate_name_conflict(
        group: &str,
        resource: &str,
        name: &str,
        retry_after_seconds: i32,
    ) -> Self {
        let resource = GroupResource { group, resource };
        let mut details = StatusDetails::for_resource(&resource, name);
        details.retry_after_seconds = retry_after_seconds;
        ApiError::new(
            409,
            StatusReason::AlreadyExists,
            format!(
                "{resource} {} already exists, the server was not able to generate a unique name for the object",
                go_quote(name)
            ),
        )
        .with_details(details)
    }

    /// 409: `Operation cannot be fulfilled on configmaps "x": <detail>`; for a stale
    /// `resourceVersion` pass [`OPTIMISTIC_LOCK_ERROR_MESSAGE`].
    pub fn conflict(group: &str, resource: &str, name: &str, detail: &str) -> Self {
        let resource = GroupResource { group, resource };
        ApiError::new(
            409,
            StatusReason::Conflict,
            format!(
                "Operation cannot be fulfilled on {resource} {}: {detail}",
                go_quote(name)
            ),
        )
        .with_details(StatusDetails::for_resource(&resource, name))
    }

    /// 422: `ConfigMap "x" is invalid: <errors>` (`Deployment.apps "x" is invalid: ...`), one cause
    /// per field error. Note upstream puts the *kind* here, not the resource.
    pub fn invalid(group: &str, kind: &str, name: &str, errors: &[FieldError]) -> Self {
        let qualified_kind = if group.is_empty() {
            kind.to_owned()
        } else {
            format!("{kind}.{group}")
        };
        let message = match aggregate_message(errors) {
            Some(aggregate) => format!(
                "{qualified_kind} {} is invalid: {aggregate}",
                go_quote(name)
            ),
            None => format!("{qualified_kind} {} is invalid", go_quote(name)),
        };
        ApiError::new(422, StatusReason::Invalid, message).with_details(StatusDetails {
            name: name.to_owned(),
            group: group.to_owned(),
            kind: kind.to_owned(),
            causes: errors.iter().map(FieldError::to_cause).collect(),
            ..StatusDetails::default()
        })
    }

    /// 400 with the given message.
    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError::new(400, StatusReason::BadRequest, message)
    }

    /// 401; an empty message becomes upstream's `not authorized`.
    pub fn unauthorized(message: &str) -> Self {
        let message = if message.is_empty() {
            "not authorized"
        } else {
            message
        };
        ApiError::new(401, StatusReason::Unauthorized, message)
    }

    /// 403: `forbidden: <why>`, `configmaps is forbidden: <why>` or
    /// `configmaps "x" is forbidden: <why>` depending on what is known.
    pub fn forbidden(group: &str, resource: &str, name: &str, why: &str) -> Self {
        let qualified = GroupResource { group, resource };
        let message = if group.is_empty() && resource.is_empty() {
            format!("forbidden: {why}")
        } else if name.is_empty() {
            format!("{qualified} is forbidden: {why}")
        } else {
            format!("{qualified} {} is forbidden: {why}", go_quote(name))
        };
        ApiError::new(403, StatusReason::Forbidden, message)
            .with_details(StatusDetails::for_resource(&qualified, name))
    }

    /// 405: `<verb> is not supported on resources of kind "configmaps"`.
    pub fn method_not_supported(group: &str, resource: &str, verb: &str) -> Self {
        let qualified = GroupResource { group, resource };
        ApiError::new(
            405,
            StatusReason::MethodNotAllowed,
            format!(
                "{verb} is not supported on resources of kind {}",
                go_quote(&qualified.to_string())
            ),
        )
        .with_details(StatusDetails::for_resource(&qualified, ""))
    }

    /// 406: `only the following media types are accepted: application/json, ...`.
    pub fn not_acceptable(accepted: &[&str]) -> Self {
        ApiError::new(
            406,
            StatusReason::NotAcceptable,
            format!(
                "only the following media types are accepted: {}",
                accepted.join(", ")
            ),
        )
    }

    /// 415: `the body of the request was in an unknown format - accepted media types include: ...`.
    pub fn unsupported_media_type(accepted: &[&str]) -> Self {
        ApiError::new(
            415,
            StatusReason::UnsupportedMediaType,
            format!(
                "the body of the request was in an unknown format - accepted media types include: {}",
                accepted.join(", ")
            ),
        )
    }

    /// 410 with reason Expired: the requested history has been compacted.
    pub fn resource_expired(message: impl Into<String>) -> Self {
        ApiError::new(410, StatusReason::Expired, message)
    }

    /// 410 Expired for a watch or list from a `resourceVersion` older than the oldest one still
    /// available: `too old resource version: 5 (10)`.
    pub fn too_old_resource_version(requested: u64, oldest_available: u64) -> Self {
        ApiError::resource_expired(format!(
            "too old resource version: {requested} ({oldest_available})"
        ))
    }

    /// 410 with reason Gone (deprecated upstream in favour of [`ApiError::resource_expired`]).
    pub fn gone(message: impl Into<String>) -> Self {
        ApiError::new(410, StatusReason::Gone, message)
    }

    /// 413: `Request entity too large: <message>`.
    pub fn request_entity_too_large(message: &str) -> Self {
        ApiError::new(
            413,
            StatusReason::RequestEntityTooLarge,
            format!("Request entity too large: {message}"),
        )
    }

    /// 500: `Internal error occurred: <message>`, with the message as the only cause.
    pub fn internal(message: &str) -> Self {
        ApiError::new(
            500,
            StatusReason::InternalError,
            format!("Internal error occurred: {message}"),
        )
        .with_details(StatusDetails {
            causes: vec![StatusCause {
                cause_type: None,
                message: message.to_owned(),
                field: String::new(),
            }],
            ..StatusDetails::default()
        })
    }

    /// 500 ServerTimeout: `The get operation against configmaps could not be completed at this
    /// time, please try again.`
    pub fn server_timeout(
        group: &str,
        resource: &str,
        operation: &str,
        retry_after_seconds: i32,
    ) -> Self {
        let qualified = GroupResource { group, resource };
        let mut details = StatusDetails::for_resource(&qualified, operation);
        details.retry_after_seconds = retry_after_seconds;
        ApiError::new(
            500,
            StatusReason::ServerTimeout,
            format!(
                "The {operation} operation against {qualified} could not be completed at this time, please try again."
            ),
        )
        .with_details(details)
    }

    /// 504: `Timeout: <message>`. Upstream always sends `details` here, `{}` without a retry hint.
    pub fn timeout(message: &str, retry_after_seconds: i32) -> Self {
        ApiError::new(504, StatusReason::Timeout, format!("Timeout: {message}")).with_details(
            StatusDetails {
                retry_after_seconds,
                ..StatusDetails::default()
            },
        )
    }

    /// 504 for a request that needs a `resourceVersion` newer than the store has yet:
    /// `Timeout: Too large resource version: 12, current: 10`, cause `ResourceVersionTooLarge`.
    pub fn too_large_resource_version(
        requested: u64,
        current: u64,
        retry_after_seconds: i32,
    ) -> Self {
        let mut error = ApiError::timeout(
            &format!("Too large resource version: {requested}, current: {current}"),
            retry_after_seconds,
        );
        if let Some(details) = error.details.as_mut() {
            details.causes = vec![StatusCause {
                cause_type: Some(CauseType::ResourceVersionTooLarge),
                message: TOO_LARGE_RESOURCE_VERSION_CAUSE.to_owned(),
                field: String::new(),
            }];
        }
        error
    }

    /// 429 with the message as given and a retry hint (upstream's `NewTooManyRequests`).
    pub fn too_many_requests(message: &str, retry_after_seconds: i32) -> Self {
        ApiError::new(429, StatusReason::TooManyRequests, message).with_details(StatusDetails {
            retry_after_seconds,
            ..StatusDetails::default()
        })
    }

    /// 429: `Too many requests: <message>`, without details (upstream's `NewTooManyRequestsError`).
    pub fn too_many_requests_error(message: &str) -> Self {
        ApiError::new(
            429,
            StatusReason::TooManyRequests,
            format!("Too many requests: {message}"),
        )
    }

    /// 503 with the given message.
    pub fn service_unavailable(message: impl Into<String>) -> Self {
        ApiError::new(503, StatusReason::ServiceUnavailable, message)
    }

    /// The Status object for this error (kind Status, apiVersion v1, status Failure).
    pub fn to_status(&self) -> metav1::Status {
        metav1::Status {
            code: Some(i32::from(self.code)),
            details: self.details.as_ref().map(|details| metav1::StatusDetails {
                causes: (!details.causes.is_empty()).then(|| {
                    details
                        .causes
                        .iter()
                        .map(|cause| metav1::StatusCause {
                            field: non_empty(&cause.field),
                            message: non_empty(&cause.message),
                            reason: cause
                                .cause_type
                                .map(|cause_type| cause_type.as_str().to_owned()),
                        })
                        .collect()
                }),
                group: non_empty(&details.group),
                kind: non_empty(&details.kind),
                name: non_empty(&details.name),
                retry_after_seconds: (details.retry_after_seconds != 0)
                    .then_some(details.retry_after_seconds),
                uid: non_empty(&details.uid),
            }),
            message: non_empty(&self.message),
            metadata: metav1::ListMeta {
                continue_: self.list_continue.clone(),
                ..metav1::ListMeta::default()
            },
            reason: non_empty(self.reason.as_str()),
            status: Some("Failure".to_owned()),
        }
    }

    /// The Status as upstream's JSON serializer writes it: upstream's field order and Go's string
    /// escaping, without the trailing newline (see [`ApiError::response_body`]).
    pub fn to_json(&self) -> String {
        let wire = WireStatus {
            kind: "Status",
            api_version: "v1",
            metadata: WireListMeta {
                continue_token: self.list_continue.as_deref(),
            },
            status: "Failure",
            message: &self.message,
            reason: self.reason.as_str(),
            details: self.details.as_ref().map(|details| WireDetails {
                name: &details.name,
                group: &details.group,
                kind: &details.kind,
                uid: &details.uid,
                causes: details
                    .causes
                    .iter()
                    .map(|cause| WireCause {
                        reason: cause.cause_type.map_or("", CauseType::as_str),
                        message: &cause.message,
                        field: &cause.field,
                    })
                    .collect(),
                retry_after_seconds: details.retry_after_seconds,
            }),
            code: i32::from(self.code),
        };
        go_json(&wire)
    }

    /// The exact HTTP response body kube-apiserver sends: [`ApiError::to_json`] plus the newline
    /// Go's `json.Encoder` appends.
    pub fn response_body(&self) -> Vec<u8> {
        let mut body = self.to_json().into_bytes();
        body.push(b'\n');
        body
    }
}

fn non_empty(value: &str) -> Option<String> {
    (!value.is_empty()).then(|| value.to_owned())
}

// === wire format ===

// Field order matches upstream's Go structs (TypeMeta, ListMeta, then Status fields), so the bytes
// equal kube-apiserver's, not just the JSON value.
#[derive(Serialize)]
struct WireStatus<'a> {
    kind: &'static str,
    #[serde(rename = "apiVersion")]
    api_version: &'static str,
    metadata: WireListMeta<'a>,
    status: &'static str,
    #[serde(skip_serializing_if = "str::is_empty")]
    message: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    reason: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    details: Option<WireDetails<'a>>,
    #[serde(skip_serializing_if = "is_zero")]
    code: i32,
}

#[derive(Serialize)]
struct WireListMeta<'a> {
    #[serde(rename = "continue", skip_serializing_if = "Option::is_none")]
    continue_token: Option<&'a str>,
}

#[derive(Serialize)]
struct WireDetails<'a> {
    #[serde(skip_serializing_if = "str::is_empty")]
    name: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    group: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    kind: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    uid: &'a str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    causes: Vec<WireCause<'a>>,
    #[serde(rename = "retryAfterSeconds", skip_serializing_if = "is_zero")]
    retry_after_seconds: i32,
}

#[derive(Serialize)]
struct WireCause<'a> {
    #[serde(skip_serializing_if = "str::is_empty")]
    reason: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    message: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    field: &'a str,
}

fn is_zero(value: &i32) -> bool {
    *value == 0
}

// === Go formatting ===

/// Go's `strconv.Quote` (what `%q` prints): double-quoted, with `\"`, `\\`, the C escapes, `\xNN`
/// for other ASCII control bytes and `\u`/`\U` for non-printable non-ASCII characters.
pub fn go_quote(value: &str) -> String {
    let mut quoted = String::with_capacity(value.len() + 2);
    quoted.push('"');
    for character in value.chars() {
        match character {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            '\u{07}' => quoted.push_str("\\a"),
            '\u{08}' => quoted.push_str("\\b"),
            '\u{0C}' => quoted.push_str("\\f"),
            '\n' => quoted.push_str("\\n"),
            '\r' => quoted.push_str("\\r"),
            '\t' => quoted.push_str("\\t"),
            '\u{0B}' => quoted.push_str("\\v"),
            c if c.is_ascii_control() => quoted.push_str(&format!("\\x{:02x}", c as u32)),
            c if c.is_control() || is_go_unprintable(c) => {
                let code = c as u32;
                if code < 0x10000 {
                    quoted.push_str(&format!("\\u{code:04x}"));
                } else {
                    quoted.push_str(&format!("\\U{code:08x}"));
                }
            }
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

// Go's unicode.IsPrint is false for these besides the control characters: the line and paragraph
// separators, soft hyphen and the BOM are the ones a Kubernetes name or value could plausibly hold.
fn is_go_unprintable(character: char) -> bool {
    matches!(
        character,
        '\u{00AD}' | '\u{2028}' | '\u{2029}' | '\u{FEFF}' | '\u{200B}'..='\u{200F}'
    )
}

/// Serializes `value` as Go's `encoding/json` does: compact, and with `<`, `>`, `&`, U+2028 and
/// U+2029 escaped as `\u003c`, `\u003e`, `\u0026`, `\u2028`, `\u2029`.
pub(crate) fn go_json<T: Serialize + ?Sized>(value: &T) -> String {
    let mut out = Vec::new();
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, GoJsonFormatter);
    // Serializing into a Vec with string keys cannot fail; fall back to "null" rather than panic.
    if value.serialize(&mut serializer).is_err() {
        return "null".to_owned();
    }
    String::from_utf8(out).unwrap_or_else(|_| "null".to_owned())
}

/// serde_json already escapes control characters as Go does (short escapes for `\b\f\n\r\t`,
/// lowercase `\u00XX` otherwise); this adds Go's HTML-safe escapes on top.
struct GoJsonFormatter;

impl serde_json::ser::Formatter for GoJsonFormatter {
    fn write_string_fragment<W>(&mut self, writer: &mut W, fragment: &str) -> std::io::Result<()>
    where
        W: ?Sized + std::io::Write,
    {
        let mut start = 0;
        for (index, character) in fragment.char_indices() {
            let escape = match character {
                '<' => "\\u003c",
                '>' => "\\u003e",
                '&' => "\\u0026",
                '\u{2028}' => "\\u2028",
                '\u{2029}' => "\\u2029",
                _ => continue,
            };
            writer.write_all(&fragment.as_bytes()[start..index])?;
            writer.write_all(escape.as_bytes())?;
            start = index + character.len_utf8();
        }
        writer.write_all(&fragment.as_bytes()[start..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(rendered: &str) -> FieldPath {
        FieldPath::new(rendered)
    }

    #[test]
    fn field_paths_render_as_upstream() {
        let cases: Vec<(FieldPath, &str)> = vec![
            (FieldPath::root(), "<nil>"),
            (FieldPath::root().child("key"), "key"),
            (FieldPath::root().child("values").index(0), "values[0]"),
            (
                FieldPath::root().child("values").index(0).key("app"),
                "values[0][app]",
            ),
            (FieldPath::new("metadata").child("name"), "metadata.name"),
            (
                FieldPath::new("spec")
                    .child("containers")
                    .index(2)
                    .child("image"),
                "spec.containers[2].image",
            ),
            (
                FieldPath::new("metadata").child("labels").key("a/b"),
                "metadata.labels[a/b]",
            ),
        ];
        for (path, expected) in cases {
            assert_eq!(path.to_string(), expected);
        }
    }

    #[test]
    fn field_errors_render_as_upstream() {
        let cases: Vec<(FieldError, &str, &str)> = vec![
            (
                FieldError::required(&path("metadata.name"), ""),
                "metadata.name: Required value",
                "FieldValueRequired",
            ),
            (
                FieldError::required(&path("metadata.name"), "name or generateName is required"),
                "metadata.name: Required value: name or generateName is required",
                "FieldValueRequired",
            ),
            (
                FieldError::invalid(&path("metadata.name"), "Foo", "must be lower case"),
                "metadata.name: Invalid value: \"Foo\": must be lower case",
                "FieldValueInvalid",
            ),
            (
                FieldError::invalid(
                    &path("spec.replicas"),
                    -1_i64,
                    "must be greater than or equal to 0",
                ),
                "spec.replicas: Invalid value: -1: must be greater than or equal to 0",
                "FieldValueInvalid",
            ),
            (
                FieldError::invalid(&path("values"), BadValue::string_list(None), "x"),
                "values: Invalid value: null: x",
                "FieldValueInvalid",
            ),
            (
                FieldError::invalid(
                    &path("values"),
                    BadValue::string_list(Some(&["a".to_owned(), "<b>".to_owned()])),
                    "x",
                ),
                "values: Invalid value: [\"a\",\"\\u003cb\\u003e\"]: x",
                "FieldValueInvalid",
            ),
            (
                FieldError::not_supported(&path("spec.type"), "Foo", &["ClusterIP", "NodePort"]),
                "spec.type: Unsupported value: \"Foo\": supported values: \"ClusterIP\", \"NodePort\"",
                "FieldValueNotSupported",
            ),
            (
                FieldError::forbidden(&path("spec.x"), "may not be set"),
                "spec.x: Forbidden: may not be set",
                "FieldValueForbidden",
            ),
            (
                FieldError::duplicate(&path("spec.ports[1].name"), "http"),
                "spec.ports[1].name: Duplicate value: \"http\"",
                "FieldValueDuplicate",
            ),
            (
                FieldError::not_found(&path("spec.ref"), "x"),
                "spec.ref: Not found: \"x\"",
                "FieldValueNotFound",
            ),
            (
                FieldError::too_long(&path("metadata.annotations"), Some(262144)),
                "metadata.annotations: Too long: may not be more than 262144 bytes",
                "FieldValueTooLong",
            ),
            (
                FieldError::too_long(&path("x"), Some(1)),
                "x: Too long: may not be more than 1 byte",
                "FieldValueTooLong",
            ),
            (
                FieldError::too_long(&path("x"), None),
                "x: Too long: value is too long",
                "FieldValueTooLong",
            ),
            (
                FieldError::too_many(&path("spec.items"), Some(5), Some(3)),
                "spec.items: Too many: 5: must have at most 3 items",
                "FieldValueTooMany",
            ),
            (
                FieldError::too_many(&path("spec.items"), None, Some(1)),
                "spec.items: Too many: must have at most 1 item",
                "FieldValueTooMany",
            ),
            (
                FieldError::too_few(&path("spec.items"), 0, Some(1)),
                "spec.items: Too few: 0: must have at least 1 item",
                "FieldValueTooFew",
            ),
            (
                FieldError::too_short(&path("x"), Some(3)),
                "x: Too short: must be at least 3 characters",
                "FieldValueTooShort",
            ),
            (
                FieldError::internal(&path("x"), "boom"),
                "x: Internal error: boom",
                "InternalError",
            ),
            (
                FieldError::invalid(&FieldPath::root(), "a b", "bad"),
                "<nil>: Invalid value: \"a b\": bad",
                "FieldValueInvalid",
            ),
        ];
        for (error, expected, cause_type) in cases {
            assert_eq!(error.to_string(), expected);
            assert_eq!(error.error_type.as_str(), cause_type);
        }
    }

    #[test]
    fn go_quote_matches_strconv_quote() {
        let cases = [
            ("x", "\"x\""),
            ("", "\"\""),
            ("a\"b", "\"a\\\"b\""),
            ("a\\b", "\"a\\\\b\""),
            ("tab\there", "\"tab\\there\""),
            ("nul\u{0}", "\"nul\\x00\""),
            ("del\u{7f}", "\"del\\x7f\""),
            ("ünïcode", "\"ünïcode\""),
            ("<&>", "\"<&>\""),
        ];
        for (input, expected) in cases {
            assert_eq!(go_quote(input), expected, "input {input:?}");
        }
    }

    #[test]
    fn aggregate_joins_and_dedups_as_upstream() {
        let a = FieldError::required(&path("a"), "");
        let b = FieldError::required(&path("b"), "");
        assert_eq!(aggregate_message(&[]), None);
        assert_eq!(
            aggregate_message(std::slice::from_ref(&a)).as_deref(),
            Some("a: Required value")
        );
        assert_eq!(
            aggregate_message(&[a.clone(), b.clone(), a.clone()]).as_deref(),
            Some("[a: Required value, b: Required value]")
        );
        assert_eq!(
            aggregate_message(&[a.clone(), a]).as_deref(),
            Some("a: Required value")
        );
    }

    #[test]
    fn errors_carry_upstream_codes_reasons_and_messages() {
        let cases: Vec<(ApiError, u16, &str, &str)> = vec![
            (
                ApiError::not_found("", "configmaps", "x"),
                404,
                "NotFound",
                "configmaps \"x\" not found",
            ),
            (
                ApiError::not_found("apps", "deployments", "x"),
                404,
                "NotFound",
                "deployments.apps \"x\" not found",
            ),
            (
                ApiError::already_exists("", "configmaps", "x"),
                409,
                "AlreadyExists",
                "configmaps \"x\" already exists",
            ),
            (
                ApiError::generate_name_conflict("", "pods", "web-abcde", 1),
                409,
                "AlreadyExists",
                "pods \"web-abcde\" already exists, the server was not able to generate a unique name for the object",
            ),
            (
                ApiError::conflict("", "configmaps", "x", OPTIMISTIC_LOCK_ERROR_MESSAGE),
                409,
                "Conflict",
                "Operation cannot be fulfilled on configmaps \"x\": the object has been modified; please apply your changes to the latest version and try again",
            ),
            (
                ApiError::invalid("", "ConfigMap", "x", &[]),
                422,
                "Invalid",
                "ConfigMap \"x\" is invalid",
            ),
            (
                ApiError::invalid(
                    "apps",
                    "Deployment",
                    "x",
                    &[FieldError::required(&path("spec.selector"), "")],
                ),
                422,
                "Invalid",
                "Deployment.apps \"x\" is invalid: spec.selector: Required value",
            ),
            (
                ApiError::invalid(
                    "",
                    "ConfigMap",
                    "x",
                    &[
                        FieldError::invalid(&path("metadata.name"), "X", "bad"),
                        FieldError::required(&path("data"), ""),
                    ],
                ),
                422,
                "Invalid",
                "ConfigMap \"x\" is invalid: [metadata.name: Invalid value: \"X\": bad, data: Required value]",
            ),
            (ApiError::bad_request("nope"), 400, "BadRequest", "nope"),
            (
                ApiError::unauthorized(""),
                401,
                "Unauthorized",
                "not authorized",
            ),
            (
                ApiError::unauthorized("Unauthorized"),
                401,
                "Unauthorized",
                "Unauthorized",
            ),
            (
                ApiError::forbidden("", "pods", "x", "User \"bob\" cannot get resource \"pods\""),
                403,
                "Forbidden",
                "pods \"x\" is forbidden: User \"bob\" cannot get resource \"pods\"",
            ),
            (
                ApiError::forbidden("apps", "deployments", "", "no"),
                403,
                "Forbidden",
                "deployments.apps is forbidden: no",
            ),
            (
                ApiError::forbidden("", "", "", "no"),
                403,
                "Forbidden",
                "forbidden: no",
            ),
            (
                ApiError::method_not_supported("", "bindings", "list"),
                405,
                "MethodNotAllowed",
                "list is not supported on resources of kind \"bindings\"",
            ),
            (
                ApiError::not_acceptable(&["application/json", "application/yaml"]),
                406,
                "NotAcceptable",
                "only the following media types are accepted: application/json, application/yaml",
            ),
            (
                ApiError::unsupported_media_type(&[
                    "application/json-patch+json",
                    "application/merge-patch+json",
                ]),
                415,
                "UnsupportedMediaType",
                "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json",
            ),
            (
                ApiError::too_old_resource_version(5, 10),
                410,
                "Expired",
                "too old resource version: 5 (10)",
            ),
            (ApiError::gone("gone"), 410, "Gone", "gone"),
            (
                ApiError::request_entity_too_large("limit is 3145728"),
                413,
                "RequestEntityTooLarge",
                "Request entity too large: limit is 3145728",
            ),
            (
                ApiError::internal("boom"),
                500,
                "InternalError",
                "Internal error occurred: boom",
            ),
            (
                ApiError::server_timeout("", "configmaps", "get", 2),
                500,
                "ServerTimeout",
                "The get operation against configmaps could not be completed at this time, please try again.",
            ),
            (
                ApiError::timeout("slow", 0),
                504,
                "Timeout",
                "Timeout: slow",
            ),
            (
                ApiError::too_large_resource_version(12, 10, 1),
                504,
                "Timeout",
                "Timeout: Too large resource version: 12, current: 10",
            ),
            (
                ApiError::too_many_requests("slow down", 1),
                429,
                "TooManyRequests",
                "slow down",
            ),
            (
                ApiError::too_many_requests_error("slow down"),
                429,
                "TooManyRequests",
                "Too many requests: slow down",
            ),
            (
                ApiError::service_unavailable("unavailable"),
                503,
                "ServiceUnavailable",
                "unavailable",
            ),
        ];
        for (error, code, reason, message) in cases {
            assert_eq!(error.code, code, "{message}");
            assert_eq!(error.reason.as_str(), reason, "{message}");
            assert_eq!(error.message, message);
            assert_eq!(error.to_string(), message);
        }
    }

    /// Bodies as kube-apiserver writes them (`kubectl -v=8` response dumps).
    #[test]
    fn json_bodies_match_upstream_bytes() {
        let cases: Vec<(ApiError, &str)> = vec![
            (
                ApiError::not_found("", "configmaps", "nope"),
                r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"configmaps \"nope\" not found","reason":"NotFound","details":{"name":"nope","kind":"configmaps"},"code":404}"#,
            ),
            (
                ApiError::not_found("apps", "deployments", "web"),
                r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"deployments.apps \"web\" not found","reason":"NotFound","details":{"name":"web","group":"apps","kind":"deployments"},"code":404}"#,
            ),
            (
                ApiError::already_exists("", "configmaps", "x"),
                r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"configmaps \"x\" already exists","reason":"AlreadyExists","details":{"name":"x","kind":"configmaps"},"code":409}"#,
            ),
            (
                ApiError::invalid(
                    "",
                    "ConfigMap",
                    "Bad",
                    &[FieldError::invalid(
                        &path("metadata.name"),
                        "Bad",
                        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
                    )],
                ),
                r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"ConfigMap \"Bad\" is invalid: metadata.name: Invalid value: \"Bad\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')","reason":"Invalid","details":{"name":"Bad","kind":"ConfigMap","causes":[{"reason":"FieldValueInvalid","message":"Invalid value: \"Bad\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')","field":"metadata.name"}]},"code":422}"#,
            ),
            (
                ApiError::conflict("", "configmaps", "x", OPTIMISTIC_LOCK_ERROR_MESSAGE),
                r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Operation cannot be fulfilled on configmaps \"x\": the object has been modified; please apply your changes to the latest version and try again","reason":"Conflict","details":{"name":"x","kind":"configmaps"},"code":409}"#,
            ),
            (
                ApiError::too_old_resource_version(5, 10),
                r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"too old resource version: 5 (10)","reason":"Expired","code":410}"#,
            ),
            (
                ApiError::method_not_supported("", "bindings", "list"),
                r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"list is not supported on resources of kind \"bindings\"","reason":"MethodNotAllowed","details":{"kind":"bindings"},"code":405}"#,
            ),
            (
                ApiError::timeout(
                    "request did not complete within requested timeout - context deadline exceeded",
                    0,
                ),
                r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Timeout: request did not complete within requested timeout - context deadline exceeded","reason":"Timeout","details":{},"code":504}"#,
            ),
            (
                ApiError::too_large_resource_version(12, 10, 1),
                r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Timeout: Too large resource version: 12, current: 10","reason":"Timeout","details":{"causes":[{"reason":"ResourceVersionTooLarge","message":"Too large resource version"}],"retryAfterSeconds":1},"code":504}"#,
            ),
            (
                ApiError::internal("etcd <down> & out"),
                r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Internal error occurred: etcd \u003cdown\u003e \u0026 out","reason":"InternalError","details":{"causes":[{"message":"etcd \u003cdown\u003e \u0026 out"}]},"code":500}"#,
            ),
            (
                ApiError::unauthorized(""),
                r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"not authorized","reason":"Unauthorized","code":401}"#,
            ),
        ];
        for (error, expected) in cases {
            assert_eq!(error.to_json(), expected);
            let mut body = expected.as_bytes().to_vec();
            body.push(b'\n');
            assert_eq!(error.response_body(), body);
        }
    }

    #[test]
    fn list_continue_is_written_into_metadata() {
        let mut error = ApiError::resource_expired("expired");
        error.list_continue = Some("abc".to_owned());
        assert_eq!(
            error.to_json(),
            r#"{"kind":"Status","apiVersion":"v1","metadata":{"continue":"abc"},"status":"Failure","message":"expired","reason":"Expired","code":410}"#
        );
        assert_eq!(error.to_status().metadata.continue_.as_deref(), Some("abc"));
    }

    #[test]
    fn to_status_round_trips_through_k8s_openapi() {
        let error = ApiError::invalid(
            "apps",
            "Deployment",
            "web",
            &[FieldError::required(&path("spec.selector"), "")],
        );
        let status = error.to_status();
        assert_eq!(status.code, Some(422));
        assert_eq!(status.status.as_deref(), Some("Failure"));
        assert_eq!(status.reason.as_deref(), Some("Invalid"));
        let details = status.details.clone().unwrap_or_default();
        assert_eq!(details.group.as_deref(), Some("apps"));
        assert_eq!(details.kind.as_deref(), Some("Deployment"));
        let causes = details.causes.unwrap_or_default();
        assert_eq!(causes.len(), 1);
        assert_eq!(causes[0].reason.as_deref(), Some("FieldValueRequired"));
        assert_eq!(causes[0].message.as_deref(), Some("Required value"));
        assert_eq!(causes[0].field.as_deref(), Some("spec.selector"));

        // The k8s-openapi value and our wire JSON describe the same object.
        let ours: serde_json::Value = serde_json::from_str(&error.to_json()).unwrap_or_default();
        let theirs = serde_json::to_value(&status).unwrap_or_default();
        assert_eq!(ours, theirs);
    }
}
