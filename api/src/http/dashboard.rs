//! `GET|POST /api/events/dashboard`: Hawat's event dashboard — the statistics of a range,
//! per group (overall, internal, external), with a timeline.

use std::time::Instant;

use chrono::Utc;
use poem::web::Data;
use poem::Request;
use poem_openapi::param::Query;
use poem_openapi::payload::{Binary, Json};
use poem_openapi::{ApiResponse, Enum, OpenApi};
use serde_json::{json, Map, Value};

use super::auth::Auth;
use super::error::{form_errors, Answer, ApiError};
use super::form_params::{Aggregation, FormTime, FormValue, TimeZoneName};
use super::search::{last, query_pairs};
use super::ApiTags;
use crate::chart::{self, Kind};
use crate::idea::time::render;
use crate::search_form::{parse_range, Range};
use crate::stats::timeline::WINDOW;
use crate::stats::{Agg, Dashboard, TimelineCfg};
use crate::storage::EventStore;
use ideadb_wire::answers::DashboardResult;

#[derive(Default)]
pub struct DashboardApi;

#[derive(ApiResponse)]
enum DashboardResponse {
    #[oai(status = 200)]
    Ok(Json<DashboardResult>),
    /// Some parameters were bad: `form_errors` names each.
    #[oai(status = 400)]
    BadRequest(Json<DashboardResult>),
}

fn statistics(cfg: &TimelineCfg, d: &Dashboard, range: &Range) -> Value {
    let (from, to) = (cfg.dt_from, cfg.dt_to);
    let mut out = Map::new();
    out.insert("count".into(), d.count.into());
    out.insert("dt_from".into(), render(&from).into());
    out.insert("dt_to".into(), render(&to).into());
    for (name, view) in ["stats_overall", "stats_internal", "stats_external"].iter().zip(&d.groups) {
        let mut stats = view.total.to_json();
        let timeline: Vec<Value> = view.timeline.iter().map(|(t, s)| json!([render(t), s.to_json()])).collect();
        stats["timeline"] = Value::Array(timeline);
        out.insert(name.to_string(), stats);
    }
    out.insert(
        "timeline_cfg".into(),
        json!({
            "dt_from": render(&cfg.dt_from), "dt_to": render(&cfg.dt_to), "step": cfg.step,
            "count": cfg.count, "first_step": render(&cfg.first_step), "tz": range.tz.name(),
        }),
    );
    Value::Object(out)
}

/// What a chart draws.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Default)]
#[oai(rename_all = "lowercase")]
enum ChartKind {
    /// The ten largest values over time, stacked, and the rest as "other".
    #[default]
    Timeline,
    /// The totals of the ten largest values and "other".
    Pie,
}

/// Which events a chart counts.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Default)]
#[oai(rename_all = "lowercase")]
enum ChartSet {
    #[default]
    Overall,
    /// Events with resolved abuse groups.
    Internal,
    External,
}

#[derive(ApiResponse)]
enum ChartResponse {
    /// The chart.
    #[oai(status = 200, content_type = "image/svg+xml")]
    Svg(Binary<Vec<u8>>),
}

#[OpenApi(prefix_path = "/api/events", tag = "ApiTags::Events")]
impl DashboardApi {
    /// Dashboard chart
    ///
    /// One aggregation of the dashboard as an SVG picture, drawn on the server: a stacked
    /// timeline or a pie of its ten largest values. Takes the dashboard's `dt_from`, `dt_to`
    /// and `tz`.
    #[allow(clippy::too_many_arguments, unused_variables)]
    #[oai(path = "/dashboard/chart.svg", method = "get")]
    async fn chart(
        &self,
        store: Data<&EventStore>,
        caller: Auth,
        req: &Request,
        /// abuses, analyzers, asns, categories, category_sets, classes, countries, detectors,
        /// detectorsws, ips or severities.
        aggr: Query<FormValue<Aggregation>>,
        /// `timeline` (default) or `pie`.
        kind: Query<Option<ChartKind>>,
        /// `overall` (default), `internal` or `external`.
        set: Query<Option<ChartSet>>,
        /// As for the dashboard.
        dt_from: Query<Option<FormValue<FormTime>>>,
        /// As for the dashboard.
        dt_to: Query<Option<FormValue<FormTime>>>,
        /// As for the dashboard.
        tz: Query<Option<FormValue<TimeZoneName>>>,
    ) -> Answer<ChartResponse> {
        let Some(agg) = Agg::parse(aggr.0.as_str()) else {
            let names: Vec<&str> = Agg::ALL.iter().map(|a| a.key()).collect();
            let why = format!("\"{}\" is not one of {}", aggr.0.as_str(), names.join(", "));
            return Err(ApiError::Form(vec![("aggr".into(), why)]).into());
        };
        let range = parse_range(&query_pairs(req), Utc::now()).map_err(ApiError::Form)?;
        let result = crate::dashboard::dashboard(&store, range.from, range.to, range.tz).await?;
        let set = set.0.unwrap_or_default();
        let (index, set_name) = match set {
            ChartSet::Overall => (0, "overall"),
            ChartSet::Internal => (1, "internal"),
            ChartSet::External => (2, "external"),
        };
        let kind = match kind.0.unwrap_or_default() {
            ChartKind::Timeline => Kind::Timeline,
            ChartKind::Pie => Kind::Pie,
        };
        let Some((cfg, d)) = result else {
            let why = "the range holds no whole 5-minute window".to_string();
            return Err(ApiError::Form(vec![("dt_from".into(), why)]).into());
        };
        let title = format!(
            "{} ({set_name}), {} – {} UTC",
            agg.key(),
            cfg.dt_from.format("%Y-%m-%d %H:%M"),
            cfg.dt_to.format("%Y-%m-%d %H:%M")
        );
        let svg = chart::render(&d.groups[index], agg, kind, &title).map_err(|e| {
            tracing::error!(error = %e, "chart rendering failed");
            ApiError::Internal
        })?;
        Ok(ChartResponse::Svg(Binary(svg.into_bytes())))
    }

    /// Event dashboard
    ///
    /// The statistics of the whole 5-minute windows in `[dt_from, dt_to)`: counters and
    /// toplists (values beyond a toplist summed in `__REST__`, events without a value counted
    /// under `__unknown__`) per group — overall, internal (with resolved abuse groups) and
    /// external — each with a timeline of at most 200 buckets aligned in `tz`.
    #[allow(clippy::too_many_arguments, unused_variables)]
    #[oai(path = "/dashboard", method = "get", method = "post")]
    async fn dashboard(
        &self,
        store: Data<&EventStore>,
        caller: Auth,
        req: &Request,
        /// Compute (any value); without it the parameters are only checked and `query_params`
        /// come back.
        submit: Query<Option<String>>,
        /// From: `YYYY-MM-DD HH:MM[:SS]` in `tz`, ISO 8601 with `Z` or an offset, or relative: `now`, `now-24h` (units s, m, h, d, w). Default:
        /// the last midnight UTC at least five minutes ago (the range then holds a whole window).
        dt_from: Query<Option<FormValue<FormTime>>>,
        /// To (same formats). Default: now.
        dt_to: Query<Option<FormValue<FormTime>>>,
        /// Time zone of times without an offset and of the timeline's buckets (IANA name),
        /// default UTC.
        tz: Query<Option<FormValue<TimeZoneName>>>,
    ) -> Answer<DashboardResponse> {
        let pairs = query_pairs(req);
        let mut out = DashboardResult {
            query_params: super::search::query_params(&pairs),
            search_widget_item_limit: 3,
            view_icon: "module-dashboards".into(),
            view_title: "Event dashboard".into(),
            ..Default::default()
        };
        let range = match parse_range(&pairs, Utc::now()) {
            Ok(r) => r,
            Err(errors) => {
                out.form_errors = Some(form_errors(&errors));
                return Ok(DashboardResponse::BadRequest(Json(out)));
            }
        };
        if last(&pairs, "submit").is_none() {
            return Ok(DashboardResponse::Ok(Json(out)));
        }
        let started = Instant::now();
        let result = crate::dashboard::dashboard(&store, range.from, range.to, range.tz).await?;
        out.time_marks = Some(json!([["dashboard", started.elapsed().as_secs_f64()]]));
        out.form_data =
            Some(json!({"dt_from": render(&range.from), "dt_to": render(&range.to), "tz": range.tz.name()}));
        out.searched = Some(true);
        match result {
            Some((cfg, d)) => {
                out.items_count = Some((cfg.dt_to - cfg.dt_from).num_seconds() / WINDOW);
                out.statistics = Some(statistics(&cfg, &d, &range));
            }
            None => out.items_count = Some(0),
        }
        Ok(DashboardResponse::Ok(Json(out)))
    }
}
