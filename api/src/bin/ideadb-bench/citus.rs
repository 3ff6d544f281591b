//! The Citus comparison (`--only citus`, run by `make bench-citus`): the same generated events
//! ingested into a database on one node and into one distributed over the coordinator and two
//! workers of `.ci/ensure-citus.sh`'s cluster, then the search shapes on both with the same
//! values. The single-node database lives on the coordinator's server, so both run with the
//! same settings. All three servers share this machine's cores: the figures show correctness
//! and each query's overhead, not the speed-up of more machines.

use super::{fresh_db, gen, ingest, migrate, migrated_db, url, Stats};
use crate::search::{shapes, Samples, Shape};
use anyhow::{ensure, Context};
use ideadb::storage::{EventStore, Flavour, StoreConfig};
use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

const SINGLE: &str = "ideadb_bench_single";
const CLUSTER: &str = "ideadb_bench_citus";

/// `coordinator`: the coordinator's admin URL; the workers' come from
/// `IDEADB_BENCH_CITUS_WORKERS` (space-separated).
pub(crate) async fn citus(
    coordinator: &str,
    bin: &Path,
    work: &Path,
    events: u64,
    days: u32,
    runs: usize,
) -> anyhow::Result<()> {
    let workers: Vec<String> =
        std::env::var("IDEADB_BENCH_CITUS_WORKERS").unwrap_or_default().split_whitespace().map(String::from).collect();
    ensure!(!workers.is_empty(), "IDEADB_BENCH_CITUS_WORKERS names no worker");
    let nodes: Vec<String> = std::iter::once(coordinator.to_string()).chain(workers.iter().cloned()).collect();
    let mut postmasters = Vec::new();
    for node in &nodes {
        postmasters.push(postmaster(node).await?);
    }
    let meter = move || cpu_ticks(&postmasters);
    let data = work.join("citus.ndjson");
    gen(bin, &data, events, days)?;
    let end = chrono::Utc::now().naive_utc();

    println!(
        "\n## Citus: {events} events over {days} days, one node against a coordinator and {} workers",
        workers.len()
    );
    for db in [SINGLE, CLUSTER] {
        drop_everywhere(&nodes, db)?;
    }
    let single_url = migrated_db(coordinator, bin, SINGLE)?;
    let cluster_url = fresh_db(coordinator, CLUSTER)?;
    let cluster = EventStore::new(&StoreConfig::new(cluster_url.clone()))?;
    cluster.join_cluster(&workers.iter().map(|w| url(w, CLUSTER)).collect::<Vec<_>>()).await?;
    migrate(bin, &cluster_url)?;
    ensure!(cluster.flavour().await? == Flavour::Citus, "{CLUSTER} is not distributed");

    println!("\n| ingest (`ideadb ingest`, 2 writers) | events/s | seconds | coordinator's share of the servers' CPU |\n|---|---|---|---|");
    for (label, url) in [("one node", &single_url), ("coordinator + workers", &cluster_url)] {
        let before = meter();
        let (secs, _) = ingest(bin, url, &data)?;
        println!("| {label} | {:.0} | {secs:.1} | {} |", events as f64 / secs, share(&before, &meter()));
    }
    std::fs::remove_file(&data).ok();
    let t = Instant::now();
    for url in [&single_url, &cluster_url] {
        let st = Command::new("psql").args([url, "-qc", "VACUUM ANALYZE"]).status()?;
        ensure!(st.success(), "VACUUM ANALYZE failed on {url}");
    }
    println!("\nvacuum and analyse of both: {:.0} s", t.elapsed().as_secs_f64());

    let (c, conn) = tokio_postgres::connect(&single_url, tokio_postgres::NoTls).await?;
    tokio::spawn(conn);
    let samples = Samples::take(&c, end, days, runs).await?;
    let single = EventStore::new(&StoreConfig::new(single_url))?;
    println!("\n### One node ({runs} runs each; ms)\n\n| query | p50 | p95 | runs |\n|---|---|---|---|");
    let alone = shapes(&single, &samples, runs, &meter).await?;
    println!("\n### Coordinator + workers ({runs} runs each; ms)\n\n| query | p50 | p95 | runs |\n|---|---|---|---|");
    let spread = shapes(&cluster, &samples, runs, &meter).await?;
    compare(&alone, &spread)?;
    Ok(())
}

/// Prints the side-by-side table; fails when any answer differs.
fn compare(alone: &[Shape], spread: &[Shape]) -> anyhow::Result<()> {
    println!(
        "\n| query | one node p50 / p95 | cluster p50 / p95 | cluster ÷ one node (p50) | servers' CPU per query, cluster ÷ one node | coordinator's share of the cluster's CPU | same answers |"
    );
    println!("|---|---|---|---|---|---|---|");
    let cpu = |s: &Shape| -> u64 { s.metered.1.iter().zip(&s.metered.0).map(|(a, b)| a - b).sum() };
    let p = |s: &Stats| format!("{:.2} / {:.2}", s.pct(0.5), s.pct(0.95));
    let mut differing = Vec::new();
    for (a, b) in alone.iter().zip(spread) {
        let same = a.answers.iter().zip(&b.answers).filter(|(x, y)| x == y).count();
        if same != a.answers.len() {
            differing.push(a.name);
        }
        println!(
            "| {} | {} | {} | {:.1}× | {:.1}× | {} | {same} of {} |",
            a.name,
            p(&a.stats),
            p(&b.stats),
            b.stats.pct(0.5) / a.stats.pct(0.5),
            cpu(b) as f64 / cpu(a).max(1) as f64,
            share(&b.metered.0, &b.metered.1),
            a.answers.len()
        );
    }
    ensure!(differing.is_empty(), "the cluster answered differently from one node: {differing:?}");
    Ok(())
}

/// The coordinator's (the first node's) part of the CPU time all nodes spent between two
/// readings of [`cpu_ticks`].
fn share(before: &[u64], after: &[u64]) -> String {
    let spent: Vec<u64> = after.iter().zip(before).map(|(a, b)| a - b).collect();
    let total: u64 = spent.iter().sum();
    if total == 0 {
        return "-".into();
    }
    format!("{:.0}%", 100.0 * spent[0] as f64 / total as f64)
}

/// Drops the database on every node by itself: a database left on a worker alone would make
/// the coordinator's propagated CREATE DATABASE fail.
fn drop_everywhere(nodes: &[String], db: &str) -> anyhow::Result<()> {
    for node in nodes {
        let st = Command::new("psql")
            .args([node, "-qc", &format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)")])
            .env("PGOPTIONS", "-c citus.enable_create_database_propagation=off")
            .status()?;
        ensure!(st.success(), "cannot drop {db} on {node}");
    }
    Ok(())
}

/// The process ID of the server behind `url` (this machine's, read from its data directory).
async fn postmaster(url: &str) -> anyhow::Result<u32> {
    let (c, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
    tokio::spawn(conn);
    let dir: String = c.query_one("SHOW data_directory", &[]).await?.get(0);
    let pid = std::fs::read_to_string(Path::new(&dir).join("postmaster.pid"))?;
    Ok(pid.lines().next().context("an empty postmaster.pid")?.trim().parse()?)
}

/// CPU time (in clock ticks) each server has spent so far: its postmaster's own and its
/// ended children's (which the postmaster reaped), and its living children's.
fn cpu_ticks(postmasters: &[u32]) -> Vec<u64> {
    let mut by_parent: HashMap<u32, u64> = HashMap::new();
    let mut own: HashMap<u32, u64> = HashMap::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
        let Some((ppid, ticks, reaped)) = stat(pid) else { continue };
        *by_parent.entry(ppid).or_default() += ticks;
        if postmasters.contains(&pid) {
            own.insert(pid, ticks + reaped);
        }
    }
    postmasters.iter().map(|p| own.get(p).copied().unwrap_or(0) + by_parent.get(p).copied().unwrap_or(0)).collect()
}

/// A process's parent, its user and system ticks, and its waited-for children's.
fn stat(pid: u32) -> Option<(u32, u64, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The fields after the command name, which may hold spaces, start with the state.
    let f: Vec<&str> = text.rsplit_once(')')?.1.split_whitespace().collect();
    let n = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok());
    Some((n(1)? as u32, n(11)? + n(12)?, n(13)? + n(14)?))
}
