//! Database and table status (Mentat's `database_status` / `table_status`).

use chrono::NaiveDateTime;
use serde::Serialize;

use super::partitions::PartitionStatus;
use super::tables::Table;
use super::{with_client, Error, EventStore, Result};

/// Size and extent of one table.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TableStatus {
    pub table: Table,
    /// The planner's estimate (exact counts of large tables are slow).
    pub rows_estimate: i64,
    pub total_bytes: i64,
    pub index_bytes: i64,
    pub oldest: Option<NaiveDateTime>,
    pub newest: Option<NaiveDateTime>,
}

/// The server and every ideadb table.
#[derive(Debug, Clone, Serialize)]
pub struct DatabaseStatus {
    pub server_version: String,
    pub database: String,
    pub database_bytes: i64,
    pub schema_version: Option<i32>,
    /// Settings that matter for an event database; omitted when brief.
    pub settings: Vec<(String, String)>,
    pub tables: Vec<TableStatus>,
    /// Bytes of everything that holds events (heaps, TOAST, indexes of the event tables) per
    /// stored event; None without events.
    pub bytes_per_event: Option<f64>,
    /// The weeks of the event tables, oldest first.
    pub partitions: Vec<PartitionStatus>,
}

const SETTINGS: &[&str] = &[
    "shared_buffers",
    "work_mem",
    "maintenance_work_mem",
    "effective_cache_size",
    "statement_timeout",
    "max_connections",
];

impl EventStore {
    /// Status of one ideadb table, with its extent when it has a time column.
    pub async fn table_status(&self, table: Table) -> Result<TableStatus> {
        // reltuples is -1 until the first ANALYZE; the live-tuple counter is current after any
        // load. A partitioned table is the sum of its partitions.
        let sizes = "SELECT COALESCE(sum(GREATEST(c.reltuples::bigint, COALESCE(s.n_live_tup, 0))) \
                         FILTER (WHERE c.relkind = 'r'), 0)::bigint, \
                     COALESCE(sum(pg_total_relation_size(c.oid)), 0)::bigint, COALESCE(sum(pg_indexes_size(c.oid)), 0)::bigint \
                     FROM pg_class c \
                     LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid \
                     WHERE c.oid = to_regclass($1) OR c.oid IN (SELECT relid FROM pg_partition_tree(to_regclass($1)))";
        let row = with_client!(self, |c| c.query_one(sizes, &[&table.name()]))?;
        let mut st = TableStatus {
            table,
            rows_estimate: row.get::<_, i64>(0).max(0),
            total_bytes: row.get(1),
            index_bytes: row.get(2),
            oldest: None,
            newest: None,
        };
        if let Some(col) = table.time_column() {
            let sql = format!("SELECT min({col}), max({col}) FROM {table}");
            let r = with_client!(self, |c| c.query_one(sql.as_str(), &[]))?;
            st.oldest = r.get(0);
            st.newest = r.get(1);
        }
        Ok(st)
    }

    /// Status of the server and all ideadb tables; `brief` leaves out the settings.
    pub async fn database_status(&self, brief: bool) -> Result<DatabaseStatus> {
        let row = with_client!(self, |c| {
            c.query_one(
                "SELECT current_setting('server_version'), current_database(), pg_database_size(current_database())",
                &[],
            )
        })?;
        let mut settings = Vec::new();
        if !brief {
            let rows = with_client!(self, |c| {
                c.query(
                    "SELECT name, setting || COALESCE(unit, '') FROM pg_settings WHERE name = ANY($1) ORDER BY name",
                    &[&SETTINGS],
                )
            })?;
            settings = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
        }
        let mut tables = Vec::new();
        for t in Table::ALL {
            tables.push(self.table_status(*t).await?);
        }
        let events = tables.iter().find(|t| t.table == Table::Events).map_or(0, |t| t.rows_estimate);
        let bytes: i64 = tables.iter().filter(|t| t.table.holds_events()).map(|t| t.total_bytes).sum();
        Ok(DatabaseStatus {
            bytes_per_event: (events > 0).then(|| bytes as f64 / events as f64),
            server_version: row.get(0),
            database: row.get(1),
            database_bytes: row.get(2),
            schema_version: self.schema_version().await?,
            settings,
            tables,
            partitions: self.partitions().await?,
        })
    }

    /// Mentat's `table_cleanup`: deletes the rows of `table` older than `ttl` by its time
    /// column.
    pub async fn table_cleanup(&self, table: Table, ttl: NaiveDateTime) -> Result<u64> {
        let column = table.time_column().ok_or_else(|| Error::Data(format!("{table} has no time column")))?;
        let sql = format!("DELETE FROM {table} WHERE {column} < $1");
        with_client!(self, |c| c.execute(sql.as_str(), &[&ttl]))
    }
}
