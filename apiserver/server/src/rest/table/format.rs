//! The formatting helpers upstream's printers share: reading fields out of the JSON object,
//! `duration.HumanDuration`, `translateTimestampSince`, label and selector strings, container
//! lists and the "a,b,c + N more..." lists.

use std::{collections::BTreeSet, time::SystemTime};

use serde_json::{Map, Value};

// === reading the object ===

/// The value at `path`, if every step exists.
pub(super) fn at<'a>(value: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter()
        .try_fold(value, |v, key| v.get(key))
        .filter(|v| !v.is_null())
}

/// The string at `path`, `""` when absent (Go's zero value).
pub(super) fn text<'a>(value: &'a Value, path: &[&str]) -> &'a str {
    at(value, path).and_then(Value::as_str).unwrap_or("")
}

/// The string at `path`, if present.
pub(super) fn opt_text<'a>(value: &'a Value, path: &[&str]) -> Option<&'a str> {
    at(value, path).and_then(Value::as_str)
}

/// The integer at `path`, 0 when absent.
pub(super) fn int(value: &Value, path: &[&str]) -> i64 {
    opt_int(value, path).unwrap_or(0)
}

/// The integer at `path`, if present.
pub(super) fn opt_int(value: &Value, path: &[&str]) -> Option<i64> {
    at(value, path).and_then(Value::as_i64)
}

/// The boolean at `path`, if present.
pub(super) fn opt_bool(value: &Value, path: &[&str]) -> Option<bool> {
    at(value, path).and_then(Value::as_bool)
}

/// The array at `path`, empty when absent.
pub(super) fn list<'a>(value: &'a Value, path: &[&str]) -> &'a [Value] {
    at(value, path)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// The object at `path`, if present.
pub(super) fn map<'a>(value: &'a Value, path: &[&str]) -> Option<&'a Map<String, Value>> {
    at(value, path).and_then(Value::as_object)
}

/// The number of entries of the map or array at `path`.
pub(super) fn count(value: &Value, path: &[&str]) -> i64 {
    match at(value, path) {
        Some(Value::Object(map)) => map.len() as i64,
        Some(Value::Array(items)) => items.len() as i64,
        _ => 0,
    }
}

/// `metadata.name`.
pub(super) fn name(object: &Value) -> Value {
    Value::from(text(object, &["metadata", "name"]))
}

/// The `Age` cell: `translateTimestampSince(metadata.creationTimestamp)`.
pub(super) fn age(object: &Value, now: SystemTime) -> Value {
    Value::from(since(
        opt_text(object, &["metadata", "creationTimestamp"]),
        now,
    ))
}

/// Whether `metadata.deletionTimestamp` is set.
pub(super) fn deleting(object: &Value) -> bool {
    at(object, &["metadata", "deletionTimestamp"]).is_some()
}

/// A Quantity or IntOrString as upstream's `String()` shows it.
pub(super) fn scalar(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

// === time ===

/// Nanoseconds since the Unix epoch of an RFC 3339 timestamp (`metav1.Time`, `metav1.MicroTime`).
pub(super) fn parse_time(s: &str) -> Option<i128> {
    crate::registry::meta::parse_rfc3339_nanos(s)
}

/// `now` in nanoseconds since the Unix epoch.
pub(super) fn unix_nanos(now: SystemTime) -> i128 {
    match now.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => d.as_nanos() as i128,
        Err(e) => -(e.duration().as_nanos() as i128),
    }
}

/// `translateTimestampSince`: the human duration since `timestamp`, `<unknown>` when unset.
pub(super) fn since(timestamp: Option<&str>, now: SystemTime) -> String {
    match timestamp.and_then(parse_time) {
        Some(t) => human_duration(unix_nanos(now) - t),
        None => "<unknown>".to_owned(),
    }
}

/// `duration.HumanDuration`: about two or three significant figures of a duration in
/// nanoseconds (`45s`, `5m30s`, `3h5m`, `2d5h`, `3y20d`).
pub(super) fn human_duration(nanos: i128) -> String {
    let seconds = nanos / 1_000_000_000;
    if seconds < -1 {
        return "<invalid>".to_owned();
    } else if seconds < 0 {
        return "0s".to_owned();
    } else if seconds < 60 * 2 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        let s = seconds % 60;
        return if s == 0 {
            format!("{minutes}m")
        } else {
            format!("{minutes}m{s}s")
        };
    } else if minutes < 60 * 3 {
        return format!("{minutes}m");
    }
    let hours = minutes / 60;
    if hours < 8 {
        let m = minutes % 60;
        if m == 0 {
            format!("{hours}h")
        } else {
            format!("{hours}h{m}m")
        }
    } else if hours < 48 {
        format!("{hours}h")
    } else if hours < 24 * 8 {
        let h = hours % 24;
        if h == 0 {
            format!("{}d", hours / 24)
        } else {
            format!("{}d{h}h", hours / 24)
        }
    } else if hours < 24 * 365 * 2 {
        format!("{}d", hours / 24)
    } else if hours < 24 * 365 * 8 {
        let days = (hours / 24) % 365;
        if days == 0 {
            format!("{}y", hours / 24 / 365)
        } else {
            format!("{}y{days}d", hours / 24 / 365)
        }
    } else {
        format!("{}y", hours / 24 / 365)
    }
}

// === labels and selectors ===

/// `labels.FormatLabels`: `k=v,k2=v2` sorted by key, `<none>` when empty.
pub(super) fn format_labels(labels: Option<&Value>) -> String {
    let pairs: Vec<String> = labels
        .and_then(Value::as_object)
        .map(|m| {
            let mut pairs: Vec<(&String, &str)> = m
                .iter()
                .map(|(k, v)| (k, v.as_str().unwrap_or("")))
                .collect();
            pairs.sort();
            pairs.into_iter().map(|(k, v)| format!("{k}={v}")).collect()
        })
        .unwrap_or_default();
    if pairs.is_empty() {
        "<none>".to_owned()
    } else {
        pairs.join(",")
    }
}

/// `metav1.LabelSelectorAsSelector(selector).String()`; `Err` for an invalid selector.
pub(super) fn selector_string(selector: Option<&Value>) -> Result<String, ()> {
    let Some(selector) = selector.filter(|s| s.is_object()) else {
        return Ok(String::new());
    };
    let mut requirements: Vec<(String, String)> = Vec::new();
    if let Some(labels) = map(selector, &["matchLabels"]) {
        for (key, value) in labels {
            requirements.push((
                key.clone(),
                format!("{key}={}", value.as_str().unwrap_or("")),
            ));
        }
    }
    for expression in list(selector, &["matchExpressions"]) {
        let key = text(expression, &["key"]);
        let mut values: Vec<&str> = list(expression, &["values"])
            .iter()
            .filter_map(Value::as_str)
            .collect();
        values.sort_unstable();
        let rendered = match text(expression, &["operator"]) {
            "In" if !values.is_empty() => format!("{key} in ({})", values.join(",")),
            "NotIn" if !values.is_empty() => format!("{key} notin ({})", values.join(",")),
            "Exists" if values.is_empty() => key.to_owned(),
            "DoesNotExist" if values.is_empty() => format!("!{key}"),
            _ => return Err(()),
        };
        requirements.push((key.to_owned(), rendered));
    }
    requirements.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(requirements
        .into_iter()
        .map(|(_, r)| r)
        .collect::<Vec<_>>()
        .join(","))
}

/// `metav1.FormatLabelSelector`: the selector string, `<none>` when empty, `<error>` when invalid.
pub(super) fn format_label_selector(selector: Option<&Value>) -> String {
    match selector_string(selector) {
        Ok(s) if s.is_empty() => "<none>".to_owned(),
        Ok(s) => s,
        Err(()) => "<error>".to_owned(),
    }
}

/// The generated Go `String()` of a `*metav1.LabelSelector` (admission policy bindings print it).
pub(super) fn go_label_selector(selector: &Value) -> String {
    let mut labels: Vec<(&String, &str)> = map(selector, &["matchLabels"])
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k, v.as_str().unwrap_or("")))
                .collect()
        })
        .unwrap_or_default();
    labels.sort();
    let labels: String = labels.iter().map(|(k, v)| format!("{k}: {v},")).collect();
    let expressions: String = list(selector, &["matchExpressions"])
        .iter()
        .map(|e| {
            let values: Vec<&str> = list(e, &["values"])
                .iter()
                .filter_map(Value::as_str)
                .collect();
            format!(
                "LabelSelectorRequirement{{Key:{},Operator:{},Values:[{}],}},",
                text(e, &["key"]),
                text(e, &["operator"]),
                values.join(" ")
            )
        })
        .collect();
    format!(
        "&LabelSelector{{MatchLabels:map[string]string{{{labels}}},MatchExpressions:[]LabelSelectorRequirement{{{expressions}}},}}"
    )
}

// === lists ===

/// `layoutContainerCells`: container names and images, comma-separated.
pub(super) fn containers(pod_spec: Option<&Value>) -> (Value, Value) {
    let containers = pod_spec.map(|s| list(s, &["containers"])).unwrap_or(&[]);
    let names: Vec<&str> = containers.iter().map(|c| text(c, &["name"])).collect();
    let images: Vec<&str> = containers.iter().map(|c| text(c, &["image"])).collect();
    (Value::from(names.join(",")), Value::from(images.join(",")))
}

/// `listWithMoreString`: the first `max` items and "+ N more...", `<unset>` when empty.
pub(super) fn list_with_more(items: &[String], max: usize) -> String {
    let shown = items[..items.len().min(max)].join(",");
    if items.len() > max {
        format!("{shown} + {} more...", items.len() - max)
    } else if shown.is_empty() {
        "<unset>".to_owned()
    } else {
        shown
    }
}

/// The load balancer ingress points (IP, else hostname), sorted and de-duplicated. The server
/// always prints wide, so the list is never clipped.
pub(super) fn load_balancer(status: Option<&Value>) -> String {
    let points: BTreeSet<&str> = status
        .map(|s| list(s, &["ingress"]))
        .unwrap_or(&[])
        .iter()
        .filter_map(|i| {
            let ip = text(i, &["ip"]);
            let host = text(i, &["hostname"]);
            if !ip.is_empty() {
                Some(ip)
            } else if !host.is_empty() {
                Some(host)
            } else {
                None
            }
        })
        .collect();
    points.into_iter().collect::<Vec<_>>().join(",")
}

/// `printBoolPtr`: `True`, `False` or `<unset>`.
pub(super) fn bool_ptr(value: Option<bool>) -> Value {
    Value::from(match value {
        Some(true) => "True",
        Some(false) => "False",
        None => "<unset>",
    })
}

/// `s` or `fallback` when empty.
pub(super) fn or<'a>(s: &'a str, fallback: &'a str) -> &'a str {
    if s.is_empty() { fallback } else { s }
}
