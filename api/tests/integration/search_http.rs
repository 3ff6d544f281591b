//! `/api/events/search` on a real server: Hawat's forms (the seed's curl verbatim), keys,
//! paging, totals and form errors, with results checked against the model.

use reqwest::header::AUTHORIZATION;
use serde_json::Value;

use crate::events_http::served_fixture;
use ideadb::storage::Visibility;

use crate::model::{expected, Msg};

fn ids(v: &Value) -> Vec<String> {
    v["items"].as_array().unwrap().iter().map(|e| e["ID"].as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn the_seed_curl_and_every_parameter_form_search_like_the_store() {
    let (db, events, key, server) = served_fixture().await;
    let all: Vec<Msg> = events.iter().map(Msg::new).collect();
    let http = reqwest::Client::new();
    let search = server.url("/api/events/search");

    // The seed's example, verbatim: POST -d "api_key=…" ".../api/events/search?submit=Search".
    let r = http
        .post(format!("{search}?submit=Search"))
        .body(format!("api_key={key}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["searched"], true);
    assert_eq!(v["items_count"], 0, "the fixture is older than the default 7-day window");
    assert!(v["form_data"]["dt_from"].as_str().unwrap().ends_with(":00:00Z"));

    // GET with the key in the header: every match, in order, as stored.
    let v: Value = server
        .get_json("/api/events/search?submit=1&dt_from=&limit=10000&categories=Recon.Scanning,Test&count=true", &key)
        .await;
    let p = ideadb::storage::SearchParams {
        categories: ideadb::storage::Values::of(["Recon.Scanning", "Test"]),
        sortby: ideadb::storage::SortBy::parse("time.desc"),
        // The analyst is a user in no group: TLP-restricted events are hidden.
        visibility: Visibility::Groups(vec![]),
        ..Default::default()
    };
    let want = expected(&p, &all);
    assert!(want.len() > 20);
    assert_eq!(ids(&v), want);
    assert_eq!(v["total"], want.len());
    let first = events.iter().find(|e| e["ID"] == want[0].as_str()).unwrap();
    assert_eq!(v["items"][0], *first, "items are the messages as stored");
    assert_eq!((v["pager_index_low"].as_u64(), v["pager_index_high"].as_u64()), (Some(1), Some(want.len() as u64)));
    assert!(v["sqlquery"].as_str().unwrap().contains("Recon.Scanning"));

    // A JSON body, lists as arrays; an OFFSET page; Hawat's pager indexes.
    let body = serde_json::json!({"submit": "Search", "dt_from": "", "host_addrs": ["192.168.0.0/16", "2001:db8::/32"], "limit": 5, "page": 2});
    let v: Value = http
        .post(&search)
        .header(AUTHORIZATION, format!("token {key}"))
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let host = ideadb::storage::SearchParams {
        host_addrs: vec![
            ideadb::idea::IpRange::parse("192.168.0.0/16").unwrap(),
            ideadb::idea::IpRange::parse("2001:db8::/32").unwrap(),
        ],
        sortby: ideadb::storage::SortBy::parse("time.desc"),
        visibility: Visibility::Groups(vec![]),
        ..Default::default()
    };
    let want = expected(&host, &all);
    assert_eq!(ids(&v), want[5..10]);
    assert_eq!(
        (v["pager_index_low"].as_u64(), v["pager_index_high"].as_u64(), v["pager_index_limit"].as_u64()),
        (Some(6), Some(10), Some(10))
    );

    // Keyset paging through next_cursor gives the same order.
    let mut walked = Vec::new();
    let walk = "/api/events/search?submit=1&dt_from=&host_addrs=192.168.0.0/16,2001:db8::/32&limit=5";
    let mut path = walk.to_string();
    for _ in 0..4 {
        let v: Value = server.get_json(&path, &key).await;
        walked.extend(ids(&v));
        let Some(c) = v["next_cursor"].as_str() else { break };
        path = format!("{walk}&after={c}");
    }
    assert_eq!(walked, want[..walked.len()]);
    assert!(walked.len() >= 15);
    db.drop().await;
}

#[tokio::test]
async fn bad_parameters_missing_submit_and_keys_in_urls_get_hawats_answers() {
    let (db, _events, key, server) = served_fixture().await;
    let http = reqwest::Client::new();
    let search = server.url("/api/events/search");
    let r = server.get("/api/events/search?submit=1&dt_from=yesterday&target_ports=99999&tz=Mars/Base", &key).await;
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    let fields: Vec<&str> = v["form_errors"].as_array().unwrap().iter().map(|e| e[0].as_str().unwrap()).collect();
    assert_eq!(fields, ["tz"], "the zone is checked first: {v}");
    let r = server.get("/api/events/search?submit=1&dt_from=yesterday&target_ports=99999", &key).await;
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["form_errors"][0][0], "dt_from");
    assert!(v["form_errors"][0][1].as_str().unwrap().contains("\"yesterday\""));
    assert_eq!(v["form_errors"][1][0], "target_ports");
    assert!(v.get("searched").is_none() && v.get("items").is_none());

    let v: Value = server.get_json("/api/events/search?categories=Test", &key).await;
    assert_eq!(
        v,
        serde_json::json!({"query_params": {"categories": "Test"}, "search_widget_item_limit": 3}),
        "no search without submit"
    );

    let r = http.get(format!("{search}?submit=1&api_key={key}")).send().await.unwrap();
    assert_eq!(r.status(), 401, "a key in a GET query string is never read");
    db.drop().await;
}

/// A search cut off by the statement timeout is a 503 that tells the user to narrow it; the
/// server answers normally once the database is free again.
#[tokio::test]
async fn a_search_over_the_statement_timeout_asks_to_narrow_it() {
    let db = crate::harness::TestDb::new().await;
    db.load(&crate::harness::fixture()[..5]).await;
    let key = crate::server::account(&db, "analyst", &["maintainer"], true).await;
    let server = crate::server::Server::start_with(&db.url, &["--statement-timeout", "1"]);
    // Another session holds the events table, so the search waits until it is cancelled.
    let locker = db.sql().await;
    // On Citus the server's leader may write at the same moment, and Citus's deadlock
    // detector may then cancel the lock (40P01): it is taken again.
    let mut attempts = 0;
    loop {
        locker.batch_execute("BEGIN").await.unwrap();
        match locker.batch_execute("LOCK TABLE events IN ACCESS EXCLUSIVE MODE").await {
            Ok(()) => break,
            Err(e) if e.code() == Some(&tokio_postgres::error::SqlState::T_R_DEADLOCK_DETECTED) && attempts < 5 => {
                attempts += 1;
                locker.batch_execute("ROLLBACK").await.unwrap();
            }
            Err(e) => panic!("lock events: {e}"),
        }
    }
    let resp = server.get("/api/events/search?submit=1&dt_from=", &key).await;
    assert_eq!(resp.headers().get("retry-after").map(|v| v.to_str().unwrap()), Some("5"));
    let msg = crate::server::json_error(resp, 503).await;
    assert!(msg.contains("statement timeout") && msg.contains("narrow the search"), "{msg}");
    locker.batch_execute("ROLLBACK").await.unwrap();
    let ok = server.get_json("/api/events/search?submit=1&dt_from=", &key).await;
    assert_eq!(ok["items_count"], 5);
    db.drop().await;
}
