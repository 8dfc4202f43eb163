//! The change feed and `GET /v1/sync/pull`, against the real server and database.
//!
//! The central property: a client pulling in a loop while writers commit concurrently, including
//! one that holds its transaction open across several pulls, ends with every committed change.
//! The same schedule run against a plain `bigserial` feed loses changes, which is why the feed
//! orders transactions per tenant instead (see the change-feed migration).

use std::collections::BTreeSet;
use std::time::Duration;

use pms_sync_protocol::wire::{Cursor, Op, PullResponse};
use pms_tests::{set_password, TestDb, TestServer};
use rand::{Rng, SeedableRng};
use reqwest::Client;
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

const PASSWORD: &str = "correct horse battery";

struct Desk {
    token: String,
    tenant_id: Uuid,
}

async fn sign_in(server: &TestServer, db: &TestDb, role: &str) -> Desk {
    let email: String =
        sqlx::query_scalar("select email from public.staff where role = $1 order by email limit 1")
            .bind(role)
            .fetch_one(&db.pool)
            .await
            .expect("staff");
    set_password(&db.pool, &email, PASSWORD).await;
    let session: serde_json::Value = Client::new()
        .post(server.url("/v1/auth/login"))
        .json(&json!({"email": email, "password": PASSWORD}))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("session");
    Desk {
        token: session["access_token"].as_str().expect("token").to_owned(),
        tenant_id: session["tenant_id"]
            .as_str()
            .expect("tenant")
            .parse()
            .expect("uuid"),
    }
}

async fn pull(
    client: &Client,
    server: &TestServer,
    desk: &Desk,
    cursor: Cursor,
    limit: i64,
) -> PullResponse {
    let response = client
        .get(server.url("/v1/sync/pull"))
        .bearer_auth(&desk.token)
        .query(&[
            ("after_seq", cursor.seq),
            ("after_change_no", cursor.change_no),
            ("limit", limit),
        ])
        .send()
        .await
        .expect("pull");
    assert!(
        response.status().is_success(),
        "pull failed: {}",
        response.status()
    );
    response.json().await.expect("pull body")
}

/// Pulls until the feed has nothing more, collecting the guest ids seen.
async fn drain(
    client: &Client,
    server: &TestServer,
    desk: &Desk,
    cursor: &mut Cursor,
    seen: &mut BTreeSet<Uuid>,
) {
    loop {
        let page = pull(client, server, desk, *cursor, 50).await;
        for change in &page.changes {
            if change.table == "guests" && change.op == Op::Upsert {
                seen.insert(change.id);
            }
        }
        *cursor = page.cursor;
        if !page.has_more {
            return;
        }
    }
}

#[tokio::test]
async fn pull_returns_rows_under_rls_and_pages_by_cursor() {
    let db = TestDb::migrated().await;
    db.seed(2, 10).await;
    let server = TestServer::start(&db).await;
    let client = Client::new();
    let desk = sign_in(&server, &db, "front_desk").await;

    // From the start: every row of the tenant, none of the other tenant's, paged.
    let mut cursor = Cursor::default();
    let mut tables = BTreeSet::new();
    let mut hidden = BTreeSet::new();
    let mut pages = 0;
    loop {
        let page = pull(&client, &server, &desk, cursor, 500).await;
        pages += 1;
        for change in &page.changes {
            match (&change.op, &change.row) {
                (Op::Upsert, Some(row)) => {
                    assert_eq!(
                        row["tenant_id"],
                        json!(desk.tenant_id),
                        "{} row of another tenant",
                        change.table
                    );
                    tables.insert(change.table.clone());
                }
                // rows the desk may not read arrive as deletes, never with values
                (Op::Delete, None) => {
                    hidden.insert(change.table.clone());
                }
                other => panic!("inconsistent change {other:?}"),
            };
        }
        assert!(page.cursor >= cursor, "the cursor went back");
        cursor = page.cursor;
        if !page.has_more {
            break;
        }
    }
    assert!(pages > 1, "expected several pages");
    // The front desk sees guests but not billing, whose changes reach it only as deletes.
    assert!(
        tables.contains("guests") && tables.contains("reservations"),
        "{tables:?}"
    );
    let billing: BTreeSet<String> = ["invoices", "subscriptions", "usage_alerts"]
        .map(String::from)
        .into();
    assert!(
        tables.is_disjoint(&billing),
        "the desk received billing rows: {tables:?}"
    );
    assert_eq!(hidden, billing, "only billing is hidden from the desk");

    // A change after the cursor comes next; a password hash never travels.
    sqlx::query("update public.staff set display_name = 'Renamed', password_hash = 'x' where tenant_id = $1 and role = 'owner'")
        .bind(desk.tenant_id)
        .execute(&db.pool)
        .await
        .expect("update");
    let page = pull(&client, &server, &desk, cursor, 500).await;
    assert_eq!(page.changes.len(), 1);
    let row = page.changes[0].row.as_ref().expect("row");
    assert_eq!(row["display_name"], "Renamed");
    assert!(row.get("password_hash").is_none(), "{row}");

    // A deleted row arrives as a delete.
    let preference: Uuid = sqlx::query_scalar("delete from public.guest_preferences where tenant_id = $1 and id = (select id from public.guest_preferences where tenant_id = $1 limit 1) returning id")
        .bind(desk.tenant_id)
        .fetch_one(&db.pool)
        .await
        .expect("delete");
    let page = pull(&client, &server, &desk, page.cursor, 500).await;
    assert_eq!(page.changes.len(), 1);
    assert_eq!(
        (page.changes[0].id, page.changes[0].op),
        (preference, Op::Delete)
    );
}

/// One run's writers: how many, how long each holds its transaction open, how many rows each.
struct Schedule {
    writers: Vec<(u64, usize)>, // (milliseconds open, guests inserted)
}

fn schedule(seed: u64) -> Schedule {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let count = rng.random_range(2..=4);
    let mut writers: Vec<(u64, usize)> = (0..count)
        .map(|_| (rng.random_range(0..4), rng.random_range(1..=3)))
        .collect();
    // one slow writer that stays open across several pulls
    writers[0].0 = rng.random_range(15..30);
    Schedule { writers }
}

/// Runs a schedule's writers: each inserts its guests, waits, commits. `insert` is the statement
/// (the real tables, or the plain-bigserial baseline). Returns the committed ids.
async fn run_writers(
    pool: &PgPool,
    tenant_id: Uuid,
    schedule: &Schedule,
    insert: &'static str,
) -> Vec<Uuid> {
    let mut writers = tokio::task::JoinSet::new();
    for (n, &(open_ms, rows)) in schedule.writers.iter().enumerate() {
        let pool = pool.clone();
        writers.spawn(async move {
            // stagger the starts so the slow writer usually takes its number first
            tokio::time::sleep(Duration::from_millis(n as u64 * 2)).await;
            let mut tx = pool.begin().await.expect("begin");
            let mut ids = Vec::new();
            for _ in 0..rows {
                let id = Uuid::now_v7();
                sqlx::query(insert)
                    .bind(tenant_id)
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .expect("insert");
                ids.push(id);
            }
            tokio::time::sleep(Duration::from_millis(open_ms)).await;
            tx.commit().await.expect("commit");
            ids
        });
    }
    let mut committed = Vec::new();
    while let Some(ids) = writers.join_next().await {
        committed.extend(ids.expect("writer"));
    }
    committed
}

#[tokio::test]
async fn a_pulling_client_never_misses_a_late_commit() {
    let db = TestDb::migrated().await;
    db.seed(1, 10).await;
    let server = TestServer::start(&db).await;
    let client = Client::new();
    let desk = sign_in(&server, &db, "front_desk").await;
    let mut cursor = Cursor::default();
    let mut seen = BTreeSet::new();
    drain(&client, &server, &desk, &mut cursor, &mut seen).await;

    let runs = 200;
    for run in 0..runs {
        let plan = schedule(run);
        let writers = run_writers(
            &db.pool,
            desk.tenant_id,
            &plan,
            "insert into public.guests (tenant_id, id, first_name, last_name) values ($1, $2, 'Late', 'Committer')",
        );
        // the client pulls in a loop while the writers work
        let reader = async {
            for _ in 0..12 {
                drain(&client, &server, &desk, &mut cursor, &mut seen).await;
                tokio::time::sleep(Duration::from_millis(3)).await;
            }
        };
        let (committed, ()) = tokio::join!(writers, reader);
        drain(&client, &server, &desk, &mut cursor, &mut seen).await;
        let missing: Vec<&Uuid> = committed.iter().filter(|id| !seen.contains(id)).collect();
        assert!(
            missing.is_empty(),
            "run {run} (seed {run}): the client missed {} committed guests",
            missing.len()
        );
    }
}

/// Reads the baseline feed the naive way: everything with an id above the highest seen.
async fn read_plain_feed(pool: &PgPool, cursor: &mut i64, seen: &mut BTreeSet<Uuid>) {
    let rows: Vec<(i64, Uuid)> =
        sqlx::query_as("select id, row_id from public.plain_feed where id > $1 order by id")
            .bind(*cursor)
            .fetch_all(pool)
            .await
            .expect("read");
    for (id, row) in rows {
        *cursor = (*cursor).max(id);
        seen.insert(row);
    }
}

/// The same schedules against a plain bigserial feed (a table of its own, written without the
/// per-tenant ordering): a reader that keeps the highest id it saw skips transactions that took
/// a lower id and committed later.
#[tokio::test]
async fn a_plain_bigserial_feed_loses_late_commits() {
    let db = TestDb::migrated().await;
    sqlx::query("create table public.plain_feed (id bigserial primary key, tenant_id uuid not null, row_id uuid not null)")
        .execute(&db.pool)
        .await
        .expect("baseline table");
    let tenant = Uuid::now_v7();
    let mut cursor = 0i64;
    let mut seen = BTreeSet::new();
    let mut runs_that_lost = 0;
    for run in 0..200 {
        let plan = schedule(run);
        let writers = run_writers(
            &db.pool,
            tenant,
            &plan,
            "insert into public.plain_feed (tenant_id, row_id) values ($1, $2)",
        );
        let reader = async {
            for _ in 0..12 {
                read_plain_feed(&db.pool, &mut cursor, &mut seen).await;
                tokio::time::sleep(Duration::from_millis(3)).await;
            }
        };
        let (committed, ()) = tokio::join!(writers, reader);
        read_plain_feed(&db.pool, &mut cursor, &mut seen).await;
        if committed.iter().any(|id| !seen.contains(id)) {
            runs_that_lost += 1;
        }
    }
    println!("plain bigserial feed: {runs_that_lost} of 200 runs lost committed changes");
    assert!(
        runs_that_lost > 0,
        "the baseline should lose late commits under the same schedules"
    );
}

/// Long polling: a pull that waits returns as soon as another laptop's change commits, not at
/// the end of its wait; with nothing happening it returns empty when the wait is over.
#[tokio::test]
async fn a_waiting_pull_wakes_when_the_tenant_changes() {
    let db = TestDb::migrated().await;
    db.seed(2, 10).await;
    let server = TestServer::start(&db).await;
    let client = Client::new();
    let desk = sign_in(&server, &db, "front_desk").await;
    let mut cursor = Cursor::default();
    let mut seen = BTreeSet::new();
    drain(&client, &server, &desk, &mut cursor, &mut seen).await;

    let waiting = waiting_pull(&client, &server, &desk, cursor, None, 20);
    tokio::time::sleep(Duration::from_millis(300)).await;
    // another tenant's change does not wake it with nothing; this tenant's does
    let other_tenant: Uuid = sqlx::query_scalar("select id from public.tenants where id <> $1")
        .bind(desk.tenant_id)
        .fetch_one(&db.pool)
        .await
        .expect("other tenant");
    sqlx::query("insert into public.guests (tenant_id, first_name) values ($1, 'Elsewhere')")
        .bind(other_tenant)
        .execute(&db.pool)
        .await
        .expect("insert elsewhere");
    let id: Uuid = sqlx::query_scalar(
        "insert into public.guests (tenant_id, first_name) values ($1, 'Walk-in') returning id",
    )
    .bind(desk.tenant_id)
    .fetch_one(&db.pool)
    .await
    .expect("insert");
    let (page, waited) = waiting.await.expect("waiting pull");
    assert_eq!(
        page.changes.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![id]
    );
    assert!(
        waited < Duration::from_secs(20),
        "the pull waited out its full wait ({waited:?})"
    );

    // nothing new: an empty page once the wait is over
    let page: PullResponse = client
        .get(server.url("/v1/sync/pull"))
        .bearer_auth(&desk.token)
        .query(&[
            ("after_seq", page.cursor.seq),
            ("after_change_no", page.cursor.change_no),
            ("wait", 1),
        ])
        .send()
        .await
        .expect("pull")
        .json()
        .await
        .expect("body");
    assert!(page.changes.is_empty() && !page.has_more);
}

/// Starts a pull that waits up to `wait_seconds` after `cursor` (and, given one, after a global
/// feed cursor); returns its page and how long it took.
fn waiting_pull(
    client: &Client,
    server: &TestServer,
    desk: &Desk,
    cursor: Cursor,
    global: Option<Cursor>,
    wait_seconds: u64,
) -> tokio::task::JoinHandle<(PullResponse, Duration)> {
    let (client, url, token) = (
        client.clone(),
        server.url("/v1/sync/pull"),
        desk.token.clone(),
    );
    let mut query = vec![
        ("after_seq", cursor.seq),
        ("after_change_no", cursor.change_no),
        ("wait", wait_seconds as i64),
    ];
    if let Some(global) = global {
        query.push(("after_global_seq", global.seq));
        query.push(("after_global_change_no", global.change_no));
    }
    tokio::spawn(async move {
        let started = std::time::Instant::now();
        let page: PullResponse = client
            .get(url)
            .bearer_auth(token)
            .query(&query)
            .send()
            .await
            .expect("pull")
            .json()
            .await
            .expect("body");
        (page, started.elapsed())
    })
}

/// Postgres keeps no notification for a listener that is gone: a change committed while the
/// server's feed listener reconnects is never announced. The waiting pull must still get it when
/// the listener is back, not at the end of its wait.
#[tokio::test]
async fn a_waiting_pull_wakes_after_the_feed_listener_reconnects() {
    let db = TestDb::migrated().await;
    db.seed(1, 10).await;
    let server = TestServer::start(&db).await;
    let client = Client::new();
    let desk = sign_in(&server, &db, "front_desk").await;
    let mut cursor = Cursor::default();
    drain(&client, &server, &desk, &mut cursor, &mut BTreeSet::new()).await;
    let waiting = waiting_pull(&client, &server, &desk, cursor, None, 20);
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Cut the listener off and keep it off (no new connection to this database) while the
    // change commits, so its notification goes to nobody.
    // (a database refuses connections only by an order given from another database)
    let mut admin = db.pool.acquire().await.expect("a connection");
    let elsewhere = sqlx::postgres::PgPool::connect(&pms_tests::server_url())
        .await
        .expect("a connection to the server's own database");
    let alter = |allow: bool| format!("alter database \"{}\" allow_connections = {allow}", db.name);
    sqlx::query(&alter(false))
        .execute(&elsewhere)
        .await
        .expect("refuse new connections");
    let listener_pids: Vec<i32> = sqlx::query_scalar(
        "select pid from pg_stat_activity
          where datname = current_database() and query ilike 'listen%pms_feed%'",
    )
    .fetch_all(&mut *admin)
    .await
    .expect("listener");
    assert_eq!(
        listener_pids.len(),
        1,
        "one feed listener: {listener_pids:?}"
    );
    // Every connection of the server's, the listener's and the idle ones of its pool (a
    // listener reconnects through its pool), so no listener can be back before the insert.
    let server_pids: Vec<i32> = sqlx::query_scalar(
        "select pid from pg_stat_activity where datname = current_database() and usename = $1",
    )
    .bind(pms_tests::APP_ROLE)
    .fetch_all(&mut *admin)
    .await
    .expect("the server's connections");
    assert!(server_pids.contains(&listener_pids[0]), "{server_pids:?}");
    sqlx::query("select pg_terminate_backend(pid) from unnest($1::int[]) pid")
        .bind(&server_pids)
        .execute(&mut *admin)
        .await
        .expect("terminate the server's connections");
    for _ in 0..200 {
        let alive: bool =
            sqlx::query_scalar("select exists (select from pg_stat_activity where pid = any($1))")
                .bind(&server_pids)
                .fetch_one(&mut *admin)
                .await
                .expect("connections gone?");
        if !alive {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let id: Uuid = sqlx::query_scalar(
        "insert into public.guests (tenant_id, first_name) values ($1, 'Unheard') returning id",
    )
    .bind(desk.tenant_id)
    .fetch_one(&mut *admin)
    .await
    .expect("insert while the listener is away");
    tokio::time::sleep(Duration::from_secs(1)).await;
    sqlx::query(&alter(true))
        .execute(&elsewhere)
        .await
        .expect("allow connections again");
    elsewhere.close().await;

    let (page, waited) = waiting.await.expect("waiting pull");
    assert_eq!(
        page.changes.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![id],
        "the pull came back without the change committed during the reconnect (after {waited:?})"
    );
    assert!(
        waited < Duration::from_secs(10),
        "the pull heard of the change only at the end of its wait ({waited:?})"
    );
}

/// Two `serve` instances on one Postgres: a change pushed through instance 1 wakes a laptop
/// long-polling on instance 2 (the notification reaches every instance's listener).
#[tokio::test]
async fn a_change_pushed_to_one_instance_wakes_a_pull_waiting_on_another() {
    use pms_sync_protocol::wire::{PushChange, PushOp, PushRequest, PushResponse, PushStatus};

    let db = TestDb::migrated().await;
    db.seed(1, 10).await;
    let first = TestServer::start(&db).await;
    let second = TestServer::start_beside(&db, &first).await;
    let client = Client::new();
    let laptop_a = sign_in(&first, &db, "front_desk").await;
    let laptop_b = sign_in(&second, &db, "front_desk").await;
    let mut cursor = Cursor::default();
    drain(
        &client,
        &second,
        &laptop_b,
        &mut cursor,
        &mut BTreeSet::new(),
    )
    .await;

    let mut latencies = Vec::new();
    for round in 0..5 {
        let waiting = waiting_pull(&client, &second, &laptop_b, cursor, None, 20);
        tokio::time::sleep(Duration::from_millis(200)).await;
        let id = Uuid::now_v7();
        let serde_json::Value::Object(values) =
            json!({"first_name": format!("Instance {round}"), "last_name": "Two"})
        else {
            unreachable!()
        };
        let pushed = std::time::Instant::now();
        let answer = client
            .post(first.url("/v1/sync/push"))
            .bearer_auth(&laptop_a.token)
            .json(&PushRequest {
                protocol_version: pms_sync_protocol::PROTOCOL_VERSION,
                changes: vec![PushChange {
                    change_id: Uuid::now_v7(),
                    device_seq: round + 1,
                    table: "guests".to_owned(),
                    op: PushOp::Insert,
                    id,
                    values,
                    base: Default::default(),
                    stamp: None,
                }],
            })
            .send()
            .await
            .expect("push")
            .text()
            .await
            .expect("push answer");
        let answer: PushResponse = serde_json::from_str(&answer)
            .unwrap_or_else(|e| panic!("round {round}: {e}: {answer}"));
        assert_eq!(answer.results[0].status, PushStatus::Applied, "{answer:?}");
        let (page, waited) = waiting.await.expect("waiting pull");
        latencies.push(pushed.elapsed());
        assert!(
            page.changes.iter().any(|c| c.id == id),
            "round {round}: instance 2's pull did not get the guest pushed to instance 1 ({page:?})"
        );
        assert!(
            waited < Duration::from_secs(10),
            "round {round}: the pull on instance 2 waited out its wait ({waited:?})"
        );
        cursor = page.cursor;
    }
    println!("A (instance 1) -> B (instance 2) latencies: {latencies:?}");
}

/// A change to a global row (a platform plan) goes to the global feed once: it takes no
/// tenant's feed head (a desk holding its tenant's head does not hold up platform work, nor the
/// other way round), writes no row in any tenant's feed, and wakes a pull waiting on the global
/// cursor, which brings the plan.
#[tokio::test]
async fn a_global_change_goes_to_the_global_feed_and_takes_no_tenant_lock() {
    let db = TestDb::migrated().await;
    db.seed(3, 10).await;
    let server = TestServer::start(&db).await;
    let client = Client::new();
    let desk = sign_in(&server, &db, "front_desk").await;
    let tenant_feed_rows = || async {
        sqlx::query_scalar::<_, i64>("select count(*) from app.changes")
            .fetch_one(&db.pool)
            .await
            .expect("count the tenant feeds")
    };
    let before = tenant_feed_rows().await;
    let global_head: (i64, i64) = sqlx::query_as(
        "select coalesce(max(seq), 0), coalesce(max(change_no), 0) from app.global_changes",
    )
    .fetch_one(&db.pool)
    .await
    .expect("global head");

    // A tenant's writer holds its feed head to its commit.
    let mut desk_writer = db.pool.begin().await.expect("begin");
    sqlx::query("select 1 from app.feed_heads where tenant_id = $1 for update")
        .bind(desk.tenant_id)
        .execute(&mut *desk_writer)
        .await
        .expect("hold the tenant's feed head");
    let tenant_head: (i64, i64) = sqlx::query_as(
        "select coalesce(max(seq), 0), coalesce(max(change_no), 0) from app.changes where tenant_id = $1",
    )
    .bind(desk.tenant_id)
    .fetch_one(&db.pool)
    .await
    .expect("tenant head");
    let waiting = waiting_pull(
        &client,
        &server,
        &desk,
        Cursor {
            seq: tenant_head.0,
            change_no: tenant_head.1,
        },
        Some(Cursor {
            seq: global_head.0,
            change_no: global_head.1,
        }),
        20,
    );
    tokio::time::sleep(Duration::from_millis(300)).await;

    let mut platform = db.pool.begin().await.expect("begin");
    sqlx::query("set local lock_timeout = '3s'")
        .execute(&mut *platform)
        .await
        .expect("lock timeout");
    let plan: Uuid = sqlx::query_scalar(
        "update public.plans set display_name = display_name || ' (new)'
          where id = (select id from public.plans where tenant_id is null order by id limit 1)
          returning id",
    )
    .fetch_one(&mut *platform)
    .await
    .expect("a platform plan changes while a tenant's writer holds its feed head");
    platform.commit().await.expect("commit the plan");

    let (page, waited) = waiting.await.expect("waiting pull");
    assert!(
        page.changes
            .iter()
            .any(|c| c.id == plan && c.table == "plans"),
        "the waiting pull did not bring the plan: {page:?}"
    );
    assert!(waited < Duration::from_secs(10), "woken late: {waited:?}");
    let global_cursor = page.global_cursor.expect("a global cursor in the answer");
    assert!(
        (global_cursor.seq, global_cursor.change_no) > global_head,
        "{global_cursor:?}"
    );
    desk_writer.commit().await.expect("release");
    assert_eq!(
        tenant_feed_rows().await,
        before,
        "the plan change was written into tenant feeds"
    );
    let recorded: i64 = sqlx::query_scalar(
        "select count(*) from app.global_changes where row_id = $1 and (seq, change_no) > ($2, $3)",
    )
    .bind(plan)
    .bind(global_head.0)
    .bind(global_head.1)
    .fetch_one(&db.pool)
    .await
    .expect("global feed");
    assert_eq!(recorded, 1, "one row in the global feed");

    // A pull without a global cursor (an older laptop) gets no global changes.
    let page = pull(&client, &server, &desk, Cursor::default(), 5000).await;
    assert!(page.global_cursor.is_none());
}

/// A waiting pull holds no database connection: with a pool of two, twenty laptops waiting
/// do not stop a twenty-first from pulling (it would answer `503 server_busy`).
#[tokio::test]
async fn waiting_pulls_hold_no_database_connection() {
    let db = TestDb::migrated().await;
    db.seed(1, 10).await;
    let two_connections = sqlx::postgres::PgPoolOptions::new()
        .max_connections(2)
        .acquire_timeout(Duration::from_secs(2))
        .connect(&db.url_as(pms_tests::APP_ROLE))
        .await
        .expect("a pool of two");
    let server = TestServer::start_with(&db, move |mut state| {
        state.pool = two_connections;
        state
    })
    .await;
    let client = Client::new();
    let desk = sign_in(&server, &db, "front_desk").await;
    let mut cursor = Cursor::default();
    drain(&client, &server, &desk, &mut cursor, &mut BTreeSet::new()).await;
    let waiting: Vec<_> = (0..20)
        .map(|_| waiting_pull(&client, &server, &desk, cursor, None, 10))
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let started = std::time::Instant::now();
    let page = pull(&client, &server, &desk, cursor, 10).await;
    assert!(page.changes.is_empty());
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "the pull waited for a connection ({:?})",
        started.elapsed()
    );
    assert!(
        waiting.iter().all(|w| !w.is_finished()),
        "the waits are still on"
    );
    for w in waiting {
        w.abort();
    }
}

/// The feed is recorded per statement: a statement's rows reach the feed once each, under one
/// transaction number of their tenant's; and no statement moves a row to another tenant.
#[tokio::test]
async fn a_bulk_statement_records_each_row_once_and_rows_keep_their_tenant() {
    let db = TestDb::migrated().await;
    db.seed(2, 10).await;
    let tenants: Vec<Uuid> = sqlx::query_scalar("select id from public.tenants order by id")
        .fetch_all(&db.pool)
        .await
        .expect("tenants");
    let (home, other) = (tenants[0], tenants[1]);

    let mut tx = db.pool.begin().await.expect("begin");
    let mut updated: Vec<Uuid> = sqlx::query_scalar(
        "update public.guests set notes = 'bulk' where tenant_id = $1 returning id",
    )
    .bind(home)
    .fetch_all(&mut *tx)
    .await
    .expect("bulk update");
    assert!(
        updated.len() >= 10,
        "the seed has guests: {}",
        updated.len()
    );
    let recorded: Vec<(i64, Uuid)> = sqlx::query_as(
        "select seq, row_id from app.changes
          where tenant_id = $1 and table_name = 'guests'
            and seq = (select max(seq) from app.changes where tenant_id = $1)
          order by change_no",
    )
    .bind(home)
    .fetch_all(&mut *tx)
    .await
    .expect("feed");
    let mut recorded_ids: Vec<Uuid> = recorded.iter().map(|(_, id)| *id).collect();
    recorded_ids.sort();
    updated.sort();
    assert_eq!(recorded_ids, updated, "every updated row once");
    let other_feed: i64 = sqlx::query_scalar(
        "select count(*) from app.changes where tenant_id = $1 and table_name = 'guests' and op = 'upsert'
            and row_id = any($2)",
    )
    .bind(other)
    .bind(&updated)
    .fetch_one(&mut *tx)
    .await
    .expect("other feed");
    assert_eq!(other_feed, 0, "nothing in the other tenant's feed");
    tx.rollback().await.expect("rollback");

    // A guest with nothing pointing at it, moved to the other tenant in a statement of its own
    let mut tx = db.pool.begin().await.expect("begin");
    let guest: Uuid = sqlx::query_scalar(
        "insert into public.guests (tenant_id, first_name, last_name) values ($1, 'Moving', 'Guest')
         returning id",
    )
    .bind(home)
    .fetch_one(&mut *tx)
    .await
    .expect("new guest");
    let moved =
        sqlx::query("update public.guests set tenant_id = $2 where tenant_id = $1 and id = $3")
            .bind(home)
            .bind(other)
            .bind(guest)
            .execute(&mut *tx)
            .await;
    match moved {
        Err(sqlx::Error::Database(error)) => {
            assert_eq!(error.code().as_deref(), Some("23514"), "{error}");
            assert!(
                error.message().contains("do not move between tenants"),
                "{error}"
            );
        }
        other => panic!("a row moved to another tenant: {other:?}"),
    }
}
