//! The reporter's thresholding cache (`thresholds`) and thresholded events, spec §9.

use chrono::NaiveDateTime;

use super::{with_client, EventStore, Result, StoredEvent};

/// One record of the thresholding cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThresholdRecord {
    pub key: String,
    pub thresholdtime: NaiveDateTime,
    pub relapsetime: NaiveDateTime,
    pub ttltime: NaiveDateTime,
}

/// A relapsed event and the threshold keys it was recorded under.
#[derive(Debug, Clone)]
pub struct RelapsedEvent {
    pub event: StoredEvent,
    pub keyids: Vec<String>,
}

impl EventStore {
    /// Inserts or replaces the cache record of `key`.
    pub async fn threshold_set(
        &self,
        key: &str,
        thresholdtime: NaiveDateTime,
        relapsetime: NaiveDateTime,
        ttl: NaiveDateTime,
    ) -> Result<()> {
        let sql = "INSERT INTO thresholds (id, thresholdtime, relapsetime, ttltime) VALUES ($1, $2, $3, $4) \
                   ON CONFLICT (id) DO UPDATE SET thresholdtime = EXCLUDED.thresholdtime, \
                   relapsetime = EXCLUDED.relapsetime, ttltime = EXCLUDED.ttltime";
        with_client!(self, |c| c.execute(sql, &[&key, &thresholdtime, &relapsetime, &ttl]))?;
        Ok(())
    }

    /// The record of `key` if its TTL is at or after `ttl`.
    pub async fn threshold_check(&self, key: &str, ttl: NaiveDateTime) -> Result<Option<ThresholdRecord>> {
        let sql = "SELECT id, thresholdtime, relapsetime, ttltime FROM thresholds WHERE id = $1 AND ttltime >= $2";
        let row = with_client!(self, |c| c.query_opt(sql, &[&key, &ttl]))?;
        Ok(row.map(|r| ThresholdRecord {
            key: r.get(0),
            thresholdtime: r.get(1),
            relapsetime: r.get(2),
            ttltime: r.get(3),
        }))
    }

    /// Records that `eventid` was thresholded under `keyid` for a group and severity.
    pub async fn threshold_save(
        &self,
        eventid: &str,
        keyid: &str,
        group: &str,
        severity: &str,
        createtime: NaiveDateTime,
    ) -> Result<()> {
        let sql = "INSERT INTO events_thresholded (eventid, keyid, groupname, eventseverity, createtime) \
                   VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING";
        with_client!(self, |c| c.execute(sql, &[&eventid, &keyid, &group, &severity, &createtime]))?;
        Ok(())
    }

    pub async fn thresholds_count(&self) -> Result<i64> {
        Ok(with_client!(self, |c| c.query_one("SELECT count(*) FROM thresholds", &[]))?.get(0))
    }

    /// Removes cache records whose TTL is before `ttl`; returns how many.
    pub async fn thresholds_clean(&self, ttl: NaiveDateTime) -> Result<u64> {
        with_client!(self, |c| c.execute("DELETE FROM thresholds WHERE ttltime < $1", &[&ttl]))
    }

    pub async fn thresholded_events_count(&self) -> Result<i64> {
        Ok(with_client!(self, |c| c.query_one("SELECT count(*) FROM events_thresholded", &[]))?.get(0))
    }

    /// Removes thresholded events without a live cache record, or recorded before its
    /// threshold window began; returns how many.
    pub async fn thresholded_events_clean(&self) -> Result<u64> {
        let sql = "DELETE FROM events_thresholded et WHERE NOT EXISTS \
                   (SELECT 1 FROM thresholds t WHERE t.id = et.keyid AND et.createtime >= t.thresholdtime)";
        with_client!(self, |c| c.execute(sql, &[]))
    }

    /// Events of `group` and `severity` thresholded during the relapse period of a cache
    /// record whose window has expired by `ttl`.
    pub async fn search_relapsed_events(
        &self,
        group: &str,
        severity: &str,
        ttl: NaiveDateTime,
    ) -> Result<Vec<RelapsedEvent>> {
        let sql = "SELECT e.id, e.detecttime, e.cesnet_storagetime, j.event, array_agg(et.keyid ORDER BY et.keyid) \
                   FROM events_thresholded et \
                   JOIN thresholds t ON t.id = et.keyid \
                   JOIN events e ON e.id = et.eventid \
                   JOIN events_json j ON j.id = e.id AND j.storagetime = e.cesnet_storagetime \
                   WHERE et.groupname = $1 AND et.eventseverity = $2 \
                     AND et.createtime >= t.relapsetime AND t.ttltime <= $3 \
                   GROUP BY e.id, e.detecttime, e.cesnet_storagetime, j.event ORDER BY e.id";
        let rows = with_client!(self, |c| c.query(sql, &[&group, &severity, &ttl]))?;
        let events = self.decode_stored(rows.iter().map(super::events::stored).collect()).await?;
        Ok(events.into_iter().zip(&rows).map(|(event, r)| RelapsedEvent { event, keyids: r.get(4) }).collect())
    }
}
