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

#[test]
fn every_schema_is_described_and_every_object_has_an_example() {
    let doc: serde_json::Value = serde_json::from_str(&ideadb::http::openapi_json()).unwrap();
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    assert!(schemas.len() >= 15, "{}", schemas.len());
    for (name, schema) in schemas {
        assert!(schema.get("description").is_some(), "{name} has no description");
        if schema["type"] == "object" {
            assert!(schema.get("example").is_some(), "{name} has no example");
        }
    }
}
