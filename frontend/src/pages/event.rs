//! Event detail (`/events/:id`): the header of Hawat's view, downloads, and the data panels
//! as tabs. Every address, port, category and detector opens the context menu.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use serde_json::Value;

use crate::api::{self, ApiError};
use crate::components::{chip, pretty, ErrorBox, Failure, JsonView, Kind, Loading};
use crate::idea::{private, strings};
use crate::perf;
use crate::session::Session;

const TABS: [&str; 6] = ["Properties", "Sources", "Targets", "Detectors", "YAML", "JSON"];

#[derive(Debug, Clone)]
struct Loaded {
    raw: String,
    event: Value,
}

#[component]
pub fn EventPage() -> impl IntoView {
    let session = expect_context::<Session>();
    let params = use_params_map();
    let id = move || params.with(|p| p.get("id").unwrap_or_default());
    let tab = RwSignal::new(0usize);
    // Resources: when the ID changes, an answer for the one before is dropped, never shown.
    let loaded = LocalResource::new(move || {
        let id = id();
        async move {
            let r = api::event(session, &id, "json").await.and_then(|raw| {
                let event = serde_json::from_str(&raw)
                    .map_err(|e| ApiError::Status { status: 200, message: format!("the event is not JSON: {e}") })?;
                Ok(Loaded { raw, event })
            });
            perf::after_render("event_ms", 0.0);
            r
        }
    });
    // Fetched when its tab is first shown.
    let yaml_shown = Memo::new(move |seen: Option<&bool>| seen.copied().unwrap_or(false) || tab.get() == 4);
    let yaml = LocalResource::new(move || {
        let (id, shown) = (id(), yaml_shown.get());
        async move {
            match shown {
                true => Some(api::event(session, &id, "yaml").await),
                false => None,
            }
        }
    });
    let failure = expect_context::<Failure>();
    let download = move |format: &'static str, mime: &'static str| {
        move |_| {
            let id = id();
            leptos::task::spawn_local(async move {
                let done =
                    api::download(session, &api::download_url(&id, format), &format!("{id}.{format}"), mime).await;
                failure.report("The download", done);
            })
        }
    };
    let page = move || match loaded.get() {
        None => view! { <Loading what="the event"/> }.into_any(),
        Some(Err(e)) => view! { <h1>"Event " {id()}</h1><ErrorBox error=e/> }.into_any(),
        Some(Ok(l)) => {
            let ev = l.event;
            let title = ev["Description"].as_str().map(String::from).unwrap_or_else(id);
            let note = ev["Note"].as_str().map(String::from);
            let tz = session.tz.get();
            let panels = [
                properties(&ev, &tz).into_any(),
                entries(&ev["Source"], true).into_any(),
                entries(&ev["Target"], false).into_any(),
                detectors(&ev["Node"]).into_any(),
                // A boundary of its own, so that loading the YAML never hides the page.
                view! {
                    <Suspense fallback=|| view! { <Loading what="YAML"/> }>
                        {move || yaml.get().flatten().map(|r| match r {
                            Ok(y) => view! { <pre class="code" data-testid="yaml">{y}</pre> }.into_any(),
                            Err(e) => view! { <ErrorBox error=e/> }.into_any(),
                        })}
                    </Suspense>
                }
                .into_any(),
                view! { <JsonView text=pretty(&l.raw)/> }.into_any(),
            ];
            view! {
                <h1 id="event-title">{title}</h1>
                <p class="mono muted" id="event-id">{ev["ID"].as_str().unwrap_or_default().to_string()}</p>
                {note.map(|n| view! { <p id="event-note">{n}</p> })}
                <div class="bar">
                    <button type="button" id="download-json" on:click=download("json", "application/json")>"Download JSON"</button>
                    <button type="button" id="download-yaml" on:click=download("yaml", "application/yaml")>"Download YAML"</button>
                </div>
                <div class="tabs" role="tablist">
                    {TABS.iter().enumerate().map(|(i, name)| view! {
                        <button type="button" role="tab" id=format!("tab-{}", name.to_lowercase())
                            aria-selected=move || (tab.get() == i).to_string() aria-pressed=move || (tab.get() == i).to_string()
                            on:click=move |_| tab.set(i)>{*name}</button>
                    }).collect_view()}
                </div>
                <section class="panel" role="tabpanel" id="panel">
                    {panels.into_iter().enumerate().map(|(i, p)| view! { <div data-testid="tab-panel" hidden=move || tab.get() != i>{p}</div> }).collect_view()}
                </section>
            }
            .into_any()
        }
    };
    view! { <Suspense fallback=|| view! { <Loading what="the event"/> }>{page}</Suspense> }
}

fn chips(kind: Kind, values: Vec<String>) -> impl IntoView {
    view! { <div class="chips">{values.into_iter().map(|v| chip(kind, v)).collect_view()}</div> }
}

fn text(values: Vec<String>) -> String {
    values.join(", ")
}

/// One row of the properties list; nothing when the value is missing.
fn prop(label: &'static str, key: &'static str, value: Option<AnyView>) -> Option<impl IntoView> {
    value.map(|v| view! { <dt>{label}</dt><dd data-prop=key>{v}</dd> })
}

fn properties(ev: &Value, tz: &str) -> impl IntoView {
    let time = |k: &str| (!ev[k].is_null()).then(|| crate::time::show(&ev[k], tz).into_any());
    let storage = private(ev, "StorageTime").clone();
    let delay = |a: &Value, b: &Value| crate::time::delay(a, b).map(IntoAny::into_any);
    let list = |v: &Value, kind: Option<Kind>| {
        let items = strings(v);
        (!items.is_empty()).then(|| match kind {
            Some(k) => chips(k, items).into_any(),
            None => text(items).into_any(),
        })
    };
    view! {
        <p class="muted">"Times in " {tz.to_string()}</p>
        <dl class="props">
            {prop("ID", "id", Some(ev["ID"].as_str().unwrap_or_default().to_string().into_any()))}
            {prop("Detection time", "detect_time", time("DetectTime"))}
            {prop("Creation time", "create_time", time("CreateTime"))}
            {prop("Creation delay", "creation_delay", delay(&ev["DetectTime"], &ev["CreateTime"]))}
            {prop("Event time", "event_time", time("EventTime"))}
            {prop("Cease time", "cease_time", time("CeaseTime"))}
            {prop("Event duration", "event_duration", delay(&ev["EventTime"], &ev["CeaseTime"]))}
            {prop("Aggregation window start", "win_start", time("WinStartTime"))}
            {prop("Aggregation window end", "win_end", time("WinEndTime"))}
            {prop("Aggregation window size", "win_size", delay(&ev["WinStartTime"], &ev["WinEndTime"]))}
            {prop("Storage time", "storage_time", (!storage.is_null()).then(|| crate::time::show(&storage, tz).into_any()))}
            {prop("Storage delay", "storage_delay", delay(&ev["DetectTime"], &storage))}
            {prop("Categories", "categories", list(&ev["Category"], Some(Kind::Category)))}
            {prop("Event severity", "severity", list(private(ev, "EventSeverity"), Some(Kind::Severity)))}
            {prop("Event class", "class", list(private(ev, "EventClass"), Some(Kind::Class)))}
            {prop("Abuse groups", "abuses", list(private(ev, "ResolvedAbuses"), Some(Kind::Group)))}
            {prop("TLP", "tlp", list(&ev["TLP"], None))}
            {prop("Target abuse groups", "target_abuses", list(private(ev, "TargetAbuses"), None))}
            {prop("Target severity", "target_severity", list(private(ev, "TargetSeverity"), None))}
            {prop("Target class", "target_class", list(private(ev, "TargetClass"), None))}
            {prop("Source countries", "countries", list(private(ev, "SourceResolvedCountry"), None))}
            {prop("Source autonomous systems", "asns", list(private(ev, "SourceResolvedASN"), None))}
            {prop("Inspection errors", "inspection_errors", list(private(ev, "InspectionErrors"), None))}
            {prop("Confidence", "confidence", (!ev["Confidence"].is_null()).then(|| ev["Confidence"].to_string().into_any()))}
            {prop("Connection count", "conn_count", (!ev["ConnCount"].is_null()).then(|| ev["ConnCount"].to_string().into_any()))}
        </dl>
    }
}

/// The Source or Target entries, one block each.
fn entries(list: &Value, source: bool) -> impl IntoView {
    let items = list.as_array().cloned().unwrap_or_default();
    if items.is_empty() {
        return view! { <p class="muted">{if source { "No sources." } else { "No targets." }}</p> }.into_any();
    }
    items
        .into_iter()
        .enumerate()
        .map(|(i, e)| {
            let row = |label: &'static str, key: &'static str, kind: Option<Kind>| {
                let vals = strings(&e[key]);
                (!vals.is_empty()).then(|| {
                    let v = match kind {
                        Some(k) => chips(k, vals).into_any(),
                        None => text(vals).into_any(),
                    };
                    view! { <dt>{label}</dt><dd data-prop=key>{v}</dd> }
                })
            };
            view! {
                <h3>{if source { "Source " } else { "Target " }}{i + 1}</h3>
                <dl class="props entry">
                    {row("Type", "Type", None)}
                    {row("IPv4", "IP4", Some(Kind::Addr))}
                    {row("IPv6", "IP6", Some(Kind::Addr))}
                    {row("Hostname", "Hostname", Some(Kind::Addr))}
                    {row("Port", "Port", Some(Kind::Port))}
                    {row("Protocol", "Proto", Some(Kind::Protocol))}
                    {row("URL", "URL", None)}
                    {row("Email", "Email", None)}
                    {row("MAC", "MAC", None)}
                    {row("Router", "Router", None)}
                    {row("Netname", "Netname", None)}
                    {row("ASN", "ASN", None)}
                    {row("Note", "Note", None)}
                </dl>
            }
        })
        .collect_view()
        .into_any()
}

fn detectors(nodes: &Value) -> impl IntoView {
    let items = nodes.as_array().cloned().unwrap_or_default();
    items
        .into_iter()
        .enumerate()
        .map(|(i, n)| {
            let name = n["Name"].as_str().unwrap_or_default().to_string();
            view! {
                <h3>"Detector " {i + 1}</h3>
                <dl class="props entry">
                    <dt>"Name"</dt><dd data-prop="Name">{(!name.is_empty()).then(|| chip(Kind::Detector, name.clone()))}</dd>
                    <dt>"Type"</dt><dd data-prop="Type">{text(strings(&n["Type"]))}</dd>
                    <dt>"Software"</dt><dd data-prop="SW">{text(strings(&n["SW"]))}</dd>
                    <dt>"Aggregation window"</dt><dd data-prop="AggrWin">{text(strings(&n["AggrWin"]))}</dd>
                    <dt>"Note"</dt><dd data-prop="Note">{text(strings(&n["Note"]))}</dd>
                </dl>
            }
        })
        .collect_view()
}
