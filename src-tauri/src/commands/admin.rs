//! Billing and admin, read-only and for owners and managers: the subscription and its plan,
//! invoices, usage alerts and feature flags as the server synced them (the front desk's role
//! does not receive billing rows at all; this check keeps the screen closed too).

use rusqlite::Connection;
use serde::Serialize;
use serde_json::{Map, Value};
use tauri::State;

use super::setup::app_status;
use crate::error::{AppError, AppResult, CmdResult};
use crate::state::Desk;

#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct Billing {
    #[ts(type = "Array<Record<string, unknown>>")]
    pub subscriptions: Vec<Map<String, Value>>,
    #[ts(type = "Array<Record<string, unknown>>")]
    pub plans: Vec<Map<String, Value>>,
    #[ts(type = "Array<Record<string, unknown>>")]
    pub invoices: Vec<Map<String, Value>>,
    #[ts(type = "Array<Record<string, unknown>>")]
    pub usage_alerts: Vec<Map<String, Value>>,
    #[ts(type = "Array<Record<string, unknown>>")]
    pub feature_flags: Vec<Map<String, Value>>,
}

fn rows(conn: &Connection, table: &str, order: &str) -> AppResult<Vec<Map<String, Value>>> {
    let ids: Vec<String> = conn
        .prepare(&format!(
            "select id from {table} order by {order} limit 100"
        ))?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut found = Vec::new();
    for id in ids {
        found.extend(pms_sync_client::mirror::read(conn, table, &id)?);
    }
    Ok(found)
}

pub fn billing(conn: &Connection) -> AppResult<Billing> {
    Ok(Billing {
        subscriptions: rows(conn, "subscriptions", "created_at desc")?,
        plans: rows(conn, "plans", "price_cents")?,
        invoices: rows(conn, "invoices", "period_start desc")?,
        usage_alerts: rows(conn, "usage_alerts", "created_at desc")?,
        feature_flags: rows(conn, "feature_flags", "key")?,
    })
}

#[tauri::command(rename_all = "snake_case")]
pub async fn get_billing(desk: State<'_, Desk>) -> CmdResult<Billing> {
    let role = app_status(&desk)?.role;
    if !matches!(role.as_str(), "owner" | "manager") {
        return Err(AppError::validation("role", "Billing is for owners and managers.").into());
    }
    Ok(billing(&desk.conn())?)
}
