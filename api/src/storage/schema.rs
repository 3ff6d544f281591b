//! Schema management: migrations (refinery, plain SQL in `migrations/`), Mentat's
//! database_create/drop and index_create/drop.

use super::tables::Table;
use super::upgrade::{Moved, Progress};
use super::{with_client, Error, EventStore, Result};

mod embedded {
    refinery::embed_migrations!("../migrations");
}

/// The migrations that create the default index set, for index_create/index_drop; where
/// several define an index, the last one's definition counts.
const INDEX_MIGRATIONS: [&str; 7] = [
    include_str!("../../../migrations/V2__indexes.sql"),
    include_str!("../../../migrations/V6__net16.sql"),
    include_str!("../../../migrations/V10__partitions.sql"),
    include_str!("../../../migrations/V11__groups_and_newer_columns.sql"),
    include_str!("../../../migrations/V13__event_descriptions.sql"),
    include_str!("../../../migrations/V14__smaller_event_indexes.sql"),
    include_str!("../../../migrations/V15__category_detector_expression.sql"),
];
/// The last schema the data moves of [`EventStore::after_migrations`] were written for: they
/// page through a week by ID, which needs the ID btrees that migration 14 replaced.
const MOVES_VERSION: i32 = 13;
/// Serialises concurrent `migrate` runs (several servers starting at once).
const MIGRATION_LOCK: i64 = 0x1dea_db00;

impl EventStore {
    /// Applies pending migrations; idempotent. Fails with a clear message when PostgreSQL is
    /// unreachable or the ip4r extension is not installed on the server.
    pub async fn migrate(&self) -> Result<()> {
        self.migrate_with(&|_, _| {}).await.map(|_| ())
    }

    /// [`migrate`](Self::migrate), then the default indexes, the partitions of the coming
    /// weeks and the move of a previous layout's events, reporting the move's progress.
    pub async fn migrate_with(&self, progress: Progress<'_>) -> Result<Moved> {
        self.run_migrations(None, progress).await
    }

    /// Applies the migrations up to `version` alone, as an older release did: for tests of
    /// upgrades.
    #[doc(hidden)]
    pub async fn migrate_to(&self, version: i32) -> Result<()> {
        self.run_migrations(Some(version), &|_, _| {}).await.map(|_| ())
    }

    async fn run_migrations(&self, target: Option<i32>, progress: Progress<'_>) -> Result<Moved> {
        // Building an index on a large table takes longer than any query may.
        let (mut client, conn) = self.unpooled_client().await?;
        let available =
            client.query_opt("SELECT 1 FROM pg_available_extensions WHERE name = 'ip4r'", &[]).await?.is_some();
        if !available {
            let version: String = client.query_one("SHOW server_version_num", &[]).await?.get(0);
            let major = version.get(..2).unwrap_or("15");
            return Err(Error::Setup(format!(
                "the PostgreSQL extension ip4r is not installed on the database server ({}); \
                 install the Debian package postgresql-{major}-ip4r there (apt-get install postgresql-{major}-ip4r)",
                self.describe()
            )));
        }
        client.execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK]).await?;
        let result = match target {
            Some(v) => run_to(&mut client, Some(v)).await.map(|()| Moved::default()),
            None => match run_to(&mut client, Some(MOVES_VERSION)).await {
                Ok(()) => match self.after_migrations(progress).await {
                    Ok(moved) => match run_to(&mut client, None).await {
                        Ok(()) => super::citus::distribute(&client).await.map(|()| moved),
                        Err(e) => Err(e),
                    },
                    Err(e) => Err(e),
                },
                Err(e) => Err(e),
            },
        };
        client.execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK]).await?;
        drop(client);
        let _ = conn.await;
        result
    }

    /// What plain SQL migrations cannot do: partitions by the calendar, and moving data by
    /// code.
    async fn after_migrations(&self, progress: Progress<'_>) -> Result<Moved> {
        self.create_partitions_ahead(chrono::Utc::now().naive_utc()).await?;
        let mut moved = self.move_previous_layout(progress).await?;
        moved.refill = self.refill_weeks(progress).await?;
        Ok(moved)
    }

    /// Mentat's `database_create`: the schema, as `migrate` builds it.
    pub async fn database_create(&self) -> Result<()> {
        self.migrate().await
    }

    /// Mentat's `database_drop`: removes every ideadb table and the migration history.
    pub async fn database_drop(&self) -> Result<()> {
        let sql = format!(
            "DROP TABLE IF EXISTS {} CASCADE; DROP TABLE IF EXISTS refinery_schema_history, events_v9, events_json_v9; \
             DROP FUNCTION IF EXISTS events_forget() CASCADE;",
            Table::ALL.iter().map(|t| t.name()).collect::<Vec<_>>().join(", ")
        );
        with_client!(self, |c| c.batch_execute(&sql))
    }

    /// Mentat's `index_create`: the default index set (idempotent).
    pub async fn index_create(&self) -> Result<()> {
        let sql = default_indexes().collect::<Vec<_>>().join(";\n");
        with_client!(self, |c| c.batch_execute(&sql))
    }

    /// Mentat's `index_drop`: drops every index of the default set (keys stay).
    pub async fn index_drop(&self) -> Result<()> {
        let names: Vec<String> = default_indexes().map(|stmt| index_name(&stmt)).collect();
        let sql = format!("DROP INDEX IF EXISTS {}", names.join(", "));
        with_client!(self, |c| c.batch_execute(&sql))
    }

    /// The version of the last applied migration, or None on an empty database.
    pub async fn schema_version(&self) -> Result<Option<i32>> {
        let exists =
            with_client!(self, |c| c.query_one("SELECT to_regclass('refinery_schema_history') IS NOT NULL", &[]))?;
        if !exists.get::<_, bool>(0) {
            return Ok(None);
        }
        let row = with_client!(self, |c| c.query_one("SELECT max(version) FROM refinery_schema_history", &[]))?;
        Ok(row.get(0))
    }
}

/// Applies the migrations up to `target` (all without one).
async fn run_to(client: &mut tokio_postgres::Client, target: Option<i32>) -> Result<()> {
    let mut runner = embedded::migrations::runner();
    if let Some(v) = target {
        runner = runner.set_target(refinery::Target::Version(v));
    }
    match runner.run_async(client).await {
        Ok(_) => Ok(()),
        Err(e) => Err(Error::Setup(format!("migration failed: {e}"))),
    }
}

/// The `CREATE INDEX` statements of the index migrations (their other statements create
/// tables and fill them, which only a migration may do once), the last definition of each.
fn default_indexes() -> impl Iterator<Item = String> {
    let all = INDEX_MIGRATIONS.into_iter().flat_map(|file| {
        let code: Vec<&str> = file.lines().filter(|l| !l.trim_start().starts_with("--")).collect();
        let code = code.join("\n");
        let stmts: Vec<String> = code.split(';').map(str::trim).map(String::from).collect();
        stmts.into_iter().filter(|stmt| stmt.starts_with("CREATE INDEX"))
    });
    // A table's key (`*_key`: the hash index that finds an ID) is not in the set.
    let all = all.filter(|stmt| !index_name(stmt).ends_with("_key"));
    let mut by_name: Vec<(String, String)> = Vec::new();
    for stmt in all {
        let name = index_name(&stmt);
        by_name.retain(|(n, _)| *n != name);
        by_name.push((name, stmt));
    }
    by_name.into_iter().map(|(_, stmt)| stmt)
}

fn index_name(stmt: &str) -> String {
    stmt.split("IF NOT EXISTS ").nth(1).and_then(|s| s.split_whitespace().next()).unwrap_or_default().to_string()
}
