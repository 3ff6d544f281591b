//! Weekly partitions of the event tables by storage time.
//!
//! A week (Monday 00:00 to Monday 00:00, UTC) is one partition of each of [`Table::PARTITIONED`],
//! named `<table>_w<YYYYMMDD>` after its Monday. `migrate` and the leader inside `serve`
//! create the current week and [`AHEAD_WEEKS`] more, so ingest normally finds its partition;
//! a message stored for another week (history imported with its storage times) has its
//! week created before its batch is written. There is no default partition: it would be
//! read by every search, since a lower time bound cannot rule it out.
//!
//! A week that has ended gets no more rows (except from an import), so the leader compacts
//! it once: its indexes are rebuilt, which packs the GIN indexes that kept the pages of
//! their pending lists to about a tenth and the week's indexes in all to about 40%, and its
//! tables are vacuumed, which lets counts read the indexes alone.
//!
//! Partitions are created detached and then attached, which locks the parent table only
//! against schema changes, not against searches or writes, and never waits long for a lock
//! ([`LOCK_WAIT`]): a week that cannot be created is reported by name and its messages are
//! refused, while the rest of a batch is stored.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use chrono::{Datelike, NaiveDate, NaiveDateTime, TimeDelta};

use super::tables::Table;
use super::{with_client, Error, EventStore, Flavour, Result};

/// The width of a partition.
pub(crate) const WIDTH: TimeDelta = TimeDelta::days(7);
/// Weeks created ahead of the current one.
const AHEAD_WEEKS: i64 = 4;
/// How long after its end a week is compacted: what arrives late arrives by then.
const COMPACT_AFTER: TimeDelta = TimeDelta::hours(1);
/// Serialises the creation of partitions (several writers, several servers).
const CREATE_LOCK: i64 = 0x1dea_db01;
/// The longest wait for a lock when creating or dropping a partition.
const LOCK_WAIT: &str = "5s";

/// Index methods whose pages keep room for later rows (10% of each), which an ended week does
/// not get: its rebuilt indexes fill their pages. Not hash: full buckets overflow where the
/// hash values bunch, and the ID hash indexes came out larger (bench `--only size`).
const FILLED_METHODS: [&str; 2] = ["btree", "gist"];

/// Sets the indexes of the partition `name` to fill their pages when next built.
async fn pack_full(client: &tokio_postgres::Client, name: &str) -> Result<()> {
    let sql = "SELECT c.relname FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid \
               JOIN pg_am m ON m.oid = c.relam WHERE x.indrelid = quote_ident($1)::regclass AND m.amname::text = ANY($2::text[])";
    let methods: Vec<&str> = FILLED_METHODS.to_vec();
    for row in client.query(sql, &[&name, &methods]).await? {
        let index: String = row.get(0);
        client.batch_execute(&format!("ALTER INDEX \"{index}\" SET (fillfactor = 100)")).await?;
    }
    Ok(())
}

/// The Monday that starts the week of `t`.
pub fn week_of(t: NaiveDateTime) -> NaiveDate {
    let day = t.date();
    day - TimeDelta::days(i64::from(day.weekday().num_days_from_monday()))
}

fn start(week: NaiveDate) -> NaiveDateTime {
    week.and_time(chrono::NaiveTime::MIN)
}

/// The partition of `table` (or of an index) for `week`.
pub(crate) fn partition_name(table: Table, week: NaiveDate) -> String {
    format!("{table}{}", week_suffix(week))
}

fn week_suffix(week: NaiveDate) -> String {
    format!("_w{}", week.format("%Y%m%d"))
}

/// The week a partition name stands for.
fn week_of_name(table: Table, name: &str) -> Option<NaiveDate> {
    let date = name.strip_prefix(table.name())?.strip_prefix("_w")?;
    NaiveDate::parse_from_str(date, "%Y%m%d").ok()
}

/// What this process knows of the partitions and of detection times running ahead, so a
/// batch costs no catalog lookup and no write for either in the common case.
#[derive(Default)]
pub(crate) struct Known {
    weeks: Mutex<HashSet<NaiveDate>>,
    /// The largest DetectTime − storage time recorded per week, in seconds.
    ahead: Mutex<HashMap<NaiveDate, f64>>,
}

/// The storage times a search bounded by detection time can match, so that it reads only
/// their partitions: from the bound on, and the earlier weeks whose events ran ahead far
/// enough to reach it. Exact: an event is stored no earlier than it was detected, except by
/// as much as `detect_ahead` records for its week.
#[derive(Debug, Clone, Default)]
pub(crate) struct Pruning {
    pub detected_from: Option<NaiveDateTime>,
    /// Starts of the earlier weeks to read too.
    pub weeks_ahead: Vec<NaiveDateTime>,
}

impl Pruning {
    /// The condition on the storage-time column `col`, its values bound by `bind` (which
    /// returns the placeholder); None without a detection-time bound.
    pub fn sql(&self, col: &str, mut bind: impl FnMut(NaiveDateTime) -> String) -> Option<String> {
        let from = self.detected_from?;
        let mut terms = vec![format!("{col} >= {}", bind(from))];
        for w in &self.weeks_ahead {
            terms.push(format!("({col} >= {} AND {col} < {})", bind(*w), bind(*w + WIDTH)));
        }
        Some(format!("({})", terms.join(" OR ")))
    }

    /// [`sql`](Self::sql) as an expression.
    pub fn expr(&self, col: &str) -> Option<sea_query::Expr> {
        let mut values = Vec::new();
        let text = self.sql(col, |t| {
            values.push(sea_query::Value::from(t));
            format!("${}", values.len())
        })?;
        Some(sea_query::Expr::cust_with_values(text, values))
    }
}

/// Below this many rows (by the estimate, which lags a load) a week's rows are counted.
const EXACT_BELOW: i64 = 100_000;

/// One week's partitions, for `db-status` and retention.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PartitionStatus {
    pub from: NaiveDateTime,
    pub to: NaiveDateTime,
    /// Events in the week: counted in a small week, else the planner's estimate.
    pub rows: i64,
    /// Every partition of the week, with indexes and TOAST.
    pub bytes: i64,
    /// Compacted since the week ended.
    pub compacted: bool,
}

impl EventStore {
    /// Creates the partitions of the current week and the next few (idempotent).
    pub async fn create_partitions_ahead(&self, now: NaiveDateTime) -> Result<()> {
        let failed = self.ensure_weeks((0..=AHEAD_WEEKS).map(|i| now + WIDTH * i as i32)).await?;
        match failed.into_values().next() {
            Some(reason) => Err(Error::Setup(reason)),
            None => Ok(()),
        }
    }

    /// Makes sure every week of `times` has its partitions; returns the weeks that could not
    /// be created, each with the reason (naming the partition).
    pub(crate) async fn ensure_weeks(
        &self,
        times: impl Iterator<Item = NaiveDateTime>,
    ) -> Result<HashMap<NaiveDate, String>> {
        let wanted: HashSet<NaiveDate> = times.map(week_of).collect();
        let missing: Vec<NaiveDate> = {
            let known = self.partitions.weeks.lock().expect("partition cache");
            wanted.into_iter().filter(|w| !known.contains(w)).collect()
        };
        if missing.is_empty() {
            return Ok(HashMap::new());
        }
        let existing = self.partition_weeks().await?;
        self.partitions.weeks.lock().expect("partition cache").extend(existing.iter().copied());
        let mut failed = HashMap::new();
        for week in missing.into_iter().filter(|w| !existing.contains(w)) {
            match self.create_week(week).await {
                Ok(()) => {}
                Err(e @ (Error::Connection(_) | Error::NodeUnavailable(_))) => return Err(e),
                Err(e) => {
                    let name = partition_name(Table::Events, week);
                    tracing::error!(partition = %name, error = %e, "cannot create a partition");
                    failed.insert(week, format!("the partition {name} cannot be created: {e}"));
                }
            }
        }
        Ok(failed)
    }

    /// Creates the partitions of one week, all or none.
    async fn create_week(&self, week: NaiveDate) -> Result<()> {
        let (from, to) = (start(week), start(week + WIDTH));
        // Writers that need the same week at once take turns; the second finds it made.
        // One statement at a time: Citus distributes a partition attached to a distributed
        // table, which it cannot do inside a query string of several statements.
        let mut sql = vec![
            format!("SET LOCAL lock_timeout = '{LOCK_WAIT}'"),
            format!("SELECT pg_advisory_xact_lock({CREATE_LOCK})"),
        ];
        for table in Table::PARTITIONED {
            let name = partition_name(table, week);
            sql.push(format!(
                "CREATE TABLE IF NOT EXISTS \"{name}\" (LIKE {table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"
            ));
            sql.push(format!(
                "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_inherits WHERE inhrelid = '\"{name}\"'::regclass) THEN \
                 ALTER TABLE {table} ATTACH PARTITION \"{name}\" FOR VALUES FROM ('{from}') TO ('{to}'); END IF; END $$;"
            ));
            // The indexes that ATTACH made get their parent index's name and the week, so a
            // plan names the index it uses the same way in every partition.
            sql.push(format!(
                "DO $$ DECLARE r record; BEGIN FOR r IN SELECT c.relname AS child, p.relname AS parent \
                 FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid \
                 JOIN pg_inherits i ON i.inhrelid = x.indexrelid JOIN pg_class p ON p.oid = i.inhparent \
                 WHERE x.indrelid = '\"{name}\"'::regclass AND c.relname <> p.relname || '{suffix}' LOOP \
                 EXECUTE format('ALTER INDEX %I RENAME TO %I', r.child, r.parent || '{suffix}'); END LOOP; END $$;",
                suffix = week_suffix(week),
            ));
        }
        with_client!(self, |c| async {
            let tx = c.transaction().await?;
            for stmt in &sql {
                tx.batch_execute(stmt).await?;
            }
            tx.commit().await
        })?;
        self.partitions.weeks.lock().expect("partition cache").insert(week);
        Ok(())
    }

    /// Whether the week has its partitions: known to this store, or found and remembered.
    pub(crate) async fn has_week(&self, week: NaiveDate) -> Result<bool> {
        if self.partitions.weeks.lock().expect("partition cache").contains(&week) {
            return Ok(true);
        }
        let name = partition_name(Table::Events, week);
        let row = with_client!(self, |c| c.query_one("SELECT to_regclass($1) IS NOT NULL", &[&name]))?;
        let exists: bool = row.get(0);
        if exists {
            self.partitions.weeks.lock().expect("partition cache").insert(week);
        }
        Ok(exists)
    }

    /// The weeks that have partitions, oldest first.
    pub(crate) async fn partition_weeks(&self) -> Result<Vec<NaiveDate>> {
        let sql = "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
                   WHERE i.inhparent = 'events'::regclass";
        let rows = with_client!(self, |c| c.query(sql, &[]))?;
        let mut weeks: Vec<NaiveDate> = rows.iter().filter_map(|r| week_of_name(Table::Events, r.get(0))).collect();
        weeks.sort_unstable();
        Ok(weeks)
    }

    /// The weeks that ended at or before `cut`, oldest first. Reads the catalog alone, so it
    /// never waits for a lock on a partition.
    pub(crate) async fn weeks_ended_by(&self, cut: NaiveDateTime) -> Result<Vec<NaiveDate>> {
        let weeks = self.partition_weeks().await?;
        Ok(weeks.into_iter().filter(|w| start(*w + WIDTH) <= cut).collect())
    }

    /// Every week's partitions with their rows and size, oldest first.
    pub async fn partitions(&self) -> Result<Vec<PartitionStatus>> {
        let compacted = self.compacted_weeks().await?;
        // Every partition of every table in one pass, summed per week.
        let sql = "SELECT substring(c.relname from '_w([0-9]{8})$'), \
                   sum(pg_total_relation_size(c.oid))::bigint, \
                   COALESCE(sum(GREATEST(c.reltuples::bigint, COALESCE(s.n_live_tup, 0))) \
                       FILTER (WHERE p.relname = 'events'), 0)::bigint \
                   FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent \
                   LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid \
                   WHERE p.relname = ANY($1) GROUP BY 1 ORDER BY 1";
        let rows = with_client!(self, |c| c.query(sql, &[&Table::PARTITIONED.map(Table::name).as_slice()]))?;
        let on_workers = match self.flavour().await? {
            Flavour::Single => HashMap::new(),
            Flavour::Citus => self.weeks_on_workers().await?,
        };
        let mut out = Vec::new();
        for r in &rows {
            let Some(week) = r.get::<_, Option<&str>>(0).and_then(|d| NaiveDate::parse_from_str(d, "%Y%m%d").ok())
            else {
                continue;
            };
            let (bytes, mut events) = on_workers.get(&week).copied().unwrap_or((r.get(1), r.get(2)));
            if events < EXACT_BELOW {
                let count = format!("SELECT count(*) FROM \"{}\"", partition_name(Table::Events, week));
                events = with_client!(self, |c| c.query_one(count.as_str(), &[]))?.get(0);
            }
            out.push(PartitionStatus {
                from: start(week),
                to: start(week + WIDTH),
                bytes,
                rows: events,
                compacted: compacted.contains(&start(week)),
            });
        }
        Ok(out)
    }

    /// On Citus, the bytes and estimated events of each week, from the shards of its
    /// partitions on the workers (`{table}_wYYYYMMDD_{shard id}`), which hold the rows.
    async fn weeks_on_workers(&self) -> Result<HashMap<NaiveDate, (i64, i64)>> {
        let command = "SELECT COALESCE(string_agg(w || ':' || b || ':' || n, ','), '') FROM ( \
                       SELECT substring(c.relname from '_w([0-9]{8})_[0-9]+$') AS w, sum(pg_total_relation_size(c.oid)) AS b, \
                       COALESCE(sum(GREATEST(c.reltuples::bigint, COALESCE(s.n_live_tup, 0))) \
                           FILTER (WHERE c.relname ~ '^events_w'), 0) AS n \
                       FROM pg_class c LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid WHERE c.relkind = 'r' \
                       AND c.relname ~ '^(events|events_json|events_addr|events_net16)_w[0-9]{8}_[0-9]+$' GROUP BY 1) x";
        let mut weeks: HashMap<NaiveDate, (i64, i64)> = HashMap::new();
        for text in self.on_workers(command).await? {
            for item in text.split(',').filter(|i| !i.is_empty()) {
                let mut f = item.split(':');
                let (Some(w), Some(b), Some(n)) = (f.next(), f.next(), f.next()) else { continue };
                let Ok(week) = NaiveDate::parse_from_str(w, "%Y%m%d") else { continue };
                let sum = weeks.entry(week).or_default();
                sum.0 += b.parse::<i64>().unwrap_or(0);
                sum.1 += n.parse::<i64>().unwrap_or(0);
            }
        }
        Ok(weeks)
    }

    /// Compacts up to `max` weeks that ended at least [`COMPACT_AFTER`] before `now` and were
    /// not compacted yet, newest first; returns their starts. Runs on a connection of its
    /// own, without a statement timeout: rebuilding a week's indexes takes minutes at
    /// national scale, and blocks neither searches nor writers.
    pub async fn compact_ended_weeks(&self, now: NaiveDateTime, max: usize) -> Result<Vec<NaiveDateTime>> {
        let done = self.compacted_weeks().await?;
        let mut due: Vec<NaiveDate> = self
            .partition_weeks()
            .await?
            .into_iter()
            .filter(|w| start(*w + WIDTH) + COMPACT_AFTER <= now && !done.contains(&start(*w)))
            .collect();
        due.reverse();
        due.truncate(max);
        if due.is_empty() {
            return Ok(Vec::new());
        }
        let (client, conn) = self.unpooled_client().await?;
        for week in &due {
            for table in Table::PARTITIONED {
                let name = partition_name(table, *week);
                pack_full(&client, &name).await?;
                client.batch_execute(&format!("REINDEX TABLE CONCURRENTLY \"{name}\"")).await?;
                client.batch_execute(&format!("VACUUM (ANALYZE) \"{name}\"")).await?;
            }
            client
                .execute("INSERT INTO compacted_weeks (week) VALUES ($1) ON CONFLICT DO NOTHING", &[&start(*week)])
                .await?;
            tracing::info!(week = %week, "compacted the partitions of an ended week");
        }
        drop(client);
        let _ = conn.await;
        Ok(due.into_iter().map(start).collect())
    }

    async fn compacted_weeks(&self) -> Result<HashSet<NaiveDateTime>> {
        let rows = with_client!(self, |c| c.query("SELECT week FROM compacted_weeks", &[]))?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    /// Drops the partitions of one week whole; its IDs leave `event_ids` first, in batches,
    /// so an interrupted drop leaves a consistent store and finishes when run again.
    pub(crate) async fn drop_week(&self, week: NaiveDate, batch: i64) -> Result<u64> {
        let events = partition_name(Table::Events, week);
        // In storage-time order, which the week's time btree gives; the ID breaks ties.
        let forget = format!(
            "WITH b AS (SELECT id, cesnet_storagetime AS t FROM \"{events}\" \
                        WHERE cesnet_storagetime >= $1 AND (cesnet_storagetime, id) > ($1, $2) \
                        ORDER BY cesnet_storagetime, id LIMIT $3), \
             d AS (DELETE FROM event_ids WHERE id IN (SELECT id FROM b)) \
             SELECT count(*), (SELECT t FROM b ORDER BY t DESC, id DESC LIMIT 1), \
                    (SELECT id FROM b ORDER BY t DESC, id DESC LIMIT 1) FROM b"
        );
        let (mut after, mut last) = (start(week), String::new());
        let mut total = 0;
        loop {
            let row = with_client!(self, |c| c.query_one(forget.as_str(), &[&after, &last, &batch]))?;
            let n: i64 = row.get(0);
            total += n as u64;
            match (row.get::<_, Option<NaiveDateTime>>(1), row.get::<_, Option<String>>(2)) {
                (Some(t), Some(id)) if n == batch => (after, last) = (t, id),
                _ => break,
            }
        }
        let mut sql = vec![format!("SET LOCAL lock_timeout = '{LOCK_WAIT}'")];
        for table in Table::PARTITIONED {
            sql.push(format!("DROP TABLE IF EXISTS \"{}\"", partition_name(table, week)));
        }
        let week_start = start(week);
        with_client!(self, |c| async {
            let tx = c.transaction().await?;
            for stmt in &sql {
                tx.batch_execute(stmt).await?;
            }
            tx.execute("DELETE FROM detect_ahead WHERE week = $1", &[&week_start]).await?;
            tx.execute("DELETE FROM compacted_weeks WHERE week = $1", &[&week_start]).await?;
            tx.commit().await
        })?;
        self.partitions.weeks.lock().expect("partition cache").remove(&week);
        self.partitions.ahead.lock().expect("partition cache").remove(&week);
        Ok(total)
    }

    /// The storage times that events detected at or after `detected` can have (see [`Pruning`]).
    pub(crate) async fn pruning_from(&self, detected: NaiveDateTime) -> Result<Pruning> {
        let sql = "SELECT week FROM detect_ahead WHERE week < $1 AND week + make_interval(days => $2) + ahead > $1 \
                   ORDER BY week";
        let days = WIDTH.num_days() as i32;
        let rows = with_client!(self, |c| c.query(sql, &[&detected, &days]))?;
        Ok(Pruning { detected_from: Some(detected), weeks_ahead: rows.iter().map(|r| r.get(0)).collect() })
    }

    /// The weeks of these (detection, storage) times whose detection ran further ahead of
    /// storage than recorded, with the new maximum in seconds: what [`record_ahead`] writes.
    pub(crate) fn ahead_to_record(
        &self,
        times: impl Iterator<Item = (NaiveDateTime, NaiveDateTime)>,
    ) -> Vec<(NaiveDateTime, f64)> {
        let mut max: HashMap<NaiveDate, f64> = HashMap::new();
        for (detected, stored) in times.filter(|(d, s)| d > s) {
            let secs = (detected - stored).as_seconds_f64();
            let m = max.entry(week_of(stored)).or_insert(secs);
            *m = m.max(secs);
        }
        let known = self.partitions.ahead.lock().expect("partition cache");
        max.into_iter().filter(|(w, s)| known.get(w).is_none_or(|k| s > k)).map(|(w, s)| (start(w), s)).collect()
    }

    /// Remembers what a committed batch recorded.
    pub(crate) fn recorded_ahead(&self, rows: &[(NaiveDateTime, f64)]) {
        let mut known = self.partitions.ahead.lock().expect("partition cache");
        for (week, secs) in rows {
            let k = known.entry(week.date()).or_insert(*secs);
            *k = k.max(*secs);
        }
    }
}

/// Records in `tx` how far detection ran ahead of storage (see [`EventStore::ahead_to_record`]).
pub(crate) async fn record_ahead(
    tx: &tokio_postgres::Transaction<'_>,
    rows: &[(NaiveDateTime, f64)],
) -> Result<(), tokio_postgres::Error> {
    for (week, secs) in rows {
        tx.execute(
            "INSERT INTO detect_ahead (week, ahead) VALUES ($1, make_interval(secs => $2)) \
             ON CONFLICT (week) DO UPDATE SET ahead = GREATEST(detect_ahead.ahead, EXCLUDED.ahead)",
            &[week, secs],
        )
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weeks_start_on_monday_and_names_round_trip() {
        let t = |s: &str| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap();
        let monday = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        assert_eq!(week_of(t("2026-11-23 00:00:00")), monday);
        assert_eq!(week_of(t("2026-11-29 23:59:59")), monday);
        assert_eq!(week_of(t("2026-11-30 00:00:00")), monday + WIDTH);
        let name = partition_name(Table::EventsAddr, monday);
        assert_eq!(name, "events_addr_w20261123");
        assert_eq!(week_of_name(Table::EventsAddr, &name), Some(monday));
        assert_eq!(week_of_name(Table::Events, &name), None);
    }
}
