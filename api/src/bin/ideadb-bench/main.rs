//! The storage benchmark of BENCHMARKS.md: ingest and search on generated events, each
//! side by side with Mentat's access path measured in the same run.
//!
//! `make bench` (BENCH_ARGS="--events 3000000 --days 30 --runs 200").

mod import;
mod load;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{ensure, Context};
use chrono::{NaiveDateTime, TimeDelta, Utc};
use clap::Parser;
use ideadb::idea::{self, IpRange};
use ideadb::stats::timeline::WINDOW;
use ideadb::storage::{Cursor, EventStore, Hostname, SearchParams, SortBy, StoreConfig, Values};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

#[derive(Parser)]
struct Args {
    #[arg(long, default_value_t = 3_000_000)]
    events: u64,
    #[arg(long, default_value_t = 30)]
    days: u32,
    /// Events for the side-by-side ingest of both access paths into empty databases.
    #[arg(long, default_value_t = 100_000)]
    compare_events: u64,
    #[arg(long, default_value_t = 200)]
    runs: usize,
    /// Reuse an already loaded benchmark database (skips generation and ingest).
    #[arg(long)]
    reuse: bool,
    /// Run only these parts: ingest (generation and every ingest), or with --reuse: search,
    /// api, stats; size (bytes per event) runs on its own data.
    #[arg(long, value_delimiter = ',')]
    only: Vec<Part>,
    /// Events of the scale run (`--only scale`), streamed from `ideadb gen` into ingest.
    #[arg(long, default_value_t = 30_000_000)]
    scale_events: u64,
    /// Days of storage time the scale run spans (a year of partitions).
    #[arg(long, default_value_t = 365)]
    scale_days: u32,
    /// Seconds of the load run (`--only load`, on the benchmark database).
    #[arg(long, default_value_t = 600)]
    load_secs: u64,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Part {
    Ingest,
    Search,
    Api,
    Stats,
    Size,
    Scale,
    Load,
    Import,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let admin = std::env::var("IDEADB_BENCH_ADMIN_URL").context("IDEADB_BENCH_ADMIN_URL (set by `make bench`)")?;
    let bin = std::env::current_exe()?.with_file_name("ideadb");
    ensure!(bin.exists(), "build the ideadb binary first ({})", bin.display());
    let end = Utc::now().naive_utc();
    let work = std::env::temp_dir().join("ideadb-bench");
    std::fs::create_dir_all(&work)?;
    machine();

    let main_db = "ideadb_bench";
    let runs = |p: Part| args.only.is_empty() || args.only.contains(&p);
    if !args.reuse && runs(Part::Ingest) {
        let data = work.join("events.ndjson");
        let t = Instant::now();
        gen(&bin, &data, args.events, args.days)?;
        println!("generated {} events in {:.1} s", args.events, t.elapsed().as_secs_f64());
        compare_ingest(&admin, &bin, &work, args.compare_events, args.days).await?;
        println!("\n## Ingest, full data set ({} events over {} days, full index set)", args.events, args.days);
        // The heaps and primary keys alone (Mentat's index_drop): the ceiling of any index design.
        let bare_url = migrated_db(&admin, &bin, "ideadb_bench_bare")?;
        EventStore::new(&StoreConfig::new(bare_url.clone()))?.index_drop().await?;
        let (bare, _) = ingest(&bin, &bare_url, &data)?;
        psql(&admin, "DROP DATABASE IF EXISTS ideadb_bench_bare WITH (FORCE)")?;
        let (secs, rss) = ingest(&bin, &migrated_db(&admin, &bin, main_db)?, &data)?;
        let rate = |s: f64| args.events as f64 / s;
        println!("ours: {:.0} events/s sustained ({secs:.1} s), peak RSS {rss:.0} MB", rate(secs));
        println!(
            "the same with primary keys only (no secondary index on any table): {:.0} events/s ({bare:.1} s); \
             the full index set runs at {:.0}% of that",
            rate(bare),
            100.0 * bare / secs
        );
        std::fs::remove_file(&data).ok();
    }
    if runs(Part::Search) {
        search(&admin, main_db, end, args.days, args.runs).await?;
    }
    if runs(Part::Api) {
        api(&admin, &bin, main_db, args.runs).await?;
    }
    if runs(Part::Stats) {
        statistics(&admin, &bin, main_db, &work, args.runs).await?;
    }
    if runs(Part::Size) {
        size(&admin, &bin).await?;
    }
    // Only when asked: it loads a Mentat database first, by Mentat's slow path.
    if args.only.contains(&Part::Import) {
        import::import(&admin, &bin, &work, args.compare_events, args.days).await?;
    }
    // Only when asked: ten minutes of load, ingesting into the benchmark database.
    if args.only.contains(&Part::Load) {
        load::load(&admin, &bin, main_db, &work, args.load_secs).await?;
    }
    // Only when asked: it takes the better part of an hour and most of the disk.
    if args.only.contains(&Part::Scale) {
        scale(&admin, &bin, args.scale_events, args.scale_days, args.runs).await?;
    }
    Ok(())
}

fn machine() {
    let cpu = std::fs::read_to_string("/proc/cpuinfo").ok().and_then(|c| {
        c.lines().find(|l| l.starts_with("model name")).map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
    });
    let mem = std::fs::read_to_string("/proc/meminfo").ok().and_then(|m| m.lines().next().map(str::to_string));
    println!(
        "# machine: {} cores, {}, {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        cpu.unwrap_or_default(),
        mem.unwrap_or_default()
    );
}

fn url(admin: &str, db: &str) -> String {
    format!("{}/{db}", admin.rsplit_once('/').map_or(admin, |(b, _)| b))
}

fn psql(admin: &str, sql: &str) -> anyhow::Result<()> {
    let st = Command::new("psql").args([admin, "-qc", sql]).status()?;
    ensure!(st.success(), "psql failed: {sql}");
    Ok(())
}

fn fresh_db(admin: &str, db: &str) -> anyhow::Result<String> {
    psql(admin, &format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))?;
    psql(admin, &format!("CREATE DATABASE {db}"))?;
    Ok(url(admin, db))
}

fn gen(bin: &Path, out: &Path, count: u64, days: u32) -> anyhow::Result<()> {
    let f = std::fs::File::create(out)?;
    let st = Command::new(bin)
        .args(["gen", "--count", &count.to_string(), "--days", &days.to_string(), "--seed", "1"])
        .stdout(f)
        .status()?;
    ensure!(st.success(), "gen failed");
    Ok(())
}

/// A fresh database with the schema and full index set; returns its URL.
fn migrated_db(admin: &str, bin: &Path, db: &str) -> anyhow::Result<String> {
    let url = fresh_db(admin, db)?;
    let st = Command::new(bin).args(["migrate"]).env("DATABASE_URL", &url).output()?;
    ensure!(st.status.success(), "migrate: {}", String::from_utf8_lossy(&st.stderr));
    Ok(url)
}

/// The peak resident memory of a process so far, in KiB.
fn peak_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find(|l| l.starts_with("VmHWM:"))?.split_whitespace().nth(1)?.parse().ok()
}

/// Runs `ideadb ingest` into `url`; returns seconds and peak RSS in MB.
fn ingest(bin: &Path, url: &str, data: &Path) -> anyhow::Result<(f64, f64)> {
    let t = Instant::now();
    let mut child = Command::new(bin)
        .args(["ingest", "--keep-storage-time", data.to_str().unwrap()])
        .env("DATABASE_URL", url)
        .spawn()?;
    let mut peak_kb = 0u64;
    loop {
        if let Some(kb) = peak_kib(child.id()) {
            peak_kb = peak_kb.max(kb);
        }
        if let Some(st) = child.try_wait()? {
            ensure!(st.success(), "ingest failed");
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok((t.elapsed().as_secs_f64(), peak_kb as f64 / 1024.0))
}

/// Both access paths into empty databases with the same schema and indexes.
async fn compare_ingest(admin: &str, bin: &Path, work: &Path, n: u64, days: u32) -> anyhow::Result<()> {
    let data: PathBuf = work.join("compare.ndjson");
    gen(bin, &data, n, days)?;
    println!("\n## Ingest, side by side ({n} events into an empty database, full index set)");
    let (ours, rss) = ingest(bin, &migrated_db(admin, bin, "ideadb_bench_cmp")?, &data)?;
    let ours_rate = n as f64 / ours;
    println!("ours (validate + binary COPY, 2 writers): {ours_rate:.0} events/s, peak RSS {rss:.0} MB");

    // Mentat's two tables, unpartitioned: the layout of schema version 9.
    let url = fresh_db(admin, "ideadb_bench_cmp")?;
    let store = EventStore::new(&StoreConfig::new(url.clone()))?;
    store.migrate_to(9).await?;
    let text = std::fs::read_to_string(&data)?;
    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await?;
    tokio::spawn(conn);
    let t = Instant::now();
    mentat_insert(&client, &text).await?;
    let mentat = t.elapsed().as_secs_f64();
    let mentat_rate = n as f64 / mentat;
    println!("Mentat's path (INSERT events + events_json per message under a savepoint): {mentat_rate:.0} events/s");
    println!("ratio: {:.1}x", ours_rate / mentat_rate);
    drop(store);
    psql(admin, "DROP DATABASE IF EXISTS ideadb_bench_cmp WITH (FORCE)")?;
    std::fs::remove_file(&data).ok();
    Ok(())
}

/// Mentat's `insert_event_bulkci`: per message a savepoint, two INSERTs, a release; a
/// commit per 1000 messages.
async fn mentat_insert(c: &tokio_postgres::Client, text: &str) -> anyhow::Result<()> {
    let cols = "id, detecttime, category, description, source_ip, target_ip, source_ip_aggr_ip4, source_ip_aggr_ip6, \
                target_ip_aggr_ip4, target_ip_aggr_ip6, source_port, target_port, source_type, target_type, protocol, \
                node_name, node_type, cesnet_storagetime, cesnet_resolvedabuses, cesnet_eventclass, cesnet_eventseverity, cesnet_inspectionerrors";
    let ins = c.prepare(&format!("INSERT INTO events ({cols}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22)")).await?;
    let ins_json = c.prepare("INSERT INTO events_json (id, event) VALUES ($1, $2)").await?;
    let now = Utc::now().naive_utc();
    c.batch_execute("BEGIN").await?;
    for (i, line) in text.lines().enumerate() {
        let r = idea::parse(line.as_bytes()).map_err(|e| anyhow::anyhow!("{e}"))?;
        let st = r.storagetime.unwrap_or(now);
        let aggr = |t, f| r.aggr(t, f);
        use ideadb::idea::Family::{V4, V6};
        let (a, b, cc, d) = (aggr(false, V4), aggr(false, V6), aggr(true, V4), aggr(true, V6));
        c.batch_execute("SAVEPOINT bulkci").await?;
        c.execute(
            &ins,
            &[
                &r.id,
                &r.detecttime,
                &r.category,
                &r.description,
                &r.source_ip,
                &r.target_ip,
                &a,
                &b,
                &cc,
                &d,
                &r.source_port,
                &r.target_port,
                &r.source_type,
                &r.target_type,
                &r.protocol,
                &r.node_name,
                &r.node_type,
                &st,
                &r.resolvedabuses,
                &r.eventclass,
                &r.eventseverity,
                &r.inspectionerrors,
            ],
        )
        .await?;
        c.execute(&ins_json, &[&r.id, &line.as_bytes()]).await?;
        c.batch_execute("RELEASE SAVEPOINT bulkci").await?;
        if i % 1000 == 999 {
            c.batch_execute("COMMIT; BEGIN").await?;
        }
    }
    c.batch_execute("COMMIT").await?;
    Ok(())
}

struct Stats(Vec<f64>);

impl Stats {
    fn pct(&self, p: f64) -> f64 {
        let mut v = self.0.clone();
        v.sort_by(f64::total_cmp);
        v[((v.len() as f64 - 1.0) * p).round() as usize]
    }
    fn line(&self, name: &str) -> String {
        format!("| {name} | {:.2} | {:.2} | {} |", self.pct(0.5), self.pct(0.95), self.0.len())
    }
}

async fn timed<F, Fut>(runs: usize, mut f: F) -> anyhow::Result<Stats>
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    f(0).await?; // warm-up
    let mut v = Vec::with_capacity(runs);
    for i in 0..runs {
        let t = Instant::now();
        f(i + 1).await?;
        v.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    Ok(Stats(v))
}

/// Times a search shape over `runs` parameter sets (each page must hold `min` items at least)
/// and prints its row.
async fn search_shape(
    store: &EventStore,
    runs: usize,
    name: &str,
    min: usize,
    params: impl Fn(usize) -> SearchParams,
) -> anyhow::Result<Stats> {
    let s = timed(runs, |i| {
        let p = params(i);
        async move {
            let n = store.search_events(&p).await?.items.len();
            ensure!(n >= min, "{name}: {n} items, expected {min} at least");
            Ok(())
        }
    })
    .await?;
    println!("{}", s.line(name));
    Ok(s)
}

async fn search(admin: &str, db: &str, end: NaiveDateTime, days: u32, runs: usize) -> anyhow::Result<()> {
    let url = url(admin, db);
    let store = EventStore::new(&StoreConfig::new(url.clone()))?;
    let (c, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await?;
    tokio::spawn(conn);
    // As autovacuum would; Mentat's bounding-range GiST index serves the baseline queries.
    let t = Instant::now();
    c.batch_execute("CREATE INDEX IF NOT EXISTS events_ip_aggr_idx ON events USING gist (source_ip_aggr_ip4, target_ip_aggr_ip4, source_ip_aggr_ip6, target_ip_aggr_ip6)").await?;
    c.batch_execute("VACUUM ANALYZE").await?;
    println!("\nvacuum, analyse and Mentat's aggr GiST index: {:.0} s", t.elapsed().as_secs_f64());
    let total: i64 = c.query_one("SELECT count(*) FROM events", &[]).await?.get(0);
    let newest: NaiveDateTime = c.query_one("SELECT max(detecttime) FROM events", &[]).await?.get(0);
    let end = end.min(newest);
    // Sample addresses actually present: one per run, from sources of random events.
    let sample: Vec<(String, Vec<IpRange>)> = c
        .query(
            "SELECT id, source_ip FROM events TABLESAMPLE SYSTEM (0.2) WHERE source_ip_aggr_ip4 IS NOT NULL LIMIT $1",
            &[&((runs as i64 + 1) * 4)],
        )
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    ensure!(sample.len() > runs, "too few sampled events");
    let v4 = |i: usize| -> u32 {
        match sample[i % sample.len()].1.iter().find(|r| r.family() == idea::Family::V4) {
            Some(IpRange::V4 { lo, .. }) => *lo,
            _ => 0x0808_0808,
        }
    };
    let a4 = |a: u32| std::net::Ipv4Addr::from(a).to_string();
    let mut rng = SmallRng::seed_from_u64(9);
    let week = |r: &mut SmallRng| end - TimeDelta::days(7) + TimeDelta::minutes(r.random_range(-600..600));
    let pairs: Vec<(String, String)> = c
        .query("SELECT DISTINCT category[1], node_name[1] FROM events TABLESAMPLE SYSTEM (0.5)", &[])
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let latest = SortBy::parse("time.desc");
    println!("\n## Search on {total} events ({runs} runs each, random values; ms)\n");
    println!("| query | p50 | p95 | runs |\n|---|---|---|---|");
    let mut results = BTreeMap::new();

    let starts: Vec<NaiveDateTime> = (0..=runs).map(|_| week(&mut rng)).collect();
    let s = search_shape(&store, runs, "latest 100 in 7 days (with JSON)", 100, |i| SearchParams {
        dt_from: Some(starts[i]),
        sortby: latest,
        limit: Some(100),
        ..Default::default()
    })
    .await?;
    results.insert("latest", s);

    let s = search_shape(&store, runs, "source /24 + 7 days, latest 100", 0, |i| SearchParams {
        source_addrs: vec![IpRange::parse(&format!("{}/24", a4(v4(i) & 0xffff_ff00))).unwrap()],
        dt_from: Some(starts[i]),
        sortby: latest,
        limit: Some(100),
        ..Default::default()
    })
    .await?;
    let ours_24 = s.pct(0.5);
    results.insert("src24", s);

    let s = search_shape(&store, runs, "one source address, all time, latest 100", 1, |i| SearchParams {
        source_addrs: vec![IpRange::parse(&a4(v4(i))).unwrap()],
        sortby: latest,
        limit: Some(100),
        ..Default::default()
    })
    .await?;
    let ours_one = s.pct(0.5);
    results.insert("one", s);

    // Names actually present, as for addresses; and their domains.
    let names: Vec<String> = c
        .query(
            "SELECT h FROM events TABLESAMPLE SYSTEM (1), unnest(source_hostname || target_hostname) h LIMIT $1",
            &[&(runs as i64 + 1)],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    ensure!(!names.is_empty(), "no hostnames sampled");
    let name = |i: usize| names[i % names.len()].clone();
    let domain = |i: usize| {
        let n = name(i);
        n[n.find('.').unwrap_or(0)..].to_string()
    };
    let s = search_shape(&store, runs, "one hostname, all time, latest 100", 1, |i| SearchParams {
        host_hostnames: vec![Hostname::of(&name(i))],
        sortby: latest,
        limit: Some(100),
        ..Default::default()
    })
    .await?;
    let ours_name = s.pct(0.5);
    results.insert("name", s);
    let s = search_shape(&store, runs, "a domain (.example.com), 7 days, latest 100", 0, |i| SearchParams {
        host_hostnames: vec![Hostname::of(&domain(i))],
        dt_from: Some(starts[i]),
        sortby: latest,
        limit: Some(100),
        ..Default::default()
    })
    .await?;
    let ours_domain = s.pct(0.5);
    results.insert("domain", s);

    let s = search_shape(&store, runs, "category + detector + 7 days, latest 100", 0, |i| {
        let (cat, det) = pairs[i % pairs.len()].clone();
        SearchParams {
            categories: Values::of([cat]),
            detectors: Values::of([det]),
            dt_from: Some(starts[i]),
            sortby: latest,
            limit: Some(100),
            ..Default::default()
        }
    })
    .await?;
    results.insert("catdet", s);

    let own = ideadb::gen::CONSTITUENCY;
    let days_back: Vec<i64> = (0..=runs).map(|_| rng.random_range(1..i64::from(days.max(2)))).collect();
    let s = timed(runs, |i| {
        let net = IpRange::parse(&format!("{}/16", a4(own[i % own.len()]))).unwrap();
        let from = end - TimeDelta::days(days_back[i]);
        let p = SearchParams {
            target_addrs: vec![net],
            dt_from: Some(from),
            dt_to: Some(from + TimeDelta::days(1)),
            ..Default::default()
        };
        let st = &store;
        async move {
            st.count_events(&p).await?;
            Ok(())
        }
    })
    .await?;
    println!("{}", s.line("count of a target /16 in 1 day"));
    results.insert("count16", s);

    // Cursors of rows ~100,000 deep (found untimed), then the next page through each.
    let mut cursors = Vec::new();
    for _ in 0..=runs.min(50) {
        let depth: i64 = rng.random_range(95_000..105_000);
        let r = c
            .query_one(
                "SELECT detecttime, id FROM events ORDER BY detecttime DESC, id DESC OFFSET $1 LIMIT 1",
                &[&depth],
            )
            .await?;
        cursors.push(Cursor { time: r.get(0), id: r.get(1) });
    }
    let s = search_shape(&store, runs, "page 100,000 rows deep via the cursor", 100, |i| SearchParams {
        sortby: latest,
        limit: Some(100),
        after: Some(cursors[i % cursors.len()].clone()),
        ..Default::default()
    })
    .await?;
    let ours_deep = s.pct(0.5);
    results.insert("deep", s);

    println!("\n## Baselines measured in the same run (ms)\n");
    println!("| query | p50 | p95 | runs |\n|---|---|---|---|");
    let base_runs = runs.min(50);
    let mentat_24 = c
        .prepare("SELECT e.id, j.event FROM events e JOIN events_json j ON j.id = e.id AND j.storagetime = e.cesnet_storagetime WHERE (e.source_ip_aggr_ip4 && $1::text::ip4r AND $1::text::iprange && ANY(e.source_ip)) AND e.detecttime >= $2 ORDER BY e.detecttime DESC LIMIT 100")
        .await?;
    let s = timed(base_runs, |i| {
        let (c, q, net, from) = (&c, &mentat_24, format!("{}/24", a4(v4(i) & 0xffff_ff00)), starts[i]);
        async move {
            c.query(q, &[&net, &from]).await?;
            Ok(())
        }
    })
    .await?;
    println!("{}", s.line("Mentat: source /24 + 7 days (aggr && x AND x && ANY(array))"));
    println!("ratio (p50): {:.0}x", s.pct(0.5) / ours_24);
    let mentat_one = c
        .prepare("SELECT e.id, j.event FROM events e JOIN events_json j ON j.id = e.id AND j.storagetime = e.cesnet_storagetime WHERE (e.source_ip_aggr_ip4 && $1::text::ip4r AND $1::text::iprange && ANY(e.source_ip)) ORDER BY e.detecttime DESC LIMIT 100")
        .await?;
    let s = timed(base_runs, |i| {
        let (c, q, ip) = (&c, &mentat_one, a4(v4(i)));
        async move {
            c.query(q, &[&ip]).await?;
            Ok(())
        }
    })
    .await?;
    println!("{}", s.line("Mentat: one source address, all time"));
    println!("ratio (p50): {:.0}x", s.pct(0.5) / ours_one);
    // mentat-ng's hostname columns have no index of their own.
    let mentat_name = c
        .prepare("SELECT e.id, j.event FROM events e JOIN events_json j ON j.id = e.id AND j.storagetime = e.cesnet_storagetime WHERE (e.source_hostname && $1::text[] OR e.target_hostname && $1::text[]) ORDER BY e.detecttime DESC LIMIT 100")
        .await?;
    let s = timed(base_runs.min(20), |i| {
        let (c, q, n) = (&c, &mentat_name, vec![name(i)]);
        async move {
            c.query(q, &[&n]).await?;
            Ok(())
        }
    })
    .await?;
    println!("{}", s.line("Mentat: one hostname, all time (no index on the names)"));
    println!("ratio (p50): {:.0}x", s.pct(0.5) / ours_name);
    let mentat_domain = c
        .prepare("SELECT e.id, j.event FROM events e JOIN events_json j ON j.id = e.id AND j.storagetime = e.cesnet_storagetime WHERE EXISTS (SELECT 1 FROM unnest(e.source_hostname || e.target_hostname) h WHERE h ILIKE $1) AND e.detecttime >= $2 ORDER BY e.detecttime DESC LIMIT 100")
        .await?;
    let s = timed(base_runs.min(20), |i| {
        let (c, q, pattern, from) = (&c, &mentat_domain, format!("%{}%", domain(i)), starts[i]);
        async move {
            c.query(q, &[&pattern, &from]).await?;
            Ok(())
        }
    })
    .await?;
    println!("{}", s.line("Mentat: a domain, 7 days (ILIKE over the names)"));
    println!("ratio (p50): {:.0}x", s.pct(0.5) / ours_domain);
    let mentat_catdet = c
        .prepare("SELECT e.id, j.event FROM events e JOIN events_json j ON j.id = e.id AND j.storagetime = e.cesnet_storagetime WHERE e.category && $1::text[] AND e.node_name && $2::text[] AND e.detecttime >= $3 ORDER BY e.detecttime DESC, e.id DESC LIMIT 100")
        .await?;
    let s = timed(base_runs, |i| {
        let (cat, det) = pairs[i % pairs.len()].clone();
        let (c, q, from) = (&c, &mentat_catdet, starts[i]);
        async move {
            c.query(q, &[&vec![cat], &vec![det], &from]).await?;
            Ok(())
        }
    })
    .await?;
    println!("{}", s.line("Mentat: category + detector + 7 days (two GIN conditions)"));
    println!("ratio (p50): {:.1}x", s.pct(0.5) / results["catdet"].pct(0.5));
    let mentat_count = c
        .prepare("SELECT count(*) FROM events WHERE detecttime >= $2 AND detecttime <= $3 AND target_ip_aggr_ip4 && $1::text::ip4r AND $1::text::iprange && ANY(target_ip)")
        .await?;
    let s = timed(base_runs, |i| {
        let net = format!("{}/16", a4(own[i % own.len()]));
        let from = end - TimeDelta::days(days_back[i]);
        let (c, q) = (&c, &mentat_count);
        async move {
            c.query_one(q, &[&net, &from, &(from + TimeDelta::days(1))]).await?;
            Ok(())
        }
    })
    .await?;
    println!("{}", s.line("Mentat: count of a target /16 in 1 day (aggr && x AND x && ANY(array))"));
    println!("ratio (p50): {:.1}x", s.pct(0.5) / results["count16"].pct(0.5));
    let s = timed(base_runs.min(20), |_| {
        let c = &c;
        async move { c.query("SELECT e.id, j.event FROM events e JOIN events_json j ON j.id = e.id AND j.storagetime = e.cesnet_storagetime ORDER BY e.detecttime DESC, e.id DESC OFFSET 100000 LIMIT 100", &[]).await?; Ok(()) }
    })
    .await?;
    println!("{}", s.line("OFFSET 100,000 (Hawat's paging)"));
    println!("ratio (p50): {:.0}x", s.pct(0.5) / ours_deep);
    Ok(())
}

/// A running `ideadb serve` on the benchmark database, killed on drop.
struct Served {
    child: std::process::Child,
    base: String,
}

impl Served {
    /// `ideadb serve` on `url`, on a free port, logging warnings only.
    fn start(bin: &Path, url: &str) -> anyhow::Result<Self> {
        let mut child = Command::new(bin)
            .args(["serve", "--bind", "127.0.0.1:0"])
            .env("DATABASE_URL", url)
            .env("IDEADB_LOG", "warn")
            .stdout(Stdio::piped())
            .spawn()?;
        let mut line = String::new();
        BufReader::new(child.stdout.take().context("stdout")?).read_line(&mut line)?;
        let base = line.trim().strip_prefix("listening on ").context("no bound address")?.to_string();
        Ok(Served { child, base })
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn rss_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status.lines().find(|l| l.starts_with(field)).and_then(|l| l.split_whitespace().nth(1)?.parse().ok()).unwrap_or(0)
}

/// `wrk` with `clients` connections for `secs`: requests/s and the latency percentiles (ms).
fn wrk(url: &str, key: &str, clients: u32, secs: u32) -> anyhow::Result<(f64, BTreeMap<String, f64>)> {
    let out = Command::new("wrk")
        .args(["-t", &clients.to_string(), "-c", &clients.to_string(), "-d", &format!("{secs}s"), "--latency"])
        .args(["-H", &format!("Authorization: {key}"), url])
        .output()
        .context("wrk (apt-get install wrk)")?;
    let text = String::from_utf8_lossy(&out.stdout);
    ensure!(out.status.success() && !text.contains("Non-2xx"), "wrk failed:\n{text}");
    let ms = |v: &str| -> f64 {
        let (num, unit) = v.split_at(v.find(|c: char| c.is_alphabetic()).unwrap_or(v.len()));
        let n: f64 = num.parse().unwrap_or(f64::NAN);
        match unit {
            "us" => n / 1000.0,
            "s" => n * 1000.0,
            _ => n,
        }
    };
    let mut pct = BTreeMap::new();
    let mut rps = 0.0;
    for line in text.lines().map(str::trim) {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() == 2 && f[0].ends_with('%') {
            pct.insert(f[0].to_string(), ms(f[1]));
        }
        if let Some(v) = line.strip_prefix("Requests/sec:") {
            rps = v.trim().parse()?;
        }
    }
    Ok((rps, pct))
}

/// The HTTP API on the same data: the search endpoint against the storage call it makes,
/// throughput of four clients, and a streamed export.
async fn api(admin: &str, bin: &Path, db: &str, runs: usize) -> anyhow::Result<()> {
    let url = url(admin, db);
    let login = format!("bench{}", std::process::id());
    let out = Command::new(bin)
        .args(["user", "add", &login, "--role", "user", "--api-key"])
        .env("DATABASE_URL", &url)
        .output()?;
    ensure!(out.status.success(), "user add: {}", String::from_utf8_lossy(&out.stderr));
    let key = String::from_utf8(out.stdout)?.trim().to_string();
    let server = Served::start(bin, &url)?;
    let pid = server.child.id();

    println!("\n## HTTP API on the same data (release build, `ideadb serve`, wrk)\n");
    // The endpoint's own default window: the last 7 days from the hour.
    let now = Utc::now().naive_utc();
    let hour = ideadb::stats::timeline::floor(now, ideadb::stats::timeline::HOUR);
    let p = SearchParams {
        dt_from: Some(hour - TimeDelta::days(7)),
        limit: Some(100),
        sortby: SortBy::parse("time.desc"),
        ..Default::default()
    };
    let store = EventStore::new(&StoreConfig::new(url.clone()))?;
    let storage = search_shape(&store, runs, "storage call: latest 100 in 7 days", 100, |_| p.clone()).await?;
    let search_url = format!("{}/api/events/search?submit=Search&limit=100", server.base);
    let (_, one) = wrk(&search_url, &key, 1, 10)?;
    let (p50_http, p50_store) = (one["50%"], storage.pct(0.5));
    println!("| endpoint, 1 client (wrk) | {p50_http:.2} | p90 {:.2} | 10 s |", one["90%"]);
    println!("endpoint p50 − storage p50: {:.2} ms (target ≤ 1 ms)", p50_http - p50_store);
    let (rps, four) = wrk(&search_url, &key, 4, 15)?;
    println!(
        "4 clients, latest 100 in 7 days: {rps:.0} requests/s (p50 {:.2} ms, p99 {:.2} ms; target ≥ 1000/s)",
        four["50%"], four["99%"]
    );

    let before = rss_kib(pid, "VmRSS:");
    let from = (hour - TimeDelta::days(7)).format("%Y-%m-%dT%H:%M:%SZ");
    let t = Instant::now();
    let mut curl = Command::new("curl")
        .args([
            "-sfN",
            "-H",
            &format!("Authorization: {key}"),
            &format!("{}/api/events/export?dt_from={from}", server.base),
        ])
        .stdout(Stdio::piped())
        .spawn()
        .context("curl")?;
    let (mut events, mut bytes, mut peak) = (0u64, 0u64, before);
    let mut reader = BufReader::with_capacity(1 << 20, curl.stdout.take().context("curl stdout")?);
    let mut buf = Vec::new();
    while reader.read_until(b'\n', &mut buf)? > 0 {
        events += 1;
        bytes += buf.len() as u64;
        buf.clear();
        if events % 50_000 == 0 {
            peak = peak.max(rss_kib(pid, "VmRSS:"));
        }
    }
    ensure!(curl.wait()?.success(), "the export broke off");
    let secs = t.elapsed().as_secs_f64();
    peak = peak.max(rss_kib(pid, "VmHWM:"));
    println!(
        "export of the last 7 days (NDJSON): {events} events, {:.0} MB in {secs:.1} s = {:.0} events/s; server RSS {:.0} MB before, growth {:.1} MB (targets ≥ 50,000/s, < 50 MB)",
        bytes as f64 / 1e6,
        events as f64 / secs,
        before as f64 / 1024.0,
        (peak.saturating_sub(before)) as f64 / 1024.0
    );
    drop(server);
    Ok(())
}

/// The statistician and the dashboard: a backfill of every window of the data set, one dense
/// live window (100 events/s for 5 minutes), and dashboard reads over a day, 30 days and a
/// year (the 30 days of statistics repeated back over the year before them).
async fn statistics(admin: &str, bin: &Path, db: &str, work: &Path, runs: usize) -> anyhow::Result<()> {
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

/// Bytes per stored event, everything included, on `ideadb gen --count 300000 --days 30
/// --seed 1` after VACUUM (issue 12's measure).
async fn size(admin: &str, bin: &Path) -> anyhow::Result<()> {
    let db = "ideadb_bench_size";
    let url = migrated_db(admin, bin, db)?;
    let mut gen = Command::new(bin)
        .args(["gen", "--count", "300000", "--days", "30", "--seed", "1"])
        .stdout(Stdio::piped())
        .spawn()?;
    let status = Command::new(bin)
        .args(["ingest", "--keep-storage-time", "-"])
        .env("DATABASE_URL", &url)
        .stdin(gen.stdout.take().context("gen's output")?)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()?;
    ensure!(gen.wait()?.success() && status.success(), "generating or ingesting failed");
    // As the statistics leader of a server does to each week once it has ended.
    let store = EventStore::new(&StoreConfig::new(url.clone()))?;
    let t = Instant::now();
    let weeks = store.compact_ended_weeks(Utc::now().naive_utc(), usize::MAX).await?;
    println!("compacted {} ended weeks in {:.1} s", weeks.len(), t.elapsed().as_secs_f64());
    psql(&url, "VACUUM ANALYZE")?;
    let st = store.database_status(true).await?;
    let events = st.tables.iter().find(|t| t.table == "events").map_or(1, |t| t.rows_estimate.max(1));
    println!("\n## Bytes per event ({events} events, `ideadb gen --count 300000 --days 30 --seed 1`, VACUUMed)\n");
    println!("| table | bytes per event | of which indexes |\n|---|---|---|");
    for t in st.tables.iter().filter(|t| ideadb::storage::EVENT_TABLES.contains(&t.table.as_str())) {
        println!(
            "| {} | {:.0} | {:.0} |",
            t.table,
            t.total_bytes as f64 / events as f64,
            t.index_bytes as f64 / events as f64
        );
    }
    println!("| **all** | **{:.0}** | (target ≤ 1,600) |", st.bytes_per_event.unwrap_or(0.0));
    psql(admin, &format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))?;
    Ok(())
}

/// Lines per progress mark of the scale run.
const MARK: u64 = 1_000_000;
/// The stretch whose ingest rate is compared at the start and the end of the scale run.
const STRETCH: u64 = 3_000_000;

/// Issue 12's scale run: `events` over `days` of storage time (a partition a week) streamed
/// from `ideadb gen` through this process into `ideadb ingest`, which marks when each
/// million was handed over; then the ingest rate of the first and the last 3,000,000, the
/// peak RSS of ingest, bytes per event, the searches, and retention of the oldest month.
async fn scale(admin: &str, bin: &Path, events: u64, days: u32, runs: usize) -> anyhow::Result<()> {
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

    let store = EventStore::new(&StoreConfig::new(url.clone()))?;
    let t = Instant::now();
    psql(&url, "VACUUM ANALYZE")?;
    println!("vacuum and analyse: {:.0} s", t.elapsed().as_secs_f64());
    let st = store.database_status(true).await?;
    println!(
        "bytes per event: {:.0}; partitions: {}; database {:.1} GB",
        st.bytes_per_event.unwrap_or(0.0),
        st.partitions.len(),
        st.database_bytes as f64 / 1e9
    );
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
    println!("\n| query | p50 ms | p95 ms | planning ms |\n|---|---|---|---|");
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
        let planning = plan.split_whitespace().nth(2).unwrap_or("?");
        println!("| {name} | {:.1} | {:.1} | {planning} |", s.pct(0.5), s.pct(0.95));
    }
    Ok(())
}
