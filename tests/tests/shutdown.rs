//! Operating the servers (issue 22): `serve` stopped with SIGTERM finishes the push in flight
//! (the laptop gets its answer, the change is applied once, and the laptop's retry against the
//! restarted server is answered `replayed`); `PMS_LOG_FORMAT=json` makes every stderr line a JSON
//! object; the worker stops on SIGTERM too and serves its metrics meanwhile.
//!
//! Against the real binary (`pms-server-under-test`, a child process) and the real database.

use std::time::{Duration, Instant};

use pms_sync_client::mirror;
use pms_sync_client::outbox;
use pms_sync_protocol::wire::{PushChange, PushOp, PushRequest, PushStatus};
use pms_sync_protocol::PROTOCOL_VERSION;
use pms_tests::laptops::{object, staff_emails, Laptop};
use pms_tests::own_cluster::ServerProcess;
use pms_tests::{metric, TestDb};
use serde_json::{json, Value};
use uuid::Uuid;

const SERVER: &str = env!("CARGO_BIN_EXE_pms-server-under-test");

/// Every non-empty line of `log` is a JSON object with a level and a message; returns them.
fn json_lines(log: &str) -> Vec<Value> {
    let lines: Vec<Value> = log
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            serde_json::from_str::<Value>(line)
                .unwrap_or_else(|e| panic!("a log line that is not JSON ({e}): {line}"))
        })
        .collect();
    for line in &lines {
        assert!(line["level"].is_string(), "no level: {line}");
        assert!(line["timestamp"].is_string(), "no timestamp: {line}");
    }
    lines
}

fn messages(lines: &[Value]) -> Vec<String> {
    lines
        .iter()
        .filter_map(|line| line["message"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn sigterm_finishes_the_push_in_flight_and_the_retry_is_replayed() {
    let db = TestDb::migrated().await;
    db.seed(1, 10).await;
    let mut server = ServerProcess::start_with_env(
        std::path::Path::new(SERVER),
        &db,
        &[("PMS_LOG_FORMAT", "json"), ("RUST_LOG", "info")],
    )
    .await;
    let desk = staff_emails(&db, "front_desk").await.remove(0);
    let conn = mirror::open_in_memory().expect("mirror");
    let mut laptop = Laptop::sign_in_at(&db, &server.base_url, &desk, "desk", conn).await;

    // One local booking-desk write, as the laptop's outbox holds it.
    let guest = Uuid::now_v7();
    outbox::write(
        &mut laptop.conn,
        "guests",
        PushOp::Insert,
        guest,
        object(json!({"first_name": "Late", "last_name": "Arrival"})),
    )
    .expect("local insert");
    let entry = outbox::entries(&laptop.conn, false)
        .expect("outbox")
        .remove(0);
    let request = PushRequest {
        protocol_version: PROTOCOL_VERSION,
        changes: vec![PushChange {
            change_id: entry.change_id,
            device_seq: entry.device_seq,
            table: entry.table.clone(),
            op: entry.op,
            id: entry.id,
            values: entry.values.clone(),
            base: entry.base.clone(),
            stamp: entry.stamp,
        }],
    };

    // Hold the push inside the server: its device's progress row is locked by the test, so the
    // push waits in its transaction (the upsert that locks the row) until the test lets go.
    sqlx::query(
        "insert into app.device_progress (device_id, tenant_id) values ($1, $2) on conflict do nothing",
    )
    .bind(laptop.device_id)
    .bind(laptop.claims.tenant_id)
    .execute(&db.pool)
    .await
    .expect("progress row");
    let mut holder = db.pool.begin().await.expect("begin");
    sqlx::query("select 1 from app.device_progress where device_id = $1 for update")
        .bind(laptop.device_id)
        .execute(&mut *holder)
        .await
        .expect("lock the device's progress");

    let push = laptop.remote.push(&request);
    let control = async {
        // Wait until the push is blocked on the lock, i.e. in flight inside the server.
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let waiting: i64 = sqlx::query_scalar(
                "select count(*) from pg_stat_activity
                  where datname = current_database() and wait_event_type = 'Lock'
                    and query like '%insert into app.device_progress%'",
            )
            .fetch_one(&db.pool)
            .await
            .expect("pg_stat_activity");
            if waiting > 0 {
                break;
            }
            assert!(Instant::now() < deadline, "the push never reached the lock");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        server.terminate();
        // The server keeps running while the push is in flight …
        tokio::time::sleep(Duration::from_millis(700)).await;
        assert!(
            server.is_running(),
            "the server exited with a push in flight: {}",
            server.log()
        );
        // … and finishes it once the database lets it go.
        holder.commit().await.expect("let the push go");
        let status = server
            .wait_exit(Duration::from_secs(20))
            .await
            .expect("the server exits after its last request");
        assert!(status.success(), "SIGTERM is a clean stop: {status:?}");
    };
    let (answer, ()) = tokio::join!(push, control);
    let answer = answer.unwrap_or_else(|e| panic!("the push in flight was answered: {e}"));
    assert_eq!(answer.results.len(), 1);
    assert_eq!(answer.results[0].status, PushStatus::Applied, "{answer:?}");
    assert!(!answer.results[0].replayed);

    // The laptop never saw that answer (say it was lost): its retry against the restarted server
    // is answered from the recorded result, and the guest exists once.
    server.restart().await;
    let retry = laptop.remote.push(&request).await.expect("the retry");
    assert_eq!(retry.results[0].status, PushStatus::Applied, "{retry:?}");
    assert!(
        retry.results[0].replayed,
        "the retry is replayed: {retry:?}"
    );
    let guests: i64 = sqlx::query_scalar("select count(*) from public.guests where id = $1")
        .bind(guest)
        .fetch_one(&db.pool)
        .await
        .expect("count");
    assert_eq!(guests, 1, "applied exactly once");
    let recorded: i64 = sqlx::query_scalar(
        "select count(*) from app.change_results where device_id = $1 and device_seq = $2",
    )
    .bind(laptop.device_id)
    .bind(entry.device_seq)
    .fetch_one(&db.pool)
    .await
    .expect("results");
    assert_eq!(recorded, 1);

    // PMS_LOG_FORMAT=json: every line the server wrote over both runs is a JSON object, and the
    // stop is in them.
    let log = server.log();
    let lines = json_lines(&log);
    let said = messages(&lines);
    for expected in [
        "serving",
        "shutting down: finishing the requests in flight",
        "stopped",
    ] {
        assert!(
            said.iter().any(|m| m == expected),
            "{expected:?} is logged: {said:?}"
        );
    }
    // No secret reaches the log: not the laptop's tokens, not the JWT secret's name's value.
    let token = laptop.remote.access_token().expect("token");
    assert!(!log.contains(token), "the access token is not logged");
}

#[tokio::test]
async fn the_worker_serves_its_metrics_logs_json_and_stops_on_sigterm() {
    let db = TestDb::migrated().await;
    db.seed(1, 10).await;
    sqlx::query("delete from public.webhook_deliveries")
        .execute(&db.pool)
        .await
        .expect("clear deliveries");
    let tenant: Uuid =
        sqlx::query_scalar("select id from public.tenants order by subdomain limit 1")
            .fetch_one(&db.pool)
            .await
            .expect("tenant");
    // An endpoint nobody listens on (port 9, discard): every attempt fails.
    sqlx::query(
        "insert into public.webhooks (tenant_id, url, events, secret) values ($1, 'http://127.0.0.1:9/hook', $2, 'whsec_test_0123456789abcdef')",
    )
    .bind(tenant)
    .bind(vec!["guest.created".to_owned()])
    .execute(&db.pool)
    .await
    .expect("webhook");
    sqlx::query(
        "insert into public.guests (tenant_id, first_name, last_name) values ($1, 'Hook', 'Test')",
    )
    .bind(tenant)
    .execute(&db.pool)
    .await
    .expect("guest");

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let listen = format!("127.0.0.1:{port}");
    let outbox_file = std::env::temp_dir().join(format!("pms-outbox-{}.jsonl", Uuid::now_v7()));
    let log_file = std::env::temp_dir().join(format!("pms-worker-{}.log", Uuid::now_v7()));
    let mut worker = tokio::process::Command::new(SERVER)
        .arg("worker")
        .env("PMS_ADMIN_DATABASE_URL", db.url())
        .env("PMS_METRICS_LISTEN", &listen)
        .env("PMS_LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .env("PMS_MAIL_FILE", &outbox_file)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log_file).expect("log file"))
        .kill_on_drop(true)
        .spawn()
        .expect("start the worker");

    // The failed attempt shows as a webhook failure, the delivery waits in its queue.
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    let text = loop {
        let scraped = http
            .get(format!("http://{listen}/metrics"))
            .send()
            .await
            .ok();
        if let Some(response) = scraped {
            let text = response.text().await.unwrap_or_default();
            let failed = metric(
                &text,
                "pms_worker_webhook_attempts_total{outcome=\"retrying\"}",
            );
            let queued = metric(
                &text,
                "pms_worker_queue_depth{queue=\"webhook_deliveries\"}",
            );
            if failed >= Some(1.0) && queued == Some(1.0) {
                break text;
            }
            assert!(Instant::now() < deadline, "the worker's metrics: {text}");
        }
        assert!(
            Instant::now() < deadline,
            "the worker's metrics never answered: {}",
            std::fs::read_to_string(&log_file).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(text.contains("pms_worker_passes_total"), "{text}");
    assert!(
        !text.contains("127.0.0.1:9"),
        "no endpoint URL in the metrics"
    );
    assert!(
        !text.contains(&tenant.to_string()),
        "no tenant in the metrics"
    );

    let pid = worker.id().expect("pid");
    let sent = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("kill");
    assert!(sent.success());
    let status = tokio::time::timeout(Duration::from_secs(20), worker.wait())
        .await
        .expect("the worker stops on SIGTERM")
        .expect("wait");
    assert!(status.success(), "{status:?}");

    let log = std::fs::read_to_string(&log_file).unwrap_or_default();
    let said = messages(&json_lines(&log));
    for expected in ["worker started", "worker stopped"] {
        assert!(said.iter().any(|m| m == expected), "{expected:?}: {said:?}");
    }
    let _ = std::fs::remove_file(&log_file);
    let _ = std::fs::remove_file(&outbox_file);
}
