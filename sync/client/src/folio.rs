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

use pms_sync_protocol::card::contains_card_number;
use pms_sync_protocol::derived::guest_folio_id;
use pms_sync_protocol::wire::PushOp;
use rusqlite::{Connection, OptionalExtension};
use serde::Serialize;
use serde_json::{json, Map};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::outbox;

/// How a guest paid (`folio_entries_payment_method_check`).
pub const PAYMENT_METHODS: &[&str] = &["cash", "card", "transfer", "other"];

/// A payment to post on a stay.
#[derive(Debug, Clone, Default)]
pub struct Payment<'a> {
    pub reservation_id: Uuid,
    /// In minor units of the stay's currency; above zero.
    pub amount_minor: i64,
    /// One of [`PAYMENT_METHODS`].
    pub method: &'a str,
    /// The payment provider's or bank's reference (never a card number).
    pub reference: Option<&'a str>,
    /// What the clerk wrote; "Payment (<method>)" when none.
    pub description: Option<&'a str>,
    /// The staff member posting it.
    pub created_by: Option<Uuid>,
}

/// One entry of a stay's folios, as the mirror holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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
}

/// A stay's money, derived from its entries: voided entries and their voids count for nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
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
        return Uuid::parse_str(&id).map_err(|e| Error::Data(format!("folio id {id}: {e}")));
    }
    let (property_id, currency) = stay(conn, &reservation)?;
    let id = guest_folio_id(reservation_id);
    let mut values = Map::new();
    values.insert("property_id".to_owned(), json!(property_id));
    values.insert("reservation_id".to_owned(), json!(reservation));
    values.insert("kind".to_owned(), json!("guest"));
    values.insert("status".to_owned(), json!("open"));
    values.insert("currency".to_owned(), json!(currency));
    outbox::write(conn, "folios", PushOp::Insert, id, values)?;
    Ok(id)
}

/// Posts a payment to the stay's guest folio (opening it if needed). Returns the entry's id.
pub fn take_payment(conn: &mut Connection, payment: &Payment<'_>) -> Result<Uuid> {
    if payment.amount_minor <= 0 {
        return Err(Error::Invalid {
            field: "amount",
            message: "Enter an amount above zero.".to_owned(),
        });
    }
    if !PAYMENT_METHODS.contains(&payment.method) {
        return Err(Error::Invalid {
            field: "method",
            message: "Choose how the guest paid.".to_owned(),
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
    if matches!(status.as_str(), "cancelled" | "no_show") {
        return Err(Error::StayNotPayable { status });
    }
    let folio_id = open_guest_folio(conn, payment.reservation_id)?;
    let (_, currency) = stay(conn, &reservation)?;
    let description = payment
        .description
        .map_or_else(|| format!("Payment ({})", payment.method), str::to_owned);
    let id = Uuid::now_v7();
    let mut values = Map::new();
    values.insert("folio_id".to_owned(), json!(folio_id));
    values.insert("reservation_id".to_owned(), json!(reservation));
    values.insert("kind".to_owned(), json!("payment"));
    values.insert("amount_minor".to_owned(), json!(payment.amount_minor));
    values.insert("currency".to_owned(), json!(currency));
    values.insert(
        "business_date".to_owned(),
        // The laptop's date until properties keep their business date (the night audit).
        json!(chrono::Local::now().date_naive().to_string()),
    );
    values.insert("description".to_owned(), json!(description));
    values.insert("payment_method".to_owned(), json!(payment.method));
    if let Some(reference) = payment.reference.filter(|r| !r.trim().is_empty()) {
        values.insert("external_reference".to_owned(), json!(reference.trim()));
    }
    if let Some(by) = payment.created_by {
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

/// The stay's entries on every folio, oldest first.
pub fn entries(conn: &Connection, reservation_id: Uuid) -> Result<Vec<Entry>> {
    let mut statement = conn.prepare_cached(
        "select id, folio_id, kind, amount_minor, currency, business_date, description,
                payment_method, external_reference, voids_entry_id
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
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The stay's balance from its entries: charges + taxes ± adjustments − payments + refunds.
pub fn balance(conn: &Connection, reservation_id: Uuid) -> Result<Balance> {
    let entries = entries(conn, reservation_id)?;
    let voided: Vec<&str> = entries
        .iter()
        .filter_map(|e| e.voids_entry_id.as_deref())
        .collect();
    let counted = entries
        .iter()
        .filter(|e| e.voids_entry_id.is_none() && !voided.contains(&e.id.as_str()));
    let (mut charged, mut paid) = (0_i64, 0_i64);
    for entry in counted {
        match entry.kind.as_str() {
            "charge" | "tax" | "adjustment" => charged += entry.amount_minor,
            "payment" => paid += entry.amount_minor,
            "refund" => paid -= entry.amount_minor,
            _ => {}
        }
    }
    Ok(Balance {
        charged_minor: charged,
        paid_minor: paid,
        balance_minor: charged - paid,
    })
}

/// The stay's property and currency.
fn stay(conn: &Connection, reservation: &str) -> Result<(String, String)> {
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
    use crate::mirror;
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
        mirror::upsert(conn, "reservations", &row).expect("stay pulled from the server");
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
