//! After any sync the mirror tells the truth: every row without a pending change equals the
//! server's (as the laptop's staff role may read it), and a row with one equals the server's row
//! plus that change. Through the client library against the real server: a role changed while
//! the initial snapshot is paged; an update the server refuses without sending its row; a pending
//! update of a row that a pull or a re-snapshot removes; an acknowledged insert the server no
//! longer has when the laptop re-snapshots; a mirror left by an older build, upgraded.

use pms_server::admin;
use pms_sync_client::engine::{initial_sync, pull_when_changed, push_pending, reset_for_snapshot};
use pms_sync_client::{conflicts, mirror, outbox};
use pms_sync_protocol::wire::PushOp;
use pms_tests::laptops::{first_tenant, mirror_matches_server, object, staff_emails, Laptop};
use pms_tests::{TestDb, TestServer};
use serde_json::{json, Value};
use uuid::Uuid;

fn count(laptop: &Laptop, table: &str) -> i64 {
    laptop
        .conn
        .query_row(&format!("select count(*) from {table}"), [], |r| r.get(0))
        .expect("count")
}

fn local_row(laptop: &Laptop, table: &str, id: Uuid) -> Option<serde_json::Map<String, Value>> {
    mirror::read(&laptop.conn, table, &id.to_string()).expect("read")
}

fn pending_of(laptop: &Laptop, id: Uuid) -> usize {
    outbox::entries(&laptop.conn, true)
        .expect("outbox")
        .iter()
        .filter(|e| e.id == id)
        .count()
}

/// (reason, id) of every open conflict, by id.
fn open_conflicts(laptop: &Laptop) -> Vec<(i64, String, String)> {
    laptop
        .conn
        .prepare("select id, reason, row_id from conflicts where resolved_at is null order by id")
        .expect("prepare")
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("conflicts")
}

/// A guest made on the server (as another desk would), with no loyalty or stays, so it can go.
async fn server_guest(db: &TestDb, name: &str) -> Uuid {
    sqlx::query_scalar(
        "insert into public.guests (tenant_id, first_name, last_name) values ($1, $2, 'Server') returning id",
    )
    .bind(first_tenant(db).await)
    .bind(name)
    .fetch_one(&db.pool)
    .await
    .expect("a guest on the server")
}

async fn delete_on_server(db: &TestDb, id: Uuid) {
    let deleted = sqlx::query("delete from public.guests where id = $1")
        .bind(id)
        .execute(&db.pool)
        .await
        .expect("delete");
    assert_eq!(deleted.rows_affected(), 1);
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

/// A front desk renames a property (only owner and manager may: `not_found`, no row sent back)
/// and a plan (nobody at the tenant may: `forbidden`, no row sent back). Both refusals go to the
/// conflicts inbox and the mirror shows the server's values again, also after "keep theirs".
#[tokio::test]
async fn an_update_refused_without_the_servers_row_is_undone_on_the_laptop() {
    let db = TestDb::migrated().await;
    db.seed(1, 10).await;
    let server = TestServer::start(&db).await;
    let email = staff_emails(&db, "front_desk").await.remove(0);
    let mut laptop = Laptop::sign_in(&db, &server, &email, "desk").await;
    laptop.sync().await;
    let first = |table: &str| -> Uuid {
        laptop
            .conn
            .query_row(
                &format!("select id from {table} order by id limit 1"),
                [],
                |r| r.get::<_, String>(0),
            )
            .expect("a row")
            .parse()
            .expect("uuid")
    };
    let (property, plan) = (first("properties"), first("plans"));
    outbox::write(
        &mut laptop.conn,
        "properties",
        PushOp::Update,
        property,
        object(json!({"name": "Renamed at the desk"})),
    )
    .expect("rename the property");
    outbox::write(
        &mut laptop.conn,
        "plans",
        PushOp::Update,
        plan,
        object(json!({"display_name": "Free for all"})),
    )
    .expect("rename the plan");

    let report = laptop.sync().await;
    mirror_matches_server(&db, &laptop)
        .await
        .unwrap_or_else(|e| panic!("the refused values stayed on the laptop:\n{e}"));
    assert_eq!(report.rejected, 2, "{report:?}");
    let reasons: Vec<String> = open_conflicts(&laptop)
        .into_iter()
        .map(|(_, reason, _)| reason)
        .collect();
    assert_eq!(reasons, vec!["not_found", "forbidden"]);

    for (id, ..) in open_conflicts(&laptop) {
        conflicts::resolve(&mut laptop.conn, id, conflicts::Resolution::KeepTheirs)
            .expect("keep theirs");
    }
    laptop.sync().await;
    assert!(open_conflicts(&laptop).is_empty());
    mirror_matches_server(&db, &laptop)
        .await
        .unwrap_or_else(|e| panic!("after keeping theirs:\n{e}"));
}

/// A desk edits a guest that another desk deletes meanwhile. The pull (a long-polling laptop
/// pulls without pushing) removes the row; the pending edit must not bring it back as a row of
/// only the edited column. It stays in the outbox, and when pushed lands in the conflicts inbox.
#[tokio::test]
async fn a_pending_update_of_a_row_a_pull_removes_does_not_come_back_as_a_partial_row() {
    let db = TestDb::migrated().await;
    db.seed(1, 10).await;
    let server = TestServer::start(&db).await;
    let email = staff_emails(&db, "front_desk").await.remove(0);
    let guest = server_guest(&db, "Leaving").await;
    let mut laptop = Laptop::sign_in(&db, &server, &email, "desk").await;
    laptop.sync().await;
    assert!(local_row(&laptop, "guests", guest).is_some());

    outbox::write(
        &mut laptop.conn,
        "guests",
        PushOp::Update,
        guest,
        object(json!({"notes": "Wants a late check-out"})),
    )
    .expect("edit");
    delete_on_server(&db, guest).await;
    pull_when_changed(&mut laptop.conn, &laptop.remote, 0)
        .await
        .expect("pull");
    assert_eq!(
        local_row(&laptop, "guests", guest),
        None,
        "the server no longer has the guest"
    );
    assert_eq!(pending_of(&laptop, guest), 1, "the edit is still waiting");

    let report = laptop.sync().await;
    assert_eq!(report.rejected, 1);
    let open = open_conflicts(&laptop);
    assert_eq!(open.len(), 1);
    assert_eq!(
        (open[0].1.as_str(), open[0].2.clone()),
        ("not_found", guest.to_string())
    );
    assert_eq!(local_row(&laptop, "guests", guest), None);
    mirror_matches_server(&db, &laptop)
        .await
        .unwrap_or_else(|e| panic!("after the push:\n{e}"));
}

/// A re-snapshot (the server's retention passed the cursor, or the role changed) rebuilds the
/// mirror from the server plus the outbox: a pending update of a guest deleted meanwhile is not
/// turned into a partial row, an acknowledged insert the server has since deleted does not come
/// back, and a pending update of a row the server still has is shown on top of it.
#[tokio::test]
async fn a_resnapshot_shows_the_server_plus_pending_changes_and_nothing_else() {
    let db = TestDb::migrated().await;
    db.seed(1, 10).await;
    let server = TestServer::start(&db).await;
    let email = staff_emails(&db, "front_desk").await.remove(0);
    let gone = server_guest(&db, "Gone").await;
    let kept = server_guest(&db, "Kept").await;
    let mut laptop = Laptop::sign_in(&db, &server, &email, "desk").await;
    laptop.sync().await;

    // A walk-in pushed (acknowledged, not yet pulled back), then deleted on the server.
    let walk_in = Uuid::now_v7();
    outbox::write(
        &mut laptop.conn,
        "guests",
        PushOp::Insert,
        walk_in,
        object(json!({"first_name": "Walk", "last_name": "In"})),
    )
    .expect("insert");
    push_pending(&mut laptop.conn, &laptop.remote)
        .await
        .expect("push");
    delete_on_server(&db, walk_in).await;
    // Two edits waiting: one of a guest deleted meanwhile, one of a guest still there.
    for (id, note) in [
        (gone, "Allergic to feathers"),
        (kept, "Prefers the sea view"),
    ] {
        outbox::write(
            &mut laptop.conn,
            "guests",
            PushOp::Update,
            id,
            object(json!({"notes": note})),
        )
        .expect("edit");
    }
    delete_on_server(&db, gone).await;

    reset_for_snapshot(&mut laptop.conn).expect("reset");
    initial_sync(&mut laptop.conn, &laptop.remote, |_| true)
        .await
        .expect("snapshot again");
    assert_eq!(
        local_row(&laptop, "guests", gone),
        None,
        "no partial row of a deleted guest"
    );
    assert_eq!(
        local_row(&laptop, "guests", walk_in),
        None,
        "the walk-in deleted on the server does not come back"
    );
    let shown = local_row(&laptop, "guests", kept).expect("the kept guest");
    assert_eq!(shown["notes"], "Prefers the sea view");
    assert_eq!(
        shown["first_name"], "Kept",
        "the server's row under the edit"
    );
    assert_eq!(pending_of(&laptop, gone), 1, "the edit is still waiting");

    laptop.sync().await;
    let open = open_conflicts(&laptop);
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(open[0].2, gone.to_string());
    assert!(outbox::entries(&laptop.conn, true)
        .expect("outbox")
        .is_empty());
    mirror_matches_server(&db, &laptop)
        .await
        .unwrap_or_else(|e| panic!("after the sync:\n{e}"));
}

/// A laptop told to re-snapshot pushes first (the round's push comes before the snapshot), so
/// its change is acknowledged before the snapshot's head is taken and the snapshot's pages hold
/// it. Another desk then edits the same field, also before the head. Applying the acknowledged
/// change again when the snapshot completes would put the laptop's older value back over the
/// newer one, and no later feed entry would ever correct it (the chaos campaign's seed 19: a
/// stay's dates, after a re-snapshot cut short and resumed).
#[tokio::test]
async fn a_change_acknowledged_before_a_snapshot_is_not_applied_again_over_newer_work() {
    let db = TestDb::migrated().await;
    db.seed(1, 10).await;
    let server = TestServer::start(&db).await;
    let emails = staff_emails(&db, "front_desk").await;
    let mut a = Laptop::sign_in(&db, &server, &emails[0], "laptop A").await;
    let mut b = Laptop::sign_in(&db, &server, &emails[1], "laptop B").await;
    a.sync().await;
    b.sync().await;
    let guest: Uuid = a
        .conn
        .query_row("select id from guests order by id limit 1", [], |r| {
            r.get::<_, String>(0)
        })
        .expect("a guest")
        .parse()
        .expect("uuid");

    outbox::write(
        &mut a.conn,
        "guests",
        PushOp::Update,
        guest,
        object(json!({"phone": "+34 600 111 111"})),
    )
    .expect("A's edit");
    reset_for_snapshot(&mut a.conn).expect("told to re-snapshot");
    push_pending(&mut a.conn, &a.remote)
        .await
        .expect("the round's push");

    b.sync().await; // B sees A's phone, then changes it
    outbox::write(
        &mut b.conn,
        "guests",
        PushOp::Update,
        guest,
        object(json!({"phone": "+34 600 222 222"})),
    )
    .expect("B's edit");
    b.sync().await;

    initial_sync(&mut a.conn, &a.remote, |_| true)
        .await
        .expect("A's snapshot");
    a.sync().await;
    let shown = local_row(&a, "guests", guest).expect("the guest on A");
    assert_eq!(
        shown["phone"], "+34 600 222 222",
        "A shows its own older edit over B's newer one"
    );
    mirror_matches_server(&db, &a)
        .await
        .unwrap_or_else(|e| panic!("A after its snapshot:\n{e}"));
}

/// An upgrade that mirrors more (mirror migration 0006 added `guest_documents`,
/// `reservation_events` and `properties.document_retention_days`): the new build opens the older
/// build's file, a guest's edit waiting in its outbox, and migrates it. The rows and values the
/// server already had of what is new are in no later feed entry, so the next sync takes a new
/// snapshot, keeping the edit, which is pushed. (Found by the fault campaign's app upgrade: the
/// properties' retention stayed empty on the laptop, 365 days on the server.)
#[tokio::test]
async fn a_desk_upgraded_to_mirror_more_fills_what_is_new_and_keeps_its_pending_edit() {
    let db = TestDb::migrated().await;
    db.seed(1, 10).await;
    let server = TestServer::start(&db).await;
    let email = staff_emails(&db, "front_desk").await.remove(0);
    let guest = server_guest(&db, "Upgraded").await;
    let path = std::env::temp_dir().join(format!("pms-upgrade-{}.sqlite", Uuid::now_v7()));
    let conn = mirror::open(&path).expect("mirror file");
    let mut laptop = Laptop::sign_in_with(&db, &server, &email, "desk", conn).await;
    laptop.sync().await;
    outbox::write(
        &mut laptop.conn,
        "guests",
        PushOp::Update,
        guest,
        object(json!({"notes": "Arrives late"})),
    )
    .expect("edit");

    // The older build's file, opened by this one.
    drop(std::mem::replace(
        &mut laptop.conn,
        mirror::open_in_memory().expect("placeholder"),
    ));
    pms_tests::older_mirror::make_it_older(&path);
    laptop.conn = mirror::open(&path).expect("the new build migrates the older file");
    let kept: Option<i64> = laptop
        .conn
        .query_row(
            "select document_retention_days from properties limit 1",
            [],
            |r| r.get(0),
        )
        .expect("a property");
    assert_eq!(kept, None, "the older file has no retention yet");
    assert_eq!(pending_of(&laptop, guest), 1);

    laptop.sync().await;
    mirror_matches_server(&db, &laptop)
        .await
        .unwrap_or_else(|e| panic!("after the upgrade's first sync:\n{e}"));
    let notes: Option<String> = sqlx::query_scalar("select notes from public.guests where id = $1")
        .bind(guest)
        .fetch_one(&db.pool)
        .await
        .expect("the guest");
    assert_eq!(notes.as_deref(), Some("Arrives late"));
    drop(laptop);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}
