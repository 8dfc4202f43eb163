//! The HTTP API's contract (issue 22): the OpenAPI document the server derives from its own types
//! (`pms_server::openapi`) is the one committed as `docs/openapi.json`, the real server serves it
//! at `GET /openapi.json`, and every operation it documents is routed.

use std::path::PathBuf;

use pms_server::openapi::{to_pretty_json, COMMITTED_PATH, REGENERATE};
use pms_tests::{TestDb, TestServer};
use reqwest::StatusCode;
use serde_json::Value;

fn committed_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(COMMITTED_PATH)
}

/// Fails when a wire type, a handler's annotation or a doc comment changed without the committed
/// document being regenerated. `PMS_UPDATE_OPENAPI=1` rewrites it instead.
#[test]
fn the_committed_document_is_the_one_the_code_derives() {
    let generated = to_pretty_json();
    let path = committed_path();
    if std::env::var_os("PMS_UPDATE_OPENAPI").is_some() {
        std::fs::write(&path, &generated).expect("write docs/openapi.json");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed == generated {
        return;
    }
    let difference = committed
        .lines()
        .zip(generated.lines())
        .enumerate()
        .find(|(_, (a, b))| a != b)
        .map(|(n, (a, b))| {
            format!(
                "first difference at line {}:\n  committed: {}\n  code:      {}",
                n + 1,
                a.trim(),
                b.trim()
            )
        })
        .unwrap_or_else(|| {
            format!(
                "the committed file has {} lines, the code's document {}",
                committed.lines().count(),
                generated.lines().count()
            )
        });
    panic!(
        "{COMMITTED_PATH} is not the OpenAPI document the code derives ({difference}).\n\
         The HTTP API changed (a wire type, a handler's annotation or doc comment): regenerate it with\n  \
         {REGENERATE}\n\
         (or PMS_UPDATE_OPENAPI=1 cargo test -p pms-tests --test openapi), check the diff and commit it."
    );
}

/// The operations that refuse a tenant still in the legacy store (kv-import state `legacy`) say
/// so in their 403, as committed: sign-in, refresh and a colleague's sign-in at a desk.
#[test]
fn the_committed_document_names_tenant_not_migrated_where_it_is_answered() {
    let committed: Value = serde_json::from_str(
        &std::fs::read_to_string(committed_path()).expect("docs/openapi.json"),
    )
    .expect("JSON");
    for path in ["/v1/auth/login", "/v1/auth/refresh", "/v1/auth/colleague"] {
        let forbidden = committed["paths"][path]["post"]["responses"]["403"]["description"]
            .as_str()
            .unwrap_or_default();
        assert!(
            forbidden.contains("`tenant_not_migrated`"),
            "{path}: the 403 says {forbidden:?}"
        );
    }
}

#[tokio::test]
async fn the_server_serves_its_document_and_routes_every_documented_operation() {
    let db = TestDb::migrated().await;
    let server = TestServer::start(&db).await;
    let client = reqwest::Client::new();

    let response = client
        .get(server.url("/openapi.json"))
        .send()
        .await
        .expect("GET /openapi.json");
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json")),
        "{:?}",
        response.headers()
    );
    let served: Value = response.json().await.expect("JSON");
    let derived: Value = serde_json::from_str(&to_pretty_json()).expect("the document is JSON");
    assert_eq!(served, derived, "the server serves the derived document");
    assert!(served["openapi"]
        .as_str()
        .is_some_and(|v| v.starts_with("3.")));

    // Every documented operation reaches a handler: asked without a token or a body it is refused
    // by that handler (400, 401) or answers, but never 404 (no route) or 405 (no such method).
    let paths = served["paths"].as_object().expect("paths");
    assert!(paths.len() >= 11, "{:?}", paths.keys());
    let mut operations = 0;
    for (path, item) in paths {
        let url = server.url(&path.replace("{user_id}", &uuid::Uuid::nil().to_string()));
        for method in item.as_object().expect("a path item").keys() {
            let request = match method.as_str() {
                "get" => client.get(&url),
                "post" => client.post(&url).json(&serde_json::json!({})),
                other => panic!("{path}: an operation {other} the test does not know"),
            };
            let status = request.send().await.expect("request").status();
            assert!(
                status != StatusCode::NOT_FOUND && status != StatusCode::METHOD_NOT_ALLOWED,
                "{method} {path} is documented but answers {status}"
            );
            operations += 1;
        }
    }
    assert!(operations >= 12, "{operations} operations documented");

    // The error body the document names is the one the server sends.
    let refused: Value = client
        .get(server.url("/v1/me"))
        .send()
        .await
        .expect("GET /v1/me")
        .json()
        .await
        .expect("JSON");
    assert_eq!(refused["error"]["code"], "missing_token");
    let schema = &served["components"]["schemas"]["ErrorResponse"];
    assert_eq!(schema["required"], serde_json::json!(["error"]), "{schema}");
}
