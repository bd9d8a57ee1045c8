//! ResourceQuota enforcement through kubectl: the resource quota controller computes `status.hard`
//! and `status.used` promptly, the API server's quota admission charges creates at once and refuses
//! those past the hard limits (with upstream's message) or pods that leave a quota-constrained cpu
//! or memory unset, and deletions are released by the controller. Scopes select pods by QoS
//! (BestEffort / NotBestEffort) and by `activeDeadlineSeconds` (Terminating / NotTerminating).

use std::time::{Duration, Instant};

use serde_json::Value;
use tugboat_conformance::{Server, upstream::*};

use crate::support::{create_manifest, create_namespace};

/// How long the controller may take (upstream's e2e allows a minute).
const DEADLINE: Duration = Duration::from_secs(60);

fn quota(server: &Server, namespace: &str, name: &str) -> Value {
    server
        .kubectl(&["get", "resourcequota", name, "-n", namespace, "-o", "json"])
        .ok()
        .json()
}

/// Wait until every `(resource, quantity)` of `expected` is the quota's `status.used`.
fn wait_used(server: &Server, namespace: &str, name: &str, expected: &[(&str, &str)]) {
    let start = Instant::now();
    loop {
        let current = quota(server, namespace, name);
        let used = &current["status"]["used"];
        if expected.iter().all(|(resource, q)| used[*resource] == *q) {
            return;
        }
        assert!(
            start.elapsed() < DEADLINE,
            "quota {name} never used {expected:?}; status: {:#}",
            current["status"]
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn used(server: &Server, namespace: &str, name: &str, resource: &str) -> Value {
    quota(server, namespace, name)["status"]["used"][resource].clone()
}

scenario! {
    /// Object counts: the status appears promptly with zero usage and `status.hard` from the
    /// spec; a ConfigMap, Secret, NodePort Service, ReplicaSet and ReplicationController are charged
    /// as they are created (the third ConfigMap is refused) and released when deleted.
    fn object_counts(server) covers [
        RESOURCE_QUOTA_PROMPT_STATUS,
        RESOURCE_QUOTA_CONFIGMAP,
        RESOURCE_QUOTA_SECRET,
        RESOURCE_QUOTA_SERVICE,
        RESOURCE_QUOTA_REPLICA_SET,
        RESOURCE_QUOTA_REPLICATION_CONTROLLER,
    ]
    server_args [
        "--disable-controller", "serviceaccount",
        "--disable-controller", "root-ca-cert-publisher",
    ]
    {
        create_namespace(server, "rq");
        create_manifest(server, "rq", r#"
apiVersion: v1
kind: ResourceQuota
metadata: {name: test-quota}
spec:
  hard:
    configmaps: "2"
    secrets: "10"
    services: "10"
    services.nodeports: "1"
    count/replicasets.apps: "5"
    replicationcontrollers: "5"
    resourcequotas: "1"
"#);
        wait_used(server, "rq", "test-quota", &[
            ("configmaps", "0"), ("secrets", "0"), ("services", "0"), ("services.nodeports", "0"),
            ("count/replicasets.apps", "0"), ("replicationcontrollers", "0"), ("resourcequotas", "1"),
        ]);
        let current = quota(server, "rq", "test-quota");
        assert_eq!(current["status"]["hard"], current["spec"]["hard"]);

        // Charged by the create itself, before the controller looks again.
        server.kubectl(&["create", "configmap", "one", "-n", "rq", "--from-literal=a=b"]).ok();
        assert_eq!(used(server, "rq", "test-quota", "configmaps"), "1");
        server.kubectl(&["create", "configmap", "two", "-n", "rq"]).ok();
        let refused = server.kubectl(&["create", "configmap", "three", "-n", "rq"]).fails();
        assert!(
            refused.stderr.contains(r#"configmaps "three" is forbidden: exceeded quota: test-quota, requested: configmaps=1, used: configmaps=2, limited: configmaps=2"#),
            "{refused}"
        );
        server.kubectl(&["get", "configmap", "three", "-n", "rq"]).fails();
        server.kubectl(&["delete", "configmap", "one", "-n", "rq"]).ok();
        wait_used(server, "rq", "test-quota", &[("configmaps", "1")]);

        server.kubectl(&["create", "secret", "generic", "s", "-n", "rq", "--from-literal=a=b"]).ok();
        assert_eq!(used(server, "rq", "test-quota", "secrets"), "1");
        server.kubectl(&["delete", "secret", "s", "-n", "rq"]).ok();
        wait_used(server, "rq", "test-quota", &[("secrets", "0")]);

        server.kubectl(&["create", "service", "nodeport", "np", "-n", "rq", "--tcp=80:80"]).ok();
        wait_used(server, "rq", "test-quota", &[("services", "1"), ("services.nodeports", "1")]);
        let refused = server.kubectl(&["create", "service", "nodeport", "np2", "-n", "rq", "--tcp=81:81"]).fails();
        assert!(refused.stderr.contains("exceeded quota: test-quota, requested: services.nodeports=1, used: services.nodeports=1, limited: services.nodeports=1"), "{refused}");
        server.kubectl(&["delete", "service", "np", "-n", "rq"]).ok();
        wait_used(server, "rq", "test-quota", &[("services", "0"), ("services.nodeports", "0")]);

        create_manifest(server, "rq", r#"
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: rs}
spec:
  replicas: 0
  selector: {matchLabels: {app: rs}}
  template:
    metadata: {labels: {app: rs}}
    spec: {containers: [{name: c, image: busybox}]}
---
apiVersion: v1
kind: ReplicationController
metadata: {name: rc}
spec:
  replicas: 0
  selector: {app: rc}
  template:
    metadata: {labels: {app: rc}}
    spec: {containers: [{name: c, image: busybox}]}
"#);
        wait_used(server, "rq", "test-quota", &[("count/replicasets.apps", "1"), ("replicationcontrollers", "1")]);
        server.kubectl(&["delete", "replicaset", "rs", "-n", "rq"]).ok();
        server.kubectl(&["delete", "replicationcontroller", "rc", "-n", "rq"]).ok();
        wait_used(server, "rq", "test-quota", &[("count/replicasets.apps", "0"), ("replicationcontrollers", "0")]);

        // A second quota is itself counted, and refused.
        let refused = create_manifest_result(server, "rq", "apiVersion: v1\nkind: ResourceQuota\nmetadata: {name: second}\nspec: {hard: {pods: \"1\"}}\n");
        assert!(refused.stderr.contains("exceeded quota: test-quota, requested: resourcequotas=1, used: resourcequotas=1, limited: resourcequotas=1"), "{refused}");
    }
}

fn create_manifest_result(
    server: &Server,
    namespace: &str,
    manifest: &str,
) -> tugboat_conformance::Output {
    server.kubectl_with_stdin(
        &["create", "-n", namespace, "-f", "-"],
        Some(manifest.as_bytes()),
    )
}

fn pod(name: &str, resources: &str, extra_spec: &str) -> String {
    format!(
        "apiVersion: v1
kind: Pod
metadata: {{name: {name}}}
spec:
  {extra_spec}
  containers:
  - name: app
    image: busybox
    resources: {resources}
"
    )
}

scenario! {
    /// Compute usage of pods: requests, limits and an extended resource are charged at create; a
    /// pod past the cpu request limit is refused with upstream's message, one without a cpu
    /// request is refused ("must specify"), resources of a running pod cannot change, and a
    /// deleted pod's usage is released.
    fn pod_usage(server) covers [RESOURCE_QUOTA_POD]
    server_args [
        "--disable-controller", "serviceaccount",
        "--disable-controller", "root-ca-cert-publisher",
    ]
    {
        create_namespace(server, "rq");
        create_manifest(server, "rq", r#"
apiVersion: v1
kind: ResourceQuota
metadata: {name: test-quota}
spec:
  hard:
    pods: "5"
    requests.cpu: "1"
    requests.memory: 500Mi
    limits.cpu: "2"
    limits.memory: 1Gi
    requests.example.com/dongle: "3"
"#);
        wait_used(server, "rq", "test-quota", &[("pods", "0"), ("requests.cpu", "0"), ("requests.memory", "0")]);
        create_manifest(server, "rq", &pod(
            "p1",
            "{requests: {cpu: 500m, memory: 252Mi, example.com/dongle: \"2\"}, limits: {cpu: \"1\", memory: 400Mi, example.com/dongle: \"2\"}}",
            "",
        ));
        wait_used(server, "rq", "test-quota", &[
            ("pods", "1"), ("requests.cpu", "500m"), ("requests.memory", "252Mi"),
            ("limits.cpu", "1"), ("limits.memory", "400Mi"), ("requests.example.com/dongle", "2"),
        ]);
        let refused = create_manifest_result(server, "rq", &pod(
            "p2",
            "{requests: {cpu: 600m, memory: 100Mi}, limits: {cpu: 600m, memory: 100Mi}}",
            "",
        ));
        assert!(
            refused.stderr.contains(r#"pods "p2" is forbidden: exceeded quota: test-quota, requested: requests.cpu=600m, used: requests.cpu=500m, limited: requests.cpu=1"#),
            "{refused}"
        );
        let refused = create_manifest_result(server, "rq", &pod("p3", "{}", ""));
        assert!(
            refused.stderr.contains("failed quota: test-quota: must specify limits.cpu for: app; limits.memory for: app; requests.cpu for: app; requests.memory for: app"),
            "{refused}"
        );
        let changed = server.kubectl(&[
            "patch", "pod", "p1", "-n", "rq", "--type=json",
            "-p", r#"[{"op": "replace", "path": "/spec/containers/0/resources/requests/cpu", "value": "100m"}]"#,
        ]);
        assert!(!changed.success(), "{changed}");
        server.kubectl(&["delete", "pod", "p1", "-n", "rq", "--wait"]).ok();
        wait_used(server, "rq", "test-quota", &[("pods", "0"), ("requests.cpu", "0"), ("requests.example.com/dongle", "0")]);
    }
}

scenario! {
    /// Scoped quotas count only the pods in their scope: BestEffort and NotBestEffort by QoS,
    /// Terminating and NotTerminating by `activeDeadlineSeconds`.
    fn scoped_quotas(server) covers [RESOURCE_QUOTA_BEST_EFFORT_SCOPE, RESOURCE_QUOTA_TERMINATING_SCOPES]
    server_args [
        "--disable-controller", "serviceaccount",
        "--disable-controller", "root-ca-cert-publisher",
    ]
    {
        create_namespace(server, "qos");
        create_manifest(server, "qos", r#"
apiVersion: v1
kind: ResourceQuota
metadata: {name: best-effort}
spec: {hard: {pods: "5"}, scopes: [BestEffort]}
---
apiVersion: v1
kind: ResourceQuota
metadata: {name: not-best-effort}
spec: {hard: {pods: "5"}, scopes: [NotBestEffort]}
"#);
        for name in ["best-effort", "not-best-effort"] {
            wait_used(server, "qos", name, &[("pods", "0")]);
        }
        let burstable = "{requests: {cpu: 100m, memory: 10Mi}, limits: {cpu: 200m, memory: 20Mi}}";
        create_manifest(server, "qos", &pod("be", "{}", ""));
        wait_used(server, "qos", "best-effort", &[("pods", "1")]);
        assert_eq!(used(server, "qos", "not-best-effort", "pods"), "0");
        server.kubectl(&["delete", "pod", "be", "-n", "qos", "--wait"]).ok();
        wait_used(server, "qos", "best-effort", &[("pods", "0")]);
        create_manifest(server, "qos", &pod("nbe", burstable, ""));
        wait_used(server, "qos", "not-best-effort", &[("pods", "1")]);
        assert_eq!(used(server, "qos", "best-effort", "pods"), "0");
        server.kubectl(&["delete", "pod", "nbe", "-n", "qos", "--wait"]).ok();
        wait_used(server, "qos", "not-best-effort", &[("pods", "0")]);

        create_namespace(server, "term");
        create_manifest(server, "term", r#"
apiVersion: v1
kind: ResourceQuota
metadata: {name: terminating}
spec: {hard: {pods: "5", requests.cpu: "1"}, scopes: [Terminating]}
---
apiVersion: v1
kind: ResourceQuota
metadata: {name: not-terminating}
spec: {hard: {pods: "5", requests.cpu: "1"}, scopes: [NotTerminating]}
"#);
        for name in ["terminating", "not-terminating"] {
            wait_used(server, "term", name, &[("pods", "0"), ("requests.cpu", "0")]);
        }
        // A pod in a quota's scope must request what the quota limits.
        let refused = create_manifest_result(server, "term", &pod("bare", "{}", ""));
        assert!(refused.stderr.contains("failed quota: not-terminating: must specify requests.cpu for: app"), "{refused}");

        create_manifest(server, "term", &pod("long", burstable, ""));
        wait_used(server, "term", "not-terminating", &[("pods", "1"), ("requests.cpu", "100m")]);
        assert_eq!(used(server, "term", "terminating", "pods"), "0");
        server.kubectl(&["delete", "pod", "long", "-n", "term", "--wait"]).ok();
        wait_used(server, "term", "not-terminating", &[("pods", "0"), ("requests.cpu", "0")]);

        create_manifest(server, "term", &pod("short", burstable, "activeDeadlineSeconds: 3600"));
        wait_used(server, "term", "terminating", &[("pods", "1"), ("requests.cpu", "100m")]);
        assert_eq!(used(server, "term", "not-terminating", "pods"), "0");
        server.kubectl(&["delete", "pod", "short", "-n", "term", "--wait"]).ok();
        wait_used(server, "term", "terminating", &[("pods", "0")]);
    }
}

scenario! {
    /// Without the resource quota controller nothing computes `status.hard`, so the quota
    /// constrains nothing yet, as upstream's admission does.
    fn quota_without_controller_admits(server) covers [] {
        create_namespace(server, "rq");
        create_manifest(server, "rq", "apiVersion: v1\nkind: ResourceQuota\nmetadata: {name: q}\nspec: {hard: {configmaps: \"0\"}}\n");
        server.kubectl(&["create", "configmap", "c", "-n", "rq"]).ok();
        assert!(quota(server, "rq", "q").get("status").is_none_or(|s| s.get("used").is_none()));
    }
}
