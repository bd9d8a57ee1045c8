//! Discovery: `/api`, `/apis`, `/api/v1`, `/apis/<group>[/<version>]`, in the legacy form or as
//! aggregated `apidiscovery.k8s.io/v2` when the client asks for it, all generated from the catalog.

use std::sync::Arc;

use axum::response::Response;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use tugboat_machinery::{catalog::discovery, status::ApiError};

use super::respond_value;
use crate::{
    app::{AppState, not_found_path},
    negotiate::{self, Encoding, Offers, ResponseFormat, Shape},
};

/// Serve one discovery document.
pub(crate) fn serve(
    app: &Arc<AppState>,
    headers: &HeaderMap,
    api_prefix: &str,
    group: Option<&str>,
    version: Option<&str>,
) -> Result<Response, ApiError> {
    let catalog = app.registry.catalog();
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let root = version.is_none() && group.is_none();
    let format = negotiate::negotiate(
        accept,
        Offers {
            conversions: false,
            aggregated_discovery: root,
            protobuf: false,
        },
    )
    .ok_or_else(|| ApiError::not_acceptable(&["application/json", "application/yaml"]))?;
    if let Shape::AggregatedDiscovery {
        version: discovery_version,
    } = &format.shape
    {
        let document = if api_prefix == "api" {
            discovery::aggregated_api(&catalog)
        } else {
            discovery::aggregated_apis(&catalog)
        };
        let mut response = respond_value(
            StatusCode::OK,
            &document,
            &ResponseFormat {
                encoding: Encoding::Json,
                shape: Shape::Object,
            },
        )?;
        let content_type = format!(
            "application/json;g=apidiscovery.k8s.io;v={discovery_version};as=APIGroupDiscoveryList"
        );
        if let Ok(value) = HeaderValue::from_str(&content_type) {
            response.headers_mut().insert(header::CONTENT_TYPE, value);
        }
        response
            .headers_mut()
            .insert(header::VARY, HeaderValue::from_static("Accept"));
        return Ok(response);
    }
    let document = match (api_prefix, group, version) {
        ("api", None, None) => Some(discovery::api_versions(&[])),
        ("api", None, Some(version)) => discovery::api_resource_list(&catalog, "", version),
        ("apis", None, None) => Some(discovery::api_group_list(&catalog)),
        ("apis", Some(group), None) => discovery::api_group(&catalog, group),
        ("apis", Some(group), Some(version)) => {
            discovery::api_resource_list(&catalog, group, version)
        }
        _ => None,
    };
    let document = document.ok_or_else(not_found_path)?;
    let mut response = respond_value(StatusCode::OK, &document, &format)?;
    response
        .headers_mut()
        .insert(header::VARY, HeaderValue::from_static("Accept"));
    Ok(response)
}
