//! The sync server's merge and conflict decisions, as pure functions of their inputs.
//!
//! This module owns *what* happens to a change a laptop pushes: which tables and columns a laptop
//! may write ([`table_class`], [`column_kind`]), which columns merge as one unit
//! ([`group_of`]), how a reservation's status may move ([`status_transition_allowed`]), and the
//! verdict on an insert ([`check_insert`]), an update ([`merge_update`]) or a delete
//! ([`check_delete`]). The server reads the row and its per-group stamps, asks here, and writes
//! what [`Decision::Apply`] says (then validates the merged row again, as every write is); the
//! conflicts go to the review inbox. Nothing here touches a database, a clock or the network.
//!
//! The update rule, per field group the laptop changed:
//! - the server already holds the laptop's new values: nothing to do;
//! - a reservation's status moves by the state machine from the server's current status, not by
//!   the clock (a `cancelled` never undoes a `checked_in`, however late its stamp);
//! - the server's values for the group equal what the laptop saw (`base`): nobody else edited
//!   the group, so the laptop's values apply, whatever the stamps;
//! - otherwise the newer stamp wins (ties go to the higher node id), and the losing values are
//!   reported as a [`Conflict`] so that nothing is lost silently. The winner's values are its
//!   whole view of the group (what it changed, and what it saw of the rest: its base), so the
//!   row never holds half of one clerk's address and half of another's, and the same set of
//!   concurrent edits gives the same row whatever order they arrive in.

use std::borrow::Borrow;
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::hlc::Hlc;
use crate::tables::{synced_table, SyncedTable};

/// Column values of one row, by column name.
pub type Values = BTreeMap<String, Value>;

// ---------------------------------------------------------------------------------------------
// Field groups
// ---------------------------------------------------------------------------------------------

/// Columns of one table that merge as one unit: a concurrent edit of any of them conflicts with
/// an edit of any other, and the winner's values are taken together, so a merged row never mixes
/// two people's halves of an address or a stay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldGroup {
    pub table: &'static str,
    pub name: &'static str,
    pub columns: &'static [&'static str],
}

/// The reservation status group, which moves by the state machine rather than by the clock.
pub const STATUS_GROUP: &str = "status";

const ADDRESS: &[&str] = &[
    "address_line1",
    "address_line2",
    "city",
    "region",
    "postal_code",
    "country_code",
];

/// Every named field group. A column in none of them is a group of its own, named after it.
pub const FIELD_GROUPS: &[FieldGroup] = &[
    FieldGroup {
        table: "reservations",
        name: "stay",
        columns: &[
            "check_in_date",
            "check_out_date",
            "room_type_id",
            "room_id",
            "property_id",
        ],
    },
    FieldGroup {
        table: "reservations",
        name: "guest",
        columns: &["guest_id", "guest_name", "guest_email", "guest_phone"],
    },
    FieldGroup {
        table: "reservations",
        name: STATUS_GROUP,
        columns: &[
            "status",
            "confirmed_at",
            "checked_in_at",
            "checked_out_at",
            "cancelled_at",
            "no_show_at",
            "cancellation_reason",
        ],
    },
    FieldGroup {
        table: "reservations",
        name: "payment",
        columns: &["total_amount_cents", "rate_per_night_cents", "currency"],
    },
    FieldGroup {
        table: "guests",
        name: "name",
        columns: &["first_name", "last_name"],
    },
    FieldGroup {
        table: "guests",
        name: "address",
        columns: ADDRESS,
    },
    FieldGroup {
        table: "guests",
        name: "contact_preferences",
        columns: &[
            "contact_by_email",
            "contact_by_sms",
            "contact_by_phone",
            "marketing_consent",
        ],
    },
    // A property's address has the same shape as a guest's and the same reason to merge as a
    // unit. Phone and e-mail are not a group (for guests neither): a clerk corrects one without
    // the other, and two desks doing so offline must both be kept.
    FieldGroup {
        table: "properties",
        name: "address",
        columns: ADDRESS,
    },
    // A document is read off one card: two desks correcting it offline keep one reading whole.
    FieldGroup {
        table: "guest_documents",
        name: "document",
        columns: &["kind", "number", "issuing_country", "expires_on"],
    },
];

/// The name of a field group; also its key in a row's per-group stamps. Serialized as the bare
/// name.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct GroupKey(String);

impl GroupKey {
    /// The group's name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<&str> for GroupKey {
    fn from(name: &str) -> Self {
        GroupKey(name.to_owned())
    }
}

/// Lets a map keyed by group be read with a plain `&str`.
impl Borrow<str> for GroupKey {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for GroupKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The field group `column` of `table` merges in: a named group from [`FIELD_GROUPS`], or the
/// column itself.
pub fn group_of(table: &str, column: &str) -> GroupKey {
    FIELD_GROUPS
        .iter()
        .find(|group| group.table == table && group.columns.contains(&column))
        .map_or(column, |group| group.name)
        .into()
}

/// The columns whose values a laptop sends as the base of an update that changes `changed`:
/// every synced column of each field group touched, so the server can see a concurrent edit of
/// a sibling column (the postal code next to an edited city).
pub fn base_columns<'c>(
    table: &str,
    changed: impl IntoIterator<Item = &'c str>,
) -> Vec<&'static str> {
    let Some(synced) = synced_table(table) else {
        return Vec::new();
    };
    let groups: Vec<GroupKey> = changed
        .into_iter()
        .map(|column| group_of(table, column))
        .collect();
    synced
        .columns
        .iter()
        .copied()
        .filter(|column| groups.contains(&group_of(table, column)))
        .collect()
}

/// The synced columns of `table` that belong to `group`.
fn group_columns<'t>(
    table: &'t SyncedTable,
    group: &'t GroupKey,
) -> impl Iterator<Item = &'static str> + 't {
    table
        .columns
        .iter()
        .copied()
        .filter(move |column| group_of(table.name, column) == *group)
}

// ---------------------------------------------------------------------------------------------
// Table classes and column kinds
// ---------------------------------------------------------------------------------------------

/// How a table takes writes from a laptop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TableClass {
    /// Inserts, updates merged field group by field group, deletes.
    Entity,
    /// Ledgers and logs: inserts never conflict; updates and deletes are refused.
    AppendOnly,
    /// Written only on the server; read-only on a laptop.
    ServerOwned,
}

/// Ledgers and logs: a row, once written, is history.
pub const APPEND_ONLY_TABLES: &[&str] = &[
    "loyalty_transactions",
    "communication_logs",
    "folio_entries",
    "night_audits",
    "guest_invoices",
    "reservation_events",
];

/// Tables whose rows may carry an id derived from what they are (a stay's guest folio): an
/// insert whose id is taken is that same row, made by another laptop; like an append-only
/// ledger's entry, it is answered as already recorded, not as a conflict.
pub const DERIVED_ROW_TABLES: &[&str] = &["folios", "reservation_nights", "guest_preferences"];

/// Whether an insert into `table` whose id exists already is the same row, already recorded.
pub fn same_id_is_same_row(table: &str) -> bool {
    APPEND_ONLY_TABLES.contains(&table) || DERIVED_ROW_TABLES.contains(&table)
}

/// Campaign delivery, billing and platform tables, filled by the server alone.
pub const SERVER_OWNED_TABLES: &[&str] = &[
    "campaign_recipients",
    "subscriptions",
    "invoices",
    "usage_alerts",
    "feature_flags",
    "plans",
    "guest_invoice_series",
];

/// The class of a synced table; `None` when the table is not synced.
pub fn table_class(table: &str) -> Option<TableClass> {
    synced_table(table).map(|table| class_of(table.name))
}

fn class_of(table: &str) -> TableClass {
    if SERVER_OWNED_TABLES.contains(&table) {
        TableClass::ServerOwned
    } else if APPEND_ONLY_TABLES.contains(&table) {
        TableClass::AppendOnly
    } else {
        TableClass::Entity
    }
}

/// How a column takes values from a laptop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnKind {
    /// Written by laptops, merged by its field group.
    Editable,
    /// Who made the last write: taken along with whatever else of the change applies, never a
    /// conflict of its own (otherwise every concurrent edit of a row would also conflict here).
    Bookkeeping,
    /// Set when the row is inserted and never changed by an update.
    InsertOnly,
    /// Written only by the server (numbers, balances, metrics, counters, `updated_at`).
    ServerOwned,
    /// Computed by the database from other columns.
    Generated,
}

impl ColumnKind {
    /// Whether a laptop's insert writes this column (server-owned and generated ones are the
    /// server's: dropped).
    pub fn taken_on_insert(self) -> bool {
        matches!(
            self,
            ColumnKind::Editable | ColumnKind::Bookkeeping | ColumnKind::InsertOnly
        )
    }
}

/// Columns the server alone writes, per table; silently dropped from a laptop's change. The
/// running balances of the loyalty ledger are here because the server computes them in ledger
/// order.
const SERVER_OWNED_COLUMNS: &[(&str, &[&str])] = &[
    // What a stay has paid is derived from its folio entries (payments minus refunds) by the
    // server: a paid amount merged by clock would lose one desk's payment.
    (
        "reservations",
        &[
            "confirmation_number",
            "deposit_paid_cents",
            "payment_status",
        ],
    ),
    (
        "loyalty_members",
        &[
            "membership_number",
            "points_balance",
            "lifetime_points",
            "current_tier",
            "next_tier",
            "points_to_next_tier",
            "tier_achieved_at",
        ],
    ),
    (
        "guests",
        &[
            "total_bookings",
            "total_spent_cents",
            "lifetime_value_cents",
            "average_rating",
            "last_stay_at",
            "anonymized_at",
        ],
    ),
    (
        "marketing_campaigns",
        &[
            "target_count",
            "sent_count",
            "delivered_count",
            "opened_count",
            "clicked_count",
            "converted_count",
            "unsubscribed_count",
            "bounced_count",
        ],
    ),
    ("loyalty_transactions", &["balance_before", "balance_after"]),
];

/// Columns a laptop sets when it inserts the row and never after, beyond the ones every table has
/// (`id`, `tenant_id`, `created_at`, `created_by`). A local hotel's booking keeps the number its
/// guest holds as its legacy code when the hotel is adopted (`pms_sync_client::sole_writer`).
const INSERT_ONLY_COLUMNS: &[(&str, &[&str])] = &[("reservations", &["legacy_confirmation_code"])];

fn listed(list: &[(&str, &[&str])], table: &str, column: &str) -> bool {
    list.iter()
        .any(|(name, columns)| *name == table && columns.contains(&column))
}

/// The kind of `column` in `table`; `None` when it is not a synced column.
pub fn column_kind(table: &str, column: &str) -> Option<ColumnKind> {
    let synced = synced_table(table)?;
    if !synced.columns.contains(&column) {
        return None;
    }
    let kind = if crate::tables::is_generated(table, column) {
        ColumnKind::Generated
    } else if listed(SERVER_OWNED_COLUMNS, table, column) || column == "updated_at" {
        // `updated_at` is kept by a trigger on every write; a laptop's value would only make
        // every concurrent edit of a row conflict on it.
        ColumnKind::ServerOwned
    } else if matches!(column, "id" | "tenant_id" | "created_at" | "created_by")
        || listed(INSERT_ONLY_COLUMNS, table, column)
    {
        ColumnKind::InsertOnly
    } else if column == "modified_by" {
        ColumnKind::Bookkeeping
    } else {
        ColumnKind::Editable
    };
    Some(kind)
}

// ---------------------------------------------------------------------------------------------
// Reservation status
// ---------------------------------------------------------------------------------------------

/// A reservation's status (`reservations_status_check`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReservationStatus {
    Pending,
    Confirmed,
    CheckedIn,
    CheckedOut,
    Cancelled,
    NoShow,
}

impl ReservationStatus {
    /// The status as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            ReservationStatus::Pending => "pending",
            ReservationStatus::Confirmed => "confirmed",
            ReservationStatus::CheckedIn => "checked_in",
            ReservationStatus::CheckedOut => "checked_out",
            ReservationStatus::Cancelled => "cancelled",
            ReservationStatus::NoShow => "no_show",
        }
    }

    /// Checked out, cancelled and no-show stays never move again.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            ReservationStatus::CheckedOut
                | ReservationStatus::Cancelled
                | ReservationStatus::NoShow
        )
    }
}

impl FromStr for ReservationStatus {
    type Err = ();

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        use ReservationStatus::*;
        [Pending, Confirmed, CheckedIn, CheckedOut, Cancelled, NoShow]
            .into_iter()
            .find(|status| status.as_str() == text)
            .ok_or(())
    }
}

/// Whether a reservation may move from `from` to `to`. Staying put is always allowed; a
/// confirmation may be taken back to pending; nothing leaves a terminal status, and a guest in
/// the house can only check out.
pub fn status_transition_allowed(from: ReservationStatus, to: ReservationStatus) -> bool {
    use ReservationStatus::*;
    from == to
        || matches!(
            (from, to),
            (Pending, Confirmed | Cancelled | NoShow | CheckedIn)
                | (Confirmed, CheckedIn | Cancelled | NoShow | Pending)
                | (CheckedIn, CheckedOut)
        )
}

// ---------------------------------------------------------------------------------------------
// Inputs and decisions
// ---------------------------------------------------------------------------------------------

/// An update a laptop pushed for one row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncomingUpdate {
    pub table: String,
    pub id: Uuid,
    /// The new values of the columns the laptop changed.
    pub changed: Values,
    /// What the laptop's mirror held before the edit, for the changed columns — and ideally for
    /// every column of each field group touched, which lets a concurrent edit of a sibling
    /// column (the postal code next to an edited city) be seen.
    #[serde(default)]
    pub base: Values,
    /// The change's clock stamp, already capped by the server ([`crate::hlc::cap`]).
    pub stamp: Hlc,
}

/// The row as the server holds it now.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ServerRow {
    /// Current values of the synced columns.
    pub values: Values,
    /// The stamp of the last write of each field group. A group without one (a row imported or
    /// written before stamps existed) counts as older than any edit.
    #[serde(default)]
    pub group_stamps: BTreeMap<GroupKey, Hlc>,
}

/// Why the laptop's and the server's values of a field group are shown to a person.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConflictReason {
    /// A concurrent edit with a newer stamp won: `mine` was not applied.
    Superseded,
    /// The laptop's edit won over a concurrent one: `theirs` was overwritten and is kept here.
    Overwritten,
    /// The reservation status cannot move from the server's current status to the laptop's:
    /// `mine` was not applied, whatever its stamp.
    InvalidTransition,
}

/// A field group on which two edits met. `mine` is the laptop's view of the group after its
/// edit (the columns it reported), `theirs` the server's whole group before this change.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Conflict {
    pub group: GroupKey,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub mine: Values,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub theirs: Values,
    pub reason: ConflictReason,
}

/// Why a whole change is refused; machine-readable, sent back to the laptop with the row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectReason {
    /// An update or delete of a ledger or log row.
    AppendOnly,
    /// Any write to a table only the server writes, or an update naming only columns the server
    /// writes.
    ServerOwned,
    /// A table that is not synced.
    UnknownTable,
    /// A column that is not synced for the table.
    UnknownColumn,
    /// An update of an erased (anonymized) guest, which must never bring the data back.
    RowErased,
    /// A delete made before another device's later edit of the row: the edit stands.
    EditedElsewhere,
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            RejectReason::AppendOnly => "append_only",
            RejectReason::ServerOwned => "server_owned",
            RejectReason::UnknownTable => "unknown_table",
            RejectReason::UnknownColumn => "unknown_column",
            RejectReason::RowErased => "row_erased",
            RejectReason::EditedElsewhere => "edited_elsewhere",
        };
        f.write_str(text)
    }
}

/// The verdict on an update.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum Decision {
    /// Write `values` (possibly none of the change, possibly a subset) and set `group_stamps`
    /// for the groups written; record `conflicts` for review. No conflicts: the change applied
    /// as sent; some: it was merged.
    Apply {
        values: Values,
        group_stamps: BTreeMap<GroupKey, Hlc>,
        conflicts: Vec<Conflict>,
    },
    /// Write nothing.
    Reject { reason: RejectReason },
}

// ---------------------------------------------------------------------------------------------
// Insert and delete
// ---------------------------------------------------------------------------------------------

/// Whether and what of a laptop's insert may be written: unknown and server-owned tables and
/// unknown columns are refused; server-owned and generated columns are dropped, so the server
/// assigns numbers and balances itself.
pub fn check_insert(table: &str, values: &Values) -> Result<Values, RejectReason> {
    let table = writable_table(table, Write::Insert)?;
    check_columns(table, values.keys())?;
    Ok(values
        .iter()
        .filter(|(column, _)| {
            column_kind(table.name, column).is_some_and(ColumnKind::taken_on_insert)
        })
        .map(|(column, value)| (column.clone(), value.clone()))
        .collect())
}

/// The stamps an inserted row starts with: `stamp` for every field group among `values`.
pub fn insert_group_stamps(table: &str, values: &Values, stamp: Hlc) -> BTreeMap<GroupKey, Hlc> {
    values
        .keys()
        .filter(|column| column_kind(table, column) == Some(ColumnKind::Editable))
        .map(|column| (group_of(table, column), stamp))
        .collect()
}

/// Whether a laptop may delete a row of `table`: only entity rows.
pub fn check_delete(table: &str) -> Result<(), RejectReason> {
    writable_table(table, Write::UpdateOrDelete).map(|_| ())
}

/// The verdict on a laptop's delete stamped `stamp` (capped by the caller), given the stamps of
/// the row's last writes: a delete older than some later edit of the row loses to that edit (the
/// row stays, the delete goes to the laptop's conflicts inbox, where "keep mine" deletes again);
/// otherwise the delete applies. Without a stamp nothing is known of its time, and it applies.
pub fn merge_delete(
    table: &str,
    stamp: Option<Hlc>,
    group_stamps: &BTreeMap<GroupKey, Hlc>,
) -> Result<(), RejectReason> {
    check_delete(table)?;
    match stamp {
        Some(stamp) if group_stamps.values().any(|written| *written > stamp) => {
            Err(RejectReason::EditedElsewhere)
        }
        _ => Ok(()),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Write {
    Insert,
    UpdateOrDelete,
}

/// The synced table `name`, if a laptop may make this kind of write to it.
fn writable_table(name: &str, write: Write) -> Result<&'static SyncedTable, RejectReason> {
    let table = synced_table(name).ok_or(RejectReason::UnknownTable)?;
    match (class_of(table.name), write) {
        (TableClass::ServerOwned, _) => Err(RejectReason::ServerOwned),
        (TableClass::AppendOnly, Write::UpdateOrDelete) => Err(RejectReason::AppendOnly),
        _ => Ok(table),
    }
}

/// Refuses the change if it names a column that is not synced: a laptop on another schema
/// version must not have part of its change silently ignored.
fn check_columns<'c>(
    table: &SyncedTable,
    mut columns: impl Iterator<Item = &'c String>,
) -> Result<(), RejectReason> {
    if columns.all(|column| table.columns.contains(&column.as_str())) {
        Ok(())
    } else {
        Err(RejectReason::UnknownColumn)
    }
}

/// An anonymized guest: its erasure is final.
fn is_erased(table: &str, values: &Values) -> bool {
    table == "guests" && values.get("anonymized_at").is_some_and(|at| !at.is_null())
}

// ---------------------------------------------------------------------------------------------
// Update
// ---------------------------------------------------------------------------------------------

/// The verdict on `incoming`, given the row as the server holds it (see the module header for
/// the rule). The caller caps the stamp first and validates the merged row before it commits.
pub fn merge_update(incoming: &IncomingUpdate, server: &ServerRow) -> Decision {
    match check_update(incoming, server) {
        Ok(table) => merge_groups(table, incoming, server),
        Err(reason) => Decision::Reject { reason },
    }
}

fn check_update(
    incoming: &IncomingUpdate,
    server: &ServerRow,
) -> Result<&'static SyncedTable, RejectReason> {
    let table = writable_table(&incoming.table, Write::UpdateOrDelete)?;
    check_columns(table, incoming.changed.keys().chain(incoming.base.keys()))?;
    if is_erased(table.name, &server.values) {
        return Err(RejectReason::RowErased);
    }
    // A change that names no column a laptop edits (only numbers, balances, metrics, keys) can
    // do nothing: refused with its reason rather than answered "applied".
    if !incoming.changed.is_empty()
        && !incoming
            .changed
            .keys()
            .any(|column| column_kind(table.name, column) == Some(ColumnKind::Editable))
    {
        return Err(RejectReason::ServerOwned);
    }
    Ok(table)
}

/// What happens to one field group the laptop changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// The server already holds the laptop's values.
    Unchanged,
    /// Write the laptop's values.
    Apply,
    /// Write the laptop's values and report the server's, which a concurrent edit had set.
    Overwrite,
    /// Keep the server's values and report the laptop's.
    Lose(ConflictReason),
}

fn merge_groups(table: &SyncedTable, incoming: &IncomingUpdate, server: &ServerRow) -> Decision {
    let mut values = Values::new();
    let mut group_stamps = BTreeMap::new();
    let mut conflicts = Vec::new();
    for group in changed_groups(table, incoming) {
        let verdict = decide_group(table, &group, incoming, server);
        match verdict {
            Verdict::Apply => values.extend(group_changes(table, &group, incoming)),
            // Against a concurrent edit, the winner's whole view of the group is taken.
            Verdict::Overwrite => values.extend(group_view(table, &group, incoming)),
            Verdict::Unchanged | Verdict::Lose(_) => {}
        }
        if matches!(
            verdict,
            Verdict::Apply | Verdict::Overwrite | Verdict::Unchanged
        ) {
            // Stamps never go backwards: a write that follows the stored value (no concurrent
            // edit) but carries an older stamp comes from a slow clock, not from the past. The
            // stamp moves on for an edit the server already holds too, so the row's clock is the
            // same whichever of two identical edits arrived first.
            let stored = server.group_stamps.get(&group).copied();
            let stamp = stored.map_or(incoming.stamp, |s| s.max(incoming.stamp));
            if verdict != Verdict::Unchanged || Some(stamp) != stored {
                group_stamps.insert(group.clone(), stamp);
            }
        }
        let reported = match verdict {
            Verdict::Overwrite => Some(ConflictReason::Overwritten),
            Verdict::Lose(reason) => Some(reason),
            Verdict::Unchanged | Verdict::Apply => None,
        };
        if let Some(reason) = reported {
            conflicts.push(conflict(table, group, incoming, server, reason));
        }
    }
    // Who made the change is recorded only if some of it is written.
    if !values.is_empty() {
        values.extend(columns_of_kind(table, incoming, ColumnKind::Bookkeeping));
    }
    Decision::Apply {
        values,
        group_stamps,
        conflicts,
    }
}

/// The field groups of the editable columns the laptop changed; every other column it sent is
/// dropped here (server-owned, generated, insert-only) or follows the change (bookkeeping).
fn changed_groups(table: &SyncedTable, incoming: &IncomingUpdate) -> Vec<GroupKey> {
    let mut groups: Vec<GroupKey> = columns_of_kind(table, incoming, ColumnKind::Editable)
        .filter(|(column, value)| is_edit(incoming, column, value))
        .map(|(column, _)| group_of(table.name, &column))
        .collect();
    groups.sort();
    groups.dedup();
    groups
}

/// Whether a changed column is an edit: a value equal to what the laptop saw there (a form saved
/// unchanged) is only part of its view, so that it neither stamps the group nor, arriving late,
/// undoes a concurrent edit it never saw.
fn is_edit(incoming: &IncomingUpdate, column: &str, value: &Value) -> bool {
    incoming
        .base
        .get(column)
        .is_none_or(|seen| !same_value(seen, value))
}

/// The laptop's changed columns of one kind.
fn columns_of_kind<'a>(
    table: &'a SyncedTable,
    incoming: &'a IncomingUpdate,
    kind: ColumnKind,
) -> impl Iterator<Item = (String, Value)> + 'a {
    incoming
        .changed
        .iter()
        .filter(move |(column, _)| column_kind(table.name, column) == Some(kind))
        .map(|(column, value)| (column.clone(), value.clone()))
}

/// The laptop's changed columns of one group.
fn group_changes<'a>(
    table: &'a SyncedTable,
    group: &'a GroupKey,
    incoming: &'a IncomingUpdate,
) -> impl Iterator<Item = (String, Value)> + 'a {
    group_columns(table, group).filter_map(|column| {
        incoming
            .changed
            .get(column)
            .map(|value| (column.to_owned(), value.clone()))
    })
}

/// The laptop's view of one group after its edit: the columns it changed, and the others of the
/// group as it saw them (its base). Columns it reported nothing of are left out.
fn group_view<'a>(
    table: &'a SyncedTable,
    group: &'a GroupKey,
    incoming: &'a IncomingUpdate,
) -> impl Iterator<Item = (String, Value)> + 'a {
    group_columns(table, group).filter_map(|column| {
        incoming
            .changed
            .get(column)
            .or_else(|| incoming.base.get(column))
            .map(|value| (column.to_owned(), value.clone()))
    })
}

fn decide_group(
    table: &SyncedTable,
    group: &GroupKey,
    incoming: &IncomingUpdate,
    server: &ServerRow,
) -> Verdict {
    if already_converged(table, group, incoming, server) {
        return Verdict::Unchanged;
    }
    if let Some(verdict) = status_verdict(table, group, incoming, server) {
        return verdict;
    }
    if !concurrent_edit(table, group, incoming, server) {
        return Verdict::Apply;
    }
    // `None` (never stamped) orders below every stamp.
    if Some(incoming.stamp) > server.group_stamps.get(group).copied() {
        Verdict::Overwrite
    } else {
        Verdict::Lose(ConflictReason::Superseded)
    }
}

/// The server already holds the laptop's view of the group (two desks made the same edit, or
/// the change was applied before): no write, and nothing to review. The whole view is compared,
/// not only the changed columns: a sibling column another clerk changed is a concurrent edit.
fn already_converged(
    table: &SyncedTable,
    group: &GroupKey,
    incoming: &IncomingUpdate,
    server: &ServerRow,
) -> bool {
    group_view(table, group, incoming)
        .all(|(column, value)| same_value(server_value(server, &column), &value))
}

/// A reservation's status moves by the state machine from the server's current status: a move
/// the machine forbids is a conflict whatever the stamps, and a real move it allows applies even
/// against a newer edit of the group (the check-in happened; the stamp only says when the laptop
/// heard of it). Staying in the same status leaves the group to the usual rule.
fn status_verdict(
    table: &SyncedTable,
    group: &GroupKey,
    incoming: &IncomingUpdate,
    server: &ServerRow,
) -> Option<Verdict> {
    if table.name != "reservations" || group.as_str() != STATUS_GROUP {
        return None;
    }
    let to = incoming.changed.get("status")?;
    let status = |value: &Value| value.as_str().and_then(|text| text.parse().ok());
    let (Some(from), Some(to)) = (status(server_value(server, "status")), status(to)) else {
        return Some(Verdict::Lose(ConflictReason::InvalidTransition));
    };
    if !status_transition_allowed(from, to) {
        Some(Verdict::Lose(ConflictReason::InvalidTransition))
    } else if from == to {
        None
    } else if concurrent_edit(table, group, incoming, server) {
        Some(Verdict::Overwrite)
    } else {
        Some(Verdict::Apply)
    }
}

/// Someone else wrote the group since the laptop's base: a column of the group the laptop
/// reported differs on the server from what the laptop saw, or the laptop changed a column
/// without saying what it saw there (so nothing proves the edit was not concurrent).
fn concurrent_edit(
    table: &SyncedTable,
    group: &GroupKey,
    incoming: &IncomingUpdate,
    server: &ServerRow,
) -> bool {
    group_columns(table, group)
        .filter(|column| {
            incoming.changed.contains_key(*column) || incoming.base.contains_key(*column)
        })
        .any(|column| match incoming.base.get(column) {
            Some(seen) => !same_value(server_value(server, column), seen),
            None => true,
        })
}

/// The conflict record of a group: the laptop's view of it after the edit, and the server's.
fn conflict(
    table: &SyncedTable,
    group: GroupKey,
    incoming: &IncomingUpdate,
    server: &ServerRow,
    reason: ConflictReason,
) -> Conflict {
    let mut mine = Values::new();
    let mut theirs = Values::new();
    for column in group_columns(table, &group) {
        if let Some(value) = incoming
            .changed
            .get(column)
            .or_else(|| incoming.base.get(column))
        {
            mine.insert(column.to_owned(), value.clone());
        }
        theirs.insert(column.to_owned(), server_value(server, column).clone());
    }
    Conflict {
        group,
        mine,
        theirs,
        reason,
    }
}

/// A column of the server's row; a column it lacks reads as null.
fn server_value<'a>(server: &'a ServerRow, column: &str) -> &'a Value {
    server.values.get(column).unwrap_or(&Value::Null)
}

/// JSON equality, except that numbers compare by value: Postgres and SQLite may render the same
/// amount as `5` and `5.0`.
fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) if x.is_f64() || y.is_f64() => {
            x.as_f64() == y.as_f64()
        }
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;
    use serde_json::json;
    use ReservationStatus::*;

    /// The server's last write of every group.
    const SERVER_WALL: i64 = 1_767_225_600_000;
    const SERVER_NODE: u128 = 2;

    fn stamp(wall_ms: i64, node: u128) -> Hlc {
        Hlc {
            wall_ms,
            counter: 0,
            node: Uuid::from_u128(node),
        }
    }

    fn server_stamp() -> Hlc {
        stamp(SERVER_WALL, SERVER_NODE)
    }

    /// A laptop stamp newer than the server's.
    fn newer() -> Hlc {
        stamp(SERVER_WALL + 60_000, 1)
    }

    /// A laptop stamp older than the server's.
    fn older() -> Hlc {
        stamp(SERVER_WALL - 60_000, 1)
    }

    fn values(object: Value) -> Values {
        serde_json::from_value(object).expect("a JSON object")
    }

    fn reservation(overrides: Value) -> ServerRow {
        let mut row = values(json!({
            "tenant_id": "00000000-0000-0000-0000-00000000000a",
            "id": "00000000-0000-0000-0000-0000000000b1",
            "guest_id": null,
            "guest_name": "Ada Lovelace",
            "guest_email": "ada@example.com",
            "guest_phone": null,
            "confirmation_number": 42,
            "status": "confirmed",
            "confirmed_at": "2026-01-01T09:00:00Z",
            "checked_in_at": null,
            "checked_out_at": null,
            "cancelled_at": null,
            "no_show_at": null,
            "cancellation_reason": null,
            "property_id": "p1",
            "room_type_id": "double",
            "room_id": "101",
            "check_in_date": "2026-03-01",
            "check_out_date": "2026-03-04",
            "nights": 3,
            "rate_per_night_cents": 12000,
            "total_amount_cents": 36000,
            "currency": "EUR",
            "deposit_paid_cents": 0,
            "balance_due_cents": 36000,
            "payment_status": "pending",
            "notes": null,
            "modified_by": null,
        }));
        row.extend(values(overrides));
        with_stamps(row)
    }

    fn guest(overrides: Value) -> ServerRow {
        let mut row = values(json!({
            "tenant_id": "00000000-0000-0000-0000-00000000000a",
            "id": "00000000-0000-0000-0000-0000000000c1",
            "first_name": "Grace",
            "last_name": "Hopper",
            "full_name": "Grace Hopper",
            "email": "grace@example.com",
            "phone": null,
            "address_line1": "1 Rue de Rivoli",
            "address_line2": null,
            "city": "Paris",
            "region": null,
            "postal_code": "75001",
            "country_code": "FR",
            "total_bookings": 3,
            "notes": null,
            "anonymized_at": null,
        }));
        row.extend(values(overrides));
        with_stamps(row)
    }

    /// Every group of the row last written at the server's stamp.
    fn with_stamps(values: Values) -> ServerRow {
        let table = if values.contains_key("status") {
            "reservations"
        } else {
            "guests"
        };
        let group_stamps = values
            .keys()
            .map(|column| (group_of(table, column), server_stamp()))
            .collect();
        ServerRow {
            values,
            group_stamps,
        }
    }

    fn update(table: &str, changed: Value, base: Value, stamp: Hlc) -> IncomingUpdate {
        IncomingUpdate {
            table: table.to_owned(),
            id: Uuid::from_u128(0xb1),
            changed: values(changed),
            base: values(base),
            stamp,
        }
    }

    fn apply(written: Value, stamps: &[(&str, Hlc)], conflicts: Vec<Conflict>) -> Decision {
        Decision::Apply {
            values: values(written),
            group_stamps: stamps
                .iter()
                .map(|(group, stamp)| (GroupKey::from(*group), *stamp))
                .collect(),
            conflicts,
        }
    }

    fn conflict(group: &str, mine: Value, theirs: Value, reason: ConflictReason) -> Conflict {
        Conflict {
            group: group.into(),
            mine: values(mine),
            theirs: values(theirs),
            reason,
        }
    }

    fn stay(check_out_date: &str) -> Value {
        json!({
            "check_in_date": "2026-03-01",
            "check_out_date": check_out_date,
            "room_type_id": "double",
            "room_id": "101",
            "property_id": "p1",
        })
    }

    fn status_group(overrides: Value) -> Value {
        let mut group = values(json!({
            "status": "confirmed",
            "confirmed_at": "2026-01-01T09:00:00Z",
            "checked_in_at": null,
            "checked_out_at": null,
            "cancelled_at": null,
            "no_show_at": null,
            "cancellation_reason": null,
        }));
        group.extend(values(overrides));
        json!(group)
    }

    fn address(postal_code: &str) -> Value {
        json!({
            "address_line1": "1 Rue de Rivoli",
            "address_line2": null,
            "city": "Paris",
            "region": null,
            "postal_code": postal_code,
            "country_code": "FR",
        })
    }

    fn reject(reason: RejectReason) -> Decision {
        Decision::Reject { reason }
    }

    #[rstest]
    #[case::different_groups_both_apply(
        // Someone else wrote the notes; this laptop moved the check-out: both survive.
        update("reservations", json!({"check_out_date": "2026-03-05"}), json!({"check_out_date": "2026-03-04"}), older()),
        reservation(json!({"notes": "late arrival"})),
        apply(json!({"check_out_date": "2026-03-05"}), &[("stay", server_stamp())], vec![]),
    )]
    #[case::same_group_laptop_newer_wins_and_server_value_reported(
        update("reservations", json!({"check_out_date": "2026-03-06"}), json!({"check_out_date": "2026-03-04"}), newer()),
        reservation(json!({"check_out_date": "2026-03-05"})),
        apply(json!({"check_out_date": "2026-03-06"}), &[("stay", newer())], vec![conflict(
            "stay", json!({"check_out_date": "2026-03-06"}), stay("2026-03-05"), ConflictReason::Overwritten,
        )]),
    )]
    #[case::same_group_server_newer_wins_and_mine_reported(
        update("reservations", json!({"check_out_date": "2026-03-06"}), json!({"check_out_date": "2026-03-04"}), older()),
        reservation(json!({"check_out_date": "2026-03-05"})),
        apply(json!({}), &[], vec![conflict(
            "stay", json!({"check_out_date": "2026-03-06"}), stay("2026-03-05"), ConflictReason::Superseded,
        )]),
    )]
    #[case::no_concurrent_edit_applies_even_with_an_older_stamp(
        update("reservations", json!({"room_id": "102"}), json!({"room_id": "101"}), older()),
        reservation(json!({})),
        // The group stamp does not go back to the laptop's slow clock.
        apply(json!({"room_id": "102"}), &[("stay", server_stamp())], vec![]),
    )]
    #[case::no_concurrent_edit_applies_with_a_newer_stamp(
        update("reservations", json!({"room_id": "102"}), json!({"room_id": "101"}), newer()),
        reservation(json!({})),
        apply(json!({"room_id": "102"}), &[("stay", newer())], vec![]),
    )]
    #[case::tie_goes_to_the_higher_node(
        update("reservations", json!({"notes": "mine"}), json!({"notes": null}), stamp(SERVER_WALL, SERVER_NODE + 1)),
        reservation(json!({"notes": "theirs"})),
        apply(json!({"notes": "mine"}), &[("notes", stamp(SERVER_WALL, SERVER_NODE + 1))], vec![conflict(
            "notes", json!({"notes": "mine"}), json!({"notes": "theirs"}), ConflictReason::Overwritten,
        )]),
    )]
    #[case::tie_lost_by_the_lower_node(
        update("reservations", json!({"notes": "mine"}), json!({"notes": null}), stamp(SERVER_WALL, SERVER_NODE - 1)),
        reservation(json!({"notes": "theirs"})),
        apply(json!({}), &[], vec![conflict(
            "notes", json!({"notes": "mine"}), json!({"notes": "theirs"}), ConflictReason::Superseded,
        )]),
    )]
    #[case::address_conflicts_as_a_unit(
        // The laptop edited the city; someone else changed the postal code beside it. The whole
        // address conflicts, so a merged row never mixes two people's halves of it.
        update("guests", json!({"city": "Lyon"}), json!({"city": "Paris", "postal_code": "75001"}), older()),
        guest(json!({"postal_code": "75002"})),
        apply(json!({}), &[], vec![conflict(
            "address", json!({"city": "Lyon", "postal_code": "75001"}), address("75002"), ConflictReason::Superseded,
        )]),
    )]
    #[case::address_edits_of_two_fields_win_together(
        update("guests", json!({"city": "Lyon", "postal_code": "69001"}), json!({"city": "Paris", "postal_code": "75001"}), newer()),
        guest(json!({"postal_code": "75002"})),
        apply(json!({"city": "Lyon", "postal_code": "69001"}), &[("address", newer())], vec![conflict(
            "address", json!({"city": "Lyon", "postal_code": "69001"}), address("75002"), ConflictReason::Overwritten,
        )]),
    )]
    #[case::guest_groups_merge_separately(
        // The laptop reports its whole view of each group it touched (`base`).
        update(
            "guests",
            json!({"email": "g@example.org", "last_name": "Murray Hopper"}),
            json!({"email": "grace@example.com", "phone": null, "first_name": "Grace", "last_name": "Hopper"}),
            older(),
        ),
        guest(json!({"first_name": "Amazing Grace"})),
        // The name group had a concurrent edit and an older stamp; the contact group had none.
        apply(json!({"email": "g@example.org"}), &[("email", server_stamp())], vec![conflict(
            "name",
            json!({"first_name": "Grace", "last_name": "Murray Hopper"}),
            json!({"first_name": "Amazing Grace", "last_name": "Hopper"}),
            ConflictReason::Superseded,
        )]),
    )]
    #[case::same_edit_on_both_sides_is_no_conflict(
        update("reservations", json!({"notes": "VIP"}), json!({"notes": null}), older()),
        reservation(json!({"notes": "VIP"})),
        apply(json!({}), &[], vec![]),
    )]
    #[case::changed_column_without_base_is_decided_by_the_clock(
        update("reservations", json!({"notes": "mine"}), json!({}), older()),
        reservation(json!({})),
        apply(json!({}), &[], vec![conflict(
            "notes", json!({"notes": "mine"}), json!({"notes": null}), ConflictReason::Superseded,
        )]),
    )]
    #[case::never_stamped_group_loses_to_any_edit(
        update("reservations", json!({"notes": "mine"}), json!({"notes": null}), older()),
        ServerRow { group_stamps: BTreeMap::new(), ..reservation(json!({"notes": "imported"})) },
        apply(json!({"notes": "mine"}), &[("notes", older())], vec![conflict(
            "notes", json!({"notes": "mine"}), json!({"notes": "imported"}), ConflictReason::Overwritten,
        )]),
    )]
    #[case::numbers_compare_by_value(
        update("reservations", json!({"total_amount_cents": 5000}), json!({"total_amount_cents": 36000.0}), older()),
        reservation(json!({})),
        apply(json!({"total_amount_cents": 5000}), &[("payment", server_stamp())], vec![]),
    )]
    #[case::paid_amount_is_the_servers(
        update("reservations", json!({"deposit_paid_cents": 5000, "payment_status": "paid"}), json!({"deposit_paid_cents": 0}), newer()),
        reservation(json!({})),
        reject(RejectReason::ServerOwned),
    )]
    #[case::server_owned_columns_dropped(
        update("reservations", json!({"confirmation_number": 7, "legacy_confirmation_code": "T-1", "notes": "x"}), json!({"notes": null}), older()),
        reservation(json!({})),
        apply(json!({"notes": "x"}), &[("notes", server_stamp())], vec![]),
    )]
    #[case::generated_and_key_columns_dropped(
        update("reservations", json!({"nights": 9, "balance_due_cents": 1, "id": "x", "tenant_id": "y", "created_at": "z", "updated_at": "w", "notes": "x"}), json!({"notes": null}), newer()),
        reservation(json!({})),
        apply(json!({"notes": "x"}), &[("notes", newer())], vec![]),
    )]
    #[case::only_server_owned_columns_refused(
        update("guests", json!({"total_bookings": 99, "anonymized_at": "2026-01-01T00:00:00Z", "full_name": "X"}), json!({}), newer()),
        guest(json!({})),
        reject(RejectReason::ServerOwned),
    )]
    #[case::only_key_columns_refused(
        update("reservations", json!({"tenant_id": "y", "modified_by": "staff-2"}), json!({}), newer()),
        reservation(json!({})),
        reject(RejectReason::ServerOwned),
    )]
    #[case::bookkeeping_follows_an_applied_change(
        update("reservations", json!({"notes": "x", "modified_by": "staff-2"}), json!({"notes": null, "modified_by": "staff-1"}), newer()),
        reservation(json!({"modified_by": "staff-3"})),
        apply(json!({"notes": "x", "modified_by": "staff-2"}), &[("notes", newer())], vec![]),
    )]
    #[case::bookkeeping_dropped_when_nothing_applies(
        update("reservations", json!({"notes": "x", "modified_by": "staff-2"}), json!({"notes": null}), older()),
        reservation(json!({"notes": "y"})),
        apply(json!({}), &[], vec![conflict(
            "notes", json!({"notes": "x"}), json!({"notes": "y"}), ConflictReason::Superseded,
        )]),
    )]
    #[case::append_only_update_rejected(
        update("loyalty_transactions", json!({"points": 500}), json!({"points": 50}), newer()),
        ServerRow::default(),
        reject(RejectReason::AppendOnly),
    )]
    #[case::log_update_rejected(
        update("communication_logs", json!({"status": "read"}), json!({}), newer()),
        ServerRow::default(),
        reject(RejectReason::AppendOnly),
    )]
    #[case::server_owned_table_rejected(
        update("invoices", json!({"status": "paid"}), json!({"status": "pending"}), newer()),
        ServerRow::default(),
        reject(RejectReason::ServerOwned),
    )]
    #[case::unknown_table_rejected(
        update("webhooks", json!({"url": "https://example.com"}), json!({}), newer()),
        ServerRow::default(),
        reject(RejectReason::UnknownTable),
    )]
    #[case::unknown_column_rejected(
        update("reservations", json!({"notes": "x", "vip_lounge": true}), json!({"notes": null}), newer()),
        reservation(json!({})),
        reject(RejectReason::UnknownColumn),
    )]
    #[case::unknown_base_column_rejected(
        update("guests", json!({"notes": "x"}), json!({"search_text": "grace"}), newer()),
        guest(json!({})),
        reject(RejectReason::UnknownColumn),
    )]
    #[case::erased_guest_rejected(
        update("guests", json!({"first_name": "Grace"}), json!({"first_name": "Grace"}), newer()),
        guest(json!({"first_name": "", "last_name": "", "anonymized_at": "2026-01-02T00:00:00Z"})),
        reject(RejectReason::RowErased),
    )]
    #[case::late_cancel_does_not_undo_a_check_in(
        // The cancellation carries the newer stamp, and still does not apply.
        update("reservations", json!({"status": "cancelled", "cancelled_at": "2026-03-01T18:00:00Z"}), json!({"status": "confirmed", "cancelled_at": null}), newer()),
        reservation(json!({"status": "checked_in", "checked_in_at": "2026-03-01T15:00:00Z"})),
        apply(json!({}), &[], vec![conflict(
            "status",
            json!({"status": "cancelled", "cancelled_at": "2026-03-01T18:00:00Z"}),
            status_group(json!({"status": "checked_in", "checked_in_at": "2026-03-01T15:00:00Z"})),
            ConflictReason::InvalidTransition,
        )]),
    )]
    #[case::check_in_applies(
        update("reservations", json!({"status": "checked_in", "checked_in_at": "2026-03-01T15:00:00Z"}), json!({"status": "confirmed", "checked_in_at": null}), newer()),
        reservation(json!({})),
        apply(json!({"status": "checked_in", "checked_in_at": "2026-03-01T15:00:00Z"}), &[("status", newer())], vec![]),
    )]
    #[case::valid_move_from_the_servers_status_applies_despite_an_older_stamp(
        // Someone confirmed the booking while this laptop, offline, checked the guest in: the
        // check-in is valid from `confirmed`, so it applies; the confirmation it wrote over is
        // kept for review.
        update("reservations", json!({"status": "checked_in", "checked_in_at": "2026-03-01T15:00:00Z"}), json!({"status": "pending", "checked_in_at": null}), older()),
        reservation(json!({})),
        apply(json!({"status": "checked_in", "checked_in_at": "2026-03-01T15:00:00Z"}), &[("status", server_stamp())], vec![conflict(
            "status",
            json!({"status": "checked_in", "checked_in_at": "2026-03-01T15:00:00Z"}),
            status_group(json!({})),
            ConflictReason::Overwritten,
        )]),
    )]
    #[case::status_outside_the_machine_is_invalid(
        update("reservations", json!({"status": "archived"}), json!({"status": "confirmed"}), newer()),
        reservation(json!({})),
        apply(json!({}), &[], vec![conflict(
            "status", json!({"status": "archived"}), status_group(json!({})), ConflictReason::InvalidTransition,
        )]),
    )]
    #[case::same_status_concurrent_details_go_by_the_clock(
        // Both desks confirmed; the status stays, so the confirmation times resolve by clock.
        update("reservations", json!({"status": "confirmed", "confirmed_at": "2026-01-01T08:00:00Z"}), json!({"status": "pending", "confirmed_at": null}), older()),
        reservation(json!({})),
        apply(json!({}), &[], vec![conflict(
            "status",
            json!({"status": "confirmed", "confirmed_at": "2026-01-01T08:00:00Z"}),
            status_group(json!({})),
            ConflictReason::Superseded,
        )]),
    )]
    #[case::status_details_without_a_move_merge_as_usual(
        update("reservations", json!({"cancellation_reason": "guest called"}), json!({"cancellation_reason": null}), older()),
        reservation(json!({"status": "cancelled", "cancelled_at": "2026-02-01T10:00:00Z"})),
        apply(json!({"cancellation_reason": "guest called"}), &[("status", server_stamp())], vec![]),
    )]
    fn merge_update_decides(
        #[case] incoming: IncomingUpdate,
        #[case] server: ServerRow,
        #[case] expected: Decision,
    ) {
        assert_eq!(merge_update(&incoming, &server), expected);
    }

    #[rstest]
    #[case::pending_to_confirmed(Pending, Confirmed, true)]
    #[case::pending_to_cancelled(Pending, Cancelled, true)]
    #[case::pending_to_no_show(Pending, NoShow, true)]
    #[case::pending_to_checked_in(Pending, CheckedIn, true)]
    #[case::pending_to_checked_out(Pending, CheckedOut, false)]
    #[case::confirmed_to_checked_in(Confirmed, CheckedIn, true)]
    #[case::confirmed_to_cancelled(Confirmed, Cancelled, true)]
    #[case::confirmed_to_no_show(Confirmed, NoShow, true)]
    #[case::confirmed_to_pending(Confirmed, Pending, true)]
    #[case::confirmed_to_checked_out(Confirmed, CheckedOut, false)]
    #[case::checked_in_to_checked_out(CheckedIn, CheckedOut, true)]
    #[case::checked_in_to_cancelled(CheckedIn, Cancelled, false)]
    #[case::checked_in_to_no_show(CheckedIn, NoShow, false)]
    #[case::checked_in_to_confirmed(CheckedIn, Confirmed, false)]
    #[case::checked_in_to_pending(CheckedIn, Pending, false)]
    #[case::checked_out_to_checked_in(CheckedOut, CheckedIn, false)]
    #[case::checked_out_to_cancelled(CheckedOut, Cancelled, false)]
    #[case::checked_out_to_confirmed(CheckedOut, Confirmed, false)]
    #[case::cancelled_to_confirmed(Cancelled, Confirmed, false)]
    #[case::cancelled_to_pending(Cancelled, Pending, false)]
    #[case::cancelled_to_checked_in(Cancelled, CheckedIn, false)]
    #[case::cancelled_to_no_show(Cancelled, NoShow, false)]
    #[case::no_show_to_checked_in(NoShow, CheckedIn, false)]
    #[case::no_show_to_cancelled(NoShow, Cancelled, false)]
    #[case::no_show_to_confirmed(NoShow, Confirmed, false)]
    fn status_transitions(
        #[case] from: ReservationStatus,
        #[case] to: ReservationStatus,
        #[case] allowed: bool,
    ) {
        assert_eq!(status_transition_allowed(from, to), allowed);
    }

    #[rstest]
    fn staying_put_is_always_allowed(
        #[values(Pending, Confirmed, CheckedIn, CheckedOut, Cancelled, NoShow)]
        status: ReservationStatus,
    ) {
        assert!(status_transition_allowed(status, status));
        assert_eq!(status.as_str().parse(), Ok(status));
        assert_eq!(
            serde_json::to_value(status).expect("serialize"),
            json!(status.as_str())
        );
    }

    #[rstest]
    fn terminal_statuses_go_nowhere(
        #[values(CheckedOut, Cancelled, NoShow)] from: ReservationStatus,
        #[values(Pending, Confirmed, CheckedIn, CheckedOut, Cancelled, NoShow)]
        to: ReservationStatus,
    ) {
        assert!(from.is_terminal());
        assert_eq!(status_transition_allowed(from, to), from == to);
    }

    #[rstest]
    #[case::stay("reservations", "room_id", "stay")]
    #[case::reservation_guest("reservations", "guest_email", "guest")]
    #[case::reservation_status("reservations", "no_show_at", "status")]
    #[case::payment("reservations", "currency", "payment")]
    #[case::guest_name("guests", "last_name", "name")]
    #[case::guest_address("guests", "address_line2", "address")]
    #[case::guest_phone_alone("guests", "phone", "phone")]
    #[case::guest_email_alone("guests", "email", "email")]
    #[case::contact_preferences("guests", "marketing_consent", "contact_preferences")]
    #[case::property_address("properties", "country_code", "address")]
    #[case::own_group("reservations", "notes", "notes")]
    #[case::same_name_other_table("rooms", "notes", "notes")]
    #[case::currency_alone_outside_reservations("guests", "currency", "currency")]
    fn groups(#[case] table: &str, #[case] column: &str, #[case] group: &str) {
        assert_eq!(group_of(table, column).as_str(), group);
    }

    #[test]
    fn named_groups_hold_only_editable_synced_columns() {
        for group in FIELD_GROUPS {
            for column in group.columns {
                assert_eq!(
                    column_kind(group.table, column),
                    Some(ColumnKind::Editable),
                    "{}.{column} in group {}",
                    group.table,
                    group.name
                );
            }
            // A group named like a column of its table would share that column's stamp.
            let table = synced_table(group.table).expect("a synced table");
            assert!(
                !table.columns.contains(&group.name) || group.columns.contains(&group.name),
                "{}.{}",
                group.table,
                group.name
            );
        }
    }

    #[test]
    fn every_listed_table_and_column_is_synced() {
        for table in SERVER_OWNED_TABLES.iter().chain(APPEND_ONLY_TABLES) {
            assert!(synced_table(table).is_some(), "{table}");
        }
        for (table, columns) in SERVER_OWNED_COLUMNS {
            for column in *columns {
                assert!(column_kind(table, column).is_some(), "{table}.{column}");
            }
        }
        for (table, columns) in INSERT_ONLY_COLUMNS {
            for column in *columns {
                assert_eq!(
                    column_kind(table, column),
                    Some(ColumnKind::InsertOnly),
                    "{table}.{column}"
                );
            }
        }
        for (table, column) in crate::tables::GENERATED_COLUMNS {
            assert_eq!(
                column_kind(table, column),
                Some(ColumnKind::Generated),
                "{table}.{column}"
            );
        }
    }

    #[rstest]
    #[case::reservations("reservations", Some(TableClass::Entity))]
    #[case::guests("guests", Some(TableClass::Entity))]
    #[case::ledger("loyalty_transactions", Some(TableClass::AppendOnly))]
    #[case::log("communication_logs", Some(TableClass::AppendOnly))]
    #[case::folio_entries("folio_entries", Some(TableClass::AppendOnly))]
    #[case::folios("folios", Some(TableClass::Entity))]
    #[case::recipients("campaign_recipients", Some(TableClass::ServerOwned))]
    #[case::plans("plans", Some(TableClass::ServerOwned))]
    #[case::webhooks("webhooks", None)]
    fn table_classes(#[case] table: &str, #[case] class: Option<TableClass>) {
        assert_eq!(table_class(table), class);
    }

    #[rstest]
    #[case::entity_row_kept_without_server_owned_columns(
        "reservations",
        json!({"id": "r1", "tenant_id": "t", "guest_name": "Ada", "confirmation_number": 5, "nights": 3, "updated_at": "x", "created_at": "y"}),
        Ok(json!({"id": "r1", "tenant_id": "t", "guest_name": "Ada", "created_at": "y"})),
    )]
    #[case::ledger_insert_never_conflicts_and_balances_are_the_servers(
        "loyalty_transactions",
        json!({"id": "l1", "points": -200, "type": "redeem", "balance_before": 500, "balance_after": 300}),
        Ok(json!({"id": "l1", "points": -200, "type": "redeem"})),
    )]
    #[case::log_insert("communication_logs", json!({"id": "c1", "message": "hi"}), Ok(json!({"id": "c1", "message": "hi"})))]
    #[case::loyalty_member_numbers_dropped(
        "loyalty_members",
        json!({"id": "m1", "membership_number": 12, "points_balance": 1000, "status": "active"}),
        Ok(json!({"id": "m1", "status": "active"})),
    )]
    #[case::server_owned_table("usage_alerts", json!({"id": "u1"}), Err(RejectReason::ServerOwned))]
    #[case::unknown_table("devices", json!({"id": "d1"}), Err(RejectReason::UnknownTable))]
    #[case::unknown_column("guests", json!({"id": "g1", "password_hash": "x"}), Err(RejectReason::UnknownColumn))]
    fn check_insert_cases(
        #[case] table: &str,
        #[case] row: Value,
        #[case] expected: Result<Value, RejectReason>,
    ) {
        assert_eq!(check_insert(table, &values(row)), expected.map(values));
    }

    #[rstest]
    #[case::entity("guests", Ok(()))]
    #[case::ledger("loyalty_transactions", Err(RejectReason::AppendOnly))]
    #[case::log("communication_logs", Err(RejectReason::AppendOnly))]
    #[case::server_owned("subscriptions", Err(RejectReason::ServerOwned))]
    #[case::unknown("staff_passwords", Err(RejectReason::UnknownTable))]
    fn check_delete_cases(#[case] table: &str, #[case] expected: Result<(), RejectReason>) {
        assert_eq!(check_delete(table), expected);
    }

    fn written(stamp: Hlc) -> BTreeMap<GroupKey, Hlc> {
        BTreeMap::from([
            (GroupKey::from("contact"), server_stamp()),
            (GroupKey::from("notes"), stamp),
        ])
    }

    #[rstest]
    #[case::delete_after_every_edit_applies("guests", Some(newer()), written(server_stamp()), Ok(()))]
    #[case::delete_before_a_later_edit_loses(
        "guests",
        Some(stamp(SERVER_WALL - 1, 1)),
        written(server_stamp()),
        Err(RejectReason::EditedElsewhere)
    )]
    #[case::one_later_group_is_enough(
        "guests",
        Some(stamp(SERVER_WALL + 5, 1)),
        written(stamp(SERVER_WALL + 10, 3)),
        Err(RejectReason::EditedElsewhere)
    )]
    #[case::never_edited_row("guests", Some(stamp(1, 1)), BTreeMap::new(), Ok(()))]
    #[case::unstamped_delete_applies("guests", None, written(server_stamp()), Ok(()))]
    #[case::ledger_rows_stay(
        "loyalty_transactions",
        Some(newer()),
        BTreeMap::new(),
        Err(RejectReason::AppendOnly)
    )]
    fn merge_delete_cases(
        #[case] table: &str,
        #[case] delete_stamp: Option<Hlc>,
        #[case] group_stamps: BTreeMap<GroupKey, Hlc>,
        #[case] expected: Result<(), RejectReason>,
    ) {
        assert_eq!(merge_delete(table, delete_stamp, &group_stamps), expected);
    }

    #[test]
    fn insert_stamps_every_group_once() {
        let row = values(
            json!({"id": "r1", "check_in_date": "2026-03-01", "room_id": "101", "notes": "x", "nights": 3}),
        );
        let stamps = insert_group_stamps("reservations", &row, newer());
        let groups: Vec<&str> = stamps.keys().map(GroupKey::as_str).collect();
        assert_eq!(groups, ["notes", "stay"]);
    }

    #[test]
    fn decisions_and_reasons_are_machine_readable() {
        assert_eq!(
            serde_json::to_value(reject(RejectReason::RowErased)).expect("serialize"),
            json!({"decision": "reject", "reason": "row_erased"})
        );
        assert_eq!(RejectReason::AppendOnly.to_string(), "append_only");
        let decision = apply(
            json!({"notes": "x"}),
            &[("notes", newer())],
            vec![conflict(
                "notes",
                json!({"notes": "x"}),
                json!({"notes": "y"}),
                ConflictReason::Overwritten,
            )],
        );
        let json = serde_json::to_value(&decision).expect("serialize");
        assert_eq!(json["decision"], "apply");
        assert_eq!(json["group_stamps"]["notes"], json!(newer().to_string()));
        assert_eq!(json["conflicts"][0]["reason"], "overwritten");
        let back: Decision = serde_json::from_value(json).expect("deserialize");
        assert_eq!(back, decision);
        let incoming = update(
            "guests",
            json!({"city": "Lyon"}),
            json!({"city": "Paris"}),
            older(),
        );
        let text = serde_json::to_string(&incoming).expect("serialize");
        assert_eq!(
            serde_json::from_str::<IncomingUpdate>(&text).expect("deserialize"),
            incoming
        );
    }

    /// The server's row after `edits` arrive in `order`, each merged as the server does (the
    /// decision's values written, its stamps stored).
    fn arrive(start: &ServerRow, edits: &[IncomingUpdate], order: &[usize]) -> ServerRow {
        let mut row = start.clone();
        for &index in order {
            if let Decision::Apply {
                values,
                group_stamps,
                ..
            } = merge_update(&edits[index], &row)
            {
                row.values.extend(values);
                row.group_stamps.extend(group_stamps);
            }
        }
        row
    }

    /// The guest columns a clerk edits, and values each may take.
    const EDITABLE: &[(&str, &[&str])] = &[
        ("first_name", &["Grace", "Ada", "Mary"]),
        ("last_name", &["Hopper", "Lovelace"]),
        (
            "email",
            &["grace@example.com", "g@example.org", "hopper@example.net"],
        ),
        ("phone", &["+33 1", "+44 2"]),
        ("city", &["Paris", "Lyon", "Nice"]),
        ("postal_code", &["75001", "69001", "06000"]),
        ("notes", &["VIP", "late arrival"]),
    ];

    /// Concurrent edits of one guest: each made on a laptop that saw `start` (its base is its
    /// view of every group it touched, as the outbox records it), with its own stamp.
    fn concurrent_edits(start: &ServerRow, picks: &[Vec<(usize, usize)>]) -> Vec<IncomingUpdate> {
        picks
            .iter()
            .enumerate()
            .map(|(n, columns)| {
                let changed: Values = columns
                    .iter()
                    .map(|&(column, value)| {
                        let (name, choices) = EDITABLE[column % EDITABLE.len()];
                        (name.to_owned(), json!(choices[value % choices.len()]))
                    })
                    .collect();
                let base = base_columns("guests", changed.keys().map(String::as_str))
                    .into_iter()
                    .map(|column| (column.to_owned(), server_value(start, column).clone()))
                    .collect();
                IncomingUpdate {
                    table: "guests".to_owned(),
                    id: Uuid::from_u128(0xc1),
                    changed,
                    base,
                    // distinct stamps, all after the server's last write: each laptop saw the
                    // start row, and with it that write's stamp (its clock observed it)
                    stamp: stamp(SERVER_WALL + 10_000 + 20_000 * n as i64, 10 + n as u128),
                }
            })
            .collect()
    }

    proptest::proptest! {
        /// The same set of concurrent edits gives the same row, values and clocks, whatever
        /// order they arrive in; and no group ends as a mix of two clerks' halves.
        #[test]
        fn concurrent_edits_give_the_same_row_in_any_arrival_order(
            picks in proptest::collection::vec(
                proptest::collection::vec((0..7usize, 0..3usize), 1..4), 2..5),
            shuffles in proptest::collection::vec(proptest::collection::vec(0..1000usize, 5), 4),
        ) {
            let start = guest(json!({}));
            let edits = concurrent_edits(&start, &picks);
            let in_order: Vec<usize> = (0..edits.len()).collect();
            let expected = arrive(&start, &edits, &in_order);
            for keys in &shuffles {
                let mut order = in_order.clone();
                order.sort_by_key(|&i| keys[i]);
                let got = arrive(&start, &edits, &order);
                proptest::prop_assert_eq!(&got.values, &expected.values, "order {:?}", order);
                proptest::prop_assert_eq!(&got.group_stamps, &expected.group_stamps, "order {:?}", order);
            }
            // Each group holds one clerk's whole view of it (or what nobody touched).
            let address: Vec<&str> = ADDRESS.to_vec();
            let view_of = |row: &ServerRow| -> Values {
                address.iter().map(|c| ((*c).to_owned(), server_value(row, c).clone())).collect()
            };
            let final_address = view_of(&expected);
            let candidates: Vec<Values> = std::iter::once(view_of(&start))
                .chain(edits.iter().map(|edit| {
                    let mut view = view_of(&start);
                    view.extend(group_view(synced_table("guests").expect("guests"), &GroupKey::from("address"), edit));
                    view
                }))
                .collect();
            proptest::prop_assert!(candidates.contains(&final_address), "a mixed address: {:?}", final_address);
        }
    }

    #[test]
    fn a_city_and_a_postal_code_from_two_desks_are_not_mixed() {
        let start = guest(json!({}));
        // Desk X (earlier) moves the guest to Lyon; desk Y (later) corrects the postal code.
        let x = update("guests", json!({"city": "Lyon"}), address("75001"), older());
        let y = update(
            "guests",
            json!({"postal_code": "75002"}),
            address("75001"),
            newer(),
        );
        let xy = arrive(&start, &[x.clone(), y.clone()], &[0, 1]);
        let yx = arrive(&start, &[x, y], &[1, 0]);
        assert_eq!(xy.values, yx.values);
        assert_eq!(
            (server_value(&xy, "city"), server_value(&xy, "postal_code")),
            (&json!("Paris"), &json!("75002")),
            "the later desk's address, whole"
        );
    }

    #[test]
    fn phone_and_email_from_two_desks_both_survive_in_either_order() {
        let start = guest(json!({}));
        let contact = json!({"email": "grace@example.com", "phone": null});
        let phone = update(
            "guests",
            json!({"phone": "+33 1"}),
            contact.clone(),
            older(),
        );
        let email = update(
            "guests",
            json!({"email": "g@example.org"}),
            contact,
            newer(),
        );
        for order in [[0, 1], [1, 0]] {
            let row = arrive(&start, &[phone.clone(), email.clone()], &order);
            assert_eq!(
                (server_value(&row, "phone"), server_value(&row, "email")),
                (&json!("+33 1"), &json!("g@example.org")),
                "order {order:?}"
            );
        }
    }
}
