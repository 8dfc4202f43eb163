//! The night audit: closes a property's business date, on any desk, online or not.
//!
//! For the open business date D (in the property's time zone, [`crate::business_day`]) it posts
//! each in-house stay's room charge for the night of D with its VAT and city tax, marks the
//! day's arrivals that never came (confirmed, so guaranteed) no-show through the status rules
//! and posts their no-show fee (the first night's price), then records the audit, which rolls
//! the business date to D + 1. Every entry it posts has an id derived from what it charges (the
//! stay and the night; the charge and the tax; the audit from the property and the date), so two
//! desks auditing the same day offline make one set of entries after sync, and an audit cut off
//! half-way posts the rest when run again.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use pms_sync_protocol::derived::{night_audit_id, no_show_fee_id, room_charge_id};
use pms_sync_protocol::money::{apply_vat, city_tax};
use pms_sync_protocol::wire::PushOp;
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use serde_json::{json, Map};
use uuid::Uuid;

use crate::business_day::{self, parse_date};
use crate::error::{Error, Result};
use crate::folio::{self, Charge, Tax};
use crate::{mirror, outbox, pricing};

/// What the day came to, as the audit shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct DaySummary {
    pub business_date: NaiveDate,
    pub next_business_date: NaiveDate,
    pub currency: String,
    pub rooms_sold: i64,
    pub rooms_total: i64,
    pub occupancy_percent: i64,
    /// Charges of the day by type, taxes as `vat` and `city_tax`.
    pub revenue: Vec<Revenue>,
    /// Payments minus refunds of the day by method.
    pub payments: Vec<Takings>,
    pub no_shows: i64,
    /// Entries this run posted (none when another desk had posted them).
    pub charges_posted: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct Revenue {
    pub charge_type: String,
    pub amount_minor: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct Takings {
    pub method: String,
    pub amount_minor: i64,
}

struct InHouse {
    id: Uuid,
    room: Option<String>,
    adults: i64,
    children: i64,
}

/// Closes the property's open business date. Refused (`Error::Invalid`, field
/// `business_date`) when that date has not begun at the property.
pub fn run(
    conn: &mut Connection,
    property_id: Uuid,
    now: DateTime<Utc>,
    closed_by: Option<Uuid>,
) -> Result<DaySummary> {
    let day = business_day::current(conn, property_id, now)?;
    if !day.can_close {
        return Err(Error::Invalid {
            field: "business_date",
            message: format!(
                "The business day {} has not begun at the hotel yet ({} there now).",
                day.business_date, day.local_time
            ),
        });
    }
    let date = day.business_date;
    let property = property_id.to_string();
    let mut posted = 0;

    // Room charges: stays in the house for the night of `date`.
    for stay in in_house(conn, &property, date)? {
        posted += post_night(conn, &property, &stay, date, closed_by)?;
    }

    // No-shows: confirmed arrivals of `date` who never came.
    let no_shows: Vec<String> = {
        let mut statement = conn.prepare_cached(
            "select id from reservations
              where property_id = ?1 and status = 'confirmed' and check_in_date = ?2
                and deleted_at is null order by id",
        )?;
        let rows = statement.query_map(params![property, date.to_string()], |r| r.get(0))?;
        rows.collect::<std::result::Result<_, _>>()?
    };
    // Marked as of the day's end at the property, the same instant on every desk: two desks
    // auditing offline make the same edit, which converges instead of conflicting.
    let zone = business_day::zone(conn, property_id)?;
    let day_end = date
        .succ_opt()
        .unwrap_or(date)
        .and_hms_opt(0, 0, 0)
        .and_then(|midnight| midnight.and_local_timezone(zone).earliest())
        .map(|local| {
            local
                .with_timezone(&Utc)
                .format("%Y-%m-%dT%H:%M:%S+00:00")
                .to_string()
        });
    for stay in &no_shows {
        let id = Uuid::parse_str(stay).map_err(|e| Error::Data(format!("stay {stay}: {e}")))?;
        let mut values = Map::new();
        values.insert("status".into(), json!("no_show"));
        values.insert("no_show_at".into(), json!(day_end));
        outbox::write(conn, "reservations", PushOp::Update, id, values)?;
        let fee = pricing::night_price(conn, id, date)?;
        if fee > 0
            && mirror::read(conn, "folio_entries", &no_show_fee_id(id).to_string())?.is_none()
        {
            folio::post_charge(
                conn,
                &Charge {
                    reservation_id: id,
                    description: &format!("No-show fee ({date})"),
                    unit_price_minor: fee,
                    quantity: 1,
                    charge_type: "no_show",
                    id: Some(no_show_fee_id(id)),
                    business_date: Some(date),
                    created_by: closed_by,
                    ..Charge::default()
                },
            )?;
            posted += 1;
        }
    }

    let rooms_sold = in_house(conn, &property, date)?.len() as i64;
    let audit = night_audit_id(property_id, date);
    if mirror::read(conn, "night_audits", &audit.to_string())?.is_none() {
        let mut values = Map::new();
        values.insert("property_id".into(), json!(property));
        values.insert("business_date".into(), json!(date.to_string()));
        values.insert("rooms_sold".into(), json!(rooms_sold));
        values.insert("no_shows".into(), json!(no_shows.len()));
        values.insert("closed_by".into(), json!(closed_by));
        values.insert("created_by".into(), json!(closed_by));
        outbox::write(conn, "night_audits", PushOp::Insert, audit, values)?;
    }
    let mut summary = summary(conn, property_id, date)?;
    summary.charges_posted = posted;
    Ok(summary)
}

/// Audits every business date that is due, oldest first (a desk opened after a weekend shut
/// closes each day in turn). Returns the summaries of the days it closed.
pub fn run_due(
    conn: &mut Connection,
    property_id: Uuid,
    now: DateTime<Utc>,
    closed_by: Option<Uuid>,
) -> Result<Vec<DaySummary>> {
    let mut closed = Vec::new();
    // bounded: a property audited last a year ago is not caught up in one go
    while closed.len() < 366 && business_day::current(conn, property_id, now)?.audit_due {
        closed.push(run(conn, property_id, now, closed_by)?);
    }
    Ok(closed)
}

fn in_house(conn: &Connection, property: &str, date: NaiveDate) -> Result<Vec<InHouse>> {
    let mut statement = conn.prepare_cached(
        "select r.id, rm.number, coalesce(r.adults, 1), coalesce(r.children, 0)
           from reservations r left join rooms rm on rm.id = r.room_id
          where r.property_id = ?1 and r.status = 'checked_in'
            and r.check_in_date <= ?2 and r.check_out_date > ?2 and r.deleted_at is null
          order by r.id",
    )?;
    let rows = statement.query_map(params![property, date.to_string()], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, Option<String>>(1)?,
            r.get(2)?,
            r.get(3)?,
        ))
    })?;
    rows.map(|row| {
        let (id, room, adults, children) = row?;
        Ok(InHouse {
            id: Uuid::parse_str(&id).map_err(|e| Error::Data(format!("stay {id}: {e}")))?,
            room,
            adults,
            children,
        })
    })
    .collect()
}

/// Posts one stay's room charge for the night, its VAT and its city tax, unless this laptop has
/// them already. Returns how many entries it posted.
fn post_night(
    conn: &mut Connection,
    property: &str,
    stay: &InHouse,
    date: NaiveDate,
    closed_by: Option<Uuid>,
) -> Result<i64> {
    let charge_id = room_charge_id(stay.id, date);
    let mut posted = 0;
    if mirror::read(conn, "folio_entries", &charge_id.to_string())?.is_none() {
        let price = pricing::night_price(conn, stay.id, date)?;
        if price <= 0 {
            return Ok(0);
        }
        let description = match &stay.room {
            Some(room) => format!("Room {room}, night of {date}"),
            None => format!("Room, night of {date}"),
        };
        folio::post_charge(
            conn,
            &Charge {
                reservation_id: stay.id,
                description: &description,
                unit_price_minor: price,
                quantity: 1,
                charge_type: "room",
                id: Some(charge_id),
                business_date: Some(date),
                created_by: closed_by,
                ..Charge::default()
            },
        )?;
        posted += 1 + i64::from(
            folio::vat_for(conn, property, "room")?
                .is_some_and(|vat| apply_vat(price, vat.rate_bp, vat.included).tax_minor > 0),
        );
    }
    // City tax: per person and night, on the folio of the room charge.
    let city: Option<(String, String, i64, Option<i64>)> = conn
        .query_row(
            "select id, name, coalesce(amount_minor, 0), exempt_under_age from property_taxes
              where property_id = ?1 and kind = 'city_tax' and coalesce(active, 1) = 1
              order by created_at, id limit 1",
            [property],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?;
    if let Some((tax_id, name, per_person, exempt_under_age)) = city {
        let amount = city_tax(
            per_person,
            stay.adults,
            stay.children,
            exempt_under_age.is_some(),
        );
        let folio_id: Option<String> = conn
            .query_row(
                "select folio_id from folio_entries where id = ?1",
                [charge_id.to_string()],
                |r| r.get(0),
            )
            .optional()?;
        if let (true, Some(folio_id)) = (amount > 0, folio_id) {
            let tax_id =
                Uuid::parse_str(&tax_id).map_err(|e| Error::Data(format!("tax {tax_id}: {e}")))?;
            let entry = pms_sync_protocol::derived::tax_entry_id(charge_id, tax_id);
            if mirror::read(conn, "folio_entries", &entry.to_string())?.is_none() {
                let reservation = stay.id.to_string();
                let currency = folio::stay(conn, &reservation)?.1;
                folio::post_tax(
                    conn,
                    &pms_sync_protocol::hlc::SystemClock,
                    &Tax {
                        charge_id,
                        tax_id,
                        folio_id: Uuid::parse_str(&folio_id)
                            .map_err(|e| Error::Data(format!("folio {folio_id}: {e}")))?,
                        reservation: &reservation,
                        currency: &currency,
                        business_date: date,
                        charge_type: "city_tax",
                        description: &format!("{name}, night of {date}"),
                        amount_minor: amount,
                        rate_bp: None,
                        created_by: closed_by,
                    },
                )?;
                posted += 1;
            }
        }
    }
    Ok(posted)
}

/// The day's figures for `date`, from what the mirror holds.
pub fn summary(conn: &Connection, property_id: Uuid, date: NaiveDate) -> Result<DaySummary> {
    let property = property_id.to_string();
    let currency: String = conn
        .query_row(
            "select coalesce(currency, 'USD') from properties where id = ?1",
            [&property],
            |r| r.get(0),
        )
        .optional()?
        .unwrap_or_else(|| "USD".to_owned());
    let rooms_total: i64 = conn.query_row(
        "select count(*) from rooms where property_id = ?1 and deleted_at is null",
        [&property],
        |r| r.get(0),
    )?;
    let rooms_sold: i64 = conn.query_row(
        "select count(distinct e.reservation_id) from folio_entries e
           join folios f on f.id = e.folio_id
          where f.property_id = ?1 and e.business_date = ?2 and e.charge_type = 'room'
            and e.kind = 'charge' and e.voids_entry_id is null",
        params![property, date.to_string()],
        |r| r.get(0),
    )?;
    let no_shows: i64 = conn.query_row(
        "select count(*) from reservations
          where property_id = ?1 and status = 'no_show' and check_in_date = ?2",
        params![property, date.to_string()],
        |r| r.get(0),
    )?;
    // Entries of the day that count: voids take their entry's amount back.
    let mut statement = conn.prepare_cached(
        "select e.kind, coalesce(e.charge_type, 'other'), coalesce(e.payment_method, 'other'),
                sum(case when e.voids_entry_id is null then e.amount_minor else -e.amount_minor end)
           from folio_entries e join folios f on f.id = e.folio_id
          where f.property_id = ?1 and e.business_date = ?2 and e.kind <> 'override'
          group by 1, 2, 3",
    )?;
    let rows = statement.query_map(params![property, date.to_string()], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, i64>(3)?,
        ))
    })?;
    let mut revenue: BTreeMap<String, i64> = BTreeMap::new();
    let mut payments: BTreeMap<String, i64> = BTreeMap::new();
    for row in rows {
        let (kind, charge_type, method, amount) = row?;
        match kind.as_str() {
            "charge" | "tax" | "adjustment" => *revenue.entry(charge_type).or_default() += amount,
            "payment" => *payments.entry(method).or_default() += amount,
            "refund" => *payments.entry(method).or_default() -= amount,
            _ => {}
        }
    }
    let non_zero = |map: BTreeMap<String, i64>| map.into_iter().filter(|(_, amount)| *amount != 0);
    Ok(DaySummary {
        business_date: date,
        next_business_date: date.succ_opt().unwrap_or(date),
        currency,
        rooms_sold,
        rooms_total,
        occupancy_percent: if rooms_total > 0 {
            (rooms_sold * 100 + rooms_total / 2) / rooms_total
        } else {
            0
        },
        revenue: non_zero(revenue)
            .map(|(charge_type, amount_minor)| Revenue {
                charge_type,
                amount_minor,
            })
            .collect(),
        payments: non_zero(payments)
            .map(|(method, amount_minor)| Takings {
                method,
                amount_minor,
            })
            .collect(),
        no_shows,
        charges_posted: 0,
    })
}

/// The audits the property has run, newest first (dates only).
pub fn closed_dates(conn: &Connection, property_id: Uuid, limit: usize) -> Result<Vec<NaiveDate>> {
    let mut statement = conn.prepare_cached(
        "select business_date from night_audits where property_id = ?1
          order by business_date desc limit ?2",
    )?;
    let rows = statement.query_map(params![property_id.to_string(), limit as i64], |r| {
        r.get::<_, String>(0)
    })?;
    rows.map(|row| parse_date(&row?)).collect()
}

/// Charges the nights a stay has spent that no audit has charged yet (a guest leaving before the
/// audit of the last night ran): the nights before the property's today, with the audit's own
/// ids, so the audit never charges them again. Returns how many entries it posted.
pub fn charge_stayed_nights(
    conn: &mut Connection,
    reservation_id: Uuid,
    now: DateTime<Utc>,
) -> Result<i64> {
    let stay: Option<(String, String, String, Option<String>, i64, i64)> = conn
        .query_row(
            "select r.property_id, r.check_in_date, r.check_out_date, rm.number,
                    coalesce(r.adults, 1), coalesce(r.children, 0)
               from reservations r left join rooms rm on rm.id = r.room_id where r.id = ?1",
            [reservation_id.to_string()],
            |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            },
        )
        .optional()?;
    let Some((property, check_in, check_out, room, adults, children)) = stay else {
        return Ok(0);
    };
    let property_id =
        Uuid::parse_str(&property).map_err(|e| Error::Data(format!("property {property}: {e}")))?;
    let today = business_day::local_today(conn, property_id, now)?;
    let (arrival, departure) = (parse_date(&check_in)?, parse_date(&check_out)?);
    let in_house = InHouse {
        id: reservation_id,
        room,
        adults,
        children,
    };
    let mut posted = 0;
    let mut night = arrival;
    while night < departure && night < today {
        posted += post_night(conn, &property, &in_house, night, None)?;
        night = night.succ_opt().unwrap_or(departure);
    }
    Ok(posted)
}
