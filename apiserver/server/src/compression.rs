//! gzip for large responses, as upstream's `APIResponseCompression`: a complete response body of at
//! least 128 KiB is compressed when the client accepts gzip. Streams (watches, whose size is not
//! known up front) pass through untouched, so events are never held back in a compressor's buffer.

use axum::body::HttpBody as _;
use axum::{
    body::Body,
    extract::Request,
    middleware::Next,
    response::{IntoResponse, Response},
};
use flate2::{Compression, write::GzEncoder};
use http::{HeaderValue, header};
use std::io::Write;

/// Upstream's `defaultGzipThresholdBytes`: smaller bodies cost more to compress than they save.
pub const GZIP_THRESHOLD_BYTES: u64 = 128 * 1024;

/// Upstream compresses with `gzip.BestSpeed`: list responses are large and latency matters more
/// than the last few percent of size.
const LEVEL: Compression = Compression::fast();

/// Middleware: compress large, complete responses for clients that send `Accept-Encoding: gzip`.
pub async fn gzip_large_responses(request: Request, next: Next) -> Response {
    let accepts_gzip = request
        .headers()
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(accepts_gzip);
    let response = next.run(request).await;
    if !accepts_gzip
        || response.headers().contains_key(header::CONTENT_ENCODING)
        || response
            .body()
            .size_hint()
            .exact()
            .is_none_or(|size| size < GZIP_THRESHOLD_BYTES)
    {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    // The size is exact, so the body is already in memory: collecting it does not wait on anyone.
    let bytes = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(bytes) => bytes,
        Err(error) => {
            tracing::warn!(%error, "reading a response body to compress it");
            return http::StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let mut encoder = GzEncoder::new(Vec::with_capacity(bytes.len() / 4), LEVEL);
    let compressed = match encoder.write_all(&bytes).and_then(|()| encoder.finish()) {
        Ok(compressed) => compressed,
        Err(error) => {
            tracing::warn!(%error, "compressing a response; sending it uncompressed");
            return Response::from_parts(parts, Body::from(bytes));
        }
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    parts
        .headers
        .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    parts
        .headers
        .append(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    Response::from_parts(parts, Body::from(compressed))
}

/// Whether one `Accept-Encoding` header value lists gzip with a non-zero quality.
fn accepts_gzip(value: &str) -> bool {
    value.split(',').any(|coding| {
        let mut params = coding.split(';').map(str::trim);
        let name = params.next().unwrap_or_default();
        let zero_quality = params.any(|p| {
            p.strip_prefix("q=")
                .and_then(|q| q.trim().parse::<f32>().ok())
                .is_some_and(|q| q == 0.0)
        });
        (name.eq_ignore_ascii_case("gzip") || name == "*") && !zero_quality
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::{Router, routing::get};
    use flate2::read::GzDecoder;
    use std::io::Read;
    use tower::ServiceExt;

    #[test]
    fn accept_encoding_parsing() {
        assert!(accepts_gzip("gzip"));
        assert!(accepts_gzip("deflate, gzip;q=0.5"));
        assert!(accepts_gzip("*"));
        assert!(!accepts_gzip("gzip;q=0"));
        assert!(!accepts_gzip("deflate, br"));
    }

    fn app() -> Router {
        Router::new()
            .route("/big", get(|| async { "x".repeat(200 * 1024) }))
            .route("/small", get(|| async { "small" }))
            .route(
                "/stream",
                get(|| async {
                    let chunks = futures::stream::iter(vec![Ok::<_, std::io::Error>(
                        bytes::Bytes::from("y".repeat(200 * 1024)),
                    )]);
                    Body::from_stream(chunks)
                }),
            )
            .layer(axum::middleware::from_fn(gzip_large_responses))
    }

    async fn get_with(path: &str, gzip: bool) -> Response {
        let mut request = Request::get(path);
        if gzip {
            request = request.header(header::ACCEPT_ENCODING, "gzip");
        }
        app()
            .oneshot(request.body(Body::empty()).unwrap())
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn large_complete_bodies_are_compressed() {
        let response = get_with("/big", true).await;
        assert_eq!(response.headers()[header::CONTENT_ENCODING], "gzip");
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        assert!(body.len() < 10 * 1024);
        let mut text = String::new();
        GzDecoder::new(&body[..]).read_to_string(&mut text).unwrap();
        assert_eq!(text.len(), 200 * 1024);
    }

    #[tokio::test]
    async fn small_bodies_streams_and_other_clients_are_not() {
        for (path, gzip) in [("/small", true), ("/stream", true), ("/big", false)] {
            let response = get_with(path, gzip).await;
            assert!(
                !response.headers().contains_key(header::CONTENT_ENCODING),
                "{path} gzip={gzip}"
            );
        }
    }
}
