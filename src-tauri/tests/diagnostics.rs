//! "Copy diagnostics" on a desk with a guest, changes waiting, a conflict, a stored refresh token
//! and a remembered staff password, whose log holds an error naming all of them: the text has the
//! version, the counts and the error, and none of the guest's data nor any secret.

mod common;

use common::TestDesk;
use pms_sync_client::session_file::{self, StoredSession};
use serde_json::json;
use tauri::Manager;

const REFRESH_TOKEN: &str = "rt_9f8e7d6c5b4a39281706f5e4d3c2b1a0ZYXWVUTS";

#[test]
fn diagnostics_have_the_counts_and_no_guest_data_or_secret() {
    let identifier = format!("com.frontdesk.pms.diag-{}", uuid::Uuid::now_v7().simple());
    let desk = TestDesk::with_log(&identifier);
    let log_dir = desk.handle().path().app_log_dir().expect("a log folder");
    desk.set_up();
    let profile = desk.ok(
        "create_guest",
        json!({"input": {"first_name": "Marta", "last_name": "Sousa", "email": "marta.sousa@example.com",
                         "phone": "+351 912 345 678", "country_code": "PT"}}),
    );
    let guest = profile["guest"]["id"].as_str().expect("id").to_owned();
    let waiting = desk.waiting();
    assert!(waiting > 0);
    {
        let conn = desk.desk().conn();
        conn.execute(
            "insert into conflicts (device_seq, change_id, table_name, row_id, op, reason, message,
                                    mine_json, theirs_json, created_at)
             values (1, 'c1', 'guests', ?1, 'update', 'superseded', 'edited elsewhere',
                     '{\"first_name\": \"Marta\", \"email\": \"marta.sousa@example.com\"}', null,
                     '2026-12-05T10:00:00Z')",
            [&guest],
        )
        .expect("a conflict");
    }
    session_file::save(
        &desk.desk().database_path(),
        &StoredSession {
            server: "https://desk:pw@pms.example.com:8443/api".to_owned(),
            device_id: uuid::Uuid::now_v7(),
            refresh_token: REFRESH_TOKEN.to_owned(),
        },
    )
    .expect("a session");
    pms_desk::credentials::remember(&desk.dir, "owner@example.com", "s3cret-pass", "owner", None)
        .expect("a staff password");
    let hash = std::fs::read_to_string(desk.dir.join(pms_desk::credentials::FILE))
        .expect("credentials")
        .split('"')
        .find(|part| part.starts_with("$argon2id$"))
        .expect("a hash")
        .to_owned();
    log::error!(
        "push refused for Marta Sousa <marta.sousa@example.com>, +351 912 345 678, with {REFRESH_TOKEN} and {hash}"
    );

    let text = desk.ok("get_diagnostics", json!({}));
    let text = text.as_str().expect("a text");
    let _ = std::fs::remove_dir_all(log_dir.parent().expect("the app's folder"));

    for expected in [
        format!("Front desk: {}", env!("CARGO_PKG_VERSION")),
        format!("Changes waiting: {waiting} (oldest from "),
        "Conflicts open: 1 (superseded 1)".to_owned(),
        "Mode: local".to_owned(),
        "Server: pms.example.com:8443\n".to_owned(),
        // written as `pms-client` writes it; the desk moves it into a keychain at its next save
        "Session kept in: file\n".to_owned(),
        "push refused for [guest] [guest] <[email]>, [number], with [token] and [hash]".to_owned(),
    ] {
        assert!(
            text.contains(&expected),
            "{expected:?} missing from:\n{text}"
        );
    }
    for secret in [
        "Marta",
        "Sousa",
        "marta.sousa@example.com",
        "912 345",
        "owner@example.com",
        REFRESH_TOKEN,
        "argon2",
        "s3cret",
        "desk:pw",
    ] {
        assert!(
            !text.to_lowercase().contains(&secret.to_lowercase()),
            "{secret:?} leaked into:\n{text}"
        );
    }
}
