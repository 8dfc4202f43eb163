//! What the desk records around recent stays: each booking's history (booked, then checked in
//! and out, cancelled or a no-show, by a front-desk colleague) and the identity document the
//! guest showed at check-in. Only stays that left in the last [`RECENT_DAYS`] or are still to
//! leave: a desk looks at those, and documents of older stays would be past a property's
//! retention anyway.

use chrono::{Days, Duration};
use serde_json::json;
use uuid::Uuid;

use super::{CopyTable, Gen, Guest, Stay};

const RECENT_DAYS: u64 = 30;

const DOCUMENT_KINDS: &[&str] = &["passport", "passport", "national_id", "driving_licence"];

const COUNTRIES: &[&str] = &["PT", "ES", "DE", "FR", "GB", "US", "NL", "IT", "BR", "JP"];

pub(super) fn registration(
    g: &mut Gen,
    guests: &[Guest],
    stays: &[Stay],
    front_desk: &[Uuid],
) -> Vec<CopyTable> {
    let mut events = CopyTable::new(
        "reservation_events",
        &[
            "tenant_id",
            "id",
            "reservation_id",
            "action",
            "detail",
            "staff_user_id",
            "created_at",
            "updated_at",
        ],
    );
    let mut documents = CopyTable::new(
        "guest_documents",
        &[
            "tenant_id",
            "id",
            "guest_id",
            "property_id",
            "reservation_id",
            "kind",
            "number",
            "issuing_country",
            "expires_on",
            "captured_by",
            "created_at",
            "updated_at",
        ],
    );
    let recent = g.today - Days::new(RECENT_DAYS);
    let tenant = g.tenant_id;
    for stay in stays.iter().filter(|s| s.check_out >= recent) {
        let mut happened = vec![("booked", stay.created_at, None)];
        let arrived = g.at(stay.check_in, 15, 10) + Duration::minutes(g.between(0, 300));
        match stay.status {
            "checked_in" => happened.push(("checked_in", arrived, None)),
            "checked_out" => {
                happened.push(("checked_in", arrived, None));
                let left = stay
                    .checked_out_at
                    .unwrap_or_else(|| g.at(stay.check_out, 10, 30));
                happened.push(("checked_out", left, None));
            }
            "cancelled" => happened.push((
                "cancelled",
                stay.created_at + Duration::hours(g.between(1, 24 * 10)),
                Some(json!({"reason": "Plans changed"})),
            )),
            "no_show" => happened.push(("no_show", g.at(stay.check_in + Days::new(1), 2, 5), None)),
            _ => {}
        }
        for (action, at, detail) in happened {
            let by = g.pick(front_desk);
            let id = g.id_at(at);
            let row = events
                .row()
                .uuid(tenant)
                .uuid(id)
                .uuid(stay.id)
                .text(action);
            let row = match &detail {
                Some(detail) => row.json(detail),
                None => row.null(),
            };
            row.uuid(by).timestamp(at).timestamp(at).end();
        }
        let Some(index) = stay.guest else { continue };
        if !matches!(stay.status, "checked_in" | "checked_out") || g.chance(0.2) {
            continue;
        }
        let guest = guests[index].id;
        let kind = g.pick(DOCUMENT_KINDS);
        let country = g.pick(COUNTRIES);
        let number = format!(
            "{}{:07}",
            &kind[..1].to_uppercase(),
            g.between(0, 9_999_999)
        );
        let expires = g.today + Days::new(u64::try_from(g.between(60, 3_650)).unwrap_or(60));
        let captured = g.at(stay.check_in, 15, 5);
        let id = g.id_at(captured);
        let by = g.pick(front_desk);
        documents
            .row()
            .uuid(tenant)
            .uuid(id)
            .uuid(guest)
            .uuid(stay.property_id)
            .uuid(stay.id)
            .text(kind)
            .text(&number)
            .text(country)
            .date(expires)
            .uuid(by)
            .timestamp(captured)
            .timestamp(captured)
            .end();
    }
    vec![documents, events]
}
