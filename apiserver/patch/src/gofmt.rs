//! Go's `fmt` rendering of decoded JSON values, for error messages that upstream builds with `%v` and
//! `%s` (`map: map[image:nginx] does not contain declared merge key: name`).
//!
//! Upstream decodes patches with integers preserved (`int64`) and everything else as `float64`,
//! `string`, `bool`, `map[string]interface{}` or `[]interface{}`; this module renders those the way
//! `fmt` does: maps with sorted keys, slices space-separated, floats in `%g` style.

use serde_json::{Number, Value};

/// `fmt.Sprintf("%v", value)`.
#[cfg(test)]
pub(crate) fn v(value: &Value) -> String {
    let mut out = String::new();
    write_v(&mut out, value);
    out
}

/// `fmt.Sprintf("%v", map)`.
pub(crate) fn v_map(map: &serde_json::Map<String, Value>) -> String {
    let mut out = String::new();
    write_map(&mut out, map, write_v);
    out
}

/// `fmt.Sprintf("%s", value)`: strings bare, other scalars as `%!s(int64=1)`.
pub(crate) fn s(value: &Value) -> String {
    let mut out = String::new();
    write_s(&mut out, value);
    out
}

/// `fmt.Sprintf("%v", slice)` for a `[]interface{}`.
pub(crate) fn v_slice(items: &[Value]) -> String {
    let mut out = String::new();
    write_seq(&mut out, items, write_v);
    out
}

/// `fmt.Sprintf("%v", slices)` for a `[][]interface{}`.
pub(crate) fn v_lists(lists: &[&[Value]]) -> String {
    let mut out = String::from("[");
    for (i, list) in lists.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        write_seq(&mut out, list, write_v);
    }
    out.push(']');
    out
}

/// `reflect.TypeOf(value).String()` (`%s` of a nil type for `null`).
pub(crate) fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "%!s(<nil>)",
        Value::Bool(_) => "bool",
        Value::Number(n) if is_int(n) => "int64",
        Value::Number(_) => "float64",
        Value::String(_) => "string",
        Value::Array(_) => "[]interface {}",
        Value::Object(_) => "map[string]interface {}",
    }
}

/// Whether upstream holds this number as an `int64` (else a `float64`).
pub(crate) fn is_int(n: &Number) -> bool {
    n.is_i64()
}

fn write_v(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("<nil>"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&number(n)),
        Value::String(s) => out.push_str(s),
        Value::Array(items) => write_seq(out, items, write_v),
        Value::Object(map) => write_map(out, map, write_v),
    }
}

fn write_s(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("%!s(<nil>)"),
        Value::Bool(_) | Value::Number(_) => {
            out.push_str("%!s(");
            out.push_str(type_name(value));
            out.push('=');
            write_v(out, value);
            out.push(')');
        }
        Value::String(s) => out.push_str(s),
        Value::Array(items) => write_seq(out, items, write_s),
        Value::Object(map) => write_map(out, map, write_s),
    }
}

fn write_seq(out: &mut String, items: &[Value], each: fn(&mut String, &Value)) {
    out.push('[');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        each(out, item);
    }
    out.push(']');
}

fn write_map(
    out: &mut String,
    map: &serde_json::Map<String, Value>,
    each: fn(&mut String, &Value),
) {
    // fmt sorts map keys; serde_json's map iterates in key order already, but do not rely on the
    // crate's feature set.
    let mut entries: Vec<_> = map.iter().collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    out.push_str("map[");
    for (i, (key, value)) in entries.into_iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(key);
        out.push(':');
        each(out, value);
    }
    out.push(']');
}

/// An `int64` in decimal, a `float64` as `%v` does: the shortest representation, in exponent form
/// (`1e+06`) when the decimal exponent is below -4 or at least 6 (`strconv`'s rule for shortest `%g`).
fn number(n: &Number) -> String {
    if let Some(i) = n.as_i64() {
        return i.to_string();
    }
    let Some(f) = n.as_f64() else {
        return n.to_string();
    };
    if !f.is_finite() {
        return n.to_string();
    }
    // `{:e}` gives the shortest round-trip digits: "1.5e6", "-2e-7", "0e0".
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if f != 0.0 && !(-4..6).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.unsigned_abs())
    } else {
        format!("{f}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn renders_like_go_fmt() {
        assert_eq!(
            v(&json!({"image": "nginx", "ports": [1, 2], "b": null, "a": true})),
            "map[a:true b:<nil> image:nginx ports:[1 2]]"
        );
        assert_eq!(v(&json!(1.5)), "1.5");
        assert_eq!(v(&json!(1_000_000.0)), "1e+06");
        assert_eq!(v(&json!(123_456.0)), "123456");
        assert_eq!(v(&json!(0.00001)), "1e-05");
        assert_eq!(v(&json!(0.0001)), "0.0001");
        assert_eq!(v(&json!(-2.5e-7)), "-2.5e-07");
        assert_eq!(s(&json!("merge")), "merge");
        assert_eq!(s(&json!(1)), "%!s(int64=1)");
        assert_eq!(s(&json!(true)), "%!s(bool=true)");
        assert_eq!(s(&json!(null)), "%!s(<nil>)");
        assert_eq!(
            v_lists(&[&[json!(1)], &[json!("a"), json!("b")]]),
            "[[1] [a b]]"
        );
        assert_eq!(type_name(&json!([])), "[]interface {}");
        assert_eq!(type_name(&json!(2.5)), "float64");
    }
}
