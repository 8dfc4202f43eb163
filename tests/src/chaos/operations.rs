//! The front-desk operations a campaign (and the randomized sync suite) makes on a laptop's
//! mirror, through the same client library the desk uses: each draws its details from what the
//! mirror holds (a guest, a free room, a member's balance), acts, and says what the desk
//! answered: the changes it put in the outbox, or the refusal the clerk saw.

use chrono::{Duration, NaiveDate};
use pms_sync_client::folio::{self, Charge, Payment};
use pms_sync_client::{loyalty, mirror, outbox};
use pms_sync_protocol::hlc::{Clock, SystemClock};
use pms_sync_protocol::merge;
use pms_sync_protocol::wire::PushOp;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rusqlite::Connection;
use serde_json::{json, Value};
use uuid::Uuid;

use super::history::{OpKind, Outcome, RowRef};
use crate::laptops::object;

/// A laptop clock `offset_ms` off the machine's (a laptop whose clock is wrong).
#[derive(Debug, Clone, Copy, Default)]
pub struct SkewedClock {
    pub offset_ms: i64,
}

impl Clock for SkewedClock {
    fn now_ms(&self) -> i64 {
        SystemClock.now_ms() + self.offset_ms
    }
}

/// The first night the campaign books (far from the seeded stays, so the seeded calendar does
/// not decide which bookings fit).
pub const FIRST_NIGHT: NaiveDate = match NaiveDate::from_ymd_opt(2032, 1, 1) {
    Some(day) => day,
    None => panic!("a valid date"),
};

fn day(offset: i64) -> String {
    (FIRST_NIGHT + Duration::days(offset)).to_string()
}

/// One row id of `statement`'s first column, at random.
fn pick(conn: &Connection, statement: &str, rng: &mut ChaCha8Rng) -> Option<String> {
    let ids: Vec<String> = conn
        .prepare(statement)
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .unwrap_or_default();
    (!ids.is_empty()).then(|| ids[rng.random_range(0..ids.len())].clone())
}

fn uuid(text: &str) -> Uuid {
    text.parse().expect("the mirror holds uuids")
}

/// The next device sequence number the outbox will give.
fn next_seq(conn: &Connection) -> i64 {
    mirror::state(conn, "next_device_seq")
        .ok()
        .flatten()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
}

/// What one operation did.
pub struct Performed {
    pub intent: Value,
    pub outcome: Outcome,
}

/// Performs `kind` on the mirror on a laptop whose clock is `clock`: every write is stamped by
/// it, and the folio's business dates and the points' expiry are read from it.
pub fn perform(
    conn: &mut Connection,
    clock: &dyn Clock,
    kind: OpKind,
    rng: &mut ChaCha8Rng,
) -> Performed {
    let before = next_seq(conn);
    let (mut intent, result) = match act(conn, clock, kind, rng) {
        Ok(Some(intent)) => (intent, Ok(())),
        Ok(None) => {
            return Performed {
                intent: Value::Null,
                outcome: Outcome::Nothing,
            }
        }
        Err((intent, message)) => (intent, Err(message)),
    };
    let outcome = match result {
        Err(message) => Outcome::Refused { message },
        Ok(()) => {
            // The changes this operation put in the outbox are the ones numbered since.
            let written: Vec<_> = outbox::entries(conn, true)
                .expect("outbox")
                .into_iter()
                .filter(|e| e.device_seq >= before)
                .collect();
            // What the mirror showed of the groups an update touches travels in the intent from
            // `act` (read before the write); it is the history's `seen`, not part of the intent.
            let seen = match intent.as_object_mut().and_then(|i| i.remove("seen")) {
                Some(Value::Object(groups)) => groups.into_iter().collect(),
                _ => Default::default(),
            };
            Outcome::Accepted {
                seen,
                rows: written
                    .iter()
                    .map(|e| RowRef {
                        table: e.table.clone(),
                        id: e.id,
                    })
                    .collect(),
                change_ids: written.iter().map(|e| e.change_id).collect(),
            }
        }
    };
    Performed { intent, outcome }
}

/// The operation's intent, `None` when there is nothing to operate on, or the intent and the
/// refusal the clerk saw.
fn act(
    conn: &mut Connection,
    clock: &dyn Clock,
    kind: OpKind,
    rng: &mut ChaCha8Rng,
) -> Result<Option<Value>, (Value, String)> {
    let write = |conn: &mut Connection, table: &str, op: PushOp, id: Uuid, intent: Value| {
        let seen = seen_groups(conn, table, op, id, &intent);
        outbox::write_with_clock(conn, clock, table, op, id, object(intent.clone()))
            .map(|_| Some(json!({"table": table, "id": id, "values": intent, "seen": seen})))
            .map_err(|e| {
                (
                    json!({"table": table, "id": id, "values": intent}),
                    e.to_string(),
                )
            })
    };
    match kind {
        OpKind::GuestCreate => {
            let n: u32 = rng.random();
            write(
                conn,
                "guests",
                PushOp::Insert,
                Uuid::now_v7(),
                json!({"first_name": format!("Guest{n}"), "last_name": "Chaos"}),
            )
        }
        OpKind::GuestEdit => {
            let Some(id) = pick(conn, "select id from guests order by id limit 30", rng) else {
                return Ok(None);
            };
            // Few guests and few columns, so laptops often edit one guest's same field group
            // (a conflict to merge) as well as different groups (both kept).
            let column = ["phone", "notes", "city", "email", "last_name"][rng.random_range(0..5)];
            let value = if column == "email" {
                format!("g{}@example.com", rng.random::<u32>())
            } else {
                format!("{column} {}", rng.random::<u16>())
            };
            write(
                conn,
                "guests",
                PushOp::Update,
                uuid(&id),
                json!({ column: value }),
            )
        }
        OpKind::Booking => {
            // Most bookings aim at the same three rooms and the first two weeks, so laptops
            // offline together book the same room-nights.
            let hot = rng.random_bool(0.7);
            let statement = if hot {
                "select property_id, room_type_id, id from rooms where deleted_at is null order by id limit 3"
            } else {
                "select property_id, room_type_id, id from rooms where deleted_at is null"
            };
            let rooms: Vec<(String, String, String)> = conn
                .prepare(statement)
                .and_then(|mut s| {
                    s.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                        .collect()
                })
                .unwrap_or_default();
            if rooms.is_empty() {
                return Ok(None);
            }
            let (property, room_type, room) = rooms[rng.random_range(0..rooms.len())].clone();
            let start = rng.random_range(0..if hot { 14 } else { 60 });
            let (check_in, check_out) = (day(start), day(start + rng.random_range(1..4)));
            let intent = json!({"guest_name": "Chaos Stay", "property_id": property, "room_type_id": room_type,
                                "room_id": room, "check_in_date": check_in, "check_out_date": check_out,
                                "status": "confirmed"});
            if room_taken(conn, &room, &check_in, &check_out, None) {
                return Err((intent, "That room is taken on those nights.".to_owned()));
            }
            write(conn, "reservations", PushOp::Insert, Uuid::now_v7(), intent)
        }
        OpKind::StayMove => {
            let stay: Option<(String, String)> = conn
                .query_row(
                    "select id, property_id from reservations where check_in_date >= ?1 order by random() limit 1",
                    [FIRST_NIGHT.to_string()],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .ok();
            let Some((id, property)) = stay else {
                return Ok(None);
            };
            let room: Option<(String, String)> = conn
                .query_row(
                    "select id, room_type_id from rooms where property_id = ?1 and deleted_at is null order by random() limit 1",
                    [&property],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .ok();
            let Some((room, room_type)) = room else {
                return Ok(None);
            };
            let start = rng.random_range(0..14);
            let (check_in, check_out) = (day(start), day(start + rng.random_range(1..4)));
            let intent = json!({"room_id": room, "room_type_id": room_type, "check_in_date": check_in,
                                "check_out_date": check_out});
            if room_taken(conn, &room, &check_in, &check_out, Some(&id)) {
                return Err((intent, "That room is taken on those nights.".to_owned()));
            }
            write(conn, "reservations", PushOp::Update, uuid(&id), intent)
        }
        OpKind::StayStatus => {
            let Some(id) = pick(
                conn,
                &format!("select id from reservations where check_in_date >= '{FIRST_NIGHT}'"),
                rng,
            ) else {
                return Ok(None);
            };
            let status =
                ["checked_in", "checked_out", "cancelled", "no_show"][rng.random_range(0..4)];
            write(
                conn,
                "reservations",
                PushOp::Update,
                uuid(&id),
                json!({"status": status}),
            )
        }
        OpKind::LoyaltyEarn => {
            let Some(member) = pick(
                conn,
                "select id from loyalty_members order by id limit 3",
                rng,
            ) else {
                return Ok(None);
            };
            let points = rng.random_range(10..300);
            let intent = json!({"member_id": member, "points": points});
            loyalty::earn_with_clock(conn, clock, uuid(&member), points, "earn", "chaos stay")
                .map(|_| Some(intent.clone()))
                .map_err(|e| (intent, e.to_string()))
        }
        OpKind::LoyaltyEnroll => {
            // As the desk enrols (`commands::loyalty::enroll`): a guest of this mirror not yet a
            // member of the program, one insert; the server numbers the membership. Few guests,
            // so desks offline together enrol the same guest (the server refuses the second).
            let Some(program) = pick(
                conn,
                "select id from loyalty_programs where deleted_at is null order by id limit 1",
                rng,
            ) else {
                return Ok(None);
            };
            let Some(guest) = pick(
                conn,
                "select id from guests where deleted_at is null order by id limit 30",
                rng,
            ) else {
                return Ok(None);
            };
            let intent = json!({"program_id": program, "guest_id": guest, "status": "active",
                                "enrolled_at": chrono::DateTime::from_timestamp_millis(clock.now_ms()).unwrap_or_default().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)});
            let member: bool = conn
                .query_row(
                    "select count(*) > 0 from loyalty_members where program_id = ?1 and guest_id = ?2 and deleted_at is null",
                    [&program, &guest],
                    |r| r.get(0),
                )
                .unwrap_or(true);
            if member {
                return Err((
                    intent,
                    "The guest is already a member of this program.".to_owned(),
                ));
            }
            write(
                conn,
                "loyalty_members",
                PushOp::Insert,
                Uuid::now_v7(),
                intent,
            )
        }
        OpKind::LoyaltyRedeem => {
            // Near the balance the desk shows: sometimes just within, sometimes just beyond.
            let Some(member) = pick(
                conn,
                "select id from loyalty_members order by id limit 3",
                rng,
            ) else {
                return Ok(None);
            };
            let available = loyalty::available_points(conn, uuid(&member)).unwrap_or(0);
            let points = (available + rng.random_range(-40..20)).max(1);
            let intent = json!({"member_id": member, "points": points, "available": available});
            loyalty::redeem_with_clock(conn, clock, uuid(&member), points, "chaos redemption")
                .map(|_| Some(intent.clone()))
                .map_err(|e| (intent, e.to_string()))
        }
        OpKind::Payment | OpKind::Refund => {
            let Some(stay) = pick_stay(conn, rng) else {
                return Ok(None);
            };
            let refund = kind == OpKind::Refund;
            let amount = rng.random_range(500..20_000);
            let method = folio::PAYMENT_METHODS[rng.random_range(0..folio::PAYMENT_METHODS.len())];
            let intent = json!({"reservation_id": stay, "amount_minor": amount, "method": method, "refund": refund});
            folio::take_payment_with_clock(
                conn,
                clock,
                &Payment {
                    reservation_id: uuid(&stay),
                    amount_minor: amount,
                    method,
                    refund,
                    ..Payment::default()
                },
            )
            .map(|_| Some(intent.clone()))
            .map_err(|e| (intent, e.to_string()))
        }
        OpKind::Charge => {
            let Some(stay) = pick_stay(conn, rng) else {
                return Ok(None);
            };
            let price = rng.random_range(200..8_000);
            let intent = json!({"reservation_id": stay, "unit_price_minor": price, "charge_type": "minibar"});
            folio::post_charge_with_clock(
                conn,
                clock,
                &Charge {
                    reservation_id: uuid(&stay),
                    description: "Minibar",
                    unit_price_minor: price,
                    quantity: 1,
                    charge_type: "minibar",
                    ..Charge::default()
                },
            )
            .map(|_| Some(intent.clone()))
            .map_err(|e| (intent, e.to_string()))
        }
        OpKind::Void => {
            let Some(stay) = pick(
                conn,
                "select distinct reservation_id from folio_entries
                  where kind in ('payment', 'refund', 'charge') and voids_entry_id is null",
                rng,
            ) else {
                return Ok(None);
            };
            let entries = folio::entries(conn, uuid(&stay)).unwrap_or_default();
            let candidates: Vec<&folio::Entry> = entries
                .iter()
                .filter(|e| {
                    matches!(e.kind.as_str(), "payment" | "refund" | "charge")
                        && e.voids_entry_id.is_none()
                })
                .collect();
            if candidates.is_empty() {
                return Ok(None);
            }
            // Sometimes an entry voided already: the desk refuses it.
            let entry = candidates[rng.random_range(0..candidates.len())];
            let intent = json!({"reservation_id": stay, "entry_id": entry.id, "kind": entry.kind});
            folio::void_entry_with_clock(
                conn,
                clock,
                uuid(&stay),
                uuid(&entry.id),
                "posted by mistake",
                None,
            )
            .map(|()| Some(intent.clone()))
            .map_err(|e| (intent, e.to_string()))
        }
    }
}

/// What the mirror shows of each field group an update of `values` touches (every synced
/// column of the group: what the outbox sends as the change's base), by group name; empty for
/// an insert.
fn seen_groups(conn: &Connection, table: &str, op: PushOp, id: Uuid, values: &Value) -> Value {
    let mut seen = serde_json::Map::new();
    if op != PushOp::Update {
        return Value::Object(seen);
    }
    let Ok(Some(row)) = mirror::read(conn, table, &id.to_string()) else {
        return Value::Object(seen);
    };
    let changed: Vec<&str> = values
        .as_object()
        .map(|v| v.keys().map(String::as_str).collect())
        .unwrap_or_default();
    for column in merge::base_columns(table, changed) {
        let group = seen
            .entry(merge::group_of(table, column).as_str().to_owned())
            .or_insert_with(|| Value::Object(serde_json::Map::new()));
        if let Value::Object(group) = group {
            group.insert(
                column.to_owned(),
                row.get(column).cloned().unwrap_or(Value::Null),
            );
        }
    }
    Value::Object(seen)
}

/// A stay to pay on or charge: mostly one the campaign booked, sometimes a seeded one.
fn pick_stay(conn: &Connection, rng: &mut ChaCha8Rng) -> Option<String> {
    if rng.random_bool(0.7) {
        if let Some(stay) = pick(
            conn,
            &format!("select id from reservations where check_in_date >= '{FIRST_NIGHT}'"),
            rng,
        ) {
            return Some(stay);
        }
    }
    pick(
        conn,
        "select id from reservations where status in ('confirmed', 'checked_in') order by id limit 20",
        rng,
    )
}

/// Whether this mirror shows another active stay in `room` on any of the nights.
fn room_taken(
    conn: &Connection,
    room: &str,
    check_in: &str,
    check_out: &str,
    except: Option<&str>,
) -> bool {
    conn.query_row(
        "select count(*) from reservations where room_id = ?1 and deleted_at is null
            and status in ('pending', 'confirmed', 'checked_in')
            and check_in_date < ?3 and check_out_date > ?2 and id <> coalesce(?4, '')",
        rusqlite::params![room, check_in, check_out, except],
        |r| r.get::<_, i64>(0),
    )
    .map(|n| n > 0)
    .unwrap_or(true)
}
