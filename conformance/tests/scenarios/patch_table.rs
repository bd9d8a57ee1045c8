//! A data-driven table of patches over real objects (Deployment, Pod, Service, ConfigMap): each case
//! creates the object, applies one patch with `kubectl patch --type ...` and compares parts of the
//! result with what upstream produces. The expected values come from upstream's documentation
//! (the "Update API Objects in Place Using kubectl patch" task page, whose examples are cases 1-4)
//! and the strategic-merge-patch design document's directives.

use serde_json::Value;

use crate::support::{create_manifest, create_namespace};

/// One case: the object (YAML), the patch type and body, and (JSON pointer, expected value) pairs;
/// `Value::Null` means "absent".
struct Case {
    name: &'static str,
    object: &'static str,
    kind: &'static str,
    patch_type: &'static str,
    patch: &'static str,
    expect: &'static [(&'static str, &'static str)],
}

const DEMO_DEPLOYMENT: &str = "apiVersion: apps/v1
kind: Deployment
metadata: {name: patch-demo}
spec:
  replicas: 2
  selector: {matchLabels: {app: nginx}}
  template:
    metadata: {labels: {app: nginx}}
    spec:
      containers:
      - {name: patch-demo-ctr, image: nginx}
      tolerations:
      - {effect: NoSchedule, key: dedicated, value: test-team}
";

const RETAIN_DEPLOYMENT: &str = "apiVersion: apps/v1
kind: Deployment
metadata: {name: retainkeys-demo}
spec:
  selector: {matchLabels: {app: nginx}}
  strategy: {rollingUpdate: {maxSurge: 30%}}
  template:
    metadata: {labels: {app: nginx}}
    spec:
      containers: [{name: retainkeys-demo-ctr, image: nginx}]
";

/// A pod spec, inside a Deployment's template (a Pod's spec is immutable but for images).
const POD: &str = "apiVersion: apps/v1
kind: Deployment
metadata: {name: p}
spec:
  selector: {matchLabels: {app: p}}
  template:
    metadata: {labels: {app: p}}
    spec:
      containers:
      - name: app
        image: busybox
        env: [{name: A, value: '1'}, {name: B, value: '2'}]
        ports: [{containerPort: 80}, {containerPort: 443}]
      - {name: helper, image: busybox}
";

const SERVICE: &str = "apiVersion: v1
kind: Service
metadata: {name: s}
spec:
  selector: {app: x}
  ports: [{name: http, port: 80}]
";

const CONFIGMAP: &str = "apiVersion: v1
kind: ConfigMap
metadata: {name: c, labels: {a: '1', b: '2'}, finalizers: [example.com/one, example.com/two]}
data: {k1: v1, k2: v2}
";

const CASES: &[Case] = &[
    Case {
        name: "docs: strategic merge adds a container next to the existing one (new first)",
        object: DEMO_DEPLOYMENT,
        kind: "deployment/patch-demo",
        patch_type: "strategic",
        patch: r#"{"spec":{"template":{"spec":{"containers":[{"name":"patch-demo-ctr-2","image":"redis"}]}}}}"#,
        expect: &[
            (
                "/spec/template/spec/containers/0/name",
                r#""patch-demo-ctr-2""#,
            ),
            ("/spec/template/spec/containers/0/image", r#""redis""#),
            (
                "/spec/template/spec/containers/1/name",
                r#""patch-demo-ctr""#,
            ),
            ("/spec/template/spec/containers/2", "null"),
        ],
    },
    Case {
        name: "docs: strategic merge replaces tolerations (no patch strategy)",
        object: DEMO_DEPLOYMENT,
        kind: "deployment/patch-demo",
        patch_type: "strategic",
        patch: r#"{"spec":{"template":{"spec":{"tolerations":[{"effect":"NoSchedule","key":"disktype","value":"ssd"}]}}}}"#,
        expect: &[(
            "/spec/template/spec/tolerations",
            r#"[{"effect":"NoSchedule","key":"disktype","value":"ssd"}]"#,
        )],
    },
    Case {
        name: "docs: merge patch replaces the whole containers list",
        object: DEMO_DEPLOYMENT,
        kind: "deployment/patch-demo",
        patch_type: "merge",
        patch: r#"{"spec":{"template":{"spec":{"containers":[{"name":"patch-demo-ctr-3","image":"gcr.io/google-samples/hello-app:2.0"}]}}}}"#,
        expect: &[
            (
                "/spec/template/spec/containers/0/name",
                r#""patch-demo-ctr-3""#,
            ),
            ("/spec/template/spec/containers/1", "null"),
        ],
    },
    Case {
        name: "docs: $retainKeys switches the strategy to Recreate and drops rollingUpdate",
        object: RETAIN_DEPLOYMENT,
        kind: "deployment/retainkeys-demo",
        patch_type: "strategic",
        patch: r#"{"spec":{"strategy":{"$retainKeys":["type"],"type":"Recreate"}}}"#,
        expect: &[("/spec/strategy", r#"{"type":"Recreate"}"#)],
    },
    Case {
        // Upstream orders a merged list by the patch's order, fitting the server-only items in by
        // their live positions: A (live only) goes before B, C (new) stays after B.
        name: "env merged by name, ports by containerPort",
        object: POD,
        kind: "deployment/p",
        patch_type: "strategic",
        patch: r#"{"spec":{"template":{"spec":{"containers":[{"name":"app","env":[{"name":"B","value":"20"},{"name":"C","value":"3"}],"ports":[{"containerPort":80,"name":"http"}]}]}}}}"#,
        expect: &[
            (
                "/spec/template/spec/containers/0/env",
                r#"[{"name":"A","value":"1"},{"name":"B","value":"20"},{"name":"C","value":"3"}]"#,
            ),
            ("/spec/template/spec/containers/0/ports/0/name", r#""http""#),
            (
                "/spec/template/spec/containers/0/ports/1/containerPort",
                "443",
            ),
            ("/spec/template/spec/containers/1/name", r#""helper""#),
        ],
    },
    Case {
        name: "$patch: delete removes one container by its merge key",
        object: POD,
        kind: "deployment/p",
        patch_type: "strategic",
        patch: r#"{"spec":{"template":{"spec":{"containers":[{"name":"helper","$patch":"delete"}]}}}}"#,
        expect: &[
            ("/spec/template/spec/containers/0/name", r#""app""#),
            ("/spec/template/spec/containers/1", "null"),
        ],
    },
    Case {
        name: "Service ports merged by port",
        object: SERVICE,
        kind: "service/s",
        patch_type: "strategic",
        patch: r#"{"spec":{"ports":[{"name":"https","port":443}]}}"#,
        expect: &[
            ("/spec/ports/0/port", "443"),
            ("/spec/ports/1/port", "80"),
            ("/spec/ports/1/name", r#""http""#),
        ],
    },
    Case {
        name: "merge patch: null deletes a key, other keys merge",
        object: CONFIGMAP,
        kind: "configmap/c",
        patch_type: "merge",
        patch: r#"{"data":{"k1":null,"k3":"v3"},"metadata":{"labels":{"b":null}}}"#,
        expect: &[
            ("/data", r#"{"k2":"v2","k3":"v3"}"#),
            ("/metadata/labels", r#"{"a":"1"}"#),
        ],
    },
    Case {
        name: "$deleteFromPrimitiveList removes one finalizer; finalizers merge as a set",
        object: CONFIGMAP,
        kind: "configmap/c",
        patch_type: "strategic",
        patch: r#"{"metadata":{"$deleteFromPrimitiveList/finalizers":["example.com/one"],"finalizers":["example.com/three"]}}"#,
        // New items from the patch come first, then the remaining live ones (as for containers).
        expect: &[(
            "/metadata/finalizers",
            r#"["example.com/three","example.com/two"]"#,
        )],
    },
    Case {
        name: "$patch: replace on a map replaces it",
        object: CONFIGMAP,
        kind: "configmap/c",
        patch_type: "strategic",
        patch: r#"{"data":{"$patch":"replace","only":"this"}}"#,
        expect: &[("/data", r#"{"only":"this"}"#)],
    },
    Case {
        name: "JSON patch: add with escaped key, replace, remove, append with -",
        object: POD,
        kind: "deployment/p",
        patch_type: "json",
        patch: r#"[{"op":"add","path":"/metadata/labels","value":{}},{"op":"add","path":"/metadata/labels/example.com~1tier","value":"web"},{"op":"replace","path":"/spec/template/spec/containers/0/image","value":"busybox:2"},{"op":"remove","path":"/spec/template/spec/containers/0/env/0"},{"op":"add","path":"/spec/template/spec/containers/0/ports/-","value":{"containerPort":8080}}]"#,
        expect: &[
            ("/metadata/labels", r#"{"example.com/tier":"web"}"#),
            ("/spec/template/spec/containers/0/image", r#""busybox:2""#),
            (
                "/spec/template/spec/containers/0/env",
                r#"[{"name":"B","value":"2"}]"#,
            ),
            (
                "/spec/template/spec/containers/0/ports/2/containerPort",
                "8080",
            ),
        ],
    },
    Case {
        name: "JSON patch: move and copy",
        object: CONFIGMAP,
        kind: "configmap/c",
        patch_type: "json",
        patch: r#"[{"op":"move","from":"/data/k1","path":"/data/moved"},{"op":"copy","from":"/data/k2","path":"/data/copied"}]"#,
        expect: &[("/data", r#"{"copied":"v2","k2":"v2","moved":"v1"}"#)],
    },
];

scenario! {
    /// Every case of the table above, each on a fresh object.
    fn patch_table(server) covers [] {
        for (i, case) in CASES.iter().enumerate() {
            let ns = format!("pt{i}");
            create_namespace(server, &ns);
            create_manifest(server, &ns, case.object).ok();
            let type_arg = format!("--type={}", case.patch_type);
            let out = server.kubectl(&["patch", case.kind, "-n", &ns, type_arg.as_str(), "-p", case.patch, "-o", "json"]);
            assert!(out.success(), "case {:?}:\n{out}", case.name);
            let result = out.json();
            for (pointer, expected) in case.expect {
                let expected: Value = serde_json::from_str(expected).unwrap();
                let actual = result.pointer(pointer).cloned().unwrap_or(Value::Null);
                assert_eq!(actual, expected, "case {:?}, {pointer}:\n{result:#}", case.name);
            }
            // The stored object is what the PATCH answered.
            let stored = server.kubectl(&["get", case.kind, "-n", &ns, "-o", "json"]).ok().json();
            assert_eq!(stored["metadata"]["resourceVersion"], result["metadata"]["resourceVersion"]);
            assert_eq!(stored.get("spec").or(stored.get("data")), result.get("spec").or(result.get("data")), "case {:?}", case.name);
        }
    }
}
