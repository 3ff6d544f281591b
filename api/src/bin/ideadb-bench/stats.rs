//! The statistician and the dashboard: backfills, a live window, dashboard reads.

use super::ingest::ingest;
use super::{gen, migrated_db, psql, timed, url, Stats};
use anyhow::ensure;
use chrono::{NaiveDateTime, TimeDelta, Utc};
use ideadb::stats::timeline::WINDOW;
use ideadb::storage::{EventStore, StoreConfig};
use std::path::Path;
use std::time::Instant;

/// The statistician and the dashboard: a backfill of every window of the data set, one dense
/// live window (100 events/s for 5 minutes), and dashboard reads over a day, 30 days and a
/// year (the 30 days of statistics repeated back over the year before them).
pub(crate) async fn statistics(admin: &str, bin: &Path, db: &str, work: &Path, runs: usize) -> anyhow::Result<()> {
    use ideadb::statistician;
    let main_url = url(admin, db);
    let store = EventStore::new(&StoreConfig::new(main_url.clone()))?;
    store.migrate().await?;
    let (c, conn) = tokio_postgres::connect(&main_url, tokio_postgres::NoTls).await?;
    tokio::spawn(conn);
    let row = c.query_one("SELECT min(cesnet_storagetime), max(cesnet_storagetime), count(*) FROM events", &[]).await?;
    let (first, last, total): (NaiveDateTime, NaiveDateTime, i64) = (row.get(0), row.get(1), row.get(2));
    println!("\n## Statistics (issue 4) on {total} events\n");
    c.batch_execute("TRUNCATE statistics_events, statistics_rollups, statistics_seen").await?;
    let t = Instant::now();
    let events =
        statistician::backfill(&store, first, last + TimeDelta::seconds(1), &indicatif::ProgressBar::hidden()).await?;
    let secs = t.elapsed().as_secs_f64();
    println!(
        "backfill of every window ({events} events, {:.0} days): {secs:.1} s (target ≤ 150 s)",
        (last - first).num_hours() as f64 / 24.0
    );

    sparse_backfill(admin, bin, &store, work).await?;

    // One live window: 30,000 events stored within five minutes, in a database of their own.
    let live_db = "ideadb_bench_live";
    let live_url = url(admin, live_db);
    let data = work.join("live.ndjson");
    gen(bin, &data, 30_000, 1)?;
    let window = ideadb::stats::timeline::floor(Utc::now().naive_utc(), WINDOW) - TimeDelta::minutes(10);
    let text = std::fs::read_to_string(&data)?;
    let mut lines = String::with_capacity(text.len() + 60 * 30_000);
    for (i, line) in text.lines().enumerate() {
        let mut v: serde_json::Value = serde_json::from_str(line)?;
        let at = window + TimeDelta::milliseconds(i as i64 * 10);
        v["_CESNET"]["StorageTime"] = serde_json::json!(at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string());
        lines.push_str(&serde_json::to_string(&v)?);
        lines.push('\n');
    }
    std::fs::write(&data, lines)?;
    ingest(bin, &migrated_db(admin, bin, live_db)?, &data)?;
    std::fs::remove_file(&data).ok();
    let live = EventStore::new(&StoreConfig::new(live_url))?;
    let mut whole = Vec::new();
    let mut tail = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let n = statistician::compute_window(&live, window).await?;
        ensure!(n == 30_000, "the live window holds {n} events");
        whole.push(t.elapsed().as_secs_f64() * 1000.0);
        // As the leader counts it: every half minute while it fills; the window's end then
        // leaves its last half minute (the worst case) to read.
        let mut w = statistician::LiveWindow::new(window);
        for k in 1..10 {
            w.advance(&live, window + TimeDelta::seconds(30 * k)).await?;
        }
        let t = Instant::now();
        w.finish(&live).await?;
        tail.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let (whole, tail) = (Stats(whole), Stats(tail));
    println!(
        "one live window of 30,000 events (100/s), counted while it fills: {:.0} ms p50, {:.0} ms max from its end to its row (target ≤ 200 ms); counted in one go: {:.0} ms p50",
        tail.pct(0.5),
        tail.pct(1.0),
        whole.pct(0.5)
    );

    // A year: the 30 days of statistics repeated over the eleven 30-day spans before them.
    let since = first.format("%Y-%m-%d %H:%M:%S");
    for k in 1..=12 {
        let shift = format!("interval '{} days'", 30 * k);
        let fmt = "'YYYY-MM-DD\"T\"HH24:MI:SS'";
        c.batch_execute(&format!(
            "INSERT INTO statistics_events (interval, dt_from, dt_to, delta, count, stats_overall, stats_internal, stats_external) \
             SELECT to_char(dt_from - {shift}, {fmt}) || '_' || to_char(dt_to - {shift}, {fmt}), dt_from - {shift}, \
                    dt_to - {shift}, delta, count, stats_overall, stats_internal, stats_external \
             FROM statistics_events WHERE dt_from >= '{since}' ON CONFLICT DO NOTHING; \
             INSERT INTO statistics_rollups SELECT delta, dt_from - {shift}, dt_to - {shift}, windows, count, \
                    stats_overall, stats_internal, stats_external \
             FROM statistics_rollups WHERE dt_from >= '{since}' ON CONFLICT DO NOTHING"
        ))
        .await?;
    }
    c.batch_execute("VACUUM ANALYZE statistics_events, statistics_rollups").await?;
    let midnight = last.date().and_hms_opt(0, 0, 0).expect("midnight");
    println!("\n| dashboard | p50 | p95 | runs | target p95 |\n|---|---|---|---|---|");
    for (name, from, to, target) in [
        ("1 day (previous midnight to now)", midnight, last, 50.0),
        ("30 days", last - TimeDelta::days(30), last, 150.0),
        ("365 days", last - TimeDelta::days(365), last, 500.0),
    ] {
        let s = timed(runs.min(100), |_| {
            let store = &store;
            async move {
                let d = ideadb::dashboard::dashboard(store, from, to, chrono_tz::UTC).await?;
                ensure!(d.is_some_and(|(_, d)| d.count > 0), "an empty dashboard");
                Ok(())
            }
        })
        .await?;
        println!("| {name} | {:.1} | {:.1} | {} | {target} ms |", s.pct(0.5), s.pct(0.95), s.0.len());
    }
    Ok(())
}

/// Backfill over ten years holding only the corpus (its messages stored one every 27 days
/// from 2012 on), against the cost of visiting every window as the statistician did before
/// (an empty window counted and stored, measured here on 2,000 of them).
async fn sparse_backfill(admin: &str, bin: &Path, store: &EventStore, work: &Path) -> anyhow::Result<()> {
    use ideadb::statistician;
    let db = "ideadb_bench_sparse";
    let start = NaiveDateTime::parse_from_str("2012-01-01 00:00:00", "%Y-%m-%d %H:%M:%S")?;
    let end = NaiveDateTime::parse_from_str("2022-01-01 00:00:00", "%Y-%m-%d %H:%M:%S")?;
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/idea-corpus/valid");
    let mut lines = String::new();
    let mut files: Vec<_> = std::fs::read_dir(&corpus)?.filter_map(|e| e.ok().map(|e| e.path())).collect();
    files.sort();
    for (i, f) in files.iter().enumerate() {
        let Ok(mut v) = serde_json::from_slice::<serde_json::Value>(&std::fs::read(f)?) else { continue };
        let Some(o) = v.as_object_mut() else { continue };
        let at = start + TimeDelta::days(27 * i as i64);
        o.remove("_Mentat");
        o.insert("_CESNET".into(), serde_json::json!({"StorageTime": at.format("%Y-%m-%dT%H:%M:%SZ").to_string()}));
        lines.push_str(&serde_json::to_string(&v)?);
        lines.push('\n');
    }
    let data = work.join("sparse.ndjson");
    std::fs::write(&data, lines)?;
    let url = migrated_db(admin, bin, db)?;
    ingest(bin, &url, &data)?;
    std::fs::remove_file(&data).ok();
    let sparse = EventStore::new(&StoreConfig::new(url))?;
    let t = Instant::now();
    let bar = indicatif::ProgressBar::hidden();
    let events = statistician::backfill(&sparse, start, end, &bar).await?;
    let took = t.elapsed().as_secs_f64();
    let windows = (end - start).num_seconds() / WINDOW;
    let probe = 2_000;
    let quiet = start - TimeDelta::days(30);
    let t = Instant::now();
    for k in 0..probe {
        statistician::compute_window(store, quiet + TimeDelta::seconds(WINDOW * k)).await?;
    }
    let per_window = t.elapsed().as_secs_f64() / probe as f64;
    println!(
        "backfill 2012-01-01 → 2022-01-01 over the corpus ({events} events in {} windows of {windows}): {took:.2} s \
         (target ≤ 5 s); visiting every window ({:.2} ms each, measured on {probe}) would take {:.0} s: {:.0}x",
        bar.length().unwrap_or(0),
        per_window * 1000.0,
        per_window * windows as f64,
        per_window * windows as f64 / took
    );
    psql(admin, &format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))?;
    Ok(())
}
