//! Laptops for the sync tests: a staff member signed in to the real server with an in-memory
//! mirror, and the comparison of a mirror with what that staff member may read on the server.

use pms_sync_client::engine::{remember_session, sync_once, SyncReport};
use pms_sync_client::mirror;
use pms_sync_client::remote::Remote;
use pms_sync_protocol::tables::SYNCED_TABLES;
use rusqlite::Connection;
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::{begin_as, set_password, Claims, TestDb, TestServer};

/// The password every test laptop signs in with.
pub const PASSWORD: &str = "correct horse battery";

/// One signed-in laptop.
pub struct Laptop {
    pub conn: Connection,
    pub remote: Remote,
    pub claims: Claims,
    /// The device the server registered at sign-in.
    pub device_id: Uuid,
}

impl Laptop {
    /// Signs `email` in (its password is set to [`PASSWORD`]) on a fresh in-memory mirror.
    pub async fn sign_in(db: &TestDb, server: &TestServer, email: &str, name: &str) -> Self {
        let conn = mirror::open_in_memory().expect("mirror");
        Self::sign_in_with(db, server, email, name, conn).await
    }

    /// Signs `email` in on the mirror `conn`, which may already hold local work.
    pub async fn sign_in_with(
        db: &TestDb,
        server: &TestServer,
        email: &str,
        name: &str,
        conn: Connection,
    ) -> Self {
        Self::sign_in_at(db, &server.base_url, email, name, conn).await
    }

    /// Signs `email` in through `base_url` (the server, or a proxy in front of it).
    pub async fn sign_in_at(
        db: &TestDb,
        base_url: &str,
        email: &str,
        name: &str,
        mut conn: Connection,
    ) -> Self {
        set_password(&db.pool, email, PASSWORD).await;
        let mut remote = Remote::new(base_url);
        // Many laptops signed in from one address meet the server's sign-in limit: wait as a
        // desk would, and try again.
        let mut tries = 0;
        let session = loop {
            match remote.login(email, PASSWORD, name).await {
                Err(pms_sync_client::Error::Refused { status: 429, .. }) if tries < 30 => {
                    tries += 1;
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                }
                other => break other.expect("login"),
            }
        };
        remember_session(&mut conn, session.tenant_id).expect("session");
        let user_id = sqlx::query_scalar("select user_id from public.staff where email = $1")
            .bind(email)
            .fetch_one(&db.pool)
            .await
            .expect("staff");
        Self {
            conn,
            remote,
            device_id: session.device_id,
            claims: Claims {
                tenant_id: session.tenant_id,
                user_id,
            },
        }
    }

    pub async fn sync(&mut self) -> SyncReport {
        sync_once(&mut self.conn, &self.remote).await.expect("sync")
    }
}

/// The emails of the first tenant's staff with `role` (by tenant subdomain, then email).
pub async fn staff_emails(db: &TestDb, role: &str) -> Vec<String> {
    tenant_staff_emails(db, first_tenant(db).await, role).await
}

/// The emails of `tenant`'s enabled staff with `role`, by email.
pub async fn tenant_staff_emails(db: &TestDb, tenant: Uuid, role: &str) -> Vec<String> {
    sqlx::query_scalar(
        "select email from public.staff where tenant_id = $1 and role = $2 and enabled order by email",
    )
    .bind(tenant)
    .bind(role)
    .fetch_all(&db.pool)
    .await
    .expect("staff emails")
}

/// A JSON object, or a panic.
pub fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

/// Compares the mirror with the server, table by table and value by value, as the laptop's
/// staff member may read it (under RLS). Returns every difference found.
pub async fn mirror_matches_server(db: &TestDb, laptop: &Laptop) -> Result<(), String> {
    mirror_matches_server_as(db, laptop.claims, &laptop.conn).await
}

/// [`mirror_matches_server`] for any mirror, read as the staff member of `claims`.
pub async fn mirror_matches_server_as(
    db: &TestDb,
    claims: Claims,
    conn: &Connection,
) -> Result<(), String> {
    let server = ServerRows::read(db, claims).await;
    server.compare(conn)
}

/// Every synced table's rows as one staff member may read them on the server.
pub struct ServerRows(Vec<(&'static str, Vec<Value>)>);

impl ServerRows {
    pub async fn read(db: &TestDb, claims: Claims) -> Self {
        let mut tables = Vec::new();
        let mut tx = begin_as(&db.pool, claims).await;
        for table in SYNCED_TABLES {
            let statement = format!(
                "select to_jsonb(r) from (select {} from public.{} order by id) r",
                table.columns.join(", "),
                table.name
            );
            let rows: Vec<Value> = sqlx::query_scalar(&statement)
                .fetch_all(&mut *tx)
                .await
                .expect("server rows");
            tables.push((table.name, rows));
        }
        tx.rollback().await.expect("rollback");
        Self(tables)
    }

    /// Every difference between these rows and the mirror's, table by table, value by value.
    pub fn compare(&self, conn: &Connection) -> Result<(), String> {
        let mut problems = Vec::new();
        for (table, server) in &self.0 {
            let local_count: i64 = conn
                .query_row(&format!("select count(*) from {table}"), [], |r| r.get(0))
                .expect("count");
            if local_count != server.len() as i64 {
                problems.push(format!(
                    "{table}: mirror has {local_count} rows, server {}",
                    server.len()
                ));
                continue;
            }
            for row in server {
                let id = row["id"].as_str().expect("id");
                let Some(local) = mirror::read(conn, table, id).expect("read") else {
                    problems.push(format!("{table} {id} missing locally"));
                    continue;
                };
                for (column, value) in row.as_object().expect("object") {
                    if !same_value(value, &local[column]) {
                        problems.push(format!(
                            "{table} {id}.{column}: server {value}, mirror {}",
                            local[column]
                        ));
                    }
                }
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("\n"))
        }
    }
}

/// Postgres numerics arrive as JSON numbers and are kept as text by SQLite where exactness
/// matters; timestamps may differ in their rendering only.
fn same_value(server: &Value, local: &Value) -> bool {
    match (server, local) {
        (Value::Number(a), Value::String(b)) | (Value::String(b), Value::Number(a)) => {
            a.to_string() == *b || a.as_f64() == b.parse::<f64>().ok()
        }
        (Value::String(a), Value::String(b)) if a != b => {
            match (
                chrono::DateTime::parse_from_rfc3339(a),
                chrono::DateTime::parse_from_rfc3339(b),
            ) {
                (Ok(a), Ok(b)) => a == b,
                _ => false,
            }
        }
        (a, b) => a == b,
    }
}

/// The id of the first tenant (by subdomain).
pub async fn first_tenant(db: &TestDb) -> Uuid {
    sqlx::query_scalar("select id from public.tenants order by subdomain limit 1")
        .fetch_one(&db.pool)
        .await
        .expect("tenant")
}
