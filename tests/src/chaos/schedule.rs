//! The schedule of one seed: which laptop does what at each step (a front-desk operation, a
//! sync, or a fault), drawn from a ChaCha8 RNG of the seed before anything runs, so a seed names
//! the same schedule whatever the network does. The details of an operation (which guest, which
//! room) depend on what that laptop's mirror holds then, and are drawn by
//! [`crate::chaos::operations`] from an RNG of its own.

use std::collections::BTreeSet;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::history::OpKind;

/// One step of the schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    pub laptop: usize,
    pub action: Action,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Operate(OpKind),
    /// A sync round (skipped while the laptop is partitioned).
    Sync,
    /// Take the laptop off the network, or give it back.
    TogglePartition,
    /// Turn its proxy's faults on or off.
    ToggleProxyFaults,
    /// A sync killed after `after_ms` milliseconds (skipped while partitioned).
    KillMidSync {
        after_ms: u64,
    },
    /// The laptop's clock moves to `offset_minutes` off the true time (up to ±1 day).
    ClockJump {
        offset_minutes: i64,
    },
    /// The laptop must take a new snapshot (the server pruned the sync state past its cursor),
    /// and is killed `after_ms` milliseconds into it (skipped while partitioned).
    KillMidSnapshot {
        after_ms: u64,
    },
    /// An administrator revokes the laptop's device (`pms_server::admin::revoke_device`): its
    /// next sync is refused and the clerk, shown that the session ended, signs in again.
    RevokeDevice,
    /// An administrator switches the laptop's staff account between front desk and manager
    /// (`pms_server::admin::set_staff_role`); every laptop of the account follows on its next
    /// pull.
    RoleChange,
    /// The laptop's disk fills up, `headroom_pages` pages of the mirror left; or, when it is
    /// full already, space is freed.
    ToggleDiskFull {
        headroom_pages: u32,
    },
    /// The seed's server is SIGKILLed `after_ms` milliseconds into the laptop's sync (no sync
    /// while partitioned: the server is killed all the same) and started again.
    KillServer {
        after_ms: u64,
    },
    /// Postgres restarts: `immediate` (a crash) or `fast`.
    RestartPostgres {
        immediate: bool,
    },
    /// The desk is upgraded: the mirror file, as the build before mirror migration 0006 left it
    /// (its outbox kept), is opened and migrated by this build.
    UpgradeApp,
    /// The platform's operator prunes the sync state of every tenant (`pms-server prune`'s
    /// `admin::prune_sync_state` keeping 0 days): every laptop behind takes a new snapshot, and
    /// push results go by the retention rule.
    PruneSyncState,
}

/// The kinds of fault a schedule holds, by the name `pms-chaos --without` takes.
pub const FAULT_KINDS: &[&str] = &[
    "partition",
    "proxy_faults",
    "kill_mid_sync",
    "clock_jump",
    "disk_full",
    "kill_mid_snapshot",
    "revoke_device",
    "role_change",
    "kill_server",
    "restart_postgres",
    "upgrade_app",
    "prune_sync_state",
];

impl Action {
    /// The kind of fault this step is (one of [`FAULT_KINDS`]); none for an operation or a sync.
    pub fn fault_kind(&self) -> Option<&'static str> {
        Some(match self {
            Action::Operate(_) | Action::Sync => return None,
            Action::TogglePartition => "partition",
            Action::ToggleProxyFaults => "proxy_faults",
            Action::KillMidSync { .. } => "kill_mid_sync",
            Action::ClockJump { .. } => "clock_jump",
            Action::ToggleDiskFull { .. } => "disk_full",
            Action::KillMidSnapshot { .. } => "kill_mid_snapshot",
            Action::RevokeDevice => "revoke_device",
            Action::RoleChange => "role_change",
            Action::KillServer { .. } => "kill_server",
            Action::RestartPostgres { .. } => "restart_postgres",
            Action::UpgradeApp => "upgrade_app",
            Action::PruneSyncState => "prune_sync_state",
        })
    }
}

/// How much each operation weighs in the mix (of their sum).
const OPERATIONS: &[(OpKind, u32)] = &[
    (OpKind::GuestCreate, 8),
    (OpKind::GuestEdit, 14),
    (OpKind::Booking, 18),
    (OpKind::StayMove, 8),
    (OpKind::StayStatus, 10),
    (OpKind::LoyaltyEarn, 8),
    (OpKind::LoyaltyRedeem, 10),
    (OpKind::LoyaltyEnroll, 4),
    (OpKind::Payment, 10),
    (OpKind::Refund, 3),
    (OpKind::Charge, 6),
    (OpKind::Void, 5),
];

/// `operations` front-desk operations on `laptops` laptops, with syncs and faults among them
/// (about one sync or fault for every two operations), leaving out the faults of the kinds
/// `without` names: the rest of the schedule is the same step for step (what shrinking needs).
pub fn schedule(
    seed: u64,
    operations: usize,
    laptops: usize,
    without: &BTreeSet<String>,
) -> Vec<Step> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5c4e_d01e);
    let total_weight: u32 = OPERATIONS.iter().map(|(_, w)| w).sum();
    let mut steps = Vec::new();
    let mut made = 0;
    while made < operations {
        let laptop = rng.random_range(0..laptops);
        let action = match rng.random_range(0..100) {
            0..65 => {
                let mut roll = rng.random_range(0..total_weight);
                let kind = OPERATIONS
                    .iter()
                    .find(|(_, weight)| {
                        if roll < *weight {
                            true
                        } else {
                            roll -= weight;
                            false
                        }
                    })
                    .map_or(OpKind::GuestEdit, |(kind, _)| *kind);
                made += 1;
                Action::Operate(kind)
            }
            65..83 => Action::Sync,
            83..89 => Action::TogglePartition,
            89..93 => Action::ToggleProxyFaults,
            93..96 => Action::KillMidSync {
                after_ms: rng.random_range(1..120),
            },
            96..98 => Action::ClockJump {
                offset_minutes: rng.random_range(-24 * 60..=24 * 60),
            },
            98 => Action::ToggleDiskFull {
                headroom_pages: rng.random_range(0..24),
            },
            _ => match rng.random_range(0..10) {
                0..3 => Action::KillMidSnapshot {
                    after_ms: rng.random_range(20..3_000),
                },
                3 => Action::RevokeDevice,
                4 => Action::RoleChange,
                5 | 6 => Action::KillServer {
                    after_ms: rng.random_range(1..150),
                },
                7 => Action::RestartPostgres {
                    immediate: rng.random_bool(0.5),
                },
                8 => Action::UpgradeApp,
                _ => Action::PruneSyncState,
            },
        };
        if action
            .fault_kind()
            .is_none_or(|kind| !without.contains(kind))
        {
            steps.push(Step { laptop, action });
        }
    }
    steps
}
