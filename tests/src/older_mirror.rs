//! What an older desk leaves on disk: a mirror file as the build before mirror migration 0006
//! (registration and booking history) kept it, for the tests and the fault campaign's app
//! upgrade (the new build opens it, migrates it and must bring it up to date, its outbox kept).

use std::path::Path;

use rusqlite::Connection;

/// The mirror's schema version before 0006 (rusqlite_migration keeps it in `user_version`).
const VERSION_BEFORE_0006: i64 = 5;

/// Turns the closed mirror file at `path` into what that older build would have left: no
/// `guest_documents` or `reservation_events`, no `properties.document_retention_days`, schema
/// version 5, and no record of the synced tables the snapshot was taken with (that build kept
/// none); every other row, the sync state and the outbox are kept. Panics if the outbox holds a
/// change that build could not have made.
pub fn make_it_older(path: &Path) {
    let conn = Connection::open(path).expect("open the mirror file");
    let newer: i64 = conn
        .query_row(
            "select count(*) from outbox
              where table_name in ('guest_documents', 'reservation_events')
                 or values_json like '%document_retention_days%'",
            [],
            |r| r.get(0),
        )
        .expect("read the outbox");
    assert_eq!(
        newer, 0,
        "the outbox holds changes the older build could not make"
    );
    conn.execute_batch(
        "drop table guest_documents;
         drop table reservation_events;
         alter table properties drop column document_retention_days;
         delete from sync_state where key = 'snapshot_shape';",
    )
    .expect("take the mirror back to the older build's shape");
    conn.pragma_update(None, "user_version", VERSION_BEFORE_0006)
        .expect("set the older schema version");
}
