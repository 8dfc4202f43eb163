//! The app's state: the data folder, the mirror connection the screens use, and the handle that
//! wakes the background sync.
//!
//! The screens share one SQLite connection behind a mutex (their queries take milliseconds); the
//! background sync opens its own connection, so a slow network round never holds the screens'
//! lock. WAL lets the two read and write side by side.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, Utc};
use rusqlite::Connection;
use tokio::sync::Notify;

use crate::error::{AppError, AppResult};

/// The mirror's file inside the data folder.
pub const DATABASE_FILE: &str = "pms-desk.sqlite3";

/// Shared state of a running app (managed by Tauri, one per window process).
pub struct Desk {
    data_dir: PathBuf,
    conn: Mutex<Connection>,
    /// Wakes the background sync: a local change to push, or a new session.
    pub wake: Arc<Notify>,
    /// Set by "sync now": the next wake tries at once, whatever the backoff.
    pub force: AtomicBool,
    /// What the background sync last saw of the server.
    pub sync: Mutex<SyncInfo>,
    /// Who is signed in on a desk connected to a server (`None`: locked). Local and demo desks
    /// have no staff accounts and are never locked.
    user: Mutex<Option<User>>,
    locked: AtomicBool,
    /// The access token of the background sync's session, while it has one (it signs in with
    /// the laptop's refresh token): a colleague's sign-in is checked with the server through it.
    access_token: Mutex<Option<String>>,
    /// When the signed-in colleague last did something (a command), for the idle lock.
    last_activity: Mutex<Option<DateTime<Utc>>>,
    /// A time the desk works at instead of the wall clock (`None`: the wall clock). Tests set it
    /// to stand the desk at a date boundary of its property's time zone.
    pinned_now: Mutex<Option<DateTime<Utc>>>,
}

/// The staff member signed in at the desk.
#[derive(Debug, Clone, serde::Serialize, PartialEq, ts_rs::TS)]
pub struct User {
    pub email: String,
    pub role: String,
    /// The staff member's account (from the server, or kept from their last online sign-in on
    /// this laptop); what the desk writes is attributed to it.
    pub user_id: Option<uuid::Uuid>,
}

/// The background sync's view of the server, shown in the status bar.
#[derive(Debug, Clone, Default, serde::Serialize, PartialEq, ts_rs::TS)]
pub struct SyncInfo {
    /// `None` until a server was tried (and always for a local-only desk).
    pub online: Option<bool>,
    pub syncing: bool,
    pub last_sync: Option<String>,
    /// The last failure, as a clerk reads it.
    pub last_error: Option<String>,
    pub session_expired: bool,
    pub update_required: bool,
}

impl Desk {
    /// Opens (creating and migrating) the mirror in `data_dir`.
    pub fn open(data_dir: &Path) -> AppResult<Self> {
        std::fs::create_dir_all(data_dir).map_err(|e| AppError::Local {
            message: format!("cannot create {}: {e}", data_dir.display()),
        })?;
        let database = data_dir.join(DATABASE_FILE);
        let conn = pms_sync_client::mirror::open(&database)?;
        pms_sync_client::mirror::leave_checkpoints_to_sync(&conn)?;
        // a desk of a server's tenant starts locked until someone signs in
        let local = ["local_tenant", "desk_demo"]
            .iter()
            .map(|key| pms_sync_client::mirror::state(&conn, key))
            .collect::<Result<Vec<_>, _>>()?
            .iter()
            .any(|value| value.as_deref() == Some("1"));
        let has_session = crate::session_store::load(&database)?.is_some();
        Ok(Self {
            data_dir: data_dir.to_owned(),
            conn: Mutex::new(conn),
            wake: Arc::new(Notify::new()),
            force: AtomicBool::new(false),
            sync: Mutex::new(SyncInfo::default()),
            user: Mutex::new(None),
            locked: AtomicBool::new(has_session && !local),
            access_token: Mutex::new(None),
            last_activity: Mutex::new(None),
            pinned_now: Mutex::new(None),
        })
    }

    /// Now, for what the desk decides by the time (the property's today, what is due).
    pub fn now(&self) -> DateTime<Utc> {
        self.pinned_now
            .lock()
            .ok()
            .and_then(|pinned| *pinned)
            .unwrap_or_else(Utc::now)
    }

    /// Stands the desk at `at` (`None`: back to the wall clock).
    pub fn pin_clock(&self, at: Option<DateTime<Utc>>) {
        if let Ok(mut pinned) = self.pinned_now.lock() {
            *pinned = at;
        }
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    pub fn database_path(&self) -> PathBuf {
        self.data_dir.join(DATABASE_FILE)
    }

    /// The screens' connection. A panic while it was held leaves SQLite consistent (every write
    /// is one transaction), so a poisoned lock is taken over rather than refused.
    pub fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether the hotel's data is closed until someone signs in.
    pub fn is_locked(&self) -> bool {
        self.locked.load(std::sync::atomic::Ordering::SeqCst)
    }

    pub fn user(&self) -> Option<User> {
        self.user.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Opens the desk for a signed-in staff member (whoever was signed in before is signed out:
    /// switching user is signing in).
    pub fn sign_in(&self, user: User) {
        *self.user.lock().unwrap_or_else(|p| p.into_inner()) = Some(user);
        self.touch();
        self.locked
            .store(false, std::sync::atomic::Ordering::SeqCst);
    }

    /// The signed-in colleague's account, to attribute a write to (none on a local desk).
    pub fn staff_id(&self) -> Option<uuid::Uuid> {
        self.user().and_then(|user| user.user_id)
    }

    /// Records activity of the signed-in colleague now.
    pub fn touch(&self) {
        *self.last_activity.lock().unwrap_or_else(|p| p.into_inner()) = Some(self.now());
    }

    /// Locks a server desk whose colleague has done nothing for `idle` (the owner's setting);
    /// returns whether it locked. Local and demo desks have nobody to lock out.
    pub fn lock_if_idle(&self, idle: chrono::Duration) -> bool {
        let last = *self.last_activity.lock().unwrap_or_else(|p| p.into_inner());
        let idle_for = last.map(|at| self.now() - at);
        if self.user().is_some() && idle_for.is_some_and(|d| d >= idle) {
            self.sign_out(true);
            return true;
        }
        false
    }

    /// The background sync's current access token (none while offline or not yet signed in).
    pub fn access_token(&self) -> Option<String> {
        self.access_token
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn set_access_token(&self, token: Option<String>) {
        *self.access_token.lock().unwrap_or_else(|p| p.into_inner()) = token;
    }

    /// Closes a server desk until the next sign-in (local and demo desks stay open).
    pub fn sign_out(&self, lock: bool) {
        *self.user.lock().unwrap_or_else(|p| p.into_inner()) = None;
        self.locked.store(lock, std::sync::atomic::Ordering::SeqCst);
    }

    pub fn sync_info(&self) -> SyncInfo {
        self.sync.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn update_sync_info(&self, update: impl FnOnce(&mut SyncInfo)) {
        update(&mut self.sync.lock().unwrap_or_else(|p| p.into_inner()));
    }

    /// Something changed locally: let the background sync push it and refresh the status.
    pub fn changed(&self) {
        self.wake.notify_one();
    }
}
