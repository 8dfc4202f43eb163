//! `check_for_update` and `install_update` against a local update server (a few lines of HTTP
//! on a thread), with the updater plugin configured as the app is built (the project's public
//! key). The address comes from `PMS_DESK_UPDATE_URL`, which is process-wide: the tests take
//! `ADDRESS` while they use it, in a test binary of their own.

mod common;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use common::TestDesk;
use serde_json::{json, Value};

/// Signed with a throwaway key (`tauri signer sign` of "pms-desk update test artifact"): a
/// well-formed signature that is not the project's.
const FOREIGN_SIGNATURE: &str = "dW50cnVzdGVkIGNvbW1lbnQ6IHNpZ25hdHVyZSBmcm9tIHRhdXJpIHNlY3JldCBrZXkKUlVRcjJodXkva3hKQzNNY1NjdnJ3SlpSZDUwMGwzZ0YyT3k1SnpPQmhYYmIvZEphY1dZU0hEZVRiZkhtc0JNYlRuM05oVSswT3RuL1hiYjM0dzJiZGhOa3NBWEx6WnQ4ZlFVPQp0cnVzdGVkIGNvbW1lbnQ6IHRpbWVzdGFtcDoxNzk1NjM3ODY5CWZpbGU6YXJ0aWZhY3QuYmluCmZPVEhrMzk3VWQzT0FOU2M1WVJRVFZvdkU1eXh2cDdVaENXbzRrcDNMNnJzTFRIb0J3VmNEbFU1YUFBb1dYVlZpQmZyQ29VeEF5Vk1jV2hSUWlqb0JnPT0K";
const ARTIFACT: &[u8] = b"pms-desk update test artifact";

type Routes = Arc<Mutex<HashMap<String, (u16, Vec<u8>)>>>;

/// Held while a test points `PMS_DESK_UPDATE_URL` somewhere.
static ADDRESS: Mutex<()> = Mutex::new(());

/// Answers GET requests from `routes` (path → status and body), 404 otherwise.
fn serve(routes: Routes) -> u16 {
    serve_counting(routes, Arc::default())
}

/// [`serve`], counting the requests it answers.
fn serve_counting(routes: Routes, requests: Arc<AtomicUsize>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("address").port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            requests.fetch_add(1, Ordering::SeqCst);
            let mut request = Vec::new();
            let mut buffer = [0u8; 4096];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buffer) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&buffer[..n]),
                }
            }
            let line = String::from_utf8_lossy(&request);
            let path = line.split_whitespace().nth(1).unwrap_or("/").to_owned();
            let (status, body) = routes
                .lock()
                .expect("routes")
                .get(&path)
                .cloned()
                .unwrap_or((404, b"not found".to_vec()));
            let head = format!(
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&body);
        }
    });
    port
}

fn manifest(version: &str, url: &str, signature: &str) -> Vec<u8> {
    let platform = json!({"url": url, "signature": signature});
    json!({
        "version": version,
        "notes": "Sync protocol 2",
        "pub_date": "2026-11-25T12:00:00Z",
        "platforms": {"linux-x86_64": platform, "darwin-aarch64": platform, "windows-x86_64": platform}
    })
    .to_string()
    .into_bytes()
}

fn kind(error: &Value) -> &str {
    error["kind"].as_str().unwrap_or_default()
}

#[test]
fn update_checks_answer_typed_outcomes() {
    let _address = ADDRESS.lock().unwrap_or_else(|p| p.into_inner());
    let desk = TestDesk::new();
    let routes: Routes = Arc::default();
    let port = serve(routes.clone());
    let at = |path: &str| format!("http://127.0.0.1:{port}{path}");
    let set = |path: &str, status: u16, body: Vec<u8>| {
        routes
            .lock()
            .expect("routes")
            .insert(path.to_owned(), (status, body));
    };

    // Nobody listening: the clerk is told the update server cannot be reached.
    let closed = TcpListener::bind("127.0.0.1:0").expect("bind");
    let closed_port = closed.local_addr().expect("address").port();
    drop(closed);
    std::env::set_var(
        "PMS_DESK_UPDATE_URL",
        format!("http://127.0.0.1:{closed_port}/latest.json"),
    );
    let error = desk.err("check_for_update", json!({}));
    assert_eq!(kind(&error), "UpdateUnreachable", "{error}");
    assert!(error["message"]
        .as_str()
        .is_some_and(|m| m.starts_with("The update server cannot be reached")));
    assert_eq!(
        kind(&desk.err("install_update", json!({}))),
        "UpdateUnreachable"
    );

    // The server answers, but nothing is published at that address.
    std::env::set_var("PMS_DESK_UPDATE_URL", at("/latest.json"));
    assert_eq!(
        kind(&desk.err("check_for_update", json!({}))),
        "UpdateUnreachable"
    );

    // The newest version is the one running (a manifest of 0.1.0, or 204): no update.
    set(
        "/latest.json",
        200,
        manifest("0.1.0", &at("/app.tar.gz"), FOREIGN_SIGNATURE),
    );
    let none = desk.ok("check_for_update", json!({}));
    assert_eq!(
        none,
        json!({"current_version": "0.1.0", "version": null, "notes": null})
    );
    let error = desk.err("install_update", json!({}));
    assert_eq!(kind(&error), "NoUpdate", "{error}");
    set("/latest.json", 204, Vec::new());
    assert_eq!(
        desk.ok("check_for_update", json!({}))["version"],
        Value::Null
    );

    // A manifest that is not one.
    set("/latest.json", 200, b"<html>captive portal</html>".to_vec());
    let error = desk.err("check_for_update", json!({}));
    assert_eq!(kind(&error), "UpdateFailed", "{error}");

    // 9.9.9 on offer, but its artifact is signed by another key: announced, never installed.
    set(
        "/latest.json",
        200,
        manifest("9.9.9", &at("/app.tar.gz"), FOREIGN_SIGNATURE),
    );
    set("/app.tar.gz", 200, ARTIFACT.to_vec());
    let offered = desk.ok("check_for_update", json!({}));
    assert_eq!(offered["version"], "9.9.9");
    assert_eq!(offered["notes"], "Sync protocol 2");
    let error = desk.err("install_update", json!({}));
    assert_eq!(kind(&error), "UpdateNotTrusted", "{error}");

    // A signature that is not even base64: refused the same way.
    set(
        "/latest.json",
        200,
        manifest("9.9.9", &at("/app.tar.gz"), "not a signature!"),
    );
    assert_eq!(
        kind(&desk.err("install_update", json!({}))),
        "UpdateNotTrusted"
    );

    // An address that is not one.
    std::env::set_var("PMS_DESK_UPDATE_URL", "not a url");
    let error = desk.err("check_for_update", json!({}));
    assert_eq!(kind(&error), "UpdateFailed");
    assert!(error["message"]
        .as_str()
        .is_some_and(|m| m.contains("PMS_DESK_UPDATE_URL")));
    std::env::remove_var("PMS_DESK_UPDATE_URL");
}

/// One step of the desk's own update task, as it runs after start and every minute.
fn look_when_due(desk: &TestDesk, looked_since_start: &mut bool) -> bool {
    tauri::async_runtime::block_on(pms_desk::update_checks::check_when_due(
        desk.handle(),
        looked_since_start,
    ))
    .expect("the update task's step")
}

#[test]
fn a_desk_looks_for_updates_on_start_and_daily_without_a_server_asking() {
    let _address = ADDRESS.lock().unwrap_or_else(|p| p.into_inner());
    let routes: Routes = Arc::default();
    let requests = Arc::new(AtomicUsize::new(0));
    let port = serve_counting(routes.clone(), requests.clone());
    let at = |path: &str| format!("http://127.0.0.1:{port}{path}");
    routes.lock().expect("routes").insert(
        "/latest.json".to_owned(),
        (
            200,
            manifest("9.9.9", &at("/app.tar.gz"), FOREIGN_SIGNATURE),
        ),
    );
    std::env::set_var("PMS_DESK_UPDATE_URL", at("/latest.json"));
    let asked = || requests.load(Ordering::SeqCst);

    // A local hotel: no server will ever answer 426, so the desk must look by itself.
    let desk = TestDesk::new();
    desk.set_up();
    let start = chrono::DateTime::parse_from_rfc3339("2026-12-05T08:00:00Z")
        .expect("a time")
        .with_timezone(&chrono::Utc);
    desk.desk().pin_clock(Some(start));
    let status = desk.ok("get_update_status", json!({}));
    assert_eq!(status["automatic"], true, "{status}");
    assert_eq!(status["interval_hours"], 24);
    assert_eq!(status["checked_at"], Value::Null);

    let mut looked = false;
    assert!(look_when_due(&desk, &mut looked), "it looks on start");
    assert_eq!(asked(), 1);
    let status = desk.ok("get_update_status", json!({}));
    assert_eq!(status["offered_version"], "9.9.9", "{status}");
    assert_eq!(status["notes"], "Sync protocol 2");
    assert_eq!(status["checked_at"], start.to_rfc3339());
    assert_eq!(status["error"], Value::Null);

    // Within the day it does not look again; a day later it does.
    desk.desk()
        .pin_clock(Some(start + chrono::Duration::hours(23)));
    assert!(!look_when_due(&desk, &mut looked));
    assert_eq!(asked(), 1, "no second look within the day");
    desk.desk()
        .pin_clock(Some(start + chrono::Duration::hours(24)));
    assert!(look_when_due(&desk, &mut looked));
    assert_eq!(asked(), 2, "a look a day later");

    // The update server gone: the look is recorded with the clerk's words, the offer stays.
    let closed = TcpListener::bind("127.0.0.1:0").expect("bind");
    let closed_port = closed.local_addr().expect("address").port();
    drop(closed);
    std::env::set_var(
        "PMS_DESK_UPDATE_URL",
        format!("http://127.0.0.1:{closed_port}/latest.json"),
    );
    desk.desk()
        .pin_clock(Some(start + chrono::Duration::hours(48)));
    assert!(look_when_due(&desk, &mut looked));
    let status = desk.ok("get_update_status", json!({}));
    assert!(
        status["error"]
            .as_str()
            .is_some_and(|m| m.starts_with("The update server cannot be reached")),
        "{status}"
    );
    assert_eq!(status["offered_version"], "9.9.9");
    std::env::set_var("PMS_DESK_UPDATE_URL", at("/latest.json"));

    // The owner sets it to every 2 hours, then off.
    let error = desk.err("set_update_checks", json!({"hours": 200}));
    assert_eq!(kind(&error), "Validation", "{error}");
    assert_eq!(
        desk.ok("set_update_checks", json!({"hours": 2}))["interval_hours"],
        2
    );
    desk.desk()
        .pin_clock(Some(start + chrono::Duration::hours(50)));
    assert!(look_when_due(&desk, &mut looked));
    assert_eq!(asked(), 3, "the owner's interval");
    let off = desk.ok("set_update_checks", json!({"hours": 0}));
    assert_eq!(off["automatic"], false, "{off}");
    desk.desk()
        .pin_clock(Some(start + chrono::Duration::hours(500)));
    assert!(!look_when_due(&desk, &mut looked));
    assert_eq!(asked(), 3, "off means off");

    // A check the clerk asks for is kept for the status bar too.
    desk.ok("check_for_update", json!({}));
    assert_eq!(asked(), 4);
    assert_eq!(
        desk.ok("get_update_status", json!({}))["checked_at"],
        (start + chrono::Duration::hours(500)).to_rfc3339()
    );

    // A demo desk never looks, not even on start.
    let demo = TestDesk::new();
    demo.ok("load_demo", json!({"guests": 120}));
    let status = demo.ok("get_update_status", json!({}));
    assert_eq!(
        (status["automatic"].clone(), status["demo"].clone()),
        (json!(false), json!(true))
    );
    let mut looked = false;
    assert!(!look_when_due(&demo, &mut looked));
    assert_eq!(asked(), 4, "a demo desk asked the update server");
    std::env::remove_var("PMS_DESK_UPDATE_URL");
}
