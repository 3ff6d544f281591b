//! The access log and the client's address.
//!
//! The client is the peer of the connection, unless that peer is a configured trusted proxy
//! (`--trusted-proxy`): then it is the nearest address in `X-Forwarded-For` (read from the
//! right) that is not a trusted proxy itself, or `X-Real-IP`. Headers from anyone else are
//! ignored, since anyone can write them. The same address is logged and throttles logins
//! ([`ClientAddr`] in the request's data).
//!
//! Logged query strings have their secrets (`api_key`, `api_token`, `password`, `token`)
//! replaced, and everything a client wrote is escaped, so no line can be forged.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use ipnetwork::IpNetwork;
use poem::middleware::ReqId;
use poem::{Endpoint, IntoResponse, Request, Response, Result};
use tracing::Instrument;

/// The client a request comes from, as the access log names it.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub Option<IpAddr>);

const SECRETS: &[&str] = &["api_key", "api_token", "password", "token"];

fn is_trusted(trusted: &[IpNetwork], ip: IpAddr) -> bool {
    trusted.iter().any(|n| n.contains(ip))
}

/// The client of a request from `peer` with these forwarding headers.
fn client(
    trusted: &[IpNetwork],
    peer: Option<IpAddr>,
    forwarded: Option<&str>,
    real_ip: Option<&str>,
) -> Option<IpAddr> {
    let peer = peer?;
    if !is_trusted(trusted, peer) {
        return Some(peer);
    }
    if let Some(list) = forwarded {
        let mut nearest = peer;
        for hop in list.rsplit(',') {
            match hop.trim().parse::<IpAddr>() {
                Ok(ip) if is_trusted(trusted, ip) => nearest = ip,
                Ok(ip) => return Some(ip),
                // A hop that is not an address: trust nothing beyond it.
                Err(_) => return Some(nearest),
            }
        }
        return Some(nearest);
    }
    real_ip.and_then(|v| v.trim().parse().ok()).or(Some(peer))
}

/// The path and query as logged: secrets replaced, control characters escaped.
fn loggable(uri: &poem::http::Uri) -> String {
    let mut out = uri.path().to_string();
    if let Some(q) = uri.query() {
        let pairs: Vec<String> = q
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((k, _)) if SECRETS.contains(&k.to_ascii_lowercase().as_str()) => format!("{k}=[redacted]"),
                _ => pair.to_string(),
            })
            .collect();
        out.push('?');
        out.push_str(&pairs.join("&"));
    }
    out.escape_debug().to_string()
}

/// Names the client, answers the request and logs it (for `EndpointExt::around`); `trusted`
/// are the `--trusted-proxy` networks.
pub async fn log<E: Endpoint>(ep: Arc<E>, mut req: Request, trusted: Arc<Vec<IpNetwork>>) -> Result<Response> {
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    let peer = req.remote_addr().as_socket_addr().map(|a| a.ip());
    let addr = client(&trusted, peer, header("x-forwarded-for"), header("x-real-ip"));
    let id = req.extensions().get::<ReqId>().map(|r| r.to_string()).unwrap_or_default();
    let (method, target) = (req.method().clone(), loggable(req.uri()));
    req.extensions_mut().insert(ClientAddr(addr));
    let started = Instant::now();
    // Everything logged while answering names the request.
    let span = tracing::info_span!("request", request_id = %id);
    let resp = match ep.call(req).instrument(span).await {
        Ok(r) => r.into_response(),
        Err(e) => e.into_response(),
    };
    let client = addr.map(|a| a.to_string()).unwrap_or_default();
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    let status = resp.status().as_u16();
    if status >= 500 {
        tracing::error!(request_id = %id, %client, %method, target, status, ms, "request");
    } else {
        tracing::info!(request_id = %id, %client, %method, target, status, ms, "request");
    }
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nets(s: &[&str]) -> Vec<IpNetwork> {
        s.iter().map(|n| n.parse().unwrap()).collect()
    }

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn forwarding_headers_count_only_from_trusted_proxies() {
        let none = nets(&[]);
        assert_eq!(client(&none, ip("192.0.2.9"), Some("203.0.113.1"), Some("203.0.113.2")), ip("192.0.2.9"));
        let proxies = nets(&["10.0.0.0/8"]);
        assert_eq!(client(&proxies, ip("10.0.0.1"), Some("203.0.113.1, 10.1.1.1"), None), ip("203.0.113.1"));
        // A client's own forged entries lie left of the real one and are never reached.
        assert_eq!(client(&proxies, ip("10.0.0.1"), Some("1.1.1.1, 203.0.113.7"), None), ip("203.0.113.7"));
        assert_eq!(client(&proxies, ip("10.0.0.1"), Some("junk, 10.2.2.2"), None), ip("10.2.2.2"));
        assert_eq!(client(&proxies, ip("10.0.0.1"), None, Some("203.0.113.3")), ip("203.0.113.3"));
        assert_eq!(client(&proxies, ip("192.0.2.9"), Some("203.0.113.1"), None), ip("192.0.2.9"));
    }

    #[test]
    fn secrets_are_redacted_and_control_characters_escaped() {
        let uri: poem::http::Uri = "/api/events/search?api_key=s3cret&dt_from=x&Token=t".parse().unwrap();
        assert_eq!(loggable(&uri), "/api/events/search?api_key=[redacted]&dt_from=x&Token=[redacted]");
        let forged: poem::http::Uri = "/a?x=%0A".parse().unwrap();
        assert_eq!(loggable(&forged), "/a?x=%0A");
        assert_eq!("a\nb".escape_debug().to_string(), "a\\nb");
    }
}
