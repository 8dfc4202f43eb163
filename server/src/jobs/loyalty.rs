//! Loyalty: earned points past their expiry become `expire` entries, and birthday bonuses are
//! granted once a year. (Tiers follow balances in the ledger itself: see
//! `…003100_derived_values.sql`.)
//!
//! - **Expiry**: an `earn` or `bonus` entry whose `expires_at` has passed gets one `expire` entry
//!   (`reference_type = 'expiry'`, `reference_id` = the earning entry), of its points or of the
//!   balance if that is smaller (points already spent do not expire twice, and a balance never
//!   goes below zero). An entry whose member has nothing left is marked with nothing.
//! - **Birthdays**: on the guest's birthday (28 February for 29 February outside leap years) the
//!   program's `birthday_bonus_points`, once per member and year (`reference_type = 'birthday'`,
//!   `reference_id` = the year).
//!
//! Entries go through the ledger one by one, so each is applied against the balance left by the
//! one before; a member's entries are serialized by the ledger's row lock.

use chrono::{DateTime, Datelike, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use crate::error::Result;

/// What a pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoyaltyPass {
    pub expired_entries: usize,
    pub birthday_bonuses: usize,
}

pub async fn run(pool: &PgPool, now: DateTime<Utc>) -> Result<LoyaltyPass> {
    let mut pass = LoyaltyPass::default();
    let due: Vec<(Uuid, Uuid)> = sqlx::query_as(
        "select e.tenant_id, e.id from public.loyalty_transactions e
          where e.expires_at <= $1 and e.type in ('earn', 'bonus')
            and not exists (select 1 from public.loyalty_transactions x
                             where x.tenant_id = e.tenant_id and x.reference_type = 'expiry'
                               and x.reference_id = e.id::text)
          order by e.expires_at",
    )
    .bind(now)
    .fetch_all(pool)
    .await?;
    for (tenant, entry) in due {
        let mut tx = pool.begin().await?;
        super::lock_tenant_feed(&mut tx, tenant).await?;
        pass.expired_entries += sqlx::query(
            "insert into public.loyalty_transactions (tenant_id, member_id, program_id, guest_id, type, points,
                                                      description, reference_type, reference_id)
             select e.tenant_id, e.member_id, e.program_id, e.guest_id, 'expire', -least(e.points, m.points_balance),
                    'points earned ' || to_char(e.created_at, 'YYYY-MM-DD') || ' expired', 'expiry', e.id::text
               from public.loyalty_transactions e
               join public.loyalty_members m on m.tenant_id = e.tenant_id and m.id = e.member_id
              where e.tenant_id = $1 and e.id = $2 and m.points_balance > 0
                and not exists (select 1 from public.loyalty_transactions x
                                 where x.tenant_id = e.tenant_id and x.reference_type = 'expiry'
                                   and x.reference_id = e.id::text)",
        )
        .bind(tenant)
        .bind(entry)
        .execute(&mut *tx)
        .await?
        .rows_affected() as usize;
        tx.commit().await?;
    }

    let today = now.date_naive();
    let leap = chrono::NaiveDate::from_ymd_opt(today.year(), 2, 29).is_some();
    // Tenant by tenant, each under its feed head taken first (see `lock_tenant_feed`).
    let tenants: Vec<Uuid> = sqlx::query_scalar(
        "select distinct tenant_id from public.loyalty_programs
          where enabled and birthday_bonus_points > 0 order by tenant_id",
    )
    .fetch_all(pool)
    .await?;
    for tenant in tenants {
        let mut tx = pool.begin().await?;
        super::lock_tenant_feed(&mut tx, tenant).await?;
        pass.birthday_bonuses += birthday_bonuses(&mut tx, tenant, today, leap).await?;
        tx.commit().await?;
    }
    Ok(pass)
}

/// Grants today's birthday bonuses of one tenant; how many.
async fn birthday_bonuses(
    tx: &mut sqlx::PgConnection,
    tenant: Uuid,
    today: chrono::NaiveDate,
    leap: bool,
) -> Result<usize> {
    Ok(sqlx::query(
        "insert into public.loyalty_transactions (tenant_id, member_id, program_id, guest_id, type, points,
                                                  description, reference_type, reference_id)
         select m.tenant_id, m.id, m.program_id, m.guest_id, 'bonus', p.birthday_bonus_points,
                'birthday bonus', 'birthday', $3::text
           from public.loyalty_members m
           join public.loyalty_programs p on p.tenant_id = m.tenant_id and p.id = m.program_id
           join public.guests g on g.tenant_id = m.tenant_id and g.id = m.guest_id
          where m.tenant_id = $5
            and p.enabled and p.birthday_bonus_points > 0 and m.status = 'active' and m.deleted_at is null
            and g.anonymized_at is null and g.date_of_birth is not null
            and ((extract(month from g.date_of_birth) = $1 and extract(day from g.date_of_birth) = $2)
                 -- born on 29 February: 28 February outside leap years
                 or (not $4 and $1 = 2 and $2 = 28
                     and extract(month from g.date_of_birth) = 2 and extract(day from g.date_of_birth) = 29))
            and not exists (select 1 from public.loyalty_transactions x
                             where x.tenant_id = m.tenant_id and x.member_id = m.id
                               and x.reference_type = 'birthday' and x.reference_id = $3::text)",
    )
    .bind(i32::try_from(today.month()).unwrap_or(1))
    .bind(i32::try_from(today.day()).unwrap_or(1))
    .bind(today.year().to_string())
    .bind(leap)
    .bind(tenant)
    .execute(&mut *tx)
    .await?
    .rows_affected() as usize)
}
