//! `pms-client sync` killed with SIGKILL at random points while it pushes and pulls, 50 times or
//! more, with new local work before every run: at the end no change is lost, none is applied
//! twice, the local database is sound and the mirror equals the server.

use std::process::Stdio;
use std::time::Duration;

use pms_sync_client::{loyalty, mirror, outbox};
use pms_sync_protocol::wire::PushOp;
use pms_tests::laptops::{mirror_matches_server_as, staff_emails, PASSWORD};
use pms_tests::{set_password, Claims, TestDb, TestServer};
use rand::{Rng, SeedableRng};
use tokio::process::Command;
use uuid::Uuid;

const KILLS: usize = 50;

fn pms_client(db: &std::path::Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_pms-client"));
    command.arg("--db").arg(db).env("PMS_PASSWORD", PASSWORD);
    command
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_killed_mid_push_and_pull_loses_nothing_and_repeats_nothing() {
    let db = TestDb::migrated().await;
    db.seed(1, 50).await;
    let server = TestServer::start(&db).await;
    let email = staff_emails(&db, "front_desk").await.remove(0);
    set_password(&db.pool, &email, PASSWORD).await;
    let dir = std::env::temp_dir().join(format!("pms-killsync-{}", Uuid::now_v7()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("mirror.sqlite3");
    let login = pms_client(&path)
        .args(["login", "--server", &server.base_url, "--email", &email])
        .output()
        .await
        .expect("login");
    assert!(
        login.status.success(),
        "{}",
        String::from_utf8_lossy(&login.stderr)
    );
    let first = pms_client(&path)
        .arg("sync")
        .output()
        .await
        .expect("first sync");
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let member: Uuid = {
        let conn = mirror::open(&path).expect("open");
        conn.query_row(
            "select id from loyalty_members order by id limit 1",
            [],
            |r| r.get::<_, String>(0),
        )
        .expect("a member")
        .parse()
        .expect("uuid")
    };

    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
    let (mut kills, mut runs, mut written) = (0, 0, 0);
    while kills < KILLS {
        runs += 1;
        assert!(
            runs < 400,
            "only {kills} of {runs} runs could be killed mid-sync"
        );
        {
            // New work at the desk between runs, through the one write path.
            let mut conn = mirror::open(&path).expect("open");
            outbox::write(
                &mut conn,
                "guests",
                PushOp::Insert,
                Uuid::now_v7(),
                serde_json::json!({"first_name": format!("K{runs}"), "last_name": "Killed"})
                    .as_object()
                    .cloned()
                    .expect("object"),
            )
            .expect("insert");
            loyalty::earn(&mut conn, member, 5, "earn", "killed earn").expect("earn");
            written += 1;
        }
        let mut child = pms_client(&path)
            .arg("sync")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("sync");
        tokio::time::sleep(Duration::from_millis(rng.random_range(1..80))).await;
        let _ = child.start_kill();
        let status = child.wait().await.expect("wait");
        if !status.success() {
            kills += 1;
        }
        let conn = rusqlite::Connection::open(&path).expect("open after the kill");
        let check: String = conn
            .query_row("pragma integrity_check", [], |r| r.get(0))
            .expect("integrity check");
        assert_eq!(check, "ok", "run {runs}: the local database is damaged");
    }

    for _ in 0..2 {
        let last = pms_client(&path).arg("sync").output().await.expect("sync");
        assert!(
            last.status.success(),
            "{}",
            String::from_utf8_lossy(&last.stderr)
        );
    }
    let conn = mirror::open(&path).expect("open");
    assert!(
        outbox::entries(&conn, true).expect("outbox").is_empty(),
        "everything pushed"
    );
    let (guests, earned): (i64, i64) = sqlx::query_as(
        "select (select count(*) from public.guests where last_name = 'Killed'),
                (select count(*) from public.loyalty_transactions where member_id = $1 and description = 'killed earn')",
    )
    .bind(member)
    .fetch_one(&db.pool)
    .await
    .expect("counts");
    assert_eq!(
        (guests, earned),
        (written, written),
        "each change once, after {kills} kills in {runs} runs"
    );
    let (tenant_id, user_id) =
        sqlx::query_as("select tenant_id, user_id from public.staff where email = $1")
            .bind(&email)
            .fetch_one(&db.pool)
            .await
            .expect("staff");
    mirror_matches_server_as(&db, Claims { tenant_id, user_id }, &conn)
        .await
        .unwrap_or_else(|e| panic!("the mirror after {kills} kills differs:\n{e}"));
    println!("{kills} kills in {runs} runs, {written} changes each applied once");
    let _ = std::fs::remove_dir_all(&dir);
}
