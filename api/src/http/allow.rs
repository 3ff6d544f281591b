//! A 405 names the methods the path takes (`Allow`, as HTTP requires), read from the OpenAPI
//! document so the list is the one the routes were built from.

use std::sync::Arc;

use poem::http::{HeaderValue, StatusCode};
use poem::{Endpoint, IntoResponse, Request, Response, Result};

/// Each path template of the document (`/api/events/{id}/show` as segments) and its methods.
pub struct Allowed {
    paths: Vec<(Vec<String>, String)>,
}

impl Allowed {
    pub fn from_spec(spec: &str) -> Arc<Self> {
        let doc: serde_json::Value = serde_json::from_str(spec).unwrap_or_default();
        let mut paths = Vec::new();
        for (path, ops) in doc["paths"].as_object().into_iter().flatten() {
            let methods: Vec<String> =
                ops.as_object().into_iter().flatten().map(|(m, _)| m.to_ascii_uppercase()).collect();
            paths.push((path.split('/').map(String::from).collect(), methods.join(", ")));
        }
        Arc::new(Self { paths })
    }
}

fn methods<'a>(paths: &'a [(Vec<String>, String)], path: &str) -> Option<&'a str> {
    let parts: Vec<&str> = path.split('/').collect();
    paths.iter().find_map(|(template, methods)| {
        let fits = template.len() == parts.len()
            && template.iter().zip(&parts).all(|(t, p)| t == p || (t.starts_with('{') && !p.is_empty()));
        fits.then_some(methods.as_str())
    })
}

/// Answers the request, naming the allowed methods in a 405 (for `EndpointExt::around`).
pub async fn add<E: Endpoint>(ep: Arc<E>, req: Request, allowed: Arc<Allowed>) -> Result<Response> {
    let path = req.uri().path().to_string();
    let mut resp = ep.call(req).await?.into_response();
    if resp.status() == StatusCode::METHOD_NOT_ALLOWED {
        if let Some(v) = methods(&allowed.paths, &path).and_then(|m| HeaderValue::from_str(m).ok()) {
            resp.headers_mut().insert("allow", v);
        }
    }
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_finds_its_template_and_methods() {
        let spec = r#"{"paths": {"/api/health": {"get": {}}, "/api/events/{id}/show": {"get": {}, "post": {}}}}"#;
        let m = Allowed::from_spec(spec);
        assert_eq!(methods(&m.paths, "/api/health"), Some("GET"));
        assert_eq!(methods(&m.paths, "/api/events/abc/show"), Some("GET, POST"));
        assert_eq!(methods(&m.paths, "/api/events//show"), None);
        assert_eq!(methods(&m.paths, "/api/nothing"), None);
    }
}
