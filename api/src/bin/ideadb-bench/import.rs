//! The import part (`--only import`): a Mentat database of the older generation, filled by
//! Mentat's own insert path, imported by `ideadb import-mentat`, beside `ideadb ingest` of the
//! same messages in the same run. Schema version 9 of our migrations is Mentat's V2 event
//! tables (with a few more columns), so it serves as the source.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::ensure;
use ideadb::storage::{EventStore, StoreConfig};

use super::ingest::{ingest, mentat_insert};
use super::{fresh_db, gen, migrated_db, peak_kib, psql};

pub async fn import(admin: &str, bin: &Path, work: &Path, n: u64, days: u32) -> anyhow::Result<()> {
    let data = work.join("import.ndjson");
    gen(bin, &data, n, days)?;
    println!("\n## Import from Mentat ({n} events of a V2 database) beside ingest of the same messages");
    let source = fresh_db(admin, "ideadb_bench_mentat")?;
    EventStore::new(&StoreConfig::new(source.clone()))?.migrate_to(9).await?;
    let (client, conn) = tokio_postgres::connect(&source, tokio_postgres::NoTls).await?;
    tokio::spawn(conn);
    mentat_insert(&client, &std::fs::read_to_string(&data)?).await?;
    client.batch_execute("VACUUM ANALYZE").await?;

    let (ingest_secs, ingest_rss) = ingest(bin, &migrated_db(admin, bin, "ideadb_bench_imp")?, &data)?;
    let target = migrated_db(admin, bin, "ideadb_bench_imp")?;
    let t = Instant::now();
    let mut child =
        Command::new(bin).args(["import-mentat", "--from", &source]).env("DATABASE_URL", &target).spawn()?;
    let mut peak = 0u64;
    let status = loop {
        peak = peak.max(peak_kib(child.id()).unwrap_or(0));
        if let Some(st) = child.try_wait()? {
            break st;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    ensure!(status.success(), "import-mentat failed");
    let import_secs = t.elapsed().as_secs_f64();
    let rate = |s: f64| n as f64 / s;
    println!(
        "ingest --keep-storage-time: {:.0} events/s ({ingest_secs:.1} s), peak RSS {ingest_rss:.0} MB",
        rate(ingest_secs)
    );
    println!(
        "import-mentat: {:.0} events/s ({import_secs:.1} s), peak RSS {:.0} MB; {:.0}% of ingest's rate",
        rate(import_secs),
        peak as f64 / 1024.0,
        100.0 * ingest_secs / import_secs
    );
    for db in ["ideadb_bench_imp", "ideadb_bench_mentat"] {
        psql(admin, &format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))?;
    }
    std::fs::remove_file(&data).ok();
    Ok(())
}
