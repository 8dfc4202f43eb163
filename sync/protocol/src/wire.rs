//! Request and response bodies of the sync endpoints.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A position in the tenant's change feed: after transaction `seq`, change `change_no`. The
/// zero cursor is the feed's start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Cursor {
    pub seq: i64,
    pub change_no: i64,
}

/// What happened to a row: it exists with these values, or it is gone (deleted, or no longer
/// readable by this device's staff role).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Op {
    Upsert,
    Delete,
}

/// One row's current state, as of the pull.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PulledChange {
    pub table: String,
    pub id: Uuid,
    pub op: Op,
    /// The synced columns (`tables::SYNCED_TABLES`), for an upsert.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub row: Option<serde_json::Value>,
}

/// `GET /v1/sync/pull?after_seq=…&after_change_no=…&limit=…`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PullResponse {
    pub changes: Vec<PulledChange>,
    /// Where the next pull starts.
    pub cursor: Cursor,
    /// Where the next pull starts in the global feed (changes to plans and platform flags, which
    /// every tenant reads); present when the pull named a global cursor (`after_global_seq`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub global_cursor: Option<Cursor>,
    /// More changes are waiting: pull again at once.
    pub has_more: bool,
    /// The caller's staff role as the server sees it now. When it differs from the role the
    /// mirror was filled under, the laptop re-snapshots: rows it may no longer read go, rows
    /// newly readable arrive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub staff_role: Option<String>,
    /// The newest clock stamp among the rows this answer carries (the last write of each of
    /// their field groups): the laptop's hybrid clock moves past it (`Hlc::observe`), so an edit
    /// it makes after seeing these rows orders after them even when its wall clock is behind.
    /// Absent when the rows carry no stamps, and from servers older than this field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock: Option<crate::hlc::Hlc>,
    /// The server's wall time when it answered (ms since the epoch): the laptop measures its own
    /// clock's offset against it and stamps its edits in the server's time (see
    /// `pms_sync_client::outbox`), so a laptop whose clock runs ahead does not win with stamps
    /// from the future. Absent from servers older than this field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_time_ms: Option<i64>,
}

/// The error code (`410 Gone`) of a pull whose cursor is older than the server's retention of
/// sync state: the laptop must re-snapshot (keeping its outbox).
pub const CURSOR_EXPIRED: &str = "cursor_expired";

/// What a pushed change does to its row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PushOp {
    Insert,
    Update,
    Delete,
}

/// One local write, as the laptop's outbox holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PushChange {
    /// The change's own id (UUIDv7, made on the laptop).
    pub change_id: Uuid,
    /// The device's sequence number: 1, 2, 3… in the order the writes happened.
    pub device_seq: i64,
    pub table: String,
    pub op: PushOp,
    pub id: Uuid,
    /// The written columns (all of them for an insert, the changed ones for an update).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub values: serde_json::Map<String, serde_json::Value>,
    /// For an update: what the laptop held before the edit, for every column of each field group
    /// touched (`merge::base_columns`). Lets the server tell a concurrent edit from none.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub base: serde_json::Map<String, serde_json::Value>,
    /// The laptop's hybrid logical clock at the edit; orders concurrent edits of a field group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stamp: Option<crate::hlc::Hlc>,
}

/// The largest request body the sync server accepts (`pms_server::serve::MAX_BODY_BYTES`): a
/// laptop sizes its pushes to stay under it.
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// `POST /v1/sync/push`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PushRequest {
    pub protocol_version: u32,
    pub changes: Vec<PushChange>,
}

/// The outcome of one pushed change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PushStatus {
    Applied,
    /// Applied in part: some field groups lost to (or overwrote) a concurrent edit, listed in
    /// `conflicts` for a person to review.
    Merged,
    Rejected,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PushResult {
    pub change_id: Uuid,
    pub device_seq: i64,
    pub status: PushStatus,
    /// Why it was rejected, for the client to branch on: `room_unavailable`,
    /// `insufficient_points`, `forbidden`, `not_found`, `invalid_value`, `duplicate_key`,
    /// `missing_reference`, `unknown_table`, `out_of_order`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The server's current row (synced columns), for the conflicts inbox.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_row: Option<serde_json::Value>,
    /// True when this answer was recorded by an earlier attempt of the same push.
    #[serde(default)]
    pub replayed: bool,
    /// For a merged change: the field groups that conflicted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conflicts: Vec<crate::merge::Conflict>,
    /// The feed transaction (`Cursor::seq`) this change's write landed in, or, for a change
    /// recorded before positions were, one at or after it; absent for a rejected change and from
    /// servers older than this field (then [`PushResponse::feed_seq`] stands for every change).
    /// A large push is written in several transactions, so its changes land at several places.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feed_seq: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PushResponse {
    pub results: Vec<PushResult>,
    /// The last feed transaction (`Cursor::seq`) this push's writes landed in, if it wrote
    /// anything: the laptop keeps its applied changes until its pull cursor has passed where each
    /// landed (`PushResult::feed_seq`, else this).
    #[serde(default)]
    pub feed_seq: Option<i64>,
    /// The newest clock stamp among the rows this push touched (the last write of each of
    /// their field groups): the laptop's hybrid clock moves past it (`Hlc::observe`), so an edit
    /// it makes after seeing these rows orders after them even when its wall clock is behind.
    /// Absent when the rows carry no stamps, and from servers older than this field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock: Option<crate::hlc::Hlc>,
    /// The server's wall time when it answered (ms since the epoch): the laptop measures its own
    /// clock's offset against it and stamps its edits in the server's time (see
    /// `pms_sync_client::outbox`), so a laptop whose clock runs ahead does not win with stamps
    /// from the future. Absent from servers older than this field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_time_ms: Option<i64>,
}

/// `GET /v1/sync/head`: where the feed stands now. An initial sync takes it first, then pages
/// through the tables, then replays the feed from it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HeadResponse {
    pub cursor: Cursor,
    /// Where the global feed (plans, platform flags) stands now. Absent from servers older than
    /// the global feed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub global_cursor: Option<Cursor>,
    /// The caller's staff role as the server sees it now, read with the head. The laptop fills
    /// its mirror under this role and checks it again before it records the cursor, so a role
    /// changed while the snapshot was paged is noticed (and the snapshot taken again). Absent
    /// from servers older than this field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub staff_role: Option<String>,
}

/// `GET /v1/sync/snapshot?table=…&after_id=…&limit=…`: one page of a table's rows, by id.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SnapshotPage {
    pub table: String,
    pub rows: Vec<serde_json::Value>,
    /// Where the next page starts; `None` when the table is done.
    pub next_after_id: Option<Uuid>,
    /// The newest clock stamp among the rows this answer carries (the last write of each of
    /// their field groups): the laptop's hybrid clock moves past it (`Hlc::observe`), so an edit
    /// it makes after seeing these rows orders after them even when its wall clock is behind.
    /// Absent when the rows carry no stamps, and from servers older than this field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock: Option<crate::hlc::Hlc>,
    /// The server's wall time when it answered (ms since the epoch): the laptop measures its own
    /// clock's offset against it and stamps its edits in the server's time (see
    /// `pms_sync_client::outbox`), so a laptop whose clock runs ahead does not win with stamps
    /// from the future. Absent from servers older than this field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_time_ms: Option<i64>,
}

/// `GET /v1/flags`: the caller's tenant's feature flags, evaluated (`flags::evaluate_all`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FlagsResponse {
    /// The tenant's plan name, if it has one.
    pub plan: Option<String>,
    pub flags: std::collections::BTreeMap<String, bool>,
}
