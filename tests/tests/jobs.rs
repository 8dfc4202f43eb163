//! The server's jobs against the real Postgres and a real local HTTP receiver: webhook events are
//! delivered signed, retried with backoff, once even with two workers racing, and an endpoint that
//! keeps failing is given up on without losing its deliveries; a 30-day retention policy deletes
//! and anonymizes exactly the old rows and a synced laptop follows; feature flags reach the app.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use pms_server::jobs::mail::Mailer;
use pms_server::jobs::webhooks::{deliver_due, sign, WebhookPolicy};
use pms_server::jobs::{campaigns, retention, WorkerConfig};
use pms_sync_client::outbox;
use pms_sync_protocol::wire::PushOp;
use pms_tests::laptops::{first_tenant, mirror_matches_server, object, staff_emails, Laptop};
use pms_tests::{TestDb, TestServer};
use serde_json::{json, Value};
use uuid::Uuid;

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Received {
    at: Instant,
    headers: HeaderMap,
    body: Vec<u8>,
}

/// A local webhook endpoint that answers 500 to its first `failures` requests, then 200.
struct Receiver {
    url: String,
    received: Arc<Mutex<Vec<Received>>>,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

impl Receiver {
    async fn start(failures: usize, delay: Duration) -> Self {
        let received: Arc<Mutex<Vec<Received>>> = Arc::default();
        let log = received.clone();
        let app = Router::new().route(
            "/hook",
            post(move |headers: HeaderMap, body: axum::body::Bytes| {
                let log = log.clone();
                async move {
                    tokio::time::sleep(delay).await;
                    let mut log = log.lock().expect("log");
                    log.push(Received {
                        at: Instant::now(),
                        headers,
                        body: body.to_vec(),
                    });
                    if log.len() <= failures {
                        (StatusCode::INTERNAL_SERVER_ERROR, "down for maintenance")
                    } else {
                        (StatusCode::OK, "thanks")
                    }
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let address: SocketAddr = listener.local_addr().expect("address");
        let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
        });
        Self {
            url: format!("http://{address}/hook"),
            received,
            _shutdown: shutdown,
        }
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().expect("log").clone()
    }
}

const SECRET: &str = "whsec_test_0123456789abcdef";

/// A seeded tenant with no webhooks but one endpoint at `url` for `events`.
async fn tenant_with_endpoint(db: &TestDb, url: &str, events: &[&str]) -> (Uuid, Uuid) {
    db.seed(1, 10).await;
    sqlx::query("delete from public.webhook_deliveries")
        .execute(&db.pool)
        .await
        .expect("clear deliveries");
    sqlx::query("delete from public.webhooks")
        .execute(&db.pool)
        .await
        .expect("clear webhooks");
    let tenant = first_tenant(db).await;
    let webhook: Uuid = sqlx::query_scalar(
        "insert into public.webhooks (tenant_id, url, events, secret) values ($1, $2, $3, $4) returning id",
    )
    .bind(tenant)
    .bind(url)
    .bind(events.iter().map(|e| e.to_string()).collect::<Vec<_>>())
    .bind(SECRET)
    .fetch_one(&db.pool)
    .await
    .expect("webhook");
    (tenant, webhook)
}

async fn add_guest(db: &TestDb, tenant: Uuid, name: &str) -> Uuid {
    sqlx::query_scalar(
        "insert into public.guests (tenant_id, first_name, last_name) values ($1, $2, 'Hooked') returning id",
    )
    .bind(tenant)
    .bind(name)
    .fetch_one(&db.pool)
    .await
    .expect("guest")
}

fn fast_policy() -> WebhookPolicy {
    WebhookPolicy {
        timeout: Duration::from_secs(5),
        max_attempts: 5,
        base_backoff: Duration::from_millis(300),
        max_backoff: Duration::from_secs(3),
        disable_after: 50,
        lease: Duration::from_secs(30),
    }
}

/// Runs delivery passes until nothing is pending (or `limit` passes).
async fn deliver_until_settled(db: &TestDb, policy: &WebhookPolicy, limit: usize) {
    let http = reqwest::Client::new();
    for _ in 0..limit {
        deliver_due(&db.pool, &http, policy, 50)
            .await
            .expect("deliver");
        let pending: i64 = sqlx::query_scalar(
            "select count(*) from public.webhook_deliveries where status = 'pending'",
        )
        .fetch_one(&db.pool)
        .await
        .expect("count");
        if pending == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("deliveries still pending after {limit} passes");
}

#[tokio::test]
async fn an_event_is_delivered_signed_after_retries_with_backoff() {
    let db = TestDb::migrated().await;
    let receiver = Receiver::start(2, Duration::ZERO).await;
    let (tenant, webhook) = tenant_with_endpoint(&db, &receiver.url, &["guest.created"]).await;
    let guest = add_guest(&db, tenant, "Wanda").await;
    let policy = fast_policy();
    deliver_until_settled(&db, &policy, 400).await;

    let received = receiver.received();
    assert_eq!(received.len(), 3, "two failures, then the success");
    for request in &received {
        let header = |name: &str| {
            request.headers[name]
                .to_str()
                .expect("ascii header")
                .to_owned()
        };
        let timestamp: i64 = header("x-pms-timestamp").parse().expect("timestamp");
        assert_eq!(
            header("x-pms-signature"),
            sign(SECRET, timestamp, &request.body),
            "the signature covers the timestamp and the body"
        );
        assert!((chrono::Utc::now().timestamp() - timestamp).abs() < 60);
        assert_eq!(header("x-pms-event"), "guest.created");
        let body: Value = serde_json::from_slice(&request.body).expect("json");
        assert_eq!(body["event"], json!("guest.created"));
        assert_eq!(body["data"]["id"], json!(guest));
        assert_eq!(body["data"]["full_name"], json!("Wanda Hooked"));
    }
    // Backoff: 300 ms then 600 ms, each with at most 20 % jitter either way.
    let gaps: Vec<Duration> = received.windows(2).map(|w| w[1].at - w[0].at).collect();
    assert!(
        gaps[0] >= Duration::from_millis(240),
        "first retry after {:?}",
        gaps[0]
    );
    assert!(
        gaps[1] >= Duration::from_millis(480),
        "second retry after {:?}",
        gaps[1]
    );
    assert!(gaps[1] > gaps[0], "the backoff grows: {gaps:?}");

    let (status, attempts, code, body, delivered): (
        String,
        i32,
        Option<i32>,
        Option<String>,
        bool,
    ) = sqlx::query_as(
        "select status, attempt_count, response_status, response_body, delivered_at is not null
               from public.webhook_deliveries where webhook_id = $1",
    )
    .bind(webhook)
    .fetch_one(&db.pool)
    .await
    .expect("delivery");
    assert_eq!(
        (status.as_str(), attempts, code, body.as_deref(), delivered),
        ("success", 3, Some(200), Some("thanks"), true)
    );
    let (failures, state): (i32, String) =
        sqlx::query_as("select failure_count, status from public.webhooks where id = $1")
            .bind(webhook)
            .fetch_one(&db.pool)
            .await
            .expect("webhook");
    assert_eq!(
        (failures, state.as_str()),
        (0, "active"),
        "a success resets the endpoint"
    );
}

#[tokio::test]
async fn two_workers_racing_never_deliver_twice() {
    let db = TestDb::migrated().await;
    let receiver = Receiver::start(0, Duration::from_millis(15)).await;
    let (tenant, _) = tenant_with_endpoint(&db, &receiver.url, &["guest.created"]).await;
    for n in 0..40 {
        add_guest(&db, tenant, &format!("Racer{n}")).await;
    }
    let policy = fast_policy();
    let workers: Vec<_> = (0..2)
        .map(|_| {
            let (pool, policy) = (db.pool.clone(), policy.clone());
            tokio::spawn(async move {
                let http = reqwest::Client::new();
                for _ in 0..200 {
                    let pass = deliver_due(&pool, &http, &policy, 4)
                        .await
                        .expect("deliver");
                    if pass.delivered + pass.retrying + pass.failed == 0 {
                        break;
                    }
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await.expect("worker");
    }
    let mut per_delivery: BTreeMap<String, usize> = BTreeMap::new();
    for request in receiver.received() {
        let id = request.headers["x-pms-delivery"]
            .to_str()
            .expect("id")
            .to_owned();
        *per_delivery.entry(id).or_default() += 1;
    }
    assert_eq!(per_delivery.len(), 40, "every event delivered");
    assert!(
        per_delivery.values().all(|n| *n == 1),
        "a delivery was sent twice: {per_delivery:?}"
    );
}

#[tokio::test]
async fn an_endpoint_that_keeps_failing_is_given_up_without_losing_its_deliveries() {
    let db = TestDb::migrated().await;
    let receiver = Receiver::start(usize::MAX, Duration::ZERO).await;
    let (tenant, webhook) = tenant_with_endpoint(&db, &receiver.url, &["guest.created"]).await;
    // A second endpoint nobody listens on: refused connections are failures too.
    let unreachable: Uuid = sqlx::query_scalar(
        "insert into public.webhooks (tenant_id, url, events, secret) values ($1, 'http://127.0.0.1:9/hook', '{guest.created}', 's') returning id",
    )
    .bind(tenant)
    .fetch_one(&db.pool)
    .await
    .expect("webhook");
    for name in ["Ann", "Ben", "Cid"] {
        add_guest(&db, tenant, name).await;
    }
    let policy = WebhookPolicy {
        max_attempts: 2,
        base_backoff: Duration::from_millis(20),
        disable_after: 5,
        ..fast_policy()
    };
    deliver_until_settled(&db, &policy, 400).await;

    let deliveries: Vec<(Uuid, String, i32, Option<String>)> = sqlx::query_as(
        "select webhook_id, status, attempt_count, error from public.webhook_deliveries order by webhook_id, created_at",
    )
    .fetch_all(&db.pool)
    .await
    .expect("deliveries");
    assert_eq!(deliveries.len(), 6, "every event kept: {deliveries:?}");
    assert!(deliveries.iter().all(|(_, status, ..)| status == "failed"));
    for (endpoint, _, attempts, error) in &deliveries {
        let error = error.as_deref().unwrap_or_default();
        if *endpoint == webhook {
            assert!(
                error.contains("HTTP 500") || error.contains("endpoint disabled"),
                "{error}"
            );
        } else {
            assert!(
                error.contains("could not be reached") || error.contains("endpoint disabled"),
                "{error}"
            );
        }
        assert!(*attempts <= 2, "gave up after max_attempts: {attempts}");
    }
    for endpoint in [webhook, unreachable] {
        let (enabled, status, reason): (bool, String, Option<String>) = sqlx::query_as(
            "select enabled, status, disabled_reason from public.webhooks where id = $1",
        )
        .bind(endpoint)
        .fetch_one(&db.pool)
        .await
        .expect("webhook");
        assert!(!enabled && status == "disabled", "{endpoint}: {status}");
        assert!(reason
            .unwrap_or_default()
            .contains("consecutive failed deliveries"));
    }
}

#[tokio::test]
async fn a_30_day_policy_deletes_and_anonymizes_exactly_the_old_rows_and_laptops_follow() {
    let db = TestDb::migrated().await;
    db.seed(1, 10).await;
    let tenant = first_tenant(&db).await;
    let server = TestServer::start(&db).await;
    // Only this test's policies; every seeded row recent.
    for statement in [
        "delete from public.data_retention_policies",
        "update public.guests set created_at = now(), last_stay_at = now()",
        "update public.communication_logs set created_at = now()",
    ] {
        sqlx::query(statement)
            .execute(&db.pool)
            .await
            .expect(statement);
    }
    sqlx::query(
        "insert into public.data_retention_policies (policy_type, retention_days, action, schedule)
         values ('guests', 30, 'anonymize', 'daily'), ('communication_logs', 30, 'delete', 'daily')",
    )
    .execute(&db.pool)
    .await
    .expect("policies");

    // Three guests last seen 40+ days ago, one of whom is booked again next month; one new guest.
    let mut old = Vec::new();
    for name in ["Old1", "Old2", "Booked"] {
        let id: Uuid = sqlx::query_scalar(
            "insert into public.guests (tenant_id, first_name, last_name, email, phone, created_at)
             values ($1, $2, 'Former', lower($2) || '@example.com', '+1 555 0199', now() - interval '400 days')
             returning id",
        )
        .bind(tenant)
        .bind(name)
        .fetch_one(&db.pool)
        .await
        .expect("old guest");
        old.push(id);
    }
    let booked = old.pop().expect("booked guest");
    sqlx::query(
        "insert into public.reservations (tenant_id, guest_id, guest_name, property_id, room_type_id, check_in_date, check_out_date, status)
         select $1, $2, 'Booked Former', property_id, id, current_date + 30, current_date + 33, 'confirmed'
           from public.room_types where tenant_id = $1 limit 1",
    )
    .bind(tenant)
    .bind(booked)
    .execute(&db.pool)
    .await
    .expect("future stay");
    let recent = add_guest(&db, tenant, "Recent").await;
    let some_guest: Uuid = sqlx::query_scalar("select id from public.guests where tenant_id = $1 and first_name not in ('Old1', 'Old2', 'Booked', 'Recent') limit 1")
        .bind(tenant)
        .fetch_one(&db.pool)
        .await
        .expect("a seeded guest");
    let mut old_logs = Vec::new();
    for age in [45, 31, 5] {
        let id: Uuid = sqlx::query_scalar(
            "insert into public.communication_logs (tenant_id, guest_id, type, direction, subject, created_at)
             values ($1, $2, 'email', 'outbound', 'Welcome back', now() - make_interval(days => $3))
             returning id",
        )
        .bind(tenant)
        .bind(some_guest)
        .bind(age)
        .fetch_one(&db.pool)
        .await
        .expect("log");
        if age > 30 {
            old_logs.push(id);
        }
    }

    // A laptop synced before the job, which edits an old guest offline in the meantime.
    let desk = staff_emails(&db, "front_desk").await.remove(0);
    let mut laptop = Laptop::sign_in(&db, &server, &desk, "desk").await;
    laptop.sync().await;
    let runs = retention::run_due(&db.pool, chrono::Utc::now())
        .await
        .expect("retention");
    assert_eq!(runs.len(), 2, "{runs:?}");
    outbox::write(
        &mut laptop.conn,
        "guests",
        PushOp::Update,
        old[0],
        object(json!({"phone": "+1 555 0123"})),
    )
    .expect("offline edit");

    let anonymized: Vec<Uuid> = sqlx::query_scalar(
        "select id from public.guests where anonymized_at is not null order by id",
    )
    .fetch_all(&db.pool)
    .await
    .expect("anonymized");
    let mut expected = old.clone();
    expected.sort();
    assert_eq!(
        anonymized, expected,
        "exactly the guests not seen for 30 days and not booked"
    );
    let (first, email, phone): (String, Option<String>, Option<String>) =
        sqlx::query_as("select first_name, email, phone from public.guests where id = $1")
            .bind(old[0])
            .fetch_one(&db.pool)
            .await
            .expect("guest");
    assert_eq!((first.as_str(), email, phone), ("Anonymized", None, None));
    let left: Vec<Uuid> =
        sqlx::query_scalar("select id from public.communication_logs where id = any($1)")
            .bind(&old_logs)
            .fetch_all(&db.pool)
            .await
            .expect("logs");
    assert!(left.is_empty(), "old logs deleted: {left:?}");
    let logs_now: i64 = sqlx::query_scalar("select count(*) from public.communication_logs where created_at > now() - interval '30 days'")
        .fetch_one(&db.pool)
        .await
        .expect("count");
    assert!(logs_now > 0, "recent logs kept");
    for kept in [booked, recent] {
        let anonymized: bool =
            sqlx::query_scalar("select anonymized_at is not null from public.guests where id = $1")
                .bind(kept)
                .fetch_one(&db.pool)
                .await
                .expect("guest");
        assert!(!anonymized, "{kept} kept");
    }

    // The laptop follows: anonymized guests and deleted logs arrive; the offline edit of an
    // erased guest is refused, not applied.
    let report = laptop.sync().await;
    assert_eq!(report.rejected, 1);
    let reason: String = laptop
        .conn
        .query_row("select reason from conflicts", [], |r| r.get(0))
        .expect("conflict");
    assert_eq!(reason, "row_erased");
    mirror_matches_server(&db, &laptop)
        .await
        .unwrap_or_else(|e| panic!("after retention:\n{e}"));

    // Recorded and rescheduled: not due again until tomorrow.
    let again = retention::run_due(&db.pool, chrono::Utc::now())
        .await
        .expect("retention");
    assert!(again.is_empty(), "{again:?}");
    let scheduled: i64 = sqlx::query_scalar(
        "select count(*) from public.data_retention_policies
          where last_run_at is not null and next_run_at > now() + interval '23 hours'",
    )
    .fetch_one(&db.pool)
    .await
    .expect("count");
    assert_eq!(scheduled, 2);
}

#[tokio::test]
async fn the_worker_pass_survives_a_bad_endpoint_and_the_app_reads_its_flags() {
    let db = TestDb::migrated().await;
    let (tenant, _) =
        tenant_with_endpoint(&db, "http://127.0.0.1:9/nothing", &["guest.created"]).await;
    add_guest(&db, tenant, "Solo").await;
    // Campaign mail (none here) would go to a file of the test's own, not the working folder.
    let config = WorkerConfig {
        mailer: pms_server::jobs::mail::Mailer::File {
            path: std::env::temp_dir().join(format!("pms-outbox-{}.jsonl", uuid::Uuid::now_v7())),
        },
        ..WorkerConfig::default()
    };
    let pass = pms_server::jobs::run_once(&db.pool, &reqwest::Client::new(), &config).await;
    assert_eq!(pass.failed_jobs, 0, "{pass:?}");
    assert_eq!(pass.deliveries.retrying, 1, "{pass:?}");

    // Flags over HTTP: a tenant override wins over the platform's row, and plans decide.
    let server = TestServer::start(&db).await;
    let desk = staff_emails(&db, "front_desk").await.remove(0);
    let laptop = Laptop::sign_in(&db, &server, &desk, "desk").await;
    sqlx::query(
        "insert into public.feature_flags (key, name, scope, status, rollout_percentage) values
             ('test.everyone', 'Everyone', 'global', 'enabled', 100),
             ('test.overridden', 'Overridden', 'global', 'enabled', 100),
             ('test.enterprise', 'Enterprise only', 'plan', 'enabled', 100)",
    )
    .execute(&db.pool)
    .await
    .expect("flags");
    sqlx::query(
        "insert into public.feature_flags (tenant_id, key, name, scope, status) values ($1, 'test.overridden', 'Off here', 'tenant', 'disabled')",
    )
    .bind(tenant)
    .execute(&db.pool)
    .await
    .expect("override");
    sqlx::query("update public.feature_flags set enabled_plans = '{Enterprise}' where key = 'test.enterprise'")
        .execute(&db.pool)
        .await
        .expect("plans");
    let plan: String = sqlx::query_scalar(
        "select p.name from public.tenants t join public.plans p on p.id = t.plan_id where t.id = $1",
    )
    .bind(tenant)
    .fetch_one(&db.pool)
    .await
    .expect("plan");
    let answer = laptop.remote.flags().await.expect("flags");
    assert_eq!(answer.plan.as_deref(), Some(plan.as_str()));
    assert!(answer.flags["test.everyone"]);
    assert!(
        !answer.flags["test.overridden"],
        "the tenant's override wins"
    );
    assert_eq!(answer.flags["test.enterprise"], plan == "Enterprise");
}

#[tokio::test]
async fn stay_and_invoice_changes_become_their_events() {
    let db = TestDb::migrated().await;
    let (tenant, webhook) = tenant_with_endpoint(
        &db,
        "http://127.0.0.1:9/all",
        &[
            "reservation.created",
            "reservation.changed",
            "reservation.cancelled",
            "invoice.paid",
        ],
    )
    .await;
    // two bookings in one statement: an event each
    let stays: Vec<Uuid> = sqlx::query_scalar(
        "insert into public.reservations (tenant_id, guest_name, property_id, room_type_id, check_in_date, check_out_date, status)
         select $1, g.name, rt.property_id, rt.id, date '2031-01-10', date '2031-01-12', 'confirmed'
           from (select * from public.room_types where tenant_id = $1 limit 1) rt,
                unnest(array['Eve Event', 'Ed Event']) with ordinality as g (name, n)
          order by g.n
         returning id",
    )
    .bind(tenant)
    .fetch_all(&db.pool)
    .await
    .expect("stays");
    let stay = stays[0];
    let named: Vec<String> = sqlx::query_scalar(
        "select payload -> 'data' ->> 'guest_name' from public.webhook_deliveries
          where webhook_id = $1 and event = 'reservation.created' order by 1",
    )
    .bind(webhook)
    .fetch_all(&db.pool)
    .await
    .expect("created events");
    assert_eq!(named, ["Ed Event", "Eve Event"]);
    for statement in [
        "update public.reservations set check_out_date = date '2031-01-13' where id = $1",
        "update public.reservations set notes = 'late arrival' where id = $1",
        "update public.reservations set status = 'cancelled', cancelled_at = now() where id = $1",
    ] {
        sqlx::query(statement)
            .bind(stay)
            .execute(&db.pool)
            .await
            .expect(statement);
    }
    sqlx::query(
        "update public.invoices set status = 'paid', paid_at = now()
          where id = (select id from public.invoices where tenant_id = $1 and status <> 'paid' limit 1)",
    )
    .bind(tenant)
    .execute(&db.pool)
    .await
    .expect("pay an invoice");
    let events: Vec<String> = sqlx::query_scalar(
        "select event from public.webhook_deliveries where webhook_id = $1 order by created_at, id",
    )
    .bind(webhook)
    .fetch_all(&db.pool)
    .await
    .expect("deliveries");
    assert_eq!(
        events,
        [
            "reservation.created",
            "reservation.created",
            "reservation.changed",
            "reservation.cancelled",
            "invoice.paid"
        ],
        "a notes edit is no event"
    );
}

/// A job's batch and a desk's push that cross the same guest: the push holds its tenant's feed
/// head and wants the guest; the job's batch must not hold the guest while it waits for the head
/// (a deadlock Postgres ends by failing one of them: the clerk's push answered busy, or the job's
/// pass failed). Every writer takes the tenant's feed head before its rows.
#[tokio::test]
async fn a_retention_batch_and_a_desk_edit_of_the_same_guest_do_not_deadlock() {
    let db = TestDb::migrated().await;
    db.seed(1, 10).await;
    let tenant = first_tenant(&db).await;
    let server = TestServer::start(&db).await;
    for statement in [
        "delete from public.data_retention_policies",
        "update public.guests set created_at = now(), last_stay_at = now()",
        "insert into public.data_retention_policies (policy_type, retention_days, action, schedule)
         values ('guests', 30, 'anonymize', 'daily')",
    ] {
        sqlx::query(statement)
            .execute(&db.pool)
            .await
            .expect(statement);
    }
    let guest: Uuid = sqlx::query_scalar(
        "insert into public.guests (tenant_id, first_name, last_name, created_at)
         values ($1, 'Long', 'Gone', now() - interval '400 days') returning id",
    )
    .bind(tenant)
    .fetch_one(&db.pool)
    .await
    .expect("old guest");
    let desk = staff_emails(&db, "front_desk").await.remove(0);
    let mut laptop = Laptop::sign_in(&db, &server, &desk, "desk").await;
    laptop.sync().await;
    outbox::write(
        &mut laptop.conn,
        "guests",
        PushOp::Update,
        guest,
        object(json!({"phone": "+1 555 0123"})),
    )
    .expect("offline edit");

    // Another writer of the tenant holds the feed head: the push queues for it first, then the
    // job's batch.
    let mut other_writer = db.pool.begin().await.expect("begin");
    sqlx::query("select 1 from app.feed_heads where tenant_id = $1 for update")
        .bind(tenant)
        .execute(&mut *other_writer)
        .await
        .expect("hold the feed head");
    let push = tokio::spawn(async move {
        let report = sync_once_report(&mut laptop).await;
        (report, laptop)
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    let pool = db.pool.clone();
    let job = tokio::spawn(async move { retention::run_due(&pool, chrono::Utc::now()).await });
    tokio::time::sleep(Duration::from_millis(500)).await;
    other_writer.commit().await.expect("release the head");

    let (report, laptop) = push.await.expect("push task");
    let report = report.expect("the clerk's push went through (not answered busy)");
    assert_eq!((report.pushed, report.rejected), (1, 0), "{report:?}");
    let runs = job
        .await
        .expect("job task")
        .expect("the retention pass went through (not a deadlock victim)");
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0].rows, 1, "{runs:?}");
    let anonymized: bool =
        sqlx::query_scalar("select anonymized_at is not null from public.guests where id = $1")
            .bind(guest)
            .fetch_one(&db.pool)
            .await
            .expect("guest");
    assert!(anonymized);
    drop(laptop);
}

#[tokio::test]
async fn a_campaign_launch_and_a_desk_edit_of_the_campaign_do_not_deadlock() {
    let db = TestDb::migrated().await;
    db.seed(1, 10).await;
    let tenant = first_tenant(&db).await;
    let server = TestServer::start(&db).await;
    // the seeded campaigns wait as drafts: the job's one launch is of this campaign
    sqlx::query("update public.marketing_campaigns set status = 'draft'")
        .execute(&db.pool)
        .await
        .expect("drafts");
    let campaign: Uuid = sqlx::query_scalar(
        "insert into public.marketing_campaigns (tenant_id, name, status, type, audience)
         values ($1, 'Spring', 'active', 'email', 'all_guests') returning id",
    )
    .bind(tenant)
    .fetch_one(&db.pool)
    .await
    .expect("campaign");
    let manager = staff_emails(&db, "manager").await.remove(0);
    let mut laptop = Laptop::sign_in(&db, &server, &manager, "desk").await;
    laptop.sync().await;
    outbox::write(
        &mut laptop.conn,
        "marketing_campaigns",
        PushOp::Update,
        campaign,
        object(json!({"name": "Spring offer"})),
    )
    .expect("offline edit");

    // Another writer of the tenant holds the feed head: the push queues for it first, then the
    // campaign job's launch of the same campaign.
    let mut other_writer = db.pool.begin().await.expect("begin");
    sqlx::query("select 1 from app.feed_heads where tenant_id = $1 for update")
        .bind(tenant)
        .execute(&mut *other_writer)
        .await
        .expect("hold the feed head");
    let push = tokio::spawn(async move {
        let report = sync_once_report(&mut laptop).await;
        (report, laptop)
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    let pool = db.pool.clone();
    let outbox_file = std::env::temp_dir().join(format!("pms-campaign-{}.jsonl", Uuid::now_v7()));
    let mailer = Mailer::File {
        path: outbox_file.clone(),
    };
    let job = tokio::spawn(async move { campaigns::run(&pool, &mailer, chrono::Utc::now()).await });
    tokio::time::sleep(Duration::from_millis(500)).await;
    other_writer.commit().await.expect("release the head");

    let (report, laptop) = push.await.expect("push task");
    let report = report.expect("the manager's push went through (not answered busy)");
    assert_eq!((report.pushed, report.rejected), (1, 0), "{report:?}");
    let pass = job
        .await
        .expect("job task")
        .expect("the campaign pass went through (not a deadlock victim)");
    assert_eq!(pass.launched, 1, "{pass:?}");
    let (name, status): (String, String) =
        sqlx::query_as("select name, status from public.marketing_campaigns where id = $1")
            .bind(campaign)
            .fetch_one(&db.pool)
            .await
            .expect("campaign");
    assert_eq!(name, "Spring offer");
    assert_eq!(
        status, "completed",
        "launched and sent to everyone it reaches"
    );
    let _ = std::fs::remove_file(outbox_file);
    drop(laptop);
}

/// One sync round, its error kept (the helper on `Laptop` panics on one).
async fn sync_once_report(
    laptop: &mut Laptop,
) -> Result<pms_sync_client::engine::SyncReport, pms_sync_client::Error> {
    pms_sync_client::engine::sync_once(&mut laptop.conn, &laptop.remote).await
}

/// Rows a worker holds are passed, not an end: the purge goes on past them by id. (It used to
/// start every batch over and stop at the first batch it could change nothing of: 200 logs a
/// campaign worker held kept every old log after them until the next day's run.)
#[tokio::test]
async fn old_logs_after_a_batch_a_worker_holds_are_still_deleted() {
    let db = TestDb::migrated().await;
    db.seed(1, 10).await;
    let tenant = first_tenant(&db).await;
    for statement in [
        "delete from public.data_retention_policies",
        "update public.communication_logs set created_at = now()",
        "insert into public.data_retention_policies (policy_type, retention_days, action, schedule)
         values ('communication_logs', 30, 'delete', 'daily')",
    ] {
        sqlx::query(statement)
            .execute(&db.pool)
            .await
            .expect(statement);
    }
    // 250 old logs whose ids rise in the order they are stored.
    sqlx::query(
        "insert into public.communication_logs (tenant_id, id, guest_id, type, direction, subject, created_at)
         select $1, ('00000000-0000-7000-8000-' || lpad(to_hex(n), 12, '0'))::uuid,
                (select id from public.guests where tenant_id = $1 limit 1),
                'email', 'outbound', 'Old news', now() - interval '45 days'
           from generate_series(1, 250) n",
    )
    .bind(tenant)
    .execute(&db.pool)
    .await
    .expect("old logs");
    // A worker holds the first 200 while the job runs.
    let mut worker = db.pool.begin().await.expect("worker");
    let held: Vec<Uuid> = sqlx::query_scalar(
        "select id from public.communication_logs where tenant_id = $1 and subject = 'Old news'
          order by id limit 200 for update",
    )
    .bind(tenant)
    .fetch_all(&mut *worker)
    .await
    .expect("claim");
    assert_eq!(held.len(), 200);

    let runs = retention::run_due(&db.pool, chrono::Utc::now())
        .await
        .expect("retention");
    assert_eq!(
        runs.iter().map(|r| r.rows).sum::<u64>(),
        50,
        "the 50 old logs nobody holds: {runs:?}"
    );
    worker.rollback().await.expect("release");
    let left: Vec<Uuid> = sqlx::query_scalar(
        "select id from public.communication_logs where tenant_id = $1 and subject = 'Old news' order by id",
    )
    .bind(tenant)
    .fetch_all(&db.pool)
    .await
    .expect("left");
    assert_eq!(left, held, "what the worker held waits for the next run");
}
