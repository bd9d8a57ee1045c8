//! The resource catalog: every resource the API server serves, as data, and the lookups that the
//! router, the registry and discovery all share (STYLE.md point 4: routes and discovery come from one
//! table, so they cannot drift).
//!
//! This module owns:
//! - [`builtin::BUILTIN`], the static table of every resource kube-apiserver v1.37 serves with its
//!   default feature gates and default `--runtime-config` (no alpha or off-by-default beta APIs);
//! - [`ResourceInfo`], one catalog row (group, version, kind, plural, singular, scope, verbs, short
//!   names, categories, subresources, list kind, storage), built from the static table or at run time
//!   (CustomResourceDefinitions add and remove rows);
//! - [`Catalog`], the set of rows with lookups by resource, by kind, by short name and by singular
//!   name, the group versions in discovery order with their preferred versions, and each resource's
//!   storage (etcd key prefix and storage version, or virtual);
//! - [`discovery`], the discovery documents (`/api`, `/apis`, `/api/v1`, `/apis/<g>/<v>`, aggregated
//!   `apidiscovery.k8s.io/v2`) generated from a [`Catalog`].
//!
//! It holds no I/O and no locks: the API server wraps a `Catalog` in whatever lock it likes and swaps
//! rows in when CRDs change.
//!
//! # Where the facts come from
//!
//! See [`builtin`] for the sources of every row and the facts that could not be verified.

pub mod builtin;
pub mod discovery;
mod version;

#[cfg(test)]
mod tests;

use std::{
    cmp::Ordering,
    collections::{BTreeMap, HashMap},
    sync::Arc,
};

use base64::Engine as _;
use sha2::{Digest as _, Sha256};

pub use builtin::{BUILTIN, BUILTIN_GROUP_ORDER};
pub use version::compare_versions;

/// Whether objects of a resource live in a namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// `/namespaces/<ns>/<plural>/<name>`.
    Namespaced,
    /// `/<plural>/<name>`.
    Cluster,
}

impl Scope {
    /// The value of `scope` in aggregated discovery: `Namespaced` or `Cluster`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Namespaced => "Namespaced",
            Scope::Cluster => "Cluster",
        }
    }

    /// `true` for [`Scope::Namespaced`].
    pub fn is_namespaced(self) -> bool {
        self == Scope::Namespaced
    }
}

/// Kind of a subresource in the static table; `group`/`version` are `None` when they are the
/// parent resource's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubresourceDef {
    /// The subresource name, e.g. `status` (the path segment after the object name).
    pub name: &'static str,
    /// Group of the subresource's kind when it differs from the parent's (`autoscaling` for scale).
    pub group: Option<&'static str>,
    /// Version of the subresource's kind when it differs from the parent's.
    pub version: Option<&'static str>,
    /// Kind returned by the subresource, e.g. `Scale`, `PodExecOptions`.
    pub kind: &'static str,
    /// Verbs, sorted as upstream discovery reports them.
    pub verbs: &'static [&'static str],
}

/// How the static table records the storage of a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageDef {
    /// Stored in the datastore under `key_prefix` (`<key_prefix>/<namespace>/<name>` or
    /// `<key_prefix>/<name>`), encoded as `storage_group/storage_version, Kind=storage_kind`.
    Etcd {
        /// Upstream's etcd key prefix, without a trailing slash, e.g. `/registry/services/specs`.
        key_prefix: &'static str,
        /// Group of the storage version (differs from the resource's only for events.k8s.io).
        storage_group: &'static str,
        /// The storage version.
        storage_version: &'static str,
        /// Kind of the storage version.
        storage_kind: &'static str,
    },
    /// Not stored: create-only reviews, computed lists, or a view of another resource (`bindings`).
    Virtual,
}

/// One row of the static table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResourceDef {
    /// API group; empty for the core (legacy) group.
    pub group: &'static str,
    /// API version, e.g. `v1`.
    pub version: &'static str,
    /// Kind, e.g. `Pod`.
    pub kind: &'static str,
    /// Resource name (plural, lower case), e.g. `pods`.
    pub plural: &'static str,
    /// Singular name, e.g. `pod`.
    pub singular: &'static str,
    /// Namespaced or cluster-scoped.
    pub scope: Scope,
    /// Verbs, sorted as upstream discovery reports them.
    pub verbs: &'static [&'static str],
    /// Short names, in upstream's order.
    pub short_names: &'static [&'static str],
    /// Categories, e.g. `all`, `api-extensions`.
    pub categories: &'static [&'static str],
    /// Subresources, sorted by name.
    pub subresources: &'static [SubresourceDef],
    /// Where objects are stored.
    pub storage: StorageDef,
}

/// A subresource of a catalog row, with its kind fully qualified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubresourceInfo {
    /// The subresource name, e.g. `status`.
    pub name: String,
    /// Group of the kind the subresource returns.
    pub group: String,
    /// Version of the kind the subresource returns.
    pub version: String,
    /// Kind the subresource returns.
    pub kind: String,
    /// Verbs, sorted.
    pub verbs: Vec<String>,
}

/// Storage of a catalog row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StorageInfo {
    /// Stored in the datastore.
    Etcd {
        /// Key prefix without a trailing slash; object keys are `<prefix>/<ns>/<name>` or
        /// `<prefix>/<name>`.
        key_prefix: String,
        /// Group of the storage version.
        group: String,
        /// The storage version.
        version: String,
        /// Kind of the storage version.
        kind: String,
    },
    /// Not stored (create-only reviews, computed lists, views of other resources).
    Virtual,
}

impl StorageInfo {
    /// Storage of a custom resource: upstream keeps them at `/registry/<group>/<plural>`, encoded
    /// in the CRD's storage version.
    pub fn custom_resource(group: &str, plural: &str, storage_version: &str, kind: &str) -> Self {
        StorageInfo::Etcd {
            key_prefix: format!("/registry/{group}/{plural}"),
            group: group.to_owned(),
            version: storage_version.to_owned(),
            kind: kind.to_owned(),
        }
    }

    /// The key prefix of a stored resource; `None` for a virtual one.
    pub fn key_prefix(&self) -> Option<&str> {
        match self {
            StorageInfo::Etcd { key_prefix, .. } => Some(key_prefix),
            StorageInfo::Virtual => None,
        }
    }
}

/// One catalog row: everything the router, the registry and discovery need about a resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceInfo {
    /// API group; empty for the core group.
    pub group: String,
    /// API version.
    pub version: String,
    /// Kind.
    pub kind: String,
    /// Kind of the list, `<Kind>List`.
    pub list_kind: String,
    /// Resource name (plural).
    pub plural: String,
    /// Singular name.
    pub singular: String,
    /// Namespaced or cluster-scoped.
    pub scope: Scope,
    /// Verbs, sorted.
    pub verbs: Vec<String>,
    /// Short names.
    pub short_names: Vec<String>,
    /// Categories.
    pub categories: Vec<String>,
    /// Subresources, sorted by name.
    pub subresources: Vec<SubresourceInfo>,
    /// Where objects are stored.
    pub storage: StorageInfo,
}

impl ResourceInfo {
    /// The row for a static-table entry.
    pub fn from_def(def: &ResourceDef) -> Self {
        let strings = |items: &[&str]| items.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let mut verbs = strings(def.verbs);
        verbs.sort();
        let mut subresources: Vec<SubresourceInfo> = def
            .subresources
            .iter()
            .map(|sub| {
                let mut verbs = strings(sub.verbs);
                verbs.sort();
                SubresourceInfo {
                    name: sub.name.to_owned(),
                    group: sub.group.unwrap_or(def.group).to_owned(),
                    version: sub.version.unwrap_or(def.version).to_owned(),
                    kind: sub.kind.to_owned(),
                    verbs,
                }
            })
            .collect();
        subresources.sort_by(|a, b| a.name.cmp(&b.name));
        let storage = match def.storage {
            StorageDef::Etcd {
                key_prefix,
                storage_group,
                storage_version,
                storage_kind,
            } => StorageInfo::Etcd {
                key_prefix: key_prefix.to_owned(),
                group: storage_group.to_owned(),
                version: storage_version.to_owned(),
                kind: storage_kind.to_owned(),
            },
            StorageDef::Virtual => StorageInfo::Virtual,
        };
        ResourceInfo {
            group: def.group.to_owned(),
            version: def.version.to_owned(),
            kind: def.kind.to_owned(),
            list_kind: format!("{}List", def.kind),
            plural: def.plural.to_owned(),
            singular: def.singular.to_owned(),
            scope: def.scope,
            verbs,
            short_names: strings(def.short_names),
            categories: strings(def.categories),
            subresources,
            storage,
        }
    }

    /// `apiVersion` of the resource's objects: `v1` for core, `<group>/<version>` otherwise.
    pub fn api_version(&self) -> String {
        group_version_string(&self.group, &self.version)
    }

    /// Whether the resource supports `verb` (`get`, `list`, `watch`, ...).
    pub fn has_verb(&self, verb: &str) -> bool {
        self.verbs.iter().any(|v| v == verb)
    }

    /// The subresource called `name`.
    pub fn subresource(&self, name: &str) -> Option<&SubresourceInfo> {
        self.subresources.iter().find(|s| s.name == name)
    }

    /// The datastore key prefix; `None` for a virtual resource.
    pub fn key_prefix(&self) -> Option<&str> {
        self.storage.key_prefix()
    }

    /// The key of one object: `<prefix>/<namespace>/<name>` or `<prefix>/<name>`.
    pub fn object_key(&self, namespace: Option<&str>, name: &str) -> Option<String> {
        let prefix = self.key_prefix()?;
        Some(match (self.scope, namespace) {
            (Scope::Namespaced, Some(ns)) => format!("{prefix}/{ns}/{name}"),
            _ => format!("{prefix}/{name}"),
        })
    }

    /// `storageVersionHash` as upstream discovery reports it (only for stored resources).
    pub fn storage_version_hash(&self) -> Option<String> {
        match &self.storage {
            StorageInfo::Etcd {
                group,
                version,
                kind,
                ..
            } => Some(storage_version_hash(group, version, kind)),
            StorageInfo::Virtual => None,
        }
    }

    fn check(&self) -> Result<(), CatalogError> {
        let empty = [
            ("version", &self.version),
            ("kind", &self.kind),
            ("plural", &self.plural),
            ("singular", &self.singular),
        ]
        .into_iter()
        .find(|(_, value)| value.is_empty());
        if let Some((field, _)) = empty {
            return Err(CatalogError::EmptyField {
                field,
                resource: format!("{}/{}", self.api_version(), self.plural),
            });
        }
        if self.verbs.is_empty() {
            return Err(CatalogError::EmptyField {
                field: "verbs",
                resource: format!("{}/{}", self.api_version(), self.plural),
            });
        }
        Ok(())
    }
}

/// `<group>/<version>`, or just `<version>` for the core group.
pub fn group_version_string(group: &str, version: &str) -> String {
    if group.is_empty() {
        version.to_owned()
    } else {
        format!("{group}/{version}")
    }
}

/// Upstream's `storageVersionHash`: base64 of the first 8 bytes of the SHA-256 of
/// `<group>/<version>/<kind>` of the storage version (`k8s.io/apiserver/pkg/endpoints/discovery`
/// `StorageVersionHash`; the core group is the empty string, so pods hash `/v1/Pod`).
pub fn storage_version_hash(group: &str, version: &str, kind: &str) -> String {
    let digest = Sha256::digest(format!("{group}/{version}/{kind}").as_bytes());
    base64::engine::general_purpose::STANDARD.encode(&digest[..8])
}

/// Errors changing the catalog.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogError {
    /// A row with the same group, version and plural is already in the catalog.
    #[error("resource {resource} is already in the catalog")]
    DuplicateResource {
        /// `<group>/<version>/<plural>`.
        resource: String,
    },
    /// Another row of the same group and version already has this kind.
    #[error("kind {kind} is already served by {resource}")]
    DuplicateKind {
        /// `<apiVersion>, Kind=<kind>`.
        kind: String,
        /// The row that serves it.
        resource: String,
    },
    /// A required field of the row is empty.
    #[error("resource {resource} has an empty {field}")]
    EmptyField {
        /// The field name.
        field: &'static str,
        /// `<apiVersion>/<plural>`.
        resource: String,
    },
}

/// One API group in discovery order with its versions, preferred version first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupInfo {
    /// Group name; empty for the core group.
    pub name: String,
    /// Versions in priority order; the first is the preferred version.
    pub versions: Vec<String>,
}

impl GroupInfo {
    /// The preferred version (the first).
    pub fn preferred_version(&self) -> Option<&str> {
        self.versions.first().map(String::as_str)
    }
}

type Gvr = (String, String, String);

/// The set of served resources. Lookups take `&self`; [`Catalog::insert`] and
/// [`Catalog::remove`] take `&mut self` (wrap the catalog in a lock to share it).
///
/// Invariants: (group, version, plural) is unique, and so is (group, version, kind).
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    by_resource: BTreeMap<Gvr, Arc<ResourceInfo>>,
    by_kind: HashMap<Gvr, Arc<ResourceInfo>>,
}

// === impl Catalog ===

impl Catalog {
    /// An empty catalog.
    pub fn new() -> Self {
        Self::default()
    }

    /// A catalog of every built-in resource of [`BUILTIN`].
    pub fn builtin() -> Self {
        let mut catalog = Self::new();
        for def in BUILTIN {
            // The static table is checked for duplicates by the unit tests, so this cannot fail;
            // should it ever, the first row wins and the duplicate is dropped.
            let _ = catalog.insert(ResourceInfo::from_def(def));
        }
        catalog
    }

    /// Adds a row (a CRD version becoming served). Fails if the resource or its kind is already
    /// served in that group version, or if a required field is empty.
    pub fn insert(&mut self, info: ResourceInfo) -> Result<Arc<ResourceInfo>, CatalogError> {
        info.check()?;
        let gvr = (
            info.group.clone(),
            info.version.clone(),
            info.plural.clone(),
        );
        if self.by_resource.contains_key(&gvr) {
            return Err(CatalogError::DuplicateResource {
                resource: format!("{}/{}/{}", gvr.0, gvr.1, gvr.2),
            });
        }
        let gvk = (info.group.clone(), info.version.clone(), info.kind.clone());
        if let Some(existing) = self.by_kind.get(&gvk) {
            return Err(CatalogError::DuplicateKind {
                kind: format!("{}, Kind={}", info.api_version(), info.kind),
                resource: format!("{}/{}", existing.api_version(), existing.plural),
            });
        }
        let info = Arc::new(info);
        self.by_resource.insert(gvr, Arc::clone(&info));
        self.by_kind.insert(gvk, Arc::clone(&info));
        Ok(info)
    }

    /// Removes the row for (group, version, plural) and returns it.
    pub fn remove(
        &mut self,
        group: &str,
        version: &str,
        plural: &str,
    ) -> Option<Arc<ResourceInfo>> {
        let gvr = (group.to_owned(), version.to_owned(), plural.to_owned());
        let info = self.by_resource.remove(&gvr)?;
        self.by_kind
            .remove(&(info.group.clone(), info.version.clone(), info.kind.clone()));
        Some(info)
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.by_resource.len()
    }

    /// Whether the catalog has no rows.
    pub fn is_empty(&self) -> bool {
        self.by_resource.is_empty()
    }

    /// The row for (group, version, plural), e.g. `("apps", "v1", "deployments")`.
    pub fn get(&self, group: &str, version: &str, plural: &str) -> Option<&Arc<ResourceInfo>> {
        self.by_resource
            .get(&(group.to_owned(), version.to_owned(), plural.to_owned()))
    }

    /// The row serving (group, version, kind), e.g. `("apps", "v1", "Deployment")`.
    pub fn by_kind(&self, group: &str, version: &str, kind: &str) -> Option<&Arc<ResourceInfo>> {
        self.by_kind
            .get(&(group.to_owned(), version.to_owned(), kind.to_owned()))
    }

    /// Rows with this short name, in discovery order (a short name may be shared across groups).
    pub fn by_short_name(&self, short_name: &str) -> Vec<Arc<ResourceInfo>> {
        self.in_discovery_order()
            .filter(|r| r.short_names.iter().any(|s| s == short_name))
            .collect()
    }

    /// Rows with this singular name, in discovery order.
    pub fn by_singular(&self, singular: &str) -> Vec<Arc<ResourceInfo>> {
        self.in_discovery_order()
            .filter(|r| r.singular == singular)
            .collect()
    }

    /// Rows of one group version, sorted by resource name (discovery's order).
    pub fn resources(&self, group: &str, version: &str) -> Vec<Arc<ResourceInfo>> {
        self.by_resource
            .range((group.to_owned(), version.to_owned(), String::new())..)
            .take_while(|((g, v, _), _)| g == group && v == version)
            .map(|(_, info)| Arc::clone(info))
            .collect()
    }

    /// Every row: core first, then groups and versions in discovery order, resources by name.
    pub fn in_discovery_order(&self) -> impl Iterator<Item = Arc<ResourceInfo>> + '_ {
        self.groups().into_iter().flat_map(move |group| {
            group
                .versions
                .into_iter()
                .flat_map(move |version| self.resources(&group.name, &version))
                .collect::<Vec<_>>()
        })
    }

    /// The groups in discovery order (core first, then built-in groups in upstream's order, then
    /// other groups by name), each with its versions in priority order.
    pub fn groups(&self) -> Vec<GroupInfo> {
        let mut groups: Vec<GroupInfo> = Vec::new();
        for (group, version, _) in self.by_resource.keys() {
            match groups.last_mut() {
                Some(last) if &last.name == group => {
                    if last.versions.last() != Some(version) {
                        last.versions.push(version.clone());
                    }
                }
                _ => groups.push(GroupInfo {
                    name: group.clone(),
                    versions: vec![version.clone()],
                }),
            }
        }
        for group in &mut groups {
            group.versions.sort_by(|a, b| compare_versions(a, b));
        }
        groups.sort_by(|a, b| compare_groups(&a.name, &b.name));
        groups
    }

    /// The group named `group`, if any resource of it is served.
    pub fn group(&self, group: &str) -> Option<GroupInfo> {
        self.groups().into_iter().find(|g| g.name == group)
    }

    /// The preferred version of `group`.
    pub fn preferred_version(&self, group: &str) -> Option<String> {
        self.group(group)
            .and_then(|g| g.preferred_version().map(str::to_owned))
    }

    /// Every (group, version) in discovery order.
    pub fn group_versions(&self) -> Vec<(String, String)> {
        self.groups()
            .into_iter()
            .flat_map(|g| {
                let name = g.name;
                g.versions
                    .into_iter()
                    .map(move |v| (name.clone(), v))
                    .collect::<Vec<_>>()
            })
            .collect()
    }
}

/// Core first, then built-in groups in [`BUILTIN_GROUP_ORDER`], then the rest by name.
fn compare_groups(a: &str, b: &str) -> Ordering {
    let rank = |g: &str| {
        if g.is_empty() {
            Some(0)
        } else {
            BUILTIN_GROUP_ORDER
                .iter()
                .position(|b| *b == g)
                .map(|i| i + 1)
        }
    };
    match (rank(a), rank(b)) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => a.cmp(b),
    }
}
