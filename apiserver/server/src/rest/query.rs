//! The query parameters of resource requests, parsed and checked once.

use std::time::Duration;

use tugboat_machinery::{
    selectors::{FieldSelector, LabelSelector},
    status::ApiError,
};

/// `resourceVersionMatch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionMatch {
    /// Unset.
    Unset,
    /// `NotOlderThan`.
    NotOlderThan,
    /// `Exact`.
    Exact,
}

/// `fieldValidation`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldValidation {
    /// Drop unknown fields silently.
    Ignore,
    /// Drop them and warn (the default).
    Warn,
    /// Reject the request.
    Strict,
}

/// Every query parameter a resource request may carry.
#[derive(Debug)]
pub struct Query {
    /// `labelSelector`.
    pub label_selector: LabelSelector,
    /// `fieldSelector`.
    pub field_selector: FieldSelector,
    /// `limit` (0: none).
    pub limit: usize,
    /// `continue`.
    pub continue_token: Option<String>,
    /// `resourceVersion` as given (`None`: unset).
    pub resource_version: Option<String>,
    /// `resourceVersionMatch`.
    pub version_match: VersionMatch,
    /// `watch=true|1`.
    pub watch: bool,
    /// `allowWatchBookmarks`.
    pub allow_bookmarks: bool,
    /// `sendInitialEvents`.
    pub send_initial_events: Option<bool>,
    /// `timeoutSeconds`.
    pub timeout: Option<Duration>,
    /// `dryRun=All`.
    pub dry_run: bool,
    /// `fieldValidation`.
    pub field_validation: FieldValidation,
    /// `fieldManager`.
    pub field_manager: Option<String>,
    /// `force` (server-side apply only).
    pub force: Option<bool>,
    /// `includeObject` for Tables: `None`, `Metadata` (default) or `Object`.
    pub include_object: String,
    /// `gracePeriodSeconds`.
    pub grace_period_seconds: Option<i64>,
    /// `propagationPolicy`.
    pub propagation_policy: Option<String>,
    /// `pretty`.
    pub pretty: bool,
}

fn parse_bool(name: &str, value: &str) -> Result<bool, ApiError> {
    match value {
        "true" | "1" | "True" | "TRUE" | "t" | "T" => Ok(true),
        "false" | "0" | "False" | "FALSE" | "f" | "F" | "" => Ok(false),
        other => Err(ApiError::bad_request(format!(
            "invalid value {other:?} for query parameter {name}: must be a boolean"
        ))),
    }
}

impl Query {
    /// Parse a raw query string.
    pub fn parse(raw: Option<&str>) -> Result<Query, ApiError> {
        let mut query = Query {
            label_selector: LabelSelector::everything(),
            field_selector: FieldSelector::everything(),
            limit: 0,
            continue_token: None,
            resource_version: None,
            version_match: VersionMatch::Unset,
            watch: false,
            allow_bookmarks: false,
            send_initial_events: None,
            timeout: None,
            dry_run: false,
            field_validation: FieldValidation::Warn,
            field_manager: None,
            force: None,
            include_object: "Metadata".to_owned(),
            grace_period_seconds: None,
            propagation_policy: None,
            pretty: false,
        };
        for (key, value) in form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
            let value = value.as_ref();
            match key.as_ref() {
                "labelSelector" => {
                    query.label_selector = LabelSelector::parse(value)
                        .map_err(|e| ApiError::bad_request(e.to_string()))?;
                }
                "fieldSelector" => {
                    query.field_selector = FieldSelector::parse(value)
                        .map_err(|e| ApiError::bad_request(e.to_string()))?;
                }
                "limit" => {
                    let limit: i64 = value.parse().map_err(|_| {
                        ApiError::bad_request(format!(
                            "invalid value {value:?} for query parameter limit"
                        ))
                    })?;
                    query.limit = limit.max(0) as usize;
                }
                "continue" if !value.is_empty() => query.continue_token = Some(value.to_owned()),
                "resourceVersion" if !value.is_empty() => {
                    query.resource_version = Some(value.to_owned())
                }
                "resourceVersionMatch" => {
                    query.version_match = match value {
                        "" => VersionMatch::Unset,
                        "NotOlderThan" => VersionMatch::NotOlderThan,
                        "Exact" => VersionMatch::Exact,
                        other => {
                            return Err(ApiError::bad_request(format!(
                                "resourceVersionMatch: Unsupported value: \"{other}\": supported values: \"Exact\", \"NotOlderThan\""
                            )));
                        }
                    }
                }
                "watch" => query.watch = parse_bool("watch", value)?,
                "allowWatchBookmarks" => {
                    query.allow_bookmarks = parse_bool("allowWatchBookmarks", value)?
                }
                "sendInitialEvents" => {
                    query.send_initial_events = Some(parse_bool("sendInitialEvents", value)?);
                }
                "timeoutSeconds" => {
                    let seconds: u64 = value.parse().map_err(|_| {
                        ApiError::bad_request(format!(
                            "invalid value {value:?} for query parameter timeoutSeconds"
                        ))
                    })?;
                    query.timeout = Some(Duration::from_secs(seconds));
                }
                "dryRun" => match value {
                    "All" => query.dry_run = true,
                    "" => {}
                    other => {
                        return Err(ApiError::bad_request(format!(
                            "Invalid dryRun value {other:?}: only \"All\" is supported"
                        )));
                    }
                },
                "fieldValidation" => {
                    query.field_validation = match value {
                        "Ignore" => FieldValidation::Ignore,
                        "Warn" | "" => FieldValidation::Warn,
                        "Strict" => FieldValidation::Strict,
                        other => {
                            return Err(ApiError::bad_request(format!(
                                "invalid fieldValidation directive: {other}"
                            )));
                        }
                    }
                }
                "fieldManager" if !value.is_empty() => query.field_manager = Some(value.to_owned()),
                "includeObject" if !value.is_empty() => {
                    if !matches!(value, "None" | "Metadata" | "Object") {
                        return Err(ApiError::bad_request(format!(
                            "invalid includeObject value {value:?}"
                        )));
                    }
                    query.include_object = value.to_owned();
                }
                "gracePeriodSeconds" => {
                    let seconds: i64 = value.parse().map_err(|_| {
                        ApiError::bad_request(format!(
                            "invalid value {value:?} for query parameter gracePeriodSeconds"
                        ))
                    })?;
                    query.grace_period_seconds = Some(seconds);
                }
                "propagationPolicy" if !value.is_empty() => {
                    query.propagation_policy = Some(value.to_owned())
                }
                "pretty" => query.pretty = parse_bool("pretty", value)?,
                "force" => query.force = Some(parse_bool("force", value)?),
                _ => {}
            }
        }
        if query.version_match != VersionMatch::Unset && query.resource_version.is_none() {
            return Err(ApiError::bad_request(
                "resourceVersionMatch is forbidden unless resourceVersion is provided",
            ));
        }
        Ok(query)
    }

    /// `resourceVersion` as a revision (`Some(0)` for "0", `None` unset).
    pub fn revision(&self) -> Result<Option<i64>, ApiError> {
        match &self.resource_version {
            None => Ok(None),
            Some(text) => text
                .parse::<i64>()
                .ok()
                .filter(|rv| *rv >= 0)
                .map(Some)
                .ok_or_else(|| ApiError::bad_request(format!("invalid resource version: {text}"))),
        }
    }
}
