//! Database and table status (Mentat's `database_status` / `table_status`).

use chrono::NaiveDateTime;
use serde::Serialize;

use super::partitions::PartitionStatus;
use super::tables::Table;
use super::{with_client, Error, EventStore, Flavour, Result};

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
    /// The nodes of a Citus cluster and the shards each holds; absent on one server.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster: Option<Vec<NodeStatus>>,
}

/// A node of a Citus cluster.
#[derive(Debug, Clone, Serialize)]
pub struct NodeStatus {
    pub host: String,
    pub port: i32,
    /// Whether the coordinator can use the node.
    pub active: bool,
    /// Whether new shards may go there (false for the coordinator).
    pub holds_shards: bool,
    pub shards: i64,
    pub shard_bytes: i64,
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
        let (rows, total, index) = match self.flavour().await? {
            Flavour::Single => self.local_size(table).await?,
            Flavour::Citus => self.shard_size(table).await?,
        };
        let mut st = TableStatus {
            table,
            rows_estimate: rows.max(0),
            total_bytes: total,
            index_bytes: index,
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

    /// Rows (estimated), bytes and index bytes of a table on this server.
    async fn local_size(&self, table: Table) -> Result<(i64, i64, i64)> {
        // reltuples is -1 until the first ANALYZE; the live-tuple counter is current after any
        // load. A partitioned table is the sum of its partitions.
        let sizes = "SELECT COALESCE(sum(GREATEST(c.reltuples::bigint, COALESCE(s.n_live_tup, 0))) \
                         FILTER (WHERE c.relkind = 'r'), 0)::bigint, \
                     COALESCE(sum(pg_total_relation_size(c.oid)), 0)::bigint, COALESCE(sum(pg_indexes_size(c.oid)), 0)::bigint \
                     FROM pg_class c \
                     LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid \
                     WHERE c.oid = to_regclass($1) OR c.oid IN (SELECT relid FROM pg_partition_tree(to_regclass($1)))";
        let row = with_client!(self, |c| c.query_one(sizes, &[&table.name()]))?;
        Ok((row.get(0), row.get(1), row.get(2)))
    }

    /// [`local_size`](Self::local_size) on Citus, where the rows are in the workers' shards
    /// (`{table}[_wYYYYMMDD]_{shard id}`): summed over the workers, except that each holds
    /// all of a reference table.
    async fn shard_size(&self, table: Table) -> Result<(i64, i64, i64)> {
        let command = format!(
            "SELECT COALESCE(sum(GREATEST(c.reltuples::bigint, COALESCE(s.n_live_tup, 0))), 0) || ',' || \
             COALESCE(sum(pg_total_relation_size(c.oid)), 0) || ',' || COALESCE(sum(pg_indexes_size(c.oid)), 0) \
             FROM pg_class c LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid \
             WHERE c.relkind = 'r' AND c.relname ~ '^{table}(_w[0-9]{{8}})?_[0-9]+$'"
        );
        let per_worker: Vec<[i64; 3]> = self
            .on_workers(&command)
            .await?
            .iter()
            .map(|text| {
                let mut f = text.split(',').map(|x| x.parse::<i64>().unwrap_or(0));
                [f.next().unwrap_or(0), f.next().unwrap_or(0), f.next().unwrap_or(0)]
            })
            .collect();
        let sum = |i: usize| per_worker.iter().map(|w| w[i]).sum::<i64>();
        let rows = if super::citus::is_distributed(table) {
            sum(0)
        } else {
            per_worker.iter().map(|w| w[0]).max().unwrap_or(0)
        };
        Ok((rows, sum(1), sum(2)))
    }

    /// The nodes of the Citus cluster with their shards; None on one server.
    async fn cluster_status(&self) -> Result<Option<Vec<NodeStatus>>> {
        if self.flavour().await? == Flavour::Single {
            return Ok(None);
        }
        let sql = "SELECT n.nodename, n.nodeport, n.isactive, n.shouldhaveshards, \
                   count(s.shardid), COALESCE(sum(s.shard_size), 0)::bigint \
                   FROM pg_dist_node n LEFT JOIN citus_shards s ON s.nodename = n.nodename AND s.nodeport = n.nodeport \
                   WHERE n.noderole = 'primary' GROUP BY 1, 2, 3, 4 ORDER BY 1, 2";
        let rows = with_client!(self, |c| c.query(sql, &[]))?;
        Ok(Some(
            rows.iter()
                .map(|r| NodeStatus {
                    host: r.get(0),
                    port: r.get(1),
                    active: r.get(2),
                    holds_shards: r.get(3),
                    shards: r.get(4),
                    shard_bytes: r.get(5),
                })
                .collect(),
        ))
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
            cluster: self.cluster_status().await?,
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
