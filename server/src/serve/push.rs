//! `POST /v1/sync/push`: a device's changes, applied exactly once, in its order, under RLS.
//!
//! Each change runs in a savepoint of the request's transaction (as `authenticated` with the
//! caller's claims): the database's grants, policies and constraints decide, and a change they
//! refuse is rolled back alone and answered with a machine-readable reason and the server's
//! current row, while the rest of the batch goes on. The outcome of every change is recorded
//! with the device's sequence number (`app.change_results`), so a retried push gets the same
//! answers and nothing is applied twice.
//!
//! Every update is merged field group by field group by the pure rules of
//! `pms_sync_protocol::merge`, against the row's current values and the stamps of its last writes
//! (`app.row_clocks`). One without a clock stamp counts as the oldest edit, one without base
//! values as concurrent with any stamped write. Incoming stamps are capped at the server's clock
//! plus [`MAX_CLOCK_SKEW_MS`] (`PMS_MAX_CLOCK_AHEAD_MS`), so a laptop whose clock runs ahead does
//! not win every conflict. A change merged in part is answered `merged` with its conflicts. Every merged
//! row is then written through the same constraints as any other write. A stamped delete that is
//! older than a later edit of the row loses to it (`edited_elsewhere`, see `merge::merge_delete`).

use axum::extract::State;
use axum::Json;
use pms_sync_protocol::hlc::{cap, Hlc};
use pms_sync_protocol::merge::{self, Decision, GroupKey, IncomingUpdate, ServerRow, Values};
use pms_sync_protocol::tables::synced_table;
use pms_sync_protocol::wire::{
    PushChange, PushOp, PushRequest, PushResponse, PushResult, PushStatus,
};
use pms_sync_protocol::PROTOCOL_VERSION;
use sqlx::{PgConnection, Postgres, Transaction};
use std::collections::BTreeMap;
use uuid::Uuid;

use super::caller::Caller;
use super::error::{is_retry_later, ApiError, ApiJson};
use super::AppState;

mod batched;

/// A push of more changes than this is large: it waits for one of the server's few slots for
/// large pushes before it takes a database connection (`AppState::large_pushes`). A clerk's
/// edits go up a few at a time; a laptop back from hours offline sends hundreds.
pub const LARGE_PUSH: usize = 20;

/// How long a large push waits for a slot before it is answered `503 server_busy` (the pool's
/// own wait for a connection).
const LARGE_PUSH_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// The most changes of a push written in one transaction (see [`push`]): about 25 ms of a
/// tenant's feed head on this project's bench machine under load.
pub const PUSH_PART: usize = 100;

/// The most changes one push may carry.
pub const MAX_PUSH_CHANGES: usize = 1_000;

/// How far ahead of the server's clock a laptop's stamp may be before it is lowered.
pub const MAX_CLOCK_SKEW_MS: i64 = 60_000;

/// The stamp of a change that carries none: older than every real stamp.
const OLDEST_STAMP: Hlc = Hlc {
    wall_ms: 0,
    counter: 0,
    node: Uuid::nil(),
};

/// A device's changes, applied exactly once in its order: each is answered `applied`, `merged`
/// (with its conflicts) or `rejected` (with a reason and the server's row); a retried push is
/// answered from the recorded results (`replayed`).
#[utoipa::path(
    post,
    path = "/v1/sync/push",
    tag = "sync",
    request_body = PushRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One result per change, in order", body = PushResponse),
        (status = 400, description = "`bad_request`: not a push, too many changes, a reused sequence number", body = super::error::ErrorResponse),
        (status = 401, description = "`missing_token`, `invalid_token`, `session_revoked`", body = super::error::ErrorResponse),
        (status = 403, description = "`tenant_inactive`", body = super::error::ErrorResponse),
        (status = 413, description = "`payload_too_large`", body = super::error::ErrorResponse),
        (status = 426, description = "`client_too_old`", body = super::error::ErrorResponse),
        (status = 503, description = "`server_busy`, with `Retry-After`: send the same push again", body = super::error::ErrorResponse),
    )
)]
pub async fn push(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(request): ApiJson<PushRequest>,
) -> Result<Json<PushResponse>, ApiError> {
    if request.protocol_version != PROTOCOL_VERSION {
        return Err(ApiError::ClientTooOld {
            client: request.protocol_version,
            server: PROTOCOL_VERSION,
        });
    }
    if request.changes.len() > MAX_PUSH_CHANGES {
        return Err(ApiError::BadRequest(format!(
            "at most {MAX_PUSH_CHANGES} changes per push"
        )));
    }
    let _large_push_slot = if request.changes.len() > LARGE_PUSH {
        let slot =
            tokio::time::timeout(LARGE_PUSH_WAIT, state.large_pushes.clone().acquire_owned());
        match slot.await {
            Ok(Ok(slot)) => Some(slot),
            // closed (never: the state holds it) or no slot within the wait
            Ok(Err(_)) | Err(_) => return Err(ApiError::Busy),
        }
    } else {
        None
    };
    // A large push goes in parts, each a transaction of its own: a part holds its tenant's feed
    // head for a few tens of milliseconds, so a colleague's one-change push waits for one part,
    // not for a whole backlog. Every change is answered and recorded in the transaction that
    // writes it, so a push cut between parts (a 503, a lost connection) is sent again and its
    // written parts are answered from their records: still exactly once.
    let mut answer = PushResponse {
        results: Vec::with_capacity(request.changes.len()),
        feed_seq: None,
        clock: None,
        server_time_ms: None,
    };
    for part in request.changes.chunks(PUSH_PART) {
        let written = push_part(&state, &caller, part).await?;
        answer.results.extend(written.results);
        answer.feed_seq = answer.feed_seq.max(written.feed_seq);
        answer.clock = answer.clock.max(written.clock);
    }
    state.metrics.record_push(&answer.results);
    answer.server_time_ms = Some(chrono::Utc::now().timestamp_millis());
    Ok(Json(answer))
}

/// One part of a push (at most [`PUSH_PART`] changes, in the device's order) in one transaction:
/// each change answered with where it landed in the feed (`PushResult::feed_seq`).
async fn push_part(
    state: &AppState,
    caller: &Caller,
    changes: &[PushChange],
) -> Result<PushResponse, ApiError> {
    let device_id = caller.claims.app_metadata.device_id;
    let tenant_id = caller.claims.app_metadata.tenant_id;
    let mut tx = caller.begin(&state.pool).await?;
    // The device's progress row, locked (the upsert locks it): two attempts of the same push (a
    // retry racing the original) take turns instead of both applying. A laptop pushes from its
    // lowest change still unanswered, and a push's parts commit in order, so every number below
    // this part's first has had its answer: retention may remove those results, and only those
    // (migration 20261207000100).
    let answered_through = changes
        .iter()
        .map(|c| c.device_seq.saturating_sub(1))
        .min()
        .unwrap_or(0)
        .max(0);
    let (mut last_seq, results_pruned_through): (i64, i64) = sqlx::query_as(
        "insert into app.device_progress as d (device_id, tenant_id, acked_through) values ($1, $2, $3)
         on conflict (device_id, tenant_id)
         do update set acked_through = greatest(d.acked_through, excluded.acked_through)
         returning last_seq, results_pruned_through",
    )
    .bind(device_id)
    .bind(tenant_id)
    .bind(answered_through)
    .fetch_one(&mut *tx)
    .await?;
    // Then the tenant's feed head, before any row: every write takes it to the commit anyway, and
    // taken after a row lock two pushes of the tenant could each hold what the other waits for
    // (migration 20261206000100).
    sqlx::query("select app.lock_tenant_feed()")
        .execute(&mut *tx)
        .await?;

    // Changes this tenant's server has already dealt with, whichever device sent them: a laptop
    // signed in again is a new device that sends its unanswered changes once more.
    let known = recorded_by_change_id(&mut tx, tenant_id, changes).await?;

    let mut results = Vec::with_capacity(changes.len());
    let mut deferred = Deferred::default();
    // First in a few statements when the push allows it (see `batched`), else change by change.
    let in_waves = if batched::eligible(changes, last_seq, &known) {
        batched::apply(
            &mut tx,
            &mut deferred,
            tenant_id,
            changes,
            state.max_clock_ahead_ms,
        )
        .await?
    } else {
        None
    };
    state.metrics.record_push_path(in_waves.is_some());
    let one_by_one: &[PushChange] = match in_waves {
        Some(answers) => {
            results = answers;
            last_seq = changes
                .iter()
                .map(|c| c.device_seq)
                .max()
                .unwrap_or(last_seq);
            &[]
        }
        None => {
            deferred = Deferred::default();
            changes
        }
    };
    for change in one_by_one {
        let hash = body_hash(change);
        let known = known.get(&change.change_id);
        if change.device_seq <= last_seq || known.is_some() {
            // A number used twice in this push is answered from its first use, not yet recorded.
            let earlier = deferred.result_of(change.device_seq);
            let (result, feed_seq) = recorded_result(
                &mut tx,
                device_id,
                change,
                &hash,
                results_pruned_through,
                earlier.as_ref().or(known),
            )
            .await?;
            let mut result = result;
            if result.status != PushStatus::Rejected {
                // where it landed when it was written (None: recorded before positions were)
                result.feed_seq = feed_seq;
            }
            last_seq = last_seq.max(change.device_seq);
            results.push(result);
            continue;
        }
        let result = apply_one(
            &mut tx,
            &mut deferred,
            tenant_id,
            change,
            state.max_clock_ahead_ms,
        )
        .await?;
        deferred.record(change, &result, hash);
        last_seq = change.device_seq;
        results.push(result);
    }
    deferred.write_stamps(&mut tx, tenant_id).await?;
    sqlx::query(
        "update app.device_progress set last_seq = $2, updated_at = now() where device_id = $1",
    )
    .bind(device_id)
    .bind(last_seq)
    .execute(&mut *tx)
    .await?;
    // The feed transaction these writes landed in (set by the feed trigger, if anything was written).
    let feed_seq: Option<i64> = sqlx::query_scalar(
        "select nullif(current_setting('pms.feed_seq_' || replace($1::text, '-', ''), true), '')::bigint",
    )
    .bind(tenant_id)
    .fetch_one(&mut *tx)
    .await?;
    deferred
        .write_results(&mut tx, device_id, tenant_id, feed_seq)
        .await?;
    for result in &mut results {
        if result.status != PushStatus::Rejected && !result.replayed {
            result.feed_seq = feed_seq;
        }
    }
    // A retry answered from recorded results still tells where its changes landed: the recorded
    // position, or (a result recorded before positions were) the feed's head, which is at or
    // after it. Without a position the laptop would drop the changes before the pull brought them.
    let unplaced = |r: &PushResult| r.status != PushStatus::Rejected && r.feed_seq.is_none();
    if results.iter().any(|r| r.replayed && unplaced(r)) {
        let head: Option<i64> = sqlx::query_scalar("select max(seq) from app.changes")
            .fetch_one(&mut *tx)
            .await?;
        for result in results.iter_mut().filter(|r| r.replayed) {
            if unplaced(result) {
                result.feed_seq = head;
            }
        }
    }
    let feed_seq = results
        .iter()
        .filter_map(|r| r.feed_seq)
        .max()
        .max(feed_seq);
    // The newest write of any row this push touched, its own included: a laptop told that its
    // delete lost to a later edit must stamp its next try after that edit.
    let mut touched: BTreeMap<&str, Vec<Uuid>> = BTreeMap::new();
    for change in changes {
        if let Some(table) = synced_table(&change.table) {
            touched.entry(table.name).or_default().push(change.id);
        }
    }
    let mut clock = None;
    for (table, ids) in touched {
        clock = clock.max(newest_stamp(&mut tx, tenant_id, table, &ids).await?);
    }
    tx.commit().await?;
    Ok(PushResponse {
        results,
        feed_seq,
        clock,
        server_time_ms: None,
    })
}

/// What a push leaves to its end, so a change costs its own write and little more: the results
/// to record and the field-group stamps to keep are each written in one statement, and a
/// change's savepoint is released in the round trip that opens the next one.
#[derive(Default)]
struct Deferred {
    /// Whether the savepoint `change` is open (left open after a change, released by the next).
    savepoint_open: bool,
    /// Stamps of the groups written, by row, newest last: what `app.row_clocks` gains at the end.
    stamps: BTreeMap<(&'static str, Uuid), BTreeMap<GroupKey, Hlc>>,
    /// The answers to record in `app.change_results`.
    results: Vec<ResultRow>,
}

/// A change's answer as `app.change_results` records it.
struct ResultRow {
    device_seq: i64,
    change_id: Uuid,
    status: PushStatus,
    reason: Option<String>,
    message: Option<String>,
    conflicts: serde_json::Value,
    body_hash: String,
}

impl Deferred {
    /// Opens the savepoint a change runs in, releasing the one before it in the same round trip.
    async fn savepoint(&mut self, tx: &mut PgConnection) -> Result<(), sqlx::Error> {
        let statement = if self.savepoint_open {
            "release savepoint change; savepoint change"
        } else {
            "savepoint change"
        };
        // without arguments: the simple protocol, which takes the two statements in one message
        sqlx::Executor::execute(tx, statement).await?;
        self.savepoint_open = true;
        Ok(())
    }

    /// Keeps the stamps of the groups a change wrote (newer stamps replace older ones per group,
    /// as the stored `||` does).
    fn save_stamps(&mut self, table: &'static str, id: Uuid, stamps: BTreeMap<GroupKey, Hlc>) {
        if !stamps.is_empty() {
            self.stamps.entry((table, id)).or_default().extend(stamps);
        }
    }

    /// A row's stored stamps with what this push wrote over them.
    fn overlay(&self, table: &'static str, id: Uuid, stored: &mut BTreeMap<GroupKey, Hlc>) {
        if let Some(written) = self.stamps.get(&(table, id)) {
            stored.extend(written.iter().map(|(group, stamp)| (group.clone(), *stamp)));
        }
    }

    fn record(&mut self, change: &PushChange, result: &PushResult, body_hash: String) {
        self.results.push(ResultRow {
            device_seq: change.device_seq,
            change_id: change.change_id,
            status: result.status,
            reason: result.reason.clone(),
            message: result.message.clone(),
            conflicts: serde_json::to_value(&result.conflicts)
                .unwrap_or_else(|_| serde_json::json!([])),
            body_hash,
        });
    }

    /// The answer given earlier in this push to device number `device_seq`, as it will be recorded.
    fn result_of(&self, device_seq: i64) -> Option<RecordedResult> {
        let row = self.results.iter().find(|r| r.device_seq == device_seq)?;
        Some((
            row.change_id,
            status_text(row.status).to_owned(),
            row.reason.clone(),
            row.message.clone(),
            row.conflicts.clone(),
            Some(row.body_hash.clone()),
            None,
        ))
    }

    /// Writes the stamps kept, one row per row written.
    async fn write_stamps(
        &mut self,
        tx: &mut PgConnection,
        tenant_id: Uuid,
    ) -> Result<(), sqlx::Error> {
        if self.stamps.is_empty() {
            return Ok(());
        }
        let stamps = std::mem::take(&mut self.stamps);
        let mut tables = Vec::with_capacity(stamps.len());
        let mut ids = Vec::with_capacity(stamps.len());
        let mut values = Vec::with_capacity(stamps.len());
        for ((table, id), groups) in stamps {
            tables.push(table);
            ids.push(id);
            values.push(serde_json::to_value(groups).unwrap_or_default());
        }
        sqlx::query(
            "insert into app.row_clocks (tenant_id, table_name, row_id, group_stamps)
             select $1, t, r, s from unnest($2::text[], $3::uuid[], $4::jsonb[]) as u(t, r, s)
             on conflict (tenant_id, table_name, row_id)
             do update set group_stamps = app.row_clocks.group_stamps || excluded.group_stamps, updated_at = now()",
        )
        .bind(tenant_id)
        .bind(&tables)
        .bind(&ids)
        .bind(&values)
        .execute(tx)
        .await?;
        Ok(())
    }

    /// Records every answer with the device's number; what was written is at `feed_seq` (the
    /// push's feed transaction), what was refused is nowhere in the feed.
    async fn write_results(
        &mut self,
        tx: &mut PgConnection,
        device_id: Uuid,
        tenant_id: Uuid,
        feed_seq: Option<i64>,
    ) -> Result<(), sqlx::Error> {
        if self.results.is_empty() {
            return Ok(());
        }
        let results = std::mem::take(&mut self.results);
        let count = results.len();
        let (mut seqs, mut change_ids, mut statuses) = (
            Vec::with_capacity(count),
            Vec::with_capacity(count),
            Vec::with_capacity(count),
        );
        let (mut reasons, mut messages, mut conflicts, mut hashes, mut feed_seqs) = (
            Vec::with_capacity(count),
            Vec::with_capacity(count),
            Vec::with_capacity(count),
            Vec::with_capacity(count),
            Vec::with_capacity(count),
        );
        for row in results {
            seqs.push(row.device_seq);
            change_ids.push(row.change_id);
            statuses.push(status_text(row.status));
            feed_seqs.push(match row.status {
                PushStatus::Rejected => None,
                _ => feed_seq,
            });
            conflicts.push(row.conflicts);
            reasons.push(row.reason);
            messages.push(row.message);
            hashes.push(row.body_hash);
        }
        sqlx::query(
            "insert into app.change_results (device_id, device_seq, tenant_id, change_id, status, reason, message,
                                             conflicts, body_hash, feed_seq)
             select $1, seq, $2, change_id, status, reason, message, conflicts, body_hash, feed_seq
               from unnest($3::bigint[], $4::uuid[], $5::text[], $6::text[], $7::text[], $8::jsonb[], $9::text[], $10::bigint[])
                    as u(seq, change_id, status, reason, message, conflicts, body_hash, feed_seq)",
        )
        .bind(device_id)
        .bind(tenant_id)
        .bind(&seqs)
        .bind(&change_ids)
        .bind(&statuses)
        .bind(&reasons)
        .bind(&messages)
        .bind(&conflicts)
        .bind(&hashes)
        .bind(&feed_seqs)
        .execute(tx)
        .await?;
        Ok(())
    }
}

/// How `app.change_results` names a status.
fn status_text(status: PushStatus) -> &'static str {
    match status {
        PushStatus::Applied => "applied",
        PushStatus::Merged => "merged",
        PushStatus::Rejected => "rejected",
    }
}

/// A row of `app.change_results`: change id, status, reason, message, conflicts, body hash,
/// feed position.
type RecordedResult = (
    Uuid,
    String,
    Option<String>,
    Option<String>,
    serde_json::Value,
    Option<String>,
    Option<i64>,
);

/// The server's current row of the row a change names, if the table is synced.
async fn changed_row(
    tx: &mut PgConnection,
    change: &PushChange,
) -> Result<Option<serde_json::Value>, sqlx::Error> {
    match synced_table(&change.table) {
        Some(table) => current_row(tx, table.name, change.id).await,
        None => Ok(None),
    }
}

/// SHA-256 (hex) of what a change says, to tell a true retry from a reused number.
fn body_hash(change: &PushChange) -> String {
    use sha2::{Digest, Sha256};
    let body = serde_json::json!({
        "table": change.table,
        "op": change.op,
        "id": change.id,
        "values": change.values,
        "base": change.base,
        "stamp": change.stamp,
    });
    hex::encode(Sha256::digest(body.to_string().as_bytes()))
}

const SELECT_RECORDED: &str =
    "select change_id, status, reason, message, conflicts, body_hash, feed_seq from app.change_results";

/// The recorded results of a push's changes, by change id, from any device of the tenant (one
/// query for the batch).
async fn recorded_by_change_id(
    tx: &mut Transaction<'static, Postgres>,
    tenant_id: Uuid,
    changes: &[PushChange],
) -> Result<BTreeMap<Uuid, RecordedResult>, sqlx::Error> {
    let ids: Vec<Uuid> = changes.iter().map(|c| c.change_id).collect();
    let recorded: Vec<RecordedResult> = sqlx::query_as(&format!(
        "{SELECT_RECORDED} where tenant_id = $1 and change_id = any($2) order by created_at desc"
    ))
    .bind(tenant_id)
    .bind(&ids)
    .fetch_all(&mut **tx)
    .await?;
    // The oldest record wins: it is the answer given the first time.
    Ok(recorded.into_iter().map(|r| (r.0, r)).collect())
}

/// The answer given the first time this change was pushed, and where it landed in the feed:
/// found by this device's sequence number, else by the change's id (`known`, sent before by
/// another device of the tenant).
async fn recorded_result(
    tx: &mut Transaction<'static, Postgres>,
    device_id: Uuid,
    change: &PushChange,
    hash: &str,
    results_pruned_through: i64,
    known: Option<&RecordedResult>,
) -> Result<(PushResult, Option<i64>), ApiError> {
    let by_sequence: Option<RecordedResult> = sqlx::query_as(&format!(
        "{SELECT_RECORDED} where device_id = $1 and device_seq = $2"
    ))
    .bind(device_id)
    .bind(change.device_seq)
    .fetch_optional(&mut **tx)
    .await?;
    let recorded = by_sequence.or_else(|| known.cloned());
    let refused = |reason: &str, message: &str, server_row| PushResult {
        change_id: change.change_id,
        device_seq: change.device_seq,
        status: PushStatus::Rejected,
        reason: Some(reason.to_owned()),
        message: Some(message.to_owned()),
        server_row,
        replayed: false,
        conflicts: Vec::new(),
        feed_seq: None,
    };
    Ok(match recorded {
        Some((change_id, _, _, _, _, Some(recorded_hash), _))
            if change_id == change.change_id && recorded_hash != hash =>
        {
            // The same change said something else the first time: a client defect, refused
            // rather than answered with the result of another body.
            (
                refused(
                    "bad_request",
                    "this change was sent before with different content; it is kept here for review",
                    changed_row(tx, change).await?,
                ),
                None,
            )
        }
        Some((change_id, status, reason, message, conflicts, _, feed_seq))
            if change_id == change.change_id =>
        {
            // A change that did not apply as sent comes back with the row as it is now, as
            // the first answer did.
            let server_row = match status.as_str() {
                "applied" => None,
                _ => changed_row(tx, change).await?,
            };
            (
                PushResult {
                    change_id,
                    device_seq: change.device_seq,
                    status: match status.as_str() {
                        "applied" => PushStatus::Applied,
                        "merged" => PushStatus::Merged,
                        _ => PushStatus::Rejected,
                    },
                    reason,
                    message,
                    server_row,
                    replayed: true,
                    conflicts: serde_json::from_value(conflicts).unwrap_or_default(),
                    feed_seq: None,
                },
                feed_seq,
            )
        }
        // Dealt with so long ago that retention removed its result: what became of it is no
        // longer known, so it goes to the laptop's inbox with the row as it is now.
        None if change.device_seq <= results_pruned_through => (
            refused(
                "result_expired",
                "this change was sent long ago and the server no longer keeps its result; compare it with the row as it is now",
                changed_row(tx, change).await?,
            ),
            None,
        ),
        // A number already used by another change: the outbox is out of order or reused.
        _ => (
            refused(
                "out_of_order",
                "this device sequence number was already used by another change",
                None,
            ),
            None,
        ),
    })
}

/// The answer to a change applied as sent.
fn applied(change: &PushChange) -> PushResult {
    PushResult {
        change_id: change.change_id,
        device_seq: change.device_seq,
        status: PushStatus::Applied,
        reason: None,
        message: None,
        server_row: None,
        replayed: false,
        conflicts: Vec::new(),
        feed_seq: None,
    }
}

async fn apply_one(
    tx: &mut Transaction<'static, Postgres>,
    deferred: &mut Deferred,
    tenant_id: Uuid,
    change: &PushChange,
    max_clock_ahead_ms: i64,
) -> Result<PushResult, ApiError> {
    let cap_stamp = |stamp: Hlc| {
        cap(
            stamp,
            chrono::Utc::now().timestamp_millis(),
            max_clock_ahead_ms,
        )
    };
    let rejected = |reason: &str, message: String| PushResult {
        change_id: change.change_id,
        device_seq: change.device_seq,
        status: PushStatus::Rejected,
        reason: Some(reason.to_owned()),
        message: Some(message),
        server_row: None,
        replayed: false,
        conflicts: Vec::new(),
        feed_seq: None,
    };
    let Some(table) = synced_table(&change.table) else {
        return Ok(rejected(
            "unknown_table",
            format!("{:?} is not a synced table", change.table),
        ));
    };
    if let Some(column) = change
        .values
        .keys()
        .find(|c| !table.columns.contains(&c.as_str()))
    {
        return Ok(rejected(
            "invalid_value",
            format!("{column:?} is not a synced column of {}", table.name),
        ));
    }
    // Every update and delete goes through the merge rules. A change without a stamp (an outbox
    // entry from before stamps existed, or a hand-made request) counts as the oldest edit of all:
    // it never beats a stamped write, and the status machine and erasure still hold for it.
    let stamp = change.stamp.map_or(OLDEST_STAMP, cap_stamp);
    if change.op == PushOp::Update {
        return merge_and_write(tx, deferred, tenant_id, table.name, change, stamp).await;
    }
    if change.op == PushOp::Delete {
        let mut stamps = load_stamps(tx, tenant_id, table.name, change.id).await?;
        deferred.overlay(table.name, change.id, &mut stamps);
        if let Err(reason) = merge::merge_delete(table.name, Some(stamp), &stamps) {
            let mut result = rejected(
                &reason.to_string(),
                match reason {
                    merge::RejectReason::EditedElsewhere => {
                        "the row was changed elsewhere after it was deleted here".to_owned()
                    }
                    _ => "the server does not take this delete from a laptop".to_owned(),
                },
            );
            result.server_row = current_row(tx, table.name, change.id).await?;
            return Ok(result);
        }
    }
    deferred.savepoint(tx).await?;
    let outcome = write(tx, tenant_id, table.name, change).await;
    if let (Ok(1), PushOp::Insert, Some(stamp)) = (&outcome, change.op, change.stamp) {
        let values: Values = change.values.clone().into_iter().collect();
        let stamps = merge::insert_group_stamps(table.name, &values, cap_stamp(stamp));
        deferred.save_stamps(table.name, change.id, stamps);
    }
    match outcome {
        // the savepoint is released by the next change's, or by the commit
        Ok(1) => Ok(applied(change)),
        Ok(_) => {
            sqlx::query("rollback to savepoint change")
                .execute(&mut **tx)
                .await?;
            Ok(rejected(
                "not_found",
                format!(
                    "no {} row {} is visible to this account",
                    table.name, change.id
                ),
            ))
        }
        Err(sqlx::Error::Database(error))
            if change.op == PushOp::Insert
                && merge::same_id_is_same_row(table.name)
                && error.code().as_deref() == Some("23505")
                && error.constraint() == Some(format!("{}_pkey", table.name).as_str()) =>
        {
            // A ledger entry (or a stay's guest folio) with this id exists: derived from the same
            // event by another laptop (deterministic ids), already applied; not a conflict.
            sqlx::query("rollback to savepoint change")
                .execute(&mut **tx)
                .await?;
            Ok(PushResult {
                message: Some("already recorded".to_owned()),
                ..applied(change)
            })
        }
        Err(sqlx::Error::Database(error)) if is_retry_later(error.code().as_deref()) => {
            Err(sqlx::Error::Database(error).into())
        }
        Err(sqlx::Error::Database(error)) => {
            sqlx::query("rollback to savepoint change")
                .execute(&mut **tx)
                .await?;
            let (reason, message) = refusal(error.code().as_deref(), error.constraint());
            let mut result = rejected(reason, message.to_owned());
            result.server_row = current_row(tx, table.name, change.id).await?;
            Ok(result)
        }
        Err(other) => Err(other.into()),
    }
}

/// Writes one change; returns the rows it touched.
async fn write(
    tx: &mut PgConnection,
    tenant_id: Uuid,
    table: &'static str,
    change: &PushChange,
) -> Result<u64, sqlx::Error> {
    let values = written_values(tenant_id, table, change);
    let columns: Vec<String> = values.keys().map(|c| format!("\"{c}\"")).collect();
    let columns = columns.join(", ");
    let record = serde_json::Value::Object(values);
    // Column names were checked against the compiled-in list of synced columns.
    let statement = match change.op {
        PushOp::Insert => format!(
            "insert into public.{table} ({columns}) select {columns} from jsonb_populate_record(null::public.{table}, $1)"
        ),
        PushOp::Update => {
            let changed: Vec<String> =
                change.values.keys().filter(|c| *c != "id" && *c != "tenant_id").map(|c| format!("\"{c}\"")).collect();
            if changed.is_empty() {
                return Ok(1);
            }
            let changed = changed.join(", ");
            format!(
                "update public.{table} t set ({changed}) = (select {changed} from jsonb_populate_record(null::public.{table}, $1))
                  where t.id = $2"
            )
        }
        PushOp::Delete => format!("delete from public.{table} where id = $1"),
    };
    let query = sqlx::query(&statement);
    let query = match change.op {
        PushOp::Insert => query.bind(record),
        PushOp::Update => query.bind(record).bind(change.id),
        PushOp::Delete => query.bind(change.id),
    };
    let result = query.execute(tx).await?;
    Ok(result.rows_affected())
}

/// The values a change writes: its own (an insert's without the server's columns), its id, and
/// the caller's tenant unless it names one.
fn written_values(
    tenant_id: Uuid,
    table: &'static str,
    change: &PushChange,
) -> serde_json::Map<String, serde_json::Value> {
    let mut values = change.values.clone();
    if change.op == PushOp::Insert {
        // Numbers, balances and paid amounts are the server's: an insert that carries them (a
        // local hotel's own booking numbers) has them dropped, as the merge drops them from
        // updates, instead of failing on the column grants.
        values.retain(|column, _| {
            merge::column_kind(table, column).is_some_and(merge::ColumnKind::taken_on_insert)
        });
    }
    values.insert("id".to_owned(), serde_json::json!(change.id));
    // The tenant comes from the token; a different one in the body is left for RLS to refuse.
    values
        .entry("tenant_id".to_owned())
        .or_insert_with(|| serde_json::json!(tenant_id));
    values
}

/// The machine-readable reason for a refusal by the database.
fn refusal(sqlstate: Option<&str>, constraint: Option<&str>) -> (&'static str, &'static str) {
    match (sqlstate, constraint) {
        (Some("23P01"), _) => (
            "room_unavailable",
            "the room is already taken for some of these nights",
        ),
        (Some("23514"), Some("loyalty_transactions_balance_after_check")) => (
            "insufficient_points",
            "the member does not have enough points for this redemption",
        ),
        (Some("23514"), Some("loyalty_transactions_stay_checked_out")) => (
            "stay_not_checked_out",
            "points for a stay are earned once its check-out is accepted, and it was not",
        ),
        (
            Some("23514"),
            Some("folio_entries_no_card_number_check" | "folios_no_card_number_check"),
        ) => (
            "card_number",
            "this looks like a card number: card numbers are never written down here; \
             remove it (keep only the last four digits or the payment provider's reference)",
        ),
        (Some("23514"), Some("folio_entries_folio_closed")) => (
            "folio_closed",
            "the folio is closed and takes no new entries: post to an open folio",
        ),
        (Some("23514"), Some("guest_invoices_number_gapless")) => (
            "invoice_number_gap",
            "an invoice number follows one the server has not received: send the series in order",
        ),
        (Some("23514"), Some("guest_invoices_own_series")) => (
            "invoice_series_not_yours",
            "a laptop numbers guest invoices only in its own series",
        ),
        (Some("23514"), Some("guest_invoices_no_card_number_check")) => (
            "card_number",
            "this looks like a card number: card numbers are never written down here",
        ),
        (Some("23514"), _) | (Some("22P02" | "22007" | "22008" | "22003" | "23502"), _) => (
            "invalid_value",
            "a value is missing, out of range or not allowed",
        ),
        (Some("23505"), _) => ("duplicate_key", "a row with the same key already exists"),
        (Some("23503"), _) => (
            "missing_reference",
            "the change refers to a row that does not exist",
        ),
        (Some("42501"), _) => ("forbidden", "this account may not make this change"),
        _ => ("invalid_value", "the change could not be applied"),
    }
}

/// The server's current row (synced columns), as the device may see it.
async fn current_row(
    tx: &mut PgConnection,
    table: &'static str,
    id: Uuid,
) -> Result<Option<serde_json::Value>, sqlx::Error> {
    let Some(synced) = synced_table(table) else {
        return Ok(None);
    };
    let statement = format!(
        "select to_jsonb(r) from (select {} from public.{} where id = $1) r",
        synced.columns.join(", "),
        synced.name,
    );
    sqlx::query_scalar(&statement)
        .bind(id)
        .fetch_optional(tx)
        .await
}

/// The stamps of the last write of each field group of a row.
async fn load_stamps(
    tx: &mut PgConnection,
    tenant_id: Uuid,
    table: &str,
    id: Uuid,
) -> Result<BTreeMap<GroupKey, Hlc>, sqlx::Error> {
    let stored: Option<serde_json::Value> = sqlx::query_scalar(
        "select group_stamps from app.row_clocks where tenant_id = $1 and table_name = $2 and row_id = $3",
    )
    .bind(tenant_id)
    .bind(table)
    .bind(id)
    .fetch_optional(tx)
    .await?;
    Ok(parse_stamps(stored))
}

/// Stored group stamps; unreadable ones count as none (the row's groups are then older than any
/// edit).
fn parse_stamps(stored: Option<serde_json::Value>) -> BTreeMap<GroupKey, Hlc> {
    stored
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default()
}

/// The newest stamp among the field-group clocks of rows `ids` of `table`: what an answer that
/// carries (or touched) those rows tells the laptop's clock (`PullResponse::clock`).
pub(super) async fn newest_stamp(
    tx: &mut PgConnection,
    tenant_id: Uuid,
    table: &str,
    ids: &[Uuid],
) -> Result<Option<Hlc>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(None);
    }
    // The text form sorts like the stamps, so the greatest text is the newest stamp.
    let newest: Option<String> = sqlx::query_scalar(
        "select max(s.stamp) from app.row_clocks c cross join lateral jsonb_each_text(c.group_stamps) s(grp, stamp)
          where c.tenant_id = $1 and c.table_name = $2 and c.row_id = any($3)",
    )
    .bind(tenant_id)
    .bind(table)
    .bind(ids)
    .fetch_one(tx)
    .await?;
    Ok(newest.and_then(|text| text.parse().ok()))
}

/// The row a change updates, locked until the push ends, with the stamps of its groups' last
/// writes (one round trip); `None` when no such row is visible.
async fn locked_row_and_stamps(
    tx: &mut PgConnection,
    tenant_id: Uuid,
    table: &'static str,
    id: Uuid,
) -> Result<Option<(serde_json::Value, BTreeMap<GroupKey, Hlc>)>, sqlx::Error> {
    let Some(synced) = synced_table(table) else {
        return Ok(None);
    };
    let statement = format!(
        "select to_jsonb(r), (select c.group_stamps from app.row_clocks c
                               where c.tenant_id = $2 and c.table_name = $3 and c.row_id = $1)
           from (select {} from public.{} where id = $1 for update) r",
        synced.columns.join(", "),
        synced.name,
    );
    let row: Option<(serde_json::Value, Option<serde_json::Value>)> = sqlx::query_as(&statement)
        .bind(id)
        .bind(tenant_id)
        .bind(table)
        .fetch_optional(tx)
        .await?;
    Ok(row.map(|(values, stamps)| (values, parse_stamps(stamps))))
}

/// An update as the merge rules take it, with its stamp (already capped).
fn incoming_update(table: &'static str, change: &PushChange, stamp: Hlc) -> IncomingUpdate {
    IncomingUpdate {
        table: table.to_owned(),
        id: change.id,
        changed: change.values.clone().into_iter().collect(),
        base: change.base.clone().into_iter().collect(),
        stamp,
    }
}

/// An update with a clock stamp (already capped): merged against the row's current values and group stamps, then
/// written (what survived of it) through the database's constraints.
async fn merge_and_write(
    tx: &mut Transaction<'static, Postgres>,
    deferred: &mut Deferred,
    tenant_id: Uuid,
    table: &'static str,
    change: &PushChange,
    stamp: Hlc,
) -> Result<PushResult, ApiError> {
    let mut result = applied(change);
    deferred.savepoint(tx).await?;
    let locked = match locked_row_and_stamps(tx, tenant_id, table, change.id).await {
        Ok(row) => row,
        Err(sqlx::Error::Database(error)) if is_retry_later(error.code().as_deref()) => {
            return Err(sqlx::Error::Database(error).into())
        }
        Err(sqlx::Error::Database(error)) => {
            // e.g. no right to update this table at all
            sqlx::query("rollback to savepoint change")
                .execute(&mut **tx)
                .await?;
            let (reason, message) = refusal(error.code().as_deref(), error.constraint());
            result.status = PushStatus::Rejected;
            result.reason = Some(reason.to_owned());
            result.message = Some(message.to_owned());
            return Ok(result);
        }
        Err(other) => return Err(other.into()),
    };
    let Some((serde_json::Value::Object(current), mut group_stamps)) = locked else {
        sqlx::query("rollback to savepoint change")
            .execute(&mut **tx)
            .await?;
        result.status = PushStatus::Rejected;
        result.reason = Some("not_found".to_owned());
        result.message = Some(format!(
            "no {table} row {} is visible to this account",
            change.id
        ));
        return Ok(result);
    };
    let incoming = incoming_update(table, change, stamp);
    deferred.overlay(table, change.id, &mut group_stamps);
    let server = ServerRow {
        values: current.into_iter().collect(),
        group_stamps,
    };
    match merge::merge_update(&incoming, &server) {
        Decision::Reject { reason } => {
            sqlx::query("rollback to savepoint change")
                .execute(&mut **tx)
                .await?;
            result.status = PushStatus::Rejected;
            result.reason = serde_json::to_value(reason)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned));
            result.message = Some("the server does not take this change from a laptop".to_owned());
            result.server_row = Some(serde_json::Value::Object(
                server.values.into_iter().collect(),
            ));
            Ok(result)
        }
        Decision::Apply {
            values,
            group_stamps,
            conflicts,
        } => {
            if !values.is_empty() {
                let merged = PushChange {
                    values: values.into_iter().collect(),
                    ..change.clone()
                };
                if let Err(error) = write(tx, tenant_id, table, &merged).await {
                    sqlx::query("rollback to savepoint change")
                        .execute(&mut **tx)
                        .await?;
                    let sqlx::Error::Database(error) = error else {
                        return Err(error.into());
                    };
                    if is_retry_later(error.code().as_deref()) {
                        return Err(sqlx::Error::Database(error).into());
                    }
                    let (reason, message) = refusal(error.code().as_deref(), error.constraint());
                    result.status = PushStatus::Rejected;
                    result.reason = Some(reason.to_owned());
                    result.message = Some(message.to_owned());
                    result.server_row = current_row(tx, table, change.id).await?;
                    return Ok(result);
                }
            }
            deferred.save_stamps(table, change.id, group_stamps);
            if !conflicts.is_empty() {
                result.status = PushStatus::Merged;
                result.conflicts = conflicts;
                result.server_row = current_row(tx, table, change.id).await?;
            }
            Ok(result)
        }
    }
}
