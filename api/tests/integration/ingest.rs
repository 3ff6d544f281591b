//! Bulk ingest through the library and the CLI: rejects reported with file and line,
//! neighbours stored, re-runs idempotent, a killed run completed by a re-run.

use std::process::Command;
use std::sync::{Arc, Mutex};

use ideadb::ingest::{self, Input, Options};
use ideadb::storage::SearchParams;
use indicatif::ProgressBar;

use crate::harness::{generated, TestDb};

fn write(dir: &std::path::Path, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn msg(id: &str) -> String {
    format!(
        r#"{{"Format":"IDEA0","ID":"{id}","DetectTime":"2024-05-01T10:00:00Z","Category":["Test"],"Node":[{{"Name":"org.test"}}]}}"#
    )
}

#[tokio::test]
async fn mixed_input_stores_exactly_the_valid_messages_and_reports_the_rest() {
    let db = TestDb::new().await;
    let dir = tempdir();
    let ndjson = [
        msg("a1"),
        "{\"Format\": \"IDEA0\", broken".into(),
        msg("a2"),
        msg("a1"),
        r#"{"Format":"IDEA0","ID":"bad","DetectTime":"2024-05-01T10:00:00","Category":["Test"]}"#.into(),
        msg("a3"),
    ]
    .join("\n");
    let f1 = write(&dir, "mixed.ndjson", &ndjson);
    let f2 = write(&dir, "list.json", &format!("[{}, {{\"Format\": \"IDEA0\"}}, {}]", msg("b1"), msg("a2")));
    let rejections = Arc::new(Mutex::new(Vec::new()));
    let sink = rejections.clone();
    let opts = Options { batch_size: 2, writers: 2, keep_storage_time: true };
    let s = ingest::run(
        &db.store,
        vec![Input::Path(f1.clone()), Input::Path(f2.clone())],
        &opts,
        ProgressBar::hidden(),
        move |r| sink.lock().unwrap().push(r),
    )
    .await
    .unwrap();
    assert_eq!((s.stored, s.duplicates, s.rejected), (4, 2, 3));
    let rej: Vec<String> = rejections.lock().unwrap().iter().map(|r| format!("{}: {}", r.origin, r.reason)).collect();
    assert!(rej[0].starts_with(&format!("{}:2: $: not valid JSON", f1.display())), "{rej:?}");
    assert!(rej[1].starts_with(&format!("{}:5: DetectTime:", f1.display())), "{rej:?}");
    assert!(rej[2].starts_with(&format!("{}[1]: ID: is required", f2.display())), "{rej:?}");
    let mut ids: Vec<String> =
        db.store.search_events(&SearchParams::default()).await.unwrap().items.into_iter().map(|e| e.id).collect();
    ids.sort();
    assert_eq!(ids, ["a1", "a2", "a3", "b1"]);
    // A second run stores nothing twice.
    let again = ingest::run(&db.store, vec![Input::Path(f1), Input::Path(f2)], &opts, ProgressBar::hidden(), |_| {})
        .await
        .unwrap();
    assert_eq!((again.stored, again.duplicates, again.rejected), (0, 6, 3));
    db.drop().await;
}

#[tokio::test]
async fn the_cli_reports_rejects_with_file_and_line_and_exits_non_zero() {
    let db = TestDb::new().await;
    let dir = tempdir();
    let f = write(&dir, "in.ndjson", &format!("{}\n{{\"ID\": 1}}\n", msg("c1")));
    let out = Command::new(env!("CARGO_BIN_EXE_ideadb"))
        .args(["ingest", f.to_str().unwrap()])
        .env("DATABASE_URL", &db.url)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains(&format!("rejected {}:2: Format: is required", f.display())), "{err}");
    assert!(err.contains("stored 1, duplicates 0, rejected 1"), "{err}");
    let ok = Command::new(env!("CARGO_BIN_EXE_ideadb"))
        .args(["ingest", "-"])
        .env("DATABASE_URL", &db.url)
        .stdin(std::fs::File::open(&f).unwrap())
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&ok.stderr).contains("stored 0, duplicates 1, rejected 1"));
    db.drop().await;
}

#[tokio::test]
async fn an_ingest_killed_half_way_and_re_run_stores_every_message_once() {
    let db = TestDb::new().await;
    let dir = tempdir();
    let n = 40_000;
    let text: String = generated(n, 2, 3).iter().map(|v| format!("{v}\n")).collect();
    let f = write(&dir, "big.ndjson", &text);
    let mut child = Command::new(env!("CARGO_BIN_EXE_ideadb"))
        .args(["ingest", "--batch-size", "500", f.to_str().unwrap()])
        .env("DATABASE_URL", &db.url)
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let all = SearchParams::default();
    let mut partial = 0;
    for _ in 0..600 {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        partial = db.store.count_events(&all).await.unwrap();
        if partial > 0 {
            break;
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(partial > 0 && partial < n as i64, "killed after {partial} of {n}");
    let out = Command::new(env!("CARGO_BIN_EXE_ideadb"))
        .args(["ingest", f.to_str().unwrap()])
        .env("DATABASE_URL", &db.url)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(db.store.count_events(&all).await.unwrap(), n as i64);
    let c = db.sql().await;
    let json: i64 = c.query_one("SELECT count(*) FROM events_json", &[]).await.unwrap().get(0);
    let addr_dupes: i64 = c
        .query_one(
            "SELECT count(*) FROM (SELECT id, dir, ip, v4 FROM events_addr GROUP BY 1, 2, 3, 4 HAVING count(*) > 1) d",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!((json, addr_dupes), (n as i64, 0));
    db.drop().await;
}

#[tokio::test]
async fn an_unreachable_database_gets_a_clear_message() {
    let out = Command::new(env!("CARGO_BIN_EXE_ideadb"))
        .args(["migrate"])
        .env("DATABASE_URL", "postgres://postgres@127.0.0.1:1/nope")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("cannot connect to PostgreSQL at") && err.contains(":1, database nope"), "{err}");
}

fn tempdir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!(
        "ideadb-test-{}-{}",
        std::process::id(),
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos()
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[tokio::test]
async fn a_database_failure_stops_the_ingest_with_the_error() {
    let db = TestDb::new().await;
    let dir = tempdir();
    let text: String = generated(5_000, 1, 8).iter().map(|v| format!("{v}\n")).collect();
    let f = write(&dir, "in.ndjson", &text);
    db.sql().await.batch_execute("ALTER TABLE events RENAME TO events_elsewhere").await.unwrap();
    let opts = Options { batch_size: 100, writers: 2, keep_storage_time: true };
    let err =
        ingest::run(&db.store, vec![Input::Path(f)], &opts, ProgressBar::hidden(), |_| panic!("no message is invalid"))
            .await
            .unwrap_err();
    assert!(err.to_string().contains("events"), "{err}");
    db.drop().await;
}

#[tokio::test]
async fn the_cli_keeps_a_senders_storage_time_only_when_asked() {
    let db = TestDb::new().await;
    let dir = tempdir();
    let with_time = |id: &str| {
        let mut v: serde_json::Value = serde_json::from_str(&msg(id)).unwrap();
        v["_CESNET"] = serde_json::json!({"StorageTime": "2001-02-03T04:05:06Z"});
        v.to_string()
    };
    let f = write(&dir, "in.ndjson", &format!("{}\n", with_time("now1")));
    let g = write(&dir, "import.ndjson", &format!("{}\n", with_time("kept1")));
    for args in [vec!["ingest", f.to_str().unwrap()], vec!["ingest", "--keep-storage-time", g.to_str().unwrap()]] {
        let out = Command::new(env!("CARGO_BIN_EXE_ideadb")).args(&args).env("DATABASE_URL", &db.url).output().unwrap();
        assert!(out.status.success(), "{out:?}");
    }
    let c = db.sql().await;
    let sql = "SELECT extract(year FROM cesnet_storagetime)::int FROM events WHERE id = $1";
    let now1: i32 = c.query_one(sql, &[&"now1"]).await.unwrap().get(0);
    let kept1: i32 = c.query_one(sql, &[&"kept1"]).await.unwrap().get(0);
    assert_eq!(now1, chrono::Utc::now().format("%Y").to_string().parse::<i32>().unwrap());
    assert_eq!(kept1, 2001);
    db.drop().await;
}
