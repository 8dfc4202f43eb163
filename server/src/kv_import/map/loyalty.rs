//! Loyalty: `loyalty_program:`, `loyalty_member:`, `loyalty_tx:`.
//!
//! Balances are the ledger's: a member is imported with none, and each ledger entry, written in
//! the order it was created, moves the balance through the database's own trigger. Legacy running
//! balances that do not add up are therefore recomputed, and the writer reports the difference.

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::{
    set_created_at, tenant_id, tenant_of, uuid_field, Extra, Mapped, Missing, Row, Target,
};
use crate::kv_import::decode::{Fields, Problem};
use crate::kv_import::keys::{Entity, Key};

/// `loyalty_program:<tenantId>:<programId>` → loyalty_programs.
pub fn program(key: &Key, f: &mut Fields) -> Result<Mapped, Problem> {
    let tenant = tenant_of(key)?;
    let mut row = Row::new();
    row.set("id", tenant_id(tenant, "loyalty_program", &key.id));
    row.set("legacy_id", super::legacy_id(&key.id));
    row.set("name", f.required_text("name")?);
    row.set("description", f.non_blank("description")?);
    row.set("enabled", f.boolean_or("enabled", true)?);
    let mut tiers = Vec::new();
    for mut tier in f.objects("tiers")? {
        let mut out = Map::new();
        out.insert(
            "name".to_owned(),
            json!(tier
                .non_blank("name")?
                .ok_or_else(|| Problem::field("tiers", "a tier has no name"))?),
        );
        out.insert(
            "required_points".to_owned(),
            json!(tier.integer("requiredPoints")?.unwrap_or(0)),
        );
        out.insert("benefits".to_owned(), json!(tier.strings("benefits")?));
        out.insert(
            "multiplier".to_owned(),
            json!(tier.number("multiplier")?.unwrap_or(1.0)),
        );
        tiers.push(Value::Object(out));
    }
    row.set("tiers", tiers);
    row.set(
        "points_per_currency_unit",
        f.number("pointsPerDollar")?.unwrap_or(1.0),
    );
    row.set(
        "first_stay_bonus_points",
        f.int32_or("bonusPointsFirstStay", 0)?,
    );
    row.set(
        "birthday_bonus_points",
        f.int32_or("bonusPointsBirthday", 0)?,
    );
    row.set("point_value_cents", f.number("pointsValue")?.unwrap_or(1.0));
    row.set(
        "minimum_redemption_points",
        f.int32_or("minimumRedemption", 0)?,
    );
    // 0 meant "never" in the old panel; here that is null
    row.set(
        "points_expiry_days",
        f.int32("pointsExpirationDays")?.filter(|d| *d > 0),
    );
    row.set(
        "currency",
        super::code(f, "currency", 3)?.unwrap_or_else(|| "USD".to_owned()),
    );
    set_created_at(&mut row, f)?;
    Ok(row.finish(Entity::LoyaltyProgram, Some(tenant)))
}

/// `loyalty_member:<tenantId>:<memberId>` → loyalty_members. The membership number is the
/// database's (the legacy one stays in `legacy_membership_number`); points come from the ledger.
pub fn member(key: &Key, f: &mut Fields) -> Result<Mapped, Problem> {
    let tenant = tenant_of(key)?;
    let mut row = Row::new();
    row.set("id", tenant_id(tenant, "loyalty_member", &key.id));
    row.set("legacy_id", super::legacy_id(&key.id));
    let program = f.required_text("programId")?;
    let program_id = tenant_id(tenant, "loyalty_program", &program);
    row.set("program_id", program_id);
    row.link(
        "program_id",
        Target::Row {
            table: "loyalty_programs",
            id: program_id,
        },
        &program,
        Missing::Quarantine,
    );
    let guest = f.required_text("guestId")?;
    let guest_id = tenant_id(tenant, "guest", &guest);
    row.set("guest_id", guest_id);
    row.link(
        "guest_id",
        Target::Row {
            table: "guests",
            id: guest_id,
        },
        &guest,
        Missing::Quarantine,
    );
    row.set("legacy_membership_number", f.non_blank("membershipNumber")?);
    row.set(
        "status",
        f.choice("status", &["active", "inactive", "suspended"])?
            .unwrap_or_else(|| "active".to_owned()),
    );
    let created = set_created_at(&mut row, f)?;
    let enrolled = enrolled_at(f, created)?;
    row.set("enrolled_at", enrolled);
    if enrolled.is_none() {
        return Err(Problem::missing("enrolledAt"));
    }
    // Tiers are the server's: the ledger recomputes the tier, when it was reached, the next one
    // and the points to it from the program's tiers as the imported entries apply
    // (`…003100_derived_values.sql`). The legacy values are read (their dirt noted), not written.
    let _legacy_tiers = (
        f.non_blank("currentTier")?,
        f.non_blank("nextTier")?,
        f.integer("pointsToNextTier")?,
        f.timestamp("tierAchievedAt")?,
    );
    let available = f.integer("availablePoints")?;
    f.ignore(&["totalPoints", "lifetimePoints"]);
    let mut mapped = row.finish(Entity::LoyaltyMember, Some(tenant));
    mapped.sort_at = enrolled;
    mapped.extra = Extra::Member {
        available_points: available,
    };
    Ok(mapped)
}

/// When a member enrolled: `enrolledAt`, or where the store kept none, its creation time (the
/// order of membership numbers).
pub(crate) fn enrolled_at(
    f: &mut Fields,
    created: Option<DateTime<Utc>>,
) -> Result<Option<DateTime<Utc>>, Problem> {
    Ok(f.timestamp("enrolledAt")?.or(created))
}

/// A ledger entry's member: its legacy id and its id.
pub(crate) fn entry_member(tenant: &str, f: &mut Fields) -> Result<(String, Uuid), Problem> {
    let member = f.required_text("memberId")?;
    let id = tenant_id(tenant, "loyalty_member", &member);
    Ok((member, id))
}

/// `loyalty_tx:<tenantId>:<txId>` → loyalty_transactions. Program and guest are the member's;
/// the sign of the points follows the type (a redemption stored as positive is negated, noted).
pub fn transaction(key: &Key, f: &mut Fields) -> Result<Mapped, Problem> {
    let tenant = tenant_of(key)?;
    let mut row = Row::new();
    row.set("id", tenant_id(tenant, "loyalty_tx", &key.id));
    row.set("legacy_id", super::legacy_id(&key.id));
    let (member, member_id) = entry_member(tenant, f)?;
    row.set("member_id", member_id);
    row.set("program_id", Value::Null);
    row.set("guest_id", Value::Null);
    row.link(
        "member_id",
        Target::Member { id: member_id },
        &member,
        Missing::Quarantine,
    );
    f.ignore(&["programId", "guestId"]);
    let kind = f
        .choice("type", &["earn", "redeem", "expire", "adjust", "bonus"])?
        .ok_or_else(|| Problem::missing("type"))?;
    let mut points = f
        .integer("points")?
        .ok_or_else(|| Problem::missing("points"))?;
    if points == 0 {
        return Err(Problem::field("points", "a ledger entry of 0 points"));
    }
    let sign = match kind.as_str() {
        "earn" | "bonus" => 1,
        "redeem" | "expire" => -1,
        _ => points.signum(),
    };
    if points.signum() != sign {
        f.note(format!(
            "points of a {kind} entry had the wrong sign: corrected"
        ));
        points = -points;
    }
    row.set("points", points);
    let mut expires = f.timestamp("expiresAt")?;
    if expires.is_some() && !matches!(kind.as_str(), "earn" | "bonus") {
        f.note("expiresAt on an entry that does not earn: not imported");
        expires = None;
    }
    row.set("type", kind);
    row.set("expires_at", expires);
    row.set("description", f.non_blank("description")?);
    row.set("reference_type", f.non_blank("referenceType")?);
    row.set("reference_id", f.non_blank("referenceId")?);
    row.set("created_by", uuid_field(f, "createdBy")?);
    let created = set_created_at(&mut row, f)?;
    let balance_before = f.integer("balanceBefore")?;
    let balance_after = f.integer("balanceAfter")?;
    let mut mapped = row.finish(Entity::LoyaltyTransaction, Some(tenant));
    mapped.sort_at = created;
    mapped.extra = Extra::Ledger {
        balance_before,
        balance_after,
    };
    Ok(mapped)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::test_support::*;
    use super::*;

    #[test]
    fn a_program_with_its_tiers() {
        let m = ok(
            Entity::LoyaltyProgram,
            "loyalty_program:T-101:loyalty_1",
            json!({"name": "Rewards Plus", "enabled": true,
                   "tiers": [{"name": "Bronze", "requiredPoints": 0, "benefits": ["Bronze perks"], "multiplier": 1},
                             {"name": "Silver", "requiredPoints": 1000, "benefits": [], "multiplier": 1.25}],
                   "pointsPerDollar": 10, "bonusPointsFirstStay": 500, "bonusPointsBirthday": 200, "pointsValue": 1,
                   "minimumRedemption": 500, "pointsExpirationDays": 365, "createdAt": "2024-01-01T09:00:00.000Z"}),
        );
        assert_eq!(
            col(&m, "tiers")[1],
            json!({"name": "Silver", "required_points": 1000, "benefits": [], "multiplier": 1.25})
        );
        assert_eq!(col(&m, "points_per_currency_unit"), &json!(10.0));
        assert_eq!(col(&m, "points_expiry_days"), &json!(365));
    }

    #[test]
    fn a_member_is_ordered_by_enrolment_and_keeps_its_legacy_number() {
        let m = ok(
            Entity::LoyaltyMember,
            "loyalty_member:T-101:member_1",
            json!({"programId": "loyalty_1", "guestId": "guest_1", "membershipNumber": "T-101-18C2F",
                   "currentTier": "Silver", "totalPoints": 1200, "availablePoints": 1200, "lifetimePoints": 1200,
                   "status": "active", "enrolledAt": "2024-01-02T09:00:00.000Z", "createdAt": "2024-01-02T09:00:00.000Z"}),
        );
        assert_eq!(col(&m, "legacy_membership_number"), &json!("T-101-18C2F"));
        assert_eq!(
            m.extra,
            Extra::Member {
                available_points: Some(1200)
            }
        );
        assert_eq!(
            m.sort_at.map(|t| t.to_rfc3339()),
            Some("2024-01-02T09:00:00+00:00".to_owned())
        );
        assert_eq!(m.links.len(), 2);
        assert!(!m.row.contains_key("points_balance"));
    }

    #[test]
    fn ledger_entries_keep_the_legacy_balance_for_the_report_and_fix_signs() {
        let m = ok(
            Entity::LoyaltyTransaction,
            "loyalty_tx:T-101:ltx_1",
            json!({"programId": "loyalty_1", "memberId": "member_1", "guestId": "guest_1", "type": "redeem",
                   "points": 300, "description": "Redeemed", "balanceBefore": 500, "balanceAfter": 250,
                   "createdAt": "2024-02-01T09:00:00.000Z"}),
        );
        assert_eq!(col(&m, "points"), &json!(-300));
        assert!(has_note(&m, "wrong sign"));
        assert_eq!(
            m.extra,
            Extra::Ledger {
                balance_before: Some(500),
                balance_after: Some(250)
            }
        );
        assert_eq!(
            m.links[0].target,
            Target::Member {
                id: tenant_id("T-101", "loyalty_member", "member_1")
            }
        );
        assert!(problem(
            Entity::LoyaltyTransaction,
            "loyalty_tx:T-1:x",
            json!({"memberId": "m", "type": "earn", "points": 0})
        )
        .contains("0 points"));
    }
}
