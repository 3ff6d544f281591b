//! `ideadb import-mentat --from URL`: every event of a Mentat database, of either generation,
//! stored here with its storage time; then its thresholding cache and thresholded events.
//!
//! The generation is read from the columns: `cesnet_storagetime` (V2, `_CESNET`) or
//! `storagetime` (V3, `_Mentat`). Events are read from `events_json` (the message Mentat
//! stored) in storage-time order, a batch at a time, and stored by the ingest path with the
//! storage time of `events`. While one batch is stored the next is read and a second stored,
//! in order; after each committed batch the position is recorded (`mentat_imports`), so a
//! re-run goes on after the last batch done, and an ID already here is never stored twice.
//! A message this validation refuses is counted and reported by ID, never dropped silently.

use std::collections::VecDeque;

use chrono::{NaiveDate, NaiveDateTime};
use tokio::task::JoinHandle;
use tokio_postgres::{Client, NoTls};

use crate::idea;
use crate::storage::{self, EventStore, ImportCursor, ImportedThreshold, ImportedThresholded, NewEvent, BATCH_SIZE};

/// Batches being stored at once, as `ideadb ingest` has writers.
const IN_FLIGHT: usize = 2;

/// Mentat's two database layouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Generation {
    /// `_CESNET`, `cesnet_*` columns.
    V2,
    /// `_Mentat`, unprefixed columns (mentat-ng).
    V3,
}

impl Generation {
    pub fn name(self) -> &'static str {
        match self {
            Self::V2 => "V2 (cesnet_* columns)",
            Self::V3 => "V3 (mentat-ng)",
        }
    }

    fn storagetime(self) -> &'static str {
        match self {
            Self::V2 => "cesnet_storagetime",
            Self::V3 => "storagetime",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("--from: {0}")]
    Url(String),
    #[error("cannot connect to the Mentat database {at}: {reason}")]
    Connect { at: String, reason: String },
    #[error("{at} is no Mentat database of either generation: {what}")]
    NotMentat { at: String, what: String },
    #[error("reading the Mentat database {at}: {reason}")]
    Read { at: String, reason: String },
    #[error(transparent)]
    Storage(#[from] storage::Error),
}

/// What an import did (this run, and in all for the events).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Imported {
    pub events: u64,
    pub duplicates: u64,
    /// Messages refused: (ID, why).
    pub refused: Vec<(String, String)>,
    pub thresholds: u64,
    pub thresholded: u64,
    /// Events stored by earlier runs of the same import.
    pub earlier: i64,
}

/// A Mentat database to import from.
pub struct Source {
    client: Client,
    /// Host, port and database: names the import (never the password).
    pub at: String,
    pub generation: Generation,
}

/// One batch as read: (ID, storage time, message).
type Rows = Vec<(String, NaiveDateTime, Vec<u8>)>;

/// What storing one batch did.
struct Done {
    last: (NaiveDateTime, String),
    stored: u64,
    duplicates: u64,
    refused: Vec<(String, String)>,
}

impl Source {
    pub async fn connect(url: &str) -> Result<Self, ImportError> {
        let config: tokio_postgres::Config =
            url.parse().map_err(|e| ImportError::Url(format!("not a PostgreSQL URL ({e})")))?;
        let host = match config.get_hosts().first() {
            Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
            Some(tokio_postgres::config::Host::Unix(p)) => p.display().to_string(),
            None => "localhost".into(),
        };
        let port = config.get_ports().first().copied().unwrap_or(5432);
        let at = format!("{host}:{port}/{}", config.get_dbname().unwrap_or("(default)"));
        let (client, conn) =
            config.connect(NoTls).await.map_err(|e| ImportError::Connect { at: at.clone(), reason: e.to_string() })?;
        tokio::spawn(conn);
        let generation = detect(&client, &at).await?;
        Ok(Self { client, at, generation })
    }

    fn read_error(&self) -> impl FnOnce(tokio_postgres::Error) -> ImportError + '_ {
        |e| ImportError::Read { at: self.at.clone(), reason: e.to_string() }
    }

    async fn has_table(&self, name: &str) -> Result<bool, ImportError> {
        let sql = "SELECT to_regclass($1) IS NOT NULL";
        Ok(self.client.query_one(sql, &[&name]).await.map_err(self.read_error())?.get(0))
    }
}

/// The generation of the database, from the columns of its event tables.
async fn detect(client: &Client, at: &str) -> Result<Generation, ImportError> {
    let sql = "SELECT table_name::text, column_name::text FROM information_schema.columns \
               WHERE table_schema = current_schema() AND table_name IN ('events', 'events_json') \
               ORDER BY table_name, ordinal_position";
    let rows = client.query(sql, &[]).await.map_err(|e| ImportError::Read { at: at.into(), reason: e.to_string() })?;
    let columns = |table: &str| -> Vec<String> {
        rows.iter().filter(|r| r.get::<_, String>(0) == table).map(|r| r.get(1)).collect()
    };
    let (events, json) = (columns("events"), columns("events_json"));
    let has = |cols: &[String], c: &str| cols.iter().any(|x| x == c);
    let generation = if has(&events, "cesnet_storagetime") {
        Some(Generation::V2)
    } else if has(&events, "storagetime") {
        Some(Generation::V3)
    } else {
        None
    };
    match generation {
        Some(g) if has(&events, "id") && has(&json, "id") && has(&json, "event") => Ok(g),
        _ => Err(ImportError::NotMentat {
            at: at.into(),
            what: format!(
                "expected a table events with id and storagetime (V3) or cesnet_storagetime (V2), and a table \
                 events_json with id and event; found events ({}) and events_json ({})",
                if events.is_empty() { "missing".into() } else { events.join(", ") },
                if json.is_empty() { "missing".into() } else { json.join(", ") },
            ),
        }),
    }
}

/// Imports every event after where the last run stopped, then the thresholding tables.
/// `progress` hears (events done, events in the source).
pub async fn import(
    store: &EventStore,
    src: &Source,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<Imported, ImportError> {
    let mut out = Imported::default();
    let mut cursor = store.import_cursor(&src.at).await?.unwrap_or(ImportCursor {
        storagetime: NaiveDate::from_ymd_opt(1, 1, 1).expect("a date").and_time(chrono::NaiveTime::MIN),
        id: String::new(),
        events: 0,
        refused: 0,
    });
    out.earlier = cursor.events;
    let total: i64 = src.client.query_one("SELECT count(*) FROM events", &[]).await.map_err(src.read_error())?.get(0);
    let st = src.generation.storagetime();
    let sql = format!(
        "SELECT e.id::text, e.{st}, j.event FROM events e JOIN events_json j ON j.id = e.id \
         WHERE (e.{st}, e.id) > ($1, $2) ORDER BY e.{st}, e.id LIMIT $3"
    );
    let stmt = src.client.prepare(&sql).await.map_err(src.read_error())?;
    let mut next = (cursor.storagetime, cursor.id.clone());
    let mut in_flight: VecDeque<JoinHandle<Result<Done, storage::Error>>> = VecDeque::new();
    let mut done_here = 0u64;
    loop {
        let rows =
            src.client.query(&stmt, &[&next.0, &next.1, &(BATCH_SIZE as i64)]).await.map_err(src.read_error())?;
        let batch: Rows = rows.iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect();
        let Some(last) = batch.last().map(|(id, t, _)| (*t, id.clone())) else { break };
        next = last;
        in_flight.push_back(tokio::spawn(store_batch(store.clone(), batch)));
        if in_flight.len() >= IN_FLIGHT {
            let done = in_flight.pop_front().expect("one in flight").await.map_err(join_error)??;
            done_here += advance(store, &src.at, &mut cursor, &mut out, done).await?;
            progress(cursor.events as u64 + cursor.refused as u64, total as u64);
        }
    }
    while let Some(handle) = in_flight.pop_front() {
        let done = handle.await.map_err(join_error)??;
        done_here += advance(store, &src.at, &mut cursor, &mut out, done).await?;
        progress(cursor.events as u64 + cursor.refused as u64, total as u64);
    }
    tracing::debug!(events = done_here, "import of events done");
    import_thresholds(store, src, &mut out).await?;
    Ok(out)
}

fn join_error(e: tokio::task::JoinError) -> storage::Error {
    storage::Error::Other(format!("an import writer failed: {e}"))
}

/// Records a stored batch: its counts, and the position after it.
async fn advance(
    store: &EventStore,
    source: &str,
    cursor: &mut ImportCursor,
    out: &mut Imported,
    done: Done,
) -> Result<u64, ImportError> {
    let n = done.stored + done.duplicates + done.refused.len() as u64;
    cursor.storagetime = done.last.0;
    cursor.id = done.last.1;
    cursor.events += (done.stored + done.duplicates) as i64;
    cursor.refused += done.refused.len() as i64;
    out.events += done.stored;
    out.duplicates += done.duplicates;
    out.refused.extend(done.refused);
    store.import_advance(source, cursor).await?;
    Ok(n)
}

/// Validates a batch as ingest does and stores it with Mentat's storage times.
async fn store_batch(store: EventStore, rows: Rows) -> Result<Done, storage::Error> {
    let last = rows.last().map(|(id, t, _)| (*t, id.clone())).expect("a batch is never empty");
    let mut refused = Vec::new();
    let mut events = Vec::with_capacity(rows.len());
    for (id, storagetime, raw) in rows {
        match idea::parse(&raw) {
            Ok(mut row) => {
                row.storagetime = Some(storagetime);
                events.push(NewEvent { row, raw });
            }
            Err(e) => refused.push((id, e.to_string())),
        }
    }
    let outcome = store.insert_batch(events).await?;
    refused.extend(outcome.refused);
    Ok(Done { last, stored: outcome.stored.len() as u64, duplicates: outcome.duplicates.len() as u64, refused })
}

/// Copies `thresholds` and `events_thresholded` (rows already here are kept).
async fn import_thresholds(store: &EventStore, src: &Source, out: &mut Imported) -> Result<(), ImportError> {
    let v3 = src.generation == Generation::V3;
    if src.has_table("thresholds").await? {
        let label = if v3 { "report_label::text" } else { "NULL::text" };
        let sql = format!("SELECT id::text, thresholdtime, relapsetime, ttltime, {label} FROM thresholds");
        let rows = src.client.query(sql.as_str(), &[]).await.map_err(src.read_error())?;
        let rows: Vec<ImportedThreshold> = rows
            .iter()
            .map(|r| ImportedThreshold {
                key: r.get(0),
                thresholdtime: r.get(1),
                relapsetime: r.get(2),
                ttltime: r.get(3),
                report_label: r.get(4),
            })
            .collect();
        for chunk in rows.chunks(BATCH_SIZE) {
            out.thresholds += store.thresholds_import(chunk).await?;
        }
    }
    if src.has_table("events_thresholded").await? {
        let flags = if v3 { "istarget, isshadow" } else { "false, false" };
        let sql = format!(
            "SELECT eventid::text, keyid::text, groupname::text, eventseverity::text, createtime, {flags} \
             FROM events_thresholded"
        );
        let rows = src.client.query(sql.as_str(), &[]).await.map_err(src.read_error())?;
        let rows: Vec<ImportedThresholded> = rows
            .iter()
            .map(|r| ImportedThresholded {
                eventid: r.get(0),
                keyid: r.get(1),
                groupname: r.get(2),
                eventseverity: r.get(3),
                createtime: r.get(4),
                istarget: r.get(5),
                isshadow: r.get(6),
            })
            .collect();
        for chunk in rows.chunks(BATCH_SIZE) {
            out.thresholded += store.thresholded_import(chunk).await?;
        }
    }
    Ok(())
}
