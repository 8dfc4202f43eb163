//! One app per data folder: a lock file in the folder, held (an exclusive advisory lock) for as
//! long as the process lives. A second app on the same folder is refused at start, so two
//! windows can never write the same mirror and outbox. Another data folder (another
//! `PMS_DESK_DATA_DIR`) runs side by side.

use std::fs::{File, OpenOptions};
use std::path::Path;

use crate::error::{AppError, AppResult};

pub const LOCK_FILE: &str = "desk.lock";

/// The held lock; dropping it releases the folder.
pub struct FolderLock {
    _guard: fd_lock::RwLockWriteGuard<'static, File>,
}

/// Takes the folder's lock, or says another app holds it.
pub fn acquire(data_dir: &Path) -> AppResult<FolderLock> {
    std::fs::create_dir_all(data_dir).map_err(|e| AppError::Local {
        message: format!("cannot create {}: {e}", data_dir.display()),
    })?;
    let path = data_dir.join(LOCK_FILE);
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| AppError::Local {
            message: format!("cannot open {}: {e}", path.display()),
        })?;
    // The lock lives as long as the process: leaking one small value keeps the guard 'static.
    let lock: &'static mut fd_lock::RwLock<File> = Box::leak(Box::new(fd_lock::RwLock::new(file)));
    let guard = lock.try_write().map_err(|_| AppError::Local {
        message: format!(
            "the front desk is already open on {} (one window per data folder)",
            data_dir.display()
        ),
    })?;
    Ok(FolderLock { _guard: guard })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_app_on_the_same_folder_is_refused() {
        let dir = std::env::temp_dir().join(format!("pms-desk-lock-{}", uuid::Uuid::now_v7()));
        let first = acquire(&dir).expect("the first app takes the folder");
        let second = acquire(&dir);
        assert!(
            matches!(&second, Err(AppError::Local { message }) if message.contains("already open")),
            "{:?}",
            second.err()
        );
        drop(first);
        acquire(&dir).expect("free again once the first app is gone");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
