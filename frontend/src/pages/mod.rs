pub mod dashboard;
pub mod event;
pub mod login;
pub mod results;
pub mod search;
pub mod search_fields;
