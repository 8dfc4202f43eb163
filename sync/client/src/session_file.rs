//! Where the headless client keeps its session between runs: a small JSON file beside the
//! mirror, readable by its owner only. Tokens never go into the SQLite file. (The desktop app
//! keeps them in the operating system's keychain where one answers, and falls back to this file:
//! `pms-desk`'s `session_store`.)

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{Error, Result};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredSession {
    pub server: String,
    pub device_id: Uuid,
    pub refresh_token: String,
}

/// The session file of the mirror at `database`.
pub fn path_for(database: &Path) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push(".session");
    PathBuf::from(name)
}

pub fn load(database: &Path) -> Result<Option<StoredSession>> {
    match std::fs::read(path_for(database)) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| Error::Data(format!("session file: {e}"))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::Data(format!("session file: {e}"))),
    }
}

/// Replaces the session file atomically: a process killed mid-save leaves the old file or the
/// new one, never half of one (the server also accepts the previous refresh token, so a laptop
/// killed between the refresh and this save is not locked out).
pub fn save(database: &Path, session: &StoredSession) -> Result<()> {
    let path = path_for(database);
    let bytes = serde_json::to_vec(session).map_err(|e| Error::Data(e.to_string()))?;
    let mut staging = path.as_os_str().to_owned();
    staging.push(".new");
    let staging = PathBuf::from(staging);
    write_private(&staging, &bytes)
        .and_then(|()| std::fs::rename(&staging, &path))
        .map_err(|e| Error::Data(format!("cannot write {}: {e}", path.display())))
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}
