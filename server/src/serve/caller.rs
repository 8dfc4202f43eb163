//! The caller of an authenticated request, and the transaction every statement of the request
//! runs in: `set local role authenticated` with the caller's claims in `request.jwt.claims`, so
//! RLS decides what the request sees, whatever the handler forgets.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use sqlx::{PgPool, Postgres, Transaction};

use super::error::ApiError;
use super::tokens::Claims;
use super::AppState;

/// A verified access token.
#[derive(Debug, Clone)]
pub struct Caller {
    pub claims: Claims,
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .ok_or(ApiError::MissingToken)?;
        let token = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .ok_or(ApiError::MissingToken)?;
        let claims = state.keys.verify(token.trim())?;
        state.api_calls.record(claims.app_metadata.tenant_id);
        Ok(Self { claims })
    }
}

impl Caller {
    /// Begins the request's transaction as the caller. Refused when the device was revoked or
    /// the account disabled since the token was issued, or the tenant is no longer active.
    pub async fn begin(&self, pool: &PgPool) -> Result<Transaction<'static, Postgres>, ApiError> {
        self.begin_as(begin_to_the_end(pool, None).await?).await
    }

    /// [`begin`](Self::begin) for a read that must see one snapshot from its first statement to
    /// its last (`repeatable read, read only`): what retention pruned and what is left of the
    /// feed, read as of one moment.
    pub async fn begin_snapshot(
        &self,
        pool: &PgPool,
    ) -> Result<Transaction<'static, Postgres>, ApiError> {
        let tx = begin_to_the_end(
            pool,
            Some("begin isolation level repeatable read read only"),
        )
        .await?;
        self.begin_as(tx).await
    }

    async fn begin_as(
        &self,
        mut tx: Transaction<'static, Postgres>,
    ) -> Result<Transaction<'static, Postgres>, ApiError> {
        sqlx::query("set local role authenticated")
            .execute(&mut *tx)
            .await?;
        let claims =
            serde_json::to_string(&self.claims).map_err(|e| ApiError::Internal(e.into()))?;
        // A laptop's writes carry its own stamps (a push stores them), so the trigger that
        // stamps the server's own writes (migration 20261208000100) leaves this transaction's.
        sqlx::query(
            "select set_config('request.jwt.claims', $1, true), set_config('pms.laptop_stamps', 'on', true)",
        )
        .bind(claims)
            .execute(&mut *tx)
            .await?;
        let status: String = sqlx::query_scalar("select app.session_status($1)")
            .bind(self.claims.app_metadata.device_id)
            .fetch_one(&mut *tx)
            .await?;
        match status.as_str() {
            "active" => Ok(tx),
            "tenant_inactive" => Err(ApiError::TenantInactive),
            _ => Err(ApiError::SessionRevoked),
        }
    }
}

/// Begins a transaction on a task of its own, so that it always completes. sqlx 0.8's Postgres
/// `begin` is not cancel-safe (transact-rs/sqlx#4393): a request dropped while its `BEGIN` is in
/// flight (a laptop killed or gone mid-request; hyper then drops the handler) returned the
/// connection to the pool inside a transaction nothing ends, and every later request on that
/// connection failed with `25P02` until it was recycled (`killed_sync` saw 500s). Completed on
/// its own task, the transaction is either handed to the request or, the request gone, dropped
/// and rolled back like any other.
async fn begin_to_the_end(
    pool: &PgPool,
    statement: Option<&'static str>,
) -> Result<Transaction<'static, Postgres>, ApiError> {
    let pool = pool.clone();
    tokio::spawn(async move {
        match statement {
            Some(statement) => pool.begin_with(statement).await,
            None => pool.begin().await,
        }
    })
    .await
    .map_err(|e| ApiError::Internal(e.into()))?
    .map_err(ApiError::from)
}
