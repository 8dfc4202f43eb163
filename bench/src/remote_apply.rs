//! 100,000 changes made elsewhere (one server transaction editing 100,000 guests) pulled and
//! applied by one laptop, while the desk keeps writing on the same mirror from another connection
//! (as its screens do): how long the apply takes, and how long a local write waited meanwhile.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{ensure, Result};
use pms_sync_client::engine::pull_when_changed;
use pms_sync_client::{mirror, outbox};
use pms_sync_protocol::wire::PushOp;
use pms_tests::laptops::{object, Laptop};
use serde_json::json;
use uuid::Uuid;

use crate::fixture::World;
use crate::report::{Figure, Percentiles, Run, Target};

const SECTION: &str = "Remote changes applied by one laptop";
/// At most this many (a smaller bench tenant edits all its guests).
const MOST_CHANGES: i64 = 100_000;

pub async fn measure(world: &World, mirror_path: &Path, run: &mut Run) -> Result<()> {
    let email = world.staff(world.tenant, "front_desk", 0).await?;
    let mut laptop = Laptop::sign_in_with(
        &world.db,
        &world.server,
        &email,
        "bench apply",
        mirror::open(mirror_path)?,
    )
    .await;
    // Up to date first, so what follows is only the 100,000.
    pull_when_changed(&mut laptop.conn, &laptop.remote, 0).await?;

    let guests: i64 = sqlx::query_scalar("select count(*) from public.guests where tenant_id = $1")
        .bind(world.tenant)
        .fetch_one(&world.db.pool)
        .await?;
    let changes = guests.min(MOST_CHANGES);
    let edited = sqlx::query(
        "update public.guests set notes = 'edited at the head office ' || left(id::text, 8)
          where tenant_id = $1 and id in (select id from public.guests where tenant_id = $1 order by id limit $2)",
    )
    .bind(world.tenant)
    .bind(changes)
    .execute(&world.db.pool)
    .await?
    .rows_affected();
    ensure!(edited as i64 == changes, "only {edited} guests to edit");

    let targets: Vec<Uuid> = {
        let mut statement = laptop
            .conn
            .prepare("select id from guests order by id desc limit 500")?;
        let rows = statement.query_map([], |r| r.get::<_, String>(0))?;
        rows.map(|id| Ok(id?.parse()?)).collect::<Result<_>>()?
    };
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let stop = stop.clone();
        let path = mirror_path.to_owned();
        std::thread::spawn(move || desk_writes(&path, &targets, &stop))
    };
    // let the writer start
    std::thread::sleep(Duration::from_millis(50));

    let started = Instant::now();
    let report = pull_when_changed(&mut laptop.conn, &laptop.remote, 0).await?;
    let seconds = started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let mut writes = writer
        .join()
        .map_err(|_| anyhow::anyhow!("the writer thread panicked"))??;
    ensure!(
        report.pulled as i64 >= changes,
        "pulled only {}",
        report.pulled
    );
    let applied: i64 = laptop.conn.query_row(
        "select count(*) from guests where notes like 'edited at the head office %'",
        [],
        |r| r.get(0),
    )?;
    ensure!(
        applied >= changes - 500,
        "only {applied} edits in the mirror"
    );

    let count = writes.len();
    let p = Percentiles::of(&mut writes);
    run.add(Figure {
        section: SECTION.to_owned(),
        name: format!("{changes} remote changes pulled and applied"),
        value: seconds,
        unit: "s".to_owned(),
        target: Target::below(3.0),
        how: format!(
            "one server transaction edited {changes} guests; pages of 1,000 into the synced mirror"
        ),
    });
    run.add(Figure {
        section: SECTION.to_owned(),
        name: "longest local write meanwhile".to_owned(),
        value: p.max,
        unit: "ms".to_owned(),
        target: Target::below(50.0),
        how: format!("{count} desk writes (row + outbox) from a second connection; p50 {:.2} ms, p99 {:.2} ms", p.p50, p.p99),
    });
    Ok(())
}

/// The desk: a guest edit every 5 ms until told to stop; the time of each.
fn desk_writes(path: &Path, guests: &[Uuid], stop: &AtomicBool) -> Result<Vec<f64>> {
    let mut conn = mirror::open(path)?;
    // the desk's screens' connection: checkpoints are the sync's (mirror::checkpoint)
    mirror::leave_checkpoints_to_sync(&conn)?;
    let mut samples = Vec::new();
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) {
        let id = guests[n % guests.len()];
        let started = Instant::now();
        outbox::write(
            &mut conn,
            "guests",
            PushOp::Update,
            id,
            object(json!({"phone": format!("+1 555 {n:06}")})),
        )?;
        samples.push(started.elapsed().as_secs_f64() * 1000.0);
        n += 1;
        std::thread::sleep(Duration::from_millis(5));
    }
    Ok(samples)
}
