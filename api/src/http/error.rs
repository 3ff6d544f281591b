//! Errors as HTTP answers, decided in one place: always JSON `{status, message}`.
//!
//! Handlers return [`Answer<R>`]: their own response `R`, or a [`Failure`] whose statuses the
//! OpenAPI document lists for every operation (all of [`ApiError`]'s, less those `R` documents
//! with a body of its own, such as the search form's 400). The documented statuses and the
//! answers sent, poem's own errors included, are both [`ErrorAnswer`], so they cannot drift.
//!
//! Storage errors map once: unavailable database or statement timeout → 503 with
//! `Retry-After`; a value the database refuses → 400; a stored event that cannot be read, and
//! anything else → 500. PostgreSQL's own text goes to the log (inside the request's span, so with its
//! request id), never to the client.

use std::marker::PhantomData;

use poem::error::ResponseError;
use poem::http::StatusCode;
use poem::{IntoResponse, Response};
use poem_openapi::payload::Json;
use poem_openapi::registry::{MetaResponses, Registry};
use poem_openapi::{ApiResponse, Object};

use crate::{search_form, storage};

/// Seconds a client is asked to wait after a 503.
const RETRY_AFTER_UNAVAILABLE: u64 = 5;

/// The body of every error answer.
#[derive(Object, serde::Serialize, Debug)]
#[oai(example, skip_serializing_if_is_none)]
pub struct ErrorBody {
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong, for a person to read.
    pub message: String,
    /// `[field, message]` pairs, when form parameters were bad (as the search's `form_errors`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub form_errors: Option<Vec<Vec<String>>>,
}

/// Bad form parameters as the `[field, message]` pairs that Hawat answers.
pub fn form_errors(errors: &search_form::FormErrors) -> Vec<Vec<String>> {
    errors.iter().map(|(f, m)| vec![f.clone(), m.clone()]).collect()
}

fn describe(errors: &search_form::FormErrors) -> String {
    let each: Vec<String> = errors.iter().map(|(f, m)| format!("{f}: {m}")).collect();
    each.join("; ")
}

/// Why a request was not answered as asked.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{}", describe(.0))]
    Form(search_form::FormErrors),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    TooLarge(String),
    #[error("{0}")]
    UnsupportedType(String),
    #[error("{message}")]
    TooMany { message: String, retry_after: u64 },
    #[error("{0}")]
    Unavailable(String),
    #[error("internal error; the server log has the details under this answer's X-Request-Id")]
    Internal,
}

/// Every error answer, as documented and as sent.
#[derive(ApiResponse)]
enum ErrorAnswer {
    /// The request is malformed: the message names the parameter or field and the problem.
    #[oai(status = 400)]
    BadRequest(Json<ErrorBody>),
    /// No credentials, or credentials that are not valid (an unknown API key, an ended session).
    #[oai(status = 401)]
    Unauthorized(Json<ErrorBody>),
    /// The account is disabled, has no role, or lacks the role this needs.
    #[oai(status = 403)]
    Forbidden(Json<ErrorBody>),
    /// Nothing has this identifier.
    #[oai(status = 404)]
    NotFound(Json<ErrorBody>),
    /// The body is larger than this endpoint reads.
    #[oai(status = 413)]
    TooLarge(Json<ErrorBody>),
    /// The body's Content-Type is not one this endpoint reads.
    #[oai(status = 415)]
    UnsupportedType(Json<ErrorBody>),
    /// Too many attempts: retry after `Retry-After` seconds.
    #[oai(status = 429)]
    TooMany(Json<ErrorBody>, #[oai(header = "Retry-After")] u64),
    /// A fault in the server; its log has the details under the answer's `X-Request-Id`.
    #[oai(status = 500)]
    Internal(Json<ErrorBody>),
    /// The database is unavailable, a query ran out of time, or the server is saturated:
    /// retry after `Retry-After` seconds.
    #[oai(status = 503)]
    Unavailable(Json<ErrorBody>, #[oai(header = "Retry-After")] u64),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) | ApiError::Form(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::TooMany { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn body(&self) -> ErrorBody {
        let form_errors = match self {
            ApiError::Form(errors) => Some(form_errors(errors)),
            _ => None,
        };
        ErrorBody { status: self.status().as_u16(), message: self.to_string(), form_errors }
    }

    fn retry_after(&self) -> u64 {
        match self {
            ApiError::TooMany { retry_after, .. } => *retry_after,
            _ => RETRY_AFTER_UNAVAILABLE,
        }
    }
}

impl ErrorAnswer {
    /// The documented answer of this status carrying `body`; the body back if the status is
    /// not one ideadb documents.
    fn of(status: StatusCode, body: ErrorBody, retry_after: u64) -> Result<Self, Json<ErrorBody>> {
        let body = Json(body);
        Ok(match status {
            StatusCode::BAD_REQUEST => ErrorAnswer::BadRequest(body),
            StatusCode::UNAUTHORIZED => ErrorAnswer::Unauthorized(body),
            StatusCode::FORBIDDEN => ErrorAnswer::Forbidden(body),
            StatusCode::NOT_FOUND => ErrorAnswer::NotFound(body),
            StatusCode::PAYLOAD_TOO_LARGE => ErrorAnswer::TooLarge(body),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => ErrorAnswer::UnsupportedType(body),
            StatusCode::TOO_MANY_REQUESTS => ErrorAnswer::TooMany(body, retry_after),
            StatusCode::INTERNAL_SERVER_ERROR => ErrorAnswer::Internal(body),
            StatusCode::SERVICE_UNAVAILABLE => ErrorAnswer::Unavailable(body, retry_after),
            _ => return Err(body),
        })
    }
}

/// JSON `{status, message}` with this status: the documented answer when there is one, else
/// the same body under the bare status (poem's own 405, for instance).
fn json_answer(status: StatusCode, body: ErrorBody, retry_after: u64) -> Response {
    match ErrorAnswer::of(status, body, retry_after) {
        Ok(answer) => answer.into_response(),
        Err(body) => body.with_status(status).into_response(),
    }
}

impl From<storage::Error> for ApiError {
    fn from(e: storage::Error) -> Self {
        match e {
            storage::Error::Connection(why) => {
                tracing::warn!(error = %why, "database unavailable");
                ApiError::Unavailable("the database is unavailable; retry later".into())
            }
            storage::Error::NodeUnavailable(_) => {
                tracing::warn!(error = %e, "cluster node unavailable");
                ApiError::Unavailable(format!("{e}; nothing was answered from the other nodes alone; retry later"))
            }
            storage::Error::Timeout => ApiError::Unavailable(e.to_string()),
            storage::Error::Data(why) => {
                tracing::warn!(error = %why, "the database refused a value of the request");
                ApiError::BadRequest(
                    "a value of this request cannot be searched or stored; the server log has the database's \
                     reason under this answer's X-Request-Id"
                        .into(),
                )
            }
            other => {
                tracing::error!(error = %other, "storage error");
                ApiError::Internal
            }
        }
    }
}

impl ResponseError for ApiError {
    fn status(&self) -> StatusCode {
        ApiError::status(self)
    }

    fn as_response(&self) -> Response {
        json_answer(ApiError::status(self), self.body(), self.retry_after())
    }
}

/// An operation's error answer: an [`ApiError`], documented for the operation whose own
/// response type is `R`.
pub struct Failure<R> {
    error: ApiError,
    of: PhantomData<fn() -> R>,
}

/// What a handler returns: its own response, or an error answer.
pub type Answer<R> = Result<R, Failure<R>>;

impl<R> From<ApiError> for Failure<R> {
    fn from(error: ApiError) -> Self {
        Failure { error, of: PhantomData }
    }
}

impl<R> From<storage::Error> for Failure<R> {
    fn from(e: storage::Error) -> Self {
        ApiError::from(e).into()
    }
}

impl<R> From<Failure<R>> for poem::Error {
    fn from(f: Failure<R>) -> Self {
        poem::Error::from(f.error)
    }
}

impl<R: ApiResponse> ApiResponse for Failure<R> {
    fn meta() -> MetaResponses {
        let own = R::meta().responses;
        let mut meta = ErrorAnswer::meta();
        meta.responses.retain(|e| !own.iter().any(|o| o.status == e.status));
        meta
    }

    fn register(registry: &mut Registry) {
        ErrorAnswer::register(registry);
    }
}

/// Errors raised outside handlers (no credentials, unknown route, unreadable parameters) as
/// JSON, with a useful message where poem's own says too little.
pub fn from_poem(e: &poem::Error) -> Response {
    if let Some(api) = e.downcast_ref::<ApiError>() {
        return api.as_response();
    }
    if e.is::<poem_openapi::error::AuthorizationError>() {
        let msg = "credentials are required: an API key in the Authorization header (the key alone, `key <key>` \
                   or `token <key>`), or `Bearer <token>` from POST /api/auth/login";
        return ApiError::Unauthorized(msg.into()).as_response();
    }
    let status = e.status();
    // poem's 500s say nothing a client should read either.
    let message =
        if status == StatusCode::INTERNAL_SERVER_ERROR { ApiError::Internal.to_string() } else { e.to_string() };
    let body = ErrorBody { status: status.as_u16(), message, form_errors: None };
    json_answer(status, body, RETRY_AFTER_UNAVAILABLE)
}

impl poem_openapi::types::Example for ErrorBody {
    fn example() -> Self {
        ErrorBody { status: 404, message: "there is no event with ID \"7d5b7e4a\"".into(), form_errors: None }
    }
}
