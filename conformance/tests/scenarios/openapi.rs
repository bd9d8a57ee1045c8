//! The OpenAPI documents' structural extensions (`x-kubernetes-patch-strategy`,
//! `x-kubernetes-patch-merge-key`, `x-kubernetes-list-type`, ...) as kubectl fetches them, and the
//! client-side `kubectl apply` that computes its strategic merge patches from them.

use serde_json::{Value, json};

use crate::support::create_namespace;

/// Property `name` of definition `definition` in `definitions`.
#[track_caller]
fn property<'a>(definitions: &'a Value, definition: &str, name: &str) -> &'a Value {
    let property = &definitions[definition]["properties"][name];
    assert!(property.is_object(), "no {definition}.{name}");
    property
}

scenario! {
    /// `kubectl get --raw` of `/openapi/v2` and `/openapi/v3/apis/apps/v1`: patch strategies, merge
    /// keys, list types and map keys on properties, `x-kubernetes-map-type: atomic` on atomic
    /// structs, `$ref` beside its extensions in v2 and inside `allOf` in v3, as upstream publishes
    /// them.
    fn structural_extensions(server) covers [] {
        let v2 = server.kubectl(&["get", "--raw", "/openapi/v2"]).ok().json();
        let v3 = server.kubectl(&["get", "--raw", "/openapi/v3/apis/apps/v1"]).ok().json();
        for (version, definitions) in [("v2", &v2["definitions"]), ("v3", &v3["components"]["schemas"])] {
            let containers = property(definitions, "io.k8s.api.core.v1.PodSpec", "containers");
            assert_eq!(containers["x-kubernetes-patch-strategy"], "merge", "{version}: {containers:#}");
            assert_eq!(containers["x-kubernetes-patch-merge-key"], "name", "{version}: {containers:#}");
            assert_eq!(containers["x-kubernetes-list-type"], "map", "{version}: {containers:#}");
            assert_eq!(containers["x-kubernetes-list-map-keys"], json!(["name"]), "{version}: {containers:#}");

            let ports = property(definitions, "io.k8s.api.core.v1.Container", "ports");
            assert_eq!(ports["x-kubernetes-patch-merge-key"], "containerPort", "{version}: {ports:#}");
            assert_eq!(ports["x-kubernetes-list-map-keys"], json!(["containerPort", "protocol"]), "{version}: {ports:#}");

            let volumes = property(definitions, "io.k8s.api.core.v1.PodSpec", "volumes");
            assert_eq!(volumes["x-kubernetes-patch-strategy"], "merge,retainKeys", "{version}: {volumes:#}");

            let tolerations = property(definitions, "io.k8s.api.core.v1.PodSpec", "tolerations");
            assert_eq!(tolerations["x-kubernetes-list-type"], "atomic", "{version}: {tolerations:#}");
            assert!(tolerations.get("x-kubernetes-patch-strategy").is_none(), "{version}: {tolerations:#}");

            let finalizers = property(definitions, "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", "finalizers");
            assert_eq!(finalizers["x-kubernetes-list-type"], "set", "{version}: {finalizers:#}");
            assert_eq!(finalizers["x-kubernetes-patch-strategy"], "merge", "{version}: {finalizers:#}");

            let selector = &definitions["io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector"];
            assert_eq!(selector["x-kubernetes-map-type"], "atomic", "{version}");

            let strategy = property(definitions, "io.k8s.api.apps.v1.DeploymentSpec", "strategy");
            assert_eq!(strategy["x-kubernetes-patch-strategy"], "retainKeys", "{version}: {strategy:#}");
        }
        let strategy = property(&v2["definitions"], "io.k8s.api.apps.v1.DeploymentSpec", "strategy");
        assert_eq!(strategy["$ref"], "#/definitions/io.k8s.api.apps.v1.DeploymentStrategy", "{strategy:#}");
        let strategy = property(&v3["components"]["schemas"], "io.k8s.api.apps.v1.DeploymentSpec", "strategy");
        assert_eq!(
            strategy["allOf"],
            json!([{ "$ref": "#/components/schemas/io.k8s.api.apps.v1.DeploymentStrategy" }]),
            "{strategy:#}"
        );
    }
}

/// A Deployment of the given containers (`(name, image)`), as a manifest for `kubectl apply`.
fn deployment(containers: &[(&str, &str)]) -> String {
    let containers: Vec<Value> = containers
        .iter()
        .map(|(name, image)| json!({ "name": name, "image": image }))
        .collect();
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": { "name": "web", "labels": { "app": "web" } },
        "spec": {
            "replicas": 1,
            "selector": { "matchLabels": { "app": "web" } },
            "template": {
                "metadata": { "labels": { "app": "web" } },
                "spec": { "containers": containers },
            },
        },
    })
    .to_string()
}

/// `kubectl apply -n oa -f <file>` (client-side).
fn apply(
    server: &tugboat_conformance::Server,
    file: &std::path::Path,
) -> tugboat_conformance::Output {
    let file = file.to_string_lossy();
    server.kubectl(&["apply", "-n", "oa", "-f", file.as_ref()])
}

scenario! {
    /// Client-side `kubectl apply -f`, again with one container's image changed and a container
    /// added, then with that container removed. kubectl reads `containers`' merge key from
    /// `/openapi/v3` and sends strategic merge patches that merge containers by name: what others
    /// changed in between (an env var on the applied container, a container injected by another
    /// client) survives, the order follows `$setElementOrder`, and a container dropped from the
    /// configuration is deleted (`$patch: delete`). Without the extensions kubectl sends whole lists,
    /// which the server merges by name: the dropped container would stay.
    fn client_side_apply_merges_by_name(server) covers [] {
        create_namespace(server, "oa");
        let first = server.write_file("web-1.json", deployment(&[("app", "registry.k8s.io/pause:3.10")]).as_bytes());
        apply(server, &first).ok().stdout_contains("deployment.apps/web created");

        // Changes made by others, not in the applied configuration.
        server.kubectl(&["set", "env", "deploy/web", "-n", "oa", "-c", "app", "FROM_OTHERS=1"]).ok();
        server
            .kubectl(&["patch", "deploy", "web", "-n", "oa", "-p",
                r#"{"spec":{"template":{"spec":{"containers":[{"name":"injected","image":"busybox"}]}}}}"#])
            .ok();

        let second = server.write_file(
            "web-2.json",
            deployment(&[("app", "registry.k8s.io/pause:3.9"), ("sidecar", "busybox:1.36")]).as_bytes(),
        );
        let applied = apply(server, &second).ok().stdout_contains("deployment.apps/web configured");
        // kubectl prints this when it cannot use the v3 document and falls back to other sources.
        assert!(!applied.stderr.contains("error calculating patch from openapi"), "{applied}");
        // Upstream's order: a patch's new elements come before the live ones (`injected`), and
        // `$setElementOrder` keeps the live order of the elements the server alone knows.
        let deploy = get_deployment(server);
        assert_eq!(
            containers(&deploy),
            [("injected", "busybox"), ("app", "registry.k8s.io/pause:3.9"), ("sidecar", "busybox:1.36")],
            "{deploy:#}"
        );
        let app = &deploy["spec"]["template"]["spec"]["containers"][1];
        assert_eq!(app["env"], json!([{ "name": "FROM_OTHERS", "value": "1" }]), "{deploy:#}");

        // Dropping the sidecar from the configuration deletes it; the injected container stays.
        let third = server.write_file("web-3.json", deployment(&[("app", "registry.k8s.io/pause:3.9")]).as_bytes());
        apply(server, &third).ok().stdout_contains("deployment.apps/web configured");
        let deploy = get_deployment(server);
        assert_eq!(
            containers(&deploy),
            [("injected", "busybox"), ("app", "registry.k8s.io/pause:3.9")],
            "{deploy:#}"
        );

        // Applying the same file again changes nothing. (kubectl still says "configured": the live
        // list differs from the configuration, so its patch carries `$setElementOrder`, which the
        // server finds to change nothing and writes no new revision.)
        apply(server, &third).ok().stdout_contains("deployment.apps/web configured");
        assert_eq!(get_deployment(server)["metadata"]["resourceVersion"], deploy["metadata"]["resourceVersion"]);
    }
}

fn get_deployment(server: &tugboat_conformance::Server) -> Value {
    server
        .kubectl(&["get", "deploy", "web", "-n", "oa", "-o", "json"])
        .ok()
        .json()
}

/// (name, image) of each container, in order.
fn containers(deploy: &Value) -> Vec<(&str, &str)> {
    deploy["spec"]["template"]["spec"]["containers"]
        .as_array()
        .map(|cs| {
            cs.iter()
                .map(|c| {
                    (
                        c["name"].as_str().unwrap_or(""),
                        c["image"].as_str().unwrap_or(""),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}
