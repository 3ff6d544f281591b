//! The dashboard's JSON turned into the series `ideadb_wire::chart` draws: the same charts as
//! the server's `chart.svg`, drawn in the browser.

use std::collections::BTreeMap;

use ideadb_wire::chart::{pie_svg, split, timeline_svg, top_names, Stacked, Theme};
use serde_json::Value;

const TIMELINE: (u32, u32) = (820, 360);
const PIE: (u32, u32) = (600, 360);

/// An aggregation's `{value: count}` map.
pub fn counts(v: &Value) -> BTreeMap<String, i64> {
    v.as_object().map(|m| m.iter().filter_map(|(k, n)| Some((k.clone(), n.as_i64()?))).collect()).unwrap_or_default()
}

/// Stacked timeline of `agg` in one group's statistics; buckets labelled in `tz`.
pub fn timeline(group: &Value, agg: &str, tz: &str, title: &str, theme: Theme) -> Result<String, String> {
    let names = top_names(&counts(&group[agg]));
    let buckets = group["timeline"].as_array().cloned().unwrap_or_default();
    let stacked = Stacked {
        labels: buckets.iter().map(|b| short(&crate::time::show(&b[0], tz))).collect(),
        values: buckets.iter().map(|b| split(Some(&counts(&b[1][agg])), &names)).collect(),
        names,
    };
    timeline_svg(&stacked, title, TIMELINE, theme)
}

pub fn pie(group: &Value, agg: &str, title: &str, theme: Theme) -> Result<String, String> {
    let totals = counts(&group[agg]);
    let names = top_names(&totals);
    pie_svg(&names, &split(Some(&totals), &names), title, PIE, theme)
}

/// `MM-DD HH:MM` of `YYYY-MM-DD HH:MM:SS`.
fn short(t: &str) -> String {
    t.get(5..16).unwrap_or(t).to_string()
}
