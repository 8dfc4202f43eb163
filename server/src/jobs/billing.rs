//! Billing: a subscription whose period has ended is invoiced for that period and moves on to the
//! next (a trial becomes active; one set to cancel at period end is cancelled instead); a
//! subscription with an invoice unpaid past its due date becomes `past_due`, and returns to
//! `active` once nothing is overdue. Each subscription is claimed with `FOR UPDATE SKIP LOCKED`,
//! and its invoice and new period are written in one transaction, so a period is invoiced once.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use crate::error::Result;

/// Days between an invoice and its due date.
pub const PAYMENT_TERMS_DAYS: i32 = 14;

/// What a pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BillingPass {
    pub invoiced: usize,
    pub cancelled: usize,
    pub past_due: usize,
    pub recovered: usize,
}

/// One pass as of `now`, which decides what is due (the worker passes the wall clock; tests pin
/// it); what a pass does is still stamped with the database's time.
pub async fn run(pool: &PgPool, now: DateTime<Utc>) -> Result<BillingPass> {
    let mut pass = BillingPass::default();
    loop {
        let mut tx = pool.begin().await?;
        let due: Option<(uuid::Uuid, uuid::Uuid, bool)> = sqlx::query_as(
            "select tenant_id, id, cancel_at_period_end from public.subscriptions
              where status in ('active', 'past_due', 'trialing') and current_period_end <= $1
              order by current_period_end
              limit 1
                for update skip locked",
        )
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((tenant, subscription, cancelling)) = due else {
            break;
        };
        if cancelling {
            sqlx::query(
                "update public.subscriptions set status = 'cancelled', cancelled_at = now()
                  where tenant_id = $1 and id = $2",
            )
            .bind(tenant)
            .bind(subscription)
            .execute(&mut *tx)
            .await?;
            pass.cancelled += 1;
        } else {
            sqlx::query(
                "insert into public.invoices (tenant_id, subscription_id, amount_cents, currency, status,
                                              period_start, period_end, due_date, line_items)
                 select s.tenant_id, s.id, p.price_cents, p.currency, 'pending',
                        s.current_period_start, s.current_period_end,
                        (s.current_period_end + make_interval(days => $3))::date,
                        jsonb_build_array(jsonb_build_object('description', p.display_name || ' plan',
                                                             'quantity', 1, 'amount_cents', p.price_cents))
                   from public.subscriptions s join public.plans p on p.id = s.plan_id
                  where s.tenant_id = $1 and s.id = $2",
            )
            .bind(tenant)
            .bind(subscription)
            .bind(PAYMENT_TERMS_DAYS)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "update public.subscriptions s
                    set current_period_start = s.current_period_end,
                        current_period_end = s.current_period_end
                            + case p.billing_interval when 'yearly' then interval '1 year' else interval '1 month' end,
                        status = case s.status when 'trialing' then 'active' else s.status end
                   from public.plans p
                  where p.id = s.plan_id and s.tenant_id = $1 and s.id = $2",
            )
            .bind(tenant)
            .bind(subscription)
            .execute(&mut *tx)
            .await?;
            pass.invoiced += 1;
        }
        tx.commit().await?;
    }
    pass.past_due = sqlx::query(
        "update public.subscriptions s set status = 'past_due'
          where s.status = 'active'
            and exists (select 1 from public.invoices i
                         where i.tenant_id = s.tenant_id and i.subscription_id = s.id
                           and i.status in ('pending', 'failed') and i.due_date < $1::date)",
    )
    .bind(now)
    .execute(pool)
    .await?
    .rows_affected() as usize;
    pass.recovered = sqlx::query(
        "update public.subscriptions s set status = 'active'
          where s.status = 'past_due'
            and not exists (select 1 from public.invoices i
                             where i.tenant_id = s.tenant_id and i.subscription_id = s.id
                               and i.status in ('pending', 'failed') and i.due_date < $1::date)",
    )
    .bind(now)
    .execute(pool)
    .await?
    .rows_affected() as usize;
    Ok(pass)
}
