//! The HTTP API on the benchmark database: a running server, wrk, and the export.

use super::url;
use crate::search::search_shape;
use anyhow::{ensure, Context};
use chrono::{TimeDelta, Utc};
use ideadb::storage::{EventStore, SearchParams, SortBy, StoreConfig};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

/// A running `ideadb serve` on the benchmark database, killed on drop.
pub(crate) struct Served {
    pub(crate) child: std::process::Child,
    pub(crate) base: String,
}

impl Served {
    /// `ideadb serve` on `url`, on a free port, logging warnings only.
    pub(crate) fn start(bin: &Path, url: &str) -> anyhow::Result<Self> {
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

pub(crate) fn rss_kib(pid: u32, field: &str) -> u64 {
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
pub(crate) async fn api(admin: &str, bin: &Path, db: &str, runs: usize) -> anyhow::Result<()> {
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
    let (storage, _) = search_shape(&store, runs, "storage call: latest 100 in 7 days", 100, |_| p.clone()).await?;
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
