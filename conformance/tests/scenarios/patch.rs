//! PATCH through stock clients: `kubectl patch` with each `--type`, the commands built on patches
//! (`label`, `annotate`, `set image`, `set env`, `rollout restart`, `edit`), and patches that must fail
//! without changing anything.

use serde_json::{Value, json};

use crate::support::{create_manifest, create_namespace};

const DEPLOYMENT: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, labels: {app: web}}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: app
        image: registry.k8s.io/pause:3.10
        env: [{name: A, value: "1"}]
        ports: [{containerPort: 80}]
      - name: sidecar
        image: busybox
"#;

fn get(server: &tugboat_conformance::Server, what: &[&str]) -> Value {
    let mut args = vec!["get"];
    args.extend_from_slice(what);
    args.extend_from_slice(&["-n", "pt", "-o", "json"]);
    server.kubectl(&args).ok().json()
}

fn containers(deploy: &Value) -> Vec<(String, String)> {
    deploy["spec"]["template"]["spec"]["containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_owned(),
                c["image"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

scenario! {
    /// `kubectl patch` with strategic merge (containers merged by name), JSON merge (lists
    /// replaced) and JSON patch (RFC 6902 with `test`); generation moves only on spec changes and a
    /// patch that changes nothing writes no new revision.
    fn kubectl_patch_types(server) covers [] {
        create_namespace(server, "pt");
        create_manifest(server, "pt", DEPLOYMENT).ok();

        server
            .kubectl(&["patch", "deploy", "web", "-n", "pt", "-p",
                r#"{"spec":{"template":{"spec":{"containers":[{"name":"app","image":"busybox:2"}]}}}}"#])
            .ok();
        let deploy = get(server, &["deploy", "web"]);
        assert_eq!(
            containers(&deploy),
            [("app".to_owned(), "busybox:2".to_owned()), ("sidecar".to_owned(), "busybox".to_owned())],
            "strategic merge keeps the other container: {deploy:#}"
        );
        assert_eq!(deploy["metadata"]["generation"], 2);
        // The merged container kept its env and ports.
        assert_eq!(deploy["spec"]["template"]["spec"]["containers"][0]["env"], json!([{"name": "A", "value": "1"}]));

        // A label-only patch leaves generation alone; the same patch again writes nothing.
        server.kubectl(&["patch", "deploy", "web", "-n", "pt", "--type=merge", "-p", r#"{"metadata":{"labels":{"tier":"front"}}}"#]).ok();
        let labelled = get(server, &["deploy", "web"]);
        assert_eq!(labelled["metadata"]["generation"], 2);
        assert_eq!(labelled["metadata"]["labels"]["tier"], "front");
        let again = server
            .kubectl(&["patch", "deploy", "web", "-n", "pt", "--type=merge", "-p", r#"{"metadata":{"labels":{"tier":"front"}}}"#])
            .ok();
        assert!(again.stdout.contains("patched (no change)"), "{again}");
        assert_eq!(get(server, &["deploy", "web"])["metadata"]["resourceVersion"], labelled["metadata"]["resourceVersion"]);

        // A merge patch replaces the whole list.
        server
            .kubectl(&["patch", "deploy", "web", "-n", "pt", "--type=merge", "-p",
                r#"{"spec":{"template":{"spec":{"containers":[{"name":"only","image":"busybox:3"}]}}}}"#])
            .ok();
        assert_eq!(containers(&get(server, &["deploy", "web"])), [("only".to_owned(), "busybox:3".to_owned())]);

        // JSON patch: test then replace; a failing test changes nothing.
        server
            .kubectl(&["patch", "deploy", "web", "-n", "pt", "--type=json", "-p",
                r#"[{"op":"test","path":"/spec/replicas","value":1},{"op":"replace","path":"/spec/replicas","value":3}]"#])
            .ok();
        assert_eq!(get(server, &["deploy", "web"])["spec"]["replicas"], 3);
        let before = get(server, &["deploy", "web"]);
        let failed = server
            .kubectl(&["patch", "deploy", "web", "-n", "pt", "--type=json", "-p",
                r#"[{"op":"test","path":"/spec/replicas","value":1},{"op":"replace","path":"/spec/replicas","value":9}]"#])
            .fails();
        assert!(failed.stderr.contains("the server rejected our request due to an error in our request"), "{failed}");
        assert_eq!(get(server, &["deploy", "web"])["metadata"]["resourceVersion"], before["metadata"]["resourceVersion"]);
    }
}

scenario! {
    /// The kubectl commands that are patches underneath: `label`/`annotate --overwrite`, `set image`,
    /// `set env`, `rollout restart` and a non-interactive `edit`.
    fn kubectl_patch_commands(server) covers [] {
        create_namespace(server, "pt");
        create_manifest(server, "pt", DEPLOYMENT).ok();

        server.kubectl(&["label", "deploy", "web", "-n", "pt", "env=dev"]).ok();
        server.kubectl(&["label", "deploy", "web", "-n", "pt", "env=prod", "--overwrite"]).ok();
        server.kubectl(&["annotate", "deploy", "web", "-n", "pt", "note=hi"]).ok();
        let refused = server.kubectl(&["label", "deploy", "web", "-n", "pt", "env=qa"]).fails();
        assert!(refused.stderr.contains("already has a value (prod)"), "{refused}");

        server.kubectl(&["set", "image", "deploy/web", "-n", "pt", "sidecar=busybox:9"]).ok();
        server.kubectl(&["set", "env", "deploy/web", "-n", "pt", "-c", "app", "B=2"]).ok();
        server.kubectl(&["rollout", "restart", "deploy/web", "-n", "pt"]).ok();

        let deploy = get(server, &["deploy", "web"]);
        assert_eq!(deploy["metadata"]["labels"]["env"], "prod");
        assert_eq!(deploy["metadata"]["annotations"]["note"], "hi");
        assert_eq!(containers(&deploy)[1], ("sidecar".to_owned(), "busybox:9".to_owned()));
        assert_eq!(
            deploy["spec"]["template"]["spec"]["containers"][0]["env"],
            json!([{"name": "A", "value": "1"}, {"name": "B", "value": "2"}])
        );
        assert!(
            deploy["spec"]["template"]["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"].is_string(),
            "{deploy:#}"
        );

        // `kubectl edit` with an editor that rewrites the replica count.
        let editor = server.write_file("editor.sh", b"#!/bin/sh\nsed -i 's/replicas: 1/replicas: 4/' \"$1\"\n");
        std::fs::set_permissions(&editor, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        let out = server.kubectl_with_env(&["edit", "deploy", "web", "-n", "pt"], &[("KUBE_EDITOR", editor.to_str().unwrap())]);
        assert!(out.success(), "{out}");
        assert_eq!(get(server, &["deploy", "web"])["spec"]["replicas"], 4);
    }
}

scenario! {
    /// Patches that must fail change nothing: an immutable field (a Service's clusterIP, a Job's
    /// selector), an unknown field under `--validate=strict`, a malformed patch, a stale
    /// resourceVersion, a missing object; `--dry-run=server` changes nothing either.
    fn bad_patches(server) covers [] {
        create_namespace(server, "pt");
        server.kubectl(&["create", "service", "clusterip", "svc", "-n", "pt", "--tcp=80:80"]).ok();
        let out = server
            .kubectl(&["patch", "svc", "svc", "-n", "pt", "-p", r#"{"spec":{"clusterIP":"10.43.99.99","clusterIPs":["10.43.99.99"]}}"#])
            .fails();
        assert!(out.stderr.contains("spec.clusterIPs[0]: Invalid value: \"10.43.99.99\": may not change once set"), "{out}");

        server.kubectl(&["create", "job", "j", "-n", "pt", "--image=busybox"]).ok();
        let out = server
            .kubectl(&["patch", "job", "j", "-n", "pt", "--type=merge", "-p", r#"{"spec":{"selector":{"matchLabels":{"x":"y"}}}}"#])
            .fails();
        assert!(out.stderr.contains("is invalid"), "{out}");

        // Unknown fields: a warning by default (fieldValidation=Warn), a 422 under Strict.
        let out = server
            .kubectl(&["patch", "svc", "svc", "-n", "pt", "--type=merge", "-p", r#"{"metadata":{"labels":{"w":"1"}},"spec":{"bogus":1}}"#])
            .ok();
        assert!(out.stderr.contains(r#"unknown field "spec.bogus""#), "{out}");
        let out = server.python(
            r#"
status, _, body = raw("PATCH", "/api/v1/namespaces/pt/services/svc?fieldValidation=Strict",
                      body={"spec": {"bogus": 1}}, content_type="application/merge-patch+json")
print(status, body["reason"])
print(body["message"])
"#,
        );
        assert!(out.stdout.starts_with("422 Invalid"), "{out}");
        assert!(out.stdout.contains(r#"strict decoding error: unknown field \"spec.bogus\""#) || out.stdout.contains(r#"strict decoding error: unknown field "spec.bogus""#), "{out}");

        let out = server.kubectl(&["patch", "svc", "svc", "-n", "pt", "--type=json", "-p", r#"{"op":"add"}"#]).fails();
        assert!(out.stderr.contains("(BadRequest): error decoding patch: json: cannot unmarshal object into Go value of type []handlers.jsonPatchOp"), "{out}");

        let out = server
            .kubectl(&["patch", "svc", "svc", "-n", "pt", "--type=merge", "-p",
                r#"{"metadata":{"resourceVersion":"1","labels":{"a":"b"}}}"#])
            .fails();
        assert!(out.stderr.contains("the object has been modified"), "{out}");

        let out = server.kubectl(&["patch", "svc", "nope", "-n", "pt", "-p", r#"{"metadata":{"labels":{"a":"b"}}}"#]).fails();
        assert!(out.stderr.contains(r#"services "nope" not found"#), "{out}");

        let svc = get(server, &["svc", "svc"]);
        server
            .kubectl(&["patch", "svc", "svc", "-n", "pt", "--dry-run=server", "-p", r#"{"metadata":{"labels":{"dry":"run"}}}"#])
            .ok();
        let after = get(server, &["svc", "svc"]);
        assert_eq!(after["metadata"]["resourceVersion"], svc["metadata"]["resourceVersion"], "{after:#}");
        assert_eq!(after["spec"]["clusterIP"], svc["spec"]["clusterIP"]);

        // A body in a patch type the server does not know is 415.
        let out = server.python(
            r#"
status, _, body = raw("PATCH", "/api/v1/namespaces/pt/services/svc", body="x", content_type="text/plain")
print(status, body["reason"])
"#,
        );
        assert_eq!(out.stdout.trim(), "415 UnsupportedMediaType", "{out}");
    }
}
