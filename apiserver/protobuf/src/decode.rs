//! Protobuf bytes to Kubernetes JSON, driven by the schema table. This module owns the reading side:
//! field by field as the table says, Kubernetes' special JSON forms (times, quantities, int-or-string,
//! embedded JSON, the JSONSchemaProps unions), and what a Go client's marshaller writes that Go's
//! JSON would leave out (`omit_empty`). Fields missing from the table are skipped, as upstream does.

use base64::Engine as _;
use serde_json::{Map, Number, Value};

use crate::error::{Error, Path, Result};
use crate::schema::{Field, Label, Message, Special, Ty, message};
use crate::time::{format_duration, format_rfc3339};
use crate::wire::{self, Reader, Value as Wire};

/// Go's zero `time.Time` as Unix seconds: it decodes to JSON `null`.
pub(crate) const ZERO_TIME_SECONDS: i64 = -62_135_596_800;

/// Decodes one message's bytes into its JSON form.
pub(crate) fn decode_message(msg: &Message, bytes: &[u8], path: &mut Path) -> Result<Value> {
    path.nested(|path| {
        if msg.special != Special::None {
            return decode_special(msg, bytes, path);
        }
        let mut out = Map::new();
        decode_fields(msg, bytes, &mut out, path)?;
        Ok(Value::Object(out))
    })
}

/// Decodes a message's fields into `out` (an inline message writes into its parent's object).
fn decode_fields(
    msg: &Message,
    bytes: &[u8],
    out: &mut Map<String, Value>,
    path: &mut Path,
) -> Result<()> {
    let mut reader = Reader::new(bytes);
    while let Some((tag, value)) = reader.next_field().map_err(|e| path.wire(e))? {
        let Some(field) = msg.field_by_tag(tag) else {
            continue;
        };
        path.field(field.json, |path| decode_field(field, value, out, path))?;
    }
    Ok(())
}

fn decode_field(
    field: &Field,
    value: Wire<'_>,
    out: &mut Map<String, Value>,
    path: &mut Path,
) -> Result<()> {
    match field.label {
        Label::Single => {
            let v = decode_value(field.ty, value, path)?;
            if field.omit_empty && is_zero(&v) {
                return Ok(());
            }
            match (out.get_mut(field.json), v) {
                // A message field written twice merges, as protobuf specifies.
                (Some(Value::Object(old)), Value::Object(new)) => old.extend(new),
                (_, v) => {
                    out.insert(field.json.to_owned(), v);
                }
            }
        }
        Label::Repeated => {
            let entry = out
                .entry(field.json)
                .or_insert_with(|| Value::Array(Vec::new()));
            let Value::Array(items) = entry else {
                return Err(path.type_error("a repeated field", "a scalar"));
            };
            match (field.ty, value) {
                // Packed scalars (proto2 Kubernetes never packs, but a proto3-minded sender may).
                (Ty::Int32 | Ty::Int64 | Ty::Bool, Wire::Len(bytes)) => {
                    let mut r = Reader::new(bytes);
                    while !r.is_empty() {
                        let v = r.varint().map_err(|e| path.wire(e))?;
                        items.push(decode_value(field.ty, Wire::Varint(v), path)?);
                    }
                }
                (Ty::Double, Wire::Len(bytes)) => {
                    for chunk in bytes.chunks(8) {
                        let mut a = [0u8; 8];
                        if chunk.len() != 8 {
                            return Err(path.wire(wire::WireError::Truncated));
                        }
                        a.copy_from_slice(chunk);
                        items.push(decode_value(
                            Ty::Double,
                            Wire::Fixed64(u64::from_le_bytes(a)),
                            path,
                        )?);
                    }
                }
                (ty, v) => {
                    let index = items.len();
                    let v = path.index(index, |path| decode_value(ty, v, path))?;
                    items.push(v);
                }
            }
        }
        Label::Map => {
            let Wire::Len(entry) = value else {
                return Err(path.type_error("a map entry", wire_name(value)));
            };
            let (key, v) = decode_map_entry(field.ty, entry, path)?;
            let obj = out
                .entry(field.json)
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(obj) = obj {
                obj.insert(key, v);
            }
        }
        Label::Inline => {
            let (Ty::Msg(id), Wire::Len(bytes)) = (field.ty, value) else {
                return Err(path.type_error("an embedded message", wire_name(value)));
            };
            decode_fields(message(id), bytes, out, path)?;
        }
    }
    Ok(())
}

fn decode_map_entry(ty: Ty, entry: &[u8], path: &mut Path) -> Result<(String, Value)> {
    let mut key = String::new();
    let mut val = None;
    let mut r = Reader::new(entry);
    while let Some((tag, v)) = r.next_field().map_err(|e| path.wire(e))? {
        match tag {
            1 => key = string(v, path)?,
            2 => val = Some(v),
            _ => {}
        }
    }
    let v = path.index(&key, |path| match val {
        Some(v) => decode_value(ty, v, path),
        // An absent value is the type's zero value.
        None => decode_value(ty, zero_wire(ty), path),
    })?;
    Ok((key, v))
}

fn zero_wire(ty: Ty) -> Wire<'static> {
    match ty {
        Ty::Int32 | Ty::Int64 | Ty::Bool => Wire::Varint(0),
        Ty::Double => Wire::Fixed64(0),
        Ty::String | Ty::Bytes | Ty::Msg(_) => Wire::Len(&[]),
    }
}

fn decode_value(ty: Ty, value: Wire<'_>, path: &mut Path) -> Result<Value> {
    Ok(match (ty, value) {
        (Ty::String, v) => Value::String(string(v, path)?),
        (Ty::Int32, Wire::Varint(v)) => Value::from(wire::as_i32(v)),
        (Ty::Int64, Wire::Varint(v)) => Value::from(wire::as_i64(v)),
        (Ty::Bool, Wire::Varint(v)) => Value::Bool(v != 0),
        (Ty::Double, Wire::Fixed64(v)) => double(f64::from_bits(v), path)?,
        (Ty::Bytes, Wire::Len(b)) => {
            Value::String(base64::engine::general_purpose::STANDARD.encode(b))
        }
        (Ty::Msg(id), Wire::Len(b)) => decode_message(message(id), b, path)?,
        (ty, v) => return Err(path.type_error(ty_name(ty), wire_name(v))),
    })
}

/// A double as Go's encoding/json writes it: integral values without a fraction (`0`, not `0.0`).
fn double(f: f64, path: &Path) -> Result<Value> {
    if f.fract() == 0.0 && f.abs() < 9.0e15 {
        return Ok(Value::from(f as i64));
    }
    Number::from_f64(f)
        .map(Value::Number)
        .ok_or_else(|| path.value_error("a double that JSON cannot represent (NaN or infinite)"))
}

/// A string field. Go's JSON encoder replaces invalid UTF-8 with U+FFFD, and so do we.
fn string(value: Wire<'_>, path: &Path) -> Result<String> {
    match value {
        Wire::Len(b) => Ok(String::from_utf8_lossy(b).into_owned()),
        v => Err(path.type_error("a string", wire_name(v))),
    }
}

fn is_zero(v: &Value) -> bool {
    match v {
        Value::String(s) => s.is_empty(),
        Value::Number(n) => n.as_i64() == Some(0) || n.as_f64() == Some(0.0),
        Value::Bool(b) => !b,
        Value::Null => true,
        Value::Array(a) => a.is_empty(),
        Value::Object(_) => false,
    }
}

/// The fields of a special message, by tag, last one winning (repeated ones collected).
struct Raw<'a> {
    single: Vec<(u32, Wire<'a>)>,
    repeated: Vec<(u32, Wire<'a>)>,
}

impl<'a> Raw<'a> {
    fn read(bytes: &'a [u8], path: &Path) -> Result<Self> {
        let mut single: Vec<(u32, Wire<'a>)> = Vec::new();
        let mut repeated = Vec::new();
        let mut r = Reader::new(bytes);
        while let Some((tag, v)) = r.next_field().map_err(|e| path.wire(e))? {
            repeated.push((tag, v));
            single.retain(|(t, _)| *t != tag);
            single.push((tag, v));
        }
        Ok(Self { single, repeated })
    }

    fn get(&self, tag: u32) -> Option<Wire<'a>> {
        self.single.iter().find(|(t, _)| *t == tag).map(|(_, v)| *v)
    }

    fn all(&self, tag: u32) -> impl Iterator<Item = Wire<'a>> + '_ {
        self.repeated
            .iter()
            .filter(move |(t, _)| *t == tag)
            .map(|(_, v)| *v)
    }

    fn int(&self, tag: u32, path: &Path) -> Result<i64> {
        match self.get(tag) {
            None => Ok(0),
            Some(Wire::Varint(v)) => Ok(wire::as_i64(v)),
            Some(v) => Err(path.type_error("a varint", wire_name(v))),
        }
    }

    fn bytes(&self, tag: u32, path: &Path) -> Result<Option<&'a [u8]>> {
        match self.get(tag) {
            None => Ok(None),
            Some(Wire::Len(b)) => Ok(Some(b)),
            Some(v) => Err(path.type_error("bytes", wire_name(v))),
        }
    }
}

/// The message type of a special message's field `tag` (e.g. JSONSchemaPropsOrBool.schema).
fn sub_message(msg: &Message, tag: u32) -> Ty {
    msg.field_by_tag(tag).map(|f| f.ty).unwrap_or(Ty::Bytes)
}

fn decode_special(msg: &Message, bytes: &[u8], path: &mut Path) -> Result<Value> {
    let raw = Raw::read(bytes, path)?;
    match msg.special {
        Special::None => {
            let mut out = Map::new();
            decode_fields(msg, bytes, &mut out, path)?;
            Ok(Value::Object(out))
        }
        Special::Time | Special::MicroTime => {
            if bytes.is_empty() {
                return Ok(Value::Null);
            }
            let seconds = raw.int(1, path)?;
            let nanos = raw.int(2, path)?;
            if seconds == ZERO_TIME_SECONDS && nanos == 0 {
                return Ok(Value::Null);
            }
            let micros = (msg.special == Special::MicroTime)
                .then(|| (nanos.clamp(0, 999_999_999) / 1000) as u32);
            Ok(Value::String(format_rfc3339(seconds, micros)))
        }
        Special::Duration => Ok(Value::String(format_duration(raw.int(1, path)?))),
        Special::Quantity => match raw.get(1) {
            None => Ok(Value::String("0".to_owned())),
            Some(v) => Ok(Value::String(string(v, path)?)),
        },
        Special::IntOrString => {
            if raw.int(1, path)? == 1 {
                Ok(Value::String(match raw.get(3) {
                    Some(v) => string(v, path)?,
                    None => String::new(),
                }))
            } else {
                Ok(Value::from(raw.int(2, path)? as i32))
            }
        }
        Special::RawExtension | Special::FieldsV1 | Special::Json => match raw.bytes(1, path)? {
            None => Ok(Value::Null),
            Some([]) => Ok(Value::Null),
            Some(b) if b.starts_with(crate::MAGIC) => {
                crate::envelope::decode_envelope_at(b, path).map(|(_, v)| v)
            }
            Some(b) => serde_json::from_slice(b).map_err(|source| Error::EmbeddedJson {
                path: path.get(),
                source,
            }),
        },
        Special::JsonSchemaPropsOrBool => match raw.get(2) {
            Some(v) => decode_value(sub_message(msg, 2), v, path),
            None => Ok(Value::Bool(raw.int(1, path)? != 0)),
        },
        Special::JsonSchemaPropsOrArray => {
            let ty = sub_message(msg, 2);
            let items = raw
                .all(2)
                .enumerate()
                .map(|(i, v)| path.index(i, |path| decode_value(ty, v, path)))
                .collect::<Result<Vec<_>>>()?;
            if !items.is_empty() {
                return Ok(Value::Array(items));
            }
            match raw.get(1) {
                Some(v) => decode_value(sub_message(msg, 1), v, path),
                None => Ok(Value::Null),
            }
        }
        Special::JsonSchemaPropsOrStringArray => {
            let items = raw
                .all(2)
                .map(|v| string(v, path).map(Value::String))
                .collect::<Result<Vec<_>>>()?;
            if !items.is_empty() {
                return Ok(Value::Array(items));
            }
            match raw.get(1) {
                Some(v) => decode_value(sub_message(msg, 1), v, path),
                None => Ok(Value::Null),
            }
        }
        Special::StringArray => Ok(Value::Array(
            raw.all(1)
                .map(|v| string(v, path).map(Value::String))
                .collect::<Result<Vec<_>>>()?,
        )),
    }
}

pub(crate) fn ty_name(ty: Ty) -> &'static str {
    match ty {
        Ty::String => "a string",
        Ty::Int32 => "an int32",
        Ty::Int64 => "an int64",
        Ty::Bool => "a bool",
        Ty::Double => "a double",
        Ty::Bytes => "bytes",
        Ty::Msg(_) => "a message",
    }
}

fn wire_name(v: Wire<'_>) -> &'static str {
    match v {
        Wire::Varint(_) => "wire type varint",
        Wire::Fixed64(_) => "wire type fixed64",
        Wire::Fixed32 => "wire type fixed32",
        Wire::Len(_) => "wire type length-delimited",
    }
}
