//! The demo data generator: one tenant's rows from a seeded RNG, with no I/O.
//!
//! Stays are laid out room by room along a timeline (two years back, four months ahead), so
//! active stays never overlap; their status follows the dates (past stays checked out, today's
//! arrivals and departures, guests in house, future bookings). Guest metrics, loyalty ledgers,
//! campaign counters and billing are derived from those stays, so the data is consistent the way
//! the server's jobs would keep it.

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
    pub seed: u64,
    pub today: NaiveDate,
}

/// A generated tenant: its rows, table by table in foreign-key order.
pub struct GeneratedTenant {
    pub tenant_id: Uuid,
    pub subdomain: String,
    pub tables: Vec<CopyTable>,
}

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

struct Stay {
    id: Uuid,
    guest: Option<usize>,
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

    let rooms_needed = (plan.guests * 6 / 5).div_ceil(STAYS_PER_ROOM).max(12);
    let (property_tables, room_types, rooms) =
        inventory(&mut g, hotel, rooms_needed, tenant_created);
    tables.extend(property_tables);

    let guests = make_guests(&mut g, plan.guests);
    let stays = lay_out_stays(&mut g, &guests, &room_types, &rooms, &staff.front_desk);
    tables.push(guest_rows(&mut g, &guests, &stays));
    tables.push(preference_rows(&mut g, &guests));

    let (program_table, members_table, ledger_table) = loyalty(&mut g, &guests, &stays);
    tables.push(program_table);
    tables.push(members_table);
    tables.push(stays.table);
    tables.push(ledger_table);

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

    GeneratedTenant {
        tenant_id,
        subdomain,
        tables,
    }
}

struct StaffRows {
    table: CopyTable,
    owner: (Uuid, String, String),
    manager: Uuid,
    front_desk: Vec<Uuid>,
}

fn staff_rows(g: &mut Gen, subdomain: &str, created: DateTime<Utc>) -> StaffRows {
    let mut table = CopyTable::new(
        "staff",
        &[
            "tenant_id",
            "id",
            "user_id",
            "email",
            "display_name",
            "role",
            "enabled",
            "created_at",
            "updated_at",
        ],
    );
    let people = [
        ("owner", "Olivia Owner", "owner"),
        ("manager", "Marco Manager", "manager"),
        ("desk1", "Dana Desk", "front_desk"),
        ("desk2", "Felix Frontdesk", "front_desk"),
        ("housekeeping", "Hana Housekeeping", "housekeeping"),
    ];
    let mut owner = (Uuid::nil(), String::new(), String::new());
    let mut manager = Uuid::nil();
    let mut front_desk = Vec::new();
    for (local, display, role) in people {
        let id = g.id_at(created);
        let user_id = g.id_at(created);
        let email = format!("{local}@{subdomain}.example");
        table
            .row()
            .uuid(g.tenant_id)
            .uuid(id)
            .uuid(user_id)
            .text(&email)
            .text(display)
            .text(role)
            .bool(true)
            .timestamp(created)
            .timestamp(created)
            .end();
        match role {
            "owner" => owner = (user_id, email, display.to_owned()),
            "manager" => manager = user_id,
            "front_desk" => front_desk.push(user_id),
            _ => {}
        }
    }
    StaffRows {
        table,
        owner,
        manager,
        front_desk,
    }
}

fn tenant_row(
    g: &mut Gen,
    name: &str,
    subdomain: &str,
    plan: &Plan,
    staff: &StaffRows,
    created: DateTime<Utc>,
) -> CopyTable {
    let mut table = CopyTable::new(
        "tenants",
        &[
            "id",
            "name",
            "billing_entity",
            "subdomain",
            "region",
            "plan_id",
            "status",
            "owner_email",
            "owner_name",
            "owner_user_id",
            "settings",
            "created_at",
            "updated_at",
        ],
    );
    let region = g.pick(&["eu-west-1", "eu-central-1", "us-east-1"]);
    table
        .row()
        .uuid(g.tenant_id)
        .text(name)
        .text(&format!("{name} Ltd."))
        .text(subdomain)
        .text(region)
        .uuid(plan.id)
        .text("active")
        .text(&staff.owner.1)
        .text(&staff.owner.2)
        .uuid(staff.owner.0)
        .json(&json!({"check_in_time": "15:00", "check_out_time": "11:00", "locale": "en"}))
        .timestamp(created)
        .timestamp(created)
        .end();
    table
}

fn inventory(
    g: &mut Gen,
    hotel: &str,
    rooms_needed: usize,
    created: DateTime<Utc>,
) -> (Vec<CopyTable>, Vec<RoomType>, Vec<Room>) {
    let mut properties = CopyTable::new(
        "properties",
        &[
            "tenant_id",
            "id",
            "name",
            "timezone",
            "currency",
            "address_line1",
            "city",
            "postal_code",
            "country_code",
            "phone",
            "email",
            "created_at",
            "updated_at",
        ],
    );
    let mut types_table = CopyTable::new(
        "room_types",
        &[
            "tenant_id",
            "id",
            "property_id",
            "code",
            "name",
            "description",
            "base_rate_cents",
            "max_occupancy",
            "created_at",
            "updated_at",
        ],
    );
    let mut rooms_table = CopyTable::new(
        "rooms",
        &[
            "tenant_id",
            "id",
            "property_id",
            "room_type_id",
            "number",
            "floor",
            "housekeeping_status",
            "created_at",
            "updated_at",
        ],
    );
    let catalogue: [(&str, &str, &str, i64, i64); 4] = [
        (
            "STD",
            "Standard Double",
            "Queen bed, courtyard side",
            12_900,
            2,
        ),
        ("TWN", "Twin", "Two single beds", 11_900, 2),
        (
            "DLX",
            "Deluxe King",
            "King bed, street view, bathtub",
            18_900,
            3,
        ),
        ("STE", "Suite", "Separate living room, balcony", 32_900, 4),
    ];
    let property_count = rooms_needed.div_ceil(ROOMS_PER_PROPERTY);
    let mut room_types = Vec::new();
    let mut rooms = Vec::new();
    for p in 0..property_count {
        let property_id = g.id_at(created);
        let (city, country) = g.pick(names::CITIES);
        let property_name = if property_count == 1 {
            hotel.to_owned()
        } else {
            format!("{hotel} {city}")
        };
        let currency = if matches!(country, "US") {
            "USD"
        } else if matches!(country, "GB") {
            "GBP"
        } else {
            "EUR"
        };
        properties
            .row()
            .uuid(g.tenant_id)
            .uuid(property_id)
            .text(&property_name)
            .text("Europe/Lisbon")
            .text(currency)
            .text(&format!("{} Rua das Flores", 10 + p))
            .text(city)
            .text(&format!("{:04}-{:03}", 1000 + p, g.between(0, 999)))
            .text(country)
            .text(&format!(
                "+351 21 {:03} {:04}",
                g.between(100, 999),
                g.between(0, 9999)
            ))
            .text(&format!(
                "frontdesk{p}@{}.example",
                hotel.to_lowercase().replace(' ', "-")
            ))
            .timestamp(created)
            .timestamp(created)
            .end();
        let first_type = room_types.len();
        for (code, name, description, rate, occupancy) in catalogue {
            let id = g.id_at(created);
            types_table
                .row()
                .uuid(g.tenant_id)
                .uuid(id)
                .uuid(property_id)
                .text(code)
                .text(name)
                .text(description)
                .int(rate)
                .int(occupancy)
                .timestamp(created)
                .timestamp(created)
                .end();
            room_types.push(RoomType {
                id,
                property_id,
                rate_cents: rate,
                max_occupancy: occupancy,
            });
        }
        let in_this_property = (rooms_needed - p * ROOMS_PER_PROPERTY).min(ROOMS_PER_PROPERTY);
        for r in 0..in_this_property {
            let floor = 1 + r / 20;
            let number = format!("{}{:02}", floor, r % 20 + 1);
            // mostly standard rooms, a few suites
            let kind = match r % 10 {
                0..=4 => 0,
                5..=6 => 1,
                7..=8 => 2,
                _ => 3,
            };
            let id = g.id_at(created);
            rooms.push(Room {
                id,
                property_id,
                room_type: first_type + kind,
            });
            let status = if g.chance(0.03) {
                "out_of_order"
            } else {
                g.pick(&["clean", "clean", "clean", "inspected", "dirty"])
            };
            rooms_table
                .row()
                .uuid(g.tenant_id)
                .uuid(id)
                .uuid(property_id)
                .uuid(room_types[first_type + kind].id)
                .text(&number)
                .int(floor as i64)
                .text(status)
                .timestamp(created)
                .timestamp(created)
                .end();
        }
    }
    (
        vec![properties, types_table, rooms_table],
        room_types,
        rooms,
    )
}

fn make_guests(g: &mut Gen, count: usize) -> Vec<Guest> {
    let mut guests: Vec<Guest> = (0..count)
        .map(|n| {
            let first = g.pick(names::FIRST_NAMES);
            // a few profiles have no last name, as real walk-in records do
            let last = if g.chance(0.02) {
                ""
            } else {
                g.pick(names::LAST_NAMES)
            };
            let created_at = g.days_before_now(HISTORY_DAYS as i64 + 30, HISTORY_DAYS as i64 + 700);
            let email = g.chance(0.92).then(|| {
                let domain = g.pick(&[
                    "mail.example",
                    "post.example",
                    "inbox.example",
                    "corp.example",
                ]);
                format!("{}@{domain}", names::email_local_part(first, last, n))
            });
            let phone = g.chance(0.8).then(|| {
                format!(
                    "+{} {:03} {:03} {:03}",
                    g.between(1, 99),
                    g.between(100, 999),
                    g.between(0, 999),
                    g.between(0, 999)
                )
            });
            Guest {
                id: g.id_at(created_at),
                first,
                last,
                email,
                phone,
                created_at,
                segment: g.pick(&[
                    "regular", "regular", "business", "leisure", "leisure", "group",
                ]),
                vip: g.pick(&[
                    "none", "none", "none", "none", "regular", "regular", "vip", "vvip",
                ]),
                marketing: g.chance(0.6),
                repeater: g.chance(0.2),
            }
        })
        .collect();
    // Profiles are created in time order, like a real guest list.
    guests.sort_by_key(|guest| (guest.created_at, guest.id));
    guests
}

struct Stays {
    table: CopyTable,
    stays: Vec<Stay>,
}

fn lay_out_stays(
    g: &mut Gen,
    guests: &[Guest],
    room_types: &[RoomType],
    rooms: &[Room],
    desk: &[Uuid],
) -> Stays {
    let repeaters: Vec<usize> = (0..guests.len()).filter(|&i| guests[i].repeater).collect();
    let start = g.today - Days::new(HISTORY_DAYS);
    let end = g.today + Days::new(FUTURE_DAYS);
    let mut drafts = Vec::new();
    for room in rooms {
        let mut day = start + Days::new(g.between(0, 5) as u64);
        while day < end {
            let nights = g.pick(&[1, 1, 2, 2, 2, 3, 3, 4, 5, 7]) as u64;
            let check_in = day;
            let check_out = day + Days::new(nights);
            let guest = if !repeaters.is_empty() && g.chance(0.6) {
                Some(g.pick(&repeaters))
            } else if g.chance(0.98) {
                Some(g.between(0, guests.len() as i64 - 1) as usize)
            } else {
                None // booked by a name only (an agent's block booking, a walk-in without profile)
            };
            drafts.push((room, guest, check_in, check_out));
            let gap = if g.chance(0.45) {
                0
            } else {
                g.between(1, 3) as u64
            };
            day = check_out + Days::new(gap);
        }
    }

    let mut stays = Vec::with_capacity(drafts.len());
    let mut rows = Vec::with_capacity(drafts.len());
    for (room, guest, check_in, check_out) in drafts {
        let room_type = &room_types[room.room_type];
        let lead_days = g.between(1, 120);
        let created_at = (g.at(check_in, 12, 0)
            - Duration::days(lead_days)
            - Duration::minutes(g.between(0, 600)))
        .min(g.now - Duration::hours(1));
        let status = stay_status(g, check_in, check_out);
        let nights = (check_out - check_in).num_days();
        let rate = room_type.rate_cents + g.between(-20, 30) * 100;
        let total = rate * nights;
        let (deposit, payment) = match status {
            "checked_out" => (total, "paid"),
            "checked_in" => {
                if g.chance(0.5) {
                    (total, "paid")
                } else {
                    (rate, "partial")
                }
            }
            "confirmed" | "pending" => {
                if g.chance(0.6) {
                    (
                        rate.min(total),
                        if rate >= total { "paid" } else { "partial" },
                    )
                } else {
                    (0, "pending")
                }
            }
            "cancelled" if g.chance(0.3) => (0, "refunded"),
            _ => (0, "pending"),
        };
        let confirmed_at =
            (status != "pending").then(|| created_at + Duration::minutes(g.between(1, 90)));
        let checked_in_at = matches!(status, "checked_in" | "checked_out")
            .then(|| g.at(check_in, 14, 0) + Duration::minutes(g.between(0, 480)));
        let checked_out_at = (status == "checked_out").then(|| {
            let at = g.at(check_out, 8, 0) + Duration::minutes(g.between(0, 240));
            at.min(g.now - Duration::minutes(1))
        });
        let cancelled_at = (status == "cancelled").then(|| {
            let latest = g.at(check_in, 10, 0).min(g.now) - created_at;
            created_at + Duration::seconds(g.between(60, latest.num_seconds().max(61)))
        });
        let no_show_at = (status == "no_show").then(|| g.at(check_in + Days::new(1), 2, 0));
        let id = g.id_at(created_at);
        let adults = g.between(1, room_type.max_occupancy.min(3));
        let children = if g.chance(0.2) { g.between(1, 2) } else { 0 };
        let source = g.pick(&[
            "direct", "direct", "phone", "email", "ota", "ota", "ota", "walk_in", "agent",
        ]);
        let special = g.chance(0.15).then(|| {
            g.pick(&[
                "Late arrival",
                "High floor please",
                "Baby cot",
                "Quiet room",
                "Early check-in",
            ])
        });
        let created_by = g.pick(desk);
        stays.push(Stay {
            id,
            guest,
            status,
            check_in,
            check_out,
            total_cents: total,
            created_at,
            checked_out_at,
        });
        rows.push(StayRow {
            room_id: room.id,
            property_id: room.property_id,
            room_type_id: room_type.id,
            rate,
            deposit,
            payment,
            confirmed_at,
            checked_in_at,
            cancelled_at,
            no_show_at,
            adults,
            children,
            source,
            special,
            created_by,
        });
    }

    // Reservations go in by creation time, so confirmation numbers follow booking order.
    let mut order: Vec<usize> = (0..stays.len()).collect();
    order.sort_by_key(|&i| (stays[i].created_at, stays[i].id));
    let mut table = CopyTable::new(
        "reservations",
        &[
            "tenant_id",
            "id",
            "guest_id",
            "guest_name",
            "guest_email",
            "guest_phone",
            "status",
            "confirmed_at",
            "checked_in_at",
            "checked_out_at",
            "cancelled_at",
            "no_show_at",
            "cancellation_reason",
            "source",
            "property_id",
            "room_type_id",
            "room_id",
            "check_in_date",
            "check_out_date",
            "adults",
            "children",
            "rate_per_night_cents",
            "total_amount_cents",
            "currency",
            "deposit_paid_cents",
            "payment_status",
            "special_requests",
            "created_by",
            "created_at",
            "updated_at",
        ],
    );
    for &i in &order {
        let stay = &stays[i];
        let row = &rows[i];
        let (guest_id, name, email, phone) = match stay.guest {
            Some(gi) => {
                let guest = &guests[gi];
                (
                    Some(guest.id),
                    full_name(guest),
                    guest.email.clone(),
                    guest.phone.clone(),
                )
            }
            None => (None, "Group booking".to_owned(), None, None),
        };
        let name = if name.is_empty() {
            "Walk-in guest".to_owned()
        } else {
            name
        };
        let updated_at = [
            Some(stay.created_at),
            row.confirmed_at,
            row.checked_in_at,
            stay.checked_out_at,
            row.cancelled_at,
            row.no_show_at,
        ]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(stay.created_at);
        table
            .row()
            .uuid(g.tenant_id)
            .uuid(stay.id)
            .opt_uuid(guest_id)
            .text(&name)
            .opt_text(email.as_deref())
            .opt_text(phone.as_deref())
            .text(stay.status)
            .opt_timestamp(row.confirmed_at)
            .opt_timestamp(row.checked_in_at)
            .opt_timestamp(stay.checked_out_at)
            .opt_timestamp(row.cancelled_at)
            .opt_timestamp(row.no_show_at)
            .opt_text(row.cancelled_at.map(|_| "Guest changed plans"))
            .text(row.source)
            .uuid(row.property_id)
            .uuid(row.room_type_id)
            .uuid(row.room_id)
            .date(stay.check_in)
            .date(stay.check_out)
            .int(row.adults)
            .int(row.children)
            .int(row.rate)
            .int(stay.total_cents)
            .text("EUR")
            .int(row.deposit)
            .text(row.payment)
            .opt_text(row.special)
            .uuid(row.created_by)
            .timestamp(stay.created_at)
            .timestamp(updated_at)
            .end();
    }
    stays.sort_by_key(|stay| (stay.created_at, stay.id));
    Stays { table, stays }
}

struct StayRow {
    room_id: Uuid,
    property_id: Uuid,
    room_type_id: Uuid,
    rate: i64,
    deposit: i64,
    payment: &'static str,
    confirmed_at: Option<DateTime<Utc>>,
    checked_in_at: Option<DateTime<Utc>>,
    cancelled_at: Option<DateTime<Utc>>,
    no_show_at: Option<DateTime<Utc>>,
    adults: i64,
    children: i64,
    source: &'static str,
    special: Option<&'static str>,
    created_by: Uuid,
}

/// The status a stay has today, given its dates.
fn stay_status(g: &mut Gen, check_in: NaiveDate, check_out: NaiveDate) -> &'static str {
    let today = g.today;
    if check_out < today {
        match g.between(0, 99) {
            0..=87 => "checked_out",
            88..=95 => "cancelled",
            _ => "no_show",
        }
    } else if check_out == today {
        // departures today: some have left, some are still in
        if g.chance(0.5) {
            "checked_out"
        } else {
            "checked_in"
        }
    } else if check_in < today {
        "checked_in"
    } else if check_in == today {
        // arrivals today: some are in already
        if g.chance(0.3) {
            "checked_in"
        } else {
            "confirmed"
        }
    } else {
        match g.between(0, 99) {
            0..=84 => "confirmed",
            85..=94 => "pending",
            _ => "cancelled",
        }
    }
}

fn full_name(guest: &Guest) -> String {
    format!("{} {}", guest.first, guest.last).trim().to_owned()
}

fn guest_rows(g: &mut Gen, guests: &[Guest], stays: &Stays) -> CopyTable {
    // metrics as the server keeps them: completed stays count and spend
    let mut bookings = vec![0i64; guests.len()];
    let mut spent = vec![0i64; guests.len()];
    let mut last_stay: Vec<Option<DateTime<Utc>>> = vec![None; guests.len()];
    for stay in &stays.stays {
        if let Some(gi) = stay.guest {
            if !matches!(stay.status, "cancelled" | "no_show") {
                bookings[gi] += 1;
            }
            if let Some(out) = stay.checked_out_at {
                spent[gi] += stay.total_cents;
                last_stay[gi] = last_stay[gi].max(Some(out));
            }
        }
    }
    let mut table = CopyTable::new(
        "guests",
        &[
            "tenant_id",
            "id",
            "first_name",
            "last_name",
            "email",
            "phone",
            "address_line1",
            "city",
            "postal_code",
            "country_code",
            "date_of_birth",
            "nationality",
            "segment",
            "vip_status",
            "total_bookings",
            "total_spent_cents",
            "lifetime_value_cents",
            "average_rating",
            "last_stay_at",
            "currency",
            "contact_by_email",
            "contact_by_sms",
            "contact_by_phone",
            "marketing_consent",
            "tags",
            "notes",
            "metadata",
            "created_at",
            "updated_at",
        ],
    );
    for (i, guest) in guests.iter().enumerate() {
        let (city, country) = g.pick(names::CITIES);
        let birth = NaiveDate::from_ymd_opt(
            g.between(1945, 2004) as i32,
            g.between(1, 12) as u32,
            g.between(1, 28) as u32,
        );
        let tag_count = g.between(0, 2) as usize;
        let mut tags: Vec<&str> = (0..tag_count).map(|_| g.pick(names::TAGS)).collect();
        tags.sort_unstable();
        tags.dedup();
        let rating = (bookings[i] > 0 && g.chance(0.5))
            .then(|| format!("{}.{}", g.between(3, 4), g.between(0, 9)));
        let note = g.chance(0.05).then(|| {
            g.pick(&[
                "Prefers invoices by email",
                "Allergic to feathers",
                "Regular at the bar",
                "Needs parking",
            ])
        });
        let metadata = if guest.segment == "business" {
            json!({"company": g.pick(&["Acme Corp", "Globex", "Initech", "Umbrella"]), "source": "crm"})
        } else {
            json!({"source": g.pick(&["web", "front_desk", "ota"])})
        };
        table
            .row()
            .uuid(g.tenant_id)
            .uuid(guest.id)
            .text(guest.first)
            .text(guest.last)
            .opt_text(guest.email.as_deref())
            .opt_text(guest.phone.as_deref())
            .text(&format!("{} Main Street", g.between(1, 300)))
            .text(city)
            .text(&format!("{:05}", g.between(1000, 99999)))
            .text(country)
            .opt_date(birth)
            .text(country)
            .text(guest.segment)
            .text(guest.vip)
            .int(bookings[i])
            .int(spent[i])
            .int(spent[i])
            .opt_text(rating.as_deref())
            .opt_timestamp(last_stay[i])
            .text("EUR")
            .bool(guest.email.is_some())
            .bool(guest.phone.is_some() && g.chance(0.5))
            .bool(guest.phone.is_some() && g.chance(0.2))
            .bool(guest.marketing)
            .text_array(&tags)
            .opt_text(note)
            .json(&metadata)
            .timestamp(guest.created_at)
            .timestamp(guest.created_at)
            .end();
    }
    table
}

fn preference_rows(g: &mut Gen, guests: &[Guest]) -> CopyTable {
    let mut table = CopyTable::new(
        "guest_preferences",
        &[
            "tenant_id",
            "id",
            "guest_id",
            "bed_type",
            "smoking",
            "floor_preference",
            "specific_floor",
            "room_temperature_c",
            "dietary_restrictions",
            "allergies",
            "favorite_foods",
            "favorite_drinks",
            "housekeeping_time",
            "wake_up_call",
            "wake_up_time",
            "occasion_type",
            "occasion_date",
            "preferred_language",
            "notes",
            "created_at",
            "updated_at",
        ],
    );
    for guest in guests {
        if !(guest.repeater || g.chance(0.3)) {
            continue;
        }
        let floor_preference = g.pick(&["low", "mid", "high", "specific"]);
        let specific_floor = (floor_preference == "specific").then(|| g.between(1, 6));
        let wake_up = g.chance(0.2);
        let wake_up_time = wake_up
            .then(|| {
                NaiveTime::from_hms_opt(g.between(5, 9) as u32, g.pick(&[0u32, 15, 30, 45]), 0)
            })
            .flatten();
        let occasion = g
            .chance(0.1)
            .then(|| g.pick(&["birthday", "anniversary", "honeymoon", "business"]));
        let occasion_date = occasion.and_then(|_| {
            NaiveDate::from_ymd_opt(
                g.today.year(),
                g.between(1, 12) as u32,
                g.between(1, 28) as u32,
            )
        });
        let maybe = |g: &mut Gen, list: &[&'static str], p: f64| -> Vec<&'static str> {
            if g.chance(p) {
                vec![g.pick(list)]
            } else {
                Vec::new()
            }
        };
        let diets = maybe(g, names::DIETS, 0.2);
        let allergies = maybe(g, names::ALLERGIES, 0.1);
        let foods = maybe(g, names::FOODS, 0.3);
        let drinks = maybe(g, names::DRINKS, 0.3);
        let created = guest.created_at + Duration::days(1);
        table
            .row()
            .uuid(g.tenant_id)
            .uuid(g.id_at(created))
            .uuid(guest.id)
            .text(g.pick(&["king", "queen", "twin", "double"]))
            .text(if g.chance(0.95) {
                "non_smoking"
            } else {
                "smoking"
            })
            .text(floor_preference)
            .opt_int(specific_floor)
            .decimal(&format!("{}.{}", g.between(18, 24), g.pick(&[0, 5])))
            .text_array(&diets)
            .text_array(&allergies)
            .text_array(&foods)
            .text_array(&drinks)
            .text(g.pick(&["morning", "afternoon", "evening", "skip"]))
            .bool(wake_up_time.is_some())
            .opt_time(wake_up_time)
            .opt_text(occasion)
            .opt_date(occasion_date)
            .text(g.pick(names::LANGUAGES))
            .opt_text(g.chance(0.05).then_some("Extra towels"))
            .timestamp(created)
            .timestamp(created)
            .end();
    }
    table
}

fn tier_for(lifetime: i64) -> usize {
    TIERS
        .iter()
        .rposition(|(_, required, _)| lifetime >= *required)
        .unwrap_or(0)
}

struct LedgerEntry {
    id: Uuid,
    member: usize,
    kind: &'static str,
    points: i64,
    description: &'static str,
    reference: Option<Uuid>,
    expires_at: Option<DateTime<Utc>>,
    at: DateTime<Utc>,
}

fn loyalty(g: &mut Gen, guests: &[Guest], stays: &Stays) -> (CopyTable, CopyTable, CopyTable) {
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
struct MemberLedger<'a> {
    entries: &'a mut Vec<LedgerEntry>,
    balance: &'a mut Vec<i64>,
    lifetime: &'a mut Vec<i64>,
    member: usize,
    stay: Uuid,
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

fn campaigns(g: &mut Gen, guests: &[Guest], manager: Uuid) -> (CopyTable, CopyTable, Vec<Uuid>) {
    let mut campaigns = CopyTable::new(
        "marketing_campaigns",
        &[
            "tenant_id",
            "id",
            "name",
            "description",
            "type",
            "status",
            "subject",
            "message",
            "audience",
            "target_segments",
            "target_vip_statuses",
            "target_loyalty_tiers",
            "scheduled_at",
            "send_immediately",
            "target_count",
            "sent_count",
            "delivered_count",
            "opened_count",
            "clicked_count",
            "converted_count",
            "unsubscribed_count",
            "bounced_count",
            "created_by",
            "created_at",
            "updated_at",
        ],
    );
    let mut recipients = CopyTable::new(
        "campaign_recipients",
        &[
            "tenant_id",
            "id",
            "campaign_id",
            "guest_id",
            "email",
            "status",
            "sent_at",
            "delivered_at",
            "opened_at",
            "clicked_at",
            "converted_at",
            "bounced_at",
            "bounce_reason",
            "created_at",
            "updated_at",
        ],
    );
    // (name, type, status, audience, segments, vip statuses, days ago)
    let plan: [(&str, &str, &str, &str, &[&str], &[&str], i64); 6] = [
        (
            "Winter escape",
            "email",
            "completed",
            "segment",
            &["leisure"],
            &[],
            300,
        ),
        (
            "VIP evening",
            "email",
            "completed",
            "vip",
            &[],
            &["vip", "vvip"],
            120,
        ),
        (
            "Business travellers",
            "email",
            "active",
            "segment",
            &["business"],
            &[],
            10,
        ),
        (
            "Summer by SMS",
            "sms",
            "scheduled",
            "all_guests",
            &[],
            &[],
            2,
        ),
        ("Newsletter", "email", "draft", "all_guests", &[], &[], 1),
        (
            "Spring promo",
            "email",
            "paused",
            "segment",
            &["leisure", "group"],
            &[],
            40,
        ),
    ];
    let mut ids = Vec::new();
    for (name, kind, status, audience, segments, vips, days_ago) in plan {
        let created = g.now - Duration::days(days_ago);
        let id = g.id_at(created);
        ids.push(id);
        let mut counts = [0i64; 8]; // target, sent, delivered, opened, clicked, converted, unsubscribed, bounced
        if matches!(status, "completed" | "active") {
            let sent_at = created + Duration::hours(2);
            for guest in guests {
                let targeted = guest.marketing
                    && guest.email.is_some()
                    && (segments.is_empty() || segments.contains(&guest.segment))
                    && (vips.is_empty() || vips.contains(&guest.vip));
                if !targeted {
                    continue;
                }
                let outcome = g.pick(&[
                    "sent",
                    "delivered",
                    "delivered",
                    "opened",
                    "opened",
                    "clicked",
                    "converted",
                    "bounced",
                    "unsubscribed",
                ]);
                let step = |n: i64| Some(sent_at + Duration::minutes(n));
                let reached = |level: usize| {
                    let order = ["sent", "delivered", "opened", "clicked", "converted"];
                    order
                        .iter()
                        .position(|s| *s == outcome)
                        .is_some_and(|p| p >= level)
                };
                let delivered = (reached(1) || outcome == "unsubscribed")
                    .then(|| step(1))
                    .flatten();
                let opened = reached(2).then(|| step(30)).flatten();
                let clicked = reached(3).then(|| step(35)).flatten();
                let converted = reached(4).then(|| step(600)).flatten();
                let bounced = (outcome == "bounced").then(|| step(1)).flatten();
                counts[0] += 1;
                counts[1] += 1;
                counts[2] += i64::from(delivered.is_some());
                counts[3] += i64::from(opened.is_some());
                counts[4] += i64::from(clicked.is_some());
                counts[5] += i64::from(converted.is_some());
                counts[6] += i64::from(outcome == "unsubscribed");
                counts[7] += i64::from(bounced.is_some());
                recipients
                    .row()
                    .uuid(g.tenant_id)
                    .uuid(g.id_at(sent_at))
                    .uuid(id)
                    .uuid(guest.id)
                    .opt_text(guest.email.as_deref())
                    .text(outcome)
                    .timestamp(sent_at)
                    .opt_timestamp(delivered)
                    .opt_timestamp(opened)
                    .opt_timestamp(clicked)
                    .opt_timestamp(converted)
                    .opt_timestamp(bounced)
                    .opt_text(bounced.map(|_| "mailbox unavailable"))
                    .timestamp(sent_at)
                    .timestamp(sent_at)
                    .end();
            }
        }
        let scheduled_at = (status == "scheduled").then(|| g.now + Duration::days(7));
        let row = campaigns
            .row()
            .uuid(g.tenant_id)
            .uuid(id)
            .text(name)
            .text(&format!("{name} campaign"))
            .text(kind)
            .text(status)
            .opt_text((kind == "email").then_some(name))
            .text("We would love to welcome you back.")
            .text(audience)
            .text_array(segments)
            .text_array(vips)
            .text_array::<&str>(&[])
            .opt_timestamp(scheduled_at)
            .bool(false);
        counts
            .iter()
            .fold(row, |row, &n| row.int(n))
            .uuid(manager)
            .timestamp(created)
            .timestamp(created)
            .end();
    }
    (campaigns, recipients, ids)
}

fn communications(
    g: &mut Gen,
    guests: &[Guest],
    stays: &[Stay],
    campaign: Option<Uuid>,
) -> CopyTable {
    let mut table = CopyTable::new(
        "communication_logs",
        &[
            "tenant_id",
            "id",
            "guest_id",
            "type",
            "direction",
            "subject",
            "message",
            "from_email",
            "to_email",
            "to_phone",
            "status",
            "related_type",
            "related_id",
            "campaign_id",
            "sent_at",
            "delivered_at",
            "created_at",
            "updated_at",
        ],
    );
    for stay in stays {
        let Some(gi) = stay.guest else { continue };
        let guest = &guests[gi];
        if stay.status == "cancelled" {
            continue;
        }
        let at = stay.created_at + Duration::minutes(2);
        let (kind, to_email, to_phone) = match (&guest.email, &guest.phone) {
            (Some(email), _) => ("email", Some(email.as_str()), None),
            (None, Some(phone)) => ("sms", None, Some(phone.as_str())),
            (None, None) => continue,
        };
        table
            .row()
            .uuid(g.tenant_id)
            .uuid(g.id_at(at))
            .uuid(guest.id)
            .text(kind)
            .text("outbound")
            .text("Your booking is confirmed")
            .text("Thank you for your booking. We look forward to welcoming you.")
            .text("reservations@hotel.example")
            .opt_text(to_email)
            .opt_text(to_phone)
            .text("delivered")
            .text("reservation")
            .text(&stay.id.to_string())
            .null()
            .timestamp(at)
            .timestamp(at + Duration::seconds(4))
            .timestamp(at)
            .timestamp(at)
            .end();
        if g.chance(0.1) {
            let at = stay.created_at + Duration::days(1).min(g.now - stay.created_at);
            table
                .row()
                .uuid(g.tenant_id)
                .uuid(g.id_at(at))
                .uuid(guest.id)
                .text("phone")
                .text("inbound")
                .text("Question about parking")
                .text("Guest asked whether parking can be reserved.")
                .null()
                .null()
                .null()
                .text("read")
                .text("reservation")
                .text(&stay.id.to_string())
                .opt_uuid(if g.chance(0.1) { campaign } else { None })
                .timestamp(at)
                .timestamp(at)
                .timestamp(at)
                .timestamp(at)
                .end();
        }
    }
    table
}

fn billing(g: &mut Gen, plan: &Plan, tenant_created: DateTime<Utc>) -> Vec<CopyTable> {
    let mut subscriptions = CopyTable::new(
        "subscriptions",
        &[
            "tenant_id",
            "id",
            "plan_id",
            "status",
            "current_period_start",
            "current_period_end",
            "cancel_at_period_end",
            "payment_method",
            "last_payment_status",
            "created_at",
            "updated_at",
        ],
    );
    let mut invoices = CopyTable::new(
        "invoices",
        &[
            "tenant_id",
            "id",
            "subscription_id",
            "amount_cents",
            "tax_cents",
            "currency",
            "status",
            "period_start",
            "period_end",
            "due_date",
            "paid_at",
            "line_items",
            "created_at",
            "updated_at",
        ],
    );
    let subscription_id = g.id_at(tenant_created);
    let month_start =
        |date: NaiveDate| NaiveDate::from_ymd_opt(date.year(), date.month(), 1).unwrap_or(date);
    let period_start = month_start(g.today);
    let period_end = month_start(period_start + Days::new(32));
    subscriptions
        .row()
        .uuid(g.tenant_id)
        .uuid(subscription_id)
        .uuid(plan.id)
        .text("active")
        .timestamp(g.at(period_start, 0, 0))
        .timestamp(g.at(period_end, 0, 0))
        .bool(false)
        .text("card")
        .text("paid")
        .timestamp(tenant_created)
        .timestamp(tenant_created)
        .end();
    // twelve monthly invoices: the past ones paid, the current one due
    let mut start = period_start;
    let mut periods = Vec::new();
    for _ in 0..12 {
        periods.push(start);
        start = month_start(start - Days::new(1));
    }
    periods.reverse();
    for start in periods {
        let end = month_start(start + Days::new(32));
        let current = start == period_start;
        let issued = g.at(start, 6, 0);
        let due = start + Days::new(14);
        let paid_after = g.between(1, 10) as u64;
        let paid_at = (!current).then(|| g.at(start + Days::new(paid_after), 9, 0));
        let tax = plan.price_cents / 5;
        invoices
            .row()
            .uuid(g.tenant_id)
            .uuid(g.id_at(issued))
            .uuid(subscription_id)
            .int(plan.price_cents)
            .int(tax)
            .text("EUR")
            .text(if current { "pending" } else { "paid" })
            .timestamp(issued)
            .timestamp(g.at(end, 0, 0))
            .date(due)
            .opt_timestamp(paid_at)
            .json(&json!([{"description": format!("{} plan", plan.name), "quantity": 1, "amount_cents": plan.price_cents}]))
            .timestamp(issued)
            .timestamp(paid_at.unwrap_or(issued))
            .end();
    }
    vec![subscriptions, invoices]
}

fn usage_alerts(g: &mut Gen, plan: &Plan, room_count: usize) -> CopyTable {
    let mut table = CopyTable::new(
        "usage_alerts",
        &[
            "tenant_id",
            "id",
            "metric",
            "threshold_percent",
            "current_value",
            "limit_value",
            "triggered",
            "triggered_at",
            "notified",
            "notified_at",
            "created_at",
            "updated_at",
        ],
    );
    let created = g.now - Duration::days(30);
    for (metric, threshold, current, limit) in [
        (
            "rooms",
            80,
            room_count as i64,
            plan.limit_rooms.map(i64::from),
        ),
        (
            "bookings",
            90,
            g.between(100, 900),
            plan.limit_bookings_per_month.map(i64::from),
        ),
    ] {
        let triggered = limit.is_some_and(|limit| limit > 0 && current * 100 >= limit * threshold);
        let at = triggered.then(|| g.now - Duration::days(g.between(1, 20)));
        table
            .row()
            .uuid(g.tenant_id)
            .uuid(g.id_at(created))
            .text(metric)
            .int(threshold)
            .int(current)
            .opt_int(limit)
            .bool(triggered)
            .opt_timestamp(at)
            .bool(triggered)
            .opt_timestamp(at)
            .timestamp(created)
            .timestamp(at.unwrap_or(created))
            .end();
    }
    table
}

fn webhooks(
    g: &mut Gen,
    subdomain: &str,
    stays: &[Stay],
    created: DateTime<Utc>,
) -> Vec<CopyTable> {
    let mut hooks = CopyTable::new(
        "webhooks",
        &[
            "tenant_id",
            "id",
            "url",
            "description",
            "events",
            "secret",
            "enabled",
            "status",
            "failure_count",
            "created_at",
            "updated_at",
        ],
    );
    let booking_hook = g.id_at(created);
    let billing_hook = g.id_at(created);
    for (id, path, events) in [
        (
            booking_hook,
            "bookings",
            &[
                "reservation.created",
                "reservation.changed",
                "reservation.cancelled",
            ][..],
        ),
        (
            billing_hook,
            "billing",
            &["invoice.paid", "usage.alert"][..],
        ),
    ] {
        let mut secret = [0u8; 16];
        g.rng.fill(&mut secret);
        let secret: String = secret.iter().map(|b| format!("{b:02x}")).collect();
        hooks
            .row()
            .uuid(g.tenant_id)
            .uuid(id)
            .text(&format!("https://hooks.{subdomain}.example/{path}"))
            .text(&format!("{path} events"))
            .text_array(events)
            .text(&format!("whsec_{secret}"))
            .bool(true)
            .text("active")
            .int(0)
            .timestamp(created)
            .timestamp(created)
            .end();
    }
    let mut deliveries = CopyTable::new(
        "webhook_deliveries",
        &[
            "tenant_id",
            "id",
            "webhook_id",
            "event",
            "payload",
            "status",
            "attempt_count",
            "next_retry_at",
            "response_status",
            "response_body",
            "error",
            "delivered_at",
            "created_at",
            "updated_at",
        ],
    );
    for stay in stays {
        let at = stay.created_at + Duration::seconds(1);
        let outcome = g.between(0, 99);
        let (status, attempts, next_retry, response, error, delivered) = match outcome {
            0..=96 => (
                "success",
                1,
                None,
                200,
                None,
                Some(at + Duration::milliseconds(300)),
            ),
            97..=98 => {
                // waiting for a retry: some due now, some later
                let retry = g.now + Duration::minutes(g.between(-120, 240));
                (
                    "pending",
                    g.between(1, 4),
                    Some(retry),
                    503,
                    Some("Service Unavailable"),
                    None,
                )
            }
            _ => (
                "failed",
                8,
                None,
                500,
                Some("gave up after 8 attempts"),
                None,
            ),
        };
        deliveries
            .row()
            .uuid(g.tenant_id)
            .uuid(g.id_at(at))
            .uuid(booking_hook)
            .text("reservation.created")
            .json(&json!({"reservation_id": stay.id, "check_in": stay.check_in, "check_out": stay.check_out}))
            .text(status)
            .int(attempts)
            .opt_timestamp(next_retry)
            .int(response)
            .opt_text((response != 200).then_some("upstream error"))
            .opt_text(error)
            .opt_timestamp(delivered)
            .timestamp(at)
            .timestamp(delivered.unwrap_or(at))
            .end();
    }
    vec![hooks, deliveries]
}

/// The tenant's own overrides of platform rows: a negotiated plan, a flag, a retention period.
fn tenant_overrides(g: &mut Gen) -> Vec<CopyTable> {
    let mut plans = CopyTable::new(
        "plans",
        &[
            "id",
            "tenant_id",
            "name",
            "display_name",
            "description",
            "price_cents",
            "billing_interval",
            "limit_users",
            "limit_properties",
            "limit_rooms",
            "features",
            "created_at",
            "updated_at",
        ],
    );
    let negotiated = g.now - Duration::days(400);
    plans
        .row()
        .uuid(g.id_at(negotiated))
        .uuid(g.tenant_id)
        .text("Enterprise")
        .text("Enterprise (group rate)")
        .text("Negotiated yearly rate for the group")
        .int(399_000)
        .text("yearly")
        .int(100)
        .int(20)
        .int(2_000)
        .text_array(&["reservations", "crm", "loyalty", "campaigns", "webhooks"])
        .timestamp(negotiated)
        .timestamp(negotiated)
        .end();
    let mut flags = CopyTable::new(
        "feature_flags",
        &[
            "id",
            "tenant_id",
            "key",
            "name",
            "description",
            "scope",
            "status",
            "rollout_percentage",
            "created_at",
            "updated_at",
        ],
    );
    let created = g.now - Duration::days(60);
    flags
        .row()
        .uuid(g.id_at(created))
        .uuid(g.tenant_id)
        .text("offline_mode")
        .text("Offline mode")
        .text("Enabled early for this group")
        .text("tenant")
        .text("enabled")
        .int(100)
        .timestamp(created)
        .timestamp(created)
        .end();
    let mut retention = CopyTable::new(
        "data_retention_policies",
        &[
            "id",
            "tenant_id",
            "policy_type",
            "retention_days",
            "action",
            "enabled",
            "schedule",
            "created_at",
            "updated_at",
        ],
    );
    retention
        .row()
        .uuid(g.id_at(created))
        .uuid(g.tenant_id)
        .text("communication_logs")
        .int(365)
        .text("delete")
        .bool(true)
        .text("weekly")
        .timestamp(created)
        .timestamp(created)
        .end();
    vec![plans, flags, retention]
}
