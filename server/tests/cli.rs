//! The `pms-server` binary as an operator meets it: bad input gets one line that says what to do
//! and a non-zero exit; the good path migrates and seeds a real database.

use std::process::{Command, Output};

use sqlx::{Connection, PgConnection};

fn pms_server(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_pms-server"));
    command
        .args(args)
        .env_remove("PMS_ADMIN_DATABASE_URL")
        .env_remove("DATABASE_URL")
        .env("RUST_LOG", "warn");
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().expect("run pms-server")
}

/// The single line of stderr, asserting there is exactly one.
fn one_line_error(output: &Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).trim().to_owned();
    assert_eq!(
        stderr.lines().count(),
        1,
        "expected one line of error, got:\n{stderr}"
    );
    assert!(stderr.starts_with("error: "), "{stderr}");
    stderr
}

#[test]
fn a_missing_admin_url_says_which_variable_to_set() {
    let output = pms_server(&["migrate"], &[]);
    assert_eq!(output.status.code(), Some(1));
    let error = one_line_error(&output);
    assert!(
        error.contains("PMS_ADMIN_DATABASE_URL is not set"),
        "{error}"
    );
    assert!(
        error.contains("export"),
        "the message says what to do: {error}"
    );
}

#[test]
fn an_unreachable_database_is_named_without_its_password() {
    let output = pms_server(
        &["migrate"],
        &[(
            "PMS_ADMIN_DATABASE_URL",
            "postgres://admin:TopSecret42@127.0.0.1:1/pms",
        )],
    );
    assert_eq!(output.status.code(), Some(1));
    let error = one_line_error(&output);
    assert!(
        error.contains("cannot connect to postgres://admin:***@127.0.0.1:1/pms"),
        "{error}"
    );
    assert!(error.contains("check that Postgres is running"), "{error}");
    let everything = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        !everything.contains("TopSecret42"),
        "the password leaked: {everything}"
    );
}

#[test]
fn a_url_that_is_not_postgres_is_refused() {
    let output = pms_server(
        &["seed-demo"],
        &[("PMS_ADMIN_DATABASE_URL", "mysql://root@localhost/db")],
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(one_line_error(&output).contains("not a postgres:// URL"));
}

#[test]
fn an_unsafe_role_name_is_refused_before_connecting() {
    let output = pms_server(
        &["migrate"],
        &[
            (
                "PMS_ADMIN_DATABASE_URL",
                "postgres://postgres@127.0.0.1:1/pms",
            ),
            ("PMS_APP_ROLE", "x\"; drop table"),
        ],
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(one_line_error(&output).contains("PMS_APP_ROLE"));
}

#[test]
fn bad_flags_and_values_get_one_line_and_exit_code_2() {
    for args in [
        &["seed-demo", "--bogus"][..],
        &["seed-demo", "--tenants", "many"][..],
        &["frobnicate"][..],
        &[][..],
    ] {
        let output = pms_server(args, &[]);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let error = one_line_error(&output);
        assert!(error.contains("pms-server --help"), "{args:?}: {error}");
    }
    // a value in range for the parser but not for the seeder
    let output = pms_server(&["seed-demo", "--tenants", "0"], &[]);
    assert_eq!(output.status.code(), Some(1));
    assert!(one_line_error(&output).contains("--tenants must be between"));
}

#[test]
fn help_goes_to_stdout_and_succeeds() {
    let output = pms_server(&["--help"], &[]);
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    assert!(
        help.contains("migrate") && help.contains("seed-demo"),
        "{help}"
    );
}

#[tokio::test]
async fn migrate_then_seed_demo_on_a_fresh_database() {
    let server = std::env::var("PMS_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let name = format!("pms_cli_{}", uuid::Uuid::new_v4().simple());
    let mut admin = PgConnection::connect(&server)
        .await
        .expect("the test Postgres is reachable");
    sqlx::query(&format!("create database {name}"))
        .execute(&mut admin)
        .await
        .expect("create database");
    let mut url = url::Url::parse(&server).expect("url");
    url.set_path(&format!("/{name}"));
    let url = url.to_string();

    let first = pms_server(&["migrate"], &[("PMS_ADMIN_DATABASE_URL", &url)]);
    let second = pms_server(&["migrate"], &[("PMS_ADMIN_DATABASE_URL", &url)]);
    let seeded = pms_server(
        &[
            "seed-demo",
            "--tenants",
            "1",
            "--guests",
            "20",
            "--today",
            "2026-11-25",
        ],
        &[("PMS_ADMIN_DATABASE_URL", &url)],
    );
    let again = pms_server(
        &[
            "seed-demo",
            "--tenants",
            "1",
            "--guests",
            "20",
            "--today",
            "2026-11-25",
        ],
        &[("PMS_ADMIN_DATABASE_URL", &url)],
    );
    // Operating on the seeded tenant: a role change, a bad role, and the retention of sync state.
    let email: String = {
        let mut seeded_db = PgConnection::connect(&url).await.expect("connect");
        sqlx::query_scalar(
            "select email from public.staff where role = 'front_desk' order by email limit 1",
        )
        .fetch_one(&mut seeded_db)
        .await
        .expect("a front desk account")
    };
    let promoted = pms_server(
        &["staff", "set-role", "--email", &email, "--role", "manager"],
        &[("PMS_ADMIN_DATABASE_URL", &url)],
    );
    let bad_role = pms_server(
        &["staff", "set-role", "--email", &email, "--role", "boss"],
        &[("PMS_ADMIN_DATABASE_URL", &url)],
    );
    let pruned = pms_server(
        &["prune-sync-state", "--keep-days", "0"],
        &[("PMS_ADMIN_DATABASE_URL", &url)],
    );
    sqlx::query(&format!("drop database {name} with (force)"))
        .execute(&mut admin)
        .await
        .expect("drop database");

    let stdout = |o: &Output| String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(
        stdout(&first).contains(&format!(
            "applied {} migration(s)",
            pms_server::db::MIGRATOR.iter().count()
        )),
        "{}",
        stdout(&first)
    );
    assert!(second.status.success());
    assert!(
        stdout(&second).contains("schema is up to date"),
        "{}",
        stdout(&second)
    );
    assert!(
        seeded.status.success(),
        "{}",
        String::from_utf8_lossy(&seeded.stderr)
    );
    assert!(
        stdout(&seeded).contains("seeded 1 tenant(s)"),
        "{}",
        stdout(&seeded)
    );
    assert_eq!(again.status.code(), Some(1));
    assert!(one_line_error(&again).contains("already exists"));
    assert!(
        promoted.status.success() && stdout(&promoted).contains("is now manager"),
        "{}",
        String::from_utf8_lossy(&promoted.stderr)
    );
    assert!(one_line_error(&bad_role).contains("owner, manager, front_desk or housekeeping"));
    assert!(
        pruned.status.success() && stdout(&pruned).contains("feed change(s)"),
        "{}",
        String::from_utf8_lossy(&pruned.stderr)
    );
    let removed: u64 = stdout(&pruned)
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .expect("a count");
    assert!(
        removed > 0,
        "the seeded feed was pruned: {}",
        stdout(&pruned)
    );
}
