//! Folios over the real server and Postgres (issue 17, first slice): payments are ledger entries.
//!
//! - `two_desks_taking_payments_offline_on_one_stay_keep_both`: two laptops offline each take a
//!   payment on the same booking (whose guest folio neither has yet) through
//!   `pms_sync_client::folio`; after sync the server holds both entries on one guest folio, the
//!   stay's paid amount is their sum, both mirrors show both payments and the same balance, and
//!   neither laptop has a conflict. (Through the old path, a paid amount each desk raised and
//!   pushed as an update of `reservations.deposit_paid_cents`, the server kept the later desk's
//!   total and the other payment was gone: see `a_paid_amount_written_by_a_laptop_is_refused`.)
//! - `a_paid_amount_written_by_a_laptop_is_refused`: that old path is now refused
//!   `server_owned`, and the server's paid amount stays what the entries give.
//! - `a_card_number_is_refused_on_the_desk_and_on_the_server`: the desk's domain refuses it
//!   before anything is written ([`Error::CardNumber`], a message for the clerk); an entry that
//!   reaches the server anyway (written past the domain) is refused `card_number` and lands in
//!   the laptop's conflicts with the message.
//! - `a_closed_folio_takes_no_entry_from_a_laptop`: a payment posted offline on a folio the
//!   server has closed meanwhile is refused `folio_closed`.
//! - `entries_keep_to_their_folio_and_a_void_cancels_its_entry`: in Postgres, an entry in another
//!   currency than its folio's, or a void that does not match the entry it names, is refused by
//!   name; a matching void takes the voided payment out of the stay's paid amount, and an entry
//!   is voided once.
//! - `a_payment_and_a_guest_invoice_are_one_webhook_event_each_however_often_pushed`: a payment
//!   and a guest invoice a laptop made offline become one `folio.payment_received` and one
//!   `guest_invoice.issued` delivery (a charge none), with the amounts, the method and the number
//!   as printed; a retried push and the payment sent again under a new change add none.

use pms_sync_client::folio::{self, Payment};
use pms_sync_client::{outbox, Error};
use pms_sync_protocol::derived;
use pms_sync_protocol::wire::{PushChange, PushOp, PushRequest, PushStatus};
use pms_sync_protocol::PROTOCOL_VERSION;
use pms_tests::laptops::{first_tenant, mirror_matches_server, object, staff_emails, Laptop};
use pms_tests::{violation, TestDb, TestServer};
use serde_json::json;
use uuid::Uuid;

/// Two front-desk laptops of the first tenant, each synced once.
async fn two_desks(db: &TestDb, server: &TestServer) -> (Laptop, Laptop) {
    let desks = staff_emails(db, "front_desk").await;
    let mut a = Laptop::sign_in(db, server, &desks[0], "desk A").await;
    let mut b = Laptop::sign_in(db, server, &desks[1 % desks.len()], "desk B").await;
    a.sync().await;
    b.sync().await;
    (a, b)
}

/// A confirmed stay of the first tenant with nothing paid, and its total.
async fn unpaid_stay(db: &TestDb, offset: i64) -> (Uuid, i64) {
    sqlx::query_as(
        "select id, total_amount_cents from public.reservations
          where tenant_id = $1 and status = 'confirmed' and deposit_paid_cents = 0
          order by id limit 1 offset $2",
    )
    .bind(first_tenant(db).await)
    .bind(offset)
    .fetch_one(&db.pool)
    .await
    .expect("an unpaid stay")
}

async fn server_paid(db: &TestDb, stay: Uuid) -> (i64, String) {
    sqlx::query_as(
        "select deposit_paid_cents, payment_status from public.reservations where id = $1",
    )
    .bind(stay)
    .fetch_one(&db.pool)
    .await
    .expect("the stay")
}

fn mirror_paid(laptop: &Laptop, stay: Uuid) -> i64 {
    laptop
        .conn
        .query_row(
            "select deposit_paid_cents from reservations where id = ?1",
            [stay.to_string()],
            |r| r.get(0),
        )
        .expect("the stay on the laptop")
}

fn conflicts(laptop: &Laptop) -> Vec<(String, String, Option<String>)> {
    laptop
        .conn
        .prepare("select table_name, reason, message from conflicts order by id")
        .expect("prepare")
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .expect("conflicts")
        .collect::<Result<_, _>>()
        .expect("rows")
}

fn payment<'a>(
    stay: Uuid,
    amount: i64,
    method: &'a str,
    reference: Option<&'a str>,
) -> Payment<'a> {
    Payment {
        reservation_id: stay,
        amount_minor: amount,
        method,
        reference,
        ..Payment::default()
    }
}

#[tokio::test]
async fn two_desks_taking_payments_offline_on_one_stay_keep_both() {
    let db = TestDb::migrated().await;
    db.seed(1, 40).await;
    let (stay, total) = unpaid_stay(&db, 0).await;
    // A stay booked before folios: neither desk has its guest folio, so both open it offline.
    sqlx::query("delete from public.folios where reservation_id = $1")
        .bind(stay)
        .execute(&db.pool)
        .await
        .expect("no folio yet");
    let server = TestServer::start(&db).await;
    let (mut a, mut b) = two_desks(&db, &server).await;

    // Offline, each desk takes a payment on the stay; each sees its own at once.
    folio::take_payment(&mut a.conn, &payment(stay, 10_000, "card", Some("PSP-A-1")))
        .expect("desk A takes a payment");
    folio::take_payment(&mut b.conn, &payment(stay, 5_000, "cash", None))
        .expect("desk B takes a payment");
    assert_eq!(mirror_paid(&a, stay), 10_000);
    assert_eq!(mirror_paid(&b, stay), 5_000);

    let report_a = a.sync().await;
    let report_b = b.sync().await;
    a.sync().await;
    assert_eq!(
        (report_a.rejected, report_b.rejected),
        (0, 0),
        "nothing refused"
    );

    // The server: one guest folio, both payments, the paid amount their sum.
    let folios: Vec<Uuid> =
        sqlx::query_scalar("select id from public.folios where reservation_id = $1")
            .bind(stay)
            .fetch_all(&db.pool)
            .await
            .expect("folios");
    assert_eq!(
        folios,
        vec![derived::guest_folio_id(stay)],
        "one guest folio"
    );
    let amounts: Vec<i64> = sqlx::query_scalar(
        "select amount_minor from public.folio_entries
          where reservation_id = $1 and kind = 'payment' order by amount_minor",
    )
    .bind(stay)
    .fetch_all(&db.pool)
    .await
    .expect("entries");
    assert_eq!(amounts, vec![5_000, 10_000], "both payments on the server");
    let expected_status = if 15_000 >= total { "paid" } else { "partial" };
    assert_eq!(
        server_paid(&db, stay).await,
        (15_000, expected_status.to_owned())
    );

    // Both mirrors: both payments, the same balance, no conflict for either clerk.
    for (name, laptop) in [("A", &a), ("B", &b)] {
        let mut amounts: Vec<i64> = folio::entries(&laptop.conn, stay)
            .expect("entries")
            .iter()
            .filter(|e| e.kind == "payment")
            .map(|e| e.amount_minor)
            .collect();
        amounts.sort_unstable();
        assert_eq!(
            amounts,
            vec![5_000, 10_000],
            "desk {name} shows both payments"
        );
        let balance = folio::balance(&laptop.conn, stay).expect("balance");
        assert_eq!(
            (balance.paid_minor, balance.balance_minor),
            (15_000, -15_000),
            "desk {name}"
        );
        assert_eq!(mirror_paid(laptop, stay), 15_000, "desk {name}");
        assert_eq!(
            conflicts(laptop),
            vec![],
            "desk {name} has nothing to resolve"
        );
        mirror_matches_server(&db, laptop)
            .await
            .unwrap_or_else(|e| panic!("desk {name}: {e}"));
    }
}

#[tokio::test]
async fn a_paid_amount_written_by_a_laptop_is_refused() {
    let db = TestDb::migrated().await;
    db.seed(1, 40).await;
    let (stay, _) = unpaid_stay(&db, 0).await;
    let server = TestServer::start(&db).await;
    let (mut a, mut b) = two_desks(&db, &server).await;
    // The old way: each desk raised the stay's paid amount and pushed it as an update, merged by
    // clock, so the later desk's total won and the other payment was lost.
    for (laptop, amount) in [(&mut a, 10_000), (&mut b, 5_000)] {
        outbox::write(
            &mut laptop.conn,
            "reservations",
            PushOp::Update,
            stay,
            object(json!({"deposit_paid_cents": amount, "payment_status": "partial"})),
        )
        .expect("the old paid amount");
    }
    a.sync().await;
    b.sync().await;
    assert_eq!(server_paid(&db, stay).await, (0, "pending".to_owned()));
    for laptop in [&a, &b] {
        let reasons: Vec<String> = conflicts(laptop).into_iter().map(|c| c.1).collect();
        assert_eq!(reasons, vec!["server_owned".to_owned()]);
        assert_eq!(
            mirror_paid(laptop, stay),
            0,
            "the mirror is back to the server's"
        );
    }
}

#[tokio::test]
async fn a_card_number_is_refused_on_the_desk_and_on_the_server() {
    let db = TestDb::migrated().await;
    db.seed(1, 40).await;
    let (stay, _) = unpaid_stay(&db, 0).await;
    let server = TestServer::start(&db).await;
    let (mut a, _) = two_desks(&db, &server).await;

    // The desk: refused before anything is written, with a message for the clerk.
    let refused = folio::take_payment(
        &mut a.conn,
        &payment(stay, 5_000, "card", Some("4111 1111 1111 1111")),
    );
    let error = refused.expect_err("a card number in the reference");
    assert!(
        matches!(error, Error::CardNumber { field: "reference" }),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("looks like a card number"),
        "{error}"
    );
    assert!(outbox::entries(&a.conn, true).expect("outbox").is_empty());

    // The server: an entry written past the desk's check (an old app, a hand-made request).
    let folio_id = folio::open_guest_folio(&mut a.conn, stay).expect("the guest folio");
    let entry = Uuid::now_v7();
    outbox::write(
        &mut a.conn,
        "folio_entries",
        PushOp::Insert,
        entry,
        object(json!({
            "folio_id": folio_id, "reservation_id": stay, "kind": "payment", "amount_minor": 5_000,
            "currency": "EUR", "business_date": "2026-12-04", "payment_method": "card",
            "description": "Paid with card 5500-0000-0000-0004",
        })),
    )
    .expect("written past the desk's check");
    let report = a.sync().await;
    assert_eq!(report.rejected, 1);
    let conflicts = conflicts(&a);
    assert_eq!(conflicts.len(), 1, "{conflicts:?}");
    let (table, reason, message) = &conflicts[0];
    assert_eq!(
        (table.as_str(), reason.as_str()),
        ("folio_entries", "card_number")
    );
    assert!(
        message
            .as_deref()
            .is_some_and(|m| m.contains("looks like a card number")),
        "{message:?}"
    );
    let stored: i64 = sqlx::query_scalar("select count(*) from public.folio_entries where id = $1")
        .bind(entry)
        .fetch_one(&db.pool)
        .await
        .expect("count");
    assert_eq!(stored, 0, "the card number never reached the server");
    assert!(folio::entries(&a.conn, stay).expect("entries").is_empty());
}

#[tokio::test]
async fn a_closed_folio_takes_no_entry_from_a_laptop() {
    let db = TestDb::migrated().await;
    db.seed(1, 40).await;
    let (stay, _) = unpaid_stay(&db, 0).await;
    let server = TestServer::start(&db).await;
    let (mut a, _) = two_desks(&db, &server).await;
    // Offline, the desk takes a payment; meanwhile the folio is closed on the server.
    folio::take_payment(&mut a.conn, &payment(stay, 2_500, "cash", None)).expect("payment");
    sqlx::query(
        "update public.folios set status = 'closed', closed_at = now() where reservation_id = $1",
    )
    .bind(stay)
    .execute(&db.pool)
    .await
    .expect("closed");
    a.sync().await;
    let reasons: Vec<String> = conflicts(&a).into_iter().map(|c| c.1).collect();
    assert_eq!(reasons, vec!["folio_closed".to_owned()]);
    assert_eq!(server_paid(&db, stay).await.0, 0);
    assert_eq!(mirror_paid(&a, stay), 0);
    // And the desk now refuses a payment on it itself.
    assert!(matches!(
        folio::take_payment(&mut a.conn, &payment(stay, 2_500, "cash", None)),
        Err(Error::FolioClosed)
    ));
}

#[tokio::test]
async fn entries_keep_to_their_folio_and_a_void_cancels_its_entry() {
    let db = TestDb::migrated().await;
    db.seed(1, 40).await;
    // A seeded payment, the only entry of its stay.
    let (entry, stay, amount): (Uuid, Uuid, i64) = sqlx::query_as(
        "select e.id, e.reservation_id, e.amount_minor from public.folio_entries e
          where e.kind = 'payment'
            and (select count(*) from public.folio_entries o where o.reservation_id = e.reservation_id) = 1
          order by e.id limit 1",
    )
    .fetch_one(&db.pool)
    .await
    .expect("a paid stay");
    assert_eq!(server_paid(&db, stay).await.0, amount);
    let post = |currency: &'static str, voids: Option<Uuid>, amount: i64| {
        sqlx::query(
            "insert into public.folio_entries
                    (tenant_id, folio_id, reservation_id, kind, amount_minor, currency, payment_method, voids_entry_id)
             select tenant_id, folio_id, reservation_id, 'payment', $3, $1, 'card', $2
               from public.folio_entries where id = $4",
        )
        .bind(currency)
        .bind(voids)
        .bind(amount)
        .bind(entry)
        .execute(&db.pool)
    };
    assert_eq!(
        violation(post("USD", None, 100).await),
        (
            "23514".to_owned(),
            Some("folio_entries_currency_of_folio".to_owned())
        )
    );
    assert_eq!(
        violation(post("EUR", Some(entry), amount + 1).await),
        (
            "23514".to_owned(),
            Some("folio_entries_void_matches".to_owned())
        )
    );
    post("EUR", Some(entry), amount).await.expect("the void");
    assert_eq!(
        server_paid(&db, stay).await,
        (0, "pending".to_owned()),
        "the voided payment no longer counts"
    );
    assert_eq!(
        violation(post("EUR", Some(entry), amount).await),
        (
            "23505".to_owned(),
            Some("folio_entries_voids_entry_key".to_owned())
        ),
        "an entry is voided once"
    );
    let changed = sqlx::query("update public.folio_entries set amount_minor = 1 where id = $1")
        .bind(entry)
        .execute(&db.pool)
        .await;
    assert_eq!(violation(changed).0, "42501", "entries are never edited");
}

/// The first tenant's only webhook, subscribed to the money's events.
async fn money_webhook(db: &TestDb) -> Uuid {
    let tenant = first_tenant(db).await;
    sqlx::query("delete from public.webhooks where tenant_id = $1")
        .bind(tenant)
        .execute(&db.pool)
        .await
        .expect("no other webhook");
    sqlx::query_scalar(
        "insert into public.webhooks (tenant_id, url, events, secret)
         values ($1, 'http://127.0.0.1:9/money', '{folio.payment_received,guest_invoice.issued}', 's')
         returning id",
    )
    .bind(tenant)
    .fetch_one(&db.pool)
    .await
    .expect("webhook")
}

#[tokio::test]
async fn a_payment_and_a_guest_invoice_are_one_webhook_event_each_however_often_pushed() {
    let db = TestDb::migrated().await;
    db.seed(1, 40).await;
    let webhook = money_webhook(&db).await;
    let (stay, _) = unpaid_stay(&db, 0).await;
    let server = TestServer::start(&db).await;
    let (mut a, _) = two_desks(&db, &server).await;

    // Offline: a payment, a charge (not a payment: no event) and the stay's invoice.
    let payment_id =
        folio::take_payment(&mut a.conn, &payment(stay, 7_500, "card", Some("PSP-77")))
            .expect("payment");
    folio::post_charge(
        &mut a.conn,
        &folio::Charge {
            reservation_id: stay,
            description: "Minibar",
            unit_price_minor: 1_200,
            quantity: 1,
            charge_type: "minibar",
            ..folio::Charge::default()
        },
    )
    .expect("charge");
    let invoice = pms_sync_client::guest_invoice::issue(
        &mut a.conn,
        stay,
        None,
        Some(a.device_id),
        Some(a.claims.user_id),
        chrono::Utc::now(),
    )
    .expect("invoice");
    let pushed: Vec<PushChange> = outbox::entries(&a.conn, false)
        .expect("outbox")
        .iter()
        .map(|e| PushChange {
            change_id: e.change_id,
            device_seq: e.device_seq,
            table: e.table.clone(),
            op: e.op,
            id: e.id,
            values: e.values.clone(),
            base: e.base.clone(),
            stamp: e.stamp,
        })
        .collect();
    assert_eq!(a.sync().await.rejected, 0);

    // A retried push (its answer lost) and the same payment sent again as a new change.
    let mut again = pushed.clone();
    let last_seq = again.iter().map(|c| c.device_seq).max().expect("changes");
    let mut copy = pushed
        .iter()
        .find(|c| c.id == payment_id)
        .expect("the payment was pushed")
        .clone();
    copy.change_id = Uuid::now_v7();
    copy.device_seq = last_seq + 1;
    again.push(copy);
    let answer = a
        .remote
        .push(&PushRequest {
            protocol_version: PROTOCOL_VERSION,
            changes: again,
        })
        .await
        .expect("push again");
    assert!(
        answer
            .results
            .iter()
            .all(|r| r.status == PushStatus::Applied),
        "{:?}",
        answer.results
    );

    let events: Vec<(String, serde_json::Value)> = sqlx::query_as(
        "select event, payload -> 'data' from public.webhook_deliveries
          where webhook_id = $1 order by event",
    )
    .bind(webhook)
    .fetch_all(&db.pool)
    .await
    .expect("deliveries");
    let names: Vec<&str> = events.iter().map(|(event, _)| event.as_str()).collect();
    assert_eq!(names, ["folio.payment_received", "guest_invoice.issued"]);
    let paid = &events[0].1;
    assert_eq!(paid["id"], json!(payment_id));
    assert_eq!(paid["reservation_id"], json!(stay));
    assert_eq!(
        (
            &paid["amount_minor"],
            &paid["payment_method"],
            &paid["external_reference"]
        ),
        (&json!(7_500), &json!("card"), &json!("PSP-77"))
    );
    let issued = &events[1].1;
    assert_eq!(issued["id"], json!(invoice.id));
    assert_eq!(issued["number"], json!(invoice.number_label), "as printed");
    assert_eq!(
        (&issued["kind"], &issued["total_minor"], &issued["currency"]),
        (
            &json!("invoice"),
            &json!(invoice.total_minor),
            &json!(invoice.currency)
        )
    );
}
