//! The legacy migration tenant by tenant, on the real Postgres and the real sync server, with
//! `sample.jsonl` in the store:
//!
//! - tenants imported one at a time (`--tenant`, by legacy id or subdomain): the others stay
//!   `legacy`, with nothing of theirs in the tables; the tables end as one full import leaves
//!   them; a laptop of an imported tenant signs in, one of a tenant rolled back to `legacy` gets
//!   `tenant_not_migrated` (sign-in, refresh, and a colleague signing in at a desk connected);
//! - importing a tenant already cut over is refused unless forced; a name that is no tenant of
//!   the store is refused naming what the store has;
//! - `retire`: each unmet condition refuses with its reason (a tenant not cut over, dual-write
//!   left too recently, a store read by someone since the cut-over, tables that differ from the
//!   store); a full retirement archives the store (SHA-256 kept), drops it and the triggers, and
//!   `kv-import load` of the archive gives back the same rows.

use std::collections::BTreeMap;

use pms_server::error::RedactedUrl;
use pms_server::kv_import::load::load_jsonl;
use pms_server::kv_import::retire::{self, RetireOptions};
use pms_server::kv_import::source::{Source, DEFAULT_TABLE};
use pms_server::kv_import::states::{self, State};
use pms_server::kv_import::{self, ImportOptions, Tenants};
use pms_tests::{set_password, TestDb, TestServer};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::{Connection as _, PgPool};

const SAMPLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/fixtures/legacy-kv/sample.jsonl"
);
const PASSWORD: &str = "a long enough password";
const OTHER: &str = "tn_1634567890_abc123";

async fn load_sample(pool: &PgPool) {
    let file = std::io::BufReader::new(std::fs::File::open(SAMPLE).expect("sample"));
    assert_eq!(
        load_jsonl(pool, DEFAULT_TABLE, file).await.expect("load"),
        1676
    );
}

/// The store on a pool of its own, as the command opens it (the read counters are taken after
/// closing it).
async fn source(db: &TestDb) -> Source {
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(4)
        .connect(&db.url())
        .await
        .expect("the store's database");
    Source::open(pool, RedactedUrl::new(&db.url()), DEFAULT_TABLE)
        .await
        .expect("the store is there")
}

async fn import_tenants(
    db: &TestDb,
    named: &[&str],
    force: bool,
) -> pms_server::error::Result<kv_import::report::Report> {
    let tenants = Tenants {
        named: named.iter().map(|s| s.to_string()).collect(),
        force,
        by: "test".to_owned(),
    };
    kv_import::import_tenants(
        &db.pool,
        &RedactedUrl::new(&db.url()),
        source(db).await,
        &ImportOptions::default(),
        &tenants,
    )
    .await
}

async fn state_of(pool: &PgPool) -> BTreeMap<String, State> {
    states::all(pool)
        .await
        .expect("states")
        .into_iter()
        .map(|(t, s)| (t, s.state))
        .collect()
}

async fn move_to(pool: &PgPool, tenant: &str, to: State) {
    states::set(pool, tenant, to, "test", false, Some((0, 0)))
        .await
        .unwrap_or_else(|e| panic!("{tenant} to {to}: {e}"));
}

/// A staff member of an imported tenant with a password the server accepts; returns the email.
async fn staff(pool: &PgPool, legacy: &str) -> String {
    let email = format!("desk@{}.example", legacy.to_lowercase());
    sqlx::query(
        "insert into public.staff (tenant_id, email, display_name, role)
         select id, $2, 'Desk', 'front_desk' from public.tenants where external_id = $1",
    )
    .bind(legacy)
    .bind(&email)
    .execute(pool)
    .await
    .expect("staff");
    set_password(pool, &email, PASSWORD).await;
    email
}

async fn post(server: &TestServer, path: &str, body: Value) -> (StatusCode, Value) {
    let response = reqwest::Client::new()
        .post(server.url(path))
        .json(&body)
        .send()
        .await
        .expect("request");
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn login(server: &TestServer, email: &str) -> (StatusCode, Value) {
    post(
        server,
        "/v1/auth/login",
        json!({"email": email, "password": PASSWORD, "device_name": "laptop"}),
    )
    .await
}

/// A colleague signs in at the desk holding `session` (`/v1/auth/colleague`).
async fn colleague(server: &TestServer, session: &Value, email: &str) -> (StatusCode, Value) {
    let response = reqwest::Client::new()
        .post(server.url("/v1/auth/colleague"))
        .bearer_auth(session["access_token"].as_str().expect("an access token"))
        .json(&json!({"email": email, "password": PASSWORD}))
        .send()
        .await
        .expect("request");
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Rows per table of the schema (what one full import leaves; the sign-ins of the test aside).
async fn table_counts(pool: &PgPool) -> BTreeMap<String, i64> {
    let tables: Vec<String> = sqlx::query_scalar(
        "select format('%I.%I', n.nspname, c.relname) from pg_class c join pg_namespace n on n.oid = c.relnamespace
          where n.nspname = 'public' and c.relkind = 'r' and c.relname not in ('_sqlx_migrations', 'kv_store_0bdba248', 'staff', 'devices', 'guest_invoice_series')
          order by 1",
    )
    .fetch_all(pool)
    .await
    .expect("tables");
    let mut counts = BTreeMap::new();
    for table in tables {
        let n: i64 = sqlx::query_scalar(&format!("select count(*) from {table}"))
            .fetch_one(pool)
            .await
            .expect("count");
        counts.insert(table, n);
    }
    counts
}

#[tokio::test]
async fn tenants_are_imported_one_at_a_time_and_a_legacy_tenant_is_not_served() {
    let db = TestDb::migrated().await;
    load_sample(&db.pool).await;

    let first = import_tenants(&db, &["T-101"], false).await.expect("T-101");
    assert!(first.accounted, "{first}");
    assert!(first.verification.as_ref().is_some_and(|v| v.ok), "{first}");
    assert_eq!(
        state_of(&db.pool).await,
        BTreeMap::from([
            ("T-101".to_owned(), State::Imported),
            ("T-102".to_owned(), State::Legacy),
            (OTHER.to_owned(), State::Legacy),
        ])
    );
    let rows = states::rows_per_tenant(&db.pool).await.expect("rows");
    assert!(rows.get("T-101").is_some_and(|n| *n > 100), "{rows:?}");
    assert_eq!(
        (rows.get("T-102"), rows.get(OTHER)),
        (None, None),
        "{rows:?}"
    );
    let external: Vec<String> =
        sqlx::query_scalar("select external_id from public.tenants where external_id is not null")
            .fetch_all(&db.pool)
            .await
            .expect("tenants");
    assert_eq!(external, vec!["T-101".to_owned()]);

    let server = TestServer::start(&db).await;
    let desk_101 = staff(&db.pool, "T-101").await;
    let (status, session) = login(&server, &desk_101).await;
    assert_eq!(status, StatusCode::OK, "{session}");

    // the second by its subdomain, the third by its old-style id
    let second = import_tenants(&db, &["hotel-1"], false)
        .await
        .expect("T-102");
    assert!(
        second.accounted && second.verification.as_ref().is_some_and(|v| v.ok),
        "{second}"
    );
    let third = import_tenants(&db, &[OTHER], false).await.expect("third");
    assert!(
        third.accounted && third.verification.as_ref().is_some_and(|v| v.ok),
        "{third}"
    );
    assert!(state_of(&db.pool)
        .await
        .values()
        .all(|s| *s == State::Imported));
    // one at a time ends where one full import ends
    let full = TestDb::migrated().await;
    load_sample(&full.pool).await;
    let whole = import_tenants(&full, &[], false)
        .await
        .expect("full import");
    assert!(whole.accounted, "{whole}");
    assert_eq!(table_counts(&db.pool).await, table_counts(&full.pool).await);

    // T-102 rolled back: its laptops are refused, sign-in and refresh; T-101's still served
    let desk_102 = staff(&db.pool, "T-102").await;
    let (status, session_102) = login(&server, &desk_102).await;
    assert_eq!(status, StatusCode::OK, "{session_102}");
    move_to(&db.pool, "T-102", State::Legacy).await;
    let (status, refused) = login(&server, &desk_102).await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("tenant_not_migrated")),
        "{refused}"
    );
    let (status, refused) = post(
        &server,
        "/v1/auth/refresh",
        json!({"device_id": session_102["device_id"], "refresh_token": session_102["refresh_token"]}),
    )
    .await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("tenant_not_migrated")),
        "{refused}"
    );
    // a colleague signing in at a desk of T-102 already connected is refused the same way
    let (status, refused) = colleague(&server, &session_102, &desk_102).await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("tenant_not_migrated")),
        "{refused}"
    );
    assert_eq!(login(&server, &desk_101).await.0, StatusCode::OK);
    let (_, session_101) = login(&server, &desk_101).await;
    let (status, signed) = colleague(&server, &session_101, &desk_101).await;
    assert_eq!(status, StatusCode::OK, "{signed}");

    // cut over, T-101 is not imported again unless forced
    move_to(&db.pool, "T-101", State::DualWrite).await;
    move_to(&db.pool, "T-101", State::CutOver).await;
    let refused = import_tenants(&db, &["T-101"], false)
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        refused.contains("T-101") && refused.contains("cut over") && refused.contains("--force"),
        "{refused}"
    );
    let forced = import_tenants(&db, &["T-101"], true).await.expect("forced");
    assert!(forced.accounted, "{forced}");
    assert_eq!(state_of(&db.pool).await["T-101"], State::CutOver);

    // a name that is no tenant is refused, naming what the store has
    let unknown = import_tenants(&db, &["T-999"], false)
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        unknown.contains("\"T-999\"") && unknown.contains("T-101 (hotel-0)"),
        "{unknown}"
    );
    // and a transition out of order names the way
    let skipped = states::set(&db.pool, "T-102", State::CutOver, "test", false, None)
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(skipped.contains("legacy to cut_over"), "{skipped}");
}

fn options(dry_run: bool, quiet: &str, archive: Option<std::path::PathBuf>) -> RetireOptions {
    RetireOptions {
        dry_run,
        archive,
        quiet_period: retire::parse_duration(quiet).expect("a duration"),
        by: "test".to_owned(),
        batch_size: 1000,
        map: Default::default(),
    }
}

/// The failing checks' names and details.
async fn failing(db: &TestDb, quiet: &str) -> Vec<(String, String)> {
    let store = source(db).await;
    let checks = retire::checks(&db.pool, &store, &options(true, quiet, None))
        .await
        .expect("checks run");
    retire::record_own_reads(&db.pool, store, "test checks")
        .await
        .expect("own reads");
    checks
        .into_iter()
        .filter(|c| !c.ok)
        .map(|c| (c.name.to_owned(), c.detail))
        .collect()
}

async fn store_rows(pool: &PgPool) -> Vec<(String, Value)> {
    sqlx::query_as("select key, value from public.kv_store_0bdba248 order by key")
        .fetch_all(pool)
        .await
        .expect("store rows")
}

#[tokio::test]
async fn retire_refuses_each_unmet_condition_then_archives_drops_and_restores() {
    let db = TestDb::migrated().await;
    load_sample(&db.pool).await;
    let before = store_rows(&db.pool).await;
    let imported = import_tenants(&db, &[], false).await.expect("import");
    assert!(imported.accounted, "{imported}");

    // nobody cut over: named, with their states
    let fails = failing(&db, "0s").await;
    let names: Vec<&str> = fails.iter().map(|(n, _)| n.as_str()).collect();
    assert!(names.contains(&"every tenant cut over"), "{fails:?}");
    let detail = &fails
        .iter()
        .find(|(n, _)| n == "every tenant cut over")
        .expect("named")
        .1;
    assert!(
        detail.contains("T-101 (imported)") && detail.contains(OTHER),
        "{detail}"
    );

    for tenant in ["T-101", "T-102", OTHER] {
        move_to(&db.pool, tenant, State::DualWrite).await;
    }
    let fails = failing(&db, "0s").await;
    assert!(
        fails
            .iter()
            .any(|(n, d)| n == "dual-write off for the quiet period"
                && d.contains("3 tenants still in dual_write")),
        "{fails:?}"
    );
    // cut over the pool's way: counters taken once kv-import's own reads are published
    let counters = retire::settled_counters(source(&db).await)
        .await
        .expect("counters");
    for tenant in ["T-101", "T-102", OTHER] {
        states::set(
            &db.pool,
            tenant,
            State::CutOver,
            "test",
            false,
            Some(counters),
        )
        .await
        .expect("cut over");
    }
    // left dual-write just now: a day's quiet period is not over
    let fails = failing(&db, "1d").await;
    assert_eq!(fails.len(), 1, "{fails:?}");
    assert_eq!(fails[0].0, "dual-write off for the quiet period");
    assert!(
        fails[0].1.contains("less than the quiet period of 1d"),
        "{fails:?}"
    );

    // someone reads the store after the cut-over (the old panel, say), on its own connection
    let mut reader = sqlx::PgConnection::connect(&db.url())
        .await
        .expect("reader");
    let _: Option<Value> =
        sqlx::query_scalar("select value from public.kv_store_0bdba248 where key = 'tenant:T-101'")
            .fetch_optional(&mut reader)
            .await
            .expect("read");
    reader.close().await.expect("close");
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let fails = failing(&db, "0s").await;
    assert_eq!(fails.len(), 1, "{fails:?}");
    assert_eq!(fails[0].0, "no reads since the cut-over");
    assert!(fails[0].1.contains("the store was read since"), "{fails:?}");
    // the checks' own reads are not held against the store
    assert_eq!(failing(&db, "0s").await, vec![]);

    // a table that no longer holds what the store has
    sqlx::query("update public.plans set display_name = 'Changed' where name = 'Pro'")
        .execute(&db.pool)
        .await
        .expect("change a plan");
    let fails = failing(&db, "0s").await;
    assert_eq!(fails.len(), 1, "{fails:?}");
    assert_eq!(fails[0].0, "verification");
    assert!(fails[0].1.contains("plans: 1 of"), "{fails:?}");
    sqlx::query("update public.plans set display_name = $1 where name = 'Pro'")
        .bind(
            before
                .iter()
                .find(|(k, _)| k == "plan:Pro")
                .and_then(|(_, v)| v["displayName"].as_str())
                .unwrap_or("Pro"),
        )
        .execute(&db.pool)
        .await
        .expect("change it back");
    assert_eq!(failing(&db, "0s").await, vec![]);

    // retire: archive, SHA-256 kept, store and triggers gone
    kv_import::dual_write::set(&db.pool, kv_import::dual_write::Switch::On)
        .await
        .expect("triggers on");
    let dir = std::env::temp_dir().join(format!("pms-retire-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).expect("dir");
    let archive = dir.join("store.jsonl.gz");
    let opts = options(false, "0s", Some(archive.clone()));
    let checks = retire::checks(&db.pool, &source(&db).await, &opts)
        .await
        .expect("checks");
    let retired = retire::retire(&db.pool, source(&db).await, &opts, &checks)
        .await
        .expect("retire");
    assert_eq!(retired.records, 1676);
    let bytes = std::fs::read(&archive).expect("archive");
    assert_eq!(&bytes[..2], &[0x1f, 0x8b], "gzip");
    use sha2::Digest as _;
    assert_eq!(retired.sha256, hex::encode(sha2::Sha256::digest(&bytes)));
    let (kept, records): (String, i64) = sqlx::query_as(
        "select archive_sha256, records from kv_import.retirements order by id desc limit 1",
    )
    .fetch_one(&db.pool)
    .await
    .expect("recorded");
    assert_eq!((kept, records), (retired.sha256.clone(), 1676));
    let gone: Option<String> =
        sqlx::query_scalar("select to_regclass('public.kv_store_0bdba248')::text")
            .fetch_one(&db.pool)
            .await
            .expect("regclass");
    assert_eq!(gone, None);
    assert!(!kv_import::dual_write::is_on(&db.pool)
        .await
        .expect("status"));
    // an archive is never overwritten
    let again = retire::archive(&source_elsewhere(&db).await, &archive)
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(again.contains("exists already"), "{again}");

    // restored from the archive, the store has the same rows
    let restored = TestDb::empty().await;
    let file = std::io::BufReader::new(flate2::read::MultiGzDecoder::new(
        std::fs::File::open(&archive).expect("archive"),
    ));
    assert_eq!(
        load_jsonl(&restored.pool, DEFAULT_TABLE, file)
            .await
            .expect("load"),
        1676
    );
    assert_eq!(store_rows(&restored.pool).await, before);
    std::fs::remove_dir_all(&dir).ok();
}

/// A store that still exists (the retired one is gone), for the archive's refusal.
async fn source_elsewhere(db: &TestDb) -> Source {
    load_jsonl(&db.pool, "kv_again", std::io::BufReader::new(&b""[..]))
        .await
        .expect("an empty store");
    Source::open(db.pool.clone(), RedactedUrl::new(&db.url()), "kv_again")
        .await
        .expect("open")
}

/// Pushes one change from the laptop holding `session`; it must apply.
async fn push(server: &TestServer, session: &Value, table: &str, id: uuid::Uuid, values: Value) {
    use pms_sync_protocol::wire::{PushChange, PushOp, PushRequest, PushResponse, PushStatus};
    let Value::Object(values) = values else {
        panic!("values")
    };
    let response: PushResponse = reqwest::Client::new()
        .post(server.url("/v1/sync/push"))
        .bearer_auth(session["access_token"].as_str().expect("an access token"))
        .json(&PushRequest {
            protocol_version: pms_sync_protocol::PROTOCOL_VERSION,
            changes: vec![PushChange {
                change_id: uuid::Uuid::now_v7(),
                device_seq: 1,
                table: table.to_owned(),
                op: PushOp::Update,
                id,
                values,
                base: Default::default(),
                stamp: None,
            }],
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

#[tokio::test]
async fn rows_the_desk_changed_since_the_cut_over_are_counted_as_such_not_as_differences() {
    let db = TestDb::migrated().await;
    load_sample(&db.pool).await;
    let imported = import_tenants(&db, &[], false).await.expect("import");
    assert!(imported.accounted, "{imported}");
    for tenant in ["T-101", "T-102", OTHER] {
        move_to(&db.pool, tenant, State::DualWrite).await;
    }
    let counters = retire::settled_counters(source(&db).await)
        .await
        .expect("counters");
    for tenant in ["T-101", "T-102", OTHER] {
        states::set(
            &db.pool,
            tenant,
            State::CutOver,
            "test",
            false,
            Some(counters),
        )
        .await
        .expect("cut over");
    }
    assert_eq!(failing(&db, "0s").await, vec![]);

    // after the cut-over a laptop of T-101 edits a guest, the retention job deletes a message
    // of the communication log (T-102)
    let server = TestServer::start(&db).await;
    let desk = staff(&db.pool, "T-101").await;
    let (status, session) = login(&server, &desk).await;
    assert_eq!(status, StatusCode::OK, "{session}");
    let guest: uuid::Uuid = sqlx::query_scalar(
        "select g.id from public.guests g join public.tenants t on t.id = g.tenant_id
          where t.external_id = 'T-101' and g.legacy_id is not null order by g.legacy_id limit 1",
    )
    .fetch_one(&db.pool)
    .await
    .expect("a guest");
    push(
        &server,
        &session,
        "guests",
        guest,
        json!({"notes": "Prefers the quiet side"}),
    )
    .await;
    let deleted = sqlx::query(
        "delete from public.communication_logs where id = (
           select c.id from public.communication_logs c join public.tenants t on t.id = c.tenant_id
            where t.external_id = 'T-102' order by c.legacy_id limit 1)",
    )
    .execute(&db.pool)
    .await
    .expect("delete a message");
    assert_eq!(deleted.rows_affected(), 1);
    // and the webhook deliveries' job counts a failure of a webhook of T-101 (no feed there)
    let failed = sqlx::query(
        "update public.webhooks set failure_count = failure_count + 1, status = 'failing'
          where id = (select w.id from public.webhooks w join public.tenants t on t.id = w.tenant_id
                       where t.external_id = 'T-101' order by w.legacy_id limit 1)",
    )
    .execute(&db.pool)
    .await
    .expect("a failing webhook");
    assert_eq!(failed.rows_affected(), 1);

    // the retirement's verification still passes, naming the desk's changes
    let store = source(&db).await;
    let checks = retire::checks(&db.pool, &store, &options(true, "0s", None))
        .await
        .expect("checks run");
    retire::record_own_reads(&db.pool, store, "test checks")
        .await
        .expect("own reads");
    let verification = checks
        .iter()
        .find(|c| c.name == "verification")
        .expect("the verification check");
    assert!(verification.ok, "{checks:?}");
    assert!(
        verification.detail.contains("changed since cut-over")
            && verification.detail.contains("guests 1")
            && verification.detail.contains("communication_logs 1")
            && verification.detail.contains("webhooks 1"),
        "{verification:?}"
    );
    assert!(checks.iter().all(|c| c.ok), "{checks:?}");

    // and the verification itself counts them per table, the rest equal
    let mut ledger = Default::default();
    let store = source(&db).await;
    let verified = pms_server::kv_import::verify::verify(
        &db.pool,
        &store,
        1000,
        Default::default(),
        &mut ledger,
    )
    .await
    .expect("verify");
    retire::record_own_reads(&db.pool, store, "test verify")
        .await
        .expect("own reads");
    assert!(verified.ok, "{verified:?}");
    let by_table: BTreeMap<&str, (u64, u64, u64)> = verified
        .tables
        .iter()
        .map(|c| {
            (
                c.table.as_str(),
                (c.store, c.equal, c.changed_since_cut_over),
            )
        })
        .collect();
    let (store, equal, changed) = by_table["guests"];
    assert_eq!((equal, changed), (store - 1, 1), "{by_table:?}");
    let (store, equal, changed) = by_table["communication_logs"];
    assert_eq!((equal, changed), (store - 1, 1), "{by_table:?}");
    let (store, equal, changed) = by_table["webhooks"];
    assert_eq!((equal, changed), (store - 1, 1), "{by_table:?}");
    assert!(
        by_table
            .iter()
            .filter(|(t, _)| !["guests", "communication_logs", "webhooks"].contains(t))
            .all(|(_, (store, equal, changed))| equal == store && *changed == 0),
        "{by_table:?}"
    );

    // a change the feed does not show (a plan, edited by hand) is still a difference
    sqlx::query("update public.plans set display_name = 'Changed' where name = 'Pro'")
        .execute(&db.pool)
        .await
        .expect("change a plan");
    let fails = failing(&db, "0s").await;
    assert_eq!(fails.len(), 1, "{fails:?}");
    assert!(
        fails[0].0 == "verification" && fails[0].1.contains("plans: 1 of"),
        "{fails:?}"
    );
}
