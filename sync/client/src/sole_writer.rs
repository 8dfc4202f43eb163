//! A mirror that is its tenant's only writer (a hotel on its own laptop, `local_tenant`, or the
//! demo, `desk_demo`) does what the server does for a connected desk: it numbers its bookings
//! 1, 2, 3… in the order they are made, so a guest gets a number on the spot instead of
//! "number on sync".
//!
//! When a local hotel connects, its bookings go up in the order they were made, and the server
//! numbers them in that order: into a new tenant they keep their numbers. Into a tenant that
//! already has bookings, the tenant's series wins (it stays unique and gapless), and each booking
//! keeps the number its guest holds as its `legacy_confirmation_code`, `L-<number>`, which a
//! laptop may set on insert and the desk's search finds when the number is typed.

use rusqlite::{Connection, OptionalExtension};

use crate::{mirror, Result};

/// The code that keeps a local booking's number after adoption.
pub fn local_code(number: i64) -> String {
    format!("L-{number}")
}

/// Whether nobody else writes this mirror's tenant (a local hotel, the demo).
pub fn is_sole_writer(conn: &Connection) -> Result<bool> {
    Ok(mirror::state(conn, "local_tenant")?.as_deref() == Some("1")
        || mirror::state(conn, "desk_demo")?.as_deref() == Some("1"))
}

/// The number of the next booking when this mirror is its tenant's only writer; `None` on a
/// connected desk, where the server numbers it.
pub fn next_confirmation_number(conn: &Connection) -> Result<Option<i64>> {
    if !is_sole_writer(conn)? {
        return Ok(None);
    }
    let last: Option<i64> = conn
        .query_row(
            "select max(confirmation_number) from reservations",
            [],
            |r| r.get(0),
        )
        .optional()?
        .flatten();
    Ok(Some(last.unwrap_or(0) + 1))
}

/// At adoption (inside its transaction): every locally numbered booking, and its insert waiting
/// in the outbox, carries its number as its legacy code, so the guest's number still finds it
/// whatever number the tenant gives it.
pub(crate) fn keep_local_numbers(conn: &Connection) -> Result<()> {
    conn.execute(
        "update reservations set legacy_confirmation_code = 'L-' || confirmation_number
          where confirmation_number is not null and legacy_confirmation_code is null",
        [],
    )?;
    conn.execute(
        "update outbox
            set values_json = json_set(values_json, '$.legacy_confirmation_code',
                    'L-' || json_extract(values_json, '$.confirmation_number'))
          where table_name = 'reservations' and op = 'insert'
            and json_extract(values_json, '$.confirmation_number') is not null
            and json_extract(values_json, '$.legacy_confirmation_code') is null",
        [],
    )?;
    Ok(())
}

/// A guest's figures as the server derives them (`app.refresh_guest_metrics`): bookings not
/// cancelled or no-show, and what their checked-out stays came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GuestFigures {
    pub bookings: i64,
    pub spent_minor: i64,
}

/// The guest's figures from this mirror's stays; a laptop that is its tenant's only writer shows
/// these, since no server computes them (a connected desk shows the server's).
pub fn guest_figures(conn: &Connection, guest_id: &str) -> Result<GuestFigures> {
    Ok(conn.query_row(
        "select count(*) filter (where status not in ('cancelled', 'no_show')),
                coalesce(sum(total_amount_cents) filter (where checked_out_at is not null), 0)
           from reservations where guest_id = ?1 and deleted_at is null",
        [guest_id],
        |r| {
            Ok(GuestFigures {
                bookings: r.get(0)?,
                spent_minor: r.get(1)?,
            })
        },
    )?)
}
