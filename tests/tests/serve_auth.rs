//! The sync server's sign-in, tokens and sessions, over HTTP against the real server and
//! database: a disabled account or a revoked laptop can no longer refresh or act, and tampered,
//! expired, foreign or `alg: none` tokens are refused with 401.

use pms_sync_client::engine::sync_once;
use pms_sync_client::outbox;
use pms_sync_protocol::wire::PushOp;
use pms_tests::laptops::{object, Laptop};
use pms_tests::own_cluster::ServerProcess;
use pms_tests::{set_password, TestDb, TestServer};

const SERVER: &str = env!("CARGO_BIN_EXE_pms-server-under-test");
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

const PASSWORD: &str = "correct horse battery";

async fn post(
    client: &Client,
    server: &TestServer,
    path: &str,
    body: Value,
) -> (StatusCode, Value) {
    let response = client
        .post(server.url(path))
        .json(&body)
        .send()
        .await
        .expect("request");
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn me(client: &Client, server: &TestServer, token: &str) -> (StatusCode, Value) {
    let response = client
        .get(server.url("/v1/me"))
        .bearer_auth(token)
        .send()
        .await
        .expect("request");
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn login(client: &Client, server: &TestServer, email: &str, device: &str) -> Value {
    let (status, session) = post(
        client,
        server,
        "/v1/auth/login",
        json!({"email": email, "password": PASSWORD, "device_name": device}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "login of {email}: {session}");
    session
}

struct Setup {
    db: TestDb,
    server: TestServer,
    client: Client,
    desk_email: String,
    owner_email: String,
}

async fn setup() -> Setup {
    let db = TestDb::migrated().await;
    db.seed(2, 10).await;
    let emails: Vec<String> = sqlx::query_scalar(
        "select email from public.staff s join public.tenants t on t.id = s.tenant_id
          where s.role in ('front_desk', 'owner') order by t.subdomain, s.role, s.email",
    )
    .fetch_all(&db.pool)
    .await
    .expect("staff");
    // first tenant: front_desk (two of them, first by email) then owner
    let desk_email = emails[0].clone();
    let owner_email = emails
        .iter()
        .find(|e| e.starts_with("owner@demo-7-1"))
        .expect("second tenant's owner")
        .clone();
    for email in [&desk_email, &owner_email] {
        set_password(&db.pool, email, PASSWORD).await;
    }
    let server = TestServer::start(&db).await;
    Setup {
        db,
        server,
        client: Client::new(),
        desk_email,
        owner_email,
    }
}

#[tokio::test]
async fn sign_in_gives_tokens_that_act_as_the_staff_member_of_their_tenant() {
    let s = setup().await;
    let (status, health) = (
        s.client
            .get(s.server.url("/health"))
            .send()
            .await
            .expect("health"),
        (),
    );
    assert_eq!(status.status(), StatusCode::OK, "{health:?}");

    let session = login(&s.client, &s.server, &s.desk_email, "front desk laptop").await;
    assert_eq!(session["staff_role"], "front_desk");
    let token = session["access_token"].as_str().expect("token");
    let (status, who) = me(&s.client, &s.server, token).await;
    assert_eq!(status, StatusCode::OK, "{who}");
    assert_eq!(who["tenant_id"], session["tenant_id"]);
    assert_eq!(who["staff_role"], "front_desk");

    // The other tenant's owner sees the other tenant.
    let other = login(&s.client, &s.server, &s.owner_email, "office").await;
    assert_ne!(other["tenant_id"], session["tenant_id"]);
    let (_, who) = me(
        &s.client,
        &s.server,
        other["access_token"].as_str().expect("token"),
    )
    .await;
    assert_eq!(who["tenant_id"], other["tenant_id"]);

    // Emails are matched case-blind; the device is recorded with its name.
    login(
        &s.client,
        &s.server,
        &s.desk_email.to_uppercase(),
        "second laptop",
    )
    .await;
    let devices: i64 = sqlx::query_scalar(
        "select count(*) from public.devices where name in ('front desk laptop', 'second laptop')",
    )
    .fetch_one(&s.db.pool)
    .await
    .expect("devices");
    assert_eq!(devices, 2);
}

#[tokio::test]
async fn wrong_credentials_and_bad_bodies_get_typed_errors() {
    let s = setup().await;
    for body in [
        json!({"email": s.desk_email, "password": "wrong password"}),
        json!({"email": "nobody@nowhere.example", "password": PASSWORD}),
        json!({"email": "owner@demo-7-0.example", "password": PASSWORD}), // exists, has no password
    ] {
        let (status, error) = post(&s.client, &s.server, "/v1/auth/login", body).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(error["error"]["code"], "invalid_credentials", "{error}");
    }
    let (status, error) = post(&s.client, &s.server, "/v1/auth/login", json!({"email": 42})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error["error"]["code"], "bad_request");
    let huge = "x".repeat(pms_server::serve::MAX_BODY_BYTES + 1);
    let (status, error) = post(
        &s.client,
        &s.server,
        "/v1/auth/login",
        json!({"email": huge, "password": "x"}),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(error["error"]["code"], "payload_too_large");
    let response = s
        .client
        .get(s.server.url("/v1/nope"))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        response.json::<Value>().await.expect("json")["error"]["code"],
        "not_found"
    );
}

#[tokio::test]
async fn refresh_rotates_and_a_disabled_account_or_revoked_device_is_shut_out() {
    let s = setup().await;
    let first = login(&s.client, &s.server, &s.desk_email, "laptop A").await;
    let second = login(&s.client, &s.server, &s.desk_email, "laptop B").await;

    // Refresh rotates the token. An answer lost on the way (the laptop retries with the token it
    // holds) is answered again; once the laptop uses a newer token, the older ones are spent.
    let refresh = |session: &Value| json!({"device_id": session["device_id"], "refresh_token": session["refresh_token"]});
    let (status, lost) = post(&s.client, &s.server, "/v1/auth/refresh", refresh(&first)).await;
    assert_eq!(status, StatusCode::OK, "{lost}");
    assert_ne!(lost["refresh_token"], first["refresh_token"]);
    let (status, retried) = post(&s.client, &s.server, "/v1/auth/refresh", refresh(&first)).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "a lost answer does not lock the laptop out: {retried}"
    );
    let (status, renewed) = post(&s.client, &s.server, "/v1/auth/refresh", refresh(&retried)).await;
    assert_eq!(status, StatusCode::OK, "{renewed}");
    for spent in [&first, &lost] {
        let (status, error) = post(&s.client, &s.server, "/v1/auth/refresh", refresh(spent)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(error["error"]["code"], "invalid_refresh_token");
    }

    // Revoking laptop A ends A (refresh and requests) but not B.
    let device_a: uuid::Uuid = renewed["device_id"]
        .as_str()
        .expect("id")
        .parse()
        .expect("uuid");
    pms_server::admin::revoke_device(&s.db.pool, device_a)
        .await
        .expect("revoke");
    let (status, _) = post(&s.client, &s.server, "/v1/auth/refresh", refresh(&renewed)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, error) = me(
        &s.client,
        &s.server,
        renewed["access_token"].as_str().expect("token"),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error["error"]["code"], "session_revoked");
    let (status, _) = me(
        &s.client,
        &s.server,
        second["access_token"].as_str().expect("token"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    // Disabling the account ends every device at once, even with an unexpired access token.
    pms_server::admin::disable_staff(&s.db.pool, &s.desk_email)
        .await
        .expect("disable");
    let (status, error) = me(
        &s.client,
        &s.server,
        second["access_token"].as_str().expect("token"),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error["error"]["code"], "session_revoked");
    let (status, _) = post(&s.client, &s.server, "/v1/auth/refresh", refresh(&second)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = post(
        &s.client,
        &s.server,
        "/v1/auth/login",
        json!({"email": s.desk_email, "password": PASSWORD}),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

fn b64(value: &Value) -> String {
    use std::fmt::Write;
    // base64url without padding, written out to keep the test free of extra dependencies
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let bytes = value.to_string().into_bytes();
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            let _ = out.write_char(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

#[tokio::test]
async fn forged_tampered_expired_and_unsigned_tokens_are_refused() {
    let s = setup().await;
    let session = login(&s.client, &s.server, &s.desk_email, "laptop").await;
    let token = session["access_token"].as_str().expect("token").to_owned();
    let parts: Vec<&str> = token.split('.').collect();
    let claims = json!({
        "sub": session["user_id"], "role": "authenticated", "aud": "authenticated",
        "iat": chrono::Utc::now().timestamp(), "exp": chrono::Utc::now().timestamp() + 600,
        "app_metadata": {"tenant_id": session["tenant_id"], "staff_role": "owner", "device_id": session["device_id"]},
    });
    let alg_none = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "JWT"})),
        b64(&claims)
    );
    // the payload swapped for one claiming the owner role, signature kept
    let tampered = format!("{}.{}.{}", parts[0], b64(&claims), parts[2]);
    let keys = |secret: &str| {
        pms_server::serve::tokens::TokenKeys::new(&pms_server::config::Secret::new(
            secret.to_owned(),
        ))
    };
    let tenant: uuid::Uuid = session["tenant_id"]
        .as_str()
        .expect("tenant")
        .parse()
        .expect("uuid");
    let user: uuid::Uuid = session["user_id"]
        .as_str()
        .expect("user")
        .parse()
        .expect("uuid");
    let device: uuid::Uuid = session["device_id"]
        .as_str()
        .expect("device")
        .parse()
        .expect("uuid");
    let (foreign, _) = keys("somebody-elses-secret-of-32-characters")
        .issue(tenant, user, "owner", device)
        .expect("issue");
    let expired = {
        let mut claims = claims.clone();
        claims["exp"] = json!(chrono::Utc::now().timestamp() - 3600);
        jsonwebtoken::encode(
            &jsonwebtoken::Header::default(),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(s.server.jwt_secret.as_bytes()),
        )
        .expect("encode")
    };
    for (what, bad) in [
        ("alg none", alg_none),
        ("tampered", tampered),
        ("foreign secret", foreign),
        ("expired", expired),
    ] {
        let (status, error) = me(&s.client, &s.server, &bad).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}");
        assert_eq!(error["error"]["code"], "invalid_token", "{what}: {error}");
    }
    let response = s
        .client
        .get(s.server.url("/v1/me"))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        response.json::<Value>().await.expect("json")["error"]["code"],
        "missing_token"
    );
    // and the genuine one still works
    assert_eq!(me(&s.client, &s.server, &token).await.0, StatusCode::OK);
}

#[tokio::test]
async fn a_refresh_token_presented_again_after_its_rotation_revokes_the_device() {
    let s = setup().await;
    // A short grace, so the test need not wait two minutes.
    let server = TestServer::start_with(&s.db, |state| {
        state.with_refresh_reuse_grace(std::time::Duration::from_millis(300))
    })
    .await;
    let laptop = login(&s.client, &server, &s.desk_email, "laptop A").await;
    let refresh = |session: &Value| json!({"device_id": session["device_id"], "refresh_token": session["refresh_token"]});

    // A thief with a copy of the laptop's refresh token rotates it first.
    let (status, thief) = post(&s.client, &server, "/v1/auth/refresh", refresh(&laptop)).await;
    assert_eq!(status, StatusCode::OK, "{thief}");
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;

    // The laptop then presents the token it holds, now rotated and past the grace: reuse.
    let (status, error) = post(&s.client, &server, "/v1/auth/refresh", refresh(&laptop)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{error}");
    assert_eq!(error["error"]["code"], "refresh_token_reused");
    // The device is revoked: the thief's newer tokens no longer work either.
    let (status, error) = post(&s.client, &server, "/v1/auth/refresh", refresh(&thief)).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "the thief refreshed again: {error}"
    );
    let (status, error) = me(
        &s.client,
        &server,
        thief["access_token"].as_str().expect("token"),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error["error"]["code"], "session_revoked");
    let reason: Option<String> =
        sqlx::query_scalar("select revoked_reason from public.devices where id = $1::text::uuid")
            .bind(laptop["device_id"].as_str().expect("device id"))
            .fetch_one(&s.db.pool)
            .await
            .expect("device");
    assert_eq!(reason.as_deref(), Some("refresh_token_reuse"));
    // The staff member signs in again with the password, on a new device.
    login(&s.client, &server, &s.desk_email, "laptop A again").await;
}

#[tokio::test]
async fn a_suspended_tenant_is_refused_at_refresh_and_at_every_request() {
    let s = setup().await;
    let session = login(&s.client, &s.server, &s.desk_email, "laptop A").await;
    let token = session["access_token"].as_str().expect("token").to_owned();
    let tenant = session["tenant_id"].as_str().expect("tenant").to_owned();
    let set_status = |status: &'static str| {
        let pool = s.db.pool.clone();
        let tenant = tenant.clone();
        async move {
            sqlx::query(
                "update public.tenants set status = $2,
                        suspended_at = case when $2 = 'suspended' then now() end
                  where id = $1::text::uuid",
            )
            .bind(tenant)
            .bind(status)
            .execute(&pool)
            .await
            .expect("tenant status");
        }
    };
    set_status("suspended").await;
    let (status, error) = me(&s.client, &s.server, &token).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{error}");
    assert_eq!(error["error"]["code"], "tenant_inactive");
    let pulled = s
        .client
        .get(s.server.url("/v1/sync/pull?after_seq=0&after_change_no=0"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("pull");
    assert_eq!(
        pulled.status(),
        StatusCode::FORBIDDEN,
        "a suspended tenant pulled"
    );
    let refresh =
        json!({"device_id": session["device_id"], "refresh_token": session["refresh_token"]});
    let (status, error) = post(&s.client, &s.server, "/v1/auth/refresh", refresh.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{error}");
    assert_eq!(error["error"]["code"], "tenant_inactive");

    // A laptop of the tenant keeps its work while refused, and sends it once active again.
    let desk_email = s.desk_email.clone();
    set_status("active").await;
    let mut laptop = Laptop::sign_in(&s.db, &s.server, &desk_email, "laptop B").await;
    laptop.sync().await;
    let walk_in = uuid::Uuid::now_v7();
    outbox::write(
        &mut laptop.conn,
        "guests",
        PushOp::Insert,
        walk_in,
        object(json!({"first_name": "Walk", "last_name": "In"})),
    )
    .expect("local insert");
    set_status("suspended").await;
    match sync_once(&mut laptop.conn, &laptop.remote).await {
        Err(pms_sync_client::Error::Refused {
            status: 403, code, ..
        }) => {
            assert_eq!(code, "tenant_inactive");
        }
        other => panic!("a suspended tenant's laptop synced: {other:?}"),
    }
    assert_eq!(
        outbox::entries(&laptop.conn, false).expect("outbox").len(),
        1,
        "the outbox is kept"
    );

    // Active again: the same session goes on (the refused refresh spent nothing).
    set_status("active").await;
    laptop.sync().await;
    let arrived: i64 = sqlx::query_scalar("select count(*) from public.guests where id = $1")
        .bind(walk_in)
        .fetch_one(&s.db.pool)
        .await
        .expect("guest");
    assert_eq!(arrived, 1, "the walk-in made while suspended arrived");
    let (status, body) = me(&s.client, &s.server, &token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = post(&s.client, &s.server, "/v1/auth/refresh", refresh).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// The peak resident memory of a process, in KiB (`VmHWM` in /proc).
fn peak_memory_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
        .expect("VmHWM")
}

/// An HTTP client whose connections come from `source` (any 127.x.y.z is this machine).
fn client_from(source: [u8; 4]) -> Client {
    Client::builder()
        .local_address(std::net::IpAddr::from(source))
        .build()
        .expect("client")
}

#[tokio::test]
async fn a_login_flood_is_rate_limited_and_bounded_and_a_real_login_still_succeeds() {
    let s = setup().await;
    let server = ServerProcess::start(SERVER.as_ref(), &s.db).await;
    let pid = server.pid().expect("the server runs");
    let base = server.base_url.clone();
    let attempt = |client: Client, email: String| {
        let url = format!("{base}/v1/auth/login");
        async move {
            let response = client
                .post(url)
                .json(&json!({"email": email, "password": "wrong password"}))
                .send()
                .await
                .expect("login attempt");
            let retry_after = response.headers().get("retry-after").cloned();
            (response.status(), retry_after)
        }
    };
    // 2,000 wrong-password sign-ins at once: a thousand at one real account from one address,
    // and a thousand at made-up accounts from fifty addresses.
    let mut flood = Vec::new();
    let guesser = client_from([127, 0, 0, 2]);
    for _ in 0..1_000 {
        flood.push(tokio::spawn(attempt(guesser.clone(), s.desk_email.clone())));
    }
    for n in 0..1_000u32 {
        let client = client_from([127, 0, 1, (n % 50) as u8 + 1]);
        flood.push(tokio::spawn(attempt(
            client,
            format!("nobody{n}@example.com"),
        )));
    }
    let mut limited = 0;
    for answer in flood {
        let (status, retry_after) = answer.await.expect("attempt");
        match status {
            StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE => {
                let seconds: u64 = retry_after
                    .and_then(|v| v.to_str().ok().and_then(|v| v.parse().ok()))
                    .expect("Retry-After with a number of seconds");
                assert!(seconds >= 1);
                limited += 1;
            }
            StatusCode::UNAUTHORIZED => {}
            other => panic!("a flood attempt got {other}"),
        }
    }
    assert!(
        limited >= 1_000,
        "only {limited} of 2,000 attempts were limited"
    );
    let peak_mib = peak_memory_kib(pid) / 1024;
    assert!(
        peak_mib < 300,
        "the server's resident memory peaked at {peak_mib} MiB"
    );

    // Meanwhile a colleague at the hotel (another address) signs in with the right password.
    let colleague = client_from([127, 0, 0, 3]);
    let response = colleague
        .post(format!("{}/v1/auth/login", server.base_url))
        .json(&json!({"email": s.owner_email, "password": PASSWORD, "device_name": "front desk"}))
        .send()
        .await
        .expect("login");
    assert_eq!(response.status(), StatusCode::OK);
}
