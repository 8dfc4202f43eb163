//! A guest's communications logged by hand at the desk: a call, an e-mail, a note. Each is an
//! entry of the append-only `communication_logs`, naming the colleague who logged it; two desks
//! logging offline keep both.

use chrono::{DateTime, Utc};
use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::outbox;
use pms_sync_protocol::wire::PushOp;

/// What the clerk logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A phone call (the server's type `phone`).
    Call,
    Email,
    /// Something said at the desk or worth keeping (the server's type `in_person`).
    Note,
}

#[derive(Debug, Clone, Deserialize, Serialize, ts_rs::TS)]
pub struct NewCommunication {
    pub kind: Kind,
    /// The guest called or wrote (`true`), or the hotel did; a note is always the guest's.
    #[serde(default)]
    pub inbound: bool,
    #[serde(default)]
    pub subject: Option<String>,
    pub message: String,
}

/// Logs a communication with the guest at `at` by `by` (the signed-in colleague's account).
pub fn log(
    conn: &mut Connection,
    guest_id: Uuid,
    entry: &NewCommunication,
    by: Option<Uuid>,
    at: DateTime<Utc>,
) -> Result<Uuid> {
    let message = entry.message.trim();
    if message.is_empty() {
        return Err(Error::Invalid {
            field: "message",
            message: "Write what was said.".to_owned(),
        });
    }
    let subject = entry
        .subject
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    if [Some(message), subject]
        .into_iter()
        .flatten()
        .any(pms_sync_protocol::card::contains_card_number)
    {
        return Err(Error::CardNumber { field: "message" });
    }
    crate::mirror::require_guest(conn, guest_id)?;
    let (kind, inbound) = match entry.kind {
        Kind::Call => ("phone", entry.inbound),
        Kind::Email => ("email", entry.inbound),
        Kind::Note => ("in_person", true),
    };
    let stamp = at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let Value::Object(values) = json!({
        "guest_id": guest_id,
        "type": kind,
        "direction": if inbound { "inbound" } else { "outbound" },
        "subject": subject,
        "message": message,
        "from_user": by,
        "status": "sent",
        "sent_at": stamp,
        "created_at": stamp,
    }) else {
        unreachable!("a json object literal")
    };
    let id = Uuid::now_v7();
    outbox::write(conn, "communication_logs", PushOp::Insert, id, values)?;
    Ok(id)
}
