//! Namespace deletion through kubectl: a deleted namespace turns Terminating (refusing new
//! content with upstream's 403), the namespace controller deletes its pods first and then every
//! other object, reports what holds it up in the namespace's conditions, and releases it once
//! empty, after which it is gone.

use std::time::{Duration, Instant};

use serde_json::Value;
use tugboat_conformance::{Server, upstream::*};

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

fn namespace(server: &Server, name: &str) -> Option<Value> {
    let out = server.kubectl(&["get", "namespace", name, "-o", "json"]);
    out.success().then(|| out.json())
}

fn condition(ns: &Value, kind: &str) -> Option<Value> {
    ns["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == kind)
        .cloned()
}

scenario! {
    /// `kubectl delete namespace` empties it (services, config maps, pods, ...) and it goes.
    fn deleting_a_namespace_deletes_its_content(server) covers [NAMESPACE_SERVICES_REMOVED, NAMESPACE_PODS_REMOVED]
    server_args ["--disable-controller", "serviceaccount"]
    {
        create_namespace(server, "doomed");
        create_manifest(server, "doomed", r#"
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {selector: {app: web}, ports: [{port: 80}]}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
---
apiVersion: v1
kind: Pod
metadata: {name: p}
spec: {containers: [{name: c, image: busybox}]}
"#);
        server.kubectl(&["delete", "namespace", "doomed", "--timeout=40s"]).ok();
        assert!(namespace(server, "doomed").is_none());
        create_namespace(server, "doomed");
        let services = server.kubectl(&["get", "services", "-n", "doomed", "-o", "name"]).ok();
        assert!(services.stdout.trim().is_empty(), "a recreated namespace starts empty: {services}");
    }
}

scenario! {
    /// A Terminating namespace refuses new content; a pod holding a finalizer keeps everything
    /// else (pods go first) and the conditions say so; once it is released the rest goes, then
    /// the namespace.
    fn terminating_namespace_and_pods_first(server) covers [ORDERED_NAMESPACE_DELETION]
    server_args ["--disable-controller", "serviceaccount"]
    {
        create_namespace(server, "held");
        create_manifest(server, "held", r#"
apiVersion: v1
kind: Pod
metadata: {name: sticky, finalizers: [example.com/hold]}
spec: {containers: [{name: c, image: busybox}]}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
"#);
        server.kubectl(&["delete", "namespace", "held", "--wait=false"]).ok();
        let ns = namespace(server, "held").unwrap();
        assert_eq!(ns["status"]["phase"], "Terminating");
        assert!(ns["metadata"]["deletionTimestamp"].is_string());
        let refused = server.kubectl(&["create", "configmap", "late", "-n", "held"]).fails();
        assert!(refused.stderr.contains("unable to create new content in namespace held because it is being terminated"), "{refused}");

        let ns = eventually("the conditions", || {
            let ns = namespace(server, "held").ok_or_else(|| "gone".to_owned())?;
            match condition(&ns, "NamespaceFinalizersRemaining") {
                Some(c) if c["status"] == "True" => Ok(ns),
                _ => Err(ns["status"].to_string()),
            }
        });
        assert_eq!(
            condition(&ns, "NamespaceContentRemaining").unwrap()["message"],
            "Some resources are remaining: pods. has 1 resource instances"
        );
        assert_eq!(
            condition(&ns, "NamespaceFinalizersRemaining").unwrap()["message"],
            "Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances"
        );
        // Pods first: the config map waits for the pod.
        server.kubectl(&["get", "configmap", "settings", "-n", "held"]).ok();

        server.kubectl(&["patch", "pod", "sticky", "-n", "held", "--type=merge", "-p", r#"{"metadata": {"finalizers": null}}"#]).ok();
        eventually("the namespace gone", || match namespace(server, "held") {
            None => Ok(()),
            Some(ns) => Err(ns["status"].to_string()),
        });
    }
}

scenario! {
    /// Without the namespace controller a deleted namespace stays Terminating, as upstream's API
    /// server leaves it.
    fn namespace_without_controller_stays_terminating(server) covers [] {
        create_namespace(server, "stays");
        server.kubectl(&["delete", "namespace", "stays", "--wait=false"]).ok();
        std::thread::sleep(Duration::from_secs(1));
        let ns = namespace(server, "stays").expect("still there");
        assert_eq!(ns["status"]["phase"], "Terminating");
        assert_eq!(ns["spec"]["finalizers"], serde_json::json!(["kubernetes"]));
    }
}
