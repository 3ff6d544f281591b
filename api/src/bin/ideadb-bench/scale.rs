//! The scale run of issue 12: tens of millions of events over a year of partitions.

use super::{migrated_db, peak_kib, psql, timed};
use anyhow::{ensure, Context};
use chrono::{NaiveDateTime, TimeDelta};
use ideadb::idea::IpRange;
use ideadb::storage::{Cursor, EventStore, SearchParams, SortBy, StoreConfig, Values};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Lines per progress mark of the scale run.
const MARK: u64 = 1_000_000;
/// The stretch whose ingest rate is compared at the start and the end of the scale run.
const STRETCH: u64 = 3_000_000;

/// Issue 12's scale run: `events` over `days` of storage time (a partition a week) streamed
/// from `ideadb gen` through this process into `ideadb ingest`, which marks when each
/// million was handed over; then the ingest rate of the first and the last 3,000,000, the
/// peak RSS of ingest, bytes per event, the searches, and retention of the oldest month.
pub(crate) async fn scale(admin: &str, bin: &Path, events: u64, days: u32, runs: usize) -> anyhow::Result<()> {
    use std::io::Write;
    ensure!(
        events >= 2 * STRETCH && events.is_multiple_of(MARK),
        "--scale-events: a multiple of 1,000,000, at least 6,000,000"
    );
    let db = "ideadb_bench_scale";
    let url = migrated_db(admin, bin, db)?;
    let mut gen = Command::new(bin)
        .args(["gen", "--count", &events.to_string(), "--days", &days.to_string(), "--seed", "1"])
        .stdout(Stdio::piped())
        .spawn()?;
    let mut ingest = Command::new(bin)
        .args(["ingest", "--keep-storage-time", "-"])
        .env("DATABASE_URL", &url)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()?;
    let (src, dst) = (gen.stdout.take().context("gen's output")?, ingest.stdin.take().context("ingest's input")?);
    let t0 = Instant::now();
    let copier = std::thread::spawn(move || -> std::io::Result<Vec<f64>> {
        let (mut r, mut w) = (BufReader::with_capacity(1 << 20, src), std::io::BufWriter::with_capacity(1 << 20, dst));
        let (mut line, mut n, mut marks) = (Vec::new(), 0u64, Vec::new());
        while r.read_until(b'\n', &mut line)? > 0 {
            w.write_all(&line)?;
            line.clear();
            n += 1;
            if n % MARK == 0 {
                marks.push(t0.elapsed().as_secs_f64());
                eprintln!("scale: {n} events handed to ingest after {:.0} s", t0.elapsed().as_secs_f64());
            }
        }
        w.flush()?;
        Ok(marks)
    });
    let mut peak = 0;
    let done = loop {
        peak = peak.max(peak_kib(ingest.id()).unwrap_or(0));
        if let Some(st) = ingest.try_wait()? {
            break st;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let took = t0.elapsed().as_secs_f64();
    let marks = copier.join().map_err(|_| anyhow::anyhow!("the copier panicked"))??;
    ensure!(gen.wait()?.success() && done.success(), "generating or ingesting failed");
    let at = |n: u64| marks[(n / MARK - 1) as usize];
    let first = STRETCH as f64 / at(STRETCH);
    let last = STRETCH as f64 / (took - at(events - STRETCH));
    println!("\n## Scale: {events} events over {days} days of storage time\n");
    println!(
        "ingest: {:.0} events/s overall ({took:.0} s), peak RSS {:.0} MB",
        events as f64 / took,
        peak as f64 / 1024.0
    );
    println!(
        "first {STRETCH}: {first:.0} events/s; last {STRETCH}: {last:.0} events/s ({:.0}% of the first)",
        100.0 * last / first
    );

    let t = Instant::now();
    psql(&url, "VACUUM ANALYZE")?;
    println!("vacuum and analyse: {:.0} s", t.elapsed().as_secs_f64());
    let st = EventStore::new(&StoreConfig::new(url.clone()))?.database_status(true).await?;
    println!(
        "bytes per event: {:.0}; partitions: {}; database {:.1} GB",
        st.bytes_per_event.unwrap_or(0.0),
        st.partitions.len(),
        st.database_bytes as f64 / 1e9
    );
    restart_server()?;
    let store = EventStore::new(&StoreConfig::new(url.clone()))?;
    scale_searches(&store, &url, runs).await?;

    let oldest = store.partitions().await?.first().map(|p| p.from).context("no partitions")?;
    let newest =
        store.search_column_with(ideadb::storage::TimeColumn::StorageTime, true).await?.context("no events")?;
    let keep = newest - (oldest + TimeDelta::days(30));
    let t = Instant::now();
    let gone = ideadb::retention::expire_events(&store, keep, newest, false).await?;
    println!(
        "retention of the oldest month: {} events ({} weeks dropped whole) in {:.1} s",
        gone.events,
        gone.weeks,
        t.elapsed().as_secs_f64()
    );
    psql(admin, &format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))?;
    Ok(())
}

/// Restarts PostgreSQL with its caches empty through `IDEADB_BENCH_RESTART` (a shell
/// command; `make bench` sets it), so the searches' first pass reads from disk.
fn restart_server() -> anyhow::Result<()> {
    let Ok(cmd) = std::env::var("IDEADB_BENCH_RESTART") else {
        println!("no restart before the searches: IDEADB_BENCH_RESTART is not set");
        return Ok(());
    };
    ensure!(Command::new("sh").args(["-c", &cmd]).stdout(Stdio::null()).status()?.success(), "{cmd} failed");
    println!("PostgreSQL restarted and the page cache emptied before the searches");
    Ok(())
}

/// A search shape: its name, its parameters for run i, and whether it counts.
type Shape<'a> = (&'static str, Box<dyn Fn(usize) -> SearchParams + 'a>, bool);

/// The search shapes of the storage benchmark on the scale database: warm p50/p95, and
/// the planning time of each as PostgreSQL reports it.
async fn scale_searches(store: &EventStore, url: &str, runs: usize) -> anyhow::Result<()> {
    let (c, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
    tokio::spawn(conn);
    let newest: NaiveDateTime = c.query_one("SELECT max(detecttime) FROM events", &[]).await?.get(0);
    let sample: Vec<u32> = c
        .query("SELECT v4 FROM events_addr TABLESAMPLE SYSTEM (0.01) WHERE v4 IS NOT NULL AND dir = 's' LIMIT 500", &[])
        .await?
        .iter()
        .map(|r| r.get::<_, i64>(0) as u32)
        .collect();
    ensure!(!sample.is_empty(), "no sampled addresses");
    let a4 = |i: usize| std::net::Ipv4Addr::from(sample[i % sample.len()]).to_string();
    let week = newest - TimeDelta::days(7);
    let latest = SortBy::parse("time.desc");
    let own = ideadb::gen::CONSTITUENCY;
    let shapes: Vec<Shape<'_>> = vec![
        (
            "latest 100 in 7 days",
            Box::new(move |_| SearchParams {
                dt_from: Some(week),
                sortby: latest,
                limit: Some(100),
                ..Default::default()
            }),
            false,
        ),
        (
            "source /24 + 7 days",
            Box::new(move |i| SearchParams {
                source_addrs: vec![IpRange::parse(&format!("{}/24", a4(i))).unwrap()],
                dt_from: Some(week),
                sortby: latest,
                limit: Some(100),
                ..Default::default()
            }),
            false,
        ),
        (
            "one address over all time",
            Box::new(move |i| SearchParams {
                source_addrs: vec![IpRange::parse(&a4(i)).unwrap()],
                sortby: latest,
                limit: Some(100),
                ..Default::default()
            }),
            false,
        ),
        (
            "category + detector + 7 days",
            Box::new(move |_| SearchParams {
                categories: Values::of(["Attempt.Login"]),
                detectors: Values::of(["cz.cesnet.kippo"]),
                dt_from: Some(week),
                sortby: latest,
                limit: Some(100),
                ..Default::default()
            }),
            false,
        ),
        (
            "count of a target /16 in 1 day",
            Box::new(move |i| {
                let from = newest - TimeDelta::days(1 + (i % 20) as i64);
                SearchParams {
                    target_addrs: vec![
                        IpRange::parse(&format!("{}/16", std::net::Ipv4Addr::from(own[i % own.len()]))).unwrap()
                    ],
                    dt_from: Some(from),
                    dt_to: Some(from + TimeDelta::days(1)),
                    ..Default::default()
                }
            }),
            true,
        ),
    ];
    let deep = c
        .query_one("SELECT detecttime, id FROM events ORDER BY detecttime DESC, id DESC OFFSET 100000 LIMIT 1", &[])
        .await?;
    let deep = Cursor { time: deep.get(0), id: deep.get(1) };
    let mut shapes = shapes;
    shapes.push((
        "a page 100,000 deep (cursor)",
        Box::new(move |_| SearchParams {
            sortby: latest,
            limit: Some(100),
            after: Some(deep.clone()),
            ..Default::default()
        }),
        false,
    ));
    println!("\n| query | first pass p50 / p95 ms | warm p50 / p95 ms | planning ms |\n|---|---|---|---|");
    for (name, params, count) in &shapes {
        let plan: String = {
            let sql = store
                .mogrify(
                    &params(0),
                    if *count { ideadb::storage::QueryKind::Count } else { ideadb::storage::QueryKind::Select },
                )
                .await?;
            let rows = c.query(&format!("EXPLAIN (ANALYZE, SUMMARY) {sql}"), &[]).await?;
            rows.iter().map(|r| r.get::<_, String>(0)).find(|l| l.starts_with("Planning Time")).unwrap_or_default()
        };
        // The same runs twice: the first reads their pages from disk (after the restart), the
        // second finds them cached.
        let mut passes = Vec::new();
        for _ in 0..2 {
            let s = timed(runs, |i| {
                let p = params(i);
                async move {
                    if *count {
                        store.count_events(&p).await?;
                    } else {
                        store.search_events(&p).await?;
                    }
                    Ok(())
                }
            })
            .await?;
            passes.push(format!("{:.1} / {:.1}", s.pct(0.5), s.pct(0.95)));
        }
        let planning = plan.split_whitespace().nth(2).unwrap_or("?");
        println!("| {name} | {} | {} | {planning} |", passes[0], passes[1]);
    }
    let one_address = &shapes.iter().find(|s| s.0 == "one address over all time").context("the shape")?.1;
    by_id_baseline(&c, one_address, runs).await
}

/// "One address over all time" as its SQL text (values inlined), and in the forms that
/// searches used before session 11: through `events`, each match looked up by ID and storage
/// time (session 11's first step), and by ID alone in every partition. The baselines of the
/// page from the address tables, measured on the same data.
async fn by_id_baseline(
    c: &tokio_postgres::Client,
    params: &dyn Fn(usize) -> SearchParams,
    runs: usize,
) -> anyhow::Result<()> {
    #[derive(Clone, Copy)]
    enum Form {
        Page,
        ThroughEvents,
        ById,
    }
    let (prefix, end) = ("(events.id, events.cesnet_storagetime) IN (SELECT c.id, c.storagetime FROM (", ") c)");
    let sql_of = |i: usize, form: Form| -> anyhow::Result<String> {
        let p = params(i);
        let through = || p.select_through_events().to_string(sea_query::PostgresQueryBuilder);
        Ok(match form {
            Form::Page => p.select(ideadb::storage::QueryKind::Select).to_string(sea_query::PostgresQueryBuilder),
            Form::ThroughEvents => through(),
            Form::ById => {
                let sql = through();
                ensure!(sql.matches(prefix).count() == 1 && sql.matches(end).count() == 1, "{sql}");
                sql.replace(prefix, "events.id = ANY(ARRAY(SELECT c.id FROM (").replace(end, ") c))")
            }
        })
    };
    println!("\n| one address over all time, SQL text | p50 ms | p95 ms |\n|---|---|---|");
    for (name, form) in [
        ("a page from the address tables, each message a subquery (now)", Form::Page),
        ("through events, by ID and storage time", Form::ThroughEvents),
        ("through events, by ID alone in every partition (before)", Form::ById),
    ] {
        // Built before the clock starts, so the three rows time the database alone.
        let sqls = (0..=runs).map(|i| sql_of(i, form)).collect::<anyhow::Result<Vec<_>>>()?;
        let s = timed(runs, |i| {
            let sql = &sqls[i];
            async move {
                c.simple_query(sql).await?;
                Ok(())
            }
        })
        .await?;
        println!("| {name} | {:.1} | {:.1} |", s.pct(0.5), s.pct(0.95));
    }
    Ok(())
}
