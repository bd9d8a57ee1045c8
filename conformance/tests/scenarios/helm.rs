//! helm 4 against tugboat: a release's whole life (install, status, list, upgrade, history,
//! rollback, uninstall) with the `charts/webapp` chart and its hook, its release Secrets, and
//! `helm template | kubectl apply -f -`. helm 4 applies server-side by default; the client-side
//! path (`--server-side=false`: creates, then three-way strategic merge patches) runs as well.

use serde_json::Value;
use tugboat_conformance::{Server, harness::workspace_root};

use crate::support::create_namespace;

fn chart() -> String {
    workspace_root().join("charts/webapp").display().to_string()
}

fn json_of(server: &Server, args: &[&str]) -> Value {
    server.kubectl(args).ok().json()
}

/// The data of the release's ConfigMap and hook ConfigMap, and the Deployment's replicas.
fn release_state(server: &Server, ns: &str) -> (String, String, i64) {
    let cm = json_of(server, &["get", "cm", "web-webapp", "-n", ns, "-o", "json"]);
    let hook = json_of(
        server,
        &["get", "cm", "web-webapp-hook", "-n", ns, "-o", "json"],
    );
    let deploy = json_of(
        server,
        &["get", "deploy", "web-webapp", "-n", ns, "-o", "json"],
    );
    (
        cm["data"]["greeting"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        hook["data"]["revision"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        deploy["spec"]["replicas"].as_i64().unwrap_or_default(),
    )
}

fn release_lifecycle(server: &Server, ns: &str, extra: &[&str]) {
    create_namespace(server, ns);
    let chart = chart();
    let with = |args: &[&str]| -> Vec<String> {
        args.iter().chain(extra).map(|s| (*s).to_owned()).collect()
    };

    server
        .helm(&with(&["install", "web", &chart, "-n", ns]))
        .ok();
    let status = server.helm(&["status", "web", "-n", ns]).ok();
    assert!(status.stdout.contains("STATUS: deployed"), "{status}");
    assert_eq!(release_state(server, ns), ("hello".into(), "1".into(), 2));
    for kind in ["deployment", "service", "secret", "serviceaccount"] {
        server.kubectl(&["get", kind, "web-webapp", "-n", ns]).ok();
    }
    let list = server.helm(&["list", "-n", ns, "-o", "json"]).ok().json();
    assert_eq!(list[0]["name"], "web", "{list:#}");
    assert_eq!(list[0]["revision"], "1");
    assert_eq!(list[0]["status"], "deployed");

    server
        .helm(&with(&[
            "upgrade",
            "web",
            &chart,
            "-n",
            ns,
            "--set",
            "greeting=hi",
            "--set",
            "replicaCount=3",
        ]))
        .ok();
    assert_eq!(release_state(server, ns), ("hi".into(), "2".into(), 3));

    let history = server
        .helm(&["history", "web", "-n", ns, "-o", "json"])
        .ok()
        .json();
    let revisions: Vec<(i64, &str)> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["revision"].as_i64().unwrap(),
                h["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        revisions,
        [(1, "superseded"), (2, "deployed")],
        "{history:#}"
    );

    server.helm(&with(&["rollback", "web", "1", "-n", ns])).ok();
    let (greeting, _, replicas) = release_state(server, ns);
    assert_eq!((greeting.as_str(), replicas), ("hello", 2));

    // helm keeps every revision in a Secret of type helm.sh/release.v1 that must round-trip.
    let secrets = json_of(
        server,
        &["get", "secrets", "-n", ns, "-l", "owner=helm", "-o", "json"],
    );
    let mut names: Vec<&str> = secrets["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            assert_eq!(s["type"], "helm.sh/release.v1");
            s["metadata"]["name"].as_str().unwrap()
        })
        .collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "sh.helm.release.v1.web.v1",
            "sh.helm.release.v1.web.v2",
            "sh.helm.release.v1.web.v3"
        ]
    );
    let get_values = server
        .helm(&[
            "get",
            "values",
            "web",
            "-n",
            ns,
            "--revision",
            "2",
            "-o",
            "json",
        ])
        .ok()
        .json();
    assert_eq!(get_values["greeting"], "hi", "{get_values:#}");

    server.helm(&["uninstall", "web", "-n", ns]).ok();
    // Hooks are not part of the release's resources: helm leaves them (its delete policy here
    // only removes the previous one before the next is created).
    let left = server
        .kubectl(&[
            "get",
            "deploy,svc,cm,sa,secret",
            "-n",
            ns,
            "-l",
            "app.kubernetes.io/instance=web",
            "-o",
            "name",
        ])
        .ok();
    assert_eq!(left.stdout.trim(), "configmap/web-webapp-hook", "{left}");
    let list = server.helm(&["list", "-n", ns, "-o", "json"]).ok().json();
    assert_eq!(list, serde_json::json!([]));
}

scenario! {
    /// The release lifecycle with helm's client-side updates (`--server-side=false`).
    fn helm_release_client_side(server) covers [] {
        release_lifecycle(server, "helm-cs", &["--server-side=false"]);
    }
}

scenario! {
    /// The release lifecycle with helm 4's default, server-side apply.
    fn helm_release_server_side(server) covers [] {
        release_lifecycle(server, "helm-ss", &[]);
    }
}

scenario! {
    /// `helm template | kubectl apply -f -` creates the chart's objects (hooks included, as helm
    /// renders them), and applying the same output again changes nothing.
    fn helm_template_kubectl_apply(server) covers [] {
        create_namespace(server, "helm-tpl");
        let rendered = server.helm(&["template", "web", &chart(), "-n", "helm-tpl"]).ok();
        let applied = server.kubectl_with_stdin(&["apply", "-n", "helm-tpl", "-f", "-"], Some(rendered.stdout.as_bytes())).ok();
        for object in ["deployment.apps/web-webapp created", "service/web-webapp created", "configmap/web-webapp created"] {
            assert!(applied.stdout.contains(object), "{applied}");
        }
        let again = server.kubectl_with_stdin(&["apply", "-n", "helm-tpl", "-f", "-"], Some(rendered.stdout.as_bytes())).ok();
        assert!(again.stdout.contains("deployment.apps/web-webapp unchanged"), "{again}");
    }
}
