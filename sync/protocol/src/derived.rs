//! Ids of ledger entries (and ledgers) the system derives from an event (a check-out's points,
//! its first-stay bonus, a stay's guest folio, a night's price, room charge and taxes, a
//! no-show's fee, a night audit): UUIDv5 of what they derive from, so two laptops that derive the same entry offline
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

/// A guest's preference record when a desk makes it: one per guest, so two laptops making it
/// offline make one (what each typed is sent as an update of it, merged field by field).
pub fn guest_preferences_id(guest: Uuid) -> Uuid {
    Uuid::new_v5(&NAMESPACE, format!("guest_preferences/{guest}").as_bytes())
}

/// A stay's guest folio: one per stay, so two laptops opening it offline make one folio.
pub fn guest_folio_id(reservation: Uuid) -> Uuid {
    Uuid::new_v5(&NAMESPACE, format!("folios/guest/{reservation}").as_bytes())
}

/// A night of a stay, priced when booked: one row per (stay, night).
pub fn stay_night_id(reservation: Uuid, night: chrono::NaiveDate) -> Uuid {
    Uuid::new_v5(
        &NAMESPACE,
        format!("reservation_nights/{reservation}/{night}").as_bytes(),
    )
}

/// A night's room charge, posted by the night audit: one per (stay, night).
pub fn room_charge_id(reservation: Uuid, night: chrono::NaiveDate) -> Uuid {
    Uuid::new_v5(
        &NAMESPACE,
        format!("folio_entries/room_charge/{reservation}/{night}").as_bytes(),
    )
}

/// A no-show's fee, posted by the night audit: one per stay.
pub fn no_show_fee_id(reservation: Uuid) -> Uuid {
    Uuid::new_v5(
        &NAMESPACE,
        format!("folio_entries/no_show_fee/{reservation}").as_bytes(),
    )
}

/// A tax on a charge: one per (charge entry, property tax).
pub fn tax_entry_id(charge_entry: Uuid, tax: Uuid) -> Uuid {
    Uuid::new_v5(
        &NAMESPACE,
        format!("folio_entries/tax/{charge_entry}/{tax}").as_bytes(),
    )
}

/// The void of an entry: an entry is voided once, whichever laptop voids it.
pub fn void_entry_id(entry: Uuid) -> Uuid {
    Uuid::new_v5(&NAMESPACE, format!("folio_entries/void/{entry}").as_bytes())
}

/// A property's night audit of one business date: one per (property, date).
pub fn night_audit_id(property: Uuid, business_date: chrono::NaiveDate) -> Uuid {
    Uuid::new_v5(
        &NAMESPACE,
        format!("night_audits/{property}/{business_date}").as_bytes(),
    )
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

    #[test]
    fn a_night_derives_one_price_one_charge_and_one_tax_per_tax() {
        let (stay, property, tax) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let night = chrono::NaiveDate::from_ymd_opt(2026, 12, 4).expect("a date");
        let next = night.succ_opt().expect("a date");
        assert_eq!(room_charge_id(stay, night), room_charge_id(stay, night));
        assert_ne!(room_charge_id(stay, night), room_charge_id(stay, next));
        assert_ne!(room_charge_id(stay, night), stay_night_id(stay, night));
        let charge = room_charge_id(stay, night);
        assert_eq!(tax_entry_id(charge, tax), tax_entry_id(charge, tax));
        assert_ne!(tax_entry_id(charge, tax), void_entry_id(charge));
        assert_ne!(
            night_audit_id(property, night),
            night_audit_id(property, next)
        );
        assert_ne!(no_show_fee_id(stay), room_charge_id(stay, night));
    }
}
