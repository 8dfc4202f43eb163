//! Usage alerts: each tenant's usage against its plan's limits. An alert row per tenant, metric
//! and threshold (80 % and 100 % by default, plus any the tenant has) is kept up to date: it
//! triggers when usage reaches its threshold and resolves when usage falls back below. Raising it
//! enqueues the `usage.alert` webhook once (the trigger of `…003000_webhook_events.sql` fires on
//! the change to `triggered`), and it notifies again only after it has resolved.
//!
//! Metrics: `users` (enabled staff), `properties` and `rooms` (not deleted), `bookings` (made this
//! month), `api_calls` (counted by `serve`, this month), `storage` (bytes of the tenant's rows,
//! against the plan's gigabytes).

use sqlx::PgPool;
use uuid::Uuid;

use crate::error::Result;

/// The thresholds every limited metric gets.
pub const DEFAULT_THRESHOLDS: [i32; 2] = [80, 100];

/// What a pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UsagePass {
    pub tenants: usize,
    pub triggered: usize,
    pub resolved: usize,
}

/// Each tenant's usage and its plan's limit, per metric (limit None: unlimited).
const USAGE: &str = "
    select t.id, m.metric, m.value, m.limit_value
      from public.tenants t
      left join public.plans p on p.id = t.plan_id
      cross join lateral (values
          ('users', (select count(*) from public.staff s where s.tenant_id = t.id and s.enabled),
           p.limit_users::bigint),
          ('properties', (select count(*) from public.properties x where x.tenant_id = t.id and x.deleted_at is null),
           p.limit_properties::bigint),
          ('rooms', (select count(*) from public.rooms x where x.tenant_id = t.id and x.deleted_at is null),
           p.limit_rooms::bigint),
          ('bookings', (select count(*) from public.reservations x
                         where x.tenant_id = t.id and x.created_at >= date_trunc('month', now())),
           p.limit_bookings_per_month::bigint),
          ('api_calls', (select coalesce(sum(a.calls), 0)::bigint from app.api_calls a
                          where a.tenant_id = t.id and a.month = date_trunc('month', now())::date),
           p.limit_api_calls_per_month),
          ('storage', (select coalesce(sum(pg_column_size(g.*)), 0)::bigint from public.guests g where g.tenant_id = t.id)
                    + (select coalesce(sum(pg_column_size(r.*)), 0)::bigint from public.reservations r where r.tenant_id = t.id)
                    + (select coalesce(sum(pg_column_size(c.*)), 0)::bigint from public.communication_logs c where c.tenant_id = t.id)
                    + (select coalesce(sum(pg_column_size(l.*)), 0)::bigint from public.loyalty_transactions l where l.tenant_id = t.id),
           p.limit_storage_gb::bigint * 1024 * 1024 * 1024)
      ) as m(metric, value, limit_value)
     order by t.id, m.metric";

/// Measures every tenant and brings its alerts up to date.
pub async fn check_all(pool: &PgPool) -> Result<UsagePass> {
    let usage: Vec<(Uuid, String, i64, Option<i64>)> =
        sqlx::query_as(USAGE).fetch_all(pool).await?;
    let mut pass = UsagePass::default();
    let mut last_tenant = None;
    for (tenant, metric, value, limit) in usage {
        if last_tenant != Some(tenant) {
            pass.tenants += 1;
            last_tenant = Some(tenant);
        }
        if limit.is_some() {
            for threshold in DEFAULT_THRESHOLDS {
                sqlx::query(
                    "insert into public.usage_alerts (tenant_id, metric, threshold_percent, current_value, limit_value)
                     values ($1, $2, $3, $4, $5)
                     on conflict (tenant_id, metric, threshold_percent) where legacy_id is null do nothing",
                )
                .bind(tenant)
                .bind(&metric)
                .bind(threshold)
                .bind(value)
                .bind(limit)
                .execute(pool)
                .await?;
            }
        }
        // Reached: value ≥ limit × threshold / 100 (an unlimited metric never is).
        let changed: Vec<(bool, bool)> = sqlx::query_as(
            "update public.usage_alerts a
                set current_value = $3, limit_value = $4,
                    triggered = reached,
                    triggered_at = case when reached and not a.triggered then now() else a.triggered_at end,
                    resolved_at = case when not reached and a.triggered then now()
                                       when reached then null else a.resolved_at end,
                    notified = reached,
                    notified_at = case when reached and not a.triggered then now() else a.notified_at end
               from (select id, triggered as was,
                            ($4::bigint is not null and $3::bigint * 100 >= $4::bigint * threshold_percent) as reached
                       from public.usage_alerts where tenant_id = $1 and metric = $2) r
              where a.tenant_id = $1 and a.id = r.id
                and (a.current_value, a.limit_value, a.triggered) is distinct from ($3, $4, r.reached)
             returning r.was, r.reached",
        )
        .bind(tenant)
        .bind(&metric)
        .bind(value)
        .bind(limit)
        .fetch_all(pool)
        .await?;
        for (was, reached) in changed {
            match (was, reached) {
                (false, true) => pass.triggered += 1,
                (true, false) => pass.resolved += 1,
                _ => {}
            }
        }
    }
    Ok(pass)
}
