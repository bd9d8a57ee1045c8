//! Field paths and field sets, the currency of server-side apply, and their `FieldsV1` wire form
//! (structured-merge-diff's `fieldpath` package).
//!
//! A [`FieldSet`] is a trie of [`PathElement`]s: each node holds the elements that are *members* (the
//! path ending there is in the set) and the children with deeper paths. A node can be both: that is
//! what `FieldsV1` writes as `{".": {}, ...children}`.
//!
//! Orders are upstream's, because they are visible: `FieldsV1` keys come sorted by
//! [`PathElement::cmp`] (field names, then keys, then values, then indices), and conflicts are
//! reported in [`FieldSet::paths`] order (members before children at each level).

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde_json::{Map, Value};

/// One step of a path into an object.
#[derive(Clone, Debug, PartialEq)]
pub enum PathElement {
    /// `f:<name>`: a field of a struct, or a key of a map.
    Field(String),
    /// `k:{...}`: the item of a list-type map with these key fields (sorted by name).
    Key(Vec<(String, Value)>),
    /// `v:<json>`: the item of a set with this value.
    Value(Value),
    /// `i:<n>`: the item at this position of a list without keys.
    Index(usize),
}

impl Eq for PathElement {}

impl PartialOrd for PathElement {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for PathElement {
    fn cmp(&self, other: &Self) -> Ordering {
        use PathElement::*;
        fn rank(pe: &PathElement) -> u8 {
            match pe {
                Field(_) => 0,
                Key(_) => 1,
                Value(_) => 2,
                Index(_) => 3,
            }
        }
        match (self, other) {
            (Field(a), Field(b)) => a.cmp(b),
            (Key(a), Key(b)) => compare_fields(a, b),
            (Value(a), Value(b)) => compare_values(a, b),
            (Index(a), Index(b)) => a.cmp(b),
            _ => rank(self).cmp(&rank(other)),
        }
    }
}

/// structured-merge-diff's `value.Compare`: numbers < strings < booleans < lists < maps < null.
pub(crate) fn compare_values(a: &Value, b: &Value) -> Ordering {
    fn rank(v: &Value) -> u8 {
        match v {
            Value::Number(_) => 0,
            Value::String(_) => 1,
            Value::Bool(_) => 2,
            Value::Array(_) => 3,
            Value::Object(_) => 4,
            Value::Null => 5,
        }
    }
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(x), Some(y)) => x.cmp(&y),
            _ => {
                let (x, y) = (x.as_f64().unwrap_or(0.0), y.as_f64().unwrap_or(0.0));
                x.partial_cmp(&y).unwrap_or(Ordering::Equal)
            }
        },
        (Value::String(x), Value::String(y)) => x.cmp(y),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Array(x), Value::Array(y)) => {
            for (x, y) in x.iter().zip(y) {
                let c = compare_values(x, y);
                if c != Ordering::Equal {
                    return c;
                }
            }
            x.len().cmp(&y.len())
        }
        (Value::Object(x), Value::Object(y)) => {
            let sorted = |m: &Map<String, Value>| {
                let mut v: Vec<(String, Value)> =
                    m.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
                v.sort_by(|a, b| a.0.cmp(&b.0));
                v
            };
            compare_fields(&sorted(x), &sorted(y))
        }
        _ => rank(a).cmp(&rank(b)),
    }
}

fn compare_fields(a: &[(String, Value)], b: &[(String, Value)]) -> Ordering {
    for ((an, av), (bn, bv)) in a.iter().zip(b) {
        let c = an.cmp(bn).then_with(|| compare_values(av, bv));
        if c != Ordering::Equal {
            return c;
        }
    }
    a.len().cmp(&b.len())
}

/// Go's `%v` of a value in a path (`value.ToString`): strings quoted, the rest as JSON.
fn value_to_string(v: &Value) -> String {
    match v {
        Value::String(s) => go_quote(s),
        other => other.to_string(),
    }
}

/// Go's `%q` for the strings that occur in Kubernetes names and values; JSON's escaping agrees with
/// it for everything but non-ASCII control characters, which names cannot contain.
pub(crate) fn go_quote(s: &str) -> String {
    Value::String(s.to_owned()).to_string()
}

impl fmt::Display for PathElement {
    /// The form in conflict messages: `.name`, `[key="v",other=1]`, `[=value]`, `[3]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PathElement::Field(name) => write!(f, ".{name}"),
            PathElement::Key(fields) => {
                let parts: Vec<String> = fields
                    .iter()
                    .map(|(k, v)| format!("{k}={}", value_to_string(v)))
                    .collect();
                write!(f, "[{}]", parts.join(","))
            }
            PathElement::Value(v) => write!(f, "[={}]", value_to_string(v)),
            PathElement::Index(i) => write!(f, "[{i}]"),
        }
    }
}

impl PathElement {
    /// The `FieldsV1` key of this element.
    pub fn to_fields_v1_key(&self) -> String {
        match self {
            PathElement::Field(name) => format!("f:{name}"),
            PathElement::Key(fields) => {
                let mut m = Map::new();
                for (k, v) in fields {
                    m.insert(k.clone(), v.clone());
                }
                // Key fields are written sorted by name, which a serde_json map (sorted or in
                // insertion order) preserves since `fields` is sorted.
                format!("k:{}", Value::Object(m))
            }
            PathElement::Value(v) => format!("v:{v}"),
            PathElement::Index(i) => format!("i:{i}"),
        }
    }

    /// Parses a `FieldsV1` key. `Ok(None)` for a key of a kind this version does not know, which
    /// upstream skips rather than fails on.
    pub fn from_fields_v1_key(key: &str) -> Result<Option<PathElement>, FieldsV1Error> {
        let bad = || FieldsV1Error(format!("invalid path element {key:?}"));
        let Some((kind, rest)) = key.split_once(':') else {
            return Err(bad());
        };
        Ok(Some(match kind {
            "f" => PathElement::Field(rest.to_owned()),
            "k" => {
                let Ok(Value::Object(m)) = serde_json::from_str::<Value>(rest) else {
                    return Err(bad());
                };
                let mut fields: Vec<(String, Value)> = m.into_iter().collect();
                fields.sort_by(|a, b| a.0.cmp(&b.0));
                PathElement::Key(fields)
            }
            "v" => PathElement::Value(serde_json::from_str(rest).map_err(|_| bad())?),
            "i" => PathElement::Index(rest.parse().map_err(|_| bad())?),
            _ => return Ok(None),
        }))
    }
}

/// A path: the elements from the object's root.
pub type Path = Vec<PathElement>;

/// Formats a path as upstream prints it in conflicts: `.spec.containers[name="nginx"].image`.
pub fn path_string(path: &[PathElement]) -> String {
    path.iter().map(ToString::to_string).collect()
}

/// Undecodable `FieldsV1`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FieldsV1Error(pub String);

/// A set of field paths.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldSet {
    members: BTreeSet<PathElement>,
    /// Never holds an empty set.
    children: BTreeMap<PathElement, FieldSet>,
}

impl FieldSet {
    pub fn new() -> FieldSet {
        FieldSet::default()
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty() && self.children.is_empty()
    }

    /// Adds `path` (the empty path is not a member of anything and is ignored).
    pub fn insert(&mut self, path: &[PathElement]) {
        match path {
            [] => {}
            [last] => {
                self.members.insert(last.clone());
            }
            [first, rest @ ..] => self.children.entry(first.clone()).or_default().insert(rest),
        }
    }

    pub fn contains(&self, path: &[PathElement]) -> bool {
        match path {
            [] => false,
            [last] => self.members.contains(last),
            [first, rest @ ..] => self.children.get(first).is_some_and(|c| c.contains(rest)),
        }
    }

    /// The paths below `pe` (relative to it).
    pub fn child(&self, pe: &PathElement) -> Option<&FieldSet> {
        self.children.get(pe)
    }

    pub fn is_member(&self, pe: &PathElement) -> bool {
        self.members.contains(pe)
    }

    pub(crate) fn members(&self) -> impl Iterator<Item = &PathElement> {
        self.members.iter()
    }

    pub(crate) fn children(&self) -> impl Iterator<Item = (&PathElement, &FieldSet)> {
        self.children.iter()
    }

    pub(crate) fn insert_member(&mut self, pe: PathElement) {
        self.members.insert(pe);
    }

    /// Adds `child` under `pe` (nothing if it is empty).
    pub(crate) fn insert_child(&mut self, pe: PathElement, child: FieldSet) {
        if child.is_empty() {
            return;
        }
        match self.children.get_mut(&pe) {
            Some(existing) => *existing = existing.union(&child),
            None => {
                self.children.insert(pe, child);
            }
        }
    }

    pub fn union(&self, other: &FieldSet) -> FieldSet {
        let mut out = self.clone();
        out.members.extend(other.members.iter().cloned());
        for (pe, child) in &other.children {
            out.insert_child(pe.clone(), child.clone());
        }
        out
    }

    /// The paths of `self` that are not in `other` (a path of `other` removes only itself, not the
    /// paths below it: upstream's `Difference`).
    pub fn difference(&self, other: &FieldSet) -> FieldSet {
        let mut out = FieldSet {
            members: self.members.difference(&other.members).cloned().collect(),
            children: BTreeMap::new(),
        };
        for (pe, child) in &self.children {
            let child = match other.children.get(pe) {
                Some(o) => child.difference(o),
                None => child.clone(),
            };
            out.insert_child(pe.clone(), child);
        }
        out
    }

    pub fn intersection(&self, other: &FieldSet) -> FieldSet {
        let mut out = FieldSet {
            members: self.members.intersection(&other.members).cloned().collect(),
            children: BTreeMap::new(),
        };
        for (pe, child) in &self.children {
            if let Some(o) = other.children.get(pe) {
                out.insert_child(pe.clone(), child.intersection(o));
            }
        }
        out
    }

    /// Every path, in upstream's iteration order: a level's members, then its children's paths.
    pub fn paths(&self) -> Vec<Path> {
        let mut out = Vec::new();
        self.collect_paths(&mut Vec::new(), &mut out);
        out
    }

    fn collect_paths(&self, prefix: &mut Path, out: &mut Vec<Path>) {
        for pe in &self.members {
            let mut p = prefix.clone();
            p.push(pe.clone());
            out.push(p);
        }
        for (pe, child) in &self.children {
            prefix.push(pe.clone());
            child.collect_paths(prefix, out);
            prefix.pop();
        }
    }

    /// The `FieldsV1` JSON of the set.
    pub fn to_fields_v1(&self) -> Value {
        Value::Object(self.fields_v1_object(false))
    }

    fn fields_v1_object(&self, include_self: bool) -> Map<String, Value> {
        let mut out = Map::new();
        if include_self {
            out.insert(".".to_owned(), Value::Object(Map::new()));
        }
        // Members and children interleave in element order; an element that is both is written
        // once, as a child with ".".
        let keys: BTreeSet<&PathElement> =
            self.members.iter().chain(self.children.keys()).collect();
        for pe in keys {
            let value = match self.children.get(pe) {
                Some(child) => child.fields_v1_object(self.members.contains(pe)),
                None => Map::new(),
            };
            out.insert(pe.to_fields_v1_key(), Value::Object(value));
        }
        out
    }

    /// The `FieldsV1` JSON as upstream writes it: compact, keys in element order (the order
    /// [`Self::to_fields_v1`] cannot keep in a sorted JSON map).
    pub fn to_fields_v1_string(&self) -> String {
        let mut out = String::from("{");
        self.write_fields_v1(&mut out, false);
        out.push('}');
        out
    }

    fn write_fields_v1(&self, out: &mut String, include_self: bool) {
        let mut first = true;
        if include_self {
            out.push_str("\".\":{}");
            first = false;
        }
        let keys: BTreeSet<&PathElement> =
            self.members.iter().chain(self.children.keys()).collect();
        for pe in keys {
            if !first {
                out.push(',');
            }
            first = false;
            out.push_str(&Value::String(pe.to_fields_v1_key()).to_string());
            out.push_str(":{");
            if let Some(child) = self.children.get(pe) {
                child.write_fields_v1(out, self.members.contains(pe));
            }
            out.push('}');
        }
    }

    /// Decodes `FieldsV1` JSON. Keys of unknown kinds are skipped, as upstream does.
    pub fn from_fields_v1(value: &Value) -> Result<FieldSet, FieldsV1Error> {
        let Value::Object(map) = value else {
            return Err(FieldsV1Error("FieldsV1 is not a JSON object".to_owned()));
        };
        Ok(read_fields_v1(map)?.0)
    }
}

/// The set below a `FieldsV1` object, and whether the object also makes its element a member (it
/// has ".", or nothing else).
fn read_fields_v1(map: &Map<String, Value>) -> Result<(FieldSet, bool), FieldsV1Error> {
    let mut set = FieldSet::new();
    let mut is_member = false;
    for (key, value) in map {
        if key == "." {
            is_member = true;
            continue;
        }
        let Some(pe) = PathElement::from_fields_v1_key(key)? else {
            continue;
        };
        let Value::Object(inner) = value else {
            return Err(FieldsV1Error(format!("value of {key:?} is not an object")));
        };
        let (child, child_is_member) = read_fields_v1(inner)?;
        if child_is_member {
            set.members.insert(pe.clone());
        }
        set.insert_child(pe, child);
    }
    if set.is_empty() {
        is_member = true;
    }
    Ok((set, is_member))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trip_keeps_upstream_order() {
        let text = r#"{"f:metadata":{"f:labels":{".":{},"f:app":{}}},"f:spec":{"f:containers":{"k:{\"name\":\"nginx\"}":{".":{},"f:image":{},"f:name":{}}},"f:finalizers":{"v:\"a\"":{}}}}"#;
        let value: Value = serde_json::from_str(text).unwrap();
        let set = FieldSet::from_fields_v1(&value).unwrap();
        assert_eq!(set.to_fields_v1_string(), text);
        assert_eq!(set.to_fields_v1(), value);
        let paths: Vec<String> = set.paths().iter().map(|p| path_string(p)).collect();
        assert_eq!(
            paths,
            [
                ".metadata.labels",
                ".metadata.labels.app",
                ".spec.containers[name=\"nginx\"]",
                ".spec.containers[name=\"nginx\"].image",
                ".spec.containers[name=\"nginx\"].name",
                ".spec.finalizers[=\"a\"]",
            ]
        );
    }

    #[test]
    fn element_order() {
        let mut set = FieldSet::new();
        set.insert(&[PathElement::Index(0)]);
        set.insert(&[PathElement::Value(json!("x"))]);
        set.insert(&[PathElement::Value(json!(1))]);
        set.insert(&[PathElement::Key(vec![("name".into(), json!("b"))])]);
        set.insert(&[PathElement::Field("z".into())]);
        assert_eq!(
            set.to_fields_v1_string(),
            r#"{"f:z":{},"k:{\"name\":\"b\"}":{},"v:1":{},"v:\"x\"":{},"i:0":{}}"#
        );
    }

    #[test]
    fn set_algebra() {
        let f = |s: &str| PathElement::Field(s.to_owned());
        let mut a = FieldSet::new();
        a.insert(&[f("spec"), f("replicas")]);
        a.insert(&[f("spec"), f("paused")]);
        let mut b = FieldSet::new();
        b.insert(&[f("spec"), f("replicas")]);
        b.insert(&[f("metadata")]);
        assert_eq!(
            a.intersection(&b).paths(),
            vec![vec![f("spec"), f("replicas")]]
        );
        assert_eq!(a.difference(&b).paths(), vec![vec![f("spec"), f("paused")]]);
        assert_eq!(a.union(&b).paths().len(), 3);
        assert!(a.difference(&a).is_empty());
    }

    #[test]
    fn malformed_fields_v1() {
        assert!(FieldSet::from_fields_v1(&json!([])).is_err());
        assert!(FieldSet::from_fields_v1(&json!({"f:a": 1})).is_err());
        assert!(FieldSet::from_fields_v1(&json!({"k:notjson": {}})).is_err());
        assert!(FieldSet::from_fields_v1(&json!({"nocolon": {}})).is_err());
        // Unknown element kinds are skipped.
        assert!(
            FieldSet::from_fields_v1(&json!({"x:y": {}}))
                .unwrap()
                .is_empty()
        );
    }
}
