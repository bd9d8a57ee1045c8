//! Resources that are computed rather than stored: today `selfsubjectreviews` (what
//! `kubectl auth whoami` asks). Token and access reviews join them with authorization.

use axum::response::Response;
use http::{HeaderMap, StatusCode, header};
use serde_json::json;
use tugboat_machinery::status::ApiError;

use super::respond_value;
use crate::{
    app::not_found_path,
    authn::UserInfo,
    negotiate::{self, Offers},
    request_info::{ResourceRequest, Verb},
};

/// Serve a request for a resource without a store.
pub(crate) fn serve(
    request: &ResourceRequest,
    user: Option<&UserInfo>,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    match (
        request.group.as_str(),
        request.version.as_str(),
        request.resource.as_str(),
    ) {
        ("authentication.k8s.io", "v1", "selfsubjectreviews") => {
            if request.verb != Some(Verb::Create) || request.name.is_some() {
                return Err(ApiError::method_not_supported(
                    &request.group,
                    &request.resource,
                    request.verb.map_or("unknown", Verb::as_str),
                ));
            }
            let user = user.ok_or_else(|| ApiError::unauthorized("Unauthorized"))?;
            let mut user_info = json!({ "username": user.name, "groups": user.groups });
            if !user.uid.is_empty() {
                user_info["uid"] = json!(user.uid);
            }
            if !user.extra.is_empty() {
                user_info["extra"] = json!(user.extra);
            }
            let review = json!({
                "kind": "SelfSubjectReview",
                "apiVersion": "authentication.k8s.io/v1",
                "metadata": { "creationTimestamp": null },
                "status": { "userInfo": user_info },
            });
            let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
            let format = negotiate::negotiate(accept, Offers::default()).ok_or_else(|| {
                ApiError::not_acceptable(&["application/json", "application/yaml"])
            })?;
            respond_value(StatusCode::CREATED, &review, &format)
        }
        _ => Err(not_found_path()),
    }
}
