//! Single events: insert, fetch, delete; search (full or ghost rows), count, min/max, watchdog.

use chrono::NaiveDateTime;
use sea_query::PostgresQueryBuilder;
use sea_query_postgres::PostgresBinder;
use serde_json::{json, Map, Value};
use tokio_postgres::Row;

use super::bulk::{NewEvent, PreparedRow};
use super::query::{Cursor, QueryKind, SearchParams};
use super::{with_client, Error, EventStore, Result};
use crate::idea::{time, IpRange};

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
        serde_json::from_slice(&self.raw).map_err(|e| Error::Data(format!("stored event {} is not JSON: {e}", self.id)))
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

/// An event rebuilt from the `events` columns only (Mentat's IdeaGhost): lossy, but
/// cheap for result lists.
#[derive(Debug, Clone, PartialEq)]
pub struct Ghost {
    pub id: String,
    pub detecttime: NaiveDateTime,
    pub category: Vec<String>,
    pub description: Option<String>,
    pub source_ip: Vec<IpRange>,
    pub target_ip: Vec<IpRange>,
    pub source_port: Vec<i32>,
    pub target_port: Vec<i32>,
    pub source_type: Vec<String>,
    pub target_type: Vec<String>,
    pub protocol: Vec<String>,
    pub node_name: Vec<String>,
    pub node_type: Vec<String>,
    pub storagetime: NaiveDateTime,
    pub resolvedabuses: Vec<String>,
    pub eventclass: Option<String>,
    pub eventseverity: Option<String>,
    pub inspectionerrors: Vec<String>,
    pub tlp: Option<String>,
    pub targetabuses: Vec<String>,
    pub targetclass: Option<String>,
    pub targetseverity: Option<String>,
}

impl Ghost {
    fn from_row(r: &Row) -> Self {
        let list = |c: &str| r.get::<_, Option<Vec<String>>>(c).unwrap_or_default();
        Self {
            id: r.get("id"),
            detecttime: r.get("detecttime"),
            category: list("category"),
            description: r.get("description"),
            source_ip: r.get::<_, Option<Vec<IpRange>>>("source_ip").unwrap_or_default(),
            target_ip: r.get::<_, Option<Vec<IpRange>>>("target_ip").unwrap_or_default(),
            source_port: r.get::<_, Option<Vec<i32>>>("source_port").unwrap_or_default(),
            target_port: r.get::<_, Option<Vec<i32>>>("target_port").unwrap_or_default(),
            source_type: list("source_type"),
            target_type: list("target_type"),
            protocol: list("protocol"),
            node_name: list("node_name"),
            node_type: list("node_type"),
            storagetime: r.get("cesnet_storagetime"),
            resolvedabuses: list("cesnet_resolvedabuses"),
            eventclass: r.get("cesnet_eventclass"),
            eventseverity: r.get("cesnet_eventseverity"),
            inspectionerrors: list("cesnet_inspectionerrors"),
            tlp: r.get("tlp"),
            targetabuses: list("targetabuses"),
            targetclass: r.get("targetclass"),
            targetseverity: r.get("targetseverity"),
        }
    }

    /// The IDEA-shaped dictionary of spec §2.4: one Source and one Target at most, one Node
    /// per name carrying every node type, and the `_CESNET` private keys.
    pub fn to_idea(&self) -> Value {
        let mut m = Map::new();
        m.insert("Format".into(), json!("IDEA0"));
        m.insert("ID".into(), json!(self.id));
        m.insert("DetectTime".into(), json!(time::render(&self.detecttime)));
        m.insert("Category".into(), json!(self.category));
        if let Some(d) = &self.description {
            m.insert("Description".into(), json!(d));
        }
        if let Some(t) = &self.tlp {
            m.insert("TLP".into(), json!(t));
        }
        for (key, ips, types, ports) in [
            ("Source", &self.source_ip, &self.source_type, &self.source_port),
            ("Target", &self.target_ip, &self.target_type, &self.target_port),
        ] {
            let mut s = Map::new();
            let (v6, v4): (Vec<_>, Vec<_>) =
                ips.iter().map(|r| (r.family(), r.to_string())).partition(|(f, _)| *f == crate::idea::Family::V6);
            for (k, list) in [("IP4", v4), ("IP6", v6)] {
                if !list.is_empty() {
                    s.insert(k.into(), json!(list.into_iter().map(|(_, s)| s).collect::<Vec<_>>()));
                }
            }
            if !types.is_empty() {
                s.insert("Type".into(), json!(types));
            }
            if !ports.is_empty() {
                s.insert("Port".into(), json!(ports));
            }
            if !s.is_empty() {
                if !self.protocol.is_empty() {
                    s.insert("Proto".into(), json!(self.protocol));
                }
                m.insert(key.into(), json!([s]));
            }
        }
        let nodes: Vec<Value> = self.node_name.iter().map(|n| json!({"Name": n, "Type": self.node_type})).collect();
        m.insert("Node".into(), json!(nodes));
        let mut p = Map::new();
        p.insert("StorageTime".into(), json!(time::render(&self.storagetime)));
        for (k, v) in [
            ("ResolvedAbuses", &self.resolvedabuses),
            ("InspectionErrors", &self.inspectionerrors),
            ("TargetAbuses", &self.targetabuses),
        ] {
            if !v.is_empty() {
                p.insert(k.into(), json!(v));
            }
        }
        for (k, v) in [
            ("EventClass", &self.eventclass),
            ("EventSeverity", &self.eventseverity),
            ("TargetClass", &self.targetclass),
            ("TargetSeverity", &self.targetseverity),
        ] {
            if let Some(v) = v {
                p.insert(k.into(), json!(v));
            }
        }
        m.insert("_CESNET".into(), Value::Object(p));
        Value::Object(m)
    }
}

/// One page of results and the cursor of the next page (when the page was full).
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl EventStore {
    /// Stores one message; a duplicate ID is [`Error::Integrity`].
    pub async fn insert_event(&self, event: NewEvent) -> Result<()> {
        let row = PreparedRow::new(event, chrono::Utc::now().naive_utc());
        let id = row.event.row.id.clone();
        with_client!(self, |c| async {
            let tx = c.transaction().await?;
            tx.execute(super::bulk::INSERT_EVENT, &row.params()).await?;
            tx.execute("INSERT INTO events_json (id, event) VALUES ($1, $2)", &[&id, &row.event.raw]).await?;
            for (dir, ip, v4) in row.addresses() {
                tx.execute(
                    "INSERT INTO events_addr (id, dir, ip, v4, detecttime) VALUES ($1, $2, $3, $4, $5)",
                    &[&id, &dir, ip, &v4, &row.event.row.detecttime],
                )
                .await?;
            }
            tx.commit().await
        })
        .map_err(|e| match e {
            Error::Integrity(_) => Error::Integrity(id.clone()),
            other => other,
        })?;
        self.record_enums(&[&row]).await
    }

    /// The stored message with this ID, if any.
    pub async fn fetch_event(&self, id: &str) -> Result<Option<StoredEvent>> {
        let sql = "SELECT e.id, e.detecttime, e.cesnet_storagetime, j.event FROM events e JOIN events_json j USING (id) WHERE e.id = $1";
        let row = with_client!(self, |c| c.query_opt(sql, &[&id]))?;
        Ok(row.as_ref().map(stored))
    }

    /// Deletes one event (and its JSON and addresses); false when there was none.
    pub async fn delete_event(&self, id: &str) -> Result<bool> {
        let n = with_client!(self, |c| c.execute("DELETE FROM events WHERE id = $1", &[&id]))?;
        Ok(n > 0)
    }

    /// Deletes every event matching the parameters; returns how many.
    pub async fn delete_events(&self, params: &SearchParams) -> Result<u64> {
        let (sql, values) = params.delete().build_postgres(PostgresQueryBuilder);
        with_client!(self, |c| c.execute(sql.as_str(), &values.as_params()))
    }

    /// The number of events matching the parameters (paging and sorting ignored).
    pub async fn count_events(&self, params: &SearchParams) -> Result<i64> {
        let (sql, values) = params.select(QueryKind::Count).build_postgres(PostgresQueryBuilder);
        let row = with_client!(self, |c| c.query_one(sql.as_str(), &values.as_params()))?;
        Ok(row.get(0))
    }

    /// Full messages matching the parameters, with the cursor of the next page.
    pub async fn search_events(&self, params: &SearchParams) -> Result<Page<StoredEvent>> {
        let rows = self.run_select(params, QueryKind::Select).await?;
        let items: Vec<StoredEvent> = rows.iter().map(stored).collect();
        let next_cursor = next_cursor(params, &items, |e| (e.detecttime, e.storagetime, e.id.as_str()));
        Ok(Page { items, next_cursor })
    }

    /// Ghost rows (from `events` alone) matching the parameters.
    pub async fn search_ghosts(&self, params: &SearchParams) -> Result<Page<Ghost>> {
        let rows = self.run_select(params, QueryKind::SelectGhost).await?;
        let items: Vec<Ghost> = rows.iter().map(Ghost::from_row).collect();
        let next_cursor = next_cursor(params, &items, |g| (g.detecttime, g.storagetime, g.id.as_str()));
        Ok(Page { items, next_cursor })
    }

    async fn run_select(&self, params: &SearchParams, kind: QueryKind) -> Result<Vec<Row>> {
        let (sql, values) = params.select(kind).build_postgres(PostgresQueryBuilder);
        with_client!(self, |c| c.query(sql.as_str(), &values.as_params()))
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

fn stored(r: &Row) -> StoredEvent {
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
