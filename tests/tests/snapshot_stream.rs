//! The initial sync's snapshot as one answer per table (`GET /v1/sync/snapshot/stream`): the
//! server reads a page while the laptop writes the one before, instead of waiting for each
//! page's request. The pages are those a laptop asking page by page gets, and a laptop whose
//! server has no streams takes its snapshot page by page.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use pms_sync_client::engine::initial_sync;
use pms_sync_protocol::wire::SnapshotPage;
use pms_tests::laptops::{mirror_matches_server, staff_emails, Laptop};
use pms_tests::{TestDb, TestServer};
use uuid::Uuid;

/// The rows of a page, and where the next begins.
fn rows_and_next(page: &SnapshotPage) -> (Vec<serde_json::Value>, Option<Uuid>) {
    (page.rows.clone(), page.next_after_id)
}

#[tokio::test]
async fn a_streamed_table_is_the_pages_a_laptop_asking_page_by_page_gets() {
    let db = TestDb::migrated().await;
    db.seed(2, 250).await;
    let server = TestServer::start(&db).await;
    let email = staff_emails(&db, "front_desk").await[0].clone();
    let laptop = Laptop::sign_in(&db, &server, &email, "streaming laptop").await;

    // Page by page, as before streams: 100 rows a page.
    let mut paged = Vec::new();
    let mut after = None;
    loop {
        let page = laptop
            .remote
            .snapshot("guests", after, 100)
            .await
            .expect("a page");
        after = page.next_after_id;
        paged.push(rows_and_next(&page));
        if after.is_none() {
            break;
        }
    }
    assert!(paged.len() >= 3, "the tenant's guests fill several pages");

    // Streamed: the same pages, in order, the last without a next page, then the end.
    let mut stream = laptop
        .remote
        .snapshot_stream("guests", None, 100)
        .await
        .expect("the stream");
    let mut streamed = Vec::new();
    while let Some(page) = stream.next_page().await.expect("a streamed page") {
        assert_eq!(page.table, "guests");
        streamed.push(rows_and_next(&page));
    }
    assert_eq!(streamed, paged);

    // Only the caller's tenant's rows (row-level security decides, as for pages).
    let tenant = laptop.claims.tenant_id.to_string();
    assert!(streamed
        .iter()
        .flat_map(|(rows, _)| rows)
        .all(|row| row["tenant_id"].as_str() == Some(tenant.as_str())));

    // Resumed from a page's end, it goes on from there.
    let resume_after = paged[0].1;
    let mut stream = laptop
        .remote
        .snapshot_stream("guests", resume_after, 100)
        .await
        .expect("the resumed stream");
    let first = stream
        .next_page()
        .await
        .expect("a page")
        .expect("not empty");
    assert_eq!(rows_and_next(&first), paged[1]);

    // A table that is not synced is refused before the answer begins.
    let refused = laptop
        .remote
        .snapshot_stream("pg_authid", None, 100)
        .await
        .err()
        .expect("refused");
    assert!(
        matches!(refused, pms_sync_client::Error::Refused { status: 400, .. }),
        "{refused:?}"
    );
}

/// A server of before streams: the real server behind a proxy that answers their route `404`.
async fn server_without_streams(upstream: &TestServer) -> String {
    async fn forward(State(upstream): State<String>, request: Request) -> Response {
        let (parts, body) = request.into_parts();
        let Ok(body) = axum::body::to_bytes(body, usize::MAX).await else {
            return StatusCode::BAD_REQUEST.into_response();
        };
        let path = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/");
        let mut forwarded = reqwest::Client::new()
            .request(parts.method, format!("{upstream}{path}"))
            .body(body);
        for (name, value) in &parts.headers {
            if name != "host" && name != "content-length" {
                forwarded = forwarded.header(name, value);
            }
        }
        match forwarded.send().await {
            Ok(answer) => {
                let status = answer.status();
                let headers = answer.headers().clone();
                let body = answer.bytes().await.unwrap_or_default();
                let mut response = Response::new(Body::from(body));
                *response.status_mut() = status;
                *response.headers_mut() = headers;
                response
            }
            Err(_) => StatusCode::BAD_GATEWAY.into_response(),
        }
    }
    let app = Router::new()
        .route(
            "/v1/sync/snapshot/stream",
            get(|| async { StatusCode::NOT_FOUND }),
        )
        .fallback(forward)
        .with_state(upstream.base_url.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{address}")
}

#[tokio::test]
async fn a_laptop_takes_its_snapshot_page_by_page_from_a_server_without_streams() {
    let db = TestDb::migrated().await;
    db.seed(1, 1_200).await;
    let server = TestServer::start(&db).await;
    let old_server = server_without_streams(&server).await;
    let email = staff_emails(&db, "front_desk").await[0].clone();
    let mut laptop = Laptop::sign_in_at(
        &db,
        &old_server,
        &email,
        "laptop of an old server",
        pms_sync_client::mirror::open_in_memory().expect("mirror"),
    )
    .await;
    let refused = laptop
        .remote
        .snapshot_stream("guests", None, 100)
        .await
        .err()
        .expect("no streams there");
    assert!(
        matches!(refused, pms_sync_client::Error::Refused { status: 404, .. }),
        "{refused:?}"
    );

    initial_sync(&mut laptop.conn, &laptop.remote, |_| true)
        .await
        .expect("the initial sync, page by page");
    mirror_matches_server(&db, &laptop)
        .await
        .expect("the mirror equals the server");
    let guests: i64 = laptop
        .conn
        .query_row("select count(*) from guests", [], |r| r.get(0))
        .expect("count");
    assert!(guests > 1_000, "more guests than one page: {guests}");
}
