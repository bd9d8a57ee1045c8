//! The generic store: create, get, list, update, delete and watch for any resource, running the
//! resource's [`Strategy`] in a fixed order and retrying updates on conflict.

use std::{sync::Arc, time::Duration};

use bytes::Bytes;
use serde_json::{Value, json};
use tugboat_machinery::{
    catalog::ResourceInfo,
    status::{ApiError, FieldError, FieldPath, OPTIMISTIC_LOCK_ERROR_MESSAGE},
};
use tugboat_storage::{Backend, Revision, StorageError};

use super::{meta, strategy::Strategy, validation};
use crate::{cache::ResourceCache, errors::storage_error, stored};

/// How often an update re-reads and retries after losing a compare-and-swap race.
const UPDATE_RETRIES: usize = 8;

/// An object as stored: JSON without `resourceVersion`, and its revision.
#[derive(Debug, Clone)]
pub struct Stored {
    /// The stored bytes.
    pub value: Bytes,
    /// The object's resourceVersion.
    pub revision: Revision,
}

impl Stored {
    /// The object as JSON with its resourceVersion.
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.value.len() + 32);
        stored::with_resource_version(&self.value, self.revision, &mut out);
        out
    }

    /// The object as a value with its resourceVersion.
    pub fn to_value(&self) -> Result<Value, ApiError> {
        let mut value: Value = serde_json::from_slice(&self.value)
            .map_err(|e| ApiError::internal(&format!("stored object is not valid JSON: {e}")))?;
        meta::set(
            &mut value,
            "resourceVersion",
            json!(self.revision.to_string()),
        );
        Ok(value)
    }
}

/// Options every write takes.
#[derive(Debug, Clone, Copy, Default)]
pub struct WriteOptions {
    /// `dryRun=All`: run everything but the storage write.
    pub dry_run: bool,
}

/// How a delete ended.
#[derive(Debug)]
pub enum Deleted {
    /// The object is gone; this was its last state.
    Gone(Value),
    /// The object has finalizers (or a grace period): it was only marked for deletion.
    Marked(Value),
}

/// Preconditions of a delete (`DeleteOptions.preconditions`).
#[derive(Debug, Clone, Default)]
pub struct Preconditions {
    /// The object must have this uid.
    pub uid: Option<String>,
    /// The object must have this resourceVersion.
    pub resource_version: Option<String>,
}

/// One resource's store.
#[derive(Debug)]
pub struct Store {
    /// The catalog row.
    pub info: Arc<ResourceInfo>,
    /// Storage key prefix, ending with `/`.
    pub prefix: String,
    /// The watch cache of the resource.
    pub cache: Arc<ResourceCache>,
    backend: Arc<dyn Backend>,
    strategy: Strategy,
    /// TTL of new objects (Events).
    ttl: Option<Duration>,
}

impl Store {
    /// A store for a resource with a storage prefix.
    pub fn new(
        info: Arc<ResourceInfo>,
        prefix: String,
        backend: Arc<dyn Backend>,
        cache: Arc<ResourceCache>,
        strategy: Strategy,
        ttl: Option<Duration>,
    ) -> Self {
        Store {
            info,
            prefix,
            cache,
            backend,
            strategy,
            ttl,
        }
    }

    /// The datastore.
    pub fn backend(&self) -> &dyn Backend {
        self.backend.as_ref()
    }

    fn namespaced(&self) -> bool {
        self.info.scope.is_namespaced()
    }

    /// The storage key of an object.
    pub fn key(&self, namespace: Option<&str>, name: &str) -> String {
        match namespace.filter(|_| self.namespaced()) {
            Some(ns) => format!("{}{ns}/{name}", self.prefix),
            None => format!("{}{name}", self.prefix),
        }
    }

    /// The key prefix of a namespace's objects, or of all objects.
    pub fn key_within(&self, namespace: Option<&str>) -> String {
        match namespace.filter(|_| self.namespaced()) {
            Some(ns) => format!("{}{ns}/", self.prefix),
            None => self.prefix.clone(),
        }
    }

    fn not_found(&self, name: &str) -> ApiError {
        ApiError::not_found(&self.info.group, &self.info.plural, name)
    }

    /// Read one object (a consistent read from storage).
    pub async fn get(&self, namespace: Option<&str>, name: &str) -> Result<Stored, ApiError> {
        let key = self.key(namespace, name);
        match self.backend.get(&key, 0).await.map_err(storage_error)? {
            (_, Some(kv)) => Ok(Stored {
                value: kv.value,
                revision: kv.mod_revision,
            }),
            (_, None) => Err(self.not_found(name)),
        }
    }

    /// Create an object. `object` has been decoded and checked against the URL.
    pub async fn create(
        &self,
        namespace: Option<&str>,
        mut object: Value,
        options: WriteOptions,
    ) -> Result<Value, ApiError> {
        self.prepare_for_create(namespace, &mut object)?;
        let name = meta::name(&object).unwrap_or_default().to_owned();
        let key = self.key(namespace, &name);
        let bytes = encode(&object)?;
        if options.dry_run {
            // Upstream reports "already exists" for a dry run too.
            if let (_, Some(_)) = self.backend.get(&key, 0).await.map_err(storage_error)? {
                return Err(ApiError::already_exists(
                    &self.info.group,
                    &self.info.plural,
                    &name,
                ));
            }
            return Ok(object);
        }
        match self.backend.create(&key, bytes, self.ttl).await {
            Ok(revision) => {
                meta::set(&mut object, "resourceVersion", json!(revision.to_string()));
                Ok(object)
            }
            Err(StorageError::AlreadyExists { .. }) => Err(ApiError::already_exists(
                &self.info.group,
                &self.info.plural,
                &name,
            )),
            Err(error) => Err(storage_error(error)),
        }
    }

    fn prepare_for_create(
        &self,
        namespace: Option<&str>,
        object: &mut Value,
    ) -> Result<(), ApiError> {
        if !object.is_object() {
            return Err(ApiError::bad_request("the request body must be an object"));
        }
        if meta::metadata_mut(object).is_none() {
            return Err(ApiError::bad_request("metadata must be an object"));
        }
        if self.namespaced() {
            match (meta::namespace(object), namespace) {
                (Some(given), Some(url)) if !given.is_empty() && given != url => {
                    return Err(ApiError::bad_request(
                        "the namespace of the provided object does not match the namespace sent on the request",
                    ));
                }
                _ => {}
            }
            if let Some(ns) = namespace {
                meta::set(object, "namespace", json!(ns));
            }
        } else {
            meta::remove(object, "namespace");
        }
        let name = meta::name(object).unwrap_or_default().to_owned();
        if name.is_empty() {
            match meta::string(object, "generateName").filter(|g| !g.is_empty()) {
                Some(base) => {
                    let generated = tugboat_machinery::names::generate_name(base);
                    meta::set(object, "name", json!(generated));
                }
                None => {
                    return Err(ApiError::invalid(
                        &self.info.group,
                        &self.info.kind,
                        "",
                        &[FieldError::required(
                            &FieldPath::new("metadata").child("name"),
                            "name or generateName is required",
                        )],
                    ));
                }
            }
        }
        for field in [
            "resourceVersion",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "selfLink",
        ] {
            meta::remove(object, field);
        }
        meta::set(object, "uid", json!(meta::new_uid()));
        meta::set(object, "creationTimestamp", json!(meta::now_rfc3339()));
        if self.strategy.tracks_generation {
            meta::set(object, "generation", json!(1));
        } else {
            meta::remove(object, "generation");
        }
        if self.strategy.status_subresource
            && let Some(root) = object.as_object_mut()
        {
            root.remove("status");
        }
        self.set_type_meta(object);
        (self.strategy.default)(object);
        (self.strategy.prepare_create)(object);
        self.validate(object, None)
    }

    fn set_type_meta(&self, object: &mut Value) {
        if let Some(root) = object.as_object_mut() {
            root.insert("apiVersion".into(), json!(self.info.api_version()));
            root.insert("kind".into(), json!(self.info.kind));
        }
    }

    /// Metadata validation for every kind, then the kind's own; on update (`old` given) also the
    /// metadata and kind update checks. A status update checks metadata only, as upstream's
    /// status strategies validate the status alone.
    fn validate(&self, object: &Value, old: Option<(&Value, bool)>) -> Result<(), ApiError> {
        let name = meta::name(object).unwrap_or_default();
        let mut causes: Vec<FieldError> = validation::meta::validate_object_meta(
            object,
            self.namespaced(),
            self.strategy.name_rule,
        );
        match old {
            None => causes.extend((self.strategy.validate)(object)),
            Some((old, status_only)) => {
                causes.extend(validation::meta::validate_object_meta_update(object, old));
                if !status_only {
                    causes.extend((self.strategy.validate)(object));
                    causes.extend((self.strategy.validate_update)(object, old));
                }
            }
        }
        if causes.is_empty() {
            Ok(())
        } else {
            Err(ApiError::invalid(
                &self.info.group,
                &self.info.kind,
                name,
                &causes,
            ))
        }
    }

    /// Replace an object (PUT). `subresource` is `Some("status")` for the status subresource.
    pub async fn update(
        &self,
        namespace: Option<&str>,
        name: &str,
        mut object: Value,
        subresource: Option<&str>,
        options: WriteOptions,
    ) -> Result<Value, ApiError> {
        if meta::name(&object).is_some_and(|n| n != name) {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({}) does not match the name on the URL ({name})",
                meta::name(&object).unwrap_or_default()
            )));
        }
        let expected = meta::resource_version(&object).map_err(|bad| {
            ApiError::invalid(
                &self.info.group,
                &self.info.kind,
                name,
                &[FieldError::invalid(
                    &FieldPath::new("metadata").child("resourceVersion"),
                    bad.as_str(),
                    "must be a number",
                )],
            )
        })?;
        self.set_type_meta(&mut object);
        let key = self.key(namespace, name);
        for _ in 0..UPDATE_RETRIES {
            let current = self.get(namespace, name).await?;
            if let Some(expected) = expected
                && expected != current.revision
            {
                return Err(self.conflict(name));
            }
            let old = current.to_value()?;
            let mut new = object.clone();
            self.prepare_for_update(&mut new, &old, subresource)?;
            let bytes = encode(&new)?;
            if bytes == current.value {
                // Nothing changed: no new revision, as upstream.
                return current.to_value();
            }
            if options.dry_run {
                return Ok(new);
            }
            match self
                .backend
                .update(&key, bytes, current.revision, None)
                .await
            {
                Ok(revision) => {
                    meta::set(&mut new, "resourceVersion", json!(revision.to_string()));
                    return Ok(new);
                }
                Err(StorageError::Conflict { .. }) if expected.is_none() => continue,
                Err(StorageError::Conflict { .. }) => return Err(self.conflict(name)),
                Err(StorageError::NotFound { .. }) => return Err(self.not_found(name)),
                Err(error) => return Err(storage_error(error)),
            }
        }
        Err(self.conflict(name))
    }

    fn conflict(&self, name: &str) -> ApiError {
        ApiError::conflict(
            &self.info.group,
            &self.info.plural,
            name,
            OPTIMISTIC_LOCK_ERROR_MESSAGE,
        )
    }

    /// Carry over from `old` what an update may not change, and apply the strategy.
    fn prepare_for_update(
        &self,
        new: &mut Value,
        old: &Value,
        subresource: Option<&str>,
    ) -> Result<(), ApiError> {
        if !new.is_object() || meta::metadata_mut(new).is_none() {
            return Err(ApiError::bad_request(
                "the request body must be an object with metadata",
            ));
        }
        if let (Some(given), Some(current)) = (meta::string(new, "uid"), meta::string(old, "uid"))
            && !given.is_empty()
            && given != current
        {
            return Err(ApiError::conflict(
                &self.info.group,
                &self.info.plural,
                meta::name(old).unwrap_or_default(),
                &format!(
                    "Precondition failed: UID in precondition: {given}, UID in object meta: {current}"
                ),
            ));
        }
        let subresource_status = subresource == Some("status");
        if subresource_status {
            // The status subresource changes status only (and nothing in metadata but labels and
            // annotations, which upstream also ignores here).
            let status = new.get("status").cloned();
            *new = old.clone();
            if let Some(root) = new.as_object_mut() {
                match status {
                    Some(status) => root.insert("status".into(), status),
                    None => root.remove("status"),
                };
            }
        } else if self.strategy.status_subresource
            && let Some(root) = new.as_object_mut()
        {
            match old.get("status") {
                Some(status) => root.insert("status".into(), status.clone()),
                None => root.remove("status"),
            };
        }
        for field in [
            "uid",
            "creationTimestamp",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "namespace",
            "name",
        ] {
            match old.get("metadata").and_then(|m| m.get(field)) {
                Some(value) => meta::set(new, field, value.clone()),
                None => {
                    meta::remove(new, field);
                }
            }
        }
        meta::remove(new, "resourceVersion");
        meta::remove(new, "selfLink");
        if self.strategy.tracks_generation {
            let generation = old
                .get("metadata")
                .and_then(|m| m.get("generation"))
                .and_then(Value::as_i64)
                .unwrap_or(1);
            let bump = !subresource_status && spec_changed(new, old);
            meta::set(
                new,
                "generation",
                json!(if bump { generation + 1 } else { generation }),
            );
        } else {
            meta::remove(new, "generation");
        }
        (self.strategy.default)(new);
        if !subresource_status {
            (self.strategy.prepare_update)(new, old);
        }
        self.validate(new, Some((old, subresource_status)))
    }

    /// Delete an object, or mark it when it has finalizers.
    pub async fn delete(
        &self,
        namespace: Option<&str>,
        name: &str,
        preconditions: &Preconditions,
        options: WriteOptions,
    ) -> Result<Deleted, ApiError> {
        let key = self.key(namespace, name);
        for _ in 0..UPDATE_RETRIES {
            let current = self.get(namespace, name).await?;
            let object = current.to_value()?;
            if let Some(uid) = &preconditions.uid {
                let actual = meta::string(&object, "uid").unwrap_or_default();
                if uid != actual {
                    return Err(ApiError::conflict(
                        &self.info.group,
                        &self.info.plural,
                        name,
                        &format!(
                            "Precondition failed: UID in precondition: {uid}, UID in object meta: {actual}"
                        ),
                    ));
                }
            }
            if let Some(rv) = &preconditions.resource_version
                && *rv != current.revision.to_string()
            {
                return Err(ApiError::conflict(
                    &self.info.group,
                    &self.info.plural,
                    name,
                    &format!(
                        "Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {}",
                        current.revision
                    ),
                ));
            }
            if !meta::finalizers(&object).is_empty() {
                if meta::string(&object, "deletionTimestamp").is_some() {
                    return Ok(Deleted::Marked(object));
                }
                let mut marked = object.clone();
                meta::remove(&mut marked, "resourceVersion");
                meta::set(&mut marked, "deletionTimestamp", json!(meta::now_rfc3339()));
                meta::set(&mut marked, "deletionGracePeriodSeconds", json!(0));
                if options.dry_run {
                    return Ok(Deleted::Marked(marked));
                }
                match self
                    .backend
                    .update(&key, encode(&marked)?, current.revision, None)
                    .await
                {
                    Ok(revision) => {
                        meta::set(&mut marked, "resourceVersion", json!(revision.to_string()));
                        return Ok(Deleted::Marked(marked));
                    }
                    Err(StorageError::Conflict { .. }) => continue,
                    Err(StorageError::NotFound { .. }) => return Err(self.not_found(name)),
                    Err(error) => return Err(storage_error(error)),
                }
            }
            if options.dry_run {
                return Ok(Deleted::Gone(object));
            }
            match self.backend.delete(&key, Some(current.revision)).await {
                Ok(_) => return Ok(Deleted::Gone(object)),
                Err(StorageError::Conflict { .. }) => continue,
                Err(StorageError::NotFound { .. }) => return Err(self.not_found(name)),
                Err(error) => return Err(storage_error(error)),
            }
        }
        Err(self.conflict(name))
    }
}

/// Whether anything outside `metadata` and `status` differs.
fn spec_changed(new: &Value, old: &Value) -> bool {
    let strip = |v: &Value| -> Value {
        let mut v = v.clone();
        if let Some(root) = v.as_object_mut() {
            root.remove("metadata");
            root.remove("status");
        }
        v
    };
    strip(new) != strip(old)
}

/// The stored form: compact JSON. Callers have removed `resourceVersion` already.
fn encode(object: &Value) -> Result<Bytes, ApiError> {
    serde_json::to_vec(object)
        .map(Bytes::from)
        .map_err(|e| ApiError::internal(&format!("encoding the object: {e}")))
}
