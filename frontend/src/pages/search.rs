//! Event database search (`/events/search`): Hawat's complete form in sections, kept in the
//! URL so that a search can be bookmarked and shared (the same query string works on
//! `/api/events/search`), and the results table with pages, the cursor and the total.

use leptos::prelude::*;
use leptos_router::hooks::{use_location, use_navigate};
use serde_json::{Map, Value};

use crate::api::{self, ApiError, SearchResult};
use crate::components::{chip_html, escape_html, ErrorBox, Kind, Loading};
use crate::form::Query;
use crate::idea::{strings, Row};
use crate::perf;
use crate::session::Session;

const PAGE_SIZES: [u32; 9] = [10, 20, 50, 100, 200, 500, 1000, 2500, 5000];
/// Addresses listed in a cell before "+N more".
const CELL_ADDRS: usize = 5;

#[derive(Debug, Clone, PartialEq)]
enum State {
    Idle,
    Loading,
    Failed(ApiError),
    Done,
}

#[derive(Debug, Clone, PartialEq)]
enum Total {
    Counting,
    Exact(i64),
    /// Counting took too long: at least this many.
    MoreThan(u64),
    Unknown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Section {
    Time,
    Origin,
    Event,
    Detector,
    Special,
}

const SECTIONS: [(Section, &str, &[&str]); 5] = [
    (Section::Time, "Time", &["dt_from", "dt_to", "st_from", "st_to"]),
    (
        Section::Origin,
        "Origin",
        &[
            "source_addrs",
            "target_addrs",
            "host_addrs",
            "source_ports",
            "target_ports",
            "host_ports",
            "source_types",
            "target_types",
            "host_types",
            "groups",
        ],
    ),
    (Section::Event, "Event", &["categories", "description", "protocols", "severities", "classes"]),
    (Section::Detector, "Detector", &["detectors", "detector_types"]),
    (Section::Special, "Special", &["inspection_errs"]),
];

pub fn event_url(id: &str) -> String {
    format!("/events/{}", String::from(js_sys::encode_uri_component(id)))
}

pub fn download_url(id: &str, format: &str) -> String {
    format!("/api/events/{}/download?format={format}", String::from(js_sys::encode_uri_component(id)))
}

#[component]
pub fn SearchPage() -> impl IntoView {
    let session = expect_context::<Session>();
    let location = use_location();
    let navigate = use_navigate();
    let form = RwSignal::new(Query::parse(&location.search.get_untracked()));
    let meta = RwSignal::new(Map::<String, Value>::new());
    let state = RwSignal::new(State::Idle);
    let rows = RwSignal::new(Vec::<Row>::new());
    let next = RwSignal::new(None::<String>);
    let total = RwSignal::new(Total::Unknown);
    let first_row = RwSignal::new(0u64);
    let more_busy = RwSignal::new(false);
    let generation = StoredValue::new(0u32);
    let open = RwSignal::new(
        SECTIONS.map(|(s, _, keys)| s == Section::Time || keys.iter().any(|k| form.get_untracked().has(k))),
    );

    leptos::task::spawn_local(async move {
        if let Ok(Value::Object(m)) = api::get_json::<Value>(session, "/api/events/metadata").await {
            meta.set(m);
        }
    });

    Effect::new(move |_| {
        let query = Query::parse(&location.search.get());
        form.set(query.clone());
        if !query.has("submit") {
            state.set(State::Idle);
            return;
        }
        generation.update_value(|g| *g += 1);
        let gen = generation.get_value();
        state.set(State::Loading);
        total.set(Total::Counting);
        leptos::task::spawn_local(async move {
            let url = format!("/api/events/search?{}", query.encode());
            match api::get_json::<SearchResult>(session, &url).await {
                Ok(r) if generation.get_value() == gen => {
                    let start = perf::now();
                    first_row.set(r.pager_index_low.unwrap_or(0));
                    next.set(r.next_cursor.clone());
                    rows.set(r.items.iter().map(Row::of).collect());
                    state.set(State::Done);
                    perf::after_render("search_rows_ms", start);
                    perf::record("search_rows", r.items.len() as f64);
                    count(session, &query, total, r.pager_index_high.unwrap_or(0)).await;
                }
                Ok(_) => {}
                Err(e) => {
                    state.set(State::Failed(e));
                    total.set(Total::Unknown);
                }
            }
        });
    });

    let submit = {
        let navigate = navigate.clone();
        move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            let q = form
                .get_untracked()
                .without(&["page", "after", "count"])
                .with("tz", &session.tz.get_untracked())
                .with("submit", "1");
            navigate(&format!("/events/search?{}", q.encode()), Default::default());
        }
    };
    let go = {
        let navigate = navigate.clone();
        move |q: Query| navigate(&format!("/events/search?{}", q.encode()), Default::default())
    };
    let current = move || Query::parse(&location.search.get_untracked());
    let load_more = move |_| {
        let Some(cursor) = next.get_untracked() else { return };
        more_busy.set(true);
        let q = current().without(&["page"]).with("after", &cursor);
        leptos::task::spawn_local(async move {
            match api::get_json::<SearchResult>(session, &format!("/api/events/search?{}", q.encode())).await {
                Ok(r) => {
                    let start = perf::now();
                    next.set(r.next_cursor.clone());
                    rows.update(|rs| rs.extend(r.items.iter().map(Row::of)));
                    perf::after_render("search_more_ms", start);
                }
                Err(e) => state.set(State::Failed(e)),
            }
            more_busy.set(false);
        });
    };
    let errors = Signal::derive(move || match state.get() {
        State::Failed(e @ ApiError::Form { .. }) => Some(e),
        _ => None,
    });
    perf::after_render("search_ready_ms", 0.0);

    view! {
        <h1>"Event database search"</h1>
        <form class="panel" on:submit=submit aria-label="Search form">
            <div class="bar" role="toolbar" aria-label="Form sections">
                {SECTIONS
                    .iter()
                    .enumerate()
                    .map(|(i, (_, label, _))| {
                        view! {
                            <button type="button" aria-pressed=move || open.get()[i].to_string()
                                on:click=move |_| open.update(|o| o[i] = !o[i])>{*label}</button>
                        }
                    })
                    .collect_view()}
            </div>
            <Show when=move || open.get()[0]><TimeSection form=form errors=errors/></Show>
            <Show when=move || open.get()[1]>
                <fieldset class="grid"><legend>"Origin"</legend>
                    <TextField form=form errors=errors key="source_addrs" label="Source addresses" hint="IPv4/IPv6, CIDR or a-b, comma-separated"/>
                    <TextField form=form errors=errors key="target_addrs" label="Target addresses" hint="IPv4/IPv6, CIDR or a-b"/>
                    <TextField form=form errors=errors key="host_addrs" label="Host addresses (source or target)" hint="overrides source and target"/>
                    <TextField form=form errors=errors key="source_ports" label="Source ports" hint="22, 443"/>
                    <TextField form=form errors=errors key="target_ports" label="Target ports" hint="22, 443"/>
                    <TextField form=form errors=errors key="host_ports" label="Host ports" hint="overrides source and target"/>
                    <MultiField form=form errors=errors meta=meta key="source_types" label="Source types"/>
                    <MultiField form=form errors=errors meta=meta key="target_types" label="Target types"/>
                    <MultiField form=form errors=errors meta=meta key="host_types" label="Host types"/>
                    <MultiField form=form errors=errors meta=meta key="groups" label="Abuse groups" not_key="not_groups"/>
                </fieldset>
            </Show>
            <Show when=move || open.get()[2]>
                <fieldset class="grid"><legend>"Event"</legend>
                    <MultiField form=form errors=errors meta=meta key="categories" label="Categories" not_key="not_categories"/>
                    <TextField form=form errors=errors key="description" label="Description contains" hint="case-insensitive"/>
                    <MultiField form=form errors=errors meta=meta key="protocols" label="Protocols" not_key="not_protocols"/>
                    <MultiField form=form errors=errors meta=meta key="severities" label="Severities" not_key="not_severities"/>
                    <MultiField form=form errors=errors meta=meta key="classes" label="Classes" not_key="not_classes"/>
                </fieldset>
            </Show>
            <Show when=move || open.get()[3]>
                <fieldset class="grid"><legend>"Detector"</legend>
                    <MultiField form=form errors=errors meta=meta key="detectors" label="Detectors" not_key="not_detectors"/>
                    <MultiField form=form errors=errors meta=meta key="detector_types" label="Detector types" not_key="not_detector_types"/>
                </fieldset>
            </Show>
            <Show when=move || open.get()[4]>
                <fieldset class="grid"><legend>"Special"</legend>
                    <MultiField form=form errors=errors meta=meta key="inspection_errs" label="Inspection errors" not_key="not_inspection_errs"/>
                </fieldset>
            </Show>
            <div class="bar">
                <button type="submit" class="primary" id="search">"Search"</button>
                <label for="limit">"Rows per page"</label>
                <select id="limit" on:change=move |ev| form.update(|f| f.set("limit", &event_target_value(&ev)))>
                    {PAGE_SIZES.iter().map(|n| {
                        let n = n.to_string();
                        let selected = { let n = n.clone(); move || { let l = form.with(|f| f.get("limit")); l == n || (l.is_empty() && n == "100") } };
                        view! { <option value=n.clone() selected=selected>{n.clone()}</option> }
                    }).collect_view()}
                </select>
                <span class="muted">"Times in " {move || session.tz.get()}</span>
            </div>
            {move || errors.get().map(|e| view! { <ErrorBox error=e/> })}
        </form>
        {move || match state.get() {
            State::Idle => view! { <p class="muted">"Fill in the form and search; an empty form finds the last seven days."</p> }.into_any(),
            State::Loading => view! { <Loading what="events"/> }.into_any(),
            State::Failed(ApiError::Form { .. }) => ().into_any(),
            State::Failed(e) => view! { <ErrorBox error=e/> }.into_any(),
            State::Done => view! {
                <Results rows=rows first_row=first_row total=total next=next more_busy=more_busy load_more=load_more go=go.clone() current=current/>
            }.into_any(),
        }}
    }
}

/// Counts every match in a second request, so the rows never wait for the count.
async fn count(session: Session, query: &Query, total: RwSignal<Total>, shown: u64) {
    let q = query.without(&["page", "after", "limit"]).with("limit", "10").with("count", "true");
    match api::get_json::<SearchResult>(session, &format!("/api/events/search?{}", q.encode())).await {
        Ok(SearchResult { total: Some(n), .. }) => total.set(Total::Exact(n)),
        Ok(SearchResult { total_error: Some(_), .. }) => total.set(Total::MoreThan(shown)),
        Ok(_) => total.set(Total::Unknown),
        Err(_) => total.set(Total::Unknown),
    }
}

#[component]
fn Results(
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
                    <div role="rowgroup" on:click=move |ev| download_clicked(session, &ev)
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
        escape_html(&event_url(&row.id), &mut out);
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
        escape_html(&event_url(&row.id), &mut out);
        out.push_str(
            r#"">Detail</a> <button type="button" class="download" title="Download the event as JSON" data-id=""#,
        );
        escape_html(&row.id, &mut out);
        out.push_str(r#"">JSON</button></span></div>"#);
    }
    out
}

/// Downloads the event of a row's download button, when the click was on one.
fn download_clicked(session: Session, ev: &leptos::ev::MouseEvent) {
    use wasm_bindgen::JsCast;
    let button = ev
        .target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        .and_then(|t| t.closest("button.download[data-id]").ok().flatten());
    if let Some(id) = button.and_then(|b| b.get_attribute("data-id")) {
        leptos::task::spawn_local(async move {
            let _ = api::download(session, &download_url(&id, "json"), &format!("{id}.json"), "application/json").await;
        });
    }
}

fn field_messages(errors: Signal<Option<ApiError>>, key: &'static str) -> impl IntoView {
    move || {
        errors
            .get()
            .map(|e| e.field(key))
            .unwrap_or_default()
            .into_iter()
            .map(|m| view! { <span class="msg" role="alert">{m}</span> })
            .collect_view()
    }
}

#[component]
fn TextField(
    form: RwSignal<Query>,
    errors: Signal<Option<ApiError>>,
    key: &'static str,
    label: &'static str,
    #[prop(optional)] hint: &'static str,
) -> impl IntoView {
    let has_error = move || errors.with(|e| e.as_ref().is_some_and(|e| !e.field(key).is_empty()));
    view! {
        <div class="field" class:has-error=has_error>
            <label for=key>{label}</label>
            <input id=key name=key placeholder=hint prop:value=move || form.with(|f| f.get(key))
                on:change=move |ev| form.update(|f| f.set(key, &event_target_value(&ev)))/>
            {field_messages(errors, key)}
        </div>
    }
}

/// A multi-select filled from `/api/events/metadata`, with "without value" and "any value",
/// and a "not" switch where the API negates the field.
#[component]
fn MultiField(
    form: RwSignal<Query>,
    errors: Signal<Option<ApiError>>,
    meta: RwSignal<Map<String, Value>>,
    key: &'static str,
    label: &'static str,
    #[prop(optional)] not_key: Option<&'static str>,
) -> impl IntoView {
    let options = move || {
        let mut opts = vec![
            ("__EMPTY__".to_string(), "(without value)".to_string()),
            ("__ANY__".to_string(), "(any value)".to_string()),
        ];
        let mut known: Vec<String> = meta.with(|m| strings(m.get(key).unwrap_or(&Value::Null)));
        for chosen in form.with(|f| f.all(key)) {
            if !known.contains(&chosen) && !chosen.starts_with("__") {
                known.push(chosen);
            }
        }
        opts.extend(known.into_iter().map(|v| (v.clone(), v)));
        opts
    };
    let change = move |ev: leptos::ev::Event| {
        let sel: web_sys::HtmlSelectElement = event_target(&ev);
        let chosen = sel.selected_options();
        let values =
            (0..chosen.length()).filter_map(|i| chosen.item(i)).filter_map(|o| o.get_attribute("value")).collect();
        form.update(|f| f.set_all(key, values));
    };
    view! {
        <div class="field">
            <label for=key>{label}
                {not_key.map(|n| view! {
                    " "<span class="not"><input type="checkbox" id=n name=n prop:checked=move || form.with(|f| f.flag(n))
                        on:change=move |ev| form.update(|f| f.set(n, if event_target_checked(&ev) { "on" } else { "" }))/>
                    <label for=n>"not"</label></span>
                })}
            </label>
            <select id=key name=key multiple on:change=change>
                {move || options().into_iter().map(|(v, text)| {
                    let selected = form.with(|f| f.all(key).contains(&v));
                    view! { <option value=v selected=selected>{text}</option> }
                }).collect_view()}
            </select>
            {field_messages(errors, key)}
        </div>
    }
}

/// Detection or storage time (one at a time, as Hawat has it), absolute or relative.
#[component]
fn TimeSection(form: RwSignal<Query>, errors: Signal<Option<ApiError>>) -> impl IntoView {
    let storage = RwSignal::new(form.with_untracked(|f| !f.get("st_from").is_empty() || !f.get("st_to").is_empty()));
    let keys = move || if storage.get() { ("st_from", "st_to") } else { ("dt_from", "dt_to") };
    let switch = move |to_storage: bool| {
        if storage.get_untracked() == to_storage {
            return;
        }
        let (old, new) = if to_storage {
            (("dt_from", "dt_to"), ("st_from", "st_to"))
        } else {
            (("st_from", "st_to"), ("dt_from", "dt_to"))
        };
        form.update(|f| {
            let (a, b) = (f.get(old.0), f.get(old.1));
            f.remove(old.0);
            f.remove(old.1);
            f.set(new.0, &a);
            f.set(new.1, &b);
        });
        storage.set(to_storage);
    };
    let preset = move |from: &'static str| {
        move |_| {
            let (k_from, k_to) = keys();
            form.update(|f| {
                f.set_keep_empty(k_from, from);
                f.remove(k_to);
            })
        }
    };
    let input = move |which: usize| {
        let key = move || if which == 0 { keys().0 } else { keys().1 };
        view! {
            <input id=key name=key placeholder="YYYY-MM-DD HH:MM, ISO 8601 or now-24h"
                prop:value=move || form.with(|f| f.get(key()))
                on:change=move |ev| form.update(|f| f.set_keep_empty(key(), &event_target_value(&ev)))/>
        }
    };
    view! {
        <fieldset><legend>"Time"</legend>
            <div class="bar" role="radiogroup" aria-label="Which time">
                <label><input type="radio" name="time-kind" prop:checked=move || !storage.get() on:change=move |_| switch(false)/>" Detection time"</label>
                <label><input type="radio" name="time-kind" prop:checked=move || storage.get() on:change=move |_| switch(true)/>" Storage time"</label>
            </div>
            <div class="grid">
                <div class="field"><label>"From"</label>{input(0)}{move || field_messages(errors, keys().0)}</div>
                <div class="field"><label>"To"</label>{input(1)}{move || field_messages(errors, keys().1)}</div>
            </div>
            <div class="bar" aria-label="Relative ranges">
                <button type="button" on:click=preset("now-1h")>"Last hour"</button>
                <button type="button" on:click=preset("now-24h")>"Last 24 h"</button>
                <button type="button" on:click=preset("now-7d")>"Last 7 days"</button>
                <button type="button" on:click=preset("now-30d")>"Last 30 days"</button>
                <button type="button" on:click=preset("")>"All time"</button>
            </div>
        </fieldset>
    }
}
