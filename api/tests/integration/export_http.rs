//! `/api/events/export`: the same matches as the search, in its order, in three formats, and
//! a 100,000-event export that leaves the server's memory flat.

use reqwest::header::AUTHORIZATION;
use serde_json::Value;

use crate::events_http::served_fixture;
use crate::harness::{generated, TestDb};
use crate::server::{account, json_error, memory_kib, Server};

fn ids(items: &[Value]) -> Vec<String> {
    items.iter().map(|v| v["ID"].as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn an_export_holds_what_the_search_finds_in_every_format() {
    let (db, events, key, server) = served_fixture().await;
    for filter in
        ["dt_from=", "dt_from=&categories=Recon.Scanning&sortby=detecttime.asc", "dt_from=&source_addrs=0.0.0.0/1"]
    {
        let search = server.get_json(&format!("/api/events/search?submit=1&limit=10000&{filter}"), &key).await;
        let expected = ids(search["items"].as_array().unwrap());
        assert!(!expected.is_empty(), "{filter}");

        let resp = server.get(&format!("/api/events/export?{filter}"), &key).await;
        assert_eq!(resp.status(), 200);
        assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("application/x-ndjson"));
        assert_eq!(resp.headers()["content-disposition"], "attachment; filename=\"events.ndjson\"");
        let text = resp.text().await.unwrap();
        let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(ids(&lines), expected, "{filter}: NDJSON");
        for v in &lines {
            let original = events.iter().find(|e| e["ID"] == v["ID"]).unwrap();
            assert_eq!(v, original, "exported as stored");
        }

        let json: Vec<Value> =
            server.get(&format!("/api/events/export?format=json&{filter}"), &key).await.json().await.unwrap();
        assert_eq!(json, lines, "{filter}: JSON array");

        let csv = server.get(&format!("/api/events/export?format=csv&{filter}"), &key).await;
        assert!(csv.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
        let body = csv.text().await.unwrap();
        let mut reader = csv::Reader::from_reader(body.as_bytes());
        let head = reader.headers().unwrap().clone();
        let id_col = head.iter().position(|h| h == "ID").unwrap();
        let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(rows.iter().map(|r| r[id_col].to_string()).collect::<Vec<_>>(), expected, "{filter}: CSV");
    }

    let capped = server.get("/api/events/export?dt_from=&max=7", &key).await.text().await.unwrap();
    assert_eq!(capped.lines().count(), 7);
    let post = reqwest::Client::new()
        .post(server.url("/api/events/export"))
        .form(&[("api_key", key.as_str()), ("dt_from", ""), ("max", "3"), ("format", "json")])
        .send()
        .await
        .unwrap();
    assert_eq!(post.json::<Vec<Value>>().await.unwrap().len(), 3, "POST form with api_key");

    let bad = server.get("/api/events/export?source_addrs=10.0.0.300&dt_to=yesterday", &key).await;
    assert_eq!(bad.status(), 400);
    let body: Value = bad.json().await.unwrap();
    let fields: Vec<&str> = body["form_errors"].as_array().unwrap().iter().map(|e| e[0].as_str().unwrap()).collect();
    assert_eq!(fields, ["dt_to", "source_addrs"]);
    let format = server.get("/api/events/export?format=xml", &key).await;
    assert!(json_error(format, 400).await.contains("format"));
    let anonymous = reqwest::Client::new().get(server.url("/api/events/export")).send().await.unwrap();
    json_error(anonymous, 401).await;
    db.drop().await;
}

/// The server's resident memory may not grow with the size of an export.
#[tokio::test]
async fn exporting_100k_events_keeps_memory_flat() {
    let db = TestDb::new().await;
    let events = generated(100_000, 7, 11);
    db.load(&events).await;
    let key = account(&db, "analyst", &["user"], true).await;
    let server = Server::start(&db.url);
    let pid = server.child.id();
    // Warm up the server (pools, first allocations) with a small export.
    let small = server.get("/api/events/export?dt_from=&max=2000", &key).await.bytes().await.unwrap();
    assert!(!small.is_empty());
    let (_, before) = memory_kib(pid);

    let mut resp = reqwest::Client::new()
        .get(server.url("/api/events/export?dt_from="))
        .header(AUTHORIZATION, &key)
        .send()
        .await
        .unwrap();
    let (mut lines, mut bytes, mut peak) = (0u64, 0u64, 0u64);
    while let Some(chunk) = resp.chunk().await.unwrap() {
        lines += chunk.iter().filter(|b| **b == b'\n').count() as u64;
        bytes += chunk.len() as u64;
        if lines % 10_000 < 100 {
            peak = peak.max(memory_kib(pid).1);
        }
    }
    let (hwm, _) = memory_kib(pid);
    assert_eq!(lines, 100_000);
    let growth_mib = (hwm.max(peak).saturating_sub(before)) as f64 / 1024.0;
    println!(
        "export: {lines} events, {:.0} MiB sent; server RSS {before} KiB before, growth {growth_mib:.1} MiB",
        bytes as f64 / 1048576.0
    );
    assert!(bytes > 60 << 20, "the export is far larger than the allowed growth: {bytes}");
    assert!(growth_mib < 50.0, "server memory grew by {growth_mib:.1} MiB");
    db.drop().await;
}

/// Starts an export on a raw connection that reads the status line and then nothing more
/// (a tiny receive window, so the server soon cannot send); returns the status and the
/// stalled connection.
async fn stalled_export(server: &Server, key: &str) -> (u16, tokio::net::TcpStream) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr: std::net::SocketAddr = server.base.trim_start_matches("http://").parse().unwrap();
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut conn = socket.connect(addr).await.unwrap();
    let req = format!("GET /api/events/export?dt_from= HTTP/1.1\r\nHost: {addr}\r\nAuthorization: {key}\r\n\r\n");
    conn.write_all(req.as_bytes()).await.unwrap();
    let mut head = [0u8; 12];
    conn.read_exact(&mut head).await.unwrap();
    let status = std::str::from_utf8(&head[9..12]).unwrap().parse().unwrap();
    (status, conn)
}

#[tokio::test]
async fn stalled_exports_leave_health_login_and_search_answering() {
    let db = TestDb::new().await;
    db.load(&generated(20_000, 7, 3)).await;
    let keys = [account(&db, "slow1", &["user"], true).await, account(&db, "slow2", &["user"], true).await];
    let server = Server::start(&db.url);
    let mut held = Vec::new();
    let mut statuses = Vec::new();
    for i in 0..20 {
        let started = stalled_export(&server, &keys[i % 2]);
        let (status, conn) =
            tokio::time::timeout(std::time::Duration::from_secs(10), started).await.expect("an answer, not a wait");
        statuses.push(status);
        held.push(conn);
    }
    statuses.sort_unstable();
    // Two per account run; the others are told to retry (429 for the account, 503 once
    // exports hold their share of the pool).
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 4, "{statuses:?}");
    assert!(statuses.iter().all(|s| [200, 429, 503].contains(s)), "{statuses:?}");
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    // The admitted exports are stalled: each holds its connection in an open transaction.
    let c = db.sql().await;
    let holding: i64 = c
        .query_one(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
             AND state = 'idle in transaction' AND query LIKE 'FETCH%'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(holding, 4);
    let key = account(&db, "analyst", &["user"], true).await;
    let client = reqwest::Client::builder().timeout(std::time::Duration::from_secs(1)).build().unwrap();
    for _ in 0..3 {
        let health = client.get(server.url("/api/health")).send().await.expect("health within 1 s");
        assert_eq!(health.status(), 200);
        let login = client
            .post(server.url("/api/auth/login"))
            .json(&serde_json::json!({"login": "nobody", "password": "wrong password"}))
            .send()
            .await
            .expect("login within 1 s");
        assert_eq!(login.status(), 401);
        let search = client
            .get(server.url("/api/events/search?submit=1&dt_from=&limit=10"))
            .header(AUTHORIZATION, &key)
            .send()
            .await
            .expect("search within 1 s");
        assert_eq!(search.status(), 200);
    }
    // A finished (here: abandoned) export gives its place back.
    drop(held);
    let mut status = 0;
    for _ in 0..50 {
        let resp = server.get("/api/events/export?dt_from=&max=1", &keys[0]).await;
        status = resp.status().as_u16();
        if status == 200 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(status, 200);
    drop(server);
    db.drop().await;
}
