//! The browser app in a real headless Chromium (Debian's `chromium` and `chromium-driver`),
//! driven over WebDriver against a real `ideadb serve` serving the built app (`dist/`, made by
//! `trunk build --release`, which `make test` runs first). Compiled into the integration tests
//! (`api/tests/integration/main.rs`) to share their database and server harness.
//!
//! Screenshots of each page and the measured timings go to `e2e/artifacts/`.

use std::collections::HashMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

use crate::harness::{fixture, generated, TestDb};
use crate::server::{account, Server};

const WAIT: Duration = Duration::from_secs(20);
const PASSWORD: &str = "correct horse battery staple";

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn artifacts() -> PathBuf {
    let dir = workspace().join("e2e/artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The built app: `IDEADB_TEST_SPA_DIR`, or `dist/` of the workspace.
fn spa_dir() -> PathBuf {
    let dir = std::env::var_os("IDEADB_TEST_SPA_DIR").map(PathBuf::from).unwrap_or_else(|| workspace().join("dist"));
    assert!(
        dir.join("index.html").is_file(),
        "no built browser app in {}: run `trunk build --release` (make test does)",
        dir.display()
    );
    dir
}

struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn browser(downloads: &Path, name: &str) -> (Driver, Client) {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let driver = Driver(
        Command::new("/usr/bin/chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver (Debian package chromium-driver)"),
    );
    let profile = tempdir(&format!("profile-{name}"));
    let caps = json!({
        "goog:chromeOptions": {
            "binary": "/usr/bin/chromium",
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--window-size=1400,1000", format!("--user-data-dir={}", profile.display())],
            "prefs": {"download.default_directory": downloads, "download.prompt_for_download": false}
        }
    });
    let caps = caps.as_object().unwrap().clone();
    let url = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    loop {
        match ClientBuilder::rustls().expect("TLS roots").capabilities(caps.clone()).connect(&url).await {
            Ok(c) => return (driver, c),
            Err(e) if started.elapsed() < WAIT => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("cannot drive Chromium: {e}"),
        }
    }
}

fn tempdir(what: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ideadb-e2e-{what}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn find(c: &Client, css: &str) -> Element {
    c.wait().at_most(WAIT).for_element(Locator::Css(css)).await.unwrap_or_else(|e| panic!("no {css}: {e}"))
}

async fn text(c: &Client, css: &str) -> String {
    find(c, css).await.text().await.unwrap()
}

/// Polls `check` until it holds; on timeout the page's text goes into the failure.
async fn until<F: std::future::Future<Output = bool>>(c: &Client, what: &str, mut check: impl FnMut() -> F) {
    let started = Instant::now();
    while !check().await {
        if started.elapsed() > WAIT {
            let page = c.execute("return document.body.innerText", vec![]).await.unwrap_or_default();
            let page: String = page.as_str().unwrap_or_default().chars().take(1500).collect();
            panic!("timed out waiting for {what}; the page says:\n{page}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn shot(c: &Client, name: &str) {
    let png = c.screenshot().await.unwrap();
    std::fs::write(artifacts().join(format!("{name}.png")), png).unwrap();
}

async fn row_ids(c: &Client) -> Vec<String> {
    // One script, so rows replaced while they are read cannot go stale half-way.
    let js = "return Array.from(document.querySelectorAll('#results [role=row][data-id]')).map(r => r.dataset.id)";
    serde_json::from_value(c.execute(js, vec![]).await.unwrap()).unwrap()
}

fn api_ids(answer: &Value) -> Vec<String> {
    answer["items"].as_array().unwrap().iter().map(|e| e["ID"].as_str().unwrap().to_string()).collect()
}

async fn timings(c: &Client) -> HashMap<String, f64> {
    let v = c.execute("return window.ideadbTimings || {}", vec![]).await.unwrap();
    serde_json::from_value(v).unwrap_or_default()
}

/// The most frequent (source /8, category) pair of the generated events: a search with pages.
fn busy_cidr_and_category(events: &[Value]) -> (String, String) {
    let mut counts: HashMap<(String, String), usize> = HashMap::new();
    for e in events {
        let nets: Vec<String> = e["Source"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|s| s["IP4"].as_array().cloned().unwrap_or_default())
            .filter_map(|a| a.as_str()?.parse::<std::net::Ipv4Addr>().ok())
            .map(|a| format!("{}.0.0.0/8", a.octets()[0]))
            .collect();
        for n in nets {
            for cat in e["Category"].as_array().unwrap() {
                *counts.entry((n.clone(), cat.as_str().unwrap().to_string())).or_default() += 1;
            }
        }
    }
    counts.into_iter().max_by_key(|(k, n)| (*n, k.clone())).map(|(k, _)| k).unwrap()
}

/// What every journey starts from: a database with the corpus and `noise` generated events,
/// a `user` API key (for the API's own answers), the analyst's account, the server serving the
/// built app, and a browser.
struct Journey {
    db: TestDb,
    server: Server,
    key: String,
    corpus: Vec<Value>,
    noise: Vec<Value>,
    downloads: PathBuf,
    c: Client,
    _driver: Driver,
}

impl Journey {
    async fn start(name: &str, noise: u64) -> Self {
        let spa = spa_dir();
        let db = TestDb::new().await;
        let corpus = fixture();
        let noise = if noise > 0 { generated(noise, 1, 5) } else { Vec::new() };
        db.load(&corpus).await;
        db.load(&noise).await;
        let key = account(&db, "robot", &["user"], true).await;
        let hash = ideadb::auth::hash_password(PASSWORD).unwrap();
        db.store.user_create("analyst", &["user"], Some(&hash)).await.unwrap();
        let server = Server::start_with(&db.url, &["--spa-dir", spa.to_str().unwrap()]);
        let downloads = tempdir(&format!("downloads-{name}"));
        let (_driver, c) = browser(&downloads, name).await;
        Journey { db, server, key, corpus, noise, downloads, c, _driver }
    }

    /// Opens the app in UTC and logs in as the analyst: the search page.
    async fn log_in(&self) {
        let c = &self.c;
        c.goto(&self.server.url("/events/search")).await.unwrap();
        c.execute("localStorage.setItem('ideadb.tz', 'UTC')", vec![]).await.unwrap();
        c.goto(&self.server.url("/events/search")).await.unwrap();
        find(c, "#login").await.send_keys("analyst").await.unwrap();
        find(c, "#password").await.send_keys(PASSWORD).await.unwrap();
        find(c, "form.login button[type=submit]").await.click().await.unwrap();
        find(c, "#search").await;
    }

    async fn end(self, name: &str, measured: HashMap<&str, f64>) {
        if !measured.is_empty() {
            let figures = serde_json::to_string_pretty(&measured).unwrap();
            std::fs::write(artifacts().join(format!("timings-{name}.json")), &figures).unwrap();
            println!("browser figures ({name}): {figures}");
        }
        self.c.close().await.unwrap();
        self.db.drop().await;
    }
}

#[tokio::test]
async fn journey_login_wrong_then_right_expired_session_and_server_gone() {
    let j = Journey::start("login", 0).await;
    // The app runs under a policy that allows only its own files and start-up script: every
    // step of every journey would fail if the policy blocked anything it needs.
    let page = reqwest::get(j.server.url("/events/search")).await.unwrap();
    let csp = page.headers()["content-security-policy"].to_str().unwrap().to_string();
    assert!(
        csp.contains("'wasm-unsafe-eval'") && csp.contains("'sha256-") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert!(!csp.contains("script-src 'self' 'unsafe-inline'"), "{csp}");
    let mut measured: HashMap<&str, f64> = HashMap::new();
    let Journey { server, c, .. } = &j;
    let spa = spa_dir();
    // Login: the app shows the form in place of the page asked for, then the page.
    c.goto(&server.url("/events/search")).await.unwrap();
    c.execute("localStorage.setItem('ideadb.tz', 'UTC')", vec![]).await.unwrap();
    c.goto(&server.url("/events/search")).await.unwrap();
    find(c, "#login").await.send_keys("analyst").await.unwrap();
    find(c, "#password").await.send_keys("wrong").await.unwrap();
    find(c, "form.login button[type=submit]").await.click().await.unwrap();
    assert!(text(c, "#login-error").await.contains("Wrong login or password"));
    shot(c, "login").await;
    let pw = find(c, "#password").await;
    pw.clear().await.unwrap();
    pw.send_keys(PASSWORD).await.unwrap();
    find(c, "form.login button[type=submit]").await.click().await.unwrap();
    find(c, "#search").await;

    // An expired or forged token returns to the login form, saying why.
    c.execute("sessionStorage.setItem('ideadb.token', 'not-a-token')", vec![]).await.unwrap();
    c.goto(&server.url("/events/search?submit=1")).await.unwrap();
    assert!(text(c, "#login-notice").await.contains("session has ended"));

    // With the server gone, the app says so.
    j.server.stop();
    find(c, "#login").await.send_keys("analyst").await.unwrap();
    find(c, "#password").await.send_keys(PASSWORD).await.unwrap();
    find(c, "form.login button[type=submit]").await.click().await.unwrap();
    assert!(text(c, "#login-error").await.contains("cannot be reached"));

    // The release build's size, for BENCHMARKS.md.
    let wasm = std::fs::read_dir(&spa)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "wasm"))
        .unwrap();
    let gz = Command::new("sh").arg("-c").arg(format!("gzip -9c '{}' | wc -c", wasm.display())).output().unwrap();
    measured.insert("wasm_gzip_kib", String::from_utf8_lossy(&gz.stdout).trim().parse::<f64>().unwrap() / 1024.0);
    j.end("login", measured).await;
}

#[tokio::test]
async fn journey_search_page_through_export_and_open_a_row() {
    let j = Journey::start("search", 1500).await;
    j.log_in().await;
    let mut measured: HashMap<&str, f64> = HashMap::new();
    let Journey { server, c, key, noise, downloads, .. } = &j;
    // A fresh load of the search page, logged in: how soon the form is usable.
    c.goto(&server.url("/events/search")).await.unwrap();
    find(c, "#search").await;
    until(c, "the ready timing", || async { timings(c).await.contains_key("search_ready_ms") }).await;
    measured.insert("search_ready_ms", timings(c).await["search_ready_ms"]);

    // Search by a source CIDR and a category, ten rows a page; the rows are the API's.
    let (cidr, category) = busy_cidr_and_category(noise);
    find(c, "[data-testid=section-origin]").await.click().await.unwrap();
    find(c, "[data-testid=section-event]").await.click().await.unwrap();
    find(c, "#source_addrs").await.send_keys(&cidr).await.unwrap();
    find(c, &format!("#categories option[value='{category}']")).await.click().await.unwrap();
    find(c, "#limit option[value='10']").await.click().await.unwrap();
    find(c, "#search").await.click().await.unwrap();
    until(c, "the results", || async { text(c, "#summary").await.contains(" of ") }).await;
    shot(c, "search-form").await;
    c.execute("document.getElementById('summary').scrollIntoView()", vec![]).await.unwrap();
    shot(c, "search-results").await;
    let url = c.current_url().await.unwrap();
    let query = url.query().unwrap().to_string();
    assert!(query.contains("source_addrs=") && query.contains("categories="), "{query}");
    let page1 = server.get_json(&format!("/api/events/search?{query}"), key).await;
    let expected = api_ids(&page1);
    assert_eq!(expected.len(), 10, "the busiest /8 and category fill a page: {page1}");
    assert_eq!(row_ids(c).await, expected, "page 1 is the API's answer to the same query string");
    let everything = server.get_json(&format!("/api/events/search?{query}&count=true"), key).await;
    let total = everything["total"].as_i64().unwrap();
    assert!(text(c, "#summary").await.contains(&format!("of {total}")), "the total is shown");

    // Export CSV: every match, not only the page.
    find(c, "#export-csv").await.click().await.unwrap();
    let csv = downloads.join("events.csv");
    until(c, "the export", || async { std::fs::read_to_string(&csv).is_ok_and(|t| t.lines().count() > 1) }).await;
    let records = csv::Reader::from_path(&csv).unwrap().records().count();
    assert_eq!(records as i64, total, "one CSV record per matching event");

    find(c, "#next-page").await.click().await.unwrap();
    until(c, "page 2", || async { c.current_url().await.unwrap().query().unwrap_or("").contains("page=2") }).await;
    let page2 = server.get_json(&format!("/api/events/search?{query}&page=2"), key).await;
    until(c, "page 2 rows", || async { row_ids(c).await == api_ids(&page2) }).await;

    // Load more on the cursor appends the next rows.
    until(c, "Load more to be enabled", || async { find(c, "#load-more").await.is_enabled().await.unwrap_or(false) })
        .await;
    find(c, "#load-more").await.click().await.unwrap();
    until(c, "more rows", || async { row_ids(c).await.len() == 20 }).await;
    let ids = row_ids(c).await;
    let page3 = server.get_json(&format!("/api/events/search?{query}&page=3"), key).await;
    assert_eq!(ids[10..], api_ids(&page3)[..], "the cursor continues where page 2 ended");

    // A bad address is reported beside its field.
    c.goto(&server.url("/events/search?source_addrs=300.1.1.1&submit=1")).await.unwrap();
    let msg = text(c, ".field.has-error .msg").await;
    assert!(msg.contains("300.1.1.1"), "{msg}");

    // A thousand rows.
    c.goto(&server.url("/events/search?submit=1&limit=1000&dt_from=")).await.unwrap();
    until(c, "1000 rows", || async { timings(c).await.get("search_rows") == Some(&1000.0) }).await;
    until(c, "the render timing", || async { timings(c).await.contains_key("search_rows_ms") }).await;
    assert_eq!(row_ids(c).await.len(), 1000);
    measured.insert("rows_1000_ms", timings(c).await["search_rows_ms"]);

    // A row's link opens its detail inside the app.
    let first = row_ids(c).await.remove(0);
    find(c, "#results [role=row][data-id] a").await.click().await.unwrap();
    until(c, "the detail of the first row", || async { c.find(Locator::Css("#event-id")).await.is_ok() }).await;
    assert_eq!(text(c, "#event-id").await, first);
    j.end("search", measured).await;
}

#[tokio::test]
async fn journey_read_an_event_download_it_and_pivot() {
    let j = Journey::start("event", 0).await;
    j.log_in().await;
    let Journey { server, c, key, corpus, downloads, db, .. } = &j;
    // An event of the corpus, panel by panel.
    let ev = corpus
        .iter()
        .find(|e| {
            e["Description"].is_string()
                && e["CreateTime"].is_string()
                && e["Source"][0]["IP4"].is_array()
                && e["Target"][0]["IP4"].is_array()
                && e["Node"].as_array().is_some_and(|n| n.len() > 1)
        })
        .expect("a corpus event with every panel");
    let id = ev["ID"].as_str().unwrap();
    c.goto(&server.url(&format!("/events/{id}"))).await.unwrap();
    assert_eq!(text(c, "#event-title").await, ev["Description"].as_str().unwrap());
    assert_eq!(text(c, "#event-id").await, id);
    let shown_time = text(c, "dd[data-prop=detect_time]").await;
    let detect = chrono::DateTime::parse_from_rfc3339(ev["DetectTime"].as_str().unwrap()).unwrap().naive_utc();
    assert_eq!(shown_time, detect.format("%Y-%m-%d %H:%M:%S").to_string(), "in UTC, as chosen");
    assert!(!text(c, "dd[data-prop=creation_delay]").await.is_empty());
    let cats = text(c, "dd[data-prop=categories]").await;
    for cat in ev["Category"].as_array().unwrap() {
        assert!(cats.contains(cat.as_str().unwrap()), "{cats}");
    }
    shot(c, "event-properties").await;
    for (tab, list) in [("sources", &ev["Source"]), ("targets", &ev["Target"])] {
        find(c, &format!("#tab-{tab}")).await.click().await.unwrap();
        let shown = text(c, "[data-testid=tab-panel]:not([hidden])").await;
        for entry in list.as_array().unwrap() {
            for a in entry["IP4"].as_array().into_iter().flatten() {
                assert!(shown.contains(a.as_str().unwrap()), "{tab}: {a} in {shown}");
            }
        }
    }
    find(c, "#tab-detectors").await.click().await.unwrap();
    let shown = text(c, "[data-testid=tab-panel]:not([hidden])").await;
    for n in ev["Node"].as_array().unwrap() {
        assert!(shown.contains(n["Name"].as_str().unwrap()), "{shown}");
    }
    find(c, "#tab-yaml").await.click().await.unwrap();
    until(c, "the YAML", || async { text(c, "[data-testid=yaml]").await.contains(id) }).await;
    find(c, "#tab-json").await.click().await.unwrap();
    let json_text = text(c, "[data-testid=json]").await;
    assert_eq!(serde_json::from_str::<Value>(&json_text).unwrap(), *ev, "the JSON panel is the event");
    shot(c, "event-json").await;

    // Download JSON: the file is the API's download, byte for byte.
    find(c, "#download-json").await.click().await.unwrap();
    let file = downloads.join(format!("{id}.json"));
    until(c, "the download", || async { file.is_file() && std::fs::metadata(&file).unwrap().len() > 0 }).await;
    let api_bytes = server.get(&format!("/api/events/{id}/download?format=json"), key).await.bytes().await.unwrap();
    assert_eq!(std::fs::read(&file).unwrap(), api_bytes.to_vec());

    // On a phone.
    c.set_window_size(390, 844).await.unwrap();
    shot(c, "phone-event").await;
    c.set_window_size(1400, 1000).await.unwrap();

    // The context menu of a source address searches it as a source.
    find(c, "#tab-sources").await.click().await.unwrap();
    let addr = ev["Source"][0]["IP4"][0].as_str().unwrap();
    // From the keyboard: Enter on the chip opens the menu and moves into it; Enter picks.
    const ENTER: &str = "\u{E007}";
    find(c, "[data-testid=tab-panel]:not([hidden]) dd[data-prop=IP4] .chip").await.send_keys(ENTER).await.unwrap();
    find(c, ".ctx-menu button").await;
    until(c, "focus in the menu", || async {
        let js = "return !!document.activeElement.closest('.ctx-menu')";
        c.execute(js, vec![]).await.unwrap() == json!(true)
    })
    .await;
    c.active_element().await.unwrap().send_keys(ENTER).await.unwrap();
    until(c, "the pivot", || async { c.current_url().await.unwrap().query().unwrap_or("").contains("source_addrs=") })
        .await;
    let pivot = c.current_url().await.unwrap();
    let pivot_q: HashMap<String, String> = pivot.query_pairs().into_owned().collect();
    assert_eq!(pivot_q["source_addrs"], addr);
    until(c, "the pivot rows", || async { row_ids(c).await.contains(&id.to_string()) }).await;

    c.set_window_size(390, 844).await.unwrap();
    shot(c, "phone-search").await;
    c.set_window_size(1400, 1000).await.unwrap();
    // A download that fails says so (it was dropped silently): the event is deleted between
    // its page loading and the click.
    let gone = corpus.iter().map(|e| e["ID"].as_str().unwrap()).find(|g| *g != id).unwrap();
    c.goto(&server.url(&format!("/events/{gone}"))).await.unwrap();
    assert_eq!(text(c, "#event-id").await, gone);
    db.sql().await.execute("DELETE FROM events WHERE id = $1", &[&gone]).await.unwrap();
    find(c, "#download-json").await.click().await.unwrap();
    let notice = text(c, "#action-error").await;
    assert!(notice.contains("The download failed") && notice.contains(gone), "{notice}");
    find(c, "#action-error button").await.click().await.unwrap();
    j.end("event", HashMap::new()).await;
}

#[tokio::test]
async fn journey_dashboard_counters_charts_and_the_newer_range_wins() {
    let j = Journey::start("dashboard", 1500).await;
    j.log_in().await;
    let mut measured: HashMap<&str, f64> = HashMap::new();
    let Journey { server, c, key, noise, .. } = &j;
    // The dashboard, once the statistician has caught up (the generated events were stored
    // over the last day: their StorageTime).
    let range = "dt_from=now-30d&dt_to=now&tz=UTC&submit=1";
    let started = Instant::now();
    let stats = loop {
        let d = server.get_json(&format!("/api/events/dashboard?{range}"), key).await;
        if d["statistics"]["stats_overall"]["cnt_events"].as_i64().unwrap_or(0) > noise.len() as i64 / 2 {
            break d;
        }
        assert!(started.elapsed() < Duration::from_secs(120), "the statistician never counted the events");
        tokio::time::sleep(Duration::from_secs(2)).await;
    };
    c.goto(&server.url(&format!("/events/dashboard?{range}"))).await.unwrap();
    let overall = &stats["statistics"]["stats_overall"];
    let events = overall["cnt_events"].to_string();
    until(c, "the counters", || async { text(c, "#counter-cnt_events").await == events }).await;
    for k in ["cnt_alerts", "cnt_recurring", "cnt_unique"] {
        if !overall[k].is_null() {
            assert_eq!(text(c, &format!("#counter-{k}")).await, overall[k].to_string(), "{k}");
        }
    }
    until(c, "the draw timing", || async { timings(c).await.contains_key("dashboard_draw_ms") }).await;
    measured.insert("dashboard_draw_ms", timings(c).await["dashboard_draw_ms"]);
    let aggs: Vec<&String> =
        overall.as_object().unwrap().iter().filter(|(_, v)| v.is_object()).map(|(k, _)| k).collect();
    assert!(aggs.len() >= 5, "{aggs:?}");
    for agg in aggs {
        for chart in ["timeline", "pie"] {
            let svg = find(c, &format!("#agg-{agg} .chart.{chart} svg")).await;
            let drawn = svg.find_all(Locator::Css("rect, path, polygon, polyline")).await.unwrap().len();
            assert!(drawn > 1, "{agg} {chart} drawn");
        }
    }
    shot(c, "dashboard").await;
    find(c, "#group-stats_external").await.click().await.unwrap();
    find(c, "#counter-cnt_events").await;

    // The newer request wins: the answer for a range left behind arrives after the answer for
    // the range asked for next, and is dropped (before resources, it replaced it).
    let slow_down = "const [slow] = arguments; const fetch0 = window.fetch.bind(window); \
        window.fetch = (req, init) => { const url = typeof req === 'string' ? req : req.url; \
          const answer = fetch0(req, init); \
          if (!url.includes(slow)) return answer; \
          window.slowAsked = true; return new Promise(r => setTimeout(() => r(answer), 3000)); };";
    c.execute(slow_down, vec![json!("dt_from=2020-01-01")]).await.unwrap();
    let visit = "history.pushState(null, '', arguments[0]); window.dispatchEvent(new PopStateEvent('popstate'));";
    let range =
        |year: u32| format!("/events/dashboard?dt_from={year}-01-01+00:00&dt_to={year}-01-02+00:00&tz=UTC&submit=1");
    c.execute(visit, vec![json!(range(2020))]).await.unwrap();
    // The app asks for the slow range before the fast one is visited.
    until(c, "the slow request", || async {
        c.execute("return window.slowAsked === true", vec![]).await.unwrap() == json!(true)
    })
    .await;
    c.execute(visit, vec![json!(range(2021))]).await.unwrap();
    until(c, "the later range", || async { text(c, "#dashboard-range").await.starts_with("2021") }).await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    let shown = text(c, "#dashboard-range").await;
    assert!(shown.starts_with("2021"), "the slow answer for the earlier range replaced the later one: {shown}");
    j.end("dashboard", measured).await;
}
