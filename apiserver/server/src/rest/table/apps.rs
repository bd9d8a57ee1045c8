//! Printers of workloads: `apps` and `batch`.

use std::time::SystemTime;

use serde_json::{Value, json};

use super::format::{
    age, at, bool_ptr, containers, deleting, format_label_selector, format_labels, human_duration,
    int, list, name, opt_int, opt_text, parse_time, selector_string, since, text, unix_nanos,
};
use super::{AGE, CONTAINERS, Column, IMAGES, NAME, Printer, col, docs, wide};

pub(super) fn printer(group: &str, kind: &str) -> Option<Printer> {
    let printer = match (group, kind) {
        ("apps", "Deployment") => Printer::new(deployment::columns, deployment::cells),
        ("apps", "ReplicaSet") => Printer::new(replica_set::columns, replica_set::cells),
        ("apps", "StatefulSet") => Printer::new(stateful_set::columns, stateful_set::cells),
        ("apps", "DaemonSet") => Printer::new(daemon_set::columns, daemon_set::cells),
        ("apps", "ControllerRevision") => {
            Printer::new(controller_revision::columns, controller_revision::cells)
        }
        ("batch", "Job") => Printer::new(job::columns, job::cells),
        ("batch", "CronJob") => Printer::new(cron_job::columns, cron_job::cells),
        _ => return None,
    };
    Some(printer)
}

pub(super) mod deployment {
    use super::*;

    static COLUMNS: &[Column] = &[
        NAME,
        col("Ready", "string", "Number of the pod with ready state"),
        col("Up-to-date", "string", docs::DEPLOY_UPDATED),
        col("Available", "string", docs::DEPLOY_AVAILABLE),
        AGE,
        wide("Containers", "string", CONTAINERS),
        wide("Images", "string", IMAGES),
        wide("Selector", "string", docs::DEPLOY_SELECTOR),
    ];

    pub fn columns() -> &'static [Column] {
        COLUMNS
    }

    pub fn cells(object: &Value, now: SystemTime) -> Vec<Value> {
        let (names, images) = containers(at(object, &["spec", "template", "spec"]));
        let selector = selector_string(at(object, &["spec", "selector"]))
            .unwrap_or_else(|()| "<invalid>".to_owned());
        vec![
            name(object),
            json!(format!(
                "{}/{}",
                int(object, &["status", "readyReplicas"]),
                int(object, &["spec", "replicas"])
            )),
            json!(int(object, &["status", "updatedReplicas"])),
            json!(int(object, &["status", "availableReplicas"])),
            age(object, now),
            names,
            images,
            json!(selector),
        ]
    }
}

pub(super) mod replica_set {
    use super::*;

    static COLUMNS: &[Column] = &[
        NAME,
        col("Desired", "integer", docs::RS_SPEC_REPLICAS),
        col("Current", "integer", docs::RS_STATUS_REPLICAS),
        col("Ready", "integer", docs::RS_READY_REPLICAS),
        AGE,
        wide("Containers", "string", CONTAINERS),
        wide("Images", "string", IMAGES),
        wide("Selector", "string", docs::RS_SELECTOR),
    ];

    pub fn columns() -> &'static [Column] {
        COLUMNS
    }

    pub fn cells(object: &Value, now: SystemTime) -> Vec<Value> {
        let (names, images) = containers(at(object, &["spec", "template", "spec"]));
        vec![
            name(object),
            json!(int(object, &["spec", "replicas"])),
            json!(int(object, &["status", "replicas"])),
            json!(int(object, &["status", "readyReplicas"])),
            age(object, now),
            names,
            images,
            json!(format_label_selector(at(object, &["spec", "selector"]))),
        ]
    }
}

pub(super) mod stateful_set {
    use super::*;

    static COLUMNS: &[Column] = &[
        NAME,
        col("Ready", "string", "Number of the pod with ready state"),
        AGE,
        wide("Containers", "string", CONTAINERS),
        wide("Images", "string", IMAGES),
    ];

    pub fn columns() -> &'static [Column] {
        COLUMNS
    }

    pub fn cells(object: &Value, now: SystemTime) -> Vec<Value> {
        let (names, images) = containers(at(object, &["spec", "template", "spec"]));
        vec![
            name(object),
            json!(format!(
                "{}/{}",
                int(object, &["status", "readyReplicas"]),
                int(object, &["spec", "replicas"])
            )),
            age(object, now),
            names,
            images,
        ]
    }
}

pub(super) mod daemon_set {
    use super::*;

    static COLUMNS: &[Column] = &[
        NAME,
        col("Desired", "integer", docs::DS_DESIRED),
        col("Current", "integer", docs::DS_CURRENT),
        col("Ready", "integer", docs::DS_READY),
        col("Up-to-date", "integer", docs::DS_UPDATED),
        col("Available", "integer", docs::DS_AVAILABLE),
        col("Node Selector", "string", docs::POD_NODE_SELECTOR),
        AGE,
        wide("Containers", "string", CONTAINERS),
        wide("Images", "string", IMAGES),
        wide("Selector", "string", docs::DS_SELECTOR),
    ];

    pub fn columns() -> &'static [Column] {
        COLUMNS
    }

    pub fn cells(object: &Value, now: SystemTime) -> Vec<Value> {
        let (names, images) = containers(at(object, &["spec", "template", "spec"]));
        let status = |field: &str| json!(int(object, &["status", field]));
        vec![
            name(object),
            status("desiredNumberScheduled"),
            status("currentNumberScheduled"),
            status("numberReady"),
            status("updatedNumberScheduled"),
            status("numberAvailable"),
            json!(format_labels(at(
                object,
                &["spec", "template", "spec", "nodeSelector"]
            ))),
            age(object, now),
            names,
            images,
            json!(format_label_selector(at(object, &["spec", "selector"]))),
        ]
    }
}

pub(super) mod controller_revision {
    use super::*;

    static COLUMNS: &[Column] = &[
        NAME,
        col("Controller", "string", "Controller of the object"),
        col("Revision", "string", docs::CR_REVISION),
        AGE,
    ];

    pub fn columns() -> &'static [Column] {
        COLUMNS
    }

    /// `kind.group/name` of the controlling owner (`formatResourceName`), `<none>` without one.
    fn controller(object: &Value) -> String {
        let Some(owner) = list(object, &["metadata", "ownerReferences"])
            .iter()
            .find(|o| at(o, &["controller"]).and_then(Value::as_bool) == Some(true))
        else {
            return "<none>".to_owned();
        };
        let api_version = text(owner, &["apiVersion"]);
        let group = match api_version.split_once('/') {
            Some((group, _)) => group,
            None => "",
        };
        let kind = text(owner, &["kind"]);
        let name = text(owner, &["name"]);
        if group.is_empty() && kind.is_empty() {
            return name.to_owned();
        }
        let group_kind = if group.is_empty() {
            kind.to_owned()
        } else {
            format!("{kind}.{group}")
        };
        format!("{}/{name}", group_kind.to_lowercase())
    }

    pub fn cells(object: &Value, now: SystemTime) -> Vec<Value> {
        vec![
            name(object),
            json!(controller(object)),
            json!(int(object, &["revision"])),
            age(object, now),
        ]
    }
}

pub(super) mod job {
    use super::*;

    static COLUMNS: &[Column] = &[
        NAME,
        col("Status", "string", "Status of the job."),
        col("Completions", "string", docs::JOB_SUCCEEDED),
        col("Duration", "string", "Time required to complete the job."),
        AGE,
        wide("Containers", "string", CONTAINERS),
        wide("Images", "string", IMAGES),
        wide("Selector", "string", docs::JOB_SELECTOR),
    ];

    pub fn columns() -> &'static [Column] {
        COLUMNS
    }

    /// `hasJobCondition`: the first condition of the type decides.
    fn has_condition(job: &Value, kind: &str) -> bool {
        list(job, &["status", "conditions"])
            .iter()
            .find(|c| text(c, &["type"]) == kind)
            .is_some_and(|c| text(c, &["status"]) == "True")
    }

    pub fn cells(job: &Value, now: SystemTime) -> Vec<Value> {
        let succeeded = int(job, &["status", "succeeded"]);
        let completions = match opt_int(job, &["spec", "completions"]) {
            Some(completions) => format!("{succeeded}/{completions}"),
            None => match int(job, &["spec", "parallelism"]) {
                p if p > 1 => format!("{succeeded}/1 of {p}"),
                _ => format!("{succeeded}/1"),
            },
        };
        let start = opt_text(job, &["status", "startTime"]).and_then(parse_time);
        let completion = opt_text(job, &["status", "completionTime"]).and_then(parse_time);
        let duration = match (start, completion) {
            (None, _) => String::new(),
            (Some(start), None) => human_duration(unix_nanos(now) - start),
            (Some(start), Some(end)) => human_duration(end - start),
        };
        let status = if has_condition(job, "Complete") {
            "Complete"
        } else if has_condition(job, "Failed") {
            "Failed"
        } else if deleting(job) {
            "Terminating"
        } else if has_condition(job, "Suspended") {
            "Suspended"
        } else if has_condition(job, "FailureTarget") {
            "FailureTarget"
        } else {
            "Running"
        };
        let (names, images) = containers(at(job, &["spec", "template", "spec"]));
        vec![
            name(job),
            json!(status),
            json!(completions),
            json!(duration),
            age(job, now),
            names,
            images,
            json!(format_label_selector(at(job, &["spec", "selector"]))),
        ]
    }
}

pub(super) mod cron_job {
    use super::*;

    static COLUMNS: &[Column] = &[
        NAME,
        col("Schedule", "string", docs::CRONJOB_SCHEDULE),
        col("Timezone", "string", docs::CRONJOB_TIME_ZONE),
        col("Suspend", "boolean", docs::CRONJOB_SUSPEND),
        col("Active", "integer", docs::CRONJOB_ACTIVE),
        col("Last Schedule", "string", docs::CRONJOB_LAST_SCHEDULE),
        AGE,
        wide("Containers", "string", CONTAINERS),
        wide("Images", "string", IMAGES),
        wide("Selector", "string", docs::JOB_SELECTOR),
    ];

    pub fn columns() -> &'static [Column] {
        COLUMNS
    }

    pub fn cells(cron: &Value, now: SystemTime) -> Vec<Value> {
        let last = match opt_text(cron, &["status", "lastScheduleTime"]) {
            Some(t) => since(Some(t), now),
            None => "<none>".to_owned(),
        };
        let job_spec = at(cron, &["spec", "jobTemplate", "spec"]);
        let (names, images) = containers(job_spec.and_then(|s| at(s, &["template", "spec"])));
        vec![
            name(cron),
            json!(text(cron, &["spec", "schedule"])),
            json!(opt_text(cron, &["spec", "timeZone"]).unwrap_or("<none>")),
            bool_ptr(at(cron, &["spec", "suspend"]).and_then(Value::as_bool)),
            json!(list(cron, &["status", "active"]).len()),
            json!(last),
            age(cron, now),
            names,
            images,
            json!(format_label_selector(
                job_spec.and_then(|s| at(s, &["selector"]))
            )),
        ]
    }
}
