//! REST and watch handlers for every resource, driven by the catalog: one dispatcher parses what
//! the request addresses, finds the resource's store and runs the verb.

mod body;
mod discovery;
mod eviction;
mod list;
mod patch;
mod query;
mod scale;
mod table;
mod virtual_resources;
mod watch;
mod write;

use std::sync::Arc;

use axum::{
    body::Body,
    extract::{Request, State},
    response::{IntoResponse, Response},
};
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde_json::Value;
use tugboat_machinery::status::ApiError;

pub use query::Query;

use crate::{
    app::AppState,
    errors::Failure,
    negotiate::{self, Encoding, Offers, ResponseFormat, Shape},
    registry::store::Store,
    request_info::{self, RequestTarget, ResourceRequest, Verb},
};

/// Largest request body accepted, as upstream's 3 MiB limit.
pub const MAX_BODY_BYTES: usize = 3 * 1024 * 1024;

/// Handle any `/api/...` or `/apis/...` request.
pub async fn handle(State(app): State<Arc<AppState>>, request: Request) -> Response {
    match dispatch(&app, request).await {
        Ok(response) => response,
        Err(error) => Failure(error).into_response(),
    }
}

async fn dispatch(app: &Arc<AppState>, request: Request) -> Result<Response, ApiError> {
    let (parts, body) = request.into_parts();
    let query = Query::parse(parts.uri.query())?;
    let watch_param = query.watch.then_some("true");
    match request_info::parse(&parts.method, parts.uri.path(), watch_param) {
        RequestTarget::Discovery {
            api_prefix,
            group,
            version,
        } => discovery::serve(
            app,
            &parts.headers,
            api_prefix,
            group.as_deref(),
            version.as_deref(),
        ),
        RequestTarget::NonResource => Err(crate::app::not_found_path()),
        RequestTarget::Resource(request) => {
            let Some(store) =
                app.registry
                    .store(&request.group, &request.version, &request.resource)
            else {
                let user = parts.extensions.get::<crate::authn::UserInfo>();
                return virtual_resources::serve(
                    &app.registry.catalog(),
                    &request,
                    user,
                    &parts.headers,
                );
            };
            let verb = request.verb.ok_or_else(|| {
                ApiError::method_not_supported(
                    &request.group,
                    &request.resource,
                    parts.method.as_str(),
                )
            })?;
            if !store.info.has_verb(verb.as_str()) && request.subresource.is_none() {
                return Err(ApiError::method_not_supported(
                    &request.group,
                    &request.resource,
                    verb.as_str(),
                ));
            }
            let namespace = if store.info.scope.is_namespaced() {
                request.namespace.as_deref()
            } else {
                None
            };
            if let Some(sub) = request.subresource.as_deref() {
                let Some(info) = store.info.subresource(sub).filter(|_| {
                    matches!(
                        sub,
                        "status" | "scale" | "approval" | "finalize" | "eviction"
                    )
                }) else {
                    return Err(crate::app::not_found_path());
                };
                if !info.verbs.iter().any(|v| v == verb.as_str()) {
                    return Err(ApiError::method_not_supported(
                        &request.group,
                        &format!("{}/{sub}", request.resource),
                        verb.as_str(),
                    ));
                }
            }
            // A resource served in another version than its storage version selects by the
            // stored kind's field names.
            let mut query = query;
            if let Some(conversion) = store.conversion() {
                query.field_selector =
                    conversion.field_selector_to_storage(&query.field_selector)?;
            }
            let context = Context {
                registry: &app.registry,
                store: &store,
                request: &request,
                namespace,
                query: &query,
                headers: &parts.headers,
            };
            // The scale subresource is its own kind (Scale). Its PATCH goes with PATCH below,
            // which must patch `scale::read`'s Scale and hand the result to `scale::write`.
            if request.subresource.as_deref() == Some("scale") && verb != Verb::Patch {
                return scale::serve(&context, verb, body).await;
            }
            if request.subresource.as_deref() == Some("eviction") {
                return eviction::create(&context, read_body(body).await?).await;
            }
            match verb {
                Verb::Get => list::get(&context).await,
                Verb::List => list::list(&context).await,
                Verb::Watch => watch::watch(&context).await,
                Verb::Create => write::create(&context, read_body(body).await?).await,
                Verb::Update => write::update(&context, read_body(body).await?).await,
                Verb::Delete => write::delete(&context, read_body(body).await?).await,
                Verb::DeleteCollection => {
                    write::delete_collection(&context, read_body(body).await?).await
                }
                Verb::Patch => patch::patch(&context, read_body(body).await?).await,
            }
        }
    }
}

/// What every verb handler needs.
pub(crate) struct Context<'a> {
    pub registry: &'a crate::registry::Registry,
    pub store: &'a Arc<Store>,
    pub request: &'a ResourceRequest,
    /// The namespace, for namespaced resources.
    pub namespace: Option<&'a str>,
    pub query: &'a Query,
    pub headers: &'a HeaderMap,
}

impl Context<'_> {
    fn header(&self, name: header::HeaderName) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The response format for a single object or list.
    pub fn response_format(&self, conversions: bool) -> Result<ResponseFormat, ApiError> {
        let info = &self.store.info;
        negotiate::negotiate(
            self.header(header::ACCEPT),
            Offers {
                conversions,
                aggregated_discovery: false,
                protobuf: tugboat_protobuf::has_protobuf(&info.api_version(), &info.kind),
            },
        )
        .ok_or_else(|| ApiError::not_acceptable(&["application/json", "application/yaml"]))
    }

    /// Who a write is recorded for in `managedFields`: `fieldManager`, else the client's
    /// `User-Agent` up to its first `/` (upstream's `managerOrUserAgent`), at most 128 characters.
    pub fn field_manager(&self) -> String {
        if let Some(manager) = &self.query.field_manager {
            return manager.clone();
        }
        let agent = self.header(header::USER_AGENT).unwrap_or_default();
        agent
            .split('/')
            .next()
            .unwrap_or_default()
            .chars()
            .take(128)
            .collect()
    }

    /// Options of a write that is recorded in `managedFields` as an `Update`.
    pub fn write_options(&self) -> crate::registry::store::WriteOptions {
        crate::registry::store::WriteOptions {
            dry_run: self.query.dry_run,
            update_manager: Some(self.field_manager()),
        }
    }

    /// The object name from the URL (present for get, update and delete).
    pub fn name(&self) -> &str {
        self.request.name.as_deref().unwrap_or_default()
    }
}

async fn read_body(body: Body) -> Result<Bytes, ApiError> {
    axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|_| ApiError::request_entity_too_large(&format!("limit is {MAX_BODY_BYTES}")))
}

/// Encode a value in the negotiated encoding with a status code.
pub(crate) fn respond_value(
    status: StatusCode,
    value: &Value,
    format: &ResponseFormat,
) -> Result<Response, ApiError> {
    // Tables are built as meta.k8s.io/v1; a client that asked for v1beta1 gets that version.
    let versioned;
    let value = match &format.shape {
        Shape::Table { version } if version != "v1" => {
            versioned = table::with_version(value, version);
            &versioned
        }
        _ => value,
    };
    let body = match format.encoding {
        Encoding::Yaml => serde_norway::to_string(value)
            .map_err(|e| ApiError::internal(&format!("encoding YAML: {e}")))?
            .into_bytes(),
        Encoding::Protobuf => tugboat_protobuf::encode_envelope(value).map_err(|e| {
            tracing::debug!(error = %e, "no protobuf encoding for the response");
            ApiError::not_acceptable(&["application/json", "application/yaml"])
        })?,
        _ => serde_json::to_vec(value)
            .map_err(|e| ApiError::internal(&format!("encoding JSON: {e}")))?,
    };
    Ok(respond_bytes(status, body, format.encoding))
}

/// A response with an encoded body.
pub(crate) fn respond_bytes(status: StatusCode, body: Vec<u8>, encoding: Encoding) -> Response {
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(encoding.media_type()),
    );
    response
}

/// The shape a GET or LIST response takes.
pub(crate) fn wants_table(format: &ResponseFormat) -> bool {
    matches!(format.shape, Shape::Table { .. })
}

/// Reject field selectors on fields the kind does not support, with upstream's two messages: kinds
/// that declare selectable fields say `field label not supported`, the rest list the metadata ones.
pub(crate) fn check_field_selector(
    info: &tugboat_machinery::catalog::ResourceInfo,
    selector: &tugboat_machinery::selectors::FieldSelector,
) -> Result<(), ApiError> {
    let extra = crate::registry::selectable_fields(info);
    let result = if extra.is_empty() {
        selector.check_metadata_only()
    } else {
        let mut supported = vec!["metadata.name", "metadata.namespace"];
        supported.extend_from_slice(extra);
        selector.check_supported(&supported)
    };
    result.map_err(|e| ApiError::bad_request(e.to_string()))
}
