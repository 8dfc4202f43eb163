//! The periodic jobs and derived values against the real Postgres: usage alerts trigger once and
//! resolve, API calls are counted by the real server; points expire, birthday bonuses come once a
//! year and tiers follow the ledger; guest metrics follow their reservations; subscriptions are
//! invoiced at period end and fall past due.

use std::time::Duration;

use pms_server::jobs::{billing, loyalty, usage};
use pms_tests::laptops::{first_tenant, staff_emails, Laptop};
use pms_tests::{TestDb, TestServer};
use uuid::Uuid;

async fn scalar<T>(db: &TestDb, statement: &str, id: Uuid) -> T
where
    T: for<'r> sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + Send + Unpin,
{
    sqlx::query_scalar(statement)
        .bind(id)
        .fetch_one(&db.pool)
        .await
        .unwrap_or_else(|e| panic!("{statement}: {e}"))
}

async fn run(db: &TestDb, statement: &str, id: Uuid) {
    sqlx::query(statement)
        .bind(id)
        .execute(&db.pool)
        .await
        .unwrap_or_else(|e| panic!("{statement}: {e}"));
}

#[tokio::test]
async fn usage_alerts_trigger_once_resolve_and_count_api_calls() {
    let db = TestDb::migrated().await;
    db.seed(1, 10).await;
    let tenant = first_tenant(&db).await;
    for statement in [
        "delete from public.usage_alerts where tenant_id = $1",
        "delete from public.webhook_deliveries where tenant_id = $1",
        "delete from public.webhooks where tenant_id = $1",
        "insert into public.webhooks (tenant_id, url, events, secret) values ($1, 'http://127.0.0.1:9/usage', '{usage.alert}', 's')",
        // rooms at more than 80 % but under 100 % of the plan's limit; nothing else limited
        "update public.plans set limit_users = null, limit_properties = null, limit_bookings_per_month = null,
                limit_api_calls_per_month = null, limit_storage_gb = null,
                limit_rooms = (select count(*) from public.rooms where tenant_id = $1 and deleted_at is null) + 1
          where id = (select plan_id from public.tenants where id = $1)",
    ] {
        run(&db, statement, tenant).await;
    }
    let rooms_alerts = "select count(*) from public.webhook_deliveries
                         where tenant_id = $1 and event = 'usage.alert' and payload -> 'data' ->> 'metric' = 'rooms'";

    let first = usage::check_all(&db.pool).await.expect("usage");
    assert_eq!((first.triggered, first.resolved), (1, 0), "{first:?}");
    let (at_80, at_100): (bool, bool) = sqlx::query_as(
        "select bool_or(triggered) filter (where threshold_percent = 80),
                bool_or(triggered) filter (where threshold_percent = 100)
           from public.usage_alerts where tenant_id = $1 and metric = 'rooms'",
    )
    .bind(tenant)
    .fetch_one(&db.pool)
    .await
    .expect("alerts");
    assert!(at_80 && !at_100);
    assert_eq!(
        scalar::<i64>(&db, rooms_alerts, tenant).await,
        1,
        "notified"
    );

    let again = usage::check_all(&db.pool).await.expect("usage");
    assert_eq!((again.triggered, again.resolved), (0, 0));
    assert_eq!(
        scalar::<i64>(&db, rooms_alerts, tenant).await,
        1,
        "notified once"
    );

    // Usage falls back below 80 %: resolved. It rises again: raised and notified again.
    run(
        &db,
        "update public.rooms set deleted_at = now() where tenant_id = $1 and id in
               (select id from public.rooms where tenant_id = $1 order by number limit 3)",
        tenant,
    )
    .await;
    let fallen = usage::check_all(&db.pool).await.expect("usage");
    assert_eq!((fallen.triggered, fallen.resolved), (0, 1));
    let resolved: bool = scalar(
        &db,
        "select not triggered and resolved_at is not null from public.usage_alerts
          where tenant_id = $1 and metric = 'rooms' and threshold_percent = 80",
        tenant,
    )
    .await;
    assert!(resolved);
    run(
        &db,
        "update public.rooms set deleted_at = null where tenant_id = $1",
        tenant,
    )
    .await;
    let risen = usage::check_all(&db.pool).await.expect("usage");
    assert_eq!(risen.triggered, 1);
    assert_eq!(scalar::<i64>(&db, rooms_alerts, tenant).await, 2);

    // The server counts the API calls of each tenant (flushed every few seconds).
    let server = TestServer::start(&db).await;
    let desk = staff_emails(&db, "front_desk").await.remove(0);
    let mut laptop = Laptop::sign_in(&db, &server, &desk, "desk").await;
    laptop.sync().await;
    let mut counted = 0i64;
    for _ in 0..80 {
        counted = scalar(
            &db,
            "select coalesce(sum(calls), 0)::bigint from app.api_calls where tenant_id = $1",
            tenant,
        )
        .await;
        if counted > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        counted >= 3,
        "head, snapshot pages and pulls were counted: {counted}"
    );
}

#[tokio::test]
async fn points_expire_birthdays_pay_once_a_year_and_tiers_follow_the_ledger() {
    let db = TestDb::migrated().await;
    db.seed(1, 10).await;
    let tenant = first_tenant(&db).await;
    let program: Uuid = scalar(
        &db,
        "update public.loyalty_programs set points_expiry_days = 30, birthday_bonus_points = 100, enabled = true,
                tiers = '[{\"name\": \"Silver\", \"required_points\": 1000}, {\"name\": \"Gold\", \"required_points\": 5000}]'
          where id = (select id from public.loyalty_programs where tenant_id = $1 order by id limit 1)
          returning id",
        tenant,
    )
    .await;
    let guest: Uuid = scalar(
        &db,
        "insert into public.guests (tenant_id, first_name, last_name, date_of_birth)
         values ($1, 'Bea', 'Birthday', make_date(1990, extract(month from current_date)::int, extract(day from current_date)::int))
         returning id",
        tenant,
    )
    .await;
    let member: Uuid = sqlx::query_scalar(
        "insert into public.loyalty_members (tenant_id, program_id, guest_id) values ($1, $2, $3) returning id",
    )
    .bind(tenant)
    .bind(program)
    .bind(guest)
    .fetch_one(&db.pool)
    .await
    .expect("member");
    for (points, age_days) in [(600, 40), (500, 0)] {
        sqlx::query(
            "insert into public.loyalty_transactions (tenant_id, member_id, program_id, guest_id, type, points, created_at, expires_at)
             values ($1, $2, $3, $4, 'earn', $5, now() - make_interval(days => $6), now() - make_interval(days => $6 - 30))",
        )
        .bind(tenant)
        .bind(member)
        .bind(program)
        .bind(guest)
        .bind(points)
        .bind(age_days)
        .execute(&db.pool)
        .await
        .expect("earn");
    }
    let (tier, next, to_next, achieved): (Option<String>, Option<String>, Option<i64>, bool) =
        sqlx::query_as(
            "select current_tier, next_tier, points_to_next_tier, tier_achieved_at is not null
               from public.loyalty_members where id = $1",
        )
        .bind(member)
        .fetch_one(&db.pool)
        .await
        .expect("member");
    assert_eq!(
        (tier.as_deref(), next.as_deref(), to_next, achieved),
        (Some("Silver"), Some("Gold"), Some(3_900), true),
        "1,100 lifetime points"
    );

    let pass = loyalty::run(&db.pool, chrono::Utc::now())
        .await
        .expect("loyalty");
    assert!(
        pass.expired_entries >= 1 && pass.birthday_bonuses >= 1,
        "{pass:?}"
    );
    let again = loyalty::run(&db.pool, chrono::Utc::now())
        .await
        .expect("loyalty");
    assert_eq!(again, loyalty::LoyaltyPass::default(), "nothing twice");

    let entries: Vec<(String, i64)> = sqlx::query_as(
        "select type, points from public.loyalty_transactions where member_id = $1 order by created_at, type",
    )
    .bind(member)
    .fetch_all(&db.pool)
    .await
    .expect("ledger");
    let kinds: Vec<(&str, i64)> = entries.iter().map(|(k, p)| (k.as_str(), *p)).collect();
    assert!(kinds.contains(&("expire", -600)), "{kinds:?}");
    assert!(kinds.contains(&("bonus", 100)), "{kinds:?}");
    assert!(
        !kinds.contains(&("expire", -500)),
        "the recent points stay: {kinds:?}"
    );
    let (balance, ledger, to_next): (i64, i64, Option<i64>) = sqlx::query_as(
        "select m.points_balance, (select sum(points) from public.loyalty_transactions where member_id = m.id)::bigint,
                m.points_to_next_tier
           from public.loyalty_members m where m.id = $1",
    )
    .bind(member)
    .fetch_one(&db.pool)
    .await
    .expect("balance");
    assert_eq!((balance, ledger), (600, 600));
    assert_eq!(
        to_next,
        Some(3_800),
        "lifetime points count earnings, not expiries"
    );
}

/// A member's derived state: balance, lifetime points, tier, when it was reached, the next.
type MemberState = (
    i64,
    i64,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<i64>,
);

async fn member_state(db: &TestDb, member: Uuid) -> MemberState {
    sqlx::query_as(
        "select points_balance, lifetime_points, current_tier, tier_achieved_at::text, next_tier, points_to_next_tier
           from public.loyalty_members where id = $1",
    )
    .bind(member)
    .fetch_one(&db.pool)
    .await
    .expect("member")
}

#[tokio::test]
async fn a_statement_of_supplied_balances_moves_members_as_entry_after_entry_and_refuses_a_gap() {
    let db = TestDb::migrated().await;
    db.seed(1, 10).await;
    let tenant = first_tenant(&db).await;
    let program: Uuid = scalar(
        &db,
        "update public.loyalty_programs set tiers = '[{\"name\": \"Silver\", \"required_points\": 1000}, {\"name\": \"Gold\", \"required_points\": 5000}]'
          where id = (select id from public.loyalty_programs where tenant_id = $1 order by id limit 1)
          returning id",
        tenant,
    )
    .await;
    let mut members = Vec::new();
    for name in ["One-by-one", "Bulk", "Beside"] {
        let member: Uuid = sqlx::query_scalar(
            "with g as (insert into public.guests (tenant_id, first_name, last_name) values ($1, 'Lena', $3) returning id)
             insert into public.loyalty_members (tenant_id, program_id, guest_id) select $1, $2, g.id from g returning id",
        )
        .bind(tenant)
        .bind(program)
        .bind(name)
        .fetch_one(&db.pool)
        .await
        .expect("member");
        members.push(member);
    }
    let (one_by_one, bulk, beside) = (members[0], members[1], members[2]);
    // (points, days ago): Silver on the second earning, Gold on the fourth, redemptions between
    let entries = [(600, 50), (500, 40), (-300, 30), (4_000, 20), (-100, 10)];
    let kind = |points: i64| if points > 0 { "earn" } else { "redeem" };
    let insert_one = "insert into public.loyalty_transactions (tenant_id, member_id, program_id, guest_id, type, points, created_at)
                      select tenant_id, id, program_id, guest_id, $2, $3, timestamptz '2026-11-01' - make_interval(days => $4)
                        from public.loyalty_members where id = $1";
    for (points, days) in entries {
        sqlx::query(insert_one)
            .bind(one_by_one)
            .bind(kind(points))
            .bind(points)
            .bind(days)
            .execute(&db.pool)
            .await
            .expect("entry");
    }

    // One statement, the bulk member's entries interleaved with another member's, each entry
    // carrying its balance.
    let supplied = "insert into public.loyalty_transactions
                           (tenant_id, member_id, program_id, guest_id, type, points, balance_before, balance_after, created_at)
                    select m.tenant_id, m.id, m.program_id, m.guest_id, e.kind, e.points, e.before, e.before + e.points,
                           timestamptz '2026-11-01' - make_interval(days => e.days)
                      from unnest($1::uuid[], $2::text[], $3::bigint[], $4::bigint[], $5::int[]) with ordinality
                           as e (member, kind, points, before, days, n)
                      join public.loyalty_members m on m.id = e.member
                     order by e.n";
    let mut statement = (vec![], vec![], vec![], vec![], vec![]);
    let mut balance = 0;
    for (i, (points, days)) in entries.iter().enumerate() {
        for (member, points, before) in [(bulk, *points, balance), (beside, 100, 100 * i as i64)] {
            statement.0.push(member);
            statement.1.push(kind(points).to_owned());
            statement.2.push(points);
            statement.3.push(before);
            statement.4.push(*days);
        }
        balance += points;
    }
    let mut tx = db.pool.begin().await.expect("begin");
    sqlx::query("select set_config('pms.ledger_balances_supplied', 'on', true)")
        .execute(&mut *tx)
        .await
        .expect("mode");
    sqlx::query(supplied)
        .bind(&statement.0)
        .bind(&statement.1)
        .bind(&statement.2)
        .bind(&statement.3)
        .bind(&statement.4)
        .execute(&mut *tx)
        .await
        .expect("a statement whose balances continue");
    tx.commit().await.expect("commit");

    let expected = member_state(&db, one_by_one).await;
    assert_eq!(
        (
            expected.0,
            expected.1,
            expected.2.as_deref(),
            expected.4.as_deref(),
            expected.5
        ),
        (4_700, 5_100, Some("Gold"), None, None),
        "entry after entry"
    );
    assert_eq!(
        member_state(&db, bulk).await,
        expected,
        "one statement, same member"
    );
    let other = member_state(&db, beside).await;
    assert_eq!(
        (
            other.0,
            other.1,
            other.2.as_deref(),
            other.4.as_deref(),
            other.5
        ),
        (500, 500, None, Some("Silver"), Some(500))
    );

    // An entry whose balance does not continue its member's is refused, and nothing moves.
    let mut tx = db.pool.begin().await.expect("begin");
    sqlx::query("select set_config('pms.ledger_balances_supplied', 'on', true)")
        .execute(&mut *tx)
        .await
        .expect("mode");
    let error = sqlx::query(supplied)
        .bind(vec![bulk])
        .bind(vec!["earn"])
        .bind(vec![100_i64])
        .bind(vec![9_000_i64])
        .bind(vec![1])
        .execute(&mut *tx)
        .await
        .expect_err("a balance made up");
    let code = error
        .as_database_error()
        .and_then(|e| e.code())
        .map(|c| c.into_owned());
    assert_eq!(code.as_deref(), Some("23514"), "{error}");
    assert!(
        error.to_string().contains("where its member has 4700"),
        "{error}"
    );
    drop(tx);
    assert_eq!(member_state(&db, bulk).await, expected);
    let entries: i64 = scalar(
        &db,
        "select count(*) from public.loyalty_transactions where member_id = $1",
        bulk,
    )
    .await;
    assert_eq!(entries, 5);
}

#[tokio::test]
async fn guest_metrics_follow_their_reservations() {
    let db = TestDb::migrated().await;
    db.seed(1, 10).await;
    let tenant = first_tenant(&db).await;
    let guest: Uuid = scalar(
        &db,
        "insert into public.guests (tenant_id, first_name, last_name) values ($1, 'Mia', 'Metrics') returning id",
        tenant,
    )
    .await;
    let stay = |check_in: &str, status: &str, total: i64| {
        format!(
            "insert into public.reservations (tenant_id, guest_id, guest_name, property_id, room_type_id, check_in_date,
                                              check_out_date, status, total_amount_cents, checked_in_at, checked_out_at)
             select g.tenant_id, g.id, 'Mia Metrics', rt.property_id, rt.id, date '{check_in}', date '{check_in}' + 2, '{status}', {total},
                    case when '{status}' in ('checked_in', 'checked_out') then timestamptz '{check_in} 15:00Z' end,
                    case when '{status}' = 'checked_out' then timestamptz '{check_in} 11:00Z' + interval '2 days' end
               from public.guests g, lateral (select * from public.room_types where tenant_id = g.tenant_id limit 1) rt
              where g.id = $1 returning id"
        )
    };
    let _past: Uuid = scalar(&db, &stay("2026-03-01", "checked_out", 30_000), guest).await;
    let future: Uuid = scalar(&db, &stay("2027-03-01", "confirmed", 45_000), guest).await;
    let metrics = "select (total_bookings::bigint, total_spent_cents, lifetime_value_cents,
                           last_stay_at = timestamptz '2026-03-03 11:00Z')::text from public.guests where id = $1";
    assert_eq!(
        scalar::<String>(&db, metrics, guest).await,
        "(2,30000,30000,t)"
    );
    run(
        &db,
        "update public.reservations set status = 'cancelled', cancelled_at = now() where id = $1",
        future,
    )
    .await;
    assert_eq!(
        scalar::<String>(&db, metrics, guest).await,
        "(1,30000,30000,t)",
        "a cancelled stay is no booking"
    );
}

#[tokio::test]
async fn subscriptions_are_invoiced_at_period_end_and_fall_past_due() {
    let db = TestDb::migrated().await;
    db.seed(1, 10).await;
    let tenant = first_tenant(&db).await;
    run(&db, "update public.invoices set status = 'paid', paid_at = coalesce(paid_at, now()) where tenant_id = $1", tenant).await;
    let subscription: Uuid = scalar(
        &db,
        "update public.subscriptions set status = 'active', cancel_at_period_end = false,
                current_period_start = now() - interval '31 days', current_period_end = now() - interval '1 day'
          where id = (select id from public.subscriptions where tenant_id = $1
                       and status in ('active', 'past_due', 'trialing') limit 1)
          returning id",
        tenant,
    )
    .await;
    let invoices = "select count(*) from public.invoices where subscription_id = $1";
    let before: i64 = scalar(&db, invoices, subscription).await;

    let pass = billing::run(&db.pool, chrono::Utc::now())
        .await
        .expect("billing");
    assert_eq!((pass.invoiced, pass.past_due), (1, 0), "{pass:?}");
    assert_eq!(scalar::<i64>(&db, invoices, subscription).await, before + 1);
    let (amount, price, due_in_days): (i64, i64, i32) = sqlx::query_as(
        "select i.amount_cents, p.price_cents, i.due_date - (i.period_end)::date
           from public.invoices i join public.subscriptions s on s.id = i.subscription_id
           join public.plans p on p.id = s.plan_id
          where i.subscription_id = $1 order by i.created_at desc limit 1",
    )
    .bind(subscription)
    .fetch_one(&db.pool)
    .await
    .expect("invoice");
    assert_eq!((amount, due_in_days), (price, billing::PAYMENT_TERMS_DAYS));
    let renewed: bool = scalar(
        &db,
        "select current_period_end > now() from public.subscriptions where id = $1",
        subscription,
    )
    .await;
    assert!(renewed, "the next period began");
    assert_eq!(
        billing::run(&db.pool, chrono::Utc::now())
            .await
            .expect("billing")
            .invoiced,
        0,
        "invoiced once"
    );

    // Unpaid past its due date: past due; paid: active again.
    run(&db, "update public.invoices set due_date = current_date - 1 where subscription_id = $1 and status = 'pending'", subscription).await;
    assert_eq!(
        billing::run(&db.pool, chrono::Utc::now())
            .await
            .expect("billing")
            .past_due,
        1
    );
    let status = "select status from public.subscriptions where id = $1";
    assert_eq!(
        scalar::<String>(&db, status, subscription).await,
        "past_due"
    );
    run(
        &db,
        "update public.invoices set status = 'paid', paid_at = now() where subscription_id = $1",
        subscription,
    )
    .await;
    assert_eq!(
        billing::run(&db.pool, chrono::Utc::now())
            .await
            .expect("billing")
            .recovered,
        1
    );
    assert_eq!(scalar::<String>(&db, status, subscription).await, "active");
}
