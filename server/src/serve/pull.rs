//! `GET /v1/sync/pull`: the tenant's changes after a cursor, each with the row's current state.
//!
//! The feed (`app.changes`) gives keys in commit order; the rows are then read under RLS with
//! exactly the synced columns, so a device receives what its staff role may read, and a row it
//! may not read (or that is gone) arrives as a delete.

use std::collections::BTreeMap;

use axum::extract::{Query, State};
use axum::Json;
use pms_sync_protocol::hlc::Hlc;
use pms_sync_protocol::tables::synced_table;
use pms_sync_protocol::wire::{Cursor, Op, PullResponse};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use sqlx::PgConnection;
use uuid::Uuid;

use super::caller::Caller;
use super::error::ApiError;
use super::AppState;

/// The most changes one pull returns.
pub const MAX_PULL_LIMIT: i64 = 5_000;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PullQuery {
    /// The cursor's transaction (`Cursor::seq`); 0 at the start.
    #[serde(default)]
    pub after_seq: i64,
    /// The cursor's change within its transaction (`Cursor::change_no`).
    #[serde(default)]
    pub after_change_no: i64,
    /// The global feed cursor's transaction (`PullResponse::global_cursor`), 0 at the start:
    /// changes to global rows (plans, platform flags) after it come too. Without it, none do.
    #[serde(default)]
    pub after_global_seq: Option<i64>,
    /// The global feed cursor's change within its transaction.
    #[serde(default)]
    pub after_global_change_no: Option<i64>,
    /// The most changes to return: 1 to 5,000, default 1,000.
    #[serde(default)]
    pub limit: Option<i64>,
    /// Seconds to wait for a change when there is none yet (long poll), at most 30.
    #[serde(default)]
    pub wait: Option<u64>,
}

/// The longest a pull waits for a change.
pub const MAX_WAIT_SECONDS: u64 = 30;

/// The tenant's changes after a cursor, each with the row's current state as the caller may
/// read it (a row it may not read arrives as a delete); with `wait`, a long poll.
#[utoipa::path(
    get,
    path = "/v1/sync/pull",
    tag = "sync",
    params(PullQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The changes after the cursor", body = PullResponse),
        (status = 401, description = "`missing_token`, `invalid_token`, `session_revoked`", body = super::error::ErrorResponse),
        (status = 403, description = "`tenant_inactive`", body = super::error::ErrorResponse),
        (status = 410, description = "`cursor_expired`: take a new snapshot", body = super::error::ErrorResponse),
        (status = 503, description = "`server_busy`, with `Retry-After`", body = super::error::ErrorResponse),
    )
)]
pub async fn pull(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<PullQuery>,
) -> Result<Json<PullPage>, ApiError> {
    let wait = std::time::Duration::from_secs(query.wait.unwrap_or(0).min(MAX_WAIT_SECONDS));
    let tenant = caller.claims.app_metadata.tenant_id;
    // Subscribe before looking, so a commit between the look and the wait is not missed.
    let mut moved = state.feed.subscribe(tenant);
    let first = read_page(&state, &caller, &query).await?;
    if !first.changes.is_empty() || first.has_more || wait.is_zero() {
        state
            .metrics
            .pull_changes
            .inc_by(first.changes.len() as u64);
        return Ok(Json(first));
    }
    // The first page's transaction is over: a waiting pull holds no database connection.
    let waiting = state.metrics.waiting();
    let mut stopping = state.stopping.subscribe();
    let moved = tokio::select! {
        moved = moved.wait(wait) => moved,
        // shutting down: answer now, the laptop pulls again from another instance
        _ = stopping.wait_for(|stopping| *stopping) => false,
    };
    drop(waiting);
    if moved {
        let page = read_page(&state, &caller, &query).await?;
        state.metrics.pull_changes.inc_by(page.changes.len() as u64);
        return Ok(Json(page));
    }
    Ok(Json(first))
}

/// A [`PullResponse`] as the server writes it: each row is the JSON text Postgres made, passed on
/// as it is instead of parsed into a value and written out again (half the server's work on a
/// page of a thousand rows). Its JSON is a `PullResponse`'s, field for field.
#[derive(Serialize)]
pub struct PullPage {
    changes: Vec<RawChange>,
    cursor: Cursor,
    #[serde(skip_serializing_if = "Option::is_none")]
    global_cursor: Option<Cursor>,
    has_more: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    staff_role: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    clock: Option<Hlc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    server_time_ms: Option<i64>,
}

/// A `PulledChange` with its row as Postgres's JSON text.
#[derive(Serialize)]
struct RawChange {
    table: String,
    id: Uuid,
    op: Op,
    #[serde(skip_serializing_if = "Option::is_none")]
    row: Option<Box<RawValue>>,
}

async fn read_page(
    state: &AppState,
    caller: &Caller,
    query: &PullQuery,
) -> Result<PullPage, ApiError> {
    let limit = query.limit.unwrap_or(1_000).clamp(1, MAX_PULL_LIMIT);
    // One snapshot for the whole page: read in two statements of their own, the pruned point and
    // the feed could straddle a prune, and the page would skip what it removed without a 410.
    let mut tx = caller.begin_snapshot(&state.pool).await?;
    // A cursor behind what retention pruned could miss changes: the laptop must re-snapshot.
    let after = Cursor {
        seq: query.after_seq,
        change_no: query.after_change_no,
    };
    let pruned: Option<(i64, i64)> =
        sqlx::query_as("select seq, change_no from app.feed_pruned_through()")
            .fetch_optional(&mut *tx)
            .await?;
    if let Some((seq, change_no)) = pruned {
        if after < (Cursor { seq, change_no }) {
            return Err(ApiError::CursorExpired);
        }
    }
    let staff_role: Option<String> = sqlx::query_scalar("select app.current_staff_role()")
        .fetch_one(&mut *tx)
        .await?;
    let (mut feed, mut has_more) = read_feed(&mut tx, "app.changes", after, limit).await?;
    let cursor = last_cursor(&feed).unwrap_or(after);
    // The global feed (plans, platform flags), after its own cursor, in the same snapshot.
    let global_after = query.after_global_seq.map(|seq| Cursor {
        seq,
        change_no: query.after_global_change_no.unwrap_or(0),
    });
    let mut global_cursor = global_after;
    if let Some(after) = global_after {
        let (global, more) = read_feed(&mut tx, "app.global_changes", after, limit).await?;
        has_more |= more;
        global_cursor = last_cursor(&global).or(global_cursor);
        // after the tenant's changes: a row's latest entry wins, and both are read as of now
        feed.extend(global);
    }

    // The latest entry per row wins; rows are then read table by table.
    let mut latest: BTreeMap<(String, Uuid), usize> = BTreeMap::new();
    for (position, (_, _, table, id, _)) in feed.iter().enumerate() {
        latest.insert((table.clone(), *id), position);
    }
    let mut ids_by_table: BTreeMap<&str, Vec<Uuid>> = BTreeMap::new();
    for (table, id) in latest.keys() {
        ids_by_table.entry(table.as_str()).or_default().push(*id);
    }
    let mut rows: BTreeMap<(String, Uuid), Box<RawValue>> = BTreeMap::new();
    let mut clock = None;
    for (table, ids) in ids_by_table {
        let Some(synced) = synced_table(table) else {
            continue;
        };
        // Table and column names come from the compiled-in list, never from the request.
        let statement = format!(
            "select id, to_json(r)::text from (select {} from public.{} where id = any($1)) r",
            synced.columns.join(", "),
            synced.name
        );
        let found: Vec<(Uuid, String)> = sqlx::query_as(&statement)
            .bind(&ids)
            .fetch_all(&mut *tx)
            .await?;
        for (id, row) in found {
            let row = RawValue::from_string(row).map_err(|error| {
                ApiError::Internal(anyhow::anyhow!("a {table} row's JSON: {error}"))
            })?;
            rows.insert((table.to_owned(), id), row);
        }
        let tenant = caller.claims.app_metadata.tenant_id;
        clock = clock.max(super::push::newest_stamp(&mut tx, tenant, synced.name, &ids).await?);
    }
    tx.commit().await?;

    let mut ordered: Vec<(usize, RawChange)> = latest
        .into_iter()
        .filter(|((table, _), _)| synced_table(table).is_some())
        .map(|((table, id), position)| {
            let row = rows.remove(&(table.clone(), id));
            let op = if row.is_some() {
                Op::Upsert
            } else {
                Op::Delete
            };
            (position, RawChange { table, id, op, row })
        })
        .collect();
    ordered.sort_by_key(|(position, _)| *position);
    Ok(PullPage {
        changes: ordered.into_iter().map(|(_, change)| change).collect(),
        cursor,
        global_cursor,
        has_more,
        staff_role,
        clock,
        server_time_ms: Some(chrono::Utc::now().timestamp_millis()),
    })
}

/// A feed entry: transaction, change within it, table, row id, operation.
type FeedEntry = (i64, i64, String, Uuid, String);

/// Up to `limit` entries of a feed (`app.changes` or `app.global_changes`) after a cursor, and
/// whether more are waiting.
async fn read_feed(
    tx: &mut PgConnection,
    feed_table: &'static str,
    after: Cursor,
    limit: i64,
) -> Result<(Vec<FeedEntry>, bool), sqlx::Error> {
    // One more than asked, to tell whether more are waiting.
    let mut feed: Vec<FeedEntry> = sqlx::query_as(&format!(
        "select seq, change_no, table_name, row_id, op from {feed_table}
          where (seq, change_no) > ($1, $2)
          order by seq, change_no
          limit $3"
    ))
    .bind(after.seq)
    .bind(after.change_no)
    .bind(limit + 1)
    .fetch_all(&mut *tx)
    .await?;
    let has_more = feed.len() as i64 > limit;
    feed.truncate(limit as usize);
    Ok((feed, has_more))
}

/// The position of a page's last entry.
fn last_cursor(feed: &[FeedEntry]) -> Option<Cursor> {
    feed.last().map(|(seq, change_no, ..)| Cursor {
        seq: *seq,
        change_no: *change_no,
    })
}
