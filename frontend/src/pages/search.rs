//! Event database search (`/events/search`): Hawat's complete form in sections, kept in the
//! URL so that a search can be bookmarked and shared (the same query string works on
//! `/api/events/search`), and the searches it runs (the rows, then the total).

use leptos::prelude::*;
use leptos_router::hooks::{use_location, use_navigate};

use crate::api::{self, ApiError, SearchResult};
use crate::components::{ErrorBox, Loading};
use crate::form::Query;
use crate::idea::Row;
use crate::pages::results::{Results, Total};
use crate::pages::search_fields::{is_time, Section, SECTIONS};
use crate::perf;
use crate::route::Route;
use crate::session::Session;
use ideadb_wire::search_params::{DEFAULT_PAGE_SIZE, PAGE_SIZES};

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

    // Resources: only the answer to the latest query is ever applied, and the count starts
    // once the rows are shown.
    let searched = LocalResource::new(move || {
        let query = Query::parse(&location.search.get());
        async move {
            match query.has("submit") {
                true => Some(api::search(session, &query).await.map(|r| (query, r))),
                false => None,
            }
        }
    });
    let applied = StoredValue::new(None::<Query>);
    let counted = LocalResource::new(move || {
        let answer = searched.get();
        async move {
            let Some(Some(Ok((query, r)))) = answer else { return None };
            Some(count(session, &query, r.pager_index_high.unwrap_or(0)).await)
        }
    });
    Effect::new(move |_| {
        let query = Query::parse(&location.search.get());
        let asked = query.has("submit");
        form.set(query);
        state.set(if asked { State::Loading } else { State::Idle });
        total.set(if asked { Total::Counting } else { Total::Unknown });
    });
    Effect::new(move |_| match searched.get() {
        // An answer is applied once (a resource may hand the same one again): rows that "Load
        // more" added since must stay.
        Some(Some(Ok((q, _)))) if applied.with_value(|a| a.as_ref() == Some(&q)) => {}
        Some(Some(Ok((q, r)))) => {
            applied.set_value(Some(q));
            let start = perf::now();
            let messages = api::messages(&r);
            first_row.set(r.pager_index_low.unwrap_or(0));
            next.set(r.next_cursor.clone());
            rows.set(messages.iter().map(Row::of).collect());
            state.set(State::Done);
            perf::after_render("search_rows_ms", start);
            perf::record("search_rows", messages.len() as f64);
        }
        Some(Some(Err(e))) => {
            applied.set_value(None);
            state.set(State::Failed(e));
            total.set(Total::Unknown);
        }
        Some(None) => applied.set_value(None),
        None => {}
    });
    Effect::new(move |_| {
        if let Some(Some(t)) = counted.get() {
            total.set(t);
        }
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
        let asked = location.search.get_untracked();
        leptos::task::spawn_local(async move {
            let answer = api::search(session, &q).await;
            // A newer search replaced the rows these would extend.
            if location.search.get_untracked() != asked {
                more_busy.set(false);
                return;
            }
            match answer {
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
                            <button type="button" data-testid=format!("section-{}", label.to_lowercase())
                                aria-pressed=move || open.get()[i].to_string()
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
                        let selected = { let n = n.clone(); move || { let l = form.with(|f| f.get("limit")); l == n || (l.is_empty() && n == DEFAULT_PAGE_SIZE.to_string()) } };
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
async fn count(session: Session, query: &Query, shown: u64) -> Total {
    let q = query.without(&["page", "after", "limit"]).with("limit", "10").with("count", "true");
    match api::search(session, &q).await {
        Ok(SearchResult { total: Some(n), .. }) => Total::Exact(n),
        Ok(SearchResult { total_error: Some(_), .. }) => Total::MoreThan(shown),
        Ok(_) | Err(_) => Total::Unknown,
    }
}
