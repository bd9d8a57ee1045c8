//! JSON patch: RFC 6902 Appendix A, upstream's (evanphx/json-patch v4) deviations, and the errors
//! kube-apiserver answers.

use serde_json::{Value, json};
use tugboat_patch::json_patch::{self, Options};
use tugboat_patch::{FieldValidation, OperationFailure, PatchError};

struct Case {
    name: &'static str,
    doc: Value,
    patch: Value,
    /// `Ok(result)` or `Err(error text)`.
    expected: Result<Value, &'static str>,
}

fn run(cases: Vec<Case>) {
    for case in cases {
        let mut doc = case.doc.clone();
        let got = json_patch::apply(&mut doc, &case.patch);
        match (&case.expected, got) {
            (Ok(want), Ok(())) => assert_eq!(&doc, want, "{}", case.name),
            (Err(want), Err(e)) => {
                assert_eq!(&e.to_string(), want, "{}", case.name);
                assert_eq!(
                    doc, case.doc,
                    "{}: a failed patch must leave the document alone",
                    case.name
                );
            }
            (want, got) => panic!("{}: want {want:?}, got {got:?} ({doc})", case.name),
        }
    }
}

#[test]
fn rfc6902_appendix_a() {
    run(vec![
        Case {
            name: "A.1 adding an object member",
            doc: json!({"foo": "bar"}),
            patch: json!([{"op": "add", "path": "/baz", "value": "qux"}]),
            expected: Ok(json!({"baz": "qux", "foo": "bar"})),
        },
        Case {
            name: "A.2 adding an array element",
            doc: json!({"foo": ["bar", "baz"]}),
            patch: json!([{"op": "add", "path": "/foo/1", "value": "qux"}]),
            expected: Ok(json!({"foo": ["bar", "qux", "baz"]})),
        },
        Case {
            name: "A.3 removing an object member",
            doc: json!({"baz": "qux", "foo": "bar"}),
            patch: json!([{"op": "remove", "path": "/baz"}]),
            expected: Ok(json!({"foo": "bar"})),
        },
        Case {
            name: "A.4 removing an array element",
            doc: json!({"foo": ["bar", "qux", "baz"]}),
            patch: json!([{"op": "remove", "path": "/foo/1"}]),
            expected: Ok(json!({"foo": ["bar", "baz"]})),
        },
        Case {
            name: "A.5 replacing a value",
            doc: json!({"baz": "qux", "foo": "bar"}),
            patch: json!([{"op": "replace", "path": "/baz", "value": "boo"}]),
            expected: Ok(json!({"baz": "boo", "foo": "bar"})),
        },
        Case {
            name: "A.6 moving a value",
            doc: json!({"foo": {"bar": "baz", "waldo": "fred"}, "qux": {"corge": "grault"}}),
            patch: json!([{"op": "move", "from": "/foo/waldo", "path": "/qux/thud"}]),
            expected: Ok(
                json!({"foo": {"bar": "baz"}, "qux": {"corge": "grault", "thud": "fred"}}),
            ),
        },
        Case {
            name: "A.7 moving an array element",
            doc: json!({"foo": ["all", "grass", "cows", "eat"]}),
            patch: json!([{"op": "move", "from": "/foo/1", "path": "/foo/3"}]),
            expected: Ok(json!({"foo": ["all", "cows", "eat", "grass"]})),
        },
        Case {
            name: "A.8 testing a value: success",
            doc: json!({"baz": "qux", "foo": ["a", 2, "c"]}),
            patch: json!([
                {"op": "test", "path": "/baz", "value": "qux"},
                {"op": "test", "path": "/foo/1", "value": 2}
            ]),
            expected: Ok(json!({"baz": "qux", "foo": ["a", 2, "c"]})),
        },
        Case {
            name: "A.9 testing a value: error",
            doc: json!({"baz": "qux"}),
            patch: json!([{"op": "test", "path": "/baz", "value": "bar"}]),
            expected: Err("testing value /baz failed: test failed"),
        },
        Case {
            name: "A.10 adding a nested member object",
            doc: json!({"foo": "bar"}),
            patch: json!([{"op": "add", "path": "/child", "value": {"grandchild": {}}}]),
            expected: Ok(json!({"foo": "bar", "child": {"grandchild": {}}})),
        },
        Case {
            name: "A.11 ignoring unrecognized elements",
            doc: json!({"foo": "bar"}),
            patch: json!([{"op": "add", "path": "/baz", "value": "qux", "xyz": 123}]),
            expected: Ok(json!({"foo": "bar", "baz": "qux"})),
        },
        Case {
            name: "A.12 adding to a nonexistent target",
            doc: json!({"foo": "bar"}),
            patch: json!([{"op": "add", "path": "/baz/bat", "value": "qux"}]),
            expected: Err(
                "add operation does not apply: doc is missing path: \"/baz/bat\": missing value",
            ),
        },
        Case {
            // A.13's duplicate "op" cannot be written as a Value: the decoder keeps the last one,
            // as Go's does, and that remove fails.
            name: "A.13 invalid patch document",
            doc: json!({"foo": "bar"}),
            patch: json!([{"op": "remove", "path": "/baz", "value": "qux"}]),
            expected: Err(
                "error in remove for path: '/baz': Unable to remove nonexistent key: baz: missing value",
            ),
        },
        Case {
            name: "A.14 ~ escape ordering",
            doc: json!({"/": 9, "~1": 10}),
            patch: json!([{"op": "test", "path": "/~01", "value": 10}]),
            expected: Ok(json!({"/": 9, "~1": 10})),
        },
        Case {
            name: "A.15 comparing strings and numbers",
            doc: json!({"/": 9, "~1": 10}),
            patch: json!([{"op": "test", "path": "/~01", "value": "10"}]),
            expected: Err("testing value /~01 failed: test failed"),
        },
        Case {
            name: "A.16 adding an array value",
            doc: json!({"foo": ["bar"]}),
            patch: json!([{"op": "add", "path": "/foo/-", "value": ["abc", "def"]}]),
            expected: Ok(json!({"foo": ["bar", ["abc", "def"]]})),
        },
    ]);
}

#[test]
fn kubernetes_objects_and_upstream_behaviour() {
    let pod = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "web", "labels": {"app": "web"}},
        "spec": {"containers": [{"name": "a", "image": "nginx"}, {"name": "b", "image": "redis"}]}
    });
    run(vec![
        Case {
            name: "replace an image, add a label with an escaped key",
            doc: pod.clone(),
            patch: json!([
                {"op": "replace", "path": "/spec/containers/0/image", "value": "nginx:1.27"},
                {"op": "add", "path": "/metadata/labels/app.kubernetes.io~1name", "value": "web"}
            ]),
            expected: Ok(json!({
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": "web", "labels": {"app": "web", "app.kubernetes.io/name": "web"}},
                "spec": {"containers": [{"name": "a", "image": "nginx:1.27"}, {"name": "b", "image": "redis"}]}
            })),
        },
        Case {
            name: "replace of a missing member adds it (upstream, not RFC)",
            doc: json!({"metadata": {"labels": {}}}),
            patch: json!([{"op": "replace", "path": "/metadata/labels/tier", "value": "db"}]),
            expected: Ok(json!({"metadata": {"labels": {"tier": "db"}}})),
        },
        Case {
            name: "negative indices count from the end",
            doc: json!({"a": [1, 2, 3]}),
            patch: json!([
                {"op": "remove", "path": "/a/-1"},
                {"op": "add", "path": "/a/-1", "value": 9},
                {"op": "test", "path": "/a/-2", "value": 2}
            ]),
            expected: Ok(json!({"a": [1, 2, 9]})),
        },
        Case {
            name: "test of a missing member against null passes",
            doc: json!({"a": 1}),
            patch: json!([{"op": "test", "path": "/b", "value": null}]),
            expected: Ok(json!({"a": 1})),
        },
        Case {
            name: "copy from a missing member writes null",
            doc: json!({"a": 1}),
            patch: json!([{"op": "copy", "from": "/nope", "path": "/b"}]),
            expected: Ok(json!({"a": 1, "b": null})),
        },
        Case {
            name: "add without value adds null",
            doc: json!({}),
            patch: json!([{"op": "add", "path": "/a"}]),
            expected: Ok(json!({"a": null})),
        },
        Case {
            name: "copy and test of the whole document",
            doc: json!({"a": {"b": 1}}),
            patch: json!([
                {"op": "test", "path": "", "value": {"a": {"b": 1}}},
                {"op": "copy", "from": "/a", "path": "/c"},
                {"op": "replace", "path": "", "value": {"x": 1}},
                {"op": "replace", "path": "", "value": 5}
            ]),
            expected: Ok(json!({"x": 1})),
        },
        Case {
            name: "a null patch does nothing",
            doc: pod.clone(),
            patch: json!(null),
            expected: Ok(pod.clone()),
        },
        Case {
            name: "a failing test rolls back earlier operations",
            doc: pod.clone(),
            patch: json!([
                {"op": "replace", "path": "/metadata/name", "value": "other"},
                {"op": "test", "path": "/metadata/labels/app", "value": "db"}
            ]),
            expected: Err("testing value /metadata/labels/app failed: test failed"),
        },
        Case {
            name: "unknown op",
            doc: pod.clone(),
            patch: json!([{"op": "increment", "path": "/a"}]),
            expected: Err("Unexpected kind: increment"),
        },
        Case {
            name: "missing op",
            doc: pod.clone(),
            patch: json!([{"path": "/a"}]),
            expected: Err("Unexpected kind: unknown"),
        },
        Case {
            name: "missing path",
            doc: pod.clone(),
            patch: json!([{"op": "replace", "value": 1}]),
            expected: Err(
                "replace operation failed to decode path: operation missing path field: missing value",
            ),
        },
        Case {
            name: "pointer not starting with /",
            doc: pod.clone(),
            patch: json!([{"op": "remove", "path": "metadata/name"}]),
            expected: Err(
                "remove operation does not apply: doc is missing path: \"metadata/name\": missing value",
            ),
        },
        Case {
            name: "array index out of range",
            doc: pod.clone(),
            patch: json!([{"op": "add", "path": "/spec/containers/5", "value": {}}]),
            expected: Err(
                "error in add for path: '/spec/containers/5': Unable to access invalid index: 5: invalid index referenced",
            ),
        },
        Case {
            name: "array index not a number",
            doc: pod.clone(),
            patch: json!([{"op": "add", "path": "/spec/containers/x", "value": {}}]),
            expected: Err(
                "error in add for path: '/spec/containers/x': value was not a proper array index: 'x': strconv.Atoi: parsing \"x\": invalid syntax",
            ),
        },
        Case {
            name: "replace through a missing parent",
            doc: pod.clone(),
            patch: json!([{"op": "replace", "path": "/status/phase", "value": "Running"}]),
            expected: Err(
                "replace operation does not apply: doc is missing path: /status/phase: missing value",
            ),
        },
        Case {
            name: "replace of an array element past the end",
            doc: pod.clone(),
            patch: json!([{"op": "replace", "path": "/spec/containers/2", "value": {}}]),
            expected: Err(
                "replace operation does not apply: doc is missing key: /spec/containers/2: missing value",
            ),
        },
        Case {
            name: "move into its own child",
            doc: json!({"a": {"b": 1}}),
            patch: json!([{"op": "move", "from": "/a", "path": "/a/b"}]),
            expected: Err(
                "move operation does not apply: doc is missing destination path: /a/b: missing value",
            ),
        },
        Case {
            name: "move from a missing member",
            doc: json!({"a": {}}),
            patch: json!([{"op": "move", "from": "/a/x", "path": "/y"}]),
            expected: Err(
                "error in move for path: 'x': Unable to remove nonexistent key: x: missing value",
            ),
        },
        Case {
            name: "remove of the whole document",
            doc: json!({"a": 1}),
            patch: json!([{"op": "remove", "path": ""}]),
            expected: Err(
                "remove operation does not apply: doc is missing path: \"\": missing value",
            ),
        },
    ]);
}

#[test]
fn failed_operations_are_422_with_upstreams_generic_message() {
    let mut doc = json!({"a": 1});
    let err = json_patch::apply(&mut doc, &json!([{"op": "test", "path": "/a", "value": 2}]))
        .expect_err("test must fail");
    assert!(matches!(
        err,
        PatchError::OperationFailed {
            index: 0,
            kind: OperationFailure::TestFailed,
            ..
        }
    ));
    assert_eq!((err.status_code(), err.reason()), (422, "Invalid"));
    assert_eq!(
        err.status_message(),
        "the server rejected our request due to an error in our request"
    );
}

#[test]
fn malformed_bodies_are_400_worded_by_field_validation() {
    let strict = Options::default();
    let ignore = Options {
        field_validation: FieldValidation::Ignore,
        ..Options::default()
    };
    let cases = [
        (
            json!({"op": "add"}),
            "error decoding patch: json: cannot unmarshal object into Go value of type []handlers.jsonPatchOp",
            "json: cannot unmarshal object into Go value of type jsonpatch.Patch",
        ),
        (
            json!(["add"]),
            "error decoding patch: json: cannot unmarshal string into Go value of type handlers.jsonPatchOp",
            "json: cannot unmarshal string into Go value of type jsonpatch.Operation",
        ),
        (
            json!(5),
            "error decoding patch: json: cannot unmarshal number into Go value of type []handlers.jsonPatchOp",
            "json: cannot unmarshal number into Go value of type jsonpatch.Patch",
        ),
    ];
    for (patch, strict_msg, ignore_msg) in cases {
        let mut doc = json!({});
        let e = json_patch::apply_with(&mut doc, &patch, &strict).expect_err("malformed");
        assert_eq!(
            (e.status_code(), e.status_message()),
            (400, strict_msg.to_owned())
        );
        let e = json_patch::apply_with(&mut doc, &patch, &ignore).expect_err("malformed");
        assert_eq!(
            (e.status_code(), e.status_message()),
            (400, ignore_msg.to_owned())
        );
    }
    // A field of the wrong type: the strict decoder rejects the body; without it the operation
    // fails to apply.
    let patch = json!([{"op": 1, "path": "/a", "value": 1}]);
    let e = json_patch::apply_with(&mut json!({}), &patch, &strict).expect_err("strict");
    assert_eq!(
        e.to_string(),
        "error decoding patch: json: cannot unmarshal number into Go struct field jsonPatchOp.op of type string"
    );
    let e = json_patch::apply_with(&mut json!({}), &patch, &ignore).expect_err("ignore");
    assert_eq!(
        (e.status_code(), e.to_string()),
        (422, "Unexpected kind: unknown".to_owned())
    );
}

#[test]
fn operation_and_copy_limits() {
    let ops: Vec<Value> = (0..10_001)
        .map(|_| json!({"op": "test", "path": "/a", "value": 1}))
        .collect();
    let e = json_patch::apply(&mut json!({"a": 1}), &Value::Array(ops)).expect_err("too many");
    assert_eq!(
        e,
        PatchError::TooManyOperations {
            limit: 10_000,
            got: 10_001
        }
    );
    assert_eq!(e.status_code(), 413);

    let options = Options {
        max_copy_bytes: Some(20),
        ..Options::default()
    };
    let mut doc = json!({"a": "0123456789"}); // 12 bytes as JSON
    json_patch::apply_with(
        &mut doc,
        &json!([{"op": "copy", "from": "/a", "path": "/b"}]),
        &options,
    )
    .expect("first copy fits");
    let e = json_patch::apply_with(
        &mut doc,
        &json!([
            {"op": "copy", "from": "/a", "path": "/c"},
            {"op": "copy", "from": "/a", "path": "/d"}
        ]),
        &options,
    )
    .expect_err("second copy overflows");
    assert_eq!(
        e.to_string(),
        "Unable to complete the copy, the accumulated size increase of copy is 24, exceeding the limit 20"
    );
    assert_eq!(doc, json!({"a": "0123456789", "b": "0123456789"}));
}

#[test]
fn garbage_never_panics() {
    let docs = [
        json!({}),
        json!([]),
        json!({"a": [1, {"b": null}], "n": null}),
        json!("s"),
    ];
    let paths = [
        "",
        "/",
        "//",
        "/a",
        "/a/-",
        "/a/1/b",
        "/a/-5",
        "/a/99999999999999999999",
        "/n/x",
        "~",
        "/~2",
    ];
    let values = [json!(null), json!(1), json!({"x": []})];
    let ops = ["add", "remove", "replace", "move", "copy", "test", "bogus"];
    for doc in &docs {
        for op in ops {
            for path in paths {
                for from in paths {
                    for value in &values {
                        let mut d = doc.clone();
                        let _ = json_patch::apply(
                            &mut d,
                            &json!([{"op": op, "path": path, "from": from, "value": value}]),
                        );
                    }
                }
            }
        }
    }
}
