//! A client generated from `openapi/openapi.json` by openapi-python-client (from PyPI) runs a
//! search and a show against a live server (`e2e/generated-client/run.sh`).

use serde_json::Value;

use crate::events_http::served_fixture;
use crate::model::{expected, Msg};

#[tokio::test]
async fn a_generated_python_client_searches_and_shows() {
    let (db, events, key, server) = served_fixture().await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../e2e/generated-client/run.sh");
    let args = [script.to_string(), server.base.clone(), key.clone()];
    let out = tokio::task::spawn_blocking(move || std::process::Command::new("bash").args(args).output())
        .await
        .unwrap()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the generated client failed:\n{stderr}");
    let got: Value = serde_json::from_slice(&out.stdout).unwrap();

    let all: Vec<Msg> = events.iter().map(Msg::new).collect();
    let p = ideadb::storage::SearchParams {
        categories: ideadb::storage::Values::of(["Recon.Scanning"]),
        sortby: ideadb::storage::SortBy::parse("time.desc"),
        ..Default::default()
    };
    let want = expected(&p, &all);
    let ids: Vec<String> = serde_json::from_value(got["ids"].clone()).unwrap();
    assert_eq!(ids, want[..5.min(want.len())].to_vec());
    assert_eq!(got["total"], want.len());
    let shown = events.iter().find(|e| e["ID"] == got["shown_id"]).unwrap();
    assert_eq!(got["shown"], *shown);
    db.drop().await;
}
