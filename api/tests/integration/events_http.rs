//! `/api/events/{id}/show` and `/download` on a real server: authentication (401/403 as
//! JSON), Hawat's key forms, and every fixture event shown and downloaded faithfully.

use reqwest::header::AUTHORIZATION;
use serde_json::Value;

use crate::harness::{fixture, TestDb};
use crate::server::{account, json_error, Server};

/// NDJSON of the messages, one line each.
pub fn ndjson(events: &[Value]) -> String {
    events.iter().map(|e| serde_json::to_string(e).unwrap() + "\n").collect()
}

/// A server with the whole fixture stored through `POST /api/events`, and an analyst's key.
pub async fn served_fixture() -> (TestDb, Vec<Value>, String, Server) {
    let db = TestDb::new().await;
    let events = fixture();
    let key = account(&db, "analyst", &["user"], true).await;
    let feeder = account(&db, "feeder", &["maintainer"], true).await;
    let server = Server::start(&db.url);
    let resp = crate::ingest_http::post(&server, &feeder, "application/x-ndjson", ndjson(&events)).await;
    assert_eq!(resp.status(), 200);
    let out: Value = resp.json().await.unwrap();
    assert_eq!(out["stored"].as_u64(), Some(events.len() as u64), "{}", out["rejected"]);
    (db, events, key, server)
}

#[tokio::test]
async fn show_and_download_need_an_enabled_account_with_a_role() {
    let db = TestDb::new().await;
    let events = fixture();
    db.load(&events[..3]).await;
    let key = account(&db, "alice", &["user"], true).await;
    let disabled = account(&db, "bob", &["admin"], false).await;
    let roleless = account(&db, "carol", &[], true).await;
    let server = Server::start(&db.url);
    let id = events[0]["ID"].as_str().unwrap();
    let http = reqwest::Client::new();
    let show = |auth: Option<String>| {
        let mut r = http.get(server.url(&format!("/api/events/{id}/show")));
        if let Some(a) = auth {
            r = r.header(AUTHORIZATION, a);
        }
        r.send()
    };
    assert!(json_error(show(None).await.unwrap(), 401).await.contains("credentials are required"));
    assert!(json_error(show(Some("ideadb_not-a-key".into())).await.unwrap(), 401).await.contains("not valid"));
    assert!(json_error(show(Some(disabled.clone())).await.unwrap(), 403).await.contains("disabled"));
    assert!(json_error(show(Some(roleless)).await.unwrap(), 403).await.contains("no role"));
    for form in [key.clone(), format!("key {key}"), format!("token {key}"), format!("Token  {key} ")] {
        assert_eq!(show(Some(form.clone())).await.unwrap().status(), 200, "{form}");
    }
    let dl = http.get(server.url(&format!("/api/events/{id}/download"))).send().await.unwrap();
    json_error(dl, 401).await;
    let missing = server.get("/api/events/nope/show", &key).await;
    assert!(json_error(missing, 404).await.contains("\"nope\""));
    let bad = server.get(&format!("/api/events/{id}/download?format=xml"), &key).await;
    assert!(json_error(bad, 400).await.contains("format"));
    let route = http.get(server.url("/api/nothing-here")).send().await.unwrap();
    json_error(route, 404).await;
    db.drop().await;
}

#[tokio::test]
async fn every_fixture_event_is_shown_and_downloaded_as_stored() {
    let (db, events, _, server) = served_fixture().await;
    // Someone who sees every event, TLP-restricted ones included.
    let key = account(&db, "lead", &["maintainer"], true).await;
    let http = reqwest::Client::new();
    for ev in &events {
        let id = ev["ID"].as_str().unwrap();
        let body = http
            .post(server.url(&format!("/api/events/{id}/show")))
            .header(AUTHORIZATION, format!("key {key}"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let sent = serde_json::to_string(ev).unwrap();
        assert!(body.starts_with(&format!("{{\"item\":{sent},")), "{id}: the item is the bytes received");
        let shown: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(shown["item"], *ev, "{id}");
        assert_eq!((shown["item_id"].as_str(), shown["search_widget_item_limit"].as_u64()), (Some(id), Some(100)));
        let dl = server.get(&format!("/api/events/{id}/download"), &key).await;
        assert_eq!(dl.status(), 200);
        assert_eq!(
            dl.headers()["content-disposition"].to_str().unwrap(),
            format!("attachment; filename=\"{id}.idea.json\"")
        );
        assert!(dl.headers()["content-type"].to_str().unwrap().starts_with("application/json"));
        let text = dl.text().await.unwrap();
        assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), *ev, "{id}: the download is the event");
        assert!(text.starts_with("{\n    \""), "indented by four: {:.40}", text);
        let keys: Vec<&str> =
            text.lines().filter(|l| l.starts_with("    \"")).map(|l| l.trim().split('"').nth(1).unwrap()).collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted, "{id}: top-level keys sorted");
        let yaml = server.get(&format!("/api/events/{id}/download?format=yaml"), &key).await;
        assert_eq!(
            yaml.headers()["content-disposition"].to_str().unwrap(),
            format!("attachment; filename=\"{id}.idea.yaml\"")
        );
        assert!(yaml.headers()["content-type"].to_str().unwrap().starts_with("application/yaml"));
        let back: Value = serde_saphyr::from_str(&yaml.text().await.unwrap()).unwrap();
        assert_eq!(back, *ev, "{id}: the YAML is the event");
    }
    db.drop().await;
}

#[tokio::test]
async fn metadata_lists_every_stored_value_and_the_taxonomy() {
    use std::collections::BTreeSet;
    let (db, events, key, server) = served_fixture().await;
    let http = reqwest::Client::new();
    json_error(http.get(server.url("/api/events/metadata")).send().await.unwrap(), 401).await;
    let got: Value = http
        .post(server.url("/api/events/metadata"))
        .header(AUTHORIZATION, &key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let msgs: Vec<crate::model::Msg> = events.iter().map(crate::model::Msg::new).collect();
    let set = |f: &dyn Fn(&crate::model::Msg) -> Vec<String>| -> Vec<String> {
        msgs.iter().flat_map(f).collect::<BTreeSet<_>>().into_iter().collect()
    };
    let list = |k: &str| -> Vec<String> { serde_json::from_value(got[k].clone()).unwrap() };
    let mut categories: BTreeSet<String> = ideadb::idea::taxonomy::CATEGORIES.iter().map(|c| c.to_string()).collect();
    categories.extend(set(&|m| m.categories.clone()));
    assert_eq!(list("categories"), categories.into_iter().collect::<Vec<_>>());
    assert_eq!(list("detectors"), set(&|m| m.detectors.clone()));
    assert_eq!(list("detector_types"), set(&|m| m.detector_types.clone()));
    assert_eq!(list("groups"), set(&|m| m.groups.clone()));
    assert_eq!(list("protocols"), set(&|m| m.protocols.clone()));
    assert_eq!(list("severities"), set(&|m| m.severity.clone().into_iter().collect()));
    assert_eq!(list("classes"), set(&|m| m.class.clone().into_iter().collect()));
    assert_eq!(list("inspection_errs"), set(&|m| m.inspection_errs.clone()));
    assert_eq!(list("source_types"), set(&|m| m.source_types.clone()));
    assert_eq!(list("target_types"), set(&|m| m.target_types.clone()));
    assert_eq!(list("host_types"), set(&|m| [m.source_types.clone(), m.target_types.clone()].concat()));
    assert!(!list("detectors").is_empty() && !list("severities").is_empty());
    db.drop().await;
}
