//! The dashboard's timeline: its step and buckets (Hawat's `TimelineCFG`), and which stored
//! rows cover a range so that each lies inside one bucket.
//!
//! The step is Hawat's (span / 200, at least 5 minutes, rounded up to a "nice" value) but
//! never finer than the rollups can serve cheaply for long ranges: a range over 6 hours has
//! steps of at least an hour, one over 3 days of at least a day. Buckets are aligned to
//! multiples of the step in the caller's time zone, the first one starting at the range's
//! start.

use chrono::{NaiveDateTime, Offset, TimeDelta, TimeZone};
use chrono_tz::Tz;

/// A 5-minute window, the statistician's unit.
pub const WINDOW: i64 = 300;
pub const HOUR: i64 = 3600;
pub const DAY: i64 = 86400;
pub const MAX_BUCKETS: i64 = 200;

/// Hawat's nice steps, in seconds; above the last, whole days.
const STEPS: &[i64] = &[
    300, 360, 600, 720, 900, 1200, 1800, 3600, 7200, 10800, 14400, 21600, 28800, 43200, 86400, 172800, 259200, 345600,
    432000, 518400, 604800, 864000, 1209600,
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimelineCfg {
    pub dt_from: NaiveDateTime,
    pub dt_to: NaiveDateTime,
    /// Seconds.
    pub step: i64,
    /// The start of the second bucket (the first starts at `dt_from`).
    pub first_step: NaiveDateTime,
    pub count: usize,
}

impl TimelineCfg {
    pub fn new(dt_from: NaiveDateTime, dt_to: NaiveDateTime, tz: Tz) -> Self {
        let span = (dt_to - dt_from).num_seconds().max(1);
        let floor = if span > 3 * DAY {
            DAY
        } else if span > 6 * HOUR {
            HOUR
        } else {
            WINDOW
        };
        let raw = ((span + MAX_BUCKETS - 1) / MAX_BUCKETS).max(floor);
        let mut step = nice(raw);
        loop {
            let cfg = Self::with_step(dt_from, dt_to, step, tz);
            if cfg.count as i64 <= MAX_BUCKETS {
                return cfg;
            }
            step = nice(step + 1);
        }
    }

    fn with_step(dt_from: NaiveDateTime, dt_to: NaiveDateTime, step: i64, tz: Tz) -> Self {
        let offset = i64::from(tz.offset_from_utc_datetime(&dt_from).fix().local_minus_utc());
        let local = dt_from.and_utc().timestamp() + offset;
        let next = (local.div_euclid(step) + 1) * step - offset;
        let first_step = chrono::DateTime::from_timestamp(next, 0).expect("in range").naive_utc();
        let mut count = 1;
        let mut t = first_step;
        while t < dt_to {
            count += 1;
            t += TimeDelta::seconds(step);
        }
        Self { dt_from, dt_to, step, first_step, count }
    }

    /// The start of each bucket.
    pub fn buckets(&self) -> Vec<NaiveDateTime> {
        let mut out = vec![self.dt_from];
        let mut t = self.first_step;
        while t < self.dt_to {
            out.push(t);
            t += TimeDelta::seconds(self.step);
        }
        out
    }
}

fn nice(raw: i64) -> i64 {
    STEPS.iter().copied().find(|s| *s >= raw).unwrap_or_else(|| (raw + DAY - 1) / DAY * DAY)
}

/// One stored row to read: a 5-minute window, or an hourly or daily rollup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Piece {
    pub delta: i64,
    pub start: NaiveDateTime,
}

/// The coarsest rows that tile `[from, to)` (both on 5-minute boundaries) without crossing
/// a bucket boundary: a day where a whole UTC day fits, else an hour, else a window.
pub fn cover(from: NaiveDateTime, to: NaiveDateTime, buckets: &[NaiveDateTime]) -> Vec<Piece> {
    let mut out = Vec::new();
    let mut t = from;
    let mut next_bucket = buckets.iter().copied().filter(move |b| *b > from);
    let mut bound = next_bucket.next().map_or(to, |b| b.min(to));
    while t < to {
        while t >= bound {
            bound = next_bucket.next().map_or(to, |b| b.min(to));
        }
        let ts = t.and_utc().timestamp();
        let delta = [DAY, HOUR, WINDOW]
            .into_iter()
            .find(|d| ts % d == 0 && t + TimeDelta::seconds(*d) <= bound)
            .unwrap_or(WINDOW);
        out.push(Piece { delta, start: t });
        t += TimeDelta::seconds(delta);
    }
    out
}

/// `t` floored to a multiple of `unit` seconds (UTC).
pub fn floor(t: NaiveDateTime, unit: i64) -> NaiveDateTime {
    let ts = t.and_utc().timestamp();
    chrono::DateTime::from_timestamp(ts - ts.rem_euclid(unit), 0).expect("in range").naive_utc()
}

/// `t` raised to a 5-minute boundary.
pub fn ceil_window(t: NaiveDateTime) -> NaiveDateTime {
    let f = floor(t, WINDOW);
    if f == t {
        t
    } else {
        f + TimeDelta::seconds(WINDOW)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
    }

    #[test]
    fn steps_follow_the_span() {
        let utc = chrono_tz::UTC;
        let hour = TimelineCfg::new(t("2026-01-01 10:00"), t("2026-01-01 11:00"), utc);
        assert_eq!((hour.step, hour.count), (300, 12));
        let day = TimelineCfg::new(t("2026-01-01 00:00"), t("2026-01-02 00:00"), utc);
        assert_eq!((day.step, day.count), (3600, 24));
        let month = TimelineCfg::new(t("2026-01-01 00:00"), t("2026-01-31 00:00"), utc);
        assert_eq!((month.step, month.count), (86400, 30));
        let year = TimelineCfg::new(t("2025-01-01 00:00"), t("2026-01-01 00:00"), utc);
        assert_eq!(year.step, 172800);
        assert!(year.count <= 200, "{}", year.count);
    }

    #[test]
    fn buckets_align_to_the_callers_zone() {
        let prague: Tz = "Europe/Prague".parse().unwrap();
        let cfg = TimelineCfg::new(t("2026-01-01 05:17"), t("2026-01-08 05:17"), prague);
        assert_eq!(cfg.step, DAY);
        // Local midnight in winter is 23:00 UTC.
        assert_eq!(cfg.first_step, t("2026-01-01 23:00"));
        assert_eq!(cfg.buckets().len(), cfg.count);
        assert_eq!(cfg.count, 8);
    }

    #[test]
    fn a_cover_uses_the_coarsest_rows_inside_each_bucket() {
        let from = t("2026-01-01 22:55");
        let to = t("2026-01-03 01:10");
        let buckets = [from, t("2026-01-02 00:00"), t("2026-01-03 00:00")];
        let pieces = cover(from, to, &buckets);
        let deltas: Vec<i64> = pieces.iter().map(|p| p.delta).collect();
        assert_eq!(deltas, [300, 3600, 86400, 3600, 300, 300]);
        let mut t0 = from;
        for p in &pieces {
            assert_eq!(p.start, t0, "contiguous");
            t0 += TimeDelta::seconds(p.delta);
        }
        assert_eq!(t0, to);
        // Buckets at local midnight (23:00 UTC) force hours instead of days.
        let shifted = [from, t("2026-01-01 23:00"), t("2026-01-02 23:00")];
        assert!(cover(from, to, &shifted).iter().all(|p| p.delta != DAY));
    }
}
