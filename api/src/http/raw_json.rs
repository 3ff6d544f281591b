//! Answers that carry stored messages without re-parsing them.
//!
//! poem-openapi's `Json` payload turns every answer into a `serde_json::Value` first; for a
//! page of 100 stored messages that parse-and-copy costs more than the database query. An
//! answer of type [`JsonBody<T>`] is serialised with serde straight to bytes, messages as the
//! bytes stored ([`RawMessage`]), while the OpenAPI document still describes it as `T`.

use std::borrow::Cow;
use std::marker::PhantomData;

use poem::{Body, IntoResponse, Response};
use poem_openapi::payload::Payload;
use poem_openapi::registry::{MetaSchema, MetaSchemaRef, Registry};
use poem_openapi::types::{ParseError, ParseFromJSON, ParseResult, ToJSON, Type};
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::Value;

use super::error::ApiError;

/// A stored IDEA message, as the JSON text received.
#[derive(Debug, Clone, Serialize)]
#[serde(transparent)]
pub struct RawMessage(Box<RawValue>);

impl RawMessage {
    /// The stored bytes, which were valid JSON when received.
    pub fn from_stored(bytes: Vec<u8>) -> Result<Self, serde_json::Error> {
        let text = String::from_utf8(bytes).map_err(|e| serde::de::Error::custom(e.to_string()))?;
        RawValue::from_string(text).map(RawMessage)
    }
}

impl RawMessage {
    /// A stored event's message; bytes that are no JSON (never stored so) are a 500, logged.
    pub fn of_event(id: &str, raw: Vec<u8>) -> Result<Self, ApiError> {
        Self::from_stored(raw).map_err(|e| {
            tracing::error!(%id, error = %e, "a stored event is not JSON");
            ApiError::Internal
        })
    }
}

impl Type for RawMessage {
    const IS_REQUIRED: bool = true;
    type RawValueType = Self;
    type RawElementValueType = Self;

    fn name() -> Cow<'static, str> {
        "any".into()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema::ANY))
    }

    fn as_raw_value(&self) -> Option<&Self> {
        Some(self)
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Self> + 'a> {
        Box::new(self.as_raw_value().into_iter())
    }
}

impl ToJSON for RawMessage {
    fn to_json(&self) -> Option<Value> {
        serde_json::from_str(self.0.get()).ok()
    }
}

impl ParseFromJSON for RawMessage {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        let text = value.unwrap_or_default().to_string();
        RawValue::from_string(text).map(RawMessage).map_err(|e| ParseError::custom(e.to_string()))
    }
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
