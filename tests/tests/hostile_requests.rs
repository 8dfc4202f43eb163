//! Malformed and hostile requests against the real server: random JSON, bodies too large, wrong
//! types, SQL in strings, unknown tables. Each gets a typed 4xx (or a per-change rejection), never
//! a 5xx or a panic, nothing is written that should not be, and the server stays up. The push
//! decoder is fuzzed with proptest (cargo-fuzz needs a nightly toolchain, which is not available
//! here): arbitrary JSON documents and arbitrary byte strings, over HTTP.

use pms_sync_protocol::wire::PushRequest;
use pms_sync_protocol::PROTOCOL_VERSION;
use pms_tests::laptops::{first_tenant, staff_emails, Laptop};
use pms_tests::{TestDb, TestServer};
use proptest::prelude::*;
use serde_json::{json, Value};
use uuid::Uuid;

/// The real server with a signed-in front desk, and its bearer token.
struct Target {
    db: TestDb,
    server: TestServer,
    token: String,
    http: reqwest::Client,
}

async fn target() -> Target {
    let db = TestDb::migrated().await;
    db.seed(1, 10).await;
    let server = TestServer::start(&db).await;
    let email = staff_emails(&db, "front_desk").await.remove(0);
    let laptop = Laptop::sign_in(&db, &server, &email, "fuzzer").await;
    let token = laptop.remote.access_token().expect("token").to_owned();
    Target {
        db,
        server,
        token,
        http: reqwest::Client::new(),
    }
}

impl Target {
    /// POSTs raw bytes to the push endpoint; returns the status and the JSON error code, if any.
    async fn push_raw(&self, body: Vec<u8>) -> (u16, Option<String>, Value) {
        let response = self
            .http
            .post(self.server.url("/v1/sync/push"))
            .bearer_auth(&self.token)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("the server answers");
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        let code = body["error"]["code"].as_str().map(str::to_owned);
        (status, code, body)
    }

    async fn healthy(&self) -> bool {
        self.http
            .get(self.server.url("/health"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
    }
}

#[tokio::test]
async fn hostile_pushes_get_typed_errors_and_change_nothing() {
    let target = target().await;
    let tenant = first_tenant(&target.db).await;
    let guests_before: i64 = sqlx::query_scalar("select count(*) from public.guests")
        .fetch_one(&target.db.pool)
        .await
        .expect("count");

    // Not JSON, the wrong shape, wrong types: 400 bad_request.
    for body in [
        b"not json at all".to_vec(),
        b"{\"protocol_version\": 1, \"changes\": \"all of them\"}".to_vec(),
        b"{\"protocol_version\": \"one\", \"changes\": []}".to_vec(),
        b"[1, 2, 3]".to_vec(),
        br#"{"protocol_version": 1, "changes": [{"change_id": "x", "device_seq": -1}]}"#.to_vec(),
        vec![0xff, 0xfe, 0x00, 0x7b],
    ] {
        let (status, code, _) = target.push_raw(body).await;
        assert_eq!((status, code.as_deref()), (400, Some("bad_request")));
    }
    // A body over the limit: 413 payload_too_large.
    let huge = format!(
        "{{\"protocol_version\": 1, \"changes\": [], \"padding\": \"{}\"}}",
        "x".repeat(5 * 1024 * 1024)
    );
    let (status, code, _) = target.push_raw(huge.into_bytes()).await;
    assert_eq!((status, code.as_deref()), (413, Some("payload_too_large")));

    // SQL in names and values: an unknown table is refused per change; a value is data, kept as typed.
    let injected_name = "Robert'); drop table public.guests; --";
    let request = json!({
        "protocol_version": PROTOCOL_VERSION,
        "changes": [
            {"change_id": Uuid::now_v7(), "device_seq": 1, "table": "guests; drop table guests", "op": "insert",
             "id": Uuid::now_v7(), "values": {"first_name": "x"}},
            {"change_id": Uuid::now_v7(), "device_seq": 2, "table": "guests", "op": "insert", "id": Uuid::now_v7(),
             "values": {"first_name\"; drop table guests; --": "x"}},
            {"change_id": Uuid::now_v7(), "device_seq": 3, "table": "guests", "op": "insert", "id": Uuid::now_v7(),
             "values": {"first_name": injected_name, "last_name": "Tables"}},
            {"change_id": Uuid::now_v7(), "device_seq": 4, "table": "guests", "op": "insert", "id": Uuid::now_v7(),
             "values": {"first_name": "Other", "tenant_id": Uuid::new_v4()}},
            {"change_id": Uuid::now_v7(), "device_seq": 5, "table": "guests", "op": "insert", "id": Uuid::now_v7(),
             "values": {"first_name": ["not", "text"], "email": 42}}
        ]
    });
    let (status, _, body) = target
        .push_raw(serde_json::to_vec(&request).expect("json"))
        .await;
    assert_eq!(status, 200, "{body}");
    let outcomes: Vec<(String, Option<String>)> = body["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| {
            (
                r["status"].as_str().unwrap_or_default().to_owned(),
                r["reason"].as_str().map(str::to_owned),
            )
        })
        .collect();
    assert_eq!(
        outcomes,
        [
            ("rejected".to_owned(), Some("unknown_table".to_owned())),
            ("rejected".to_owned(), Some("invalid_value".to_owned())),
            ("applied".to_owned(), None),
            ("rejected".to_owned(), Some("forbidden".to_owned())),
            ("rejected".to_owned(), Some("invalid_value".to_owned())),
        ]
    );
    let stored: String = sqlx::query_scalar(
        "select first_name from public.guests where tenant_id = $1 and last_name = 'Tables'",
    )
    .bind(tenant)
    .fetch_one(&target.db.pool)
    .await
    .expect("the guest with the odd name");
    assert_eq!(stored, injected_name, "kept as typed, executed never");
    let guests_after: i64 = sqlx::query_scalar("select count(*) from public.guests")
        .fetch_one(&target.db.pool)
        .await
        .expect("the guests table is still there");
    assert_eq!(guests_after, guests_before + 1);

    // Without a token, with a garbage token: 401.
    let anonymous = target
        .http
        .post(target.server.url("/v1/sync/push"))
        .body("{}")
        .send()
        .await
        .expect("answer");
    assert_eq!(anonymous.status().as_u16(), 401);
    let forged = target
        .http
        .get(target.server.url("/v1/sync/pull"))
        .bearer_auth("eyJhbGciOiJub25lIn0.e30.")
        .send()
        .await
        .expect("answer");
    assert_eq!(forged.status().as_u16(), 401);
    // Pull with nonsense parameters: 400, not 500.
    let nonsense = target
        .http
        .get(target.server.url("/v1/sync/pull?after_seq=abc&limit=-5"))
        .bearer_auth(&target.token)
        .send()
        .await
        .expect("answer");
    assert_eq!(nonsense.status().as_u16(), 400);
    assert!(target.healthy().await, "the server is still up");
}

/// Any JSON value, up to a few levels deep.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        ".{0,40}".prop_map(Value::String),
        Just(json!("guests")),
        Just(json!(PROTOCOL_VERSION)),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("protocol_version".to_owned()),
                    Just("changes".to_owned()),
                    Just("change_id".to_owned()),
                    Just("device_seq".to_owned()),
                    Just("table".to_owned()),
                    Just("op".to_owned()),
                    Just("id".to_owned()),
                    Just("values".to_owned()),
                    Just("base".to_owned()),
                    Just("stamp".to_owned()),
                    "[a-z_]{1,12}",
                ],
                inner,
                0..6
            )
            .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

#[test]
fn the_push_decoder_never_panics_and_the_server_never_fails() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let target = runtime.block_on(target());
    let config = ProptestConfig {
        cases: 300,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    proptest!(config, |(document in any_json(), bytes in prop::collection::vec(any::<u8>(), 0..200))| {
        // The decoder alone: an answer, never a panic.
        let _ = serde_json::from_value::<PushRequest>(document.clone());
        let _ = serde_json::from_slice::<PushRequest>(&bytes);
        // Over HTTP: a typed answer below 500.
        for body in [serde_json::to_vec(&document).expect("json"), bytes.clone()] {
            let (status, code, answer) = runtime.block_on(target.push_raw(body));
            prop_assert!(status < 500, "{status} {answer}");
            if status >= 400 {
                prop_assert!(code.is_some(), "an error without a code: {answer}");
            }
        }
    });
    assert!(runtime.block_on(target.healthy()), "the server is still up");
}

/// A request dropped mid-flight (a laptop killed, a link cut) leaves no pooled connection inside
/// a transaction: sqlx 0.8's Postgres `begin` is not cancel-safe (transact-rs/sqlx#4393), and a
/// request dropped while its `BEGIN` was on the wire left its connection in an open transaction
/// that every later request on it ran (and then failed, `25P02`) in; `killed_sync` saw 500s.
/// Here a request's transaction (`Caller::begin_snapshot`, the pull's) is cut off after 0 to
/// 400 µs (until 100 were cut off mid-way), on a pool of one connection, and after each cut that connection must be out of any
/// transaction (in one, `now()` stays at the transaction's start while the clock moves on).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_dropped_while_its_transaction_begins_leaves_its_connection_clean() {
    let db = TestDb::migrated().await;
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(&db.url_as(pms_tests::APP_ROLE))
        .await
        .expect("a pool of one");
    let now = chrono::Utc::now().timestamp();
    let caller = pms_server::serve::caller::Caller {
        claims: pms_server::serve::tokens::Claims {
            sub: Uuid::now_v7(),
            role: "authenticated".to_owned(),
            aud: "authenticated".to_owned(),
            iat: now,
            exp: now + 900,
            app_metadata: pms_server::serve::tokens::AppMetadata {
                tenant_id: Uuid::now_v7(),
                staff_role: "front_desk".to_owned(),
                device_id: Uuid::now_v7(),
            },
        },
    };
    // Deadlines of 0 to 400 µs, round after round, until 100 requests were cut off mid-way (how
    // many a round cuts depends on how loaded the machine is), at most 5,000 tries.
    let mut cut = 0;
    for micros in (0..400_u64).cycle().take(5_000) {
        if cut >= 100 {
            break;
        }
        let begun = tokio::time::timeout(
            std::time::Duration::from_micros(micros),
            caller.begin_snapshot(&pool),
        )
        .await;
        if begun.is_err() {
            cut += 1;
        }
        drop(begun);
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        // the simple protocol: one statement, so outside a transaction both are its start
        let row = sqlx::raw_sql("select now() <> statement_timestamp()")
            .fetch_one(&pool)
            .await
            .expect("the connection answers");
        let inside: bool = sqlx::Row::get(&row, 0);
        assert!(
            !inside,
            "after a request cut off at {micros} µs its connection is still inside a transaction"
        );
    }
    assert!(cut >= 100, "only {cut} requests were cut off");
}
