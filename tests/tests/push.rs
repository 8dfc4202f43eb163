//! `POST /v1/sync/push` against the real server and database: exactly once under retries, the
//! invariants two offline laptops can break surface as typed rejections (never silently dropped),
//! and the tenant of a change is the token's, whatever the body says.

use pms_sync_protocol::merge::ConflictReason;
use pms_sync_protocol::wire::{PushChange, PushOp, PushRequest, PushResponse, PushStatus};
use pms_sync_protocol::PROTOCOL_VERSION;
use pms_tests::{set_password, TestDb, TestServer};
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use uuid::Uuid;

const PASSWORD: &str = "correct horse battery";

struct Laptop {
    token: String,
    tenant_id: Uuid,
    next_seq: i64,
}

async fn laptop(server: &TestServer, email: &str, name: &str) -> Laptop {
    let session: Value = Client::new()
        .post(server.url("/v1/auth/login"))
        .json(&json!({"email": email, "password": PASSWORD, "device_name": name}))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("session");
    Laptop {
        token: session["access_token"].as_str().expect("token").to_owned(),
        tenant_id: session["tenant_id"]
            .as_str()
            .expect("tenant")
            .parse()
            .expect("uuid"),
        next_seq: 1,
    }
}

impl Laptop {
    fn change(&mut self, table: &str, op: PushOp, id: Uuid, values: Value) -> PushChange {
        let device_seq = self.next_seq;
        self.next_seq += 1;
        let Value::Object(values) = values else {
            panic!("values must be an object")
        };
        PushChange {
            change_id: Uuid::now_v7(),
            device_seq,
            table: table.to_owned(),
            op,
            id,
            values,
            base: Default::default(),
            stamp: None,
        }
    }
}

async fn push(server: &TestServer, laptop: &Laptop, changes: &[PushChange]) -> PushResponse {
    let response = Client::new()
        .post(server.url("/v1/sync/push"))
        .bearer_auth(&laptop.token)
        .json(&PushRequest {
            protocol_version: PROTOCOL_VERSION,
            changes: changes.to_vec(),
        })
        .send()
        .await
        .expect("push");
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.expect("push body")
}

struct Setup {
    db: TestDb,
    server: TestServer,
    desk_emails: Vec<String>,
    other_tenant: Uuid,
}

async fn setup() -> Setup {
    let db = TestDb::migrated().await;
    db.seed(2, 20).await;
    let desk_emails: Vec<String> = sqlx::query_scalar(
        "select s.email from public.staff s join public.tenants t on t.id = s.tenant_id
          where s.role = 'front_desk' and t.subdomain = 'demo-7-0' order by s.email",
    )
    .fetch_all(&db.pool)
    .await
    .expect("desk staff");
    for email in &desk_emails {
        set_password(&db.pool, email, PASSWORD).await;
    }
    let other_tenant =
        sqlx::query_scalar("select id from public.tenants where subdomain = 'demo-7-1'")
            .fetch_one(&db.pool)
            .await
            .expect("other tenant");
    let server = TestServer::start(&db).await;
    Setup {
        db,
        server,
        desk_emails,
        other_tenant,
    }
}

/// A loyalty member of the tenant: (member, program, guest, points balance).
async fn first_member(db: &TestDb, tenant: Uuid) -> (Uuid, Uuid, Uuid, i64) {
    sqlx::query_as(
        "select id, program_id, guest_id, points_balance from public.loyalty_members where tenant_id = $1 order by id limit 1",
    )
    .bind(tenant)
    .fetch_one(&db.pool)
    .await
    .expect("member")
}

/// The member's balance as the server holds it.
async fn balance_of(db: &TestDb, member: Uuid) -> i64 {
    sqlx::query_scalar("select points_balance from public.loyalty_members where id = $1")
        .bind(member)
        .fetch_one(&db.pool)
        .await
        .expect("balance")
}

#[tokio::test]
async fn a_retried_push_is_applied_once() {
    let s = setup().await;
    let mut desk = laptop(&s.server, &s.desk_emails[0], "laptop A").await;
    let (member, program, guest, balance) = first_member(&s.db, desk.tenant_id).await;
    let guest_id = Uuid::now_v7();
    let batch = vec![
        desk.change("guests", PushOp::Insert, guest_id, json!({"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com"})),
        desk.change(
            "loyalty_transactions",
            PushOp::Insert,
            Uuid::now_v7(),
            json!({"member_id": member, "program_id": program, "guest_id": guest, "type": "earn", "points": 250}),
        ),
    ];
    let first = push(&s.server, &desk, &batch).await;
    assert!(
        first
            .results
            .iter()
            .all(|r| r.status == PushStatus::Applied && !r.replayed),
        "{first:?}"
    );
    // the response was lost: the laptop sends the same batch again, twice
    for _ in 0..2 {
        let again = push(&s.server, &desk, &batch).await;
        assert!(
            again
                .results
                .iter()
                .all(|r| r.status == PushStatus::Applied && r.replayed),
            "{again:?}"
        );
    }
    let after = balance_of(&s.db, member).await;
    assert_eq!(after, balance + 250, "points earned more than once");
    let guests: i64 =
        sqlx::query_scalar("select count(*) from public.guests where email = 'ada@example.com'")
            .fetch_one(&s.db.pool)
            .await
            .expect("count");
    assert_eq!(guests, 1);
}

#[tokio::test]
async fn a_double_booking_from_two_offline_laptops_ends_as_one_booking_and_one_rejection() {
    let s = setup().await;
    let mut a = laptop(&s.server, &s.desk_emails[0], "laptop A").await;
    let mut b = laptop(&s.server, &s.desk_emails[1], "laptop B").await;
    let (property, room_type, room): (Uuid, Uuid, Uuid) = sqlx::query_as(
        "select property_id, room_type_id, id from public.rooms where tenant_id = $1 order by number limit 1",
    )
    .bind(a.tenant_id)
    .fetch_one(&s.db.pool)
    .await
    .expect("room");
    let stay = |name: &str, check_in: &str, check_out: &str| {
        json!({"guest_name": name, "property_id": property, "room_type_id": room_type, "room_id": room,
               "check_in_date": check_in, "check_out_date": check_out, "status": "confirmed"})
    };
    // both booked offline, for overlapping nights far in the future
    let from_a = a.change(
        "reservations",
        PushOp::Insert,
        Uuid::now_v7(),
        stay("Guest of A", "2027-06-10", "2027-06-13"),
    );
    let from_b = b.change(
        "reservations",
        PushOp::Insert,
        Uuid::now_v7(),
        stay("Guest of B", "2027-06-12", "2027-06-15"),
    );
    let a_result = push(&s.server, &a, std::slice::from_ref(&from_a))
        .await
        .results
        .remove(0);
    let b_result = push(&s.server, &b, std::slice::from_ref(&from_b))
        .await
        .results
        .remove(0);
    assert_eq!(a_result.status, PushStatus::Applied);
    assert_eq!(b_result.status, PushStatus::Rejected);
    assert_eq!(b_result.reason.as_deref(), Some("room_unavailable"));
    // the rejection is kept and given again on a retry, never dropped
    let retried = push(&s.server, &b, &[from_b]).await.results.remove(0);
    assert_eq!(
        (retried.status, retried.reason.as_deref(), retried.replayed),
        (PushStatus::Rejected, Some("room_unavailable"), true)
    );
    let confirmed: Vec<i64> =
        sqlx::query_scalar("select confirmation_number from public.reservations where room_id = $1 and check_in_date >= '2027-06-01'")
            .bind(room)
            .fetch_all(&s.db.pool)
            .await
            .expect("stays");
    assert_eq!(confirmed.len(), 1, "exactly one booking holds the room");
}

#[tokio::test]
async fn an_overdraw_is_rejected_and_the_rest_of_the_batch_applies() {
    let s = setup().await;
    let mut desk = laptop(&s.server, &s.desk_emails[0], "laptop").await;
    let (member, program, guest, balance) = first_member(&s.db, desk.tenant_id).await;
    let redeem = |points: i64| json!({"member_id": member, "program_id": program, "guest_id": guest, "type": "redeem", "points": -points});
    let batch = vec![
        desk.change(
            "loyalty_transactions",
            PushOp::Insert,
            Uuid::now_v7(),
            redeem(balance + 1),
        ),
        desk.change(
            "guests",
            PushOp::Insert,
            Uuid::now_v7(),
            json!({"first_name": "Grace", "last_name": "Hopper"}),
        ),
    ];
    let results = push(&s.server, &desk, &batch).await.results;
    assert_eq!(
        (results[0].status, results[0].reason.as_deref()),
        (PushStatus::Rejected, Some("insufficient_points"))
    );
    assert_eq!(results[1].status, PushStatus::Applied);
    let after = balance_of(&s.db, member).await;
    assert_eq!(after, balance);
}

#[tokio::test]
async fn the_tenant_is_the_tokens_and_server_owned_values_are_not_writable() {
    let s = setup().await;
    let mut desk = laptop(&s.server, &s.desk_emails[0], "laptop").await;
    let foreign_guest: Uuid =
        sqlx::query_scalar("select id from public.guests where tenant_id = $1 limit 1")
            .bind(s.other_tenant)
            .fetch_one(&s.db.pool)
            .await
            .expect("guest of the other tenant");
    let own_guest: Uuid =
        sqlx::query_scalar("select id from public.guests where tenant_id = $1 limit 1")
            .bind(desk.tenant_id)
            .fetch_one(&s.db.pool)
            .await
            .expect("own guest");
    let batch = vec![
        // a forged tenant id in the body
        desk.change(
            "guests",
            PushOp::Insert,
            Uuid::now_v7(),
            json!({"tenant_id": s.other_tenant, "first_name": "Mallory"}),
        ),
        // another tenant's row
        desk.change(
            "guests",
            PushOp::Update,
            foreign_guest,
            json!({"notes": "pwned"}),
        ),
        // a server-owned column
        desk.change(
            "guests",
            PushOp::Update,
            own_guest,
            json!({"total_spent_cents": 1}),
        ),
        // a table that never syncs
        desk.change(
            "webhooks",
            PushOp::Insert,
            Uuid::now_v7(),
            json!({"url": "https://evil.example"}),
        ),
        // a bad value
        desk.change(
            "guests",
            PushOp::Update,
            own_guest,
            json!({"segment": "royalty"}),
        ),
    ];
    let results = push(&s.server, &desk, &batch).await.results;
    let reasons: Vec<Option<&str>> = results.iter().map(|r| r.reason.as_deref()).collect();
    assert_eq!(
        reasons,
        vec![
            Some("forbidden"),
            Some("not_found"),
            Some("server_owned"),
            Some("unknown_table"),
            Some("invalid_value")
        ]
    );
    assert!(results.iter().all(|r| r.status == PushStatus::Rejected));
    let mallory: i64 =
        sqlx::query_scalar("select count(*) from public.guests where first_name = 'Mallory'")
            .fetch_one(&s.db.pool)
            .await
            .expect("count");
    assert_eq!(mallory, 0);
    let notes: Option<String> = sqlx::query_scalar("select notes from public.guests where id = $1")
        .bind(foreign_guest)
        .fetch_one(&s.db.pool)
        .await
        .expect("notes");
    assert_ne!(notes.as_deref(), Some("pwned"));
    // the rejected invalid value came back with the server's row for the conflicts inbox
    assert_eq!(
        results[4].server_row.as_ref().map(|r| r["id"].clone()),
        Some(json!(own_guest))
    );
}

#[tokio::test]
async fn an_old_client_is_told_to_update_and_a_reused_sequence_number_is_refused() {
    let s = setup().await;
    let mut desk = laptop(&s.server, &s.desk_emails[0], "laptop").await;
    let response = Client::new()
        .post(s.server.url("/v1/sync/push"))
        .bearer_auth(&desk.token)
        .json(&json!({"protocol_version": 0, "changes": []}))
        .send()
        .await
        .expect("push");
    assert_eq!(response.status(), StatusCode::UPGRADE_REQUIRED);
    let body: Value = response.json().await.expect("body");
    assert_eq!(body["error"]["code"], "client_too_old");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .contains("update the app"));

    let first = desk.change(
        "guests",
        PushOp::Insert,
        Uuid::now_v7(),
        json!({"first_name": "First"}),
    );
    assert_eq!(
        push(&s.server, &desk, std::slice::from_ref(&first))
            .await
            .results[0]
            .status,
        PushStatus::Applied
    );
    let mut reused = desk.change(
        "guests",
        PushOp::Insert,
        Uuid::now_v7(),
        json!({"first_name": "Second"}),
    );
    reused.device_seq = first.device_seq;
    let result = push(&s.server, &desk, &[reused]).await.results.remove(0);
    assert_eq!(
        (result.status, result.reason.as_deref()),
        (PushStatus::Rejected, Some("out_of_order"))
    );
}

/// A change merged in part keeps its answer: a retry gets the same conflicts back.
#[tokio::test]
async fn a_merged_change_retried_gets_its_conflicts_again() {
    let s = setup().await;
    let mut a = laptop(&s.server, &s.desk_emails[0], "laptop A").await;
    let mut b = laptop(&s.server, &s.desk_emails[1], "laptop B").await;
    let (guest, email, phone): (Uuid, Option<String>, Option<String>) = sqlx::query_as(
        "select id, email, phone from public.guests where tenant_id = $1 order by id limit 1",
    )
    .bind(a.tenant_id)
    .fetch_one(&s.db.pool)
    .await
    .expect("guest");
    let stamp = |wall_ms: i64, node: Uuid| pms_sync_protocol::hlc::Hlc {
        wall_ms,
        counter: 0,
        node,
    };
    let now = chrono::Utc::now().timestamp_millis();
    let edit = |laptop: &mut Laptop, new_email: &str, at: i64, node: Uuid| {
        let mut change =
            laptop.change("guests", PushOp::Update, guest, json!({"email": new_email}));
        // what both laptops held before editing: the contact group as the server has it
        change.base = json!({"email": email, "phone": phone})
            .as_object()
            .cloned()
            .unwrap_or_default();
        change.stamp = Some(stamp(at, node));
        change
    };
    // A's later edit lands first; B's earlier one arrives after and loses.
    let from_a = edit(&mut a, "later@example.com", now, Uuid::now_v7());
    let from_b = edit(&mut b, "earlier@example.com", now - 60_000, Uuid::now_v7());
    assert_eq!(
        push(&s.server, &a, std::slice::from_ref(&from_a))
            .await
            .results[0]
            .status,
        PushStatus::Applied
    );
    let first = push(&s.server, &b, std::slice::from_ref(&from_b))
        .await
        .results
        .remove(0);
    assert_eq!(first.status, PushStatus::Merged, "{first:?}");
    assert_eq!(first.conflicts.len(), 1);
    let again = push(&s.server, &b, std::slice::from_ref(&from_b))
        .await
        .results
        .remove(0);
    assert!(again.replayed);
    assert_eq!(
        (again.status, &again.conflicts),
        (PushStatus::Merged, &first.conflicts)
    );
    let stored: Option<String> =
        sqlx::query_scalar("select email from public.guests where id = $1")
            .bind(guest)
            .fetch_one(&s.db.pool)
            .await
            .expect("email");
    assert_eq!(stored.as_deref(), Some("later@example.com"));
}

/// A server whose every database connection is busy answers `503 server_busy` with Retry-After,
/// writes nothing, and takes the same push once a connection is free: a client that retries
/// transient errors loses nothing.
#[tokio::test]
async fn a_server_out_of_connections_answers_busy_and_the_retry_goes_through() {
    let db = TestDb::migrated().await;
    db.seed(1, 20).await;
    let email: String = sqlx::query_scalar(
        "select email from public.staff where role = 'front_desk' order by email limit 1",
    )
    .fetch_one(&db.pool)
    .await
    .expect("desk staff");
    set_password(&db.pool, &email, PASSWORD).await;
    // One connection, and a short wait for it.
    let one_connection = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(std::time::Duration::from_millis(300))
        .connect(&db.url_as(pms_tests::APP_ROLE))
        .await
        .expect("a pool of one");
    let pool = one_connection.clone();
    let server = TestServer::start_with(&db, move |mut state| {
        state.pool = pool;
        state
    })
    .await;
    let mut desk = laptop(&server, &email, "busy desk").await;
    let guest = Uuid::now_v7();
    let change = desk.change(
        "guests",
        PushOp::Insert,
        guest,
        json!({"first_name": "Busy", "last_name": "Server"}),
    );
    let request = PushRequest {
        protocol_version: PROTOCOL_VERSION,
        changes: vec![change],
    };

    let held = one_connection
        .acquire()
        .await
        .expect("take the only connection");
    let refused = Client::new()
        .post(server.url("/v1/sync/push"))
        .bearer_auth(&desk.token)
        .json(&request)
        .send()
        .await
        .expect("push");
    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        refused
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("1")
    );
    let body: Value = refused.json().await.expect("error body");
    assert_eq!(body["error"]["code"], "server_busy");
    drop(held);

    let applied = push(&server, &desk, &request.changes).await;
    assert_eq!(applied.results[0].status, PushStatus::Applied);
    let stored: i64 = sqlx::query_scalar("select count(*) from public.guests where id = $1")
        .bind(guest)
        .fetch_one(&db.pool)
        .await
        .expect("count");
    assert_eq!(stored, 1, "applied once, by the retry");
}

#[tokio::test]
async fn an_update_without_a_stamp_goes_through_the_same_rules() {
    let s = setup().await;
    let mut desk = laptop(&s.server, &s.desk_emails[0], "curl").await;
    let tenant = desk.tenant_id;
    let checked_out: Uuid = sqlx::query_scalar(
        "select id from public.reservations where tenant_id = $1 and status = 'checked_out' limit 1",
    )
    .bind(tenant)
    .fetch_one(&s.db.pool)
    .await
    .expect("a checked-out stay");
    let erased: Uuid = sqlx::query_scalar(
        "update public.guests set first_name = 'Anonymized', last_name = 'Guest', email = null, phone = null, anonymized_at = now()
          where id = (select id from public.guests where tenant_id = $1 and anonymized_at is null order by id desc limit 1)
          returning id",
    )
    .bind(tenant)
    .fetch_one(&s.db.pool)
    .await
    .expect("an erased guest");
    let edited: Uuid = sqlx::query_scalar(
        "select id from public.guests where tenant_id = $1 and anonymized_at is null order by id limit 1",
    )
    .bind(tenant)
    .fetch_one(&s.db.pool)
    .await
    .expect("a guest");
    // A laptop's stamped edit of the guest's phone, as the outbox makes it.
    let mut stamped = desk.change(
        "guests",
        PushOp::Update,
        edited,
        json!({"phone": "+1 555 0100"}),
    );
    stamped.stamp = Some(pms_sync_protocol::hlc::Hlc {
        wall_ms: chrono::Utc::now().timestamp_millis(),
        counter: 0,
        node: Uuid::now_v7(),
    });
    stamped.base = sqlx::query_scalar::<_, Value>(
        "select jsonb_build_object('email', email, 'phone', phone) from public.guests where id = $1",
    )
    .bind(edited)
    .fetch_one(&s.db.pool)
    .await
    .expect("base")
    .as_object()
    .cloned()
    .unwrap_or_default();
    assert_eq!(
        push(&s.server, &desk, &[stamped]).await.results[0].status,
        PushStatus::Applied
    );

    // The same edits without a stamp or base, as curl or an outbox entry from before stamps sends them.
    let batch = vec![
        desk.change(
            "reservations",
            PushOp::Update,
            checked_out,
            json!({"status": "confirmed"}),
        ),
        desk.change(
            "guests",
            PushOp::Update,
            erased,
            json!({"first_name": "Back", "last_name": "Again"}),
        ),
        desk.change(
            "guests",
            PushOp::Update,
            edited,
            json!({"phone": "+1 555 0199"}),
        ),
    ];
    let results = push(&s.server, &desk, &batch).await.results;
    let status: String = sqlx::query_scalar("select status from public.reservations where id = $1")
        .bind(checked_out)
        .fetch_one(&s.db.pool)
        .await
        .expect("status");
    assert_eq!(
        status, "checked_out",
        "an unstamped update moved a checked-out stay: {:?}",
        results[0]
    );
    assert!(
        results[0]
            .conflicts
            .iter()
            .any(|c| c.reason == ConflictReason::InvalidTransition),
        "{:?}",
        results[0]
    );
    assert_eq!(
        (results[1].status, results[1].reason.as_deref()),
        (PushStatus::Rejected, Some("row_erased"))
    );
    let name: String = sqlx::query_scalar("select first_name from public.guests where id = $1")
        .bind(erased)
        .fetch_one(&s.db.pool)
        .await
        .expect("name");
    assert_eq!(name, "Anonymized", "an erased guest got a name back");
    // Without a stamp the edit is the oldest of all: the stamped phone stays, the other is reported.
    let phone: Option<String> = sqlx::query_scalar("select phone from public.guests where id = $1")
        .bind(edited)
        .fetch_one(&s.db.pool)
        .await
        .expect("phone");
    assert_eq!(phone.as_deref(), Some("+1 555 0100"));
    assert!(
        results[2]
            .conflicts
            .iter()
            .any(|c| c.reason == ConflictReason::Superseded),
        "{:?}",
        results[2]
    );
}

#[tokio::test]
async fn a_retry_answered_from_records_keeps_its_feed_position_and_its_body() {
    let s = setup().await;
    let mut desk = laptop(&s.server, &s.desk_emails[0], "laptop").await;
    let walk_in = desk.change(
        "guests",
        PushOp::Insert,
        Uuid::now_v7(),
        json!({"first_name": "Walk", "last_name": "In"}),
    );
    let first = push(&s.server, &desk, std::slice::from_ref(&walk_in)).await;
    assert!(first.feed_seq.is_some(), "{first:?}");
    // A retry (the answer was lost) tells where the change landed, as the first answer did.
    let again = push(&s.server, &desk, std::slice::from_ref(&walk_in)).await;
    assert!(again.results[0].replayed);
    assert_eq!(
        again.feed_seq, first.feed_seq,
        "a replay gave no feed position"
    );

    // The same change id and number with another body is not a retry.
    let mut altered = walk_in.clone();
    altered
        .values
        .insert("first_name".to_owned(), json!("Someone else"));
    let result = push(&s.server, &desk, &[altered]).await.results.remove(0);
    assert_eq!(
        (result.status, result.reason.as_deref()),
        (PushStatus::Rejected, Some("bad_request")),
        "{result:?}"
    );

    // The laptop had its answer: its next push begins after the walk-in.
    let next = desk.change(
        "guests",
        PushOp::Insert,
        Uuid::now_v7(),
        json!({"first_name": "Next", "last_name": "Guest"}),
    );
    push(&s.server, &desk, &[next]).await;
    // Long after, retention removed the recorded result: a very late retry (a laptop restored
    // from an old copy) is told so, with the row as it is now, not that its number is out of
    // order.
    sqlx::query("update app.change_results set created_at = now() - interval '100 days'")
        .execute(&s.db.pool)
        .await
        .expect("age the results");
    pms_server::admin::prune_sync_state(&s.db.pool, 30)
        .await
        .expect("prune");
    let late = push(&s.server, &desk, std::slice::from_ref(&walk_in))
        .await
        .results
        .remove(0);
    assert_eq!(
        (late.status, late.reason.as_deref()),
        (PushStatus::Rejected, Some("result_expired")),
        "{late:?}"
    );
    assert_eq!(
        late.server_row
            .as_ref()
            .map(|row| row["first_name"].clone()),
        Some(json!("Walk"))
    );
}

/// Retention removes only results their laptop has received. A laptop pushes from its lowest
/// change still unanswered, so a push beginning at number N tells that the answers below N
/// arrived. A change whose answer was lost just before its laptop went offline for longer than
/// the retention is answered from its record when the laptop comes back, not refused as
/// `result_expired` (a conflict the clerk would have to sort out for work that went through).
#[tokio::test]
async fn retention_keeps_the_result_of_a_change_whose_answer_never_reached_its_laptop() {
    let s = setup().await;
    let mut desk = laptop(&s.server, &s.desk_emails[0], "laptop").await;
    let received = desk.change(
        "guests",
        PushOp::Insert,
        Uuid::now_v7(),
        json!({"first_name": "Answered", "last_name": "Guest"}),
    );
    push(&s.server, &desk, std::slice::from_ref(&received)).await;
    let lost = desk.change(
        "guests",
        PushOp::Insert,
        Uuid::now_v7(),
        json!({"first_name": "Lost", "last_name": "Answer"}),
    );
    // Applied; the answer never reaches the laptop, which goes offline for 100 days.
    push(&s.server, &desk, std::slice::from_ref(&lost)).await;
    sqlx::query("update app.change_results set created_at = now() - interval '100 days'")
        .execute(&s.db.pool)
        .await
        .expect("age the results");
    let pruned = pms_server::admin::prune_sync_state(&s.db.pool, 30)
        .await
        .expect("prune");
    assert_eq!(pruned.results, 1, "the received answer's result goes");

    let back = push(&s.server, &desk, std::slice::from_ref(&lost))
        .await
        .results
        .remove(0);
    assert_eq!(
        (back.status, back.reason.as_deref(), back.replayed),
        (PushStatus::Applied, None, true),
        "{back:?}"
    );
    let kept: Vec<Uuid> = sqlx::query_scalar("select change_id from app.change_results")
        .fetch_all(&s.db.pool)
        .await
        .expect("results");
    assert_eq!(kept, vec![lost.change_id]);
}

/// The operator's pruning and a laptop's push, at once. A push takes its device's progress row,
/// then its tenant's feed head; the pruning took the feed heads, then the devices' progress
/// rows: with the pruning waiting for the head and the push for it, the push holding its
/// progress row, Postgres killed one of them (the fault campaign's scheduled pruning failed with
/// 40P01). The test lines them up by holding the feed head itself until both are waiting.
#[tokio::test]
async fn pruning_and_a_push_of_the_tenant_it_prunes_do_not_deadlock() {
    let s = setup().await;
    let mut desk = laptop(&s.server, &s.desk_emails[0], "laptop").await;
    let tenant = desk.tenant_id;
    for name in ["First", "Second"] {
        let change = desk.change(
            "guests",
            PushOp::Insert,
            Uuid::now_v7(),
            json!({"first_name": name, "last_name": "Guest"}),
        );
        push(&s.server, &desk, &[change]).await;
    }
    // Old enough to prune: the feed and the first result (its answer arrived).
    sqlx::raw_sql(
        "update app.change_results set created_at = now() - interval '100 days';
         update app.changes set changed_at = now() - interval '100 days';",
    )
    .execute(&s.db.pool)
    .await
    .expect("age the sync state");

    let mut holder = s.db.pool.begin().await.expect("begin");
    sqlx::query("select 1 from app.feed_heads where tenant_id = $1 for update")
        .bind(tenant)
        .execute(&mut *holder)
        .await
        .expect("hold the feed head");
    let pool = s.db.pool.clone();
    let pruning = tokio::spawn(async move { pms_server::admin::prune_sync_state(&pool, 30).await });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let third = desk.change(
        "guests",
        PushOp::Insert,
        Uuid::now_v7(),
        json!({"first_name": "Third", "last_name": "Guest"}),
    );
    let request = Client::new()
        .post(s.server.url("/v1/sync/push"))
        .bearer_auth(&desk.token)
        .json(&PushRequest {
            protocol_version: PROTOCOL_VERSION,
            changes: vec![third],
        });
    let pushing = tokio::spawn(async move { request.send().await.expect("push") });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    holder.commit().await.expect("let them go");

    let pruned = pruning.await.expect("pruning task");
    assert!(pruned.is_ok(), "the pruning failed: {pruned:?}");
    let response = pushing.await.expect("push task");
    let status = response.status();
    let body: Value = response.json().await.expect("body");
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["results"][0]["status"], "applied", "{body}");
}

/// Two pushes of one tenant touching the same two rows in opposite orders. Each push locks a
/// row before it writes it, and its first write takes the tenant's feed head until commit: with
/// the row lock first, push A (holding row X and the feed head) waits for row Y, which push B
/// holds while it waits for the feed head, and Postgres kills one of them (a `503` to a laptop
/// that did nothing wrong). The test lines the two up deterministically by holding the feed head
/// itself until both pushes are inside. Pushes take the feed head before any row, so they queue.
#[tokio::test]
async fn two_pushes_of_a_tenant_crossing_the_same_rows_do_not_deadlock() {
    let s = setup().await;
    let mut desk_a = laptop(&s.server, &s.desk_emails[0], "desk A").await;
    let mut desk_b = laptop(&s.server, &s.desk_emails[1], "desk B").await;
    let tenant = desk_a.tenant_id;
    let guests: Vec<Uuid> = sqlx::query_scalar(
        "select id from public.guests where tenant_id = $1 and anonymized_at is null order by id limit 2",
    )
    .bind(tenant)
    .fetch_all(&s.db.pool)
    .await
    .expect("two guests");
    let (x, y) = (guests[0], guests[1]);
    let a = vec![
        desk_a.change(
            "guests",
            PushOp::Update,
            x,
            json!({"phone": "+34 600 000 001"}),
        ),
        desk_a.change(
            "guests",
            PushOp::Update,
            y,
            json!({"phone": "+34 600 000 002"}),
        ),
    ];
    let b = vec![
        desk_b.change(
            "guests",
            PushOp::Update,
            y,
            json!({"notes": "late arrival"}),
        ),
        desk_b.change("guests", PushOp::Update, x, json!({"notes": "quiet room"})),
    ];

    let mut holder = s.db.pool.begin().await.expect("begin");
    sqlx::query("select 1 from app.feed_heads where tenant_id = $1 for update")
        .bind(tenant)
        .execute(&mut *holder)
        .await
        .expect("hold the feed head");
    let send = |laptop: &Laptop, changes: Vec<PushChange>| {
        let request = Client::new()
            .post(s.server.url("/v1/sync/push"))
            .bearer_auth(&laptop.token)
            .json(&PushRequest {
                protocol_version: PROTOCOL_VERSION,
                changes,
            });
        tokio::spawn(async move { request.send().await.expect("push") })
    };
    let pushed_a = send(&desk_a, a);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let pushed_b = send(&desk_b, b);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    holder.commit().await.expect("let them go");

    for (name, pushed) in [("A", pushed_a), ("B", pushed_b)] {
        let response = pushed.await.expect("push task");
        let status = response.status();
        let body: Value = response.json().await.expect("body");
        assert_eq!(status, StatusCode::OK, "push {name}: {body}");
        let statuses: Vec<&str> = body["results"]
            .as_array()
            .expect("results")
            .iter()
            .map(|r| r["status"].as_str().expect("status"))
            .collect();
        assert!(
            statuses.iter().all(|s| *s != "rejected"),
            "push {name}: {body}"
        );
    }
    let (phone, notes): (Option<String>, Option<String>) =
        sqlx::query_as("select phone, notes from public.guests where id = $1")
            .bind(x)
            .fetch_one(&s.db.pool)
            .await
            .expect("guest x");
    assert_eq!(phone.as_deref(), Some("+34 600 000 001"));
    assert_eq!(notes.as_deref(), Some("quiet room"));
}

/// A push chosen as a deadlock's victim (here against another transaction of the server's,
/// e.g. a job) learned nothing about its changes: it is answered `503 server_busy` and nothing
/// of it stays, and the same push sent again applies, instead of a clerk's edit being refused for
/// good as `invalid_value`. The push waits first, so its backend runs the deadlock check first
/// and is the victim.
#[tokio::test]
async fn a_push_that_loses_a_deadlock_is_answered_busy_and_its_retry_applies() {
    let s = setup().await;
    let mut desk = laptop(&s.server, &s.desk_emails[0], "desk").await;
    let guests: Vec<Uuid> = sqlx::query_scalar(
        "select id from public.guests where tenant_id = $1 and anonymized_at is null order by id limit 2",
    )
    .bind(desk.tenant_id)
    .fetch_all(&s.db.pool)
    .await
    .expect("two guests");
    let (x, y) = (guests[0], guests[1]);
    let changes = vec![
        desk.change(
            "guests",
            PushOp::Update,
            x,
            json!({"phone": "+34 600 000 011"}),
        ),
        desk.change(
            "guests",
            PushOp::Update,
            y,
            json!({"phone": "+34 600 000 012"}),
        ),
    ];
    let request = PushRequest {
        protocol_version: PROTOCOL_VERSION,
        changes,
    };

    let mut job = s.db.pool.begin().await.expect("begin");
    sqlx::query("select 1 from public.guests where id = $1 for update")
        .bind(y)
        .execute(&mut *job)
        .await
        .expect("the job holds guest y");
    let pushed = {
        let send = Client::new()
            .post(s.server.url("/v1/sync/push"))
            .bearer_auth(&desk.token)
            .json(&request);
        tokio::spawn(async move { send.send().await.expect("push") })
    };
    // the push writes x, then waits for y; the job then wants x: a cycle
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    sqlx::query("select 1 from public.guests where id = $1 for update")
        .bind(x)
        .execute(&mut *job)
        .await
        .expect("the job gets x once the push is gone");
    job.commit().await.expect("the job commits");

    let response = pushed.await.expect("push task");
    let status = response.status();
    let body: Value = response.json().await.expect("body");
    assert_eq!(
        status,
        StatusCode::SERVICE_UNAVAILABLE,
        "the deadlock's victim was answered as if its changes were judged: {body}"
    );
    assert_eq!(body["error"]["code"], "server_busy");
    let phone_x: Option<String> =
        sqlx::query_scalar("select phone from public.guests where id = $1")
            .bind(x)
            .fetch_one(&s.db.pool)
            .await
            .expect("guest x");
    assert_ne!(
        phone_x.as_deref(),
        Some("+34 600 000 011"),
        "half of the push stayed"
    );

    // (without base values the edits merge over the seeded phones: merged, not refused)
    let retried = push(&s.server, &desk, &request.changes).await;
    assert!(
        retried
            .results
            .iter()
            .all(|r| r.status != PushStatus::Rejected),
        "{retried:?}"
    );
    let phones: Vec<Option<String>> =
        sqlx::query_scalar("select phone from public.guests where id = any($1) order by id")
            .bind(vec![x, y])
            .fetch_all(&s.db.pool)
            .await
            .expect("phones");
    assert_eq!(
        phones,
        vec![
            Some("+34 600 000 011".to_owned()),
            Some("+34 600 000 012".to_owned())
        ]
    );
}

/// A laptop whose push went through but whose answer was lost, and whose clerk then signed in
/// again (a new device), sends the same changes under its new device: the server knows them by
/// their change ids and answers from the record, so nothing is applied twice and nothing the
/// server took is answered as refused.
#[tokio::test]
async fn a_change_sent_again_after_a_new_sign_in_is_answered_from_the_record() {
    let s = setup().await;
    let mut desk = laptop(&s.server, &s.desk_emails[0], "laptop A").await;
    let (member, program, guest, balance) = first_member(&s.db, desk.tenant_id).await;
    let batch = vec![
        desk.change("guests", PushOp::Insert, Uuid::now_v7(), json!({"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com"})),
        desk.change(
            "loyalty_transactions",
            PushOp::Insert,
            Uuid::now_v7(),
            json!({"member_id": member, "program_id": program, "guest_id": guest, "type": "earn", "points": 250}),
        ),
    ];
    let first = push(&s.server, &desk, &batch).await;
    assert!(
        first
            .results
            .iter()
            .all(|r| r.status == PushStatus::Applied),
        "{first:?}"
    );
    // The answer was lost; the clerk signs in again on the same laptop, which keeps its outbox
    // and its numbering but is a new device to the server.
    let again_as = laptop(&s.server, &s.desk_emails[0], "laptop A").await;
    for _ in 0..2 {
        let again = push(&s.server, &again_as, &batch).await;
        assert!(
            again
                .results
                .iter()
                .all(|r| r.status == PushStatus::Applied && r.replayed),
            "{again:?}"
        );
    }
    assert_eq!(balance_of(&s.db, member).await, balance + 250);
    let results_per_change: Vec<i64> = sqlx::query_scalar(
        "select count(*) from app.change_results where change_id = any($1) group by change_id",
    )
    .bind(batch.iter().map(|c| c.change_id).collect::<Vec<_>>())
    .fetch_all(&s.db.pool)
    .await
    .expect("results");
    assert_eq!(
        results_per_change,
        vec![1, 1],
        "one recorded result per change"
    );
}

/// A push applies its changes one after another, each merged against what the ones before it in
/// the same push wrote (their stamps are kept to the end of the push, then stored in one go): an
/// older edit of a group a newer one in the same batch wrote loses to it, the stored stamps are
/// the newest, and the same change sent twice in one push is answered twice the same way.
#[tokio::test]
async fn edits_of_one_row_in_one_push_merge_against_each_other() {
    let s = setup().await;
    let mut a = laptop(&s.server, &s.desk_emails[0], "laptop A").await;
    let (guest, email): (Uuid, Option<String>) = sqlx::query_as(
        "select id, email from public.guests where tenant_id = $1 order by id limit 1",
    )
    .bind(a.tenant_id)
    .fetch_one(&s.db.pool)
    .await
    .expect("guest");
    let node = Uuid::now_v7();
    let now = chrono::Utc::now().timestamp_millis();
    let mut edit = |new_email: &str, at: i64| {
        let mut change = a.change("guests", PushOp::Update, guest, json!({"email": new_email}));
        change.base = json!({ "email": email })
            .as_object()
            .cloned()
            .unwrap_or_default();
        change.stamp = Some(pms_sync_protocol::hlc::Hlc {
            wall_ms: at,
            counter: 0,
            node,
        });
        change
    };
    let newer = edit("newer@example.com", now);
    let older = edit("older@example.com", now - 60_000);
    let mut inserted = a.change(
        "guests",
        PushOp::Insert,
        Uuid::now_v7(),
        json!({"first_name": "Ines", "last_name": "Batch", "email": "first@example.com"}),
    );
    inserted.stamp = Some(pms_sync_protocol::hlc::Hlc {
        wall_ms: now,
        counter: 1,
        node,
    });
    let mut stale_edit_of_inserted = a.change(
        "guests",
        PushOp::Update,
        inserted.id,
        json!({"email": "stale@example.com"}),
    );
    // made over another value than the insert's: concurrent with it, so the stamps decide
    stale_edit_of_inserted.base = json!({"email": "typo@example.com"})
        .as_object()
        .cloned()
        .unwrap_or_default();
    stale_edit_of_inserted.stamp = Some(pms_sync_protocol::hlc::Hlc {
        wall_ms: now - 60_000,
        counter: 0,
        node,
    });
    let changes = [
        newer.clone(),
        older,
        inserted.clone(),
        stale_edit_of_inserted,
        newer.clone(),
    ];
    let response = push(&s.server, &a, &changes).await;
    let statuses: Vec<(PushStatus, bool)> = response
        .results
        .iter()
        .map(|r| (r.status, r.replayed))
        .collect();
    assert_eq!(
        statuses,
        [
            (PushStatus::Applied, false),
            (PushStatus::Merged, false),
            (PushStatus::Applied, false),
            (PushStatus::Merged, false),
            (PushStatus::Applied, true),
        ],
        "{response:?}"
    );
    for (row, expected) in [
        (guest, "newer@example.com"),
        (inserted.id, "first@example.com"),
    ] {
        let (stored, stamp): (Option<String>, Option<String>) = sqlx::query_as(
            "select g.email, c.group_stamps ->> 'email' from public.guests g
               left join app.row_clocks c on c.row_id = g.id and c.table_name = 'guests'
              where g.id = $1",
        )
        .bind(row)
        .fetch_one(&s.db.pool)
        .await
        .expect("row and stamps");
        assert_eq!(stored.as_deref(), Some(expected));
        let stamp: pms_sync_protocol::hlc::Hlc = stamp
            .expect("the e-mail's stamp is stored")
            .parse()
            .expect("a stamp");
        assert_eq!(stamp.wall_ms, now, "the newest stamp is kept for {row}");
    }
    let recorded: i64 =
        sqlx::query_scalar("select count(*) from app.change_results where change_id = any($1)")
            .bind(changes.iter().map(|c| c.change_id).collect::<Vec<_>>())
            .fetch_one(&s.db.pool)
            .await
            .expect("results");
    assert_eq!(recorded, 4, "each change's answer is recorded once");
}

/// How many pushes the server applied by `path` (`waves` or `one_by_one`), from its metrics.
async fn pushes_by_path(server: &TestServer, path: &str) -> f64 {
    let text = Client::new()
        .get(server.url("/metrics"))
        .send()
        .await
        .expect("GET /metrics")
        .text()
        .await
        .expect("metrics");
    pms_tests::metric(&text, &format!("pms_pushes_total{{path=\"{path}\"}}")).unwrap_or(0.0)
}

fn stamp_at(wall_ms: i64, node: Uuid) -> Option<pms_sync_protocol::hlc::Hlc> {
    Some(pms_sync_protocol::hlc::Hlc {
        wall_ms,
        counter: 0,
        node,
    })
}

#[tokio::test]
async fn a_push_of_guests_is_written_in_waves_with_the_rows_and_stamps_of_one_by_one() {
    let s = setup().await;
    let mut a = laptop(&s.server, &s.desk_emails[0], "laptop A").await;
    let (existing, phone): (Uuid, Option<String>) = sqlx::query_as(
        "select id, phone from public.guests where tenant_id = $1 order by id limit 1",
    )
    .bind(a.tenant_id)
    .fetch_one(&s.db.pool)
    .await
    .expect("guest");
    let node = Uuid::now_v7();
    let now = chrono::Utc::now().timestamp_millis();
    // Stamped, and an update with the values it was made over, as the desk sends them.
    let mut stamped = |op: PushOp, id: Uuid, values: Value, base: Value, at: i64| {
        let mut change = a.change("guests", op, id, values);
        change.stamp = stamp_at(at, node);
        change.base = base.as_object().cloned().unwrap_or_default();
        change
    };
    // A guest, then an edit of it, the next guest, an edit of a guest the server had, and two
    // edits of the second guest (e-mail, then phone).
    let (first, second) = (Uuid::now_v7(), Uuid::now_v7());
    let new_guest = |last_name: &str, email: Value| json!({"first_name": "Wave", "last_name": last_name, "email": email});
    let changes = [
        stamped(
            PushOp::Insert,
            first,
            new_guest("One", json!("one@example.com")),
            json!({}),
            now,
        ),
        stamped(
            PushOp::Update,
            first,
            json!({"phone": "+1 555 0101"}),
            json!({"phone": null}),
            now + 1,
        ),
        stamped(
            PushOp::Insert,
            second,
            new_guest("Two", Value::Null),
            json!({}),
            now + 2,
        ),
        stamped(
            PushOp::Update,
            existing,
            json!({"phone": "+1 555 0100"}),
            json!({ "phone": phone }),
            now + 4,
        ),
        stamped(
            PushOp::Update,
            second,
            json!({"email": "two@example.com"}),
            json!({"email": null}),
            now + 5,
        ),
        stamped(
            PushOp::Update,
            second,
            json!({"phone": "+1 555 0102"}),
            json!({"phone": null}),
            now + 6,
        ),
    ];
    let response = push(&s.server, &a, &changes).await;
    assert!(
        response
            .results
            .iter()
            .all(|r| r.status == PushStatus::Applied && !r.replayed),
        "{response:?}"
    );
    assert_eq!(pushes_by_path(&s.server, "waves").await, 1.0);
    assert_eq!(pushes_by_path(&s.server, "one_by_one").await, 0.0);

    // Every row as its changes left it, and each field group stamped by the change that wrote it
    // last, as one change at a time would have left them.
    for (row, full_name, email, phone, phone_stamp) in [
        (
            first,
            Some("Wave One"),
            Some("one@example.com"),
            "+1 555 0101",
            now + 1,
        ),
        (
            second,
            Some("Wave Two"),
            Some("two@example.com"),
            "+1 555 0102",
            now + 6,
        ),
        (existing, None, None, "+1 555 0100", now + 4),
    ] {
        let (stored_name, stored_email, stored_phone, stamps): (
            String,
            Option<String>,
            Option<String>,
            Value,
        ) = sqlx::query_as(
            "select g.full_name, g.email, g.phone, c.group_stamps from public.guests g
               join app.row_clocks c on c.row_id = g.id and c.table_name = 'guests'
              where g.id = $1",
        )
        .bind(row)
        .fetch_one(&s.db.pool)
        .await
        .expect("row and stamps");
        if let Some(full_name) = full_name {
            assert_eq!(stored_name, full_name);
            assert_eq!(stored_email.as_deref(), email);
        }
        assert_eq!(stored_phone.as_deref(), Some(phone));
        let stamp_of = |group: &str| -> i64 {
            let text = stamps[group]
                .as_str()
                .unwrap_or_else(|| panic!("{group} of {row}: {stamps}"));
            text.parse::<pms_sync_protocol::hlc::Hlc>()
                .expect("a stamp")
                .wall_ms
        };
        assert_eq!(stamp_of("phone"), phone_stamp, "{row}: {stamps}");
        if row == second {
            assert_eq!(stamp_of("email"), now + 5, "{stamps}");
            assert_eq!(stamp_of("name"), now + 2, "{stamps}");
        }
    }
    let (recorded, in_feed): (i64, i64) = sqlx::query_as(
        "select (select count(*) from app.change_results where change_id = any($1)),
                (select count(distinct row_id) from app.changes where row_id = any($2) and seq = $3)",
    )
    .bind(changes.iter().map(|c| c.change_id).collect::<Vec<_>>())
    .bind([first, second, existing])
    .bind(response.feed_seq)
    .fetch_one(&s.db.pool)
    .await
    .expect("results and feed");
    assert_eq!(recorded, 6, "each answer recorded once");
    assert_eq!(in_feed, 3, "the three rows in the push's feed transaction");
}

#[tokio::test]
async fn a_large_push_is_written_in_parts_and_each_change_is_answered_with_where_it_landed() {
    let s = setup().await;
    let mut a = laptop(&s.server, &s.desk_emails[0], "laptop A").await;
    let count = 2 * pms_server::serve::push::PUSH_PART + 50;
    let changes: Vec<PushChange> = (0..count)
        .map(|n| {
            a.change(
                "guests",
                PushOp::Insert,
                Uuid::now_v7(),
                json!({"first_name": "Part", "last_name": format!("Guest {n}")}),
            )
        })
        .collect();
    let response = push(&s.server, &a, &changes).await;
    assert!(
        response
            .results
            .iter()
            .all(|r| r.status == PushStatus::Applied && !r.replayed),
        "{response:?}"
    );

    // Each change landed where its answer says: three feed transactions, one per part, in order.
    let mut landed = Vec::new();
    for (change, result) in changes.iter().zip(&response.results) {
        let seq: i64 = sqlx::query_scalar(
            "select seq from app.changes where table_name = 'guests' and row_id = $1",
        )
        .bind(change.id)
        .fetch_one(&s.db.pool)
        .await
        .expect("the feed entry");
        assert_eq!(result.feed_seq, Some(seq), "change {}", change.device_seq);
        landed.push(seq);
    }
    let mut parts = landed.clone();
    parts.dedup();
    assert_eq!(parts.len(), 3, "feed transactions {parts:?}");
    assert!(parts.windows(2).all(|w| w[0] < w[1]), "{parts:?}");
    assert_eq!(response.feed_seq, parts.last().copied());

    // Sent again (the answer was lost): every change replayed, with the same positions.
    let again = push(&s.server, &a, &changes).await;
    assert!(again.results.iter().all(|r| r.replayed), "{again:?}");
    let again_landed: Vec<Option<i64>> = again.results.iter().map(|r| r.feed_seq).collect();
    assert_eq!(
        again_landed,
        landed.into_iter().map(Some).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn a_push_whose_waves_meet_a_refusal_is_applied_one_by_one_with_every_answer() {
    let s = setup().await;
    let mut a = laptop(&s.server, &s.desk_emails[0], "laptop A").await;
    let (kept, refused) = (Uuid::now_v7(), Uuid::now_v7());
    let mut changes = [
        a.change(
            "guests",
            PushOp::Insert,
            kept,
            json!({"first_name": "Kept", "last_name": "Guest"}),
        ),
        a.change(
            "guests",
            PushOp::Update,
            Uuid::now_v7(),
            json!({"phone": "+1 555 0199"}),
        ),
        a.change(
            "guests",
            PushOp::Insert,
            refused,
            json!({"first_name": "Bad", "last_name": "Mail", "email": "not an address"}),
        ),
        a.change(
            "guests",
            PushOp::Update,
            kept,
            json!({"phone": "+1 555 0198"}),
        ),
    ];
    // made over the row as inserted, as the desk sends it
    changes[3].base = json!({"phone": null})
        .as_object()
        .cloned()
        .unwrap_or_default();
    let response = push(&s.server, &a, &changes).await;
    let answers: Vec<(PushStatus, Option<&str>)> = response
        .results
        .iter()
        .map(|r| (r.status, r.reason.as_deref()))
        .collect();
    assert_eq!(
        answers,
        [
            (PushStatus::Applied, None),
            (PushStatus::Rejected, Some("not_found")),
            (PushStatus::Rejected, Some("invalid_value")),
            (PushStatus::Applied, None),
        ]
    );
    assert_eq!(pushes_by_path(&s.server, "waves").await, 0.0);
    assert_eq!(pushes_by_path(&s.server, "one_by_one").await, 1.0);
    let (kept_phone, refused_rows): (Option<String>, i64) = sqlx::query_as(
        "select (select phone from public.guests where id = $1),
                (select count(*) from public.guests where id = $2)",
    )
    .bind(kept)
    .bind(refused)
    .fetch_one(&s.db.pool)
    .await
    .expect("rows");
    assert_eq!(kept_phone.as_deref(), Some("+1 555 0198"));
    assert_eq!(refused_rows, 0);
}

/// Large pushes (a laptop back from hours offline) take turns for a few slots before they take
/// a database connection, so a crowd of them never holds the whole pool: the test server's pool
/// of 8 has 2 slots. Three large pushes of a tenant whose feed head the test holds: two wait
/// inside the database, the third at the gate without a connection, and meanwhile another
/// tenant's desk pushes one change and is answered at once. Then all three apply.
#[tokio::test]
async fn large_pushes_wait_for_a_few_slots_and_leave_the_pool_to_the_desks() {
    let s = setup().await;
    let tenant = laptop(&s.server, &s.desk_emails[0], "probe")
        .await
        .tenant_id;
    let mut senders = Vec::new();
    for n in 0..3 {
        let mut desk = laptop(&s.server, &s.desk_emails[0], &format!("back online {n}")).await;
        let changes: Vec<PushChange> = (0..=pms_server::serve::push::LARGE_PUSH)
            .map(|i| {
                desk.change(
                    "guests",
                    PushOp::Insert,
                    Uuid::now_v7(),
                    json!({"first_name": format!("Offline {n}.{i}"), "last_name": "Guest"}),
                )
            })
            .collect();
        senders.push((desk, changes));
    }
    let other_desk: String = sqlx::query_scalar(
        "select email from public.staff where tenant_id = $1 and role = 'front_desk' order by email limit 1",
    )
    .bind(s.other_tenant)
    .fetch_one(&s.db.pool)
    .await
    .expect("the other tenant's desk");
    set_password(&s.db.pool, &other_desk, PASSWORD).await;
    let mut other = laptop(&s.server, &other_desk, "other hotel").await;

    let mut holder = s.db.pool.begin().await.expect("begin");
    sqlx::query("select 1 from app.feed_heads where tenant_id = $1 for update")
        .bind(tenant)
        .execute(&mut *holder)
        .await
        .expect("hold the feed head");
    let pushes: Vec<_> = senders
        .iter()
        .map(|(desk, changes)| {
            let request = Client::new()
                .post(s.server.url("/v1/sync/push"))
                .bearer_auth(&desk.token)
                .json(&PushRequest {
                    protocol_version: PROTOCOL_VERSION,
                    changes: changes.clone(),
                });
            tokio::spawn(async move { request.send().await.expect("push") })
        })
        .collect();
    let waiting_in_the_database = || async {
        sqlx::query_scalar::<_, i64>(
            "select count(*) from pg_stat_activity
              where datname = current_database() and wait_event_type = 'Lock'
                and query like '%lock_tenant_feed%'",
        )
        .fetch_one(&s.db.pool)
        .await
        .expect("pg_stat_activity")
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while waiting_in_the_database().await < 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "the large pushes never reached the feed head"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // the third had every chance to take a connection too
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(
        waiting_in_the_database().await,
        2,
        "only two slots for large pushes"
    );

    let guest = Uuid::now_v7();
    let small = other.change(
        "guests",
        PushOp::Insert,
        guest,
        json!({"first_name": "Walk", "last_name": "In"}),
    );
    let answered = push(&s.server, &other, &[small]).await;
    assert_eq!(answered.results[0].status, PushStatus::Applied);

    holder.commit().await.expect("let them go");
    for pushed in pushes {
        let response = pushed.await.expect("push task");
        assert_eq!(response.status(), StatusCode::OK);
        let body: PushResponse = response.json().await.expect("body");
        assert!(
            body.results.iter().all(|r| r.status == PushStatus::Applied),
            "{body:?}"
        );
    }
}

/// A write the server makes without a laptop (a job, an admin command, an engineer's statement)
/// is stamped with the server's clock by field group, in the merge's rule: a laptop's offline
/// edit of the group made before it loses, and is answered as a conflict with the server's
/// values (kept in the laptop's inbox); an edit made after it wins, as between two laptops.
/// Before the stamps, the older offline edit silently overwrote the server's write.
#[tokio::test]
async fn a_server_write_beats_an_older_offline_edit_of_its_group_and_loses_to_a_newer_one() {
    let s = setup().await;
    let mut desk = laptop(&s.server, &s.desk_emails[0], "laptop A").await;
    let node = Uuid::now_v7();
    let (guest, address): (Uuid, Value) = sqlx::query_as(
        "select id, jsonb_build_object('address_line1', address_line1, 'address_line2', address_line2,
                'city', city, 'region', region, 'postal_code', postal_code, 'country_code', country_code)
           from public.guests where tenant_id = $1 and anonymized_at is null order by id limit 1",
    )
    .bind(desk.tenant_id)
    .fetch_one(&s.db.pool)
    .await
    .expect("a guest");
    // The laptop saw the address as it is now, and edits it offline a minute before the server.
    let offline_edit_at = chrono::Utc::now().timestamp_millis() - 60_000;
    let before_write = chrono::Utc::now().timestamp_millis();
    sqlx::query("update public.guests set city = 'Set By The Server' where id = $1")
        .bind(guest)
        .execute(&s.db.pool)
        .await
        .expect("a server write");
    let after_write = chrono::Utc::now().timestamp_millis();
    let stored: String = sqlx::query_scalar(
        "select group_stamps ->> 'address' from app.row_clocks where table_name = 'guests' and row_id = $1",
    )
    .bind(guest)
    .fetch_one(&s.db.pool)
    .await
    .expect("the server's write is stamped");
    let stored: pms_sync_protocol::hlc::Hlc = stored.parse().expect("a stamp in the text form");
    assert_eq!(stored.node, pms_sync_protocol::hlc::SERVER_NODE);
    assert!(
        (before_write..=after_write).contains(&stored.wall_ms),
        "stamped at {} for a write between {before_write} and {after_write}",
        stored.wall_ms
    );

    let mut edit = |city: &str, at: i64| {
        let mut change = desk.change("guests", PushOp::Update, guest, json!({"city": city}));
        change.base = address.as_object().cloned().unwrap_or_default();
        change.stamp = stamp_at(at, node);
        change
    };
    let older = edit("Older Laptop City", offline_edit_at);
    let newer = edit("Newer Laptop City", after_write + 1_000);
    let city = || async {
        sqlx::query_scalar::<_, Option<String>>("select city from public.guests where id = $1")
            .bind(guest)
            .fetch_one(&s.db.pool)
            .await
            .expect("city")
    };

    let answer = push(&s.server, &desk, &[older]).await.results.remove(0);
    assert_eq!(city().await.as_deref(), Some("Set By The Server"));
    assert_eq!(answer.status, PushStatus::Merged, "{answer:?}");
    assert!(
        answer
            .conflicts
            .iter()
            .any(|c| c.group.as_str() == "address"
                && c.reason == ConflictReason::Superseded
                && c.theirs.get("city") == Some(&json!("Set By The Server"))),
        "the older edit is answered with the server's address: {answer:?}"
    );

    push(&s.server, &desk, &[newer]).await;
    assert_eq!(city().await.as_deref(), Some("Newer Laptop City"));
}
