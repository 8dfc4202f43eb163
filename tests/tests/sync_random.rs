//! The randomized sync test: per seed, three laptops of one tenant make 1,000 operations over
//! guests, stays and loyalty, going offline and online at random and syncing now and then. When
//! all are back online and synced:
//! - every mirror equals the server (every table, every value, as each staff role reads it);
//! - no room has overlapping active stays;
//! - every member's balance equals the sum of its ledger, and never went below zero;
//! - the tenant's confirmation numbers are 1..n with no gap;
//! - each laptop's conflicts inbox holds exactly the changes the server rejected from it;
//! - every guest registered offline exists once.
//!
//! 50 seeds by default, each in its own tenant of one database, a few at a time. A failing seed
//! is printed with the command that replays it alone:
//! `PMS_RANDOM_SEED=<seed> cargo test -p pms-tests --test sync_random`.
//! `PMS_RANDOM_SEEDS` and `PMS_RANDOM_OPS` change how many seeds and operations run.

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{Duration, NaiveDate};
use pms_sync_client::{loyalty, outbox};
use pms_sync_protocol::wire::PushOp;
use pms_tests::laptops::{object, tenant_staff_emails, Laptop, ServerRows};
use pms_tests::{TestDb, TestServer};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::json;
use uuid::Uuid;

const DEFAULT_SEEDS: u64 = 50;
const DEFAULT_OPERATIONS: usize = 1_000;
/// Seeds run side by side (each its own tenant and laptops).
const AT_ONCE: usize = 5;

fn env_number(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_offline_work_on_three_laptops_converges_with_every_invariant() {
    let seeds: Vec<u64> = match env_number("PMS_RANDOM_SEED") {
        Some(seed) => vec![seed],
        None => (1..=env_number("PMS_RANDOM_SEEDS").unwrap_or(DEFAULT_SEEDS)).collect(),
    };
    let operations = env_number("PMS_RANDOM_OPS").map_or(DEFAULT_OPERATIONS, |n| n as usize);
    let db = Arc::new(TestDb::migrated().await);
    db.seed(seeds.len(), 10).await;
    let server = Arc::new(TestServer::start(&db).await);
    let tenants: Vec<Uuid> = sqlx::query_scalar("select id from public.tenants order by subdomain")
        .fetch_all(&db.pool)
        .await
        .expect("tenants");

    let mut failures = Vec::new();
    for batch in seeds
        .iter()
        .zip(tenants)
        .collect::<Vec<_>>()
        .chunks(AT_ONCE)
    {
        let mut runs = tokio::task::JoinSet::new();
        for &(&seed, tenant) in batch {
            let (db, server) = (db.clone(), server.clone());
            runs.spawn(async move {
                let outcome =
                    tokio::spawn(
                        async move { run_seed(&db, &server, tenant, seed, operations).await },
                    )
                    .await;
                (seed, outcome)
            });
        }
        while let Some(joined) = runs.join_next().await {
            let (seed, outcome) = joined.expect("seed task");
            match outcome {
                Ok(Ok(())) => {}
                Ok(Err(problem)) => failures.push(format!("seed {seed}: {problem}")),
                Err(panic) => failures.push(format!("seed {seed} panicked: {panic}")),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} seeds failed (replay one with PMS_RANDOM_SEED=<seed> cargo test -p pms-tests --test sync_random):\n{}",
        failures.len(),
        seeds.len(),
        failures.join("\n")
    );
}

/// One laptop and what the test remembers of its session.
struct Desk {
    laptop: Laptop,
    online: bool,
}

async fn run_seed(
    db: &TestDb,
    server: &TestServer,
    tenant: Uuid,
    seed: u64,
    operations: usize,
) -> Result<(), String> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut emails = tenant_staff_emails(db, tenant, "front_desk").await;
    emails.extend(tenant_staff_emails(db, tenant, "manager").await);
    if emails.len() < 3 {
        return Err(format!(
            "tenant {tenant} has {} desk accounts",
            emails.len()
        ));
    }
    let mut desks = Vec::new();
    for (n, email) in emails.iter().take(3).enumerate() {
        let mut laptop = Laptop::sign_in(db, server, email, &format!("laptop {n}")).await;
        laptop.sync().await;
        desks.push(Desk {
            laptop,
            online: true,
        });
    }
    let guests_before: i64 =
        sqlx::query_scalar("select count(*) from public.guests where tenant_id = $1")
            .bind(tenant)
            .fetch_one(&db.pool)
            .await
            .map_err(|e| e.to_string())?;

    let mut guests_registered = 0i64;
    for _ in 0..operations {
        let desk = &mut desks[rng.random_range(0..3)];
        if operate(&mut desk.laptop, &mut rng)? {
            guests_registered += 1;
        }
        if rng.random_bool(0.05) {
            desk.online = !desk.online;
        }
        if desk.online && rng.random_bool(0.05) {
            desk.laptop.sync().await;
        }
    }

    // Everyone back online until nothing moves.
    for _ in 0..3 {
        for desk in &mut desks {
            desk.online = true;
            desk.laptop.sync().await;
        }
    }
    let inboxes: i64 = desks
        .iter()
        .map(|d| {
            d.laptop
                .conn
                .query_row("select count(*) from conflicts", [], |r| r.get::<_, i64>(0))
                .unwrap_or(0)
        })
        .sum();
    println!("seed {seed}: {operations} operations, {inboxes} changes in the conflicts inboxes");
    check(db, tenant, desks, guests_before + guests_registered).await
}

/// One random operation on the laptop's mirror; returns whether it registered a guest.
fn operate(laptop: &mut Laptop, rng: &mut ChaCha8Rng) -> Result<bool, String> {
    let conn = &mut laptop.conn;
    let pick =
        |conn: &rusqlite::Connection, statement: &str, rng: &mut ChaCha8Rng| -> Option<String> {
            let ids: Vec<String> = conn
                .prepare(statement)
                .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
                .unwrap_or_default();
            (!ids.is_empty()).then(|| ids[rng.random_range(0..ids.len())].clone())
        };
    let write = |conn: &mut rusqlite::Connection, table: &str, op: PushOp, id: Uuid, values| {
        outbox::write(conn, table, op, id, object(values))
            .map_err(|e| format!("{table} {op:?}: {e}"))
    };
    let day = |offset: i64| {
        (NaiveDate::from_ymd_opt(2032, 1, 1).expect("date") + Duration::days(offset)).to_string()
    };
    match rng.random_range(0..100) {
        0..15 => {
            let n: u32 = rng.random();
            write(
                conn,
                "guests",
                PushOp::Insert,
                Uuid::now_v7(),
                json!({"first_name": format!("Guest{n}"), "last_name": "Random"}),
            )?;
            return Ok(true);
        }
        15..32 => {
            if let Some(id) = pick(conn, "select id from guests", rng) {
                let column = ["phone", "notes", "city", "email"][rng.random_range(0..4)];
                let value = if column == "email" {
                    format!("g{}@example.com", rng.random::<u32>())
                } else {
                    format!("{column} {}", rng.random::<u16>())
                };
                write(
                    conn,
                    "guests",
                    PushOp::Update,
                    id.parse().expect("uuid"),
                    json!({ column: value }),
                )?;
            }
        }
        32..55 => {
            // A booking in a room this laptop sees free (another laptop may not agree).
            let room: Option<(String, String, String)> = conn
                .query_row(
                    "select property_id, room_type_id, id from rooms
                      where deleted_at is null and housekeeping_status <> 'out_of_order'
                      order by random() limit 1",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .ok();
            if let Some((property, room_type, room)) = room {
                let start = rng.random_range(0..40);
                let (check_in, check_out) = (day(start), day(start + rng.random_range(1..4)));
                let taken: i64 = conn
                    .query_row(
                        "select count(*) from reservations where room_id = ?1 and deleted_at is null
                            and status in ('pending', 'confirmed', 'checked_in')
                            and check_in_date < ?3 and check_out_date > ?2",
                        [&room, &check_in, &check_out],
                        |r| r.get(0),
                    )
                    .map_err(|e| e.to_string())?;
                if taken == 0 {
                    write(
                        conn,
                        "reservations",
                        PushOp::Insert,
                        Uuid::now_v7(),
                        json!({"guest_name": "Random Stay", "property_id": property, "room_type_id": room_type,
                                 "room_id": room, "check_in_date": check_in, "check_out_date": check_out,
                                 "status": "confirmed"}),
                    )?;
                }
            }
        }
        55..67 => {
            if let Some(id) = pick(
                conn,
                "select id from reservations where check_in_date >= '2032-01-01'",
                rng,
            ) {
                let status =
                    ["checked_in", "checked_out", "cancelled", "no_show"][rng.random_range(0..4)];
                write(
                    conn,
                    "reservations",
                    PushOp::Update,
                    id.parse().expect("uuid"),
                    json!({"status": status}),
                )?;
            }
        }
        67..77 => {
            // Move a stay: new dates in another room of its property.
            let stay: Option<(String, String)> = conn
                .query_row(
                    "select id, property_id from reservations where check_in_date >= '2032-01-01' order by random() limit 1",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .ok();
            if let Some((id, property)) = stay {
                let room: Option<(String, String)> = conn
                    .query_row(
                        "select id, room_type_id from rooms where property_id = ?1 and deleted_at is null order by random() limit 1",
                        [&property],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .ok();
                if let Some((room, room_type)) = room {
                    let start = rng.random_range(0..40);
                    write(
                        conn,
                        "reservations",
                        PushOp::Update,
                        id.parse().expect("uuid"),
                        json!({"room_id": room, "room_type_id": room_type, "check_in_date": day(start),
                                 "check_out_date": day(start + rng.random_range(1..4))}),
                    )?;
                }
            }
        }
        77..88 => {
            if let Some(member) = pick(conn, "select id from loyalty_members", rng) {
                let member = member.parse().expect("uuid");
                loyalty::earn(
                    conn,
                    member,
                    rng.random_range(10..500),
                    "earn",
                    "random stay",
                )
                .map_err(|e| e.to_string())?;
            }
        }
        _ => {
            if let Some(member) = pick(conn, "select id from loyalty_members", rng) {
                let member = member.parse().expect("uuid");
                let available =
                    loyalty::available_points(conn, member).map_err(|e| e.to_string())?;
                let points = rng.random_range(1..=available.max(0) + 50);
                match loyalty::redeem(conn, member, points, "random redemption") {
                    Ok(_) | Err(pms_sync_client::Error::InsufficientPoints { .. }) => {}
                    Err(other) => return Err(other.to_string()),
                }
            }
        }
    }
    Ok(false)
}

async fn check(db: &TestDb, tenant: Uuid, desks: Vec<Desk>, guests: i64) -> Result<(), String> {
    let mut problems = Vec::new();
    // What the server holds for each laptop first (a mirror cannot be held across an await).
    let mut expected = Vec::new();
    for (claims, device_id) in desks
        .iter()
        .map(|d| (d.laptop.claims, d.laptop.device_id))
        .collect::<Vec<_>>()
    {
        let rows = ServerRows::read(db, claims).await;
        let rejected: BTreeSet<String> = sqlx::query_scalar(
            "select change_id::text from app.change_results where device_id = $1 and status = 'rejected'",
        )
        .bind(device_id)
        .fetch_all(&db.pool)
        .await
        .map_err(|e| e.to_string())?
        .into_iter()
        .collect();
        expected.push((rows, rejected));
    }
    for (n, (desk, (rows, rejected))) in desks.iter().zip(expected).enumerate() {
        if let Err(e) = rows.compare(&desk.laptop.conn) {
            problems.push(format!("laptop {n} differs from the server:\n{e}"));
        }
        let waiting = outbox::entries(&desk.laptop.conn, true).map_err(|e| e.to_string())?;
        if !waiting.is_empty() {
            problems.push(format!("laptop {n} still holds {} changes", waiting.len()));
        }
        // Field groups that lost a merge are kept too, under "<change id>:<group>".
        let inbox: BTreeSet<String> = desk
            .laptop
            .conn
            .prepare("select change_id from conflicts where change_id not like '%:%'")
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
            .map_err(|e| e.to_string())?;
        if rejected != inbox {
            problems.push(format!(
                "laptop {n}: the server rejected {rejected:?} but its inbox holds {inbox:?}"
            ));
        }
    }

    let overlapping: i64 = sqlx::query_scalar(
        "select count(*) from public.reservations a join public.reservations b
            on a.tenant_id = b.tenant_id and a.room_id = b.room_id and a.id < b.id
         where a.tenant_id = $1
           and a.deleted_at is null and b.deleted_at is null
           and a.status in ('pending', 'confirmed', 'checked_in')
           and b.status in ('pending', 'confirmed', 'checked_in')
           and daterange(a.check_in_date, a.check_out_date, '[)') && daterange(b.check_in_date, b.check_out_date, '[)')",
    )
    .bind(tenant)
    .fetch_one(&db.pool)
    .await
    .map_err(|e| e.to_string())?;
    if overlapping != 0 {
        problems.push(format!(
            "{overlapping} pairs of active stays overlap in a room"
        ));
    }

    let unbalanced: Vec<(Uuid, i64, i64)> = sqlx::query_as(
        "select m.id, m.points_balance::bigint, coalesce(sum(t.points), 0)::bigint
           from public.loyalty_members m
           left join public.loyalty_transactions t on t.tenant_id = m.tenant_id and t.member_id = m.id
          where m.tenant_id = $1
          group by m.id, m.points_balance
         having m.points_balance <> coalesce(sum(t.points), 0)",
    )
    .bind(tenant)
    .fetch_all(&db.pool)
    .await
    .map_err(|e| e.to_string())?;
    if !unbalanced.is_empty() {
        problems.push(format!(
            "balances differ from their ledgers: {unbalanced:?}"
        ));
    }
    let overdrawn: i64 = sqlx::query_scalar(
        "select count(*) from public.loyalty_transactions where tenant_id = $1 and balance_after < 0",
    )
    .bind(tenant)
    .fetch_one(&db.pool)
    .await
    .map_err(|e| e.to_string())?;
    if overdrawn != 0 {
        problems.push(format!(
            "{overdrawn} ledger entries left a negative balance"
        ));
    }

    let (numbered, lowest, highest, distinct): (i64, Option<i64>, Option<i64>, i64) = sqlx::query_as(
        "select count(confirmation_number), min(confirmation_number)::bigint, max(confirmation_number)::bigint,
                count(distinct confirmation_number)
           from public.reservations where tenant_id = $1",
    )
    .bind(tenant)
    .fetch_one(&db.pool)
    .await
    .map_err(|e| e.to_string())?;
    if numbered != distinct || lowest != Some(1) || highest != Some(numbered) {
        problems.push(format!(
            "confirmation numbers are not 1..n: {numbered} numbered, {distinct} distinct, from {lowest:?} to {highest:?}"
        ));
    }

    let on_server: i64 =
        sqlx::query_scalar("select count(*) from public.guests where tenant_id = $1")
            .bind(tenant)
            .fetch_one(&db.pool)
            .await
            .map_err(|e| e.to_string())?;
    if on_server != guests {
        problems.push(format!(
            "{guests} guests expected on the server, {on_server} found"
        ));
    }

    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}
