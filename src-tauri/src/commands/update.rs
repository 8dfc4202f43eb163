//! Updating the app through Tauri's updater plugin: check the update server, then download,
//! verify and install the new version and restart.
//!
//! Where the app looks: the `plugins.updater.endpoints` of `tauri.conf.json` (set at build
//! time), or `PMS_DESK_UPDATE_URL` when set (a hotel group's own update server, a test). An
//! update is installed only if its signature matches `plugins.updater.pubkey`; the private key
//! stays with the release build (CI secrets), never in the repository.
//!
//! The clerk is sent here when the server answers `426 client_too_old` (the status bar's
//! "needs an update" banner), and the desk looks by itself on start and daily
//! (`update_checks`); the errors say what happened in a clerk's words.

use std::time::Duration;

use serde::Serialize;
use tauri::{AppHandle, Emitter, Runtime, State};
use tauri_plugin_updater::{Updater, UpdaterExt};

use crate::error::{AppError, AppResult, CmdResult};
use crate::state::Desk;
use crate::update_checks::{self, UpdateStatus};

/// Overrides the update address of the build (one URL; `{{target}}`, `{{arch}}` and
/// `{{current_version}}` are filled in by the plugin).
pub const ENDPOINT_VARIABLE: &str = "PMS_DESK_UPDATE_URL";

/// Long enough for a slow hotel line, short enough that the clerk is not left waiting.
const CHECK_TIMEOUT: Duration = Duration::from_secs(20);

/// What the update server offers.
#[derive(Debug, Clone, Serialize, PartialEq, ts_rs::TS)]
pub struct UpdateCheck {
    pub current_version: String,
    /// The newer version on offer; `None` when this is the newest.
    pub version: Option<String>,
    pub notes: Option<String>,
}

fn updater<R: Runtime>(app: &AppHandle<R>) -> AppResult<Updater> {
    let mut builder = app.updater_builder().timeout(CHECK_TIMEOUT);
    if let Some(url) = std::env::var(ENDPOINT_VARIABLE)
        .ok()
        .filter(|v| !v.trim().is_empty())
    {
        let url = url.trim().parse().map_err(|_| AppError::UpdateFailed {
            message: format!("{ENDPOINT_VARIABLE} is not a valid address: {url}"),
        })?;
        builder = builder.endpoints(vec![url]).map_err(from_updater)?;
    }
    builder.build().map_err(from_updater)
}

/// The plugin's errors in the clerk's terms: the server not reached, an update that fails its
/// signature check, or anything else (with the plugin's words, for whoever supports the desk).
pub fn from_updater(error: tauri_plugin_updater::Error) -> AppError {
    use tauri_plugin_updater::Error as E;
    match error {
        // a 2xx answer that is not JSON is a broken manifest, not a network problem
        E::Reqwest(e) if e.is_decode() => AppError::UpdateFailed {
            message: format!("the update server's answer is not an update manifest ({e})"),
        },
        // no answer, or no successful one (`ReleaseNotFound`: every endpoint answered non-2xx)
        E::Reqwest(_) | E::Network(_) | E::ReleaseNotFound => AppError::UpdateUnreachable,
        E::Minisign(_)
        | E::Base64(_)
        | E::SignatureUtf8(_)
        | E::SignedVersionMismatch { .. }
        | E::MissingSignedVersion => AppError::UpdateNotTrusted,
        other => AppError::UpdateFailed {
            message: other.to_string(),
        },
    }
}

pub async fn check<R: Runtime>(app: &AppHandle<R>) -> AppResult<UpdateCheck> {
    let updater = updater(app)?;
    let found = updater.check().await.map_err(from_updater)?;
    Ok(UpdateCheck {
        current_version: app.package_info().version.to_string(),
        version: found.as_ref().map(|u| u.version.clone()),
        notes: found.and_then(|u| u.body),
    })
}

/// The clerk asks; what the look finds is kept for the status bar like the desk's own looks.
#[tauri::command(rename_all = "snake_case")]
pub async fn check_for_update<R: Runtime>(
    app: AppHandle<R>,
    desk: State<'_, Desk>,
) -> CmdResult<UpdateCheck> {
    let outcome = check(&app).await;
    update_checks::record(&desk, &outcome)?;
    let _ = app.emit("update://status", update_checks::status(&app, &desk)?);
    Ok(outcome?)
}

/// When the desk last looked for an update, what it found, and whether it looks by itself.
#[tauri::command(rename_all = "snake_case")]
pub async fn get_update_status<R: Runtime>(
    app: AppHandle<R>,
    desk: State<'_, Desk>,
) -> CmdResult<UpdateStatus> {
    Ok(update_checks::status(&app, &desk)?)
}

/// The owner sets how often the desk looks for updates by itself (hours; 0: never).
#[tauri::command(rename_all = "snake_case")]
pub async fn set_update_checks<R: Runtime>(
    app: AppHandle<R>,
    desk: State<'_, Desk>,
    hours: i64,
) -> CmdResult<UpdateStatus> {
    update_checks::set_interval(&desk, hours)?;
    Ok(update_checks::status(&app, &desk)?)
}

/// Checks again (so what is installed is what the server offers now), downloads the update,
/// verifies its signature before anything is written, installs it and restarts the app. The
/// outbox is in the mirror on disk: changes waiting are sent by the new version.
#[tauri::command(rename_all = "snake_case")]
pub async fn install_update<R: Runtime>(app: AppHandle<R>) -> CmdResult<()> {
    let update = updater(&app)?
        .check()
        .await
        .map_err(from_updater)?
        .ok_or(AppError::NoUpdate)?;
    update
        .download_and_install(|_, _| {}, || {})
        .await
        .map_err(from_updater)?;
    app.restart()
}
