//! Looking for a new version of the app when nobody forces it: on start and then every
//! `interval_hours` (the owner's setting, a day by default; 0 turns it off), so a hotel without a
//! server (which never answers `426`) still hears of updates. A demo desk never looks.
//!
//! What the last look found is kept in the mirror's bookkeeping (so the status bar can say when
//! the desk last looked and what is on offer after a restart) and announced as
//! `update://status`. Installing stays the clerk's choice (`install_update`).

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use tauri::{AppHandle, Emitter, Manager, Runtime};

use crate::commands::setup::{app_status, Mode};
use crate::commands::update::{self, UpdateCheck};
use crate::db;
use crate::error::{AppError, AppResult};
use crate::state::Desk;

const INTERVAL_KEY: &str = "desk_update_check_hours";
const CHECKED_AT_KEY: &str = "update_checked_at";
const OFFERED_KEY: &str = "update_offered_version";
const NOTES_KEY: &str = "update_offered_notes";
const ERROR_KEY: &str = "update_check_error";

pub const DEFAULT_INTERVAL_HOURS: i64 = 24;
/// A week: a desk that looks less often than that may miss a security fix for too long.
pub const MAX_INTERVAL_HOURS: i64 = 168;

/// How often the background task wakes up to see whether a look is due.
pub const TICK: std::time::Duration = std::time::Duration::from_secs(60);

/// What the status bar says about updates.
#[derive(Debug, Clone, Serialize, PartialEq, ts_rs::TS)]
pub struct UpdateStatus {
    /// Whether this desk looks by itself (off in demo mode or when the owner set 0 hours).
    pub automatic: bool,
    pub demo: bool,
    pub interval_hours: i64,
    pub current_version: String,
    /// When the desk last looked (RFC 3339, UTC), by itself or asked.
    pub checked_at: Option<String>,
    /// A newer version the update server offered at that look.
    pub offered_version: Option<String>,
    pub notes: Option<String>,
    /// What went wrong at that look, in the clerk's words (the server unreachable, …).
    pub error: Option<String>,
}

/// The owner's interval in hours (0: never).
pub fn interval_hours(conn: &rusqlite::Connection) -> AppResult<i64> {
    Ok(db::desk_state(conn, INTERVAL_KEY)?
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_INTERVAL_HOURS))
}

/// Whether a look is due: always once after the app starts, then when `interval_hours` have
/// passed since the last one; never when off.
pub fn due(
    interval_hours: i64,
    demo: bool,
    looked_since_start: bool,
    checked_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> bool {
    if demo || interval_hours <= 0 {
        return false;
    }
    match checked_at {
        _ if !looked_since_start => true,
        None => true,
        Some(at) => now - at >= Duration::hours(interval_hours),
    }
}

pub fn status<R: Runtime>(app: &AppHandle<R>, desk: &Desk) -> AppResult<UpdateStatus> {
    let demo = app_status(desk)?.mode == Mode::Demo;
    let conn = desk.conn();
    let interval_hours = interval_hours(&conn)?;
    let kept = |key| -> AppResult<Option<String>> {
        Ok(db::desk_state(&conn, key)?.filter(|v| !v.is_empty()))
    };
    let current_version = app.package_info().version.to_string();
    Ok(UpdateStatus {
        automatic: !demo && interval_hours > 0,
        demo,
        interval_hours,
        // an offer kept from before the app was updated to it is no offer any more
        offered_version: kept(OFFERED_KEY)?.filter(|v| *v != current_version),
        current_version,
        checked_at: kept(CHECKED_AT_KEY)?,
        notes: kept(NOTES_KEY)?,
        error: kept(ERROR_KEY)?,
    })
}

/// Keeps what a look found (asked by the clerk or made by the task).
pub fn record(desk: &Desk, outcome: &Result<UpdateCheck, AppError>) -> AppResult<()> {
    let conn = desk.conn();
    db::set_desk_state(&conn, CHECKED_AT_KEY, &desk.now().to_rfc3339())?;
    match outcome {
        Ok(found) => {
            db::set_desk_state(&conn, OFFERED_KEY, found.version.as_deref().unwrap_or(""))?;
            db::set_desk_state(&conn, NOTES_KEY, found.notes.as_deref().unwrap_or(""))?;
            db::set_desk_state(&conn, ERROR_KEY, "")?;
        }
        // what was on offer before stays on offer: an outage does not withdraw a release
        Err(error) => db::set_desk_state(&conn, ERROR_KEY, &error.to_string())?,
    }
    Ok(())
}

/// Looks for an update if one is due, keeps what it found and announces it. Returns whether it
/// looked. `looked_since_start` is the task's own memory (the first call after start looks).
pub async fn check_when_due<R: Runtime>(
    app: &AppHandle<R>,
    looked_since_start: &mut bool,
) -> AppResult<bool> {
    let desk = app.state::<Desk>();
    let is_due = {
        let demo = app_status(&desk)?.mode == Mode::Demo;
        let conn = desk.conn();
        let checked_at = db::desk_state(&conn, CHECKED_AT_KEY)?
            .and_then(|v| DateTime::parse_from_rfc3339(&v).ok())
            .map(|at| at.with_timezone(&Utc));
        due(
            interval_hours(&conn)?,
            demo,
            *looked_since_start,
            checked_at,
            desk.now(),
        )
    };
    if !is_due {
        return Ok(false);
    }
    let outcome = update::check(app).await;
    *looked_since_start = true;
    record(&desk, &outcome)?;
    let _ = app.emit("update://status", status(app, &desk)?);
    Ok(true)
}

/// Starts the task that looks on start and then when due (on the app's async runtime).
pub fn spawn<R: Runtime>(app: AppHandle<R>) {
    tauri::async_runtime::spawn(async move {
        let mut looked_since_start = false;
        loop {
            if let Err(error) = check_when_due(&app, &mut looked_since_start).await {
                // the bookkeeping could not be read or written; the next tick tries again
                log::warn!("the update check could not run: {error}");
            }
            tokio::time::sleep(TICK).await;
        }
    });
}

/// The owner sets how often the desk looks (0: never; at most a week).
pub fn set_interval(desk: &Desk, hours: i64) -> AppResult<()> {
    if app_status(desk)?.role != "owner" {
        return Err(AppError::validation(
            "hours",
            "Only the owner decides how often the desk looks for updates.",
        ));
    }
    if !(0..=MAX_INTERVAL_HOURS).contains(&hours) {
        return Err(AppError::validation(
            "hours",
            "Choose between 0 (never) and 168 hours (a week).",
        ));
    }
    db::set_desk_state(&desk.conn(), INTERVAL_KEY, &hours.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(hour: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_780_000_000 + hour * 3600, 0).expect("a time")
    }

    #[test]
    fn a_desk_looks_on_start_then_once_its_interval_has_passed() {
        assert!(due(24, false, false, Some(at(0)), at(1)), "on start");
        assert!(due(24, false, false, None, at(0)), "never looked");
        assert!(!due(24, false, true, Some(at(0)), at(23)), "within the day");
        assert!(due(24, false, true, Some(at(0)), at(24)), "a day later");
        assert!(
            due(2, false, true, Some(at(0)), at(2)),
            "the owner's interval"
        );
    }

    #[test]
    fn a_demo_desk_or_an_interval_of_zero_never_looks() {
        assert!(!due(24, true, false, None, at(0)));
        assert!(!due(0, false, false, None, at(0)));
        assert!(!due(0, false, true, Some(at(0)), at(1000)));
    }
}
