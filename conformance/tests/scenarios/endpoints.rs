//! The endpoints, endpointslice and endpointslice-mirroring controllers through kubectl: a
//! Service's Endpoints and EndpointSlices follow its pods (made ready by writing pod status as a
//! kubelet would), an empty Service gets empty ones, a deleted Service takes them along, and
//! custom Endpoints of a selector-less Service are mirrored into EndpointSlices.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tugboat_conformance::{Server, upstream::*};

use crate::support::{create_manifest, create_namespace};

/// How long a controller may take (upstream's e2e allows 30 s and more).
const DEADLINE: Duration = Duration::from_secs(30);

/// Poll `check` until it yields a value, or panic after [`DEADLINE`] with the last observation.
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

fn get_json(server: &Server, args: &[&str]) -> Option<Value> {
    let out = server.kubectl(args);
    out.success().then(|| out.json())
}

fn slices(server: &Server, namespace: &str, service: &str) -> Vec<Value> {
    get_json(
        server,
        &[
            "get",
            "endpointslices",
            "-n",
            namespace,
            "-l",
            &format!("kubernetes.io/service-name={service}"),
            "-o",
            "json",
        ],
    )
    .and_then(|list| list["items"].as_array().cloned())
    .unwrap_or_default()
}

/// Give a pod an IP and a Ready condition, as its kubelet would.
fn set_pod_status(server: &Server, namespace: &str, pod: &str, ip: &str, ready: bool) {
    let status = json!({"status": {
        "phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}],
        "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }}],
    }});
    server
        .kubectl(&[
            "patch",
            "pod",
            pod,
            "-n",
            namespace,
            "--subresource=status",
            "--type=merge",
            "-p",
            &status.to_string(),
        ])
        .ok();
}

const SERVICE: &str = r#"
apiVersion: v1
kind: Service
metadata: {name: web, labels: {tier: front}}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}]
"#;

fn pod_manifest(name: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}, labels: {{app: web}}}}\nspec:\n  containers: [{{name: c, image: busybox, ports: [{{name: http, containerPort: 8080}}]}}]\n"
    )
}

scenario! {
    /// A Service whose selector matches no pods gets an empty Endpoints and one empty
    /// EndpointSlice (owned by the Service, labelled with its name and the managing controller);
    /// deleting the Service deletes both.
    fn service_without_pods(server) covers [ENDPOINTS_CONTROLLER_NO_PODS, ENDPOINTSLICE_NO_PODS]
    server_args ["--disable-controller", "serviceaccount"]
    {
        create_namespace(server, "ep");
        create_manifest(server, "ep", SERVICE);
        let endpoints = eventually("the Endpoints", || {
            get_json(server, &["get", "endpoints", "web", "-n", "ep", "-o", "json"]).ok_or_else(|| "none".to_owned())
        });
        assert!(endpoints.get("subsets").is_none_or(Value::is_null), "{endpoints:#}");
        assert_eq!(endpoints["metadata"]["labels"]["tier"], "front");
        let slice = eventually("the placeholder slice", || {
            slices(server, "ep", "web").into_iter().next().ok_or_else(|| "none".to_owned())
        });
        assert_eq!(slice["addressType"], "IPv4");
        assert!(slice.get("endpoints").is_none_or(|e| e.as_array().is_none_or(Vec::is_empty)), "{slice:#}");
        assert_eq!(slice["metadata"]["labels"]["endpointslice.kubernetes.io/managed-by"], "endpointslice-controller.k8s.io");
        assert_eq!(slice["metadata"]["ownerReferences"][0]["kind"], "Service");
        assert_eq!(slice["metadata"]["ownerReferences"][0]["controller"], true);
        assert!(slice["metadata"]["name"].as_str().unwrap().starts_with("web-"));

        server.kubectl(&["delete", "service", "web", "-n", "ep"]).ok();
        eventually("the Endpoints to go", || {
            match get_json(server, &["get", "endpoints", "web", "-n", "ep", "-o", "json"]) {
                None => Ok(()),
                Some(e) => Err(e.to_string()),
            }
        });
        eventually("the slices to go", || {
            let left = slices(server, "ep", "web");
            if left.is_empty() { Ok(()) } else { Err(format!("{left:?}")) }
        });
    }
}

scenario! {
    /// Endpoints and slices follow pods: ready pods are addresses with the named target port
    /// resolved, a pod that stops being ready moves to notReadyAddresses (ready=false in its
    /// slice), and a deleted pod leaves.
    fn endpoints_follow_pods(server) covers []
    server_args ["--disable-controller", "serviceaccount"]
    {
        create_namespace(server, "ep");
        create_manifest(server, "ep", SERVICE);
        create_manifest(server, "ep", &pod_manifest("a"));
        create_manifest(server, "ep", &pod_manifest("b"));
        set_pod_status(server, "ep", "a", "10.42.0.10", true);
        set_pod_status(server, "ep", "b", "10.42.0.11", true);
        eventually("two ready addresses", || {
            let e = get_json(server, &["get", "endpoints", "web", "-n", "ep", "-o", "json"]).unwrap_or_default();
            let subsets = &e["subsets"];
            let ips: Vec<&str> = subsets[0]["addresses"].as_array().into_iter().flatten().filter_map(|a| a["ip"].as_str()).collect();
            if ips == ["10.42.0.10", "10.42.0.11"] && subsets[0]["ports"] == json!([{"name": "http", "port": 8080, "protocol": "TCP"}]) {
                Ok(())
            } else {
                Err(e.to_string())
            }
        });
        eventually("two ready slice endpoints", || {
            let all = slices(server, "ep", "web");
            let endpoints: Vec<(String, bool)> = all.iter()
                .flat_map(|s| s["endpoints"].as_array().cloned().unwrap_or_default())
                .map(|e| (e["addresses"][0].as_str().unwrap_or_default().to_owned(), e["conditions"]["ready"] == true))
                .collect();
            if all.len() == 1 && endpoints == [("10.42.0.10".to_owned(), true), ("10.42.0.11".to_owned(), true)]
                && all[0]["ports"] == json!([{"name": "http", "port": 8080, "protocol": "TCP"}]) {
                Ok(())
            } else {
                Err(format!("{all:?}"))
            }
        });

        set_pod_status(server, "ep", "b", "10.42.0.11", false);
        eventually("b not ready", || {
            let e = get_json(server, &["get", "endpoints", "web", "-n", "ep", "-o", "json"]).unwrap_or_default();
            if e["subsets"][0]["notReadyAddresses"][0]["ip"] == "10.42.0.11" { Ok(()) } else { Err(e.to_string()) }
        });
        server.kubectl(&["delete", "pod", "a", "-n", "ep", "--grace-period=0", "--force"]).ok();
        eventually("a gone", || {
            let e = get_json(server, &["get", "endpoints", "web", "-n", "ep", "-o", "json"]).unwrap_or_default();
            if e["subsets"][0].get("addresses").is_none() && e["subsets"][0]["notReadyAddresses"].as_array().is_some_and(|a| a.len() == 1) {
                Ok(())
            } else {
                Err(e.to_string())
            }
        });
    }
}

scenario! {
    /// Custom Endpoints of a Service without a selector are mirrored into an EndpointSlice
    /// (managed by the mirroring controller, owned by the Endpoints) through create, update and
    /// delete.
    fn endpoints_are_mirrored(server) covers [ENDPOINTSLICE_MIRRORING]
    server_args ["--disable-controller", "serviceaccount"]
    {
        create_namespace(server, "ep");
        create_manifest(server, "ep", r#"
apiVersion: v1
kind: Service
metadata: {name: ext}
spec:
  ports: [{name: example, port: 80}]
---
apiVersion: v1
kind: Endpoints
metadata: {name: ext}
subsets:
- addresses: [{ip: 10.1.2.3}]
  ports: [{name: example, port: 80}]
"#);
        let mirrored = |ip: &'static str| {
            move || {
                let all = slices(server, "ep", "ext");
                match all.as_slice() {
                    [slice] if slice["endpoints"][0]["addresses"][0] == ip
                        && slice["metadata"]["labels"]["endpointslice.kubernetes.io/managed-by"] == "endpointslicemirroring-controller.k8s.io"
                        && slice["metadata"]["ownerReferences"][0]["kind"] == "Endpoints"
                        && slice["ports"] == json!([{"name": "example", "port": 80, "protocol": "TCP"}]) => Ok(()),
                    _ => Err(format!("{all:?}")),
                }
            }
        };
        eventually("the mirrored slice", mirrored("10.1.2.3"));
        server
            .kubectl(&["patch", "endpoints", "ext", "-n", "ep", "--type=merge", "-p",
                r#"{"subsets": [{"addresses": [{"ip": "10.2.3.4"}], "ports": [{"name": "example", "port": 80}]}]}"#])
            .ok();
        eventually("the slice updated", mirrored("10.2.3.4"));
        server.kubectl(&["delete", "endpoints", "ext", "-n", "ep"]).ok();
        eventually("the slice gone", || {
            let left = slices(server, "ep", "ext");
            if left.is_empty() { Ok(()) } else { Err(format!("{left:?}")) }
        });
    }
}
