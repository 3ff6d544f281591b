//! Integration tests of the storage layer and the CLI against a real PostgreSQL with ip4r.

mod corpus;
mod explain;
mod harness;
mod ingest;
mod maintenance;
mod model;
mod query;
