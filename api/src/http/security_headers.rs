//! Security headers on every answer: no MIME sniffing, no referrer, no framing, and a
//! Content-Security-Policy per kind of answer. The browser app's policy allows its own
//! files, WebAssembly, and exactly the inline start-up script Trunk writes into index.html
//! (by its hash, computed when the server starts); the API's JSON allows nothing; the API
//! browser (Swagger UI) needs its inline script and styles.

use std::sync::Arc;

use base64::Engine;
use poem::http::HeaderValue;
use poem::{Endpoint, IntoResponse, Request, Response, Result};
use sha2::{Digest, Sha256};

const API: &str = "default-src 'none'; frame-ancestors 'none'";
const DOCS: &str = "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; \
                    img-src 'self' data:; frame-ancestors 'none'";

/// The browser app's policy, fixed when the server starts.
pub struct AppPolicy(HeaderValue);

impl AppPolicy {
    /// `index` is the app's index.html, when the app is served.
    pub fn new(index: Option<&str>) -> Arc<Self> {
        let hashes: String = index.map(inline_scripts).unwrap_or_default().iter().map(|s| format!(" '{s}'")).collect();
        let app = format!(
            "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'{hashes}; style-src 'self' 'unsafe-inline'; \
             img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
             form-action 'self'; frame-ancestors 'none'"
        );
        Arc::new(Self(HeaderValue::from_str(&app).expect("an ASCII policy")))
    }
}

/// `sha256-…` of every inline `<script>` of a page.
fn inline_scripts(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<script") {
        let Some(open_end) = rest[start..].find('>').map(|i| start + i + 1) else { break };
        let Some(close) = rest[open_end..].find("</script>").map(|i| open_end + i) else { break };
        if !rest[start..open_end].contains("src=") {
            let digest = Sha256::digest(&rest.as_bytes()[open_end..close]);
            out.push(format!("sha256-{}", base64::engine::general_purpose::STANDARD.encode(digest)));
        }
        rest = &rest[close..];
    }
    out
}

/// Answers the request and adds the headers (for `EndpointExt::around`).
pub async fn add<E: Endpoint>(ep: Arc<E>, req: Request, app: Arc<AppPolicy>) -> Result<Response> {
    let path = req.uri().path().to_string();
    let mut resp = match ep.call(req).await {
        Ok(r) => r.into_response(),
        Err(e) => e.into_response(),
    };
    let csp = if path.starts_with("/api/docs") {
        HeaderValue::from_static(DOCS)
    } else if path.starts_with("/api/") {
        HeaderValue::from_static(API)
    } else {
        app.0.clone()
    };
    let h = resp.headers_mut();
    h.insert("content-security-policy", csp);
    h.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_allows_exactly_the_pages_inline_scripts() {
        let page = "<head><script type=\"module\">\nimport init from '/a.js';\n</script><script src=\"/b.js\"></script></head>";
        let hashes = inline_scripts(page);
        let want = Sha256::digest(b"\nimport init from '/a.js';\n");
        assert_eq!(hashes, [format!("sha256-{}", base64::engine::general_purpose::STANDARD.encode(want))]);
        let csp = &AppPolicy::new(Some(page)).0;
        assert!(csp.to_str().unwrap().contains(&format!("'{}'", hashes[0])));
        assert!(!AppPolicy::new(None).0.to_str().unwrap().contains("sha256"));
    }
}
