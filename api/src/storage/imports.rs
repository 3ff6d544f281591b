//! What an import from a Mentat database keeps here: how far it got (`mentat_imports`), and
//! the thresholding cache and thresholded events it brings along.

use chrono::NaiveDateTime;

use super::{with_client, EventStore, Result};

/// Where an import of one source stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportCursor {
    /// The storage time and ID of the last event done; the next starts after them.
    pub storagetime: NaiveDateTime,
    pub id: String,
    pub events: i64,
    pub refused: i64,
}

/// A row of Mentat's `thresholds` (V3 adds the report label).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedThreshold {
    pub key: String,
    pub thresholdtime: NaiveDateTime,
    pub relapsetime: NaiveDateTime,
    pub ttltime: NaiveDateTime,
    pub report_label: Option<String>,
}

/// A row of Mentat's `events_thresholded` (V3 adds the two flags).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedThresholded {
    pub eventid: String,
    pub keyid: String,
    pub groupname: String,
    pub eventseverity: String,
    pub createtime: NaiveDateTime,
    pub istarget: bool,
    pub isshadow: bool,
}

impl EventStore {
    /// How far the import of `source` got, if it ever started.
    pub async fn import_cursor(&self, source: &str) -> Result<Option<ImportCursor>> {
        let sql = "SELECT storagetime, id, events, refused FROM mentat_imports WHERE source = $1";
        let row = with_client!(self, |c| c.query_opt(sql, &[&source]))?;
        Ok(row.map(|r| ImportCursor { storagetime: r.get(0), id: r.get(1), events: r.get(2), refused: r.get(3) }))
    }

    /// Records that the import of `source` is done up to `cursor`.
    pub async fn import_advance(&self, source: &str, cursor: &ImportCursor) -> Result<()> {
        let sql = "INSERT INTO mentat_imports (source, storagetime, id, events, refused) VALUES ($1, $2, $3, $4, $5) \
                   ON CONFLICT (source) DO UPDATE SET storagetime = EXCLUDED.storagetime, id = EXCLUDED.id, \
                   events = EXCLUDED.events, refused = EXCLUDED.refused, updated = $6";
        // The time is a value, not now(): Citus takes only immutable functions in DO UPDATE.
        let (c, now) = (cursor, chrono::Utc::now().naive_utc());
        with_client!(self, |cl| cl.execute(sql, &[&source, &c.storagetime, &c.id, &c.events, &c.refused, &now]))?;
        Ok(())
    }

    /// Stores cache records not stored yet; returns how many were new.
    pub async fn thresholds_import(&self, rows: &[ImportedThreshold]) -> Result<u64> {
        let col = |f: fn(&ImportedThreshold) -> NaiveDateTime| rows.iter().map(f).collect::<Vec<_>>();
        let keys: Vec<&str> = rows.iter().map(|r| r.key.as_str()).collect();
        let labels: Vec<Option<&str>> = rows.iter().map(|r| r.report_label.as_deref()).collect();
        let (t, r, l) = (col(|x| x.thresholdtime), col(|x| x.relapsetime), col(|x| x.ttltime));
        let sql = "INSERT INTO thresholds (id, thresholdtime, relapsetime, ttltime, report_label) \
                   SELECT * FROM unnest($1::text[], $2::timestamp[], $3::timestamp[], $4::timestamp[], $5::text[]) \
                   ON CONFLICT (id) DO NOTHING";
        with_client!(self, |c| c.execute(sql, &[&keys, &t, &r, &l, &labels]))
    }

    /// Stores thresholded events not stored yet; returns how many were new.
    pub async fn thresholded_import(&self, rows: &[ImportedThresholded]) -> Result<u64> {
        let text = |f: fn(&ImportedThresholded) -> &str| rows.iter().map(f).collect::<Vec<_>>();
        let flag = |f: fn(&ImportedThresholded) -> bool| rows.iter().map(f).collect::<Vec<_>>();
        let (e, k, g, s) = (
            text(|x| x.eventid.as_str()),
            text(|x| x.keyid.as_str()),
            text(|x| x.groupname.as_str()),
            text(|x| x.eventseverity.as_str()),
        );
        let created: Vec<NaiveDateTime> = rows.iter().map(|x| x.createtime).collect();
        let (target, shadow) = (flag(|x| x.istarget), flag(|x| x.isshadow));
        let sql = "INSERT INTO events_thresholded (eventid, keyid, groupname, eventseverity, createtime, istarget, isshadow) \
                   SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamp[], \
                   $6::boolean[], $7::boolean[]) ON CONFLICT DO NOTHING";
        with_client!(self, |c| c.execute(sql, &[&e, &k, &g, &s, &created, &target, &shadow]))
    }
}
