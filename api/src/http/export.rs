//! `GET|POST /api/events/export`: every event matching a search, streamed as NDJSON (default),
//! a JSON array or CSV. No page cap; `max` caps it. Memory stays flat: the storage layer reads
//! a server-side cursor chunk by chunk and each chunk is written out before the next is read.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use poem::web::Data;
use poem::{Body, Request};
use poem_openapi::param::Query;
use poem_openapi::payload::Binary;
use poem_openapi::{ApiResponse, OpenApi};

use super::auth::Auth;
use super::error::{Answer, ApiError};
use super::form_params::{AddressList, FormTime, FormValue, PortList, SortOrder, Text, TimeZoneName};
use super::merged::Merged;
use super::raw_json::{JsonBody, RawMessage};
use super::search::{parse_form, query_pairs};
use super::ApiTags;
use crate::export::{Format, Writer};
use crate::storage::{EventChunks, EventStore};

#[derive(Default)]
pub struct ExportApi;

/// Rows read from the database at a time.
const CHUNK: u32 = 1000;
/// Exports one account may run at once.
const PER_ACCOUNT: usize = 2;
/// An export whose client takes nothing for this long is ended (its transfer breaks off).
const STALL: Duration = Duration::from_secs(60);

/// The exports running. Each holds a database connection for as long as its client reads,
/// so together they may hold only part of the pool, and one account only a part of that:
/// slow or stalled downloads cannot starve searches, logins and health checks.
pub struct ExportSlots {
    total: usize,
    running: Mutex<HashMap<String, usize>>,
}

impl ExportSlots {
    pub fn new(total: usize) -> Arc<Self> {
        Arc::new(Self { total: total.max(1), running: Default::default() })
    }

    fn take(self: &Arc<Self>, login: &str) -> Result<ExportSlot, ApiError> {
        let mut running = self.running.lock().expect("not poisoned");
        if running.values().sum::<usize>() >= self.total {
            return Err(ApiError::Unavailable("too many exports are running; retry later".into()));
        }
        let mine = running.entry(login.to_string()).or_default();
        if *mine >= PER_ACCOUNT {
            return Err(ApiError::TooMany {
                message: format!("this account already runs {PER_ACCOUNT} exports; retry when one has finished"),
                retry_after: STALL.as_secs(),
            });
        }
        *mine += 1;
        Ok(ExportSlot { slots: self.clone(), login: login.to_string() })
    }
}

/// A running export's place, given back when its body is finished or dropped.
struct ExportSlot {
    slots: Arc<ExportSlots>,
    login: String,
}

impl Drop for ExportSlot {
    fn drop(&mut self) {
        let mut running = self.slots.running.lock().expect("not poisoned");
        if let Some(n) = running.get_mut(&self.login) {
            *n -= 1;
            if *n == 0 {
                running.remove(&self.login);
            }
        }
    }
}

/// The file format of an export.
#[derive(poem_openapi::Enum, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "lowercase")]
enum ExportFormat {
    /// One IDEA message per line (`application/x-ndjson`).
    Ndjson,
    /// One JSON array of messages.
    Json,
    /// One row per event; multi-valued fields are joined with spaces in one cell.
    Csv,
}

impl From<ExportFormat> for Format {
    fn from(f: ExportFormat) -> Self {
        match f {
            ExportFormat::Ndjson => Format::Ndjson,
            ExportFormat::Json => Format::Json,
            ExportFormat::Csv => Format::Csv,
        }
    }
}

#[derive(ApiResponse)]
enum ExportResponse {
    /// Every match, as the attachment `events.<format>`: one message per line (NDJSON), one
    /// JSON array, or CSV.
    #[oai(status = 200, content_type = "application/x-ndjson")]
    Ndjson(Binary<Body>, #[oai(header = "Content-Disposition")] String),
    /// Every match in one JSON array, as the attachment `events.json`.
    #[oai(status = 200, content_type = "application/json")]
    Json(JsonBody<Vec<RawMessage>>, #[oai(header = "Content-Disposition")] String),
    /// One row per match, as the attachment `events.csv`.
    #[oai(status = 200, content_type = "text/csv; charset=utf-8")]
    Csv(Binary<Body>, #[oai(header = "Content-Disposition")] String),
}

#[OpenApi(prefix_path = "/api/events", tag = "ApiTags::Events")]
impl ExportApi {
    /// Export events
    ///
    /// Every event matching the search filters (the parameters of `/api/events/search`), in
    /// the search's order, streamed as NDJSON (default), a JSON array or CSV. A transfer that
    /// breaks off before its end means the export failed part-way.
    #[allow(clippy::too_many_arguments, unused_variables)]
    #[oai(path = "/export", method = "get", method = "post")]
    async fn export(
        &self,
        store: Data<&EventStore>,
        slots: Data<&Arc<ExportSlots>>,
        caller: Auth,
        req: &Request,
        /// `ndjson` (default), `json` or `csv`.
        format: Query<Option<ExportFormat>>,
        /// Stop after this many events (default: no limit).
        #[oai(validator(minimum(value = "0"), maximum(value = "4294967295")))]
        max: Query<Option<u32>>,
        // The search's filters again: poem-openapi declares parameters per operation. Both
        // handlers read them from the query string through `search_form`, so they cannot
        // drift apart in meaning, only in these descriptions.
        /// Detection time from: `YYYY-MM-DD HH:MM[:SS]` in `tz`, ISO 8601 with `Z` or an offset, or relative: `now`, `now-24h` (units s, m, h, d, w).
        /// Empty: no bound. Without any time parameter the last 7 days are searched.
        dt_from: Query<Option<FormValue<FormTime>>>,
        /// Detection time to (same formats).
        dt_to: Query<Option<FormValue<FormTime>>>,
        /// Storage time from (same formats).
        st_from: Query<Option<FormValue<FormTime>>>,
        /// Storage time to (same formats).
        st_to: Query<Option<FormValue<FormTime>>>,
        /// Time zone of times without an offset (IANA name), default UTC.
        tz: Query<Option<FormValue<TimeZoneName>>>,
        /// Source addresses: IPv4/IPv6 address, CIDR network or `a-b` range, or a hostname (at most
        /// 253 characters; with a leading dot, a part of a name).
        source_addrs: Query<Option<Vec<FormValue<AddressList>>>>,
        /// Target addresses.
        target_addrs: Query<Option<Vec<FormValue<AddressList>>>>,
        /// Source or target addresses (overrides source_addrs and target_addrs).
        host_addrs: Query<Option<Vec<FormValue<AddressList>>>>,
        /// Source ports.
        source_ports: Query<Option<Vec<FormValue<PortList>>>>,
        /// Target ports.
        target_ports: Query<Option<Vec<FormValue<PortList>>>>,
        /// Source or target ports (overrides source_ports and target_ports).
        host_ports: Query<Option<Vec<FormValue<PortList>>>>,
        /// Source types (tags).
        source_types: Query<Option<Vec<FormValue<Text>>>>,
        /// Target types (tags).
        target_types: Query<Option<Vec<FormValue<Text>>>>,
        /// Source or target types (overrides source_types and target_types).
        host_types: Query<Option<Vec<FormValue<Text>>>>,
        /// Abuse groups resolved from the sources.
        groups: Query<Option<Vec<FormValue<Text>>>>,
        /// Negate `groups` (1, y, yes, true, on).
        not_groups: Query<Option<String>>,
        /// Protocols.
        protocols: Query<Option<Vec<FormValue<Text>>>>,
        /// Negate `protocols`.
        not_protocols: Query<Option<String>>,
        /// Description contains this (any case).
        description: Query<Option<FormValue<Text>>>,
        /// Categories.
        categories: Query<Option<Vec<FormValue<Text>>>>,
        /// Negate `categories`.
        not_categories: Query<Option<String>>,
        /// Severities.
        severities: Query<Option<Vec<FormValue<Text>>>>,
        /// Negate `severities`.
        not_severities: Query<Option<String>>,
        /// Classes.
        classes: Query<Option<Vec<FormValue<Text>>>>,
        /// Negate `classes`.
        not_classes: Query<Option<String>>,
        /// Negate `classes` (Hawat's spelling).
        not_classess: Query<Option<String>>,
        /// Detector names.
        detectors: Query<Option<Vec<FormValue<Text>>>>,
        /// Negate `detectors`.
        not_detectors: Query<Option<String>>,
        /// Detector types.
        detector_types: Query<Option<Vec<FormValue<Text>>>>,
        /// Negate `detector_types`.
        not_detector_types: Query<Option<String>>,
        /// Inspection errors.
        inspection_errs: Query<Option<Vec<FormValue<Text>>>>,
        /// Negate `inspection_errs`.
        not_inspection_errs: Query<Option<String>>,
        /// Target abuse groups (`_Mentat` TargetAbuses).
        target_groups: Query<Option<Vec<FormValue<Text>>>>,
        /// Negate `target_groups`.
        not_target_groups: Query<Option<String>>,
        /// Target severities.
        target_severities: Query<Option<Vec<FormValue<Text>>>>,
        /// Negate `target_severities`.
        not_target_severities: Query<Option<String>>,
        /// Target classes.
        target_classes: Query<Option<Vec<FormValue<Text>>>>,
        /// Negate `target_classes`.
        not_target_classes: Query<Option<String>>,
        /// TLP (any case).
        tlps: Query<Option<Vec<FormValue<Text>>>>,
        /// Negate `tlps`.
        not_tlps: Query<Option<String>>,
        /// Detector software (Node.SW).
        detector_softwares: Query<Option<Vec<FormValue<Text>>>>,
        /// Negate `detector_softwares`.
        not_detector_softwares: Query<Option<String>>,
        /// `true`: shadow reports only; `false`: none (any case). Any other value adds no condition.
        shadow_reporting: Query<Option<String>>,
        /// The same for target shadow reports.
        shadow_reporting_target: Query<Option<String>>,
        /// time.desc (default), time.asc, detecttime.desc, detecttime.asc, storagetime.desc or storagetime.asc.
        sortby: Query<Option<FormValue<SortOrder>>>,
    ) -> Answer<Merged<ExportResponse>> {
        let mut params = parse_form(&query_pairs(req), &caller).map_err(ApiError::Form)?;
        params.limit = max.0;
        let format = Format::from(format.0.unwrap_or(ExportFormat::Ndjson));
        let slot = slots.take(&caller.login)?;
        let chunks = store.export_events(&params, CHUNK, STALL).await?;
        tracing::info!(login = ?caller.login, format = format.extension(), "export started");
        let disposition = format!("attachment; filename=\"events.{}\"", format.extension());
        let body = body(chunks, format, slot);
        Ok(Merged(match format {
            Format::Ndjson => ExportResponse::Ndjson(Binary(body), disposition),
            Format::Json => ExportResponse::Json(JsonBody::from_serialized(body), disposition),
            Format::Csv => ExportResponse::Csv(Binary(body), disposition),
        }))
    }
}

enum Phase {
    Head,
    Rows,
    Done,
}

/// The header, each chunk as it arrives, then the footer. An error breaks the transfer off,
/// so a client never mistakes a partial export for a whole one.
fn body(chunks: EventChunks, format: Format, slot: ExportSlot) -> Body {
    let state = (chunks, Writer::new(format), Phase::Head, slot);
    let stream = futures_util::stream::unfold(state, |(mut rx, mut w, phase, slot)| async move {
        let (item, next) = match phase {
            Phase::Done => return None,
            Phase::Head => (Ok(w.start()), Phase::Rows),
            Phase::Rows => match rx.recv().await {
                Some(Ok(events)) => match w.chunk(&events) {
                    Ok(bytes) => (Ok(bytes), Phase::Rows),
                    Err(e) => (Err(std::io::Error::other(e)), Phase::Done),
                },
                Some(Err(e)) => {
                    tracing::warn!(error = %e, "export broken off");
                    (Err(std::io::Error::other(e.to_string())), Phase::Done)
                }
                None => (Ok(w.end()), Phase::Done),
            },
        };
        Some((item.map(Bytes::from), (rx, w, next, slot)))
    });
    Body::from_bytes_stream(stream)
}
