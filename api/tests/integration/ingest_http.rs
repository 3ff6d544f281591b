//! `POST /api/events`: per-message results, the CLI's guarantees, roles and the body limit.

use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use serde_json::{json, Value};

use crate::harness::{fixture, TestDb};
use crate::server::{account, json_error, Server};

pub async fn post(server: &Server, key: &str, kind: &str, body: impl Into<reqwest::Body>) -> reqwest::Response {
    reqwest::Client::new()
        .post(server.url("/api/events"))
        .header(AUTHORIZATION, key)
        .header(CONTENT_TYPE, kind)
        .body(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn each_message_is_stored_or_reported_and_nothing_stored_changes() {
    let db = TestDb::new().await;
    let events = fixture();
    db.load(&events[..1]).await;
    let key = account(&db, "feeder", &["maintainer"], true).await;
    let server = Server::start(&db.url);
    let before = server.get(&format!("/api/events/{}/download", events[0]["ID"].as_str().unwrap()), &key).await;
    let before = before.bytes().await.unwrap();

    let mut changed = events[0].clone();
    changed["Description"] = json!("an attempt to overwrite");
    let mut invalid = events[2].clone();
    invalid.as_object_mut().unwrap().remove("DetectTime");
    let lines = [
        serde_json::to_string(&changed).unwrap(),
        serde_json::to_string(&events[1]).unwrap(),
        "{not json".to_string(),
        serde_json::to_string(&invalid).unwrap(),
        serde_json::to_string(&events[3]).unwrap(),
        serde_json::to_string(&events[1]).unwrap(),
    ];
    let resp = post(&server, &key, "application/x-ndjson", lines.join("\n")).await;
    assert_eq!(resp.status(), 422);
    let out: Value = resp.json().await.unwrap();
    assert_eq!(
        (out["stored"].as_u64(), out["duplicates"].as_u64(), out["rejected"].as_u64()),
        (Some(2), Some(2), Some(2))
    );
    let status: Vec<(&str, &str)> = out["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["at"].as_str().unwrap(), r["status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        status,
        [
            ("line 1", "duplicate"),
            ("line 2", "stored"),
            ("line 3", "rejected"),
            ("line 4", "rejected"),
            ("line 5", "stored"),
            ("line 6", "duplicate")
        ]
    );
    assert!(out["results"][2]["reason"].as_str().unwrap().contains("JSON"), "{out}");
    assert!(out["results"][3]["reason"].as_str().unwrap().contains("DetectTime"), "{out}");
    assert_eq!(out["results"][3]["id"], events[2]["ID"]);

    let after = server.get(&format!("/api/events/{}/download", events[0]["ID"].as_str().unwrap()), &key).await;
    assert_eq!(after.bytes().await.unwrap(), before, "a duplicate leaves the stored event as it was");
    for ev in [&events[1], &events[3]] {
        let shown = server.get_json(&format!("/api/events/{}/show", ev["ID"].as_str().unwrap()), &key).await;
        assert_eq!(shown["item"], *ev);
    }

    let array = serde_json::to_vec(&events[4..8].to_vec()).unwrap();
    let resp = post(&server, &key, "application/json", array).await;
    assert_eq!(resp.status(), 200);
    let out: Value = resp.json().await.unwrap();
    assert_eq!(out["stored"], 4);
    assert_eq!(out["results"][3]["at"], "[3]");
    json_error(post(&server, &key, "application/json", "").await, 400).await;
    db.drop().await;
}

#[tokio::test]
async fn storing_needs_maintainer_or_admin_and_a_body_within_the_limit() {
    let db = TestDb::new().await;
    let events = fixture();
    let user = account(&db, "analyst", &["user", "developer"], true).await;
    let admin = account(&db, "root", &["admin"], true).await;
    let server = Server::start_with(&db.url, &["--ingest-limit-mb", "1"]);
    let one = serde_json::to_string(&events[0]).unwrap();
    let refused = post(&server, &user, "application/x-ndjson", one.clone()).await;
    assert!(json_error(refused, 403).await.contains("maintainer or admin"));
    let anonymous = reqwest::Client::new()
        .post(server.url("/api/events"))
        .header(CONTENT_TYPE, "application/x-ndjson")
        .body(one.clone())
        .send()
        .await
        .unwrap();
    json_error(anonymous, 401).await;
    assert_eq!(post(&server, &admin, "application/x-ndjson", one.clone()).await.status(), 200);

    let big: String = std::iter::repeat_n(format!("{one}\n"), (2 << 20) / one.len()).collect();
    let too_large = post(&server, &admin, "application/x-ndjson", big).await;
    assert!(json_error(too_large, 413).await.contains("larger than"));
    let wrong_type = post(&server, &admin, "text/plain", one).await;
    assert_eq!(wrong_type.status(), 415);
    let count = server.get_json("/api/events/search?submit=1&dt_from=&count=true", &admin).await;
    assert_eq!(count["total"], 1, "nothing of the refused bodies was stored");
    db.drop().await;
}

#[tokio::test]
async fn an_oversized_value_is_rejected_alone_and_its_neighbours_are_stored() {
    let db = TestDb::new().await;
    let events = fixture();
    let key = account(&db, "feeder", &["maintainer"], true).await;
    let server = Server::start(&db.url);
    let mut long_id = events[1].clone();
    long_id["ID"] = json!("a".repeat(4000));
    let mut long_class = events[2].clone();
    long_class["_CESNET"] = json!({"EventClass": "c".repeat(4000)});
    let lines: Vec<String> =
        [&events[0], &long_id, &long_class, &events[3]].iter().map(|m| serde_json::to_string(m).unwrap()).collect();
    let resp = post(&server, &key, "application/x-ndjson", lines.join("\n")).await;
    assert_eq!(resp.status(), 422);
    let out: Value = resp.json().await.unwrap();
    assert_eq!((out["stored"].as_u64(), out["rejected"].as_u64()), (Some(2), Some(2)), "{out}");
    let reasons: Vec<&str> = out["results"].as_array().unwrap().iter().filter_map(|r| r["reason"].as_str()).collect();
    assert_eq!(reasons.len(), 2, "{out}");
    assert!(reasons[0].contains("ID") && reasons[0].contains("4000 bytes"), "{reasons:?}");
    assert!(reasons[1].contains("EventClass"), "{reasons:?}");
    for e in [&events[0], &events[3]] {
        let got = server.get(&format!("/api/events/{}/show", e["ID"].as_str().unwrap()), &key).await;
        assert_eq!(got.status(), 200);
    }
    let meta = server.get_json("/api/events/metadata", &key).await;
    assert_eq!(meta["status"], Value::Null, "metadata still answers: {meta}");
    drop(server);
    db.drop().await;
}

#[tokio::test]
async fn the_server_sets_the_storage_time_of_what_it_is_sent() {
    let db = TestDb::new().await;
    let key = account(&db, "feeder", &["maintainer"], true).await;
    let server = Server::start(&db.url);
    let mut m = fixture()[0].clone();
    m["_CESNET"] = json!({"StorageTime": "9999-12-31T23:59:59Z"});
    m["_Mentat"] = json!({"StorageTime": "2001-01-01T00:00:00Z"});
    let before = chrono::Utc::now().naive_utc();
    let resp = post(&server, &key, "application/json", serde_json::to_vec(&m).unwrap()).await;
    assert_eq!(resp.status(), 200);
    let after = chrono::Utc::now().naive_utc();
    let c = db.sql().await;
    let row = c.query_one("SELECT cesnet_storagetime FROM events WHERE id = $1", &[&m["ID"].as_str().unwrap()]).await;
    let stored: chrono::NaiveDateTime = row.unwrap().get(0);
    assert!(before - chrono::TimeDelta::seconds(1) <= stored && stored <= after, "{stored}");
    // The message itself comes back as sent.
    let shown = server.get_json(&format!("/api/events/{}/show", m["ID"].as_str().unwrap()), &key).await;
    assert_eq!(shown["item"]["_CESNET"]["StorageTime"], "9999-12-31T23:59:59Z");
    let meta = server.get("/api/events/metadata", &key).await;
    assert_eq!(meta.status(), 200);
    drop(server);
    db.drop().await;
}

#[tokio::test]
async fn a_flood_of_junk_lines_gets_a_small_answer_and_leaves_memory_alone() {
    let db = TestDb::new().await;
    let key = account(&db, "feeder", &["maintainer"], true).await;
    let server = Server::start(&db.url);
    // Under the cap: every message is counted, the first thousand are listed. This also
    // warms the server up, so what follows measures the flood alone.
    let resp = post(&server, &key, "application/x-ndjson", "1\n".repeat(2500)).await;
    assert_eq!(resp.status(), 422);
    let out: Value = resp.json().await.unwrap();
    assert_eq!((out["rejected"].as_u64(), out["truncated"].as_bool()), (Some(2500), Some(true)));
    assert_eq!(out["results"].as_array().unwrap().len(), 1000);
    let pid = server.child.id();
    let (_, before) = crate::server::memory_kib(pid);
    // 16 million lines of `1`: far over the message cap.
    let resp = post(&server, &key, "application/x-ndjson", "1\n".repeat(16 << 20)).await;
    let msg = json_error(resp, 413).await;
    assert!(msg.contains("100000 messages"), "{msg}");
    let (peak, _) = crate::server::memory_kib(pid);
    // The body goes to a temporary file, so the peak is the batches in flight, not the body
    // (held in memory, it cost about 80 MiB of growth).
    assert!(peak < before + 32 * 1024, "server memory {before} KiB before, peak {peak} KiB");
    drop(server);
    db.drop().await;
}

#[tokio::test]
async fn a_message_the_database_refuses_is_reported_alone_and_its_batch_is_stored() {
    let db = TestDb::new().await;
    let key = account(&db, "feeder", &["maintainer"], true).await;
    // A refusal that validation cannot foresee, injected as a constraint of this database.
    let c = db.sql().await;
    c.batch_execute("ALTER TABLE events ADD CONSTRAINT refuse_me CHECK (description IS DISTINCT FROM 'refuse me')")
        .await
        .unwrap();
    let server = Server::start(&db.url);
    let events = fixture();
    let mut bad = events[1].clone();
    bad["Description"] = json!("refuse me");
    let lines: Vec<String> = [&events[0], &bad, &events[2]].iter().map(|m| serde_json::to_string(m).unwrap()).collect();
    let resp = post(&server, &key, "application/x-ndjson", lines.join("\n")).await;
    assert_eq!(resp.status(), 422);
    let out: Value = resp.json().await.unwrap();
    assert_eq!((out["stored"].as_u64(), out["rejected"].as_u64()), (Some(2), Some(1)), "{out}");
    let second = &out["results"][1];
    assert_eq!(second["status"], "rejected");
    assert!(second["reason"].as_str().unwrap().contains("refuse_me"), "{second}");
    // Alone in its request it is refused the same way, not a server error.
    let mut alone = bad.clone();
    alone["ID"] = json!("refused-alone");
    let resp = post(&server, &key, "application/json", serde_json::to_vec(&alone).unwrap()).await;
    assert_eq!(resp.status(), 422);
    let out: Value = resp.json().await.unwrap();
    assert_eq!((out["stored"].as_u64(), out["rejected"].as_u64()), (Some(0), Some(1)), "{out}");
    // The same through the storage layer: the refused one is named, the others stored.
    let batch = [&events[3], &bad, &events[4]].iter().map(|m| crate::harness::event(m)).collect();
    let outcome = db.store.insert_batch(batch).await.unwrap();
    assert_eq!(outcome.stored.len(), 2);
    assert_eq!(outcome.refused.iter().map(|(id, _)| id.as_str()).collect::<Vec<_>>(), [bad["ID"].as_str().unwrap()]);
    // The CLI goes through the same pipeline: the refusal names the file and line (before: the
    // event ID alone), and a repeat within the batch is a duplicate.
    let mut cli_bad = bad.clone();
    cli_bad["ID"] = json!("refused-by-cli");
    let lines = [&events[5], &cli_bad, &events[5]].map(|m| serde_json::to_string(m).unwrap());
    let f = std::env::temp_dir().join(format!("ideadb-refused-{}.ndjson", std::process::id()));
    std::fs::write(&f, lines.join("\n")).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ideadb"))
        .args(["ingest", f.to_str().unwrap()])
        .env("DATABASE_URL", &db.url)
        .output()
        .unwrap();
    std::fs::remove_file(&f).ok();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains(&format!("rejected {}:2: ", f.display())) && err.contains("refuse_me"), "{err}");
    assert!(err.contains("stored 1, duplicates 1, rejected 1"), "{err}");
    drop(server);
    db.drop().await;
}

#[tokio::test]
async fn a_body_at_the_limit_of_valid_messages_is_stored_in_little_memory() {
    let db = TestDb::new().await;
    let key = account(&db, "feeder", &["maintainer"], true).await;
    // A limit four times the default, so that a body held in memory would stand out from
    // the allocator's noise beside a busy test suite.
    let server = Server::start_with(&db.url, &["--ingest-limit-mb", "256"]);
    let warm = crate::harness::generated(100, 1, 5);
    assert_eq!(post(&server, &key, "application/x-ndjson", crate::events_http::ndjson(&warm)).await.status(), 200);
    // Close to the limit: 90,000 messages of about 2,800 bytes each (a long Note).
    let mut generated = Vec::new();
    ideadb::gen::write(&mut generated, 90_000, 1, 6, chrono::Utc::now().naive_utc()).unwrap();
    let note = "a scanner's banner, repeated: SSH-2.0-OpenSSH_8.9p1 ".repeat(40);
    let mut body = Vec::new();
    for line in generated.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        let mut m: Value = serde_json::from_slice(line).unwrap();
        m["Note"] = json!(note);
        serde_json::to_writer(&mut body, &m).unwrap();
        body.push(b'\n');
    }
    let size = body.len();
    assert!(size > 224 << 20 && size < 256 << 20, "{size} bytes");
    let pid = server.child.id();
    let (_, before) = crate::server::memory_kib(pid);
    let resp = post(&server, &key, "application/x-ndjson", body).await;
    assert_eq!(resp.status(), 200);
    let out: Value = resp.json().await.unwrap();
    assert_eq!(out["stored"].as_u64(), Some(90_000), "{}", out["rejected"]);
    let (peak, _) = crate::server::memory_kib(pid);
    println!("a {size}-byte body: server memory {before} KiB before, peak {peak} KiB");
    // The body goes to a temporary file, so the peak is the batches in flight, not the body.
    // The server's statistician reads what was stored a page at a time: when it read a half
    // minute of storage whole, a slow ingest (beside the Citus suite) let it read a third of
    // this body at once, and the server grew by 230 MiB.
    assert!(peak < before + (size / 2 / 1024) as u64, "server memory {before} KiB before, peak {peak} KiB");
    drop(server);
    db.drop().await;
}
