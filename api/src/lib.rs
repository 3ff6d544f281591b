//! ideadb: a security event database for IDEA messages, compatible with Mentat's event
//! storage and Hawat's events module.

pub mod auth;
pub mod chart;
pub mod config;
pub mod dashboard;
pub mod export;
pub mod form_grammar;
pub mod gen;
pub mod http;
pub mod idea;
pub mod ingest;
pub mod mentat_import;
pub mod retention;
pub mod search_form;
pub mod statistician;
pub mod stats;
pub mod storage;
