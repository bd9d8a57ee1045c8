//! Content negotiation: which encoding a request body is in (`Content-Type`) and which encoding and
//! shape the client wants back (`Accept`), with upstream's media types and parameters:
//! `application/json`, `application/yaml`, `application/vnd.kubernetes.protobuf`, the `as=Table`,
//! `as=PartialObjectMetadata[List]` and `as=APIGroupDiscoveryList` conversions (with `g=` and `v=`),
//! and `stream=watch`.

/// An encoding on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// `application/json`.
    Json,
    /// `application/yaml`.
    Yaml,
    /// `application/vnd.kubernetes.protobuf`.
    Protobuf,
}

impl Encoding {
    /// The media type to send in `Content-Type`.
    pub fn media_type(self) -> &'static str {
        match self {
            Encoding::Json => "application/json",
            Encoding::Yaml => "application/yaml",
            Encoding::Protobuf => "application/vnd.kubernetes.protobuf",
        }
    }

    fn from_media_type(media_type: &str) -> Option<Self> {
        match media_type {
            "application/json" | "application/*" | "*/*" => Some(Encoding::Json),
            "application/yaml" => Some(Encoding::Yaml),
            "application/vnd.kubernetes.protobuf" => Some(Encoding::Protobuf),
            _ => None,
        }
    }
}

/// The shape of a response the client asked for with `as=`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shape {
    /// The object or list itself.
    Object,
    /// `as=Table` (`meta.k8s.io`, `v1` or `v1beta1`).
    Table {
        /// The Table's version.
        version: String,
    },
    /// `as=PartialObjectMetadata` or `as=PartialObjectMetadataList`.
    PartialObjectMetadata {
        /// The version of `meta.k8s.io`.
        version: String,
        /// Whether the list form was named.
        list: bool,
    },
    /// `as=APIGroupDiscoveryList;g=apidiscovery.k8s.io;v=v2`.
    AggregatedDiscovery {
        /// The discovery version (`v2`, or `v2beta1`).
        version: String,
    },
}

/// One entry of an `Accept` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaRange {
    /// `type/subtype`, lower-cased.
    pub media_type: String,
    /// Parameters, keys lower-cased.
    pub params: Vec<(String, String)>,
}

impl MediaRange {
    fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Parse a header value holding one or more media types (`Accept`, `Content-Type`).
pub fn parse_media_ranges(header: &str) -> Vec<MediaRange> {
    header
        .split(',')
        .filter_map(|part| {
            let mut pieces = part.split(';');
            let media_type = pieces.next()?.trim().to_ascii_lowercase();
            if media_type.is_empty() {
                return None;
            }
            let params = pieces
                .filter_map(|p| {
                    let (k, v) = p.split_once('=')?;
                    Some((
                        k.trim().to_ascii_lowercase(),
                        v.trim().trim_matches('"').to_owned(),
                    ))
                })
                .collect();
            Some(MediaRange { media_type, params })
        })
        .collect()
}

/// What to send back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseFormat {
    /// The wire encoding.
    pub encoding: Encoding,
    /// The shape.
    pub shape: Shape,
}

/// Which conversions an endpoint can produce.
#[derive(Debug, Clone, Copy, Default)]
pub struct Offers {
    /// Tables and partial metadata (resource GET and LIST).
    pub conversions: bool,
    /// Aggregated discovery (`/api`, `/apis`).
    pub aggregated_discovery: bool,
    /// Protobuf encoding.
    pub protobuf: bool,
}

/// Pick the first acceptable format from an `Accept` header; `None` means 406 Not Acceptable.
/// A missing or empty header means JSON.
pub fn negotiate(accept: Option<&str>, offers: Offers) -> Option<ResponseFormat> {
    let header = accept.map(str::trim).unwrap_or_default();
    if header.is_empty() {
        return Some(ResponseFormat {
            encoding: Encoding::Json,
            shape: Shape::Object,
        });
    }
    parse_media_ranges(header)
        .iter()
        .find_map(|range| acceptable(range, offers))
}

fn acceptable(range: &MediaRange, offers: Offers) -> Option<ResponseFormat> {
    let encoding = Encoding::from_media_type(&range.media_type)?;
    if encoding == Encoding::Protobuf && !offers.protobuf {
        return None;
    }
    let shape = match range.param("as") {
        None => Shape::Object,
        Some(conversion) => {
            let group = range.param("g").unwrap_or_default();
            let version = range.param("v").unwrap_or_default().to_owned();
            match (conversion, group) {
                ("Table", "meta.k8s.io") if offers.conversions && is_meta_version(&version) => {
                    Shape::Table { version }
                }
                ("PartialObjectMetadata" | "PartialObjectMetadataList", "meta.k8s.io")
                    if offers.conversions && is_meta_version(&version) =>
                {
                    Shape::PartialObjectMetadata {
                        version,
                        list: conversion == "PartialObjectMetadataList",
                    }
                }
                ("APIGroupDiscoveryList", "apidiscovery.k8s.io")
                    if offers.aggregated_discovery
                        && matches!(version.as_str(), "v2" | "v2beta1") =>
                {
                    Shape::AggregatedDiscovery { version }
                }
                _ => return None,
            }
        }
    };
    Some(ResponseFormat { encoding, shape })
}

fn is_meta_version(version: &str) -> bool {
    matches!(version, "v1" | "v1beta1")
}

/// Whether a watch response should stream protobuf frames rather than JSON lines.
pub fn watch_encoding(accept: Option<&str>, protobuf: bool) -> Option<Encoding> {
    let header = accept.map(str::trim).unwrap_or_default();
    if header.is_empty() {
        return Some(Encoding::Json);
    }
    parse_media_ranges(header).iter().find_map(|range| {
        match Encoding::from_media_type(&range.media_type)? {
            Encoding::Protobuf if !protobuf => None,
            // YAML watch streams are not served upstream either.
            Encoding::Yaml => None,
            encoding => Some(encoding),
        }
    })
}

/// The encoding of a request body from its `Content-Type`; `None` is 415 Unsupported Media Type.
/// A missing header is taken as JSON, as upstream does.
pub fn request_encoding(content_type: Option<&str>) -> Option<Encoding> {
    let Some(header) = content_type.map(str::trim).filter(|h| !h.is_empty()) else {
        return Some(Encoding::Json);
    };
    let range = parse_media_ranges(header).into_iter().next()?;
    match range.media_type.as_str() {
        "application/json" => Some(Encoding::Json),
        "application/yaml" => Some(Encoding::Yaml),
        "application/vnd.kubernetes.protobuf" => Some(Encoding::Protobuf),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: Offers = Offers {
        conversions: true,
        aggregated_discovery: true,
        protobuf: true,
    };

    #[test]
    fn kubectl_and_client_go_accept_headers() {
        let table = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";
        assert_eq!(
            negotiate(Some(table), ALL),
            Some(ResponseFormat {
                encoding: Encoding::Json,
                shape: Shape::Table {
                    version: "v1".into()
                }
            })
        );
        // Without conversions (e.g. a create), the plain JSON fallback is taken.
        assert_eq!(
            negotiate(Some(table), Offers::default()).map(|f| f.shape),
            Some(Shape::Object)
        );
        let discovery = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";
        assert_eq!(
            negotiate(Some(discovery), ALL).map(|f| f.shape),
            Some(Shape::AggregatedDiscovery {
                version: "v2".into()
            })
        );
        assert_eq!(
            negotiate(
                Some("application/vnd.kubernetes.protobuf, application/json"),
                ALL
            )
            .map(|f| f.encoding),
            Some(Encoding::Protobuf)
        );
        assert_eq!(
            negotiate(
                Some("application/vnd.kubernetes.protobuf, application/json"),
                Offers {
                    protobuf: false,
                    ..ALL
                }
            )
            .map(|f| f.encoding),
            Some(Encoding::Json)
        );
        assert_eq!(
            negotiate(Some("*/*"), ALL).map(|f| f.encoding),
            Some(Encoding::Json)
        );
        assert_eq!(
            negotiate(None, ALL).map(|f| f.encoding),
            Some(Encoding::Json)
        );
        assert_eq!(negotiate(Some("text/html"), ALL), None);
        assert_eq!(
            negotiate(Some("application/json;as=Table;g=meta.k8s.io;v=v7"), ALL),
            None
        );
    }

    #[test]
    fn request_bodies() {
        assert_eq!(
            request_encoding(Some("application/json; charset=utf-8")),
            Some(Encoding::Json)
        );
        assert_eq!(
            request_encoding(Some("application/vnd.kubernetes.protobuf")),
            Some(Encoding::Protobuf)
        );
        assert_eq!(
            request_encoding(Some("application/yaml")),
            Some(Encoding::Yaml)
        );
        assert_eq!(request_encoding(None), Some(Encoding::Json));
        assert_eq!(request_encoding(Some("text/plain")), None);
    }
}
