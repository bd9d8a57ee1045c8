//! The registry: one generic [`store::Store`] per resource, running per-kind
//! [`strategy::Strategy`] hooks (built from [`defaults`] and [`validation`]), over the watch cache
//! and storage.

pub mod conversion;
pub mod defaults;
pub mod deletion;
pub mod meta;
pub mod quota;
pub mod runtime_class;
pub mod service_ips;
pub mod store;
pub mod strategy;
pub mod subresources;
pub mod validation;

use std::{
    collections::{BTreeMap, HashMap},
    sync::{Arc, RwLock},
    time::Duration,
};

use serde_json::Value;
use tokio::sync::watch;
use tugboat_machinery::catalog::{Catalog, ResourceInfo, StorageInfo};
use tugboat_storage::Backend;

use crate::cache::{Attributes, DEFAULT_RING_CAPACITY, Extractor, Reflector, ResourceCache};

/// Every resource's store, built from the catalog.
#[derive(Debug)]
pub struct Registry {
    catalog: RwLock<Arc<Catalog>>,
    /// Stores by (group, version, plural).
    stores: RwLock<HashMap<(String, String, String), Arc<store::Store>>>,
    /// `--service-cidr`, for ClusterIP allocation.
    pub service_cidr: service_ips::ServiceCidr,
    /// Serializes this server's NodePort picks.
    node_port_lock: tokio::sync::Mutex<()>,
    /// Turns true when the server stops: open watches end then, so that clients reconnect
    /// elsewhere instead of waiting out the drain.
    pub(crate) shutdown: watch::Receiver<bool>,
}

impl Registry {
    /// Build a store for every stored resource of `catalog` and start one watch cache per
    /// storage key prefix. A resource served in another version than its storage version
    /// (events.k8s.io/v1 Events, autoscaling/v1 HPAs) gets a store that converts, sharing the
    /// storage version's prefix and watch cache.
    pub fn new(
        catalog: Catalog,
        backend: Arc<dyn Backend>,
        event_ttl: Duration,
        service_cidr: service_ips::ServiceCidr,
        shutdown: watch::Receiver<bool>,
    ) -> Arc<Self> {
        let mut stores = HashMap::new();
        let mut caches: HashMap<String, Arc<ResourceCache>> = HashMap::new();
        for info in catalog.in_discovery_order() {
            let StorageInfo::Etcd {
                key_prefix,
                group: storage_group,
                ..
            } = &info.storage
            else {
                continue;
            };
            let conversion = match conversion::Conversion::for_resource(&info) {
                Ok(conversion) => conversion,
                Err(error) => {
                    tracing::warn!(resource = %info.plural, group = %info.group, %error, "not serving a resource");
                    continue;
                }
            };
            let prefix = format!("{key_prefix}/");
            // One watch cache per storage prefix, whichever versions are served from it.
            // Selectable fields follow the stored kind, so any of its rows extracts the same.
            let cache = caches
                .entry(prefix.clone())
                .or_insert_with(|| {
                    let cache =
                        ResourceCache::new(prefix.clone(), backend.clone(), DEFAULT_RING_CAPACITY);
                    tokio::spawn(Reflector::run(
                        cache.clone(),
                        extractor(&info),
                        shutdown.clone(),
                    ));
                    cache
                })
                .clone();
            let ttl = (storage_group.is_empty() && info.plural == "events").then_some(event_ttl);
            let strategy = match &conversion {
                Some(conversion) => {
                    conversion.strategy(strategy::for_resource(&conversion.storage_info(&info)))
                }
                None => strategy::for_resource(&info),
            };
            let key = (
                info.group.clone(),
                info.version.clone(),
                info.plural.clone(),
            );
            let store =
                store::Store::new(info.clone(), prefix, backend.clone(), cache, strategy, ttl);
            let store = match conversion {
                Some(conversion) => store.with_conversion(conversion),
                None => store,
            };
            stores.insert(key, Arc::new(store));
        }
        Arc::new(Registry {
            catalog: RwLock::new(Arc::new(catalog)),
            stores: RwLock::new(stores),
            service_cidr,
            node_port_lock: tokio::sync::Mutex::new(()),
            shutdown,
        })
    }

    /// The catalog as it is now.
    pub fn catalog(&self) -> Arc<Catalog> {
        self.catalog
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The store serving a resource.
    pub fn store(&self, group: &str, version: &str, plural: &str) -> Option<Arc<store::Store>> {
        self.stores
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&(group.to_owned(), version.to_owned(), plural.to_owned()))
            .cloned()
    }

    /// The NamespaceLifecycle check upstream's admission makes before a namespaced create: the
    /// namespace must exist (404) and must not be terminating (403).
    pub async fn check_namespace_for_create(
        &self,
        namespace: &str,
        info: &ResourceInfo,
        name: &str,
    ) -> Result<(), tugboat_machinery::status::ApiError> {
        use tugboat_machinery::status::ApiError;
        let Some(namespaces) = self.store("", "v1", "namespaces") else {
            return Ok(());
        };
        let current = match namespaces.get(None, namespace).await {
            Ok(current) => current.to_value()?,
            Err(error) if error.code == 404 => {
                return Err(ApiError::not_found("", "namespaces", namespace));
            }
            Err(error) => return Err(error),
        };
        let terminating = meta::string(&current, "deletionTimestamp").is_some()
            || current
                .get("status")
                .and_then(|s| s.get("phase"))
                .and_then(Value::as_str)
                == Some("Terminating");
        if terminating {
            return Err(ApiError::forbidden(
                &info.group,
                &info.plural,
                name,
                &format!(
                    "unable to create new content in namespace {namespace} because it is being terminated"
                ),
            ));
        }
        Ok(())
    }

    /// Objects per resource (group-qualified, e.g. `deployments.apps`), from the watch caches.
    pub fn object_counts(&self) -> Vec<(String, usize)> {
        let stores = self.stores.read().unwrap_or_else(|p| p.into_inner());
        let mut counts: Vec<(String, usize)> = stores
            .values()
            .map(|store| {
                let name = if store.info.group.is_empty() {
                    store.info.plural.clone()
                } else {
                    format!("{}.{}", store.info.plural, store.info.group)
                };
                (name, store.cache.len())
            })
            .collect();
        counts.sort();
        counts
    }

    /// Whether every watch cache finished its first list.
    pub fn caches_ready(&self) -> bool {
        self.stores
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .all(|s| s.cache.is_ready())
    }
}

/// The fields each kind supports in field selectors, besides `metadata.name` and
/// `metadata.namespace` (upstream's per-kind `GetAttrs` / field label conversion funcs).
///
/// They are read from stored objects, so they are the stored kind's: a resource served in
/// another version (events.k8s.io/v1 Events) has its own names mapped to these first
/// ([`conversion::Conversion::field_selector_to_storage`]).
pub fn selectable_fields(info: &ResourceInfo) -> &'static [&'static str] {
    let group = match &info.storage {
        StorageInfo::Etcd { group, .. } => group.as_str(),
        StorageInfo::Virtual => info.group.as_str(),
    };
    match (group, info.plural.as_str()) {
        ("", "pods") => &[
            "spec.nodeName",
            "spec.restartPolicy",
            "spec.schedulerName",
            "spec.serviceAccountName",
            "spec.hostNetwork",
            "status.phase",
            "status.podIP",
            "status.podIPs",
            "status.nominatedNodeName",
        ],
        ("", "events") => &[
            "involvedObject.kind",
            "involvedObject.namespace",
            "involvedObject.name",
            "involvedObject.uid",
            "involvedObject.apiVersion",
            "involvedObject.resourceVersion",
            "involvedObject.fieldPath",
            "reason",
            "reportingComponent",
            "source",
            "type",
        ],
        ("", "secrets") => &["type"],
        ("", "namespaces") => &["status.phase"],
        ("", "nodes") => &["spec.unschedulable"],
        ("", "replicationcontrollers") | ("apps", "replicasets") => &["status.replicas"],
        ("batch", "jobs") => &["status.successful"],
        ("certificates.k8s.io", "certificatesigningrequests") => &["spec.signerName"],
        _ => &[],
    }
}

/// Read the attributes selectors need from a stored object of `info`'s kind.
fn extractor(info: &ResourceInfo) -> Extractor {
    let fields = selectable_fields(info);
    Arc::new(move |bytes: &[u8]| {
        let value: Value = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        Ok(attributes_of(&value, fields))
    })
}

/// The attributes of an object.
pub fn attributes_of(value: &Value, fields: &[&str]) -> Attributes {
    let namespace = meta::namespace(value).unwrap_or_default().to_owned();
    let name = meta::name(value).unwrap_or_default().to_owned();
    let labels: BTreeMap<String, String> = value
        .get("metadata")
        .and_then(|m| m.get("labels"))
        .and_then(Value::as_object)
        .map(|labels| {
            labels
                .iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                .collect()
        })
        .unwrap_or_default();
    let mut selectable = BTreeMap::new();
    selectable.insert("metadata.name".to_owned(), name.clone());
    if !namespace.is_empty() {
        selectable.insert("metadata.namespace".to_owned(), namespace.clone());
    }
    for field in fields {
        let mut current = Some(value);
        for part in field.split('.') {
            current = current.and_then(|v| v.get(part));
        }
        let text = match current {
            // A core Event's `source` label is its source component, or else its reporting
            // controller (upstream's `EventToSelectableFields`).
            _ if *field == "source" => current
                .and_then(|source| source.get("component"))
                .and_then(Value::as_str)
                .filter(|c| !c.is_empty())
                .or_else(|| value.get("reportingComponent").and_then(Value::as_str))
                .unwrap_or_default()
                .to_owned(),
            Some(Value::String(s)) => s.clone(),
            Some(Value::Bool(b)) => b.to_string(),
            Some(Value::Number(n)) => n.to_string(),
            // Upstream renders an unset field as its zero value.
            _ => match *field {
                "spec.hostNetwork" | "spec.unschedulable" => "false".to_owned(),
                "status.replicas" | "status.successful" => "0".to_owned(),
                _ => String::new(),
            },
        };
        selectable.insert((*field).to_owned(), text);
    }
    Attributes {
        namespace,
        name,
        labels,
        fields: selectable,
    }
}
