//! The committed OpenAPI document is the one the code generates.

use std::path::PathBuf;

pub fn committed_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../openapi/openapi.json")
}

#[test]
fn the_committed_openapi_document_matches_the_code() {
    let generated = ideadb::http::openapi_json();
    let committed = std::fs::read_to_string(committed_path()).unwrap_or_default();
    assert!(
        generated.trim() == committed.trim(),
        "openapi/openapi.json is out of date: run `cargo run -p ideadb --bin ideadb -- openapi > openapi/openapi.json`"
    );
}
