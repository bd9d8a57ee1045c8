//! kubectl create, get (every output format, selectors, chunking), replace, delete and dry-run.

use serde_json::{Value, json};
use tugboat_conformance::upstream::*;

use crate::support::{create_manifest, create_namespace, names, replace_manifest, sorted, table};

/// A labelled ConfigMap manifest.
fn configmap(name: &str, labels: Value, data: Value) -> String {
    json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "labels": labels},
        "data": data,
    })
    .to_string()
}

scenario! {
    /// `create namespace`, `create configmap --from-literal`, then `get` in json, yaml, jsonpath,
    /// name and custom-columns.
    fn namespace_and_configmap_outputs(server) covers [] {
        create_namespace(server, "scn");
        let ns = server.kubectl(&["get", "namespace", "scn", "-o", "json"]).ok().json();
        assert_eq!(ns["kind"], "Namespace");
        assert_eq!(ns["metadata"]["name"], "scn");

        server
            .kubectl(&["create", "configmap", "settings", "-n", "scn", "--from-literal=color=blue", "--from-literal=size=10"])
            .ok()
            .stdout_contains("configmap/settings created");

        let cm = server.kubectl(&["get", "configmap", "settings", "-n", "scn", "-o", "json"]).ok().json();
        assert_eq!(cm["apiVersion"], "v1");
        assert_eq!(cm["kind"], "ConfigMap");
        assert_eq!(cm["data"], json!({"color": "blue", "size": "10"}));
        assert_eq!(cm["metadata"]["name"], "settings");
        assert_eq!(cm["metadata"]["namespace"], "scn");
        for field in ["uid", "resourceVersion", "creationTimestamp"] {
            assert!(cm["metadata"][field].as_str().is_some_and(|s| !s.is_empty()), "{field}: {cm:#}");
        }

        let yaml = server.kubectl(&["get", "cm", "settings", "-n", "scn", "-o", "yaml"]).ok();
        let from_yaml: Value = serde_norway::from_str(&yaml.stdout).expect("kubectl printed YAML");
        assert_eq!(from_yaml, cm, "YAML and JSON outputs differ");

        let out = server
            .kubectl(&["get", "cm", "settings", "-n", "scn", "-o", "jsonpath={.data.color}/{.metadata.namespace}"])
            .ok();
        assert_eq!(out.stdout, "blue/scn");

        assert_eq!(names(server, &["get", "cm", "settings", "-n", "scn"]), ["configmap/settings"]);

        let out = server
            .kubectl(&["get", "cm", "settings", "-n", "scn", "-o", "custom-columns=NAME:.metadata.name,COLOR:.data.color,MISSING:.data.nope"])
            .ok();
        assert_eq!(table(&out), [["NAME", "COLOR", "MISSING"], ["settings", "blue", "<none>"]], "{out}");
    }
}

scenario! {
    /// `create secret generic --from-literal` stores base64 data of type Opaque.
    fn secret_generic(server) covers [] {
        create_namespace(server, "scn");
        server
            .kubectl(&["create", "secret", "generic", "creds", "-n", "scn", "--from-literal=user=admin", "--from-literal=pw=s3cr3t"])
            .ok()
            .stdout_contains("secret/creds created");
        let secret = server.kubectl(&["get", "secret", "creds", "-n", "scn", "-o", "json"]).ok().json();
        assert_eq!(secret["kind"], "Secret");
        assert_eq!(secret["data"], json!({"user": "YWRtaW4=", "pw": "czNjcjN0"}));
        let out = server.kubectl(&["get", "secret", "creds", "-n", "scn", "-o", "jsonpath={.data.user}"]).ok();
        assert_eq!(out.stdout, "YWRtaW4=");
    }
}

/// Five labelled ConfigMaps in `scn`: `web-1..3` (app=web, tier a/b/c) and `db-1..2` (app=db).
fn seed_labelled(server: &tugboat_conformance::Server) {
    create_namespace(server, "scn");
    for (name, app, tier) in [
        ("web-1", "web", "a"),
        ("web-2", "web", "b"),
        ("web-3", "web", "c"),
        ("db-1", "db", "a"),
        ("db-2", "db", "b"),
    ] {
        create_manifest(
            server,
            "scn",
            &configmap(name, json!({"app": app, "tier": tier}), json!({"n": name})),
        )
        .ok()
        .stdout_contains(&format!("configmap/{name} created"));
    }
}

scenario! {
    /// `get -l` with equality and set-based selectors, `--field-selector` on metadata.name, both
    /// together, and an unsupported field selector rejected with the fields that are supported.
    fn label_and_field_selectors(server) covers [] {
        seed_labelled(server);
        let get = |extra: &[&str]| {
            let mut args = vec!["get", "cm", "-n", "scn"];
            args.extend_from_slice(extra);
            names(server, &args)
        };
        assert_eq!(get(&["-l", "app=web"]), sorted(&["configmap/web-1", "configmap/web-2", "configmap/web-3"]));
        assert_eq!(get(&["-l", "app!=web,app"]), sorted(&["configmap/db-1", "configmap/db-2"]));
        assert_eq!(get(&["-l", "tier in (a,c)"]), sorted(&["configmap/web-1", "configmap/web-3", "configmap/db-1"]));
        assert_eq!(get(&["-l", "app=web,tier notin (a)"]), sorted(&["configmap/web-2", "configmap/web-3"]));
        assert_eq!(get(&["-l", "!app"]), Vec::<String>::new());
        assert_eq!(get(&["--field-selector", "metadata.name=db-2"]), ["configmap/db-2"]);
        assert_eq!(
            get(&["-l", "app=web", "--field-selector", "metadata.name!=web-2"]),
            sorted(&["configmap/web-1", "configmap/web-3"])
        );
        server
            .kubectl(&["get", "cm", "-n", "scn", "--field-selector", "data.n=web-1"])
            .fails()
            .stderr_contains("\"data.n\" is not a known field selector");
    }
}

scenario! {
    /// `--chunk-size=2` over five objects pages with limit and continue, and prints all five once.
    fn chunked_list(server) covers [] {
        seed_labelled(server);
        let out = server
            .kubectl(&["get", "cm", "-n", "scn", "-l", "app", "--chunk-size=2", "-o", "name", "-v=6"])
            .ok();
        let requests: Vec<&str> = out
            .stderr
            .lines()
            .filter(|l| l.contains("/api/v1/namespaces/scn/configmaps?"))
            .collect();
        assert_eq!(requests.len(), 3, "expected 3 pages:\n{out}");
        assert!(requests.iter().all(|r| r.contains("limit=2")), "{out}");
        assert_eq!(requests.iter().filter(|r| r.contains("continue=")).count(), 2, "{out}");
        assert_eq!(
            out.lines(),
            ["configmap/db-1", "configmap/db-2", "configmap/web-1", "configmap/web-2", "configmap/web-3"],
            "{out}"
        );
    }
}

scenario! {
    /// `get -A` lists across namespaces with a NAMESPACE column; `--show-labels` adds LABELS.
    fn all_namespaces_and_show_labels(server) covers [] {
        create_namespace(server, "left");
        create_namespace(server, "right");
        create_manifest(server, "left", &configmap("one", json!({"scn": "all", "b": "2", "a": "1"}), json!({}))).ok();
        create_manifest(server, "right", &configmap("two", json!({"scn": "all"}), json!({}))).ok();

        let out = server.kubectl(&["get", "cm", "-A", "-l", "scn=all"]).ok();
        let rows = table(&out);
        assert_eq!(rows[0][..2], ["NAMESPACE", "NAME"], "{out}");
        let found: Vec<(&str, &str)> = rows[1..].iter().map(|r| (r[0].as_str(), r[1].as_str())).collect();
        assert_eq!(found, [("left", "one"), ("right", "two")], "{out}");

        let out = server.kubectl(&["get", "cm", "one", "-n", "left", "--show-labels"]).ok();
        let rows = table(&out);
        assert_eq!(rows[0].first().map(String::as_str), Some("NAME"), "{out}");
        assert_eq!(rows[0].last().map(String::as_str), Some("LABELS"), "{out}");
        assert_eq!(rows[1].last().map(String::as_str), Some("a=1,b=2,scn=all"), "{out}");
    }
}

scenario! {
    /// `delete` by name, by label selector and with `--all` removes exactly what it says; deleting a
    /// missing object is NotFound.
    fn delete_by_name_label_and_all(server) covers [] {
        seed_labelled(server);
        server
            .kubectl(&["delete", "cm", "web-1", "-n", "scn"])
            .ok()
            .stdout_contains("configmap \"web-1\" deleted");
        assert_eq!(
            names(server, &["get", "cm", "-n", "scn", "-l", "app"]),
            sorted(&["configmap/web-2", "configmap/web-3", "configmap/db-1", "configmap/db-2"])
        );
        server
            .kubectl(&["delete", "cm", "web-1", "-n", "scn"])
            .fails()
            .stderr_contains("Error from server (NotFound): configmaps \"web-1\" not found");
        let out = server.kubectl(&["delete", "cm", "-n", "scn", "-l", "app=db"]).ok();
        assert_eq!(out.lines().len(), 2, "{out}");
        assert_eq!(
            names(server, &["get", "cm", "-n", "scn", "-l", "app"]),
            sorted(&["configmap/web-2", "configmap/web-3"])
        );
        server.kubectl(&["delete", "cm", "-n", "scn", "--all"]).ok();
        assert_eq!(names(server, &["get", "cm", "-n", "scn", "-l", "app"]), Vec::<String>::new());
        server
            .kubectl(&["get", "cm", "-n", "scn", "-l", "app"])
            .ok()
            .stderr_contains("No resources found in scn namespace.");
    }
}

scenario! {
    /// `replace -f` updates a ConfigMap's data and bumps its resourceVersion; replacing with a stale
    /// resourceVersion is a Conflict and changes nothing.
    fn replace_configmap(server) covers [CONFIGMAP_UPDATE] {
        create_namespace(server, "scn");
        server.kubectl(&["create", "cm", "cfg", "-n", "scn", "--from-literal=k=v1"]).ok();
        let mut cm = server.kubectl(&["get", "cm", "cfg", "-n", "scn", "-o", "json"]).ok().json();
        let old_rv = cm["metadata"]["resourceVersion"].as_str().unwrap().to_owned();
        cm["data"]["k"] = json!("v2");
        replace_manifest(server, &cm.to_string()).ok().stdout_contains("configmap/cfg replaced");
        let now = server.kubectl(&["get", "cm", "cfg", "-n", "scn", "-o", "json"]).ok().json();
        assert_eq!(now["data"], json!({"k": "v2"}));
        assert_ne!(now["metadata"]["resourceVersion"], old_rv.as_str());
        assert_eq!(now["metadata"]["uid"], cm["metadata"]["uid"]);

        cm["data"]["k"] = json!("stale");
        replace_manifest(server, &cm.to_string()).fails().stderr_contains(
            "Operation cannot be fulfilled on configmaps \"cfg\": the object has been modified; \
             please apply your changes to the latest version and try again",
        );
        let after = server.kubectl(&["get", "cm", "cfg", "-n", "scn", "-o", "json"]).ok().json();
        assert_eq!(after, now);
    }
}

scenario! {
    /// A PodTemplate is created, then replaced with a new annotation that reads back.
    fn replace_pod_template(server) covers [PODTEMPLATE_REPLACE] {
        create_namespace(server, "scn");
        let template = json!({
            "apiVersion": "v1",
            "kind": "PodTemplate",
            "metadata": {"name": "tmpl"},
            "template": {"spec": {"containers": [{"name": "c", "image": "registry.k8s.io/pause:3.10"}]}},
        });
        create_manifest(server, "scn", &template.to_string()).ok().stdout_contains("podtemplate/tmpl created");
        let mut got = server.kubectl(&["get", "podtemplate", "tmpl", "-n", "scn", "-o", "json"]).ok().json();
        got["metadata"]["annotations"] = json!({"updated": "true"});
        replace_manifest(server, &got.to_string()).ok().stdout_contains("podtemplate/tmpl replaced");
        let out = server
            .kubectl(&["get", "podtemplate", "tmpl", "-n", "scn", "-o", "jsonpath={.metadata.annotations.updated}"])
            .ok();
        assert_eq!(out.stdout, "true");
    }
}

scenario! {
    /// A Namespace is updated with a new label that reads back.
    fn update_namespace(server) covers [NAMESPACE_UPDATE] {
        create_namespace(server, "scn");
        let mut ns = server.kubectl(&["get", "ns", "scn", "-o", "json"]).ok().json();
        ns["metadata"]["labels"]["e2e"] = json!("updated");
        replace_manifest(server, &ns.to_string()).ok().stdout_contains("namespace/scn replaced");
        let labels = server.kubectl(&["get", "ns", "scn", "-o", "json"]).ok().json()["metadata"]["labels"].clone();
        assert_eq!(labels["e2e"], "updated", "{labels:#}");
    }
}

scenario! {
    /// A ResourceQuota for CPU and memory is created, updated with new limits that read back, and
    /// deleted.
    fn update_resource_quota(server) covers [RESOURCE_QUOTA_UPDATE_DELETE] {
        create_namespace(server, "scn");
        let quota = json!({
            "apiVersion": "v1",
            "kind": "ResourceQuota",
            "metadata": {"name": "quota"},
            "spec": {"hard": {"cpu": "1", "memory": "500Mi"}},
        });
        create_manifest(server, "scn", &quota.to_string()).ok();
        let mut got = server.kubectl(&["get", "quota", "quota", "-n", "scn", "-o", "json"]).ok().json();
        assert_eq!(got["spec"]["hard"], json!({"cpu": "1", "memory": "500Mi"}));
        got["spec"]["hard"] = json!({"cpu": "2", "memory": "1Gi"});
        replace_manifest(server, &got.to_string()).ok();
        let now = server.kubectl(&["get", "quota", "quota", "-n", "scn", "-o", "json"]).ok().json();
        assert_eq!(now["spec"]["hard"], json!({"cpu": "2", "memory": "1Gi"}));
        server.kubectl(&["delete", "quota", "quota", "-n", "scn"]).ok();
        server
            .kubectl(&["get", "quota", "quota", "-n", "scn"])
            .fails()
            .stderr_contains("resourcequotas \"quota\" not found");
    }
}

scenario! {
    /// A ServiceAccount is created, updated to automount its token, and the field reads back.
    fn update_service_account(server) covers [SERVICE_ACCOUNT_UPDATE] {
        create_namespace(server, "scn");
        server.kubectl(&["create", "serviceaccount", "robot", "-n", "scn"]).ok();
        let mut sa = server.kubectl(&["get", "sa", "robot", "-n", "scn", "-o", "json"]).ok().json();
        sa["automountServiceAccountToken"] = json!(true);
        replace_manifest(server, &sa.to_string()).ok();
        let out = server
            .kubectl(&["get", "sa", "robot", "-n", "scn", "-o", "jsonpath={.automountServiceAccountToken}"])
            .ok();
        assert_eq!(out.stdout, "true");
    }
}

scenario! {
    /// `--dry-run=server` answers as if it wrote, and persists nothing (create, replace, delete).
    fn dry_run_server(server) covers [] {
        create_namespace(server, "scn");
        let out = server
            .kubectl(&["create", "cm", "dry", "-n", "scn", "--from-literal=a=b", "--dry-run=server", "-o", "json"])
            .ok();
        let answered = out.json();
        assert_eq!(answered["metadata"]["name"], "dry");
        assert_eq!(answered["data"], json!({"a": "b"}));
        server
            .kubectl(&["get", "cm", "dry", "-n", "scn"])
            .fails()
            .stderr_contains("configmaps \"dry\" not found");

        server.kubectl(&["create", "cm", "real", "-n", "scn", "--from-literal=a=b"]).ok();
        let before = server.kubectl(&["get", "cm", "real", "-n", "scn", "-o", "json"]).ok().json();
        let mut changed = before.clone();
        changed["data"]["a"] = json!("changed");
        server
            .kubectl_with_stdin(&["replace", "--dry-run=server", "-f", "-"], Some(changed.to_string().as_bytes()))
            .ok()
            .stdout_contains("configmap/real replaced (server dry run)");
        server
            .kubectl(&["delete", "cm", "real", "-n", "scn", "--dry-run=server"])
            .ok()
            .stdout_contains("configmap \"real\" deleted from scn namespace (server dry run)");
        let after = server.kubectl(&["get", "cm", "real", "-n", "scn", "-o", "json"]).ok().json();
        assert_eq!(after, before);
    }
}

scenario! {
    /// `get --raw` returns the List document as the API serves it.
    fn get_raw_list(server) covers [] {
        server.kubectl(&["create", "cm", "raw-check", "-n", "default", "--from-literal=a=b"]).ok();
        let list = server.kubectl(&["get", "--raw", "/api/v1/namespaces/default/configmaps"]).ok().json();
        assert_eq!(list["kind"], "ConfigMapList");
        assert_eq!(list["apiVersion"], "v1");
        assert!(list["metadata"]["resourceVersion"].as_str().is_some_and(|rv| !rv.is_empty()), "{list:#}");
        let items = list["items"].as_array().expect("items");
        let ours = items.iter().find(|i| i["metadata"]["name"] == "raw-check").expect("raw-check listed");
        assert_eq!(ours["data"], json!({"a": "b"}));
        assert_eq!(ours["metadata"]["namespace"], "default");
    }
}

scenario! {
    /// The `kubernetes` Service exists in `default` (port 443, https) and shows up when listing
    /// Services in all namespaces.
    fn kubernetes_service(server) covers [SECURE_MASTER_SERVICE, SERVICES_LIST_ALL_NAMESPACES] {
        let svc = server.kubectl(&["get", "service", "kubernetes", "-n", "default", "-o", "json"]).ok().json();
        assert_eq!(svc["spec"]["ports"][0]["port"], 443, "{svc:#}");
        assert_eq!(svc["spec"]["ports"][0]["name"], "https", "{svc:#}");
        let all = server.kubectl(&["get", "services", "-A", "-o", "json"]).ok().json();
        assert!(
            all["items"].as_array().unwrap().iter().any(|s| {
                s["metadata"]["name"] == "kubernetes" && s["metadata"]["namespace"] == "default"
            }),
            "{all:#}"
        );
    }
}

scenario! {
    /// `kubectl get` prints each kind's own columns (upstream's printers), not the default NAME and
    /// CREATED AT.
    fn per_kind_table_columns(server) covers [] {
        create_namespace(server, "scn");
        server.kubectl(&["create", "cm", "cfg", "-n", "scn", "--from-literal=a=b", "--from-literal=c=d"]).ok();
        server.kubectl(&["create", "secret", "generic", "s", "-n", "scn", "--from-literal=a=b"]).ok();
        let out = server.kubectl(&["get", "cm", "cfg", "-n", "scn"]).ok();
        let rows = table(&out);
        assert_eq!(rows[0], ["NAME", "DATA", "AGE"], "{out}");
        assert_eq!(rows[1][..2], ["cfg", "2"], "{out}");
        let out = server.kubectl(&["get", "secret", "s", "-n", "scn"]).ok();
        let rows = table(&out);
        assert_eq!(rows[0], ["NAME", "TYPE", "DATA", "AGE"], "{out}");
        assert_eq!(rows[1][..3], ["s", "Opaque", "1"], "{out}");
        let out = server.kubectl(&["get", "ns", "scn"]).ok();
        let rows = table(&out);
        assert_eq!(rows[0], ["NAME", "STATUS", "AGE"], "{out}");
        assert_eq!(rows[1][..2], ["scn", "Active"], "{out}");
    }
}

scenario! {
    /// `create -f` and `replace -f` of files with kubectl's default validation, which reads the
    /// OpenAPI document to learn whether the server validates fields itself.
    fn create_with_client_validation(server) covers [] {
        create_namespace(server, "scn");
        let manifest = server.write_file(
            "cm.yaml",
            b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-file\n  namespace: scn\ndata:\n  a: b\n",
        );
        let path = manifest.to_str().unwrap();
        server.kubectl(&["create", "-f", path]).ok().stdout_contains("configmap/from-file created");
        let mut cm = server.kubectl(&["get", "cm", "from-file", "-n", "scn", "-o", "json"]).ok().json();
        cm["data"]["a"] = json!("c");
        let edited = server.write_file("cm.json", cm.to_string().as_bytes());
        server
            .kubectl(&["replace", "-f", edited.to_str().unwrap()])
            .ok()
            .stdout_contains("configmap/from-file replaced");
    }
}

scenario! {
    /// `label`, `annotate` and `apply` (client-side, then again with a change) on a ConfigMap.
    fn label_annotate_apply(server) covers [] {
        create_namespace(server, "scn");
        server.kubectl(&["create", "cm", "cfg", "-n", "scn", "--from-literal=a=b"]).ok();
        server.kubectl(&["label", "cm", "cfg", "-n", "scn", "team=blue"]).ok().stdout_contains("configmap/cfg labeled");
        server
            .kubectl(&["annotate", "cm", "cfg", "-n", "scn", "note=hello"])
            .ok()
            .stdout_contains("configmap/cfg annotated");
        let cm = server.kubectl(&["get", "cm", "cfg", "-n", "scn", "-o", "json"]).ok().json();
        assert_eq!(cm["metadata"]["labels"]["team"], "blue");
        assert_eq!(cm["metadata"]["annotations"]["note"], "hello");

        let applied = |value: &str| {
            configmap("applied", json!({"via": "apply"}), json!({"k": value}))
        };
        server
            .kubectl_with_stdin(&["apply", "-n", "scn", "-f", "-"], Some(applied("1").as_bytes()))
            .ok()
            .stdout_contains("configmap/applied created");
        server
            .kubectl_with_stdin(&["apply", "-n", "scn", "-f", "-"], Some(applied("2").as_bytes()))
            .ok()
            .stdout_contains("configmap/applied configured");
        let out = server.kubectl(&["get", "cm", "applied", "-n", "scn", "-o", "jsonpath={.data.k}"]).ok();
        assert_eq!(out.stdout, "2");
    }
}

scenario! {
    /// Per-kind defaults on create: a Namespace gets the `kubernetes.io/metadata.name` label and
    /// phase Active (shown by `--show-labels` and the STATUS column); a Secret gets type Opaque.
    fn per_kind_defaults(server) covers [] {
        create_namespace(server, "scn");
        let ns = server.kubectl(&["get", "ns", "scn", "-o", "json"]).ok().json();
        assert_eq!(ns["metadata"]["labels"]["kubernetes.io/metadata.name"], "scn", "{ns:#}");
        assert_eq!(ns["status"]["phase"], "Active", "{ns:#}");
        let out = server.kubectl(&["get", "namespaces", "scn", "--show-labels"]).ok();
        let rows = table(&out);
        assert_eq!(rows[1][..2], ["scn", "Active"], "{out}");
        assert_eq!(rows[1].last().map(String::as_str), Some("kubernetes.io/metadata.name=scn"), "{out}");
        server.kubectl(&["create", "secret", "generic", "creds", "-n", "scn", "--from-literal=a=b"]).ok();
        let out = server.kubectl(&["get", "secret", "creds", "-n", "scn", "-o", "jsonpath={.type}"]).ok();
        assert_eq!(out.stdout, "Opaque");
    }
}

scenario! {
    /// Pods are deleted gracefully: a pod bound to a node gets a deletion timestamp its grace
    /// period ahead and stays (the kubelet finishes the job), a second delete may only shorten
    /// the period, and `--grace-period=0 --force` removes it; an unscheduled pod goes at once.
    fn pod_graceful_deletion(server) covers [] {
        create_namespace(server, "gd");
        let pod = |name: &str, node: &str| {
            format!(
                "{{apiVersion: v1, kind: Pod, metadata: {{name: {name}}}, spec: {{{node}terminationGracePeriodSeconds: 45, containers: [{{name: c, image: busybox}}]}}}}"
            )
        };
        create_manifest(server, "gd", &pod("bound", "nodeName: node-a, ")).ok();
        create_manifest(server, "gd", &pod("floating", "")).ok();

        server.kubectl(&["delete", "pod", "floating", "-n", "gd"]).ok().stdout_contains("pod \"floating\" deleted");
        assert_eq!(names(server, &["get", "pods", "-n", "gd", "-o", "name"]), ["pod/bound"]);

        server.kubectl(&["delete", "pod", "bound", "-n", "gd", "--wait=false"]).ok();
        let marked = server.kubectl(&["get", "pod", "bound", "-n", "gd", "-o", "json"]).ok().json();
        assert_eq!(marked["metadata"]["deletionGracePeriodSeconds"], 45, "{marked:#}");
        let first_deadline = marked["metadata"]["deletionTimestamp"].as_str().unwrap().to_owned();
        // A longer grace period changes nothing; a shorter one moves the deadline earlier.
        server.kubectl(&["delete", "pod", "bound", "-n", "gd", "--wait=false", "--grace-period=100"]).ok();
        let same = server.kubectl(&["get", "pod", "bound", "-n", "gd", "-o", "json"]).ok().json();
        assert_eq!(same["metadata"]["deletionTimestamp"], first_deadline.as_str());
        assert_eq!(same["metadata"]["resourceVersion"], marked["metadata"]["resourceVersion"]);
        server.kubectl(&["delete", "pod", "bound", "-n", "gd", "--wait=false", "--grace-period=5"]).ok();
        let shorter = server.kubectl(&["get", "pod", "bound", "-n", "gd", "-o", "json"]).ok().json();
        assert_eq!(shorter["metadata"]["deletionGracePeriodSeconds"], 5, "{shorter:#}");
        assert!(shorter["metadata"]["deletionTimestamp"].as_str().unwrap() < first_deadline.as_str());
        // `kubectl get` shows it terminating.
        let out = server.kubectl(&["get", "pod", "bound", "-n", "gd"]).ok();
        assert_eq!(table(&out)[1][2], "Terminating", "{out}");

        server.kubectl(&["delete", "pod", "bound", "-n", "gd", "--grace-period=0", "--force"]).ok();
        assert!(names(server, &["get", "pods", "-n", "gd", "-o", "name"]).is_empty());
    }
}

scenario! {
    /// `propagationPolicy` is recorded for the garbage collector as upstream records it: Orphan and
    /// Foreground add the `orphan` / `foregroundDeletion` finalizer and mark the object; Background
    /// (kubectl's default) deletes at once; a bad policy is a 422 that changes nothing.
    fn propagation_policy_recorded(server) covers [] {
        create_namespace(server, "pp");
        for name in ["orphaned", "foreground", "background"] {
            server.kubectl(&["create", "configmap", name, "-n", "pp"]).ok();
        }
        server.kubectl(&["delete", "cm", "orphaned", "-n", "pp", "--cascade=orphan", "--wait=false"]).ok();
        server.kubectl(&["delete", "cm", "foreground", "-n", "pp", "--cascade=foreground", "--wait=false"]).ok();
        server.kubectl(&["delete", "cm", "background", "-n", "pp"]).ok();
        let list = server.kubectl(&["get", "cm", "-n", "pp", "-o", "json"]).ok().json();
        let by_name = |name: &str| {
            list["items"].as_array().unwrap().iter().find(|i| i["metadata"]["name"] == name).cloned()
        };
        let orphaned = by_name("orphaned").expect("the orphaned configmap stays until the GC acts");
        assert_eq!(orphaned["metadata"]["finalizers"], json!(["orphan"]), "{orphaned:#}");
        assert!(orphaned["metadata"]["deletionTimestamp"].is_string());
        let foreground = by_name("foreground").expect("foreground");
        assert_eq!(foreground["metadata"]["finalizers"], json!(["foregroundDeletion"]));
        assert!(by_name("background").is_none(), "{list:#}");

        let bad = server.python(
            r#"
from kubernetes import client
try:
    client.CoreV1Api().delete_namespaced_config_map("orphaned", "pp", propagation_policy="Sideways")
except client.ApiException as e:
    print(e.status, e.reason)
    print(e.body)
"#,
        );
        assert!(bad.stdout.starts_with("422"), "{bad}");
        assert!(bad.stdout.contains(r#"propagationPolicy: Unsupported value: \"Sideways\""#), "{bad}");
    }
}
