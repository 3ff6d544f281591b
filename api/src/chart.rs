//! Dashboard pictures for API users: a group's statistics turned into the series that
//! `ideadb_wire::chart` draws (the same drawing the browser app uses).

use ideadb_wire::chart::{pie_svg, split, timeline_svg, top_names, Stacked, Theme};

use crate::stats::{Agg, GroupView};

const SIZE: (u32, u32) = (900, 420);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Timeline,
    Pie,
}

/// The chart as an SVG document.
pub fn render(view: &GroupView, agg: Agg, kind: Kind, title: &str) -> Result<String, String> {
    let totals = view.total.aggs.get(&agg).cloned().unwrap_or_default();
    let names = top_names(&totals);
    match kind {
        Kind::Timeline => {
            let stacked = Stacked {
                labels: view.timeline.iter().map(|(t, _)| t.format("%m-%d %H:%M").to_string()).collect(),
                values: view.timeline.iter().map(|(_, s)| split(s.aggs.get(&agg), &names)).collect(),
                names,
            };
            timeline_svg(&stacked, title, SIZE, Theme::Light)
        }
        Kind::Pie => pie_svg(&names, &split(Some(&totals), &names), title, SIZE, Theme::Light),
    }
}
