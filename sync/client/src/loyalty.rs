//! Loyalty on the laptop: the balance a clerk sees is the server's balance plus the ledger entries
//! still in the outbox, and a redemption beyond it is refused here, before it can overdraw. (Two
//! laptops offline at once can still overdraw together; the server then rejects the later one
//! and it lands in the conflicts inbox.)

use pms_sync_protocol::hlc::{Clock, SystemClock};
use pms_sync_protocol::wire::PushOp;
use rusqlite::{Connection, OptionalExtension};
use serde_json::{json, Map, Value};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::outbox;

/// The member's points as the desk should see them: the server's balance plus pending entries.
pub fn available_points(conn: &Connection, member_id: Uuid) -> Result<i64> {
    let member = member_id.to_string();
    let server: i64 = conn
        .query_row(
            "select coalesce(points_balance, 0) from loyalty_members where id = ?1",
            [&member],
            |r| r.get(0),
        )
        .optional()?
        .unwrap_or(0);
    // Entries written here and not yet brought back by a pull (pending, or acknowledged but
    // not yet reflected in the pulled balance).
    let pending: i64 = outbox::entries(conn, true)?
        .iter()
        .filter(|entry| entry.table == "loyalty_transactions" && entry.op == PushOp::Insert)
        .filter(|entry| {
            entry.values.get("member_id").and_then(Value::as_str) == Some(member.as_str())
        })
        .filter_map(|entry| entry.values.get("points").and_then(Value::as_i64))
        .sum();
    Ok(server + pending)
}

/// Redeems `points` for the member: refused with [`Error::InsufficientPoints`] beyond what the
/// member has. Returns the ledger entry's id.
pub fn redeem(
    conn: &mut Connection,
    member_id: Uuid,
    points: i64,
    description: &str,
) -> Result<Uuid> {
    redeem_with_clock(conn, &SystemClock, member_id, points, description)
}

/// [`redeem`] on a laptop whose clock is `wall` (the change's stamp).
pub fn redeem_with_clock(
    conn: &mut Connection,
    wall: &dyn Clock,
    member_id: Uuid,
    points: i64,
    description: &str,
) -> Result<Uuid> {
    if points <= 0 {
        return Err(Error::Data(
            "a redemption takes a positive number of points".to_owned(),
        ));
    }
    let available = available_points(conn, member_id)?;
    if points > available {
        return Err(Error::InsufficientPoints {
            available,
            requested: points,
        });
    }
    add_entry(
        conn,
        wall,
        Uuid::now_v7(),
        member_id,
        "redeem",
        -points,
        description,
        None,
    )
}

/// Adds earned points (a stay's, a bonus) for the member. Returns the ledger entry's id.
pub fn earn(
    conn: &mut Connection,
    member_id: Uuid,
    points: i64,
    kind: &str,
    description: &str,
) -> Result<Uuid> {
    earn_with_clock(conn, &SystemClock, member_id, points, kind, description)
}

/// [`earn`] on a laptop whose clock is `wall`: the points lapse counted from that time, and the
/// change is stamped by it.
pub fn earn_with_clock(
    conn: &mut Connection,
    wall: &dyn Clock,
    member_id: Uuid,
    points: i64,
    kind: &str,
    description: &str,
) -> Result<Uuid> {
    if points <= 0 || !matches!(kind, "earn" | "bonus") {
        return Err(Error::Data(
            "earning takes positive points of type earn or bonus".to_owned(),
        ));
    }
    add_entry(
        conn,
        wall,
        Uuid::now_v7(),
        member_id,
        kind,
        points,
        description,
        None,
    )
}

/// An entry derived from an event (a stay's points, a first-stay bonus), with the event's
/// deterministic id ([`pms_sync_protocol::derived`]) and a reference to what it derives from.
/// Returns `None` when this laptop already holds the entry (it was derived here, or pulled from
/// another desk that derived it first). Another laptop deriving it offline makes the same id,
/// which the server takes once.
pub fn earn_derived(
    conn: &mut Connection,
    id: Uuid,
    member_id: Uuid,
    points: i64,
    kind: &str,
    description: &str,
    reference: (&str, Uuid),
) -> Result<Option<Uuid>> {
    if points <= 0 || !matches!(kind, "earn" | "bonus") {
        return Err(Error::Data(
            "earning takes positive points of type earn or bonus".to_owned(),
        ));
    }
    if crate::mirror::read(conn, "loyalty_transactions", &id.to_string())?.is_some() {
        return Ok(None);
    }
    add_entry(
        conn,
        &SystemClock,
        id,
        member_id,
        kind,
        points,
        description,
        Some(reference),
    )
    .map(Some)
}

/// Writes a ledger entry for the member through the outbox (the server computes the balances).
#[allow(clippy::too_many_arguments)]
fn add_entry(
    conn: &mut Connection,
    wall: &dyn Clock,
    id: Uuid,
    member_id: Uuid,
    kind: &str,
    points: i64,
    description: &str,
    reference: Option<(&str, Uuid)>,
) -> Result<Uuid> {
    let (program_id, guest_id, expiry_days): (String, String, Option<i64>) = conn
        .query_row(
            "select m.program_id, m.guest_id, p.points_expiry_days
               from loyalty_members m left join loyalty_programs p on p.id = m.program_id
              where m.id = ?1",
            [member_id.to_string()],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .map_err(|_| Error::Data(format!("no loyalty member {member_id} on this laptop")))?;
    let mut values = Map::new();
    values.insert("member_id".to_owned(), json!(member_id));
    values.insert("program_id".to_owned(), json!(program_id));
    values.insert("guest_id".to_owned(), json!(guest_id));
    values.insert("type".to_owned(), json!(kind));
    values.insert("points".to_owned(), json!(points));
    values.insert("description".to_owned(), json!(description));
    // Earned points lapse after the program's expiry period (the server's worker expires them).
    if let (Some(days), true) = (expiry_days, points > 0) {
        let now =
            chrono::DateTime::from_timestamp_millis(wall.now_ms()).unwrap_or_else(chrono::Utc::now);
        let expires = now + chrono::Duration::days(days);
        // microseconds, as Postgres keeps them, so the mirror and the server hold the same text
        let expires = expires.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        values.insert("expires_at".to_owned(), json!(expires));
    }
    if let Some((reference_type, reference_id)) = reference {
        values.insert("reference_type".to_owned(), json!(reference_type));
        values.insert("reference_id".to_owned(), json!(reference_id.to_string()));
    }
    outbox::write_with_clock(
        conn,
        wall,
        "loyalty_transactions",
        PushOp::Insert,
        id,
        values,
    )?;
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mirror;

    fn member_with(conn: &Connection, balance: i64) -> Uuid {
        let member = Uuid::now_v7();
        let Value::Object(row) = json!({
            "id": member, "tenant_id": Uuid::now_v7(), "program_id": Uuid::now_v7(), "guest_id": Uuid::now_v7(),
            "points_balance": balance, "status": "active",
        }) else {
            unreachable!()
        };
        mirror::upsert(conn, "loyalty_members", &row).expect("member pulled from the server");
        member
    }

    #[test]
    fn the_desk_sees_the_server_balance_plus_pending_entries_and_cannot_overdraw() {
        let mut conn = mirror::open_in_memory().expect("mirror");
        let member = member_with(&conn, 500);
        assert_eq!(available_points(&conn, member).expect("balance"), 500);
        redeem(&mut conn, member, 300, "Dinner").expect("within the balance");
        assert_eq!(available_points(&conn, member).expect("balance"), 200);
        let refused = redeem(&mut conn, member, 300, "Spa");
        assert!(
            matches!(
                refused,
                Err(Error::InsufficientPoints {
                    available: 200,
                    requested: 300
                })
            ),
            "{refused:?}"
        );
        earn(&mut conn, member, 150, "earn", "Stay").expect("earn");
        assert_eq!(available_points(&conn, member).expect("balance"), 350);
        redeem(&mut conn, member, 350, "Spa").expect("now it fits");
        assert_eq!(available_points(&conn, member).expect("balance"), 0);
        // nothing refused reached the outbox: 3 entries written (redeem, earn, redeem)
        assert_eq!(outbox::entries(&conn, true).expect("outbox").len(), 3);
    }

    #[test]
    fn points_earned_on_a_laptop_lapse_counted_from_its_own_clock() {
        let mut conn = mirror::open_in_memory().expect("mirror");
        let member = member_with(&conn, 0);
        let program: String = conn
            .query_row(
                "select program_id from loyalty_members where id = ?1",
                [member.to_string()],
                |r| r.get(0),
            )
            .expect("program");
        let Value::Object(row) = json!({"id": program, "name": "Club", "points_expiry_days": 30})
        else {
            unreachable!()
        };
        mirror::upsert(&conn, "loyalty_programs", &row).expect("program pulled");
        // 2031-03-10 12:00 UTC on this laptop
        let wall = pms_sync_protocol::hlc::FakeClock::new(1_930_910_400_000);
        earn_with_clock(&mut conn, &wall, member, 100, "earn", "Stay").expect("earn");
        wall.advance(-3_600_000);
        redeem_with_clock(&mut conn, &wall, member, 40, "Dinner").expect("redeem");
        let written = outbox::entries(&conn, true).expect("outbox");
        assert_eq!(
            written[0].values.get("expires_at"),
            Some(&json!("2031-04-09T12:00:00.000000Z"))
        );
        // each stamped by the laptop's clock (set back an hour before the redemption)
        let stamps: Vec<i64> = written
            .iter()
            .map(|e| e.stamp.expect("stamped").wall_ms)
            .collect();
        assert_eq!(stamps, [1_930_910_400_000, 1_930_906_800_000]);
    }

    #[test]
    fn other_members_entries_do_not_count() {
        let mut conn = mirror::open_in_memory().expect("mirror");
        let (one, two) = (member_with(&conn, 100), member_with(&conn, 100));
        redeem(&mut conn, one, 100, "All of it").expect("redeem");
        assert_eq!(available_points(&conn, two).expect("balance"), 100);
        assert!(redeem(&mut conn, one, 1, "more").is_err());
        assert!(redeem(&mut conn, two, 0, "nothing").is_err());
    }
}
