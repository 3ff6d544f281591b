//! Ingest: our path against Mentat's `insert_event_bulkci` into empty databases, and the
//! `ideadb ingest` runs the other parts time.

use super::{fresh_db, gen, migrated_db, peak_kib, psql};
use anyhow::ensure;
use chrono::Utc;
use ideadb::idea::{self};
use ideadb::storage::{EventStore, StoreConfig};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Runs `ideadb ingest` into `url`; returns seconds and peak RSS in MB.
pub(crate) fn ingest(bin: &Path, url: &str, data: &Path) -> anyhow::Result<(f64, f64)> {
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
pub(crate) async fn compare_ingest(admin: &str, bin: &Path, work: &Path, n: u64, days: u32) -> anyhow::Result<()> {
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
pub(crate) async fn mentat_insert(c: &tokio_postgres::Client, text: &str) -> anyhow::Result<()> {
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
