//! The search results: the rows (written as escaped HTML in one go), pages, the cursor's
//! "Load more", the sort order and the total.

use leptos::prelude::*;

use crate::api::{self, download_url};
use crate::components::{chip_html, escape_html, Failure, Kind};
use crate::form::Query;
use crate::idea::Row;
use crate::route::Route;
use crate::session::Session;

/// Events an export from the browser holds at most: the file is built in the tab's memory
/// (API clients stream any number from `/api/events/export`).
const EXPORT_MAX: &str = "100000";
const EXPORT_TITLE: &str = "Every matching event (up to 100,000), not only this page";

/// Addresses listed in a cell before "+N more".
const CELL_ADDRS: usize = 5;

/// The count of every match, fetched after the rows.
#[derive(Debug, Clone, PartialEq)]
pub enum Total {
    Counting,
    Exact(i64),
    /// Counting took too long: at least this many.
    MoreThan(u64),
    Unknown,
}

#[component]
pub fn Results(
    rows: RwSignal<Vec<Row>>,
    first_row: RwSignal<u64>,
    total: RwSignal<Total>,
    next: RwSignal<Option<String>>,
    more_busy: RwSignal<bool>,
    load_more: impl Fn(leptos::ev::MouseEvent) + 'static,
    go: impl Fn(Query) + Clone + 'static,
    current: impl Fn() -> Query + Copy + 'static,
) -> impl IntoView {
    let session = expect_context::<Session>();
    let page: u32 = current().get("page").parse().unwrap_or(1);
    let sort_desc = !current().get("sortby").ends_with(".asc");
    let (go_prev, go_next, go_sort) = (go.clone(), go.clone(), go);
    let prev =
        move |_| go_prev(current().with("page", &(page.saturating_sub(1)).max(1).to_string()).without(&["after"]));
    let next_page = move |_| go_next(current().with("page", &(page + 1).to_string()).without(&["after"]));
    let sort = move |_| {
        go_sort(current().with("sortby", if sort_desc { "time.asc" } else { "time.desc" }).without(&["page", "after"]))
    };
    let failure = expect_context::<Failure>();
    let export = move |format: &'static str| {
        move |_| {
            let q = current()
                .without(&["page", "after", "limit", "submit", "count"])
                .with("format", format)
                .with("max", EXPORT_MAX);
            leptos::task::spawn_local(async move {
                let url = api::export_url(&q);
                let mime = if format == "csv" { "text/csv" } else { "application/x-ndjson" };
                let done = api::download(session, &url, &format!("events.{format}"), mime).await;
                failure.report("The export", done);
            });
        }
    };
    let summary = move || {
        let n = rows.with(Vec::len) as u64;
        let low = first_row.get().max(1);
        let of = match total.get() {
            Total::Counting => " (counting…)".to_string(),
            Total::Exact(t) => format!(" of {t}"),
            Total::MoreThan(m) => format!(" of more than {m}"),
            Total::Unknown => String::new(),
        };
        if n == 0 {
            "No events match.".to_string()
        } else {
            format!("Rows {}–{}{of}", low, low + n - 1)
        }
    };
    view! {
        <section class="panel" aria-label="Results">
            <div class="bar">
                <strong id="summary" role="status">{summary}</strong>
                <button type="button" on:click=prev disabled=page <= 1>"Previous page"</button>
                <button type="button" id="next-page" on:click=next_page disabled=move || next.get().is_none()>"Next page"</button>
                <button type="button" id="export-csv" on:click=export("csv") title=EXPORT_TITLE>"Export CSV"</button>
                <button type="button" id="export-ndjson" on:click=export("ndjson") title=EXPORT_TITLE>"Export NDJSON"</button>
            </div>
            <div class="table-wrap">
                <div id="results" role="table" aria-label="Events">
                    <div role="row" class="rrow rhead">
                        <span role="columnheader"><button type="button" id="sort" on:click=sort title="Change the order">
                            "Detection time " {if sort_desc { "▼" } else { "▲" }}
                        </button></span>
                        <span role="columnheader">"Categories"</span><span role="columnheader">"Description"</span>
                        <span role="columnheader">"Sources"</span><span role="columnheader">"Targets"</span>
                        <span role="columnheader">"Detector"</span><span role="columnheader" class="hide-narrow">"Severity"</span>
                        <span role="columnheader" class="hide-narrow">"Class"</span><span role="columnheader">"Event"</span>
                    </div>
                    <div role="rowgroup" on:click=move |ev| download_clicked(session, failure, &ev)
                        inner_html=move || rows.with(|rs| rows_html(rs, &session.tz.get_untracked()))>
                    </div>
                </div>
            </div>
            <div class="bar">
                <button type="button" id="load-more" on:click=load_more disabled=move || next.get().is_none() || more_busy.get()>
                    {move || if more_busy.get() { "Loading…" } else { "Load more" }}
                </button>
            </div>
        </section>
    }
}

/// The rows as HTML text, every value escaped: the browser parses a thousand rows far faster
/// than they can be built node by node, and they need no handlers of their own (chips and
/// download buttons are served by one listener each; links by the router's).
fn rows_html(rows: &[Row], tz: &str) -> String {
    let mut out = String::with_capacity(rows.len() * 1200);
    for row in rows {
        let cell = |out: &mut String, class: &str| {
            out.push_str(r#"<span role="cell" class=""#);
            out.push_str(class);
            out.push_str(r#"">"#);
        };
        out.push_str(r#"<div role="row" class="rrow" data-id=""#);
        escape_html(&row.id, &mut out);
        out.push_str(r#"">"#);
        cell(&mut out, "mono");
        out.push_str(r#"<a title="Open the event" href=""#);
        escape_html(&Route::Event(row.id.clone()).path(), &mut out);
        out.push_str(r#"">"#);
        escape_html(&crate::time::show(&row.detect_time, tz), &mut out);
        out.push_str("</a></span>");
        cell(&mut out, "");
        row.categories.iter().for_each(|c| chip_html(Kind::Category, c, &mut out));
        out.push_str("</span>");
        cell(&mut out, "");
        escape_html(&row.description, &mut out);
        out.push_str("</span>");
        for (class, addrs) in [("sources", &row.sources), ("targets", &row.targets)] {
            cell(&mut out, class);
            addrs.iter().take(CELL_ADDRS).for_each(|a| chip_html(Kind::Addr, a, &mut out));
            if addrs.len() > CELL_ADDRS {
                out.push_str(&format!(r#"<span class="muted">+{} more</span>"#, addrs.len() - CELL_ADDRS));
            }
            out.push_str("</span>");
        }
        cell(&mut out, "");
        if !row.detector.is_empty() {
            chip_html(Kind::Detector, &row.detector, &mut out);
        }
        out.push_str("</span>");
        for v in [&row.severity, &row.class] {
            cell(&mut out, "hide-narrow");
            escape_html(v, &mut out);
            out.push_str("</span>");
        }
        cell(&mut out, "");
        out.push_str(r#"<a href=""#);
        escape_html(&Route::Event(row.id.clone()).path(), &mut out);
        out.push_str(
            r#"">Detail</a> <button type="button" class="download" title="Download the event as JSON" data-id=""#,
        );
        escape_html(&row.id, &mut out);
        out.push_str(r#"">JSON</button></span></div>"#);
    }
    out
}

/// Downloads the event of a row's download button, when the click was on one.
fn download_clicked(session: Session, failure: Failure, ev: &leptos::ev::MouseEvent) {
    use wasm_bindgen::JsCast;
    let button = ev
        .target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        .and_then(|t| t.closest("button.download[data-id]").ok().flatten());
    if let Some(id) = button.and_then(|b| b.get_attribute("data-id")) {
        leptos::task::spawn_local(async move {
            let done =
                api::download(session, &download_url(&id, "json"), &format!("{id}.json"), "application/json").await;
            failure.report("The download", done);
        });
    }
}
