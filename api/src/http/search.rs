//! `GET|POST /api/events/search`: Hawat's event search, with its parameters and response
//! keys, plus `total` (with `count=true`) and keyset paging (`after` / `next_cursor`).
//!
//! Every parameter is declared below so the OpenAPI description documents it; the values
//! are handed as pairs to `search_form`, the one place they are parsed and validated.

use chrono::Utc;
use poem::web::Data;
use poem::Request;
use poem_openapi::param::Query;
use poem_openapi::{ApiResponse, OpenApi};
use serde_json::{json, Map, Value};

use super::auth::{Auth, Caller};
use super::error::{form_errors, Answer, ApiError};
use super::form_params::{
    AddressList, FormTime, FormValue, PageNumber, PageSize, PortList, SearchCursor, SortOrder, Text, TimeZoneName,
};
use super::raw_json::{message_of_event, JsonBody, RawMessage};
use super::ApiTags;
use crate::idea::time::render;
use crate::search_form;
use crate::storage::{EventStore, QueryKind, SearchParams, SortDir, SortField};
use ideadb_wire::answers::SearchResult;
use ideadb_wire::search_params;

#[derive(Default)]
pub struct SearchApi;

#[derive(ApiResponse)]
enum SearchResponse {
    /// The search ran (or was only described, without `submit`).
    #[oai(status = 200)]
    Ok(JsonBody<SearchResult>),
    /// Some parameters were bad: `form_errors` names each.
    #[oai(status = 400)]
    BadRequest(JsonBody<SearchResult>),
}

/// The query string as pairs, in order; POST form fields were added to it by `form_post`.
/// The parameters are declared on the handlers for the documentation; they are read here so
/// that `search_form` sees them exactly as sent.
pub(super) fn query_pairs(req: &Request) -> Vec<(String, String)> {
    serde_urlencoded::from_str(req.uri().query().unwrap_or_default()).unwrap_or_default()
}

/// The search parameters of a form, limited to the events `caller` may see, or Hawat's
/// `form_errors`.
pub(super) fn parse_form(pairs: &[(String, String)], caller: &Caller) -> Result<SearchParams, search_form::FormErrors> {
    let tz = search_form::zone(pairs).map_err(|e| vec![e])?;
    let params = search_form::parse(pairs, tz, Utc::now())?;
    Ok(SearchParams { visibility: caller.visibility(), ..params })
}

/// The last value of a parameter, trimmed.
pub(super) fn last(pairs: &[(String, String)], key: &str) -> Option<String> {
    pairs.iter().rev().find(|(n, _)| n == key).map(|(_, v)| v.trim().to_string())
}

pub(super) fn query_params(pairs: &[(String, String)]) -> Value {
    let mut m = Map::new();
    for (k, v) in pairs {
        match m.get_mut(k) {
            Some(Value::Array(a)) => a.push(json!(v)),
            Some(prev) => *prev = json!([prev.clone(), v]),
            None => {
                m.insert(k.clone(), json!(v));
            }
        }
    }
    Value::Object(m)
}

fn form_data(p: &SearchParams) -> Value {
    let t = |v: &Option<chrono::NaiveDateTime>| v.as_ref().map(render);
    let addrs = |v: &[crate::idea::IpRange]| v.iter().map(|a| a.to_string()).collect::<Vec<_>>();
    let sort = p.sortby.map(|s| {
        let f = match s.field {
            SortField::Time => "time",
            SortField::DetectTime => "detecttime",
            SortField::StorageTime => "storagetime",
        };
        format!("{f}.{}", if s.dir == SortDir::Asc { "asc" } else { "desc" })
    });
    let mut data = json!({
        "dt_from": t(&p.dt_from), "dt_to": t(&p.dt_to), "st_from": t(&p.st_from), "st_to": t(&p.st_to),
        "source_addrs": addrs(&p.source_addrs), "target_addrs": addrs(&p.target_addrs), "host_addrs": addrs(&p.host_addrs),
        "source_ports": p.source_ports, "target_ports": p.target_ports, "host_ports": p.host_ports,
        "description": p.description,
        "shadow_reporting": p.shadow_reporting, "shadow_reporting_target": p.shadow_reporting_target,
        "page": p.page, "limit": p.limit, "sortby": sort, "after": p.after.as_ref().map(|c| c.encode()),
    });
    for (name, values) in p.lists() {
        data[name] = json!(values.values);
        if let Some(not) = search_params::param(name).and_then(|f| f.not) {
            data[not] = json!(values.negate);
        }
    }
    data
}

#[OpenApi(prefix_path = "/api/events", tag = "ApiTags::Events")]
impl SearchApi {
    /// Search events
    ///
    /// Hawat's event search. Lists are ORed and may repeat the key or join values with
    /// commas; `__EMPTY__` / `__ANY__` match events without / with a value; `not_*` negates.
    /// POST takes the same parameters as form fields or a JSON object.
    #[allow(clippy::too_many_arguments, unused_variables)]
    #[oai(path = "/search", method = "get", method = "post")]
    async fn search(
        &self,
        store: Data<&EventStore>,
        caller: Auth,
        req: &Request,
        /// Run the search (any value, e.g. `Search`); without it the parameters are only checked
        /// and `query_params` come back.
        submit: Query<Option<String>>,
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
        /// Page (1-based), default 1.
        page: Query<Option<FormValue<PageNumber>>>,
        /// Page size: 5, 10, 20, 25, 30, 50, 100 (default), 200, 250, 500, 1000, 2500, 5000 or 10000.
        limit: Query<Option<FormValue<PageSize>>>,
        /// time.desc (default), time.asc, detecttime.desc, detecttime.asc, storagetime.desc or storagetime.asc.
        sortby: Query<Option<FormValue<SortOrder>>>,
        /// Keyset paging: the `next_cursor` of the previous page.
        after: Query<Option<FormValue<SearchCursor>>>,
        /// `true`: also count every match (`total`).
        count: Query<Option<String>>,
    ) -> Answer<SearchResponse> {
        run(&store, &caller, query_pairs(req)).await
    }
}

async fn run(store: &EventStore, caller: &Caller, pairs: Vec<(String, String)>) -> Answer<SearchResponse> {
    let mut out =
        SearchResult { query_params: query_params(&pairs), search_widget_item_limit: 3, ..Default::default() };
    let get = |k: &str| last(&pairs, k);
    let p = match parse_form(&pairs, caller) {
        Ok(p) => p,
        Err(errors) => {
            out.form_errors = Some(form_errors(&errors));
            return Ok(SearchResponse::BadRequest(JsonBody::new(&out)));
        }
    };
    if get("submit").is_none() {
        return Ok(SearchResponse::Ok(JsonBody::new(&out)));
    }
    let page = store.search_events(&p).await?;
    let items: Vec<RawMessage> =
        page.items.into_iter().map(|e| message_of_event(&e.id, e.raw)).collect::<Result<_, _>>()?;
    let limit = u64::from(p.limit.unwrap_or(search_form::DEFAULT_PAGE_SIZE));
    let skipped = p.offset();
    if get("count").is_some_and(|c| c.eq_ignore_ascii_case("true")) {
        match store.count_events(&p).await {
            Ok(n) => out.total = Some(n),
            Err(e) => out.total_error = Some(ApiError::from(e).to_string()),
        }
    }
    out.searched = Some(true);
    out.items_count = Some(items.len() as u64);
    out.pager_index_low = Some(skipped + 1);
    out.pager_index_high = Some(skipped + items.len() as u64);
    out.pager_index_limit = Some(skipped + limit);
    out.sqlquery = store.mogrify(&p, QueryKind::Select).await.ok();
    out.form_data = Some(form_data(&p));
    out.next_cursor = page.next_cursor;
    out.items = Some(items);
    Ok(SearchResponse::Ok(JsonBody::new(&out)))
}
