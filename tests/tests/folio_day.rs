//! A hotel's day in money over the real server and Postgres (issue 17): the night audit run by
//! two laptops offline, and amounts in a currency's own minor units with VAT included in prices
//! or added to them.
//!
//! - `two_desks_auditing_the_same_night_offline_post_one_set_of_charges`: three stays in the
//!   house and one guaranteed arrival who never came; two laptops each run the night audit of
//!   the same business date offline (in the property's time zone, Tokyo, not the laptop's);
//!   after sync the server holds one room charge, one VAT and one city tax per stay-night, the
//!   arrival is a no-show once with one fee, one audit closes the date, both mirrors equal the
//!   server and neither laptop has a conflict.
//! - `a_jpy_and_a_bhd_property_count_in_their_own_minor_units_and_vat_adds_up_by_hand`: extras
//!   posted on a JPY property whose prices include 10% VAT and on a BHD property that adds 5%,
//!   summed by the server and shown by the desk, give the totals a hand calculation gives.

use chrono::{NaiveDate, Utc};
use pms_sync_client::folio::{self, Charge};
use pms_sync_client::{business_day, night_audit};
use pms_sync_protocol::derived;
use pms_sync_protocol::money::format_minor;
use pms_tests::laptops::{
    first_tenant, mirror_matches_server, staff_emails, tenant_staff_emails, Laptop,
};
use pms_tests::{TestDb, TestServer};
use uuid::Uuid;

async fn two_desks(db: &TestDb, server: &TestServer) -> (Laptop, Laptop) {
    let desks = staff_emails(db, "front_desk").await;
    let mut a = Laptop::sign_in(db, server, &desks[0], "desk A").await;
    let mut b = Laptop::sign_in(db, server, &desks[1 % desks.len()], "desk B").await;
    a.sync().await;
    b.sync().await;
    (a, b)
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

async fn execute(db: &TestDb, sql: &str) {
    sqlx::raw_sql(sql)
        .execute(&db.pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// The first tenant's first property, with its taxes replaced by these and no audits yet.
async fn property_with_taxes(db: &TestDb, zone: &str, currency: &str, taxes: &str) -> Uuid {
    let tenant = first_tenant(db).await;
    let property: Uuid = sqlx::query_scalar(
        "select id from public.properties where tenant_id = $1 order by id limit 1",
    )
    .bind(tenant)
    .fetch_one(&db.pool)
    .await
    .expect("a property");
    execute(
        db,
        &format!(
            "set session_replication_role = replica;
             delete from public.night_audits where property_id = '{property}';
             set session_replication_role = origin;
             delete from public.property_taxes where property_id = '{property}';
             update public.properties set timezone = '{zone}', currency = '{currency}' where id = '{property}';
             insert into public.property_taxes (tenant_id, property_id, name, kind, charge_type, rate_bp, included, amount_minor, exempt_under_age)
             select '{tenant}', '{property}', t.name, t.kind, t.charge_type, t.rate_bp, t.included, t.amount_minor, t.exempt_under_age
               from (values {taxes}) as t (name, kind, charge_type, rate_bp, included, amount_minor, exempt_under_age);"
        ),
    )
    .await;
    property
}

/// No stay of the property is in the house or to come: the test's stays are the only ones.
async fn quiet(db: &TestDb, property: Uuid) {
    execute(
        db,
        &format!(
            "update public.reservations set status = 'checked_out', checked_out_at = now(), checked_in_at = coalesce(checked_in_at, now())
              where property_id = '{property}' and status in ('checked_in', 'confirmed', 'pending');"
        ),
    )
    .await;
}

/// Moves `count` stays of the property to `status` on the night of `date` (in the house: they
/// arrived the day before and leave the day after; arriving: they arrive on `date`), with two
/// adults and a child, a room each, a nightly price, no folio entries and no priced nights.
async fn stays_on(
    db: &TestDb,
    property: Uuid,
    status: &str,
    date: NaiveDate,
    count: i64,
    skip: i64,
    currency: &str,
) -> Vec<Uuid> {
    let (arrival, departure) = if status == "checked_in" {
        (
            date.pred_opt().expect("a date"),
            date.succ_opt().expect("a date"),
        )
    } else {
        (date, date + chrono::Days::new(2))
    };
    // one stay per room, so none overlaps another in its room
    let ids: Vec<Uuid> = sqlx::query_scalar(
        "select id from (select distinct on (r.room_id) r.id, r.room_id from public.reservations r
                          where r.property_id = $1 and r.room_id is not null and r.deleted_at is null
                          order by r.room_id, r.id) s
          order by room_id limit $2 offset $3",
    )
    .bind(property)
    .bind(count)
    .bind(skip)
    .fetch_all(&db.pool)
    .await
    .expect("stays");
    assert_eq!(ids.len() as i64, count, "enough seeded stays");
    for id in &ids {
        execute(
            db,
            &format!(
                "set session_replication_role = replica;
                 delete from public.guest_invoices where reservation_id = '{id}';
                 delete from public.folio_entries where reservation_id = '{id}';
                 delete from public.reservation_nights where reservation_id = '{id}';
                 set session_replication_role = origin;
                 update public.reservations set status = '{status}', check_in_date = '{arrival}',
                        check_out_date = '{departure}', adults = 2, children = 1,
                        rate_per_night_cents = 12000, currency = '{currency}',
                        checked_in_at = case when '{status}' = 'checked_in' then now() end,
                        checked_out_at = null, cancelled_at = null
                  where id = '{id}';
                 update public.folios set currency = '{currency}', status = 'open', closed_at = null
                  where reservation_id = '{id}';"
            ),
        )
        .await;
    }
    ids
}

#[tokio::test]
async fn two_desks_auditing_the_same_night_offline_post_one_set_of_charges() {
    let db = TestDb::migrated().await;
    db.seed(1, 60).await;
    // VAT 10% added to rooms; a city tax of 2.50 per adult and night, children exempt.
    let property = property_with_taxes(
        &db,
        "Asia/Tokyo",
        "EUR",
        "('VAT', 'vat', 'room', 1000, false, null::bigint, null::smallint),
         ('City tax', 'city_tax', null, null, false, 250, 12)",
    )
    .await;
    // The business date is the property's today: Tokyo's, whatever the laptop's zone.
    let tokyo_today = Utc::now()
        .with_timezone(&chrono_tz::Asia::Tokyo)
        .date_naive();
    quiet(&db, property).await;
    let in_house = stays_on(&db, property, "checked_in", tokyo_today, 3, 0, "EUR").await;
    let arriving = stays_on(&db, property, "confirmed", tokyo_today, 1, 3, "EUR").await;
    let server = TestServer::start(&db).await;
    let (mut a, mut b) = two_desks(&db, &server).await;
    assert_eq!(
        business_day::business_date(&a.conn, property, Utc::now()).expect("a date"),
        tokyo_today
    );

    // Offline, both desks audit the same night.
    let day_a = night_audit::run(&mut a.conn, property, Utc::now(), None).expect("desk A audits");
    let day_b = night_audit::run(&mut b.conn, property, Utc::now(), None).expect("desk B audits");
    for day in [&day_a, &day_b] {
        assert_eq!(day.business_date, tokyo_today);
        assert_eq!((day.rooms_sold, day.no_shows), (3, 1), "{day:?}");
        // 3 rooms at 120.00, VAT 10% on rooms (12.00 each), city tax 2 adults × 2.50 each (the
        // child exempt), the no-show's fee of one night (no VAT names no-show fees here)
        let revenue: Vec<(&str, i64)> = day
            .revenue
            .iter()
            .map(|r| (r.charge_type.as_str(), r.amount_minor))
            .collect();
        assert_eq!(
            revenue,
            vec![
                ("city_tax", 1500),
                ("no_show", 12000),
                ("room", 36000),
                ("vat", 3600)
            ],
            "{day:?}"
        );
    }
    // Each desk now works on the next business date.
    assert_eq!(
        business_day::business_date(&a.conn, property, Utc::now()).expect("a date"),
        tokyo_today.succ_opt().expect("a date")
    );

    a.sync().await;
    b.sync().await;
    a.sync().await;

    // One room charge, one VAT and one city tax per stay-night; the no-show once, with one fee.
    let night = tokyo_today.to_string();
    for stay in &in_house {
        let kinds: Vec<(String, Option<String>, i64)> = sqlx::query_as(
            "select kind, charge_type, amount_minor from public.folio_entries
              where reservation_id = $1 and business_date = $2::date order by kind, charge_type",
        )
        .bind(stay)
        .bind(&night)
        .fetch_all(&db.pool)
        .await
        .expect("entries");
        assert_eq!(
            kinds,
            vec![
                ("charge".to_owned(), Some("room".to_owned()), 12_000),
                ("tax".to_owned(), Some("city_tax".to_owned()), 500),
                ("tax".to_owned(), Some("vat".to_owned()), 1_200),
            ],
            "stay {stay}"
        );
        let charge: Uuid = sqlx::query_scalar(
            "select id from public.folio_entries where reservation_id = $1 and charge_type = 'room'",
        )
        .bind(stay)
        .fetch_one(&db.pool)
        .await
        .expect("the room charge");
        assert_eq!(charge, derived::room_charge_id(*stay, tokyo_today));
    }
    let (status, fees): (String, i64) = sqlx::query_as(
        "select r.status, (select count(*) from public.folio_entries e
                            where e.reservation_id = r.id and e.charge_type = 'no_show')
           from public.reservations r where r.id = $1",
    )
    .bind(arriving[0])
    .fetch_one(&db.pool)
    .await
    .expect("the arrival");
    assert_eq!((status.as_str(), fees), ("no_show", 1));
    let audits: i64 = sqlx::query_scalar(
        "select count(*) from public.night_audits where property_id = $1 and business_date = $2::date",
    )
    .bind(property)
    .bind(&night)
    .fetch_one(&db.pool)
    .await
    .expect("audits");
    assert_eq!(audits, 1);

    assert_eq!(conflicts(&a), vec![], "desk A");
    assert_eq!(conflicts(&b), vec![], "desk B");
    b.sync().await;
    for laptop in [&a, &b] {
        mirror_matches_server(&db, laptop)
            .await
            .expect("the mirror equals the server");
    }
}

#[tokio::test]
async fn a_jpy_and_a_bhd_property_count_in_their_own_minor_units_and_vat_adds_up_by_hand() {
    let db = TestDb::migrated().await;
    db.seed(2, 60).await;
    let tenants: Vec<Uuid> = sqlx::query_scalar("select id from public.tenants order by subdomain")
        .fetch_all(&db.pool)
        .await
        .expect("tenants");
    let server = TestServer::start(&db).await;
    let extra = |stay, description, price, quantity| Charge {
        reservation_id: stay,
        description,
        unit_price_minor: price,
        quantity,
        charge_type: "food",
        ..Charge::default()
    };
    // A JPY hotel whose prices include 10% VAT, and a BHD hotel that adds 5%, one per tenant.
    for (tenant, currency, rate_bp, included) in [
        (tenants[0], "JPY", 1000, true),
        (tenants[1], "BHD", 500, false),
    ] {
        let property: Uuid = sqlx::query_scalar(
            "select id from public.properties where tenant_id = $1 order by id limit 1",
        )
        .bind(tenant)
        .fetch_one(&db.pool)
        .await
        .expect("a property");
        execute(
            &db,
            &format!(
                "delete from public.property_taxes where property_id = '{property}';
                 update public.properties set currency = '{currency}' where id = '{property}';
                 insert into public.property_taxes (tenant_id, property_id, name, kind, rate_bp, included)
                 values ('{tenant}', '{property}', 'VAT', 'vat', {rate_bp}, {included});"
            ),
        )
        .await;
        quiet(&db, property).await;
        let stay = stays_on(
            &db,
            property,
            "checked_in",
            Utc::now().date_naive(),
            1,
            0,
            currency,
        )
        .await[0];
        let email = tenant_staff_emails(&db, tenant, "front_desk")
            .await
            .remove(0);
        let mut desk = Laptop::sign_in(&db, &server, &email, "desk").await;
        desk.sync().await;
        let total = if currency == "JPY" {
            // No minor unit. Breakfast ¥2,750 × 2 incl. 10%: net 5,000 + VAT 500; dinner ¥8,801
            // incl. 10%: VAT 8,801 × 10/110 = 800.09 → 800, net 8,001.
            folio::post_charge(&mut desk.conn, &extra(stay, "Breakfast", 2_750, 2))
                .expect("breakfast");
            folio::post_charge(&mut desk.conn, &extra(stay, "Dinner", 8_801, 1)).expect("dinner");
            let total = 5_000 + 500 + 8_001 + 800;
            assert_eq!(format_minor(total, currency), "14,301 JPY");
            total
        } else {
            // Three decimals. 12.345 BHD + 5% = 0.61725 → 0.617; 3 × 1.250 = 3.750 + 0.1875 → 0.188.
            folio::post_charge(&mut desk.conn, &extra(stay, "Lunch", 12_345, 1)).expect("lunch");
            folio::post_charge(&mut desk.conn, &extra(stay, "Coffee", 1_250, 3)).expect("coffee");
            let total = 12_345 + 617 + 3_750 + 188;
            assert_eq!(format_minor(total, currency), "16.900 BHD");
            total
        };
        assert_eq!(
            folio::balance(&desk.conn, stay)
                .expect("balance")
                .charged_minor,
            total
        );
        desk.sync().await;
        assert_eq!(conflicts(&desk), vec![], "{currency}");
        let (sum, currencies): (i64, Vec<String>) = sqlx::query_as(
            "select coalesce(sum(amount_minor), 0)::bigint, array_agg(distinct currency::text)
               from public.folio_entries where reservation_id = $1",
        )
        .bind(stay)
        .fetch_one(&db.pool)
        .await
        .expect("the server's entries");
        assert_eq!(
            (sum, currencies),
            (total, vec![currency.to_owned()]),
            "{currency}"
        );
        assert_eq!(conflicts(&desk), vec![], "{currency}");
    }
}
