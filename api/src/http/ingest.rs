//! `POST /api/events`: store IDEA messages sent as NDJSON or a JSON array, with the CLI's
//! validation and guarantees (a bad message costs only itself; a message already stored is
//! reported as a duplicate and left as it was). Needs the role maintainer or admin.

use std::collections::{HashMap, HashSet};

use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use poem::http::header::CONTENT_LENGTH;
use poem::web::Data;
use poem::{Body, Request};
use poem_openapi::payload::{Binary, Json};
use poem_openapi::{ApiRequest, ApiResponse, Enum, Object, OpenApi};
use tokio::sync::mpsc;

use super::auth::Auth;
use super::error::{Answer, ApiError};
use super::ApiTags;
use crate::auth::Role;
use crate::ingest::reader::{read_bytes, Locator};
use crate::storage::{EventStore, NewEvent};

#[derive(Default)]
pub struct IngestApi;

/// The largest body `POST /api/events` reads.
#[derive(Debug, Clone, Copy)]
pub struct IngestLimit(pub usize);

/// The most messages one request may hold: more is a 413, so neither the work nor the reply
/// of one request can grow without bound.
const MAX_MESSAGES: usize = 100_000;
/// Messages stored per transaction. Smaller than the CLI's batches: a request holds its body,
/// so the batch is what must stay small (with 500, a 60 MB body costs the server about 80 MB
/// at its peak; with 2,000, about 90 MB).
const BATCH: usize = 500;
/// The most results the reply lists (the first ones, in the order sent); the counts cover all.
const MAX_RESULTS: usize = 1000;

/// IDEA messages.
#[derive(ApiRequest)]
enum Messages {
    /// One message per line.
    #[oai(content_type = "application/x-ndjson")]
    Ndjson(Binary<Body>),
    /// A JSON array of messages (or one message).
    #[oai(content_type = "application/json")]
    Json(Binary<Body>),
}

/// What became of a message.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "lowercase")]
enum Outcome {
    /// Stored now.
    Stored,
    /// A message with this ID was stored before; it was left as it was.
    Duplicate,
    /// Not stored: `reason` says why.
    Rejected,
}

/// What became of one message.
#[derive(Object)]
#[oai(example)]
struct MessageResult {
    /// Where in the body: `line N` (NDJSON, 1-based) or `[N]` (array, 0-based).
    at: String,
    /// The message's ID, when it could be read.
    #[oai(skip_serializing_if_is_none)]
    id: Option<String>,
    status: Outcome,
    #[oai(skip_serializing_if_is_none)]
    reason: Option<String>,
}

/// What became of the messages sent: counts of all, and each of the first 1,000 in the
/// order sent.
#[derive(Object)]
#[oai(example)]
struct IngestResult {
    stored: u64,
    duplicates: u64,
    rejected: u64,
    results: Vec<MessageResult>,
    /// True when there were more messages than `results` lists.
    truncated: bool,
}

#[derive(ApiResponse)]
enum IngestResponse {
    /// Every message was stored or was stored before.
    #[oai(status = 200)]
    Ok(Json<IngestResult>),
    /// Some messages were rejected (each says why); the others were stored.
    #[oai(status = 422)]
    SomeRejected(Json<IngestResult>),
}

fn place(at: Locator) -> String {
    match at {
        Locator::Line(n) => format!("line {n}"),
        Locator::Index(n) => format!("[{n}]"),
        Locator::Document(n) => format!("document {n}"),
        Locator::File => "body".into(),
    }
}

/// A message of the body: its place, and the event or (its ID if readable, why it was rejected).
/// The event is boxed: a parsed row is several hundred bytes, and a queue of rejected lines
/// would otherwise cost that much per line.
type Parsed = (String, Result<Box<NewEvent>, (Option<String>, String)>);

/// How many messages the body holds, counted without keeping any.
fn count(body: &[u8]) -> usize {
    let mut n = 0;
    read_bytes("body", body, &mut |_| n += 1);
    n
}

/// Parses the body's messages one by one into `tx`, as fast as the writer takes them; stops
/// when the writer is gone.
fn parse_into(body: &[u8], tx: &mpsc::Sender<Parsed>) {
    let mut gone = false;
    read_bytes("body", body, &mut |(origin, item)| {
        if gone {
            return;
        }
        let parsed = item.map_err(|e| (None, e)).and_then(|raw| match crate::ingest::accept(raw, false) {
            Ok(event) => Ok(Box::new(event)),
            Err((raw, e)) => {
                let id = serde_json::from_slice::<serde_json::Value>(&raw)
                    .ok()
                    .and_then(|v| v.get("ID").and_then(|i| i.as_str()).map(String::from));
                Err((id, e.to_string()))
            }
        });
        gone = tx.blocking_send((place(origin.at), parsed)).is_err();
    });
}

/// The body in one buffer sized from its declared length: a buffer grown by doubling would
/// briefly hold a large body about three times. Over `limit` is a 413, unread when the
/// declared length says so.
async fn read_body(body: Body, declared: Option<usize>, limit: usize) -> Result<Bytes, ApiError> {
    let too_large =
        || ApiError::TooLarge(format!("the body is larger than {limit} bytes; send fewer messages at a time"));
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let mut buf = BytesMut::with_capacity(declared.unwrap_or(0));
    let mut chunks = body.into_bytes_stream();
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(|e| ApiError::BadRequest(format!("the body cannot be read: {e}")))?;
        if buf.len() + chunk.len() > limit {
            return Err(too_large());
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

#[OpenApi(prefix_path = "/api", tag = "ApiTags::Events")]
impl IngestApi {
    /// Store events
    ///
    /// IDEA messages as NDJSON or a JSON array. Each is validated as `ideadb ingest` does
    /// and stored with this server's time as its storage time (a StorageTime it carries is
    /// kept in the message but not used); the answer says what became of each, in the order sent. Needs the role maintainer or
    /// admin. Bodies above the server's limit are refused with 413.
    #[oai(path = "/events", method = "post")]
    async fn ingest(
        &self,
        store: Data<&EventStore>,
        limit: Data<&IngestLimit>,
        caller: Auth,
        req: &Request,
        messages: Messages,
    ) -> Answer<IngestResponse> {
        caller.require(&[Role::Maintainer, Role::Admin])?;
        let (Messages::Ndjson(Binary(body)) | Messages::Json(Binary(body))) = messages;
        let declared = req.header(CONTENT_LENGTH).and_then(|v| v.parse().ok());
        let bytes = read_body(body, declared, limit.0 .0).await?;
        // The cap is checked before anything is stored, so an over-full body changes nothing.
        let (n, bytes) =
            tokio::task::spawn_blocking(move || (count(&bytes), bytes)).await.map_err(|_| ApiError::Internal)?;
        if n > MAX_MESSAGES {
            let msg = format!("a request may hold {MAX_MESSAGES} messages at most; send fewer at a time");
            return Err(ApiError::TooLarge(msg).into());
        }
        if n == 0 {
            return Err(ApiError::BadRequest("the body holds no messages".into()).into());
        }
        // Parsed and stored a batch at a time, so memory holds the body and about one batch.
        let (tx, rx) = mpsc::channel(BATCH / 2);
        let parser = tokio::task::spawn_blocking(move || parse_into(&bytes, &tx));
        let result = store_all(&store, rx).await?;
        // A parser that failed ended the channel early: the reply would miss messages.
        parser.await.map_err(|_| ApiError::Internal)?;
        tracing::info!(target: "audit", login = ?caller.login, stored = result.stored, duplicates = result.duplicates,
                       rejected = result.rejected, "events ingested");
        Ok(if result.rejected > 0 {
            IngestResponse::SomeRejected(Json(result))
        } else {
            IngestResponse::Ok(Json(result))
        })
    }
}

/// Stores the messages a batch at a time and says what became of each; the first
/// [`MAX_RESULTS`] are listed, all are counted.
async fn store_all(store: &EventStore, mut rx: mpsc::Receiver<Parsed>) -> Result<IngestResult, ApiError> {
    let mut out = IngestResult { stored: 0, duplicates: 0, rejected: 0, results: Vec::new(), truncated: false };
    // Where in `results` each message of the batch is listed, if it is.
    let mut batch: Vec<(Option<usize>, NewEvent)> = Vec::new();
    let mut seen = HashSet::new();
    while let Some((at, item)) = rx.recv().await {
        let (id, status, reason, event) = match item {
            Ok(ev) if !seen.insert(ev.row.id.clone()) => (Some(ev.row.id.clone()), Outcome::Duplicate, None, None),
            // Listed as stored until its batch says otherwise.
            Ok(ev) => (Some(ev.row.id.clone()), Outcome::Stored, None, Some(*ev)),
            Err((id, reason)) => (id, Outcome::Rejected, Some(reason), None),
        };
        let slot = (out.results.len() < MAX_RESULTS).then_some(out.results.len());
        if slot.is_some() {
            out.results.push(MessageResult { at, id, status, reason });
        } else {
            out.truncated = true;
        }
        match event {
            Some(ev) => batch.push((slot, ev)),
            None => out.count(status),
        }
        if batch.len() >= BATCH {
            write(store, &mut batch, &mut out).await?;
        }
    }
    write(store, &mut batch, &mut out).await?;
    Ok(out)
}

/// Stores a batch, and counts and lists what became of each of its messages.
async fn write(
    store: &EventStore,
    batch: &mut Vec<(Option<usize>, NewEvent)>,
    out: &mut IngestResult,
) -> Result<(), ApiError> {
    if batch.is_empty() {
        return Ok(());
    }
    let (slots, events): (Vec<_>, Vec<_>) = batch.drain(..).unzip();
    let ids: Vec<String> = events.iter().map(|e| e.row.id.clone()).collect();
    let done = store.insert_batch(events).await?;
    let stored: HashSet<String> = done.stored.into_iter().collect();
    let mut refused: HashMap<String, String> = done.refused.into_iter().collect();
    for (slot, id) in slots.into_iter().zip(ids) {
        let (status, reason) = match refused.remove(&id) {
            Some(reason) => (Outcome::Rejected, Some(reason)),
            None if stored.contains(&id) => (Outcome::Stored, None),
            None => (Outcome::Duplicate, None),
        };
        out.count(status);
        if let Some(r) = slot.map(|i| &mut out.results[i]) {
            (r.status, r.reason) = (status, reason);
        }
    }
    Ok(())
}

impl IngestResult {
    fn count(&mut self, status: Outcome) {
        match status {
            Outcome::Stored => self.stored += 1,
            Outcome::Duplicate => self.duplicates += 1,
            Outcome::Rejected => self.rejected += 1,
        }
    }
}

impl poem_openapi::types::Example for MessageResult {
    fn example() -> Self {
        MessageResult {
            at: "line 3".into(),
            id: Some("7d5b7e4a-5c36-4d3e-9b4f-2f0c1a3e8d10".into()),
            status: Outcome::Rejected,
            reason: Some("DetectTime is missing".into()),
        }
    }
}

impl poem_openapi::types::Example for IngestResult {
    fn example() -> Self {
        let ok = |n: u32, status| MessageResult {
            at: format!("line {n}"),
            id: Some(format!("id-{n}")),
            status,
            reason: None,
        };
        IngestResult {
            stored: 1,
            duplicates: 1,
            rejected: 1,
            truncated: false,
            results: vec![
                ok(1, Outcome::Stored),
                ok(2, Outcome::Duplicate),
                <MessageResult as poem_openapi::types::Example>::example(),
            ],
        }
    }
}
