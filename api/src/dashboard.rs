//! The dashboard read path: which stored rows cover a range (the coarsest that fit each
//! timeline bucket), fetched and merged.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use chrono_tz::Tz;

use crate::stats::timeline::{ceil_window, cover, floor, WINDOW};
use crate::stats::{merge, Dashboard, TimelineCfg};
use crate::storage::{self, EventStore};

/// The statistics of the whole 5-minute windows inside `[from, to)`, with their timeline in
/// `tz`; None when the range holds no whole window.
pub async fn dashboard(
    store: &EventStore,
    from: NaiveDateTime,
    to: NaiveDateTime,
    tz: Tz,
) -> storage::Result<Option<(TimelineCfg, Dashboard)>> {
    let (from, to) = (ceil_window(from), floor(to, WINDOW));
    if from >= to {
        return Ok(None);
    }
    let cfg = TimelineCfg::new(from, to, tz);
    let mut by_delta: BTreeMap<i64, Vec<NaiveDateTime>> = BTreeMap::new();
    for piece in cover(from, to, &cfg.buckets()) {
        by_delta.entry(piece.delta).or_default().push(piece.start);
    }
    let mut rows = Vec::new();
    for (delta, starts) in by_delta {
        rows.extend(store.stats_rows(delta, &starts).await?);
    }
    rows.sort_by_key(|r| r.dt_from);
    Ok(Some((cfg.clone(), merge(&rows, &cfg))))
}
