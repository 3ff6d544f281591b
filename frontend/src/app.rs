//! The frame of every page: the header (navigation, time zone, theme, logout), the routes, and
//! the login form in place of any page while nobody is logged in.

use ideadb_wire::chart::Theme;
use leptos::prelude::*;
use leptos_router::components::{Redirect, Route, Router, Routes, A};
use leptos_router::path;

use crate::components::{ContextMenu, Failure, FailureNotice, Menu};
use crate::form::Query;
use crate::pages::{
    dashboard::DashboardPage,
    event::EventPage,
    login::LoginPage,
    search::{Choices, SearchPage},
};
use crate::route::Route;
use crate::session::Session;

#[component]
pub fn App() -> impl IntoView {
    let session = Session::restore();
    provide_context(session);
    provide_context(Menu::new());
    provide_context(Choices::new());
    provide_context(Failure::new());
    view! {
        <Router>
            <Header/>
            <ContextMenu/>
            <main>
                <FailureNotice/>
                <Show when=move || session.token.get().is_some() fallback=|| view! { <LoginPage/> }>
                    <Routes fallback=|| view! { <h1>"No such page"</h1> }>
                        <Route path=path!("/") view=|| view! { <Redirect path="/events/search"/> }/>
                        <Route path=path!("/events/search") view=SearchPage/>
                        <Route path=path!("/events/dashboard") view=DashboardPage/>
                        <Route path=path!("/events/:id") view=EventPage/>
                    </Routes>
                </Show>
            </main>
        </Router>
    }
}

#[component]
fn Header() -> impl IntoView {
    let session = expect_context::<Session>();
    let zones = crate::time::zones();
    let logout = move |_| {
        leptos::task::spawn_local(async move {
            crate::api::logout(session).await;
            session.end(Some("You have logged out."));
        })
    };
    let toggle_theme =
        move |_| session.theme.update(|t| *t = if *t == Theme::Dark { Theme::Light } else { Theme::Dark });
    view! {
        <header class="top">
            <span class="brand">"ideadb"</span>
            <nav aria-label="Pages">
                <A href=Route::Search(Query::default()).path()>"Search"</A>
                <A href=Route::Dashboard(Query::default()).path()>"Dashboard"</A>
            </nav>
            <div class="prefs">
                <label class="muted" for="tz">"Time zone"</label>
                <select id="tz" on:change=move |ev| session.tz.set(event_target_value(&ev))>
                    {zones
                        .into_iter()
                        .map(|z| {
                            let selected = z == session.tz.get_untracked();
                            view! { <option value=z.clone() selected=selected>{z.clone()}</option> }
                        })
                        .collect_view()}
                </select>
                <button type="button" on:click=toggle_theme aria-label="Switch light or dark theme">
                    {move || if session.theme.get() == Theme::Dark { "Light theme" } else { "Dark theme" }}
                </button>
                <Show when=move || session.token.get().is_some()>
                    <span class="muted">{move || session.login.get().unwrap_or_default()}</span>
                    <button type="button" id="logout" on:click=logout>"Log out"</button>
                </Show>
            </div>
        </header>
    }
}
