//! Bad input: each request is refused with upstream's Status (code, reason, message) and nothing
//! is written.

use serde_json::{Value, json};
use tugboat_conformance::{Server, upstream::*};

use crate::support::{create_manifest, create_namespace, names};

const CONFIGMAPS: &str = "/api/v1/namespaces/scn/configmaps";

/// A namespace `scn` holding one ConfigMap `keep`; returns what `get cm -o name` lists.
fn seed(server: &Server) -> Vec<String> {
    create_namespace(server, "scn");
    server
        .kubectl(&["create", "cm", "keep", "-n", "scn", "--from-literal=a=b"])
        .ok();
    let listed = names(server, &["get", "cm", "-n", "scn"]);
    assert_eq!(listed, ["configmap/keep"]);
    listed
}

/// POST `body` to `path` with `kubectl create --raw`.
fn post_raw(server: &Server, path: &str, body: &[u8]) -> tugboat_conformance::Output {
    let file = server.write_file("body", body);
    server.kubectl(&["create", "--raw", path, "-f", file.to_str().unwrap()])
}

/// POST `body` to `path` with the Python client; returns `{"status", "body"}` of the answer.
fn post_python(server: &Server, path: &str, body: &Value) -> Value {
    server.python_json(&format!(
        r#"
status, _, body = raw("POST", {path:?}, body=json.loads({body:?}))
print(json.dumps({{"status": status, "body": body}}))
"#,
        path = path,
        body = body.to_string(),
    ))
}

scenario! {
    /// A truncated JSON body is a 400 BadRequest.
    fn malformed_json(server) covers [] {
        let before = seed(server);
        post_raw(server, CONFIGMAPS, br#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"bad""#)
            .fails()
            .stderr_contains("Error from server (BadRequest)");
        assert_eq!(names(server, &["get", "cm", "-n", "scn"]), before);
    }
}

scenario! {
    /// A Secret posted to the configmaps URL is a 400 BadRequest naming both kinds.
    fn wrong_kind_for_url(server) covers [] {
        let before = seed(server);
        let out = post_raw(server, CONFIGMAPS, br#"{"apiVersion":"v1","kind":"Secret","metadata":{"name":"wrong"}}"#)
            .fails()
            .stderr_contains("Error from server (BadRequest)");
        assert!(out.stderr.contains("Secret") && out.stderr.contains("ConfigMap"), "{out}");
        assert_eq!(names(server, &["get", "cm", "-n", "scn"]), before);
        assert_eq!(names(server, &["get", "secrets", "-n", "scn"]), Vec::<String>::new());
    }
}

scenario! {
    /// An invalid name is a 422 Invalid with upstream's message and a cause on metadata.name.
    fn invalid_name(server) covers [] {
        let before = seed(server);
        server
            .kubectl(&["create", "cm", "Bad_Name", "-n", "scn", "--from-literal=a=b"])
            .fails()
            .stderr_contains(
                "ConfigMap \"Bad_Name\" is invalid: metadata.name: Invalid value: \"Bad_Name\": a lowercase \
                 RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must \
                 start and end with an alphanumeric character",
            );
        let answer = post_python(
            server,
            CONFIGMAPS,
            &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "Bad_Name"}}),
        );
        assert_eq!(answer["status"], 422, "{answer:#}");
        let status = &answer["body"];
        assert_eq!(status["kind"], "Status");
        assert_eq!(status["status"], "Failure");
        assert_eq!(status["reason"], "Invalid");
        assert_eq!(status["code"], 422);
        assert_eq!(status["details"]["name"], "Bad_Name");
        assert_eq!(status["details"]["kind"], "ConfigMap");
        assert_eq!(status["details"]["causes"][0]["field"], "metadata.name", "{status:#}");
        assert_eq!(status["details"]["causes"][0]["reason"], "FieldValueInvalid", "{status:#}");
        assert_eq!(names(server, &["get", "cm", "-n", "scn"]), before);
    }
}

scenario! {
    /// Creating in a namespace that does not exist is NotFound on the namespace.
    fn missing_namespace(server) covers [] {
        server
            .kubectl(&["create", "cm", "x", "-n", "nowhere", "--from-literal=a=b"])
            .fails()
            .stderr_contains("namespaces \"nowhere\" not found");
        assert_eq!(names(server, &["get", "cm", "-A", "--field-selector", "metadata.name=x"]), Vec::<String>::new());
    }
}

scenario! {
    /// `fieldValidation=Strict` refuses an unknown field (top level, and in a Deployment's metadata);
    /// `Warn` creates the object and warns; `Ignore` creates it silently.
    fn unknown_field_server_validation(server) covers [FIELD_VALIDATION_TYPED_METADATA] {
        let before = seed(server);
        let unknown = br#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"unk"},"bogus":1,"data":{"a":"b"}}"#;
        post_raw(server, &format!("{CONFIGMAPS}?fieldValidation=Strict"), unknown)
            .fails()
            .stderr_contains("Error from server (BadRequest)")
            .stderr_contains("strict decoding error: unknown field \"bogus\"");
        assert_eq!(names(server, &["get", "cm", "-n", "scn"]), before);

        let deployment = json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "deploy", "unknownMeta": "foo", "labels": {"app": "x"}},
            "spec": {
                "selector": {"matchLabels": {"app": "x"}},
                "template": {
                    "metadata": {"labels": {"app": "x"}},
                    "spec": {"containers": [{"name": "c", "image": "registry.k8s.io/pause:3.10"}]},
                },
            },
        });
        let answer = post_python(server, "/apis/apps/v1/namespaces/scn/deployments?fieldValidation=Strict", &deployment);
        assert_eq!(answer["status"], 400, "{answer:#}");
        let message = answer["body"]["message"].as_str().unwrap_or_default();
        assert!(message.contains("unknown field \"metadata.unknownMeta\""), "{answer:#}");
        assert_eq!(names(server, &["get", "deployments", "-n", "scn"]), Vec::<String>::new());

        post_raw(server, &format!("{CONFIGMAPS}?fieldValidation=Warn"), unknown)
            .ok()
            .stderr_contains("Warning: unknown field \"bogus\"");
        let ignored = unknown.as_slice().to_vec();
        let ignored = String::from_utf8(ignored).unwrap().replace("\"unk\"", "\"unk2\"");
        let out = post_raw(server, &format!("{CONFIGMAPS}?fieldValidation=Ignore"), ignored.as_bytes()).ok();
        assert!(!out.stderr.contains("Warning"), "{out}");
        let stored = server.kubectl(&["get", "cm", "unk", "-n", "scn", "-o", "json"]).ok().json();
        assert!(stored.get("bogus").is_none(), "{stored:#}");
    }
}

scenario! {
    /// `kubectl create --validate=strict` refuses a manifest with an unknown field.
    fn unknown_field_kubectl_strict(server) covers [] {
        let before = seed(server);
        let manifest = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: unk\nbogus: 1\ndata:\n  a: b\n";
        server
            .kubectl_with_stdin(&["create", "-n", "scn", "--validate=strict", "-f", "-"], Some(manifest.as_bytes()))
            .fails()
            .stderr_contains("unknown field \"bogus\"");
        assert_eq!(names(server, &["get", "cm", "-n", "scn"]), before);
    }
}

scenario! {
    /// `fieldValidation=Strict` reports unknown and duplicate fields of a Deployment together.
    fn duplicate_fields(server) covers [FIELD_VALIDATION_TYPED] {
        create_namespace(server, "scn");
        let body = br#"{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"dup","labels":{"app":"x"}},
            "spec":{"replicas":1,"replicas":2,"unknownSpec":"x","paused":false,"paused":true,
            "selector":{"matchLabels":{"app":"x"}},
            "template":{"metadata":{"labels":{"app":"x"}},"spec":{"containers":[{"name":"c","image":"pause"}]}}}}"#;
        let out = post_raw(server, "/apis/apps/v1/namespaces/scn/deployments?fieldValidation=Strict", body).fails();
        for needle in ["unknown field \"spec.unknownSpec\"", "duplicate field \"replicas\"", "duplicate field \"paused\""] {
            assert!(out.stderr.contains(needle), "missing {needle}:\n{out}");
        }
        assert_eq!(names(server, &["get", "deployments", "-n", "scn"]), Vec::<String>::new());
        let out = post_raw(server, "/apis/apps/v1/namespaces/scn/deployments?fieldValidation=Warn", body).ok();
        assert!(out.stderr.contains("Warning: duplicate field \"replicas\""), "{out}");
    }
}

scenario! {
    /// A body over 3 MiB is a 413 RequestEntityTooLarge.
    fn request_too_large(server) covers [] {
        let before = seed(server);
        let big = json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "big"},
            "data": {"a": "x".repeat(3 * 1024 * 1024 + 16)},
        });
        post_raw(server, CONFIGMAPS, big.to_string().as_bytes())
            .fails()
            .stderr_contains("Error from server (RequestEntityTooLarge): Request entity too large: limit is 3145728");
        assert_eq!(names(server, &["get", "cm", "-n", "scn"]), before);
    }
}

scenario! {
    /// A ConfigMap whose data exceeds 1 MiB (but whose request is under 3 MiB) is Invalid.
    fn configmap_too_large(server) covers [] {
        let before = seed(server);
        let big = json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "big"},
            "data": {"a": "x".repeat(1024 * 1024 + 16)},
        });
        create_manifest(server, "scn", &big.to_string())
            .fails()
            .stderr_contains("The ConfigMap \"big\" is invalid")
            .stderr_contains("Too long: may not be more than 1048576 bytes");
        assert_eq!(names(server, &["get", "cm", "-n", "scn"]), before);
    }
}

scenario! {
    /// A ConfigMap or Secret with an empty data key is Invalid.
    fn empty_data_keys(server) covers [CONFIGMAP_EMPTY_KEY, SECRET_EMPTY_KEY] {
        let before = seed(server);
        let out = create_manifest(server, "scn", r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"empty"},"data":{"":"v"}}"#)
            .fails();
        assert!(out.stderr.contains("ConfigMap \"empty\" is invalid: data[]: Invalid value: \"\""), "{out}");
        let out = create_manifest(server, "scn", r#"{"apiVersion":"v1","kind":"Secret","metadata":{"name":"empty"},"data":{"":"dg=="}}"#)
            .fails();
        assert!(out.stderr.contains("Secret \"empty\" is invalid: data[]: Invalid value: \"\""), "{out}");
        assert_eq!(names(server, &["get", "cm", "-n", "scn"]), before);
        assert_eq!(names(server, &["get", "secrets", "-n", "scn"]), Vec::<String>::new());
    }
}

scenario! {
    /// Once `immutable: true`, a ConfigMap's or Secret's data cannot change and it cannot be made
    /// mutable again; labels can still change and it can be deleted.
    fn immutable_configmap_and_secret(server) covers [CONFIGMAP_IMMUTABLE, SECRET_IMMUTABLE] {
        use crate::support::replace_manifest;
        create_namespace(server, "scn");
        server.kubectl(&["create", "cm", "frozen", "-n", "scn", "--from-literal=a=b"]).ok();
        server.kubectl(&["create", "secret", "generic", "frozen", "-n", "scn", "--from-literal=a=b"]).ok();
        for (kind, field, value) in [("configmap", "data", json!("c")), ("secret", "data", json!("Yw=="))] {
            let get = || server.kubectl(&["get", kind, "frozen", "-n", "scn", "-o", "json"]).ok().json();
            let mut obj = get();
            obj[field]["a"] = value.clone();
            replace_manifest(server, &obj.to_string()).ok();
            let mut obj = get();
            obj["immutable"] = json!(true);
            replace_manifest(server, &obj.to_string()).ok();
            let mut obj = get();
            obj[field]["a"] = json!("ZA==");
            replace_manifest(server, &obj.to_string()).fails().stderr_contains("field is immutable when `immutable` is set");
            let mut obj = get();
            obj["immutable"] = json!(false);
            replace_manifest(server, &obj.to_string()).fails().stderr_contains("field is immutable when `immutable` is set");
            let mut obj = get();
            obj["metadata"]["labels"] = json!({"still": "mutable"});
            replace_manifest(server, &obj.to_string()).ok();
            assert_eq!(get()[field]["a"], value);
            server.kubectl(&["delete", kind, "frozen", "-n", "scn"]).ok();
        }
    }
}
