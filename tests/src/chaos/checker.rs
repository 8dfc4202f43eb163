//! The checker: pure functions from a seed's [`History`] and its [`FinalState`] (rows read from
//! Postgres and the mirrors once every fault healed and every laptop synced until quiet) to the
//! anomalies found. Nothing here touches a database, so each property can be tested with
//! hand-made inputs (`tests/tests/chaos.rs`); [`crate::chaos::runner`] fetches the state.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use serde::Serialize;
use uuid::Uuid;

use super::history::{Event, History, OpKind};

/// A property that did not hold, with the seed and the steps of the operations involved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Anomaly {
    pub property: &'static str,
    pub seed: u64,
    pub detail: String,
    pub operations: Vec<usize>,
}

pub const CONVERGENCE: &str = "convergence";
pub const NO_LOST_WRITE: &str = "no_lost_write";
pub const NO_DOUBLE_APPLY: &str = "no_double_apply";
pub const ROOM_NIGHTS: &str = "invariant_room_nights";
pub const LOYALTY_BALANCE: &str = "invariant_loyalty_balance";
pub const PAID_AMOUNT: &str = "invariant_paid_amount";
pub const CONFIRMATION_NUMBERS: &str = "invariant_confirmation_numbers";
pub const MEMBERSHIP_NUMBERS: &str = "invariant_membership_numbers";
pub const LIVENESS: &str = "liveness";

/// What one laptop holds at the end.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LaptopState {
    pub laptop: usize,
    pub device_id: Uuid,
    /// Every difference between the mirror and what its staff member reads on the server
    /// (`ServerRows::compare`); empty when they agree.
    pub mirror_differences: Vec<String>,
    /// The change ids in the conflicts inbox (the clerk is shown each). A field group that lost a
    /// merge is kept as `<change id>:<group>`.
    pub conflicts: BTreeSet<String>,
    /// The change ids still in the outbox (pending or acknowledged).
    pub outbox: Vec<Uuid>,
}

/// One row of `app.change_results` (the server's push ledger).
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeResult {
    pub device_id: Uuid,
    pub change_id: Uuid,
    pub status: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Stay {
    pub id: Uuid,
    pub room_id: Option<Uuid>,
    pub check_in: NaiveDate,
    pub check_out: NaiveDate,
    pub status: String,
    pub deleted: bool,
    pub confirmation_number: i64,
    pub deposit_paid_cents: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    pub id: Uuid,
    pub points_balance: i64,
    pub membership_number: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LedgerEntry {
    pub id: Uuid,
    pub member_id: Uuid,
    pub points: i64,
    pub balance_after: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FolioEntry {
    pub id: Uuid,
    pub reservation_id: Uuid,
    pub kind: String,
    pub amount_minor: i64,
    pub voids_entry_id: Option<Uuid>,
}

/// The tenant's rows on the server and every laptop's end state.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FinalState {
    pub laptops: Vec<LaptopState>,
    pub change_results: Vec<ChangeResult>,
    pub stays: Vec<Stay>,
    pub members: Vec<Member>,
    pub ledger: Vec<LedgerEntry>,
    pub folio_entries: Vec<FolioEntry>,
    /// Ids of the tenant's guests on the server.
    pub guests: Vec<Uuid>,
}

/// Every property, in order.
pub fn check(history: &History, state: &FinalState) -> Vec<Anomaly> {
    let mut anomalies = convergence(history, state);
    anomalies.extend(no_lost_write(history, state));
    anomalies.extend(no_double_apply(history, state));
    anomalies.extend(room_nights(history, state));
    anomalies.extend(loyalty_balances(history, state));
    anomalies.extend(paid_amounts(history, state));
    anomalies.extend(confirmation_numbers(history, state));
    anomalies.extend(membership_numbers(history, state));
    anomalies.extend(liveness(history, state));
    anomalies
}

fn anomaly(
    history: &History,
    property: &'static str,
    detail: String,
    operations: Vec<usize>,
) -> Anomaly {
    Anomaly {
        property,
        seed: history.seed,
        detail,
        operations,
    }
}

/// The steps of the accepted operations that wrote row `id`.
fn steps_writing(history: &History, id: Uuid) -> Vec<usize> {
    history
        .accepted()
        .filter(|(_, _, _, rows, _)| rows.iter().any(|r| r.id == id))
        .map(|(step, ..)| step)
        .collect()
}

/// Every mirror equals what its staff member may read on the server.
pub fn convergence(history: &History, state: &FinalState) -> Vec<Anomaly> {
    state
        .laptops
        .iter()
        .filter(|l| !l.mirror_differences.is_empty())
        .map(|l| {
            anomaly(
                history,
                CONVERGENCE,
                format!(
                    "laptop {} differs from the server in {} ways, first: {}",
                    l.laptop,
                    l.mirror_differences.len(),
                    l.mirror_differences[0]
                ),
                Vec::new(),
            )
        })
        .collect()
}

/// Each change an accepted operation made was applied or merged on the server, or is in its
/// laptop's conflicts inbox (shown to the clerk); and each row a change that was applied inserted
/// (a guest, a payment, a ledger entry) is on the server.
pub fn no_lost_write(history: &History, state: &FinalState) -> Vec<Anomaly> {
    let taken: BTreeSet<Uuid> = state
        .change_results
        .iter()
        .filter(|r| r.status == "applied" || r.status == "merged")
        .map(|r| r.change_id)
        .collect();
    let guests: BTreeSet<Uuid> = state.guests.iter().copied().collect();
    let ledger: BTreeSet<Uuid> = state.ledger.iter().map(|e| e.id).collect();
    let entries: BTreeSet<Uuid> = state.folio_entries.iter().map(|e| e.id).collect();
    let stays: BTreeSet<Uuid> = state.stays.iter().map(|s| s.id).collect();
    let mut found = Vec::new();
    for (step, laptop, kind, rows, change_ids) in history.accepted() {
        let inbox = state
            .laptops
            .iter()
            .find(|l| l.laptop == laptop)
            .map(|l| &l.conflicts);
        let shown = |change: &Uuid| inbox.is_some_and(|i| i.contains(&change.to_string()));
        let mut all_taken = true;
        for change in change_ids {
            if taken.contains(change) {
                continue;
            }
            all_taken = false;
            if !shown(change) {
                found.push(anomaly(
                    history,
                    NO_LOST_WRITE,
                    format!("laptop {laptop}'s {kind:?} change {change} is neither applied on the server nor in its conflicts inbox"),
                    vec![step],
                ));
            }
        }
        // An insert the server took must have left its row there.
        if all_taken
            && kind != OpKind::GuestEdit
            && kind != OpKind::StayMove
            && kind != OpKind::StayStatus
        {
            for row in rows {
                let present = match row.table.as_str() {
                    "guests" => guests.contains(&row.id),
                    "loyalty_transactions" => ledger.contains(&row.id),
                    "folio_entries" => entries.contains(&row.id),
                    "reservations" => stays.contains(&row.id),
                    _ => true,
                };
                if !present {
                    found.push(anomaly(
                        history,
                        NO_LOST_WRITE,
                        format!("laptop {laptop}'s {kind:?} row {} {} was applied but is not on the server", row.table, row.id),
                        vec![step],
                    ));
                }
            }
        }
    }
    found
}

/// Each push change has one result on the server, and each ledger or folio entry an accepted
/// operation wrote is there at most once.
pub fn no_double_apply(history: &History, state: &FinalState) -> Vec<Anomaly> {
    let mut found = Vec::new();
    let mut results: BTreeMap<Uuid, usize> = BTreeMap::new();
    for r in &state.change_results {
        *results.entry(r.change_id).or_default() += 1;
    }
    let accepted_steps: BTreeMap<Uuid, usize> = history
        .accepted()
        .flat_map(|(step, _, _, _, changes)| changes.iter().map(move |c| (*c, step)))
        .collect();
    for (change, count) in &results {
        if *count > 1 {
            found.push(anomaly(
                history,
                NO_DOUBLE_APPLY,
                format!("change {change} has {count} results on the server"),
                accepted_steps.get(change).into_iter().copied().collect(),
            ));
        }
    }
    let mut rows: BTreeMap<Uuid, usize> = BTreeMap::new();
    for id in state
        .ledger
        .iter()
        .map(|e| e.id)
        .chain(state.folio_entries.iter().map(|e| e.id))
    {
        *rows.entry(id).or_default() += 1;
    }
    for (id, count) in rows {
        if count > 1 {
            found.push(anomaly(
                history,
                NO_DOUBLE_APPLY,
                format!("entry {id} is on the server {count} times"),
                steps_writing(history, id),
            ));
        }
    }
    found
}

fn active(stay: &Stay) -> bool {
    !stay.deleted && matches!(stay.status.as_str(), "pending" | "confirmed" | "checked_in")
}

/// No two active stays share a room on a night.
pub fn room_nights(history: &History, state: &FinalState) -> Vec<Anomaly> {
    let mut by_room: BTreeMap<Uuid, Vec<&Stay>> = BTreeMap::new();
    for stay in state.stays.iter().filter(|s| active(s)) {
        if let Some(room) = stay.room_id {
            by_room.entry(room).or_default().push(stay);
        }
    }
    let mut found = Vec::new();
    for (room, stays) in by_room {
        for (i, a) in stays.iter().enumerate() {
            for b in &stays[i + 1..] {
                if a.check_in < b.check_out && b.check_in < a.check_out {
                    let mut steps = steps_writing(history, a.id);
                    steps.extend(steps_writing(history, b.id));
                    found.push(anomaly(
                        history,
                        ROOM_NIGHTS,
                        format!(
                            "room {room}: stays {} ({}..{}) and {} ({}..{}) are both active",
                            a.id, a.check_in, a.check_out, b.id, b.check_in, b.check_out
                        ),
                        steps,
                    ));
                }
            }
        }
    }
    found
}

/// Every member's balance equals the sum of its ledger, and no entry left it below zero.
pub fn loyalty_balances(history: &History, state: &FinalState) -> Vec<Anomaly> {
    let mut sums: BTreeMap<Uuid, i64> = BTreeMap::new();
    for entry in &state.ledger {
        *sums.entry(entry.member_id).or_default() += entry.points;
    }
    let mut found = Vec::new();
    for member in &state.members {
        let ledger = sums.get(&member.id).copied().unwrap_or(0);
        if member.points_balance != ledger {
            found.push(anomaly(
                history,
                LOYALTY_BALANCE,
                format!(
                    "member {}: balance {} but ledger sums to {ledger}",
                    member.id, member.points_balance
                ),
                Vec::new(),
            ));
        }
        if member.points_balance < 0 {
            found.push(anomaly(
                history,
                LOYALTY_BALANCE,
                format!(
                    "member {}: balance {} below zero",
                    member.id, member.points_balance
                ),
                Vec::new(),
            ));
        }
    }
    for entry in state.ledger.iter().filter(|e| e.balance_after < 0) {
        found.push(anomaly(
            history,
            LOYALTY_BALANCE,
            format!(
                "ledger entry {} left member {} at {}",
                entry.id, entry.member_id, entry.balance_after
            ),
            steps_writing(history, entry.id),
        ));
    }
    found
}

/// A stay with folio entries has paid what they give: payments minus refunds, voided entries and
/// their voids left out, never below zero (the server's `app.stay_payment`).
pub fn paid_amounts(history: &History, state: &FinalState) -> Vec<Anomaly> {
    let voided: BTreeSet<Uuid> = state
        .folio_entries
        .iter()
        .filter_map(|e| e.voids_entry_id)
        .collect();
    let mut paid: BTreeMap<Uuid, i64> = BTreeMap::new();
    for entry in &state.folio_entries {
        let counted = entry.voids_entry_id.is_none() && !voided.contains(&entry.id);
        let amount = match entry.kind.as_str() {
            "payment" if counted => entry.amount_minor,
            "refund" if counted => -entry.amount_minor,
            _ => 0,
        };
        *paid.entry(entry.reservation_id).or_default() += amount;
    }
    let mut found = Vec::new();
    for stay in &state.stays {
        let Some(expected) = paid.get(&stay.id).map(|p| (*p).max(0)) else {
            continue;
        };
        if stay.deposit_paid_cents != expected {
            let steps = history
                .records
                .iter()
                .filter(|r| matches!(&r.event, Event::Operation { kind: OpKind::Payment | OpKind::Refund | OpKind::Void, intent, .. }
                    if intent.get("reservation_id").and_then(|v| v.as_str()) == Some(&stay.id.to_string())))
                .map(|r| r.step)
                .collect();
            found.push(anomaly(
                history,
                PAID_AMOUNT,
                format!(
                    "stay {}: paid {} but its entries give {expected}",
                    stay.id, stay.deposit_paid_cents
                ),
                steps,
            ));
        }
    }
    found
}

/// The tenant's confirmation numbers are 1..n, each once.
pub fn confirmation_numbers(history: &History, state: &FinalState) -> Vec<Anomaly> {
    let numbers: Vec<i64> = state.stays.iter().map(|s| s.confirmation_number).collect();
    gapless(history, CONFIRMATION_NUMBERS, "confirmation", &numbers)
}

/// Membership numbers are unique within the tenant.
pub fn membership_numbers(history: &History, state: &FinalState) -> Vec<Anomaly> {
    let mut seen: BTreeMap<i64, usize> = BTreeMap::new();
    for member in &state.members {
        *seen.entry(member.membership_number).or_default() += 1;
    }
    seen.into_iter()
        .filter(|(_, count)| *count > 1)
        .map(|(number, count)| {
            anomaly(
                history,
                MEMBERSHIP_NUMBERS,
                format!("membership number {number} is held {count} times"),
                Vec::new(),
            )
        })
        .collect()
}

fn gapless(history: &History, property: &'static str, what: &str, numbers: &[i64]) -> Vec<Anomaly> {
    let mut sorted = numbers.to_vec();
    sorted.sort_unstable();
    let mut found = Vec::new();
    for (n, number) in sorted.iter().enumerate() {
        let expected = n as i64 + 1;
        if *number != expected {
            found.push(anomaly(
                history,
                property,
                format!(
                    "{what} numbers are not 1..{}: position {expected} holds {number}",
                    sorted.len()
                ),
                Vec::new(),
            ));
            break;
        }
    }
    found
}

/// After the final syncs every outbox is empty but for changes shown as conflicts, and each
/// laptop's last sync completed (none is stuck on an error).
pub fn liveness(history: &History, state: &FinalState) -> Vec<Anomaly> {
    let mut found = Vec::new();
    for laptop in &state.laptops {
        let stuck: Vec<&Uuid> = laptop
            .outbox
            .iter()
            .filter(|c| !laptop.conflicts.contains(&c.to_string()))
            .collect();
        if !stuck.is_empty() {
            let steps = history
                .accepted()
                .filter(|(_, _, _, _, changes)| changes.iter().any(|c| stuck.contains(&c)))
                .map(|(step, ..)| step)
                .collect();
            found.push(anomaly(
                history,
                LIVENESS,
                format!(
                    "laptop {} still holds {} changes after the final syncs",
                    laptop.laptop,
                    stuck.len()
                ),
                steps,
            ));
        }
        let last_sync = history.records.iter().rev().find_map(|r| match &r.event {
            Event::Sync { error, .. } if r.laptop == Some(laptop.laptop) => Some((r.step, error)),
            _ => None,
        });
        if let Some((step, Some(error))) = last_sync {
            found.push(anomaly(
                history,
                LIVENESS,
                format!("laptop {}'s last sync failed: {error}", laptop.laptop),
                vec![step],
            ));
        }
    }
    found
}
