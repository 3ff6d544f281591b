//! `GET /api/health`: whether the database answers, and the schema version. No
//! authentication, so load balancers and monitoring can call it.

use poem::web::Data;
use poem_openapi::payload::Json;
use poem_openapi::types::Example;
use poem_openapi::{ApiResponse, Object, OpenApi};

use super::ApiTags;
use crate::storage::EventStore;

#[derive(Default)]
pub struct HealthApi;

/// The state of the service.
#[derive(Object)]
#[oai(example)]
struct Health {
    /// `ok` when the database answered, `unavailable` when it did not.
    status: String,
    /// Whether PostgreSQL answered.
    database: bool,
    /// Version of the last applied schema migration, when the database answered.
    schema_version: Option<i32>,
}

impl Example for Health {
    fn example() -> Self {
        Health { status: "ok".into(), database: true, schema_version: Some(3) }
    }
}

#[derive(ApiResponse)]
enum HealthResponse {
    /// The database answered.
    #[oai(status = 200)]
    Ok(Json<Health>),
    /// The database did not answer; retry later.
    #[oai(status = 503)]
    Unavailable(Json<Health>),
}

#[OpenApi(prefix_path = "/api", tag = "ApiTags::Health")]
impl HealthApi {
    /// Service health
    ///
    /// Answers without authentication.
    #[oai(path = "/health", method = "get")]
    async fn health(&self, store: Data<&EventStore>) -> HealthResponse {
        match store.schema_version().await {
            Ok(v) => HealthResponse::Ok(Json(Health { status: "ok".into(), database: true, schema_version: v })),
            Err(e) => {
                tracing::warn!(error = %e, "health check: database unavailable");
                HealthResponse::Unavailable(Json(Health {
                    status: "unavailable".into(),
                    database: false,
                    schema_version: None,
                }))
            }
        }
    }
}
