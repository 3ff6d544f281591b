//! Thresholds and relapse, cleanup, watchdog, distinct values, min/max and status,
//! including empty tables and NULL arrays.

use chrono::{NaiveDateTime, TimeDelta, Utc};
use ideadb::storage::{EnumColumn, SearchParams, Table, TimeColumn, Visibility};
use serde_json::json;

use crate::harness::{event, TestDb};

fn t(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap()
}

fn ev(id: &str, storage: NaiveDateTime, extra: serde_json::Value) -> serde_json::Value {
    let mut v = json!({"Format": "IDEA0", "ID": id, "DetectTime": "2024-01-01T00:00:00Z", "Category": ["Test"],
                       "Node": [{"Name": "org.det", "Type": ["Flow"]}],
                       "_CESNET": {"StorageTime": storage.and_utc().to_rfc3339()}});
    for (k, x) in extra.as_object().unwrap() {
        v[k] = x.clone();
    }
    v
}

#[tokio::test]
async fn empty_tables_give_empty_answers() {
    let db = TestDb::new().await;
    let s = &db.store;
    assert_eq!(s.count_events(&SearchParams::default()).await.unwrap(), 0);
    assert!(!s.watchdog_events(3600).await.unwrap(), "an empty table is not alive");
    assert_eq!(s.search_column_with(TimeColumn::StorageTime, true).await.unwrap(), None);
    assert_eq!(s.thresholds_count().await.unwrap(), 0);
    assert_eq!(s.thresholded_events_clean().await.unwrap(), 0);
    for c in EnumColumn::ALL {
        assert!(s.distinct_values(c).await.unwrap().is_empty(), "{c:?}");
    }
    let st = s.database_status(false).await.unwrap();
    assert_eq!(st.schema_version, Some(crate::harness::latest_migration()));
    assert!(st.settings.iter().any(|(k, _)| k == "work_mem"));
    let events = st.tables.iter().find(|t| t.table == Table::Events).unwrap();
    assert_eq!((events.rows_estimate, events.oldest), (0, None));
    assert_eq!(st.bytes_per_event, None, "no events, no cost per event");
    assert!(s.database_status(true).await.unwrap().settings.is_empty());
    assert_eq!(st.tables.len(), Table::ALL.len(), "every table of the schema");
    db.drop().await;
}

#[tokio::test]
async fn distinct_values_come_from_ingest_and_catch_up_on_rows_written_elsewhere() {
    let db = TestDb::new().await;
    let now = Utc::now().naive_utc();
    db.load(&[
        ev("e1", now, json!({"_CESNET": {"StorageTime": now.and_utc().to_rfc3339(), "EventSeverity": "High", "EventClass": "scan"}, "Source": [{"Proto": ["TCP"], "Type": ["Scanner"]}]})),
        ev("e2", now, json!({"Category": ["Recon.Scanning", "Test"]})),
    ])
    .await;
    let s = &db.store;
    assert_eq!(s.distinct_values(EnumColumn::Category).await.unwrap(), ["Recon.Scanning", "Test"]);
    assert_eq!(s.distinct_values(EnumColumn::EventSeverity).await.unwrap(), ["high"]);
    assert_eq!(s.distinct_values(EnumColumn::Protocol).await.unwrap(), ["tcp"]);
    assert_eq!(s.distinct_values(EnumColumn::SourceType).await.unwrap(), ["Scanner"]);
    assert!(s.distinct_values(EnumColumn::TargetType).await.unwrap().is_empty());
    // A row written by another tool, with NULL arrays, is picked up by the catch-up.
    let c = db.sql().await;
    c.execute("INSERT INTO events (id, detecttime, category, node_name, cesnet_storagetime, cesnet_eventclass) VALUES ('x', now(), '{Other}', '{org.x}', now() AT TIME ZONE 'UTC' + interval '1 minute', 'late')", &[]).await.unwrap();
    assert_eq!(s.distinct_values(EnumColumn::Category).await.unwrap(), ["Other", "Recon.Scanning", "Test"]);
    assert_eq!(s.distinct_values(EnumColumn::EventClass).await.unwrap(), ["late", "scan"]);
    assert!(s.distinct_values(EnumColumn::ResolvedAbuses).await.unwrap().is_empty(), "NULL arrays add nothing");
    // A row written by another tool is found by category and detector: the pairs are an index
    // expression, not a column it would have to fill.
    let both = SearchParams {
        categories: ideadb::storage::Values::of(["Other"]),
        detectors: ideadb::storage::Values::of(["org.x"]),
        ..Default::default()
    };
    assert_eq!(s.count_events(&both).await.unwrap(), 1);
    // NULL arrays count as empty for __EMPTY__.
    let p = SearchParams { source_types: ideadb::storage::Values::of([ideadb::storage::EMPTY]), ..Default::default() };
    assert_eq!(s.count_events(&p).await.unwrap(), 2);
    db.drop().await;
}

#[tokio::test]
async fn watchdog_min_max_and_retention_cleanup_by_storage_time() {
    let db = TestDb::new().await;
    let now = Utc::now().naive_utc();
    let old = now - TimeDelta::days(400);
    db.load(&[ev("old", old, json!({})), ev("new", now - TimeDelta::seconds(30), json!({}))]).await;
    let s = &db.store;
    assert!(s.watchdog_events(60).await.unwrap());
    assert!(!s.watchdog_events(10).await.unwrap());
    assert_eq!(
        s.search_column_with(TimeColumn::StorageTime, false).await.unwrap().unwrap().and_utc().timestamp(),
        old.and_utc().timestamp()
    );
    let cut = SearchParams { st_to: Some(now - TimeDelta::days(365)), ..Default::default() };
    assert_eq!(s.count_events(&cut).await.unwrap(), 1);
    assert_eq!(s.delete_events(&cut).await.unwrap(), 1);
    assert!(s.fetch_event("old", &Visibility::All).await.unwrap().is_none());
    assert!(s.fetch_event("new", &Visibility::All).await.unwrap().is_some());
    assert!(s.table_cleanup(Table::Users, now).await.is_err(), "a table without a time column");
    db.drop().await;
}

#[tokio::test]
async fn thresholds_relapse_and_cleanup_follow_mentat() {
    let db = TestDb::new().await;
    let s = &db.store;
    let now = Utc::now().naive_utc();
    db.load(&[ev("r1", now, json!({})), ev("r2", now, json!({})), ev("r3", now, json!({}))]).await;
    // Window: threshold 10:00, relapse 11:00, ttl 12:00.
    s.threshold_set("scan+++1.2.3.4", t("2024-01-01 10:00:00"), t("2024-01-01 11:00:00"), t("2024-01-01 12:00:00"))
        .await
        .unwrap();
    s.threshold_set("scan+++1.2.3.4", t("2024-01-01 10:00:00"), t("2024-01-01 11:00:00"), t("2024-01-01 12:00:00"))
        .await
        .unwrap();
    s.threshold_set("spam+++5.6.7.8", t("2024-01-01 10:00:00"), t("2024-01-01 13:00:00"), t("2024-01-01 14:00:00"))
        .await
        .unwrap();
    assert_eq!(s.thresholds_count().await.unwrap(), 2, "threshold_set upserts");
    assert!(s.threshold_check("scan+++1.2.3.4", t("2024-01-01 12:00:00")).await.unwrap().is_some());
    assert!(s.threshold_check("scan+++1.2.3.4", t("2024-01-01 12:00:01")).await.unwrap().is_none());
    s.threshold_save("r1", "scan+++1.2.3.4", "abuse@a", "low", t("2024-01-01 10:30:00")).await.unwrap();
    s.threshold_save("r2", "scan+++1.2.3.4", "abuse@a", "low", t("2024-01-01 11:30:00")).await.unwrap();
    s.threshold_save("r3", "spam+++5.6.7.8", "abuse@a", "low", t("2024-01-01 13:30:00")).await.unwrap();
    s.threshold_save("r3", "gone", "abuse@a", "low", t("2024-01-01 13:30:00")).await.unwrap();
    s.threshold_save("r1", "spam+++5.6.7.8", "abuse@a", "low", t("2024-01-01 09:00:00")).await.unwrap();
    assert_eq!(s.thresholded_events_count().await.unwrap(), 5);
    // Relapsed at 12:30: only r2 (recorded after 11:00 under a window expired by 12:30).
    let relapsed = s.search_relapsed_events("abuse@a", "low", t("2024-01-01 12:30:00")).await.unwrap();
    assert_eq!(
        relapsed.iter().map(|r| (r.event.id.as_str(), r.keyids.clone())).collect::<Vec<_>>(),
        [("r2", vec!["scan+++1.2.3.4".to_string()])]
    );
    assert!(s.search_relapsed_events("abuse@b", "low", t("2024-01-01 23:00:00")).await.unwrap().is_empty());
    // Orphans ('gone') and records before their window (r1 under spam at 09:00) go.
    assert_eq!(s.thresholded_events_clean().await.unwrap(), 2);
    assert_eq!(s.thresholds_clean(t("2024-01-01 13:00:00")).await.unwrap(), 1);
    assert_eq!(s.thresholds_count().await.unwrap(), 1);
    assert_eq!(s.thresholded_events_clean().await.unwrap(), 2, "the scan records lost their window");
    assert_eq!(s.thresholded_events_count().await.unwrap(), 1);
    db.drop().await;
}

#[tokio::test]
async fn insert_event_reports_a_duplicate_as_an_integrity_error_and_changes_nothing() {
    let db = TestDb::new().await;
    let now = Utc::now().naive_utc();
    let first = ev("d1", now, json!({"Description": "first"}));
    db.store.insert_event(event(&first)).await.unwrap();
    let err = db.store.insert_event(event(&ev("d1", now, json!({"Description": "second"})))).await.unwrap_err();
    assert!(matches!(err, ideadb::storage::Error::Integrity(_)), "{err:?}");
    assert_eq!(err.to_string(), "an event with ID d1 is already stored");
    let back = db.store.fetch_event("d1", &Visibility::All).await.unwrap().unwrap().json().unwrap();
    assert_eq!(back["Description"], "first");
    db.drop().await;
}

#[tokio::test]
async fn a_statement_timeout_is_reported_as_such_and_the_store_recovers() {
    let db = TestDb::new().await;
    let mut cfg = ideadb::storage::StoreConfig::new(db.url.clone());
    cfg.statement_timeout = std::time::Duration::from_millis(200);
    let store = ideadb::storage::EventStore::new(&cfg).unwrap();
    // Another session holds the table: the count waits until the timeout cancels it.
    let mut locker = db.sql().await;
    let tx = locker.transaction().await.unwrap();
    tx.batch_execute("LOCK TABLE events IN ACCESS EXCLUSIVE MODE").await.unwrap();
    let e = store.count_events(&SearchParams::default()).await;
    assert!(matches!(e, Err(ideadb::storage::Error::Timeout)), "{e:?}");
    tx.rollback().await.unwrap();
    assert_eq!(store.count_events(&SearchParams::default()).await.unwrap(), 0);
    db.drop().await;
}

#[tokio::test]
async fn aggregates_and_timelines_count_what_the_model_counts() {
    let db = TestDb::new().await;
    let msgs = crate::harness::generated(2000, 2, 21);
    db.load(&msgs).await;
    let all: Vec<crate::model::Msg> = msgs.iter().map(crate::model::Msg::new).collect();
    let s = &db.store;
    let p =
        SearchParams { categories: ideadb::storage::Values::of(["Recon.Scanning"]).negated(), ..Default::default() };
    let got = s.aggregate(&p, ideadb::storage::AggregateColumn::Enum(EnumColumn::NodeName), None).await.unwrap();
    let mut want = std::collections::BTreeMap::<String, i64>::new();
    for m in all.iter().filter(|m| crate::model::matches(&p, m)) {
        for d in &m.detectors {
            *want.entry(d.clone()).or_default() += 1;
        }
    }
    assert_eq!(got.iter().cloned().collect::<std::collections::BTreeMap<_, _>>(), want);
    assert!(got.windows(2).all(|w| w[0].1 >= w[1].1), "most frequent first");
    let top = s.aggregate(&p, ideadb::storage::AggregateColumn::Enum(EnumColumn::NodeName), Some(2)).await.unwrap();
    assert_eq!(top, got[..2]);
    let sev = s
        .aggregate(&SearchParams::default(), ideadb::storage::AggregateColumn::Enum(EnumColumn::EventClass), None)
        .await
        .unwrap();
    let unknown = all.iter().filter(|m| m.class.is_none()).count() as i64;
    assert_eq!(sev.iter().find(|(k, _)| k == "__unknown__").map(|(_, n)| *n).unwrap_or(0), unknown);

    let origin = all.iter().map(|m| m.detect).min().unwrap();
    let step = TimeDelta::hours(6);
    let buckets = s.timeline(&SearchParams::default(), origin, step, false, None).await.unwrap();
    assert_eq!(buckets.iter().map(|b| b.count).sum::<i64>(), all.len() as i64);
    for b in &buckets {
        let n = all.iter().filter(|m| m.detect >= b.bucket && m.detect < b.bucket + step).count() as i64;
        assert_eq!(b.count, n, "bucket {}", b.bucket);
    }
    let split = s
        .timeline(
            &SearchParams::default(),
            origin,
            step,
            false,
            Some(ideadb::storage::AggregateColumn::Enum(EnumColumn::Category)),
        )
        .await
        .unwrap();
    let cats: i64 = all.iter().map(|m| m.categories.len() as i64).sum();
    assert_eq!(split.iter().map(|b| b.count).sum::<i64>(), cats);
    db.drop().await;
}

#[tokio::test]
async fn indexes_and_the_whole_schema_can_be_dropped_and_created_again() {
    async fn count(c: &tokio_postgres::Client) -> i64 {
        // The default set of the event tables; accounts and sessions keep their keys.
        let sql = "SELECT count(*) FROM pg_indexes WHERE schemaname = 'public' \
                   AND tablename NOT IN ('users', 'api_keys', 'sessions') AND tablename NOT LIKE 'statistics%' \
                   AND indexname NOT LIKE '%pkey%' AND indexname NOT LIKE '%data_key' \
                   AND indexname NOT LIKE '%id_key%'";
        c.query_one(sql, &[]).await.unwrap().get(0)
    }
    let db = TestDb::new().await;
    let c = db.sql().await;
    let full = count(&c).await;
    assert!(full >= 20, "{full}");
    db.store.index_drop().await.unwrap();
    assert_eq!(count(&c).await, 0);
    db.store.index_create().await.unwrap();
    assert_eq!(count(&c).await, full);
    db.store.database_drop().await.unwrap();
    assert_eq!(db.store.schema_version().await.unwrap(), None);
    db.store.database_create().await.unwrap();
    assert_eq!(db.store.schema_version().await.unwrap(), Some(crate::harness::latest_migration()));
    assert_eq!(db.store.count_events(&SearchParams::default()).await.unwrap(), 0);
    db.drop().await;
}

#[tokio::test]
async fn a_connection_killed_under_the_store_is_replaced_and_the_call_retried() {
    let db = TestDb::new().await;
    let s = &db.store;
    // Several pooled connections, all of which die together.
    let all = SearchParams::default();
    let warm = futures_util::future::join_all((0..4).map(|_| s.count_events(&all))).await;
    assert!(warm.iter().all(|r| r.as_ref().is_ok_and(|n| *n == 0)));
    let c = db.sql().await;
    c.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()", &[]).await.unwrap();
    assert_eq!(s.count_events(&SearchParams::default()).await.unwrap(), 0, "reconnected and retried");
    db.drop().await;
}

#[tokio::test]
async fn a_test_that_panics_still_drops_its_database() {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let failed = tokio::spawn(async move {
        let db = TestDb::new().await;
        tx.send(db.name.clone()).unwrap();
        panic!("a failing test");
    })
    .await;
    assert!(failed.is_err());
    let name = rx.await.unwrap();
    let (c, conn) = tokio_postgres::connect(&crate::harness::admin_url(), tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(conn);
    let left: i64 = c.query_one("SELECT count(*) FROM pg_database WHERE datname = $1", &[&name]).await.unwrap().get(0);
    assert_eq!(left, 0, "{name} was left behind");
}
