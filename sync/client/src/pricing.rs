//! What a night costs: the room type's rate plan (a base price, and seasons by date and weekday),
//! and the price each night of a stay was booked at, fixed then and kept with the stay: its
//! nightly rate (`reservations.rate_per_night_cents`), and a `reservation_nights` row for each
//! night priced otherwise (a weekend, a season). A change of dates prices the new nights and keeps the old ones' prices.
//!
//! Where seasons overlap, the shortest one decides (a weekend inside a summer season); a room
//! type without a rate plan costs its base rate (`room_types.base_rate_cents`), in the property's
//! currency.

use chrono::{Datelike, Days, NaiveDate};
use pms_sync_protocol::derived::stay_night_id;
use pms_sync_protocol::wire::PushOp;
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use serde_json::{json, Map};
use uuid::Uuid;

use crate::business_day::parse_date;
use crate::error::{Error, Result};
use crate::outbox;

/// One night of a stay and its price.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NightPrice {
    pub night: NaiveDate,
    pub price_minor: i64,
    pub rate_plan_id: Option<String>,
}

/// The room type's active rate plan, if it has one: (id, base price).
fn rate_plan(conn: &Connection, room_type_id: &str) -> Result<Option<(String, i64)>> {
    Ok(conn
        .query_row(
            "select id, base_price_minor from rate_plans
              where room_type_id = ?1 and coalesce(active, 1) = 1
              order by created_at, id limit 1",
            [room_type_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?)
}

/// The price of `night` in a room of `room_type_id`: the shortest season of its rate plan that
/// covers the night on its weekday, else the plan's base price, else the room type's base rate.
pub fn price_of_night(
    conn: &Connection,
    room_type_id: &str,
    night: NaiveDate,
) -> Result<NightPrice> {
    if let Some((plan, base)) = rate_plan(conn, room_type_id)? {
        // bit 0 = Monday … bit 6 = Sunday
        let weekday_bit = 1_i64 << night.weekday().num_days_from_monday();
        let season: Option<i64> = conn
            .query_row(
                "select price_minor from rate_plan_prices
                  where rate_plan_id = ?1 and starts_on <= ?2 and ends_on >= ?2
                    and (weekdays & ?3) <> 0
                  order by julianday(ends_on) - julianday(starts_on), created_at desc, id
                  limit 1",
                params![plan, night.to_string(), weekday_bit],
                |r| r.get(0),
            )
            .optional()?;
        return Ok(NightPrice {
            night,
            price_minor: season.unwrap_or(base),
            rate_plan_id: Some(plan),
        });
    }
    let base: i64 = conn
        .query_row(
            "select coalesce(base_rate_cents, 0) from room_types where id = ?1",
            [room_type_id],
            |r| r.get(0),
        )
        .optional()?
        .ok_or_else(|| Error::Data(format!("no room type {room_type_id} on this laptop")))?;
    Ok(NightPrice {
        night,
        price_minor: base,
        rate_plan_id: None,
    })
}

/// Every night of `[arrival, departure)` priced for `room_type_id`; at `fixed_price` each when the
/// clerk agreed a price.
pub fn quote(
    conn: &Connection,
    room_type_id: &str,
    arrival: NaiveDate,
    departure: NaiveDate,
    fixed_price: Option<i64>,
) -> Result<Vec<NightPrice>> {
    arrival
        .iter_days()
        .take_while(|night| *night < departure)
        .map(|night| match fixed_price {
            Some(price) => Ok(NightPrice {
                night,
                price_minor: price,
                rate_plan_id: None,
            }),
            None => price_of_night(conn, room_type_id, night),
        })
        .collect()
}

/// The stay's priced nights, as the mirror holds them, in order.
pub fn nights(conn: &Connection, reservation_id: Uuid) -> Result<Vec<NightPrice>> {
    let mut statement = conn.prepare_cached(
        "select night, price_minor, rate_plan_id from reservation_nights
          where reservation_id = ?1 order by night",
    )?;
    let rows = statement.query_map([reservation_id.to_string()], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, r.get(2)?))
    })?;
    rows.map(|row| {
        let (night, price_minor, rate_plan_id) = row?;
        Ok(NightPrice {
            night: parse_date(&night)?,
            price_minor,
            rate_plan_id,
        })
    })
    .collect()
}

/// Keeps the stay's priced nights to `[arrival, departure)`: the nights it keeps keep their
/// prices, new nights are priced now (at `fixed_price` when given), nights no longer in the stay
/// go. A night is stored only when its price differs from the stay's nightly rate (`nightly_rate`,
/// what every other night costs), so a stay at one rate writes no row beside itself; `previous`
/// are the stay's dates before the change (their nights without a row cost the nightly rate).
/// Returns the stay's total, the sum of its nights.
#[allow(clippy::too_many_arguments)]
pub fn price_stay(
    conn: &mut Connection,
    reservation_id: Uuid,
    room_type_id: &str,
    currency: &str,
    (arrival, departure): (NaiveDate, NaiveDate),
    previous: Option<(NaiveDate, NaiveDate)>,
    nightly_rate: i64,
    fixed_price: Option<i64>,
) -> Result<i64> {
    let kept = nights(conn, reservation_id)?;
    for gone in kept
        .iter()
        .filter(|n| n.night < arrival || n.night >= departure)
    {
        outbox::write(
            conn,
            "reservation_nights",
            PushOp::Delete,
            stay_night_id(reservation_id, gone.night),
            Map::new(),
        )?;
    }
    let was_booked =
        |night: NaiveDate| previous.is_some_and(|(from, to)| from <= night && night < to);
    let mut total = 0;
    let mut night = arrival;
    while night < departure {
        if let Some(existing) = kept.iter().find(|n| n.night == night) {
            total += existing.price_minor;
        } else if was_booked(night) {
            total += nightly_rate;
        } else {
            let price = match fixed_price {
                Some(price) => NightPrice {
                    night,
                    price_minor: price,
                    rate_plan_id: None,
                },
                None => price_of_night(conn, room_type_id, night)?,
            };
            total += price.price_minor;
            if price.price_minor != nightly_rate {
                let mut values = Map::new();
                values.insert("reservation_id".into(), json!(reservation_id));
                values.insert("night".into(), json!(night.to_string()));
                values.insert("price_minor".into(), json!(price.price_minor));
                values.insert("currency".into(), json!(currency));
                values.insert("rate_plan_id".into(), json!(price.rate_plan_id));
                outbox::write(
                    conn,
                    "reservation_nights",
                    PushOp::Insert,
                    stay_night_id(reservation_id, night),
                    values,
                )?;
            }
        }
        night = night + Days::new(1);
    }
    Ok(total)
}

/// The price of one night of the stay: its booked price, else its nightly rate.
pub fn night_price(conn: &Connection, reservation_id: Uuid, night: NaiveDate) -> Result<i64> {
    let booked: Option<i64> = conn
        .query_row(
            "select price_minor from reservation_nights where reservation_id = ?1 and night = ?2",
            params![reservation_id.to_string(), night.to_string()],
            |r| r.get(0),
        )
        .optional()?;
    match booked {
        Some(price) => Ok(price),
        None => Ok(conn
            .query_row(
                "select coalesce(rate_per_night_cents, 0) from reservations where id = ?1",
                [reservation_id.to_string()],
                |r| r.get(0),
            )
            .optional()?
            .unwrap_or(0)),
    }
}
