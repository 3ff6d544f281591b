//! Dashboard pictures for API users, drawn on the server as SVG with plotters: a timeline of
//! one aggregation (its ten largest values stacked, the rest as one "other" band) or a pie
//! of its totals.

use chrono::NaiveDateTime;
use plotters::prelude::*;

use crate::stats::{Agg, GroupView, REST};

/// Values shown by name; the others are summed as "other".
const TOP: usize = 10;
const SIZE: (u32, u32) = (900, 420);
const PALETTE: [RGBColor; 11] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
    RGBColor(190, 190, 190),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Timeline,
    Pie,
}

/// The largest values of an aggregation, and "other" for the rest (with `__REST__`).
fn top(view: &GroupView, agg: Agg) -> Vec<String> {
    let totals = view.total.aggs.get(&agg).cloned().unwrap_or_default();
    let mut names: Vec<String> = crate::stats::group::ranked(&totals).into_iter().take(TOP).collect();
    if totals.keys().any(|k| k == REST || !names.contains(k)) {
        names.push("other".into());
    }
    names
}

fn value_of(counts: Option<&std::collections::BTreeMap<String, i64>>, names: &[String], name: &str) -> f64 {
    let Some(c) = counts else { return 0.0 };
    if name == "other" {
        c.iter().filter(|(k, _)| !names[..names.len() - 1].contains(k)).map(|(_, n)| *n as f64).sum()
    } else {
        c.get(name).copied().unwrap_or(0) as f64
    }
}

/// The chart as an SVG document.
pub fn render(view: &GroupView, agg: Agg, kind: Kind, title: &str) -> Result<String, String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let names = top(view, agg);
        match kind {
            Kind::Timeline => timeline(&root, view, agg, &names, title)?,
            Kind::Pie => pie(&root, view, agg, &names, title)?,
        }
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(svg)
}

type Area<'a> = DrawingArea<SVGBackend<'a>, plotters::coord::Shift>;

fn timeline(root: &Area, view: &GroupView, agg: Agg, names: &[String], title: &str) -> Result<(), String> {
    let buckets: Vec<(NaiveDateTime, Vec<f64>)> = view
        .timeline
        .iter()
        .map(|(t, s)| (*t, names.iter().map(|n| value_of(s.aggs.get(&agg), names, n)).collect()))
        .collect();
    let max = buckets.iter().map(|(_, v)| v.iter().sum::<f64>()).fold(1.0, f64::max);
    let n = buckets.len().max(1);
    let label = |i: usize| buckets.get(i).map(|(t, _)| t.format("%m-%d %H:%M").to_string()).unwrap_or_default();
    let mut chart = ChartBuilder::on(root)
        .caption(title, ("sans-serif", 18))
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(50)
        .build_cartesian_2d(0f64..n as f64, 0f64..max * 1.05)
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(8.min(n))
        .x_label_formatter(&|x| label(*x as usize))
        .draw()
        .map_err(|e| e.to_string())?;
    for (k, name) in names.iter().enumerate() {
        let color = PALETTE[k.min(PALETTE.len() - 1)];
        let bars = buckets.iter().enumerate().filter_map(move |(i, (_, v))| {
            let base: f64 = v[..k].iter().sum();
            (v[k] > 0.0)
                .then(|| Rectangle::new([(i as f64 + 0.1, base), (i as f64 + 0.9, base + v[k])], color.filled()))
        });
        chart
            .draw_series(bars)
            .map_err(|e| e.to_string())?
            .label(name.clone())
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 10, y + 5)], color.filled()));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(|e| e.to_string())
}

fn pie(root: &Area, view: &GroupView, agg: Agg, names: &[String], title: &str) -> Result<(), String> {
    let totals = view.total.aggs.get(&agg);
    let sizes: Vec<f64> = names.iter().map(|n| value_of(totals, names, n)).collect();
    root.titled(title, ("sans-serif", 18)).map_err(|e| e.to_string())?;
    if sizes.iter().sum::<f64>() <= 0.0 {
        return root
            .draw(&Text::new("no events", (SIZE.0 as i32 / 2 - 30, SIZE.1 as i32 / 2), ("sans-serif", 16)))
            .map_err(|e| e.to_string());
    }
    let colors: Vec<RGBColor> = (0..names.len()).map(|k| PALETTE[k.min(PALETTE.len() - 1)]).collect();
    let labels: Vec<String> = names.iter().zip(&sizes).map(|(n, s)| format!("{n} ({s})")).collect();
    let center = (SIZE.0 as i32 / 2, SIZE.1 as i32 / 2 + 10);
    let radius = 140.0;
    let mut p = Pie::new(&center, &radius, &sizes, &colors, &labels);
    p.start_angle(-90.0);
    p.label_style(("sans-serif", 12).into_font().color(&BLACK));
    root.draw(&p).map_err(|e| e.to_string())
}
