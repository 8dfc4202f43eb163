//! `pms-client sync` killed with SIGKILL at random points while it pushes and pulls, 50 times or
//! more, with new local work before every run: at the end no change is lost, none is applied
//! twice (the server's own record of each change's outcome and its rows say so, not only the
//! mirror), the local database is sound and the mirror equals the server.

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
    let refused: i64 = conn
        .query_row("select count(*) from conflicts", [], |r| r.get(0))
        .expect("conflicts");
    assert_eq!(
        refused, 0,
        "nothing was refused (a change sent twice would be)"
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
    // The server's own ledger of this laptop's pushes: one outcome per change the laptop made
    // (device numbers 1..made, each change id once), all applied, and the device's progress at
    // the last one. A change pushed twice under another number, or applied twice, shows here
    // even where the mirror (which a second apply of the same row leaves unchanged) cannot.
    let made: i64 = mirror::state(&conn, "next_device_seq")
        .expect("state")
        .and_then(|v| v.parse().ok())
        .map(|next: i64| next - 1)
        .expect("the laptop numbered its changes");
    let (results, numbers, change_ids, applied, lowest, highest, progress): (
        i64,
        i64,
        i64,
        i64,
        Option<i64>,
        Option<i64>,
        Option<i64>,
    ) = sqlx::query_as(
        "select count(*), count(distinct device_seq), count(distinct change_id),
                count(*) filter (where status = 'applied'), min(device_seq), max(device_seq),
                (select max(last_seq) from app.device_progress where tenant_id = $1)
           from app.change_results where tenant_id = $1",
    )
    .bind(tenant_id)
    .fetch_one(&db.pool)
    .await
    .expect("change results");
    assert_eq!(
        (results, numbers, change_ids, applied),
        (made, made, made, made),
        "one applied outcome per change, each change once"
    );
    assert_eq!(
        (lowest, highest, progress),
        (Some(1), Some(made), Some(made))
    );
    // And the rows the server holds are exactly the laptop's: the guests it registered and the
    // earn entries it wrote, as many as the laptop made, no more.
    let (guests_there, balance): (i64, i64) = sqlx::query_as(
        "select (select count(*) from public.guests where last_name = 'Killed' and tenant_id = $2),
                (select coalesce(sum(points), 0)::bigint from public.loyalty_transactions
                  where member_id = $1 and description = 'killed earn')",
    )
    .bind(member)
    .bind(tenant_id)
    .fetch_one(&db.pool)
    .await
    .expect("server rows");
    assert_eq!((guests_there, balance), (written, 5 * written));
    mirror_matches_server_as(&db, Claims { tenant_id, user_id }, &conn)
        .await
        .unwrap_or_else(|e| panic!("the mirror after {kills} kills differs:\n{e}"));
    println!("{kills} kills in {runs} runs, {written} changes each applied once");
    let _ = std::fs::remove_dir_all(&dir);
}
