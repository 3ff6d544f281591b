//! Weekly partitions: exact searches whatever the senders' clocks say, detection-time bounds
//! that read only the partitions they need, IDs unique across partitions, a week that cannot
//! be created, retention by dropping weeks, and the move of a previous layout's database.

use std::collections::BTreeSet;
use std::process::Command;

use chrono::{NaiveDateTime, TimeDelta, Utc};
use ideadb::idea::IpRange;
use ideadb::storage::{week_of, Flavour, Hostname, QueryKind, SearchParams, Values, Visibility};
use rand::SeedableRng;
use serde_json::{json, Value};

use crate::harness::{event, TestDb};
use crate::model::Msg;
use crate::query::{check, model_messages, parameter_cases, random_params};

fn msg(id: &str, detected: NaiveDateTime, stored: NaiveDateTime) -> Value {
    json!({"Format": "IDEA0", "ID": id, "DetectTime": detected.and_utc().to_rfc3339(), "Category": ["Test"],
           "Source": [{"IP4": ["192.0.2.7"]}], "Target": [{"IP4": ["198.51.100.1"]}], "Node": [{"Name": "org.det"}],
           "_CESNET": {"StorageTime": stored.and_utc().to_rfc3339()}})
}

fn partition(week_in: NaiveDateTime) -> String {
    format!("events_w{}", week_of(week_in).format("%Y%m%d"))
}

fn ideadb(db: &TestDb, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_ideadb")).args(args).env("DATABASE_URL", &db.url).output().unwrap()
}

#[tokio::test]
async fn detection_times_ahead_of_or_far_behind_storage_are_found_and_bounds_prune_partitions() {
    let db = TestDb::new().await;
    let now = Utc::now().naive_utc();
    let (old, mid) = (now - TimeDelta::days(60), now - TimeDelta::days(30));
    let msgs = vec![
        // Sent two years late.
        msg("late", now - TimeDelta::days(730), now - TimeDelta::hours(1)),
        // A detector clock two months fast, stored two months ago.
        msg("ahead-old", now + TimeDelta::days(1), old),
        msg("ahead-now", now + TimeDelta::days(3), now - TimeDelta::hours(1)),
        msg("plain-old", old - TimeDelta::hours(1), old),
        msg("plain-mid", mid - TimeDelta::hours(1), mid),
        msg("plain-now", now - TimeDelta::hours(2), now - TimeDelta::hours(1)),
    ];
    db.load(&msgs).await;
    let all: Vec<Msg> = msgs.iter().map(Msg::new).collect();
    let addr = IpRange::parse("192.0.2.7").unwrap();
    let from = |t: NaiveDateTime| SearchParams { dt_from: Some(t), ..Default::default() };
    let cases = [
        from(now + TimeDelta::hours(12)),
        from(now - TimeDelta::days(1)),
        from(mid - TimeDelta::days(1)),
        SearchParams {
            dt_from: Some(now - TimeDelta::days(731)),
            dt_to: Some(now - TimeDelta::days(729)),
            ..Default::default()
        },
        SearchParams { source_addrs: vec![addr], dt_from: Some(now), ..Default::default() },
        SearchParams {
            source_addrs: vec![addr],
            dt_from: Some(now),
            limit: Some(10),
            sortby: ideadb::storage::SortBy::parse("time.desc"),
            ..Default::default()
        },
    ];
    let found: Vec<usize> = futures_util::future::join_all(cases.iter().map(|p| check(&db, &all, p))).await;
    assert_eq!(found, [2, 3, 4, 1, 2, 2], "ahead events are found from any bound, the late one by its own time");

    // From yesterday: the week of the fast clock is read, the quiet week between is not.
    let sql = db.store.mogrify(&from(now - TimeDelta::days(1)), QueryKind::Select).await.unwrap();
    let plan: Vec<String> =
        db.sql().await.query(&format!("EXPLAIN {sql}"), &[]).await.unwrap().iter().map(|r| r.get(0)).collect();
    let plan = plan.join("\n");
    assert!(plan.contains(&partition(old)), "{plan}");
    assert!(!plan.contains(&partition(mid)), "{plan}");
    db.drop().await;
}

#[tokio::test]
async fn an_id_is_stored_once_across_partitions_and_a_week_that_cannot_be_created_is_named() {
    let db = TestDb::new().await;
    let now = Utc::now().naive_utc();
    let first = msg("once", now - TimeDelta::days(100), now - TimeDelta::days(100));
    db.load(std::slice::from_ref(&first)).await;
    let again = msg("once", now, now);
    let out = db.store.insert_batch(vec![event(&again)]).await.unwrap();
    assert_eq!(out.duplicates, ["once"], "{out:?}");
    let stored = db.store.fetch_event("once", &Visibility::All).await.unwrap().unwrap();
    assert_eq!(stored.raw, serde_json::to_vec(&first).unwrap(), "the first copy is kept");

    // Something else already holds the name of the partition for a week of 2001.
    let blocked = NaiveDateTime::parse_from_str("2001-01-03 12:00:00", "%Y-%m-%d %H:%M:%S").unwrap();
    db.sql().await.batch_execute(&format!("CREATE TABLE {} (x integer)", partition(blocked))).await.unwrap();
    let out = db
        .store
        .insert_batch(vec![event(&msg("in-2001", blocked, blocked)), event(&msg("today", now, now))])
        .await
        .unwrap();
    assert_eq!(out.stored, ["today"], "{out:?}");
    assert_eq!(out.refused.len(), 1, "{out:?}");
    assert_eq!(out.refused[0].0, "in-2001");
    assert!(out.refused[0].1.contains(&partition(blocked)), "{out:?}");
    db.drop().await;
}

#[tokio::test]
async fn writers_that_need_the_same_new_weeks_at_once_both_store() {
    let db = TestDb::new().await;
    let stores: Vec<_> = (0..3)
        .map(|_| ideadb::storage::EventStore::new(&ideadb::storage::StoreConfig::new(db.url.clone())).unwrap())
        .collect();
    let base = Utc::now().naive_utc() - TimeDelta::days(400);
    // Each writer's batch spans the same ten weeks that no partition covers yet.
    let batches = stores.iter().enumerate().map(|(w, s)| {
        let batch = (0..10)
            .map(|k| {
                let t = base + TimeDelta::weeks(k);
                event(&msg(&format!("w{w}-{k}"), t, t))
            })
            .collect();
        s.insert_batch(batch)
    });
    for out in futures_util::future::join_all(batches).await {
        let out = out.unwrap();
        assert_eq!(out.stored.len(), 10, "{out:?}");
    }
    db.drop().await;
}

async fn index_bytes_of_week(db: &TestDb, c: &tokio_postgres::Client, week_in: NaiveDateTime) -> i64 {
    let pattern = format!("%_w{}", week_of(week_in).format("%Y%m%d"));
    // On Citus the coordinator's partitions are empty shells; their shards hold the indexes.
    let sql = match db.store.flavour().await.unwrap() {
        Flavour::Single => {
            "SELECT sum(pg_relation_size(oid))::bigint FROM pg_class WHERE relkind = 'i' AND relname LIKE $1"
        }
        Flavour::Citus => {
            "SELECT sum(citus_total_relation_size(oid) - citus_table_size(oid))::bigint FROM pg_class \
             WHERE relkind = 'r' AND relname LIKE $1"
        }
    };
    c.query_one(sql, &[&pattern]).await.unwrap().get(0)
}

#[tokio::test]
async fn an_ended_week_is_compacted_once_and_searches_as_before() {
    let db = TestDb::new().await;
    let now = Utc::now().naive_utc();
    let then = now - TimeDelta::days(21);
    let mut msgs = crate::harness::generated(4000, 1, 5);
    for (i, m) in msgs.iter_mut().enumerate() {
        let at = then + TimeDelta::seconds(i as i64);
        m["_CESNET"]["StorageTime"] = json!(at.and_utc().to_rfc3339());
    }
    db.load(&msgs).await;
    let c = db.sql().await;
    c.batch_execute("VACUUM").await.unwrap();
    let before = index_bytes_of_week(&db, &c, then).await;

    let done = db.store.compact_ended_weeks(now, 10).await.unwrap();
    assert_eq!(done, [week_of(then).and_hms_opt(0, 0, 0).unwrap()], "only the ended week with events");
    let after = index_bytes_of_week(&db, &c, then).await;
    // Rebuilt indexes lose the half-empty pages of insertion in random ID order: over half on
    // one server; 48% on Citus, whose shards each hold a quarter of the rows, so an index's
    // fixed pages weigh more.
    assert!(after * 5 < before * 3, "indexes of the week: {before} bytes before, {after} after");
    let pattern = format!("%_w{}", week_of(then).format("%Y%m%d"));
    let spare: Vec<(String, String)> = c
        .query(
            "SELECT c.relname::text, m.amname::text FROM pg_class c JOIN pg_am m ON m.oid = c.relam \
             WHERE c.relkind = 'i' AND c.relname LIKE $1 \
             AND m.amname IN ('btree', 'gist') AND NOT coalesce('fillfactor=100' = ANY(c.reloptions), false)",
            &[&pattern],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert!(spare.is_empty(), "an ended week's rebuilt indexes fill their pages: {spare:?}");
    assert!(db.store.compact_ended_weeks(now, 10).await.unwrap().is_empty(), "once");
    let weeks = db.store.partitions().await.unwrap();
    assert!(weeks.iter().any(|w| w.compacted && w.rows == 4000), "{weeks:?}");

    let all: Vec<Msg> = msgs.iter().map(Msg::new).collect();
    for (name, p) in parameter_cases(&all) {
        check(&db, &all, &p).await;
        println!("{name}: as the model says");
    }
    db.drop().await;
}

#[tokio::test]
async fn the_server_compacts_ended_weeks_in_the_background() {
    let db = TestDb::new().await;
    let then = Utc::now().naive_utc() - TimeDelta::days(15);
    let msgs: Vec<Value> = (0..50).map(|i| msg(&format!("e{i}"), then, then + TimeDelta::minutes(i))).collect();
    db.load(&msgs).await;
    let _server = crate::server::Server::start_with(&db.url, &[]);
    let c = db.sql().await;
    let mut compacted = 0;
    for _ in 0..120 {
        compacted = count(&c, "compacted_weeks").await;
        if compacted > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    assert_eq!(compacted, 1, "the ended week is compacted by the leader");
    assert_eq!(db.store.count_events(&SearchParams::default()).await.unwrap(), 50);
    db.drop().await;
}

async fn count(c: &tokio_postgres::Client, table: &str) -> i64 {
    c.query_one(&format!("SELECT count(*) FROM {table}"), &[]).await.unwrap().get(0)
}

#[tokio::test]
async fn retention_drops_whole_weeks_and_deletes_only_the_straddling_weeks_rows() {
    let db = TestDb::new().await;
    let now = Utc::now().naive_utc();
    let cut = now - TimeDelta::seconds(31_556_926);
    let gone_week = cut - TimeDelta::days(20);
    let mut msgs: Vec<Value> =
        (0..300).map(|i| msg(&format!("gone{i}"), gone_week, gone_week + TimeDelta::minutes(i))).collect();
    // Either side of the cut, in the week that straddles it.
    msgs.push(msg("before-cut", cut - TimeDelta::hours(1), cut - TimeDelta::minutes(1)));
    msgs.push(msg("after-cut", cut, cut + TimeDelta::minutes(10)));
    msgs.push(msg("recent", now, now));
    db.load(&msgs).await;
    let c = db.sql().await;
    let straddling = week_of(cut - TimeDelta::minutes(1)) == week_of(cut + TimeDelta::minutes(10));

    let out = ideadb(&db, &["cleanup", "--events", "1y", "--dry-run"]);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("would delete 301 events") && said.contains("weeks dropped whole: 1"), "{said}");
    // The current week, which retention has no business with, is locked: the cleanup must
    // not need it.
    let holder = db.sql().await;
    holder.batch_execute("BEGIN").await.unwrap();
    for table in ["events", "events_addr"] {
        let recent = format!("{table}_w{}", week_of(now).format("%Y%m%d"));
        holder.batch_execute(&format!("LOCK TABLE {recent} IN ACCESS EXCLUSIVE MODE")).await.unwrap();
    }
    let mut cleanup = Command::new(env!("CARGO_BIN_EXE_ideadb"))
        .args(["cleanup", "--events", "1y"])
        .env("DATABASE_URL", &db.url)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut waited = 0;
    while cleanup.try_wait().unwrap().is_none() && waited < 200 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        waited += 1;
    }
    let finished = cleanup.try_wait().unwrap().is_some();
    holder.batch_execute("ROLLBACK").await.unwrap();
    let out = cleanup.wait_with_output().unwrap();
    assert!(finished, "cleanup waited for a partition outside the expired range");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && said.contains("deleted 301 events"), "{said}");

    let gone: bool = c.query_one("SELECT to_regclass($1) IS NULL", &[&partition(gone_week)]).await.unwrap().get(0);
    assert!(gone, "the expired week's partition is dropped");
    let left: BTreeSet<String> =
        c.query("SELECT id FROM events", &[]).await.unwrap().iter().map(|r| r.get(0)).collect();
    assert_eq!(left, BTreeSet::from(["after-cut".to_string(), "recent".into()]), "straddling: {straddling}");
    for table in ["event_ids", "events_json"] {
        assert_eq!(count(&c, table).await, 2, "{table} follows events");
    }
    for table in ["events_addr", "events_net16"] {
        assert_eq!(count(&c, table).await, 4, "{table}: a source and a target each");
    }

    let status = ideadb(&db, &["db-status", "--brief"]);
    let status: Value = serde_json::from_slice(&status.stdout).unwrap();
    let weeks = status["partitions"].as_array().unwrap();
    assert!(weeks.iter().any(|w| w["rows"].as_i64() >= Some(1) && w["bytes"].as_i64() > Some(0)), "{weeks:?}");
    assert!(weeks.iter().all(|w| w["from"].as_str() > Some(&*gone_week.to_string())), "{weeks:?}");
    db.drop().await;
}

/// A database of the previous release (schema version 9), filled the way it filled it.
async fn previous_release(db: &TestDb, msgs: &[Value]) {
    db.store.migrate_to(9).await.unwrap();
    let c = db.sql().await;
    let now = Utc::now().naive_utc();
    for m in msgs {
        let raw = serde_json::to_vec(m).unwrap();
        let row = ideadb::idea::parse(&raw).unwrap();
        let stored = row.storagetime.unwrap_or(now);
        c.execute(
            "INSERT INTO events (id, detecttime, category, node_name, cesnet_storagetime) VALUES ($1, $2, $3, $4, $5)",
            &[&row.id, &row.detecttime, &row.category, &row.node_name, &stored],
        )
        .await
        .unwrap();
        c.execute("INSERT INTO events_json (id, event) VALUES ($1, $2)", &[&row.id, &raw]).await.unwrap();
    }
}

#[tokio::test]
async fn migrate_moves_a_previous_release_database_resuming_after_a_kill_and_loses_nothing() {
    let db = TestDb::blank().await;
    let msgs = model_messages();
    previous_release(&db, &msgs).await;
    let c = db.sql().await;
    let stored_before: Vec<(String, NaiveDateTime)> = c
        .query("SELECT id, cesnet_storagetime FROM events ORDER BY id", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();

    // The new tables, then a row of the second batch held: the first batch moves, then the
    // move waits there and is killed, as by a power cut.
    db.store.migrate_to(10).await.unwrap();
    let holder = db.sql().await;
    holder.batch_execute("BEGIN").await.unwrap();
    let second = &stored_before[2_500].0;
    holder.execute("SELECT 1 FROM events_v9 WHERE id = $1 FOR UPDATE", &[second]).await.unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_ideadb"))
        .arg("migrate")
        .env("DATABASE_URL", &db.url)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut moved = 0;
    for _ in 0..600 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        moved = count(&c, "event_ids").await;
        if moved > 0 {
            break;
        }
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    child.kill().unwrap();
    child.wait().unwrap();
    holder.batch_execute("ROLLBACK").await.unwrap();
    assert_eq!(moved, 2_000, "one batch moved before the kill");
    assert_eq!(count(&c, "events_v9").await as usize, msgs.len() - 2_000);

    let out = ideadb(&db, &["migrate"]);
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains(&format!("moved {} events", msgs.len() - 2_000)));
    let v9: bool = c.query_one("SELECT to_regclass('events_v9') IS NULL", &[]).await.unwrap().get(0);
    assert!(v9, "the old tables are gone once empty");
    assert_eq!(db.store.schema_version().await.unwrap(), Some(crate::harness::latest_migration()));

    for ((id, stored), m) in stored_before.iter().zip({
        let mut sorted: Vec<&Value> = msgs.iter().collect();
        sorted.sort_by(|a, b| a["ID"].as_str().cmp(&b["ID"].as_str()));
        sorted
    }) {
        let e = db.store.fetch_event(id, &Visibility::All).await.unwrap().unwrap_or_else(|| panic!("{id} lost"));
        assert_eq!(e.raw, serde_json::to_vec(m).unwrap(), "{id}: the bytes received");
        assert_eq!(e.storagetime, *stored, "{id}: its storage time");
    }
    let all: Vec<Msg> = msgs.iter().map(Msg::new).collect();
    for (name, p) in parameter_cases(&all) {
        check(&db, &all, &p).await;
        println!("{name}: as the model says");
    }
    let mut r = rand::rngs::SmallRng::seed_from_u64(3);
    for _ in 0..100 {
        check(&db, &all, &random_params(&mut r, &all)).await;
    }
    db.drop().await;
}

#[tokio::test]
async fn migrate_fills_the_columns_added_after_events_were_stored_from_their_messages() {
    let db = TestDb::new().await;
    let msgs = model_messages();
    db.load(&msgs).await;
    let all: Vec<Msg> = msgs.iter().map(Msg::new).collect();
    let c = db.sql().await;
    // As rows stored before migration 11 read: no software, no shadow reporting.
    c.batch_execute(
        "UPDATE events SET node_sw = NULL, shadow_reporting = false, shadow_reporting_target = false, \
         source_hostname = NULL, target_hostname = NULL, source_domains = NULL, target_domains = NULL; \
         INSERT INTO refill_weeks (week) SELECT DISTINCT date_trunc('week', cesnet_storagetime) FROM events",
    )
    .await
    .unwrap();
    let newer = [
        SearchParams { detector_softwares: Values::of(["Nemea"]), ..Default::default() },
        SearchParams { shadow_reporting: Some(true), ..Default::default() },
        SearchParams { shadow_reporting_target: Some(true), ..Default::default() },
        SearchParams { host_hostnames: vec![Hostname::of(".cesnet.cz")], ..Default::default() },
    ];
    for p in &newer {
        assert_eq!(db.store.count_events(p).await.unwrap(), 0, "blank before the refill: {p:?}");
    }
    let out = ideadb(&db, &["migrate"]);
    assert!(out.status.success(), "{out:?}");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains(&format!("read {} stored events", msgs.len())), "{said}");
    assert_eq!(count(&c, "refill_weeks").await, 0, "every week done");
    for p in &newer {
        assert!(check(&db, &all, p).await > 0, "{p:?}");
    }
    db.drop().await;
}
