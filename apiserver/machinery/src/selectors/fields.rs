//! Field selectors: upstream's `fieldSelector` syntax (`metadata.name=web,status.phase!=Running`),
//! value escaping (`\,`, `\=`, `\\`), matching, exact-match lookup for indexes, and the two
//! messages upstream uses to reject a field a resource does not support.
//!
//! Parsing follows `k8s.io/apimachinery/pkg/fields/selector.go`: terms split on unescaped commas
//! and are sorted, each term splits at its first operator (`!=`, `==`, `=`), only the value is
//! unescaped, and a term with an empty field and value is dropped.

use std::fmt;
use std::str::FromStr;

use super::Lookup;
use crate::status::go_quote;

/// Why a field selector was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldSelectorError {
    /// A term has no operator: `invalid selector: '<selector>'; can't understand '<term>'`.
    #[error("invalid selector: '{selector}'; can't understand '{term}'")]
    NoOperator {
        /// The whole selector as given.
        selector: String,
        /// The term without an operator.
        term: String,
    },
    /// A value has `\` before a character other than `\`, `,` or `=`, or ends in `\`.
    #[error("invalid field selector: invalid escape sequence: {0}")]
    InvalidEscape(String),
    /// A value holds a bare `,` or `=`. Upstream prints the character's code point (`61` for `=`),
    /// since it formats a Go rune with `%v`.
    #[error("invalid field selector: unescaped character in value: {}", u32::from(*.0))]
    UnescapedCharacter(char),
    /// The resource has its own list of selectable fields and `field` is not in it.
    #[error("field label not supported: {0}")]
    UnsupportedField(String),
    /// The resource supports only `metadata.name` and `metadata.namespace`.
    #[error("{} is not a known field selector: only \"metadata.name\", \"metadata.namespace\"", go_quote(.0))]
    UnknownField(String),
}

/// How a [`FieldTerm`] compares the field with its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldOperator {
    /// `field=value` or `field==value`.
    Equals,
    /// `field!=value`.
    NotEquals,
}

/// One `field<op>value` condition; the value is unescaped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldTerm {
    /// The field path, e.g. `metadata.name`.
    pub field: String,
    /// The comparison.
    pub operator: FieldOperator,
    /// The literal value to compare with.
    pub value: String,
}

impl FieldTerm {
    /// Whether `fields` satisfy this term; an absent field counts as the empty string, as upstream.
    pub fn matches<F: Lookup + ?Sized>(&self, fields: &F) -> bool {
        let actual = fields.lookup(&self.field);
        let actual = actual.as_deref().unwrap_or("");
        match self.operator {
            FieldOperator::Equals => actual == self.value,
            FieldOperator::NotEquals => actual != self.value,
        }
    }
}

impl fmt::Display for FieldTerm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let operator = match self.operator {
            FieldOperator::Equals => "=",
            FieldOperator::NotEquals => "!=",
        };
        write!(f, "{}{operator}{}", self.field, escape_value(&self.value))
    }
}

/// A conjunction of [`FieldTerm`]s, in upstream's order (terms sorted as written). The empty
/// selector matches everything.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FieldSelector {
    terms: Vec<FieldTerm>,
}

impl FieldSelector {
    /// The selector that matches every object.
    pub fn everything() -> Self {
        FieldSelector::default()
    }

    /// The selector requiring `field` to equal `value` (upstream's `OneTermEqualSelector`).
    pub fn equal(field: &str, value: &str) -> Self {
        FieldSelector {
            terms: vec![FieldTerm {
                field: field.to_owned(),
                operator: FieldOperator::Equals,
                value: value.to_owned(),
            }],
        }
    }

    /// Parses upstream's syntax (the `fieldSelector` query parameter).
    pub fn parse(selector: &str) -> Result<Self, FieldSelectorError> {
        let mut parts = split_terms(selector);
        parts.sort_unstable();
        let mut terms = Vec::new();
        for part in parts.into_iter().filter(|part| !part.is_empty()) {
            let Some((field, operator, raw_value)) = split_term(part) else {
                return Err(FieldSelectorError::NoOperator {
                    selector: selector.to_owned(),
                    term: part.to_owned(),
                });
            };
            let value = unescape_value(raw_value)?;
            // Upstream drops a term whose field and value are both empty (`=`).
            if field.is_empty() && value.is_empty() {
                continue;
            }
            terms.push(FieldTerm {
                field: field.to_owned(),
                operator,
                value,
            });
        }
        Ok(FieldSelector { terms })
    }

    /// The terms, in order.
    pub fn terms(&self) -> &[FieldTerm] {
        &self.terms
    }

    /// Whether the selector restricts nothing.
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// Whether `fields` satisfy every term.
    pub fn matches<F: Lookup + ?Sized>(&self, fields: &F) -> bool {
        self.terms.iter().all(|term| term.matches(fields))
    }

    /// The value `field` must equal, if a term pins it (`field=value`), so a server can use an
    /// index (e.g. `metadata.name`, `spec.nodeName`).
    pub fn requires_exact(&self, field: &str) -> Option<&str> {
        self.terms
            .iter()
            .find(|term| term.field == field && term.operator == FieldOperator::Equals)
            .map(|term| term.value.as_str())
    }

    /// The distinct fields used, in term order.
    pub fn fields(&self) -> Vec<&str> {
        let mut fields: Vec<&str> = Vec::new();
        for term in &self.terms {
            if !fields.contains(&term.field.as_str()) {
                fields.push(&term.field);
            }
        }
        fields
    }

    /// The selector with every term's field renamed by `rename`, in term order; the first error
    /// ends it (upstream's `Selector.Transform` with a kind's field label conversion, which maps
    /// a served version's field names onto the stored kind's).
    pub fn try_map_fields<E>(
        &self,
        mut rename: impl FnMut(&str) -> Result<String, E>,
    ) -> Result<Self, E> {
        let terms = self
            .terms
            .iter()
            .map(|term| {
                Ok(FieldTerm {
                    field: rename(&term.field)?,
                    operator: term.operator,
                    value: term.value.clone(),
                })
            })
            .collect::<Result<_, E>>()?;
        Ok(FieldSelector { terms })
    }

    /// Rejects the first field (in term order, as upstream) not in `supported`, with the message
    /// of resources that register their own selectable fields (Pods, Nodes, Events, Secrets, ...):
    /// `field label not supported: <field>`.
    pub fn check_supported(&self, supported: &[&str]) -> Result<(), FieldSelectorError> {
        match self.unsupported_field(supported) {
            Some(field) => Err(FieldSelectorError::UnsupportedField(field.to_owned())),
            None => Ok(()),
        }
    }

    /// Rejects any field but `metadata.name` and `metadata.namespace`, with the message of
    /// resources that register no selectable fields of their own:
    /// `"spec.x" is not a known field selector: only "metadata.name", "metadata.namespace"`.
    pub fn check_metadata_only(&self) -> Result<(), FieldSelectorError> {
        match self.unsupported_field(&["metadata.name", "metadata.namespace"]) {
            Some(field) => Err(FieldSelectorError::UnknownField(field.to_owned())),
            None => Ok(()),
        }
    }

    fn unsupported_field(&self, supported: &[&str]) -> Option<&str> {
        self.terms
            .iter()
            .map(|term| term.field.as_str())
            .find(|field| !supported.contains(field))
    }
}

impl fmt::Display for FieldSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, term) in self.terms.iter().enumerate() {
            if index > 0 {
                f.write_str(",")?;
            }
            write!(f, "{term}")?;
        }
        Ok(())
    }
}

impl FromStr for FieldSelector {
    type Err = FieldSelectorError;

    fn from_str(selector: &str) -> Result<Self, Self::Err> {
        FieldSelector::parse(selector)
    }
}

/// Escapes a literal value for a field selector: `\` → `\\`, `,` → `\,`, `=` → `\=`.
pub fn escape_value(value: &str) -> String {
    let mut escaped = String::with_capacity(value.len());
    for character in value.chars() {
        if matches!(character, '\\' | ',' | '=') {
            escaped.push('\\');
        }
        escaped.push(character);
    }
    escaped
}

/// Reverses [`escape_value`], rejecting unknown escapes and bare `,` or `=`.
pub fn unescape_value(value: &str) -> Result<String, FieldSelectorError> {
    let mut unescaped = String::with_capacity(value.len());
    let mut after_backslash = false;
    for character in value.chars() {
        if after_backslash {
            if !matches!(character, '\\' | ',' | '=') {
                return Err(FieldSelectorError::InvalidEscape(format!("\\{character}")));
            }
            unescaped.push(character);
            after_backslash = false;
            continue;
        }
        match character {
            '\\' => after_backslash = true,
            ',' | '=' => return Err(FieldSelectorError::UnescapedCharacter(character)),
            _ => unescaped.push(character),
        }
    }
    if after_backslash {
        return Err(FieldSelectorError::InvalidEscape("\\".to_owned()));
    }
    Ok(unescaped)
}

/// The comma-separated terms, keeping escaped commas (and their backslashes) inside terms.
fn split_terms(selector: &str) -> Vec<&str> {
    if selector.is_empty() {
        return Vec::new();
    }
    let mut terms = Vec::new();
    let mut start = 0;
    let mut after_backslash = false;
    for (index, byte) in selector.bytes().enumerate() {
        if after_backslash {
            after_backslash = false;
        } else if byte == b'\\' {
            after_backslash = true;
        } else if byte == b',' {
            terms.push(&selector[start..index]);
            start = index + 1;
        }
    }
    terms.push(&selector[start..]);
    terms
}

/// Splits a term at the first position where an operator starts (`!=` before `==` before `=`).
/// The field cannot be escaped, so the first operator wins; the raw value is returned.
fn split_term(term: &str) -> Option<(&str, FieldOperator, &str)> {
    for (index, _) in term.char_indices() {
        let rest = &term[index..];
        for (operator_text, operator) in [
            ("!=", FieldOperator::NotEquals),
            ("==", FieldOperator::Equals),
            ("=", FieldOperator::Equals),
        ] {
            if let Some(value) = rest.strip_prefix(operator_text) {
                return Some((&term[..index], operator, value));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::selectors::LookupFn;

    #[test]
    fn valid_selectors_parse_and_print_canonically() {
        let cases = [
            ("", ""),
            (",", ""),
            ("=", ""),
            ("metadata.name=web", "metadata.name=web"),
            ("metadata.name==web", "metadata.name=web"),
            ("status.phase!=Running", "status.phase!=Running"),
            ("b=2,a=1", "a=1,b=2"),
            ("a=1,,b=2", "a=1,b=2"),
            ("x=", "x="),
            ("=v", "=v"),
            ("x=a\\,b", "x=a\\,b"),
            ("x=a\\=b", "x=a\\=b"),
            ("x=a\\\\b", "x=a\\\\b"),
            ("x==\\=", "x=\\="),
            ("a!b=c", "a!b=c"),
            ("x = y", "x = y"),
        ];
        for (input, expected) in cases {
            let selector = FieldSelector::parse(input)
                .unwrap_or_else(|error| panic!("{input:?} should parse: {error}"));
            assert_eq!(selector.to_string(), expected, "input {input:?}");
            assert_eq!(
                FieldSelector::parse(expected).ok(),
                Some(selector),
                "{input:?}"
            );
        }
    }

    #[test]
    fn parsed_terms_hold_unescaped_values() {
        let cases = [
            ("x=a\\,b", "x", FieldOperator::Equals, "a,b"),
            ("x!=a\\=b", "x", FieldOperator::NotEquals, "a=b"),
            ("x=\\\\", "x", FieldOperator::Equals, "\\"),
            ("x = y", "x ", FieldOperator::Equals, " y"),
            ("a!b=c", "a!b", FieldOperator::Equals, "c"),
        ];
        for (input, field, operator, value) in cases {
            let expected = FieldTerm {
                field: field.to_owned(),
                operator,
                value: value.to_owned(),
            };
            let terms = match FieldSelector::parse(input) {
                Ok(selector) => selector.terms().to_vec(),
                Err(error) => panic!("{input:?}: {error}"),
            };
            assert_eq!(terms, vec![expected], "input {input:?}");
        }
    }

    #[test]
    fn invalid_selectors_fail_with_upstream_messages() {
        let cases = [
            (
                "metadata.name",
                "invalid selector: 'metadata.name'; can't understand 'metadata.name'",
            ),
            ("a=1,b", "invalid selector: 'a=1,b'; can't understand 'b'"),
            (
                "x=a\\b",
                "invalid field selector: invalid escape sequence: \\b",
            ),
            (
                "x=a\\",
                "invalid field selector: invalid escape sequence: \\",
            ),
            (
                "x=a=b",
                "invalid field selector: unescaped character in value: 61",
            ),
            (
                "x===",
                "invalid field selector: unescaped character in value: 61",
            ),
            (
                "a!=b!=c",
                "invalid field selector: unescaped character in value: 61",
            ),
        ];
        for (input, expected) in cases {
            match FieldSelector::parse(input) {
                Ok(selector) => panic!("{input:?} should fail, parsed as {selector}"),
                Err(error) => assert_eq!(error.to_string(), expected, "input {input:?}"),
            }
        }
        assert_eq!(
            FieldSelectorError::UnescapedCharacter(',').to_string(),
            "invalid field selector: unescaped character in value: 44"
        );
    }

    #[test]
    fn matching_treats_absent_fields_as_empty() {
        let fields = BTreeMap::from([
            ("metadata.name".to_owned(), "web".to_owned()),
            ("status.phase".to_owned(), "Running".to_owned()),
        ]);
        let cases = [
            ("", true),
            ("metadata.name=web", true),
            ("metadata.name=db", false),
            ("metadata.name!=db", true),
            ("status.phase!=Running", false),
            ("spec.nodeName=", true),
            ("spec.nodeName!=", false),
            ("spec.nodeName!=node-1", true),
            ("metadata.name=web,status.phase=Running", true),
            ("metadata.name=web,status.phase=Pending", false),
        ];
        for (selector, expected) in cases {
            let parsed =
                FieldSelector::parse(selector).unwrap_or_else(|e| panic!("{selector}: {e}"));
            assert_eq!(parsed.matches(&fields), expected, "{selector:?}");
        }
        let computed =
            LookupFn(|field: &str| (field == "spec.nodeName").then(|| "node-1".to_owned()));
        assert!(FieldSelector::parse("spec.nodeName=node-1").is_ok_and(|s| s.matches(&computed)));
    }

    #[test]
    fn exact_matches_and_fields_are_reported() {
        let selector = FieldSelector::parse("spec.nodeName=n1,metadata.name!=x,metadata.name=web")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(selector.requires_exact("metadata.name"), Some("web"));
        assert_eq!(selector.requires_exact("spec.nodeName"), Some("n1"));
        assert_eq!(selector.requires_exact("status.phase"), None);
        assert_eq!(selector.fields(), vec!["metadata.name", "spec.nodeName"]);
        assert_eq!(
            FieldSelector::equal("metadata.name", "a,b").to_string(),
            "metadata.name=a\\,b"
        );
    }

    #[test]
    fn fields_are_renamed_and_values_kept() {
        let selector = FieldSelector::parse("regarding.kind=Pod,type!=Normal")
            .unwrap_or_else(|e| panic!("{e}"));
        let renamed = selector
            .try_map_fields(|field| {
                Ok::<_, String>(match field {
                    "regarding.kind" => "involvedObject.kind".to_owned(),
                    other => other.to_owned(),
                })
            })
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(renamed.to_string(), "involvedObject.kind=Pod,type!=Normal");
        assert_eq!(
            selector.try_map_fields(|field| Err::<String, _>(field.to_owned())),
            Err("regarding.kind".to_owned())
        );
    }

    #[test]
    fn unsupported_fields_are_rejected_with_upstream_messages() {
        let selector = FieldSelector::parse("spec.foo=1,metadata.name=a,spec.bar=2")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            selector
                .check_supported(&["metadata.name", "spec.foo"])
                .map_err(|e| e.to_string()),
            Err("field label not supported: spec.bar".to_owned())
        );
        assert_eq!(
            selector.check_metadata_only().map_err(|e| e.to_string()),
            Err("\"spec.bar\" is not a known field selector: only \"metadata.name\", \"metadata.namespace\"".to_owned())
        );
        assert!(
            selector
                .check_supported(&["metadata.name", "spec.foo", "spec.bar"])
                .is_ok()
        );
        let metadata = FieldSelector::parse("metadata.namespace=default,metadata.name=a")
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(metadata.check_metadata_only().is_ok());
    }

    #[test]
    fn escaping_round_trips() {
        for value in ["", "plain", "a,b", "a=b", "a\\b", "\\,=\\"] {
            assert_eq!(unescape_value(&escape_value(value)).as_deref(), Ok(value));
        }
    }
}
