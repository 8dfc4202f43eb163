//! A laptop's life with the real server: three laptops offline at once converge; a cursor older
//! than the retention of sync state re-snapshots and keeps its outbox; a staff role change reaches
//! the mirror; a laptop that began on its own is adopted into the server tenant; a delete older
//! than another laptop's edit loses to it; a laptop clock a day ahead does not win every conflict,
//! and one a day behind does not lose every one: what it does after seeing an edit orders after it.

use pms_server::admin;
use pms_sync_client::engine::{remember_session, reset_for_snapshot};
use pms_sync_client::{conflicts, loyalty, mirror, outbox};
use pms_sync_protocol::derived;
use pms_sync_protocol::hlc::{Clock, Hlc, SystemClock};
use pms_sync_protocol::wire::PushOp;
use pms_tests::laptops::{first_tenant, mirror_matches_server, object, staff_emails, Laptop};
use pms_tests::{TestDb, TestServer};
use serde_json::{json, Value};
use uuid::Uuid;

fn count(laptop: &Laptop, table: &str) -> i64 {
    laptop
        .conn
        .query_row(&format!("select count(*) from {table}"), [], |r| r.get(0))
        .expect("count")
}

fn pending(laptop: &Laptop) -> usize {
    outbox::entries(&laptop.conn, true).expect("outbox").len()
}

fn some_guest(laptop: &Laptop, offset: i64) -> Uuid {
    laptop
        .conn
        .query_row(
            "select id from guests where deleted_at is null order by id limit 1 offset ?1",
            [offset],
            |r| r.get::<_, String>(0),
        )
        .expect("a guest")
        .parse()
        .expect("uuid")
}

fn update(laptop: &mut Laptop, table: &str, id: Uuid, values: Value) {
    outbox::write(&mut laptop.conn, table, PushOp::Update, id, object(values)).expect("update");
}

async fn server_value(db: &TestDb, table: &str, id: Uuid, column: &str) -> Value {
    sqlx::query_scalar(&format!(
        "select to_jsonb({column}) from public.{table} where id = $1"
    ))
    .bind(id)
    .fetch_one(&db.pool)
    .await
    .expect("server value")
}

/// A front-desk laptop and a manager's laptop of the first tenant, each synced once.
async fn desk_and_manager(
    db: &TestDb,
    server: &TestServer,
    desk_name: &str,
    manager_name: &str,
) -> (Laptop, Laptop) {
    let desk = staff_emails(db, "front_desk").await.remove(0);
    let manager = staff_emails(db, "manager").await.remove(0);
    let mut a = Laptop::sign_in(db, server, &desk, desk_name).await;
    let mut b = Laptop::sign_in(db, server, &manager, manager_name).await;
    a.sync().await;
    b.sync().await;
    (a, b)
}

#[tokio::test]
async fn three_laptops_offline_at_once_converge_to_the_server() {
    let db = TestDb::migrated().await;
    db.seed(1, 40).await;
    let server = TestServer::start(&db).await;
    let desks = staff_emails(&db, "front_desk").await;
    let managers = staff_emails(&db, "manager").await;
    let mut a = Laptop::sign_in(&db, &server, &desks[0], "A").await;
    let mut b = Laptop::sign_in(&db, &server, &desks[1 % desks.len()], "B").await;
    let mut c = Laptop::sign_in(&db, &server, &managers[0], "C").await;
    for laptop in [&mut a, &mut b, &mut c] {
        laptop.sync().await;
    }

    // All three offline: each registers a guest; two edit different field groups of one guest;
    // C edits another guest's notes and books a stay.
    let shared = some_guest(&a, 0);
    for (laptop, name) in [(&mut a, "Ana"), (&mut b, "Bea"), (&mut c, "Cai")] {
        outbox::write(
            &mut laptop.conn,
            "guests",
            PushOp::Insert,
            Uuid::now_v7(),
            object(json!({"first_name": name, "last_name": "Offline"})),
        )
        .expect("insert");
    }
    update(&mut a, "guests", shared, json!({"phone": "+1 555 0100"}));
    update(
        &mut b,
        "guests",
        shared,
        json!({"notes": "prefers a quiet room"}),
    );
    let other = some_guest(&c, 1);
    update(
        &mut c,
        "guests",
        other,
        json!({"notes": "allergic to feathers"}),
    );
    let (property, room_type, room): (String, String, String) = c
        .conn
        .query_row(
            "select property_id, room_type_id, id from rooms where deleted_at is null order by number desc limit 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .expect("room");
    let stay = Uuid::now_v7();
    outbox::write(
        &mut c.conn,
        "reservations",
        PushOp::Insert,
        stay,
        object(json!({"guest_name": "Cai Offline", "property_id": property, "room_type_id": room_type,
                      "room_id": room, "check_in_date": "2031-02-01", "check_out_date": "2031-02-03",
                      "status": "confirmed"})),
    )
    .expect("booking");

    // Back online in one order, then another: every mirror equals the server, row for row.
    for laptop in [&mut c, &mut a, &mut b] {
        laptop.sync().await;
    }
    for laptop in [&mut b, &mut c, &mut a] {
        laptop.sync().await;
    }
    for (name, laptop) in [("A", &a), ("B", &b), ("C", &c)] {
        mirror_matches_server(&db, laptop)
            .await
            .unwrap_or_else(|e| panic!("laptop {name} differs from the server:\n{e}"));
        assert_eq!(pending(laptop), 0, "laptop {name} still holds changes");
    }
    assert_eq!(
        server_value(&db, "guests", shared, "phone").await,
        json!("+1 555 0100")
    );
    assert_eq!(
        server_value(&db, "guests", shared, "notes").await,
        json!("prefers a quiet room"),
        "edits of different field groups both survive"
    );
    let offline_guests: i64 =
        sqlx::query_scalar("select count(*) from public.guests where last_name = 'Offline'")
            .fetch_one(&db.pool)
            .await
            .expect("count");
    assert_eq!(offline_guests, 3, "each insert applied once");
    assert!(
        server_value(&db, "reservations", stay, "confirmation_number")
            .await
            .is_number(),
        "the booking got its sequential number"
    );
}

#[tokio::test]
async fn a_cursor_older_than_retention_resnapshots_and_keeps_the_outbox() {
    let db = TestDb::migrated().await;
    db.seed(1, 30).await;
    let server = TestServer::start(&db).await;
    let (mut a, mut b) = desk_and_manager(&db, &server, "A", "B").await;

    // While A is away: B edits a guest; a preference is deleted on the server (a tombstone);
    // then the feed ages past the retention period and is pruned.
    let edited = some_guest(&b, 2);
    update(&mut b, "guests", edited, json!({"notes": "VIP from B"}));
    b.sync().await;
    let gone: Uuid = sqlx::query_scalar(
        "delete from public.guest_preferences where id = (select id from public.guest_preferences order by id limit 1) returning id",
    )
    .fetch_one(&db.pool)
    .await
    .expect("delete a preference");
    assert!(
        mirror::read(&a.conn, "guest_preferences", &gone.to_string())
            .expect("read")
            .is_some(),
        "A holds the preference before it syncs"
    );
    sqlx::query("update app.changes set changed_at = now() - interval '100 days'")
        .execute(&db.pool)
        .await
        .expect("age the feed");
    let pruned = admin::prune_sync_state(&db.pool, 30).await.expect("prune");
    assert!(pruned.changes > 0, "the old feed was pruned: {pruned:?}");

    // A's offline work: a new guest and an edit. A's cursor is now behind the pruned feed: its
    // sync pushes, is told `cursor_expired`, and takes a new snapshot; the acknowledged changes
    // stay on screen throughout.
    let walk_in = Uuid::now_v7();
    outbox::write(
        &mut a.conn,
        "guests",
        PushOp::Insert,
        walk_in,
        object(json!({"first_name": "Kept", "last_name": "Through"})),
    )
    .expect("insert");
    let mine = some_guest(&a, 5);
    update(&mut a, "guests", mine, json!({"phone": "+44 20 0000 0000"}));
    a.sync().await;
    mirror_matches_server(&db, &a)
        .await
        .unwrap_or_else(|e| panic!("after the re-snapshot A differs:\n{e}"));
    assert!(
        mirror::read(&a.conn, "guest_preferences", &gone.to_string())
            .expect("read")
            .is_none(),
        "a row deleted while the feed was pruned is gone from the mirror"
    );
    assert_eq!(pending(&a), 0);
    assert_eq!(
        server_value(&db, "guests", mine, "phone").await,
        json!("+44 20 0000 0000")
    );
    let walk_ins: i64 = sqlx::query_scalar("select count(*) from public.guests where id = $1")
        .bind(walk_in)
        .fetch_one(&db.pool)
        .await
        .expect("count");
    assert_eq!(walk_ins, 1, "applied once");

    // A change still waiting when the mirror is emptied for a snapshot stays in the outbox
    // (its row is not shown as a row of only the edited column meanwhile: it comes back on top
    // of the snapshot's row), and goes up with the next sync.
    let later = some_guest(&a, 6);
    update(
        &mut a,
        "guests",
        later,
        json!({"notes": "written before the reset"}),
    );
    reset_for_snapshot(&mut a.conn).expect("reset");
    assert_eq!(pending(&a), 1, "the outbox survives a re-snapshot");
    assert_eq!(
        mirror::read(&a.conn, "guests", &later.to_string()).expect("read"),
        None,
        "no partial row while the mirror is empty"
    );
    a.sync().await;
    assert_eq!(pending(&a), 0);
    mirror_matches_server(&db, &a)
        .await
        .unwrap_or_else(|e| panic!("after the second snapshot A differs:\n{e}"));
    assert_eq!(
        server_value(&db, "guests", later, "notes").await,
        json!("written before the reset")
    );
}

#[tokio::test]
async fn a_pull_behind_the_pruned_feed_is_refused_with_a_typed_error() {
    let db = TestDb::migrated().await;
    db.seed(1, 10).await;
    let server = TestServer::start(&db).await;
    let desks = staff_emails(&db, "front_desk").await;
    let a = Laptop::sign_in(&db, &server, &desks[0], "A").await;
    sqlx::query("update app.changes set changed_at = now() - interval '100 days'")
        .execute(&db.pool)
        .await
        .expect("age the feed");
    admin::prune_sync_state(&db.pool, 30).await.expect("prune");
    let stale = a
        .remote
        .pull(
            pms_sync_protocol::wire::Cursor {
                seq: 0,
                change_no: 0,
            },
            10,
        )
        .await;
    match stale {
        Err(pms_sync_client::Error::Refused { status, code, .. }) => {
            assert_eq!((status, code.as_str()), (410, "cursor_expired"));
        }
        other => panic!("expected 410 cursor_expired, got {other:?}"),
    }
    // The head is still a valid place to start from.
    let head = a.remote.head().await.expect("head");
    a.remote.pull(head, 10).await.expect("a pull from the head");
}

#[tokio::test]
async fn a_pull_racing_retention_gets_a_410_or_every_change() {
    let db = TestDb::migrated().await;
    db.seed(1, 10).await;
    let server = TestServer::start(&db).await;
    let desks = staff_emails(&db, "front_desk").await;
    let a = Laptop::sign_in(&db, &server, &desks[0], "A").await;
    // The whole feed is older than the retention period, but not yet pruned.
    sqlx::query("update app.changes set changed_at = now() - interval '100 days'")
        .execute(&db.pool)
        .await
        .expect("age the feed");
    let first_row: Uuid =
        sqlx::query_scalar("select row_id from app.changes order by seq, change_no limit 1")
            .fetch_one(&db.pool)
            .await
            .expect("the feed's first change");

    // Retention takes the feed's table lock and the pull starts meanwhile: it reads where
    // retention had pruned to, then waits for the feed.
    let mut retention = db.pool.begin().await.expect("begin");
    sqlx::query("lock table app.changes in access exclusive mode")
        .execute(&mut *retention)
        .await
        .expect("lock the feed");
    let remote = a.remote.clone();
    let pull = tokio::spawn(async move {
        remote
            .pull(
                pms_sync_protocol::wire::Cursor {
                    seq: 0,
                    change_no: 0,
                },
                10,
            )
            .await
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let waiting: i64 = sqlx::query_scalar(
            "select count(*) from pg_stat_activity where datname = current_database()
               and wait_event_type = 'Lock' and query like '%app.changes%'",
        )
        .fetch_one(&db.pool)
        .await
        .expect("activity");
        if waiting > 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the pull never reached the feed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // Retention prunes while the pull waits, and commits.
    let (removed, _): (i64, i64) = sqlx::query_as(
        "select changes_removed, results_removed from app.prune_sync_state(interval '30 days')",
    )
    .fetch_one(&mut *retention)
    .await
    .expect("prune");
    assert!(removed > 0, "retention removed the old feed");
    retention.commit().await.expect("commit");

    // The pull either says the cursor expired, or brings the feed from its first change: never
    // a page that silently starts after what retention removed.
    match pull.await.expect("the pull's task") {
        Err(pms_sync_client::Error::Refused { status, code, .. }) => {
            assert_eq!((status, code.as_str()), (410, "cursor_expired"));
        }
        Ok(page) => assert!(
            page.changes.iter().any(|change| change.id == first_row),
            "the page skipped what retention removed: {} changes, cursor {:?}",
            page.changes.len(),
            page.cursor
        ),
        Err(other) => panic!("the pull failed: {other:?}"),
    }
}

#[tokio::test]
async fn a_staff_role_change_reaches_the_laptop() {
    let db = TestDb::migrated().await;
    db.seed(1, 20).await;
    let server = TestServer::start(&db).await;
    let email = staff_emails(&db, "front_desk").await.remove(0);
    let mut laptop = Laptop::sign_in(&db, &server, &email, "desk").await;
    laptop.sync().await;
    assert!(count(&laptop, "guests") > 0, "the front desk reads guests");
    assert_eq!(
        count(&laptop, "invoices"),
        0,
        "billing is for owner and manager"
    );

    admin::set_staff_role(&db.pool, &email, "housekeeping")
        .await
        .expect("to housekeeping");
    laptop.sync().await;
    assert_eq!(
        count(&laptop, "guests"),
        0,
        "housekeeping may not read guests"
    );
    mirror_matches_server(&db, &laptop)
        .await
        .unwrap_or_else(|e| panic!("as housekeeping:\n{e}"));

    admin::set_staff_role(&db.pool, &email, "manager")
        .await
        .expect("to manager");
    laptop.sync().await;
    let invoices: i64 = sqlx::query_scalar("select count(*) from public.invoices")
        .fetch_one(&db.pool)
        .await
        .expect("count");
    assert!(invoices > 0, "the seed has invoices");
    assert_eq!(
        count(&laptop, "invoices"),
        invoices,
        "newly readable rows arrive"
    );
    mirror_matches_server(&db, &laptop)
        .await
        .unwrap_or_else(|e| panic!("as manager:\n{e}"));
}

#[tokio::test]
async fn a_laptop_that_began_on_its_own_is_adopted_into_the_server_tenant() {
    let db = TestDb::migrated().await;
    db.seed(1, 10).await;
    let server = TestServer::start(&db).await;

    // The embedded default: a local tenant, its property, room type, room, a guest and a stay.
    let mut conn = mirror::open_in_memory().expect("mirror");
    let local_tenant = Uuid::new_v4();
    remember_session(&mut conn, local_tenant).expect("local tenant");
    mirror::set_state(&conn, "local_tenant", "1").expect("local");
    let (property, room_type, room, guest, stay) = (
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
    );
    let writes = [
        (
            "properties",
            property,
            json!({"name": "Casa Local", "currency": "EUR"}),
        ),
        (
            "room_types",
            room_type,
            json!({"property_id": property, "code": "DBL", "name": "Double", "base_rate_cents": 9000}),
        ),
        (
            "rooms",
            room,
            json!({"property_id": property, "room_type_id": room_type, "number": "1"}),
        ),
        (
            "guests",
            guest,
            json!({"first_name": "Olga", "last_name": "Offline"}),
        ),
        (
            "reservations",
            stay,
            json!({"guest_id": guest, "guest_name": "Olga Offline", "property_id": property,
                                       "room_type_id": room_type, "room_id": room, "check_in_date": "2031-05-01",
                                       "check_out_date": "2031-05-04", "status": "confirmed"}),
        ),
    ];
    for (table, id, values) in writes {
        outbox::write(&mut conn, table, PushOp::Insert, id, object(values)).expect("local write");
    }

    // The owner connects it to the server.
    let owner = staff_emails(&db, "owner").await.remove(0);
    let mut laptop = Laptop::sign_in_with(&db, &server, &owner, "first laptop", conn).await;
    let tenant = first_tenant(&db).await;
    laptop.sync().await;

    let open_conflicts: i64 = laptop
        .conn
        .query_row("select count(*) from conflicts", [], |r| r.get(0))
        .expect("count");
    assert_eq!(open_conflicts, 0, "everything was accepted");
    for (table, id) in [
        ("properties", property),
        ("room_types", room_type),
        ("rooms", room),
        ("guests", guest),
        ("reservations", stay),
    ] {
        let owner_tenant: Uuid = sqlx::query_scalar(&format!(
            "select tenant_id from public.{table} where id = $1"
        ))
        .bind(id)
        .fetch_one(&db.pool)
        .await
        .unwrap_or_else(|e| panic!("{table} {id} did not reach the server: {e}"));
        assert_eq!(
            owner_tenant, tenant,
            "{table} adopted into the server tenant"
        );
    }
    assert!(
        server_value(&db, "reservations", stay, "confirmation_number")
            .await
            .is_number()
    );
    let leftovers: i64 = laptop
        .conn
        .query_row(
            "select (select count(*) from guests where tenant_id = ?1) + (select count(*) from rooms where tenant_id = ?1)",
            [local_tenant.to_string()],
            |r| r.get(0),
        )
        .expect("count");
    assert_eq!(leftovers, 0, "no row keeps the local tenant");
    mirror_matches_server(&db, &laptop)
        .await
        .unwrap_or_else(|e| panic!("after adoption:\n{e}"));
}

#[tokio::test]
async fn a_delete_older_than_another_laptops_edit_loses_and_waits_in_the_inbox() {
    let db = TestDb::migrated().await;
    db.seed(1, 20).await;
    let server = TestServer::start(&db).await;
    let (mut a, mut b) = desk_and_manager(&db, &server, "A", "B").await;
    let preference: Uuid = a
        .conn
        .query_row(
            "select id from guest_preferences order by id limit 1",
            [],
            |r| r.get::<_, String>(0),
        )
        .expect("a preference")
        .parse()
        .expect("uuid");

    // A deletes offline; B edits the same row afterwards and syncs first.
    outbox::write(
        &mut a.conn,
        "guest_preferences",
        PushOp::Delete,
        preference,
        Default::default(),
    )
    .expect("delete");
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    update(
        &mut b,
        "guest_preferences",
        preference,
        json!({"pillow_type": "feather, extra"}),
    );
    b.sync().await;
    let report = a.sync().await;
    assert_eq!(report.rejected, 1);
    let (conflict, reason): (i64, String) = a
        .conn
        .query_row(
            "select id, reason from conflicts where row_id = ?1",
            [preference.to_string()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("A's conflict");
    assert_eq!(reason, "edited_elsewhere");
    assert_eq!(
        mirror::read(&a.conn, "guest_preferences", &preference.to_string())
            .expect("read")
            .map(|row| row["pillow_type"].clone()),
        Some(json!("feather, extra")),
        "the edited row is back on A"
    );

    // The clerk keeps the delete: it goes again, now later than the edit, and reaches B.
    conflicts::resolve(&mut a.conn, conflict, conflicts::Resolution::KeepMine).expect("resolve");
    a.sync().await;
    b.sync().await;
    for (name, laptop) in [("A", &a), ("B", &b)] {
        assert!(
            mirror::read(&laptop.conn, "guest_preferences", &preference.to_string())
                .expect("read")
                .is_none(),
            "deleted on {name}"
        );
    }
    let left: i64 =
        sqlx::query_scalar("select count(*) from public.guest_preferences where id = $1")
            .bind(preference)
            .fetch_one(&db.pool)
            .await
            .expect("count");
    assert_eq!(left, 0);
}

#[tokio::test]
async fn a_laptop_clock_a_day_ahead_does_not_win_every_conflict() {
    const CAP_MS: i64 = 300;
    let db = TestDb::migrated().await;
    db.seed(1, 10).await;
    let server = TestServer::start_with(&db, |state| state.with_max_clock_ahead_ms(CAP_MS)).await;
    let (mut ahead, mut on_time) =
        desk_and_manager(&db, &server, "clock a day ahead", "clock on time").await;
    // The laptop's hybrid clock has seen a wall clock a day ahead: every stamp it makes from
    // now on is a day in the future (that is how an HLC carries a fast clock forward).
    let node = Uuid::now_v7();
    let day_ahead = Hlc {
        wall_ms: chrono::Utc::now().timestamp_millis() + 86_400_000,
        counter: 0,
        node,
    };
    mirror::set_state(&ahead.conn, "hlc", &day_ahead.to_string()).expect("skew the clock");
    let guest = some_guest(&ahead, 0);

    // Round after round, both edit the phone offline; whoever edits later in real time wins,
    // although one laptop's stamps all say "tomorrow".
    for round in 0..3 {
        let first_is_ahead = round % 2 == 0;
        let (first, second) = if first_is_ahead {
            (&mut ahead, &mut on_time)
        } else {
            (&mut on_time, &mut ahead)
        };
        update(
            first,
            "guests",
            guest,
            json!({"phone": format!("first {round}")}),
        );
        first.sync().await;
        // Later by more than the server's cap on stamps from the future.
        tokio::time::sleep(std::time::Duration::from_millis(CAP_MS as u64 * 3)).await;
        update(
            second,
            "guests",
            guest,
            json!({"phone": format!("second {round}")}),
        );
        second.sync().await;
        first.sync().await;
        assert_eq!(
            server_value(&db, "guests", guest, "phone").await,
            json!(format!("second {round}")),
            "round {round}: the later edit wins (first edit made by the laptop {} ahead)",
            if first_is_ahead { "a day" } else { "not" }
        );
    }
    for laptop in [&ahead, &on_time] {
        mirror_matches_server(&db, laptop)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
}

#[tokio::test]
async fn a_stale_offline_edit_from_a_clock_a_day_ahead_does_not_win_after_the_outage() {
    let db = TestDb::migrated().await;
    db.seed(1, 10).await;
    let server = TestServer::start(&db).await;
    let (mut ahead, mut on_time) =
        desk_and_manager(&db, &server, "clock a day ahead", "clock on time").await;
    // The laptop's clock ran a day ahead: its hybrid clock carries stamps from tomorrow.
    let day_ahead = Hlc {
        wall_ms: chrono::Utc::now().timestamp_millis() + 86_400_000,
        counter: 0,
        node: Uuid::now_v7(),
    };
    mirror::set_state(&ahead.conn, "hlc", &day_ahead.to_string()).expect("skew the clock");
    let guest = some_guest(&ahead, 0);

    // It edits the phone and loses its connection before it can push.
    update(
        &mut ahead,
        "guests",
        guest,
        json!({"phone": "+1 555 0001 (stale)"}),
    );
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    // Meanwhile a colleague makes a later edit, which reaches the server.
    update(
        &mut on_time,
        "guests",
        guest,
        json!({"phone": "+1 555 0002 (later)"}),
    );
    on_time.sync().await;
    // The connection is back: the stale edit, pushed long after the server's cap could help,
    // must not overwrite the later one it never saw.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    ahead.sync().await;
    on_time.sync().await;
    assert_eq!(
        server_value(&db, "guests", guest, "phone").await,
        json!("+1 555 0002 (later)"),
        "the stale edit from the clock a day ahead won"
    );
    let lost: i64 = ahead
        .conn
        .query_row(
            "select count(*) from conflicts where row_id = ?1 and reason = 'superseded'",
            [guest.to_string()],
            |r| r.get(0),
        )
        .expect("conflicts");
    assert_eq!(lost, 1, "the stale edit waits in its laptop's inbox");
    for laptop in [&ahead, &on_time] {
        mirror_matches_server(&db, laptop)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
}

/// A stay of the first tenant in `status` whose guest is an active loyalty member, with the
/// member: (stay, member).
async fn member_stay(db: &TestDb, status: &str, offset: i64) -> (Uuid, Uuid) {
    sqlx::query_as(
        "select r.id, m.id from public.reservations r
           join public.loyalty_members m on m.tenant_id = r.tenant_id and m.guest_id = r.guest_id
          where r.tenant_id = $1 and r.status = $2 and m.status = 'active'
          order by r.id limit 1 offset $3",
    )
    .bind(first_tenant(db).await)
    .bind(status)
    .bind(offset)
    .fetch_one(&db.pool)
    .await
    .expect("a member's stay")
}

/// What the desk does at check-out, through the client library: the status change, then the
/// stay's points with the ids derived from the stay and the member.
fn check_out_and_earn(laptop: &mut Laptop, stay: Uuid, member: Uuid, points: i64) {
    for status in ["checked_in", "checked_out"] {
        update(
            laptop,
            "reservations",
            stay,
            json!({"status": status, format!("{status}_at"): chrono::Utc::now().to_rfc3339()}),
        );
    }
    loyalty::earn_derived(
        &mut laptop.conn,
        derived::stay_earning_id(stay, member),
        member,
        points,
        "earn",
        "Stay",
        ("reservation", stay),
    )
    .expect("earn");
}

async fn entries_with_id(db: &TestDb, id: Uuid) -> i64 {
    sqlx::query_scalar("select count(*) from public.loyalty_transactions where id = $1")
        .bind(id)
        .fetch_one(&db.pool)
        .await
        .expect("count")
}

#[tokio::test]
async fn a_stays_points_are_earned_once_and_only_for_an_accepted_check_out() {
    let db = TestDb::migrated().await;
    db.seed(1, 200).await;
    let server = TestServer::start(&db).await;
    let (mut a, mut b) = desk_and_manager(&db, &server, "desk A", "desk B").await;

    // Two desks check the same guest out while offline: both derive the stay's points.
    let (stay, member) = member_stay(&db, "confirmed", 0).await;
    let balance = "select points_balance from public.loyalty_members where id = $1";
    let before: i64 = sqlx::query_scalar(balance)
        .bind(member)
        .fetch_one(&db.pool)
        .await
        .expect("balance");
    check_out_and_earn(&mut a, stay, member, 120);
    check_out_and_earn(&mut b, stay, member, 120);
    a.sync().await;
    let report = b.sync().await;
    assert_eq!(
        report.rejected, 0,
        "the second desk's entry is not a conflict"
    );
    let ledger_conflicts: i64 = b
        .conn
        .query_row(
            "select count(*) from conflicts where table_name = 'loyalty_transactions'",
            [],
            |r| r.get(0),
        )
        .expect("conflicts");
    assert_eq!(ledger_conflicts, 0, "the derived entry waits for review");
    assert_eq!(
        entries_with_id(&db, derived::stay_earning_id(stay, member)).await,
        1
    );
    let after: i64 = sqlx::query_scalar(balance)
        .bind(member)
        .fetch_one(&db.pool)
        .await
        .expect("balance");
    assert_eq!(after, before + 120, "the stay earned once");

    // Another stay: desk A cancels it and syncs; desk B, offline, checks the guest in and out.
    // The server refuses B's check-out (a cancelled stay cannot move), so it earns nothing, and
    // B's inbox says why.
    let (cancelled, member) = member_stay(&db, "confirmed", 1).await;
    let before: i64 = sqlx::query_scalar(balance)
        .bind(member)
        .fetch_one(&db.pool)
        .await
        .expect("balance");
    update(
        &mut a,
        "reservations",
        cancelled,
        json!({"status": "cancelled", "cancelled_at": chrono::Utc::now().to_rfc3339()}),
    );
    a.sync().await;
    check_out_and_earn(&mut b, cancelled, member, 80);
    b.sync().await;
    assert_eq!(
        entries_with_id(&db, derived::stay_earning_id(cancelled, member)).await,
        0,
        "a refused check-out earned points"
    );
    let after: i64 = sqlx::query_scalar(balance)
        .bind(member)
        .fetch_one(&db.pool)
        .await
        .expect("balance");
    assert_eq!(after, before);
    let reasons: Vec<String> = b
        .conn
        .prepare("select reason from conflicts where row_id in (?1, ?2) order by id")
        .expect("prepare")
        .query_map(
            [
                cancelled.to_string(),
                derived::stay_earning_id(cancelled, member).to_string(),
            ],
            |r| r.get(0),
        )
        .expect("conflicts")
        .collect::<Result<_, _>>()
        .expect("reasons");
    assert!(
        reasons.contains(&"stay_not_checked_out".to_owned()),
        "{reasons:?}"
    );
    mirror_matches_server(&db, &b)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
}

#[tokio::test]
async fn concurrent_edits_give_the_same_row_whichever_laptop_syncs_first() {
    let db = TestDb::migrated().await;
    db.seed(1, 20).await;
    let server = TestServer::start(&db).await;
    let (mut a, mut b) = desk_and_manager(&db, &server, "A", "B").await;
    for (round, a_syncs_first) in [(0, true), (1, false)] {
        // Offline, A sets the phone and the city; later, B sets the e-mail and the postal code.
        let guest = some_guest(&a, 3 + round);
        let city_seen = server_value(&db, "guests", guest, "city").await;
        update(
            &mut a,
            "guests",
            guest,
            json!({"phone": format!("+351 {round}"), "city": "Porto (desk A)"}),
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        update(
            &mut b,
            "guests",
            guest,
            json!({"email": format!("later{round}@example.com"), "postal_code": "1000-001"}),
        );
        if a_syncs_first {
            a.sync().await;
            b.sync().await;
        } else {
            b.sync().await;
            a.sync().await;
        }
        a.sync().await;
        b.sync().await;
        let (phone, email, city, postal): (
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
        ) = sqlx::query_as(
            "select phone, email, city, postal_code from public.guests where id = $1",
        )
        .bind(guest)
        .fetch_one(&db.pool)
        .await
        .expect("guest");
        let order = if a_syncs_first { "A first" } else { "B first" };
        // Phone and e-mail are separate: both stay, in either order.
        assert_eq!(
            phone,
            Some(format!("+351 {round}")),
            "{order}: the phone was lost"
        );
        assert_eq!(email, Some(format!("later{round}@example.com")), "{order}");
        // The address is one group: B's later edit wins it whole, as B saw it.
        assert_eq!(postal.as_deref(), Some("1000-001"), "{order}");
        assert_ne!(
            city.as_deref(),
            Some("Porto (desk A)"),
            "{order}: A's city mixed with B's postal code"
        );
        assert_eq!(json!(city), city_seen, "{order}: the city is the one B saw");
        for laptop in [&a, &b] {
            mirror_matches_server(&db, laptop)
                .await
                .unwrap_or_else(|e| panic!("{order}: {e}"));
        }
    }
}

/// A laptop's wall clock, a day slow.
struct DayBehind;

impl Clock for DayBehind {
    fn now_ms(&self) -> i64 {
        SystemClock.now_ms() - 86_400_000
    }
}

/// The stamp the server keeps for the last write of a field group of a row.
async fn group_stamp(db: &TestDb, id: Uuid, group: &str) -> Hlc {
    let text: String =
        sqlx::query_scalar("select group_stamps ->> $2 from app.row_clocks where row_id = $1")
            .bind(id)
            .bind(group)
            .fetch_one(&db.pool)
            .await
            .expect("the row's clock");
    text.parse().expect("a stamp")
}

#[tokio::test]
async fn a_laptop_clock_a_day_behind_orders_its_edits_after_what_it_has_seen() {
    let db = TestDb::migrated().await;
    db.seed(1, 10).await;
    let server = TestServer::start(&db).await;
    let (mut behind, mut on_time) =
        desk_and_manager(&db, &server, "clock a day behind", "clock on time").await;
    let guest = some_guest(&behind, 0);

    // Round after round the laptop on time edits the phone and syncs; the slow one syncs (and so
    // sees that edit), then edits the phone itself. Its edit is the later one, and the row's
    // clock says so: the stamp kept is the slow laptop's, after the one it saw, although its
    // wall clock says yesterday.
    let mut last = None;
    for round in 0..3 {
        update(
            &mut on_time,
            "guests",
            guest,
            json!({"phone": format!("on time {round}")}),
        );
        on_time.sync().await;
        let seen = group_stamp(&db, guest, "phone").await;
        behind.sync().await;
        outbox::write_with_clock(
            &mut behind.conn,
            &DayBehind,
            "guests",
            PushOp::Update,
            guest,
            object(json!({"phone": format!("behind {round}")})),
        )
        .expect("edit on the slow laptop");
        behind.sync().await;
        on_time.sync().await;
        assert_eq!(
            server_value(&db, "guests", guest, "phone").await,
            json!(format!("behind {round}")),
            "round {round}: the later edit is on the server"
        );
        let kept = group_stamp(&db, guest, "phone").await;
        let node: Uuid = mirror::state(&behind.conn, "node_id")
            .expect("state")
            .and_then(|n| n.parse().ok())
            .expect("the slow laptop's node");
        assert_eq!(
            kept.node, node,
            "round {round}: the row's clock records the slow laptop's edit as the last one ({kept}, saw {seen})"
        );
        assert!(kept > seen, "round {round}: {kept} orders after {seen}");
        assert!(
            last.is_none_or(|last| kept > last),
            "round {round}: the slow laptop's stamps only go forward"
        );
        last = Some(kept);
    }

    // A delete made after seeing an edit is not refused as older than that edit.
    let preference: Uuid = behind
        .conn
        .query_row(
            "select id from guest_preferences order by id limit 1",
            [],
            |r| r.get::<_, String>(0),
        )
        .expect("a preference")
        .parse()
        .expect("uuid");
    update(
        &mut on_time,
        "guest_preferences",
        preference,
        json!({"pillow_type": "feather"}),
    );
    on_time.sync().await;
    behind.sync().await;
    outbox::write_with_clock(
        &mut behind.conn,
        &DayBehind,
        "guest_preferences",
        PushOp::Delete,
        preference,
        Default::default(),
    )
    .expect("delete on the slow laptop");
    let report = behind.sync().await;
    assert_eq!(
        report.rejected,
        0,
        "the delete was made after the edit it saw, yet: {:?}",
        behind
            .conn
            .query_row("select group_concat(reason) from conflicts", [], |r| r
                .get::<_, Option<
                String,
            >>(
                0
            ))
            .expect("conflicts")
    );
    on_time.sync().await;
    let left: i64 =
        sqlx::query_scalar("select count(*) from public.guest_preferences where id = $1")
            .bind(preference)
            .fetch_one(&db.pool)
            .await
            .expect("count");
    assert_eq!(left, 0, "the preference is deleted on the server");
    for laptop in [&behind, &on_time] {
        mirror_matches_server(&db, laptop)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
}
