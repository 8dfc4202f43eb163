//! Legacy keys: which prefix goes to which table, and the ids a key carries (pure).

use super::decode::Problem;

/// Every kind of legacy record that has a table, in the order the import writes them (a record
/// is written after everything it references).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Entity {
    Plan,
    Tenant,
    RetentionPolicy,
    FeatureFlag,
    Subscription,
    Invoice,
    UsageAlert,
    Webhook,
    WebhookDelivery,
    Guest,
    GuestPreference,
    LoyaltyProgram,
    Campaign,
    CommunicationLog,
    CampaignRecipient,
    LoyaltyMember,
    LoyaltyTransaction,
    Reservation,
}

impl Entity {
    /// All entities in import order.
    pub const ALL: [Entity; 18] = [
        Entity::Plan,
        Entity::Tenant,
        Entity::RetentionPolicy,
        Entity::FeatureFlag,
        Entity::Subscription,
        Entity::Invoice,
        Entity::UsageAlert,
        Entity::Webhook,
        Entity::WebhookDelivery,
        Entity::Guest,
        Entity::GuestPreference,
        Entity::LoyaltyProgram,
        Entity::Campaign,
        Entity::CommunicationLog,
        Entity::CampaignRecipient,
        Entity::LoyaltyMember,
        Entity::LoyaltyTransaction,
        Entity::Reservation,
    ];

    /// The key prefix (before the first `:`).
    pub fn prefix(self) -> &'static str {
        match self {
            Entity::Plan => "plan",
            Entity::Tenant => "tenant",
            Entity::RetentionPolicy => "policy",
            Entity::FeatureFlag => "flag",
            Entity::Subscription => "subscription",
            Entity::Invoice => "invoice",
            Entity::UsageAlert => "alert",
            Entity::Webhook => "webhook",
            Entity::WebhookDelivery => "delivery",
            Entity::Guest => "guest",
            Entity::GuestPreference => "pref",
            Entity::LoyaltyProgram => "loyalty_program",
            Entity::Campaign => "campaign",
            Entity::CommunicationLog => "comm",
            Entity::CampaignRecipient => "campaign_recipient",
            Entity::LoyaltyMember => "loyalty_member",
            Entity::LoyaltyTransaction => "loyalty_tx",
            Entity::Reservation => "reservation",
        }
    }

    /// The table its records go to.
    pub fn table(self) -> &'static str {
        match self {
            Entity::Plan => "plans",
            Entity::Tenant => "tenants",
            Entity::RetentionPolicy => "data_retention_policies",
            Entity::FeatureFlag => "feature_flags",
            Entity::Subscription => "subscriptions",
            Entity::Invoice => "invoices",
            Entity::UsageAlert => "usage_alerts",
            Entity::Webhook => "webhooks",
            Entity::WebhookDelivery => "webhook_deliveries",
            Entity::Guest => "guests",
            Entity::GuestPreference => "guest_preferences",
            Entity::LoyaltyProgram => "loyalty_programs",
            Entity::Campaign => "marketing_campaigns",
            Entity::CommunicationLog => "communication_logs",
            Entity::CampaignRecipient => "campaign_recipients",
            Entity::LoyaltyMember => "loyalty_members",
            Entity::LoyaltyTransaction => "loyalty_transactions",
            Entity::Reservation => "reservations",
        }
    }

    /// The key's shape, for messages.
    pub fn key_pattern(self) -> &'static str {
        match self {
            Entity::Plan => "plan:<name>",
            Entity::Tenant => "tenant:<tenantId>",
            Entity::RetentionPolicy => "policy:<policyId>",
            Entity::FeatureFlag => "flag:<flagId> or flag:<tenantId>:<flagId>",
            Entity::Subscription => "subscription:<tenantId>",
            Entity::Invoice => "invoice:<tenantId>:<invoiceId>",
            Entity::UsageAlert => "alert:<tenantId>:<alertId>",
            Entity::Webhook => "webhook:<webhookId>",
            Entity::WebhookDelivery => "delivery:<webhookId>:<timestamp>",
            Entity::Guest => "guest:<tenantId>:<guestId>",
            Entity::GuestPreference => "pref:<tenantId>:<guestId>",
            Entity::LoyaltyProgram => "loyalty_program:<tenantId>:<programId>",
            Entity::Campaign => "campaign:<tenantId>:<campaignId>",
            Entity::CommunicationLog => "comm:<tenantId>:<guestId>:<commId>",
            Entity::CampaignRecipient => "campaign_recipient:<tenantId>:<campaignId>:<recipientId>",
            Entity::LoyaltyMember => "loyalty_member:<tenantId>:<memberId>",
            Entity::LoyaltyTransaction => "loyalty_tx:<tenantId>:<txId>",
            Entity::Reservation => "reservation:<tenantId>:<reservationId>",
        }
    }

    pub fn from_prefix(prefix: &str) -> Option<Entity> {
        Entity::ALL.into_iter().find(|e| e.prefix() == prefix)
    }
}

/// The first stage of a run, in order: everything the rest references.
pub const FIRST_STAGE: [Entity; 12] = [
    Entity::Plan,
    Entity::Tenant,
    Entity::RetentionPolicy,
    Entity::FeatureFlag,
    Entity::Subscription,
    Entity::Invoice,
    Entity::UsageAlert,
    Entity::Webhook,
    Entity::WebhookDelivery,
    Entity::Guest,
    Entity::LoyaltyProgram,
    Entity::Campaign,
];

/// The second stage: lanes that run side by side, each in order. They write different tables
/// and reference the first stage's rows and, within a lane, its own earlier ones. Bookings, the
/// longest prefix to write, have a lane of their own; the other lane takes the rest.
pub const SECOND_STAGE: [&[Entity]; 2] = [
    &[
        Entity::LoyaltyMember,
        Entity::LoyaltyTransaction,
        Entity::GuestPreference,
        Entity::CommunicationLog,
        Entity::CampaignRecipient,
    ],
    &[Entity::Reservation],
];

/// Prefixes KV-MODEL.md lists as having no normalized table yet: left in the store, counted.
pub const LEFT_IN_STORE: &[&str] = &[
    "usage",
    "audit",
    "integration",
    "apikey",
    "compliance",
    "notification",
    "platform",
    "admin",
];

/// What the import does with a key prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    Mapped(Entity),
    /// A documented prefix without a table: left in the store.
    Left,
    /// Not in the data model: reported by name and count, never guessed at.
    Unknown,
}

pub fn disposition(prefix: &str) -> Disposition {
    if let Some(entity) = Entity::from_prefix(prefix) {
        Disposition::Mapped(entity)
    } else if LEFT_IN_STORE.contains(&prefix) {
        Disposition::Left
    } else {
        Disposition::Unknown
    }
}

/// The prefix of a key: everything before the first `:` (the whole key when there is none).
pub fn prefix_of(key: &str) -> &str {
    key.split_once(':').map_or(key, |(prefix, _)| prefix)
}

/// The ids a key carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    pub entity: Entity,
    /// The tenant's legacy id, for keys that carry one.
    pub tenant: Option<String>,
    /// The record's own legacy id (for a delivery `<webhookId>:<timestamp>`, for a tenant's flag
    /// override `<tenantId>:<flagId>`: unique where the table needs it).
    pub id: String,
    /// The ids between the tenant and the record's own (the guest of a communication, the
    /// campaign of a recipient, the webhook of a delivery).
    pub parent: Option<String>,
}

/// Splits `key` by its entity's pattern.
pub fn parse_key(entity: Entity, key: &str) -> Result<Key, Problem> {
    let rest = key
        .strip_prefix(entity.prefix())
        .and_then(|r| r.strip_prefix(':'))
        .unwrap_or("");
    let wrong = || {
        Problem::new(format!(
            "the key does not have the form {}",
            entity.key_pattern()
        ))
    };
    let parts: Vec<&str> = rest.split(':').collect();
    let nonempty = |parts: &[&str]| parts.iter().all(|p| !p.trim().is_empty());
    let key = |tenant: Option<&str>, parent: Option<&str>, id: String| Key {
        entity,
        tenant: tenant.map(str::to_owned),
        parent: parent.map(str::to_owned),
        id,
    };
    match entity {
        Entity::Plan | Entity::RetentionPolicy | Entity::Webhook => match parts[..] {
            [id] if nonempty(&parts) => Ok(key(None, None, id.to_owned())),
            _ => Err(wrong()),
        },
        Entity::Tenant | Entity::Subscription => match parts[..] {
            [tenant] if nonempty(&parts) => Ok(key(Some(tenant), None, tenant.to_owned())),
            _ => Err(wrong()),
        },
        Entity::FeatureFlag => match parts[..] {
            [id] if nonempty(&parts) => Ok(key(None, None, id.to_owned())),
            [tenant, id] if nonempty(&parts) => {
                Ok(key(Some(tenant), None, format!("{tenant}:{id}")))
            }
            _ => Err(wrong()),
        },
        Entity::WebhookDelivery => match rest.split_once(':') {
            Some((webhook, at)) if !webhook.is_empty() && !at.is_empty() => {
                Ok(key(None, Some(webhook), rest.to_owned()))
            }
            _ => Err(wrong()),
        },
        Entity::CommunicationLog | Entity::CampaignRecipient => match parts[..] {
            [tenant, parent, id] if nonempty(&parts) => {
                Ok(key(Some(tenant), Some(parent), id.to_owned()))
            }
            _ => Err(wrong()),
        },
        _ => match parts[..] {
            [tenant, id] if nonempty(&parts) => Ok(key(Some(tenant), None, id.to_owned())),
            _ => Err(wrong()),
        },
    }
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    #[rstest]
    #[case::guest(
        "guest:T-101:guest_1_a",
        Entity::Guest,
        Some("T-101"),
        None,
        "guest_1_a"
    )]
    #[case::old_tenant_id(
        "guest:tn_1634567890_abc123:g1",
        Entity::Guest,
        Some("tn_1634567890_abc123"),
        None,
        "g1"
    )]
    #[case::comm(
        "comm:T-1:g1:c1",
        Entity::CommunicationLog,
        Some("T-1"),
        Some("g1"),
        "c1"
    )]
    #[case::recipient(
        "campaign_recipient:T-1:camp:r1",
        Entity::CampaignRecipient,
        Some("T-1"),
        Some("camp"),
        "r1"
    )]
    #[case::delivery_with_colons(
        "delivery:wh_1:2024-01-03T09:00:00.000Z",
        Entity::WebhookDelivery,
        None,
        Some("wh_1"),
        "wh_1:2024-01-03T09:00:00.000Z"
    )]
    #[case::global_flag("flag:ff_1", Entity::FeatureFlag, None, None, "ff_1")]
    #[case::tenant_flag("flag:T-1:ff_1", Entity::FeatureFlag, Some("T-1"), None, "T-1:ff_1")]
    #[case::tenant("tenant:T-1", Entity::Tenant, Some("T-1"), None, "T-1")]
    #[case::subscription("subscription:T-1", Entity::Subscription, Some("T-1"), None, "T-1")]
    #[case::plan("plan:Pro", Entity::Plan, None, None, "Pro")]
    fn keys_carry_their_ids(
        #[case] raw: &str,
        #[case] entity: Entity,
        #[case] tenant: Option<&str>,
        #[case] parent: Option<&str>,
        #[case] id: &str,
    ) {
        let key = parse_key(entity, raw).expect("parsed");
        assert_eq!(key.tenant.as_deref(), tenant);
        assert_eq!(key.parent.as_deref(), parent);
        assert_eq!(key.id, id);
    }

    #[rstest]
    #[case::missing_id("guest:T-101", Entity::Guest)]
    #[case::empty_id("guest:T-101:", Entity::Guest)]
    #[case::extra_part("reservation:T-1:RES-1:x", Entity::Reservation)]
    #[case::three_part_flag("flag:a:b:c", Entity::FeatureFlag)]
    #[case::bare_delivery("delivery:wh_1", Entity::WebhookDelivery)]
    fn malformed_keys_are_problems(#[case] raw: &str, #[case] entity: Entity) {
        let problem = parse_key(entity, raw).expect_err("refused");
        assert!(problem.0.contains(entity.key_pattern()), "{problem}");
    }

    #[test]
    fn prefixes_are_mapped_left_or_unknown() {
        assert_eq!(disposition("guest"), Disposition::Mapped(Entity::Guest));
        assert_eq!(
            disposition("campaign_recipient"),
            Disposition::Mapped(Entity::CampaignRecipient)
        );
        assert_eq!(disposition("usage"), Disposition::Left);
        assert_eq!(disposition("platform"), Disposition::Left);
        assert_eq!(disposition("legacy_thing"), Disposition::Unknown);
        assert_eq!(prefix_of("platform:settings"), "platform");
        assert_eq!(prefix_of("nocolon"), "nocolon");
    }

    #[test]
    fn the_stages_hold_every_entity_once_and_respect_the_references() {
        let mut staged: Vec<Entity> = FIRST_STAGE.to_vec();
        for lane in SECOND_STAGE {
            staged.extend_from_slice(lane);
        }
        staged.sort();
        assert_eq!(staged, Entity::ALL.to_vec());
        // what a second-stage entity references is in the first stage or earlier in its lane
        let references = [
            (Entity::GuestPreference, vec![Entity::Guest]),
            (
                Entity::CommunicationLog,
                vec![Entity::Guest, Entity::Campaign],
            ),
            (
                Entity::CampaignRecipient,
                vec![Entity::Guest, Entity::Campaign],
            ),
            (
                Entity::LoyaltyMember,
                vec![Entity::Guest, Entity::LoyaltyProgram],
            ),
            (Entity::LoyaltyTransaction, vec![Entity::LoyaltyMember]),
            (Entity::Reservation, vec![Entity::Guest]),
        ];
        for (entity, targets) in references {
            let lane = SECOND_STAGE
                .iter()
                .find(|lane| lane.contains(&entity))
                .expect("in a lane");
            let before = &lane[..lane.iter().position(|e| *e == entity).unwrap_or(0)];
            for target in targets {
                assert!(
                    FIRST_STAGE.contains(&target) || before.contains(&target),
                    "{entity:?} references {target:?}"
                );
            }
        }
    }

    #[test]
    fn every_entity_comes_after_what_it_references() {
        let position = |e: Entity| Entity::ALL.iter().position(|x| *x == e);
        let references = [
            (Entity::Tenant, Entity::Plan),
            (Entity::Subscription, Entity::Plan),
            (Entity::Subscription, Entity::Tenant),
            (Entity::Invoice, Entity::Subscription),
            (Entity::FeatureFlag, Entity::Tenant),
            (Entity::WebhookDelivery, Entity::Webhook),
            (Entity::GuestPreference, Entity::Guest),
            (Entity::CommunicationLog, Entity::Guest),
            (Entity::CommunicationLog, Entity::Campaign),
            (Entity::CampaignRecipient, Entity::Campaign),
            (Entity::LoyaltyMember, Entity::LoyaltyProgram),
            (Entity::LoyaltyMember, Entity::Guest),
            (Entity::LoyaltyTransaction, Entity::LoyaltyMember),
            (Entity::Reservation, Entity::Guest),
        ];
        for (from, to) in references {
            assert!(position(from) > position(to), "{from:?} before {to:?}");
        }
    }
}
