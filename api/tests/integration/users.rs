//! `ideadb user …`: accounts and API keys through the CLI, with only hashes stored.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use ideadb::auth::{api_key_hash, verify_password};

use crate::harness::TestDb;

fn ideadb(db: &TestDb, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ideadb"))
        .args(args)
        .env("DATABASE_URL", &db.url)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[tokio::test]
async fn accounts_and_keys_are_created_with_only_their_hashes_stored() {
    let db = TestDb::new().await;
    let out = ideadb(&db, &["user", "add", "alice", "--role", "user", "--api-key"], "");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let key = text(&out.stdout);
    assert_eq!(key.lines().count(), 1, "the key alone: {key:?}");
    let key = key.trim();
    assert!(key.starts_with("ideadb_"));
    let alice = db.store.user_by_api_key(&api_key_hash(key)).await.unwrap().expect("the key finds its account");
    assert_eq!(
        (alice.login.as_str(), alice.roles.clone(), alice.password_hash.clone()),
        ("alice", vec!["user".to_string()], None)
    );
    let c = db.sql().await;
    let leaked: i64 = c
        .query_one("SELECT count(*) FROM api_keys WHERE position(convert_to($1, 'UTF8') IN key_hash) > 0", &[&key])
        .await
        .unwrap()
        .get(0);
    assert_eq!(leaked, 0, "the key itself is not stored");

    let out = ideadb(
        &db,
        &["user", "add", "bob", "--role", "maintainer", "--role", "admin", "--password-stdin"],
        "a long enough secret\n",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let bob = db.store.user_by_login("bob").await.unwrap().unwrap();
    assert_eq!(bob.roles, ["maintainer", "admin"]);
    let hash = bob.password_hash.unwrap();
    assert!(hash.starts_with("$argon2id$") && verify_password("a long enough secret", &hash));

    let second = text(&ideadb(&db, &["user", "api-key", "alice"], "").stdout);
    assert_ne!(second.trim(), key);
    assert_eq!(db.store.user_by_login("alice").await.unwrap().unwrap().api_keys, 2);

    let out = ideadb(&db, &["user", "passwd", "bob"], "another long secret\n");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let hash = db.store.user_by_login("bob").await.unwrap().unwrap().password_hash.unwrap();
    assert!(verify_password("another long secret", &hash) && !verify_password("a long enough secret", &hash));

    assert!(ideadb(&db, &["user", "disable", "alice"], "").status.success());
    assert!(!db.store.user_by_login("alice").await.unwrap().unwrap().enabled);
    let list = text(&ideadb(&db, &["user", "list"], "").stdout);
    assert!(
        list.contains("alice\tuser\tdisabled\tno password\t2 API keys")
            && list.contains("bob\tmaintainer,admin\tenabled\tpassword"),
        "{list}"
    );
    db.drop().await;
}

#[tokio::test]
async fn bad_account_requests_fail_with_a_clear_message_and_change_nothing() {
    let db = TestDb::new().await;
    assert!(ideadb(&db, &["user", "add", "carol", "--role", "user"], "").status.success());
    for (args, stdin, says) in [
        (vec!["user", "add", "carol", "--role", "user"], "", "an account with login carol already exists"),
        (vec!["user", "add", "dave", "--role", "root"], "", "\"root\" is not a role"),
        (vec!["user", "add", "erin", "--role", "user", "--password-stdin"], "short\n", "at least 10 characters"),
        (vec!["user", "disable", "nobody"], "", "there is no account \"nobody\""),
        (vec!["user", "api-key", "nobody"], "", "there is no account \"nobody\""),
    ] {
        let out = ideadb(&db, &args, stdin);
        assert!(!out.status.success(), "{args:?} should fail");
        assert!(text(&out.stderr).contains(says), "{args:?}: {}", text(&out.stderr));
    }
    let logins: Vec<String> = db.store.users().await.unwrap().into_iter().map(|u| u.login).collect();
    assert_eq!(logins, ["carol"]);
    db.drop().await;
}

#[tokio::test]
async fn keys_are_listed_and_revoked_one_by_one_and_a_new_password_ends_sessions() {
    let db = TestDb::new().await;
    let out = ideadb(&db, &["user", "add", "alice", "--role", "user", "--api-key"], "");
    assert!(text(&out.stderr).contains("account created"), "an audit line: {}", text(&out.stderr));
    let first = text(&out.stdout).trim().to_string();
    let second = text(&ideadb(&db, &["user", "api-key", "alice"], "").stdout).trim().to_string();
    let listed = text(&ideadb(&db, &["user", "keys", "alice"], "").stdout);
    let names: Vec<&str> = listed.lines().map(|l| l.split('\t').next().unwrap()).collect();
    assert_eq!(names, [&first[..13], &second[..13]], "{listed}");
    assert!(listed.lines().all(|l| l.contains("last used never")), "{listed}");
    assert!(!listed.contains(&first[13..]), "only the first characters are shown");

    let out = ideadb(&db, &["user", "revoke-key", "alice", "ideadb_nothing"], "");
    assert!(!out.status.success() && text(&out.stderr).contains("has no key"), "{}", text(&out.stderr));
    let out = ideadb(&db, &["user", "revoke-key", "alice", &first[..13]], "");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("API key revoked"), "{}", text(&out.stderr));
    assert!(db.store.user_by_api_key(&api_key_hash(&first)).await.unwrap().is_none(), "revoked");
    assert!(db.store.user_by_api_key(&api_key_hash(&second)).await.unwrap().is_some(), "the other stays");

    // A login session of bob's ends when his password changes.
    assert!(ideadb(&db, &["user", "add", "bob", "--role", "user", "--password-stdin"], "a long enough secret\n")
        .status
        .success());
    let bob = db.store.user_by_login("bob").await.unwrap().unwrap();
    let jti = uuid::Uuid::new_v4();
    db.store.session_create(jti, bob.id, chrono::Utc::now().naive_utc() + chrono::TimeDelta::hours(1)).await.unwrap();
    let c = db.sql().await;
    let sessions = || async { c.query_one("SELECT count(*) FROM sessions", &[]).await.unwrap().get::<_, i64>(0) };
    assert_eq!(sessions().await, 1);
    assert!(ideadb(&db, &["user", "passwd", "bob"], "another long secret\n").status.success());
    assert_eq!(sessions().await, 0, "the new password ended the session");
    db.drop().await;
}

#[tokio::test]
async fn accounts_join_abuse_groups_that_events_name_or_that_were_registered() {
    let db = TestDb::new().await;
    let seen = serde_json::json!({
        "Format": "IDEA0", "ID": "g1", "DetectTime": "2026-01-01T00:00:00Z", "Category": ["Test"],
        "Node": [{"Name": "a.b"}], "_Mentat": {"ResolvedAbuses": ["abuse@seen.example"], "TargetAbuses": ["t@seen.example"]}
    });
    db.load(&[seen]).await;

    let out = ideadb(&db, &["user", "add", "ann", "--role", "user", "--group", "abuse@typo.example"], "");
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = text(&out.stderr);
    assert!(err.contains("unknown abuse group \"abuse@typo.example\"") && err.contains("add-group"), "{err}");
    assert!(db.store.user_by_login("ann").await.unwrap().is_none(), "nothing created");

    let add = ["user", "add", "ann", "--role", "user", "--group", "t@seen.example", "--group", " abuse@seen.example "];
    let out = ideadb(&db, &add, "");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let ann = db.store.user_by_login("ann").await.unwrap().unwrap();
    assert_eq!(ann.groups, ["abuse@seen.example", "t@seen.example"], "trimmed and sorted");

    let out = ideadb(&db, &["user", "groups", "ann", "new@example.org"], "");
    assert!(!out.status.success() && text(&out.stderr).contains("\"new@example.org\""));
    assert!(ideadb(&db, &["user", "add-group", "new@example.org"], "").status.success());
    let out = ideadb(&db, &["user", "groups", "ann", "new@example.org"], "");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let list = text(&ideadb(&db, &["user", "list"], "").stdout);
    assert!(list.lines().any(|l| l.starts_with("ann\t") && l.ends_with("\tnew@example.org")), "{list}");

    assert!(ideadb(&db, &["user", "groups", "ann"], "").status.success(), "no group at all");
    assert!(db.store.user_by_login("ann").await.unwrap().unwrap().groups.is_empty());
    let out = ideadb(&db, &["user", "groups", "nobody", "new@example.org"], "");
    assert!(text(&out.stderr).contains("there is no account \"nobody\""), "{out:?}");
    db.drop().await;
}
