//! What the statistician reads of one IDEA message: the value of each aggregation, the
//! internal/external split and the fingerprint that decides recurrence.
//!
//! Values are read as Mentat reads them: detectors and analyzers from the **last** Node,
//! addresses (`ips`) from every Source's IP4 and IP6, the private keys from `_Mentat` or else
//! `_CESNET` (key by key). An event is internal when it has resolved abuse groups.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::group::Agg;

#[derive(Debug, Clone, PartialEq)]
pub struct EventDigest {
    pub id: String,
    pub storagetime: NaiveDateTime,
    pub values: BTreeMap<Agg, Vec<String>>,
    /// Detector, category set and source address set, hashed.
    pub fingerprint: i64,
}

impl EventDigest {
    pub fn internal(&self) -> bool {
        self.values.get(&Agg::Abuses).is_some_and(|v| !v.is_empty())
    }

    pub fn new(id: String, storagetime: NaiveDateTime, msg: &Value) -> Self {
        let mut values = BTreeMap::new();
        let categories = strings(msg.get("Category"));
        let last_node = match msg.get("Node") {
            Some(Value::Array(nodes)) => nodes.last(),
            other => other,
        };
        let detectors = strings(last_node.and_then(|n| n.get("Name")));
        let analyzers = strings(last_node.and_then(|n| n.get("SW")));
        let mut ips = Vec::new();
        for source in list(msg.get("Source")) {
            ips.extend(strings(source.get("IP4")));
            ips.extend(strings(source.get("IP6")));
        }
        let detectorsws: Vec<String> = detectors
            .iter()
            .flat_map(|d| {
                if analyzers.is_empty() {
                    vec![d.clone()]
                } else {
                    analyzers.iter().map(|sw| format!("{d}/{sw}")).collect()
                }
            })
            .collect();
        let fingerprint = fingerprint(&detectors, &categories, &ips);
        if !categories.is_empty() {
            values.insert(Agg::CategorySets, vec![categories.join("/")]);
        }
        values.insert(Agg::Categories, categories);
        values.insert(Agg::Detectors, detectors);
        values.insert(Agg::Analyzers, analyzers);
        values.insert(Agg::DetectorsWs, detectorsws);
        values.insert(Agg::Ips, ips);
        for (agg, key) in [
            (Agg::Abuses, "ResolvedAbuses"),
            (Agg::Asns, "SourceResolvedASN"),
            (Agg::Countries, "SourceResolvedCountry"),
            (Agg::Classes, "EventClass"),
            (Agg::Severities, "EventSeverity"),
        ] {
            values.insert(agg, private(msg, key));
        }
        Self { id, storagetime, values, fingerprint }
    }
}

fn list(v: Option<&Value>) -> Vec<&Value> {
    match v {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(Value::Null) | None => Vec::new(),
        Some(other) => vec![other],
    }
}

/// Scalars, or the scalars of a list, as text.
fn strings(v: Option<&Value>) -> Vec<String> {
    list(v)
        .into_iter()
        .filter_map(|x| match x {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        })
        .collect()
}

fn private(msg: &Value, key: &str) -> Vec<String> {
    ["_Mentat", "_CESNET"]
        .iter()
        .filter_map(|d| msg.get(*d).and_then(|d| d.get(key)))
        .map(|v| strings(Some(v)))
        .find(|v| !v.is_empty())
        .unwrap_or_default()
}

fn fingerprint(detectors: &[String], categories: &[String], ips: &[String]) -> i64 {
    let set = |v: &[String]| {
        let mut v: Vec<&str> = v.iter().map(String::as_str).collect();
        v.sort_unstable();
        v.dedup();
        v.join(",")
    };
    let text = format!("{}\n{}\n{}", set(detectors), set(categories), set(ips));
    let h = Sha256::digest(text.as_bytes());
    i64::from_be_bytes(h[..8].try_into().expect("8 bytes"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn digest(v: Value) -> EventDigest {
        EventDigest::new("x".into(), NaiveDateTime::default(), &v)
    }

    #[test]
    fn values_are_read_as_mentat_reads_them() {
        let d = digest(json!({
            "Category": ["Recon.Scanning", "Test"],
            "Node": [{"Name": "cz.a.first", "SW": ["x"]}, {"Name": "cz.a.last", "SW": ["Kippo", "Dionaea"]}],
            "Source": [{"IP4": ["192.0.2.1"], "IP6": ["2001:db8::1"]}, {"IP4": "192.0.2.2"}],
            "_CESNET": {"ResolvedAbuses": ["abuse@a"], "EventSeverity": "low", "SourceResolvedASN": [64500]},
            "_Mentat": {"EventSeverity": "high"}
        }));
        let v = |a: Agg| d.values[&a].clone();
        assert_eq!(v(Agg::Detectors), ["cz.a.last"]);
        assert_eq!(v(Agg::DetectorsWs), ["cz.a.last/Kippo", "cz.a.last/Dionaea"]);
        assert_eq!(v(Agg::CategorySets), ["Recon.Scanning/Test"]);
        assert_eq!(v(Agg::Ips), ["192.0.2.1", "2001:db8::1", "192.0.2.2"]);
        assert_eq!(v(Agg::Severities), ["high"], "_Mentat wins");
        assert_eq!(v(Agg::Asns), ["64500"]);
        assert!(d.internal());
        assert!(v(Agg::Countries).is_empty());
    }

    #[test]
    fn the_fingerprint_ignores_order_and_everything_but_detector_categories_and_sources() {
        let a = digest(
            json!({"Category": ["A", "B"], "Node": [{"Name": "d"}], "Source": [{"IP4": ["1.1.1.1", "2.2.2.2"]}],
                              "Description": "one"}),
        );
        let b = digest(
            json!({"Category": ["B", "A"], "Node": [{"Name": "d"}], "Source": [{"IP4": ["2.2.2.2"]}, {"IP4": ["1.1.1.1"]}],
                              "Description": "two", "Target": [{"IP4": ["3.3.3.3"]}]}),
        );
        let c = digest(
            json!({"Category": ["A", "B"], "Node": [{"Name": "e"}], "Source": [{"IP4": ["1.1.1.1", "2.2.2.2"]}]}),
        );
        assert_eq!(a.fingerprint, b.fingerprint);
        assert_ne!(a.fingerprint, c.fingerprint);
        assert!(!c.internal());
    }
}
