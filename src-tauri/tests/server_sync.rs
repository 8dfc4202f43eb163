//! The desk against the real sync server and Postgres: connecting runs the initial sync; with
//! the server stopped, a new guest and booking wait in the outbox while the background sync
//! reports offline; once the server is back they are pushed and the booking gets its sequential
//! confirmation number; a double booking made by another laptop meanwhile lands in the conflicts
//! inbox and is resolved by moving the room.

mod common;

use std::time::{Duration, Instant};

use common::TestDesk;
use pms_sync_client::engine::{remember_session, sync_once};
use pms_sync_client::remote::Remote;
use pms_sync_client::{mirror, outbox};
use pms_sync_protocol::wire::PushOp;
use pms_tests::{set_password, TestDb, APP_ROLE};
use serde_json::{json, Value};
use tokio::net::TcpListener;
use uuid::Uuid;

const PASSWORD: &str = "desk-password-1";

/// The sync server on a port that stays the same across a stop and a start.
struct Server {
    port: u16,
    secret: String,
    stop: Option<(
        tokio::sync::oneshot::Sender<()>,
        tokio::task::JoinHandle<()>,
    )>,
}

impl Server {
    async fn start(db: &TestDb, port: u16, secret: &str) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", port)).await.expect("bind");
        let port = listener.local_addr().expect("address").port();
        let state = pms_server::serve::AppState::new(
            db.pool_as(APP_ROLE, 8).await,
            &pms_server::config::Secret::new(secret.to_owned()),
        );
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _ = pms_server::serve::run(listener, state, async {
                let _ = stopped.await;
            })
            .await;
        });
        Self {
            port,
            secret: secret.to_owned(),
            stop: Some((stop, task)),
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    async fn stop(&mut self) {
        if let Some((stop, task)) = self.stop.take() {
            let _ = stop.send(());
            let _ = task.await;
        }
    }
}

/// Calls the desk from async code (the command runs on Tauri's runtime; this thread waits).
fn call(desk: &TestDesk, command: &str, args: Value) -> Result<Value, Value> {
    tokio::task::block_in_place(|| desk.call(command, args))
}

fn ok(desk: &TestDesk, command: &str, args: Value) -> Value {
    call(desk, command, args).unwrap_or_else(|error| panic!("{command} failed: {error}"))
}

/// Waits (up to 30 s) for the background sync's status to satisfy `done`.
async fn status_until(desk: &TestDesk, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let started = Instant::now();
    loop {
        let status = ok(desk, "get_sync_status", json!({}));
        if done(&status) {
            return status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "waited 30 s for {what}; status: {status}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn offline_work_is_pushed_when_the_server_is_back_and_a_double_booking_is_moved() {
    let db = TestDb::migrated().await;
    db.seed(1, 40).await;
    let emails: Vec<String> = sqlx::query_scalar(
        "select email from public.staff where role in ('front_desk', 'manager') order by role, email limit 2",
    )
    .fetch_all(&db.pool)
    .await
    .expect("two staff accounts");
    for email in &emails {
        set_password(&db.pool, email, PASSWORD).await;
    }
    // an imported booking keeps the legacy store's code
    let imported: String = sqlx::query_scalar(
        "update public.reservations set legacy_confirmation_code = 'T-101-18C2F'
          where id = (select id from public.reservations order by id limit 1) returning id::text",
    )
    .fetch_one(&db.pool)
    .await
    .expect("a legacy code");
    let mut server =
        Server::start(&db, 0, &format!("desk-secret-{}", Uuid::new_v4().simple())).await;

    // First run: connect, and the initial sync copies the tenant.
    let desk = TestDesk::with_sync();
    let wrong = call(
        &desk,
        "connect_server",
        json!({"input": {"server": server.url(), "email": emails[0], "password": "not it"}}),
    )
    .expect_err("a wrong password is refused");
    assert_eq!(wrong["kind"], "SignInRefused");
    let status = ok(
        &desk,
        "connect_server",
        json!({"input": {"server": server.url(), "email": emails[0], "password": PASSWORD}}),
    );
    assert_eq!(status["mode"], "server");
    assert_eq!(status["initial_sync_done"], true);
    let guests_here: i64 = desk
        .desk()
        .conn()
        .query_row("select count(*) from guests", [], |r| r.get(0))
        .expect("guests");
    assert!(
        guests_here >= 40,
        "the initial sync copied the guests ({guests_here})"
    );
    status_until(&desk, "online", |s| s["online"] == true).await;
    let legacy = ok(&desk, "search_reservations", json!({"text": "t-101-18c"}));
    assert_eq!(
        legacy[0]["id"], imported,
        "found by its legacy code, typed in part and in lower case"
    );
    assert_eq!(legacy[0]["legacy_code"], "T-101-18C2F");
    let session =
        std::fs::read_to_string(desk.dir.join("pms-desk.sqlite3.session")).expect("session file");
    assert!(!session.contains(PASSWORD), "the password is never stored");

    // The server goes away; the desk goes on, and a colleague signs in offline.
    server.stop().await;
    assert_eq!(status["locked"], false, "connecting signed the clerk in");
    ok(&desk, "sign_out", json!({}));
    let locked = call(&desk, "get_today", json!({})).expect_err("a locked desk shows nothing");
    assert_eq!(locked["kind"], "SignInRequired");
    let wrong = call(
        &desk,
        "sign_in",
        json!({"email": emails[0], "password": "nope"}),
    )
    .expect_err("wrong password");
    assert_eq!(wrong["kind"], "SignInRefused");
    let unknown = call(
        &desk,
        "sign_in",
        json!({"email": emails[1], "password": PASSWORD}),
    )
    .expect_err("never signed in online here");
    assert_eq!(unknown["field"], "email");
    let signed_in = ok(
        &desk,
        "sign_in",
        json!({"email": emails[0].to_uppercase(), "password": PASSWORD}),
    );
    assert_eq!(signed_in["locked"], false);
    assert_eq!(signed_in["user"]["email"], emails[0].to_lowercase());
    let credentials =
        std::fs::read_to_string(desk.dir.join("staff-credentials.json")).expect("credentials");
    assert!(!credentials.contains(PASSWORD) && credentials.contains("$argon2id$"));
    let guest = ok(
        &desk,
        "create_guest",
        json!({"input": {"first_name": "Offline", "last_name": "Walkin", "email": "walkin@example.com"}}),
    );
    let guest_id = guest["guest"]["id"].as_str().expect("id").to_owned();
    let (arrival, departure) = ("2031-03-10", "2031-03-12");
    let rooms = ok(
        &desk,
        "find_available_rooms",
        json!({"check_in": arrival, "check_out": departure}),
    );
    let room = rooms[0]["id"].as_str().expect("a free room").to_owned();
    let other_room = rooms[1]["id"]
        .as_str()
        .expect("another free room")
        .to_owned();
    let booking = ok(
        &desk,
        "create_reservation",
        json!({"input": {"guest_id": guest_id, "room_id": room, "check_in": arrival, "check_out": departure}}),
    );
    let booking_id = booking["id"].as_str().expect("id").to_owned();
    assert!(booking["confirmation_number"].is_null());
    let offline = status_until(&desk, "offline", |s| s["online"] == false).await;
    assert_eq!(
        offline["changes_waiting"], 3,
        "the guest, the booking and its history's first line wait"
    );
    assert_eq!(
        offline["last_error"],
        "The server cannot be reached. Work goes on here and is sent when the connection is back."
    );

    // Meanwhile another laptop books the same room for the same nights, and syncs first: through
    // a second instance of the (stateless) server on another port, so the desk, still retrying
    // its own address, cannot push before B has.
    let port = server.port;
    let secret = server.secret.clone();
    let mut b_server = Server::start(&db, 0, &secret).await;
    let mut other = Remote::new(b_server.url());
    let session = other
        .login(&emails[1], PASSWORD, "laptop B")
        .await
        .expect("login B");
    let mut other_conn = mirror::open_in_memory().expect("mirror B");
    remember_session(&mut other_conn, session.tenant_id).expect("session B");
    sync_once(&mut other_conn, &other).await.expect("B syncs");
    let (property, room_type): (String, String) = other_conn
        .query_row(
            "select property_id, room_type_id from rooms where id = ?1",
            [&room],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("the room on B");
    let Value::Object(values) = json!({
        "guest_name": "Laptop B Guest", "status": "confirmed", "property_id": property, "room_type_id": room_type,
        "room_id": room, "check_in_date": arrival, "check_out_date": departure, "currency": "EUR",
    }) else {
        unreachable!()
    };
    outbox::write(
        &mut other_conn,
        "reservations",
        PushOp::Insert,
        Uuid::now_v7(),
        values,
    )
    .expect("B books");
    sync_once(&mut other_conn, &other)
        .await
        .expect("B pushes first");
    b_server.stop().await;
    server = Server::start(&db, port, &secret).await;

    // The server is back: the desk pushes; the guest goes in, the booking is refused.
    ok(&desk, "sync_now", json!({}));
    let synced = status_until(&desk, "the push", |s| {
        s["online"] == true && s["changes_waiting"] == 0
    })
    .await;
    assert_eq!(synced["conflicts_open"], 1);
    let in_postgres: i64 =
        sqlx::query_scalar("select count(*) from public.guests where id = $1::uuid")
            .bind(&guest_id)
            .fetch_one(&db.pool)
            .await
            .expect("guest");
    assert_eq!(in_postgres, 1, "the offline guest reached the server");
    let conflicts = ok(&desk, "list_conflicts", json!({}));
    assert_eq!(conflicts[0]["reason"], "room_unavailable");
    assert!(conflicts[0]["summary"]
        .as_str()
        .is_some_and(|s| s.contains("Offline Walkin")));
    let taken = call(
        &desk,
        "resolve_conflict",
        json!({"id": conflicts[0]["id"], "resolution": {"keep": "edited", "edits": {"room_id": room}}}),
    )
    .expect_err("the pulled booking of B holds the room");
    assert_eq!(taken["kind"], "RoomTaken");

    // Moved to another room, it goes through and is numbered by the server.
    ok(
        &desk,
        "resolve_conflict",
        json!({"id": conflicts[0]["id"], "resolution": {"keep": "edited", "edits": {"room_id": other_room}}}),
    );
    ok(&desk, "sync_now", json!({}));
    status_until(&desk, "the moved booking", |s| {
        s["changes_waiting"] == 0 && s["conflicts_open"] == 0
    })
    .await;
    let number: i64 = sqlx::query_scalar(
        "select confirmation_number from public.reservations where id = $1::uuid",
    )
    .bind(&booking_id)
    .fetch_one(&db.pool)
    .await
    .expect("the booking at the server");
    let started = Instant::now();
    let here = loop {
        let here = ok(&desk, "get_reservation", json!({"id": booking_id}));
        if !here["confirmation_number"].is_null() || started.elapsed() > Duration::from_secs(30) {
            break here;
        }
        ok(&desk, "sync_now", json!({}));
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(
        here["confirmation_number"], number,
        "the sequential number came back"
    );
    assert_eq!(here["room_id"], other_room);
    let found = ok(
        &desk,
        "search_reservations",
        json!({"text": format!("#{number}")}),
    );
    assert_eq!(
        found[0]["id"], booking_id,
        "found by its confirmation number"
    );
    let by_name = ok(&desk, "search_reservations", json!({"text": "walkin"}));
    assert!(
        by_name
            .as_array()
            .expect("list")
            .iter()
            .any(|r| r["id"] == booking_id),
        "found by the guest's name"
    );
    let bookings_of_room: i64 = sqlx::query_scalar(
        "select count(*) from public.reservations where room_id = $1::uuid and check_in_date = $2::date",
    )
    .bind(&room)
    .bind(arrival)
    .fetch_one(&db.pool)
    .await
    .expect("count");
    assert_eq!(bookings_of_room, 1, "one booking per room and night");
    server.stop().await;
}

/// A hotel set up on the laptop alone joins the owner's tenant when it first connects: its
/// property, room types, rooms and a guest registered offline arrive in the server tenant.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_local_hotel_is_adopted_when_it_first_connects() {
    let db = TestDb::migrated().await;
    db.seed(1, 10).await;
    let owner: String = sqlx::query_scalar(
        "select email from public.staff where role = 'owner' order by email limit 1",
    )
    .fetch_one(&db.pool)
    .await
    .expect("an owner");
    set_password(&db.pool, &owner, PASSWORD).await;
    let mut server =
        Server::start(&db, 0, &format!("desk-secret-{}", Uuid::new_v4().simple())).await;

    let desk = TestDesk::with_sync();
    let property = desk.set_up();
    let guest = ok(
        &desk,
        "create_guest",
        json!({"input": {"first_name": "Local", "last_name": "First", "email": "local.first@example.com"}}),
    );
    let guest_id = guest["guest"]["id"].as_str().expect("id").to_owned();
    // Booked alone, numbered here: 1 and 2 are what these guests are told.
    let first_night = chrono::NaiveDate::from_ymd_opt(2027, 3, 1).expect("a date");
    let local: Vec<(String, Value)> = ["Ana Local", "Bea Local"]
        .iter()
        .map(|name| {
            let booking = desk
                .book(name, "101", first_night, 1)
                .unwrap_or_else(|_| desk.book(name, "102", first_night, 1).expect("booked"));
            (
                booking["id"].as_str().expect("id").to_owned(),
                booking["confirmation_number"].clone(),
            )
        })
        .collect();
    assert_eq!(
        local.iter().map(|(_, n)| n.clone()).collect::<Vec<_>>(),
        vec![json!(1), json!(2)]
    );
    assert_eq!(
        desk.waiting(),
        13,
        "property, 2 room types, 5 rooms, the guest, 2 bookings and their history wait"
    );

    let status = ok(
        &desk,
        "connect_server",
        json!({"input": {"server": server.url(), "email": owner, "password": PASSWORD}}),
    );
    assert_eq!(status["mode"], "server");
    status_until(&desk, "everything pushed", |s| {
        s["online"] == true && s["changes_waiting"] == 0
    })
    .await;

    let tenant: Uuid = sqlx::query_scalar("select tenant_id from public.staff where email = $1")
        .bind(&owner)
        .fetch_one(&db.pool)
        .await
        .expect("tenant");
    let (name, rooms): (String, i64) = sqlx::query_as(
        "select p.name, (select count(*) from public.rooms r where r.property_id = p.id)
           from public.properties p where p.id = $1::uuid and p.tenant_id = $2",
    )
    .bind(property["id"].as_str().expect("property id"))
    .bind(tenant)
    .fetch_one(&db.pool)
    .await
    .expect("the local property is in the server tenant");
    assert_eq!((name.as_str(), rooms), ("Pension Azul", 5));
    let guest_tenant: Uuid =
        sqlx::query_scalar("select tenant_id from public.guests where id = $1::uuid")
            .bind(&guest_id)
            .fetch_one(&db.pool)
            .await
            .expect("the offline guest arrived");
    assert_eq!(guest_tenant, tenant);
    // The tenant had bookings of its own, so its series numbers these after them; each keeps
    // the number its guest holds as its code, and the desk finds it by that number.
    for (index, (id, _)) in local.iter().enumerate() {
        let (number, code): (i64, Option<String>) = sqlx::query_as(
            "select confirmation_number, legacy_confirmation_code from public.reservations
              where id = $1::uuid and tenant_id = $2",
        )
        .bind(id)
        .bind(tenant)
        .fetch_one(&db.pool)
        .await
        .expect("the local booking arrived");
        let held = index + 1;
        assert!(number > 2, "the tenant's own series: {number}");
        assert_eq!(code.as_deref(), Some(format!("L-{held}").as_str()));
        let found = ok(
            &desk,
            "search_reservations",
            json!({"text": held.to_string()}),
        );
        assert!(
            found
                .as_array()
                .expect("a list")
                .iter()
                .any(|r| r["id"] == json!(id)),
            "the guest's number {held} finds the booking: {found}"
        );
    }
    let conflicts: i64 = desk
        .desk()
        .conn()
        .query_row("select count(*) from conflicts", [], |r| r.get(0))
        .expect("conflicts");
    assert_eq!(conflicts, 0);
    server.stop().await;
}

/// Two laptops book the same room for the same nights offline. The other laptop syncs first; the
/// desk's push is refused by the server (`room_unavailable`, through the sync engine), the
/// booking lands in the desk's conflicts inbox and leaves its screens, and the clerk moves it:
/// to a room the desk itself has booked meanwhile (refused before anything is written), then to
/// a free one, which the server takes.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_refused_double_booking_is_resolved_by_moving_the_room() {
    let db = TestDb::migrated().await;
    db.seed(1, 10).await;
    let owner: String = sqlx::query_scalar(
        "select email from public.staff where role = 'owner' order by email limit 1",
    )
    .fetch_one(&db.pool)
    .await
    .expect("an owner");
    let manager = pms_tests::laptops::staff_emails(&db, "manager")
        .await
        .remove(0);
    set_password(&db.pool, &owner, PASSWORD).await;
    let server = pms_tests::TestServer::start(&db).await;

    // The desk: a local hotel, joined to the server (no background sync: this test syncs it).
    let desk = TestDesk::new();
    tokio::task::block_in_place(|| desk.set_up());
    ok(
        &desk,
        "connect_server",
        json!({"input": {"server": server.base_url, "email": owner, "password": PASSWORD}}),
    );
    let database = desk.desk().database_path();
    let stored = pms_desk::session_store::load(&database)
        .expect("session file")
        .expect("a session");
    let mut remote = Remote::new(stored.server.clone());
    remote
        .refresh(stored.device_id, &stored.refresh_token)
        .await
        .expect("the desk's session");
    let mut desk_mirror = mirror::open(&database).expect("the desk's database");
    sync_once(&mut desk_mirror, &remote)
        .await
        .expect("the hotel goes up");

    // Another laptop of the same hotel, with the desk's rooms.
    let mut other = pms_tests::laptops::Laptop::sign_in(&db, &server, &manager, "laptop B").await;
    other.sync().await;
    let room = tokio::task::block_in_place(|| desk.room("101"));
    let (property, room_type): (String, String) = other
        .conn
        .query_row(
            "select property_id, room_type_id from rooms where id = ?1",
            [&room],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("room 101 on the other laptop");

    // Offline, both book room 101 for the same nights; the other laptop syncs first.
    let check_in = chrono::Local::now().date_naive() + chrono::Duration::days(5);
    let check_out = check_in + chrono::Duration::days(2);
    let stay = tokio::task::block_in_place(|| desk.book("Ines Prata", "101", check_in, 2))
        .expect("booked at the desk");
    let id = stay["id"].as_str().expect("id").to_owned();
    let Value::Object(values) = json!({
        "guest_name": "Laptop B Guest", "status": "confirmed", "property_id": property,
        "room_type_id": room_type, "room_id": room, "check_in_date": check_in.to_string(),
        "check_out_date": check_out.to_string(), "currency": "EUR",
    }) else {
        unreachable!()
    };
    outbox::write(
        &mut other.conn,
        "reservations",
        PushOp::Insert,
        Uuid::now_v7(),
        values,
    )
    .expect("B books");
    other.sync().await;
    let report = sync_once(&mut desk_mirror, &remote)
        .await
        .expect("the desk syncs");
    assert_eq!(report.rejected, 1, "{report:?}");

    assert_eq!(ok(&desk, "get_sync_status", json!({}))["conflicts_open"], 1);
    let conflicts = ok(&desk, "list_conflicts", json!({}));
    let conflict = &conflicts[0];
    assert_eq!(conflict["reason"], "room_unavailable");
    assert_eq!(conflict["row_id"], id);
    assert!(conflict["summary"]
        .as_str()
        .is_some_and(|s| s.contains("Ines Prata") && s.contains("another room")));
    let refused = call(&desk, "get_reservation", json!({"id": id}))
        .expect_err("the refused booking left the desk's screens");
    assert_eq!(refused["kind"], "NotFound");

    // Another local booking now holds 102: moving there is refused before anything is written.
    tokio::task::block_in_place(|| desk.book("Rui Lobo", "102", check_in, 1)).expect("booked");
    let taken = call(
        &desk,
        "resolve_conflict",
        json!({"id": conflict["id"], "resolution": {"keep": "edited", "edits": {"room_id": tokio::task::block_in_place(|| desk.room("102"))}}}),
    )
    .expect_err("102 is taken at the desk");
    assert_eq!(taken["kind"], "RoomTaken");
    assert_eq!(ok(&desk, "get_sync_status", json!({}))["conflicts_open"], 1);

    let free = tokio::task::block_in_place(|| desk.room("103"));
    ok(
        &desk,
        "resolve_conflict",
        json!({"id": conflict["id"], "resolution": {"keep": "edited", "edits": {"room_id": free}}}),
    );
    assert_eq!(ok(&desk, "get_sync_status", json!({}))["conflicts_open"], 0);
    let booking = ok(&desk, "get_reservation", json!({"id": id}));
    assert_eq!(booking["room_number"], "103");
    assert_eq!(booking["pending_sync"], true, "sent again as a new change");

    let report = sync_once(&mut desk_mirror, &remote)
        .await
        .expect("the desk syncs again");
    assert_eq!(report.rejected, 0, "{report:?}");
    let at_server: String =
        sqlx::query_scalar("select room_id::text from public.reservations where id = $1::uuid")
            .bind(&id)
            .fetch_one(&db.pool)
            .await
            .expect("the moved booking reached the server");
    assert_eq!(at_server, free);
    let booking = ok(&desk, "get_reservation", json!({"id": id}));
    assert_eq!(booking["pending_sync"], false);
}

/// The test's payments (1,000 and 2,000) of a stay on the laptop, with who posted them.
fn posted_by(desk: &TestDesk, stay: &str) -> Vec<(i64, Option<String>)> {
    desk.desk()
        .conn()
        .prepare(
            "select amount_minor, created_by from folio_entries
              where reservation_id = ?1 and kind = 'payment' and amount_minor in (1000, 2000)
              order by amount_minor",
        )
        .expect("prepare")
        .query_map([stay], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("entries")
        .collect::<Result<_, _>>()
        .expect("rows")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_second_colleague_signs_in_online_then_both_offline_and_writes_are_theirs() {
    let db = TestDb::migrated().await;
    db.seed(1, 20).await;
    let staff: Vec<(String, Uuid, String)> = sqlx::query_as(
        "select email, user_id, role from public.staff
          where role in ('front_desk', 'manager') and enabled order by role, email limit 2",
    )
    .fetch_all(&db.pool)
    .await
    .expect("two colleagues");
    for (email, _, _) in &staff {
        set_password(&db.pool, email, PASSWORD).await;
    }
    let (first, second) = (&staff[0], &staff[1]);
    let stay: String = sqlx::query_scalar(
        "select id::text from public.reservations where status in ('confirmed', 'checked_in')
          order by id limit 1",
    )
    .fetch_one(&db.pool)
    .await
    .expect("a stay");
    let mut server =
        Server::start(&db, 0, &format!("desk-secret-{}", Uuid::new_v4().simple())).await;

    // The laptop is connected by the first colleague; its background sync holds a session.
    let desk = TestDesk::with_sync();
    ok(
        &desk,
        "connect_server",
        json!({"input": {"server": server.url(), "email": first.0, "password": PASSWORD}}),
    );
    status_until(&desk, "online", |s| s["online"] == true).await;
    let devices_before: i64 = sqlx::query_scalar("select count(*) from public.devices")
        .fetch_one(&db.pool)
        .await
        .expect("devices");

    // A second colleague who never used this laptop signs in while the server is reachable:
    // checked by the server, without registering another device.
    let refused = call(
        &desk,
        "sign_in",
        json!({"email": second.0, "password": "not theirs"}),
    )
    .expect_err("a wrong password, checked online");
    assert_eq!(refused["kind"], "SignInRefused");
    let status = ok(
        &desk,
        "sign_in",
        json!({"email": second.0, "password": PASSWORD}),
    );
    assert_eq!(status["user"]["email"], second.0.to_lowercase());
    assert_eq!(status["user"]["role"], second.2);
    assert_eq!(status["user"]["user_id"], json!(second.1));
    let devices_after: i64 = sqlx::query_scalar("select count(*) from public.devices")
        .fetch_one(&db.pool)
        .await
        .expect("devices");
    assert_eq!(
        devices_after, devices_before,
        "no new device for a shift change"
    );

    // Each colleague's payment is theirs: switching user is signing in.
    ok(
        &desk,
        "record_payment",
        json!({"payment": {"reservation_id": stay, "amount_minor": 2_000, "method": "cash"}}),
    );
    ok(
        &desk,
        "sign_in",
        json!({"email": first.0, "password": PASSWORD}),
    );
    ok(
        &desk,
        "record_payment",
        json!({"payment": {"reservation_id": stay, "amount_minor": 1_000, "method": "card"}}),
    );
    // The figures are the owner's and the managers': the clerk is refused them.
    assert_eq!(first.2, "front_desk");
    let figures = call(
        &desk,
        "get_report",
        json!({"from": "2026-11-01", "to": "2026-11-30"}),
    )
    .expect_err("a clerk sees no revenue");
    assert_eq!(figures["kind"], "ManagersOnly");
    assert_eq!(
        posted_by(&desk, &stay),
        vec![
            (1_000, Some(first.1.to_string())),
            (2_000, Some(second.1.to_string()))
        ]
    );
    // The booking's history names the colleague who took each payment.
    let history = ok(&desk, "booking_history", json!({"id": stay}));
    let takers: Vec<(i64, Option<String>)> = history
        .as_array()
        .expect("lines")
        .iter()
        .filter(|line| line["action"] == "payment")
        .filter_map(|line| {
            Some((
                line["detail"]["amount_minor"].as_i64()?,
                line["by"].as_str().map(str::to_owned),
            ))
        })
        .filter(|(amount, _)| [1_000, 2_000].contains(amount))
        .collect();
    let mut names = Vec::new();
    for user in [second.1, first.1] {
        let name: String =
            sqlx::query_scalar("select display_name from public.staff where user_id = $1")
                .bind(user)
                .fetch_one(&db.pool)
                .await
                .expect("a colleague's name");
        names.push(Some(name));
    }
    assert_eq!(
        takers,
        vec![(2_000, names[0].clone()), (1_000, names[1].clone())]
    );
    assert_ne!(names[0], names[1]);
    ok(&desk, "sync_now", json!({}));
    status_until(&desk, "the payments pushed", |s| s["changes_waiting"] == 0).await;
    let on_server: Vec<(i64, Option<Uuid>)> = sqlx::query_as(
        "select amount_minor, created_by from public.folio_entries
          where reservation_id = $1::uuid and kind = 'payment' and amount_minor in (1000, 2000)
          order by amount_minor",
    )
    .bind(&stay)
    .fetch_all(&db.pool)
    .await
    .expect("entries");
    assert_eq!(
        on_server,
        vec![(1_000, Some(first.1)), (2_000, Some(second.1))]
    );

    // Offline, both sign in against what the laptop kept; a wrong password is still refused.
    server.stop().await;
    for (email, user_id, _) in [first, second] {
        ok(&desk, "sign_out", json!({}));
        let status = ok(
            &desk,
            "sign_in",
            json!({"email": email, "password": PASSWORD}),
        );
        assert_eq!(status["user"]["user_id"], json!(user_id), "{email} offline");
    }
    let wrong = call(
        &desk,
        "sign_in",
        json!({"email": first.0, "password": "nope"}),
    )
    .expect_err("offline, a wrong password");
    assert_eq!(wrong["kind"], "SignInRefused");

    // An idle desk locks: only the owner sets how soon, and the next command finds it locked.
    ok(
        &desk,
        "sign_in",
        json!({"email": first.0, "password": PASSWORD}),
    );
    let not_owner = call(&desk, "set_idle_lock", json!({"minutes": 5}))
        .expect_err("only the owner sets the idle lock");
    assert_eq!(not_owner["field"], "minutes");
    pms_desk::db::set_desk_state(&desk.desk().conn(), "desk_idle_lock_minutes", "5")
        .expect("the owner's setting");
    ok(&desk, "get_today", json!({}));
    let later = chrono::Utc::now() + chrono::Duration::minutes(4);
    desk.desk().pin_clock(Some(later));
    ok(&desk, "get_today", json!({}));
    desk.desk()
        .pin_clock(Some(later + chrono::Duration::minutes(6)));
    let locked = call(&desk, "get_today", json!({})).expect_err("idle for six minutes");
    assert_eq!(locked["kind"], "SignInRequired");
    let status = ok(&desk, "get_app_status", json!({}));
    assert_eq!(
        (status["locked"].clone(), status["user"].clone()),
        (json!(true), Value::Null)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_owner_brings_in_a_colleague_changes_their_role_and_disables_them_from_the_desk() {
    let db = TestDb::migrated().await;
    db.seed(2, 10).await;
    let tenant = pms_tests::laptops::first_tenant(&db).await;
    let owner: String = sqlx::query_scalar(
        "select email from public.staff where tenant_id = $1 and role = 'owner' and enabled
          order by email limit 1",
    )
    .bind(tenant)
    .fetch_one(&db.pool)
    .await
    .expect("an owner");
    let clerk: String = sqlx::query_scalar(
        "select email from public.staff where tenant_id = $1 and role = 'front_desk' and enabled
          order by email limit 1",
    )
    .bind(tenant)
    .fetch_one(&db.pool)
    .await
    .expect("a clerk");
    let elsewhere: String = sqlx::query_scalar(
        "select user_id::text from public.staff where tenant_id <> $1 order by email limit 1",
    )
    .bind(tenant)
    .fetch_one(&db.pool)
    .await
    .expect("another hotel's colleague");
    set_password(&db.pool, &owner, PASSWORD).await;
    set_password(&db.pool, &clerk, PASSWORD).await;
    let server = Server::start(&db, 0, &format!("desk-secret-{}", Uuid::new_v4().simple())).await;
    let desk = TestDesk::with_sync();
    ok(
        &desk,
        "connect_server",
        json!({"input": {"server": server.url(), "email": owner, "password": PASSWORD}}),
    );
    status_until(&desk, "online", |s| s["online"] == true).await;

    // The owner adds a colleague; until it reaches the server there is no password to give.
    let added = ok(
        &desk,
        "add_staff",
        json!({"input": {"email": "Nina.New@Example.com", "display_name": "Nina New", "role": "front_desk"}}),
    );
    assert_eq!(added["pending"], true);
    let user_id = added["user_id"].as_str().expect("user id").to_owned();
    let early = call(
        &desk,
        "give_temporary_password",
        json!({"user_id": user_id}),
    )
    .expect_err("not on the server yet");
    assert_eq!(early["kind"], "NotYetOnServer");
    ok(&desk, "sync_now", json!({}));
    status_until(&desk, "the colleague sent", |s| s["changes_waiting"] == 0).await;
    let given = ok(
        &desk,
        "give_temporary_password",
        json!({"user_id": user_id}),
    );
    let temporary = given["temporary_password"]
        .as_str()
        .expect("a password")
        .to_owned();
    let (role, temporary_on_server, hash): (String, bool, Option<String>) = sqlx::query_as(
        "select role, password_temporary, password_hash from public.staff where user_id = $1::uuid",
    )
    .bind(&user_id)
    .fetch_one(&db.pool)
    .await
    .expect("the colleague on the server");
    assert_eq!((role.as_str(), temporary_on_server), ("front_desk", true));
    assert!(hash.is_some_and(|h| h.starts_with("$argon2id$") && !h.contains(&temporary)));
    // Another hotel's account is not the owner's to touch: the server refuses, nothing changes.
    let foreign = call(
        &desk,
        "give_temporary_password",
        json!({"user_id": elsewhere}),
    )
    .expect_err("not in the list");
    assert_eq!(foreign["kind"], "NotFound");
    let foreign = Remote::new(server.url())
        .with_access_token(desk.desk().access_token().expect("the desk's session"))
        .temporary_password(elsewhere.parse().expect("uuid"))
        .await
        .expect_err("RLS: another tenant's colleague");
    assert!(
        matches!(&foreign, pms_sync_client::Error::Refused { status: 403, code, .. } if code == "owner_only"),
        "{foreign:?}"
    );
    let untouched: bool =
        sqlx::query_scalar("select password_temporary from public.staff where user_id = $1::uuid")
            .bind(&elsewhere)
            .fetch_one(&db.pool)
            .await
            .expect("the other colleague");
    assert!(!untouched);

    // The colleague signs in at the desk: the temporary password only lets them choose theirs.
    let email = "nina.new@example.com";
    let must_choose = call(
        &desk,
        "sign_in",
        json!({"email": email, "password": temporary}),
    )
    .expect_err("a temporary password opens nothing");
    assert_eq!(must_choose["kind"], "PasswordChangeRequired");
    let short = call(
        &desk,
        "sign_in",
        json!({"email": email, "password": temporary, "new_password": "short"}),
    )
    .expect_err("too short");
    assert_eq!(short["field"], "new_password");
    let own = "ninas-own-password";
    let status = ok(
        &desk,
        "sign_in",
        json!({"email": email, "password": temporary, "new_password": own}),
    );
    assert_eq!(status["user"]["email"], email);
    assert_eq!(status["user"]["role"], "front_desk");
    let used = call(
        &desk,
        "sign_in",
        json!({"email": email, "password": temporary}),
    )
    .expect_err("a temporary password works once");
    assert_eq!(used["kind"], "SignInRefused");
    let not_owner = call(
        &desk,
        "add_staff",
        json!({"input": {"email": "x@example.com", "display_name": "X", "role": "owner"}}),
    )
    .expect_err("a clerk adds nobody");
    assert_eq!(not_owner["kind"], "OwnerOnly");

    // The owner makes her a manager, then disables her account; the server follows each time.
    ok(
        &desk,
        "sign_in",
        json!({"email": owner, "password": PASSWORD}),
    );
    ok(
        &desk,
        "change_staff_role",
        json!({"user_id": user_id, "role": "manager"}),
    );
    ok(&desk, "sync_now", json!({}));
    status_until(&desk, "the role sent", |s| s["changes_waiting"] == 0).await;
    let status = ok(&desk, "sign_in", json!({"email": email, "password": own}));
    assert_eq!(
        status["user"]["role"], "manager",
        "checked online: the new role"
    );
    ok(
        &desk,
        "sign_in",
        json!({"email": owner, "password": PASSWORD}),
    );
    ok(&desk, "disable_staff", json!({"user_id": user_id}));
    ok(&desk, "sync_now", json!({}));
    status_until(&desk, "the account disabled", |s| s["changes_waiting"] == 0).await;
    let enabled: bool =
        sqlx::query_scalar("select enabled from public.staff where user_id = $1::uuid")
            .bind(&user_id)
            .fetch_one(&db.pool)
            .await
            .expect("enabled");
    assert!(!enabled);
    let shut_out = call(&desk, "sign_in", json!({"email": email, "password": own}))
        .expect_err("a disabled colleague is refused while the server can say so");
    assert_eq!(shut_out["kind"], "SignInRefused");
    let staff = ok(&desk, "list_staff", json!({}));
    let nina = staff
        .as_array()
        .expect("staff")
        .iter()
        .find(|c| c["user_id"] == user_id.as_str())
        .expect("listed");
    assert_eq!(
        (nina["enabled"].clone(), nina["role"].clone()),
        (json!(false), json!("manager"))
    );
    drop(server);
}

/// A hotel that began alone on its laptop numbers its bookings there, 1 to 50, as they are made.
/// Connected to a new tenant of its own, every row arrives once, and each booking keeps the
/// number its guest was given (the server numbers the adopted bookings in the order they were
/// made), on the server and back on the laptop.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_local_hotel_s_fifty_bookings_arrive_once_and_keep_their_numbers() {
    let db = TestDb::migrated().await;
    db.seed(1, 10).await; // another hotel group on the same server, and the platform's plans
    let subdomain = format!("azul-{}", Uuid::new_v4().simple());
    let tenant = pms_server::admin::create_tenant(
        &db.pool,
        &pms_server::admin::TenantCreate {
            name: "Pension Azul".to_owned(),
            subdomain: subdomain.clone(),
            plan: "Trial".to_owned(),
        },
    )
    .await
    .expect("a new tenant");
    let owner = format!("owner@{subdomain}.example");
    pms_server::admin::add_staff(
        &db.pool,
        &pms_server::admin::StaffAdd {
            tenant: subdomain,
            email: owner.clone(),
            display_name: "Owner".to_owned(),
            role: "owner".to_owned(),
        },
        Some(PASSWORD),
    )
    .await
    .expect("its owner");
    let mut server =
        Server::start(&db, 0, &format!("desk-secret-{}", Uuid::new_v4().simple())).await;

    let desk = TestDesk::with_sync();
    desk.set_up();
    let rooms = ["101", "102", "103", "201", "202"];
    let first_night = chrono::NaiveDate::from_ymd_opt(2027, 1, 4).expect("a date");
    let mut numbered = Vec::new();
    for k in 0..50_i64 {
        let check_in = first_night + chrono::Duration::days(k / 5 * 2);
        let booking = desk
            .book(&format!("Guest {k:02}"), rooms[k as usize % 5], check_in, 1)
            .expect("booked");
        numbered.push((
            booking["id"].as_str().expect("id").to_owned(),
            booking["confirmation_number"].as_i64(),
        ));
    }
    assert_eq!(
        numbered.iter().map(|(_, n)| *n).collect::<Vec<_>>(),
        (1..=50).map(Some).collect::<Vec<_>>(),
        "a hotel alone numbers its bookings from the first one"
    );
    let waiting = desk.waiting();
    assert_eq!(
        waiting, 108,
        "property, 2 room types, 5 rooms, 50 bookings and their 50 `booked` events"
    );

    ok(
        &desk,
        "connect_server",
        json!({"input": {"server": server.url(), "email": owner, "password": PASSWORD}}),
    );
    status_until(&desk, "everything pushed", |s| {
        s["online"] == true && s["changes_waiting"] == 0
    })
    .await;

    let on_server: Vec<(String, i64)> = sqlx::query_as(
        "select id::text, confirmation_number from public.reservations
          where tenant_id = $1 order by confirmation_number",
    )
    .bind(tenant)
    .fetch_all(&db.pool)
    .await
    .expect("the tenant's bookings");
    assert_eq!(
        on_server,
        numbered
            .iter()
            .map(|(id, n)| (id.clone(), n.expect("numbered")))
            .collect::<Vec<_>>(),
        "every booking once, with the number its guest holds"
    );
    let rows: i64 = sqlx::query_scalar(
        "select (select count(*) from public.properties where tenant_id = $1)
              + (select count(*) from public.room_types where tenant_id = $1)
              + (select count(*) from public.rooms where tenant_id = $1)
              + (select count(*) from public.reservations where tenant_id = $1)
              + (select count(*) from public.reservation_events where tenant_id = $1)",
    )
    .bind(tenant)
    .fetch_one(&db.pool)
    .await
    .expect("counts");
    assert_eq!(rows, waiting, "every row the laptop made, once");
    let applied: i64 = sqlx::query_scalar(
        "select count(*) from app.change_results where tenant_id = $1 and status = 'applied'",
    )
    .bind(tenant)
    .fetch_one(&db.pool)
    .await
    .expect("push results");
    assert_eq!(applied, waiting, "each change applied once");

    // The laptop, after pulling the server's rows, still shows the numbers it gave.
    let on_laptop: Vec<(String, i64)> = {
        let conn = desk.desk().conn();
        let mut statement = conn
            .prepare(
                "select id, confirmation_number from reservations order by confirmation_number",
            )
            .expect("query");
        let rows = statement
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .expect("rows")
            .collect::<Result<Vec<_>, _>>()
            .expect("read");
        rows
    };
    assert_eq!(on_laptop, on_server);
    let conflicts: i64 = desk
        .desk()
        .conn()
        .query_row("select count(*) from conflicts", [], |r| r.get(0))
        .expect("conflicts");
    assert_eq!(conflicts, 0);
    server.stop().await;
}
