//! One context menu for the whole page: a value's chip opens it with the searches that value
//! can start (as source, target or host for addresses and ports) and a copy action. Chips are
//! plain buttons found by one click listener, so a thousand result rows carry no handlers.

use leptos::prelude::*;
use leptos_router::hooks::use_navigate;
use wasm_bindgen::JsCast;

use crate::form::pivot;

/// What a value is, which decides the searches it offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Addr,
    Port,
    Category,
    Detector,
    Severity,
    Class,
    Protocol,
    Group,
}

impl Kind {
    const ALL: [Kind; 8] = [
        Kind::Addr,
        Kind::Port,
        Kind::Category,
        Kind::Detector,
        Kind::Severity,
        Kind::Class,
        Kind::Protocol,
        Kind::Group,
    ];

    fn name(self) -> &'static str {
        match self {
            Kind::Addr => "addr",
            Kind::Port => "port",
            Kind::Category => "category",
            Kind::Detector => "detector",
            Kind::Severity => "severity",
            Kind::Class => "class",
            Kind::Protocol => "protocol",
            Kind::Group => "group",
        }
    }

    fn parse(name: &str) -> Option<Kind> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }

    /// (label, search parameter) of each search the menu offers.
    fn searches(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Kind::Addr => &[
                ("Search as source", "source_addrs"),
                ("Search as target", "target_addrs"),
                ("Search as host", "host_addrs"),
            ],
            Kind::Port => &[
                ("Search as source port", "source_ports"),
                ("Search as target port", "target_ports"),
                ("Search as host port", "host_ports"),
            ],
            Kind::Category => &[("Search this category", "categories")],
            Kind::Detector => &[("Search this detector", "detectors")],
            Kind::Severity => &[("Search this severity", "severities")],
            Kind::Class => &[("Search this class", "classes")],
            Kind::Protocol => &[("Search this protocol", "protocols")],
            Kind::Group => &[("Search this abuse group", "groups")],
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
struct Open {
    kind: Kind,
    value: String,
    x: f64,
    y: f64,
}

/// The open menu, if any (a context of the whole app).
#[derive(Clone, Copy)]
pub struct Menu(RwSignal<Option<Open>>);

impl Menu {
    pub fn new() -> Self {
        Menu(RwSignal::new(None))
    }
}

/// A value with its menu: a light element rather than a `<button>` (a thousand rows hold
/// thousands of them), opened by click, Enter or Space.
pub fn chip(kind: Kind, value: String) -> impl IntoView {
    let data = value.clone();
    view! {
        <span role="button" tabindex="0" class="chip" data-kind=kind.name() data-value=data aria-haspopup="menu"
            title="Actions for this value">{value}</span>
    }
}

/// [`chip`] as HTML text, for rows written in one go.
pub fn chip_html(kind: Kind, value: &str, out: &mut String) {
    out.push_str(r#"<span role="button" tabindex="0" class="chip" aria-haspopup="menu" title="Actions for this value" data-kind=""#);
    out.push_str(kind.name());
    out.push_str(r#"" data-value=""#);
    super::escape_html(value, out);
    out.push_str(r#"">"#);
    super::escape_html(value, out);
    out.push_str("</span>");
}

/// The chip an event happened on, if any.
fn chip_of(target: Option<web_sys::EventTarget>) -> Option<Open> {
    let target: web_sys::Element = target?.dyn_into().ok()?;
    let chip = target.closest(".chip[data-kind]").ok()??;
    let kind = Kind::parse(&chip.get_attribute("data-kind")?)?;
    let r = chip.get_bounding_client_rect();
    Some(Open { kind, value: chip.get_attribute("data-value")?, x: r.left(), y: r.bottom() })
}

/// The menu itself, rendered once at the top of the app.
#[component]
pub fn ContextMenu() -> impl IntoView {
    let menu = expect_context::<Menu>();
    let navigate = use_navigate();
    let close = move || menu.0.set(None);
    let _ = window_event_listener(leptos::ev::click, move |ev| menu.0.set(chip_of(ev.target())));
    let _ = window_event_listener(leptos::ev::keydown, move |ev| match ev.key().as_str() {
        "Escape" => close(),
        "Enter" | " " => {
            if let Some(open) = chip_of(ev.target()) {
                ev.prevent_default();
                menu.0.set(Some(open));
                // Opened from the keyboard: the keyboard moves into the menu.
                request_animation_frame(|| {
                    let first = document().query_selector(".ctx-menu button").ok().flatten();
                    if let Some(b) = first.and_then(|b| b.dyn_into::<web_sys::HtmlElement>().ok()) {
                        let _ = b.focus();
                    }
                });
            }
        }
        _ => {}
    });
    move || {
        menu.0.get().map(|o| {
            let style = format!("position: fixed; left: {}px; top: {}px;", o.x, o.y);
            let searches = o
                .kind
                .searches()
                .iter()
                .map(|(label, key)| {
                    let (navigate, url) = (navigate.clone(), pivot(key, &o.value));
                    view! {
                        <button type="button" role="menuitem" on:click=move |_| { close(); navigate(&url, Default::default()) }>
                            {*label}
                        </button>
                    }
                })
                .collect_view();
            let value = o.value.clone();
            view! {
                <div class="ctx-menu" role="menu" style=style>
                    {searches}
                    <button type="button" role="menuitem" on:click=move |_| { super::copy_text(&value); close() }>"Copy"</button>
                </div>
            }
        })
    }
}
