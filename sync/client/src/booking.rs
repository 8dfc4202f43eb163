//! Booking a room from the command line (`pms-client book`, `pms-client bookings`): the short
//! path a script or a tour needs, written through the outbox like any local change, so it works
//! offline and the server judges it at the next push. The desk has the full form.

use chrono::NaiveDate;
use pms_sync_protocol::wire::PushOp;
use rusqlite::{params, Connection, OptionalExtension};
use serde_json::json;
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::{outbox, pricing};

/// Bookings that hold their room (a cancelled or no-show one frees it).
const HOLDING: &str = "('pending', 'confirmed', 'checked_in')";

/// What was booked.
#[derive(Debug, Clone, PartialEq)]
pub struct Booked {
    pub id: Uuid,
    pub room: String,
    pub property: String,
    pub total_minor: i64,
    pub currency: String,
}

/// A booking as the mirror holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct Booking {
    pub id: String,
    /// The server's number; `None` until the booking has been pushed and pulled back.
    pub confirmation_number: Option<i64>,
    pub guest_name: String,
    pub room: Option<String>,
    pub check_in: String,
    pub check_out: String,
    pub status: String,
}

/// Books `room` (a room number; `None`: the first room free on those nights) of the tenant's
/// first property for `[arrival, departure)` for `guest`. A room this mirror already shows as
/// taken is refused; one taken elsewhere meanwhile comes back from the server as a conflict.
pub fn book(
    conn: &mut Connection,
    guest: &str,
    room: Option<&str>,
    arrival: NaiveDate,
    departure: NaiveDate,
) -> Result<Booked> {
    if departure <= arrival {
        return Err(Error::Data("the stay must end after it starts".to_owned()));
    }
    let (property_id, property, currency): (String, String, String) = conn
        .query_row(
            "select id, name, currency from properties where deleted_at is null order by name, id limit 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?
        .ok_or_else(|| Error::Data("the mirror holds no property: sync first".to_owned()))?;
    let free = format!(
        "select rm.id, rm.number, rm.room_type_id, coalesce(rt.base_rate_cents, 0)
           from rooms rm join room_types rt on rt.id = rm.room_type_id
          where rm.property_id = ?1 and rm.deleted_at is null
            and coalesce(rm.housekeeping_status, 'clean') <> 'out_of_order'
            and (?4 is null or rm.number = ?4)
            and not exists (select 1 from reservations r
                 where r.room_id = rm.id and r.deleted_at is null and r.status in {HOLDING}
                   and r.check_in_date < ?3 and r.check_out_date > ?2)
          order by length(rm.number), rm.number limit 1"
    );
    let found: Option<(String, String, String, i64)> = conn
        .query_row(
            &free,
            params![
                property_id,
                arrival.to_string(),
                departure.to_string(),
                room
            ],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?;
    let Some((room_id, number, room_type_id, base_rate)) = found else {
        return Err(Error::Data(match room {
            Some(room) => {
                format!("room {room} of {property} is not free from {arrival} to {departure}")
            }
            None => format!("no room of {property} is free from {arrival} to {departure}"),
        }));
    };
    let nights = pricing::quote(conn, &room_type_id, arrival, departure, None)?;
    let rate = nights.first().map_or(base_rate, |night| night.price_minor);
    let id = Uuid::now_v7();
    let values = json!({
        "guest_name": guest, "status": "confirmed", "source": "direct",
        "property_id": property_id, "room_type_id": room_type_id, "room_id": room_id,
        "check_in_date": arrival.to_string(), "check_out_date": departure.to_string(),
        "room_count": 1, "adults": 1, "children": 0, "currency": currency,
        "rate_per_night_cents": rate, "deposit_paid_cents": 0, "payment_status": "pending",
    });
    let serde_json::Value::Object(values) = values else {
        unreachable!("a JSON object literal")
    };
    outbox::write(conn, "reservations", PushOp::Insert, id, values)?;
    let total_minor = pricing::price_stay(
        conn,
        id,
        &room_type_id,
        &currency,
        (arrival, departure),
        None,
        rate,
        None,
    )?;
    Ok(Booked {
        id,
        room: number,
        property,
        total_minor,
        currency,
    })
}

/// The bookings whose guest name contains `guest` (all with an empty text), newest stay first.
pub fn bookings(conn: &Connection, guest: &str) -> Result<Vec<Booking>> {
    let mut statement = conn.prepare(
        "select r.id, r.confirmation_number, coalesce(r.guest_name, ''), rm.number,
                r.check_in_date, r.check_out_date, coalesce(r.status, '')
           from reservations r left join rooms rm on rm.id = r.room_id
          where r.deleted_at is null and instr(lower(coalesce(r.guest_name, '')), lower(?1)) > 0
          order by r.check_in_date desc, r.id",
    )?;
    let rows = statement.query_map([guest], |r| {
        Ok(Booking {
            id: r.get(0)?,
            confirmation_number: r.get(1)?,
            guest_name: r.get(2)?,
            room: r.get(3)?,
            check_in: r.get(4)?,
            check_out: r.get(5)?,
            status: r.get(6)?,
        })
    })?;
    Ok(rows.collect::<std::result::Result<_, _>>()?)
}
