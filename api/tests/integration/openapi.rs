//! The committed OpenAPI document is the one the code generates.

use std::path::PathBuf;

use ideadb_wire::search_params::{self, Kind};

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

/// The schema a parameter of this kind is documented with.
fn schema_of(kind: Kind) -> &'static str {
    match kind {
        Kind::Time => "FormTime",
        Kind::Zone => "TimeZoneName",
        Kind::Addresses => "AddressList",
        Kind::Ports => "PortList",
        Kind::Choice | Kind::Text => "Text",
        Kind::Switch | Kind::Flag => "string",
        Kind::Page => "PageNumber",
        Kind::PageSize => "PageSize",
        Kind::SortOrder => "SortOrder",
        Kind::Cursor => "SearchCursor",
    }
}

#[test]
fn search_and_export_declare_exactly_the_forms_parameters() {
    let doc: serde_json::Value = serde_json::from_str(&ideadb::http::openapi_json()).unwrap();
    let own_of_export = ["format", "max"];
    for (path, mut want) in
        [("/api/events/search", search_params::search()), ("/api/events/export", search_params::export())]
    {
        if path.ends_with("export") {
            want.extend(own_of_export);
        }
        want.sort_unstable();
        for method in ["get", "post"] {
            let params = doc["paths"][path][method]["parameters"].as_array().unwrap();
            let mut names: Vec<&str> = params.iter().map(|p| p["name"].as_str().unwrap()).collect();
            names.sort_unstable();
            assert_eq!(names, want, "{method} {path}");
            for p in params {
                let name = p["name"].as_str().unwrap();
                let Some(param) = search_params::param(name) else { continue };
                let schema = &p["schema"];
                let schema = if schema["type"] == "array" { &schema["items"] } else { schema };
                let documented = match schema["$ref"].as_str() {
                    Some(r) => r.rsplit('/').next().unwrap(),
                    None => schema["type"].as_str().unwrap(),
                };
                assert_eq!(documented, schema_of(param.kind), "{method} {path} {name}");
            }
        }
    }
}
