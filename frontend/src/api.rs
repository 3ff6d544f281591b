//! The typed client of the JSON API: every request carries the login token, and every failure
//! becomes an [`ApiError`] the pages can show (a 401 ends the session).

use gloo_net::http::{Request, RequestBuilder, Response};
use leptos::prelude::GetUntracked;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use ideadb_wire::answers::{DashboardResult, Metadata, SearchResult};

use crate::form::Query;
use crate::route;
use crate::session::Session;

#[derive(Debug, Clone, PartialEq)]
pub enum ApiError {
    /// No answer at all: the server is down or the network is.
    Unreachable,
    /// 401: the session ended; the login form says so.
    Expired,
    /// 400 with the fields at fault.
    Form {
        message: String,
        fields: Vec<(String, String)>,
    },
    Status {
        status: u16,
        message: String,
    },
}

impl ApiError {
    pub fn message(&self) -> String {
        match self {
            ApiError::Unreachable => {
                "The server cannot be reached. Check that ideadb is running, then try again.".into()
            }
            ApiError::Expired => "Your session has ended; log in again.".into(),
            ApiError::Form { message, .. } => message.clone(),
            ApiError::Status { status, message } => format!("{message} (HTTP {status})"),
        }
    }

    /// The messages of one form field.
    pub fn field(&self, name: &str) -> Vec<String> {
        match self {
            ApiError::Form { fields, .. } => fields.iter().filter(|(f, _)| f == name).map(|(_, m)| m.clone()).collect(),
            _ => Vec::new(),
        }
    }
}

/// `POST /api/auth/login`'s answer.
#[derive(Debug, Clone, Deserialize)]
pub struct LoginSession {
    pub token: String,
    pub user: Account,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Account {
    pub login: String,
}

#[derive(Serialize)]
struct Credentials<'a> {
    login: &'a str,
    password: &'a str,
}

/// `/api/events/{id}/download` in `format` (json or yaml).
pub fn download_url(id: &str, format: &str) -> String {
    format!("/api/events/{}/download?format={format}", route::encode(id))
}

/// `/api/events/export` for the query.
pub fn export_url(q: &Query) -> String {
    format!("/api/events/export?{}", q.encode())
}

/// `/api/events/search`.
pub async fn search(session: Session, q: &Query) -> Result<SearchResult, ApiError> {
    get_json(session, &format!("/api/events/search?{}", q.encode())).await
}

/// `/api/events/metadata`.
pub async fn metadata(session: Session) -> Result<Metadata, ApiError> {
    get_json(session, "/api/events/metadata").await
}

/// `/api/events/dashboard`: its `statistics`.
pub async fn dashboard(session: Session, q: &Query) -> Result<Value, ApiError> {
    let answer: DashboardResult = get_json(session, &format!("/api/events/dashboard?{}", q.encode())).await?;
    Ok(answer.statistics.unwrap_or_default())
}

/// One event's message as stored (`format` json) or as YAML.
pub async fn event(session: Session, id: &str, format: &str) -> Result<String, ApiError> {
    get_text(session, &download_url(id, format)).await
}

/// The messages of a search answer's page.
pub fn messages(r: &SearchResult) -> Vec<Value> {
    r.items.iter().flatten().filter_map(|m| serde_json::from_str(m.text()).ok()).collect()
}

async fn error_of(resp: Response) -> ApiError {
    let status = resp.status();
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    let message = body["message"].as_str().map(String::from);
    let fields: Vec<(String, String)> = body["form_errors"]
        .as_array()
        .map(|a| a.iter().filter_map(|p| Some((p[0].as_str()?.to_string(), p[1].as_str()?.to_string()))).collect())
        .unwrap_or_default();
    match status {
        400 if !fields.is_empty() => {
            ApiError::Form { message: message.unwrap_or_else(|| "Some fields need fixing.".into()), fields }
        }
        _ => ApiError::Status { status, message: message.unwrap_or_else(|| resp_reason(status)) },
    }
}

fn resp_reason(status: u16) -> String {
    match status {
        403 => "You are not allowed to do this".into(),
        404 => "Not found".into(),
        429 => "Too many attempts; wait a little".into(),
        503 => "The database is unavailable or the query took too long".into(),
        _ => "The server could not answer".into(),
    }
}

async fn send(session: Session, req: RequestBuilder) -> Result<Response, ApiError> {
    let req = match session.token.get_untracked() {
        Some(t) => req.header("Authorization", &format!("Bearer {t}")),
        None => req,
    };
    let resp = req.send().await.map_err(|_| ApiError::Unreachable)?;
    match resp.status() {
        200..=299 => Ok(resp),
        401 => {
            session.end(Some(&ApiError::Expired.message()));
            Err(ApiError::Expired)
        }
        _ => Err(error_of(resp).await),
    }
}

async fn get_json<T: DeserializeOwned>(session: Session, url: &str) -> Result<T, ApiError> {
    let resp = send(session, Request::get(url)).await?;
    resp.json()
        .await
        .map_err(|e| ApiError::Status { status: resp.status(), message: format!("unexpected answer: {e}") })
}

async fn get_text(session: Session, url: &str) -> Result<String, ApiError> {
    let resp = send(session, Request::get(url)).await?;
    resp.text().await.map_err(|_| ApiError::Unreachable)
}

pub async fn login(login: &str, password: &str) -> Result<LoginSession, ApiError> {
    let req = Request::post("/api/auth/login")
        .json(&Credentials { login, password })
        .map_err(|e| ApiError::Status { status: 0, message: e.to_string() })?;
    let resp = req.send().await.map_err(|_| ApiError::Unreachable)?;
    match resp.status() {
        200 => resp.json().await.map_err(|_| ApiError::Unreachable),
        _ => Err(error_of(resp).await),
    }
}

pub async fn logout(session: Session) {
    let _ = send(session, Request::post("/api/auth/logout")).await;
}

/// Fetches a download with the token and hands it to the browser as a file.
pub async fn download(session: Session, url: &str, filename: &str, mime: &str) -> Result<(), ApiError> {
    let text = get_text(session, url).await?;
    crate::components::save_file(&text, filename, mime);
    Ok(())
}
