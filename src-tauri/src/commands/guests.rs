//! Guests: search as you type (the mirror's FTS5 trigram index), the profile (details,
//! preferences, stays, communications, loyalty), creating or editing a guest, and merging a
//! duplicate into the guest kept. An edit sends only the fields that changed, so the server can
//! merge it with edits made elsewhere.

use rusqlite::{Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use tauri::State;
use uuid::Uuid;

use pms_sync_client::communications::NewCommunication;

use super::loyalty::{memberships, Membership};
use super::reservations::{query, Reservation};
use crate::db;
use crate::error::{AppError, AppResult, CmdResult};
use crate::state::Desk;

#[derive(Debug, Clone, Serialize, PartialEq, ts_rs::TS)]
pub struct GuestHit {
    pub id: String,
    pub full_name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub city: Option<String>,
    pub vip_status: String,
}

/// Up to `limit` guests matching `term` (name, email or phone), best first.
pub fn search(conn: &Connection, term: &str, limit: usize) -> AppResult<Vec<GuestHit>> {
    let hits = pms_sync_client::mirror::search_guests(conn, term, limit)?;
    let mut statement = conn.prepare_cached(
        "select id, coalesce(full_name, ''), email, phone, city, coalesce(vip_status, 'none') from guests where id = ?1",
    )?;
    let mut found = Vec::with_capacity(hits.len());
    for (id, _) in hits {
        let hit = statement
            .query_row([&id], |r| {
                Ok(GuestHit {
                    id: r.get(0)?,
                    full_name: r.get(1)?,
                    email: r.get(2)?,
                    phone: r.get(3)?,
                    city: r.get(4)?,
                    vip_status: r.get(5)?,
                })
            })
            .optional()?;
        found.extend(hit);
    }
    Ok(found)
}

/// The fields the desk edits.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, ts_rs::TS)]
// what the clerk left empty may be left out: serde reads a missing `Option` as `None`
#[ts(optional_fields = nullable)]
pub struct GuestInput {
    pub first_name: String,
    pub last_name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub address_line1: Option<String>,
    pub city: Option<String>,
    pub postal_code: Option<String>,
    pub country_code: Option<String>,
    pub segment: Option<String>,
    pub vip_status: Option<String>,
    pub marketing_consent: Option<bool>,
    pub notes: Option<String>,
}

const SEGMENTS: &[&str] = &["regular", "business", "leisure", "group"];
const VIP: &[&str] = &["none", "regular", "vip", "vvip"];

/// Checks the typed fields and turns them into the columns written.
fn columns(input: &GuestInput) -> AppResult<Map<String, Value>> {
    let first = input.first_name.trim();
    let last = input.last_name.trim();
    if first.is_empty() && last.is_empty() {
        return Err(AppError::validation("last_name", "Enter the guest's name."));
    }
    let email = db::optional_text(&input.email);
    if let Some(email) = &email {
        let valid = email.split_once('@').is_some_and(|(user, host)| {
            !user.is_empty() && !host.is_empty() && !email.contains(char::is_whitespace)
        });
        if !valid {
            return Err(AppError::validation(
                "email",
                "This email address is not valid.",
            ));
        }
    }
    let country = db::optional_text(&input.country_code).map(|c| c.to_uppercase());
    if let Some(country) = &country {
        if country.len() != 2 || !country.chars().all(|c| c.is_ascii_uppercase()) {
            return Err(AppError::validation(
                "country_code",
                "Use the two-letter country code, such as FR.",
            ));
        }
    }
    let segment = db::optional_text(&input.segment).unwrap_or_else(|| "regular".to_owned());
    if !SEGMENTS.contains(&segment.as_str()) {
        return Err(AppError::validation(
            "segment",
            "Choose a segment from the list.",
        ));
    }
    let vip = db::optional_text(&input.vip_status).unwrap_or_else(|| "none".to_owned());
    if !VIP.contains(&vip.as_str()) {
        return Err(AppError::validation(
            "vip_status",
            "Choose a VIP status from the list.",
        ));
    }
    let Value::Object(map) = json!({
        "first_name": first, "last_name": last, "email": email, "phone": db::optional_text(&input.phone),
        "address_line1": db::optional_text(&input.address_line1), "city": db::optional_text(&input.city),
        "postal_code": db::optional_text(&input.postal_code), "country_code": country,
        "segment": segment, "vip_status": vip, "marketing_consent": input.marketing_consent.unwrap_or(false),
        "notes": db::optional_text(&input.notes),
    }) else {
        unreachable!("a json object literal")
    };
    Ok(map)
}

pub fn create(conn: &mut Connection, input: &GuestInput) -> AppResult<Profile> {
    let mut values = columns(input)?;
    values.insert("created_at".into(), json!(db::now()));
    let id = Uuid::now_v7();
    db::insert(conn, "guests", id, Value::Object(values))?;
    profile(conn, &id.to_string())
}

/// Writes the fields that differ from the guest's current row.
pub fn update(conn: &mut Connection, id: &str, input: &GuestInput) -> AppResult<Profile> {
    let row_id = db::parse_id("id", id)?;
    let current = pms_sync_client::mirror::read(conn, "guests", id)?
        .ok_or_else(|| AppError::not_found("The guest"))?;
    let changed: Map<String, Value> = columns(input)?
        .into_iter()
        .filter(|(column, value)| current.get(column).unwrap_or(&Value::Null) != value)
        .collect();
    db::update(conn, "guests", row_id, Value::Object(changed))?;
    profile(conn, id)
}

#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct Communication {
    pub id: String,
    pub kind: Option<String>,
    pub direction: Option<String>,
    pub subject: Option<String>,
    pub status: Option<String>,
    pub created_at: Option<String>,
}

#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct Profile {
    /// The guest's row (synced columns) as JSON.
    #[ts(type = "Record<string, unknown>")]
    pub guest: Map<String, Value>,
    #[ts(type = "Record<string, unknown> | null")]
    pub preferences: Option<Map<String, Value>>,
    pub stays: Vec<Reservation>,
    pub communications: Vec<Communication>,
    pub loyalty: Vec<Membership>,
    pub pending_sync: bool,
}

pub fn profile(conn: &Connection, id: &str) -> AppResult<Profile> {
    let mut guest = pms_sync_client::mirror::read(conn, "guests", id)?
        .filter(|g| g.get("deleted_at").is_none_or(Value::is_null))
        .ok_or_else(|| AppError::not_found("The guest"))?;
    // no server computes a local hotel's figures: the laptop does, by the server's rules
    if pms_sync_client::sole_writer::is_sole_writer(conn)? {
        let figures = pms_sync_client::sole_writer::guest_figures(conn, id)?;
        guest.insert("total_bookings".to_owned(), figures.bookings.into());
        guest.insert("total_spent_cents".to_owned(), figures.spent_minor.into());
        guest.insert(
            "lifetime_value_cents".to_owned(),
            figures.spent_minor.into(),
        );
    }
    let preference_id: Option<String> = conn
        .query_row(
            "select id from guest_preferences where guest_id = ?1 limit 1",
            [id],
            |r| r.get(0),
        )
        .optional()?;
    let preferences = match preference_id {
        Some(pid) => pms_sync_client::mirror::read(conn, "guest_preferences", &pid)?,
        None => None,
    };
    let stays = query(
        conn,
        "where r.guest_id = ?1 and r.deleted_at is null order by r.check_in_date desc limit 100",
        [id],
    )?;
    let mut statement = conn.prepare_cached(
        "select id, type, direction, subject, status, created_at from communication_logs
          where guest_id = ?1 order by created_at desc limit 50",
    )?;
    let communications = statement
        .query_map([id], |r| {
            Ok(Communication {
                id: r.get(0)?,
                kind: r.get(1)?,
                direction: r.get(2)?,
                subject: r.get(3)?,
                status: r.get(4)?,
                created_at: r.get(5)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let pending_sync: bool = conn.query_row(
        "select exists (select 1 from outbox where table_name = 'guests' and row_id = ?1 and status = 'pending')",
        [id],
        |r| r.get(0),
    )?;
    Ok(Profile {
        guest,
        preferences,
        stays,
        communications,
        loyalty: memberships(conn, id)?,
        pending_sync,
    })
}

/// Contact and address fields a merge copies from the duplicate where the kept guest has none.
const FILLED_BY_MERGE: &[&str] = &[
    "email",
    "phone",
    "address_line1",
    "address_line2",
    "city",
    "region",
    "postal_code",
    "country_code",
    "date_of_birth",
    "nationality",
];

/// Merges the guest `duplicate` into `keep`: the duplicate's stays move to the kept guest, its
/// preferences too when the kept guest has none, the kept guest's empty contact fields are filled
/// from it and the notes joined, then the duplicate is deleted (soft, as the server keeps it).
/// Refused while the duplicate holds loyalty memberships: their ledgers belong to it, and moving
/// them is the server's work. Its communications stay in its history (the log is append-only).
pub fn merge(conn: &mut Connection, keep: &str, duplicate: &str) -> AppResult<Profile> {
    if keep == duplicate {
        return Err(AppError::validation(
            "duplicate_id",
            "Choose another guest to merge.",
        ));
    }
    let kept = profile(conn, keep)?;
    let dupe = profile(conn, duplicate)?;
    if let Some(member) = dupe.loyalty.first() {
        return Err(AppError::validation(
            "duplicate_id",
            format!(
                "{} is a member of {}; merge their loyalty accounts on the server first.",
                dupe.guest
                    .get("full_name")
                    .and_then(Value::as_str)
                    .unwrap_or("The duplicate"),
                member.program_name
            ),
        ));
    }
    let keep_id = db::parse_id("keep_id", keep)?;
    for stay in &dupe.stays {
        let full_name = kept.guest.get("full_name").cloned().unwrap_or(Value::Null);
        db::update(
            conn,
            "reservations",
            db::parse_id("reservation", &stay.id)?,
            json!({"guest_id": keep, "guest_name": full_name}),
        )?;
    }
    if let (None, Some(preferences)) = (&kept.preferences, &dupe.preferences) {
        if let Some(id) = preferences.get("id").and_then(Value::as_str) {
            db::update(
                conn,
                "guest_preferences",
                db::parse_id("preferences", id)?,
                json!({"guest_id": keep}),
            )?;
        }
    }
    let empty = |v: Option<&Value>| v.is_none_or(|v| v.is_null() || v.as_str() == Some(""));
    let mut filled = Map::new();
    for column in FILLED_BY_MERGE {
        if empty(kept.guest.get(*column)) && !empty(dupe.guest.get(*column)) {
            filled.insert((*column).to_owned(), dupe.guest[*column].clone());
        }
    }
    let note = |g: &Map<String, Value>| {
        g.get("notes")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .trim()
            .to_owned()
    };
    let (kept_note, dupe_note) = (note(&kept.guest), note(&dupe.guest));
    if !dupe_note.is_empty() && kept_note != dupe_note {
        let joined = if kept_note.is_empty() {
            dupe_note
        } else {
            format!("{kept_note}\n{dupe_note}")
        };
        filled.insert("notes".to_owned(), Value::String(joined));
    }
    db::update(conn, "guests", keep_id, Value::Object(filled))?;
    db::update(
        conn,
        "guests",
        db::parse_id("duplicate_id", duplicate)?,
        json!({"deleted_at": db::now()}),
    )?;
    profile(conn, keep)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn merge_guests(
    desk: State<'_, Desk>,
    keep_id: String,
    duplicate_id: String,
) -> CmdResult<Profile> {
    let profile = merge(&mut desk.conn(), &keep_id, &duplicate_id)?;
    desk.changed();
    Ok(profile)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn search_guests(desk: State<'_, Desk>, term: String) -> CmdResult<Vec<GuestHit>> {
    Ok(search(&desk.conn(), &term, 30)?)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn get_guest(desk: State<'_, Desk>, id: String) -> CmdResult<Profile> {
    Ok(profile(&desk.conn(), &id)?)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn create_guest(desk: State<'_, Desk>, input: GuestInput) -> CmdResult<Profile> {
    let profile = create(&mut desk.conn(), &input)?;
    desk.changed();
    Ok(profile)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn update_guest(
    desk: State<'_, Desk>,
    id: String,
    input: GuestInput,
) -> CmdResult<Profile> {
    let profile = update(&mut desk.conn(), &id, &input)?;
    desk.changed();
    Ok(profile)
}

/// Saves the guest's preferences (column → value; those left out stay as they are).
#[tauri::command(rename_all = "snake_case")]
pub async fn save_guest_preferences(
    desk: State<'_, Desk>,
    guest_id: String,
    changes: Map<String, Value>,
) -> CmdResult<Profile> {
    let id = db::parse_id("guest_id", &guest_id)?;
    let mut conn = desk.conn();
    pms_sync_client::preferences::save(&mut conn, id, &changes)?;
    let saved = profile(&conn, &guest_id)?;
    drop(conn);
    desk.changed();
    Ok(saved)
}

/// Logs a call, an e-mail or a note with the guest, as the signed-in colleague.
#[tauri::command(rename_all = "snake_case")]
pub async fn log_communication(
    desk: State<'_, Desk>,
    guest_id: String,
    entry: NewCommunication,
) -> CmdResult<Profile> {
    let id = db::parse_id("guest_id", &guest_id)?;
    let mut conn = desk.conn();
    pms_sync_client::communications::log(&mut conn, id, &entry, desk.staff_id(), desk.now())?;
    let logged = profile(&conn, &guest_id)?;
    drop(conn);
    desk.changed();
    Ok(logged)
}
