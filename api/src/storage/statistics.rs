//! Statistics tables: 5-minute windows (`statistics_events`), hourly and daily rollups
//! (`statistics_rollups`), and the fingerprints that decide recurrence (`statistics_seen`).

use chrono::NaiveDateTime;
use postgres_types::Json;
use serde_json::Value;
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

use super::events::stored;
use super::{with_client, EventStore, Flavour, Result, StoredEvent};
use crate::stats::timeline::WINDOW;
use crate::stats::{GroupStats, StatsRow};

/// The leader of the statisticians holds this advisory lock.
const LEADER_LOCK: i64 = 0x1dea_db05;

/// Mentat's `interval` column: `"%FT%T_%FT%T"`.
fn interval(from: NaiveDateTime, to: NaiveDateTime) -> String {
    format!("{}_{}", from.format("%FT%T"), to.format("%FT%T"))
}

fn stats_row(r: &Row) -> StatsRow {
    let group = |i: usize| r.get::<_, Option<Json<GroupStats>>>(i).map(|j| j.0).unwrap_or_default();
    StatsRow {
        dt_from: r.get(0),
        dt_to: r.get(1),
        windows: i64::from(r.get::<_, i32>(2)),
        count: i64::from(r.get::<_, i32>(3)),
        groups: [group(4), group(5), group(6)],
    }
}

fn json(row: &StatsRow) -> [Value; 3] {
    row.groups.clone().map(|g| g.to_json())
}

impl EventStore {
    /// Up to `limit` of the events stored before `to` and after `after` (a storage time and
    /// an ID), oldest first: a page of a range read in order, so that a dense range never
    /// has to be held whole.
    pub async fn events_stored_page(
        &self,
        after: &(NaiveDateTime, String),
        to: NaiveDateTime,
        limit: i64,
    ) -> Result<Vec<StoredEvent>> {
        // The page's lower bound is repeated as a plain range condition, which the
        // storage-time index and partition pruning can use (the row comparison alone is not).
        let sql = "SELECT e.id, e.detecttime, e.cesnet_storagetime, j.event FROM events e \
             JOIN events_json j ON j.id = e.id AND j.storagetime = e.cesnet_storagetime \
             WHERE e.cesnet_storagetime >= $1 AND e.cesnet_storagetime < $3 \
             AND j.storagetime >= $1 AND j.storagetime < $3 AND (e.cesnet_storagetime, e.id) > ($1, $2) \
             ORDER BY e.cesnet_storagetime, e.id LIMIT $4";
        let rows = with_client!(self, |c| c.query(sql, &[&after.0, &after.1, &to, &limit]))?;
        self.decode_stored(rows.iter().map(stored).collect()).await
    }

    /// Records events' fingerprints and tells, for each, whether an event with the same
    /// fingerprint was stored in the 24 hours before it. Recording twice changes nothing.
    pub async fn recurrences(&self, seen: &[(i64, NaiveDateTime, &str)]) -> Result<Vec<bool>> {
        let fps: Vec<i64> = seen.iter().map(|s| s.0).collect();
        let times: Vec<NaiveDateTime> = seen.iter().map(|s| s.1).collect();
        let ids: Vec<&str> = seen.iter().map(|s| s.2).collect();
        let rows = with_client!(self, |c| async {
            c.execute(
                "INSERT INTO statistics_seen (fingerprint, storagetime, id) \
                 SELECT * FROM unnest($1::bigint[], $2::timestamp[], $3::text[]) ON CONFLICT DO NOTHING",
                &[&fps, &times, &ids],
            )
            .await?;
            c.query(
                "SELECT x.i FROM unnest($1::bigint[], $2::timestamp[]) WITH ORDINALITY x(fp, st, i) \
                 WHERE EXISTS (SELECT 1 FROM statistics_seen s WHERE s.fingerprint = x.fp \
                               AND s.storagetime >= x.st - interval '24 hours' AND s.storagetime < x.st)",
                &[&fps, &times],
            )
            .await
        })?;
        let mut out = vec![false; seen.len()];
        for r in rows {
            out[r.get::<_, i64>(0) as usize - 1] = true;
        }
        Ok(out)
    }

    /// Deletes up to `batch` of the fingerprints of events stored before `cut`; returns how
    /// many.
    pub async fn forget_fingerprints_before(&self, cut: NaiveDateTime, batch: i64) -> Result<u64> {
        let sql = "DELETE FROM statistics_seen WHERE ctid = ANY(ARRAY( \
                   SELECT ctid FROM statistics_seen WHERE storagetime < $1 LIMIT $2))";
        with_client!(self, |c| c.execute(sql, &[&cut, &batch]))
    }

    /// Stores (or replaces) one 5-minute window; a window without events is no row, so
    /// storing one removes any row it had.
    pub async fn save_window(&self, row: &StatsRow) -> Result<()> {
        if row.count == 0 {
            let sql = "DELETE FROM statistics_events WHERE delta = 300 AND dt_from = $1";
            with_client!(self, |c| c.execute(sql, &[&row.dt_from]))?;
            return Ok(());
        }
        let [o, i, e] = json(row);
        let (delta, count) = ((row.dt_to - row.dt_from).num_seconds() as i32, row.count as i32);
        let name = interval(row.dt_from, row.dt_to);
        let sql = "INSERT INTO statistics_events (interval, dt_from, dt_to, delta, count, stats_overall, stats_internal, stats_external) \
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (interval) DO UPDATE SET \
                   createtime = $9, count = EXCLUDED.count, stats_overall = EXCLUDED.stats_overall, \
                   stats_internal = EXCLUDED.stats_internal, stats_external = EXCLUDED.stats_external";
        // The time is a value, not now(): Citus takes only immutable functions in DO UPDATE.
        let now = chrono::Utc::now().naive_utc();
        with_client!(self, |c| c.execute(sql, &[&name, &row.dt_from, &row.dt_to, &delta, &count, &o, &i, &e, &now]))?;
        Ok(())
    }

    /// Stores (or replaces) an hourly or daily rollup; one without events is no row.
    pub async fn save_rollup(&self, delta: i64, row: &StatsRow) -> Result<()> {
        let (delta, windows, count) = (delta as i32, row.windows as i32, row.count as i32);
        if count == 0 {
            let sql = "DELETE FROM statistics_rollups WHERE delta = $1 AND dt_from = $2";
            with_client!(self, |c| c.execute(sql, &[&delta, &row.dt_from]))?;
            return Ok(());
        }
        let [o, i, e] = json(row);
        let sql = "INSERT INTO statistics_rollups (delta, dt_from, dt_to, windows, count, stats_overall, stats_internal, stats_external) \
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (delta, dt_from) DO UPDATE SET \
                   dt_to = EXCLUDED.dt_to, windows = EXCLUDED.windows, count = EXCLUDED.count, \
                   stats_overall = EXCLUDED.stats_overall, stats_internal = EXCLUDED.stats_internal, \
                   stats_external = EXCLUDED.stats_external";
        with_client!(self, |c| c.execute(sql, &[&delta, &row.dt_from, &row.dt_to, &windows, &count, &o, &i, &e]))?;
        Ok(())
    }

    /// Stored rows starting at the given times: 5-minute windows (`delta` 300) or rollups.
    pub async fn stats_rows(&self, delta: i64, starts: &[NaiveDateTime]) -> Result<Vec<StatsRow>> {
        if starts.is_empty() {
            return Ok(Vec::new());
        }
        self.stats_where(delta, "dt_from = ANY($2)", &[&starts]).await
    }

    /// Windows (or rollups of `delta`) starting in `[from, to)`.
    pub async fn stats_rows_between(
        &self,
        delta: i64,
        from: NaiveDateTime,
        to: NaiveDateTime,
    ) -> Result<Vec<StatsRow>> {
        self.stats_where(delta, "dt_from >= $2 AND dt_from < $3", &[&from, &to]).await
    }

    /// Rows of `delta` (windows or a rollup) meeting `cond`, whose parameters start at `$2`.
    async fn stats_where(&self, delta: i64, cond: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<StatsRow>> {
        let (table, windows) =
            if delta == WINDOW { ("statistics_events", "1") } else { ("statistics_rollups", "windows") };
        let sql = format!(
            "SELECT dt_from, dt_to, {windows}, count, stats_overall, stats_internal, stats_external \
             FROM {table} WHERE delta = $1 AND {cond} ORDER BY dt_from"
        );
        let delta = delta as i32;
        let mut all: Vec<&(dyn ToSql + Sync)> = vec![&delta];
        all.extend_from_slice(params);
        Ok(with_client!(self, |c| c.query(sql.as_str(), &all))?.iter().map(stats_row).collect())
    }

    /// The start of every 5-minute window in `[from, to)` that holds a stored event (`from`
    /// a window's start), found by one index probe per such window, so a stretch without
    /// events costs nothing however long.
    pub async fn filled_windows(&self, from: NaiveDateTime, to: NaiveDateTime) -> Result<Vec<NaiveDateTime>> {
        if self.flavour().await? == Flavour::Citus {
            return self.filled_windows_by_scan(from, to).await;
        }
        let first =
            "SELECT min(cesnet_storagetime) FROM events WHERE cesnet_storagetime >= $1 AND cesnet_storagetime < $2";
        let sql = format!(
            "WITH RECURSIVE w(t) AS ( \
                 SELECT date_bin('{WINDOW} seconds', ({first}), $1) \
                 UNION ALL \
                 SELECT date_bin('{WINDOW} seconds', (SELECT min(cesnet_storagetime) FROM events \
                     WHERE cesnet_storagetime >= w.t + interval '{WINDOW} seconds' AND cesnet_storagetime < $2), $1) \
                 FROM w WHERE w.t IS NOT NULL) \
             SELECT t FROM w WHERE t IS NOT NULL"
        );
        Ok(with_client!(self, |c| c.query(sql.as_str(), &[&from, &to]))?.iter().map(|r| r.get(0)).collect())
    }

    /// [`filled_windows`](Self::filled_windows) on Citus, which runs a recursive query only
    /// within one shard: each shard lists the windows of its events in the range, in parallel,
    /// which costs in proportion to the events, not the calendar.
    async fn filled_windows_by_scan(&self, from: NaiveDateTime, to: NaiveDateTime) -> Result<Vec<NaiveDateTime>> {
        let sql = format!(
            "SELECT DISTINCT date_bin('{WINDOW} seconds', cesnet_storagetime, $1) AS t FROM events \
             WHERE cesnet_storagetime >= $1 AND cesnet_storagetime < $2 ORDER BY t"
        );
        Ok(with_client!(self, |c| c.query(sql.as_str(), &[&from, &to]))?.iter().map(|r| r.get(0)).collect())
    }

    /// Removes the rows of the windows in `[from, to)` that are not in `keep` (they no longer
    /// hold events); returns their starts.
    pub async fn forget_windows(
        &self,
        from: NaiveDateTime,
        to: NaiveDateTime,
        keep: &[NaiveDateTime],
    ) -> Result<Vec<NaiveDateTime>> {
        let sql = "DELETE FROM statistics_events WHERE delta = 300 AND dt_from >= $1 AND dt_from < $2 \
                   AND dt_from <> ALL($3) RETURNING dt_from";
        Ok(with_client!(self, |c| c.query(sql, &[&from, &to, &keep]))?.iter().map(|r| r.get(0)).collect())
    }

    /// The start of the newest stored window.
    pub async fn last_window(&self) -> Result<Option<NaiveDateTime>> {
        let row =
            with_client!(self, |c| c.query_one("SELECT max(dt_from) FROM statistics_events WHERE delta = 300", &[]))?;
        Ok(row.get(0))
    }

    /// The oldest storage time at or after `since`.
    pub async fn first_stored_since(&self, since: NaiveDateTime) -> Result<Option<NaiveDateTime>> {
        let sql = "SELECT min(cesnet_storagetime) FROM events WHERE cesnet_storagetime >= $1";
        Ok(with_client!(self, |c| c.query_one(sql, &[&since]))?.get(0))
    }

    /// Tries to become the statistics leader. The lead lasts as long as the returned
    /// connection (its own, outside the pool): dropping it, or losing it, hands it over.
    pub async fn statistics_leadership(&self) -> Result<Option<tokio_postgres::Client>> {
        let (client, conn) = self.config.connect(tokio_postgres::NoTls).await?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        let got: bool = client.query_one("SELECT pg_try_advisory_lock($1)", &[&LEADER_LOCK]).await?.get(0);
        Ok(got.then_some(client))
    }
}
