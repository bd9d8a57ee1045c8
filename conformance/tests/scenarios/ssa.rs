//! Server-side apply and managed fields through kubectl (`apply --server-side`, field managers,
//! conflicts, `--force-conflicts`, removal of fields a manager stops applying), client-side `apply`
//! (last-applied annotation, prune), `diff`, and the errors of bad apply requests.

use serde_json::{Value, json};
use tugboat_conformance::{Server, upstream::*};

use crate::support::create_namespace;

fn deployment(replicas: u32, image: &str, extra_label: Option<&str>) -> String {
    let extra = extra_label
        .map(|l| format!(", {l}: \"1\""))
        .unwrap_or_default();
    format!(
        "apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: ssa, labels: {{app: web{extra}}}}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers:
      - {{name: app, image: \"{image}\"}}
"
    )
}

fn apply(server: &Server, manifest: &str, args: &[&str]) -> tugboat_conformance::Output {
    let mut all = vec!["apply", "--server-side", "-f", "-"];
    all.extend_from_slice(args);
    server.kubectl_with_stdin(&all, Some(manifest.as_bytes()))
}

fn web(server: &Server) -> Value {
    server
        .kubectl(&[
            "get",
            "deploy",
            "web",
            "-n",
            "ssa",
            "-o",
            "json",
            "--show-managed-fields",
        ])
        .ok()
        .json()
}

/// (manager, operation) of each managedFields entry.
fn managers(object: &Value) -> Vec<(String, String)> {
    object["metadata"]["managedFields"]
        .as_array()
        .map(|entries| {
            entries
                .iter()
                .map(|e| {
                    (
                        e["manager"].as_str().unwrap_or_default().to_owned(),
                        e["operation"].as_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn owns(object: &Value, manager: &str, path: &[&str]) -> bool {
    object["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| {
            e["manager"] == manager && {
                let mut node = &e["fieldsV1"];
                path.iter().all(|p| {
                    node = &node[*p];
                    !node.is_null()
                })
            }
        })
}

scenario! {
    /// Create on apply, re-apply with a change, a second manager's conflict on `spec.replicas`
    /// (shown to the user with upstream's message), shared ownership of equal values, taking
    /// ownership with `--force-conflicts`, and a field removed when its only applier drops it.
    fn server_side_apply_managers(server) covers [] {
        create_namespace(server, "ssa");
        let out = apply(server, &deployment(2, "busybox:1", Some("extra")), &["--field-manager=alice"]).ok();
        assert!(out.stdout.contains("deployment.apps/web serverside-applied"), "{out}");
        let created = web(server);
        assert_eq!(managers(&created), [("alice".to_owned(), "Apply".to_owned())], "{created:#}");
        assert!(owns(&created, "alice", &["f:spec", "f:replicas"]));
        assert!(owns(&created, "alice", &["f:spec", "f:template", "f:spec", "f:containers", r#"k:{"name":"app"}"#, "f:image"]));
        assert_eq!(created["metadata"]["generation"], 1);

        // Same manager, new image: applied, generation moves.
        apply(server, &deployment(2, "busybox:2", Some("extra")), &["--field-manager=alice"]).ok();
        let changed = web(server);
        assert_eq!(changed["spec"]["template"]["spec"]["containers"][0]["image"], "busybox:2");
        assert_eq!(changed["metadata"]["generation"], 2);

        // Bob wants other replicas: a conflict that names alice and the field; nothing changes.
        let conflict = apply(server, &deployment(3, "busybox:2", None), &["--field-manager=bob"]).fails();
        assert!(
            conflict.stderr.contains(r#"Apply failed with 1 conflict: conflict with "alice": .spec.replicas"#),
            "{conflict}"
        );
        assert_eq!(web(server)["spec"]["replicas"], 2);
        let raw = server.python(
            r#"
import yaml
body = yaml.safe_dump({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": {"replicas": 7}})
status, _, out = raw("PATCH", "/apis/apps/v1/namespaces/ssa/deployments/web?fieldManager=carol", body=body,
                     content_type="application/apply-patch+yaml")
print(json.dumps([status, out["reason"], out["details"]["causes"]]))
"#,
        );
        let raw: Value = serde_json::from_str(raw.stdout.trim()).unwrap_or_else(|_| panic!("{raw}"));
        assert_eq!(
            raw,
            json!([409, "Conflict", [{"reason": "FieldManagerConflict", "message": "conflict with \"alice\"", "field": ".spec.replicas"}]])
        );

        // Bob applying alice's values co-owns them without conflict.
        apply(server, &deployment(2, "busybox:2", None), &["--field-manager=bob"]).ok();
        let shared = web(server);
        assert!(owns(&shared, "alice", &["f:spec", "f:replicas"]) && owns(&shared, "bob", &["f:spec", "f:replicas"]));

        // Forcing takes the field from both.
        apply(server, &deployment(4, "busybox:2", None), &["--field-manager=carol", "--force-conflicts"]).ok();
        let forced = web(server);
        assert_eq!(forced["spec"]["replicas"], 4);
        assert!(owns(&forced, "carol", &["f:spec", "f:replicas"]));
        assert!(!owns(&forced, "alice", &["f:spec", "f:replicas"]) && !owns(&forced, "bob", &["f:spec", "f:replicas"]));

        // Alice stops applying her extra label: only she owned it, so it goes; `app` stays (bob
        // owns it too).
        assert_eq!(forced["metadata"]["labels"]["extra"], "1");
        apply(server, &deployment(4, "busybox:2", None), &["--field-manager=alice", "--force-conflicts"]).ok();
        let removed = web(server);
        assert_eq!(removed["metadata"]["labels"], json!({"app": "web"}), "{removed:#}");
    }
}

scenario! {
    /// Non-apply writes are tracked as `Update` entries (kubectl create, label, scale); an apply that
    /// changes what an updater set conflicts with it ("using apps/v1"); a dry run changes nothing.
    fn updates_are_tracked(server) covers [] {
        create_namespace(server, "ssa");
        server.kubectl(&["create", "deployment", "web", "-n", "ssa", "--image=busybox:1", "--replicas=1"]).ok();
        server.kubectl(&["label", "deploy", "web", "-n", "ssa", "tier=front"]).ok();
        let object = web(server);
        let entries = managers(&object);
        assert!(entries.contains(&("kubectl-create".to_owned(), "Update".to_owned())), "{entries:?}");
        assert!(entries.contains(&("kubectl-label".to_owned(), "Update".to_owned())), "{entries:?}");
        assert!(owns(&object, "kubectl-label", &["f:metadata", "f:labels", "f:tier"]));

        let manifest = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: ssa}\nspec: {replicas: 5}\n";
        let out = apply(server, manifest, &["--field-manager=ops"]).fails();
        assert!(out.stderr.contains(r#"conflict with "kubectl-create" using apps/v1: .spec.replicas"#), "{out}");

        let before = web(server)["metadata"]["resourceVersion"].clone();
        apply(server, manifest, &["--field-manager=ops", "--force-conflicts", "--dry-run=server"]).ok();
        assert_eq!(web(server)["metadata"]["resourceVersion"], before);
        apply(server, manifest, &["--field-manager=ops", "--force-conflicts"]).ok();
        assert_eq!(web(server)["spec"]["replicas"], 5);
    }
}

scenario! {
    /// Fields a write cannot change are never owned by it (upstream's reset fields): `status`
    /// applied to the main resource is dropped and unowned; through `--subresource=status` only
    /// the status is applied and owned, `spec` is left alone.
    fn reset_fields_are_not_owned(server) covers [] {
        create_namespace(server, "ssa");
        let with_status = format!("{}status: {{replicas: 5}}\n", deployment(2, "busybox:1", None));
        apply(server, &with_status, &["--field-manager=alice"]).ok();
        let created = web(server);
        assert!(created.get("status").is_none_or(|s| s.get("replicas").is_none()), "{created:#}");
        assert!(owns(&created, "alice", &["f:spec", "f:replicas"]));
        assert!(!owns(&created, "alice", &["f:status"]), "{created:#}");

        let status_only = format!("{}status: {{replicas: 3, observedGeneration: 1}}\n", deployment(9, "busybox:9", None));
        apply(server, &status_only, &["--field-manager=ctl", "--subresource=status"]).ok();
        let updated = web(server);
        assert_eq!(updated["status"]["replicas"], 3, "{updated:#}");
        assert_eq!(updated["spec"]["replicas"], 2, "spec is not changed through status");
        assert_eq!(updated["spec"]["template"]["spec"]["containers"][0]["image"], "busybox:1");
        assert!(owns(&updated, "ctl", &["f:status", "f:replicas"]), "{updated:#}");
        assert!(!owns(&updated, "ctl", &["f:spec"]), "{updated:#}");
        let entry = updated["metadata"]["managedFields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["manager"] == "ctl")
            .unwrap();
        assert_eq!(entry["subresource"], "status");
        assert_eq!(entry["operation"], "Apply");
    }
}

scenario! {
    /// Moving between client-side and server-side `kubectl apply`: the server-side apply takes
    /// over without conflicts and keeps the last-applied annotation current, so that a later
    /// client-side apply that drops a label removes it.
    fn client_side_and_server_side_apply_interoperate(server) covers [] {
        create_namespace(server, "ssa");
        server
            .kubectl_with_stdin(&["apply", "-f", "-"], Some(deployment(1, "busybox:1", Some("extra")).as_bytes()))
            .ok();
        let out = apply(server, &deployment(2, "busybox:2", Some("extra")), &[]).ok();
        assert!(out.stdout.contains("serverside-applied"), "{out}");
        let object = web(server);
        assert_eq!(object["spec"]["replicas"], 2);
        let last: Value = serde_json::from_str(
            object["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
        assert_eq!(last["spec"]["replicas"], 2, "{last:#}");
        assert_eq!(last["spec"]["template"]["spec"]["containers"][0]["image"], "busybox:2");
        assert!(last["metadata"]["annotations"].get("kubectl.kubernetes.io/last-applied-configuration").is_none());

        server
            .kubectl_with_stdin(&["apply", "-f", "-"], Some(deployment(2, "busybox:2", None).as_bytes()))
            .ok();
        let object = web(server);
        assert_eq!(object["metadata"]["labels"], json!({"app": "web"}), "{object:#}");
    }
}

scenario! {
    /// Bad apply requests: no field manager (422 on PatchOptions), `force` on a non-apply patch
    /// (422), a body that is not YAML (400), a name that differs from the URL (400).
    fn bad_apply_requests(server) covers [] {
        create_namespace(server, "ssa");
        let out = server.python(
            r#"
body = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n"
for path, text, ct in [
    ("/api/v1/namespaces/ssa/configmaps/c", body, "application/apply-patch+yaml"),
    ("/api/v1/namespaces/ssa/configmaps/c?fieldManager=m&force=true", "{}", "application/merge-patch+json"),
    ("/api/v1/namespaces/ssa/configmaps/c?fieldManager=m", "{: [", "application/apply-patch+yaml"),
    ("/api/v1/namespaces/ssa/configmaps/other?fieldManager=m", body, "application/apply-patch+yaml"),
]:
    status, _, out = raw("PATCH", path, body=text, content_type=ct)
    print(status, out["reason"], out["message"])
"#,
        );
        let lines: Vec<&str> = out.stdout.lines().collect();
        assert_eq!(lines.len(), 4, "{out}");
        assert!(lines[0].starts_with(r#"422 Invalid PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch"#), "{out}");
        assert!(lines[1].starts_with(r#"422 Invalid PatchOptions.meta.k8s.io "" is invalid: force: Forbidden: may not be specified for non-apply patch"#), "{out}");
        assert!(lines[2].starts_with("400 BadRequest error decoding YAML"), "{out}");
        assert!(lines[3].starts_with("400 BadRequest"), "{out}");
        // None of them created anything.
        assert!(server.kubectl(&["get", "cm", "c", "-n", "ssa"]).fails().stderr.contains("NotFound"));
    }
}

scenario! {
    /// Client-side `kubectl apply`: create, change, a field dropped from the manifest is pruned from
    /// the object (three-way merge with the last-applied annotation), `--prune -l` deletes labelled
    /// objects no longer in the manifest, and a multi-document manifest with a Namespace, ConfigMap,
    /// Secret, Service and Deployment applies in one go; `kubectl diff` shows what a change would do.
    fn client_side_apply_and_diff(server) covers [KUBECTL_DIFF] {
        let manifest = |image: &str, with_secret: bool, with_annotation: bool| {
            let annotation = if with_annotation { ", annotations: {note: hi}" } else { "" };
            let secret = if with_secret {
                "---\napiVersion: v1\nkind: Secret\nmetadata: {name: creds, namespace: capp, labels: {app: capp}}\nstringData: {password: pw}\n"
            } else {
                ""
            };
            format!(
                "apiVersion: v1\nkind: Namespace\nmetadata: {{name: capp}}\n---\n\
                 apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: cfg, namespace: capp, labels: {{app: capp}}{annotation}}}\ndata: {{k: v}}\n\
                 {secret}---\n\
                 apiVersion: v1\nkind: Service\nmetadata: {{name: svc, namespace: capp, labels: {{app: capp}}}}\nspec: {{selector: {{app: capp}}, ports: [{{port: 80}}]}}\n---\n\
                 apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: web, namespace: capp, labels: {{app: capp}}}}\n\
                 spec: {{replicas: 1, selector: {{matchLabels: {{app: capp}}}}, template: {{metadata: {{labels: {{app: capp}}}}, spec: {{containers: [{{name: app, image: \"{image}\"}}]}}}}}}\n"
            )
        };
        let out = server.kubectl_with_stdin(&["apply", "-f", "-"], Some(manifest("busybox:1", true, true).as_bytes())).ok();
        for line in ["namespace/capp created", "configmap/cfg created", "secret/creds created", "service/svc created", "deployment.apps/web created"] {
            assert!(out.stdout.contains(line), "{out}");
        }
        let cm = server.kubectl(&["get", "cm", "cfg", "-n", "capp", "-o", "json"]).ok().json();
        assert!(cm["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"].is_string());

        // kubectl diff: exit code 1 and the image change in the output.
        let diff = server.kubectl_with_stdin(&["diff", "-f", "-"], Some(manifest("busybox:2", true, true).as_bytes()));
        assert_eq!(diff.code, Some(1), "{diff}");
        assert!(diff.stdout.contains("-      - image: busybox:1") && diff.stdout.contains("+      - image: busybox:2"), "{diff}");

        // Change the image, drop the annotation and the Secret, pruning by label.
        let out = server
            .kubectl_with_stdin(&["apply", "--prune", "-l", "app=capp", "-f", "-"], Some(manifest("busybox:2", false, false).as_bytes()))
            .ok();
        assert!(out.stdout.contains("deployment.apps/web configured"), "{out}");
        assert!(out.stdout.contains("secret/creds pruned"), "{out}");
        let cm = server.kubectl(&["get", "cm", "cfg", "-n", "capp", "-o", "json"]).ok().json();
        assert!(cm["metadata"]["annotations"].get("note").is_none(), "{cm:#}");
        let image = server.kubectl(&["get", "deploy", "web", "-n", "capp", "-o", "jsonpath={.spec.template.spec.containers[0].image}"]).ok();
        assert_eq!(image.stdout, "busybox:2");
        assert!(server.kubectl(&["get", "secret", "creds", "-n", "capp"]).fails().stderr.contains("NotFound"));

        let diff = server.kubectl_with_stdin(&["diff", "-f", "-"], Some(manifest("busybox:2", false, false).as_bytes()));
        assert_eq!(diff.code, Some(0), "{diff}");
    }
}
