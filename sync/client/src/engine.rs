//! One round of sync: push the outbox, then pull the feed and rebase the changes still pending.
//!
//! - Push: pending outbox entries go up in device order. An applied change is marked acknowledged
//!   with the feed transaction it landed in; it stays in the outbox until the pull cursor has
//!   passed that transaction, so the screen never flickers back to the old value. A rejected
//!   change moves to the conflicts table with the server's row, and the mirror returns to the
//!   server's truth for that row; nothing rejected is dropped.
//! - Pull: pages of server rows overwrite the mirror, then every outbox entry not yet reflected
//!   is applied again on top, so the desk sees server truth plus its own unsent work.
//! - Re-snapshot: when the server no longer keeps the changes after the laptop's cursor
//!   (`cursor_expired`), or the staff role it reports differs from the one the mirror was filled
//!   under (the role is taken with the snapshot's head and checked again before the cursor is
//!   recorded), the mirror's server data is dropped and taken again; the outbox stays and is
//!   rebased.
//! - The mirror's truth: after any sync every row without a pending change equals the server's,
//!   and a row with one equals the server's row plus that change. A refusal that comes without
//!   the server's row has the row read again; a pending update of a row the server no longer
//!   has waits in the outbox (and then goes to the conflicts inbox) without showing a row.

use pms_sync_protocol::hlc::{Clock, SystemClock};
use pms_sync_protocol::merge::ConflictReason;
use pms_sync_protocol::tables::shape_id;
use pms_sync_protocol::wire::{
    Cursor, Op, PullResponse, PulledChange, PushChange, PushOp, PushRequest, PushResponse,
    PushResult, PushStatus, CURSOR_EXPIRED,
};
use pms_sync_protocol::PROTOCOL_VERSION;
use rusqlite::Connection;
use serde_json::Value;

use crate::error::Result;
use crate::mirror;
use crate::outbox;
use crate::remote::Remote;

/// The most changes pushed at once (the server takes up to 1,000).
pub const PUSH_BATCH: usize = 500;
/// The most bytes of one push's body: the server's limit. A batch is cut before a change that
/// would take it over, and a change over it on its own can never be sent: it goes to the
/// conflicts inbox as `too_large` (see [`push`]).
pub const PUSH_BATCH_BYTES: usize = pms_sync_protocol::wire::MAX_BODY_BYTES;
/// The conflict reason of a change too large for any push.
pub const TOO_LARGE: &str = "too_large";
/// Rows per pull page.
pub const PULL_PAGE: i64 = 1_000;
/// Rows of a pull page written per local transaction (the longest the desk's writes wait).
const APPLY_CHUNK: usize = 200;

/// What a round did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    pub pushed: usize,
    pub rejected: usize,
    pub pulled: usize,
}

/// Records the signed-in tenant so local inserts carry it.
///
/// A mirror that began on its own (the desktop app's embedded default: `local_tenant` = 1) has
/// its data adopted into the server's tenant: the tenant id is rewritten in every row and in
/// every outbox change, which then go up as inserts like any other; nothing is lost. A mirror
/// that already belongs to another server tenant is refused rather than mixed.
pub fn remember_session(conn: &mut Connection, tenant_id: uuid::Uuid) -> Result<()> {
    let new = tenant_id.to_string();
    let current = mirror::state(conn, "tenant_id")?;
    let local = mirror::state(conn, "local_tenant")?.as_deref() == Some("1");
    match current {
        Some(old) if old != new && local => adopt_local_tenant(conn, &old, &new),
        Some(old) if old != new => Err(crate::Error::OtherTenant),
        _ => mirror::set_state(conn, "tenant_id", &new),
    }
}

/// Rewrites the local tenant's id to the server tenant's, in the rows and the outbox, at once.
fn adopt_local_tenant(conn: &mut Connection, old: &str, new: &str) -> Result<()> {
    use pms_sync_protocol::tables::SYNCED_TABLES;
    let tx = mirror::write_transaction(conn)?;
    for table in SYNCED_TABLES {
        if table.columns.contains(&"tenant_id") {
            // Names come from the compiled-in list of synced tables.
            tx.execute(
                &format!(
                    "update {} set tenant_id = ?2 where tenant_id = ?1",
                    table.name
                ),
                [old, new],
            )?;
        }
    }
    for column in ["values_json", "base_json"] {
        tx.execute(
            &format!(
                "update outbox set {column} = json_set({column}, '$.tenant_id', ?2)
                  where json_extract({column}, '$.tenant_id') = ?1"
            ),
            [old, new],
        )?;
    }
    crate::sole_writer::keep_local_numbers(&tx)?;
    mirror::set_state(&tx, "tenant_id", new)?;
    tx.execute("delete from sync_state where key = 'local_tenant'", [])?;
    tx.commit()?;
    Ok(())
}

/// Forgets the mirror's copy of the server's data so the next sync takes a new snapshot: after
/// the server's retention of sync state passed this laptop's cursor, or when the staff role
/// changed what it may read. The outbox and the conflicts inbox are kept, and pending changes
/// are applied again at once so the desk still sees its own work.
pub fn reset_for_snapshot(conn: &mut Connection) -> Result<()> {
    use pms_sync_protocol::tables::SYNCED_TABLES;
    let tx = mirror::write_transaction(conn)?;
    for table in SYNCED_TABLES {
        tx.execute(&format!("delete from {}", table.name), [])?;
    }
    tx.execute(
        "delete from sync_state where key in ('initial_sync_done', 'snapshot_seq', 'snapshot_change_no',
                 'snapshot_table', 'snapshot_after_id', 'cursor_seq', 'cursor_change_no', 'staff_role',
                 'snapshot_global_seq', 'snapshot_global_change_no', 'global_cursor_seq',
                 'global_cursor_change_no', 'snapshot_shape')",
        [],
    )?;
    // Acknowledged changes are on the server before the new snapshot's head is taken, so the
    // snapshot holds them (or what came after them: a row deleted since must not come back).
    tx.execute("delete from outbox where status = 'acked'", [])?;
    rebase(&tx)?;
    tx.commit()?;
    Ok(())
}

/// Rows per snapshot page of the initial sync.
pub const SNAPSHOT_PAGE: i64 = 1_000;

/// How far the initial sync has come, for a progress bar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    pub table: &'static str,
    pub tables_done: usize,
    pub tables_total: usize,
    pub rows: u64,
    /// Whether these rows are committed with their position (a crash now resumes after them);
    /// a page may wait in its transaction for the pages after it.
    pub committed: bool,
}

/// The first sync of a laptop: take the feed's head first, copy every table page by page (the
/// pages committed with their position, so a crash resumes at the last commit), then replay the
/// feed from that head. `on_progress` is called after every page; returning false stops, keeping
/// every page written (and a later
/// call resumes). Once the snapshot is complete, only the feed is pulled.
pub async fn initial_sync(
    conn: &mut Connection,
    remote: &Remote,
    mut on_progress: impl FnMut(&Progress) -> bool,
) -> Result<SyncReport> {
    let mut report = SyncReport::default();
    catch_up(conn, remote, &mut on_progress, &mut report).await?;
    Ok(report)
}

/// Takes the snapshot if the mirror has none, then pulls the feed; starts over from a new
/// snapshot when the server says the mirror's copy can no longer be brought up to date.
async fn catch_up(
    conn: &mut Connection,
    remote: &Remote,
    on_progress: &mut impl FnMut(&Progress) -> bool,
    report: &mut SyncReport,
) -> Result<()> {
    if shape_changed(conn)? {
        reset_for_snapshot(conn)?;
    }
    loop {
        if snapshot(conn, remote, on_progress, report).await? == SnapshotEnd::RoleChanged {
            reset_for_snapshot(conn)?;
            continue;
        }
        match pull(conn, remote, report, 0).await? {
            PullEnd::UpToDate => return Ok(()),
            PullEnd::SnapshotNeeded => reset_for_snapshot(conn)?,
        }
    }
}

/// The state key of the [`shape_id`] the mirror's snapshot was (or is being) taken under.
pub const SNAPSHOT_SHAPE_KEY: &str = "snapshot_shape";

/// Whether the mirror holds a snapshot (whole or in part) taken under another set of synced
/// tables and columns than this build's: the desk was upgraded to one that mirrors more. The
/// rows and values the server already had of what is new are in no later feed entry, so the
/// mirror must be filled again (its outbox kept). A mirror from before the shape was recorded
/// counts as changed.
fn shape_changed(conn: &Connection) -> Result<bool> {
    let started = mirror::state(conn, "initial_sync_done")?.is_some()
        || mirror::state(conn, "snapshot_seq")?.is_some();
    let taken_under = mirror::state(conn, SNAPSHOT_SHAPE_KEY)?;
    Ok(started && taken_under != Some(shape_id().to_string()))
}

/// How a snapshot ended.
#[derive(Debug, PartialEq, Eq)]
enum SnapshotEnd {
    /// The mirror holds it (or already did), with the cursor at its head.
    Complete,
    /// The staff role changed while the pages were read: some were read under the old role,
    /// so the snapshot must be taken again. Nothing was recorded as complete.
    RoleChanged,
}

/// The snapshot part of [`initial_sync`]; leaves the cursor at the head it was taken at.
async fn snapshot(
    conn: &mut Connection,
    remote: &Remote,
    on_progress: &mut impl FnMut(&Progress) -> bool,
    report: &mut SyncReport,
) -> Result<SnapshotEnd> {
    if mirror::state(conn, "initial_sync_done")?.as_deref() == Some("1") {
        return Ok(SnapshotEnd::Complete);
    }
    let head = match (
        mirror::state(conn, "snapshot_seq")?,
        mirror::state(conn, "snapshot_change_no")?,
    ) {
        (Some(seq), Some(change_no)) => Cursor {
            seq: seq.parse().unwrap_or(0),
            change_no: change_no.parse().unwrap_or(0),
        },
        _ => {
            let head = remote.head_with_role().await?;
            let tx = mirror::write_transaction(conn)?;
            mirror::set_state(&tx, "snapshot_seq", &head.cursor.seq.to_string())?;
            mirror::set_state(
                &tx,
                "snapshot_change_no",
                &head.cursor.change_no.to_string(),
            )?;
            // The global feed's head too (plans, platform flags), replayed from it likewise.
            if let Some(global) = head.global_cursor {
                mirror::set_state(&tx, "snapshot_global_seq", &global.seq.to_string())?;
                mirror::set_state(
                    &tx,
                    "snapshot_global_change_no",
                    &global.change_no.to_string(),
                )?;
            }
            // The role the pages are read under (a resumed snapshot keeps it).
            if let Some(role) = &head.staff_role {
                mirror::set_state(&tx, "staff_role", role)?;
            }
            // And the tables and columns they are read with.
            mirror::set_state(&tx, SNAPSHOT_SHAPE_KEY, &shape_id().to_string())?;
            tx.commit()?;
            head.cursor
        }
    };
    let rows = copy_tables(conn, remote, on_progress).await?;
    // A role changed while the pages were read leaves rows the new role may not read (a desk
    // demoted to housekeeping keeping every guest), and no later change in the feed removes
    // them: the role must still be the one the snapshot began under before the cursor is set.
    if let Some(held) = mirror::state(conn, "staff_role")? {
        let now = remote.head_with_role().await?;
        if now.staff_role.is_some_and(|role| role != held) {
            return Ok(SnapshotEnd::RoleChanged);
        }
    }
    // The snapshot is in; the feed from the head it was taken at brings it up to date.
    let tx = mirror::write_transaction(conn)?;
    mirror::set_state(&tx, "cursor_seq", &head.seq.to_string())?;
    mirror::set_state(&tx, "cursor_change_no", &head.change_no.to_string())?;
    let global_head = stored_cursor(&tx, "snapshot_global_seq", "snapshot_global_change_no")?;
    mirror::set_state(&tx, "global_cursor_seq", &global_head.seq.to_string())?;
    mirror::set_state(
        &tx,
        "global_cursor_change_no",
        &global_head.change_no.to_string(),
    )?;
    mirror::set_state(&tx, "initial_sync_done", "1")?;
    // Changes acknowledged at or before the head are in the pages (read after it). Applied again
    // they would put this laptop's value back over what another desk wrote after them and before
    // the page was read, and no later feed entry would correct it: the round's push comes before
    // a re-snapshot, so this is every change that push sent.
    tx.execute(
        "delete from outbox where status = 'acked' and acked_seq <= ?1",
        [head.seq],
    )?;
    rebase(&tx)?;
    tx.commit()?;
    report.pulled += rows as usize;
    Ok(SnapshotEnd::Complete)
}

/// The most rows a snapshot writes in one transaction, and the longest it keeps one open: a
/// commit per page of 1,000 rows made SQLite flush the guest search index and the other indexes'
/// last pages a thousand times, and copy the WAL back into the database (waiting for the disk)
/// nearly as often. A clerk who wants to save meanwhile waits for one transaction at most, and
/// a crash loses no more than one: the position is committed with the rows.
const SNAPSHOT_TRANSACTION_ROWS: u64 = 20_000;
const SNAPSHOT_TRANSACTION_TIME: std::time::Duration = std::time::Duration::from_millis(250);

/// Copies every synced table's pages into the mirror from where the snapshot stands (a resumed
/// snapshot goes on from its last committed page); returns the rows written. WAL checkpoints
/// wait for the end: the copy writes the whole database once into the WAL, and copying it back
/// while it grows would write it twice more.
async fn copy_tables(
    conn: &mut Connection,
    remote: &Remote,
    on_progress: &mut impl FnMut(&Progress) -> bool,
) -> Result<u64> {
    let checkpoint_every: i64 =
        conn.pragma_query_value(None, "wal_autocheckpoint", |row| row.get(0))?;
    conn.pragma_update(None, "wal_autocheckpoint", 0)?;
    let copied = copy_pages(conn, remote, on_progress).await;
    if !conn.is_autocommit() {
        // an error between a page and its commit: what is open is not recorded as copied
        let _ = conn.execute_batch("rollback");
    }
    let restored = conn
        .pragma_update(None, "wal_autocheckpoint", checkpoint_every)
        .map_err(crate::Error::from)
        .and_then(|()| mirror::checkpoint(conn));
    // the copy's own error first: it says why the snapshot stopped
    let copied = copied?;
    restored?;
    Ok(copied)
}

async fn copy_pages(
    conn: &mut Connection,
    remote: &Remote,
    on_progress: &mut impl FnMut(&Progress) -> bool,
) -> Result<u64> {
    use pms_sync_protocol::tables::SYNCED_TABLES;
    let first_table: usize = mirror::state(conn, "snapshot_table")?
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut rows = 0u64;
    // The open transaction: when it began and the rows it holds. Begun and ended by statement
    // rather than held as a `Transaction`, which could not be kept across the awaits.
    let mut open: Option<(std::time::Instant, u64)> = None;
    for (index, table) in SYNCED_TABLES.iter().enumerate().skip(first_table) {
        let after = mirror::state(conn, "snapshot_after_id")?.and_then(|v| v.parse().ok());
        let columns = mirror::columns(conn, table.name)?;
        let mut pages = read_ahead(remote, table.name, after, columns.clone());
        loop {
            let received = pages.recv().await.unwrap_or_else(|| {
                Err(crate::Error::Data(
                    "the snapshot's reader stopped".to_owned(),
                ))
            });
            let ReadyPage { page, rows: ready } = match received {
                Ok(page) => page,
                Err(error) => {
                    // the pages written so far are whole, with their position: keep them
                    if open.is_some() {
                        conn.execute_batch("commit")?;
                    }
                    return Err(error);
                }
            };
            if open.is_none() {
                conn.execute_batch("begin immediate")?;
                open = Some((std::time::Instant::now(), 0));
            }
            outbox::observe_answer(conn, page.clock, page.server_time_ms, SystemClock.now_ms())?;
            mirror::upsert_ready_rows(conn, table.name, &columns, &ready)?;
            match page.next_after_id {
                Some(next) => mirror::set_state(conn, "snapshot_after_id", &next.to_string())?,
                None => {
                    mirror::set_state(conn, "snapshot_table", &(index + 1).to_string())?;
                    conn.execute("delete from sync_state where key = 'snapshot_after_id'", [])?;
                }
            }
            rows += ready.len() as u64;
            if let Some((since, held)) = &mut open {
                *held += ready.len() as u64;
                // (and at each table's end: a table done is a step the progress shows)
                if *held >= SNAPSHOT_TRANSACTION_ROWS
                    || since.elapsed() >= SNAPSHOT_TRANSACTION_TIME
                    || page.next_after_id.is_none()
                    || mirror::a_writer_is_waiting()
                {
                    conn.execute_batch("commit")?;
                    open = None;
                    mirror::let_waiting_writers_in();
                }
            }
            let progress = Progress {
                table: table.name,
                tables_done: index + usize::from(page.next_after_id.is_none()),
                tables_total: SYNCED_TABLES.len(),
                rows,
                committed: open.is_none(),
            };
            if !on_progress(&progress) {
                if open.is_some() {
                    conn.execute_batch("commit")?;
                }
                return Err(crate::Error::Interrupted);
            }
            if page.next_after_id.is_none() {
                break;
            }
        }
    }
    if open.is_some() {
        conn.execute_batch("commit")?;
    }
    Ok(rows)
}

/// Pages a snapshot's reader may hold ready beyond the one being written.
const READ_AHEAD_PAGES: usize = 2;

/// Reads `table`'s snapshot pages after `after` on the runtime, ahead of the caller: one
/// answer the server writes page after page (`/v1/sync/snapshot/stream`), or, from a server
/// without streams, page by page. Each page's rows are taken apart for the mirror there too
/// ([`mirror::ready_row`]), so the caller's thread, the one writing, only runs the statements.
/// The channel ends after the table's last page, or with an error.
fn read_ahead(
    remote: &Remote,
    table: &'static str,
    after: Option<uuid::Uuid>,
    columns: mirror::Columns,
) -> tokio::sync::mpsc::Receiver<Result<ReadyPage>> {
    let (pages, receiver) = tokio::sync::mpsc::channel(READ_AHEAD_PAGES);
    let remote = remote.clone();
    tokio::spawn(async move {
        let ready = |mut page: pms_sync_protocol::wire::SnapshotPage| -> Result<ReadyPage> {
            let rows = std::mem::take(&mut page.rows)
                .into_iter()
                .filter_map(|row| match row {
                    Value::Object(row) => Some(mirror::ready_row(table, &columns, row)),
                    _ => None,
                })
                .collect::<Result<Vec<_>>>()?;
            Ok(ReadyPage { page, rows })
        };
        let read = async {
            match remote.snapshot_stream(table, after, SNAPSHOT_PAGE).await {
                Ok(mut stream) => {
                    while let Some(page) = stream.next_page().await? {
                        let last = page.next_after_id.is_none();
                        if pages.send(ready(page)).await.is_err() || last {
                            return Ok(()); // the caller stopped, or the table is done
                        }
                    }
                    Err(crate::Error::Unreachable(format!(
                        "the snapshot stream of {table} ended before the table did"
                    )))
                }
                Err(crate::Error::Refused { status: 404, .. }) => {
                    let mut after = after;
                    loop {
                        let page = remote.snapshot(table, after, SNAPSHOT_PAGE).await?;
                        after = page.next_after_id;
                        if pages.send(ready(page)).await.is_err() || after.is_none() {
                            return Ok(());
                        }
                    }
                }
                Err(error) => Err(error),
            }
        };
        if let Err(error) = read.await {
            let _ = pages.send(Err(error)).await;
        }
    });
    receiver
}

/// A snapshot page (its rows taken out) and its rows ready to write.
struct ReadyPage {
    page: pms_sync_protocol::wire::SnapshotPage,
    rows: Vec<mirror::ReadyRow>,
}

/// Starts fetching the pull page after `after` on the runtime, without waiting for changes, and
/// makes its rows ready there (see [`read_ahead`]).
fn fetch_pull_page(
    remote: &Remote,
    after: Cursor,
    global_after: Cursor,
    columns: std::sync::Arc<MirrorColumns>,
) -> tokio::task::JoinHandle<Result<ReadyPull>> {
    let remote = remote.clone();
    tokio::spawn(async move {
        let page = remote.pull_feeds(after, global_after, PULL_PAGE, 0).await?;
        ReadyPull::new(page, &columns)
    })
}

/// The mirror's columns of every synced table, by table ([`mirror::columns`]).
type MirrorColumns = std::collections::HashMap<&'static str, mirror::Columns>;

fn mirror_columns(conn: &Connection) -> Result<MirrorColumns> {
    pms_sync_protocol::tables::SYNCED_TABLES
        .iter()
        .map(|table| Ok((table.name, mirror::columns(conn, table.name)?)))
        .collect()
}

/// A pull page, the rows of its upserts taken out and made ready to write
/// ([`mirror::ready_row`]): one per change, `None` for a delete.
struct ReadyPull {
    page: PullResponse,
    rows: Vec<Option<mirror::ReadyRow>>,
}

impl ReadyPull {
    fn new(mut page: PullResponse, columns: &MirrorColumns) -> Result<ReadyPull> {
        let rows = page
            .changes
            .iter_mut()
            .map(|change| match (&change.op, change.row.take()) {
                (Op::Upsert, Some(Value::Object(row))) => {
                    let table = mirror::synced(&change.table)?.name;
                    let all = columns
                        .get(table)
                        .ok_or_else(|| crate::Error::UnknownTable(change.table.clone()))?;
                    mirror::ready_row(table, all, row).map(Some)
                }
                _ => Ok(None),
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(ReadyPull { page, rows })
    }
}

/// One round: push the outbox, then bring the mirror up to date: the snapshot first on a laptop
/// that has none, then the feed. A laptop told to re-snapshot (its cursor expired, or its staff
/// role changed) does so within the round, keeping its outbox.
pub async fn sync_once(conn: &mut Connection, remote: &Remote) -> Result<SyncReport> {
    let mut report = SyncReport::default();
    push(conn, remote, &mut report).await?;
    catch_up(conn, remote, &mut |_| true, &mut report).await?;
    Ok(report)
}

/// Pushes the outbox only (every pending change, in batches of [`PUSH_BATCH`]), without
/// pulling: for a laptop that pulls on its own schedule (long poll), and to measure pushing.
pub async fn push_pending(conn: &mut Connection, remote: &Remote) -> Result<SyncReport> {
    let mut report = SyncReport::default();
    push(conn, remote, &mut report).await?;
    Ok(report)
}

/// How a pull ended.
enum PullEnd {
    UpToDate,
    /// The server no longer has the changes after this cursor, or the staff role changed: the
    /// mirror must be filled again from a snapshot.
    SnapshotNeeded,
}

/// Pushes the outbox in batches of at most [`PUSH_BATCH`] changes and [`PUSH_BATCH_BYTES`]
/// bytes, in device order. A change too large for any push is answered here, as a refusal
/// (`too_large`) that goes to the conflicts inbox like any other, so the changes behind it go
/// through instead of the same oversized push being refused forever.
async fn push(conn: &mut Connection, remote: &Remote, report: &mut SyncReport) -> Result<()> {
    // Lowered for the rest of the round if the server (or a proxy before it, with a lower
    // limit) still refuses a body as too large.
    let mut budget = PUSH_BATCH_BYTES;
    loop {
        let pending = outbox::pending(conn, PUSH_BATCH)?;
        if pending.is_empty() {
            return Ok(());
        }
        let changes: Vec<PushChange> = pending.iter().map(push_change).collect();
        let sizes: Vec<usize> = changes
            .iter()
            .map(|change| serde_json::to_vec(change).map_or(usize::MAX, |body| body.len()))
            .collect();
        let fits = changes_that_fit(&sizes, budget);
        let (pending, response) = if fits == 0 {
            // The first change alone is over the limit: no push can ever carry it.
            let entry = pending[0].clone();
            let response = too_large(&entry, sizes[0], budget);
            (vec![entry], response)
        } else {
            let request = PushRequest {
                protocol_version: PROTOCOL_VERSION,
                changes: changes[..fits].to_vec(),
            };
            match remote.push(&request).await {
                Err(crate::Error::Refused { status: 413, .. }) => {
                    budget = request_bytes(&sizes[..fits]) / 2;
                    continue;
                }
                response => (pending[..fits].to_vec(), response?),
            }
        };
        // A refusal that came without the server's row (`not_found`, `forbidden`, `too_large`):
        // the row is read now, so the mirror goes back to the server's truth instead of keeping
        // the refused value. Read before the local transaction, which must not wait on the network.
        let mut refused_rows = std::collections::HashMap::new();
        for (entry, result) in pending.iter().zip(&response.results) {
            if result.status == PushStatus::Rejected
                && result.server_row.is_none()
                && entry.op != PushOp::Insert
            {
                match remote.row(&entry.table, entry.id).await {
                    Ok(row) => {
                        refused_rows.insert(entry.device_seq, row);
                    }
                    // A row the server will not read back (a table it does not know): the
                    // mirror's row is left as it is rather than jam every later push.
                    Err(crate::Error::Refused {
                        status: 400 | 404, ..
                    }) => {}
                    // Anything else (the network, an expired token) fails the round; the push
                    // is answered the same again (replayed) and the row read then.
                    Err(error) => return Err(error),
                }
            }
        }
        let tx = mirror::write_transaction(conn)?;
        outbox::observe_answer(
            &tx,
            response.clock,
            response.server_time_ms,
            SystemClock.now_ms(),
        )?;
        for (entry, result) in pending.iter().zip(&response.results) {
            match result.status {
                PushStatus::Applied | PushStatus::Merged => {
                    // Field groups that lost to (or overwrote) another laptop's edit are kept
                    // for review; the pull brings the merged row.
                    for conflict in &result.conflicts {
                        let reason = serde_json::to_value(conflict.reason)
                            .ok()
                            .and_then(|v| v.as_str().map(str::to_owned))
                            .unwrap_or_else(|| "conflict".to_owned());
                        tx.execute(
                            "insert into conflicts (device_seq, change_id, table_name, row_id, op, reason, message,
                                                    mine_json, theirs_json, created_at)
                             values (?1, ?2, ?3, ?4, 'update', ?5, ?6, ?7, ?8, ?9)
                             on conflict (change_id) do nothing",
                            rusqlite::params![
                                entry.device_seq,
                                format!("{}:{}", entry.change_id, conflict.group),
                                entry.table,
                                entry.id.to_string(),
                                reason,
                                format!("field group {} was edited elsewhere at the same time", conflict.group),
                                serde_json::to_string(&conflict.mine).unwrap_or_default(),
                                serde_json::to_string(&conflict.theirs).unwrap_or_default(),
                                chrono::Utc::now().to_rfc3339(),
                            ],
                        )?;
                    }
                    // What the server did not take leaves the entry, so the rebase until the
                    // pull catches up shows the server's value, not the lost one.
                    let lost: Vec<&String> = result
                        .conflicts
                        .iter()
                        .filter(|c| c.reason != ConflictReason::Overwritten)
                        .flat_map(|c| c.mine.keys())
                        .collect();
                    if !lost.is_empty() {
                        let mut kept = entry.values.clone();
                        kept.retain(|column, _| !lost.contains(&column));
                        tx.execute(
                            "update outbox set values_json = ?2 where device_seq = ?1",
                            rusqlite::params![entry.device_seq, Value::Object(kept).to_string()],
                        )?;
                    }
                    if let Some(Value::Object(row)) = &result.server_row {
                        mirror::upsert(&tx, &entry.table, row)?;
                    }
                    tx.execute(
                        "update outbox set status = 'acked', acked_seq = ?2 where device_seq = ?1",
                        rusqlite::params![
                            entry.device_seq,
                            result.feed_seq.or(response.feed_seq).unwrap_or(0)
                        ],
                    )?;
                    report.pushed += 1;
                }
                PushStatus::Rejected => {
                    tx.execute(
                        "insert into conflicts (device_seq, change_id, table_name, row_id, op, reason, message,
                                                mine_json, theirs_json, created_at)
                         values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
                         on conflict (change_id) do nothing",
                        rusqlite::params![
                            entry.device_seq,
                            entry.change_id.to_string(),
                            entry.table,
                            entry.id.to_string(),
                            format!("{:?}", entry.op).to_lowercase(),
                            result.reason.clone().unwrap_or_else(|| "rejected".to_owned()),
                            result.message,
                            Value::Object(entry.values.clone()).to_string(),
                            result.server_row.as_ref().map(Value::to_string),
                            chrono::Utc::now().to_rfc3339(),
                        ],
                    )?;
                    tx.execute(
                        "delete from outbox where device_seq = ?1",
                        [entry.device_seq],
                    )?;
                    // Back to the server's truth for that row: its row, or none (the server has
                    // no such row for this account: the row goes), or unknown (not read back:
                    // left as it is). The conflict keeps the laptop's values.
                    let server_row = match (&result.server_row, entry.op) {
                        (Some(row), _) => Some(Some(row.clone())),
                        (None, PushOp::Insert) => Some(None),
                        (None, _) => refused_rows.remove(&entry.device_seq),
                    };
                    match server_row {
                        Some(Some(Value::Object(row))) => mirror::upsert(&tx, &entry.table, &row)?,
                        Some(_) => mirror::delete(&tx, &entry.table, &entry.id.to_string())?,
                        None => {}
                    }
                    report.rejected += 1;
                }
            }
        }
        // The mirror shows the server's rows where it answered with them, plus what is pending
        // of those rows (the others were not touched).
        rebase_rows(
            &tx,
            pending
                .iter()
                .map(|entry| (entry.table.as_str(), entry.id.to_string())),
        )?;
        tx.commit()?;
    }
}

fn push_change(entry: &outbox::OutboxEntry) -> PushChange {
    PushChange {
        change_id: entry.change_id,
        device_seq: entry.device_seq,
        table: entry.table.clone(),
        op: entry.op,
        id: entry.id,
        values: entry.values.clone(),
        base: entry.base.clone(),
        stamp: entry.stamp,
    }
}

/// The bytes of a push body carrying changes of these serialized sizes.
fn request_bytes(sizes: &[usize]) -> usize {
    let envelope = serde_json::to_vec(&PushRequest {
        protocol_version: PROTOCOL_VERSION,
        changes: Vec::new(),
    })
    .map_or(0, |body| body.len());
    // the changes, and a comma between two
    envelope + sizes.iter().sum::<usize>() + sizes.len().saturating_sub(1)
}

/// How many of the first changes (of these serialized sizes) one push of at most `budget`
/// bytes can carry.
fn changes_that_fit(sizes: &[usize], budget: usize) -> usize {
    let mut bytes = request_bytes(&[]);
    let mut fits = 0;
    for size in sizes {
        // the change, and a comma before every one but the first
        bytes = bytes
            .saturating_add(*size)
            .saturating_add(usize::from(fits > 0));
        if bytes > budget {
            break;
        }
        fits += 1;
    }
    fits
}

/// The answer the server would give a change no push can carry: refused, for the clerk.
fn too_large(entry: &outbox::OutboxEntry, size: usize, budget: usize) -> PushResponse {
    PushResponse {
        results: vec![PushResult {
            change_id: entry.change_id,
            device_seq: entry.device_seq,
            status: PushStatus::Rejected,
            reason: Some(TOO_LARGE.to_owned()),
            message: Some(format!(
                "this change is too large to send to the server ({} KB, at most {} KB can be \
                 sent at once): shorten what was written (long notes, say) and enter it again",
                size.div_ceil(1024),
                budget / 1024
            )),
            server_row: None,
            replayed: false,
            feed_seq: None,
            conflicts: Vec::new(),
        }],
        feed_seq: None,
        clock: None,
        server_time_ms: None,
    }
}

fn cursor(conn: &Connection) -> Result<Cursor> {
    stored_cursor(conn, "cursor_seq", "cursor_change_no")
}

/// Where the mirror stands in the global feed (plans, platform flags). A mirror filled before
/// the server had a global feed has none stored: the start, which is where that feed began.
fn global_cursor(conn: &Connection) -> Result<Cursor> {
    stored_cursor(conn, "global_cursor_seq", "global_cursor_change_no")
}

fn stored_cursor(conn: &Connection, seq_key: &str, change_no_key: &str) -> Result<Cursor> {
    let seq = mirror::state(conn, seq_key)?
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let change_no = mirror::state(conn, change_no_key)?
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    Ok(Cursor { seq, change_no })
}

/// Waits (long poll, up to `wait_secs`) until the feed has something after the mirror's cursor,
/// then pulls it all in as [`sync_once`] would; returns at once if something is already waiting.
/// For a laptop that stays online: changes from other desks show within milliseconds of their
/// commit. Pushes nothing; a re-snapshot, if the server asks for one, is left to the next
/// [`sync_once`].
pub async fn pull_when_changed(
    conn: &mut Connection,
    remote: &Remote,
    wait_secs: u64,
) -> Result<SyncReport> {
    let mut report = SyncReport::default();
    pull(conn, remote, &mut report, wait_secs).await?;
    Ok(report)
}

/// Pulls pages until the feed is exhausted; the first request may wait `first_wait_secs` for a
/// change (long poll).
async fn pull(
    conn: &mut Connection,
    remote: &Remote,
    report: &mut SyncReport,
    first_wait_secs: u64,
) -> Result<PullEnd> {
    let mut wait_secs = first_wait_secs;
    let columns = std::sync::Arc::new(mirror_columns(conn)?);
    // The next page, asked for while this one is written; never a long poll, which is only ever
    // awaited here (a round dropped while it waits drops its request).
    let mut prefetched: Option<tokio::task::JoinHandle<Result<ReadyPull>>> = None;
    loop {
        let ready = match prefetched.take() {
            Some(fetching) => fetching.await.map_err(|error| {
                crate::Error::Data(format!("a pull page could not be fetched: {error}"))
            })?,
            None => remote
                .pull_feeds(cursor(conn)?, global_cursor(conn)?, PULL_PAGE, wait_secs)
                .await
                .and_then(|page| ReadyPull::new(page, &columns)),
        };
        wait_secs = 0;
        let ReadyPull { page, rows } = match ready {
            Err(crate::Error::Refused { code, .. }) if code == CURSOR_EXPIRED => {
                return Ok(PullEnd::SnapshotNeeded)
            }
            other => other?,
        };
        // The server reads the next page, and a task makes its rows ready, while this one is
        // written.
        if page.has_more {
            let global = match page.global_cursor {
                Some(global) => global,
                None => global_cursor(conn)?,
            };
            prefetched = Some(fetch_pull_page(
                remote,
                page.cursor,
                global,
                columns.clone(),
            ));
        }
        if let Some(role) = &page.staff_role {
            match mirror::state(conn, "staff_role")? {
                Some(held) if held != *role => return Ok(PullEnd::SnapshotNeeded),
                Some(_) => {}
                None => mirror::set_state(conn, "staff_role", role)?,
            }
        }
        // The page goes in a few hundred rows per transaction, so the desk's own writes (another
        // connection) never wait long for the lock. Acknowledged changes this page brings back
        // are dropped first, so they are not applied again over the server's rows; the cursor
        // moves with the last part (a crash in between pulls the page again, and rows are
        // idempotent upserts).
        let parts: Vec<(&[PulledChange], &[Option<mirror::ReadyRow>])> = if page.changes.is_empty()
        {
            vec![(&[], &[])]
        } else {
            page.changes
                .chunks(APPLY_CHUNK)
                .zip(rows.chunks(APPLY_CHUNK))
                .collect()
        };
        for (index, (part, part_rows)) in parts.iter().enumerate() {
            let tx = mirror::write_transaction(conn)?;
            if index == 0 {
                outbox::observe_answer(&tx, page.clock, page.server_time_ms, SystemClock.now_ms())?;
                tx.execute(
                    "delete from outbox where status = 'acked' and acked_seq <= ?1",
                    [page.cursor.seq],
                )?;
            }
            let mut at = 0;
            while at < part.len() {
                let change = &part[at];
                if part_rows[at].is_none() {
                    mirror::delete(&tx, &change.table, &change.id.to_string())?;
                    at += 1;
                    continue;
                }
                // the upserts of one table in a row, written with one statement
                let run = part[at..]
                    .iter()
                    .zip(&part_rows[at..])
                    .take_while(|(next, row)| row.is_some() && next.table == change.table)
                    .count();
                let table = mirror::synced(&change.table)?.name;
                mirror::upsert_ready_rows(
                    &tx,
                    table,
                    &columns[table],
                    part_rows[at..at + run].iter().flatten(),
                )?;
                at += run;
            }
            // (read in this transaction: the desk cannot add to the outbox meanwhile)
            if !outbox::is_empty(&tx)? {
                rebase_rows(
                    &tx,
                    part.iter()
                        .map(|change| (change.table.as_str(), change.id.to_string())),
                )?;
            }
            if index + 1 == parts.len() {
                mirror::set_state(&tx, "cursor_seq", &page.cursor.seq.to_string())?;
                mirror::set_state(&tx, "cursor_change_no", &page.cursor.change_no.to_string())?;
                if let Some(global) = page.global_cursor {
                    mirror::set_state(&tx, "global_cursor_seq", &global.seq.to_string())?;
                    mirror::set_state(
                        &tx,
                        "global_cursor_change_no",
                        &global.change_no.to_string(),
                    )?;
                }
            }
            tx.commit()?;
            mirror::let_waiting_writers_in();
        }
        report.pulled += page.changes.len();
        if !page.has_more {
            return Ok(PullEnd::UpToDate);
        }
    }
}

/// Applies every change still in the outbox on top of what was pulled.
fn rebase(conn: &Connection) -> Result<()> {
    reapply(conn, outbox::entries(conn, true)?)
}

/// Applies the outbox's changes of the rows a pull page overwrote on top of it; the other rows
/// still show the desk's work, so a page costs what it brought, not the size of the outbox.
fn rebase_rows<'a>(conn: &Connection, rows: impl Iterator<Item = (&'a str, String)>) -> Result<()> {
    let mut seen = std::collections::HashSet::new();
    for (table, id) in rows {
        if seen.insert((table, id.clone())) {
            reapply(conn, outbox::entries_of_row(conn, table, &id)?)?;
        }
    }
    Ok(())
}

/// Applies outbox entries on top of the mirror's rows, as [`outbox::write`] did when they were
/// made. An update of a row the mirror does not have (deleted on the server, no longer readable,
/// or not yet in a snapshot) shows nothing: it would be a row of only the edited columns. It
/// stays in the outbox, and the server's answer to it goes to the conflicts inbox.
fn reapply(conn: &Connection, entries: Vec<outbox::OutboxEntry>) -> Result<()> {
    for entry in entries {
        let id = entry.id.to_string();
        match entry.op {
            PushOp::Delete => mirror::delete(conn, &entry.table, &id)?,
            PushOp::Insert | PushOp::Update => {
                let existing = mirror::read(conn, &entry.table, &id)?;
                let mut row = match (existing, entry.op) {
                    (Some(row), _) => row,
                    (None, PushOp::Insert) => {
                        let mut row = serde_json::Map::new();
                        if let Some(tenant) = mirror::state(conn, "tenant_id")? {
                            row.insert("tenant_id".to_owned(), Value::String(tenant));
                        }
                        row
                    }
                    (None, _) => continue,
                };
                row.insert("id".to_owned(), Value::String(id));
                row.extend(entry.values.clone());
                outbox::derive_local(&entry.table, &mut row);
                mirror::upsert(conn, &entry.table, &row)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The size a batch is cut by is the size of the body sent, byte for byte.
    #[test]
    fn a_batch_is_measured_as_the_body_that_is_sent() {
        let changes: Vec<PushChange> = (1..=3)
            .map(|n| PushChange {
                change_id: uuid::Uuid::now_v7(),
                device_seq: n,
                table: "guests".to_owned(),
                op: PushOp::Insert,
                id: uuid::Uuid::now_v7(),
                values: serde_json::json!({"notes": "é".repeat(n as usize * 10)})
                    .as_object()
                    .cloned()
                    .unwrap_or_default(),
                base: serde_json::Map::new(),
                stamp: None,
            })
            .collect();
        let sizes: Vec<usize> = changes
            .iter()
            .map(|c| serde_json::to_vec(c).map_or(0, |b| b.len()))
            .collect();
        let body = |n: usize| {
            serde_json::to_vec(&PushRequest {
                protocol_version: PROTOCOL_VERSION,
                changes: changes[..n].to_vec(),
            })
            .map_or(0, |b| b.len())
        };
        for n in 0..=3 {
            assert_eq!(request_bytes(&sizes[..n]), body(n), "{n} changes");
        }
        assert_eq!(changes_that_fit(&sizes, body(2)), 2);
        assert_eq!(changes_that_fit(&sizes, body(2) - 1), 1);
        assert_eq!(changes_that_fit(&sizes, body(1) - 1), 0);
        assert_eq!(changes_that_fit(&sizes, usize::MAX), 3);
    }
}
