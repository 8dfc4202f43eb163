//! Every check constraint, unique constraint, unique index and exclusion constraint of the schema
//! has a case below: SQL that breaks that constraint and nothing else. Three tests:
//!
//! - `every_case_violates_its_constraint`: each case fails with the right SQLSTATE (23514 check,
//!   23505 unique, 23P01 exclusion) and Postgres names the expected constraint (for a unique index,
//!   the index).
//! - `every_case_violates_nothing_else`: with its constraint dropped, the same SQL succeeds, so the
//!   case does not lean on some other rule.
//! - `every_constraint_has_a_case`: the cases cover exactly the constraints and unique indexes in
//!   the catalog, so a new constraint without a case fails the build.
//!
//! Each case runs as the superuser on a seeded database, in a transaction of its own that is
//! rolled back. Most cases update one existing row or insert a copy of one. Where the schema's own
//! machinery stands in the way, the case says so in its SQL:
//!
//! - `set local session_replication_role = replica` skips triggers: the BEFORE triggers that assign
//!   confirmation and membership numbers, and the append-only and balance triggers of the loyalty
//!   ledger.
//! - A constraint implied by a stronger one (a unique key that contains the primary key, a check
//!   implied by another check that Postgres evaluates first) can only be reported once the stronger
//!   one is gone, so the case drops it first.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use pms_tests::TestDb;
use sqlx::PgPool;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Check,
    Unique,
    Exclusion,
}

impl Kind {
    fn sqlstate(self) -> &'static str {
        match self {
            Kind::Check => "23514",
            Kind::Unique => "23505",
            Kind::Exclusion => "23P01",
        }
    }

    fn from_catalog(kind: &str) -> Self {
        match kind {
            "check" => Kind::Check,
            "unique" => Kind::Unique,
            "exclusion" => Kind::Exclusion,
            other => panic!("unexpected constraint kind {other}"),
        }
    }
}

struct Case {
    constraint: &'static str,
    kind: Kind,
    sql: String,
}

fn check(constraint: &'static str, sql: impl Into<String>) -> Case {
    Case {
        constraint,
        kind: Kind::Check,
        sql: sql.into(),
    }
}

fn unique(constraint: &'static str, sql: impl Into<String>) -> Case {
    Case {
        constraint,
        kind: Kind::Unique,
        sql: sql.into(),
    }
}

fn exclusion(constraint: &'static str, sql: impl Into<String>) -> Case {
    Case {
        constraint,
        kind: Kind::Exclusion,
        sql: sql.into(),
    }
}

/// Sets `assignment` on one row of `table`.
fn update_one(table: &str, assignment: &str) -> String {
    format!("update public.{table} set {assignment} where id = (select id from public.{table} order by id limit 1)")
}

/// Sets `assignment` on one row of `table` that matches `filter`.
fn update_one_where(table: &str, filter: &str, assignment: &str) -> String {
    format!(
        "update public.{table} set {assignment} \
         where id = (select id from public.{table} where {filter} order by id limit 1)"
    )
}

/// Sets `assignment` on two rows of one tenant of `table` (a unique key gets the same value twice).
fn update_two_of_one_tenant(table: &str, assignment: &str) -> String {
    format!(
        "update public.{table} set {assignment} \
         where id in (select id from public.{table} \
                       where tenant_id = (select tenant_id from public.{table} order by id limit 1) \
                       order by id limit 2)"
    )
}

/// A new entry on the first seeded folio with these SQL values.
fn folio_entry(kind: &str, amount: &str, method: &str, currency: &str, reference: &str) -> String {
    format!(
        "insert into public.folio_entries
                (tenant_id, folio_id, reservation_id, kind, amount_minor, currency, payment_method, external_reference)
         select tenant_id, id, reservation_id, {kind}, {amount}, {currency}, {method}, {reference}
           from public.folios order by id limit 1"
    )
}

/// A new charge on the first seeded folio with `column` set to `value` (SQL).
fn folio_charge(column: &str, value: &str) -> String {
    format!(
        "insert into public.folio_entries
                (tenant_id, folio_id, reservation_id, kind, amount_minor, currency, {column})
         select tenant_id, id, reservation_id, 'charge', 1, currency, {value}
           from public.folios order by id limit 1"
    )
}

/// A new night audit of the first seeded property, of a date no audit has, with these SQL values.
fn night_audit(business_date: &str, rooms_sold: &str, no_shows: &str) -> String {
    format!(
        "insert into public.night_audits (tenant_id, property_id, business_date, rooms_sold, no_shows)
         select tenant_id, id, {business_date}, {rooms_sold}, {no_shows} from public.properties order by id limit 1"
    )
}

/// The columns of a guest invoice that a case copies (the id is new).
const GUEST_INVOICE_COLUMNS: &[&str] = &[
    "tenant_id",
    "series_id",
    "number",
    "kind",
    "corrects_invoice_id",
    "property_id",
    "reservation_id",
    "folio_id",
    "bill_to",
    "currency",
    "net_minor",
    "tax_minor",
    "total_minor",
    "paid_minor",
    "lines",
    "taxes",
    "issued_on",
];

/// Guest invoices are append-only and numbered without gaps per series, so a case inserts a copy
/// of the last seeded invoice of a series, numbered next (its predecessor exists), with some
/// columns given as SQL over `i` (the copied invoice) and `n` (1, or 1 and 2 with `copies` 2).
fn guest_invoice(copies: u32, overrides: &[(&str, &str)]) -> String {
    let values = GUEST_INVOICE_COLUMNS
        .iter()
        .map(|column| {
            overrides
                .iter()
                .find(|(c, _)| c == column)
                .map(|(_, value)| (*value).to_owned())
                .unwrap_or_else(|| match *column {
                    "number" => "i.number + n".to_owned(),
                    other => format!("i.{other}"),
                })
        })
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "insert into public.guest_invoices ({columns})
         select {values}
           from (select * from public.guest_invoices g
                  where not exists (select 1 from public.guest_invoices h
                                     where h.tenant_id = g.tenant_id and h.series_id = g.series_id
                                       and h.number > g.number)
                  order by id limit 1) i
          cross join generate_series(1, {copies}) as n
          order by n",
        columns = GUEST_INVOICE_COLUMNS.join(", "),
    )
}

/// A stay without folio entries, whose paid amount and status are its own.
const NO_FOLIO_ENTRIES: &str =
    "not exists (select 1 from public.folio_entries e where e.tenant_id = reservations.tenant_id and e.reservation_id = reservations.id)";

/// Skips triggers for the rest of the case's transaction.
const NO_TRIGGERS: &str = "set local session_replication_role = replica;";

fn cases() -> Vec<Case> {
    vec![
        // plans ----------------------------------------------------------------------------------
        check("plans_name_check", update_one("plans", "name = 'Platinum'")),
        check("plans_price_cents_check", update_one("plans", "price_cents = -1")),
        check("plans_currency_check", update_one("plans", "currency = 'usd'")),
        check("plans_billing_interval_check", update_one("plans", "billing_interval = 'weekly'")),
        check("plans_limit_users_check", update_one("plans", "limit_users = -1")),
        check("plans_limit_properties_check", update_one("plans", "limit_properties = -1")),
        check("plans_limit_rooms_check", update_one("plans", "limit_rooms = -1")),
        check("plans_limit_bookings_per_month_check", update_one("plans", "limit_bookings_per_month = -1")),
        check("plans_limit_api_calls_per_month_check", update_one("plans", "limit_api_calls_per_month = -1")),
        check("plans_limit_storage_gb_check", update_one("plans", "limit_storage_gb = -1")),
        check("plans_limit_custom_domains_check", update_one("plans", "limit_custom_domains = -1")),
        unique(
            "plans_legacy_id_key",
            "update public.plans set legacy_id = 'PLAN-1' where id in (select id from public.plans order by id limit 2)",
        ),
        unique(
            "plans_platform_name_key",
            "insert into public.plans (name, display_name)
             select name, display_name from public.plans where tenant_id is null order by id limit 1",
        ),
        unique(
            "plans_tenant_name_key",
            "insert into public.plans (tenant_id, name, display_name) values
                ((select id from public.tenants order by id limit 1), 'Pro', 'Pro, negotiated'),
                ((select id from public.tenants order by id limit 1), 'Pro', 'Pro, renegotiated')",
        ),
        // tenants --------------------------------------------------------------------------------
        check("tenants_name_check", update_one("tenants", "name = '  '")),
        check("tenants_subdomain_check", update_one("tenants", "subdomain = '-hotel-'")),
        check("tenants_status_check", update_one("tenants", "status = 'closed'")),
        check("tenants_settings_check", update_one("tenants", "settings = '[]'")),
        check("tenants_suspended_check", update_one("tenants", "status = 'suspended', suspended_at = null")),
        check("tenants_cancelled_check", update_one("tenants", "status = 'cancelled', cancelled_at = null")),
        unique(
            "tenants_subdomain_key",
            "insert into public.tenants (name, subdomain)
             select name || ' (copy)', subdomain from public.tenants order by id limit 1",
        ),
        unique(
            "tenants_custom_domain_key",
            "insert into public.tenants (name, subdomain, custom_domain) values
                ('Hotel A', 'hotel-a', 'hotel.example.com'), ('Hotel B', 'hotel-b', 'HOTEL.example.com')",
        ),
        unique(
            "tenants_external_id_key",
            "insert into public.tenants (name, subdomain, external_id) values
                ('Hotel A', 'hotel-a', 'T-123'), ('Hotel B', 'hotel-b', 'T-123')",
        ),
        // staff ----------------------------------------------------------------------------------
        check("staff_email_check", update_one("staff", "email = 'not an email'")),
        check("staff_display_name_check", update_one("staff", "display_name = ''")),
        check("staff_role_check", update_one("staff", "role = 'night_auditor'")),
        check(
            "staff_temporary_password_expires_check",
            update_one("staff", "password_temporary = true, password_expires_at = null"),
        ),
        // an email or a user id unique across tenants: the global login identities
        unique(
            "login_identities_email_key",
            "insert into public.staff (tenant_id, email, display_name, role)
             select tenant_id, upper(email), display_name, role from public.staff order by id limit 1",
        ),
        // triggers off: the login identity the insert trigger adds would repeat the user id
        unique(
            "staff_tenant_user_key",
            format!(
                "{NO_TRIGGERS}
                 insert into public.staff (tenant_id, user_id, email, display_name, role)
                 select tenant_id, user_id, 'someone.else@example.com', display_name, role
                   from public.staff order by id limit 1"
            ),
        ),
        // the change feed ---------------------------------------------------------------------------
        check(
            "feed_heads_head_check",
            "update app.feed_heads set head = -1 where tenant_id = (select tenant_id from app.feed_heads order by 1 limit 1)",
        ),
        check(
            "changes_op_check",
            "update app.changes set op = 'truncate'
              where (tenant_id, seq, change_no) = (select tenant_id, seq, change_no from app.changes order by 1, 2, 3 limit 1)",
        ),
        // the global feed (global rows: plans and platform flags) ----------------------------------
        check(
            "global_feed_head_singleton_check",
            "insert into app.global_feed_head (singleton) values (false)",
        ),
        check(
            "global_feed_head_head_check",
            "update app.global_feed_head set head = -1",
        ),
        check(
            "global_changes_op_check",
            "insert into app.global_changes (seq, table_name, row_id, op)
             values (1, 'plans', gen_random_uuid(), 'truncate')",
        ),
        // API calls counted for the usage alerts ----------------------------------------------------
        check(
            "api_calls_calls_check",
            "insert into app.api_calls (tenant_id, month, calls)
             select id, date '2026-11-01', -1 from public.tenants order by id limit 1",
        ),
        check(
            "api_calls_month_check",
            "insert into app.api_calls (tenant_id, month, calls)
             select id, date '2026-11-15', 1 from public.tenants order by id limit 1",
        ),
        // push bookkeeping -------------------------------------------------------------------------
        check(
            "device_progress_last_seq_check",
            "insert into app.device_progress (device_id, tenant_id, last_seq)
             select id, tenant_id, -1 from public.devices order by id limit 1",
        ),
        check(
            "change_results_device_seq_check",
            "insert into app.change_results (device_id, device_seq, tenant_id, change_id, status)
             select id, 0, tenant_id, gen_random_uuid(), 'applied' from public.devices order by id limit 1",
        ),
        check(
            "change_results_status_check",
            "insert into app.change_results (device_id, device_seq, tenant_id, change_id, status)
             select id, 1, tenant_id, gen_random_uuid(), 'maybe' from public.devices order by id limit 1",
        ),
        check(
            "change_results_reason_check",
            "insert into app.change_results (device_id, device_seq, tenant_id, change_id, status)
             select id, 1, tenant_id, gen_random_uuid(), 'rejected' from public.devices order by id limit 1",
        ),
        check(
            "device_progress_results_pruned_through_check",
            "insert into app.device_progress (device_id, tenant_id, results_pruned_through)
             select id, tenant_id, -1 from public.devices order by id limit 1",
        ),
        check(
            "device_progress_acked_through_check",
            "insert into app.device_progress (device_id, tenant_id, acked_through)
             select id, tenant_id, -1 from public.devices order by id limit 1",
        ),
        check(
            "change_results_body_hash_check",
            "insert into app.change_results (device_id, device_seq, tenant_id, change_id, status, body_hash)
             select id, 1, tenant_id, gen_random_uuid(), 'applied', 'not a hash' from public.devices order by id limit 1",
        ),
        check(
            "row_clocks_group_stamps_check",
            "insert into app.row_clocks (tenant_id, table_name, row_id, group_stamps)
             select id, 'guests', gen_random_uuid(), '[]' from public.tenants order by id limit 1",
        ),
        // devices (sync sessions) -----------------------------------------------------------------
        check("devices_name_check", update_one("devices", "name = ' '")),
        check("devices_refresh_token_hash_check", update_one("devices", "refresh_token_hash = 'not-a-sha256'")),
        // properties -----------------------------------------------------------------------------
        check("properties_name_check", update_one("properties", "name = ''")),
        check("properties_currency_check", update_one("properties", "currency = 'eur'")),
        check("properties_country_code_check", update_one("properties", "country_code = 'gb'")),
        // one property per tenant in the seed: the second legacy id comes with a new property
        unique(
            "properties_legacy_id_key",
            format!(
                "{}; insert into public.properties (tenant_id, name, legacy_id)
                 select tenant_id, 'Annex', legacy_id from public.properties where legacy_id = 'P-1'",
                update_one("properties", "legacy_id = 'P-1'")
            ),
        ),
        // room types -----------------------------------------------------------------------------
        check("room_types_code_check", update_one("room_types", "code = ' '")),
        check("room_types_name_check", update_one("room_types", "name = ''")),
        check("room_types_base_rate_cents_check", update_one("room_types", "base_rate_cents = -1")),
        check("room_types_max_occupancy_check", update_one("room_types", "max_occupancy = 21")),
        unique(
            "room_types_code_key",
            "insert into public.room_types (tenant_id, property_id, code, name)
             select tenant_id, property_id, lower(code), name from public.room_types
              where deleted_at is null order by id limit 1",
        ),
        unique("room_types_legacy_id_key", update_two_of_one_tenant("room_types", "legacy_id = 'RT-1'")),
        // (tenant_id, property_id, id) contains the primary key: only a copy of a row breaks it,
        // and that breaks the primary key first (rate plans' foreign key goes with it)
        unique(
            "room_types_property_key",
            "alter table public.room_types drop constraint room_types_pkey cascade;
             insert into public.room_types (tenant_id, id, property_id, code, name)
             select tenant_id, id, property_id, code || '-2', name from public.room_types order by id limit 1",
        ),
        // rooms ----------------------------------------------------------------------------------
        check("rooms_number_check", update_one("rooms", "number = ''")),
        check("rooms_floor_check", update_one("rooms", "floor = 201")),
        check("rooms_housekeeping_status_check", update_one("rooms", "housekeeping_status = 'sparkling'")),
        unique(
            "rooms_number_key",
            "insert into public.rooms (tenant_id, property_id, room_type_id, number)
             select tenant_id, property_id, room_type_id, number from public.rooms
              where deleted_at is null order by id limit 1",
        ),
        unique(
            "rooms_property_key",
            "alter table public.rooms drop constraint rooms_pkey;
             insert into public.rooms (tenant_id, id, property_id, room_type_id, number)
             select tenant_id, id, property_id, room_type_id, number || '-2' from public.rooms order by id limit 1",
        ),
        // guests ---------------------------------------------------------------------------------
        check("guests_email_check", update_one("guests", "email = 'not-an-email'")),
        check("guests_country_code_check", update_one("guests", "country_code = 'gb'")),
        check("guests_date_of_birth_check", update_one("guests", "date_of_birth = '1899-12-31'")),
        check("guests_nationality_check", update_one("guests", "nationality = 'fr'")),
        check("guests_segment_check", update_one("guests", "segment = 'nope'")),
        check("guests_vip_status_check", update_one("guests", "vip_status = 'vvvip'")),
        check("guests_total_bookings_check", update_one("guests", "total_bookings = -1")),
        check("guests_total_spent_cents_check", update_one("guests", "total_spent_cents = -1")),
        check("guests_lifetime_value_cents_check", update_one("guests", "lifetime_value_cents = -1")),
        check("guests_average_rating_check", update_one("guests", "average_rating = 5.5")),
        check("guests_currency_check", update_one("guests", "currency = 'usd'")),
        check("guests_metadata_check", update_one("guests", "metadata = '[]'")),
        unique("guests_legacy_id_key", update_two_of_one_tenant("guests", "legacy_id = 'G-1'")),
        // guest preferences ----------------------------------------------------------------------
        check("guest_preferences_bed_type_check", update_one("guest_preferences", "bed_type = 'sofa'")),
        check("guest_preferences_smoking_check", update_one("guest_preferences", "smoking = 'vaping'")),
        check(
            "guest_preferences_floor_preference_check",
            update_one("guest_preferences", "floor_preference = 'basement', specific_floor = null"),
        ),
        check(
            "guest_preferences_room_temperature_c_check",
            update_one("guest_preferences", "room_temperature_c = 40"),
        ),
        check(
            "guest_preferences_housekeeping_time_check",
            update_one("guest_preferences", "housekeeping_time = 'midnight'"),
        ),
        check("guest_preferences_occasion_type_check", update_one("guest_preferences", "occasion_type = 'graduation'")),
        check(
            "guest_preferences_specific_floor_check",
            update_one("guest_preferences", "floor_preference = 'specific', specific_floor = null"),
        ),
        check(
            "guest_preferences_wake_up_check",
            update_one("guest_preferences", "wake_up_call = true, wake_up_time = null"),
        ),
        unique(
            "guest_preferences_guest_key",
            "insert into public.guest_preferences (tenant_id, guest_id)
             select tenant_id, guest_id from public.guest_preferences order by id limit 1",
        ),
        // reservations ---------------------------------------------------------------------------
        check("reservations_guest_name_check", update_one("reservations", "guest_name = ' '")),
        check("reservations_status_check", update_one("reservations", "status = 'lost'")),
        check("reservations_source_check", update_one("reservations", "source = 'carrier_pigeon'")),
        check("reservations_room_count_check", update_one("reservations", "room_count = 0")),
        check("reservations_adults_check", update_one("reservations", "adults = 0")),
        check("reservations_children_check", update_one("reservations", "children = -1")),
        check("reservations_rate_per_night_cents_check", update_one("reservations", "rate_per_night_cents = -1")),
        check("reservations_total_amount_cents_check", update_one("reservations", "total_amount_cents = -1")),
        check("reservations_currency_check", update_one("reservations", "currency = 'usd'")),
        // a stay with folio entries takes its paid amount and status from them (the trigger), so
        // a stay without entries
        check(
            "reservations_deposit_paid_cents_check",
            update_one_where("reservations", NO_FOLIO_ENTRIES, "deposit_paid_cents = -1"),
        ),
        check(
            "reservations_payment_status_check",
            update_one_where("reservations", NO_FOLIO_ENTRIES, "payment_status = 'owed'"),
        ),
        check("reservations_dates_check", update_one("reservations", "check_out_date = check_in_date")),
        // the status trigger stamps the timestamp on a status change, so clear it without one
        check(
            "reservations_checked_in_at_check",
            update_one_where("reservations", "status = 'checked_in'", "checked_in_at = null"),
        ),
        check(
            "reservations_checked_out_at_check",
            update_one_where("reservations", "status = 'checked_out'", "checked_out_at = null"),
        ),
        check(
            "reservations_cancelled_at_check",
            update_one_where("reservations", "status = 'cancelled'", "cancelled_at = null"),
        ),
        // the number trigger keeps a reservation's number: take another's with triggers off
        unique(
            "reservations_confirmation_number_key",
            format!(
                "{NO_TRIGGERS}
                 update public.reservations r
                    set confirmation_number = (select max(o.confirmation_number) from public.reservations o
                                                where o.tenant_id = r.tenant_id)
                  where r.id = (select id from public.reservations order by tenant_id, confirmation_number limit 1)"
            ),
        ),
        unique("reservations_legacy_id_key", update_two_of_one_tenant("reservations", "legacy_id = 'R-1'")),
        exclusion(
            "reservations_no_double_booking",
            "insert into public.reservations
                    (tenant_id, guest_name, property_id, room_type_id, room_id, check_in_date, check_out_date, status)
             select tenant_id, guest_name, property_id, room_type_id, room_id, check_in_date, check_out_date, 'confirmed'
               from public.reservations
              where room_id is not null and deleted_at is null and status in ('pending', 'confirmed', 'checked_in')
              order by id limit 1",
        ),
        // loyalty programs -----------------------------------------------------------------------
        check("loyalty_programs_name_check", update_one("loyalty_programs", "name = ''")),
        check("loyalty_programs_tiers_check", update_one("loyalty_programs", "tiers = '{}'")),
        check(
            "loyalty_programs_points_per_currency_unit_check",
            update_one("loyalty_programs", "points_per_currency_unit = -1"),
        ),
        check(
            "loyalty_programs_first_stay_bonus_points_check",
            update_one("loyalty_programs", "first_stay_bonus_points = -1"),
        ),
        check(
            "loyalty_programs_birthday_bonus_points_check",
            update_one("loyalty_programs", "birthday_bonus_points = -1"),
        ),
        check("loyalty_programs_point_value_cents_check", update_one("loyalty_programs", "point_value_cents = -0.5")),
        check(
            "loyalty_programs_minimum_redemption_points_check",
            update_one("loyalty_programs", "minimum_redemption_points = -1"),
        ),
        check("loyalty_programs_points_expiry_days_check", update_one("loyalty_programs", "points_expiry_days = 0")),
        check("loyalty_programs_currency_check", update_one("loyalty_programs", "currency = 'usd'")),
        // one program per tenant in the seed: the second legacy id comes with a new program
        unique(
            "loyalty_programs_legacy_id_key",
            format!(
                "{}; insert into public.loyalty_programs (tenant_id, name, legacy_id)
                 select tenant_id, 'Second program', legacy_id from public.loyalty_programs where legacy_id = 'LP-1'",
                update_one("loyalty_programs", "legacy_id = 'LP-1'")
            ),
        ),
        // loyalty members ------------------------------------------------------------------------
        check("loyalty_members_points_balance_check", update_one("loyalty_members", "points_balance = -1")),
        check("loyalty_members_lifetime_points_check", update_one("loyalty_members", "lifetime_points = -1")),
        check("loyalty_members_status_check", update_one("loyalty_members", "status = 'banned'")),
        check("loyalty_members_points_to_next_tier_check", update_one("loyalty_members", "points_to_next_tier = -1")),
        unique(
            "loyalty_members_membership_number_key",
            format!(
                "{NO_TRIGGERS}
                 update public.loyalty_members m
                    set membership_number = (select max(o.membership_number) from public.loyalty_members o
                                              where o.tenant_id = m.tenant_id)
                  where m.id = (select id from public.loyalty_members order by tenant_id, membership_number limit 1)"
            ),
        ),
        unique(
            "loyalty_members_guest_key",
            "insert into public.loyalty_members (tenant_id, program_id, guest_id)
             select tenant_id, program_id, guest_id from public.loyalty_members order by id limit 1",
        ),
        // (tenant_id, id, program_id, guest_id) contains the primary key and the guest key
        unique(
            "loyalty_members_ledger_key",
            "alter table public.loyalty_members
                drop constraint loyalty_members_pkey, drop constraint loyalty_members_guest_key;
             insert into public.loyalty_members (tenant_id, id, program_id, guest_id)
             select tenant_id, id, program_id, guest_id from public.loyalty_members order by id limit 1",
        ),
        unique("loyalty_members_legacy_id_key", update_two_of_one_tenant("loyalty_members", "legacy_id = 'LM-1'")),
        // loyalty transactions: append-only, balances computed by the insert trigger -------------
        check(
            "loyalty_transactions_balance_after_check",
            "insert into public.loyalty_transactions (tenant_id, member_id, program_id, guest_id, type, points)
             select tenant_id, id, program_id, guest_id, 'redeem', -(points_balance + 1)
               from public.loyalty_members order by id limit 1",
        ),
        check(
            "loyalty_transactions_points_sign_check",
            "insert into public.loyalty_transactions (tenant_id, member_id, program_id, guest_id, type, points)
             select tenant_id, id, program_id, guest_id, 'redeem', 1 from public.loyalty_members order by id limit 1",
        ),
        check(
            "loyalty_transactions_expires_at_check",
            "insert into public.loyalty_transactions (tenant_id, member_id, program_id, guest_id, type, points, expires_at)
             select tenant_id, id, program_id, guest_id, 'adjust', 1, now() + interval '1 year'
               from public.loyalty_members order by id limit 1",
        ),
        // an unknown type is reported by the type check, not by the sign check
        check(
            "loyalty_transactions_type_check",
            "insert into public.loyalty_transactions (tenant_id, member_id, program_id, guest_id, type, points)
             select tenant_id, id, program_id, guest_id, 'gift', 1 from public.loyalty_members order by id limit 1",
        ),
        // the trigger derives the balances, so they can be wrong only with triggers off
        check(
            "loyalty_transactions_balance_before_check",
            format!(
                "{NO_TRIGGERS}
                 insert into public.loyalty_transactions
                        (tenant_id, member_id, program_id, guest_id, type, points, balance_before, balance_after)
                 select tenant_id, id, program_id, guest_id, 'earn', 1, -1, 0 from public.loyalty_members order by id limit 1"
            ),
        ),
        check(
            "loyalty_transactions_balance_check",
            format!("{NO_TRIGGERS} {}", update_one("loyalty_transactions", "balance_after = balance_after + 1")),
        ),
        unique(
            "loyalty_transactions_legacy_id_key",
            format!("{NO_TRIGGERS} {}", update_two_of_one_tenant("loyalty_transactions", "legacy_id = 'LT-1'")),
        ),
        // marketing campaigns --------------------------------------------------------------------
        check("marketing_campaigns_name_check", update_one("marketing_campaigns", "name = ''")),
        check("marketing_campaigns_type_check", update_one("marketing_campaigns", "type = 'fax'")),
        check("marketing_campaigns_status_check", update_one("marketing_campaigns", "status = 'archived'")),
        check("marketing_campaigns_audience_check", update_one("marketing_campaigns", "audience = 'everyone'")),
        check(
            "marketing_campaigns_target_segments_check",
            update_one("marketing_campaigns", "target_segments = '{business,vip}'"),
        ),
        check(
            "marketing_campaigns_target_vip_statuses_check",
            update_one("marketing_campaigns", "target_vip_statuses = '{vip,gold}'"),
        ),
        check("marketing_campaigns_custom_filters_check", update_one("marketing_campaigns", "custom_filters = '[]'")),
        check("marketing_campaigns_target_count_check", update_one("marketing_campaigns", "target_count = -1")),
        check("marketing_campaigns_sent_count_check", update_one("marketing_campaigns", "sent_count = -1")),
        check("marketing_campaigns_delivered_count_check", update_one("marketing_campaigns", "delivered_count = -1")),
        check("marketing_campaigns_opened_count_check", update_one("marketing_campaigns", "opened_count = -1")),
        check("marketing_campaigns_clicked_count_check", update_one("marketing_campaigns", "clicked_count = -1")),
        check("marketing_campaigns_converted_count_check", update_one("marketing_campaigns", "converted_count = -1")),
        check(
            "marketing_campaigns_unsubscribed_count_check",
            update_one("marketing_campaigns", "unsubscribed_count = -1"),
        ),
        check("marketing_campaigns_bounced_count_check", update_one("marketing_campaigns", "bounced_count = -1")),
        check(
            "marketing_campaigns_window_check",
            update_one("marketing_campaigns", "window_starts_at = '2026-12-02', window_ends_at = '2026-12-01'"),
        ),
        check(
            "marketing_campaigns_scheduled_check",
            update_one("marketing_campaigns", "status = 'scheduled', scheduled_at = null, send_immediately = false"),
        ),
        unique(
            "marketing_campaigns_legacy_id_key",
            update_two_of_one_tenant("marketing_campaigns", "legacy_id = 'MC-1'"),
        ),
        // campaign recipients --------------------------------------------------------------------
        check("campaign_recipients_status_check", update_one("campaign_recipients", "status = 'lost'")),
        unique(
            "campaign_recipients_guest_key",
            "insert into public.campaign_recipients (tenant_id, campaign_id, guest_id)
             select tenant_id, campaign_id, guest_id from public.campaign_recipients order by id limit 1",
        ),
        unique(
            "campaign_recipients_legacy_id_key",
            update_two_of_one_tenant("campaign_recipients", "legacy_id = 'CR-1'"),
        ),
        // communication logs ---------------------------------------------------------------------
        check("communication_logs_type_check", update_one("communication_logs", "type = 'pigeon'")),
        check("communication_logs_direction_check", update_one("communication_logs", "direction = 'sideways'")),
        check("communication_logs_status_check", update_one("communication_logs", "status = 'lost'")),
        unique(
            "communication_logs_legacy_id_key",
            update_two_of_one_tenant("communication_logs", "legacy_id = 'CL-1'"),
        ),
        // subscriptions --------------------------------------------------------------------------
        check("subscriptions_status_check", update_one("subscriptions", "status = 'paused'")),
        check("subscriptions_payment_method_check", update_one("subscriptions", "payment_method = 'cash'")),
        check("subscriptions_last_payment_status_check", update_one("subscriptions", "last_payment_status = 'lost'")),
        check("subscriptions_period_check", update_one("subscriptions", "current_period_end = current_period_start")),
        check("subscriptions_cancelled_check", update_one("subscriptions", "status = 'cancelled', cancelled_at = null")),
        unique(
            "subscriptions_live_key",
            "insert into public.subscriptions (tenant_id, plan_id, status, current_period_start, current_period_end)
             select tenant_id, plan_id, 'active', current_period_start, current_period_end
               from public.subscriptions where status in ('active', 'past_due', 'trialing') order by id limit 1",
        ),
        // one subscription per tenant in the seed: the second legacy id comes with a cancelled one
        unique(
            "subscriptions_legacy_id_key",
            format!(
                "{}; insert into public.subscriptions
                        (tenant_id, plan_id, status, cancelled_at, current_period_start, current_period_end, legacy_id)
                 select tenant_id, plan_id, 'cancelled', now(), current_period_start, current_period_end, legacy_id
                   from public.subscriptions where legacy_id = 'S-1'",
                update_one("subscriptions", "legacy_id = 'S-1'")
            ),
        ),
        // invoices -------------------------------------------------------------------------------
        check("invoices_amount_cents_check", update_one("invoices", "amount_cents = -1")),
        check("invoices_tax_cents_check", update_one("invoices", "tax_cents = -1")),
        check("invoices_currency_check", update_one("invoices", "currency = 'eur'")),
        check("invoices_status_check", update_one("invoices", "status = 'void'")),
        check("invoices_line_items_check", update_one("invoices", "line_items = '{}'")),
        check("invoices_paid_at_check", update_one("invoices", "status = 'paid', paid_at = null")),
        check(
            "invoices_period_check",
            update_one("invoices", "period_start = '2026-02-01', period_end = '2026-01-01'"),
        ),
        unique("invoices_legacy_id_key", update_two_of_one_tenant("invoices", "legacy_id = 'I-1'")),
        // usage alerts ---------------------------------------------------------------------------
        check("usage_alerts_metric_check", update_one("usage_alerts", "metric = 'coffee'")),
        check("usage_alerts_threshold_percent_check", update_one("usage_alerts", "threshold_percent = 101")),
        check("usage_alerts_current_value_check", update_one("usage_alerts", "current_value = -1")),
        check("usage_alerts_limit_value_check", update_one("usage_alerts", "limit_value = -1")),
        check("usage_alerts_triggered_check", update_one("usage_alerts", "triggered = true, triggered_at = null")),
        check("usage_alerts_notified_check", update_one("usage_alerts", "notified = true, notified_at = null")),
        unique("usage_alerts_legacy_id_key", update_two_of_one_tenant("usage_alerts", "legacy_id = 'UA-1'")),
        unique(
            "usage_alerts_threshold_key",
            update_two_of_one_tenant("usage_alerts", "metric = 'rooms', threshold_percent = 80"),
        ),
        // feature flags (platform rows have no tenant) -------------------------------------------
        check("feature_flags_key_check", update_one("feature_flags", "key = 'Not A Key'")),
        check("feature_flags_scope_check", update_one("feature_flags", "scope = 'planet'")),
        check("feature_flags_status_check", update_one("feature_flags", "status = 'maybe'")),
        check("feature_flags_enabled_plans_check", update_one("feature_flags", "enabled_plans = '{Pro,Platinum}'")),
        check("feature_flags_rollout_percentage_check", update_one("feature_flags", "rollout_percentage = 101")),
        unique(
            "feature_flags_platform_key",
            "insert into public.feature_flags (key, name)
             select key, name from public.feature_flags where tenant_id is null order by id limit 1",
        ),
        unique(
            "feature_flags_tenant_key",
            "insert into public.feature_flags (tenant_id, key, name)
             select tenant_id, key, name from public.feature_flags where tenant_id is not null order by id limit 1",
        ),
        unique(
            "feature_flags_legacy_id_key",
            "update public.feature_flags set legacy_id = 'FF-1'
              where id in (select id from public.feature_flags order by id limit 2)",
        ),
        // data retention policies (platform rows have no tenant) ---------------------------------
        check(
            "data_retention_policies_policy_type_check",
            update_one("data_retention_policies", "policy_type = 'everything'"),
        ),
        check("data_retention_policies_retention_days_check", update_one("data_retention_policies", "retention_days = 0")),
        check("data_retention_policies_action_check", update_one("data_retention_policies", "action = 'shred'")),
        check("data_retention_policies_schedule_check", update_one("data_retention_policies", "schedule = 'yearly'")),
        unique(
            "data_retention_policies_platform_key",
            "insert into public.data_retention_policies (policy_type, retention_days)
             select policy_type, retention_days from public.data_retention_policies
              where tenant_id is null order by id limit 1",
        ),
        unique(
            "data_retention_policies_tenant_key",
            "insert into public.data_retention_policies (tenant_id, policy_type, retention_days)
             select tenant_id, policy_type, retention_days from public.data_retention_policies
              where tenant_id is not null order by id limit 1",
        ),
        unique(
            "data_retention_policies_legacy_id_key",
            "update public.data_retention_policies set legacy_id = 'DRP-1'
              where id in (select id from public.data_retention_policies order by id limit 2)",
        ),
        // webhooks -------------------------------------------------------------------------------
        check("webhooks_url_check", update_one("webhooks", "url = 'ftp://example.com/hook'")),
        check("webhooks_events_check", update_one("webhooks", "events = '{}'")),
        check("webhooks_status_check", update_one("webhooks", "status = 'broken'")),
        check("webhooks_failure_count_check", update_one("webhooks", "failure_count = -1")),
        unique("webhooks_legacy_id_key", update_two_of_one_tenant("webhooks", "legacy_id = 'W-1'")),
        // webhook deliveries ---------------------------------------------------------------------
        check("webhook_deliveries_event_check", update_one("webhook_deliveries", "event = 'reservation-created'")),
        check("webhook_deliveries_status_check", update_one("webhook_deliveries", "status = 'lost'")),
        check("webhook_deliveries_attempt_count_check", update_one("webhook_deliveries", "attempt_count = -1")),
        check("webhook_deliveries_response_status_check", update_one("webhook_deliveries", "response_status = 600")),
        check(
            "webhook_deliveries_delivered_check",
            update_one("webhook_deliveries", "status = 'success', delivered_at = null"),
        ),
        check(
            "webhook_deliveries_pending_check",
            update_one("webhook_deliveries", "status = 'pending', next_retry_at = null"),
        ),
        unique(
            "webhook_deliveries_legacy_id_key",
            update_two_of_one_tenant("webhook_deliveries", "legacy_id = 'WD-1'"),
        ),
        // folios -------------------------------------------------------------------------------
        check("folios_kind_check", update_one("folios", "kind = 'house'")),
        check("folios_status_check", update_one("folios", "status = 'archived'")),
        check("folios_currency_check", update_one("folios", "currency = 'eur'")),
        check("folios_closed_at_check", update_one("folios", "status = 'closed'")),
        check("folios_no_card_number_check", update_one("folios", "name = 'Card 4111 1111 1111 1111'")),
        // (tenant_id, id, reservation_id) contains the primary key
        unique(
            "folios_entry_key",
            "alter table public.folios drop constraint folios_pkey;
             insert into public.folios (tenant_id, id, property_id, reservation_id, kind, status, currency)
             select tenant_id, id, property_id, reservation_id, kind, status, currency
               from public.folios order by id limit 1",
        ),
        // folio entries: append-only, so every case is a new entry on a seeded folio ------------
        check("folio_entries_kind_check", folio_entry("'gift'", "1", "null", "'EUR'", "null")),
        check("folio_entries_amount_check", folio_entry("'payment'", "-1", "'cash'", "'EUR'", "null")),
        check(
            "folio_entries_payment_method_check",
            folio_entry("'payment'", "1", "'cheque'", "'EUR'", "null"),
        ),
        check(
            "folio_entries_payment_method_kind_check",
            folio_entry("'charge'", "1", "'cash'", "'EUR'", "null"),
        ),
        // the insert trigger would first refuse a currency other than the folio's
        check(
            "folio_entries_currency_check",
            format!("{NO_TRIGGERS} {}", folio_entry("'charge'", "1", "null", "'eur'", "null")),
        ),
        check(
            "folio_entries_no_card_number_check",
            folio_entry("'payment'", "1", "'card'", "'EUR'", "'4111 1111 1111 1111'"),
        ),
        unique(
            "folio_entries_voids_entry_key",
            "insert into public.folio_entries
                    (tenant_id, folio_id, reservation_id, kind, amount_minor, currency, payment_method, description, voids_entry_id)
             select e.tenant_id, e.folio_id, e.reservation_id, e.kind, e.amount_minor, e.currency, e.payment_method, 'Void', e.id
               from (select * from public.folio_entries order by id limit 1) e cross join generate_series(1, 2)",
        ),
        check("folio_entries_charge_type_check", folio_charge("charge_type", "'spa'")),
        check("folio_entries_quantity_check", folio_charge("quantity", "0")),
        check("folio_entries_tax_rate_bp_check", folio_charge("tax_rate_bp", "10001")),
        // properties: when the night audit runs by itself --------------------------------------
        check("properties_night_audit_hour_check", update_one("properties", "night_audit_hour = 24")),
        // identity documents and a booking's history ------------------------------------------
        check("properties_document_retention_days_check", update_one("properties", "document_retention_days = 0")),
        check("guest_documents_kind_check", update_one("guest_documents", "kind = 'library_card'")),
        check("guest_documents_number_check", update_one("guest_documents", "number = '  '")),
        check("guest_documents_issuing_country_check", update_one("guest_documents", "issuing_country = 'pt'")),
        check(
            "guest_documents_no_card_number_check",
            update_one("guest_documents", "number = '4111 1111 1111 1111'"),
        ),
        check(
            "reservation_events_action_check",
            format!("{NO_TRIGGERS} {}", update_one("reservation_events", "action = 'teleported'")),
        ),
        check(
            "reservation_events_detail_check",
            format!("{NO_TRIGGERS} {}", update_one("reservation_events", "detail = '[1]'")),
        ),
        // rate plans and their seasons ---------------------------------------------------------
        check("rate_plans_name_check", update_one("rate_plans", "name = ' '")),
        check("rate_plans_currency_check", update_one("rate_plans", "currency = 'eur'")),
        check("rate_plans_base_price_check", update_one("rate_plans", "base_price_minor = -1")),
        check("rate_plan_prices_weekdays_check", update_one("rate_plan_prices", "weekdays = 0")),
        check("rate_plan_prices_price_check", update_one("rate_plan_prices", "price_minor = -1")),
        check("rate_plan_prices_dates_check", update_one("rate_plan_prices", "ends_on = starts_on - 1")),
        // a stay's nightly prices ----------------------------------------------------------------
        check("reservation_nights_price_check", update_one("reservation_nights", "price_minor = -1")),
        check("reservation_nights_currency_check", update_one("reservation_nights", "currency = 'eur'")),
        unique(
            "reservation_nights_night_key",
            "insert into public.reservation_nights (tenant_id, reservation_id, night, price_minor, currency)
             select tenant_id, reservation_id, night, price_minor, currency
               from public.reservation_nights order by id limit 1",
        ),
        // property taxes -----------------------------------------------------------------------
        check("property_taxes_name_check", update_one("property_taxes", "name = ''")),
        // an unknown kind is reported by the kind check, not by the shape check
        check("property_taxes_kind_check", update_one("property_taxes", "kind = 'sales'")),
        check("property_taxes_charge_type_check", update_one("property_taxes", "charge_type = 'spa'")),
        check(
            "property_taxes_rate_bp_check",
            update_one_where("property_taxes", "kind = 'vat'", "rate_bp = 10001"),
        ),
        check(
            "property_taxes_amount_check",
            update_one_where("property_taxes", "kind = 'city_tax'", "amount_minor = -1"),
        ),
        check(
            "property_taxes_exempt_age_check",
            update_one_where("property_taxes", "kind = 'city_tax'", "exempt_under_age = 26"),
        ),
        check(
            "property_taxes_shape_check",
            update_one_where("property_taxes", "kind = 'vat'", "amount_minor = 100"),
        ),
        // charge items -------------------------------------------------------------------------
        check("charge_items_name_check", update_one("charge_items", "name = ''")),
        check("charge_items_charge_type_check", update_one("charge_items", "charge_type = 'room'")),
        check("charge_items_price_check", update_one("charge_items", "price_minor = -1")),
        check("charge_items_currency_check", update_one("charge_items", "currency = 'eur'")),
        // night audits: append-only, so every case is a new audit -----------------------------
        check("night_audits_rooms_sold_check", night_audit("date '2031-01-01'", "-1", "0")),
        check("night_audits_no_shows_check", night_audit("date '2031-01-01'", "0", "-1")),
        unique(
            "night_audits_date_key",
            "insert into public.night_audits (tenant_id, property_id, business_date)
             select tenant_id, property_id, business_date from public.night_audits order by id limit 1",
        ),
        // guest invoice series -----------------------------------------------------------------
        check("guest_invoice_series_prefix_check", update_one("guest_invoice_series", "prefix = 'd-1'")),
        unique(
            "guest_invoice_series_prefix_key",
            update_two_of_one_tenant("guest_invoice_series", "prefix = 'X1'"),
        ),
        unique(
            "guest_invoice_series_device_key",
            "insert into public.guest_invoice_series (tenant_id, device_id, prefix)
             select tenant_id, device_id, 'Z9' from public.guest_invoice_series
              where device_id is not null order by id limit 1",
        ),
        // guest invoices: append-only and gapless, so every case is the next invoice of a series
        check("guest_invoices_number_check", guest_invoice(1, &[("number", "0")])),
        check("guest_invoices_kind_check", guest_invoice(1, &[("kind", "'receipt'")])),
        check("guest_invoices_bill_to_check", guest_invoice(1, &[("bill_to", "' '")])),
        check("guest_invoices_currency_check", guest_invoice(1, &[("currency", "'eur'")])),
        check("guest_invoices_lines_check", guest_invoice(1, &[("lines", "'{}'")])),
        check("guest_invoices_taxes_check", guest_invoice(1, &[("taxes", "'{}'")])),
        check(
            "guest_invoices_total_check",
            guest_invoice(1, &[("total_minor", "i.net_minor + i.tax_minor + 1")]),
        ),
        check("guest_invoices_credit_note_check", guest_invoice(1, &[("kind", "'credit_note'")])),
        check(
            "guest_invoices_no_card_number_check",
            guest_invoice(1, &[("bill_to", "'Card 4111 1111 1111 1111'")]),
        ),
        // the same number again (its predecessor exists, so the gapless trigger lets it through)
        unique("guest_invoices_number_key", guest_invoice(1, &[("number", "i.number")])),
        // two credit notes of one invoice, numbered one after the other
        unique(
            "guest_invoices_corrected_once",
            guest_invoice(2, &[("kind", "'credit_note'"), ("corrects_invoice_id", "i.id")]),
        ),
    ]
}

/// A constraint or unique index as the catalog has it.
struct Catalogued {
    kind: Kind,
    table: String,
    /// The statement that drops it (with cascade: a unique key may be a foreign key's target).
    drop: String,
}

/// Every check, unique and exclusion constraint in `public` and `app`, and every unique index that
/// backs no constraint; primary keys excluded. Keyed by name; a name used twice is listed twice.
async fn catalogued(pool: &PgPool) -> Vec<(String, Catalogued)> {
    let rows: Vec<(String, String, String, String)> = sqlx::query_as(
        "select c.conname::text, case c.contype when 'c' then 'check' when 'u' then 'unique' else 'exclusion' end,
                c.conrelid::regclass::text,
                format('alter table %s drop constraint %I cascade', c.conrelid::regclass, c.conname)
           from pg_constraint c
          where c.connamespace in ('public'::regnamespace, 'app'::regnamespace)
            and c.contype in ('c', 'u', 'x')
         union all
         select ic.relname::text, 'unique', i.indrelid::regclass::text,
                format('drop index %s cascade', i.indexrelid::regclass)
           from pg_index i
           join pg_class ic on ic.oid = i.indexrelid
          where ic.relnamespace in ('public'::regnamespace, 'app'::regnamespace)
            and i.indisunique and not i.indisprimary
            and not exists (select 1 from pg_constraint k
                             where k.conindid = i.indexrelid and k.conrelid = i.indrelid
                               and k.contype in ('p', 'u', 'x'))
          order by 1",
    )
    .fetch_all(pool)
    .await
    .expect("read the catalog");
    rows.into_iter()
        .map(|(name, kind, table, drop)| {
            (
                name,
                Catalogued {
                    kind: Kind::from_catalog(&kind),
                    table,
                    drop,
                },
            )
        })
        .collect()
}

/// Runs `sql` in a transaction that is rolled back, and returns what Postgres said.
async fn run_rolled_back(pool: &PgPool, sql: &str) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await.expect("begin");
    let result = sqlx::raw_sql(sql).execute(&mut *tx).await.map(drop);
    tx.rollback().await.expect("rollback");
    result
}

fn describe(result: &Result<(), sqlx::Error>) -> String {
    match result {
        Ok(()) => "succeeded (did the statement find a row to change?)".to_owned(),
        Err(sqlx::Error::Database(db)) => format!(
            "failed with {} on constraint {:?}: {}",
            db.code().unwrap_or_default(),
            db.constraint(),
            db.message()
        ),
        Err(other) => format!("failed: {other}"),
    }
}

fn report(what: &str, failures: &[String]) -> String {
    format!("{} {what}:\n  {}", failures.len(), failures.join("\n  "))
}

#[tokio::test]
async fn every_case_violates_its_constraint() {
    let db = TestDb::migrated().await;
    db.seed(2, 30).await;
    let started = Instant::now();
    let cases = cases();
    let mut failures = Vec::new();
    for case in &cases {
        let result = run_rolled_back(&db.pool, &case.sql).await;
        let matches = match &result {
            Err(sqlx::Error::Database(error)) => {
                error.code().as_deref() == Some(case.kind.sqlstate())
                    && error.constraint() == Some(case.constraint)
            }
            _ => false,
        };
        if !matches {
            failures.push(format!(
                "{} (expected {:?}, SQLSTATE {}): {}",
                case.constraint,
                case.kind,
                case.kind.sqlstate(),
                describe(&result)
            ));
        }
    }
    println!("{} cases in {:.2?}", cases.len(), started.elapsed());
    assert!(
        failures.is_empty(),
        "{}",
        report("cases did not fail as expected", &failures)
    );
}

#[tokio::test]
async fn every_case_violates_nothing_else() {
    let db = TestDb::migrated().await;
    db.seed(2, 30).await;
    let catalog: BTreeMap<String, Catalogued> = catalogued(&db.pool).await.into_iter().collect();
    let mut failures = Vec::new();
    for case in cases() {
        let Some(found) = catalog.get(case.constraint) else {
            failures.push(format!(
                "{}: not in the catalog (see every_constraint_has_a_case)",
                case.constraint
            ));
            continue;
        };
        let result = run_rolled_back(&db.pool, &format!("{};\n{}", found.drop, case.sql)).await;
        if result.is_err() {
            failures.push(format!(
                "{} dropped, the case still {}",
                case.constraint,
                describe(&result)
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{}",
        report("cases violate more than their own constraint", &failures)
    );
}

#[tokio::test]
async fn every_constraint_has_a_case() {
    let db = TestDb::migrated().await;
    let catalog = catalogued(&db.pool).await;
    let cases = cases();

    let mut problems = Vec::new();
    let mut seen = BTreeSet::new();
    for (name, _) in &catalog {
        if !seen.insert(name.as_str()) {
            problems.push(format!(
                "{name}: the name is used more than once; a violation would not say which"
            ));
        }
    }
    let mut case_names = BTreeSet::new();
    for case in &cases {
        if !case_names.insert(case.constraint) {
            problems.push(format!("{}: more than one case", case.constraint));
        }
    }
    let catalog: BTreeMap<&str, &Catalogued> =
        catalog.iter().map(|(name, c)| (name.as_str(), c)).collect();
    for (name, found) in &catalog {
        if !case_names.contains(name) {
            problems.push(format!(
                "{name} ({:?} on {}): no case; add one to cases()",
                found.kind, found.table
            ));
        }
    }
    for case in &cases {
        match catalog.get(case.constraint) {
            None => problems.push(format!(
                "{}: a case for a constraint the schema does not have",
                case.constraint
            )),
            Some(found) if found.kind != case.kind => problems.push(format!(
                "{}: the case expects a {:?} constraint, the schema has a {:?}",
                case.constraint, case.kind, found.kind
            )),
            Some(_) => {}
        }
    }
    assert!(
        problems.is_empty(),
        "{} constraints in the catalog, {} cases; {}",
        catalog.len(),
        cases.len(),
        report("problems", &problems)
    );
}
