//! What a DELETE does to an object, decided without I/O: upstream's `rest.BeforeDelete` (delete
//! options, preconditions, graceful deletion of pods) and the generic store's finalizer handling
//! (`deletionFinalizersForGarbageCollection`, `markAsDeleting`). The store runs [`plan`] inside
//! its compare-and-swap loop and writes or deletes what it says.

use serde_json::{Value, json};
use tugboat_machinery::{
    catalog::ResourceInfo,
    status::{ApiError, FieldError, FieldPath},
};

use super::meta;

/// The finalizer that makes the garbage collector orphan an object's dependents.
pub const ORPHAN_FINALIZER: &str = "orphan";
/// The finalizer that makes the garbage collector delete dependents before their owner.
pub const FOREGROUND_FINALIZER: &str = "foregroundDeletion";

/// `DeleteOptions.propagationPolicy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Propagation {
    /// Leave dependents alone, remove their owner references.
    Orphan,
    /// Delete the owner now, dependents in the background (the default).
    Background,
    /// Delete dependents first, then the owner.
    Foreground,
}

impl Propagation {
    /// Parse upstream's spelling.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "Orphan" => Some(Propagation::Orphan),
            "Background" => Some(Propagation::Background),
            "Foreground" => Some(Propagation::Foreground),
            _ => None,
        }
    }
}

/// `DeleteOptions` as the store needs them.
#[derive(Debug, Clone, Default)]
pub struct DeleteOptions {
    /// `preconditions.uid`.
    pub uid: Option<String>,
    /// `preconditions.resourceVersion`.
    pub resource_version: Option<String>,
    /// `gracePeriodSeconds`.
    pub grace_period_seconds: Option<i64>,
    /// `propagationPolicy`.
    pub propagation: Option<Propagation>,
    /// The deprecated `orphanDependents`.
    pub orphan_dependents: Option<bool>,
    /// `dryRun=All`.
    pub dry_run: bool,
}

impl DeleteOptions {
    /// `ValidateDeleteOptions`: the deprecated `orphanDependents` and `propagationPolicy` exclude
    /// each other.
    pub fn validate(&self) -> Result<(), ApiError> {
        if self.orphan_dependents.is_some()
            && let Some(policy) = self.propagation
        {
            let value = match policy {
                Propagation::Orphan => "Orphan",
                Propagation::Background => "Background",
                Propagation::Foreground => "Foreground",
            };
            return Err(ApiError::invalid(
                "meta.k8s.io",
                "DeleteOptions",
                "",
                &[FieldError::invalid(
                    &FieldPath::new("propagationPolicy"),
                    value,
                    "orphanDependents and deletionPropagation cannot be both set",
                )],
            ));
        }
        Ok(())
    }
}

/// What to do with the object.
#[derive(Debug, PartialEq)]
pub enum Plan {
    /// Delete it from storage now (after writing `write` first, if given: the graceless
    /// deletion of a pod records its deletion timestamp before it goes, as upstream).
    DeleteNow {
        /// A last state to write before deleting.
        write: Option<Value>,
    },
    /// Keep it, marked for deletion: write this new state (it has a deletion timestamp and
    /// maybe new finalizers) unless it equals the current one.
    Mark(Value),
}

/// Decide what a delete does to `object` (the current state, with its resourceVersion) at
/// `now` (seconds since the epoch).
pub fn plan(
    info: &ResourceInfo,
    object: &Value,
    options: &DeleteOptions,
    now: u64,
) -> Result<Plan, ApiError> {
    options.validate()?;
    check_preconditions(info, object, options)?;
    let mut new = object.clone();
    meta::remove(&mut new, "resourceVersion");
    // Negative grace periods mean one second on the delete path.
    let requested = options
        .grace_period_seconds
        .map(|g| if g < 0 { 1 } else { g });
    let graceful = match graceful_period(info, object, requested, now, &mut new) {
        Graceful::Pending => return Ok(Plan::Mark(new)),
        Graceful::No => None,
        Graceful::Yes(period) => Some(period),
    };
    if let Some(finalizers) = gc_finalizers(info, object, options) {
        meta::set(&mut new, "finalizers", json!(finalizers));
    }
    // A namespace goes through Terminating while the namespace controller empties it and removes
    // its `spec.finalizers` (upstream's namespace storage Delete).
    let namespace = info.group.is_empty() && info.kind == "Namespace";
    if namespace && !spec_finalizers(&new).is_empty() {
        mark_as_deleting(&mut new, now);
        if let Some(root) = new.as_object_mut() {
            let status = root.entry("status").or_insert_with(|| json!({}));
            if let Some(status) = status.as_object_mut() {
                status.insert("phase".to_owned(), json!("Terminating"));
            }
        }
        return Ok(Plan::Mark(new));
    }
    let pending_finalizers = !meta::finalizers(&new).is_empty();
    match graceful {
        None if pending_finalizers => {
            mark_as_deleting(&mut new, now);
            Ok(Plan::Mark(new))
        }
        None => Ok(Plan::DeleteNow { write: None }),
        Some(period) if pending_finalizers || period > 0 => Ok(Plan::Mark(new)),
        Some(_) => Ok(Plan::DeleteNow { write: Some(new) }),
    }
}

fn check_preconditions(
    info: &ResourceInfo,
    object: &Value,
    options: &DeleteOptions,
) -> Result<(), ApiError> {
    let name = meta::name(object).unwrap_or_default();
    // Upstream names the kind, not the resource, in these two messages.
    let conflict = |detail: String| ApiError::conflict(&info.group, &info.kind, name, &detail);
    if let Some(uid) = &options.uid {
        let actual = meta::string(object, "uid").unwrap_or_default();
        if uid != actual {
            return Err(conflict(format!(
                "the UID in the precondition ({uid}) does not match the UID in record ({actual}). The object might have been deleted and then recreated"
            )));
        }
    }
    if let Some(rv) = &options.resource_version {
        let actual = meta::string(object, "resourceVersion").unwrap_or_default();
        if rv != actual {
            return Err(conflict(format!(
                "the ResourceVersion in the precondition ({rv}) does not match the ResourceVersion in record ({actual}). The object might have been modified"
            )));
        }
    }
    Ok(())
}

enum Graceful {
    /// The kind has no graceful deletion, or the object's grace period is over.
    No,
    /// Deleting gracefully with this period (already written into the new state).
    Yes(i64),
    /// A graceful deletion is under way and this request does not shorten it.
    Pending,
}

/// Pods are the one built-in kind with graceful deletion (upstream's `CheckGracefulDelete`).
fn supports_graceful_deletion(info: &ResourceInfo) -> bool {
    info.group.is_empty() && info.kind == "Pod"
}

fn graceful_period(
    info: &ResourceInfo,
    object: &Value,
    requested: Option<i64>,
    now: u64,
    new: &mut Value,
) -> Graceful {
    if !supports_graceful_deletion(info) {
        return Graceful::No;
    }
    let current_grace = object
        .get("metadata")
        .and_then(|m| m.get("deletionGracePeriodSeconds"))
        .and_then(Value::as_i64);
    if let Some(timestamp) = meta::string(object, "deletionTimestamp") {
        // Already being deleted: a request may only shorten the grace period.
        let Some(current) = current_grace.filter(|g| *g != 0) else {
            return Graceful::No;
        };
        let Some(period) = requested.filter(|p| *p < current) else {
            return Graceful::Pending;
        };
        if let Some(deadline) = parse_rfc3339(timestamp) {
            let start = deadline.saturating_sub(u64::try_from(current).unwrap_or(0));
            let shortened = start + u64::try_from(period).unwrap_or(0);
            meta::set(
                new,
                "deletionTimestamp",
                json!(meta::format_rfc3339(shortened)),
            );
        }
        meta::set(new, "deletionGracePeriodSeconds", json!(period));
        return Graceful::Yes(period);
    }
    let spec = object.get("spec");
    let mut period = requested.unwrap_or_else(|| {
        spec.and_then(|s| s.get("terminationGracePeriodSeconds"))
            .and_then(Value::as_i64)
            .unwrap_or(0)
    });
    // A pod no node runs, or one that has finished, has nothing to wait for.
    let scheduled = spec
        .and_then(|s| s.get("nodeName"))
        .and_then(Value::as_str)
        .is_some_and(|n| !n.is_empty());
    let phase = object
        .get("status")
        .and_then(|s| s.get("phase"))
        .and_then(Value::as_str);
    if !scheduled || matches!(phase, Some("Failed" | "Succeeded")) {
        period = 0;
    }
    if period < 0 {
        period = 1;
    }
    meta::set(
        new,
        "deletionTimestamp",
        json!(meta::format_rfc3339(
            now + u64::try_from(period).unwrap_or(0)
        )),
    );
    meta::set(new, "deletionGracePeriodSeconds", json!(period));
    bump_generation(new);
    Graceful::Yes(period)
}

/// Kinds the garbage collector never finalizes (upstream's `rest.Unsupported` policy).
fn gc_unsupported(info: &ResourceInfo) -> bool {
    matches!(
        (info.group.as_str(), info.plural.as_str()),
        ("" | "events.k8s.io", "events")
    )
}

/// The finalizers the garbage collector needs for this delete, or `None` when they stay as
/// they are (`deletionFinalizersForGarbageCollection`).
fn gc_finalizers(
    info: &ResourceInfo,
    object: &Value,
    options: &DeleteOptions,
) -> Option<Vec<String>> {
    if gc_unsupported(info) {
        return None;
    }
    let current = meta::finalizers(object);
    let has = |f: &str| current.contains(&f);
    // An explicit choice in the request wins; then a finalizer already on the object; the
    // default for every served version is to delete dependents in the background.
    let (orphan, foreground) = match (options.orphan_dependents, options.propagation) {
        (Some(orphan), _) => (orphan, false),
        (None, Some(Propagation::Orphan)) => (true, false),
        (None, Some(Propagation::Foreground)) => (false, true),
        (None, Some(Propagation::Background)) => (false, false),
        (None, None) => {
            let position = |f: &str| current.iter().position(|c| *c == f);
            match (position(ORPHAN_FINALIZER), position(FOREGROUND_FINALIZER)) {
                (Some(o), Some(f)) => (o < f, f < o),
                (Some(_), None) => (true, false),
                (None, Some(_)) => (false, true),
                (None, None) => (false, false),
            }
        }
    };
    let mut wanted: Vec<String> = current
        .iter()
        .filter(|f| **f != ORPHAN_FINALIZER && **f != FOREGROUND_FINALIZER)
        .map(|f| (*f).to_owned())
        .collect();
    if orphan {
        wanted.push(ORPHAN_FINALIZER.to_owned());
    }
    if foreground {
        wanted.push(FOREGROUND_FINALIZER.to_owned());
    }
    let same_set = wanted.len() == current.len() && wanted.iter().all(|f| has(f));
    (!same_set).then_some(wanted)
}

/// `markAsDeleting`: deletion timestamp now (unless an earlier one is set), grace period 0.
/// A namespace's `spec.finalizers`.
pub fn spec_finalizers(object: &Value) -> Vec<&str> {
    object
        .pointer("/spec/finalizers")
        .and_then(Value::as_array)
        .map(|list| list.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

fn mark_as_deleting(new: &mut Value, now: u64) {
    let existing = meta::string(new, "deletionTimestamp").and_then(parse_rfc3339);
    if existing.is_none() {
        bump_generation(new);
    }
    if existing.is_none_or(|t| t > now) {
        meta::set(new, "deletionTimestamp", json!(meta::format_rfc3339(now)));
    }
    meta::set(new, "deletionGracePeriodSeconds", json!(0));
}

/// The first step of a deletion changes `generation` (if the kind tracks it), so controllers see
/// a change they must react to.
fn bump_generation(new: &mut Value) {
    if let Some(generation) = new
        .get("metadata")
        .and_then(|m| m.get("generation"))
        .and_then(Value::as_i64)
        .filter(|g| *g > 0)
    {
        meta::set(new, "generation", json!(generation + 1));
    }
}

/// Whole seconds since the epoch of an RFC 3339 timestamp.
fn parse_rfc3339(text: &str) -> Option<u64> {
    let nanos = meta::parse_rfc3339_nanos(text)?;
    u64::try_from(nanos.div_euclid(1_000_000_000)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tugboat_machinery::catalog::Catalog;

    const NOW: u64 = 1_800_000_000;

    fn info(group: &str, plural: &str) -> ResourceInfo {
        let catalog = Catalog::builtin();
        let found = catalog
            .in_discovery_order()
            .find(|i| i.group == group && i.version == "v1" && i.plural == plural)
            .unwrap();
        (*found).clone()
    }

    fn pod(node: Option<&str>, grace: Option<i64>) -> Value {
        let mut pod = json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "namespace": "default", "uid": "u1", "resourceVersion": "7"},
            "spec": {"containers": [{"name": "c", "image": "i"}]},
        });
        if let Some(node) = node {
            pod["spec"]["nodeName"] = json!(node);
        }
        if let Some(grace) = grace {
            pod["spec"]["terminationGracePeriodSeconds"] = json!(grace);
        }
        pod
    }

    #[test]
    fn timestamps_round_trip() {
        for seconds in [0, 951_782_400, NOW, 4_102_444_800] {
            assert_eq!(parse_rfc3339(&meta::format_rfc3339(seconds)), Some(seconds));
        }
        assert_eq!(
            parse_rfc3339("2026-11-22T06:22:18.123456Z"),
            parse_rfc3339("2026-11-22T06:22:18Z")
        );
        assert_eq!(parse_rfc3339("yesterday"), None);
    }

    #[test]
    fn unscheduled_pods_go_at_once_after_recording_the_deletion() {
        let plan = plan(
            &info("", "pods"),
            &pod(None, Some(30)),
            &DeleteOptions::default(),
            NOW,
        )
        .unwrap();
        let Plan::DeleteNow { write: Some(last) } = plan else {
            panic!("{plan:?}")
        };
        assert_eq!(last["metadata"]["deletionGracePeriodSeconds"], 0);
        assert_eq!(
            last["metadata"]["deletionTimestamp"],
            meta::format_rfc3339(NOW)
        );
    }

    #[test]
    fn scheduled_pods_wait_their_grace_period() {
        let pods = info("", "pods");
        let Plan::Mark(marked) = plan(
            &pods,
            &pod(Some("n1"), Some(30)),
            &DeleteOptions::default(),
            NOW,
        )
        .unwrap() else {
            panic!()
        };
        assert_eq!(marked["metadata"]["deletionGracePeriodSeconds"], 30);
        assert_eq!(
            marked["metadata"]["deletionTimestamp"],
            meta::format_rfc3339(NOW + 30)
        );

        // A second delete without a shorter period changes nothing; a shorter one moves the
        // deadline; zero deletes.
        let mut being_deleted = marked.clone();
        being_deleted["metadata"]["resourceVersion"] = json!("8");
        let again = plan(&pods, &being_deleted, &DeleteOptions::default(), NOW + 5).unwrap();
        assert_eq!(again, Plan::Mark(marked.clone()));
        let shorter = DeleteOptions {
            grace_period_seconds: Some(10),
            ..DeleteOptions::default()
        };
        let Plan::Mark(shortened) = plan(&pods, &being_deleted, &shorter, NOW + 5).unwrap() else {
            panic!()
        };
        assert_eq!(
            shortened["metadata"]["deletionTimestamp"],
            meta::format_rfc3339(NOW + 10)
        );
        let now = DeleteOptions {
            grace_period_seconds: Some(0),
            ..DeleteOptions::default()
        };
        assert!(matches!(
            plan(&pods, &being_deleted, &now, NOW + 5).unwrap(),
            Plan::DeleteNow { .. }
        ));
    }

    #[test]
    fn finished_pods_and_forced_deletes_go_at_once() {
        let pods = info("", "pods");
        let mut done = pod(Some("n1"), Some(30));
        done["status"] = json!({"phase": "Succeeded"});
        assert!(matches!(
            plan(&pods, &done, &DeleteOptions::default(), NOW).unwrap(),
            Plan::DeleteNow { .. }
        ));
        let forced = DeleteOptions {
            grace_period_seconds: Some(0),
            ..DeleteOptions::default()
        };
        assert!(matches!(
            plan(&pods, &pod(Some("n1"), Some(30)), &forced, NOW).unwrap(),
            Plan::DeleteNow { .. }
        ));
    }

    fn configmap(finalizers: &[&str]) -> Value {
        json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "c", "namespace": "default", "uid": "u", "resourceVersion": "3", "finalizers": finalizers},
        })
    }

    #[test]
    fn propagation_policies_become_finalizers() {
        let cms = info("", "configmaps");
        assert_eq!(
            plan(&cms, &configmap(&[]), &DeleteOptions::default(), NOW).unwrap(),
            Plan::DeleteNow { write: None }
        );
        for (policy, finalizer) in [
            (Propagation::Orphan, ORPHAN_FINALIZER),
            (Propagation::Foreground, FOREGROUND_FINALIZER),
        ] {
            let options = DeleteOptions {
                propagation: Some(policy),
                ..DeleteOptions::default()
            };
            let Plan::Mark(marked) = plan(&cms, &configmap(&["keep"]), &options, NOW).unwrap()
            else {
                panic!()
            };
            assert_eq!(marked["metadata"]["finalizers"], json!(["keep", finalizer]));
            assert_eq!(
                marked["metadata"]["deletionTimestamp"],
                meta::format_rfc3339(NOW)
            );
            assert_eq!(marked["metadata"]["deletionGracePeriodSeconds"], 0);
        }
        // Background removes a finalizer an earlier Orphan delete added.
        let background = DeleteOptions {
            propagation: Some(Propagation::Background),
            ..DeleteOptions::default()
        };
        let Plan::Mark(marked) = plan(
            &cms,
            &configmap(&["keep", ORPHAN_FINALIZER]),
            &background,
            NOW,
        )
        .unwrap() else {
            panic!()
        };
        assert_eq!(marked["metadata"]["finalizers"], json!(["keep"]));
    }

    #[test]
    fn events_are_never_finalized_for_the_collector() {
        let options = DeleteOptions {
            propagation: Some(Propagation::Orphan),
            ..DeleteOptions::default()
        };
        let event =
            json!({"metadata": {"name": "e", "namespace": "default", "resourceVersion": "1"}});
        assert_eq!(
            plan(&info("", "events"), &event, &options, NOW).unwrap(),
            Plan::DeleteNow { write: None }
        );
    }

    #[test]
    fn preconditions_and_options_are_checked() {
        let cms = info("", "configmaps");
        let wrong_uid = DeleteOptions {
            uid: Some("other".into()),
            ..DeleteOptions::default()
        };
        let error = plan(&cms, &configmap(&[]), &wrong_uid, NOW).unwrap_err();
        assert_eq!(error.code, 409);
        assert!(
            error.message.contains(
                "the UID in the precondition (other) does not match the UID in record (u)"
            ),
            "{}",
            error.message
        );
        let both = DeleteOptions {
            orphan_dependents: Some(true),
            propagation: Some(Propagation::Foreground),
            ..DeleteOptions::default()
        };
        assert_eq!(
            plan(&cms, &configmap(&[]), &both, NOW).unwrap_err().code,
            422
        );
    }
}
