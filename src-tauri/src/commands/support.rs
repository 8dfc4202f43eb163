//! What the desk tells support about itself: "Copy diagnostics" (the text is built in
//! [`crate::diagnostics`]; the UI puts it on the clipboard).

use tauri::{AppHandle, Manager, Runtime, State};

use crate::diagnostics::{self, About};
use crate::error::CmdResult;
use crate::state::Desk;

#[tauri::command(rename_all = "snake_case")]
pub async fn get_diagnostics<R: Runtime>(
    app: AppHandle<R>,
    desk: State<'_, Desk>,
) -> CmdResult<String> {
    let version = app.package_info().version.to_string();
    let log_dir = app.path().app_log_dir().ok();
    Ok(diagnostics::report(
        &desk,
        &About {
            version: &version,
            log_dir: log_dir.as_deref(),
        },
    )?)
}
