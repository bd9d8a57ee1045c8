//! events.k8s.io/v1 `Event` served from core/v1 `Event` storage.
//!
//! Upstream's `Convert_v1_Event_To_core_Event` and back (`pkg/apis/events/v1/conversion.go`) is a
//! rename of seven fields ([`RENAMES`]); every other field has the same name and shape. Go writes
//! the events.k8s.io/v1 type's non-pointer structs even when zero, so a core Event that lacks
//! them is served with `regarding: {}`, `deprecatedSource: {}`, and `eventTime`,
//! `deprecatedFirstTimestamp`, `deprecatedLastTimestamp` as `null`: a core Event created without
//! `eventTime` reads back through events.k8s.io/v1 with `"eventTime": null`, exactly as upstream
//! (clients that insist on the field, like the Python client's `EventsV1Event`, fail the same way
//! they do against kube-apiserver).
//!
//! Validation is upstream's `pkg/apis/core/validation/events.go` for a request to
//! events.k8s.io/v1: the legacy rules every Event passes ([`validate`]), plus the strict rules of
//! the new API on create ([`validate_create_v1`]) and update ([`validate_update_v1`]). Field paths
//! are the internal (core) names, as upstream reports them.

use serde_json::{Map, Value};
use tugboat_machinery::{
    names,
    status::{FieldError, FieldPath},
};

use crate::registry::validation::{FIELD_IMMUTABLE, bad_value, str_at};

/// core/v1 field name, events.k8s.io/v1 field name.
const RENAMES: [(&str, &str); 7] = [
    ("involvedObject", "regarding"),
    ("message", "note"),
    ("source", "deprecatedSource"),
    ("firstTimestamp", "deprecatedFirstTimestamp"),
    ("lastTimestamp", "deprecatedLastTimestamp"),
    ("count", "deprecatedCount"),
    ("reportingComponent", "reportingController"),
];

/// events.k8s.io/v1 fields Go writes even when zero, and the zero it writes.
fn always_written() -> [(&'static str, Value); 5] {
    [
        ("regarding", Value::Object(Map::new())),
        ("deprecatedSource", Value::Object(Map::new())),
        ("eventTime", Value::Null),
        ("deprecatedFirstTimestamp", Value::Null),
        ("deprecatedLastTimestamp", Value::Null),
    ]
}

/// Whether a value is one Go's `omitempty` leaves out (or JSON's absent).
fn omitted(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Number(n) => n.as_i64() == Some(0),
        _ => false,
    }
}

/// Rename the top-level fields of `object` by `rename`, drop `apiVersion`/`kind` (set anew) and
/// what Go would omit.
fn renamed(
    object: Value,
    rename: impl Fn(&str) -> Option<&'static str>,
    api_version: &str,
) -> Result<Map<String, Value>, String> {
    let Value::Object(fields) = object else {
        return Err("the object is not a JSON object".to_owned());
    };
    let mut out = Map::with_capacity(fields.len() + 4);
    for (key, value) in fields {
        if key == "apiVersion" || key == "kind" || omitted(&value) {
            continue;
        }
        match rename(&key) {
            Some(new) => out.insert(new.to_owned(), value),
            None => out.insert(key, value),
        };
    }
    out.insert("apiVersion".into(), Value::from(api_version));
    out.insert("kind".into(), Value::from("Event"));
    Ok(out)
}

/// A core/v1 Event as events.k8s.io/v1.
pub(super) fn to_events_v1(core: Value) -> Result<Value, String> {
    let mut out = renamed(
        core,
        |key| RENAMES.iter().find(|(c, _)| *c == key).map(|(_, e)| *e),
        "events.k8s.io/v1",
    )?;
    for (key, zero) in always_written() {
        out.entry(key).or_insert(zero);
    }
    Ok(Value::Object(out))
}

/// An events.k8s.io/v1 Event as core/v1.
pub(super) fn to_core_v1(event: Value) -> Result<Value, String> {
    renamed(
        event,
        |key| RENAMES.iter().find(|(_, e)| *e == key).map(|(c, _)| *c),
        "v1",
    )
    .map(Value::Object)
}

/// The core/v1 field-selector label of an events.k8s.io/v1 label (upstream's field label
/// conversion for `events.k8s.io/v1, Kind=Event`); `None` for a label it does not support.
pub(super) fn field_label(label: &str) -> Option<&'static str> {
    Some(match label {
        "metadata.name" => "metadata.name",
        "metadata.namespace" => "metadata.namespace",
        "regarding.kind" => "involvedObject.kind",
        "regarding.namespace" => "involvedObject.namespace",
        "regarding.name" => "involvedObject.name",
        "regarding.uid" => "involvedObject.uid",
        "regarding.apiVersion" => "involvedObject.apiVersion",
        "regarding.resourceVersion" => "involvedObject.resourceVersion",
        "regarding.fieldPath" => "involvedObject.fieldPath",
        "reason" => "reason",
        "reportingController" => "reportingComponent",
        "source" => "source",
        "type" => "type",
        _ => return None,
    })
}

/// Whether a field is unset the way Go sees a zero value: absent, `null`, `""`, `0` or `{}`.
fn is_zero(value: Option<&Value>) -> bool {
    match value {
        None => true,
        Some(Value::Object(map)) => map.is_empty(),
        Some(other) => omitted(other),
    }
}

const REPORTING_INSTANCE_LIMIT: usize = 128;
const ACTION_LIMIT: usize = 128;
const REASON_LIMIT: usize = 128;
const NOTE_LIMIT: usize = 1024;

/// Upstream's `legacyValidateEvent`, which every Event passes whatever its request version: an
/// old-style Event (no `eventTime`) is about an object in its own namespace; a new-style one
/// names its controller, instance, action and reason.
pub(super) fn validate(event: &Value) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let namespace = event
        .get("metadata")
        .map(|m| str_at(m, "namespace"))
        .unwrap_or_default();
    let involved = event.get("involvedObject").unwrap_or(&Value::Null);
    let involved_namespace = str_at(involved, "namespace");
    let mismatch = || {
        FieldError::invalid(
            &FieldPath::new("involvedObject").child("namespace"),
            involved_namespace,
            "does not match event.namespace",
        )
    };
    if is_zero(event.get("eventTime")) {
        let matches = if involved_namespace.is_empty() {
            // Old clients put such events in "default".
            namespace.is_empty() || namespace == "default"
        } else {
            namespace == involved_namespace
        };
        if !matches {
            errors.push(mismatch());
        }
    } else {
        if involved_namespace.is_empty() && namespace != "default" && namespace != "kube-system" {
            errors.push(mismatch());
        }
        let controller = str_at(event, "reportingComponent");
        let path = FieldPath::new("reportingController");
        if controller.is_empty() {
            errors.push(FieldError::required(&path, ""));
        }
        errors.extend(
            names::is_qualified_name(controller)
                .iter()
                .map(|m| FieldError::invalid(&path, controller, m)),
        );
        for (field, limit) in [
            ("reportingInstance", REPORTING_INSTANCE_LIMIT),
            ("action", ACTION_LIMIT),
            ("reason", REASON_LIMIT),
        ] {
            let value = str_at(event, field);
            let path = FieldPath::new(field);
            if value.is_empty() {
                errors.push(FieldError::required(&path, ""));
            }
            if value.len() > limit {
                errors.push(FieldError::invalid(
                    &path,
                    "",
                    &format!("can have at most {limit} characters"),
                ));
            }
        }
        if str_at(event, "message").len() > NOTE_LIMIT {
            errors.push(FieldError::invalid(
                &FieldPath::new("message"),
                "",
                &format!("can have at most {NOTE_LIMIT} characters"),
            ));
        }
    }
    errors.extend(
        names::is_dns1123_subdomain(namespace)
            .iter()
            .map(|m| FieldError::invalid(&FieldPath::new("namespace"), namespace, m)),
    );
    errors
}

/// Upstream's `validateV1EventSeries`.
fn validate_series(event: &Value) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let Some(series) = event.get("series").filter(|s| !s.is_null()) else {
        return errors;
    };
    if series.get("count").and_then(Value::as_i64).unwrap_or(0) < 2 {
        errors.push(FieldError::invalid(
            &FieldPath::new("series.count"),
            "",
            "should be at least 2",
        ));
    }
    if is_zero(series.get("lastObservedTime")) {
        errors.push(FieldError::required(
            &FieldPath::new("series.lastObservedTime"),
            "",
        ));
    }
    errors
}

/// The strict rules of a create through events.k8s.io/v1 (`ValidateEventCreate`): an
/// `eventTime`, a `Normal` or `Warning` type, a well-formed series, and none of the deprecated
/// core fields.
pub(super) fn validate_create_v1(event: &Value) -> Vec<FieldError> {
    let mut errors = validate_series(event);
    if is_zero(event.get("eventTime")) {
        errors.push(FieldError::required(&FieldPath::new("eventTime"), ""));
    }
    let kind = str_at(event, "type");
    if kind != "Normal" && kind != "Warning" {
        errors.push(FieldError::invalid(
            &FieldPath::new("type"),
            "",
            &format!("has invalid value: {kind}"),
        ));
    }
    for field in ["firstTimestamp", "lastTimestamp", "count"] {
        if !is_zero(event.get(field)) {
            errors.push(FieldError::invalid(
                &FieldPath::new(field),
                "",
                "needs to be unset",
            ));
        }
    }
    let source = event.get("source").unwrap_or(&Value::Null);
    if !str_at(source, "component").is_empty() || !str_at(source, "host").is_empty() {
        errors.push(FieldError::invalid(
            &FieldPath::new("source"),
            "",
            "needs to be unset",
        ));
    }
    errors
}

/// Fields an update through events.k8s.io/v1 may not change, in upstream's order
/// (`ValidateEventUpdate`; `reason` is checked twice there, and reported twice).
const IMMUTABLE: [&str; 14] = [
    "involvedObject",
    "reason",
    "message",
    "source",
    "firstTimestamp",
    "lastTimestamp",
    "count",
    "reason",
    "type",
    "eventTime",
    "action",
    "related",
    "reportingComponent",
    "reportingInstance",
];

/// The strict rules of an update through events.k8s.io/v1: a changed series is re-validated and
/// everything but the series (and metadata) is immutable.
pub(super) fn validate_update_v1(new: &Value, old: &Value) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if new.get("series") != old.get("series") {
        errors.extend(validate_series(new));
    }
    for field in IMMUTABLE {
        let (a, b) = (new.get(field), old.get(field));
        if (is_zero(a) && is_zero(b)) || a == b {
            continue;
        }
        // Upstream names the field by its internal (Go) name: `reportingController`.
        let path = match field {
            "reportingComponent" => "reportingController",
            other => other,
        };
        errors.push(FieldError::invalid(
            &FieldPath::new(path),
            bad_value(a),
            FIELD_IMMUTABLE,
        ));
    }
    errors
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::registry::validation::rendered;

    fn core_event() -> Value {
        json!({
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": "e", "namespace": "d", "resourceVersion": "7"},
            "involvedObject": {"kind": "Pod", "name": "p", "namespace": "d"},
            "reason": "Started", "message": "Started container", "type": "Normal",
            "source": {"component": "kubelet", "host": "node-1"},
            "firstTimestamp": "2025-01-01T00:00:00Z", "lastTimestamp": "2025-01-01T00:01:00Z",
            "count": 3, "reportingComponent": "kubelet", "reportingInstance": "node-1",
            "eventTime": "2025-01-01T00:00:00.000001Z", "action": "Start",
            "series": {"count": 2, "lastObservedTime": "2025-01-01T00:01:00.000001Z"},
            "related": {"kind": "Node", "name": "node-1"},
        })
    }

    #[test]
    fn every_field_maps_both_ways() {
        let events = to_events_v1(core_event()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            events,
            json!({
                "apiVersion": "events.k8s.io/v1", "kind": "Event",
                "metadata": {"name": "e", "namespace": "d", "resourceVersion": "7"},
                "regarding": {"kind": "Pod", "name": "p", "namespace": "d"},
                "reason": "Started", "note": "Started container", "type": "Normal",
                "deprecatedSource": {"component": "kubelet", "host": "node-1"},
                "deprecatedFirstTimestamp": "2025-01-01T00:00:00Z",
                "deprecatedLastTimestamp": "2025-01-01T00:01:00Z",
                "deprecatedCount": 3, "reportingController": "kubelet", "reportingInstance": "node-1",
                "eventTime": "2025-01-01T00:00:00.000001Z", "action": "Start",
                "series": {"count": 2, "lastObservedTime": "2025-01-01T00:01:00.000001Z"},
                "related": {"kind": "Node", "name": "node-1"},
            })
        );
        assert_eq!(
            to_core_v1(events).unwrap_or_else(|e| panic!("{e}")),
            core_event()
        );
    }

    #[test]
    fn an_old_style_event_reads_with_go_zero_values() {
        let core = json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": "e"},
            "involvedObject": {"kind": "Pod", "name": "p"}, "message": "m", "count": 0, "reason": ""});
        let events = to_events_v1(core).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            events,
            json!({"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "e"},
                "regarding": {"kind": "Pod", "name": "p"}, "note": "m", "deprecatedSource": {},
                "eventTime": null, "deprecatedFirstTimestamp": null, "deprecatedLastTimestamp": null})
        );
        // Nulls are dropped on the way in: storage holds no `null`s.
        let back = to_core_v1(events).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            back,
            json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": "e"},
                "involvedObject": {"kind": "Pod", "name": "p"}, "message": "m", "source": {}})
        );
    }

    #[test]
    fn field_labels() {
        assert_eq!(field_label("regarding.name"), Some("involvedObject.name"));
        assert_eq!(
            field_label("reportingController"),
            Some("reportingComponent")
        );
        assert_eq!(field_label("type"), Some("type"));
        assert_eq!(field_label("involvedObject.name"), None);
        assert_eq!(field_label("note"), None);
    }

    fn new_event() -> Value {
        json!({"metadata": {"name": "e", "namespace": "d"}, "eventTime": "2025-01-01T00:00:00.000000Z",
            "involvedObject": {"kind": "Pod", "name": "p", "namespace": "d"},
            "reportingComponent": "example.com/test", "reportingInstance": "i", "action": "Do",
            "reason": "Test", "type": "Normal"})
    }

    #[test]
    fn legacy_rules() {
        assert!(rendered(&validate(&new_event())).is_empty());
        let old_style = json!({"metadata": {"namespace": "d"}, "involvedObject": {"kind": "Pod"}});
        assert_eq!(
            rendered(&validate(&old_style)),
            vec!["involvedObject.namespace: Invalid value: \"\": does not match event.namespace"]
        );
        let in_default = json!({"metadata": {"namespace": "default"}, "involvedObject": {}});
        assert!(rendered(&validate(&in_default)).is_empty());
        let bare = json!({"metadata": {"namespace": "default"}, "eventTime": "2025-01-01T00:00:00.000000Z",
            "involvedObject": {}});
        // As upstream, an empty controller is also not a qualified name.
        let errors = rendered(&validate(&bare));
        assert_eq!(errors[0], "reportingController: Required value");
        assert!(
            errors[1].starts_with(
                "reportingController: Invalid value: \"\": name part must be non-empty"
            )
        );
        assert_eq!(
            errors[3..],
            [
                "reportingInstance: Required value",
                "action: Required value",
                "reason: Required value",
            ]
        );
    }

    #[test]
    fn strict_create_rules() {
        assert!(rendered(&validate_create_v1(&new_event())).is_empty());
        let mut event = new_event();
        let root = event
            .as_object_mut()
            .unwrap_or_else(|| panic!("not an object"));
        root.remove("eventTime");
        root.insert("type".into(), json!("Odd"));
        root.insert("count".into(), json!(2));
        root.insert("source".into(), json!({"component": "c"}));
        root.insert("series".into(), json!({"count": 1}));
        assert_eq!(
            rendered(&validate_create_v1(&event)),
            vec![
                "series.count: Invalid value: \"\": should be at least 2",
                "series.lastObservedTime: Required value",
                "eventTime: Required value",
                "type: Invalid value: \"\": has invalid value: Odd",
                "count: Invalid value: \"\": needs to be unset",
                "source: Invalid value: \"\": needs to be unset",
            ]
        );
    }

    #[test]
    fn strict_update_rules() {
        let old = new_event();
        assert!(validate_update_v1(&old, &old).is_empty());
        let mut new = old.clone();
        new["message"] = json!("changed");
        new["reportingComponent"] = json!("other.example.com/x");
        new["series"] = json!({"count": 2, "lastObservedTime": "2025-01-01T00:00:01.000000Z"});
        assert_eq!(
            rendered(&validate_update_v1(&new, &old)),
            vec![
                "message: Invalid value: \"changed\": field is immutable",
                "reportingController: Invalid value: \"other.example.com/x\": field is immutable",
            ]
        );
    }
}
