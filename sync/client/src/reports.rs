//! The owner's figures for a date range, computed on the mirror (so they work offline): rooms
//! sold, occupancy, ADR, RevPAR, room and other revenue, per night and in total, and their CSV.
//!
//! Definitions (the same as `tests/tests/reports.rs` computes in SQL on Postgres):
//! - **rooms sellable** on a night: the property's rooms (not deleted). Out of order is today's
//!   state only, with no history, so past nights would change with it; it is not subtracted,
//!   as the night audit does not.
//! - **rooms sold** on a night: the property's stays (one room each) confirmed, in the house or
//!   checked out whose nights include it (`check_in_date <= night < check_out_date`): what is on
//!   the books, past and future alike. Cancelled, no-show and pending stays are not sold.
//! - **room revenue** of a date: the room charges booked on that business date, a void taking
//!   its charge back; **other revenue**: every other charge and adjustment. Taxes are not
//!   revenue (a VAT-included price is counted as charged).
//! - **ADR** = room revenue / rooms sold; **RevPAR** = room revenue / rooms sellable; rounded
//!   half away from zero to the currency's minor unit. Occupancy in percent, one decimal.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use uuid::Uuid;

use crate::error::{Error, Result};

/// The longest range a report covers (a year and a day: a leap year's whole).
pub const MAX_DAYS: i64 = 366;

/// The statuses of a stay whose nights are sold.
const SOLD: &str = "('confirmed', 'checked_in', 'checked_out')";

#[derive(Debug, Clone, Default, PartialEq, Serialize, ts_rs::TS)]
#[ts(rename = "ReportFigures")]
pub struct Figures {
    pub rooms_sellable: i64,
    pub rooms_sold: i64,
    pub occupancy_percent: f64,
    pub room_revenue_minor: i64,
    pub other_revenue_minor: i64,
    pub adr_minor: i64,
    pub revpar_minor: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
pub struct ReportDay {
    pub date: NaiveDate,
    #[serde(flatten)]
    pub figures: Figures,
}

#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
pub struct Report {
    pub property_id: String,
    pub property_name: String,
    pub currency: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub days: Vec<ReportDay>,
    pub totals: Figures,
}

/// `amount / count` rounded half away from zero; 0 for no count.
fn per(amount: i64, count: i64) -> i64 {
    if count == 0 {
        return 0;
    }
    let (quotient, remainder) = (amount / count, amount % count);
    if remainder.abs() * 2 >= count.abs() {
        quotient + amount.signum() * count.signum()
    } else {
        quotient
    }
}

impl Figures {
    fn new(sellable: i64, sold: i64, room: i64, other: i64) -> Self {
        Self {
            rooms_sellable: sellable,
            rooms_sold: sold,
            occupancy_percent: per(sold * 1_000, sellable) as f64 / 10.0,
            room_revenue_minor: room,
            other_revenue_minor: other,
            adr_minor: per(room, sold),
            revpar_minor: per(room, sellable),
        }
    }
}

/// The figures of `property_id` for the nights and business dates `from..=to`.
pub fn report(
    conn: &Connection,
    property_id: Uuid,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Report> {
    let days = (to - from).num_days() + 1;
    if !(1..=MAX_DAYS).contains(&days) {
        return Err(Error::Invalid {
            field: "to",
            message: format!(
                "Choose an end date on or after the start, at most {MAX_DAYS} days later."
            ),
        });
    }
    let property = property_id.to_string();
    let (property_name, currency): (String, String) = conn
        .query_row(
            "select coalesce(name, ''), coalesce(currency, 'USD') from properties where id = ?1",
            [&property],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?
        .ok_or_else(|| Error::Data(format!("no property {property} on this laptop")))?;
    let sellable: i64 = conn.query_row(
        "select count(*) from rooms where property_id = ?1 and deleted_at is null",
        [&property],
        |r| r.get(0),
    )?;

    // Nights sold: each stay overlapping the range adds one to each of its nights in it.
    let mut sold: BTreeMap<NaiveDate, i64> = BTreeMap::new();
    let mut statement = conn.prepare_cached(&format!(
        "select check_in_date, check_out_date from reservations
          where property_id = ?1 and deleted_at is null and status in {SOLD}
            and check_in_date <= ?3 and check_out_date > ?2"
    ))?;
    let stays = statement.query_map(params![property, from.to_string(), to.to_string()], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
    })?;
    for stay in stays {
        let (arrival, departure) = stay?;
        let (Ok(arrival), Ok(departure)) =
            (arrival.parse::<NaiveDate>(), departure.parse::<NaiveDate>())
        else {
            continue;
        };
        let mut night: NaiveDate = arrival.max(from);
        while night < departure && night <= to {
            *sold.entry(night).or_default() += 1;
            night = night.succ_opt().unwrap_or(departure);
        }
    }

    // Revenue by business date: room charges apart from the rest; voids take theirs back.
    let mut revenue: BTreeMap<NaiveDate, (i64, i64)> = BTreeMap::new();
    let mut statement = conn.prepare_cached(
        "select e.business_date, coalesce(e.charge_type, 'other') = 'room',
                sum(case when e.voids_entry_id is null then e.amount_minor else -e.amount_minor end)
           from folio_entries e join folios f on f.id = e.folio_id
          where f.property_id = ?1 and e.kind in ('charge', 'adjustment')
            and e.business_date between ?2 and ?3
          group by 1, 2",
    )?;
    let rows = statement.query_map(params![property, from.to_string(), to.to_string()], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, bool>(1)?,
            r.get::<_, i64>(2)?,
        ))
    })?;
    for row in rows {
        let (date, room, amount) = row?;
        let Ok(date) = date.parse::<NaiveDate>() else {
            continue;
        };
        let day = revenue.entry(date).or_default();
        if room {
            day.0 += amount;
        } else {
            day.1 += amount;
        }
    }

    let days: Vec<ReportDay> = from
        .iter_days()
        .take_while(|date| *date <= to)
        .map(|date| {
            let (room, other) = revenue.get(&date).copied().unwrap_or_default();
            ReportDay {
                date,
                figures: Figures::new(sellable, sold.get(&date).copied().unwrap_or(0), room, other),
            }
        })
        .collect();
    let sum = |f: fn(&Figures) -> i64| days.iter().map(|d| f(&d.figures)).sum::<i64>();
    let totals = Figures::new(
        sum(|f| f.rooms_sellable),
        sum(|f| f.rooms_sold),
        sum(|f| f.room_revenue_minor),
        sum(|f| f.other_revenue_minor),
    );
    Ok(Report {
        property_id: property,
        property_name,
        currency,
        from,
        to,
        days,
        totals,
    })
}

fn csv_error(error: impl std::fmt::Display) -> Error {
    Error::Data(format!("cannot write the CSV: {error}"))
}

/// The report as CSV: a row per night and a total row; amounts in the currency's units as
/// printed (`12.50`, `1250` for yen), so a spreadsheet reads them as numbers.
pub fn report_csv(report: &Report) -> Result<String> {
    let digits = pms_sync_protocol::money::minor_digits(&report.currency).unwrap_or(2);
    let amount = |minor: i64| {
        if digits == 0 {
            minor.to_string()
        } else {
            let scale = 10_i64.pow(u32::from(digits));
            let sign = if minor < 0 { "-" } else { "" };
            format!(
                "{sign}{}.{:0width$}",
                minor.abs() / scale,
                minor.abs() % scale,
                width = usize::from(digits)
            )
        }
    };
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer
        .write_record([
            "date",
            "rooms_sellable",
            "rooms_sold",
            "occupancy_percent",
            &format!("room_revenue_{}", report.currency),
            &format!("other_revenue_{}", report.currency),
            &format!("adr_{}", report.currency),
            &format!("revpar_{}", report.currency),
        ])
        .map_err(csv_error)?;
    let rows = report
        .days
        .iter()
        .map(|day| (day.date.to_string(), &day.figures))
        .chain(std::iter::once(("total".to_owned(), &report.totals)));
    for (label, figures) in rows {
        writer
            .write_record([
                label,
                figures.rooms_sellable.to_string(),
                figures.rooms_sold.to_string(),
                format!("{:.1}", figures.occupancy_percent),
                amount(figures.room_revenue_minor),
                amount(figures.other_revenue_minor),
                amount(figures.adr_minor),
                amount(figures.revpar_minor),
            ])
            .map_err(csv_error)?;
    }
    String::from_utf8(writer.into_inner().map_err(csv_error)?).map_err(csv_error)
}

/// The guest list as CSV (the guests this laptop holds, erased ones left out): what a hotel
/// takes to a spreadsheet or a mail tool. Only what the desk shows: no notes or documents.
pub fn guests_csv(conn: &Connection) -> Result<String> {
    const COLUMNS: [&str; 12] = [
        "first_name",
        "last_name",
        "email",
        "phone",
        "city",
        "country_code",
        "segment",
        "vip_status",
        "total_bookings",
        "last_stay_at",
        "marketing_consent",
        "created_at",
    ];
    let mut statement = conn.prepare(&format!(
        "select {} from guests where deleted_at is null and anonymized_at is null
          order by last_name, first_name, id",
        COLUMNS
            .iter()
            .map(|c| format!("cast({c} as text)"))
            .collect::<Vec<_>>()
            .join(", ")
    ))?;
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(COLUMNS).map_err(csv_error)?;
    let mut rows = statement.query([])?;
    while let Some(row) = rows.next()? {
        let record = (0..COLUMNS.len())
            .map(|i| {
                row.get::<_, Option<String>>(i)
                    .map(Option::unwrap_or_default)
            })
            .collect::<rusqlite::Result<Vec<String>>>()?;
        writer.write_record(&record).map_err(csv_error)?;
    }
    String::from_utf8(writer.into_inner().map_err(csv_error)?).map_err(csv_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn averages_round_half_away_from_zero() {
        assert_eq!(per(10, 4), 3);
        assert_eq!(per(9, 4), 2);
        assert_eq!(per(-10, 4), -3);
        assert_eq!(per(5, 0), 0);
    }

    #[test]
    fn occupancy_has_one_decimal() {
        let figures = Figures::new(3, 2, 30_000, 0);
        assert_eq!(figures.occupancy_percent, 66.7);
        assert_eq!((figures.adr_minor, figures.revpar_minor), (15_000, 10_000));
    }
}
