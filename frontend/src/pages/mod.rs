pub mod dashboard;
pub mod event;
pub mod login;
pub mod search;
