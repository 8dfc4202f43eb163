//! The worker's metrics: what its passes did and how deep its queues are, served at
//! `GET /metrics` on `PMS_METRICS_LISTEN` when that is set (the worker has no other listener).
//! Labels are closed sets (a job's name, an outcome, a queue's name): no tenant, endpoint URL or
//! recipient ever becomes one.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use sqlx::PgPool;
use tokio::net::TcpListener;

use super::Pass;

/// How often the queues are counted (each count uses a partial index on the pending rows).
pub const COUNT_QUEUES_EVERY: Duration = Duration::from_secs(10);

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    /// `delivered`, `retrying` (this attempt failed, another will come) or `failed` (given up).
    pub outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct QueueLabels {
    /// `webhook_deliveries` (pending), `webhook_deliveries_due` (pending and due now),
    /// `campaign_recipients` (pending).
    pub queue: &'static str,
}

#[derive(Debug)]
pub struct WorkerMetrics {
    registry: Registry,
    pub passes: Counter,
    pub failed_jobs: Counter,
    pub webhook_attempts: Family<OutcomeLabels, Counter>,
    pub campaign_messages: Family<OutcomeLabels, Counter>,
    pub queue_depth: Family<QueueLabels, Gauge>,
    /// When the queues were last counted.
    counted_at: std::sync::Mutex<Option<Instant>>,
}

impl Default for WorkerMetrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("pms_worker");
        let passes = Counter::default();
        registry.register("passes", "Passes over the jobs", passes.clone());
        let failed_jobs = Counter::default();
        registry.register(
            "failed_jobs",
            "Jobs that failed in a pass (logged, tried again next pass)",
            failed_jobs.clone(),
        );
        let webhook_attempts = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "webhook_attempts",
            "Webhook delivery attempts, by outcome: delivered, retrying (the attempt failed) or failed (given up)",
            webhook_attempts.clone(),
        );
        let campaign_messages = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "campaign_messages",
            "Campaign messages, by outcome: delivered (sent) or failed",
            campaign_messages.clone(),
        );
        let queue_depth = Family::<QueueLabels, Gauge>::default();
        registry.register(
            "queue_depth",
            "Rows waiting in a job's queue, counted every 10 s",
            queue_depth.clone(),
        );
        Self {
            registry,
            passes,
            failed_jobs,
            webhook_attempts,
            campaign_messages,
            queue_depth,
            counted_at: Default::default(),
        }
    }
}

impl WorkerMetrics {
    /// Counts what a pass did.
    pub fn record(&self, pass: &Pass) {
        self.passes.inc();
        self.failed_jobs.inc_by(pass.failed_jobs as u64);
        let d = pass.deliveries;
        for (outcome, n) in [
            ("delivered", d.delivered),
            ("retrying", d.retrying),
            ("failed", d.failed),
        ] {
            self.webhook_attempts
                .get_or_create(&OutcomeLabels { outcome })
                .inc_by(n as u64);
        }
        for (outcome, n) in [
            ("delivered", pass.campaigns.sent),
            ("failed", pass.campaigns.failed),
        ] {
            self.campaign_messages
                .get_or_create(&OutcomeLabels { outcome })
                .inc_by(n as u64);
        }
    }

    /// Counts the queues, at most every [`COUNT_QUEUES_EVERY`].
    pub async fn count_queues(&self, pool: &PgPool) {
        {
            let Ok(mut last) = self.counted_at.lock() else {
                return;
            };
            if last.is_some_and(|at| at.elapsed() < COUNT_QUEUES_EVERY) {
                return;
            }
            *last = Some(Instant::now());
        }
        let counted: Result<(i64, i64, i64), sqlx::Error> = sqlx::query_as(
            "select (select count(*) from public.webhook_deliveries where status = 'pending'),
                    (select count(*) from public.webhook_deliveries
                      where status = 'pending' and next_retry_at <= now()),
                    (select count(*) from public.campaign_recipients where status = 'pending')",
        )
        .fetch_one(pool)
        .await;
        match counted {
            Ok((pending, due, recipients)) => {
                for (queue, n) in [
                    ("webhook_deliveries", pending),
                    ("webhook_deliveries_due", due),
                    ("campaign_recipients", recipients),
                ] {
                    self.queue_depth
                        .get_or_create(&QueueLabels { queue })
                        .set(n);
                }
            }
            Err(error) => tracing::warn!(%error, "cannot count the job queues"),
        }
    }

    fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)?;
        Ok(text)
    }
}

/// Serves `GET /metrics` and `GET /health` on `listener` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    metrics: Arc<WorkerMetrics>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let started = Instant::now();
    let app = Router::new()
        .route("/metrics", get(scrape))
        .route(
            "/health",
            get(move || async move {
                axum::Json(serde_json::json!({
                    "status": "ok",
                    "uptime_seconds": started.elapsed().as_secs(),
                }))
            }),
        )
        .with_state(metrics);
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

async fn scrape(State(metrics): State<Arc<WorkerMetrics>>) -> axum::response::Response {
    match metrics.encode() {
        Ok(text) => (
            StatusCode::OK,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static(crate::serve::metrics::CONTENT_TYPE),
            )],
            text,
        )
            .into_response(),
        Err(error) => {
            tracing::error!(%error, "cannot encode the metrics");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}
