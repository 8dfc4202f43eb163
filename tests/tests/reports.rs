//! The owner's reports (issue 18 item 7), computed on a laptop's mirror by
//! `pms_sync_client::reports`, against the same figures computed here in SQL on Postgres for a
//! seeded tenant: rooms sellable and sold, occupancy, room and other revenue, ADR and RevPAR
//! for each night of three months around the seed's day, and their totals; and the CSV exports.
//!
//! - `the_mirrors_report_equals_postgres_for_a_seeded_tenant`

use chrono::Duration;
use pms_sync_client::{folio, reports};
use pms_tests::laptops::{first_tenant, staff_emails, Laptop};
use pms_tests::{TestDb, TestServer, SEED_DAY};
use uuid::Uuid;

/// One night's figures as Postgres computes them.
#[derive(Debug, sqlx::FromRow)]
struct Night {
    night: chrono::NaiveDate,
    sellable: i64,
    sold: i64,
    occupancy: f64,
    room: i64,
    other: i64,
    adr: i64,
    revpar: i64,
}

const NIGHTS_IN_SQL: &str = "
with nights as (
    select d::date as night from generate_series($2::date, $3::date, interval '1 day') d
), sellable as (
    select count(*) as n from public.rooms where property_id = $1 and deleted_at is null
), sold as (
    select n.night, count(r.id) as n
      from nights n
      left join public.reservations r
        on r.property_id = $1 and r.deleted_at is null
       and r.status in ('confirmed', 'checked_in', 'checked_out')
       and r.check_in_date <= n.night and r.check_out_date > n.night
     group by n.night
), revenue as (
    select e.business_date,
           sum(case when coalesce(e.charge_type, 'other') = 'room' then
                    case when e.voids_entry_id is null then e.amount_minor else -e.amount_minor end end) as room,
           sum(case when coalesce(e.charge_type, 'other') <> 'room' then
                    case when e.voids_entry_id is null then e.amount_minor else -e.amount_minor end end) as other
      from public.folio_entries e join public.folios f on f.tenant_id = e.tenant_id and f.id = e.folio_id
     where f.property_id = $1 and e.kind in ('charge', 'adjustment')
       and e.business_date between $2 and $3
     group by e.business_date
)
select n.night, s.n as sellable, sold.n as sold,
       coalesce(round(sold.n * 100.0 / nullif(s.n, 0), 1), 0)::float8 as occupancy,
       coalesce(v.room, 0)::bigint as room, coalesce(v.other, 0)::bigint as other,
       coalesce(round(coalesce(v.room, 0)::numeric / nullif(sold.n, 0)), 0)::bigint as adr,
       coalesce(round(coalesce(v.room, 0)::numeric / nullif(s.n, 0)), 0)::bigint as revpar
  from nights n cross join sellable s
  join sold on sold.night = n.night
  left join revenue v on v.business_date = n.night
 order by n.night";

#[tokio::test]
async fn the_mirrors_report_equals_postgres_for_a_seeded_tenant() {
    let db = TestDb::migrated().await;
    db.seed(1, 120).await;
    let server = TestServer::start(&db).await;
    let managers = staff_emails(&db, "manager").await;
    let mut laptop = Laptop::sign_in(&db, &server, &managers[0], "back office").await;
    laptop.sync().await;
    let property: Uuid = sqlx::query_scalar(
        "select id from public.properties where tenant_id = $1 order by id limit 1",
    )
    .bind(first_tenant(&db).await)
    .fetch_one(&db.pool)
    .await
    .expect("a property");
    let (from, to) = (SEED_DAY - Duration::days(60), SEED_DAY + Duration::days(30));
    // Extras and a void in the range, made at the desk and synced: other revenue, and a room
    // charge taken back.
    let (stay, room_charge): (Uuid, Uuid) = sqlx::query_as(
        "select e.reservation_id, e.id from public.folio_entries e
           join public.folios f on f.tenant_id = e.tenant_id and f.id = e.folio_id
          where f.property_id = $1 and e.kind = 'charge' and e.charge_type = 'room'
            and e.voids_entry_id is null and e.business_date between $2 and $3
          order by e.business_date, e.id limit 1",
    )
    .bind(property)
    .bind(from)
    .bind(SEED_DAY)
    .fetch_one(&db.pool)
    .await
    .expect("a room charge in the range");
    for (description, price, quantity, days_before) in
        [("Minibar", 450, 2, 5), ("Parking", 1_200, 1, 9)]
    {
        folio::post_charge(
            &mut laptop.conn,
            &folio::Charge {
                reservation_id: stay,
                description,
                unit_price_minor: price,
                quantity,
                charge_type: if description == "Minibar" {
                    "minibar"
                } else {
                    "parking"
                },
                business_date: Some(SEED_DAY - Duration::days(days_before)),
                ..folio::Charge::default()
            },
        )
        .expect("an extra");
    }
    folio::void_entry(&mut laptop.conn, stay, room_charge, "posted twice", None).expect("a void");
    assert_eq!(laptop.sync().await.rejected, 0);

    let report = reports::report(&laptop.conn, property, from, to).expect("the report");
    let nights: Vec<Night> = sqlx::query_as(NIGHTS_IN_SQL)
        .bind(property)
        .bind(from)
        .bind(to)
        .fetch_all(&db.pool)
        .await
        .expect("the figures in SQL");
    assert_eq!(report.days.len(), nights.len());
    for (day, night) in report.days.iter().zip(&nights) {
        let figures = &day.figures;
        assert_eq!(day.date, night.night);
        assert_eq!(
            (
                figures.rooms_sellable,
                figures.rooms_sold,
                figures.occupancy_percent,
                figures.room_revenue_minor,
                figures.other_revenue_minor,
                figures.adr_minor,
                figures.revpar_minor
            ),
            (
                night.sellable,
                night.sold,
                night.occupancy,
                night.room,
                night.other,
                night.adr,
                night.revpar
            ),
            "{}",
            night.night
        );
    }
    // The seed gives the range something to count, or the comparison proves little.
    let sold: i64 = nights.iter().map(|n| n.sold).sum();
    let room: i64 = nights.iter().map(|n| n.room).sum();
    let other: i64 = nights.iter().map(|n| n.other).sum();
    assert!(
        sold > 0 && room > 0 && other > 0,
        "sold {sold}, room {room}, other {other}"
    );
    let sellable: i64 = nights.iter().map(|n| n.sellable).sum();
    assert_eq!(
        (
            report.totals.rooms_sold,
            report.totals.room_revenue_minor,
            report.totals.other_revenue_minor,
            report.totals.rooms_sellable
        ),
        (sold, room, other, sellable)
    );
    let adr: i64 = sqlx::query_scalar("select round($1::numeric / $2)::bigint")
        .bind(room)
        .bind(sold)
        .fetch_one(&db.pool)
        .await
        .expect("ADR");
    assert_eq!(report.totals.adr_minor, adr);

    // The CSV: a header, a row per night and the total, amounts as the currency prints them.
    let csv = reports::report_csv(&report).expect("csv");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), nights.len() + 2);
    assert!(lines[0].starts_with("date,rooms_sellable,rooms_sold,occupancy_percent,room_revenue_"));
    assert!(lines
        .last()
        .is_some_and(|l| l.starts_with(&format!("total,{sellable},{sold},"))));

    // The guest list: every guest the laptop holds, once, with a header.
    let guests: i64 = laptop
        .conn
        .query_row(
            "select count(*) from guests where deleted_at is null and anonymized_at is null",
            [],
            |r| r.get(0),
        )
        .expect("guests");
    let list = reports::guests_csv(&laptop.conn).expect("guest csv");
    assert!(guests >= 100, "{guests}");
    let mut reader = csv::Reader::from_reader(list.as_bytes());
    assert_eq!(reader.records().count() as i64, guests);

    // A range the report refuses, with the field to fix.
    let refused = reports::report(&laptop.conn, property, to, from).expect_err("backwards");
    assert!(matches!(
        refused,
        pms_sync_client::Error::Invalid { field: "to", .. }
    ));
}
