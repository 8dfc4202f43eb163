//! The background sync: a task on the async runtime that pushes and pulls on its own SQLite
//! connection, so the screens never wait for the network.
//!
//! It runs a round when woken by a local change (or "sync now"), and every 30 seconds while
//! online. After a failure it backs off (2 s doubling to 5 minutes, with jitter so that the
//! laptops of a hotel coming back from one outage do not call at the same instant; `backon`);
//! changes made meanwhile only
//! refresh the status until the next try. After every round or change it emits `sync://status`
//! (`commands::sync::SyncStatus`). A local-only or demo desk has no session and never syncs.
//!
//! The client's engine futures are not `Send` (they hold a borrow of the connection across an
//! await), so the task runs on a thread of its own with a single-threaded runtime, and the
//! initial sync of `connect_server` runs the same way ([`on_own_thread`]).
//!
//! The same task runs the night audit by itself once the property's audit hour has passed
//! (`night_audit::run_due`, every business date that is due, oldest first), on every desk, a
//! local one too: it looks at least once a minute.
//!
//! The access token lives in memory only and is refreshed every 10 minutes (it is valid for 15)
//! with the refresh token kept by `session_store` (the OS keychain, else a 0600 file), which
//! rotates at every refresh.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use backon::{BackoffBuilder, ExponentialBackoff, ExponentialBuilder};

use crate::session_store;
use pms_sync_client::remote::Remote;
use pms_sync_client::session_file::StoredSession;
use pms_sync_client::{engine, mirror};
use rusqlite::Connection;
use tauri::{AppHandle, Emitter, Manager, Runtime};

use crate::error::AppError;
use crate::state::Desk;

const EVERY: Duration = Duration::from_secs(30);
const FIRST_BACKOFF: Duration = Duration::from_secs(2);
const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// The waits between failed rounds, from the first failure on.
fn retry_waits() -> ExponentialBackoff {
    ExponentialBuilder::new()
        .with_min_delay(FIRST_BACKOFF)
        .with_max_delay(MAX_BACKOFF)
        .with_jitter()
        .without_max_times()
        .build()
}

const TOKEN_LIFE: Duration = Duration::from_secs(600);
/// How often a desk with nothing else to do looks whether the night audit is due.
const AUDIT_CHECK: Duration = Duration::from_secs(60);
/// How often a running desk removes the identity documents its property no longer keeps.
const PURGE_CHECK: Duration = Duration::from_secs(15 * 60);

/// Runs the desk's property's night audits that are due. Returns how many days it closed.
pub fn audit_when_due(desk: &Desk) -> Result<usize, AppError> {
    let now = desk.now();
    let mut conn = desk.conn();
    let Some(property) = crate::db::current_property(&conn)? else {
        return Ok(0);
    };
    let property = crate::db::parse_id("property_id", &property.id)?;
    let closed = pms_sync_client::night_audit::run_due(&mut conn, property, now, None)?;
    Ok(closed.len())
}

/// Removes the identity documents the property no longer keeps (its retention setting), as the
/// server does: a desk that stays offline, or has no server, keeps them no longer either.
pub fn purge_expired_documents(desk: &Desk) -> Result<usize, AppError> {
    let now = desk.now();
    Ok(pms_sync_client::registration::purge_expired(
        &mut desk.conn(),
        now,
    )?)
}

/// Starts the task for the app's `Desk`.
pub fn spawn<R: Runtime>(app: AppHandle<R>) {
    let started = std::thread::Builder::new()
        .name("pms-sync".to_owned())
        .spawn(move || match single_threaded() {
            Ok(runtime) => runtime.block_on(run(app)),
            Err(error) => log::error!("the background sync cannot start: {error}"),
        });
    if let Err(error) = started {
        log::error!("the background sync cannot start: {error}");
    }
}

fn single_threaded() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

/// Runs a future that is not `Send` to completion on a new thread with its own runtime, and
/// awaits its result from any async context.
pub async fn on_own_thread<T, Fut>(
    make: impl FnOnce() -> Fut + Send + 'static,
) -> Result<T, AppError>
where
    T: Send + 'static,
    Fut: std::future::Future<Output = Result<T, AppError>> + 'static,
{
    let (sender, receiver) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("pms-sync-once".to_owned())
        .spawn(move || {
            let result = match single_threaded() {
                Ok(runtime) => runtime.block_on(make()),
                Err(error) => Err(AppError::Local {
                    message: error.to_string(),
                }),
            };
            let _ = sender.send(result);
        })
        .map_err(|error| AppError::Local {
            message: error.to_string(),
        })?;
    receiver.await.unwrap_or_else(|_| {
        Err(AppError::Local {
            message: "the sync stopped unexpectedly".to_owned(),
        })
    })
}

/// Emits the current status to the UI.
pub fn emit_status<R: Runtime>(app: &AppHandle<R>) {
    let desk = app.state::<Desk>();
    if let Ok(status) = crate::commands::sync::status(&desk) {
        let _ = app.emit("sync://status", status);
    }
}

struct Connected {
    remote: Remote,
    since: Instant,
}

async fn run<R: Runtime>(app: AppHandle<R>) {
    let desk = app.state::<Desk>();
    let mut connection: Option<Connection> = None;
    let mut connected: Option<Connected> = None;
    let mut backoff = retry_waits();
    let mut next_try = Instant::now();
    let mut next_purge = Instant::now();
    loop {
        match audit_when_due(&desk) {
            Ok(0) => {}
            Ok(_) => desk.changed(),
            Err(error) => log::error!("the night audit could not run by itself: {error}"),
        }
        // documents expire by the day: the loop wakes after every local change, the purge needs
        // to look far less often
        if Instant::now() >= next_purge {
            next_purge = Instant::now() + PURGE_CHECK;
            if let Err(error) = purge_expired_documents(&desk) {
                log::error!("expired identity documents could not be removed: {error}");
            }
        }
        let forced = desk.force.swap(false, Ordering::SeqCst);
        let session = session_store::load(&desk.database_path()).ok().flatten();
        let wait = match session {
            None => None,
            Some(_) if !forced && Instant::now() < next_try => Some(next_try - Instant::now()),
            Some(stored) => {
                desk.update_sync_info(|info| info.syncing = true);
                emit_status(&app);
                let outcome = round(&desk, stored, &mut connection, &mut connected).await;
                let now = crate::db::now();
                let failed = outcome.is_err();
                let wait = match outcome {
                    Ok(()) => {
                        backoff = retry_waits();
                        desk.update_sync_info(|info| {
                            info.online = Some(true);
                            info.last_sync = Some(now);
                            info.last_error = None;
                            info.session_expired = false;
                            info.update_required = false;
                        });
                        Some(EVERY)
                    }
                    Err(error) => {
                        connected = None;
                        let message = error.to_string();
                        log::warn!("sync round failed: {message}");
                        // jitter adds up to the wait again; the cap holds whatever it drew
                        let delay = backoff.next().unwrap_or(MAX_BACKOFF).min(MAX_BACKOFF);
                        let wait = match &error {
                            AppError::SessionExpired => None,
                            AppError::ClientTooOld => None,
                            _ => Some(delay),
                        };
                        desk.update_sync_info(|info| {
                            info.online = Some(!matches!(error, AppError::ServerUnreachable));
                            info.last_error = Some(message);
                            info.session_expired = error == AppError::SessionExpired;
                            info.update_required = error == AppError::ClientTooOld;
                        });
                        wait
                    }
                };
                desk.update_sync_info(|info| info.syncing = false);
                // After a failure, changes made meanwhile wait for the backoff; after a success
                // the next change is pushed at once.
                next_try = if failed {
                    Instant::now() + wait.unwrap_or(MAX_BACKOFF)
                } else {
                    Instant::now()
                };
                wait
            }
        };
        emit_status(&app);
        checkpoint(&desk, &mut connection);
        match wait {
            Some(wait) => {
                let _ = tokio::time::timeout(wait, desk.wake.notified()).await;
            }
            None => {
                let _ = tokio::time::timeout(AUDIT_CHECK, desk.wake.notified()).await;
            }
        }
    }
}

/// Copies the WAL back into the mirror after the round (the loop runs after every local
/// change), on the sync's own connection: the screens' connection leaves it here
/// (`mirror::leave_checkpoints_to_sync`), so a clerk's save never waits for it.
fn checkpoint(desk: &Desk, connection: &mut Option<Connection>) {
    if connection.is_none() {
        match mirror::open(&desk.database_path()) {
            Ok(opened) => *connection = Some(opened),
            Err(error) => {
                log::warn!("the mirror could not be opened to checkpoint it: {error}");
                return;
            }
        }
    }
    if let Some(conn) = connection.as_ref() {
        if let Err(error) = mirror::checkpoint(conn) {
            log::warn!("the mirror's checkpoint failed: {error}");
        }
    }
}

/// One round: a fresh access token when needed, the initial sync if it has not completed, then
/// push and pull.
async fn round(
    desk: &Desk,
    stored: StoredSession,
    connection: &mut Option<Connection>,
    connected: &mut Option<Connected>,
) -> Result<(), AppError> {
    if connection.is_none() {
        *connection = Some(mirror::open(&desk.database_path())?);
    }
    let Some(conn) = connection.as_mut() else {
        return Err(AppError::NotSetUp);
    };
    if connected
        .as_ref()
        .is_none_or(|c| c.since.elapsed() > TOKEN_LIFE)
    {
        let mut remote = Remote::new(stored.server.clone());
        let session = remote
            .refresh(stored.device_id, &stored.refresh_token)
            .await?;
        session_store::save(
            &desk.database_path(),
            &StoredSession {
                refresh_token: session.refresh_token,
                ..stored
            },
        )?;
        desk.set_access_token(remote.access_token().map(str::to_owned));
        *connected = Some(Connected {
            remote,
            since: Instant::now(),
        });
    }
    let Some(Connected { remote, .. }) = connected.as_ref() else {
        return Err(AppError::SessionExpired);
    };
    // A token refused here (the laptop slept past its life) is not an expired session: the next
    // round signs in again with the refresh token.
    let retry = |error: pms_sync_client::Error| match AppError::from(error) {
        AppError::SessionExpired => AppError::ServerRefused {
            message: "signing in again".to_owned(),
        },
        other => other,
    };
    engine::initial_sync(conn, remote, |_| true)
        .await
        .map_err(retry)?;
    engine::sync_once(conn, remote).await.map_err(retry)?;
    Ok(())
}
