//! The login form, shown in place of any page while nobody is logged in; after login the
//! page the user asked for appears.

use leptos::prelude::*;

use crate::api;
use crate::session::Session;

#[component]
pub fn LoginPage() -> impl IntoView {
    let session = expect_context::<Session>();
    let login = RwSignal::new(session.login.get_untracked().unwrap_or_default());
    let password = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        busy.set(true);
        error.set(None);
        leptos::task::spawn_local(async move {
            match api::login(&login.get_untracked(), &password.get_untracked()).await {
                Ok(s) => session.start(s.token, s.user.login),
                Err(e) => {
                    error.set(Some(match e {
                        api::ApiError::Status { status: 401, .. } => "Wrong login or password.".to_string(),
                        e => e.message(),
                    }));
                    busy.set(false);
                }
            }
        });
    };
    view! {
        <form class="panel login" on:submit=submit>
            <h1>"Log in to ideadb"</h1>
            {move || session.notice.get().map(|n| view! { <p class="notice" role="status" id="login-notice">{n}</p> })}
            {move || error.get().map(|e| view! { <p class="alert" role="alert" id="login-error">{e}</p> })}
            <div class="field">
                <label for="login">"Login"</label>
                <input id="login" name="login" autocomplete="username" required
                    prop:value=move || login.get() on:input=move |ev| login.set(event_target_value(&ev))/>
            </div>
            <div class="field">
                <label for="password">"Password"</label>
                <input id="password" name="password" type="password" autocomplete="current-password" required
                    prop:value=move || password.get() on:input=move |ev| password.set(event_target_value(&ev))/>
            </div>
            <button type="submit" class="primary" disabled=move || busy.get()>
                {move || if busy.get() { "Logging in…" } else { "Log in" }}
            </button>
        </form>
    }
}
