//! What a desk captures at check-in for the registration card: the guest's date of birth and
//! nationality, and the identity document they showed (type, number, issuing country, expiry).
//!
//! A document is kept only as long as its property says (`properties.document_retention_days`
//! after the check-out of the stay it was shown for; after its capture when no stay is named),
//! counted on the property's own date. The server's retention job deletes expired documents and
//! the deletes reach every laptop; until then a desk neither shows nor prints them, and
//! [`purge_expired`] removes them from the mirror, offline too. The rule is the server's
//! `app.expired_guest_documents`, written twice because one runs in Postgres and one in SQLite.

use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use uuid::Uuid;

use crate::business_day;
use crate::error::{Error, Result};
use crate::history::{self, Action};
use crate::outbox;
use pms_sync_protocol::wire::PushOp;

/// The kinds of identity document a property records (the server's check).
pub const DOCUMENT_KINDS: &[&str] = &[
    "passport",
    "national_id",
    "driving_licence",
    "residence_permit",
    "other",
];

/// What the clerk typed at check-in. Empty fields are left as they are.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ts_rs::TS)]
pub struct RegistrationInput {
    /// `YYYY-MM-DD`.
    #[serde(default)]
    pub date_of_birth: Option<String>,
    /// ISO 3166 alpha-2 ("PT").
    #[serde(default)]
    pub nationality: Option<String>,
    #[serde(default)]
    pub document: Option<DocumentInput>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, ts_rs::TS)]
pub struct DocumentInput {
    /// One of [`DOCUMENT_KINDS`].
    pub kind: String,
    pub number: String,
    #[serde(default)]
    pub issuing_country: Option<String>,
    /// `YYYY-MM-DD`.
    #[serde(default)]
    pub expires_on: Option<String>,
}

/// An identity document as the desk shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct Document {
    pub id: String,
    pub kind: String,
    pub number: String,
    pub issuing_country: Option<String>,
    pub expires_on: Option<String>,
    pub reservation_id: Option<String>,
    /// The property's date after which it is no longer kept.
    pub kept_until: NaiveDate,
}

/// What the desk knows for a stay's registration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct Registration {
    pub reservation_id: String,
    pub guest_id: Option<String>,
    pub date_of_birth: Option<String>,
    pub nationality: Option<String>,
    /// The document shown for this stay, else the guest's newest one still kept.
    pub document: Option<Document>,
}

fn invalid(field: &'static str, message: impl Into<String>) -> Error {
    Error::Invalid {
        field,
        message: message.into(),
    }
}

fn trimmed(text: &Option<String>) -> Option<String> {
    text.as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
}

fn country(field: &'static str, text: &Option<String>) -> Result<Option<String>> {
    match trimmed(text) {
        None => Ok(None),
        Some(code) => {
            let code = code.to_uppercase();
            if code.len() == 2 && code.chars().all(|c| c.is_ascii_uppercase()) {
                Ok(Some(code))
            } else {
                Err(invalid(
                    field,
                    "Type the country as its two-letter code, such as PT or DE.",
                ))
            }
        }
    }
}

fn date(field: &'static str, text: &Option<String>) -> Result<Option<NaiveDate>> {
    trimmed(text)
        .map(|t| {
            NaiveDate::parse_from_str(&t, "%Y-%m-%d")
                .map_err(|_| invalid(field, "Type the date as YYYY-MM-DD."))
        })
        .transpose()
}

struct Stay {
    guest_id: Option<String>,
    property_id: String,
}

fn stay(conn: &Connection, reservation_id: Uuid) -> Result<Stay> {
    conn.query_row(
        "select guest_id, property_id from reservations where id = ?1 and deleted_at is null",
        [reservation_id.to_string()],
        |r| {
            Ok(Stay {
                guest_id: r.get(0)?,
                property_id: r.get(1)?,
            })
        },
    )
    .optional()?
    .ok_or_else(|| invalid("reservation_id", "The booking is not on this laptop."))
}

/// Records what was captured for the stay `reservation_id` at `now`: the guest's date of birth
/// and nationality where typed, and the document (the stay's own document is corrected in place;
/// one stay keeps one). Refuses a document that expired before the property's today, a birth
/// date in the future, and a card number typed as a document number. Appends a `registered`
/// event to the booking's history.
pub fn capture(
    conn: &mut Connection,
    reservation_id: Uuid,
    input: &RegistrationInput,
    staff_user_id: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<Registration> {
    let stay = stay(conn, reservation_id)?;
    let property = Uuid::parse_str(&stay.property_id)
        .map_err(|_| Error::Data("a stay without a property".to_owned()))?;
    let today = business_day::local_today(conn, property, now)?;
    let birth = date("date_of_birth", &input.date_of_birth)?;
    if let Some(birth) = birth {
        if birth > today || birth < NaiveDate::from_ymd_opt(1900, 1, 1).expect("a date") {
            return Err(invalid(
                "date_of_birth",
                "The date of birth cannot be in the future or before 1900.",
            ));
        }
    }
    let nationality = country("nationality", &input.nationality)?;
    let document = input
        .document
        .as_ref()
        .map(|d| checked_document(d, today))
        .transpose()?;
    let mut detail = Map::new();
    if let Some(guest) = &stay.guest_id {
        let mut changes = Map::new();
        if let Some(birth) = birth {
            changes.insert("date_of_birth".into(), json!(birth.to_string()));
        }
        if let Some(nationality) = &nationality {
            changes.insert("nationality".into(), json!(nationality));
        }
        if !changes.is_empty() {
            let guest_id = Uuid::parse_str(guest)
                .map_err(|_| Error::Data("a stay's guest id is not a uuid".to_owned()))?;
            outbox::write(conn, "guests", PushOp::Update, guest_id, changes.clone())?;
            detail.extend(changes);
        }
    } else if birth.is_some() || nationality.is_some() {
        return Err(invalid(
            "date_of_birth",
            "Link the booking to a guest profile first: the date of birth and nationality are the guest's.",
        ));
    }
    if let Some(mut values) = document {
        let Some(guest) = &stay.guest_id else {
            return Err(invalid(
                "document",
                "Link the booking to a guest profile first: the document is the guest's.",
            ));
        };
        detail.insert(
            "document".into(),
            json!(values.get("kind").cloned().unwrap_or(Value::Null)),
        );
        let existing: Option<String> = conn
            .query_row(
                "select id from guest_documents where reservation_id = ?1 order by created_at desc limit 1",
                [reservation_id.to_string()],
                |r| r.get(0),
            )
            .optional()?;
        match existing {
            Some(id) => {
                let id = Uuid::parse_str(&id)
                    .map_err(|_| Error::Data("a document id is not a uuid".to_owned()))?;
                outbox::write(conn, "guest_documents", PushOp::Update, id, values)?;
            }
            None => {
                values.insert("guest_id".into(), json!(guest));
                values.insert("property_id".into(), json!(stay.property_id));
                values.insert("reservation_id".into(), json!(reservation_id));
                if let Some(by) = staff_user_id {
                    values.insert("captured_by".into(), json!(by));
                }
                values.insert("created_at".into(), json!(now.to_rfc3339()));
                outbox::write(
                    conn,
                    "guest_documents",
                    PushOp::Insert,
                    Uuid::now_v7(),
                    values,
                )?;
            }
        }
    }
    if !detail.is_empty() {
        history::record(
            conn,
            reservation_id,
            Action::Registered,
            Some(detail),
            staff_user_id,
            now,
        )?;
    }
    registration(conn, reservation_id, now)
}

/// The document's columns as they are written, after the rules.
fn checked_document(input: &DocumentInput, today: NaiveDate) -> Result<Map<String, Value>> {
    let kind = input.kind.trim();
    if !DOCUMENT_KINDS.contains(&kind) {
        return Err(invalid("document_kind", "Choose the type of document."));
    }
    let number: String = input
        .number
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    if number.is_empty() || number.chars().count() > 40 {
        return Err(invalid(
            "document_number",
            "Type the document's number (at most 40 characters).",
        ));
    }
    if pms_sync_protocol::card::contains_card_number(&number) {
        return Err(Error::CardNumber {
            field: "document number",
        });
    }
    let issuing_country = country("document_country", &input.issuing_country)?;
    let expires_on = date("document_expires_on", &input.expires_on)?;
    if let Some(expiry) = expires_on {
        if expiry < today {
            return Err(invalid(
                "document_expires_on",
                format!("This document expired on {expiry}: ask the guest for a valid one."),
            ));
        }
    }
    let Value::Object(values) = json!({
        "kind": kind,
        "number": number,
        "issuing_country": issuing_country,
        "expires_on": expires_on.map(|d| d.to_string()),
    }) else {
        unreachable!("a json object literal")
    };
    Ok(values)
}

/// The mirror's documents with what decides how long each is kept (see [`keeping`]); a
/// property whose setting this laptop does not hold yet keeps them the server's default, 365 days.
const DOCUMENTS: &str = "
    select d.id, d.kind, d.number, d.issuing_country, d.expires_on, d.reservation_id,
           p.timezone, r.check_out_date, d.created_at,
           coalesce(p.document_retention_days, 365) as days
      from guest_documents d
      left join properties p on p.id = d.property_id
      left join reservations r on r.id = d.reservation_id";

/// A document as the mirror holds it, with what decides how long it is kept.
struct Stored {
    document: Document,
    /// The property's `timezone`: its dates are the property's.
    timezone: Option<String>,
    check_out: Option<String>,
    created_at: Option<String>,
    days: i64,
}

impl Stored {
    /// The property date until which the document is kept (the stay's check-out, else its
    /// capture date at the property, plus the property's days, minus one: gone on the day after),
    /// and whether it still is at `now`, on the property's date.
    fn keeping(&self, now: DateTime<Utc>) -> (NaiveDate, bool) {
        let zone = business_day::zone_named(self.timezone.as_deref());
        let start = self
            .check_out
            .as_deref()
            .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
            .or_else(|| {
                self.created_at
                    .as_deref()
                    .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                    .map(|t| business_day::local_now(zone, t.with_timezone(&Utc)).date())
            })
            .unwrap_or(NaiveDate::MIN);
        let until = start + chrono::Days::new(u64::try_from(self.days - 1).unwrap_or(0));
        (until, business_day::local_now(zone, now).date() <= until)
    }
}

/// The mirror's documents matching `condition` (on `d`, with `?1` = `key`), newest first.
fn stored(conn: &Connection, condition: &str, key: &str) -> Result<Vec<Stored>> {
    let mut statement = conn.prepare(&format!(
        "{DOCUMENTS} where {condition} order by d.created_at desc"
    ))?;
    let rows = statement
        .query_map([key], |r| {
            Ok(Stored {
                document: Document {
                    id: r.get(0)?,
                    kind: r.get(1)?,
                    number: r.get(2)?,
                    issuing_country: r.get(3)?,
                    expires_on: r.get(4)?,
                    reservation_id: r.get(5)?,
                    kept_until: NaiveDate::MIN,
                },
                timezone: r.get(6)?,
                check_out: r.get(7)?,
                created_at: r.get(8)?,
                days: r.get(9)?,
            })
        })?
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// The documents matching `condition` that are still kept at `now`.
fn documents_where(
    conn: &Connection,
    condition: &str,
    key: &str,
    now: DateTime<Utc>,
) -> Result<Vec<Document>> {
    let mut documents = Vec::new();
    for row in stored(conn, condition, key)? {
        let (until, kept) = row.keeping(now);
        if kept {
            documents.push(Document {
                kept_until: until,
                ..row.document
            });
        }
    }
    Ok(documents)
}

/// A guest's documents still kept at `now`, newest first.
pub fn documents_of_guest(
    conn: &Connection,
    guest_id: &str,
    now: DateTime<Utc>,
) -> Result<Vec<Document>> {
    documents_where(conn, "d.guest_id = ?1", guest_id, now)
}

/// What the desk holds for the stay's registration at `now`.
pub fn registration(
    conn: &Connection,
    reservation_id: Uuid,
    now: DateTime<Utc>,
) -> Result<Registration> {
    let stay = stay(conn, reservation_id)?;
    let id = reservation_id.to_string();
    let (birth, nationality): (Option<String>, Option<String>) = match &stay.guest_id {
        Some(guest) => conn
            .query_row(
                "select date_of_birth, nationality from guests where id = ?1",
                [guest],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?
            .unwrap_or_default(),
        None => (None, None),
    };
    let mut document = documents_where(conn, "d.reservation_id = ?1", &id, now)?
        .into_iter()
        .next();
    if document.is_none() {
        if let Some(guest) = &stay.guest_id {
            document = documents_of_guest(conn, guest, now)?.into_iter().next();
        }
    }
    Ok(Registration {
        reservation_id: id,
        guest_id: stay.guest_id,
        date_of_birth: birth,
        nationality,
        document,
    })
}

/// Removes from the mirror the documents their property no longer keeps at `now`, as the
/// server's retention job does there (whose deletes arrive later, or never for a hotel without
/// a server). Local only: the server applies the same rule to its own rows, so no delete is
/// sent; a capture or correction still waiting to be sent goes with its document (it would only
/// put back what the server deletes). Returns how many went.
pub fn purge_expired(conn: &mut Connection, now: DateTime<Utc>) -> Result<usize> {
    let mut expired = Vec::new();
    for row in stored(conn, "?1 = ?1", "")? {
        if !row.keeping(now).1 {
            expired.push(row.document.id);
        }
    }
    if expired.is_empty() {
        return Ok(0);
    }
    let tx = crate::mirror::write_transaction(conn)?;
    for id in &expired {
        tx.execute("delete from guest_documents where id = ?1", params![id])?;
        tx.execute(
            "delete from outbox where table_name = 'guest_documents' and row_id = ?1 and status = 'pending'",
            params![id],
        )?;
    }
    tx.commit()?;
    Ok(expired.len())
}
