//! Reservations: `reservation:<tenantId>:<reservationId>`.
//!
//! The store has no properties or rooms: each tenant gets one property (created with the
//! tenant), room types from the room categories and rooms from the room numbers the bookings
//! name. The mapper says which category and room a booking wants ([`Placement`]); the writer
//! finds or creates them, and leaves an active booking without its room when another active stay
//! already holds that room for overlapping nights.

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;

use super::{
    midnight, set_created_at, tenant_id, tenant_of, uuid_field, Extra, Mapped, Missing, Row, Target,
};
use crate::kv_import::decode::{Fields, Problem};
use crate::kv_import::keys::{Entity, Key};

/// The statuses that hold a room (the double-booking rule applies to them only).
pub const ACTIVE_STATUSES: [&str; 3] = ["pending", "confirmed", "checked_in"];

/// Which room type and room a booking asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    /// The room type's code: the legacy category id, or the category's name made into a code.
    pub room_type_code: String,
    pub room_type_name: String,
    pub room_number: Option<String>,
    /// Pending, confirmed or checked in: subject to the overlap rule.
    pub active: bool,
    pub check_in: NaiveDate,
    pub check_out: NaiveDate,
}

/// A room category name as a code: lower case, words joined by `-` ("Deluxe King" → "deluxe-king").
pub fn code_of(name: &str) -> String {
    let mut code = String::new();
    for c in name.trim().chars() {
        if c.is_alphanumeric() {
            code.extend(c.to_lowercase());
        } else if !code.ends_with('-') && !code.is_empty() {
            code.push('-');
        }
    }
    code.trim_end_matches('-').to_owned()
}

/// When a booking was made: its creation time, or where the store kept none, midnight of its
/// arrival (the order of confirmation numbers).
pub(crate) fn booked_at(created: Option<DateTime<Utc>>, check_in: NaiveDate) -> DateTime<Utc> {
    created.unwrap_or_else(|| midnight(check_in))
}

pub fn reservation(key: &Key, f: &mut Fields) -> Result<Mapped, Problem> {
    let tenant = tenant_of(key)?;
    let mut row = Row::new();
    row.set("id", tenant_id(tenant, "reservation", &key.id));
    row.set("legacy_id", super::legacy_id(&key.id));
    row.set("guest_id", Value::Null);
    if let Some(guest) = f.non_blank("guestId")? {
        let id = tenant_id(tenant, "guest", &guest);
        row.set("guest_id", id);
        row.link(
            "guest_id",
            Target::Row {
                table: "guests",
                id,
            },
            &guest,
            Missing::Clear("guest gone: booking imported without the guest link, booked name kept"),
        );
    }
    row.set("guest_name", f.required_text("guestName")?);
    row.set(
        "guest_email",
        f.non_blank("guestEmail")?.map(|e| e.to_lowercase()),
    );
    row.set("guest_phone", f.non_blank("guestPhone")?);
    // The legacy code stays searchable; a number the dual-write wrote back is not a legacy code.
    let code = f.non_blank("confirmationNumber")?;
    let ours = f.integer("pmsConfirmationNumber")?;
    let code = code.filter(|c| ours.is_none_or(|n| *c != n.to_string()));
    row.set("legacy_confirmation_code", code);

    let check_in = f
        .date("checkInDate")?
        .ok_or_else(|| Problem::missing("checkInDate"))?;
    let check_out = f
        .date("checkOutDate")?
        .ok_or_else(|| Problem::missing("checkOutDate"))?;
    if check_out <= check_in {
        return Err(Problem::new(format!(
            "impossible dates: checkOutDate {check_out} is not after checkInDate {check_in}"
        )));
    }
    let nights = (check_out - check_in).num_days();
    if let Some(legacy_nights) = f.integer("numberOfNights")? {
        if legacy_nights != nights {
            f.note("numberOfNights differs from the dates: the dates kept");
        }
    }
    row.set("check_in_date", check_in);
    row.set("check_out_date", check_out);

    let status = match f.choice(
        "status",
        &[
            "pending",
            "confirmed",
            "checked_in",
            "checked_out",
            "cancelled",
            "no_show",
        ],
    )? {
        Some(status) => status,
        None => {
            f.note("status missing: confirmed assumed");
            "confirmed".to_owned()
        }
    };
    let created = set_created_at(&mut row, f)?;
    let created_or_arrival = booked_at(created, check_in);
    if created.is_none() {
        f.note("createdAt missing: ordered by check-in date");
    }
    // Every status has its timestamp; where the old panel kept none, the nearest known moment.
    let stamp = |f: &mut Fields, field: &str, applies: bool, fallback| {
        let given = f.timestamp(field)?;
        Ok::<_, Problem>(if applies {
            given.or(Some(fallback))
        } else {
            given
        })
    };
    let s = status.as_str();
    row.set(
        "confirmed_at",
        stamp(f, "confirmedAt", s == "confirmed", created_or_arrival)?,
    );
    row.set(
        "checked_in_at",
        stamp(
            f,
            "checkedInAt",
            matches!(s, "checked_in" | "checked_out"),
            midnight(check_in),
        )?,
    );
    row.set(
        "checked_out_at",
        stamp(f, "checkedOutAt", s == "checked_out", midnight(check_out))?,
    );
    let cancelled_at = f.timestamp("cancelledAt")?;
    if s == "cancelled" && cancelled_at.is_none() {
        f.note("cancelledAt missing for a cancelled booking: creation time used");
    }
    row.set(
        "cancelled_at",
        if s == "cancelled" {
            cancelled_at.or(Some(created_or_arrival))
        } else {
            cancelled_at
        },
    );
    row.set(
        "no_show_at",
        stamp(f, "noShowAt", s == "no_show", midnight(check_in))?,
    );
    row.set("cancellation_reason", f.non_blank("cancellationReason")?);
    row.set(
        "source",
        f.choice(
            "source",
            &["direct", "phone", "email", "ota", "walk_in", "agent"],
        )?
        .unwrap_or_else(|| "direct".to_owned()),
    );

    row.set("room_count", f.int32_or("numberOfRooms", 1)?);
    row.set("adults", f.int32_or("numberOfAdults", 1)?);
    row.set("children", f.int32_or("numberOfChildren", 0)?);
    let rate = f.cents("ratePerNight")?.unwrap_or(0);
    row.set("rate_per_night_cents", rate);
    let total = match f.cents("totalAmount")? {
        Some(total) => total,
        None => {
            f.note("totalAmount missing: rate × nights");
            rate * nights
        }
    };
    row.set("total_amount_cents", total);
    let currency = match super::code(f, "currency", 3)? {
        Some(c) => c,
        None => {
            f.note("currency missing: USD assumed");
            "USD".to_owned()
        }
    };
    row.set("currency", currency);
    let deposit = f.cents("depositPaid")?.unwrap_or(0);
    row.set("deposit_paid_cents", deposit);
    if let Some(due) = f.cents("balanceDue")? {
        if due != total - deposit {
            f.note("balanceDue differs from total − deposit: recomputed");
        }
    }
    let legacy_status = f
        .choice("paymentStatus", &["pending", "partial", "paid", "refunded"])?
        .unwrap_or_else(|| "pending".to_owned());
    // A paid amount goes in as the stay's opening payment (`write::folios`), and from then on the
    // database derives the status from the stay's payments: the same rule here, so the row holds
    // what the database would make of it.
    let status_paid = if deposit > 0 {
        let derived = if deposit >= total { "paid" } else { "partial" };
        if legacy_status != derived {
            f.note(
                "paymentStatus differs from what depositPaid gives: derived from the paid amount",
            );
        }
        derived.to_owned()
    } else {
        legacy_status
    };
    row.set("payment_status", status_paid);
    let requests = match f.peek("specialRequests") {
        Some(Value::Array(_)) => Some(f.strings("specialRequests")?.join("; ")),
        _ => f.non_blank("specialRequests")?,
    };
    row.set("special_requests", requests.filter(|r| !r.is_empty()));
    row.set("notes", f.non_blank("notes")?);
    row.set("created_by", uuid_field(f, "createdBy")?);
    row.set("modified_by", uuid_field(f, "modifiedBy")?);

    let category_id = f.non_blank("roomCategoryId")?;
    let category = f.non_blank("roomCategory")?;
    let (code, name) = match (category_id, category) {
        (Some(id), Some(name)) => (id, name),
        (Some(id), None) => (id.clone(), id),
        (None, Some(name)) => (code_of(&name), name),
        (None, None) => {
            f.note("no room category: booked as Unspecified");
            ("unspecified".to_owned(), "Unspecified".to_owned())
        }
    };
    let placement = Placement {
        room_type_code: if code.is_empty() {
            "unspecified".to_owned()
        } else {
            code
        },
        room_type_name: name,
        room_number: f.non_blank("roomNumber")?,
        active: ACTIVE_STATUSES.contains(&s),
        check_in,
        check_out,
    };
    row.set("status", status);
    f.ignore(&[
        "numberOfNights",
        "balanceDue",
        "roomCategory",
        "roomCategoryId",
    ]);
    let mut mapped = row.finish(Entity::Reservation, Some(tenant));
    mapped.sort_at = Some(created_or_arrival);
    mapped.extra = Extra::Stay(placement);
    Ok(mapped)
}

#[cfg(test)]
mod tests {
    use rstest::rstest;
    use serde_json::json;

    use super::super::test_support::*;
    use super::*;

    fn sample() -> Value {
        json!({"id": "RES-101", "tenantId": "T-101", "guestId": "guest_1", "guestName": "Ana Smith",
               "guestEmail": "ana.smith.0@mail.example", "confirmationNumber": "T-101-18CC8E6F4A0",
               "status": "checked_out", "source": "ota", "checkInDate": "2024-03-10", "checkOutDate": "2024-03-13",
               "numberOfNights": 3, "roomCategory": "Deluxe King", "roomNumber": "117", "numberOfRooms": 1,
               "numberOfAdults": 2, "numberOfChildren": 1, "ratePerNight": 15900, "totalAmount": 47700,
               "currency": "EUR", "depositPaid": 15900, "balanceDue": 31800, "paymentStatus": "paid",
               "createdAt": "2024-01-01T10:00:00.000Z"})
    }

    #[test]
    fn a_reservation_from_the_sample() {
        let m = ok(Entity::Reservation, "reservation:T-101:RES-101", sample());
        assert_eq!(
            col(&m, "legacy_confirmation_code"),
            &json!("T-101-18CC8E6F4A0")
        );
        assert_eq!(col(&m, "checked_in_at"), &json!("2024-03-10T00:00:00Z"));
        assert_eq!(col(&m, "checked_out_at"), &json!("2024-03-13T00:00:00Z"));
        assert_eq!(col(&m, "confirmed_at"), &Value::Null);
        assert_eq!(col(&m, "total_amount_cents"), &json!(47700));
        let Extra::Stay(p) = &m.extra else {
            panic!("no placement")
        };
        assert_eq!(p.room_type_code, "deluxe-king");
        assert_eq!(p.room_number.as_deref(), Some("117"));
        assert!(!p.active);
        assert!(matches!(m.links[0].missing, Missing::Clear(_)));
        // paid 159.00 of 477.00: partial, whatever the old panel said
        assert_eq!(col(&m, "payment_status"), &json!("partial"));
        assert_eq!(col(&m, "deposit_paid_cents"), &json!(15900));
        assert_eq!(m.notes.len(), 1, "{:?}", m.notes);
    }

    #[test]
    fn a_paid_amount_gives_the_payment_status_and_none_keeps_the_legacy_one() {
        let mut r = sample();
        r["depositPaid"] = json!(47700);
        r["paymentStatus"] = json!("partial");
        let m = ok(Entity::Reservation, "reservation:T-101:RES-1", r);
        assert_eq!(col(&m, "payment_status"), &json!("paid"));
        let mut r = sample();
        r["depositPaid"] = json!(0);
        r["paymentStatus"] = json!("refunded");
        let m = ok(Entity::Reservation, "reservation:T-101:RES-1", r);
        assert_eq!(col(&m, "payment_status"), &json!("refunded"));
    }

    #[rstest]
    #[case::day_first("19/03/2024", "2024-03-19")]
    #[case::iso("2024-03-19", "2024-03-19")]
    fn a_non_iso_check_in_is_read(#[case] check_in: &str, #[case] expected: &str) {
        let mut r = sample();
        r["checkInDate"] = json!(check_in);
        r["checkOutDate"] = json!("2024-03-22");
        let m = ok(Entity::Reservation, "reservation:T-101:RES-9", r);
        assert_eq!(col(&m, "check_in_date"), &json!(expected));
    }

    #[test]
    fn impossible_dates_are_a_problem() {
        let mut r = sample();
        r["checkOutDate"] = json!("2024-03-09");
        assert!(problem(Entity::Reservation, "reservation:T-101:RES-7", r)
            .starts_with("impossible dates"));
    }

    #[test]
    fn statuses_get_their_timestamps() {
        for (status, column) in [
            ("confirmed", "confirmed_at"),
            ("cancelled", "cancelled_at"),
            ("no_show", "no_show_at"),
        ] {
            let mut r = sample();
            r["status"] = json!(status);
            let m = ok(Entity::Reservation, "reservation:T-101:RES-1", r);
            assert!(!col(&m, column).is_null(), "{status}");
            let Extra::Stay(p) = &m.extra else {
                panic!("no placement")
            };
            assert_eq!(p.active, status == "confirmed");
        }
    }

    #[test]
    fn a_written_back_number_is_not_a_legacy_code() {
        let mut r = sample();
        r["confirmationNumber"] = json!("17");
        r["pmsConfirmationNumber"] = json!(17);
        let m = ok(Entity::Reservation, "reservation:T-101:RES-1", r);
        assert_eq!(col(&m, "legacy_confirmation_code"), &Value::Null);
    }

    #[test]
    fn category_names_become_codes() {
        assert_eq!(code_of("Standard Double"), "standard-double");
        assert_eq!(code_of("  Junior  Suite!"), "junior-suite");
        assert_eq!(code_of("Chambre Supérieure"), "chambre-supérieure");
    }
}
