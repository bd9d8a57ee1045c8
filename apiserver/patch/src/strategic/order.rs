//! The order of a merged list (upstream's `normalizeElementOrder`): the elements the patch names
//! ("patch items") in the patch's (or `$setElementOrder`'s) order, the others ("server-only") in their
//! old order, the two interleaved by the old order where both were there before. Elements new to the
//! list therefore come first: adding container `b` to `[a]` gives `[b, a]`, as `kubectl patch`'s
//! documentation shows.

use serde_json::Value;

use super::merge::{MAP_TYPE, PATCH, failed, no_merge_key, wrong_type};
use crate::error::{MergeFailure, PatchError};
use crate::gofmt;

type Result<T> = std::result::Result<T, PatchError>;

/// The one JSON type of a list's elements (upstream's `sliceElementType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    Bool,
    Int,
    Float,
    String,
    Object,
}

impl Kind {
    /// The element type shared by all `lists`: an error for lists of lists, mixed types (`int64` and
    /// `float64` count as different, as in Go) or no elements at all.
    pub(super) fn of(lists: &[&[Value]]) -> Result<Kind> {
        let mut kind = None;
        for (i, item) in lists.iter().flat_map(|l| l.iter()).enumerate() {
            let this = match item {
                // Upstream names lists of lists only when the first element is a list.
                Value::Array(_) if i == 0 => return Err(PatchError::ListOfLists),
                Value::Array(_) => return Err(mixed(lists)),
                Value::Bool(_) => Some(Kind::Bool),
                Value::Number(n) if gofmt::is_int(n) => Some(Kind::Int),
                Value::Number(_) => Some(Kind::Float),
                Value::String(_) => Some(Kind::String),
                Value::Object(_) => Some(Kind::Object),
                // Go cannot type a nil element; upstream fails on it one way or another.
                Value::Null => None,
            };
            match (kind, this) {
                (_, None) => return Err(mixed(lists)),
                (None, Some(this)) => kind = Some(this),
                (Some(k), Some(this)) if k != this => return Err(mixed(lists)),
                _ => {}
            }
        }
        kind.ok_or_else(|| {
            failed(
                MergeFailure::EmptyLists,
                "no elements in any of the given slices".to_owned(),
            )
        })
    }
}

fn mixed(lists: &[&[Value]]) -> PatchError {
    failed(
        MergeFailure::MixedElementTypes,
        format!(
            "list element types are not identical: {}",
            gofmt::v_lists(lists)
        ),
    )
}

/// What identifies an element when ordering: its merge key's value for objects, itself otherwise.
/// A missing key is `None`, and two `None`s match, as Go's `nil == nil`.
fn identity<'v>(item: &'v Value, key: Option<&str>, kind: Kind) -> Option<&'v Value> {
    if kind == Kind::Object {
        item.as_object()
            .and_then(|m| m.get(key.unwrap_or_default()))
    } else {
        Some(item)
    }
}

/// The position of `item` in `order`.
fn position(order: &[Value], item: &Value, key: Option<&str>, kind: Kind) -> Option<usize> {
    let id = identity(item, key, kind);
    order.iter().position(|o| identity(o, key, kind) == id)
}

/// Splits `merged` into the elements found in `by` and the others, keeping their order.
pub(super) fn partition(
    merged: Vec<Value>,
    by: &[Value],
    key: Option<&str>,
) -> Result<(Vec<Value>, Vec<Value>)> {
    let mut found = Vec::new();
    let mut others = Vec::new();
    for item in merged {
        let present = match key {
            None => by.contains(&item),
            Some(key) => {
                let Value::Object(map) = &item else {
                    return Err(wrong_type(MAP_TYPE, &item));
                };
                let value = map.get(key).ok_or_else(|| no_merge_key(map, key))?;
                let mut present = false;
                for (i, b) in by.iter().enumerate() {
                    let Value::Object(b) = b else {
                        return Err(failed(
                            MergeFailure::WrongType,
                            format!("value for key {i} is not a map"),
                        ));
                    };
                    if b.get(key) == Some(value) {
                        present = true;
                        break;
                    }
                }
                present
            }
        };
        if present {
            found.push(item);
        } else {
            others.push(item);
        }
    }
    Ok((found, others))
}

/// Orders `patch_items` by `patch_order` and `server_only` by `server_order`, then interleaves them.
pub(super) fn normalize(
    patch_items: Vec<Value>,
    server_only: Vec<Value>,
    patch_order: &[Value],
    server_order: &[Value],
    key: Option<&str>,
    kind: Kind,
) -> Result<Vec<Value>> {
    let patch_items = sort_by(patch_items, patch_order, key, kind)?;
    let server_only = sort_by(server_only, server_order, key, kind)?;
    Ok(interleave(
        server_only,
        patch_items,
        server_order,
        key,
        kind,
    ))
}

/// Every element of `lists` is an object with `key` (upstream's `validateMergeKeyInLists`).
fn check_keys(lists: [&[Value]; 2], key: Option<&str>) -> Result<()> {
    let key = key.unwrap_or_default();
    for item in lists.iter().flat_map(|l| l.iter()) {
        let Value::Object(map) = item else {
            return Err(wrong_type(MAP_TYPE, item));
        };
        if !map.contains_key(key) {
            return Err(no_merge_key(map, key));
        }
    }
    Ok(())
}

/// Stable sort by position in `order`; `$patch: delete` elements last. Elements `order` does not
/// have go after those it has (upstream leaves their place to its sort's internals).
fn sort_by(
    items: Vec<Value>,
    order: &[Value],
    key: Option<&str>,
    kind: Kind,
) -> Result<Vec<Value>> {
    let mut deletes = Vec::new();
    let mut items = if kind == Kind::Object {
        check_keys([&items, order], key)?;
        let (keep, delete): (Vec<Value>, Vec<Value>) = items
            .into_iter()
            .partition(|item| item.get(PATCH).and_then(Value::as_str) != Some("delete"));
        deletes = delete;
        keep
    } else {
        items
    };
    let mut keyed: Vec<(usize, Value)> = items
        .drain(..)
        .map(|item| {
            let at = position(order, &item, key, kind).unwrap_or(usize::MAX);
            (at, item)
        })
        .collect();
    keyed.sort_by_key(|(at, _)| *at);
    let mut sorted: Vec<Value> = keyed.into_iter().map(|(_, item)| item).collect();
    sorted.append(&mut deletes);
    Ok(sorted)
}

/// Merges the two sorted lists: a server-only element goes before a patch element when both are in
/// `server_order` and it came first there; otherwise the patch element goes first (upstream's
/// `mergeSortedSlice`).
fn interleave(
    left: Vec<Value>,
    right: Vec<Value>,
    server_order: &[Value],
    key: Option<&str>,
    kind: Kind,
) -> Vec<Value> {
    let left_at: Vec<Option<usize>> = left
        .iter()
        .map(|v| position(server_order, v, key, kind))
        .collect();
    let right_at: Vec<Option<usize>> = right
        .iter()
        .map(|v| position(server_order, v, key, kind))
        .collect();
    let mut out = Vec::with_capacity(left.len() + right.len());
    let mut left = left.into_iter().zip(left_at).peekable();
    let mut right = right.into_iter().zip(right_at).peekable();
    loop {
        let take_left = match (left.peek(), right.peek()) {
            (Some((_, Some(l))), Some((_, Some(r)))) => l < r,
            (Some(_), Some(_)) => false,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => break,
        };
        let next = if take_left { left.next() } else { right.next() };
        if let Some((item, _)) = next {
            out.push(item);
        }
    }
    out
}
