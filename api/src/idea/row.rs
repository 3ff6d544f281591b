//! The `events` row of one IDEA message (spec §2.1), built while validating it.

use chrono::NaiveDateTime;

use super::json::{Json, Object};
use super::net::{Family, IpRange};
use super::{is_category, is_id, list, strings, time, IdeaError};

/// Everything stored in `events` (and `events_addr`) for one message.
#[derive(Debug, Clone, PartialEq)]
pub struct EventRow {
    pub id: String,
    pub detecttime: NaiveDateTime,
    pub category: Vec<String>,
    pub description: Option<String>,
    /// Merged per family, IPv4 first; the exact set `events_addr` indexes.
    pub source_ip: Vec<IpRange>,
    pub target_ip: Vec<IpRange>,
    pub source_port: Vec<i32>,
    pub target_port: Vec<i32>,
    pub source_type: Vec<String>,
    pub target_type: Vec<String>,
    pub protocol: Vec<String>,
    pub node_name: Vec<String>,
    pub node_type: Vec<String>,
    /// `None` until the store sets it to the ingest time.
    pub storagetime: Option<NaiveDateTime>,
    pub resolvedabuses: Vec<String>,
    pub eventclass: Option<String>,
    pub eventseverity: Option<String>,
    pub inspectionerrors: Vec<String>,
    pub tlp: Option<String>,
    pub targetabuses: Vec<String>,
    pub targetclass: Option<String>,
    pub targetseverity: Option<String>,
    /// Node[*].SW, sorted, repeats kept (as mentat-ng stores them).
    pub node_sw: Vec<String>,
    /// `ShadowReporting` / `ShadowReportingTarget` of the private dictionary is `true`.
    pub shadow_reporting: bool,
    pub shadow_reporting_target: bool,
    /// Hostname items and the hosts of URL items of every Source (Target) item,
    /// lower-cased, sorted and unique.
    pub source_hostname: Vec<String>,
    pub target_hostname: Vec<String>,
}

impl EventRow {
    pub fn aggr(&self, target: bool, fam: Family) -> Option<IpRange> {
        IpRange::hull(if target { &self.target_ip } else { &self.source_ip }, fam)
    }
}

/// Addresses, ports, types and protocols gathered over all Source (or Target) items.
#[derive(Default)]
struct Side {
    ips: Vec<IpRange>,
    ports: Vec<i32>,
    types: Vec<String>,
    hosts: Vec<String>,
}

pub(super) fn map(obj: &Object) -> Result<EventRow, IdeaError> {
    let id = match obj.get("ID") {
        Some(Json::Str(s)) if is_id(s) => s.to_string(),
        Some(other) => return Err(IdeaError::new("ID", format!("must match [a-zA-Z0-9._-]+, got {other}"))),
        None => return Err(IdeaError::new("ID", "is required")),
    };
    let detecttime = match obj.get("DetectTime") {
        Some(t) => time::parse(t).map_err(|m| IdeaError::new("DetectTime", m))?,
        None => return Err(IdeaError::new("DetectTime", "is required")),
    };
    let category = categories(obj.get("Category"))?;
    let mut protocols = Vec::new();
    let source = side(obj.get("Source"), "Source", &mut protocols)?;
    let target = side(obj.get("Target"), "Target", &mut protocols)?;
    let nodes = nodes(obj.get("Node"))?;
    let private = Private::read(obj)?;
    Ok(EventRow {
        id,
        detecttime,
        category,
        description: text(obj.get("Description")),
        source_ip: IpRange::merge(source.ips),
        target_ip: IpRange::merge(target.ips),
        source_port: sorted(source.ports),
        target_port: sorted(target.ports),
        source_type: sorted(source.types),
        target_type: sorted(target.types),
        protocol: sorted(protocols),
        node_name: nodes.names,
        node_type: nodes.types,
        storagetime: private.storagetime,
        resolvedabuses: private.resolvedabuses,
        eventclass: private.eventclass,
        eventseverity: private.eventseverity,
        inspectionerrors: private.inspectionerrors,
        tlp: text(obj.get("TLP")).map(|s| s.to_uppercase()),
        targetabuses: private.targetabuses,
        targetclass: private.targetclass,
        targetseverity: private.targetseverity,
        node_sw: nodes.software,
        shadow_reporting: private.shadow_reporting,
        shadow_reporting_target: private.shadow_reporting_target,
        source_hostname: sorted(source.hosts),
        target_hostname: sorted(target.hosts),
    })
}

/// The host of a URL, lower-cased; detectors also write URLs without a scheme
/// (`phishing.example.cz/login`), read as `http://`. None for a URL without a host.
fn url_host(u: &str) -> Option<String> {
    let u = clean(u);
    let parsed = match url::Url::parse(u.trim()) {
        Err(url::ParseError::RelativeUrlWithoutBase) => url::Url::parse(&format!("http://{}", u.trim())).ok()?,
        other => other.ok()?,
    };
    let host = match parsed.host()? {
        url::Host::Domain(d) => d.to_lowercase(),
        url::Host::Ipv4(a) => a.to_string(),
        url::Host::Ipv6(a) => a.to_string(),
    };
    Some(host).filter(|h| !h.is_empty())
}

/// Sorted and deduplicated, as Mentat stores ports, types and protocols.
fn sorted<T: Ord>(mut items: Vec<T>) -> Vec<T> {
    items.sort_unstable();
    items.dedup();
    items
}

/// PostgreSQL text cannot hold NUL; detectors do send it (the corpus has such a message).
fn clean(s: &str) -> String {
    if s.contains('\0') {
        s.replace('\0', "")
    } else {
        s.to_owned()
    }
}

fn text(v: Option<&Json>) -> Option<String> {
    v.and_then(Json::as_str).map(clean)
}

fn categories(v: Option<&Json>) -> Result<Vec<String>, IdeaError> {
    let Some(v) = v else {
        return Err(IdeaError::new("Category", "is required"));
    };
    let cats = strings(Some(v), || "Category".into())?;
    if cats.is_empty() {
        return Err(IdeaError::new("Category", "must hold at least one category"));
    }
    if let Some((i, bad)) = cats.iter().enumerate().find(|(_, c)| !is_category(c)) {
        return Err(IdeaError::new(
            format!("Category[{i}]"),
            format!("\"{bad}\" is not a category tag (e.g. Recon.Scanning)"),
        ));
    }
    Ok(cats.into_iter().map(String::from).collect())
}

fn side(v: Option<&Json>, key: &str, protocols: &mut Vec<String>) -> Result<Side, IdeaError> {
    let mut out = Side::default();
    let Some(v) = v else { return Ok(out) };
    for (i, item) in list(v).enumerate() {
        let Some(item) = item.as_object() else {
            continue;
        };
        for (k, fam) in [("IP4", Family::V4), ("IP6", Family::V6)] {
            let Some(ips) = item.get(k) else { continue };
            for (j, ip) in list(ips).enumerate() {
                let at = || format!("{key}[{i}].{k}[{j}]");
                let s =
                    ip.as_str().ok_or_else(|| IdeaError::new(at(), format!("must be a string, got {}", ip.kind())))?;
                out.ips.push(IpRange::parse_family(s, fam).map_err(|m| IdeaError::new(at(), m))?);
            }
        }
        if let Some(ports) = item.get("Port") {
            for (j, p) in list(ports).enumerate() {
                match super::as_u64(p) {
                    Some(n) if n <= 65535 => out.ports.push(n as i32),
                    _ => {
                        return Err(IdeaError::new(
                            format!("{key}[{i}].Port[{j}]"),
                            format!("must be a port number 0-65535, got {p}"),
                        ))
                    }
                }
            }
        }
        out.types.extend(strings(item.get("Type"), || format!("{key}[{i}].Type"))?.into_iter().map(clean));
        let names = strings(item.get("Hostname"), || format!("{key}[{i}].Hostname"))?;
        out.hosts.extend(names.into_iter().map(|h| clean(h).to_lowercase()).filter(|h| !h.is_empty()));
        let urls = strings(item.get("URL"), || format!("{key}[{i}].URL"))?;
        out.hosts.extend(urls.into_iter().filter_map(url_host));
        let protos = strings(item.get("Proto"), || format!("{key}[{i}].Proto"))?;
        protocols.extend(protos.iter().map(|s| clean(s).to_lowercase()));
    }
    Ok(out)
}

/// Names in order, types sorted and deduplicated, software sorted.
#[derive(Default)]
struct Nodes {
    names: Vec<String>,
    types: Vec<String>,
    software: Vec<String>,
}

fn nodes(v: Option<&Json>) -> Result<Nodes, IdeaError> {
    let mut names = Vec::new();
    let mut types = Vec::new();
    let mut software = Vec::new();
    let Some(v) = v else { return Ok(Nodes::default()) };
    for (i, node) in list(v).enumerate() {
        let Some(node) = node.as_object() else {
            continue;
        };
        match node.get("Name") {
            Some(Json::Str(s)) if !s.trim().is_empty() => names.push(clean(s)),
            Some(Json::Str(_)) | None => {}
            Some(other) => {
                return Err(IdeaError::new(
                    format!("Node[{i}].Name"),
                    format!("must be a string, got {}", other.kind()),
                ))
            }
        }
        types.extend(strings(node.get("Type"), || format!("Node[{i}].Type"))?.into_iter().map(clean));
        software.extend(strings(node.get("SW"), || format!("Node[{i}].SW"))?.into_iter().map(clean));
    }
    software.sort_unstable();
    Ok(Nodes { names, types: sorted(types), software })
}

/// Mentat's private dictionary: `_Mentat` (V3) key by key over `_CESNET` (V1/V2).
struct Private {
    storagetime: Option<NaiveDateTime>,
    resolvedabuses: Vec<String>,
    eventclass: Option<String>,
    eventseverity: Option<String>,
    inspectionerrors: Vec<String>,
    targetabuses: Vec<String>,
    targetclass: Option<String>,
    targetseverity: Option<String>,
    shadow_reporting: bool,
    shadow_reporting_target: bool,
}

impl Private {
    fn read(obj: &Object) -> Result<Self, IdeaError> {
        let dicts: Vec<(&str, &Object)> = ["_Mentat", "_CESNET"]
            .into_iter()
            .filter_map(|k| obj.get(k).and_then(Json::as_object).map(|d| (k, d)))
            .collect();
        let get = |key: &str| dicts.iter().find_map(|(name, d)| d.get(key).map(|v| (*name, v)));
        let list_of = |key: &str| -> Result<Vec<String>, IdeaError> {
            match get(key) {
                Some((name, v)) => Ok(strings(Some(v), || format!("{name}.{key}"))?.into_iter().map(clean).collect()),
                None => Ok(Vec::new()),
            }
        };
        let lower = |key: &str| -> Result<Option<String>, IdeaError> {
            match get(key) {
                Some((_, Json::Str(s))) => Ok(Some(clean(s).to_lowercase())),
                Some((_, Json::Null)) | None => Ok(None),
                Some((name, other)) => {
                    Err(IdeaError::new(format!("{name}.{key}"), format!("must be a string, got {}", other.kind())))
                }
            }
        };
        let storagetime = match get("StorageTime") {
            Some((name, t)) => Some(time::parse(t).map_err(|m| IdeaError::new(format!("{name}.StorageTime"), m))?),
            None => None,
        };
        Ok(Self {
            storagetime,
            resolvedabuses: list_of("ResolvedAbuses")?,
            eventclass: lower("EventClass")?,
            eventseverity: lower("EventSeverity")?,
            inspectionerrors: list_of("InspectionErrors")?,
            targetabuses: list_of("TargetAbuses")?,
            targetclass: lower("TargetClass")?,
            targetseverity: lower("TargetSeverity")?,
            shadow_reporting: matches!(get("ShadowReporting"), Some((_, Json::Bool(true)))),
            shadow_reporting_target: matches!(get("ShadowReportingTarget"), Some((_, Json::Bool(true)))),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse;
    use serde_json::json;

    fn row(v: serde_json::Value) -> super::EventRow {
        parse(v.to_string().as_bytes()).unwrap()
    }

    #[test]
    fn maps_a_full_message_as_mentat_does() {
        let r = row(json!({
            "Format": "IDEA0", "ID": "e1", "DetectTime": "2024-01-01T10:00:00+01:00",
            "Category": ["Recon.Scanning", "Test"], "Description": "a\u{0}b", "TLP": "amber",
            "Source": [{"IP4": ["10.0.0.1", "10.0.0.2", "192.168.0.0/24"], "IP6": ["2001:db8::1"], "Port": [80, 22, 80],
                        "Type": ["Scanner"], "Proto": ["TCP"]},
                       {"IP4": "8.8.8.8", "Type": "Botnet", "Proto": ["tcp", "http"]}],
            "Target": [{"IP4": ["1.1.1.1"], "Port": 443}],
            "Node": [{"Name": "org.relay", "SW": ["Warden"]}, {"Type": ["Flow"]},
                     {"Name": "cz.cesnet.det", "Type": ["Honeypot", "Flow"], "SW": ["Warden", "Nemea"]}],
            "_CESNET": {"EventSeverity": "HIGH", "ResolvedAbuses": ["abuse@a"], "StorageTime": 1704103200},
            "_Mentat": {"EventClass": "Scan-Class", "EventSeverity": "Low", "ShadowReporting": true,
                        "ShadowReportingTarget": "true"}
        }));
        assert_eq!(r.detecttime.to_string(), "2024-01-01 09:00:00");
        assert_eq!(r.description.as_deref(), Some("ab"));
        let ips: Vec<String> = r.source_ip.iter().map(|x| x.to_string()).collect();
        assert_eq!(ips, ["8.8.8.8", "10.0.0.1-10.0.0.2", "192.168.0.0/24", "2001:db8::1"]);
        assert_eq!(r.aggr(false, super::Family::V4).unwrap().to_string(), "8.8.8.8-192.168.0.255");
        assert_eq!(r.aggr(true, super::Family::V6), None);
        assert_eq!(r.source_port, [22, 80]);
        assert_eq!(r.target_port, [443]);
        let unnamed = row(
            json!({"Format": "IDEA0", "ID": "n", "DetectTime": "2024-01-01T00:00:00Z", "Category": ["Test"],
                                 "Node": [{"Type": ["Honeypot"]}], "Target": [{"Port": ["22", 25]}], "Confidence": "0.5"}),
        );
        assert!(unnamed.node_name.is_empty(), "stored with no detector rather than refused");
        assert_eq!(unnamed.target_port, [22, 25], "numeric strings are ports, as the IDEA library's int() reads them");
        assert_eq!(r.source_type, ["Botnet", "Scanner"]);
        assert_eq!(r.protocol, ["http", "tcp"]);
        assert_eq!(r.node_name, ["org.relay", "cz.cesnet.det"]);
        assert_eq!(r.node_type, ["Flow", "Honeypot"]);
        assert_eq!(r.eventseverity.as_deref(), Some("low"), "_Mentat wins over _CESNET");
        assert_eq!(r.eventclass.as_deref(), Some("scan-class"));
        assert_eq!(r.resolvedabuses, ["abuse@a"]);
        assert_eq!(r.storagetime.unwrap().to_string(), "2024-01-01 10:00:00");
        assert_eq!(r.tlp.as_deref(), Some("AMBER"));
        assert_eq!(r.node_sw, ["Nemea", "Warden", "Warden"], "sorted, repeats kept");
        assert!(r.shadow_reporting && !r.shadow_reporting_target, "only a JSON true counts");
        let hosts = row(json!({
            "Format": "IDEA0", "ID": "h", "DetectTime": "2024-01-01T00:00:00Z", "Category": ["Test"],
            "Source": [{"Hostname": ["Mail.Example.CZ", "b.example"], "URL": ["https://user@WWW.Example.com:8443/x?y",
                        "phishing.example.cz/login", "mailto:someone@example.org", "http://[2001:db8::1]/"]},
                       {"Hostname": ["b.example"]}],
            "Target": [{"URL": ["ftp://files.example.net"]}]
        }));
        assert_eq!(
            hosts.source_hostname,
            ["2001:db8::1", "b.example", "mail.example.cz", "phishing.example.cz", "www.example.com"],
            "lower-cased, unique, sorted; a URL without a host adds none"
        );
        assert_eq!(hosts.target_hostname, ["files.example.net"]);
    }

    #[test]
    fn rejects_each_broken_field_with_its_path() {
        let base = json!({"Format": "IDEA0", "ID": "x", "DetectTime": "2024-01-01T00:00:00Z",
                          "Category": ["Test"], "Node": [{"Name": "a.b"}]});
        let broken = |path: &str, value: serde_json::Value| {
            let mut v = base.clone();
            let obj = v.as_object_mut().unwrap();
            if value.is_null() {
                obj.remove(path);
            } else {
                obj.insert(path.into(), value);
            }
            parse(v.to_string().as_bytes()).unwrap_err().to_string()
        };
        assert_eq!(broken("Format", json!("IDEA1")), "Format: must be \"IDEA0\", got \"IDEA1\"");
        assert_eq!(broken("ID", serde_json::Value::Null), "ID: is required");
        assert!(broken("ID", json!("a b")).starts_with("ID: must match"));
        assert!(broken("DetectTime", json!("2024-01-01 00:00"))
            .starts_with("DetectTime: \"2024-01-01 00:00\" is not an RFC 3339"));
        assert_eq!(broken("Category", json!([])), "Category: must hold at least one category");
        assert!(broken("Category", json!(["Recon.Scanning", "bad tag"])).starts_with("Category[1]: \"bad tag\""));
        assert_eq!(
            broken("Source", json!([{"IP4": ["10.0.0.300"]}])),
            "Source[0].IP4[0]: \"10.0.0.300\" is not a valid IPv4 address, network or range"
        );
        assert!(broken("Target", json!([{"IP6": ["1.2.3.4"]}])).starts_with("Target[0].IP6[0]:"));
        assert!(broken("Target", json!([{"Port": [70000]}])).starts_with("Target[0].Port[0]: must be a port number"));
        assert!(broken("Node", json!([{"Name": 5}])).starts_with("Node[0].Name: must be a string"));
        assert!(broken("Target", json!([{"Port": ["22x"]}])).starts_with("Target[0].Port[0]: must be a port number"));
        assert!(broken("CreateTime", json!("now")).starts_with("CreateTime:"));
        assert!(broken("ConnCount", json!(-1)).starts_with("ConnCount:"));
        assert!(parse(b"{\"Format\": ").unwrap_err().to_string().starts_with("$: not valid JSON"));
        assert!(parse(b"[1]").unwrap_err().to_string().contains("must be a JSON object"));
    }
}
