//! Retention: how long events are kept, and applying it. `ideadb cleanup` applies it once;
//! the statistics leader inside `ideadb serve` applies the configured one a few batches at a
//! time, every half minute.
//!
//! Weeks that ended before the cut go whole: their partitions are dropped (their IDs leave
//! `event_ids` first, in batches). Only the week that straddles the cut loses rows one by
//! one, in batches ordered by storage time, so no statement comes near the statement timeout
//! however much has expired, and an interrupted run has deleted a prefix of what it would
//! have: running it again finishes the job.

use chrono::{NaiveDateTime, TimeDelta};

use crate::storage::{self, EventStore, Table};

/// The shortest retention accepted for events: a slip such as `1h` for `1y` must not empty
/// the store.
pub const MINIMUM: TimeDelta = TimeDelta::days(1);
/// Recurrence looks this far back from the events kept, so their fingerprints stay this much
/// longer.
const RECURRENCE_LOOKBACK: TimeDelta = TimeDelta::days(1);
/// Rows deleted per statement.
const BATCH: i64 = 5_000;

const YEAR: i64 = 31_556_926;

/// An age: Mentat's retention names (3y, 2y, y, 9m, 6m, 4m, 3m, w, d, h) or a number with a
/// unit (90d, 36h, 2w, 6m, 1y).
pub fn parse_age(s: &str) -> Result<TimeDelta, String> {
    let secs = match s {
        "3y" => 3 * YEAR,
        "2y" => 2 * YEAR,
        "y" => YEAR,
        "9m" => YEAR * 3 / 4,
        "6m" => YEAR / 2,
        "4m" => YEAR / 3,
        "3m" => YEAR / 4,
        "w" => 7 * 86_400,
        "d" => 86_400,
        "h" => 3_600,
        _ => {
            let split = s
                .find(|c: char| !c.is_ascii_digit())
                .ok_or_else(|| format!("{s:?} has no unit (use y, m, w, d or h)"))?;
            let n: i64 = s[..split].parse().map_err(|_| format!("{s:?} does not start with a number"))?;
            let unit = match &s[split..] {
                "y" => YEAR,
                "m" => YEAR / 12,
                "w" => 7 * 86_400,
                "d" => 86_400,
                "h" => 3_600,
                u => return Err(format!("unknown unit {u:?} in {s:?} (use y, m, w, d or h)")),
            };
            // Beyond a thousand years an age means nothing and its arithmetic may overflow.
            n.checked_mul(unit).filter(|s| *s <= 1000 * YEAR).ok_or_else(|| format!("{s:?} is too long"))?
        }
    };
    Ok(TimeDelta::seconds(secs))
}

/// How long events are kept: an age of at least [`MINIMUM`].
pub fn parse_retention(s: &str) -> Result<TimeDelta, String> {
    let age = parse_age(s)?;
    if age < MINIMUM {
        return Err(format!("{s:?} is shorter than a day; events are kept at least a day"));
    }
    Ok(age)
}

/// What expiring events removed (or, in a dry run, would remove).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Expired {
    pub events: u64,
    /// Weeks whose partitions were (or would be) dropped whole.
    pub weeks: u64,
    /// Recurrence fingerprints older than the events kept need.
    pub fingerprints: u64,
}

/// Deletes the events stored before `now - keep` (with their message bytes and address rows)
/// and the fingerprints no kept event needs; `dry_run` only counts the events.
pub async fn expire_events(
    store: &EventStore,
    keep: TimeDelta,
    now: NaiveDateTime,
    dry_run: bool,
) -> storage::Result<Expired> {
    if dry_run {
        let cut = now - keep;
        let weeks = store.weeks_ended_by(cut).await?.len() as u64;
        return Ok(Expired { events: store.count_stored_before(cut).await?, weeks, fingerprints: 0 });
    }
    expire(store, now - keep, u32::MAX).await
}

/// At most [`STEP_BATCHES`] batches of [`expire_events`]: the leader's share of a turn, so a
/// large backlog never holds up the statistics.
pub async fn expire_step(store: &EventStore, keep: TimeDelta, now: NaiveDateTime) -> storage::Result<Expired> {
    expire(store, now - keep, STEP_BATCHES).await
}

/// Batches per leader turn (every half minute): 6,000 events a second, five times a busy
/// national feed.
const STEP_BATCHES: u32 = 36;

async fn expire(store: &EventStore, cut: NaiveDateTime, max_batches: u32) -> storage::Result<Expired> {
    let (mut events, mut weeks) = (0, 0);
    for week in store.weeks_ended_by(cut).await? {
        events += store.drop_week(week, BATCH).await?;
        weeks += 1;
    }
    // Older weeks are gone: what is left before the cut is in the cut's own week.
    let week = storage::week_of(cut).and_time(chrono::NaiveTime::MIN);
    let (straddling, done) = in_batches(max_batches, || store.delete_stored_between(week, cut, BATCH)).await?;
    events += straddling;
    if done {
        store.forget_descriptions_before(cut).await?;
    }
    let (fingerprints, _) =
        in_batches(max_batches, || store.forget_fingerprints_before(cut - RECURRENCE_LOOKBACK, BATCH)).await?;
    Ok(Expired { events, weeks, fingerprints })
}

/// Runs `delete` (one batch) until a batch comes back short or `max_batches` ran; the rows
/// deleted in all, and whether a short batch said that none are left.
async fn in_batches<F: std::future::Future<Output = storage::Result<u64>>>(
    max_batches: u32,
    mut delete: impl FnMut() -> F,
) -> storage::Result<(u64, bool)> {
    let mut total = 0;
    for _ in 0..max_batches {
        let n = delete().await?;
        total += n;
        if n < BATCH as u64 {
            return Ok((total, true));
        }
    }
    Ok((total, false))
}

/// What `ideadb cleanup` is asked to remove.
#[derive(Debug, Clone, Copy, Default)]
pub struct Cleanup {
    /// Events stored longer ago than this.
    pub events: Option<TimeDelta>,
    /// Thresholded-event records created longer ago than this.
    pub thresholded: Option<TimeDelta>,
    /// Count what would go and change nothing.
    pub dry_run: bool,
}

/// What a cleanup removed (or, in a dry run, would remove: events only).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CleanedUp {
    pub events: Option<Expired>,
    pub thresholded: Option<u64>,
    /// Thresholds past their time to live.
    pub thresholds: u64,
    /// Thresholded-event records whose threshold is gone.
    pub orphans: u64,
}

/// Mentat's cleanup: expired events, old thresholded-event records, expired thresholds and
/// the records they leave orphaned.
pub async fn cleanup(store: &EventStore, what: Cleanup, now: NaiveDateTime) -> storage::Result<CleanedUp> {
    let mut done = CleanedUp::default();
    if let Some(keep) = what.events {
        done.events = Some(expire_events(store, keep, now, what.dry_run).await?);
    }
    if what.dry_run {
        return Ok(done);
    }
    if let Some(age) = what.thresholded {
        done.thresholded = Some(store.table_cleanup(Table::EventsThresholded, now - age).await?);
    }
    done.thresholds = store.thresholds_clean(now).await?;
    done.orphans = store.thresholded_events_clean().await?;
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_parse_mentats_names_and_numbers_with_units() {
        assert_eq!(parse_age("y"), Ok(TimeDelta::seconds(YEAR)));
        assert_eq!(parse_age("90d"), Ok(TimeDelta::days(90)));
        assert_eq!(parse_age("36h"), Ok(TimeDelta::hours(36)));
        assert_eq!(parse_age("2w"), Ok(TimeDelta::weeks(2)));
        for bad in ["", "d1", "12", "3x", "-1d", "99999999999999999y", "9223372036854775807h"] {
            assert!(parse_age(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_retention_is_at_least_a_day() {
        assert_eq!(parse_retention("1d"), Ok(MINIMUM));
        assert_eq!(parse_retention("1y"), Ok(TimeDelta::seconds(YEAR)));
        let e = parse_retention("23h").unwrap_err();
        assert!(e.contains("shorter than a day"), "{e}");
        assert!(parse_retention("h").is_err());
    }
}
