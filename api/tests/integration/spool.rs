//! `ingest --follow DIR` and `serve --follow DIR`: a spool directory in Warden's filer layout,
//! fed with thousands of files, a crash in the middle, files a crash left claimed, and
//! corrupt files.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::harness::{generated, TestDb};

/// A fresh spool directory under the system's temporary directory.
fn spool_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ideadb-spool-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("tmp")).unwrap();
    std::fs::create_dir_all(dir.join("incoming")).unwrap();
    dir
}

/// As a writer does: the whole file in `tmp`, then renamed into `incoming`.
fn drop_file(dir: &Path, name: &str, bytes: &[u8]) {
    let tmp = dir.join("tmp").join(name);
    std::fs::write(&tmp, bytes).unwrap();
    std::fs::rename(&tmp, dir.join("incoming").join(name)).unwrap();
}

fn files_in(dir: &Path, sub: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir.join(sub))
        .map(|d| d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    names.sort();
    names
}

/// A running feed, killed if a test fails before it stops it.
struct Feed(Option<Child>);

impl Feed {
    fn id(&self) -> u32 {
        self.0.as_ref().expect("running").id()
    }

    fn kill(&mut self) {
        let mut child = self.0.take().expect("running");
        child.kill().unwrap();
        child.wait().unwrap();
    }

    fn finish(mut self) -> std::process::Output {
        self.0.take().expect("running").wait_with_output().unwrap()
    }
}

impl Drop for Feed {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn follow(db: &TestDb, dir: &Path, extra: &[&str]) -> Feed {
    Feed(Some(
        Command::new(env!("CARGO_BIN_EXE_ideadb"))
            .args(["ingest", "--follow"])
            .arg(dir)
            .args(extra)
            .env("DATABASE_URL", &db.url)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    ))
}

async fn stored(db: &TestDb) -> i64 {
    db.sql().await.query_one("SELECT count(*) FROM event_ids", &[]).await.unwrap().get(0)
}

/// Waits until `done` holds, for at most a minute; five on Citus, where each batch is a
/// two-phase commit across the nodes.
async fn until(what: &str, mut done: impl AsyncFnMut() -> bool) {
    let start = Instant::now();
    let limit = Duration::from_secs(if crate::harness::citus_workers().is_empty() { 60 } else { 300 });
    while !done().await {
        assert!(start.elapsed() < limit, "gave up waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn sigterm(feed: &Feed) {
    let ok = Command::new("kill").args(["-TERM", &feed.id().to_string()]).status().unwrap().success();
    assert!(ok);
}

#[tokio::test]
async fn thousands_of_files_a_crash_and_corrupt_files_end_with_every_event_stored_once() {
    let db = TestDb::new().await;
    let dir = spool_dir("crash");
    let msgs = generated(4000, 2, 17);
    let file = |i: usize, m: &Value| (format!("{i:05}.idea"), serde_json::to_vec(m).unwrap());
    // Half before the feed starts, as a queue that filled while it was down.
    for (i, m) in msgs.iter().enumerate().take(2000) {
        let (name, bytes) = file(i, m);
        drop_file(&dir, &name, &bytes);
    }
    drop_file(&dir, "corrupt.idea", br#"{"Format": "IDEA0", "ID": "cut-off""#);
    drop_file(&dir, "invalid.idea", br#"{"Format": "IDEA0", "ID": "no-time", "Category": ["Test"]}"#);
    drop_file(&dir, "empty.idea", b"  \n");

    // The first feed claims a round and dies while storing it: another session holds the ID
    // table, so the round waits in its COPY until the feed is killed.
    let mut holder = db.sql().await;
    let hold = holder.transaction().await.unwrap();
    hold.batch_execute("LOCK TABLE event_ids IN SHARE MODE").await.unwrap();
    let mut first = follow(&db, &dir, &[]);
    until("a round claimed", async || files_in(&dir, "pending").len() == 2000).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    for (i, m) in msgs.iter().enumerate().skip(2000) {
        let (name, bytes) = file(i, m);
        drop_file(&dir, &name, &bytes);
    }
    first.kill();
    hold.rollback().await.unwrap();
    assert_eq!(stored(&db).await, 0, "the crash came before the round was stored");
    assert_eq!(files_in(&dir, "pending").len(), 2000, "its files stay claimed");

    // Files a crash left claimed after storing them (half of them here).
    let extra = generated(200, 1, 18);
    for (i, m) in extra.iter().enumerate() {
        if i % 2 == 0 {
            db.load(std::slice::from_ref(m)).await;
        }
        std::fs::write(dir.join("pending").join(format!("left-{i:03}.idea")), serde_json::to_vec(m).unwrap()).unwrap();
    }

    let second = follow(&db, &dir, &[]);
    until("every file taken", async || files_in(&dir, "incoming").is_empty() && files_in(&dir, "pending").is_empty())
        .await;
    assert_eq!(stored(&db).await, (msgs.len() + extra.len()) as i64, "every event once");
    let c = db.sql().await;
    for m in msgs.iter().step_by(97) {
        let n: i64 =
            c.query_one("SELECT count(*) FROM events WHERE id = $1", &[&m["ID"].as_str()]).await.unwrap().get(0);
        assert_eq!(n, 1, "{}", m["ID"]);
    }
    let errors = files_in(&dir, "errors");
    assert_eq!(
        errors,
        [
            "corrupt.idea",
            "corrupt.idea.reason",
            "empty.idea",
            "empty.idea.reason",
            "invalid.idea",
            "invalid.idea.reason"
        ]
    );
    let reason = std::fs::read_to_string(dir.join("errors/invalid.idea.reason")).unwrap();
    assert!(reason.contains("invalid.idea") && reason.contains("DetectTime"), "{reason}");
    assert!(std::fs::read_to_string(dir.join("errors/empty.idea.reason")).unwrap().contains("no message"));
    assert!(!dir.join("done").exists(), "files are removed unless kept");

    // Idle, it sleeps: no busy polling of the directory.
    let cpu = || {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", second.id())).unwrap();
        let fields: Vec<&str> = stat.rsplit_once(')').unwrap().1.split_whitespace().collect();
        fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
    };
    let before = cpu();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let ticks = cpu() - before;
    assert!(ticks <= 10, "an idle feed used {ticks} clock ticks of CPU in 3 s");

    let t = Instant::now();
    sigterm(&second);
    let out = second.finish();
    assert!(out.status.success(), "{out:?}");
    assert!(t.elapsed() < Duration::from_secs(10), "stops promptly");
    let said = String::from_utf8_lossy(&out.stderr);
    let duplicates: u64 = said
        .split(" duplicates")
        .next()
        .and_then(|head| head.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{said}"));
    assert!(duplicates >= 100, "the claimed files stored before count as duplicates: {said}");
    let _ = std::fs::remove_dir_all(&dir);
    db.drop().await;
}

#[tokio::test]
async fn the_server_follows_a_spool_and_keeps_stored_files_when_asked() {
    let db = TestDb::new().await;
    let dir = spool_dir("serve");
    let dir_arg = dir.to_string_lossy().into_owned();
    let server = crate::server::Server::start_with(&db.url, &["--follow", &dir_arg, "--keep"]);
    let msgs = generated(300, 1, 19);
    for (i, m) in msgs.iter().enumerate() {
        drop_file(&dir, &format!("{i:04}.json"), &serde_json::to_vec(m).unwrap());
    }
    until("all stored", async || stored(&db).await == msgs.len() as i64).await;
    until("all kept", async || files_in(&dir, "done").len() == msgs.len()).await;
    assert!(files_in(&dir, "incoming").is_empty() && files_in(&dir, "pending").is_empty());
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
    db.drop().await;
}
