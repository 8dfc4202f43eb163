//! Wakes waiting pulls when their tenant's feed moves, so a change made on laptop A reaches
//! laptop B at once rather than at B's next timer.
//!
//! The feed trigger sends `NOTIFY pms_feed, '<tenant id>'` once per writing transaction (delivered
//! at commit). Each server instance listens on one connection and fans the tenant ids out to the
//! pulls waiting in it; any instance can serve any laptop.
//!
//! Each instance also measures how late it hears of a notification (`pms_feed_lag_seconds`): every
//! [`PROBE_EVERY`] it sends a probe (`probe:<instance>:<sent ms>`, no tenant in it) on the same
//! channel and times its return through its own listener. Other instances ignore probes that
//! are not theirs, as they ignore any payload that is not a tenant id.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::PgListener;
use sqlx::PgPool;
use tokio::sync::broadcast;
use uuid::Uuid;

/// The channel the change-feed trigger notifies.
pub const CHANNEL: &str = "pms_feed";

/// How often an instance probes its own listener.
pub const PROBE_EVERY: Duration = Duration::from_secs(5);

#[derive(Clone)]
pub struct FeedWatch {
    sender: broadcast::Sender<Uuid>,
    health: Arc<ListenerHealth>,
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
        let (sender, _) = broadcast::channel(1024);
        let health = Arc::new(ListenerHealth {
            instance: Uuid::new_v4(),
            ..Default::default()
        });
        let forward = sender.clone();
        let listening = health.clone();
        let listen_pool = pool.clone();
        tokio::spawn(async move {
            loop {
                let error = listen(&listen_pool, &forward, &listening).await;
                listening.connected.store(false, Ordering::Relaxed);
                tracing::warn!(%error, "feed listener lost its connection; reconnecting");
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
        Self { sender, health }
    }

    /// A receiver of the tenant ids whose feed moved from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Uuid> {
        self.sender.subscribe()
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

/// Forwards notifications until the connection fails; returns why.
async fn listen(
    pool: &PgPool,
    forward: &broadcast::Sender<Uuid>,
    health: &ListenerHealth,
) -> sqlx::Error {
    let mut listener = match PgListener::connect_with(pool).await {
        Ok(listener) => listener,
        Err(error) => return error,
    };
    if let Err(error) = listener.listen(CHANNEL).await {
        return error;
    }
    health.connected.store(true, Ordering::Relaxed);
    loop {
        match listener.recv().await {
            Ok(notification) => {
                if let Ok(tenant) = notification.payload().parse::<Uuid>() {
                    // no receivers is fine: nobody is waiting
                    let _ = forward.send(tenant);
                } else {
                    health.answered(notification.payload());
                }
            }
            Err(error) => return error,
        }
    }
}

/// Waits until `tenant`'s feed moves or `timeout` passes; true when it moved.
pub async fn wait_for(
    receiver: &mut broadcast::Receiver<Uuid>,
    tenant: Uuid,
    timeout: Duration,
) -> bool {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        match tokio::time::timeout_at(deadline, receiver.recv()).await {
            Ok(Ok(moved)) if moved == tenant => return true,
            Ok(Ok(_)) => continue,
            // lagged behind: something may have been for us, so look
            Ok(Err(broadcast::error::RecvError::Lagged(_))) => return true,
            Ok(Err(broadcast::error::RecvError::Closed)) | Err(_) => return false,
        }
    }
}
