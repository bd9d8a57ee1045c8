//! Server-side apply and managed fields, without I/O: what kube-apiserver's field manager
//! (`k8s.io/apimachinery/pkg/util/managedfields`, on structured-merge-diff) does to an object on
//! every write.
//!
//! This module owns the two entry points and their errors:
//! - [`apply`]: a PATCH with `application/apply-patch+yaml`. The applied configuration merges into
//!   the live object by the schema's structure (list-type maps by key, sets by value, atomic values
//!   replaced); fields the manager applied last time and no longer applies are removed unless
//!   another manager owns them; changing a field another manager owns is a conflict (409) unless
//!   `force`, which takes the field over.
//! - [`record_update`]: every other write (create, update, patch). The fields that changed become
//!   the manager's, with operation `Update`, and leave every other manager's set.
//!
//! Both write `metadata.managedFields`: one entry per (manager, operation, apiVersion for updates,
//! subresource), in upstream's order, entries with no fields dropped. [`fieldpath`] owns field sets
//! and `FieldsV1`, `typed` the schema-guided walks, `managers` the entries.
//!
//! The server owns the rest: decoding the YAML body, `fieldManager` being required for apply, the
//! name checks ([`check_name`] is provided), defaulting, validation, admission and storage.

pub mod fieldpath;
mod managers;
mod typed;

use serde_json::{Value, json};
use tugboat_protobuf::MessageRef;

pub use fieldpath::{FieldSet, FieldsV1Error, Path, PathElement, path_string};
pub use managers::Operation;

use managers::{Entry, Identity};
use typed::Node;

/// The manager that owns a live object's fields on its first apply when it has no managed fields
/// yet (created before they existed, or after they were reset).
pub const BEFORE_FIRST_APPLY: &str = "before-first-apply";

/// A field the applied configuration changes that another manager owns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conflict {
    pub manager: String,
    pub operation: Operation,
    /// The owning entry's apiVersion.
    pub api_version: String,
    /// The owning entry's subresource (empty for the main resource).
    pub subresource: String,
    /// As upstream prints it: `.spec.replicas`, `.spec.containers[name="nginx"].image`.
    pub path: String,
}

impl Conflict {
    /// Upstream's `printManager`: `"mgr"` for appliers, `"mgr" using apps/v1` for updaters, with
    /// ` with subresource "status"` after the name when there is one.
    pub fn manager_description(&self) -> String {
        let mut s = fieldpath::go_quote(&self.manager);
        if !self.subresource.is_empty() {
            s.push_str(&format!(
                " with subresource {}",
                fieldpath::go_quote(&self.subresource)
            ));
        }
        if self.operation == Operation::Update {
            s.push_str(&format!(" using {}", self.api_version));
        }
        s
    }

    fn identifier(&self) -> String {
        Entry {
            manager: self.manager.clone(),
            operation: self.operation,
            api_version: self.api_version.clone(),
            subresource: self.subresource.clone(),
            time: None,
            set: FieldSet::new(),
        }
        .identifier()
    }
}

/// One `Status.details.causes` item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusCause {
    /// `FieldManagerConflict`.
    pub reason: &'static str,
    pub message: String,
    pub field: String,
}

impl StatusCause {
    /// The JSON form: `{"type": ..., "message": ..., "field": ...}`.
    pub fn to_json(&self) -> Value {
        json!({"type": self.reason, "message": self.message, "field": self.field})
    }
}

/// A failed apply, with the status upstream answers.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ApplyError {
    /// Fields owned by other managers would change. 409 `Conflict`, one cause per field; sorted by
    /// manager (upstream's message order), fields in path order within a manager.
    #[error("{}", conflict_message(.0))]
    Conflicts(Vec<Conflict>),
    /// 400 `BadRequest` with this message: `invalid object type: apps/v1, Kind=Foo` (the
    /// configuration's apiVersion/kind is not the resource's), `metadata.managedFields must be nil`,
    /// and [`check_name`]'s messages.
    #[error("{0}")]
    BadRequest(String),
    /// The configuration does not fit the schema (a field it does not declare, a value of the wrong
    /// type, duplicate or keyless list-map items): upstream passes the typed conversion's error
    /// through unwrapped, so 500 with an empty reason and the text as the message,
    /// `failed to create typed patch object (apps/v1, Kind=Deployment; default/web): .spec.foo:
    /// field not declared in schema`.
    #[error("{0}")]
    InvalidConfig(String),
}

impl ApplyError {
    pub fn status_code(&self) -> u16 {
        match self {
            ApplyError::Conflicts(_) => 409,
            ApplyError::BadRequest(_) => 400,
            ApplyError::InvalidConfig(_) => 500,
        }
    }

    /// `Status.reason`; empty for errors upstream does not classify.
    pub fn reason(&self) -> &'static str {
        match self {
            ApplyError::Conflicts(_) => "Conflict",
            ApplyError::BadRequest(_) => "BadRequest",
            ApplyError::InvalidConfig(_) => "",
        }
    }

    pub fn status_message(&self) -> String {
        self.to_string()
    }

    /// `Status.details.causes` (only conflicts have any; upstream's details carry nothing else).
    pub fn causes(&self) -> Vec<StatusCause> {
        match self {
            ApplyError::Conflicts(conflicts) => conflicts
                .iter()
                .map(|c| StatusCause {
                    reason: "FieldManagerConflict",
                    message: format!("conflict with {}", c.manager_description()),
                    field: c.path.clone(),
                })
                .collect(),
            _ => Vec::new(),
        }
    }
}

/// Upstream's `getConflictMessage`.
fn conflict_message(conflicts: &[Conflict]) -> String {
    if let [only] = conflicts {
        return format!(
            "Apply failed with 1 conflict: conflict with {}: {}",
            only.manager_description(),
            only.path
        );
    }
    let mut lines = Vec::new();
    let mut last: Option<String> = None;
    // `conflicts` are grouped by manager identifier in sorted order (see `update_managers`).
    for c in conflicts {
        let id = c.identifier();
        if last.as_ref() != Some(&id) {
            lines.push(format!("conflicts with {}:", c.manager_description()));
            last = Some(id);
        }
        lines.push(format!("- {}", c.path));
    }
    format!(
        "Apply failed with {} conflicts: {}",
        conflicts.len(),
        lines.join("\n")
    )
}

/// Server-side apply of `config` (the decoded body) to `live` (`None`: create-on-apply) by
/// `manager` on the main resource. Returns the object to store, with `metadata.managedFields`.
pub fn apply(
    live: Option<&Value>,
    config: &Value,
    schema: MessageRef,
    manager: &str,
    force: bool,
    now: &str,
) -> Result<Value, ApplyError> {
    apply_to_subresource(live, config, schema, manager, "", force, now)
}

/// [`apply`] through a subresource (`status`, `scale`): the entry records it.
pub fn apply_to_subresource(
    live: Option<&Value>,
    config: &Value,
    schema: MessageRef,
    manager: &str,
    subresource: &str,
    force: bool,
    now: &str,
) -> Result<Value, ApplyError> {
    let api_version = config
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or("");
    let kind = config.get("kind").and_then(Value::as_str).unwrap_or("");
    if !config.is_object() || MessageRef::for_kind(api_version, kind) != Some(schema) {
        return Err(ApplyError::BadRequest(format!(
            "invalid object type: {}",
            gvk_string(api_version, kind)
        )));
    }
    if config
        .pointer("/metadata/managedFields")
        .is_some_and(|m| !m.is_null())
    {
        return Err(ApplyError::BadRequest(
            "metadata.managedFields must be nil".to_owned(),
        ));
    }
    let root = typed::root(schema);
    let empty = json!({});
    let live_obj = live.map_or_else(|| empty.clone(), managers::without_managed_fields);
    // Upstream fails the apply on undecodable live managed fields; the server wrote them, so
    // starting over is the kinder reading of a corrupted object.
    let mut entries = live.map_or_else(Vec::new, |l| managers::decode(l).unwrap_or_default());

    if entries.is_empty() && live.is_some() {
        let id = Identity {
            manager: BEFORE_FIRST_APPLY,
            operation: Operation::Update,
            api_version,
            subresource,
        };
        record(&empty, &live_obj, root, &mut entries, &id, now);
    }

    let (config_set, errors) = typed::field_set(config, root, true);
    if !errors.is_empty() {
        let text = match errors.as_slice() {
            [one] => format!("{}: {}", one.path, one.message),
            many => {
                let lines: Vec<String> = many
                    .iter()
                    .map(|e| format!("  {}: {}", e.path, e.message))
                    .collect();
                format!("errors:\n{}", lines.join("\n"))
            }
        };
        return Err(ApplyError::InvalidConfig(format!(
            "failed to create typed patch object ({}): {text}",
            gvknn(config, api_version, kind)
        )));
    }

    let id = Identity {
        manager,
        operation: Operation::Apply,
        api_version,
        subresource,
    };
    let merged = typed::merge(live.map(|_| &live_obj), config, root);
    let (last_set, last_time) = match entries.iter().position(|e| e.is(&id)) {
        Some(pos) => {
            let e = entries.remove(pos);
            (Some(e.set), e.time)
        }
        None => (None, None),
    };
    entries.push(Entry {
        manager: manager.to_owned(),
        operation: Operation::Apply,
        api_version: api_version.to_owned(),
        subresource: subresource.to_owned(),
        time: last_time,
        set: config_set,
    });
    let merged = match &last_set {
        Some(last) if !last.is_empty() => prune(&merged, last, &entries, root),
        _ => merged,
    };

    let comparison = typed::compare(&live_obj, &merged, root);
    update_managers(&mut entries, &comparison, &id, force)?;

    if let Some(pos) = entries.iter().position(|e| e.is(&id)) {
        let set = managers::strip_meta(&entries[pos].set);
        if set.is_empty() {
            entries.remove(pos);
        } else {
            entries[pos].set = set;
        }
    }
    let mut result = if merged == live_obj {
        live_obj
    } else {
        if let Some(e) = entries.iter_mut().find(|e| e.is(&id)) {
            e.time = Some(now.to_owned());
        }
        merged
    };
    managers::cap_update_managers(&mut entries);
    managers::encode(&mut result, entries);
    Ok(result)
}

/// Removes what the applier owned last time (`last`), no longer applies, and nobody else owns
/// (upstream's `prune`, `addBackOwnedItems`, `addBackDanglingItems`): struct fields count as owned
/// when anything below them is, so an emptied struct goes too.
fn prune(merged: &Value, last: &FieldSet, entries: &[Entry], root: Node) -> Value {
    let ensure = |s: &FieldSet| typed::ensure_named_fields(s, root);
    let set_of = |v: &Value| ensure(&typed::field_set(v, root, false).0);
    let last = ensure(last);
    let pruned = typed::remove_items(merged, &last, root);
    let owned = ensure(
        &entries
            .iter()
            .fold(FieldSet::new(), |acc, e| acc.union(&e.set)),
    );
    let merged_set = set_of(merged);
    let pruned = typed::remove_items(
        merged,
        &merged_set.difference(&set_of(&pruned).union(&owned)),
        root,
    );
    typed::remove_items(
        merged,
        &merged_set.difference(&set_of(&pruned)).intersection(&last),
        root,
    )
}

/// Takes what changed from every manager but `id` (upstream's `Updater.update`): fields another
/// manager owns that were added or modified are conflicts (an error unless `force`, else taken from
/// it); removed fields leave every owner. Managers left with nothing are dropped.
fn update_managers(
    entries: &mut Vec<Entry>,
    comparison: &typed::Comparison,
    id: &Identity<'_>,
    force: bool,
) -> Result<(), ApplyError> {
    let changed = comparison.modified.union(&comparison.added);
    if !force {
        let mut conflicts: Vec<(String, Conflict)> = Vec::new();
        for e in entries.iter().filter(|e| !e.is(id)) {
            for path in e.set.intersection(&changed).paths() {
                let c = Conflict {
                    manager: e.manager.clone(),
                    operation: e.operation,
                    api_version: e.api_version.clone(),
                    subresource: e.subresource.clone(),
                    path: path_string(&path),
                };
                conflicts.push((c.identifier(), c));
            }
        }
        if !conflicts.is_empty() {
            // Stable: paths stay in order within a manager.
            conflicts.sort_by(|a, b| a.0.cmp(&b.0));
            return Err(ApplyError::Conflicts(
                conflicts.into_iter().map(|(_, c)| c).collect(),
            ));
        }
    }
    for e in entries.iter_mut().filter(|e| !e.is(id)) {
        e.set = e.set.difference(&changed).difference(&comparison.removed);
    }
    entries.retain(|e| !e.set.is_empty() || e.is(id));
    Ok(())
}

/// Records a non-apply write from `old` to `new` as `id`'s (upstream's `managedFieldsUpdater`
/// around `Updater.Update`): the added and modified fields become `id`'s, and leave everyone
/// else's; removed fields leave every owner. Nothing changed: the entries stay as they were.
fn record(
    old: &Value,
    new: &Value,
    root: Node,
    entries: &mut Vec<Entry>,
    id: &Identity<'_>,
    now: &str,
) {
    let comparison = typed::compare(old, new, root);
    let current = Identity {
        manager: "",
        operation: Operation::Update,
        api_version: "",
        // No entry has this subresource, so every entry counts as another manager's.
        subresource: "\u{0}current-operation",
    };
    // Never fails with force.
    let _ = update_managers(entries, &comparison, &current, true);
    let taken = managers::strip_meta(&comparison.modified.union(&comparison.added));
    if taken.is_empty() {
        return;
    }
    match entries.iter_mut().find(|e| e.is(id)) {
        Some(e) => {
            e.set = taken.union(&e.set);
            e.time = Some(now.to_owned());
        }
        None => entries.push(Entry {
            manager: id.manager.to_owned(),
            operation: Operation::Update,
            api_version: id.api_version.to_owned(),
            subresource: id.subresource.to_owned(),
            time: Some(now.to_owned()),
            set: taken,
        }),
    }
}

/// Records a create (`old` is `None`), update or non-apply patch by `manager` on the main
/// resource, returning `new` with its `metadata.managedFields`. Never fails: as upstream, an object
/// whose managed fields cannot be worked out is stored without them.
///
/// The managed fields come from `new` when the client sent valid ones (so clients can edit them),
/// are cleared when it sent `[]` or `[{}]`, and come from `old` otherwise. An existing object with
/// no managed fields stays without them (tracking resumes on its next apply).
pub fn record_update(
    old: Option<&Value>,
    new: &Value,
    schema: MessageRef,
    manager: &str,
    now: &str,
) -> Value {
    record_update_subresource(old, new, schema, manager, "", now)
}

/// [`record_update`] through a subresource (`status`, `scale`): managed fields sent in the body are
/// ignored (the live object's count), and the entry records the subresource.
pub fn record_update_subresource(
    old: Option<&Value>,
    new: &Value,
    schema: MessageRef,
    manager: &str,
    subresource: &str,
    now: &str,
) -> Value {
    let from_old = || old.map_or_else(Vec::new, |o| managers::decode(o).unwrap_or_default());
    let mut entries = if !subresource.is_empty() {
        from_old()
    } else if managers::is_reset(new) {
        Vec::new()
    } else {
        match managers::decode(new) {
            Ok(e) if !e.is_empty() => e,
            _ => from_old(),
        }
    };
    let mut result = managers::without_managed_fields(new);
    let existing = old.is_some_and(|o| {
        o.pointer("/metadata/uid")
            .and_then(Value::as_str)
            .is_some_and(|u| !u.is_empty())
    });
    if entries.is_empty() && existing {
        return result;
    }
    let api_version = new.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    let old_obj = old.map_or_else(|| json!({}), managers::without_managed_fields);
    let id = Identity {
        manager,
        operation: Operation::Update,
        api_version,
        subresource,
    };
    record(
        &old_obj,
        &result,
        typed::root(schema),
        &mut entries,
        &id,
        now,
    );
    managers::cap_update_managers(&mut entries);
    managers::encode(&mut result, entries);
    result
}

/// The field set `value` (an object of type `schema`) specifies, as an applier of it would own it
/// (before the identity metadata nobody owns is left out).
pub fn field_set(value: &Value, schema: MessageRef) -> FieldSet {
    typed::field_set(value, typed::root(schema), false).0
}

/// Upstream's last-applied manager, which lets `kubectl apply --server-side` take over from
/// client-side `kubectl apply` without conflicts: the conflicts an apply may force because they are
/// on fields client-side apply last applied (`last_applied`, the object its annotation holds) and
/// `live` still holds unchanged. `true` when every conflict is such a field.
pub fn conflicts_allowed_by_last_applied(
    conflicts: &[Conflict],
    live: &Value,
    last_applied: &Value,
    schema: MessageRef,
) -> bool {
    let node = typed::root(schema);
    let applied = typed::field_set(last_applied, node, false).0;
    let live = managers::without_managed_fields(live);
    let comparison = typed::compare(last_applied, &live, node);
    let unchanged = applied
        .difference(&comparison.modified)
        .difference(&comparison.removed);
    let allowed: std::collections::HashSet<String> = unchanged
        .paths()
        .iter()
        .map(|path| fieldpath::path_string(path))
        .collect();
    !conflicts.is_empty() && conflicts.iter().all(|c| allowed.contains(&c.path))
}

/// Upstream's `checkName` for apply and update: the object's name must be the URL's, and its
/// namespace (when set) the URL's.
pub fn check_name(object: &Value, name: &str, namespace: Option<&str>) -> Result<(), ApplyError> {
    let obj_name = object
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    if obj_name != name {
        return Err(ApplyError::BadRequest(format!(
            "the name of the object ({obj_name}) does not match the name on the URL ({name})"
        )));
    }
    let obj_ns = object
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or("");
    if let Some(ns) = namespace.filter(|ns| !ns.is_empty())
        && !obj_ns.is_empty()
        && obj_ns != ns
    {
        return Err(ApplyError::BadRequest(format!(
            "the namespace of the object ({obj_ns}) does not match the namespace on the URL ({ns})"
        )));
    }
    Ok(())
}

/// Go's `GroupVersionKind.String()` of an apiVersion and kind: `apps/v1, Kind=Deployment`,
/// `/v1, Kind=Pod`.
fn gvk_string(api_version: &str, kind: &str) -> String {
    let (group, version) = match api_version.split_once('/') {
        None => ("", api_version),
        Some((g, v)) if !v.contains('/') => (g, v),
        // Unparseable: upstream keeps only the kind.
        Some(_) => ("", ""),
    };
    format!("{group}/{version}, Kind={kind}")
}

/// Upstream's `objectGVKNN`: `apps/v1, Kind=Deployment; default/web`.
fn gvknn(object: &Value, api_version: &str, kind: &str) -> String {
    let meta = |k: &str| {
        object
            .pointer(&format!("/metadata/{k}"))
            .and_then(Value::as_str)
            .unwrap_or("")
    };
    format!(
        "{}; {}/{}",
        gvk_string(api_version, kind),
        meta("namespace"),
        meta("name")
    )
}
