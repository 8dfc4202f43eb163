//! The tenant, its staff, and its properties with room types and rooms.

use super::*;

pub(super) struct StaffRows {
    pub(super) table: CopyTable,
    /// the front desk's signed-in laptops (their refresh tokens are random: nobody holds them)
    pub(super) devices: CopyTable,
    pub(super) owner: (Uuid, String, String),
    pub(super) manager: Uuid,
    pub(super) front_desk: Vec<Uuid>,
    /// the laptops' device ids and when they signed in
    pub(super) device_ids: Vec<(Uuid, DateTime<Utc>)>,
}

pub(super) fn staff_rows(g: &mut Gen, subdomain: &str, created: DateTime<Utc>) -> StaffRows {
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
    let mut devices = CopyTable::new(
        "devices",
        &[
            "tenant_id",
            "id",
            "user_id",
            "name",
            "refresh_token_hash",
            "refresh_expires_at",
            "last_seen_at",
            "created_at",
            "updated_at",
        ],
    );
    let mut device_ids = Vec::new();
    for (n, user_id) in front_desk.iter().enumerate() {
        let signed_in = g.now - Duration::days(30);
        let mut token_hash = [0u8; 32];
        g.rng.fill(&mut token_hash);
        let token_hash: String = token_hash.iter().map(|b| format!("{b:02x}")).collect();
        let device_id = g.id_at(signed_in);
        device_ids.push((device_id, signed_in));
        devices
            .row()
            .uuid(g.tenant_id)
            .uuid(device_id)
            .uuid(*user_id)
            .text(&format!("Front desk laptop {}", n + 1))
            .text(&token_hash)
            .timestamp(g.now + Duration::days(30))
            .timestamp(g.now - Duration::hours(1))
            .timestamp(signed_in)
            .timestamp(g.now - Duration::hours(1))
            .end();
    }
    StaffRows {
        table,
        devices,
        owner,
        manager,
        front_desk,
        device_ids,
    }
}

pub(super) fn tenant_row(
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

pub(super) fn inventory(
    g: &mut Gen,
    hotel: &str,
    rooms_needed: usize,
    created: DateTime<Utc>,
) -> (Vec<CopyTable>, Vec<Property>, Vec<RoomType>, Vec<Room>) {
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
    let mut property_list = Vec::new();
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
        property_list.push(Property {
            id: property_id,
            currency,
            created,
        });
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
        property_list,
        room_types,
        rooms,
    )
}
