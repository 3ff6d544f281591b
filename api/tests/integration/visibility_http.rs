//! TLP-restricted visibility on a real server: accounts of different abuse groups, and of the
//! roles that see everything, each reach exactly the events mentat-ng's rule allows, through
//! every endpoint that returns an event or its bytes; a hidden event is a 404 like a missing
//! one.

use serde_json::{json, Value};

use crate::events_http::ndjson;
use crate::harness::TestDb;
use crate::server::{account, json_error, Server};

/// (ID, TLP, source groups, target groups).
type Case = (&'static str, Option<&'static str>, &'static [&'static str], &'static [&'static str]);

/// One event per case of the rule.
const EVENTS: [Case; 8] = [
    ("no-tlp", None, &[], &[]),
    ("green", Some("GREEN"), &[], &[]),
    ("clear-lower", Some("clear"), &["abuse@b.example"], &[]),
    ("amber-a-source", Some("amber"), &["abuse@a.example"], &[]),
    ("red-a-target", Some("RED"), &[], &["abuse@a.example"]),
    ("strict-b", Some("Amber-Strict"), &["abuse@b.example"], &["abuse@c.example"]),
    ("red-nobody", Some("RED"), &[], &[]),
    ("amber-both", Some("AMBER"), &["abuse@a.example"], &["abuse@b.example"]),
];

fn message((id, tlp, sources, targets): Case) -> Value {
    let mut m = json!({
        "Format": "IDEA0", "ID": id, "DetectTime": chrono::Utc::now().to_rfc3339(),
        "Category": ["Recon.Scanning"], "Source": [{"IP4": ["192.0.2.7"]}], "Node": [{"Name": "org.example.det"}],
        "_Mentat": {"ResolvedAbuses": sources, "TargetAbuses": targets},
    });
    if let Some(t) = tlp {
        m["TLP"] = json!(t);
    }
    m
}

/// What an account in `groups` without the power to see all may see.
fn visible_to(groups: &[&str]) -> Vec<&'static str> {
    let mut ids: Vec<&str> = EVENTS
        .iter()
        .filter(|(_, tlp, s, t)| {
            let restricted = tlp.is_some_and(|t| ["AMBER-STRICT", "AMBER", "RED"].contains(&t.to_uppercase().as_str()));
            !restricted || s.iter().chain(t.iter()).any(|g| groups.contains(g))
        })
        .map(|e| e.0)
        .collect();
    ids.sort_unstable();
    ids
}

fn sorted_ids(items: &[Value], key: impl Fn(&Value) -> &Value) -> Vec<String> {
    let mut ids: Vec<String> = items.iter().map(|i| key(i).as_str().unwrap().to_string()).collect();
    ids.sort_unstable();
    ids
}

#[tokio::test]
async fn each_account_reaches_exactly_the_events_its_groups_allow_through_every_endpoint() {
    let db = TestDb::new().await;
    let feeder = account(&db, "feeder", &["maintainer"], true).await;
    let server = Server::start(&db.url);
    let msgs: Vec<Value> = EVENTS.into_iter().map(message).collect();
    let resp = crate::ingest_http::post(&server, &feeder, "application/x-ndjson", ndjson(&msgs)).await;
    assert_eq!(resp.status(), 200);

    let a = account(&db, "analyst-a", &["user"], true).await;
    db.store.user_set_groups("analyst-a", &["abuse@a.example".into()]).await.unwrap();
    let b = account(&db, "developer-b", &["developer"], true).await;
    db.store.user_set_groups("developer-b", &["abuse@b.example".into()]).await.unwrap();
    let none = account(&db, "outsider", &["user"], true).await;
    let admin = account(&db, "admin", &["admin"], true).await;
    assert_eq!(visible_to(&[]), ["clear-lower", "green", "no-tlp"], "the unrestricted cases");

    for (key, groups, power) in [
        (&a, vec!["abuse@a.example"], false),
        (&b, vec!["abuse@b.example"], false),
        (&none, vec![], false),
        (&feeder, vec![], true),
        (&admin, vec![], true),
    ] {
        let want: Vec<&str> = if power { EVENTS.iter().map(|e| e.0).collect() } else { visible_to(&groups) };
        let mut want: Vec<String> = want.into_iter().map(String::from).collect();
        want.sort_unstable();
        let who = format!("groups {groups:?}, power {power}");

        let found = server.get_json("/api/events/search?submit=1&count=true&dt_from=now-1d", key).await;
        let items = found["items"].as_array().unwrap();
        assert_eq!(sorted_ids(items, |i| &i["ID"]), want, "search, {who}");
        assert_eq!(found["total"].as_u64(), Some(want.len() as u64), "total, {who}");
        let one_address = server.get_json("/api/events/search?submit=1&count=true&host_addrs=192.0.2.7", key).await;
        assert_eq!(sorted_ids(one_address["items"].as_array().unwrap(), |i| &i["ID"]), want, "address, {who}");
        assert_eq!(one_address["total"].as_u64(), Some(want.len() as u64), "address total, {who}");

        let export = server.get("/api/events/export?dt_from=now-1d&format=ndjson", key).await;
        assert_eq!(export.status(), 200);
        let lines: Vec<Value> =
            export.text().await.unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(sorted_ids(&lines, |i| &i["ID"]), want, "export, {who}");

        for (id, ..) in EVENTS {
            let visible = want.iter().any(|w| w == id);
            for path in [format!("/api/events/{id}/show"), format!("/api/events/{id}/download")] {
                let resp = server.get(&path, key).await;
                if visible {
                    assert_eq!(resp.status(), 200, "{path}, {who}");
                } else {
                    let hidden = json_error(resp, 404).await;
                    let missing = json_error(server.get(&path.replace(id, "no-such-event"), key).await, 404).await;
                    assert_eq!(hidden.replace(id, "X"), missing.replace("no-such-event", "X"), "{path}, {who}");
                }
            }
        }
    }

    // Groups take effect on the account's next request.
    db.store.user_set_groups("outsider", &["abuse@c.example".into()]).await.unwrap();
    let now_seen = server.get("/api/events/strict-b/show", &none).await;
    assert_eq!(now_seen.status(), 200, "a target group of the event");
    db.drop().await;
}
