//! Dual-write of every entity the legacy store holds, on the real Postgres and the real sync
//! server: `sample.jsonl` imported, T-101 in `dual_write` (T-102 not), then a change to each
//! entity through a laptop's push, through the jobs' pass, or (tenants, plans, flags, webhooks:
//! no laptop or job writes them) as the platform's admin does; the store read back with
//! [`Legacy`], a reader written from KV-MODEL.md (keys, camelCase fields, cents): the changed
//! field shows the change, and every other field of the record is as it was in the dump, up to
//! the normalizations the import applies (documented in the cut-over migration).

use std::collections::BTreeMap;

use pms_server::error::RedactedUrl;
use pms_server::jobs::WorkerConfig;
use pms_server::kv_import::dual_write::{self, Switch};
use pms_server::kv_import::load::load_jsonl;
use pms_server::kv_import::source::{Source, DEFAULT_TABLE};
use pms_server::kv_import::states::{self, State};
use pms_server::kv_import::{self, ImportOptions};
use pms_sync_protocol::wire::{PushChange, PushOp, PushRequest, PushResponse, PushStatus};
use pms_sync_protocol::PROTOCOL_VERSION;
use pms_tests::{set_password, TestDb, TestServer};
use reqwest::Client;
use serde_json::{json, Map, Value};
use sqlx::PgPool;
use uuid::Uuid;

const SAMPLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/fixtures/legacy-kv/sample.jsonl"
);
const PASSWORD: &str = "a long enough password";

/// The legacy store as the old panel reads it: a key, a JSON object of camelCase fields (a
/// double-encoded value decoded), money in cents.
struct Legacy(BTreeMap<String, Map<String, Value>>);

impl Legacy {
    fn from_dump() -> Self {
        let text = std::fs::read_to_string(SAMPLE).expect("sample");
        Self(
            text.lines()
                .filter_map(|line| {
                    let record: Value = serde_json::from_str(line).ok()?;
                    let key = record["key"].as_str()?.to_owned();
                    Some((key, Self::object(&record["value"])?))
                })
                .collect(),
        )
    }

    async fn read(pool: &PgPool) -> Self {
        let rows: Vec<(String, Value)> =
            sqlx::query_as("select key, value from public.kv_store_0bdba248")
                .fetch_all(pool)
                .await
                .expect("store");
        Self(
            rows.into_iter()
                .filter_map(|(k, v)| Some((k, Self::object(&v)?)))
                .collect(),
        )
    }

    fn object(value: &Value) -> Option<Map<String, Value>> {
        match value {
            Value::Object(map) => Some(map.clone()),
            Value::String(text) => match serde_json::from_str(text).ok()? {
                Value::Object(map) => Some(map),
                _ => None,
            },
            _ => None,
        }
    }

    fn get(&self, key: &str) -> &Map<String, Value> {
        self.0
            .get(key)
            .unwrap_or_else(|| panic!("no legacy record {key}"))
    }

    /// The first plain record of a prefix for tenant T-101 (or of the platform).
    fn first(&self, prefix: &str) -> (String, Map<String, Value>) {
        self.0
            .iter()
            .find(|(k, _)| {
                k.starts_with(&format!("{prefix}:T-101:"))
                    || (k.starts_with(&format!("{prefix}:"))
                        && !k[prefix.len() + 1..].contains(':'))
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .unwrap_or_else(|| panic!("no {prefix} record"))
    }
}

/// Two legacy values the same up to the import's normalizations: strings compared without case
/// (enums are stored lowercase, emails lowercased; `plan:Pro` is `plan_pro`), numbers whether
/// written as numbers or text,
/// timestamps as instants.
fn same(before: &Value, after: &Value) -> bool {
    let number = |v: &Value| match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    let instant = |v: &Value| {
        v.as_str()
            .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
    };
    match (before, after) {
        _ if before == after => true,
        (Value::String(a), Value::String(b))
            if a.replace([' ', '-', ':'], "_")
                .eq_ignore_ascii_case(&b.replace([' ', '-', ':'], "_")) =>
        {
            true
        }
        _ if instant(before).is_some() && instant(before) == instant(after) => true,
        // a date column keeps the day of a timestamp the dump gave
        (Value::String(a), Value::String(b)) if b.len() == 10 && a.starts_with(b.as_str()) => true,
        _ if number(before).is_some() && number(before) == number(after) => true,
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same(x, y))
        }
        (Value::Object(a), Value::Object(b)) => a
            .iter()
            .all(|(k, v)| b.get(k).is_some_and(|w| same(v, w)) || v.is_null()),
        (Value::String(s), Value::Null) | (Value::Null, Value::String(s)) => s.trim().is_empty(),
        _ => false,
    }
}

/// Fields the tables derive rather than keep as imported (the import's documented
/// normalizations): a guest's totals from the bookings, a member's balances and tier from the
/// ledger, a ledger entry's running balance, a campaign's counts and rates from its recipients.
const DERIVED: &[(&str, &[&str])] = &[
    (
        "guest",
        &[
            "totalBookings",
            "totalSpent",
            "lifetimeValue",
            "averageRating",
            "lastStayAt",
            "loyaltyPoints",
            "loyaltyTier",
            "fullName",
        ],
    ),
    (
        "loyalty_member",
        &[
            "availablePoints",
            "totalPoints",
            "lifetimePoints",
            "currentTier",
            "nextTier",
            "pointsToNextTier",
            "tierAchievedAt",
        ],
    ),
    ("loyalty_tx", &["balanceBefore", "balanceAfter"]),
    (
        "campaign",
        &[
            "targetCount",
            "sentCount",
            "deliveredCount",
            "openedCount",
            "clickedCount",
            "convertedCount",
            "unsubscribedCount",
            "bouncedCount",
            "openRate",
            "clickRate",
            "conversionRate",
        ],
    ),
    (
        "reservation",
        &["numberOfNights", "balanceDue", "paymentStatus"],
    ),
    // what the jobs' pass moved: the billing period, the retention runs
    (
        "subscription",
        &[
            "currentPeriodStart",
            "currentPeriodEnd",
            "status",
            "lastPaymentStatus",
            "cancelledAt",
        ],
    ),
    ("invoice", &["paidAt"]),
    ("policy", &["lastRunAt", "nextRunAt"]),
    (
        "webhook",
        &[
            "failureCount",
            "status",
            "enabled",
            "disabledAt",
            "disabledReason",
        ],
    ),
    // alerts are re-evaluated against the usage the tables hold (the usage job, the alerts' rules)
    (
        "alert",
        &[
            "triggered",
            "triggeredAt",
            "resolvedAt",
            "currentValue",
            "limitValue",
        ],
    ),
];

/// Every field of `before` but `changed` (and the timestamps a write sets) is as it was.
fn unchanged_but(
    key: &str,
    before: &Map<String, Value>,
    after: &Map<String, Value>,
    changed: &[&str],
) {
    for (field, was) in before {
        let prefix = key.split(':').next().unwrap_or_default();
        let derived = DERIVED
            .iter()
            .any(|(p, fields)| *p == prefix && fields.contains(&field.as_str()));
        if derived
            || changed.contains(&field.as_str())
            || ["updatedAt", "updated"].contains(&field.as_str())
        {
            continue;
        }
        let now = after.get(field).unwrap_or(&Value::Null);
        assert!(
            same(was, now),
            "{key}: {field} was {was} in the dump, is {now} after the write-back"
        );
    }
}

struct Laptop {
    token: String,
    seq: i64,
}

impl Laptop {
    async fn sign_in(server: &TestServer, email: &str) -> Self {
        let session: Value = Client::new()
            .post(server.url("/v1/auth/login"))
            .json(&json!({"email": email, "password": PASSWORD, "device_name": "desk"}))
            .send()
            .await
            .expect("login")
            .json()
            .await
            .expect("session");
        Self {
            token: session["access_token"]
                .as_str()
                .unwrap_or_else(|| panic!("no token: {session}"))
                .to_owned(),
            seq: 1,
        }
    }

    /// Pushes one change; it must apply.
    async fn push(
        &mut self,
        server: &TestServer,
        table: &str,
        op: PushOp,
        id: Uuid,
        values: Value,
    ) {
        let Value::Object(values) = values else {
            panic!("values")
        };
        let change = PushChange {
            change_id: Uuid::now_v7(),
            device_seq: self.seq,
            table: table.to_owned(),
            op,
            id,
            values,
            base: Default::default(),
            stamp: None,
        };
        self.seq += 1;
        let response: PushResponse = Client::new()
            .post(server.url("/v1/sync/push"))
            .bearer_auth(&self.token)
            .json(&PushRequest {
                protocol_version: PROTOCOL_VERSION,
                changes: vec![change],
            })
            .send()
            .await
            .expect("push")
            .json()
            .await
            .expect("push body");
        let result = &response.results[0];
        assert!(
            matches!(result.status, PushStatus::Applied | PushStatus::Merged),
            "{table} {id}: {:?} {:?}",
            result.reason,
            result.message
        );
    }
}

/// The row id of the legacy record `key` in `table` (T-101).
async fn row_id(pool: &PgPool, table: &str, legacy: &str) -> Uuid {
    sqlx::query_scalar(&format!(
        "select x.id from public.{table} x join public.tenants t on t.id = x.tenant_id
          where t.external_id = 'T-101' and x.legacy_id = $1"
    ))
    .bind(legacy)
    .fetch_one(pool)
    .await
    .unwrap_or_else(|e| panic!("{table} {legacy}: {e}"))
}

fn last_part(key: &str) -> &str {
    key.rsplit(':').next().unwrap_or_default()
}

#[tokio::test]
async fn every_entity_changed_through_the_server_and_the_jobs_reaches_the_store() {
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_env_filter("error")
        .try_init();
    let db = TestDb::migrated().await;
    let file = std::io::BufReader::new(std::fs::File::open(SAMPLE).expect("sample"));
    load_jsonl(&db.pool, DEFAULT_TABLE, file)
        .await
        .expect("load");
    let source = Source::open(db.pool.clone(), RedactedUrl::new(&db.url()), DEFAULT_TABLE)
        .await
        .expect("store");
    let report = kv_import::run(
        &db.pool,
        &RedactedUrl::new(&db.url()),
        &source,
        &ImportOptions::default(),
    )
    .await
    .expect("import");
    assert!(report.accounted, "{report}");
    dual_write::set(&db.pool, Switch::On).await.expect("on");
    assert!(dual_write::is_on(&db.pool).await.expect("status"));
    for to in [State::Imported, State::DualWrite] {
        states::set(&db.pool, "T-101", to, "test", false, None)
            .await
            .expect("T-101");
    }
    states::set(&db.pool, "T-102", State::Imported, "test", false, None)
        .await
        .expect("T-102");
    let dump = Legacy::from_dump();

    // a laptop of T-101's owner
    let owner = "owner@t-101.example";
    sqlx::query(
        "insert into public.staff (tenant_id, email, display_name, role)
         select id, $1, 'Owner', 'owner' from public.tenants where external_id = 'T-101'",
    )
    .bind(owner)
    .execute(&db.pool)
    .await
    .expect("owner");
    set_password(&db.pool, owner, PASSWORD).await;
    let server = TestServer::start(&db).await;
    let mut laptop = Laptop::sign_in(&server, owner).await;

    // through the laptop's push: (prefix, table, column, value, legacy field, expected)
    let pushed: Vec<(&str, &str, &str, Value, &str, Value)> = vec![
        (
            "guest",
            "guests",
            "notes",
            json!("Prefers the quiet side"),
            "notes",
            json!("Prefers the quiet side"),
        ),
        (
            "pref",
            "guest_preferences",
            "pillow_type",
            json!("feather"),
            "pillowType",
            json!("feather"),
        ),
        (
            "loyalty_program",
            "loyalty_programs",
            "description",
            json!("Points for every stay"),
            "description",
            json!("Points for every stay"),
        ),
        (
            "loyalty_member",
            "loyalty_members",
            "status",
            json!("suspended"),
            "status",
            json!("suspended"),
        ),
        (
            "campaign",
            "marketing_campaigns",
            "description",
            json!("Spring, again"),
            "description",
            json!("Spring, again"),
        ),
        (
            "reservation",
            "reservations",
            "special_requests",
            json!("Late arrival"),
            "specialRequests",
            json!("Late arrival"),
        ),
    ];
    let mut expect: Vec<(String, Map<String, Value>, &str, Value)> = Vec::new();
    for (prefix, table, column, value, field, shown) in pushed {
        let (key, before) = dump.first(prefix);
        let legacy = before
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or(last_part(&key))
            .to_owned();
        let id = row_id(&db.pool, table, &legacy).await;
        laptop
            .push(&server, table, PushOp::Update, id, json!({ column: value }))
            .await;
        expect.push((key, before, field, shown));
    }
    // a ledger entry is only ever added: a new one, under its UUID
    let (member_key, _) = dump.first("loyalty_member");
    let member = row_id(&db.pool, "loyalty_members", last_part(&member_key)).await;
    let (program, guest): (Uuid, Uuid) =
        sqlx::query_as("select program_id, guest_id from public.loyalty_members where id = $1")
            .bind(member)
            .fetch_one(&db.pool)
            .await
            .expect("member");
    let entry = Uuid::now_v7();
    laptop
        .push(
            &server,
            "loyalty_transactions",
            PushOp::Insert,
            entry,
            json!({"member_id": member, "program_id": program, "guest_id": guest, "type": "adjust", "points": 25, "description": "Goodwill"}),
        )
        .await;

    // through the jobs: webhook deliveries are attempted (the endpoint is unreachable), usage,
    // retention, billing and loyalty run
    sqlx::query("update public.webhooks set url = 'http://127.0.0.1:9/gone'")
        .execute(&db.pool)
        .await
        .expect("unreachable endpoints");
    sqlx::query("update public.webhook_deliveries set status = 'pending', next_retry_at = now() - interval '1 minute'")
        .execute(&db.pool)
        .await
        .expect("due deliveries");
    let config = WorkerConfig {
        mailer: pms_server::jobs::mail::Mailer::File {
            path: std::env::temp_dir().join(format!("pms-outbox-{}.jsonl", Uuid::now_v7())),
        },
        ..WorkerConfig::default()
    };
    let pass = pms_server::jobs::run_once(&db.pool, &reqwest::Client::new(), &config).await;
    // The usage job refuses the sample's imported alerts (usage_alerts_notified_check, a defect
    // of its own, noted in the handover); the deliveries are what this test needs from the pass.
    assert!(pass.deliveries.retrying >= 1, "{pass:?}");

    // as the platform's admin: tenants, plans, flags, webhooks, policies, billing rows
    let admin: Vec<(&str, &str, &str, &str, Value)> = vec![
        ("comm", "update public.communication_logs set subject = 'Welcome back' where tenant_id = (select id from public.tenants where external_id = 'T-101')", "", "subject", json!("Welcome back")),
        ("campaign_recipient", "update public.campaign_recipients set error = 'mailbox full' where tenant_id = (select id from public.tenants where external_id = 'T-101')", "", "error", json!("mailbox full")),
        ("tenant", "update public.tenants set name = 'Hotel Aurora Renamed' where external_id = 'T-101'", "tenant:T-101", "name", json!("Hotel Aurora Renamed")),
        ("plan", "update public.plans set display_name = 'Trial (30 days)' where name = 'Trial'", "plan:Trial", "displayName", json!("Trial (30 days)")),
        ("subscription", "update public.subscriptions set cancel_at_period_end = true where tenant_id = (select id from public.tenants where external_id = 'T-101')", "subscription:T-101", "cancelAtPeriodEnd", json!(true)),
        ("usage_alerts", "update public.usage_alerts set notified = true, notified_at = '2025-01-01T00:00:00Z' where tenant_id = (select id from public.tenants where external_id = 'T-101')", "", "notified", json!(true)),
        ("invoice", "update public.invoices set status = 'refunded' where tenant_id = (select id from public.tenants where external_id = 'T-101')", "", "status", json!("refunded")),
        ("flag", "update public.feature_flags set rollout_percentage = 50 where legacy_id = 'ff_1700000001_offline_mode'", "flag:ff_1700000001_offline_mode", "rolloutPercentage", json!(50)),
        ("policy", "update public.data_retention_policies set retention_days = 800 where legacy_id = 'policy_audit_logs'", "policy:policy_audit_logs", "retentionDays", json!(800)),
        ("webhook", "update public.webhooks set description = 'Front office hook' where tenant_id = (select id from public.tenants where external_id = 'T-101')", "", "description", json!("Front office hook")),
    ];
    for (prefix, sql, key, field, shown) in admin {
        sqlx::query(sql)
            .execute(&db.pool)
            .await
            .unwrap_or_else(|e| panic!("{prefix}: {e}"));
        let key = if key.is_empty() {
            match prefix {
                "usage_alerts" => dump.first("alert").0,
                "webhook" => dump
                    .0
                    .iter()
                    .find(|(k, v)| k.starts_with("webhook:") && v["tenantId"] == "T-101")
                    .map(|(k, _)| k.clone())
                    .expect("T-101's webhook"),
                other => dump.first(other).0,
            }
        } else {
            key.to_owned()
        };
        let before = dump.get(&key).clone();
        expect.push((key, before, field, shown));
    }

    // the store read back
    let store = Legacy::read(&db.pool).await;
    let mut prefixes = std::collections::BTreeSet::new();
    for (key, before, field, shown) in &expect {
        let after = store.get(key);
        assert!(
            same(&after[*field], shown),
            "{key}: {field} is {} in the store, expected {shown}",
            after[*field]
        );
        // the url changed above for the jobs; the rest of the webhook is as imported
        let also: &[&str] = if key.starts_with("webhook:") {
            &["url"]
        } else {
            &[]
        };
        unchanged_but(key, before, after, &[&[*field][..], also].concat());
        prefixes.insert(key.split(':').next().unwrap_or_default().to_owned());
    }
    // the jobs' own writes: deliveries attempted
    let delivery_key = dump
        .0
        .iter()
        .find(|(k, _)| {
            k.starts_with("delivery:")
                && dump
                    .0
                    .get(&format!(
                        "webhook:{}",
                        k.split(':').nth(1).unwrap_or_default()
                    ))
                    .is_some_and(|w| w["tenantId"] == "T-101")
        })
        .map(|(k, _)| k.clone())
        .expect("a delivery of T-101");
    let delivery = store.get(&delivery_key);
    assert!(
        delivery["attemptCount"].as_i64().unwrap_or(0) >= 1
            && delivery["status"] != json!("success"),
        "{delivery_key}: {delivery:?}"
    );
    prefixes.insert("delivery".to_owned());
    let added = store.get(&format!("loyalty_tx:T-101:{entry}"));
    assert_eq!(
        (added["points"].clone(), added["type"].clone()),
        (json!(25), json!("adjust"))
    );
    assert_eq!(added["memberId"], json!(last_part(&member_key)));
    prefixes.insert("loyalty_tx".to_owned());
    assert_eq!(
        prefixes.len(),
        18,
        "every prefix of KV-MODEL.md's mapped keys: {prefixes:?}"
    );

    // T-102 is not in dual_write: its records are as in the dump
    sqlx::query("update public.guests set notes = 'not written back' where tenant_id = (select id from public.tenants where external_id = 'T-102')")
        .execute(&db.pool)
        .await
        .expect("T-102's guests");
    let store = Legacy::read(&db.pool).await;
    for (key, before) in dump.0.iter().filter(|(k, _)| k.starts_with("guest:T-102:")) {
        assert_eq!(store.0.get(key), Some(before), "{key}");
    }
}
