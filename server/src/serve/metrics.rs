//! `GET /metrics`: what an operator watches, in the Prometheus text format (OpenMetrics), and
//! the layer that counts every request.
//!
//! Each process has its own registry (no global state: several servers in one test process keep
//! their own counts). Labels are closed sets the server chooses: a route's template as the router
//! matched it (`/v1/staff/{user_id}/temporary-password`, never the URL as sent), the method, the
//! status, an error code, an outcome. No tenant, user, device, e-mail, token or row ever becomes a
//! label or a value. Without `PMS_METRICS_TOKEN` the endpoint is open like `/health`; with it, a
//! scrape must send `Authorization: Bearer <token>`.

use std::sync::atomic::AtomicU64;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use pms_sync_protocol::wire::{PushResult, PushStatus};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use super::error::{ApiError, ErrorCode};
use super::AppState;

/// The route label of a request no route matched.
pub const UNMATCHED: &str = "unmatched";

/// The content type of the text format.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub method: &'static str,
    pub route: String,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub method: &'static str,
    pub route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PushLabels {
    /// `applied`, `merged` or `rejected`.
    pub status: &'static str,
    /// Answered from the results recorded by an earlier attempt.
    pub replayed: bool,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PushPathLabels {
    /// `waves` (a few statements for the whole push) or `one_by_one`.
    pub path: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CodeLabels {
    /// The error code of the answer (`invalid_credentials`, `too_many_requests`, …).
    pub code: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PoolLabels {
    /// `idle` or `in_use`.
    pub state: &'static str,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    // 2 ms to ~33 s: a long poll waits up to 30 s.
    Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(
        0.002, 2.0, 15,
    ))
}

/// The metrics of one `serve` process.
#[derive(Debug)]
pub struct ServeMetrics {
    registry: Registry,
    pub requests: Family<RequestLabels, Counter>,
    pub request_seconds: HistogramFamily<RouteLabels>,
    pub push_changes: Family<PushLabels, Counter>,
    pub pushes: Family<PushPathLabels, Counter>,
    pub pull_changes: Counter,
    pub long_poll_waiters: Gauge,
    pub long_poll_tenants: Gauge,
    pub login_refusals: Family<CodeLabels, Counter>,
    pub feed_lag_seconds: Gauge<f64, AtomicU64>,
    pub feed_listener_up: Gauge,
    pub db_connections: Family<PoolLabels, Gauge>,
}

impl Default for ServeMetrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("pms");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by method, matched route and status",
            requests.clone(),
        );
        let request_seconds: HistogramFamily<RouteLabels> =
            Family::new_with_constructor(latency_histogram);
        registry.register(
            "http_request_duration_seconds",
            "Time to answer a request, by method and matched route (a long poll waits up to 30 s)",
            request_seconds.clone(),
        );
        let push_changes = Family::<PushLabels, Counter>::default();
        registry.register(
            "push_changes",
            "Pushed changes answered, by status (applied, merged, rejected) and whether the answer was replayed from an earlier attempt",
            push_changes.clone(),
        );
        let pushes = Family::<PushPathLabels, Counter>::default();
        registry.register(
            "pushes",
            "Pushes applied, by path: `waves` (a statement per table and wave, for pushes of guests and their preferences that applied cleanly) or `one_by_one` (every other push, and any whose waves met a refusal, a conflict or an error)",
            pushes.clone(),
        );
        let pull_changes = Counter::default();
        registry.register(
            "pull_changes",
            "Changes sent to laptops by pulls",
            pull_changes.clone(),
        );
        let long_poll_waiters = Gauge::default();
        registry.register(
            "long_poll_waiters",
            "Pulls waiting now for their tenant's feed to move",
            long_poll_waiters.clone(),
        );
        let long_poll_tenants = Gauge::default();
        registry.register(
            "long_poll_tenants",
            "Tenants with a pull waiting now in this instance (each has one wake-up channel)",
            long_poll_tenants.clone(),
        );
        let login_refusals = Family::<CodeLabels, Counter>::default();
        registry.register(
            "login_refusals",
            "Sign-ins refused (POST /v1/auth/login), by error code",
            login_refusals.clone(),
        );
        let feed_lag_seconds = Gauge::<f64, AtomicU64>::default();
        registry.register(
            "feed_lag_seconds",
            "How late this instance hears of a feed notification: the round trip of its latest probe through LISTEN/NOTIFY, or the age of one still unanswered",
            feed_lag_seconds.clone(),
        );
        let feed_listener_up = Gauge::default();
        registry.register(
            "feed_listener_up",
            "1 while this instance's feed listener is connected (waiting pulls are woken), else 0",
            feed_listener_up.clone(),
        );
        let db_connections = Family::<PoolLabels, Gauge>::default();
        registry.register(
            "db_connections",
            "Connections of this instance's database pool, by state",
            db_connections.clone(),
        );
        Self {
            registry,
            requests,
            request_seconds,
            push_changes,
            pushes,
            pull_changes,
            long_poll_waiters,
            long_poll_tenants,
            login_refusals,
            feed_lag_seconds,
            feed_listener_up,
            db_connections,
        }
    }
}

impl ServeMetrics {
    /// Counts the answers of one push.
    pub fn record_push(&self, results: &[PushResult]) {
        for result in results {
            let status = match result.status {
                PushStatus::Applied => "applied",
                PushStatus::Merged => "merged",
                PushStatus::Rejected => "rejected",
            };
            self.push_changes
                .get_or_create(&PushLabels {
                    status,
                    replayed: result.replayed,
                })
                .inc();
        }
    }

    /// Counts a push by the path that applied it.
    pub fn record_push_path(&self, in_waves: bool) {
        let path = if in_waves { "waves" } else { "one_by_one" };
        self.pushes.get_or_create(&PushPathLabels { path }).inc();
    }

    /// Counts one pull waiting until the guard is dropped (answered, or the laptop gone).
    pub fn waiting(&self) -> Waiting {
        self.long_poll_waiters.inc();
        Waiting(self.long_poll_waiters.clone())
    }

    fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)?;
        Ok(text)
    }
}

/// A pull counted in `pms_long_poll_waiters` while it lives.
pub struct Waiting(Gauge);

impl Drop for Waiting {
    fn drop(&mut self) {
        self.0.dec();
    }
}

fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// The layer: counts and times every request by its matched route.
pub async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| UNMATCHED.to_owned(), |path| path.as_str().to_owned());
    let method = method_label(request.method());
    let started = Instant::now();
    let response = next.run(request).await;
    let metrics = &state.metrics;
    let status = response.status();
    if route == "/v1/auth/login" && !status.is_success() {
        let code = response
            .extensions()
            .get::<ErrorCode>()
            .map_or("other", |code| code.0);
        metrics
            .login_refusals
            .get_or_create(&CodeLabels { code })
            .inc();
    }
    metrics
        .request_seconds
        .get_or_create(&RouteLabels {
            method,
            route: route.clone(),
        })
        .observe(started.elapsed().as_secs_f64());
    metrics
        .requests
        .get_or_create(&RequestLabels {
            method,
            route,
            status: status.as_u16(),
        })
        .inc();
    response
}

/// The metrics of this instance.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    security((), ("metrics_token" = [])),
    responses(
        (status = 200, description = "The metrics (OpenMetrics text)", body = String, content_type = "application/openmetrics-text"),
        (status = 401, description = "`missing_token`: `PMS_METRICS_TOKEN` is set and the scrape did not send it", body = super::error::ErrorResponse),
    )
)]
pub async fn metrics(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
) -> Result<Response, ApiError> {
    if let Some(token) = &state.metrics_token {
        let sent = headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .unwrap_or_default();
        if !same_secret(sent.as_bytes(), token.expose().as_bytes()) {
            return Err(ApiError::MissingToken);
        }
    }
    let metrics = &state.metrics;
    let feed = state.feed.status();
    metrics.feed_listener_up.set(i64::from(feed.connected));
    metrics.feed_lag_seconds.set(feed.lag.as_secs_f64());
    let tenants_waiting = i64::try_from(state.feed.tenants_waiting()).unwrap_or(i64::MAX);
    metrics.long_poll_tenants.set(tenants_waiting);
    let size = i64::from(state.pool.size());
    let idle = i64::try_from(state.pool.num_idle()).unwrap_or(i64::MAX);
    metrics
        .db_connections
        .get_or_create(&PoolLabels { state: "idle" })
        .set(idle);
    metrics
        .db_connections
        .get_or_create(&PoolLabels { state: "in_use" })
        .set((size - idle).max(0));
    let text = metrics
        .encode()
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("cannot encode the metrics: {e}")))?;
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE))],
        text,
    )
        .into_response())
}

/// Compares two secrets in time that does not depend on where they differ.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    use sha2::{Digest, Sha256};
    let (a, b) = (Sha256::digest(a), Sha256::digest(b));
    a.iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_compare_whole() {
        assert!(same_secret(b"abc", b"abc"));
        assert!(!same_secret(b"abc", b"abd"));
        assert!(!same_secret(b"", b"abc"));
    }

    #[test]
    fn the_text_names_every_metric() {
        let metrics = ServeMetrics::default();
        metrics.pull_changes.inc_by(3);
        // a family shows once it has a series
        metrics
            .requests
            .get_or_create(&RequestLabels {
                method: "GET",
                route: "/v1/me".to_owned(),
                status: 200,
            })
            .inc();
        let text = metrics.encode().expect("encode");
        for name in [
            r#"pms_http_requests_total{method="GET",route="/v1/me",status="200"} 1"#,
            "pms_pull_changes_total 3",
            "pms_long_poll_waiters",
            "pms_feed_lag_seconds",
        ] {
            assert!(text.contains(name), "{name} in {text}");
        }
    }
}
