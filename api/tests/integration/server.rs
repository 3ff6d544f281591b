//! A real `ideadb serve` process on a free port, against a test database.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use ideadb::auth::{api_key_hash, api_key_prefix, new_api_key};
use serde_json::Value;

use crate::harness::TestDb;

pub struct Server {
    pub child: Child,
    pub base: String,
}

impl Server {
    /// Stops the server now (SIGKILL), while it is still borrowed; the drop reaps it.
    pub fn stop(&self) {
        let killed = std::process::Command::new("kill").args(["-KILL", &self.child.id().to_string()]).status();
        assert!(killed.is_ok_and(|s| s.success()), "the server could not be stopped");
    }

    pub fn start(database_url: &str) -> Self {
        Self::start_with(database_url, &[])
    }

    /// A server with more `serve` options.
    pub fn start_with(database_url: &str, args: &[&str]) -> Self {
        // Tests drop their database under a running server; its reconnect warnings are noise.
        Self::spawn(database_url, args, "error", Stdio::inherit())
    }

    /// A server whose log (at info) goes to `log`.
    pub fn start_logging(database_url: &str, args: &[&str], log: &std::path::Path) -> Self {
        Self::spawn(database_url, args, "info", Stdio::from(std::fs::File::create(log).unwrap()))
    }

    fn spawn(database_url: &str, args: &[&str], level: &str, stderr: Stdio) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_ideadb"))
            .args(["serve", "--bind", "127.0.0.1:0"])
            .args(args)
            .env("DATABASE_URL", database_url)
            .env("IDEADB_LOG", level)
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("start ideadb serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).expect("read the bound address");
        let base = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_string();
        Self { child, base }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// GET `path` with `auth` in the `Authorization` header.
    pub async fn get(&self, path: &str, auth: &str) -> reqwest::Response {
        reqwest::Client::new().get(self.url(path)).header(reqwest::header::AUTHORIZATION, auth).send().await.unwrap()
    }

    /// GET `path` with `auth`, and its JSON body.
    pub async fn get_json(&self, path: &str, auth: &str) -> serde_json::Value {
        self.get(path, auth).await.json().await.unwrap()
    }
}

/// An account with `roles` and a new API key (returned); disabled unless `enabled`.
pub async fn account(db: &TestDb, login: &str, roles: &[&str], enabled: bool) -> String {
    let u = db.store.user_create(login, roles, None).await.unwrap();
    let key = new_api_key().unwrap();
    db.store.api_key_add(u.id, &api_key_hash(&key), &api_key_prefix(&key)).await.unwrap();
    if !enabled {
        db.store.user_set_enabled(login, false).await.unwrap();
    }
    key
}

/// Asserts a JSON error answer with this status; returns its message.
pub async fn json_error(resp: reqwest::Response, status: u16) -> String {
    assert_eq!(resp.status().as_u16(), status);
    assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("application/json"));
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["status"], status, "{body}");
    body["message"].as_str().unwrap().to_string()
}

/// Peak and current resident memory of a process, in KiB (Linux).
pub fn memory_kib(pid: u32) -> (u64, u64) {
    let field = |name| status_kib(pid, name).unwrap_or_else(|| panic!("no {name} for process {pid}"));
    (field("VmHWM:"), field("VmRSS:"))
}

/// A memory field of `/proc/PID/status` in KiB; None once the process has exited.
pub fn status_kib(pid: u32, name: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find(|l| l.starts_with(name))?.split_whitespace().nth(1)?.parse().ok()
}
