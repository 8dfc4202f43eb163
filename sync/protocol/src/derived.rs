//! Ids of ledger entries (and ledgers) the system derives from an event (a check-out's points,
//! its first-stay bonus, a stay's guest folio): UUIDv5 of what they derive from, so two laptops that derive the same entry offline
//! make one row, and the server answers the second as already applied.

use uuid::Uuid;

/// The namespace of derived entry ids (fixed forever: changing it would make new ids for old
/// derivations).
pub const NAMESPACE: Uuid = Uuid::from_u128(0x6f1d_2c5e_9a47_4b0e_8d3a_51c2_e7b9_04a6);

/// The points a member earns for a stay: one entry per (stay, member).
pub fn stay_earning_id(reservation: Uuid, member: Uuid) -> Uuid {
    Uuid::new_v5(
        &NAMESPACE,
        format!("loyalty_transactions/stay_earning/{reservation}/{member}").as_bytes(),
    )
}

/// A member's first-stay bonus: one per member, whichever stay and laptop derives it first.
pub fn first_stay_bonus_id(member: Uuid) -> Uuid {
    Uuid::new_v5(
        &NAMESPACE,
        format!("loyalty_transactions/first_stay_bonus/{member}").as_bytes(),
    )
}

/// A stay's guest folio: one per stay, so two laptops opening it offline make one folio.
pub fn guest_folio_id(reservation: Uuid) -> Uuid {
    Uuid::new_v5(&NAMESPACE, format!("folios/guest/{reservation}").as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stay_has_one_guest_folio_id() {
        let (stay, other) = (Uuid::now_v7(), Uuid::now_v7());
        assert_eq!(guest_folio_id(stay), guest_folio_id(stay));
        assert_ne!(guest_folio_id(stay), guest_folio_id(other));
        assert_eq!(guest_folio_id(stay).get_version_num(), 5);
    }

    #[test]
    fn the_same_derivation_gives_the_same_id_and_others_differ() {
        let (stay, member, other) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        assert_eq!(stay_earning_id(stay, member), stay_earning_id(stay, member));
        assert_ne!(stay_earning_id(stay, member), stay_earning_id(stay, other));
        assert_ne!(stay_earning_id(stay, member), first_stay_bonus_id(member));
        assert_eq!(first_stay_bonus_id(member).get_version_num(), 5);
    }
}
