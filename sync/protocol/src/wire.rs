//! Request and response bodies of the sync endpoints.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A position in the tenant's change feed: after transaction `seq`, change `change_no`. The
/// zero cursor is the feed's start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Cursor {
    pub seq: i64,
    pub change_no: i64,
}

/// What happened to a row: it exists with these values, or it is gone (deleted, or no longer
/// readable by this device's staff role).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    Upsert,
    Delete,
}

/// One row's current state, as of the pull.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
pub struct PullResponse {
    pub changes: Vec<PulledChange>,
    /// Where the next pull starts.
    pub cursor: Cursor,
    /// More changes are waiting: pull again at once.
    pub has_more: bool,
}
