//! The fault campaign of issue 20 (first slice) and the tests of its checker.
//!
//! - `twenty_seeds_of_the_campaign_report_no_anomaly`: 20 seeds, each 3 laptops of its own tenant
//!   behind faulty proxies making front-desk operations among partitions, proxy faults, syncs
//!   killed part-way and clock jumps; after every fault heals and every laptop syncs until quiet,
//!   the checker finds nothing (what CI runs on every change).
//! - `the_checker_reports_…`: the checker is pure, so each property is shown to fire on a
//!   hand-made history and final state that break it, and only it: a checker that returned
//!   nothing (or everything) fails these.
//! - `a_real_run_damaged_on_the_server_and_in_a_mirror_is_reported`: a real seed's end state,
//!   then a push result deleted on the server (a lost write) and a mirror row edited behind the
//!   outbox (a divergence), each reported by the checker from the databases.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use pms_sync_protocol::merge::{Conflict, ConflictReason};
use pms_tests::chaos::checker::{
    self, Anomaly, ChangeResult, FinalState, FolioEntry, LaptopState, LedgerEntry, Member, Stay,
};
use pms_tests::chaos::history::{Event, FaultKind, History, OpKind, Outcome, RowRef};
use pms_tests::chaos::runner::{fetch_final_state, run_seed, Campaign, Config};
use serde_json::json;
use uuid::Uuid;

/// The server's binary, run as a process per seed (SIGKILLed by the schedule).
const SERVER: &str = env!("CARGO_BIN_EXE_pms-server-under-test");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_seeds_of_the_campaign_report_no_anomaly() {
    let seeds: Vec<u64> = (1..=20).collect();
    // 3 laptops and 120 operations a seed keep the whole under about three minutes on a 2-core
    // machine (a seed's fixed cost, each laptop's first snapshot and the final syncs, dominates);
    // `pms-chaos` runs the default 4 laptops × 150 operations.
    let config = Config {
        laptops: 3,
        operations: 120,
        server_program: SERVER.into(),
        ..Config::default()
    };
    let campaign = Campaign::start(seeds.len()).await;
    let report = campaign.run(&seeds, &config).await;
    println!("{report}");
    let anomalies: Vec<&Anomaly> = report.anomalies().collect();
    assert!(
        anomalies.is_empty(),
        "{} anomalies:\n{report}",
        anomalies.len()
    );
    // The campaign did meet its faults (else "no anomaly" proves little).
    let fault = |kind: &str| {
        report
            .seeds
            .iter()
            .map(|s| s.faults.get(kind).copied().unwrap_or(0))
            .sum::<u64>()
    };
    for kind in [
        "partition",
        "proxy_faults_on",
        "kill_mid_sync",
        "clock_jump",
        "proxy Duplicate",
        "proxy ResetMidRequest",
        "revoke_device",
        "sign_in_again",
        "role_change",
        "disk_full",
        "server_killed",
        "postgres_restart",
        "app_upgrade",
        "sync_state_pruned",
    ] {
        assert!(fault(kind) > 0, "no {kind} in 20 seeds:\n{report}");
    }
    assert!(
        report.seeds.iter().map(|s| s.failed_syncs).sum::<usize>() > 0,
        "no sync failed:\n{report}"
    );
    assert!(
        report
            .seeds
            .iter()
            .map(|s| s.conflicts_shown)
            .sum::<usize>()
            > 0,
        "no conflict shown:\n{report}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_run_damaged_on_the_server_and_in_a_mirror_is_reported() {
    let campaign = Campaign::start(1).await;
    let tenant = campaign.tenants[0];
    let config = Config {
        operations: 60,
        server_program: SERVER.into(),
        ..Config::default()
    };
    let mut run = run_seed(&campaign.backend, tenant, 5, &config).await;
    assert_eq!(run.anomalies, Vec::new(), "a clean run first");

    // The server forgets a change it applied: a guest created offline.
    let (step, change) = run
        .history
        .accepted()
        .find(|(_, _, kind, _, changes)| *kind == OpKind::GuestCreate && !changes.is_empty())
        .map(|(step, _, _, _, changes)| (step, changes[0]))
        .expect("seed 5 creates a guest");
    // (Deleted from the push ledger, its copy goes to the campaign's record of pruned results,
    // which the checker also reads: deleted there too.)
    sqlx::query("delete from app.change_results where change_id = $1")
        .bind(change)
        .execute(&campaign.backend.db.pool)
        .await
        .expect("delete a push result");
    let deleted = sqlx::query("delete from chaos_kept.change_results where change_id = $1")
        .bind(change)
        .execute(&campaign.backend.db.pool)
        .await
        .expect("and the campaign's copy of it");
    assert_eq!(deleted.rows_affected(), 1);
    let state = fetch_final_state(
        &campaign.backend.db,
        tenant,
        &mut run
            .laptops
            .iter_mut()
            .map(|l| &mut l.laptop)
            .collect::<Vec<_>>(),
    )
    .await;
    let found = checker::check(&run.history, &state);
    assert_eq!(properties(&found), [checker::NO_LOST_WRITE], "{found:#?}");
    assert_eq!(found[0].operations, vec![step]);

    // A mirror row changed behind the outbox (as a bug writing past `outbox::write` would).
    run.laptops[0]
        .laptop
        .conn
        .execute("update guests set notes = 'edited behind the outbox' where id = (select min(id) from guests)", [])
        .expect("edit the mirror");
    let state = fetch_final_state(
        &campaign.backend.db,
        tenant,
        &mut run
            .laptops
            .iter_mut()
            .map(|l| &mut l.laptop)
            .collect::<Vec<_>>(),
    )
    .await;
    let found = checker::check(&run.history, &state);
    assert_eq!(
        properties(&found),
        [checker::CONVERGENCE, checker::NO_LOST_WRITE],
        "{found:#?}"
    );
}

fn properties(anomalies: &[Anomaly]) -> Vec<&'static str> {
    let set: BTreeSet<&'static str> = anomalies.iter().map(|a| a.property).collect();
    set.into_iter().collect()
}

fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

fn date(day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2032, 1, day).expect("date")
}

const GUEST: u128 = 1;
const PAYMENT: u128 = 2;
const REDEMPTION: u128 = 3;
const REFUSED_STAY: u128 = 4;
const STAY: u128 = 10;
const OTHER_STAY: u128 = 11;
const ROOM: u128 = 20;
const MEMBER: u128 = 30;
const EARNING: u128 = 31;
const CHARGE: u128 = 40;
const DEVICE_A: u128 = 100;
const DEVICE_B: u128 = 101;
/// Change ids: the row's id plus this.
const CHANGE: u128 = 1_000;

/// A history of two laptops that the final state below satisfies: laptop 0 creates a guest and
/// redeems points; laptop 1 takes a payment, posts a charge and books a room the server refuses
/// (shown in its conflicts inbox); both sync.
fn clean() -> (History, FinalState) {
    let mut history = History::new(99);
    let accepted = |table: &str, row: u128| Outcome::Accepted {
        rows: vec![RowRef {
            table: table.into(),
            id: id(row),
        }],
        change_ids: vec![id(row + CHANGE)],
        seen: Default::default(),
    };
    let operation = |kind, intent, outcome| Event::Operation {
        kind,
        intent,
        outcome,
    };
    history.record(
        0,
        Some(0),
        operation(
            OpKind::GuestCreate,
            json!({"first_name": "Ada"}),
            accepted("guests", GUEST),
        ),
    );
    history.record(
        1,
        Some(1),
        operation(
            OpKind::Payment,
            json!({"reservation_id": id(STAY), "amount_minor": 5000}),
            accepted("folio_entries", PAYMENT),
        ),
    );
    history.record(
        2,
        Some(0),
        Event::Fault {
            fault: FaultKind::Partition,
            detail: String::new(),
        },
    );
    history.record(
        3,
        Some(0),
        operation(
            OpKind::LoyaltyRedeem,
            json!({"member_id": id(MEMBER), "points": 30}),
            accepted("loyalty_transactions", REDEMPTION),
        ),
    );
    history.record(
        4,
        Some(1),
        operation(
            OpKind::Booking,
            json!({"room_id": id(ROOM)}),
            accepted("reservations", REFUSED_STAY),
        ),
    );
    history.record(
        5,
        Some(1),
        operation(
            OpKind::Charge,
            json!({"reservation_id": id(STAY), "unit_price_minor": 700}),
            accepted("folio_entries", CHARGE),
        ),
    );
    history.record(
        6,
        Some(1),
        operation(
            OpKind::LoyaltyRedeem,
            json!({"points": 900}),
            Outcome::Refused {
                message: "not enough points".into(),
            },
        ),
    );
    history.record(
        7,
        Some(0),
        Event::Fault {
            fault: FaultKind::Heal,
            detail: String::new(),
        },
    );
    for (step, laptop) in [(8, 0), (9, 1)] {
        history.record(
            step,
            Some(laptop),
            Event::Sync {
                pushed: 2,
                rejected: 0,
                pulled: 3,
                error: None,
                after_heal_ms: Some(1_200),
            },
        );
    }
    let result = |device, row: u128, status: &str| ChangeResult {
        device_id: id(device),
        change_id: id(row + CHANGE),
        status: status.into(),
        ..ChangeResult::default()
    };
    let mut state = FinalState {
        laptops: vec![
            LaptopState {
                laptop: 0,
                device_id: id(DEVICE_A),
                ..LaptopState::default()
            },
            LaptopState {
                laptop: 1,
                device_id: id(DEVICE_B),
                conflicts: [id(REFUSED_STAY + CHANGE).to_string()].into(),
                ..LaptopState::default()
            },
        ],
        change_results: vec![
            result(DEVICE_A, GUEST, "applied"),
            result(DEVICE_B, PAYMENT, "applied"),
            result(DEVICE_A, REDEMPTION, "applied"),
            result(DEVICE_B, REFUSED_STAY, "rejected"),
            result(DEVICE_B, CHARGE, "applied"),
        ],
        stays: vec![
            stay(STAY, 1, 3, "confirmed", 1, 5000),
            // the same room from the night the first stay leaves
            stay(OTHER_STAY, 3, 5, "confirmed", 2, 0),
        ],
        members: vec![Member {
            id: id(MEMBER),
            points_balance: 70,
            membership_number: 1,
        }],
        ledger: vec![
            LedgerEntry {
                id: id(EARNING),
                member_id: id(MEMBER),
                points: 100,
                balance_after: 100,
            },
            LedgerEntry {
                id: id(REDEMPTION),
                member_id: id(MEMBER),
                points: -30,
                balance_after: 70,
            },
        ],
        folio_entries: vec![
            entry(PAYMENT, STAY, "payment", 5000, None),
            entry(CHARGE, STAY, "charge", 700, None),
        ],
        guests: vec![id(GUEST)],
    };
    with_edits_and_moves(&mut history, &mut state);
    (history, state)
}

const NAME_EDIT: u128 = 5;
const LATER_NAME_EDIT: u128 = 6;
const CHECK_IN: u128 = 7;
const LATE_CANCEL: u128 = 8;
const EDIT_STEP: usize = 11;
const LATER_EDIT_STEP: usize = 12;
const BOOKING_STEP: usize = 13;
const CHECK_IN_STEP: usize = 14;
const CANCEL_STEP: usize = 15;

/// The guest's name group as laptop 0 edits it, then laptop 1 after pulling that edit.
fn name(last: Option<&str>) -> serde_json::Map<String, serde_json::Value> {
    let object = json!({"first_name": "Ada", "last_name": last});
    object.as_object().expect("an object").clone()
}

/// Adds to the clean history: laptop 0 sets the guest's last name; laptop 1, having pulled it,
/// sets it again (applied: it saw the first edit); laptop 0 books `OTHER_STAY` and checks it in;
/// laptop 1, offline, cancels it (refused by the state machine: a checked-in stay only checks
/// out).
fn with_edits_and_moves(history: &mut History, state: &mut FinalState) {
    let update = |table: &str, row: u128, change: u128, values: serde_json::Value, seen| {
        (
            json!({"table": table, "id": id(row), "values": values}),
            Outcome::Accepted {
                rows: vec![RowRef {
                    table: table.into(),
                    id: id(row),
                }],
                change_ids: vec![id(change + CHANGE)],
                seen,
            },
        )
    };
    let seen_name = |last: Option<&str>| {
        [("name".to_owned(), serde_json::Value::Object(name(last)))]
            .into_iter()
            .collect()
    };
    let no_seen = BTreeMap::<String, serde_json::Value>::new;
    let records = [
        (
            EDIT_STEP,
            0,
            OpKind::GuestEdit,
            update(
                "guests",
                GUEST,
                NAME_EDIT,
                json!({"last_name": "Lovelace"}),
                seen_name(None),
            ),
        ),
        (
            LATER_EDIT_STEP,
            1,
            OpKind::GuestEdit,
            update(
                "guests",
                GUEST,
                LATER_NAME_EDIT,
                json!({"last_name": "Byron"}),
                seen_name(Some("Lovelace")),
            ),
        ),
        (
            BOOKING_STEP,
            0,
            OpKind::Booking,
            update(
                "reservations",
                OTHER_STAY,
                OTHER_STAY,
                json!({"room_id": id(ROOM), "status": "confirmed"}),
                no_seen(),
            ),
        ),
        (
            CHECK_IN_STEP,
            0,
            OpKind::StayStatus,
            update(
                "reservations",
                OTHER_STAY,
                CHECK_IN,
                json!({"status": "checked_in"}),
                no_seen(),
            ),
        ),
        (
            CANCEL_STEP,
            1,
            OpKind::StayStatus,
            update(
                "reservations",
                OTHER_STAY,
                LATE_CANCEL,
                json!({"status": "cancelled"}),
                no_seen(),
            ),
        ),
    ];
    for (step, laptop, kind, (intent, outcome)) in records {
        history.record(
            step,
            Some(laptop),
            Event::Operation {
                kind,
                intent,
                outcome,
            },
        );
    }
    let result = |device, change: u128, feed_seq, conflicts: Vec<Conflict>| ChangeResult {
        device_id: id(device),
        change_id: id(change + CHANGE),
        status: if conflicts.is_empty() {
            "applied"
        } else {
            "merged"
        }
        .into(),
        device_seq: 1,
        feed_seq,
        conflicts,
    };
    state.change_results.extend([
        result(DEVICE_A, NAME_EDIT, Some(1), Vec::new()),
        result(DEVICE_B, LATER_NAME_EDIT, Some(2), Vec::new()),
        result(DEVICE_A, OTHER_STAY, Some(3), Vec::new()),
        result(DEVICE_A, CHECK_IN, Some(4), Vec::new()),
        result(
            DEVICE_B,
            LATE_CANCEL,
            None,
            vec![status_conflict(ConflictReason::InvalidTransition)],
        ),
    ]);
    state.laptops[1]
        .conflicts
        .insert(format!("{}:status", id(LATE_CANCEL + CHANGE)));
    state.stays[1].status = "checked_in".into();
}

/// The status conflict of laptop 1's late cancellation.
fn status_conflict(reason: ConflictReason) -> Conflict {
    Conflict {
        group: "status".into(),
        mine: [("status".to_owned(), json!("cancelled"))]
            .into_iter()
            .collect(),
        theirs: [("status".to_owned(), json!("checked_in"))]
            .into_iter()
            .collect(),
        reason,
    }
}

fn stay(
    n: u128,
    from: u32,
    to: u32,
    status: &str,
    confirmation_number: i64,
    deposit_paid_cents: i64,
) -> Stay {
    Stay {
        id: id(n),
        room_id: Some(id(ROOM)),
        check_in: date(from),
        check_out: date(to),
        status: status.into(),
        deleted: false,
        confirmation_number,
        deposit_paid_cents,
    }
}

fn entry(n: u128, stay: u128, kind: &str, amount_minor: i64, voids: Option<u128>) -> FolioEntry {
    FolioEntry {
        id: id(n),
        reservation_id: id(stay),
        kind: kind.into(),
        amount_minor,
        voids_entry_id: voids.map(id),
    }
}

/// The properties the checker reports once `damage` is done to the clean history and state.
fn reported(
    damage: impl FnOnce(&mut History, &mut FinalState),
) -> (Vec<&'static str>, Vec<Anomaly>) {
    let (mut history, mut state) = clean();
    damage(&mut history, &mut state);
    let found = checker::check(&history, &state);
    (properties(&found), found)
}

#[test]
fn the_checker_finds_nothing_in_the_clean_history() {
    let (history, state) = clean();
    assert_eq!(checker::check(&history, &state), Vec::new());
}

#[test]
fn the_checker_reports_a_mirror_that_differs_from_the_server() {
    let (found, anomalies) = reported(|_, state| {
        state.laptops[0].mirror_differences = vec![format!(
            "guests {}.notes: server \"a\", mirror \"b\"",
            id(GUEST)
        )];
    });
    assert_eq!(found, [checker::CONVERGENCE]);
    assert!(anomalies[0].detail.contains("laptop 0"), "{anomalies:?}");
}

#[test]
fn the_checker_reports_a_change_neither_applied_nor_shown() {
    // The server has no result for the guest laptop 0 created offline.
    let (found, anomalies) = reported(|_, state| {
        state
            .change_results
            .retain(|r| r.change_id != id(GUEST + CHANGE))
    });
    assert_eq!(found, [checker::NO_LOST_WRITE]);
    assert_eq!(anomalies[0].operations, vec![0]);
    assert_eq!(anomalies[0].seed, 99);
}

#[test]
fn the_checker_reports_a_refused_change_missing_from_the_inbox() {
    // The server refused the booking, but the clerk never saw it.
    let (found, anomalies) = reported(|_, state| state.laptops[1].conflicts.clear());
    assert_eq!(found, [checker::NO_LOST_WRITE]);
    assert_eq!(anomalies[0].operations, vec![4]);
}

#[test]
fn the_checker_reports_an_applied_insert_whose_row_is_gone() {
    let (found, anomalies) = reported(|_, state| state.guests.clear());
    assert_eq!(found, [checker::NO_LOST_WRITE]);
    assert_eq!(anomalies[0].operations, vec![0]);
}

#[test]
fn the_checker_reports_a_change_applied_twice() {
    let (found, anomalies) = reported(|_, state| {
        state.change_results.push(ChangeResult {
            device_id: id(DEVICE_B),
            change_id: id(PAYMENT + CHANGE),
            status: "applied".into(),
            ..ChangeResult::default()
        });
    });
    assert_eq!(found, [checker::NO_DOUBLE_APPLY]);
    assert_eq!(anomalies[0].operations, vec![1]);
}

#[test]
fn the_checker_reports_an_entry_on_the_server_twice() {
    let (found, anomalies) = reported(|_, state| {
        state
            .folio_entries
            .push(entry(CHARGE, STAY, "charge", 700, None))
    });
    assert_eq!(found, [checker::NO_DOUBLE_APPLY]);
    assert_eq!(anomalies[0].operations, vec![5]);
}

#[test]
fn the_checker_reports_two_active_stays_on_one_room_night() {
    let (found, _) = reported(|_, state| state.stays.push(stay(12, 2, 4, "checked_in", 3, 0)));
    assert_eq!(found, [checker::ROOM_NIGHTS]);
    // A cancelled stay on those nights shares nothing.
    let (found, _) = reported(|_, state| state.stays.push(stay(12, 2, 4, "cancelled", 3, 0)));
    assert_eq!(found, Vec::<&str>::new());
}

#[test]
fn the_checker_reports_a_balance_off_its_ledger_or_below_zero() {
    let (found, _) = reported(|_, state| state.members[0].points_balance = 71);
    assert_eq!(found, [checker::LOYALTY_BALANCE]);
    let (found, anomalies) = reported(|_, state| state.ledger[1].balance_after = -5);
    assert_eq!(found, [checker::LOYALTY_BALANCE]);
    assert_eq!(anomalies[0].operations, vec![3]);
}

#[test]
fn the_checker_reports_a_paid_amount_its_entries_do_not_give() {
    let (found, anomalies) = reported(|_, state| state.stays[0].deposit_paid_cents = 4000);
    assert_eq!(found, [checker::PAID_AMOUNT]);
    assert_eq!(anomalies[0].operations, vec![1]);
    // A void cancels its payment: the stay has then paid nothing.
    let (found, _) = reported(|_, state| {
        state
            .folio_entries
            .push(entry(50, STAY, "payment", 5000, Some(PAYMENT)))
    });
    assert_eq!(found, [checker::PAID_AMOUNT]);
    let (found, _) = reported(|_, state| {
        state
            .folio_entries
            .push(entry(50, STAY, "payment", 5000, Some(PAYMENT)));
        state.stays[0].deposit_paid_cents = 0;
    });
    assert_eq!(found, Vec::<&str>::new());
}

#[test]
fn the_checker_reports_confirmation_numbers_with_a_gap_or_twice() {
    let (found, _) = reported(|_, state| state.stays[1].confirmation_number = 3);
    assert_eq!(found, [checker::CONFIRMATION_NUMBERS]);
    let (found, _) = reported(|_, state| state.stays[1].confirmation_number = 1);
    assert_eq!(found, [checker::CONFIRMATION_NUMBERS]);
}

#[test]
fn the_checker_reports_membership_numbers_with_a_gap_or_twice() {
    let member = |n: u128, number| Member {
        id: id(MEMBER + n),
        points_balance: 0,
        membership_number: number,
    };
    let (found, _) = reported(|_, state| state.members.push(member(1, 1)));
    assert_eq!(found, [checker::MEMBERSHIP_NUMBERS]);
    let (found, _) = reported(|_, state| state.members.push(member(1, 3)));
    assert_eq!(found, [checker::MEMBERSHIP_NUMBERS]);
    let (found, _) = reported(|_, state| state.members.push(member(1, 2)));
    assert_eq!(found, Vec::<&str>::new());
}

#[test]
fn the_checker_reports_an_outbox_left_full_or_a_laptop_stuck() {
    let (found, anomalies) =
        reported(|_, state| state.laptops[0].outbox = vec![id(REDEMPTION + CHANGE)]);
    assert_eq!(found, [checker::LIVENESS]);
    assert_eq!(anomalies[0].operations, vec![3]);
    // A change shown as a conflict may wait in the outbox.
    let (found, _) = reported(|_, state| state.laptops[1].outbox = vec![id(REFUSED_STAY + CHANGE)]);
    assert_eq!(found, Vec::<&str>::new());
    let (found, _) = reported(|history, _| {
        history.record(
            10,
            Some(1),
            Event::Sync {
                pushed: 0,
                rejected: 0,
                pulled: 0,
                error: Some("connection reset".into()),
                after_heal_ms: Some(1_200),
            },
        );
    });
    assert_eq!(found, [checker::LIVENESS]);
    // A laptop that got there, but only after the deadline.
    let (found, anomalies) = reported(|history, _| {
        history.record(
            10,
            Some(1),
            Event::Sync {
                pushed: 0,
                rejected: 0,
                pulled: 1,
                error: None,
                after_heal_ms: Some(checker::LIVENESS_DEADLINE_MS + 1),
            },
        );
    });
    assert_eq!(found, [checker::LIVENESS]);
    assert!(
        anomalies[0].detail.contains("after the last heal"),
        "{anomalies:?}"
    );
}

#[test]
fn a_history_reads_back_as_written() {
    let (history, _) = clean();
    let dir = std::env::temp_dir().join(format!("pms-chaos-history-{}", Uuid::new_v4().simple()));
    let path = history.write_to(&dir).expect("write");
    let text = std::fs::read_to_string(&path).expect("read");
    assert_eq!(text.lines().count(), history.records.len());
    assert!(
        text.lines().all(|line| line.contains("\"seed\":99")),
        "{text}"
    );
    assert_eq!(History::read_from(&path).expect("read back"), history);
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn the_checker_reports_a_write_that_lost_to_one_its_laptop_had_seen() {
    // Laptop 1 had pulled "Lovelace" before writing "Byron", yet the server kept "Lovelace".
    let lost_to = |last: &'static str| {
        move |_: &mut History, state: &mut FinalState| {
            let result = state
                .change_results
                .iter_mut()
                .find(|r| r.change_id == id(LATER_NAME_EDIT + CHANGE))
                .expect("the later edit's result");
            result.status = "merged".into();
            result.conflicts = vec![Conflict {
                group: "name".into(),
                mine: name(Some("Byron")).into_iter().collect(),
                theirs: name(Some(last)).into_iter().collect(),
                reason: ConflictReason::Superseded,
            }];
            state.laptops[1]
                .conflicts
                .insert(format!("{}:name", id(LATER_NAME_EDIT + CHANGE)));
        }
    };
    let (found, anomalies) = reported(lost_to("Lovelace"));
    assert_eq!(found, [checker::NO_STALE_WIN], "{anomalies:#?}");
    assert_eq!(anomalies[0].operations, vec![EDIT_STEP, LATER_EDIT_STEP]);
    assert!(anomalies[0].detail.contains("laptop 1"), "{anomalies:?}");
    // Losing to an edit it had not seen (a concurrent one with a newer stamp) is the merge rule.
    let (found, _) = reported(lost_to("Lamb"));
    assert_eq!(found, Vec::<&str>::new());
}

#[test]
fn the_checker_reports_a_status_move_the_state_machine_forbids() {
    // The server took the late cancellation of a checked-in stay.
    let (found, anomalies) = reported(|_, state| {
        let result = state
            .change_results
            .iter_mut()
            .find(|r| r.change_id == id(LATE_CANCEL + CHANGE))
            .expect("the cancellation's result");
        result.status = "applied".into();
        result.conflicts.clear();
        result.feed_seq = Some(5);
        state.stays[1].status = "cancelled".into();
    });
    assert_eq!(found, [checker::STATUS_TRANSITIONS], "{anomalies:#?}");
    assert_eq!(anomalies.len(), 1, "{anomalies:#?}");
    assert_eq!(anomalies[0].operations, vec![CHECK_IN_STEP, CANCEL_STEP]);
    // A status no applied change leads to.
    let (found, anomalies) = reported(|_, state| state.stays[1].status = "checked_out".into());
    assert_eq!(found, [checker::STATUS_TRANSITIONS]);
    assert_eq!(anomalies[0].operations, vec![CHECK_IN_STEP]);
    // The check-in lost its group: the stay stays confirmed, and the records must say so.
    let (found, _) = reported(|_, state| {
        let result = state
            .change_results
            .iter_mut()
            .find(|r| r.change_id == id(CHECK_IN + CHANGE))
            .expect("the check-in's result");
        result.conflicts = vec![status_conflict(ConflictReason::Superseded)];
    });
    assert_eq!(found, [checker::STATUS_TRANSITIONS]);
}

#[test]
fn the_checker_reports_a_laptop_going_by_a_role_its_account_no_longer_has() {
    let (found, anomalies) = reported(|_, state| {
        state.laptops[1].role_shown = Some("front_desk".into());
        state.laptops[1].role = Some("manager".into());
    });
    assert_eq!(found, [checker::CONVERGENCE]);
    assert!(anomalies[0].detail.contains("laptop 1"), "{anomalies:?}");
    let (found, _) = reported(|_, state| {
        for laptop in &mut state.laptops {
            laptop.role_shown = Some("manager".into());
            laptop.role = Some("manager".into());
        }
    });
    assert_eq!(found, Vec::<&str>::new());
}
