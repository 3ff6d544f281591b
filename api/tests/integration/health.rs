//! `/api/health`, `/api/openapi.json` and `/api/docs` on a real server.

use serde_json::Value;

use crate::harness::TestDb;
use crate::server::Server;

#[tokio::test]
async fn health_reports_the_database_and_turns_503_when_it_is_gone() {
    let db = TestDb::new().await;
    let server = Server::start(&db.url);
    let ok = reqwest::get(server.url("/api/health")).await.unwrap();
    assert_eq!(ok.status(), 200);
    let h = ok.headers();
    assert_eq!(h["content-security-policy"], "default-src 'none'; frame-ancestors 'none'");
    assert_eq!(
        (&h["x-content-type-options"], &h["referrer-policy"]),
        (&"nosniff".parse().unwrap(), &"no-referrer".parse().unwrap())
    );
    let missing = reqwest::get(server.url("/api/no-such-thing")).await.unwrap();
    assert_eq!(missing.headers()["x-content-type-options"], "nosniff", "errors carry the headers too");
    let wrong = reqwest::Client::new().delete(server.url("/api/health")).send().await.unwrap();
    assert_eq!(wrong.status(), 405);
    assert_eq!(wrong.headers()["allow"], "GET");
    let body: Value = ok.json().await.unwrap();
    assert_eq!(
        body,
        serde_json::json!({"status": "ok", "database": true, "schema_version": crate::harness::latest_migration()})
    );
    let name = db.name.clone();
    db.drop().await;
    let gone = reqwest::get(server.url("/api/health")).await.unwrap();
    assert_eq!(gone.status(), 503, "database {name} dropped");
    let body: Value = gone.json().await.unwrap();
    assert_eq!(body["status"], "unavailable");
}

#[tokio::test]
async fn the_served_description_is_the_committed_one_and_the_docs_work_offline() {
    let db = TestDb::new().await;
    let server = Server::start(&db.url);
    let served: Value = reqwest::get(server.url("/api/openapi.json")).await.unwrap().json().await.unwrap();
    let committed: Value =
        serde_json::from_str(&std::fs::read_to_string(crate::openapi::committed_path()).unwrap()).unwrap();
    assert_eq!(served, committed);
    let docs = reqwest::get(server.url("/api/docs")).await.unwrap();
    assert_eq!(docs.status(), 200);
    let html = docs.text().await.unwrap();
    assert!(html.contains("SwaggerUIBundle"), "{html:.200}");
    // Scripts and styles are inline and the spec is embedded (Swagger UI then shows no
    // online validator badge): nothing is fetched from elsewhere.
    for external in ["src=\"http", "href=\"http", "src='http", "href='http", "url: \"http"] {
        assert!(!html.contains(external), "the API browser loads {external}...");
    }
    assert!(html.contains("spec: spec"), "the description is embedded");
    db.drop().await;
}
