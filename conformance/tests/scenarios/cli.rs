//! kubectl's cluster-level commands: version, discovery, cluster-info, proxy.

use std::time::Duration;

use serde_json::Value;
use tugboat_conformance::upstream::*;

use crate::support::{http_get, table};

scenario! {
    /// `kubectl version` shows both versions; the server's is v1.37.x+tugboat with integer major and
    /// minor and the build fields filled in.
    fn kubectl_version(server) covers [SERVER_VERSION, KUBECTL_VERSION] {
        let out = server.kubectl(&["version"]).ok();
        assert!(out.stdout.contains("Client Version: v1.37.1"), "{out}");
        let server_line = out
            .lines()
            .into_iter()
            .find(|l| l.starts_with("Server Version: "))
            .unwrap_or_else(|| panic!("no server version:\n{out}"))
            .to_owned();
        let version = server_line.trim_start_matches("Server Version: ");
        assert!(version.starts_with("v1.37.") && version.contains("+tugboat"), "{out}");

        let json = server.kubectl(&["version", "-o", "json"]).ok().json();
        let sv = &json["serverVersion"];
        assert_eq!(sv["major"], "1", "{json:#}");
        let minor = sv["minor"].as_str().expect("minor is a string");
        assert!(minor.parse::<u32>().is_ok_and(|m| m >= 37), "minor {minor:?} is not an integer >= 37");
        assert_eq!(sv["gitVersion"], version, "{json:#}");
        for field in ["gitCommit", "gitTreeState", "buildDate", "goVersion", "compiler", "platform"] {
            assert!(
                sv[field].as_str().is_some_and(|s| !s.is_empty()),
                "serverVersion.{field} is empty: {json:#}"
            );
        }
    }
}

scenario! {
    /// `kubectl api-resources` lists built-in resources with short names, group/version, scope and
    /// kind, and filters by scope and group.
    fn api_resources(server) covers [] {
        let out = server.kubectl(&["api-resources"]).ok();
        let rows = table(&out);
        assert_eq!(rows[0], ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"], "{out}");
        for expected in [
            ["pods", "po", "v1", "true", "Pod"],
            ["namespaces", "ns", "v1", "false", "Namespace"],
            ["configmaps", "cm", "v1", "true", "ConfigMap"],
            ["deployments", "deploy", "apps/v1", "true", "Deployment"],
            ["cronjobs", "cj", "batch/v1", "true", "CronJob"],
            ["customresourcedefinitions", "crd,crds", "apiextensions.k8s.io/v1", "false", "CustomResourceDefinition"],
        ] {
            assert!(rows.iter().any(|r| r == &expected), "no row {expected:?} in:\n{out}");
        }
        assert!(rows.iter().any(|r| r == &["secrets", "v1", "true", "Secret"]), "{out}");

        let cluster = server.kubectl(&["api-resources", "--namespaced=false", "-o", "name"]).ok();
        let cluster = cluster.lines();
        assert!(cluster.contains(&"namespaces") && cluster.contains(&"nodes"), "{cluster:?}");
        assert!(!cluster.contains(&"pods"), "{cluster:?}");

        let apps = server.kubectl(&["api-resources", "--api-group=apps", "-o", "name"]).ok();
        let mut apps = apps.lines();
        apps.sort();
        assert_eq!(
            apps,
            [
                "controllerrevisions.apps",
                "daemonsets.apps",
                "deployments.apps",
                "replicasets.apps",
                "statefulsets.apps"
            ]
        );
    }
}

scenario! {
    /// `kubectl api-versions` lists `v1` and the built-in group versions, sorted.
    fn api_versions(server) covers [KUBECTL_API_VERSIONS] {
        let out = server.kubectl(&["api-versions"]).ok();
        let lines = out.lines();
        for gv in ["v1", "apps/v1", "batch/v1", "rbac.authorization.k8s.io/v1", "coordination.k8s.io/v1"] {
            assert!(lines.contains(&gv), "{gv} missing:\n{out}");
        }
        let mut sorted = lines.clone();
        sorted.sort();
        assert_eq!(lines, sorted, "not sorted");
    }
}

/// Raw GET through the Python client (see `raw` in the harness's Python prelude).
const PY_RAW_GET: &str = r#"
def raw_get(path, accept="application/json"):
    return raw("GET", path, accept)
"#;

scenario! {
    /// Every group in /apis has a preferred version among its versions; every group version's
    /// resource list names itself and has resources; /api offers v1 with pods.
    fn discovery_documents(server) covers [DISCOVERY_GROUP_VERSIONS, DISCOVERY_PREFERRED_VERSION] {
        let script = format!(
            "{PY_RAW_GET}\n{}",
            r#"
problems = []
_, _, core = raw_get("/api")
if "v1" not in core["versions"]: problems.append("/api lacks v1")
_, _, v1 = raw_get("/api/v1")
if v1.get("groupVersion") != "v1" or not any(r["name"] == "pods" for r in v1["resources"]):
    problems.append("/api/v1 is wrong")
_, _, groups = raw_get("/apis")
checked = 0
for g in groups["groups"]:
    versions = [v["groupVersion"] for v in g["versions"]]
    if g["preferredVersion"]["groupVersion"] not in versions:
        problems.append("preferred version of %s not among %s" % (g["name"], versions))
    for gv in versions:
        _, _, rl = raw_get("/apis/" + gv)
        checked += 1
        if rl.get("kind") != "APIResourceList" or rl.get("groupVersion") != gv:
            problems.append("/apis/%s names %s" % (gv, rl.get("groupVersion")))
        if not rl.get("resources"):
            problems.append("/apis/%s has no resources" % gv)
print(json.dumps({"problems": problems, "checked": checked, "groups": [g["name"] for g in groups["groups"]]}))
"#
        );
        let result = server.python_json(&script);
        assert_eq!(result["problems"], Value::Array(vec![]), "{result:#}");
        assert!(result["checked"].as_u64().unwrap() >= 20, "{result:#}");
        let groups = result["groups"].as_array().unwrap();
        for g in ["apps", "batch", "apiextensions.k8s.io", "flowcontrol.apiserver.k8s.io"] {
            assert!(groups.contains(&Value::from(g)), "{g} missing: {result:#}");
        }
    }
}

scenario! {
    /// Aggregated discovery (apidiscovery.k8s.io/v2) is served for /api and /apis when asked for in
    /// the Accept header, with or without a fallback; a plain Accept gets the legacy documents; the
    /// aggregated documents list the built-in resources with their verbs.
    fn aggregated_discovery(server) covers [AGGREGATED_DISCOVERY, AGGREGATED_DISCOVERY_ACCEPT] {
        let script = format!(
            "{PY_RAW_GET}\n{}",
            r#"
V2 = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
out = {}
for name, accept in [("v2", V2), ("v2_fallback", V2 + ",application/json"),
                     ("unknown_fallback", "application/json;g=apidiscovery.k8s.io;v=v9;as=APIGroupDiscoveryList,application/json"),
                     ("plain", "application/json")]:
    for path in ["/api", "/apis"]:
        status, ctype, body = raw_get(path, accept)
        out["%s %s" % (name, path)] = {"status": status, "ctype": ctype, "kind": body.get("kind"), "apiVersion": body.get("apiVersion")}
resources = {}
for path in ["/api", "/apis"]:
    _, _, body = raw_get(path, V2)
    for g in body["items"]:
        for v in g["versions"]:
            for r in v["resources"]:
                gv = (g["metadata"].get("name") or "core") + "/" + v["version"]
                resources[gv + "/" + r["resource"]] = {"verbs": sorted(r.get("verbs", [])), "scope": r.get("scope"),
                    "sub": sorted(s["subresource"] for s in r.get("subresources") or [])}
out["resources"] = resources
print(json.dumps(out))
"#
        );
        let result = server.python_json(&script);
        for path in ["/api", "/apis"] {
            for variant in ["v2", "v2_fallback"] {
                let doc = &result[format!("{variant} {path}")];
                assert_eq!(doc["status"], 200, "{variant} {path}: {result:#}");
                assert_eq!(doc["kind"], "APIGroupDiscoveryList", "{variant} {path}: {doc:#}");
                assert_eq!(doc["apiVersion"], "apidiscovery.k8s.io/v2", "{variant} {path}: {doc:#}");
                let ctype = doc["ctype"].as_str().unwrap_or_default();
                assert!(ctype.contains("g=apidiscovery.k8s.io") && ctype.contains("v=v2"), "{doc:#}");
            }
            for variant in ["unknown_fallback", "plain"] {
                let doc = &result[format!("{variant} {path}")];
                let legacy = if path == "/api" { "APIVersions" } else { "APIGroupList" };
                assert_eq!(doc["kind"], legacy, "{variant} {path}: {doc:#}");
            }
        }
        let resources = &result["resources"];
        for (gvr, scope) in [
            ("core/v1/pods", "Namespaced"),
            ("core/v1/namespaces", "Cluster"),
            ("core/v1/services", "Namespaced"),
            ("apps/v1/deployments", "Namespaced"),
            ("batch/v1/jobs", "Namespaced"),
            ("rbac.authorization.k8s.io/v1/clusterroles", "Cluster"),
            ("coordination.k8s.io/v1/leases", "Namespaced"),
            ("networking.k8s.io/v1/ingresses", "Namespaced"),
            ("storage.k8s.io/v1/storageclasses", "Cluster"),
            ("admissionregistration.k8s.io/v1/validatingwebhookconfigurations", "Cluster"),
            ("apiextensions.k8s.io/v1/customresourcedefinitions", "Cluster"),
        ] {
            let r = &resources[gvr];
            assert_eq!(r["scope"], scope, "{gvr}: {r:#}");
            let verbs: Vec<&str> = r["verbs"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
            for verb in ["create", "delete", "get", "list", "update", "watch"] {
                assert!(verbs.contains(&verb), "{gvr} lacks {verb}: {r:#}");
            }
        }
        let pod_sub = resources["core/v1/pods"]["sub"].as_array().unwrap();
        assert!(pod_sub.contains(&Value::from("status")), "{pod_sub:?}");
        let deploy_sub = resources["apps/v1/deployments"]["sub"].as_array().unwrap();
        assert!(deploy_sub.contains(&Value::from("scale")), "{deploy_sub:?}");
    }
}

scenario! {
    /// `kubectl cluster-info` says where the control plane runs.
    fn cluster_info(server) covers [KUBECTL_CLUSTER_INFO] {
        let out = server.kubectl(&["cluster-info"]).ok();
        let url = format!("https://127.0.0.1:{}", server.port());
        assert!(
            out.stdout.contains(&format!("Kubernetes control plane is running at {url}")),
            "{out}"
        );
    }
}

scenario! {
    /// `kubectl proxy --port=0` picks a port, says so, and serves the API there.
    fn proxy_port_zero(server) covers [KUBECTL_PROXY_PORT_0] {
        let mut proxy = server.kubectl_background(&["proxy", "--port=0"]);
        proxy.wait_until("the proxy's address", Duration::from_secs(20), |out, _| {
            out.contains("Starting to serve on 127.0.0.1:")
        });
        let stdout = proxy.stdout();
        let port: u16 = stdout
            .split("Starting to serve on 127.0.0.1:")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("no port in {stdout:?}"));
        assert_ne!(port, 0);
        let stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connecting to the proxy");
        let (status, body) = http_get(stream, "/api");
        assert!(status.contains(" 200 "), "{status}\n{body}");
        let body: Value = serde_json::from_str(&body).expect("JSON from /api");
        assert_eq!(body["kind"], "APIVersions", "{body:#}");
        assert!(body["versions"].as_array().unwrap().contains(&Value::from("v1")), "{body:#}");
        proxy.stop();
    }
}

scenario! {
    /// `kubectl proxy --unix-socket=PATH` serves the API on that socket.
    fn proxy_unix_socket(server) covers [KUBECTL_PROXY_UNIX_SOCKET] {
        let socket = server.scratch_dir().join("proxy.sock");
        let arg = format!("--unix-socket={}", socket.display());
        let mut proxy = server.kubectl_background(&["proxy", arg.as_str()]);
        proxy.wait_until("the proxy to listen", Duration::from_secs(20), |out, _| {
            out.contains("Starting to serve on")
        });
        let stream = std::os::unix::net::UnixStream::connect(&socket).expect("connecting to the socket");
        let (status, body) = http_get(stream, "/api");
        assert!(status.contains(" 200 "), "{status}\n{body}");
        let body: Value = serde_json::from_str(&body).expect("JSON from /api");
        assert!(body["versions"].as_array().unwrap().contains(&Value::from("v1")), "{body:#}");
        proxy.stop();
    }
}

scenario! {
    /// The discovery roots answer with a trailing slash too (`/api/`, `/apis/`), as upstream's do.
    fn discovery_trailing_slash(server) covers [] {
        let api = server.kubectl(&["get", "--raw", "/api/"]).ok().json();
        assert_eq!(api["kind"], "APIVersions", "{api:#}");
        let apis = server.kubectl(&["get", "--raw", "/apis/"]).ok().json();
        assert_eq!(apis["kind"], "APIGroupList", "{apis:#}");
    }
}

scenario! {
    /// A list response over 128 KiB is gzip-compressed for clients that accept it (client-go always
    /// does, and strips `Content-Encoding` when it inflates, so kubectl's trace shows the `Vary`
    /// header that only compressed responses carry); a small one is not; the data survives.
    fn gzip_large_lists(server) covers [] {
        let big_value = "a".repeat(60_000);
        for i in 0..3 {
            server
                .kubectl(&["create", "configmap", &format!("big{i}"), &format!("--from-literal=k={big_value}")])
                .ok();
        }
        let out = server.kubectl(&["get", "configmaps", "-o", "json", "-v=9"]).ok();
        assert!(out.stderr.contains("Vary: Accept-Encoding"), "no compressed response:\n{}", out.stderr);
        let list = out.json();
        let sizes: Vec<usize> = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|cm| cm["data"]["k"].as_str().map(str::len))
            .collect();
        assert_eq!(sizes, [60_000, 60_000, 60_000], "{list:#}");

        let small = server.kubectl(&["get", "configmap", "big0", "-o", "name", "-v=9"]).ok();
        assert!(!small.stderr.contains("Vary: Accept-Encoding"), "{}", small.stderr);
    }
}
