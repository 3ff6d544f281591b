//! Timings the browser test reads (`window.ideadbTimings`): how long a page took to become
//! usable and how long rows and charts took to render once their data arrived.

use leptos::prelude::*;
use wasm_bindgen::JsValue;

/// Milliseconds since navigation started.
pub fn now() -> f64 {
    window().performance().map(|p| p.now()).unwrap_or(0.0)
}

pub fn record(name: &str, ms: f64) {
    let w: JsValue = window().into();
    let key = JsValue::from_str("ideadbTimings");
    let obj = js_sys::Reflect::get(&w, &key).ok().filter(|o| o.is_object()).unwrap_or_else(|| {
        let o: JsValue = js_sys::Object::new().into();
        let _ = js_sys::Reflect::set(&w, &key, &o);
        o
    });
    let _ = js_sys::Reflect::set(&obj, &JsValue::from_str(name), &JsValue::from_f64(ms));
}

/// Records the time from `start` until the next frame has been laid out and painted (a task
/// queued from the frame callback runs after the paint), and its parts: `_dom` (the DOM built)
/// and `_layout` (styles and layout, forced in the frame callback).
pub fn after_render(name: &'static str, start: f64) {
    request_animation_frame(move || {
        record(&format!("{name}_dom"), now() - start);
        if let Some(b) = document().body() {
            let _ = b.offset_height();
        }
        record(&format!("{name}_layout"), now() - start);
        set_timeout(move || record(name, now() - start), std::time::Duration::ZERO)
    });
}
