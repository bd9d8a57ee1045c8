//! The structural extensions of the built-in schemas, as upstream's kube-openapi publishes them from
//! the Go markers: per property `x-kubernetes-patch-strategy`, `x-kubernetes-patch-merge-key`,
//! `x-kubernetes-list-type`, `x-kubernetes-list-map-keys` and `x-kubernetes-map-type` (`+mapType`, or
//! `+structType` on the field), and per definition `x-kubernetes-map-type` (`+structType` on the Go
//! type, e.g. `LabelSelector: atomic`).
//!
//! kubectl's client-side `apply` computes strategic merge patches from the patch strategy and merge
//! key it reads here; server-side apply clients and client-go's apply configurations read the list
//! and map types. The facts come from tugboat-protobuf's schema table, the same one the server's
//! strategic merge patch uses, so what kubectl sends and what the server merges cannot disagree.
//!
//! Upstream publishes every marker it finds, valid or not (`replace` as a patch strategy, a merge key
//! on a string field); so does this pass: it copies the table, it does not judge it.

use std::{collections::HashMap, sync::OnceLock};

use serde_json::{Map, Value, json};
use tugboat_protobuf::{Granularity, ListType, MergeMeta, MessageRef, PatchStrategy};

use super::Dialect;

/// What one definition gets: its own map type and its properties' extensions.
#[derive(Debug)]
struct Annotations {
    struct_type: Option<Granularity>,
    /// (JSON name, markers) of the fields that have any.
    fields: Vec<(&'static str, &'static MergeMeta)>,
}

/// Annotations by lowercased definition name (`io.k8s.api.core.v1.podspec`), only for types that
/// have any: built once from the table. Lowercased because go-to-protobuf's message names differ
/// from the Go type names in case in a few places (`JsonSchemaProps`).
fn index() -> &'static HashMap<String, Annotations> {
    static INDEX: OnceLock<HashMap<String, Annotations>> = OnceLock::new();
    INDEX.get_or_init(|| {
        MessageRef::all()
            .filter_map(|message| {
                let fields: Vec<_> = message
                    .fields()
                    .into_iter()
                    .map(|f| (f.json_name(), f.merge()))
                    .filter(|(_, meta)| **meta != MergeMeta::NONE)
                    .collect();
                let struct_type = message.struct_type();
                if fields.is_empty() && struct_type.is_none() {
                    return None;
                }
                let name = definition_name(message.name())?;
                Some((
                    name.to_ascii_lowercase(),
                    Annotations {
                        struct_type,
                        fields,
                    },
                ))
            })
            .collect()
    })
}

/// The OpenAPI definition name of a protobuf message: `k8s.io.api.core.v1.PodSpec` is
/// `io.k8s.api.core.v1.PodSpec`; go-to-protobuf turned the dashes of Go import paths into
/// underscores (`k8s.io.apiextensions_apiserver...`, `k8s.io.kube_aggregator...`), OpenAPI keeps
/// them.
fn definition_name(message: &str) -> Option<String> {
    let rest = message.strip_prefix("k8s.io.")?;
    let (package, name) = rest.rsplit_once('.')?;
    Some(format!("io.k8s.{}.{name}", package.replace('_', "-")))
}

/// Add the extensions to every definition of one document.
pub(super) fn annotate(definitions: &mut Map<String, Value>, dialect: Dialect) {
    let index = index();
    for (name, schema) in definitions.iter_mut() {
        let Some(annotations) = index.get(&name.to_ascii_lowercase()) else {
            continue;
        };
        let Value::Object(schema) = schema else {
            continue;
        };
        if let Some(granularity) = annotations.struct_type {
            schema.insert(
                "x-kubernetes-map-type".into(),
                granularity_name(granularity).into(),
            );
        }
        let Some(Value::Object(properties)) = schema.get_mut("properties") else {
            continue;
        };
        for (json_name, meta) in &annotations.fields {
            if let Some(Value::Object(property)) = properties.get_mut(*json_name) {
                annotate_property(property, meta, dialect);
            }
        }
    }
}

fn annotate_property(property: &mut Map<String, Value>, meta: &MergeMeta, dialect: Dialect) {
    let mut extensions = Vec::new();
    if let Some(strategy) = patch_strategy(meta) {
        extensions.push(("x-kubernetes-patch-strategy", Value::from(strategy)));
    }
    if let Some(key) = meta.patch_merge_key {
        extensions.push(("x-kubernetes-patch-merge-key", Value::from(key)));
    }
    if let Some(list_type) = meta.list_type {
        let list_type = match list_type {
            ListType::Atomic => "atomic",
            ListType::Set => "set",
            ListType::Map => "map",
        };
        extensions.push(("x-kubernetes-list-type", Value::from(list_type)));
    }
    if !meta.list_map_keys.is_empty() {
        extensions.push(("x-kubernetes-list-map-keys", json!(meta.list_map_keys)));
    }
    // kube-openapi publishes both `+mapType` and a field's `+structType` under this one name.
    if let Some(granularity) = meta.map_type.or(meta.struct_type) {
        extensions.push((
            "x-kubernetes-map-type",
            granularity_name(granularity).into(),
        ));
    }
    if extensions.is_empty() {
        return;
    }
    // OpenAPI 3.0 ignores the siblings of a `$ref`: upstream wraps the reference in `allOf` as soon
    // as a property has anything besides it (v2 keeps the siblings, as upstream's swagger.json).
    if dialect == Dialect::V3
        && let Some(reference) = property.remove("$ref")
    {
        property.insert("allOf".into(), json!([{ "$ref": reference }]));
    }
    for (name, value) in extensions {
        property.insert(name.into(), value);
    }
}

/// The marker's value as upstream writes it (`merge,retainKeys` for `PodSpec.volumes`).
fn patch_strategy(meta: &MergeMeta) -> Option<&'static str> {
    match (meta.patch_strategy, meta.retain_keys) {
        (Some(PatchStrategy::Merge), false) => Some("merge"),
        (Some(PatchStrategy::Merge), true) => Some("merge,retainKeys"),
        (Some(PatchStrategy::Replace), false) => Some("replace"),
        (Some(PatchStrategy::Replace), true) => Some("replace,retainKeys"),
        (None, true) => Some("retainKeys"),
        (None, false) => None,
    }
}

fn granularity_name(granularity: Granularity) -> &'static str {
    match granularity {
        Granularity::Atomic => "atomic",
        Granularity::Granular => "granular",
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, OnceLock};

    use serde_json::{Value, json};
    use tugboat_machinery::catalog::Catalog;

    use super::*;
    use crate::openapi::OpenApi;

    /// The v2 document and the v3 documents of `api/v1` and `apis/apps/v1`, generated once.
    fn documents() -> &'static (Value, Value, Value) {
        static DOCS: OnceLock<(Value, Value, Value)> = OnceLock::new();
        DOCS.get_or_init(|| {
            let openapi = OpenApi::new(Arc::new(Catalog::builtin()));
            let parse = |bytes: &[u8]| serde_json::from_slice::<Value>(bytes).expect("JSON");
            let v3 = |path: &str| {
                let (_, bytes) = openapi.v3().documents.get(path).expect(path);
                parse(bytes)
            };
            (parse(openapi.v2()), v3("api/v1"), v3("apis/apps/v1"))
        })
    }

    /// Every (dialect, definitions) pair to check a definition in: v2, and the v3 documents.
    fn definitions() -> Vec<(Dialect, &'static Value)> {
        let (v2, core, apps) = documents();
        vec![
            (Dialect::V2, &v2["definitions"]),
            (Dialect::V3, &core["components"]["schemas"]),
            (Dialect::V3, &apps["components"]["schemas"]),
        ]
    }

    fn property<'a>(definitions: &'a Value, definition: &str, name: &str) -> &'a Value {
        let property = &definitions[definition]["properties"][name];
        assert!(property.is_object(), "{definition}.{name}");
        property
    }

    #[track_caller]
    fn check(definition: &str, name: &str, expected: &[(&str, Value)], absent: &[&str]) {
        let mut checked = Vec::new();
        for (dialect, definitions) in definitions() {
            if definitions.get(definition).is_none() {
                continue;
            }
            checked.push(dialect);
            let property = property(definitions, definition, name);
            for (extension, value) in expected {
                assert_eq!(
                    &property[*extension], value,
                    "{dialect:?} {definition}.{name} {extension}: {property:#}"
                );
            }
            for extension in absent {
                assert!(
                    property.get(*extension).is_none(),
                    "{dialect:?} {definition}.{name} has {extension}: {property:#}"
                );
            }
        }
        assert!(
            checked.contains(&Dialect::V2) && checked.contains(&Dialect::V3),
            "{definition} checked in {checked:?} only"
        );
    }

    #[test]
    fn names_map_to_definitions() {
        assert_eq!(
            definition_name("k8s.io.api.core.v1.PodSpec").as_deref(),
            Some("io.k8s.api.core.v1.PodSpec")
        );
        assert_eq!(
            definition_name(
                "k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps"
            )
            .as_deref(),
            Some("io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps")
        );
        assert_eq!(
            definition_name("k8s.io.kube_aggregator.pkg.apis.apiregistration.v1.APIServiceSpec")
                .as_deref(),
            Some("io.k8s.kube-aggregator.pkg.apis.apiregistration.v1.APIServiceSpec")
        );
    }

    #[test]
    fn pod_spec_lists() {
        check(
            "io.k8s.api.core.v1.PodSpec",
            "containers",
            &[
                ("x-kubernetes-patch-merge-key", json!("name")),
                ("x-kubernetes-patch-strategy", json!("merge")),
                ("x-kubernetes-list-type", json!("map")),
                ("x-kubernetes-list-map-keys", json!(["name"])),
            ],
            &[],
        );
        check(
            "io.k8s.api.core.v1.PodSpec",
            "volumes",
            &[
                ("x-kubernetes-patch-strategy", json!("merge,retainKeys")),
                ("x-kubernetes-patch-merge-key", json!("name")),
            ],
            &[],
        );
        check(
            "io.k8s.api.core.v1.PodSpec",
            "tolerations",
            &[("x-kubernetes-list-type", json!("atomic"))],
            &[
                "x-kubernetes-patch-strategy",
                "x-kubernetes-patch-merge-key",
            ],
        );
        check(
            "io.k8s.api.core.v1.PodSpec",
            "nodeSelector",
            &[("x-kubernetes-map-type", json!("atomic"))],
            &[],
        );
        check(
            "io.k8s.api.core.v1.Container",
            "ports",
            &[
                ("x-kubernetes-patch-merge-key", json!("containerPort")),
                ("x-kubernetes-patch-strategy", json!("merge")),
                ("x-kubernetes-list-type", json!("map")),
                (
                    "x-kubernetes-list-map-keys",
                    json!(["containerPort", "protocol"]),
                ),
            ],
            &[],
        );
        // A field without markers gets nothing.
        check(
            "io.k8s.api.core.v1.PodSpec",
            "hostname",
            &[],
            &[
                "x-kubernetes-patch-strategy",
                "x-kubernetes-list-type",
                "x-kubernetes-map-type",
            ],
        );
    }

    #[test]
    fn object_meta_and_deployment_spec() {
        check(
            "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
            "finalizers",
            &[
                ("x-kubernetes-list-type", json!("set")),
                ("x-kubernetes-patch-strategy", json!("merge")),
            ],
            &["x-kubernetes-patch-merge-key"],
        );
        check(
            "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
            "ownerReferences",
            &[
                ("x-kubernetes-patch-merge-key", json!("uid")),
                ("x-kubernetes-list-type", json!("map")),
                ("x-kubernetes-list-map-keys", json!(["uid"])),
            ],
            &[],
        );
        check(
            "io.k8s.api.apps.v1.DeploymentSpec",
            "strategy",
            &[("x-kubernetes-patch-strategy", json!("retainKeys"))],
            &["x-kubernetes-patch-merge-key", "x-kubernetes-list-type"],
        );
    }

    #[test]
    fn reference_properties_keep_their_reference() {
        let (v2, _, apps) = documents();
        // v2, as upstream's swagger.json: the extension next to the `$ref`.
        let strategy = property(
            &v2["definitions"],
            "io.k8s.api.apps.v1.DeploymentSpec",
            "strategy",
        );
        assert_eq!(
            strategy["$ref"], "#/definitions/io.k8s.api.apps.v1.DeploymentStrategy",
            "{strategy:#}"
        );
        // v3: the reference in `allOf`, the extension beside it.
        let strategy = property(
            &apps["components"]["schemas"],
            "io.k8s.api.apps.v1.DeploymentSpec",
            "strategy",
        );
        assert!(strategy.get("$ref").is_none(), "{strategy:#}");
        assert_eq!(
            strategy["allOf"],
            json!([{ "$ref": "#/components/schemas/io.k8s.api.apps.v1.DeploymentStrategy" }])
        );
        assert_eq!(strategy["x-kubernetes-patch-strategy"], "retainKeys");
    }

    #[test]
    fn atomic_structs() {
        for (dialect, definitions) in definitions() {
            for name in [
                "io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector",
                "io.k8s.api.core.v1.LocalObjectReference",
            ] {
                let Some(definition) = definitions.get(name) else {
                    continue;
                };
                assert_eq!(
                    definition["x-kubernetes-map-type"], "atomic",
                    "{dialect:?} {name}"
                );
            }
            let pod_spec = &definitions["io.k8s.api.core.v1.PodSpec"];
            assert!(pod_spec.get("x-kubernetes-map-type").is_none());
        }
        check(
            "io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector",
            "matchExpressions",
            &[("x-kubernetes-list-type", json!("atomic"))],
            &[],
        );
    }

    /// Every type of the table that has markers and appears in a document is found by its
    /// definition name (a naming mismatch would silently drop its extensions).
    #[test]
    fn every_annotated_definition_is_found() {
        let (v2, _, _) = documents();
        let Some(definitions) = v2["definitions"].as_object() else {
            panic!("no definitions")
        };
        let names: std::collections::HashSet<String> =
            definitions.keys().map(|n| n.to_ascii_lowercase()).collect();
        for expected in [
            "io.k8s.api.core.v1.podspec",
            "io.k8s.api.apps.v1.deploymentspec",
            "io.k8s.apimachinery.pkg.apis.meta.v1.objectmeta",
            "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.customresourcedefinitionspec",
            "io.k8s.kube-aggregator.pkg.apis.apiregistration.v1.apiservicestatus",
        ] {
            assert!(index().contains_key(expected), "{expected} not indexed");
            assert!(names.contains(expected), "{expected} not in the document");
        }
        let served = index().keys().filter(|n| names.contains(*n)).count();
        assert!(served > 100, "only {served} annotated definitions served");
    }
}
