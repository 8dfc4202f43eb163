//! The folio panel, the night audit and guest invoices: thin commands over the domain in
//! `pms_sync_client::{folio, night_audit, guest_invoice, business_day}`.

use crate::session_store;
use chrono::{DateTime, Utc};
use pms_sync_client::folio::{self as ledger, Balance, Charge, Entry, Folio};
use pms_sync_client::{business_day, guest_invoice, night_audit};
use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use tauri::State;
use uuid::Uuid;

use crate::db;
use crate::error::{AppError, AppResult, CmdResult};
use crate::state::Desk;

/// A folio of the stay and its balance.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct FolioWithBalance {
    #[serde(flatten)]
    pub folio: Folio,
    pub balance: Balance,
}

/// A stay's folios, their entries and the stay's balance, as the folio panel shows them.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct StayFolio {
    pub currency: String,
    pub folios: Vec<FolioWithBalance>,
    pub entries: Vec<Entry>,
    pub balance: Balance,
}

pub fn stay_folio(conn: &Connection, reservation_id: &str) -> AppResult<StayFolio> {
    let id = db::parse_id("reservation_id", reservation_id)?;
    let currency: String = conn
        .query_row(
            "select coalesce(currency, 'USD') from reservations where id = ?1",
            [reservation_id],
            |r| r.get(0),
        )
        .map_err(|_| AppError::not_found("The booking"))?;
    let entries = ledger::entries(conn, id)?;
    let folios = ledger::folios(conn, id)?
        .into_iter()
        .map(|folio| FolioWithBalance {
            balance: ledger::balance_of(
                ledger::counted(&entries).filter(|e| e.folio_id == folio.id),
            ),
            folio,
        })
        .collect();
    Ok(StayFolio {
        currency,
        folios,
        balance: ledger::balance_of(ledger::counted(&entries)),
        entries,
    })
}

fn optional_id(field: &str, text: &Option<String>) -> AppResult<Option<Uuid>> {
    db::optional_text(text)
        .map(|id| db::parse_id(field, &id))
        .transpose()
}

#[derive(Debug, Clone, Deserialize)]
pub struct NewCharge {
    pub reservation_id: String,
    #[serde(default)]
    pub folio_id: Option<String>,
    #[serde(default)]
    pub charge_item_id: Option<String>,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub unit_price_minor: Option<i64>,
    #[serde(default)]
    pub quantity: Option<i64>,
    #[serde(default)]
    pub charge_type: Option<String>,
}

/// Posts an extra: an item of the property's list (its name, type and price unless the clerk
/// typed others) or a free charge.
pub fn post_extra(
    conn: &mut Connection,
    input: &NewCharge,
    by: Option<Uuid>,
) -> AppResult<StayFolio> {
    let reservation = db::parse_id("reservation_id", &input.reservation_id)?;
    let item: Option<(String, String, i64)> = match db::optional_text(&input.charge_item_id) {
        Some(item) => Some(
            conn.query_row(
                "select name, charge_type, price_minor from charge_items where id = ?1",
                [&item],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .map_err(|_| AppError::not_found("The charge item"))?,
        ),
        None => None,
    };
    let description = match (input.description.trim(), &item) {
        ("", Some((name, _, _))) => name.clone(),
        (typed, _) => typed.to_owned(),
    };
    let charge_type = db::optional_text(&input.charge_type)
        .or_else(|| item.as_ref().map(|(_, t, _)| t.clone()))
        .unwrap_or_else(|| "other".to_owned());
    let price = input
        .unit_price_minor
        .or_else(|| item.as_ref().map(|(_, _, p)| *p))
        .unwrap_or(0);
    ledger::post_charge(
        conn,
        &Charge {
            reservation_id: reservation,
            folio_id: optional_id("folio_id", &input.folio_id)?,
            description: &description,
            unit_price_minor: price,
            quantity: input.quantity.unwrap_or(1),
            charge_type: &charge_type,
            created_by: by,
            ..Charge::default()
        },
    )?;
    stay_folio(conn, &input.reservation_id)
}

#[derive(Debug, Clone, Deserialize)]
pub struct MoneyMove {
    pub reservation_id: String,
    #[serde(default)]
    pub folio_id: Option<String>,
    #[serde(alias = "amount_cents")]
    pub amount_minor: i64,
    pub method: String,
    /// The payment provider's or bank's reference (never a card number).
    #[serde(default)]
    pub reference: Option<String>,
}

/// Takes a payment (or gives a refund): an entry on a folio of the stay, so two desks taking
/// payments offline both count.
pub fn take_money(
    conn: &mut Connection,
    input: &MoneyMove,
    refund: bool,
    by: Option<Uuid>,
) -> AppResult<StayFolio> {
    let reservation = db::parse_id("reservation_id", &input.reservation_id)?;
    ledger::take_payment(
        conn,
        &ledger::Payment {
            reservation_id: reservation,
            folio_id: optional_id("folio_id", &input.folio_id)?,
            amount_minor: input.amount_minor,
            method: &input.method,
            reference: input.reference.as_deref(),
            refund,
            created_by: by,
            ..Default::default()
        },
    )
    .map_err(|error| match error {
        pms_sync_client::Error::StayNotPayable { status } => AppError::InvalidTransition {
            from: super::reservations::status_label(&status).to_owned(),
            action: "paid".to_owned(),
        },
        other => other.into(),
    })?;
    stay_folio(conn, &input.reservation_id)
}

/// The property's charge items, for the "post extra" list.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct ChargeItem {
    pub id: String,
    pub name: String,
    pub charge_type: String,
    pub price_minor: i64,
    pub currency: String,
}

pub fn charge_items(conn: &Connection) -> AppResult<Vec<ChargeItem>> {
    let property = db::property(conn)?;
    let mut statement = conn.prepare_cached(
        "select id, name, charge_type, price_minor, currency from charge_items
          where property_id = ?1 and coalesce(active, 1) = 1 order by name",
    )?;
    let rows = statement.query_map([&property.id], |r| {
        Ok(ChargeItem {
            id: r.get(0)?,
            name: r.get(1)?,
            charge_type: r.get(2)?,
            price_minor: r.get(3)?,
            currency: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The property's business day now.
pub fn business_day_now(
    conn: &Connection,
    now: DateTime<Utc>,
) -> AppResult<business_day::BusinessDay> {
    let property = db::property(conn)?;
    let id = db::parse_id("property_id", &property.id)?;
    Ok(business_day::current(conn, id, now)?)
}

/// Runs the night audit of the desk's property (a manager's or owner's job; the front desk may
/// run it too when it falls due, as the desk does by itself).
pub fn audit(conn: &mut Connection, now: DateTime<Utc>) -> AppResult<night_audit::DaySummary> {
    let property = db::property(conn)?;
    let id = db::parse_id("property_id", &property.id)?;
    night_audit::run(conn, id, now, None).map_err(|error| match error {
        pms_sync_client::Error::Invalid { message, .. } => AppError::AuditNotDue { message },
        other => other.into(),
    })
}

/// This laptop's device, for its invoice series (none: a local hotel).
fn device_id(desk: &Desk) -> AppResult<Option<Uuid>> {
    Ok(session_store::load(&desk.database_path())?.map(|s| s.device_id))
}

#[tauri::command(rename_all = "snake_case")]
pub async fn get_folio(desk: State<'_, Desk>, reservation_id: String) -> CmdResult<StayFolio> {
    Ok(stay_folio(&desk.conn(), &reservation_id)?)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn post_charge(desk: State<'_, Desk>, charge: NewCharge) -> CmdResult<StayFolio> {
    let folio = post_extra(&mut desk.conn(), &charge, desk.staff_id())?;
    desk.changed();
    Ok(folio)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn record_payment(desk: State<'_, Desk>, payment: MoneyMove) -> CmdResult<StayFolio> {
    let folio = take_money(&mut desk.conn(), &payment, false, desk.staff_id())?;
    desk.changed();
    Ok(folio)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn record_refund(desk: State<'_, Desk>, refund: MoneyMove) -> CmdResult<StayFolio> {
    let folio = take_money(&mut desk.conn(), &refund, true, desk.staff_id())?;
    desk.changed();
    Ok(folio)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn void_folio_entry(
    desk: State<'_, Desk>,
    reservation_id: String,
    entry_id: String,
    reason: String,
) -> CmdResult<StayFolio> {
    let mut conn = desk.conn();
    let stay = db::parse_id("reservation_id", &reservation_id)?;
    let entry = db::parse_id("entry_id", &entry_id)?;
    ledger::void_entry(&mut conn, stay, entry, &reason, desk.staff_id()).map_err(AppError::from)?;
    desk.changed();
    Ok(stay_folio(&conn, &reservation_id)?)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn open_company_folio(
    desk: State<'_, Desk>,
    reservation_id: String,
    name: String,
) -> CmdResult<StayFolio> {
    let mut conn = desk.conn();
    let stay = db::parse_id("reservation_id", &reservation_id)?;
    ledger::open_company_folio(&mut conn, stay, &name).map_err(AppError::from)?;
    desk.changed();
    Ok(stay_folio(&conn, &reservation_id)?)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn move_folio_entry(
    desk: State<'_, Desk>,
    reservation_id: String,
    entry_id: String,
    amount_minor: i64,
    to_folio_id: String,
) -> CmdResult<StayFolio> {
    let mut conn = desk.conn();
    let stay = db::parse_id("reservation_id", &reservation_id)?;
    let entry = db::parse_id("entry_id", &entry_id)?;
    let to = db::parse_id("to_folio_id", &to_folio_id)?;
    ledger::move_charge(&mut conn, stay, entry, amount_minor, to, desk.staff_id())
        .map_err(AppError::from)?;
    desk.changed();
    Ok(stay_folio(&conn, &reservation_id)?)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn list_charge_items(desk: State<'_, Desk>) -> CmdResult<Vec<ChargeItem>> {
    Ok(charge_items(&desk.conn())?)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn get_business_day(desk: State<'_, Desk>) -> CmdResult<business_day::BusinessDay> {
    Ok(business_day_now(&desk.conn(), desk.now())?)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn run_night_audit(desk: State<'_, Desk>) -> CmdResult<night_audit::DaySummary> {
    let summary = audit(&mut desk.conn(), desk.now())?;
    desk.changed();
    Ok(summary)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn issue_guest_invoice(
    desk: State<'_, Desk>,
    reservation_id: String,
    folio_id: Option<String>,
) -> CmdResult<guest_invoice::GuestInvoice> {
    let device = device_id(&desk)?;
    let mut conn = desk.conn();
    let stay = db::parse_id("reservation_id", &reservation_id)?;
    let folio = optional_id("folio_id", &folio_id)?;
    let invoice = guest_invoice::issue(&mut conn, stay, folio, device, desk.staff_id(), desk.now())
        .map_err(AppError::from)?;
    desk.changed();
    Ok(invoice)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn issue_credit_note(
    desk: State<'_, Desk>,
    invoice_id: String,
) -> CmdResult<guest_invoice::GuestInvoice> {
    let device = device_id(&desk)?;
    let mut conn = desk.conn();
    let invoice = db::parse_id("invoice_id", &invoice_id)?;
    let note = guest_invoice::credit(&mut conn, invoice, device, desk.staff_id(), desk.now())
        .map_err(AppError::from)?;
    desk.changed();
    Ok(note)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn list_guest_invoices(
    desk: State<'_, Desk>,
    reservation_id: String,
) -> CmdResult<Vec<guest_invoice::GuestInvoice>> {
    let stay = db::parse_id("reservation_id", &reservation_id)?;
    Ok(guest_invoice::of_stay(&desk.conn(), stay).map_err(AppError::from)?)
}

/// Writes the invoice's PDF into the data folder (`guest-invoices/`) and hands it to the system's
/// viewer. Returns its path, so the clerk can find it if no viewer opens (a kiosk, a test).
#[tauri::command(rename_all = "snake_case")]
pub async fn open_guest_invoice(desk: State<'_, Desk>, id: String) -> CmdResult<String> {
    let invoice_id = db::parse_id("id", &id)?;
    let path = {
        let conn = desk.conn();
        let invoice = guest_invoice::get(&conn, invoice_id).map_err(AppError::from)?;
        guest_invoice::save_pdf(&conn, &invoice, &desk.data_dir().join("guest-invoices"))
            .map_err(AppError::from)?
    };
    if std::env::var_os("PMS_NO_VIEWER").is_none() {
        // No viewer is no error: the PDF is saved and its path shown.
        let _ = open::that_detached(&path);
    }
    Ok(path.display().to_string())
}
