//! schemathesis (from PyPI) against a live server loaded with the corpus, once with a `user`
//! key and once with a `maintainer` key (`e2e/schemathesis/run.sh`): every operation and
//! method of the served OpenAPI document, all of schemathesis' checks, generated valid and
//! invalid requests. Any server error or any answer that differs from the document fails.

use crate::harness::{fixture, TestDb};
use crate::server::{account, Server};

/// Cases per operation and phase; schemathesis' coverage phase adds its own.
const EXAMPLES: &str = "10";
/// The fewest requests a run must send, over both keys.
const AT_LEAST: u64 = 1000;

#[tokio::test]
async fn schemathesis_finds_no_failure_in_any_operation() {
    let db = TestDb::new().await;
    let events = fixture();
    db.load(&events).await;
    let user = account(&db, "analyst", &["user"], true).await;
    let maintainer = account(&db, "feeder", &["maintainer"], true).await;
    let server = Server::start(&db.url);
    let id = events[0]["ID"].as_str().unwrap().to_string();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../e2e/schemathesis/run.sh");
    let args = [script.to_string(), server.base.clone(), EXAMPLES.into(), id, user, maintainer];
    let out = tokio::task::spawn_blocking(move || std::process::Command::new("bash").args(args).output())
        .await
        .unwrap()
        .unwrap();
    let report = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "schemathesis found failures:\n{report}");
    let sent: u64 = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        .sum();
    println!("schemathesis: {sent} requests, no failure");
    assert!(sent >= AT_LEAST, "only {sent} requests were sent:\n{report}");
    drop(server);
    db.drop().await;
}
