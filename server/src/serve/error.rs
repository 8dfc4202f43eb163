//! Errors of the HTTP API: a status code and a machine-readable reason, as JSON
//! (`{"error": {"code": "invalid_credentials", "message": "…"}}`). Internals never reach a
//! response: database errors are logged and answered with a generic message.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("the request body is not valid: {0}")]
    BadRequest(String),
    #[error("the request body is larger than the server accepts")]
    PayloadTooLarge,
    #[error("no such endpoint")]
    NotFound,
    #[error("email or password is wrong, or the account is disabled")]
    InvalidCredentials,
    #[error("the sign-in is no longer valid: sign in again")]
    InvalidRefreshToken,
    #[error("a valid bearer token is required")]
    MissingToken,
    #[error("the token is invalid or expired")]
    InvalidToken,
    #[error("this device was revoked or the account disabled: sign in again")]
    SessionRevoked,
    /// A rotated refresh token was presented again after its grace: two parties hold this
    /// device's tokens, so the device was revoked.
    #[error("this sign-in was used from another place, so this device was signed out for safety: sign in again with your password")]
    RefreshTokenReused,
    #[error("this hotel's account is suspended or closed: contact the owner or support; work on this laptop is kept")]
    TenantInactive,
    /// The hotel's data is still in the legacy store (not imported yet, or rolled back): the
    /// laptop cannot be served until it is migrated.
    #[error("this hotel's data is being moved to the new system and is not available yet: try again after its migration")]
    TenantNotMigrated,
    /// The password was a temporary one: it opens nothing but the choice of one's own.
    #[error("this is a temporary password: choose a password of your own to sign in")]
    PasswordChangeRequired,
    /// A password chosen too short to keep the account safe.
    #[error("choose a password of at least {min} characters")]
    WeakPassword { min: usize },
    /// The caller's role may not do this (an owner's task).
    #[error("only the owner can do this")]
    OwnerOnly,
    #[error("too many sign-in attempts: try again in {retry_after_secs} s")]
    TooManyRequests { retry_after_secs: u64 },
    #[error(
        "this app speaks sync protocol {client} but the server needs {server}: update the app"
    )]
    ClientTooOld { client: u32, server: u32 },
    #[error(
        "this device has not synced for longer than the server keeps changes: take a new snapshot"
    )]
    CursorExpired,
    /// Every database connection stayed busy for the pool's whole wait, or the database chose
    /// this request as the loser of a deadlock: nothing was written, and the same request is
    /// worth sending again shortly (pushes are idempotent).
    #[error("the server is busy: try again in a moment")]
    Busy,
    #[error("an internal error occurred")]
    Internal(#[source] anyhow::Error),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::InvalidCredentials
            | Self::InvalidRefreshToken
            | Self::MissingToken
            | Self::InvalidToken
            | Self::SessionRevoked
            | Self::RefreshTokenReused => StatusCode::UNAUTHORIZED,
            Self::TenantInactive
            | Self::TenantNotMigrated
            | Self::PasswordChangeRequired
            | Self::OwnerOnly => StatusCode::FORBIDDEN,
            Self::WeakPassword { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::ClientTooOld { .. } => StatusCode::UPGRADE_REQUIRED,
            Self::CursorExpired => StatusCode::GONE,
            Self::Busy => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The machine-readable reason clients branch on.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "bad_request",
            Self::PayloadTooLarge => "payload_too_large",
            Self::NotFound => "not_found",
            Self::InvalidCredentials => "invalid_credentials",
            Self::InvalidRefreshToken => "invalid_refresh_token",
            Self::MissingToken => "missing_token",
            Self::InvalidToken => "invalid_token",
            Self::SessionRevoked => "session_revoked",
            Self::RefreshTokenReused => "refresh_token_reused",
            Self::TenantInactive => TENANT_INACTIVE,
            Self::TenantNotMigrated => TENANT_NOT_MIGRATED,
            Self::PasswordChangeRequired => "password_change_required",
            Self::WeakPassword { .. } => "weak_password",
            Self::OwnerOnly => "owner_only",
            Self::TooManyRequests { .. } => "too_many_requests",
            Self::ClientTooOld { .. } => "client_too_old",
            Self::CursorExpired => CURSOR_EXPIRED,
            Self::Busy => "server_busy",
            Self::Internal(_) => "internal",
        }
    }
}

pub use pms_sync_protocol::wire::CURSOR_EXPIRED;

/// The code of [`ApiError::TenantInactive`].
pub const TENANT_INACTIVE: &str = "tenant_inactive";

/// The code of [`ApiError::TenantNotMigrated`].
pub const TENANT_NOT_MIGRATED: &str = "tenant_not_migrated";

/// A database failure that says nothing about the request (this transaction was a deadlock's
/// victim or lost a serialization race, a lock or statement waited too long, the server had no
/// connection slot): answered `503 server_busy` so the caller sends the same request again.
pub fn is_retry_later(sqlstate: Option<&str>) -> bool {
    // deadlock_detected, serialization_failure, lock_not_available, query_canceled (a
    // statement timeout), too_many_connections
    matches!(
        sqlstate,
        Some("40P01" | "40001" | "55P03" | "57014" | "53300")
    )
}

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        let retry_later = match &error {
            sqlx::Error::PoolTimedOut => true,
            sqlx::Error::Database(db) => is_retry_later(db.code().as_deref()),
            _ => false,
        };
        if retry_later {
            tracing::warn!(%error, "request refused as busy");
            Self::Busy
        } else {
            Self::Internal(error.into())
        }
    }
}

/// The body of every error answer.
#[derive(Debug, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct ErrorResponse {
    pub error: ErrorBody,
}

#[derive(Debug, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// The machine-readable reason clients branch on (`invalid_credentials`, `server_busy`, …).
    pub code: String,
    /// For a person; its wording may change.
    pub message: String,
}

/// The code of an error answer, carried in the response's extensions for the metrics layer
/// (`serve::metrics`), which counts refusals by code without reading bodies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorCode(pub &'static str);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Self::Internal(source) = &self {
            tracing::error!(error = %source, "request failed");
        }
        let body = ErrorResponse {
            error: ErrorBody {
                code: self.code().to_owned(),
                message: self.to_string(),
            },
        };
        let mut response = (self.status(), Json(body)).into_response();
        response.extensions_mut().insert(ErrorCode(self.code()));
        let retry_after = match self {
            Self::Busy => Some(1),
            Self::TooManyRequests { retry_after_secs } => Some(retry_after_secs.max(1)),
            _ => None,
        };
        if let Some(seconds) = retry_after {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(seconds),
            );
        }
        response
    }
}

/// `Json<T>` whose rejections are [`ApiError`]s, so a malformed or oversized body gets the same
/// typed answer as every other error.
pub struct ApiJson<T>(pub T);

impl<S, T> axum::extract::FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: serde::de::DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(
        request: axum::extract::Request,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(request, state).await {
            Ok(Json(value)) => Ok(Self(value)),
            Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Err(ApiError::PayloadTooLarge)
            }
            Err(rejection) => Err(ApiError::BadRequest(rejection.body_text())),
        }
    }
}
