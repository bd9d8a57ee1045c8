//! Defaults of the batch group (upstream `pkg/apis/batch/v1/defaults.go`) and the selector and
//! labels the Job strategy generates for a new Job (`generateSelector` in
//! `pkg/registry/batch/job/strategy.go`).

use serde_json::{Map, Value, json};

use super::{child, core, existing, non_empty_map, or_set, unset};

/// The labels a Job's pods carry so that its generated selector picks exactly them.
pub const CONTROLLER_UID_LABEL: &str = "batch.kubernetes.io/controller-uid";
/// The pre-1.27 spelling of [`CONTROLLER_UID_LABEL`], still set.
pub const LEGACY_CONTROLLER_UID_LABEL: &str = "controller-uid";
/// The label naming the Job on its pods.
pub const JOB_NAME_LABEL: &str = "batch.kubernetes.io/job-name";
/// The pre-1.27 spelling of [`JOB_NAME_LABEL`], still set.
pub const LEGACY_JOB_NAME_LABEL: &str = "job-name";

/// Job: one completion at parallelism one when neither is given, six retries (or unlimited with
/// per-index limits), NonIndexed, not suspended, replacement once terminating or failed (failed
/// only with a pod failure policy), selector generated; the Job takes its template's labels when
/// it has none.
pub fn job(object: &mut Value) {
    let Some(spec) = child(object, "spec") else {
        return;
    };
    if unset(spec.get("completions")) && unset(spec.get("parallelism")) {
        spec.insert("completions".into(), json!(1));
    }
    or_set(spec, "parallelism", json!(1));
    let per_index = !unset(spec.get("backoffLimitPerIndex"));
    or_set(
        spec,
        "backoffLimit",
        json!(if per_index { i64::from(i32::MAX) } else { 6 }),
    );
    or_set(spec, "completionMode", json!("NonIndexed"));
    or_set(spec, "suspend", json!(false));
    let has_failure_policy = !unset(spec.get("podFailurePolicy"));
    if let Some(rules) = spec
        .get_mut("podFailurePolicy")
        .and_then(|p| p.get_mut("rules"))
        .and_then(Value::as_array_mut)
    {
        for rule in rules {
            for pattern in rule
                .get_mut("onPodConditions")
                .and_then(Value::as_array_mut)
                .into_iter()
                .flatten()
            {
                super::or_set_in(pattern, "status", json!("True"));
            }
        }
    }
    or_set(
        spec,
        "podReplacementPolicy",
        json!(if has_failure_policy {
            "Failed"
        } else {
            "TerminatingOrFailed"
        }),
    );
    or_set(spec, "manualSelector", json!(false));
    labels_from_template(object);
    if let Some(template) = existing(object, "spec").and_then(|s| existing(s, "template")) {
        core::pod_template_spec(template);
    }
}

/// A Job without labels of its own takes its pod template's.
fn labels_from_template(object: &mut Value) {
    let labels = object
        .get("spec")
        .and_then(|s| s.get("template"))
        .and_then(|t| t.get("metadata"))
        .and_then(|m| m.get("labels"))
        .filter(|l| l.is_object())
        .cloned();
    if let Some(labels) = labels
        && !non_empty_map(object.get("metadata").and_then(|m| m.get("labels")))
    {
        crate::registry::meta::set(object, "labels", labels);
    }
}

/// JobStrategy on create: unless the selector is manual, label the template with the Job's name
/// and uid (labels the user set are kept, and rejected by validation if they conflict) and select
/// on the uid. Runs after the uid is assigned. A Job read back from upstream's storage is
/// defaulted again, so it shows the generated labels too; that is applied here once.
pub fn job_prepare_create(object: &mut Value) {
    let manual = object
        .get("spec")
        .and_then(|s| s.get("manualSelector"))
        .and_then(Value::as_bool)
        == Some(true);
    if !manual {
        generate_selector(object);
    }
    labels_from_template(object);
}

fn generate_selector(object: &mut Value) {
    let name = crate::registry::meta::name(object)
        .unwrap_or_default()
        .to_owned();
    let uid = crate::registry::meta::string(object, "uid")
        .unwrap_or_default()
        .to_owned();
    let Some(spec) = child(object, "spec") else {
        return;
    };
    let template = spec.entry("template").or_insert_with(|| json!({}));
    if let Some(metadata) = child(template, "metadata") {
        let labels = metadata.entry("labels").or_insert_with(|| json!({}));
        if labels.is_null() {
            *labels = json!({});
        }
        if let Some(labels) = labels.as_object_mut() {
            for key in [LEGACY_JOB_NAME_LABEL, JOB_NAME_LABEL] {
                labels.entry(key).or_insert_with(|| json!(name));
            }
            for key in [LEGACY_CONTROLLER_UID_LABEL, CONTROLLER_UID_LABEL] {
                labels.entry(key).or_insert_with(|| json!(uid));
            }
        }
    }
    let selector = spec
        .entry("selector")
        .or_insert_with(|| Value::Object(Map::new()));
    if selector.is_null() {
        *selector = json!({});
    }
    if let Some(selector) = selector.as_object_mut() {
        let match_labels = selector.entry("matchLabels").or_insert_with(|| json!({}));
        if match_labels.is_null() {
            *match_labels = json!({});
        }
        if let Some(match_labels) = match_labels.as_object_mut() {
            match_labels
                .entry(CONTROLLER_UID_LABEL)
                .or_insert_with(|| json!(uid));
        }
    }
}

/// CronJob: concurrent runs allowed, not suspended, three successful and one failed Job kept;
/// the job template's pod spec gets the pod spec defaults.
pub fn cron_job(object: &mut Value) {
    let Some(spec) = child(object, "spec") else {
        return;
    };
    or_set(spec, "concurrencyPolicy", json!("Allow"));
    or_set(spec, "suspend", json!(false));
    or_set(spec, "successfulJobsHistoryLimit", json!(3));
    or_set(spec, "failedJobsHistoryLimit", json!(1));
    if let Some(template) = existing(object, "spec")
        .and_then(|s| existing(s, "jobTemplate"))
        .and_then(|t| existing(t, "spec"))
        .and_then(|s| existing(s, "template"))
    {
        core::pod_template_spec(template);
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::registry::defaults::testing::check;

    fn pod_spec_defaults(restart: &str) -> Value {
        json!({"containers": [], "dnsPolicy": "ClusterFirst", "restartPolicy": restart,
            "schedulerName": "default-scheduler", "securityContext": {}, "terminationGracePeriodSeconds": 30})
    }

    #[test]
    fn jobs() {
        check(
            "job",
            job,
            json!({"metadata": {"name": "j"}, "spec": {"template": {"metadata": {"labels": {"app": "a"}},
                "spec": {"containers": [], "restartPolicy": "Never"}}}}),
            json!({"metadata": {"name": "j", "labels": {"app": "a"}}, "spec": {
                "completions": 1, "parallelism": 1, "backoffLimit": 6, "completionMode": "NonIndexed",
                "suspend": false, "podReplacementPolicy": "TerminatingOrFailed", "manualSelector": false,
                "template": {"metadata": {"labels": {"app": "a"}}, "spec": pod_spec_defaults("Never")}}}),
        );
        check(
            "job with parallelism only and a failure policy",
            job,
            json!({"spec": {"parallelism": 3, "backoffLimitPerIndex": 1, "completionMode": "Indexed",
                "podFailurePolicy": {"rules": [{"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget"}]}]}}}),
            json!({"spec": {"parallelism": 3, "backoffLimitPerIndex": 1, "completionMode": "Indexed",
                "backoffLimit": 2147483647, "suspend": false, "podReplacementPolicy": "Failed", "manualSelector": false,
                "podFailurePolicy": {"rules": [{"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}]}]}}}),
        );
        let mut created =
            json!({"metadata": {"name": "j", "uid": "u-1"}, "spec": {"template": {"spec": {}}}});
        job(&mut created);
        job_prepare_create(&mut created);
        let labels = json!({"job-name": "j", "batch.kubernetes.io/job-name": "j",
            "controller-uid": "u-1", "batch.kubernetes.io/controller-uid": "u-1"});
        assert_eq!(created["spec"]["template"]["metadata"]["labels"], labels);
        assert_eq!(created["metadata"]["labels"], labels);
        assert_eq!(
            created["spec"]["selector"],
            json!({"matchLabels": {"batch.kubernetes.io/controller-uid": "u-1"}})
        );
        let mut manual = json!({"metadata": {"name": "j", "uid": "u-1"}, "spec": {"manualSelector": true,
            "selector": {"matchLabels": {"x": "y"}}, "template": {"metadata": {"labels": {"x": "y"}}}}});
        job_prepare_create(&mut manual);
        assert_eq!(
            manual["spec"]["template"]["metadata"]["labels"],
            json!({"x": "y"})
        );
    }

    #[test]
    fn cron_jobs() {
        check(
            "cronjob",
            cron_job,
            json!({"spec": {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": {"spec": {"containers": [], "restartPolicy": "OnFailure"}}}}}}),
            json!({"spec": {"schedule": "* * * * *", "concurrencyPolicy": "Allow", "suspend": false,
                "successfulJobsHistoryLimit": 3, "failedJobsHistoryLimit": 1,
                "jobTemplate": {"spec": {"template": {"spec": pod_spec_defaults("OnFailure")}}}}}),
        );
    }
}
