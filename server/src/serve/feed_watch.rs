//! Wakes waiting pulls when their tenant's feed moves, so a change made on laptop A reaches
//! laptop B at once rather than at B's next timer.
//!
//! The feed trigger sends `NOTIFY pms_feed, '<tenant id>'` once per writing transaction (delivered
//! at commit). Each server instance listens on one connection and fans the tenant ids out to the
//! pulls waiting in it; any instance can serve any laptop.

use std::time::Duration;

use sqlx::postgres::PgListener;
use sqlx::PgPool;
use tokio::sync::broadcast;
use uuid::Uuid;

/// The channel the change-feed trigger notifies.
pub const CHANNEL: &str = "pms_feed";

#[derive(Clone)]
pub struct FeedWatch {
    sender: broadcast::Sender<Uuid>,
}

impl FeedWatch {
    /// Starts listening in the background (reconnecting after a lost connection).
    pub fn start(pool: PgPool) -> Self {
        let (sender, _) = broadcast::channel(1024);
        let forward = sender.clone();
        tokio::spawn(async move {
            loop {
                let error = listen(&pool, &forward).await;
                tracing::warn!(%error, "feed listener lost its connection; reconnecting");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        });
        Self { sender }
    }

    /// A receiver of the tenant ids whose feed moved from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Uuid> {
        self.sender.subscribe()
    }
}

/// Forwards notifications until the connection fails; returns why.
async fn listen(pool: &PgPool, forward: &broadcast::Sender<Uuid>) -> sqlx::Error {
    let mut listener = match PgListener::connect_with(pool).await {
        Ok(listener) => listener,
        Err(error) => return error,
    };
    if let Err(error) = listener.listen(CHANNEL).await {
        return error;
    }
    loop {
        match listener.recv().await {
            Ok(notification) => {
                if let Ok(tenant) = notification.payload().parse::<Uuid>() {
                    // no receivers is fine: nobody is waiting
                    let _ = forward.send(tenant);
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
