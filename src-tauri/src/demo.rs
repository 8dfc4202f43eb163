//! Demo mode: a small hotel with a month of history and six weeks ahead, so a new user can try
//! every screen without a server. Deterministic (a fixed seed), dated around `today`.
//!
//! Everything is written through the outbox like real work, but a demo desk is marked
//! `desk_demo` (and not `local_tenant`): it never signs in to a server and is never adopted, so
//! nothing of it is ever pushed.

use chrono::{Duration, NaiveDate};
use pms_sync_client::loyalty;
use rusqlite::Connection;
use serde_json::json;
use uuid::Uuid;

use crate::commands::setup::{create_hotel, RoomTypeInput, SetupInput};
use crate::db::{self, Property};
use crate::error::{AppError, AppResult};

/// A small deterministic generator (xorshift64*), enough for believable demo data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n` (from the high bits, the generator's good ones).
    fn below(&mut self, n: u64) -> u64 {
        (self.next() >> 32) % n.max(1)
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

const FIRST: &[&str] = &[
    "Ana", "Bruno", "Chloé", "David", "Elena", "Farid", "Greta", "Hugo", "Inès", "Jonas", "Keiko",
    "Lars", "Maya", "Nikolai", "Olivia", "Pedro", "Quentin", "Rosa", "Samir", "Tara", "Ulla",
    "Víctor", "Wen", "Yara",
];
const LAST: &[&str] = &[
    "Almeida", "Berger", "Costa", "Dubois", "Eriksen", "Fischer", "García", "Hansen", "Ivanova",
    "Jensen", "Kowalski", "Lopes", "Moreau", "Nakamura", "O'Brien", "Pereira", "Rossi", "Schmidt",
    "Tanaka", "Weber",
];
const CITIES: &[(&str, &str)] = &[
    ("Lisbon", "PT"),
    ("Porto", "PT"),
    ("Madrid", "ES"),
    ("Paris", "FR"),
    ("Lyon", "FR"),
    ("Berlin", "DE"),
    ("Hamburg", "DE"),
    ("London", "GB"),
    ("Dublin", "IE"),
    ("Rome", "IT"),
    ("Oslo", "NO"),
    ("Tokyo", "JP"),
];

/// Guests of the demo unless asked for more.
pub const DEMO_GUESTS: usize = 120;
/// The most guests a demo takes (the performance runs use 100,000).
pub const MAX_DEMO_GUESTS: usize = 200_000;

/// Loads the demo into an empty laptop: `guests` guests (at least [`DEMO_GUESTS`]; the stays,
/// loyalty and messages go to the first 120). Returns the demo property.
/// Where the demo hotel is.
pub const ZONE: chrono_tz::Tz = chrono_tz::Europe::Lisbon;

pub fn load(conn: &mut Connection, today: NaiveDate, guests: usize) -> AppResult<Property> {
    if !(DEMO_GUESTS..=MAX_DEMO_GUESTS).contains(&guests) {
        return Err(AppError::validation(
            "guests",
            format!("A demo has between {DEMO_GUESTS} and {MAX_DEMO_GUESTS} guests."),
        ));
    }
    let extra_guests = guests - DEMO_GUESTS;
    if db::desk_state(conn, "tenant_id")?.is_some() {
        return Err(AppError::AlreadySetUp);
    }
    let property = create_hotel(
        conn,
        &SetupInput {
            property_name: "Harbour View Inn (demo)".to_owned(),
            currency: "EUR".to_owned(),
            timezone: Some(ZONE.name().to_owned()),
            room_types: vec![
                room_type("STD", "Standard double", 9_500, 2, 101..=108),
                room_type("DLX", "Deluxe sea view", 14_500, 3, 201..=208),
                room_type("STE", "Harbour suite", 24_000, 4, 301..=304),
            ],
        },
    )?;
    // not `local_tenant`: a demo desk is not a local hotel waiting to be adopted
    db::set_desk_state(conn, "desk_demo", "1")?;
    // Portugal's rates: VAT included in prices, 6% on rooms, 13% on food, 23% on the rest, and
    // Lisbon's city tax of 4 EUR per adult and night (children under 13 exempt).
    for (name, charge_type, rate_bp) in [
        ("IVA", Some("room"), 600),
        ("IVA", Some("food"), 1300),
        ("IVA", None, 2300),
    ] {
        db::insert(
            conn,
            "property_taxes",
            Uuid::now_v7(),
            json!({"property_id": property.id, "name": name, "kind": "vat", "charge_type": charge_type,
                   "rate_bp": rate_bp, "included": true, "active": true, "created_at": db::now()}),
        )?;
    }
    db::insert(
        conn,
        "property_taxes",
        Uuid::now_v7(),
        json!({"property_id": property.id, "name": "Lisbon city tax", "kind": "city_tax",
               "amount_minor": 400, "exempt_under_age": 13, "included": false, "active": true, "created_at": db::now()}),
    )?;
    for (name, charge_type, price) in [
        ("Breakfast", "food", 1_500),
        ("Minibar", "minibar", 800),
        ("Parking (night)", "parking", 1_800),
        ("Late check-out", "other", 3_000),
    ] {
        db::insert(
            conn,
            "charge_items",
            Uuid::now_v7(),
            json!({"property_id": property.id, "name": name, "charge_type": charge_type, "price_minor": price,
                   "currency": "EUR", "active": true, "created_at": db::now()}),
        )?;
    }
    let mut rng = Rng(0x5EED_DE30_2026_0001);
    let now = db::now();

    // guests
    let mut guests = Vec::new();
    for i in 0..DEMO_GUESTS {
        let (first, last) = (rng.pick(FIRST), rng.pick(LAST));
        let (city, country) = CITIES[rng.below(CITIES.len() as u64) as usize];
        let id = Uuid::now_v7();
        let email = format!(
            "{}.{}{}@example.com",
            first.to_lowercase(),
            last.to_lowercase().replace('\'', ""),
            i
        );
        db::insert(
            conn,
            "guests",
            id,
            json!({
                "first_name": first, "last_name": last, "email": email,
                "phone": format!("+351 9{:02} {:03} {:03}", rng.below(100), rng.below(1000), rng.below(1000)),
                "city": city, "country_code": country,
                "segment": rng.pick(&["regular", "business", "leisure", "leisure", "group"]),
                "vip_status": if i % 17 == 0 { "vip" } else { "none" },
                "marketing_consent": i % 3 != 0, "created_at": now,
            }),
        )?;
        guests.push((id, format!("{first} {last}"), email));
    }
    // more guests, without stays: a database of the size of a busy hotel group's
    for i in 0..extra_guests {
        let (first, last) = (rng.pick(FIRST), rng.pick(LAST));
        let (city, country) = CITIES[rng.below(CITIES.len() as u64) as usize];
        db::insert(
            conn,
            "guests",
            Uuid::now_v7(),
            json!({
                "first_name": first, "last_name": last, "city": city, "country_code": country,
                "email": format!("{}.{}.{}@example.org", first.to_lowercase(), last.to_lowercase().replace('\'', ""), i + 1000),
                "phone": format!("+44 7{:03} {:06}", rng.below(1000), rng.below(1_000_000)),
                "created_at": now,
            }),
        )?;
    }
    let first_guest = guests[0].0;
    db::insert(
        conn,
        "guest_preferences",
        Uuid::now_v7(),
        json!({"guest_id": first_guest, "bed_type": "king", "smoking": "non_smoking", "floor_preference": "high",
               "pillow_type": "feather", "preferred_language": "pt", "allergies": ["nuts"], "created_at": now}),
    )?;

    // stays: each room's calendar filled from three weeks ago to six weeks ahead
    let rooms: Vec<(String, String, i64)> = conn
        .prepare(
            "select rm.id, rm.room_type_id, rt.base_rate_cents from rooms rm join room_types rt on rt.id = rm.room_type_id
              where rm.property_id = ?1 order by rm.number",
        )?
        .query_map([&property.id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<_, _>>()?;
    let mut past_stays = Vec::new();
    for (index, (room_id, type_id, rate)) in rooms.iter().enumerate() {
        let mut day = today - Duration::days(21 + rng.below(3) as i64);
        // the last suite is out of order (being repainted): no stays until it is back
        let until = if index == rooms.len() - 1 {
            day
        } else {
            today + Duration::days(42)
        };
        while day < until {
            day += Duration::days(rng.below(3) as i64);
            let nights = 1 + rng.below(5) as i64;
            let (check_in, check_out) = (day, day + Duration::days(nights));
            day = check_out;
            let guest = &guests[rng.below(guests.len() as u64) as usize];
            let cancelled = rng.below(14) == 0 && check_in > today;
            let status = if cancelled {
                "cancelled"
            } else if check_out < today {
                "checked_out"
            } else if check_in < today || (check_in == today && index % 3 == 0) {
                // in the house (those leaving today are due out)
                "checked_in"
            } else {
                "confirmed"
            };
            let total = rate * nights;
            let paid = match status {
                "checked_out" => total,
                "checked_in" => total / 2,
                _ => 0,
            };
            let id = Uuid::now_v7();
            let stamp = |date: NaiveDate| format!("{date}T14:00:00Z");
            db::insert(
                conn,
                "reservations",
                id,
                json!({
                    // the demo is its only writer: it numbers its bookings as a local hotel does
                    "confirmation_number": pms_sync_client::sole_writer::next_confirmation_number(conn)?,
                    "guest_id": guest.0, "guest_name": guest.1, "guest_email": guest.2, "status": status,
                    "confirmed_at": stamp(check_in - Duration::days(10)),
                    "checked_in_at": matches!(status, "checked_in" | "checked_out").then(|| stamp(check_in)),
                    "checked_out_at": (status == "checked_out").then(|| format!("{check_out}T10:30:00Z")),
                    "cancelled_at": cancelled.then(|| stamp(today - Duration::days(1))),
                    "cancellation_reason": cancelled.then_some("Change of plans"),
                    "source": rng.pick(&["direct", "phone", "email", "ota", "ota", "walk_in"]),
                    "property_id": property.id, "room_type_id": type_id, "room_id": room_id,
                    "check_in_date": check_in.to_string(), "check_out_date": check_out.to_string(),
                    "room_count": 1, "adults": 1 + rng.below(2), "children": 0,
                    "rate_per_night_cents": rate, "total_amount_cents": total, "currency": "EUR",
                    "deposit_paid_cents": paid,
                    "payment_status": if paid == 0 { "pending" } else if paid >= total { "paid" } else { "partial" },
                    "created_at": stamp(check_in - Duration::days(10)),
                }),
            )?;
            if status == "checked_out" {
                past_stays.push((guest.0, total, check_out));
            }
        }
        // rooms left this morning wait for housekeeping; the last suite is being repainted
        let status = if index == rooms.len() - 1 {
            "out_of_order"
        } else if index % 4 == 1 {
            "dirty"
        } else if index % 5 == 2 {
            "inspected"
        } else {
            "clean"
        };
        if status != "clean" {
            db::update(
                conn,
                "rooms",
                db::parse_id("room_id", room_id)?,
                json!({"housekeeping_status": status}),
            )?;
        }
    }

    // loyalty: a program with tiers; a quarter of the guests enrolled, with their past stays' points
    let program = Uuid::now_v7();
    db::insert(
        conn,
        "loyalty_programs",
        program,
        json!({
            "name": "Harbour Rewards", "description": "Points on every stay", "enabled": true,
            "tiers": [
                {"name": "Silver", "required_points": 0, "multiplier": 1},
                {"name": "Gold", "required_points": 2000, "multiplier": 1.5},
                {"name": "Platinum", "required_points": 6000, "multiplier": 2}
            ],
            "points_per_currency_unit": "1", "first_stay_bonus_points": 250, "birthday_bonus_points": 100,
            "point_value_cents": "1", "minimum_redemption_points": 100, "currency": "EUR", "created_at": now,
        }),
    )?;
    for (i, guest) in guests.iter().enumerate().filter(|(i, _)| i % 4 == 0) {
        let member = Uuid::now_v7();
        db::insert(
            conn,
            "loyalty_members",
            member,
            json!({"program_id": program, "guest_id": guest.0, "status": "active", "enrolled_at": now,
                   "current_tier": if i % 12 == 0 { "Gold" } else { "Silver" }, "created_at": now}),
        )?;
        let stays: Vec<_> = past_stays
            .iter()
            .filter(|(g, _, _)| *g == guest.0)
            .collect();
        for (n, (_, total, date)) in stays.iter().enumerate() {
            loyalty::earn(
                conn,
                member,
                total / 100,
                "earn",
                &format!("Stay ending {date}"),
            )?;
            if n == 0 {
                loyalty::earn(conn, member, 250, "bonus", "First stay bonus")?;
            }
        }
        db::insert(
            conn,
            "communication_logs",
            Uuid::now_v7(),
            json!({"guest_id": guest.0, "type": "email", "direction": "outbound", "subject": "Welcome to Harbour Rewards",
                   "status": "delivered", "to_email": guest.2, "created_at": now}),
        )?;
    }

    // campaigns
    db::insert(
        conn,
        "marketing_campaigns",
        Uuid::now_v7(),
        json!({"name": "Winter weekends", "type": "email", "status": "draft", "audience": "segment",
               "subject": "Two nights by the harbour", "target_segments": ["leisure"],
               "target_vip_statuses": [], "target_loyalty_tiers": [], "custom_filters": {}, "created_at": now}),
    )?;
    db::insert(
        conn,
        "marketing_campaigns",
        Uuid::now_v7(),
        json!({"name": "Gold members: spring offer", "type": "email", "status": "scheduled", "audience": "loyalty_tier",
               "subject": "Spring at the harbour", "target_segments": [], "target_vip_statuses": [],
               "target_loyalty_tiers": ["Gold", "Platinum"], "custom_filters": {},
               "scheduled_at": format!("{}T09:00:00Z", today + Duration::days(7)), "created_at": now}),
    )?;
    db::property(conn)
}

fn room_type(
    code: &str,
    name: &str,
    rate: i64,
    occupancy: i64,
    numbers: std::ops::RangeInclusive<u32>,
) -> RoomTypeInput {
    RoomTypeInput {
        code: code.to_owned(),
        name: name.to_owned(),
        base_rate_cents: rate,
        max_occupancy: occupancy,
        rooms: numbers.map(|n| n.to_string()).collect(),
    }
}
