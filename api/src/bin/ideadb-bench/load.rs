//! The load run of the hardening issue: on the benchmark database, for `secs`, 8 clients
//! searching (mixed shapes), 2 exporting, 2 showing events, and an ingest of 500 events/s over
//! HTTP, all at once against one `ideadb serve`. It reports throughput, latency percentiles
//! and errors per kind, and the server's memory over time.

use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{ensure, Context};

use super::api::{rss_kib, Served};

/// A `wrk` run cycling through `paths` with `clients` connections for `secs`.
fn wrk_paths(
    base: &str,
    key: &str,
    paths: &[String],
    clients: u32,
    secs: u64,
    work: &Path,
    name: &str,
) -> anyhow::Result<Child> {
    let script = work.join(format!("{name}.lua"));
    let list: Vec<String> = paths.iter().map(|p| format!("{p:?}")).collect();
    std::fs::write(
        &script,
        format!(
            "paths = {{{}}}\ncounter = 0\nrequest = function()\n  counter = counter + 1\n  \
             return wrk.format(\"GET\", paths[(counter % #paths) + 1])\nend\n",
            list.join(",")
        ),
    )?;
    Command::new("wrk")
        .args(["-t", &clients.to_string(), "-c", &clients.to_string(), "-d", &format!("{secs}s"), "--latency"])
        .args(["--timeout", "30s", "-s", script.to_str().context("path")?])
        .args(["-H", &format!("Authorization: {key}"), base])
        .stdout(Stdio::piped())
        .spawn()
        .context("wrk (apt-get install wrk)")
}

/// One kind's figures from wrk's report.
fn report(kind: &str, child: Child) -> anyhow::Result<()> {
    let out = child.wait_with_output()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = |prefix: &str| text.lines().map(str::trim).find(|l| l.starts_with(prefix)).unwrap_or("").to_string();
    let pct = |p: &str| line(p).split_whitespace().nth(1).unwrap_or("?").to_string();
    let total = text.lines().map(str::trim).find(|l| l.contains("requests in")).unwrap_or("").to_string();
    let errors = [line("Non-2xx"), line("Socket errors")].into_iter().filter(|l| !l.is_empty()).collect::<Vec<_>>();
    println!(
        "| {kind} | {} | {} | {} | {} | {} | {} |",
        line("Requests/sec:").trim_start_matches("Requests/sec:").trim(),
        pct("50%"),
        pct("90%"),
        pct("99%"),
        total,
        if errors.is_empty() { "0".to_string() } else { errors.join("; ") }
    );
    Ok(())
}

/// Searches of the shapes analysts use with values drawn from the data, and event IDs to show.
async fn sampled(url: &str) -> anyhow::Result<(Vec<String>, Vec<String>)> {
    let (c, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
    tokio::spawn(conn);
    let rows = c
        .query(
            "SELECT id, lower(source_ip_aggr_ip4)::text, node_name[1] FROM events TABLESAMPLE SYSTEM (0.1) \
             WHERE source_ip_aggr_ip4 IS NOT NULL LIMIT 1000",
            &[],
        )
        .await?;
    ensure!(rows.len() >= 100, "too few sampled events");
    let shows = rows.iter().map(|r| format!("/api/events/{}/show", r.get::<_, String>(0))).collect();
    let sample = rows.iter().take(50).map(|r| (r.get::<_, String>(1), r.get::<_, String>(2)));
    let mut paths = vec![
        "/api/events/search?submit=1&limit=100".to_string(),
        "/api/events/search?submit=1&dt_from=now-1d&count=true".to_string(),
        "/api/events/search?submit=1&dt_from=now-7d&categories=Recon.Scanning&limit=50".to_string(),
    ];
    for (addr, detector) in sample {
        paths.push(format!("/api/events/search?submit=1&dt_from=now-30d&source_addrs={addr}"));
        paths.push(format!("/api/events/search?submit=1&dt_from=now-7d&detectors={detector}&limit=20"));
    }
    Ok((paths, shows))
}

pub async fn load(admin: &str, bin: &Path, db: &str, work: &Path, secs: u64) -> anyhow::Result<()> {
    let url = super::url(admin, db);
    let key = |role: &str| -> anyhow::Result<String> {
        let login = format!("load{role}{}", std::process::id());
        let out = Command::new(bin)
            .args(["user", "add", &login, "--role", role, "--api-key"])
            .env("DATABASE_URL", &url)
            .output()?;
        ensure!(out.status.success(), "user add: {}", String::from_utf8_lossy(&out.stderr));
        Ok(String::from_utf8(out.stdout)?.trim().to_string())
    };
    let (analyst, feeder) = (key("user")?, key("maintainer")?);
    let server = Served::start(bin, &url)?;
    let pid = server.child.id();
    let (searches, shows) = sampled(&url).await?;
    let exports = vec!["/api/events/export?dt_from=now-7d&max=5000".to_string()];

    // 500 events a second, generated beforehand so the generator does not compete.
    let feed = work.join("load-feed.ndjson");
    let st = Command::new(bin)
        .args(["gen", "--count", &(secs * 500).to_string(), "--days", "1", "--seed", "7"])
        .stdout(std::fs::File::create(&feed)?)
        .status()?;
    ensure!(st.success(), "gen failed");
    let lines: Vec<String> = std::fs::read_to_string(&feed)?.lines().map(String::from).collect();

    println!("\n## Load: {secs} s of 8 searching, 2 exporting, 2 showing clients and 500 events/s ingested\n");
    let start = Instant::now();
    let before = rss_kib(pid, "VmRSS:");
    let kinds = [
        ("search (8 clients)", wrk_paths(&server.base, &analyst, &searches, 8, secs, work, "search")?),
        ("export, 5,000 events (2)", wrk_paths(&server.base, &analyst, &exports, 2, secs, work, "export")?),
        ("show (2)", wrk_paths(&server.base, &analyst, &shows, 2, secs, work, "show")?),
    ];
    let mut ingest_ms = Vec::new();
    let (mut ingest_errors, mut rss) = (0usize, vec![(0u64, before)]);
    let body = work.join("load-batch.ndjson");
    for (second, batch) in lines.chunks(500).enumerate() {
        let due = start + Duration::from_secs(second as u64);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            tokio::time::sleep(wait).await;
        }
        std::fs::File::create(&body)?.write_all((batch.join("\n") + "\n").as_bytes())?;
        let out = Command::new("curl")
            .args(["-s", "-o", "/dev/null", "-w", "%{http_code} %{time_total}", "-H"])
            .arg(format!("Authorization: {feeder}"))
            .args(["-H", "Content-Type: application/x-ndjson", "--data-binary"])
            .arg(format!("@{}", body.display()))
            .arg(format!("{}/api/events", server.base))
            .output()?;
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        let mut f = text.split_whitespace();
        let (code, time) = (f.next().unwrap_or(""), f.next().and_then(|t| t.parse::<f64>().ok()).unwrap_or(f64::NAN));
        if code != "200" {
            ingest_errors += 1;
        }
        ingest_ms.push(time * 1000.0);
        if second % 30 == 29 {
            rss.push((second as u64 + 1, rss_kib(pid, "VmRSS:")));
        }
    }
    println!("| kind | requests/s | p50 | p90 | p99 | total | errors |");
    println!("|---|---|---|---|---|---|---|");
    for (kind, child) in kinds {
        report(kind, child)?;
    }
    ingest_ms.sort_by(f64::total_cmp);
    let pct = |q: f64| ingest_ms[((ingest_ms.len() - 1) as f64 * q) as usize];
    println!(
        "| ingest, 500 events each second (curl) | {:.1} | {:.1}ms | {:.1}ms | {:.1}ms | {} requests | {ingest_errors} |",
        ingest_ms.len() as f64 / start.elapsed().as_secs_f64(),
        pct(0.5),
        pct(0.9),
        pct(0.99),
        ingest_ms.len()
    );
    let series: Vec<String> = rss.iter().map(|(t, kib)| format!("{t} s: {:.0} MB", *kib as f64 / 1024.0)).collect();
    println!("\nserver RSS: {}; peak {:.0} MB", series.join(", "), rss_kib(pid, "VmHWM:") as f64 / 1024.0);
    drop(server);
    Ok(())
}
