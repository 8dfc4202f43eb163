//! Reservations: search (guest name, the sequential confirmation number, or the legacy code of
//! an imported booking), availability for dates, booking with a room, changing dates or room,
//! the status moves (check in, check out, cancel, no-show), payments, and the tape chart.
//!
//! Availability is checked here against the mirror before anything is written: a room is taken
//! for `[arrival, departure)` by any active stay (pending, confirmed, checked in) of that room
//! whose nights overlap, the same rule as the server's exclusion constraint. Two laptops offline
//! can still book the same room; the server then refuses the later one into the conflicts inbox.

use chrono::NaiveDate;
use pms_sync_client::history::{self, HistoryLine};
use pms_sync_client::pricing;
use pms_sync_protocol::merge::{status_transition_allowed, ReservationStatus};
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tauri::State;
use uuid::Uuid;

use crate::db;
use crate::error::{AppError, AppResult, CmdResult};
use crate::state::Desk;

/// Statuses that hold a room.
pub const ACTIVE: &str = "('pending', 'confirmed', 'checked_in')";

/// A reservation as the lists and the detail panel show it.
#[derive(Debug, Clone, Serialize, PartialEq, ts_rs::TS)]
pub struct Reservation {
    pub id: String,
    /// The sequential number: the server's, or a local hotel's own (`sole_writer`); `None` on a
    /// connected desk until the server has assigned it.
    pub confirmation_number: Option<i64>,
    pub legacy_code: Option<String>,
    pub guest_id: Option<String>,
    pub guest_name: String,
    pub guest_email: Option<String>,
    pub guest_phone: Option<String>,
    pub status: String,
    pub room_id: Option<String>,
    pub room_number: Option<String>,
    pub room_type_id: String,
    pub room_type_name: Option<String>,
    pub check_in: String,
    pub check_out: String,
    pub nights: i64,
    pub adults: i64,
    pub children: i64,
    pub rate_per_night_cents: i64,
    pub total_amount_cents: i64,
    pub deposit_paid_cents: i64,
    pub balance_due_cents: i64,
    pub currency: String,
    pub payment_status: String,
    pub special_requests: Option<String>,
    pub notes: Option<String>,
    /// A change to this booking is waiting to be sent.
    pub pending_sync: bool,
}

pub const SELECT: &str = "
select r.id, r.confirmation_number, r.legacy_confirmation_code, r.guest_id, r.guest_name, r.guest_email,
       r.guest_phone, r.status, r.room_id, rm.number, r.room_type_id, rt.name, r.check_in_date, r.check_out_date,
       coalesce(r.adults, 1), coalesce(r.children, 0), coalesce(r.rate_per_night_cents, 0),
       coalesce(r.total_amount_cents, 0), coalesce(r.deposit_paid_cents, 0), coalesce(r.currency, 'USD'),
       coalesce(r.payment_status, 'pending'), r.special_requests, r.notes,
       exists (select 1 from outbox o where o.table_name = 'reservations' and o.row_id = r.id and o.status = 'pending')
  from reservations r
  left join rooms rm on rm.id = r.room_id
  left join room_types rt on rt.id = r.room_type_id";

pub fn from_row(row: &Row<'_>) -> rusqlite::Result<Reservation> {
    let check_in: String = row.get(12)?;
    let check_out: String = row.get(13)?;
    let total: i64 = row.get(17)?;
    let deposit: i64 = row.get(18)?;
    Ok(Reservation {
        id: row.get(0)?,
        confirmation_number: row.get(1)?,
        legacy_code: row.get(2)?,
        guest_id: row.get(3)?,
        guest_name: row.get::<_, Option<String>>(4)?.unwrap_or_default(),
        guest_email: row.get(5)?,
        guest_phone: row.get(6)?,
        status: row
            .get::<_, Option<String>>(7)?
            .unwrap_or_else(|| "confirmed".to_owned()),
        room_id: row.get(8)?,
        room_number: row.get(9)?,
        room_type_id: row.get::<_, Option<String>>(10)?.unwrap_or_default(),
        room_type_name: row.get(11)?,
        nights: nights_between(&check_in, &check_out),
        check_in,
        check_out,
        adults: row.get(14)?,
        children: row.get(15)?,
        rate_per_night_cents: row.get(16)?,
        total_amount_cents: total,
        deposit_paid_cents: deposit,
        balance_due_cents: total - deposit,
        currency: row.get(19)?,
        payment_status: row.get(20)?,
        special_requests: row.get(21)?,
        notes: row.get(22)?,
        pending_sync: row.get(23)?,
    })
}

/// Nights between two `YYYY-MM-DD` dates (the server computes the same as a generated column).
fn nights_between(check_in: &str, check_out: &str) -> i64 {
    match (
        NaiveDate::parse_from_str(check_in, "%Y-%m-%d"),
        NaiveDate::parse_from_str(check_out, "%Y-%m-%d"),
    ) {
        (Ok(a), Ok(b)) => (b - a).num_days(),
        _ => 0,
    }
}

/// Runs `SELECT` with a `where … order … limit` tail.
pub fn query(
    conn: &Connection,
    tail: &str,
    params: impl rusqlite::Params,
) -> AppResult<Vec<Reservation>> {
    let mut statement = conn.prepare_cached(&format!("{SELECT} {tail}"))?;
    let rows = statement.query_map(params, from_row)?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

pub fn get(conn: &Connection, id: &str) -> AppResult<Reservation> {
    query(conn, "where r.id = ?1", [id])?
        .into_iter()
        .next()
        .ok_or_else(|| AppError::not_found("The booking"))
}

/// Finds bookings by confirmation number (`1042` or `#1042`), legacy code (`T-101-…`, by
/// prefix, any case) or guest name (through the guest search index).
pub fn search(conn: &Connection, text: &str) -> AppResult<Vec<Reservation>> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(Vec::new());
    }
    let number = text.trim_start_matches('#');
    let mut found = Vec::new();
    if let Ok(number) = number.parse::<i64>() {
        found.extend(query(conn, "where r.confirmation_number = ?1", [number])?);
        // the number a local hotel's guest holds, kept as its code after adoption
        let local = pms_sync_client::sole_writer::local_code(number);
        found.extend(query(
            conn,
            "where r.legacy_confirmation_code = ?1",
            [local],
        )?);
    }
    // legacy codes carry digits (T-101-18C2F); names do not, so they skip this scan
    if text.len() >= 3 && text.chars().any(|c| c.is_ascii_digit()) {
        // the legacy index is on the exact code; a prefix in upper case covers typed codes
        let code = format!("{}%", text.to_uppercase().replace(['%', '_'], ""));
        found.extend(query(
            conn,
            "where r.legacy_confirmation_code like ?1 order by r.check_in_date desc limit 20",
            [code],
        )?);
    }
    let guests = pms_sync_client::mirror::search_guests(conn, text, 40)?;
    for (guest_id, _) in guests {
        found.extend(query(
            conn,
            "where r.guest_id = ?1 and r.deleted_at is null order by r.check_in_date desc limit 10",
            [guest_id],
        )?);
    }
    let mut seen = std::collections::HashSet::new();
    found.retain(|r| seen.insert(r.id.clone()));
    found.truncate(50);
    Ok(found)
}

/// A room as offered for a stay.
#[derive(Debug, Clone, Serialize, PartialEq, ts_rs::TS)]
pub struct RoomOffer {
    pub id: String,
    pub number: String,
    pub room_type_id: String,
    pub room_type_name: String,
    pub base_rate_cents: i64,
    pub max_occupancy: i64,
    pub housekeeping_status: String,
}

/// Checks the dates typed in: both valid, departure after arrival.
pub fn stay_dates(check_in: &str, check_out: &str) -> AppResult<(NaiveDate, NaiveDate)> {
    let arrival = db::parse_date("check_in", check_in)?;
    let departure = db::parse_date("check_out", check_out)?;
    if departure <= arrival {
        return Err(AppError::DatesOutOfOrder);
    }
    if (departure - arrival).num_days() > 365 {
        return Err(AppError::validation(
            "check_out",
            "A stay is at most 365 nights.",
        ));
    }
    Ok((arrival, departure))
}

/// Rooms of the property free for every night of `[arrival, departure)`, out-of-order rooms left
/// out; `ignoring` is a booking being changed (its own nights do not count).
pub fn available_rooms(
    conn: &Connection,
    arrival: NaiveDate,
    departure: NaiveDate,
    ignoring: Option<&str>,
) -> AppResult<Vec<RoomOffer>> {
    let property = db::property(conn)?;
    let mut statement = conn.prepare_cached(&format!(
        "select rm.id, rm.number, rm.room_type_id, coalesce(rt.name, ''), coalesce(rt.base_rate_cents, 0),
                coalesce(rt.max_occupancy, 2), coalesce(rm.housekeeping_status, 'clean')
           from rooms rm left join room_types rt on rt.id = rm.room_type_id
          where rm.property_id = ?1 and rm.deleted_at is null
            and coalesce(rm.housekeeping_status, 'clean') <> 'out_of_order'
            and not exists (
                select 1 from reservations r
                 where r.room_id = rm.id and r.deleted_at is null and r.status in {ACTIVE}
                   and r.check_in_date < ?3 and r.check_out_date > ?2 and r.id <> ?4)
          order by rt.name, length(rm.number), rm.number"
    ))?;
    let rows = statement.query_map(
        params![
            property.id,
            arrival.to_string(),
            departure.to_string(),
            ignoring.unwrap_or("")
        ],
        |r| {
            Ok(RoomOffer {
                id: r.get(0)?,
                number: r.get(1)?,
                room_type_id: r.get(2)?,
                room_type_name: r.get(3)?,
                base_rate_cents: r.get(4)?,
                max_occupancy: r.get(5)?,
                housekeeping_status: r.get(6)?,
            })
        },
    )?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// Refuses a room that cannot take the stay: unknown, out of order, or taken on some night.
pub fn check_room(
    conn: &Connection,
    room_id: &str,
    arrival: NaiveDate,
    departure: NaiveDate,
    ignoring: Option<&str>,
) -> AppResult<RoomOffer> {
    let room: Option<(String, String)> = conn
        .query_row(
            "select number, coalesce(housekeeping_status, 'clean') from rooms where id = ?1 and deleted_at is null",
            [room_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let Some((number, status)) = room else {
        return Err(AppError::validation(
            "room_id",
            "Choose a room from the list.",
        ));
    };
    if status == "out_of_order" {
        return Err(AppError::RoomOutOfOrder { room: number });
    }
    available_rooms(conn, arrival, departure, ignoring)?
        .into_iter()
        .find(|offer| offer.id == room_id)
        .ok_or(AppError::RoomTaken { room: number })
}

#[derive(Debug, Clone, Deserialize)]
pub struct NewReservation {
    /// An existing guest; otherwise `guest_name` (and contact details) as typed.
    pub guest_id: Option<String>,
    pub guest_name: Option<String>,
    pub guest_email: Option<String>,
    pub guest_phone: Option<String>,
    pub room_type_id: Option<String>,
    pub room_id: Option<String>,
    pub check_in: String,
    pub check_out: String,
    pub adults: Option<i64>,
    pub children: Option<i64>,
    /// Defaults to the room type's base rate.
    pub rate_per_night_cents: Option<i64>,
    pub source: Option<String>,
    pub special_requests: Option<String>,
    pub notes: Option<String>,
}

const SOURCES: &[&str] = &["direct", "phone", "email", "ota", "walk_in", "agent"];

/// Books a stay at `at` for `by` (the signed-in colleague's account; none on a local desk),
/// noted in the booking's history.
pub fn create(
    conn: &mut Connection,
    input: &NewReservation,
    by: Option<Uuid>,
    at: chrono::DateTime<chrono::Utc>,
) -> AppResult<Reservation> {
    let property = db::property(conn)?;
    let (arrival, departure) = stay_dates(&input.check_in, &input.check_out)?;
    // the guest: a profile, or a name typed for this booking
    let (guest_id, mut name, mut email, mut phone) = (
        db::optional_text(&input.guest_id),
        db::optional_text(&input.guest_name),
        db::optional_text(&input.guest_email),
        db::optional_text(&input.guest_phone),
    );
    if let Some(guest) = &guest_id {
        let profile: Option<(String, Option<String>, Option<String>)> = conn
            .query_row(
                "select full_name, email, phone from guests where id = ?1 and deleted_at is null",
                [guest],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        let (full_name, guest_email, guest_phone) =
            profile.ok_or_else(|| AppError::not_found("The guest"))?;
        name = name.or(Some(full_name));
        email = email.or(guest_email);
        phone = phone.or(guest_phone);
    }
    let Some(name) = name else {
        return Err(AppError::validation(
            "guest_name",
            "Choose a guest or type the guest's name.",
        ));
    };
    let adults = input.adults.unwrap_or(1);
    let children = input.children.unwrap_or(0);
    if !(1..=100).contains(&adults) {
        return Err(AppError::validation("adults", "At least one adult."));
    }
    if !(0..=100).contains(&children) {
        return Err(AppError::validation(
            "children",
            "Children cannot be negative.",
        ));
    }
    let source = db::optional_text(&input.source).unwrap_or_else(|| "direct".to_owned());
    if !SOURCES.contains(&source.as_str()) {
        return Err(AppError::validation(
            "source",
            "Choose where the booking came from.",
        ));
    }
    // the room, or at least its type
    let room = match db::optional_text(&input.room_id) {
        Some(room_id) => Some(check_room(conn, &room_id, arrival, departure, None)?),
        None => None,
    };
    let room_type_id = match (&room, db::optional_text(&input.room_type_id)) {
        (Some(room), _) => room.room_type_id.clone(),
        (None, Some(type_id)) => type_id,
        (None, None) => {
            return Err(AppError::validation(
                "room_id",
                "Choose a room, or at least a room type.",
            ))
        }
    };
    let base_rate: Option<i64> = conn
        .query_row(
            "select base_rate_cents from room_types where id = ?1 and property_id = ?2 and deleted_at is null",
            params![room_type_id, property.id],
            |r| r.get(0),
        )
        .optional()?;
    let Some(base_rate) = base_rate else {
        return Err(AppError::validation(
            "room_type_id",
            "Choose a room type of this hotel.",
        ));
    };
    if input.rate_per_night_cents.is_some_and(|rate| rate < 0) {
        return Err(AppError::validation(
            "rate_per_night_cents",
            "The rate cannot be negative.",
        ));
    }
    // Each night priced now (the rate plan's season and weekday price, or the agreed rate) and
    // kept with the stay.
    let fixed_rate = input.rate_per_night_cents;
    let nights = pricing::quote(conn, &room_type_id, arrival, departure, fixed_rate)?;
    let total: i64 = nights.iter().map(|night| night.price_minor).sum();
    let rate = nights.first().map_or(base_rate, |night| night.price_minor);
    let id = Uuid::now_v7();
    let now = db::now();
    // a hotel alone on this laptop numbers its own bookings; a connected one gets the server's
    let number = pms_sync_client::sole_writer::next_confirmation_number(conn)?;
    let mut values = json!({
        "guest_id": guest_id, "guest_name": name, "guest_email": email, "guest_phone": phone,
        "status": "confirmed", "confirmed_at": now, "source": source,
        "property_id": property.id, "room_type_id": room_type_id, "room_id": room.map(|r| r.id),
        "check_in_date": arrival.to_string(), "check_out_date": departure.to_string(),
        "room_count": 1, "adults": adults, "children": children,
        "rate_per_night_cents": rate, "total_amount_cents": total, "currency": property.currency,
        "deposit_paid_cents": 0, "payment_status": "pending",
        "special_requests": db::optional_text(&input.special_requests), "notes": db::optional_text(&input.notes),
        "created_at": now,
    });
    if let Some(number) = number {
        values["confirmation_number"] = number.into();
    }
    if let Some(by) = by {
        values["created_by"] = json!(by);
    }
    db::insert(conn, "reservations", id, values)?;
    history::record(conn, id, history::Action::Booked, None, by, at)?;
    let room_type_id = room_type_id.clone();
    pricing::price_stay(
        conn,
        id,
        &room_type_id,
        &property.currency,
        (arrival, departure),
        None,
        rate,
        fixed_rate,
    )?;
    get(conn, &id.to_string())
}

#[derive(Debug, Clone, Deserialize)]
pub struct ChangeReservation {
    pub id: String,
    pub check_in: String,
    pub check_out: String,
    /// The room after the change (`None` or empty: unassigned).
    pub room_id: Option<String>,
}

/// Changes the dates or the room of a booking still to come or in the house, checking the new
/// nights and room like a new booking (its own nights do not count). The total follows the nights.
pub fn change(
    conn: &mut Connection,
    input: &ChangeReservation,
    by: Option<Uuid>,
    at: chrono::DateTime<chrono::Utc>,
) -> AppResult<Reservation> {
    let current = get(conn, &input.id)?;
    if !matches!(
        current.status.as_str(),
        "pending" | "confirmed" | "checked_in"
    ) {
        return Err(AppError::InvalidTransition {
            from: status_label(&current.status).to_owned(),
            action: "changed".to_owned(),
        });
    }
    let (arrival, departure) = stay_dates(&input.check_in, &input.check_out)?;
    if current.status == "checked_in" && arrival.to_string() != current.check_in {
        return Err(AppError::validation(
            "check_in",
            "The guest has arrived: only the departure date can change.",
        ));
    }
    let room_id = db::optional_text(&input.room_id);
    let mut values = serde_json::Map::new();
    if let Some(room_id) = &room_id {
        let room = check_room(conn, room_id, arrival, departure, Some(&current.id))?;
        if current.room_id.as_deref() != Some(room_id.as_str()) {
            values.insert("room_id".into(), json!(room_id));
            if room.room_type_id != current.room_type_id {
                values.insert("room_type_id".into(), json!(room.room_type_id));
            }
        }
    } else if current.room_id.is_some() {
        if current.status == "checked_in" {
            return Err(AppError::validation(
                "room_id",
                "A guest in the house keeps a room.",
            ));
        }
        values.insert("room_id".into(), json!(null));
    }
    if arrival.to_string() != current.check_in || departure.to_string() != current.check_out {
        values.insert("check_in_date".into(), json!(arrival.to_string()));
        values.insert("check_out_date".into(), json!(departure.to_string()));
    }
    let id = db::parse_id("id", &current.id)?;
    if values.contains_key("check_in_date") {
        // The nights it keeps keep their prices; new nights are priced now.
        let room_type = values
            .get("room_type_id")
            .and_then(|v| v.as_str())
            .unwrap_or(&current.room_type_id)
            .to_owned();
        let previous = stay_dates(&current.check_in, &current.check_out)?;
        let total = pricing::price_stay(
            conn,
            id,
            &room_type,
            &current.currency,
            (arrival, departure),
            Some(previous),
            current.rate_per_night_cents,
            None,
        )?;
        values.insert("total_amount_cents".into(), json!(total));
    }
    let before =
        pms_sync_client::mirror::read(conn, "reservations", &current.id)?.unwrap_or_default();
    if let Some(moved) = history::changes(&before, &values) {
        if let Some(by) = by {
            values.insert("modified_by".into(), json!(by));
        }
        db::update(conn, "reservations", id, serde_json::Value::Object(values))?;
        history::record(conn, id, history::Action::Changed, Some(moved), by, at)?;
    }
    get(conn, &current.id)
}

/// A status move the desk makes.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    CheckIn,
    CheckOut,
    Cancel,
    NoShow,
}

impl Action {
    fn target(self) -> ReservationStatus {
        match self {
            Action::CheckIn => ReservationStatus::CheckedIn,
            Action::CheckOut => ReservationStatus::CheckedOut,
            Action::Cancel => ReservationStatus::Cancelled,
            Action::NoShow => ReservationStatus::NoShow,
        }
    }

    fn done(self) -> &'static str {
        match self {
            Action::CheckIn => "checked in",
            Action::CheckOut => "checked out",
            Action::Cancel => "cancelled",
            Action::NoShow => "marked as a no-show",
        }
    }
}

/// How a status reads at the desk.
pub fn status_label(status: &str) -> &str {
    match status {
        "pending" => "pending",
        "confirmed" => "confirmed",
        "checked_in" => "checked in",
        "checked_out" => "checked out",
        "cancelled" => "cancelled",
        "no_show" => "a no-show",
        other => other,
    }
}

/// What a status move did besides the booking (for the UI's message).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ActionOutcome {
    pub reservation: Reservation,
    /// Points the stay earned at check-out (the stay's and the first-stay bonus).
    pub points_earned: i64,
}

/// Moves a booking's status by the reservation state machine. Checking in needs a room that is
/// not out of order; checking out marks the room dirty and earns the stay's loyalty points.
pub fn act(
    conn: &mut Connection,
    id: &str,
    action: Action,
    reason: Option<&str>,
    override_reason: Option<&str>,
    at: chrono::DateTime<chrono::Utc>,
    staff: Option<&crate::state::User>,
) -> AppResult<ActionOutcome> {
    let current = get(conn, id)?;
    let from: ReservationStatus = current.status.parse().map_err(|_| AppError::Local {
        message: format!("unknown status {}", current.status),
    })?;
    let to = action.target();
    if from == to || !status_transition_allowed(from, to) {
        return Err(AppError::InvalidTransition {
            from: status_label(&current.status).to_owned(),
            action: action.done().to_owned(),
        });
    }
    let now = db::now();
    let row_id = db::parse_id("id", &current.id)?;
    let mut points_earned = 0;
    match action {
        Action::CheckIn => {
            let Some(room_id) = &current.room_id else {
                return Err(AppError::validation(
                    "room_id",
                    "Assign a room before checking in.",
                ));
            };
            let status: String = conn.query_row(
                "select coalesce(housekeeping_status, 'clean') from rooms where id = ?1",
                [room_id],
                |r| r.get(0),
            )?;
            if status == "out_of_order" {
                return Err(AppError::RoomOutOfOrder {
                    room: current.room_number.clone().unwrap_or_default(),
                });
            }
            db::update(
                conn,
                "reservations",
                row_id,
                json!({"status": "checked_in", "checked_in_at": now}),
            )?;
        }
        Action::CheckOut => {
            // the signed-in colleague's role decides; a local desk acts as its owner
            let role = match staff {
                Some(user) => user.role.clone(),
                None => {
                    db::desk_state(conn, "desk_staff_role")?.unwrap_or_else(|| "owner".to_owned())
                }
            };
            pms_sync_client::folio::settle_for_check_out(
                conn,
                row_id,
                &role,
                override_reason,
                staff.and_then(|user| user.user_id),
                at,
            )?;
            db::update(
                conn,
                "reservations",
                row_id,
                json!({"status": "checked_out", "checked_out_at": now}),
            )?;
            if let Some(room_id) = &current.room_id {
                let room = db::parse_id("room_id", room_id)?;
                db::update(conn, "rooms", room, json!({"housekeeping_status": "dirty"}))?;
            }
            points_earned = super::loyalty::earn_for_stay(conn, &current)?;
        }
        Action::Cancel => {
            db::update(
                conn,
                "reservations",
                row_id,
                json!({"status": "cancelled", "cancelled_at": now,
                       "cancellation_reason": reason.map(str::trim).filter(|r| !r.is_empty())}),
            )?;
        }
        Action::NoShow => {
            db::update(
                conn,
                "reservations",
                row_id,
                json!({"status": "no_show", "no_show_at": now}),
            )?;
        }
    }
    let done = match action {
        Action::CheckIn => history::Action::CheckedIn,
        Action::CheckOut => history::Action::CheckedOut,
        Action::Cancel => history::Action::Cancelled,
        Action::NoShow => history::Action::NoShow,
    };
    let detail = reason
        .or(override_reason)
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(|r| {
            let mut detail = serde_json::Map::new();
            detail.insert("reason".into(), json!(r));
            detail
        });
    history::record(
        conn,
        row_id,
        done,
        detail,
        staff.and_then(|user| user.user_id),
        at,
    )?;
    Ok(ActionOutcome {
        reservation: get(conn, id)?,
        points_earned,
    })
}

/// The tape chart: the property's rooms and the stays that touch `[start, start + days)`.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct TapeChart {
    pub start: String,
    pub days: i64,
    pub rooms: Vec<RoomOffer>,
    pub stays: Vec<TapeStay>,
}

#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct TapeStay {
    pub id: String,
    pub room_id: String,
    pub guest_name: String,
    pub status: String,
    pub check_in: String,
    pub check_out: String,
}

pub fn tape_chart(conn: &Connection, start: NaiveDate, days: i64) -> AppResult<TapeChart> {
    let property = db::property(conn)?;
    let days = days.clamp(1, 92);
    let end = start + chrono::Duration::days(days);
    let mut statement = conn.prepare_cached(
        "select rm.id, rm.number, rm.room_type_id, coalesce(rt.name, ''), coalesce(rt.base_rate_cents, 0),
                coalesce(rt.max_occupancy, 2), coalesce(rm.housekeeping_status, 'clean')
           from rooms rm left join room_types rt on rt.id = rm.room_type_id
          where rm.property_id = ?1 and rm.deleted_at is null
          order by length(rm.number), rm.number",
    )?;
    let rooms = statement
        .query_map([&property.id], |r| {
            Ok(RoomOffer {
                id: r.get(0)?,
                number: r.get(1)?,
                room_type_id: r.get(2)?,
                room_type_name: r.get(3)?,
                base_rate_cents: r.get(4)?,
                max_occupancy: r.get(5)?,
                housekeeping_status: r.get(6)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let mut statement = conn.prepare_cached(
        "select r.id, r.room_id, r.guest_name, r.status, r.check_in_date, r.check_out_date
           from reservations r
          where r.property_id = ?1 and r.room_id is not null and r.deleted_at is null
            and r.status in ('pending', 'confirmed', 'checked_in', 'checked_out')
            and r.check_in_date < ?3 and r.check_out_date > ?2
          order by r.check_in_date",
    )?;
    let stays = statement
        .query_map(
            params![property.id, start.to_string(), end.to_string()],
            |r| {
                Ok(TapeStay {
                    id: r.get(0)?,
                    room_id: r.get(1)?,
                    guest_name: r.get::<_, Option<String>>(2)?.unwrap_or_default(),
                    status: r.get(3)?,
                    check_in: r.get(4)?,
                    check_out: r.get(5)?,
                })
            },
        )?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(TapeChart {
        start: start.to_string(),
        days,
        rooms,
        stays,
    })
}

// Commands ------------------------------------------------------------------------------------

#[tauri::command(rename_all = "snake_case")]
pub async fn search_reservations(
    desk: State<'_, Desk>,
    text: String,
) -> CmdResult<Vec<Reservation>> {
    Ok(search(&desk.conn(), &text)?)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn get_reservation(desk: State<'_, Desk>, id: String) -> CmdResult<Reservation> {
    Ok(get(&desk.conn(), &id)?)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn find_available_rooms(
    desk: State<'_, Desk>,
    check_in: String,
    check_out: String,
    ignoring: Option<String>,
) -> CmdResult<Vec<RoomOffer>> {
    let (arrival, departure) = stay_dates(&check_in, &check_out)?;
    Ok(available_rooms(
        &desk.conn(),
        arrival,
        departure,
        ignoring.as_deref(),
    )?)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn create_reservation(
    desk: State<'_, Desk>,
    input: NewReservation,
) -> CmdResult<Reservation> {
    let reservation = create(&mut desk.conn(), &input, desk.staff_id(), desk.now())?;
    desk.changed();
    Ok(reservation)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn change_reservation(
    desk: State<'_, Desk>,
    input: ChangeReservation,
) -> CmdResult<Reservation> {
    let reservation = change(&mut desk.conn(), &input, desk.staff_id(), desk.now())?;
    desk.changed();
    Ok(reservation)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn reservation_action(
    desk: State<'_, Desk>,
    id: String,
    action: Action,
    reason: Option<String>,
    override_reason: Option<String>,
) -> CmdResult<ActionOutcome> {
    let outcome = act(
        &mut desk.conn(),
        &id,
        action,
        reason.as_deref(),
        override_reason.as_deref(),
        desk.now(),
        desk.user().as_ref(),
    )?;
    desk.changed();
    Ok(outcome)
}

/// The booking's history, oldest first, each line with the colleague who did it.
#[tauri::command(rename_all = "snake_case")]
pub async fn booking_history(desk: State<'_, Desk>, id: String) -> CmdResult<Vec<HistoryLine>> {
    let conn = desk.conn();
    get(&conn, &id)?;
    Ok(history::of_booking(&conn, &id)?)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn get_tape_chart(
    desk: State<'_, Desk>,
    start: String,
    days: i64,
) -> CmdResult<TapeChart> {
    let start = db::parse_date("start", &start)?;
    Ok(tape_chart(&desk.conn(), start, days)?)
}
