//! The loyalty program, memberships and the ledger, with balances as the database computes them.

use super::*;

pub(super) fn tier_for(lifetime: i64) -> usize {
    TIERS
        .iter()
        .rposition(|(_, required, _)| lifetime >= *required)
        .unwrap_or(0)
}

pub(super) struct LedgerEntry {
    pub(super) id: Uuid,
    pub(super) member: usize,
    pub(super) kind: &'static str,
    pub(super) points: i64,
    pub(super) description: &'static str,
    pub(super) reference: Option<Uuid>,
    pub(super) expires_at: Option<DateTime<Utc>>,
    pub(super) at: DateTime<Utc>,
}

pub(super) fn loyalty(
    g: &mut Gen,
    guests: &[Guest],
    stays: &Stays,
) -> (CopyTable, CopyTable, CopyTable) {
    let program_created = g.now - Duration::days(HISTORY_DAYS as i64 + 800);
    let program_id = g.id_at(program_created);
    let mut programs = CopyTable::new(
        "loyalty_programs",
        &[
            "tenant_id",
            "id",
            "name",
            "description",
            "enabled",
            "tiers",
            "points_per_currency_unit",
            "first_stay_bonus_points",
            "birthday_bonus_points",
            "point_value_cents",
            "minimum_redemption_points",
            "points_expiry_days",
            "currency",
            "created_at",
            "updated_at",
        ],
    );
    let tiers: Vec<_> = TIERS
        .iter()
        .map(|(name, required, multiplier)| {
            json!({"name": name, "required_points": required, "benefits": [format!("{name} perks")], "multiplier": multiplier})
        })
        .collect();
    programs
        .row()
        .uuid(g.tenant_id)
        .uuid(program_id)
        .text("Rewards Plus")
        .text("Points on every stay, redeemable against future stays")
        .bool(true)
        .json(&serde_json::Value::Array(tiers))
        .decimal(&POINTS_PER_UNIT.to_string())
        .int(FIRST_STAY_BONUS)
        .int(200)
        .decimal("1")
        .int(500)
        .int(730)
        .text("EUR")
        .timestamp(program_created)
        .timestamp(program_created)
        .end();

    // members: every repeat guest and a quarter of the others, enrolled before their stays
    let mut member_of = vec![None; guests.len()];
    let mut members = Vec::new();
    for (gi, guest) in guests.iter().enumerate() {
        if guest.repeater || g.chance(0.25) {
            let enrolled = guest.created_at + Duration::days(g.between(0, 20));
            member_of[gi] = Some(members.len());
            members.push((gi, g.id_at(enrolled), enrolled));
        }
    }
    let mut entries = Vec::new();
    for (m, &(_, _, enrolled)) in members.iter().enumerate() {
        entries.push(LedgerEntry {
            id: g.id_at(enrolled),
            member: m,
            kind: "bonus",
            points: WELCOME_BONUS,
            description: "Welcome bonus",
            reference: None,
            expires_at: Some(enrolled + Duration::days(730)),
            at: enrolled,
        });
    }
    let mut earned_any = vec![false; members.len()];
    let mut balance: Vec<i64> = vec![WELCOME_BONUS; members.len()];
    let mut lifetime: Vec<i64> = vec![WELCOME_BONUS; members.len()];
    let mut completed: Vec<&Stay> = stays
        .stays
        .iter()
        .filter(|s| s.checked_out_at.is_some() && s.guest.is_some())
        .collect();
    completed.sort_by_key(|s| (s.checked_out_at, s.id));
    for stay in completed {
        let Some(m) = stay.guest.and_then(|gi| member_of[gi]) else {
            continue;
        };
        let Some(at) = stay.checked_out_at else {
            continue;
        };
        let multiplier = TIERS[tier_for(lifetime[m])].2;
        let points =
            ((stay.total_cents / 100 * POINTS_PER_UNIT) as f64 * multiplier).round() as i64;
        let mut ledger = MemberLedger {
            entries: &mut entries,
            balance: &mut balance,
            lifetime: &mut lifetime,
            member: m,
            stay: stay.id,
        };
        ledger.add(g, "earn", points.max(1), "Stay points", at);
        if !earned_any[m] {
            earned_any[m] = true;
            ledger.add(
                g,
                "bonus",
                FIRST_STAY_BONUS,
                "First stay bonus",
                at + Duration::seconds(1),
            );
        }
        let current = ledger.balance[m];
        if current >= 1_000 && g.chance(0.3) {
            let redeem = (current / 2 / 100) * 100;
            let when = at + Duration::days(g.between(1, 30)).min(g.now - at);
            ledger.add(g, "redeem", -redeem, "Redeemed against a stay", when);
        }
    }
    entries.sort_by_key(|e| (e.at, e.id));

    let mut members_table = CopyTable::new(
        "loyalty_members",
        &[
            "tenant_id",
            "id",
            "program_id",
            "guest_id",
            "current_tier",
            "status",
            "enrolled_at",
            "next_tier",
            "points_to_next_tier",
            "tier_achieved_at",
            "created_at",
            "updated_at",
        ],
    );
    // memberships go in by enrolment, so membership numbers follow it
    let mut member_order: Vec<usize> = (0..members.len()).collect();
    member_order.sort_by_key(|&m| (members[m].2, members[m].1));
    for m in member_order {
        let (gi, id, enrolled) = members[m];
        let tier = tier_for(lifetime[m]);
        let next = TIERS.get(tier + 1);
        members_table
            .row()
            .uuid(g.tenant_id)
            .uuid(id)
            .uuid(program_id)
            .uuid(guests[gi].id)
            .text(TIERS[tier].0)
            .text(if g.chance(0.97) { "active" } else { "inactive" })
            .timestamp(enrolled)
            .opt_text(next.map(|t| t.0))
            .opt_int(next.map(|t| t.1 - lifetime[m]))
            .timestamp(enrolled)
            .timestamp(enrolled)
            .timestamp(enrolled)
            .end();
    }

    let mut ledger = CopyTable::new(
        "loyalty_transactions",
        &[
            "tenant_id",
            "id",
            "member_id",
            "program_id",
            "guest_id",
            "type",
            "points",
            "description",
            "reference_type",
            "reference_id",
            "expires_at",
            "created_at",
            "updated_at",
        ],
    );
    for entry in &entries {
        let (gi, member_id, _) = members[entry.member];
        ledger
            .row()
            .uuid(g.tenant_id)
            .uuid(entry.id)
            .uuid(member_id)
            .uuid(program_id)
            .uuid(guests[gi].id)
            .text(entry.kind)
            .int(entry.points)
            .text(entry.description)
            .opt_text(entry.reference.map(|_| "reservation"))
            .opt_text(entry.reference.map(|r| r.to_string()).as_deref())
            .opt_timestamp(entry.expires_at)
            .timestamp(entry.at)
            .timestamp(entry.at)
            .end();
    }
    (programs, members_table, ledger)
}

/// Appends one member's ledger entries while tracking the balances the database will compute.
pub(super) struct MemberLedger<'a> {
    pub(super) entries: &'a mut Vec<LedgerEntry>,
    pub(super) balance: &'a mut Vec<i64>,
    pub(super) lifetime: &'a mut Vec<i64>,
    pub(super) member: usize,
    pub(super) stay: Uuid,
}

impl MemberLedger<'_> {
    fn add(
        &mut self,
        g: &mut Gen,
        kind: &'static str,
        points: i64,
        description: &'static str,
        at: DateTime<Utc>,
    ) {
        self.balance[self.member] += points;
        if points > 0 {
            self.lifetime[self.member] += points;
        }
        let expires_at = (points > 0).then(|| at + Duration::days(730));
        self.entries.push(LedgerEntry {
            id: g.id_at(at),
            member: self.member,
            kind,
            points,
            description,
            reference: Some(self.stay),
            expires_at,
            at,
        });
    }
}
