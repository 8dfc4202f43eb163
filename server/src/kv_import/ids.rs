//! Stable ids for imported rows: the same legacy record always gets the same UUID, so a re-run
//! finds the row it wrote before.
//!
//! Legacy ids are unique only within a tenant (`RES-101` exists in every hotel), so the name that
//! is hashed is (tenant's legacy id, entity kind, legacy id). The result is a UUIDv5 (RFC 9562,
//! SHA-1 over a namespace of this importer). A legacy id that already is a UUID is a row the new
//! system created and the dual-write wrote back to the store: it keeps that id.

use uuid::Uuid;

/// The namespace of ids minted by the legacy import (a fixed, random UUID).
pub const NAMESPACE: Uuid = Uuid::from_u128(0x6c1f_3a8e_52d4_4f0b_9a37_0bdb_a248_c0de);

/// Where a record lives: a tenant's (by its legacy id) or the platform's (global records).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope<'a> {
    Platform,
    Tenant(&'a str),
}

/// The id of the record `legacy_id` of `kind` in `scope`.
pub fn stable_id(scope: Scope<'_>, kind: &str, legacy_id: &str) -> Uuid {
    if let Some(uuid) = as_uuid(legacy_id) {
        return uuid;
    }
    let tenant = match scope {
        Scope::Platform => "",
        Scope::Tenant(tenant) => tenant,
    };
    Uuid::new_v5(
        &NAMESPACE,
        format!("{tenant}\u{1f}{kind}\u{1f}{legacy_id}").as_bytes(),
    )
}

/// A legacy id that is itself a UUID (a row born in the new system, written back by dual-write).
pub fn as_uuid(legacy_id: &str) -> Option<Uuid> {
    if legacy_id.len() == 36 {
        Uuid::parse_str(legacy_id).ok()
    } else {
        None
    }
}

/// A stay's opening payment: the paid amount the legacy system held for it, written once as a
/// payment on its guest folio (see [`write::folios`](super::write::folios)). Derived like the
/// desk's own entries (`pms_sync_protocol::derived`), from the stay alone, so a re-run finds it.
pub fn opening_payment_id(reservation: Uuid) -> Uuid {
    Uuid::new_v5(
        &pms_sync_protocol::derived::NAMESPACE,
        format!("folio_entries/opening_payment/{reservation}").as_bytes(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_stay_what_earlier_imports_wrote() {
        // A re-run finds the rows an earlier run wrote only if the ids never change: these are
        // UUIDv5 (RFC 9562) of the importer's namespace and "<tenant>\x1f<kind>\x1f<legacy id>",
        // as Python's `uuid.uuid5` gives them too.
        assert_eq!(
            stable_id(Scope::Tenant("T-101"), "reservation", "RES-101").to_string(),
            "38db3321-2381-53a9-9d3e-d10e70947cc1"
        );
        assert_eq!(
            stable_id(Scope::Platform, "tenant", "T-101").to_string(),
            "8eed5245-d8f7-5c30-8eb7-b2ed91c97bac"
        );
    }

    #[test]
    fn the_same_record_always_gets_the_same_id() {
        let a = stable_id(Scope::Tenant("T-101"), "reservation", "RES-101");
        assert_eq!(
            a,
            stable_id(Scope::Tenant("T-101"), "reservation", "RES-101")
        );
        assert_eq!(a.get_version_num(), 5);
    }

    #[test]
    fn legacy_ids_are_unique_only_within_a_tenant_and_a_kind() {
        let ids = [
            stable_id(Scope::Tenant("T-101"), "reservation", "RES-101"),
            stable_id(Scope::Tenant("T-102"), "reservation", "RES-101"),
            stable_id(Scope::Tenant("T-101"), "guest", "RES-101"),
            stable_id(Scope::Platform, "reservation", "RES-101"),
            // the separator keeps ("T-1", "01…") and ("T-10", "1…") apart
            stable_id(Scope::Tenant("T-1"), "guest", "01"),
            stable_id(Scope::Tenant("T-10"), "guest", "1"),
        ];
        let distinct: std::collections::BTreeSet<_> = ids.iter().collect();
        assert_eq!(distinct.len(), ids.len());
    }

    #[test]
    fn a_stay_has_one_opening_payment() {
        let (stay, other) = (Uuid::now_v7(), Uuid::now_v7());
        assert_eq!(opening_payment_id(stay), opening_payment_id(stay));
        assert_ne!(opening_payment_id(stay), opening_payment_id(other));
        assert_ne!(
            opening_payment_id(stay),
            pms_sync_protocol::derived::guest_folio_id(stay)
        );
    }

    #[test]
    fn a_uuid_legacy_id_is_kept() {
        let born_new = Uuid::now_v7();
        assert_eq!(
            stable_id(Scope::Tenant("T-101"), "guest", &born_new.to_string()),
            born_new
        );
        assert_eq!(as_uuid("guest_1700000000_abcdef"), None);
    }
}
