//! The query builder against a seeded database: every parameter and combinations of them
//! return exactly the IDs the independent model computes from the messages themselves.

use std::collections::BTreeSet;

use chrono::TimeDelta;
use ideadb::idea::IpRange;
use ideadb::storage::{Cursor, Hostname, SearchParams, SortBy, SortDir, SortField, Values, Visibility, ANY, EMPTY};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use crate::harness::{fixture, generated, TestDb};
use crate::model::{expected, Msg};

async fn seeded() -> (TestDb, Vec<Msg>) {
    let db = TestDb::new().await;
    let msgs = model_messages();
    db.load(&msgs).await;
    (db, msgs.iter().map(Msg::new).collect())
}

/// The messages the model tests search: the corpus fixture and generated ones, some given
/// mentat-ng's newer attributes (TLP, the target side's groups, class and severity, shadow
/// reporting) in every case and form they arrive in.
pub fn model_messages() -> Vec<serde_json::Value> {
    let mut msgs = fixture();
    msgs.extend(generated(3000, 10, 42).into_iter().enumerate().map(|(i, m)| newer_attributes(i, m)));
    msgs
}

pub const TARGET_GROUPS: [&[&str]; 3] =
    [&["abuse@a.example"], &["abuse@b.example", "abuse@a.example"], &["abuse@c.example"]];

fn newer_attributes(i: usize, mut m: serde_json::Value) -> serde_json::Value {
    let pick = |list: &[&'static str], k: usize| list[(i / k) % list.len()];
    if i.is_multiple_of(4) {
        m["TLP"] = serde_json::json!(pick(&["AMBER", "red", "GREEN", "CLEAR", "Amber-Strict", "WHITE"], 4));
    }
    let mut private = serde_json::Map::new();
    if i.is_multiple_of(3) {
        private.insert("TargetAbuses".into(), serde_json::json!(TARGET_GROUPS[(i / 3) % 3]));
    }
    if i.is_multiple_of(5) {
        private.insert("TargetClass".into(), serde_json::json!(pick(&["Vulnerable-Config", "attacked-host"], 5)));
        private.insert("TargetSeverity".into(), serde_json::json!(pick(&["LOW", "high"], 10)));
    }
    if i.is_multiple_of(7) {
        private.insert("ShadowReporting".into(), serde_json::json!(true));
    }
    if i.is_multiple_of(9) {
        private.insert("ShadowReportingTarget".into(), serde_json::json!(true));
    }
    if i % 10 == 1 {
        // Only a JSON true counts.
        private.insert("ShadowReporting".into(), serde_json::json!("true"));
    }
    if !private.is_empty() {
        m["_Mentat"] = serde_json::Value::Object(private);
    }
    if i % 11 == 5 {
        m["Node"][0].as_object_mut().unwrap().remove("SW");
    }
    m
}

async fn ids(db: &TestDb, p: &SearchParams) -> Vec<String> {
    db.store
        .search_events(p)
        .await
        .unwrap_or_else(|e| panic!("{e} for {p:?}"))
        .items
        .into_iter()
        .map(|e| e.id)
        .collect()
}

pub async fn check(db: &TestDb, all: &[Msg], p: &SearchParams) -> usize {
    let got: BTreeSet<String> = ids(db, p).await.into_iter().collect();
    let want: BTreeSet<String> = expected(p, all).into_iter().collect();
    let sql = db.store.mogrify(p, ideadb::storage::QueryKind::Select).await.unwrap();
    assert_eq!(got, want, "params: {p:?}\nsql: {sql}");
    assert_eq!(db.store.count_events(p).await.unwrap() as usize, want.len(), "count for {p:?}");
    want.len()
}

fn ip(s: &str) -> IpRange {
    IpRange::parse(s).unwrap()
}

#[tokio::test]
async fn each_parameter_alone_matches_the_model() {
    let (db, all) = seeded().await;
    let cases = parameter_cases(&all);
    let mut nonempty = 0;
    for (name, p) in &cases {
        let n = check(&db, &all, p).await;
        nonempty += usize::from(n > 0);
        println!("{name}: {n} matches");
    }
    assert!(
        nonempty >= cases.len() - 3,
        "most cases must match something to mean anything ({nonempty}/{})",
        cases.len()
    );
    db.drop().await;
}

/// Each parameter alone, with values present in the data.
pub fn parameter_cases(all: &[Msg]) -> Vec<(&'static str, SearchParams)> {
    let t0 = all.iter().map(|m| m.detect).max().unwrap();
    vec![
        ("dt_from", SearchParams { dt_from: Some(t0 - TimeDelta::days(2)), ..Default::default() }),
        ("dt_to", SearchParams { dt_to: Some(t0 - TimeDelta::days(8)), ..Default::default() }),
        (
            "st range",
            SearchParams {
                st_from: Some(t0 - TimeDelta::days(5)),
                st_to: Some(t0 - TimeDelta::days(4)),
                ..Default::default()
            },
        ),
        ("ipv4 single", SearchParams { source_addrs: vec![ip("192.168.1.1")], ..Default::default() }),
        ("ipv4 cidr", SearchParams { source_addrs: vec![ip("192.168.0.0/16")], ..Default::default() }),
        ("ipv4 range", SearchParams { target_addrs: vec![ip("10.2.2.5-10.2.2.9")], ..Default::default() }),
        ("ipv6 single", SearchParams { source_addrs: vec![ip("2001:db8::ff00:42:50")], ..Default::default() }),
        ("ipv6 cidr", SearchParams { target_addrs: vec![ip("2001:ffff::/32")], ..Default::default() }),
        (
            "ipv6 range",
            SearchParams { host_addrs: vec![ip("2001:db8::-2001:db8::ffff:ffff:ffff")], ..Default::default() },
        ),
        (
            "host addrs override",
            SearchParams {
                host_addrs: vec![ip("195.113.0.0/16")],
                source_addrs: vec![ip("1.1.1.1")],
                ..Default::default()
            },
        ),
        (
            "wide target range in a short window (per-event test)",
            SearchParams {
                target_addrs: vec![ip("195.113.0.0/16")],
                dt_from: Some(t0 - TimeDelta::days(3)),
                dt_to: Some(t0 - TimeDelta::days(1)),
                ..Default::default()
            },
        ),
        (
            "wide host range in a short window",
            SearchParams {
                host_addrs: vec![ip("147.0.0.0/8"), ip("2001:db8::/32")],
                dt_from: Some(t0 - TimeDelta::days(1)),
                dt_to: Some(t0),
                ..Default::default()
            },
        ),
        ("ports", SearchParams { target_ports: vec![22, 3389], ..Default::default() }),
        ("host ports", SearchParams { host_ports: vec![443], ..Default::default() }),
        ("source ports", SearchParams { source_ports: vec![22], ..Default::default() }),
        ("types", SearchParams { source_types: Values::of(["Phishing", "Scanner"]), ..Default::default() }),
        ("host types", SearchParams { host_types: Values::of(["CasualIP"]), ..Default::default() }),
        ("groups", SearchParams { groups: Values::of(["abuse@cesnet.cz"]), ..Default::default() }),
        ("not groups", SearchParams { groups: Values::of(["abuse@cesnet.cz"]).negated(), ..Default::default() }),
        ("groups empty", SearchParams { groups: Values::of([EMPTY]), ..Default::default() }),
        ("protocols any case", SearchParams { protocols: Values::of(["TCP"]), ..Default::default() }),
        ("description substring", SearchParams { description: Some("SCAN".into()), ..Default::default() }),
        ("description wildcard is literal", SearchParams { description: Some("%".into()), ..Default::default() }),
        ("categories", SearchParams { categories: Values::of(["Recon.Scanning", "Test"]), ..Default::default() }),
        ("not categories", SearchParams { categories: Values::of(["Recon.Scanning"]).negated(), ..Default::default() }),
        ("severities", SearchParams { severities: Values::of(["HIGH", "low"]), ..Default::default() }),
        ("severity empty", SearchParams { severities: Values::of([EMPTY]), ..Default::default() }),
        ("severity any", SearchParams { severities: Values::of([ANY]), ..Default::default() }),
        ("classes not", SearchParams { classes: Values::of(["recon-scanning"]).negated(), ..Default::default() }),
        (
            "detectors",
            SearchParams {
                detectors: Values::of(["cz.cesnet.kippo", "org.example.kippo_honey"]),
                ..Default::default()
            },
        ),
        ("detectors empty", SearchParams { detectors: Values::of([EMPTY]), ..Default::default() }),
        ("detector types any not", SearchParams { detector_types: Values::of([ANY]).negated(), ..Default::default() }),
        ("inspection errors any", SearchParams { inspection_errs: Values::of([ANY]), ..Default::default() }),
        ("empty or value", SearchParams { classes: Values::of([EMPTY, "attempt-login"]), ..Default::default() }),
        ("tlps any case", SearchParams { tlps: Values::of(["amber", "Red"]), ..Default::default() }),
        ("tlps empty", SearchParams { tlps: Values::of([EMPTY]), ..Default::default() }),
        ("not tlps", SearchParams { tlps: Values::of(["GREEN"]).negated(), ..Default::default() }),
        ("target groups", SearchParams { target_groups: Values::of(["abuse@a.example"]), ..Default::default() }),
        (
            "not target groups",
            SearchParams { target_groups: Values::of(["abuse@c.example"]).negated(), ..Default::default() },
        ),
        ("target classes", SearchParams { target_classes: Values::of(["VULNERABLE-config"]), ..Default::default() }),
        ("target severities any", SearchParams { target_severities: Values::of([ANY]), ..Default::default() }),
        (
            "not target severities",
            SearchParams { target_severities: Values::of(["low"]).negated(), ..Default::default() },
        ),
        ("detector softwares", SearchParams { detector_softwares: Values::of(["Nemea"]), ..Default::default() }),
        ("detector softwares empty", SearchParams { detector_softwares: Values::of([EMPTY]), ..Default::default() }),
        (
            "not detector softwares",
            SearchParams { detector_softwares: Values::of(["Kippo"]).negated(), ..Default::default() },
        ),
        ("hostname", SearchParams { source_hostnames: vec![Hostname::of("mail0.cesnet.cz")], ..Default::default() }),
        ("hostname part", SearchParams { target_hostnames: vec![Hostname::of(".muni.cz")], ..Default::default() }),
        (
            "hostname or address",
            SearchParams {
                source_hostnames: vec![Hostname::of("example.com")],
                source_addrs: vec![ip("192.168.0.0/16")],
                ..Default::default()
            },
        ),
        (
            "host hostnames override source addresses",
            SearchParams {
                host_hostnames: vec![Hostname::of(".cesnet.cz"), Hostname::of("target.example.com")],
                source_addrs: vec![ip("1.1.1.1")],
                ..Default::default()
            },
        ),
        (
            "source hostname and target address",
            SearchParams {
                source_hostnames: vec![Hostname::of(".example.")],
                target_addrs: vec![ip("147.0.0.0/8")],
                ..Default::default()
            },
        ),
        (
            "hostname with wildcards is literal",
            SearchParams { host_hostnames: vec![Hostname::of(".%")], ..Default::default() },
        ),
        ("shadow reporting", SearchParams { shadow_reporting: Some(true), ..Default::default() }),
        ("no shadow reporting", SearchParams { shadow_reporting: Some(false), ..Default::default() }),
        ("shadow reporting target", SearchParams { shadow_reporting_target: Some(true), ..Default::default() }),
        ("visible to no group", SearchParams { visibility: Visibility::Groups(vec![]), ..Default::default() }),
        (
            "visible to a target group",
            SearchParams { visibility: Visibility::Groups(vec!["abuse@b.example".into()]), ..Default::default() },
        ),
        (
            "visible to a source group, one address",
            SearchParams {
                visibility: Visibility::Groups(vec!["abuse@cesnet.cz".into()]),
                host_addrs: vec![ip("195.113.0.0/16")],
                ..Default::default()
            },
        ),
    ]
}

/// Random parameter sets drawn from the values present in the data.
pub fn random_params(r: &mut SmallRng, all: &[Msg]) -> SearchParams {
    let pick = |r: &mut SmallRng| &all[r.random_range(0..all.len())];
    let mut p = SearchParams::default();
    let vals = |r: &mut SmallRng, pool: Vec<String>| -> Values {
        let mut v: Vec<String> = pool.into_iter().filter(|_| r.random_bool(0.7)).take(2).collect();
        if r.random_bool(0.1) {
            v.push(if r.random_bool(0.5) { EMPTY.into() } else { ANY.into() });
        }
        Values { values: v, negate: r.random_bool(0.25) }
    };
    for _ in 0..r.random_range(1..4) {
        let m = pick(r).clone();
        match r.random_range(0..13) {
            0 => p.dt_from = Some(m.detect - TimeDelta::hours(r.random_range(0..48))),
            1 => p.st_to = Some(m.storage + TimeDelta::hours(r.random_range(0..48))),
            2 | 3 => {
                let list = if r.random_bool(0.5) { &m.sources } else { &m.targets };
                if let Some(&(v6, lo, _)) = list.first() {
                    let s = if v6 {
                        let a = std::net::Ipv6Addr::from(lo);
                        [
                            format!("{a}"),
                            format!("{a}/48"),
                            format!("{a}-{}", std::net::Ipv6Addr::from(lo.saturating_add(1000))),
                        ][r.random_range(0..3)]
                        .clone()
                    } else {
                        let a = std::net::Ipv4Addr::from(lo as u32);
                        [
                            format!("{a}"),
                            format!("{a}/24"),
                            format!("{a}/16"),
                            format!("{a}-{}", std::net::Ipv4Addr::from((lo as u32).saturating_add(300))),
                        ][r.random_range(0..4)]
                        .clone()
                    };
                    let v = vec![ip(&s)];
                    match r.random_range(0..3) {
                        0 => p.source_addrs = v,
                        1 => p.target_addrs = v,
                        _ => p.host_addrs = v,
                    }
                }
                let names = if r.random_bool(0.5) { &m.source_names } else { &m.target_names };
                if let Some(name) = names.first().filter(|_| r.random_bool(0.5)) {
                    let item = if r.random_bool(0.5) {
                        Hostname::of(name)
                    } else {
                        Hostname::of(&name[name.find('.').unwrap_or(0)..])
                    };
                    match r.random_range(0..3) {
                        0 => p.source_hostnames.push(item),
                        1 => p.target_hostnames.push(item),
                        _ => p.host_hostnames.push(item),
                    }
                }
            }
            4 => {
                let ports: Vec<u16> = m.target_ports.iter().chain(&m.source_ports).take(2).map(|p| *p as u16).collect();
                match r.random_range(0..3) {
                    0 => p.source_ports = ports,
                    1 => p.target_ports = ports,
                    _ => p.host_ports = ports,
                }
            }
            5 => p.categories = vals(r, m.categories.clone()),
            6 => p.detectors = vals(r, m.detectors.clone()),
            7 => p.severities = vals(r, m.severity.clone().into_iter().collect()),
            8 => p.classes = vals(r, m.class.clone().into_iter().collect()),
            9 => p.protocols = vals(r, m.protocols.clone()),
            10 => match r.random_range(0..4) {
                0 => p.host_types = vals(r, m.source_types.clone()),
                1 => p.target_types = vals(r, m.target_types.clone()),
                2 => p.detector_types = vals(r, m.detector_types.clone()),
                _ => p.groups = vals(r, m.groups.clone()),
            },
            11 => match r.random_range(0..7) {
                0 => p.tlps = vals(r, m.tlp.clone().into_iter().collect()),
                1 => p.target_groups = vals(r, m.target_groups.clone()),
                2 => p.target_classes = vals(r, m.target_class.clone().into_iter().collect()),
                3 => p.target_severities = vals(r, m.target_severity.clone().into_iter().collect()),
                4 => p.detector_softwares = vals(r, m.softwares.clone()),
                5 => p.shadow_reporting = Some(r.random_bool(0.5)),
                _ => {
                    let groups = m.groups.iter().chain(&m.target_groups).take(1).cloned().collect();
                    p.visibility = Visibility::Groups(groups);
                }
            },
            _ => p.description = m.description.as_ref().map(|d| d.chars().skip(2).take(6).collect()),
        }
    }
    p
}

#[tokio::test]
async fn random_combinations_match_the_model() {
    let (db, all) = seeded().await;
    let mut r = SmallRng::seed_from_u64(7);
    let mut nonempty = 0;
    let runs = 400;
    for _ in 0..runs {
        let p = random_params(&mut r, &all);
        nonempty += usize::from(check(&db, &all, &p).await > 0);
    }
    assert!(nonempty > runs / 3, "only {nonempty} of {runs} random searches matched anything");
    db.drop().await;
}

#[tokio::test]
async fn sorting_offset_paging_and_keyset_paging_agree() {
    let (db, all) = seeded().await;
    for sort in ["time.desc", "time.asc", "storagetime.desc", "detecttime.asc"] {
        let base = SearchParams {
            categories: Values::of(["Recon.Scanning", "Attempt.Login"]),
            sortby: SortBy::parse(sort),
            ..Default::default()
        };
        let want = expected(&base, &all);
        assert!(want.len() > 500, "{}", want.len());
        assert_eq!(ids(&db, &base).await, want, "order for {sort}");
        let page3 = SearchParams { limit: Some(7), page: 3, ..base.clone() };
        assert_eq!(ids(&db, &page3).await, want[14..21], "page 3 for {sort}");
        // Keyset: walk every page through the cursor; the concatenation is the full list.
        let mut walked = Vec::new();
        let mut p = SearchParams { limit: Some(97), ..base.clone() };
        loop {
            let page = db.store.search_events(&p).await.unwrap();
            walked.extend(page.items.iter().map(|e| e.id.clone()));
            match page.next_cursor {
                Some(c) => p.after = Some(Cursor::decode(&c).expect("the cursor decodes")),
                None => break,
            }
        }
        assert_eq!(walked, want, "keyset walk for {sort}");
    }
    // Storage-time bounds make `time` mean storage time.
    let st = SearchParams {
        st_from: Some(all[200].storage),
        sortby: Some(SortBy { field: SortField::Time, dir: SortDir::Asc }),
        ..Default::default()
    };
    assert_eq!(ids(&db, &st).await, expected(&st, &all));
    db.drop().await;
}

#[tokio::test]
async fn single_address_pages_are_exact_through_cursor_and_offset() {
    let (db, all) = seeded().await;
    let mut r = SmallRng::seed_from_u64(3);
    let busiest = {
        let mut counts = std::collections::HashMap::new();
        for m in &all {
            for s in &m.sources {
                *counts.entry(*s).or_insert(0) += 1;
            }
        }
        counts.into_iter().filter(|(s, _)| s.1 == s.2).max_by_key(|(_, n)| *n).map(|(s, _)| s).unwrap()
    };
    for round in 0..24 {
        let m = &all[r.random_range(0..all.len())];
        let list = if round % 2 == 0 && !m.sources.is_empty() { &m.sources } else { &m.targets };
        let (v6, lo, _) = if round < 4 { busiest } else { list[r.random_range(0..list.len())] };
        let a = if v6 {
            std::net::IpAddr::from(std::net::Ipv6Addr::from(lo))
        } else {
            std::net::IpAddr::from(std::net::Ipv4Addr::from(lo as u32))
        };
        let addr = vec![ip(&a.to_string())];
        let mut base = SearchParams {
            sortby: SortBy::parse(if round % 3 == 0 { "time.asc" } else { "time.desc" }),
            ..Default::default()
        };
        // The busiest address is a source: search it as host or source.
        match if round < 4 { round % 2 } else { round % 3 } {
            0 => base.host_addrs = addr,
            1 => base.source_addrs = addr,
            _ => base.target_addrs = addr,
        }
        if round % 4 == 1 {
            base.dt_from = Some(m.detect - TimeDelta::days(2));
        }
        let want = expected(&base, &all);
        assert!(!want.is_empty() || round >= 4, "round {round}: {base:?}");
        let mut walked = Vec::new();
        let mut p = SearchParams { limit: Some(3), ..base.clone() };
        loop {
            let page = db.store.search_events(&p).await.unwrap();
            walked.extend(page.items.iter().map(|e| e.id.clone()));
            match page.next_cursor {
                Some(c) => p.after = Some(Cursor::decode(&c).unwrap()),
                None => break,
            }
        }
        assert_eq!(walked, want, "keyset walk, round {round}: {base:?}");
        let page2 = SearchParams { limit: Some(3), page: 2, ..base.clone() };
        assert_eq!(
            ids(&db, &page2).await,
            want.iter().skip(3).take(3).cloned().collect::<Vec<_>>(),
            "page 2, round {round}"
        );
    }
    db.drop().await;
}

#[tokio::test]
async fn ghost_rows_carry_the_indexed_columns() {
    let (db, all) = seeded().await;
    let p = SearchParams {
        source_addrs: vec![ip("192.168.0.0/16")],
        sortby: SortBy::parse("detecttime.asc"),
        ..Default::default()
    };
    let ghosts = db.store.search_ghosts(&p).await.unwrap().items;
    assert_eq!(ghosts.iter().map(|g| g.id.clone()).collect::<Vec<_>>(), expected(&p, &all));
    let g =
        ghosts.iter().find(|g| g.id == "4390fc3f-c753-4a3e-bc83-1b44f24baf75").expect("mentatng_1 is in the fixture");
    let v = ideadb::storage::ghost::to_idea(g);
    assert_eq!(v["Source"][0]["IP6"][0], "2001:db8::ff00:42:0/112");
    assert_eq!(v["Target"][0]["Port"], serde_json::json!([22, 25, 443]));
    assert_eq!(v["Node"][0]["Name"], "org.example.kippo_honey");
    let m = all.iter().find(|m| m.id == g.id).unwrap();
    assert_eq!(v["_CESNET"]["EventSeverity"].as_str(), m.severity.as_deref());
    assert_eq!(v["_CESNET"]["StorageTime"].as_str().unwrap(), ideadb::idea::time::render(&m.storage));
    db.drop().await;
}

#[tokio::test]
async fn delete_events_removes_exactly_the_matches_and_their_side_rows() {
    let (db, all) = seeded().await;
    let p = SearchParams { detectors: Values::of(["cz.cesnet.labrea"]), ..Default::default() };
    let want = expected(&p, &all).len() as u64;
    assert!(want > 50);
    assert_eq!(db.store.delete_events(&p).await.unwrap(), want);
    assert_eq!(db.store.count_events(&SearchParams::default()).await.unwrap() as u64, all.len() as u64 - want);
    let c = db.sql().await;
    let orphans: i64 = c
        .query_one(
            "SELECT count(*) FROM events_addr a WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.id = a.id)",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let orphans_json: i64 = c
        .query_one(
            "SELECT count(*) FROM events_json j WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.id = j.id)",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let orphans_net16: i64 = c
        .query_one(
            "SELECT count(*) FROM events_net16 n WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.id = n.id)",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!((orphans, orphans_json, orphans_net16), (0, 0, 0));
    assert!(db.store.delete_event(&all[0].id).await.unwrap());
    assert!(!db.store.delete_event(&all[0].id).await.unwrap());
    db.drop().await;
}

#[tokio::test]
async fn hawat_form_parameters_search_like_the_typed_ones() {
    let (db, all) = seeded().await;
    let now = chrono::Utc::now();
    let pairs = |q: &[(&str, &str)]| -> Vec<(String, String)> {
        q.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    };
    for not_key in ["not_classes", "not_classess"] {
        let q = pairs(&[
            ("dt_from", ""),
            ("classes", "recon-scanning"),
            (not_key, "yes"),
            ("host_addrs", "195.113.0.0/16"),
            ("limit", "10000"),
        ]);
        let p = ideadb::search_form::parse(&q, chrono_tz::UTC, now).unwrap();
        let want = expected(&p, &all);
        assert!(want.len() > 50, "{not_key}: {}", want.len());
        assert_eq!(ids(&db, &p).await, want, "{not_key}");
    }
    db.drop().await;
}

/// Addresses and detection times alone are counted from `events_addr` and `events_net16`
/// (whole /16 networks); every such count must still equal the model's.
#[tokio::test]
async fn address_only_counts_match_the_model() {
    let (db, all) = seeded().await;
    let t0 = all.iter().map(|m| m.detect).max().unwrap();
    let day = |back: i64| (Some(t0 - TimeDelta::days(back + 1)), Some(t0 - TimeDelta::days(back)));
    let mut nonzero = 0;
    for (back, addr) in [
        (0, "0.0.0.0/1"),
        (1, "128.0.0.0/2"),
        (2, "10.0.0.0/12"),
        (0, "192.0.0.0/16"),
        (1, "195.113.128.0-195.115.127.255"),
        (3, "1.0.0.0-100.255.0.0"),
        (0, "::/0"),
        (1, "2001:db8::/32"),
    ] {
        let (dt_from, dt_to) = day(back);
        let a = vec![ip(addr)];
        for p in [
            SearchParams { dt_from, dt_to, target_addrs: a.clone(), ..Default::default() },
            SearchParams { dt_from, dt_to, source_addrs: a.clone(), ..Default::default() },
            SearchParams { dt_from, dt_to, host_addrs: a.clone(), ..Default::default() },
            SearchParams { dt_from, target_addrs: a.clone(), ..Default::default() },
        ] {
            if check(&db, &all, &p).await > 0 {
                nonzero += 1;
            }
        }
    }
    // Every single address of a few events, alone and with a day around it.
    for m in all.iter().step_by(97) {
        for span in m.targets.iter().chain(&m.sources).take(2) {
            let (v6, lo, hi) = *span;
            let text = if v6 {
                format!("{}-{}", std::net::Ipv6Addr::from(lo), std::net::Ipv6Addr::from(hi))
            } else {
                format!("{}-{}", std::net::Ipv4Addr::from(lo as u32), std::net::Ipv4Addr::from(hi as u32))
            };
            let a = vec![ip(&text)];
            let p = SearchParams {
                target_addrs: a.clone(),
                dt_from: Some(m.detect - TimeDelta::hours(12)),
                dt_to: Some(m.detect + TimeDelta::hours(12)),
                ..Default::default()
            };
            check(&db, &all, &p).await;
            check(&db, &all, &SearchParams { host_addrs: a, ..Default::default() }).await;
        }
    }
    assert!(nonzero >= 10, "{nonzero} address counts found something");
    db.drop().await;
}
