//! Where the desk keeps its session between runs (the server, this laptop's device id and the
//! refresh token that rotates at every refresh): the operating system's keychain (Secret Service
//! on Linux, the Keychain on macOS, the Credential Manager on Windows, through `keyring`), one
//! entry per data folder; where no keychain answers (a headless Linux, a desktop without a
//! keyring daemon), the owner-only (0600) file beside the mirror that `pms-client` also uses
//! (`pms_sync_client::session_file`).
//!
//! A session file that exists is the newest session: a save that reaches the keychain removes
//! the file, so a file left is either the fallback or one written since (by `pms-client`
//! signing this data folder in, as `scripts/run` does, or by an older version of the desk). It is
//! read first, and moved into the keychain at the next save.
//!
//! The offline sign-in's password hashes (`credentials`) stay in their 0600 file: they are
//! Argon2 hashes to check a password against, not something that opens the server.

use std::path::Path;

use pms_sync_client::session_file::{self, StoredSession};

use crate::error::AppResult;

/// The keychain's service name for the desk's entries.
const SERVICE: &str = "pms-desk";

/// The session of the mirror at `database`, if this laptop is signed in to a server.
pub fn load(database: &Path) -> AppResult<Option<StoredSession>> {
    if let Some(session) = session_file::load(database)? {
        return Ok(Some(session));
    }
    Ok(keychain::read(database).unwrap_or_else(|error| {
        log::debug!("no session from the keychain: {error}");
        None
    }))
}

/// Keeps `session` for the mirror at `database`: in the keychain, else in the 0600 file.
pub fn save(database: &Path, session: &StoredSession) -> AppResult<()> {
    match keychain::write(database, session) {
        Ok(()) => {
            // the keychain holds it now; a file left behind would shadow later rotations
            match std::fs::remove_file(session_file::path_for(database)) {
                Ok(()) => log::info!("the session moved from its file into the keychain"),
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
                Err(error) => log::warn!("the old session file could not be removed: {error}"),
            }
            Ok(())
        }
        Err(error) => {
            log::debug!("no keychain ({error}): the session goes to its 0600 file");
            Ok(session_file::save(database, session)?)
        }
    }
}

/// Where the session is kept now, for "Copy diagnostics": `keychain`, `file` or `none`.
pub fn kept_in(database: &Path) -> &'static str {
    if session_file::path_for(database).exists() {
        "file"
    } else if matches!(keychain::read(database), Ok(Some(_))) {
        "keychain"
    } else {
        "none"
    }
}

mod keychain {
    use std::path::Path;

    use pms_sync_client::session_file::StoredSession;

    fn entry(database: &Path) -> keyring::Result<keyring::Entry> {
        // one entry per data folder: two desks on one machine (a training desk) keep two sessions
        keyring::Entry::new(super::SERVICE, &database.display().to_string())
    }

    pub fn read(database: &Path) -> Result<Option<StoredSession>, String> {
        match entry(database).and_then(|entry| entry.get_password()) {
            Ok(json) => serde_json::from_str(&json)
                .map(Some)
                .map_err(|e| format!("the keychain's session is not readable: {e}")),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(error) => Err(error.to_string()),
        }
    }

    pub fn write(database: &Path, session: &StoredSession) -> Result<(), String> {
        let json = serde_json::to_string(session).map_err(|e| e.to_string())?;
        entry(database)
            .and_then(|entry| entry.set_password(&json))
            .map_err(|error| error.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// These machines (and CI) have no keychain service: the session must still be kept, in a
    /// file only its owner can read, and come back.
    #[test]
    fn without_a_keychain_the_session_is_kept_in_an_owner_only_file() {
        let dir = std::env::temp_dir().join(format!("pms-desk-session-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).expect("dir");
        let database = dir.join("desk.sqlite3");
        assert!(load(&database).expect("load").is_none());
        let session = StoredSession {
            server: "http://127.0.0.1:1".into(),
            device_id: uuid::Uuid::now_v7(),
            refresh_token: "rotating-refresh-token".into(),
        };
        save(&database, &session).expect("save");
        let loaded = load(&database).expect("load").expect("a session");
        assert_eq!(
            (loaded.device_id, loaded.refresh_token.as_str()),
            (session.device_id, "rotating-refresh-token")
        );
        if keychain::read(&database).is_err() {
            assert_eq!(kept_in(&database), "file");
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = std::fs::metadata(session_file::path_for(&database))
                    .expect("the session file")
                    .permissions()
                    .mode();
                assert_eq!(mode & 0o777, 0o600);
            }
        } else {
            assert_eq!(kept_in(&database), "keychain");
            assert!(!session_file::path_for(&database).exists());
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
