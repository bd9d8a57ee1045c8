//! Continue tokens for paginated lists (`?limit=N&continue=...`), in upstream's format so that a
//! token from tugboat is opaque and byte-identical to kube-apiserver's, and a token from either
//! works on both.
//!
//! A token is unpadded URL-safe base64 of the JSON `{"v":"meta.k8s.io/v1","rv":<int>,"start":"..."}`
//! (`k8s.io/apiserver/pkg/storage/continue.go`): `rv` is the revision the first page was served at
//! (`-1`: "continue at the latest revision"), `start` the first key of the next page relative to
//! the resource's key prefix. Decoding rejects any `start` that is not a clean relative path, so a
//! client cannot craft a token that ranges outside the prefix (`../secrets/...`). The module also
//! holds the messages upstream returns when a token's revision has been compacted.

use std::fmt;

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde::Serialize;
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};

use crate::status::{ApiError, go_json, go_quote};

/// The only token version upstream writes and accepts.
pub const CONTINUE_TOKEN_VERSION: &str = "meta.k8s.io/v1";

/// 410 message when a plain list asks for a compacted `resourceVersion`.
pub const LIST_EXPIRED_MESSAGE: &str = "The resourceVersion for the provided list is too old.";
/// 410 message when a watch starts from a compacted `resourceVersion` (etcd-backed watch).
pub const WATCH_EXPIRED_MESSAGE: &str = "The resourceVersion for the provided watch is too old.";
/// 410 message when a continue token's revision has been compacted and no new token can be made.
pub const CONTINUE_EXPIRED_MESSAGE: &str = "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.";
/// 410 message when a continue token's revision has been compacted; the Status carries a new
/// token (revision `-1`) to finish the list inconsistently.
pub const INCONSISTENT_CONTINUE_MESSAGE: &str = "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.";
/// 400 message when a request has both `continue` and a non-zero `resourceVersion`.
pub const RESOURCE_VERSION_WITH_CONTINUE_MESSAGE: &str =
    "specifying resource version is not allowed when using continue";

/// Why a continue token was rejected. `Display` is upstream's `DecodeContinue` error; the API
/// returns it as [`ContinueTokenError::to_api_error`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContinueTokenError {
    /// Not unpadded URL-safe base64, or not a JSON object of the right shape; the text is Go's
    /// decoder message (e.g. `illegal base64 data at input byte 4`).
    #[error("continue key is not valid: {0}")]
    Malformed(String),
    /// `rv` is 0 (or absent).
    #[error(
        "continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)"
    )]
    ZeroResourceVersion,
    /// `start` is empty (or absent).
    #[error("continue key is not valid: encoded start key empty (version meta.k8s.io/v1)")]
    EmptyStartKey,
    /// `start` is not a clean relative path (`..`, `.`, `//`, a trailing `/`): it could escape the
    /// resource's key prefix.
    #[error("continue key is not valid: {0}")]
    UncleanStartKey(String),
    /// `v` is not [`CONTINUE_TOKEN_VERSION`].
    #[error("continue key is not valid: server does not recognize this encoded version {0}")]
    UnrecognizedVersion(String),
    /// Encoding: the next key does not lie under the key prefix.
    #[error("unable to encode next field: the key and key prefix do not match {key_prefix} {key}")]
    KeyOutsidePrefix {
        /// The key to continue from.
        key: String,
        /// The resource's key prefix.
        key_prefix: String,
    },
}

impl ContinueTokenError {
    /// The 400 upstream's storage returns for a bad token: `invalid continue token: <error>`.
    pub fn to_api_error(&self) -> ApiError {
        ApiError::bad_request(format!("invalid continue token: {self}"))
    }
}

/// A decoded continue token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContinueToken {
    /// Revision the list is served at; `-1` means the latest (after compaction).
    pub resource_version: i64,
    /// First key of the next page, relative to the key prefix (no leading `/`).
    pub start: String,
}

impl ContinueToken {
    /// The token's text, byte-identical to upstream's for the same fields.
    pub fn encode(&self) -> String {
        encode(self.resource_version, &self.start)
    }

    /// The absolute storage key to continue from under `key_prefix` (which ends in `/`, e.g.
    /// `/registry/pods/` or `/registry/pods/default/`).
    pub fn start_key(&self, key_prefix: &str) -> String {
        format!("{key_prefix}{}", self.start)
    }
}

impl fmt::Display for ContinueToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.encode())
    }
}

#[derive(Serialize)]
struct WireToken<'a> {
    v: &'a str,
    rv: i64,
    start: &'a str,
}

/// Encodes a token continuing at revision `resource_version` from `start` (relative to the key
/// prefix). The JSON is written as Go's `encoding/json` writes it, so tokens match upstream's.
pub fn encode(resource_version: i64, start: &str) -> String {
    let json = go_json(&WireToken {
        v: CONTINUE_TOKEN_VERSION,
        rv: resource_version,
        start,
    });
    token_engine().encode(json)
}

/// Upstream's `EncodeContinue`: a token continuing from the absolute `key` under `key_prefix`.
pub fn encode_for_key(
    key: &str,
    key_prefix: &str,
    resource_version: i64,
) -> Result<String, ContinueTokenError> {
    match key.strip_prefix(key_prefix) {
        Some(start) if !key_prefix.is_empty() => Ok(encode(resource_version, start)),
        _ => Err(ContinueTokenError::KeyOutsidePrefix {
            key: key.to_owned(),
            key_prefix: key_prefix.to_owned(),
        }),
    }
}

/// The first key strictly after `last_key` (`last_key` + NUL): where the next page starts, as
/// upstream computes it from the last key it returned.
pub fn next_start_key(last_key: &str) -> String {
    format!("{last_key}\0")
}

/// The token for the page after the one whose last key was `last_key`.
pub fn encode_after(
    last_key: &str,
    key_prefix: &str,
    resource_version: i64,
) -> Result<String, ContinueTokenError> {
    encode_for_key(&next_start_key(last_key), key_prefix, resource_version)
}

/// Decodes and checks a token (upstream's `DecodeContinue`, returning the relative start).
pub fn decode(token: &str) -> Result<ContinueToken, ContinueTokenError> {
    let json = decode_base64(token)?;
    let fields = parse_token_json(&json)?;
    if fields.version != CONTINUE_TOKEN_VERSION {
        return Err(ContinueTokenError::UnrecognizedVersion(fields.version));
    }
    if fields.resource_version == 0 {
        return Err(ContinueTokenError::ZeroResourceVersion);
    }
    if fields.start.is_empty() {
        return Err(ContinueTokenError::EmptyStartKey);
    }
    let rooted = if fields.start.starts_with('/') {
        fields.start.clone()
    } else {
        format!("/{}", fields.start)
    };
    if clean_rooted_path(&rooted) != rooted {
        return Err(ContinueTokenError::UncleanStartKey(fields.start));
    }
    Ok(ContinueToken {
        resource_version: fields.resource_version,
        start: rooted[1..].to_owned(),
    })
}

/// Upstream's `DecodeContinue` shape: the absolute key to continue from and the revision.
pub fn decode_for_prefix(
    token: &str,
    key_prefix: &str,
) -> Result<(String, i64), ContinueTokenError> {
    let token = decode(token)?;
    Ok((token.start_key(key_prefix), token.resource_version))
}

/// The 410 upstream returns when a continued list's revision has been compacted: reason Expired,
/// [`INCONSISTENT_CONTINUE_MESSAGE`], and in `metadata.continue` a token at revision `-1` from the
/// same key, so the client may finish the list at the latest revision.
pub fn compacted_continue_error(continue_key: &str, key_prefix: &str) -> ApiError {
    match encode_for_key(continue_key, key_prefix, -1) {
        Ok(token) => {
            let mut error = ApiError::resource_expired(INCONSISTENT_CONTINUE_MESSAGE);
            error.list_continue = Some(token);
            error
        }
        Err(_) => ApiError::resource_expired(CONTINUE_EXPIRED_MESSAGE),
    }
}

// === decoding details ===

fn token_engine() -> GeneralPurpose {
    // Go's RawURLEncoding is lenient about the unused low bits of the last character.
    GeneralPurpose::new(
        &alphabet::URL_SAFE,
        GeneralPurposeConfig::new()
            .with_encode_padding(false)
            .with_decode_padding_mode(DecodePaddingMode::RequireNone)
            .with_decode_allow_trailing_bits(true),
    )
}

/// Go's `base64.RawURLEncoding.DecodeString`, including its error offsets: CR and LF are skipped,
/// any other byte outside the alphabet (`=` included) is illegal, and a lone final character is
/// reported at its position.
fn decode_base64(token: &str) -> Result<Vec<u8>, ContinueTokenError> {
    let mut in_quantum = 0;
    let mut significant = String::with_capacity(token.len());
    for (index, byte) in token.bytes().enumerate() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' => {
                significant.push(char::from(byte));
                in_quantum = (in_quantum + 1) % 4;
            }
            b'\r' | b'\n' => {}
            _ => return Err(illegal_base64(index)),
        }
    }
    if in_quantum == 1 {
        return Err(illegal_base64(token.len() - 1));
    }
    token_engine()
        .decode(significant)
        .map_err(|error| ContinueTokenError::Malformed(error.to_string()))
}

fn illegal_base64(offset: usize) -> ContinueTokenError {
    ContinueTokenError::Malformed(format!("illegal base64 data at input byte {offset}"))
}

#[derive(Debug, Default)]
struct TokenFields {
    version: String,
    resource_version: i64,
    start: String,
}

/// A JSON object's members in document order (Go applies them in that order, later ones winning).
struct OrderedObject(Vec<(String, serde_json::Value)>);

impl<'de> Deserialize<'de> for OrderedObject {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ObjectVisitor;
        impl<'de> Visitor<'de> for ObjectVisitor {
            type Value = OrderedObject;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<OrderedObject, A::Error> {
                let mut members = Vec::new();
                while let Some(member) = map.next_entry::<String, serde_json::Value>()? {
                    members.push(member);
                }
                Ok(OrderedObject(members))
            }
        }
        deserializer.deserialize_map(ObjectVisitor)
    }
}

/// Go's `json.Unmarshal` into upstream's `continueToken` struct, with Go's messages for the common
/// failures: invalid JSON, a non-object, and members of the wrong type. Keys match the field tags
/// case-insensitively; unknown keys and `null`s are ignored.
fn parse_token_json(json: &[u8]) -> Result<TokenFields, ContinueTokenError> {
    let value: serde_json::Value = serde_json::from_slice(json)
        .map_err(|error| ContinueTokenError::Malformed(go_json_syntax_message(json, &error)))?;
    let members = match value {
        serde_json::Value::Object(_) => serde_json::from_slice::<OrderedObject>(json)
            .map(|object| object.0)
            .map_err(|error| ContinueTokenError::Malformed(error.to_string()))?,
        serde_json::Value::Null => Vec::new(),
        other => {
            return Err(ContinueTokenError::Malformed(format!(
                "json: cannot unmarshal {} into Go value of type storage.continueToken",
                go_json_kind(&other)
            )));
        }
    };
    let mut fields = TokenFields::default();
    let mut first_error = None;
    for (key, value) in members {
        if value.is_null() {
            continue;
        }
        let result = if key.eq_ignore_ascii_case("v") {
            string_member(&value, "v").map(|text| fields.version = text)
        } else if key.eq_ignore_ascii_case("rv") {
            integer_member(&value).map(|number| fields.resource_version = number)
        } else if key.eq_ignore_ascii_case("start") {
            string_member(&value, "start").map(|text| fields.start = text)
        } else {
            Ok(())
        };
        // Go keeps decoding after a type error and reports the first one at the end.
        if let Err(error) = result {
            first_error.get_or_insert(error);
        }
    }
    match first_error {
        Some(error) => Err(error),
        None => Ok(fields),
    }
}

fn string_member(value: &serde_json::Value, field: &str) -> Result<String, ContinueTokenError> {
    match value {
        serde_json::Value::String(text) => Ok(text.clone()),
        other => Err(type_error(&go_json_kind(other), field, "string")),
    }
}

fn integer_member(value: &serde_json::Value) -> Result<i64, ContinueTokenError> {
    match value {
        serde_json::Value::Number(number) => number
            .as_i64()
            .ok_or_else(|| type_error(&format!("number {number}"), "rv", "int64")),
        other => Err(type_error(&go_json_kind(other), "rv", "int64")),
    }
}

fn type_error(found: &str, field: &str, go_type: &str) -> ContinueTokenError {
    ContinueTokenError::Malformed(format!(
        "json: cannot unmarshal {found} into Go struct field continueToken.{field} of type {go_type}"
    ))
}

fn go_json_kind(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "bool",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Array(_) => "array",
        serde_json::Value::Object(_) => "object",
    }
    .to_owned()
}

/// Go's message for the common syntax errors (empty or truncated input, a bad first character,
/// data after the value); other syntax errors keep serde_json's wording.
fn go_json_syntax_message(json: &[u8], error: &serde_json::Error) -> String {
    if error.is_eof() {
        return "unexpected end of JSON input".to_owned();
    }
    let first = json
        .iter()
        .position(|byte| !matches!(byte, b' ' | b'\t' | b'\r' | b'\n'));
    if let Some(index) = first {
        let byte = json[index];
        let starts_value = matches!(
            byte,
            b'{' | b'[' | b'"' | b'-' | b'0'..=b'9' | b't' | b'f' | b'n'
        );
        if !starts_value {
            return format!(
                "invalid character {} looking for beginning of value",
                go_quote_char(&json[index..])
            );
        }
    }
    if error.to_string().starts_with("trailing characters") {
        // The value parsed; find the first byte after it to name it as Go does.
        let mut stream =
            serde_json::Deserializer::from_slice(json).into_iter::<serde_json::Value>();
        if let Some(Ok(_)) = stream.next() {
            let offset = stream.byte_offset();
            if let Some(rest) = json.get(offset..) {
                let skipped = rest
                    .iter()
                    .position(|byte| !matches!(byte, b' ' | b'\t' | b'\r' | b'\n'))
                    .unwrap_or(0);
                return format!(
                    "invalid character {} after top-level value",
                    go_quote_char(&rest[skipped..])
                );
            }
        }
    }
    error.to_string()
}

/// Go's `quoteChar`: the character in single quotes, escaped as `%q` would.
fn go_quote_char(bytes: &[u8]) -> String {
    let character = String::from_utf8_lossy(bytes)
        .chars()
        .next()
        .unwrap_or(char::REPLACEMENT_CHARACTER);
    match character {
        '\'' => "'\\''".to_owned(),
        '"' => "'\"'".to_owned(),
        other => {
            let quoted = go_quote(&other.to_string());
            format!("'{}'", &quoted[1..quoted.len() - 1])
        }
    }
}

/// Go's `path.Clean` for a path starting with `/`: no empty, `.` or `..` elements and no trailing
/// slash; `..` at the root stays at the root.
fn clean_rooted_path(path: &str) -> String {
    let mut elements: Vec<&str> = Vec::new();
    for element in path.split('/') {
        match element {
            "" | "." => {}
            ".." => {
                elements.pop();
            }
            other => elements.push(other),
        }
    }
    format!("/{}", elements.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(json: &str) -> String {
        token_engine().encode(json)
    }

    #[test]
    fn encoding_matches_upstream_bytes() {
        let cases = [
            (
                123,
                "default/web\0",
                "eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6MTIzLCJzdGFydCI6ImRlZmF1bHQvd2ViXHUwMDAwIn0",
            ),
            (
                -1,
                "a",
                "eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6LTEsInN0YXJ0IjoiYSJ9",
            ),
            // Go's encoder escapes < and > (and &) in strings.
            (
                5,
                "<x>",
                "eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6NSwic3RhcnQiOiJcdTAwM2N4XHUwMDNlIn0",
            ),
        ];
        for (resource_version, start, expected) in cases {
            assert_eq!(encode(resource_version, start), expected);
            let token = ContinueToken {
                resource_version,
                start: start.to_owned(),
            };
            assert_eq!(token.encode(), expected);
            assert_eq!(decode(expected), Ok(token));
        }
    }

    #[test]
    fn keys_are_encoded_relative_to_the_prefix() {
        let token = encode_after("/registry/pods/default/web", "/registry/pods/", 7)
            .unwrap_or_else(|e| panic!("{e}"));
        let decoded = decode(&token).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(decoded.start, "default/web\0");
        assert_eq!(decoded.resource_version, 7);
        assert_eq!(
            decoded.start_key("/registry/pods/"),
            "/registry/pods/default/web\0"
        );
        assert_eq!(
            decode_for_prefix(&token, "/registry/pods/"),
            Ok(("/registry/pods/default/web\0".to_owned(), 7))
        );
        assert_eq!(next_start_key("/registry/pods/a"), "/registry/pods/a\0");

        let cases = [
            ("/registry/pods/a", "/registry/secrets/"),
            ("/registry/pods/a", ""),
        ];
        for (key, prefix) in cases {
            assert_eq!(
                encode_for_key(key, prefix, 1).map_err(|e| e.to_string()),
                Err(format!(
                    "unable to encode next field: the key and key prefix do not match {prefix} {key}"
                ))
            );
        }
    }

    #[test]
    fn bad_tokens_are_rejected_with_upstream_messages() {
        let cases: Vec<(String, &str)> = vec![
            (
                "a".into(),
                "continue key is not valid: illegal base64 data at input byte 0",
            ),
            (
                "abcde".into(),
                "continue key is not valid: illegal base64 data at input byte 4",
            ),
            (
                "ab=c".into(),
                "continue key is not valid: illegal base64 data at input byte 2",
            ),
            (
                "ab+c".into(),
                "continue key is not valid: illegal base64 data at input byte 2",
            ),
            (
                "".into(),
                "continue key is not valid: unexpected end of JSON input",
            ),
            (
                raw("{"),
                "continue key is not valid: unexpected end of JSON input",
            ),
            (
                raw("hello"),
                "continue key is not valid: invalid character 'h' looking for beginning of value",
            ),
            (
                raw("{} x"),
                "continue key is not valid: invalid character 'x' after top-level value",
            ),
            (
                raw("\"str\""),
                "continue key is not valid: json: cannot unmarshal string into Go value of type storage.continueToken",
            ),
            (
                raw(r#"{"v":"meta.k8s.io/v1","rv":"5","start":"a"}"#),
                "continue key is not valid: json: cannot unmarshal string into Go struct field continueToken.rv of type int64",
            ),
            (
                raw(r#"{"v":"meta.k8s.io/v1","rv":1.5,"start":"a"}"#),
                "continue key is not valid: json: cannot unmarshal number 1.5 into Go struct field continueToken.rv of type int64",
            ),
            (
                raw(r#"{"v":1,"rv":1,"start":"a"}"#),
                "continue key is not valid: json: cannot unmarshal number into Go struct field continueToken.v of type string",
            ),
            (
                raw(r#"{"v":"meta.k8s.io/v2","rv":1,"start":"a"}"#),
                "continue key is not valid: server does not recognize this encoded version meta.k8s.io/v2",
            ),
            (
                raw(r#"{"rv":1,"start":"a"}"#),
                "continue key is not valid: server does not recognize this encoded version ",
            ),
            (
                raw(r#"{"v":"meta.k8s.io/v1","start":"a"}"#),
                "continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)",
            ),
            (
                raw(r#"{"v":"meta.k8s.io/v1","rv":1}"#),
                "continue key is not valid: encoded start key empty (version meta.k8s.io/v1)",
            ),
            (
                raw(r#"{"v":"meta.k8s.io/v1","rv":1,"start":"../secrets/x"}"#),
                "continue key is not valid: ../secrets/x",
            ),
            (
                raw(r#"{"v":"meta.k8s.io/v1","rv":1,"start":"a/../../x"}"#),
                "continue key is not valid: a/../../x",
            ),
            (
                raw(r#"{"v":"meta.k8s.io/v1","rv":1,"start":"a//b"}"#),
                "continue key is not valid: a//b",
            ),
            (
                raw(r#"{"v":"meta.k8s.io/v1","rv":1,"start":"a/"}"#),
                "continue key is not valid: a/",
            ),
            (
                raw(r#"{"v":"meta.k8s.io/v1","rv":1,"start":"./a"}"#),
                "continue key is not valid: ./a",
            ),
        ];
        for (token, expected) in cases {
            assert_eq!(
                decode(&token).map_err(|e| e.to_string()),
                Err(expected.to_owned()),
                "token {token:?}"
            );
        }
    }

    #[test]
    fn lenient_inputs_are_accepted_as_upstream_accepts_them() {
        let cases: Vec<(String, ContinueToken)> = vec![
            // An absolute start is the same key as the relative one.
            (
                raw(r#"{"v":"meta.k8s.io/v1","rv":1,"start":"/a/b"}"#),
                ContinueToken {
                    resource_version: 1,
                    start: "a/b".into(),
                },
            ),
            // Keys match case-insensitively; unknown keys and nulls are ignored.
            (
                raw(r#"{"V":"meta.k8s.io/v1","RV":2,"Start":"x","extra":true,"start2":null}"#),
                ContinueToken {
                    resource_version: 2,
                    start: "x".into(),
                },
            ),
            // Newlines inside the base64 are skipped.
            (
                {
                    let token = encode(3, "y");
                    format!("{}\n{}", &token[..8], &token[8..])
                },
                ContinueToken {
                    resource_version: 3,
                    start: "y".into(),
                },
            ),
            // The root itself is clean.
            (
                raw(r#"{"v":"meta.k8s.io/v1","rv":1,"start":"/"}"#),
                ContinueToken {
                    resource_version: 1,
                    start: String::new(),
                },
            ),
        ];
        for (token, expected) in cases {
            assert_eq!(decode(&token), Ok(expected), "token {token:?}");
        }
    }

    #[test]
    fn bad_tokens_become_bad_requests() {
        let error = decode("a").err().map(|e| e.to_api_error());
        let error = error.unwrap_or_else(|| ApiError::internal("decoded"));
        assert_eq!(error.code, 400);
        assert_eq!(
            error.message,
            "invalid continue token: continue key is not valid: illegal base64 data at input byte 0"
        );
    }

    #[test]
    fn compacted_continuations_carry_a_latest_revision_token() {
        let error = compacted_continue_error("/registry/pods/default/web\0", "/registry/pods/");
        assert_eq!(error.code, 410);
        assert_eq!(error.reason.as_str(), "Expired");
        assert_eq!(error.message, INCONSISTENT_CONTINUE_MESSAGE);
        let token = error.list_continue.as_deref().map(decode);
        assert_eq!(
            token,
            Some(Ok(ContinueToken {
                resource_version: -1,
                start: "default/web\0".into()
            }))
        );
        let fallback = compacted_continue_error("/elsewhere", "/registry/pods/");
        assert_eq!(fallback.message, CONTINUE_EXPIRED_MESSAGE);
        assert_eq!(fallback.list_continue, None);
    }

    #[test]
    fn clean_matches_go_path_clean_for_rooted_paths() {
        let cases = [
            ("/", "/"),
            ("/a", "/a"),
            ("/a/", "/a"),
            ("//a", "/a"),
            ("/a/./b", "/a/b"),
            ("/a/../b", "/b"),
            ("/../a", "/a"),
            ("/a/b/..", "/a"),
        ];
        for (input, expected) in cases {
            assert_eq!(clean_rooted_path(input), expected, "{input:?}");
        }
    }
}
