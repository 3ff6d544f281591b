//! What the pages read out of an IDEA message (kept as the JSON received).

use serde_json::Value;

/// Strings of a field that may be one string or a list of them.
pub fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::Array(a) => a.iter().flat_map(strings).collect(),
        Value::String(s) => vec![s.clone()],
        Value::Null => vec![],
        other => vec![other.to_string()],
    }
}

/// The addresses (IP4 and IP6) of every Source or Target.
pub fn addrs(entries: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for e in entries.as_array().into_iter().flatten() {
        for key in ["IP4", "IP6"] {
            for a in strings(&e[key]) {
                if !out.contains(&a) {
                    out.push(a);
                }
            }
        }
    }
    out
}

/// The name of the last Node (the detector that reported it, as Mentat counts it).
pub fn detector(ev: &Value) -> String {
    ev["Node"].as_array().and_then(|n| n.last()).and_then(|n| n["Name"].as_str()).unwrap_or_default().to_string()
}

/// A private dictionary value: the newer `_Mentat`, or `_CESNET` (as the server reads them).
pub fn private<'a>(ev: &'a Value, key: &str) -> &'a Value {
    match &ev["_Mentat"][key] {
        Value::Null => &ev["_CESNET"][key],
        v => v,
    }
}

/// One result row, read once so that a thousand rows render fast.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub id: String,
    pub detect_time: Value,
    pub categories: Vec<String>,
    pub description: String,
    pub sources: Vec<String>,
    pub targets: Vec<String>,
    pub detector: String,
    pub severity: String,
    pub class: String,
}

impl Row {
    pub fn of(ev: &Value) -> Self {
        Row {
            id: ev["ID"].as_str().unwrap_or_default().to_string(),
            detect_time: ev["DetectTime"].clone(),
            categories: strings(&ev["Category"]),
            description: ev["Description"].as_str().unwrap_or_default().to_string(),
            sources: addrs(&ev["Source"]),
            targets: addrs(&ev["Target"]),
            detector: detector(ev),
            severity: strings(private(ev, "EventSeverity")).join(", "),
            class: strings(private(ev, "EventClass")).join(", "),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_read_every_column() {
        let ev = serde_json::json!({
            "ID": "e1", "DetectTime": "2024-01-01T00:00:00Z", "Category": ["Recon.Scanning"],
            "Source": [{"IP4": ["192.0.2.1", "192.0.2.0/24"]}, {"IP6": ["2001:db8::1"], "IP4": ["192.0.2.1"]}],
            "Target": [{"IP4": ["198.51.100.1-198.51.100.9"]}],
            "Node": [{"Name": "org.a"}, {"Name": "org.b"}],
            "_Mentat": {"EventSeverity": "low"}, "_CESNET": {"EventClass": "scan"}
        });
        let r = Row::of(&ev);
        assert_eq!(r.sources, ["192.0.2.1", "192.0.2.0/24", "2001:db8::1"]);
        assert_eq!(r.targets, ["198.51.100.1-198.51.100.9"]);
        assert_eq!((r.detector.as_str(), r.severity.as_str(), r.class.as_str()), ("org.b", "low", "scan"));
    }
}
