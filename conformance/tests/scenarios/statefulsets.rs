//! The statefulset controller through kubectl: ordered creation (each pod only once the previous
//! one is Running and Ready, made so by writing pod status as a kubelet would), stable names,
//! hostnames and claims from volumeClaimTemplates, scale-down from the highest ordinal, a rolling
//! update onto a new ControllerRevision, and Parallel pod management.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tugboat_conformance::Server;

use crate::support::{create_manifest, create_namespace};

const DEADLINE: Duration = Duration::from_secs(45);

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

fn pods(server: &Server, app: &str) -> Vec<Value> {
    let list = server
        .kubectl(&[
            "get",
            "pods",
            "-n",
            "sts",
            "-l",
            &format!("app={app}"),
            "-o",
            "json",
        ])
        .ok()
        .json();
    let mut items: Vec<Value> = list["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|p| p["metadata"].get("deletionTimestamp").is_none())
        .collect();
    items.sort_by_key(|p| {
        p["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    });
    items
}

fn names(pods: &[Value]) -> Vec<String> {
    pods.iter()
        .map(|p| {
            p["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

fn make_ready(server: &Server, pod: &str) {
    let status = json!({"status": {"phase": "Running", "podIP": "10.42.0.20",
        "conditions": [{"type": "Ready", "status": "True"}]}});
    server
        .kubectl(&[
            "patch",
            "pod",
            pod,
            "-n",
            "sts",
            "--subresource=status",
            "--type=merge",
            "-p",
            &status.to_string(),
        ])
        .ok();
}

fn wait_pods(server: &Server, app: &str, expected: &[&str]) -> Vec<Value> {
    eventually(&format!("pods {expected:?}"), || {
        let now = pods(server, app);
        if names(&now) == expected {
            Ok(now)
        } else {
            Err(format!("{:?}", names(&now)))
        }
    })
}

const WEB: &str = r#"
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {clusterIP: None, selector: {app: web}, ports: [{port: 80}]}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web}
spec:
  serviceName: web
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: c, image: "busybox:1"}]}
  volumeClaimTemplates:
  - metadata: {name: data}
    spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
"#;

scenario! {
    /// OrderedReady: web-0, then web-1 once web-0 is ready, then web-2; claims `data-web-<n>`;
    /// hostnames under the headless Service; scale down from the top; a rolling update moves the
    /// pod onto the new revision.
    fn ordered_pods_storage_scale_and_update(server) covers []
    server_args ["--disable-controller", "serviceaccount"]
    {
        create_namespace(server, "sts");
        create_manifest(server, "sts", WEB);
        let first = wait_pods(server, "web", &["web-0"]);
        assert_eq!(first[0]["spec"]["hostname"], "web-0");
        assert_eq!(first[0]["spec"]["subdomain"], "web");
        assert_eq!(first[0]["metadata"]["labels"]["statefulset.kubernetes.io/pod-name"], "web-0");
        assert_eq!(first[0]["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"], "data-web-0");
        server.kubectl(&["get", "pvc", "data-web-0", "-n", "sts"]).ok();
        std::thread::sleep(Duration::from_secs(1));
        assert_eq!(names(&pods(server, "web")), ["web-0"], "web-1 waits for web-0");

        make_ready(server, "web-0");
        wait_pods(server, "web", &["web-0", "web-1"]);
        make_ready(server, "web-1");
        wait_pods(server, "web", &["web-0", "web-1", "web-2"]);
        make_ready(server, "web-2");
        let status = eventually("3 ready replicas", || {
            let set = server.kubectl(&["get", "sts", "web", "-n", "sts", "-o", "json"]).ok().json();
            if set["status"]["readyReplicas"] == 3 { Ok(set["status"].clone()) } else { Err(set["status"].to_string()) }
        });
        assert_eq!(status["currentRevision"], status["updateRevision"], "{status:#}");
        for claim in ["data-web-1", "data-web-2"] {
            server.kubectl(&["get", "pvc", claim, "-n", "sts"]).ok();
        }

        server.kubectl(&["scale", "sts", "web", "-n", "sts", "--replicas=1"]).ok();
        wait_pods(server, "web", &["web-0"]);
        // Claims stay (the default retention is Retain).
        server.kubectl(&["get", "pvc", "data-web-2", "-n", "sts"]).ok();

        let before = status["updateRevision"].as_str().unwrap().to_owned();
        server.kubectl(&["set", "image", "sts/web", "-n", "sts", "c=busybox:2"]).ok();
        let updated = eventually("web-0 on the new revision", || {
            let now = pods(server, "web");
            match now.as_slice() {
                [pod] if pod["spec"]["containers"][0]["image"] == "busybox:2" => Ok(pod.clone()),
                _ => Err(format!("{now:?}")),
            }
        });
        assert_ne!(updated["metadata"]["labels"]["controller-revision-hash"], before.as_str());
        make_ready(server, "web-0");
        eventually("the update to finish", || {
            let set = server.kubectl(&["get", "sts", "web", "-n", "sts", "-o", "json"]).ok().json();
            let s = &set["status"];
            if s["updateRevision"] != before.as_str() && s["currentRevision"] == s["updateRevision"] && s["updatedReplicas"] == 1 {
                Ok(())
            } else {
                Err(s.to_string())
            }
        });
        let revisions = server.kubectl(&["get", "controllerrevisions", "-n", "sts", "-o", "name"]).ok();
        assert_eq!(revisions.lines().len(), 2, "{revisions}");
    }
}

scenario! {
    /// Parallel pod management creates every pod at once; `whenScaled: Delete` removes a
    /// scaled-down pod's claim.
    fn parallel_pods_and_claim_retention(server) covers []
    server_args ["--disable-controller", "serviceaccount"]
    {
        create_namespace(server, "sts");
        create_manifest(server, "sts", r#"
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: par}
spec:
  serviceName: par
  replicas: 3
  podManagementPolicy: Parallel
  persistentVolumeClaimRetentionPolicy: {whenScaled: Delete, whenDeleted: Retain}
  selector: {matchLabels: {app: par}}
  template:
    metadata: {labels: {app: par}}
    spec: {containers: [{name: c, image: busybox}]}
  volumeClaimTemplates:
  - metadata: {name: data}
    spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
"#);
        wait_pods(server, "par", &["par-0", "par-1", "par-2"]);
        server.kubectl(&["scale", "sts", "par", "-n", "sts", "--replicas=2"]).ok();
        wait_pods(server, "par", &["par-0", "par-1"]);
        eventually("data-par-2 deleted", || {
            let out = server.kubectl(&["get", "pvc", "data-par-2", "-n", "sts"]);
            if out.success() { Err(out.stdout.clone()) } else { Ok(()) }
        });
        server.kubectl(&["get", "pvc", "data-par-1", "-n", "sts"]).ok();
    }
}
