//! `check_for_update` and `install_update` against a local update server (a few lines of HTTP
//! on a thread), with the updater plugin configured as the app is built (the project's public
//! key). The address comes from `PMS_DESK_UPDATE_URL`, which is process-wide: the scenarios
//! run one after the other in this one test, in a test binary of their own.

mod common;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use common::TestDesk;
use serde_json::{json, Value};

/// Signed with a throwaway key (`tauri signer sign` of "pms-desk update test artifact"): a
/// well-formed signature that is not the project's.
const FOREIGN_SIGNATURE: &str = "dW50cnVzdGVkIGNvbW1lbnQ6IHNpZ25hdHVyZSBmcm9tIHRhdXJpIHNlY3JldCBrZXkKUlVRcjJodXkva3hKQzNNY1NjdnJ3SlpSZDUwMGwzZ0YyT3k1SnpPQmhYYmIvZEphY1dZU0hEZVRiZkhtc0JNYlRuM05oVSswT3RuL1hiYjM0dzJiZGhOa3NBWEx6WnQ4ZlFVPQp0cnVzdGVkIGNvbW1lbnQ6IHRpbWVzdGFtcDoxNzk1NjM3ODY5CWZpbGU6YXJ0aWZhY3QuYmluCmZPVEhrMzk3VWQzT0FOU2M1WVJRVFZvdkU1eXh2cDdVaENXbzRrcDNMNnJzTFRIb0J3VmNEbFU1YUFBb1dYVlZpQmZyQ29VeEF5Vk1jV2hSUWlqb0JnPT0K";
const ARTIFACT: &[u8] = b"pms-desk update test artifact";

type Routes = Arc<Mutex<HashMap<String, (u16, Vec<u8>)>>>;

/// Answers GET requests from `routes` (path → status and body), 404 otherwise.
fn serve(routes: Routes) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("address").port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
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
