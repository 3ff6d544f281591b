//! IDEA0 messages: validation and the mapping to an `events` row (Mentat's `idea.sqldb`).
//!
//! Validation is strict where a wrong value would be stored or searched wrongly (times,
//! addresses, ports, categories, identifiers) and lenient where real detectors commonly slip
//! without harm. The lenient rules, each tested against `nonconformant/` of the corpus:
//! - a bare scalar where IDEA wants a list (`"Type": "Miner"`, `"Port": 22`,
//!   `"IP4": "1.2.3.4"`) is read as a one-element list (Mentat's validator splits such a
//!   string into its letters, which is wrong either way);
//! - a number written as a string (`"Port": ["22"]`, `"Confidence": "0.95"`) is read as
//!   the number, as the IDEA library's `int()`/`float()` do;
//! - a message whose Nodes carry no Name is stored with an empty detector list (findable
//!   with `detectors=__EMPTY__`); Mentat's insert fails on it, yet it is valid IDEA;
//! - a Node name that is not a lowercase NSID (`"Name": "CERT-PL.n6"`) is kept as written,
//!   since it identifies the detector and analysts search for it verbatim.
//!
//! Unknown keys are kept: the message is stored as the bytes received.

pub mod json;
pub mod net;
pub mod row;
pub mod taxonomy;
pub mod time;

use json::{Json, Object};
pub use net::{Family, IpRange};
pub use row::EventRow;

/// Why a message is not valid IDEA: the JSON path of the offending value and the problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct IdeaError {
    pub path: String,
    pub message: String,
}

impl IdeaError {
    fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self { path: path.into(), message: message.into() }
    }
}

/// Parses and validates raw JSON bytes as one IDEA message.
pub fn parse(raw: &[u8]) -> Result<EventRow, IdeaError> {
    let v = Json::parse(raw).map_err(|e| IdeaError::new("$", format!("not valid JSON: {e}")))?;
    let obj = v
        .as_object()
        .ok_or_else(|| IdeaError::new("$", format!("an IDEA message must be a JSON object, got {}", v.kind())))?;
    validate_header(obj)?;
    let row = row::map(obj)?;
    check_lengths(&row)?;
    Ok(row)
}

/// The longest ID or tag stored, in bytes. PostgreSQL indexes each value as one entry, and
/// one past about 2.7 kB cannot be indexed at all: it would fail the message's whole batch.
pub const MAX_VALUE_BYTES: usize = 1024;

fn one(v: &Option<String>) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

fn many(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// Every indexed or listed value of `row` within [`MAX_VALUE_BYTES`].
fn check_lengths(row: &EventRow) -> Result<(), IdeaError> {
    let fields: [(&str, Vec<&str>); 18] = [
        ("ID", vec![row.id.as_str()]),
        ("Category", many(&row.category)),
        ("Source.Type", many(&row.source_type)),
        ("Target.Type", many(&row.target_type)),
        ("Proto", many(&row.protocol)),
        ("Node.Name", many(&row.node_name)),
        ("Node.Type", many(&row.node_type)),
        ("ResolvedAbuses", many(&row.resolvedabuses)),
        ("EventClass", one(&row.eventclass)),
        ("EventSeverity", one(&row.eventseverity)),
        ("InspectionErrors", many(&row.inspectionerrors)),
        ("TLP", one(&row.tlp)),
        ("TargetAbuses", many(&row.targetabuses)),
        ("TargetClass", one(&row.targetclass)),
        ("TargetSeverity", one(&row.targetseverity)),
        ("Node.SW", many(&row.node_sw)),
        ("Source.Hostname", many(&row.source_hostname)),
        ("Target.Hostname", many(&row.target_hostname)),
    ];
    for (field, values) in fields {
        if let Some(v) = values.iter().find(|v| v.len() > MAX_VALUE_BYTES) {
            return Err(IdeaError::new(
                field,
                format!("a value of {} bytes is too long to store (at most {MAX_VALUE_BYTES})", v.len()),
            ));
        }
    }
    Ok(())
}

fn validate_header(obj: &Object) -> Result<(), IdeaError> {
    match obj.get("Format") {
        Some(Json::Str(s)) if s == "IDEA0" => {}
        Some(other) => return Err(IdeaError::new("Format", format!("must be \"IDEA0\", got {other}"))),
        None => return Err(IdeaError::new("Format", "is required")),
    }
    for key in ["CreateTime", "EventTime", "CeaseTime", "WinStartTime", "WinEndTime"] {
        if let Some(t) = obj.get(key) {
            time::parse(t).map_err(|m| IdeaError::new(key, m))?;
        }
    }
    for key in ["ConnCount", "FlowCount", "PacketCount", "ByteCount"] {
        if let Some(n) = obj.get(key) {
            if as_u64(n).is_none() {
                return Err(IdeaError::new(key, format!("must be a non-negative integer, got {n}")));
            }
        }
    }
    if let Some(c) = obj.get("Confidence") {
        match c.as_f64().or_else(|| c.as_str().and_then(|s| s.trim().parse().ok())) {
            Some(x) if (0.0..=1.0).contains(&x) => {}
            _ => return Err(IdeaError::new("Confidence", format!("must be a number from 0 to 1, got {c}"))),
        }
    }
    for key in ["Description", "Note", "TLP"] {
        if let Some(s) = obj.get(key) {
            if s.as_str().is_none() {
                return Err(IdeaError::new(key, format!("must be a string, got {}", s.kind())));
            }
        }
    }
    for key in ["Source", "Target", "Node", "Attach"] {
        if let Some(items) = obj.get(key) {
            for (i, item) in list(items).enumerate() {
                if item.as_object().is_none() {
                    return Err(IdeaError::new(
                        format!("{key}[{i}]"),
                        format!("must be an object, got {}", item.kind()),
                    ));
                }
            }
        }
    }
    Ok(())
}

/// A non-negative integer, also when written as a string of digits.
pub(crate) fn as_u64(v: &Json) -> Option<u64> {
    v.as_u64().or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
}

/// Items of a list-valued IDEA key; a bare scalar counts as a one-element list (lenient rule).
pub(crate) fn list<'v, 'a>(v: &'v Json<'a>) -> std::slice::Iter<'v, Json<'a>> {
    let items: &[Json] = match v {
        Json::List(a) => a,
        Json::Null => &[],
        other => std::slice::from_ref(other),
    };
    items.iter()
}

/// The strings of a list-valued key, each checked to be a string; `path` is only built
/// for an error, since this runs for every item of every message.
pub(crate) fn strings<'v>(v: Option<&'v Json>, path: impl Fn() -> String) -> Result<Vec<&'v str>, IdeaError> {
    let Some(v) = v else { return Ok(Vec::new()) };
    list(v)
        .enumerate()
        .map(|(i, item)| match item {
            Json::Str(s) => Ok(&**s),
            other => Err(IdeaError::new(format!("{}[{i}]", path()), format!("must be a string, got {}", other.kind()))),
        })
        .collect()
}

/// `^[a-zA-Z0-9._-]+$`: IDEA's ID type.
pub fn is_id(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// `^[a-zA-Z0-9_-]+(\.[a-zA-Z0-9_-]+)?$`: IDEA's category tag.
pub(crate) fn is_category(s: &str) -> bool {
    let word = |w: &str| !w.is_empty() && w.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'));
    match s.split_once('.') {
        Some((a, b)) => word(a) && word(b),
        None => word(s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_and_ids_follow_the_idea_patterns() {
        assert!(is_category("Recon.Scanning") && is_category("Test") && is_category("Suspicious.Miner"));
        assert!(!is_category("Recon.Scanning.Deep") && !is_category("Recon Scanning") && !is_category(""));
        assert!(is_id("4390fc3f-c753-4a3e-bc83-1b44f24baf75") && is_id("msg01-dup3") && is_id("a.b_c"));
        assert!(!is_id("") && !is_id("a b") && !is_id("a/b"));
    }
}
