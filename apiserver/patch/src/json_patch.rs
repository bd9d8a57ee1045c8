//! JSON patch (`application/json-patch+json`, RFC 6902) as kube-apiserver applies it: with
//! evanphx/json-patch v4, whose behaviour clients have come to rely on where it departs from the RFC.
//!
//! This module owns decoding the operation list, applying it atomically (on failure the document is
//! left as it was) and the error texts. The departures from RFC 6902, all upstream's:
//! - `replace` of a missing object member adds it (many scripts patch `/metadata/labels/x` this way);
//! - `copy` from a missing object member writes `null`; `test` of a missing member passes when the
//!   value is `null`;
//! - negative array indices count from the end (`/items/-1`), indices may carry a sign or leading
//!   zeros (Go's `strconv.Atoi`);
//! - an operation without `value` uses `null`; `replace` of the whole document (`""`) with a value that
//!   is not an object or array does nothing; `add`, `remove`, `move`, `copy` on `""` fail.
//!
//! A path that does not start with `/` is rejected (upstream would read `a/b` as `/b`).

use serde_json::{Map, Value};

use crate::FieldValidation;
use crate::error::{OperationFailure, PatchError};

/// Upstream's `maxJSONPatchOperations`.
pub const MAX_OPERATIONS: usize = 10_000;

/// Upstream's `JSONPatchMaxCopyBytes`: how much `copy` operations may grow a document (3 MiB).
pub const MAX_COPY_BYTES: u64 = 3 * 1024 * 1024;

/// How to decode and bound a JSON patch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
    /// The request's `fieldValidation`: with `Warn` and `Strict` upstream first decodes the body
    /// strictly, which rejects operation fields of the wrong type with 400 and words decode errors
    /// differently.
    pub field_validation: FieldValidation,
    /// At most this many operations (413 beyond).
    pub max_operations: usize,
    /// At most this many bytes added by `copy` operations, counted as compact JSON (422 beyond).
    pub max_copy_bytes: Option<u64>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            field_validation: FieldValidation::default(),
            max_operations: MAX_OPERATIONS,
            max_copy_bytes: Some(MAX_COPY_BYTES),
        }
    }
}

/// Applies `patch` (the decoded request body) to `doc` with upstream's defaults. On error `doc` is
/// unchanged.
pub fn apply(doc: &mut Value, patch: &Value) -> Result<(), PatchError> {
    apply_with(doc, patch, &Options::default())
}

/// [`apply`] with explicit [`Options`].
pub fn apply_with(doc: &mut Value, patch: &Value, options: &Options) -> Result<(), PatchError> {
    let ops = decode(patch, options.field_validation)?;
    if ops.len() > options.max_operations {
        return Err(PatchError::TooManyOperations {
            limit: options.max_operations,
            got: ops.len(),
        });
    }
    // Work on a copy so that a failing operation leaves no trace of the ones before it.
    let mut work = doc.clone();
    let mut copied = 0u64;
    for (index, op) in ops.into_iter().enumerate() {
        apply_op(&mut work, &op, options.max_copy_bytes, &mut copied).map_err(
            |(kind, message)| PatchError::OperationFailed {
                index,
                kind,
                message,
            },
        )?;
    }
    *doc = work;
    Ok(())
}

/// One operation: its members as sent (a `null` element is an operation with none).
struct Op<'a> {
    fields: Option<&'a Map<String, Value>>,
}

impl<'a> Op<'a> {
    fn get(&self, name: &str) -> Option<&'a Value> {
        self.fields.and_then(|f| f.get(name))
    }

    /// `op`, or `unknown` when missing or not a string (evanphx's `Kind`).
    fn kind(&self) -> &'a str {
        self.get("op").and_then(Value::as_str).unwrap_or("unknown")
    }

    /// `path` / `from`: `Err` with the decode error's text when missing, `null` or not a string.
    fn pointer(&self, name: &str, missing: &str) -> Result<&'a str, String> {
        match self.get(name) {
            None | Some(Value::Null) => Err(format!("{missing}: missing value")),
            Some(Value::String(s)) => Ok(s),
            Some(other) => Err(format!(
                "json: cannot unmarshal {} into Go value of type string",
                json_kind(other)
            )),
        }
    }

    fn path(&self) -> Result<&'a str, String> {
        self.pointer("path", "operation missing path field")
    }

    fn from(&self) -> Result<&'a str, String> {
        self.pointer("from", "operation, missing from field")
    }

    /// `value`, if present (`null` included).
    fn value(&self) -> Option<&'a Value> {
        self.get("value")
    }
}

/// The JSON type name Go's decoder uses in its errors.
pub(crate) fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn decode(patch: &Value, validation: FieldValidation) -> Result<Vec<Op<'_>>, PatchError> {
    let strict = validation != FieldValidation::Ignore;
    let malformed = |msg: String| {
        PatchError::MalformedPatch(if strict {
            format!("error decoding patch: {msg}")
        } else {
            msg
        })
    };
    let (list_type, op_type) = if strict {
        ("[]handlers.jsonPatchOp", "handlers.jsonPatchOp")
    } else {
        ("jsonpatch.Patch", "jsonpatch.Operation")
    };
    let items = match patch {
        // Go decodes `null` into an empty slice: nothing to do.
        Value::Null => return Ok(Vec::new()),
        Value::Array(items) => items,
        other => {
            return Err(malformed(format!(
                "json: cannot unmarshal {} into Go value of type {list_type}",
                json_kind(other)
            )));
        }
    };
    let mut ops = Vec::with_capacity(items.len());
    for item in items {
        let fields = match item {
            Value::Null => None,
            Value::Object(fields) => Some(fields),
            other => {
                return Err(malformed(format!(
                    "json: cannot unmarshal {} into Go value of type {op_type}",
                    json_kind(other)
                )));
            }
        };
        if strict && let Some(fields) = fields {
            // The strict decoder targets {op, path, from string; value any}.
            for name in ["op", "path", "from"] {
                match fields.get(name) {
                    None | Some(Value::Null | Value::String(_)) => {}
                    Some(other) => {
                        return Err(malformed(format!(
                            "json: cannot unmarshal {} into Go struct field jsonPatchOp.{name} of type string",
                            json_kind(other)
                        )));
                    }
                }
            }
        }
        ops.push(Op { fields });
    }
    Ok(ops)
}

type OpResult = Result<(), (OperationFailure, String)>;

fn apply_op(doc: &mut Value, op: &Op<'_>, max_copy: Option<u64>, copied: &mut u64) -> OpResult {
    use OperationFailure::*;
    match op.kind() {
        "add" => {
            let path = op.path().map_err(|_| {
                (
                    MissingField,
                    "add operation failed to decode path: missing value".into(),
                )
            })?;
            let value = op.value().cloned().unwrap_or(Value::Null);
            let (con, key) = container(doc, path).ok_or_else(|| {
                (
                    PathNotFound,
                    format!("add operation does not apply: doc is missing path: \"{path}\": missing value"),
                )
            })?;
            add(con, &key, value)
                .map_err(|(k, e)| (k, format!("error in add for path: '{path}': {e}")))
        }
        "remove" => {
            let path = op.path().map_err(|_| {
                (
                    MissingField,
                    "remove operation failed to decode path: missing value".into(),
                )
            })?;
            let (con, key) = container(doc, path).ok_or_else(|| {
                (
                    PathNotFound,
                    format!("remove operation does not apply: doc is missing path: \"{path}\": missing value"),
                )
            })?;
            remove(con, &key)
                .map(drop)
                .map_err(|(k, e)| (k, format!("error in remove for path: '{path}': {e}")))
        }
        "replace" => {
            let path = op.path().map_err(|e| {
                (
                    MissingField,
                    format!("replace operation failed to decode path: {e}"),
                )
            })?;
            if path.is_empty() {
                // Upstream swaps in an object or array and silently ignores anything else.
                if let Some(v @ (Value::Object(_) | Value::Array(_))) = op.value() {
                    *doc = v.clone();
                }
                return Ok(());
            }
            let (con, key) = container(doc, path).ok_or_else(|| {
                (
                    PathNotFound,
                    format!("replace operation does not apply: doc is missing path: {path}: missing value"),
                )
            })?;
            let value = op.value().cloned().unwrap_or(Value::Null);
            match con {
                // A missing member is added: upstream's long-standing behaviour.
                Value::Object(map) => {
                    map.insert(key, value);
                    Ok(())
                }
                Value::Array(items) => {
                    let slot = index_for_get(items, &key)
                        .ok()
                        .and_then(|i| items.get_mut(i))
                        .ok_or_else(|| {
                            (
                                PathNotFound,
                                format!("replace operation does not apply: doc is missing key: {path}: missing value"),
                            )
                        })?;
                    *slot = value;
                    Ok(())
                }
                _ => Err((
                    PathNotFound,
                    format!(
                        "replace operation does not apply: doc is missing path: {path}: missing value"
                    ),
                )),
            }
        }
        "move" => {
            let from = op.from().map_err(|e| {
                (
                    MissingField,
                    format!("move operation failed to decode from: {e}"),
                )
            })?;
            let (con, key) = container(doc, from).ok_or_else(|| {
                (
                    PathNotFound,
                    format!("move operation does not apply: doc is missing from path: {from}: missing value"),
                )
            })?;
            let value = remove(con, &key)
                .map_err(|(k, e)| (k, format!("error in move for path: '{key}': {e}")))?;
            let path = op.path().map_err(|e| {
                (
                    MissingField,
                    format!("move operation failed to decode path: {e}"),
                )
            })?;
            let (con, key) = container(doc, path).ok_or_else(|| {
                (
                    PathNotFound,
                    format!("move operation does not apply: doc is missing destination path: {path}: missing value"),
                )
            })?;
            add(con, &key, value)
                .map_err(|(k, e)| (k, format!("error in move for path: '{path}': {e}")))
        }
        "test" => {
            let path = op.path().map_err(|e| {
                (
                    MissingField,
                    format!("test operation failed to decode path: {e}"),
                )
            })?;
            let failed = || {
                (
                    TestFailed,
                    format!("testing value {path} failed: test failed"),
                )
            };
            if path.is_empty() {
                return if op.value() == Some(&*doc) {
                    Ok(())
                } else {
                    Err(failed())
                };
            }
            let (con, key) = container(doc, path).ok_or_else(|| {
                (
                    PathNotFound,
                    format!(
                        "test operation does not apply: is missing path: {path}: missing value"
                    ),
                )
            })?;
            let current = get(con, &key)
                .map_err(|(k, e)| (k, format!("error in test for path: '{path}': {e}")))?;
            match (current, op.value()) {
                // A missing or null member equals a null (or absent) value.
                (None | Some(Value::Null), None | Some(Value::Null)) => Ok(()),
                (Some(a), Some(b)) if a == b => Ok(()),
                _ => Err(failed()),
            }
        }
        "copy" => {
            let from = op.from().map_err(|e| {
                (
                    MissingField,
                    format!("copy operation failed to decode from: {e}"),
                )
            })?;
            let (con, key) = container(doc, from).ok_or_else(|| {
                (
                    PathNotFound,
                    format!("copy operation does not apply: doc is missing from path: {from}: missing value"),
                )
            })?;
            let value = get(con, &key)
                .map_err(|(k, e)| (k, format!("error in copy for from: '{from}': {e}")))?
                .cloned()
                .unwrap_or(Value::Null);
            let path = op.path().map_err(|_| {
                (
                    MissingField,
                    "copy operation failed to decode path: missing value".into(),
                )
            })?;
            let (con, key) = container(doc, path).ok_or_else(|| {
                (
                    PathNotFound,
                    format!("copy operation does not apply: doc is missing destination path: {path}: missing value"),
                )
            })?;
            // A copied `null` from a missing member counts as nothing, as upstream's nil node does.
            let size = if value.is_null() {
                0
            } else {
                serde_json::to_vec(&value).map_or(0, |b| b.len())
            };
            *copied = copied.saturating_add(u64::try_from(size).unwrap_or(u64::MAX));
            if let Some(limit) = max_copy
                && *copied > limit
            {
                return Err((
                    CopyTooLarge,
                    format!(
                        "Unable to complete the copy, the accumulated size increase of copy is {copied}, exceeding the limit {limit}"
                    ),
                ));
            }
            add(con, &key, value)
                .map_err(|(k, e)| (k, format!("error while adding value during copy: {e}")))
        }
        other => Err((UnknownOperation, format!("Unexpected kind: {other}"))),
    }
}

/// Decodes one reference token (RFC 6901: `~1` is `/`, `~0` is `~`; anything else stays as written).
fn unescape(token: &str) -> String {
    if !token.contains('~') {
        return token.to_owned();
    }
    let mut out = String::with_capacity(token.len());
    let mut chars = token.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '~' {
            match chars.peek() {
                Some('0') => {
                    out.push('~');
                    chars.next();
                }
                Some('1') => {
                    out.push('/');
                    chars.next();
                }
                _ => out.push('~'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The object or array holding the target of `path`, and the target's (unescaped) key. `None` when
/// the path is not a pointer below the root or a parent is missing, `null` or a scalar.
fn container<'d>(doc: &'d mut Value, path: &str) -> Option<(&'d mut Value, String)> {
    let rest = path.strip_prefix('/')?;
    let mut tokens: Vec<&str> = rest.split('/').collect();
    let key = unescape(tokens.pop()?);
    let mut cur = doc;
    for token in tokens {
        let token = unescape(token);
        cur = match cur {
            Value::Object(map) => map.get_mut(&token)?,
            Value::Array(items) => {
                let i = index_for_get(items, &token).ok()?;
                items.get_mut(i)?
            }
            _ => return None,
        };
    }
    matches!(cur, Value::Object(_) | Value::Array(_)).then_some((cur, key))
}

type ContainerResult<T> = Result<T, (OperationFailure, String)>;

fn atoi(key: &str) -> ContainerResult<i64> {
    key.parse::<i64>().map_err(|e| {
        let why = match e.kind() {
            std::num::IntErrorKind::PosOverflow | std::num::IntErrorKind::NegOverflow => {
                "value out of range"
            }
            _ => "invalid syntax",
        };
        (
            OperationFailure::InvalidIndex,
            format!("strconv.Atoi: parsing \"{key}\": {why}"),
        )
    })
}

fn invalid_index(idx: i64) -> (OperationFailure, String) {
    (
        OperationFailure::InvalidIndex,
        format!("Unable to access invalid index: {idx}: invalid index referenced"),
    )
}

/// The position `key` names in `items` for reading, replacing or removing (negative from the end).
fn index_for_get(items: &[Value], key: &str) -> ContainerResult<usize> {
    let mut idx = atoi(key)?;
    let len = i64::try_from(items.len()).unwrap_or(i64::MAX);
    if idx < 0 {
        if idx < -len {
            return Err(invalid_index(idx));
        }
        idx += len;
    }
    if idx >= len {
        return Err(invalid_index(idx));
    }
    usize::try_from(idx).map_err(|_| invalid_index(idx))
}

/// The target's current value: `None` for a missing object member (not an error upstream).
fn get<'v>(con: &'v Value, key: &str) -> ContainerResult<Option<&'v Value>> {
    match con {
        Value::Object(map) => Ok(map.get(key)),
        Value::Array(items) => index_for_get(items, key).map(|i| items.get(i)),
        _ => Ok(None),
    }
}

fn add(con: &mut Value, key: &str, value: Value) -> ContainerResult<()> {
    match con {
        Value::Object(map) => {
            map.insert(key.to_owned(), value);
            Ok(())
        }
        Value::Array(items) => {
            if key == "-" {
                items.push(value);
                return Ok(());
            }
            let mut idx = atoi(key).map_err(|(k, e)| {
                (
                    k,
                    format!("value was not a proper array index: '{key}': {e}"),
                )
            })?;
            // Inserting: one more slot than there are items.
            let slots = i64::try_from(items.len())
                .unwrap_or(i64::MAX)
                .saturating_add(1);
            if idx >= slots || idx < -slots {
                return Err(invalid_index(idx));
            }
            if idx < 0 {
                idx += slots;
            }
            let at = usize::try_from(idx).map_err(|_| invalid_index(idx))?;
            items.insert(at, value);
            Ok(())
        }
        _ => Err(invalid_index(0)),
    }
}

/// Removes and returns the target.
fn remove(con: &mut Value, key: &str) -> ContainerResult<Value> {
    match con {
        Value::Object(map) => map.remove(key).ok_or_else(|| {
            (
                OperationFailure::PathNotFound,
                format!("Unable to remove nonexistent key: {key}: missing value"),
            )
        }),
        Value::Array(items) => {
            let i = index_for_get(items, key)?;
            Ok(items.remove(i))
        }
        _ => Err(invalid_index(0)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pointer_tokens_unescape() {
        assert_eq!(unescape("a~1b"), "a/b");
        assert_eq!(unescape("m~0n"), "m~n");
        assert_eq!(unescape("~01"), "~1");
        assert_eq!(unescape("x~2"), "x~2");
    }

    #[test]
    fn container_lookup() {
        let mut doc = json!({"a": {"b": [1, {"c": 2}]}, "n": null, "s": "x"});
        assert!(container(&mut doc, "/a/b/1/c").is_some());
        assert!(container(&mut doc, "/a/b/-1/c").is_some());
        assert!(container(&mut doc, "/a/b/2/c").is_none());
        assert!(container(&mut doc, "/n/x").is_none());
        assert!(container(&mut doc, "/s/x").is_none());
        assert!(container(&mut doc, "a/b").is_none());
        assert!(container(&mut doc, "").is_none());
    }
}
