//! Hawat's event search form, written down once: every parameter, how its value is written,
//! the switch that negates it, and where and how the browser app shows it.
//!
//! The server's form parser takes each list's negating switch from here, the app builds its
//! form from [`SECTIONS`], and a test of the server checks that the OpenAPI document declares
//! exactly [`search`] for the search and [`export`] (plus its own `format` and `max`) for the
//! export, since poem-openapi needs each operation's parameters spelt out.

/// How a parameter's value is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A time bound: local, RFC 3339 or relative (`now-24h`).
    Time,
    /// The IANA zone of local times.
    Zone,
    /// Comma-separated addresses, networks and ranges.
    Addresses,
    /// Comma-separated port numbers.
    Ports,
    /// Values that `/api/events/metadata` lists, ORed.
    Choice,
    /// Free text.
    Text,
    /// Yes (`1`, `y`, `yes`, `true`, `on`) or no.
    Switch,
    /// `true` or `false` (any case); any other value, or none, adds no condition.
    Flag,
    /// How results are paged and sorted.
    Page,
    PageSize,
    SortOrder,
    Cursor,
}

/// One parameter of the form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Param {
    pub name: &'static str,
    pub kind: Kind,
    /// The switch that negates this list.
    pub not: Option<&'static str>,
    pub label: &'static str,
    /// What the app shows in an empty field.
    pub hint: &'static str,
}

const fn p(name: &'static str, kind: Kind, label: &'static str, hint: &'static str) -> Param {
    Param { name, kind, not: None, label, hint }
}

const fn choice(name: &'static str, label: &'static str, not: Option<&'static str>) -> Param {
    Param { name, kind: Kind::Choice, not, label, hint: "" }
}

/// The page sizes a search accepts (Hawat's), and the one without `limit`.
pub const PAGE_SIZES: &[u32] = &[5, 10, 20, 25, 30, 50, 100, 200, 250, 500, 1000, 2500, 5000, 10000];
pub const DEFAULT_PAGE_SIZE: u32 = 100;

/// What the app shows in an empty time field.
pub const TIME_HINT: &str = "YYYY-MM-DD HH:MM, ISO 8601 or now-24h";

/// The form's sections as Hawat groups them, each with its parameters in order.
pub const SECTIONS: [(&str, &[Param]); 5] = [
    (
        "Time",
        &[
            p("dt_from", Kind::Time, "Detection time from", TIME_HINT),
            p("dt_to", Kind::Time, "Detection time to", TIME_HINT),
            p("st_from", Kind::Time, "Storage time from", TIME_HINT),
            p("st_to", Kind::Time, "Storage time to", TIME_HINT),
            p("tz", Kind::Zone, "Time zone", "UTC"),
        ],
    ),
    (
        "Origin",
        &[
            p("source_addrs", Kind::Addresses, "Source addresses", "IPv4/IPv6, CIDR or a-b, comma-separated"),
            p("target_addrs", Kind::Addresses, "Target addresses", "IPv4/IPv6, CIDR or a-b"),
            p("host_addrs", Kind::Addresses, "Host addresses (source or target)", "overrides source and target"),
            p("source_ports", Kind::Ports, "Source ports", "22, 443"),
            p("target_ports", Kind::Ports, "Target ports", "22, 443"),
            p("host_ports", Kind::Ports, "Host ports", "overrides source and target"),
            choice("source_types", "Source types", None),
            choice("target_types", "Target types", None),
            choice("host_types", "Host types", None),
            choice("groups", "Abuse groups", Some("not_groups")),
            choice("target_groups", "Target abuse groups", Some("not_target_groups")),
        ],
    ),
    (
        "Event",
        &[
            choice("categories", "Categories", Some("not_categories")),
            p("description", Kind::Text, "Description contains", "case-insensitive"),
            choice("protocols", "Protocols", Some("not_protocols")),
            choice("severities", "Severities", Some("not_severities")),
            choice("classes", "Classes", Some("not_classes")),
            choice("target_severities", "Target severities", Some("not_target_severities")),
            choice("target_classes", "Target classes", Some("not_target_classes")),
            choice("tlps", "TLP", Some("not_tlps")),
        ],
    ),
    (
        "Detector",
        &[
            choice("detectors", "Detectors", Some("not_detectors")),
            choice("detector_types", "Detector types", Some("not_detector_types")),
            choice("detector_softwares", "Detector software", Some("not_detector_softwares")),
        ],
    ),
    (
        "Special",
        &[
            choice("inspection_errs", "Inspection errors", Some("not_inspection_errs")),
            p("shadow_reporting", Kind::Flag, "Shadow reporting", "true or false"),
            p("shadow_reporting_target", Kind::Flag, "Shadow reporting (target)", "true or false"),
        ],
    ),
];

/// Hawat's misspelt switch, which negates `classes` too.
pub const NOT_CLASSES_HAWAT: &str = "not_classess";

/// How results are sorted, for a search and an export alike.
pub const SORT: Param = p("sortby", Kind::SortOrder, "Sort", "time.desc");

/// What only a search takes: paging, counting and the switch that runs it.
pub const PAGING: [Param; 5] = [
    p("page", Kind::Page, "Page", "1"),
    p("limit", Kind::PageSize, "Page size", "100"),
    p("after", Kind::Cursor, "After", ""),
    p("count", Kind::Switch, "Count every match", ""),
    p("submit", Kind::Switch, "Search", ""),
];

/// The parameter with this name, if the form has one (negating switches are no parameters
/// of their own here).
pub fn param(name: &str) -> Option<&'static Param> {
    SECTIONS.iter().flat_map(|(_, ps)| ps.iter()).chain([&SORT]).chain(&PAGING).find(|p| p.name == name)
}

/// Every filter's name and the names of the switches that negate them.
fn filters() -> impl Iterator<Item = &'static str> {
    let params = SECTIONS.iter().flat_map(|(_, ps)| ps.iter());
    params.flat_map(|p| [Some(p.name), p.not]).flatten().chain([NOT_CLASSES_HAWAT, SORT.name])
}

/// The names a search takes.
pub fn search() -> Vec<&'static str> {
    filters().chain(PAGING.iter().map(|p| p.name)).collect()
}

/// The names an export takes besides its own `format` and `max`.
pub fn export() -> Vec<&'static str> {
    filters().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_is_declared_once() {
        let all = search();
        for name in &all {
            assert_eq!(all.iter().filter(|n| *n == name).count(), 1, "{name}");
        }
        assert_eq!(param("groups").and_then(|p| p.not), Some("not_groups"));
        assert!(export().iter().all(|n| all.contains(n)) && !export().contains(&"page"));
    }
}
