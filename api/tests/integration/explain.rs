//! The main query shapes use the intended indexes: no sequential scan of `events` for an
//! address, time or category filter on a realistically sized, analysed table, and a
//! detection-time bound reads only the partitions it needs.

use chrono::TimeDelta;
use ideadb::idea::IpRange;
use ideadb::storage::{week_of, Hostname, QueryKind, SearchParams, SortBy, Values};

use crate::harness::{generated_until, TestDb};

#[tokio::test]
async fn main_query_shapes_use_indexes() {
    let db = TestDb::new().await;
    // Ending in mid-week, so that "one day" is a seventh of its partition whatever the day
    // of the run: up to a day into a week, the newest partition holds only that day, and
    // reading it whole is rightly a sequential scan.
    let monday = week_of(chrono::Utc::now().naive_utc()).and_hms_opt(0, 0, 0).unwrap();
    let msgs = generated_until(30_000, 30, 11, monday - TimeDelta::hours(84));
    db.load(&msgs).await;
    let c = db.sql().await;
    // As autovacuum would: merges the GIN pending lists and gathers statistics.
    c.batch_execute("VACUUM ANALYZE").await.unwrap();
    let newest = crate::model::Msg::new(msgs.last().unwrap()).detect;
    let addr = crate::model::Msg::new(&msgs[1234]).sources[0];
    let one = IpRange::parse(&std::net::Ipv4Addr::from(addr.1 as u32).to_string()).unwrap();
    let net = IpRange::parse(&format!("{}/24", std::net::Ipv4Addr::from(addr.1 as u32))).unwrap();
    let target =
        msgs.iter().map(crate::model::Msg::new).find_map(|m| m.targets.iter().find(|t| !t.0).copied()).unwrap();
    let net16 = IpRange::parse(&format!("{}/16", std::net::Ipv4Addr::from(target.1 as u32))).unwrap();
    let week = Some(newest - TimeDelta::days(7));
    let latest = SortBy::parse("time.desc");
    let name = msgs.iter().map(crate::model::Msg::new).find_map(|m| m.source_names.first().cloned()).unwrap();
    let shapes: [(&str, SearchParams, &[&str]); 11] = [
        (
            "latest 100 in 7 days",
            SearchParams { dt_from: week, sortby: latest, limit: Some(100), ..Default::default() },
            &["events_detecttime_idx"],
        ),
        (
            "one day",
            SearchParams { dt_from: Some(newest - TimeDelta::days(1)), ..Default::default() },
            // Either bound: the partitions' storage-time bound follows the detection time's.
            &["events_detecttime_idx", "events_cesnet_storagetime_idx"],
        ),
        (
            "source /24 + 7 days",
            SearchParams {
                source_addrs: vec![net],
                dt_from: week,
                sortby: latest,
                limit: Some(100),
                ..Default::default()
            },
            &["events_addr_source_idx"],
        ),
        (
            "one address, all time",
            SearchParams { host_addrs: vec![one], sortby: latest, limit: Some(100), ..Default::default() },
            &["events_addr_target_idx"],
        ),
        (
            "rare category + detector + 7 days",
            SearchParams {
                categories: Values::of(["Test"]),
                detectors: Values::of(["cz.cesnet.mentat.test"]),
                dt_from: week,
                ..Default::default()
            },
            &["events_combined_idx", "events_detecttime_idx"],
        ),
        (
            "rare category, all time",
            SearchParams { categories: Values::of(["Test"]), ..Default::default() },
            &["events_combined_idx"],
        ),
        (
            "target /16 + 1 day",
            SearchParams {
                target_addrs: vec![net16],
                dt_from: Some(newest - TimeDelta::days(1)),
                dt_to: Some(newest),
                ..Default::default()
            },
            &["events_net16_idx"],
        ),
        (
            "one hostname, all time",
            SearchParams {
                host_hostnames: vec![Hostname::of(&name)],
                sortby: latest,
                limit: Some(100),
                ..Default::default()
            },
            &["events_source_hostname_idx", "events_target_hostname_idx"],
        ),
        (
            "a domain, all time",
            SearchParams { source_hostnames: vec![Hostname::of(".example.ru")], ..Default::default() },
            &["events_source_domains_idx", "events_source_hostname_trgm_idx"],
        ),
        (
            "a domain or an address, 7 days",
            SearchParams {
                target_hostnames: vec![Hostname::of(".muni.cz")],
                target_addrs: vec![net16],
                dt_from: week,
                ..Default::default()
            },
            &["events_target_domains_idx", "events_target_hostname_trgm_idx", "events_detecttime_idx"],
        ),
        (
            "storage time window",
            SearchParams { st_from: Some(newest - TimeDelta::hours(1)), ..Default::default() },
            &["events_cesnet_storagetime_idx"],
        ),
    ];
    for (name, p, indexes) in shapes {
        // Counting a week of a month is rightly a sequential scan; paging it is not.
        let kinds: &[QueryKind] =
            if name.starts_with("latest") { &[QueryKind::Select] } else { &[QueryKind::Select, QueryKind::Count] };
        for &kind in kinds {
            let sql = format!("EXPLAIN {}", db.store.mogrify(&p, kind).await.unwrap());
            let plan: Vec<String> = c.query(sql.as_str(), &[]).await.unwrap().iter().map(|r| r.get(0)).collect();
            let plan = plan.join("\n");
            assert!(!scans_rows_of_events(&plan), "{name} ({kind:?}) scans events:\n{plan}");
            assert!(indexes.iter().any(|i| plan.contains(i)), "{name} ({kind:?}) uses none of {indexes:?}:\n{plan}");
            if name.starts_with("one address") && kind == QueryKind::Select {
                // Each match is looked up in its own partition (pruned at run time by its
                // storage time), not by ID in every partition there is.
                assert!(!plan.contains("id = ANY"), "{name} looks IDs up in every partition:\n{plan}");
            }
        }
    }
    db.drop().await;
}

/// A sequential scan of a partition of `events` that holds rows (an empty partition, such as
/// one created ahead, is rightly scanned: there is nothing to read).
fn scans_rows_of_events(plan: &str) -> bool {
    plan.lines().filter(|l| l.contains("Seq Scan on events_w")).any(|l| {
        let rows = l.split("rows=").nth(1).and_then(|r| r.split_whitespace().next()).and_then(|n| n.parse().ok());
        rows.is_none_or(|n: u64| n > 1)
    })
}

/// Categories and detectors go together (a detector reports its own kinds of events): a search
/// by both is estimated from the pairs' statistics. As two independent conditions, the 2,000
/// matching rows below would be estimated at 1,000, and a plan chosen for too few rows.
#[tokio::test]
async fn a_category_and_its_detector_are_estimated_together() {
    let db = TestDb::new().await;
    let now = chrono::Utc::now();
    let msgs: Vec<serde_json::Value> = (0..4000)
        .map(|i| {
            let (category, detector) =
                if i % 2 == 0 { ("Recon.Scanning", "org.scan") } else { ("Abusive.Spam", "org.spam") };
            serde_json::json!({"Format": "IDEA0", "ID": format!("pair-{i}"), "DetectTime": now.to_rfc3339(),
                               "Category": [category], "Node": [{"Name": detector}]})
        })
        .collect();
    db.load(&msgs).await;
    let c = db.sql().await;
    c.batch_execute("VACUUM ANALYZE").await.unwrap();
    let both = SearchParams {
        categories: Values::of(["Recon.Scanning"]),
        detectors: Values::of(["org.scan"]),
        ..Default::default()
    };
    assert_eq!(db.store.count_events(&both).await.unwrap(), 2000);
    let sql = format!("EXPLAIN (FORMAT JSON) {}", db.store.mogrify(&both, QueryKind::Select).await.unwrap());
    let plan: serde_json::Value = c.query_one(sql.as_str(), &[]).await.unwrap().get(0);
    let rows = rows_of_events(&plan[0]["Plan"]);
    assert!((1600.0..=2400.0).contains(&rows), "estimated {rows} of 2000 rows:\n{plan:#}");
    db.drop().await;
}

/// The rows a JSON plan expects from the partitions of `events`.
fn rows_of_events(node: &serde_json::Value) -> f64 {
    let own = match node["Relation Name"].as_str() {
        Some(r) if r.starts_with("events_w") => node["Plan Rows"].as_f64().unwrap_or(0.0),
        _ => 0.0,
    };
    own + node["Plans"].as_array().map_or(0.0, |p| p.iter().map(rows_of_events).sum())
}
