//! Kubernetes JSON to protobuf bytes, driven by the schema table. This module owns the writing side:
//! fields in tag order as Go's generated marshallers write them, map entries sorted by key, and the
//! special JSON forms turned back into their messages. JSON fields the table does not know are dropped
//! (upstream's decoder drops them too); `null` means "not set".

use base64::Engine as _;
use serde_json::Value;

use crate::decode::{ZERO_TIME_SECONDS, ty_name};
use crate::error::{Error, Path, Result};
use crate::schema::{Label, Message, Special, Ty, message};
use crate::time::{parse_duration, parse_rfc3339};
use crate::wire::Writer;

/// Encodes `value` as the body of `msg` into `w`.
pub(crate) fn encode_message(
    msg: &Message,
    value: &Value,
    w: &mut Writer,
    path: &mut Path,
) -> Result<()> {
    path.nested(|path| encode_fields(msg, value, w, path))
}

fn encode_fields(msg: &Message, value: &Value, w: &mut Writer, path: &mut Path) -> Result<()> {
    if msg.special != Special::None {
        return encode_special(msg, value, w, path);
    }
    let Value::Object(obj) = value else {
        return Err(path.type_error("an object", json_kind(value)));
    };
    for field in msg.fields {
        if field.label == Label::Inline {
            // Go always writes an embedded struct; its fields live in this same JSON object.
            let Ty::Msg(id) = field.ty else { continue };
            w.message_field(field.tag, |w| encode_message(message(id), value, w, path))?;
            continue;
        }
        let Some(v) = obj.get(field.json) else {
            continue;
        };
        if v.is_null() {
            // `"creationTimestamp": null` is how Go writes a zero time, and Go's marshaller writes that
            // as an empty message, which reads back as null; any other null means "not set".
            if let (Label::Single, Ty::Msg(id)) = (field.label, field.ty)
                && matches!(message(id).special, Special::Time | Special::MicroTime)
            {
                w.bytes_field(field.tag, b"");
            }
            continue;
        }
        path.field(field.json, |path| match field.label {
            Label::Single | Label::Inline => encode_value(w, field.tag, field.ty, v, path),
            Label::Repeated => {
                let Value::Array(items) = v else {
                    return Err(path.type_error("an array", json_kind(v)));
                };
                for (i, item) in items.iter().enumerate() {
                    path.index(i, |path| encode_value(w, field.tag, field.ty, item, path))?;
                }
                Ok(())
            }
            Label::Map => {
                let Value::Object(entries) = v else {
                    return Err(path.type_error("an object", json_kind(v)));
                };
                // Go's generated marshallers sort map keys; do the same whatever order serde_json keeps.
                let mut keys: Vec<&String> = entries.keys().collect();
                keys.sort();
                for key in keys {
                    let Some(item) = entries.get(key) else {
                        continue;
                    };
                    path.index(key, |path| {
                        w.message_field(field.tag, |w| {
                            w.bytes_field(1, key.as_bytes());
                            encode_value(w, 2, field.ty, item, path)
                        })
                    })?;
                }
                Ok(())
            }
        })?;
    }
    Ok(())
}

/// Writes one value of type `ty` as field `tag`. `null` (inside arrays and maps) writes the zero value.
fn encode_value(w: &mut Writer, tag: u32, ty: Ty, v: &Value, path: &mut Path) -> Result<()> {
    match ty {
        Ty::String => match v {
            Value::String(s) => w.bytes_field(tag, s.as_bytes()),
            Value::Null => w.bytes_field(tag, b""),
            _ => return Err(path.type_error(ty_name(ty), json_kind(v))),
        },
        Ty::Int32 => {
            let n = integer(v, path, ty)?;
            let n = i32::try_from(n)
                .map_err(|_| path.value_error(format!("{n} does not fit in an int32")))?;
            w.varint_field(tag, i64::from(n) as u64);
        }
        Ty::Int64 => {
            let n = integer(v, path, ty)?;
            w.varint_field(tag, n as u64);
        }
        Ty::Bool => match v {
            Value::Bool(b) => w.varint_field(tag, u64::from(*b)),
            Value::Null => w.varint_field(tag, 0),
            _ => return Err(path.type_error(ty_name(ty), json_kind(v))),
        },
        Ty::Double => match v {
            Value::Number(n) => w.fixed64_field(tag, n.as_f64().unwrap_or_default().to_bits()),
            Value::Null => w.fixed64_field(tag, 0),
            _ => return Err(path.type_error(ty_name(ty), json_kind(v))),
        },
        Ty::Bytes => match v {
            Value::String(s) => {
                let b = base64::engine::general_purpose::STANDARD
                    .decode(s)
                    .map_err(|e| path.value_error(format!("invalid base64: {e}")))?;
                w.bytes_field(tag, &b);
            }
            Value::Null => w.bytes_field(tag, b""),
            _ => return Err(path.type_error("a base64 string", json_kind(v))),
        },
        Ty::Msg(id) => {
            let msg = message(id);
            if v.is_null() {
                w.bytes_field(tag, b"");
            } else {
                w.message_field(tag, |w| encode_message(msg, v, w, path))?;
            }
        }
    }
    Ok(())
}

/// A JSON number as an integer; integral floats (`3.0`) are accepted, fractions are not.
fn integer(v: &Value, path: &Path, ty: Ty) -> Result<i64> {
    match v {
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                return Ok(i);
            }
            match n.as_f64() {
                Some(f) if f.fract() == 0.0 && f >= i64::MIN as f64 && f <= i64::MAX as f64 => {
                    Ok(f as i64)
                }
                _ => Err(path.value_error(format!(
                    "{n} is not an integer that fits in {}",
                    ty_name(ty)
                ))),
            }
        }
        Value::Null => Ok(0),
        _ => Err(path.type_error(ty_name(ty), json_kind(v))),
    }
}

fn sub_message(msg: &Message, tag: u32) -> Ty {
    msg.field_by_tag(tag).map(|f| f.ty).unwrap_or(Ty::Bytes)
}

fn encode_special(msg: &Message, v: &Value, w: &mut Writer, path: &mut Path) -> Result<()> {
    match msg.special {
        Special::None => encode_fields(msg, v, w, path),
        Special::Time | Special::MicroTime => {
            let Value::String(s) = v else {
                return Err(path.type_error("an RFC 3339 time string", json_kind(v)));
            };
            let (seconds, nanos) = parse_rfc3339(s)
                .ok_or_else(|| path.value_error(format!("{s:?} is not an RFC 3339 time")))?;
            // Go writes the zero time as an empty message.
            if seconds != ZERO_TIME_SECONDS || nanos != 0 {
                w.varint_field(1, seconds as u64);
                w.varint_field(2, u64::from(nanos));
            }
            Ok(())
        }
        Special::Duration => {
            let Value::String(s) = v else {
                return Err(path.type_error("a duration string", json_kind(v)));
            };
            let nanos = parse_duration(s)
                .ok_or_else(|| path.value_error(format!("{s:?} is not a duration")))?;
            w.varint_field(1, nanos as u64);
            Ok(())
        }
        Special::Quantity => {
            let s = match v {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                _ => return Err(path.type_error("a quantity string", json_kind(v))),
            };
            w.bytes_field(1, s.as_bytes());
            Ok(())
        }
        Special::IntOrString => {
            // Go writes all three fields.
            match v {
                Value::String(s) => {
                    w.varint_field(1, 1);
                    w.varint_field(2, 0);
                    w.bytes_field(3, s.as_bytes());
                }
                Value::Number(_) => {
                    let n = integer(v, path, Ty::Int32)?;
                    let n = i32::try_from(n)
                        .map_err(|_| path.value_error(format!("{n} does not fit in an int32")))?;
                    w.varint_field(1, 0);
                    w.varint_field(2, i64::from(n) as u64);
                    w.bytes_field(3, b"");
                }
                _ => return Err(path.type_error("an integer or a string", json_kind(v))),
            }
            Ok(())
        }
        Special::RawExtension | Special::FieldsV1 | Special::Json => {
            let raw = serde_json::to_vec(v).map_err(|source| Error::EmbeddedJson {
                path: path.get(),
                source,
            })?;
            w.bytes_field(1, &raw);
            Ok(())
        }
        Special::JsonSchemaPropsOrBool => match v {
            Value::Bool(b) => {
                w.varint_field(1, u64::from(*b));
                Ok(())
            }
            Value::Object(_) => {
                w.varint_field(1, 1);
                encode_value(w, 2, sub_message(msg, 2), v, path)
            }
            _ => Err(path.type_error("a bool or a schema object", json_kind(v))),
        },
        Special::JsonSchemaPropsOrArray => match v {
            Value::Array(items) => {
                let ty = sub_message(msg, 2);
                for (i, item) in items.iter().enumerate() {
                    path.index(i, |path| encode_value(w, 2, ty, item, path))?;
                }
                Ok(())
            }
            Value::Object(_) => encode_value(w, 1, sub_message(msg, 1), v, path),
            _ => Err(path.type_error("a schema object or an array of them", json_kind(v))),
        },
        Special::JsonSchemaPropsOrStringArray => match v {
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    path.index(i, |path| encode_value(w, 2, Ty::String, item, path))?;
                }
                Ok(())
            }
            Value::Object(_) => encode_value(w, 1, sub_message(msg, 1), v, path),
            _ => Err(path.type_error("a schema object or an array of strings", json_kind(v))),
        },
        Special::StringArray => match v {
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    path.index(i, |path| encode_value(w, 1, Ty::String, item, path))?;
                }
                Ok(())
            }
            _ => Err(path.type_error("an array of strings", json_kind(v))),
        },
    }
}

pub(crate) fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a bool",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
