//! Dashboard charts as SVG documents: a timeline of one aggregation (its ten largest values
//! stacked, the rest as one "other" band) and a pie of its totals.

use std::collections::BTreeMap;

use plotters::prelude::*;

/// Values shown by name; the others are summed as "other".
pub const TOP: usize = 10;
/// The value Mentat's toplists sum their cut values into.
pub const REST: &str = "__REST__";
pub const OTHER: &str = "other";

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

/// Light or dark page behind the chart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Theme {
    #[default]
    Light,
    Dark,
}

impl Theme {
    fn colors(self) -> (RGBColor, RGBColor) {
        match self {
            Theme::Light => (WHITE, BLACK),
            Theme::Dark => (RGBColor(24, 26, 31), RGBColor(220, 222, 228)),
        }
    }
}

/// The colour of the `k`th series, as CSS, for legends drawn outside the chart.
pub fn color_css(k: usize) -> String {
    let RGBColor(r, g, b) = PALETTE[k.min(PALETTE.len() - 1)];
    format!("rgb({r},{g},{b})")
}

/// Values ranked by count (ties alphabetically), `__REST__` left out.
pub fn ranked(counts: &BTreeMap<String, i64>) -> Vec<String> {
    let mut order: Vec<(&String, i64)> = counts.iter().filter(|(k, _)| *k != REST).map(|(k, n)| (k, *n)).collect();
    // BTreeMap order is alphabetical; a stable sort by count keeps it among equals.
    order.sort_by_key(|a| std::cmp::Reverse(a.1));
    order.into_iter().map(|(k, _)| k.clone()).collect()
}

/// The names a chart shows: the [`TOP`] largest values, then "other" when anything is left.
pub fn top_names(totals: &BTreeMap<String, i64>) -> Vec<String> {
    let mut names: Vec<String> = ranked(totals).into_iter().take(TOP).collect();
    if totals.keys().any(|k| k == REST || !names.contains(k)) {
        names.push(OTHER.into());
    }
    names
}

/// `counts` split over `names` (from [`top_names`]): "other" takes every value not named.
pub fn split(counts: Option<&BTreeMap<String, i64>>, names: &[String]) -> Vec<f64> {
    let named = |k: &String| names.iter().any(|n| n == k && n != OTHER);
    names
        .iter()
        .map(|name| {
            let Some(c) = counts else { return 0.0 };
            if name == OTHER {
                c.iter().filter(|(k, _)| !named(k)).map(|(_, n)| *n as f64).sum()
            } else {
                c.get(name).copied().unwrap_or(0) as f64
            }
        })
        .collect()
}

/// A stacked timeline: one label per bucket, one value per name in each bucket.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stacked {
    pub labels: Vec<String>,
    pub names: Vec<String>,
    pub values: Vec<Vec<f64>>,
}

type Area<'a> = DrawingArea<SVGBackend<'a>, plotters::coord::Shift>;

fn draw(
    size: (u32, u32),
    theme: Theme,
    paint: impl FnOnce(&Area, RGBColor) -> Result<(), String>,
) -> Result<String, String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        let (bg, fg) = theme.colors();
        root.fill(&bg).map_err(|e| e.to_string())?;
        paint(&root, fg)?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(svg)
}

/// Width of the legend beside a timeline.
const LEGEND: u32 = 200;

/// The timeline as an SVG document: stacked bars, and the legend beside them (not over them).
pub fn timeline_svg(s: &Stacked, title: &str, size: (u32, u32), theme: Theme) -> Result<String, String> {
    draw(size, theme, |root, fg| {
        let (plot, legend) = root.split_horizontally(size.0.saturating_sub(LEGEND));
        let max = s.values.iter().map(|v| v.iter().sum::<f64>()).fold(1.0, f64::max);
        let n = s.labels.len().max(1);
        let label = |i: usize| s.labels.get(i).cloned().unwrap_or_default();
        let mut chart = ChartBuilder::on(&plot)
            .caption(title, ("sans-serif", 18).into_font().color(&fg))
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(50)
            .build_cartesian_2d(0f64..n as f64, 0f64..max * 1.05)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(6.min(n))
            .x_label_formatter(&|x| label(*x as usize))
            .y_labels(6)
            .y_label_formatter(&|y| format!("{}", y.round() as i64))
            .axis_style(fg)
            .label_style(("sans-serif", 12).into_font().color(&fg))
            .draw()
            .map_err(|e| e.to_string())?;
        for (k, _) in s.names.iter().enumerate() {
            let color = PALETTE[k.min(PALETTE.len() - 1)];
            let bars = s.values.iter().enumerate().filter_map(move |(i, v)| {
                let base: f64 = v[..k].iter().sum();
                (v[k] > 0.0)
                    .then(|| Rectangle::new([(i as f64 + 0.1, base), (i as f64 + 0.9, base + v[k])], color.filled()))
            });
            chart.draw_series(bars).map_err(|e| e.to_string())?;
        }
        let font = ("sans-serif", 12).into_font().color(&fg);
        for (k, name) in s.names.iter().enumerate() {
            let y = 40 + 20 * k as i32;
            let color = PALETTE[k.min(PALETTE.len() - 1)];
            legend.draw(&Rectangle::new([(4, y), (16, y + 12)], color.filled())).map_err(|e| e.to_string())?;
            let shown: String =
                if name.chars().count() > 26 { name.chars().take(25).chain(['…']).collect() } else { name.clone() };
            legend.draw(&Text::new(shown, (22, y), font.clone())).map_err(|e| e.to_string())?;
        }
        Ok(())
    })
}

/// The pie of `sizes` (one per name) as an SVG document.
pub fn pie_svg(names: &[String], sizes: &[f64], title: &str, size: (u32, u32), theme: Theme) -> Result<String, String> {
    draw(size, theme, |root, fg| {
        root.titled(title, ("sans-serif", 18).into_font().color(&fg)).map_err(|e| e.to_string())?;
        let center = (size.0 as i32 / 2, size.1 as i32 / 2 + 10);
        if sizes.iter().sum::<f64>() <= 0.0 {
            let font = ("sans-serif", 16).into_font().color(&fg);
            return root.draw(&Text::new("no events", (center.0 - 30, center.1), font)).map_err(|e| e.to_string());
        }
        let colors: Vec<RGBColor> = (0..names.len()).map(|k| PALETTE[k.min(PALETTE.len() - 1)]).collect();
        let labels: Vec<String> = names.iter().zip(sizes).map(|(n, s)| format!("{n} ({s})")).collect();
        // Room around the pie for its labels.
        let radius = (size.1 as f64 / 4.0).min(size.0 as f64 / 6.0);
        let mut p = Pie::new(&center, &radius, sizes, &colors, &labels);
        p.start_angle(-90.0);
        p.label_style(("sans-serif", 12).into_font().color(&fg));
        root.draw(&p).map_err(|e| e.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(pairs: &[(&str, i64)]) -> BTreeMap<String, i64> {
        pairs.iter().map(|(k, n)| (k.to_string(), *n)).collect()
    }

    #[test]
    fn top_names_keep_ten_and_sum_the_rest_as_other() {
        let mut c: BTreeMap<String, i64> = (0..12).map(|i| (format!("v{i:02}"), 100 - i)).collect();
        c.insert(REST.into(), 5);
        let names = top_names(&c);
        assert_eq!(names.len(), 11);
        assert_eq!((names[0].as_str(), names[10].as_str()), ("v00", OTHER));
        let parts = split(Some(&c), &names);
        assert_eq!(parts[10], (90 + 89 + 5) as f64, "v10, v11 and __REST__");
        assert_eq!(parts.iter().sum::<f64>(), c.values().sum::<i64>() as f64);
        assert_eq!(top_names(&counts(&[("a", 1)])), ["a"], "nothing left: no other");
    }

    #[test]
    fn charts_are_svg_documents_with_every_name() {
        let names = vec!["a".to_string(), OTHER.to_string()];
        let s = Stacked {
            labels: vec!["10:00".into(), "11:00".into()],
            names: names.clone(),
            values: vec![vec![1.0, 2.0], vec![0.0, 3.0]],
        };
        let svg = timeline_svg(&s, "t", (600, 300), Theme::Dark).unwrap().replace('\n', "");
        assert!(svg.starts_with("<svg") && svg.contains(">a</text>") && svg.contains(">other</text>"), "{svg}");
        assert!(svg.matches("<rect").count() >= 4, "background, three bars and the legend");
        let pie = pie_svg(&names, &[1.0, 5.0], "p", (400, 300), Theme::Light).unwrap();
        assert!(pie.contains("a (1)") && pie.contains("other (5)"));
    }
}
