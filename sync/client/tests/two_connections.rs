//! The desk's screens and its background sync write the same mirror through two connections.
//! Neither may fail with "database is locked" because the other committed first: each write
//! transaction takes the lock at its start and waits for it.

use pms_sync_client::{mirror, outbox};
use pms_sync_protocol::wire::PushOp;
use serde_json::{json, Map, Value};
use uuid::Uuid;

const WRITES_EACH: usize = 300;

fn values(n: usize) -> Map<String, Value> {
    match json!({"first_name": format!("Writer {n}"), "last_name": "Concurrent"}) {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

#[test]
fn two_connections_writing_at_once_both_succeed() {
    let dir = std::env::temp_dir().join(format!("pms-two-connections-{}", Uuid::now_v7()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("mirror.sqlite3");
    mirror::open(&path).expect("create the mirror");

    let writers: Vec<_> = (0..2)
        .map(|writer| {
            let path = path.clone();
            std::thread::spawn(move || {
                let mut conn = mirror::open(&path).expect("open");
                for n in 0..WRITES_EACH {
                    outbox::write(
                        &mut conn,
                        "guests",
                        PushOp::Insert,
                        Uuid::now_v7(),
                        values(writer * WRITES_EACH + n),
                    )
                    .unwrap_or_else(|error| panic!("writer {writer}, write {n}: {error}"));
                }
            })
        })
        .collect();
    for writer in writers {
        writer.join().expect("a writer failed");
    }

    let conn = mirror::open(&path).expect("open");
    let (rows, changes): (i64, i64) = conn
        .query_row(
            "select (select count(*) from guests), (select count(*) from outbox)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("count");
    assert_eq!(
        (rows, changes),
        (2 * WRITES_EACH as i64, 2 * WRITES_EACH as i64)
    );
    let _ = std::fs::remove_dir_all(&dir);
}
