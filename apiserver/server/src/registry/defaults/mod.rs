//! Defaulting: the values upstream's versioned types fill in when a field is left unset
//! (`pkg/apis/<group>/v1/defaults.go` plus the generated `zz_generated.defaults.go` walk that
//! applies them to every nested struct). Upstream runs these while decoding a request body, so
//! they apply on create and on update alike, and must be idempotent: running them twice changes
//! nothing.
//!
//! One file per API group: [`core`] owns the pod spec (shared by every workload's pod template),
//! Pods, Services, Secrets, ConfigMaps, Namespaces, volumes and claims; [`apps`] and [`batch`] own
//! the workload controllers; [`other`] the small groups (networking, storage, RBAC, scheduling,
//! discovery). The (group, kind) table that picks a function lives in `registry/strategy.rs`.
//!
//! "Unset" follows Go: an absent or `null` pointer, an empty string, or a zero where upstream
//! tests for zero (probe timings).

pub mod apps;
pub mod batch;
pub mod core;
pub mod other;

use serde_json::{Map, Value, json};

/// The object under `key`, created empty when absent or `null` (`None` when `parent` is not an
/// object or `key` holds something else).
pub(crate) fn child<'a>(parent: &'a mut Value, key: &str) -> Option<&'a mut Map<String, Value>> {
    let map = parent.as_object_mut()?;
    let entry = map.entry(key).or_insert(Value::Null);
    if entry.is_null() {
        *entry = Value::Object(Map::new());
    }
    entry.as_object_mut()
}

/// The object under `key` if it is present and an object.
pub(crate) fn existing<'a>(parent: &'a mut Value, key: &str) -> Option<&'a mut Value> {
    parent.get_mut(key).filter(|v| v.is_object())
}

/// The items of the list under `key`, if any.
pub(crate) fn items<'a>(parent: &'a mut Value, key: &str) -> impl Iterator<Item = &'a mut Value> {
    parent
        .get_mut(key)
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
}

/// Whether a value counts as unset: absent, `null` or `""`.
pub(crate) fn unset(value: Option<&Value>) -> bool {
    matches!(value, None | Some(Value::Null)) || value.and_then(Value::as_str) == Some("")
}

/// Set `map[key]` to `value` when it is unset.
pub(crate) fn or_set(map: &mut Map<String, Value>, key: &str, value: Value) {
    if unset(map.get(key)) {
        map.insert(key.to_owned(), value);
    }
}

/// Set `object[key]` to `value` when it is unset (no-op when `object` is not an object).
pub(crate) fn or_set_in(object: &mut Value, key: &str, value: Value) {
    if let Some(map) = object.as_object_mut() {
        or_set(map, key, value);
    }
}

/// Set `map[key]` to `value` when it is absent, `null` or the number zero (upstream's non-pointer
/// integers, where zero means unset).
pub(crate) fn or_set_nonzero(map: &mut Map<String, Value>, key: &str, value: i64) {
    let current = map.get(key);
    if unset(current) || current.and_then(Value::as_i64) == Some(0) {
        map.insert(key.to_owned(), json!(value));
    }
}

/// A string field of an object, `""` when absent.
pub(crate) fn str_of<'a>(object: &'a Value, key: &str) -> &'a str {
    object.get(key).and_then(Value::as_str).unwrap_or_default()
}

/// Whether an object map has entries (`false` for absent, `null` or `{}`).
pub(crate) fn non_empty_map(value: Option<&Value>) -> bool {
    value
        .and_then(Value::as_object)
        .is_some_and(|map| !map.is_empty())
}

#[cfg(test)]
pub(crate) mod testing {
    use serde_json::Value;

    /// Run `default` on `input` and compare with `expected`, twice (defaulting is idempotent).
    pub fn check(name: &str, default: fn(&mut Value), input: Value, expected: Value) {
        let mut value = input;
        default(&mut value);
        assert_eq!(
            value,
            expected,
            "case {name}: got {}",
            serde_json::to_string_pretty(&value).unwrap_or_default()
        );
        default(&mut value);
        assert_eq!(value, expected, "case {name}: not idempotent");
    }
}
