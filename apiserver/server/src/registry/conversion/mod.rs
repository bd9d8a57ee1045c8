//! Conversion between the version a resource is served in and the version it is stored in.
//!
//! Most resources are served in their storage version and need none of this. A few are served in
//! another version than the one their objects are stored as, under the same keys:
//! - `events.k8s.io/v1` Events, stored as core/v1 `Event` ([`events`]);
//! - `autoscaling/v1` HorizontalPodAutoscalers, stored as `autoscaling/v2` ([`hpa`]);
//! - GA versions stored as their previous beta for downgrades (`certificates.k8s.io/v1`
//!   ClusterTrustBundles and PodCertificateRequests, `resource.k8s.io/v1` DeviceTaintRules,
//!   `storagemigration.k8s.io/v1` StorageVersionMigrations): the same schema under another
//!   `apiVersion`, minus the fields the served version dropped.
//!
//! This module owns the [`Conversion`] of one such resource: storage form to served form for
//! everything that leaves the server (objects, watch events, Table rows), served form to storage
//! form for request bodies, the served version's field-selector names, and the served version's
//! own validation rules (events.k8s.io/v1 is stricter than core/v1). The store serving the other
//! version shares the storage version's key prefix, datastore and watch cache, so selectors match
//! attributes extracted from the stored form; only the labels are renamed
//! ([`Conversion::field_selector_to_storage`]).
//!
//! Conversions work on `serde_json::Value`s; HorizontalPodAutoscalers go through their
//! k8s-openapi types, since their conversion restructures metrics rather than renaming fields.

mod events;
mod hpa;

use bytes::Bytes;
use serde_json::Value;
use tugboat_machinery::{
    catalog::{ResourceInfo, StorageInfo},
    selectors::FieldSelector,
    status::ApiError,
};

use super::strategy::Strategy;
use crate::{cache::Object, typed};

/// The kind a converted resource's objects are stored as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageKind {
    /// API group of the storage version (empty for core).
    pub group: String,
    /// The storage version.
    pub version: String,
    /// Kind of the storage version.
    pub kind: String,
}

impl StorageKind {
    /// `apiVersion` of stored objects.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }
}

/// How the two forms relate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Converter {
    /// The same schema under another `apiVersion` (a GA version stored as its beta).
    Renamed,
    /// events.k8s.io/v1 `Event` served from core/v1 `Event`.
    Event,
    /// autoscaling/v1 `HorizontalPodAutoscaler` served from autoscaling/v2.
    HorizontalPodAutoscaler,
}

/// The conversion of one resource served in a version other than its storage version.
#[derive(Debug)]
pub struct Conversion {
    /// `apiVersion` of the served version.
    served_api_version: String,
    /// Kind of the served version.
    served_kind: String,
    storage: StorageKind,
    /// The storage form's `apiVersion`, computed once.
    storage_api_version: String,
    converter: Converter,
}

impl Conversion {
    /// The conversion `info` needs: `Ok(None)` when it is served in its storage version (or not
    /// stored), an error naming the pair when no converter knows it.
    pub fn for_resource(info: &ResourceInfo) -> Result<Option<Self>, String> {
        let StorageInfo::Etcd {
            group,
            version,
            kind,
            ..
        } = &info.storage
        else {
            return Ok(None);
        };
        if *group == info.group && *version == info.version {
            return Ok(None);
        }
        let converter = match (
            info.group.as_str(),
            info.version.as_str(),
            info.kind.as_str(),
            group.as_str(),
            version.as_str(),
            kind.as_str(),
        ) {
            ("events.k8s.io", "v1", "Event", "", "v1", "Event") => Converter::Event,
            ("autoscaling", "v1", "HorizontalPodAutoscaler", "autoscaling", "v2", _)
                if *kind == info.kind =>
            {
                Converter::HorizontalPodAutoscaler
            }
            // A GA version stored as its beta: upstream graduates a kind by copying its beta
            // type, so the two differ at most by fields the GA version dropped.
            _ if *group == info.group && *kind == info.kind => Converter::Renamed,
            _ => {
                return Err(format!(
                    "no conversion from {}, Kind={kind} to {}, Kind={}",
                    StorageKind {
                        group: group.clone(),
                        version: version.clone(),
                        kind: kind.clone(),
                    }
                    .api_version(),
                    info.api_version(),
                    info.kind
                ));
            }
        };
        let storage = StorageKind {
            group: group.clone(),
            version: version.clone(),
            kind: kind.clone(),
        };
        Ok(Some(Conversion {
            served_api_version: info.api_version(),
            served_kind: info.kind.clone(),
            storage_api_version: storage.api_version(),
            storage,
            converter,
        }))
    }

    /// The kind objects are stored as.
    pub fn storage(&self) -> &StorageKind {
        &self.storage
    }

    /// `apiVersion` of the stored objects.
    pub fn storage_api_version(&self) -> &str {
        &self.storage_api_version
    }

    /// `info` as the storage kind's row: the strategy (defaulting, validation, generation) is the
    /// stored kind's, as upstream runs it on the internal object.
    pub fn storage_info(&self, info: &ResourceInfo) -> ResourceInfo {
        ResourceInfo {
            group: self.storage.group.clone(),
            version: self.storage.version.clone(),
            kind: self.storage.kind.clone(),
            list_kind: format!("{}List", self.storage.kind),
            ..info.clone()
        }
    }

    /// The strategy of the served version, from the storage kind's: events.k8s.io/v1 validates
    /// by upstream's request-version rules (`ValidateEventCreate` / `ValidateEventUpdate` with
    /// `events.k8s.io/v1`), which core/v1 does not apply.
    pub fn strategy(&self, storage: Strategy) -> Strategy {
        match self.converter {
            Converter::Event => Strategy {
                validate: events::validate,
                validate_create: events::validate_create_v1,
                validate_update: events::validate_update_v1,
                ..storage
            },
            Converter::Renamed | Converter::HorizontalPodAutoscaler => storage,
        }
    }

    /// A stored object (storage form, with or without its resourceVersion) in the served version.
    pub fn to_external(&self, storage: Value) -> Result<Value, ApiError> {
        let converted = match self.converter {
            Converter::Renamed => self.renamed(storage, &self.served_api_version),
            Converter::Event => events::to_events_v1(storage),
            Converter::HorizontalPodAutoscaler => hpa::to_v1(storage),
        };
        converted.map_err(|e| {
            ApiError::internal(&format!(
                "converting {} from {} to {}: {e}",
                self.served_kind, self.storage_api_version, self.served_api_version
            ))
        })
    }

    /// A request body (decoded and normalized as the served version) in the storage form.
    pub fn to_storage(&self, external: Value) -> Result<Value, ApiError> {
        let converted = match self.converter {
            Converter::Renamed => self.renamed(external, &self.storage_api_version),
            Converter::Event => events::to_core_v1(external),
            Converter::HorizontalPodAutoscaler => hpa::to_v2(external),
        };
        converted.map_err(|e| {
            ApiError::bad_request(format!(
                "{} in version \"{}\" cannot be converted to {}: {e}",
                self.served_kind, self.served_api_version, self.storage_api_version
            ))
        })
    }

    /// Stored bytes (compact JSON without resourceVersion) as the served version's compact JSON,
    /// still without resourceVersion, so `stored::with_resource_version` splices it in as for
    /// any stored object.
    pub fn stored_to_external(&self, stored: &[u8]) -> Result<Bytes, ApiError> {
        let value: Value = serde_json::from_slice(stored)
            .map_err(|e| ApiError::internal(&format!("stored object is not valid JSON: {e}")))?;
        let external = self.to_external(value)?;
        serde_json::to_vec(&external)
            .map(Bytes::from)
            .map_err(|e| ApiError::internal(&format!("encoding the object: {e}")))
    }

    /// A cached object in the served version; key, revision and attributes (which selectors
    /// match in storage terms) are kept.
    pub fn object_to_external(&self, object: &Object) -> Result<Object, ApiError> {
        Ok(Object {
            key: object.key.clone(),
            value: self.stored_to_external(&object.value)?,
            revision: object.revision,
            attributes: object.attributes.clone(),
        })
    }

    /// Converts the full objects in a Table's rows (`includeObject=Object`) to the served
    /// version. Cells and `PartialObjectMetadata` rows stay as computed from the stored form, as
    /// upstream prints and reduces the internal object.
    pub fn table_to_external(&self, table: &mut Value) -> Result<(), ApiError> {
        let Some(rows) = table.get_mut("rows").and_then(Value::as_array_mut) else {
            return Ok(());
        };
        for row in rows {
            let Some(object) = row.get_mut("object") else {
                continue;
            };
            if object.get("kind").and_then(Value::as_str) == Some("PartialObjectMetadata") {
                continue;
            }
            *object = self.to_external(object.take())?;
        }
        Ok(())
    }

    /// A field selector in the served version's names as the storage kind's (the names the watch
    /// cache extracted). Labels the served version does not support are rejected with upstream's
    /// `field label not supported: <label>`.
    pub fn field_selector_to_storage(
        &self,
        selector: &FieldSelector,
    ) -> Result<FieldSelector, ApiError> {
        match self.converter {
            Converter::Event => selector.try_map_fields(|label| {
                events::field_label(label)
                    .map(str::to_owned)
                    .ok_or_else(|| {
                        ApiError::bad_request(format!("field label not supported: {label}"))
                    })
            }),
            // The same field names in both versions.
            Converter::Renamed | Converter::HorizontalPodAutoscaler => Ok(selector.clone()),
        }
    }

    /// `object` under `api_version`, reduced to the fields that version's type has (the GA type
    /// of a kind lacks the beta's deprecated fields).
    fn renamed(&self, mut object: Value, api_version: &str) -> Result<Value, String> {
        let root = object
            .as_object_mut()
            .ok_or_else(|| "the object is not a JSON object".to_owned())?;
        root.insert("apiVersion".into(), Value::from(api_version));
        match typed::lookup(api_version, &self.served_kind) {
            Some(kind) => (kind.normalize)(&object).map_err(|e| e.to_string()),
            None => Ok(object),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use tugboat_machinery::catalog::Catalog;

    use super::*;

    fn catalog_row(group: &str, version: &str, plural: &str) -> ResourceInfo {
        let catalog = Catalog::builtin();
        catalog
            .in_discovery_order()
            .find(|i| i.group == group && i.version == version && i.plural == plural)
            .map(|i| (*i).clone())
            .unwrap_or_else(|| panic!("{group}/{version} {plural} is not in the catalog"))
    }

    #[test]
    fn every_builtin_resource_has_a_conversion_or_needs_none() {
        let catalog = Catalog::builtin();
        let mut converted = Vec::new();
        for info in catalog.in_discovery_order() {
            match Conversion::for_resource(&info) {
                Ok(Some(_)) => {
                    converted.push(format!("{}/{} {}", info.group, info.version, info.plural))
                }
                Ok(None) => {}
                Err(error) => panic!("{}: {error}", info.plural),
            }
        }
        converted.sort();
        assert_eq!(
            converted,
            vec![
                "autoscaling/v1 horizontalpodautoscalers",
                "certificates.k8s.io/v1 clustertrustbundles",
                "certificates.k8s.io/v1 podcertificaterequests",
                "events.k8s.io/v1 events",
                "resource.k8s.io/v1 devicetaintrules",
                "storagemigration.k8s.io/v1 storageversionmigrations",
            ]
        );
    }

    #[test]
    fn renamed_kinds_drop_the_fields_the_served_version_lacks() {
        let info = catalog_row("certificates.k8s.io", "v1", "podcertificaterequests");
        let conversion = Conversion::for_resource(&info)
            .ok()
            .flatten()
            .unwrap_or_else(|| panic!("no conversion"));
        assert_eq!(
            conversion.storage_api_version(),
            "certificates.k8s.io/v1beta1"
        );
        let spec = json!({"signerName": "example.com/s", "podName": "p", "podUID": "u",
            "serviceAccountName": "sa", "serviceAccountUID": "su", "nodeName": "n", "nodeUID": "nu",
            "stubPKCS10Request": "AAAA"});
        let mut stored = json!({"apiVersion": "certificates.k8s.io/v1beta1", "kind": "PodCertificateRequest",
            "metadata": {"name": "r", "namespace": "d"}, "spec": spec.clone()});
        stored["spec"]["pkixPublicKey"] = json!("AAAA");
        let served = conversion
            .to_external(stored)
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(served["apiVersion"], "certificates.k8s.io/v1");
        assert_eq!(served["spec"], spec);
        let back = conversion
            .to_storage(served)
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(back["apiVersion"], "certificates.k8s.io/v1beta1");
        assert_eq!(back["spec"], spec);
    }

    #[test]
    fn event_field_labels_map_to_core_names() {
        let info = catalog_row("events.k8s.io", "v1", "events");
        let conversion = Conversion::for_resource(&info)
            .ok()
            .flatten()
            .unwrap_or_else(|| panic!("no conversion"));
        let selector =
            FieldSelector::parse("regarding.kind=Pod,reportingController=kubelet,type=Normal")
                .unwrap_or_else(|e| panic!("{e}"));
        let mapped = conversion
            .field_selector_to_storage(&selector)
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(
            mapped.to_string(),
            "involvedObject.kind=Pod,reportingComponent=kubelet,type=Normal"
        );
        let core_name =
            FieldSelector::parse("involvedObject.kind=Pod").unwrap_or_else(|e| panic!("{e}"));
        let error = conversion
            .field_selector_to_storage(&core_name)
            .err()
            .unwrap_or_else(|| panic!("accepted a core/v1 label"));
        assert_eq!(error.code, 400);
        assert_eq!(
            error.message,
            "field label not supported: involvedObject.kind"
        );
    }

    #[test]
    fn table_rows_carry_the_served_object() {
        let info = catalog_row("events.k8s.io", "v1", "events");
        let conversion = Conversion::for_resource(&info)
            .ok()
            .flatten()
            .unwrap_or_else(|| panic!("no conversion"));
        let mut table = json!({"rows": [
            {"cells": [], "object": {"apiVersion": "v1", "kind": "Event", "metadata": {"name": "e"}, "message": "m"}},
            {"cells": [], "object": {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": {"name": "e"}}},
        ]});
        conversion
            .table_to_external(&mut table)
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(table["rows"][0]["object"]["apiVersion"], "events.k8s.io/v1");
        assert_eq!(table["rows"][0]["object"]["note"], "m");
        assert_eq!(table["rows"][1]["object"]["kind"], "PartialObjectMetadata");
    }
}
