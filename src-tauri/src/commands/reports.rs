//! The Reports screen: the desk's property's figures for a date range (occupancy, ADR, RevPAR,
//! revenue; `pms_sync_client::reports` computes them on the mirror, offline too), and the report
//! and the guest list saved as CSV files beside the app's data and opened for the clerk.

use std::path::PathBuf;

use pms_sync_client::reports::{self, Report};
use rusqlite::Connection;
use tauri::State;

use crate::db;
use crate::error::{AppError, AppResult, CmdResult};
use crate::state::Desk;

pub fn report(conn: &Connection, from: &str, to: &str) -> AppResult<Report> {
    let property = db::property(conn)?;
    let id = db::parse_id("property_id", &property.id)?;
    let (from, to) = (db::parse_date("from", from)?, db::parse_date("to", to)?);
    Ok(reports::report(conn, id, from, to)?)
}

/// Writes `text` to `exports/<name>` in the data folder and hands it to the system's viewer
/// (not in tests: `PMS_NO_VIEWER`); returns the path.
fn save_and_open(desk: &Desk, name: &str, text: &str) -> AppResult<String> {
    let folder: PathBuf = desk.data_dir().join("exports");
    let path = folder.join(name);
    std::fs::create_dir_all(&folder)
        .and_then(|()| std::fs::write(&path, text))
        .map_err(|e| AppError::Local {
            message: format!("cannot save {}: {e}", path.display()),
        })?;
    if std::env::var_os("PMS_NO_VIEWER").is_none() {
        // No viewer is no error: the file is saved and its path shown.
        let _ = open::that_detached(&path);
    }
    Ok(path.display().to_string())
}

#[tauri::command(rename_all = "snake_case")]
pub async fn get_report(desk: State<'_, Desk>, from: String, to: String) -> CmdResult<Report> {
    super::managers_only(&desk)?;
    Ok(report(&desk.conn(), &from, &to)?)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn export_report_csv(
    desk: State<'_, Desk>,
    from: String,
    to: String,
) -> CmdResult<String> {
    super::managers_only(&desk)?;
    let report = report(&desk.conn(), &from, &to)?;
    let text = reports::report_csv(&report)?;
    Ok(save_and_open(
        &desk,
        &format!("report-{}-{}.csv", report.from, report.to),
        &text,
    )?)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn export_guests_csv(desk: State<'_, Desk>) -> CmdResult<String> {
    super::managers_only(&desk)?;
    let text = reports::guests_csv(&desk.conn())?;
    let today = db::today(&desk.conn(), desk.now())?;
    Ok(save_and_open(&desk, &format!("guests-{today}.csv"), &text)?)
}
