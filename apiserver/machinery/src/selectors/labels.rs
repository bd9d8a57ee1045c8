//! Label selectors: upstream's string syntax (`app=web,tier!=db,env in (a,b),!legacy,rank>3`),
//! matching, the canonical string form, and conversion from and validation of the
//! `metav1.LabelSelector` objects embedded in workloads.
//!
//! The parser is upstream's lexer and recursive descent grammar re-expressed, so that every input
//! is accepted or rejected as kube-apiserver does and with the same message, including the
//! corners: `in`/`notin` are ordinary words where a key or value is expected, `x in ()` selects the
//! empty value, whitespace separates tokens anywhere, and a NUL byte where a token would start ends
//! the input.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use k8s_openapi::apimachinery::pkg::apis::meta::v1 as metav1;

use super::Lookup;
use crate::names::{is_label_value, is_qualified_name, validate_label_name, validate_labels};
use crate::status::{BadValue, FieldError, FieldPath, aggregate_message, go_quote};

// === Operator ===

/// How a [`Requirement`] relates a label's value to its values (upstream's `selection.Operator`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operator {
    /// `key=value`: the label is present with this value.
    Equals,
    /// `key==value`: same as [`Operator::Equals`], kept apart so it prints back as written.
    DoubleEquals,
    /// `key!=value`: the label is absent or has another value.
    NotEquals,
    /// `key in (a,b)`: the label is present with one of the values.
    In,
    /// `key notin (a,b)`: the label is absent or has none of the values.
    NotIn,
    /// `key`: the label is present.
    Exists,
    /// `!key`: the label is absent.
    DoesNotExist,
    /// `key>3`: the label is present and, read as an integer, greater.
    GreaterThan,
    /// `key<3`: the label is present and, read as an integer, smaller.
    LessThan,
}

impl Operator {
    /// Upstream's spelling of the operator (`selection.Operator`), used in error messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Operator::Equals => "=",
            Operator::DoubleEquals => "==",
            Operator::NotEquals => "!=",
            Operator::In => "in",
            Operator::NotIn => "notin",
            Operator::Exists => "exists",
            Operator::DoesNotExist => "!",
            Operator::GreaterThan => "gt",
            Operator::LessThan => "lt",
        }
    }
}

/// The operators that take values, in the order upstream lists them in "expected" messages.
const BINARY_OPERATORS: &str = "in, notin, =, ==, !=, gt, lt";

// === errors ===

/// Why a label selector could not be built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LabelSelectorError {
    /// The selector string breaks the grammar between requirements, e.g.
    /// `found ',', expected: !, identifier, or 'end of string'`.
    #[error("{0}")]
    Syntax(String),
    /// One requirement of the selector string is malformed or invalid; the inner text is
    /// upstream's, the `unable to parse requirement: ` prefix too.
    #[error("unable to parse requirement: {0}")]
    Requirement(String),
    /// A requirement assembled from parts (e.g. a `metav1.LabelSelector`) failed validation.
    #[error("{}", aggregate_message(.0).unwrap_or_default())]
    Invalid(Vec<FieldError>),
    /// A `matchExpressions` operator other than In, NotIn, Exists and DoesNotExist.
    #[error("{} is not a valid label selector operator", go_quote(.0))]
    UnknownOperator(String),
}

// === Requirement ===

/// One condition of a label selector: a key, an operator and (for most operators) values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    key: String,
    operator: Operator,
    values: Vec<String>,
}

impl Requirement {
    /// A validated requirement (upstream's `NewRequirement`): the key must be a qualified name,
    /// every value a label value, In/NotIn need values, Exists/DoesNotExist none, the others
    /// exactly one, and Gt/Lt an integer.
    pub fn new(
        key: &str,
        operator: Operator,
        values: Vec<String>,
    ) -> Result<Self, LabelSelectorError> {
        Requirement::validated(key, operator, values, &FieldPath::root())
            .map_err(LabelSelectorError::Invalid)
    }

    fn validated(
        key: &str,
        operator: Operator,
        values: Vec<String>,
        path: &FieldPath,
    ) -> Result<Self, Vec<FieldError>> {
        let mut errors = Vec::new();
        if let Some(error) = key_error(key, &path.child("key")) {
            errors.push(error);
        }
        let values_path = path.child("values");
        let listed = || BadValue::string_list(Some(&values));
        match operator {
            Operator::In | Operator::NotIn if values.is_empty() => {
                errors.push(FieldError::invalid(
                    &values_path,
                    listed(),
                    "for 'in', 'notin' operators, values set can't be empty",
                ))
            }
            Operator::Equals | Operator::DoubleEquals | Operator::NotEquals
                if values.len() != 1 =>
            {
                errors.push(FieldError::invalid(
                    &values_path,
                    listed(),
                    "exact-match compatibility requires one single value",
                ))
            }
            Operator::Exists | Operator::DoesNotExist if !values.is_empty() => {
                errors.push(FieldError::invalid(
                    &values_path,
                    listed(),
                    "values set must be empty for exists and does not exist",
                ))
            }
            Operator::GreaterThan | Operator::LessThan => {
                if values.len() != 1 {
                    errors.push(FieldError::invalid(
                        &values_path,
                        listed(),
                        "for 'Gt', 'Lt' operators, exactly one value is required",
                    ));
                }
                for (index, value) in values.iter().enumerate() {
                    if value.parse::<i64>().is_err() {
                        errors.push(FieldError::invalid(
                            &values_path.index(index),
                            value,
                            "for 'Gt', 'Lt' operators, the value must be an integer",
                        ));
                    }
                }
            }
            _ => {}
        }
        for (index, value) in values.iter().enumerate() {
            let messages = is_label_value(value);
            if !messages.is_empty() {
                errors.push(FieldError::invalid(
                    &values_path.index(index).key(key),
                    value,
                    &messages.join("; "),
                ));
            }
        }
        if errors.is_empty() {
            Ok(Requirement {
                key: key.to_owned(),
                operator,
                values,
            })
        } else {
            Err(errors)
        }
    }

    /// The label key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The operator.
    pub fn operator(&self) -> Operator {
        self.operator
    }

    /// The values, in the order given (the parser gives them sorted and without duplicates).
    pub fn values(&self) -> &[String] {
        &self.values
    }

    fn has_value(&self, value: &str) -> bool {
        self.values.iter().any(|candidate| candidate == value)
    }

    /// Whether `labels` satisfy this requirement.
    pub fn matches<L: Lookup + ?Sized>(&self, labels: &L) -> bool {
        let value = labels.lookup(&self.key);
        match self.operator {
            Operator::Equals | Operator::DoubleEquals | Operator::In => {
                value.is_some_and(|value| self.has_value(&value))
            }
            Operator::NotEquals | Operator::NotIn => {
                value.is_none_or(|value| !self.has_value(&value))
            }
            Operator::Exists => value.is_some(),
            Operator::DoesNotExist => value.is_none(),
            Operator::GreaterThan | Operator::LessThan => {
                let (Some(value), [bound]) = (value, self.values.as_slice()) else {
                    return false;
                };
                // A label that is not an integer never compares, as upstream.
                let (Ok(value), Ok(bound)) = (value.parse::<i64>(), bound.parse::<i64>()) else {
                    return false;
                };
                if self.operator == Operator::GreaterThan {
                    value > bound
                } else {
                    value < bound
                }
            }
        }
    }
}

/// Upstream's `validateLabelKey`: all of a key's problems joined into one field error.
fn key_error(key: &str, path: &FieldPath) -> Option<FieldError> {
    let messages = is_qualified_name(key);
    (!messages.is_empty()).then(|| FieldError::invalid(path, key, &messages.join("; ")))
}

impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.operator == Operator::DoesNotExist {
            f.write_str("!")?;
        }
        f.write_str(&self.key)?;
        let separator = match self.operator {
            Operator::Exists | Operator::DoesNotExist => return Ok(()),
            Operator::Equals => "=",
            Operator::DoubleEquals => "==",
            Operator::NotEquals => "!=",
            Operator::In => " in ",
            Operator::NotIn => " notin ",
            Operator::GreaterThan => ">",
            Operator::LessThan => "<",
        };
        f.write_str(separator)?;
        let in_parentheses = matches!(self.operator, Operator::In | Operator::NotIn);
        if in_parentheses {
            f.write_str("(")?;
        }
        // Several values print sorted so that equal selectors print equally.
        let mut values: Vec<&str> = self.values.iter().map(String::as_str).collect();
        values.sort_unstable();
        f.write_str(&values.join(","))?;
        if in_parentheses {
            f.write_str(")")?;
        }
        Ok(())
    }
}

// === LabelSelector ===

/// A set of [`Requirement`]s that must all hold, kept sorted by key. The empty selector matches
/// everything; [`LabelSelector::nothing`] (from an absent `metav1.LabelSelector`) matches nothing.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LabelSelector {
    requirements: Vec<Requirement>,
    matches_nothing: bool,
}

impl LabelSelector {
    /// The selector that matches every object.
    pub fn everything() -> Self {
        LabelSelector::default()
    }

    /// The selector that matches no object (upstream's `labels.Nothing()`); it prints as `""`.
    pub fn nothing() -> Self {
        LabelSelector {
            requirements: Vec::new(),
            matches_nothing: true,
        }
    }

    /// Parses upstream's selector syntax (the `labelSelector` query parameter).
    pub fn parse(selector: &str) -> Result<Self, LabelSelectorError> {
        let tokens = Lexer::new(selector).tokens();
        let mut requirements = Parser {
            tokens,
            position: 0,
        }
        .parse()?;
        sort_by_key(&mut requirements);
        Ok(LabelSelector {
            requirements,
            matches_nothing: false,
        })
    }

    /// The selector requiring exactly these labels, unvalidated (upstream's `SelectorFromSet`).
    pub fn from_labels(labels: &BTreeMap<String, String>) -> Self {
        LabelSelector {
            requirements: labels
                .iter()
                .map(|(key, value)| Requirement {
                    key: key.clone(),
                    operator: Operator::Equals,
                    values: vec![value.clone()],
                })
                .collect(),
            matches_nothing: false,
        }
    }

    /// Converts a `metav1.LabelSelector` (upstream's `LabelSelectorAsSelector`): absent selects
    /// nothing, empty selects everything, otherwise `matchLabels` become `key=value` and
    /// `matchExpressions` In/NotIn/Exists/DoesNotExist requirements.
    pub fn from_api(selector: Option<&metav1::LabelSelector>) -> Result<Self, LabelSelectorError> {
        let Some(selector) = selector else {
            return Ok(LabelSelector::nothing());
        };
        let match_labels = selector.match_labels.as_ref();
        let match_expressions = selector.match_expressions.as_deref().unwrap_or_default();
        let mut requirements = Vec::new();
        for (key, value) in match_labels.into_iter().flatten() {
            requirements.push(
                Requirement::validated(
                    key,
                    Operator::Equals,
                    vec![value.clone()],
                    &FieldPath::root(),
                )
                .map_err(LabelSelectorError::Invalid)?,
            );
        }
        for expression in match_expressions {
            let operator = match expression.operator.as_str() {
                "In" => Operator::In,
                "NotIn" => Operator::NotIn,
                "Exists" => Operator::Exists,
                "DoesNotExist" => Operator::DoesNotExist,
                other => return Err(LabelSelectorError::UnknownOperator(other.to_owned())),
            };
            requirements.push(
                Requirement::validated(
                    &expression.key,
                    operator,
                    expression.values.clone().unwrap_or_default(),
                    &FieldPath::root(),
                )
                .map_err(LabelSelectorError::Invalid)?,
            );
        }
        sort_by_key(&mut requirements);
        Ok(LabelSelector {
            requirements,
            matches_nothing: false,
        })
    }

    /// This selector with one more requirement.
    pub fn with(mut self, requirement: Requirement) -> Self {
        self.requirements.push(requirement);
        sort_by_key(&mut self.requirements);
        self
    }

    /// The requirements, sorted by key.
    pub fn requirements(&self) -> &[Requirement] {
        &self.requirements
    }

    /// Whether the selector restricts nothing (matches every object).
    pub fn is_empty(&self) -> bool {
        !self.matches_nothing && self.requirements.is_empty()
    }

    /// Whether this is [`LabelSelector::nothing`].
    pub fn matches_nothing(&self) -> bool {
        self.matches_nothing
    }

    /// Whether `labels` satisfy every requirement.
    pub fn matches<L: Lookup + ?Sized>(&self, labels: &L) -> bool {
        !self.matches_nothing
            && self
                .requirements
                .iter()
                .all(|requirement| requirement.matches(labels))
    }

    /// The one value `key` must have, if the selector pins it (`key=v`, `key==v`, `key in (v)`), so
    /// a server can use an index. Like upstream, only the first requirement on `key` is consulted.
    pub fn requires_exact_match(&self, key: &str) -> Option<&str> {
        let requirement = self.requirements.iter().find(|r| r.key == key)?;
        match (requirement.operator, requirement.values.as_slice()) {
            (Operator::Equals | Operator::DoubleEquals | Operator::In, [value]) => Some(value),
            _ => None,
        }
    }
}

fn sort_by_key(requirements: &mut [Requirement]) {
    requirements.sort_by(|a, b| a.key.cmp(&b.key));
}

impl fmt::Display for LabelSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, requirement) in self.requirements.iter().enumerate() {
            if index > 0 {
                f.write_str(",")?;
            }
            write!(f, "{requirement}")?;
        }
        Ok(())
    }
}

impl FromStr for LabelSelector {
    type Err = LabelSelectorError;

    fn from_str(selector: &str) -> Result<Self, Self::Err> {
        LabelSelector::parse(selector)
    }
}

/// Options of [`validate_label_selector`], as upstream's `LabelSelectorValidationOptions`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LabelSelectorValidationOptions {
    /// Accept values that are not valid label values (only for objects stored before upstream
    /// started checking them).
    pub allow_invalid_label_value_in_selector: bool,
}

/// Validates a `metav1.LabelSelector` inside an object (upstream's `ValidateLabelSelector`),
/// reporting problems at `path` (e.g. `spec.selector`).
pub fn validate_label_selector(
    selector: &metav1::LabelSelector,
    options: LabelSelectorValidationOptions,
    path: &FieldPath,
) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if let Some(match_labels) = &selector.match_labels {
        errors.extend(validate_labels(match_labels, &path.child("matchLabels")));
    }
    let expressions_path = path.child("matchExpressions");
    for (index, expression) in selector.match_expressions.iter().flatten().enumerate() {
        let path = expressions_path.index(index);
        let values = expression.values.as_deref().unwrap_or_default();
        match expression.operator.as_str() {
            "In" | "NotIn" if values.is_empty() => errors.push(FieldError::required(
                &path.child("values"),
                "must be specified when `operator` is 'In' or 'NotIn'",
            )),
            "Exists" | "DoesNotExist" if !values.is_empty() => errors.push(FieldError::forbidden(
                &path.child("values"),
                "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
            )),
            "In" | "NotIn" | "Exists" | "DoesNotExist" => {}
            other => errors.push(FieldError::invalid(
                &path.child("operator"),
                other,
                "not a valid selector operator",
            )),
        }
        errors.extend(validate_label_name(&expression.key, &path.child("key")));
        if !options.allow_invalid_label_value_in_selector {
            for (value_index, value) in values.iter().enumerate() {
                errors.extend(is_label_value(value).iter().map(|message| {
                    FieldError::invalid(&path.child("values").index(value_index), value, message)
                }));
            }
        }
    }
    errors
}

// === lexer ===

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    EndOfString,
    ClosedParenthesis,
    Comma,
    DoesNotExist,
    DoubleEquals,
    Equals,
    GreaterThan,
    Identifier,
    In,
    LessThan,
    NotEquals,
    NotIn,
    OpenParenthesis,
}

/// The fixed tokens (everything but identifiers and the end).
fn keyword(literal: &str) -> Option<Token> {
    Some(match literal {
        ")" => Token::ClosedParenthesis,
        "," => Token::Comma,
        "!" => Token::DoesNotExist,
        "==" => Token::DoubleEquals,
        "=" => Token::Equals,
        ">" => Token::GreaterThan,
        "in" => Token::In,
        "<" => Token::LessThan,
        "!=" => Token::NotEquals,
        "notin" => Token::NotIn,
        "(" => Token::OpenParenthesis,
        _ => return None,
    })
}

fn is_whitespace(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_special_symbol(byte: u8) -> bool {
    matches!(byte, b'=' | b'!' | b'(' | b')' | b',' | b'>' | b'<')
}

/// Upstream's byte-at-a-time lexer. Reading returns 0 at the end of input, so a NUL byte in the
/// input also ends whatever is being scanned, exactly as upstream behaves.
struct Lexer<'a> {
    input: &'a str,
    position: usize,
}

impl<'a> Lexer<'a> {
    fn new(input: &'a str) -> Self {
        Lexer { input, position: 0 }
    }

    fn read(&mut self) -> u8 {
        match self.input.as_bytes().get(self.position) {
            Some(&byte) => {
                self.position += 1;
                byte
            }
            None => 0,
        }
    }

    fn unread(&mut self) {
        self.position -= 1;
    }

    /// Every token up to and including the first end-of-string.
    fn tokens(mut self) -> Vec<(Token, &'a str)> {
        let mut tokens = Vec::new();
        loop {
            let token = self.next_token();
            tokens.push(token);
            if token.0 == Token::EndOfString {
                return tokens;
            }
        }
    }

    fn next_token(&mut self) -> (Token, &'a str) {
        let mut byte = self.read();
        while is_whitespace(byte) {
            byte = self.read();
        }
        if byte == 0 {
            return (Token::EndOfString, "");
        }
        self.unread();
        if is_special_symbol(byte) {
            self.scan_special_symbol()
        } else {
            self.scan_identifier_or_keyword()
        }
    }

    fn scan_identifier_or_keyword(&mut self) -> (Token, &'a str) {
        let start = self.position;
        let end = loop {
            let byte = self.read();
            if byte == 0 {
                // At the real end nothing was consumed; at a NUL byte it was, and is dropped.
                break if self.position > start && self.input.as_bytes()[self.position - 1] == 0 {
                    self.position - 1
                } else {
                    self.position
                };
            }
            if is_special_symbol(byte) || is_whitespace(byte) {
                self.unread();
                break self.position;
            }
        };
        let literal = &self.input[start..end];
        (keyword(literal).unwrap_or(Token::Identifier), literal)
    }

    /// The longest operator starting here (`!=` rather than `!`, `==` rather than `=`). Every
    /// single special symbol is itself a token, so this always finds one.
    fn scan_special_symbol(&mut self) -> (Token, &'a str) {
        let start = self.position;
        let mut longest = (Token::EndOfString, "");
        loop {
            let byte = self.read();
            if byte == 0 || !is_special_symbol(byte) {
                if byte != 0 {
                    self.unread();
                }
                break;
            }
            let candidate = &self.input[start..self.position];
            match keyword(candidate) {
                Some(token) => longest = (token, candidate),
                None => {
                    self.unread();
                    break;
                }
            }
        }
        longest
    }
}

// === parser ===

/// Whether `in`/`notin` count as words here: wherever a key or value may stand they are ordinary
/// identifiers (`in in (in)` is valid).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Context {
    KeyAndOperator,
    Values,
}

struct Parser<'a> {
    tokens: Vec<(Token, &'a str)>,
    position: usize,
}

impl<'a> Parser<'a> {
    fn lookahead(&self, context: Context) -> (Token, &'a str) {
        let (token, literal) = self
            .tokens
            .get(self.position)
            .copied()
            .unwrap_or((Token::EndOfString, ""));
        match (context, token) {
            (Context::Values, Token::In | Token::NotIn) => (Token::Identifier, literal),
            _ => (token, literal),
        }
    }

    fn consume(&mut self, context: Context) -> (Token, &'a str) {
        let item = self.lookahead(context);
        self.position += 1;
        item
    }

    fn parse(&mut self) -> Result<Vec<Requirement>, LabelSelectorError> {
        let mut requirements = Vec::new();
        loop {
            let (token, literal) = self.lookahead(Context::Values);
            match token {
                Token::Identifier | Token::DoesNotExist => {
                    requirements.push(self.parse_requirement()?);
                    let (token, literal) = self.consume(Context::Values);
                    match token {
                        Token::EndOfString => return Ok(requirements),
                        Token::Comma => {
                            let (next, next_literal) = self.lookahead(Context::Values);
                            if next != Token::Identifier && next != Token::DoesNotExist {
                                return Err(LabelSelectorError::Syntax(format!(
                                    "found '{next_literal}', expected: identifier after ','"
                                )));
                            }
                        }
                        _ => {
                            return Err(LabelSelectorError::Syntax(format!(
                                "found '{literal}', expected: ',' or 'end of string'"
                            )));
                        }
                    }
                }
                Token::EndOfString => return Ok(requirements),
                _ => {
                    return Err(LabelSelectorError::Syntax(format!(
                        "found '{literal}', expected: !, identifier, or 'end of string'"
                    )));
                }
            }
        }
    }

    fn parse_requirement(&mut self) -> Result<Requirement, LabelSelectorError> {
        let (key, inferred) = self.parse_key_and_infer_operator()?;
        let (operator, values) = match inferred {
            Some(operator) => (operator, Vec::new()),
            None => {
                let operator = self.parse_operator()?;
                let values = match operator {
                    Operator::In | Operator::NotIn => self.parse_values()?,
                    _ => vec![self.parse_exact_value()?],
                };
                (operator, values)
            }
        };
        Requirement::validated(key, operator, values, &FieldPath::root()).map_err(|errors| {
            LabelSelectorError::Requirement(aggregate_message(&errors).unwrap_or_default())
        })
    }

    /// The key, and the operator when it is already known: `!key` is DoesNotExist, a key followed
    /// by `,` or the end is Exists.
    fn parse_key_and_infer_operator(
        &mut self,
    ) -> Result<(&'a str, Option<Operator>), LabelSelectorError> {
        let (mut token, mut literal) = self.consume(Context::Values);
        let negated = token == Token::DoesNotExist;
        if negated {
            (token, literal) = self.consume(Context::Values);
        }
        if token != Token::Identifier {
            return Err(LabelSelectorError::Requirement(format!(
                "found '{literal}', expected: identifier"
            )));
        }
        // The parser checks keys with no field path, so upstream reports them at "<nil>".
        if let Some(error) = key_error(literal, &FieldPath::root()) {
            return Err(LabelSelectorError::Requirement(error.to_string()));
        }
        if negated {
            return Ok((literal, Some(Operator::DoesNotExist)));
        }
        let (next, _) = self.lookahead(Context::Values);
        let exists = matches!(next, Token::EndOfString | Token::Comma);
        Ok((literal, exists.then_some(Operator::Exists)))
    }

    fn parse_operator(&mut self) -> Result<Operator, LabelSelectorError> {
        let (token, literal) = self.consume(Context::KeyAndOperator);
        Ok(match token {
            Token::In => Operator::In,
            Token::Equals => Operator::Equals,
            Token::DoubleEquals => Operator::DoubleEquals,
            Token::GreaterThan => Operator::GreaterThan,
            Token::LessThan => Operator::LessThan,
            Token::NotIn => Operator::NotIn,
            Token::NotEquals => Operator::NotEquals,
            _ => {
                return Err(LabelSelectorError::Requirement(format!(
                    "found '{literal}', expected: {BINARY_OPERATORS}"
                )));
            }
        })
    }

    /// `( a, b, ... )`, as a sorted set; empty entries (`()`, `(a,)`, `(,,)`) are the empty value.
    fn parse_values(&mut self) -> Result<Vec<String>, LabelSelectorError> {
        let (token, literal) = self.consume(Context::Values);
        if token != Token::OpenParenthesis {
            return Err(LabelSelectorError::Requirement(format!(
                "found '{literal}' expected: '('"
            )));
        }
        let (token, literal) = self.lookahead(Context::Values);
        let values = match token {
            Token::Identifier | Token::Comma => {
                let values = self.parse_identifier_list()?;
                // The list only ends in front of ')', which this consumes.
                self.consume(Context::Values);
                values
            }
            Token::ClosedParenthesis => {
                self.consume(Context::Values);
                vec![String::new()]
            }
            _ => {
                return Err(LabelSelectorError::Requirement(format!(
                    "found '{literal}', expected: ',', ')' or identifier"
                )));
            }
        };
        Ok(values)
    }

    fn parse_identifier_list(&mut self) -> Result<Vec<String>, LabelSelectorError> {
        let mut values: Vec<String> = Vec::new();
        let insert = |values: &mut Vec<String>, value: &str| {
            if let Err(at) = values.binary_search_by(|v| v.as_str().cmp(value)) {
                values.insert(at, value.to_owned());
            }
        };
        loop {
            let (token, literal) = self.consume(Context::Values);
            match token {
                Token::Identifier => {
                    insert(&mut values, literal);
                    let (next, next_literal) = self.lookahead(Context::Values);
                    match next {
                        Token::Comma => continue,
                        Token::ClosedParenthesis => return Ok(values),
                        _ => {
                            return Err(LabelSelectorError::Requirement(format!(
                                "found '{next_literal}', expected: ',' or ')'"
                            )));
                        }
                    }
                }
                Token::Comma => {
                    if values.is_empty() {
                        insert(&mut values, "");
                    }
                    match self.lookahead(Context::Values).0 {
                        Token::ClosedParenthesis => {
                            insert(&mut values, "");
                            return Ok(values);
                        }
                        Token::Comma => insert(&mut values, ""),
                        _ => {}
                    }
                }
                _ => {
                    return Err(LabelSelectorError::Requirement(format!(
                        "found '{literal}', expected: ',', or identifier"
                    )));
                }
            }
        }
    }

    /// The single value after `=`, `==`, `!=`, `>` or `<`; nothing before `,` or the end is the
    /// empty value.
    fn parse_exact_value(&mut self) -> Result<String, LabelSelectorError> {
        let (next, _) = self.lookahead(Context::Values);
        if matches!(next, Token::EndOfString | Token::Comma) {
            return Ok(String::new());
        }
        let (token, literal) = self.consume(Context::Values);
        if token == Token::Identifier {
            Ok(literal.to_owned())
        } else {
            Err(LabelSelectorError::Requirement(format!(
                "found '{literal}', expected: identifier"
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY_NAME_MESSAGE: &str = "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
    const VALUE_MESSAGE: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn valid_selectors_parse_and_print_canonically() {
        let cases = [
            ("", ""),
            ("x=a", "x=a"),
            ("x==a", "x==a"),
            ("x!=a", "x!=a"),
            ("x=a,y=b", "x=a,y=b"),
            ("y=b,x=a", "x=a,y=b"),
            (" x = a , y ", "x=a,y"),
            ("\tx\n=\ra", "x=a"),
            ("x in (b,a)", "x in (a,b)"),
            ("x notin (b, a, b)", "x notin (a,b)"),
            ("x", "x"),
            ("!x", "!x"),
            ("! x", "!x"),
            ("x>1", "x>1"),
            ("x<10", "x<10"),
            ("x=", "x="),
            ("x=,y=a", "x=,y=a"),
            ("x in ()", "x in ()"),
            ("x in (,)", "x in ()"),
            ("x in (a,)", "x in (,a)"),
            (
                "x in (foo,,baz),y,z notin ()",
                "x in (,baz,foo),y,z notin ()",
            ),
            ("in in (in)", "in in (in)"),
            ("notin notin (notin)", "notin notin (notin)"),
            ("x=in", "x=in"),
            ("example.com/app=web", "example.com/app=web"),
            ("x=a \0ignored, rest", "x=a"),
        ];
        for (input, expected) in cases {
            let selector = LabelSelector::parse(input)
                .unwrap_or_else(|error| panic!("{input:?} should parse: {error}"));
            assert_eq!(selector.to_string(), expected, "input {input:?}");
            // The canonical form parses back to the same selector.
            assert_eq!(
                LabelSelector::parse(expected).ok(),
                Some(selector),
                "{input:?}"
            );
        }
    }

    #[test]
    fn invalid_selectors_fail_with_upstream_messages() {
        let long_key = "a".repeat(64);
        let cases: Vec<(&str, String)> = vec![
            ("x=a b", "found 'b', expected: ',' or 'end of string'".into()),
            ("x=a,", "found '', expected: identifier after ','".into()),
            ("x,,y", "found ',', expected: identifier after ','".into()),
            (",x", "found ',', expected: !, identifier, or 'end of string'".into()),
            ("=a", "found '=', expected: !, identifier, or 'end of string'".into()),
            ("!x=a", "found '=', expected: ',' or 'end of string'".into()),
            ("x=a=b", "found '=', expected: ',' or 'end of string'".into()),
            // A NUL byte ends an identifier but not the input, as upstream's lexer reads it.
            ("x=a\0more", "found 'more', expected: ',' or 'end of string'".into()),
            ("x in a", "unable to parse requirement: found 'a' expected: '('".into()),
            ("x in (a", "unable to parse requirement: found '', expected: ',' or ')'".into()),
            ("x in (a b)", "unable to parse requirement: found 'b', expected: ',' or ')'".into()),
            (
                "x in (a,=)",
                "unable to parse requirement: found '=', expected: ',', or identifier".into(),
            ),
            (
                "x in (=)",
                "unable to parse requirement: found '=', expected: ',', ')' or identifier".into(),
            ),
            (
                "x (a)",
                "unable to parse requirement: found '(', expected: in, notin, =, ==, !=, gt, lt"
                    .into(),
            ),
            (
                "a b=c",
                "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt"
                    .into(),
            ),
            ("x=(a)", "unable to parse requirement: found '(', expected: identifier".into()),
            ("!", "unable to parse requirement: found '', expected: identifier".into()),
            ("!!x", "unable to parse requirement: found '!', expected: identifier".into()),
            (
                "-x=a",
                format!("unable to parse requirement: <nil>: Invalid value: \"-x\": {KEY_NAME_MESSAGE}"),
            ),
            (
                &long_key,
                format!(
                    "unable to parse requirement: <nil>: Invalid value: \"{long_key}\": name part must be no more than 63 bytes"
                ),
            ),
            (
                "/",
                format!(
                    "unable to parse requirement: <nil>: Invalid value: \"/\": prefix part must be non-empty; name part must be non-empty; {KEY_NAME_MESSAGE}"
                ),
            ),
            (
                "x=-a",
                format!(
                    "unable to parse requirement: values[0][x]: Invalid value: \"-a\": {VALUE_MESSAGE}"
                ),
            ),
            (
                "x>a",
                "unable to parse requirement: values[0]: Invalid value: \"a\": for 'Gt', 'Lt' operators, the value must be an integer".into(),
            ),
            (
                "x>",
                "unable to parse requirement: values[0]: Invalid value: \"\": for 'Gt', 'Lt' operators, the value must be an integer".into(),
            ),
            (
                "x>-5",
                format!(
                    "unable to parse requirement: values[0][x]: Invalid value: \"-5\": {VALUE_MESSAGE}"
                ),
            ),
        ];
        for (input, expected) in cases {
            match LabelSelector::parse(input) {
                Ok(selector) => panic!("{input:?} should fail, parsed as {selector}"),
                Err(error) => assert_eq!(error.to_string(), expected, "input {input:?}"),
            }
        }
    }

    #[test]
    fn matching_follows_upstream_semantics() {
        let object = labels(&[
            ("app", "web"),
            ("tier", "front"),
            ("rank", "5"),
            ("word", "x"),
        ]);
        let cases = [
            ("", true),
            ("app=web", true),
            ("app==web", true),
            ("app=db", false),
            ("missing=", false),
            ("app!=db", true),
            ("missing!=x", true),
            ("app in (db,web)", true),
            ("app in (db)", false),
            ("missing in (x)", false),
            ("app notin (db)", true),
            ("app notin (web)", false),
            ("missing notin (x)", true),
            ("app", true),
            ("missing", false),
            ("!missing", true),
            ("!app", false),
            ("rank>4", true),
            ("rank>5", false),
            ("rank<6", true),
            ("rank<5", false),
            ("word>1", false),
            ("missing<1", false),
            ("app=web,tier=front", true),
            ("app=web,tier=back", false),
        ];
        for (selector, expected) in cases {
            let parsed =
                LabelSelector::parse(selector).unwrap_or_else(|e| panic!("{selector}: {e}"));
            assert_eq!(parsed.matches(&object), expected, "selector {selector:?}");
        }
        assert!(!LabelSelector::nothing().matches(&object));
        assert!(!LabelSelector::nothing().is_empty());
        assert_eq!(LabelSelector::nothing().to_string(), "");
        assert!(LabelSelector::everything().matches(&object));
        let no_labels: Option<BTreeMap<String, String>> = None;
        assert!(LabelSelector::parse("!app").is_ok_and(|s| s.matches(&no_labels)));
        let pairs: &[(&str, &str)] = &[("app", "web")];
        assert!(LabelSelector::parse("app=web").is_ok_and(|s| s.matches(pairs)));
    }

    #[test]
    fn exact_matches_are_reported_for_indexes() {
        let cases = [
            ("app=web", "app", Some("web")),
            ("app==web", "app", Some("web")),
            ("app in (web)", "app", Some("web")),
            ("app in (a,b)", "app", None),
            ("app!=web", "app", None),
            ("app", "app", None),
            ("tier=x", "app", None),
        ];
        for (selector, key, expected) in cases {
            let parsed =
                LabelSelector::parse(selector).unwrap_or_else(|e| panic!("{selector}: {e}"));
            assert_eq!(parsed.requires_exact_match(key), expected, "{selector:?}");
        }
    }

    fn expression(
        key: &str,
        operator: &str,
        values: Option<&[&str]>,
    ) -> metav1::LabelSelectorRequirement {
        metav1::LabelSelectorRequirement {
            key: key.to_owned(),
            operator: operator.to_owned(),
            values: values.map(|values| values.iter().map(|v| (*v).to_owned()).collect()),
        }
    }

    fn api_selector(
        match_labels: &[(&str, &str)],
        match_expressions: Vec<metav1::LabelSelectorRequirement>,
    ) -> metav1::LabelSelector {
        metav1::LabelSelector {
            match_labels: (!match_labels.is_empty()).then(|| labels(match_labels)),
            match_expressions: (!match_expressions.is_empty()).then_some(match_expressions),
        }
    }

    #[test]
    fn api_selectors_convert_as_upstream() {
        let cases: Vec<(metav1::LabelSelector, &str)> = vec![
            (api_selector(&[], vec![]), ""),
            (api_selector(&[("b", "2"), ("a", "1")], vec![]), "a=1,b=2"),
            (
                api_selector(
                    &[("app", "web")],
                    vec![
                        expression("tier", "In", Some(&["b", "a"])),
                        expression("env", "NotIn", Some(&["prod"])),
                        expression("canary", "Exists", None),
                        expression("legacy", "DoesNotExist", Some(&[])),
                    ],
                ),
                "app=web,canary,env notin (prod),!legacy,tier in (a,b)",
            ),
        ];
        for (selector, expected) in cases {
            let converted = LabelSelector::from_api(Some(&selector))
                .unwrap_or_else(|e| panic!("{expected}: {e}"));
            assert_eq!(converted.to_string(), expected);
        }
        let nothing = LabelSelector::from_api(None);
        assert!(nothing.is_ok_and(|s| s.matches_nothing()));
        assert!(
            LabelSelector::from_api(Some(&api_selector(&[], vec![]))).is_ok_and(|s| s.is_empty())
        );
    }

    #[test]
    fn api_selectors_that_cannot_convert_fail_with_upstream_messages() {
        let cases: Vec<(metav1::LabelSelector, String)> = vec![
            (
                api_selector(&[], vec![expression("a", "In", None)]),
                "values: Invalid value: null: for 'in', 'notin' operators, values set can't be empty".into(),
            ),
            (
                api_selector(&[], vec![expression("a", "NotIn", Some(&[]))]),
                "values: Invalid value: null: for 'in', 'notin' operators, values set can't be empty".into(),
            ),
            (
                api_selector(&[], vec![expression("a", "Exists", Some(&["x"]))]),
                "values: Invalid value: [\"x\"]: values set must be empty for exists and does not exist".into(),
            ),
            (
                api_selector(&[], vec![expression("a", "Gt", Some(&["1"]))]),
                "\"Gt\" is not a valid label selector operator".into(),
            ),
            (
                api_selector(&[("a b", "x")], vec![]),
                format!("key: Invalid value: \"a b\": {KEY_NAME_MESSAGE}"),
            ),
            (
                api_selector(&[("k", "bad value")], vec![]),
                format!("values[0][k]: Invalid value: \"bad value\": {VALUE_MESSAGE}"),
            ),
            (
                api_selector(&[], vec![expression("-k", "In", Some(&["-v"]))]),
                format!(
                    "[key: Invalid value: \"-k\": {KEY_NAME_MESSAGE}, values[0][-k]: Invalid value: \"-v\": {VALUE_MESSAGE}]"
                ),
            ),
        ];
        for (selector, expected) in cases {
            match LabelSelector::from_api(Some(&selector)) {
                Ok(converted) => panic!("should fail, converted to {converted}"),
                Err(error) => assert_eq!(error.to_string(), expected),
            }
        }
    }

    #[test]
    fn requirements_built_in_code_are_validated() {
        assert!(Requirement::new("a", Operator::Equals, vec!["b".into()]).is_ok());
        let errors = [
            (
                Requirement::new("a", Operator::Equals, vec![]),
                "values: Invalid value: null: exact-match compatibility requires one single value",
            ),
            (
                Requirement::new("a", Operator::GreaterThan, vec!["1".into(), "2".into()]),
                "values: Invalid value: [\"1\",\"2\"]: for 'Gt', 'Lt' operators, exactly one value is required",
            ),
        ];
        for (result, expected) in errors {
            match result {
                Ok(requirement) => panic!("should fail: {requirement}"),
                Err(error) => assert_eq!(error.to_string(), expected),
            }
        }
        let selector = LabelSelector::everything()
            .with(Requirement::new("b", Operator::Exists, vec![]).unwrap_or_else(|e| panic!("{e}")))
            .with(
                Requirement::new("a", Operator::DoesNotExist, vec![])
                    .unwrap_or_else(|e| panic!("{e}")),
            );
        assert_eq!(selector.to_string(), "!a,b");
    }

    #[test]
    fn embedded_selectors_validate_as_upstream() {
        let path = FieldPath::new("spec").child("selector");
        let selector = api_selector(
            &[("bad key", "ok")],
            vec![
                expression("a", "In", None),
                expression("b", "Exists", Some(&["x"])),
                expression("c", "Gt", Some(&["1"])),
                expression("-d", "NotIn", Some(&["-v"])),
            ],
        );
        let rendered: Vec<String> =
            validate_label_selector(&selector, LabelSelectorValidationOptions::default(), &path)
                .iter()
                .map(ToString::to_string)
                .collect();
        assert_eq!(
            rendered,
            vec![
                format!("spec.selector.matchLabels: Invalid value: \"bad key\": {KEY_NAME_MESSAGE}"),
                "spec.selector.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'".to_owned(),
                "spec.selector.matchExpressions[1].values: Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'".to_owned(),
                "spec.selector.matchExpressions[2].operator: Invalid value: \"Gt\": not a valid selector operator".to_owned(),
                format!("spec.selector.matchExpressions[3].key: Invalid value: \"-d\": {KEY_NAME_MESSAGE}"),
                format!("spec.selector.matchExpressions[3].values[0]: Invalid value: \"-v\": {VALUE_MESSAGE}"),
            ]
        );
        let lenient = LabelSelectorValidationOptions {
            allow_invalid_label_value_in_selector: true,
        };
        let only_value = api_selector(&[], vec![expression("d", "In", Some(&["-v"]))]);
        assert!(validate_label_selector(&only_value, lenient, &path).is_empty());
    }
}
