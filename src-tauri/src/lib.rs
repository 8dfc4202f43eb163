//! The front desk app: Tauri 2 over the local SQLite mirror and the sync client
//! (`pms-sync-client`). The UI (TypeScript, Svelte, in `ui/`) calls the commands below and
//! listens to `sync://status` and `setup://progress`.
//!
//! # Layout
//! - [`commands`]: one module per screen area (setup, today, reservations, guests,
//!   housekeeping, loyalty, campaigns, admin, sync, update); plain functions over the connection plus
//!   thin `#[tauri::command]` wrappers, generic over the runtime where they need the app handle.
//! - [`error`]: the one typed, serializable error with a clerk's message.
//! - [`state`]: the data folder, the screens' connection, the sync's shared view.
//! - [`sync_task`]: the background push/pull with backoff, on its own connection.
//! - [`lock`]: one app per data folder.
//! - [`credentials`]: offline sign-in against stored password hashes; [`session_store`]: the
//!   refresh token in the OS keychain (a 0600 file where none answers).
//! - [`demo`]: the demo hotel.
//! - [`logging`]: the rotating log file; [`diagnostics`]: "Copy diagnostics" for support.
//! - [`db`]: helpers over the mirror (outbox writes, the current property, dates).
//! - [`ui_types`]: the UI's TypeScript types, generated from the types above.
//!
//! Every local write goes through `pms_sync_client::outbox::write` (the row and its change to
//! push in one transaction); reads are SQL on the mirror.

pub mod commands;
pub mod credentials;
pub mod db;
pub mod demo;
pub mod diagnostics;
pub mod error;
pub mod lock;
pub mod logging;
pub mod session_store;
pub mod state;
pub mod sync_task;
pub mod ui_types;
pub mod update_checks;

use std::path::PathBuf;

use tauri::{Manager, Runtime};

/// Where the app keeps its data: `PMS_DESK_DATA_DIR` when set (tests, a second desk on one
/// machine), else the platform's data folder for the app's identifier.
pub fn data_dir<R: Runtime>(app: &tauri::AppHandle<R>) -> Result<PathBuf, String> {
    match std::env::var_os("PMS_DESK_DATA_DIR") {
        Some(dir) if !dir.is_empty() => Ok(PathBuf::from(dir)),
        _ => app
            .path()
            .app_data_dir()
            .map_err(|e| format!("no data folder for the app: {e}")),
    }
}

/// Opens the app's data folder (locked to this process) and manages the app's state; starts
/// the background sync and the update checks.
pub fn prepare<R: Runtime>(app: &tauri::AppHandle<R>) -> Result<(), String> {
    prepare_at(app, &data_dir(app)?)
}

/// [`prepare`] on a given data folder.
pub fn prepare_at<R: Runtime>(
    app: &tauri::AppHandle<R>,
    dir: &std::path::Path,
) -> Result<(), String> {
    let dir = dir.to_owned();
    let lock = lock::acquire(&dir).map_err(|e| e.to_string())?;
    let desk = state::Desk::open(&dir).map_err(|e| e.to_string())?;
    app.manage(lock);
    app.manage(desk);
    sync_task::spawn(app.clone());
    update_checks::spawn(app.clone());
    Ok(())
}

/// Runs the app until its window closes.
pub fn run() -> Result<(), String> {
    let mut builder = tauri::Builder::default();
    // Opening the desk again (a second click on its icon) focuses the window already open
    // instead of starting a second one. Registered first, as the plugin asks, and only for the
    // platform's data folder: `PMS_DESK_DATA_DIR` is how two desks run side by side on purpose
    // (tests, a training desk). The folder lock (`lock`) still refuses a second process on one
    // folder where the plugin cannot tell (no D-Bus session on Linux).
    if std::env::var_os("PMS_DESK_DATA_DIR").is_none() {
        builder = builder.plugin(tauri_plugin_single_instance::init(|app, _argv, _cwd| {
            focus_main_window(app)
        }));
    }
    builder
        // first after the single instance, so that the plugins after it and the setup log into
        // the file
        .plugin(logging::plugin())
        .plugin(tauri_plugin_updater::Builder::new().build())
        .invoke_handler(commands::handler())
        .setup(|app| {
            prepare(app.handle()).map_err(|message| {
                log::error!("the desk cannot start: {message}");
                Box::<dyn std::error::Error>::from(message)
            })
        })
        .run(tauri::generate_context!())
        .map_err(|e| e.to_string())
}

/// Brings the main window to the front (un-minimised, shown, focused).
fn focus_main_window<R: Runtime>(app: &tauri::AppHandle<R>) {
    log::info!("the desk was opened again: focusing the window already open");
    if let Some(window) = app.get_webview_window("main") {
        let _ = window.unminimize();
        let _ = window.show();
        let _ = window.set_focus();
    }
}
