//! The answers of the JSON API that the app reads, as the server writes them: one type each,
//! so neither side can drift from the other. With the `openapi` feature (the server's) they
//! are also poem-openapi objects, described in the document by their doc comments.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;

/// A stored IDEA message, as the JSON text received.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RawMessage(Box<RawValue>);

impl RawMessage {
    /// The stored bytes, which were valid JSON when received.
    pub fn from_stored(bytes: Vec<u8>) -> Result<Self, serde_json::Error> {
        let text = String::from_utf8(bytes).map_err(|e| serde::de::Error::custom(e.to_string()))?;
        RawValue::from_string(text).map(RawMessage)
    }

    /// The JSON text.
    pub fn text(&self) -> &str {
        self.0.get()
    }
}

/// Hawat's search answer. Keys other than `query_params` and `search_widget_item_limit`
/// appear only when a search ran (`submit` given), or with `form_errors` when it could not.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
#[cfg_attr(feature = "openapi", oai(skip_serializing_if_is_none, example))]
pub struct SearchResult {
    /// True when the search ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub searched: Option<bool>,
    /// The matching IDEA messages of this page, as stored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub items: Option<Vec<RawMessage>>,
    /// How many items this page holds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub items_count: Option<u64>,
    /// The parameters as understood (times in UTC).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub form_data: Option<Value>,
    /// `[field, message]` pairs when parameters were bad.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub form_errors: Option<Vec<Vec<String>>>,
    /// The parameters given, as given (lists for repeated ones).
    pub query_params: Value,
    /// 1-based index of the first item of this page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pager_index_low: Option<u64>,
    /// 1-based index of the last item of this page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pager_index_high: Option<u64>,
    /// The highest index this page could reach (Hawat's `pager_index_limit`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pager_index_limit: Option<u64>,
    /// The SQL run, with values inlined, for reading.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sqlquery: Option<String>,
    /// For Hawat's page widgets.
    pub search_widget_item_limit: u32,
    /// Pass as `after` to get the next page (present when this page is full).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
    /// With `count=true`: every match, counted exactly.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<i64>,
    /// With `count=true`: why `total` is missing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_error: Option<String>,
}

/// Every value known for each searchable attribute, sorted.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
#[cfg_attr(feature = "openapi", oai(example))]
pub struct Metadata {
    /// IDEA categories: the taxonomy and every category stored.
    pub categories: Vec<String>,
    /// Event classes (`_CESNET`/`_Mentat` EventClass, lower-cased).
    pub classes: Vec<String>,
    /// Detector types (Node.Type).
    pub detector_types: Vec<String>,
    /// Detector names (Node.Name).
    pub detectors: Vec<String>,
    /// Abuse groups resolved from the sources (ResolvedAbuses).
    pub groups: Vec<String>,
    /// Source and target types together.
    pub host_types: Vec<String>,
    /// Problems found by Mentat's inspector (InspectionErrors).
    pub inspection_errs: Vec<String>,
    /// Protocols (Source/Target Proto, lower-cased).
    pub protocols: Vec<String>,
    /// Event severities (lower-cased).
    pub severities: Vec<String>,
    /// Source types.
    pub source_types: Vec<String>,
    /// Target types.
    pub target_types: Vec<String>,
    /// Abuse groups resolved from the targets (TargetAbuses).
    pub target_groups: Vec<String>,
    /// Target classes (lower-cased).
    pub target_classes: Vec<String>,
    /// Target severities (lower-cased).
    pub target_severities: Vec<String>,
    /// TLP values (upper-cased).
    pub tlps: Vec<String>,
    /// Detector software (Node.SW).
    pub detector_softwares: Vec<String>,
}

/// Hawat's dashboard answer.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
#[cfg_attr(feature = "openapi", oai(skip_serializing_if_is_none, example))]
pub struct DashboardResult {
    /// True when the statistics were computed (`submit` given).
    pub searched: Option<bool>,
    /// `count`, `dt_from`, `dt_to`, `stats_overall`, `stats_internal`, `stats_external` (each
    /// with counters, aggregations `{value: count}` and `timeline` `[[bucket_start, stats], …]`)
    /// and `timeline_cfg` (`dt_from`, `dt_to`, `step` in seconds, `count`, `first_step`).
    pub statistics: Option<Value>,
    /// How many 5-minute windows the statistics cover (those without events included).
    pub items_count: Option<i64>,
    /// The parameters as understood (times in UTC).
    pub form_data: Option<Value>,
    /// `[field, message]` pairs when parameters were bad.
    pub form_errors: Option<Vec<Vec<String>>>,
    /// The parameters given, as given.
    pub query_params: Value,
    /// `[[step, seconds], …]`: where the time went.
    pub time_marks: Option<Value>,
    pub search_widget_item_limit: u32,
    pub view_icon: String,
    pub view_title: String,
}

impl Metadata {
    /// The values known for a choice parameter of the search form, by its name.
    pub fn choices(&self, param: &str) -> &[String] {
        match param {
            "categories" => &self.categories,
            "classes" => &self.classes,
            "detector_types" => &self.detector_types,
            "detectors" => &self.detectors,
            "groups" => &self.groups,
            "host_types" => &self.host_types,
            "inspection_errs" => &self.inspection_errs,
            "protocols" => &self.protocols,
            "severities" => &self.severities,
            "source_types" => &self.source_types,
            "target_types" => &self.target_types,
            "target_groups" => &self.target_groups,
            "target_classes" => &self.target_classes,
            "target_severities" => &self.target_severities,
            "tlps" => &self.tlps,
            "detector_softwares" => &self.detector_softwares,
            _ => &[],
        }
    }
}

#[cfg(feature = "openapi")]
mod openapi {
    use std::borrow::Cow;

    use poem_openapi::registry::{MetaSchema, MetaSchemaRef};
    use poem_openapi::types::{ParseError, ParseFromJSON, ParseResult, ToJSON, Type};
    use serde_json::value::RawValue;
    use serde_json::Value;

    use super::RawMessage;

    impl Type for RawMessage {
        const IS_REQUIRED: bool = true;
        type RawValueType = Self;
        type RawElementValueType = Self;

        fn name() -> Cow<'static, str> {
            "any".into()
        }

        fn schema_ref() -> MetaSchemaRef {
            MetaSchemaRef::Inline(Box::new(MetaSchema::ANY))
        }

        fn as_raw_value(&self) -> Option<&Self> {
            Some(self)
        }

        fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Self> + 'a> {
            Box::new(self.as_raw_value().into_iter())
        }
    }

    impl ToJSON for RawMessage {
        fn to_json(&self) -> Option<Value> {
            serde_json::from_str(self.0.get()).ok()
        }
    }

    impl ParseFromJSON for RawMessage {
        fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
            let text = value.unwrap_or_default().to_string();
            RawValue::from_string(text).map(RawMessage).map_err(|e| ParseError::custom(e.to_string()))
        }
    }
}

#[cfg(feature = "openapi")]
impl poem_openapi::types::Example for SearchResult {
    fn example() -> Self {
        let item =
            br#"{"Format":"IDEA0","ID":"7d5b7e4a","DetectTime":"2026-11-20T10:00:00Z","Category":["Recon.Scanning"]}"#;
        SearchResult {
            searched: Some(true),
            items: RawMessage::from_stored(item.to_vec()).ok().map(|m| vec![m]),
            items_count: Some(1),
            form_data: Some(
                serde_json::json!({"categories": ["Recon.Scanning"], "limit": 100, "page": 1, "sortby": "time.desc"}),
            ),
            query_params: serde_json::json!({"submit": "Search", "categories": "Recon.Scanning"}),
            pager_index_low: Some(1),
            pager_index_high: Some(1),
            pager_index_limit: Some(100),
            sqlquery: Some("SELECT … FROM events WHERE … LIMIT 100".into()),
            search_widget_item_limit: 3,
            ..Default::default()
        }
    }
}

#[cfg(feature = "openapi")]
impl poem_openapi::types::Example for Metadata {
    fn example() -> Self {
        let v = |items: &[&str]| items.iter().map(|s| s.to_string()).collect();
        Metadata {
            categories: v(&["Abusive.Spam", "Recon.Scanning"]),
            classes: v(&["recon-scanning"]),
            detector_types: v(&["Flow", "Honeypot"]),
            detectors: v(&["cz.cesnet.nemea.vportscan"]),
            groups: v(&["abuse@cesnet.cz"]),
            host_types: v(&["Backscatter"]),
            inspection_errs: v(&[]),
            protocols: v(&["tcp", "udp"]),
            severities: v(&["low", "medium"]),
            source_types: v(&["Backscatter"]),
            target_types: v(&[]),
            target_groups: v(&["abuse@example.org"]),
            target_classes: v(&[]),
            target_severities: v(&[]),
            tlps: v(&["AMBER", "GREEN"]),
            detector_softwares: v(&["Nemea"]),
        }
    }
}

#[cfg(feature = "openapi")]
impl poem_openapi::types::Example for DashboardResult {
    fn example() -> Self {
        let stats = serde_json::json!({"cnt_events": 2, "cnt_alerts": 2, "cnt_recurring": 1, "cnt_unique": 1,
            "categories": {"Recon.Scanning": 2}, "ips": {"192.0.2.7": 1, "__unknown__": 1},
            "timeline": [["2026-11-20T10:00:00Z", {"cnt_events": 2, "cnt_alerts": 2, "cnt_recurring": 1, "cnt_unique": 1}]]});
        DashboardResult {
            searched: Some(true),
            statistics: Some(
                serde_json::json!({"count": 2, "dt_from": "2026-11-20T10:00:00Z", "dt_to": "2026-11-20T11:00:00Z",
                "stats_overall": stats, "timeline_cfg": {"dt_from": "2026-11-20T10:00:00Z", "dt_to": "2026-11-20T11:00:00Z",
                "step": 300, "count": 12, "first_step": "2026-11-20T10:05:00Z", "tz": "UTC"}}),
            ),
            items_count: Some(12),
            query_params: serde_json::json!({"submit": "1", "dt_from": "2026-11-20 10:00"}),
            search_widget_item_limit: 3,
            view_icon: "module-dashboards".into(),
            view_title: "Event dashboard".into(),
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search_params::{Kind, SECTIONS};

    #[test]
    fn every_choice_of_the_form_has_its_list() {
        let m: Metadata = serde_json::from_value(serde_json::json!({
            "categories": ["categories"], "classes": ["classes"], "detector_types": ["detector_types"],
            "detectors": ["detectors"], "groups": ["groups"], "host_types": ["host_types"],
            "inspection_errs": ["inspection_errs"], "protocols": ["protocols"], "severities": ["severities"],
            "source_types": ["source_types"], "target_types": ["target_types"], "target_groups": ["target_groups"],
            "target_classes": ["target_classes"], "target_severities": ["target_severities"], "tlps": ["tlps"],
            "detector_softwares": ["detector_softwares"]
        }))
        .unwrap();
        for p in SECTIONS.iter().flat_map(|(_, ps)| ps.iter()).filter(|p| p.kind == Kind::Choice) {
            assert_eq!(m.choices(p.name), [p.name.to_string()], "{}", p.name);
        }
    }
}
