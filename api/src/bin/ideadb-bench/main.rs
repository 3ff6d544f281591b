//! The storage benchmark of BENCHMARKS.md: ingest and search on generated events, each
//! side by side with Mentat's access path measured in the same run.
//!
//! `make bench` (BENCH_ARGS="--events 3000000 --days 30 --runs 200").

mod api;
mod citus;
mod import;
mod ingest;
mod load;
mod scale;
mod search;
mod size;
mod stats;

use api::api;
use ingest::{compare_ingest, ingest};
use scale::scale;
use search::search;
use size::size;
use stats::statistics;

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::{ensure, Context};
use chrono::Utc;
use clap::Parser;
use ideadb::storage::{EventStore, StoreConfig};

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
    /// api, stats; size (bytes per event) runs on its own data; import, load, scale and
    /// citus (`make bench-citus`: --events on one node and on a Citus cluster) only when named.
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
    Citus,
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
        let previous_url = size::layout_db(&admin, &bin, "ideadb_bench_previous", true)?;
        let (previous, _) = ingest(&bin, &previous_url, &data)?;
        psql(&admin, "DROP DATABASE IF EXISTS ideadb_bench_previous WITH (FORCE)")?;
        let (secs, rss) = ingest(&bin, &migrated_db(&admin, &bin, main_db)?, &data)?;
        let rate = |s: f64| args.events as f64 / s;
        println!("ours: {:.0} events/s sustained ({secs:.1} s), peak RSS {rss:.0} MB", rate(secs));
        println!(
            "the same with migration 12's index set: {:.0} events/s ({previous:.1} s), {:.0}% of the ceiling",
            rate(previous),
            100.0 * bare / previous
        );
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
    // Only when asked: it needs the Citus cluster of `make bench-citus`.
    if args.only.contains(&Part::Citus) {
        citus::citus(&admin, &bin, &work, args.events, args.days, args.runs).await?;
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
    migrate(bin, &url)?;
    Ok(url)
}

/// `ideadb migrate` on the database at `url`.
fn migrate(bin: &Path, url: &str) -> anyhow::Result<()> {
    let out = Command::new(bin).arg("migrate").env("DATABASE_URL", url).output()?;
    ensure!(out.status.success(), "migrate: {}", String::from_utf8_lossy(&out.stderr));
    Ok(())
}

/// The peak resident memory of a process so far, in KiB.
fn peak_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find(|l| l.starts_with("VmHWM:"))?.split_whitespace().nth(1)?.parse().ok()
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
