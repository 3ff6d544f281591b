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

use super::auth::Auth;
use super::error::{Answer, ApiError};
use super::ApiTags;
use crate::auth::Role;
use crate::idea;
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
/// The event is boxed: a parsed row is several hundred bytes, and a body of rejected lines
/// would otherwise cost that much per line.
type Parsed = (String, Result<Box<NewEvent>, (Option<String>, String)>);

/// Each message of the body, parsed; None when there are more than [`MAX_MESSAGES`] (the
/// rest is read through but not kept).
fn parse_all(body: &[u8]) -> Option<Vec<Parsed>> {
    let mut out = Vec::new();
    let mut over = false;
    read_bytes("body", body, &mut |(origin, item)| {
        if out.len() >= MAX_MESSAGES {
            over = true;
            return;
        }
        let parsed = item.map_err(|e| (None, e)).and_then(|raw| match idea::parse(&raw) {
            Ok(row) => {
                let mut event = NewEvent { row, raw };
                crate::ingest::stamp(&mut event, false);
                Ok(Box::new(event))
            }
            Err(e) => {
                let id = serde_json::from_slice::<serde_json::Value>(&raw)
                    .ok()
                    .and_then(|v| v.get("ID").and_then(|i| i.as_str()).map(String::from));
                Err((id, e.to_string()))
            }
        });
        out.push((place(origin.at), parsed));
    });
    (!over).then_some(out)
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
        let parsed = tokio::task::spawn_blocking(move || parse_all(&bytes))
            .await
            .map_err(|_| ApiError::Internal)?
            .ok_or_else(|| {
                ApiError::TooLarge(format!("a request may hold {MAX_MESSAGES} messages at most; send fewer at a time"))
            })?;
        if parsed.is_empty() {
            return Err(ApiError::BadRequest("the body holds no messages".into()).into());
        }
        let result = store_all(&store, parsed).await?;
        tracing::info!(target: "audit", login = ?caller.login, stored = result.stored, duplicates = result.duplicates,
                       rejected = result.rejected, "events ingested");
        Ok(if result.rejected > 0 {
            IngestResponse::SomeRejected(Json(result))
        } else {
            IngestResponse::Ok(Json(result))
        })
    }
}

async fn store_all(store: &EventStore, parsed: Vec<Parsed>) -> Result<IngestResult, ApiError> {
    let mut results = Vec::with_capacity(parsed.len());
    let mut batch = Vec::new();
    // Indexes into `results` of the batch's messages, to fill in once the batch is written.
    let mut pending = Vec::new();
    let mut stored_ids = HashSet::new();
    let mut seen = HashSet::new();
    let n = parsed.len();
    for (i, (at, item)) in parsed.into_iter().enumerate() {
        match item {
            Ok(ev) => {
                let first = seen.insert(ev.row.id.clone());
                results.push(MessageResult {
                    at,
                    id: Some(ev.row.id.clone()),
                    status: Outcome::Duplicate,
                    reason: None,
                });
                if first {
                    pending.push(results.len() - 1);
                    batch.push(*ev);
                }
            }
            Err((id, reason)) => {
                results.push(MessageResult { at, id, status: Outcome::Rejected, reason: Some(reason) })
            }
        }
        if batch.len() >= crate::ingest::BATCH_SIZE || (i + 1 == n && !batch.is_empty()) {
            let out = store.insert_batch(std::mem::take(&mut batch)).await?;
            stored_ids.extend(out.stored);
            let refused: HashMap<String, String> = out.refused.into_iter().collect();
            for j in pending.drain(..) {
                let Some(id) = results[j].id.clone() else { continue };
                if stored_ids.contains(&id) {
                    results[j].status = Outcome::Stored;
                } else if let Some(reason) = refused.get(&id) {
                    results[j].status = Outcome::Rejected;
                    results[j].reason = Some(reason.clone());
                }
            }
        }
    }
    let count = |o: Outcome| results.iter().filter(|r| r.status == o).count() as u64;
    let (stored, duplicates, rejected) = (count(Outcome::Stored), count(Outcome::Duplicate), count(Outcome::Rejected));
    let truncated = results.len() > MAX_RESULTS;
    results.truncate(MAX_RESULTS);
    Ok(IngestResult { stored, duplicates, rejected, results, truncated })
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
