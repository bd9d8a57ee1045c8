//! Object name and metadata key rules: DNS-1123 subdomains and labels, RFC 1035 labels, path
//! segment names, qualified names (label and annotation keys), label values, the total annotation
//! size limit, and `generateName` suffixes.
//!
//! The `is_*` checks return upstream's messages (empty when valid), word for word from
//! `k8s.io/apimachinery/pkg/api/validate/content` and `pkg/util/validation`, because API clients
//! show them verbatim; a registry wraps each in a [`FieldError`] under the field it checked. The
//! `name_is_*` functions are upstream's `ValidateNameFunc`s (with the `generateName` prefix rule),
//! and [`validate_labels`] / [`validate_annotations`] are upstream's metadata map checks.

use std::collections::BTreeMap;

use crate::status::{FieldError, FieldPath};

/// Longest DNS-1123 label (namespace names, most short names).
pub const DNS1123_LABEL_MAX_LENGTH: usize = 63;
/// Longest DNS-1123 subdomain (most object names).
pub const DNS1123_SUBDOMAIN_MAX_LENGTH: usize = 253;
/// Longest RFC 1035 label (service names).
pub const DNS1035_LABEL_MAX_LENGTH: usize = 63;
/// Longest name part of a qualified name (label key).
pub const QUALIFIED_NAME_MAX_LENGTH: usize = 63;
/// Longest label value.
pub const LABEL_VALUE_MAX_LENGTH: usize = 63;
/// Limit on the summed byte length of all annotation keys and values (256 KiB).
pub const TOTAL_ANNOTATION_SIZE_LIMIT_BYTES: usize = 256 * 1024;
/// Number of random characters `generateName` appends.
pub const GENERATED_SUFFIX_LENGTH: usize = 5;
/// Longest `generateName` base kept before the suffix, so the result fits a 63-byte label.
pub const MAX_GENERATED_NAME_LENGTH: usize = 63 - GENERATED_SUFFIX_LENGTH;
/// The characters of a generated suffix: upstream's `utilrand` alphabet, without vowels so that
/// no words are spelled, and without characters that look alike (`0`/`o`, `1`/`l`, `3`/`e`).
pub const GENERATED_NAME_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

const DNS1123_LABEL_FORMAT: &str = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
const DNS1123_LABEL_ERROR: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character";
const DNS1123_SUBDOMAIN_FORMAT: &str =
    "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
const DNS1123_SUBDOMAIN_ERROR: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
const DNS1035_LABEL_FORMAT: &str = "[a-z]([-a-z0-9]*[a-z0-9])?";
const DNS1035_LABEL_ERROR: &str = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character";
const LABEL_KEY_FORMAT: &str = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
const LABEL_KEY_ERROR: &str = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const LABEL_VALUE_FORMAT: &str = "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?";
const LABEL_VALUE_ERROR: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";

/// Upstream's `MaxLenError`.
fn max_length_message(limit: usize) -> String {
    format!("must be no more than {limit} bytes")
}

/// Upstream's `RegexError`: the explanation, examples, and the regex itself. The double space after
/// each example's comma is upstream's.
fn regex_message(explanation: &str, format: &str, examples: &[&str]) -> String {
    if examples.is_empty() {
        return format!("{explanation} (regex used for validation is '{format}')");
    }
    let mut message = format!("{explanation} (e.g. ");
    for (index, example) in examples.iter().enumerate() {
        if index > 0 {
            message.push_str(" or ");
        }
        message.push_str(&format!("'{example}', "));
    }
    message.push_str(&format!("regex used for validation is '{format}')"));
    message
}

// === character-class matchers (the regexes above, without a regex engine) ===

fn is_lower_alphanumeric(byte: u8) -> bool {
    byte.is_ascii_lowercase() || byte.is_ascii_digit()
}

fn matches_dns1123_label(value: &str) -> bool {
    let bytes = value.as_bytes();
    match (bytes.first(), bytes.last()) {
        (Some(&first), Some(&last)) => {
            is_lower_alphanumeric(first)
                && is_lower_alphanumeric(last)
                && bytes.iter().all(|&b| is_lower_alphanumeric(b) || b == b'-')
        }
        _ => false,
    }
}

fn matches_dns1123_subdomain(value: &str) -> bool {
    value.split('.').all(matches_dns1123_label)
}

fn matches_dns1035_label(value: &str) -> bool {
    value.as_bytes().first().is_some_and(u8::is_ascii_lowercase) && matches_dns1123_label(value)
}

fn matches_label_key_name(value: &str) -> bool {
    let bytes = value.as_bytes();
    match (bytes.first(), bytes.last()) {
        (Some(first), Some(last)) => {
            first.is_ascii_alphanumeric()
                && last.is_ascii_alphanumeric()
                && bytes
                    .iter()
                    .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        }
        _ => false,
    }
}

// === the checks ===

/// Whether `value` is a DNS-1123 label (at most 63 bytes of `[a-z0-9-]`, alphanumeric at both
/// ends); upstream's `IsDNS1123Label`.
pub fn is_dns1123_label(value: &str) -> Vec<String> {
    let mut errors = Vec::new();
    if value.len() > DNS1123_LABEL_MAX_LENGTH {
        errors.push(max_length_message(DNS1123_LABEL_MAX_LENGTH));
    }
    if !matches_dns1123_label(value) {
        if matches_dns1123_subdomain(value) {
            // A valid subdomain that is not a valid label can only be failing on its dots.
            errors.push("must not contain dots".to_owned());
        } else {
            errors.push(regex_message(
                DNS1123_LABEL_ERROR,
                DNS1123_LABEL_FORMAT,
                &["my-name", "123-abc"],
            ));
        }
    }
    errors
}

/// Whether `value` is a DNS-1123 subdomain (at most 253 bytes of dot-separated labels);
/// upstream's `IsDNS1123Subdomain`.
pub fn is_dns1123_subdomain(value: &str) -> Vec<String> {
    let mut errors = Vec::new();
    if value.len() > DNS1123_SUBDOMAIN_MAX_LENGTH {
        errors.push(max_length_message(DNS1123_SUBDOMAIN_MAX_LENGTH));
    }
    if !matches_dns1123_subdomain(value) {
        errors.push(regex_message(
            DNS1123_SUBDOMAIN_ERROR,
            DNS1123_SUBDOMAIN_FORMAT,
            &["example.com"],
        ));
    }
    errors
}

/// Whether `value` is an RFC 1035 label (like a DNS-1123 label but starting with a letter);
/// upstream's `IsDNS1035Label`.
pub fn is_dns1035_label(value: &str) -> Vec<String> {
    let mut errors = Vec::new();
    if value.len() > DNS1035_LABEL_MAX_LENGTH {
        errors.push(max_length_message(DNS1035_LABEL_MAX_LENGTH));
    }
    if !matches_dns1035_label(value) {
        errors.push(regex_message(
            DNS1035_LABEL_ERROR,
            DNS1035_LABEL_FORMAT,
            &["my-name", "abc-123"],
        ));
    }
    errors
}

/// Whether `name` can be one path segment of a URL or storage key: not `.` or `..`, no `/` or `%`.
/// Like upstream, it accepts the empty string and imposes no length limit.
pub fn is_path_segment_name(name: &str) -> Vec<String> {
    if name == "." || name == ".." {
        return vec![format!("may not be '{name}'")];
    }
    is_path_segment_prefix(name)
}

/// Whether `prefix` can start a path segment name (no `/` or `%`; `.` alone is fine since a suffix
/// follows).
pub fn is_path_segment_prefix(prefix: &str) -> Vec<String> {
    ["/", "%"]
        .iter()
        .filter(|illegal| prefix.contains(**illegal))
        .map(|illegal| format!("may not contain '{illegal}'"))
        .collect()
}

/// Whether `value` is a qualified name, i.e. a label key: an optional DNS-1123 subdomain prefix and
/// `/`, then a name of at most 63 bytes of `[-A-Za-z0-9_.]` that is alphanumeric at both ends;
/// upstream's `IsQualifiedName` / `IsLabelKey`.
pub fn is_qualified_name(value: &str) -> Vec<String> {
    let mut errors = Vec::new();
    let parts: Vec<&str> = value.split('/').collect();
    let name = match parts.as_slice() {
        [name] => *name,
        [prefix, name] => {
            if prefix.is_empty() {
                errors.push("prefix part must be non-empty".to_owned());
            } else {
                errors.extend(
                    is_dns1123_subdomain(prefix)
                        .into_iter()
                        .map(|message| format!("prefix part {message}")),
                );
            }
            *name
        }
        _ => {
            errors.push(format!(
                "a valid label key {} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
                regex_message(LABEL_KEY_ERROR, LABEL_KEY_FORMAT, &["MyName", "my.name", "123-abc"])
            ));
            return errors;
        }
    };
    if name.is_empty() {
        errors.push("name part must be non-empty".to_owned());
    } else if name.len() > QUALIFIED_NAME_MAX_LENGTH {
        errors.push(format!(
            "name part {}",
            max_length_message(QUALIFIED_NAME_MAX_LENGTH)
        ));
    }
    if !matches_label_key_name(name) {
        errors.push(format!(
            "name part {}",
            regex_message(
                LABEL_KEY_ERROR,
                LABEL_KEY_FORMAT,
                &["MyName", "my.name", "123-abc"]
            )
        ));
    }
    errors
}

/// Whether `value` is a label value: empty, or at most 63 bytes shaped like a label key's name
/// part; upstream's `IsValidLabelValue`.
pub fn is_label_value(value: &str) -> Vec<String> {
    let mut errors = Vec::new();
    if value.len() > LABEL_VALUE_MAX_LENGTH {
        errors.push(max_length_message(LABEL_VALUE_MAX_LENGTH));
    }
    if !value.is_empty() && !matches_label_key_name(value) {
        errors.push(regex_message(
            LABEL_VALUE_ERROR,
            LABEL_VALUE_FORMAT,
            &["MyValue", "my_value", "12345"],
        ));
    }
    errors
}

// === ValidateNameFunc ===

/// Upstream's `maskTrailingDash`: a `generateName` prefix may end in `-` because a suffix follows,
/// so the dash is masked before checking. Upstream replaces the last *two* bytes with `a`; kept
/// as is so the same prefixes pass and fail.
fn mask_trailing_dash(name: &str) -> String {
    if name.len() > 1 && name.ends_with('-') {
        let cut = name.len() - 2;
        if name.is_char_boundary(cut) {
            return format!("{}a", &name[..cut]);
        }
    }
    name.to_owned()
}

fn with_prefix_masked(name: &str, is_prefix: bool, check: fn(&str) -> Vec<String>) -> Vec<String> {
    if is_prefix {
        check(&mask_trailing_dash(name))
    } else {
        check(name)
    }
}

/// Name rule of most resources (`metadata.name` must be a DNS-1123 subdomain); `is_prefix` when
/// checking a `generateName`. Upstream's `NameIsDNSSubdomain`.
pub fn name_is_dns_subdomain(name: &str, is_prefix: bool) -> Vec<String> {
    with_prefix_masked(name, is_prefix, is_dns1123_subdomain)
}

/// Name rule of namespaces and other label-named resources; upstream's `NameIsDNSLabel`.
pub fn name_is_dns_label(name: &str, is_prefix: bool) -> Vec<String> {
    with_prefix_masked(name, is_prefix, is_dns1123_label)
}

/// Name rule of services; upstream's `NameIsDNS1035Label`.
pub fn name_is_dns1035_label(name: &str, is_prefix: bool) -> Vec<String> {
    with_prefix_masked(name, is_prefix, is_dns1035_label)
}

/// Name rule of resources whose names only need to be a path segment (RBAC roles and others);
/// upstream's `path.ValidatePathSegmentName`.
pub fn name_is_path_segment(name: &str, is_prefix: bool) -> Vec<String> {
    if is_prefix {
        is_path_segment_prefix(name)
    } else {
        is_path_segment_name(name)
    }
}

// === metadata maps ===

/// Upstream's `ValidateLabels`: every key a qualified name, every value a label value, each failure
/// reported at `path` itself (not per key), keys in sorted order.
pub fn validate_labels(labels: &BTreeMap<String, String>, path: &FieldPath) -> Vec<FieldError> {
    let mut errors = Vec::new();
    for (key, value) in labels {
        errors.extend(validate_label_name(key, path));
        errors.extend(
            is_label_value(value)
                .iter()
                .map(|message| FieldError::invalid(path, value, message)),
        );
    }
    errors
}

/// Upstream's `ValidateLabelName`: one error per problem with the qualified name `key`.
pub fn validate_label_name(key: &str, path: &FieldPath) -> Vec<FieldError> {
    is_qualified_name(key)
        .iter()
        .map(|message| FieldError::invalid(path, key, message))
        .collect()
}

/// Upstream's `ValidateAnnotations`: keys are qualified names compared case-insensitively, and all
/// keys and values together may not exceed [`TOTAL_ANNOTATION_SIZE_LIMIT_BYTES`]
/// (`metadata.annotations: Too long: may not be more than 262144 bytes`).
pub fn validate_annotations(
    annotations: &BTreeMap<String, String>,
    path: &FieldPath,
) -> Vec<FieldError> {
    let mut errors = Vec::new();
    for key in annotations.keys() {
        errors.extend(
            is_qualified_name(&key.to_lowercase())
                .iter()
                .map(|message| FieldError::invalid(path, key, message)),
        );
    }
    if annotations_size(annotations) > TOTAL_ANNOTATION_SIZE_LIMIT_BYTES {
        errors.push(FieldError::too_long(
            path,
            Some(TOTAL_ANNOTATION_SIZE_LIMIT_BYTES),
        ));
    }
    errors
}

/// The summed byte length of all annotation keys and values, as the size limit counts it.
pub fn annotations_size(annotations: &BTreeMap<String, String>) -> usize {
    annotations
        .iter()
        .map(|(key, value)| key.len() + value.len())
        .sum()
}

// === generateName ===

/// A name for an object created with `generateName: base`: `base`, cut to
/// [`MAX_GENERATED_NAME_LENGTH`] bytes, plus [`GENERATED_SUFFIX_LENGTH`] random characters from
/// [`GENERATED_NAME_ALPHABET`]. Upstream cuts at a byte offset; a valid base is ASCII, and for
/// anything else the cut moves back to a character boundary rather than split a character.
pub fn generate_name(base: &str) -> String {
    generate_name_with(base, || fastrand::usize(..GENERATED_NAME_ALPHABET.len()))
}

/// [`generate_name`] with the random source supplied (an index into the alphabet per call), for
/// deterministic tests.
pub fn generate_name_with(base: &str, mut random_index: impl FnMut() -> usize) -> String {
    let mut cut = base.len().min(MAX_GENERATED_NAME_LENGTH);
    while !base.is_char_boundary(cut) {
        cut -= 1;
    }
    let mut name = String::with_capacity(cut + GENERATED_SUFFIX_LENGTH);
    name.push_str(&base[..cut]);
    for _ in 0..GENERATED_SUFFIX_LENGTH {
        let index = random_index() % GENERATED_NAME_ALPHABET.len();
        name.push(char::from(GENERATED_NAME_ALPHABET[index]));
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUBDOMAIN_MESSAGE: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
    const LABEL_MESSAGE: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
    const DNS1035_MESSAGE: &str = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";
    const KEY_NAME_MESSAGE: &str = "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
    const VALUE_MESSAGE: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

    /// A test input that lives as long as the test tables that borrow it.
    fn leak(value: String) -> &'static str {
        Box::leak(value.into_boxed_str())
    }

    fn repeated(count: usize) -> &'static str {
        leak("a".repeat(count))
    }

    fn check(cases: &[(&str, Vec<String>)], rule: fn(&str) -> Vec<String>) {
        for (input, expected) in cases {
            assert_eq!(&rule(input), expected, "input {input:?}");
        }
    }

    fn messages(list: &[&str]) -> Vec<String> {
        list.iter().map(|message| (*message).to_owned()).collect()
    }

    #[test]
    fn dns1123_subdomain() {
        let long = "a".repeat(254);
        let cases = vec![
            ("example.com", vec![]),
            ("a", vec![]),
            ("1-2.3", vec![]),
            (repeated(253), vec![]),
            ("", messages(&[SUBDOMAIN_MESSAGE])),
            ("Example.com", messages(&[SUBDOMAIN_MESSAGE])),
            ("-a", messages(&[SUBDOMAIN_MESSAGE])),
            ("a-", messages(&[SUBDOMAIN_MESSAGE])),
            ("a..b", messages(&[SUBDOMAIN_MESSAGE])),
            (".a", messages(&[SUBDOMAIN_MESSAGE])),
            ("a_b", messages(&[SUBDOMAIN_MESSAGE])),
            (&*long, messages(&["must be no more than 253 bytes"])),
        ];
        check(&cases, is_dns1123_subdomain);
    }

    #[test]
    fn dns1123_label() {
        let too_long = "a".repeat(64);
        let cases = vec![
            ("my-name", vec![]),
            ("123-abc", vec![]),
            (repeated(63), vec![]),
            ("a.b", messages(&["must not contain dots"])),
            ("", messages(&[LABEL_MESSAGE])),
            ("A", messages(&[LABEL_MESSAGE])),
            ("-a", messages(&[LABEL_MESSAGE])),
            (&*too_long, messages(&["must be no more than 63 bytes"])),
        ];
        check(&cases, is_dns1123_label);
    }

    #[test]
    fn dns1035_label() {
        let cases = vec![
            ("my-name", vec![]),
            ("a1", vec![]),
            ("1a", messages(&[DNS1035_MESSAGE])),
            ("a.b", messages(&[DNS1035_MESSAGE])),
            ("", messages(&[DNS1035_MESSAGE])),
            (
                leak(format!("a{}", "b".repeat(63))),
                messages(&["must be no more than 63 bytes"]),
            ),
        ];
        check(&cases, is_dns1035_label);
    }

    #[test]
    fn path_segment_names() {
        let cases = vec![
            ("foo", vec![]),
            ("", vec![]),
            ("system:node", vec![]),
            (".", messages(&["may not be '.'"])),
            ("..", messages(&["may not be '..'"])),
            ("...", vec![]),
            ("a/b", messages(&["may not contain '/'"])),
            ("a%b", messages(&["may not contain '%'"])),
            (
                "a/%",
                messages(&["may not contain '/'", "may not contain '%'"]),
            ),
        ];
        check(&cases, is_path_segment_name);
        assert!(is_path_segment_prefix(".").is_empty());
        assert_eq!(
            is_path_segment_prefix("a/"),
            messages(&["may not contain '/'"])
        );
    }

    #[test]
    fn qualified_names() {
        let long_prefix = format!("{}/abc", "a".repeat(254));
        let cases = vec![
            ("simple", vec![]),
            ("now-with-dashes", vec![]),
            ("1-starts-with-num", vec![]),
            ("example.com/Uppercase_Is_OK_123", vec![]),
            ("Uppercase_Is_OK_123", vec![]),
            (repeated(63), vec![]),
            ("nospecialchars%^=@", messages(&[KEY_NAME_MESSAGE])),
            ("cantendwithadash-", messages(&[KEY_NAME_MESSAGE])),
            ("-cantstartwithadash-", messages(&[KEY_NAME_MESSAGE])),
            (
                "only/one/slash",
                messages(&[
                    "a valid label key must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
                ]),
            ),
            (
                "Example.com/abc",
                vec![format!("prefix part {SUBDOMAIN_MESSAGE}")],
            ),
            (
                "example.com/",
                messages(&["name part must be non-empty", KEY_NAME_MESSAGE]),
            ),
            ("/simple", messages(&["prefix part must be non-empty"])),
            (
                "",
                messages(&["name part must be non-empty", KEY_NAME_MESSAGE]),
            ),
            (
                repeated(64),
                messages(&["name part must be no more than 63 bytes"]),
            ),
            (
                &*long_prefix,
                messages(&["prefix part must be no more than 253 bytes"]),
            ),
        ];
        check(&cases, is_qualified_name);
    }

    #[test]
    fn label_values() {
        let cases = vec![
            ("", vec![]),
            ("simple", vec![]),
            ("1234", vec![]),
            (repeated(63), vec![]),
            ("-starts-with-dash", messages(&[VALUE_MESSAGE])),
            ("ends.with.dot.", messages(&[VALUE_MESSAGE])),
            ("a b", messages(&[VALUE_MESSAGE])),
            ("Tama-nui-te-rā", messages(&[VALUE_MESSAGE])),
            (repeated(64), messages(&["must be no more than 63 bytes"])),
        ];
        check(&cases, is_label_value);
    }

    #[test]
    fn generate_name_prefixes_may_end_in_a_dash() {
        let cases: Vec<(&str, bool, Vec<String>)> = vec![
            ("web-", true, vec![]),
            ("web-", false, messages(&[SUBDOMAIN_MESSAGE])),
            ("web", true, vec![]),
            ("-", true, messages(&[SUBDOMAIN_MESSAGE])),
            ("Web-", true, messages(&[SUBDOMAIN_MESSAGE])),
        ];
        for (name, is_prefix, expected) in cases {
            assert_eq!(name_is_dns_subdomain(name, is_prefix), expected, "{name:?}");
        }
        assert!(name_is_dns_label("ns-", true).is_empty());
        assert!(name_is_dns1035_label("svc-", true).is_empty());
        assert_eq!(
            name_is_path_segment("..", false),
            messages(&["may not be '..'"])
        );
        assert!(name_is_path_segment("..", true).is_empty());
    }

    #[test]
    fn labels_map_errors_are_reported_at_the_map_path() {
        let path = FieldPath::new("metadata").child("labels");
        let labels = BTreeMap::from([
            ("good".to_owned(), "ok".to_owned()),
            ("bad key".to_owned(), "bad value".to_owned()),
        ]);
        let rendered: Vec<String> = validate_labels(&labels, &path)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            rendered,
            vec![
                format!("metadata.labels: Invalid value: \"bad key\": {KEY_NAME_MESSAGE}"),
                format!("metadata.labels: Invalid value: \"bad value\": {VALUE_MESSAGE}"),
            ]
        );
    }

    #[test]
    fn annotation_keys_are_case_insensitive_and_size_is_limited() {
        let path = FieldPath::new("metadata").child("annotations");
        let ok = BTreeMap::from([("Example.COM/Key".to_owned(), "anything at all".to_owned())]);
        assert!(validate_annotations(&ok, &path).is_empty());

        let bad = BTreeMap::from([("a b".to_owned(), String::new())]);
        assert_eq!(
            validate_annotations(&bad, &path)
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
            vec![format!(
                "metadata.annotations: Invalid value: \"a b\": {KEY_NAME_MESSAGE}"
            )]
        );

        let at_limit = BTreeMap::from([(
            "k".to_owned(),
            "v".repeat(TOTAL_ANNOTATION_SIZE_LIMIT_BYTES - 1),
        )]);
        assert!(validate_annotations(&at_limit, &path).is_empty());
        let over = BTreeMap::from([(
            "k".to_owned(),
            "v".repeat(TOTAL_ANNOTATION_SIZE_LIMIT_BYTES),
        )]);
        let errors = validate_annotations(&over, &path);
        assert_eq!(errors.len(), 1);
        assert_eq!(
            errors[0].to_string(),
            "metadata.annotations: Too long: may not be more than 262144 bytes"
        );
        assert_eq!(errors[0].error_type.as_str(), "FieldValueTooLong");
    }

    #[test]
    fn generated_names_truncate_the_base_and_append_five_characters() {
        let cases = [
            ("web-", "web-bcdfg"),
            ("", "bcdfg"),
            (repeated(70), &*format!("{}bcdfg", "a".repeat(58))),
        ];
        for (base, expected) in cases {
            let mut next = 0;
            let name = generate_name_with(base, || {
                next += 1;
                next - 1
            });
            assert_eq!(name, expected);
        }
        for _ in 0..100 {
            let name = generate_name(&"x".repeat(100));
            assert_eq!(name.len(), 63);
            assert!(
                name[58..]
                    .bytes()
                    .all(|b| GENERATED_NAME_ALPHABET.contains(&b))
            );
            assert!(is_dns1123_label(&name).is_empty());
        }
        // A multi-byte character straddling the cut is dropped, not split.
        let base = format!("{}é", "a".repeat(57));
        assert_eq!(generate_name_with(&base, || 0).len(), 57 + 5);
    }
}
