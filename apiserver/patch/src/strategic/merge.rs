//! The strategic merge algorithm: objects, lists and directives (see the parent module for the
//! rules). Values are owned and moved, never shared: the caller hands in copies.

use serde_json::{Map, Value};
use tugboat_protobuf::PatchStrategy;

use super::order::{self, Kind};
use super::{Member, PatchSchema};
use crate::error::{Directive, MergeFailure, PatchError};
use crate::gofmt;

type Object = Map<String, Value>;
type Result<T> = std::result::Result<T, PatchError>;

pub(super) const PATCH: &str = "$patch";
const RETAIN_KEYS: &str = "$retainKeys";
const DELETE_FROM_PRIMITIVE_LIST: &str = "$deleteFromPrimitiveList";
const SET_ELEMENT_ORDER: &str = "$setElementOrder";

pub(super) fn failed(kind: MergeFailure, message: String) -> PatchError {
    PatchError::MergeFailed { kind, message }
}

/// upstream's `ErrBadPatchType`.
fn unknown_patch_type(directive: &Value, map: &Object) -> PatchError {
    failed(
        MergeFailure::UnknownPatchDirective,
        format!(
            "unknown patch type: {} in map: {}",
            gofmt::s(directive),
            gofmt::v_map(map)
        ),
    )
}

/// upstream's `ErrNoMergeKey`.
pub(super) fn no_merge_key(map: &Object, key: &str) -> PatchError {
    failed(
        MergeFailure::MissingMergeKey,
        format!(
            "map: {} does not contain declared merge key: {key}",
            gofmt::v_map(map)
        ),
    )
}

/// upstream's `ErrBadArgType`.
pub(super) fn wrong_type(expected: &str, actual: &Value) -> PatchError {
    failed(
        MergeFailure::WrongType,
        format!(
            "expected a {expected}, but received a {}",
            gofmt::type_name(actual)
        ),
    )
}

pub(super) const MAP_TYPE: &str = "map[string]interface {}";
const SLICE_TYPE: &str = "[]interface {}";

fn lookup<S: PatchSchema>(schema: Option<&S>, key: &str) -> Member<S> {
    schema.map_or_else(Member::default, |s| s.member(key))
}

/// Merges `patch` into `original` (upstream's `mergeMap`).
pub(super) fn merge_map<S: PatchSchema>(
    mut original: Object,
    mut patch: Object,
    schema: Option<&S>,
) -> Result<Object> {
    if let Some(directive) = patch.get(PATCH) {
        return match directive.as_str() {
            // The rest of the patch, literally: nested directives and nulls included, as upstream.
            Some("replace") => {
                patch.remove(PATCH);
                Ok(patch)
            }
            Some("delete") => Ok(Object::new()),
            _ => Err(unknown_patch_type(directive, &patch)),
        };
    }
    apply_retain_keys(&mut original, &mut patch)?;
    apply_set_element_order(&mut original, &mut patch, schema)?;
    for (key, value) in patch {
        merge_member(&mut original, key, value, schema)?;
    }
    Ok(original)
}

/// `key` without `prefix/`, or the directive's format error.
fn extract_key<'k>(key: &'k str, prefix: &str, directive: Directive) -> Result<&'k str> {
    match key.split_once('/') {
        Some((head, field)) if head == prefix => Ok(field),
        _ => Err(PatchError::InvalidDirective(directive)),
    }
}

/// `$retainKeys`: clear the members of `original` the list does not name, after checking that the
/// patch sets nothing outside it.
fn apply_retain_keys(original: &mut Object, patch: &mut Object) -> Result<()> {
    let Some(retain) = patch.remove(RETAIN_KEYS) else {
        return Ok(());
    };
    let Value::Array(retain) = retain else {
        return Err(PatchError::InvalidDirective(Directive::RetainKeys));
    };
    let retained = |key: &str| retain.iter().any(|k| k.as_str() == Some(key));
    let outside = patch.iter().any(|(key, value)| {
        !value.is_null()
            && !key.starts_with(DELETE_FROM_PRIMITIVE_LIST)
            && !key.starts_with(SET_ELEMENT_ORDER)
            && !retained(key)
    });
    if outside {
        return Err(PatchError::InvalidDirective(Directive::RetainKeys));
    }
    original.retain(|key, _| retained(key));
    Ok(())
}

/// Takes `key` out of `map` as a list (`None` if absent).
fn take_list(map: &mut Object, key: &str) -> Result<Option<Vec<Value>>> {
    match map.remove(key) {
        None => Ok(None),
        Some(Value::Array(items)) => Ok(Some(items)),
        Some(other) => Err(wrong_type(SLICE_TYPE, &other)),
    }
}

/// `$setElementOrder/<field>`: merge the field's list now and put it in the directive's order
/// (upstream's `mergePatchIntoOriginal`). The merged list leaves the patch, so the member loop does
/// not see it again.
fn apply_set_element_order<S: PatchSchema>(
    original: &mut Object,
    patch: &mut Object,
    schema: Option<&S>,
) -> Result<()> {
    let directives: Vec<String> = patch
        .keys()
        .filter(|k| k.starts_with(SET_ELEMENT_ORDER))
        .cloned()
        .collect();
    for directive in directives {
        let Some(order) = patch.remove(&directive) else {
            continue;
        };
        let Value::Array(order) = order else {
            return Err(wrong_type(SLICE_TYPE, &order));
        };
        let field = extract_key(
            &directive,
            SET_ELEMENT_ORDER,
            Directive::SetElementOrderList,
        )?;
        let original_list = take_list(original, field)?;
        let patch_list = take_list(patch, field)?;
        let member = lookup(schema, field);
        validate_order(
            patch_list.as_deref().unwrap_or_default(),
            &order,
            member.merge_key,
        )?;
        let kind = Kind::of(&[
            original_list.as_deref().unwrap_or_default(),
            patch_list.as_deref().unwrap_or_default(),
        ]);
        let server_order = match (&original_list, &patch_list, member.merge_key) {
            (Some(o), Some(p), Some(key)) if member.strategy == Some(PatchStrategy::Merge) => {
                old_order_as_upstream_sees_it(o, p, key)
            }
            _ => original_list.clone().unwrap_or_default(),
        };
        let merged = match (original_list, patch_list) {
            (None, None) => continue,
            (Some(original_list), None) => original_list,
            (None, Some(patch_list)) => patch_list
                .into_iter()
                .filter_map(remove_directives)
                .collect(),
            (Some(original_list), Some(patch_list)) => {
                merge_list(original_list, patch_list, &member, false)?
            }
        };
        let (patch_items, server_only) = order::partition(merged, &order, member.merge_key)?;
        let kind = kind?;
        let merged = order::normalize(
            patch_items,
            server_only,
            &order,
            &server_order,
            member.merge_key,
            kind,
        )?;
        original.insert(field.to_owned(), Value::Array(merged));
    }
    Ok(())
}

/// The old order that upstream's `$setElementOrder` handling consults for server-only elements after
/// merging a list of objects. Upstream merges the list by editing it in place: deleted elements are
/// shifted out (the last slot keeps a stale copy) and appended elements are written into the freed
/// slots, and it then reads the original's slots as "the old order". So an element the patch adds
/// can take the place of one it deletes: with `[1, 4]` on the server and a patch adding 2 and 3 and
/// deleting 1 in the order `[2, 3]`, 4 (server-only) stays first, `[4, 2, 3]`, as kubectl users get.
fn old_order_as_upstream_sees_it(original: &[Value], patch: &[Value], key: &str) -> Vec<Value> {
    let key_of = |v: &Value| v.as_object().and_then(|m| m.get(key)).cloned();
    let mut slots = original.to_vec();
    // The merge key values of the list being edited, which may outgrow the slots.
    let mut list: Vec<Option<Value>> = original.iter().map(key_of).collect();
    let mut replaced = false;
    for item in patch {
        match item.get(PATCH).and_then(Value::as_str) {
            Some("delete") => {
                let Some(target) = key_of(item) else { continue };
                while let Some(k) = list.iter().position(|e| e.as_ref() == Some(&target)) {
                    let len = list.len();
                    list.remove(k);
                    // Shift left within the slots; the last one keeps its old value.
                    for i in k..len.saturating_sub(1) {
                        if let Some(next) = slots.get(i + 1).cloned()
                            && let Some(slot) = slots.get_mut(i)
                        {
                            *slot = next;
                        }
                    }
                }
            }
            // The merged list becomes a new one: later appends never reach the slots.
            Some("replace") => replaced = true,
            _ => {}
        }
    }
    if !replaced {
        for item in patch.iter().filter(|i| i.get(PATCH).is_none()) {
            let id = key_of(item);
            if list.contains(&id) {
                continue;
            }
            if let Some(slot) = slots.get_mut(list.len()) {
                *slot = item.clone();
            }
            list.push(id);
        }
    }
    slots
}

/// Checks that the patch list's elements appear in `$setElementOrder` in the same relative order
/// (upstream's `validatePatchWithSetOrderList`).
fn validate_order(patch_list: &[Value], order: &[Value], merge_key: Option<&str>) -> Result<()> {
    if order.is_empty() || patch_list.is_empty() {
        return Ok(());
    }
    let mut kept = Vec::with_capacity(patch_list.len());
    for item in patch_list {
        if merge_key.is_some() {
            let Value::Object(map) = item else {
                return Err(wrong_type(MAP_TYPE, item));
            };
            if map.get(PATCH).and_then(Value::as_str) == Some("delete") {
                continue;
            }
        }
        kept.push(item);
    }
    let (mut p, mut o) = (0, 0);
    while let (Some(item), Some(ordered)) = (kept.get(p), order.get(o)) {
        if item.as_object().is_some_and(|m| m.contains_key(PATCH)) {
            p += 1;
            continue;
        }
        if same_element(item, ordered, merge_key)? {
            p += 1;
        }
        o += 1;
    }
    if p < kept.len() && o >= order.len() {
        return Err(failed(
            MergeFailure::OrderMismatch,
            format!(
                "the order in patch list:\n{}\n doesn't match {SET_ELEMENT_ORDER} list:\n{}",
                gofmt::v_slice(patch_list),
                gofmt::v_slice(order),
            ),
        ));
    }
    Ok(())
}

/// Whether two list elements are the same one: by merge key for objects, by value for scalars.
fn same_element(a: &Value, b: &Value, merge_key: Option<&str>) -> Result<bool> {
    let Some(key) = merge_key else {
        return Ok(a == b);
    };
    let value = |v: &Value| -> Result<Value> {
        let Value::Object(map) = v else {
            return Err(wrong_type(MAP_TYPE, v));
        };
        map.get(key).cloned().ok_or_else(|| no_merge_key(map, key))
    };
    Ok(value(a)? == value(b)?)
}

/// Merges one member of the patch into `original`.
fn merge_member<S: PatchSchema>(
    original: &mut Object,
    key: String,
    value: Value,
    schema: Option<&S>,
) -> Result<()> {
    let (key, delete_list) = if key.starts_with(DELETE_FROM_PRIMITIVE_LIST) {
        let field = extract_key(&key, DELETE_FROM_PRIMITIVE_LIST, Directive::PrimitiveList)?;
        let field = if field.is_empty() {
            key.clone()
        } else {
            field.to_owned()
        };
        (field, true)
    } else {
        (key, false)
    };
    if value.is_null() {
        original.remove(&key);
        return Ok(());
    }
    let Some(current) = original.get_mut(&key) else {
        if !delete_list && let Some(value) = clean(value) {
            original.insert(key, value);
        }
        return Ok(());
    };
    match (current, value) {
        (Value::Object(current), Value::Object(value)) => {
            let member = lookup(schema, &key);
            let merged = if member.strategy == Some(PatchStrategy::Replace) {
                value
            } else {
                merge_map(std::mem::take(current), value, member.schema.as_ref())?
            };
            *current = merged;
        }
        (Value::Array(current), Value::Array(value)) => {
            let member = lookup(schema, &key);
            *current = merge_list(std::mem::take(current), value, &member, delete_list)?;
        }
        (current, value) => {
            // Scalars, or a change of JSON type: the patch's value (cleaned) wins, except that a
            // deletion list never replaces a value of another type.
            if delete_list && !same_type(current, &value) {
                return Ok(());
            }
            match clean(value) {
                Some(value) => *current = value,
                None => {
                    original.remove(&key);
                }
            }
        }
    }
    Ok(())
}

/// Whether two values have the same Go type once decoded (`int64` and `float64` differ).
fn same_type(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(a), Value::Number(b)) => gofmt::is_int(a) == gofmt::is_int(b),
        _ => std::mem::discriminant(a) == std::mem::discriminant(b),
    }
}

/// A patch value taken as is where there is nothing to merge with: nulls dropped from its objects,
/// elements and members carrying `$patch` dropped. `None` if the value itself carries `$patch`.
fn clean(mut value: Value) -> Option<Value> {
    discard_nulls(&mut value);
    remove_directives(value)
}

fn discard_nulls(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(discard_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(discard_nulls),
        _ => {}
    }
}

/// upstream's `removeDirectives`: only `$patch` marks a directive here; other `$`-keys stay.
fn remove_directives(value: Value) -> Option<Value> {
    match value {
        Value::Object(map) => {
            if map.contains_key(PATCH) {
                return None;
            }
            Some(Value::Object(
                map.into_iter()
                    .filter_map(|(k, v)| remove_directives(v).map(|v| (k, v)))
                    .collect(),
            ))
        }
        Value::Array(items) => Some(Value::Array(
            items.into_iter().filter_map(remove_directives).collect(),
        )),
        other => Some(other),
    }
}

/// Merges two lists as the member's strategy says (upstream's `mergeSliceHandler`): a deletion list
/// always merges, a list without `merge` strategy is replaced by the patch's, as is.
fn merge_list<S: PatchSchema>(
    original: Vec<Value>,
    patch: Vec<Value>,
    member: &Member<S>,
    delete_list: bool,
) -> Result<Vec<Value>> {
    if member.strategy == Some(PatchStrategy::Merge) || delete_list {
        merge_slice(
            original,
            patch,
            member.schema.as_ref(),
            member.merge_key,
            delete_list,
        )
    } else {
        Ok(patch)
    }
}

/// upstream's `mergeSlice`.
fn merge_slice<S: PatchSchema>(
    original: Vec<Value>,
    patch: Vec<Value>,
    schema: Option<&S>,
    merge_key: Option<&'static str>,
    delete_list: bool,
) -> Result<Vec<Value>> {
    if original.is_empty() && patch.is_empty() {
        return Ok(original);
    }
    let kind = Kind::of(&[&original, &patch])?;
    if kind != Kind::Object {
        if delete_list {
            return Ok(original
                .into_iter()
                .filter(|v| !patch.contains(v))
                .collect());
        }
        // A set: each value once, order settled below.
        let mut merged: Vec<Value> = Vec::with_capacity(original.len() + patch.len());
        for v in original.iter().chain(&patch) {
            if !merged.contains(v) {
                merged.push(v.clone());
            }
        }
        let (patch_items, server_only) = order::partition(merged, &patch, merge_key)?;
        return order::normalize(patch_items, server_only, &patch, &original, merge_key, kind);
    }
    let Some(key) = merge_key else {
        return Err(failed(
            MergeFailure::NoMergeKeyDeclared,
            "cannot merge lists without merge key for struct".to_owned(),
        ));
    };
    let (original, patch) = apply_list_directives(original, patch, key)?;
    let server_order = original.clone();
    let merged = merge_by_key(original, &patch, key, schema)?;
    let (patch_items, server_only) = order::partition(merged, &patch, merge_key)?;
    order::normalize(
        patch_items,
        server_only,
        &patch,
        &server_order,
        merge_key,
        kind,
    )
}

/// The `$patch` elements of a patch list of objects: `delete` removes every element with the merge
/// key's value, `replace` makes the other patch elements the whole list. Returns the new original
/// and the patch without directive elements.
fn apply_list_directives(
    mut original: Vec<Value>,
    patch: Vec<Value>,
    key: &str,
) -> Result<(Vec<Value>, Vec<Value>)> {
    let mut plain = Vec::with_capacity(patch.len());
    let mut replace = false;
    for item in patch {
        let Value::Object(map) = &item else {
            return Err(wrong_type(MAP_TYPE, &item));
        };
        let Some(directive) = map.get(PATCH) else {
            plain.push(item);
            continue;
        };
        match directive.as_str() {
            Some("delete") => {
                let value = map.get(key).ok_or_else(|| no_merge_key(map, key))?;
                original.retain(|e| e.as_object().and_then(|e| e.get(key)) != Some(value));
            }
            // Keep going: later `$patch` elements are still dropped from the list.
            Some("replace") => replace = true,
            Some("merge") => {
                return Err(failed(
                    MergeFailure::MergeDirectiveInList,
                    "merging lists cannot yet be specified in the patch".to_owned(),
                ));
            }
            _ => return Err(unknown_patch_type(directive, map)),
        }
    }
    Ok(if replace {
        (plain, Vec::new())
    } else {
        (original, plain)
    })
}

/// Merges each patch element into the original element with the same merge key value, or appends it
/// (upstream's `mergeSliceWithoutSpecialElements`).
fn merge_by_key<S: PatchSchema>(
    mut original: Vec<Value>,
    patch: &[Value],
    key: &str,
    schema: Option<&S>,
) -> Result<Vec<Value>> {
    for item in patch {
        let Value::Object(map) = item else {
            return Err(wrong_type(MAP_TYPE, item));
        };
        let value = map.get(key).ok_or_else(|| no_merge_key(map, key))?;
        let mut found = None;
        for (i, e) in original.iter().enumerate() {
            let Value::Object(e) = e else {
                return Err(failed(
                    MergeFailure::WrongType,
                    format!("value for key {i} is not a map"),
                ));
            };
            if e.get(key) == Some(value) {
                found = Some(i);
                break;
            }
        }
        match found.and_then(|i| original.get_mut(i)) {
            Some(Value::Object(current)) => {
                *current = merge_map(std::mem::take(current), map.clone(), schema)?;
            }
            _ => original.push(item.clone()),
        }
    }
    Ok(original)
}
