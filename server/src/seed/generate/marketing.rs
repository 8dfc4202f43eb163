//! Campaigns, their recipients and counters that agree with the recipients.

use super::*;

/// (name, type, status, audience, segments, VIP statuses, days ago)
type CampaignSpec = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static [&'static str],
    &'static [&'static str],
    i64,
);

pub(super) fn campaigns(
    g: &mut Gen,
    guests: &[Guest],
    manager: Uuid,
) -> (CopyTable, CopyTable, Vec<Uuid>) {
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
    let plan: [CampaignSpec; 6] = [
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
