//! Running on a Citus cluster. `migrate` distributes the schema when the database has the
//! `citus` extension; the few statements that need another form there ask [`EventStore::flavour`].
//!
//! The event tables are hash-distributed by the event ID and colocated, so an event's rows
//! (its ID, columns, message bytes and addresses) lie in one shard group: a lookup by ID goes
//! to one node and the joins between them stay on each node. Their weekly partitions are
//! distributed with them. Every other table is small and read beside the events (visibility
//! groups, thresholds, statistics, accounts), so it is a reference table: a copy on every node.

use tokio_postgres::error::SqlState;
use tokio_postgres::Client;

use super::tables::Table;
use super::{with_client, Error, EventStore, Result};

/// How the database runs the schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    /// One PostgreSQL server.
    Single,
    /// A Citus coordinator with its workers.
    Citus,
}

/// The distributed tables, the first being the one the others are colocated with.
const DISTRIBUTED: [Table; 5] =
    [Table::EventIds, Table::Events, Table::EventsJson, Table::EventsAddr, Table::EventsNet16];
/// Their distribution column: every one of them has the event ID.
const DISTRIBUTION_COLUMN: &str = "id";

/// The node named by Citus's report that it cannot connect to a worker ("connection to the
/// remote node user@host:port failed ..."), without the user name.
pub(crate) fn unreachable_node(code: &SqlState, message: &str) -> Option<String> {
    if *code != SqlState::CONNECTION_FAILURE {
        return None;
    }
    let node = message.strip_prefix("connection to the remote node ")?.split_whitespace().next()?;
    Some(node.rsplit('@').next().unwrap_or(node).to_string())
}

impl EventStore {
    /// Whether the database runs on Citus; asked once, then remembered.
    pub async fn flavour(&self) -> Result<Flavour> {
        let f = self.flavour.get_or_try_init(|| async { with_client!(self, |c| detect(&c)) }).await?;
        Ok(*f)
    }

    /// The text that `command` (one value) gives on each worker that answered: Citus keeps
    /// the rows of distributed tables there, and the coordinator's catalog does not see them.
    pub(crate) async fn on_workers(&self, command: &str) -> Result<Vec<String>> {
        let sql = "SELECT result FROM run_command_on_workers($1) WHERE success";
        Ok(with_client!(self, |c| c.query(sql, &[&command]))?.iter().map(|r| r.get(0)).collect())
    }

    /// Makes this database the coordinator of a Citus cluster whose workers hold a database
    /// of the same name (`workers`: their URLs, reached over TCP), as the tests and the
    /// benchmark set one up; a cluster in production is joined once by its operator (README).
    /// `migrate` afterwards distributes the schema.
    pub async fn join_cluster(&self, workers: &[String]) -> Result<()> {
        let mut nodes = Vec::with_capacity(workers.len());
        for url in workers {
            let cfg: tokio_postgres::Config =
                url.parse().map_err(|e| Error::Setup(format!("invalid Citus worker URL: {e}")))?;
            let (worker, conn) = cfg.connect(tokio_postgres::NoTls).await?;
            tokio::spawn(conn);
            worker.batch_execute("CREATE EXTENSION IF NOT EXISTS citus").await?;
            nodes.push(tcp_node(&cfg)?);
        }
        let (host, port) = tcp_node(&self.config)?;
        let c = self.client().await?;
        c.batch_execute("CREATE EXTENSION IF NOT EXISTS citus").await?;
        c.execute("SELECT citus_set_coordinator_host($1, $2)", &[&host, &port]).await?;
        for (host, port) in &nodes {
            c.execute("SELECT citus_add_node($1, $2)", &[host, port]).await?;
        }
        Ok(())
    }
}

/// The host and port a Citus node is reached at (Citus's node list takes no socket path).
fn tcp_node(cfg: &tokio_postgres::Config) -> Result<(String, i32)> {
    match (cfg.get_hosts().first(), cfg.get_ports().first()) {
        (Some(tokio_postgres::config::Host::Tcp(h)), port) => Ok((h.clone(), i32::from(*port.unwrap_or(&5432)))),
        _ => Err(Error::Setup("a Citus node must be reached over TCP".into())),
    }
}

/// Whether the table is distributed (by the event ID) rather than a reference table.
pub(crate) fn is_distributed(table: Table) -> bool {
    DISTRIBUTED.contains(&table)
}

async fn detect(c: &Client) -> Result<Flavour, tokio_postgres::Error> {
    let citus = c.query_opt("SELECT 1 FROM pg_extension WHERE extname = 'citus'", &[]).await?.is_some();
    Ok(if citus { Flavour::Citus } else { Flavour::Single })
}

/// Distributes what is not distributed yet (a no-op on one server and once done). Run by
/// `migrate` after the migrations; a later migration's `ALTER TABLE` reaches the shards itself.
pub(crate) async fn distribute(client: &Client) -> Result<()> {
    if detect(client).await? == Flavour::Single {
        return Ok(());
    }
    let done: Vec<String> =
        client.query("SELECT table_name::text FROM citus_tables", &[]).await?.iter().map(|r| r.get(0)).collect();
    let pending = |t: &Table| !done.iter().any(|d| d == t.name());
    // Citus runs no trigger that reaches other tables' shards: the storage layer deletes an
    // event's rows in one statement instead (`events::forget_sql`).
    if pending(&Table::Events) {
        client.batch_execute("DROP TRIGGER IF EXISTS events_forget ON events").await?;
    }
    let colocate = DISTRIBUTED[0].name();
    for table in DISTRIBUTED.iter().filter(|t| pending(t)) {
        client
            .execute(
                "SELECT create_distributed_table($1::text::regclass, $2, colocate_with => $3)",
                &[&table.name(), &DISTRIBUTION_COLUMN, &if table.name() == colocate { "default" } else { colocate }],
            )
            .await?;
    }
    // Referenced tables first: a reference table's foreign keys must point at reference
    // tables, and `Table::ALL` lists the accounts after what refers to them.
    for table in Table::ALL.iter().rev().filter(|t| !DISTRIBUTED.contains(t) && pending(t)) {
        client.execute("SELECT create_reference_table($1::text::regclass)", &[&table.name()]).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_unreachable_node_is_named_without_the_user() {
        let msg = "connection to the remote node postgres@10.0.0.7:5432 failed with the following error: refused";
        assert_eq!(unreachable_node(&SqlState::CONNECTION_FAILURE, msg).as_deref(), Some("10.0.0.7:5432"));
        assert_eq!(unreachable_node(&SqlState::CONNECTION_FAILURE, "the server closed the connection"), None);
        assert_eq!(unreachable_node(&SqlState::UNIQUE_VIOLATION, msg), None);
    }
}
