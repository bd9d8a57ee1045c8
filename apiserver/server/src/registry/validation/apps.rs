//! Validation of the apps group (upstream `pkg/apis/apps/validation/validation.go`): replicas and
//! history limits, the selector (required, not empty, selecting the template), the pod template
//! (restarting always), update strategies, and on update the immutable selector (and, for
//! StatefulSets, everything but the fields upstream lets change).

use serde_json::Value;
use tugboat_machinery::status::{FieldError, FieldPath};

use super::{controller_selector, core, immutable, int_at, nonnegative, str_at};

fn spec_of(object: &Value) -> &Value {
    static NULL: Value = Value::Null;
    object.get("spec").unwrap_or(&NULL)
}

/// The template checks shared by the apps controllers.
fn template(spec: &Value, path: &FieldPath, kind: &str) -> Vec<FieldError> {
    let template_path = path.child("template");
    match spec.get("template").filter(|t| !t.is_null()) {
        None => vec![FieldError::required(&template_path, "")],
        Some(template) => {
            let mut errors = core::pod_template_spec(template, &template_path);
            errors.extend(core::restarting_template(template, &template_path, kind));
            errors
        }
    }
}

/// An int-or-percent: a non-negative integer or `N%`, at most 100% where `percent_cap`.
fn int_or_percent(value: Option<&Value>, path: &FieldPath) -> Vec<FieldError> {
    match value {
        Some(Value::Number(n)) => nonnegative(n.as_i64(), path),
        Some(Value::String(s)) => match s.strip_suffix('%').map(str::parse::<i64>) {
            Some(Ok(percent)) if percent < 0 => {
                vec![FieldError::invalid(path, s.as_str(), super::NEGATIVE)]
            }
            Some(Ok(percent)) if percent > 100 => vec![FieldError::invalid(
                path,
                s.as_str(),
                "must not be greater than 100%",
            )],
            Some(Ok(_)) => Vec::new(),
            _ => vec![FieldError::invalid(
                path,
                s.as_str(),
                "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')",
            )],
        },
        _ => Vec::new(),
    }
}

fn is_zero(value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Null) => true,
        Some(Value::Number(n)) => n.as_i64() == Some(0),
        Some(Value::String(s)) => s == "0%" || s == "0",
        _ => false,
    }
}

/// Deployment.
pub fn deployment(object: &Value) -> Vec<FieldError> {
    let spec = spec_of(object);
    let path = FieldPath::new("spec");
    let mut errors = nonnegative(int_at(spec, "replicas"), &path.child("replicas"));
    errors.extend(controller_selector(
        spec,
        &path,
        "empty selector is invalid for deployment",
    ));
    errors.extend(template(spec, &path, "ReplicaSet"));
    let strategy_path = path.child("strategy");
    let empty = Value::Null;
    let strategy = spec.get("strategy").unwrap_or(&empty);
    match str_at(strategy, "type") {
        "Recreate" => {
            if strategy.get("rollingUpdate").is_some_and(|r| !r.is_null()) {
                errors.push(FieldError::forbidden(
                    &strategy_path.child("rollingUpdate"),
                    "may not be specified when strategy `type` is 'Recreate'",
                ));
            }
        }
        "RollingUpdate" => {
            if let Some(rolling) = strategy.get("rollingUpdate").filter(|r| !r.is_null()) {
                let rolling_path = strategy_path.child("rollingUpdate");
                let surge = rolling.get("maxSurge");
                let unavailable = rolling.get("maxUnavailable");
                errors.extend(int_or_percent(surge, &rolling_path.child("maxSurge")));
                errors.extend(int_or_percent(
                    unavailable,
                    &rolling_path.child("maxUnavailable"),
                ));
                if is_zero(surge) && is_zero(unavailable) {
                    errors.push(FieldError::invalid(
                        &rolling_path.child("maxUnavailable"),
                        super::bad_value(unavailable),
                        "may not be 0 when `maxSurge` is 0",
                    ));
                }
            }
        }
        "" => errors.push(FieldError::required(&strategy_path.child("type"), "")),
        other => errors.push(FieldError::not_supported(
            &strategy_path.child("type"),
            other,
            &["Recreate", "RollingUpdate"],
        )),
    }
    errors.extend(nonnegative(
        int_at(spec, "minReadySeconds"),
        &path.child("minReadySeconds"),
    ));
    errors.extend(nonnegative(
        int_at(spec, "revisionHistoryLimit"),
        &path.child("revisionHistoryLimit"),
    ));
    if let Some(deadline) = int_at(spec, "progressDeadlineSeconds") {
        errors.extend(nonnegative(
            Some(deadline),
            &path.child("progressDeadlineSeconds"),
        ));
        if deadline <= int_at(spec, "minReadySeconds").unwrap_or(0) {
            errors.push(FieldError::invalid(
                &path.child("progressDeadlineSeconds"),
                deadline,
                "must be greater than minReadySeconds",
            ));
        }
    }
    errors
}

/// Update of any apps/v1 controller: the selector is immutable.
pub fn selector_update(new: &Value, old: &Value) -> Vec<FieldError> {
    immutable(
        spec_of(new).get("selector"),
        spec_of(old).get("selector"),
        &FieldPath::new("spec").child("selector"),
    )
}

/// ReplicaSet.
pub fn replica_set(object: &Value) -> Vec<FieldError> {
    let spec = spec_of(object);
    let path = FieldPath::new("spec");
    let mut errors = nonnegative(int_at(spec, "replicas"), &path.child("replicas"));
    errors.extend(nonnegative(
        int_at(spec, "minReadySeconds"),
        &path.child("minReadySeconds"),
    ));
    errors.extend(controller_selector(
        spec,
        &path,
        "empty selector is invalid for deployment",
    ));
    errors.extend(template(spec, &path, "ReplicaSet"));
    errors
}

/// StatefulSet.
pub fn stateful_set(object: &Value) -> Vec<FieldError> {
    let spec = spec_of(object);
    let path = FieldPath::new("spec");
    let mut errors = Vec::new();
    let policy = str_at(spec, "podManagementPolicy");
    if !["OrderedReady", "Parallel"].contains(&policy) {
        errors.push(FieldError::invalid(
            &path.child("podManagementPolicy"),
            policy,
            "must be 'OrderedReady' or 'Parallel'",
        ));
    }
    let empty = Value::Null;
    let strategy = spec.get("updateStrategy").unwrap_or(&empty);
    let strategy_path = path.child("updateStrategy");
    match str_at(strategy, "type") {
        "RollingUpdate" => {
            if let Some(rolling) = strategy.get("rollingUpdate").filter(|r| !r.is_null()) {
                errors.extend(nonnegative(
                    int_at(rolling, "partition"),
                    &strategy_path.child("rollingUpdate").child("partition"),
                ));
            }
        }
        "OnDelete" => {
            if strategy.get("rollingUpdate").is_some_and(|r| !r.is_null()) {
                errors.push(FieldError::invalid(
                    &strategy_path.child("rollingUpdate"),
                    strategy
                        .get("rollingUpdate")
                        .cloned()
                        .unwrap_or(Value::Null),
                    "only allowed for updateStrategy 'RollingUpdate'",
                ));
            }
        }
        "" => errors.push(FieldError::required(&strategy_path, "")),
        other => errors.push(FieldError::invalid(
            &strategy_path,
            other,
            "must be 'RollingUpdate' or 'OnDelete'",
        )),
    }
    errors.extend(nonnegative(
        int_at(spec, "replicas"),
        &path.child("replicas"),
    ));
    errors.extend(nonnegative(
        int_at(spec, "minReadySeconds"),
        &path.child("minReadySeconds"),
    ));
    errors.extend(controller_selector(
        spec,
        &path,
        "empty selector is invalid for statefulset",
    ));
    errors.extend(template(spec, &path, "StatefulSet"));
    errors
}

/// The StatefulSet spec fields an update may change.
const STATEFUL_SET_UPDATABLE: &[&str] = &[
    "replicas",
    "ordinals",
    "template",
    "updateStrategy",
    "persistentVolumeClaimRetentionPolicy",
    "minReadySeconds",
    "revisionHistoryLimit",
];

/// StatefulSet update: everything but the fields above is fixed.
pub fn stateful_set_update(new: &Value, old: &Value) -> Vec<FieldError> {
    let strip = |object: &Value| {
        let mut spec = spec_of(object).clone();
        if let Some(map) = spec.as_object_mut() {
            for key in STATEFUL_SET_UPDATABLE {
                map.remove(*key);
            }
        }
        spec
    };
    if strip(new) == strip(old) {
        return Vec::new();
    }
    vec![FieldError::forbidden(
        &FieldPath::new("spec"),
        "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
    )]
}

/// DaemonSet.
pub fn daemon_set(object: &Value) -> Vec<FieldError> {
    let spec = spec_of(object);
    let path = FieldPath::new("spec");
    let mut errors = controller_selector(spec, &path, "empty selector is invalid for daemonset");
    errors.extend(template(spec, &path, "DaemonSet"));
    errors.extend(nonnegative(
        int_at(spec, "minReadySeconds"),
        &path.child("minReadySeconds"),
    ));
    errors.extend(nonnegative(
        int_at(spec, "revisionHistoryLimit"),
        &path.child("revisionHistoryLimit"),
    ));
    let empty = Value::Null;
    let strategy = spec.get("updateStrategy").unwrap_or(&empty);
    let strategy_path = path.child("updateStrategy");
    match str_at(strategy, "type") {
        "OnDelete" => {}
        "RollingUpdate" => {
            if let Some(rolling) = strategy.get("rollingUpdate").filter(|r| !r.is_null()) {
                let rolling_path = strategy_path.child("rollingUpdate");
                let surge = rolling.get("maxSurge");
                let unavailable = rolling.get("maxUnavailable");
                errors.extend(int_or_percent(
                    unavailable,
                    &rolling_path.child("maxUnavailable"),
                ));
                errors.extend(int_or_percent(surge, &rolling_path.child("maxSurge")));
                if is_zero(surge) && is_zero(unavailable) {
                    errors.push(FieldError::invalid(
                        &rolling_path.child("maxUnavailable"),
                        super::bad_value(unavailable),
                        "may not be 0 when `maxSurge` is 0",
                    ));
                }
            }
        }
        "" => errors.push(FieldError::required(&strategy_path.child("type"), "")),
        other => errors.push(FieldError::not_supported(
            &strategy_path.child("type"),
            other,
            &["OnDelete", "RollingUpdate"],
        )),
    }
    errors
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::registry::{defaults, validation::rendered};

    fn deployment_with(spec: Value) -> Value {
        let mut object = json!({"metadata": {"name": "d", "namespace": "default"}, "spec": spec});
        defaults::apps::deployment(&mut object);
        object
    }

    fn template() -> Value {
        json!({"metadata": {"labels": {"app": "a"}}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}})
    }

    #[test]
    fn deployment_cases() {
        let cases: Vec<(&str, Value, Vec<&str>)> = vec![
            (
                "valid",
                json!({"selector": {"matchLabels": {"app": "a"}}, "template": template()}),
                vec![],
            ),
            (
                "selector required",
                json!({"template": template()}),
                vec!["spec.selector: Required value"],
            ),
            (
                "selector mismatch",
                json!({"selector": {"matchLabels": {"app": "b"}}, "template": template()}),
                vec![
                    "spec.template.metadata.labels: Invalid value: {\"app\":\"a\"}: `selector` does not match template `labels`",
                ],
            ),
            (
                "empty selector",
                json!({"selector": {}, "template": template()}),
                vec!["spec.selector: Invalid value: {}: empty selector is invalid for deployment"],
            ),
            (
                "bad strategy and counts",
                json!({"replicas": -1, "selector": {"matchLabels": {"app": "a"}}, "template": template(),
                    "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": "0%"}},
                    "progressDeadlineSeconds": 5, "minReadySeconds": 10}),
                vec![
                    "spec.replicas: Invalid value: -1: must be greater than or equal to 0",
                    "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: \"0%\": may not be 0 when `maxSurge` is 0",
                    "spec.progressDeadlineSeconds: Invalid value: 5: must be greater than minReadySeconds",
                ],
            ),
            (
                "template restart policy",
                json!({"selector": {"matchLabels": {"app": "a"}}, "template": {"metadata": {"labels": {"app": "a"}},
                    "spec": {"containers": [{"name": "c", "image": "i"}], "restartPolicy": "OnFailure"}}}),
                vec![
                    "spec.template.spec.restartPolicy: Unsupported value: \"OnFailure\": supported values: \"Always\"",
                ],
            ),
        ];
        for (name, spec, expected) in cases {
            assert_eq!(
                rendered(&deployment(&deployment_with(spec))),
                expected,
                "{name}"
            );
        }
        let old = deployment_with(
            json!({"selector": {"matchLabels": {"app": "a"}}, "template": template()}),
        );
        let mut new = old.clone();
        new["spec"]["selector"] = json!({"matchLabels": {"app": "a", "tier": "x"}});
        assert_eq!(
            rendered(&selector_update(&new, &old)),
            vec![
                "spec.selector: Invalid value: {\"matchLabels\":{\"app\":\"a\",\"tier\":\"x\"}}: field is immutable"
            ]
        );
        assert!(selector_update(&old, &old).is_empty());
    }

    #[test]
    fn other_controller_cases() {
        let mut rs =
            json!({"spec": {"selector": {"matchLabels": {"app": "a"}}, "template": template()}});
        defaults::apps::replica_set(&mut rs);
        assert!(replica_set(&rs).is_empty());

        let mut sts = json!({"spec": {"selector": {}, "template": template(), "podManagementPolicy": "Random"}});
        defaults::apps::stateful_set(&mut sts);
        assert_eq!(
            rendered(&stateful_set(&sts)),
            vec![
                "spec.podManagementPolicy: Invalid value: \"Random\": must be 'OrderedReady' or 'Parallel'",
                "spec.selector: Invalid value: {}: empty selector is invalid for statefulset",
            ]
        );
        let mut changed = sts.clone();
        changed["spec"]["serviceName"] = json!("other");
        assert_eq!(rendered(&stateful_set_update(&changed, &sts)).len(), 1);
        let mut scaled = sts.clone();
        scaled["spec"]["replicas"] = json!(5);
        assert!(stateful_set_update(&scaled, &sts).is_empty());

        let mut ds = json!({"spec": {"template": template()}});
        defaults::apps::daemon_set(&mut ds);
        assert_eq!(
            rendered(&daemon_set(&ds)),
            vec!["spec.selector: Required value"]
        );
    }
}
