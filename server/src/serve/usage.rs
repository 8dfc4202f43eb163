//! API calls counted per tenant for the usage alerts. Each authenticated request adds one in
//! memory; a background task adds the counts to `app.api_calls` every few seconds, one short
//! transaction per tenant (as that tenant, through `app.count_api_calls`), so requests never wait
//! on a shared counter row. Counts not yet flushed when a server stops are lost: the figure is a
//! usage measure, not a bill.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::PgPool;
use uuid::Uuid;

/// How often counts go to the database.
pub const FLUSH_EVERY: Duration = Duration::from_secs(5);

#[derive(Clone, Default)]
pub struct ApiCallCounter {
    counts: Arc<Mutex<HashMap<Uuid, u64>>>,
}

impl ApiCallCounter {
    /// Counts one call of `tenant`.
    pub fn record(&self, tenant: Uuid) {
        if let Ok(mut counts) = self.counts.lock() {
            *counts.entry(tenant).or_default() += 1;
        }
    }

    /// Adds the calls counted so far to the database. Counts that could not be written are kept
    /// for the next flush.
    pub async fn flush(&self, pool: &PgPool) {
        let taken: HashMap<Uuid, u64> = match self.counts.lock() {
            Ok(mut counts) => std::mem::take(&mut *counts),
            Err(_) => return,
        };
        for (tenant, calls) in taken {
            if let Err(error) = write(pool, tenant, calls).await {
                tracing::warn!(%error, "API call counts not written; kept for the next flush");
                if let Ok(mut counts) = self.counts.lock() {
                    *counts.entry(tenant).or_default() += calls;
                }
            }
        }
    }

    /// Flushes every [`FLUSH_EVERY`] for as long as the runtime lives.
    pub fn start_flushing(&self, pool: PgPool) {
        let counter = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(FLUSH_EVERY);
            loop {
                tick.tick().await;
                counter.flush(&pool).await;
            }
        });
    }
}

async fn write(pool: &PgPool, tenant: Uuid, calls: u64) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query("set local role authenticated")
        .execute(&mut *tx)
        .await?;
    let claims =
        serde_json::json!({"role": "authenticated", "app_metadata": {"tenant_id": tenant}});
    sqlx::query("select set_config('request.jwt.claims', $1, true)")
        .bind(claims.to_string())
        .execute(&mut *tx)
        .await?;
    sqlx::query("select app.count_api_calls($1)")
        .bind(i64::try_from(calls).unwrap_or(i64::MAX))
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}
