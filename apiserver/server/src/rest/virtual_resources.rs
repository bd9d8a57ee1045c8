//! Resources that are computed rather than stored: today `selfsubjectreviews` (what
//! `kubectl auth whoami` asks). Token and access reviews join them with authorization.
//!
//! Every create-only row of the catalog (reviews, bindings) is routed here and checked as
//! upstream's create handler does before it reads the body: only `create` on the collection
//! (else 405), and a response format without conversions, since these resources have no table
//! convertor (`as=Table` is a 406 NotAcceptable). Rows not implemented yet then answer 404.

use axum::response::Response;
use http::{HeaderMap, StatusCode, header};
use serde_json::json;
use tugboat_machinery::{
    catalog::{Catalog, StorageInfo},
    status::ApiError,
};

use super::respond_value;
use crate::{
    app::not_found_path,
    authn::UserInfo,
    negotiate::{self, Offers, ResponseFormat},
    request_info::{ResourceRequest, Verb},
};

/// Serve a request for a resource without a store.
pub(crate) fn serve(
    catalog: &Catalog,
    request: &ResourceRequest,
    user: Option<&UserInfo>,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let Some(info) = catalog
        .get(&request.group, &request.version, &request.resource)
        .filter(|info| info.storage == StorageInfo::Virtual && info.verbs == ["create"])
    else {
        return Err(not_found_path());
    };
    if request.verb != Some(Verb::Create) || request.name.is_some() {
        return Err(ApiError::method_not_supported(
            &request.group,
            &request.resource,
            request.verb.map_or("unknown", Verb::as_str),
        ));
    }
    let protobuf = tugboat_protobuf::has_protobuf(&info.api_version(), &info.kind);
    let format = create_response_format(headers, protobuf)?;
    match (
        request.group.as_str(),
        request.version.as_str(),
        request.resource.as_str(),
    ) {
        ("authentication.k8s.io", "v1", "selfsubjectreviews") => {
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
            respond_value(StatusCode::CREATED, &review, &format)
        }
        _ => Err(not_found_path()),
    }
}

/// The response format of a create-only resource: no Table or metadata conversions; a 406 lists
/// the serializer's media types as upstream's does.
fn create_response_format(headers: &HeaderMap, protobuf: bool) -> Result<ResponseFormat, ApiError> {
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let offers = Offers {
        protobuf,
        ..Offers::default()
    };
    negotiate::negotiate(accept, offers).ok_or_else(|| {
        let mut accepted = vec!["application/json", "application/yaml"];
        if protobuf {
            accepted.push("application/vnd.kubernetes.protobuf");
        }
        ApiError::not_acceptable(&accepted)
    })
}
