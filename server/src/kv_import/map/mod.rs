//! From one legacy record to one row (pure: no I/O).
//!
//! [`map_record`] parses the key, decodes the value and hands the fields to the mapper of the
//! key's prefix (one module per area). A mapper returns the row as column → JSON value (Postgres
//! turns it into typed columns with `json_populate_recordset`), the references the driver must
//! check against the tables ([`Link`]), and the repairs it made ([`Note`]s). It never guesses:
//! what cannot be read is a [`Problem`], and the record goes to quarantine.
//!
//! - [`account`] maps tenants, subscriptions, invoices, usage alerts;
//! - [`platform`] plans, feature flags, retention policies, webhooks and their deliveries;
//! - [`guests`] guests, their preferences, communication logs;
//! - [`loyalty`] programs, members, the points ledger;
//! - [`marketing`] campaigns and their recipients;
//! - [`stays`] reservations.

pub mod account;
pub mod guests;
pub mod loyalty;
pub mod marketing;
pub mod platform;
pub mod stays;

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;
use uuid::Uuid;

use super::decode::{Fields, Note, Problem, SlashDates};
use super::ids::{stable_id, Scope};
use super::keys::{parse_key, Entity, Key};

/// A row as column → value (column names are the mappers' own, static: no allocation each).
pub type Columns = std::collections::BTreeMap<&'static str, Value>;

/// One legacy record, mapped.
#[derive(Debug, Clone, PartialEq)]
pub struct Mapped {
    pub entity: Entity,
    /// The tenant (legacy id) the row belongs to; the driver fills `tenant_id` from it and
    /// quarantines the record when that tenant was not imported.
    pub tenant: Option<String>,
    /// Column → value.
    pub row: Columns,
    pub links: Vec<Link>,
    /// Where the record goes in creation order (reservations, members, ledger entries).
    pub sort_at: Option<DateTime<Utc>>,
    pub notes: Vec<Note>,
    pub extra: Extra,
}

/// A reference to another row that the driver checks (and completes) before writing.
#[derive(Debug, Clone, PartialEq)]
pub struct Link {
    /// The column that holds the reference.
    pub column: &'static str,
    pub target: Target,
    /// The legacy id referred to, for messages.
    pub legacy: String,
    pub missing: Missing,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// A row of `table` in the record's tenant.
    Row { table: &'static str, id: Uuid },
    /// A platform plan by name (Trial, Basic, Pro, Enterprise).
    Plan { name: String },
    /// A tenant by legacy id; the column is a list and the tenant's id is appended to it.
    TenantInList,
    /// A webhook by legacy id: sets `tenant_id` and the column (deliveries have no tenant in
    /// their key).
    Webhook,
    /// A loyalty member: also sets `program_id` and `guest_id` to the member's (the ledger's
    /// foreign key requires them to be the member's own).
    Member { id: Uuid },
}

/// What happens when the referenced row does not exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    /// The table requires it: the record is quarantined.
    Quarantine,
    /// The link is optional: the column is cleared and the note recorded.
    Clear(&'static str),
}

/// What some writers need beyond the row.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Extra {
    #[default]
    None,
    /// A reservation's room type and room, resolved per property by the writer.
    Stay(stays::Placement),
    /// A ledger entry's legacy running balance, compared with the recomputed one.
    Ledger {
        balance_before: Option<i64>,
        balance_after: Option<i64>,
    },
    /// A member's legacy balance, compared with the ledger's by the verification.
    Member { available_points: Option<i64> },
}

/// Choices the operator makes for the whole store.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MapOptions {
    pub slash_dates: SlashDates,
}

/// Maps one record of `entity` (its key and the stored value as JSON text).
pub fn map_record(
    entity: Entity,
    key: &str,
    value: &str,
    options: MapOptions,
) -> Result<Mapped, Problem> {
    let key = parse_key(entity, key)?;
    let mut fields = Fields::parse(value, options.slash_dates)?;
    fields.ignore(&["id", "tenantId", "updatedAt", "updated"]);
    let mut mapped = match entity {
        Entity::Plan => platform::plan(&key, &mut fields),
        Entity::RetentionPolicy => platform::retention_policy(&key, &mut fields),
        Entity::FeatureFlag => platform::feature_flag(&key, &mut fields),
        Entity::Webhook => platform::webhook(&key, &mut fields),
        Entity::WebhookDelivery => platform::delivery(&key, &mut fields),
        Entity::Tenant => account::tenant(&key, &mut fields),
        Entity::Subscription => account::subscription(&key, &mut fields),
        Entity::Invoice => account::invoice(&key, &mut fields),
        Entity::UsageAlert => account::usage_alert(&key, &mut fields),
        Entity::Guest => guests::guest(&key, &mut fields),
        Entity::GuestPreference => guests::preference(&key, &mut fields),
        Entity::CommunicationLog => guests::communication(&key, &mut fields),
        Entity::LoyaltyProgram => loyalty::program(&key, &mut fields),
        Entity::LoyaltyMember => loyalty::member(&key, &mut fields),
        Entity::LoyaltyTransaction => loyalty::transaction(&key, &mut fields),
        Entity::Campaign => marketing::campaign(&key, &mut fields),
        Entity::CampaignRecipient => marketing::recipient(&key, &mut fields),
        Entity::Reservation => stays::reservation(&key, &mut fields),
    }?;
    for (name, _) in fields.unread() {
        fields.note(format!("field without a column, not imported: {name}"));
    }
    mapped.notes = fields.into_notes();
    Ok(mapped)
}

/// Where a record goes in the queue that orders bookings, members and ledger entries by
/// creation time: its tenant, its time and (ledger entries) its member, read with the mappers'
/// own rules but nothing else of the record. Whatever cannot be read is left empty: the record is
/// then mapped in full when the queue is drained, and quarantined there with the reason the full
/// mapping gives, as any other record.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueueOrder {
    pub tenant: String,
    pub sort_at: Option<DateTime<Utc>>,
    pub member: Option<Uuid>,
}

/// The [`QueueOrder`] of a record of a queued entity (the same as its full mapping's
/// `tenant` and `sort_at`).
pub fn queue_order(entity: Entity, key: &str, value: &str, options: MapOptions) -> QueueOrder {
    let mut order = QueueOrder::default();
    let Ok(key) = parse_key(entity, key) else {
        return order;
    };
    let Some(tenant) = key.tenant.as_deref() else {
        return order;
    };
    order.tenant = tenant.to_owned();
    let Ok(mut f) = Fields::parse(value, options.slash_dates) else {
        return order;
    };
    let f = &mut f;
    let mut read = || -> Result<(Option<DateTime<Utc>>, Option<Uuid>), Problem> {
        Ok(match entity {
            Entity::Reservation => {
                let check_in = f.date("checkInDate")?;
                let created = created_at(f)?;
                (check_in.map(|day| stays::booked_at(created, day)), None)
            }
            Entity::LoyaltyMember => {
                let created = created_at(f)?;
                (loyalty::enrolled_at(f, created)?, None)
            }
            Entity::LoyaltyTransaction => {
                let (_, member) = loyalty::entry_member(tenant, f)?;
                (created_at(f)?, Some(member))
            }
            _ => (None, None),
        })
    };
    if let Ok((sort_at, member)) = read() {
        order.sort_at = sort_at;
        order.member = member;
    }
    order
}

/// A row under construction.
#[derive(Debug, Default)]
pub struct Row {
    columns: Columns,
    links: Vec<Link>,
}

impl Row {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn set(&mut self, column: &'static str, value: impl serde::Serialize) -> &mut Self {
        let value = serde_json::to_value(value).unwrap_or(Value::Null);
        self.columns.insert(column, value);
        self
    }

    pub fn link(&mut self, column: &'static str, target: Target, legacy: &str, missing: Missing) {
        self.links.push(Link {
            column,
            target,
            legacy: legacy.to_owned(),
            missing,
        });
    }

    pub fn finish(self, entity: Entity, tenant: Option<&str>) -> Mapped {
        Mapped {
            entity,
            tenant: tenant.map(str::to_owned),
            row: self.columns,
            links: self.links,
            sort_at: None,
            notes: Vec::new(),
            extra: Extra::None,
        }
    }
}

/// The record's tenant (keys of tenant entities always carry one).
pub(crate) fn tenant_of(key: &Key) -> Result<&str, Problem> {
    key.tenant
        .as_deref()
        .ok_or_else(|| Problem::new("the key names no tenant"))
}

/// The id of a tenant's record.
pub(crate) fn tenant_id(tenant: &str, kind: &str, legacy: &str) -> Uuid {
    stable_id(Scope::Tenant(tenant), kind, legacy)
}

/// `legacy_id`: the key's id, except a UUID (a row born in the new system, which has none).
pub(crate) fn legacy_id(id: &str) -> Option<&str> {
    if super::ids::as_uuid(id).is_some() {
        None
    } else {
        Some(id)
    }
}

/// `createdAt` (or the older `created`, a date or timestamp).
pub(crate) fn created_at(f: &mut Fields) -> Result<Option<DateTime<Utc>>, Problem> {
    if let Some(at) = f.timestamp("createdAt")? {
        f.ignore(&["created"]);
        return Ok(Some(at));
    }
    f.timestamp("created")
}

/// Sets `created_at` to when the record says it was created; null (the writer's "now" for a new
/// row, the row's own for an existing one) where it does not say.
pub(crate) fn set_created_at(
    row: &mut Row,
    f: &mut Fields,
) -> Result<Option<DateTime<Utc>>, Problem> {
    let at = created_at(f)?;
    row.set("created_at", at);
    Ok(at)
}

/// A UUID field (`createdBy`, `ownerUserId`): legacy user ids that are not UUIDs have no place in
/// a uuid column; they are dropped with a note.
pub(crate) fn uuid_field(f: &mut Fields, name: &str) -> Result<Option<Uuid>, Problem> {
    match f.non_blank(name)? {
        None => Ok(None),
        Some(text) => match Uuid::parse_str(&text) {
            Ok(id) => Ok(Some(id)),
            Err(_) => {
                f.note(format!("{name} is not a UUID, not imported"));
                Ok(None)
            }
        },
    }
}

/// An upper-case ISO code (`EUR`, `GB`) of `len` letters; anything else is a problem.
pub(crate) fn code(f: &mut Fields, name: &str, len: usize) -> Result<Option<String>, Problem> {
    match f.non_blank(name)? {
        None => Ok(None),
        Some(text) if text.len() == len && text.chars().all(|c| c.is_ascii_alphabetic()) => {
            Ok(Some(text.to_ascii_uppercase()))
        }
        Some(text) => Err(Problem::field(
            name,
            format!("{text:?} is not a {len}-letter ISO code"),
        )),
    }
}

/// Midnight UTC of a date (for timestamps the legacy data only has as a date).
pub(crate) fn midnight(date: NaiveDate) -> DateTime<Utc> {
    date.and_time(chrono::NaiveTime::MIN).and_utc()
}

/// The canonical name of a plan referred to as `plan:Pro`, `plan_pro`, `Pro` or `pro`.
pub fn plan_name(reference: &str) -> String {
    let bare = reference
        .trim()
        .strip_prefix("plan:")
        .or_else(|| reference.trim().strip_prefix("plan_"))
        .unwrap_or(reference.trim());
    match bare.to_ascii_lowercase().as_str() {
        "trial" => "Trial".to_owned(),
        "basic" => "Basic".to_owned(),
        "pro" => "Pro".to_owned(),
        "enterprise" => "Enterprise".to_owned(),
        _ => bare.to_owned(),
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    //! Helpers for the mappers' table tests.
    use serde_json::Value;

    use super::*;

    /// Maps `value` (a JSON object) stored under `key`.
    pub fn map(entity: Entity, key: &str, value: Value) -> Result<Mapped, Problem> {
        map_record(entity, key, &value.to_string(), MapOptions::default())
    }

    pub fn ok(entity: Entity, key: &str, value: Value) -> Mapped {
        map(entity, key, value).unwrap_or_else(|p| panic!("{key}: {p}"))
    }

    pub fn problem(entity: Entity, key: &str, value: Value) -> String {
        match map(entity, key, value) {
            Ok(mapped) => panic!("{key} mapped: {mapped:?}"),
            Err(problem) => problem.0,
        }
    }

    pub fn col<'a>(mapped: &'a Mapped, column: &str) -> &'a Value {
        mapped
            .row
            .get(column)
            .unwrap_or_else(|| panic!("no column {column} in {:?}", mapped.row))
    }

    pub fn has_note(mapped: &Mapped, part: &str) -> bool {
        mapped.notes.iter().any(|n| n.contains(part))
    }
}

#[cfg(test)]
mod tests {
    use rstest::rstest;
    use serde_json::json;

    use super::test_support::*;
    use super::*;

    #[rstest]
    #[case::key_form("plan:Pro", "Pro")]
    #[case::id_form("plan_pro", "Pro")]
    #[case::bare("Enterprise", "Enterprise")]
    #[case::lower("trial", "Trial")]
    #[case::unknown("plan_gold", "gold")]
    fn plan_references_in_either_form(#[case] reference: &str, #[case] expected: &str) {
        assert_eq!(plan_name(reference), expected);
    }

    #[test]
    fn unmapped_fields_are_reported_not_dropped_silently() {
        let mapped = ok(
            Entity::Campaign,
            "campaign:T-1:c1",
            json!({"name": "Winter", "shoeSize": 44}),
        );
        assert!(
            has_note(&mapped, "not imported: shoeSize"),
            "{:?}",
            mapped.notes
        );
    }

    #[test]
    fn a_malformed_key_or_value_is_a_problem_naming_it() {
        assert!(
            problem(Entity::Guest, "guest:T-1", json!({})).contains("guest:<tenantId>:<guestId>")
        );
        let wrong = map_record(
            Entity::Guest,
            "guest:T-1:g1",
            "[1, 2]",
            MapOptions::default(),
        )
        .expect_err("refused");
        assert_eq!(wrong.0, "the value is a JSON array, not an object");
    }
}

#[cfg(test)]
mod sample_tests {
    //! Every record of the sample dump through its mapper: only the dirt that cannot be repaired
    //! is refused.
    use std::collections::BTreeMap;

    use serde_json::json;

    use crate::kv_import::keys::{disposition, prefix_of, Disposition};

    use super::*;

    /// The queue orders bookings, members and ledger entries by what their full mapping says,
    /// read without mapping them: the same tenant, time and member for every record the mapping
    /// takes, dirt included.
    #[test]
    fn the_queue_order_is_the_full_mappings_own() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/fixtures/legacy-kv/sample.jsonl"
        );
        let text = std::fs::read_to_string(path).expect("the sample dump is in tests/fixtures");
        // and the fallbacks the sample does not show: enrolled after being created, a booking
        // without a creation time (its arrival), a ledger entry without one
        let fallbacks = [
            json!({"key": "loyalty_member:T-1:m1", "value": {"guestId": "g1", "programId": "p1",
                   "createdAt": "2024-01-02T09:00:00Z", "enrolledAt": "2024-03-04T10:00:00Z"}}),
            json!({"key": "reservation:T-1:r1", "value": {"guestName": "Ada", "status": "confirmed",
                   "checkInDate": "2024-05-06", "checkOutDate": "2024-05-08", "roomType": "Double"}}),
            json!({"key": "loyalty_tx:T-1:x1", "value": {"memberId": "m1", "type": "earn", "points": 5}}),
        ]
        .map(|record| record.to_string());
        let mut compared = BTreeMap::<Entity, usize>::new();
        for line in text.lines().chain(fallbacks.iter().map(String::as_str)) {
            let record: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
            let key = record["key"].as_str().expect("a key");
            let Disposition::Mapped(entity) = disposition(prefix_of(key)) else {
                continue;
            };
            if !matches!(
                entity,
                Entity::Reservation | Entity::LoyaltyMember | Entity::LoyaltyTransaction
            ) {
                continue;
            }
            let value = record["value"].to_string();
            let options = MapOptions::default();
            let order = queue_order(entity, key, &value, options);
            let mapped = match map_record(entity, key, &value, options) {
                Ok(mapped) => mapped,
                Err(problem)
                    if key.ends_with(":m1") || key.ends_with(":r1") || key.ends_with(":x1") =>
                {
                    panic!("{key}: {problem}")
                }
                Err(_) => continue,
            };
            assert_eq!(Some(&order.tenant), mapped.tenant.as_ref(), "{key}");
            assert_eq!(order.sort_at, mapped.sort_at, "{key}");
            let member = mapped.row.get("member_id").and_then(Value::as_str);
            assert_eq!(
                order.member.map(|m| m.to_string()).as_deref(),
                member,
                "{key}"
            );
            *compared.entry(entity).or_default() += 1;
        }
        assert_eq!(
            compared.len(),
            3,
            "every queued entity is in the sample: {compared:?}"
        );
    }

    /// Maps every mapped record of the sample; the problems and the count of each note.
    fn map_sample(options: MapOptions) -> (Vec<String>, BTreeMap<String, usize>) {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/fixtures/legacy-kv/sample.jsonl"
        );
        let text = std::fs::read_to_string(path).expect("the sample dump is in tests/fixtures");
        let mut problems = Vec::new();
        let mut notes: BTreeMap<String, usize> = BTreeMap::new();
        let mut mapped = 0;
        for line in text.lines() {
            let record: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
            let key = record["key"].as_str().expect("a key");
            if let Disposition::Mapped(entity) = disposition(prefix_of(key)) {
                match map_record(entity, key, &record["value"].to_string(), options) {
                    Ok(m) => {
                        mapped += 1;
                        for n in m.notes {
                            *notes.entry(n).or_default() += 1;
                        }
                    }
                    Err(p) => problems.push(format!("{key}: {p}")),
                }
            }
        }
        assert!(mapped > 1500, "{mapped}");
        (problems, notes)
    }

    #[test]
    fn the_sample_maps_but_for_an_impossible_stay_and_an_ambiguous_date() {
        let (problems, notes) = map_sample(MapOptions::default());
        assert_eq!(
            problems,
            [
                "reservation:T-102:RES-108: impossible dates: checkOutDate 2024-12-20 is not after checkInDate 2024-12-21",
                "reservation:tn_1634567890_abc123:RES-108: field checkInDate: \"08/02/2025\" is ambiguous: day/month or month/day (see --slash-dates)",
            ]
        );
        for (expected, count) in [
            ("double-encoded value decoded", 3),
            ("number stored as a string (totalSpent)", 3),
            ("date as DD/MM/YYYY (checkInDate)", 2),
            ("email lower-cased (email)", 3),
        ] {
            assert_eq!(notes.get(expected), Some(&count), "{expected}: {notes:#?}");
        }
    }

    #[test]
    fn with_day_first_slash_dates_only_the_impossible_stay_is_left() {
        let (problems, _) = map_sample(MapOptions {
            slash_dates: SlashDates::Dmy,
        });
        assert_eq!(problems.len(), 1, "{problems:#?}");
        assert!(problems[0].contains("impossible dates"));
    }
}
