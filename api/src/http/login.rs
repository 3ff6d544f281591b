//! `POST /api/auth/login`, `GET /api/auth/me`, `POST /api/auth/logout`: login sessions for
//! people (the SPA); scripts use API keys.

use std::borrow::Cow;
use std::sync::{Arc, OnceLock};

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::payload::Json;
use poem_openapi::registry::{MetaSchemaRef, Registry};
use poem_openapi::types::{ParseError, ParseFromJSON, ParseResult, Type};
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde_json::Value;
use tokio::sync::Semaphore;
use uuid::Uuid;

use super::access_log::ClientAddr;
use super::auth::{admit, Auth, AuthState, Caller};
use super::error::{Answer, ApiError};
use super::ApiTags;
use crate::auth::{hash_password, verify_password};
use crate::storage::EventStore;

#[derive(Default)]
pub struct LoginApi;

/// A login and its password.
#[derive(Object)]
#[oai(example)]
struct Credentials {
    #[oai(validator(min_length = 1))]
    login: String,
    password: String,
}

/// The login body, read field by field so that a missing or empty field is named (poem's own
/// message does not say which); documented as [`Credentials`].
struct LoginBody(Credentials);

impl Type for LoginBody {
    const IS_REQUIRED: bool = true;
    type RawValueType = Self;
    type RawElementValueType = Self;

    fn name() -> Cow<'static, str> {
        Credentials::name()
    }

    fn schema_ref() -> MetaSchemaRef {
        Credentials::schema_ref()
    }

    fn register(registry: &mut Registry) {
        Credentials::register(registry);
    }

    fn as_raw_value(&self) -> Option<&Self> {
        Some(self)
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Self> + 'a> {
        Box::new(std::iter::once(self))
    }
}

impl ParseFromJSON for LoginBody {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        let field = |name| value.as_ref()?.get(name)?.as_str().map(String::from);
        match (field("login"), field("password")) {
            (Some(login), Some(password)) if !login.is_empty() => Ok(LoginBody(Credentials { login, password })),
            (_, None) => Err(ParseError::custom("password: a password (a string) is required")),
            _ => Err(ParseError::custom("login: a login (a non-empty string) is required")),
        }
    }
}

impl poem_openapi::types::Example for Credentials {
    fn example() -> Self {
        Self { login: "analyst".into(), password: "correct horse battery".into() }
    }
}

/// The account a request acts for.
#[derive(Object)]
#[oai(example)]
struct Account {
    login: String,
    /// Hawat's roles: user, developer, maintainer, admin.
    roles: Vec<String>,
    /// How the request authenticated: `token` (login) or `api_key`.
    auth: String,
}

impl From<&Caller> for Account {
    fn from(c: &Caller) -> Self {
        Self {
            login: c.login.clone(),
            roles: c.roles.iter().map(|r| r.as_str().to_string()).collect(),
            auth: if c.session.is_some() { "token" } else { "api_key" }.into(),
        }
    }
}

/// A login session.
#[derive(Object)]
#[oai(example)]
struct Session {
    /// Send as `Authorization: Bearer <token>`.
    token: String,
    /// When the token stops working.
    expires_at: DateTime<Utc>,
    user: Account,
}

#[derive(ApiResponse)]
enum LoginResponse {
    /// Logged in.
    #[oai(status = 200)]
    Ok(Json<Session>),
}

#[derive(ApiResponse)]
enum LogoutResponse {
    /// The token no longer works.
    #[oai(status = 204)]
    Done,
}

/// Password checks running at once: one argon2 check takes a core for tens of milliseconds
/// and 19 MiB, so more checks than cores only queue inside the blocking pool and use memory.
fn hashing() -> &'static Semaphore {
    static HASHING: OnceLock<Semaphore> = OnceLock::new();
    HASHING.get_or_init(|| Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get())))
}

/// How long a login waits for a place among the password checks before it is a 503.
const HASHING_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// A hash to check unknown logins against, so they take as long as known ones.
fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| hash_password("no account has this password").expect("hashing a fixed password"))
}

#[OpenApi(prefix_path = "/api/auth", tag = "ApiTags::Auth")]
impl LoginApi {
    /// Log in
    ///
    /// Checks a login and password and opens a session. Attempts are limited per account and
    /// per client address (429 with `Retry-After` beyond that).
    #[oai(path = "/login", method = "post")]
    async fn login(
        &self,
        store: Data<&EventStore>,
        state: Data<&Arc<AuthState>>,
        client: Data<&ClientAddr>,
        body: Json<LoginBody>,
    ) -> Answer<LoginResponse> {
        let Credentials { login, password } = body.0 .0;
        let from = client.0 .0;
        if let Err(wait) = state.throttle.attempt(&login, from) {
            let secs = wait.as_secs() + 1;
            let message = format!("too many login attempts; retry in {secs} s");
            return Err(ApiError::TooMany { message, retry_after: secs }.into());
        }
        let user = store.user_by_login(&login).await?;
        let hash = user.as_ref().and_then(|u| u.password_hash.clone());
        let has_password = hash.is_some();
        let checked = hash.unwrap_or_else(|| decoy_hash().to_string());
        let permit = tokio::time::timeout(HASHING_WAIT, hashing().acquire())
            .await
            .map_err(|_| ApiError::Unavailable("too many logins are being checked; retry in a moment".into()))?
            .map_err(|_| ApiError::Internal)?;
        let ok = tokio::task::spawn_blocking(move || verify_password(&password, &checked))
            .await
            .map_err(|_| ApiError::Internal)?;
        drop(permit);
        let (Some(user), true, true) = (user, ok, has_password) else {
            tracing::info!(target: "audit", login = ?login, "login refused");
            return Err(ApiError::Unauthorized("wrong login or password".into()).into());
        };
        let user_id = user.id;
        let jti = Uuid::new_v4();
        let caller = admit(user, Some(jti))?;
        let (token, expires_at) = state.keys.issue(&caller.login, jti, Utc::now(), state.session_ttl);
        store.session_create(jti, user_id, expires_at.naive_utc()).await?;
        tracing::info!(target: "audit", login = ?caller.login, "logged in");
        Ok(LoginResponse::Ok(Json(Session { token, expires_at, user: Account::from(&caller) })))
    }

    /// Who am I
    ///
    /// The account the credentials belong to.
    #[oai(path = "/me", method = "get")]
    async fn me(&self, caller: Auth) -> Answer<Json<Account>> {
        Ok(Json(Account::from(&*caller)))
    }

    /// Log out
    ///
    /// Ends the session of the login token sent (`Bearer`; with an API key, 403): the token
    /// stops working at once.
    #[oai(path = "/logout", method = "post")]
    async fn logout(&self, store: Data<&EventStore>, caller: Auth) -> Answer<LogoutResponse> {
        let Some(jti) = caller.session else {
            return Err(ApiError::Forbidden("logout ends a login session; this request used an API key".into()).into());
        };
        store.session_delete(jti).await?;
        tracing::info!(target: "audit", login = ?caller.login, "logged out");
        Ok(LogoutResponse::Done)
    }
}

impl poem_openapi::types::Example for Account {
    fn example() -> Self {
        Account { login: "analyst".into(), roles: vec!["user".into()], auth: "token".into() }
    }
}

impl poem_openapi::types::Example for Session {
    fn example() -> Self {
        Session {
            token: "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbmFseXN0In0.c2lnbmF0dXJl".into(),
            expires_at: chrono::DateTime::from_timestamp(1_795_000_000, 0).unwrap_or_default(),
            user: <Account as poem_openapi::types::Example>::example(),
        }
    }
}
