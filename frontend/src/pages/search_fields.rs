//! The search form's fields (the dashboard's range reuses [`TextField`]), section by section as
//! the shared table lists them: text, multi-select with "not", and the time section. Each shows
//! the API's messages for its own parameter.

use leptos::prelude::*;

use crate::api::{ApiError, Metadata};
use crate::form::Query;

use ideadb_wire::search_params::{Kind, Param, TIME_HINT};

/// The form's sections, from the table the server reads the form by.
pub use ideadb_wire::search_params::SECTIONS;

/// Whether a section is the time section, which has widgets of its own.
pub fn is_time(fields: &[Param]) -> bool {
    fields.iter().any(|p| p.kind == Kind::Time)
}

/// One section of the form.
#[component]
pub fn Section(
    label: &'static str,
    fields: &'static [Param],
    form: RwSignal<Query>,
    errors: Signal<Option<ApiError>>,
    meta: RwSignal<Option<Metadata>>,
) -> impl IntoView {
    if is_time(fields) {
        return view! { <TimeSection form=form errors=errors/> }.into_any();
    }
    let inputs = fields
        .iter()
        .map(|f| match f.kind {
            Kind::Choice => {
                view! { <MultiField form=form errors=errors meta=meta key=f.name label=f.label not_key=f.not/> }
                    .into_any()
            }
            Kind::Flag => view! { <FlagField form=form errors=errors key=f.name label=f.label/> }.into_any(),
            _ => view! { <TextField form=form errors=errors key=f.name label=f.label hint=f.hint/> }.into_any(),
        })
        .collect_view();
    view! { <fieldset class="grid"><legend>{label}</legend>{inputs}</fieldset> }.into_any()
}

fn field_messages(errors: Signal<Option<ApiError>>, key: &'static str) -> impl IntoView {
    move || {
        errors
            .get()
            .map(|e| e.field(key))
            .unwrap_or_default()
            .into_iter()
            .map(|m| view! { <span class="msg" role="alert">{m}</span> })
            .collect_view()
    }
}

#[component]
pub fn TextField(
    form: RwSignal<Query>,
    errors: Signal<Option<ApiError>>,
    key: &'static str,
    label: &'static str,
    #[prop(optional)] hint: &'static str,
) -> impl IntoView {
    let has_error = move || errors.with(|e| e.as_ref().is_some_and(|e| !e.field(key).is_empty()));
    view! {
        <div class="field" class:has-error=has_error>
            <label for=key>{label}</label>
            <input id=key name=key placeholder=hint prop:value=move || form.with(|f| f.get(key))
                on:change=move |ev| form.update(|f| f.set(key, &event_target_value(&ev)))/>
            {field_messages(errors, key)}
        </div>
    }
}

/// Either way (no condition), yes or no.
#[component]
fn FlagField(
    form: RwSignal<Query>,
    errors: Signal<Option<ApiError>>,
    key: &'static str,
    label: &'static str,
) -> impl IntoView {
    let options = [("", "either"), ("true", "yes"), ("false", "no")];
    view! {
        <div class="field">
            <label for=key>{label}</label>
            <select id=key name=key on:change=move |ev| form.update(|f| f.set(key, &event_target_value(&ev)))>
                {options.map(|(v, text)| {
                    let selected = move || form.with(|f| f.get(key).eq_ignore_ascii_case(v));
                    view! { <option value=v selected=selected>{text}</option> }
                }).collect_view()}
            </select>
            {field_messages(errors, key)}
        </div>
    }
}

/// A multi-select filled from `/api/events/metadata`, with "without value" and "any value",
/// and a "not" switch where the API negates the field.
#[component]
fn MultiField(
    form: RwSignal<Query>,
    errors: Signal<Option<ApiError>>,
    meta: RwSignal<Option<Metadata>>,
    key: &'static str,
    label: &'static str,
    not_key: Option<&'static str>,
) -> impl IntoView {
    let options = move || {
        let mut opts = vec![
            ("__EMPTY__".to_string(), "(without value)".to_string()),
            ("__ANY__".to_string(), "(any value)".to_string()),
        ];
        let mut known: Vec<String> = meta.with(|m| m.as_ref().map(|m| m.choices(key).to_vec()).unwrap_or_default());
        for chosen in form.with(|f| f.all(key)) {
            if !known.contains(&chosen) && !chosen.starts_with("__") {
                known.push(chosen);
            }
        }
        opts.extend(known.into_iter().map(|v| (v.clone(), v)));
        opts
    };
    let change = move |ev: leptos::ev::Event| {
        let sel: web_sys::HtmlSelectElement = event_target(&ev);
        let chosen = sel.selected_options();
        let values =
            (0..chosen.length()).filter_map(|i| chosen.item(i)).filter_map(|o| o.get_attribute("value")).collect();
        form.update(|f| f.set_all(key, values));
    };
    view! {
        <div class="field">
            <label for=key>{label}
                {not_key.map(|n| view! {
                    " "<span class="not"><input type="checkbox" id=n name=n prop:checked=move || form.with(|f| f.flag(n))
                        on:change=move |ev| form.update(|f| f.set(n, if event_target_checked(&ev) { "on" } else { "" }))/>
                    <label for=n>"not"</label></span>
                })}
            </label>
            <select id=key name=key multiple on:change=change>
                {move || options().into_iter().map(|(v, text)| {
                    let selected = form.with(|f| f.all(key).contains(&v));
                    view! { <option value=v selected=selected>{text}</option> }
                }).collect_view()}
            </select>
            {field_messages(errors, key)}
        </div>
    }
}

/// Detection or storage time (one at a time, as Hawat has it), absolute or relative.
#[component]
fn TimeSection(form: RwSignal<Query>, errors: Signal<Option<ApiError>>) -> impl IntoView {
    let storage = RwSignal::new(form.with_untracked(|f| !f.get("st_from").is_empty() || !f.get("st_to").is_empty()));
    let keys = move || if storage.get() { ("st_from", "st_to") } else { ("dt_from", "dt_to") };
    let switch = move |to_storage: bool| {
        if storage.get_untracked() == to_storage {
            return;
        }
        let (old, new) = if to_storage {
            (("dt_from", "dt_to"), ("st_from", "st_to"))
        } else {
            (("st_from", "st_to"), ("dt_from", "dt_to"))
        };
        form.update(|f| {
            let (a, b) = (f.get(old.0), f.get(old.1));
            f.remove(old.0);
            f.remove(old.1);
            f.set(new.0, &a);
            f.set(new.1, &b);
        });
        storage.set(to_storage);
    };
    let preset = move |from: &'static str| {
        move |_| {
            let (k_from, k_to) = keys();
            form.update(|f| {
                f.set_keep_empty(k_from, from);
                f.remove(k_to);
            })
        }
    };
    let input = move |which: usize| {
        let key = move || if which == 0 { keys().0 } else { keys().1 };
        view! {
            <input id=key name=key placeholder=TIME_HINT
                prop:value=move || form.with(|f| f.get(key()))
                on:change=move |ev| form.update(|f| f.set_keep_empty(key(), &event_target_value(&ev)))/>
        }
    };
    view! {
        <fieldset><legend>"Time"</legend>
            <div class="bar" role="radiogroup" aria-label="Which time">
                <label><input type="radio" name="time-kind" prop:checked=move || !storage.get() on:change=move |_| switch(false)/>" Detection time"</label>
                <label><input type="radio" name="time-kind" prop:checked=move || storage.get() on:change=move |_| switch(true)/>" Storage time"</label>
            </div>
            <div class="grid">
                <div class="field"><label>"From"</label>{input(0)}{move || field_messages(errors, keys().0)}</div>
                <div class="field"><label>"To"</label>{input(1)}{move || field_messages(errors, keys().1)}</div>
            </div>
            <div class="bar" aria-label="Relative ranges">
                <button type="button" on:click=preset("now-1h")>"Last hour"</button>
                <button type="button" on:click=preset("now-24h")>"Last 24 h"</button>
                <button type="button" on:click=preset("now-7d")>"Last 7 days"</button>
                <button type="button" on:click=preset("now-30d")>"Last 30 days"</button>
                <button type="button" on:click=preset("")>"All time"</button>
            </div>
        </fieldset>
    }
}
