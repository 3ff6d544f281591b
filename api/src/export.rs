//! Export formats: stored events as NDJSON (the bytes as stored, one message a line), a JSON
//! array, or CSV with one row per event and multi-valued fields joined in one cell.
//!
//! Each chunk is rendered on its own (`Writer::chunk`), so an export is produced piece by
//! piece in constant memory.

use serde_json::Value;

use crate::idea::time::render;
use crate::storage::StoredEvent;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    #[default]
    Ndjson,
    Json,
    Csv,
}

impl Format {
    pub fn extension(self) -> &'static str {
        match self {
            Format::Ndjson => "ndjson",
            Format::Json => "json",
            Format::Csv => "csv",
        }
    }
}

/// The CSV columns, and where each reads from (arrays on the way are walked into).
const CSV_COLUMNS: &[(&str, &[&[&str]])] = &[
    ("ID", &[&["ID"]]),
    ("DetectTime", &[&["DetectTime"]]),
    ("EventTime", &[&["EventTime"]]),
    ("CeaseTime", &[&["CeaseTime"]]),
    ("Category", &[&["Category"]]),
    ("Description", &[&["Description"]]),
    ("Note", &[&["Note"]]),
    ("SourceIP", &[&["Source", "IP4"], &["Source", "IP6"]]),
    ("SourcePort", &[&["Source", "Port"]]),
    ("SourceType", &[&["Source", "Type"]]),
    ("TargetIP", &[&["Target", "IP4"], &["Target", "IP6"]]),
    ("TargetPort", &[&["Target", "Port"]]),
    ("TargetType", &[&["Target", "Type"]]),
    ("Protocol", &[&["Source", "Proto"], &["Target", "Proto"]]),
    ("Detector", &[&["Node", "Name"]]),
    ("DetectorType", &[&["Node", "Type"]]),
    ("Severity", &[&["_Mentat", "EventSeverity"], &["_CESNET", "EventSeverity"]]),
    ("Class", &[&["_Mentat", "EventClass"], &["_CESNET", "EventClass"]]),
    ("Groups", &[&["_Mentat", "ResolvedAbuses"], &["_CESNET", "ResolvedAbuses"]]),
    ("ConnCount", &[&["ConnCount"]]),
    ("FlowCount", &[&["FlowCount"]]),
];

/// Multi-valued cells join their values with this.
const JOIN: &str = " ";

/// Renders an export chunk by chunk.
pub struct Writer {
    format: Format,
    items: u64,
}

impl Writer {
    pub fn new(format: Format) -> Self {
        Self { format, items: 0 }
    }

    /// What comes before the first event.
    pub fn start(&self) -> Vec<u8> {
        match self.format {
            Format::Ndjson => Vec::new(),
            Format::Json => b"[".to_vec(),
            Format::Csv => {
                let mut w = csv::Writer::from_writer(Vec::new());
                w.write_record(CSV_COLUMNS.iter().map(|(name, _)| *name)).expect("writing to memory");
                w.into_inner().expect("writing to memory")
            }
        }
    }

    /// A chunk of events. A message whose stored bytes are no JSON (never stored so) fails.
    pub fn chunk(&mut self, events: &[StoredEvent]) -> Result<Vec<u8>, String> {
        let mut out = Vec::with_capacity(events.iter().map(|e| e.raw.len() + 2).sum());
        match self.format {
            Format::Ndjson | Format::Json => {
                for e in events {
                    if self.format == Format::Json {
                        out.extend_from_slice(if self.items == 0 { b"\n" } else { b",\n" });
                    }
                    // The stored bytes may be pretty-printed; a line must hold one message.
                    let v: Value = e.json().map_err(|e| e.to_string())?;
                    serde_json::to_writer(&mut out, &v).map_err(|e| e.to_string())?;
                    if self.format == Format::Ndjson {
                        out.push(b'\n');
                    }
                    self.items += 1;
                }
            }
            Format::Csv => {
                let mut w = csv::Writer::from_writer(out);
                for e in events {
                    let v: Value = e.json().map_err(|e| e.to_string())?;
                    w.write_record(csv_row(e, &v)).map_err(|e| e.to_string())?;
                    self.items += 1;
                }
                out = w.into_inner().map_err(|e| e.to_string())?;
            }
        }
        Ok(out)
    }

    /// What comes after the last event.
    pub fn end(&self) -> Vec<u8> {
        match self.format {
            Format::Json if self.items == 0 => b"]\n".to_vec(),
            Format::Json => b"\n]\n".to_vec(),
            _ => Vec::new(),
        }
    }
}

fn csv_row(e: &StoredEvent, v: &Value) -> Vec<String> {
    CSV_COLUMNS
        .iter()
        .map(|(name, paths)| {
            let mut values = Vec::new();
            for path in *paths {
                // Of the private dictionaries, the first holding a value wins (`_Mentat`).
                if path[0].starts_with('_') && !values.is_empty() {
                    break;
                }
                collect(v, path, &mut values);
            }
            let mut seen = std::collections::HashSet::new();
            values.retain(|s| seen.insert(s.clone()));
            if values.is_empty() && *name == "DetectTime" {
                values.push(render(&e.detecttime));
            }
            neutralise(values.join(JOIN))
        })
        .collect()
}

/// A cell that a spreadsheet would evaluate as a formula (`=`, `+`, `-`, `@`, tab or CR
/// first) gets a leading `'`, which spreadsheets show as text: event fields are written by
/// whoever sent the event, and an analyst opens the export in a spreadsheet.
fn neutralise(cell: String) -> String {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}")
    } else {
        cell
    }
}

/// Every scalar at `path`, walking into arrays on the way.
fn collect(v: &Value, path: &[&str], out: &mut Vec<String>) {
    match v {
        Value::Array(items) => items.iter().for_each(|i| collect(i, path, out)),
        _ if path.is_empty() => match v {
            Value::String(s) => out.push(s.clone()),
            Value::Null => {}
            Value::Object(_) => out.push(v.to_string()),
            other => out.push(other.to_string()),
        },
        Value::Object(m) => {
            if let Some(next) = m.get(path[0]) {
                collect(next, &path[1..], out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(v: Value) -> StoredEvent {
        let t = chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap().and_hms_opt(0, 0, 0).unwrap();
        StoredEvent {
            id: v["ID"].as_str().unwrap().into(),
            detecttime: t,
            storagetime: t,
            raw: serde_json::to_vec_pretty(&v).unwrap(),
        }
    }

    fn render_all(format: Format, events: &[StoredEvent]) -> String {
        let mut w = Writer::new(format);
        let mut out = w.start();
        for c in events.chunks(1) {
            out.extend(w.chunk(c).unwrap());
        }
        out.extend(w.end());
        String::from_utf8(out).unwrap()
    }

    fn sample() -> Vec<StoredEvent> {
        vec![
            event(serde_json::json!({"ID": "a", "Category": ["Recon.Scanning", "Test"], "Description": "x, \"y\"",
                "Source": [{"IP4": ["192.0.2.1", "192.0.2.2"], "Port": [22]}, {"IP6": ["2001:db8::1"], "IP4": ["192.0.2.1"]}],
                "Node": [{"Name": "cz.x.a"}, {"Name": "cz.x.b"}], "_CESNET": {"EventSeverity": "low"}})),
            event(serde_json::json!({"ID": "b", "Category": ["Abusive.Spam"]})),
        ]
    }

    #[test]
    fn ndjson_and_json_hold_each_message_once() {
        let nd = render_all(Format::Ndjson, &sample());
        let lines: Vec<Value> = nd.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines.iter().map(|v| v["ID"].as_str().unwrap()).collect::<Vec<_>>(), ["a", "b"]);
        let arr: Vec<Value> = serde_json::from_str(&render_all(Format::Json, &sample())).unwrap();
        assert_eq!(arr, lines);
        let empty: Vec<Value> = serde_json::from_str(&render_all(Format::Json, &[])).unwrap();
        assert!(empty.is_empty());
    }

    #[test]
    fn csv_joins_multi_valued_fields_in_one_cell() {
        let text = render_all(Format::Csv, &sample());
        let mut r = csv::Reader::from_reader(text.as_bytes());
        let head = r.headers().unwrap().clone();
        let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
        let cell = |row: usize, col: &str| rows[row][head.iter().position(|h| h == col).unwrap()].to_string();
        assert_eq!(rows.len(), 2);
        assert_eq!(cell(0, "SourceIP"), "192.0.2.1 192.0.2.2 2001:db8::1");
        assert_eq!(cell(0, "Category"), "Recon.Scanning Test");
        assert_eq!(cell(0, "Description"), "x, \"y\"");
        assert_eq!(cell(0, "Detector"), "cz.x.a cz.x.b");
        assert_eq!(cell(0, "SourcePort"), "22");
        assert_eq!(cell(0, "Severity"), "low");
        assert_eq!(cell(1, "SourceIP"), "");
    }

    #[test]
    fn csv_cells_a_spreadsheet_would_evaluate_are_text() {
        let formulas = ["=HYPERLINK(\"http://x\")", "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx"];
        for f in formulas {
            let text = render_all(Format::Csv, &[event(serde_json::json!({"ID": "a", "Description": f}))]);
            let mut r = csv::Reader::from_reader(text.as_bytes());
            let head = r.headers().unwrap().clone();
            let row = r.records().next().unwrap().unwrap();
            let cell = &row[head.iter().position(|h| h == "Description").unwrap()];
            assert_eq!(cell, format!("'{f}"), "{f:?}");
        }
        assert_eq!(neutralise("192.0.2.1".into()), "192.0.2.1");
    }
}
