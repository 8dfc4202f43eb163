//! Platform-wide records: `plan:`, `flag:`, `policy:`, `webhook:`, `delivery:`.

use serde_json::Value;

use super::{plan_name, set_created_at, tenant_id, Mapped, Missing, Row, Target};
use crate::kv_import::decode::{Fields, Problem};
use crate::kv_import::ids::{stable_id, Scope};
use crate::kv_import::keys::{Entity, Key};

const PLAN_NAMES: [&str; 4] = ["Trial", "Basic", "Pro", "Enterprise"];

/// `plan:<name>` → plans (a platform plan: no tenant). Limits of -1 mean unlimited (null).
pub fn plan(key: &Key, f: &mut Fields) -> Result<Mapped, Problem> {
    let name = plan_name(&f.non_blank("name")?.unwrap_or_else(|| key.id.clone()));
    if !PLAN_NAMES.contains(&name.as_str()) {
        return Err(Problem::field(
            "name",
            format!("{name:?} is not one of {}", PLAN_NAMES.join(", ")),
        ));
    }
    let legacy = f
        .non_blank("id")?
        .unwrap_or_else(|| format!("plan_{}", name.to_lowercase()));
    let mut row = Row::new();
    row.set(
        "id",
        stable_id(Scope::Platform, "plan", &name.to_lowercase()),
    );
    row.set("legacy_id", legacy);
    row.set(
        "display_name",
        f.non_blank("displayName")?.unwrap_or_else(|| name.clone()),
    );
    row.set("name", name);
    row.set("description", f.non_blank("description")?);
    row.set("price_cents", f.cents("price")?.unwrap_or(0));
    row.set(
        "currency",
        super::code(f, "currency", 3)?.unwrap_or_else(|| "USD".to_owned()),
    );
    row.set(
        "billing_interval",
        f.choice("interval", &["monthly", "yearly"])?
            .unwrap_or_else(|| "monthly".to_owned()),
    );
    let mut limits = match f.object("limits")? {
        Some(map) => Fields::new(map),
        None => Fields::new(Default::default()),
    };
    let mut limit = |name: &str| -> Result<Option<i64>, Problem> {
        Ok(limits.integer(name)?.filter(|v| *v >= 0))
    };
    row.set("limit_users", limit("users")?);
    row.set("limit_properties", limit("properties")?);
    row.set("limit_rooms", limit("rooms")?);
    row.set("limit_bookings_per_month", limit("bookings")?);
    row.set("limit_api_calls_per_month", limit("apiCalls")?);
    row.set("limit_storage_gb", limit("storage")?);
    row.set("limit_custom_domains", limit("customDomains")?);
    row.set("features", f.strings("features")?);
    set_created_at(&mut row, f)?;
    Ok(row.finish(Entity::Plan, None))
}

/// `policy:<policyId>` → data_retention_policies: a platform default, or a tenant's override
/// where the value names a tenant.
pub fn retention_policy(key: &Key, f: &mut Fields) -> Result<Mapped, Problem> {
    let tenant = f.non_blank("tenantId")?;
    let scope = tenant.as_deref().map_or(Scope::Platform, Scope::Tenant);
    let mut row = Row::new();
    row.set("id", stable_id(scope, "policy", &key.id));
    row.set("legacy_id", super::legacy_id(&key.id));
    row.set(
        "policy_type",
        f.choice(
            "type",
            &[
                "guests",
                "reservations",
                "communication_logs",
                "campaign_recipients",
                "webhook_deliveries",
                "invoices",
                "audit_logs",
                "usage_records",
                "sync_state",
            ],
        )?
        .ok_or_else(|| Problem::missing("type"))?,
    );
    row.set(
        "retention_days",
        f.int32("retentionDays")?
            .ok_or_else(|| Problem::missing("retentionDays"))?,
    );
    row.set(
        "action",
        f.choice("action", &["delete", "anonymize"])?
            .unwrap_or_else(|| "delete".to_owned()),
    );
    row.set("enabled", f.boolean_or("enabled", true)?);
    row.set(
        "schedule",
        f.choice("schedule", &["hourly", "daily", "weekly", "monthly"])?
            .unwrap_or_else(|| "daily".to_owned()),
    );
    row.set("last_run_at", f.timestamp("lastRunAt")?);
    row.set("next_run_at", f.timestamp("nextRunAt")?);
    set_created_at(&mut row, f)?;
    Ok(row.finish(Entity::RetentionPolicy, tenant.as_deref()))
}

/// `flag:<flagId>` (a platform flag) or `flag:<tenantId>:<flagId>` (that tenant's override) →
/// feature_flags. Tenants named in the enable/disable lists are resolved to their new ids.
pub fn feature_flag(key: &Key, f: &mut Fields) -> Result<Mapped, Problem> {
    let tenant = key.tenant.as_deref();
    let scope = tenant.map_or(Scope::Platform, Scope::Tenant);
    let flag_id = key.id.rsplit(':').next().unwrap_or(&key.id);
    let mut row = Row::new();
    row.set("id", stable_id(scope, "flag", flag_id));
    row.set("legacy_id", key.id.clone());
    let flag_key = f
        .non_blank("key")?
        .ok_or_else(|| Problem::missing("key"))?
        .to_lowercase();
    row.set(
        "name",
        f.non_blank("name")?.unwrap_or_else(|| flag_key.clone()),
    );
    row.set("key", flag_key);
    row.set("description", f.non_blank("description")?);
    row.set(
        "scope",
        f.choice("scope", &["global", "plan", "tenant"])?
            .unwrap_or_else(|| if tenant.is_some() { "tenant" } else { "global" }.to_owned()),
    );
    row.set(
        "status",
        f.choice("status", &["enabled", "disabled", "beta"])?
            .unwrap_or_else(|| "disabled".to_owned()),
    );
    let plans: Vec<String> = f
        .strings("enabledForPlans")?
        .iter()
        .map(|p| plan_name(p))
        .collect();
    row.set("enabled_plans", plans);
    row.set("rollout_percentage", f.int32_or("rolloutPercentage", 100)?);
    for (field, column) in [
        ("enabledForTenants", "enabled_tenants"),
        ("disabledForTenants", "disabled_tenants"),
    ] {
        row.set(column, Vec::<String>::new());
        for named in f.strings(field)? {
            row.link(
                column,
                Target::TenantInList,
                &named,
                Missing::Clear("a tenant named by a flag is not imported: left out of the list"),
            );
        }
    }
    set_created_at(&mut row, f)?;
    Ok(row.finish(Entity::FeatureFlag, tenant))
}

/// `webhook:<webhookId>` → webhooks; the tenant comes from the value.
pub fn webhook(key: &Key, f: &mut Fields) -> Result<Mapped, Problem> {
    let tenant = f.required_text("tenantId")?;
    let mut row = Row::new();
    row.set("id", tenant_id(&tenant, "webhook", &key.id));
    row.set("legacy_id", super::legacy_id(&key.id));
    row.set("url", f.required_text("url")?);
    row.set("description", f.non_blank("description")?);
    let events = f.strings("events")?;
    if events.is_empty() {
        return Err(Problem::missing("events"));
    }
    row.set("events", events);
    row.set("secret", f.required_text("secret")?);
    row.set("enabled", f.boolean_or("enabled", true)?);
    row.set(
        "status",
        f.choice("status", &["active", "failing", "disabled"])?
            .unwrap_or_else(|| "active".to_owned()),
    );
    row.set("failure_count", f.int32_or("failureCount", 0)?);
    row.set("disabled_at", f.timestamp("disabledAt")?);
    row.set("disabled_reason", f.non_blank("disabledReason")?);
    set_created_at(&mut row, f)?;
    Ok(row.finish(Entity::Webhook, Some(&tenant)))
}

/// `delivery:<webhookId>:<timestamp>` → webhook_deliveries; tenant and webhook come from the
/// webhook, which must have been imported.
pub fn delivery(key: &Key, f: &mut Fields) -> Result<Mapped, Problem> {
    let webhook = key.parent.clone().unwrap_or_default();
    if let Some(named) = f.non_blank("webhookId")? {
        if named != webhook {
            f.note("webhookId differs from the key: the key's webhook used");
        }
    }
    let mut row = Row::new();
    row.set("id", stable_id(Scope::Platform, "delivery", &key.id));
    row.set("legacy_id", key.id.clone());
    row.set("webhook_id", Value::Null);
    row.link("webhook_id", Target::Webhook, &webhook, Missing::Quarantine);
    row.set("event", f.required_text("event")?);
    row.set(
        "payload",
        f.raw("payload")
            .unwrap_or_else(|| Value::Object(Default::default())),
    );
    let status = f
        .choice("status", &["pending", "success", "failed"])?
        .unwrap_or_else(|| "pending".to_owned());
    let created = set_created_at(&mut row, f)?;
    row.set("attempt_count", f.int32_or("attemptCount", 0)?);
    let mut next_retry = f.timestamp("nextRetryAt")?;
    if status == "pending" && next_retry.is_none() {
        f.note("nextRetryAt missing for a pending delivery: due at its creation");
        next_retry = Some(created.ok_or_else(|| Problem::missing("nextRetryAt"))?);
    }
    let mut delivered = f.timestamp("deliveredAt")?;
    if status == "success" && delivered.is_none() {
        f.note("deliveredAt missing for a successful delivery: creation time used");
        delivered = Some(created.ok_or_else(|| Problem::missing("deliveredAt"))?);
    }
    row.set("status", status);
    row.set("next_retry_at", next_retry);
    row.set("delivered_at", delivered);
    row.set("response_status", f.int32("statusCode")?);
    row.set("response_body", f.text("responseBody")?);
    row.set("error", f.non_blank("error")?);
    Ok(row.finish(Entity::WebhookDelivery, None))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::test_support::*;
    use super::*;

    #[test]
    fn a_plan_from_the_sample() {
        let m = ok(
            Entity::Plan,
            "plan:Pro",
            json!({"id": "plan_pro", "name": "Pro", "displayName": "Pro plan", "description": "Pro tier", "price": 14900,
                   "interval": "monthly", "limits": {"users": 15, "properties": 3, "rooms": 120, "bookings": 1500,
                   "apiCalls": 100000, "storage": 10, "customDomains": -1}, "features": ["reservations", "crm"],
                   "createdAt": "2024-01-01T09:00:00.000Z"}),
        );
        assert_eq!(col(&m, "name"), &json!("Pro"));
        assert_eq!(col(&m, "legacy_id"), &json!("plan_pro"));
        assert_eq!(col(&m, "price_cents"), &json!(14900));
        assert_eq!(col(&m, "limit_bookings_per_month"), &json!(1500));
        assert_eq!(col(&m, "limit_custom_domains"), &Value::Null);
        assert_eq!(m.tenant, None);
        assert!(problem(Entity::Plan, "plan:Gold", json!({"name": "Gold"})).contains("not one of"));
    }

    #[test]
    fn a_tenant_override_of_a_flag_names_tenants_by_link() {
        let m = ok(
            Entity::FeatureFlag,
            "flag:T-101:ff_1700000000_advanced_analytics",
            json!({"key": "advanced_analytics", "name": "Advanced Analytics", "scope": "tenant", "status": "disabled",
                   "enabledForTenants": [], "disabledForTenants": ["T-101"], "created": "2024-01-01T09:00:00.000Z"}),
        );
        assert_eq!(m.tenant.as_deref(), Some("T-101"));
        assert_eq!(
            col(&m, "legacy_id"),
            &json!("T-101:ff_1700000000_advanced_analytics")
        );
        assert_eq!(col(&m, "created_at"), &json!("2024-01-01T09:00:00Z"));
        assert_eq!(m.links.len(), 1);
        assert_eq!(m.links[0].column, "disabled_tenants");
        let global = ok(
            Entity::FeatureFlag,
            "flag:ff_1",
            json!({"key": "offline_mode", "scope": "plan", "enabledForPlans": ["plan_pro", "Enterprise"]}),
        );
        assert_eq!(global.tenant, None);
        assert_eq!(col(&global, "enabled_plans"), &json!(["Pro", "Enterprise"]));
    }

    #[test]
    fn policies_webhooks_and_deliveries() {
        let p = ok(
            Entity::RetentionPolicy,
            "policy:policy_audit_logs",
            json!({"type": "audit_logs", "retentionDays": 730, "enabled": true}),
        );
        assert_eq!(col(&p, "policy_type"), &json!("audit_logs"));
        assert_eq!(p.tenant, None);
        let w = ok(
            Entity::Webhook,
            "webhook:webhook_1_abc",
            json!({"tenantId": "T-101", "url": "https://hooks.example/pms", "events": ["invoice.paid"],
                   "secret": "whsec_1", "enabled": true, "status": "active", "failureCount": 1}),
        );
        assert_eq!(w.tenant.as_deref(), Some("T-101"));
        assert!(problem(
            Entity::Webhook,
            "webhook:w",
            json!({"tenantId": "T-1", "url": "https://x", "events": ["a.b"]})
        )
        .contains("secret"));
        let d = ok(
            Entity::WebhookDelivery,
            "delivery:webhook_1_abc:2024-01-03T09:00:00.000Z",
            json!({"webhookId": "webhook_1_abc", "event": "invoice.paid", "payload": {"invoice": "paid"},
                   "status": "failed", "statusCode": 503, "error": "Service Unavailable", "attemptCount": 3,
                   "nextRetryAt": "2024-01-03T09:30:00.000Z", "createdAt": "2024-01-03T09:00:00.000Z"}),
        );
        assert_eq!(d.links[0].target, Target::Webhook);
        assert_eq!(d.links[0].legacy, "webhook_1_abc");
        assert_eq!(col(&d, "response_status"), &json!(503));
        assert_eq!(col(&d, "payload"), &json!({"invoice": "paid"}));
    }
}
