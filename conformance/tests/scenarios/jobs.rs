//! The job controller through kubectl: pods created with the Job's owner reference and tracking
//! finalizer, completions and parallelism, Indexed Jobs, backoffLimit, podFailurePolicy,
//! activeDeadlineSeconds, suspend and resume, terminal conditions and Events. Pods are finished by
//! writing their status as a kubelet would.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tugboat_conformance::Server;

use crate::support::{create_manifest, create_namespace};

/// How long the controller may take.
const DEADLINE: Duration = Duration::from_secs(45);
const ARGS: &str = "--disable-controller";

fn eventually<T>(what: &str, mut check: impl FnMut() -> Result<T, String>) -> T {
    let start = Instant::now();
    loop {
        match check() {
            Ok(value) => return value,
            Err(last) => assert!(
                start.elapsed() < DEADLINE,
                "timed out waiting for {what}; last: {last}"
            ),
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn job(server: &Server, name: &str) -> Value {
    server
        .kubectl(&["get", "job", name, "-n", "jobs", "-o", "json"])
        .ok()
        .json()
}

/// The Job's pods (by the job-name label), sorted by name.
fn pods(server: &Server, name: &str) -> Vec<Value> {
    let list = server
        .kubectl(&[
            "get",
            "pods",
            "-n",
            "jobs",
            "-l",
            &format!("batch.kubernetes.io/job-name={name}"),
            "-o",
            "json",
        ])
        .ok()
        .json();
    let mut items = list["items"].as_array().cloned().unwrap_or_default();
    items.sort_by_key(|p| {
        p["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    });
    items
}

fn active_pods(server: &Server, name: &str) -> Vec<Value> {
    pods(server, name)
        .into_iter()
        .filter(|p| {
            p["metadata"].get("deletionTimestamp").is_none()
                && !matches!(p["status"]["phase"].as_str(), Some("Succeeded" | "Failed"))
        })
        .collect()
}

/// Finish a pod as its kubelet would: Succeeded, or Failed with `exit_code`.
fn finish(server: &Server, pod: &str, exit_code: i32) {
    let phase = if exit_code == 0 {
        "Succeeded"
    } else {
        "Failed"
    };
    let status = json!({"status": {"phase": phase, "containerStatuses": [{
        "name": "c", "image": "busybox", "imageID": "", "ready": false, "restartCount": 0,
        "state": {"terminated": {"exitCode": exit_code, "reason": if exit_code == 0 { "Completed" } else { "Error" },
            "startedAt": "2026-01-01T00:00:00Z", "finishedAt": "2026-01-01T00:00:01Z"}}}]}});
    server
        .kubectl(&[
            "patch",
            "pod",
            pod,
            "-n",
            "jobs",
            "--subresource=status",
            "--type=merge",
            "-p",
            &status.to_string(),
        ])
        .ok();
}

fn condition(job: &Value, kind: &str) -> Option<Value> {
    job["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == kind && c["status"] == "True")
        .cloned()
}

fn wait_condition(server: &Server, name: &str, kind: &str) -> Value {
    eventually(&format!("{name} {kind}"), || {
        let current = job(server, name);
        condition(&current, kind)
            .map(|_| current.clone())
            .ok_or_else(|| current["status"].to_string())
    })
}

fn wait_active(server: &Server, name: &str, n: usize) -> Vec<Value> {
    eventually(&format!("{n} active pods of {name}"), || {
        let active = active_pods(server, name);
        if active.len() == n {
            Ok(active)
        } else {
            Err(format!("{} active", active.len()))
        }
    })
}

fn name_of(pod: &Value) -> String {
    pod["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

scenario! {
    /// `kubectl create job`: one pod owned by the Job with the tracking finalizer and the Job's
    /// labels; when it succeeds the finalizer goes, the Job counts it and completes
    /// (`kubectl wait --for=condition=complete`), with `SuccessfulCreate` and `Completed` Events.
    fn job_runs_to_completion(server) covers []
    server_args [ARGS, "serviceaccount"]
    {
        create_namespace(server, "jobs");
        server.kubectl(&["create", "job", "pi", "-n", "jobs", "--image=busybox", "--", "true"]).ok();
        let pod = wait_active(server, "pi", 1).remove(0);
        assert_eq!(pod["metadata"]["finalizers"], json!(["batch.kubernetes.io/job-tracking"]));
        assert_eq!(pod["metadata"]["ownerReferences"][0]["kind"], "Job");
        assert_eq!(pod["metadata"]["ownerReferences"][0]["controller"], true);
        assert!(name_of(&pod).starts_with("pi-"));
        let started = job(server, "pi");
        assert_eq!(started["status"]["active"], 1);
        assert!(started["status"]["startTime"].is_string());

        finish(server, &name_of(&pod), 0);
        server.kubectl(&["wait", "--for=condition=complete", "job/pi", "-n", "jobs", "--timeout=45s"]).ok();
        let done = job(server, "pi");
        assert_eq!(done["status"]["succeeded"], 1, "{done:#}");
        assert!(done["status"]["completionTime"].is_string());
        assert!(condition(&done, "SuccessCriteriaMet").is_some());
        let pod = &pods(server, "pi")[0];
        assert!(pod["metadata"].get("finalizers").is_none_or(|f| f.as_array().is_none_or(Vec::is_empty)), "{pod:#}");
        let events = server.kubectl(&["get", "events", "-n", "jobs", "--field-selector=involvedObject.name=pi"]).ok();
        assert!(events.stdout.contains("SuccessfulCreate") && events.stdout.contains("Completed"), "{events}");
    }
}

scenario! {
    /// completions 3 with parallelism 2: two pods at a time, a third after the first success, then
    /// Complete with succeeded 3.
    fn completions_and_parallelism(server) covers []
    server_args [ARGS, "serviceaccount"]
    {
        create_namespace(server, "jobs");
        create_manifest(server, "jobs", r#"
apiVersion: batch/v1
kind: Job
metadata: {name: par}
spec:
  completions: 3
  parallelism: 2
  template:
    spec:
      restartPolicy: Never
      containers: [{name: c, image: busybox}]
"#);
        let first = wait_active(server, "par", 2);
        finish(server, &name_of(&first[0]), 0);
        let next = eventually("a replacement pod", || {
            let active = active_pods(server, "par");
            let fresh: Vec<Value> = active.into_iter().filter(|p| name_of(p) != name_of(&first[1])).collect();
            if fresh.len() == 1 { Ok(fresh[0].clone()) } else { Err(format!("{fresh:?}")) }
        });
        finish(server, &name_of(&first[1]), 0);
        finish(server, &name_of(&next), 0);
        let done = wait_condition(server, "par", "Complete");
        assert_eq!(done["status"]["succeeded"], 3);
        assert_eq!(pods(server, "par").len(), 3);
    }
}

scenario! {
    /// An Indexed Job: one pod per index with the completion-index annotation, label and
    /// `JOB_COMPLETION_INDEX`, `completedIndexes` as indexes succeed.
    fn indexed_job(server) covers []
    server_args [ARGS, "serviceaccount"]
    {
        create_namespace(server, "jobs");
        create_manifest(server, "jobs", r#"
apiVersion: batch/v1
kind: Job
metadata: {name: idx}
spec:
  completions: 3
  parallelism: 3
  completionMode: Indexed
  template:
    spec:
      restartPolicy: Never
      containers: [{name: c, image: busybox}]
"#);
        let pods_now = wait_active(server, "idx", 3);
        let mut indexes: Vec<String> = pods_now.iter()
            .map(|p| p["metadata"]["annotations"]["batch.kubernetes.io/job-completion-index"].as_str().unwrap().to_owned())
            .collect();
        indexes.sort();
        assert_eq!(indexes, ["0", "1", "2"]);
        assert_eq!(pods_now[0]["spec"]["containers"][0]["env"][0]["name"], "JOB_COMPLETION_INDEX");
        for pod in &pods_now {
            finish(server, &name_of(pod), 0);
        }
        let done = wait_condition(server, "idx", "Complete");
        assert_eq!(done["status"]["completedIndexes"], "0-2", "{done:#}");
    }
}

scenario! {
    /// Failures: with backoffLimit 0 the first failed pod fails the Job (BackoffLimitExceeded);
    /// a podFailurePolicy FailJob rule fails it with upstream's message.
    fn failures_fail_the_job(server) covers []
    server_args [ARGS, "serviceaccount"]
    {
        create_namespace(server, "jobs");
        create_manifest(server, "jobs", r#"
apiVersion: batch/v1
kind: Job
metadata: {name: once}
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers: [{name: c, image: busybox}]
---
apiVersion: batch/v1
kind: Job
metadata: {name: policy}
spec:
  backoffLimit: 5
  podFailurePolicy:
    rules:
    - action: FailJob
      onExitCodes: {containerName: c, operator: In, values: [42]}
  template:
    spec:
      restartPolicy: Never
      containers: [{name: c, image: busybox}]
"#);
        let pod = wait_active(server, "once", 1).remove(0);
        finish(server, &name_of(&pod), 1);
        let failed = wait_condition(server, "once", "Failed");
        let c = condition(&failed, "Failed").unwrap();
        assert_eq!(c["reason"], "BackoffLimitExceeded");
        assert_eq!(c["message"], "Job has reached the specified backoff limit");
        assert_eq!(failed["status"]["failed"], 1);
        assert!(condition(&failed, "FailureTarget").is_some());

        let pod = wait_active(server, "policy", 1).remove(0);
        finish(server, &name_of(&pod), 42);
        let failed = wait_condition(server, "policy", "Failed");
        let c = condition(&failed, "Failed").unwrap();
        assert_eq!(c["reason"], "PodFailurePolicy");
        assert_eq!(
            c["message"],
            format!("Container c for pod jobs/{} failed with exit code 42 matching FailJob rule at index 0", name_of(&pod))
        );
    }
}

scenario! {
    /// A suspended Job creates no pods and says so (Suspended); resuming it starts its pod; an
    /// activeDeadlineSeconds that passes fails it (DeadlineExceeded) and deletes its pods.
    fn suspend_resume_and_deadline(server) covers []
    server_args [ARGS, "serviceaccount"]
    {
        create_namespace(server, "jobs");
        create_manifest(server, "jobs", r#"
apiVersion: batch/v1
kind: Job
metadata: {name: later}
spec:
  suspend: true
  template:
    spec:
      restartPolicy: Never
      containers: [{name: c, image: busybox}]
"#);
        let suspended = wait_condition(server, "later", "Suspended");
        assert_eq!(condition(&suspended, "Suspended").unwrap()["reason"], "JobSuspended");
        assert!(pods(server, "later").is_empty());
        server.kubectl(&["patch", "job", "later", "-n", "jobs", "--type=merge", "-p", r#"{"spec": {"suspend": false}}"#]).ok();
        wait_active(server, "later", 1);
        let resumed = job(server, "later");
        let c = resumed["status"]["conditions"].as_array().unwrap().iter().find(|c| c["type"] == "Suspended").unwrap().clone();
        assert_eq!((c["status"].as_str(), c["reason"].as_str()), (Some("False"), Some("JobResumed")));

        create_manifest(server, "jobs", r#"
apiVersion: batch/v1
kind: Job
metadata: {name: short}
spec:
  activeDeadlineSeconds: 2
  template:
    spec:
      restartPolicy: Never
      containers: [{name: c, image: busybox}]
"#);
        wait_active(server, "short", 1);
        let failed = wait_condition(server, "short", "Failed");
        assert_eq!(condition(&failed, "Failed").unwrap()["reason"], "DeadlineExceeded");
        eventually("the pods gone", || {
            let left = pods(server, "short");
            if left.is_empty() { Ok(()) } else { Err(format!("{left:?}")) }
        });
    }
}

scenario! {
    /// `ttlSecondsAfterFinished`: a Job that completed is deleted (foreground) once its TTL has
    /// passed.
    fn finished_jobs_expire(server) covers []
    server_args [ARGS, "serviceaccount"]
    {
        create_namespace(server, "jobs");
        create_manifest(server, "jobs", r#"
apiVersion: batch/v1
kind: Job
metadata: {name: brief}
spec:
  ttlSecondsAfterFinished: 2
  template:
    spec:
      restartPolicy: Never
      containers: [{name: c, image: busybox}]
"#);
        let pod = wait_active(server, "brief", 1).remove(0);
        finish(server, &name_of(&pod), 0);
        wait_condition(server, "brief", "Complete");
        eventually("the Job's deletion", || {
            let out = server.kubectl(&["get", "job", "brief", "-n", "jobs", "-o", "json"]);
            if !out.success() {
                return Ok(());
            }
            let job = out.json();
            if job["metadata"]["deletionTimestamp"].is_string() { Ok(()) } else { Err(job["status"].to_string()) }
        });
    }
}

scenario! {
    /// The pod garbage collector keeps at most `--terminated-pod-gc-threshold` finished pods.
    fn terminated_pods_are_collected(server) covers []
    server_args [ARGS, "serviceaccount", "--kube-controller-manager-arg", "terminated-pod-gc-threshold=1"]
    {
        create_namespace(server, "jobs");
        for name in ["done-1", "done-2", "done-3"] {
            create_manifest(server, "jobs", &format!("apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}}}\nspec: {{containers: [{{name: c, image: busybox}}]}}\n"));
            finish(server, name, 0);
        }
        eventually("one finished pod left", || {
            let out = server.kubectl(&["get", "pods", "-n", "jobs", "-o", "name"]).ok();
            let left = out.lines().len();
            if left == 1 { Ok(()) } else { Err(out.stdout.clone()) }
        });
    }
}
