//! The runner: a Postgres cluster of the campaign's own (so that it can be restarted) with one
//! database seeded with a tenant per seed; per seed the real sync server as a process of its own
//! (so that it can be SIGKILLed) and 3–5 laptops with file-backed mirrors, each behind a faulty
//! proxy of its own, playing the seed's [`schedule`]. It records the [`History`], heals every
//! fault, syncs every laptop until nothing moves, reads the [`FinalState`] and hands both to the
//! [`checker`].

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use pms_sync_client::engine::{reset_for_snapshot, sync_once};
use pms_sync_client::{mirror, outbox};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use uuid::Uuid;

use super::checker::{
    self, Anomaly, ChangeResult, FinalState, FolioEntry, LaptopState, LedgerEntry, Member, Stay,
};
use super::history::{Event, FaultKind, History, Outcome};
use super::operations::{perform, SkewedClock};
use super::schedule::{schedule, Action};
use crate::faulty_proxy::FaultyProxy;
use crate::laptops::{tenant_staff_emails, Laptop, ServerRows};
use crate::own_cluster::{OwnCluster, ServerProcess};
use crate::TestDb;

/// `max_page_count` once space is freed on a laptop's disk (SQLite's largest).
const DISK_FREED_PAGES: i64 = 1_073_741_823;

/// How a campaign runs.
#[derive(Debug, Clone)]
pub struct Config {
    /// Front-desk operations per seed (syncs and faults come on top).
    pub operations: usize,
    /// Laptops per seed (3–5).
    pub laptops: usize,
    /// Where each seed's history goes as `seed-<seed>.jsonl`, if anywhere.
    pub history_dir: Option<PathBuf>,
    /// Seeds run side by side (each its own tenant, server, laptops and proxies).
    pub at_once: usize,
    /// The sync server's binary, run as `<program> serve` once per seed.
    pub server_program: PathBuf,
    /// Kinds of fault left out of the schedules ([`super::schedule::FAULT_KINDS`]).
    pub without: BTreeSet<String>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            operations: 150,
            laptops: 4,
            history_dir: None,
            at_once: 4,
            server_program: default_server_program(),
            without: BTreeSet::new(),
        }
    }
}

/// The server's binary as this workspace builds it for its tests (`pms-server-under-test`)
/// beside the running executable, or in the folder above it (an integration test runs from
/// `deps/`); else `pms-server` there.
pub fn default_server_program() -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_default();
    let mut candidates = Vec::new();
    for dir in exe.ancestors().skip(1).take(2) {
        for name in ["pms-server-under-test", "pms-server"] {
            candidates.push(dir.join(name));
        }
    }
    let found = candidates.into_iter().find(|path| path.is_file());
    found.unwrap_or_else(|| PathBuf::from("pms-server-under-test"))
}

/// A campaign laptop: the signed-in mirror (kept in a file, so a killed process restarts from
/// what it had committed), its own proxy, and what the schedule did to it.
pub struct ChaosLaptop {
    pub index: usize,
    pub laptop: Laptop,
    pub path: PathBuf,
    pub proxy: FaultyProxy,
    pub partitioned: bool,
    pub clock: SkewedClock,
    /// The staff account signed in on it.
    pub email: String,
    /// Its device was revoked and the clerk has not signed in again yet.
    pub revoked: bool,
    /// Its disk is full: the mirror may not grow past this many pages.
    pub disk_limit: Option<i64>,
}

impl Drop for ChaosLaptop {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", self.path.display()));
        }
    }
}

/// What one seed did and found.
pub struct SeedRun {
    pub seed: u64,
    pub history: History,
    pub state: FinalState,
    pub anomalies: Vec<Anomaly>,
    pub laptops: Vec<ChaosLaptop>,
    pub summary: SeedSummary,
}

/// A seed's figures for the campaign's table.
#[derive(Debug, Clone, Default)]
pub struct SeedSummary {
    pub seed: u64,
    pub operations: usize,
    pub accepted: usize,
    pub refused: usize,
    /// Faults by kind: the schedule's (partition, kill_mid_sync, …) and the proxies' connections
    /// (Delay, ResetMidRequest, TruncateResponse, Refuse, Duplicate).
    pub faults: BTreeMap<String, u64>,
    pub syncs: usize,
    pub failed_syncs: usize,
    /// Changes in the laptops' conflicts inboxes at the end (each shown to the clerk).
    pub conflicts_shown: usize,
    pub anomalies: Vec<Anomaly>,
    pub elapsed: Duration,
}

/// Starts the seed's server, signs in `config.laptops` laptops of `tenant` (its desk and manager
/// accounts, reused when there are fewer), plays the seed's schedule, heals, syncs until quiet
/// and checks.
pub async fn run_seed(backend: &Backend, tenant: Uuid, seed: u64, config: &Config) -> SeedRun {
    let started = Instant::now();
    let db = &backend.db;
    let mut history = History::new(seed);
    let up = backend.database_up.read().await;
    let mut server = start_server(&config.server_program, db).await;
    let mut emails = tenant_staff_emails(db, tenant, "front_desk").await;
    emails.extend(tenant_staff_emails(db, tenant, "manager").await);
    assert!(!emails.is_empty(), "tenant {tenant} has no desk accounts");
    let mut laptops = Vec::new();
    for index in 0..config.laptops {
        let proxy = FaultyProxy::start(
            server.address,
            seed.wrapping_mul(31).wrapping_add(index as u64),
        )
        .await;
        proxy.set_faults(false);
        let path = std::env::temp_dir().join(format!(
            "pms-chaos-{}-{seed}-{index}-{}.sqlite",
            std::process::id(),
            &Uuid::new_v4().simple().to_string()[..8]
        ));
        let conn = mirror::open(&path).expect("mirror file");
        let email = &emails[index % emails.len()];
        let mut laptop = Laptop::sign_in_at(
            db,
            &proxy.url,
            email,
            &format!("chaos {seed} laptop {index}"),
            conn,
        )
        .await;
        laptop.sync().await;
        laptops.push(ChaosLaptop {
            index,
            laptop,
            path,
            proxy,
            partitioned: false,
            clock: SkewedClock::default(),
            email: email.clone(),
            revoked: false,
            disk_limit: None,
        });
    }
    drop(up);

    let mut details = ChaCha8Rng::seed_from_u64(seed);
    let steps = schedule(seed, config.operations, config.laptops, &config.without);
    for (step, planned) in steps.iter().enumerate() {
        let desk = &mut laptops[planned.laptop];
        let at = Some(planned.laptop);
        let syncs = matches!(
            planned.action,
            Action::Sync | Action::KillMidSync { .. } | Action::KillMidSnapshot { .. }
        );
        if syncs && desk.revoked && !desk.partitioned {
            // The revoked laptop's sync is refused; the clerk is shown the session ended and
            // signs in again on the same mirror, and the round goes on under the new device.
            let refused = sync_once(&mut desk.laptop.conn, &desk.laptop.remote).await;
            history.record(
                step,
                at,
                sync_event(refused.map_err(|e| e.to_string()), None),
            );
            // On a full disk the sign-in cannot save the session: the clerk is shown so, and
            // signs in once space is freed.
            if desk.disk_limit.is_none() {
                let _up = backend.database_up.read().await;
                sign_in_again(db, desk, seed, step, &mut history).await;
            }
        }
        match planned.action {
            Action::Operate(kind) => {
                let done = perform(&mut desk.laptop.conn, &desk.clock, kind, &mut details);
                history.record(
                    step,
                    at,
                    Event::Operation {
                        kind,
                        intent: done.intent,
                        outcome: done.outcome,
                    },
                );
            }
            Action::Sync if !desk.partitioned => {
                let result = sync_once(&mut desk.laptop.conn, &desk.laptop.remote).await;
                history.record(
                    step,
                    at,
                    sync_event(result.map_err(|e| e.to_string()), None),
                );
            }
            Action::KillMidSync { after_ms } if !desk.partitioned => {
                let deadline = Duration::from_millis(after_ms);
                let finished = tokio::time::timeout(
                    deadline,
                    sync_once(&mut desk.laptop.conn, &desk.laptop.remote),
                )
                .await;
                match finished {
                    Ok(result) => history.record(
                        step,
                        at,
                        sync_event(result.map_err(|e| e.to_string()), None),
                    ),
                    Err(_) => {
                        // The sync's future is dropped wherever it was (a push on the wire, a pull
                        // page half written) and the mirror reopened from its file: what a killed
                        // process leaves, since SQLite rolls back a transaction that was open when
                        // the process died and the laptop restarts from what was committed.
                        restart(desk);
                        history.record(
                            step,
                            at,
                            Event::Fault {
                                fault: FaultKind::KillMidSync,
                                detail: format!("killed {after_ms} ms into a sync"),
                            },
                        );
                    }
                }
            }
            Action::KillMidSnapshot { after_ms } if !desk.partitioned => {
                if let Err(error) = reset_for_snapshot(&mut desk.laptop.conn) {
                    // (a full disk) the laptop keeps its mirror and tries at its next sync
                    history.record(step, at, sync_event(Err(error.to_string()), None));
                    continue;
                }
                history.record(
                    step,
                    at,
                    Event::Fault {
                        fault: FaultKind::SnapshotReset,
                        detail: String::new(),
                    },
                );
                let deadline = Duration::from_millis(after_ms);
                let finished = tokio::time::timeout(
                    deadline,
                    sync_once(&mut desk.laptop.conn, &desk.laptop.remote),
                )
                .await;
                match finished {
                    Ok(result) => history.record(
                        step,
                        at,
                        sync_event(result.map_err(|e| e.to_string()), None),
                    ),
                    Err(_) => {
                        // As for a kill mid-sync: the snapshot's pages committed so far stay,
                        // the one being written is rolled back, and the next sync resumes.
                        restart(desk);
                        history.record(
                            step,
                            at,
                            Event::Fault {
                                fault: FaultKind::KillMidSnapshot,
                                detail: format!("killed {after_ms} ms into a snapshot"),
                            },
                        );
                    }
                }
            }
            Action::Sync | Action::KillMidSync { .. } | Action::KillMidSnapshot { .. } => {}
            Action::RevokeDevice if !desk.revoked => {
                let _up = backend.database_up.read().await;
                pms_server::admin::revoke_device(&db.pool, desk.laptop.device_id)
                    .await
                    .expect("revoke the device");
                desk.revoked = true;
                history.record(
                    step,
                    at,
                    Event::Fault {
                        fault: FaultKind::RevokeDevice,
                        detail: format!("device {}", desk.laptop.device_id),
                    },
                );
            }
            Action::RevokeDevice => {}
            Action::RoleChange => {
                let _up = backend.database_up.read().await;
                let role: String = sqlx::query_scalar(
                    "select role from public.staff where lower(email) = lower($1)",
                )
                .bind(&desk.email)
                .fetch_one(&db.pool)
                .await
                .expect("the staff member's role");
                let new = if role == "manager" {
                    "front_desk"
                } else {
                    "manager"
                };
                pms_server::admin::set_staff_role(&db.pool, &desk.email, new)
                    .await
                    .expect("change the role");
                history.record(
                    step,
                    at,
                    Event::Fault {
                        fault: FaultKind::RoleChange,
                        detail: format!("{} from {role} to {new}", desk.email),
                    },
                );
            }
            Action::TogglePartition => {
                desk.partitioned = !desk.partitioned;
                let fault = if desk.partitioned {
                    FaultKind::Partition
                } else {
                    FaultKind::Heal
                };
                history.record(
                    step,
                    at,
                    Event::Fault {
                        fault,
                        detail: String::new(),
                    },
                );
            }
            Action::ToggleProxyFaults => {
                let on = !faults_on(&history, planned.laptop);
                desk.proxy.set_faults(on);
                let fault = if on {
                    FaultKind::ProxyFaultsOn
                } else {
                    FaultKind::ProxyFaultsOff
                };
                history.record(
                    step,
                    at,
                    Event::Fault {
                        fault,
                        detail: String::new(),
                    },
                );
            }
            Action::ToggleDiskFull { headroom_pages } => {
                let (fault, detail) = if desk.disk_limit.take().is_some() {
                    set_max_pages(&desk.laptop.conn, DISK_FREED_PAGES);
                    (FaultKind::DiskFreed, String::new())
                } else {
                    let pages: i64 = desk
                        .laptop
                        .conn
                        .query_row("pragma page_count", [], |r| r.get(0))
                        .expect("the mirror's size");
                    let limit = pages + i64::from(headroom_pages);
                    set_max_pages(&desk.laptop.conn, limit);
                    desk.disk_limit = Some(limit);
                    (
                        FaultKind::DiskFull,
                        format!("{headroom_pages} pages left of {limit}"),
                    )
                };
                history.record(step, at, Event::Fault { fault, detail });
            }
            Action::KillServer { after_ms } => {
                // The kill lands wherever the laptop's sync is then: before its push reached the
                // server, inside the push's transaction, or after it committed and before the
                // answer left.
                let kill = async {
                    tokio::time::sleep(Duration::from_millis(after_ms)).await;
                    server.kill().await;
                };
                if desk.partitioned {
                    kill.await;
                } else {
                    let (result, ()) =
                        tokio::join!(sync_once(&mut desk.laptop.conn, &desk.laptop.remote), kill);
                    history.record(
                        step,
                        at,
                        sync_event(result.map_err(|e| e.to_string()), None),
                    );
                }
                server.restart().await;
                history.record(
                    step,
                    at,
                    Event::Fault {
                        fault: FaultKind::ServerKilled,
                        detail: format!("SIGKILL {after_ms} ms into the laptop's sync"),
                    },
                );
            }
            Action::RestartPostgres { immediate } => {
                let mode = if immediate { "immediate" } else { "fast" };
                {
                    let _every_seed = backend.database_up.write().await;
                    backend.cluster.restart(mode).await;
                }
                history.record(
                    step,
                    None,
                    Event::Fault {
                        fault: FaultKind::PostgresRestart,
                        detail: mode.to_owned(),
                    },
                );
            }
            Action::UpgradeApp => {
                let placeholder = mirror::open_in_memory().expect("placeholder");
                drop(std::mem::replace(&mut desk.laptop.conn, placeholder));
                crate::older_mirror::make_it_older(&desk.path);
                reopen(desk);
                history.record(
                    step,
                    at,
                    Event::Fault {
                        fault: FaultKind::AppUpgrade,
                        detail: "the mirror of the build before mirror migration 0006, its \
                                 outbox kept, migrated by this build"
                            .into(),
                    },
                );
            }
            Action::PruneSyncState => {
                let pruned = {
                    let _every_seed = backend.database_up.write().await;
                    pms_server::admin::prune_sync_state(&db.pool, 0)
                        .await
                        .expect("prune the sync state")
                };
                history.record(
                    step,
                    None,
                    Event::Fault {
                        fault: FaultKind::SyncStatePruned,
                        detail: format!(
                            "{} feed changes and {} push results removed",
                            pruned.changes, pruned.results
                        ),
                    },
                );
            }
            Action::ClockJump { offset_minutes } => {
                desk.clock.offset_ms = offset_minutes * 60_000;
                history.record(
                    step,
                    at,
                    Event::Fault {
                        fault: FaultKind::ClockJump,
                        detail: format!(
                            "clock {offset_minutes:+} min off{}",
                            if desk.partitioned {
                                " while offline"
                            } else {
                                ""
                            }
                        ),
                    },
                );
            }
        }
    }

    // Every fault heals; then every laptop syncs, round after round, until a round moves nothing.
    // (No Postgres restart meanwhile: the final syncs and reads are the checker's.)
    let up = backend.database_up.read().await;
    let mut step = steps.len();
    for desk in &mut laptops {
        if desk.disk_limit.take().is_some() {
            set_max_pages(&desk.laptop.conn, DISK_FREED_PAGES);
            history.record(
                step,
                Some(desk.index),
                Event::Fault {
                    fault: FaultKind::DiskFreed,
                    detail: "final heal".into(),
                },
            );
        }
        if desk.partitioned {
            desk.partitioned = false;
            history.record(
                step,
                Some(desk.index),
                Event::Fault {
                    fault: FaultKind::Heal,
                    detail: "final heal".into(),
                },
            );
        }
        if faults_on(&history, desk.index) {
            desk.proxy.set_faults(false);
            history.record(
                step,
                Some(desk.index),
                Event::Fault {
                    fault: FaultKind::ProxyFaultsOff,
                    detail: "final heal".into(),
                },
            );
        }
        if desk.revoked {
            sign_in_again(db, desk, seed, step, &mut history).await;
        }
    }
    let healed = Instant::now();
    for round in 0..8 {
        let mut moved = false;
        for desk in &mut laptops {
            step += 1;
            let result = sync_once(&mut desk.laptop.conn, &desk.laptop.remote).await;
            moved |= result
                .as_ref()
                .map_or(true, |r| r.pushed + r.rejected + r.pulled > 0);
            history.record(
                step,
                Some(desk.index),
                sync_event(
                    result.map_err(|e| e.to_string()),
                    Some(healed.elapsed().as_millis() as u64),
                ),
            );
        }
        if !moved && round > 0 {
            break;
        }
    }

    let state = fetch_final_state(
        db,
        tenant,
        &mut laptops
            .iter_mut()
            .map(|l| &mut l.laptop)
            .collect::<Vec<_>>(),
    )
    .await;
    drop(up);
    drop(server);
    let anomalies = checker::check(&history, &state);
    if let Some(dir) = &config.history_dir {
        history.write_to(dir).expect("write the history");
    }
    let summary = summarize(&history, &state, &anomalies, &laptops, started.elapsed());
    SeedRun {
        seed,
        history,
        state,
        anomalies,
        laptops,
        summary,
    }
}

/// The clerk of a revoked laptop signs in again on the same mirror, as the desk's sign-in does
/// (`commands::setup::connect`: a new device, the mirror and its outbox kept). Done with the
/// proxy's faults paused: a sign-in that fails is tried again by the clerk, not a fault here.
async fn sign_in_again(
    db: &TestDb,
    desk: &mut ChaosLaptop,
    seed: u64,
    step: usize,
    history: &mut History,
) {
    let faults = faults_on(history, desk.index);
    desk.proxy.set_faults(false);
    let placeholder = mirror::open_in_memory().expect("placeholder");
    let conn = std::mem::replace(&mut desk.laptop.conn, placeholder);
    let old = desk.laptop.device_id;
    desk.laptop = Laptop::sign_in_at(
        db,
        &desk.proxy.url,
        &desk.email,
        &format!("chaos {seed} laptop {} again", desk.index),
        conn,
    )
    .await;
    desk.proxy.set_faults(faults);
    desk.revoked = false;
    history.record(
        step,
        Some(desk.index),
        Event::Fault {
            fault: FaultKind::SignInAgain,
            detail: format!(
                "shown: the session ended, sign in again; device {old} replaced by {}",
                desk.laptop.device_id
            ),
        },
    );
}

/// The laptop's process restarts: its mirror is closed and opened again from its file (on the
/// same disk: still full if it was).
fn restart(desk: &mut ChaosLaptop) {
    let placeholder = mirror::open_in_memory().expect("placeholder");
    drop(std::mem::replace(&mut desk.laptop.conn, placeholder));
    reopen(desk);
}

/// Opens the laptop's mirror file (migrating it to this build's schema).
fn reopen(desk: &mut ChaosLaptop) {
    desk.laptop.conn = mirror::open(&desk.path).expect("reopen the mirror");
    if let Some(limit) = desk.disk_limit {
        set_max_pages(&desk.laptop.conn, limit);
    }
}

/// How far the mirror may grow: SQLite refuses a write that needs a page past it exactly as it
/// refuses one on a full disk (`SQLITE_FULL`).
fn set_max_pages(conn: &rusqlite::Connection, pages: i64) {
    conn.pragma_update(None, "max_page_count", pages)
        .expect("set the mirror's largest size");
}

/// The seed's server process, with a clear message when its binary is not built.
async fn start_server(program: &Path, db: &TestDb) -> ServerProcess {
    assert!(
        program.is_file(),
        "no server binary at {}: build it first (`cargo build -p pms-tests --bins`)",
        program.display()
    );
    ServerProcess::start(program, db).await
}

fn sync_event(
    result: Result<pms_sync_client::engine::SyncReport, String>,
    after_heal_ms: Option<u64>,
) -> Event {
    match result {
        Ok(report) => Event::Sync {
            pushed: report.pushed,
            rejected: report.rejected,
            pulled: report.pulled,
            error: None,
            after_heal_ms,
        },
        Err(error) => Event::Sync {
            pushed: 0,
            rejected: 0,
            pulled: 0,
            error: Some(error),
            after_heal_ms,
        },
    }
}

/// Whether the history last turned `laptop`'s proxy faults on.
fn faults_on(history: &History, laptop: usize) -> bool {
    history
        .records
        .iter()
        .rev()
        .find_map(|r| match r.event {
            Event::Fault {
                fault: FaultKind::ProxyFaultsOn,
                ..
            } if r.laptop == Some(laptop) => Some(true),
            Event::Fault {
                fault: FaultKind::ProxyFaultsOff,
                ..
            } if r.laptop == Some(laptop) => Some(false),
            _ => None,
        })
        .unwrap_or(false)
}

/// Reads what the checker needs from Postgres (as the admin, every row of the tenant) and from
/// each laptop's mirror (compared with what its staff member reads on the server); the n-th
/// laptop is laptop n of the history. (The laptops come as `&mut`: a shared reference to a
/// mirror cannot be held across an await of a task that may move between threads.)
pub async fn fetch_final_state(
    db: &TestDb,
    tenant: Uuid,
    laptops: &mut [&mut Laptop],
) -> FinalState {
    let mut state = FinalState::default();
    let claims_of: Vec<crate::Claims> = laptops.iter().map(|l| l.claims).collect();
    let mut readable = Vec::new();
    for claims in claims_of.clone() {
        readable.push(ServerRows::read(db, claims).await);
    }
    for (index, (laptop, server)) in laptops.iter().zip(readable).enumerate() {
        let conn = &laptop.conn;
        let conflicts = conn
            .prepare("select change_id from conflicts")
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
            .expect("conflicts");
        let role_shown = mirror::state(conn, "staff_role").expect("the mirror's role");
        state.laptops.push(LaptopState {
            laptop: index,
            device_id: laptop.device_id,
            role_shown,
            role: None,
            mirror_differences: server
                .compare(conn)
                .err()
                .map(|e| e.lines().map(str::to_owned).collect())
                .unwrap_or_default(),
            conflicts,
            outbox: outbox::entries(conn, true)
                .expect("outbox")
                .iter()
                .map(|e| e.change_id)
                .collect(),
        });
    }
    let pool = &db.pool;
    for (laptop, claims) in state.laptops.iter_mut().zip(&claims_of) {
        laptop.role = sqlx::query_scalar("select role from public.staff where user_id = $1")
            .bind(claims.user_id)
            .fetch_optional(pool)
            .await
            .expect("the staff member's role");
    }
    // A campaign's database also keeps the results its scheduled pruning removed (see
    // `keep_pruned_results`); other suites' databases have no such copy.
    let kept: bool =
        sqlx::query_scalar("select to_regclass('chaos_kept.change_results') is not null")
            .fetch_one(pool)
            .await
            .expect("look for the pruned results' copy");
    let statement = format!(
        "select device_id, change_id, status, device_seq, feed_seq, conflicts
           from app.change_results where tenant_id = $1{}",
        if kept {
            " union all
         select device_id, change_id, status, device_seq, feed_seq, conflicts
           from chaos_kept.change_results where tenant_id = $1"
        } else {
            ""
        }
    );
    state.change_results =
        sqlx::query_as::<_, (Uuid, Uuid, String, i64, Option<i64>, serde_json::Value)>(&statement)
            .bind(tenant)
            .fetch_all(pool)
            .await
            .expect("change results")
            .into_iter()
            .map(
                |(device_id, change_id, status, device_seq, feed_seq, conflicts)| ChangeResult {
                    device_id,
                    change_id,
                    status,
                    device_seq,
                    feed_seq,
                    conflicts: serde_json::from_value(conflicts)
                        .expect("the server's conflict records"),
                },
            )
            .collect();
    state.stays = sqlx::query_as::<
        _,
        (
            Uuid,
            Option<Uuid>,
            chrono::NaiveDate,
            chrono::NaiveDate,
            String,
            bool,
            i64,
            i64,
        ),
    >(
        "select id, room_id, check_in_date, check_out_date, status::text, deleted_at is not null,
                confirmation_number::bigint, coalesce(deposit_paid_cents, 0)::bigint
           from public.reservations where tenant_id = $1",
    )
    .bind(tenant)
    .fetch_all(pool)
    .await
    .expect("stays")
    .into_iter()
    .map(
        |(
            id,
            room_id,
            check_in,
            check_out,
            status,
            deleted,
            confirmation_number,
            deposit_paid_cents,
        )| Stay {
            id,
            room_id,
            check_in,
            check_out,
            status,
            deleted,
            confirmation_number,
            deposit_paid_cents,
        },
    )
    .collect();
    state.members = sqlx::query_as::<_, (Uuid, i64, i64)>(
        "select id, points_balance::bigint, membership_number::bigint from public.loyalty_members where tenant_id = $1",
    )
    .bind(tenant)
    .fetch_all(pool)
    .await
    .expect("members")
    .into_iter()
    .map(|(id, points_balance, membership_number)| Member { id, points_balance, membership_number })
    .collect();
    state.ledger = sqlx::query_as::<_, (Uuid, Uuid, i64, i64)>(
        "select id, member_id, points::bigint, balance_after::bigint from public.loyalty_transactions where tenant_id = $1",
    )
    .bind(tenant)
    .fetch_all(pool)
    .await
    .expect("ledger")
    .into_iter()
    .map(|(id, member_id, points, balance_after)| LedgerEntry { id, member_id, points, balance_after })
    .collect();
    state.folio_entries = sqlx::query_as::<_, (Uuid, Uuid, String, i64, Option<Uuid>)>(
        "select id, reservation_id, kind, amount_minor, voids_entry_id from public.folio_entries where tenant_id = $1",
    )
    .bind(tenant)
    .fetch_all(pool)
    .await
    .expect("folio entries")
    .into_iter()
    .map(|(id, reservation_id, kind, amount_minor, voids_entry_id)| FolioEntry { id, reservation_id, kind, amount_minor, voids_entry_id })
    .collect();
    state.guests = sqlx::query_scalar("select id from public.guests where tenant_id = $1")
        .bind(tenant)
        .fetch_all(pool)
        .await
        .expect("guests");
    state
}

fn summarize(
    history: &History,
    state: &FinalState,
    anomalies: &[Anomaly],
    laptops: &[ChaosLaptop],
    elapsed: Duration,
) -> SeedSummary {
    let mut summary = SeedSummary {
        seed: history.seed,
        anomalies: anomalies.to_vec(),
        elapsed,
        ..SeedSummary::default()
    };
    for record in &history.records {
        match &record.event {
            Event::Operation { outcome, .. } => {
                summary.operations += 1;
                match outcome {
                    Outcome::Accepted { .. } => summary.accepted += 1,
                    Outcome::Refused { .. } => summary.refused += 1,
                    Outcome::Nothing => {}
                }
            }
            Event::Sync { error, .. } => {
                summary.syncs += 1;
                summary.failed_syncs += usize::from(error.is_some());
            }
            Event::Fault { fault, .. } => {
                let name = serde_json::to_value(fault)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default();
                *summary.faults.entry(name).or_default() += 1;
            }
        }
    }
    for desk in laptops {
        for (kind, count) in desk.proxy.counts.snapshot() {
            if kind != "Pass" {
                *summary.faults.entry(format!("proxy {kind}")).or_default() += count;
            }
        }
    }
    summary.conflicts_shown = state.laptops.iter().map(|l| l.conflicts.len()).sum();
    summary
}

/// A whole campaign's figures.
#[derive(Debug, Clone, Default)]
pub struct CampaignReport {
    pub seeds: Vec<SeedSummary>,
    pub wall: Duration,
    pub operations_per_seed: usize,
    pub laptops: usize,
}

impl CampaignReport {
    pub fn anomalies(&self) -> impl Iterator<Item = &Anomaly> {
        self.seeds.iter().flat_map(|s| s.anomalies.iter())
    }
}

impl fmt::Display for CampaignReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sum = |get: fn(&SeedSummary) -> usize| self.seeds.iter().map(get).sum::<usize>();
        let mut faults: BTreeMap<&str, u64> = BTreeMap::new();
        for seed in &self.seeds {
            for (kind, count) in &seed.faults {
                *faults.entry(kind).or_default() += count;
            }
        }
        writeln!(f, "| figure | value |")?;
        writeln!(f, "|---|---|")?;
        writeln!(
            f,
            "| seeds | {} ({} laptops each) |",
            self.seeds.len(),
            self.laptops
        )?;
        writeln!(
            f,
            "| operations | {} ({} accepted, {} refused by the desk) |",
            sum(|s| s.operations),
            sum(|s| s.accepted),
            sum(|s| s.refused)
        )?;
        writeln!(
            f,
            "| syncs | {} ({} failed under faults) |",
            sum(|s| s.syncs),
            sum(|s| s.failed_syncs)
        )?;
        for (kind, count) in faults {
            writeln!(f, "| fault: {kind} | {count} |")?;
        }
        writeln!(f, "| conflicts shown | {} |", sum(|s| s.conflicts_shown))?;
        writeln!(f, "| anomalies | {} |", self.anomalies().count())?;
        let slowest = self
            .seeds
            .iter()
            .map(|s| s.elapsed)
            .max()
            .unwrap_or_default();
        writeln!(
            f,
            "| wall time | {:.1} s (slowest seed {:.1} s) |",
            self.wall.as_secs_f64(),
            slowest.as_secs_f64()
        )?;
        for anomaly in self.anomalies() {
            writeln!(
                f,
                "anomaly seed {} {}: {} (steps {:?}); reproduce: pms-chaos --seed {} --ops {}",
                anomaly.seed,
                anomaly.property,
                anomaly.detail,
                anomaly.operations,
                anomaly.seed,
                self.operations_per_seed
            )?;
        }
        Ok(())
    }
}

/// What every seed of a campaign shares: a Postgres cluster of its own and one database in it.
/// Fields drop in order: the database before the cluster.
pub struct Backend {
    pub db: TestDb,
    /// Held (shared) around a seed's own reads and writes of the database (sign-ins,
    /// administration, the final syncs and reads); taken whole by a Postgres restart, which
    /// every seed running then meets as failed syncs.
    pub database_up: tokio::sync::RwLock<()>,
    pub cluster: OwnCluster,
}

/// The backend, seeded with one tenant per seed.
pub struct Campaign {
    pub backend: Arc<Backend>,
    pub tenants: Vec<Uuid>,
}

impl Campaign {
    pub async fn start(seeds: usize) -> Self {
        let started = Instant::now();
        let cluster = OwnCluster::start().await;
        let db = TestDb::migrated_on(&cluster.url()).await;
        let migrated = started.elapsed();
        // A fortnight of past stays: every laptop copies its tenant at sign-in and at each
        // re-snapshot, and the campaign books far from the seeded calendar anyway.
        db.seed_with_history(seeds, 10, 14).await;
        keep_pruned_results(&db).await;
        eprintln!(
            "campaign database: cluster and schema in {:.1} s, {seeds} tenants seeded in {:.1} s",
            migrated.as_secs_f64(),
            (started.elapsed() - migrated).as_secs_f64()
        );
        let tenants = sqlx::query_scalar("select id from public.tenants order by subdomain")
            .fetch_all(&db.pool)
            .await
            .expect("tenants");
        Self {
            backend: Arc::new(Backend {
                db,
                database_up: tokio::sync::RwLock::new(()),
                cluster,
            }),
            tenants,
        }
    }

    /// Runs `seeds` (the n-th in the n-th tenant), `config.at_once` at a time: a seed starts as
    /// soon as another ends (seeds vary several-fold in length). Prints a line to stderr as each
    /// ends, so a long campaign shows its progress.
    pub async fn run(&self, seeds: &[u64], config: &Config) -> CampaignReport {
        assert!(self.tenants.len() >= seeds.len(), "one tenant per seed");
        let started = Instant::now();
        let mut report = CampaignReport {
            operations_per_seed: config.operations,
            laptops: config.laptops,
            ..CampaignReport::default()
        };
        let mut waiting = seeds.iter().copied().zip(self.tenants.iter().copied());
        let mut runs = tokio::task::JoinSet::new();
        loop {
            while runs.len() < config.at_once.max(1) {
                let Some((seed, tenant)) = waiting.next() else {
                    break;
                };
                let (backend, config) = (self.backend.clone(), config.clone());
                runs.spawn(async move { run_seed(&backend, tenant, seed, &config).await.summary });
            }
            let Some(done) = runs.join_next().await else {
                break;
            };
            let done = done.expect("a seed's run panicked");
            eprintln!(
                "[{:>6.0} s] seed {} done: {} anomalies ({} of {} seeds)",
                started.elapsed().as_secs_f64(),
                done.seed,
                done.anomalies.len(),
                report.seeds.len() + 1,
                seeds.len()
            );
            report.seeds.push(done);
        }
        report.seeds.sort_by_key(|s| s.seed);
        report.wall = started.elapsed();
        report
    }
}

/// The checker reads every push result (it is the server's record of what each change did), so
/// the campaign's database keeps a copy of those the scheduled pruning removes, in a schema of
/// the test's own. (A test that deletes a result to play a lost write deletes the copy too.)
async fn keep_pruned_results(db: &TestDb) {
    sqlx::raw_sql(
        "create schema chaos_kept;
         create table chaos_kept.change_results (like app.change_results);
         create function chaos_kept.keep_pruned() returns trigger language plpgsql as $$
         begin
             insert into chaos_kept.change_results select old.*;
             return old;
         end $$;
         create trigger keep_pruned before delete on app.change_results
             for each row execute function chaos_kept.keep_pruned();",
    )
    .execute(&db.pool)
    .await
    .expect("keep pruned push results for the checker");
}

/// Runs `seeds` in a database of their own.
pub async fn run_campaign(seeds: &[u64], config: &Config) -> CampaignReport {
    Campaign::start(seeds.len()).await.run(seeds, config).await
}

/// A failing seed's shortest reproducer found by [`shrink`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reproducer {
    pub seed: u64,
    pub operations: usize,
    /// Kinds of fault the failure does not need.
    pub without: BTreeSet<String>,
}

impl fmt::Display for Reproducer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "pms-chaos --seed {} --ops {}",
            self.seed, self.operations
        )?;
        if !self.without.is_empty() {
            let kinds: Vec<&str> = self.without.iter().map(String::as_str).collect();
            write!(f, " --without {}", kinds.join(","))?;
        }
        Ok(())
    }
}

/// Re-runs a failing seed with half the operations while it still fails, then without each kind
/// of fault in turn, keeping every leaving-out that still fails: the reproducer. Each run is a
/// fresh database; the schedule is the seed's, but network timing is not, so a failure that
/// depends on timing may not shrink far.
pub async fn shrink(seed: u64, config: &Config) -> Reproducer {
    let fails = |operations: usize, without: BTreeSet<String>| {
        let config = Config {
            operations,
            without,
            history_dir: None,
            ..config.clone()
        };
        async move {
            run_campaign(&[seed], &config)
                .await
                .anomalies()
                .next()
                .is_some()
        }
    };
    let mut operations = config.operations;
    while operations > 1 && fails(operations / 2, config.without.clone()).await {
        operations /= 2;
    }
    let mut without = config.without.clone();
    for kind in super::schedule::FAULT_KINDS {
        if without.contains(*kind) {
            continue;
        }
        let mut fewer = without.clone();
        fewer.insert((*kind).to_owned());
        if fails(operations, fewer.clone()).await {
            without = fewer;
        }
    }
    Reproducer {
        seed,
        operations,
        without,
    }
}
