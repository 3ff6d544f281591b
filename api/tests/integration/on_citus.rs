//! Faults only a Citus cluster has (`make test-citus`; `make test` skips this module): a
//! worker that cannot be reached. The node list is per database, so pointing this test
//! database's entry for one worker at a closed port makes that worker unreachable for it
//! alone, with a real connection failure, while the other tests' databases go on.

use reqwest::header::AUTHORIZATION;
use serde_json::Value;

use crate::harness::{citus_workers, fixture, TestDb};
use crate::ingest_http::post;
use crate::server::{account, Server};

/// Points the database's entry for its last worker at `port`; returns the worker's real port.
async fn move_last_worker(db: &TestDb, port: i32) -> i32 {
    let c = db.sql().await;
    let row = c
        .query_one("SELECT nodeid, nodeport FROM pg_dist_node WHERE shouldhaveshards ORDER BY nodeid DESC LIMIT 1", &[])
        .await
        .unwrap();
    let (id, old): (i32, i32) = (row.get(0), row.get(1));
    c.execute("SELECT citus_update_node($1, '127.0.0.1', $2)", &[&id, &port]).await.unwrap();
    old
}

#[tokio::test]
async fn a_worker_down_fails_searches_and_ingest_whole_and_a_rerun_stores_each_event_once() {
    assert!(!citus_workers().is_empty(), "this module runs on Citus only (make test-citus)");
    let db = TestDb::new().await;
    let events = fixture();
    let (first, rest) = events.split_at(60);
    db.load(first).await;
    let key = account(&db, "feeder", &["maintainer"], true).await;
    let server = Server::start(&db.url);
    let http = reqwest::Client::new();
    let search = |http: reqwest::Client, url: String, key: String| async move {
        http.get(url).header(AUTHORIZATION, key).send().await.unwrap()
    };
    let url = server.url("/api/events/search?submit=Search&dt_from=&limit=500");
    let all: Value = search(http.clone(), url.clone(), key.clone()).await.json().await.unwrap();
    let seen = all["items"].as_array().map_or(0, Vec::len);

    let worker_port = move_last_worker(&db, 1).await;
    let down = search(http.clone(), url.clone(), key.clone()).await;
    assert_eq!(down.status(), 503, "a search that cannot reach every shard is no answer");
    assert!(down.headers().contains_key("retry-after"));
    let body: Value = down.json().await.unwrap();
    assert!(body["message"].as_str().unwrap().contains("127.0.0.1:1"), "names the node: {body}");

    let lines: Vec<String> = rest.iter().map(|e| serde_json::to_string(e).unwrap()).collect();
    let ingest = post(&server, &key, "application/x-ndjson", lines.join("\n")).await;
    assert_eq!(ingest.status(), 503, "a batch that cannot reach every shard fails whole");
    let c = db.sql().await;

    move_last_worker(&db, worker_port).await;
    assert_eq!(stored_messages(&c).await, first.len() as i64, "nothing of the failed batch was stored");
    let again = post(&server, &key, "application/x-ndjson", lines.join("\n")).await;
    let out: Value = again.json().await.unwrap();
    let twice = post(&server, &key, "application/x-ndjson", lines.join("\n")).await;
    let out_twice: Value = twice.json().await.unwrap();
    assert_eq!(out_twice["stored"], 0, "{out_twice}");
    let stored = out["stored"].as_i64().unwrap();
    assert_eq!(stored_messages(&c).await, first.len() as i64 + stored, "each event once: {out}");
    let ids: i64 = c.query_one("SELECT count(*) FROM event_ids", &[]).await.unwrap().get(0);
    assert_eq!(ids, first.len() as i64 + stored);
    let after: Value = search(http, url, key).await.json().await.unwrap();
    assert_eq!(after["items"].as_array().map_or(0, Vec::len), seen + stored as usize);
    drop(server);
    db.drop().await;
}

async fn stored_messages(c: &tokio_postgres::Client) -> i64 {
    c.query_one("SELECT count(*) FROM events_json", &[]).await.unwrap().get(0)
}

#[tokio::test]
async fn db_status_counts_the_workers_shards_and_lists_the_nodes() {
    assert!(!citus_workers().is_empty(), "this module runs on Citus only (make test-citus)");
    let db = TestDb::new().await;
    // A day in mid-week: the last day before now spans two weeks on a Monday.
    let monday = ideadb::storage::week_of(chrono::Utc::now().naive_utc()).and_hms_opt(0, 0, 0).unwrap();
    let events = crate::harness::generated_until(2000, 1, 9, monday - chrono::TimeDelta::hours(84));
    db.load(&events).await;
    db.sql().await.batch_execute("ANALYZE").await.unwrap();
    let st = db.store.database_status(true).await.unwrap();
    let nodes = st.cluster.as_ref().expect("a Citus database lists its nodes");
    assert_eq!(nodes.len(), citus_workers().len() + 1, "the coordinator and each worker: {nodes:?}");
    let workers: Vec<_> = nodes.iter().filter(|n| n.holds_shards).collect();
    assert_eq!(workers.len(), citus_workers().len(), "{nodes:?}");
    assert!(workers.iter().all(|n| n.active && n.shards > 0 && n.shard_bytes > 0), "{nodes:?}");
    let events_table = st.tables.iter().find(|t| t.table == ideadb::storage::Table::Events).unwrap();
    assert!((1800..=2200).contains(&events_table.rows_estimate), "rows from the shards: {events_table:?}");
    let per_event = st.bytes_per_event.expect("bytes per event");
    assert!(per_event > 500.0 && per_event < 50_000.0, "{per_event}");
    let week = st.partitions.iter().find(|p| p.rows > 0).expect("the week of the events");
    assert_eq!(week.rows, 2000, "a small week is counted");
    // The shards hold the rows: far more than the coordinator's empty partitions.
    assert!(week.bytes > 1_000_000, "{week:?}");
    db.drop().await;
}
