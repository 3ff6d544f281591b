//! Bulk ingest: read → validate → batch → parallel binary COPY.
//!
//! A reader thread parses and validates every message (the database never sees an invalid
//! one) and hands batches to writer tasks over a bounded channel, so memory stays flat
//! whatever the input size. Each batch is one transaction (see `storage::bulk`): a rejected
//! or duplicate message never costs its neighbours, a re-run stores nothing twice, and an
//! ingest killed half-way and re-run ends with every message stored exactly once.

pub mod reader;
pub mod spool;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use indicatif::ProgressBar;
use tokio::sync::{mpsc, Mutex};

use crate::idea;
use crate::storage::{self, EventStore, NewEvent};
pub use reader::{Input, Origin};

/// A message that was not stored, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub origin: Origin,
    pub reason: String,
}

/// Totals of one ingest run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub stored: u64,
    pub duplicates: u64,
    pub rejected: u64,
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

#[derive(Default)]
struct Counters {
    stored: AtomicU64,
    duplicates: AtomicU64,
    refused: AtomicU64,
}

/// Ingests every message of `inputs`; `on_reject` hears of each rejected one as it happens.
/// Fails only when the database does (then every batch committed so far stays stored).
pub async fn run(
    store: &EventStore,
    inputs: Vec<Input>,
    opts: &Options,
    progress: ProgressBar,
    on_reject: impl FnMut(Rejection) + Send + 'static,
) -> storage::Result<Summary> {
    // Heard by the reader (invalid messages) and by the writers (messages PostgreSQL refused).
    let on_reject = Arc::new(std::sync::Mutex::new(on_reject));
    let reader_reject = on_reject.clone();
    let (tx, rx) = mpsc::channel::<Vec<NewEvent>>(opts.writers * 2);
    let batch_size = opts.batch_size.max(1);
    let bar = progress.clone();
    let keep_storage_time = opts.keep_storage_time;
    // Set when the writers fail: the reader then stops instead of parsing the rest.
    let stop = Arc::new(AtomicBool::new(false));
    let reader_stop = stop.clone();
    let reader = tokio::task::spawn_blocking(move || {
        let mut rejected = 0u64;
        let mut batch = Vec::with_capacity(batch_size);
        reader::read_all(&inputs, &reader_stop, &mut |(origin, item)| {
            if reader_stop.load(Ordering::Relaxed) {
                return;
            }
            match item.and_then(|raw| accept(raw, keep_storage_time).map_err(|(_, e)| e.to_string())) {
                Ok(ev) => batch.push(ev),
                Err(reason) => {
                    rejected += 1;
                    bar.suspend(|| (reader_reject.lock().expect("not poisoned"))(Rejection { origin, reason }));
                }
            }
            if batch.len() >= batch_size
                && tx.blocking_send(std::mem::replace(&mut batch, Vec::with_capacity(batch_size))).is_err()
            {
                reader_stop.store(true, Ordering::Relaxed);
            }
        });
        if !batch.is_empty() && !reader_stop.load(Ordering::Relaxed) {
            let _ = tx.blocking_send(batch);
        }
        rejected
    });

    let counters = Arc::new(Counters::default());
    let rx = Arc::new(Mutex::new(rx));
    let mut writers = tokio::task::JoinSet::new();
    for _ in 0..opts.writers.max(1) {
        let (store, rx, counters, bar) = (store.clone(), rx.clone(), counters.clone(), progress.clone());
        let on_reject = on_reject.clone();
        writers.spawn(async move {
            loop {
                let Some(batch) = rx.lock().await.recv().await else {
                    return Ok(());
                };
                let n = batch.len() as u64;
                let out = store.insert_batch(batch).await?;
                counters.stored.fetch_add(out.stored.len() as u64, Ordering::Relaxed);
                counters.duplicates.fetch_add(out.duplicates.len() as u64, Ordering::Relaxed);
                counters.refused.fetch_add(out.refused.len() as u64, Ordering::Relaxed);
                for (id, reason) in out.refused {
                    let origin = Origin { file: format!("event {id}"), at: reader::Locator::File };
                    bar.suspend(|| (on_reject.lock().expect("not poisoned"))(Rejection { origin, reason }));
                }
                bar.inc(n);
            }
        });
    }
    let mut failure = None;
    while let Some(res) = writers.join_next().await {
        // A writer that failed or panicked stops the reader, which would otherwise wait on a
        // channel nobody reads.
        let e = match res {
            Ok(Ok(())) => continue,
            Ok(Err(e)) => e,
            Err(panic) => storage::Error::Other(format!("a writer failed: {panic}")),
        };
        stop.store(true, Ordering::Relaxed);
        rx.lock().await.close();
        failure.get_or_insert(e);
    }
    let rejected = reader.await.unwrap_or(0);
    if let Some(e) = failure {
        return Err(e);
    }
    Ok(Summary {
        stored: counters.stored.load(Ordering::Relaxed),
        duplicates: counters.duplicates.load(Ordering::Relaxed),
        rejected: rejected + counters.refused.load(Ordering::Relaxed),
    })
}
