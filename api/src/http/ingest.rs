//! `POST /api/events`: store IDEA messages sent as NDJSON or a JSON array, with the CLI's
//! validation and guarantees (a bad message costs only itself; a message already stored is
//! reported as a duplicate and left as it was). Needs the role maintainer or admin.

use std::fs::File;
use std::io::{BufReader, Seek};

use futures_util::StreamExt;
use poem::http::header::CONTENT_LENGTH;
use poem::web::Data;
use poem::{Body, Request};
use poem_openapi::payload::{Binary, Json};
use poem_openapi::{ApiRequest, ApiResponse, Enum, Object, OpenApi};
use tokio::io::AsyncWriteExt;

use super::auth::Auth;
use super::error::{Answer, ApiError};
use super::ApiTags;
use crate::auth::Role;
use crate::ingest::batches::{self, Feed, Outcome};
use crate::ingest::reader::{read_from, Locator};
use crate::storage::EventStore;

#[derive(Default)]
pub struct IngestApi;

/// The largest body `POST /api/events` reads.
#[derive(Debug, Clone, Copy)]
pub struct IngestLimit(pub usize);

/// The most messages one request may hold: more is a 413, so neither the work nor the reply
/// of one request can grow without bound.
const MAX_MESSAGES: usize = 100_000;
/// Messages stored per transaction. Smaller than the CLI's batches, since many requests may
/// be stored at once and each holds its batch in memory.
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
// Named as before in the document; `Outcome` in the code is the pipeline's.
#[oai(rename = "Outcome", rename_all = "lowercase")]
enum Status {
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
    status: Status,
    #[oai(skip_serializing_if_is_none)]
    reason: Option<String>,
}

/// What became of the messages sent: counts of all, and each of the first 1,000 in the
/// order sent.
#[derive(Object, Default)]
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

/// Where a message of the body is, and its ID when it could be read.
type Tag = (String, Option<String>);

/// How many messages the body holds, counted without keeping any; leaves the file at its
/// start for [`parse_into`].
fn count(body: &mut File) -> std::io::Result<usize> {
    body.rewind()?;
    let mut n = 0;
    read_from("body", BufReader::new(&*body), &mut |_| n += 1);
    body.rewind()?;
    Ok(n)
}

/// Parses the body's messages into `feed`, as fast as they are stored; stops when nobody
/// takes them any more.
fn parse_into(body: File, mut feed: Feed<Tag>) {
    let mut gone = false;
    read_from("body", BufReader::new(body), &mut |(origin, item)| {
        if gone {
            return;
        }
        let message = match item.map(|raw| crate::ingest::accept(raw, false)) {
            Ok(Ok(event)) => ((place(origin.at), Some(event.row.id.clone())), Ok(event)),
            Ok(Err((raw, e))) => ((place(origin.at), id_of(&raw)), Err(e.to_string())),
            Err(e) => ((place(origin.at), None), Err(e)),
        };
        gone = !feed.push(message);
    });
    feed.finish();
}

/// The ID of a message that is not a valid one, if it has a readable one.
fn id_of(raw: &[u8]) -> Option<String> {
    let v = serde_json::from_slice::<serde_json::Value>(raw).ok()?;
    v.get("ID")?.as_str().map(String::from)
}

/// The body written to an unnamed temporary file as it arrives: the message cap is checked
/// before anything is stored, which needs the whole body, and a body held in memory would
/// cost the server its size per request. Over `limit` is a 413, unread when the declared
/// length says so.
async fn spill_body(body: Body, declared: Option<usize>, limit: usize) -> Result<File, ApiError> {
    let too_large =
        || ApiError::TooLarge(format!("the body is larger than {limit} bytes; send fewer messages at a time"));
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let disk = |e: std::io::Error| {
        tracing::error!(error = %e, "an ingest body cannot be written to a temporary file");
        ApiError::Internal
    };
    let file = tokio::task::spawn_blocking(tempfile::tempfile).await.map_err(|_| ApiError::Internal)?.map_err(disk)?;
    let mut file = tokio::fs::File::from_std(file);
    let mut written = 0;
    let mut chunks = body.into_bytes_stream();
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(|e| ApiError::BadRequest(format!("the body cannot be read: {e}")))?;
        written += chunk.len();
        if written > limit {
            return Err(too_large());
        }
        file.write_all(&chunk).await.map_err(disk)?;
    }
    file.flush().await.map_err(disk)?;
    Ok(file.into_std().await)
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
        let mut body = spill_body(body, declared, limit.0 .0).await?;
        // The cap is checked before anything is stored, so an over-full body changes nothing.
        let (n, body) =
            tokio::task::spawn_blocking(move || (count(&mut body), body)).await.map_err(|_| ApiError::Internal)?;
        let n = n.map_err(|e| {
            tracing::error!(error = %e, "an ingest body cannot be read back from its temporary file");
            ApiError::Internal
        })?;
        if n > MAX_MESSAGES {
            let msg = format!("a request may hold {MAX_MESSAGES} messages at most; send fewer at a time");
            return Err(ApiError::TooLarge(msg).into());
        }
        if n == 0 {
            return Err(ApiError::BadRequest("the body holds no messages".into()).into());
        }
        // Parsed and stored a batch at a time, so memory holds about one batch.
        let (feed, messages) = batches::feed(BATCH);
        let parser = tokio::task::spawn_blocking(move || parse_into(body, feed));
        let mut result = IngestResult::default();
        batches::store(&store, messages, BATCH, 1, |tag, outcome| result.add(tag, outcome)).await?;
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

impl IngestResult {
    /// Counts a message's outcome, and lists it if it is among the first [`MAX_RESULTS`].
    fn add(&mut self, (at, id): Tag, outcome: Outcome) {
        let (status, reason) = match outcome {
            Outcome::Stored => (Status::Stored, None),
            Outcome::Duplicate => (Status::Duplicate, None),
            Outcome::Refused(reason) => (Status::Rejected, Some(reason)),
        };
        *match status {
            Status::Stored => &mut self.stored,
            Status::Duplicate => &mut self.duplicates,
            Status::Rejected => &mut self.rejected,
        } += 1;
        if self.results.len() == MAX_RESULTS {
            self.truncated = true;
            return;
        }
        self.results.push(MessageResult { at, id, status, reason });
    }
}

impl poem_openapi::types::Example for MessageResult {
    fn example() -> Self {
        MessageResult {
            at: "line 3".into(),
            id: Some("7d5b7e4a-5c36-4d3e-9b4f-2f0c1a3e8d10".into()),
            status: Status::Rejected,
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
                ok(1, Status::Stored),
                ok(2, Status::Duplicate),
                <MessageResult as poem_openapi::types::Example>::example(),
            ],
        }
    }
}
