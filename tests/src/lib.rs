//! Shared helpers for the integration tests: a fresh, migrated database per test on the local
//! Postgres, and sessions that act the way `serve` acts (as `authenticated` with a tenant's
//! claims) or as the other API roles. See `tests/README.md`.

pub mod chaos;
pub mod faulty_proxy;
pub mod laptops;
pub mod older_mirror;
pub mod own_cluster;

use std::sync::atomic::{AtomicUsize, Ordering};

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgConnection, Postgres, Transaction};
use uuid::Uuid;

/// The login role `serve` uses in the tests (created by `migrate`).
pub const APP_ROLE: &str = "pms_app";

/// The server the tests create their databases on: `PMS_TEST_DATABASE_URL`, or the local
/// Postgres with trust authentication.
pub fn server_url() -> String {
    std::env::var("PMS_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// A database of its own for one test, dropped when the value is dropped.
/// The day `TestDb::seed` seeds for ("today" of the demo data). A test that runs jobs over seeded
/// data runs them as of this day, so nothing falls due as the calendar moves on.
pub const SEED_DAY: chrono::NaiveDate = match chrono::NaiveDate::from_ymd_opt(2026, 11, 25) {
    Some(day) => day,
    None => panic!("a valid date"),
};

pub struct TestDb {
    pub name: String,
    pub pool: PgPool,
    options: PgConnectOptions,
    /// The server's admin URL (see [`server_url`]) the database was created on.
    server: String,
}

static NEXT: AtomicUsize = AtomicUsize::new(0);

impl TestDb {
    /// A new database with the schema migrated and the `serve` login role in place.
    pub async fn migrated() -> Self {
        Self::migrated_on(&server_url()).await
    }

    /// [`TestDb::migrated`] on another Postgres server, named by a superuser URL of it (e.g. a
    /// test's own cluster, see [`own_cluster`]).
    pub async fn migrated_on(server: &str) -> Self {
        let db = Self::empty_on(server).await;
        pms_server::db::migrate(&db.pool, APP_ROLE, None)
            .await
            .expect("migrations apply");
        db
    }

    /// A new, empty database.
    pub async fn empty() -> Self {
        Self::empty_on(&server_url()).await
    }

    /// A new, empty database on the server of the superuser URL `server_url`.
    pub async fn empty_on(server_url: &str) -> Self {
        let server: PgConnectOptions = server_url
            .parse()
            .expect("PMS_TEST_DATABASE_URL is a valid URL");
        let server = server.disable_statement_logging();
        let name = format!(
            "pms_test_{}_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed),
            &Uuid::new_v4().simple().to_string()[..8]
        );
        let mut admin = PgConnection::connect_with(&server)
            .await
            .expect("the test Postgres is reachable (see tests/README.md)");
        sqlx::query(&format!("create database {name}"))
            .execute(&mut admin)
            .await
            .expect("create database");
        admin.close().await.ok();
        let options = server.database(&name);
        let pool = PgPoolOptions::new()
            .max_connections(10)
            .connect_with(options.clone())
            .await
            .expect("connect to the test database");
        Self {
            name,
            pool,
            options,
            server: server_url.to_owned(),
        }
    }

    /// The admin URL of this database, as `PMS_ADMIN_DATABASE_URL` would give it.
    pub fn url(&self) -> String {
        let mut url = url_of(&self.server);
        url.set_path(&format!("/{}", self.name));
        url.to_string()
    }

    /// This database's URL for another login role (trust authentication on the test server).
    pub fn url_as(&self, role: &str) -> String {
        let mut url = url_of(&self.url());
        url.set_username(role)
            .expect("a postgres URL takes a user name");
        url.set_password(None)
            .expect("a postgres URL takes a password");
        url.to_string()
    }

    /// A pool of connections logged in as `role`.
    pub async fn pool_as(&self, role: &str, max_connections: u32) -> PgPool {
        PgPoolOptions::new()
            .max_connections(max_connections)
            .connect_with(self.options.clone().username(role))
            .await
            .expect("log in to the test database")
    }

    /// Seeds demo data (`seed-demo`) for [`SEED_DAY`], so results do not depend on the date.
    pub async fn seed(&self, tenants: usize, guests: usize) -> pms_server::seed::SeedSummary {
        self.seed_with_history(tenants, guests, pms_server::seed::DEFAULT_HISTORY_DAYS)
            .await
    }

    /// [`seed`](Self::seed) with the rooms' past stays going back `history_days` (a small tenant,
    /// for a test that copies it many times).
    pub async fn seed_with_history(
        &self,
        tenants: usize,
        guests: usize,
        history_days: u64,
    ) -> pms_server::seed::SeedSummary {
        let options = pms_server::seed::SeedOptions {
            tenants,
            guests_per_tenant: guests,
            stays_per_guest: pms_server::seed::DEFAULT_STAYS_PER_GUEST,
            seed: 7,
            today: SEED_DAY,
            history_days,
        };
        pms_server::seed::seed_demo(&self.pool, &options)
            .await
            .expect("seed-demo")
    }
}

fn url_of(raw: &str) -> url::Url {
    url::Url::parse(raw).expect("a valid URL")
}

impl Drop for TestDb {
    fn drop(&mut self) {
        // Dropping needs a connection of its own; the test's runtime may be shutting down, so use
        // a short-lived one on another thread.
        let name = self.name.clone();
        let server_url = self.server.clone();
        let _ = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async move {
                let Ok(server) = server_url.parse::<PgConnectOptions>() else {
                    return;
                };
                if let Ok(mut conn) =
                    PgConnection::connect_with(&server.disable_statement_logging()).await
                {
                    let _ = sqlx::query(&format!("drop database if exists {name} with (force)"))
                        .execute(&mut conn)
                        .await;
                }
            });
        })
        .join();
    }
}

/// A staff member's identity as the tokens of `serve` carry it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Claims {
    pub tenant_id: Uuid,
    pub user_id: Uuid,
}

impl Claims {
    pub fn json(&self) -> String {
        serde_json::json!({
            "sub": self.user_id,
            "role": "authenticated",
            "app_metadata": {"tenant_id": self.tenant_id},
        })
        .to_string()
    }
}

/// Begins a transaction that acts as `serve` does for a request: `set local role authenticated`
/// and the caller's claims in `request.jwt.claims`.
pub async fn begin_as(pool: &PgPool, claims: Claims) -> Transaction<'static, Postgres> {
    let mut tx = pool.begin().await.expect("begin");
    sqlx::query("set local role authenticated")
        .execute(&mut *tx)
        .await
        .expect("set role authenticated");
    sqlx::query("select set_config('request.jwt.claims', $1, true)")
        .bind(claims.json())
        .execute(&mut *tx)
        .await
        .expect("set claims");
    tx
}

/// Begins a transaction as another API role (`anon`, `service_role`) with no claims.
pub async fn begin_as_role(pool: &PgPool, role: &str) -> Transaction<'static, Postgres> {
    let mut tx = pool.begin().await.expect("begin");
    sqlx::query(&format!("set local role {role}"))
        .execute(&mut *tx)
        .await
        .expect("set role");
    tx
}

/// The enabled staff member of `tenant_id` with `role`, as claims.
pub async fn staff_claims(pool: &PgPool, tenant_id: Uuid, role: &str) -> Claims {
    let user_id: Uuid = sqlx::query_scalar(
        "select user_id from public.staff where tenant_id = $1 and role = $2 and enabled order by email limit 1",
    )
    .bind(tenant_id)
    .bind(role)
    .fetch_one(pool)
    .await
    .expect("a staff member with that role (seed-demo creates one of each)");
    Claims { tenant_id, user_id }
}

/// The SQLSTATE of a failed statement, or panics with what happened instead.
pub fn sqlstate<T: std::fmt::Debug>(result: Result<T, sqlx::Error>) -> String {
    match result {
        Err(sqlx::Error::Database(db)) => db.code().map(|c| c.into_owned()).unwrap_or_default(),
        other => panic!("expected a database error, got {other:?}"),
    }
}

/// The constraint a failed statement violated, with its SQLSTATE.
pub fn violation<T: std::fmt::Debug>(result: Result<T, sqlx::Error>) -> (String, Option<String>) {
    match result {
        Err(sqlx::Error::Database(db)) => (
            db.code().map(|c| c.into_owned()).unwrap_or_default(),
            db.constraint().map(str::to_owned),
        ),
        other => panic!("expected a constraint violation, got {other:?}"),
    }
}

/// The real sync server on `127.0.0.1:0`, connected as the `serve` login role; shut down on drop.
pub struct TestServer {
    pub base_url: String,
    pub address: std::net::SocketAddr,
    pub jwt_secret: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl TestServer {
    pub async fn start(db: &TestDb) -> Self {
        Self::start_with(db, |state| state).await
    }

    /// Starts the server with its state adjusted by `configure` (e.g. a tighter clock cap).
    pub async fn start_with(
        db: &TestDb,
        configure: impl FnOnce(pms_server::serve::AppState) -> pms_server::serve::AppState
            + Send
            + 'static,
    ) -> Self {
        let jwt_secret = format!("test-secret-{}", Uuid::new_v4().simple());
        let runtime = tokio::runtime::Handle::current();
        Self::start_instance(db, jwt_secret, configure, &runtime).await
    }

    /// A second instance of `first`'s server on the same database (its tokens are good here).
    pub async fn start_beside(db: &TestDb, first: &TestServer) -> Self {
        Self::start_beside_on(db, first, &tokio::runtime::Handle::current()).await
    }

    /// A second instance of `first`'s server whose every task (its listener, connections and
    /// requests) runs on `runtime`: a bench reads that runtime's threads' CPU as the instance's.
    pub async fn start_beside_on(
        db: &TestDb,
        first: &TestServer,
        runtime: &tokio::runtime::Handle,
    ) -> Self {
        Self::start_instance(db, first.jwt_secret.clone(), |state| state, runtime).await
    }

    /// An instance signing with `jwt_secret`, served on `runtime`.
    async fn start_instance(
        db: &TestDb,
        jwt_secret: String,
        configure: impl FnOnce(pms_server::serve::AppState) -> pms_server::serve::AppState
            + Send
            + 'static,
        runtime: &tokio::runtime::Handle,
    ) -> Self {
        let options = db.options.clone().username(APP_ROLE);
        let secret = pms_server::config::Secret::new(jwt_secret.clone());
        let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
        let (bound, address) = tokio::sync::oneshot::channel();
        runtime.spawn(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind a free port");
            let pool = PgPoolOptions::new()
                .max_connections(8)
                .connect_with(options)
                .await
                .expect("log in to the test database");
            let _ = bound.send(listener.local_addr().expect("local address"));
            let state = configure(pms_server::serve::AppState::new(pool, &secret));
            let _ = pms_server::serve::run(listener, state, async {
                let _ = stopped.await;
            })
            .await;
        });
        let address = address.await.expect("the instance bound its port");
        let server = Self {
            base_url: format!("http://{address}"),
            address,
            jwt_secret,
            shutdown: Some(shutdown),
        };
        server.until_healthy().await
    }

    /// Ready when /health answers (the socket is bound already; this waits for the task).
    async fn until_healthy(self) -> Self {
        let client = reqwest::Client::new();
        for _ in 0..100 {
            if client
                .get(self.url("/health"))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                return self;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        panic!("the test server did not become healthy");
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// Gives a staff member a password the sync server accepts.
pub async fn set_password(pool: &PgPool, email: &str, password: &str) {
    let hash = pms_server::serve::auth::hash_password(password).expect("hash");
    let updated =
        sqlx::query("update public.staff set password_hash = $2 where lower(email) = lower($1)")
            .bind(email)
            .bind(hash)
            .execute(pool)
            .await
            .expect("set password");
    assert_eq!(updated.rows_affected(), 1, "no staff member {email}");
}

/// The value of one series in a Prometheus text scrape, named as rendered (`name{label="v",…}`,
/// labels in the order the server declares them), if the scrape has it.
pub fn metric(scrape: &str, series: &str) -> Option<f64> {
    scrape.lines().find_map(|line| {
        line.strip_prefix(series)?
            .strip_prefix(' ')?
            .split(' ')
            .next()?
            .parse()
            .ok()
    })
}
