//! `metadata.managedFields`: decoding the entries into field sets keyed by manager identity,
//! encoding them back in upstream's order, and the bookkeeping rules around them (the metadata
//! fields nobody owns, the cap on update managers).

use serde_json::{Map, Value};

use super::fieldpath::{FieldSet, PathElement};

/// The kind of write that gave a manager its fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Operation {
    Apply,
    Update,
}

impl Operation {
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Apply => "Apply",
            Operation::Update => "Update",
        }
    }
}

/// One `managedFields` entry, decoded.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Entry {
    pub(crate) manager: String,
    pub(crate) operation: Operation,
    pub(crate) api_version: String,
    pub(crate) subresource: String,
    pub(crate) time: Option<String>,
    pub(crate) set: FieldSet,
}

impl Entry {
    /// Whether `self` is the entry of (manager, operation, apiVersion, subresource): upstream's
    /// manager identifier, which leaves the apiVersion out for appliers so that an applier keeps
    /// one entry across versions.
    pub(crate) fn is(&self, other: &Identity<'_>) -> bool {
        self.manager == other.manager
            && self.operation == other.operation
            && self.subresource == other.subresource
            && (self.operation == Operation::Apply || self.api_version == other.api_version)
    }

    /// Upstream's manager identifier string (`BuildManagerIdentifier`): the JSON of the entry without
    /// time and fields, which is what conflicts are sorted by.
    pub(crate) fn identifier(&self) -> String {
        let mut s = format!(
            "{{\"manager\":{},\"operation\":\"{}\"",
            Value::String(self.manager.clone()),
            self.operation.as_str()
        );
        if self.operation == Operation::Update && !self.api_version.is_empty() {
            s.push_str(&format!(
                ",\"apiVersion\":{}",
                Value::String(self.api_version.clone())
            ));
        }
        if !self.subresource.is_empty() {
            s.push_str(&format!(
                ",\"subresource\":{}",
                Value::String(self.subresource.clone())
            ));
        }
        s.push('}');
        s
    }
}

/// Who is writing: the key of an [`Entry`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct Identity<'a> {
    pub(crate) manager: &'a str,
    pub(crate) operation: Operation,
    pub(crate) api_version: &'a str,
    pub(crate) subresource: &'a str,
}

/// Why `managedFields` could not be decoded (upstream then falls back to the live object's).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub(crate) struct DecodeError(String);

/// The entries of `object.metadata.managedFields` (none when absent or null). A later duplicate
/// replaces an earlier one, as upstream's map does.
pub(crate) fn decode(object: &Value) -> Result<Vec<Entry>, DecodeError> {
    let Some(raw) = object.pointer("/metadata/managedFields") else {
        return Ok(Vec::new());
    };
    let items = match raw {
        Value::Null => return Ok(Vec::new()),
        Value::Array(items) => items,
        _ => return Err(DecodeError("managedFields is not a list".to_owned())),
    };
    let mut out: Vec<Entry> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let text = |k: &str| item.get(k).and_then(Value::as_str).unwrap_or("");
        let operation = match text("operation") {
            "Apply" => Operation::Apply,
            "Update" => Operation::Update,
            _ => {
                return Err(DecodeError(
                    "operation must be `Apply` or `Update`".to_owned(),
                ));
            }
        };
        if text("apiVersion").is_empty() {
            return Err(DecodeError("apiVersion must not be empty".to_owned()));
        }
        match text("fieldsType") {
            "FieldsV1" => {}
            "" => {
                return Err(DecodeError(format!(
                    "missing fieldsType in managed fields entry {i}"
                )));
            }
            other => {
                return Err(DecodeError(format!(
                    "invalid fieldsType {other:?} in managed fields entry {i}"
                )));
            }
        }
        let set = match item.get("fieldsV1") {
            None | Some(Value::Null) => FieldSet::new(),
            Some(v) => FieldSet::from_fields_v1(v).map_err(|e| DecodeError(e.0))?,
        };
        let entry = Entry {
            manager: text("manager").to_owned(),
            operation,
            api_version: text("apiVersion").to_owned(),
            subresource: text("subresource").to_owned(),
            time: item.get("time").and_then(Value::as_str).map(str::to_owned),
            set,
        };
        let id = Identity {
            manager: &entry.manager,
            operation: entry.operation,
            api_version: &entry.api_version,
            subresource: &entry.subresource,
        };
        match out.iter().position(|e| e.is(&id)) {
            Some(pos) => out[pos] = entry,
            None => out.push(entry),
        }
    }
    Ok(out)
}

/// Whether a request's `managedFields` asks to clear them: an empty list, or one empty entry.
pub(crate) fn is_reset(object: &Value) -> bool {
    match object.pointer("/metadata/managedFields") {
        Some(Value::Array(items)) => match items.as_slice() {
            [] => true,
            [Value::Object(only)] => only.is_empty(),
            _ => false,
        },
        _ => false,
    }
}

/// Upstream's order of entries: `Apply` before `Update`, then by time (to the second; none first),
/// manager, apiVersion, subresource.
fn sort(entries: &mut [Entry]) {
    entries.sort_by(|a, b| {
        a.operation
            .cmp(&b.operation)
            .then_with(|| seconds(a.time.as_deref()).cmp(seconds(b.time.as_deref())))
            .then_with(|| a.manager.cmp(&b.manager))
            .then_with(|| a.api_version.cmp(&b.api_version))
            .then_with(|| a.subresource.cmp(&b.subresource))
    });
}

/// The time of an entry truncated to seconds, comparable as text (`2006-01-02T15:04:05`): entries
/// are written by the server in UTC with a `Z`.
fn seconds(time: Option<&str>) -> &str {
    time.map_or("", |t| t.get(..19).unwrap_or(t))
}

/// Writes `entries` into `object.metadata.managedFields`, sorted; no entries removes the field, as
/// upstream's encoder leaves it nil.
pub(crate) fn encode(object: &mut Value, mut entries: Vec<Entry>) {
    entries.retain(|e| !e.set.is_empty());
    sort(&mut entries);
    let Some(obj) = object.as_object_mut() else {
        return;
    };
    let metadata = obj
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    let Some(metadata) = metadata.as_object_mut() else {
        return;
    };
    if entries.is_empty() {
        metadata.remove("managedFields");
        return;
    }
    let list = entries
        .into_iter()
        .map(|e| {
            let mut m = Map::new();
            m.insert("manager".into(), Value::String(e.manager));
            m.insert(
                "operation".into(),
                Value::String(e.operation.as_str().into()),
            );
            m.insert("apiVersion".into(), Value::String(e.api_version));
            if let Some(t) = e.time {
                m.insert("time".into(), Value::String(t));
            }
            m.insert("fieldsType".into(), Value::String("FieldsV1".into()));
            m.insert("fieldsV1".into(), e.set.to_fields_v1());
            if !e.subresource.is_empty() {
                m.insert("subresource".into(), Value::String(e.subresource));
            }
            Value::Object(m)
        })
        .collect();
    metadata.insert("managedFields".into(), Value::Array(list));
}

/// `object` without `metadata.managedFields`.
pub(crate) fn without_managed_fields(object: &Value) -> Value {
    let mut out = object.clone();
    if let Some(meta) = out.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("managedFields");
    }
    out
}

/// The fields no manager owns (upstream's `stripMetaManager`): type and identity metadata the
/// server sets.
pub(crate) fn strip_meta(set: &FieldSet) -> FieldSet {
    let f = |s: &str| PathElement::Field(s.to_owned());
    let mut strip = FieldSet::new();
    strip.insert(&[f("apiVersion")]);
    strip.insert(&[f("kind")]);
    strip.insert(&[f("metadata")]);
    for name in [
        "name",
        "namespace",
        "creationTimestamp",
        "selfLink",
        "uid",
        "clusterName",
        "generation",
        "managedFields",
        "resourceVersion",
    ] {
        strip.insert(&[f("metadata"), f(name)]);
    }
    set.difference(&strip)
}

/// At most this many `Update` entries; older ones merge into `ancient-changes` (upstream's
/// `DefaultMaxUpdateManagers`).
const MAX_UPDATE_MANAGERS: usize = 10;
const ANCIENT_CHANGES: &str = "ancient-changes";

/// Merges the oldest update managers, per apiVersion, into an `ancient-changes` entry until at most
/// [`MAX_UPDATE_MANAGERS`] remain (upstream's `capManagersManager`).
pub(crate) fn cap_update_managers(entries: &mut Vec<Entry>) {
    let mut updaters: Vec<(String, String)> = entries
        .iter()
        .filter(|e| e.operation == Operation::Update)
        .map(|e| (seconds(e.time.as_deref()).to_owned(), e.identifier()))
        .collect();
    if updaters.len() <= MAX_UPDATE_MANAGERS {
        return;
    }
    updaters.sort();
    let mut remaining = updaters.len();
    // apiVersion → the identifier of the first (oldest) updater of that version seen.
    let mut first_of_version: Vec<(String, String)> = Vec::new();
    for (_, id) in updaters {
        if remaining <= MAX_UPDATE_MANAGERS {
            break;
        }
        let Some(pos) = entries.iter().position(|e| e.identifier() == id) else {
            continue;
        };
        let version = entries[pos].api_version.clone();
        let Some((_, first)) = first_of_version.iter().find(|(v, _)| *v == version) else {
            first_of_version.push((version, id));
            continue;
        };
        let first = first.clone();
        let entry = entries.remove(pos);
        let bucket = Identity {
            manager: ANCIENT_CHANGES,
            operation: Operation::Update,
            api_version: &version,
            subresource: "",
        };
        if !entries.iter().any(|e| e.is(&bucket))
            && let Some(f) = entries.iter_mut().find(|e| e.identifier() == first)
        {
            // The oldest entry of the version becomes the bucket.
            f.manager = ANCIENT_CHANGES.to_owned();
            f.subresource = String::new();
        }
        if let Some(b) = entries.iter_mut().find(|e| e.is(&bucket)) {
            b.set = entry.set.union(&b.set);
            // The merged update is the more recent.
            b.time = entry.time;
        }
        remaining -= 1;
    }
}
