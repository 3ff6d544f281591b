//! The dashboard merge: stored rows (windows and rollups) summed into each group's totals and
//! timeline buckets, then cut to toplists, each bucket masked with its total's toplist so the
//! timeline and the totals name the same values (Hawat's `aggregate_timeline_groups`).

use chrono::NaiveDateTime;

use super::group::{mask, ranked, GroupStats};
use super::timeline::TimelineCfg;

/// overall, internal, external.
pub type Groups = [GroupStats; 3];

/// One stored row: a 5-minute window or a rollup.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StatsRow {
    pub dt_from: NaiveDateTime,
    pub dt_to: NaiveDateTime,
    /// 5-minute windows merged into this row (1 for a window).
    pub windows: i64,
    pub count: i64,
    pub groups: Groups,
}

/// One group's dashboard: totals and a timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupView {
    pub total: GroupStats,
    pub timeline: Vec<(NaiveDateTime, GroupStats)>,
}

/// A window without events has no row, so the rows merged say nothing of the range covered:
/// that is the timeline's.
#[derive(Debug, Clone, PartialEq)]
pub struct Dashboard {
    pub count: i64,
    pub groups: [GroupView; 3],
}

/// Rows added up into one row covering `[from, to)`, cut to toplists: a rollup.
pub fn rollup(rows: &[StatsRow], from: NaiveDateTime, to: NaiveDateTime) -> StatsRow {
    let mut out = StatsRow { dt_from: from, dt_to: to, ..Default::default() };
    for row in rows {
        out.windows += row.windows;
        out.count += row.count;
        for (g, s) in out.groups.iter_mut().zip(&row.groups) {
            g.merge(s);
        }
    }
    for g in &mut out.groups {
        g.truncate();
    }
    out
}

/// Merges rows (each inside one bucket of `cfg`) into totals and timelines.
pub fn merge(rows: &[StatsRow], cfg: &TimelineCfg) -> Dashboard {
    let starts = cfg.buckets();
    let empty = || GroupView {
        total: GroupStats::default(),
        timeline: starts.iter().map(|s| (*s, GroupStats::default())).collect(),
    };
    let mut groups = [empty(), empty(), empty()];
    let mut count = 0;
    for row in rows {
        count += row.count;
        // bisect_right(starts, dt_from) − 1; rows before the first bucket join it.
        let bucket = starts.partition_point(|s| *s <= row.dt_from).saturating_sub(1);
        for (view, stats) in groups.iter_mut().zip(&row.groups) {
            view.total.merge(stats);
            view.timeline[bucket].1.merge(stats);
        }
    }
    for view in &mut groups {
        view.total.truncate();
        for (agg, counts) in &view.total.aggs {
            let keep = ranked(counts).into_iter().collect();
            for (_, bucket) in &mut view.timeline {
                if let Some(b) = bucket.aggs.get_mut(agg) {
                    mask(b, &keep);
                }
            }
        }
    }
    Dashboard { count, groups }
}
