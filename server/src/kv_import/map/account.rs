//! The tenant and its account with the platform: `tenant:`, `subscription:`, `invoice:`, `alert:`.

use serde_json::{json, Map, Value};

use super::{
    midnight, plan_name, set_created_at, tenant_id, tenant_of, uuid_field, Mapped, Missing, Row,
    Target,
};
use crate::kv_import::decode::{Fields, Problem};
use crate::kv_import::ids::{stable_id, Scope};
use crate::kv_import::keys::{Entity, Key};

/// The id of a tenant's own row, from its legacy id.
pub fn tenant_row_id(tenant: &str) -> uuid::Uuid {
    stable_id(Scope::Platform, "tenant", tenant)
}

/// `tenant:<tenantId>` → tenants. `usagePercent` and `mrr` are derived values and not kept;
/// fields without a column go to `settings.legacy`.
pub fn tenant(key: &Key, f: &mut Fields) -> Result<Mapped, Problem> {
    let tenant = tenant_of(key)?;
    let mut row = Row::new();
    row.set("id", tenant_row_id(tenant));
    row.set("external_id", tenant);
    row.set("name", f.required_text("name")?);
    let subdomain = f.required_text("subdomain")?;
    if subdomain != subdomain.to_lowercase() {
        f.note("subdomain lower-cased");
    }
    row.set("subdomain", subdomain.to_lowercase());
    row.set(
        "region",
        f.non_blank("region")?
            .unwrap_or_else(|| "eu-west-1".to_owned()),
    );
    row.set("billing_entity", f.non_blank("billingEntity")?);
    let status = f
        .choice(
            "status",
            &["active", "trial", "suspended", "cancelled", "pending"],
        )?
        .unwrap_or_else(|| "active".to_owned());
    row.set(
        "owner_email",
        f.non_blank("owner")?.map(|e| e.to_lowercase()),
    );
    row.set("owner_name", f.non_blank("ownerName")?);
    row.set("owner_user_id", uuid_field(f, "ownerUserId")?);
    row.set(
        "custom_domain",
        f.non_blank("customDomain")?.map(|d| d.to_lowercase()),
    );
    row.set("trial_ends_at", f.timestamp("trialEndsAt")?);
    let mut created = set_created_at(&mut row, f)?;
    if created.is_none() {
        // `created` alone (a date) when there is no createdAt
        created = f.date("created")?.map(midnight);
        row.set("created_at", created);
    }
    let updated = f.timestamp("updatedAt")?;
    let mut suspended_at = f.timestamp("suspendedAt")?;
    if status == "suspended" && suspended_at.is_none() {
        f.note("suspendedAt missing for a suspended tenant: last update (or creation) used");
        suspended_at = updated.or(created);
        if suspended_at.is_none() {
            return Err(Problem::missing("suspendedAt"));
        }
    }
    let mut cancelled_at = f.timestamp("cancelledAt")?;
    if status == "cancelled" && cancelled_at.is_none() {
        f.note("cancelledAt missing for a cancelled tenant: last update (or creation) used");
        cancelled_at = updated.or(created);
        if cancelled_at.is_none() {
            return Err(Problem::missing("cancelledAt"));
        }
    }
    row.set("status", status);
    row.set("suspended_at", suspended_at);
    row.set("suspension_reason", f.non_blank("suspensionReason")?);
    row.set("cancelled_at", cancelled_at);
    row.set("cancellation_reason", f.non_blank("cancellationReason")?);
    let plan = f.non_blank("plan")?;
    row.set("plan_id", Value::Null);
    if let Some(plan) = plan {
        row.link(
            "plan_id",
            Target::Plan {
                name: plan_name(&plan),
            },
            &plan,
            Missing::Clear("plan unknown: tenant imported without a plan"),
        );
    }
    f.ignore(&["usagePercent", "mrr", "created"]);
    let mut settings = f.object("settings")?.unwrap_or_default();
    let unread = f.unread();
    if !unread.is_empty() {
        settings.insert("legacy".to_owned(), Value::Object(unread.clone()));
        f.ignore(&unread.keys().map(String::as_str).collect::<Vec<_>>());
    }
    row.set("settings", Value::Object(settings));
    Ok(row.finish(Entity::Tenant, None))
}

/// `subscription:<tenantId>` → subscriptions (the plan in either form, `plan:Pro` or `plan_pro`).
pub fn subscription(key: &Key, f: &mut Fields) -> Result<Mapped, Problem> {
    let tenant = tenant_of(key)?;
    let legacy = f.non_blank("id")?.unwrap_or_else(|| tenant.to_owned());
    let mut row = Row::new();
    row.set("id", tenant_id(tenant, "subscription", &legacy));
    row.set("legacy_id", super::legacy_id(&legacy));
    let plan = f.required_text("planId")?;
    row.set("plan_id", Value::Null);
    row.link(
        "plan_id",
        Target::Plan {
            name: plan_name(&plan),
        },
        &plan,
        Missing::Quarantine,
    );
    let status = f
        .choice("status", &["active", "past_due", "cancelled", "trialing"])?
        .unwrap_or_else(|| "active".to_owned());
    let start = f
        .timestamp("currentPeriodStart")?
        .ok_or_else(|| Problem::missing("currentPeriodStart"))?;
    let end = f
        .timestamp("currentPeriodEnd")?
        .ok_or_else(|| Problem::missing("currentPeriodEnd"))?;
    if end <= start {
        return Err(Problem::new(format!(
            "impossible period: currentPeriodEnd {end} is not after currentPeriodStart {start}"
        )));
    }
    row.set("current_period_start", start);
    row.set("current_period_end", end);
    row.set(
        "cancel_at_period_end",
        f.boolean_or("cancelAtPeriodEnd", false)?,
    );
    let mut cancelled_at = f.timestamp("cancelledAt")?;
    if status == "cancelled" && cancelled_at.is_none() {
        f.note("cancelledAt missing for a cancelled subscription: period end used");
        cancelled_at = Some(end);
    }
    row.set("status", status);
    row.set("cancelled_at", cancelled_at);
    row.set(
        "payment_method",
        f.choice("paymentMethod", &["card", "invoice", "wire"])?,
    );
    row.set(
        "last_payment_status",
        f.choice(
            "lastPaymentStatus",
            &["paid", "pending", "failed", "refunded"],
        )?,
    );
    set_created_at(&mut row, f)?;
    Ok(row.finish(Entity::Subscription, Some(tenant)))
}

/// `invoice:<tenantId>:<invoiceId>` → invoices. `total` is generated from amount and tax; a legacy
/// total that differs is noted.
pub fn invoice(key: &Key, f: &mut Fields) -> Result<Mapped, Problem> {
    let tenant = tenant_of(key)?;
    let mut row = Row::new();
    row.set("id", tenant_id(tenant, "invoice", &key.id));
    row.set("legacy_id", super::legacy_id(&key.id));
    row.set("subscription_id", Value::Null);
    if let Some(subscription) = f.non_blank("subscriptionId")? {
        row.set(
            "subscription_id",
            tenant_id(tenant, "subscription", &subscription),
        );
        row.link(
            "subscription_id",
            Target::Row {
                table: "subscriptions",
                id: tenant_id(tenant, "subscription", &subscription),
            },
            &subscription,
            Missing::Clear("subscription gone: invoice imported without it"),
        );
    }
    let amount = f
        .cents("amount")?
        .ok_or_else(|| Problem::missing("amount"))?;
    let tax = f.cents("tax")?.unwrap_or(0);
    if let Some(total) = f.cents("total")? {
        if total != amount + tax {
            f.note("total differs from amount + tax: amount and tax kept");
        }
    }
    row.set("amount_cents", amount);
    row.set("tax_cents", tax);
    row.set(
        "currency",
        super::code(f, "currency", 3)?.unwrap_or_else(|| "USD".to_owned()),
    );
    let status = f
        .choice("status", &["paid", "pending", "failed", "refunded"])?
        .unwrap_or_else(|| "pending".to_owned());
    // dueDate is a date in the data model but the old panel stored a timestamp
    let due = f
        .timestamp("dueDate")?
        .ok_or_else(|| Problem::missing("dueDate"))?;
    row.set("due_date", due.date_naive());
    let mut paid_at = f.timestamp("paidAt")?;
    if status == "paid" && paid_at.is_none() {
        f.note("paidAt missing for a paid invoice: due date used");
        paid_at = Some(due);
    }
    row.set("status", status);
    row.set("paid_at", paid_at);
    row.set("period_start", f.timestamp("periodStart")?);
    row.set("period_end", f.timestamp("periodEnd")?);
    let mut items = Vec::new();
    for mut item in f.objects("lineItems")? {
        let mut out = Map::new();
        out.insert("description".to_owned(), json!(item.text("description")?));
        out.insert(
            "quantity".to_owned(),
            json!(item.integer_or("quantity", 1)?),
        );
        out.insert(
            "amount_cents".to_owned(),
            json!(item.cents("amount")?.unwrap_or(0)),
        );
        items.push(Value::Object(out));
    }
    row.set("line_items", items);
    set_created_at(&mut row, f)?;
    Ok(row.finish(Entity::Invoice, Some(tenant)))
}

/// `alert:<tenantId>:<alertId>` → usage_alerts.
pub fn usage_alert(key: &Key, f: &mut Fields) -> Result<Mapped, Problem> {
    let tenant = tenant_of(key)?;
    let mut row = Row::new();
    row.set("id", tenant_id(tenant, "alert", &key.id));
    row.set("legacy_id", super::legacy_id(&key.id));
    row.set(
        "metric",
        f.choice(
            "metric",
            &[
                "users",
                "properties",
                "rooms",
                "bookings",
                "api_calls",
                "storage",
            ],
        )?
        .ok_or_else(|| Problem::missing("metric"))?,
    );
    row.set(
        "threshold_percent",
        f.int32("threshold")?
            .ok_or_else(|| Problem::missing("threshold"))?,
    );
    let current = match f.integer("currentValue")? {
        Some(v) => Some(v),
        None => f.integer("current")?,
    };
    row.set("current_value", current.unwrap_or(0));
    row.set(
        "limit_value",
        match f.integer("limitValue")? {
            Some(v) => Some(v),
            None => f.integer("limit")?,
        },
    );
    let created = set_created_at(&mut row, f)?;
    let triggered = f.boolean_or("triggered", false)?;
    let mut triggered_at = f.timestamp("triggeredAt")?;
    if triggered && triggered_at.is_none() {
        f.note("triggeredAt missing for a triggered alert: creation time used");
        triggered_at = Some(created.ok_or_else(|| Problem::missing("triggeredAt"))?);
    }
    let notified = f.boolean_or("notified", false)?;
    let mut notified_at = f.timestamp("notifiedAt")?;
    if notified && notified_at.is_none() {
        f.note("notifiedAt missing for a notified alert: trigger time used");
        notified_at = Some(
            triggered_at
                .or(created)
                .ok_or_else(|| Problem::missing("notifiedAt"))?,
        );
    }
    row.set("triggered", triggered);
    row.set("triggered_at", triggered_at);
    row.set("resolved_at", f.timestamp("resolvedAt")?);
    row.set("notified", notified);
    row.set("notified_at", notified_at);
    Ok(row.finish(Entity::UsageAlert, Some(tenant)))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::test_support::*;
    use super::*;

    #[test]
    fn a_tenant_keeps_its_legacy_id_and_names_its_plan() {
        let m = ok(
            Entity::Tenant,
            "tenant:T-101",
            json!({"id": "T-101", "name": "Hotel Aurora 0", "subdomain": "hotel-0", "region": "eu-west-1",
                   "plan": "Pro", "status": "active", "owner": "Owner0@hotel0.example", "ownerName": "Owner 0",
                   "usagePercent": 42, "mrr": 149, "created": "2024-01-01", "createdAt": "2024-01-01T09:00:00.000Z"}),
        );
        assert_eq!(col(&m, "id"), &json!(tenant_row_id("T-101")));
        assert_eq!(col(&m, "external_id"), &json!("T-101"));
        assert_eq!(col(&m, "owner_email"), &json!("owner0@hotel0.example"));
        assert_eq!(col(&m, "created_at"), &json!("2024-01-01T09:00:00Z"));
        assert_eq!(col(&m, "settings"), &json!({}));
        assert_eq!(
            m.links[0].target,
            Target::Plan {
                name: "Pro".to_owned()
            }
        );
        assert!(m.notes.is_empty(), "{:?}", m.notes);
    }

    #[test]
    fn a_suspended_tenant_without_a_date_gets_one_from_its_last_update() {
        let m = ok(
            Entity::Tenant,
            "tenant:T-1",
            json!({"name": "X", "subdomain": "x", "status": "suspended", "updatedAt": "2025-01-02T00:00:00Z",
                   "favouriteColour": "teal"}),
        );
        assert_eq!(col(&m, "suspended_at"), &json!("2025-01-02T00:00:00Z"));
        assert_eq!(
            col(&m, "settings"),
            &json!({"legacy": {"favouriteColour": "teal"}})
        );
        assert!(has_note(&m, "suspendedAt missing"));
    }

    #[test]
    fn subscriptions_accept_both_plan_forms_and_refuse_impossible_periods() {
        for plan in ["plan:Pro", "plan_pro"] {
            let m = ok(
                Entity::Subscription,
                "subscription:T-1",
                json!({"id": "sub_1", "planId": plan, "status": "active",
                       "currentPeriodStart": "2024-10-27T09:00:00.000Z", "currentPeriodEnd": "2024-11-26T09:00:00.000Z"}),
            );
            assert_eq!(
                m.links[0].target,
                Target::Plan {
                    name: "Pro".to_owned()
                }
            );
            assert_eq!(m.links[0].missing, Missing::Quarantine);
            assert_eq!(
                col(&m, "id"),
                &json!(tenant_id("T-1", "subscription", "sub_1"))
            );
        }
        let p = problem(
            Entity::Subscription,
            "subscription:T-1",
            json!({"planId": "plan_pro", "currentPeriodStart": "2024-11-26T09:00:00Z", "currentPeriodEnd": "2024-10-27T09:00:00Z"}),
        );
        assert!(p.contains("impossible period"), "{p}");
    }

    #[test]
    fn a_paid_invoice_without_a_payment_date_is_dated_by_its_due_date() {
        let m = ok(
            Entity::Invoice,
            "invoice:T-1:inv_1",
            json!({"subscriptionId": "sub_1", "amount": 14900, "tax": 2980, "total": 17880, "status": "paid",
                   "dueDate": "2024-01-31T09:00:00.000Z",
                   "lineItems": [{"description": "Pro plan", "quantity": 1, "amount": 14900}]}),
        );
        assert_eq!(col(&m, "due_date"), &json!("2024-01-31"));
        assert_eq!(col(&m, "paid_at"), &json!("2024-01-31T09:00:00Z"));
        assert_eq!(
            col(&m, "line_items"),
            &json!([{"description": "Pro plan", "quantity": 1, "amount_cents": 14900}])
        );
        assert!(has_note(&m, "paidAt missing"));
        assert!(matches!(m.links[0].missing, Missing::Clear(_)));
    }

    #[test]
    fn an_alert_needs_a_known_metric() {
        let m = ok(
            Entity::UsageAlert,
            "alert:T-1:alert_1",
            json!({"metric": "rooms", "threshold": 80, "triggered": true, "triggeredAt": "2024-01-01T09:00:00.000Z", "notified": false}),
        );
        assert_eq!(col(&m, "threshold_percent"), &json!(80));
        let p = problem(
            Entity::UsageAlert,
            "alert:T-1:a",
            json!({"metric": "coffee", "threshold": 80}),
        );
        assert!(p.contains("field metric"), "{p}");
    }
}
