//! Webhook delivery: pending `webhook_deliveries` (made by the event triggers of
//! `20261125003000_webhook_events.sql`) are claimed with `FOR UPDATE SKIP LOCKED`, sent with
//! reqwest, signed, and recorded.
//!
//! - **Claim**: a worker takes due deliveries and, in the same short transaction, counts the
//!   attempt and pushes `next_retry_at` one lease ahead. Another worker skips the locked rows and,
//!   after the commit, no longer finds them due: two workers never send one delivery at once. A
//!   worker that dies mid-send leaves the delivery due again when the lease runs out.
//! - **Signature**: `X-PMS-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>` with
//!   `X-PMS-Timestamp` (Unix seconds), so a receiver can check both the body and its freshness;
//!   [`sign`] is the reference.
//! - **Outcome**: a 2xx is a success. Anything else records the status, the body (truncated) or
//!   the transport error, and retries after an exponential backoff with jitter, up to
//!   `max_attempts`; then the delivery has failed for good (kept, never deleted by this job). An
//!   endpoint whose attempts keep failing is `failing`, then disabled, and its pending deliveries
//!   are marked failed with the reason.

use std::time::Duration;

use hmac::{Hmac, Mac};
use rand::Rng;
use sha2::Sha256;
use sqlx::PgPool;
use uuid::Uuid;

use crate::error::Result;

/// How deliveries are retried and endpoints given up on.
#[derive(Debug, Clone)]
pub struct WebhookPolicy {
    /// The whole request, connect to last byte.
    pub timeout: Duration,
    /// Attempts before a delivery has failed for good.
    pub max_attempts: i32,
    /// The wait after the first failed attempt; doubled for each further one.
    pub base_backoff: Duration,
    pub max_backoff: Duration,
    /// Consecutive failed attempts after which an endpoint is disabled.
    pub disable_after: i32,
    /// How long a claimed delivery is held by its worker.
    pub lease: Duration,
}

impl Default for WebhookPolicy {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(10),
            max_attempts: 8,
            base_backoff: Duration::from_secs(30),
            max_backoff: Duration::from_secs(6 * 3600),
            disable_after: 50,
            lease: Duration::from_secs(120),
        }
    }
}

/// The most of a response body kept with a delivery.
pub const RESPONSE_BODY_LIMIT: usize = 2_048;

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeliveryPass {
    pub delivered: usize,
    pub retrying: usize,
    pub failed: usize,
}

/// The signature header's value for `body` sent at `timestamp`.
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// The wait before the next attempt after `attempts` failed ones: `base × 2^(attempts-1)`, capped,
/// times `jitter` (drawn in 0.8..1.2 so that endpoints recovering at once are not hit at once).
pub fn retry_delay(policy: &WebhookPolicy, attempts: i32, jitter: f64) -> Duration {
    let doublings = attempts.saturating_sub(1).clamp(0, 30) as u32;
    let plain = policy
        .base_backoff
        .saturating_mul(1u32 << doublings)
        .min(policy.max_backoff);
    plain.mul_f64(jitter.clamp(0.5, 1.5))
}

/// A delivery claimed by this worker, with where and how to send it.
#[derive(Debug, sqlx::FromRow)]
struct Claimed {
    tenant_id: Uuid,
    id: Uuid,
    webhook_id: Uuid,
    event: String,
    payload: serde_json::Value,
    attempt_count: i32,
    url: String,
    secret: String,
}

/// Claims up to `limit` due deliveries, sends them, and records what happened.
pub async fn deliver_due(
    pool: &PgPool,
    http: &reqwest::Client,
    policy: &WebhookPolicy,
    limit: i64,
) -> Result<DeliveryPass> {
    let claimed: Vec<Claimed> = sqlx::query_as(
        "with due as (
             select d.tenant_id, d.id from public.webhook_deliveries d
               join public.webhooks w on w.tenant_id = d.tenant_id and w.id = d.webhook_id
              where d.status = 'pending' and d.next_retry_at <= now()
                and w.enabled and w.deleted_at is null
              order by d.next_retry_at
              limit $1
                for update of d skip locked)
         update public.webhook_deliveries d
            set attempt_count = d.attempt_count + 1,
                next_retry_at = now() + make_interval(secs => $2)
           from due, public.webhooks w
          where d.tenant_id = due.tenant_id and d.id = due.id
            and w.tenant_id = d.tenant_id and w.id = d.webhook_id
         returning d.tenant_id, d.id, d.webhook_id, d.event, d.payload, d.attempt_count, w.url, w.secret",
    )
    .bind(limit)
    .bind(policy.lease.as_secs_f64())
    .fetch_all(pool)
    .await?;

    let mut pass = DeliveryPass::default();
    for delivery in claimed {
        let outcome = send(http, policy, &delivery).await;
        match record(pool, policy, &delivery, outcome).await? {
            Recorded::Delivered => pass.delivered += 1,
            Recorded::Retrying => pass.retrying += 1,
            Recorded::Failed => pass.failed += 1,
        }
    }
    Ok(pass)
}

/// What an attempt came back with.
struct Attempt {
    status: Option<u16>,
    body: Option<String>,
    error: Option<String>,
}

impl Attempt {
    fn succeeded(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

async fn send(http: &reqwest::Client, policy: &WebhookPolicy, delivery: &Claimed) -> Attempt {
    let body = serde_json::to_vec(&delivery.payload).unwrap_or_default();
    let timestamp = chrono::Utc::now().timestamp();
    let request = http
        .post(&delivery.url)
        .timeout(policy.timeout)
        .header("content-type", "application/json")
        .header("user-agent", "pms-webhooks/1")
        .header("x-pms-event", &delivery.event)
        .header("x-pms-delivery", delivery.id.to_string())
        .header("x-pms-timestamp", timestamp.to_string())
        .header("x-pms-signature", sign(&delivery.secret, timestamp, &body))
        .body(body);
    match request.send().await {
        Ok(response) => {
            let status = response.status().as_u16();
            let text = response.text().await.unwrap_or_default();
            Attempt {
                status: Some(status),
                body: Some(truncate(&text, RESPONSE_BODY_LIMIT)),
                error: (!(200..300).contains(&status)).then(|| format!("HTTP {status}")),
            }
        }
        Err(error) => Attempt {
            status: None,
            body: None,
            // reqwest's message names the URL; it holds no secret (the secret is never in it)
            error: Some(if error.is_timeout() {
                format!("timed out after {:?}", policy.timeout)
            } else if error.is_connect() {
                "the endpoint could not be reached".to_owned()
            } else {
                "the request failed".to_owned()
            }),
        },
    }
}

fn truncate(text: &str, limit: usize) -> String {
    if text.len() <= limit {
        return text.to_owned();
    }
    let mut end = limit;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

enum Recorded {
    Delivered,
    Retrying,
    Failed,
}

async fn record(
    pool: &PgPool,
    policy: &WebhookPolicy,
    delivery: &Claimed,
    attempt: Attempt,
) -> Result<Recorded> {
    let mut tx = pool.begin().await?;
    let recorded = if attempt.succeeded() {
        sqlx::query(
            "update public.webhook_deliveries
                set status = 'success', delivered_at = now(), response_status = $3, response_body = $4, error = null
              where tenant_id = $1 and id = $2",
        )
        .bind(delivery.tenant_id)
        .bind(delivery.id)
        .bind(attempt.status.map(i32::from))
        .bind(&attempt.body)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "update public.webhooks set failure_count = 0, status = 'active' where tenant_id = $1 and id = $2",
        )
        .bind(delivery.tenant_id)
        .bind(delivery.webhook_id)
        .execute(&mut *tx)
        .await?;
        Recorded::Delivered
    } else {
        let give_up = delivery.attempt_count >= policy.max_attempts;
        let delay = retry_delay(
            policy,
            delivery.attempt_count,
            rand::rng().random_range(0.8..1.2),
        );
        sqlx::query(
            "update public.webhook_deliveries
                set status = case when $5 then 'failed' else 'pending' end,
                    next_retry_at = case when $5 then next_retry_at else now() + make_interval(secs => $6) end,
                    response_status = $3, response_body = $4, error = $7
              where tenant_id = $1 and id = $2",
        )
        .bind(delivery.tenant_id)
        .bind(delivery.id)
        .bind(attempt.status.map(i32::from))
        .bind(&attempt.body)
        .bind(give_up)
        .bind(delay.as_secs_f64())
        .bind(&attempt.error)
        .execute(&mut *tx)
        .await?;
        let failures: i32 = sqlx::query_scalar(
            "update public.webhooks set failure_count = failure_count + 1, status = 'failing'
              where tenant_id = $1 and id = $2 returning failure_count",
        )
        .bind(delivery.tenant_id)
        .bind(delivery.webhook_id)
        .fetch_one(&mut *tx)
        .await?;
        if failures >= policy.disable_after {
            let reason = format!("{failures} consecutive failed deliveries");
            sqlx::query(
                "update public.webhooks
                    set enabled = false, status = 'disabled', disabled_at = now(), disabled_reason = $3
                  where tenant_id = $1 and id = $2",
            )
            .bind(delivery.tenant_id)
            .bind(delivery.webhook_id)
            .bind(&reason)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "update public.webhook_deliveries set status = 'failed', error = 'endpoint disabled: ' || $3
                  where tenant_id = $1 and webhook_id = $2 and status = 'pending'",
            )
            .bind(delivery.tenant_id)
            .bind(delivery.webhook_id)
            .bind(&reason)
            .execute(&mut *tx)
            .await?;
            tracing::warn!(webhook = %delivery.webhook_id, tenant = %delivery.tenant_id, "{reason}: endpoint disabled");
        }
        if give_up {
            Recorded::Failed
        } else {
            Recorded::Retrying
        }
    };
    tx.commit().await?;
    Ok(recorded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_hmac_sha256_of_timestamp_and_body() {
        // Computed independently: printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac 'key'
        assert_eq!(
            sign("key", 1_700_000_000, br#"{"a":1}"#),
            "sha256=a438e398bfafc57e4396bb7fc2304422f0f768e965d073ca313cb52e22e6ad03"
        );
    }

    #[test]
    fn backoff_doubles_is_capped_and_jittered() {
        let policy = WebhookPolicy {
            base_backoff: Duration::from_secs(10),
            max_backoff: Duration::from_secs(60),
            ..WebhookPolicy::default()
        };
        assert_eq!(retry_delay(&policy, 1, 1.0), Duration::from_secs(10));
        assert_eq!(retry_delay(&policy, 2, 1.0), Duration::from_secs(20));
        assert_eq!(retry_delay(&policy, 3, 1.0), Duration::from_secs(40));
        assert_eq!(retry_delay(&policy, 4, 1.0), Duration::from_secs(60));
        assert_eq!(retry_delay(&policy, 40, 1.0), Duration::from_secs(60));
        assert_eq!(retry_delay(&policy, 2, 0.8), Duration::from_secs(16));
        assert_eq!(retry_delay(&policy, 2, 1.2), Duration::from_secs(24));
    }

    #[test]
    fn long_bodies_are_cut_on_a_character_boundary() {
        assert_eq!(truncate("héllo", 2), "h");
        assert_eq!(truncate("hello", 10), "hello");
    }
}
