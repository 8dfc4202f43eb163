//! Paperwork a front desk prints: the arrivals, departures, in-house (with each stay's balance
//! from its folio ledger) and housekeeping lists, a registration card per arrival, and the
//! "outage pack" of all of them for the next 24 hours, read from the mirror (so it works offline,
//! which is when a hotel needs paper most).
//!
//! This module decides what goes on paper; [`crate::paperwork_pdf`] lays it out.
//!
//! # Rules
//! - **Days are the property's** (its time zone, [`business_day`]), never the laptop's.
//! - **Arrivals** of a date: stays arriving that date that are pending, confirmed or already in
//!   the house (as the Today screen lists them). **Departures**: stays leaving that date that are
//!   pending, confirmed, in the house or already out. **In house**: stays checked in now.
//!   Cancelled, no-show and deleted stays are never printed.
//! - **Balances** come from the folio ledger ([`folio::balance`]): charges and taxes less
//!   payments, voids taken back, the desk's pending entries included; never the booking's
//!   `balance_due_cents` copy.
//! - **The outage pack** covers the next 24 hours from now at the property: the arrivals and the
//!   departures of each property date those hours touch (today and tomorrow), the guests in the
//!   house now with their balances, the rooms as housekeeping sees them today, and a registration
//!   card for every arrival in it not yet checked in.
//! - **Paper size** follows the property's country (Letter in the United States, Canada, Mexico
//!   and the other countries that use it; A4 elsewhere); a property without a country is guessed
//!   from its currency (USD, CAD, MXN, PHP, CLP, COP: Letter), else A4.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::{business_day, folio};

/// The sheet a desk prints on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "lowercase")]
pub enum PaperSize {
    /// 210 × 297 mm.
    A4,
    /// 8.5 × 11 in.
    Letter,
}

impl PaperSize {
    /// Width and height in PDF points (1/72 in).
    pub fn points(self) -> (f32, f32) {
        match self {
            PaperSize::A4 => (595.0, 842.0),
            PaperSize::Letter => (612.0, 792.0),
        }
    }
}

/// Countries whose offices print on Letter (ISO 3166-1 alpha-2).
const LETTER_COUNTRIES: &[&str] = &[
    "US", "CA", "MX", "PH", "CL", "CO", "VE", "CR", "GT", "DO", "PA", "PR", "SV", "NI", "BZ",
];

/// Currencies of Letter countries, for a property without a country.
const LETTER_CURRENCIES: &[&str] = &["USD", "CAD", "MXN", "PHP", "CLP", "COP"];

/// The paper of a property in `country_code` (else guessed from `currency`).
pub fn paper_size(country_code: Option<&str>, currency: Option<&str>) -> PaperSize {
    let known = |code: Option<&str>, list: &[&str]| {
        code.map(str::trim)
            .filter(|c| !c.is_empty())
            .map(|c| list.contains(&c.to_ascii_uppercase().as_str()))
    };
    let letter = known(country_code, LETTER_COUNTRIES)
        .or_else(|| known(currency, LETTER_CURRENCIES))
        .unwrap_or(false);
    if letter {
        PaperSize::Letter
    } else {
        PaperSize::A4
    }
}

/// The language printed on the paper (the clerk's, as the desk's screens).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    #[default]
    En,
    Es,
}

/// What to print.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Arrivals,
    Departures,
    InHouse,
    Housekeeping,
    /// A card for each of the date's arrivals.
    RegistrationCards,
    /// Everything for the next 24 hours.
    OutagePack,
}

impl Kind {
    /// A short name for the saved file.
    pub fn file_stem(self) -> &'static str {
        match self {
            Kind::Arrivals => "arrivals",
            Kind::Departures => "departures",
            Kind::InHouse => "in-house",
            Kind::Housekeeping => "housekeeping",
            Kind::RegistrationCards => "registration-cards",
            Kind::OutagePack => "outage-pack",
        }
    }
}

/// The property as printed at the top of each page and on a card.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PropertyBlock {
    pub name: String,
    pub address_lines: Vec<String>,
    pub phone: Option<String>,
    pub currency: String,
}

/// A stay as a list prints it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StayLine {
    pub reservation_id: String,
    /// "#1042", the legacy code, or empty before the server numbers it.
    pub reference: String,
    pub guest_name: String,
    pub room: Option<String>,
    pub room_type: Option<String>,
    pub arrival: NaiveDate,
    pub departure: NaiveDate,
    pub adults: i64,
    pub children: i64,
    pub status: String,
    pub special_requests: Option<String>,
    pub currency: String,
    /// From the folio ledger: what the guest owes (negative: in credit).
    pub balance_minor: i64,
}

impl StayLine {
    pub fn nights(&self) -> i64 {
        (self.departure - self.arrival).num_days()
    }
}

/// A room as the housekeeping list prints it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RoomLine {
    pub number: String,
    pub room_type: String,
    pub floor: Option<i64>,
    pub status: String,
    pub occupant: Option<String>,
    pub notes: Option<String>,
    /// Its guest leaves on the list's date.
    pub departing: bool,
    /// A guest arrives in it on the list's date.
    pub arriving: Option<String>,
}

/// An identity document as shown on the registration card.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct IdentityDocument {
    pub kind: Option<String>,
    pub number: Option<String>,
    pub expires_on: Option<String>,
}

/// A registration card, pre-filled with what the hotel knows; the guest completes the rest and
/// signs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RegistrationCard {
    pub stay: StayLine,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub address_lines: Vec<String>,
    pub date_of_birth: Option<String>,
    pub nationality: Option<String>,
    pub document: IdentityDocument,
    pub rate_per_night_minor: Option<i64>,
}

/// A part of a printed document; each starts on a page of its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Section {
    Arrivals {
        date: NaiveDate,
        stays: Vec<StayLine>,
    },
    Departures {
        date: NaiveDate,
        stays: Vec<StayLine>,
    },
    InHouse {
        date: NaiveDate,
        stays: Vec<StayLine>,
    },
    Housekeeping {
        date: NaiveDate,
        rooms: Vec<RoomLine>,
    },
    Card(Box<RegistrationCard>),
}

/// A document to print: the property, the paper, and its sections in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Paperwork {
    pub kind: Kind,
    pub property: PropertyBlock,
    pub paper: PaperSize,
    pub language: Language,
    /// Now at the property, "YYYY-MM-DD HH:MM", printed on every page.
    pub printed_at: String,
    /// The first date it covers (the file's name carries it).
    pub date: NaiveDate,
    pub sections: Vec<Section>,
}

fn property_block(conn: &Connection, property_id: &str) -> Result<(PropertyBlock, PaperSize)> {
    type Row = (
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
    );
    let row: Row = conn
        .query_row(
            "select name, address_line1, address_line2, postal_code, city, country_code, phone,
                    currency
               from properties where id = ?1 and deleted_at is null",
            [property_id],
            |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                ))
            },
        )
        .optional()?
        .ok_or_else(|| Error::Data(format!("no property {property_id} on this laptop")))?;
    let (name, line1, line2, postal, city, country, phone, currency) = row;
    let paper = paper_size(country.as_deref(), currency.as_deref());
    let town = [postal, city]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    let address_lines = [line1, line2, Some(town), country]
        .into_iter()
        .flatten()
        .map(|l| l.trim().to_owned())
        .filter(|l| !l.is_empty())
        .collect();
    Ok((
        PropertyBlock {
            name: name.unwrap_or_default(),
            address_lines,
            phone,
            currency: currency.unwrap_or_else(|| "USD".to_owned()),
        },
        paper,
    ))
}

const STAY_SELECT: &str = "
select r.id, r.confirmation_number, r.legacy_confirmation_code, coalesce(r.guest_name, ''),
       rm.number, rt.name, r.check_in_date, r.check_out_date, coalesce(r.adults, 1),
       coalesce(r.children, 0), coalesce(r.status, 'pending'), r.special_requests,
       coalesce(r.currency, 'USD')
  from reservations r
  left join rooms rm on rm.id = r.room_id
  left join room_types rt on rt.id = r.room_type_id";

/// Stays matching `tail` (a `where … order by …` on `r`), each with its ledger balance.
fn stays(conn: &Connection, tail: &str, args: impl rusqlite::Params) -> Result<Vec<StayLine>> {
    struct Raw {
        id: String,
        reference: String,
        guest: String,
        room: Option<String>,
        room_type: Option<String>,
        arrival: String,
        departure: String,
        adults: i64,
        children: i64,
        status: String,
        requests: Option<String>,
        currency: String,
    }
    let raws: Vec<Raw> = {
        let mut statement = conn.prepare_cached(&format!("{STAY_SELECT} {tail}"))?;
        let rows = statement.query_map(args, |r| {
            let number: Option<i64> = r.get(1)?;
            let legacy: Option<String> = r.get(2)?;
            Ok(Raw {
                id: r.get(0)?,
                reference: match (number, legacy) {
                    (Some(n), _) => format!("#{n}"),
                    (None, Some(code)) => code,
                    (None, None) => String::new(),
                },
                guest: r.get(3)?,
                room: r.get(4)?,
                room_type: r.get(5)?,
                arrival: r.get(6)?,
                departure: r.get(7)?,
                adults: r.get(8)?,
                children: r.get(9)?,
                status: r.get(10)?,
                requests: r.get(11)?,
                currency: r.get(12)?,
            })
        })?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    raws.into_iter()
        .map(|raw| {
            let id = Uuid::parse_str(&raw.id)
                .map_err(|e| Error::Data(format!("stay {}: {e}", raw.id)))?;
            Ok(StayLine {
                balance_minor: folio::balance(conn, id)?.balance_minor,
                reservation_id: raw.id,
                reference: raw.reference,
                guest_name: raw.guest,
                room: raw.room,
                room_type: raw.room_type,
                arrival: business_day::parse_date(&raw.arrival)?,
                departure: business_day::parse_date(&raw.departure)?,
                adults: raw.adults,
                children: raw.children,
                status: raw.status,
                special_requests: raw.requests.filter(|s| !s.trim().is_empty()),
                currency: raw.currency,
            })
        })
        .collect()
}

/// The stays arriving on `date`: pending, confirmed or already in the house, by guest name.
pub fn arrivals(conn: &Connection, property_id: &str, date: NaiveDate) -> Result<Vec<StayLine>> {
    stays(
        conn,
        "where r.property_id = ?1 and r.check_in_date = ?2 and r.deleted_at is null
           and r.status in ('pending', 'confirmed', 'checked_in')
         order by r.guest_name collate nocase, r.id",
        params![property_id, date.to_string()],
    )
}

/// The stays leaving on `date` (to check out, or already out), by room.
pub fn departures(conn: &Connection, property_id: &str, date: NaiveDate) -> Result<Vec<StayLine>> {
    stays(
        conn,
        "where r.property_id = ?1 and r.check_out_date = ?2 and r.deleted_at is null
           and r.status in ('pending', 'confirmed', 'checked_in', 'checked_out')
         order by length(rm.number), rm.number, r.guest_name collate nocase, r.id",
        params![property_id, date.to_string()],
    )
}

/// The guests in the house now, by room, each with the balance of the stay's folios.
pub fn in_house(conn: &Connection, property_id: &str) -> Result<Vec<StayLine>> {
    stays(
        conn,
        "where r.property_id = ?1 and r.status = 'checked_in' and r.deleted_at is null
         order by length(rm.number), rm.number, r.guest_name collate nocase, r.id",
        params![property_id],
    )
}

/// Every room of the property with its cleaning status and who is in it, marking the rooms
/// whose guest leaves on `date` and those a guest arrives in.
pub fn housekeeping(
    conn: &Connection,
    property_id: &str,
    date: NaiveDate,
) -> Result<Vec<RoomLine>> {
    let day = date.to_string();
    let mut statement = conn.prepare_cached(
        "select rm.number, coalesce(rt.name, ''), rm.floor,
                coalesce(rm.housekeeping_status, 'clean'), rm.notes,
                (select r.guest_name from reservations r where r.room_id = rm.id
                    and r.status = 'checked_in' and r.deleted_at is null limit 1),
                exists (select 1 from reservations r where r.room_id = rm.id
                    and r.status = 'checked_in' and r.deleted_at is null and r.check_out_date = ?2),
                (select r.guest_name from reservations r where r.room_id = rm.id
                    and r.status in ('pending', 'confirmed') and r.deleted_at is null
                    and r.check_in_date = ?2 order by r.guest_name limit 1)
           from rooms rm left join room_types rt on rt.id = rm.room_type_id
          where rm.property_id = ?1 and rm.deleted_at is null
          order by length(rm.number), rm.number",
    )?;
    let rows = statement.query_map(params![property_id, day], |r| {
        Ok(RoomLine {
            number: r.get::<_, Option<String>>(0)?.unwrap_or_default(),
            room_type: r.get(1)?,
            floor: r.get(2)?,
            status: r.get(3)?,
            notes: r
                .get::<_, Option<String>>(4)?
                .filter(|n| !n.trim().is_empty()),
            occupant: r.get(5)?,
            departing: r.get(6)?,
            arriving: r.get(7)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The registration card of one stay at `now`: with the identity document shown for it (else the
/// guest's newest one the property still keeps).
pub fn registration_card(
    conn: &Connection,
    reservation_id: Uuid,
    now: DateTime<Utc>,
) -> Result<RegistrationCard> {
    let id = reservation_id.to_string();
    let stay = stays(conn, "where r.id = ?1 and r.deleted_at is null", [&id])?
        .into_iter()
        .next()
        .ok_or_else(|| Error::Invalid {
            field: "reservation_id",
            message: "That booking is not on this laptop.".to_owned(),
        })?;
    type Guest = (
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
    );
    let guest: Guest = conn
        .query_row(
            "select coalesce(g.email, r.guest_email), coalesce(g.phone, r.guest_phone),
                    g.address_line1, g.address_line2, g.postal_code, g.city, g.region,
                    g.country_code, g.date_of_birth, g.nationality
               from reservations r left join guests g on g.id = r.guest_id
              where r.id = ?1",
            [&id],
            |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                    r.get(8)?,
                    r.get(9)?,
                ))
            },
        )
        .optional()?
        .unwrap_or_default();
    let (email, phone, line1, line2, postal, city, region, country, birth, nationality) = guest;
    let town = [postal, city, region]
        .into_iter()
        .flatten()
        .filter(|t| !t.trim().is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let address_lines = [line1, line2, Some(town), country]
        .into_iter()
        .flatten()
        .map(|l| l.trim().to_owned())
        .filter(|l| !l.is_empty())
        .collect();
    let rate: Option<i64> = conn
        .query_row(
            "select rate_per_night_cents from reservations where id = ?1",
            [&id],
            |r| r.get(0),
        )
        .optional()?
        .flatten();
    Ok(RegistrationCard {
        stay,
        email: email.filter(|e| !e.trim().is_empty()),
        phone: phone.filter(|p| !p.trim().is_empty()),
        address_lines,
        date_of_birth: birth.filter(|b| !b.trim().is_empty()),
        nationality: nationality.filter(|n| !n.trim().is_empty()),
        document: crate::registration::registration(conn, reservation_id, now)?
            .document
            .map(|d| IdentityDocument {
                kind: Some(d.kind.replace('_', " ")),
                number: Some(d.number),
                expires_on: d.expires_on,
            })
            .unwrap_or_default(),
        rate_per_night_minor: rate,
    })
}

/// The property dates the next 24 hours from `now` touch at the property: today, and the date
/// 24 hours on (tomorrow; the same day only if a clock change made the day that long).
pub fn outage_dates(zone: chrono_tz::Tz, now: DateTime<Utc>) -> Vec<NaiveDate> {
    let first = business_day::local_now(zone, now).date();
    let last = business_day::local_now(zone, now + Duration::hours(24)).date();
    first.iter_days().take_while(|d| *d <= last).collect()
}

/// What to print for the property at `now`: `date` is the day of a list (the property's today
/// when none); the outage pack always starts from the property's today.
pub fn gather(
    conn: &Connection,
    property_id: Uuid,
    kind: Kind,
    date: Option<NaiveDate>,
    language: Language,
    now: DateTime<Utc>,
) -> Result<Paperwork> {
    let id = property_id.to_string();
    let (property, paper) = property_block(conn, &id)?;
    let zone = business_day::zone(conn, property_id)?;
    let local = business_day::local_now(zone, now);
    let today = local.date();
    let date = match kind {
        Kind::OutagePack => today,
        _ => date.unwrap_or(today),
    };
    let cards = |stays: &[StayLine], only_to_come: bool| -> Result<Vec<Section>> {
        stays
            .iter()
            .filter(|s| !only_to_come || s.status != "checked_in")
            .map(|s| {
                let uuid = Uuid::parse_str(&s.reservation_id)
                    .map_err(|e| Error::Data(format!("stay {}: {e}", s.reservation_id)))?;
                Ok(Section::Card(Box::new(registration_card(conn, uuid, now)?)))
            })
            .collect()
    };
    let sections = match kind {
        Kind::Arrivals => vec![Section::Arrivals {
            date,
            stays: arrivals(conn, &id, date)?,
        }],
        Kind::Departures => vec![Section::Departures {
            date,
            stays: departures(conn, &id, date)?,
        }],
        Kind::InHouse => vec![Section::InHouse {
            date: today,
            stays: in_house(conn, &id)?,
        }],
        Kind::Housekeeping => vec![Section::Housekeeping {
            date,
            rooms: housekeeping(conn, &id, date)?,
        }],
        Kind::RegistrationCards => {
            let stays = arrivals(conn, &id, date)?;
            if stays.is_empty() {
                return Err(Error::NoArrivals { date });
            }
            cards(&stays, false)?
        }
        Kind::OutagePack => {
            let dates = outage_dates(zone, now);
            let mut sections = Vec::new();
            let mut to_come = Vec::new();
            for day in &dates {
                let stays = arrivals(conn, &id, *day)?;
                to_come.extend(stays.iter().cloned());
                sections.push(Section::Arrivals { date: *day, stays });
            }
            for day in &dates {
                sections.push(Section::Departures {
                    date: *day,
                    stays: departures(conn, &id, *day)?,
                });
            }
            sections.push(Section::InHouse {
                date: today,
                stays: in_house(conn, &id)?,
            });
            sections.push(Section::Housekeeping {
                date: today,
                rooms: housekeeping(conn, &id, today)?,
            });
            sections.extend(cards(&to_come, true)?);
            sections
        }
    };
    Ok(Paperwork {
        kind,
        property,
        paper,
        language,
        printed_at: local.format("%Y-%m-%d %H:%M").to_string(),
        date,
        sections,
    })
}

impl Paperwork {
    /// The name it is saved under: `<date>-<kind>.pdf` (a reprint the same day replaces the
    /// earlier file).
    pub fn file_name(&self) -> String {
        format!("{}-{}.pdf", self.date, self.kind.file_stem())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn paper_follows_the_country_then_the_currency() {
        assert_eq!(paper_size(Some("US"), Some("USD")), PaperSize::Letter);
        assert_eq!(paper_size(Some("mx"), None), PaperSize::Letter);
        assert_eq!(paper_size(Some("PT"), Some("EUR")), PaperSize::A4);
        // Ecuador pays in dollars and prints on A4: the country wins over the currency
        assert_eq!(paper_size(Some("EC"), Some("USD")), PaperSize::A4);
        assert_eq!(paper_size(None, Some("CAD")), PaperSize::Letter);
        assert_eq!(paper_size(Some(" "), Some("USD")), PaperSize::Letter);
        assert_eq!(paper_size(None, Some("EUR")), PaperSize::A4);
        assert_eq!(paper_size(None, None), PaperSize::A4);
    }

    #[test]
    fn the_outage_pack_covers_today_and_tomorrow_at_the_property() {
        // 11:30 UTC on 5 December: 00:30 on the 6th in Auckland, 03:30 on the 5th in LA.
        let now = Utc
            .with_ymd_and_hms(2026, 12, 5, 11, 30, 0)
            .single()
            .expect("a time");
        let day = |d| NaiveDate::from_ymd_opt(2026, 12, d).expect("a date");
        assert_eq!(
            outage_dates(chrono_tz::Pacific::Auckland, now),
            vec![day(6), day(7)]
        );
        assert_eq!(
            outage_dates(chrono_tz::America::Los_Angeles, now),
            vec![day(5), day(6)]
        );
    }
}
