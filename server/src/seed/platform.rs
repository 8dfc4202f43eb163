//! The platform's own rows (plans, global feature flags, default retention policies): created once,
//! left alone when they already exist (a real deployment may have tuned them).

use sqlx::PgPool;
use uuid::Uuid;

use crate::error::Result;

/// A platform plan as the generator needs it.
#[derive(Debug, Clone)]
pub struct Plan {
    pub id: Uuid,
    pub name: String,
    pub price_cents: i64,
    pub limit_rooms: Option<i32>,
    pub limit_bookings_per_month: Option<i32>,
}

/// (name, display name, price, users, properties, rooms, bookings/month, api calls, storage GB, domains, features)
type PlanRow = (
    &'static str,
    &'static str,
    i64,
    i32,
    i32,
    i32,
    i32,
    i64,
    i32,
    i32,
    &'static [&'static str],
);

const PLANS: &[PlanRow] = &[
    (
        "Trial",
        "Trial",
        0,
        5,
        1,
        40,
        500,
        100_000,
        5,
        0,
        &["reservations", "crm"],
    ),
    (
        "Basic",
        "Basic",
        4_900,
        10,
        2,
        150,
        2_000,
        250_000,
        10,
        1,
        &["reservations", "crm", "loyalty"],
    ),
    (
        "Pro",
        "Pro",
        14_900,
        25,
        5,
        600,
        10_000,
        1_000_000,
        50,
        2,
        &["reservations", "crm", "loyalty", "campaigns"],
    ),
    (
        "Enterprise",
        "Enterprise",
        49_900,
        200,
        50,
        5_000,
        100_000,
        10_000_000,
        500,
        10,
        &[
            "reservations",
            "crm",
            "loyalty",
            "campaigns",
            "webhooks",
            "api",
        ],
    ),
];

/// (key, name, description, scope, status, plans, rollout %)
type FlagRow = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static [&'static str],
    i32,
);

const FLAGS: &[FlagRow] = &[
    (
        "advanced_analytics",
        "Advanced analytics",
        "Occupancy and revenue dashboards",
        "plan",
        "enabled",
        &["Pro", "Enterprise"],
        100,
    ),
    (
        "offline_mode",
        "Offline mode",
        "Desktop app works without the server",
        "global",
        "beta",
        &[],
        25,
    ),
    (
        "tape_chart",
        "Tape chart",
        "Room-by-date grid on the reservations screen",
        "global",
        "enabled",
        &[],
        100,
    ),
    (
        "sms_campaigns",
        "SMS campaigns",
        "Send campaigns by SMS",
        "plan",
        "disabled",
        &["Enterprise"],
        0,
    ),
];

/// (policy type, days, action)
const RETENTION: &[(&str, i32, &str)] = &[
    ("communication_logs", 1095, "delete"),
    ("campaign_recipients", 730, "delete"),
    ("webhook_deliveries", 90, "delete"),
    ("guests", 2555, "anonymize"),
];

/// When the platform's rows are said to be born (2024-01-01), so they are the same in every
/// database seeded from scratch.
fn platform_epoch() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(1_704_067_200, 0).unwrap_or_default()
}

/// A stable id for a platform row, so every database seeded from scratch names its plans alike:
/// a UUIDv7 stamped 2024-01-01 whose random part is taken from the row's kind and name.
fn platform_id(kind: &str, name: &str) -> Uuid {
    let mut bytes = [0u8; 10];
    for (i, b) in kind.bytes().chain([b':']).chain(name.bytes()).enumerate() {
        bytes[i % 10] = bytes[i % 10].wrapping_mul(31).wrapping_add(b);
    }
    uuid::Builder::from_unix_timestamp_millis(1_704_067_200_000, &bytes).into_uuid()
}

pub async fn ensure_platform_rows(pool: &PgPool) -> Result<Vec<Plan>> {
    let mut tx = pool.begin().await?;
    for (
        name,
        display,
        price,
        users,
        properties,
        rooms,
        bookings,
        api_calls,
        storage,
        domains,
        features,
    ) in PLANS
    {
        sqlx::query(
            "insert into public.plans (created_at, updated_at, id, name, display_name, description, price_cents, billing_interval,
                 limit_users, limit_properties, limit_rooms, limit_bookings_per_month,
                 limit_api_calls_per_month, limit_storage_gb, limit_custom_domains, features)
             values ($14, $14, $13, $1, $2, $3, $4, 'monthly', $5, $6, $7, $8, $9, $10, $11, $12)
             on conflict (name) where tenant_id is null do nothing",
        )
        .bind(name)
        .bind(format!("{display} plan"))
        .bind(format!("{display} tier"))
        .bind(price)
        .bind(users)
        .bind(properties)
        .bind(rooms)
        .bind(bookings)
        .bind(api_calls)
        .bind(storage)
        .bind(domains)
        .bind(features.iter().map(|f| f.to_string()).collect::<Vec<_>>())
        .bind(platform_id("plan", name))
        .bind(platform_epoch())
        .execute(&mut *tx)
        .await?;
    }
    for (key, name, description, scope, status, plans, rollout) in FLAGS {
        sqlx::query(
            "insert into public.feature_flags (created_at, updated_at, id, key, name, description, scope, status, enabled_plans, rollout_percentage)
             values ($9, $9, $8, $1, $2, $3, $4, $5, $6, $7)
             on conflict (key) where tenant_id is null do nothing",
        )
        .bind(key)
        .bind(name)
        .bind(description)
        .bind(scope)
        .bind(status)
        .bind(plans.iter().map(|p| p.to_string()).collect::<Vec<_>>())
        .bind(rollout)
        .bind(platform_id("flag", key))
        .bind(platform_epoch())
        .execute(&mut *tx)
        .await?;
    }
    for (policy_type, days, action) in RETENTION {
        sqlx::query(
            "insert into public.data_retention_policies (created_at, updated_at, id, policy_type, retention_days, action, schedule)
             values ($5, $5, $4, $1, $2, $3, 'daily')
             on conflict (policy_type) where tenant_id is null do nothing",
        )
        .bind(policy_type)
        .bind(days)
        .bind(action)
        .bind(platform_id("retention", policy_type))
        .bind(platform_epoch())
        .execute(&mut *tx)
        .await?;
    }
    let plans = sqlx::query_as::<_, (Uuid, String, i64, Option<i32>, Option<i32>)>(
        "select id, name, price_cents, limit_rooms, limit_bookings_per_month
           from public.plans where tenant_id is null order by price_cents, name",
    )
    .fetch_all(&mut *tx)
    .await?
    .into_iter()
    .map(
        |(id, name, price_cents, limit_rooms, limit_bookings_per_month)| Plan {
            id,
            name,
            price_cents,
            limit_rooms,
            limit_bookings_per_month,
        },
    )
    .collect();
    tx.commit().await?;
    Ok(plans)
}
