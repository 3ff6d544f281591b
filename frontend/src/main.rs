//! The ideadb browser app: event search, event detail and the statistics dashboard, talking
//! only to the JSON API under `/api`.

mod api;
mod app;
mod charts;
mod components;
mod form;
mod idea;
mod pages;
mod perf;
mod route;
mod session;
mod time;

fn main() {
    leptos::mount::mount_to_body(app::App);
}
