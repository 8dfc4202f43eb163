//! A change made on laptop A, visible on laptop B: from A's local write, through A's push, the
//! server's commit and its wake-up of B's waiting pull, to the row in B's mirror. B long-polls as
//! the desk does when online, on a thread of its own (as it would be another machine).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use pms_sync_client::engine::{pull_when_changed, sync_once};
use pms_sync_client::{mirror, outbox};
use pms_sync_protocol::wire::PushOp;
use pms_tests::laptops::{object, Laptop};
use serde_json::json;
use uuid::Uuid;

use crate::fixture::World;
use crate::report::{Figure, Percentiles, Run, Target};

const SECTION: &str = "Laptop A to laptop B";
/// Rounds before the measured ones, while idle (connections and caches warm up).
const WARM_UP: usize = 20;
pub const ROUNDS: usize = 300;

/// The change B is waiting to see, and when A made it.
type Expected = Arc<Mutex<Option<(Uuid, Instant)>>>;

pub async fn measure(world: &World, run: &mut Run) -> Result<()> {
    let a_email = world.staff(world.tenant, "front_desk", 0).await?;
    let b_email = world.staff(world.tenant, "manager", 0).await?;
    let a = world
        .laptop_at_head(&a_email, mirror::open_in_memory()?)
        .await?;
    let b = world
        .laptop_at_head(&b_email, mirror::open_in_memory()?)
        .await?;
    let mut samples = a_to_b(a, b, WARM_UP, |_| true).await?;
    add_figures(run, "", &mut samples);

    // The same through two `serve` instances on the one Postgres: A pushes to the first, B
    // long-polls on the second (its wake-up comes through its own LISTEN connection).
    let second = pms_tests::TestServer::start_beside(&world.db, &world.server).await;
    let a = world
        .laptop_at_head(&a_email, mirror::open_in_memory()?)
        .await?;
    let b = world
        .laptop_at_head_on(&second, &b_email, mirror::open_in_memory()?)
        .await?;
    let mut samples = a_to_b(a, b, WARM_UP, |_| true).await?;
    add_figures(run, ", B on another serve instance", &mut samples);
    Ok(())
}

pub fn add_figures(run: &mut Run, which: &str, samples: &mut [f64]) {
    let p = Percentiles::of(samples);
    let how = format!(
        "{} new guests one after another, B long-polling{which}; max {:.1} ms",
        samples.len(),
        p.max
    );
    run.add(Figure {
        section: SECTION.to_owned(),
        name: format!("change on A visible on B{which}, p50"),
        value: p.p50,
        unit: "ms".to_owned(),
        target: Target::below(25.0),
        how: how.clone(),
    });
    run.add(Figure {
        section: SECTION.to_owned(),
        name: format!("change on A visible on B{which}, p99"),
        value: p.p99,
        unit: "ms".to_owned(),
        target: Target::below(100.0),
        how,
    });
}

/// Up to `ROUNDS` changes made on A (after `warm_up` rounds), each timed until B (long-polling
/// on its own thread) has it; `go_on` is asked before each measured round.
pub async fn a_to_b(
    mut a: Laptop,
    b: Laptop,
    warm_up: usize,
    go_on: impl Fn(usize) -> bool,
) -> Result<Vec<f64>> {
    let expected: Expected = Arc::new(Mutex::new(None));
    let stop = Arc::new(AtomicBool::new(false));
    let (seen_tx, seen) = mpsc::channel::<Duration>();
    let watcher = {
        let expected = expected.clone();
        let stop = stop.clone();
        std::thread::spawn(move || watch(b, expected, stop, seen_tx))
    };

    let mut samples = Vec::with_capacity(ROUNDS);
    for round in 0..warm_up + ROUNDS {
        if round >= warm_up && !go_on(round - warm_up) {
            break;
        }
        let id = Uuid::now_v7();
        let started = Instant::now();
        *expected.lock().map_err(|_| anyhow::anyhow!("poisoned"))? = Some((id, started));
        outbox::write(
            &mut a.conn,
            "guests",
            PushOp::Insert,
            id,
            object(json!({"first_name": format!("Latency {round}"), "last_name": "Bench"})),
        )?;
        sync_once(&mut a.conn, &a.remote).await?;
        let elapsed = seen
            .recv_timeout(Duration::from_secs(10))
            .context("laptop B did not see A's change within 10 s")?;
        if round >= warm_up {
            samples.push(elapsed.as_secs_f64() * 1000.0);
        }
    }
    stop.store(true, Ordering::Relaxed);
    // one more change wakes B's waiting pull, so it sees the stop at once
    outbox::write(
        &mut a.conn,
        "guests",
        PushOp::Insert,
        Uuid::now_v7(),
        object(json!({"first_name": "Stop", "last_name": "Bench"})),
    )?;
    sync_once(&mut a.conn, &a.remote).await?;
    watcher
        .join()
        .map_err(|_| anyhow::anyhow!("laptop B's thread panicked"))??;
    Ok(samples)
}

/// Laptop B: pulls whenever the server says something changed, and reports when the expected
/// row has arrived.
fn watch(
    mut b: Laptop,
    expected: Expected,
    stop: Arc<AtomicBool>,
    seen: mpsc::Sender<Duration>,
) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        while !stop.load(Ordering::Relaxed) {
            pull_when_changed(&mut b.conn, &b.remote, 10).await?;
            let mut waiting = expected.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
            if let Some((id, started)) = *waiting {
                if mirror::read(&b.conn, "guests", &id.to_string())?.is_some() {
                    let _ = seen.send(started.elapsed());
                    *waiting = None;
                }
            }
        }
        Ok(())
    })
}
