//! The legacy import (`pms-server kv-import`) on the real Postgres, with `sample.jsonl` (a dump
//! of the old admin panel's store, dirt included) loaded into `kv_store_0bdba248`:
//!
//! - every record is accounted for (imported + quarantined + left + unknown = total), the
//!   verification pass finds every imported record in its row;
//! - the mapped values, spot-checked in every table against the dump, and each kind of dirt the
//!   sample has: double-encoded values, numbers as strings, case-variant emails, empty last
//!   names, a non-ISO date, an ambiguous date and impossible dates (quarantined), a booking whose
//!   guest is gone, running balances that do not add up, both plan forms;
//! - confirmation numbers 1..n per tenant in creation order, legacy codes searchable; rooms never
//!   double-booked;
//! - a second run changes nothing (not even `updated_at`, nor the change feed);
//! - a booking's legacy paid amount becomes its opening payment, so the desk's first payment on
//!   the stay adds to it instead of replacing it;
//! - the store in another database; dual-write writes the desk's edits back in the legacy shape,
//!   and re-importing them changes nothing; switched off, it stops;
//! - bad input: a missing store table, values of the wrong type (quarantined, the key and field
//!   named, the rest imported).
//!
//! - dumps of other seeds and sizes, made by `gen_kv.py` at test time (dirt on, and one clean):
//!   every record accounted for per prefix, the quarantine holding each quarantined one with its
//!   reason, the verification passing.
//!
//! Killing the binary mid-run and running it again is in `server/tests/kv_import_cli.rs`.

use std::collections::{BTreeMap, HashMap};

use pms_server::error::RedactedUrl;
use pms_server::kv_import::dual_write::{self, Switch};
use pms_server::kv_import::load::load_jsonl;
use pms_server::kv_import::report::Report;
use pms_server::kv_import::source::{Source, DEFAULT_TABLE};
use pms_server::kv_import::states::{self, State};
use pms_server::kv_import::{self, ImportOptions};
use pms_tests::{begin_as, Claims, TestDb};
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

const SAMPLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/fixtures/legacy-kv/sample.jsonl"
);

/// The dump as key → value.
fn sample() -> BTreeMap<String, Value> {
    std::fs::read_to_string(SAMPLE)
        .expect("tests/fixtures/legacy-kv/sample.jsonl")
        .lines()
        .map(|line| {
            let record: Value = serde_json::from_str(line).expect("a JSON line");
            (
                record["key"].as_str().expect("key").to_owned(),
                record["value"].clone(),
            )
        })
        .collect()
}

/// A value as an object, decoding a double-encoded one.
fn object(value: &Value) -> Value {
    match value {
        Value::String(text) => serde_json::from_str(text).expect("a double-encoded object"),
        other => other.clone(),
    }
}

async fn load_sample(pool: &PgPool) {
    let file = std::io::BufReader::new(std::fs::File::open(SAMPLE).expect("sample"));
    let loaded = load_jsonl(pool, DEFAULT_TABLE, file)
        .await
        .expect("load the sample");
    assert_eq!(loaded, 1676);
}

async fn import_from(db: &TestDb, store: &TestDb) -> Report {
    let source = Source::open(
        store.pool.clone(),
        RedactedUrl::new(&store.url()),
        DEFAULT_TABLE,
    )
    .await
    .expect("the store is there");
    kv_import::run(
        &db.pool,
        &RedactedUrl::new(&db.url()),
        &source,
        &ImportOptions::default(),
    )
    .await
    .expect("the import runs")
}

async fn import(db: &TestDb) -> Report {
    import_from(db, db).await
}

async fn tenant(pool: &PgPool, legacy: &str) -> Uuid {
    sqlx::query_scalar("select id from public.tenants where external_id = $1")
        .bind(legacy)
        .fetch_one(pool)
        .await
        .unwrap_or_else(|e| panic!("tenant {legacy}: {e}"))
}

/// One row of `table` as JSON, found by tenant and legacy id.
async fn row(pool: &PgPool, table: &str, tenant_legacy: &str, legacy_id: &str) -> Value {
    sqlx::query_scalar(&format!(
        "select to_jsonb(t) from public.{table} t
           join public.tenants n on n.id = t.tenant_id
          where n.external_id = $1 and t.legacy_id = $2"
    ))
    .bind(tenant_legacy)
    .bind(legacy_id)
    .fetch_one(pool)
    .await
    .unwrap_or_else(|e| panic!("{table} {tenant_legacy}/{legacy_id}: {e}"))
}

/// The first record of a prefix in the dump (plain JSON, not one of the dirty ones).
fn first<'a>(records: &'a BTreeMap<String, Value>, prefix: &str) -> (&'a str, &'a Value) {
    records
        .iter()
        .find(|(k, v)| k.starts_with(&format!("{prefix}:")) && v.is_object())
        .map(|(k, v)| (k.as_str(), v))
        .unwrap_or_else(|| panic!("no {prefix} record"))
}

/// A timestamp of a row (as `to_jsonb` renders it, in the session's zone) or of the dump.
fn instant(value: &Value) -> chrono::DateTime<chrono::Utc> {
    let text = value
        .as_str()
        .unwrap_or_else(|| panic!("not a timestamp: {value}"));
    chrono::DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|e| panic!("{text}: {e}"))
        .with_timezone(&chrono::Utc)
}

#[tokio::test]
async fn every_record_of_the_sample_is_accounted_for_and_verified() {
    let db = TestDb::migrated().await;
    load_sample(&db.pool).await;
    let report = import(&db).await;

    let t = &report.totals;
    assert_eq!(t.total, 1676);
    assert!(report.accounted, "{report}");
    assert_eq!(t.imported + t.quarantined + t.left + t.unknown, t.total);
    assert_eq!((t.left, t.unknown, t.quarantined), (16, 1, 2), "{report}");
    assert_eq!(t.imported, 1657);
    assert_eq!(t.imported, t.inserted, "a first run inserts everything");
    let line = |prefix: &str| {
        report
            .prefixes
            .iter()
            .find(|p| p.prefix == prefix)
            .unwrap_or_else(|| panic!("no line for {prefix}"))
    };
    assert_eq!(line("legacy_thing").disposition, "unknown");
    for left in ["usage", "audit", "integration", "platform"] {
        assert_eq!(line(left).disposition, "left", "{left}");
    }
    assert_eq!(line("guest").notes["double-encoded value decoded"], 3);
    assert_eq!(line("reservation").quarantined, 2);

    // the records in the quarantine, with the reason
    let quarantined: Vec<(String, String, String)> =
        sqlx::query_as("select key, reason, value from kv_import.import_quarantine order by key")
            .fetch_all(&db.pool)
            .await
            .expect("quarantine");
    let keys: Vec<&str> = quarantined.iter().map(|q| q.0.as_str()).collect();
    assert_eq!(
        keys,
        [
            "reservation:T-102:RES-108",
            "reservation:tn_1634567890_abc123:RES-108"
        ]
    );
    assert!(
        quarantined[0].1.starts_with("impossible dates"),
        "{quarantined:?}"
    );
    assert!(quarantined[1].1.contains("ambiguous"), "{quarantined:?}");
    let stored: Value = serde_json::from_str(&quarantined[0].2).expect("the value, verbatim");
    assert_eq!(stored["id"], "RES-108");

    // the rows, counted per table, match the report
    for line in report.prefixes.iter().filter(|p| p.disposition == "mapped") {
        let table = line.table.expect("a table");
        // tenants keep their legacy id in external_id
        let column = if table == "tenants" {
            "external_id"
        } else {
            "legacy_id"
        };
        let rows: i64 = sqlx::query_scalar(&format!(
            "select count(*) from public.{table} where {column} is not null"
        ))
        .fetch_one(&db.pool)
        .await
        .unwrap_or_else(|e| panic!("count {table}: {e}"));
        assert_eq!(rows as u64, line.imported, "{table}");
    }

    let verification = report.verification.as_ref().expect("verified");
    assert!(verification.ok, "{report}");
    for check in &verification.tables {
        assert_eq!(
            check.store_checksum, check.table_checksum,
            "{}",
            check.table
        );
    }
}

/// A dump from the generator the sample came from (`gen_kv.py`, edge cases on unless `clean`).
fn generated(tenants: u32, guests: u32, seed: u32, clean: bool) -> Vec<u8> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/legacy-kv/gen_kv.py");
    let mut command = std::process::Command::new("python3");
    command.arg(script).args([
        "--tenants",
        &tenants.to_string(),
        "--guests",
        &guests.to_string(),
        "--seed",
        &seed.to_string(),
    ]);
    if clean {
        command.arg("--no-edge-cases");
    }
    let output = command.output().expect("python3 runs gen_kv.py");
    assert!(
        output.status.success(),
        "gen_kv.py: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

#[tokio::test]
async fn generated_dumps_of_other_seeds_and_sizes_are_accounted_for_per_prefix_and_verified() {
    for (tenants, guests, seed, clean) in
        [(2, 60, 11, false), (4, 150, 23, false), (1, 250, 99, true)]
    {
        let case = format!(
            "--tenants {tenants} --guests {guests} --seed {seed}{}",
            if clean { " --no-edge-cases" } else { "" }
        );
        let dump = generated(tenants, guests, seed, clean);
        // the records of the store: one per distinct key (a repeated key keeps its last value)
        let mut per_prefix: BTreeMap<String, u64> = BTreeMap::new();
        let mut keys = std::collections::BTreeSet::new();
        for line in String::from_utf8_lossy(&dump).lines() {
            let record: Value = serde_json::from_str(line).expect("a JSON line");
            let key = record["key"].as_str().expect("a key").to_owned();
            if keys.insert(key.clone()) {
                let prefix = key.split(':').next().unwrap_or_default().to_owned();
                *per_prefix.entry(prefix).or_default() += 1;
            }
        }
        let db = TestDb::migrated().await;
        let loaded = load_jsonl(&db.pool, DEFAULT_TABLE, std::io::BufReader::new(&dump[..]))
            .await
            .expect("load the dump");
        assert_eq!(loaded, keys.len() as u64, "{case}");
        let report = import(&db).await;

        let t = &report.totals;
        assert_eq!(t.total, keys.len() as u64, "{case}: {report}");
        assert!(report.accounted, "{case}: {report}");
        let reported: BTreeMap<String, u64> = report
            .prefixes
            .iter()
            .filter(|p| p.seen > 0)
            .map(|p| (p.prefix.clone(), p.seen))
            .collect();
        assert_eq!(reported, per_prefix, "{case}: records per prefix");
        for p in &report.prefixes {
            assert_eq!(
                p.imported + p.quarantined + p.left + p.unknown,
                p.seen,
                "{case}: {} is not accounted for: {report}",
                p.prefix
            );
            assert_eq!(
                p.imported,
                p.inserted + p.updated + p.unchanged,
                "{case}: {}",
                p.prefix
            );
        }
        // every quarantined record is in the quarantine with its reason
        let reasons: Vec<(String, String)> =
            sqlx::query_as("select key, reason from kv_import.import_quarantine order by key")
                .fetch_all(&db.pool)
                .await
                .expect("quarantine");
        assert_eq!(reasons.len() as u64, t.quarantined, "{case}: {reasons:?}");
        assert!(
            reasons
                .iter()
                .all(|(key, reason)| keys.contains(key) && !reason.trim().is_empty()),
            "{case}: {reasons:?}"
        );
        if clean {
            assert_eq!(t.quarantined, 0, "{case}: {reasons:?}");
        }
        // and the imported ones are rows, each equal to its record
        let verification = report.verification.as_ref().expect("verified");
        assert!(verification.ok, "{case}: {report}");
        for check in &verification.tables {
            assert_eq!(
                (check.found, check.equal),
                (check.store, check.store),
                "{case}: {}",
                check.table
            );
            assert_eq!(
                check.store_checksum, check.table_checksum,
                "{case}: {}",
                check.table
            );
        }
    }
}

#[tokio::test]
async fn mapped_values_match_the_dump_in_every_table() {
    let db = TestDb::migrated().await;
    load_sample(&db.pool).await;
    import(&db).await;
    let records = sample();
    let pool = &db.pool;

    // plans: price in cents, limits, the legacy id
    let pro: Value =
        sqlx::query_scalar("select to_jsonb(p) from public.plans p where name = 'Pro'")
            .fetch_one(pool)
            .await
            .expect("plan");
    assert_eq!(pro["legacy_id"], "plan_pro");
    assert_eq!(pro["price_cents"], 14900);
    assert_eq!(pro["limit_bookings_per_month"], 1500);
    assert_eq!(
        pro["features"],
        serde_json::json!(["reservations", "crm", "loyalty", "campaigns"])
    );

    // tenants: both id forms, plan, owner, creation time
    let (key, legacy) = first(&records, "tenant");
    let legacy_id = key.trim_start_matches("tenant:");
    let t: Value = sqlx::query_scalar(
        "select to_jsonb(t) || jsonb_build_object('plan', p.name) from public.tenants t
           join public.plans p on p.id = t.plan_id where t.external_id = $1",
    )
    .bind(legacy_id)
    .fetch_one(pool)
    .await
    .expect("tenant");
    assert_eq!(t["name"], legacy["name"]);
    assert_eq!(t["subdomain"], legacy["subdomain"]);
    assert_eq!(t["plan"], legacy["plan"]);
    assert_eq!(t["owner_email"], legacy["owner"]);
    assert_eq!(instant(&t["created_at"]), instant(&legacy["createdAt"]));
    let old_form = tenant(pool, "tn_1634567890_abc123").await;
    assert_ne!(old_form, Uuid::nil());

    // subscriptions: the plan referred to as plan:Pro and as plan_enterprise
    for (tenant_legacy, plan) in [("T-101", "Pro"), ("T-102", "Enterprise")] {
        let name: String = sqlx::query_scalar(
            "select p.name from public.subscriptions s join public.plans p on p.id = s.plan_id
               join public.tenants t on t.id = s.tenant_id where t.external_id = $1",
        )
        .bind(tenant_legacy)
        .fetch_one(pool)
        .await
        .expect("subscription");
        assert_eq!(name, plan);
    }

    // invoices: cents, generated total, a paid one dated
    let (key, legacy) = first(&records, "invoice");
    let invoice = row(
        pool,
        "invoices",
        "T-101",
        key.rsplit(':').next().unwrap_or_default(),
    )
    .await;
    assert_eq!(invoice["amount_cents"], legacy["amount"]);
    assert_eq!(invoice["total_cents"], legacy["total"]);
    assert_eq!(invoice["status"], legacy["status"]);
    assert!(!invoice["paid_at"].is_null());
    assert_eq!(
        invoice["line_items"][0]["amount_cents"],
        legacy["lineItems"][0]["amount"]
    );

    // usage alerts
    let (key, legacy) = first(&records, "alert");
    let alert = row(
        pool,
        "usage_alerts",
        "T-101",
        key.rsplit(':').next().unwrap_or_default(),
    )
    .await;
    assert_eq!(alert["metric"], legacy["metric"]);
    assert_eq!(alert["threshold_percent"], legacy["threshold"]);
    assert_eq!(
        instant(&alert["triggered_at"]),
        instant(&legacy["triggeredAt"])
    );

    // feature flags: platform rows and a tenant's override naming the tenant by its new id
    let flags: Vec<(Option<Uuid>, String, String, Vec<Uuid>)> = sqlx::query_as(
        "select tenant_id, key, status, disabled_tenants from public.feature_flags order by tenant_id nulls first, key",
    )
    .fetch_all(pool)
    .await
    .expect("flags");
    assert_eq!(flags.len(), 5);
    let t101 = tenant(pool, "T-101").await;
    let override_101 = flags.iter().find(|f| f.0 == Some(t101)).expect("override");
    assert_eq!(
        (override_101.2.as_str(), override_101.3.clone()),
        ("disabled", vec![t101])
    );

    // retention policies, webhooks and their deliveries (tenant from the webhook)
    let days: i32 = sqlx::query_scalar(
        "select retention_days from public.data_retention_policies where policy_type = 'communication_logs' and tenant_id is null",
    )
    .fetch_one(pool)
    .await
    .expect("policy");
    assert_eq!(days, 1095);
    let (key, legacy) = first(&records, "webhook");
    let hook = row(
        pool,
        "webhooks",
        legacy["tenantId"].as_str().unwrap_or_default(),
        key.trim_start_matches("webhook:"),
    )
    .await;
    assert_eq!(hook["url"], legacy["url"]);
    assert_eq!(hook["failure_count"], legacy["failureCount"]);
    let (key, legacy) = first(&records, "delivery");
    let delivery: Value = sqlx::query_scalar(
        "select to_jsonb(d) || jsonb_build_object('hook', w.legacy_id) from public.webhook_deliveries d
           join public.webhooks w on w.tenant_id = d.tenant_id and w.id = d.webhook_id
          where d.legacy_id = $1",
    )
    .bind(key.trim_start_matches("delivery:"))
    .fetch_one(pool)
    .await
    .expect("delivery");
    assert_eq!(delivery["hook"], legacy["webhookId"]);
    assert_eq!(delivery["response_status"], legacy["statusCode"]);
    assert_eq!(delivery["attempt_count"], legacy["attemptCount"]);

    // guests: names in any script, segment and VIP lower-cased, consent, tags
    let (key, legacy) = first(&records, "guest");
    let guest = row(
        pool,
        "guests",
        "T-101",
        key.rsplit(':').next().unwrap_or_default(),
    )
    .await;
    assert_eq!(guest["first_name"], legacy["firstName"]);
    assert_eq!(guest["last_name"], legacy["lastName"]);
    assert_eq!(guest["full_name"], legacy["fullName"]);
    assert_eq!(guest["email"], legacy["email"]);
    assert_eq!(
        guest["segment"],
        legacy["segment"]
            .as_str()
            .unwrap_or_default()
            .to_lowercase()
    );
    assert_eq!(
        guest["contact_by_sms"],
        legacy["communicationPreferences"]["sms"]
    );
    assert_eq!(
        guest["marketing_consent"],
        legacy["communicationPreferences"]["marketing"]
    );
    assert_eq!(guest["tags"], legacy["tags"]);
    assert_eq!(instant(&guest["created_at"]), instant(&legacy["createdAt"]));

    // preferences, communications
    let (key, legacy) = first(&records, "pref");
    let pref = row(
        pool,
        "guest_preferences",
        "T-101",
        legacy["id"].as_str().unwrap_or_default(),
    )
    .await;
    assert_eq!(pref["bed_type"], legacy["bedType"]);
    assert_eq!(pref["smoking"], "non_smoking");
    assert_eq!(pref["dietary_restrictions"], legacy["dietaryRestrictions"]);
    assert!(key.ends_with(legacy["guestId"].as_str().unwrap_or("?")));
    let (key, legacy) = first(&records, "comm");
    let comm = row(
        pool,
        "communication_logs",
        "T-101",
        key.rsplit(':').next().unwrap_or_default(),
    )
    .await;
    assert_eq!(comm["type"], legacy["type"]);
    assert_eq!(comm["direction"], legacy["direction"]);
    assert_eq!(
        instant(&comm["delivered_at"]),
        instant(&legacy["deliveredAt"])
    );

    // loyalty: the program's tiers, a member's legacy number, ledger entries
    let (key, legacy) = first(&records, "loyalty_program");
    let program = row(
        pool,
        "loyalty_programs",
        "T-101",
        key.rsplit(':').next().unwrap_or_default(),
    )
    .await;
    assert_eq!(
        program["tiers"][1]["required_points"],
        legacy["tiers"][1]["requiredPoints"]
    );
    assert_eq!(
        program["points_expiry_days"],
        legacy["pointsExpirationDays"]
    );
    let (key, legacy) = first(&records, "loyalty_member");
    let member = row(
        pool,
        "loyalty_members",
        "T-101",
        key.rsplit(':').next().unwrap_or_default(),
    )
    .await;
    assert_eq!(
        member["legacy_membership_number"],
        legacy["membershipNumber"]
    );
    assert_eq!(member["points_balance"], legacy["availablePoints"]);
    let (key, legacy) = first(&records, "loyalty_tx");
    let entry = row(
        pool,
        "loyalty_transactions",
        "T-101",
        key.rsplit(':').next().unwrap_or_default(),
    )
    .await;
    assert_eq!(entry["points"], legacy["points"]);
    assert_eq!(entry["type"], legacy["type"]);

    // marketing
    let (key, legacy) = first(&records, "campaign");
    let campaign = row(
        pool,
        "marketing_campaigns",
        "T-101",
        key.rsplit(':').next().unwrap_or_default(),
    )
    .await;
    assert_eq!(campaign["name"], legacy["name"]);
    assert_eq!(campaign["target_segments"], serde_json::json!(["leisure"]));
    let (key, legacy) = first(&records, "campaign_recipient");
    let recipient = row(
        pool,
        "campaign_recipients",
        "T-101",
        key.rsplit(':').next().unwrap_or_default(),
    )
    .await;
    assert_eq!(recipient["status"], legacy["status"]);
    assert_eq!(recipient["email"], legacy["email"]);

    // reservations: cents, dates, the legacy code, the room type and room found by name
    let (key, legacy) = first(&records, "reservation");
    let booking: Value = sqlx::query_scalar(
        "select to_jsonb(r) || jsonb_build_object('room_type', rt.name, 'room', rm.number, 'property_currency', p.currency)
           from public.reservations r
           join public.tenants t on t.id = r.tenant_id
           join public.properties p on p.tenant_id = r.tenant_id and p.id = r.property_id
           join public.room_types rt on rt.tenant_id = r.tenant_id and rt.id = r.room_type_id
           left join public.rooms rm on rm.tenant_id = r.tenant_id and rm.id = r.room_id
          where t.external_id = 'T-101' and r.legacy_id = $1",
    )
    .bind(key.rsplit(':').next().unwrap_or_default())
    .fetch_one(pool)
    .await
    .expect("booking");
    assert_eq!(
        booking["legacy_confirmation_code"],
        legacy["confirmationNumber"]
    );
    assert_eq!(booking["check_in_date"], legacy["checkInDate"]);
    assert_eq!(booking["nights"], legacy["numberOfNights"]);
    assert_eq!(booking["total_amount_cents"], legacy["totalAmount"]);
    assert_eq!(booking["balance_due_cents"], legacy["balanceDue"]);
    assert_eq!(booking["room_type"], legacy["roomCategory"]);
    assert_eq!(booking["property_currency"], "EUR");
    if booking["room"].is_string() {
        assert_eq!(booking["room"], legacy["roomNumber"]);
    }
    // the legacy code stays searchable
    let found: i64 = sqlx::query_scalar(
        "select count(*) from public.reservations where legacy_confirmation_code like $1",
    )
    .bind(format!(
        "{}%",
        &legacy["confirmationNumber"].as_str().unwrap_or_default()[..12]
    ))
    .fetch_one(pool)
    .await
    .expect("search by code");
    assert!(found >= 1);

    // one property per tenant, room types from the categories, rooms from the numbers
    let inventory: Vec<(String, i64, i64, i64)> = sqlx::query_as(
        "select t.external_id,
                (select count(*) from public.properties p where p.tenant_id = t.id),
                (select count(*) from public.room_types rt where rt.tenant_id = t.id),
                (select count(*) from public.rooms rm where rm.tenant_id = t.id)
           from public.tenants t order by 1",
    )
    .fetch_all(pool)
    .await
    .expect("inventory");
    for (tenant, properties, types, rooms) in inventory {
        assert_eq!((properties, types), (1, 5), "{tenant}");
        assert!((30..=40).contains(&rooms), "{tenant}: {rooms} rooms");
    }
}

#[tokio::test]
async fn the_dirt_of_the_sample_is_repaired_or_quarantined() {
    let db = TestDb::migrated().await;
    load_sample(&db.pool).await;
    let report = import(&db).await;
    let records = sample();
    let pool = &db.pool;
    let legacy_of = |key: &str| key.rsplit(':').next().unwrap_or_default().to_owned();
    let tenant_of = |key: &str| key.split(':').nth(1).unwrap_or_default().to_owned();

    // double-encoded guests are imported with their fields
    let twice: Vec<&String> = records
        .iter()
        .filter(|(k, v)| k.starts_with("guest:") && v.is_string())
        .map(|(k, _)| k)
        .collect();
    assert_eq!(twice.len(), 3);
    for key in twice {
        let legacy = object(&records[key]);
        let guest = row(pool, "guests", &tenant_of(key), &legacy_of(key)).await;
        assert_eq!(guest["first_name"], legacy["firstName"], "{key}");
        assert_eq!(guest["email"], legacy["email"], "{key}");
    }
    // numbers stored as strings, case-variant emails, empty last names
    for (key, value) in records.iter().filter(|(k, _)| k.starts_with("guest:")) {
        let value = object(value);
        let (tenant, legacy) = (tenant_of(key), legacy_of(key));
        let guest = || row(pool, "guests", &tenant, &legacy);
        if value["totalSpent"].is_string() {
            // read (and its dirt noted), but the metrics are recomputed from the guest's stays
            let g = guest().await;
            assert!(g["total_spent_cents"].is_number(), "{key}");
        }
        if let Some(email) = value["email"].as_str().filter(|e| *e != e.to_lowercase()) {
            assert_eq!(guest().await["email"], email.to_lowercase(), "{key}");
        }
        if value["lastName"] == "" {
            let g = guest().await;
            assert_eq!(
                (g["last_name"].as_str(), g["full_name"].clone()),
                (Some(""), value["firstName"].clone())
            );
        }
    }

    // the booking whose guest is gone: no link, the booked name kept, listed in the report
    let (orphan, value) = records
        .iter()
        .find(|(k, v)| {
            k.starts_with("reservation:T-101") && v["guestId"] == "guest_0000000000_gone00"
        })
        .expect("the orphan booking");
    let booking = row(pool, "reservations", "T-101", &legacy_of(orphan)).await;
    assert!(booking["guest_id"].is_null());
    assert_eq!(booking["guest_name"], value["guestName"]);
    assert!(report.bookings_without_guest.iter().any(|k| k == orphan));
    assert_eq!(report.bookings_without_guest_count, 3);

    // the check-in date written 19/03/2024 style
    let (slashed, value) = records
        .iter()
        .find(|(k, v)| {
            k.starts_with("reservation:T-101")
                && v["checkInDate"].as_str().is_some_and(|d| d.contains('/'))
        })
        .expect("a DD/MM/YYYY date");
    let day_month_year: Vec<&str> = value["checkInDate"]
        .as_str()
        .unwrap_or_default()
        .split('/')
        .collect();
    let booking = row(pool, "reservations", "T-101", &legacy_of(slashed)).await;
    assert_eq!(
        booking["check_in_date"],
        format!(
            "{}-{}-{}",
            day_month_year[2], day_month_year[1], day_month_year[0]
        )
    );

    // running balances: every entry adds up, each member's balance is its ledger, and the entries
    // whose legacy balance did not add up are reported with the difference
    let broken: i64 = sqlx::query_scalar(
        "select count(*) from public.loyalty_transactions where balance_after <> balance_before + points",
    )
    .fetch_one(pool)
    .await
    .expect("ledger");
    assert_eq!(broken, 0);
    let off: i64 = sqlx::query_scalar(
        "select count(*) from public.loyalty_members m
          where m.points_balance <> (select coalesce(sum(points), 0) from public.loyalty_transactions t
                                      where t.tenant_id = m.tenant_id and t.member_id = m.id)",
    )
    .fetch_one(pool)
    .await
    .expect("balances");
    assert_eq!(off, 0);
    // guest metrics follow the imported bookings (the import refreshes them once, at the end)
    let (guests_with_stays, metrics_off): (i64, i64) = sqlx::query_as(
        "select count(*) filter (where g.total_bookings > 0),
                count(*) filter (where (g.total_bookings, g.total_spent_cents, g.last_stay_at) is distinct from
                                       (s.bookings, s.spent, s.last_stay))
           from public.guests g
           cross join lateral (
                 select count(*) filter (where r.status not in ('cancelled', 'no_show') and r.deleted_at is null) as bookings,
                        coalesce(sum(r.total_amount_cents) filter (where r.checked_out_at is not null and r.deleted_at is null), 0) as spent,
                        max(r.checked_out_at) filter (where r.deleted_at is null) as last_stay
                   from public.reservations r where r.tenant_id = g.tenant_id and r.guest_id = g.id) s",
    )
    .fetch_one(pool)
    .await
    .expect("guest metrics");
    assert!(guests_with_stays > 100, "{guests_with_stays}");
    assert_eq!(metrics_off, 0);
    // every imported row reaches the laptops: it is in its tenant's change feed (members are
    // recorded per statement inside the import, by row elsewhere), and a member moved by the
    // ledger after its insert has a change in the ledger's transaction too
    for table in [
        "guests",
        "reservations",
        "loyalty_members",
        "loyalty_transactions",
        "guest_preferences",
    ] {
        let (rows, unfed): (i64, i64) = sqlx::query_as(&format!(
            "select count(*), count(*) filter (where not exists (
                    select 1 from app.changes c
                     where c.tenant_id = t.tenant_id and c.table_name = '{table}' and c.row_id = t.id))
               from public.{table} t"
        ))
        .fetch_one(pool)
        .await
        .expect("feed");
        assert!(rows > 0, "{table}");
        assert_eq!(unfed, 0, "{table} rows missing from the feed");
    }
    let members_moved_unfed: i64 = sqlx::query_scalar(
        "select count(*) from public.loyalty_members m
          where exists (select 1 from public.loyalty_transactions t
                         where t.tenant_id = m.tenant_id and t.member_id = m.id)
            and (select count(*) from app.changes c
                  where c.tenant_id = m.tenant_id and c.table_name = 'loyalty_members' and c.row_id = m.id) < 2",
    )
    .fetch_one(pool)
    .await
    .expect("member changes");
    assert_eq!(members_moved_unfed, 0);
    let inconsistent = records
        .iter()
        .filter(|(k, v)| {
            k.starts_with("loyalty_tx:")
                && v["balanceAfter"].as_i64()
                    != Some(
                        v["balanceBefore"].as_i64().unwrap_or(0)
                            + v["points"].as_i64().unwrap_or(0),
                    )
        })
        .count();
    assert_eq!(inconsistent, 3);
    assert_eq!(report.ledger.entries_recomputed, 3);
    assert_eq!(report.ledger.points_difference, 150);
}

#[tokio::test]
async fn confirmation_numbers_follow_creation_order_and_rooms_are_never_double_booked() {
    let db = TestDb::migrated().await;
    load_sample(&db.pool).await;
    // Two bookings whose keys sort first (RES-1000 < RES-101) but were created last and first.
    for (id, created) in [
        ("RES-1000", "2031-01-01T00:00:00.000Z"),
        ("RES-1001", "2020-01-01T00:00:00.000Z"),
    ] {
        sqlx::query("insert into public.kv_store_0bdba248 (key, value) values ($1, $2)")
            .bind(format!("reservation:T-101:{id}"))
            .bind(serde_json::json!({"id": id, "guestName": "Late Early", "status": "checked_out",
                                     "checkInDate": "2031-02-01", "checkOutDate": "2031-02-03",
                                     "roomCategory": "Twin Room", "roomNumber": "999", "currency": "EUR",
                                     "createdAt": created}))
            .execute(&db.pool)
            .await
            .expect("insert a booking");
    }
    let report = import(&db).await;
    let pool = &db.pool;

    // 1..n per tenant, in creation order
    let out_of_order: Vec<(String, i64, i64)> = sqlx::query_as(
        "select legacy_id, confirmation_number, expected from (
            select legacy_id, confirmation_number,
                   row_number() over (partition by tenant_id order by created_at, legacy_id) as expected
              from public.reservations) r
          where confirmation_number <> expected",
    )
    .fetch_all(pool)
    .await
    .expect("numbers");
    assert!(out_of_order.is_empty(), "{out_of_order:?}");
    let per_tenant: Vec<(i64, i64)> = sqlx::query_as(
        "select count(*), max(confirmation_number) from public.reservations group by tenant_id",
    )
    .fetch_all(pool)
    .await
    .expect("counts");
    assert!(per_tenant.iter().all(|(n, max)| n == max), "{per_tenant:?}");
    assert_eq!(report.confirmation_numbers.len(), 3);
    let number = |legacy: &'static str| async move {
        let n: i64 = sqlx::query_scalar(
            "select r.confirmation_number from public.reservations r join public.tenants t on t.id = r.tenant_id
              where t.external_id = 'T-101' and r.legacy_id = $1",
        )
        .bind(legacy)
        .fetch_one(pool)
        .await
        .expect("number");
        n
    };
    assert_eq!(number("RES-1001").await, 1, "created first");
    let last: i64 = sqlx::query_scalar(
        "select max(confirmation_number) from public.reservations r join public.tenants t on t.id = r.tenant_id
          where t.external_id = 'T-101'",
    )
    .fetch_one(pool)
    .await
    .expect("last");
    assert_eq!(number("RES-1000").await, last, "created last");

    // no two active stays in one room for overlapping nights; the ones that lost their room are
    // reported, active, and without a room
    let overlapping: i64 = sqlx::query_scalar(
        "select count(*) from public.reservations a join public.reservations b
            on a.tenant_id = b.tenant_id and a.room_id = b.room_id and a.id < b.id
         where a.status in ('pending', 'confirmed', 'checked_in') and b.status in ('pending', 'confirmed', 'checked_in')
           and daterange(a.check_in_date, a.check_out_date) && daterange(b.check_in_date, b.check_out_date)",
    )
    .fetch_one(pool)
    .await
    .expect("overlaps");
    assert_eq!(overlapping, 0);
    assert_eq!(
        report.rooms_to_reassign_count,
        report.rooms_to_reassign.len() as u64
    );
    for reassign in &report.rooms_to_reassign {
        let (tenant_legacy, legacy) = {
            let mut parts = reassign.key.split(':').skip(1);
            (
                parts.next().unwrap_or_default().to_owned(),
                parts.next().unwrap_or_default().to_owned(),
            )
        };
        let booking = row(pool, "reservations", &tenant_legacy, &legacy).await;
        assert!(booking["room_id"].is_null(), "{}", reassign.key);
        assert!(["pending", "confirmed", "checked_in"]
            .contains(&booking["status"].as_str().unwrap_or_default()));
    }
}

/// Every row of every table of the schema, as JSON, sorted (what a second run must not change).
async fn everything(pool: &PgPool) -> BTreeMap<String, Vec<String>> {
    let tables: Vec<String> = sqlx::query_scalar(
        "select format('%I.%I', n.nspname, c.relname) from pg_class c join pg_namespace n on n.oid = c.relnamespace
          where n.nspname in ('public', 'app') and c.relkind = 'r' and c.relname <> '_sqlx_migrations'
          order by 1",
    )
    .fetch_all(pool)
    .await
    .expect("tables");
    let mut all = BTreeMap::new();
    for table in tables {
        let rows: Vec<String> = sqlx::query_scalar(&format!(
            "select to_jsonb(t)::text from {table} t order by 1"
        ))
        .fetch_all(pool)
        .await
        .expect("rows");
        all.insert(table, rows);
    }
    all
}

#[tokio::test]
async fn a_second_run_changes_nothing() {
    let db = TestDb::migrated().await;
    load_sample(&db.pool).await;
    import(&db).await;
    let before = everything(&db.pool).await;
    let again = import(&db).await;
    let t = &again.totals;
    assert_eq!(
        (t.inserted, t.updated, t.unchanged),
        (0, 0, 1657),
        "{again}"
    );
    assert_eq!(t.quarantined, 2);
    assert!(again.accounted && again.verification.as_ref().is_some_and(|v| v.ok));
    assert!(again.confirmation_numbers.is_empty());
    let after = everything(&db.pool).await;
    for (table, rows) in &before {
        assert!(rows == &after[table], "{table} changed on the second run");
    }
}

#[tokio::test]
async fn a_legacy_paid_amount_is_kept_when_the_desk_takes_a_payment() {
    let db = TestDb::migrated().await;
    load_sample(&db.pool).await;
    import(&db).await;
    // an imported stay that paid part of its total in the old panel
    let (stay, legacy_paid, total, status): (Uuid, i64, i64, String) = sqlx::query_as(
        "select r.id, r.deposit_paid_cents, r.total_amount_cents, r.payment_status
           from public.reservations r join public.tenants t on t.id = r.tenant_id
          where t.external_id = 'T-101' and r.legacy_id is not null
            and r.deposit_paid_cents > 0 and r.deposit_paid_cents + 1000 < r.total_amount_cents
          order by r.legacy_id limit 1",
    )
    .fetch_one(&db.pool)
    .await
    .expect("a stay with a legacy paid amount");
    assert_eq!(status, "partial");

    // the import wrote the amount as the stay's opening payment, on its guest folio
    // id, folio, kind, amount, payment method, description
    type Entry = (Uuid, Uuid, String, i64, Option<String>, Option<String>);
    let entries: Vec<Entry> = sqlx::query_as(
        "select id, folio_id, kind, amount_minor, payment_method, description
           from public.folio_entries where reservation_id = $1 order by created_at, id",
    )
    .bind(stay)
    .fetch_all(&db.pool)
    .await
    .expect("entries");
    let folio = pms_sync_protocol::derived::guest_folio_id(stay);
    assert_eq!(
        entries,
        [(
            kv_import::ids::opening_payment_id(stay),
            folio,
            "payment".to_owned(),
            legacy_paid,
            Some("other".to_owned()),
            Some("Paid before the move (legacy system)".to_owned()),
        )]
    );
    let (kind, folio_status): (String, String) =
        sqlx::query_as("select kind, status from public.folios where id = $1")
            .bind(folio)
            .fetch_one(&db.pool)
            .await
            .expect("the guest folio");
    assert_eq!((kind.as_str(), folio_status.as_str()), ("guest", "open"));

    // the desk takes 10.00 more on the stay's guest folio
    let claims = desk(&db.pool, "T-101").await;
    let mut tx = begin_as(&db.pool, claims).await;
    sqlx::query(
        "insert into public.folio_entries
                (tenant_id, folio_id, reservation_id, kind, amount_minor, currency, payment_method, description)
         select tenant_id, id, reservation_id, 'payment', 1000, currency, 'cash', 'At the desk'
           from public.folios where id = $1",
    )
    .bind(folio)
    .execute(&mut *tx)
    .await
    .expect("a payment at the desk");
    tx.commit().await.expect("commit");
    let paid = |pool: PgPool| async move {
        sqlx::query_as::<_, (i64, String)>(
            "select deposit_paid_cents, payment_status from public.reservations where id = $1",
        )
        .bind(stay)
        .fetch_one(&pool)
        .await
        .expect("the stay")
    };
    assert_eq!(
        paid(db.pool.clone()).await,
        (legacy_paid + 1000, "partial".to_owned()),
        "the legacy amount and the new payment (of a total of {total})"
    );

    // importing again writes no second opening payment, and the amount stays
    import(&db).await;
    let count: i64 =
        sqlx::query_scalar("select count(*) from public.folio_entries where reservation_id = $1")
            .bind(stay)
            .fetch_one(&db.pool)
            .await
            .expect("count");
    assert_eq!(count, 2);
    assert_eq!(
        paid(db.pool.clone()).await,
        (legacy_paid + 1000, "partial".to_owned())
    );
}

#[tokio::test]
async fn the_store_may_live_in_another_database() {
    let store = TestDb::empty().await;
    load_sample(&store.pool).await;
    let db = TestDb::migrated().await;
    let report = import_from(&db, &store).await;
    assert!(report.accounted);
    assert_eq!(report.totals.imported, 1657);
    assert!(report.verification.as_ref().is_some_and(|v| v.ok));
    // dual-write needs the store beside the tables
    let refused = dual_write::set(&db.pool, Switch::On)
        .await
        .expect_err("no store here");
    assert!(
        refused.to_string().contains("is not in this database"),
        "{refused}"
    );
}

#[tokio::test]
async fn a_missing_store_table_is_named() {
    let db = TestDb::migrated().await;
    let error = Source::open(db.pool.clone(), RedactedUrl::new(&db.url()), DEFAULT_TABLE)
        .await
        .err()
        .expect("no store");
    let message = error.to_string();
    assert!(
        message.contains("the legacy store kv_store_0bdba248 does not exist"),
        "{message}"
    );
    assert!(message.contains("--source-url"), "{message}");
}

#[tokio::test]
async fn values_of_the_wrong_type_are_quarantined_naming_key_and_field() {
    let db = TestDb::migrated().await;
    load_sample(&db.pool).await;
    let bad = [
        (
            "guest:T-101:guest_bad_1",
            serde_json::json!({"firstName": "Ana", "totalBookings": {"n": 3}}),
        ),
        ("reservation:T-101:RES-9001", serde_json::json!(42)),
        (
            "loyalty_tx:T-101:ltx_bad",
            serde_json::json!({"memberId": "member_gone", "type": "earn", "points": 5}),
        ),
        ("pref:T-999:guest_x", serde_json::json!({"bedType": "king"})),
        ("comm:T-101", serde_json::json!({})),
    ];
    for (key, value) in &bad {
        sqlx::query("insert into public.kv_store_0bdba248 (key, value) values ($1, $2)")
            .bind(key)
            .bind(value)
            .execute(&db.pool)
            .await
            .expect("insert a bad record");
    }
    let report = import(&db).await;
    assert!(report.accounted);
    assert_eq!(report.totals.imported, 1657, "the good records all go in");
    assert_eq!(report.totals.quarantined, 2 + bad.len() as u64);
    let reasons: HashMap<String, String> = report
        .quarantined
        .iter()
        .map(|q| (q.key.clone(), q.reason.clone()))
        .collect();
    assert_eq!(
        reasons["guest:T-101:guest_bad_1"],
        "field totalBookings: expected a whole number, found object {\"n\":3}"
    );
    assert_eq!(
        reasons["reservation:T-101:RES-9001"],
        "the value is a JSON number, not an object"
    );
    assert_eq!(
        reasons["loyalty_tx:T-101:ltx_bad"],
        "member_id refers to loyalty member \"member_gone\", which is not imported"
    );
    assert!(reasons["pref:T-999:guest_x"].starts_with("tenant T-999 is not imported"));
    assert!(reasons["comm:T-101"].contains("comm:<tenantId>:<guestId>:<commId>"));
    // and the printed report names them
    let printed = report.to_string();
    assert!(
        printed.contains("guest:T-101:guest_bad_1: field totalBookings"),
        "{printed}"
    );

    // fixed in the store, the record leaves the quarantine on the next run
    sqlx::query("update public.kv_store_0bdba248 set value = $2 where key = $1")
        .bind("guest:T-101:guest_bad_1")
        .bind(serde_json::json!({"firstName": "Ana", "totalBookings": 3}))
        .execute(&db.pool)
        .await
        .expect("fix");
    let again = import(&db).await;
    assert_eq!(again.totals.imported, 1658);
    let still: i64 = sqlx::query_scalar(
        "select count(*) from kv_import.import_quarantine where key = 'guest:T-101:guest_bad_1'",
    )
    .fetch_one(&db.pool)
    .await
    .expect("quarantine");
    assert_eq!(still, 0);
}

/// A staff member of an imported tenant (the import creates none), as the desk's claims.
async fn desk(pool: &PgPool, tenant_legacy: &str) -> Claims {
    let tenant_id = tenant(pool, tenant_legacy).await;
    let user_id: Uuid = sqlx::query_scalar(
        "insert into public.staff (tenant_id, email, display_name, role)
         values ($1, $2, 'Desk', 'front_desk') returning user_id",
    )
    .bind(tenant_id)
    .bind(format!("desk@{}.example", tenant_legacy.to_lowercase()))
    .fetch_one(pool)
    .await
    .expect("staff");
    Claims { tenant_id, user_id }
}

async fn stored(pool: &PgPool, key: &str) -> Option<Value> {
    sqlx::query_scalar("select value from public.kv_store_0bdba248 where key = $1")
        .bind(key)
        .fetch_optional(pool)
        .await
        .expect("store")
}

#[tokio::test]
async fn dual_write_keeps_the_store_following_the_tables_until_switched_off() {
    let db = TestDb::migrated().await;
    load_sample(&db.pool).await;
    dual_write::set(&db.pool, Switch::On).await.expect("on");
    assert!(dual_write::is_on(&db.pool).await.expect("status"));
    let first = import(&db).await;
    assert_eq!(first.totals.inserted, 1657);
    let records = sample();
    let (guest_key, legacy_guest) = first_guest(&records);
    // the import's own writes are not written back
    assert_eq!(
        stored(&db.pool, &guest_key).await.as_ref(),
        Some(&legacy_guest)
    );

    // only tenants in dual_write are written back: T-101 goes there (the import of a single
    // tenant does this step by step, see kv_cut_over.rs)
    for to in [State::Imported, State::DualWrite] {
        states::set(&db.pool, "T-101", to, "test", false, None)
            .await
            .expect("T-101 to dual_write");
    }

    // the desk edits a guest, adds one, books a stay and cancels another, deletes (softly) a guest
    let claims = desk(&db.pool, "T-101").await;
    let legacy_id = guest_key.rsplit(':').next().unwrap_or_default().to_owned();
    let mut tx = begin_as(&db.pool, claims).await;
    sqlx::query("update public.guests set first_name = 'Renamed', vip_status = 'vvip', tags = '{moved}' where legacy_id = $1")
        .bind(&legacy_id)
        .execute(&mut *tx)
        .await
        .expect("edit a guest");
    let new_guest: Uuid = sqlx::query_scalar(
        "insert into public.guests (tenant_id, first_name, last_name, email, segment)
         values ($1, 'Zoë', 'Nouveau', 'zoe@new.example', 'business') returning id",
    )
    .bind(claims.tenant_id)
    .fetch_one(&mut *tx)
    .await
    .expect("new guest");
    let (property, room_type): (Uuid, Uuid) = sqlx::query_as(
        "select property_id, id from public.room_types where tenant_id = $1 order by code limit 1",
    )
    .bind(claims.tenant_id)
    .fetch_one(&mut *tx)
    .await
    .expect("a room type");
    let new_booking: (Uuid, i64) = sqlx::query_as(
        "insert into public.reservations (tenant_id, guest_id, guest_name, property_id, room_type_id,
                                          check_in_date, check_out_date, rate_per_night_cents, total_amount_cents, currency)
         values ($1, $2, 'Zoë Nouveau', $3, $4, '2031-01-10', '2031-01-12', 10000, 20000, 'EUR')
         returning id, confirmation_number",
    )
    .bind(claims.tenant_id)
    .bind(new_guest)
    .bind(property)
    .bind(room_type)
    .fetch_one(&mut *tx)
    .await
    .expect("new booking");
    let cancelled: String = sqlx::query_scalar(
        "update public.reservations set status = 'cancelled', cancellation_reason = 'Changed plans'
          where id = (select id from public.reservations where tenant_id = $1 and status = 'confirmed' order by legacy_id limit 1)
         returning legacy_id",
    )
    .bind(claims.tenant_id)
    .fetch_one(&mut *tx)
    .await
    .expect("cancel a booking");
    let gone: String = sqlx::query_scalar(
        "update public.guests set deleted_at = now()
          where id = (select id from public.guests where tenant_id = $1 and legacy_id <> $2 order by legacy_id desc limit 1)
         returning legacy_id",
    )
    .bind(claims.tenant_id)
    .bind(&legacy_id)
    .fetch_one(&mut *tx)
    .await
    .expect("delete a guest");
    tx.commit().await.expect("commit");

    // the store follows, in the legacy shape, keeping the fields the tables do not hold
    let edited = stored(&db.pool, &guest_key).await.expect("still stored");
    assert_eq!(edited["firstName"], "Renamed");
    assert_eq!(
        edited["fullName"],
        format!(
            "Renamed {}",
            legacy_guest["lastName"].as_str().unwrap_or_default()
        )
    );
    assert_eq!(edited["vipStatus"], "VVIP");
    assert_eq!(edited["tags"], serde_json::json!(["moved"]));
    assert_eq!(edited["segment"], legacy_guest["segment"]);
    assert_eq!(
        edited["communicationPreferences"],
        legacy_guest["communicationPreferences"]
    );
    assert_eq!(edited["createdAt"], legacy_guest["createdAt"]);
    let added = stored(&db.pool, &format!("guest:T-101:{new_guest}"))
        .await
        .expect("new guest written back");
    assert_eq!(
        (added["firstName"].as_str(), added["segment"].as_str()),
        (Some("Zoë"), Some("Business"))
    );
    let booked = stored(&db.pool, &format!("reservation:T-101:{}", new_booking.0))
        .await
        .expect("new booking");
    assert_eq!(booked["guestId"], new_guest.to_string());
    assert_eq!(booked["totalAmount"], 20000);
    assert_eq!(booked["confirmationNumber"], new_booking.1.to_string());
    let cancelled_value = stored(&db.pool, &format!("reservation:T-101:{cancelled}"))
        .await
        .expect("booking");
    assert_eq!(cancelled_value["status"], "cancelled");
    assert_eq!(cancelled_value["cancellationReason"], "Changed plans");
    assert!(cancelled_value["confirmationNumber"]
        .as_str()
        .is_some_and(|c| c.starts_with("T-101-")));
    assert_eq!(stored(&db.pool, &format!("guest:T-101:{gone}")).await, None);

    // importing what was written back changes nothing: the round trip is exact
    let round_trip = import(&db).await;
    let t = &round_trip.totals;
    assert_eq!((t.inserted, t.updated), (0, 0), "{round_trip}");
    assert_eq!(
        t.imported,
        1657 - 1 + 2,
        "one guest gone from the store, a guest and a booking new"
    );
    assert!(
        round_trip.verification.as_ref().is_some_and(|v| v.ok),
        "{round_trip}"
    );

    // switched off, the store no longer follows
    dual_write::set(&db.pool, Switch::Off).await.expect("off");
    assert!(!dual_write::is_on(&db.pool).await.expect("status"));
    let mut tx = begin_as(&db.pool, claims).await;
    sqlx::query("update public.guests set first_name = 'Again' where legacy_id = $1")
        .bind(&legacy_id)
        .execute(&mut *tx)
        .await
        .expect("edit");
    tx.commit().await.expect("commit");
    assert_eq!(
        stored(&db.pool, &guest_key).await.expect("stored")["firstName"],
        "Renamed"
    );
}

/// The first plain guest record of T-101.
fn first_guest(records: &BTreeMap<String, Value>) -> (String, Value) {
    records
        .iter()
        .find(|(k, v)| k.starts_with("guest:T-101:") && v.is_object() && v["lastName"] != "")
        .map(|(k, v)| (k.clone(), v.clone()))
        .expect("a guest")
}
