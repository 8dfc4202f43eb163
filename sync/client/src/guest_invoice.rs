//! Guest invoices: the hotel's bills to its guests (not the platform's `invoices`, which bill
//! the hotel for its subscription).
//!
//! Numbers a guest takes home offline cannot wait for the server, so each laptop numbers in a
//! series of its own (`guest_invoice_series`: the server makes one for every laptop that signs
//! in; a local hotel makes its own at setup), the way fiscal rules give each till its own
//! register. Within a series numbers are gapless: the next number and the invoice are written in
//! one local transaction (a laptop killed mid-issue has issued the invoice whole or not at all),
//! and the server takes number n only after n - 1.
//!
//! An invoice takes the folio's entries that no standing invoice holds yet, frozen as lines; it is
//! never changed after. A credit note corrects it: the same lines with the sign turned, numbered
//! in the issuing laptop's series (on the laptop that issued the invoice that is the invoice's
//! series; another laptop cannot number in that series offline without risking a collision), and
//! its entries may then be invoiced again.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use pms_sync_protocol::wire::PushOp;
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::folio::{self, Entry};
use crate::{business_day, mirror, outbox};

/// An invoice line as issued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[ts(rename = "InvoiceLine")]
pub struct Line {
    pub entry_id: String,
    pub date: String,
    pub description: String,
    pub quantity: i64,
    pub unit_price_minor: i64,
    pub amount_minor: i64,
    pub charge_type: Option<String>,
}

/// Taxes of an invoice, one per rate (VAT) or kind (city tax).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[ts(rename = "InvoiceTaxLine")]
pub struct TaxLine {
    pub entry_ids: Vec<String>,
    pub name: String,
    /// VAT's rate in basis points; none for a city tax.
    pub rate_bp: Option<i64>,
    /// What the rate applies to (the lines' amounts it taxes).
    pub base_minor: i64,
    pub tax_minor: i64,
}

/// An issued invoice or credit note, as the desk shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct GuestInvoice {
    pub id: String,
    pub kind: String,
    pub number_label: String,
    pub series_prefix: String,
    pub number: i64,
    pub folio_id: String,
    pub reservation_id: String,
    pub property_id: String,
    pub bill_to: String,
    pub issued_on: String,
    pub currency: String,
    pub net_minor: i64,
    pub tax_minor: i64,
    pub total_minor: i64,
    pub paid_minor: i64,
    pub corrects_invoice_id: Option<String>,
    pub lines: Vec<Line>,
    pub taxes: Vec<TaxLine>,
}

/// "D3-000012".
pub fn number_label(prefix: &str, number: i64) -> String {
    format!("{prefix}-{number:06}")
}

/// This laptop's series: the one the server made for `device_id`, or (a local hotel, no server)
/// the one without a device. `None` until the laptop has pulled it.
pub fn own_series(conn: &Connection, device_id: Option<Uuid>) -> Result<Option<(String, String)>> {
    let found = match device_id {
        Some(device) => conn
            .query_row(
                "select id, prefix from guest_invoice_series where device_id = ?1",
                [device.to_string()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?,
        None => conn
            .query_row(
                "select id, prefix from guest_invoice_series where device_id is null
                  order by created_at, id limit 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?,
    };
    Ok(found)
}

/// A local hotel's own series (it has no server to make one): made once, kept in the mirror.
pub fn ensure_local_series(conn: &Connection, tenant_id: &str, prefix: &str) -> Result<String> {
    if let Some((id, _)) = own_series(conn, None)? {
        return Ok(id);
    }
    let id = Uuid::now_v7().to_string();
    let mut row = Map::new();
    row.insert("tenant_id".into(), json!(tenant_id));
    row.insert("id".into(), json!(id));
    row.insert("prefix".into(), json!(prefix));
    row.insert("created_at".into(), json!(Utc::now().to_rfc3339()));
    mirror::upsert(conn, "guest_invoice_series", &row)?;
    Ok(id)
}

/// Who the folio bills: a company folio's name, else the stay's guest.
fn bill_to(conn: &Connection, folio_id: &str) -> Result<String> {
    Ok(conn.query_row(
        "select coalesce(nullif(f.name, ''), r.guest_name, 'Guest')
           from folios f join reservations r on r.id = f.reservation_id where f.id = ?1",
        [folio_id],
        |r| r.get(0),
    )?)
}

/// The entry ids that standing invoices of the folio hold (invoices not corrected by a note).
fn invoiced_entries(conn: &Connection, folio_id: &str) -> Result<BTreeSet<String>> {
    let mut statement = conn.prepare_cached(
        "select g.lines, g.taxes from guest_invoices g
          where g.folio_id = ?1 and g.kind = 'invoice'
            and not exists (select 1 from guest_invoices c where c.corrects_invoice_id = g.id)",
    )?;
    let rows = statement.query_map([folio_id], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
    })?;
    let mut held = BTreeSet::new();
    for row in rows {
        let (lines, taxes) = row?;
        let lines: Vec<Line> =
            serde_json::from_str(&lines).map_err(|e| Error::Data(e.to_string()))?;
        let taxes: Vec<TaxLine> =
            serde_json::from_str(&taxes).map_err(|e| Error::Data(e.to_string()))?;
        held.extend(lines.into_iter().map(|l| l.entry_id));
        held.extend(taxes.into_iter().flat_map(|t| t.entry_ids));
    }
    Ok(held)
}

/// Issues an invoice of the folio (the stay's guest folio when `folio_id` is none): every entry
/// that counts and no standing invoice holds. Refused when there is nothing to invoice, or when
/// this laptop has no series yet (it has not synced since it signed in).
pub fn issue(
    conn: &mut Connection,
    reservation_id: Uuid,
    folio_id: Option<Uuid>,
    device_id: Option<Uuid>,
    issued_by: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<GuestInvoice> {
    let folio_id = match folio_id {
        Some(id) => id.to_string(),
        None => folio::open_guest_folio(conn, reservation_id)?.to_string(),
    };
    let entries = folio::entries(conn, reservation_id)?;
    let held = invoiced_entries(conn, &folio_id)?;
    let open: Vec<&Entry> = folio::counted(&entries)
        .filter(|e| e.folio_id == folio_id && !held.contains(&e.id))
        .collect();
    let (lines, taxes) = lines_and_taxes(&open);
    if lines.is_empty() && taxes.is_empty() {
        return Err(Error::Invalid {
            field: "folio_id",
            message: "Nothing on this folio is left to invoice.".to_owned(),
        });
    }
    let paid: i64 =
        folio::balance_of(folio::counted(&entries).filter(|e| e.folio_id == folio_id)).paid_minor;
    write_invoice(
        conn,
        Draft {
            kind: "invoice",
            reservation_id,
            folio_id: &folio_id,
            corrects: None,
            lines,
            taxes,
            paid_minor: paid,
            device_id,
            issued_by,
            now,
        },
    )
}

/// Issues a credit note that corrects `invoice_id` whole.
pub fn credit(
    conn: &mut Connection,
    invoice_id: Uuid,
    device_id: Option<Uuid>,
    issued_by: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<GuestInvoice> {
    let original = get(conn, invoice_id)?;
    if original.kind != "invoice" {
        return Err(Error::Invalid {
            field: "invoice_id",
            message: "A credit note corrects an invoice, not another credit note.".to_owned(),
        });
    }
    let corrected: Option<String> = conn
        .query_row(
            "select id from guest_invoices where corrects_invoice_id = ?1",
            [invoice_id.to_string()],
            |r| r.get(0),
        )
        .optional()?;
    if corrected.is_some() {
        return Err(Error::Invalid {
            field: "invoice_id",
            message: "That invoice has its credit note already.".to_owned(),
        });
    }
    let reservation_id = Uuid::parse_str(&original.reservation_id)
        .map_err(|e| Error::Data(format!("stay {}: {e}", original.reservation_id)))?;
    let negate_line = |l: &Line| Line {
        unit_price_minor: -l.unit_price_minor,
        amount_minor: -l.amount_minor,
        ..l.clone()
    };
    let negate_tax = |t: &TaxLine| TaxLine {
        base_minor: -t.base_minor,
        tax_minor: -t.tax_minor,
        ..t.clone()
    };
    write_invoice(
        conn,
        Draft {
            kind: "credit_note",
            reservation_id,
            folio_id: &original.folio_id,
            corrects: Some(&original.id),
            lines: original.lines.iter().map(negate_line).collect(),
            taxes: original.taxes.iter().map(negate_tax).collect(),
            paid_minor: 0,
            device_id,
            issued_by,
            now,
        },
    )
}

struct Draft<'a> {
    kind: &'a str,
    reservation_id: Uuid,
    folio_id: &'a str,
    corrects: Option<&'a str>,
    lines: Vec<Line>,
    taxes: Vec<TaxLine>,
    paid_minor: i64,
    device_id: Option<Uuid>,
    issued_by: Option<Uuid>,
    now: DateTime<Utc>,
}

fn write_invoice(conn: &mut Connection, draft: Draft<'_>) -> Result<GuestInvoice> {
    let Some((series_id, _prefix)) = own_series(conn, draft.device_id)? else {
        return Err(Error::Invalid {
            field: "series",
            message: "This laptop has no invoice numbers yet: sync once with the server, then issue the invoice.".to_owned(),
        });
    };
    let reservation = draft.reservation_id.to_string();
    let (property_id, currency) = folio::stay(conn, &reservation)?;
    let issued_on = match Uuid::parse_str(&property_id) {
        Ok(property) => business_day::local_today(conn, property, draft.now)?,
        Err(_) => draft.now.date_naive(),
    };
    let net: i64 = draft.lines.iter().map(|l| l.amount_minor).sum();
    let tax: i64 = draft.taxes.iter().map(|t| t.tax_minor).sum();
    let bill_to = bill_to(conn, draft.folio_id)?;
    let id = Uuid::now_v7();
    // The number and the invoice in one write: the outbox writes the row in one transaction, and
    // the mirror's unique (series, number) index refuses a number taken in between.
    let number: i64 = conn.query_row(
        "select coalesce(max(number), 0) + 1 from guest_invoices where series_id = ?1",
        [&series_id],
        |r| r.get(0),
    )?;
    let mut values = Map::new();
    values.insert("series_id".into(), json!(series_id));
    values.insert("number".into(), json!(number));
    values.insert("kind".into(), json!(draft.kind));
    values.insert("corrects_invoice_id".into(), json!(draft.corrects));
    values.insert("property_id".into(), json!(property_id));
    values.insert("reservation_id".into(), json!(reservation));
    values.insert("folio_id".into(), json!(draft.folio_id));
    values.insert("bill_to".into(), json!(bill_to));
    values.insert("currency".into(), json!(currency));
    values.insert("net_minor".into(), json!(net));
    values.insert("tax_minor".into(), json!(tax));
    values.insert("total_minor".into(), json!(net + tax));
    values.insert("paid_minor".into(), json!(draft.paid_minor));
    values.insert(
        "lines".into(),
        serde_json::to_value(&draft.lines).map_err(|e| Error::Data(e.to_string()))?,
    );
    values.insert(
        "taxes".into(),
        serde_json::to_value(&draft.taxes).map_err(|e| Error::Data(e.to_string()))?,
    );
    values.insert("issued_on".into(), json!(issued_on.to_string()));
    values.insert("issued_by".into(), json!(draft.issued_by));
    outbox::write(conn, "guest_invoices", PushOp::Insert, id, values)?;
    get(conn, id)
}

/// The lines (charges and adjustments) and the taxes per rate of some entries.
pub fn lines_and_taxes(entries: &[&Entry]) -> (Vec<Line>, Vec<TaxLine>) {
    let mut lines = Vec::new();
    let mut taxes: BTreeMap<(String, Option<i64>), TaxLine> = BTreeMap::new();
    let charge_of: BTreeMap<&str, &Entry> = entries.iter().map(|e| (e.id.as_str(), *e)).collect();
    for entry in entries {
        let is_tax = entry.kind == "tax"
            || (entry.kind == "adjustment"
                && matches!(entry.charge_type.as_deref(), Some("vat" | "city_tax")));
        if is_tax {
            let name = match entry.charge_type.as_deref() {
                Some("city_tax") => "City tax".to_owned(),
                _ => format!("VAT {}", folio::percent(entry.tax_rate_bp.unwrap_or(0))),
            };
            let tax = taxes
                .entry((name.clone(), entry.tax_rate_bp))
                .or_insert(TaxLine {
                    entry_ids: Vec::new(),
                    name,
                    rate_bp: entry.tax_rate_bp,
                    base_minor: 0,
                    tax_minor: 0,
                });
            tax.entry_ids.push(entry.id.clone());
            tax.tax_minor += entry.amount_minor;
            if entry.charge_type.as_deref() == Some("vat") && entry.kind == "tax" {
                if let Some(charge) = entry
                    .applies_to_entry_id
                    .as_deref()
                    .and_then(|id| charge_of.get(id))
                {
                    tax.base_minor += charge.amount_minor;
                }
            }
        } else if matches!(entry.kind.as_str(), "charge" | "adjustment") {
            let quantity = entry.quantity.max(1);
            lines.push(Line {
                entry_id: entry.id.clone(),
                date: entry.business_date.clone(),
                description: entry
                    .description
                    .clone()
                    .unwrap_or_else(|| entry.kind.clone()),
                quantity,
                unit_price_minor: entry.amount_minor / quantity,
                amount_minor: entry.amount_minor,
                charge_type: entry.charge_type.clone(),
            });
        }
    }
    (lines, taxes.into_values().collect())
}

/// One invoice of the mirror.
pub fn get(conn: &Connection, id: Uuid) -> Result<GuestInvoice> {
    let row = mirror::read(conn, "guest_invoices", &id.to_string())?
        .ok_or_else(|| Error::Data(format!("no guest invoice {id} on this laptop")))?;
    from_row(conn, &row)
}

/// The stay's invoices and credit notes, oldest first.
pub fn of_stay(conn: &Connection, reservation_id: Uuid) -> Result<Vec<GuestInvoice>> {
    let ids: Vec<String> = {
        let mut statement = conn.prepare_cached(
            "select id from guest_invoices where reservation_id = ?1 order by created_at, id",
        )?;
        let rows = statement.query_map([reservation_id.to_string()], |r| r.get(0))?;
        rows.collect::<std::result::Result<_, _>>()?
    };
    ids.iter()
        .map(|id| {
            let row = mirror::read(conn, "guest_invoices", id)?
                .ok_or_else(|| Error::Data(format!("guest invoice {id} vanished")))?;
            from_row(conn, &row)
        })
        .collect()
}

fn from_row(conn: &Connection, row: &Map<String, Value>) -> Result<GuestInvoice> {
    let text = |key: &str| {
        row.get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let int = |key: &str| row.get(key).and_then(Value::as_i64).unwrap_or_default();
    let series_id = text("series_id");
    let prefix: String = conn
        .query_row(
            "select prefix from guest_invoice_series where id = ?1",
            [&series_id],
            |r| r.get(0),
        )
        .optional()?
        .unwrap_or_else(|| "?".to_owned());
    let parse = |key: &str| -> Result<Value> {
        match row.get(key) {
            Some(Value::String(json)) => {
                serde_json::from_str(json).map_err(|e| Error::Data(e.to_string()))
            }
            Some(other) => Ok(other.clone()),
            None => Ok(Value::Array(Vec::new())),
        }
    };
    let number = int("number");
    Ok(GuestInvoice {
        id: text("id"),
        kind: text("kind"),
        number_label: number_label(&prefix, number),
        series_prefix: prefix,
        number,
        folio_id: text("folio_id"),
        reservation_id: text("reservation_id"),
        property_id: text("property_id"),
        bill_to: text("bill_to"),
        issued_on: text("issued_on"),
        currency: text("currency"),
        net_minor: int("net_minor"),
        tax_minor: int("tax_minor"),
        total_minor: int("total_minor"),
        paid_minor: int("paid_minor"),
        corrects_invoice_id: row
            .get("corrects_invoice_id")
            .and_then(Value::as_str)
            .map(str::to_owned),
        lines: serde_json::from_value(parse("lines")?).map_err(|e| Error::Data(e.to_string()))?,
        taxes: serde_json::from_value(parse("taxes")?).map_err(|e| Error::Data(e.to_string()))?,
    })
}

/// The number a series has reached on this laptop (for tests and the desk's status).
pub fn last_number(conn: &Connection, series_id: &str) -> Result<i64> {
    Ok(conn.query_row(
        "select coalesce(max(number), 0) from guest_invoices where series_id = ?1",
        params![series_id],
        |r| r.get(0),
    )?)
}

/// The property's legal name and address lines, as the `properties` row holds them.
type PropertyAddressColumns = (
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// The invoice as its PDF shows it: the property's details, whom it bills, the stay, the lines,
/// taxes per rate and totals as issued (an issued invoice renders the same whenever it is opened).
pub fn document(
    conn: &Connection,
    invoice: &GuestInvoice,
) -> Result<crate::guest_invoice_pdf::InvoiceDocument> {
    use crate::guest_invoice_pdf as pdf;
    let date = |text: &str| crate::business_day::parse_date(text);
    let (name, line1, line2, city, postal_code, country): PropertyAddressColumns = conn
        .query_row(
            "select name, address_line1, address_line2, city, postal_code, country_code
               from properties where id = ?1",
            [&invoice.property_id],
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
        .optional()?
        .unwrap_or_default();
    let town = [postal_code, city]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    let address_lines = [line1, line2, Some(town), country]
        .into_iter()
        .flatten()
        .filter(|line| !line.trim().is_empty())
        .collect();
    let stay: Option<(String, String, Option<String>, Option<String>)> = conn
        .query_row(
            "select r.check_in_date, r.check_out_date, rm.number, r.guest_name
               from reservations r left join rooms rm on rm.id = r.room_id where r.id = ?1",
            [&invoice.reservation_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?;
    let stay = match stay {
        Some((arrival, departure, room, guest_name)) => Some(pdf::StayBlock {
            arrival: date(&arrival)?,
            departure: date(&departure)?,
            room,
            guest_name,
        }),
        None => None,
    };
    let corrects = match &invoice.corrects_invoice_id {
        Some(id) => Some(
            get(
                conn,
                Uuid::parse_str(id).map_err(|e| Error::Data(format!("invoice {id}: {e}")))?,
            )?
            .number_label,
        ),
        None => None,
    };
    let lines = invoice
        .lines
        .iter()
        .map(|line| {
            Ok(pdf::Line {
                date: date(&line.date)?,
                description: line.description.clone(),
                quantity: line.quantity,
                unit_price_minor: line.unit_price_minor,
                amount_minor: line.amount_minor,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(pdf::InvoiceDocument {
        kind: if invoice.kind == "credit_note" {
            pdf::DocumentKind::CreditNote
        } else {
            pdf::DocumentKind::Invoice
        },
        number_label: invoice.number_label.clone(),
        issued_on: date(&invoice.issued_on)?,
        property: pdf::PartyBlock {
            name: name.unwrap_or_else(|| "Hotel".to_owned()),
            address_lines,
            tax_id: None,
        },
        bill_to: pdf::PartyBlock {
            name: invoice.bill_to.clone(),
            address_lines: Vec::new(),
            tax_id: None,
        },
        stay,
        currency: invoice.currency.clone(),
        minor_digits: pms_sync_protocol::money::minor_digits(&invoice.currency).unwrap_or(2),
        lines,
        taxes: invoice
            .taxes
            .iter()
            .map(|tax| pdf::TaxLine {
                label: tax.name.clone(),
                net_minor: tax.rate_bp.map(|_| tax.base_minor),
                tax_minor: tax.tax_minor,
            })
            .collect(),
        net_minor: invoice.net_minor,
        tax_minor: invoice.tax_minor,
        total_minor: invoice.total_minor,
        payments: Vec::new(),
        paid_minor: invoice.paid_minor,
        balance_minor: invoice.total_minor - invoice.paid_minor,
        corrects,
    })
}

/// The invoice's PDF, written (again, the same bytes) into `folder` as `<number>.pdf`. Returns
/// its path.
pub fn save_pdf(
    conn: &Connection,
    invoice: &GuestInvoice,
    folder: &std::path::Path,
) -> Result<std::path::PathBuf> {
    let bytes = crate::guest_invoice_pdf::render(&document(conn, invoice)?)
        .map_err(|e| Error::Data(format!("invoice {}: {e}", invoice.number_label)))?;
    std::fs::create_dir_all(folder)
        .map_err(|e| Error::Data(format!("cannot create {}: {e}", folder.display())))?;
    let path = folder.join(format!("{}.pdf", invoice.number_label));
    std::fs::write(&path, bytes)
        .map_err(|e| Error::Data(format!("cannot write {}: {e}", path.display())))?;
    Ok(path)
}
