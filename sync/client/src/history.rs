//! A booking's history: what happened to it and who did it, on every laptop.
//!
//! The desk appends a `reservation_events` row for each thing a colleague does to a booking
//! (booked, dates or room changed, checked in or out, cancelled, no-show, registration taken),
//! naming the signed-in colleague's account. The money the stay took is already a ledger that
//! names its author (`folio_entries.created_by`, `guest_invoices.issued_by`), so the history
//! reads those too rather than writing them twice. Events are append-only: two laptops' events
//! for one booking are both kept, in the order they happened.

use chrono::{DateTime, Utc};
use rusqlite::Connection;
use serde::Serialize;
use serde_json::{json, Map, Value};
use uuid::Uuid;

use crate::error::Result;
use crate::outbox;
use pms_sync_protocol::wire::PushOp;

/// What a colleague did to a booking (the server's `reservation_events_action_check`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Booked,
    Changed,
    CheckedIn,
    CheckedOut,
    Cancelled,
    NoShow,
    Registered,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Booked => "booked",
            Action::Changed => "changed",
            Action::CheckedIn => "checked_in",
            Action::CheckedOut => "checked_out",
            Action::Cancelled => "cancelled",
            Action::NoShow => "no_show",
            Action::Registered => "registered",
        }
    }
}

/// Appends an event to the booking's history.
pub fn record(
    conn: &mut Connection,
    reservation_id: Uuid,
    action: Action,
    detail: Option<Map<String, Value>>,
    staff_user_id: Option<Uuid>,
    at: DateTime<Utc>,
) -> Result<()> {
    let Value::Object(values) = json!({
        "reservation_id": reservation_id,
        "action": action.as_str(),
        "detail": detail.map(Value::Object),
        "staff_user_id": staff_user_id,
        "created_at": at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    }) else {
        unreachable!("a json object literal")
    };
    outbox::write(
        conn,
        "reservation_events",
        PushOp::Insert,
        Uuid::now_v7(),
        values,
    )?;
    Ok(())
}

/// The columns whose change a `changed` event records, old and new: what a colleague moved.
pub const TRACKED_COLUMNS: &[&str] = &[
    "check_in_date",
    "check_out_date",
    "room_id",
    "room_type_id",
    "adults",
    "children",
    "guest_name",
    "total_amount_cents",
    "rate_per_night_cents",
];

/// `{column: [before, after]}` for the tracked columns `after` changes; none when nothing
/// tracked moved.
pub fn changes(
    before: &Map<String, Value>,
    after: &Map<String, Value>,
) -> Option<Map<String, Value>> {
    let moved: Map<String, Value> = TRACKED_COLUMNS
        .iter()
        .filter_map(|column| {
            let new = after.get(*column)?;
            let old = before.get(*column).unwrap_or(&Value::Null);
            (old != new).then(|| ((*column).to_owned(), json!([old, new])))
        })
        .collect();
    (!moved.is_empty()).then_some(moved)
}

/// One line of a booking's history.
#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
pub struct HistoryLine {
    /// RFC 3339; none only for a line whose time this laptop never knew.
    pub at: Option<String>,
    /// An event's action, or `payment`, `refund`, `charge`, `adjustment`, `void`, `invoice`.
    pub action: String,
    /// What changed or was taken: the event's detail, or the entry's amount and description.
    #[ts(type = "Record<string, unknown> | null")]
    pub detail: Option<Value>,
    /// The colleague's name as the staff list has it; none for a local desk or a server job.
    pub by: Option<String>,
}

/// The booking's history, oldest first: its events, its folio entries and its invoices, each
/// with the colleague who did it.
pub fn of_booking(conn: &Connection, reservation_id: &str) -> Result<Vec<HistoryLine>> {
    let mut statement = conn.prepare_cached(
        "select at, action, detail, (select s.display_name from staff s where s.user_id = who limit 1)
           from (
             select e.created_at as at, e.action, e.detail, e.staff_user_id as who
               from reservation_events e where e.reservation_id = ?1
             union all
             select coalesce(f.created_at, (select min(o.created_at) from outbox o
                                             where o.table_name = 'folio_entries' and o.row_id = f.id)),
                    case when f.voids_entry_id is not null then 'void' else f.kind end,
                    json_object('amount_minor', f.amount_minor, 'currency', f.currency,
                                'description', f.description, 'method', f.payment_method),
                    f.created_by
               from folio_entries f where f.reservation_id = ?1 and f.kind <> 'tax'
             union all
             select coalesce(i.created_at, (select min(o.created_at) from outbox o
                                             where o.table_name = 'guest_invoices' and o.row_id = i.id)),
                    'invoice',
                    json_object('number', i.number, 'total_minor', i.total_minor, 'currency', i.currency),
                    i.issued_by
               from guest_invoices i where i.reservation_id = ?1
           )
          -- by instant: the server writes `+00:00`, the desk `Z`, and text would misorder them
          order by julianday(at), at",
    )?;
    let lines = statement
        .query_map([reservation_id], |r| {
            let detail: Option<String> = r.get(2)?;
            Ok(HistoryLine {
                at: r.get(0)?,
                action: r.get(1)?,
                detail: detail.and_then(|d| serde_json::from_str(&d).ok()),
                by: r.get(3)?,
            })
        })?
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_ordered_by_instant_whatever_the_offset_s_spelling() {
        let conn = crate::mirror::open_in_memory().expect("mirror");
        // 10:00:00 UTC on the desk, 10:00:00.5 UTC from the server, 10:30 UTC written at +01:00
        conn.execute_batch(
            "insert into reservation_events (id, reservation_id, action, created_at)
                  values ('e1', 'r', 'booked', '2026-12-06T10:00:00Z'),
                         ('e2', 'r', 'checked_in', '2026-12-06T11:30:00+01:00');
             insert into folio_entries (id, reservation_id, kind, amount_minor, currency, created_at)
                  values ('f1', 'r', 'payment', 500, 'EUR', '2026-12-06T10:00:00.5+00:00');",
        )
        .expect("rows");
        let actions: Vec<String> = of_booking(&conn, "r")
            .expect("history")
            .into_iter()
            .map(|line| line.action)
            .collect();
        assert_eq!(actions, ["booked", "payment", "checked_in"]);
    }
}
