//! [`PatchError`]: every way a patch can fail, with the HTTP status, `Status.reason` and
//! `Status.message` kube-apiserver answers for it (`apiserver/pkg/endpoints/handlers/patch.go`).
//!
//! Upstream sorts patch failures three ways: errors it wraps itself (`BadRequest` for an undecodable
//! body and malformed directives, 413 for too many operations, 422 through `NewGenericServerResponse`
//! for a JSON patch that does not apply and for lists of lists), and errors it passes through
//! unwrapped, which `ErrorToAPIStatus` turns into 500 with an empty reason and the error text as the
//! message (an unknown `$patch` value, a list element without its merge key).

/// The media types a custom resource accepts for PATCH: the 415 answer to a strategic merge patch.
pub const CUSTOM_RESOURCE_PATCH_TYPES: [&str; 3] = [
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/apply-patch+yaml",
];

/// A failed patch. `Display` is the error's own text (upstream's Go error string); what the client
/// sees is [`PatchError::status_code`], [`PatchError::reason`] and [`PatchError::status_message`].
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum PatchError {
    /// The body is not a patch of its type: not an array of operations, a merge patch that is not an
    /// object, an operation field of the wrong JSON type. 400 `BadRequest`; the message is upstream's
    /// decoder text (`error decoding patch: json: cannot unmarshal object into Go value of type
    /// []handlers.jsonPatchOp`, `Invalid JSON Patch`).
    #[error("{0}")]
    MalformedPatch(String),

    /// A JSON patch with more operations than allowed. 413 `RequestEntityTooLarge`, message
    /// `Request entity too large: The allowed maximum operations in a JSON patch is 10000, got N`.
    #[error("The allowed maximum operations in a JSON patch is {limit}, got {got}")]
    TooManyOperations { limit: usize, got: usize },

    /// A JSON patch operation did not apply: a failed `test`, a missing path, a bad array index, an
    /// unknown `op`. 422 `Invalid` with upstream's generic message `the server rejected our request due
    /// to an error in our request` and empty `details` (upstream drops the operation's error text;
    /// `Display` keeps it, in evanphx/json-patch's words, for logs). `index` is the operation's
    /// position in the patch.
    #[error("{message}")]
    OperationFailed {
        index: usize,
        kind: OperationFailure,
        message: String,
    },

    /// A strategic merge patch directive of the wrong shape: `$retainKeys` not a list or not naming a
    /// patched key, `$deleteFromPrimitiveList` / `$setElementOrder` keys without `/<field>`, a
    /// `$setElementOrder` list that is not a list. 400 `BadRequest`, message `invalid patch format of
    /// retainKeys` (or `primitive list`, `setElementOrder list`).
    #[error("invalid patch format of {0}")]
    InvalidDirective(Directive),

    /// A strategic merge over a list whose elements are lists. 422 `Invalid` with the generic message
    /// of [`PatchError::OperationFailed`]; `Display` is upstream's `lists of lists are not supported`.
    #[error("lists of lists are not supported")]
    ListOfLists,

    /// A strategic merge patch upstream rejects with a bare Go error: an unknown `$patch` value
    /// (`unknown patch type: foo in map: map[...]`), `$patch: merge` in a list, an element without
    /// its merge key (`map: map[image:redis] does not contain declared merge key: name`), lists of
    /// mixed element types, a patch list out of `$setElementOrder`'s order. 500 with an empty reason
    /// and the text as the message, exactly as upstream answers.
    #[error("{message}")]
    MergeFailed { kind: MergeFailure, message: String },

    /// Strategic merge patch on a kind without built-in schema (custom resources, kinds unknown to
    /// this build). 415 `UnsupportedMediaType`, message `the body of the request was in an unknown
    /// format - accepted media types include: application/json-patch+json,
    /// application/merge-patch+json, application/apply-patch+yaml`.
    #[error(
        "the body of the request was in an unknown format - accepted media types include: {}",
        CUSTOM_RESOURCE_PATCH_TYPES.join(", ")
    )]
    StrategicMergeNotSupported,

    /// The document to patch is not a JSON object (upstream's `ErrBadJSONDoc`). 400 `BadRequest`,
    /// message `invalid JSON document`. Never the client's doing: the server patches stored objects.
    #[error("invalid JSON document")]
    InvalidDocument,
}

/// Why a JSON patch operation failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum OperationFailure {
    /// A `test` whose value differs.
    TestFailed,
    /// `op` missing or not one of add, remove, replace, move, copy, test.
    UnknownOperation,
    /// `path` or `from` missing.
    MissingField,
    /// The path's parent does not exist (or is not an object or array), or the member to remove,
    /// move or replace is missing.
    PathNotFound,
    /// An array index out of range or not a number.
    InvalidIndex,
    /// `copy` operations grew the document beyond the limit.
    CopyTooLarge,
}

/// A strategic merge directive, as [`PatchError::InvalidDirective`] names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Directive {
    /// `$deleteFromPrimitiveList/<field>`.
    PrimitiveList,
    /// `$retainKeys`.
    RetainKeys,
    /// `$setElementOrder/<field>`.
    SetElementOrderList,
}

impl std::fmt::Display for Directive {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Directive::PrimitiveList => "primitive list",
            Directive::RetainKeys => "retainKeys",
            Directive::SetElementOrderList => "setElementOrder list",
        })
    }
}

/// Why a strategic merge failed with a bare upstream error ([`PatchError::MergeFailed`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MergeFailure {
    /// `$patch` with a value other than `replace` or `delete` (on a map), or `replace`, `delete`,
    /// `merge` (in a list).
    UnknownPatchDirective,
    /// `$patch: merge` as a list element.
    MergeDirectiveInList,
    /// A list element without the list's merge key.
    MissingMergeKey,
    /// A value of the wrong JSON type where a list or object is needed (`$setElementOrder` on a
    /// non-list field, a list element that is not an object).
    WrongType,
    /// A list of objects with merge strategy but no merge key.
    NoMergeKeyDeclared,
    /// The elements of a merged list are not all of one JSON type.
    MixedElementTypes,
    /// `$setElementOrder` with empty lists on both sides.
    EmptyLists,
    /// The patch list is not in the order `$setElementOrder` gives.
    OrderMismatch,
}

const GENERIC_422: &str = "the server rejected our request due to an error in our request";

impl PatchError {
    /// The HTTP status code upstream answers with.
    pub fn status_code(&self) -> u16 {
        match self {
            PatchError::MalformedPatch(_)
            | PatchError::InvalidDirective(_)
            | PatchError::InvalidDocument => 400,
            PatchError::TooManyOperations { .. } => 413,
            PatchError::StrategicMergeNotSupported => 415,
            PatchError::OperationFailed { .. } | PatchError::ListOfLists => 422,
            PatchError::MergeFailed { .. } => 500,
        }
    }

    /// `Status.reason` (empty for upstream's unwrapped errors).
    pub fn reason(&self) -> &'static str {
        match self {
            PatchError::MalformedPatch(_)
            | PatchError::InvalidDirective(_)
            | PatchError::InvalidDocument => "BadRequest",
            PatchError::TooManyOperations { .. } => "RequestEntityTooLarge",
            PatchError::StrategicMergeNotSupported => "UnsupportedMediaType",
            PatchError::OperationFailed { .. } | PatchError::ListOfLists => "Invalid",
            PatchError::MergeFailed { .. } => "",
        }
    }

    /// `Status.message` as upstream sends it. For the 422s (`OperationFailed`, `ListOfLists`) that is
    /// the generic text of `NewGenericServerResponse`, whose Status also carries an empty `details: {}`.
    pub fn status_message(&self) -> String {
        match self {
            PatchError::TooManyOperations { .. } => format!("Request entity too large: {self}"),
            PatchError::OperationFailed { .. } | PatchError::ListOfLists => GENERIC_422.to_owned(),
            _ => self.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_mapping() {
        let e = PatchError::TooManyOperations {
            limit: 10_000,
            got: 10_001,
        };
        assert_eq!(
            (e.status_code(), e.reason()),
            (413, "RequestEntityTooLarge")
        );
        assert_eq!(
            e.status_message(),
            "Request entity too large: The allowed maximum operations in a JSON patch is 10000, got 10001"
        );
        let e = PatchError::StrategicMergeNotSupported;
        assert_eq!((e.status_code(), e.reason()), (415, "UnsupportedMediaType"));
        assert_eq!(
            e.status_message(),
            "the body of the request was in an unknown format - accepted media types include: \
             application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml"
        );
        let e = PatchError::InvalidDirective(Directive::RetainKeys);
        assert_eq!(e.status_message(), "invalid patch format of retainKeys");
        assert_eq!(PatchError::ListOfLists.status_message(), GENERIC_422);
    }
}
