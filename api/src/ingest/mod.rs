//! Bulk ingest: read → validate → batch → parallel binary COPY.
//!
//! A reader thread parses and validates every message (the database never sees an invalid
//! one) and hands them over a bounded channel to [`batches::store`], so memory stays flat
//! whatever the input size. Each batch is one transaction (see `storage::bulk`): a rejected
//! or duplicate message never costs its neighbours, a re-run stores nothing twice, and an
//! ingest killed half-way and re-run ends with every message stored exactly once.

pub mod batches;
pub mod reader;
pub mod spool;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use indicatif::ProgressBar;

use crate::idea;
use crate::storage::{self, EventStore, NewEvent};
pub use batches::{Message, Outcome, Summary};
pub use reader::{Input, Origin};

/// A message that was not stored, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub origin: Origin,
    pub reason: String,
}

/// Tuning of an ingest run.
#[derive(Debug, Clone)]
pub struct Options {
    pub batch_size: usize,
    /// Parallel database writers (one connection each).
    pub writers: usize,
    /// Keep the storage time a message carries (`_Mentat`/`_CESNET.StorageTime`), for
    /// imports; otherwise it is stored at the time of ingest. See [`stamp`].
    pub keep_storage_time: bool,
}

pub use crate::storage::BATCH_SIZE;

impl Default for Options {
    fn default() -> Self {
        Self { batch_size: BATCH_SIZE, writers: 2, keep_storage_time: false }
    }
}

/// A message as every feed takes it: validated, with the storage-time rule applied. The
/// storage time decides retention, statistics windows and sort order, so it is this server's,
/// not the sender's, unless an import asks to keep it; the bytes stored are the message as
/// received either way. A refused message's bytes come back with the reason.
pub fn accept(raw: Vec<u8>, keep_storage_time: bool) -> Result<NewEvent, (Vec<u8>, idea::IdeaError)> {
    match idea::parse(&raw) {
        Ok(mut row) => {
            if !keep_storage_time {
                row.storagetime = None;
            }
            Ok(NewEvent { row, raw })
        }
        Err(e) => Err((raw, e)),
    }
}

/// Ingests every message of `inputs`; `on_reject` hears of each rejected one as it happens.
/// Fails only when the database does (then every batch committed so far stays stored).
pub async fn run(
    store: &EventStore,
    inputs: Vec<Input>,
    opts: &Options,
    progress: ProgressBar,
    mut on_reject: impl FnMut(Rejection),
) -> storage::Result<Summary> {
    let batch_size = opts.batch_size.max(1);
    let (mut feed, messages) = batches::feed(batch_size);
    let keep_storage_time = opts.keep_storage_time;
    // Set once the messages are no longer taken (the database failed): the reader stops.
    let stop = Arc::new(AtomicBool::new(false));
    let reader_stop = stop.clone();
    let reader = tokio::task::spawn_blocking(move || {
        reader::read_all(&inputs, &reader_stop, &mut |(origin, item)| {
            let item = item.and_then(|raw| accept(raw, keep_storage_time).map_err(|(_, e)| e.to_string()));
            if !feed.push((origin, item)) {
                reader_stop.store(true, Ordering::Relaxed);
            }
        });
        feed.finish();
    });
    let mut summary = Summary::default();
    let stored = batches::store(store, messages, batch_size, opts.writers, |origin, outcome| {
        summary.count(&outcome);
        progress.inc(1);
        if let Outcome::Refused(reason) = outcome {
            progress.suspend(|| on_reject(Rejection { origin, reason }));
        }
    })
    .await;
    stop.store(true, Ordering::Relaxed);
    let _ = reader.await;
    stored.map(|()| summary)
}
