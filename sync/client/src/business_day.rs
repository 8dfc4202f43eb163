//! A property's day, in its time zone, never the laptop's: what "today" is at the hotel, and the
//! business date its money is booked on.
//!
//! The business date is a ledger too: the day after the property's last night audit
//! (`night_audits`, one row per closed date), or the hotel's today before its first audit. Two
//! desks auditing the same date offline make one audit row, and a desk that audits late can never
//! move the day back, which a business date merged by clock could.

use chrono::{DateTime, Days, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use chrono_tz::Tz;
use rusqlite::{Connection, OptionalExtension};
use serde::Serialize;
use uuid::Uuid;

use crate::error::{Error, Result};

/// Where a property's business day stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct BusinessDay {
    pub property_id: String,
    /// IANA name of the property's zone ("Europe/Lisbon").
    pub timezone: String,
    /// The open business date: money posted now is booked on it.
    pub business_date: NaiveDate,
    /// Now at the property, "YYYY-MM-DD HH:MM".
    pub local_time: String,
    /// The business date is over and its audit hour has passed: an open desk audits it.
    pub audit_due: bool,
    /// Whether the business date has begun at the property (a day not begun cannot be closed).
    pub can_close: bool,
}

/// The property's time zone; UTC when the property names none the IANA database knows (a
/// property typed in by hand with a typo keeps working, on UTC, until someone fixes it) or this
/// laptop does not hold it.
pub fn zone(conn: &Connection, property_id: Uuid) -> Result<Tz> {
    let name: Option<String> = conn
        .query_row(
            "select timezone from properties where id = ?1",
            [property_id.to_string()],
            |r| r.get::<_, Option<String>>(0),
        )
        .optional()?
        .flatten();
    Ok(zone_named(name.as_deref()))
}

/// The zone a property's `timezone` column names, by the rule of [`zone`].
pub fn zone_named(name: Option<&str>) -> Tz {
    name.and_then(|name| name.parse::<Tz>().ok())
        .unwrap_or(Tz::UTC)
}

/// Now at the property.
pub fn local_now(zone: Tz, now: DateTime<Utc>) -> NaiveDateTime {
    now.with_timezone(&zone).naive_local()
}

/// The property's calendar today.
pub fn local_today(conn: &Connection, property_id: Uuid, now: DateTime<Utc>) -> Result<NaiveDate> {
    Ok(local_now(zone(conn, property_id)?, now).date())
}

/// The last business date the property closed, if any.
pub fn last_closed(conn: &Connection, property_id: Uuid) -> Result<Option<NaiveDate>> {
    let last: Option<String> = conn.query_row(
        "select max(business_date) from night_audits where property_id = ?1",
        [property_id.to_string()],
        |r| r.get(0),
    )?;
    last.map(|text| parse_date(&text)).transpose()
}

/// The property's open business date.
pub fn business_date(
    conn: &Connection,
    property_id: Uuid,
    now: DateTime<Utc>,
) -> Result<NaiveDate> {
    match last_closed(conn, property_id)? {
        Some(closed) => Ok(closed + Days::new(1)),
        None => local_today(conn, property_id, now),
    }
}

/// Where the property's day stands at `now`.
pub fn current(conn: &Connection, property_id: Uuid, now: DateTime<Utc>) -> Result<BusinessDay> {
    let zone = zone(conn, property_id)?;
    let local = local_now(zone, now);
    let date = business_date(conn, property_id, now)?;
    let audit_hour: i64 = conn
        .query_row(
            "select coalesce(night_audit_hour, 2) from properties where id = ?1",
            [property_id.to_string()],
            |r| r.get(0),
        )
        .optional()?
        .unwrap_or(2);
    let audit_at = (date + Days::new(1)).and_time(
        NaiveTime::from_hms_opt(audit_hour.clamp(0, 23) as u32, 0, 0).unwrap_or(NaiveTime::MIN),
    );
    Ok(BusinessDay {
        property_id: property_id.to_string(),
        timezone: zone.name().to_owned(),
        business_date: date,
        local_time: local.format("%Y-%m-%d %H:%M").to_string(),
        audit_due: local >= audit_at,
        can_close: local.date() >= date,
    })
}

pub(crate) fn parse_date(text: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(text.get(..10).unwrap_or(text), "%Y-%m-%d")
        .map_err(|e| Error::Data(format!("date {text}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

    fn property(conn: &mut Connection, zone: &str) -> Uuid {
        let id = Uuid::now_v7();
        let mut row = serde_json::Map::new();
        row.insert("id".into(), json!(id.to_string()));
        row.insert("timezone".into(), json!(zone));
        row.insert("night_audit_hour".into(), json!(2));
        crate::mirror::upsert(conn, "properties", &row).expect("a property");
        id
    }

    #[test]
    fn today_is_the_property_s_not_the_laptop_s() {
        let mut conn = crate::mirror::open_in_memory().expect("a mirror");
        let tokyo = property(&mut conn, "Asia/Tokyo");
        let hawaii = property(&mut conn, "Pacific/Honolulu");
        // 2026-12-04 20:00 UTC: already the 5th in Tokyo, still the 4th in Honolulu
        let now = Utc
            .with_ymd_and_hms(2026, 12, 4, 20, 0, 0)
            .single()
            .expect("a time");
        let day = |d| NaiveDate::from_ymd_opt(2026, 12, d).expect("a date");
        assert_eq!(business_date(&conn, tokyo, now).expect("a date"), day(5));
        assert_eq!(business_date(&conn, hawaii, now).expect("a date"), day(4));
        let tokyo_day = current(&conn, tokyo, now).expect("a day");
        assert_eq!(tokyo_day.local_time, "2026-12-05 05:00");
        assert!(!tokyo_day.audit_due);
    }

    #[test]
    fn the_business_date_follows_the_last_audit_and_the_audit_falls_due_after_its_hour() {
        let mut conn = crate::mirror::open_in_memory().expect("a mirror");
        let lisbon = property(&mut conn, "Europe/Lisbon");
        let mut audit = serde_json::Map::new();
        audit.insert("id".into(), json!(Uuid::now_v7().to_string()));
        audit.insert("property_id".into(), json!(lisbon.to_string()));
        audit.insert("business_date".into(), json!("2026-12-01"));
        crate::mirror::upsert(&conn, "night_audits", &audit).expect("an audit");
        let now = Utc
            .with_ymd_and_hms(2026, 12, 4, 1, 0, 0)
            .single()
            .expect("a time");
        let day = current(&conn, lisbon, now).expect("a day");
        assert_eq!(
            day.business_date,
            NaiveDate::from_ymd_opt(2026, 12, 2).expect("a date")
        );
        assert!(day.audit_due && day.can_close);
    }
}
