//! Strategic merge patch over real objects (Deployment, Pod, Service, ConfigMap), each case taken
//! from upstream's documented behaviour: the "Update API Objects in Place Using kubectl patch" task
//! page and the SIG API Machinery strategic-merge-patch document.

use serde_json::{Value, json};
use tugboat_patch::strategic::{self, schema_for_kind};
use tugboat_patch::{Directive, MergeFailure, PatchError};

struct Case {
    name: &'static str,
    /// apiVersion and kind of `original`.
    kind: (&'static str, &'static str),
    original: Value,
    patch: Value,
    expected: Value,
}

fn apply(kind: (&str, &str), original: &Value, patch: &Value) -> Result<Value, PatchError> {
    let schema = schema_for_kind(kind.0, kind.1)?;
    strategic::apply(original, patch, schema)
}

fn deployment() -> Value {
    // The kubectl patch page's patch-demo Deployment.
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "patch-demo", "labels": {"app": "nginx"}},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "nginx"}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
            "template": {
                "metadata": {"labels": {"app": "nginx"}},
                "spec": {
                    "containers": [{"name": "patch-demo-ctr", "image": "nginx"}],
                    "tolerations": [{"effect": "NoSchedule", "key": "dedicated", "value": "test-team"}]
                }
            }
        }
    })
}

/// `deployment()` with `f` applied to it.
fn deployment_with(f: impl FnOnce(&mut Value)) -> Value {
    let mut d = deployment();
    f(&mut d);
    d
}

fn pod() -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "web",
            "labels": {"app": "web", "tier": "frontend"},
            "finalizers": ["a.example.com/x", "b.example.com/y", "c.example.com/z"]
        },
        "spec": {
            "containers": [
                {
                    "name": "app",
                    "image": "nginx:1.27",
                    "ports": [{"containerPort": 80, "protocol": "TCP"}],
                    "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}, {"name": "C", "value": "3"}]
                },
                {"name": "sidecar", "image": "busybox"}
            ],
            "volumes": [{"name": "data", "hostPath": {"path": "/srv/data"}}]
        },
        "status": {
            "phase": "Pending",
            "conditions": [
                {"type": "Ready", "status": "False"},
                {"type": "PodScheduled", "status": "True"}
            ]
        }
    })
}

fn pod_with(f: impl FnOnce(&mut Value)) -> Value {
    let mut p = pod();
    f(&mut p);
    p
}

const POD: (&str, &str) = ("v1", "Pod");
const DEPLOYMENT: (&str, &str) = ("apps/v1", "Deployment");

#[test]
fn documented_behaviour() {
    let cases = vec![
        Case {
            name: "kubectl docs: containers merge by name, the new one first",
            kind: DEPLOYMENT,
            original: deployment(),
            patch: json!({"spec": {"template": {"spec": {"containers": [{"name": "patch-demo-ctr-2", "image": "redis"}]}}}}),
            expected: deployment_with(|d| {
                d["spec"]["template"]["spec"]["containers"] = json!([
                    {"name": "patch-demo-ctr-2", "image": "redis"},
                    {"name": "patch-demo-ctr", "image": "nginx"}
                ]);
            }),
        },
        Case {
            name: "kubectl docs: tolerations have no patch strategy, so they are replaced",
            kind: DEPLOYMENT,
            original: deployment(),
            patch: json!({"spec": {"template": {"spec": {"tolerations": [{"effect": "NoSchedule", "key": "disktype", "value": "ssd"}]}}}}),
            expected: deployment_with(|d| {
                d["spec"]["template"]["spec"]["tolerations"] =
                    json!([{"effect": "NoSchedule", "key": "disktype", "value": "ssd"}]);
            }),
        },
        Case {
            name: "kubectl docs: $retainKeys switches the strategy from RollingUpdate to Recreate",
            kind: DEPLOYMENT,
            original: deployment(),
            patch: json!({"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}}),
            expected: deployment_with(|d| d["spec"]["strategy"] = json!({"type": "Recreate"})),
        },
        Case {
            name: "kubectl docs: without $retainKeys the rollingUpdate stays (and validation refuses it)",
            kind: DEPLOYMENT,
            original: deployment(),
            patch: json!({"spec": {"strategy": {"type": "Recreate"}}}),
            expected: deployment_with(|d| d["spec"]["strategy"]["type"] = json!("Recreate")),
        },
        Case {
            name: "SMP doc: a {$patch: replace} element replaces the whole list",
            kind: POD,
            original: pod(),
            patch: json!({"spec": {"containers": [{"name": "only", "image": "alpine"}, {"$patch": "replace"}]}}),
            expected: pod_with(|p| {
                p["spec"]["containers"] = json!([{"name": "only", "image": "alpine"}])
            }),
        },
        Case {
            name: "SMP doc: $patch: delete removes the element with the merge key",
            kind: POD,
            original: pod(),
            patch: json!({"spec": {"containers": [{"name": "sidecar", "$patch": "delete"}]}}),
            expected: pod_with(|p| {
                let app = p["spec"]["containers"][0].clone();
                p["spec"]["containers"] = json!([app]);
            }),
        },
        Case {
            name: "SMP doc: $patch: replace on a map takes the patch's map",
            kind: POD,
            original: pod(),
            patch: json!({"metadata": {"labels": {"$patch": "replace", "app": "api"}}}),
            expected: pod_with(|p| p["metadata"]["labels"] = json!({"app": "api"})),
        },
        Case {
            name: "SMP doc: $patch: delete on a map leaves it empty",
            kind: DEPLOYMENT,
            original: deployment(),
            patch: json!({"spec": {"strategy": {"rollingUpdate": {"$patch": "delete"}}}}),
            expected: deployment_with(|d| d["spec"]["strategy"]["rollingUpdate"] = json!({})),
        },
        Case {
            name: "null deletes a label",
            kind: POD,
            original: pod(),
            patch: json!({"metadata": {"labels": {"tier": null, "env": "prod"}}}),
            expected: pod_with(|p| p["metadata"]["labels"] = json!({"app": "web", "env": "prod"})),
        },
        Case {
            name: "SMP doc: $deleteFromPrimitiveList/finalizers",
            kind: POD,
            original: pod(),
            patch: json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["b.example.com/y", "c.example.com/z"]}}),
            expected: pod_with(|p| p["metadata"]["finalizers"] = json!(["a.example.com/x"])),
        },
        Case {
            name: "finalizers are a set: union, each once",
            kind: POD,
            original: pod(),
            patch: json!({"metadata": {"finalizers": ["c.example.com/z", "d.example.com/w"]}}),
            expected: pod_with(|p| {
                p["metadata"]["finalizers"] = json!([
                    "a.example.com/x",
                    "b.example.com/y",
                    "c.example.com/z",
                    "d.example.com/w"
                ]);
            }),
        },
        Case {
            name: "SMP doc: $setElementOrder/finalizers reorders a primitive list",
            kind: POD,
            original: pod(),
            patch: json!({"metadata": {"$setElementOrder/finalizers": ["b.example.com/y", "c.example.com/z", "a.example.com/x"]}}),
            expected: pod_with(|p| {
                p["metadata"]["finalizers"] =
                    json!(["b.example.com/y", "c.example.com/z", "a.example.com/x"]);
            }),
        },
        Case {
            // Upstream interleaves patch and server-only elements by the old order: the new D
            // follows B (the patch's last known element) and precedes the untouched C.
            name: "env merges by name; a new element is placed by upstream's interleaving",
            kind: POD,
            original: pod(),
            patch: json!({"spec": {"containers": [{"name": "app", "env": [{"name": "B", "value": "20"}, {"name": "D", "value": "4"}]}]}}),
            expected: pod_with(|p| {
                p["spec"]["containers"][0]["env"] = json!([
                    {"name": "A", "value": "1"}, {"name": "B", "value": "20"},
                    {"name": "D", "value": "4"}, {"name": "C", "value": "3"}
                ]);
            }),
        },
        Case {
            name: "SMP doc: $setElementOrder/env orders the merged list",
            kind: POD,
            original: pod(),
            patch: json!({"spec": {"containers": [{
                "name": "app",
                "$setElementOrder/env": [{"name": "C"}, {"name": "A"}, {"name": "D"}, {"name": "B"}],
                "env": [{"name": "D", "value": "4"}]
            }]}}),
            expected: pod_with(|p| {
                p["spec"]["containers"][0]["env"] = json!([
                    {"name": "C", "value": "3"}, {"name": "A", "value": "1"},
                    {"name": "D", "value": "4"}, {"name": "B", "value": "2"}
                ]);
            }),
        },
        Case {
            name: "ports merge by containerPort",
            kind: POD,
            original: pod(),
            patch: json!({"spec": {"containers": [{"name": "app", "ports": [
                {"containerPort": 80, "name": "http"},
                {"containerPort": 443, "name": "https"}
            ]}]}}),
            expected: pod_with(|p| {
                p["spec"]["containers"][0]["ports"] = json!([
                    {"containerPort": 80, "protocol": "TCP", "name": "http"},
                    {"containerPort": 443, "name": "https"}
                ]);
            }),
        },
        Case {
            name: "status conditions merge by type",
            kind: POD,
            original: pod(),
            patch: json!({"status": {"conditions": [{"type": "Ready", "status": "True"}]}}),
            expected: pod_with(|p| {
                p["status"]["conditions"] = json!([
                    {"type": "Ready", "status": "True"},
                    {"type": "PodScheduled", "status": "True"}
                ]);
            }),
        },
        Case {
            name: "volumes: $retainKeys in a merged element clears the other volume source",
            kind: POD,
            original: pod(),
            patch: json!({"spec": {"volumes": [{"name": "data", "$retainKeys": ["emptyDir", "name"], "emptyDir": {}}]}}),
            expected: pod_with(|p| {
                p["spec"]["volumes"] = json!([{"name": "data", "emptyDir": {}}])
            }),
        },
        Case {
            name: "a new list keeps its elements, without directive elements and nulls",
            kind: POD,
            original: pod(),
            patch: json!({"spec": {"initContainers": [
                {"name": "init", "image": "busybox", "command": null},
                {"name": "gone", "$patch": "delete"}
            ]}}),
            expected: pod_with(|p| {
                p["spec"]["initContainers"] = json!([{"name": "init", "image": "busybox"}])
            }),
        },
        Case {
            name: "a field the schema does not know merges like a merge patch",
            kind: POD,
            original: pod_with(|p| {
                p["spec"]["futureField"] = json!({"a": 1, "list": [1, 2], "keep": true})
            }),
            patch: json!({"spec": {"futureField": {"a": 2, "list": [3], "keep": null}}}),
            expected: pod_with(|p| p["spec"]["futureField"] = json!({"a": 2, "list": [3]})),
        },
        Case {
            name: "scalars are replaced; a null patch changes nothing below",
            kind: DEPLOYMENT,
            original: deployment(),
            patch: json!({"spec": {"replicas": 5, "paused": true}}),
            expected: deployment_with(|d| {
                d["spec"]["replicas"] = json!(5);
                d["spec"]["paused"] = json!(true);
            }),
        },
        Case {
            name: "Service ports merge by port",
            kind: ("v1", "Service"),
            original: json!({
                "apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
                "spec": {
                    "selector": {"app": "web"},
                    "ports": [
                        {"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080},
                        {"name": "https", "port": 443, "protocol": "TCP", "targetPort": 8443}
                    ]
                }
            }),
            patch: json!({"spec": {"ports": [{"port": 80, "targetPort": 9090}], "selector": {"version": "v2"}}}),
            expected: json!({
                "apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
                "spec": {
                    "selector": {"app": "web", "version": "v2"},
                    "ports": [
                        {"name": "http", "port": 80, "protocol": "TCP", "targetPort": 9090},
                        {"name": "https", "port": 443, "protocol": "TCP", "targetPort": 8443}
                    ]
                }
            }),
        },
        Case {
            name: "ConfigMap data is a map: keys merge, null deletes",
            kind: ("v1", "ConfigMap"),
            original: json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {"a": "1", "b": "2"}}),
            patch: json!({"data": {"b": null, "c": "3"}}),
            expected: json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {"a": "1", "c": "3"}}),
        },
        Case {
            name: "PodDisruptionBudget selector has patchStrategy=replace",
            kind: ("policy/v1", "PodDisruptionBudget"),
            original: json!({"spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "web", "tier": "fe"}}}}),
            patch: json!({"spec": {"selector": {"matchLabels": {"app": "api"}}}}),
            expected: json!({"spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "api"}}}}),
        },
        Case {
            name: "other $ keys are not directives: they pass through (decoding drops them)",
            kind: DEPLOYMENT,
            original: deployment_with(|d| {
                d["spec"]
                    .as_object_mut()
                    .map(|s| s.remove("strategy"))
                    .map(drop)
                    .unwrap_or(())
            }),
            patch: json!({"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate", "rollingUpdate": null}}}),
            expected: deployment_with(|d| {
                d["spec"]["strategy"] = json!({"$retainKeys": ["type"], "type": "Recreate"})
            }),
        },
        Case {
            name: "a null patch is no patch",
            kind: POD,
            original: pod(),
            patch: json!(null),
            expected: pod(),
        },
    ];
    for case in cases {
        let got = apply(case.kind, &case.original, &case.patch)
            .unwrap_or_else(|e| panic!("{}: {e}", case.name));
        assert_eq!(got, case.expected, "{}", case.name);
    }
}

#[test]
fn errors_and_their_upstream_status() {
    struct Bad {
        name: &'static str,
        patch: Value,
        check: fn(&PatchError) -> bool,
        status: (u16, &'static str),
        message: &'static str,
    }
    let cases = vec![
        Bad {
            name: "$patch: merge in a list",
            patch: json!({"spec": {"containers": [{"name": "app", "$patch": "merge"}]}}),
            check: |e| {
                matches!(
                    e,
                    PatchError::MergeFailed {
                        kind: MergeFailure::MergeDirectiveInList,
                        ..
                    }
                )
            },
            status: (500, ""),
            message: "merging lists cannot yet be specified in the patch",
        },
        Bad {
            name: "unknown $patch value on a map",
            patch: json!({"metadata": {"labels": {"$patch": "foo", "app": "x"}}}),
            check: |e| {
                matches!(
                    e,
                    PatchError::MergeFailed {
                        kind: MergeFailure::UnknownPatchDirective,
                        ..
                    }
                )
            },
            status: (500, ""),
            message: "unknown patch type: foo in map: map[$patch:foo app:x]",
        },
        Bad {
            name: "unknown $patch value in a list",
            patch: json!({"spec": {"containers": [{"name": "app", "$patch": 1}]}}),
            check: |e| {
                matches!(
                    e,
                    PatchError::MergeFailed {
                        kind: MergeFailure::UnknownPatchDirective,
                        ..
                    }
                )
            },
            status: (500, ""),
            message: "unknown patch type: %!s(int64=1) in map: map[$patch:1 name:app]",
        },
        Bad {
            name: "element without its merge key",
            patch: json!({"spec": {"containers": [{"image": "redis"}]}}),
            check: |e| {
                matches!(
                    e,
                    PatchError::MergeFailed {
                        kind: MergeFailure::MissingMergeKey,
                        ..
                    }
                )
            },
            status: (500, ""),
            message: "map: map[image:redis] does not contain declared merge key: name",
        },
        Bad {
            name: "$retainKeys not a list",
            patch: json!({"spec": {"volumes": [{"name": "data", "$retainKeys": "emptyDir"}]}}),
            check: |e| *e == PatchError::InvalidDirective(Directive::RetainKeys),
            status: (400, "BadRequest"),
            message: "invalid patch format of retainKeys",
        },
        Bad {
            name: "$retainKeys not naming a patched key",
            patch: json!({"spec": {"volumes": [{"name": "data", "$retainKeys": ["name"], "emptyDir": {}}]}}),
            check: |e| *e == PatchError::InvalidDirective(Directive::RetainKeys),
            status: (400, "BadRequest"),
            message: "invalid patch format of retainKeys",
        },
        Bad {
            name: "$setElementOrder without /field",
            patch: json!({"metadata": {"$setElementOrderFinalizers": ["a"]}}),
            check: |e| *e == PatchError::InvalidDirective(Directive::SetElementOrderList),
            status: (400, "BadRequest"),
            message: "invalid patch format of setElementOrder list",
        },
        Bad {
            name: "$deleteFromPrimitiveList without /field",
            patch: json!({"metadata": {"$deleteFromPrimitiveList": ["a"]}}),
            check: |e| *e == PatchError::InvalidDirective(Directive::PrimitiveList),
            status: (400, "BadRequest"),
            message: "invalid patch format of primitive list",
        },
        Bad {
            name: "$setElementOrder that is not a list",
            patch: json!({"metadata": {"$setElementOrder/finalizers": "a"}}),
            check: |e| {
                matches!(
                    e,
                    PatchError::MergeFailed {
                        kind: MergeFailure::WrongType,
                        ..
                    }
                )
            },
            status: (500, ""),
            message: "expected a []interface {}, but received a string",
        },
        Bad {
            name: "patch list out of $setElementOrder's order",
            patch: json!({"spec": {"containers": [{
                "name": "app",
                "$setElementOrder/env": [{"name": "A"}, {"name": "B"}],
                "env": [{"name": "B", "value": "2"}, {"name": "A", "value": "1"}]
            }]}}),
            check: |e| {
                matches!(
                    e,
                    PatchError::MergeFailed {
                        kind: MergeFailure::OrderMismatch,
                        ..
                    }
                )
            },
            status: (500, ""),
            message: "the order in patch list:\n[map[name:B value:2] map[name:A value:1]]\n doesn't match $setElementOrder list:\n[map[name:A] map[name:B]]",
        },
        Bad {
            name: "mixed element types in a merged set",
            patch: json!({"metadata": {"finalizers": [1]}}),
            check: |e| {
                matches!(
                    e,
                    PatchError::MergeFailed {
                        kind: MergeFailure::MixedElementTypes,
                        ..
                    }
                )
            },
            status: (500, ""),
            message: "list element types are not identical: [[a.example.com/x b.example.com/y c.example.com/z] [1]]",
        },
        Bad {
            name: "patch body not an object",
            patch: json!([{"op": "add"}]),
            check: |e| matches!(e, PatchError::MalformedPatch(_)),
            status: (400, "BadRequest"),
            message: "json: cannot unmarshal array into Go value of type map[string]interface {}",
        },
    ];
    for case in cases {
        let e = apply(POD, &pod(), &case.patch).expect_err(case.name);
        assert!((case.check)(&e), "{}: {e:?}", case.name);
        assert_eq!((e.status_code(), e.reason()), case.status, "{}", case.name);
        assert_eq!(e.status_message(), case.message, "{}", case.name);
    }

    // Lists of lists: upstream answers 422 with its generic message.
    let e = apply(
        POD,
        &json!({"metadata": {"finalizers": []}}),
        &json!({"metadata": {"finalizers": [["x"]]}}),
    )
    .expect_err("list of lists");
    assert_eq!(e, PatchError::ListOfLists);
    assert_eq!((e.status_code(), e.reason()), (422, "Invalid"));
}

#[test]
fn custom_resources_are_415() {
    let e = schema_for_kind("stable.example.com/v1", "CronTab").expect_err("no schema");
    assert_eq!(e, PatchError::StrategicMergeNotSupported);
    assert_eq!((e.status_code(), e.reason()), (415, "UnsupportedMediaType"));
    assert!(schema_for_kind("apps/v1", "Deployment").is_ok());
}

#[test]
fn garbage_never_panics() {
    let originals = [
        pod(),
        deployment(),
        json!({}),
        json!({"spec": {"containers": "x"}}),
    ];
    let fragments = [
        json!(null),
        json!(1),
        json!("s"),
        json!([]),
        json!([1, "a"]),
        json!([[1]]),
        json!([null]),
        json!([{"$patch": "delete"}]),
        json!([{"name": "app", "$patch": "replace"}]),
        json!({"$patch": "replace"}),
        json!({"$patch": null}),
        json!({"$retainKeys": [1, null]}),
        json!({"$setElementOrder/containers": [{"name": 1}, null]}),
        json!({"$setElementOrder/finalizers": []}),
        json!({"$deleteFromPrimitiveList/containers": [{"name": "app"}]}),
        json!({"$deleteFromPrimitiveList/": [1]}),
    ];
    let paths: [&[&str]; 6] = [
        &["spec"],
        &["spec", "containers"],
        &["spec", "volumes"],
        &["metadata", "finalizers"],
        &["metadata"],
        &["status", "conditions"],
    ];
    for original in &originals {
        for path in paths {
            for fragment in &fragments {
                let mut patch = fragment.clone();
                for key in path.iter().rev() {
                    patch = json!({ *key: patch });
                }
                let _ = apply(POD, original, &patch);
                let _ = apply(DEPLOYMENT, original, &patch);
            }
        }
    }
}
