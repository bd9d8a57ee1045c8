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

use super::{
    conversion::Conversion,
    deletion::{self, DeleteOptions},
    meta,
    strategy::Strategy,
    subresources, validation,
};
use crate::{
    cache::{Object, ResourceCache},
    errors::storage_error,
    stored,
};

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
#[derive(Debug, Clone, Default)]
pub struct WriteOptions {
    /// `dryRun=All`: run everything but the storage write.
    pub dry_run: bool,
    /// Record the write in `metadata.managedFields` as an `Update` by this manager (upstream's
    /// field manager runs on every create, update and non-apply patch). `None` for writes that
    /// track ownership themselves (server-side apply) and for the server's own bootstrap writes.
    pub update_manager: Option<String>,
}

/// Record a non-apply write in `metadata.managedFields` (see [`WriteOptions::update_manager`]).
/// Kinds without a schema in the built-in table (none today) are left untracked.
fn track_update(
    old: Option<&Value>,
    new: Value,
    manager: Option<&str>,
    subresource: Option<&str>,
) -> Value {
    let Some(manager) = manager else {
        return new;
    };
    let api_version = new
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let kind = new.get("kind").and_then(Value::as_str).unwrap_or_default();
    let Some(schema) = tugboat_protobuf::MessageRef::for_kind(api_version, kind) else {
        return new;
    };
    let now = meta::now_rfc3339();
    match subresource {
        Some(subresource) => tugboat_patch::apply::record_update_subresource(
            old,
            &new,
            schema,
            manager,
            subresource,
            &now,
        ),
        None => tugboat_patch::apply::record_update(old, &new, schema, manager, &now),
    }
}

/// How a delete ended.
#[derive(Debug)]
pub enum Deleted {
    /// The object is gone; this was its last state.
    Gone(Value),
    /// The object has finalizers (or a grace period): it was only marked for deletion.
    Marked(Value),
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
    /// Set when the resource is served in another version than its storage version: objects
    /// are converted on the way in and out, and the strategy runs on the stored form.
    conversion: Option<Arc<Conversion>>,
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
            conversion: None,
        }
    }

    /// This store serves another version than its storage version, converting with
    /// `conversion`.
    pub fn with_conversion(self, conversion: Conversion) -> Self {
        Store {
            conversion: Some(Arc::new(conversion)),
            ..self
        }
    }

    /// The conversion between the served version and storage, if they differ.
    pub fn conversion(&self) -> Option<&Arc<Conversion>> {
        self.conversion.as_ref()
    }

    /// A stored-form object as served (unchanged when the store does not convert).
    pub fn to_served(&self, object: Value) -> Result<Value, ApiError> {
        match &self.conversion {
            Some(conversion) => conversion.to_external(object),
            None => Ok(object),
        }
    }

    /// A served-form object (a request body) as stored (unchanged when the store does not
    /// convert).
    pub fn to_storage(&self, object: Value) -> Result<Value, ApiError> {
        match &self.conversion {
            Some(conversion) => conversion.to_storage(object),
            None => Ok(object),
        }
    }

    /// A stored object's bytes as served.
    pub fn served_stored(&self, stored: Stored) -> Result<Stored, ApiError> {
        match &self.conversion {
            Some(conversion) => Ok(Stored {
                value: conversion.stored_to_external(&stored.value)?,
                revision: stored.revision,
            }),
            None => Ok(stored),
        }
    }

    /// Cached objects as served; passed through untouched when the store does not convert.
    pub fn served_objects(&self, objects: Vec<Object>) -> Result<Vec<Object>, ApiError> {
        match &self.conversion {
            Some(conversion) => objects
                .iter()
                .map(|object| conversion.object_to_external(object))
                .collect(),
            None => Ok(objects),
        }
    }

    /// The group and kind validation errors name: the stored kind's, as upstream validates the
    /// internal object (an events.k8s.io/v1 Event is reported as `Event "x" is invalid`).
    fn validated_kind(&self) -> (&str, &str) {
        match &self.conversion {
            Some(conversion) => (&conversion.storage().group, &conversion.storage().kind),
            None => (&self.info.group, &self.info.kind),
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

    /// Read one object for a GET: from the watch cache when the client accepts any revision
    /// (`resourceVersion=0`), else a consistent read from storage. A missing object is a 404.
    pub async fn get_for_read(
        &self,
        namespace: Option<&str>,
        name: &str,
        resource_version: Option<&str>,
    ) -> Result<Stored, ApiError> {
        if resource_version != Some("0") {
            return self.get(namespace, name).await;
        }
        match self.cache.get(&self.key(namespace, name)) {
            (Some(object), _) => Ok(Stored {
                value: object.value,
                revision: object.revision,
            }),
            (None, _) => Err(self.not_found(name)),
        }
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

    /// Create an object. `object` has been decoded and checked against the URL, in the served
    /// version; so is the result.
    pub async fn create(
        &self,
        namespace: Option<&str>,
        object: Value,
        options: WriteOptions,
    ) -> Result<Value, ApiError> {
        let created = self
            .create_stored(namespace, self.to_storage(object)?, options)
            .await?;
        self.to_served(created)
    }

    async fn create_stored(
        &self,
        namespace: Option<&str>,
        mut object: Value,
        options: WriteOptions,
    ) -> Result<Value, ApiError> {
        self.prepare_for_create(namespace, &mut object)?;
        let mut object = track_update(None, object, options.update_manager.as_deref(), None);
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
                    let (group, kind) = self.validated_kind();
                    return Err(ApiError::invalid(
                        group,
                        kind,
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

    /// The stored form's `apiVersion` and `kind`.
    fn set_type_meta(&self, object: &mut Value) {
        let (api_version, kind) = match &self.conversion {
            Some(conversion) => (
                json!(conversion.storage_api_version()),
                json!(conversion.storage().kind),
            ),
            None => (json!(self.info.api_version()), json!(self.info.kind)),
        };
        if let Some(root) = object.as_object_mut() {
            root.insert("apiVersion".into(), api_version);
            root.insert("kind".into(), kind);
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
            None => {
                causes.extend((self.strategy.validate)(object));
                causes.extend((self.strategy.validate_create)(object));
            }
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
            let (group, kind) = self.validated_kind();
            Err(ApiError::invalid(group, kind, name, &causes))
        }
    }

    /// Replace an object (PUT). `subresource` is `Some("status")` for the status subresource.
    pub async fn update(
        &self,
        namespace: Option<&str>,
        name: &str,
        object: Value,
        subresource: Option<&str>,
        options: WriteOptions,
    ) -> Result<Value, ApiError> {
        if meta::name(&object).is_some_and(|n| n != name) {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({}) does not match the name on the URL ({name})",
                meta::name(&object).unwrap_or_default()
            )));
        }
        self.update_with(
            namespace,
            name,
            subresource,
            options,
            |_| Ok(object.clone()),
        )
        .await
    }

    /// The update loop every write of an existing object runs (PUT, PATCH, scale): read the
    /// current object, let `mutate` compute the new one from it, and compare-and-swap, retrying
    /// with a fresh read when another writer got there first. A `metadata.resourceVersion` in the
    /// computed object is a precondition (409 Conflict when it is not the current one, and then
    /// no retry); without one the write is unconditional. An update that changes nothing writes
    /// no new revision. `mutate` sees and returns the served version, and so does the result.
    pub async fn update_with(
        &self,
        namespace: Option<&str>,
        name: &str,
        subresource: Option<&str>,
        options: WriteOptions,
        mut mutate: impl FnMut(&Value) -> Result<Value, ApiError>,
    ) -> Result<Value, ApiError> {
        let key = self.key(namespace, name);
        for _ in 0..UPDATE_RETRIES {
            let current = self.get(namespace, name).await?;
            let old = current.to_value()?;
            let mut new = match &self.conversion {
                Some(conversion) => {
                    conversion.to_storage(mutate(&conversion.to_external(old.clone())?)?)?
                }
                None => mutate(&old)?,
            };
            if meta::name(&new).is_some_and(|n| n != name) {
                return Err(ApiError::bad_request(format!(
                    "the name of the object ({}) does not match the name on the URL ({name})",
                    meta::name(&new).unwrap_or_default()
                )));
            }
            let expected = meta::resource_version(&new).map_err(|bad| {
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
            if let Some(expected) = expected
                && expected != current.revision
            {
                return Err(self.conflict(name));
            }
            self.set_type_meta(&mut new);
            self.prepare_for_update(&mut new, &old, subresource)?;
            let mut new = track_update(
                Some(&old),
                new,
                options.update_manager.as_deref(),
                subresource,
            );
            let bytes = encode(&new)?;
            if bytes == current.value {
                // Nothing changed: no new revision, as upstream.
                return self.to_served(old);
            }
            if finishes_deletion(&new) {
                // The last finalizer of an object marked for deletion (with no grace period left)
                // is gone: the update deletes it, as upstream's `shouldDeleteDuringUpdate`.
                if options.dry_run {
                    return self.to_served(new);
                }
                match self.backend.delete(&key, Some(current.revision)).await {
                    Ok((revision, _)) => {
                        meta::set(&mut new, "resourceVersion", json!(revision.to_string()));
                        return self.to_served(new);
                    }
                    Err(StorageError::Conflict { .. }) if expected.is_none() => continue,
                    Err(StorageError::Conflict { .. }) => return Err(self.conflict(name)),
                    Err(StorageError::NotFound { .. }) => return Err(self.not_found(name)),
                    Err(error) => return Err(storage_error(error)),
                }
            }
            if options.dry_run {
                // As upstream, a dry run answers with the revision it read.
                meta::set(
                    &mut new,
                    "resourceVersion",
                    json!(current.revision.to_string()),
                );
                return self.to_served(new);
            }
            match self
                .backend
                .update(&key, bytes, current.revision, None)
                .await
            {
                Ok(revision) => {
                    meta::set(&mut new, "resourceVersion", json!(revision.to_string()));
                    return self.to_served(new);
                }
                Err(StorageError::Conflict { .. }) if expected.is_none() => continue,
                // The precondition held when read but a writer slipped in before the swap: a
                // retry would now fail the precondition anyway.
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
        let (group, kind) = (self.info.group.as_str(), self.info.kind.as_str());
        match subresource {
            // What each subresource may change: see `subresources`.
            Some("status") => *new = subresources::prepare_status(group, kind, new, old),
            Some("approval") => *new = subresources::prepare_approval(new, old),
            Some("finalize") => *new = subresources::prepare_finalize(new, old),
            _ => {
                if self.strategy.status_subresource
                    && let Some(root) = new.as_object_mut()
                {
                    match old.get("status") {
                        Some(status) => root.insert("status".into(), status.clone()),
                        None => root.remove("status"),
                    };
                }
            }
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
        match subresource {
            None => (self.strategy.prepare_update)(new, old),
            Some("status") => (self.strategy.prepare_status_update)(new, old),
            Some(_) => {}
        }
        let status_only = matches!(subresource, Some("status" | "approval"));
        self.validate(new, Some((old, status_only)))
    }

    /// Delete an object, or only mark it for deletion: pods with a grace period, objects with
    /// finalizers (including those a propagation policy adds for the garbage collector). See
    /// [`deletion::plan`] for the rules; this runs them in a compare-and-swap loop. The object
    /// returned is in the served version.
    pub async fn delete(
        &self,
        namespace: Option<&str>,
        name: &str,
        options: &DeleteOptions,
    ) -> Result<Deleted, ApiError> {
        Ok(match self.delete_stored(namespace, name, options).await? {
            Deleted::Gone(object) => Deleted::Gone(self.to_served(object)?),
            Deleted::Marked(object) => Deleted::Marked(self.to_served(object)?),
        })
    }

    async fn delete_stored(
        &self,
        namespace: Option<&str>,
        name: &str,
        options: &DeleteOptions,
    ) -> Result<Deleted, ApiError> {
        let key = self.key(namespace, name);
        for _ in 0..UPDATE_RETRIES {
            let current = self.get(namespace, name).await?;
            let object = current.to_value()?;
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            let (write, delete) = match deletion::plan(&self.info, &object, options, now)? {
                deletion::Plan::Mark(marked) => (Some(marked), false),
                deletion::Plan::DeleteNow { write } => (write, true),
            };
            let mut revision = current.revision;
            let mut last = object;
            if let Some(mut new) = write {
                let bytes = encode(&new)?;
                if bytes != current.value && !options.dry_run {
                    match self.backend.update(&key, bytes, revision, None).await {
                        Ok(written) => revision = written,
                        Err(StorageError::Conflict { .. }) => continue,
                        Err(StorageError::NotFound { .. }) => return Err(self.not_found(name)),
                        Err(error) => return Err(storage_error(error)),
                    }
                }
                meta::set(&mut new, "resourceVersion", json!(revision.to_string()));
                last = new;
            }
            if !delete {
                return Ok(Deleted::Marked(last));
            }
            if options.dry_run {
                return Ok(Deleted::Gone(last));
            }
            match self.backend.delete(&key, Some(revision)).await {
                Ok(_) => return Ok(Deleted::Gone(last)),
                // After writing a pod's last state, someone else (a kubelet) may have finished
                // the deletion first: that is what we wanted, as upstream tolerates.
                Err(StorageError::NotFound { .. }) if revision != current.revision => {
                    return Ok(Deleted::Gone(last));
                }
                Err(StorageError::Conflict { .. }) => continue,
                Err(StorageError::NotFound { .. }) => return Err(self.not_found(name)),
                Err(error) => return Err(storage_error(error)),
            }
        }
        Err(self.conflict(name))
    }
}

/// Whether an update leaves an object marked for deletion with no finalizers and no grace period
/// left, so that it is deleted rather than written.
fn finishes_deletion(object: &Value) -> bool {
    meta::string(object, "deletionTimestamp").is_some()
        && meta::finalizers(object).is_empty()
        && (object.get("kind").and_then(Value::as_str) != Some("Namespace")
            || super::deletion::spec_finalizers(object).is_empty())
        && object
            .pointer("/metadata/deletionGracePeriodSeconds")
            .and_then(Value::as_i64)
            .is_none_or(|grace| grace == 0)
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
