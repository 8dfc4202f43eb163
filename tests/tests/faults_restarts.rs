//! The sync server SIGKILLed and Postgres restarted (`immediate`: a crash recovered from the WAL;
//! `fast`: every session cut, clean shutdown) while three laptops keep booking, adding guests and
//! earning points and syncing in a loop. Syncs fail during the outages; once everything is back,
//! every laptop converges to the server, every change was applied exactly once (by the ids the
//! laptops made, and by the server's record of each device's changes), nothing was rejected, and
//! the confirmation numbers are still 1..n without a gap.
//!
//! The database is a cluster of the test's own (`own_cluster::OwnCluster`), so restarting it
//! disturbs no other suite; the server is the `pms-server` binary (built from the same source as
//! `pms-server-under-test`), so a kill is a real process dying.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use pms_sync_client::engine::sync_once;
use pms_sync_client::{loyalty, outbox};
use pms_sync_protocol::wire::PushOp;
use pms_tests::laptops::{mirror_matches_server, object, staff_emails, Laptop};
use pms_tests::own_cluster::{OwnCluster, ServerProcess};
use pms_tests::TestDb;
use rand::{Rng, SeedableRng};
use serde_json::json;
use uuid::Uuid;

const SERVER: &str = env!("CARGO_BIN_EXE_pms-server-under-test");
const LAPTOPS: usize = 3;

#[derive(Debug, Clone, Copy)]
enum Fault {
    KillServer,
    RestartPostgres(&'static str),
}

const FAULTS: [Fault; 8] = [
    Fault::KillServer,
    Fault::RestartPostgres("immediate"),
    Fault::KillServer,
    Fault::RestartPostgres("fast"),
    Fault::KillServer,
    Fault::RestartPostgres("immediate"),
    Fault::KillServer,
    Fault::RestartPostgres("fast"),
];

/// What one laptop did while the faults went on.
#[derive(Debug, Default)]
struct Work {
    guests: Vec<Uuid>,
    earnings: Vec<Uuid>,
    bookings: Vec<Uuid>,
    changes: i64,
    syncs: usize,
    failed: usize,
    /// Failed syncs that were under way when a fault struck.
    struck: usize,
}

/// Shared between the laptops and the test's fault loop.
#[derive(Default)]
struct Progress {
    stop: AtomicBool,
    /// Laptops inside `sync_once` right now.
    in_sync: AtomicUsize,
    /// Syncs that succeeded, all laptops together.
    succeeded: AtomicUsize,
    /// Faults so far.
    faults: AtomicUsize,
}

/// A desk that keeps working and syncing until told to stop.
async fn desk(
    mut laptop: Laptop,
    n: usize,
    member: Uuid,
    stay: serde_json::Map<String, serde_json::Value>,
    progress: Arc<Progress>,
) -> (Laptop, Work) {
    let mut work = Work::default();
    let mut round = 0;
    while !progress.stop.load(Ordering::SeqCst) {
        round += 1;
        let guest = Uuid::now_v7();
        outbox::write(
            &mut laptop.conn,
            "guests",
            PushOp::Insert,
            guest,
            object(json!({"first_name": format!("L{n}R{round}"), "last_name": "Restarted"})),
        )
        .expect("add a guest");
        work.guests.push(guest);
        let earning = loyalty::earn(&mut laptop.conn, member, 5, "earn", "restarted earn")
            .expect("earn points");
        work.earnings.push(earning);
        let booking = Uuid::now_v7();
        let mut values = stay.clone();
        values.insert(
            "guest_name".to_owned(),
            json!(format!("Restart L{n}R{round}")),
        );
        outbox::write(
            &mut laptop.conn,
            "reservations",
            PushOp::Insert,
            booking,
            values,
        )
        .expect("book");
        work.bookings.push(booking);
        work.changes += 3;

        let faults_before = progress.faults.load(Ordering::SeqCst);
        progress.in_sync.fetch_add(1, Ordering::SeqCst);
        let result = sync_once(&mut laptop.conn, &laptop.remote).await;
        progress.in_sync.fetch_sub(1, Ordering::SeqCst);
        work.syncs += 1;
        match result {
            Ok(_) => {
                progress.succeeded.fetch_add(1, Ordering::SeqCst);
            }
            Err(error) => {
                // The server gone (connection refused or cut), the database gone (a 5xx), or an
                // answer cut short by the kill.
                assert!(
                    error.is_transient() || matches!(error, pms_sync_client::Error::Data(_)),
                    "laptop {n}: {error}"
                );
                work.failed += 1;
                if progress.faults.load(Ordering::SeqCst) > faults_before {
                    work.struck += 1;
                }
                // Do not spin against a dead server.
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
    (laptop, work)
}

/// Waits (bounded) until `condition` holds.
async fn wait_until(what: &str, limit: Duration, condition: impl Fn() -> bool) {
    let deadline = Instant::now() + limit;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn laptops_syncing_through_server_kills_and_postgres_restarts_lose_and_repeat_nothing() {
    let started = Instant::now();
    let cluster = OwnCluster::start().await;
    let db = TestDb::migrated_on(&cluster.url()).await;
    db.seed(1, 20).await;
    let mut server = ServerProcess::start(SERVER.as_ref(), &db).await;

    let mut emails = staff_emails(&db, "front_desk").await;
    emails.extend(staff_emails(&db, "manager").await);
    let mut laptops = Vec::new();
    for (n, email) in emails.iter().take(LAPTOPS).enumerate() {
        let conn = pms_sync_client::mirror::open_in_memory().expect("mirror");
        let mut laptop =
            Laptop::sign_in_at(&db, &server.base_url, email, &format!("laptop {n}"), conn).await;
        laptop.sync().await;
        laptops.push(laptop);
    }
    let tenant = laptops[0].claims.tenant_id;
    let (member, property, room_type): (String, String, String) = laptops[0]
        .conn
        .query_row(
            "select (select id from loyalty_members order by id limit 1), property_id, id
               from room_types order by id limit 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .expect("a member and a room type");
    let member: Uuid = member.parse().expect("uuid");
    // No room assigned: the bookings never compete for one, so none may be refused.
    let stay = object(json!({
        "property_id": property, "room_type_id": room_type,
        "check_in_date": "2027-09-01", "check_out_date": "2027-09-03", "status": "confirmed",
    }));

    let progress = Arc::new(Progress::default());
    let desks: Vec<_> = laptops
        .into_iter()
        .enumerate()
        .map(|(n, laptop)| tokio::spawn(desk(laptop, n, member, stay.clone(), progress.clone())))
        .collect();

    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
    let (mut kills, mut restarts, mut mid_sync) = (0, 0, 0);
    for fault in FAULTS {
        // Somewhere in a sync: a random moment, then the first one at which a laptop is in one.
        tokio::time::sleep(Duration::from_millis(rng.random_range(0..40))).await;
        wait_until("a laptop syncs", Duration::from_secs(30), || {
            progress.in_sync.load(Ordering::SeqCst) > 0
        })
        .await;
        mid_sync += usize::from(progress.in_sync.load(Ordering::SeqCst) > 0);
        progress.faults.fetch_add(1, Ordering::SeqCst);
        match fault {
            Fault::KillServer => {
                server.kill().await;
                kills += 1;
                // Down for a moment: the laptops' syncs fail meanwhile.
                tokio::time::sleep(Duration::from_millis(rng.random_range(50..300))).await;
                server.restart().await;
            }
            Fault::RestartPostgres(mode) => {
                cluster.restart(mode).await;
                restarts += 1;
            }
        }
        // Back in service: some syncs go through again before the next fault.
        let before = progress.succeeded.load(Ordering::SeqCst);
        wait_until(
            &format!("syncs succeed again after {fault:?}"),
            Duration::from_secs(30),
            || progress.succeeded.load(Ordering::SeqCst) >= before + LAPTOPS,
        )
        .await;
    }
    progress.stop.store(true, Ordering::SeqCst);
    let mut laptops = Vec::new();
    let mut works = Vec::new();
    for desk in desks {
        let (laptop, work) = desk.await.expect("a desk finished");
        laptops.push(laptop);
        works.push(work);
    }

    // Everything is back: two calm rounds each, so every laptop has pushed and pulled it all.
    for _ in 0..2 {
        for laptop in &mut laptops {
            laptop.sync().await;
        }
    }
    for (n, laptop) in laptops.iter().enumerate() {
        mirror_matches_server(&db, laptop)
            .await
            .unwrap_or_else(|e| panic!("laptop {n} after the faults:\n{e}"));
        assert!(
            outbox::entries(&laptop.conn, true)
                .expect("outbox")
                .is_empty(),
            "laptop {n} still holds changes"
        );
        let refused: i64 = laptop
            .conn
            .query_row("select count(*) from conflicts", [], |r| r.get(0))
            .expect("conflicts");
        assert_eq!(
            refused, 0,
            "laptop {n}: nothing was refused (a change applied twice would be, as a duplicate key)"
        );
    }

    // Every change once, none twice, none missing: by the ids the laptops made...
    let all = |kind: usize| -> Vec<Uuid> {
        works
            .iter()
            .flat_map(|w| [&w.guests, &w.earnings, &w.bookings][kind].iter().copied())
            .collect()
    };
    for (table, marker, ids) in [
        ("guests", "last_name = 'Restarted'", all(0)),
        (
            "loyalty_transactions",
            "description = 'restarted earn'",
            all(1),
        ),
        ("reservations", "guest_name like 'Restart L%'", all(2)),
    ] {
        let (by_id, by_marker): (i64, i64) = sqlx::query_as(&format!(
            "select (select count(*) from public.{table} where id = any($1)),
                    (select count(*) from public.{table} where {marker})"
        ))
        .bind(&ids)
        .fetch_one(&db.pool)
        .await
        .expect("count");
        assert_eq!(
            by_id,
            ids.len() as i64,
            "{table}: every row the laptops made"
        );
        assert_eq!(by_marker, ids.len() as i64, "{table}: and no other");
    }
    // ... and by the server's record of each device's changes: one outcome per change, all
    // applied, numbered 1..n with no gap.
    for (n, (laptop, work)) in laptops.iter().zip(&works).enumerate() {
        let (count, applied, last): (i64, i64, Option<i64>) = sqlx::query_as(
            "select count(*), count(*) filter (where status = 'applied'), max(device_seq)
               from app.change_results where device_id = $1",
        )
        .bind(laptop.device_id)
        .fetch_one(&db.pool)
        .await
        .expect("change results");
        assert_eq!(
            (count, applied, last),
            (work.changes, work.changes, Some(work.changes)),
            "laptop {n}: the server recorded each change once"
        );
    }
    let (balance, ledger): (i64, i64) = sqlx::query_as(
        "select points_balance, (select sum(points) from public.loyalty_transactions where member_id = $1)::bigint
           from public.loyalty_members where id = $1",
    )
    .bind(member)
    .fetch_one(&db.pool)
    .await
    .expect("balance");
    assert_eq!(balance, ledger, "the balance is the ledger's sum");
    let (bookings, distinct, first, last): (i64, i64, Option<i64>, Option<i64>) = sqlx::query_as(
        "select count(*), count(distinct confirmation_number), min(confirmation_number), max(confirmation_number)
           from public.reservations where tenant_id = $1",
    )
    .bind(tenant)
    .fetch_one(&db.pool)
    .await
    .expect("confirmation numbers");
    assert_eq!(
        (distinct, first, last),
        (bookings, Some(1), Some(bookings)),
        "confirmation numbers are 1..{bookings} without a gap"
    );

    let syncs: usize = works.iter().map(|w| w.syncs).sum();
    let failed: usize = works.iter().map(|w| w.failed).sum();
    let struck: usize = works.iter().map(|w| w.struck).sum();
    assert_eq!(kills + restarts, FAULTS.len());
    assert_eq!(
        mid_sync,
        FAULTS.len(),
        "every fault struck while a laptop synced"
    );
    assert!(failed > 0, "the outages broke some syncs ({syncs} syncs)");
    assert!(
        struck >= FAULTS.len() / 2,
        "syncs under way when a fault struck failed ({struck} of {failed} failures)"
    );
    println!(
        "{kills} server kills and {restarts} Postgres restarts, each during a sync; {syncs} syncs, \
         {failed} failed ({struck} of them under way when a fault struck); {} guests, {} earnings and {} bookings applied once each; {bookings} \
         confirmation numbers gapless; {:.1} s",
        works.iter().map(|w| w.guests.len()).sum::<usize>(),
        works.iter().map(|w| w.earnings.len()).sum::<usize>(),
        works.iter().map(|w| w.bookings.len()).sum::<usize>(),
        started.elapsed().as_secs_f64()
    );
}
