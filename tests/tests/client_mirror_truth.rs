//! After any sync the mirror tells the truth: every row without a pending change equals the
//! server's (as the laptop's staff role may read it). Through the client library against the
//! real server: a role changed while the initial snapshot is paged.

use pms_server::admin;
use pms_sync_client::engine::initial_sync;
use pms_tests::laptops::{mirror_matches_server, staff_emails, Laptop};
use pms_tests::{TestDb, TestServer};

fn count(laptop: &Laptop, table: &str) -> i64 {
    laptop
        .conn
        .query_row(&format!("select count(*) from {table}"), [], |r| r.get(0))
        .expect("count")
}

/// The owner demotes the front desk to housekeeping while its first sync is paging the tables:
/// the head carried the role the snapshot began under, the laptop checks it again before it
/// records the cursor, and takes the snapshot again as housekeeping, so no guest's personal data
/// stays on the laptop.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_desk_demoted_during_its_initial_sync_ends_without_guests() {
    let db = TestDb::migrated().await;
    db.seed(1, 20).await;
    let server = TestServer::start(&db).await;
    let email = staff_emails(&db, "front_desk").await.remove(0);
    let mut laptop = Laptop::sign_in(&db, &server, &email, "desk").await;
    let pool = db.pool.clone();
    let mut demoted = false;
    initial_sync(&mut laptop.conn, &laptop.remote, |progress| {
        // Between two pages, right after the guests came in as front desk.
        if progress.table == "guests" && !demoted {
            tokio::task::block_in_place(|| {
                tokio::runtime::Handle::current().block_on(admin::set_staff_role(
                    &pool,
                    &email,
                    "housekeeping",
                ))
            })
            .expect("to housekeeping");
            demoted = true;
        }
        true
    })
    .await
    .expect("initial sync");
    assert!(demoted, "the guests were paged");
    assert_eq!(
        count(&laptop, "guests"),
        0,
        "housekeeping may not read guests"
    );
    mirror_matches_server(&db, &laptop)
        .await
        .unwrap_or_else(|e| panic!("as housekeeping:\n{e}"));
}
