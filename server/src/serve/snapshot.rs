//! The initial sync of a laptop: `GET /v1/sync/head` (the feed's current position, taken first)
//! and `GET /v1/sync/snapshot` (a table's rows page by page, by id), both under RLS. Because the
//! laptop replays the feed from the head it took before paging, a row changed while it paged is
//! brought up to date by the replay: a consistent result from a stateless server.

use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use pms_sync_protocol::tables::{synced_table, SyncedTable};
use pms_sync_protocol::wire::{Cursor, HeadResponse, SnapshotPage};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::caller::Caller;
use super::error::ApiError;
use super::AppState;

/// The most rows one snapshot page returns.
pub const MAX_SNAPSHOT_PAGE: i64 = 5_000;

/// Where the tenant's feed stands now, and the caller's staff role: an initial sync takes it
/// first, pages through the tables, then pulls from it.
#[utoipa::path(
    get,
    path = "/v1/sync/head",
    tag = "sync",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The feed's head", body = HeadResponse),
        (status = 401, description = "`missing_token`, `invalid_token`, `session_revoked`", body = super::error::ErrorResponse),
        (status = 403, description = "`tenant_inactive`", body = super::error::ErrorResponse),
    )
)]
pub async fn head(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<HeadResponse>, ApiError> {
    let mut tx = caller.begin(&state.pool).await?;
    let last: Option<(i64, i64)> = sqlx::query_as(
        "select seq, change_no from app.changes order by seq desc, change_no desc limit 1",
    )
    .fetch_optional(&mut *tx)
    .await?;
    // With every change pruned, the head is where retention stopped (a cursor behind it expired).
    let pruned: Option<(i64, i64)> =
        sqlx::query_as("select seq, change_no from app.feed_pruned_through()")
            .fetch_optional(&mut *tx)
            .await?;
    let global: Option<(i64, i64)> = sqlx::query_as(
        "select seq, change_no from app.global_changes order by seq desc, change_no desc limit 1",
    )
    .fetch_optional(&mut *tx)
    .await?;
    // The role the laptop will fill its mirror under (see `HeadResponse::staff_role`).
    let staff_role: Option<String> = sqlx::query_scalar("select app.current_staff_role()")
        .fetch_one(&mut *tx)
        .await?;
    tx.commit().await?;
    let (seq, change_no) = last.or(pruned).unwrap_or((0, 0));
    Ok(Json(HeadResponse {
        cursor: Cursor { seq, change_no },
        global_cursor: Some(
            global.map_or_else(Cursor::default, |(seq, change_no)| Cursor {
                seq,
                change_no,
            }),
        ),
        staff_role,
    }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SnapshotQuery {
    /// A synced table's name.
    pub table: String,
    /// The last id of the previous page; none for the first.
    #[serde(default)]
    pub after_id: Option<Uuid>,
    /// Rows per page: 1 to 5,000, default 1,000.
    #[serde(default)]
    pub limit: Option<i64>,
}

impl SnapshotQuery {
    /// The synced table asked for (refused when it is not one) and the page size, within bounds.
    fn table_and_limit(&self) -> Result<(&'static SyncedTable, i64), ApiError> {
        let synced = synced_table(&self.table).ok_or_else(|| {
            ApiError::BadRequest(format!("{:?} is not a synced table", self.table))
        })?;
        Ok((
            synced,
            self.limit.unwrap_or(1_000).clamp(1, MAX_SNAPSHOT_PAGE),
        ))
    }
}

/// One page of a synced table's rows the caller may read, by id.
#[utoipa::path(
    get,
    path = "/v1/sync/snapshot",
    tag = "sync",
    params(SnapshotQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page of rows", body = SnapshotPage),
        (status = 400, description = "`bad_request`: not a synced table", body = super::error::ErrorResponse),
        (status = 401, description = "`missing_token`, `invalid_token`, `session_revoked`", body = super::error::ErrorResponse),
        (status = 403, description = "`tenant_inactive`", body = super::error::ErrorResponse),
    )
)]
pub async fn snapshot(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<SnapshotQuery>,
) -> Result<Response, ApiError> {
    let (synced, limit) = query.table_and_limit()?;
    let page = read_page(&state, &caller, synced, query.after_id, limit).await?;
    Ok(([(header::CONTENT_TYPE, "application/json")], page.body).into_response())
}

/// Pages of a snapshot stream a laptop has not read yet, beyond the one being sent: the server
/// reads ahead this far, and no further for a laptop that writes slowly.
const STREAM_AHEAD: usize = 2;

/// A synced table's rows the caller may read, from `after_id` to the table's end, as pages of
/// `limit` rows sent one after another in one answer: each line is a [`SnapshotPage`] (NDJSON),
/// the last with no `next_after_id`. Each page is read in a transaction of its own, as a page of
/// `/v1/sync/snapshot` is, and the next is read while the laptop writes this one: a laptop
/// asking page by page waited for each page's round trip, and the server sat idle meanwhile.
/// A stream cut short (a lost connection, a server error after the first page) ends without its
/// last page; the laptop asks again from the last page it kept.
#[utoipa::path(
    get,
    path = "/v1/sync/snapshot/stream",
    tag = "sync",
    params(SnapshotQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The table's pages, one JSON object a line (`application/x-ndjson`)", body = SnapshotPage, content_type = "application/x-ndjson"),
        (status = 400, description = "`bad_request`: not a synced table", body = super::error::ErrorResponse),
        (status = 401, description = "`missing_token`, `invalid_token`, `session_revoked`", body = super::error::ErrorResponse),
        (status = 403, description = "`tenant_inactive`", body = super::error::ErrorResponse),
    )
)]
pub async fn snapshot_stream(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<SnapshotQuery>,
) -> Result<Response, ApiError> {
    let (synced, limit) = query.table_and_limit()?;
    // The first page before the answer begins: a refusal is a status, not a broken stream.
    let first = read_page(&state, &caller, synced, query.after_id, limit).await?;
    let (lines, to_send) =
        tokio::sync::mpsc::channel::<Result<String, std::io::Error>>(STREAM_AHEAD);
    tokio::spawn(async move {
        let mut page = first;
        loop {
            let next = page.next_after_id;
            let line = one_line(page.body);
            if lines.send(Ok(line)).await.is_err() {
                return; // the laptop went away
            }
            let Some(after) = next else {
                return;
            };
            if *state.stopping.borrow() {
                // shutting down: the laptop asks another instance from the last page it kept
                let _ = lines
                    .send(Err(std::io::Error::other("the server is shutting down")))
                    .await;
                return;
            }
            match read_page(&state, &caller, synced, Some(after), limit).await {
                Ok(read) => page = read,
                Err(error) => {
                    tracing::warn!(table = synced.name, ?error, "a snapshot stream ended early");
                    let _ = lines
                        .send(Err(std::io::Error::other(
                            "the snapshot stream ended early",
                        )))
                        .await;
                    return;
                }
            }
        }
    });
    let body = Body::from_stream(futures_util::stream::unfold(to_send, |mut to_send| async {
        to_send.recv().await.map(|line| (line, to_send))
    }));
    Ok(([(header::CONTENT_TYPE, "application/x-ndjson")], body).into_response())
}

/// A page's JSON as one line of the stream: `json_agg` puts a line break between rows (JSON
/// strings never hold one: theirs are escaped), so each becomes a space.
fn one_line(page: String) -> String {
    let mut bytes = page.into_bytes();
    for byte in &mut bytes {
        if *byte == b'\n' {
            *byte = b' ';
        }
    }
    bytes.push(b'\n');
    // (only ASCII was swapped, so the text is as valid as it was)
    String::from_utf8(bytes).unwrap_or_default()
}

/// One page of a snapshot as the answer's JSON text, and where the next begins.
struct PageText {
    body: String,
    next_after_id: Option<Uuid>,
}

/// Up to `limit` rows of `synced` after `after_id`, read under RLS in a transaction of their own.
async fn read_page(
    state: &AppState,
    caller: &Caller,
    synced: &'static SyncedTable,
    after_id: Option<Uuid>,
    limit: i64,
) -> Result<PageText, ApiError> {
    let mut tx = caller.begin(&state.pool).await?;
    // Table and columns come from the compiled-in list; RLS picks the rows (the tenant's, and
    // for plans and flags also the platform's). Postgres renders the page's JSON itself: the
    // server passes it on as it is instead of parsing every row and writing it out again (the
    // larger part of a snapshot's cost here).
    let statement = format!(
        "select coalesce(json_agg(r order by r.id), '[]')::text, coalesce(array_agg(r.id order by r.id), '{{}}')
           from (select {} from public.{} where id > $1 order by id limit $2) r",
        synced.columns.join(", "),
        synced.name
    );
    let (rows, ids): (String, Vec<Uuid>) = sqlx::query_as(&statement)
        .bind(after_id.unwrap_or(Uuid::nil()))
        .bind(limit)
        .fetch_one(&mut *tx)
        .await?;
    let tenant = caller.claims.app_metadata.tenant_id;
    let clock = super::push::newest_stamp(&mut tx, tenant, synced.name, &ids).await?;
    tx.commit().await?;
    let next_after_id = if ids.len() as i64 == limit {
        ids.last().copied()
    } else {
        None
    };
    let page = PageWithoutRows {
        table: synced.name,
        next_after_id,
        clock,
        server_time_ms: Some(chrono::Utc::now().timestamp_millis()),
    };
    Ok(PageText {
        body: page.with_rows(&rows)?,
        next_after_id,
    })
}

/// A [`SnapshotPage`] but its rows, which are added as the JSON text Postgres made.
#[derive(Serialize)]
struct PageWithoutRows {
    table: &'static str,
    next_after_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    clock: Option<pms_sync_protocol::hlc::Hlc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    server_time_ms: Option<i64>,
}

impl PageWithoutRows {
    /// The page's body: these fields and `"rows"`, the JSON array `rows`, in one object (read by
    /// clients as a [`SnapshotPage`]).
    fn with_rows(&self, rows: &str) -> Result<String, ApiError> {
        let mut body = serde_json::to_string(self)
            .map_err(|error| ApiError::Internal(anyhow::anyhow!("snapshot page: {error}")))?;
        body.pop(); // the object's closing brace
        body.reserve(rows.len() + 10);
        body.push_str(",\"rows\":");
        body.push_str(rows);
        body.push('}');
        Ok(body)
    }
}
