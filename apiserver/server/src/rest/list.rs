//! GET of one object and LIST of a collection, with selectors, pagination and resourceVersion
//! semantics: unset is a consistent read (the cache waits for storage's current revision), `0` is
//! whatever the cache holds, `N` is "not older than N" or, with `resourceVersionMatch=Exact`,
//! exactly N (read from storage). The first page of a list comes from the watch cache; continue
//! pages are read from storage at the first page's revision, so a paginated list is one snapshot;
//! once that revision is compacted, a continue is a 410 carrying an "inconsistent" token that
//! finishes the list from the same key at the latest revision, as upstream's etcd3 store does.

use std::time::Duration;

use http::StatusCode;
use serde_json::{Value, json};
use tugboat_machinery::{continue_token, status::ApiError};
use tugboat_storage::ListRequest;

use super::{Context, query::VersionMatch, respond_bytes, respond_value, table, wants_table};
use crate::{
    cache::{CacheError, Object},
    errors::storage_error,
    negotiate::{Encoding, Shape},
    registry::{self, store::Stored},
    stored,
};

/// How long a consistent read waits for the cache.
pub(crate) const FRESHNESS_TIMEOUT: Duration = Duration::from_secs(3);

pub(crate) fn cache_error(error: CacheError) -> ApiError {
    match error {
        CacheError::TooOld { requested, oldest } => {
            ApiError::too_old_resource_version(requested.max(0) as u64, oldest.max(0) as u64)
        }
        CacheError::NotFresh { requested, current } => {
            ApiError::too_large_resource_version(requested.max(0) as u64, current.max(0) as u64, 1)
        }
        CacheError::Unavailable(message) => ApiError::service_unavailable(message),
    }
}

/// GET one object.
pub(crate) async fn get(context: &Context<'_>) -> Result<axum::response::Response, ApiError> {
    let format = context.response_format(true)?;
    let store = context.store;
    let name = context.name();
    let stored = store
        .get_for_read(
            context.namespace,
            name,
            context.query.resource_version.as_deref(),
        )
        .await?;
    if wants_table(&format) {
        let value = stored.to_value()?;
        let mut table = table::table(
            context,
            std::slice::from_ref(&value),
            stored.revision,
            None,
            None,
        );
        if let Some(conversion) = store.conversion() {
            conversion.table_to_external(&mut table)?;
        }
        return respond_value(StatusCode::OK, &table, &format);
    }
    // Tables (above) and PartialObjectMetadata come from the stored form, as upstream prints and
    // reduces the internal object; the object itself is served in the request's version.
    let stored = match format.shape {
        Shape::PartialObjectMetadata { .. } => stored,
        _ => store.served_stored(stored)?,
    };
    match (&format.shape, format.encoding) {
        (Shape::Object, Encoding::Json) => Ok(respond_bytes(
            StatusCode::OK,
            stored.to_json(),
            Encoding::Json,
        )),
        (Shape::PartialObjectMetadata { version, .. }, _) => {
            let value = stored.to_value()?;
            respond_value(
                StatusCode::OK,
                &table::partial_metadata(&value, version),
                &format,
            )
        }
        _ => respond_value(StatusCode::OK, &stored.to_value()?, &format),
    }
}

/// LIST a collection.
pub(crate) async fn list(context: &Context<'_>) -> Result<axum::response::Response, ApiError> {
    let format = context.response_format(true)?;
    let store = context.store;
    let query = context.query;
    super::check_field_selector(&store.info, &query.field_selector)?;
    let within = store.key_within(context.namespace);
    let matches = |object: &Object| {
        query.label_selector.matches(&object.attributes.labels)
            && query.field_selector.matches(&object.attributes.fields)
    };
    let requested = query.revision()?;
    let (objects, revision, next) = if let Some(token) = &query.continue_token {
        if requested.is_some_and(|rv| rv != 0) {
            return Err(ApiError::bad_request(
                continue_token::RESOURCE_VERSION_WITH_CONTINUE_MESSAGE,
            ));
        }
        let token = continue_token::decode(token).map_err(|e| e.to_api_error())?;
        // A negative revision is the inconsistent continuation handed out with a 410 after
        // compaction: continue from the same key at the latest revision, which the next token
        // then carries.
        from_storage(
            context,
            &within,
            &token.start_key(&within),
            token.resource_version.max(0),
            &matches,
        )
        .await?
    } else if query.version_match == VersionMatch::Exact {
        let revision = requested.unwrap_or(0);
        from_storage(context, &within, &within, revision, &matches).await?
    } else {
        match requested {
            Some(0) => {}
            Some(rv) => {
                store
                    .cache
                    .wait_for(rv, FRESHNESS_TIMEOUT)
                    .await
                    .map_err(cache_error)?;
            }
            None => {
                store
                    .cache
                    .wait_for(0, FRESHNESS_TIMEOUT)
                    .await
                    .map_err(cache_error)?;
            }
        }
        let result = store
            .cache
            .list(&within, None, query.limit, matches)
            .map_err(cache_error)?;
        let next = result.last_key.as_ref().map(|last| {
            let remaining = (query.label_selector.is_empty() && query.field_selector.is_empty())
                .then_some(result.remaining);
            (continue_token::next_start_key(last), remaining)
        });
        (result.objects, result.revision, next)
    };
    let continue_value = match &next {
        Some((start, _)) => Some(
            continue_token::encode_for_key(start, &within, revision)
                .map_err(|e| ApiError::internal(&e.to_string()))?,
        ),
        None => None,
    };
    let remaining = next.and_then(|(_, remaining)| remaining);
    if wants_table(&format) {
        if format.encoding == Encoding::Json
            && let Shape::Table { version } = &format.shape
            && let Some(mut writer) = table::TableWriter::new(
                context,
                version,
                revision,
                continue_value.as_deref(),
                remaining,
                objects.len() * 256,
            )
        {
            let conversion = store.conversion();
            for object in &objects {
                writer.row(to_value(object)?, |value| match conversion {
                    Some(conversion) => conversion.to_external(value),
                    None => Ok(value),
                })?;
            }
            return Ok(respond_bytes(
                StatusCode::OK,
                writer.finish(),
                Encoding::Json,
            ));
        }
        let values = objects
            .iter()
            .map(to_value)
            .collect::<Result<Vec<_>, _>>()?;
        let mut table = table::table(
            context,
            &values,
            revision,
            continue_value.as_deref(),
            remaining,
        );
        if let Some(conversion) = store.conversion() {
            conversion.table_to_external(&mut table)?;
        }
        return respond_value(StatusCode::OK, &table, &format);
    }
    // Served in the request's version (a no-op move for resources served as stored, so the
    // JSON path below stays a concatenation of stored bytes).
    let objects = match format.shape {
        Shape::PartialObjectMetadata { .. } => objects,
        _ => store.served_objects(objects)?,
    };
    let list_kind = &store.info.list_kind;
    let api_version = store.info.api_version();
    match (&format.shape, format.encoding) {
        (Shape::Object, Encoding::Json) => {
            let mut body =
                Vec::with_capacity(128 + objects.iter().map(|o| o.value.len() + 32).sum::<usize>());
            body.extend_from_slice(
                format!(
                    "{{\"kind\":\"{list_kind}\",\"apiVersion\":\"{api_version}\",\"metadata\":"
                )
                .as_bytes(),
            );
            body.extend_from_slice(
                &list_meta(revision, continue_value.as_deref(), remaining)
                    .to_string()
                    .into_bytes(),
            );
            body.extend_from_slice(b",\"items\":[");
            for (i, object) in objects.iter().enumerate() {
                if i > 0 {
                    body.push(b',');
                }
                stored::with_resource_version(&object.value, object.revision, &mut body);
            }
            body.extend_from_slice(b"]}");
            Ok(respond_bytes(StatusCode::OK, body, Encoding::Json))
        }
        (Shape::PartialObjectMetadata { version, .. }, _) => {
            let items = objects
                .iter()
                .map(|o| to_value(o).map(|v| table::partial_metadata(&v, version)))
                .collect::<Result<Vec<_>, _>>()?;
            let list = json!({
                "kind": "PartialObjectMetadataList",
                "apiVersion": format!("meta.k8s.io/{version}"),
                "metadata": list_meta(revision, continue_value.as_deref(), remaining),
                "items": items,
            });
            respond_value(StatusCode::OK, &list, &format)
        }
        (Shape::Object, Encoding::Protobuf) => {
            let meta = list_meta(revision, continue_value.as_deref(), remaining);
            let mut encoder = tugboat_protobuf::ListEncoder::new(&api_version, list_kind, &meta)
                .map_err(|e| {
                    tracing::debug!(error = %e, "no protobuf encoding for the list");
                    ApiError::not_acceptable(&["application/json", "application/yaml"])
                })?;
            for object in &objects {
                encoder
                    .push(&to_value(object)?)
                    .map_err(|e| ApiError::internal(&format!("encoding protobuf: {e}")))?;
            }
            Ok(respond_bytes(
                StatusCode::OK,
                encoder.finish(),
                Encoding::Protobuf,
            ))
        }
        _ => {
            let items = objects
                .iter()
                .map(to_value)
                .collect::<Result<Vec<_>, _>>()?;
            let list = json!({
                "kind": list_kind,
                "apiVersion": api_version,
                "metadata": list_meta(revision, continue_value.as_deref(), remaining),
                "items": items,
            });
            respond_value(StatusCode::OK, &list, &format)
        }
    }
}

fn list_meta(revision: i64, continue_value: Option<&str>, remaining: Option<usize>) -> Value {
    let mut meta = json!({ "resourceVersion": revision.to_string() });
    if let Some(token) = continue_value {
        meta["continue"] = json!(token);
    }
    if let Some(remaining) = remaining {
        meta["remainingItemCount"] = json!(remaining);
    }
    meta
}

pub(crate) fn to_value(object: &Object) -> Result<Value, ApiError> {
    Stored {
        value: object.value.clone(),
        revision: object.revision,
    }
    .to_value()
}

type Page = (Vec<Object>, i64, Option<(String, Option<usize>)>);

/// Read a page from storage at `revision`, starting at `start_key`, filling up to the limit with
/// matching objects as upstream does.
async fn from_storage(
    context: &Context<'_>,
    within: &str,
    start_key: &str,
    revision: i64,
    matches: &(dyn Fn(&Object) -> bool + Sync),
) -> Result<Page, ApiError> {
    let store = context.store;
    let limit = context.query.limit;
    let fields = registry::selectable_fields(&store.info);
    let unfiltered =
        context.query.label_selector.is_empty() && context.query.field_selector.is_empty();
    let mut request = ListRequest {
        prefix: within.to_owned(),
        start_key: start_key.to_owned(),
        limit: if limit == 0 { 0 } else { limit.max(100) },
        revision,
    };
    let mut objects = Vec::new();
    loop {
        let page = store
            .backend()
            .list(&request)
            .await
            .map_err(|error| match error {
                tugboat_storage::StorageError::Compacted { .. }
                    if context.query.continue_token.is_some() =>
                {
                    continue_token::compacted_continue_error(start_key, within)
                }
                other => storage_error(other),
            })?;
        request.revision = page.revision;
        let page_len = page.kvs.len();
        let last_seen = page.kvs.last().map(|kv| kv.key.to_string());
        for (index, kv) in page.kvs.into_iter().enumerate() {
            let Ok(value) = serde_json::from_slice::<Value>(&kv.value) else {
                continue;
            };
            let object = Object {
                key: kv.key.clone(),
                value: kv.value,
                revision: kv.mod_revision,
                attributes: std::sync::Arc::new(registry::attributes_of(&value, fields)),
            };
            if !matches(&object) {
                continue;
            }
            objects.push(object);
            if limit > 0 && objects.len() == limit {
                let more = page.more || index + 1 < page_len;
                // Without selectors every key after this one is an item still to come.
                let remaining = unfiltered.then(|| {
                    usize::try_from(page.count)
                        .unwrap_or(0)
                        .saturating_sub(index + 1)
                });
                let next = more.then(|| (continue_token::next_start_key(&kv.key), remaining));
                return Ok((objects, request.revision, next));
            }
        }
        match last_seen {
            Some(last) if page.more => request.start_key = continue_token::next_start_key(&last),
            _ => return Ok((objects, request.revision, None)),
        }
    }
}
