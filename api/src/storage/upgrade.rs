//! Moving the events of the previous layout (schema version 9: unpartitioned `events` and
//! `events_json`, renamed `*_v9` by migration 10) into the partitioned tables.
//!
//! Each batch is rebuilt from its stored messages by the ingest path itself (parse, derive
//! the rows, compress, COPY), keeping each event's storage time, and removed from the old
//! tables in the same transaction: an interrupted move loses nothing, stores nothing twice,
//! and goes on where it stopped when `migrate` runs again. A message today's parser refuses
//! stays in the old tables, reported by ID, rather than being stored half-understood.

use super::bulk::{copy_rows, NewEvent, PreparedRow, BATCH_SIZE};
use super::events::stored;
use super::{with_client, Error, EventStore, Flavour, Result};

/// What a move did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Moved {
    pub events: u64,
    /// Events left in the old tables: (ID, why).
    pub left: Vec<(String, String)>,
    /// Columns added since the events were stored, filled from their messages.
    pub refill: super::refill::Refilled,
}

/// Reports progress: (events moved so far, events to move in all).
pub type Progress<'a> = &'a (dyn Fn(u64, u64) + Send + Sync);

impl EventStore {
    pub(crate) async fn move_previous_layout(&self, progress: Progress<'_>) -> Result<Moved> {
        let exists = "SELECT to_regclass('events_v9') IS NOT NULL";
        if !with_client!(self, |c| c.query_one(exists, &[]))?.get::<_, bool>(0) {
            return Ok(Moved::default());
        }
        let total: i64 = with_client!(self, |c| c.query_one("SELECT count(*) FROM events_v9", &[]))?.get(0);
        let total = total as u64;
        let mut moved = Moved::default();
        let mut last = String::new();
        progress(0, total);
        loop {
            let sql = "SELECT e.id, e.detecttime, e.cesnet_storagetime, j.event FROM events_v9 e \
                       JOIN events_json_v9 j USING (id) WHERE e.id > $1 ORDER BY e.id LIMIT $2";
            let rows = with_client!(self, |c| c.query(sql, &[&last, &(BATCH_SIZE as i64)]))?;
            let Some(end) = rows.last().map(|r| r.get::<_, String>(0)) else { break };
            last = end;
            let old = self.decode_stored(rows.iter().map(stored).collect()).await?;
            let mut batch = Vec::with_capacity(old.len());
            for e in old {
                match crate::idea::parse(&e.raw) {
                    Ok(mut row) => {
                        row.storagetime = Some(e.storagetime);
                        batch.push(PreparedRow::new(NewEvent { row, raw: e.raw }, e.storagetime));
                    }
                    Err(why) => moved.left.push((e.id, why.to_string())),
                }
            }
            moved.events += self.move_batch(batch).await?;
            progress(moved.events + moved.left.len() as u64, total);
        }
        let left: i64 = with_client!(self, |c| c.query_one("SELECT count(*) FROM events_v9", &[]))?.get(0);
        if left == 0 {
            with_client!(self, |c| c.batch_execute("DROP TABLE events_v9, events_json_v9"))?;
        } else {
            tracing::warn!(left, "events of the previous layout could not be moved; they stay in events_v9");
        }
        Ok(moved)
    }

    /// Stores one batch in the new tables and removes it from the old, in one transaction.
    async fn move_batch(&self, mut rows: Vec<PreparedRow>) -> Result<u64> {
        let failed = self.ensure_weeks(rows.iter().map(PreparedRow::storagetime)).await?;
        if let Some(reason) = failed.into_values().next() {
            return Err(Error::Setup(reason));
        }
        self.compress_messages(&mut rows).await?;
        let types = self.ip_types().await?;
        let ids: Vec<&str> = rows.iter().map(|r| r.event.row.id.as_str()).collect();
        let (fresh, ahead) = with_client!(self, |c| async {
            let tx = c.transaction().await?;
            // The move runs before `migrate` distributes anything: these tables are local.
            let copied = copy_rows(self, &tx, &rows, &types, Flavour::Single, true).await?;
            tx.execute("DELETE FROM events_json_v9 WHERE id = ANY($1)", &[&ids]).await?;
            tx.execute("DELETE FROM events_v9 WHERE id = ANY($1)", &[&ids]).await?;
            tx.commit().await.map(|()| (copied.fresh.len(), copied.ahead))
        })?;
        self.recorded_ahead(&ahead);
        tracing::debug!(fresh, moved = rows.len(), "moved a batch of the previous layout");
        Ok(rows.len() as u64)
    }
}
