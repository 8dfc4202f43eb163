//! Which records of the store a run takes: all of them, or those of chosen tenants
//! (`kv-import --tenant`).
//!
//! A record belongs to the tenant its mapping names (the key's tenant, or the value's `tenantId`
//! for webhooks and retention policies); a webhook delivery to its webhook's tenant. Records of
//! no tenant (plans, platform flags and policies) belong to every run: writing them again changes
//! nothing. A record that does not map (it will be quarantined) belongs to the tenant its key
//! or its value's `tenantId` names, where one does. Prefixes without a table count for the tenant their second
//! key part names when that is a tenant of the store, and for every run otherwise.

use std::collections::{BTreeSet, HashMap};

use super::keys::{disposition, parse_key, prefix_of, Disposition, Entity};
use super::map::{map_record, MapOptions};

/// The chosen tenants (legacy ids) and what is needed to place every record.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    pub tenants: BTreeSet<String>,
    /// Every tenant of the store (legacy ids).
    pub store_tenants: BTreeSet<String>,
    /// Webhook id → its tenant, for deliveries.
    pub webhooks: HashMap<String, String>,
}

impl Scope {
    /// Whether the record `key`/`value` is part of a run for [`Scope::tenants`].
    pub fn includes(&self, key: &str, value: &str) -> bool {
        match self.tenant_of(key, value) {
            Some(tenant) => self.tenants.contains(&tenant),
            None => true,
        }
    }

    /// The tenant a record belongs to; None for platform records.
    pub fn tenant_of(&self, key: &str, value: &str) -> Option<String> {
        let prefix = prefix_of(key);
        let Disposition::Mapped(entity) = disposition(prefix) else {
            let second = key.split(':').nth(1)?;
            return self
                .store_tenants
                .contains(second)
                .then(|| second.to_owned());
        };
        let parsed = parse_key(entity, key).ok();
        if entity == Entity::WebhookDelivery {
            let webhook = parsed.and_then(|k| k.parent)?;
            return self.webhooks.get(&webhook).cloned();
        }
        if let Some(tenant) = parsed.as_ref().and_then(|k| k.tenant.clone()) {
            return Some(tenant);
        }
        match map_record(entity, key, value, MapOptions::default()) {
            Ok(mapped) => mapped.tenant,
            // a record that will be quarantined: the tenant its key or value names
            Err(_) => {
                let (map, _) = super::decode::decode_value(value).ok()?;
                map.get("tenantId")?.as_str().map(str::to_owned)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    fn scope() -> Scope {
        let set = |items: &[&str]| items.iter().map(|s| s.to_string()).collect();
        Scope {
            tenants: set(&["T-1"]),
            store_tenants: set(&["T-1", "T-2"]),
            webhooks: [("wh_1".to_owned(), "T-2".to_owned())].into(),
        }
    }

    #[rstest]
    #[case::own_guest("guest:T-1:g1", "{}", true)]
    #[case::other_guest("guest:T-2:g1", "{}", false)]
    #[case::other_tenant("tenant:T-2", r#"{"name":"Two","subdomain":"two"}"#, false)]
    #[case::plan("plan:Pro", r#"{"name":"Pro","price":100}"#, true)]
    #[case::platform_flag("flag:f1", "{}", true)]
    #[case::other_override("flag:T-2:f1", "{}", false)]
    #[case::other_webhook(
        "webhook:wh_1",
        r#"{"tenantId":"T-2","url":"https://x.example"}"#,
        false
    )]
    #[case::other_delivery("delivery:wh_1:2024-01-01T00:00:00.000Z", "{}", false)]
    #[case::unknown_webhook_delivery("delivery:wh_9:2024-01-01T00:00:00.000Z", "{}", true)]
    #[case::broken_value_of_other("reservation:T-2:RES-1", "not json", false)]
    #[case::left_of_other("usage:T-2:rooms:2024-01", "{}", false)]
    #[case::left_own("usage:T-1:rooms:2024-01", "{}", true)]
    #[case::left_platform("platform:settings", "{}", true)]
    #[case::unknown("legacy_thing:x", "{}", true)]
    fn records_belong_to_their_tenant(
        #[case] key: &str,
        #[case] value: &str,
        #[case] included: bool,
    ) {
        assert_eq!(scope().includes(key, value), included, "{key}");
    }
}
