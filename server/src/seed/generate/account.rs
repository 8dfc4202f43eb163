//! The tenant's account with the platform: subscription, invoices, usage alerts, webhooks and overrides.

use super::*;

pub(super) fn billing(g: &mut Gen, plan: &Plan, tenant_created: DateTime<Utc>) -> Vec<CopyTable> {
    let mut subscriptions = CopyTable::new(
        "subscriptions",
        &[
            "tenant_id",
            "id",
            "plan_id",
            "status",
            "current_period_start",
            "current_period_end",
            "cancel_at_period_end",
            "payment_method",
            "last_payment_status",
            "created_at",
            "updated_at",
        ],
    );
    let mut invoices = CopyTable::new(
        "invoices",
        &[
            "tenant_id",
            "id",
            "subscription_id",
            "amount_cents",
            "tax_cents",
            "currency",
            "status",
            "period_start",
            "period_end",
            "due_date",
            "paid_at",
            "line_items",
            "created_at",
            "updated_at",
        ],
    );
    let subscription_id = g.id_at(tenant_created);
    let month_start =
        |date: NaiveDate| NaiveDate::from_ymd_opt(date.year(), date.month(), 1).unwrap_or(date);
    let period_start = month_start(g.today);
    let period_end = month_start(period_start + Days::new(32));
    subscriptions
        .row()
        .uuid(g.tenant_id)
        .uuid(subscription_id)
        .uuid(plan.id)
        .text("active")
        .timestamp(g.at(period_start, 0, 0))
        .timestamp(g.at(period_end, 0, 0))
        .bool(false)
        .text("card")
        .text("paid")
        .timestamp(tenant_created)
        .timestamp(tenant_created)
        .end();
    // twelve monthly invoices: the past ones paid, the current one due
    let mut start = period_start;
    let mut periods = Vec::new();
    for _ in 0..12 {
        periods.push(start);
        start = month_start(start - Days::new(1));
    }
    periods.reverse();
    for start in periods {
        let end = month_start(start + Days::new(32));
        let current = start == period_start;
        let issued = g.at(start, 6, 0);
        let due = start + Days::new(14);
        let paid_after = g.between(1, 10) as u64;
        let paid_at = (!current).then(|| g.at(start + Days::new(paid_after), 9, 0));
        let tax = plan.price_cents / 5;
        invoices
            .row()
            .uuid(g.tenant_id)
            .uuid(g.id_at(issued))
            .uuid(subscription_id)
            .int(plan.price_cents)
            .int(tax)
            .text("EUR")
            .text(if current { "pending" } else { "paid" })
            .timestamp(issued)
            .timestamp(g.at(end, 0, 0))
            .date(due)
            .opt_timestamp(paid_at)
            .json(&json!([{"description": format!("{} plan", plan.name), "quantity": 1, "amount_cents": plan.price_cents}]))
            .timestamp(issued)
            .timestamp(paid_at.unwrap_or(issued))
            .end();
    }
    vec![subscriptions, invoices]
}

pub(super) fn usage_alerts(g: &mut Gen, plan: &Plan, room_count: usize) -> CopyTable {
    let mut table = CopyTable::new(
        "usage_alerts",
        &[
            "tenant_id",
            "id",
            "metric",
            "threshold_percent",
            "current_value",
            "limit_value",
            "triggered",
            "triggered_at",
            "notified",
            "notified_at",
            "created_at",
            "updated_at",
        ],
    );
    let created = g.now - Duration::days(30);
    for (metric, threshold, current, limit) in [
        (
            "rooms",
            80,
            room_count as i64,
            plan.limit_rooms.map(i64::from),
        ),
        (
            "bookings",
            90,
            g.between(100, 900),
            plan.limit_bookings_per_month.map(i64::from),
        ),
    ] {
        let triggered = limit.is_some_and(|limit| limit > 0 && current * 100 >= limit * threshold);
        let at = triggered.then(|| g.now - Duration::days(g.between(1, 20)));
        table
            .row()
            .uuid(g.tenant_id)
            .uuid(g.id_at(created))
            .text(metric)
            .int(threshold)
            .int(current)
            .opt_int(limit)
            .bool(triggered)
            .opt_timestamp(at)
            .bool(triggered)
            .opt_timestamp(at)
            .timestamp(created)
            .timestamp(at.unwrap_or(created))
            .end();
    }
    table
}

pub(super) fn webhooks(
    g: &mut Gen,
    subdomain: &str,
    stays: &[Stay],
    created: DateTime<Utc>,
) -> Vec<CopyTable> {
    let mut hooks = CopyTable::new(
        "webhooks",
        &[
            "tenant_id",
            "id",
            "url",
            "description",
            "events",
            "secret",
            "enabled",
            "status",
            "failure_count",
            "created_at",
            "updated_at",
        ],
    );
    let booking_hook = g.id_at(created);
    let billing_hook = g.id_at(created);
    for (id, path, events) in [
        (
            booking_hook,
            "bookings",
            &[
                "reservation.created",
                "reservation.changed",
                "reservation.cancelled",
            ][..],
        ),
        (
            billing_hook,
            "billing",
            &["invoice.paid", "usage.alert"][..],
        ),
    ] {
        let mut secret = [0u8; 16];
        g.rng.fill(&mut secret);
        let secret: String = secret.iter().map(|b| format!("{b:02x}")).collect();
        hooks
            .row()
            .uuid(g.tenant_id)
            .uuid(id)
            .text(&format!("https://hooks.{subdomain}.example/{path}"))
            .text(&format!("{path} events"))
            .text_array(events)
            .text(&format!("whsec_{secret}"))
            .bool(true)
            .text("active")
            .int(0)
            .timestamp(created)
            .timestamp(created)
            .end();
    }
    let mut deliveries = CopyTable::new(
        "webhook_deliveries",
        &[
            "tenant_id",
            "id",
            "webhook_id",
            "event",
            "payload",
            "status",
            "attempt_count",
            "next_retry_at",
            "response_status",
            "response_body",
            "error",
            "delivered_at",
            "created_at",
            "updated_at",
        ],
    );
    for stay in stays {
        let at = stay.created_at + Duration::seconds(1);
        let outcome = g.between(0, 99);
        let (status, attempts, next_retry, response, error, delivered) = match outcome {
            0..=96 => (
                "success",
                1,
                None,
                200,
                None,
                Some(at + Duration::milliseconds(300)),
            ),
            97..=98 => {
                // waiting for a retry: some due now, some later
                let retry = g.now + Duration::minutes(g.between(-120, 240));
                (
                    "pending",
                    g.between(1, 4),
                    Some(retry),
                    503,
                    Some("Service Unavailable"),
                    None,
                )
            }
            _ => (
                "failed",
                8,
                None,
                500,
                Some("gave up after 8 attempts"),
                None,
            ),
        };
        deliveries
            .row()
            .uuid(g.tenant_id)
            .uuid(g.id_at(at))
            .uuid(booking_hook)
            .text("reservation.created")
            .json(&json!({"reservation_id": stay.id, "check_in": stay.check_in, "check_out": stay.check_out}))
            .text(status)
            .int(attempts)
            .opt_timestamp(next_retry)
            .int(response)
            .opt_text((response != 200).then_some("upstream error"))
            .opt_text(error)
            .opt_timestamp(delivered)
            .timestamp(at)
            .timestamp(delivered.unwrap_or(at))
            .end();
    }
    vec![hooks, deliveries]
}

/// The tenant's own overrides of platform rows: a negotiated plan, a flag, a retention period.
pub(super) fn tenant_overrides(g: &mut Gen) -> Vec<CopyTable> {
    let mut plans = CopyTable::new(
        "plans",
        &[
            "id",
            "tenant_id",
            "name",
            "display_name",
            "description",
            "price_cents",
            "billing_interval",
            "limit_users",
            "limit_properties",
            "limit_rooms",
            "features",
            "created_at",
            "updated_at",
        ],
    );
    let negotiated = g.now - Duration::days(400);
    plans
        .row()
        .uuid(g.id_at(negotiated))
        .uuid(g.tenant_id)
        .text("Enterprise")
        .text("Enterprise (group rate)")
        .text("Negotiated yearly rate for the group")
        .int(399_000)
        .text("yearly")
        .int(100)
        .int(20)
        .int(2_000)
        .text_array(&["reservations", "crm", "loyalty", "campaigns", "webhooks"])
        .timestamp(negotiated)
        .timestamp(negotiated)
        .end();
    let mut flags = CopyTable::new(
        "feature_flags",
        &[
            "id",
            "tenant_id",
            "key",
            "name",
            "description",
            "scope",
            "status",
            "rollout_percentage",
            "created_at",
            "updated_at",
        ],
    );
    let created = g.now - Duration::days(60);
    flags
        .row()
        .uuid(g.id_at(created))
        .uuid(g.tenant_id)
        .text("offline_mode")
        .text("Offline mode")
        .text("Enabled early for this group")
        .text("tenant")
        .text("enabled")
        .int(100)
        .timestamp(created)
        .timestamp(created)
        .end();
    let mut retention = CopyTable::new(
        "data_retention_policies",
        &[
            "id",
            "tenant_id",
            "policy_type",
            "retention_days",
            "action",
            "enabled",
            "schedule",
            "created_at",
            "updated_at",
        ],
    );
    retention
        .row()
        .uuid(g.id_at(created))
        .uuid(g.tenant_id)
        .text("communication_logs")
        .int(365)
        .text("delete")
        .bool(true)
        .text("weekly")
        .timestamp(created)
        .timestamp(created)
        .end();
    vec![plans, flags, retention]
}
