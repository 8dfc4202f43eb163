//! Signing in and refreshing: `POST /v1/auth/login`, `POST /v1/auth/refresh`, and a colleague
//! signing in at a laptop already connected, `POST /v1/auth/colleague`.
//!
//! The password is checked here (argon2); the database only hands out the stored hash through
//! `app.login_lookup` and records the session through `app.open_session`. Sign-in goes through
//! the [`LoginGuard`](super::login_guard::LoginGuard): rate limits per account and per client
//! address, and a bound on concurrent hashes.
//!
//! A refresh rotates the refresh token (`app.rotate_refresh_token`) and is refused for a revoked
//! device, a disabled account or a tenant that is not active. The previous token is taken again
//! only within a short grace (the answer to the last refresh was lost); presented later it means
//! a copy of the device's tokens is in other hands, and the device is revoked (refresh-token
//! reuse detection, as the OAuth 2.0 Security BCP recommends).
//!
//! A tenant whose data is still in the legacy store (`kv-import` state `legacy`: not imported
//! yet, or rolled back) is refused at sign-in, refresh and a colleague's sign-in with
//! `tenant_not_migrated`.

use argon2::password_hash::{PasswordHash, PasswordVerifier};
use argon2::Argon2;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::caller::Caller;
use super::error::{ApiError, ApiJson};
use super::tokens::{new_refresh_token, refresh_token_hash, REFRESH_TTL_DAYS};
use super::AppState;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
    /// A name for this laptop, shown to owners in the device list.
    #[serde(default)]
    pub device_name: Option<String>,
    /// The password of one's own, when `password` is a temporary one an owner gave.
    #[serde(default)]
    pub new_password: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ColleagueRequest {
    pub email: String,
    pub password: String,
    /// The password of one's own, when `password` is a temporary one an owner gave.
    #[serde(default)]
    pub new_password: Option<String>,
}

/// A colleague of the laptop's tenant whose password the server checked.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Colleague {
    pub user_id: Uuid,
    pub email: String,
    pub staff_role: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct RefreshRequest {
    pub device_id: Uuid,
    pub refresh_token: String,
}

/// A session: the access token for requests and the refresh token for the next one.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Session {
    pub access_token: String,
    pub token_type: String,
    pub expires_in: i64,
    pub refresh_token: String,
    pub device_id: Uuid,
    pub tenant_id: Uuid,
    pub user_id: Uuid,
    pub staff_role: String,
}

fn refresh_ttl() -> sqlx::postgres::types::PgInterval {
    sqlx::postgres::types::PgInterval {
        months: 0,
        days: REFRESH_TTL_DAYS as i32,
        microseconds: 0,
    }
}

#[utoipa::path(
    post,
    path = "/v1/auth/login",
    tag = "auth",
    summary = "Signs a staff member in on a new device",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in: a new device and its tokens", body = Session),
        (status = 400, description = "`bad_request`", body = super::error::ErrorResponse),
        (status = 401, description = "`invalid_credentials`", body = super::error::ErrorResponse),
        (status = 403, description = "`password_change_required`, `tenant_inactive`, `tenant_not_migrated` (the tenant's data is still in the legacy store)", body = super::error::ErrorResponse),
        (status = 422, description = "`weak_password` (the new password)", body = super::error::ErrorResponse),
        (status = 429, description = "`too_many_requests`, with `Retry-After`", body = super::error::ErrorResponse),
        (status = 503, description = "`server_busy`, with `Retry-After`", body = super::error::ErrorResponse),
    )
)]
pub async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    ApiJson(request): ApiJson<LoginRequest>,
) -> Result<Json<Session>, ApiError> {
    state.login_guard.admit(Some(peer.ip()), &request.email)?;
    let found: Option<(Uuid, Uuid, String, bool, Option<String>)> = sqlx::query_as(
        "select tenant_id, user_id, role, enabled, password_hash from app.login_lookup($1)",
    )
    .bind(&request.email)
    .fetch_optional(&state.pool)
    .await?;
    // Verify against a dummy hash when the account is unknown, so timing does not tell which
    // emails exist.
    let (tenant_id, user_id, role, enabled, hash) = match found {
        Some((tenant, user, role, enabled, Some(hash))) => (tenant, user, role, enabled, hash),
        _ => (
            Uuid::nil(),
            Uuid::nil(),
            String::new(),
            false,
            DUMMY_HASH.to_owned(),
        ),
    };
    let verified = verify_password(&state, request.password, hash).await?;
    if !verified || !enabled {
        return Err(ApiError::InvalidCredentials);
    }
    refuse_unmigrated(&state, tenant_id).await?;
    settle_temporary_password(&state, user_id, request.new_password).await?;
    let refresh_token = new_refresh_token();
    let device_id: Option<Uuid> = sqlx::query_scalar("select app.open_session($1, $2, $3, $4)")
        .bind(user_id)
        .bind(request.device_name.as_deref().unwrap_or("laptop"))
        .bind(refresh_token_hash(&refresh_token))
        .bind(refresh_ttl())
        .fetch_one(&state.pool)
        .await?;
    let device_id = device_id.ok_or(ApiError::InvalidCredentials)?;
    tracing::info!(%tenant_id, %user_id, %device_id, "signed in");
    session(&state, tenant_id, user_id, role, device_id, refresh_token)
}

/// A tenant still in the legacy store (kv-import's state `legacy`) is not served to laptops.
/// Asked only after the password or token checked out, so it tells nobody else anything.
async fn refuse_unmigrated(state: &AppState, tenant_id: Uuid) -> Result<(), ApiError> {
    let not_migrated: bool = sqlx::query_scalar("select app.tenant_not_migrated($1)")
        .bind(tenant_id)
        .fetch_one(&state.pool)
        .await?;
    if not_migrated {
        tracing::info!(%tenant_id, "sign-in refused: the tenant is not migrated yet");
        return Err(ApiError::TenantNotMigrated);
    }
    Ok(())
}

#[utoipa::path(
    post,
    path = "/v1/auth/refresh",
    tag = "auth",
    summary = "Rotates a device's refresh token for new tokens",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "New tokens; the refresh token is rotated", body = Session),
        (status = 400, description = "`bad_request`", body = super::error::ErrorResponse),
        (status = 401, description = "`invalid_refresh_token`, `session_revoked`, `refresh_token_reused`", body = super::error::ErrorResponse),
        (status = 403, description = "`tenant_inactive`, `tenant_not_migrated` (the tenant's data is still in the legacy store)", body = super::error::ErrorResponse),
    )
)]
pub async fn refresh(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<RefreshRequest>,
) -> Result<Json<Session>, ApiError> {
    let new_token = new_refresh_token();
    let grace = sqlx::postgres::types::PgInterval {
        months: 0,
        days: 0,
        microseconds: i64::try_from(state.refresh_reuse_grace.as_micros()).unwrap_or(i64::MAX),
    };
    let (outcome, identity): (String, Option<(Uuid, Uuid, String)>) = sqlx::query_as::<
        _,
        (String, Option<Uuid>, Option<Uuid>, Option<String>),
    >(
        "select outcome, tenant_id, user_id, role from app.rotate_refresh_token($1, $2, $3, $4, $5)",
    )
    .bind(request.device_id)
    .bind(refresh_token_hash(&request.refresh_token))
    .bind(refresh_token_hash(&new_token))
    .bind(refresh_ttl())
    .bind(grace)
    .fetch_one(&state.pool)
    .await
    .map(|(outcome, tenant, user, role)| {
        let identity = match (tenant, user, role) {
            (Some(tenant), Some(user), Some(role)) => Some((tenant, user, role)),
            _ => None,
        };
        (outcome, identity)
    })?;
    let (tenant_id, user_id, role) = match (outcome.as_str(), identity) {
        ("rotated", Some(identity)) => identity,
        ("reused", Some((tenant_id, user_id, _))) => {
            tracing::warn!(%tenant_id, %user_id, device_id = %request.device_id,
                "a rotated refresh token was presented again: the device is revoked");
            return Err(ApiError::RefreshTokenReused);
        }
        ("tenant_inactive", _) => return Err(ApiError::TenantInactive),
        _ => return Err(ApiError::InvalidRefreshToken),
    };
    refuse_unmigrated(&state, tenant_id).await?;
    session(
        &state,
        tenant_id,
        user_id,
        role,
        request.device_id,
        new_token,
    )
}

/// A colleague signs in at a laptop that is already connected (a shift change): the laptop's own
/// token names the tenant, and row level security finds the colleague among that tenant's staff
/// only, so a password of another hotel's account is refused like a wrong one. No device is
/// registered: the laptop keeps its one device, its session and its invoice series; the desk
/// attributes its writes to whoever signed in. Same limits as a sign-in.
#[utoipa::path(
    post,
    path = "/v1/auth/colleague",
    tag = "auth",
    request_body = ColleagueRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A colleague of the laptop's tenant, password checked", body = Colleague),
        (status = 401, description = "`invalid_credentials`, `missing_token`, `invalid_token`, `session_revoked`", body = super::error::ErrorResponse),
        (status = 403, description = "`password_change_required`, `tenant_inactive`, `tenant_not_migrated` (the tenant's data is still in the legacy store)", body = super::error::ErrorResponse),
        (status = 429, description = "`too_many_requests`, with `Retry-After`", body = super::error::ErrorResponse),
    )
)]
pub async fn colleague(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    caller: Caller,
    ApiJson(request): ApiJson<ColleagueRequest>,
) -> Result<Json<Colleague>, ApiError> {
    state.login_guard.admit(Some(peer.ip()), &request.email)?;
    let mut tx = caller.begin(&state.pool).await?;
    let member: Option<(Uuid, String)> = sqlx::query_as(
        "select user_id, email from public.staff where lower(email) = lower(btrim($1))",
    )
    .bind(&request.email)
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    let found: Option<(Uuid, String, bool, Option<String>)> = match &member {
        Some((user_id, _)) => sqlx::query_as(
            "select user_id, role, enabled, password_hash from app.login_lookup($1) where user_id = $2",
        )
        .bind(&request.email)
        .bind(user_id)
        .fetch_optional(&state.pool)
        .await?,
        None => None,
    };
    let (user_id, role, enabled, hash) = match found {
        Some((user, role, enabled, Some(hash))) => (user, role, enabled, hash),
        _ => (Uuid::nil(), String::new(), false, DUMMY_HASH.to_owned()),
    };
    if !verify_password(&state, request.password, hash).await? || !enabled {
        return Err(ApiError::InvalidCredentials);
    }
    refuse_unmigrated(&state, caller.claims.app_metadata.tenant_id).await?;
    settle_temporary_password(&state, user_id, request.new_password).await?;
    let email = member.map(|(_, email)| email).unwrap_or_default();
    tracing::info!(tenant_id = %caller.claims.app_metadata.tenant_id, %user_id,
        device_id = %caller.claims.app_metadata.device_id, "a colleague signed in at a desk");
    Ok(Json(Colleague {
        user_id,
        email,
        staff_role: role,
    }))
}

/// The shortest password a staff member may choose (the same as `pms-server staff add`).
pub const MIN_PASSWORD_CHARS: usize = 10;

/// After a verified password: a temporary one past its time is wrong, and one within it opens
/// nothing until the staff member chooses their own (`new_password`), which replaces it here.
async fn settle_temporary_password(
    state: &AppState,
    user_id: Uuid,
    new_password: Option<String>,
) -> Result<(), ApiError> {
    let (temporary, expires_at): (bool, Option<chrono::DateTime<chrono::Utc>>) =
        sqlx::query_as("select temporary, expires_at from app.password_state($1)")
            .bind(user_id)
            .fetch_one(&state.pool)
            .await?;
    if !temporary {
        return Ok(());
    }
    if expires_at.is_none_or(|at| at <= chrono::Utc::now()) {
        return Err(ApiError::InvalidCredentials);
    }
    let Some(chosen) = new_password else {
        return Err(ApiError::PasswordChangeRequired);
    };
    if chosen.chars().count() < MIN_PASSWORD_CHARS {
        return Err(ApiError::WeakPassword {
            min: MIN_PASSWORD_CHARS,
        });
    }
    let hash = tokio::task::spawn_blocking(move || hash_password(&chosen))
        .await
        .map_err(|e| ApiError::Internal(e.into()))?
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("cannot hash the password: {e}")))?;
    sqlx::query("select app.set_own_password($1, $2)")
        .bind(user_id)
        .bind(hash)
        .execute(&state.pool)
        .await?;
    tracing::info!(%user_id, "a temporary password was replaced by the staff member's own");
    Ok(())
}

/// How long a temporary password an owner gives works.
pub const TEMPORARY_PASSWORD_HOURS: i64 = 72;

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TemporaryPassword {
    /// Shown once to the owner, who hands it to the colleague; stored only as a hash.
    pub temporary_password: String,
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

/// `POST /v1/staff/{user_id}/temporary-password`: an owner gives a colleague (a new one they just
/// added, or one who forgot theirs) a temporary password. The database decides whether the caller
/// may (an owner of that colleague's tenant, the colleague enabled).
#[utoipa::path(
    post,
    path = "/v1/staff/{user_id}/temporary-password",
    tag = "auth",
    params(("user_id" = Uuid, Path, description = "The colleague's user id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The temporary password, shown once", body = TemporaryPassword),
        (status = 401, description = "`missing_token`, `invalid_token`, `session_revoked`", body = super::error::ErrorResponse),
        (status = 403, description = "`owner_only`, `tenant_inactive`", body = super::error::ErrorResponse),
    )
)]
pub async fn temporary_password(
    State(state): State<AppState>,
    caller: Caller,
    axum::extract::Path(user_id): axum::extract::Path<Uuid>,
) -> Result<Json<TemporaryPassword>, ApiError> {
    let password = new_temporary_password();
    let hash = {
        let password = password.clone();
        tokio::task::spawn_blocking(move || hash_password(&password))
            .await
            .map_err(|e| ApiError::Internal(e.into()))?
            .map_err(|e| ApiError::Internal(anyhow::anyhow!("cannot hash the password: {e}")))?
    };
    let ttl = sqlx::postgres::types::PgInterval {
        months: 0,
        days: 0,
        microseconds: TEMPORARY_PASSWORD_HOURS * 3_600_000_000,
    };
    let mut tx = caller.begin(&state.pool).await?;
    let issued: bool = sqlx::query_scalar("select app.issue_temporary_password($1, $2, $3)")
        .bind(user_id)
        .bind(hash)
        .bind(ttl)
        .fetch_one(&mut *tx)
        .await?;
    tx.commit().await?;
    if !issued {
        return Err(ApiError::OwnerOnly);
    }
    tracing::info!(tenant_id = %caller.claims.app_metadata.tenant_id, %user_id,
        "a temporary password was given");
    Ok(Json(TemporaryPassword {
        temporary_password: password,
        expires_at: chrono::Utc::now() + chrono::Duration::hours(TEMPORARY_PASSWORD_HOURS),
    }))
}

/// Four groups of four letters and digits a person can read out (no 0/O, 1/l/I): about 80 bits.
fn new_temporary_password() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut rng = rand::rng();
    (0..4)
        .map(|_| {
            (0..4)
                .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("-")
}

/// Checks `password` against an argon2 `hash` under the guard's bound on concurrent hashes.
async fn verify_password(
    state: &AppState,
    password: String,
    hash: String,
) -> Result<bool, ApiError> {
    // At most a few hashes at once (19 MiB and a core each); the rest wait, then are told busy.
    let _permit = state.login_guard.hashing_permit().await?;
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash)
            .map(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .map_err(|e| ApiError::Internal(e.into()))
}

fn session(
    state: &AppState,
    tenant_id: Uuid,
    user_id: Uuid,
    staff_role: String,
    device_id: Uuid,
    refresh_token: String,
) -> Result<Json<Session>, ApiError> {
    let (access_token, claims) = state
        .keys
        .issue(tenant_id, user_id, &staff_role, device_id)?;
    Ok(Json(Session {
        access_token,
        token_type: "bearer".to_owned(),
        expires_in: claims.exp - claims.iat,
        refresh_token,
        device_id,
        tenant_id,
        user_id,
        staff_role,
    }))
}

/// An argon2id hash of a random password nobody knows, verified when the email is unknown.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$0ZfWdc3ZflwAI5/1Xt/0JbA+AeBbtK+9W8zoHx7xYeA";

/// Hashes a password for storage (argon2id, a random salt).
pub fn hash_password(password: &str) -> Result<String, argon2::password_hash::Error> {
    use argon2::password_hash::{rand_core::OsRng, PasswordHasher, SaltString};
    let salt = SaltString::generate(&mut OsRng);
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)?
        .to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_differ_per_salt() {
        let a = hash_password("correct horse").expect("hash");
        let b = hash_password("correct horse").expect("hash");
        assert_ne!(a, b);
        let parsed = PasswordHash::new(&a).expect("parse");
        assert!(Argon2::default()
            .verify_password(b"correct horse", &parsed)
            .is_ok());
        assert!(Argon2::default()
            .verify_password(b"wrong", &parsed)
            .is_err());
    }

    #[test]
    fn the_dummy_hash_parses() {
        assert!(PasswordHash::new(DUMMY_HASH).is_ok());
    }
}
