//! Retention: `ideadb cleanup --events` in batches with its checks, and the retention the
//! statistics leader applies inside `ideadb serve --retention`.

use std::process::{Command, Output};

use chrono::{NaiveDateTime, TimeDelta, Utc};
use serde_json::{json, Value};

use crate::harness::TestDb;
use crate::server::Server;

fn ideadb(db: &TestDb, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ideadb")).args(args).env("DATABASE_URL", &db.url).output().unwrap()
}

fn stored_at(id: &str, at: NaiveDateTime) -> Value {
    json!({"Format": "IDEA0", "ID": id, "DetectTime": "2020-01-01T00:00:00Z", "Category": ["Test"],
           "Source": [{"IP4": ["192.0.2.1"]}], "Node": [{"Name": "org.det"}],
           "_CESNET": {"StorageTime": at.and_utc().to_rfc3339()}})
}

async fn counts(db: &TestDb) -> [i64; 4] {
    let c = db.sql().await;
    let mut out = [0; 4];
    for (i, t) in ["events", "events_json", "events_addr", "statistics_seen"].iter().enumerate() {
        out[i] = c.query_one(&format!("SELECT count(*) FROM {t}"), &[]).await.unwrap().get(0);
    }
    out
}

/// 12,000 events stored 400 days ago (more than two delete batches) and 3 recent ones, with
/// the fingerprints of all of them.
async fn old_and_new(db: &TestDb) {
    let now = Utc::now().naive_utc();
    let old: Vec<Value> = (0..12_000)
        .map(|i| stored_at(&format!("old{i}"), now - TimeDelta::days(400) + TimeDelta::seconds(i)))
        .collect();
    db.load(&old).await;
    let new: Vec<Value> = (0..3).map(|i| stored_at(&format!("new{i}"), now - TimeDelta::hours(i + 1))).collect();
    db.load(&new).await;
    let c = db.sql().await;
    c.execute("INSERT INTO statistics_seen SELECT 1, cesnet_storagetime, id FROM events", &[]).await.unwrap();
}

#[tokio::test]
async fn cleanup_deletes_expired_events_in_batches_and_refuses_a_retention_under_a_day() {
    let db = TestDb::new().await;
    old_and_new(&db).await;
    assert_eq!(counts(&db).await, [12_003, 12_003, 12_003, 12_003]);

    for (age, says) in
        [("12h", "shorter than a day"), ("soon", "number"), ("12", "no unit"), ("9999999999999999999y", "number")]
    {
        let out = ideadb(&db, &["cleanup", "--events", age]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{age}: {err}");
        assert!(err.contains(says) && err.contains("--events"), "{age}: {err}");
    }
    let out = ideadb(&db, &["cleanup", "--events", "1y", "--dry-run"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("would delete 12000 events"), "{out:?}");
    assert_eq!(counts(&db).await, [12_003, 12_003, 12_003, 12_003], "nothing deleted by a dry run or a refusal");

    let out = ideadb(&db, &["cleanup", "--events", "1y"]);
    assert!(out.status.success(), "{out:?}");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("deleted 12000 events") && said.contains("deleted 12000 recurrence"), "{said}");
    assert_eq!(counts(&db).await, [3, 3, 3, 3]);
    db.drop().await;
}

#[tokio::test]
async fn the_server_applies_its_configured_retention() {
    let db = TestDb::new().await;
    old_and_new(&db).await;
    let _server = Server::start_with(&db.url, &["--retention", "1y"]);
    // The leader also records the fingerprints of the new events, so only the event tables
    // are compared.
    // Up to a minute: the server migrates first, which on Citus means distributed DDL.
    let mut left = [0; 3];
    for _ in 0..300 {
        left = counts(&db).await[..3].try_into().unwrap();
        if left == [3, 3, 3] {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(left, [3, 3, 3]);
    db.drop().await;
}

#[tokio::test]
async fn db_status_shows_the_retention_in_force_and_the_bytes_per_event() {
    let db = TestDb::new().await;
    db.load(&[stored_at("one", Utc::now().naive_utc())]).await;
    db.sql().await.batch_execute("ANALYZE").await.unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_ideadb"))
        .args(["db-status", "--brief"])
        .env("DATABASE_URL", &db.url)
        .env("IDEADB_RETENTION", "90d")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let st: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(st["retention"], "90d");
    assert!(st["bytes_per_event"].as_f64().is_some_and(|b| b > 0.0), "{st}");
    let none = ideadb(&db, &["db-status", "--brief"]);
    assert_eq!(serde_json::from_slice::<Value>(&none.stdout).unwrap()["retention"], Value::Null);
    let bad = Command::new(env!("CARGO_BIN_EXE_ideadb"))
        .args(["db-status"])
        .env("DATABASE_URL", &db.url)
        .env("IDEADB_RETENTION", "5h")
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    db.drop().await;
}

/// Descriptions are searched in their own list (migration 13): one of any length is listed
/// when its event is stored and found by a part of it; retention forgets it with the last
/// event that held it, and keeps the ones still held.
#[tokio::test]
async fn a_description_of_any_length_is_found_and_leaves_the_list_with_its_last_event() {
    use ideadb::storage::SearchParams;
    let db = TestDb::new().await;
    let now = Utc::now().naive_utc();
    let long = format!("{} needle {}", "x".repeat(6_000), "y".repeat(6_000));
    let mut old = stored_at("old-long", now - TimeDelta::days(400));
    old["Description"] = json!(long);
    let mut kept = stored_at("new-short", now - TimeDelta::hours(1));
    kept["Description"] = json!("Kept description");
    db.load(&[old, kept]).await;
    let c = db.sql().await;
    let list = |rows: Vec<tokio_postgres::Row>| rows.iter().map(|r| r.get::<_, String>(0).len()).collect::<Vec<_>>();
    let sql = "SELECT data FROM event_descriptions ORDER BY length(data)";
    assert_eq!(list(c.query(sql, &[]).await.unwrap()), vec![16, long.len()]);
    let found = |part: &str| SearchParams { description: Some(part.into()), ..Default::default() };
    let ids = db.store.search_events(&found("NEEDLE")).await.unwrap().items;
    assert_eq!(ids.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(), ["old-long"]);

    let out = ideadb(&db, &["cleanup", "--events", "1y"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(list(c.query(sql, &[]).await.unwrap()), vec![16], "the long one went with its event");
    assert!(db.store.search_events(&found("needle")).await.unwrap().items.is_empty());
    let ids = db.store.search_events(&found("kept")).await.unwrap().items;
    assert_eq!(ids.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(), ["new-short"]);
    db.drop().await;
}
