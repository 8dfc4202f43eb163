//! The price of Row Level Security: the server's snapshot read of 100,000 guests as
//! `authenticated` (policies applied, as `serve` reads) against the same statement as
//! `service_role` (which bypasses RLS), alternating, median of each.

use std::time::Instant;

use anyhow::{ensure, Result};
use pms_tests::{begin_as, begin_as_role, staff_claims};
use uuid::Uuid;

use crate::fixture::World;
use crate::report::{Figure, Percentiles, Run, Target};

const SECTION: &str = "Row Level Security";
/// At most this many rows (a smaller bench tenant reads all its guests).
const MOST_ROWS: i64 = 100_000;
const ROUNDS: usize = 7;

pub async fn measure(world: &World, run: &mut Run) -> Result<()> {
    // The owner's connections may switch to either role (the server's login role may only
    // become authenticated or anon).
    let pool = &world.db.pool;
    let guests: i64 = sqlx::query_scalar("select count(*) from public.guests where tenant_id = $1")
        .bind(world.tenant)
        .fetch_one(pool)
        .await?;
    let rows_wanted = guests.min(MOST_ROWS);
    let claims = staff_claims(&world.db.pool, world.tenant, "front_desk").await;
    let columns = pms_sync_protocol::tables::SYNCED_TABLES
        .iter()
        .find(|t| t.name == "guests")
        .map(|t| t.columns.join(", "))
        .unwrap_or_else(|| "*".to_owned());
    // The snapshot statement of `serve` (serve/snapshot.rs), with the tenant spelled out so that
    // service_role, which sees every tenant, reads the same rows.
    let statement = format!(
        "select to_jsonb(r) from (select {columns} from public.guests
          where tenant_id = $1 and id > $2 order by id limit $3) r"
    );
    let mut with_rls = Vec::new();
    let mut without = Vec::new();
    for _ in 0..ROUNDS {
        let started = Instant::now();
        let mut tx = begin_as(pool, claims).await;
        let rows = read(&mut tx, &statement, world.tenant, rows_wanted).await?;
        tx.commit().await?;
        with_rls.push(started.elapsed().as_secs_f64() * 1000.0);
        ensure!(rows == rows_wanted, "authenticated read {rows} rows");

        let started = Instant::now();
        let mut tx = begin_as_role(pool, "service_role").await;
        let rows = read(&mut tx, &statement, world.tenant, rows_wanted).await?;
        tx.commit().await?;
        without.push(started.elapsed().as_secs_f64() * 1000.0);
        ensure!(rows == rows_wanted, "service_role read {rows} rows");
    }
    let rls = Percentiles::of(&mut with_rls).p50;
    let plain = Percentiles::of(&mut without).p50;
    let how = format!("median of {ROUNDS} alternating runs");
    run.add(Figure {
        section: SECTION.to_owned(),
        name: format!("read of {rows_wanted} guests as authenticated (RLS)"),
        value: rls,
        unit: "ms".to_owned(),
        target: None,
        how: how.clone(),
    });
    run.add(Figure {
        section: SECTION.to_owned(),
        name: "the same read as service_role (no RLS)".to_owned(),
        value: plain,
        unit: "ms".to_owned(),
        target: None,
        how: how.clone(),
    });
    run.add(Figure {
        section: SECTION.to_owned(),
        name: "overhead of RLS".to_owned(),
        value: (rls - plain) / plain * 100.0,
        unit: "%".to_owned(),
        target: Target::below(15.0),
        how,
    });
    Ok(())
}

async fn read(
    tx: &mut sqlx::Transaction<'static, sqlx::Postgres>,
    statement: &str,
    tenant: Uuid,
    limit: i64,
) -> Result<i64> {
    let rows: Vec<serde_json::Value> = sqlx::query_scalar(statement)
        .bind(tenant)
        .bind(Uuid::nil())
        .bind(limit)
        .fetch_all(&mut **tx)
        .await?;
    Ok(rows.len() as i64)
}
