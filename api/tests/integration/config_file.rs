//! `ideadb --config FILE`: options from TOML, under the environment and the flags.

use std::process::Command;

use crate::harness::TestDb;

fn ideadb(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ideadb"));
    c.args(args).env_remove("DATABASE_URL").env_remove("IDEADB_CONFIG");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

#[tokio::test]
async fn the_file_fills_in_what_flags_and_environment_leave_open() {
    let db = TestDb::new().await;
    let dir = std::env::temp_dir().join(format!("ideadb-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("good.toml");
    std::fs::write(&good, format!("database-url = \"{}\"\nstatement-timeout = 5\n", db.url)).unwrap();
    let out = ideadb(&["--config", good.to_str().unwrap(), "migrate"], &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("schema is at version"));

    // The environment wins over the file, and a flag over both.
    let unreachable = dir.join("unreachable.toml");
    std::fs::write(&unreachable, "database-url = \"postgres://postgres@127.0.0.1:1/nowhere\"\n").unwrap();
    let out = ideadb(&["--config", unreachable.to_str().unwrap(), "migrate"], &[("DATABASE_URL", &db.url)]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = ideadb(
        &["--config", good.to_str().unwrap(), "--database-url", "postgres://postgres@127.0.0.1:1/x", "migrate"],
        &[],
    );
    assert!(!out.status.success(), "the flag's unreachable server was used");

    let bad = dir.join("bad.toml");
    std::fs::write(&bad, "bind = \"127.0.0.1:0\"\ndatabase_url = \"x\"\n").unwrap();
    let out = ideadb(&["--config", bad.to_str().unwrap(), "migrate"], &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(err.contains("bad.toml") && err.contains("line 2") && err.contains("database_url"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
    db.drop().await;
}
