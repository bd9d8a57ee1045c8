//! JSON merge patch: RFC 7386 Appendix A, a Kubernetes object, and the bodies kube-apiserver refuses.

use serde_json::json;
use tugboat_patch::{FieldValidation, merge_patch};

#[test]
fn rfc7386_appendix_a() {
    // (original, patch, result), in the appendix's order.
    let cases = [
        (json!({"a": "b"}), json!({"a": "c"}), json!({"a": "c"})),
        (
            json!({"a": "b"}),
            json!({"b": "c"}),
            json!({"a": "b", "b": "c"}),
        ),
        (json!({"a": "b"}), json!({"a": null}), json!({})),
        (
            json!({"a": "b", "b": "c"}),
            json!({"a": null}),
            json!({"b": "c"}),
        ),
        (json!({"a": ["b"]}), json!({"a": "c"}), json!({"a": "c"})),
        (json!({"a": "c"}), json!({"a": ["b"]}), json!({"a": ["b"]})),
        (
            json!({"a": {"b": "c"}}),
            json!({"a": {"b": "d", "c": null}}),
            json!({"a": {"b": "d"}}),
        ),
        (
            json!({"a": [{"b": "c"}]}),
            json!({"a": [1]}),
            json!({"a": [1]}),
        ),
        (json!(["a", "b"]), json!(["c", "d"]), json!(["c", "d"])),
        (json!({"a": "b"}), json!(["c"]), json!(["c"])),
        (json!({"a": "foo"}), json!(null), json!(null)),
        (json!({"a": "foo"}), json!("bar"), json!("bar")),
        (
            json!({"e": null}),
            json!({"a": 1}),
            json!({"e": null, "a": 1}),
        ),
        (
            json!([1, 2]),
            json!({"a": "b", "c": null}),
            json!({"a": "b"}),
        ),
        (
            json!({}),
            json!({"a": {"bb": {"ccc": null}}}),
            json!({"a": {"bb": {}}}),
        ),
    ];
    for (i, (original, patch, want)) in cases.into_iter().enumerate() {
        let mut doc = original;
        merge_patch::apply(&mut doc, &patch);
        assert_eq!(doc, want, "case {}", i + 1);
    }
}

#[test]
fn kubernetes_deployment() {
    // The kubectl patch docs' merge patch: the containers list is replaced, not merged.
    let mut deployment = json!({
        "metadata": {"name": "patch-demo", "labels": {"app": "nginx", "tier": "web"}},
        "spec": {"replicas": 2, "template": {"spec": {"containers": [
            {"name": "patch-demo-ctr", "image": "nginx"},
            {"name": "patch-demo-ctr-2", "image": "redis"}
        ]}}}
    });
    merge_patch::apply(
        &mut deployment,
        &json!({
            "metadata": {"labels": {"tier": null}},
            "spec": {"template": {"spec": {"containers": [{"name": "patch-demo-ctr-3", "image": "gcr.io/google-samples/hello-app:2.0"}]}}}
        }),
    );
    assert_eq!(
        deployment,
        json!({
            "metadata": {"name": "patch-demo", "labels": {"app": "nginx"}},
            "spec": {"replicas": 2, "template": {"spec": {"containers": [
                {"name": "patch-demo-ctr-3", "image": "gcr.io/google-samples/hello-app:2.0"}
            ]}}}
        })
    );
}

#[test]
fn bodies_kube_apiserver_refuses() {
    use FieldValidation::*;
    assert!(merge_patch::validate(&json!({"a": 1}), Strict).is_ok());
    assert!(merge_patch::validate(&json!([1]), Ignore).is_ok());
    let e = merge_patch::validate(&json!([1]), Warn).expect_err("array");
    assert_eq!(
        (e.status_code(), e.status_message()),
        (
            400,
            "error decoding patch: json: cannot unmarshal array into Go value of type map[string]interface {}"
                .to_owned()
        )
    );
    for (patch, validation) in [
        (json!(null), Strict),
        (json!(null), Ignore),
        (json!("x"), Ignore),
    ] {
        let e = merge_patch::validate(&patch, validation).expect_err("refused");
        assert_eq!(
            (e.status_code(), e.reason(), e.status_message()),
            (400, "BadRequest", "Invalid JSON Patch".to_owned())
        );
    }
    let e = merge_patch::validate(&json!(true), Strict).expect_err("bool");
    assert_eq!(
        e.to_string(),
        "error decoding patch: json: cannot unmarshal bool into Go value of type map[string]interface {}"
    );
}
