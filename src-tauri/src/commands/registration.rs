//! Check-in's registration details (date of birth, nationality, identity document): thin
//! commands over `pms_sync_client::registration`, which holds the rules.

use pms_sync_client::registration::{self, Registration, RegistrationInput};
use tauri::State;

use crate::db;
use crate::error::{AppError, CmdResult};
use crate::state::Desk;

/// What the desk holds for the stay's registration card.
#[tauri::command(rename_all = "snake_case")]
pub async fn get_registration(
    desk: State<'_, Desk>,
    reservation_id: String,
) -> CmdResult<Registration> {
    let id = db::parse_id("reservation_id", &reservation_id)?;
    Ok(registration::registration(&desk.conn(), id, desk.now())?)
}

/// Records what the clerk captured at check-in, as the signed-in colleague.
#[tauri::command(rename_all = "snake_case")]
pub async fn capture_registration(
    desk: State<'_, Desk>,
    reservation_id: String,
    input: RegistrationInput,
) -> CmdResult<Registration> {
    let id = db::parse_id("reservation_id", &reservation_id)?;
    let captured =
        registration::capture(&mut desk.conn(), id, &input, desk.staff_id(), desk.now())?;
    desk.changed();
    Ok(captured)
}

/// Sets how many days after a stay's check-out the property keeps the identity documents
/// captured for it (owners and managers).
#[tauri::command(rename_all = "snake_case")]
pub async fn set_document_retention(desk: State<'_, Desk>, days: i64) -> CmdResult<i64> {
    super::managers_only(&desk)?;
    if !(1..=3650).contains(&days) {
        return Err(AppError::validation(
            "days",
            "Keep documents between 1 and 3650 days after check-out.",
        )
        .into());
    }
    let mut conn = desk.conn();
    let property = db::property(&conn)?;
    let id = db::parse_id("property_id", &property.id)?;
    db::update(
        &mut conn,
        "properties",
        id,
        serde_json::json!({"document_retention_days": days}),
    )?;
    drop(conn);
    desk.changed();
    Ok(days)
}
