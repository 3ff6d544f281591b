//! JSON pretty-printed and highlighted, with a copy button. Highlighting splits the text into
//! spans (never HTML), so a hostile message cannot inject markup.

use leptos::prelude::*;
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    Key,
    Str,
    Num,
    Lit,
    Punct,
}

impl Tok {
    fn class(self) -> &'static str {
        match self {
            Tok::Key => "tok-key",
            Tok::Str => "tok-str",
            Tok::Num => "tok-num",
            Tok::Lit => "tok-lit",
            Tok::Punct => "",
        }
    }
}

/// Splits pretty-printed JSON into classed pieces.
fn tokens(text: &str) -> Vec<(Tok, String)> {
    let mut out: Vec<(Tok, String)> = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    let push = |out: &mut Vec<(Tok, String)>, t: Tok, s: String| match out.last_mut() {
        Some((lt, ls)) if *lt == t && t == Tok::Punct => ls.push_str(&s),
        _ => out.push((t, s)),
    };
    while i < chars.len() {
        let c = chars[i];
        if c == '"' {
            let start = i;
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i = (i + 1).min(chars.len());
            let s: String = chars[start..i].iter().collect();
            let is_key = chars[i..].iter().find(|c| !c.is_whitespace()) == Some(&':');
            push(&mut out, if is_key { Tok::Key } else { Tok::Str }, s);
        } else if c == '-' || c.is_ascii_digit() {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || "+-.".contains(chars[i])) {
                i += 1;
            }
            push(&mut out, Tok::Num, chars[start..i].iter().collect());
        } else if c.is_ascii_alphabetic() {
            let start = i;
            while i < chars.len() && chars[i].is_ascii_alphabetic() {
                i += 1;
            }
            push(&mut out, Tok::Lit, chars[start..i].iter().collect());
        } else {
            push(&mut out, Tok::Punct, c.to_string());
            i += 1;
        }
    }
    out
}

/// JSON text re-indented by the browser, which keeps the keys in the order received.
pub fn pretty(raw: &str) -> String {
    let Ok(v) = js_sys::JSON::parse(raw) else { return raw.to_string() };
    js_sys::JSON::stringify_with_replacer_and_space(
        &v,
        &wasm_bindgen::JsValue::NULL,
        &wasm_bindgen::JsValue::from_f64(2.0),
    )
    .ok()
    .and_then(|s| s.as_string())
    .unwrap_or_else(|| raw.to_string())
}

/// `text` (pretty JSON) highlighted.
#[component]
pub fn JsonView(text: String) -> impl IntoView {
    let copied = RwSignal::new(false);
    let for_copy = text.clone();
    let spans = tokens(&text).into_iter().map(|(t, s)| view! { <span class=t.class()>{s}</span> }).collect_view();
    view! {
        <div class="bar">
            <button type="button" on:click=move |_| { super::copy_text(&for_copy); copied.set(true) }>
                {move || if copied.get() { "Copied" } else { "Copy JSON" }}
            </button>
        </div>
        <pre class="code json" data-testid="json">{spans}</pre>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_cover_the_text_and_tell_keys_from_strings() {
        let text =
            serde_json::to_string_pretty(&serde_json::json!({"a\"b": "x:y", "n": -1.5e3, "t": true, "l": [null]}))
                .unwrap();
        let toks = tokens(&text);
        assert_eq!(toks.iter().map(|(_, s)| s.as_str()).collect::<String>(), text);
        let of = |t: Tok| toks.iter().filter(|(k, _)| *k == t).map(|(_, s)| s.clone()).collect::<Vec<_>>();
        assert_eq!(of(Tok::Key), ["\"a\\\"b\"", "\"l\"", "\"n\"", "\"t\""]);
        assert_eq!(of(Tok::Str), ["\"x:y\""]);
        assert_eq!(of(Tok::Num), ["-1500.0"]);
        assert_eq!(of(Tok::Lit), ["null", "true"]);
    }
}
