//! A fresh database per test, cloned from a template migrated once per test binary.
//!
//! `IDEADB_TEST_ADMIN_URL` (set by `make test`) names a server and a database where we may
//! CREATE DATABASE; without it the tests fail loudly rather than pass without a database.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

use ideadb::idea;
use ideadb::storage::{EventStore, NewEvent, StoreConfig};
use serde_json::Value;
use tokio::sync::{Mutex, OnceCell};

static TEMPLATE: OnceCell<String> = OnceCell::const_new();
static CREATE_LOCK: Mutex<()> = Mutex::const_new(());
static NEXT: AtomicU32 = AtomicU32::new(0);

pub fn admin_url() -> String {
    std::env::var("IDEADB_TEST_ADMIN_URL")
        .expect("IDEADB_TEST_ADMIN_URL is not set: run the tests with `make test`, which provides a PostgreSQL server with ip4r")
}

/// The URL of another database on the admin server.
pub fn url_for(db: &str) -> String {
    url_on(&admin_url(), db)
}

/// The URL of the database `db` on the server of `server_url`.
fn url_on(server_url: &str, db: &str) -> String {
    let (base, query) = server_url.split_once('?').map_or((server_url, None), |(b, q)| (b, Some(q)));
    let base = base.rsplit_once('/').map_or(base, |(b, _)| b);
    match query {
        Some(q) => format!("{base}/{db}?{q}"),
        None => format!("{base}/{db}"),
    }
}

async fn admin() -> tokio_postgres::Client {
    let (c, conn) =
        tokio_postgres::connect(&admin_url(), tokio_postgres::NoTls).await.expect("connect to the admin database");
    tokio::spawn(conn);
    c
}

/// This run's part of every database name: `make test` sets `IDEADB_TEST_RUN` and afterwards
/// drops only the databases of its own run, never a concurrent run's.
fn run() -> String {
    let run = std::env::var("IDEADB_TEST_RUN").unwrap_or_default();
    let run = if run.chars().all(|c| c.is_ascii_alphanumeric()) && !run.is_empty() { run } else { "x".into() };
    format!("{run}_{}", std::process::id())
}

async fn template() -> &'static str {
    TEMPLATE
        .get_or_init(|| async {
            let name = format!("ideadb_tpl_{}", run());
            let a = admin().await;
            a.batch_execute(&format!("DROP DATABASE IF EXISTS {name}")).await.unwrap();
            a.batch_execute(&format!("CREATE DATABASE {name}")).await.unwrap();
            EventStore::new(&StoreConfig::new(url_for(&name))).unwrap().migrate().await.expect("migrate the template");
            name
        })
        .await
}

/// A migrated, empty database, dropped by [`TestDb::drop`] or, when a test panics before it,
/// when the value is dropped.
pub struct TestDb {
    pub name: String,
    pub url: String,
    pub store: EventStore,
    dropped: bool,
}

/// Drops a test database; on Citus on each node by itself, since a propagated DROP fails
/// while a worker's own daemons are connected to it, which FORCE ends only where it runs.
async fn drop_database(name: &str) {
    let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
    let workers = citus_workers();
    if workers.is_empty() {
        return drop_on(&admin().await, &sql, || async {}).await;
    }
    // A test that ended a server mid-write may leave a prepared transaction of Citus's
    // two-phase commit, which would keep the database; Citus settles it here.
    if let Ok((c, conn)) = tokio_postgres::connect(&url_for(name), tokio_postgres::NoTls).await {
        tokio::spawn(conn);
        let _ = c.batch_execute("SELECT recover_prepared_transactions()").await;
    }
    for url in std::iter::once(admin_url()).chain(workers) {
        let (c, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.expect("connect to a Citus node");
        tokio::spawn(conn);
        c.batch_execute("SET citus.enable_create_database_propagation = off").await.unwrap();
        drop_on(&c, &sql, || roll_back_prepared(url_on(&url, name))).await;
    }
}

/// A worker's prepared transactions of a coordinator database that is gone can never be
/// settled by it, and keep the worker's database: they are rolled back there.
async fn roll_back_prepared(url: String) {
    let Ok((c, conn)) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await else { return };
    tokio::spawn(conn);
    let gids = c
        .query("SELECT gid FROM pg_prepared_xacts WHERE database = current_database()", &[])
        .await
        .map(|rows| rows.iter().map(|r| r.get::<_, String>(0)).collect::<Vec<_>>())
        .unwrap_or_default();
    for gid in gids {
        let _ = c.batch_execute(&format!("ROLLBACK PREPARED '{}'", gid.replace('\'', "''"))).await;
    }
}

/// FORCE ends the sessions present when it runs, but on a Citus worker a backend serving a
/// coordinator session that was just ended, or a maintenance daemon that restarts, can
/// still hold the database for a moment, and a prepared transaction holds it until settled
/// (both "being accessed by other users"): `settle`, then try again.
async fn drop_on<F: std::future::Future<Output = ()>>(c: &tokio_postgres::Client, sql: &str, settle: impl Fn() -> F) {
    const TRIES: u32 = 40;
    for attempt in 1..=TRIES {
        match c.batch_execute(sql).await {
            Ok(()) => return,
            Err(e) if attempt < TRIES && e.code() == Some(&tokio_postgres::error::SqlState::OBJECT_IN_USE) => {
                settle().await;
                tokio::time::sleep(std::time::Duration::from_millis(250)).await;
            }
            Err(e) => panic!("{sql}: {:?}", e.as_db_error().map_or_else(|| e.to_string(), |d| format!("{d}"))),
        }
    }
}

/// The workers of a Citus cluster whose coordinator is the admin server (`make test-citus`
/// sets `IDEADB_TEST_CITUS_WORKERS` to their admin URLs, space-separated); empty on one server.
pub fn citus_workers() -> Vec<String> {
    std::env::var("IDEADB_TEST_CITUS_WORKERS").unwrap_or_default().split_whitespace().map(String::from).collect()
}

/// Makes the new database `name` a Citus database with the cluster's workers, as an operator
/// does before `ideadb migrate` (README, "Running on a Citus cluster"). Citus propagates
/// CREATE DATABASE to the workers, but neither its extension nor the node list, which are
/// per database; nor does it create a database from any template but template1, so on Citus
/// every test database is migrated afresh.
async fn join_workers(store: &EventStore, name: &str) {
    let workers: Vec<String> = citus_workers().iter().map(|w| url_on(w, name)).collect();
    store.join_cluster(&workers).await.expect("join the Citus workers");
}

impl TestDb {
    pub async fn new() -> Self {
        if !citus_workers().is_empty() {
            let db = Self::blank().await;
            db.store.migrate().await.expect("migrate a Citus database");
            return db;
        }
        let tpl = template().await;
        let name = format!("ideadb_t_{}_{}", run(), NEXT.fetch_add(1, Ordering::Relaxed));
        {
            let _guard = CREATE_LOCK.lock().await;
            admin()
                .await
                .batch_execute(&format!("CREATE DATABASE {name} TEMPLATE {tpl}"))
                .await
                .expect("clone the template");
        }
        let url = url_for(&name);
        let store = EventStore::new(&StoreConfig::new(url.clone())).unwrap();
        Self { name, url, store, dropped: false }
    }

    /// An empty database without any schema, for tests of migrations.
    pub async fn blank() -> Self {
        let name = format!("ideadb_t_{}_{}", run(), NEXT.fetch_add(1, Ordering::Relaxed));
        admin().await.batch_execute(&format!("CREATE DATABASE {name}")).await.expect("create a database");
        let url = url_for(&name);
        let store = EventStore::new(&StoreConfig::new(url.clone())).unwrap();
        if !citus_workers().is_empty() {
            join_workers(&store, &name).await;
        }
        Self { name, url, store, dropped: false }
    }

    pub async fn drop(mut self) {
        self.dropped = true;
        drop_database(&self.name).await;
    }

    /// A plain connection for checks the store does not offer.
    pub async fn sql(&self) -> tokio_postgres::Client {
        let (c, conn) = tokio_postgres::connect(&self.url, tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(conn);
        c
    }

    /// Stores messages through the bulk path; panics on any failure.
    pub async fn load(&self, messages: &[Value]) {
        for chunk in messages.chunks(1000) {
            let batch = chunk.iter().map(event).collect();
            self.store.insert_batch(batch).await.unwrap();
        }
    }
}

pub fn event(v: &Value) -> NewEvent {
    let raw = serde_json::to_vec(v).unwrap();
    NewEvent { row: idea::parse(&raw).unwrap_or_else(|e| panic!("{e}: {v}")), raw }
}

pub fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/idea-corpus")
}

/// The 135 messages of fixture-135.json.
pub fn fixture() -> Vec<Value> {
    let text = std::fs::read_to_string(corpus_dir().join("fixture-135.json"))
        .expect("../shared/data/idea-corpus/fixture-135.json");
    let list: Vec<Value> = serde_json::from_str(&text).unwrap();
    list.into_iter().map(|mut x| x["event"].take()).collect()
}

/// Generated messages, parsed back from `ideadb gen`'s NDJSON.
pub fn generated(count: u64, days: u32, seed: u64) -> Vec<Value> {
    generated_until(count, days, seed, chrono::Utc::now().naive_utc())
}

/// [`generated`], the newest event stored at `end`.
pub fn generated_until(count: u64, days: u32, seed: u64, end: chrono::NaiveDateTime) -> Vec<Value> {
    let mut out = Vec::new();
    ideadb::gen::write(&mut out, count, days, seed, end).unwrap();
    out.split(|b| *b == b'\n').filter(|l| !l.is_empty()).map(|l| serde_json::from_slice(l).unwrap()).collect()
}

/// The version of the newest migration in `migrations/`.
pub fn latest_migration() -> i32 {
    std::fs::read_dir(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../migrations"))
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.strip_prefix('V')?.split("__").next()?.parse().ok())
        .max()
        .unwrap()
}

impl Drop for TestDb {
    /// A test that panicked never reached [`TestDb::drop`]: its database goes here, on a
    /// thread of its own since the test's runtime may be gone.
    fn drop(&mut self) {
        if self.dropped {
            return;
        }
        let name = self.name.clone();
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            rt.block_on(drop_database(&name));
            Some(())
        })
        .join();
    }
}
