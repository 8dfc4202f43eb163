//! The conflicts inbox: changes the server refused, kept until a person decides.
//!
//! Keeping the server's version closes the conflict (the mirror already shows the server's row).
//! Keeping mine writes the laptop's values again as a new change through the outbox, which the
//! server judges afresh (after, say, the other booking was moved); editing writes the laptop's
//! values with the person's corrections (a double booking moved to another room).

use pms_sync_protocol::wire::PushOp;
use rusqlite::Connection;
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::outbox;

/// How a person resolved a conflict.
#[derive(Debug, Clone, PartialEq)]
pub enum Resolution {
    KeepTheirs,
    KeepMine,
    /// Mine, with these columns changed.
    Edited(Map<String, Value>),
}

pub fn resolve(conn: &mut Connection, id: i64, resolution: Resolution) -> Result<()> {
    let (table, row_id, op, mine): (String, String, String, String) = conn
        .query_row(
            "select table_name, row_id, op, mine_json from conflicts where id = ?1 and resolved_at is null",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .map_err(|_| Error::Data(format!("no open conflict {id}")))?;
    let label = match &resolution {
        Resolution::KeepTheirs => "keep_theirs",
        Resolution::KeepMine => "keep_mine",
        Resolution::Edited(_) => "edited",
    };
    let edits = match resolution {
        Resolution::KeepTheirs => None,
        Resolution::KeepMine => Some(Map::new()),
        Resolution::Edited(edits) => Some(edits),
    };
    if let Some(edits) = edits {
        let Value::Object(mut values) =
            serde_json::from_str(&mine).map_err(|e| Error::Data(e.to_string()))?
        else {
            return Err(Error::Data(format!("conflict {id} holds no values")));
        };
        values.extend(edits);
        let op = match op.as_str() {
            "insert" => PushOp::Insert,
            "delete" => PushOp::Delete,
            _ => PushOp::Update,
        };
        let row = row_id
            .parse()
            .map_err(|_| Error::Data("bad row id".to_owned()))?;
        outbox::write(conn, &table, op, row, values)?;
    }
    conn.execute(
        "update conflicts set resolved_at = ?2, resolution = ?3 where id = ?1",
        rusqlite::params![id, chrono::Utc::now().to_rfc3339(), label],
    )?;
    Ok(())
}
