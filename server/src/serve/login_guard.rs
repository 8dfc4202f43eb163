//! What keeps a flood of sign-ins from exhausting the server or guessing passwords.
//!
//! - **Rate limits** per account (the e-mail, known or not) and per client address, checked
//!   before any hashing: an attempt over either limit is answered `429` with `Retry-After`, at
//!   once and for nothing. Unknown e-mails count like known ones, so the answers do not tell
//!   which accounts exist.
//! - **A bound on concurrent hashes**: argon2id takes 19 MiB and a core's worth of time per
//!   verification, so verifications wait for one of a few permits (as many as the cores); one
//!   that waits too long is answered `503 server_busy` with `Retry-After` instead of piling up.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use tokio::sync::{Semaphore, SemaphorePermit};

use super::error::ApiError;

/// Sign-in attempts one account may take: a burst of this many, then one per
/// [`ACCOUNT_PERIOD`].
pub const ACCOUNT_BURST: u32 = 10;
pub const ACCOUNT_PERIOD: Duration = Duration::from_secs(6);
/// Sign-in attempts one client address may take: a burst, then one per [`ADDRESS_PERIOD`]
/// (a hotel's desks share an address, so this is looser than the account's).
pub const ADDRESS_BURST: u32 = 30;
pub const ADDRESS_PERIOD: Duration = Duration::from_secs(2);
/// How long a verification may wait for a hashing permit before it is answered busy.
pub const HASH_WAIT: Duration = Duration::from_secs(10);
/// Limiter entries kept before the idle ones are dropped (each is a few dozen bytes).
const MAX_TRACKED_KEYS: usize = 100_000;

/// Shared by every sign-in of the process.
#[derive(Clone)]
pub struct LoginGuard {
    accounts: Arc<DefaultKeyedRateLimiter<String>>,
    addresses: Arc<DefaultKeyedRateLimiter<IpAddr>>,
    hashing: Arc<Semaphore>,
}

impl Default for LoginGuard {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self::new(cores)
    }
}

fn quota(burst: u32, period: Duration) -> Quota {
    let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
    Quota::with_period(period)
        .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
        .allow_burst(burst)
}

impl LoginGuard {
    /// A guard allowing `concurrent_hashes` verifications at once.
    pub fn new(concurrent_hashes: usize) -> Self {
        Self {
            accounts: Arc::new(RateLimiter::keyed(quota(ACCOUNT_BURST, ACCOUNT_PERIOD))),
            addresses: Arc::new(RateLimiter::keyed(quota(ADDRESS_BURST, ADDRESS_PERIOD))),
            hashing: Arc::new(Semaphore::new(concurrent_hashes.max(1))),
        }
    }

    /// Takes one attempt from the address's and the account's allowance, or says how long to
    /// wait. The address is checked first, so a flood from one place does not use up the
    /// allowance of the accounts it names.
    pub fn admit(&self, address: Option<IpAddr>, email: &str) -> Result<(), ApiError> {
        self.forget_idle();
        if let Some(address) = address {
            self.addresses.check_key(&address).map_err(|not_until| {
                too_many(not_until.wait_time_from(DefaultClock::default().now()))
            })?;
        }
        self.accounts
            .check_key(&email.trim().to_lowercase())
            .map_err(|not_until| too_many(not_until.wait_time_from(DefaultClock::default().now())))
    }

    /// Waits for a hashing permit, at most [`HASH_WAIT`].
    pub async fn hashing_permit(&self) -> Result<SemaphorePermit<'_>, ApiError> {
        match tokio::time::timeout(HASH_WAIT, self.hashing.acquire()).await {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(ApiError::Busy),
        }
    }

    /// Keeps the limiters' memory bounded under a flood of distinct e-mails or addresses.
    fn forget_idle(&self) {
        if self.accounts.len() > MAX_TRACKED_KEYS {
            self.accounts.retain_recent();
        }
        if self.addresses.len() > MAX_TRACKED_KEYS {
            self.addresses.retain_recent();
        }
    }
}

fn too_many(wait: Duration) -> ApiError {
    tracing::warn!(
        retry_after_ms = wait.as_millis() as u64,
        "sign-in rate limited"
    );
    ApiError::TooManyRequests {
        retry_after_secs: wait.as_secs() + u64::from(wait.subsec_nanos() > 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_is_limited_whatever_the_address_and_an_address_whatever_the_account() {
        let guard = LoginGuard::new(1);
        let here: IpAddr = [10, 0, 0, 1].into();
        for n in 0..ACCOUNT_BURST {
            let address: IpAddr = [10, 0, 1, n as u8].into();
            assert!(guard.admit(Some(address), "Ana@Example.com").is_ok());
        }
        match guard.admit(Some(here), " ana@example.com ") {
            Err(ApiError::TooManyRequests { retry_after_secs }) => assert!(retry_after_secs >= 1),
            other => panic!("the account's burst is spent: {other:?}"),
        }
        // That refused attempt took one of the address's allowance; the rest go to new accounts.
        for n in 1..ADDRESS_BURST {
            assert!(guard
                .admit(Some(here), &format!("guest{n}@example.com"))
                .is_ok());
        }
        assert!(matches!(
            guard.admit(Some(here), "someone.new@example.com"),
            Err(ApiError::TooManyRequests { .. })
        ));
    }
}
