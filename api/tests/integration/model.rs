//! An independent model of search semantics: reads each message's own JSON (not the
//! production row mapping) and decides whether it matches, following spec §3.

use std::net::IpAddr;
use std::str::FromStr;

use chrono::{DateTime, NaiveDateTime};
use ideadb::storage::{Hostname, SearchParams, SortDir, SortField, Values, Visibility, ANY, EMPTY};
use serde_json::Value;

/// (is_v6, low, high)
pub type Span = (bool, u128, u128);

pub fn span(s: &str) -> Span {
    let addr = |a: &str| -> (bool, u128) {
        match IpAddr::from_str(a.trim()).unwrap_or_else(|_| panic!("address {a}")) {
            IpAddr::V4(x) => (false, u128::from(u32::from(x))),
            IpAddr::V6(x) => (true, u128::from(x)),
        }
    };
    if let Some((a, b)) = s.split_once('-') {
        let (v6, lo) = addr(a);
        return (v6, lo, addr(b).1);
    }
    if let Some((a, p)) = s.split_once('/') {
        let (v6, ip) = addr(a);
        let bits = if v6 { 128 } else { 32 };
        let host: u128 = if p.parse::<u32>().unwrap() == 0 {
            if v6 {
                u128::MAX
            } else {
                u128::from(u32::MAX)
            }
        } else {
            (1u128 << (bits - p.parse::<u32>().unwrap())) - 1
        };
        return (v6, ip & !host, (ip & !host) | host);
    }
    let (v6, ip) = addr(s);
    (v6, ip, ip)
}

#[derive(Debug, Clone)]
pub struct Msg {
    pub id: String,
    pub detect: NaiveDateTime,
    pub storage: NaiveDateTime,
    pub categories: Vec<String>,
    pub description: Option<String>,
    pub sources: Vec<Span>,
    pub targets: Vec<Span>,
    pub source_ports: Vec<i64>,
    pub target_ports: Vec<i64>,
    pub source_types: Vec<String>,
    pub target_types: Vec<String>,
    pub protocols: Vec<String>,
    pub detectors: Vec<String>,
    pub detector_types: Vec<String>,
    pub groups: Vec<String>,
    pub class: Option<String>,
    pub severity: Option<String>,
    pub inspection_errs: Vec<String>,
    pub tlp: Option<String>,
    pub target_groups: Vec<String>,
    pub target_class: Option<String>,
    pub target_severity: Option<String>,
    pub softwares: Vec<String>,
    pub shadow: bool,
    pub shadow_target: bool,
    pub source_names: Vec<String>,
    pub target_names: Vec<String>,
}

fn items(v: &Value) -> Vec<&Value> {
    match v {
        Value::Array(a) => a.iter().collect(),
        Value::Null => vec![],
        x => vec![x],
    }
}

fn strs(v: &Value) -> Vec<String> {
    items(v).into_iter().filter_map(|x| x.as_str().map(String::from)).collect()
}

/// Hostname items and the host part of URL items, lower-cased.
fn names(item: &Value) -> Vec<String> {
    let url_host = |u: &String| {
        let rest = u.split_once("://").map_or(u.as_str(), |(_, r)| r);
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        let host = if host.starts_with('[') {
            host.trim_start_matches('[').split(']').next().unwrap_or("")
        } else {
            host.split(':').next().unwrap_or("")
        };
        host.to_lowercase()
    };
    let mut out: Vec<String> = strs(&item["Hostname"]).iter().map(|h| h.to_lowercase()).collect();
    out.extend(strs(&item["URL"]).iter().map(url_host).filter(|h| !h.is_empty()));
    out
}

fn time(v: &Value) -> NaiveDateTime {
    match v {
        Value::String(s) => DateTime::parse_from_rfc3339(s).unwrap().naive_utc(),
        n => DateTime::from_timestamp_micros((n.as_f64().unwrap() * 1e6).round() as i64).unwrap().naive_utc(),
    }
}

impl Msg {
    pub fn new(v: &Value) -> Self {
        let private = |k: &str| -> Value {
            for d in ["_Mentat", "_CESNET"] {
                if let Some(x) = v.get(d).and_then(|d| d.get(k)) {
                    return x.clone();
                }
            }
            Value::Null
        };
        let side = |key: &str, f: &dyn Fn(&Value) -> Vec<String>| -> Vec<String> {
            items(&v[key]).into_iter().flat_map(f).collect()
        };
        let spans = |key: &str| -> Vec<Span> {
            side(key, &|s| [strs(&s["IP4"]), strs(&s["IP6"])].concat()).iter().map(|x| span(x)).collect()
        };
        let ports = |key: &str| -> Vec<i64> {
            items(&v[key])
                .into_iter()
                .flat_map(|s| {
                    items(&s["Port"])
                        .into_iter()
                        .map(|p| p.as_i64().unwrap_or_else(|| p.as_str().unwrap().parse().unwrap()))
                        .collect::<Vec<_>>()
                })
                .collect()
        };
        let lower = |x: Value| x.as_str().map(|s| s.to_lowercase());
        Self {
            id: v["ID"].as_str().unwrap().to_string(),
            detect: time(&v["DetectTime"]),
            storage: time(&private("StorageTime")),
            categories: strs(&v["Category"]),
            description: v["Description"].as_str().map(|s| s.replace('\0', "")),
            sources: spans("Source"),
            targets: spans("Target"),
            source_ports: ports("Source"),
            target_ports: ports("Target"),
            source_types: side("Source", &|s| strs(&s["Type"])),
            target_types: side("Target", &|s| strs(&s["Type"])),
            protocols: [side("Source", &|s| strs(&s["Proto"])), side("Target", &|s| strs(&s["Proto"]))]
                .concat()
                .iter()
                .map(|p| p.to_lowercase())
                .collect(),
            detectors: items(&v["Node"]).into_iter().filter_map(|n| n["Name"].as_str().map(String::from)).collect(),
            detector_types: items(&v["Node"]).into_iter().flat_map(|n| strs(&n["Type"])).collect(),
            groups: strs(&private("ResolvedAbuses")),
            class: lower(private("EventClass")),
            severity: lower(private("EventSeverity")),
            inspection_errs: strs(&private("InspectionErrors")),
            tlp: v["TLP"].as_str().map(|s| s.to_uppercase()),
            target_groups: strs(&private("TargetAbuses")),
            target_class: lower(private("TargetClass")),
            target_severity: lower(private("TargetSeverity")),
            softwares: items(&v["Node"]).into_iter().flat_map(|n| strs(&n["SW"])).collect(),
            shadow: private("ShadowReporting") == Value::Bool(true),
            shadow_target: private("ShadowReportingTarget") == Value::Bool(true),
            source_names: side("Source", &names),
            target_names: side("Target", &names),
        }
    }
}

fn list_ok(f: &Values, have: &[String], lower: bool) -> bool {
    if f.values.is_empty() {
        return true;
    }
    let norm = |s: &String| if lower { s.to_lowercase() } else { s.clone() };
    let hit = f.values.iter().any(|v| match v.as_str() {
        EMPTY => have.is_empty(),
        ANY => !have.is_empty(),
        _ => have.iter().any(|h| norm(h) == norm(v)),
    });
    hit != f.negate
}

/// Values compare in any case (the model's reading of mentat-ng's lower- and upper-cased
/// columns).
fn scalar_ok(f: &Values, have: &Option<String>) -> bool {
    if f.values.is_empty() {
        return true;
    }
    let present = have.as_deref().filter(|s| !s.is_empty());
    let hit = f.values.iter().any(|v| match v.as_str() {
        EMPTY => present.is_none(),
        ANY => present.is_some(),
        _ => present.is_some_and(|h| h.to_lowercase() == v.to_lowercase()),
    });
    hit != f.negate
}

/// The TLP rule of mentat-ng, read from the message.
fn visible(p: &SearchParams, m: &Msg) -> bool {
    let Visibility::Groups(groups) = &p.visibility else { return true };
    let restricted = m.tlp.as_deref().is_some_and(|t| ["AMBER-STRICT", "AMBER", "RED"].contains(&t));
    !restricted || m.groups.iter().chain(&m.target_groups).any(|g| groups.contains(g))
}

fn addr_ok(want: &[Span], have: &[Span]) -> bool {
    want.iter().any(|(w6, wl, wh)| have.iter().any(|(h6, hl, hh)| w6 == h6 && wl <= hh && hl <= wh))
}

fn ports_ok(want: &[u16], have: &[i64]) -> bool {
    want.iter().any(|w| have.contains(&i64::from(*w)))
}

pub fn matches(p: &SearchParams, m: &Msg) -> bool {
    let spans = |v: &Vec<ideadb::idea::IpRange>| -> Vec<Span> { v.iter().map(|r| span(&r.to_string())).collect() };
    let time_ok = p.dt_from.is_none_or(|t| m.detect >= t)
        && p.dt_to.is_none_or(|t| m.detect <= t)
        && p.st_from.is_none_or(|t| m.storage >= t)
        && p.st_to.is_none_or(|t| m.storage <= t);
    let side_ok = |addrs: &Vec<ideadb::idea::IpRange>, hosts: &[Hostname], have: &[Span], names: &[String]| {
        addr_ok(&spans(addrs), have)
            || hosts.iter().any(|h| match h {
                Hostname::Exact(x) => names.iter().any(|n| n == x),
                Hostname::Part(x) => names.iter().any(|n| n.contains(x.as_str())),
            })
    };
    let addrs_ok = if !p.host_addrs.is_empty() || !p.host_hostnames.is_empty() {
        side_ok(&p.host_addrs, &p.host_hostnames, &m.sources, &m.source_names)
            || side_ok(&p.host_addrs, &p.host_hostnames, &m.targets, &m.target_names)
    } else {
        let given = |a: &Vec<_>, h: &Vec<_>| !a.is_empty() || !h.is_empty();
        (!given(&p.source_addrs, &p.source_hostnames)
            || side_ok(&p.source_addrs, &p.source_hostnames, &m.sources, &m.source_names))
            && (!given(&p.target_addrs, &p.target_hostnames)
                || side_ok(&p.target_addrs, &p.target_hostnames, &m.targets, &m.target_names))
    };
    let ports = if !p.host_ports.is_empty() {
        ports_ok(&p.host_ports, &m.source_ports) || ports_ok(&p.host_ports, &m.target_ports)
    } else {
        (p.source_ports.is_empty() || ports_ok(&p.source_ports, &m.source_ports))
            && (p.target_ports.is_empty() || ports_ok(&p.target_ports, &m.target_ports))
    };
    let types = if !p.host_types.values.is_empty() {
        let plain = Values { negate: false, ..p.host_types.clone() };
        (list_ok(&plain, &m.source_types, false) || list_ok(&plain, &m.target_types, false)) != p.host_types.negate
    } else {
        list_ok(&p.source_types, &m.source_types, false) && list_ok(&p.target_types, &m.target_types, false)
    };
    let description = p
        .description
        .as_ref()
        .is_none_or(|d| m.description.as_ref().is_some_and(|have| have.to_lowercase().contains(&d.to_lowercase())));
    time_ok
        && addrs_ok
        && ports
        && types
        && description
        && list_ok(&p.groups, &m.groups, false)
        && list_ok(&p.protocols, &m.protocols, true)
        && list_ok(&p.categories, &m.categories, false)
        && scalar_ok(&p.severities, &m.severity)
        && scalar_ok(&p.classes, &m.class)
        && list_ok(&p.detectors, &m.detectors, false)
        && list_ok(&p.detector_types, &m.detector_types, false)
        && list_ok(&p.inspection_errs, &m.inspection_errs, false)
        && scalar_ok(&p.tlps, &m.tlp)
        && list_ok(&p.target_groups, &m.target_groups, false)
        && scalar_ok(&p.target_classes, &m.target_class)
        && scalar_ok(&p.target_severities, &m.target_severity)
        && list_ok(&p.detector_softwares, &m.softwares, false)
        && p.shadow_reporting.is_none_or(|yes| m.shadow == yes)
        && p.shadow_reporting_target.is_none_or(|yes| m.shadow_target == yes)
        && visible(p, m)
}

/// Expected IDs in result order for sorted queries.
pub fn expected(p: &SearchParams, all: &[Msg]) -> Vec<String> {
    let mut hits: Vec<&Msg> = all.iter().filter(|m| matches(p, m)).collect();
    if let Some(s) = p.sortby {
        let storage = match s.field {
            SortField::StorageTime => true,
            SortField::DetectTime => false,
            SortField::Time => p.st_from.is_some() || p.st_to.is_some(),
        };
        hits.sort_by(|a, b| {
            let key = |m: &Msg| (if storage { m.storage } else { m.detect }, m.id.clone());
            let o = key(a).cmp(&key(b));
            if s.dir == SortDir::Desc {
                o.reverse()
            } else {
                o
            }
        });
    }
    hits.into_iter().map(|m| m.id.clone()).collect()
}
