//! Validation of the batch group (upstream `pkg/apis/batch/validation/validation.go`): counts
//! and modes of a Job, its selector (generated unless manual, always selecting the template), a
//! template whose pods do not restart always; a CronJob's schedule, policy, name length and job
//! template; on update, a Job's selector is immutable.

use serde_json::Value;
use tugboat_machinery::{
    selectors::labels::{LabelSelectorValidationOptions, validate_label_selector},
    status::{FieldError, FieldPath},
};

use super::{
    core, immutable, int_at, label_selector, nonnegative, str_at, string_map, template_matches,
};
use crate::registry::defaults::batch::{
    CONTROLLER_UID_LABEL, JOB_NAME_LABEL, LEGACY_CONTROLLER_UID_LABEL, LEGACY_JOB_NAME_LABEL,
};

/// The longest CronJob name: its Jobs append an 11-character suffix to a 63-character label.
pub const CRON_JOB_NAME_MAX: usize = 52;

/// The checks of a Job spec shared by Jobs and CronJob job templates (upstream `validateJobSpec`).
fn job_spec(spec: &Value, path: &FieldPath) -> Vec<FieldError> {
    let mut errors = Vec::new();
    for field in [
        "parallelism",
        "completions",
        "activeDeadlineSeconds",
        "backoffLimit",
        "ttlSecondsAfterFinished",
    ] {
        errors.extend(nonnegative(int_at(spec, field), &path.child(field)));
    }
    let mode = str_at(spec, "completionMode");
    if !mode.is_empty() && !["NonIndexed", "Indexed"].contains(&mode) {
        errors.push(FieldError::not_supported(
            &path.child("completionMode"),
            mode,
            &["NonIndexed", "Indexed"],
        ));
    }
    if mode == "Indexed" && int_at(spec, "completions").is_none() {
        errors.push(FieldError::required(
            &path.child("completions"),
            "when completion mode is Indexed",
        ));
    }
    let replacement = str_at(spec, "podReplacementPolicy");
    if !replacement.is_empty() {
        let failure_policy = spec.get("podFailurePolicy").is_some_and(|p| !p.is_null());
        if failure_policy && replacement != "Failed" {
            errors.push(FieldError::not_supported(
                &path.child("podReplacementPolicy"),
                replacement,
                &["Failed"],
            ));
        } else if !["Failed", "TerminatingOrFailed"].contains(&replacement) {
            errors.push(FieldError::not_supported(
                &path.child("podReplacementPolicy"),
                replacement,
                &["Failed", "TerminatingOrFailed"],
            ));
        }
    }
    let template_path = path.child("template");
    let empty = Value::Null;
    let template = spec.get("template").unwrap_or(&empty);
    errors.extend(core::pod_template_spec(template, &template_path));
    let restart = template
        .get("spec")
        .map(|s| str_at(s, "restartPolicy"))
        .unwrap_or_default();
    let restart_path = template_path.child("spec").child("restartPolicy");
    match restart {
        "" | "Always" => errors.push(FieldError::required(
            &restart_path,
            "valid values: \"OnFailure\", \"Never\"",
        )),
        "OnFailure" | "Never" => {}
        other => errors.push(FieldError::not_supported(
            &restart_path,
            other,
            &["OnFailure", "Never"],
        )),
    }
    errors
}

/// The labels a generated selector needs on the template (upstream `ValidateHasLabel`).
fn has_label(template_labels: Option<&Value>, key: &str, expected: &str) -> Vec<FieldError> {
    let path = FieldPath::new("spec")
        .child("template")
        .child("metadata")
        .child("labels")
        .key(key);
    let labels = string_map(template_labels);
    match labels.get(key) {
        None => vec![FieldError::required(
            &path,
            &format!("must be '{expected}'"),
        )],
        Some(actual) if actual != expected => vec![FieldError::invalid(
            &path,
            template_labels.cloned().unwrap_or(Value::Null),
            &format!("must be '{expected}'"),
        )],
        Some(_) => Vec::new(),
    }
}

/// Job.
pub fn job(object: &Value) -> Vec<FieldError> {
    let empty = Value::Null;
    let spec = object.get("spec").unwrap_or(&empty);
    let path = FieldPath::new("spec");
    let mut errors = Vec::new();
    let manual = spec.get("manualSelector").and_then(Value::as_bool) == Some(true);
    let template_labels = spec
        .get("template")
        .and_then(|t| t.get("metadata"))
        .and_then(|m| m.get("labels"));
    if !manual && template_labels.is_some() && spec.get("selector").is_some_and(|s| !s.is_null()) {
        let metadata = object.get("metadata").unwrap_or(&empty);
        let uid = str_at(metadata, "uid");
        let name = str_at(metadata, "name");
        if uid.is_empty() {
            errors.push(FieldError::required(
                &FieldPath::new("metadata").child("uid"),
                "",
            ));
        }
        errors.extend(has_label(template_labels, LEGACY_CONTROLLER_UID_LABEL, uid));
        errors.extend(has_label(template_labels, LEGACY_JOB_NAME_LABEL, name));
        errors.extend(has_label(template_labels, CONTROLLER_UID_LABEL, uid));
        errors.extend(has_label(template_labels, JOB_NAME_LABEL, name));
        let expected = serde_json::json!({"matchLabels": {CONTROLLER_UID_LABEL: uid}});
        if spec.get("selector") != Some(&expected) {
            errors.push(FieldError::invalid(
                &path.child("selector"),
                spec.get("selector").cloned().unwrap_or(Value::Null),
                "`selector` not auto-generated",
            ));
        }
    }
    errors.extend(job_spec(spec, &path));
    match label_selector(spec.get("selector")) {
        None => errors.push(FieldError::required(&path.child("selector"), "")),
        Some(selector) => {
            errors.extend(validate_label_selector(
                &selector,
                LabelSelectorValidationOptions::default(),
                &path.child("selector"),
            ));
            errors.extend(template_matches(&selector, spec, &path));
        }
    }
    errors
}

/// Job update: the selector is immutable.
pub fn job_update(new: &Value, old: &Value) -> Vec<FieldError> {
    let selector = |v: &Value| v.get("spec").and_then(|s| s.get("selector")).cloned();
    immutable(
        selector(new).as_ref(),
        selector(old).as_ref(),
        &FieldPath::new("spec").child("selector"),
    )
}

/// CronJob.
pub fn cron_job(object: &Value) -> Vec<FieldError> {
    let empty = Value::Null;
    let mut errors = Vec::new();
    let name = object
        .get("metadata")
        .map(|m| str_at(m, "name"))
        .unwrap_or_default();
    if name.len() > CRON_JOB_NAME_MAX {
        errors.push(FieldError::invalid(
            &FieldPath::new("metadata").child("name"),
            name,
            &format!("must be no more than {CRON_JOB_NAME_MAX} characters"),
        ));
    }
    let spec = object.get("spec").unwrap_or(&empty);
    let path = FieldPath::new("spec");
    let schedule = str_at(spec, "schedule");
    if schedule.is_empty() {
        errors.push(FieldError::required(&path.child("schedule"), ""));
    } else if !schedule.starts_with('@') && schedule.split_whitespace().count() != 5 {
        errors.push(FieldError::invalid(
            &path.child("schedule"),
            schedule,
            &format!(
                "unparseable schedule: expected exactly 5 fields, found {}: {schedule}",
                schedule.split_whitespace().count()
            ),
        ));
    }
    let policy = str_at(spec, "concurrencyPolicy");
    errors.extend(super::one_of(
        policy,
        &["Allow", "Forbid", "Replace"],
        &path.child("concurrencyPolicy"),
    ));
    for field in [
        "startingDeadlineSeconds",
        "successfulJobsHistoryLimit",
        "failedJobsHistoryLimit",
    ] {
        errors.extend(nonnegative(int_at(spec, field), &path.child(field)));
    }
    let job_spec_value = spec
        .get("jobTemplate")
        .and_then(|t| t.get("spec"))
        .unwrap_or(&empty);
    errors.extend(job_spec(
        job_spec_value,
        &path.child("jobTemplate").child("spec"),
    ));
    errors
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::registry::{defaults, validation::rendered};

    fn created_job(spec: Value) -> Value {
        let mut object =
            json!({"metadata": {"name": "j", "namespace": "default", "uid": "u-1"}, "spec": spec});
        defaults::batch::job(&mut object);
        defaults::batch::job_prepare_create(&mut object);
        object
    }

    #[test]
    fn job_cases() {
        let pod =
            json!({"containers": [{"name": "c", "image": "busybox"}], "restartPolicy": "Never"});
        assert!(job(&created_job(json!({"template": {"spec": pod}}))).is_empty());
        assert_eq!(
            rendered(&job(&created_job(
                json!({"template": {"spec": {"containers": [{"name": "c", "image": "busybox"}]}}})
            ))),
            vec![
                "spec.template.spec.restartPolicy: Required value: valid values: \"OnFailure\", \"Never\""
            ]
        );
        assert_eq!(
            rendered(&job(&created_job(
                json!({"template": {"metadata": {"labels": {"job-name": "other"}}, "spec": pod}})
            ))),
            vec![
                "spec.template.metadata.labels[job-name]: Invalid value: {\"batch.kubernetes.io/controller-uid\":\"u-1\",\"batch.kubernetes.io/job-name\":\"j\",\"controller-uid\":\"u-1\",\"job-name\":\"other\"}: must be 'j'"
            ]
        );
        assert_eq!(
            rendered(&job(&created_job(
                json!({"manualSelector": true, "template": {"spec": pod}})
            ))),
            vec!["spec.selector: Required value"]
        );
        assert_eq!(
            rendered(&job(&created_job(
                json!({"manualSelector": true, "selector": {"matchLabels": {"a": "b"}},
                "completionMode": "Indexed", "parallelism": -1, "template": {"metadata": {"labels": {"a": "c"}}, "spec": pod}})
            ))),
            vec![
                "spec.parallelism: Invalid value: -1: must be greater than or equal to 0",
                "spec.completions: Required value: when completion mode is Indexed",
                "spec.template.metadata.labels: Invalid value: {\"a\":\"c\"}: `selector` does not match template `labels`",
            ]
        );
        let old = created_job(json!({"template": {"spec": pod}}));
        let mut new = old.clone();
        new["spec"]["selector"] = json!({"matchLabels": {"x": "y"}});
        assert_eq!(rendered(&job_update(&new, &old)).len(), 1);
    }

    #[test]
    fn cron_job_cases() {
        let mut valid = json!({"metadata": {"name": "c"}, "spec": {"schedule": "*/5 * * * *",
            "jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "i"}], "restartPolicy": "OnFailure"}}}}}});
        defaults::batch::cron_job(&mut valid);
        assert!(cron_job(&valid).is_empty());
        let mut bad = json!({"metadata": {"name": "x".repeat(53)}, "spec": {"concurrencyPolicy": "Sometimes",
            "jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "i"}], "restartPolicy": "OnFailure"}}}}}});
        defaults::batch::cron_job(&mut bad);
        assert_eq!(
            rendered(&cron_job(&bad)),
            vec![
                format!("metadata.name: Invalid value: \"{}\": must be no more than 52 characters", "x".repeat(53)),
                "spec.schedule: Required value".to_owned(),
                "spec.concurrencyPolicy: Unsupported value: \"Sometimes\": supported values: \"Allow\", \"Forbid\", \"Replace\"".to_owned(),
            ]
        );
    }
}
