//! `ideadb import-mentat` from databases made by Mentat's own code (mentat-ng 2.15.4 from
//! PyPI, the V3 generation; `e2e/mentat/make-db.sh`) and by the V2 DDL of spec §2.3: every
//! event is stored with Mentat's bytes and storage time, with the columns Mentat derived from
//! it; thresholds come along; a killed run and a re-run store nothing twice; a refused message
//! is listed; a database of neither generation, or a bad URL, is named.

use std::process::{Command, Output, Stdio};
use std::time::Duration;

use chrono::NaiveDateTime;
use ideadb::storage::Visibility;
use serde_json::Value;

use crate::harness::{fixture, generated, TestDb};

fn import(db: &TestDb, from: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ideadb"))
        .args(["import-mentat", "--from", from])
        .env("DATABASE_URL", &db.url)
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// An empty database with the extensions Mentat needs.
async fn mentat_database() -> TestDb {
    let db = TestDb::blank().await;
    db.sql().await.batch_execute("CREATE EXTENSION ip4r; CREATE EXTENSION pg_trgm").await.unwrap();
    db
}

/// Every (ID, storage time, message) of a Mentat database.
async fn mentat_events(mentat: &TestDb, storagetime: &str) -> Vec<(String, NaiveDateTime, Vec<u8>)> {
    let sql =
        format!("SELECT e.id, e.{storagetime}, j.event FROM events e JOIN events_json j USING (id) ORDER BY e.id");
    mentat.sql().await.query(sql.as_str(), &[]).await.unwrap().iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect()
}

/// Each event is here with the bytes and the storage time Mentat has.
async fn same_events(ours: &TestDb, theirs: &[(String, NaiveDateTime, Vec<u8>)]) {
    let c = ours.sql().await;
    let n: i64 = c.query_one("SELECT count(*) FROM event_ids", &[]).await.unwrap().get(0);
    assert_eq!(n as usize, theirs.len(), "every event once");
    for (id, storagetime, bytes) in theirs {
        let e = ours.store.fetch_event(id, &Visibility::All).await.unwrap().unwrap_or_else(|| panic!("{id} missing"));
        assert_eq!(&e.raw, bytes, "{id}: Mentat's bytes");
        assert_eq!(e.storagetime, *storagetime, "{id}: Mentat's storage time");
    }
}

/// `names` and the hosts of the side's URL items written without a scheme
/// (`phishing.example.cz/login`), which Mentat's URL parser does not see as hosts.
fn with_schemeless_hosts(mut names: Vec<String>, side: &Value) -> Vec<String> {
    for item in side.as_array().into_iter().flatten() {
        for url in item["URL"].as_array().into_iter().flatten().filter_map(Value::as_str) {
            if !url.contains("://") && !url.contains(':') {
                names.push(url.split('/').next().unwrap().to_lowercase());
            }
        }
    }
    names.sort();
    names.dedup();
    names
}

const V2_DDL: &str = "
CREATE TABLE events (id text PRIMARY KEY, detecttime timestamp NOT NULL, category text[] NOT NULL, description text,
 source_ip iprange[], target_ip iprange[], source_ip_aggr_ip4 ip4r, source_ip_aggr_ip6 ip6r, target_ip_aggr_ip4 ip4r,
 target_ip_aggr_ip6 ip6r, source_port integer[], target_port integer[], source_type text[], target_type text[],
 protocol text[], node_name text[] NOT NULL, node_type text[], cesnet_storagetime timestamp NOT NULL,
 cesnet_resolvedabuses text[], cesnet_eventclass text, cesnet_eventseverity text, cesnet_inspectionerrors text[]);
CREATE TABLE events_json (id text PRIMARY KEY REFERENCES events(id) ON DELETE CASCADE, event bytea NOT NULL);
CREATE TABLE thresholds (id text PRIMARY KEY, thresholdtime timestamp NOT NULL, relapsetime timestamp NOT NULL,
 ttltime timestamp NOT NULL);
CREATE TABLE events_thresholded (eventid text NOT NULL, keyid text NOT NULL, groupname text NOT NULL,
 eventseverity text NOT NULL, createtime timestamp NOT NULL, PRIMARY KEY (eventid, keyid));
CREATE INDEX events_cesnet_storagetime_idx ON events USING btree (cesnet_storagetime);
";

#[tokio::test]
async fn a_v2_database_is_imported_once_through_a_kill_and_a_rerun_listing_what_is_refused() {
    let mentat = mentat_database().await;
    let m = mentat.sql().await;
    m.batch_execute(V2_DDL).await.unwrap();
    let mut msgs = generated(5000, 3, 23);
    msgs.push(serde_json::json!({"Format": "IDEA0", "ID": "refused-1", "DetectTime": "2026-01-01T00:00:00Z",
        "Category": ["Not a category"], "Node": [{"Name": "a.b"}], "_CESNET": {"StorageTime": "2026-01-01T00:01:00Z"}}));
    let insert_event = m
        .prepare(
            "INSERT INTO events (id, detecttime, category, node_name, cesnet_storagetime) VALUES ($1, $2, $3, $4, $5)",
        )
        .await
        .unwrap();
    let insert_json = m.prepare("INSERT INTO events_json (id, event) VALUES ($1, $2)").await.unwrap();
    m.batch_execute("BEGIN").await.unwrap();
    for v in &msgs {
        let raw = serde_json::to_vec(v).unwrap();
        let id = v["ID"].as_str().unwrap();
        let time = |t: &Value| chrono::DateTime::parse_from_rfc3339(t.as_str().unwrap()).unwrap().naive_utc();
        let category: Vec<&str> = v["Category"].as_array().unwrap().iter().map(|c| c.as_str().unwrap()).collect();
        let stored = time(&v["_CESNET"]["StorageTime"]);
        m.execute(&insert_event, &[&id, &time(&v["DetectTime"]), &category, &vec!["a.b"], &stored]).await.unwrap();
        m.execute(&insert_json, &[&id, &raw]).await.unwrap();
    }
    m.batch_execute(
        "INSERT INTO thresholds VALUES ('k1', '2026-01-01', '2026-01-02', '2026-01-03'), ('k2', '2026-01-01', '2026-01-02', '2026-01-03');
         INSERT INTO events_thresholded VALUES ('e1', 'k1', 'abuse@a.example', 'low', '2026-01-01 10:00');
         COMMIT",
    )
    .await
    .unwrap();

    // The first run stores batches, then waits to record how far it got, and is killed.
    let ours = TestDb::new().await;
    let mut holder = ours.sql().await;
    let hold = holder.transaction().await.unwrap();
    hold.batch_execute("LOCK TABLE mentat_imports IN EXCLUSIVE MODE").await.unwrap();
    let mut first = Command::new(env!("CARGO_BIN_EXE_ideadb"))
        .args(["import-mentat", "--from", &mentat.url])
        .env("DATABASE_URL", &ours.url)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let c = ours.sql().await;
    let mut stored = 0;
    for _ in 0..600 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        stored = c.query_one("SELECT count(*) FROM event_ids", &[]).await.unwrap().get::<_, i64>(0);
        if stored > 0 {
            break;
        }
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    first.kill().unwrap();
    first.wait().unwrap();
    hold.rollback().await.unwrap();
    assert!(stored > 0 && stored < 5000, "killed half-way ({stored} stored)");

    let out = import(&ours, &mentat.url);
    let said = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "a refused message fails the run: {said}");
    assert!(said.contains("V2") && said.contains("refused refused-1: Category"), "{said}");
    assert!(said.contains("1 refused; 2 thresholds and 1 thresholded events"), "{said}");
    let kept = mentat_events(&mentat, "cesnet_storagetime").await;
    let kept: Vec<_> = kept.into_iter().filter(|e| e.0 != "refused-1").collect();
    same_events(&ours, &kept).await;

    let again = import(&ours, &mentat.url);
    let said = text(&again.stderr);
    assert!(again.status.success(), "{said}");
    assert!(said.contains("5000 events were imported by earlier runs") && said.contains("imported 0 events"), "{said}");
    same_events(&ours, &kept).await;
    let thresholded: i64 = c.query_one("SELECT count(*) FROM events_thresholded", &[]).await.unwrap().get(0);
    assert_eq!(thresholded, 1);
    ours.drop().await;
    mentat.drop().await;
}

#[tokio::test]
async fn a_database_made_by_mentat_ng_is_imported_with_the_columns_mentat_derived() {
    let mentat = mentat_database().await;
    let messages = std::env::temp_dir().join(format!("ideadb-mentat-{}.json", std::process::id()));
    std::fs::write(&messages, serde_json::to_vec(&fixture()).unwrap()).unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../e2e/mentat/make-db.sh");
    let port = mentat.url.parse::<tokio_postgres::Config>().unwrap().get_ports().first().copied().unwrap_or(5432);
    let made =
        Command::new("bash").arg(script).arg(&mentat.name).arg(&messages).arg(port.to_string()).output().unwrap();
    let _ = std::fs::remove_file(&messages);
    assert!(made.status.success(), "{}", text(&made.stderr));
    let count: usize = text(&made.stdout).trim().parse().unwrap();
    assert!(count > 100, "Mentat stored {count} of the fixture: {}", text(&made.stderr));
    let m = mentat.sql().await;
    m.batch_execute(
        "INSERT INTO thresholds VALUES ('k1', '2026-01-01', '2026-01-02', '2026-01-03', 'weekly');
         INSERT INTO events_thresholded VALUES ('e1', 'k1', 'abuse@a.example', 'low', '2026-01-01 10:00', true, false)",
    )
    .await
    .unwrap();

    let ours = TestDb::new().await;
    let out = import(&ours, &mentat.url);
    let said = text(&out.stderr);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("V3") && said.contains(&format!("imported {count} events")), "{said}");
    same_events(&ours, &mentat_events(&mentat, "storagetime").await).await;

    // What Mentat derived from each message, and what ideadb did (an empty list is NULL here).
    let derived = "SELECT id, tlp, COALESCE(node_sw, '{}'), COALESCE(source_hostname, '{}'), \
                   COALESCE(target_hostname, '{}'), shadow_reporting, shadow_reporting_target, \
                   COALESCE(targetabuses, '{}'), targetclass, targetseverity FROM events ORDER BY id";
    type Derived = (
        String,
        Option<String>,
        Vec<String>,
        Vec<String>,
        Vec<String>,
        bool,
        bool,
        Vec<String>,
        Option<String>,
        Option<String>,
    );
    let read = |r: &tokio_postgres::Row| -> Derived {
        (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4), r.get(5), r.get(6), r.get(7), r.get(8), r.get(9))
    };
    let theirs: Vec<Derived> = m.query(derived, &[]).await.unwrap().iter().map(read).collect();
    let c = ours.sql().await;
    // The same columns by the same names.
    let here: Vec<Derived> = c.query(derived, &[]).await.unwrap().iter().map(read).collect();
    assert_eq!(theirs.len(), here.len());
    let messages: std::collections::HashMap<String, Value> = mentat_events(&mentat, "storagetime")
        .await
        .into_iter()
        .map(|(id, _, raw)| (id, serde_json::from_slice(&raw).unwrap()))
        .collect();
    for (mut a, b) in theirs.into_iter().zip(here) {
        // The one departure: a URL written without a scheme names its host here too.
        let m = &messages[&a.0];
        a.3 = with_schemeless_hosts(a.3, &m["Source"]);
        a.4 = with_schemeless_hosts(a.4, &m["Target"]);
        assert_eq!(a, b, "Mentat's columns and ours for {}", a.0);
    }
    let labels: Vec<Option<String>> =
        c.query("SELECT report_label FROM thresholds", &[]).await.unwrap().iter().map(|r| r.get(0)).collect();
    assert_eq!(labels, [Some("weekly".to_string())]);
    let flags: (bool, bool) = {
        let r = c.query_one("SELECT istarget, isshadow FROM events_thresholded", &[]).await.unwrap();
        (r.get(0), r.get(1))
    };
    assert_eq!(flags, (true, false));
    ours.drop().await;
    mentat.drop().await;
}

#[tokio::test]
async fn neither_generation_nor_a_bad_url_is_imported_and_each_is_named() {
    let ours = TestDb::new().await;
    let other = TestDb::blank().await;
    other.sql().await.batch_execute("CREATE TABLE events (id text, detected timestamp)").await.unwrap();
    let out = import(&ours, &other.url);
    let said = text(&out.stderr);
    assert!(!out.status.success(), "{said}");
    assert!(said.contains("is no Mentat database") && said.contains("found events (id, detected)"), "{said}");
    assert!(said.contains("events_json (missing)"), "{said}");
    let bad = import(&ours, "postgres://host:notaport/db");
    assert!(!bad.status.success() && text(&bad.stderr).contains("--from: not a PostgreSQL URL"), "{bad:?}");
    let n: i64 = ours.sql().await.query_one("SELECT count(*) FROM event_ids", &[]).await.unwrap().get(0);
    assert_eq!(n, 0, "nothing stored");
    other.drop().await;
    ours.drop().await;
}
