//! Confirmation and membership numbers: sequential per tenant, assigned by the database, gapless
//! and unique under concurrency, independent between tenants.

use pms_tests::{begin_as, staff_claims, Claims, TestDb};
use sqlx::PgPool;
use uuid::Uuid;

struct Inventory {
    property_id: Uuid,
    room_type_id: Uuid,
}

async fn inventory(pool: &PgPool, tenant_id: Uuid) -> Inventory {
    let (property_id, room_type_id): (Uuid, Uuid) = sqlx::query_as(
        "select property_id, id from public.room_types where tenant_id = $1 order by id limit 1",
    )
    .bind(tenant_id)
    .fetch_one(pool)
    .await
    .expect("a room type");
    Inventory {
        property_id,
        room_type_id,
    }
}

/// Books one unassigned stay as the front desk would, returning the number it got.
async fn book(pool: &PgPool, claims: Claims, inventory: &Inventory, n: usize) -> i64 {
    let mut tx = begin_as(pool, claims).await;
    let number: i64 = sqlx::query_scalar(
        "insert into public.reservations (tenant_id, guest_name, property_id, room_type_id, check_in_date, check_out_date)
         values ($1, $2, $3, $4, date '2027-03-01', date '2027-03-03')
         returning confirmation_number",
    )
    .bind(claims.tenant_id)
    .bind(format!("Concurrent guest {n}"))
    .bind(inventory.property_id)
    .bind(inventory.room_type_id)
    .fetch_one(&mut *tx)
    .await
    .expect("insert a reservation");
    tx.commit().await.expect("commit");
    number
}

async fn numbers(pool: &PgPool, tenant_id: Uuid) -> Vec<i64> {
    sqlx::query_scalar(
        "select confirmation_number from public.reservations where tenant_id = $1 order by 1",
    )
    .bind(tenant_id)
    .fetch_all(pool)
    .await
    .expect("numbers")
}

#[tokio::test]
async fn eight_connections_book_a_thousand_stays_numbered_one_to_a_thousand() {
    let db = TestDb::migrated().await;
    let seeded = db.seed(2, 10).await;
    let (tenant_a, tenant_b) = (seeded.tenant_ids[0], seeded.tenant_ids[1]);
    // Start both tenants from empty so the expected numbers are exactly 1..=n (what hangs on the
    // stays goes first: folios, guest invoices and nightly prices; the ledgers take no deletes,
    // so they are truncated).
    sqlx::query("truncate public.guest_invoices, public.folio_entries, public.folios, public.reservation_nights")
        .execute(&db.pool)
        .await
        .expect("clear folios");
    sqlx::query("delete from public.reservations")
        .execute(&db.pool)
        .await
        .expect("clear reservations");
    let app = db.pool_as(pms_tests::APP_ROLE, 8).await;
    let desk_a = staff_claims(&db.pool, tenant_a, "front_desk").await;
    let desk_b = staff_claims(&db.pool, tenant_b, "front_desk").await;
    let inventory_a = inventory(&db.pool, tenant_a).await;
    let inventory_b = inventory(&db.pool, tenant_b).await;

    // 8 workers for tenant A (1,000 bookings) while 2 more book 100 for tenant B.
    let mut workers = tokio::task::JoinSet::new();
    for worker in 0..8 {
        let (app, inventory) = (app.clone(), Inventory { ..inventory_a });
        workers.spawn(async move {
            let mut got = Vec::new();
            for n in 0..125 {
                got.push(book(&app, desk_a, &inventory, worker * 1000 + n).await);
            }
            got
        });
    }
    let app_b = db.pool_as(pms_tests::APP_ROLE, 2).await;
    for worker in 0..2 {
        let (app, inventory) = (app_b.clone(), Inventory { ..inventory_b });
        workers.spawn(async move {
            let mut got = Vec::new();
            for n in 0..50 {
                got.push(book(&app, desk_b, &inventory, worker * 1000 + n).await);
            }
            got
        });
    }
    let mut returned = 0;
    while let Some(result) = workers.join_next().await {
        returned += result.expect("worker").len();
    }
    assert_eq!(returned, 1100);

    assert_eq!(
        numbers(&db.pool, tenant_a).await,
        (1..=1000).collect::<Vec<i64>>(),
        "tenant A is 1..1000"
    );
    assert_eq!(
        numbers(&db.pool, tenant_b).await,
        (1..=100).collect::<Vec<i64>>(),
        "tenant B counts on its own"
    );
}

#[tokio::test]
async fn a_rolled_back_booking_leaves_no_gap_and_numbers_never_change() {
    let db = TestDb::migrated().await;
    let seeded = db.seed(1, 10).await;
    let tenant = seeded.tenant_ids[0];
    let desk = staff_claims(&db.pool, tenant, "front_desk").await;
    let inventory = inventory(&db.pool, tenant).await;
    let highest = *numbers(&db.pool, tenant)
        .await
        .last()
        .expect("seeded reservations");
    assert_eq!(
        numbers(&db.pool, tenant).await,
        (1..=highest).collect::<Vec<i64>>(),
        "seed-demo numbers are 1..n"
    );

    // A booking whose transaction rolls back, including one undone by a savepoint.
    let mut tx = begin_as(&db.pool, desk).await;
    sqlx::query("savepoint first")
        .execute(&mut *tx)
        .await
        .expect("savepoint");
    sqlx::query(
        "insert into public.reservations (tenant_id, guest_name, property_id, room_type_id, check_in_date, check_out_date)
         values ($1, 'Rolled back', $2, $3, date '2027-01-01', date '2027-01-02')",
    )
    .bind(tenant)
    .bind(inventory.property_id)
    .bind(inventory.room_type_id)
    .execute(&mut *tx)
    .await
    .expect("insert");
    sqlx::query("rollback to savepoint first")
        .execute(&mut *tx)
        .await
        .expect("rollback to savepoint");
    let after_savepoint: i64 = sqlx::query_scalar(
        "insert into public.reservations (tenant_id, guest_name, property_id, room_type_id, check_in_date, check_out_date)
         values ($1, 'Kept in the transaction', $2, $3, date '2027-01-01', date '2027-01-02') returning confirmation_number",
    )
    .bind(tenant)
    .bind(inventory.property_id)
    .bind(inventory.room_type_id)
    .fetch_one(&mut *tx)
    .await
    .expect("insert");
    assert_eq!(
        after_savepoint,
        highest + 1,
        "a savepoint rollback gave its number back"
    );
    tx.rollback().await.expect("rollback");

    let next = book(&db.pool, desk, &inventory, 1).await;
    assert_eq!(next, highest + 1, "the rolled-back transaction left no gap");

    // The number is the database's for good: an update cannot change it, even as the owner.
    let owner = staff_claims(&db.pool, tenant, "owner").await;
    let mut tx = begin_as(&db.pool, owner).await;
    let denied = sqlx::query(
        "update public.reservations set confirmation_number = 1 where confirmation_number = $1",
    )
    .bind(next)
    .execute(&mut *tx)
    .await;
    assert_eq!(pms_tests::sqlstate(denied), "42501");
    tx.rollback().await.expect("rollback");
    sqlx::query("update public.reservations set confirmation_number = 1 where tenant_id = $1 and confirmation_number = $2")
        .bind(tenant)
        .bind(next)
        .execute(&db.pool)
        .await
        .expect("the trigger keeps the old number instead of failing");
    assert_eq!(
        numbers(&db.pool, tenant).await,
        (1..=next).collect::<Vec<i64>>()
    );
}

#[tokio::test]
async fn membership_numbers_are_sequential_under_concurrency() {
    let db = TestDb::migrated().await;
    let seeded = db.seed(1, 10).await;
    let tenant = seeded.tenant_ids[0];
    // The ledger refuses deletes row by row; clear it the way an operator would.
    sqlx::query("truncate public.loyalty_transactions, public.loyalty_members")
        .execute(&db.pool)
        .await
        .expect("truncate");
    let program: Uuid =
        sqlx::query_scalar("select id from public.loyalty_programs where tenant_id = $1")
            .bind(tenant)
            .fetch_one(&db.pool)
            .await
            .expect("program");
    // 200 new guests to enrol from 8 connections at once.
    let guests: Vec<Uuid> = sqlx::query_scalar(
        "insert into public.guests (tenant_id, first_name, last_name)
         select $1, 'Member', 'No. ' || n from generate_series(1, 200) n returning id",
    )
    .bind(tenant)
    .fetch_all(&db.pool)
    .await
    .expect("guests");
    let app = db.pool_as(pms_tests::APP_ROLE, 8).await;
    let desk = staff_claims(&db.pool, tenant, "front_desk").await;
    let mut workers = tokio::task::JoinSet::new();
    for chunk in guests.chunks(25) {
        let (app, chunk) = (app.clone(), chunk.to_vec());
        workers.spawn(async move {
            for guest in chunk {
                let mut tx = begin_as(&app, desk).await;
                sqlx::query("insert into public.loyalty_members (tenant_id, program_id, guest_id) values ($1, $2, $3)")
                    .bind(tenant)
                    .bind(program)
                    .bind(guest)
                    .execute(&mut *tx)
                    .await
                    .expect("enrol");
                tx.commit().await.expect("commit");
            }
        });
    }
    while let Some(result) = workers.join_next().await {
        result.expect("worker");
    }
    let numbers: Vec<i64> = sqlx::query_scalar(
        "select membership_number from public.loyalty_members where tenant_id = $1 order by 1",
    )
    .bind(tenant)
    .fetch_all(&db.pool)
    .await
    .expect("numbers");
    assert_eq!(numbers, (1..=200).collect::<Vec<i64>>());
}
