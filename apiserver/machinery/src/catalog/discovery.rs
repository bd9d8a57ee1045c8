//! Discovery documents generated from a [`Catalog`], shaped exactly as kube-apiserver serves them
//! (compared field by field with upstream's golden `api/discovery/*.json` in the unit tests):
//!
//! - `GET /api`: [`api_versions`] (`APIVersions`);
//! - `GET /apis`: [`api_group_list`] (`APIGroupList`), `GET /apis/<group>`: [`api_group`];
//! - `GET /api/v1`, `GET /apis/<group>/<version>`: [`api_resource_list`] (`APIResourceList`, with
//!   subresources as `pods/status` rows);
//! - aggregated discovery, `Accept: application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList`:
//!   [`aggregated_api`] for `/api` and [`aggregated_apis`] for `/apis`.
//!
//! k8s-openapi 0.29 has no `apidiscovery.k8s.io` types, so every document is a `serde_json::Value`.
//! Quirks kept on purpose, because clients see them: `/api/v1` has no `apiVersion` while
//! `/apis/<g>/<v>` has `apiVersion: v1`; subresource rows have `singularName: ""`; aggregated
//! `responseKind` leaves `group` and `version` empty unless they differ from the resource's;
//! aggregated group metadata carries `creationTimestamp: null`; upstream sets no `acceptedTypes`.
//!
//! Not verified against a golden document: aggregated `/api` (upstream keeps golden aggregated data
//! only for `/apis`); its single core item is built like the others, with no `metadata.name`.

use serde_json::{Map, Value, json};

use super::{Catalog, GroupInfo, ResourceInfo, group_version_string};

/// One `serverAddressByClientCIDRs` entry of `GET /api`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerAddress {
    /// The client network, e.g. `0.0.0.0/0`.
    pub client_cidr: String,
    /// `host:port` clients in that network should use.
    pub server_address: String,
}

/// `GET /api`: the core group's versions and the server's addresses.
pub fn api_versions(addresses: &[ServerAddress]) -> Value {
    let addresses: Vec<Value> = addresses
        .iter()
        .map(|a| json!({"clientCIDR": a.client_cidr, "serverAddress": a.server_address}))
        .collect();
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": addresses,
    })
}

fn group_json(group: &GroupInfo) -> Value {
    let version =
        |v: &str| json!({"groupVersion": group_version_string(&group.name, v), "version": v});
    let versions: Vec<Value> = group.versions.iter().map(|v| version(v)).collect();
    let mut out = json!({"name": group.name, "versions": versions});
    if let (Some(preferred), Some(obj)) = (group.preferred_version(), out.as_object_mut()) {
        obj.insert("preferredVersion".to_owned(), version(preferred));
    }
    out
}

/// `GET /apis`: every named group (not core) in discovery order with its preferred version.
pub fn api_group_list(catalog: &Catalog) -> Value {
    let groups: Vec<Value> = catalog
        .groups()
        .iter()
        .filter(|g| !g.name.is_empty())
        .map(group_json)
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// `GET /apis/<group>`; `None` if no version of the group is served.
pub fn api_group(catalog: &Catalog, group: &str) -> Option<Value> {
    if group.is_empty() {
        return None;
    }
    let group = catalog.group(group)?;
    let mut out = group_json(&group);
    let obj = out.as_object_mut()?;
    obj.insert("kind".to_owned(), json!("APIGroup"));
    obj.insert("apiVersion".to_owned(), json!("v1"));
    Some(out)
}

fn insert_list(obj: &mut Map<String, Value>, key: &str, items: &[String]) {
    if !items.is_empty() {
        obj.insert(key.to_owned(), json!(items));
    }
}

fn resource_rows(info: &ResourceInfo) -> Vec<Value> {
    let mut main = Map::new();
    main.insert("name".to_owned(), json!(info.plural));
    main.insert("singularName".to_owned(), json!(info.singular));
    main.insert("namespaced".to_owned(), json!(info.scope.is_namespaced()));
    main.insert("kind".to_owned(), json!(info.kind));
    main.insert("verbs".to_owned(), json!(info.verbs));
    insert_list(&mut main, "shortNames", &info.short_names);
    insert_list(&mut main, "categories", &info.categories);
    if let Some(hash) = info.storage_version_hash() {
        main.insert("storageVersionHash".to_owned(), json!(hash));
    }
    let mut rows = vec![Value::Object(main)];
    for sub in &info.subresources {
        let mut row = Map::new();
        row.insert(
            "name".to_owned(),
            json!(format!("{}/{}", info.plural, sub.name)),
        );
        row.insert("singularName".to_owned(), json!(""));
        row.insert("namespaced".to_owned(), json!(info.scope.is_namespaced()));
        row.insert("kind".to_owned(), json!(sub.kind));
        row.insert("verbs".to_owned(), json!(sub.verbs));
        if sub.group != info.group || sub.version != info.version {
            row.insert("group".to_owned(), json!(sub.group));
            row.insert("version".to_owned(), json!(sub.version));
        }
        rows.push(Value::Object(row));
    }
    rows
}

/// `GET /api/v1` (group `""`) or `GET /apis/<group>/<version>`; `None` if nothing is served there.
/// Rows are sorted by name, subresources (`pods/status`) right after their resource.
pub fn api_resource_list(catalog: &Catalog, group: &str, version: &str) -> Option<Value> {
    let resources = catalog.resources(group, version);
    if resources.is_empty() {
        return None;
    }
    let mut rows: Vec<Value> = resources.iter().flat_map(|r| resource_rows(r)).collect();
    rows.sort_by(|a, b| {
        let name = |v: &Value| {
            v.get("name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned()
        };
        name(a).cmp(&name(b))
    });
    let mut out = Map::new();
    out.insert("kind".to_owned(), json!("APIResourceList"));
    if !group.is_empty() {
        out.insert("apiVersion".to_owned(), json!("v1"));
    }
    out.insert(
        "groupVersion".to_owned(),
        json!(group_version_string(group, version)),
    );
    out.insert("resources".to_owned(), Value::Array(rows));
    Some(Value::Object(out))
}

fn response_kind(info: &ResourceInfo, group: &str, version: &str, kind: &str) -> Value {
    let same = group == info.group && version == info.version;
    json!({
        "group": if same { "" } else { group },
        "version": if same { "" } else { version },
        "kind": kind,
    })
}

fn aggregated_resource(info: &ResourceInfo) -> Value {
    let mut obj = Map::new();
    obj.insert("resource".to_owned(), json!(info.plural));
    obj.insert(
        "responseKind".to_owned(),
        response_kind(info, &info.group, &info.version, &info.kind),
    );
    obj.insert("scope".to_owned(), json!(info.scope.as_str()));
    obj.insert("singularResource".to_owned(), json!(info.singular));
    obj.insert("verbs".to_owned(), json!(info.verbs));
    insert_list(&mut obj, "shortNames", &info.short_names);
    insert_list(&mut obj, "categories", &info.categories);
    if !info.subresources.is_empty() {
        let subs: Vec<Value> = info
            .subresources
            .iter()
            .map(|sub| {
                json!({
                    "subresource": sub.name,
                    "responseKind": response_kind(info, &sub.group, &sub.version, &sub.kind),
                    "verbs": sub.verbs,
                })
            })
            .collect();
        obj.insert("subresources".to_owned(), Value::Array(subs));
    }
    Value::Object(obj)
}

/// One `APIGroupDiscovery` item: the group's versions in priority order with their resources.
pub fn aggregated_group(catalog: &Catalog, group: &GroupInfo) -> Value {
    let versions: Vec<Value> = group
        .versions
        .iter()
        .map(|version| {
            let resources: Vec<Value> = catalog
                .resources(&group.name, version)
                .iter()
                .map(|r| aggregated_resource(r))
                .collect();
            json!({"version": version, "resources": resources, "freshness": "Current"})
        })
        .collect();
    let mut metadata = Map::new();
    metadata.insert("creationTimestamp".to_owned(), Value::Null);
    if !group.name.is_empty() {
        metadata.insert("name".to_owned(), json!(group.name));
    }
    json!({"metadata": metadata, "versions": versions})
}

fn aggregated_list(items: Vec<Value>) -> Value {
    json!({
        "apiVersion": "apidiscovery.k8s.io/v2",
        "kind": "APIGroupDiscoveryList",
        "metadata": {},
        "items": items,
    })
}

/// Aggregated discovery for `GET /api`: one item, the core group (no name).
pub fn aggregated_api(catalog: &Catalog) -> Value {
    let items = catalog
        .groups()
        .iter()
        .filter(|g| g.name.is_empty())
        .map(|g| aggregated_group(catalog, g))
        .collect();
    aggregated_list(items)
}

/// Aggregated discovery for `GET /apis`: every named group in discovery order.
pub fn aggregated_apis(catalog: &Catalog) -> Value {
    let items = catalog
        .groups()
        .iter()
        .filter(|g| !g.name.is_empty())
        .map(|g| aggregated_group(catalog, g))
        .collect();
    aggregated_list(items)
}
