//! One context menu for the whole page: a value's chip opens it with the searches that value
//! can start (as source, target or host for addresses and ports) and a copy action.

use leptos::prelude::*;
use leptos_router::hooks::use_navigate;

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

/// A value with its menu.
#[component]
pub fn Chip(kind: Kind, #[prop(into)] value: String) -> impl IntoView {
    let menu = expect_context::<Menu>();
    let v = value.clone();
    let open = move |ev: leptos::ev::MouseEvent| {
        ev.stop_propagation();
        let el: web_sys::Element = event_target(&ev);
        let r = el.get_bounding_client_rect();
        menu.0.set(Some(Open { kind, value: v.clone(), x: r.left(), y: r.bottom() }));
    };
    view! {
        <button type="button" class="chip" aria-haspopup="menu" title="Actions for this value" on:click=open>
            {value}
        </button>
    }
}

/// The menu itself, rendered once at the top of the app.
#[component]
pub fn ContextMenu() -> impl IntoView {
    let menu = expect_context::<Menu>();
    let navigate = use_navigate();
    let close = move || menu.0.set(None);
    let _ = window_event_listener(leptos::ev::click, move |_| close());
    let _ = window_event_listener(leptos::ev::keydown, move |ev| {
        if ev.key() == "Escape" {
            close();
        }
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
