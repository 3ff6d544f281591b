//! The statistician: computes each 5-minute window of storage time, then the hourly and daily
//! rollups it belongs to. Runs inside `ideadb serve` (one leader among several servers,
//! chosen by a PostgreSQL advisory lock; it catches up windows missed while no server ran)
//! and as `ideadb stats --from --to` for backfill.
//!
//! Windows are half-open, `[from, from + 5 min)`, so an event on a boundary counts once.
//! Recomputing a window replaces its row: restarts and overlaps lose and double nothing.

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::{NaiveDateTime, TimeDelta, Utc};
use indicatif::ProgressBar;

use crate::stats::timeline::{floor, DAY, HOUR, WINDOW};
use crate::stats::{count_into, rollup, EventDigest, Groups, StatsRow};
use crate::storage::{self, EventStore, StoredEvent};

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
        count_stored(store, self.read_to, until, |digests, recurring| self.add(digests, recurring)).await?;
        self.read_to = until;
        Ok(())
    }

    fn add(&mut self, digests: &[EventDigest], recurring: &[bool]) {
        count_into(&mut self.groups, digests, recurring);
        self.count += digests.len() as i64;
    }

    /// Counts the rest of the window and stores it; returns its event count.
    pub async fn finish(mut self, store: &EventStore) -> storage::Result<i64> {
        let started = std::time::Instant::now();
        self.advance(store, self.to()).await?;
        let count = self.count;
        store.save_window(&self.into_row()).await?;
        tracing::debug!(count, took = ?started.elapsed(), "window computed");
        Ok(count)
    }

    /// The stored row: the counts so far with toplists cut.
    fn into_row(self) -> StatsRow {
        let to = self.to();
        let mut groups = self.groups;
        for g in &mut groups {
            g.truncate();
        }
        StatsRow { dt_from: self.from, dt_to: to, windows: 1, count: self.count, groups }
    }
}

/// Events read per query. A window of a dense feed holds tens of thousands of events, and a
/// burst or an import many more: a range is read a page at a time, so the statistician holds
/// two pages (one read while the other is counted) however many events the range holds.
const PAGE: i64 = 2000;

/// Reads the events stored in `[from, to)`, oldest first, and hands each page's digests, and
/// whether each recurs (their fingerprints are recorded on the way), to `count`. Returns how
/// many events were read.
async fn count_stored(
    store: &EventStore,
    from: NaiveDateTime,
    to: NaiveDateTime,
    mut count: impl FnMut(&[EventDigest], &[bool]) + Send,
) -> storage::Result<u64> {
    let read = |after: (NaiveDateTime, String)| {
        let store = store.clone();
        tokio::spawn(async move { store.events_stored_page(&after, to, PAGE).await })
    };
    // IDs are never empty, so this key comes before every event stored at `from`.
    let mut next = Some(read((from, String::new())));
    let mut events = 0;
    while let Some(page) = next.take() {
        let page = page.await.map_err(|e| storage::Error::Other(e.to_string()))??;
        if let Some(last) = page.last().filter(|_| page.len() as i64 == PAGE) {
            next = Some(read((last.storagetime, last.id.clone())));
        }
        events += page.len() as u64;
        let (digests, recurring) = digest_and_recur(store, page).await?;
        count(&digests, &recurring);
    }
    Ok(events)
}

async fn digest_and_recur(
    store: &EventStore,
    stored: Vec<StoredEvent>,
) -> storage::Result<(Vec<EventDigest>, Vec<bool>)> {
    let digests = blocking(move || digest_all(stored)).await?;
    if digests.is_empty() {
        return Ok((digests, Vec::new()));
    }
    let seen: Vec<(i64, NaiveDateTime, &str)> =
        digests.iter().map(|d| (d.fingerprint, d.storagetime, d.id.as_str())).collect();
    let recurring = store.recurrences(&seen).await?;
    Ok((digests, recurring))
}

/// Runs CPU-bound work off the async threads.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> storage::Result<T> {
    tokio::task::spawn_blocking(f).await.map_err(|e| storage::Error::Other(e.to_string()))
}

/// Computes and stores the window starting at `from` in one go; returns its event count.
pub async fn compute_window(store: &EventStore, from: NaiveDateTime) -> storage::Result<i64> {
    LiveWindow::new(from).finish(store).await
}

/// Below this many events, spreading the digests over threads costs more than it saves.
const SPREAD_FROM: usize = 2000;

/// The digests of stored events, read on every core.
fn digest_all(stored: Vec<StoredEvent>) -> Vec<EventDigest> {
    let read = |part: Vec<StoredEvent>| -> Vec<EventDigest> {
        part.into_iter().filter_map(|e| EventDigest::from_stored(e.id, e.storagetime, &e.raw)).collect()
    };
    let threads = threads();
    if stored.len() < SPREAD_FROM || threads < 2 {
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

/// Computes every window of `[from, to)` (rounded out to windows) that holds events, and
/// their rollups, in time order; `progress` counts windows. Stretches without events cost
/// one index probe each, and windows that no longer hold events lose their rows. Returns the
/// number of events counted.
pub async fn backfill(
    store: &EventStore,
    from: NaiveDateTime,
    to: NaiveDateTime,
    progress: &ProgressBar,
) -> storage::Result<u64> {
    let start = floor(from, WINDOW);
    let filled = store.filled_windows(start, to).await?;
    let emptied = store.forget_windows(start, to, &filled).await?;
    progress.set_length(filled.len() as u64);
    let mut events = 0u64;
    // An hour's windows are read together, so per-query costs fall on the hour, not on each
    // window.
    for starts in filled.chunk_by(|a, b| floor(*a, HOUR) == floor(*b, HOUR)) {
        events += count_windows(store, starts).await?;
        progress.inc(starts.len() as u64);
        compute_rollup(store, HOUR, floor(starts[0], HOUR)).await?;
    }
    // Hours that only lost windows are rebuilt too; days after all their hours.
    let done: BTreeSet<NaiveDateTime> = filled.iter().map(|w| floor(*w, HOUR)).collect();
    let emptied_hours: BTreeSet<NaiveDateTime> = emptied.iter().map(|w| floor(*w, HOUR)).collect();
    for &h in emptied_hours.difference(&done) {
        compute_rollup(store, HOUR, h).await?;
    }
    let days: BTreeSet<NaiveDateTime> = filled.iter().chain(&emptied).map(|w| floor(*w, DAY)).collect();
    for d in days {
        compute_rollup(store, DAY, d).await?;
    }
    Ok(events)
}

/// Counts the events of the windows starting at `starts` (in time order) and stores the
/// windows; returns how many events were read.
async fn count_windows(store: &EventStore, starts: &[NaiveDateTime]) -> storage::Result<u64> {
    let mut windows: Vec<LiveWindow> = starts.iter().map(|&from| LiveWindow::new(from)).collect();
    let (from, to) = (starts[0], windows[windows.len() - 1].to());
    let events = count_stored(store, from, to, |digests, recurring| {
        let mut rest = (digests, recurring);
        for w in &mut windows {
            // An event stored since the windows were listed may fall between them: it is
            // counted when its own window is.
            let skip = rest.0.partition_point(|d| d.storagetime < w.from);
            let n = rest.0[skip..].partition_point(|d| d.storagetime < w.to());
            w.add(&rest.0[skip..skip + n], &rest.1[skip..skip + n]);
            rest = (&rest.0[skip + n..], &rest.1[skip + n..]);
        }
    })
    .await?;
    let rows: Vec<StatsRow> = windows.into_iter().map(LiveWindow::into_row).collect();
    futures_util::future::try_join_all(rows.iter().map(|r| store.save_window(r))).await?;
    Ok(events)
}

fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get()).min(8)
}

/// How often the leader reads the events of the window being filled.
const SLICE: Duration = Duration::from_secs(30);

/// The statistician of a server; runs until aborted. Only the leader computes (and applies
/// the retention `keep`, if any); the others check every half minute whether the lead is free.
pub async fn run(store: EventStore, keep: Option<TimeDelta>) {
    let mut leader: Option<tokio_postgres::Client> = None;
    let mut live: Option<LiveWindow> = None;
    let mut compaction: Option<tokio::task::JoinHandle<()>> = None;
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
            maintain_partitions(&store, &mut compaction).await;
            if let Err(e) = lead(&store, &mut live).await {
                live = None;
                tracing::warn!(error = %e, "statistician: a window failed; retrying next time");
            }
            if let Some(keep) = keep {
                match crate::retention::expire_step(&store, keep, Utc::now().naive_utc()).await {
                    Ok(gone) if gone.events > 0 => {
                        tracing::info!(events = gone.events, "retention: expired events deleted")
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "retention: deleting expired events failed; retrying next time")
                    }
                }
            }
        }
        tokio::time::sleep(SLICE).await;
    }
}

/// The leader's care of the partitions: the coming weeks created, and one ended week
/// compacted at a time, in the background, since a week of a national feed takes minutes
/// and the statistics must not wait for it.
async fn maintain_partitions(store: &EventStore, compaction: &mut Option<tokio::task::JoinHandle<()>>) {
    let now = Utc::now().naive_utc();
    if let Err(e) = store.create_partitions_ahead(now).await {
        tracing::error!(error = %e, "cannot create the partitions of the coming weeks; retrying next time");
    }
    if compaction.as_ref().is_none_or(|c| c.is_finished()) {
        let store = store.clone();
        *compaction = Some(tokio::spawn(async move {
            if let Err(e) = store.compact_ended_weeks(now, 1).await {
                tracing::warn!(error = %e, "compacting an ended week failed; retrying next time");
            }
        }));
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
