//! Request bodies: decoded by `Content-Type`, checked against the URL's kind, normalized through the
//! built-in type (wrong types are 400) and checked for unknown fields per `fieldValidation`.

use bytes::Bytes;
use serde_json::Value;
use tugboat_machinery::status::ApiError;

use super::{Context, query::FieldValidation};
use crate::{
    negotiate::{self, Encoding},
    typed,
};

/// A decoded body and the warnings it earned.
#[derive(Debug)]
pub(crate) struct Decoded {
    /// The object.
    pub object: Value,
    /// `Warning` header texts.
    pub warnings: Vec<String>,
}

/// Decode an object of `context`'s resource.
pub(crate) fn decode_object(context: &Context<'_>, body: &Bytes) -> Result<Decoded, ApiError> {
    let info = &context.store.info;
    decode_object_as(context, body, &info.api_version(), &info.kind)
}

/// Decode an object of another kind than the resource's own, e.g. the `autoscaling/v1` `Scale`
/// of a scale subresource.
pub(crate) fn decode_object_as(
    context: &Context<'_>,
    body: &Bytes,
    expected_api_version: &str,
    expected_kind: &str,
) -> Result<Decoded, ApiError> {
    let mut object = decode_value(context, body)?;
    let version = expected_api_version
        .rsplit_once('/')
        .map_or(expected_api_version, |(_, version)| version);
    let root = object
        .as_object_mut()
        .ok_or_else(|| ApiError::bad_request("the body of the request must be a JSON object"))?;
    match root.get("apiVersion").and_then(Value::as_str) {
        Some(given) if !given.is_empty() && given != expected_api_version => {
            return Err(ApiError::bad_request(format!(
                "the API version in the data ({given}) does not match the expected API version ({expected_api_version})"
            )));
        }
        _ => {}
    }
    match root.get("kind").and_then(Value::as_str) {
        Some(given) if !given.is_empty() && given != expected_kind => {
            return Err(ApiError::bad_request(format!(
                "the kind in the data ({given}) does not match the expected kind ({expected_kind})"
            )));
        }
        _ => {}
    }
    root.insert("apiVersion".into(), Value::from(expected_api_version));
    root.insert("kind".into(), Value::from(expected_kind));
    let mut warnings = Vec::new();
    if let Some(kind) = typed::lookup(expected_api_version, expected_kind) {
        let normalized = (kind.normalize)(&object).map_err(|e| {
            ApiError::bad_request(format!(
                "{expected_kind} in version \"{version}\" cannot be handled as a {expected_kind}: {e}"
            ))
        })?;
        let mut problems: Vec<String> = typed::unknown_fields(&object, &normalized)
            .iter()
            .map(|f| format!("unknown field \"{f}\""))
            .collect();
        if context.query.field_validation != FieldValidation::Ignore && is_json(context) {
            problems.extend(
                duplicate_fields(body)
                    .iter()
                    .map(|f| format!("duplicate field \"{f}\"")),
            );
        }
        if !problems.is_empty() {
            match context.query.field_validation {
                FieldValidation::Strict => {
                    let list = problems;
                    return Err(ApiError::bad_request(format!(
                        "{expected_kind} in version \"{version}\" cannot be handled as a {expected_kind}: strict decoding error: {}",
                        list.join(", ")
                    )));
                }
                FieldValidation::Warn => warnings.extend(problems),
                FieldValidation::Ignore => {}
            }
        }
        object = normalized;
    }
    Ok(Decoded { object, warnings })
}

/// Parse the body as JSON or YAML into a value.
pub(crate) fn decode_value(context: &Context<'_>, body: &Bytes) -> Result<Value, ApiError> {
    let content_type = context
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    match negotiate::request_encoding(content_type) {
        Some(Encoding::Json) => serde_json::from_slice(body)
            .map_err(|e| ApiError::bad_request(format!("json parse error: {e}"))),
        Some(Encoding::Yaml) => serde_norway::from_slice(body)
            .map_err(|e| ApiError::bad_request(format!("yaml parse error: {e}"))),
        Some(Encoding::Protobuf) => tugboat_protobuf::decode_envelope(body)
            .map(|(_, value)| value)
            .map_err(|e| ApiError::bad_request(format!("protobuf decoding error: {e}"))),
        None => Err(ApiError::unsupported_media_type(&[
            "application/json",
            "application/yaml",
            "application/vnd.kubernetes.protobuf",
        ])),
    }
}

fn is_json(context: &Context<'_>) -> bool {
    let content_type = context
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    negotiate::request_encoding(content_type) == Some(Encoding::Json)
}

/// Keys that appear twice in one JSON object anywhere in `body`, by key name as upstream reports
/// them (`duplicate field "replicas"`). A body that does not parse has none (parsing reports it).
pub(crate) fn duplicate_fields(body: &[u8]) -> Vec<String> {
    use serde::de::{DeserializeSeed, Deserializer as _, MapAccess, SeqAccess, Visitor};
    use std::collections::HashSet;

    struct Scan<'a>(&'a mut Vec<String>);

    impl<'de> DeserializeSeed<'de> for Scan<'_> {
        type Value = ();
        fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
            deserializer.deserialize_any(self)
        }
    }

    impl<'de> Visitor<'de> for Scan<'_> {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("any JSON value")
        }
        fn visit_bool<E>(self, _: bool) -> Result<(), E> {
            Ok(())
        }
        fn visit_i64<E>(self, _: i64) -> Result<(), E> {
            Ok(())
        }
        fn visit_u64<E>(self, _: u64) -> Result<(), E> {
            Ok(())
        }
        fn visit_f64<E>(self, _: f64) -> Result<(), E> {
            Ok(())
        }
        fn visit_str<E>(self, _: &str) -> Result<(), E> {
            Ok(())
        }
        fn visit_unit<E>(self) -> Result<(), E> {
            Ok(())
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            while seq.next_element_seed(Scan(&mut *self.0))?.is_some() {}
            Ok(())
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            let mut seen = HashSet::new();
            while let Some(key) = map.next_key::<String>()? {
                map.next_value_seed(Scan(&mut *self.0))?;
                if !seen.insert(key.clone()) && !self.0.contains(&key) {
                    self.0.push(key);
                }
            }
            Ok(())
        }
    }

    let mut found = Vec::new();
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let _ = deserializer.deserialize_any(Scan(&mut found));
    found
}

#[cfg(test)]
mod tests {
    use super::duplicate_fields;

    #[test]
    fn duplicates_are_found_at_any_depth() {
        assert_eq!(
            duplicate_fields(
                br#"{"a":1,"spec":{"replicas":1,"replicas":2,"x":[{"k":1,"k":2}]},"a":3}"#
            ),
            vec!["replicas".to_owned(), "k".to_owned(), "a".to_owned()]
        );
        assert!(duplicate_fields(br#"{"a":{"a":1}}"#).is_empty());
        assert!(duplicate_fields(b"not json").is_empty());
    }
}
