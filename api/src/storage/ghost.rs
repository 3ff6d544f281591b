//! Ghost rows (Mentat's IdeaGhost): events rebuilt from the `events` columns alone, without
//! reading the stored message. Lossy, but cheap for result lists.

use serde_json::{json, Map, Value};
use tokio_postgres::Row;

use crate::idea::{time, EventRow, Family, IpRange};

/// The row as stored. NULL arrays (rows written by other tools) read as empty.
pub(crate) fn from_row(r: &Row) -> EventRow {
    let list = |c: &str| r.get::<_, Option<Vec<String>>>(c).unwrap_or_default();
    let ips = |c: &str| r.get::<_, Option<Vec<IpRange>>>(c).unwrap_or_default();
    let ports = |c: &str| r.get::<_, Option<Vec<i32>>>(c).unwrap_or_default();
    EventRow {
        id: r.get("id"),
        detecttime: r.get("detecttime"),
        category: list("category"),
        description: r.get("description"),
        source_ip: ips("source_ip"),
        target_ip: ips("target_ip"),
        source_port: ports("source_port"),
        target_port: ports("target_port"),
        source_type: list("source_type"),
        target_type: list("target_type"),
        protocol: list("protocol"),
        node_name: list("node_name"),
        node_type: list("node_type"),
        storagetime: Some(r.get("cesnet_storagetime")),
        resolvedabuses: list("cesnet_resolvedabuses"),
        eventclass: r.get("cesnet_eventclass"),
        eventseverity: r.get("cesnet_eventseverity"),
        inspectionerrors: list("cesnet_inspectionerrors"),
        tlp: r.get("tlp"),
        targetabuses: list("targetabuses"),
        targetclass: r.get("targetclass"),
        targetseverity: r.get("targetseverity"),
        node_sw: list("node_sw"),
        shadow_reporting: r.get("shadow_reporting"),
        shadow_reporting_target: r.get("shadow_reporting_target"),
        source_hostname: list("source_hostname"),
        target_hostname: list("target_hostname"),
    }
}

/// The IDEA-shaped dictionary of spec §2.4: one Source and one Target at most, one Node
/// per name carrying every node type, and the `_CESNET` private keys.
pub fn to_idea(row: &EventRow) -> Value {
    let mut m = Map::new();
    m.insert("Format".into(), json!("IDEA0"));
    m.insert("ID".into(), json!(row.id));
    m.insert("DetectTime".into(), json!(time::render(&row.detecttime)));
    m.insert("Category".into(), json!(row.category));
    if let Some(d) = &row.description {
        m.insert("Description".into(), json!(d));
    }
    if let Some(t) = &row.tlp {
        m.insert("TLP".into(), json!(t));
    }
    for (key, ips, types, ports, hosts) in [
        ("Source", &row.source_ip, &row.source_type, &row.source_port, &row.source_hostname),
        ("Target", &row.target_ip, &row.target_type, &row.target_port, &row.target_hostname),
    ] {
        let mut s = Map::new();
        if !hosts.is_empty() {
            s.insert("Hostname".into(), json!(hosts));
        }
        for (k, fam) in [("IP4", Family::V4), ("IP6", Family::V6)] {
            let list: Vec<String> = ips.iter().filter(|r| r.family() == fam).map(|r| r.to_string()).collect();
            if !list.is_empty() {
                s.insert(k.into(), json!(list));
            }
        }
        if !types.is_empty() {
            s.insert("Type".into(), json!(types));
        }
        if !ports.is_empty() {
            s.insert("Port".into(), json!(ports));
        }
        if !s.is_empty() {
            if !row.protocol.is_empty() {
                s.insert("Proto".into(), json!(row.protocol));
            }
            m.insert(key.into(), json!([s]));
        }
    }
    let nodes: Vec<Value> = row.node_name.iter().map(|n| json!({"Name": n, "Type": row.node_type})).collect();
    m.insert("Node".into(), json!(nodes));
    let mut p = Map::new();
    if let Some(st) = &row.storagetime {
        p.insert("StorageTime".into(), json!(time::render(st)));
    }
    for (k, v) in [
        ("ResolvedAbuses", &row.resolvedabuses),
        ("InspectionErrors", &row.inspectionerrors),
        ("TargetAbuses", &row.targetabuses),
    ] {
        if !v.is_empty() {
            p.insert(k.into(), json!(v));
        }
    }
    for (k, yes) in [("ShadowReporting", row.shadow_reporting), ("ShadowReportingTarget", row.shadow_reporting_target)]
    {
        if yes {
            p.insert(k.into(), json!(true));
        }
    }
    for (k, v) in [
        ("EventClass", &row.eventclass),
        ("EventSeverity", &row.eventseverity),
        ("TargetClass", &row.targetclass),
        ("TargetSeverity", &row.targetseverity),
    ] {
        if let Some(v) = v {
            p.insert(k.into(), json!(v));
        }
    }
    m.insert("_CESNET".into(), Value::Object(p));
    Value::Object(m)
}
