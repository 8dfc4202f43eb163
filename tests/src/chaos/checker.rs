//! The checker: pure functions from a seed's [`History`] and its [`FinalState`] (rows read from
//! Postgres and the mirrors once every fault healed and every laptop synced until quiet) to the
//! anomalies found. Nothing here touches a database, so each property can be tested with
//! hand-made inputs (`tests/tests/chaos.rs`); [`crate::chaos::runner`] fetches the state.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use serde::Serialize;
use uuid::Uuid;

use pms_sync_protocol::merge::{status_transition_allowed, Conflict, ConflictReason, STATUS_GROUP};
use serde_json::Value;

use super::history::{Event, History, OpKind, Outcome};

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
/// How soon after the last heal every laptop's final sync must have ended.
pub const LIVENESS_DEADLINE_MS: u64 = 30_000;
pub const NO_STALE_WIN: &str = "no_stale_win";
pub const STATUS_TRANSITIONS: &str = "invariant_status_transitions";

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
    /// The staff role the mirror was filled under (what the desk goes by), and the account's
    /// role on the server.
    pub role_shown: Option<String>,
    pub role: Option<String>,
}

/// One row of `app.change_results` (the server's push ledger).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChangeResult {
    pub device_id: Uuid,
    pub change_id: Uuid,
    pub status: String,
    /// The change's number on its device (the order a push applies its changes in).
    pub device_seq: i64,
    /// The tenant's feed transaction the push that applied the change wrote in (commit order);
    /// none when that push wrote nothing.
    pub feed_seq: Option<i64>,
    /// The field groups on which the merge met another edit, as the server decided them.
    pub conflicts: Vec<Conflict>,
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
    anomalies.extend(no_stale_win(history, state));
    anomalies.extend(status_transitions(history, state));
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
    // A laptop whose account's role changed follows on its next pull (it takes a new snapshot
    // under the new role): at the end it must go by the role the server has.
    let roles = state
        .laptops
        .iter()
        .filter(|l| l.role_shown != l.role)
        .map(|l| {
            anomaly(
                history,
                CONVERGENCE,
                format!(
                    "laptop {} goes by the role {:?}, the server has {:?}",
                    l.laptop, l.role_shown, l.role
                ),
                Vec::new(),
            )
        });
    let rows = state
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
        });
    roles.chain(rows).collect()
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
    let members: BTreeSet<Uuid> = state.members.iter().map(|m| m.id).collect();
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
                    "loyalty_members" => members.contains(&row.id),
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

/// The tenant's membership numbers are 1..n, each once: the database numbers a membership as it
/// numbers a stay (`app.next_tenant_number`, the tenant's highest plus one under a lock, in the
/// inserting transaction), and members are only ever soft-deleted, so a gap means a number was
/// lost (or a membership removed) and a repeat that one was given twice.
pub fn membership_numbers(history: &History, state: &FinalState) -> Vec<Anomaly> {
    let numbers: Vec<i64> = state.members.iter().map(|m| m.membership_number).collect();
    gapless(history, MEMBERSHIP_NUMBERS, "membership", &numbers)
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
            Event::Sync {
                error,
                after_heal_ms,
                ..
            } if r.laptop == Some(laptop.laptop) => Some((r.step, error, *after_heal_ms)),
            _ => None,
        });
        if let Some((step, Some(error), _)) = last_sync {
            found.push(anomaly(
                history,
                LIVENESS,
                format!("laptop {}'s last sync failed: {error}", laptop.laptop),
                vec![step],
            ));
        }
        if let Some((step, _, Some(after_heal_ms))) = last_sync {
            if after_heal_ms > LIVENESS_DEADLINE_MS {
                found.push(anomaly(
                    history,
                    LIVENESS,
                    format!(
                        "laptop {} was quiet only {:.1} s after the last heal (deadline {} s)",
                        laptop.laptop,
                        after_heal_ms as f64 / 1000.0,
                        LIVENESS_DEADLINE_MS / 1000
                    ),
                    vec![step],
                ));
            }
        }
    }
    found
}

/// JSON equality, numbers by value (Postgres and SQLite may render one amount as `5` and `5.0`).
fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

/// An accepted operation as the checker reads it.
#[derive(Clone, Copy)]
struct Write<'h> {
    step: usize,
    laptop: usize,
    kind: OpKind,
    intent: &'h Value,
    change_ids: &'h [Uuid],
    seen: &'h BTreeMap<String, Value>,
}

fn writes(history: &History) -> impl Iterator<Item = Write<'_>> {
    history
        .records
        .iter()
        .filter_map(|r| match (&r.event, r.laptop) {
            (
                Event::Operation {
                    kind,
                    intent,
                    outcome:
                        Outcome::Accepted {
                            change_ids, seen, ..
                        },
                },
                Some(laptop),
            ) => Some(Write {
                step: r.step,
                laptop,
                kind: *kind,
                intent,
                change_ids,
                seen,
            }),
            _ => None,
        })
}

/// A write made after its laptop had seen another write of the same field group never loses to
/// that older write. The merge decides a group by what the laptop saw (the change's base): if
/// the server still holds exactly that, nobody else edited the group and the laptop's values
/// apply, whatever the stamps; only a concurrent edit the laptop had not seen may win over it by
/// its newer stamp. So a change the server recorded as `superseded` on a group whose values
/// then (`theirs`) are what its laptop's mirror showed of the group before the write (the
/// history's `seen`) lost to a write its laptop had already seen: a stale win. Values that
/// differ prove nothing either way (another edit had come in), so they are never reported.
pub fn no_stale_win(history: &History, state: &FinalState) -> Vec<Anomaly> {
    let by_change: BTreeMap<Uuid, Write> = writes(history)
        .flat_map(|w| w.change_ids.iter().map(move |c| (*c, w)))
        .collect();
    let mut found = Vec::new();
    for result in &state.change_results {
        let Some(write) = by_change.get(&result.change_id) else {
            continue;
        };
        for conflict in &result.conflicts {
            if conflict.reason != ConflictReason::Superseded {
                continue;
            }
            let Some(Value::Object(seen)) = write.seen.get(conflict.group.as_str()) else {
                continue;
            };
            let lost_to_seen = !conflict.theirs.is_empty()
                && conflict.theirs.iter().all(|(column, value)| {
                    seen.get(column)
                        .is_some_and(|shown| same_value(shown, value))
                });
            if lost_to_seen {
                found.push(anomaly(
                    history,
                    NO_STALE_WIN,
                    format!(
                        "laptop {}'s {:?} change {} lost field group {} to {} (what its mirror showed before the write)",
                        write.laptop,
                        write.kind,
                        result.change_id,
                        conflict.group,
                        Value::Object(conflict.theirs.clone().into_iter().collect())
                    ),
                    older_writes(&by_change, write, conflict),
                ));
            }
        }
    }
    found
}

/// The steps of the writes of `write`'s row whose values of the conflict's group are the ones it
/// lost to (the older writes), then its own.
fn older_writes(
    by_change: &BTreeMap<Uuid, Write>,
    write: &Write,
    conflict: &Conflict,
) -> Vec<usize> {
    let row = write.intent.get("id");
    let mut steps: BTreeSet<usize> = by_change
        .values()
        .filter(|w| w.step != write.step && w.intent.get("id") == row)
        .filter(|w| {
            let values = w.intent.get("values").and_then(Value::as_object);
            let mut in_group = values
                .into_iter()
                .flatten()
                .filter(|(column, _)| conflict.theirs.contains_key(*column))
                .peekable();
            in_group.peek().is_some()
                && in_group.all(|(column, value)| same_value(&conflict.theirs[column], value))
        })
        .map(|w| w.step)
        .collect();
    steps.insert(write.step);
    steps.into_iter().collect()
}

/// A status a stay was moved to: (feed_seq, device_seq, the status, its step, an insert).
type Move = (i64, i64, String, usize, bool);

/// Every stay's status moved only as the domain's state machine allows
/// ([`status_transition_allowed`], the rule the server's merge applies), and ends where those
/// moves lead. The server keeps no status history (only a time per status reached), so the
/// moves are rebuilt from its push ledger: the booking and status changes the history accepted
/// that the server applied without losing the status group, in the order it committed them
/// (`feed_seq`, then the device's order within one push).
pub fn status_transitions(history: &History, state: &FinalState) -> Vec<Anomaly> {
    let results: BTreeMap<Uuid, &ChangeResult> = state
        .change_results
        .iter()
        .map(|r| (r.change_id, r))
        .collect();
    let mut moves: BTreeMap<Uuid, Vec<Move>> = BTreeMap::new();
    for write in writes(history) {
        let insert = match write.kind {
            OpKind::Booking => true,
            OpKind::StayStatus => false,
            _ => continue,
        };
        let (Some(change), Some(stay), Some(to)) = (
            write.change_ids.first(),
            write
                .intent
                .get("id")
                .and_then(Value::as_str)
                .and_then(|id| id.parse::<Uuid>().ok()),
            write
                .intent
                .pointer("/values/status")
                .and_then(Value::as_str),
        ) else {
            continue;
        };
        let Some(result) = results.get(change) else {
            continue;
        };
        let taken = (result.status == "applied" || result.status == "merged")
            && !result.conflicts.iter().any(|c| {
                c.group.as_str() == STATUS_GROUP && c.reason != ConflictReason::Overwritten
            });
        if let (true, Some(feed_seq)) = (taken, result.feed_seq) {
            moves.entry(stay).or_default().push((
                feed_seq,
                result.device_seq,
                to.to_owned(),
                write.step,
                insert,
            ));
        }
    }
    let mut found = Vec::new();
    for stay in &state.stays {
        let Some(moves) = moves.get_mut(&stay.id) else {
            continue;
        };
        moves.sort();
        // Status changes of a stay this history did not book start from what the server had.
        let mut at: Option<(String, usize)> = None;
        for (_, _, to, step, insert) in moves.iter() {
            if let Some((from, from_step)) = &at {
                let allowed = match (from.parse(), to.parse()) {
                    (Ok(from), Ok(to)) => status_transition_allowed(from, to),
                    _ => false,
                };
                if *insert || !allowed {
                    found.push(anomaly(
                        history,
                        STATUS_TRANSITIONS,
                        format!("stay {}: moved from {from} to {to}", stay.id),
                        vec![*from_step, *step],
                    ));
                }
            }
            at = Some((to.clone(), *step));
        }
        if let Some((last, step)) = at {
            if last != stay.status {
                found.push(anomaly(
                    history,
                    STATUS_TRANSITIONS,
                    format!(
                        "stay {}: the server shows {} but its applied changes lead to {last}",
                        stay.id, stay.status
                    ),
                    vec![step],
                ));
            }
        }
    }
    found
}
