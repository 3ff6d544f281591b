//! The search parameters of Hawat's event search, typed: what `query` turns into SQL.

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

use crate::idea::IpRange;

/// The special list value matching events without any value.
pub const EMPTY: &str = "__EMPTY__";
/// The special list value matching events with at least one value.
pub const ANY: &str = "__ANY__";

/// A list filter: values ORed, optionally negated as a whole.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Values {
    pub values: Vec<String>,
    pub negate: bool,
}

impl Values {
    pub fn of<S: Into<String>>(values: impl IntoIterator<Item = S>) -> Self {
        Self { values: values.into_iter().map(Into::into).collect(), negate: false }
    }
    pub fn negated(mut self) -> Self {
        self.negate = true;
        self
    }
    pub(crate) fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SortField {
    /// Storage time when a storage-time bound is given, else detection time (Hawat's `time`).
    Time,
    DetectTime,
    StorageTime,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SortDir {
    Asc,
    Desc,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SortBy {
    pub field: SortField,
    pub dir: SortDir,
}

impl SortBy {
    /// Parses Hawat's `field.dir` (`time.desc`, `storagetime.asc`, …).
    pub fn parse(s: &str) -> Option<Self> {
        let (f, d) = s.split_once('.')?;
        let field = match f {
            "time" => SortField::Time,
            "detecttime" => SortField::DetectTime,
            "storagetime" => SortField::StorageTime,
            _ => return None,
        };
        let dir = match d {
            "asc" => SortDir::Asc,
            "desc" => SortDir::Desc,
            _ => return None,
        };
        Some(Self { field, dir })
    }
}

impl Default for SortBy {
    fn default() -> Self {
        Self { field: SortField::Time, dir: SortDir::Desc }
    }
}

/// A keyset position: the sort time and ID of the last row of the previous page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub time: NaiveDateTime,
    pub id: String,
}

impl Cursor {
    /// `<microseconds since 1970>~<ID>`: URL-safe as it is, since IDs are `[a-zA-Z0-9._-]+`.
    pub fn encode(&self) -> String {
        format!("{}~{}", self.time.and_utc().timestamp_micros(), self.id)
    }

    pub fn decode(token: &str) -> Option<Self> {
        let (micros, id) = token.trim().split_once('~')?;
        let time = chrono::DateTime::from_timestamp_micros(micros.parse().ok()?)?.naive_utc();
        crate::idea::is_id(id).then(|| Self { time, id: id.to_string() })
    }
}

/// A hostname item of an address list, lower-cased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hostname {
    /// A whole name, matched exactly.
    Exact(String),
    /// Written with a leading dot (`.cz`): a part of any name, dot included.
    Part(String),
}

impl Hostname {
    /// The item as written: a leading dot makes it a part of a name.
    pub fn of(item: &str) -> Self {
        let item = item.to_lowercase();
        if item.starts_with('.') {
            Self::Part(item)
        } else {
            Self::Exact(item)
        }
    }
}

/// TLP values that hide an event from readers outside its abuse groups (stored upper-cased).
pub const RESTRICTED_TLP: [&str; 3] = ["AMBER-STRICT", "AMBER", "RED"];

/// Which events a search may return (mentat-ng's TLP restriction).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Visibility {
    /// Every event: maintainers, administrators and the server's own work.
    #[default]
    All,
    /// Events without a restricting TLP, and restricted ones whose source or target abuse
    /// groups include one of these.
    Groups(Vec<String>),
}

impl Visibility {
    /// The condition on the `events` row named `row`, the groups bound at placeholder `$n`.
    pub(crate) fn sql(row: &str, n: usize) -> String {
        let restricted: Vec<String> = RESTRICTED_TLP.iter().map(|t| format!("'{t}'")).collect();
        format!(
            "({row}.tlp IS NULL OR {row}.tlp NOT IN ({}) OR {row}.cesnet_resolvedabuses && ${n}::text[] \
             OR {row}.targetabuses && ${n}::text[])",
            restricted.join(", ")
        )
    }

    /// The groups to bind, or None when every event is visible.
    pub(crate) fn groups(&self) -> Option<&[String]> {
        match self {
            Self::All => None,
            Self::Groups(g) => Some(g),
        }
    }
}

/// Every search parameter of Hawat's event search, typed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SearchParams {
    pub dt_from: Option<NaiveDateTime>,
    pub dt_to: Option<NaiveDateTime>,
    pub st_from: Option<NaiveDateTime>,
    pub st_to: Option<NaiveDateTime>,
    pub source_addrs: Vec<IpRange>,
    pub target_addrs: Vec<IpRange>,
    pub host_addrs: Vec<IpRange>,
    /// The hostname items of the three address lists, ORed with their addresses.
    pub source_hostnames: Vec<Hostname>,
    pub target_hostnames: Vec<Hostname>,
    pub host_hostnames: Vec<Hostname>,
    pub source_ports: Vec<u16>,
    pub target_ports: Vec<u16>,
    pub host_ports: Vec<u16>,
    pub source_types: Values,
    pub target_types: Values,
    pub host_types: Values,
    pub groups: Values,
    pub protocols: Values,
    pub description: Option<String>,
    pub categories: Values,
    pub severities: Values,
    pub classes: Values,
    pub detectors: Values,
    pub detector_types: Values,
    pub inspection_errs: Values,
    /// mentat-ng's newer parameters: TLP (case-insensitive), the target side's abuse
    /// groups, class and severity, and the detectors' software.
    pub tlps: Values,
    pub target_groups: Values,
    pub target_classes: Values,
    pub target_severities: Values,
    pub detector_softwares: Values,
    /// Shadow reports only (true) or none (false); None adds no condition.
    pub shadow_reporting: Option<bool>,
    pub shadow_reporting_target: Option<bool>,
    /// 1-based page for OFFSET paging; ignored when `after` is given.
    pub page: u32,
    pub limit: Option<u32>,
    pub sortby: Option<SortBy>,
    pub after: Option<Cursor>,
    /// Not a form parameter: set from the account at the edge, applied by every statement.
    pub visibility: Visibility,
}

impl SearchParams {
    /// Every list filter by its form name.
    pub fn lists(&self) -> [(&'static str, &Values); 16] {
        [
            ("source_types", &self.source_types),
            ("target_types", &self.target_types),
            ("host_types", &self.host_types),
            ("groups", &self.groups),
            ("protocols", &self.protocols),
            ("categories", &self.categories),
            ("severities", &self.severities),
            ("classes", &self.classes),
            ("detectors", &self.detectors),
            ("detector_types", &self.detector_types),
            ("inspection_errs", &self.inspection_errs),
            ("tlps", &self.tlps),
            ("target_groups", &self.target_groups),
            ("target_classes", &self.target_classes),
            ("target_severities", &self.target_severities),
            ("detector_softwares", &self.detector_softwares),
        ]
    }

    /// Rows skipped before this page: `(page - 1) * limit`, or none when a cursor pages.
    pub fn offset(&self) -> u64 {
        match (self.limit, &self.after) {
            (Some(limit), None) => u64::from(self.page.max(1) - 1) * u64::from(limit),
            _ => 0,
        }
    }
}

/// What the built statement returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryKind {
    /// Events with the message bytes (`events` joined with `events_json`).
    Select,
    /// Events from the `events` columns only (Mentat's ghost rows).
    SelectGhost,
    /// `count(*)` of the matches, without sorting or paging.
    Count,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_rejects_garbage() {
        let c = Cursor {
            time: chrono::DateTime::from_timestamp(1_700_000_000, 5000).unwrap().naive_utc(),
            id: "ab-1.x".into(),
        };
        assert_eq!(Cursor::decode(&c.encode()), Some(c));
        assert_eq!(Cursor::decode("not a cursor"), None);
        assert_eq!(SortBy::parse("storagetime.asc"), Some(SortBy { field: SortField::StorageTime, dir: SortDir::Asc }));
        assert_eq!(SortBy::parse("size.asc"), None);
    }
}
