//! A 405 names the methods the path takes (`Allow`, as HTTP requires), read from the OpenAPI
//! document so the list is the one the routes were built from.

use std::sync::Arc;

use poem::http::{HeaderValue, StatusCode};
use poem::{Endpoint, IntoResponse, Middleware, Request, Response, Result};

/// Each path template of the document (`/api/events/{id}/show` as segments) and its methods.
pub struct MethodAllow {
    paths: Arc<Vec<(Vec<String>, String)>>,
}

impl MethodAllow {
    pub fn from_spec(spec: &str) -> Self {
        let doc: serde_json::Value = serde_json::from_str(spec).unwrap_or_default();
        let mut paths = Vec::new();
        for (path, ops) in doc["paths"].as_object().into_iter().flatten() {
            let methods: Vec<String> =
                ops.as_object().into_iter().flatten().map(|(m, _)| m.to_ascii_uppercase()).collect();
            paths.push((path.split('/').map(String::from).collect(), methods.join(", ")));
        }
        Self { paths: Arc::new(paths) }
    }
}

fn allowed<'a>(paths: &'a [(Vec<String>, String)], path: &str) -> Option<&'a str> {
    let parts: Vec<&str> = path.split('/').collect();
    paths.iter().find_map(|(template, methods)| {
        let fits = template.len() == parts.len()
            && template.iter().zip(&parts).all(|(t, p)| t == p || (t.starts_with('{') && !p.is_empty()));
        fits.then_some(methods.as_str())
    })
}

impl<E: Endpoint> Middleware<E> for MethodAllow {
    type Output = MethodAllowEndpoint<E>;

    fn transform(&self, ep: E) -> Self::Output {
        MethodAllowEndpoint { ep, paths: self.paths.clone() }
    }
}

pub struct MethodAllowEndpoint<E> {
    ep: E,
    paths: Arc<Vec<(Vec<String>, String)>>,
}

impl<E: Endpoint> Endpoint for MethodAllowEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> Result<Self::Output> {
        let path = req.uri().path().to_string();
        let mut resp = self.ep.call(req).await?.into_response();
        if resp.status() == StatusCode::METHOD_NOT_ALLOWED {
            if let Some(v) = allowed(&self.paths, &path).and_then(|m| HeaderValue::from_str(m).ok()) {
                resp.headers_mut().insert("allow", v);
            }
        }
        Ok(resp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_finds_its_template_and_methods() {
        let spec = r#"{"paths": {"/api/health": {"get": {}}, "/api/events/{id}/show": {"get": {}, "post": {}}}}"#;
        let m = MethodAllow::from_spec(spec);
        assert_eq!(allowed(&m.paths, "/api/health"), Some("GET"));
        assert_eq!(allowed(&m.paths, "/api/events/abc/show"), Some("GET, POST"));
        assert_eq!(allowed(&m.paths, "/api/events//show"), None);
        assert_eq!(allowed(&m.paths, "/api/nothing"), None);
    }
}
