//! The sync status bar and the conflicts inbox.
//!
//! The status joins what the background sync last saw (online, last sync, errors) with what the
//! mirror holds now (changes waiting, conflicts open). Each conflict is shown with what the clerk
//! needs to decide (for a booking: guest, room, dates) and resolved by keeping mine, keeping
//! theirs, or an edit of mine (`pms_sync_client::conflicts::resolve`).

use pms_sync_client::conflicts::{self, Resolution};
use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tauri::State;

use super::reservations::{check_room, stay_dates};
use super::setup::{app_status, Mode};
use crate::db;
use crate::error::{AppError, AppResult, CmdResult};
use crate::state::{Desk, SyncInfo};

#[derive(Debug, Clone, Serialize, PartialEq, ts_rs::TS)]
pub struct SyncStatus {
    pub mode: Mode,
    #[serde(flatten)]
    pub info: SyncInfo,
    pub changes_waiting: i64,
    pub conflicts_open: i64,
}

pub fn status(desk: &Desk) -> AppResult<SyncStatus> {
    let mode = app_status(desk)?.mode;
    let conn = desk.conn();
    Ok(SyncStatus {
        mode,
        info: desk.sync_info(),
        changes_waiting: db::changes_waiting(&conn)?,
        conflicts_open: db::conflicts_open(&conn)?,
    })
}

#[derive(Debug, Clone, Serialize, PartialEq, ts_rs::TS)]
pub struct Conflict {
    pub id: i64,
    pub table: String,
    pub row_id: String,
    pub op: String,
    /// `room_unavailable`, `insufficient_points`, `superseded`, `invalid_transition`, …
    pub reason: String,
    pub message: Option<String>,
    /// A sentence for the clerk: what happened.
    pub summary: String,
    #[ts(type = "Record<string, unknown>")]
    pub mine: Map<String, Value>,
    #[ts(type = "Record<string, unknown> | null")]
    pub theirs: Option<Map<String, Value>>,
    pub created_at: String,
}

fn summary(table: &str, reason: &str, mine: &Map<String, Value>) -> String {
    let text = |c: &str| {
        mine.get(c)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    match (table, reason) {
        ("reservations", "room_unavailable") => format!(
            "The room of {}'s booking ({} to {}) was taken by another desk first. Move it to another room or cancel it.",
            text("guest_name"),
            text("check_in_date"),
            text("check_out_date")
        ),
        ("loyalty_transactions", "insufficient_points") => format!(
            "A redemption of {} points overdrew the balance (another desk redeemed too). Adjust the points or drop it.",
            mine.get("points").and_then(Value::as_i64).map(i64::abs).unwrap_or_default()
        ),
        (_, "superseded") => "Someone else changed the same details later; their version was kept.".to_owned(),
        (_, "overwritten") => "Your change replaced someone else's at the same time; theirs is shown for review.".to_owned(),
        (_, "invalid_transition") => "The booking's status had already moved on at the server.".to_owned(),
        ("loyalty_transactions", "stay_not_checked_out") => format!(
            "{} points for a stay were not earned: the server did not accept its check-out (another desk changed the booking first).",
            mine.get("points").and_then(Value::as_i64).unwrap_or_default()
        ),
        (_, "result_expired") => "This change was sent long ago and the server no longer knows whether it was applied. Compare it with the current details and enter it again if needed.".to_owned(),
        (_, "row_erased") => "The guest's personal data was erased at the server; the change was not applied and cannot be.".to_owned(),
        (_, "too_large") => "A change was too large to send to the server (very long notes, say); it was not sent. Shorten it and enter it again.".to_owned(),
        (table, reason) => format!("A change to {} was refused ({}).", table.replace('_', " "), reason.replace('_', " ")),
    }
}

fn as_object(text: Option<String>) -> Option<Map<String, Value>> {
    match serde_json::from_str(text.as_deref()?) {
        Ok(Value::Object(map)) => Some(map),
        _ => None,
    }
}

pub fn list(conn: &Connection) -> AppResult<Vec<Conflict>> {
    let mut statement = conn.prepare(
        "select id, table_name, row_id, op, reason, message, mine_json, theirs_json, created_at
           from conflicts where resolved_at is null order by id",
    )?;
    let rows = statement.query_map([], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, String>(4)?,
            r.get::<_, Option<String>>(5)?,
            r.get::<_, String>(6)?,
            r.get::<_, Option<String>>(7)?,
            r.get::<_, String>(8)?,
        ))
    })?;
    let mut found = Vec::new();
    for row in rows {
        let (id, table, row_id, op, reason, message, mine, theirs, created_at) = row?;
        let mine = as_object(Some(mine)).unwrap_or_default();
        found.push(Conflict {
            summary: summary(&table, &reason, &mine),
            id,
            table,
            row_id,
            op,
            reason,
            message,
            mine,
            theirs: as_object(theirs),
            created_at,
        });
    }
    Ok(found)
}

/// How the clerk resolved a conflict, from the UI.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "keep", rename_all = "snake_case")]
pub enum ResolveInput {
    Mine,
    Theirs,
    /// Mine with these columns changed (a booking moved to another room, points adjusted).
    Edited {
        edits: Map<String, Value>,
    },
}

pub fn resolve(conn: &mut Connection, id: i64, input: ResolveInput) -> AppResult<()> {
    let conflict = list(conn)?
        .into_iter()
        .find(|c| c.id == id)
        .ok_or_else(|| AppError::not_found("The conflict"))?;
    let resolution = match input {
        ResolveInput::Mine => Resolution::KeepMine,
        ResolveInput::Theirs => Resolution::KeepTheirs,
        ResolveInput::Edited { edits } => {
            // a booking moved to another room: the new room must be free for its nights here
            if conflict.table == "reservations" {
                if let Some(room) = edits.get("room_id").and_then(Value::as_str) {
                    let text = |c: &str| {
                        edits
                            .get(c)
                            .or_else(|| conflict.mine.get(c))
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_owned()
                    };
                    let (arrival, departure) =
                        stay_dates(&text("check_in_date"), &text("check_out_date"))?;
                    check_room(conn, room, arrival, departure, Some(&conflict.row_id))?;
                }
            }
            Resolution::Edited(edits)
        }
    };
    conflicts::resolve(conn, id, resolution)?;
    Ok(())
}

#[tauri::command(rename_all = "snake_case")]
pub async fn get_sync_status(desk: State<'_, Desk>) -> CmdResult<SyncStatus> {
    Ok(status(&desk)?)
}

/// Asks the background sync to try now (skipping any backoff).
#[tauri::command(rename_all = "snake_case")]
pub async fn sync_now(desk: State<'_, Desk>) -> CmdResult<()> {
    desk.force.store(true, std::sync::atomic::Ordering::SeqCst);
    desk.changed();
    Ok(())
}

#[tauri::command(rename_all = "snake_case")]
pub async fn list_conflicts(desk: State<'_, Desk>) -> CmdResult<Vec<Conflict>> {
    Ok(list(&desk.conn())?)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn resolve_conflict(
    desk: State<'_, Desk>,
    id: i64,
    resolution: ResolveInput,
) -> CmdResult<()> {
    resolve(&mut desk.conn(), id, resolution)?;
    desk.changed();
    Ok(())
}
