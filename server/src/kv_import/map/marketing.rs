//! Marketing: `campaign:` and `campaign_recipient:`.

use serde_json::Value;

use super::{set_created_at, tenant_id, tenant_of, uuid_field, Mapped, Missing, Row, Target};
use crate::kv_import::decode::{Fields, Problem};
use crate::kv_import::keys::{Entity, Key};

/// A list of choices, each lower-cased and checked.
fn choices(f: &mut Fields, name: &str, allowed: &[&str]) -> Result<Vec<String>, Problem> {
    f.strings(name)?
        .into_iter()
        .map(|item| {
            let lower = item.to_lowercase();
            if allowed.contains(&lower.as_str()) {
                Ok(lower)
            } else {
                Err(Problem::field(
                    name,
                    format!("{item:?} is not one of {}", allowed.join(", ")),
                ))
            }
        })
        .collect()
}

/// `campaign:<tenantId>:<campaignId>` → marketing_campaigns. The rates are generated from the
/// counters.
pub fn campaign(key: &Key, f: &mut Fields) -> Result<Mapped, Problem> {
    let tenant = tenant_of(key)?;
    let mut row = Row::new();
    row.set("id", tenant_id(tenant, "campaign", &key.id));
    row.set("legacy_id", super::legacy_id(&key.id));
    row.set("name", f.required_text("name")?);
    row.set("description", f.non_blank("description")?);
    row.set(
        "type",
        f.choice("type", &["email", "sms", "push", "in_app"])?
            .unwrap_or_else(|| "email".to_owned()),
    );
    let status = f
        .choice(
            "status",
            &[
                "draft",
                "scheduled",
                "active",
                "paused",
                "completed",
                "cancelled",
            ],
        )?
        .unwrap_or_else(|| "draft".to_owned());
    row.set("subject", f.non_blank("subject")?);
    row.set("message", f.text("message")?);
    row.set("template_id", f.non_blank("templateId")?);
    row.set(
        "audience",
        f.choice(
            "targetAudience",
            &["all_guests", "segment", "vip", "loyalty_tier", "custom"],
        )?
        .unwrap_or_else(|| "all_guests".to_owned()),
    );
    row.set(
        "target_segments",
        choices(
            f,
            "targetSegments",
            &["regular", "business", "leisure", "group"],
        )?,
    );
    row.set(
        "target_vip_statuses",
        choices(f, "targetVIPStatuses", &["none", "regular", "vip", "vvip"])?,
    );
    row.set("target_loyalty_tiers", f.strings("targetLoyaltyTiers")?);
    row.set(
        "custom_filters",
        Value::Object(f.object("customFilters")?.unwrap_or_default()),
    );
    let scheduled = f.timestamp("scheduledAt")?;
    let immediately = f.boolean_or("sendImmediately", false)?;
    if status == "scheduled" && scheduled.is_none() && !immediately {
        return Err(Problem::new(
            "a scheduled campaign without scheduledAt or sendImmediately",
        ));
    }
    row.set("status", status);
    row.set("scheduled_at", scheduled);
    row.set("send_immediately", immediately);
    let starts = f.timestamp("startDate")?;
    let ends = f.timestamp("endDate")?;
    if let (Some(s), Some(e)) = (starts, ends) {
        if e <= s {
            return Err(Problem::new(format!(
                "impossible window: endDate {e} is not after startDate {s}"
            )));
        }
    }
    row.set("window_starts_at", starts);
    row.set("window_ends_at", ends);
    for (field, column) in [
        ("targetCount", "target_count"),
        ("sentCount", "sent_count"),
        ("deliveredCount", "delivered_count"),
        ("openedCount", "opened_count"),
        ("clickedCount", "clicked_count"),
        ("convertedCount", "converted_count"),
        ("unsubscribedCount", "unsubscribed_count"),
        ("bouncedCount", "bounced_count"),
    ] {
        row.set(column, f.int32_or(field, 0)?);
    }
    f.ignore(&["openRate", "clickRate", "conversionRate"]);
    row.set("created_by", uuid_field(f, "createdBy")?);
    set_created_at(&mut row, f)?;
    Ok(row.finish(Entity::Campaign, Some(tenant)))
}

/// `campaign_recipient:<tenantId>:<campaignId>:<recipientId>` → campaign_recipients.
pub fn recipient(key: &Key, f: &mut Fields) -> Result<Mapped, Problem> {
    let tenant = tenant_of(key)?;
    let campaign = key.parent.clone().unwrap_or_default();
    if let Some(named) = f.non_blank("campaignId")? {
        if named != campaign {
            f.note("campaignId differs from the key: the key's campaign used");
        }
    }
    let mut row = Row::new();
    row.set("id", tenant_id(tenant, "campaign_recipient", &key.id));
    row.set("legacy_id", super::legacy_id(&key.id));
    let campaign_id = tenant_id(tenant, "campaign", &campaign);
    row.set("campaign_id", campaign_id);
    row.link(
        "campaign_id",
        Target::Row {
            table: "marketing_campaigns",
            id: campaign_id,
        },
        &campaign,
        Missing::Quarantine,
    );
    let guest = f.required_text("guestId")?;
    let guest_id = tenant_id(tenant, "guest", &guest);
    row.set("guest_id", guest_id);
    row.link(
        "guest_id",
        Target::Row {
            table: "guests",
            id: guest_id,
        },
        &guest,
        Missing::Quarantine,
    );
    row.set("email", f.non_blank("email")?.map(|e| e.to_lowercase()));
    row.set("phone", f.non_blank("phone")?);
    row.set(
        "status",
        f.choice(
            "status",
            &[
                "pending",
                "sent",
                "delivered",
                "opened",
                "clicked",
                "converted",
                "bounced",
                "unsubscribed",
                "failed",
            ],
        )?
        .unwrap_or_else(|| "pending".to_owned()),
    );
    for (field, column) in [
        ("sentAt", "sent_at"),
        ("deliveredAt", "delivered_at"),
        ("openedAt", "opened_at"),
        ("clickedAt", "clicked_at"),
        ("convertedAt", "converted_at"),
        ("bouncedAt", "bounced_at"),
        ("unsubscribedAt", "unsubscribed_at"),
    ] {
        row.set(column, f.timestamp(field)?);
    }
    row.set("error", f.non_blank("error")?);
    row.set("bounce_reason", f.non_blank("bounceReason")?);
    set_created_at(&mut row, f)?;
    Ok(row.finish(Entity::CampaignRecipient, Some(tenant)))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::test_support::*;
    use super::*;

    #[test]
    fn a_campaign_from_the_sample() {
        let m = ok(
            Entity::Campaign,
            "campaign:T-101:campaign_1",
            json!({"name": "Winter escape", "type": "email", "status": "completed", "subject": "Winter rates",
                   "message": "Stay 3 nights, pay 2", "targetAudience": "segment", "targetSegments": ["Leisure"],
                   "sendImmediately": false, "sentCount": 0, "openRate": 0, "createdAt": "2024-01-01T09:00:00.000Z"}),
        );
        assert_eq!(col(&m, "target_segments"), &json!(["leisure"]));
        assert_eq!(col(&m, "audience"), &json!("segment"));
        assert!(m.notes.is_empty(), "{:?}", m.notes);
        let p = problem(
            Entity::Campaign,
            "campaign:T-1:c",
            json!({"name": "x", "targetSegments": ["Pirates"]}),
        );
        assert!(p.contains("targetSegments"), "{p}");
    }

    #[test]
    fn a_recipient_needs_campaign_and_guest() {
        let m = ok(
            Entity::CampaignRecipient,
            "campaign_recipient:T-101:campaign_1:recipient_1",
            json!({"campaignId": "campaign_1", "guestId": "guest_1", "email": "a@b.example", "status": "opened",
                   "sentAt": "2024-01-01T10:00:00.000Z", "openedAt": "2024-01-01T12:00:00.000Z", "bounceReason": null}),
        );
        assert_eq!(m.links.len(), 2);
        assert!(m.links.iter().all(|l| l.missing == Missing::Quarantine));
        assert_eq!(col(&m, "opened_at"), &json!("2024-01-01T12:00:00Z"));
    }
}
