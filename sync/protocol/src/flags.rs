//! Feature flags: the one evaluation, used by the server (`GET /v1/flags`) and by the desktop app
//! over its mirror, so both always agree.
//!
//! A flag's platform row (no tenant) may be overridden by a row of the tenant with the same key.
//! The effective row then decides, in this order:
//! 1. `status = disabled` is off for everybody; the tenant listed in `disabled_tenants` is off;
//! 2. the tenant listed in `enabled_tenants` is on;
//! 3. `scope = plan` is on only for the plans in `enabled_plans`; `scope = tenant` only for the
//!    listed tenants (step 2);
//! 4. then the rollout: on for `rollout_percentage` percent of tenants, chosen by a stable hash of
//!    the tenant id and the flag key, so a tenant keeps its answer as the percentage grows
//!    (a tenant in at 20 % is still in at 50 %) and different flags pick different tenants.
//!
//! `beta` counts as enabled for the tenants the rules let in.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// The columns of a `feature_flags` row that the evaluation reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flag {
    pub key: String,
    /// None for the platform's row; the tenant's id for its override.
    pub tenant_id: Option<Uuid>,
    pub scope: String,
    pub status: String,
    #[serde(default)]
    pub enabled_plans: Vec<String>,
    #[serde(default)]
    pub enabled_tenants: Vec<Uuid>,
    #[serde(default)]
    pub disabled_tenants: Vec<Uuid>,
    pub rollout_percentage: i32,
}

/// The bucket 0..100 of a tenant for a flag: stable, and independent between flags.
pub fn rollout_bucket(tenant_id: Uuid, key: &str) -> u32 {
    let digest = Sha256::new()
        .chain_update(tenant_id.as_bytes())
        .chain_update(b":")
        .chain_update(key.as_bytes())
        .finalize();
    let high = u64::from_be_bytes(digest[..8].try_into().expect("8 bytes"));
    (high % 100) as u32
}

/// Whether `flag` (the effective row: the tenant's override if any, else the platform's) is on for
/// the tenant on plan `plan` (its name: Trial, Basic, Pro, Enterprise).
pub fn is_enabled(flag: &Flag, tenant_id: Uuid, plan: Option<&str>) -> bool {
    if flag.status == "disabled" || flag.disabled_tenants.contains(&tenant_id) {
        return false;
    }
    if flag.enabled_tenants.contains(&tenant_id) {
        return true;
    }
    let admitted = match flag.scope.as_str() {
        "plan" => plan.is_some_and(|plan| flag.enabled_plans.iter().any(|p| p == plan)),
        "tenant" => false,
        _ => true,
    };
    admitted && rollout_bucket(tenant_id, &flag.key) < flag.rollout_percentage.clamp(0, 100) as u32
}

/// The flags of one tenant: each key's effective row (the tenant's override wins over the
/// platform's), evaluated. Sorted by key.
pub fn evaluate_all(flags: &[Flag], tenant_id: Uuid, plan: Option<&str>) -> Vec<(String, bool)> {
    let mut effective: std::collections::BTreeMap<&str, &Flag> = std::collections::BTreeMap::new();
    for flag in flags {
        match flag.tenant_id {
            Some(owner) if owner != tenant_id => continue,
            Some(_) => {
                effective.insert(&flag.key, flag);
            }
            None => {
                effective.entry(&flag.key).or_insert(flag);
            }
        }
    }
    effective
        .into_iter()
        .map(|(key, flag)| (key.to_owned(), is_enabled(flag, tenant_id, plan)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn flag(scope: &str, status: &str, rollout: i32) -> Flag {
        Flag {
            key: "new_tape_chart".to_owned(),
            tenant_id: None,
            scope: scope.to_owned(),
            status: status.to_owned(),
            enabled_plans: vec!["Pro".to_owned(), "Enterprise".to_owned()],
            enabled_tenants: Vec::new(),
            disabled_tenants: Vec::new(),
            rollout_percentage: rollout,
        }
    }

    const TENANT: Uuid = Uuid::from_u128(0x0193_0000_0000_7000_8000_0000_0000_0001);

    #[rstest]
    #[case::global_on("global", "enabled", 100, Some("Basic"), true)]
    #[case::disabled_is_off_for_all("global", "disabled", 100, Some("Pro"), false)]
    #[case::beta_counts_as_on("global", "beta", 100, Some("Basic"), true)]
    #[case::nobody_at_zero_percent("global", "enabled", 0, Some("Pro"), false)]
    #[case::plan_listed("plan", "enabled", 100, Some("Pro"), true)]
    #[case::plan_not_listed("plan", "enabled", 100, Some("Basic"), false)]
    #[case::plan_unknown("plan", "enabled", 100, None, false)]
    #[case::tenant_scope_needs_the_list("tenant", "enabled", 100, Some("Pro"), false)]
    fn rules(
        #[case] scope: &str,
        #[case] status: &str,
        #[case] rollout: i32,
        #[case] plan: Option<&str>,
        #[case] expected: bool,
    ) {
        assert_eq!(
            is_enabled(&flag(scope, status, rollout), TENANT, plan),
            expected
        );
    }

    #[test]
    fn tenant_lists_come_first() {
        let mut listed = flag("tenant", "enabled", 0);
        listed.enabled_tenants = vec![TENANT];
        assert!(is_enabled(&listed, TENANT, None), "listed in: on at 0 %");
        listed.disabled_tenants = vec![TENANT];
        assert!(!is_enabled(&listed, TENANT, None), "listed out wins");
    }

    #[test]
    fn the_tenants_override_wins_and_others_overrides_are_ignored() {
        let platform = flag("global", "enabled", 100);
        let mine = Flag {
            tenant_id: Some(TENANT),
            status: "disabled".to_owned(),
            ..platform.clone()
        };
        let theirs = Flag {
            tenant_id: Some(Uuid::from_u128(7)),
            key: "other".to_owned(),
            ..platform.clone()
        };
        let evaluated = evaluate_all(&[mine, platform, theirs], TENANT, Some("Pro"));
        assert_eq!(evaluated, vec![("new_tape_chart".to_owned(), false)]);
    }

    #[test]
    fn rollout_lands_within_tolerance_and_grows_monotonically() {
        let tenants: Vec<Uuid> = (0..20_000u128)
            .map(|n| Uuid::from_u128(n.wrapping_mul(0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C835)))
            .collect();
        for percent in [1, 10, 25, 50, 90] {
            let on = tenants
                .iter()
                .filter(|t| is_enabled(&flag("global", "enabled", percent), **t, None))
                .count();
            let share = on as f64 * 100.0 / tenants.len() as f64;
            assert!(
                (share - f64::from(percent)).abs() < 1.0,
                "{percent} % asked, {share:.2} % on"
            );
        }
        // A tenant in at 20 % stays in at 50 %.
        for tenant in &tenants {
            if is_enabled(&flag("global", "enabled", 20), *tenant, None) {
                assert!(is_enabled(&flag("global", "enabled", 50), *tenant, None));
            }
        }
    }

    #[test]
    fn different_flags_pick_different_tenants() {
        let tenants: Vec<Uuid> = (1..=1_000u128).map(Uuid::from_u128).collect();
        let same = tenants
            .iter()
            .filter(|t| (rollout_bucket(**t, "a") < 50) == (rollout_bucket(**t, "b") < 50))
            .count();
        assert!(
            (400..600).contains(&same),
            "{same} of 1000 agree: the buckets are correlated"
        );
    }
}
