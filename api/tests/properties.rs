//! Property tests over arbitrary input: every parser that reads what a client or a detector
//! sends either accepts it or says why, and never panics or hangs. `make test` runs a few
//! thousand cases; `make fuzz` runs the same properties with `PROPTEST_CASES` in the millions.

use chrono::{DateTime, Utc};
use ideadb::form_grammar;
use ideadb::idea::{self, IpRange};
use ideadb::search_form;
use ideadb_wire::search_params::Kind;
use proptest::prelude::*;
use serde_json::{json, Value};

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(2000);
    // A failing case is printed with its minimal input; nothing is written next to the sources.
    ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
}

/// The real messages, as seeds to mutate.
fn corpus() -> &'static [Vec<u8>] {
    static CORPUS: std::sync::OnceLock<Vec<Vec<u8>>> = std::sync::OnceLock::new();
    CORPUS.get_or_init(|| {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/idea-corpus/valid");
        let mut files: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
        files.sort();
        files.iter().map(|p| std::fs::read(p).unwrap()).collect()
    })
}

/// Any JSON value, a few levels deep, with IDEA's keys more likely than others.
fn any_json() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        Just("Format".to_string()),
        Just("ID".to_string()),
        Just("DetectTime".to_string()),
        Just("Category".to_string()),
        Just("Source".to_string()),
        Just("Target".to_string()),
        Just("IP4".to_string()),
        Just("IP6".to_string()),
        Just("Port".to_string()),
        Just("Node".to_string()),
        Just("Name".to_string()),
        Just("_CESNET".to_string()),
        Just("_Mentat".to_string()),
        Just("StorageTime".to_string()),
        Just("Hostname".to_string()),
        Just("Proto".to_string()),
        "[A-Za-z_]{1,12}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        Just(json!("IDEA0")),
        Just(json!("2024-01-01T00:00:00Z")),
        "[0-9a-fA-F:./ -]{0,40}".prop_map(Value::String),
        any::<String>().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 8, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key.clone(), inner), 0..8).prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// `(field, value)` with values written as `kind`'s grammar says (its anchors dropped: proptest
/// generates whole strings).
fn admitted(field: &'static str, kind: Kind) -> impl Strategy<Value = (&'static str, String)> {
    let p = form_grammar::pattern(kind).expect("a kind with a grammar");
    let body = p.strip_prefix('^').and_then(|p| p.strip_suffix('$')).expect("anchored");
    proptest::string::string_regex(body).expect("proptest reads the grammar").prop_map(move |v| (field, v))
}

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-06-15T10:42:17Z").unwrap().with_timezone(&Utc)
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_bytes_are_parsed_or_refused(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let _ = idea::parse(&bytes);
    }

    #[test]
    fn mutated_real_messages_are_parsed_or_refused(
        seed in 0usize..1000,
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..8),
    ) {
        let corpus = corpus();
        let mut bytes = corpus[seed % corpus.len()].clone();
        for (at, byte, kind) in edits {
            if bytes.is_empty() { break; }
            let i = at.index(bytes.len());
            match kind {
                0 => bytes[i] = byte,
                1 => bytes.insert(i, byte),
                _ => { bytes.remove(i); }
            }
        }
        if let Ok(row) = idea::parse(&bytes) {
            prop_assert!(idea::is_id(&row.id));
            prop_assert!(row.id.len() <= idea::MAX_VALUE_BYTES);
        }
    }

    #[test]
    fn arbitrary_json_is_parsed_or_refused_with_a_reason(v in any_json()) {
        let bytes = serde_json::to_vec(&v).unwrap();
        match idea::parse(&bytes) {
            Ok(row) => prop_assert!(idea::is_id(&row.id)),
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }

    #[test]
    fn addresses_parse_or_are_refused_and_round_trip(s in "[0-9a-fA-F:./-]{0,45}|\\PC{0,40}") {
        if let Ok(r) = IpRange::parse(&s) {
            let again = IpRange::parse(&r.to_string());
            prop_assert_eq!(again, Ok(r), "{}", s);
        }
    }

    #[test]
    fn search_forms_are_parsed_or_name_their_bad_fields(
        pairs in prop::collection::vec((
            prop_oneof![
                Just("dt_from"), Just("dt_to"), Just("st_from"), Just("st_to"), Just("tz"), Just("source_addrs"),
                Just("target_addrs"), Just("host_addrs"), Just("source_ports"), Just("host_ports"), Just("limit"),
                Just("page"), Just("sortby"), Just("categories"), Just("not_categories"), Just("description"),
                Just("after"), Just("count"), Just("submit"), Just("protocols"), Just("severities"),
            ],
            prop_oneof![
                "now(-[0-9]{0,25}[smhdwy ]?)?",
                "[0-9]{1,4}-[0-9]{1,2}-[0-9]{1,2}( [0-9]{1,2}:[0-9]{1,2}(:[0-9]{1,2})?)?",
                "[0-9a-fA-F:./ -]{0,40}",
                "-?[0-9]{0,22}",
                "\\PC{0,30}",
            ],
        ), 0..10),
    ) {
        let pairs: Vec<(String, String)> = pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
        if let Err(errors) = search_form::parse(&pairs, chrono_tz::UTC, now()) {
            prop_assert!(!errors.is_empty());
            for (field, message) in &errors {
                prop_assert!(pairs.iter().any(|(k, _)| k == field) && !message.is_empty(), "{field}: {message}");
            }
        }
        let _ = search_form::parse_range(&pairs, now());
    }

    #[test]
    fn every_value_the_grammar_admits_is_read(
        (field, value) in prop_oneof![
            admitted("dt_from", Kind::Time), admitted("st_to", Kind::Time),
            admitted("source_addrs", Kind::Addresses), admitted("host_ports", Kind::Ports),
            admitted("page", Kind::Page), admitted("limit", Kind::PageSize),
            admitted("sortby", Kind::SortOrder), admitted("after", Kind::Cursor),
            admitted("categories", Kind::Text), admitted("description", Kind::Text),
        ],
        tz in admitted("tz", Kind::Zone),
    ) {
        let pairs = vec![(field.to_string(), value), (tz.0.to_string(), tz.1)];
        let zone = search_form::zone(&pairs);
        prop_assert!(zone.is_ok(), "{:?}", zone);
        let parsed = search_form::parse(&pairs, zone.unwrap(), now());
        // The one rule a regular expression of reasonable size cannot state: a hostname has
        // at most 253 characters (the parameter's description says so).
        let too_long = |errors: &search_form::FormErrors| errors.iter().all(|(_, m)| m.contains("longer than a hostname"));
        prop_assert!(parsed.as_ref().map_or_else(too_long, |_| true), "{:?}: {:?}", pairs, parsed);
    }

    #[test]
    fn times_and_ages_parse_or_are_refused(s in "\\PC{0,40}|[0-9]{1,25}[ymwdh]?") {
        let _ = idea::time::parse_str(&s);
        let _ = search_form::parse_time(&s, chrono_tz::UTC);
        let _ = ideadb::retention::parse_age(&s);
    }
}
