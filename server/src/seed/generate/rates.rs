//! What a night costs and the desk's day (issue 17, second slice): a rate plan per room type with
//! a summer and a weekend season, each property's taxes (VAT on rooms, VAT on everything else, a
//! city tax children are exempt from) and charge items, every stay's nightly prices, the night
//! audits of the last weeks, and guest invoices for the stays that left in the last days,
//! numbered 1..n in the central office's series.
//!
//! Invoiced stays get what the night audit would have posted on their folio (a room charge per
//! night, its VAT and city tax, ids as the desk derives them), and their invoice freezes those
//! entries as lines and taxes. Every id here is derived (UUIDv5), so no draw of the seeded RNG
//! moves and the rows before these stay what they were.

use std::collections::HashMap;

use pms_sync_protocol::derived::{
    guest_folio_id, night_audit_id, room_charge_id, stay_night_id, tax_entry_id, NAMESPACE,
};
use pms_sync_protocol::money::{apply_vat, city_tax};

use super::*;

/// VAT on rooms, included in the price (basis points).
const ROOM_VAT_BP: i64 = 600;
/// VAT on everything else, included in the price.
const OTHER_VAT_BP: i64 = 2300;
/// City tax per person and night, in minor units.
const CITY_TAX_MINOR: i64 = 200;
/// Guests under this age (a booking's children) pay no city tax.
const CITY_TAX_EXEMPT_UNDER: i64 = 13;
/// Business dates closed by a night audit, up to yesterday (today is the open one).
const AUDITED_DAYS: u64 = 30;
/// Stays that checked out in this many last days have their guest invoice.
const INVOICED_DAYS: u64 = 7;
/// The currency stays are booked in (see `stays`).
const STAY_CURRENCY: &str = "EUR";

pub(super) struct DeskDay {
    /// In foreign-key order.
    pub(super) tables: Vec<CopyTable>,
}

fn seed_id(what: &str) -> Uuid {
    Uuid::new_v5(&NAMESPACE, format!("seed/{what}").as_bytes())
}

/// The id given to the invoice series the database made for a laptop.
pub(super) fn device_series_id(device: Uuid) -> Uuid {
    seed_id(&format!("guest_invoice_series/device/{device}"))
}

fn central_series_id(tenant: Uuid) -> Uuid {
    seed_id(&format!("guest_invoice_series/central/{tenant}"))
}

/// A property's taxes' ids: (VAT on rooms, VAT on the rest, city tax).
fn tax_ids(property: Uuid) -> (Uuid, Uuid, Uuid) {
    (
        seed_id(&format!("property_taxes/{property}/vat_room")),
        seed_id(&format!("property_taxes/{property}/vat")),
        seed_id(&format!("property_taxes/{property}/city_tax")),
    )
}

/// A price rounded to whole units of the currency.
fn round_units(minor: i64) -> i64 {
    (minor + 50) / 100 * 100
}

fn stay_name(guests: &[Guest], stay: &Stay) -> String {
    let name = match stay.guest {
        Some(gi) => full_name(&guests[gi]),
        None => "Group booking".to_owned(),
    };
    if name.is_empty() {
        "Walk-in guest".to_owned()
    } else {
        name
    }
}

fn nights_of(stay: &Stay) -> impl Iterator<Item = NaiveDate> {
    let check_in = stay.check_in;
    let nights = (stay.check_out - stay.check_in).num_days().max(0) as u64;
    (0..nights).map(move |n| check_in + Days::new(n))
}

pub(super) fn desk_day(
    g: &Gen,
    properties: &[Property],
    room_types: &[RoomType],
    guests: &[Guest],
    stays: &[Stay],
    desk: &[Uuid],
) -> DeskDay {
    let tenant = g.tenant_id;
    let currency_of: HashMap<Uuid, &str> = properties.iter().map(|p| (p.id, p.currency)).collect();
    let created_of: HashMap<Uuid, DateTime<Utc>> =
        properties.iter().map(|p| (p.id, p.created)).collect();
    let desk_user = |n: usize| desk.get(n % desk.len().max(1)).copied();

    // Rate plans: one per room type at its base rate, a summer season and a weekend season.
    let mut plans = CopyTable::new(
        "rate_plans",
        &[
            "tenant_id",
            "id",
            "property_id",
            "room_type_id",
            "name",
            "currency",
            "base_price_minor",
            "active",
            "created_at",
            "updated_at",
        ],
    );
    let mut prices = CopyTable::new(
        "rate_plan_prices",
        &[
            "tenant_id",
            "id",
            "rate_plan_id",
            "name",
            "starts_on",
            "ends_on",
            "weekdays",
            "price_minor",
            "created_at",
            "updated_at",
        ],
    );
    let summer_start = NaiveDate::from_ymd_opt(g.today.year(), 6, 1).unwrap_or(g.today);
    let summer_end = NaiveDate::from_ymd_opt(g.today.year(), 8, 31).unwrap_or(g.today);
    let plan_ids: Vec<Uuid> = room_types
        .iter()
        .map(|rt| seed_id(&format!("rate_plans/{}", rt.id)))
        .collect();
    for (rt, &plan_id) in room_types.iter().zip(&plan_ids) {
        let currency = currency_of.get(&rt.property_id).copied().unwrap_or("EUR");
        let created = created_of.get(&rt.property_id).copied().unwrap_or(g.now);
        plans
            .row()
            .uuid(tenant)
            .uuid(plan_id)
            .uuid(rt.property_id)
            .uuid(rt.id)
            .text("Best available rate")
            .text(currency)
            .int(rt.rate_cents)
            .bool(true)
            .timestamp(created)
            .timestamp(created)
            .end();
        let seasons = [
            (
                "Summer",
                summer_start,
                summer_end,
                127,
                round_units(rt.rate_cents * 120 / 100),
            ),
            (
                "Weekend",
                g.today - Days::new(HISTORY_DAYS),
                g.today + Days::new(FUTURE_DAYS),
                // Friday and Saturday nights (bit 0 = Monday)
                (1 << 4) | (1 << 5),
                round_units(rt.rate_cents * 110 / 100),
            ),
        ];
        for (name, starts, ends, weekdays, price) in seasons {
            prices
                .row()
                .uuid(tenant)
                .uuid(seed_id(&format!("rate_plan_prices/{plan_id}/{name}")))
                .uuid(plan_id)
                .text(name)
                .date(starts)
                .date(ends)
                .int(weekdays)
                .int(price)
                .timestamp(created)
                .timestamp(created)
                .end();
        }
    }

    // Taxes and charge items per property.
    let mut taxes = CopyTable::new(
        "property_taxes",
        &[
            "tenant_id",
            "id",
            "property_id",
            "name",
            "kind",
            "charge_type",
            "rate_bp",
            "included",
            "amount_minor",
            "exempt_under_age",
            "active",
            "created_at",
            "updated_at",
        ],
    );
    let mut items = CopyTable::new(
        "charge_items",
        &[
            "tenant_id",
            "id",
            "property_id",
            "name",
            "charge_type",
            "price_minor",
            "currency",
            "active",
            "created_at",
            "updated_at",
        ],
    );
    for property in properties {
        let (room_vat, other_vat, city) = tax_ids(property.id);
        let created = property.created;
        let vats = [
            (room_vat, "VAT (rooms)", Some("room"), ROOM_VAT_BP),
            (other_vat, "VAT", None, OTHER_VAT_BP),
        ];
        for (id, name, charge_type, rate) in vats {
            taxes
                .row()
                .uuid(tenant)
                .uuid(id)
                .uuid(property.id)
                .text(name)
                .text("vat")
                .opt_text(charge_type)
                .int(rate)
                .bool(true)
                .null()
                .null()
                .bool(true)
                .timestamp(created)
                .timestamp(created)
                .end();
        }
        taxes
            .row()
            .uuid(tenant)
            .uuid(city)
            .uuid(property.id)
            .text("City tax")
            .text("city_tax")
            .null()
            .null()
            .bool(false)
            .int(CITY_TAX_MINOR)
            .int(CITY_TAX_EXEMPT_UNDER)
            .bool(true)
            .timestamp(created)
            .timestamp(created)
            .end();
        for (name, charge_type, price) in [
            ("Breakfast", "food", 1_500),
            ("Minibar", "minibar", 800),
            ("Parking, per night", "parking", 2_000),
        ] {
            items
                .row()
                .uuid(tenant)
                .uuid(seed_id(&format!(
                    "charge_items/{}/{charge_type}",
                    property.id
                )))
                .uuid(property.id)
                .text(name)
                .text(charge_type)
                .int(price)
                .text(property.currency)
                .bool(true)
                .timestamp(created)
                .timestamp(created)
                .end();
        }
    }

    // Every stay's nights at the price it was booked at.
    let mut nights = CopyTable::new(
        "reservation_nights",
        &[
            "tenant_id",
            "id",
            "reservation_id",
            "night",
            "price_minor",
            "currency",
            "rate_plan_id",
            "created_at",
            "updated_at",
        ],
    );
    for stay in stays {
        // the plan prices it when its currency is the stay's
        let plan = (currency_of.get(&stay.property_id).copied() == Some(STAY_CURRENCY))
            .then(|| plan_ids[stay.room_type]);
        for night in nights_of(stay) {
            nights
                .row()
                .uuid(tenant)
                .uuid(stay_night_id(stay.id, night))
                .uuid(stay.id)
                .date(night)
                .int(stay.rate_cents)
                .text(STAY_CURRENCY)
                .opt_uuid(plan)
                .timestamp(stay.created_at)
                .timestamp(stay.created_at)
                .end();
        }
    }

    // Night audits of the last weeks: rooms sold (stays in house that night) and no-shows.
    let first_audited = g.today - Days::new(AUDITED_DAYS);
    let mut sold: HashMap<(Uuid, NaiveDate), (i64, i64)> = HashMap::new();
    for stay in stays {
        match stay.status {
            "checked_in" | "checked_out" => {
                for night in nights_of(stay).filter(|n| *n >= first_audited && *n < g.today) {
                    sold.entry((stay.property_id, night)).or_default().0 += 1;
                }
            }
            "no_show" if stay.check_in >= first_audited && stay.check_in < g.today => {
                sold.entry((stay.property_id, stay.check_in)).or_default().1 += 1;
            }
            _ => {}
        }
    }
    let mut audits = CopyTable::new(
        "night_audits",
        &[
            "tenant_id",
            "id",
            "property_id",
            "business_date",
            "rooms_sold",
            "no_shows",
            "closed_by",
            "created_by",
            "created_at",
            "updated_at",
        ],
    );
    for property in properties {
        for n in 0..AUDITED_DAYS {
            let date = first_audited + Days::new(n);
            let (rooms_sold, no_shows) =
                sold.get(&(property.id, date)).copied().unwrap_or_default();
            let by = desk_user(n as usize);
            let at = g.at(date + Days::new(1), 2, 5);
            audits
                .row()
                .uuid(tenant)
                .uuid(night_audit_id(property.id, date))
                .uuid(property.id)
                .date(date)
                .int(rooms_sold)
                .int(no_shows)
                .opt_uuid(by)
                .opt_uuid(by)
                .timestamp(at)
                .timestamp(at)
                .end();
        }
    }

    // The central office's invoice series (the laptops' are made by the database).
    let series_id = central_series_id(tenant);
    let series_created = properties.first().map_or(g.now, |p| p.created);
    let mut series = CopyTable::new(
        "guest_invoice_series",
        &[
            "tenant_id",
            "id",
            "device_id",
            "prefix",
            "created_at",
            "updated_at",
        ],
    );
    series
        .row()
        .uuid(tenant)
        .uuid(series_id)
        .null()
        .text("C1")
        .timestamp(series_created)
        .timestamp(series_created)
        .end();

    // Guest invoices for the stays that left in the last days, in the order they left, with the
    // entries the night audit posted on their folios.
    let mut invoiced: Vec<&Stay> = stays
        .iter()
        .filter(|s| {
            s.status == "checked_out"
                && s.checked_out_at.is_some()
                && s.check_out + Days::new(INVOICED_DAYS) >= g.today
                && s.check_in >= first_audited
        })
        .collect();
    invoiced.sort_by_key(|s| (s.checked_out_at, s.id));
    let mut entries = CopyTable::new(
        "folio_entries",
        &[
            "tenant_id",
            "id",
            "folio_id",
            "reservation_id",
            "kind",
            "amount_minor",
            "currency",
            "business_date",
            "description",
            "charge_type",
            "quantity",
            "applies_to_entry_id",
            "tax_rate_bp",
            "created_by",
            "created_at",
            "updated_at",
        ],
    );
    let mut invoices = CopyTable::new(
        "guest_invoices",
        &[
            "tenant_id",
            "id",
            "series_id",
            "number",
            "kind",
            "property_id",
            "reservation_id",
            "folio_id",
            "bill_to",
            "currency",
            "net_minor",
            "tax_minor",
            "total_minor",
            "paid_minor",
            "lines",
            "taxes",
            "issued_on",
            "issued_by",
            "created_at",
            "updated_at",
        ],
    );
    for (n, stay) in invoiced.iter().enumerate() {
        let folio_id = guest_folio_id(stay.id);
        let (room_vat, _, city) = tax_ids(stay.property_id);
        let by = desk_user(n);
        let mut lines = Vec::new();
        let (mut vat_ids, mut city_ids) = (Vec::new(), Vec::new());
        let (mut net, mut vat, mut city_total) = (0, 0, 0);
        let mut entry = |id: Uuid,
                         kind: &str,
                         amount: i64,
                         night: NaiveDate,
                         description: &str,
                         charge_type: &str,
                         applies_to: Option<Uuid>,
                         rate_bp: Option<i64>| {
            let at = g.at(night + Days::new(1), 2, 5);
            entries
                .row()
                .uuid(tenant)
                .uuid(id)
                .uuid(folio_id)
                .uuid(stay.id)
                .text(kind)
                .int(amount)
                .text(STAY_CURRENCY)
                .date(night)
                .text(description)
                .text(charge_type)
                .int(1)
                .opt_uuid(applies_to)
                .opt_int(rate_bp)
                .opt_uuid(by)
                .timestamp(at)
                .timestamp(at)
                .end();
        };
        for night in nights_of(stay) {
            let charge = room_charge_id(stay.id, night);
            let taxed = apply_vat(stay.rate_cents, ROOM_VAT_BP, true);
            let description = format!("Room, night of {night}");
            entry(
                charge,
                "charge",
                taxed.net_minor,
                night,
                &description,
                "room",
                None,
                None,
            );
            lines.push(json!({
                "entry_id": charge.to_string(),
                "date": night.to_string(),
                "description": description,
                "quantity": 1,
                "unit_price_minor": taxed.net_minor,
                "amount_minor": taxed.net_minor,
                "charge_type": "room",
            }));
            net += taxed.net_minor;
            if taxed.tax_minor > 0 {
                let id = tax_entry_id(charge, room_vat);
                entry(
                    id,
                    "tax",
                    taxed.tax_minor,
                    night,
                    "VAT (rooms) 6%",
                    "vat",
                    Some(charge),
                    Some(ROOM_VAT_BP),
                );
                vat_ids.push(id.to_string());
                vat += taxed.tax_minor;
            }
            let city_amount = city_tax(CITY_TAX_MINOR, stay.adults, stay.children, true);
            if city_amount > 0 {
                let id = tax_entry_id(charge, city);
                entry(
                    id,
                    "tax",
                    city_amount,
                    night,
                    &format!("City tax, night of {night}"),
                    "city_tax",
                    Some(charge),
                    None,
                );
                city_ids.push(id.to_string());
                city_total += city_amount;
            }
        }
        let mut tax_lines = Vec::new();
        if !city_ids.is_empty() {
            tax_lines.push(json!({
                "entry_ids": city_ids,
                "name": "City tax",
                "rate_bp": null,
                "base_minor": 0,
                "tax_minor": city_total,
            }));
        }
        if !vat_ids.is_empty() {
            tax_lines.push(json!({
                "entry_ids": vat_ids,
                "name": "VAT 6%",
                "rate_bp": ROOM_VAT_BP,
                "base_minor": net,
                "tax_minor": vat,
            }));
        }
        let tax = vat + city_total;
        let issued_at = stay.checked_out_at.unwrap_or(g.now);
        invoices
            .row()
            .uuid(tenant)
            .uuid(seed_id(&format!("guest_invoices/{}", stay.id)))
            .uuid(series_id)
            .int(n as i64 + 1)
            .text("invoice")
            .uuid(stay.property_id)
            .uuid(stay.id)
            .uuid(folio_id)
            .text(&stay_name(guests, stay))
            .text(STAY_CURRENCY)
            .int(net)
            .int(tax)
            .int(net + tax)
            .int(stay.deposit_cents)
            .json(&serde_json::Value::Array(lines))
            .json(&serde_json::Value::Array(tax_lines))
            .date(issued_at.date_naive())
            .opt_uuid(by)
            .timestamp(issued_at)
            .timestamp(issued_at)
            .end();
    }

    DeskDay {
        tables: vec![
            plans, prices, taxes, items, nights, audits, series, entries, invoices,
        ],
    }
}
