//! A real `ideadb serve` process on a free port, against a test database.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

pub struct Server {
    child: Child,
    pub base: String,
}

impl Server {
    pub fn start(database_url: &str) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_ideadb"))
            .args(["serve", "--bind", "127.0.0.1:0"])
            .env("DATABASE_URL", database_url)
            .stdout(Stdio::piped())
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
