//! Campaigns (read side for now): each campaign with its audience, status and rates. The rates
//! are the server's generated columns, so a campaign made on this laptop shows them after sync.

use rusqlite::Connection;
use serde::Serialize;
use serde_json::Value;
use tauri::State;

use crate::error::{AppResult, CmdResult};
use crate::state::Desk;

#[derive(Debug, Clone, Serialize)]
pub struct Campaign {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub status: String,
    pub audience: String,
    pub target_segments: Value,
    pub target_vip_statuses: Value,
    pub target_loyalty_tiers: Value,
    pub scheduled_at: Option<String>,
    pub target_count: i64,
    pub sent_count: i64,
    pub open_rate: Option<String>,
    pub click_rate: Option<String>,
    pub conversion_rate: Option<String>,
}

fn json(text: Option<String>) -> Value {
    text.and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(Value::Array(Vec::new()))
}

pub fn list(conn: &Connection) -> AppResult<Vec<Campaign>> {
    let mut statement = conn.prepare_cached(
        "select id, coalesce(name, ''), coalesce(type, 'email'), coalesce(status, 'draft'), coalesce(audience, 'all_guests'),
                target_segments, target_vip_statuses, target_loyalty_tiers, scheduled_at,
                coalesce(target_count, 0), coalesce(sent_count, 0), open_rate, click_rate, conversion_rate
           from marketing_campaigns where deleted_at is null order by created_at desc limit 200",
    )?;
    let rows = statement.query_map([], |r| {
        Ok(Campaign {
            id: r.get(0)?,
            name: r.get(1)?,
            kind: r.get(2)?,
            status: r.get(3)?,
            audience: r.get(4)?,
            target_segments: json(r.get(5)?),
            target_vip_statuses: json(r.get(6)?),
            target_loyalty_tiers: json(r.get(7)?),
            scheduled_at: r.get(8)?,
            target_count: r.get(9)?,
            sent_count: r.get(10)?,
            open_rate: r.get(11)?,
            click_rate: r.get(12)?,
            conversion_rate: r.get(13)?,
        })
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn list_campaigns(desk: State<'_, Desk>) -> CmdResult<Vec<Campaign>> {
    Ok(list(&desk.conn())?)
}
