//! The storage searches: each shape of BENCHMARKS.md against Mentat's SQL for it.

use super::{timed, url, Stats};
use anyhow::ensure;
use chrono::{NaiveDateTime, TimeDelta};
use ideadb::idea::{self, IpRange};
use ideadb::storage::{Cursor, EventStore, Hostname, SearchParams, SortBy, StoreConfig, Values};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;
use std::time::Instant;

/// Times a search shape over `runs` parameter sets (each page must hold `min` items at least)
/// and prints its row.
pub(crate) async fn search_shape(
    store: &EventStore,
    runs: usize,
    name: &str,
    min: usize,
    params: impl Fn(usize) -> SearchParams,
) -> anyhow::Result<Stats> {
    let s = timed(runs, |i| {
        let p = params(i);
        async move {
            let n = store.search_events(&p).await?.items.len();
            ensure!(n >= min, "{name}: {n} items, expected {min} at least");
            Ok(())
        }
    })
    .await?;
    println!("{}", s.line(name));
    Ok(s)
}

pub(crate) async fn search(admin: &str, db: &str, end: NaiveDateTime, days: u32, runs: usize) -> anyhow::Result<()> {
    let url = url(admin, db);
    let store = EventStore::new(&StoreConfig::new(url.clone()))?;
    let (c, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await?;
    tokio::spawn(conn);
    // As autovacuum would; Mentat's bounding-range GiST index serves the baseline queries.
    let t = Instant::now();
    c.batch_execute("CREATE INDEX IF NOT EXISTS events_ip_aggr_idx ON events USING gist (source_ip_aggr_ip4, target_ip_aggr_ip4, source_ip_aggr_ip6, target_ip_aggr_ip6)").await?;
    c.batch_execute("VACUUM ANALYZE").await?;
    println!("\nvacuum, analyse and Mentat's aggr GiST index: {:.0} s", t.elapsed().as_secs_f64());
    let total: i64 = c.query_one("SELECT count(*) FROM events", &[]).await?.get(0);
    let newest: NaiveDateTime = c.query_one("SELECT max(detecttime) FROM events", &[]).await?.get(0);
    let end = end.min(newest);
    // Sample addresses actually present: one per run, from sources of random events.
    let sample: Vec<(String, Vec<IpRange>)> = c
        .query(
            "SELECT id, source_ip FROM events TABLESAMPLE SYSTEM (0.2) WHERE source_ip_aggr_ip4 IS NOT NULL LIMIT $1",
            &[&((runs as i64 + 1) * 4)],
        )
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    ensure!(sample.len() > runs, "too few sampled events");
    let v4 = |i: usize| -> u32 {
        match sample[i % sample.len()].1.iter().find(|r| r.family() == idea::Family::V4) {
            Some(IpRange::V4 { lo, .. }) => *lo,
            _ => 0x0808_0808,
        }
    };
    let a4 = |a: u32| std::net::Ipv4Addr::from(a).to_string();
    let mut rng = SmallRng::seed_from_u64(9);
    let week = |r: &mut SmallRng| end - TimeDelta::days(7) + TimeDelta::minutes(r.random_range(-600..600));
    let pairs: Vec<(String, String)> = c
        .query("SELECT DISTINCT category[1], node_name[1] FROM events TABLESAMPLE SYSTEM (0.5)", &[])
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let latest = SortBy::parse("time.desc");
    println!("\n## Search on {total} events ({runs} runs each, random values; ms)\n");
    println!("| query | p50 | p95 | runs |\n|---|---|---|---|");
    let mut results = BTreeMap::new();

    let starts: Vec<NaiveDateTime> = (0..=runs).map(|_| week(&mut rng)).collect();
    let s = search_shape(&store, runs, "latest 100 in 7 days (with JSON)", 100, |i| SearchParams {
        dt_from: Some(starts[i]),
        sortby: latest,
        limit: Some(100),
        ..Default::default()
    })
    .await?;
    results.insert("latest", s);

    let s = search_shape(&store, runs, "source /24 + 7 days, latest 100", 0, |i| SearchParams {
        source_addrs: vec![IpRange::parse(&format!("{}/24", a4(v4(i) & 0xffff_ff00))).unwrap()],
        dt_from: Some(starts[i]),
        sortby: latest,
        limit: Some(100),
        ..Default::default()
    })
    .await?;
    let ours_24 = s.pct(0.5);
    results.insert("src24", s);

    let s = search_shape(&store, runs, "one source address, all time, latest 100", 1, |i| SearchParams {
        source_addrs: vec![IpRange::parse(&a4(v4(i))).unwrap()],
        sortby: latest,
        limit: Some(100),
        ..Default::default()
    })
    .await?;
    let ours_one = s.pct(0.5);
    results.insert("one", s);

    // Names actually present, as for addresses; and their domains.
    let names: Vec<String> = c
        .query(
            "SELECT h FROM events TABLESAMPLE SYSTEM (1), unnest(source_hostname || target_hostname) h LIMIT $1",
            &[&(runs as i64 + 1)],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    ensure!(!names.is_empty(), "no hostnames sampled");
    let name = |i: usize| names[i % names.len()].clone();
    let domain = |i: usize| {
        let n = name(i);
        n[n.find('.').unwrap_or(0)..].to_string()
    };
    let s = search_shape(&store, runs, "one hostname, all time, latest 100", 1, |i| SearchParams {
        host_hostnames: vec![Hostname::of(&name(i))],
        sortby: latest,
        limit: Some(100),
        ..Default::default()
    })
    .await?;
    let ours_name = s.pct(0.5);
    results.insert("name", s);
    let s = search_shape(&store, runs, "a domain (.example.com), 7 days, latest 100", 0, |i| SearchParams {
        host_hostnames: vec![Hostname::of(&domain(i))],
        dt_from: Some(starts[i]),
        sortby: latest,
        limit: Some(100),
        ..Default::default()
    })
    .await?;
    let ours_domain = s.pct(0.5);
    results.insert("domain", s);

    let s = search_shape(&store, runs, "category + detector + 7 days, latest 100", 0, |i| {
        let (cat, det) = pairs[i % pairs.len()].clone();
        SearchParams {
            categories: Values::of([cat]),
            detectors: Values::of([det]),
            dt_from: Some(starts[i]),
            sortby: latest,
            limit: Some(100),
            ..Default::default()
        }
    })
    .await?;
    results.insert("catdet", s);

    let own = ideadb::gen::CONSTITUENCY;
    let days_back: Vec<i64> = (0..=runs).map(|_| rng.random_range(1..i64::from(days.max(2)))).collect();
    let s = timed(runs, |i| {
        let net = IpRange::parse(&format!("{}/16", a4(own[i % own.len()]))).unwrap();
        let from = end - TimeDelta::days(days_back[i]);
        let p = SearchParams {
            target_addrs: vec![net],
            dt_from: Some(from),
            dt_to: Some(from + TimeDelta::days(1)),
            ..Default::default()
        };
        let st = &store;
        async move {
            st.count_events(&p).await?;
            Ok(())
        }
    })
    .await?;
    println!("{}", s.line("count of a target /16 in 1 day"));
    results.insert("count16", s);

    // Cursors of rows ~100,000 deep (found untimed), then the next page through each.
    let mut cursors = Vec::new();
    for _ in 0..=runs.min(50) {
        let depth: i64 = rng.random_range(95_000..105_000);
        let r = c
            .query_one(
                "SELECT detecttime, id FROM events ORDER BY detecttime DESC, id DESC OFFSET $1 LIMIT 1",
                &[&depth],
            )
            .await?;
        cursors.push(Cursor { time: r.get(0), id: r.get(1) });
    }
    let s = search_shape(&store, runs, "page 100,000 rows deep via the cursor", 100, |i| SearchParams {
        sortby: latest,
        limit: Some(100),
        after: Some(cursors[i % cursors.len()].clone()),
        ..Default::default()
    })
    .await?;
    let ours_deep = s.pct(0.5);
    results.insert("deep", s);

    println!("\n## Baselines measured in the same run (ms)\n");
    println!("| query | p50 | p95 | runs |\n|---|---|---|---|");
    let base_runs = runs.min(50);
    let mentat_24 = c
        .prepare("SELECT e.id, j.event FROM events e JOIN events_json j ON j.id = e.id AND j.storagetime = e.cesnet_storagetime WHERE (e.source_ip_aggr_ip4 && $1::text::ip4r AND $1::text::iprange && ANY(e.source_ip)) AND e.detecttime >= $2 ORDER BY e.detecttime DESC LIMIT 100")
        .await?;
    let s = timed(base_runs, |i| {
        let (c, q, net, from) = (&c, &mentat_24, format!("{}/24", a4(v4(i) & 0xffff_ff00)), starts[i]);
        async move {
            c.query(q, &[&net, &from]).await?;
            Ok(())
        }
    })
    .await?;
    println!("{}", s.line("Mentat: source /24 + 7 days (aggr && x AND x && ANY(array))"));
    println!("ratio (p50): {:.0}x", s.pct(0.5) / ours_24);
    let mentat_one = c
        .prepare("SELECT e.id, j.event FROM events e JOIN events_json j ON j.id = e.id AND j.storagetime = e.cesnet_storagetime WHERE (e.source_ip_aggr_ip4 && $1::text::ip4r AND $1::text::iprange && ANY(e.source_ip)) ORDER BY e.detecttime DESC LIMIT 100")
        .await?;
    let s = timed(base_runs, |i| {
        let (c, q, ip) = (&c, &mentat_one, a4(v4(i)));
        async move {
            c.query(q, &[&ip]).await?;
            Ok(())
        }
    })
    .await?;
    println!("{}", s.line("Mentat: one source address, all time"));
    println!("ratio (p50): {:.0}x", s.pct(0.5) / ours_one);
    // mentat-ng's hostname columns have no index of their own.
    let mentat_name = c
        .prepare("SELECT e.id, j.event FROM events e JOIN events_json j ON j.id = e.id AND j.storagetime = e.cesnet_storagetime WHERE (e.source_hostname && $1::text[] OR e.target_hostname && $1::text[]) ORDER BY e.detecttime DESC LIMIT 100")
        .await?;
    let s = timed(base_runs.min(20), |i| {
        let (c, q, n) = (&c, &mentat_name, vec![name(i)]);
        async move {
            c.query(q, &[&n]).await?;
            Ok(())
        }
    })
    .await?;
    println!("{}", s.line("Mentat: one hostname, all time (no index on the names)"));
    println!("ratio (p50): {:.0}x", s.pct(0.5) / ours_name);
    let mentat_domain = c
        .prepare("SELECT e.id, j.event FROM events e JOIN events_json j ON j.id = e.id AND j.storagetime = e.cesnet_storagetime WHERE EXISTS (SELECT 1 FROM unnest(e.source_hostname || e.target_hostname) h WHERE h ILIKE $1) AND e.detecttime >= $2 ORDER BY e.detecttime DESC LIMIT 100")
        .await?;
    let s = timed(base_runs.min(20), |i| {
        let (c, q, pattern, from) = (&c, &mentat_domain, format!("%{}%", domain(i)), starts[i]);
        async move {
            c.query(q, &[&pattern, &from]).await?;
            Ok(())
        }
    })
    .await?;
    println!("{}", s.line("Mentat: a domain, 7 days (ILIKE over the names)"));
    println!("ratio (p50): {:.0}x", s.pct(0.5) / ours_domain);
    let mentat_catdet = c
        .prepare("SELECT e.id, j.event FROM events e JOIN events_json j ON j.id = e.id AND j.storagetime = e.cesnet_storagetime WHERE e.category && $1::text[] AND e.node_name && $2::text[] AND e.detecttime >= $3 ORDER BY e.detecttime DESC, e.id DESC LIMIT 100")
        .await?;
    let s = timed(base_runs, |i| {
        let (cat, det) = pairs[i % pairs.len()].clone();
        let (c, q, from) = (&c, &mentat_catdet, starts[i]);
        async move {
            c.query(q, &[&vec![cat], &vec![det], &from]).await?;
            Ok(())
        }
    })
    .await?;
    println!("{}", s.line("Mentat: category + detector + 7 days (two GIN conditions)"));
    println!("ratio (p50): {:.1}x", s.pct(0.5) / results["catdet"].pct(0.5));
    let mentat_count = c
        .prepare("SELECT count(*) FROM events WHERE detecttime >= $2 AND detecttime <= $3 AND target_ip_aggr_ip4 && $1::text::ip4r AND $1::text::iprange && ANY(target_ip)")
        .await?;
    let s = timed(base_runs, |i| {
        let net = format!("{}/16", a4(own[i % own.len()]));
        let from = end - TimeDelta::days(days_back[i]);
        let (c, q) = (&c, &mentat_count);
        async move {
            c.query_one(q, &[&net, &from, &(from + TimeDelta::days(1))]).await?;
            Ok(())
        }
    })
    .await?;
    println!("{}", s.line("Mentat: count of a target /16 in 1 day (aggr && x AND x && ANY(array))"));
    println!("ratio (p50): {:.1}x", s.pct(0.5) / results["count16"].pct(0.5));
    let s = timed(base_runs.min(20), |_| {
        let c = &c;
        async move { c.query("SELECT e.id, j.event FROM events e JOIN events_json j ON j.id = e.id AND j.storagetime = e.cesnet_storagetime ORDER BY e.detecttime DESC, e.id DESC OFFSET 100000 LIMIT 100", &[]).await?; Ok(()) }
    })
    .await?;
    println!("{}", s.line("OFFSET 100,000 (Hawat's paging)"));
    println!("ratio (p50): {:.0}x", s.pct(0.5) / ours_deep);
    Ok(())
}
