//! OpenAPI documents: `/openapi/v3` (the index), `/openapi/v3/<api|apis/group>/<version>` and
//! `/openapi/v2`, generated from the catalog (paths, operations and their query parameters) and the
//! k8s-openapi schemas of the built-in kinds (`components.schemas` / `definitions`, named as
//! upstream names them, e.g. `io.k8s.api.core.v1.Pod`, with `x-kubernetes-group-version-kind`).
//!
//! kubectl reads these to decide whether the server validates fields itself (the `fieldValidation`
//! parameter on POST/PUT/PATCH), for `kubectl explain`, and for client-side `kubectl apply`, which
//! computes strategic merge patches from the structural extensions (submodule `extensions`:
//! `x-kubernetes-patch-merge-key`, `x-kubernetes-list-type`, ..., from the schema table the
//! server's own patch code uses). Documents are generated once, on first use (start-up warms them),
//! and served from memory with a content hash for client-side caching.

use std::{
    collections::{BTreeMap, HashMap},
    sync::{Arc, OnceLock},
};

use axum::{
    extract::{Path, RawQuery, State},
    response::{IntoResponse, Response},
};
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde_json::{Map, Value, json};
use sha2::{Digest as _, Sha512};
use tugboat_machinery::catalog::{Catalog, ResourceInfo};

use crate::{app::AppState, errors::Failure, typed};

mod extensions;

/// The generated documents.
#[derive(Debug)]
pub struct OpenApi {
    catalog: Arc<Catalog>,
    v3: OnceLock<V3>,
    v2: OnceLock<Bytes>,
}

#[derive(Debug)]
struct V3 {
    index: Bytes,
    /// Documents by path (`api/v1`, `apis/apps/v1`): (hash, JSON).
    documents: HashMap<String, (String, Bytes)>,
}

impl OpenApi {
    /// Documents for a catalog, generated on first use.
    pub fn new(catalog: Arc<Catalog>) -> Self {
        OpenApi {
            catalog,
            v3: OnceLock::new(),
            v2: OnceLock::new(),
        }
    }

    /// Generate every document now (start-up calls this off the async threads, so that the first
    /// `kubectl create -f` does not wait for it).
    pub fn warm(&self) {
        self.v3();
        self.v2();
    }

    fn v3(&self) -> &V3 {
        self.v3.get_or_init(|| build_v3(&self.catalog))
    }

    fn v2(&self) -> &Bytes {
        self.v2.get_or_init(|| build_v2(&self.catalog))
    }
}

fn group_version_path(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

fn build_v3(catalog: &Catalog) -> V3 {
    let mut documents = HashMap::new();
    let mut index = Map::new();
    for (group, version) in catalog.group_versions() {
        let resources = catalog.resources(&group, &version);
        let document = gv_document(&resources, &group, &version, Dialect::V3);
        let bytes = Bytes::from(serde_json::to_vec(&document).unwrap_or_default());
        let hash = hex_hash(&bytes);
        let path = group_version_path(&group, &version);
        index.insert(
            path.clone(),
            json!({ "serverRelativeURL": format!("/openapi/v3/{path}?hash={hash}") }),
        );
        documents.insert(path, (hash, bytes));
    }
    let index = json!({ "paths": index });
    V3 {
        index: Bytes::from(serde_json::to_vec(&index).unwrap_or_default()),
        documents,
    }
}

fn build_v2(catalog: &Catalog) -> Bytes {
    let mut paths = Map::new();
    let mut definitions = Map::new();
    for (group, version) in catalog.group_versions() {
        let resources = catalog.resources(&group, &version);
        let document = gv_document(&resources, &group, &version, Dialect::V2);
        if let Some(Value::Object(p)) = document.get("paths") {
            paths.extend(p.clone());
        }
        if let Some(Value::Object(d)) = document.get("definitions") {
            definitions.extend(d.clone());
        }
    }
    let document = json!({
        "swagger": "2.0",
        "info": { "title": "Kubernetes", "version": crate::KUBERNETES_VERSION },
        "paths": paths,
        "definitions": definitions,
    });
    Bytes::from(serde_json::to_vec(&document).unwrap_or_default())
}

fn hex_hash(bytes: &[u8]) -> String {
    Sha512::digest(bytes)
        .iter()
        .take(64)
        .map(|b| format!("{b:02X}"))
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dialect {
    V2,
    V3,
}

impl Dialect {
    fn reference(self, name: &str) -> Value {
        match self {
            Dialect::V2 => json!({ "$ref": format!("#/definitions/{name}") }),
            Dialect::V3 => json!({ "$ref": format!("#/components/schemas/{name}") }),
        }
    }
}

/// The document of one group version.
fn gv_document(
    resources: &[Arc<ResourceInfo>],
    group: &str,
    version: &str,
    dialect: Dialect,
) -> Value {
    let settings = match dialect {
        // Swagger 2.0 keeps a reference's siblings (description, extensions) beside the `$ref`, as
        // upstream's swagger.json does: client-go's v2 model (kube-openapi `util/proto`) follows a
        // `$ref` but reads a property that is only an `allOf` as untyped.
        Dialect::V2 => schemars::generate::SchemaSettings::openapi3().with(|s| {
            s.definitions_path = "/definitions".into();
            s.meta_schema = None;
            s.transforms
                .retain(|t| !t.is::<schemars::transform::RemoveRefSiblings>());
        }),
        Dialect::V3 => {
            schemars::generate::SchemaSettings::openapi3().with(|s| s.meta_schema = None)
        }
    };
    let mut generator = settings.into_generator();
    let mut gvk_of: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    let mut paths = Map::new();
    for meta_kind in ["DeleteOptions", "Status", "Patch"] {
        register_meta(&mut generator, meta_kind);
    }
    for info in resources {
        let Some(kind) = typed::lookup(&info.api_version(), &info.kind) else {
            continue;
        };
        (kind.schema)(&mut generator);
        let name = (kind.schema_name)().into_owned();
        gvk_of
            .entry(name.clone())
            .or_default()
            .push(json!({ "group": info.group, "kind": info.kind, "version": info.version }));
        add_paths(&mut paths, info, &name, dialect);
        for sub in &info.subresources {
            let sub_api_version = if sub.group.is_empty() {
                sub.version.clone()
            } else {
                format!("{}/{}", sub.group, sub.version)
            };
            if let Some(sub_kind) = typed::lookup(&sub_api_version, &sub.kind) {
                (sub_kind.schema)(&mut generator);
                let sub_name = (sub_kind.schema_name)().into_owned();
                gvk_of
                    .entry(sub_name)
                    .or_default()
                    .push(json!({ "group": sub.group, "kind": sub.kind, "version": sub.version }));
            }
        }
    }
    let mut definitions = generator.take_definitions(true);
    for (name, gvks) in gvk_of {
        if let Some(Value::Object(schema)) = definitions.get_mut(&name) {
            schema.insert("x-kubernetes-group-version-kind".into(), Value::Array(gvks));
        }
    }
    extensions::annotate(&mut definitions, dialect);
    let title = "Kubernetes";
    let _ = (group, version);
    match dialect {
        Dialect::V3 => json!({
            "openapi": "3.0.0",
            "info": { "title": title, "version": crate::KUBERNETES_VERSION },
            "paths": paths,
            "components": { "schemas": definitions },
        }),
        Dialect::V2 => json!({ "paths": paths, "definitions": definitions }),
    }
}

fn register_meta(generator: &mut schemars::SchemaGenerator, kind: &str) {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1 as meta;
    match kind {
        "DeleteOptions" => {
            generator.subschema_for::<meta::DeleteOptions>();
        }
        "Status" => {
            generator.subschema_for::<meta::Status>();
        }
        "Patch" => {
            generator.subschema_for::<meta::Patch>();
        }
        _ => {}
    }
}

fn query_parameter(name: &str, description: &str, kind: &str) -> Value {
    json!({
        "name": name,
        "in": "query",
        "description": description,
        "schema": { "type": kind, "uniqueItems": true },
    })
}

fn write_parameters() -> Vec<Value> {
    vec![
        query_parameter(
            "dryRun",
            "When present, indicates that modifications should not be persisted.",
            "string",
        ),
        query_parameter(
            "fieldManager",
            "fieldManager is a name associated with the actor or entity that is making these changes.",
            "string",
        ),
        query_parameter(
            "fieldValidation",
            "fieldValidation instructs the server on how to handle objects in the request (POST/PUT/PATCH) containing unknown or duplicate fields. Valid values are: - Ignore - Warn - Strict",
            "string",
        ),
    ]
}

fn list_parameters() -> Vec<Value> {
    [
        ("allowWatchBookmarks", "boolean"),
        ("continue", "string"),
        ("fieldSelector", "string"),
        ("labelSelector", "string"),
        ("limit", "integer"),
        ("resourceVersion", "string"),
        ("resourceVersionMatch", "string"),
        ("sendInitialEvents", "boolean"),
        ("timeoutSeconds", "integer"),
        ("watch", "boolean"),
    ]
    .iter()
    .map(|(name, kind)| query_parameter(name, name, kind))
    .collect()
}

fn add_paths(
    paths: &mut Map<String, Value>,
    info: &ResourceInfo,
    schema_name: &str,
    dialect: Dialect,
) {
    let prefix = if info.group.is_empty() {
        format!("/api/{}", info.version)
    } else {
        format!("/apis/{}/{}", info.group, info.version)
    };
    let collection = if info.scope.is_namespaced() {
        format!("{prefix}/namespaces/{{namespace}}/{}", info.plural)
    } else {
        format!("{prefix}/{}", info.plural)
    };
    let gvk = json!({ "group": info.group, "kind": info.kind, "version": info.version });
    let body = |dialect: Dialect| match dialect {
        Dialect::V3 => json!({
            "requestBody": { "content": { "*/*": { "schema": dialect.reference(schema_name) } }, "required": true }
        }),
        Dialect::V2 => json!({
            "parameters": [{ "name": "body", "in": "body", "required": true, "schema": dialect.reference(schema_name) }]
        }),
    };
    let response = |dialect: Dialect| match dialect {
        Dialect::V3 => {
            json!({ "200": { "description": "OK", "content": { "application/json": { "schema": dialect.reference(schema_name) } } } })
        }
        Dialect::V2 => {
            json!({ "200": { "description": "OK", "schema": dialect.reference(schema_name) } })
        }
    };
    let operation = |action: &str, verb_name: &str, with_body: bool, parameters: Vec<Value>| {
        let mut op = json!({
            "operationId": format!("{verb_name}{}", info.kind),
            "x-kubernetes-action": action,
            "x-kubernetes-group-version-kind": gvk,
            "responses": response(dialect),
        });
        let mut parameters = parameters;
        if with_body {
            if let (Dialect::V2, Some(Value::Array(body_params))) =
                (dialect, body(dialect).get("parameters"))
            {
                parameters.extend(body_params.iter().cloned());
            } else if let Some(request_body) = body(dialect).get("requestBody") {
                op["requestBody"] = request_body.clone();
            }
        }
        if !parameters.is_empty() {
            op["parameters"] = Value::Array(parameters);
        }
        op
    };
    let mut collection_ops = Map::new();
    if info.has_verb("list") {
        collection_ops.insert(
            "get".into(),
            operation("list", "list", false, list_parameters()),
        );
    }
    if info.has_verb("create") {
        collection_ops.insert(
            "post".into(),
            operation("post", "create", true, write_parameters()),
        );
    }
    if info.has_verb("deletecollection") {
        collection_ops.insert(
            "delete".into(),
            operation("deletecollection", "deleteCollection", false, Vec::new()),
        );
    }
    if !collection_ops.is_empty() {
        paths.insert(collection.clone(), Value::Object(collection_ops));
    }
    let mut item_ops = Map::new();
    if info.has_verb("get") {
        item_ops.insert("get".into(), operation("get", "read", false, Vec::new()));
    }
    if info.has_verb("update") {
        item_ops.insert(
            "put".into(),
            operation("put", "replace", true, write_parameters()),
        );
    }
    if info.has_verb("patch") {
        let mut patch = operation("patch", "patch", false, write_parameters());
        if dialect == Dialect::V3 {
            patch["requestBody"] = json!({ "content": {
                "application/apply-patch+yaml": { "schema": dialect.reference("io.k8s.apimachinery.pkg.apis.meta.v1.Patch") },
                "application/json-patch+json": { "schema": dialect.reference("io.k8s.apimachinery.pkg.apis.meta.v1.Patch") },
                "application/merge-patch+json": { "schema": dialect.reference("io.k8s.apimachinery.pkg.apis.meta.v1.Patch") },
                "application/strategic-merge-patch+json": { "schema": dialect.reference("io.k8s.apimachinery.pkg.apis.meta.v1.Patch") },
            }, "required": true });
        }
        item_ops.insert("patch".into(), patch);
    }
    if info.has_verb("delete") {
        item_ops.insert(
            "delete".into(),
            operation("delete", "delete", false, Vec::new()),
        );
    }
    if !item_ops.is_empty() {
        paths.insert(format!("{collection}/{{name}}"), Value::Object(item_ops));
    }
}

/// `GET /openapi/v3`.
pub async fn v3_index(State(state): State<Arc<AppState>>) -> Response {
    json_response(state.openapi.v3().index.clone(), None)
}

/// `GET /openapi/v3/<path>`.
pub async fn v3_document(
    State(state): State<Arc<AppState>>,
    Path(path): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    match state.openapi.v3().documents.get(path.trim_matches('/')) {
        Some((hash, bytes)) => {
            let immutable = query.is_some_and(|q| q.contains(&format!("hash={hash}")));
            json_response(bytes.clone(), Some((hash, immutable)))
        }
        None => Failure(crate::app::not_found_path()).into_response(),
    }
}

/// `GET /openapi/v2`.
pub async fn v2(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let wants_json =
        accept.is_empty() || accept.contains("application/json") || accept.contains("*/*");
    if !wants_json {
        // The protobuf form of OpenAPI v2 (gnostic) is not produced; JSON is always acceptable
        // to kubectl, which lists it second.
        return Failure(tugboat_machinery::status::ApiError::not_acceptable(&[
            "application/json",
        ]))
        .into_response();
    }
    json_response(state.openapi.v2().clone(), None)
}

fn json_response(body: Bytes, hash: Option<(&String, bool)>) -> Response {
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Some((hash, immutable)) = hash {
        if let Ok(etag) = HeaderValue::from_str(&format!("\"{hash}\"")) {
            headers.insert(header::ETAG, etag);
        }
        let cache = if immutable {
            "public, immutable"
        } else {
            "no-cache, private"
        };
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    }
    response
}
