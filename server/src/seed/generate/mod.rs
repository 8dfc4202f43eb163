//! The demo data generator: one tenant's rows from a seeded RNG, with no I/O.
//!
//! Stays are laid out room by room along a timeline (two years back, four months ahead), so
//! active stays never overlap; their status follows the dates (past stays checked out, today's
//! arrivals and departures, guests in house, future bookings). Guest metrics, loyalty ledgers,
//! campaign counters and billing are derived from those stays, so the data is consistent the way
//! the server's jobs would keep it.
//!
//! One module per area; they share the seeded RNG and the types defined here.

mod account;
mod guests;
mod inventory;
mod loyalty;
mod marketing;
mod rates;
mod registration;
mod stays;

use chrono::{DateTime, Datelike, Days, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::json;
use uuid::Uuid;

use super::copy::CopyTable;
use super::names;
use super::platform::Plan;

/// One tenant to generate.
#[derive(Debug, Clone)]
pub struct TenantPlan {
    pub index: usize,
    pub guests: usize,
    /// Reservations per ten guests (12 for the usual 1.2 per guest); integer, so the room count
    /// is exact for any size.
    pub stays_per_tenth_guest: usize,
    pub seed: u64,
    pub today: NaiveDate,
    /// How far back the rooms' calendar of past stays goes.
    pub history_days: u64,
}

/// A generated tenant: its rows, table by table in foreign-key order.
pub struct GeneratedTenant {
    pub tenant_id: Uuid,
    pub subdomain: String,
    pub tables: Vec<CopyTable>,
    /// The invoice series the database makes for each laptop when its `devices` row goes in
    /// (a trigger, with a random id and now()): (device, the id and creation time to give it),
    /// so that the same seed gives the same rows.
    pub device_series: Vec<(Uuid, Uuid, DateTime<Utc>)>,
}

use account::{billing, tenant_overrides, usage_alerts, webhooks};
use guests::{communications, guest_rows, make_guests, preference_rows};
use inventory::{inventory, staff_rows, tenant_row};
use loyalty::loyalty;
use marketing::campaigns;
use stays::{lay_out_stays, Stays};

const HISTORY_DAYS: u64 = 730;

const FUTURE_DAYS: u64 = 120;

const STAYS_PER_ROOM: usize = 210;

const ROOMS_PER_PROPERTY: usize = 120;

const POINTS_PER_UNIT: i64 = 10;

const FIRST_STAY_BONUS: i64 = 500;

const WELCOME_BONUS: i64 = 100;

const TIERS: &[(&str, i64, f64)] = &[
    ("Bronze", 0, 1.0),
    ("Silver", 1_000, 1.25),
    ("Gold", 5_000, 1.5),
    ("Platinum", 20_000, 2.0),
];

struct Gen {
    rng: ChaCha8Rng,
    tenant_id: Uuid,
    today: NaiveDate,
    now: DateTime<Utc>,
}

impl Gen {
    /// A UUIDv7 stamped with `at`, its random part from the seeded RNG.
    fn id_at(&mut self, at: DateTime<Utc>) -> Uuid {
        let mut random = [0u8; 10];
        self.rng.fill(&mut random);
        let millis = u64::try_from(at.timestamp_millis()).unwrap_or(0);
        uuid::Builder::from_unix_timestamp_millis(millis, &random).into_uuid()
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.rng.random_range(0..items.len())]
    }

    fn chance(&mut self, p: f64) -> bool {
        self.rng.random_bool(p)
    }

    fn between(&mut self, low: i64, high_inclusive: i64) -> i64 {
        self.rng.random_range(low..=high_inclusive)
    }

    fn at(&self, day: NaiveDate, hour: u32, minute: u32) -> DateTime<Utc> {
        Utc.from_utc_datetime(
            &day.and_time(NaiveTime::from_hms_opt(hour, minute, 0).unwrap_or_default()),
        )
    }

    fn days_before_now(&mut self, low: i64, high: i64) -> DateTime<Utc> {
        let days = self.between(low, high);
        let minutes = self.between(0, 24 * 60 - 1);
        self.now - Duration::days(days) - Duration::minutes(minutes)
    }
}

struct Guest {
    id: Uuid,
    first: &'static str,
    last: &'static str,
    email: Option<String>,
    phone: Option<String>,
    created_at: DateTime<Utc>,
    segment: &'static str,
    vip: &'static str,
    marketing: bool,
    repeater: bool,
}

struct RoomType {
    id: Uuid,
    property_id: Uuid,
    rate_cents: i64,
    max_occupancy: i64,
}

struct Room {
    id: Uuid,
    property_id: Uuid,
    room_type: usize,
}

struct Property {
    id: Uuid,
    currency: &'static str,
    created: DateTime<Utc>,
}

struct Stay {
    id: Uuid,
    guest: Option<usize>,
    property_id: Uuid,
    room_type: usize,
    rate_cents: i64,
    adults: i64,
    children: i64,
    deposit_cents: i64,
    status: &'static str,
    check_in: NaiveDate,
    check_out: NaiveDate,
    total_cents: i64,
    created_at: DateTime<Utc>,
    checked_out_at: Option<DateTime<Utc>>,
}

pub fn generate_tenant(plan: &TenantPlan, plans: &[Plan]) -> GeneratedTenant {
    let mix = plan.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ (plan.index as u64).wrapping_mul(0xD1B5_4A32_D192_ED03);
    let mut rng = ChaCha8Rng::seed_from_u64(mix);
    let mut tenant_bytes = [0u8; 10];
    rng.fill(&mut tenant_bytes);
    let now = Utc.from_utc_datetime(
        &plan
            .today
            .and_time(NaiveTime::from_hms_opt(12, 0, 0).unwrap_or_default()),
    );
    let tenant_created = now - Duration::days(900);
    let tenant_id = uuid::Builder::from_unix_timestamp_millis(
        u64::try_from(tenant_created.timestamp_millis()).unwrap_or(0),
        &tenant_bytes,
    )
    .into_uuid();
    let mut g = Gen {
        rng,
        tenant_id,
        today: plan.today,
        now,
    };
    let subdomain = format!("demo-{}-{}", plan.seed, plan.index);
    let hotel = names::HOTEL_NAMES[plan.index % names::HOTEL_NAMES.len()];
    let tenant_name = format!("{hotel} Group {}", plan.index + 1);
    let plan_row = &plans[(plan.index + 2) % plans.len()];

    let mut tables = Vec::new();
    let staff = staff_rows(&mut g, &subdomain, tenant_created);
    tables.push(tenant_row(
        &mut g,
        &tenant_name,
        &subdomain,
        plan_row,
        &staff,
        tenant_created,
    ));
    tables.push(staff.table);
    tables.push(staff.devices);

    let rooms_needed = (plan.guests * plan.stays_per_tenth_guest / 10)
        .div_ceil(STAYS_PER_ROOM)
        .max(12);
    let (property_tables, properties, room_types, rooms) =
        inventory(&mut g, hotel, rooms_needed, tenant_created);
    tables.extend(property_tables);

    let guests = make_guests(&mut g, plan.guests);
    let stays = lay_out_stays(
        &mut g,
        plan.history_days,
        &guests,
        &room_types,
        &rooms,
        &staff.front_desk,
    );
    tables.push(guest_rows(&mut g, &guests, &stays));
    tables.push(preference_rows(&mut g, &guests));

    let (program_table, members_table, ledger_table) = loyalty(&mut g, &guests, &stays);
    tables.push(program_table);
    tables.push(members_table);
    tables.push(stays.table);
    tables.push(ledger_table);
    tables.push(stays.folios);
    tables.push(stays.folio_entries);
    // prices, taxes, nightly prices, night audits and guest invoices: derived ids, no RNG draw
    let desk_day = rates::desk_day(
        &g,
        &properties,
        &room_types,
        &guests,
        &stays.stays,
        &staff.front_desk,
    );
    tables.extend(desk_day.tables);

    let (campaigns, recipients, campaign_ids) = campaigns(&mut g, &guests, staff.manager);
    tables.push(campaigns);
    tables.push(recipients);
    tables.push(communications(
        &mut g,
        &guests,
        &stays.stays,
        campaign_ids.first().copied(),
    ));
    tables.extend(billing(&mut g, plan_row, tenant_created));
    tables.push(usage_alerts(&mut g, plan_row, rooms.len()));
    tables.extend(webhooks(&mut g, &subdomain, &stays.stays, tenant_created));
    tables.extend(tenant_overrides(&mut g));
    // last, so that adding them drew nothing the tables above were made from
    tables.extend(registration::registration(
        &mut g,
        &guests,
        &stays.stays,
        &staff.front_desk,
    ));

    GeneratedTenant {
        tenant_id,
        subdomain,
        tables,
        device_series: staff
            .device_ids
            .iter()
            .map(|(device, signed_in)| (*device, rates::device_series_id(*device), *signed_in))
            .collect(),
    }
}

fn full_name(guest: &Guest) -> String {
    format!("{} {}", guest.first, guest.last).trim().to_owned()
}
