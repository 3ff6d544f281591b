//! Database and table status (Mentat's `database_status` / `table_status`).

use chrono::NaiveDateTime;
use serde::Serialize;

use super::partitions::PartitionStatus;
use super::schema::{EVENT_TABLES, TABLES};
use super::{with_client, Error, EventStore, Result};

/// Size and extent of one table.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TableStatus {
    pub table: String,
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

/// Time columns that say how old a table's content is.
fn time_column_of(table: &str) -> Option<&'static str> {
    match table {
        "events" => Some("cesnet_storagetime"),
        "events_addr" | "events_net16" => Some("detecttime"),
        "thresholds" => Some("ttltime"),
        "events_thresholded" => Some("createtime"),
        "statistics_seen" => Some("storagetime"),
        t if t.starts_with("enum_") => Some("last_seen"),
        _ => None,
    }
}

impl EventStore {
    /// Status of one ideadb table; `time_column` (checked against the table) gives its extent.
    pub async fn table_status(&self, table: &str, time_column: Option<&str>) -> Result<TableStatus> {
        if !TABLES.contains(&table) {
            return Err(Error::Data(format!("unknown table {table:?}")));
        }
        // reltuples is -1 until the first ANALYZE; the live-tuple counter is current after any
        // load. A partitioned table is the sum of its partitions.
        let sizes = "SELECT COALESCE(sum(GREATEST(c.reltuples::bigint, COALESCE(s.n_live_tup, 0))) \
                         FILTER (WHERE c.relkind = 'r'), 0)::bigint, \
                     COALESCE(sum(pg_total_relation_size(c.oid)), 0)::bigint, COALESCE(sum(pg_indexes_size(c.oid)), 0)::bigint \
                     FROM pg_class c \
                     LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid \
                     WHERE c.oid = to_regclass($1) OR c.oid IN (SELECT relid FROM pg_partition_tree(to_regclass($1)))";
        let row = with_client!(self, |c| c.query_one(sizes, &[&table]))?;
        let mut st = TableStatus {
            table: table.to_string(),
            rows_estimate: row.get::<_, i64>(0).max(0),
            total_bytes: row.get(1),
            index_bytes: row.get(2),
            oldest: None,
            newest: None,
        };
        let wanted = time_column_of(table);
        if let Some(c) = time_column.filter(|c| Some(*c) != wanted) {
            return Err(Error::Data(format!("{table} has no time column {c:?}")));
        }
        if let Some(col) = wanted {
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
        for t in TABLES {
            tables.push(self.table_status(t, None).await?);
        }
        let events = tables.iter().find(|t| t.table == "events").map_or(0, |t| t.rows_estimate);
        let bytes: i64 =
            tables.iter().filter(|t| EVENT_TABLES.contains(&t.table.as_str())).map(|t| t.total_bytes).sum();
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

    /// Mentat's `table_cleanup`: deletes rows whose time column is before `ttl`.
    pub async fn table_cleanup(&self, table: &str, column: &str, ttl: NaiveDateTime) -> Result<u64> {
        if !TABLES.contains(&table) || time_column_of(table) != Some(column) {
            return Err(Error::Data(format!(
                "cannot clean up {table}.{column}: not an ideadb table and its time column"
            )));
        }
        let sql = format!("DELETE FROM {table} WHERE {column} < $1");
        with_client!(self, |c| c.execute(sql.as_str(), &[&ttl]))
    }
}
