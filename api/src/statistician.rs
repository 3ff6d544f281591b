//! The statistician: computes each 5-minute window of storage time, then the hourly and daily
//! rollups it belongs to. Runs inside `ideadb serve` (one leader among several servers,
//! chosen by a PostgreSQL advisory lock; it catches up windows missed while no server ran)
//! and as `ideadb stats --from --to` for backfill.
//!
//! Windows are half-open, `[from, from + 5 min)`, so an event on a boundary counts once.
//! Recomputing a window replaces its row: restarts and overlaps lose and double nothing.

use std::time::Duration;

use chrono::{NaiveDateTime, TimeDelta, Utc};
use indicatif::ProgressBar;

use crate::stats::timeline::{floor, DAY, HOUR, WINDOW};
use crate::stats::{count_into, rollup, EventDigest, Groups, StatsRow};
use crate::storage::{self, EventStore};

/// How long after a window ends it is computed: events stored at its end need a moment to
/// commit.
const GRACE: Duration = Duration::from_secs(20);
/// With no statistics at all, the leader starts this far back.
const FIRST_RUN_BACK: TimeDelta = TimeDelta::days(7);

fn secs(d: i64) -> TimeDelta {
    TimeDelta::seconds(d)
}

/// A window counted while it fills: the leader reads the events stored so far every half
/// minute, so when the window ends only its last half minute is left to read.
pub struct LiveWindow {
    from: NaiveDateTime,
    /// Events stored before this are counted.
    read_to: NaiveDateTime,
    count: i64,
    groups: Groups,
}

impl LiveWindow {
    pub fn new(from: NaiveDateTime) -> Self {
        Self { from, read_to: from, count: 0, groups: Default::default() }
    }

    pub fn from(&self) -> NaiveDateTime {
        self.from
    }

    fn to(&self) -> NaiveDateTime {
        self.from + secs(WINDOW)
    }

    /// Counts the events stored from where the last call stopped until `until` (at most the
    /// window's end).
    pub async fn advance(&mut self, store: &EventStore, until: NaiveDateTime) -> storage::Result<()> {
        let until = until.min(self.to());
        if until <= self.read_to {
            return Ok(());
        }
        let stored = store.events_stored_between(self.read_to, until).await?;
        let digests = tokio::task::spawn_blocking(move || digest_all(stored))
            .await
            .map_err(|e| storage::Error::Other(e.to_string()))?;
        if !digests.is_empty() {
            let seen: Vec<(i64, NaiveDateTime, &str)> =
                digests.iter().map(|d| (d.fingerprint, d.storagetime, d.id.as_str())).collect();
            let recurring = store.recurrences(&seen).await?;
            count_into(&mut self.groups, &digests, &recurring);
            self.count += digests.len() as i64;
        }
        self.read_to = until;
        Ok(())
    }

    /// Counts the rest of the window and stores it; returns its event count.
    pub async fn finish(mut self, store: &EventStore) -> storage::Result<i64> {
        let started = std::time::Instant::now();
        let to = self.to();
        self.advance(store, to).await?;
        let mut groups = self.groups;
        for g in &mut groups {
            g.truncate();
        }
        let row = StatsRow { dt_from: self.from, dt_to: to, windows: 1, count: self.count, groups };
        store.save_window(&row).await?;
        tracing::debug!(from = %self.from, count = self.count, took = ?started.elapsed(), "window computed");
        Ok(self.count)
    }
}

/// Computes and stores the window starting at `from` in one go; returns its event count.
pub async fn compute_window(store: &EventStore, from: NaiveDateTime) -> storage::Result<i64> {
    LiveWindow::new(from).finish(store).await
}

/// The digests of stored events, read on every core.
fn digest_all(stored: Vec<crate::storage::StoredEvent>) -> Vec<EventDigest> {
    let read = |part: Vec<crate::storage::StoredEvent>| -> Vec<EventDigest> {
        part.into_iter().filter_map(|e| EventDigest::from_stored(e.id, e.storagetime, &e.raw)).collect()
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(8);
    if stored.len() < 2000 || threads < 2 {
        return read(stored);
    }
    let size = stored.len().div_ceil(threads);
    let mut parts = Vec::new();
    let mut rest = stored;
    while rest.len() > size {
        let tail = rest.split_off(size);
        parts.push(std::mem::replace(&mut rest, tail));
    }
    parts.push(rest);
    std::thread::scope(|s| {
        let handles: Vec<_> = parts.into_iter().map(|p| s.spawn(move || read(p))).collect();
        handles.into_iter().flat_map(|h| h.join().expect("a digest thread panicked")).collect()
    })
}

/// Rebuilds the rollup of `delta` (an hour or a day) starting at `from` from the finer rows.
pub async fn compute_rollup(store: &EventStore, delta: i64, from: NaiveDateTime) -> storage::Result<()> {
    let finer = if delta == DAY { HOUR } else { WINDOW };
    let to = from + secs(delta);
    let rows = store.stats_rows_between(finer, from, to).await?;
    store.save_rollup(delta, &rollup(&rows, from, to)).await
}

/// Rebuilds the hour and the day of the window starting at `from`.
async fn refresh_rollups(store: &EventStore, from: NaiveDateTime) -> storage::Result<()> {
    compute_rollup(store, HOUR, floor(from, HOUR)).await?;
    compute_rollup(store, DAY, floor(from, DAY)).await
}

/// Computes every window of `[from, to)` (rounded out to windows) and their rollups, in time
/// order; `progress` counts windows.
pub async fn backfill(
    store: &EventStore,
    from: NaiveDateTime,
    to: NaiveDateTime,
    progress: &ProgressBar,
) -> storage::Result<u64> {
    let mut t = floor(from, WINDOW);
    let mut events = 0u64;
    progress.set_length(((to - t).num_seconds().max(0) as u64).div_ceil(WINDOW as u64));
    while t < to {
        events += compute_window(store, t).await? as u64;
        t += secs(WINDOW);
        progress.inc(1);
        let hour_done = t.and_utc().timestamp() % HOUR == 0;
        if hour_done || t >= to {
            compute_rollup(store, HOUR, floor(t - secs(WINDOW), HOUR)).await?;
        }
        if t.and_utc().timestamp() % DAY == 0 || t >= to {
            compute_rollup(store, DAY, floor(t - secs(WINDOW), DAY)).await?;
        }
    }
    Ok(events)
}

/// How often the leader reads the events of the window being filled.
const SLICE: Duration = Duration::from_secs(30);

/// The statistician of a server; runs until aborted. Only the leader computes; the others
/// check every half minute whether the lead is free.
pub async fn run(store: EventStore) {
    let mut leader: Option<tokio_postgres::Client> = None;
    let mut live: Option<LiveWindow> = None;
    loop {
        if leader.as_ref().is_none_or(|c| c.is_closed()) {
            live = None;
            leader = match store.statistics_leadership().await {
                Ok(l) => l,
                Err(e) => {
                    tracing::warn!(error = %e, "statistician: cannot reach the database");
                    None
                }
            };
            if leader.is_some() {
                tracing::info!("statistician: this server leads");
            }
        }
        if leader.is_some() {
            if let Err(e) = lead(&store, &mut live).await {
                live = None;
                tracing::warn!(error = %e, "statistician: a window failed; retrying next time");
            }
        }
        tokio::time::sleep(SLICE).await;
    }
}

/// One turn of the leader. When the window being filled has ended, store it (only its last
/// half minute is left to read) and count the window before it again, for events committed
/// more than the grace period late; on the first turn, compute what was missed while no server
/// led. Then read the current window so far.
async fn lead(store: &EventStore, live: &mut Option<LiveWindow>) -> storage::Result<()> {
    let horizon = Utc::now().naive_utc() - TimeDelta::from_std(GRACE).expect("small");
    let current = floor(horizon, WINDOW);
    if live.as_ref().map(LiveWindow::from) != Some(current) {
        match live.take() {
            Some(ended) => {
                let from = ended.from();
                ended.finish(store).await?;
                compute_window(store, from - secs(WINDOW)).await?;
                refresh_rollups(store, from - secs(WINDOW)).await?;
                refresh_rollups(store, from).await?;
            }
            None => catch_up(store, current).await?,
        }
        *live = Some(LiveWindow::new(current));
    }
    if let Some(w) = live.as_mut() {
        w.advance(store, horizon).await?;
    }
    Ok(())
}

/// Computes the windows after the newest stored one (or from a week back, on the first run)
/// up to `current`.
async fn catch_up(store: &EventStore, current: NaiveDateTime) -> storage::Result<()> {
    let start = match store.last_window().await? {
        Some(last) => last + secs(WINDOW),
        None => match store.first_stored_since(Utc::now().naive_utc() - FIRST_RUN_BACK).await? {
            Some(first) => floor(first, WINDOW),
            None => current,
        },
    };
    if start < current {
        tracing::info!(from = %start, to = %current, "statistician: catching up");
        backfill(store, start, current, &ProgressBar::hidden()).await?;
    }
    Ok(())
}
