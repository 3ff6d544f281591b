//! Login sessions, the 401/403 matrix over every endpoint of the OpenAPI document, login
//! throttling, request ids and CORS, on a real server.

use ideadb::auth::hash_password;
use reqwest::header::AUTHORIZATION;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::harness::TestDb;
use crate::server::{account, json_error, Server};

const PASSWORD: &str = "correct horse battery";

async fn person(db: &TestDb, login: &str, roles: &[&str]) {
    db.store.user_create(login, roles, Some(&hash_password(PASSWORD).unwrap())).await.unwrap();
}

async fn login(server: &Server, login: &str, password: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(server.url("/api/auth/login"))
        .json(&json!({"login": login, "password": password}))
        .send()
        .await
        .unwrap()
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

#[tokio::test]
async fn a_login_token_works_until_logout() {
    let db = TestDb::new().await;
    person(&db, "alice", &["user", "maintainer"]).await;
    let key = account(&db, "robot", &["user"], true).await;
    let server = Server::start(&db.url);

    let resp = login(&server, "alice", PASSWORD).await;
    assert_eq!(resp.status(), 200);
    let session: Value = resp.json().await.unwrap();
    let token = session["token"].as_str().unwrap().to_string();
    assert_eq!(session["user"], json!({"login": "alice", "roles": ["user", "maintainer"], "auth": "token"}));
    let expires = chrono::DateTime::parse_from_rfc3339(session["expires_at"].as_str().unwrap()).unwrap();
    let hours = (expires.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_minutes() as f64 / 60.0;
    assert!((11.9..=12.0).contains(&hours), "default session of 12 h, got {hours}");

    assert_eq!(server.get_json("/api/auth/me", &bearer(&token)).await["login"], "alice");
    let search = server.get("/api/events/search?submit=Search", &bearer(&token)).await;
    assert_eq!(search.status(), 200);
    let me = server.get_json("/api/auth/me", &key).await;
    assert_eq!((me["login"].as_str(), me["auth"].as_str()), (Some("robot"), Some("api_key")));

    let http = reqwest::Client::new();
    let out = |auth: String| http.post(server.url("/api/auth/logout")).header(AUTHORIZATION, auth).send();
    assert!(json_error(out(key.clone()).await.unwrap(), 403).await.contains("API key"));
    assert_eq!(out(bearer(&token)).await.unwrap().status(), StatusCode::NO_CONTENT);
    let after = server.get("/api/auth/me", &bearer(&token)).await;
    assert!(json_error(after, 401).await.contains("session has ended"));

    // A second login is a new session; disabling the account ends it at once, and the
    // account cannot log in again.
    let token: Value = login(&server, "alice", PASSWORD).await.json().await.unwrap();
    let token = token["token"].as_str().unwrap().to_string();
    assert_eq!(server.get("/api/auth/me", &bearer(&token)).await.status(), 200);
    db.store.user_set_enabled("alice", false).await.unwrap();
    json_error(server.get("/api/auth/me", &bearer(&token)).await, 401).await;
    assert!(json_error(login(&server, "alice", PASSWORD).await, 403).await.contains("disabled"));
    db.drop().await;
}

#[tokio::test]
async fn bad_logins_and_forged_tokens_are_refused() {
    let db = TestDb::new().await;
    person(&db, "alice", &["user"]).await;
    person(&db, "nobody", &[]).await;
    account(&db, "robot", &["user"], true).await;
    let server = Server::start(&db.url);

    let wrong = json_error(login(&server, "alice", "wrong password!").await, 401).await;
    let unknown = json_error(login(&server, "mallory", PASSWORD).await, 401).await;
    assert_eq!(wrong, unknown, "an unknown login looks like a wrong password");
    json_error(login(&server, "robot", PASSWORD).await, 401).await;
    assert!(json_error(login(&server, "nobody", PASSWORD).await, 403).await.contains("no role"));
    let malformed = reqwest::Client::new()
        .post(server.url("/api/auth/login"))
        .json(&json!({"login": "alice"}))
        .send()
        .await
        .unwrap();
    let msg = json_error(malformed, 400).await;
    assert!(msg.contains("password"), "{msg}");

    let session: Value = login(&server, "alice", PASSWORD).await.json().await.unwrap();
    let token = session["token"].as_str().unwrap();
    let mut parts: Vec<String> = token.split('.').map(String::from).collect();
    // The same claims, re-signed by nobody (alg none) or with a changed signature.
    let none = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{}.", parts[1]);
    parts[2] = parts[2].chars().rev().collect();
    for forged in [none, parts.join("."), "not.a.token".to_string()] {
        let resp = server.get("/api/auth/me", &bearer(&forged)).await;
        assert!(json_error(resp, 401).await.contains("not valid"), "{forged}");
    }
    db.drop().await;
}

#[tokio::test]
async fn logins_are_throttled_per_account_and_address_and_per_address() {
    let db = TestDb::new().await;
    person(&db, "alice", &["user"]).await;
    let server = Server::start(&db.url);
    for _ in 0..5 {
        json_error(login(&server, "alice", "wrong password!").await, 401).await;
    }
    let resp = login(&server, "alice", PASSWORD).await;
    let wait: u64 = resp.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=13).contains(&wait), "{wait}");
    assert!(json_error(resp, 429).await.contains("too many login attempts"));
    // From another address, alice is not locked out by those failures.
    let elsewhere =
        reqwest::Client::builder().local_address("127.0.0.2".parse::<std::net::IpAddr>().unwrap()).build().unwrap();
    let resp = elsewhere
        .post(server.url("/api/auth/login"))
        .json(&json!({"login": "alice", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "failures from 127.0.0.1 do not lock alice out at 127.0.0.2");
    // Other accounts, from the same address, until the address's budget (20) is spent too.
    let mut refused = 0;
    for i in 0..20 {
        let r = login(&server, &format!("user{i}"), "wrong password!").await;
        if r.status() == StatusCode::TOO_MANY_REQUESTS {
            refused += 1;
        }
    }
    assert!((1..=6).contains(&refused), "the address ran out after about 20 attempts: {refused} refused");
    db.drop().await;
}

/// Every operation of the OpenAPI document: without credentials 401, with a bad key 401,
/// with a disabled account 403, with a good key not 401/403 — except login and health,
/// which need none.
#[tokio::test]
async fn every_endpoint_but_login_and_health_needs_credentials() {
    let db = TestDb::new().await;
    let good = account(&db, "admin", &["admin"], true).await;
    let disabled = account(&db, "old", &["admin"], false).await;
    let server = Server::start(&db.url);
    let spec: Value = serde_json::from_str(&ideadb::http::openapi_json()).unwrap();
    let http = reqwest::Client::new();
    let mut open = Vec::new();
    let mut checked = 0;
    for (path, ops) in spec["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            let url = server.url(&path.replace("{id}", "some-id"));
            let call = |auth: Option<&str>| {
                let mut r = http.request(method.to_uppercase().parse().unwrap(), &url);
                if let Some(a) = auth {
                    r = r.header(AUTHORIZATION, a);
                }
                if method == "post" {
                    r = r.header("content-type", "application/json").body("{}");
                }
                r.send()
            };
            if op.get("security").is_none() {
                open.push(format!("{method} {path}"));
                continue;
            }
            checked += 1;
            assert_eq!(call(None).await.unwrap().status(), 401, "{method} {path} without credentials");
            assert_eq!(call(Some("ideadb_nope")).await.unwrap().status(), 401, "{method} {path} with a bad key");
            assert_eq!(call(Some(&disabled)).await.unwrap().status(), 403, "{method} {path} disabled");
            let ok = call(Some(&good)).await.unwrap().status();
            // Logout ends a login session, which an API key is not.
            let refused = ok == 401 || (ok == 403 && !path.ends_with("/logout"));
            assert!(!refused, "{method} {path} with a good key: {ok}");
        }
    }
    open.sort();
    assert_eq!(open, ["get /api/health", "post /api/auth/login"]);
    assert!(checked >= 12, "{checked} operations checked");
    db.drop().await;
}

#[tokio::test]
async fn answers_carry_a_request_id_and_cors_follows_the_configuration() {
    let db = TestDb::new().await;
    let key = account(&db, "analyst", &["user"], true).await;
    let server = Server::start_with(&db.url, &["--cors-origin", "https://spa.example.org"]);
    let a = server.get("/api/auth/me", &key).await;
    let b = server.get("/api/auth/me", "bad").await;
    let id = |r: &reqwest::Response| r.headers()["x-request-id"].to_str().unwrap().to_string();
    assert_ne!(id(&a), id(&b));
    assert_eq!(id(&a).len(), 36, "a UUID");

    let http = reqwest::Client::new();
    let preflight = |origin: &'static str| {
        http.request(reqwest::Method::OPTIONS, server.url("/api/events/search"))
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .header("access-control-request-headers", "authorization")
            .send()
    };
    let ok = preflight("https://spa.example.org").await.unwrap();
    assert_eq!(ok.headers()["access-control-allow-origin"], "https://spa.example.org");
    let other = preflight("https://evil.example.com").await.unwrap();
    assert!(other.headers().get("access-control-allow-origin").is_none());

    let plain = Server::start(&db.url);
    let resp = http
        .get(plain.url("/api/auth/me"))
        .header("origin", "https://spa.example.org")
        .header(AUTHORIZATION, &key)
        .send()
        .await
        .unwrap();
    assert!(resp.headers().get("access-control-allow-origin").is_none(), "no CORS unless configured");
    db.drop().await;
}

#[tokio::test]
async fn oversized_bodies_are_refused_before_they_are_read() {
    let db = TestDb::new().await;
    person(&db, "alice", &["user"]).await;
    let key = account(&db, "robot", &["user"], true).await;
    let server = Server::start(&db.url);
    // 4 MB of JSON without credentials, declared and chunked (no length).
    let huge = format!("{{\"login\": \"{}\"}}", "x".repeat(4 << 20));
    for chunked in [false, true] {
        let (status, body) =
            raw_post(&server, "/api/auth/login", "application/json", "", huge.as_bytes(), chunked).await;
        assert_eq!(status, 413, "chunked: {chunked}");
        assert!(body.contains("4096 bytes") && body.len() < 1000, "{body}");
    }
    // A search form over 1 MiB, with a valid key.
    let form = format!("submit=1&description={}", "y".repeat(2 << 20));
    let auth = format!("Authorization: {key}\r\n");
    for chunked in [false, true] {
        let ct = "application/x-www-form-urlencoded";
        let (status, _) = raw_post(&server, "/api/events/search", ct, &auth, form.as_bytes(), chunked).await;
        assert_eq!(status, 413, "chunked: {chunked}");
    }
    // Bodies within the limits still work.
    assert_eq!(login(&server, "alice", PASSWORD).await.status(), 200);
    drop(server);
    db.drop().await;
}

/// POSTs `body` with a declared length or chunked, stopping when the server stops reading;
/// returns the status and what the server sent.
async fn raw_post(server: &Server, path: &str, ct: &str, headers: &str, body: &[u8], chunked: bool) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = server.base.trim_start_matches("http://");
    let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
    let framing =
        if chunked { "Transfer-Encoding: chunked".to_string() } else { format!("Content-Length: {}", body.len()) };
    let head = format!("POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: {ct}\r\n{headers}{framing}\r\n\r\n");
    conn.write_all(head.as_bytes()).await.unwrap();
    for chunk in body.chunks(64 << 10) {
        let framed = if chunked {
            [format!("{:x}\r\n", chunk.len()).as_bytes(), chunk, b"\r\n"].concat()
        } else {
            chunk.to_vec()
        };
        // The server answers and closes without reading the rest.
        if conn.write_all(&framed).await.is_err() {
            break;
        }
    }
    if chunked {
        let _ = conn.write_all(b"0\r\n\r\n").await;
    }
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), conn.read_to_end(&mut answer)).await;
    let text = String::from_utf8_lossy(&answer).into_owned();
    (text.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0), text)
}

#[tokio::test]
async fn the_log_names_the_real_client_and_never_a_secret_or_a_forged_line() {
    let db = TestDb::new().await;
    let key = account(&db, "robot", &["user"], true).await;
    let dir = std::env::temp_dir().join(format!("ideadb-log-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let client = reqwest::Client::new();
    let forged_login = json!({"login": "evil\nrequest_id=forged", "password": "x"});

    // No trusted proxy: forwarding headers are ignored.
    let log = dir.join("direct.log");
    let server = Server::start_logging(&db.url, &[], &log);
    let search = format!("/api/events/search?submit=1&dt_from=&api_key={key}");
    let resp = client.get(server.url(&search)).header("x-forwarded-for", "203.0.113.77").send().await.unwrap();
    assert_eq!(resp.status(), 401, "a key in a GET query string is not read");
    client.post(server.url("/api/auth/login")).json(&forged_login).send().await.unwrap();
    drop(server);
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(!text.contains(&key), "the key was logged: {text}");
    assert!(text.contains("api_key=[redacted]"), "{text}");
    assert!(text.contains("client=127.0.0.1") && !text.contains("203.0.113.77"), "{text}");
    assert!(!text.lines().any(|l| l.starts_with("request_id=forged")), "{text}");
    assert!(text.contains(r#"evil\nrequest_id=forged"#), "{text}");
    assert!(
        text.lines().any(|l| l.contains("audit") && l.contains("login refused") && l.contains("request_id=")),
        "an audit line with the request id: {text}"
    );

    // Behind a trusted proxy: its header names the client, in the log and in the throttle.
    let log = dir.join("proxied.log");
    let server = Server::start_logging(&db.url, &["--trusted-proxy", "127.0.0.0/8"], &log);
    let attempt = |from: &'static str| {
        let c = client.clone();
        let url = server.url("/api/auth/login");
        async move {
            let body = json!({"login": format!("someone{}", rand_suffix()), "password": "wrong password!"});
            c.post(url)
                .header("x-forwarded-for", format!("198.51.100.1, {from}"))
                .json(&body)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    for _ in 0..20 {
        assert_eq!(attempt("203.0.113.5").await, 401);
    }
    assert_eq!(attempt("203.0.113.5").await, 429, "203.0.113.5 spent its budget");
    assert_eq!(attempt("203.0.113.6").await, 401, "another client behind the same proxy has its own");
    drop(server);
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("client=203.0.113.5") && !text.contains("client=198.51.100.1"), "{text}");
    std::fs::remove_dir_all(&dir).ok();
    db.drop().await;
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}
