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
