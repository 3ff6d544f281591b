//! Single events: insert, fetch, delete; search (full or ghost rows), count, min/max, watchdog.

use chrono::{NaiveDate, NaiveDateTime};
use sea_query::PostgresQueryBuilder;
use sea_query_postgres::PostgresBinder;
use serde_json::Value;
use tokio_postgres::Row;

use super::bulk::NewEvent;
use super::params::{Cursor, QueryKind, SearchParams, Visibility};
use super::partitions::{partition_name, week_of, Pruning};
use super::tables::Table;
use super::{with_client, Error, EventStore, Flavour, Result};
use crate::idea::EventRow;

/// A stored message: its ID, sort times and the bytes received.
#[derive(Debug, Clone)]
pub struct StoredEvent {
    pub id: String,
    pub detecttime: NaiveDateTime,
    pub storagetime: NaiveDateTime,
    pub raw: Vec<u8>,
}

impl StoredEvent {
    /// The message as JSON. Stored bytes were valid JSON when received.
    pub fn json(&self) -> Result<Value> {
        serde_json::from_slice(&self.raw)
            .map_err(|e| Error::Corrupt(format!("stored event {} is not JSON: {e}", self.id)))
    }
}

/// Time columns that min/max and cleanup may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeColumn {
    DetectTime,
    StorageTime,
}

impl TimeColumn {
    fn sql(self) -> &'static str {
        match self {
            Self::DetectTime => "detecttime",
            Self::StorageTime => "cesnet_storagetime",
        }
    }
}

/// One page of results and the cursor of the next page (when the page was full).
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl EventStore {
    /// Stores one message; a duplicate ID is [`Error::Integrity`], a message PostgreSQL
    /// refuses [`Error::Data`].
    pub async fn insert_event(&self, event: NewEvent) -> Result<()> {
        let id = event.row.id.clone();
        let outcome = self.insert_batch(vec![event]).await?;
        if let Some((_, reason)) = outcome.refused.into_iter().next() {
            return Err(Error::Data(reason));
        }
        if !outcome.duplicates.is_empty() {
            return Err(Error::Integrity(format!("an event with ID {id} is already stored")));
        }
        Ok(())
    }

    /// The stored message with this ID, if any and if visible: an event hidden from the
    /// reader is as absent as one never stored.
    pub async fn fetch_event(&self, id: &str, visibility: &Visibility) -> Result<Option<StoredEvent>> {
        let sql = format!(
            "SELECT e.id, e.detecttime, e.cesnet_storagetime, j.event FROM events e \
             JOIN events_json j ON j.id = e.id AND j.storagetime = e.cesnet_storagetime \
             WHERE e.id = $1 AND ($2::text[] IS NULL OR {})",
            Visibility::sql("e", 2)
        );
        let groups = visibility.groups();
        let row = with_client!(self, |c| c.query_opt(sql.as_str(), &[&id, &groups]))?;
        Ok(self.decode_stored(row.iter().map(stored).collect()).await?.pop())
    }

    /// Deletes one event (and its JSON and addresses); false when there was none.
    pub async fn delete_event(&self, id: &str) -> Result<bool> {
        Ok(self.forget("DELETE FROM events WHERE id = $1", &[&id], None).await? > 0)
    }

    /// Deletes every event matching the parameters; returns how many.
    pub async fn delete_events(&self, params: &SearchParams) -> Result<u64> {
        let (sql, values) = params.delete(&self.pruning(params).await?).build_postgres(PostgresQueryBuilder);
        self.forget(&sql, &values.as_params(), None).await
    }

    /// Deletes up to `batch` of the events stored from `from` to before `cut`, oldest
    /// first, with their message bytes and address rows; returns how many. Both bounds keep
    /// the statement to the partitions between them.
    ///
    /// Both must lie in one week. On Citus the statements name that week's partitions: on the
    /// partitioned tables they would lock every week's, and wait for the weeks being written.
    pub async fn delete_stored_between(&self, from: NaiveDateTime, cut: NaiveDateTime, batch: i64) -> Result<u64> {
        let week = week_of(from);
        let events = match self.flavour().await? {
            Flavour::Single => Table::Events.name().to_string(),
            // A week without partitions holds no events.
            Flavour::Citus if !self.has_week(week).await? => return Ok(0),
            Flavour::Citus => partition_name(Table::Events, week),
        };
        let sql = format!(
            "DELETE FROM \"{events}\" WHERE cesnet_storagetime >= $1 AND cesnet_storagetime < $2 AND (id, cesnet_storagetime) IN \
             (SELECT id, cesnet_storagetime FROM \"{events}\" WHERE cesnet_storagetime >= $1 AND cesnet_storagetime < $2 \
             ORDER BY cesnet_storagetime LIMIT $3)"
        );
        self.forget(&sql, &[&from, &cut, &batch], Some(week)).await
    }

    /// Runs `delete`, a DELETE of `events`, with the event's other rows; returns how many
    /// events went. On one server the `events_forget` trigger removes the other rows; Citus
    /// runs no trigger that reaches other tables' shards, so there they go in the same
    /// statement, bounded by the deleted events' storage times as the trigger bounds them
    /// (and, when `delete` names the partition of a `week`, in that week's partitions).
    async fn forget(
        &self,
        delete: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
        week: Option<NaiveDate>,
    ) -> Result<u64> {
        if self.flavour().await? == Flavour::Single {
            return with_client!(self, |c| c.execute(delete, params));
        }
        let name = |t: Table| week.map_or_else(|| t.name().to_string(), |w| partition_name(t, w));
        let (json, addr, net16) = (name(Table::EventsJson), name(Table::EventsAddr), name(Table::EventsNet16));
        let sql = format!(
            "WITH gone AS ({delete} RETURNING id, cesnet_storagetime AS t), \
                  b AS MATERIALIZED (SELECT min(t) AS lo, max(t) AS hi FROM gone), \
                  j AS (DELETE FROM \"{json}\" x USING gone g, b WHERE x.storagetime BETWEEN b.lo AND b.hi \
                        AND x.id = g.id AND x.storagetime = g.t), \
                  a AS (DELETE FROM \"{addr}\" x USING gone g, b WHERE x.storagetime BETWEEN b.lo AND b.hi \
                        AND x.id = g.id AND x.storagetime = g.t), \
                  n AS (DELETE FROM \"{net16}\" x USING gone g, b WHERE x.storagetime BETWEEN b.lo AND b.hi \
                        AND x.id = g.id AND x.storagetime = g.t), \
                  i AS (DELETE FROM event_ids x USING gone g WHERE x.id = g.id) \
             SELECT count(*) FROM gone"
        );
        let n: i64 = with_client!(self, |c| c.query_one(sql.as_str(), params))?.get(0);
        Ok(n as u64)
    }

    /// Removes the descriptions that no event stored from `cut` on holds, once every event
    /// stored before it is gone: those last seen more than a day before it (`last_seen` is
    /// kept within a day of the newest event holding it, see `bulk::record_descriptions`).
    pub async fn forget_descriptions_before(&self, cut: NaiveDateTime) -> Result<u64> {
        let sql = "DELETE FROM event_descriptions WHERE last_seen < $1::timestamp - interval '1 day'";
        with_client!(self, |c| c.execute(sql, &[&cut]))
    }

    /// The number of events stored before `cut`.
    pub async fn count_stored_before(&self, cut: NaiveDateTime) -> Result<u64> {
        let sql = "SELECT count(*) FROM events WHERE cesnet_storagetime < $1";
        let n: i64 = with_client!(self, |c| c.query_one(sql, &[&cut]))?.get(0);
        Ok(n as u64)
    }

    /// The number of events matching the parameters (paging and sorting ignored).
    pub async fn count_events(&self, params: &SearchParams) -> Result<i64> {
        let pruning = self.pruning(params).await?;
        let (sql, values) = params
            .select_pruned(QueryKind::Count, &pruning, self.flavour().await?)
            .build_postgres(PostgresQueryBuilder);
        let row = with_client!(self, |c| c.query_one(sql.as_str(), &values.as_params()))?;
        Ok(row.get(0))
    }

    /// Full messages matching the parameters, with the cursor of the next page.
    pub async fn search_events(&self, params: &SearchParams) -> Result<Page<StoredEvent>> {
        let rows = self.run_select(params, QueryKind::Select).await?;
        let items = self.decode_stored(rows.iter().map(stored).collect()).await?;
        let next_cursor = next_cursor(params, &items, |e| (e.detecttime, e.storagetime, e.id.as_str()));
        Ok(Page { items, next_cursor })
    }

    /// Ghost rows (the `events` columns alone, see [`super::ghost`]) matching the parameters.
    pub async fn search_ghosts(&self, params: &SearchParams) -> Result<Page<EventRow>> {
        let rows = self.run_select(params, QueryKind::SelectGhost).await?;
        let items: Vec<EventRow> = rows.iter().map(super::ghost::from_row).collect();
        let next_cursor =
            next_cursor(params, &items, |g| (g.detecttime, g.storagetime.unwrap_or(g.detecttime), g.id.as_str()));
        Ok(Page { items, next_cursor })
    }

    async fn run_select(&self, params: &SearchParams, kind: QueryKind) -> Result<Vec<Row>> {
        let pruning = self.pruning(params).await?;
        let (sql, values) =
            params.select_pruned(kind, &pruning, self.flavour().await?).build_postgres(PostgresQueryBuilder);
        with_client!(self, |c| c.query(sql.as_str(), &values.as_params()))
    }

    /// The SQL text that a search by these parameters runs, with values inlined (Mentat's
    /// `mogrify`), partition bounds included. For display and EXPLAIN.
    pub async fn mogrify(&self, params: &SearchParams, kind: QueryKind) -> Result<String> {
        let pruning = self.pruning(params).await?;
        Ok(params.select_pruned(kind, &pruning, self.flavour().await?).to_string(PostgresQueryBuilder))
    }

    /// The partition bounds a search by these parameters may use.
    pub(crate) async fn pruning(&self, params: &SearchParams) -> Result<Pruning> {
        match params.dt_from {
            Some(t) => self.pruning_from(t).await,
            None => Ok(Pruning::default()),
        }
    }

    /// The minimum or maximum of a time column (Mentat's `search_column_with`); None when empty.
    pub async fn search_column_with(&self, column: TimeColumn, max: bool) -> Result<Option<NaiveDateTime>> {
        let f = if max { "max" } else { "min" };
        let sql = format!("SELECT {f}({}) FROM events", column.sql());
        let row = with_client!(self, |c| c.query_one(sql.as_str(), &[]))?;
        Ok(row.get(0))
    }

    /// True when some event was stored within the last `interval_secs` seconds.
    pub async fn watchdog_events(&self, interval_secs: u32) -> Result<bool> {
        let sql = "SELECT COALESCE(max(cesnet_storagetime) > (now() AT TIME ZONE 'UTC') - make_interval(secs => $1), false) FROM events";
        let secs = f64::from(interval_secs);
        let row = with_client!(self, |c| c.query_one(sql, &[&secs]))?;
        Ok(row.get(0))
    }
}

pub(super) fn stored(r: &Row) -> StoredEvent {
    StoredEvent { id: r.get(0), detecttime: r.get(1), storagetime: r.get(2), raw: r.get(3) }
}

/// A cursor after the last item when the page came back full (there may be more).
fn next_cursor<T>(
    p: &SearchParams,
    items: &[T],
    key: impl Fn(&T) -> (NaiveDateTime, NaiveDateTime, &str),
) -> Option<String> {
    let limit = p.limit? as usize;
    let (col, _) = p.effective_sort()?;
    let last = items.last().filter(|_| items.len() >= limit)?;
    let (dt, st, id) = key(last);
    let time = if matches!(col, super::query::Events::CesnetStoragetime) { st } else { dt };
    Some(Cursor { time, id: id.to_string() }.encode())
}
