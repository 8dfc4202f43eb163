//! Reservations laid out room by room along a timeline, so active stays never overlap.

use super::*;

pub(super) struct Stays {
    pub(super) table: CopyTable,
    pub(super) stays: Vec<Stay>,
    /// Each stay's guest folio, and the entries of what it has paid.
    pub(super) folios: CopyTable,
    pub(super) folio_entries: CopyTable,
}

pub(super) fn lay_out_stays(
    g: &mut Gen,
    history_days: u64,
    guests: &[Guest],
    room_types: &[RoomType],
    rooms: &[Room],
    desk: &[Uuid],
) -> Stays {
    let repeaters: Vec<usize> = (0..guests.len()).filter(|&i| guests[i].repeater).collect();
    let start = g.today - Days::new(history_days);
    let end = g.today + Days::new(FUTURE_DAYS);
    let mut drafts = Vec::new();
    for (index, room) in rooms.iter().enumerate() {
        // Every fourth room turns over today (a departure and an arrival), so the Today screen
        // always has both, whatever the seed.
        let turns_over_today = index % 4 == 0;
        let mut day = start + Days::new(g.between(0, 5) as u64);
        while day < end {
            let nights = g.pick(&[1, 1, 2, 2, 2, 3, 3, 4, 5, 7]) as u64;
            let check_in = day;
            let mut check_out = day + Days::new(nights);
            if turns_over_today && check_in < g.today && check_out > g.today {
                check_out = g.today;
            }
            let guest = if !repeaters.is_empty() && g.chance(0.6) {
                Some(g.pick(&repeaters))
            } else if g.chance(0.98) {
                Some(g.between(0, guests.len() as i64 - 1) as usize)
            } else {
                None // booked by a name only (an agent's block booking, a walk-in without profile)
            };
            drafts.push((room, guest, check_in, check_out));
            let mut gap = if g.chance(0.45) {
                0
            } else {
                g.between(1, 3) as u64
            };
            if turns_over_today && check_out <= g.today && check_out + Days::new(gap) > g.today {
                gap = (g.today - check_out).num_days() as u64;
            }
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
            "checked_in" if g.chance(0.5) => (total, "paid"),
            "checked_in" => (rate, if rate >= total { "paid" } else { "partial" }),
            "confirmed" | "pending" if g.chance(0.6) => (
                rate.min(total),
                if rate >= total { "paid" } else { "partial" },
            ),
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
            property_id: room.property_id,
            room_type: room.room_type,
            rate_cents: rate,
            adults,
            children,
            deposit_cents: deposit,
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
    let mut folios = CopyTable::new(
        "folios",
        &[
            "tenant_id",
            "id",
            "property_id",
            "reservation_id",
            "kind",
            "status",
            "currency",
            "created_by",
            "created_at",
            "updated_at",
        ],
    );
    let mut folio_entries = CopyTable::new(
        "folio_entries",
        &[
            "tenant_id",
            "id",
            "folio_id",
            "reservation_id",
            "kind",
            "amount_minor",
            "currency",
            "business_date",
            "description",
            "payment_method",
            "external_reference",
            "created_by",
            "created_at",
            "updated_at",
        ],
    );
    for &i in &order {
        let stay = &stays[i];
        let row = &rows[i];
        stay_folio(g.tenant_id, stay, row, &mut folios, &mut folio_entries);
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
    Stays {
        table,
        stays,
        folios,
        folio_entries,
    }
}

/// The stay's guest folio (open: closing folios comes with check-out's balance rule) and entries
/// for what it has paid, so the server derives the same paid amount and status from them: one
/// payment of the deposit, or for a refunded cancellation a payment and its refund. Ids are
/// derived from the stay, so no draw of the seeded RNG moves.
fn stay_folio(
    tenant_id: Uuid,
    stay: &Stay,
    row: &StayRow,
    folios: &mut CopyTable,
    entries: &mut CopyTable,
) {
    let folio_id = pms_sync_protocol::derived::guest_folio_id(stay.id);
    let opened = row.confirmed_at.unwrap_or(stay.created_at);
    folios
        .row()
        .uuid(tenant_id)
        .uuid(folio_id)
        .uuid(row.property_id)
        .uuid(stay.id)
        .text("guest")
        .text("open")
        .text("EUR")
        .uuid(row.created_by)
        .timestamp(opened)
        .timestamp(opened)
        .end();
    let methods = ["card", "card", "cash", "transfer"];
    let method = methods[(stay.id.as_u128() % methods.len() as u128) as usize];
    let mut entry = |kind: &str, amount: i64, n: u32, at: DateTime<Utc>| {
        let id = Uuid::new_v5(
            &pms_sync_protocol::derived::NAMESPACE,
            format!("seed/folio_entries/{}/{kind}/{n}", stay.id).as_bytes(),
        );
        entries
            .row()
            .uuid(tenant_id)
            .uuid(id)
            .uuid(folio_id)
            .uuid(stay.id)
            .text(kind)
            .int(amount)
            .text("EUR")
            .date(at.date_naive())
            .text(if kind == "refund" {
                "Refund on cancellation"
            } else {
                "Payment"
            })
            .text(method)
            .text(&format!("DEMO-{}", &stay.id.simple().to_string()[20..]))
            .uuid(row.created_by)
            .timestamp(at)
            .timestamp(at)
            .end();
    };
    let paid_at = row.checked_in_at.unwrap_or(opened);
    if row.deposit > 0 {
        entry("payment", row.deposit, 1, paid_at);
    } else if row.payment == "refunded" {
        entry("payment", row.rate, 1, opened);
        entry("refund", row.rate, 2, row.cancelled_at.unwrap_or(opened));
    }
}

pub(super) struct StayRow {
    pub(super) room_id: Uuid,
    pub(super) property_id: Uuid,
    pub(super) room_type_id: Uuid,
    pub(super) rate: i64,
    pub(super) deposit: i64,
    pub(super) payment: &'static str,
    pub(super) confirmed_at: Option<DateTime<Utc>>,
    pub(super) checked_in_at: Option<DateTime<Utc>>,
    pub(super) cancelled_at: Option<DateTime<Utc>>,
    pub(super) no_show_at: Option<DateTime<Utc>>,
    pub(super) adults: i64,
    pub(super) children: i64,
    pub(super) source: &'static str,
    pub(super) special: Option<&'static str>,
    pub(super) created_by: Uuid,
}

/// The status a stay has today, given its dates.
pub(super) fn stay_status(g: &mut Gen, check_in: NaiveDate, check_out: NaiveDate) -> &'static str {
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
