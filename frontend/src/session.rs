//! Who is logged in (the token lives in session storage, so it ends with the tab) and the
//! preferences remembered across visits (time zone and theme, in local storage).

use ideadb_wire::chart::Theme;
use leptos::prelude::*;

const TOKEN: &str = "ideadb.token";
const LOGIN: &str = "ideadb.login";
const TZ: &str = "ideadb.tz";
const THEME: &str = "ideadb.theme";

#[derive(Clone, Copy)]
pub struct Session {
    pub token: RwSignal<Option<String>>,
    pub login: RwSignal<Option<String>>,
    /// Shown on the login form: why the user is back there.
    pub notice: RwSignal<Option<String>>,
    pub tz: RwSignal<String>,
    pub theme: RwSignal<Theme>,
}

fn session_storage() -> Option<web_sys::Storage> {
    window().session_storage().ok().flatten()
}

fn local_storage() -> Option<web_sys::Storage> {
    window().local_storage().ok().flatten()
}

fn read(store: Option<web_sys::Storage>, key: &str) -> Option<String> {
    store.and_then(|s| s.get_item(key).ok().flatten()).filter(|v| !v.is_empty())
}

fn write(store: Option<web_sys::Storage>, key: &str, value: Option<&str>) {
    if let Some(s) = store {
        let _ = match value {
            Some(v) => s.set_item(key, v),
            None => s.remove_item(key),
        };
    }
}

impl Session {
    /// Restores the session and preferences, and keeps storage and the page's theme in step.
    pub fn restore() -> Self {
        let theme = match read(local_storage(), THEME).as_deref() {
            Some("dark") => Theme::Dark,
            Some("light") => Theme::Light,
            _ if prefers_dark() => Theme::Dark,
            _ => Theme::Light,
        };
        let s = Session {
            token: RwSignal::new(read(session_storage(), TOKEN)),
            login: RwSignal::new(read(session_storage(), LOGIN)),
            notice: RwSignal::new(None),
            tz: RwSignal::new(read(local_storage(), TZ).unwrap_or_else(crate::time::browser_zone)),
            theme: RwSignal::new(theme),
        };
        Effect::new(move |_| write(session_storage(), TOKEN, s.token.get().as_deref()));
        Effect::new(move |_| write(session_storage(), LOGIN, s.login.get().as_deref()));
        Effect::new(move |_| write(local_storage(), TZ, Some(&s.tz.get())));
        Effect::new(move |_| {
            let name = if s.theme.get() == Theme::Dark { "dark" } else { "light" };
            write(local_storage(), THEME, Some(name));
            if let Some(root) = document().document_element() {
                let _ = root.set_attribute("data-theme", name);
            }
        });
        s
    }

    pub fn start(&self, token: String, login: String) {
        self.notice.set(None);
        self.login.set(Some(login));
        self.token.set(Some(token));
    }

    /// Back to the login form, saying why.
    pub fn end(&self, why: Option<&str>) {
        self.notice.set(why.map(String::from));
        self.token.set(None);
    }
}

fn prefers_dark() -> bool {
    window().match_media("(prefers-color-scheme: dark)").ok().flatten().is_some_and(|m| m.matches())
}
