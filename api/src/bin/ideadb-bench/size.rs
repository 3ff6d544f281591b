//! Bytes per stored event (issue 12's measure).

use super::{migrated_db, psql};
use anyhow::{ensure, Context};
use chrono::Utc;
use ideadb::storage::{EventStore, StoreConfig};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

/// The index set of migration 12 on today's tables, for same-run comparisons: the key btrees
/// of the text ID, the time btrees with the ID, the trigram index of descriptions.
pub(crate) const PREVIOUS_INDEXES: &str = "\
    DROP INDEX events_id_key, events_json_id_key, events_detecttime_idx, events_cesnet_storagetime_idx, \
        events_description_idx; \
    ALTER TABLE events ADD PRIMARY KEY (id, cesnet_storagetime); \
    ALTER TABLE events_json ADD PRIMARY KEY (id, storagetime); \
    CREATE INDEX events_detecttime_idx ON events USING btree (detecttime, id); \
    CREATE INDEX events_cesnet_storagetime_idx ON events USING btree (cesnet_storagetime, id); \
    CREATE INDEX events_description_idx ON events USING gin (description gin_trgm_ops) \
        WITH (gin_pending_list_limit = 16384);";

/// A migrated database, with the previous index set when `previous`.
pub(crate) fn layout_db(admin: &str, bin: &Path, db: &str, previous: bool) -> anyhow::Result<String> {
    let url = migrated_db(admin, bin, db)?;
    if previous {
        psql(&url, PREVIOUS_INDEXES)?;
    }
    Ok(url)
}

/// Bytes per stored event, everything included, on `ideadb gen --count 300000 --days 30
/// --seed 1` after VACUUM (issue 12's measure), with the previous index set and today's.
pub(crate) async fn size(admin: &str, bin: &Path) -> anyhow::Result<()> {
    for (name, previous) in [("migration 12's index set", true), ("today's", false)] {
        println!("\n### {name}");
        size_of(admin, bin, previous).await?;
    }
    Ok(())
}

async fn size_of(admin: &str, bin: &Path, previous: bool) -> anyhow::Result<()> {
    let db = "ideadb_bench_size";
    let url = layout_db(admin, bin, db, previous)?;
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
    print_sizes(&store, "").await?;
    if !previous {
        psql(&url, DEFAULT_FILL)?;
        psql(&url, "VACUUM ANALYZE")?;
        print_sizes(&store, ", the ended weeks' indexes rebuilt at their default fill").await?;
    }
    psql(admin, &format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))?;
    Ok(())
}

/// Undoes compaction's full pages on the same data, for a same-run comparison: the indexes
/// set to fill their pages get their method's default again and their tables are reindexed.
const DEFAULT_FILL: &str = "DO $$ DECLARE t text; i text; BEGIN \
    FOR t IN SELECT DISTINCT x.indrelid::regclass::text FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid \
        WHERE c.reloptions @> '{fillfactor=100}' LOOP \
        FOR i IN SELECT c.oid::regclass::text FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid \
            WHERE x.indrelid = t::regclass AND c.reloptions @> '{fillfactor=100}' LOOP \
            EXECUTE format('ALTER INDEX %s RESET (fillfactor)', i); \
        END LOOP; \
        EXECUTE format('REINDEX TABLE %s', t); \
    END LOOP; END $$";

async fn print_sizes(store: &EventStore, what: &str) -> anyhow::Result<()> {
    let st = store.database_status(true).await?;
    let events =
        st.tables.iter().find(|t| t.table == ideadb::storage::Table::Events).map_or(1, |t| t.rows_estimate.max(1));
    println!(
        "\n## Bytes per event ({events} events, `ideadb gen --count 300000 --days 30 --seed 1`, VACUUMed{what})\n"
    );
    println!("| table | bytes per event | of which indexes |\n|---|---|---|");
    for t in st.tables.iter().filter(|t| t.table.holds_events()) {
        println!(
            "| {} | {:.0} | {:.0} |",
            t.table,
            t.total_bytes as f64 / events as f64,
            t.index_bytes as f64 / events as f64
        );
    }
    println!("| **all** | **{:.0}** | (target ≤ 1,600) |", st.bytes_per_event.unwrap_or(0.0));
    Ok(())
}
