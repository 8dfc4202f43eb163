//! Push throughput: changes a laptop's outbox sends and the server applies per second, for one
//! tenant, then for 50 tenants pushing at once (one laptop each, all on one client thread, so the
//! server and Postgres are what is measured).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{ensure, Result};
use pms_sync_client::engine::{push_pending, SyncReport};
use pms_sync_client::{mirror, outbox};
use pms_sync_protocol::wire::PushOp;
use pms_tests::laptops::{object, Laptop};
use serde_json::json;
use uuid::Uuid;

use crate::fixture::World;
use crate::latency;
use crate::report::{Figure, Run, Target};

const SECTION: &str = "Push throughput";
const CHANGES_ONE_TENANT: usize = 10_000;
const CHANGES_PER_TENANT: usize = 1_000;

pub async fn measure(world: &World, run: &mut Run) -> Result<()> {
    let email = world.staff(world.tenant, "front_desk", 1).await?;
    let mut laptop = world
        .laptop_at_head(&email, mirror::open_in_memory()?)
        .await?;
    queue_changes(&mut laptop, CHANGES_ONE_TENANT)?;
    let started = Instant::now();
    let report = push_pending(&mut laptop.conn, &laptop.remote).await?;
    let seconds = started.elapsed().as_secs_f64();
    ensure!(
        report.pushed > 0 && report.rejected == 0,
        "push: {report:?}"
    );
    run.add(Figure {
        section: SECTION.to_owned(),
        name: "one tenant, one laptop".to_owned(),
        value: report.pushed as f64 / seconds,
        unit: "changes/s".to_owned(),
        target: Target::at_least(3_000.0),
        how: format!(
            "{} changes (new guests and edits), batches of 500, in {seconds:.2} s",
            report.pushed
        ),
    });

    if world.others.is_empty() {
        return Ok(());
    }
    let mut tenants = vec![world.tenant];
    tenants.extend(&world.others);
    let mut laptops = Vec::with_capacity(tenants.len());
    for tenant in &tenants {
        let email = world.staff(*tenant, "front_desk", 0).await?;
        let mut laptop = world
            .laptop_at_head(&email, mirror::open_in_memory()?)
            .await?;
        queue_changes(&mut laptop, CHANGES_PER_TENANT)?;
        laptops.push(laptop);
    }
    // Meanwhile a change on laptop A of the benchmark tenant is timed until laptop B has it.
    let a_email = world.staff(world.tenant, "front_desk", 0).await?;
    let b_email = world.staff(world.tenant, "manager", 0).await?;
    let a = world
        .laptop_at_head(&a_email, mirror::open_in_memory()?)
        .await?;
    let b = world
        .laptop_at_head(&b_email, mirror::open_in_memory()?)
        .await?;
    let pushing = Arc::new(AtomicBool::new(true));
    // Laptop A on a thread of its own, as another machine: its wait for B blocks that thread.
    let a_to_b = {
        let pushing = pushing.clone();
        std::thread::spawn(move || -> Result<Vec<f64>> {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?
                .block_on(latency::a_to_b(a, b, 0, move |_| {
                    pushing.load(Ordering::Relaxed)
                }))
        })
    };
    let started = Instant::now();
    let pushes = laptops.iter_mut().map(push_as_the_desk_does);
    let outcomes = futures_util::future::join_all(pushes).await;
    let seconds = started.elapsed().as_secs_f64();
    pushing.store(false, Ordering::Relaxed);
    let mut latencies = a_to_b
        .join()
        .map_err(|_| anyhow::anyhow!("laptop A's thread panicked"))??;
    let mut pushed = 0;
    let mut busy = 0;
    for outcome in outcomes {
        let (report, retries) = outcome?;
        ensure!(report.rejected == 0, "push: {report:?}");
        pushed += report.pushed;
        busy += retries;
    }
    ensure!(pushed > 0, "nothing pushed");
    run.add(Figure {
        section: SECTION.to_owned(),
        name: format!("{} tenants at once, one laptop each", tenants.len()),
        value: pushed as f64 / seconds,
        unit: "changes/s".to_owned(),
        target: Target::at_least(6_000.0),
        how: format!(
            "{CHANGES_PER_TENANT} local changes per tenant, {pushed} pushed concurrently in {seconds:.2} s"
        ),
    });
    run.add(Figure {
        section: SECTION.to_owned(),
        name: format!(
            "{} tenants at once: pushes answered 503 (busy)",
            tenants.len()
        ),
        value: busy as f64,
        unit: "answers".to_owned(),
        target: Target::below(1.0),
        how: "each retried after 200 ms, as the desk's background sync does".to_owned(),
    });
    // A shares its tenant's feed head with that tenant's own pushing laptop, so a round may
    // wait for a whole 500-change push: few rounds, each counted.
    ensure!(
        !latencies.is_empty(),
        "no change from A to B was timed while the tenants pushed"
    );
    latency::add_figures(
        run,
        &format!(", while the {} tenants push", tenants.len()),
        &mut latencies,
    );
    Ok(())
}

/// Pushes until the outbox is empty, trying again after a transient refusal (the server busy) as
/// the desk's background sync does; returns what went up and how many tries were refused.
async fn push_as_the_desk_does(laptop: &mut Laptop) -> Result<(SyncReport, usize)> {
    // What went up is counted off the outbox: a refused try may have pushed some batches.
    let waiting = outbox::entries(&laptop.conn, false)?.len();
    let mut retries = 0;
    loop {
        match push_pending(&mut laptop.conn, &laptop.remote).await {
            Ok(report) => {
                let total = SyncReport {
                    pushed: waiting - outbox::entries(&laptop.conn, false)?.len(),
                    rejected: report.rejected,
                    pulled: 0,
                };
                return Ok((total, retries));
            }
            Err(error) if error.is_transient() && retries < 20 => {
                retries += 1;
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
            Err(error) => return Err(error.into()),
        }
    }
}

/// Queues `count` changes: new guests, and every other one an edit of the guest made before it.
fn queue_changes(laptop: &mut Laptop, count: usize) -> Result<()> {
    let mut last = None;
    for n in 0..count {
        match last.take() {
            Some(id) if n % 2 == 1 => {
                outbox::write(
                    &mut laptop.conn,
                    "guests",
                    PushOp::Update,
                    id,
                    object(json!({"phone": format!("+1 555 {n:06}")})),
                )?;
            }
            _ => {
                let id = Uuid::now_v7();
                outbox::write(
                    &mut laptop.conn,
                    "guests",
                    PushOp::Insert,
                    id,
                    object(json!({"first_name": format!("Pushed {n}"), "last_name": "Bench"})),
                )?;
                last = Some(id);
            }
        }
    }
    Ok(())
}
