//! The laptop's own database in trouble: the disk full, and the file writable no more. In both
//! cases a local write is refused with an error a clerk can act on (`Error::DiskFull`,
//! `Error::ReadOnly`), a sync fails with it without moving the pull cursor or losing the outbox,
//! the file stays sound (`PRAGMA integrity_check`), and once the trouble is gone the refused
//! write goes through and the laptop converges with the real server, every change applied once.
//!
//! The full disk is `PRAGMA max_page_count` just above the file's size: SQLite answers a write
//! that needs one more page exactly as it answers a full disk (`SQLITE_FULL`).

use std::path::PathBuf;

use pms_sync_client::engine::sync_once;
use pms_sync_client::{mirror, outbox, Error};
use pms_sync_protocol::wire::PushOp;
use pms_tests::laptops::{mirror_matches_server, object, staff_emails, Laptop};
use pms_tests::{TestDb, TestServer};
use rusqlite::{Connection, OpenFlags};
use serde_json::json;
use uuid::Uuid;

/// A folder of the test's own, removed at the end.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("pms-local-disk-{}", Uuid::now_v7().simple()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn pragma(conn: &Connection, name: &str) -> i64 {
    conn.pragma_query_value(None, name, |r| r.get(0))
        .expect("pragma")
}

fn integrity(conn: &Connection) -> String {
    conn.query_row("pragma integrity_check", [], |r| r.get(0))
        .expect("integrity check")
}

fn cursor(conn: &Connection) -> (Option<String>, Option<String>) {
    (
        mirror::state(conn, "cursor_seq").expect("state"),
        mirror::state(conn, "cursor_change_no").expect("state"),
    )
}

fn guest(first_name: &str, last_name: &str) -> serde_json::Map<String, serde_json::Value> {
    // Notes make each row take room, so that the file fills in a few dozen writes.
    object(json!({"first_name": first_name, "last_name": last_name, "notes": "n".repeat(400)}))
}

/// A laptop on a mirror file, synced once; and another laptop (in memory) of the same tenant.
async fn desk_on_file(
    db: &TestDb,
    server: &TestServer,
    path: &std::path::Path,
) -> (Laptop, Laptop) {
    let desk = staff_emails(db, "front_desk").await.remove(0);
    let manager = staff_emails(db, "manager").await.remove(0);
    let conn = mirror::open(path).expect("open the mirror file");
    let mut laptop = Laptop::sign_in_with(db, server, &desk, "desk on a file", conn).await;
    laptop.sync().await;
    let mut other = Laptop::sign_in(db, server, &manager, "elsewhere").await;
    other.sync().await;
    (laptop, other)
}

/// Work done on the other laptop and sent to the server: the desk's next pull must store it.
async fn work_elsewhere(other: &mut Laptop, rows: usize) {
    for n in 0..rows {
        outbox::write(
            &mut other.conn,
            "guests",
            PushOp::Insert,
            Uuid::now_v7(),
            guest(&format!("Elsewhere {n}"), "Elsewhere"),
        )
        .expect("write elsewhere");
    }
    other.sync().await;
}

async fn server_count(db: &TestDb, last_name: &str) -> i64 {
    sqlx::query_scalar("select count(*) from public.guests where last_name = $1")
        .bind(last_name)
        .fetch_one(&db.pool)
        .await
        .expect("count")
}

#[tokio::test]
async fn a_full_disk_refuses_local_work_clearly_and_sync_resumes_once_there_is_room() {
    let db = TestDb::migrated().await;
    db.seed(1, 20).await;
    let server = TestServer::start(&db).await;
    let dir = TempDir::new();
    let path = dir.0.join("mirror.sqlite3");
    let (mut desk, mut other) = desk_on_file(&db, &server, &path).await;

    // The disk fills: no free pages left inside the file, room for a few more, and the desk
    // keeps working until a write does not fit.
    desk.conn.execute_batch("vacuum").expect("vacuum");
    assert_eq!(pragma(&desk.conn, "freelist_count"), 0);
    let pages = pragma(&desk.conn, "page_count");
    desk.conn
        .pragma_update(None, "max_page_count", pages + 8)
        .expect("limit the file");
    let mut kept = Vec::new();
    let (refused, error) = loop {
        let id = Uuid::now_v7();
        match outbox::write(
            &mut desk.conn,
            "guests",
            PushOp::Insert,
            id,
            guest(&format!("Filler {}", kept.len()), "Disk"),
        ) {
            Ok(_) => kept.push(id),
            Err(error) => break (id, error),
        }
        assert!(kept.len() < 1_000, "the file never filled");
    };
    // (a) a typed error that tells the clerk what happened and what to do; nothing half-written.
    assert!(matches!(error, Error::DiskFull), "{error:?}");
    assert!(
        error.to_string().contains("disk is full") && error.to_string().contains("free some space"),
        "{error}"
    );
    assert!(!kept.is_empty(), "some work fitted before the disk filled");
    assert!(mirror::read(&desk.conn, "guests", &refused.to_string())
        .expect("read")
        .is_none());
    assert_eq!(
        outbox::entries(&desk.conn, true).expect("outbox").len(),
        kept.len()
    );

    // (b) a sync whose pull must store rows fails with the same error; the cursor stays, and
    // so does every change the desk made (pushed or not, it is still in the outbox and shown).
    work_elsewhere(&mut other, 40).await;
    let before = cursor(&desk.conn);
    let error = sync_once(&mut desk.conn, &desk.remote)
        .await
        .expect_err("no room for the pulled rows");
    assert!(matches!(error, Error::DiskFull), "{error:?}");
    assert_eq!(cursor(&desk.conn), before, "the cursor did not move");
    let waiting = outbox::entries(&desk.conn, true).expect("outbox");
    assert_eq!(waiting.len(), kept.len(), "the outbox is whole");
    for id in &kept {
        assert!(
            mirror::read(&desk.conn, "guests", &id.to_string())
                .expect("read")
                .is_some(),
            "the desk still shows its work"
        );
    }
    // The push only marks entries in place; it went through, so the pull is what found no room.
    let pushed = waiting.iter().filter(|e| e.acked).count();
    assert_eq!(pushed, kept.len(), "the push went through before the pull");

    // (c) the file is sound.
    assert_eq!(integrity(&desk.conn), "ok");

    // (d) room again: the refused write goes through, and the desk converges.
    desk.conn
        .pragma_update(None, "max_page_count", 1_073_741_823)
        .expect("lift the limit");
    outbox::write(
        &mut desk.conn,
        "guests",
        PushOp::Insert,
        refused,
        guest("Written once there was room", "Disk"),
    )
    .expect("the write fits now");
    desk.sync().await;
    other.sync().await;
    for laptop in [&desk, &other] {
        mirror_matches_server(&db, laptop)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    assert!(outbox::entries(&desk.conn, true)
        .expect("outbox")
        .is_empty());
    assert_eq!(
        server_count(&db, "Disk").await,
        kept.len() as i64 + 1,
        "every write of the desk once"
    );
    assert_eq!(server_count(&db, "Elsewhere").await, 40);
    assert_eq!(integrity(&desk.conn), "ok");
    println!(
        "{} writes fitted, the next was refused as a full disk; all were pushed before the pull \
         ran out of room; all converged once there was room",
        kept.len()
    );
}

#[tokio::test]
async fn a_read_only_database_refuses_local_work_clearly_and_sync_resumes_once_writable() {
    let db = TestDb::migrated().await;
    db.seed(1, 20).await;
    let server = TestServer::start(&db).await;
    let dir = TempDir::new();
    let path = dir.0.join("mirror.sqlite3");
    let (mut desk, mut other) = desk_on_file(&db, &server, &path).await;
    let mut kept = Vec::new();
    for n in 0..2 {
        let id = Uuid::now_v7();
        outbox::write(
            &mut desk.conn,
            "guests",
            PushOp::Insert,
            id,
            guest(&format!("Pending {n}"), "ReadOnly"),
        )
        .expect("pending work");
        kept.push(id);
    }

    // The app starts again and the file can no longer be written (its permissions changed, or
    // the disk was mounted read-only). SQLite then opens it for reading only, without an error
    // at open; this test opens it so directly (SQLITE_OPEN_READ_ONLY), because the test runs as
    // root, whom a `chmod` does not stop.
    let writable = std::mem::replace(
        &mut desk.conn,
        Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY)
            .expect("open read-only"),
    );
    drop(writable);

    // (a) a typed error that says what to do; nothing half-written.
    let refused = Uuid::now_v7();
    let error = outbox::write(
        &mut desk.conn,
        "guests",
        PushOp::Insert,
        refused,
        guest("Refused", "ReadOnly"),
    )
    .expect_err("a read-only database takes no write");
    assert!(matches!(error, Error::ReadOnly), "{error:?}");
    assert!(error.to_string().contains("read-only"), "{error}");
    assert!(mirror::read(&desk.conn, "guests", &refused.to_string())
        .expect("read")
        .is_none());

    // (b) a sync fails with the same error; the cursor stays, the outbox is whole.
    work_elsewhere(&mut other, 10).await;
    let before = cursor(&desk.conn);
    let error = sync_once(&mut desk.conn, &desk.remote)
        .await
        .expect_err("a read-only database cannot record a sync");
    assert!(matches!(error, Error::ReadOnly), "{error:?}");
    assert_eq!(cursor(&desk.conn), before, "the cursor did not move");
    let waiting = outbox::entries(&desk.conn, true).expect("outbox");
    assert_eq!(
        waiting.iter().map(|e| e.id).collect::<Vec<_>>(),
        kept,
        "the outbox is whole"
    );

    // (c) the file is sound.
    assert_eq!(integrity(&desk.conn), "ok");

    // (d) writable again (the app reopens it): the refused write goes through, and the desk
    // converges; the changes the server took during the failed sync are not applied twice.
    desk.conn = mirror::open(&path).expect("reopen writable");
    outbox::write(
        &mut desk.conn,
        "guests",
        PushOp::Insert,
        refused,
        guest("Written once writable", "ReadOnly"),
    )
    .expect("the write goes through now");
    desk.sync().await;
    other.sync().await;
    for laptop in [&desk, &other] {
        mirror_matches_server(&db, laptop)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    assert!(outbox::entries(&desk.conn, true)
        .expect("outbox")
        .is_empty());
    assert_eq!(server_count(&db, "ReadOnly").await, 3, "every write once");
    assert_eq!(
        desk.conn
            .query_row("select count(*) from conflicts", [], |r| r.get::<_, i64>(0))
            .expect("conflicts"),
        0,
        "nothing refused (a change applied twice would be, as a duplicate key)"
    );
    assert_eq!(integrity(&desk.conn), "ok");
}
