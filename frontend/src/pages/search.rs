//! Event database search (`/events/search`): Hawat's complete form in sections, kept in the
//! URL so that a search can be bookmarked and shared (the same query string works on
//! `/api/events/search`), and the searches it runs (the rows, then the total).

use leptos::prelude::*;
use leptos_router::hooks::{use_location, use_navigate};

use crate::api::{self, ApiError, SearchResult};
use crate::route::Route;
use crate::components::{ErrorBox, Loading};
use crate::form::Query;
use crate::idea::Row;
use crate::pages::results::{Results, Total};
use crate::pages::search_fields::{is_time, Section, SECTIONS};
use crate::perf;
use crate::session::Session;

const PAGE_SIZES: [u32; 9] = [10, 20, 50, 100, 200, 500, 1000, 2500, 5000];

#[derive(Debug, Clone, PartialEq)]
enum State {
    Idle,
    Loading,
    Failed(ApiError),
    Done,
}

/// The lists of `/api/events/metadata`, fetched by the first search page of the visit and
/// kept for the others (pivots from the context menu open many).
#[derive(Clone, Copy)]
pub struct Choices(RwSignal<Option<api::Metadata>>);

impl Choices {
    pub fn new() -> Self {
        Choices(RwSignal::new(None))
    }
}

#[component]
pub fn SearchPage() -> impl IntoView {
    let session = expect_context::<Session>();
    let location = use_location();
    let navigate = use_navigate();
    let form = RwSignal::new(Query::parse(&location.search.get_untracked()));
    let meta = expect_context::<Choices>().0;
    let state = RwSignal::new(State::Idle);
    let rows = RwSignal::new(Vec::<Row>::new());
    let next = RwSignal::new(None::<String>);
    let total = RwSignal::new(Total::Unknown);
    let first_row = RwSignal::new(0u64);
    let more_busy = RwSignal::new(false);
    let generation = StoredValue::new(0u32);
    // The time section, and any section the URL fills, start open.
    let open = RwSignal::new(
        SECTIONS.map(|(_, fields)| form.with_untracked(|f| is_time(fields) || fields.iter().any(|p| f.has(p.name)))),
    );

    if meta.with_untracked(Option::is_none) {
        leptos::task::spawn_local(async move {
            if let Ok(m) = api::metadata(session).await {
                meta.set(Some(m));
            }
        });
    }

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
            match api::search(session, &query).await {
                Ok(r) if generation.get_value() == gen => {
                    let start = perf::now();
                    first_row.set(r.pager_index_low.unwrap_or(0));
                    next.set(r.next_cursor.clone());
                    let messages = api::messages(&r);
                    rows.set(messages.iter().map(Row::of).collect());
                    state.set(State::Done);
                    perf::after_render("search_rows_ms", start);
                    perf::record("search_rows", messages.len() as f64);
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

    let go = move |q: Query| navigate(&Route::Search(q).path(), Default::default());
    let submit = {
        let go = go.clone();
        move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            let q = form.get_untracked().without(&["page", "after", "count"]);
            go(q.with("tz", &session.tz.get_untracked()).with("submit", "1"));
        }
    };
    let current = move || Query::parse(&location.search.get_untracked());
    let load_more = move |_| {
        let Some(cursor) = next.get_untracked() else { return };
        more_busy.set(true);
        let q = current().without(&["page"]).with("after", &cursor);
        leptos::task::spawn_local(async move {
            match api::search(session, &q).await {
                Ok(r) => {
                    let start = perf::now();
                    next.set(r.next_cursor.clone());
                    rows.update(|rs| rs.extend(api::messages(&r).iter().map(Row::of)));
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
                    .map(|(i, (label, _))| {
                        view! {
                            <button type="button" aria-pressed=move || open.get()[i].to_string()
                                on:click=move |_| open.update(|o| o[i] = !o[i])>{*label}</button>
                        }
                    })
                    .collect_view()}
            </div>
            {SECTIONS
                .iter()
                .enumerate()
                .map(|(i, (label, fields))| {
                    view! {
                        <Show when=move || open.get()[i]>
                            <Section label=*label fields=*fields form=form errors=errors meta=meta/>
                        </Show>
                    }
                })
                .collect_view()}
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
    match api::search(session, &q).await {
        Ok(SearchResult { total: Some(n), .. }) => total.set(Total::Exact(n)),
        Ok(SearchResult { total_error: Some(_), .. }) => total.set(Total::MoreThan(shown)),
        Ok(_) => total.set(Total::Unknown),
        Err(_) => total.set(Total::Unknown),
    }
}
