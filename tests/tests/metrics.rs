//! Operating the servers (issue 22): `GET /metrics` over HTTP against the real server — requests
//! by matched route, pushes and pulls, refused sign-ins, long-poll waiters, the feed listener —
//! with no tenant data in it; `GET /ready` beside `/health`; `PMS_METRICS_TOKEN` closing it.

use std::time::{Duration, Instant};

use pms_sync_client::outbox;
use pms_sync_protocol::wire::PushOp;
use pms_tests::laptops::{object, staff_emails, Laptop};
use pms_tests::{metric, TestDb, TestServer};
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use uuid::Uuid;

async fn scrape(client: &Client, server: &TestServer) -> String {
    let response = client
        .get(server.url("/metrics"))
        .send()
        .await
        .expect("GET /metrics");
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );
    response.text().await.expect("text")
}

/// Scrapes until `series` has a value `accept` takes, for up to 10 s.
async fn scrape_until(
    client: &Client,
    server: &TestServer,
    series: &str,
    accept: impl Fn(f64) -> bool,
) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = scrape(client, server).await;
        if metric(&text, series).is_some_and(&accept) {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "{series} never came to the value wanted:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn value(text: &str, series: &str) -> f64 {
    metric(text, series).unwrap_or(0.0)
}

#[tokio::test]
async fn metrics_count_routes_pushes_pulls_refusals_and_waiters_without_tenant_data() {
    let db = TestDb::migrated().await;
    db.seed(1, 10).await;
    let server = TestServer::start(&db).await;
    let client = Client::new();
    let desk = staff_emails(&db, "front_desk").await.remove(0);

    // Readiness beside liveness.
    let ready = client
        .get(server.url("/ready"))
        .send()
        .await
        .expect("GET /ready");
    assert_eq!(ready.status(), StatusCode::OK);
    let ready: Value = ready.json().await.expect("JSON");
    assert_eq!(
        ready,
        json!({"status": "ready", "database": "ok", "feed_listener": "ok"})
    );

    // A refused sign-in is counted by its code.
    let before = scrape(&client, &server).await;
    let refused = client
        .post(server.url("/v1/auth/login"))
        .json(&json!({"email": desk, "password": "not the password"}))
        .send()
        .await
        .expect("login");
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let after = scrape(&client, &server).await;
    let refusals = "pms_login_refusals_total{code=\"invalid_credentials\"}";
    assert_eq!(
        value(&after, refusals),
        value(&before, refusals) + 1.0,
        "{after}"
    );
    let login_401 =
        "pms_http_requests_total{method=\"POST\",route=\"/v1/auth/login\",status=\"401\"}";
    assert_eq!(value(&after, login_401), value(&before, login_401) + 1.0);

    // A push: its change counted as applied, the push route by its status, and the laptop's pull
    // of its own change counted.
    let mut laptop = Laptop::sign_in(&db, &server, &desk, "desk").await;
    laptop.sync().await;
    let before = scrape(&client, &server).await;
    outbox::write(
        &mut laptop.conn,
        "guests",
        PushOp::Insert,
        Uuid::now_v7(),
        object(json!({"first_name": "Metric", "last_name": "Guest"})),
    )
    .expect("local insert");
    laptop.sync().await;
    let after = scrape(&client, &server).await;
    let applied = "pms_push_changes_total{status=\"applied\",replayed=\"false\"}";
    assert_eq!(
        value(&after, applied),
        value(&before, applied) + 1.0,
        "{after}"
    );
    let pushes = "pms_http_requests_total{method=\"POST\",route=\"/v1/sync/push\",status=\"200\"}";
    assert_eq!(value(&after, pushes), value(&before, pushes) + 1.0);
    let pulled = "pms_pull_changes_total";
    assert!(value(&after, pulled) > value(&before, pulled), "{after}");
    assert!(
        value(
            &after,
            "pms_http_request_duration_seconds_count{method=\"POST\",route=\"/v1/sync/push\"}"
        ) >= 1.0
    );

    // Routes are labelled by their template, never by the URL as sent.
    let someone = Uuid::new_v4();
    let token = laptop.remote.access_token().expect("token").to_owned();
    client
        .post(server.url(&format!("/v1/staff/{someone}/temporary-password")))
        .bearer_auth(&token)
        .send()
        .await
        .expect("temporary password");
    client
        .get(server.url("/no/such/secret-path"))
        .send()
        .await
        .expect("unknown path");
    let text = scrape(&client, &server).await;
    assert!(
        text.contains("route=\"/v1/staff/{user_id}/temporary-password\""),
        "{text}"
    );
    assert!(
        metric(
            &text,
            "pms_http_requests_total{method=\"GET\",route=\"unmatched\",status=\"404\"}"
        )
        .is_some(),
        "{text}"
    );

    // A long poll is a waiter while it waits; a commit of its tenant answers it.
    let waiters = "pms_long_poll_waiters";
    assert_eq!(value(&text, waiters), 0.0, "{text}");
    let head = laptop.remote.head().await.expect("head");
    let waiting = laptop.remote.pull_waiting(head, 100, 20);
    let watch = async {
        let text = scrape_until(&client, &server, waiters, |n| n == 1.0).await;
        assert_eq!(value(&text, "pms_long_poll_tenants"), 1.0, "{text}");
        sqlx::query(
            "insert into public.guests (tenant_id, first_name, last_name) values ($1, 'Wakes', 'Poll')",
        )
        .bind(laptop.claims.tenant_id)
        .execute(&db.pool)
        .await
        .expect("a commit that wakes the poll");
    };
    let (answer, ()) = tokio::join!(waiting, watch);
    assert_eq!(answer.expect("the long poll").changes.len(), 1);
    let text = scrape_until(&client, &server, waiters, |n| n == 0.0).await;
    // the tenant's wake-up channel went with its last waiter
    assert_eq!(value(&text, "pms_long_poll_tenants"), 0.0, "{text}");

    // The feed listener is up and its probe came back.
    assert_eq!(value(&text, "pms_feed_listener_up"), 1.0, "{text}");
    let lag = metric(&text, "pms_feed_lag_seconds").expect("the feed lag");
    assert!((0.0..5.0).contains(&lag), "{lag}");

    // No tenant data: no tenant, user, device, e-mail or token in any label or value.
    for secret in [
        laptop.claims.tenant_id.to_string(),
        laptop.claims.user_id.to_string(),
        laptop.device_id.to_string(),
        someone.to_string(),
        desk.clone(),
        token,
        "secret-path".to_owned(),
    ] {
        assert!(!text.contains(&secret), "{secret} is in the metrics");
    }
}

#[tokio::test]
async fn a_metrics_token_closes_the_endpoint() {
    let db = TestDb::migrated().await;
    let token = "scrape-token-0123456789";
    let server = TestServer::start_with(&db, |state| {
        state.with_metrics_token(Some(pms_server::config::Secret::new(token.to_owned())))
    })
    .await;
    let client = Client::new();
    let refused = client
        .get(server.url("/metrics"))
        .send()
        .await
        .expect("GET /metrics");
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let wrong = client
        .get(server.url("/metrics"))
        .bearer_auth("scrape-token-0123456780")
        .send()
        .await
        .expect("GET /metrics");
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let scraped = client
        .get(server.url("/metrics"))
        .bearer_auth(token)
        .send()
        .await
        .expect("GET /metrics");
    assert_eq!(scraped.status(), StatusCode::OK);
    assert!(scraped
        .text()
        .await
        .expect("text")
        .contains("pms_http_requests_total"));
    // Liveness and readiness stay open.
    for path in ["/health", "/ready"] {
        let status = client
            .get(server.url(path))
            .send()
            .await
            .expect(path)
            .status();
        assert_eq!(status, StatusCode::OK, "{path}");
    }
}
