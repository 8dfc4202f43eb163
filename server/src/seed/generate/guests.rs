//! Guest profiles (metrics derived from their stays), preferences and the communication log.

use super::*;

pub(super) fn make_guests(g: &mut Gen, count: usize) -> Vec<Guest> {
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

pub(super) fn guest_rows(g: &mut Gen, guests: &[Guest], stays: &Stays) -> CopyTable {
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

pub(super) fn preference_rows(g: &mut Gen, guests: &[Guest]) -> CopyTable {
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

pub(super) fn communications(
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
