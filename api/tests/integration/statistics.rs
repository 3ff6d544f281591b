//! The statistician and the dashboard: a golden window, the dashboard against statistics
//! computed directly from the events, toplists, boundaries, recomputation, and the
//! statistician inside `ideadb serve`.

use std::collections::BTreeMap;

use chrono::{NaiveDateTime, TimeDelta};
use ideadb::stats::{Agg, EventDigest, GroupStats, TimelineCfg, REST};
use indicatif::ProgressBar;
use serde_json::{json, Value};

use crate::harness::{generated, TestDb};
use crate::server::{account, Server};

fn t(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f").unwrap()
}

fn iso(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// A message stored at `stored`.
fn msg(id: &str, stored: &str, extra: Value) -> Value {
    let mut m = json!({
        "Format": "IDEA0", "ID": id, "DetectTime": "2026-01-01T09:00:00Z",
        "Category": ["Recon.Scanning"], "Node": [{"Name": "cz.cesnet.a", "SW": ["Kippo"]}],
        "_CESNET": {"StorageTime": iso(t(stored))}
    });
    for (k, v) in extra.as_object().unwrap() {
        if k == "_CESNET" {
            for (pk, pv) in v.as_object().unwrap() {
                m["_CESNET"][pk] = pv.clone();
            }
        } else {
            m[k] = v.clone();
        }
    }
    m
}

async fn window_row(db: &TestDb, from: &str) -> Value {
    let c = db.sql().await;
    let r = c
        .query_one(
            "SELECT count, stats_overall, stats_internal, stats_external, interval, delta FROM statistics_events WHERE dt_from = $1",
            &[&t(from)],
        )
        .await
        .unwrap();
    json!({"count": r.get::<_, i32>(0), "overall": r.get::<_, Value>(1), "internal": r.get::<_, Value>(2),
           "external": r.get::<_, Value>(3), "interval": r.get::<_, String>(4), "delta": r.get::<_, i32>(5)})
}

#[tokio::test]
async fn a_hand_made_window_has_exactly_the_expected_statistics() {
    let db = TestDb::new().await;
    let internal = json!({"Source": [{"IP4": ["192.0.2.1"]}], "_CESNET": {"ResolvedAbuses": ["abuse@cesnet.cz"],
        "EventSeverity": "low", "EventClass": "recon-scanning", "SourceResolvedASN": [2852], "SourceResolvedCountry": ["CZ"]}});
    let events = [
        msg("e1", "2026-01-01 10:00:00", internal.clone()),
        // Same detector, categories and sources one minute later: recurring.
        msg("e2", "2026-01-01 10:01:00", internal.clone()),
        msg(
            "e3",
            "2026-01-01 10:04:59.999",
            json!({"Category": ["Abusive.Spam", "Test"], "Node": [{"Name": "org.example.x"}]}),
        ),
        // On the boundary: the next window's.
        msg("e4", "2026-01-01 10:05:00", json!({})),
        msg("e5", "2026-01-01 09:59:59.999999", json!({})),
    ];
    db.load(&events).await;
    let s = &db.store;
    for w in ["2026-01-01 09:55:00", "2026-01-01 10:00:00", "2026-01-01 10:05:00"] {
        ideadb::statistician::compute_window(s, t(w)).await.unwrap();
    }
    let row = window_row(&db, "2026-01-01 10:00:00").await;
    assert_eq!(row["interval"], "2026-01-01T10:00:00_2026-01-01T10:05:00");
    assert_eq!((row["count"].as_i64(), row["delta"].as_i64()), (Some(3), Some(300)));
    let u = "__unknown__";
    assert_eq!(
        row["overall"],
        json!({
            "cnt_events": 3, "cnt_alerts": 3, "cnt_recurring": 1, "cnt_unique": 2,
            "categories": {"Recon.Scanning": 2, "Abusive.Spam": 1, "Test": 1},
            "category_sets": {"Recon.Scanning": 2, "Abusive.Spam/Test": 1},
            "detectors": {"cz.cesnet.a": 2, "org.example.x": 1},
            "analyzers": {"Kippo": 2, u: 1},
            "detectorsws": {"cz.cesnet.a/Kippo": 2, "org.example.x": 1},
            "ips": {"192.0.2.1": 2, u: 1},
            "abuses": {"abuse@cesnet.cz": 2, u: 1},
            "asns": {"2852": 2, u: 1},
            "countries": {"CZ": 2, u: 1},
            "classes": {"recon-scanning": 2, u: 1},
            "severities": {"low": 2, u: 1},
        })
    );
    assert_eq!((row["internal"]["cnt_events"].as_i64(), row["internal"]["cnt_recurring"].as_i64()), (Some(2), Some(1)));
    assert_eq!(row["internal"]["ips"], json!({"192.0.2.1": 2}));
    assert_eq!((row["external"]["cnt_events"].as_i64(), row["external"]["cnt_unique"].as_i64()), (Some(1), Some(1)));
    assert_eq!(row["external"]["abuses"], json!({u: 1}));
    for (w, id_count) in [("2026-01-01 09:55:00", 1), ("2026-01-01 10:05:00", 1)] {
        assert_eq!(window_row(&db, w).await["count"], id_count, "{w}: the boundary event counts once");
    }
    // e4 and e5 have e1's fingerprint minus its sources: not recurring on it.
    assert_eq!(window_row(&db, "2026-01-01 10:05:00").await["overall"]["cnt_recurring"], 1, "e4 recurs on e5");

    // Recomputing changes nothing.
    let before = window_row(&db, "2026-01-01 10:00:00").await;
    ideadb::statistician::compute_window(s, t("2026-01-01 10:00:00")).await.unwrap();
    let after = window_row(&db, "2026-01-01 10:00:00").await;
    assert_eq!(before["overall"], after["overall"]);
    db.drop().await;
}

#[tokio::test]
async fn toplists_cut_at_100_addresses_and_the_timeline_agrees_with_the_totals() {
    let db = TestDb::new().await;
    let base = t("2026-02-01 00:00:00");
    let events: Vec<Value> = (0..600)
        .map(|i| {
            let stored = base + TimeDelta::seconds(i * 29);
            let ip = format!("198.51.{}.{}", i % 7, i % 150);
            msg(&format!("ip{i}"), &stored.format("%Y-%m-%d %H:%M:%S").to_string(), json!({"Source": [{"IP4": [ip]}]}))
        })
        .collect();
    db.load(&events).await;
    let end = base + TimeDelta::hours(6);
    ideadb::statistician::backfill(&db.store, base, end, &ProgressBar::hidden()).await.unwrap();
    let row = window_row(&db, "2026-02-01 00:00:00").await;
    assert!(row["overall"]["ips"].as_object().unwrap().len() <= 100);

    let (cfg, d) = ideadb::dashboard::dashboard(&db.store, base, end, chrono_tz::UTC).await.unwrap().unwrap();
    assert_eq!(d.count, 600);
    assert_eq!(cfg.count, d.groups[0].timeline.len());
    // Nothing here is internal (no abuse groups).
    assert_eq!(d.groups[1].total.cnt_events, 0);
    for view in [&d.groups[0], &d.groups[2]] {
        let ips = &view.total.aggs[&Agg::Ips];
        assert_eq!(ips.len(), 100, "99 addresses and __REST__");
        assert_eq!(ips.values().sum::<i64>(), view.total.cnt_events, "one address per event, none lost");
        for (agg, total) in &view.total.aggs {
            let mut summed: BTreeMap<String, i64> = BTreeMap::new();
            for (_, b) in &view.timeline {
                for (k, n) in b.aggs.get(agg).into_iter().flatten() {
                    assert!(total.contains_key(k), "{agg:?}: bucket key {k} is in the total");
                    *summed.entry(k.clone()).or_default() += n;
                }
            }
            assert_eq!(&summed, total, "{agg:?}: buckets sum to the total");
        }
        assert!(view.total.aggs[&Agg::Ips].contains_key(REST));
    }
    db.drop().await;
}

/// What the dashboard should show, computed from the messages alone: recurrence by direct
/// comparison, every event of the range counted, buckets by the configuration's starts.
fn direct(
    msgs: &[(NaiveDateTime, Value)],
    from: NaiveDateTime,
    to: NaiveDateTime,
    cfg: &TimelineCfg,
) -> Vec<(GroupStats, Vec<GroupStats>)> {
    let key = |m: &Value| {
        let d = EventDigest::new(String::new(), NaiveDateTime::default(), m);
        let set = |a: Agg| {
            let mut v = d.values[&a].clone();
            v.sort();
            v.dedup();
            v
        };
        (set(Agg::Detectors), set(Agg::Categories), set(Agg::Ips))
    };
    let starts = cfg.buckets();
    let mut out = vec![(GroupStats::default(), vec![GroupStats::default(); starts.len()]); 3];
    for (st, m) in msgs.iter().filter(|(st, _)| *st >= from && *st < to) {
        let k = key(m);
        let recurring = msgs.iter().any(|(st2, m2)| *st2 < *st && *st2 >= *st - TimeDelta::hours(24) && key(m2) == k);
        let d = EventDigest::new(String::new(), *st, m);
        let bucket = starts.partition_point(|s| s <= st) - 1;
        for g in [0, if d.internal() { 1 } else { 2 }] {
            out[g].0.include(&d.values, recurring);
            out[g].1[bucket].include(&d.values, recurring);
        }
    }
    out
}

#[tokio::test]
async fn the_dashboard_over_any_range_equals_statistics_computed_from_the_events() {
    let db = TestDb::new().await;
    let base = t("2026-03-01 00:00:00");
    // Generated events, re-stored over three days, with few enough distinct values that no
    // toplist cuts anything (so merging windows must give exactly the direct counts).
    let mut msgs: Vec<(NaiveDateTime, Value)> = Vec::new();
    for (i, mut m) in generated(900, 3, 5).into_iter().enumerate() {
        let stored = base + TimeDelta::seconds((i as i64 * 7919) % (3 * 86400));
        m["_CESNET"]["StorageTime"] = json!(iso(stored));
        let pool = ["192.0.2.1", "192.0.2.2", "198.51.100.9"];
        m["Source"] = json!([{"IP4": [pool[i % 2]]}, {"IP6": ["2001:db8::7"]}]);
        if i % 4 == 0 {
            m["Source"] = json!([{"IP4": [pool[2]]}]);
        }
        if let Some(o) = m["_CESNET"].as_object_mut() {
            o.remove("SourceResolvedASN");
        }
        msgs.push((stored, m));
    }
    db.load(&msgs.iter().map(|(_, m)| m.clone()).collect::<Vec<_>>()).await;
    ideadb::statistician::backfill(&db.store, base, base + TimeDelta::days(3), &ProgressBar::hidden()).await.unwrap();

    let prague: chrono_tz::Tz = "Europe/Prague".parse().unwrap();
    for (from, to, tz) in [
        (base, base + TimeDelta::days(3), chrono_tz::UTC),
        (base + TimeDelta::minutes(185), base + TimeDelta::minutes(2 * 1440 + 455), chrono_tz::UTC),
        (base + TimeDelta::minutes(185), base + TimeDelta::minutes(2 * 1440 + 455), prague),
        (base + TimeDelta::minutes(600), base + TimeDelta::minutes(660), chrono_tz::UTC),
        (base + TimeDelta::hours(5), base + TimeDelta::hours(29), prague),
        // Over three days: daily buckets, served by daily rollups (or hourly ones in Prague).
        (base - TimeDelta::days(1), base + TimeDelta::days(3), chrono_tz::UTC),
        (base - TimeDelta::days(1), base + TimeDelta::days(3), prague),
    ] {
        let (cfg, d) = ideadb::dashboard::dashboard(&db.store, from, to, tz).await.unwrap().unwrap();
        let want = direct(&msgs, cfg.dt_from, cfg.dt_to, &cfg);
        assert_eq!(d.count, want[0].0.cnt_events, "{from}..{to} {tz}");
        assert!(d.count > 0);
        for (g, (view, (total, buckets))) in d.groups.iter().zip(&want).enumerate() {
            assert_eq!(&view.total, total, "{from}..{to} {tz}: group {g} totals");
            let got: Vec<&GroupStats> = view.timeline.iter().map(|(_, s)| s).collect();
            assert_eq!(got, buckets.iter().collect::<Vec<_>>(), "{from}..{to} {tz}: group {g} timeline");
        }
    }
    db.drop().await;
}

#[tokio::test]
async fn a_window_computed_early_is_completed_by_its_recomputation() {
    let db = TestDb::new().await;
    let events: Vec<Value> =
        (0..6).map(|i| msg(&format!("r{i}"), &format!("2026-04-01 12:0{i}:30"), json!({}))).collect();
    db.load(&events[..2]).await;
    let w = t("2026-04-01 12:00:00");
    ideadb::statistician::compute_window(&db.store, w).await.unwrap();
    assert_eq!(window_row(&db, "2026-04-01 12:00:00").await["count"], 2);
    // The rest arrive (a restart mid-window); the window is computed again.
    db.load(&events[2..]).await;
    ideadb::statistician::compute_window(&db.store, w).await.unwrap();
    let row = window_row(&db, "2026-04-01 12:00:00").await;
    assert_eq!(row["count"], 5, "12:00:30 … 12:04:30");
    assert_eq!(row["overall"]["cnt_recurring"], 4, "each recurs on the one before, none twice");
    let c = db.sql().await;
    let n: i64 = c.query_one("SELECT count(*) FROM statistics_events", &[]).await.unwrap().get(0);
    assert_eq!(n, 1);
    db.drop().await;
}

#[tokio::test]
async fn the_server_computes_missed_windows_and_serves_the_dashboard() {
    let db = TestDb::new().await;
    let now = chrono::Utc::now().naive_utc();
    let events: Vec<Value> = (0..40)
        .map(|i| {
            let stored = now - TimeDelta::minutes(50) + TimeDelta::seconds(i * 60);
            msg(&format!("s{i}"), &stored.format("%Y-%m-%d %H:%M:%S").to_string(), json!({}))
        })
        .collect();
    db.load(&events).await;
    let key = account(&db, "analyst", &["user"], true).await;
    let servers = [Server::start(&db.url), Server::start(&db.url)];
    let from = iso(now - TimeDelta::hours(2));
    let path = format!("/api/events/dashboard?submit=1&dt_from={from}");
    let mut got = Value::Null;
    for _ in 0..100 {
        got = servers[1].get_json(&path, &key).await;
        if got["statistics"]["count"].as_i64() == Some(40) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(got["statistics"]["count"], 40, "{got}");
    let stats = &got["statistics"];
    assert_eq!(stats["stats_overall"]["cnt_recurring"], 39);
    assert_eq!(stats["stats_external"]["cnt_events"], 40);
    let timeline = stats["stats_overall"]["timeline"].as_array().unwrap();
    assert_eq!(timeline.len() as i64, stats["timeline_cfg"]["count"].as_i64().unwrap());
    let summed: i64 = timeline.iter().map(|b| b[1]["cnt_events"].as_i64().unwrap()).sum();
    assert_eq!(summed, 40);
    for k in [
        "items_count",
        "form_data",
        "query_params",
        "time_marks",
        "searched",
        "search_widget_item_limit",
        "view_icon",
        "view_title",
    ] {
        assert!(got.get(k).is_some(), "{k} missing: {got}");
    }
    let c = db.sql().await;
    let leaders: i64 = c
        .query_one(
            "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database \
             WHERE l.locktype = 'advisory' AND l.objid = $1::bigint::oid AND d.datname = current_database()",
            &[&0x1dea_db05_i64],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(leaders, 1, "one server leads");

    let bad = servers[0].get("/api/events/dashboard?submit=1&dt_from=tomorrow&tz=Mars/Base", &key).await;
    assert_eq!(bad.status(), 400);
    let body: Value = bad.json().await.unwrap();
    let fields: Vec<&str> = body["form_errors"].as_array().unwrap().iter().map(|e| e[0].as_str().unwrap()).collect();
    assert_eq!(fields, ["tz", "dt_from"]);
    for kind in ["timeline", "pie"] {
        let chart = servers[0]
            .get(&format!("/api/events/dashboard/chart.svg?aggr=detectors&kind={kind}&dt_from={from}"), &key)
            .await;
        assert_eq!(chart.status(), 200);
        assert_eq!(chart.headers()["content-type"], "image/svg+xml");
        let svg = chart.text().await.unwrap();
        assert!(svg.starts_with("<svg") && svg.contains("cz.cesnet.a"), "{kind}: {svg:.300}");
    }
    let bad = servers[0].get("/api/events/dashboard/chart.svg?aggr=colours", &key).await;
    assert!(crate::server::json_error(bad, 400).await.contains("aggr"));
    let unsubmitted = servers[0].get_json("/api/events/dashboard", &key).await;
    assert!(unsubmitted.get("statistics").is_none());
    drop(servers);
    db.drop().await;
}

#[tokio::test]
async fn a_window_counted_while_it_fills_equals_one_counted_at_once() {
    let db = TestDb::new().await;
    let from = t("2026-05-01 08:00:00");
    let mut msgs = generated(400, 1, 9);
    for (i, m) in msgs.iter_mut().enumerate() {
        let stored = from + TimeDelta::milliseconds(i as i64 * 749);
        m["_CESNET"]["StorageTime"] = json!(iso(stored));
        if i % 5 == 0 {
            // Repeats, some across the slices.
            m["Source"] = json!([{"IP4": ["192.0.2.99"]}]);
            m["Category"] = json!(["Recon.Scanning"]);
            m["Node"] = json!([{"Name": "cz.example.repeat"}]);
        }
    }
    db.load(&msgs).await;
    let mut live = ideadb::statistician::LiveWindow::new(from);
    for k in [30, 60, 95, 200, 201, 260] {
        live.advance(&db.store, from + TimeDelta::seconds(k)).await.unwrap();
    }
    assert_eq!(live.finish(&db.store).await.unwrap(), 400);
    let sliced = window_row(&db, "2026-05-01 08:00:00").await;
    assert!(sliced["overall"]["cnt_recurring"].as_i64().unwrap() >= 70, "{}", sliced["overall"]["cnt_recurring"]);
    ideadb::statistician::compute_window(&db.store, from).await.unwrap();
    let whole = window_row(&db, "2026-05-01 08:00:00").await;
    for k in ["count", "overall", "internal", "external"] {
        assert_eq!(sliced[k], whole[k], "{k}");
    }
    db.drop().await;
}

#[tokio::test]
async fn a_backfill_over_years_visits_only_the_windows_that_hold_events() {
    let db = TestDb::new().await;
    let stored = ["2012-03-04 05:06:07", "2012-03-04 05:09:59", "2016-07-01 00:00:00", "2021-12-31 23:59:59"];
    let events: Vec<Value> = stored.iter().enumerate().map(|(i, s)| msg(&format!("y{i}"), s, json!({}))).collect();
    db.load(&events).await;
    let bar = ProgressBar::hidden();
    let (from, to) = (t("2012-01-01 00:00:00"), t("2022-01-01 00:00:00"));
    let n = ideadb::statistician::backfill(&db.store, from, to, &bar).await.unwrap();
    assert_eq!(n, 4);
    assert_eq!(bar.length(), Some(3), "three windows hold events; the 1,051,917 others are skipped");
    let c = db.sql().await;
    let rows = |sql: &'static str| {
        let c = &c;
        async move {
            let r = c.query(sql, &[]).await.unwrap();
            r.iter().map(|r| (r.get::<_, i32>(0), r.get::<_, NaiveDateTime>(1), r.get::<_, i32>(2))).collect::<Vec<_>>()
        }
    };
    let windows = "SELECT delta, dt_from, count FROM statistics_events ORDER BY dt_from";
    assert_eq!(
        rows(windows).await,
        [(300, t("2012-03-04 05:05:00"), 2), (300, t("2016-07-01 00:00:00"), 1), (300, t("2021-12-31 23:55:00"), 1)]
    );
    let rollups = "SELECT delta, dt_from, count FROM statistics_rollups ORDER BY delta, dt_from";
    assert_eq!(
        rows(rollups).await,
        [
            (3600, t("2012-03-04 05:00:00"), 2),
            (3600, t("2016-07-01 00:00:00"), 1),
            (3600, t("2021-12-31 23:00:00"), 1),
            (86400, t("2012-03-04 00:00:00"), 2),
            (86400, t("2016-07-01 00:00:00"), 1),
            (86400, t("2021-12-31 00:00:00"), 1),
        ]
    );
    // A dashboard over the quiet years between reads the missing rows as zero.
    let (cfg, d) = ideadb::dashboard::dashboard(&db.store, from, to, chrono_tz::UTC).await.unwrap().unwrap();
    assert_eq!(d.count, 4);
    let per_bucket: i64 = d.groups[0].timeline.iter().map(|(_, s)| s.cnt_events).sum();
    assert_eq!((per_bucket, d.groups[0].timeline.len()), (4, cfg.count));

    // A window whose events are gone loses its row, and so do its hour and day; recounting
    // the range leaves the rest as they were.
    c.execute("DELETE FROM events WHERE id = 'y2'", &[]).await.unwrap();
    let n = ideadb::statistician::backfill(&db.store, from, to, &bar).await.unwrap();
    assert_eq!(n, 3);
    let w = rows(windows).await;
    assert_eq!(w.iter().map(|r| r.1).collect::<Vec<_>>(), [t("2012-03-04 05:05:00"), t("2021-12-31 23:55:00")]);
    assert_eq!(rows(rollups).await.len(), 4);
    // Computing an empty window stores nothing either.
    assert_eq!(ideadb::statistician::compute_window(&db.store, t("2016-07-01 00:00:00")).await.unwrap(), 0);
    assert_eq!(rows(windows).await.len(), 2);
    db.drop().await;
}

/// Runs `ideadb stats` over `[from, to)` and returns its peak memory (KiB), read from the
/// process while it runs (its `ru_maxrss` would count this test's own memory, which the
/// child shares until it execs).
fn stats_peak_kib(db: &TestDb, from: &str, to: &str) -> u64 {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_ideadb"))
        .args(["stats", "--from", from, "--to", to])
        .env("DATABASE_URL", &db.url)
        .spawn()
        .unwrap();
    let mut peak = 0;
    loop {
        // The high-water mark only grows, so its last reading before the exit is the peak.
        peak = peak.max(crate::server::status_kib(child.id(), "VmHWM:").unwrap_or(0));
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "ideadb stats failed: {status}");
            return peak;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

#[tokio::test]
async fn a_dense_window_is_counted_a_page_at_a_time_in_little_memory() {
    let db = TestDb::new().await;
    let from = t("2026-05-02 08:00:00");
    // One window of 30,000 events with long messages, stored in pairs at the same instant so
    // that pages end between events of the same storage time. All alike: each recurs, except
    // the first pair (recurrence needs an event stored strictly before).
    let note = "a scanner's banner, repeated: SSH-2.0-OpenSSH_8.9p1 ".repeat(40);
    let msgs: Vec<Value> = (0..30_000)
        .map(|i| {
            let stored = from + TimeDelta::milliseconds(i / 2 * 19);
            msg(&format!("dense-{i:05}"), &stored.format("%Y-%m-%d %H:%M:%S%.3f").to_string(), json!({"Note": note}))
        })
        .collect();
    let raw: usize = msgs.iter().map(|m| serde_json::to_vec(m).unwrap().len()).sum();
    db.load(&msgs).await;
    drop(msgs);
    let idle = stats_peak_kib(&db, "2026-05-02 07:00:00", "2026-05-02 07:05:00");
    let dense = stats_peak_kib(&db, "2026-05-02 08:00:00", "2026-05-02 08:05:00");
    println!("ideadb stats: peak {idle} KiB over no event, {dense} KiB over {raw} bytes of messages");
    let row = window_row(&db, "2026-05-02 08:00:00").await;
    assert_eq!(row["count"], 30_000);
    assert_eq!(row["overall"]["cnt_recurring"], 29_998, "every event but the first pair recurs");
    // A page at a time it grew by a quarter of the messages' size (17 MiB of 66). Read whole
    // (an hour of windows in one query), the window outlasted the 30 s statement timeout and
    // could not be counted at all.
    assert!(((dense - idle) * 1024) < raw as u64 / 2, "{idle} KiB idle, {dense} KiB dense, {raw} bytes of messages");
    db.drop().await;
}
