//! The HTTP layer: poem-openapi APIs, one struct per resource, composed into one service.
//!
//! Handlers extract and convert; the storage layer does the work. The OpenAPI document is
//! generated from these types (`ideadb openapi`) and committed as `openapi/openapi.json`.

mod auth;
mod error;
mod events;
mod form_post;
mod health;
mod metadata;
mod search;

use std::net::SocketAddr;
use std::time::Duration;

use poem::listener::{Acceptor, Listener, TcpListener};
use poem::middleware::Tracing;
use poem::{EndpointExt, Route, Server};
use poem_openapi::{OpenApiService, Tags};

use crate::storage::EventStore;

/// Groups of endpoints in the API documentation.
#[derive(Tags)]
enum ApiTags {
    /// Service health and the API description.
    Health,
    /// IDEA events: search, show, download and the searchable values.
    Events,
}

type Apis = (health::HealthApi, events::EventsApi, search::SearchApi, metadata::MetadataApi);

fn service() -> OpenApiService<Apis, ()> {
    let apis = (health::HealthApi, events::EventsApi, search::SearchApi, metadata::MetadataApi);
    OpenApiService::new(apis, "ideadb", env!("CARGO_PKG_VERSION"))
        .description("Security event database for IDEA messages: search, show, download and statistics.")
}

/// The OpenAPI document, as committed in `openapi/openapi.json`.
pub fn openapi_json() -> String {
    service().spec()
}

/// Binds `addr`, reports the bound address through `bound`, and serves until Ctrl-C or
/// SIGTERM, letting requests in flight finish.
pub async fn serve(store: EventStore, addr: SocketAddr, bound: impl FnOnce(SocketAddr)) -> std::io::Result<()> {
    let api = service();
    let spec = api.spec_endpoint();
    let docs = api.swagger_ui();
    let app = Route::new()
        .at("/api/openapi.json", spec)
        .nest("/api/docs", docs)
        .nest("/", api)
        // Errors raised before a handler runs (no API key, unknown route) are JSON too.
        .catch_all_error(|e| async move { error::from_poem(&e) })
        .with(form_post::FormPost)
        .data(store)
        .with(Tracing);
    let acceptor = TcpListener::bind(addr).into_acceptor().await?;
    let local = acceptor.local_addr().first().and_then(|a| a.as_socket_addr().copied()).unwrap_or(addr);
    bound(local);
    Server::new_with_acceptor(acceptor).run_with_graceful_shutdown(app, shutdown(), Some(Duration::from_secs(10))).await
}

async fn shutdown() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
