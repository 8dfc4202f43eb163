//! The bench's world: a fresh database with the million-row tenant and 49 small ones, the real
//! sync server on a free port, and laptops signed in to it.

use std::time::Instant;

use anyhow::{Context, Result};
use pms_server::seed::{seed_demo, SeedOptions, SeedSummary, DEFAULT_STAYS_PER_GUEST};
use pms_sync_client::mirror;
use pms_tests::laptops::{tenant_staff_emails, Laptop};
use pms_tests::{TestDb, TestServer};
use rusqlite::Connection;
use uuid::Uuid;

/// The day the data is centred on; fixed, so runs compare.
pub fn seeded_day() -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(2026, 11, 25).unwrap_or_default()
}

pub struct World {
    pub db: TestDb,
    pub server: TestServer,
    /// The benchmark tenant (the big one).
    pub tenant: Uuid,
    /// The small tenants, for the push of many tenants at once.
    pub others: Vec<Uuid>,
    pub dataset: Vec<(String, u64)>,
}

/// Makes the database and starts the server. `guests` and `stays_per_guest` size the big tenant.
pub async fn build(guests: usize, stays_per_guest: f64, other_tenants: usize) -> Result<World> {
    let db = TestDb::migrated().await;
    println!("database {} (dropped at the end)", db.name);
    let started = Instant::now();
    let big = seed(&db, 1, guests, stays_per_guest, 42).await?;
    println!(
        "seeded the benchmark tenant: {} rows in {:.1} s",
        big.rows.iter().map(|(_, n)| n).sum::<u64>(),
        started.elapsed().as_secs_f64()
    );
    let others = if other_tenants > 0 {
        seed(&db, other_tenants, 10, DEFAULT_STAYS_PER_GUEST, 43)
            .await?
            .tenant_ids
    } else {
        Vec::new()
    };
    let server = TestServer::start(&db).await;
    Ok(World {
        tenant: big.tenant_ids[0],
        dataset: big
            .rows
            .iter()
            .map(|(table, rows)| ((*table).to_owned(), *rows))
            .collect(),
        db,
        server,
        others,
    })
}

async fn seed(
    db: &TestDb,
    tenants: usize,
    guests: usize,
    stays_per_guest: f64,
    seed: u64,
) -> Result<SeedSummary> {
    let options = SeedOptions {
        tenants,
        guests_per_tenant: guests,
        stays_per_guest,
        seed,
        today: seeded_day(),
        history_days: pms_server::seed::DEFAULT_HISTORY_DAYS,
    };
    seed_demo(&db.pool, &options).await.context("seed-demo")
}

impl World {
    /// The `n`th staff member of `tenant` with `role`.
    pub async fn staff(&self, tenant: Uuid, role: &str, n: usize) -> Result<String> {
        tenant_staff_emails(&self.db, tenant, role)
            .await
            .get(n)
            .cloned()
            .with_context(|| format!("tenant {tenant} has no {role} number {n}"))
    }

    /// A laptop signed in as `email` whose mirror starts at the feed's head, as one that has just
    /// finished its initial sync (the rows themselves are not copied: the measures that use it
    /// only need what arrives from now on).
    pub async fn laptop_at_head(&self, email: &str, conn: Connection) -> Result<Laptop> {
        self.laptop_at_head_on(&self.server, email, conn).await
    }

    /// [`laptop_at_head`](Self::laptop_at_head) signed in to `server` (another instance).
    pub async fn laptop_at_head_on(
        &self,
        server: &TestServer,
        email: &str,
        conn: Connection,
    ) -> Result<Laptop> {
        let laptop = Laptop::sign_in_with(&self.db, server, email, "bench laptop", conn).await;
        let head = laptop.remote.head_with_role().await?;
        let global = head.global_cursor.unwrap_or_default();
        for (key, value) in [
            ("cursor_seq", head.cursor.seq),
            ("cursor_change_no", head.cursor.change_no),
            ("global_cursor_seq", global.seq),
            ("global_cursor_change_no", global.change_no),
        ] {
            mirror::set_state(&laptop.conn, key, &value.to_string())?;
        }
        mirror::set_state(&laptop.conn, "initial_sync_done", "1")?;
        mirror::set_state(
            &laptop.conn,
            pms_sync_client::engine::SNAPSHOT_SHAPE_KEY,
            &pms_sync_protocol::tables::shape_id().to_string(),
        )?;
        Ok(laptop)
    }
}
