//! The one way messages are stored, whatever feeds them (`ideadb ingest`, `POST /api/events`,
//! the spool feed): validated messages are gathered into batches, several batches are written
//! at once, and every message, valid or not, gets exactly one [`Outcome`], in the order the
//! messages came.

use std::collections::{HashMap, HashSet};

use futures_util::{Stream, StreamExt};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use crate::storage::{self, EventStore, NewEvent};

/// A message as a feed hands it over: a tag saying where it came from, and the message or
/// why it is not a valid one.
pub type Message<T> = (T, Result<NewEvent, String>);

/// What became of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Stored now.
    Stored,
    /// A message with its ID was stored before (or earlier in the same input); left as it was.
    Duplicate,
    /// Not stored, and why: invalid, or refused by the database.
    Refused(String),
}

/// Counts of outcomes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    pub stored: u64,
    pub duplicates: u64,
    pub rejected: u64,
}

impl Summary {
    pub fn count(&mut self, outcome: &Outcome) {
        match outcome {
            Outcome::Stored => self.stored += 1,
            Outcome::Duplicate => self.duplicates += 1,
            Outcome::Refused(_) => self.rejected += 1,
        }
    }
}

/// The hand-over from a thread that reads messages (blocking) to [`store`]. Messages cross a
/// batch at a time: a wake-up of the storing task per message cost about 6% of the ingest rate.
pub struct Feed<T> {
    tx: mpsc::Sender<Vec<Message<T>>>,
    batch: Vec<Message<T>>,
    size: usize,
}

/// A feed handing over `size` messages at a time, and the stream [`store`] takes them from.
pub fn feed<T: Send + 'static>(size: usize) -> (Feed<T>, impl Stream<Item = Message<T>>) {
    let size = size.max(1);
    let (tx, rx) = mpsc::channel(2);
    (Feed { tx, batch: Vec::with_capacity(size), size }, ReceiverStream::new(rx).flat_map(futures_util::stream::iter))
}

impl<T> Feed<T> {
    /// Hands a message over; false once nobody takes them any more (the store failed).
    pub fn push(&mut self, message: Message<T>) -> bool {
        self.batch.push(message);
        self.batch.len() < self.size || self.send()
    }

    /// Hands over what is left; the stream ends when the feed is gone.
    pub fn finish(mut self) {
        self.send();
    }

    fn send(&mut self) -> bool {
        let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(self.size));
        batch.is_empty() || self.tx.blocking_send(batch).is_ok()
    }
}

/// Stores `messages` `batch_size` at a time with `writers` batches in flight, and hands each
/// message's tag and outcome to `on_outcome` in the order the messages came. Fails only when
/// the database does; the outcomes of the batches before the failing one were handed over
/// (and those batches committed). Dropping the stream when it returns is what tells a feed
/// on the other end of a channel to stop.
pub async fn store<T: Send + 'static>(
    store: &EventStore,
    messages: impl Stream<Item = Message<T>>,
    batch_size: usize,
    writers: usize,
    mut on_outcome: impl FnMut(T, Outcome),
) -> storage::Result<()> {
    let written = messages
        .chunks(batch_size.max(1))
        // Each batch on a task of its own, so that turning rows into COPY data runs in parallel.
        .map(|batch| tokio::spawn(write(store.clone(), batch)))
        .buffered(writers.max(1));
    futures_util::pin_mut!(written);
    while let Some(done) = written.next().await {
        let done = done.map_err(|e| storage::Error::Other(format!("a batch writer failed: {e}")))??;
        for (tag, outcome) in done {
            on_outcome(tag, outcome);
        }
    }
    Ok(())
}

/// Stores the valid messages of one batch in one transaction (see `storage::bulk`), and says
/// what became of each message, in order.
async fn write<T>(store: EventStore, batch: Vec<Message<T>>) -> storage::Result<Vec<(T, Outcome)>> {
    let (tags, items): (Vec<T>, Vec<_>) = batch.into_iter().unzip();
    let mut ids = Vec::with_capacity(items.len());
    let mut events = Vec::with_capacity(items.len());
    for item in items {
        ids.push(item.as_ref().map(|e| e.row.id.clone()).map_err(Clone::clone));
        if let Ok(event) = item {
            events.push(event);
        }
    }
    let done = if events.is_empty() { Default::default() } else { store.insert_batch(events).await? };
    let stored: HashSet<String> = done.stored.into_iter().collect();
    let mut refused: HashMap<String, String> = done.refused.into_iter().collect();
    // The database's word is about an ID; within the batch it belongs to the ID's first
    // message, the one `insert_batch` tried. Later ones repeat it.
    let mut told = HashSet::new();
    let outcomes = ids.into_iter().map(|id| match id {
        Err(reason) => Outcome::Refused(reason),
        Ok(id) if !told.insert(id.clone()) => Outcome::Duplicate,
        Ok(id) => match refused.remove(&id) {
            Some(reason) => Outcome::Refused(reason),
            None if stored.contains(&id) => Outcome::Stored,
            None => Outcome::Duplicate,
        },
    });
    Ok(tags.into_iter().zip(outcomes).collect())
}
