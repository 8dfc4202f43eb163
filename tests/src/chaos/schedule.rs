//! The schedule of one seed: which laptop does what at each step (a front-desk operation, a
//! sync, or a fault), drawn from a ChaCha8 RNG of the seed before anything runs, so a seed names
//! the same schedule whatever the network does. The details of an operation (which guest, which
//! room) depend on what that laptop's mirror holds then, and are drawn by
//! [`crate::chaos::operations`] from an RNG of its own.

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
/// (about one sync or fault for every two operations).
pub fn schedule(seed: u64, operations: usize, laptops: usize) -> Vec<Step> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5c4e_d01e);
    let total_weight: u32 = OPERATIONS.iter().map(|(_, w)| w).sum();
    let mut steps = Vec::new();
    let mut made = 0;
    while made < operations {
        let laptop = rng.random_range(0..laptops);
        let action = match rng.random_range(0..100) {
            0..66 => {
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
            66..84 => Action::Sync,
            84..90 => Action::TogglePartition,
            90..94 => Action::ToggleProxyFaults,
            94..97 => Action::KillMidSync {
                after_ms: rng.random_range(1..120),
            },
            97..99 => Action::ClockJump {
                offset_minutes: rng.random_range(-24 * 60..=24 * 60),
            },
            _ => match rng.random_range(0..4) {
                0 | 1 => Action::KillMidSnapshot {
                    after_ms: rng.random_range(20..3_000),
                },
                2 => Action::RevokeDevice,
                _ => Action::RoleChange,
            },
        };
        steps.push(Step { laptop, action });
    }
    steps
}
