//! Check-in's registration details and a booking's history over the real server and Postgres
//! (issue 18, items 1 and 5).
//!
//! - `documents_reach_the_front_office_only_and_go_when_their_property_stops_keeping_them`: an
//!   identity document and the booking's events captured on one desk reach another desk; the
//!   housekeeping laptop gets the events but never the document (RLS); every mirror equals what
//!   its role reads on the server. With the property keeping documents 30 days after check-out,
//!   the retention job deletes a document of a stay that left longer ago, and the delete reaches
//!   the desks; a newer stay's document stays. Anonymizing a guest drops the guest's documents.
//! - `two_desks_making_a_guest_s_preferences_offline_make_one_record_with_both_desks_fields`:
//!   the record's id is derived from the guest, so the second desk's creation is the same record
//!   and what each typed merges field by field, no conflict.
//! - `an_owner_s_loyalty_program_reaches_the_server_and_a_front_desk_s_is_refused`: programs
//!   made at the desk by an owner are the server's; a front desk's is refused `forbidden` and shown.

use chrono::Utc;
use pms_server::jobs::retention;
use pms_sync_client::history;
use pms_sync_client::loyalty_programs::{self, ProgramInput, TierInput};
use pms_sync_client::preferences;
use pms_sync_client::registration::{self, DocumentInput, RegistrationInput};
use pms_tests::laptops::{first_tenant, mirror_matches_server, staff_emails, Laptop};
use pms_tests::{TestDb, TestServer};
use uuid::Uuid;

/// A stay of the first tenant with a guest profile whose check-out is `days_ago` days past or
/// more (`true`), or still to come (`false`).
async fn stay_with_guest(db: &TestDb, left_long_ago: bool) -> (Uuid, Uuid) {
    sqlx::query_as(
        "select id, guest_id from public.reservations
          where tenant_id = $1 and guest_id is not null and deleted_at is null
            and case when $2 then check_out_date < current_date - 40 else check_out_date > current_date end
          order by id limit 1",
    )
    .bind(first_tenant(db).await)
    .bind(left_long_ago)
    .fetch_one(&db.pool)
    .await
    .expect("a stay with a guest")
}

fn passport(number: &str) -> RegistrationInput {
    RegistrationInput {
        nationality: Some("DE".to_owned()),
        document: Some(DocumentInput {
            kind: "passport".to_owned(),
            number: number.to_owned(),
            issuing_country: Some("DE".to_owned()),
            expires_on: Some("2035-06-30".to_owned()),
        }),
        ..RegistrationInput::default()
    }
}

fn mirror_documents(laptop: &Laptop) -> Vec<String> {
    laptop
        .conn
        .prepare("select number from guest_documents order by number")
        .expect("prepare")
        .query_map([], |r| r.get(0))
        .expect("documents")
        .collect::<Result<_, _>>()
        .expect("rows")
}

async fn server_documents(db: &TestDb) -> Vec<String> {
    sqlx::query_scalar("select number from public.guest_documents order by number")
        .fetch_all(&db.pool)
        .await
        .expect("documents")
}

#[tokio::test]
async fn documents_reach_the_front_office_only_and_go_when_their_property_stops_keeping_them() {
    let db = TestDb::migrated().await;
    db.seed(1, 40).await;
    let (old_stay, old_guest) = stay_with_guest(&db, true).await;
    let (new_stay, _) = stay_with_guest(&db, false).await;
    // only this test's documents, not the demo's
    sqlx::query("delete from public.guest_documents")
        .execute(&db.pool)
        .await
        .expect("no demo documents");
    let server = TestServer::start(&db).await;
    let desks = staff_emails(&db, "front_desk").await;
    let keepers = staff_emails(&db, "housekeeping").await;
    let mut a = Laptop::sign_in(&db, &server, &desks[0], "desk A").await;
    let mut b = Laptop::sign_in(&db, &server, &desks[1 % desks.len()], "desk B").await;
    let mut h = Laptop::sign_in(&db, &server, &keepers[0], "housekeeping").await;
    for laptop in [&mut a, &mut b, &mut h] {
        laptop.sync().await;
    }

    let by = Some(a.claims.user_id);
    registration::capture(&mut a.conn, old_stay, &passport("OLD111"), by, Utc::now())
        .expect("captured for the stay that left");
    registration::capture(&mut a.conn, new_stay, &passport("NEW222"), by, Utc::now())
        .expect("captured for the stay to come");
    for laptop in [&mut a, &mut b, &mut h] {
        laptop.sync().await;
    }
    assert_eq!(server_documents(&db).await, ["NEW222", "OLD111"]);
    assert_eq!(
        mirror_documents(&b),
        ["NEW222", "OLD111"],
        "desk B has them"
    );
    assert!(
        mirror_documents(&h).is_empty(),
        "housekeeping never gets them"
    );
    let registered = |laptop: &Laptop| {
        history::of_booking(&laptop.conn, &new_stay.to_string())
            .expect("history")
            .into_iter()
            .filter(|line| line.action == "registered")
            .count()
    };
    assert_eq!(
        (registered(&b), registered(&h)),
        (1, 1),
        "the event reaches both"
    );
    let nationality: Option<String> =
        sqlx::query_scalar("select nationality from public.guests where id = $1")
            .bind(old_guest)
            .fetch_one(&db.pool)
            .await
            .expect("guest");
    assert_eq!(nationality.as_deref(), Some("DE"));
    for laptop in [&a, &b, &h] {
        mirror_matches_server(&db, laptop)
            .await
            .expect("mirror equals its role's rows");
    }

    // The property keeps documents 30 days after check-out: the old stay's goes, everywhere.
    sqlx::query("update public.properties set document_retention_days = 30 where tenant_id = $1")
        .bind(first_tenant(&db).await)
        .execute(&db.pool)
        .await
        .expect("policy");
    let removed = retention::purge_expired_documents(&db.pool, Utc::now())
        .await
        .expect("retention");
    assert_eq!(removed, 1);
    assert_eq!(server_documents(&db).await, ["NEW222"]);
    b.sync().await;
    assert_eq!(
        mirror_documents(&b),
        ["NEW222"],
        "the delete reached desk B"
    );

    // An anonymized guest keeps no document.
    sqlx::query(
        "update public.guests set anonymized_at = now()
          where id = (select guest_id from public.reservations where id = $1)",
    )
    .bind(new_stay)
    .execute(&db.pool)
    .await
    .expect("anonymized");
    assert!(server_documents(&db).await.is_empty());
    b.sync().await;
    assert!(mirror_documents(&b).is_empty());
    mirror_matches_server(&db, &b)
        .await
        .expect("desk B equals the server");
}

fn conflicts(laptop: &Laptop) -> Vec<(String, String)> {
    laptop
        .conn
        .prepare("select table_name, reason from conflicts order by id")
        .expect("prepare")
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("conflicts")
        .collect::<Result<_, _>>()
        .expect("rows")
}

#[tokio::test]
async fn two_desks_making_a_guest_s_preferences_offline_make_one_record_with_both_desks_fields() {
    let db = TestDb::migrated().await;
    db.seed(1, 40).await;
    let guest: Uuid = sqlx::query_scalar(
        "select g.id from public.guests g
          where g.tenant_id = $1 and g.deleted_at is null
            and not exists (select 1 from public.guest_preferences p where p.guest_id = g.id)
          order by g.id limit 1",
    )
    .bind(first_tenant(&db).await)
    .fetch_one(&db.pool)
    .await
    .expect("a guest without preferences");
    let server = TestServer::start(&db).await;
    let desks = staff_emails(&db, "front_desk").await;
    let mut a = Laptop::sign_in(&db, &server, &desks[0], "desk A").await;
    let mut b = Laptop::sign_in(&db, &server, &desks[1 % desks.len()], "desk B").await;
    a.sync().await;
    b.sync().await;

    let changes = |value: serde_json::Value| value.as_object().expect("an object").clone();
    preferences::save(
        &mut a.conn,
        guest,
        &changes(serde_json::json!({"bed_type": "king"})),
    )
    .expect("desk A");
    preferences::save(
        &mut b.conn,
        guest,
        &changes(serde_json::json!({"allergies": ["nuts"]})),
    )
    .expect("desk B");
    a.sync().await;
    b.sync().await;
    a.sync().await;

    let rows: Vec<(Uuid, Option<String>, Vec<String>)> = sqlx::query_as(
        "select id, bed_type, allergies from public.guest_preferences where guest_id = $1",
    )
    .bind(guest)
    .fetch_all(&db.pool)
    .await
    .expect("preferences");
    assert_eq!(
        rows,
        [(
            pms_sync_protocol::derived::guest_preferences_id(guest),
            Some("king".to_owned()),
            vec!["nuts".to_owned()]
        )],
        "one record with both desks' fields"
    );
    assert_eq!((conflicts(&a), conflicts(&b)), (vec![], vec![]));
    for laptop in [&a, &b] {
        mirror_matches_server(&db, laptop)
            .await
            .expect("mirror equals the server");
    }
}

#[tokio::test]
async fn an_owner_s_loyalty_program_reaches_the_server_and_a_front_desk_s_is_refused() {
    let db = TestDb::migrated().await;
    db.seed(1, 10).await;
    let server = TestServer::start(&db).await;
    let owner = staff_emails(&db, "owner").await;
    let desks = staff_emails(&db, "front_desk").await;
    let mut o = Laptop::sign_in(&db, &server, &owner[0], "owner").await;
    let mut d = Laptop::sign_in(&db, &server, &desks[0], "desk").await;
    o.sync().await;
    d.sync().await;
    let program = |name: &str| ProgramInput {
        name: name.to_owned(),
        description: None,
        enabled: true,
        points_per_currency_unit: 2.5,
        first_stay_bonus_points: 100,
        birthday_bonus_points: 0,
        point_value_cents: 0.5,
        minimum_redemption_points: 500,
        points_expiry_days: Some(365),
        tiers: vec![TierInput {
            name: "Silver".to_owned(),
            required_points: 1000,
            multiplier: 1.25,
            benefits: vec!["Late check-out".to_owned()],
        }],
    };
    loyalty_programs::create(&mut o.conn, &program("Owner's Club"), "EUR").expect("owner");
    loyalty_programs::create(&mut d.conn, &program("Desk's Club"), "EUR").expect("written locally");
    o.sync().await;
    d.sync().await;
    let on_server: Vec<(String, String, serde_json::Value)> = sqlx::query_as(
        "select name, points_per_currency_unit::text, tiers from public.loyalty_programs
          where name in ('Owner''s Club', 'Desk''s Club')",
    )
    .fetch_all(&db.pool)
    .await
    .expect("programs");
    assert_eq!(on_server.len(), 1, "{on_server:?}");
    assert_eq!(on_server[0].0, "Owner's Club");
    assert_eq!(on_server[0].1, "2.5000");
    assert_eq!(on_server[0].2[0]["name"], "Silver");
    assert_eq!(
        conflicts(&d),
        [("loyalty_programs".to_owned(), "forbidden".to_owned())],
        "the front desk's program is refused and shown"
    );
    mirror_matches_server(&db, &o)
        .await
        .expect("owner's mirror");
}
