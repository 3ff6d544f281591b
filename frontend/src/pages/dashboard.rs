//! Event dashboard (`/events/dashboard`): a range (default: the previous midnight to now), the
//! overall / internal / external groups, their counters, and for each aggregation a stacked
//! timeline, a pie and a sortable table.

use leptos::prelude::*;
use leptos_router::hooks::{use_location, use_navigate};
use serde_json::Value;

use crate::api::{self, ApiError};
use crate::charts;
use crate::components::{ErrorBox, Loading};
use crate::form::Query;
use crate::pages::search_fields::TextField;
use crate::perf;
use crate::route::Route;
use crate::session::Session;
use ideadb_wire::aggregation::Agg;

const GROUPS: [(&str, &str); 3] =
    [("stats_overall", "Overall"), ("stats_internal", "Internal"), ("stats_external", "External")];
const COUNTERS: [(&str, &str); 4] =
    [("cnt_alerts", "Alerts"), ("cnt_events", "Events"), ("cnt_recurring", "Recurring"), ("cnt_unique", "Unique")];

#[component]
pub fn DashboardPage() -> impl IntoView {
    let session = expect_context::<Session>();
    let location = use_location();
    let navigate = use_navigate();
    let form = RwSignal::new(Query::parse(&location.search.get_untracked()));
    let group = RwSignal::new(0usize);
    let query = move || Query::parse(&location.search.get()).with("tz", &session.tz.get()).with("submit", "1");
    Effect::new(move |_| form.set(query()));
    // A resource: an answer for a range asked before the current one is dropped, never shown.
    let data = LocalResource::new(move || {
        let q = query();
        async move {
            let r = api::dashboard(session, &q).await;
            perf::record("dashboard_data_at", perf::now());
            r
        }
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let q = form.get_untracked().with("tz", &session.tz.get_untracked()).with("submit", "1");
        navigate(&Route::Dashboard(q).path(), Default::default());
    };
    let errors = Signal::derive(move || match data.get() {
        Some(Err(e @ ApiError::Form { .. })) => Some(e),
        _ => None,
    });
    view! {
        <h1>"Event dashboard"</h1>
        <form class="panel" on:submit=submit aria-label="Dashboard range">
            <div class="grid">
                <TextField form=form errors=errors key="dt_from" label="From (default: the previous midnight)"
                    hint="YYYY-MM-DD HH:MM or now-7d"/>
                <TextField form=form errors=errors key="dt_to" label="To (default: now)" hint="YYYY-MM-DD HH:MM or now"/>
            </div>
            <div class="bar">
                <button type="submit" class="primary" id="show-dashboard">"Show"</button>
                <span class="muted">"Times in " {move || session.tz.get()}</span>
            </div>
        </form>
        <Suspense fallback=|| view! { <Loading what="statistics"/> }>
            {move || data.get().map(|r| match r {
                Err(e) => view! { <ErrorBox error=e/> }.into_any(),
                Ok(stats) => view! { <Statistics stats=stats group=group/> }.into_any(),
            })}
        </Suspense>
    }
}

#[component]
fn Statistics(stats: Value, group: RwSignal<usize>) -> impl IntoView {
    let session = expect_context::<Session>();
    let stats = StoredValue::new(stats);
    view! {
        <p class="muted" id="dashboard-range">
            {move || stats.with_value(|s| format!("{} → {}",
                crate::time::show(&s["dt_from"], &session.tz.get()), crate::time::show(&s["dt_to"], &session.tz.get())))}
        </p>
        <div class="tabs" role="tablist">
            {GROUPS.iter().enumerate().map(|(i, (key, label))| view! {
                <button type="button" role="tab" id=format!("group-{key}") aria-selected=move || (group.get() == i).to_string()
                    aria-pressed=move || (group.get() == i).to_string() on:click=move |_| group.set(i)>{*label}</button>
            }).collect_view()}
        </div>
        {move || {
            let start = perf::now();
            let (key, _) = GROUPS[group.get()];
            let g = stats.with_value(|s| s[key].clone());
            let theme = session.theme.get();
            let tz = session.tz.get();
            let view = view! {
                <section class="panel counters" aria-label="Counters">
                    {COUNTERS.iter().filter(|(k, _)| !g[*k].is_null()).map(|(k, label)| view! {
                        <div class="counter"><div class="muted">{*label}</div><div class="value" id=format!("counter-{k}")>{g[*k].to_string()}</div></div>
                    }).collect_view()}
                </section>
                {Agg::ALL.into_iter().filter(|a| g[a.key()].is_object()).map(|a| {
                    let (k, title) = (a.key(), a.title());
                    let timeline = charts::timeline(&g, k, &tz, title, theme).unwrap_or_else(|e| format!("<p>{e}</p>"));
                    let pie = charts::pie(&g, k, title, theme).unwrap_or_else(|e| format!("<p>{e}</p>"));
                    view! {
                        <section class="panel" aria-label=title id=format!("agg-{k}")>
                            <h2>{title}</h2>
                            <div class="charts">
                                <div class="chart timeline" inner_html=timeline></div>
                                <div class="chart pie" inner_html=pie></div>
                            </div>
                            <AggTable counts=charts::counts(&g[k])/>
                        </section>
                    }
                }).collect_view()}
            };
            perf::after_render("dashboard_draw_ms", start);
            view
        }}
    }
}

/// Values and counts, sortable by either column.
#[component]
fn AggTable(counts: std::collections::BTreeMap<String, i64>) -> impl IntoView {
    let by_count = RwSignal::new(true);
    let total: i64 = counts.values().sum();
    let rows = move || {
        let mut rows: Vec<(String, i64)> = counts.clone().into_iter().collect();
        if by_count.get() {
            rows.sort_by_key(|r| std::cmp::Reverse(r.1));
        }
        rows
    };
    view! {
        <div class="table-wrap"><table class="agg">
            <thead><tr>
                <th><button type="button" class="sort-value" on:click=move |_| by_count.set(false)>"Value" {move || (!by_count.get()).then_some(" ▲")}</button></th>
                <th class="num"><button type="button" class="sort-count" on:click=move |_| by_count.set(true)>"Count" {move || by_count.get().then_some(" ▼")}</button></th>
                <th class="num">"Share"</th>
            </tr></thead>
            <tbody>
                {move || rows().into_iter().map(|(v, n)| view! {
                    <tr><td class="mono">{v}</td><td class="num">{n}</td>
                    <td class="num">{format!("{:.1} %", if total > 0 { n as f64 * 100.0 / total as f64 } else { 0.0 })}</td></tr>
                }).collect_view()}
            </tbody>
        </table></div>
    }
}
