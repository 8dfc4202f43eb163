//! Printing: the day's lists, registration cards and the outage pack as PDFs
//! (`pms_sync_client::paperwork` decides what is on them and lays them out), saved in the data
//! folder's `paperwork/` and handed to the system's viewer to print, as guest invoices are.
//!
//! The files carry guests' names and details, so printouts older than [`KEEP_DAYS`] days are
//! removed from the folder whenever the desk prints: paper is for the day, not an archive.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use pms_sync_client::paperwork::{self, Kind, Language, Paperwork};
use pms_sync_client::paperwork_pdf;
use rusqlite::Connection;
use tauri::State;

use crate::db;
use crate::error::{AppError, AppResult, CmdResult};
use crate::state::Desk;

/// How long a printout stays in the data folder.
pub const KEEP_DAYS: u64 = 3;

/// What the desk's property prints for `kind` at `now`.
pub fn gather(
    conn: &Connection,
    kind: Kind,
    date: Option<&str>,
    language: Language,
    now: DateTime<Utc>,
) -> AppResult<Paperwork> {
    let property = db::property(conn)?;
    let id = db::parse_id("property_id", &property.id)?;
    let date = date
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(|d| db::parse_date("date", d))
        .transpose()?;
    Ok(paperwork::gather(conn, id, kind, date, language, now)?)
}

/// The registration card of one stay, as a document of its own.
pub fn card(
    conn: &Connection,
    reservation_id: &str,
    language: Language,
    now: DateTime<Utc>,
) -> AppResult<Paperwork> {
    let stay = db::parse_id("reservation_id", reservation_id)?;
    let card = paperwork::registration_card(conn, stay, now)?;
    let mut doc = gather(
        conn,
        Kind::RegistrationCards,
        Some(&card.stay.arrival.to_string()),
        language,
        now,
    )?;
    doc.sections = vec![paperwork::Section::Card(Box::new(card))];
    Ok(doc)
}

/// Writes the document's PDF into `folder` and returns its path; older printouts go.
pub fn save(doc: &Paperwork, folder: &Path, name: &str) -> AppResult<PathBuf> {
    let bytes = paperwork_pdf::render(doc);
    let path = folder.join(name);
    std::fs::create_dir_all(folder)
        .and_then(|()| std::fs::write(&path, bytes))
        .map_err(|_| AppError::NotSaved {
            folder: folder.display().to_string(),
        })?;
    prune(
        folder,
        std::time::Duration::from_secs(KEEP_DAYS * 24 * 3600),
    );
    Ok(path)
}

/// Removes the PDFs in `folder` not written for `age` (best effort: a file that cannot be
/// removed now is tried again at the next print).
fn prune(folder: &Path, age: std::time::Duration) {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|m| m.elapsed().ok())
            .is_some_and(|elapsed| elapsed > age);
        if old && path.extension().is_some_and(|e| e == "pdf") {
            let _ = std::fs::remove_file(path);
        }
    }
}

fn folder(desk: &Desk) -> PathBuf {
    desk.data_dir().join("paperwork")
}

fn open_in_viewer(path: &Path) {
    if std::env::var_os("PMS_NO_VIEWER").is_none() {
        // No viewer is no error: the PDF is saved and its path shown.
        let _ = open::that_detached(path);
    }
}

/// Prints a list (`arrivals`, `departures`, `in_house`, `housekeeping`), the registration
/// cards of a date's arrivals (`registration_cards`) or the `outage_pack`: saves the PDF,
/// opens it in the system's viewer, and returns its path.
#[tauri::command(rename_all = "snake_case")]
pub async fn print_paperwork(
    desk: State<'_, Desk>,
    kind: Kind,
    date: Option<String>,
    language: Option<Language>,
) -> CmdResult<String> {
    let doc = gather(
        &desk.conn(),
        kind,
        date.as_deref(),
        language.unwrap_or_default(),
        desk.now(),
    )?;
    let path = save(&doc, &folder(&desk), &doc.file_name())?;
    open_in_viewer(&path);
    Ok(path.display().to_string())
}

/// Prints one stay's registration card; returns the PDF's path.
#[tauri::command(rename_all = "snake_case")]
pub async fn print_registration_card(
    desk: State<'_, Desk>,
    reservation_id: String,
    language: Option<Language>,
) -> CmdResult<String> {
    let doc = card(
        &desk.conn(),
        &reservation_id,
        language.unwrap_or_default(),
        desk.now(),
    )?;
    let name = format!("registration-card-{}.pdf", reservation_id.trim());
    let path = save(&doc, &folder(&desk), &name)?;
    open_in_viewer(&path);
    Ok(path.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_printouts_are_removed_and_new_ones_kept() {
        let folder = std::env::temp_dir().join(format!("paperwork-prune-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&folder).expect("folder");
        let old = folder.join("old.pdf");
        let fresh = folder.join("fresh.pdf");
        let other = folder.join("notes.txt");
        for path in [&old, &fresh, &other] {
            std::fs::write(path, b"x").expect("write");
        }
        std::thread::sleep(std::time::Duration::from_millis(400));
        std::fs::write(&fresh, b"y").expect("rewrite");
        prune(&folder, std::time::Duration::from_millis(200));
        assert!(!old.exists());
        assert!(fresh.exists());
        assert!(other.exists(), "only PDFs are the desk's to remove");
        let _ = std::fs::remove_dir_all(&folder);
    }
}
