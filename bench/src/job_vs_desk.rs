//! A background job writing a large share of one tenant, and that tenant's desk meanwhile: the
//! retention job anonymizes the big tenant's past stays in batches (each batch holds the tenant's
//! feed head for its transaction), while a laptop pushes one guest edit at a time, as a clerk
//! would. Each push of one change is timed; the figure is what the clerk waits while the job runs.
//!
//! It changes the benchmark tenant's stays, so it runs last.

use std::time::Instant;

use anyhow::{ensure, Context, Result};
use pms_server::jobs::retention;
use pms_sync_client::engine::push_pending;
use pms_sync_client::{mirror, outbox};
use pms_sync_protocol::wire::PushOp;
use pms_tests::laptops::{object, Laptop};
use serde_json::json;
use uuid::Uuid;

use crate::fixture::World;
use crate::report::{Figure, Percentiles, Run, Target};

const SECTION: &str = "A job and the desk";
const WARM_UP: usize = 20;
/// Pushes timed before the job starts, for the same figure with nothing else writing.
const IDLE_ROUNDS: usize = 200;
/// Stays older than this are anonymized (the seeded stays reach back about two years).
const RETENTION_DAYS: i32 = 30;

pub async fn measure(world: &World, run: &mut Run) -> Result<()> {
    let email = world.staff(world.tenant, "front_desk", 0).await?;
    let mut laptop = world
        .laptop_at_head(&email, mirror::open_in_memory()?)
        .await?;
    let guest = Uuid::now_v7();
    outbox::write(
        &mut laptop.conn,
        "guests",
        PushOp::Insert,
        guest,
        object(json!({"first_name": "Desk", "last_name": "While the job runs"})),
    )?;
    push_one(&mut laptop).await?;

    let mut round = 0usize;
    let mut idle = Vec::with_capacity(IDLE_ROUNDS);
    while idle.len() < IDLE_ROUNDS {
        let took = edit_and_push(&mut laptop, guest, round).await?;
        if round >= WARM_UP {
            idle.push(took);
        }
        round += 1;
    }

    only_this_policy(world).await?;
    let pool = world.db.pool.clone();
    let started = Instant::now();
    let job = tokio::spawn(async move { retention::run_due(&pool, chrono::Utc::now()).await });
    let mut during = Vec::new();
    while !job.is_finished() {
        during.push(edit_and_push(&mut laptop, guest, round).await?);
        round += 1;
    }
    let job_seconds = started.elapsed().as_secs_f64();
    let runs = job.await.context("the retention task")??;
    let rows: u64 = runs.iter().map(|r| r.rows).sum();
    ensure!(rows > 0, "the retention job changed nothing: {runs:?}");
    ensure!(!during.is_empty(), "no push ran while the job did");

    let idle = Percentiles::of(&mut idle);
    let p = Percentiles::of(&mut during);
    run.add(Figure {
        section: SECTION.to_owned(),
        name: "push of one change while the job writes the tenant, p99".to_owned(),
        value: p.p99,
        unit: "ms".to_owned(),
        target: Target::below(100.0),
        how: format!(
            "retention anonymized {rows} stays in batches of at most {} ms in {job_seconds:.1} s; {} pushes \
             of one guest edit meanwhile, p50 {:.1} ms, max {:.1} ms; with no job: p50 {:.1} ms, \
             p99 {:.1} ms",
            retention::BATCH_TIME.as_millis(),
            during.len(),
            p.p50,
            p.max,
            idle.p50,
            idle.p99
        ),
    });
    Ok(())
}

/// The big tenant's `reservations` anonymization is the only policy due: the seeded platform
/// policies would otherwise run over every tenant and table.
async fn only_this_policy(world: &World) -> Result<()> {
    sqlx::query("update public.data_retention_policies set enabled = false")
        .execute(&world.db.pool)
        .await?;
    sqlx::query(
        "insert into public.data_retention_policies
                (tenant_id, policy_type, retention_days, action, schedule)
         values ($1, 'reservations', $2, 'anonymize', 'daily')
         on conflict (tenant_id, policy_type) where tenant_id is not null
         do update set retention_days = excluded.retention_days, action = 'anonymize',
                       enabled = true, next_run_at = null",
    )
    .bind(world.tenant)
    .bind(RETENTION_DAYS)
    .execute(&world.db.pool)
    .await?;
    Ok(())
}

/// One edit of the guest, pushed; how long the push took, in ms.
async fn edit_and_push(laptop: &mut Laptop, guest: Uuid, round: usize) -> Result<f64> {
    outbox::write(
        &mut laptop.conn,
        "guests",
        PushOp::Update,
        guest,
        object(json!({"phone": format!("+1 555 {round:07}")})),
    )?;
    let started = Instant::now();
    push_one(laptop).await?;
    Ok(started.elapsed().as_secs_f64() * 1000.0)
}

async fn push_one(laptop: &mut Laptop) -> Result<()> {
    let report = push_pending(&mut laptop.conn, &laptop.remote).await?;
    ensure!(
        report.pushed == 1 && report.rejected == 0,
        "push: {report:?}"
    );
    Ok(())
}
