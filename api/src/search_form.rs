//! Hawat's search form: its parameter names and value formats, parsed once into
//! [`SearchParams`], with Hawat's rules and better messages.
//!
//! - Lists are ORed. Multi-selects may repeat a key or join values with commas. Addresses and
//!   ports are comma lists; duplicates and blanks are dropped, and defanged addresses
//!   (`192.0.2[.]1`) are read as plain ones.
//! - `not_*` switches accept `1`, `y`, `yes`, `true`, `on` (any case). Both `not_classes` and
//!   Hawat's misspelt `not_classess` negate the class list.
//! - Times are `YYYY-MM-DD HH:MM[:SS]` or `YYYY-MM-DDTHH:MM[:SS]` in the caller's zone, or ISO
//!   8601 with `Z` or an offset. An empty value means no bound. With no time parameter at
//!   all, the search covers the last seven days: `dt_from` = now floored to the hour − 7 d,
//!   as Hawat does. Relative times (`now`, `now-24h`, `now-7d`; units s, m, h, d, w) keep a
//!   bookmarked or shared search relative to when it is run.
//! - Every problem is reported as `(field, message)`, and each message names the bad value.

use chrono::{DateTime, NaiveDateTime, Offset, TimeDelta, TimeZone, Timelike, Utc};
use chrono_tz::Tz;

use ideadb_wire::search_params::{self, Kind, NOT_CLASSES_HAWAT};

use crate::form_grammar;
use crate::idea::IpRange;
use crate::stats::timeline::WINDOW;
use crate::storage::{Cursor, Hostname, SearchParams, SortBy, Values, Visibility};

pub use search_params::{DEFAULT_PAGE_SIZE, PAGE_SIZES};
const TIME_FIELDS: [&str; 4] = ["dt_from", "dt_to", "st_from", "st_to"];
/// The longest name DNS allows.
const MAX_HOSTNAME: usize = 253;

/// `(field, message)` pairs, Hawat's `form_errors`.
pub type FormErrors = Vec<(String, String)>;

/// Parses form or query-string pairs. `now` anchors the default time window.
pub fn parse(pairs: &[(String, String)], tz: Tz, now: DateTime<Utc>) -> Result<SearchParams, FormErrors> {
    let mut f = Form { pairs, errors: Vec::new(), tz, now };
    // In the form's order, so errors are reported in it.
    let (dt_from, dt_to, st_from, st_to) = (f.time("dt_from"), f.time("dt_to"), f.time("st_from"), f.time("st_to"));
    let (source_addrs, source_hostnames) = f.addrs("source_addrs");
    let (target_addrs, target_hostnames) = f.addrs("target_addrs");
    let (host_addrs, host_hostnames) = f.addrs("host_addrs");
    let mut p = SearchParams {
        dt_from,
        dt_to,
        st_from,
        st_to,
        source_addrs,
        target_addrs,
        host_addrs,
        source_hostnames,
        target_hostnames,
        host_hostnames,
        source_ports: f.ports("source_ports"),
        target_ports: f.ports("target_ports"),
        host_ports: f.ports("host_ports"),
        source_types: f.choice("source_types"),
        target_types: f.choice("target_types"),
        host_types: f.choice("host_types"),
        groups: f.choice("groups"),
        protocols: f.choice("protocols"),
        description: f.description(),
        categories: f.choice("categories"),
        severities: f.choice("severities"),
        classes: f.choice("classes"),
        detectors: f.choice("detectors"),
        detector_types: f.choice("detector_types"),
        inspection_errs: f.choice("inspection_errs"),
        tlps: f.choice("tlps"),
        target_groups: f.choice("target_groups"),
        target_classes: f.choice("target_classes"),
        target_severities: f.choice("target_severities"),
        detector_softwares: f.choice("detector_softwares"),
        shadow_reporting: f.tristate("shadow_reporting"),
        shadow_reporting_target: f.tristate("shadow_reporting_target"),
        page: f.page(),
        limit: Some(f.limit()),
        sortby: Some(f.sortby()),
        after: f.cursor(),
        // No form says who reads: the edge widens this from the account, so forgetting to
        // hides restricted events rather than showing them.
        visibility: Visibility::Groups(Vec::new()),
    };
    p.classes.negate |= f.flag(NOT_CLASSES_HAWAT);
    for (from, to, label) in [(p.dt_from, p.dt_to, "detection"), (p.st_from, p.st_to, "storage")] {
        if let (Some(a), Some(b)) = (from, to) {
            if a > b {
                let field = if label == "detection" { "dt_from" } else { "st_from" };
                f.error(field, format!("the {label} time range starts ({a}) after it ends ({b})"));
            }
        }
    }
    if !f.errors.is_empty() {
        return Err(f.errors);
    }
    if !TIME_FIELDS.iter().any(|k| f.has(k)) {
        let hour = now.naive_utc().with_minute(0).and_then(|t| t.with_second(0)).and_then(|t| t.with_nanosecond(0));
        p.dt_from = hour.map(|h| h - TimeDelta::days(7));
    }
    Ok(p)
}

/// The form's time zone: `tz`, an IANA name, default UTC.
pub fn zone(pairs: &[(String, String)]) -> Result<Tz, (String, String)> {
    let Some(raw) = pairs.iter().rev().find(|(k, _)| k == "tz").map(|(_, v)| v.as_str()) else {
        return Ok(chrono_tz::UTC);
    };
    let z = raw.trim();
    let bad = || ("tz".to_string(), format!("\"{z}\" is not a time zone name (e.g. Europe/Prague or UTC)"));
    if !form_grammar::accepts(Kind::Zone, raw) {
        return Err(bad());
    }
    if z.is_empty() {
        return Ok(chrono_tz::UTC);
    }
    z.parse().map_err(|_| bad())
}

/// A dashboard's range, in UTC, and the zone its timeline is aligned in.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Range {
    pub from: NaiveDateTime,
    pub to: NaiveDateTime,
    pub tz: Tz,
}

/// Hawat's dashboard form: `dt_from` (default: the last midnight UTC at least one window ago,
/// so that the default range always holds a whole window), `dt_to` (default: now) and `tz`.
pub fn parse_range(pairs: &[(String, String)], now: DateTime<Utc>) -> Result<Range, FormErrors> {
    let (tz, mut errors) = match zone(pairs) {
        Ok(tz) => (tz, Vec::new()),
        Err(e) => (chrono_tz::UTC, vec![e]),
    };
    let mut f = Form { pairs, errors: Vec::new(), tz, now };
    let now = now.naive_utc();
    let midnight = (now - TimeDelta::seconds(WINDOW)).date().and_hms_opt(0, 0, 0).expect("midnight");
    let from = f.time("dt_from").unwrap_or(midnight);
    let to = f.time("dt_to").unwrap_or(now);
    errors.append(&mut f.errors);
    if errors.is_empty() && from >= to {
        errors.push(("dt_from".into(), format!("the range starts ({from}) at or after it ends ({to})")));
    }
    if errors.is_empty() && to - from > TimeDelta::days(3660) {
        errors.push(("dt_from".into(), "the range may span ten years at most".into()));
    }
    if errors.is_empty() {
        Ok(Range { from, to, tz })
    } else {
        Err(errors)
    }
}

struct Form<'a> {
    pairs: &'a [(String, String)],
    errors: FormErrors,
    tz: Tz,
    now: DateTime<Utc>,
}

impl Form<'_> {
    fn all<'k>(&self, key: &'k str) -> impl Iterator<Item = &str> + use<'_, 'k> {
        self.pairs.iter().filter(move |(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    fn has(&self, key: &str) -> bool {
        self.all(key).next().is_some()
    }

    /// The last value of a key, as browsers and Hawat take it.
    fn one(&self, key: &str) -> Option<&str> {
        self.all(key).last()
    }

    fn error(&mut self, field: &str, message: String) {
        self.errors.push((field.to_string(), message));
    }

    /// Comma-separated items over every occurrence, trimmed of ASCII spaces as the grammar
    /// says; blanks and repeats dropped. Every occurrence must be written as `kind` wants;
    /// for one that is not, the first bad item is named by `what`.
    fn items(&mut self, key: &str, kind: Kind, what: &str) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut bad = Vec::new();
        for v in self.all(key) {
            let items = v.split(',').map(|i| i.trim_matches(|c: char| c.is_ascii_whitespace()));
            if !form_grammar::accepts(kind, v) {
                bad.push(items.clone().find(|i| !form_grammar::accepts(kind, i)).unwrap_or(v).to_string());
                continue;
            }
            for item in items.filter(|s| !s.is_empty()) {
                if !out.iter().any(|o| o.eq_ignore_ascii_case(item)) {
                    out.push(item.to_string());
                }
            }
        }
        for item in bad {
            self.error(key, format!("\"{item}\" is not {what}"));
        }
        out
    }

    fn flag(&self, key: &str) -> bool {
        self.one(key)
            .is_some_and(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "1" | "y" | "yes" | "true" | "on"))
    }

    /// mentat-ng's boolean parameters: `true` or `false` in any case; any other value adds
    /// no condition, as there.
    fn tristate(&self, key: &str) -> Option<bool> {
        match self.one(key)?.trim().to_ascii_lowercase().as_str() {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        }
    }

    /// A list of values, negated by its switch in the form's table. PostgreSQL text cannot
    /// hold NUL, so a value with one is an error, not a query that fails.
    fn choice(&mut self, key: &str) -> Values {
        let values = self.items(key, Kind::Text, "a value without NUL characters");
        let not = search_params::param(key).and_then(|p| p.not);
        Values { values, negate: not.is_some_and(|n| self.flag(n)) }
    }

    /// Addresses, networks and ranges, and the items that are none of these: hostnames.
    fn addrs(&mut self, key: &str) -> (Vec<IpRange>, Vec<Hostname>) {
        let what = "an IPv4 or IPv6 address, network (CIDR), range (a-b) or hostname";
        let mut out = Vec::new();
        let mut hosts = Vec::new();
        for item in self.items(key, Kind::Addresses, what) {
            let plain = item.replace("[.]", ".").replace("[:]", ":");
            // A range written high to low is the same set of addresses.
            let swapped = || plain.split_once('-').and_then(|(a, b)| IpRange::parse(&format!("{b}-{a}")).ok());
            match IpRange::parse(&plain).ok().or_else(swapped) {
                Some(r) if !out.contains(&r) => out.push(r),
                Some(_) => {}
                None if !form_grammar::is_hostname(&plain) => self.error(key, format!("\"{item}\" is not {what}")),
                None if plain.trim_start_matches('.').chars().count() > MAX_HOSTNAME => {
                    self.error(key, format!("\"{item}\" is longer than a hostname can be ({MAX_HOSTNAME} characters)"))
                }
                None => hosts.push(Hostname::of(&plain)),
            }
        }
        (out, hosts)
    }

    fn ports(&mut self, key: &str) -> Vec<u16> {
        let mut out = Vec::new();
        for item in self.items(key, Kind::Ports, "a port number (0-65535)") {
            match item.parse::<u16>() {
                Ok(p) => out.push(p),
                Err(_) => self.error(key, format!("\"{item}\" is not a port number (0-65535)")),
            }
        }
        out
    }

    /// The last value of `key` if it is written as `kind` wants, trimmed; an error naming
    /// `what` if it is not. None when absent or blank.
    fn checked(&mut self, key: &str, kind: Kind, what: impl FnOnce(&str) -> String) -> Option<String> {
        let v = self.one(key)?;
        if !form_grammar::accepts(kind, v) {
            let message = what(v.trim());
            self.error(key, message);
            return None;
        }
        Some(v.trim().to_string()).filter(|v| !v.is_empty())
    }

    fn time(&mut self, key: &str) -> Option<NaiveDateTime> {
        let tz = self.tz;
        let what = |v: &str| {
            format!(
                "\"{v}\" is not a date and time: use YYYY-MM-DD HH:MM[:SS] (in {tz}), RFC 3339 with Z or an offset, \
                 or now-N with a unit s, m, h, d or w (now-24h)"
            )
        };
        let v = self.checked(key, Kind::Time, what)?;
        let parsed = parse_time(&v, self.tz).or_else(|| relative(&v, self.now));
        if parsed.is_none() {
            self.error(key, what(&v));
        }
        parsed
    }

    /// Kept as written (not trimmed): it is matched as a substring.
    fn description(&mut self) -> Option<String> {
        let v = self.one("description")?.to_string();
        if !form_grammar::accepts(Kind::Text, &v) {
            self.error("description", "the description must not contain NUL characters".into());
            return None;
        }
        Some(v).filter(|s| !s.trim().is_empty())
    }

    fn page(&mut self) -> u32 {
        let v = self.checked("page", Kind::Page, |v| format!("\"{v}\" is not a page number (1 or more)"));
        v.and_then(|v| v.parse().ok()).unwrap_or(1)
    }

    fn limit(&mut self) -> u32 {
        let v =
            self.checked("limit", Kind::PageSize, |v| format!("\"{v}\" is not one of the page sizes {PAGE_SIZES:?}"));
        v.and_then(|v| v.parse().ok()).unwrap_or(DEFAULT_PAGE_SIZE)
    }

    fn sortby(&mut self) -> SortBy {
        let what =
            |v: &str| format!("\"{v}\" is not a sort order (time, detecttime or storagetime, then .asc or .desc)");
        self.checked("sortby", Kind::SortOrder, what).and_then(|v| SortBy::parse(&v)).unwrap_or_default()
    }

    fn cursor(&mut self) -> Option<Cursor> {
        let what = |v: &str| format!("\"{v}\" is not a cursor returned by a previous search (next_cursor)");
        self.checked("after", Kind::Cursor, what).and_then(|v| Cursor::decode(&v))
    }
}

/// A form time in naive UTC: local formats in `tz`, or ISO 8601 with a zone.
pub fn parse_time(v: &str, tz: Tz) -> Option<NaiveDateTime> {
    const LOCAL: [&str; 4] = ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M"];
    if let Some(t) = LOCAL.iter().find_map(|f| NaiveDateTime::parse_from_str(v, f).ok()) {
        return local_to_utc(t, tz);
    }
    DateTime::parse_from_rfc3339(v).ok().map(|d| d.naive_utc())
}

/// A local time in UTC. An ambiguous one (clocks turned back) is the earlier instant; one that
/// a change skipped (clocks turned forward) is read as the wall clock would have shown it
/// without the change, i.e. with the offset before it, as most calendars do.
fn local_to_utc(t: NaiveDateTime, tz: Tz) -> Option<NaiveDateTime> {
    if let Some(d) = tz.from_local_datetime(&t).earliest() {
        return Some(d.naive_utc());
    }
    // The offset in force a day before; skipped stretches are hours long (a day at most, as
    // Samoa's in 2011).
    let before = tz.offset_from_utc_datetime(&(t - TimeDelta::days(2))).fix();
    t.checked_sub_signed(TimeDelta::seconds(i64::from(before.local_minus_utc())))
}

/// `now`, or `now-N<unit>` with unit s, m, h, d or w.
fn relative(v: &str, now: DateTime<Utc>) -> Option<NaiveDateTime> {
    let rest = v.strip_prefix("now")?.trim();
    if rest.is_empty() {
        return Some(now.naive_utc());
    }
    let ago = rest.strip_prefix('-')?.trim();
    let unit = ago.chars().last()?;
    // Unsigned: `now--5s` would be a time in the future, and a huge one overflows.
    let n: u32 = ago[..ago.len() - unit.len_utf8()].trim().parse().ok()?;
    let secs = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        'w' => 604_800,
        _ => return None,
    };
    now.naive_utc().checked_sub_signed(TimeDelta::seconds((i64::from(n) * secs).min(400 * 365 * 86_400)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{SortDir, SortField};

    fn form(q: &[(&str, &str)]) -> Result<SearchParams, FormErrors> {
        let pairs: Vec<(String, String)> = q.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let now = DateTime::parse_from_rfc3339("2024-06-15T10:42:17Z").unwrap().with_timezone(&Utc);
        parse(&pairs, "Europe/Prague".parse().unwrap(), now)
    }

    #[test]
    fn address_items_that_are_no_address_are_hostnames() {
        let p = form(&[("target_addrs", "Mail.Example[.]com, .CZ, 192.0.2.1"), ("host_addrs", "x.example")]).unwrap();
        assert_eq!(p.target_addrs.iter().map(|a| a.to_string()).collect::<Vec<_>>(), ["192.0.2.1"]);
        assert_eq!(p.target_hostnames, [Hostname::Exact("mail.example.com".into()), Hostname::Part(".cz".into())]);
        assert_eq!(p.host_hostnames, [Hostname::Exact("x.example".into())]);
        let long = format!("{}.cz", "a".repeat(251));
        let errors = form(&[("source_addrs", &long), ("host_addrs", "exa mple.cz, 1.2.3")]).unwrap_err();
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors[0].0 == "source_addrs" && errors[0].1.contains("longer than a hostname"), "{errors:?}");
        assert!(errors[1].0 == "host_addrs" && errors[1].1.contains("\"exa mple.cz\""), "{errors:?}");
        let shape = form(&[("host_addrs", "1.2.3")]).unwrap_err();
        assert!(shape[0].1.contains("\"1.2.3\" is not an IPv4"), "a mistyped address is no name: {shape:?}");
    }

    #[test]
    fn every_parameter_is_read_with_hawat_names() {
        let p = form(&[
            ("dt_from", "2024-06-01 12:00"),
            ("dt_to", "2024-06-02T10:00:00Z"),
            ("source_addrs", "192.0.2[.]1, 10.0.0.0/8,192.0.2.1"),
            ("host_ports", "22,443"),
            ("categories", "Recon.Scanning"),
            ("categories", "Test,__EMPTY__"),
            ("not_categories", "on"),
            ("classes", "scan"),
            ("not_classess", "True"),
            ("description", "ssh"),
            ("limit", "500"),
            ("page", "3"),
            ("sortby", "storagetime.asc"),
            ("submit", "Search"),
            ("api_key", "ignored"),
        ])
        .unwrap();
        assert_eq!(p.dt_from.unwrap().to_string(), "2024-06-01 10:00:00", "Prague is UTC+2 in June");
        assert_eq!(p.dt_to.unwrap().to_string(), "2024-06-02 10:00:00");
        assert_eq!(p.source_addrs.iter().map(|a| a.to_string()).collect::<Vec<_>>(), ["192.0.2.1", "10.0.0.0/8"]);
        assert_eq!(p.host_ports, [22, 443]);
        assert_eq!(
            p.categories,
            Values { values: vec!["Recon.Scanning".into(), "Test".into(), "__EMPTY__".into()], negate: true }
        );
        assert!(p.classes.negate, "Hawat's misspelling negates too");
        assert_eq!((p.limit, p.page), (Some(500), 3));
        assert_eq!(p.sortby, Some(SortBy { field: SortField::StorageTime, dir: SortDir::Asc }));
    }

    #[test]
    fn time_defaults_follow_hawat() {
        let p = form(&[("submit", "Search")]).unwrap();
        assert_eq!(p.dt_from.unwrap().to_string(), "2024-06-08 10:00:00", "now floored to the hour, minus 7 days");
        assert_eq!((p.limit, p.page, p.sortby), (Some(100), 1, Some(SortBy::default())));
        assert_eq!(form(&[("dt_from", "")]).unwrap().dt_from, None, "an empty dt_from means no bound");
        assert_eq!(form(&[("st_to", "2024-01-01T00:00:00+01:00")]).unwrap().dt_from, None);
    }

    #[test]
    fn relative_times_count_back_from_now() {
        let p = form(&[("dt_from", "now-24h"), ("dt_to", "now"), ("st_from", "now - 2w")]).unwrap();
        assert_eq!(p.dt_from.unwrap().to_string(), "2024-06-14 10:42:17");
        assert_eq!(p.dt_to.unwrap().to_string(), "2024-06-15 10:42:17");
        assert_eq!(p.st_from.unwrap().to_string(), "2024-06-01 10:42:17");
        for bad in
            ["now-", "now-5", "now-5y", "now+1h", "nowish", "now--5s", "now--9999999999999999s", "now-99999999999w"]
        {
            let errs = form(&[("dt_from", bad)]).unwrap_err();
            assert!(errs[0].1.contains(&format!("\"{bad}\"")), "{bad}: {errs:?}");
        }
    }

    #[test]
    fn values_that_the_database_cannot_hold_are_form_errors() {
        // A NUL in a category reached PostgreSQL and failed the search with a 500.
        let errs = form(&[("categories", "Recon.Scanning,a\0b"), ("classes", "x")]).unwrap_err();
        assert_eq!(errs, [("categories".to_string(), "\"a\0b\" is not a value without NUL characters".to_string())]);
    }

    #[test]
    fn the_default_dashboard_range_holds_a_whole_window_at_any_time_of_day() {
        let range = |now: &str| {
            let now = NaiveDateTime::parse_from_str(now, "%Y-%m-%d %H:%M:%S").unwrap().and_utc();
            parse_range(&[("dt_from".into(), String::new()), ("dt_to".into(), String::new())], now).map(|r| r.from)
        };
        let day = |d: &str| NaiveDateTime::parse_from_str(&format!("{d} 00:00:00"), "%Y-%m-%d %H:%M:%S").unwrap();
        // In a day's first five minutes the range from its midnight held no whole window,
        // and at midnight itself it was empty: the dashboard's chart answered 400.
        assert_eq!(range("2026-12-08 00:00:00"), Ok(day("2026-12-07")));
        assert_eq!(range("2026-12-08 00:04:59"), Ok(day("2026-12-07")));
        assert_eq!(range("2026-12-08 00:05:00"), Ok(day("2026-12-08")));
        assert_eq!(range("2026-12-08 17:30:00"), Ok(day("2026-12-08")));
    }

    #[test]
    fn ranges_either_way_round_and_skipped_local_times_are_read() {
        let p = form(&[("source_addrs", "192.0.2.9 - 192.0.2.1"), ("dt_from", "2024-03-31 02:30")]).unwrap();
        assert_eq!(p.source_addrs[0].to_string(), "192.0.2.1-192.0.2.9");
        // Prague skipped 02:00-03:00 that night; 02:30 is read with the winter offset, UTC+1.
        assert_eq!(p.dt_from.unwrap().to_string(), "2024-03-31 01:30:00");
    }

    #[test]
    fn bad_values_are_each_reported_by_field_and_value() {
        let errs = form(&[
            ("dt_from", "yesterday"),
            ("source_addrs", "10.0.0.1,300.1.1.1"),
            ("target_ports", "70000"),
            ("limit", "7"),
            ("page", "0"),
            ("sortby", "size.asc"),
            ("after", "nope"),
            ("st_from", "2024-02-01 00:00"),
            ("st_to", "2024-01-01 00:00"),
        ])
        .unwrap_err();
        let fields: Vec<&str> = errs.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(fields, ["dt_from", "source_addrs", "target_ports", "page", "limit", "sortby", "after", "st_from"]);
        assert!(errs[0].1.contains("\"yesterday\"") && errs[0].1.contains("Europe/Prague"));
        assert!(errs[1].1.contains("\"300.1.1.1\""));
        assert!(errs[2].1.contains("\"70000\""));
        assert!(errs[7].1.contains("starts"));
    }
}
