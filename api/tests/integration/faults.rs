//! Fault injection: a private PostgreSQL cluster is stopped and started again under a running
//! server while a feeder ingests over HTTP, a CLI ingest is half-way through its file and an
//! analyst searches. While it is down, clients get 503 with `Retry-After` (never a 500, a hang
//! or a dropped connection) and the CLI fails with a message; once it is back, the same server
//! answers again without a restart, and the feeder's retried batches and the CLI run again
//! store every message exactly once.

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ideadb::auth::{api_key_hash, api_key_prefix, new_api_key};
use ideadb::storage::{EventStore, StoreConfig};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use reqwest::StatusCode;
use serde_json::Value;

use crate::events_http::ndjson;
use crate::harness::generated;
use crate::server::Server;

const PG_BIN: &str = "/usr/lib/postgresql/15/bin";

/// A PostgreSQL cluster of this test's own, so stopping it disturbs no other test.
struct Cluster {
    dir: PathBuf,
    port: u16,
}

/// Runs a PostgreSQL tool as the `postgres` account when we are root (it refuses root).
fn pg(tool: &str, args: &[&str]) -> std::process::Output {
    let path = format!("{PG_BIN}/{tool}");
    let mut cmd = if is_root() { Command::new("runuser") } else { Command::new(&path) };
    if is_root() {
        cmd.args(["-u", "postgres", "--", &path]);
    }
    cmd.args(args).output().unwrap_or_else(|e| panic!("run {tool}: {e}"))
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

impl Cluster {
    fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let dir = std::env::temp_dir().join(format!("ideadb-faults-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        if is_root() {
            assert!(Command::new("chown").args(["-R", "postgres:", dir.to_str().unwrap()]).status().unwrap().success());
        }
        let data = dir.join("data");
        let out = pg("initdb", &["-D", data.to_str().unwrap(), "--auth=trust", "-U", "postgres"]);
        assert!(out.status.success(), "initdb: {}", String::from_utf8_lossy(&out.stderr));
        let cluster = Cluster { dir, port };
        cluster.resume();
        cluster
    }

    fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    fn resume(&self) {
        let (data, log) = (self.dir.join("data"), self.dir.join("log"));
        let opts = format!("-p {} -k {} -c listen_addresses=127.0.0.1", self.port, self.dir.display());
        let out =
            pg("pg_ctl", &["-D", data.to_str().unwrap(), "-l", log.to_str().unwrap(), "-w", "-o", &opts, "start"]);
        assert!(out.status.success(), "pg_ctl start: {}", String::from_utf8_lossy(&out.stderr));
    }

    fn stop(&self) {
        let data = self.dir.join("data");
        let out = pg("pg_ctl", &["-D", data.to_str().unwrap(), "-w", "-m", "fast", "stop"]);
        assert!(out.status.success(), "pg_ctl stop: {}", String::from_utf8_lossy(&out.stderr));
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.dir.join("data");
        let _ = pg("pg_ctl", &["-D", data.to_str().unwrap(), "-m", "immediate", "stop"]);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn key_for(store: &EventStore, login: &str, role: &str) -> String {
    let u = store.user_create(login, &[role], None).await.unwrap();
    let key = new_api_key().unwrap();
    store.api_key_add(u.id, &api_key_hash(&key), &api_key_prefix(&key)).await.unwrap();
    key
}

/// What clients saw while the database was down.
#[derive(Default, Debug)]
struct Seen {
    unavailable: usize,
    without_retry_after: usize,
}

/// Posts each batch until the server acknowledges it (200 or 422), waiting out 503s as a
/// feeder should; any other answer fails the test.
async fn feed(base: String, key: String, batches: Vec<String>, acked: tokio::sync::watch::Sender<usize>) -> Seen {
    let http = reqwest::Client::new();
    let mut seen = Seen::default();
    for (i, body) in batches.into_iter().enumerate() {
        loop {
            let resp = http
                .post(format!("{base}/api/events"))
                .header(AUTHORIZATION, &key)
                .header(CONTENT_TYPE, "application/x-ndjson")
                .body(body.clone())
                .timeout(Duration::from_secs(30))
                .send()
                .await
                .unwrap_or_else(|e| panic!("batch {i}: the server dropped the request: {e}"));
            match resp.status() {
                StatusCode::OK | StatusCode::UNPROCESSABLE_ENTITY => break,
                StatusCode::SERVICE_UNAVAILABLE => {
                    seen.unavailable += 1;
                    seen.without_retry_after += usize::from(resp.headers().get("retry-after").is_none());
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                other => panic!("batch {i}: {other}: {}", resp.text().await.unwrap_or_default()),
            }
        }
        acked.send_replace(i + 1);
    }
    seen
}

async fn sql(url: &str) -> tokio_postgres::Client {
    let (c, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(conn);
    c
}

fn cli_ingest(url: &str, path: &std::path::Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_ideadb"))
        .args(["ingest", path.to_str().unwrap()])
        .env("DATABASE_URL", url)
        .output()
        .expect("run ideadb ingest")
}

/// Messages sent: 2,500 over HTTP, the rest by the CLI (enough that it is still running a
/// moment after its first batch).
const TOTAL: u64 = 42_500;

#[tokio::test]
async fn a_database_restart_loses_nothing_and_clients_are_told_to_retry() {
    let cluster = Arc::new(tokio::task::spawn_blocking(Cluster::start).await.unwrap());
    sql(&cluster.url("postgres")).await.batch_execute("CREATE DATABASE ideadb").await.unwrap();
    let url = cluster.url("ideadb");
    let store = EventStore::new(&StoreConfig::new(url.clone())).unwrap();
    store.migrate().await.unwrap();
    let feeder = key_for(&store, "feeder", "maintainer").await;
    let analyst = key_for(&store, "analyst", "user").await;
    let server = Server::start(&url);

    let messages = generated(TOTAL, 1, 31);
    let (by_http, by_cli) = messages.split_at(2_500);
    let batches: Vec<String> = by_http.chunks(100).map(ndjson).collect();
    let cli_file = cluster.dir.join("cli.ndjson");
    std::fs::write(&cli_file, ndjson(by_cli)).unwrap();

    let (acked_tx, mut acked) = tokio::sync::watch::channel(0);
    let fed = tokio::spawn(feed(server.base.clone(), feeder.clone(), batches, acked_tx));
    acked.wait_for(|n| *n >= 5).await.unwrap();
    // A CLI ingest is stopped half-way: once it has committed a batch, the database goes.
    let mut running = Command::new(env!("CARGO_BIN_EXE_ideadb"))
        .args(["ingest", cli_file.to_str().unwrap()])
        .env("DATABASE_URL", &url)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let counter = sql(&url).await;
    let stored = || async { counter.query_one("SELECT count(*) FROM event_ids", &[]).await.unwrap().get::<_, i64>(0) };
    while stored().await < 500 + 2_000 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(running.try_wait().unwrap().is_none(), "the CLI ingest ended before the database stopped");

    let c = cluster.clone();
    tokio::task::spawn_blocking(move || c.stop()).await.unwrap();
    let interrupted = tokio::task::spawn_blocking(move || running.wait_with_output()).await.unwrap().unwrap();
    assert!(!interrupted.status.success(), "a CLI ingest whose database went fails");
    let why = String::from_utf8_lossy(&interrupted.stderr);
    assert!(why.contains("database"), "{why}");
    let http = reqwest::Client::new();
    let down = Instant::now();
    let search = http
        .get(server.url("/api/events/search?submit=Search"))
        .header(AUTHORIZATION, &analyst)
        .timeout(Duration::from_secs(20))
        .send()
        .await
        .expect("a search while the database is down is answered");
    assert_eq!(search.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(search.headers().contains_key("retry-after"));
    let health = http.get(server.url("/api/health")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(down.elapsed() < Duration::from_secs(15), "answers while down took {:?}", down.elapsed());
    let cli = tokio::task::spawn_blocking({
        let (url, path) = (url.clone(), cli_file.clone());
        move || cli_ingest(&url, &path)
    })
    .await
    .unwrap();
    assert!(!cli.status.success(), "a CLI ingest without a database fails");
    assert!(String::from_utf8_lossy(&cli.stderr).contains("database"), "{}", String::from_utf8_lossy(&cli.stderr));

    tokio::time::sleep(Duration::from_secs(2)).await;
    let c = cluster.clone();
    tokio::task::spawn_blocking(move || c.resume()).await.unwrap();
    let seen = tokio::time::timeout(Duration::from_secs(120), fed).await.expect("the feeder finishes").unwrap();
    assert!(seen.unavailable > 0, "the feeder never saw the database down: {seen:?}");
    assert_eq!(seen.without_retry_after, 0, "{seen:?}");
    let cli = tokio::task::spawn_blocking({
        let url = url.clone();
        move || cli_ingest(&url, &cli_file)
    })
    .await
    .unwrap();
    assert!(cli.status.success(), "{}", String::from_utf8_lossy(&cli.stderr));

    // The same server answers again, and every message is stored once.
    let search = server.get("/api/events/search?submit=Search&count=true&dt_from=", &analyst).await;
    assert_eq!(search.status(), StatusCode::OK);
    let body: Value = search.json().await.unwrap();
    assert_eq!(body["total"], TOTAL);
    let row = sql(&url).await.query_one("SELECT count(*), count(DISTINCT id) FROM events", &[]).await.unwrap();
    assert_eq!((row.get::<_, i64>(0), row.get::<_, i64>(1)), (TOTAL as i64, TOTAL as i64));
    assert_eq!(http.get(server.url("/api/health")).send().await.unwrap().status(), StatusCode::OK);
    let dashboard = server.get("/api/events/dashboard?submit=1&dt_from=now-1d", &analyst).await;
    assert_eq!(dashboard.status(), StatusCode::OK);
    drop(server);
}
