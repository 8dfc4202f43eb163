//! Folios on the laptop: a stay's guest folio, payments posted to it as ledger entries, and the
//! stay's balance derived from the entries the mirror holds (the server's and this desk's pending
//! ones alike).
//!
//! Whatever counts is a ledger: a payment is an entry with an id of its own (UUIDv7), so two
//! desks taking payments on one stay offline make two entries and both count after sync, where a
//! paid amount merged by clock kept only one. The guest folio's id is derived from the stay
//! ([`pms_sync_protocol::derived::guest_folio_id`]), so two desks opening it offline make one
//! folio (the server answers the second insert as already recorded). What a stay has paid
//! (`reservations.deposit_paid_cents`, `payment_status`) is the server's, derived from the
//! entries; the mirror derives it the same way (`migrations/sqlite/0004_folios.sql`) so the desk
//! shows a payment at once. Card numbers never go into free text
//! ([`pms_sync_protocol::card`]): refused here with [`Error::CardNumber`], and by the server.

use chrono::{NaiveDate, Utc};
use pms_sync_protocol::card::contains_card_number;
use pms_sync_protocol::derived::{guest_folio_id, tax_entry_id, void_entry_id};
use pms_sync_protocol::hlc::{Clock, SystemClock};
use pms_sync_protocol::money::{apply_vat, format_minor};
use pms_sync_protocol::wire::PushOp;
use rusqlite::{Connection, OptionalExtension};
use serde::Serialize;
use serde_json::{json, Map};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::{business_day, mirror, outbox};

/// How a guest paid (`folio_entries_payment_method_check`).
pub const PAYMENT_METHODS: &[&str] = &["cash", "card", "transfer", "other"];

/// What a desk may charge (`folio_entries_charge_type_check`, less the types the system posts).
pub const CHARGE_TYPES: &[&str] = &[
    "room", "food", "beverage", "minibar", "parking", "no_show", "other",
];

/// A payment (or, with `refund`, money given back) to post on a stay.
#[derive(Debug, Clone, Default)]
pub struct Payment<'a> {
    pub reservation_id: Uuid,
    /// The folio it goes on; the stay's guest folio when none.
    pub folio_id: Option<Uuid>,
    /// In minor units of the stay's currency; above zero.
    pub amount_minor: i64,
    /// One of [`PAYMENT_METHODS`].
    pub method: &'a str,
    /// The payment provider's or bank's reference (never a card number).
    pub reference: Option<&'a str>,
    /// What the clerk wrote; "Payment (<method>)" when none.
    pub description: Option<&'a str>,
    /// Money given back to the guest rather than taken.
    pub refund: bool,
    /// The staff member posting it.
    pub created_by: Option<Uuid>,
}

/// A charge to post on a stay: an extra from the property's list, a free one, or one the system
/// derives (a night's room charge: `id` and `business_date` given by the night audit).
#[derive(Debug, Clone, Default)]
pub struct Charge<'a> {
    pub reservation_id: Uuid,
    /// The folio it goes on; the stay's guest folio when none.
    pub folio_id: Option<Uuid>,
    pub description: &'a str,
    /// The price of one, as the property prices (VAT included or not, as its VAT says).
    pub unit_price_minor: i64,
    pub quantity: i64,
    /// One of [`CHARGE_TYPES`].
    pub charge_type: &'a str,
    /// A derived charge's deterministic id; a new UUIDv7 otherwise.
    pub id: Option<Uuid>,
    /// The business date to book it on; the property's open one otherwise.
    pub business_date: Option<NaiveDate>,
    pub created_by: Option<Uuid>,
}

/// One entry of a stay's folios, as the mirror holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
#[ts(rename = "FolioEntry")]
pub struct Entry {
    pub id: String,
    pub folio_id: String,
    pub kind: String,
    pub amount_minor: i64,
    pub currency: String,
    pub business_date: String,
    pub description: Option<String>,
    pub payment_method: Option<String>,
    pub external_reference: Option<String>,
    pub voids_entry_id: Option<String>,
    pub charge_type: Option<String>,
    pub quantity: i64,
    pub applies_to_entry_id: Option<String>,
    pub tax_rate_bp: Option<i64>,
}

/// A folio of a stay, as the mirror holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct Folio {
    pub id: String,
    pub kind: String,
    pub name: Option<String>,
    pub status: String,
    pub currency: String,
}

/// Money derived from entries: voided entries and their voids count for nothing, and so do
/// overrides (a record that a manager let a balance stand, not money).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct Balance {
    /// Charges and taxes, plus adjustments (signed).
    pub charged_minor: i64,
    /// Payments minus refunds.
    pub paid_minor: i64,
    /// What the guest owes on the folios: charged minus paid (negative: in credit).
    pub balance_minor: i64,
}

/// The stay's open guest folio, opened (through the outbox) when it has none yet. Refused with
/// [`Error::FolioClosed`] when its guest folio is closed.
pub fn open_guest_folio(conn: &mut Connection, reservation_id: Uuid) -> Result<Uuid> {
    open_guest_folio_with_clock(conn, &SystemClock, reservation_id)
}

/// [`open_guest_folio`], stamped by `wall` (the laptop's clock).
fn open_guest_folio_with_clock(
    conn: &mut Connection,
    wall: &dyn Clock,
    reservation_id: Uuid,
) -> Result<Uuid> {
    let reservation = reservation_id.to_string();
    let existing: Option<(String, String)> = conn
        .query_row(
            "select id, status from folios where reservation_id = ?1 and kind = 'guest'
              order by id limit 1",
            [&reservation],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    if let Some((id, status)) = existing {
        if status == "closed" {
            return Err(Error::FolioClosed);
        }
        return parse_id(&id);
    }
    let (property_id, currency) = stay(conn, &reservation)?;
    let id = guest_folio_id(reservation_id);
    let mut values = Map::new();
    values.insert("property_id".to_owned(), json!(property_id));
    values.insert("reservation_id".to_owned(), json!(reservation));
    values.insert("kind".to_owned(), json!("guest"));
    values.insert("status".to_owned(), json!("open"));
    values.insert("currency".to_owned(), json!(currency));
    outbox::write_with_clock(conn, wall, "folios", PushOp::Insert, id, values)?;
    Ok(id)
}

/// Opens a second folio on the stay for a company (what it pays goes there, split from the
/// guest's). Returns its id.
pub fn open_company_folio(conn: &mut Connection, reservation_id: Uuid, name: &str) -> Result<Uuid> {
    let name = name.trim();
    if name.is_empty() {
        return Err(Error::Invalid {
            field: "name",
            message: "Type the company's name.".to_owned(),
        });
    }
    refuse_card_numbers(&[("name", Some(name))])?;
    let reservation = reservation_id.to_string();
    let (property_id, currency) = stay(conn, &reservation)?;
    let id = Uuid::now_v7();
    let mut values = Map::new();
    values.insert("property_id".to_owned(), json!(property_id));
    values.insert("reservation_id".to_owned(), json!(reservation));
    values.insert("kind".to_owned(), json!("company"));
    values.insert("name".to_owned(), json!(name));
    values.insert("status".to_owned(), json!("open"));
    values.insert("currency".to_owned(), json!(currency));
    outbox::write(conn, "folios", PushOp::Insert, id, values)?;
    Ok(id)
}

/// The folio an entry goes on: `folio_id` when given (it must be the stay's and open), else the
/// stay's guest folio.
fn target_folio(
    conn: &mut Connection,
    wall: &dyn Clock,
    reservation_id: Uuid,
    folio_id: Option<Uuid>,
) -> Result<Uuid> {
    // The stay's guest folio, named before it exists (its id is derived), is opened now.
    let Some(folio_id) = folio_id.filter(|id| *id != guest_folio_id(reservation_id)) else {
        return open_guest_folio_with_clock(conn, wall, reservation_id);
    };
    let status: Option<String> = conn
        .query_row(
            "select status from folios where id = ?1 and reservation_id = ?2",
            [folio_id.to_string(), reservation_id.to_string()],
            |r| r.get(0),
        )
        .optional()?;
    match status.as_deref() {
        None => Err(Error::Invalid {
            field: "folio_id",
            message: "That folio is not this stay's.".to_owned(),
        }),
        Some("closed") => Err(Error::FolioClosed),
        Some(_) => Ok(folio_id),
    }
}

/// Posts a payment (or a refund) to a folio of the stay. Returns the entry's id.
pub fn take_payment(conn: &mut Connection, payment: &Payment<'_>) -> Result<Uuid> {
    take_payment_with_clock(conn, &SystemClock, payment)
}

/// [`take_payment`] on a laptop whose clock is `wall`: the entry's business date is the
/// property's day at that time, and the change is stamped by it.
pub fn take_payment_with_clock(
    conn: &mut Connection,
    wall: &dyn Clock,
    payment: &Payment<'_>,
) -> Result<Uuid> {
    if payment.amount_minor <= 0 {
        return Err(Error::Invalid {
            field: "amount",
            message: "Enter an amount above zero.".to_owned(),
        });
    }
    if !PAYMENT_METHODS.contains(&payment.method) {
        return Err(Error::Invalid {
            field: "method",
            message: if payment.refund {
                "Choose how the money goes back to the guest.".to_owned()
            } else {
                "Choose how the guest paid.".to_owned()
            },
        });
    }
    refuse_card_numbers(&[
        ("reference", payment.reference),
        ("description", payment.description),
    ])?;
    let reservation = payment.reservation_id.to_string();
    let status: String = conn
        .query_row(
            "select status from reservations where id = ?1",
            [&reservation],
            |r| r.get(0),
        )
        .optional()?
        .ok_or_else(|| Error::Data(format!("no stay {reservation} on this laptop")))?;
    if !payment.refund && matches!(status.as_str(), "cancelled") {
        return Err(Error::StayNotPayable { status });
    }
    let folio_id = target_folio(conn, wall, payment.reservation_id, payment.folio_id)?;
    let (property_id, currency) = stay(conn, &reservation)?;
    let kind = if payment.refund { "refund" } else { "payment" };
    let description = payment.description.map_or_else(
        || {
            if payment.refund {
                format!("Refund ({})", payment.method)
            } else {
                format!("Payment ({})", payment.method)
            }
        },
        str::to_owned,
    );
    let id = Uuid::now_v7();
    let mut values = Map::new();
    values.insert("folio_id".to_owned(), json!(folio_id));
    values.insert("reservation_id".to_owned(), json!(reservation));
    values.insert("kind".to_owned(), json!(kind));
    values.insert("amount_minor".to_owned(), json!(payment.amount_minor));
    values.insert("currency".to_owned(), json!(currency));
    values.insert(
        "business_date".to_owned(),
        json!(open_business_date(conn, wall, &property_id)?.to_string()),
    );
    values.insert("description".to_owned(), json!(description));
    values.insert("payment_method".to_owned(), json!(payment.method));
    if let Some(reference) = payment.reference.filter(|r| !r.trim().is_empty()) {
        values.insert("external_reference".to_owned(), json!(reference.trim()));
    }
    if let Some(by) = payment.created_by {
        values.insert("created_by".to_owned(), json!(by));
    }
    outbox::write_with_clock(conn, wall, "folio_entries", PushOp::Insert, id, values)?;
    Ok(id)
}

/// A VAT of the property: (tax id, rate in basis points, included in prices).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vat {
    pub id: Uuid,
    pub name: String,
    pub rate_bp: i64,
    pub included: bool,
}

/// The property's VAT on charges of `charge_type`: the one naming the type, else the one for
/// every type.
pub fn vat_for(conn: &Connection, property_id: &str, charge_type: &str) -> Result<Option<Vat>> {
    let found: Option<(String, String, i64, bool)> = conn
        .query_row(
            "select id, name, coalesce(rate_bp, 0), coalesce(included, 0) from property_taxes
              where property_id = ?1 and kind = 'vat' and coalesce(active, 1) = 1
                and (charge_type = ?2 or charge_type is null)
              order by charge_type is null, created_at, id limit 1",
            [property_id, charge_type],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?;
    found
        .map(|(id, name, rate_bp, included)| {
            Ok(Vat {
                id: parse_id(&id)?,
                name,
                rate_bp,
                included,
            })
        })
        .transpose()
}

/// Posts a charge and its VAT to a folio of the stay. Returns the charge entry's id. A derived
/// charge already on this laptop (its id taken) is not posted again.
pub fn post_charge(conn: &mut Connection, charge: &Charge<'_>) -> Result<Uuid> {
    post_charge_with_clock(conn, &SystemClock, charge)
}

/// [`post_charge`] on a laptop whose clock is `wall` (the business date when none is given,
/// and the changes' stamps).
pub fn post_charge_with_clock(
    conn: &mut Connection,
    wall: &dyn Clock,
    charge: &Charge<'_>,
) -> Result<Uuid> {
    if charge.quantity <= 0 {
        return Err(Error::Invalid {
            field: "quantity",
            message: "The quantity is at least one.".to_owned(),
        });
    }
    if charge.unit_price_minor <= 0 {
        return Err(Error::Invalid {
            field: "price",
            message: "Enter a price above zero.".to_owned(),
        });
    }
    if !CHARGE_TYPES.contains(&charge.charge_type) {
        return Err(Error::Invalid {
            field: "charge_type",
            message: "Choose what kind of charge this is.".to_owned(),
        });
    }
    let description = charge.description.trim();
    if description.is_empty() {
        return Err(Error::Invalid {
            field: "description",
            message: "Say what the charge is for.".to_owned(),
        });
    }
    refuse_card_numbers(&[("description", Some(description))])?;
    let id = charge.id.unwrap_or_else(Uuid::now_v7);
    if mirror::read(conn, "folio_entries", &id.to_string())?.is_some() {
        return Ok(id);
    }
    let reservation = charge.reservation_id.to_string();
    let folio_id = target_folio(conn, wall, charge.reservation_id, charge.folio_id)?;
    let (property_id, currency) = stay(conn, &reservation)?;
    let business_date = match charge.business_date {
        Some(date) => date,
        None => open_business_date(conn, wall, &property_id)?,
    };
    let gross = charge.unit_price_minor * charge.quantity;
    let vat = vat_for(conn, &property_id, charge.charge_type)?;
    let taxed = match &vat {
        Some(vat) => apply_vat(gross, vat.rate_bp, vat.included),
        None => apply_vat(gross, 0, false),
    };
    let mut values = Map::new();
    values.insert("folio_id".to_owned(), json!(folio_id));
    values.insert("reservation_id".to_owned(), json!(reservation));
    values.insert("kind".to_owned(), json!("charge"));
    values.insert("amount_minor".to_owned(), json!(taxed.net_minor));
    values.insert("currency".to_owned(), json!(currency));
    values.insert("business_date".to_owned(), json!(business_date.to_string()));
    values.insert("description".to_owned(), json!(description));
    values.insert("charge_type".to_owned(), json!(charge.charge_type));
    values.insert("quantity".to_owned(), json!(charge.quantity));
    if let Some(by) = charge.created_by {
        values.insert("created_by".to_owned(), json!(by));
    }
    outbox::write_with_clock(conn, wall, "folio_entries", PushOp::Insert, id, values)?;
    if let Some(vat) = vat.filter(|_| taxed.tax_minor > 0) {
        post_tax(
            conn,
            wall,
            &Tax {
                charge_id: id,
                tax_id: vat.id,
                folio_id,
                reservation: &reservation,
                currency: &currency,
                business_date,
                charge_type: "vat",
                description: &format!("{} {}", vat.name, percent(vat.rate_bp)),
                amount_minor: taxed.tax_minor,
                rate_bp: Some(vat.rate_bp),
                created_by: charge.created_by,
            },
        )?;
    }
    Ok(id)
}

/// A tax entry on a charge (deterministic id: the charge and the tax).
pub(crate) struct Tax<'a> {
    pub charge_id: Uuid,
    pub tax_id: Uuid,
    pub folio_id: Uuid,
    pub reservation: &'a str,
    pub currency: &'a str,
    pub business_date: NaiveDate,
    pub charge_type: &'a str,
    pub description: &'a str,
    pub amount_minor: i64,
    pub rate_bp: Option<i64>,
    pub created_by: Option<Uuid>,
}

pub(crate) fn post_tax(conn: &mut Connection, wall: &dyn Clock, tax: &Tax<'_>) -> Result<Uuid> {
    let id = tax_entry_id(tax.charge_id, tax.tax_id);
    if mirror::read(conn, "folio_entries", &id.to_string())?.is_some() {
        return Ok(id);
    }
    let mut values = Map::new();
    values.insert("folio_id".to_owned(), json!(tax.folio_id));
    values.insert("reservation_id".to_owned(), json!(tax.reservation));
    values.insert("kind".to_owned(), json!("tax"));
    values.insert("amount_minor".to_owned(), json!(tax.amount_minor));
    values.insert("currency".to_owned(), json!(tax.currency));
    values.insert(
        "business_date".to_owned(),
        json!(tax.business_date.to_string()),
    );
    values.insert("description".to_owned(), json!(tax.description));
    values.insert("charge_type".to_owned(), json!(tax.charge_type));
    values.insert("applies_to_entry_id".to_owned(), json!(tax.charge_id));
    values.insert("tax_rate_bp".to_owned(), json!(tax.rate_bp));
    if let Some(by) = tax.created_by {
        values.insert("created_by".to_owned(), json!(by));
    }
    outbox::write_with_clock(conn, wall, "folio_entries", PushOp::Insert, id, values)?;
    Ok(id)
}

/// "10%", "7.7%" from basis points.
pub fn percent(rate_bp: i64) -> String {
    if rate_bp % 100 == 0 {
        format!("{}%", rate_bp / 100)
    } else {
        format!("{}%", (rate_bp as f64 / 100.0))
    }
}

/// Voids an entry of the stay (and the taxes on it): a new entry cancels each, naming it, with
/// the reason; nothing is deleted or edited. The void's id is derived from the entry, so two
/// desks voiding it offline make one void.
pub fn void_entry(
    conn: &mut Connection,
    reservation_id: Uuid,
    entry_id: Uuid,
    reason: &str,
    created_by: Option<Uuid>,
) -> Result<()> {
    void_entry_with_clock(
        conn,
        &SystemClock,
        reservation_id,
        entry_id,
        reason,
        created_by,
    )
}

/// [`void_entry`] on a laptop whose clock is `wall`.
pub fn void_entry_with_clock(
    conn: &mut Connection,
    wall: &dyn Clock,
    reservation_id: Uuid,
    entry_id: Uuid,
    reason: &str,
    created_by: Option<Uuid>,
) -> Result<()> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(Error::Invalid {
            field: "reason",
            message: "Say why the entry is voided.".to_owned(),
        });
    }
    refuse_card_numbers(&[("reason", Some(reason))])?;
    let all = entries(conn, reservation_id)?;
    let entry = all
        .iter()
        .find(|e| e.id == entry_id.to_string())
        .ok_or_else(|| Error::Invalid {
            field: "entry_id",
            message: "That entry is not on this stay's folios.".to_owned(),
        })?;
    if entry.voids_entry_id.is_some() || entry.kind == "override" {
        return Err(Error::Invalid {
            field: "entry_id",
            message: "A void or an override cannot be voided.".to_owned(),
        });
    }
    let voided = |id: &str| all.iter().any(|e| e.voids_entry_id.as_deref() == Some(id));
    if voided(&entry.id) {
        return Err(Error::Invalid {
            field: "entry_id",
            message: "That entry is voided already.".to_owned(),
        });
    }
    let property_id = stay(conn, &reservation_id.to_string())?.0;
    let business_date = open_business_date(conn, wall, &property_id)?;
    let taxes = all.iter().filter(|e| {
        e.kind == "tax"
            && e.applies_to_entry_id.as_deref() == Some(entry.id.as_str())
            && !voided(&e.id)
    });
    for target in std::iter::once(entry).chain(taxes) {
        let mut values = Map::new();
        values.insert("folio_id".to_owned(), json!(target.folio_id));
        values.insert("reservation_id".to_owned(), json!(reservation_id));
        values.insert("kind".to_owned(), json!(target.kind));
        values.insert("amount_minor".to_owned(), json!(target.amount_minor));
        values.insert("currency".to_owned(), json!(target.currency));
        values.insert("business_date".to_owned(), json!(business_date.to_string()));
        values.insert(
            "description".to_owned(),
            json!(format!(
                "Void of {}: {reason}",
                target.description.as_deref().unwrap_or(&target.kind)
            )),
        );
        values.insert("payment_method".to_owned(), json!(target.payment_method));
        values.insert("charge_type".to_owned(), json!(target.charge_type));
        values.insert("tax_rate_bp".to_owned(), json!(target.tax_rate_bp));
        values.insert("voids_entry_id".to_owned(), json!(target.id));
        if let Some(by) = created_by {
            values.insert("created_by".to_owned(), json!(by));
        }
        outbox::write_with_clock(
            conn,
            wall,
            "folio_entries",
            PushOp::Insert,
            void_entry_id(parse_id(&target.id)?),
            values,
        )?;
    }
    Ok(())
}

/// Moves `amount_minor` of a charge (with its share of VAT) to another folio of the stay (a
/// company pays the room, the guest the minibar): an adjustment takes it off the charge's folio
/// and a charge puts it on the other, both naming the original charge.
pub fn move_charge(
    conn: &mut Connection,
    reservation_id: Uuid,
    entry_id: Uuid,
    amount_minor: i64,
    to_folio: Uuid,
    created_by: Option<Uuid>,
) -> Result<()> {
    let all = entries(conn, reservation_id)?;
    let entry = all
        .iter()
        .find(|e| e.id == entry_id.to_string() && e.kind == "charge" && e.voids_entry_id.is_none())
        .ok_or_else(|| Error::Invalid {
            field: "entry_id",
            message: "Only a charge of this stay can be moved.".to_owned(),
        })?;
    if all
        .iter()
        .any(|e| e.voids_entry_id.as_deref() == Some(entry.id.as_str()))
    {
        return Err(Error::Invalid {
            field: "entry_id",
            message: "That charge is voided.".to_owned(),
        });
    }
    let moved_out: i64 = all
        .iter()
        .filter(|e| {
            e.kind == "adjustment"
                && e.applies_to_entry_id.as_deref() == Some(entry.id.as_str())
                && e.charge_type.as_deref() != Some("vat")
        })
        .map(|e| -e.amount_minor)
        .sum();
    let left = entry.amount_minor - moved_out;
    if amount_minor <= 0 || amount_minor > left {
        return Err(Error::Invalid {
            field: "amount",
            message: format!(
                "Move an amount above zero and at most what is left of the charge ({}).",
                format_minor(left, &entry.currency)
            ),
        });
    }
    if entry.folio_id == to_folio.to_string() {
        return Err(Error::Invalid {
            field: "to_folio_id",
            message: "Choose another folio to move the charge to.".to_owned(),
        });
    }
    let target = target_folio(conn, &SystemClock, reservation_id, Some(to_folio))?;
    let source_open: Option<String> = conn
        .query_row(
            "select status from folios where id = ?1",
            [&entry.folio_id],
            |r| r.get(0),
        )
        .optional()?;
    if source_open.as_deref() == Some("closed") {
        return Err(Error::FolioClosed);
    }
    let property_id = stay(conn, &reservation_id.to_string())?.0;
    let business_date = open_business_date(conn, &SystemClock, &property_id)?;
    let vat = all.iter().find(|e| {
        e.kind == "tax"
            && e.charge_type.as_deref() == Some("vat")
            && e.applies_to_entry_id.as_deref() == Some(entry.id.as_str())
            && !all
                .iter()
                .any(|v| v.voids_entry_id.as_deref() == Some(e.id.as_str()))
    });
    let vat_share = vat.map(|tax| {
        let share = i128::from(tax.amount_minor) * i128::from(amount_minor);
        let whole = i128::from(entry.amount_minor);
        ((share + whole / 2) / whole) as i64
    });
    let description = entry
        .description
        .clone()
        .unwrap_or_else(|| "Charge".to_owned());
    let mut post = |folio: &str,
                    kind: &str,
                    amount: i64,
                    charge_type: Option<&str>,
                    rate: Option<i64>,
                    text: String| {
        let mut values = Map::new();
        values.insert("folio_id".to_owned(), json!(folio));
        values.insert("reservation_id".to_owned(), json!(reservation_id));
        values.insert("kind".to_owned(), json!(kind));
        values.insert("amount_minor".to_owned(), json!(amount));
        values.insert("currency".to_owned(), json!(entry.currency));
        values.insert("business_date".to_owned(), json!(business_date.to_string()));
        values.insert("description".to_owned(), json!(text));
        values.insert("charge_type".to_owned(), json!(charge_type));
        values.insert("tax_rate_bp".to_owned(), json!(rate));
        values.insert("applies_to_entry_id".to_owned(), json!(entry.id));
        if let Some(by) = created_by {
            values.insert("created_by".to_owned(), json!(by));
        }
        outbox::write(
            conn,
            "folio_entries",
            PushOp::Insert,
            Uuid::now_v7(),
            values,
        )
    };
    let to = target.to_string();
    post(
        &entry.folio_id,
        "adjustment",
        -amount_minor,
        entry.charge_type.as_deref(),
        None,
        format!("{description}: moved to another folio"),
    )?;
    post(
        &to,
        "charge",
        amount_minor,
        entry.charge_type.as_deref(),
        None,
        description.clone(),
    )?;
    if let (Some(tax), Some(share)) = (vat, vat_share.filter(|s| *s > 0)) {
        let text = tax.description.clone().unwrap_or_else(|| "VAT".to_owned());
        post(
            &entry.folio_id,
            "adjustment",
            -share,
            Some("vat"),
            tax.tax_rate_bp,
            format!("{text}: moved to another folio"),
        )?;
        post(&to, "tax", share, Some("vat"), tax.tax_rate_bp, text)?;
    }
    Ok(())
}

/// The roles that may let a guest leave with a balance open.
const OVERRIDE_ROLES: &[&str] = &["owner", "manager"];

/// Check-out settles the folio: the nights stayed that no audit has charged are charged (with the
/// audit's own ids, so a later audit adds none), and a balance left refuses the check-out unless
/// a manager (or the owner) lets the guest leave with it, giving a reason that is recorded on an
/// override entry. `staff_role` is the signed-in colleague's role.
pub fn settle_for_check_out(
    conn: &mut Connection,
    reservation_id: Uuid,
    staff_role: &str,
    override_reason: Option<&str>,
    created_by: Option<Uuid>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<()> {
    crate::night_audit::charge_stayed_nights(conn, reservation_id, now)?;
    let balance = balance(conn, reservation_id)?;
    if balance.balance_minor <= 0 {
        return Ok(());
    }
    let Some(reason) = override_reason.map(str::trim).filter(|r| !r.is_empty()) else {
        let (_, currency) = stay(conn, &reservation_id.to_string())?;
        return Err(Error::BalanceDue {
            balance_minor: balance.balance_minor,
            currency,
        });
    };
    if !OVERRIDE_ROLES.contains(&staff_role) {
        return Err(Error::ManagerRequired);
    }
    record_override(
        conn,
        reservation_id,
        balance.balance_minor,
        reason,
        created_by,
    )?;
    Ok(())
}

/// Records that a manager let the guest leave with `balance_minor` open, and why: an override
/// entry on the guest folio, which counts for nothing in the balance.
pub fn record_override(
    conn: &mut Connection,
    reservation_id: Uuid,
    balance_minor: i64,
    reason: &str,
    created_by: Option<Uuid>,
) -> Result<Uuid> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(Error::Invalid {
            field: "override_reason",
            message: "A manager's reason is needed to check out with a balance.".to_owned(),
        });
    }
    refuse_card_numbers(&[("override_reason", Some(reason))])?;
    let folio_id = open_guest_folio(conn, reservation_id)?;
    let reservation = reservation_id.to_string();
    let (property_id, currency) = stay(conn, &reservation)?;
    let id = Uuid::now_v7();
    let mut values = Map::new();
    values.insert("folio_id".to_owned(), json!(folio_id));
    values.insert("reservation_id".to_owned(), json!(reservation));
    values.insert("kind".to_owned(), json!("override"));
    values.insert("amount_minor".to_owned(), json!(balance_minor));
    values.insert("currency".to_owned(), json!(currency));
    values.insert(
        "business_date".to_owned(),
        json!(open_business_date(conn, &SystemClock, &property_id)?.to_string()),
    );
    values.insert(
        "description".to_owned(),
        json!(format!(
            "Checked out with {} open: {reason}",
            format_minor(balance_minor, &currency)
        )),
    );
    if let Some(by) = created_by {
        values.insert("created_by".to_owned(), json!(by));
    }
    outbox::write(conn, "folio_entries", PushOp::Insert, id, values)?;
    Ok(id)
}

/// Refuses free text that holds a card number, naming the field.
pub fn refuse_card_numbers(fields: &[(&'static str, Option<&str>)]) -> Result<()> {
    match fields
        .iter()
        .find(|(_, text)| text.is_some_and(contains_card_number))
    {
        Some((field, _)) => Err(Error::CardNumber { field }),
        None => Ok(()),
    }
}

/// The stay's folios, guest folio first; a stay without one shows its guest folio as it will be
/// opened by the first entry (open, no entries, its derived id), so the desk can post to it.
pub fn folios(conn: &Connection, reservation_id: Uuid) -> Result<Vec<Folio>> {
    let mut folios = stored_folios(conn, reservation_id)?;
    if !folios.iter().any(|f| f.kind == "guest") {
        if let Ok((_, currency)) = stay(conn, &reservation_id.to_string()) {
            folios.insert(
                0,
                Folio {
                    id: guest_folio_id(reservation_id).to_string(),
                    kind: "guest".to_owned(),
                    name: None,
                    status: "open".to_owned(),
                    currency,
                },
            );
        }
    }
    Ok(folios)
}

fn stored_folios(conn: &Connection, reservation_id: Uuid) -> Result<Vec<Folio>> {
    let mut statement = conn.prepare_cached(
        "select id, kind, name, status, currency from folios where reservation_id = ?1
          order by kind <> 'guest', created_at, id",
    )?;
    let rows = statement.query_map([reservation_id.to_string()], |r| {
        Ok(Folio {
            id: r.get(0)?,
            kind: r.get(1)?,
            name: r.get(2)?,
            status: r.get(3)?,
            currency: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The stay's entries on every folio, oldest first.
pub fn entries(conn: &Connection, reservation_id: Uuid) -> Result<Vec<Entry>> {
    let mut statement = conn.prepare_cached(
        "select id, folio_id, kind, amount_minor, currency, business_date, description,
                payment_method, external_reference, voids_entry_id, charge_type,
                coalesce(quantity, 1), applies_to_entry_id, tax_rate_bp
           from folio_entries where reservation_id = ?1 order by created_at, id",
    )?;
    let rows = statement.query_map([reservation_id.to_string()], |r| {
        Ok(Entry {
            id: r.get(0)?,
            folio_id: r.get(1)?,
            kind: r.get(2)?,
            amount_minor: r.get(3)?,
            currency: r.get(4)?,
            business_date: r.get(5)?,
            description: r.get(6)?,
            payment_method: r.get(7)?,
            external_reference: r.get(8)?,
            voids_entry_id: r.get(9)?,
            charge_type: r.get(10)?,
            quantity: r.get(11)?,
            applies_to_entry_id: r.get(12)?,
            tax_rate_bp: r.get(13)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The entries that count: neither voided nor voids nor overrides.
pub fn counted(entries: &[Entry]) -> impl Iterator<Item = &Entry> {
    entries.iter().filter(move |e| {
        e.voids_entry_id.is_none()
            && e.kind != "override"
            && !entries
                .iter()
                .any(|v| v.voids_entry_id.as_deref() == Some(e.id.as_str()))
    })
}

/// The balance of some entries: charges + taxes ± adjustments − payments + refunds.
pub fn balance_of<'a>(entries: impl Iterator<Item = &'a Entry>) -> Balance {
    let (mut charged, mut paid) = (0_i64, 0_i64);
    for entry in entries {
        match entry.kind.as_str() {
            "charge" | "tax" | "adjustment" => charged += entry.amount_minor,
            "payment" => paid += entry.amount_minor,
            "refund" => paid -= entry.amount_minor,
            _ => {}
        }
    }
    Balance {
        charged_minor: charged,
        paid_minor: paid,
        balance_minor: charged - paid,
    }
}

/// The stay's balance from its entries on every folio.
pub fn balance(conn: &Connection, reservation_id: Uuid) -> Result<Balance> {
    let entries = entries(conn, reservation_id)?;
    Ok(balance_of(counted(&entries)))
}

/// One folio's balance.
pub fn folio_balance(conn: &Connection, reservation_id: Uuid, folio_id: &str) -> Result<Balance> {
    let entries = entries(conn, reservation_id)?;
    Ok(balance_of(
        counted(&entries).filter(|e| e.folio_id == folio_id),
    ))
}

/// The property's open business date at the laptop's time `wall`.
fn open_business_date(conn: &Connection, wall: &dyn Clock, property_id: &str) -> Result<NaiveDate> {
    let now = chrono::DateTime::from_timestamp_millis(wall.now_ms()).unwrap_or_else(Utc::now);
    match Uuid::parse_str(property_id) {
        Ok(property) => business_day::business_date(conn, property, now),
        // a stay whose property this laptop does not hold: the laptop's UTC date
        Err(_) => Ok(now.date_naive()),
    }
}

fn parse_id(id: &str) -> Result<Uuid> {
    Uuid::parse_str(id).map_err(|e| Error::Data(format!("id {id}: {e}")))
}

/// The stay's property and currency.
pub(crate) fn stay(conn: &Connection, reservation: &str) -> Result<(String, String)> {
    conn.query_row(
        "select property_id, coalesce(currency, 'USD') from reservations where id = ?1",
        [reservation],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .optional()?
    .ok_or_else(|| Error::Data(format!("no stay {reservation} on this laptop")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn stay_with(conn: &Connection, total: i64) -> Uuid {
        let id = Uuid::now_v7();
        let Value::Object(row) = json!({
            "id": id, "tenant_id": Uuid::now_v7(), "property_id": Uuid::now_v7(),
            "guest_name": "Ada", "status": "confirmed", "currency": "EUR",
            "total_amount_cents": total, "deposit_paid_cents": 0, "payment_status": "pending",
        }) else {
            unreachable!()
        };
        crate::mirror::upsert(conn, "reservations", &row).expect("stay pulled from the server");
        id
    }

    fn paid(conn: &Connection, stay: Uuid) -> (i64, String) {
        conn.query_row(
            "select deposit_paid_cents, payment_status from reservations where id = ?1",
            [stay.to_string()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("stay")
    }

    fn pay<'a>(stay: Uuid, amount: i64, reference: Option<&'a str>) -> Payment<'a> {
        Payment {
            reservation_id: stay,
            amount_minor: amount,
            method: "card",
            reference,
            ..Payment::default()
        }
    }

    #[test]
    fn a_laptop_whose_clock_is_a_day_ahead_dates_and_stamps_its_entries_by_that_clock() {
        // 2031-03-10 12:00 UTC on this laptop, whatever the machine says
        let wall = pms_sync_protocol::hlc::FakeClock::new(1_930_910_400_000);
        let mut conn = mirror::open_in_memory().expect("mirror");
        let stay = stay_with(&conn, 30_000);
        take_payment_with_clock(&mut conn, &wall, &pay(stay, 10_000, None)).expect("payment");
        let charge = post_charge_with_clock(
            &mut conn,
            &wall,
            &Charge {
                reservation_id: stay,
                description: "Minibar",
                unit_price_minor: 500,
                quantity: 1,
                charge_type: "minibar",
                ..Charge::default()
            },
        )
        .expect("charge");
        wall.advance(86_400_000);
        void_entry_with_clock(&mut conn, &wall, stay, charge, "posted by mistake", None)
            .expect("void");
        let mut dates: Vec<String> = entries(&conn, stay)
            .expect("entries")
            .iter()
            .map(|e| e.business_date.clone())
            .collect();
        dates.sort();
        assert_eq!(dates, ["2031-03-10", "2031-03-10", "2031-03-11"]);
        let stamps: Vec<i64> = outbox::entries(&conn, true)
            .expect("outbox")
            .iter()
            .map(|e| e.stamp.expect("stamped").wall_ms)
            .collect();
        assert_eq!(
            stamps,
            [
                1_930_910_400_000,
                1_930_910_400_000,
                1_930_910_400_000,
                1_930_996_800_000
            ]
        );
    }

    #[test]
    fn two_payments_are_two_entries_on_one_guest_folio_and_the_stay_follows() {
        let mut conn = mirror::open_in_memory().expect("mirror");
        let stay = stay_with(&conn, 30_000);
        take_payment(&mut conn, &pay(stay, 10_000, Some("TRX-1"))).expect("first");
        assert_eq!(paid(&conn, stay), (10_000, "partial".to_owned()));
        take_payment(&mut conn, &pay(stay, 20_000, None)).expect("second");
        assert_eq!(paid(&conn, stay), (30_000, "paid".to_owned()));
        let entries = entries(&conn, stay).expect("entries");
        assert_eq!(entries.len(), 2);
        assert!(entries
            .iter()
            .all(|e| e.folio_id == guest_folio_id(stay).to_string()));
        assert_eq!(
            balance(&conn, stay).expect("balance"),
            Balance {
                charged_minor: 0,
                paid_minor: 30_000,
                balance_minor: -30_000
            }
        );
        // one folio insert, two entries
        assert_eq!(outbox::entries(&conn, true).expect("outbox").len(), 3);
    }

    #[test]
    fn a_card_number_is_refused_before_anything_is_written() {
        let mut conn = mirror::open_in_memory().expect("mirror");
        let stay = stay_with(&conn, 10_000);
        let refused = take_payment(&mut conn, &pay(stay, 5_000, Some("4111 1111 1111 1111")));
        assert!(
            matches!(refused, Err(Error::CardNumber { field: "reference" })),
            "{refused:?}"
        );
        assert!(refused
            .expect_err("refused")
            .to_string()
            .contains("card number"));
        assert!(outbox::entries(&conn, true).expect("outbox").is_empty());
        assert!(matches!(
            take_payment(&mut conn, &pay(stay, 0, None)),
            Err(Error::Invalid {
                field: "amount",
                ..
            })
        ));
    }

    #[test]
    fn a_closed_guest_folio_takes_no_payment() {
        let mut conn = mirror::open_in_memory().expect("mirror");
        let stay = stay_with(&conn, 10_000);
        let folio = open_guest_folio(&mut conn, stay).expect("open");
        conn.execute(
            "update folios set status = 'closed' where id = ?1",
            [folio.to_string()],
        )
        .expect("closed on the server");
        assert!(matches!(
            take_payment(&mut conn, &pay(stay, 5_000, None)),
            Err(Error::FolioClosed)
        ));
    }
}
