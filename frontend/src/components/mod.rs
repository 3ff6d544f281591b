//! Pieces every page uses: the context menu of values, highlighted JSON, status lines, and the
//! browser glue for files and the clipboard.

mod context_menu;
mod json_view;

pub use context_menu::{chip, chip_html, ContextMenu, Kind, Menu};
pub use json_view::{pretty, JsonView};

use leptos::prelude::*;
use wasm_bindgen::JsValue;

use crate::api::ApiError;

/// `text` safe inside HTML text and quoted attribute values.
pub fn escape_html(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

/// Hands `text` to the browser as a file to save.
pub fn save_file(text: &str, filename: &str, mime: &str) {
    let parts = js_sys::Array::of1(&JsValue::from_str(text));
    let props = web_sys::BlobPropertyBag::new();
    props.set_type(mime);
    let Ok(blob) = web_sys::Blob::new_with_str_sequence_and_options(&parts, &props) else { return };
    let Ok(url) = web_sys::Url::create_object_url_with_blob(&blob) else { return };
    if let Ok(a) = document().create_element("a") {
        let _ = a.set_attribute("href", &url);
        let _ = a.set_attribute("download", filename);
        if let Some(body) = document().body() {
            let _ = body.append_child(&a);
            if let Some(el) = wasm_bindgen::JsCast::dyn_ref::<web_sys::HtmlElement>(&a) {
                el.click();
            }
            let _ = body.remove_child(&a);
        }
    }
    let _ = web_sys::Url::revoke_object_url(&url);
}

/// Copies `text` to the clipboard (asynchronously; the browser may refuse silently).
pub fn copy_text(text: &str) {
    let nav: JsValue = window().navigator().into();
    let clipboard = js_sys::Reflect::get(&nav, &"clipboard".into()).unwrap_or(JsValue::UNDEFINED);
    if let Ok(write) = js_sys::Reflect::get(&clipboard, &"writeText".into()) {
        if let Ok(f) = wasm_bindgen::JsCast::dyn_into::<js_sys::Function>(write) {
            let _ = f.call1(&clipboard, &JsValue::from_str(text));
        }
    }
}

#[component]
pub fn Loading(#[prop(into)] what: String) -> impl IntoView {
    view! { <p class="muted" role="status"><span class="spinner"></span>" Loading " {what} "…"</p> }
}

/// The last action that failed (a download, an export), shown above every page until
/// dismissed: an action the user started never fails silently.
#[derive(Clone, Copy)]
pub struct Failure(RwSignal<Option<String>>);

impl Failure {
    pub fn new() -> Self {
        Self(RwSignal::new(None))
    }

    /// Shows `what` failed and why, when `result` is an error.
    pub fn report(self, what: &str, result: Result<(), ApiError>) {
        if let Err(e) = result {
            self.0.set(Some(format!("{what} failed: {}", e.message())));
        }
    }
}

/// The failure notice.
#[component]
pub fn FailureNotice() -> impl IntoView {
    let failure = expect_context::<Failure>();
    move || {
        failure.0.get().map(|m| {
            view! {
                <div class="alert" role="alert" id="action-error">{m}" "
                    <button type="button" on:click=move |_| failure.0.set(None)>"Dismiss"</button>
                </div>
            }
        })
    }
}

#[component]
pub fn ErrorBox(error: ApiError) -> impl IntoView {
    view! { <div class="alert" role="alert">{error.message()}</div> }
}

#[cfg(test)]
mod tests {
    #[test]
    fn escaping_leaves_no_markup() {
        let mut out = String::new();
        super::escape_html(r#"<img src=x onerror="alert('1')">&amp;"#, &mut out);
        assert_eq!(out, "&lt;img src=x onerror=&quot;alert(&#39;1&#39;)&quot;&gt;&amp;amp;");
    }
}
