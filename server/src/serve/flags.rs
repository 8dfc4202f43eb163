//! `GET /v1/flags`: the caller's tenant's feature flags, evaluated by the one rule set of
//! `pms_sync_protocol::flags` (the desktop app evaluates its mirror's rows the same way).
//! The rows are read under RLS: the platform's flags and the tenant's own overrides.

use axum::extract::State;
use axum::Json;
use pms_sync_protocol::flags::{evaluate_all, Flag};
use pms_sync_protocol::wire::FlagsResponse;
use uuid::Uuid;

use super::caller::Caller;
use super::error::ApiError;
use super::AppState;

/// key, tenant, scope, status, plans, rollout, this tenant listed in, listed out.
type FlagRow = (
    String,
    Option<Uuid>,
    String,
    String,
    Vec<String>,
    i32,
    bool,
    bool,
);

/// The caller's tenant's feature flags, evaluated.
#[utoipa::path(
    get,
    path = "/v1/flags",
    tag = "sync",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The flags, by key", body = FlagsResponse),
        (status = 401, description = "`missing_token`, `invalid_token`, `session_revoked`", body = super::error::ErrorResponse),
    )
)]
pub async fn flags(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<FlagsResponse>, ApiError> {
    let tenant = caller.claims.app_metadata.tenant_id;
    let mut tx = caller.begin(&state.pool).await?;
    // The lists of tenants a flag names are not readable by staff; this tenant's membership in
    // them is asked through a narrow function instead.
    let rows: Vec<FlagRow> = sqlx::query_as(
        "select f.key, f.tenant_id, f.scope, f.status, f.enabled_plans, f.rollout_percentage,
                m.listed_in, m.listed_out
           from public.feature_flags f, app.flag_membership(f.id) m
          order by f.key",
    )
    .fetch_all(&mut *tx)
    .await?;
    let plan: Option<String> = sqlx::query_scalar(
        "select p.name from public.tenants t join public.plans p on p.id = t.plan_id where t.id = $1",
    )
    .bind(tenant)
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    let flags: Vec<Flag> = rows
        .into_iter()
        .map(
            |(key, tenant_id, scope, status, enabled_plans, rollout, listed_in, listed_out)| Flag {
                key,
                tenant_id,
                scope,
                status,
                enabled_plans,
                enabled_tenants: if listed_in { vec![tenant] } else { Vec::new() },
                disabled_tenants: if listed_out { vec![tenant] } else { Vec::new() },
                rollout_percentage: rollout,
            },
        )
        .collect();
    let flags = evaluate_all(&flags, tenant, plan.as_deref())
        .into_iter()
        .collect();
    Ok(Json(FlagsResponse { plan, flags }))
}
