//! `pms-server kv-import` as an operator runs it, on the real Postgres:
//!
//! - killed with SIGKILL in the middle (twice: among the guests, then among the bookings, whose
//!   confirmation numbers are being given out) and started again, it ends exactly like one clean
//!   run in another database: every table, row by row, and the quarantine;
//! - bad input gets one line that names it and says what to do: a missing store table, a store
//!   database that cannot be reached (password hidden), dual-write with the store elsewhere; a
//!   value of the wrong type is quarantined and named, and the rest is imported.
//!
//! The library-level suite (mapping, dirt, dual-write round trip) is `tests/tests/kv_import.rs`.

use std::collections::BTreeMap;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection, PgConnection};

const SAMPLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/fixtures/legacy-kv/sample.jsonl"
);

fn server_url() -> String {
    std::env::var("PMS_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// A database of its own, dropped at the end.
struct Db {
    name: String,
    url: String,
}

impl Db {
    async fn new() -> Self {
        let name = format!(
            "pms_kvcli_{}_{}",
            std::process::id(),
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        );
        let mut admin = connect(&server_url()).await;
        sqlx::query(&format!("create database {name}"))
            .execute(&mut admin)
            .await
            .expect("create database");
        let mut url = url::Url::parse(&server_url()).expect("a URL");
        url.set_path(&format!("/{name}"));
        Self {
            name,
            url: url.to_string(),
        }
    }

    async fn conn(&self) -> PgConnection {
        connect(&self.url).await
    }

    /// `migrate`, then the sample loaded into the store.
    async fn with_sample() -> Self {
        let db = Self::new().await;
        assert_success(&pms_server(&["migrate"], &db.url));
        assert_success(&pms_server(&["kv-import", "load", SAMPLE], &db.url));
        db
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        let name = self.name.clone();
        let _ = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async move {
                let mut admin = connect(&server_url()).await;
                let _ = sqlx::query(&format!("drop database if exists {name} with (force)"))
                    .execute(&mut admin)
                    .await;
            });
        })
        .join();
    }
}

async fn connect(url: &str) -> PgConnection {
    let options: PgConnectOptions = url.parse().expect("a postgres URL");
    PgConnection::connect_with(&options.disable_statement_logging())
        .await
        .expect("the test Postgres is reachable (see tests/README.md)")
}

fn command(args: &[&str], admin_url: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_pms-server"));
    command
        .args(args)
        .env("PMS_ADMIN_DATABASE_URL", admin_url)
        .env_remove("DATABASE_URL")
        .env_remove("PMS_KV_SOURCE_URL")
        .env("RUST_LOG", "warn");
    command
}

fn pms_server(args: &[&str], admin_url: &str) -> Output {
    command(args, admin_url).output().expect("run pms-server")
}

fn assert_success(output: &Output) {
    assert!(
        output.status.success(),
        "pms-server failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn one_line_error(output: &Output) -> String {
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr).trim().to_owned();
    assert_eq!(
        stderr.lines().count(),
        1,
        "expected one line of error, got:\n{stderr}"
    );
    assert!(stderr.starts_with("error: "), "{stderr}");
    stderr
}

/// Every row of every table of the tables' schema and the quarantine, as JSON text, sorted.
/// `updated_at` is when a row was written, so it is left out; the change feed (`app`) numbers
/// transactions, which depend on where a run was cut.
async fn everything(conn: &mut PgConnection) -> BTreeMap<String, Vec<String>> {
    let tables: Vec<String> = sqlx::query_scalar(
        "select format('%I.%I', n.nspname, c.relname) from pg_class c join pg_namespace n on n.oid = c.relnamespace
          where n.nspname = 'public' and c.relkind = 'r' and c.relname <> '_sqlx_migrations'
          order by 1",
    )
    .fetch_all(&mut *conn)
    .await
    .expect("tables");
    let mut all = BTreeMap::new();
    for table in tables {
        let rows: Vec<String> = sqlx::query_scalar(&format!(
            "select (to_jsonb(t) - 'updated_at')::text from {table} t order by 1"
        ))
        .fetch_all(&mut *conn)
        .await
        .expect("rows");
        all.insert(table, rows);
    }
    let quarantine: Vec<String> = sqlx::query_scalar(
        "select concat_ws(' | ', key, reason, value) from kv_import.import_quarantine order by key",
    )
    .fetch_all(&mut *conn)
    .await
    .expect("quarantine");
    all.insert("kv_import.import_quarantine".to_owned(), quarantine);
    all
}

async fn count(conn: &mut PgConnection, table: &str) -> i64 {
    sqlx::query_scalar(&format!("select count(*) from public.{table}"))
        .fetch_one(&mut *conn)
        .await
        .expect("count")
}

/// Starts an import and kills it (SIGKILL) once `table` has more than `rows` rows, that is,
/// once some of its batches have committed. Returns the rows there were when it was killed.
async fn kill_when(db: &Db, table: &str, rows: i64) -> i64 {
    let mut child = command(&["kv-import", "--batch-size", "10"], &db.url)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start pms-server kv-import");
    let mut conn = db.conn().await;
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("child status") {
            panic!("the import ended ({status}) before {table} had {rows} rows: nothing to kill");
        }
        let now = count(&mut conn, table).await;
        if now > rows {
            child.kill().expect("SIGKILL");
            child.wait().expect("reaped");
            // the server notices the dead client and ends its session (and advisory lock)
            loop {
                let left: i64 = sqlx::query_scalar(
                    "select count(*) from pg_stat_activity where datname = current_database() and application_name = 'pms-server'",
                )
                .fetch_one(&mut conn)
                .await
                .expect("activity");
                if left == 0 {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            return count(&mut conn, table).await;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the import made no progress"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_killed_halfway_and_run_again_ends_like_one_clean_run() {
    let (clean, killed) = tokio::join!(Db::with_sample(), Db::with_sample());
    let output = pms_server(&["kv-import", "--batch-size", "10"], &clean.url);
    assert_success(&output);
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(printed.contains("accounted for: yes"), "{printed}");

    let guests = kill_when(&killed, "guests", 100).await;
    assert!(
        (101..360).contains(&guests),
        "killed among the guests: {guests} of 360"
    );
    let bookings = kill_when(&killed, "reservations", 100).await;
    assert!(
        (101..356).contains(&bookings),
        "killed among the bookings: {bookings} of 356"
    );
    let output = pms_server(&["kv-import", "--batch-size", "10"], &killed.url);
    assert_success(&output);
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(
        printed.contains("every imported record matches its row"),
        "{printed}"
    );

    let (mut a, mut b) = (clean.conn().await, killed.conn().await);
    let (expected, resumed) = (everything(&mut a).await, everything(&mut b).await);
    assert_eq!(
        expected.keys().collect::<Vec<_>>(),
        resumed.keys().collect::<Vec<_>>()
    );
    for (table, rows) in &expected {
        let other = &resumed[table];
        let missing: Vec<&String> = rows.iter().filter(|r| !other.contains(r)).take(3).collect();
        let extra: Vec<&String> = other.iter().filter(|r| !rows.contains(r)).take(3).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "{table} differs after kill and resume:\n  only in the clean run: {missing:?}\n  only in the resumed run: {extra:?}"
        );
    }
    assert!(expected["public.reservations"].len() == 356);
}

#[tokio::test]
async fn a_missing_store_table_is_named_in_one_line() {
    let db = Db::new().await;
    assert_success(&pms_server(&["migrate"], &db.url));
    let error = one_line_error(&pms_server(&["kv-import"], &db.url));
    assert!(
        error.contains("the legacy store kv_store_0bdba248 does not exist in postgres://"),
        "{error}"
    );
    assert!(error.contains("--source-url"), "{error}");
}

#[tokio::test]
async fn an_unreachable_store_database_is_named_without_its_password() {
    let db = Db::new().await;
    assert_success(&pms_server(&["migrate"], &db.url));
    let output = pms_server(
        &[
            "kv-import",
            "--source-url",
            "postgres://legacy:TopSecret42@127.0.0.1:1/kv",
        ],
        &db.url,
    );
    let error = one_line_error(&output);
    assert!(
        error.contains("cannot connect to postgres://legacy:***@127.0.0.1:1/kv"),
        "{error}"
    );
    assert!(error.contains("--source-url is right"), "{error}");
    assert!(!format!("{output:?}").contains("TopSecret42"));
}

#[tokio::test]
async fn dual_write_with_the_store_in_another_database_is_refused() {
    let store = Db::new().await;
    assert_success(&pms_server(&["kv-import", "load", SAMPLE], &store.url));
    let db = Db::new().await;
    assert_success(&pms_server(&["migrate"], &db.url));
    let error = one_line_error(&pms_server(
        &[
            "kv-import",
            "--source-url",
            &store.url,
            "--dual-write",
            "on",
        ],
        &db.url,
    ));
    assert!(error.contains("cannot switch the dual-write on"), "{error}");
    assert!(error.contains("is not in this database"), "{error}");
    // without dual-write the other database is fine
    assert_success(&pms_server(
        &["kv-import", "--source-url", &store.url],
        &db.url,
    ));
}

#[tokio::test]
async fn a_value_of_the_wrong_type_is_named_and_the_rest_imported() {
    let db = Db::with_sample().await;
    let mut conn = db.conn().await;
    sqlx::query(
        "insert into public.kv_store_0bdba248 (key, value) values
            ('guest:T-101:guest_bad', '{\"firstName\": \"Ana\", \"totalSpent\": [1, 2]}'),
            ('tenant:T-999', '\"not an object\"')",
    )
    .execute(&mut conn)
    .await
    .expect("bad records");
    let output = pms_server(&["kv-import", "--report-json", "/dev/stdout"], &db.url);
    assert_success(&output);
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(
        printed.contains("guest:T-101:guest_bad: field totalSpent: expected an amount in cents, found array [1,2]"),
        "{printed}"
    );
    assert!(
        printed.contains("tenant:T-999: the value is a JSON string, not an object"),
        "{printed}"
    );
    assert!(
        printed.contains("\"quarantined\": 4"),
        "the JSON report: {printed}"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("4 records quarantined"), "{stderr}");
    assert_eq!(count(&mut conn, "guests").await, 360);
}

#[tokio::test]
async fn tenants_move_one_at_a_time_from_the_command_line() {
    let db = Db::with_sample().await;
    let run = pms_server(
        &["kv-import", "--tenant", "hotel-0", "--by", "ops"],
        &db.url,
    );
    assert_success(&run);
    let status = pms_server(&["kv-import", "status"], &db.url);
    assert_success(&status);
    let table = String::from_utf8_lossy(&status.stdout).to_string();
    let line = |tenant: &str| {
        table
            .lines()
            .find(|l| l.starts_with(tenant))
            .unwrap_or_else(|| panic!("no line for {tenant}:\n{table}"))
            .split_whitespace()
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    let t101 = line("T-101");
    assert_eq!(&t101[1..3], ["hotel-0", "imported"], "{table}");
    assert!(t101.contains(&"ops".to_owned()), "{table}");
    assert_eq!(&line("T-102")[1..3], ["hotel-1", "legacy"], "{table}");
    assert_eq!(
        line("T-102").last().map(String::as_str),
        Some("0"),
        "{table}"
    );

    let unknown = one_line_error(&pms_server(&["kv-import", "--tenant", "T-999"], &db.url));
    assert!(
        unknown.contains("\"T-999\"") && unknown.contains("T-101 (hotel-0)"),
        "{unknown}"
    );
    let skipped = one_line_error(&pms_server(
        &["kv-import", "state", "cut_over", "--tenant", "T-101"],
        &db.url,
    ));
    assert!(
        skipped.contains("cannot go from imported to cut_over"),
        "{skipped}"
    );
    let refused = pms_server(&["kv-import", "retire", "--dry-run"], &db.url);
    let error = one_line_error(&refused);
    assert!(error.contains("checks fail"), "{error}");
    let checks = String::from_utf8_lossy(&refused.stdout).to_string();
    assert!(
        checks.contains(
            "FAIL every tenant cut over: not cut over yet: T-101 (imported), T-102 (legacy)"
        ),
        "{checks}"
    );
    let no_archive = pms_server(&["kv-import", "retire"], &db.url);
    assert_eq!(
        no_archive.status.code(),
        Some(2),
        "clap refuses a retirement without --archive"
    );
}

/// The progress lines of a run (`PMS_LOG_FORMAT=json`), in the order printed.
fn progress_lines(stderr: &str) -> Vec<serde_json::Value> {
    stderr
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|line| line["message"] == "progress")
        .collect()
}

#[tokio::test]
async fn progress_is_logged_per_prefix_when_standard_error_is_not_a_terminal() {
    let db = Db::with_sample().await;
    let dir =
        std::env::temp_dir().join(format!("pms-kv-progress-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).expect("dir");
    let json = dir.join("report.json");
    // output piped: no terminal, so log lines (every batch here), not bars
    let output = command(
        &[
            "kv-import",
            "--batch-size",
            "50",
            "--progress-every",
            "0s",
            "--report-json",
            json.to_str().expect("a path"),
        ],
        &db.url,
    )
    .env("RUST_LOG", "warn,pms_server::kv_import::progress=info")
    .env("PMS_LOG_FORMAT", "json")
    .stdin(Stdio::null())
    .output()
    .expect("run pms-server kv-import");
    assert_success(&output);
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    let lines = progress_lines(&stderr);
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&json).expect("the JSON report")).expect("JSON");
    std::fs::remove_dir_all(&dir).ok();

    let mapped: Vec<&serde_json::Value> = report["prefixes"]
        .as_array()
        .expect("prefixes")
        .iter()
        .filter(|p| p["disposition"] == "mapped" && p["seen"].as_u64() > Some(0))
        .collect();
    assert!(mapped.len() >= 15, "{report}");
    for prefix in mapped {
        let name = prefix["prefix"].as_str().expect("a prefix");
        let seen = prefix["seen"].as_u64().expect("seen");
        let own: Vec<&serde_json::Value> = lines.iter().filter(|l| l["prefix"] == name).collect();
        // the last line says the prefix is done, every record of it, of the census's total
        let last = own
            .last()
            .unwrap_or_else(|| panic!("no progress line for {name}:\n{stderr}"));
        assert_eq!(last["finished"], true, "{name}: {last}");
        assert_eq!(
            (last["done"].as_u64(), last["total"].as_u64()),
            (Some(seen), Some(seen)),
            "{name}: {last} (report: {prefix})"
        );
        // lines on the way count up to it, with a rate and the time left
        let done: Vec<u64> = own.iter().filter_map(|l| l["done"].as_u64()).collect();
        assert!(done.windows(2).all(|w| w[0] <= w[1]), "{name}: {done:?}");
        for line in &own {
            assert_eq!(line["total"].as_u64(), Some(seen), "{name}: {line}");
            assert!(
                line["records_per_second"].as_f64().is_some()
                    && line["eta_seconds"].as_f64().is_some(),
                "{name}: {line}"
            );
        }
        if seen > 100 {
            assert!(
                own.iter()
                    .any(|l| l["finished"] == false && l["done"].as_u64() < Some(seen)),
                "{name}: no line while it was under way: {own:?}"
            );
        }
    }
    // the JSON report is what it was: no progress in it
    let fields: Vec<&str> = report
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        fields,
        [
            "accounted",
            "bookings_without_guest",
            "bookings_without_guest_count",
            "confirmation_numbers",
            "finished_at",
            "import_seconds",
            "ledger",
            "peak_memory_kib",
            "prefixes",
            "quarantined",
            "records_per_second",
            "rooms_to_reassign",
            "rooms_to_reassign_count",
            "source",
            "started_at",
            "target",
            "totals",
            "verification",
        ]
    );
}
