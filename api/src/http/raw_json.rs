//! Answers that carry stored messages without re-parsing them.
//!
//! poem-openapi's `Json` payload turns every answer into a `serde_json::Value` first; for a
//! page of 100 stored messages that parse-and-copy costs more than the database query. An
//! answer of type [`JsonBody<T>`] is serialised with serde straight to bytes, messages as the
//! bytes stored ([`RawMessage`]), while the OpenAPI document still describes it as `T`.

use std::marker::PhantomData;

use poem::{Body, IntoResponse, Response};
use poem_openapi::payload::Payload;
use poem_openapi::registry::{MetaSchemaRef, Registry};
use poem_openapi::types::Type;
use serde::Serialize;

use super::error::ApiError;

pub use ideadb_wire::answers::RawMessage;

/// A stored event's message; bytes that are no JSON (never stored so) are a 500, logged.
pub fn message_of_event(id: &str, raw: Vec<u8>) -> Result<RawMessage, ApiError> {
    RawMessage::from_stored(raw).map_err(|e| {
        tracing::error!(%id, error = %e, "a stored event is not JSON");
        ApiError::Internal
    })
}

/// A JSON answer serialised by serde, or written as it is read (an export), documented as `T`.
pub struct JsonBody<T>(Body, PhantomData<T>);

impl<T: Serialize> JsonBody<T> {
    pub fn new(value: &T) -> Self {
        Self(serde_json::to_vec(value).expect("answers serialise").into(), PhantomData)
    }
}

impl<T> JsonBody<T> {
    /// Bytes already serialised, or being serialised, as a `T`.
    pub fn from_serialized(body: impl Into<Body>) -> Self {
        Self(body.into(), PhantomData)
    }
}

impl<T: Type + Send> Payload for JsonBody<T> {
    const CONTENT_TYPE: &'static str = "application/json; charset=utf-8";

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

impl<T: Type + Send> IntoResponse for JsonBody<T> {
    fn into_response(self) -> Response {
        Response::builder().content_type(<Self as Payload>::CONTENT_TYPE).body(self.0)
    }
}
