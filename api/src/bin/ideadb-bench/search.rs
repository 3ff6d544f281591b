//! The storage searches: each shape of BENCHMARKS.md against Mentat's SQL for it.

use super::{timed, url, Stats};
use anyhow::ensure;
use chrono::{NaiveDateTime, TimeDelta};
use ideadb::idea::{self, IpRange};
use ideadb::storage::{Cursor, EventStore, Hostname, SearchParams, SortBy, StoreConfig, Values};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::sync::Mutex;
use std::time::Instant;
use tokio_postgres::Client;

/// Times a search shape over `runs` parameter sets (each page must hold `min` items at least)
/// and prints its row; also returns a digest of each call's answer (the warm-up's first).
pub(crate) async fn search_shape(
    store: &EventStore,
    runs: usize,
    name: &str,
    min: usize,
    params: impl Fn(usize) -> SearchParams,
) -> anyhow::Result<(Stats, Vec<u64>)> {
    let answers = Mutex::new(Vec::new());
    let s = timed(runs, |i| {
        let (p, answers) = (params(i), &answers);
        async move {
            let ids: Vec<String> = store.search_events(&p).await?.items.into_iter().map(|e| e.id).collect();
            ensure!(ids.len() >= min, "{name}: {} items, expected {min} at least", ids.len());
            answers.lock().unwrap().push(digest(ids));
            Ok(())
        }
    })
    .await?;
    println!("{}", s.line(name));
    Ok((s, answers.into_inner().unwrap()))
}

/// The values the searches take, sampled once from events actually stored (so a cluster
/// holding the same events is searched with the same values).
pub(crate) struct Samples {
    total: i64,
    end: NaiveDateTime,
    sources: Vec<u32>,
    starts: Vec<NaiveDateTime>,
    pairs: Vec<(String, String)>,
    names: Vec<String>,
    days_back: Vec<i64>,
    cursors: Vec<Cursor>,
}

fn a4(a: u32) -> String {
    std::net::Ipv4Addr::from(a).to_string()
}

impl Samples {
    pub(crate) async fn take(c: &Client, end: NaiveDateTime, days: u32, runs: usize) -> anyhow::Result<Self> {
        let total: i64 = c.query_one("SELECT count(*) FROM events", &[]).await?.get(0);
        let newest: NaiveDateTime = c.query_one("SELECT max(detecttime) FROM events", &[]).await?.get(0);
        let end = end.min(newest);
        // Addresses actually present: one per run, from sources of random events.
        let sources: Vec<u32> = c
            .query(
                "SELECT source_ip FROM events TABLESAMPLE SYSTEM (0.2) WHERE source_ip_aggr_ip4 IS NOT NULL LIMIT $1",
                &[&((runs as i64 + 1) * 4)],
            )
            .await?
            .iter()
            .map(|r| match r.get::<_, Vec<IpRange>>(0).iter().find(|r| r.family() == idea::Family::V4) {
                Some(IpRange::V4 { lo, .. }) => *lo,
                _ => 0x0808_0808,
            })
            .collect();
        ensure!(sources.len() > runs, "too few sampled events");
        let mut rng = SmallRng::seed_from_u64(9);
        let starts =
            (0..=runs).map(|_| end - TimeDelta::days(7) + TimeDelta::minutes(rng.random_range(-600..600))).collect();
        let pairs = c
            .query("SELECT DISTINCT category[1], node_name[1] FROM events TABLESAMPLE SYSTEM (0.5)", &[])
            .await?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
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
        let days_back = (0..=runs).map(|_| rng.random_range(1..i64::from(days.max(2)))).collect();
        // Cursors of rows ~100,000 deep (found untimed), for the next page through each.
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
        Ok(Self { total, end, sources, starts, pairs, names, days_back, cursors })
    }

    fn v4(&self, i: usize) -> u32 {
        self.sources[i % self.sources.len()]
    }

    fn source24(&self, i: usize) -> String {
        format!("{}/24", a4(self.v4(i) & 0xffff_ff00))
    }

    fn name(&self, i: usize) -> String {
        self.names[i % self.names.len()].clone()
    }

    fn domain(&self, i: usize) -> String {
        let n = self.name(i);
        n[n.find('.').unwrap_or(0)..].to_string()
    }

    fn pair(&self, i: usize) -> (String, String) {
        self.pairs[i % self.pairs.len()].clone()
    }

    fn target16(&self, i: usize) -> String {
        let own = ideadb::gen::CONSTITUENCY;
        format!("{}/16", a4(own[i % own.len()]))
    }

    fn day(&self, i: usize) -> NaiveDateTime {
        self.end - TimeDelta::days(self.days_back[i])
    }
}

/// A search shape's timings, a digest of each run's answer (the warm-up's first), and what
/// `meter` read before and after its runs.
pub(crate) struct Shape {
    pub key: &'static str,
    pub name: &'static str,
    pub stats: Stats,
    pub answers: Vec<u64>,
    pub metered: (Vec<u64>, Vec<u64>),
}

fn digest(x: impl Hash) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    x.hash(&mut h);
    h.finish()
}

/// Times the six shapes of BENCHMARKS.md (and a deep page and a count) on `store`, printing
/// their rows.
pub(crate) async fn shapes(
    store: &EventStore,
    s: &Samples,
    runs: usize,
    meter: &dyn Fn() -> Vec<u64>,
) -> anyhow::Result<Vec<Shape>> {
    let latest = SortBy::parse("time.desc");
    let mut out = Vec::new();
    let mut shape = async |key, name, min, params: &dyn Fn(usize) -> SearchParams| -> anyhow::Result<()> {
        let before = meter();
        let (stats, answers) = search_shape(store, runs, name, min, params).await?;
        out.push(Shape { key, name, stats, answers, metered: (before, meter()) });
        Ok(())
    };
    shape("latest", "latest 100 in 7 days (with JSON)", 100, &|i| SearchParams {
        dt_from: Some(s.starts[i]),
        sortby: latest,
        limit: Some(100),
        ..Default::default()
    })
    .await?;
    shape("src24", "source /24 + 7 days, latest 100", 0, &|i| SearchParams {
        source_addrs: vec![IpRange::parse(&s.source24(i)).unwrap()],
        dt_from: Some(s.starts[i]),
        sortby: latest,
        limit: Some(100),
        ..Default::default()
    })
    .await?;
    shape("one", "one source address, all time, latest 100", 1, &|i| SearchParams {
        source_addrs: vec![IpRange::parse(&a4(s.v4(i))).unwrap()],
        sortby: latest,
        limit: Some(100),
        ..Default::default()
    })
    .await?;
    shape("name", "one hostname, all time, latest 100", 1, &|i| SearchParams {
        host_hostnames: vec![Hostname::of(&s.name(i))],
        sortby: latest,
        limit: Some(100),
        ..Default::default()
    })
    .await?;
    shape("domain", "a domain (.example.com), 7 days, latest 100", 0, &|i| SearchParams {
        host_hostnames: vec![Hostname::of(&s.domain(i))],
        dt_from: Some(s.starts[i]),
        sortby: latest,
        limit: Some(100),
        ..Default::default()
    })
    .await?;
    shape("catdet", "category + detector + 7 days, latest 100", 0, &|i| {
        let (cat, det) = s.pair(i);
        SearchParams {
            categories: Values::of([cat]),
            detectors: Values::of([det]),
            dt_from: Some(s.starts[i]),
            sortby: latest,
            limit: Some(100),
            ..Default::default()
        }
    })
    .await?;
    shape("deep", "page 100,000 rows deep via the cursor", 100, &|i| SearchParams {
        sortby: latest,
        limit: Some(100),
        after: Some(s.cursors[i % s.cursors.len()].clone()),
        ..Default::default()
    })
    .await?;
    let (answers, before) = (Mutex::new(Vec::new()), meter());
    let stats = timed(runs, |i| {
        let p = SearchParams {
            target_addrs: vec![IpRange::parse(&s.target16(i)).unwrap()],
            dt_from: Some(s.day(i)),
            dt_to: Some(s.day(i) + TimeDelta::days(1)),
            ..Default::default()
        };
        let answers = &answers;
        async move {
            let n = store.count_events(&p).await?;
            answers.lock().unwrap().push(digest(n));
            Ok(())
        }
    })
    .await?;
    let name = "count of a target /16 in 1 day";
    println!("{}", stats.line(name));
    let answers = answers.into_inner().unwrap();
    out.push(Shape { key: "count16", name, stats, answers, metered: (before, meter()) });
    Ok(out)
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
    let smp = Samples::take(&c, end, days, runs).await?;
    println!("\n## Search on {} events ({runs} runs each, random values; ms)\n", smp.total);
    println!("| query | p50 | p95 | runs |\n|---|---|---|---|");
    let results: BTreeMap<&str, Stats> =
        shapes(&store, &smp, runs, &Vec::new).await?.into_iter().map(|x| (x.key, x.stats)).collect();
    let p50 = |key: &str| results[key].pct(0.5);
    let (ours_24, ours_one, ours_name, ours_domain, ours_deep) =
        (p50("src24"), p50("one"), p50("name"), p50("domain"), p50("deep"));
    println!("\n## Baselines measured in the same run (ms)\n");
    println!("| query | p50 | p95 | runs |\n|---|---|---|---|");
    let base_runs = runs.min(50);
    let mentat_24 = c
        .prepare("SELECT e.id, j.event FROM events e JOIN events_json j ON j.id = e.id AND j.storagetime = e.cesnet_storagetime WHERE (e.source_ip_aggr_ip4 && $1::text::ip4r AND $1::text::iprange && ANY(e.source_ip)) AND e.detecttime >= $2 ORDER BY e.detecttime DESC LIMIT 100")
        .await?;
    let s = timed(base_runs, |i| {
        let (c, q, net, from) = (&c, &mentat_24, smp.source24(i), smp.starts[i]);
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
        let (c, q, ip) = (&c, &mentat_one, a4(smp.v4(i)));
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
        let (c, q, n) = (&c, &mentat_name, vec![smp.name(i)]);
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
        let (c, q, pattern, from) = (&c, &mentat_domain, format!("%{}%", smp.domain(i)), smp.starts[i]);
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
        let (cat, det) = smp.pair(i);
        let (c, q, from) = (&c, &mentat_catdet, smp.starts[i]);
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
        let (net, from) = (smp.target16(i), smp.day(i));
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
