//! `pms-client sync` killed with SIGKILL in the middle of its initial sync, again and again:
//! each run resumes where the last committed page left it, the local database stays sound, and
//! the last run ends with a mirror equal to the server.

use std::process::Stdio;

use pms_tests::laptops::{mirror_matches_server_as, staff_emails, PASSWORD};
use pms_tests::{set_password, Claims, TestDb, TestServer};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

/// How many times the initial sync is killed before it may finish.
const KILLS: usize = 6;

fn pms_client(db: &std::path::Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_pms-client"));
    command.arg("--db").arg(db).env("PMS_PASSWORD", PASSWORD);
    command
}

/// The "tables done" of a progress line `initial sync: guests (3/18 tables, 4000 rows)`.
fn tables_done(line: &str) -> Option<usize> {
    let inside = line.split('(').nth(1)?;
    inside.split('/').next()?.trim().parse().ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_killed_during_its_initial_sync_resumes_and_ends_complete() {
    let db = TestDb::migrated().await;
    db.seed(1, 6_000).await;
    let server = TestServer::start(&db).await;
    let email = staff_emails(&db, "front_desk").await.remove(0);
    set_password(&db.pool, &email, PASSWORD).await;
    let dir = std::env::temp_dir().join(format!("pms-kill-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mirror = dir.join("mirror.sqlite3");

    let login = pms_client(&mirror)
        .args(["login", "--server", &server.base_url, "--email", &email])
        .output()
        .await
        .expect("login");
    assert!(
        login.status.success(),
        "{}",
        String::from_utf8_lossy(&login.stderr)
    );

    // The furthest table a committed page reached, as the progress lines told.
    let mut furthest = 0;
    for kill in 0..KILLS {
        let mut child = pms_client(&mirror)
            .arg("sync")
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("start a sync");
        let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
        // Let it commit one to three pages, then kill it without warning.
        let before = furthest;
        let mut seen = 0;
        while let Some(line) = lines.next_line().await.expect("read progress") {
            if let Some(done) = tables_done(&line) {
                if seen == 0 {
                    assert!(
                        done >= before,
                        "run {kill} started over at table {done}, after reaching {before}"
                    );
                }
                furthest = furthest.max(done);
                seen += 1;
                if seen == 1 + kill % 3 {
                    break;
                }
            }
        }
        assert!(seen > 0, "run {kill} reported no progress");
        child.start_kill().expect("SIGKILL");
        let status = child.wait().await.expect("wait");
        assert!(
            !status.success(),
            "run {kill} finished before it was killed"
        );
        let conn = rusqlite::Connection::open(&mirror).expect("open after the kill");
        let check: String = conn
            .query_row("pragma integrity_check", [], |r| r.get(0))
            .expect("integrity check");
        assert_eq!(check, "ok", "run {kill}: the local database is damaged");
    }
    assert!(furthest > 0, "the kills came before any table was complete");

    let finish = pms_client(&mirror)
        .arg("sync")
        .output()
        .await
        .expect("last sync");
    assert!(
        finish.status.success(),
        "{}",
        String::from_utf8_lossy(&finish.stderr)
    );
    let progress = String::from_utf8_lossy(&finish.stderr);
    let resumed_at = progress.lines().find_map(tables_done).unwrap_or(usize::MAX);
    assert!(
        resumed_at >= furthest,
        "the last run resumed at table {resumed_at}, before {furthest}:\n{progress}"
    );

    let conn = rusqlite::Connection::open(&mirror).expect("open");
    let (tenant_id, user_id) =
        sqlx::query_as("select tenant_id, user_id from public.staff where email = $1")
            .bind(&email)
            .fetch_one(&db.pool)
            .await
            .expect("staff");
    mirror_matches_server_as(&db, Claims { tenant_id, user_id }, &conn)
        .await
        .unwrap_or_else(|e| panic!("the mirror after the kills differs from the server:\n{e}"));
    let _ = std::fs::remove_dir_all(&dir);
}
