//! Kubernetes PATCH semantics, without I/O: the three patch types kube-apiserver accepts and
//! server-side apply, applied to decoded JSON, with upstream's errors.
//!
//! - [`json_patch`]: `application/json-patch+json` (RFC 6902, with evanphx/json-patch's deviations
//!   that clients rely on);
//! - [`merge_patch`]: `application/merge-patch+json` (RFC 7386);
//! - [`strategic`]: `application/strategic-merge-patch+json`, for built-in kinds, driven by the merge
//!   metadata of tugboat-protobuf's schema table (`patchStrategy`, `patchMergeKey`);
//! - [`apply`]: server-side apply (`application/apply-patch+yaml`) and the managed fields every
//!   write records, from the same schema metadata;
//! - [`PatchError`]: every failure, with the HTTP status, `Status.reason` and `Status.message`
//!   upstream answers.
//!
//! The server owns the rest of the PATCH request: decoding the body, the typed decoding of the result
//! (unknown fields per `fieldValidation`, 422 for a result that is not a valid object), admission,
//! validation and storage.

pub mod apply;
pub mod error;
mod gofmt;
pub mod json_patch;
pub mod merge_patch;
pub mod strategic;

pub use error::{Directive, MergeFailure, OperationFailure, PatchError};

/// The request's `fieldValidation` parameter, which changes how upstream decodes patch bodies. Unset
/// means `Warn` on the server.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum FieldValidation {
    Ignore,
    #[default]
    Warn,
    Strict,
}
