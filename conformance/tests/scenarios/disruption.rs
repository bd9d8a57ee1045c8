//! PodDisruptionBudgets and the eviction API: the disruption controller computes a budget's
//! status from the selected pods (made ready by writing pod status as a kubelet would), the
//! eviction subresource takes a disruption from it or refuses with 429 and upstream's message, and
//! an eviction refused becomes possible once the budget is relaxed.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tugboat_conformance::{Server, upstream::*};

use crate::support::{create_manifest, create_namespace};

const DEADLINE: Duration = Duration::from_secs(30);

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

fn ready_pod(server: &Server, name: &str) {
    create_manifest(
        server,
        "pdb",
        &format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}, labels: {{app: web}}}}\nspec: {{containers: [{{name: c, image: busybox}}]}}\n"
        ),
    );
    let status = json!({"status": {"phase": "Running", "podIP": "10.42.0.9",
        "conditions": [{"type": "Ready", "status": "True"}]}});
    server
        .kubectl(&[
            "patch",
            "pod",
            name,
            "-n",
            "pdb",
            "--subresource=status",
            "--type=merge",
            "-p",
            &status.to_string(),
        ])
        .ok();
}

fn budget(server: &Server) -> Value {
    server
        .kubectl(&["get", "pdb", "web", "-n", "pdb", "-o", "json"])
        .ok()
        .json()
}

fn wait_status(server: &Server, expected: Value) -> Value {
    eventually("the budget's status", || {
        let current = budget(server);
        let status = &current["status"];
        let seen = json!({
            "expectedPods": status["expectedPods"], "desiredHealthy": status["desiredHealthy"],
            "currentHealthy": status["currentHealthy"], "disruptionsAllowed": status["disruptionsAllowed"],
        });
        if seen == expected && status["observedGeneration"] == current["metadata"]["generation"] {
            Ok(current)
        } else {
            Err(status.to_string())
        }
    })
}

fn evict(server: &Server, pod: &str) -> tugboat_conformance::Output {
    let eviction = json!({"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": pod, "namespace": "pdb"}});
    let file = server.write_file(
        &format!("eviction-{pod}.json"),
        eviction.to_string().as_bytes(),
    );
    server.kubectl(&[
        "create",
        "--raw",
        &format!("/api/v1/namespaces/pdb/pods/{pod}/eviction"),
        "-f",
        file.to_str().unwrap(),
    ])
}

scenario! {
    /// The budget's status follows its pods; an eviction takes a disruption (the pod goes, the
    /// budget records it), the next one is refused with 429 until the budget is relaxed.
    fn budgets_and_evictions(server) covers [PDB_STATUS_OBSERVED, PDB_BLOCKS_EVICTION]
    server_args ["--disable-controller", "serviceaccount"]
    {
        create_namespace(server, "pdb");
        for name in ["a", "b", "c"] {
            ready_pod(server, name);
        }
        create_manifest(server, "pdb", "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: web}\nspec: {minAvailable: 2, selector: {matchLabels: {app: web}}}\n");
        let current = wait_status(server, json!({"expectedPods": 3, "desiredHealthy": 2, "currentHealthy": 3, "disruptionsAllowed": 1}));
        let condition = current["status"]["conditions"].as_array().unwrap().iter().find(|c| c["type"] == "DisruptionAllowed").unwrap().clone();
        assert_eq!((condition["status"].as_str(), condition["reason"].as_str()), (Some("True"), Some("SufficientPods")));

        let out = evict(server, "a").ok();
        assert!(out.stdout.contains("\"status\":\"Success\""), "{out}");
        server.kubectl(&["get", "pod", "a", "-n", "pdb"]).fails();
        let after = budget(server);
        assert_eq!(after["status"]["disruptionsAllowed"], 0, "{after:#}");

        let refused = evict(server, "b").fails();
        assert!(refused.stderr.contains("Cannot evict pod as it would violate the pod's disruption budget"), "{refused}");
        server.kubectl(&["get", "pod", "b", "-n", "pdb"]).ok();
        wait_status(server, json!({"expectedPods": 2, "desiredHealthy": 2, "currentHealthy": 2, "disruptionsAllowed": 0}));
        let raw = server.python(r#"
code, _, st = raw("POST", "/api/v1/namespaces/pdb/pods/b/eviction", body={"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": "b"}})
print(json.dumps([code, st["reason"], st["details"]["causes"]]))
"#);
        let raw: Value = serde_json::from_str(raw.stdout.trim()).unwrap_or_else(|_| panic!("{raw}"));
        assert_eq!(raw, json!([429, "TooManyRequests", [{"reason": "DisruptionBudget", "message": "The disruption budget web needs 2 healthy pods and has 2 currently"}]]));

        server.kubectl(&["patch", "pdb", "web", "-n", "pdb", "--type=merge", "-p", r#"{"spec": {"minAvailable": 1}}"#]).ok();
        wait_status(server, json!({"expectedPods": 2, "desiredHealthy": 1, "currentHealthy": 2, "disruptionsAllowed": 1}));
        evict(server, "b").ok();
        server.kubectl(&["get", "pod", "b", "-n", "pdb"]).fails();
    }
}

scenario! {
    /// Pods that are not running and pods no budget selects are evicted at once; a name that does
    /// not match the URL is a 400; two budgets over one pod are a 500.
    fn eviction_edge_cases(server) covers []
    server_args ["--disable-controller", "serviceaccount"]
    {
        create_namespace(server, "pdb");
        create_manifest(server, "pdb", "apiVersion: v1\nkind: Pod\nmetadata: {name: pending, labels: {app: web}}\nspec: {containers: [{name: c, image: busybox}]}\n");
        create_manifest(server, "pdb", "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: web}\nspec: {minAvailable: 5, selector: {matchLabels: {app: web}}}\n");
        evict(server, "pending").ok();
        server.kubectl(&["get", "pod", "pending", "-n", "pdb"]).fails();
        ready_pod(server, "a");
        create_manifest(server, "pdb", "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: web2}\nspec: {maxUnavailable: 1, selector: {matchLabels: {app: web}}}\n");
        let out = evict(server, "a").fails();
        assert!(out.stderr.contains("more than one PodDisruptionBudget"), "{out}");
        let raw = server.python(r#"
code, _, st = raw("POST", "/api/v1/namespaces/pdb/pods/a/eviction", body={"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": "other"}})
print(json.dumps([code, st["reason"], st["message"]]))
"#);
        assert_eq!(
            raw.stdout.trim(),
            r#"[400, "BadRequest", "name in URL does not match name in Eviction object"]"#,
            "{raw}"
        );
        let missing = evict(server, "nope").fails();
        assert!(missing.stderr.contains("not found"), "{missing}");
    }
}
