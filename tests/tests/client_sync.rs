//! The laptop side against the real server: the mirror's schema agrees with Postgres through the
//! synced-column list; local writes go through the outbox; two laptops that worked offline
//! converge to the server; a rejected double booking lands in the losing laptop's conflicts.

use std::collections::BTreeMap;

use pms_sync_client::engine::{initial_sync, sync_once};
use pms_sync_client::mirror::{self, Kind};
use pms_sync_client::{conflicts, outbox};
use pms_sync_protocol::tables::SYNCED_TABLES;
use pms_sync_protocol::wire::PushOp;
use pms_tests::laptops::{mirror_matches_server, object, staff_emails, Laptop};
use pms_tests::{TestDb, TestServer};
use serde_json::json;
use uuid::Uuid;

#[tokio::test]
async fn the_mirror_schema_matches_postgres_through_the_synced_columns() {
    let db = TestDb::migrated().await;
    let conn = mirror::open_in_memory().expect("mirror");
    let mut problems = Vec::new();
    for table in SYNCED_TABLES {
        let local: BTreeMap<String, Kind> = mirror::columns(&conn, table.name)
            .expect("columns")
            .iter()
            .cloned()
            .collect();
        let listed: Vec<&str> = table.columns.to_vec();
        let local_names: Vec<&str> = local.keys().map(String::as_str).collect();
        let mut listed_sorted = listed.clone();
        listed_sorted.sort_unstable();
        if local_names != listed_sorted {
            problems.push(format!(
                "{}: mirror has {local_names:?}, the list says {listed_sorted:?}",
                table.name
            ));
        }
        let remote: Vec<(String, String, String)> = sqlx::query_as(
            "select a.attname::text, t.typname::text, t.typcategory::text from pg_attribute a
               join pg_type t on t.oid = a.atttypid
              where a.attrelid = $1::regclass and a.attnum > 0 and not a.attisdropped",
        )
        .bind(format!("public.{}", table.name))
        .fetch_all(&db.pool)
        .await
        .expect("postgres columns");
        for column in &listed {
            let Some((_, typname, category)) = remote.iter().find(|(name, ..)| name == column)
            else {
                problems.push(format!(
                    "{}.{column} is listed but not in Postgres",
                    table.name
                ));
                continue;
            };
            let expected = match (typname.as_str(), category.as_str()) {
                ("int2" | "int4" | "int8", _) => Kind::Integer,
                ("bool", _) => Kind::Boolean,
                ("jsonb", _) | (_, "A") => Kind::Json,
                _ => Kind::Text,
            };
            if local.get(*column) != Some(&expected) {
                problems.push(format!(
                    "{}.{column}: Postgres {typname} wants {expected:?}, mirror has {:?}",
                    table.name,
                    local.get(*column)
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "mirror and Postgres disagree:\n{}",
        problems.join("\n")
    );
}

/// The real server and two front-desk laptops of the first tenant, each synced once.
async fn two_desks(db: &TestDb) -> (TestServer, Laptop, Laptop) {
    let emails = staff_emails(db, "front_desk").await;
    let server = TestServer::start(db).await;
    let mut a = Laptop::sign_in(db, &server, &emails[0], "laptop A").await;
    let mut b = Laptop::sign_in(db, &server, &emails[1], "laptop B").await;
    for l in [&mut a, &mut b] {
        l.sync().await;
    }
    (server, a, b)
}

#[tokio::test]
async fn two_laptops_that_worked_offline_converge_to_the_server() {
    let db = TestDb::migrated().await;
    db.seed(1, 30).await;
    let (_server, mut a, mut b) = two_desks(&db).await;
    mirror_matches_server(&db, &a)
        .await
        .expect("A starts equal to the server");

    // Offline: A registers a walk-in and B corrects an existing guest's phone; both see their
    // own work at once, with changes waiting.
    let walk_in = Uuid::now_v7();
    outbox::write(
        &mut a.conn,
        "guests",
        PushOp::Insert,
        walk_in,
        object(json!({"first_name": "Walk", "last_name": "In", "email": "walk.in@example.com"})),
    )
    .expect("local insert");
    let existing: String = b
        .conn
        .query_row("select id from guests order by id limit 1", [], |r| {
            r.get(0)
        })
        .expect("a guest");
    outbox::write(
        &mut b.conn,
        "guests",
        PushOp::Update,
        existing.parse().expect("uuid"),
        object(json!({"phone": "+351 900 000 000"})),
    )
    .expect("local update");
    let full_name: String = a
        .conn
        .query_row(
            "select full_name from guests where id = ?1",
            [walk_in.to_string()],
            |r| r.get(0),
        )
        .expect("local row");
    assert_eq!(full_name, "Walk In");
    assert_eq!(
        outbox::entries(&b.conn, false).expect("outbox").len(),
        1,
        "one change waiting on B"
    );

    // Back online, in any order, twice: everyone ends equal to the server.
    for _ in 0..2 {
        for l in [&mut b, &mut a] {
            sync_once(&mut l.conn, &l.remote).await.expect("sync");
        }
    }
    for (name, l) in [("A", &a), ("B", &b)] {
        mirror_matches_server(&db, l)
            .await
            .unwrap_or_else(|e| panic!("laptop {name}: {e}"));
        assert!(
            outbox::entries(&l.conn, true).expect("outbox").is_empty(),
            "laptop {name} still holds changes"
        );
    }
    // The walk-in found by local search (FTS5 trigram), on the other laptop.
    let found = mirror::search_guests(&b.conn, "alk.in@ex", 10).expect("search");
    assert_eq!(found, vec![(walk_in.to_string(), "Walk In".to_owned())]);
}

#[tokio::test]
async fn the_laptop_that_loses_a_double_booking_keeps_it_in_its_conflicts() {
    let db = TestDb::migrated().await;
    db.seed(1, 20).await;
    let (_server, mut a, mut b) = two_desks(&db).await;
    let (property, room_type, room): (String, String, String) = a
        .conn
        .query_row(
            "select property_id, room_type_id, id from rooms order by number limit 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .expect("room");
    let stay = |name: &str| {
        object(
            json!({"guest_name": name, "property_id": property, "room_type_id": room_type, "room_id": room,
                      "check_in_date": "2027-08-01", "check_out_date": "2027-08-04", "status": "confirmed"}),
        )
    };
    let (from_a, from_b) = (Uuid::now_v7(), Uuid::now_v7());
    outbox::write(
        &mut a.conn,
        "reservations",
        PushOp::Insert,
        from_a,
        stay("Booked on A"),
    )
    .expect("A books");
    outbox::write(
        &mut b.conn,
        "reservations",
        PushOp::Insert,
        from_b,
        stay("Booked on B"),
    )
    .expect("B books");
    sync_once(&mut a.conn, &a.remote).await.expect("A syncs");
    let report = sync_once(&mut b.conn, &b.remote).await.expect("B syncs");
    assert_eq!(report.rejected, 1);

    let (reason, mine): (String, String) = b
        .conn
        .query_row(
            "select reason, mine_json from conflicts where row_id = ?1",
            [from_b.to_string()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("B's conflict");
    assert_eq!(reason, "room_unavailable");
    assert!(
        mine.contains("Booked on B"),
        "the laptop's values are kept: {mine}"
    );
    // Both mirrors show the one booking that holds the room, with its sequential number.
    for l in [&a, &b] {
        let rows: Vec<(String, Option<i64>)> = l
            .conn
            .prepare("select guest_name, confirmation_number from reservations where room_id = ?1 and check_in_date = '2027-08-01'")
            .expect("prepare")
            .query_map([&room], |r| Ok((r.get(0)?, r.get(1)?)))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows");
        assert_eq!(rows.len(), 1, "{rows:?}");
        assert_eq!(rows[0].0, "Booked on A");
        assert!(
            rows[0].1.is_some(),
            "the server's confirmation number reached the laptop"
        );
    }

    // The clerk on B moves the booking to another room; it goes through and reaches A.
    let (conflict, other_room): (i64, String) = b
        .conn
        .query_row(
            "select c.id, (select id from rooms where id <> ?1 and property_id = ?2 and room_type_id = ?3 order by number limit 1)
               from conflicts c where c.row_id = ?4",
            [&room, &property, &room_type, &from_b.to_string()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("conflict and a free room");
    conflicts::resolve(
        &mut b.conn,
        conflict,
        conflicts::Resolution::Edited(object(json!({"room_id": other_room}))),
    )
    .expect("resolve");
    sync_once(&mut b.conn, &b.remote)
        .await
        .expect("B syncs again");
    sync_once(&mut a.conn, &a.remote)
        .await
        .expect("A syncs again");
    for l in [&a, &b] {
        let moved: String = l
            .conn
            .query_row(
                "select room_id from reservations where id = ?1",
                [from_b.to_string()],
                |r| r.get(0),
            )
            .expect("the moved booking is on both laptops");
        assert_eq!(moved, other_room);
    }
    let open: i64 = b
        .conn
        .query_row(
            "select count(*) from conflicts where resolved_at is null",
            [],
            |r| r.get(0),
        )
        .expect("count");
    assert_eq!(open, 0);
}

/// The initial sync copies the tables page by page from a snapshot taken at the feed's head, can
/// be interrupted and resumed, and ends equal to the server, with the platform's plans and flags.
#[tokio::test]
async fn an_interrupted_initial_sync_resumes_and_ends_complete() {
    let db = TestDb::migrated().await;
    db.seed(2, 1_500).await;
    let email: String = sqlx::query_scalar(
        "select s.email from public.staff s join public.tenants t on t.id = s.tenant_id
          where s.role = 'front_desk' and t.subdomain = 'demo-7-0' order by s.email limit 1",
    )
    .fetch_one(&db.pool)
    .await
    .expect("desk");
    let tenant: Uuid =
        sqlx::query_scalar("select id from public.tenants where subdomain = 'demo-7-0'")
            .fetch_one(&db.pool)
            .await
            .expect("tenant");
    let server = TestServer::start(&db).await;
    let mut l = Laptop::sign_in(&db, &server, &email, "new laptop").await;

    // Stopped in the middle of the guests (a crash, a closed lid) ...
    let stopped = initial_sync(&mut l.conn, &l.remote, |progress| {
        progress.table != "guests"
    })
    .await;
    assert!(
        matches!(stopped, Err(pms_sync_client::Error::Interrupted)),
        "{stopped:?}"
    );
    let partial: i64 = l
        .conn
        .query_row("select count(*) from guests", [], |r| r.get(0))
        .expect("count");
    assert_eq!(
        partial,
        pms_sync_client::engine::SNAPSHOT_PAGE,
        "stopped after the first page of guests"
    );
    // ... while the desk keeps working on the server.
    sqlx::query("insert into public.guests (tenant_id, first_name, last_name) values ($1, 'Arrived', 'Meanwhile')")
        .bind(tenant)
        .execute(&db.pool)
        .await
        .expect("insert");

    // Resumed: it goes on from the last page, reports progress to the end, and is complete.
    let mut last = None;
    initial_sync(&mut l.conn, &l.remote, |progress| {
        last = Some(progress.clone());
        true
    })
    .await
    .expect("resumed initial sync");
    let last = last.expect("progress was reported");
    assert_eq!(last.tables_done, last.tables_total);
    mirror_matches_server(&db, &l)
        .await
        .expect("guests equal to the server");
    let total: i64 = l
        .conn
        .query_row("select count(*) from guests", [], |r| r.get(0))
        .expect("count");
    assert!(
        total > partial,
        "the resumed sync added the rest ({partial} then {total})"
    );
    for (table, server_sql) in [
        (
            "reservations",
            "select count(*) from public.reservations where tenant_id = $1",
        ),
        (
            "loyalty_transactions",
            "select count(*) from public.loyalty_transactions where tenant_id = $1",
        ),
        (
            "plans",
            "select count(*) from public.plans where tenant_id is null or tenant_id = $1",
        ),
        (
            "feature_flags",
            "select count(*) from public.feature_flags where tenant_id is null or tenant_id = $1",
        ),
    ] {
        let server: i64 = sqlx::query_scalar(server_sql)
            .bind(tenant)
            .fetch_one(&db.pool)
            .await
            .expect("server count");
        let local: i64 = l
            .conn
            .query_row(&format!("select count(*) from {table}"), [], |r| r.get(0))
            .expect("local count");
        assert_eq!(local, server, "{table}");
    }
    // A second call does nothing; ordinary syncs go on from the feed.
    assert_eq!(
        initial_sync(&mut l.conn, &l.remote, |_| true)
            .await
            .expect("again")
            .pulled,
        0
    );
}

/// Two laptops edit the same rows offline: edits of different field groups both survive, the
/// same group goes to the later edit with the other kept as a conflict, and a late cancellation
/// never undoes a check-in.
#[tokio::test]
async fn concurrent_edits_merge_by_field_group_clock_and_status_rules() {
    let db = TestDb::migrated().await;
    db.seed(1, 20).await;
    let tenant: Uuid = sqlx::query_scalar("select id from public.tenants")
        .fetch_one(&db.pool)
        .await
        .expect("tenant");
    let (_server, mut a, mut b) = two_desks(&db).await;
    let guest: Uuid =
        sqlx::query_scalar("select id from public.guests where tenant_id = $1 order by id limit 1")
            .bind(tenant)
            .fetch_one(&db.pool)
            .await
            .expect("guest");

    // Different groups: A writes a note, B fixes the city. Both survive.
    outbox::write(
        &mut a.conn,
        "guests",
        PushOp::Update,
        guest,
        object(json!({"notes": "Prefers a quiet room"})),
    )
    .expect("A edits");
    outbox::write(
        &mut b.conn,
        "guests",
        PushOp::Update,
        guest,
        object(json!({"city": "Porto"})),
    )
    .expect("B edits");
    // Same group, B's edit later than A's: B's email wins whoever pushes first.
    outbox::write(
        &mut a.conn,
        "guests",
        PushOp::Update,
        guest,
        object(json!({"email": "from.a@example.com"})),
    )
    .expect("A edits");
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    outbox::write(
        &mut b.conn,
        "guests",
        PushOp::Update,
        guest,
        object(json!({"email": "from.b@example.com"})),
    )
    .expect("B edits");
    sync_once(&mut b.conn, &b.remote).await.expect("B syncs");
    sync_once(&mut a.conn, &a.remote).await.expect("A syncs");
    sync_once(&mut b.conn, &b.remote)
        .await
        .expect("B syncs again");

    let (notes, city, email): (Option<String>, Option<String>, Option<String>) =
        sqlx::query_as("select notes, city, email from public.guests where id = $1")
            .bind(guest)
            .fetch_one(&db.pool)
            .await
            .expect("server row");
    assert_eq!(
        notes.as_deref(),
        Some("Prefers a quiet room"),
        "A's note survived"
    );
    assert_eq!(city.as_deref(), Some("Porto"), "B's city survived");
    assert_eq!(
        email.as_deref(),
        Some("from.b@example.com"),
        "the later email won"
    );
    let (reason, mine): (String, String) = a
        .conn
        .query_row(
            "select reason, mine_json from conflicts where row_id = ?1",
            [guest.to_string()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("A keeps its losing email as a conflict");
    assert_eq!(reason, "superseded");
    assert!(mine.contains("from.a@example.com"), "{mine}");
    for (name, l) in [("A", &a), ("B", &b)] {
        mirror_matches_server(&db, l)
            .await
            .unwrap_or_else(|e| panic!("laptop {name}: {e}"));
    }

    // A checks a guest in; B, working from an older copy, cancels the same stay later.
    let stay: Uuid = sqlx::query_scalar(
        "select id from public.reservations where tenant_id = $1 and status = 'confirmed' order by check_in_date desc limit 1",
    )
    .bind(tenant)
    .fetch_one(&db.pool)
    .await
    .expect("a confirmed stay");
    outbox::write(
        &mut a.conn,
        "reservations",
        PushOp::Update,
        stay,
        object(json!({"status": "checked_in"})),
    )
    .expect("check in");
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    outbox::write(
        &mut b.conn,
        "reservations",
        PushOp::Update,
        stay,
        object(json!({"status": "cancelled", "cancellation_reason": "changed plans"})),
    )
    .expect("cancel");
    sync_once(&mut a.conn, &a.remote).await.expect("A syncs");
    sync_once(&mut b.conn, &b.remote).await.expect("B syncs");
    let status: String = sqlx::query_scalar("select status from public.reservations where id = $1")
        .bind(stay)
        .fetch_one(&db.pool)
        .await
        .expect("status");
    assert_eq!(status, "checked_in", "a late cancellation undid a check-in");
    let reason: String = b
        .conn
        .query_row(
            "select reason from conflicts where row_id = ?1",
            [stay.to_string()],
            |r| r.get(0),
        )
        .expect("B keeps its cancellation as a conflict");
    assert_eq!(reason, "invalid_transition");
    let local: String = b
        .conn
        .query_row(
            "select status from reservations where id = ?1",
            [stay.to_string()],
            |r| r.get(0),
        )
        .expect("B's copy");
    assert_eq!(local, "checked_in", "B's screen shows the server's truth");
}

/// A push larger than the server accepts (`MAX_BODY_BYTES`): 600 guests with long notes (500 of
/// them, the old fixed batch, are over the limit) and one guest whose notes alone are. The
/// batches are sized by bytes so every ordinary guest arrives; the one too large for any push
/// goes to the conflicts inbox with a message the clerk can act on, and leaves the outbox, so
/// it does not hold up what came after it.
#[tokio::test]
async fn a_push_over_the_body_limit_goes_in_batches_and_a_change_too_large_becomes_a_conflict() {
    let db = TestDb::migrated().await;
    db.seed(1, 10).await;
    let server = TestServer::start(&db).await;
    let email = staff_emails(&db, "front_desk").await.remove(0);
    let mut laptop = Laptop::sign_in(&db, &server, &email, "desk").await;
    laptop.sync().await;

    let limit = pms_server::serve::MAX_BODY_BYTES;
    let notes = "n".repeat(9_000);
    assert!(
        500 * notes.len() > limit,
        "500 such guests are over the limit"
    );
    let huge = Uuid::now_v7();
    for i in 0..600 {
        if i == 250 {
            let notes = "x".repeat(limit + 1);
            outbox::write(
                &mut laptop.conn,
                "guests",
                PushOp::Insert,
                huge,
                object(json!({"first_name": "Huge", "last_name": "Notes", "notes": notes})),
            )
            .expect("the huge guest");
        }
        outbox::write(
            &mut laptop.conn,
            "guests",
            PushOp::Insert,
            Uuid::now_v7(),
            object(json!({"first_name": format!("G{i}"), "last_name": "Batch", "notes": notes})),
        )
        .expect("a guest");
    }

    let report = sync_once(&mut laptop.conn, &laptop.remote)
        .await
        .expect("the sync goes through");
    assert_eq!((report.pushed, report.rejected), (600, 1), "{report:?}");
    let (arrived, huge_there): (i64, i64) = sqlx::query_as(
        "select (select count(*) from public.guests where last_name = 'Batch'),
                (select count(*) from public.guests where id = $1)",
    )
    .bind(huge)
    .fetch_one(&db.pool)
    .await
    .expect("counts");
    assert_eq!((arrived, huge_there), (600, 0));
    let (reason, message, mine): (String, String, String) = laptop
        .conn
        .query_row(
            "select reason, message, mine_json from conflicts where row_id = ?1 and resolved_at is null",
            [huge.to_string()],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .expect("the huge guest is in the conflicts inbox");
    assert_eq!(reason, "too_large");
    assert!(message.contains("too large"), "{message}");
    assert!(mine.contains("Huge"), "the laptop's values are kept");
    assert!(
        outbox::entries(&laptop.conn, true)
            .expect("outbox")
            .is_empty(),
        "nothing is left to push"
    );
    mirror_matches_server(&db, &laptop)
        .await
        .unwrap_or_else(|e| panic!("after the push:\n{e}"));
}

/// The client's push budget is the server's body limit (they are one constant).
#[test]
fn the_client_sizes_pushes_by_the_servers_body_limit() {
    assert_eq!(
        pms_sync_protocol::wire::MAX_BODY_BYTES,
        pms_server::serve::MAX_BODY_BYTES
    );
}

/// A laptop updated to a new version of the app migrates its mirror with a change still waiting
/// from the old version (no clock stamp, no base values): the change survives the migration and
/// reaches the server.
#[tokio::test]
async fn a_change_waiting_across_a_schema_migration_reaches_the_server() {
    let db = TestDb::migrated().await;
    db.seed(1, 10).await;
    let server = TestServer::start(&db).await;
    let email = staff_emails(&db, "front_desk").await.remove(0);
    let path = std::env::temp_dir().join(format!("pms-mirror-upgrade-{}.sqlite3", Uuid::now_v7()));
    let walk_in = Uuid::now_v7();
    {
        // the previous version of the app: only the first migration
        let mut old = rusqlite::Connection::open(&path).expect("open");
        mirror::migrations()
            .to_version(&mut old, 1)
            .expect("the old schema");
        old.execute(
            "insert into guests (id, first_name, last_name, full_name) values (?1, 'Offline', 'Walk-in', 'Offline Walk-in')",
            [walk_in.to_string()],
        )
        .expect("the row");
        old.execute(
            "insert into outbox (device_seq, change_id, table_name, op, row_id, values_json, created_at)
             values (1, ?1, 'guests', 'insert', ?2, '{\"first_name\": \"Offline\", \"last_name\": \"Walk-in\"}',
                     '2026-11-25T09:00:00Z')",
            [Uuid::now_v7().to_string(), walk_in.to_string()],
        )
        .expect("a change waiting");
        old.execute(
            "insert into sync_state (key, value) values ('next_device_seq', '2')",
            [],
        )
        .expect("the device's next number");
    }
    let upgraded = mirror::open(&path).expect("open with the new version");
    let waiting = outbox::entries(&upgraded, false).expect("outbox");
    assert_eq!(
        waiting.len(),
        1,
        "the pending change survived the migration"
    );
    assert!(waiting[0].base.is_empty() && waiting[0].stamp.is_none());

    let mut laptop = Laptop::sign_in_with(&db, &server, &email, "upgraded", upgraded).await;
    laptop.sync().await;
    let (first, last): (String, String) =
        sqlx::query_as("select first_name, last_name from public.guests where id = $1")
            .bind(walk_in)
            .fetch_one(&db.pool)
            .await
            .expect("the migrated change reached the server");
    assert_eq!((first.as_str(), last.as_str()), ("Offline", "Walk-in"));
    assert!(outbox::entries(&laptop.conn, true)
        .expect("outbox")
        .is_empty());
    mirror_matches_server(&db, &laptop)
        .await
        .unwrap_or_else(|e| panic!("after the push:\n{e}"));
    drop(laptop);
    let _ = std::fs::remove_file(&path);
}

/// A reverse proxy in front of `upstream` that takes request bodies of at most `limit` bytes
/// (nginx's `client_max_body_size` is 1 MiB by default): a larger one is read whole and answered
/// `413`, as the proxy would; the rest are passed on. Returns its address and its count of 413s.
async fn proxy_with_body_limit(
    upstream: String,
    limit: usize,
) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use axum::response::IntoResponse;
    let refused = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = refused.clone();
    let client = reqwest::Client::new();
    let app = axum::Router::new().fallback(move |request: axum::extract::Request| {
        let (client, upstream, refused) = (client.clone(), upstream.clone(), counted.clone());
        async move {
            let (parts, body) = request.into_parts();
            let body = axum::body::to_bytes(body, 64 << 20)
                .await
                .expect("the body");
            if body.len() > limit {
                refused.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                return (
                    axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                    "413 Request Entity Too Large",
                )
                    .into_response();
            }
            let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
            let mut forward = client
                .request(parts.method, format!("{upstream}{path}"))
                .body(body);
            for (name, value) in &parts.headers {
                if name != axum::http::header::HOST && name != axum::http::header::CONTENT_LENGTH {
                    forward = forward.header(name, value);
                }
            }
            let answer = forward.send().await.expect("the server answers");
            let status = answer.status();
            let kind = answer
                .headers()
                .get(axum::http::header::CONTENT_TYPE)
                .cloned();
            let mut response = (status, answer.bytes().await.expect("its body")).into_response();
            if let Some(kind) = kind {
                response
                    .headers_mut()
                    .insert(axum::http::header::CONTENT_TYPE, kind);
            }
            response
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{address}"), refused)
}

/// Behind a proxy whose body limit is lower than the server's, pushes sized for the server are
/// answered `413` by the proxy: the laptop halves its batches for the round instead of repeating
/// the refused push, every ordinary change arrives, and a change over the proxy's limit on its
/// own becomes a `too_large` conflict.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_proxy_with_a_lower_body_limit_the_push_shrinks_its_batches() {
    let db = TestDb::migrated().await;
    db.seed(1, 10).await;
    let server = TestServer::start(&db).await;
    let (proxy, refused) = proxy_with_body_limit(server.base_url.clone(), 1 << 20).await;
    let email = staff_emails(&db, "front_desk").await.remove(0);
    let conn = mirror::open_in_memory().expect("mirror");
    let mut laptop = Laptop::sign_in_at(&db, &proxy, &email, "desk", conn).await;
    laptop.sync().await;

    let notes = "n".repeat(9_000);
    let huge = Uuid::now_v7();
    for i in 0..300 {
        if i == 100 {
            // under the server's limit, over the proxy's
            outbox::write(
                &mut laptop.conn,
                "guests",
                PushOp::Insert,
                huge,
                object(json!({"first_name": "Huge", "last_name": "Notes", "notes": "x".repeat(2_000_000)})),
            )
            .expect("the huge guest");
        }
        outbox::write(
            &mut laptop.conn,
            "guests",
            PushOp::Insert,
            Uuid::now_v7(),
            object(json!({"first_name": format!("P{i}"), "last_name": "Proxied", "notes": notes})),
        )
        .expect("a guest");
    }
    let report = sync_once(&mut laptop.conn, &laptop.remote)
        .await
        .expect("the sync goes through the proxy");
    assert!(
        refused.load(std::sync::atomic::Ordering::Relaxed) > 0,
        "the proxy refused a push"
    );
    assert_eq!((report.pushed, report.rejected), (300, 1), "{report:?}");
    let arrived: i64 =
        sqlx::query_scalar("select count(*) from public.guests where last_name = 'Proxied'")
            .fetch_one(&db.pool)
            .await
            .expect("count");
    assert_eq!(arrived, 300);
    let reason: String = laptop
        .conn
        .query_row(
            "select reason from conflicts where row_id = ?1",
            [huge.to_string()],
            |r| r.get(0),
        )
        .expect("the huge guest is in the conflicts inbox");
    assert_eq!(reason, "too_large");
    mirror_matches_server(&db, &laptop)
        .await
        .unwrap_or_else(|e| panic!("after the push:\n{e}"));
}

/// A platform plan (a global row, no tenant) changed on the server reaches the laptops of every
/// tenant through the global feed, by the same sync that brings their own tenant's changes.
#[tokio::test]
async fn a_platform_plan_change_reaches_the_laptops_of_every_tenant() {
    let db = TestDb::migrated().await;
    db.seed(2, 10).await;
    let server = TestServer::start(&db).await;
    let tenants: Vec<Uuid> = sqlx::query_scalar("select id from public.tenants order by id")
        .fetch_all(&db.pool)
        .await
        .expect("tenants");
    let mut laptops = Vec::new();
    for (n, tenant) in tenants.iter().enumerate() {
        let email = pms_tests::laptops::tenant_staff_emails(&db, *tenant, "front_desk").await;
        let mut laptop = Laptop::sign_in(&db, &server, &email[0], &format!("desk {n}")).await;
        laptop.sync().await;
        laptops.push(laptop);
    }
    let plan: Uuid = sqlx::query_scalar(
        "update public.plans set display_name = 'Pro (renamed)'
          where id = (select id from public.plans where tenant_id is null order by id limit 1)
          returning id",
    )
    .fetch_one(&db.pool)
    .await
    .expect("rename a platform plan");
    for (n, laptop) in laptops.iter_mut().enumerate() {
        let report = sync_once(&mut laptop.conn, &laptop.remote)
            .await
            .expect("sync");
        let name: String = laptop
            .conn
            .query_row(
                "select display_name from plans where id = ?1",
                [plan.to_string()],
                |r| r.get(0),
            )
            .expect("the plan in the mirror");
        assert_eq!(name, "Pro (renamed)", "laptop of tenant {n} ({report:?})");
    }
    // A second round brings nothing again: the global cursor moved past the change.
    for laptop in &mut laptops {
        let report = sync_once(&mut laptop.conn, &laptop.remote)
            .await
            .expect("sync");
        assert_eq!(report.pulled, 0, "{report:?}");
    }
}

#[tokio::test]
async fn a_laptop_keeps_each_pushed_change_until_the_pull_passes_where_that_change_landed() {
    let db = TestDb::migrated().await;
    db.seed(1, 10).await;
    let (_server, mut a, _b) = two_desks(&db).await;
    // A backlog from hours offline: more than one part of a push (the server writes each part in
    // a transaction of its own, so the changes land at several feed positions).
    let count = 2 * pms_server::serve::push::PUSH_PART + 10;
    for n in 0..count {
        outbox::write(
            &mut a.conn,
            "guests",
            PushOp::Insert,
            Uuid::now_v7(),
            object(json!({"first_name": "Backlog", "last_name": format!("Guest {n}")})),
        )
        .expect("write");
    }
    pms_sync_client::engine::push_pending(&mut a.conn, &a.remote)
        .await
        .expect("push");

    // Each entry waits for the pull to pass its own position, not the push's last one: a page
    // between the two would otherwise lay the laptop's older value over a colleague's newer edit.
    let kept: Vec<(String, i64)> = a
        .conn
        .prepare("select row_id, acked_seq from outbox where status = 'acked' order by device_seq")
        .expect("statement")
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("entries")
        .collect::<Result<_, _>>()
        .expect("entries");
    assert_eq!(kept.len(), count);
    let mut positions = Vec::new();
    for (row_id, acked_seq) in &kept {
        let landed: i64 = sqlx::query_scalar(
            "select seq from app.changes where table_name = 'guests' and row_id = $1::uuid",
        )
        .bind(row_id)
        .fetch_one(&db.pool)
        .await
        .expect("the feed entry");
        assert_eq!(*acked_seq, landed, "guest {row_id}");
        positions.push(landed);
    }
    positions.dedup();
    assert!(
        positions.len() > 1,
        "one position for every change: {positions:?}"
    );
}
