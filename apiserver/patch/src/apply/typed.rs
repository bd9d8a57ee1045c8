//! Objects read through the schema, as structured-merge-diff's `typed` package reads them: the
//! field set an object specifies, the merge of an applied configuration into a live object, the
//! comparison of two objects, and the removal of a set of fields.
//!
//! The schema is the protobuf table's merge metadata, turned into the structural types upstream's
//! OpenAPI conversion (kube-openapi `schemaconv`) builds: a list is a map keyed by its
//! `+listMapKey`s (or, without `+listType`, by its `+patchMergeKey` when its strategy is `merge`), a
//! set (`+listType=set`, or strategy `merge` without a key), or atomic (everything else); maps and
//! structs are granular unless marked atomic; untyped values are atomic.

use serde_json::{Map, Value};
use tugboat_protobuf::{Granularity, ItemShape, ListType, MessageRef, PatchStrategy, Shape};

use super::fieldpath::{FieldSet, Path, PathElement, path_string};

/// The structural type of a value.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Node {
    /// A top-level object: a struct that also has `apiVersion` and `kind`.
    Root(MessageRef),
    Struct {
        msg: MessageRef,
        atomic: bool,
    },
    Map {
        item: ItemShape,
        atomic: bool,
    },
    List {
        item: ItemShape,
        kind: ListKind,
    },
    /// Scalars and untyped values: always replaced whole.
    Leaf,
}

#[derive(Clone, Copy, Debug)]
pub(crate) enum ListKind {
    Atomic,
    Set,
    Map(&'static [&'static str]),
}

impl Node {
    fn of_item(item: ItemShape) -> Node {
        match item {
            ItemShape::Scalar | ItemShape::Untyped => Node::Leaf,
            ItemShape::Object(msg) => Node::Struct {
                msg,
                atomic: msg.struct_type() == Some(Granularity::Atomic),
            },
        }
    }

    /// The type of member `key` of a struct or map, `None` for a field the schema does not declare.
    fn member(self, key: &str) -> Option<Node> {
        let msg = match self {
            Node::Root(msg) => {
                if key == "apiVersion" || key == "kind" {
                    return Some(Node::Leaf);
                }
                msg
            }
            Node::Struct { msg, .. } => msg,
            Node::Map { item, .. } => return Some(Node::of_item(item)),
            Node::List { .. } | Node::Leaf => return None,
        };
        let field = msg.field(key)?;
        let meta = field.merge();
        Some(match field.shape() {
            Shape::Scalar | Shape::Untyped => Node::Leaf,
            Shape::Object(msg) => Node::Struct {
                msg,
                atomic: meta.struct_type == Some(Granularity::Atomic)
                    || msg.struct_type() == Some(Granularity::Atomic),
            },
            Shape::Map(item) => Node::Map {
                item,
                atomic: meta.map_type == Some(Granularity::Atomic),
            },
            Shape::List(item) => {
                let merge_key = meta.patch_merge_key.as_ref().map(std::slice::from_ref);
                let kind = match (meta.list_type, meta.patch_strategy, merge_key) {
                    (Some(ListType::Atomic), ..) => ListKind::Atomic,
                    (Some(ListType::Set), ..) => ListKind::Set,
                    (Some(ListType::Map), ..) if !meta.list_map_keys.is_empty() => {
                        ListKind::Map(meta.list_map_keys)
                    }
                    (Some(ListType::Map), _, Some(key)) => ListKind::Map(key),
                    (Some(ListType::Map), _, None) => ListKind::Atomic,
                    (None, Some(PatchStrategy::Merge), Some(key)) => ListKind::Map(key),
                    (None, Some(PatchStrategy::Merge), None) => ListKind::Set,
                    (None, ..) => ListKind::Atomic,
                };
                Node::List { item, kind }
            }
        })
    }

    /// A struct's declared member (not a map's key): what `EnsureNamedFieldsAreMembers` promotes.
    fn is_named_field(self, key: &str) -> bool {
        matches!(self, Node::Root(_) | Node::Struct { .. }) && self.member(key).is_some()
    }

    fn is_atomic(self) -> bool {
        match self {
            Node::Leaf => true,
            Node::Struct { atomic, .. } | Node::Map { atomic, .. } => atomic,
            Node::List { kind, .. } => matches!(kind, ListKind::Atomic),
            Node::Root(_) => false,
        }
    }
}

pub(crate) fn root(msg: MessageRef) -> Node {
    Node::Root(msg)
}

/// A value the schema does not accept, as upstream's typed conversion words it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TypeError {
    pub(crate) path: String,
    pub(crate) message: String,
}

impl TypeError {
    fn new(path: &[PathElement], message: impl Into<String>) -> TypeError {
        TypeError {
            path: path_string(path),
            message: message.into(),
        }
    }
}

/// How a list item is identified: by its keys, by its value, or by its position.
fn item_element(
    kind: ListKind,
    index: usize,
    item: &Value,
    path: &[PathElement],
    errors: &mut Vec<TypeError>,
) -> PathElement {
    match kind {
        ListKind::Set => PathElement::Value(item.clone()),
        ListKind::Map(keys) => {
            let Value::Object(obj) = item else {
                errors.push(TypeError::new(
                    path,
                    format!("expected map, got {}", json_type(item)),
                ));
                return PathElement::Index(index);
            };
            let mut fields = Vec::with_capacity(keys.len());
            for key in keys {
                match obj.get(*key) {
                    Some(v) if !v.is_null() => fields.push(((*key).to_owned(), v.clone())),
                    _ => {
                        // Upstream fills in a key's default when the schema has one (`protocol`
                        // of ports defaults to TCP); objects reaching here are defaulted already,
                        // but an applied configuration may leave it out.
                        if *key == "protocol" {
                            fields.push(((*key).to_owned(), Value::String("TCP".to_owned())));
                        } else {
                            errors.push(TypeError::new(
                                path,
                                format!(
                                    "associative list with keys has an element that omits key field {:?} (and doesn't have default value)",
                                    key
                                ),
                            ));
                        }
                    }
                }
            }
            fields.sort_by(|a, b| a.0.cmp(&b.0));
            PathElement::Key(fields)
        }
        ListKind::Atomic => PathElement::Index(index),
    }
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "map",
    }
}

/// The elements of a list's items, checked for duplicates when `strict` (applied configurations;
/// live objects allow them, as upstream's `AllowDuplicates`).
fn list_elements(
    kind: ListKind,
    items: &[Value],
    path: &mut Path,
    strict: bool,
    errors: &mut Vec<TypeError>,
) -> Vec<PathElement> {
    let mut out: Vec<PathElement> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let pe = item_element(kind, i, item, path, errors);
        if strict && !matches!(pe, PathElement::Index(_)) && out.contains(&pe) {
            errors.push(TypeError::new(
                path,
                format!("duplicate entries for key {pe}"),
            ));
        }
        out.push(pe);
    }
    out
}

/// The fields `value` specifies (upstream's `ToFieldSet`): every scalar and atomic value, every
/// list and map item (a member even when it has fields of its own), struct fields only through
/// their contents, unless empty or null. Fields the schema does not declare are reported in
/// `errors` (and owned whole).
pub(crate) fn field_set(value: &Value, node: Node, strict: bool) -> (FieldSet, Vec<TypeError>) {
    let mut set = FieldSet::new();
    let mut errors = Vec::new();
    walk_field_set(value, node, &mut Vec::new(), &mut set, strict, &mut errors);
    (set, errors)
}

fn walk_field_set(
    value: &Value,
    node: Node,
    path: &mut Path,
    set: &mut FieldSet,
    strict: bool,
    errors: &mut Vec<TypeError>,
) {
    if node.is_atomic() {
        set.insert(path);
        return;
    }
    match (node, value) {
        (Node::List { kind, item }, Value::Array(items)) => {
            let elements = list_elements(kind, items, path, strict, errors);
            for (pe, item_value) in elements.into_iter().zip(items) {
                path.push(pe);
                walk_field_set(item_value, Node::of_item(item), path, set, strict, errors);
                set.insert(path);
                path.pop();
            }
        }
        (Node::Root(_) | Node::Struct { .. } | Node::Map { .. }, Value::Object(obj)) => {
            let is_map = matches!(node, Node::Map { .. });
            for (key, child_value) in obj {
                path.push(PathElement::Field(key.clone()));
                match node.member(key) {
                    Some(child) => {
                        walk_field_set(child_value, child, path, set, strict, errors);
                        let empty = matches!(child_value, Value::Object(m) if m.is_empty());
                        if is_map || child_value.is_null() || empty {
                            set.insert(path);
                        }
                    }
                    None => {
                        if strict {
                            errors.push(TypeError::new(path, "field not declared in schema"));
                        }
                        set.insert(path);
                    }
                }
                path.pop();
            }
        }
        (_, Value::Null) => {}
        (Node::List { .. }, other) => {
            if strict {
                errors.push(TypeError::new(
                    path,
                    format!("expected list, got {}", json_type(other)),
                ));
            }
            set.insert(path);
        }
        (_, other) => {
            if strict {
                errors.push(TypeError::new(
                    path,
                    format!("expected map, got {}", json_type(other)),
                ));
            }
            set.insert(path);
        }
    }
}

/// Merges an applied configuration into a live value (upstream's `TypedValue.Merge`): atomic
/// values are replaced, structs and maps merge member by member, list-type maps by key and sets by
/// value, in upstream's order (see [`merge_order`]).
pub(crate) fn merge(live: Option<&Value>, config: &Value, node: Node) -> Value {
    let Some(live) = live else {
        return config.clone();
    };
    if node.is_atomic() {
        return config.clone();
    }
    match (node, live, config) {
        (Node::List { kind, item }, Value::Array(l), Value::Array(r)) => {
            let mut errors = Vec::new();
            let mut path = Vec::new();
            let lpe = list_elements(kind, l, &mut path, false, &mut errors);
            let rpe = list_elements(kind, r, &mut path, false, &mut errors);
            let item_node = Node::of_item(item);
            let out = merge_order(&lpe, &rpe)
                .into_iter()
                .map(|(li, ri)| match (li, ri) {
                    (Some(li), Some(ri)) => merge(l.get(li), &r[ri], item_node),
                    (Some(li), None) => l[li].clone(),
                    (None, Some(ri)) => r[ri].clone(),
                    (None, None) => Value::Null,
                })
                .collect();
            Value::Array(out)
        }
        (
            Node::Root(_) | Node::Struct { .. } | Node::Map { .. },
            Value::Object(l),
            Value::Object(r),
        ) => {
            let mut out = l.clone();
            for (key, rv) in r {
                // An applied `null` owns the field and clears it (typed decoding drops nulls).
                if rv.is_null() {
                    out.remove(key);
                    continue;
                }
                let merged = match node.member(key) {
                    Some(child) => merge(l.get(key), rv, child),
                    None => rv.clone(),
                };
                out.insert(key.clone(), merged);
            }
            Value::Object(out)
        }
        _ => config.clone(),
    }
}

/// The order of a merged list, as pairs of (live index, config index): upstream's interleaving,
/// which keeps the live order, puts items only in the config after the config item they follow,
/// and moves items both have into the config's order.
fn merge_order(lhs: &[PathElement], rhs: &[PathElement]) -> Vec<(Option<usize>, Option<usize>)> {
    let find = |pes: &[PathElement], pe: &PathElement| pes.iter().position(|p| p == pe);
    let shared: Vec<&PathElement> = rhs.iter().filter(|pe| lhs.contains(pe)).collect();
    let mut shared = shared.into_iter();
    let mut next_shared = shared.next();
    let mut merged_rhs: Vec<&PathElement> = Vec::new();
    let mut out = Vec::with_capacity(lhs.len() + rhs.len());
    let (mut li, mut ri) = (0, 0);
    while li < lhs.len() || ri < rhs.len() {
        if li < lhs.len() && ri < rhs.len() {
            let pe = &lhs[li];
            if *pe == rhs[ri] {
                merged_rhs.push(pe);
                out.push((find(lhs, pe), Some(ri)));
                li += 1;
                ri += 1;
                next_shared = shared.next();
                continue;
            }
            if rhs.contains(pe) && next_shared.is_some_and(|n| n != pe) {
                li += 1;
                continue;
            }
        }
        if li < lhs.len() {
            let pe = &lhs[li];
            if !rhs.contains(pe) {
                out.push((Some(li), None));
                li += 1;
                continue;
            } else if merged_rhs.contains(&pe) {
                li += 1;
                continue;
            }
        }
        if ri < rhs.len() {
            let pe = &rhs[ri];
            merged_rhs.push(pe);
            out.push((find(lhs, pe), find(rhs, pe)));
            ri += 1;
            if next_shared.is_some_and(|n| n == pe) {
                next_shared = shared.next();
            }
        }
    }
    out
}

/// What changed between two values (upstream's `Comparison`).
#[derive(Debug, Default)]
pub(crate) struct Comparison {
    pub(crate) added: FieldSet,
    pub(crate) modified: FieldSet,
    pub(crate) removed: FieldSet,
}

/// Compares `old` and `new`: leaves (scalars, atomic values) are added, removed or modified;
/// non-atomic values (structs, maps, lists, their items) are added or removed as a whole too, so an
/// object that appears is a member of `added` along with its contents.
pub(crate) fn compare(old: &Value, new: &Value, node: Node) -> Comparison {
    let mut c = Comparison::default();
    walk_compare(Some(old), Some(new), node, &mut Vec::new(), &mut c);
    c
}

fn walk_compare(
    old: Option<&Value>,
    new: Option<&Value>,
    node: Node,
    path: &mut Path,
    c: &mut Comparison,
) {
    let leaf = node.is_atomic()
        || match (node, old.or(new)) {
            (Node::List { .. }, Some(v)) => !v.is_array() && !v.is_null(),
            (_, Some(v)) => !v.is_object() && !v.is_null(),
            (_, None) => true,
        };
    if leaf {
        match (old, new) {
            (None, Some(_)) => c.added.insert(path),
            (Some(_), None) => c.removed.insert(path),
            (Some(o), Some(n)) if o != n => c.modified.insert(path),
            _ => {}
        }
        return;
    }
    match node {
        Node::List { kind, item } => {
            let empty = Vec::new();
            let l = old.and_then(Value::as_array).unwrap_or(&empty);
            let r = new.and_then(Value::as_array).unwrap_or(&empty);
            let mut errors = Vec::new();
            let lpe = list_elements(kind, l, path, false, &mut errors);
            let rpe = list_elements(kind, r, path, false, &mut errors);
            let item_node = Node::of_item(item);
            for (li, ri) in merge_order(&lpe, &rpe) {
                let Some(pe) = li.and_then(|i| lpe.get(i)).or(ri.and_then(|i| rpe.get(i))) else {
                    continue;
                };
                path.push(pe.clone());
                walk_compare(
                    li.and_then(|i| l.get(i)),
                    ri.and_then(|i| r.get(i)),
                    item_node,
                    path,
                    c,
                );
                path.pop();
            }
        }
        _ => {
            let empty = Map::new();
            let l = old.and_then(Value::as_object).unwrap_or(&empty);
            let r = new.and_then(Value::as_object).unwrap_or(&empty);
            let keys = l.keys().chain(r.keys().filter(|k| !l.contains_key(*k)));
            for key in keys {
                let child = node.member(key).unwrap_or(Node::Leaf);
                path.push(PathElement::Field(key.clone()));
                walk_compare(l.get(key), r.get(key), child, path, c);
                path.pop();
            }
        }
    }
    match (old, new) {
        (None, Some(_)) => c.added.insert(path),
        (Some(_), None) => c.removed.insert(path),
        _ => {}
    }
}

/// `value` without the struct fields, map entries and list items `set` holds as members
/// (upstream's `RemoveItems`); atomic values are kept whole.
pub(crate) fn remove_items(value: &Value, set: &FieldSet, node: Node) -> Value {
    if node.is_atomic() || set.is_empty() {
        return value.clone();
    }
    match (node, value) {
        (Node::List { kind, item }, Value::Array(items)) => {
            let mut errors = Vec::new();
            let elements = list_elements(kind, items, &mut Vec::new(), false, &mut errors);
            let item_node = Node::of_item(item);
            let out = elements
                .iter()
                .zip(items)
                .filter(|(pe, _)| !set.is_member(pe))
                .map(|(pe, v)| match set.child(pe) {
                    Some(sub) => remove_items(v, sub, item_node),
                    None => v.clone(),
                })
                .collect();
            Value::Array(out)
        }
        (_, Value::Object(obj)) if !matches!(node, Node::List { .. }) => {
            let mut out = Map::new();
            for (key, v) in obj {
                let pe = PathElement::Field(key.clone());
                if set.is_member(&pe) {
                    continue;
                }
                let v = match (set.child(&pe), node.member(key)) {
                    (Some(sub), Some(child)) => remove_items(v, sub, child),
                    _ => v.clone(),
                };
                out.insert(key.clone(), v);
            }
            Value::Object(out)
        }
        _ => value.clone(),
    }
}

/// `set` with every struct field that has paths below it made a member too (upstream's
/// `EnsureNamedFieldsAreMembers`), so that removing what nobody owns removes emptied structs.
pub(crate) fn ensure_named_fields(set: &FieldSet, node: Node) -> FieldSet {
    let mut out = FieldSet::new();
    for pe in set.members() {
        out.insert_member(pe.clone());
    }
    for (pe, child) in set.children() {
        let child_node = match pe {
            PathElement::Field(name) => {
                if node.is_named_field(name) {
                    out.insert_member(pe.clone());
                }
                node.member(name)
            }
            _ => match node {
                Node::List { item, .. } => Some(Node::of_item(item)),
                _ => None,
            },
        };
        let child = match child_node {
            Some(n) => ensure_named_fields(child, n),
            None => child.clone(),
        };
        out.insert_child(pe.clone(), child);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pe(s: &str) -> PathElement {
        PathElement::Value(Value::String(s.to_owned()))
    }

    fn order(l: &[&str], r: &[&str]) -> Vec<String> {
        let l: Vec<_> = l.iter().map(|s| pe(s)).collect();
        let r: Vec<_> = r.iter().map(|s| pe(s)).collect();
        merge_order(&l, &r)
            .into_iter()
            .map(|(li, ri)| match (li, ri) {
                (Some(i), _) => l[i].to_string(),
                (None, Some(i)) => r[i].to_string(),
                _ => String::new(),
            })
            .collect()
    }

    #[test]
    fn merged_list_order() {
        // structured-merge-diff's set_test cases.
        assert_eq!(
            order(&["a", "b"], &["c"]),
            ["[=\"a\"]", "[=\"b\"]", "[=\"c\"]"]
        );
        assert_eq!(
            order(&["a", "b", "c"], &["c", "a"]),
            ["[=\"b\"]", "[=\"c\"]", "[=\"a\"]"]
        );
        assert_eq!(
            order(&["a", "b", "c", "d"], &["a", "x", "d"]),
            ["[=\"a\"]", "[=\"b\"]", "[=\"c\"]", "[=\"x\"]", "[=\"d\"]"]
        );
    }
}
