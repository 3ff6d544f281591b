//! A size limit on every request body, applied before anything reads it: a login is a few
//! hundred bytes and a search form a few kilobytes, so a larger body is a mistake or an attack
//! and gets a 413 without being read further. Ingest has its own, configurable limit, applied
//! by its handler while it reads.

use std::sync::Arc;

use poem::error::ResponseError;
use poem::http::header::CONTENT_LENGTH;
use poem::{Endpoint, IntoResponse, Request, Response, Result};

use super::error::ApiError;

/// The largest login body.
pub const LOGIN_LIMIT: usize = 4 << 10;
/// The largest body anywhere else (search and export forms).
pub const FORM_LIMIT: usize = 1 << 20;
/// The route whose handler limits its own body.
const INGEST: &str = "/api/events";

fn limit_of(path: &str) -> Option<usize> {
    match path.trim_end_matches('/') {
        INGEST => None,
        "/api/auth/login" => Some(LOGIN_LIMIT),
        _ => Some(FORM_LIMIT),
    }
}

fn too_large(limit: usize) -> ApiError {
    ApiError::TooLarge(format!("the request body is larger than {limit} bytes"))
}

/// Answers the request unless its body is over its route's limit (for `EndpointExt::around`).
pub async fn limit<E: Endpoint>(ep: Arc<E>, mut req: Request) -> Result<Response> {
    if let Some(limit) = limit_of(req.uri().path()) {
        let declared = req.headers().get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
        if declared.is_some_and(|n| n > limit as u64) {
            return Ok(too_large(limit).as_response());
        }
        // Without a declared length (chunked), the body is read here, up to the limit.
        if declared.is_none() {
            let body = match req.take_body().into_bytes_limit(limit).await {
                Ok(b) => b,
                Err(poem::error::ReadBodyError::PayloadTooLarge) => return Ok(too_large(limit).as_response()),
                Err(e) => return Ok(ApiError::BadRequest(format!("the body cannot be read: {e}")).as_response()),
            };
            req.set_body(body);
        }
    }
    ep.call(req).await.map(IntoResponse::into_response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_but_ingest_has_a_limit() {
        assert_eq!(limit_of("/api/events"), None);
        assert_eq!(limit_of("/api/auth/login"), Some(LOGIN_LIMIT));
        assert_eq!(limit_of("/api/events/search"), Some(FORM_LIMIT));
        assert_eq!(limit_of("/"), Some(FORM_LIMIT));
    }
}
