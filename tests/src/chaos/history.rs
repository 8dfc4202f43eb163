//! The history of one seed's run: every operation as its laptop saw it (the intent, and what the
//! desk answered: accepted with the rows and outbox changes it made, or refused with the message
//! the clerk was shown), every sync with its counts or its error, and every fault injected.
//! Kept in memory for the checker and written as JSON lines (one record a line, each carrying the
//! seed) when the campaign is given a history directory.

use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

/// One line of the history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub seed: u64,
    /// The position in the schedule (the final syncs after the schedule continue the count).
    pub step: usize,
    /// The laptop it happened on or to (none for a fault of the whole link).
    pub laptop: Option<usize>,
    #[serde(flatten)]
    pub event: Event,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    Operation {
        kind: OpKind,
        /// What the clerk asked for (the values written, the stay paid, the points redeemed).
        intent: Value,
        outcome: Outcome,
    },
    Sync {
        pushed: usize,
        rejected: usize,
        pulled: usize,
        /// The error the round ended with (a dropped link, a reset); none when it completed.
        error: Option<String>,
        /// For the campaign's final syncs, how long after every fault had healed the round
        /// ended (milliseconds); none for a round during the schedule.
        after_heal_ms: Option<u64>,
    },
    Fault {
        fault: FaultKind,
        detail: String,
    },
}

/// A front-desk operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OpKind {
    GuestCreate,
    GuestEdit,
    Booking,
    StayMove,
    StayStatus,
    LoyaltyEarn,
    LoyaltyRedeem,
    LoyaltyEnroll,
    Payment,
    Refund,
    Charge,
    Void,
}

/// A fault the schedule injected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// The laptop loses the network: it does not sync until healed.
    Partition,
    Heal,
    /// The laptop's proxy starts dropping, delaying, resetting, truncating and duplicating.
    ProxyFaultsOn,
    ProxyFaultsOff,
    /// The laptop's process dies during a sync and restarts from its mirror file.
    KillMidSync,
    /// The laptop's clock jumps (it may be hours or a day off the server's).
    ClockJump,
    /// The laptop is told to take a new snapshot (its outbox kept), as after the server pruned
    /// the sync state past its cursor.
    SnapshotReset,
    /// The laptop's process dies during that snapshot and restarts from its mirror file.
    KillMidSnapshot,
    /// An administrator revoked the laptop's device.
    RevokeDevice,
    /// The clerk of a revoked laptop, shown that the session ended, signed in again on the same
    /// mirror (a new device; the outbox kept, as the desk's sign-in keeps it).
    SignInAgain,
    /// An administrator changed the role of the laptop's staff account.
    RoleChange,
    /// The laptop's disk fills up: a write that needs a new page of the mirror is refused
    /// (`SQLITE_FULL`, shown to the clerk as a full disk), also after a restart.
    DiskFull,
    /// Space is freed on the laptop's disk.
    DiskFreed,
    /// The seed's sync server is SIGKILLed (while the laptop syncs through it) and started again.
    ServerKilled,
    /// The campaign's Postgres restarts (`fast`: sessions cut, clean shutdown; `immediate`: a
    /// crash, recovered from the WAL), under every seed running then.
    PostgresRestart,
    /// The desk is upgraded: the mirror as the older build left it is migrated by this one.
    AppUpgrade,
    /// The sync state of every tenant was pruned (the feed, and the push results retention may
    /// remove).
    SyncStatePruned,
}

/// What the desk answered the clerk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Outcome {
    /// Written locally: the rows it wrote (table, id) and the outbox changes that carry them.
    Accepted {
        rows: Vec<RowRef>,
        change_ids: Vec<Uuid>,
        /// For an update: what the laptop's mirror showed of each field group the update
        /// touches, just before the write (group name to its columns' values). The checker's
        /// *no stale win* compares it with what the change lost to on the server.
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        seen: BTreeMap<String, Value>,
    },
    /// Refused on the desk, with the message shown; nothing was written.
    Refused { message: String },
    /// Nothing to operate on (no member, no stay on this laptop yet): not shown as anything.
    Nothing,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RowRef {
    pub table: String,
    pub id: Uuid,
}

/// A seed's history, in order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct History {
    pub seed: u64,
    pub records: Vec<Record>,
}

impl History {
    pub fn new(seed: u64) -> Self {
        Self {
            seed,
            records: Vec::new(),
        }
    }

    pub fn record(&mut self, step: usize, laptop: Option<usize>, event: Event) {
        self.records.push(Record {
            seed: self.seed,
            step,
            laptop,
            event,
        });
    }

    /// The accepted operations: (step, laptop, kind, rows, change ids).
    pub fn accepted(&self) -> impl Iterator<Item = (usize, usize, OpKind, &[RowRef], &[Uuid])> {
        self.records
            .iter()
            .filter_map(|r| match (&r.event, r.laptop) {
                (
                    Event::Operation {
                        kind,
                        outcome:
                            Outcome::Accepted {
                                rows, change_ids, ..
                            },
                        ..
                    },
                    Some(laptop),
                ) => Some((
                    r.step,
                    laptop,
                    *kind,
                    rows.as_slice(),
                    change_ids.as_slice(),
                )),
                _ => None,
            })
    }

    /// The file this seed's history goes to in `dir`.
    pub fn path_in(dir: &Path, seed: u64) -> PathBuf {
        dir.join(format!("seed-{seed}.jsonl"))
    }

    /// Writes the history as JSON lines to `seed-<seed>.jsonl` in `dir`.
    pub fn write_to(&self, dir: &Path) -> std::io::Result<PathBuf> {
        std::fs::create_dir_all(dir)?;
        let path = Self::path_in(dir, self.seed);
        let mut out = std::io::BufWriter::new(std::fs::File::create(&path)?);
        for record in &self.records {
            serde_json::to_writer(&mut out, record)?;
            out.write_all(b"\n")?;
        }
        out.flush()?;
        Ok(path)
    }

    /// Reads a history written by [`History::write_to`].
    pub fn read_from(path: &Path) -> std::io::Result<Self> {
        let file = std::io::BufReader::new(std::fs::File::open(path)?);
        let mut history = Self::default();
        for line in file.lines() {
            let record: Record = serde_json::from_str(&line?)?;
            history.seed = record.seed;
            history.records.push(record);
        }
        Ok(history)
    }
}
