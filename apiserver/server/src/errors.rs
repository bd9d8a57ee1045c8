//! The edge where errors become responses: storage errors become API errors here and nowhere else,
//! and an [`ApiError`] becomes a `Status` response with its code.

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use tugboat_machinery::status::ApiError;
use tugboat_storage::StorageError;

/// Map a storage failure that the registry did not handle itself (conflicts and missing keys are
/// turned into errors that name the resource by the registry, which knows it).
pub fn storage_error(error: StorageError) -> ApiError {
    match error {
        StorageError::Compacted {
            requested,
            compacted,
        } => ApiError::too_old_resource_version(requested.max(0) as u64, compacted.max(0) as u64),
        StorageError::FutureRevision { requested, current } => {
            ApiError::too_large_resource_version(requested.max(0) as u64, current.max(0) as u64, 1)
        }
        StorageError::InvalidRequest(message) => ApiError::bad_request(message),
        StorageError::Unavailable(message) => {
            tracing::error!(%message, "storage unavailable");
            ApiError::service_unavailable(format!("storage is unavailable: {message}"))
        }
        other => {
            tracing::error!(error = %other, "storage request failed");
            ApiError::internal(&other.to_string())
        }
    }
}

/// An [`ApiError`] on its way out as a response.
#[derive(Debug)]
pub struct Failure(pub ApiError);

impl From<ApiError> for Failure {
    fn from(error: ApiError) -> Self {
        Failure(error)
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let code = StatusCode::from_u16(self.0.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (code, self.0.response_body()).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        let retry_after = self.0.details.as_ref().map(|d| d.retry_after_seconds);
        if let Some(value) = retry_after
            .filter(|s| *s > 0)
            .and_then(|s| HeaderValue::from_str(&s.to_string()).ok())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}
