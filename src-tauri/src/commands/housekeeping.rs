//! Housekeeping: every room of the property with its cleaning status (clean, dirty, inspected,
//! out of order) and who is in it; a status change goes through the outbox like any write.
//! Check-out marks a room dirty (`reservations::act`); an out-of-order room is never offered.

use rusqlite::Connection;
use serde::Serialize;
use serde_json::json;
use tauri::State;

use crate::db;
use crate::error::{AppError, AppResult, CmdResult};
use crate::state::Desk;

pub const STATUSES: &[&str] = &["clean", "dirty", "inspected", "out_of_order"];

#[derive(Debug, Clone, Serialize, PartialEq, ts_rs::TS)]
pub struct RoomStatus {
    pub id: String,
    pub number: String,
    pub floor: Option<i64>,
    pub room_type_name: String,
    pub housekeeping_status: String,
    pub notes: Option<String>,
    /// The guest in the room now, if any.
    pub occupant: Option<String>,
    pub pending_sync: bool,
}

pub fn rooms(conn: &Connection) -> AppResult<Vec<RoomStatus>> {
    let property = db::property(conn)?;
    let mut statement = conn.prepare_cached(
        "select rm.id, rm.number, rm.floor, coalesce(rt.name, ''), coalesce(rm.housekeeping_status, 'clean'), rm.notes,
                (select r.guest_name from reservations r where r.room_id = rm.id and r.status = 'checked_in'
                    and r.deleted_at is null limit 1),
                exists (select 1 from outbox o where o.table_name = 'rooms' and o.row_id = rm.id and o.status = 'pending')
           from rooms rm left join room_types rt on rt.id = rm.room_type_id
          where rm.property_id = ?1 and rm.deleted_at is null
          order by length(rm.number), rm.number",
    )?;
    let rows = statement.query_map([&property.id], |r| {
        Ok(RoomStatus {
            id: r.get(0)?,
            number: r.get(1)?,
            floor: r.get(2)?,
            room_type_name: r.get(3)?,
            housekeeping_status: r.get(4)?,
            notes: r.get(5)?,
            occupant: r.get(6)?,
            pending_sync: r.get(7)?,
        })
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

pub fn set_status(conn: &mut Connection, room_id: &str, status: &str) -> AppResult<RoomStatus> {
    if !STATUSES.contains(&status) {
        return Err(AppError::validation(
            "status",
            "Choose clean, dirty, inspected or out of order.",
        ));
    }
    let id = db::parse_id("room_id", room_id)?;
    let current = rooms(conn)?
        .into_iter()
        .find(|r| r.id == room_id)
        .ok_or_else(|| AppError::not_found("The room"))?;
    if current.housekeeping_status != status {
        db::update(conn, "rooms", id, json!({"housekeeping_status": status}))?;
    }
    rooms(conn)?
        .into_iter()
        .find(|r| r.id == room_id)
        .ok_or_else(|| AppError::not_found("The room"))
}

#[tauri::command(rename_all = "snake_case")]
pub async fn list_rooms(desk: State<'_, Desk>) -> CmdResult<Vec<RoomStatus>> {
    Ok(rooms(&desk.conn())?)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn set_room_status(
    desk: State<'_, Desk>,
    room_id: String,
    status: String,
) -> CmdResult<RoomStatus> {
    let room = set_status(&mut desk.conn(), &room_id, &status)?;
    desk.changed();
    Ok(room)
}
