//! Filling `events` columns that were added after their rows were stored (migration 11 added
//! `node_sw`, the shadow-reporting flags and the hostnames), from the stored messages.
//!
//! A migration that adds such columns lists the weeks already stored in `refill_weeks`.
//! Each week is read in ID order, a batch at a time, and only rows whose new columns differ
//! from what a NULL or `false` says are updated (most events name no software or host and are
//! no shadow reports, so most rows are never rewritten). The last ID done is recorded with
//! each batch, so an interrupted `migrate` goes on where it stopped; redoing a batch is
//! harmless, since the values come from the messages alone.

use chrono::NaiveDateTime;

use super::bulk::{NewEvent, PreparedRow, BATCH_SIZE};
use super::events::StoredEvent;
use super::partitions::WIDTH;
use super::upgrade::Progress;
use super::{with_client, EventStore, Result};

/// What a refill did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Refilled {
    /// Events read.
    pub events: u64,
    /// Events whose message today's parser refuses: (ID, why). Their new columns keep their
    /// defaults.
    pub unreadable: Vec<(String, String)>,
}

impl EventStore {
    pub(crate) async fn refill_weeks(&self, progress: Progress<'_>) -> Result<Refilled> {
        let sql = "SELECT week, after FROM refill_weeks ORDER BY week";
        let weeks: Vec<(NaiveDateTime, String)> =
            with_client!(self, |c| c.query(sql, &[]))?.iter().map(|r| (r.get(0), r.get(1))).collect();
        let mut done = Refilled::default();
        for (i, (week, after)) in weeks.iter().enumerate() {
            progress(i as u64, weeks.len() as u64);
            self.refill_week(*week, after.clone(), &mut done).await?;
        }
        progress(weeks.len() as u64, weeks.len() as u64);
        Ok(done)
    }

    async fn refill_week(&self, week: NaiveDateTime, mut after: String, done: &mut Refilled) -> Result<()> {
        let end = week + WIDTH;
        loop {
            let sql = "SELECT id, storagetime, event FROM events_json \
                       WHERE storagetime >= $1 AND storagetime < $2 AND id > $3 ORDER BY id LIMIT $4";
            let rows = with_client!(self, |c| c.query(sql, &[&week, &end, &after, &(BATCH_SIZE as i64)]))?;
            let Some(last) = rows.last().map(|r| r.get::<_, String>(0)) else { break };
            let stored = rows
                .iter()
                .map(|r| StoredEvent { id: r.get(0), detecttime: r.get(1), storagetime: r.get(1), raw: r.get(2) })
                .collect();
            let mut changed = Vec::new();
            for e in self.decode_stored(stored).await? {
                done.events += 1;
                match crate::idea::parse(&e.raw) {
                    Ok(row) => changed.extend(new_columns(&e, row)),
                    Err(why) => done.unreadable.push((e.id, why.to_string())),
                }
            }
            let update =
                "UPDATE events e SET node_sw = u.sw, shadow_reporting = u.sr, shadow_reporting_target = u.srt, \
                            source_hostname = u.sh, target_hostname = u.th, source_domains = u.sd, target_domains = u.td \
                          FROM jsonb_to_recordset($1::jsonb) \
                            AS u(id text, st timestamp, sw text[], sr boolean, srt boolean, sh text[], th text[], sd text[], td text[]) \
                          WHERE e.cesnet_storagetime >= $2 AND e.cesnet_storagetime < $3 \
                            AND e.id = u.id COLLATE \"C\" AND e.cesnet_storagetime = u.st";
            let mark = "UPDATE refill_weeks SET after = $2 WHERE week = $1";
            let any = !changed.is_empty();
            let changed = serde_json::Value::Array(changed);
            with_client!(self, |c| async {
                let tx = c.transaction().await?;
                if any {
                    tx.execute(update, &[&changed, &week, &end]).await?;
                }
                tx.execute(mark, &[&week, &last]).await?;
                tx.commit().await
            })?;
            after = last;
        }
        with_client!(self, |c| c.execute("DELETE FROM refill_weeks WHERE week = $1", &[&week]))?;
        Ok(())
    }
}

/// The new columns of a row, derived as ingest derives them, as JSON for the update; None
/// when they are all NULL or false.
fn new_columns(e: &StoredEvent, row: crate::idea::EventRow) -> Option<serde_json::Value> {
    let (sr, srt) = (row.shadow_reporting, row.shadow_reporting_target);
    let r = PreparedRow::new(NewEvent { row, raw: Vec::new() }, e.storagetime);
    let ([sh, th], [sd, td]) = (r.hostnames, r.domains);
    if r.node_sw.is_none() && sh.is_none() && th.is_none() && !sr && !srt {
        return None;
    }
    Some(serde_json::json!({
        "id": e.id, "st": e.storagetime, "sw": r.node_sw, "sr": sr, "srt": srt, "sh": sh, "th": th, "sd": sd, "td": td,
    }))
}
