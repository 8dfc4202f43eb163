//! The HTTP API's contract: an OpenAPI 3.1 document derived by `utoipa` from the handlers'
//! annotations and from the request and response types themselves (the server's, and the wire
//! types of `pms_sync_protocol`), so it cannot describe a body the code does not send.
//!
//! Served at `GET /openapi.json` and committed as `docs/openapi.json`; the `openapi` test of
//! `pms-tests` fails when the two differ. Regenerate with
//! `cargo run -p pms-server -- openapi > docs/openapi.json`.

use utoipa::openapi::security::{Http, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::serve;

/// Where the committed copy lives, from the repository's root.
pub const COMMITTED_PATH: &str = "docs/openapi.json";

/// How to bring the committed copy up to date.
pub const REGENERATE: &str = "cargo run -p pms-server -- openapi > docs/openapi.json";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "PMS sync server",
        description = "The central sync server of the offline-first PMS (`pms-server serve`): sign-in, \
                       the per-tenant change feed, exactly-once pushes, snapshots. Errors answer \
                       `{\"error\": {\"code\", \"message\"}}`; clients branch on `code`.",
        license(name = "MIT")
    ),
    paths(
        serve::health,
        serve::ready,
        serve::metrics::metrics,
        serve::openapi_json,
        serve::me,
        serve::auth::login,
        serve::auth::refresh,
        serve::auth::colleague,
        serve::auth::temporary_password,
        serve::flags::flags,
        serve::snapshot::head,
        serve::snapshot::snapshot,
        serve::snapshot::snapshot_stream,
        serve::pull::pull,
        serve::push::push,
    ),
    components(schemas(serve::error::ErrorResponse)),
    modifiers(&BearerToken),
    tags(
        (name = "auth", description = "Sign-in, tokens and staff passwords"),
        (name = "sync", description = "The laptops' sync: head, snapshot, pull, push, flags"),
        (name = "operations", description = "Liveness, readiness, metrics and this document"),
    )
)]
struct ApiDoc;

/// The access token of `POST /v1/auth/login`, as `Authorization: Bearer …`.
struct BearerToken;

impl Modify for BearerToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let scheme = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .bearer_format("JWT")
            .build();
        components.add_security_scheme("bearer", SecurityScheme::Http(scheme));
        // `PMS_METRICS_TOKEN`, where set, for `GET /metrics`.
        components.add_security_scheme(
            "metrics_token",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// The document.
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// The document as committed: pretty JSON and a final newline.
pub fn to_pretty_json() -> String {
    let mut text = document().to_pretty_json().unwrap_or_else(|e| {
        format!("{{\"error\": \"cannot serialize the OpenAPI document: {e}\"}}")
    });
    text.push('\n');
    text
}
