//! Check-in's registration details and a booking's history over the real server and Postgres
//! (issue 18, items 1 and 5).
//!
//! - `documents_reach_the_front_office_only_and_go_when_their_property_stops_keeping_them`: an
//!   identity document and the booking's events captured on one desk reach another desk; the
//!   housekeeping laptop gets the events but never the document (RLS); every mirror equals what
//!   its role reads on the server. With the property keeping documents 30 days after check-out,
//!   the retention job deletes a document of a stay that left longer ago, and the delete reaches
//!   the desks; a newer stay's document stays. Anonymizing a guest drops the guest's documents.

use chrono::Utc;
use pms_server::jobs::retention;
use pms_sync_client::history;
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
