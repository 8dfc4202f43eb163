//! `pms-client` without a server: the mirror is created, status reads it, and the commands that
//! need a session or a password say what to do.

use std::process::{Command, Output};

fn pms_client(db: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pms-client"))
        .arg("--db")
        .arg(db)
        .args(args)
        .env_remove("PMS_PASSWORD")
        .output()
        .expect("run pms-client")
}

fn temp_db(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("pms-client-test-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir.join("mirror.sqlite3")
}

#[test]
fn init_then_status_on_an_empty_mirror() {
    let db = temp_db("status");
    let init = pms_client(&db, &["init"]);
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    let status = pms_client(&db, &["status"]);
    let out = String::from_utf8_lossy(&status.stdout);
    assert!(
        out.contains("changes waiting: 0") && out.contains("conflicts open: 0"),
        "{out}"
    );
    // WAL mode, as the mirror promises
    let conn = rusqlite::Connection::open(&db).expect("open");
    let mode: String = conn
        .query_row("pragma journal_mode", [], |r| r.get(0))
        .expect("mode");
    assert_eq!(mode, "wal");
}

#[test]
fn sync_before_login_and_login_without_password_say_what_to_do() {
    let db = temp_db("nosession");
    let sync = pms_client(&db, &["sync"]);
    assert_eq!(sync.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&sync.stderr).contains("not signed in"),
        "{}",
        String::from_utf8_lossy(&sync.stderr)
    );
    let login = pms_client(
        &db,
        &[
            "login",
            "--server",
            "http://127.0.0.1:1",
            "--email",
            "a@b.example",
        ],
    );
    assert_eq!(login.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&login.stderr).contains("PMS_PASSWORD is not set"));
    let bad = pms_client(&db, &["conflicts", "resolve", "1", "--keep", "everything"]);
    assert_eq!(bad.status.code(), Some(2));
    let missing = pms_client(&db, &["conflicts", "resolve", "1", "--keep", "theirs"]);
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no open conflict 1"));
}
