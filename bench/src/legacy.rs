//! Guest search the legacy way against the normalized way, on the same guests: the old data
//! service read every `guest:<tenant>:` value of the key-value store by key prefix and filtered
//! them in code; the new schema asks `app.search_guests` (trigram index) as the sync server's
//! callers do, under RLS.

use std::time::Instant;

use anyhow::{ensure, Result};
use pms_tests::{begin_as, staff_claims};
use serde_json::Value;

use crate::fixture::World;
use crate::report::{Figure, Percentiles, Run};

const SECTION: &str = "Guest search: legacy key-value store against the normalized table";
const LIMIT: usize = 20;

pub async fn measure(world: &World, run: &mut Run) -> Result<()> {
    let pool = &world.db.pool;
    // The store as the old admin panel kept it: one JSON value per guest, camelCase.
    sqlx::query("create table if not exists public.kv_store_0bdba248 (key text primary key, value jsonb not null)")
        .execute(pool)
        .await?;
    let stored = sqlx::query(
        "insert into public.kv_store_0bdba248 (key, value)
         select 'guest:' || tenant_id || ':' || id,
                jsonb_build_object('id', id, 'firstName', first_name, 'lastName', last_name,
                    'fullName', full_name, 'email', email, 'phone', phone, 'segment', segment,
                    'vipStatus', vip_status, 'totalBookings', total_bookings, 'notes', notes,
                    'tags', to_jsonb(tags), 'createdAt', created_at)
           from public.guests where tenant_id = $1
         on conflict (key) do nothing",
    )
    .bind(world.tenant)
    .execute(pool)
    .await?
    .rows_affected();
    sqlx::query("analyze public.kv_store_0bdba248")
        .execute(pool)
        .await?;

    let terms: Vec<String> = sqlx::query_scalar(
        "select term from (
            select lower(left(last_name, 5)) as term, row_number() over (order by id) as n
              from public.guests where tenant_id = $1 and length(last_name) >= 5) t
          where n % greatest($2, 1) = 0 limit 20",
    )
    .bind(world.tenant)
    .bind(stored as i64 / 20)
    .fetch_all(pool)
    .await?;
    ensure!(!terms.is_empty(), "no guests to search for");

    let claims = staff_claims(pool, world.tenant, "front_desk").await;
    let prefix = format!("guest:{}:%", world.tenant);
    let mut legacy = Vec::new();
    let mut normalized = Vec::new();
    for term in &terms {
        let started = Instant::now();
        let values: Vec<Value> =
            sqlx::query_scalar("select value from public.kv_store_0bdba248 where key like $1")
                .bind(&prefix)
                .fetch_all(pool)
                .await?;
        let found = values
            .iter()
            .filter(|guest| legacy_match(guest, term))
            .take(LIMIT)
            .count();
        legacy.push(started.elapsed().as_secs_f64() * 1000.0);

        let started = Instant::now();
        let mut tx = begin_as(pool, claims).await;
        let hits: Vec<uuid::Uuid> = sqlx::query_scalar("select id from app.search_guests($1, $2)")
            .bind(term)
            .bind(LIMIT as i32)
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        normalized.push(started.elapsed().as_secs_f64() * 1000.0);
        ensure!(
            !hits.is_empty() && found > 0,
            "{term:?}: {} hits in the table, {found} in the store",
            hits.len()
        );
    }
    let legacy = Percentiles::of(&mut legacy);
    let normalized = Percentiles::of(&mut normalized);
    let how = format!(
        "{} terms (five letters of a surname), {stored} guests",
        terms.len()
    );
    run.add(Figure {
        section: SECTION.to_owned(),
        name: "legacy: every value by key prefix, filtered in code, p50".to_owned(),
        value: legacy.p50,
        unit: "ms".to_owned(),
        target: None,
        how: how.clone(),
    });
    run.add(Figure {
        section: SECTION.to_owned(),
        name: "normalized: app.search_guests (trigram index, RLS), p50".to_owned(),
        value: normalized.p50,
        unit: "ms".to_owned(),
        target: None,
        how,
    });
    run.add(Figure {
        section: SECTION.to_owned(),
        name: "normalized is faster by".to_owned(),
        value: legacy.p50 / normalized.p50,
        unit: "x".to_owned(),
        target: None,
        how: "ratio of the medians".to_owned(),
    });
    Ok(())
}

/// What the old service compared: the name, e-mail and phone, lower-cased, containing the term.
fn legacy_match(guest: &Value, term: &str) -> bool {
    ["fullName", "email", "phone"].iter().any(|field| {
        guest[field]
            .as_str()
            .is_some_and(|text| text.to_lowercase().contains(term))
    })
}
