//! Integration tests against a real PostgreSQL with ip4r: the storage layer, the CLI and the
//! HTTP server (a real `ideadb serve` process).

mod auth_http;
mod config_file;
mod corpus;
mod events_http;
mod explain;
mod export_http;
mod faults;
mod generated_client;
mod harness;
mod health;
mod ingest;
mod ingest_http;
mod maintenance;
mod mentat_import;
mod model;
mod on_citus;
mod openapi;
mod partitions;
mod query;
mod retention;
mod schemathesis;
mod search_http;
mod server;
#[path = "../../../e2e/browser/spa.rs"]
mod spa;
mod spool;
mod statistics;
mod users;
mod visibility_http;
