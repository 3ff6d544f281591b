//! The HTTP layer: poem-openapi APIs, one struct per resource, composed into one service.
//!
//! Handlers extract and convert; the storage layer does the work. The OpenAPI document is
//! generated from these types (`ideadb openapi`) and committed as `openapi/openapi.json`.

mod access_log;
mod allow;
mod auth;
mod body_limit;
mod dashboard;
mod error;
mod events;
mod export;
mod form_params;
mod form_post;
mod health;
mod ingest;
mod login;
mod merged;
mod metadata;
mod raw_json;
mod search;
mod security_headers;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use poem::endpoint::StaticFilesEndpoint;
use poem::listener::{Acceptor, Listener, TcpListener};
use poem::middleware::{CatchPanic, Cors, RequestId};
use poem::{EndpointExt, Route, Server};
use poem_openapi::{OpenApiService, Tags};

use crate::auth::{LoginLimits, LoginThrottle, TokenKeys};
use crate::storage::EventStore;
use auth::AuthState;

/// Groups of endpoints in the API documentation.
#[derive(Tags)]
enum ApiTags {
    /// Service health and the API description.
    Health,
    /// Login sessions.
    Auth,
    /// IDEA events: search, show, download and the searchable values.
    Events,
}

type Apis = (
    health::HealthApi,
    login::LoginApi,
    events::EventsApi,
    search::SearchApi,
    export::ExportApi,
    metadata::MetadataApi,
    ingest::IngestApi,
    dashboard::DashboardApi,
);

fn service() -> OpenApiService<Apis, ()> {
    OpenApiService::new(Apis::default(), "ideadb", env!("CARGO_PKG_VERSION"))
        .description("Security event database for IDEA messages: search, show, download and statistics.")
}

/// The OpenAPI document, as committed in `openapi/openapi.json`.
pub fn openapi_json() -> String {
    service().spec()
}

/// How `serve` runs.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub bind: SocketAddr,
    /// How long a login token works.
    pub session_ttl: chrono::Duration,
    pub login_limits: LoginLimits,
    /// Origins allowed to call the API from a browser (CORS); empty: same origin only.
    pub cors_origins: Vec<String>,
    /// The largest body `POST /api/events` reads (larger: 413).
    pub ingest_limit: usize,
    /// The built browser app, served at `/` (any path outside `/api` gets its index.html,
    /// so the app's own routes can be bookmarked).
    pub spa_dir: Option<std::path::PathBuf>,
    /// Events stored longer ago than this are deleted by the statistics leader.
    pub retention: Option<chrono::TimeDelta>,
    /// Proxies whose forwarding headers name the client (see `access_log`).
    pub trusted_proxies: Vec<ipnetwork::IpNetwork>,
    /// A spool directory fed into the store while the server runs.
    pub follow: Option<crate::ingest::spool::Spool>,
}

/// Binds the address, reports the bound address through `bound`, and serves until Ctrl-C or
/// SIGTERM, letting requests in flight finish.
pub async fn serve(store: EventStore, cfg: ServeConfig, bound: impl FnOnce(SocketAddr)) -> anyhow::Result<()> {
    let secret = crate::auth::new_token_secret()?;
    let auth = Arc::new(AuthState {
        keys: TokenKeys::new(&store.token_key(&secret).await?),
        throttle: LoginThrottle::new(cfg.login_limits),
        session_ttl: cfg.session_ttl,
    });
    let store_for_stats = store.clone();
    let pool_size = store.pool_size();
    let api = service();
    let spec = api.spec_endpoint();
    let docs = api.swagger_ui();
    let cors = (!cfg.cors_origins.is_empty())
        .then(|| Cors::new().allow_origins(cfg.cors_origins.iter().map(String::as_str)).max_age(3600));
    let index = cfg.spa_dir.as_ref().and_then(|d| std::fs::read_to_string(d.join("index.html")).ok());
    let app_policy = security_headers::AppPolicy::new(index.as_deref());
    let allowed = allow::Allowed::from_spec(&api.spec());
    let trusted = Arc::new(cfg.trusted_proxies.clone());
    let mut routes = Route::new().at("/api/openapi.json", spec).nest("/api/docs", docs).nest_no_strip("/api", api);
    match &cfg.spa_dir {
        Some(dir) => {
            routes = routes.nest("/", StaticFilesEndpoint::new(dir).index_file("index.html").fallback_to_index());
        }
        None => tracing::warn!("no browser app (build it with `trunk build --release`); serving the API only"),
    }
    let app = routes
        // Errors raised before a handler runs (no credentials, unknown route) are JSON too.
        .catch_all_error(|e| async move { error::from_poem(&e) })
        .with(form_post::FormPost)
        .around(body_limit::limit)
        .with_if(cors.is_some(), cors.unwrap_or_default())
        .data(store)
        .data(auth)
        .data(ingest::IngestLimit(cfg.ingest_limit))
        // Exports may hold half the pool; the rest stays for everything else.
        .data(export::ExportSlots::new(pool_size / 2))
        .around(move |ep, req| allow::add(ep, req, allowed.clone()))
        // A panic is a bug; the client gets a JSON 500 with the request id, the server goes on.
        .with(CatchPanic::new().with_handler(|_| poem::error::ResponseError::as_response(&error::ApiError::Internal)))
        .around(move |ep, req| security_headers::add(ep, req, app_policy.clone()))
        .around(move |ep, req| access_log::log(ep, req, trusted.clone()))
        .with(RequestId::default());
    let acceptor = TcpListener::bind(cfg.bind).into_acceptor().await?;
    let local = acceptor.local_addr().first().and_then(|a| a.as_socket_addr().copied()).unwrap_or(cfg.bind);
    bound(local);
    let statistician = tokio::spawn(crate::statistician::run(store_for_stats.clone(), cfg.retention));
    let (stop_feed, feed_stopped) = tokio::sync::watch::channel(false);
    let feed = cfg.follow.map(|spool| {
        tokio::spawn(async move {
            match spool.run(&store_for_stats, feed_stopped).await {
                Ok(t) => tracing::info!(files = t.files, stored = t.stored, "spool feed stopped"),
                Err(e) => tracing::error!(error = %e, "spool feed failed; the server goes on without it"),
            }
        })
    });
    let stopping = async move {
        shutdown_signal().await;
        let _ = stop_feed.send(true);
    };
    let served = Server::new_with_acceptor(acceptor)
        .run_with_graceful_shutdown(app, stopping, Some(Duration::from_secs(10)))
        .await;
    statistician.abort();
    if let Some(feed) = feed {
        // It finishes the round in progress, so no claimed file waits for the next start.
        let _ = feed.await;
    }
    Ok(served?)
}

/// Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
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
