//! Integration tests against a real PostgreSQL with ip4r: the storage layer, the CLI and the
//! HTTP server (a real `ideadb serve` process).

mod corpus;
mod events_http;
mod explain;
mod harness;
mod health;
mod ingest;
mod maintenance;
mod model;
mod openapi;
mod query;
mod search_http;
mod server;
mod users;
