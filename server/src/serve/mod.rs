//! `pms-server serve`: the stateless sync server (HTTP + JSON over axum).
//!
//! - [`tokens`]: access tokens (JWT, Supabase-shaped claims) and refresh tokens.
//! - [`auth`]: sign-in and refresh.
//! - [`caller`]: the verified caller and the per-request transaction as `authenticated`.
//! - [`snapshot`]: the initial sync: the feed's head, then tables page by page.
//! - [`push`]: a device's changes, exactly once, under RLS.
//! - [`pull`]: the change feed, read under RLS, with long polling.
//! - [`flags`]: the caller's feature flags, evaluated.
//! - [`feed_watch`]: wakes waiting pulls when their tenant's feed moves (LISTEN/NOTIFY).
//! - [`usage`]: API calls counted per tenant, for the usage alerts.
//! - [`metrics`]: `GET /metrics` (Prometheus) and the layer that counts requests by route.
//! - [`error`]: typed JSON errors.
//!
//! The server connects as the unprivileged login role (`DATABASE_URL`); every statement of an
//! authenticated request runs as `authenticated` with the caller's claims, so Row Level Security
//! decides what it sees. Several instances can run side by side: no state lives in the process.

pub mod auth;
pub mod caller;
pub mod error;
pub mod feed_watch;
pub mod flags;
pub mod login_guard;
pub mod metrics;
pub mod pull;
pub mod push;
pub mod snapshot;
pub mod tokens;
pub mod usage;

use std::future::Future;
use std::net::SocketAddr;

use axum::extract::{DefaultBodyLimit, State};
use axum::middleware;
use axum::routing::{get, post};
use axum::{Json, Router};
use sqlx::PgPool;
use tokio::net::TcpListener;

use crate::config::{self, Secret};
use crate::error::{Error, Result};
use caller::Caller;
use error::ApiError;
use tokens::TokenKeys;

/// The largest request body accepted (a push batch stays well below it).
pub const MAX_BODY_BYTES: usize = pms_sync_protocol::wire::MAX_BODY_BYTES;

/// What `serve` needs, from `DATABASE_URL`, `PMS_JWT_SECRET` and `PMS_LISTEN`.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub database_url: String,
    pub jwt_secret: Secret,
    pub listen: SocketAddr,
    /// How far ahead of the server's clock a laptop's stamp may be (`PMS_MAX_CLOCK_AHEAD_MS`).
    pub max_clock_ahead_ms: i64,
    /// The bearer token a scrape of `/metrics` must send (`PMS_METRICS_TOKEN`); none: open.
    pub metrics_token: Option<Secret>,
}

impl ServeConfig {
    pub fn from_env() -> Result<Self> {
        let database_url = config::app_database_url()?;
        let jwt_secret = std::env::var("PMS_JWT_SECRET").map_err(|_| Error::MissingEnv {
            var: "PMS_JWT_SECRET",
            hint: "export a random secret of at least 32 characters, e.g. PMS_JWT_SECRET=$(openssl rand -hex 32)",
        })?;
        if jwt_secret.len() < 32 {
            return Err(Error::InvalidEnv {
                var: "PMS_JWT_SECRET",
                reason: "shorter than 32 characters".to_owned(),
                hint: "use a random secret of at least 32 characters",
            });
        }
        let listen = std::env::var("PMS_LISTEN").unwrap_or_else(|_| "127.0.0.1:8080".to_owned());
        let listen = listen.parse().map_err(|_| Error::InvalidEnv {
            var: "PMS_LISTEN",
            reason: format!("{listen:?} is not an address:port"),
            hint: "use e.g. PMS_LISTEN=0.0.0.0:8080",
        })?;
        let max_clock_ahead_ms = match std::env::var("PMS_MAX_CLOCK_AHEAD_MS") {
            Err(_) => push::MAX_CLOCK_SKEW_MS,
            Ok(text) => text
                .parse()
                .ok()
                .filter(|ms: &i64| *ms >= 0)
                .ok_or_else(|| Error::InvalidEnv {
                    var: "PMS_MAX_CLOCK_AHEAD_MS",
                    reason: format!("{text:?} is not a number of milliseconds"),
                    hint: "use e.g. PMS_MAX_CLOCK_AHEAD_MS=60000, or leave it unset",
                })?,
        };
        let metrics_token = std::env::var("PMS_METRICS_TOKEN")
            .ok()
            .filter(|token| !token.is_empty())
            .map(Secret::new);
        Ok(Self {
            database_url,
            jwt_secret: Secret::new(jwt_secret),
            listen,
            max_clock_ahead_ms,
            metrics_token,
        })
    }
}

/// Shared by every request: the connection pool and the token keys.
#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub keys: TokenKeys,
    pub feed: feed_watch::FeedWatch,
    /// See [`ServeConfig::max_clock_ahead_ms`].
    pub max_clock_ahead_ms: i64,
    pub api_calls: usage::ApiCallCounter,
    /// Rate limits and the bound on concurrent password hashes of sign-in.
    pub login_guard: login_guard::LoginGuard,
    /// How long after a rotation the previous refresh token is still taken (a lost answer);
    /// presented later, it revokes the device (see `auth::refresh`).
    pub refresh_reuse_grace: std::time::Duration,
    /// This process's metrics (`GET /metrics`).
    pub metrics: std::sync::Arc<metrics::ServeMetrics>,
    /// See [`ServeConfig::metrics_token`].
    pub metrics_token: Option<Secret>,
    /// Set once the server is shutting down: waiting pulls answer at once, so the shutdown does
    /// not wait out their long polls.
    pub stopping: std::sync::Arc<tokio::sync::watch::Sender<bool>>,
    /// Slots for pushes of many changes (see [`push::LARGE_PUSH`]): a quarter of the pool's
    /// connections, so a crowd of large pushes leaves the rest to the desks' small pushes and
    /// pulls, which never queue behind it.
    pub large_pushes: std::sync::Arc<tokio::sync::Semaphore>,
}

/// The default of [`AppState::refresh_reuse_grace`].
pub const REFRESH_REUSE_GRACE: std::time::Duration = std::time::Duration::from_secs(120);

impl AppState {
    /// Needs a Tokio runtime: starts the feed listener and the API call counter's flushing.
    pub fn new(pool: PgPool, jwt_secret: &Secret) -> Self {
        let feed = feed_watch::FeedWatch::start(pool.clone());
        let api_calls = usage::ApiCallCounter::default();
        api_calls.start_flushing(pool.clone());
        let large_push_slots = (pool.options().get_max_connections() / 4).max(1) as usize;
        Self {
            pool,
            keys: TokenKeys::new(jwt_secret),
            feed,
            max_clock_ahead_ms: push::MAX_CLOCK_SKEW_MS,
            api_calls,
            login_guard: login_guard::LoginGuard::default(),
            refresh_reuse_grace: REFRESH_REUSE_GRACE,
            metrics: Default::default(),
            metrics_token: None,
            stopping: std::sync::Arc::new(tokio::sync::watch::Sender::new(false)),
            large_pushes: std::sync::Arc::new(tokio::sync::Semaphore::new(large_push_slots)),
        }
    }

    /// Asks scrapes of `/metrics` for this bearer token.
    pub fn with_metrics_token(mut self, token: Option<Secret>) -> Self {
        self.metrics_token = token;
        self
    }

    /// Takes a rotated refresh token again only within `grace` of its rotation.
    pub fn with_refresh_reuse_grace(mut self, grace: std::time::Duration) -> Self {
        self.refresh_reuse_grace = grace;
        self
    }

    /// Caps laptop clock stamps at the server's clock plus `ms` instead of the default.
    pub fn with_max_clock_ahead_ms(mut self, ms: i64) -> Self {
        self.max_clock_ahead_ms = ms;
        self
    }
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/metrics", get(metrics::metrics))
        .route("/openapi.json", get(openapi_json))
        .route("/v1/auth/login", post(auth::login))
        .route("/v1/auth/refresh", post(auth::refresh))
        .route("/v1/auth/colleague", post(auth::colleague))
        .route(
            "/v1/staff/{user_id}/temporary-password",
            post(auth::temporary_password),
        )
        .route("/v1/me", get(me))
        .route("/v1/flags", get(flags::flags))
        .route("/v1/sync/pull", get(pull::pull))
        .route("/v1/sync/push", post(push::push))
        .route("/v1/sync/head", get(snapshot::head))
        .route("/v1/sync/snapshot", get(snapshot::snapshot))
        .route("/v1/sync/snapshot/stream", get(snapshot::snapshot_stream))
        .fallback(|| async { ApiError::NotFound })
        .layer(middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}

/// Serves on `listener` until `shutdown` completes, then finishes the requests in flight (a push
/// in flight commits and is answered; a waiting pull answers at once) and returns.
pub async fn run(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let stopping = state.stopping.clone();
    let shutdown = async move {
        shutdown.await;
        tracing::info!("shutting down: finishing the requests in flight");
        stopping.send_replace(true);
    };
    // With the peer's address, for the sign-in rate limit per client address.
    axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
    .map_err(|e| Error::Invalid(format!("the server stopped: {e}")))
}

/// `GET /health`: liveness and database reachability.
#[derive(Debug, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Health {
    /// `ok`, or `degraded` when the database does not answer.
    pub status: String,
    /// `ok` or `unreachable`.
    pub database: String,
}

/// Liveness and database reachability, for load balancers.
#[utoipa::path(
    get,
    path = "/health",
    tag = "operations",
    responses(
        (status = 200, description = "Serving, the database answers", body = Health),
        (status = 503, description = "The database does not answer", body = Health),
    )
)]
pub async fn health(State(state): State<AppState>) -> (axum::http::StatusCode, Json<Health>) {
    match sqlx::query("select 1").execute(&state.pool).await {
        Ok(_) => (
            axum::http::StatusCode::OK,
            Json(Health {
                status: "ok".to_owned(),
                database: "ok".to_owned(),
            }),
        ),
        Err(error) => {
            tracing::warn!(%error, "health check: database unreachable");
            (
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                Json(Health {
                    status: "degraded".to_owned(),
                    database: "unreachable".to_owned(),
                }),
            )
        }
    }
}

/// `GET /ready`: whether this instance can serve now.
#[derive(Debug, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Ready {
    /// `ready` or `not_ready`.
    pub status: String,
    /// `ok` or `unreachable` (no answer within 2 s).
    pub database: String,
    /// `ok`, or `disconnected` while the feed listener reconnects (waiting pulls would not wake).
    pub feed_listener: String,
}

/// Readiness, for a load balancer choosing instances: the database answers within 2 s and the
/// feed listener is connected. `/health` says the process lives; this says send it traffic.
#[utoipa::path(
    get,
    path = "/ready",
    tag = "operations",
    responses(
        (status = 200, description = "Ready", body = Ready),
        (status = 503, description = "Not ready: the database or the feed listener", body = Ready),
    )
)]
pub async fn ready(State(state): State<AppState>) -> (axum::http::StatusCode, Json<Ready>) {
    let database = tokio::time::timeout(
        std::time::Duration::from_secs(2),
        sqlx::query("select 1").execute(&state.pool),
    )
    .await;
    let database_ok = matches!(database, Ok(Ok(_)));
    let listener_ok = state.feed.status().connected;
    let ok = database_ok && listener_ok;
    let status = if ok {
        axum::http::StatusCode::OK
    } else {
        axum::http::StatusCode::SERVICE_UNAVAILABLE
    };
    let word = |ok: bool, bad: &str| if ok { "ok" } else { bad }.to_owned();
    (
        status,
        Json(Ready {
            status: if ok { "ready" } else { "not_ready" }.to_owned(),
            database: word(database_ok, "unreachable"),
            feed_listener: word(listener_ok, "disconnected"),
        }),
    )
}

/// This API's OpenAPI document (`crate::openapi`).
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "operations",
    responses((status = 200, description = "The OpenAPI 3.1 document of this API (JSON)"))
)]
pub async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(crate::openapi::document())
}

/// `GET /v1/me`: who the caller is.
#[derive(Debug, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Me {
    pub tenant_id: uuid::Uuid,
    pub tenant_name: String,
    pub user_id: uuid::Uuid,
    pub display_name: String,
    pub staff_role: String,
    pub device_id: uuid::Uuid,
}

/// Who the caller is, read under RLS: the tenant and staff row the token's claims can see.
#[utoipa::path(
    get,
    path = "/v1/me",
    tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's tenant and staff row", body = Me),
        (status = 401, description = "`missing_token`, `invalid_token`, `session_revoked`", body = error::ErrorResponse),
        (status = 403, description = "`tenant_inactive`", body = error::ErrorResponse),
    )
)]
pub async fn me(State(state): State<AppState>, caller: Caller) -> Result<Json<Me>, ApiError> {
    let mut tx = caller.begin(&state.pool).await?;
    let row: Option<(uuid::Uuid, String, String, String)> = sqlx::query_as(
        "select t.id, t.name, s.display_name, s.role
           from public.tenants t join public.staff s on s.tenant_id = t.id
          where s.user_id = $1",
    )
    .bind(caller.claims.sub)
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    let (tenant_id, tenant_name, display_name, role) = row.ok_or(ApiError::SessionRevoked)?;
    Ok(Json(Me {
        tenant_id,
        tenant_name,
        user_id: caller.claims.sub,
        display_name,
        staff_role: role,
        device_id: caller.claims.app_metadata.device_id,
    }))
}
