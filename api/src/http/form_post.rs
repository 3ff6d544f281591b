//! Hawat's POST forms: a POST to `/api/events/…` may carry its parameters as form fields
//! (`application/x-www-form-urlencoded`) or a JSON object; they join the query string, so one
//! handler serves GET and POST alike. An `api_key` or `api_token` field becomes the
//! `Authorization` header (unless one is given); a key in a GET query string is never read.

use poem::http::header::{AUTHORIZATION, CONTENT_TYPE};
use poem::http::{HeaderValue, Method, Uri};
use poem::{Endpoint, IntoResponse, Middleware, Request, Response, Result};
use serde_json::Value;

use super::body_limit::FORM_LIMIT;
use super::error::ApiError;

pub struct FormPost;

impl<E: Endpoint> Middleware<E> for FormPost {
    type Output = FormPostEndpoint<E>;

    fn transform(&self, ep: E) -> Self::Output {
        FormPostEndpoint(ep)
    }
}

pub struct FormPostEndpoint<E>(E);

/// Fields of a JSON object as pairs; lists repeat their key.
fn json_pairs(v: &Value) -> Option<Vec<(String, String)>> {
    let mut out = Vec::new();
    for (k, v) in v.as_object()? {
        let items: Vec<&Value> = match v {
            Value::Array(a) => a.iter().collect(),
            Value::Null => continue,
            other => vec![other],
        };
        for item in items {
            let s = match item {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            out.push((k.clone(), s));
        }
    }
    Some(out)
}

impl<E: Endpoint> Endpoint for FormPostEndpoint<E> {
    type Output = Response;

    async fn call(&self, mut req: Request) -> Result<Self::Output> {
        let kind = req.content_type().unwrap_or_default().to_ascii_lowercase();
        let form = kind.starts_with("application/x-www-form-urlencoded");
        if req.method() == Method::POST
            && req.uri().path().starts_with("/api/events/")
            && (form || kind.starts_with("application/json"))
        {
            let body = req.take_body().into_bytes_limit(FORM_LIMIT).await.map_err(|_| {
                poem::Error::from_string(
                    format!("a form may hold {FORM_LIMIT} bytes at most"),
                    poem::http::StatusCode::PAYLOAD_TOO_LARGE,
                )
            })?;
            let pairs = if form {
                serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body).ok()
            } else {
                serde_json::from_slice::<Value>(&body).ok().as_ref().and_then(json_pairs)
            };
            let Some(pairs) = pairs else {
                return Err(ApiError::BadRequest(format!("the body is not a valid {kind} object")).into());
            };
            let (keys, fields): (Vec<_>, Vec<_>) =
                pairs.into_iter().partition(|(k, _)| k == "api_key" || k == "api_token");
            if let Some((_, key)) = keys.into_iter().next() {
                if !req.headers().contains_key(AUTHORIZATION) {
                    let value = HeaderValue::from_str(&key)
                        .map_err(|_| ApiError::BadRequest("the API key has invalid characters".into()))?;
                    req.headers_mut().insert(AUTHORIZATION, value);
                }
            }
            let mut query = req.uri().query().unwrap_or_default().to_string();
            let extra = serde_urlencoded::to_string(&fields).unwrap_or_default();
            if !extra.is_empty() {
                query = if query.is_empty() { extra } else { format!("{query}&{extra}") };
            }
            let path = req.uri().path().to_string();
            let uri: Uri = if query.is_empty() { path.parse() } else { format!("{path}?{query}").parse() }
                .map_err(|_| ApiError::BadRequest("the form cannot be read".into()))?;
            *req.uri_mut() = uri;
            req.headers_mut().remove(CONTENT_TYPE);
        }
        self.0.call(req).await.map(IntoResponse::into_response)
    }
}
