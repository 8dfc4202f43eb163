//! `pms-server worker`: the server's background jobs. Any number of workers may run side by side
//! (on one machine or several): every job claims its rows with `FOR UPDATE SKIP LOCKED`, so none
//! is done twice. A job that fails is logged and tried again on the next pass; it never takes the
//! worker down, and the rows it was given stay where they were (nothing is lost).
//!
//! - [`webhooks`]: delivery of webhook events with signatures, retries and backoff.
//! - [`retention`]: data retention policies (delete or anonymize what is too old).
//! - [`usage`]: usage against plan limits, raising and resolving usage alerts.
//! - [`loyalty`]: points expiry and birthday bonuses.
//! - [`billing`]: invoices at each period's end, `past_due` subscriptions.
//! - [`campaigns`]: recipients resolved from a campaign's targeting, sent through [`mail`].
//! - [`metrics`]: what the passes did and the queues' depths, at `PMS_METRICS_LISTEN`.
//!
//! Guest metrics and loyalty tiers are kept by triggers, in the transaction that changes what
//! they derive from (`…003100_derived_values.sql`), so they are never stale.
//!
//! The worker connects with the admin URL (`PMS_ADMIN_DATABASE_URL`), like the other maintenance
//! commands: it works across tenants.

pub mod billing;
pub mod campaigns;
pub mod loyalty;
pub mod mail;
pub mod metrics;
pub mod retention;
pub mod usage;
pub mod webhooks;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::error::Result;

/// Takes `tenant`'s feed head for the rest of the transaction, before the job locks any row of
/// the tenant: the order every writer of a tenant follows (a push does the same, migration
/// 20261206000100). A batch that locked its rows first and then waited for the head (its feed
/// trigger runs at the statement's end) could wait on a push that holds the head and wants one
/// of those rows; Postgres would end the circle by failing one of them.
pub(crate) async fn lock_tenant_feed(tx: &mut PgConnection, tenant: Uuid) -> sqlx::Result<()> {
    // head 0: the tenant's first write still gets transaction number 1
    sqlx::query(
        "insert into app.feed_heads (tenant_id, head) values ($1, 0) on conflict (tenant_id) do nothing",
    )
    .bind(tenant)
    .execute(&mut *tx)
    .await?;
    sqlx::query("select 1 from app.feed_heads where tenant_id = $1 for update")
        .bind(tenant)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// How the worker paces itself.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// The pause between passes when there was nothing to do.
    pub idle_pause: Duration,
    /// Deliveries claimed per pass.
    pub delivery_batch: i64,
    /// How often the periodic jobs run (retention, usage, loyalty, billing); deliveries run on
    /// every pass.
    pub periodic_every: Duration,
    pub webhooks: webhooks::WebhookPolicy,
    /// Where campaign messages go.
    pub mailer: mail::Mailer,
    /// Where [`run`] counts its passes and queues, if anywhere.
    pub metrics: Option<Arc<metrics::WorkerMetrics>>,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            idle_pause: Duration::from_secs(2),
            delivery_batch: 50,
            periodic_every: Duration::from_secs(300),
            webhooks: webhooks::WebhookPolicy::default(),
            mailer: mail::Mailer::File {
                path: "pms-outbox.jsonl".into(),
            },
            metrics: None,
        }
    }
}

/// What one pass over every job did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pass {
    pub deliveries: webhooks::DeliveryPass,
    pub retention_runs: usize,
    /// Identity documents past their property's retention period, deleted.
    pub expired_documents: u64,
    pub usage: usage::UsagePass,
    pub loyalty: loyalty::LoyaltyPass,
    pub billing: billing::BillingPass,
    pub campaigns: campaigns::CampaignPass,
    /// Jobs that failed this pass (logged; tried again next pass).
    pub failed_jobs: usize,
}

impl Pass {
    /// Whether there may be more to do at once (deliveries were sent).
    fn did_something(&self) -> bool {
        let d = self.deliveries;
        d.delivered + d.retrying + d.failed + self.campaigns.sent + self.campaigns.failed > 0
    }
}

/// One pass over every job.
pub async fn run_once(pool: &PgPool, http: &reqwest::Client, config: &WorkerConfig) -> Pass {
    let mut pass = Pass::default();
    deliver(pool, http, config, &mut pass).await;
    send_campaigns(pool, config, &mut pass).await;
    run_periodic(pool, &mut pass).await;
    pass
}

async fn send_campaigns(pool: &PgPool, config: &WorkerConfig, pass: &mut Pass) {
    match campaigns::run(pool, &config.mailer, chrono::Utc::now()).await {
        Ok(sent) => pass.campaigns = sent,
        Err(error) => {
            tracing::error!(%error, "campaign delivery failed; retrying next pass");
            pass.failed_jobs += 1;
        }
    }
}

async fn deliver(pool: &PgPool, http: &reqwest::Client, config: &WorkerConfig, pass: &mut Pass) {
    match webhooks::deliver_due(pool, http, &config.webhooks, config.delivery_batch).await {
        Ok(deliveries) => pass.deliveries = deliveries,
        Err(error) => {
            tracing::error!(%error, "webhook delivery failed; retrying next pass");
            pass.failed_jobs += 1;
        }
    }
}

async fn run_periodic(pool: &PgPool, pass: &mut Pass) {
    match retention::run_due(pool, chrono::Utc::now()).await {
        Ok(runs) => pass.retention_runs = runs.len(),
        Err(error) => {
            tracing::error!(%error, "data retention failed; retrying next pass");
            pass.failed_jobs += 1;
        }
    }
    match retention::purge_expired_documents(pool, chrono::Utc::now()).await {
        Ok(removed) => pass.expired_documents = removed,
        Err(error) => {
            tracing::error!(%error, "identity document retention failed; retrying next pass");
            pass.failed_jobs += 1;
        }
    }
    match usage::check_all(pool).await {
        Ok(usage) => pass.usage = usage,
        Err(error) => {
            tracing::error!(%error, "usage alerts failed; retrying next pass");
            pass.failed_jobs += 1;
        }
    }
    match loyalty::run(pool, chrono::Utc::now()).await {
        Ok(loyalty) => pass.loyalty = loyalty,
        Err(error) => {
            tracing::error!(%error, "loyalty jobs failed; retrying next pass");
            pass.failed_jobs += 1;
        }
    }
    match billing::run(pool, chrono::Utc::now()).await {
        Ok(billing) => pass.billing = billing,
        Err(error) => {
            tracing::error!(%error, "billing failed; retrying next pass");
            pass.failed_jobs += 1;
        }
    }
}

/// Runs passes until `shutdown` completes (the pass in flight finishes first); pauses only when a
/// pass found nothing to do.
pub async fn run(
    pool: PgPool,
    config: WorkerConfig,
    shutdown: impl Future<Output = ()>,
) -> Result<()> {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| crate::Error::Invalid(format!("cannot start the HTTP client: {e}")))?;
    tokio::pin!(shutdown);
    let mut periodic_due = tokio::time::Instant::now();
    loop {
        let mut pass = Pass::default();
        deliver(&pool, &http, &config, &mut pass).await;
        send_campaigns(&pool, &config, &mut pass).await;
        if tokio::time::Instant::now() >= periodic_due {
            run_periodic(&pool, &mut pass).await;
            periodic_due = tokio::time::Instant::now() + config.periodic_every;
        }
        if let Some(metrics) = &config.metrics {
            metrics.record(&pass);
            metrics.count_queues(&pool).await;
        }
        // A pass is never cut short: a stop is taken between passes.
        let pause = if pass.did_something() {
            Duration::ZERO
        } else {
            config.idle_pause
        };
        tokio::select! {
            biased;
            () = &mut shutdown => return Ok(()),
            () = tokio::time::sleep(pause) => {}
        }
    }
}
