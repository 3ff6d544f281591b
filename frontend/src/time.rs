//! Times shown in the zone the user chose, by the browser's own Intl (no zone database in
//! the app), and the delays and durations of the event detail.

use std::cell::RefCell;

use js_sys::{Array, Date, Object, Reflect};
use serde_json::Value;
use wasm_bindgen::{JsCast, JsValue};

/// The browser's zone, the default until the user picks one.
pub fn browser_zone() -> String {
    let opts = js_sys::Intl::DateTimeFormat::new(&Array::new(), &Object::new()).resolved_options();
    Reflect::get(&opts, &"timeZone".into()).ok().and_then(|v| v.as_string()).unwrap_or_else(|| "UTC".into())
}

/// Every zone the browser knows, UTC first.
pub fn zones() -> Vec<String> {
    let intl = Reflect::get(&js_sys::global(), &"Intl".into()).unwrap_or(JsValue::UNDEFINED);
    let list = Reflect::get(&intl, &"supportedValuesOf".into())
        .ok()
        .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
        .and_then(|f| f.call1(&intl, &"timeZone".into()).ok())
        .map(|a| Array::from(&a).iter().filter_map(|v| v.as_string()).collect::<Vec<_>>())
        .unwrap_or_default();
    let mut out = vec!["UTC".to_string()];
    out.extend(list.into_iter().filter(|z| z != "UTC"));
    out
}

/// An IDEA time (RFC 3339 text, or epoch seconds) as a JavaScript date.
fn date(v: &Value) -> Option<Date> {
    let d = match v {
        Value::String(s) => Date::new(&JsValue::from_str(s)),
        Value::Number(n) => Date::new(&JsValue::from_f64(n.as_f64()? * 1000.0)),
        _ => return None,
    };
    (!d.get_time().is_nan()).then_some(d)
}

thread_local! {
    /// The formatter of the zone last used: making one costs far more than using it.
    static FORMAT: RefCell<Option<(String, js_sys::Function)>> = const { RefCell::new(None) };
}

/// `YYYY-MM-DD HH:MM:SS` in `tz`; the raw value when it is not a time.
pub fn show(v: &Value, tz: &str) -> String {
    let Some(d) = date(v) else {
        return v.as_str().map(String::from).unwrap_or_else(|| v.to_string());
    };
    FORMAT.with_borrow_mut(|cached| {
        if cached.as_ref().is_none_or(|(zone, _)| zone != tz) {
            *cached = Some((tz.to_string(), formatter(tz)));
        }
        let format = &cached.as_ref().expect("just set").1;
        format.call1(&JsValue::NULL, &d).ok().and_then(|s| s.as_string()).unwrap_or_default()
    })
}

fn formatter(tz: &str) -> js_sys::Function {
    let opts = Object::new();
    for (k, val) in [
        ("timeZone", tz),
        ("year", "numeric"),
        ("month", "2-digit"),
        ("day", "2-digit"),
        ("hour", "2-digit"),
        ("minute", "2-digit"),
        ("second", "2-digit"),
        ("hourCycle", "h23"),
    ] {
        let _ = Reflect::set(&opts, &k.into(), &val.into());
    }
    // Swedish writes dates as ISO 8601 does.
    let locales = Array::of1(&JsValue::from_str("sv-SE"));
    js_sys::Intl::DateTimeFormat::new(&locales, &opts).format()
}

/// `to - from`, readable: "2 d 03:04:05", "12.5 s"; None when either is missing.
pub fn delay(from: &Value, to: &Value) -> Option<String> {
    let ms = date(to)?.get_time() - date(from)?.get_time();
    Some(duration(ms / 1000.0))
}

pub fn duration(secs: f64) -> String {
    let sign = if secs < 0.0 { "-" } else { "" };
    let s = secs.abs();
    if s < 60.0 {
        return format!("{sign}{} s", (s * 1000.0).round() / 1000.0);
    }
    let whole = s.round() as u64;
    let (d, h, m, sec) = (whole / 86_400, whole % 86_400 / 3600, whole % 3600 / 60, whole % 60);
    if d > 0 {
        format!("{sign}{d} d {h:02}:{m:02}:{sec:02}")
    } else {
        format!("{sign}{h:02}:{m:02}:{sec:02}")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn durations_read_as_analysts_write_them() {
        assert_eq!(super::duration(12.5), "12.5 s");
        assert_eq!(super::duration(3723.0), "01:02:03");
        assert_eq!(super::duration(-90061.0), "-1 d 01:01:01");
    }
}
