//! Errors as HTTP answers, decided in one place: always JSON `{status, message}`.
//!
//! Storage errors map once: unavailable database or statement timeout → 503 with
//! `Retry-After`; bad data → 400; anything else → 500 with a generic message (the details go
//! to the log only).

use poem::http::StatusCode;
use poem::{IntoResponse, Response};
use poem_openapi::Object;

use crate::storage;

/// The body of every error answer.
#[derive(Object, serde::Serialize)]
#[oai(example)]
pub struct ErrorBody {
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong, for a person to read.
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    TooLarge(String),
    #[error("{0}")]
    TooMany(String),
    #[error("{0}")]
    Unavailable(String),
    #[error("internal error; the server log has the details")]
    Internal,
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::TooMany(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn body(&self) -> ErrorBody {
        ErrorBody { status: self.status().as_u16(), message: self.to_string() }
    }
}

impl From<storage::Error> for ApiError {
    fn from(e: storage::Error) -> Self {
        match e {
            storage::Error::Connection(_) => ApiError::Unavailable("the database is unavailable; retry later".into()),
            storage::Error::Timeout => ApiError::Unavailable(e.to_string()),
            storage::Error::Data(m) => ApiError::BadRequest(m),
            other => {
                tracing::error!(error = %other, "storage error");
                ApiError::Internal
            }
        }
    }
}

impl poem::error::ResponseError for ApiError {
    fn status(&self) -> StatusCode {
        ApiError::status(self)
    }

    fn as_response(&self) -> Response {
        json_error(ApiError::status(self), &self.to_string())
    }
}

/// Errors poem raises itself (routing, extractors) as JSON, with a useful message where
/// poem's own says too little.
pub fn from_poem(e: &poem::Error) -> Response {
    if e.is::<poem_openapi::error::AuthorizationError>() {
        let msg = "credentials are required: an API key in the Authorization header (the key alone, `key <key>` \
                   or `token <key>`), or `Bearer <token>` from POST /api/auth/login";
        return json_error(StatusCode::UNAUTHORIZED, msg);
    }
    json_error(e.status(), &e.to_string())
}

/// A JSON error answer; 429s and 503s carry `Retry-After`.
pub fn json_error(status: StatusCode, message: &str) -> Response {
    let body = ErrorBody { status: status.as_u16(), message: message.to_string() };
    let mut resp = poem::web::Json(body).with_status(status).into_response();
    if status == StatusCode::SERVICE_UNAVAILABLE || status == StatusCode::TOO_MANY_REQUESTS {
        resp.headers_mut().insert("Retry-After", poem::http::HeaderValue::from_static("5"));
    }
    resp
}

impl poem_openapi::types::Example for ErrorBody {
    fn example() -> Self {
        ErrorBody { status: 404, message: "there is no event with ID \"7d5b7e4a\"".into() }
    }
}
