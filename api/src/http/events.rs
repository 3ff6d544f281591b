//! `/api/events/{id}/show` and `/api/events/{id}/download`, as in Hawat's events module.

use poem::web::Data;
use poem::{IntoResponse, Response};
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Payload;
use poem_openapi::registry::{MetaSchema, MetaSchemaRef};
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde_json::Value;

use super::auth::{Auth, Caller};
use super::error::{Answer, ApiError};
use super::merged::Merged;
use super::raw_json::{message_of_event, JsonBody, RawMessage};
use super::ApiTags;
use crate::storage::{EventStore, StoredEvent};

#[derive(Default)]
pub struct EventsApi;

/// One event, as Hawat's show answers.
#[derive(Object, serde::Serialize)]
#[oai(example)]
struct Shown {
    /// The IDEA message: the bytes received.
    item: RawMessage,
    /// Its ID.
    item_id: String,
    /// For Hawat's page widgets.
    search_widget_item_limit: u32,
}

#[derive(ApiResponse)]
enum ShowResponse {
    /// The event.
    #[oai(status = 200)]
    Ok(JsonBody<Shown>),
}

/// The file format of a download.
#[derive(poem_openapi::Enum, Clone, Copy, PartialEq, Eq, Default)]
#[oai(rename_all = "lowercase")]
enum DownloadFormat {
    /// `<id>.idea.json`: JSON with sorted keys, indented by four.
    #[default]
    Json,
    /// `<id>.idea.yaml`: the same message as YAML.
    Yaml,
}

#[derive(ApiResponse)]
enum DownloadResponse {
    /// The event as the attachment `<id>.idea.json` (JSON, sorted keys, indented) or
    /// `<id>.idea.yaml`.
    #[oai(status = 200, content_type = "application/json")]
    Json(JsonBody<RawMessage>, #[oai(header = "Content-Disposition")] String),
    /// The event as YAML, as the attachment `<id>.idea.yaml`.
    #[oai(status = 200, content_type = "application/yaml")]
    Yaml(YamlFile, #[oai(header = "Content-Disposition")] String),
}

/// An IDEA message as YAML: documented as the message it holds, which is what a YAML reader
/// makes of it.
struct YamlFile(Vec<u8>);

impl Payload for YamlFile {
    const CONTENT_TYPE: &'static str = "application/yaml";

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema::ANY))
    }
}

impl IntoResponse for YamlFile {
    fn into_response(self) -> Response {
        Response::builder().content_type(Self::CONTENT_TYPE).body(self.0)
    }
}

/// The stored event with this ID (404 when none, or when the caller may not see it: the
/// answers are the same, so a hidden event's existence does not leak).
async fn stored(store: &EventStore, caller: &Caller, id: &str) -> Result<StoredEvent, ApiError> {
    let event = store.fetch_event(id, &caller.visibility()).await?;
    event.ok_or_else(|| ApiError::NotFound(format!("there is no event with ID {id:?}")))
}

/// Indented by four spaces with sorted keys, as Mentat's download.
fn pretty(v: &Value) -> Vec<u8> {
    use serde::Serialize;
    let mut out = Vec::new();
    let mut ser =
        serde_json::Serializer::with_formatter(&mut out, serde_json::ser::PrettyFormatter::with_indent(b"    "));
    // serde_json's maps are ordered by key, so re-serialising sorts them.
    v.serialize(&mut ser).expect("a JSON value serialises");
    out
}

#[OpenApi(prefix_path = "/api/events", tag = "ApiTags::Events")]
impl EventsApi {
    /// Show one event
    ///
    /// The IDEA message exactly as stored.
    #[oai(path = "/:id/show", method = "get", method = "post")]
    async fn show(&self, store: Data<&EventStore>, caller: Auth, id: Path<String>) -> Answer<ShowResponse> {
        let event = stored(&store, &caller, &id).await?;
        tracing::info!(login = ?caller.login, id = ?event.id, "event shown");
        let item = message_of_event(&event.id, event.raw)?;
        Ok(ShowResponse::Ok(JsonBody::new(&Shown { item, item_id: event.id, search_widget_item_limit: 100 })))
    }

    /// Download one event
    ///
    /// The IDEA message as a file: JSON with sorted keys (default), or YAML.
    #[oai(path = "/:id/download", method = "get")]
    async fn download(
        &self,
        store: Data<&EventStore>,
        caller: Auth,
        id: Path<String>,
        /// `json` (default) or `yaml`.
        format: Query<Option<DownloadFormat>>,
    ) -> Answer<Merged<DownloadResponse>> {
        let event = stored(&store, &caller, &id).await?;
        tracing::info!(login = ?caller.login, id = ?event.id, "event downloaded");
        let item = event.json()?;
        let file = |ext: &str| format!("attachment; filename=\"{}.idea.{ext}\"", event.id);
        Ok(Merged(match format.0.unwrap_or_default() {
            DownloadFormat::Json => DownloadResponse::Json(JsonBody::from_serialized(pretty(&item)), file("json")),
            DownloadFormat::Yaml => {
                let yaml = serde_saphyr::to_string(&item).map_err(|e| {
                    tracing::error!(error = %e, id = ?event.id, "YAML rendering failed");
                    ApiError::Internal
                })?;
                DownloadResponse::Yaml(YamlFile(yaml.into_bytes()), file("yaml"))
            }
        }))
    }
}

impl poem_openapi::types::Example for Shown {
    fn example() -> Self {
        let item = br#"{"Format":"IDEA0","ID":"7d5b7e4a-5c36-4d3e-9b4f-2f0c1a3e8d10","DetectTime":"2026-11-20T10:00:00Z","Category":["Recon.Scanning"],"Source":[{"IP4":["192.0.2.7"]}],"Node":[{"Name":"cz.cesnet.nemea.vportscan"}]}"#;
        Shown {
            item: RawMessage::from_stored(item.to_vec()).expect("valid JSON"),
            item_id: "7d5b7e4a-5c36-4d3e-9b4f-2f0c1a3e8d10".into(),
            search_widget_item_limit: 100,
        }
    }
}
