//! The screens' common queries use their indexes on tables of at least 50,000 rows, planned the
//! way `serve` runs them: as `authenticated` with a tenant's claims, under RLS.

use pms_tests::{begin_as, staff_claims, Claims, TestDb};
use serde_json::Value;
use sqlx::PgPool;

/// Every index a JSON plan reads, in plan order.
fn indexes_used(plan: &Value, found: &mut Vec<String>) {
    if let Some(name) = plan.get("Index Name").and_then(Value::as_str) {
        found.push(name.to_owned());
    }
    if let Some(children) = plan.get("Plans").and_then(Value::as_array) {
        for child in children {
            indexes_used(child, found);
        }
    }
}

/// `EXPLAIN (FORMAT JSON)` of `query` as the staff member `claims`; returns the indexes used and
/// the plan as text for failure messages.
async fn explain_as(pool: &PgPool, claims: Claims, query: &str) -> (Vec<String>, String) {
    let mut tx = begin_as(pool, claims).await;
    let plan: Value = sqlx::query_scalar(&format!("explain (format json) {query}"))
        .fetch_one(&mut *tx)
        .await
        .expect("explain");
    tx.rollback().await.expect("rollback");
    let mut found = Vec::new();
    indexes_used(&plan[0]["Plan"], &mut found);
    (
        found,
        serde_json::to_string_pretty(&plan).unwrap_or_default(),
    )
}

/// The plans of the statements run inside `app.search_guests` (a security-definer function, whose
/// inner plan a plain EXPLAIN does not show), captured with auto_explain.
async fn search_function_plans(db: &TestDb, claims: Claims, term: &str) -> Vec<String> {
    let (client, mut connection) = tokio_postgres::connect(&db.url(), tokio_postgres::NoTls)
        .await
        .expect("connect with tokio-postgres");
    let (notices_tx, mut notices) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some(message) = std::future::poll_fn(|cx| connection.poll_message(cx)).await {
            match message {
                Ok(tokio_postgres::AsyncMessage::Notice(notice)) => {
                    let _ = notices_tx.send(notice.message().to_owned());
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
    });
    // Loading auto_explain needs the superuser; everything after runs as `authenticated`.
    client
        .batch_execute(
            "load 'auto_explain';
             set auto_explain.log_min_duration = 0;
             set auto_explain.log_nested_statements = on;
             set client_min_messages = log;
             begin;
             set local role authenticated;",
        )
        .await
        .expect("set up auto_explain");
    client
        .execute(
            "select set_config('request.jwt.claims', $1, true)",
            &[&claims.json()],
        )
        .await
        .expect("claims");
    let rows = client
        .query("select full_name from app.search_guests($1)", &[&term])
        .await
        .expect("search as authenticated");
    assert!(!rows.is_empty(), "the search for {term:?} found nobody");
    client.batch_execute("rollback").await.expect("rollback");
    drop(client);
    let mut plans = Vec::new();
    while let Some(plan) = notices.recv().await {
        plans.push(plan);
    }
    plans
}

#[tokio::test]
async fn common_queries_use_their_indexes_under_rls() {
    let db = TestDb::migrated().await;
    db.seed(2, 25_000).await;
    for table in [
        "guests",
        "reservations",
        "loyalty_transactions",
        "webhook_deliveries",
    ] {
        let rows: i64 = sqlx::query_scalar(&format!("select count(*) from public.{table}"))
            .fetch_one(&db.pool)
            .await
            .expect("count");
        assert!(rows >= 50_000, "{table} has only {rows} rows");
    }
    let tenant: uuid::Uuid =
        sqlx::query_scalar("select id from public.tenants order by created_at, id limit 1")
            .fetch_one(&db.pool)
            .await
            .expect("tenant");
    let owner = staff_claims(&db.pool, tenant, "owner").await;
    let member: uuid::Uuid = sqlx::query_scalar(
        "select member_id from public.loyalty_transactions where tenant_id = $1 group by 1 order by count(*) desc limit 1",
    )
    .bind(tenant)
    .fetch_one(&db.pool)
    .await
    .expect("a member with a ledger");

    let cases = [
        (
            "arrivals for a date",
            "select id, guest_name, status from public.reservations
              where check_in_date = date '2026-11-25' and deleted_at is null".to_owned(),
            "reservations_arrivals_idx",
        ),
        (
            "a member's ledger",
            format!(
                "select * from public.loyalty_transactions where member_id = '{member}' order by created_at desc limit 50"
            ),
            "loyalty_transactions_member_idx",
        ),
        (
            "due webhook retries",
            "select id from public.webhook_deliveries
              where status = 'pending' and next_retry_at <= now() order by next_retry_at limit 100".to_owned(),
            "webhook_deliveries_due_idx",
        ),
    ];
    for (what, query, index) in cases {
        let (used, plan) = explain_as(&db.pool, owner, &query).await;
        assert!(
            used.iter().any(|u| u == index),
            "{what} does not use {index}; it uses {used:?}:\n{plan}"
        );
    }

    // Guest search: the trigram index serves the match inside the search function, both for a
    // substring ("okafo") and for a typo that only the fuzzy match finds ("johanson" for Johansson).
    for term in ["okafo", "johanson"] {
        let plans = search_function_plans(&db, owner, term).await;
        let searches: Vec<&String> = plans
            .iter()
            .filter(|p| p.contains("from public.guests g") && !p.contains("return query"))
            .collect();
        assert!(
            !searches.is_empty(),
            "no plan for the search statements among {} notices",
            plans.len()
        );
        for plan in searches {
            assert!(
                plan.contains("Bitmap Index Scan on guests_search_trgm_idx"),
                "guest search plan for {term:?}:\n{plan}"
            );
            assert!(
                !plan.contains("Seq Scan on guests"),
                "guest search scans the table:\n{plan}"
            );
        }
    }
}
