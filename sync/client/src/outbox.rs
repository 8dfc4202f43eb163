//! The one way to write locally: the row goes into the mirror and its change into the outbox in
//! the same SQLite transaction, numbered with the device's next sequence number. Nothing can
//! change the mirror's tables without leaving a change to push.

use pms_sync_protocol::hlc::{Clock, Hlc, SystemClock};
use pms_sync_protocol::merge::base_columns;
use pms_sync_protocol::tables::is_generated;
use pms_sync_protocol::wire::PushOp;
use rusqlite::Connection;
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::mirror;

/// A change waiting in the outbox.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxEntry {
    pub device_seq: i64,
    pub change_id: Uuid,
    pub table: String,
    pub op: PushOp,
    pub id: Uuid,
    pub values: Map<String, Value>,
    /// For an update: the values before the edit, for every column of the groups touched.
    pub base: Map<String, Value>,
    pub stamp: Option<Hlc>,
    pub acked: bool,
}

fn op_name(op: PushOp) -> &'static str {
    match op {
        PushOp::Insert => "insert",
        PushOp::Update => "update",
        PushOp::Delete => "delete",
    }
}

fn parse_op(name: &str) -> Result<PushOp> {
    match name {
        "insert" => Ok(PushOp::Insert),
        "update" => Ok(PushOp::Update),
        "delete" => Ok(PushOp::Delete),
        other => Err(Error::Data(format!("unknown outbox operation {other:?}"))),
    }
}

/// Writes a row locally and records the change. `values` are the columns written (for an update,
/// only the changed ones); the server computes generated columns, so they are refused here.
/// Returns the change's device sequence number; 0 for an update that changes nothing (no change
/// is recorded).
pub fn write(
    conn: &mut Connection,
    table: &str,
    op: PushOp,
    id: Uuid,
    values: Map<String, Value>,
) -> Result<i64> {
    write_with_clock(conn, &SystemClock, table, op, id, values)
}

/// [`write`], with the change stamped against `wall` instead of the system clock (a test's
/// laptop whose clock is off).
pub fn write_with_clock(
    conn: &mut Connection,
    wall: &dyn Clock,
    table: &str,
    op: PushOp,
    id: Uuid,
    values: Map<String, Value>,
) -> Result<i64> {
    let synced = mirror::synced(table)?;
    if let Some(column) = values
        .keys()
        .find(|c| !synced.columns.contains(&c.as_str()) || is_generated(table, c))
    {
        return Err(Error::Data(format!(
            "{column:?} cannot be written on {table}"
        )));
    }
    let tx = mirror::write_transaction(conn)?;
    let id_text = id.to_string();
    let mut values = values;
    let mut base = Map::new();
    if op == PushOp::Update {
        if let Some(before) = mirror::read(&tx, table, &id_text)? {
            // A column written with the value the laptop already shows is no edit: sent, it would
            // restate a view (its own earlier change, which the server may refuse) that the
            // server does not take, and the laptop would keep showing it.
            values.retain(|column, value| {
                before
                    .get(column)
                    .is_none_or(|shown| !same_json(shown, value))
            });
            if values.is_empty() {
                return Ok(0);
            }
            for column in base_columns(table, values.keys().map(String::as_str)) {
                base.insert(
                    column.to_owned(),
                    before.get(column).cloned().unwrap_or(Value::Null),
                );
            }
        }
    }
    let stamp = tick(&tx, wall.now_ms())?;
    match op {
        PushOp::Delete => mirror::delete(&tx, table, &id_text)?,
        PushOp::Insert | PushOp::Update => {
            let mut row = mirror::read(&tx, table, &id_text)?.unwrap_or_default();
            if op == PushOp::Insert {
                if let Some(tenant) = mirror::state(&tx, "tenant_id")? {
                    row.entry("tenant_id").or_insert(Value::String(tenant));
                }
            }
            row.insert("id".to_owned(), Value::String(id_text.clone()));
            row.extend(values.clone());
            derive_local(table, &mut row);
            mirror::upsert(&tx, table, &row)?;
        }
    }
    let device_seq: i64 = mirror::state(&tx, "next_device_seq")?
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    mirror::set_state(&tx, "next_device_seq", &(device_seq + 1).to_string())?;
    tx.execute(
        "insert into outbox (device_seq, change_id, table_name, op, row_id, values_json, created_at, base_json, stamp)
         values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        rusqlite::params![
            device_seq,
            Uuid::now_v7().to_string(),
            table,
            op_name(op),
            id_text,
            Value::Object(values).to_string(),
            chrono::Utc::now().to_rfc3339(),
            Value::Object(base).to_string(),
            stamp.to_string(),
        ],
    )?;
    tx.commit()?;
    Ok(device_seq)
}

/// How far ahead of both the server's time (as the laptop estimates it) and the newest stamp it
/// has seen the laptop's clock may be before a local edit starts again from them: twice the
/// server's cap on incoming stamps.
pub const MAX_AHEAD_OF_SERVER_MS: i64 = 120_000;

/// The laptop's clock for the next local event: its hybrid logical clock, kept in `sync_state`
/// (node = this mirror's own id, made once), ticked against the wall clock corrected by the
/// offset last measured against the server's time ([`observe_answer`]). A laptop whose clock
/// runs a day ahead thus stamps its edits in the server's time, and an edit it makes offline
/// does not beat a later edit made elsewhere when it finally arrives.
fn tick(conn: &Connection, wall_ms: i64) -> Result<Hlc> {
    let now_ms = wall_ms.saturating_add(server_offset_ms(conn)?);
    let mut clock = clock(conn)?;
    let observed = observed(conn)?;
    let floor = observed.map_or(now_ms, |seen| seen.wall_ms.max(now_ms));
    if clock.wall_ms > floor.saturating_add(MAX_AHEAD_OF_SERVER_MS) {
        // The clock is far ahead of both the (corrected) time and everything seen from the
        // server: stamps made while the wall clock ran ahead, before the laptop knew its
        // offset. Ordering after them would keep every later edit in the future, beating edits
        // made elsewhere after it; start again just after the newest stamp seen.
        clock = match observed {
            Some(seen) => Hlc {
                node: clock.node,
                ..seen
            },
            None => Hlc::start(clock.node),
        };
    }
    let stamp = clock.tick(now_ms);
    mirror::set_state(conn, "hlc", &clock.to_string())?;
    Ok(stamp)
}

/// A stamp seen from elsewhere (the newest write among pulled rows, or among the rows a push
/// touched): the laptop's clock moves past it, the receive rule of a hybrid logical clock, so
/// the next local edit orders after everything the laptop has seen even when its wall clock is
/// behind (a laptop a day slow would otherwise lose every conflict, and have a delete refused as
/// older than the edit it was made after). The wall clock is not read here: the next
/// [`write`] takes the later of it and this clock.
pub fn observe(conn: &Connection, remote: Hlc) -> Result<()> {
    let mut clock = clock(conn)?;
    clock.observe(remote, 0);
    mirror::set_state(conn, "hlc", &clock.to_string())?;
    if observed(conn)?.is_none_or(|seen| remote > seen) {
        mirror::set_state(conn, "observed_hlc", &remote.to_string())?;
    }
    Ok(())
}

/// The newest stamp seen from the server.
fn observed(conn: &Connection) -> Result<Option<Hlc>> {
    Ok(mirror::state(conn, "observed_hlc")?.and_then(|text| text.parse().ok()))
}

/// What a server answer tells the laptop's clock: the newest stamp among the rows it carries
/// ([`observe`]) and the server's wall time when it answered, against which the laptop measures
/// how far off its own wall clock is (read now, as `local_now_ms`). The offset ignores the
/// answer's travel time (milliseconds against the minutes and days it corrects).
pub fn observe_answer(
    conn: &Connection,
    clock: Option<Hlc>,
    server_time_ms: Option<i64>,
    local_now_ms: i64,
) -> Result<()> {
    if let Some(clock) = clock {
        observe(conn, clock)?;
    }
    if let Some(server_time_ms) = server_time_ms {
        mirror::set_state(
            conn,
            "server_offset_ms",
            &server_time_ms.saturating_sub(local_now_ms).to_string(),
        )?;
    }
    Ok(())
}

/// JSON equality, numbers by value (SQLite may read back `5` where `5.0` was written).
fn same_json(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

/// The last measured offset of the server's time from this laptop's wall clock (0 before any).
fn server_offset_ms(conn: &Connection) -> Result<i64> {
    Ok(mirror::state(conn, "server_offset_ms")?
        .and_then(|text| text.parse().ok())
        .unwrap_or(0))
}

/// The clock state kept in `sync_state`, or a new one for this mirror's node.
fn clock(conn: &Connection) -> Result<Hlc> {
    Ok(
        match mirror::state(conn, "hlc")?.and_then(|text| text.parse::<Hlc>().ok()) {
            Some(clock) => clock,
            None => {
                let node = match mirror::state(conn, "node_id")?.and_then(|n| n.parse().ok()) {
                    Some(node) => node,
                    None => {
                        let node = Uuid::now_v7();
                        mirror::set_state(conn, "node_id", &node.to_string())?;
                        node
                    }
                };
                Hlc::start(node)
            }
        },
    )
}

/// What the screens need of generated columns before the server has computed them.
pub(crate) fn derive_local(table: &str, row: &mut Map<String, Value>) {
    let text = |row: &Map<String, Value>, c: &str| {
        row.get(c)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    if table == "guests" {
        let full = format!("{} {}", text(row, "first_name"), text(row, "last_name"))
            .trim()
            .to_owned();
        row.insert("full_name".to_owned(), Value::String(full));
    }
}

/// Outbox entries in device order: the pending ones, and with `include_acked` also those the
/// server acknowledged but the pull has not yet brought back.
pub fn entries(conn: &Connection, include_acked: bool) -> Result<Vec<OutboxEntry>> {
    let mut statement = conn.prepare_cached(&format!(
        "{SELECT_ENTRIES} where status = 'pending' or ?1 order by device_seq"
    ))?;
    read_entries(&mut statement, rusqlite::params![include_acked])
}

/// The first `limit` pending entries in device order: the next batch to push.
pub fn pending(conn: &Connection, limit: usize) -> Result<Vec<OutboxEntry>> {
    let mut statement = conn.prepare_cached(&format!(
        "{SELECT_ENTRIES} where status = 'pending' order by device_seq limit ?1"
    ))?;
    read_entries(&mut statement, rusqlite::params![limit as i64])
}

/// The entries (pending or acknowledged) of one row, in device order: what a pull that has just
/// overwritten the row must apply again on top.
/// Whether the outbox holds no entry at all (pending or acknowledged): a pull then has nothing
/// to apply again on top of the rows it writes.
pub fn is_empty(conn: &Connection) -> Result<bool> {
    Ok(
        conn.query_row("select not exists (select 1 from outbox)", [], |row| {
            row.get(0)
        })?,
    )
}

pub fn entries_of_row(conn: &Connection, table: &str, id: &str) -> Result<Vec<OutboxEntry>> {
    let mut statement = conn.prepare_cached(&format!(
        "{SELECT_ENTRIES} where table_name = ?1 and row_id = ?2 order by device_seq"
    ))?;
    read_entries(&mut statement, rusqlite::params![table, id])
}

const SELECT_ENTRIES: &str = "select device_seq, change_id, table_name, op, row_id, values_json, status, base_json, stamp from outbox";

fn read_entries(
    statement: &mut rusqlite::CachedStatement<'_>,
    params: impl rusqlite::Params,
) -> Result<Vec<OutboxEntry>> {
    let rows = statement.query_map(params, |row| {
        Ok((
            row.get::<_, i64>(0)?,
            row.get::<_, String>(1)?,
            row.get::<_, String>(2)?,
            row.get::<_, String>(3)?,
            row.get::<_, String>(4)?,
            row.get::<_, String>(5)?,
            row.get::<_, String>(6)?,
            row.get::<_, String>(7)?,
            row.get::<_, Option<String>>(8)?,
        ))
    })?;
    let mut entries = Vec::new();
    for row in rows {
        let (device_seq, change_id, table, op, id, values, status, base, stamp) = row?;
        let base = match serde_json::from_str(&base) {
            Ok(Value::Object(map)) => map,
            _ => Map::new(),
        };
        let stamp = stamp.and_then(|text| text.parse().ok());
        let values = match serde_json::from_str(&values) {
            Ok(Value::Object(map)) => map,
            _ => {
                return Err(Error::Data(format!(
                    "outbox entry {device_seq} has unreadable values"
                )))
            }
        };
        entries.push(OutboxEntry {
            device_seq,
            change_id: change_id
                .parse()
                .map_err(|_| Error::Data("bad change id".to_owned()))?,
            table,
            op: parse_op(&op)?,
            id: id
                .parse()
                .map_err(|_| Error::Data("bad row id".to_owned()))?,
            values,
            base,
            stamp,
            acked: status == "acked",
        });
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pms_sync_protocol::hlc::{FakeClock, SystemClock};

    fn insert_guest(conn: &mut Connection, wall: &dyn Clock) -> Hlc {
        let values = serde_json::json!({"first_name": "Slow", "last_name": "Clock"});
        let Value::Object(values) = values else {
            unreachable!("an object literal")
        };
        let seq = write_with_clock(conn, wall, "guests", PushOp::Insert, Uuid::now_v7(), values)
            .expect("write");
        entries(conn, false)
            .expect("outbox")
            .into_iter()
            .find(|e| e.device_seq == seq)
            .and_then(|e| e.stamp)
            .expect("a stamped change")
    }

    /// A laptop whose wall clock is a day behind what it has seen stamps its next edits after it.
    #[test]
    fn a_slow_clock_stamps_after_what_it_observed() {
        let mut conn = mirror::open_in_memory().expect("mirror");
        let seen = Hlc {
            wall_ms: 1_800_000_000_000,
            counter: 5,
            node: Uuid::from_u128(9),
        };
        let slow = FakeClock::new(seen.wall_ms - 86_400_000);
        let before = insert_guest(&mut conn, &slow);
        assert!(before < seen, "without seeing it, the slow clock is behind");
        observe(&conn, seen).expect("observe");
        let after = insert_guest(&mut conn, &slow);
        assert!(after > seen, "{after} orders after {seen}");
        // An older stamp seen later does not move the clock back.
        observe(&conn, before).expect("observe");
        let next = insert_guest(&mut conn, &slow);
        assert!(next > after);
        // And a wall clock past everything seen takes over again.
        let fast = FakeClock::new(seen.wall_ms + 1_000);
        assert_eq!(insert_guest(&mut conn, &fast).wall_ms, seen.wall_ms + 1_000);
    }

    /// A laptop whose wall clock is a day ahead stamps its edits in the server's time once it
    /// has measured the offset from a server answer.
    #[test]
    fn a_fast_clock_stamps_in_the_servers_time_once_it_knows_its_offset() {
        let mut conn = mirror::open_in_memory().expect("mirror");
        let server_now = 1_800_000_000_000;
        let fast = FakeClock::new(server_now + 86_400_000);
        assert_eq!(
            insert_guest(&mut conn, &fast).wall_ms,
            server_now + 86_400_000
        );
        observe_answer(&conn, None, Some(server_now), fast.now_ms()).expect("an answer");
        fast.advance(5_000);
        let stamp = insert_guest(&mut conn, &fast);
        assert_eq!(
            stamp.wall_ms,
            server_now + 5_000,
            "five seconds after the answer, in the server's time"
        );
    }

    /// Writing a value the laptop already shows records no change: sent, it would restate the
    /// laptop's own earlier (perhaps refused) change, which the server does not take.
    #[test]
    fn an_update_that_changes_nothing_records_nothing() {
        let mut conn = mirror::open_in_memory().expect("mirror");
        let stamp = insert_guest(&mut conn, &SystemClock);
        assert!(stamp.wall_ms > 0);
        let id: Uuid = entries(&conn, false).expect("outbox")[0].id;
        let values = |v: Value| match v {
            Value::Object(map) => map,
            _ => unreachable!("an object literal"),
        };
        let same = write(
            &mut conn,
            "guests",
            PushOp::Update,
            id,
            values(serde_json::json!({"first_name": "Slow"})),
        )
        .expect("write");
        assert_eq!(same, 0);
        assert_eq!(
            entries(&conn, false).expect("outbox").len(),
            1,
            "nothing recorded"
        );
        let changed = write(
            &mut conn,
            "guests",
            PushOp::Update,
            id,
            values(serde_json::json!({"first_name": "Slow", "last_name": "Changed"})),
        )
        .expect("write");
        let entry = entries(&conn, false)
            .expect("outbox")
            .into_iter()
            .find(|e| e.device_seq == changed)
            .expect("the change");
        assert_eq!(
            entry.values.keys().collect::<Vec<_>>(),
            vec!["last_name"],
            "only what changed is sent"
        );
    }
}
