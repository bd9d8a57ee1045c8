//! What a request addresses, parsed from its method, path and query the way upstream's
//! `RequestInfoFactory` does: API prefix, group, version, namespace, resource, name, subresource and
//! verb (`get`, `list`, `watch`, `create`, `update`, `patch`, `delete`, `deletecollection`).
//! Authorization, metrics and routing all read it.

use http::Method;

/// The verbs of a resource request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verb {
    /// GET of one object.
    Get,
    /// GET of a collection.
    List,
    /// GET with `watch=true` (or under the old `/watch/` prefix).
    Watch,
    /// POST.
    Create,
    /// PUT.
    Update,
    /// PATCH.
    Patch,
    /// DELETE of one object.
    Delete,
    /// DELETE of a collection.
    DeleteCollection,
}

impl Verb {
    /// The name upstream uses (in discovery, RBAC and metrics).
    pub fn as_str(self) -> &'static str {
        match self {
            Verb::Get => "get",
            Verb::List => "list",
            Verb::Watch => "watch",
            Verb::Create => "create",
            Verb::Update => "update",
            Verb::Patch => "patch",
            Verb::Delete => "delete",
            Verb::DeleteCollection => "deletecollection",
        }
    }
}

/// A request for a resource (as opposed to `/version`, `/healthz`, discovery, ...).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ResourceRequest {
    /// `api` or `apis`.
    pub api_prefix: &'static str,
    /// The API group; empty for the core group.
    pub group: String,
    /// The API version.
    pub version: String,
    /// The namespace, when the path names one.
    pub namespace: Option<String>,
    /// The resource (plural), e.g. `pods`.
    pub resource: String,
    /// The object name, when the path names one.
    pub name: Option<String>,
    /// The subresource, e.g. `status`.
    pub subresource: Option<String>,
    /// Extra path segments after the subresource (e.g. a proxy path).
    pub rest: Vec<String>,
    /// What the request does.
    pub verb: Option<Verb>,
}

/// What a path addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestTarget {
    /// A resource or collection.
    Resource(ResourceRequest),
    /// `/api`, `/apis`, `/api/v1`, `/apis/<group>`, `/apis/<group>/<version>`.
    Discovery {
        /// `api` or `apis`.
        api_prefix: &'static str,
        /// The group, for `/apis/<group>[/<version>]`.
        group: Option<String>,
        /// The version, for `/api/<version>` and `/apis/<group>/<version>`.
        version: Option<String>,
    },
    /// Anything else (`/version`, `/healthz`, `/openapi/v2`, ...).
    NonResource,
}

/// Parse a request. `watch_param` is the value of the `watch` query parameter, if any.
pub fn parse(method: &Method, path: &str, watch_param: Option<&str>) -> RequestTarget {
    let segments: Vec<&str> = path
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    let (api_prefix, rest) = match segments.split_first() {
        Some((&"api", rest)) => ("api", rest),
        Some((&"apis", rest)) => ("apis", rest),
        _ => return RequestTarget::NonResource,
    };
    let (group, version, rest) = if api_prefix == "api" {
        match rest.split_first() {
            None => return discovery(api_prefix, None, None),
            Some((version, rest)) => (String::new(), *version, rest),
        }
    } else {
        match rest {
            [] => return discovery(api_prefix, None, None),
            [group] => return discovery(api_prefix, Some(group), None),
            [group, version, rest @ ..] => ((*group).to_owned(), *version, rest),
        }
    };
    if rest.is_empty() {
        return discovery(
            api_prefix,
            (api_prefix == "apis").then_some(group.as_str()),
            Some(version),
        );
    }
    let mut parts = rest;
    let mut watch_prefix = false;
    if parts.first() == Some(&"watch") {
        watch_prefix = true;
        parts = &parts[1..];
    }
    let mut request = ResourceRequest {
        api_prefix,
        group,
        version: version.to_owned(),
        ..ResourceRequest::default()
    };
    // `namespaces/<ns>/<resource>...` addresses a namespaced resource; `namespaces`,
    // `namespaces/<name>` and the Namespace's own subresources `namespaces/<name>/status|finalize`
    // address the Namespace objects themselves (which upstream also files under that namespace).
    if parts.first() == Some(&"namespaces") && parts.len() >= 2 {
        request.namespace = Some(parts[1].to_owned());
        if parts.len() > 2 && !matches!(parts[2], "status" | "finalize") {
            parts = &parts[2..];
        }
    }
    let Some((resource, after)) = parts.split_first() else {
        return RequestTarget::NonResource;
    };
    request.resource = (*resource).to_owned();
    if let Some((name, after)) = after.split_first() {
        request.name = Some((*name).to_owned());
        if let Some((subresource, after)) = after.split_first() {
            request.subresource = Some((*subresource).to_owned());
            request.rest = after.iter().map(|s| (*s).to_owned()).collect();
        }
    }
    let watching = watch_prefix || matches!(watch_param, Some("true" | "1"));
    request.verb = Some(match *method {
        Method::GET | Method::HEAD if watching => Verb::Watch,
        Method::GET | Method::HEAD if request.name.is_none() => Verb::List,
        Method::GET | Method::HEAD => Verb::Get,
        Method::POST => Verb::Create,
        Method::PUT => Verb::Update,
        Method::PATCH => Verb::Patch,
        Method::DELETE if request.name.is_none() => Verb::DeleteCollection,
        Method::DELETE => Verb::Delete,
        _ => {
            return RequestTarget::Resource(ResourceRequest {
                verb: None,
                ..request
            });
        }
    });
    RequestTarget::Resource(request)
}

fn discovery(
    api_prefix: &'static str,
    group: Option<&str>,
    version: Option<&str>,
) -> RequestTarget {
    RequestTarget::Discovery {
        api_prefix,
        group: group.map(str::to_owned),
        version: version.map(str::to_owned),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resource(method: Method, path: &str, watch: Option<&str>) -> ResourceRequest {
        match parse(&method, path, watch) {
            RequestTarget::Resource(r) => r,
            other => panic!("{path}: not a resource request: {other:?}"),
        }
    }

    /// (group, version, namespace, resource, name, subresource, verb)
    type Expected<'a> = (
        &'a str,
        &'a str,
        Option<&'a str>,
        &'a str,
        Option<&'a str>,
        Option<&'a str>,
        Verb,
    );

    #[test]
    fn resource_paths() {
        // (method, path, watch param) -> (group, version, namespace, resource, name, subresource, verb)
        let cases: &[(Method, &str, Option<&str>, Expected<'_>)] = &[
            (
                Method::GET,
                "/api/v1/pods",
                None,
                ("", "v1", None, "pods", None, None, Verb::List),
            ),
            (
                Method::GET,
                "/api/v1/namespaces/default/pods",
                None,
                ("", "v1", Some("default"), "pods", None, None, Verb::List),
            ),
            (
                Method::GET,
                "/api/v1/namespaces/default/pods/web",
                None,
                (
                    "",
                    "v1",
                    Some("default"),
                    "pods",
                    Some("web"),
                    None,
                    Verb::Get,
                ),
            ),
            (
                Method::PUT,
                "/api/v1/namespaces/default/pods/web/status",
                None,
                (
                    "",
                    "v1",
                    Some("default"),
                    "pods",
                    Some("web"),
                    Some("status"),
                    Verb::Update,
                ),
            ),
            (
                Method::GET,
                "/api/v1/namespaces",
                None,
                ("", "v1", None, "namespaces", None, None, Verb::List),
            ),
            (
                Method::GET,
                "/api/v1/namespaces/kube-system",
                None,
                (
                    "",
                    "v1",
                    Some("kube-system"),
                    "namespaces",
                    Some("kube-system"),
                    None,
                    Verb::Get,
                ),
            ),
            (
                Method::PUT,
                "/api/v1/namespaces/x/finalize",
                None,
                (
                    "",
                    "v1",
                    Some("x"),
                    "namespaces",
                    Some("x"),
                    Some("finalize"),
                    Verb::Update,
                ),
            ),
            (
                Method::PUT,
                "/api/v1/namespaces/x/status",
                None,
                (
                    "",
                    "v1",
                    Some("x"),
                    "namespaces",
                    Some("x"),
                    Some("status"),
                    Verb::Update,
                ),
            ),
            (
                Method::GET,
                "/api/v1/namespaces/default/pods",
                Some("true"),
                ("", "v1", Some("default"), "pods", None, None, Verb::Watch),
            ),
            (
                Method::GET,
                "/api/v1/watch/namespaces/default/pods",
                None,
                ("", "v1", Some("default"), "pods", None, None, Verb::Watch),
            ),
            (
                Method::POST,
                "/apis/apps/v1/namespaces/default/deployments",
                None,
                (
                    "apps",
                    "v1",
                    Some("default"),
                    "deployments",
                    None,
                    None,
                    Verb::Create,
                ),
            ),
            (
                Method::PATCH,
                "/apis/apps/v1/namespaces/default/deployments/web/scale",
                None,
                (
                    "apps",
                    "v1",
                    Some("default"),
                    "deployments",
                    Some("web"),
                    Some("scale"),
                    Verb::Patch,
                ),
            ),
            (
                Method::DELETE,
                "/apis/apps/v1/namespaces/default/deployments",
                None,
                (
                    "apps",
                    "v1",
                    Some("default"),
                    "deployments",
                    None,
                    None,
                    Verb::DeleteCollection,
                ),
            ),
            (
                Method::DELETE,
                "/api/v1/nodes/n1",
                None,
                ("", "v1", None, "nodes", Some("n1"), None, Verb::Delete),
            ),
        ];
        for (method, path, watch, expected) in cases {
            let r = resource(method.clone(), path, *watch);
            let got = (
                r.group.as_str(),
                r.version.as_str(),
                r.namespace.as_deref(),
                r.resource.as_str(),
                r.name.as_deref(),
                r.subresource.as_deref(),
                r.verb.unwrap_or(Verb::Get),
            );
            assert_eq!(&got, expected, "{method} {path}");
        }
    }

    #[test]
    fn namespace_subresources_and_discovery() {
        assert_eq!(
            parse(&Method::GET, "/api", None),
            discovery("api", None, None)
        );
        assert_eq!(
            parse(&Method::GET, "/api/v1", None),
            discovery("api", None, Some("v1"))
        );
        assert_eq!(
            parse(&Method::GET, "/apis", None),
            discovery("apis", None, None)
        );
        assert_eq!(
            parse(&Method::GET, "/apis/apps", None),
            discovery("apis", Some("apps"), None)
        );
        assert_eq!(
            parse(&Method::GET, "/apis/apps/v1", None),
            discovery("apis", Some("apps"), Some("v1"))
        );
        assert_eq!(
            parse(&Method::GET, "/version", None),
            RequestTarget::NonResource
        );
        assert_eq!(
            parse(&Method::GET, "/healthz/etcd", None),
            RequestTarget::NonResource
        );
    }
}
