//! Small helpers over the mirror shared by the command modules: writing through the outbox with
//! JSON values, the desk's current property, dates and clocks, and the app's own bookkeeping
//! values in `sync_state` (keys prefixed `desk_`).
//!
//! Reads are plain SQL on the mirror; every write goes through `pms_sync_client::outbox::write`
//! so it is pushed later.

use chrono::NaiveDate;
use pms_sync_protocol::wire::PushOp;
use rusqlite::{Connection, OptionalExtension};
use serde::Serialize;
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::error::{AppError, AppResult};

fn object(values: Value) -> AppResult<Map<String, Value>> {
    match values {
        Value::Object(map) => Ok(map),
        _ => Err(AppError::Local {
            message: "a write without values".to_owned(),
        }),
    }
}

/// Inserts a row (a new id is the caller's) through the outbox.
pub fn insert(conn: &mut Connection, table: &str, id: Uuid, values: Value) -> AppResult<()> {
    pms_sync_client::outbox::write(conn, table, PushOp::Insert, id, object(values)?)?;
    Ok(())
}

/// Updates the given columns of a row through the outbox.
pub fn update(conn: &mut Connection, table: &str, id: Uuid, values: Value) -> AppResult<()> {
    let values = object(values)?;
    if values.is_empty() {
        return Ok(());
    }
    pms_sync_client::outbox::write(conn, table, PushOp::Update, id, values)?;
    Ok(())
}

/// The current UTC time as the server writes timestamps.
pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The desk's property's calendar date at `now`, in the property's time zone (never the
/// laptop's: a desk in Lisbon looking after a hotel in Auckland works in Auckland's day); the
/// UTC date before a property exists.
pub fn today(conn: &Connection, now: chrono::DateTime<chrono::Utc>) -> AppResult<NaiveDate> {
    match current_property(conn)? {
        Some(property) => {
            let id = parse_id("property_id", &property.id)?;
            Ok(pms_sync_client::business_day::local_today(conn, id, now)?)
        }
        None => Ok(now.date_naive()),
    }
}

/// Parses a `YYYY-MM-DD` date typed into `field`.
pub fn parse_date(field: &str, text: &str) -> AppResult<NaiveDate> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .map_err(|_| AppError::validation(field, "Enter a date as YYYY-MM-DD."))
}

/// Parses a row id sent by the UI.
pub fn parse_id(field: &str, text: &str) -> AppResult<Uuid> {
    text.parse()
        .map_err(|_| AppError::validation(field, "This reference is not valid."))
}

/// A value of the app's own bookkeeping.
pub fn desk_state(conn: &Connection, key: &str) -> AppResult<Option<String>> {
    Ok(pms_sync_client::mirror::state(conn, key)?)
}

pub fn set_desk_state(conn: &Connection, key: &str, value: &str) -> AppResult<()> {
    Ok(pms_sync_client::mirror::set_state(conn, key, value)?)
}

/// The property the desk works on.
#[derive(Debug, Clone, Serialize, PartialEq, ts_rs::TS)]
pub struct Property {
    pub id: String,
    pub name: String,
    pub currency: String,
    pub timezone: String,
    /// The paper it prints on (from its country, else its currency): `a4` or `letter`.
    pub paper_size: pms_sync_client::paperwork::PaperSize,
    /// Days after a stay's check-out that identity documents captured for it are kept.
    pub document_retention_days: i64,
}

/// The columns [`property_from_row`] reads, in order.
pub const PROPERTY_COLUMNS: &str =
    "id, name, coalesce(currency, 'USD'), coalesce(timezone, 'UTC'), country_code,
     coalesce(document_retention_days, 365)";

/// A property from a row of [`PROPERTY_COLUMNS`].
pub fn property_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Property> {
    let currency: String = r.get(2)?;
    let country: Option<String> = r.get(4)?;
    Ok(Property {
        id: r.get(0)?,
        name: r.get(1)?,
        paper_size: pms_sync_client::paperwork::paper_size(country.as_deref(), Some(&currency)),
        currency,
        timezone: r.get(3)?,
        document_retention_days: r.get(5)?,
    })
}

/// The desk's property: the one chosen (`desk_property_id`), else the first by name.
pub fn current_property(conn: &Connection) -> AppResult<Option<Property>> {
    let chosen = desk_state(conn, "desk_property_id")?;
    let property = conn
        .query_row(
            &format!(
                "select {PROPERTY_COLUMNS} from properties
                  where deleted_at is null order by (id = ?1) desc, name limit 1"
            ),
            [chosen.unwrap_or_default()],
            property_from_row,
        )
        .optional()?;
    Ok(property)
}

/// The desk's property, or `NotSetUp`.
pub fn property(conn: &Connection) -> AppResult<Property> {
    current_property(conn)?.ok_or(AppError::NotSetUp)
}

/// Local changes not yet pushed.
pub fn changes_waiting(conn: &Connection) -> AppResult<i64> {
    Ok(conn.query_row(
        "select count(*) from outbox where status = 'pending'",
        [],
        |r| r.get(0),
    )?)
}

/// Conflicts a person still has to resolve.
pub fn conflicts_open(conn: &Connection) -> AppResult<i64> {
    Ok(conn.query_row(
        "select count(*) from conflicts where resolved_at is null",
        [],
        |r| r.get(0),
    )?)
}

/// Trims a typed text; empty becomes `None`.
pub fn optional_text(text: &Option<String>) -> Option<String> {
    text.as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
}
