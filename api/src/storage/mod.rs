//! The event storage service: the Rust counterpart of `mentat.services.eventstorage`.
//!
//! It knows nothing of HTTP. Every method takes typed values, runs parameterised SQL on a
//! pooled connection, and reports failures as [`Error`] kinds like Mentat's: data error,
//! integrity error (duplicate ID), connection error (after one reconnect and retry) and a
//! cancelled query (the configurable statement timeout).

mod addr;
mod aggregate;
mod bulk;
mod citus;
mod enums;
mod events;
mod export;
pub mod ghost;
mod imports;
mod message;
mod params;
mod partitions;
mod query;
mod refill;
mod schema;
mod sessions;
mod statistics;
mod status;
mod tables;
mod thresholds;
mod upgrade;
mod users;

use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod};
use tokio::sync::OnceCell;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::Type;
use tokio_postgres::NoTls;

pub use aggregate::{AggregateColumn, TimelineBucket};
pub use bulk::{BatchOutcome, NewEvent, BATCH_SIZE};
pub use citus::Flavour;
pub use enums::EnumColumn;
pub use events::{Page, StoredEvent, TimeColumn};
pub use export::EventChunks;
pub use imports::{ImportCursor, ImportedThreshold, ImportedThresholded};
pub use params::{
    Cursor, Hostname, QueryKind, SearchParams, SortBy, SortDir, SortField, Values, Visibility, ANY, EMPTY,
    RESTRICTED_TLP,
};
pub use partitions::{week_of, PartitionStatus};
pub use refill::Refilled;
pub use status::{DatabaseStatus, NodeStatus, TableStatus};
pub use tables::Table;
pub use thresholds::{RelapsedEvent, ThresholdRecord};
pub use upgrade::{Moved, Progress};
pub use users::{ApiKeyRecord, UserRecord};

/// What can go wrong in the storage layer.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The values given cannot be stored or searched (PostgreSQL class 22, or our own check).
    #[error("invalid data: {0}")]
    Data(String),
    /// A stored event cannot be read back (never stored so: damage or a bug).
    #[error("{0}")]
    Corrupt(String),
    /// Something with this key is already stored (an event ID, a login); the text says what.
    #[error("{0}")]
    Integrity(String),
    /// PostgreSQL cannot be reached, even after a reconnect.
    #[error("database unavailable: {0}")]
    Connection(String),
    /// A node of the Citus cluster (`host:port`) cannot be reached: the statement failed as
    /// a whole, never answered from the other nodes alone.
    #[error("the cluster node {0} is unavailable")]
    NodeUnavailable(String),
    /// The statement timeout cancelled the query.
    #[error(
        "the query took longer than the statement timeout and was cancelled; narrow the search \
         (a shorter time range, more specific addresses or fewer alternatives)"
    )]
    Timeout,
    /// The database is not set up as ideadb needs (for example ip4r is missing).
    #[error("{0}")]
    Setup(String),
    #[error("database error: {0}")]
    Other(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<tokio_postgres::Error> for Error {
    fn from(e: tokio_postgres::Error) -> Self {
        let Some(db) = e.as_db_error() else {
            return if is_retryable(&e) { Error::Connection(e.to_string()) } else { Error::Other(e.to_string()) };
        };
        let code = db.code();
        let msg = db.message().to_string();
        if *code == SqlState::UNIQUE_VIOLATION {
            Error::Integrity(format!("already stored: {}", db.detail().unwrap_or(&msg)))
        } else if *code == SqlState::QUERY_CANCELED {
            Error::Timeout
        } else if code.code().starts_with("22") {
            Error::Data(msg)
        } else if let Some(node) = citus::unreachable_node(code, &msg) {
            Error::NodeUnavailable(node)
        } else if code.code().starts_with("08") || code.code().starts_with("57P") {
            Error::Connection(msg)
        } else {
            Error::Other(msg)
        }
    }
}

impl From<deadpool_postgres::PoolError> for Error {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        match e {
            deadpool_postgres::PoolError::Backend(e) => Error::from(e),
            other => Error::Connection(other.to_string()),
        }
    }
}

/// Runs `$body` with `$c` bound to a pooled client. When the connection broke underneath it
/// (Mentat's Operational/Interface error), reconnects and retries once: the broken
/// connection and every idle one are dropped (a server restart or a terminated backend
/// breaks them together), so the retry runs on a fresh connection.
macro_rules! with_client {
    ($store:expr, |$c:ident| $body:expr) => {{
        let mut retried = false;
        loop {
            #[allow(unused_mut)]
            let mut $c = $store.client().await?;
            match $body.await {
                Ok(v) => break Ok::<_, $crate::storage::Error>(v),
                Err(e) if !retried && $crate::storage::is_retryable(&e) => {
                    retried = true;
                    tracing::warn!(error = %e, "database connection lost; reconnecting and retrying once");
                    $store.forget_connections($c);
                }
                Err(e) => break Err($crate::storage::Error::from(e)),
            }
        }
    }};
}
pub(crate) use with_client;

/// A broken connection (Mentat's Operational/Interface error) rather than a bad statement.
pub(crate) fn is_retryable(e: &tokio_postgres::Error) -> bool {
    use std::error::Error as _;
    e.is_closed()
        || e.source().is_some_and(|s| s.is::<std::io::Error>())
        || e.code().is_some_and(|c| c.code().starts_with("08") || c.code().starts_with("57P"))
}

/// Connection settings of the store.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    pub database_url: String,
    /// Cancels any statement running longer than this.
    pub statement_timeout: Duration,
    pub pool_size: usize,
    /// How long a caller waits for a pooled connection before the database counts as
    /// unavailable (never forever: a pool held by slow clients must not hang everyone).
    pub wait_timeout: Duration,
}

impl StoreConfig {
    pub fn new(database_url: impl Into<String>) -> Self {
        Self {
            database_url: database_url.into(),
            statement_timeout: Duration::from_secs(30),
            pool_size: 8,
            wait_timeout: Duration::from_secs(5),
        }
    }
}

/// A transaction left idle this long is ended by the server: the backstop for a reader that
/// stops reading (an export's send gives up well before, see [`EventStore::export_events`]).
const IDLE_IN_TRANSACTION: Duration = Duration::from_secs(120);

/// ip4r's types have OIDs assigned at `CREATE EXTENSION`, so they are looked up once.
#[derive(Debug, Clone)]
pub(crate) struct IpTypes {
    iprange: Type,
    iprange_array: Type,
    ip4r: Type,
    ip6r: Type,
}

/// A handle on the event database: cheap to clone, shares one connection pool.
#[derive(Clone)]
pub struct EventStore {
    pool: Pool,
    config: tokio_postgres::Config,
    ip_types: std::sync::Arc<OnceCell<IpTypes>>,
    codec: std::sync::Arc<message::Codec>,
    partitions: std::sync::Arc<partitions::Known>,
    flavour: std::sync::Arc<OnceCell<Flavour>>,
}

impl EventStore {
    /// Builds the pool; connections are opened lazily, so this never blocks on the network.
    pub fn new(cfg: &StoreConfig) -> Result<Self> {
        let mut pg: tokio_postgres::Config =
            cfg.database_url.parse().map_err(|e| Error::Setup(format!("invalid database URL: {e}")))?;
        pg.options(format!(
            "-c statement_timeout={} -c idle_in_transaction_session_timeout={}",
            cfg.statement_timeout.as_millis(),
            IDLE_IN_TRANSACTION.as_millis()
        ));
        if pg.get_application_name().is_none() {
            pg.application_name("ideadb");
        }
        let mgr = Manager::from_config(pg.clone(), NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
        let pool = Pool::builder(mgr)
            .max_size(cfg.pool_size.max(1))
            .wait_timeout(Some(cfg.wait_timeout))
            .create_timeout(Some(cfg.wait_timeout))
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .build()
            .map_err(|e| Error::Setup(e.to_string()))?;
        Ok(Self {
            pool,
            config: pg,
            ip_types: Default::default(),
            codec: Default::default(),
            partitions: Default::default(),
            flavour: Default::default(),
        })
    }

    /// A pooled client; a failed connect is retried once after a short pause.
    pub(crate) async fn client(&self) -> Result<Object> {
        match self.pool.get().await {
            Ok(c) => Ok(c),
            Err(first) => {
                tracing::warn!(error = %first, "cannot get a database connection; retrying once");
                tokio::time::sleep(Duration::from_millis(200)).await;
                self.pool.get().await.map_err(|e| match Error::from(e) {
                    Error::Connection(m) => Error::Connection(format!("{m} ({})", self.describe())),
                    other => other,
                })
            }
        }
    }

    /// A connection outside the pool and without a statement timeout, for work that takes
    /// minutes (migrations, rebuilding indexes); drop the client, then await the task.
    pub(crate) async fn unpooled_client(
        &self,
    ) -> Result<(tokio_postgres::Client, tokio::task::JoinHandle<Result<(), tokio_postgres::Error>>)> {
        let (client, conn) = self
            .config
            .connect(NoTls)
            .await
            .map_err(|e| Error::Connection(format!("cannot connect to {}: {e}", self.describe())))?;
        let conn = tokio::spawn(conn);
        client.batch_execute("SET statement_timeout = 0").await?;
        Ok((client, conn))
    }

    /// The most connections the pool opens.
    pub fn pool_size(&self) -> usize {
        self.pool.status().max_size
    }

    /// Drops `broken` and every idle connection, so the next client is a fresh connection.
    pub(crate) fn forget_connections(&self, broken: Object) {
        let _ = Object::take(broken);
        self.pool.retain(|_, _| false);
    }

    /// Host, port and database, for messages (never the password).
    pub fn describe(&self) -> String {
        let host = self.config.get_hosts().first().map(|h| format!("{h:?}")).unwrap_or_default();
        let port = self.config.get_ports().first().copied().unwrap_or(5432);
        let db = self.config.get_dbname().unwrap_or("(default)");
        format!("PostgreSQL at {host}:{port}, database {db}")
    }

    async fn ip_types(&self) -> Result<IpTypes> {
        let t = self
            .ip_types
            .get_or_try_init(|| async {
                let stmt = with_client!(self, |c| c.prepare("SELECT $1::iprange, $2::iprange[], $3::ip4r, $4::ip6r"))?;
                let p = stmt.params();
                Ok::<_, Error>(IpTypes {
                    iprange: p[0].clone(),
                    iprange_array: p[1].clone(),
                    ip4r: p[2].clone(),
                    ip6r: p[3].clone(),
                })
            })
            .await?;
        Ok(t.clone())
    }
}
