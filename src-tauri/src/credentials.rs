//! Offline sign-in: after a staff member has signed in online once on this laptop, they can sign
//! in again without the server, checked against an argon2id hash of their password.
//!
//! The hashes live in `staff-credentials.json` in the data folder (owner-only, mode 0600), not
//! in the SQLite mirror, and never the password itself. A desk connected to a server starts
//! locked: until someone signs in, the commands that read or write the hotel's data are refused
//! with `SignInRequired` (see `commands::handler`). Local and demo desks have no staff accounts
//! and never lock.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use serde::{Deserialize, Serialize};

use crate::error::{AppError, AppResult};

pub const FILE: &str = "staff-credentials.json";

/// One staff member who signed in online on this laptop.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Credential {
    pub email: String,
    pub role: String,
    /// argon2id, PHC string.
    pub hash: String,
    /// The staff member's account on the server (absent in files from before it was kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<uuid::Uuid>,
}

fn path(data_dir: &Path) -> PathBuf {
    data_dir.join(FILE)
}

fn load(data_dir: &Path) -> AppResult<BTreeMap<String, Credential>> {
    match std::fs::read(path(data_dir)) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| AppError::Local {
            message: format!("{FILE} is unreadable: {e}"),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
        Err(e) => Err(AppError::Local {
            message: format!("{FILE}: {e}"),
        }),
    }
}

fn key(email: &str) -> String {
    email.trim().to_lowercase()
}

/// Remembers (or refreshes) a staff member after an online sign-in.
pub fn remember(
    data_dir: &Path,
    email: &str,
    password: &str,
    role: &str,
    user_id: Option<uuid::Uuid>,
) -> AppResult<()> {
    let salt = SaltString::generate(&mut OsRng);
    let hash = Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| AppError::Local {
            message: format!("cannot hash the password: {e}"),
        })?
        .to_string();
    let mut all = load(data_dir)?;
    all.insert(
        key(email),
        Credential {
            email: key(email),
            role: role.to_owned(),
            hash,
            user_id,
        },
    );
    let bytes = serde_json::to_vec_pretty(&all).map_err(|e| AppError::Local {
        message: e.to_string(),
    })?;
    write_private(&path(data_dir), &bytes).map_err(|e| AppError::Local {
        message: format!("cannot write {FILE}: {e}"),
    })
}

/// Checks a sign-in against the stored hash; the staff member when it matches.
pub fn verify(data_dir: &Path, email: &str, password: &str) -> AppResult<Credential> {
    let all = load(data_dir)?;
    let Some(credential) = all.get(&key(email)) else {
        return Err(AppError::validation(
            "email",
            "This account has not signed in on this laptop yet: sign in once while the server is reachable.",
        ));
    };
    let hash = PasswordHash::new(&credential.hash).map_err(|e| AppError::Local {
        message: format!("{FILE} holds a bad hash: {e}"),
    })?;
    Argon2::default()
        .verify_password(password.as_bytes(), &hash)
        .map_err(|_| AppError::SignInRefused)?;
    Ok(credential.clone())
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    file.write_all(bytes)
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_remembered_password_signs_in_offline_and_nothing_else_does() {
        let dir = std::env::temp_dir().join(format!("pms-desk-cred-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).expect("dir");
        let user = uuid::Uuid::now_v7();
        remember(
            &dir,
            "Desk@Example.com",
            "s3cret-pass",
            "front_desk",
            Some(user),
        )
        .expect("remember");
        let signed_in = verify(&dir, "desk@example.com ", "s3cret-pass").expect("signs in");
        assert_eq!(
            (signed_in.role.as_str(), signed_in.user_id),
            ("front_desk", Some(user))
        );
        assert_eq!(
            verify(&dir, "desk@example.com", "wrong"),
            Err(AppError::SignInRefused)
        );
        assert!(matches!(
            verify(&dir, "other@example.com", "s3cret-pass"),
            Err(AppError::Validation { .. })
        ));
        let stored = std::fs::read_to_string(dir.join(FILE)).expect("file");
        assert!(!stored.contains("s3cret-pass") && stored.contains("$argon2id$"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join(FILE))
                .expect("meta")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
