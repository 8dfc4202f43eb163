//! Wakes waiting pulls when their tenant's feed moves, so a change made on laptop A reaches
//! laptop B at once rather than at B's next timer.
//!
//! The feed trigger sends `NOTIFY pms_feed, '<tenant id>'` once per writing transaction (delivered
//! at commit). Each server instance listens on one connection and wakes only the pulls waiting for
//! that tenant (a map of tenant to watch channel: the cost of a notification does not grow with the
//! number of laptops waiting for other tenants); any instance can serve any laptop.
//!
//! A change to a global row (the global feed) sends `global`, which wakes every waiting pull.
//!
//! Notifications sent while the listener is not connected are lost (Postgres keeps none for a
//! listener that is gone), so each time it (re)connects every waiting pull looks once: without
//! that, a change committed during a reconnect would reach its laptops only at the end of their
//! wait, up to 30 s late.
//!
//! Each instance also measures how late it hears of a notification (`pms_feed_lag_seconds`): every
//! [`PROBE_EVERY`] it sends a probe (`probe:<instance>:<sent ms>`, no tenant in it) on the same
//! channel and times its return through its own listener. Other instances ignore probes that
//! are not theirs, as they ignore any payload that is not a tenant id.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::postgres::PgListener;
use sqlx::PgPool;
use tokio::sync::watch;
use uuid::Uuid;

/// The channel the change-feed trigger notifies.
pub const CHANNEL: &str = "pms_feed";

/// The payload of a change to a global row (a plan, a platform flag): every tenant reads those.
pub const GLOBAL: &str = "global";

/// How often an instance probes its own listener.
pub const PROBE_EVERY: Duration = Duration::from_secs(5);

#[derive(Clone)]
pub struct FeedWatch {
    waiters: Arc<Waiters>,
    health: Arc<ListenerHealth>,
}

/// The pulls waiting in this instance, by tenant.
struct Waiters {
    by_tenant: Mutex<HashMap<Uuid, watch::Sender<()>>>,
    /// Signalled after each (re)connect of the listener and for a global change: every waiter
    /// looks once.
    everyone: watch::Sender<()>,
}

impl Waiters {
    fn wake(&self, tenant: Uuid) {
        let mut by_tenant = self.by_tenant.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(sender) = by_tenant.get(&tenant) {
            if sender.receiver_count() == 0 {
                by_tenant.remove(&tenant);
            } else {
                sender.send_replace(());
            }
        }
    }

    fn wake_everyone(&self) {
        self.everyone.send_replace(());
    }
}

/// One pull's wait for its tenant's feed to move; subscribed before the pull looks at the feed,
/// so a commit between the look and the wait is not missed.
pub struct FeedWaiter {
    tenant: Uuid,
    moved: watch::Receiver<()>,
    reconnected: watch::Receiver<()>,
    waiters: Arc<Waiters>,
}

impl FeedWaiter {
    /// Waits until the tenant's feed moves (or the listener reconnected, when a move may have
    /// gone unheard) or `timeout` passes; true when the pull should look again.
    pub async fn wait(&mut self, timeout: Duration) -> bool {
        tokio::select! {
            moved = self.moved.changed() => moved.is_ok(),
            reconnected = self.reconnected.changed() => reconnected.is_ok(),
            () = tokio::time::sleep(timeout) => false,
        }
    }
}

impl Drop for FeedWaiter {
    fn drop(&mut self) {
        let mut by_tenant = self
            .waiters
            .by_tenant
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        // this waiter's receiver is still alive here: 1 means it was the tenant's last
        if by_tenant
            .get(&self.tenant)
            .is_some_and(|sender| sender.receiver_count() <= 1)
        {
            by_tenant.remove(&self.tenant);
        }
    }
}

/// What the probes found, for the metrics and the readiness check.
#[derive(Debug, Default)]
struct ListenerHealth {
    instance: Uuid,
    connected: AtomicBool,
    /// When the oldest unanswered probe was sent (ms since the epoch), 0 when none is out.
    unanswered_since_ms: AtomicI64,
    /// The round trip of the latest answered probe (ms).
    last_round_trip_ms: AtomicI64,
}

/// This instance's feed listener, as of now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListenerStatus {
    /// Listening: a commit wakes the pulls waiting here.
    pub connected: bool,
    /// The latest probe's round trip, or the age of the oldest unanswered probe if larger.
    pub lag: Duration,
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl FeedWatch {
    /// Starts listening in the background (reconnecting after a lost connection), and probing.
    pub fn start(pool: PgPool) -> Self {
        let waiters = Arc::new(Waiters {
            by_tenant: Mutex::default(),
            everyone: watch::Sender::new(()),
        });
        let health = Arc::new(ListenerHealth {
            instance: Uuid::new_v4(),
            ..Default::default()
        });
        let waking = waiters.clone();
        let listening = health.clone();
        let listen_pool = pool.clone();
        tokio::spawn(async move {
            loop {
                let lost = listen(&listen_pool, &waking, &listening).await;
                listening.connected.store(false, Ordering::Relaxed);
                tracing::warn!(reason = %lost, "feed listener lost its connection; reconnecting");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        });
        let probing = health.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(PROBE_EVERY);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                every.tick().await;
                let sent = now_ms();
                let _ = probing.unanswered_since_ms.compare_exchange(
                    0,
                    sent,
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                );
                let payload = format!("probe:{}:{sent}", probing.instance);
                if let Err(error) = sqlx::query("select pg_notify($1, $2)")
                    .bind(CHANNEL)
                    .bind(payload)
                    .execute(&pool)
                    .await
                {
                    tracing::debug!(%error, "feed probe not sent");
                }
            }
        });
        Self { waiters, health }
    }

    /// A wait for `tenant`'s feed to move from now on.
    pub fn subscribe(&self, tenant: Uuid) -> FeedWaiter {
        let reconnected = self.waiters.everyone.subscribe();
        let moved = self
            .waiters
            .by_tenant
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(tenant)
            .or_insert_with(|| watch::Sender::new(()))
            .subscribe();
        FeedWaiter {
            tenant,
            moved,
            reconnected,
            waiters: self.waiters.clone(),
        }
    }

    /// How many tenants have a pull waiting in this instance.
    pub fn tenants_waiting(&self) -> usize {
        self.waiters
            .by_tenant
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .len()
    }

    /// Whether the listener is connected, and how late it hears.
    pub fn status(&self) -> ListenerStatus {
        let health = &self.health;
        let waiting = match health.unanswered_since_ms.load(Ordering::Relaxed) {
            0 => 0,
            since => (now_ms() - since).max(0),
        };
        let lag = health
            .last_round_trip_ms
            .load(Ordering::Relaxed)
            .max(waiting);
        ListenerStatus {
            connected: health.connected.load(Ordering::Relaxed),
            lag: Duration::from_millis(u64::try_from(lag).unwrap_or(0)),
        }
    }
}

impl ListenerHealth {
    /// Takes a probe's return, if the payload is one of this instance's.
    fn answered(&self, payload: &str) {
        let Some(rest) = payload.strip_prefix("probe:") else {
            return;
        };
        let Some((instance, sent)) = rest.split_once(':') else {
            return;
        };
        let (Ok(instance), Ok(sent)) = (instance.parse::<Uuid>(), sent.parse::<i64>()) else {
            return;
        };
        if instance != self.instance {
            return;
        }
        self.last_round_trip_ms
            .store((now_ms() - sent).max(0), Ordering::Relaxed);
        // This probe and every older one are answered.
        let _ =
            self.unanswered_since_ms
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |since| {
                    (since != 0 && since <= sent).then_some(0)
                });
    }
}

/// Connects, listens, wakes every waiter once (what was sent before is unheard), then wakes each
/// notified tenant's waiters until the connection is lost; returns why.
async fn listen(pool: &PgPool, waiters: &Waiters, health: &ListenerHealth) -> String {
    let mut listener = match PgListener::connect_with(pool).await {
        Ok(listener) => listener,
        Err(error) => return error.to_string(),
    };
    if let Err(error) = listener.listen(CHANNEL).await {
        return error.to_string();
    }
    health.connected.store(true, Ordering::Relaxed);
    waiters.wake_everyone();
    loop {
        // `try_recv` (unlike `recv`) tells a lost connection apart: `recv` would reconnect
        // silently and the waiters would never hear that notifications were lost meanwhile.
        match listener.try_recv().await {
            Ok(Some(notification)) => {
                if let Ok(tenant) = notification.payload().parse::<Uuid>() {
                    waiters.wake(tenant);
                } else if notification.payload() == GLOBAL {
                    waiters.wake_everyone();
                } else {
                    health.answered(notification.payload());
                }
            }
            Ok(None) => return "the connection was closed".to_owned(),
            Err(error) => return error.to_string(),
        }
    }
}
