//! `seed-demo`: realistic, deterministic demo data across every table.
//!
//! The same `--seed`, `--today` and sizes give the same rows (ids included), so tests, benchmarks
//! and a new user trying the app all see the same hotels. Rows go in with `COPY` inside one
//! transaction per tenant, through the same triggers as any other write: confirmation and
//! membership numbers, ledger balances and status timestamps are assigned by the database.
//!
//! - [`generate`]: the pure generator (rows from a seeded RNG, no I/O).
//! - [`copy`]: COPY text encoding and loading.
//! - [`platform`]: the platform's plans, flags and retention defaults, shared by all tenants.

mod copy;
mod generate;
mod names;
mod platform;

use std::fmt;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use sqlx::PgPool;

use crate::error::{Error, Result};

pub use generate::TenantPlan;

/// Command-line arguments of `pms-server seed-demo`.
#[derive(Debug, Clone, clap::Args)]
pub struct SeedArgs {
    /// Number of tenants (hotel groups) to create.
    #[arg(long, default_value_t = 2)]
    pub tenants: usize,
    /// Guests per tenant (reservations, ledger entries and the rest scale with it).
    #[arg(long, default_value_t = 1000)]
    pub guests: usize,
    /// Reservations per guest, on average (rooms are added to hold them): 1.2 gives a hotel's
    /// usual mix of repeaters; the benchmark's million-row tenant uses 3.
    #[arg(long, default_value_t = 1.2)]
    pub stays_per_guest: f64,
    /// Seed of the random generator: the same seed gives the same data.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// The day the data is centred on (arrivals today, stays past and future), YYYY-MM-DD.
    /// Defaults to today (UTC).
    #[arg(long)]
    pub today: Option<NaiveDate>,
    /// How far back the rooms' calendar of past stays goes, in days (a small tenant for tests
    /// that copy it many times takes a fortnight).
    #[arg(long, default_value_t = DEFAULT_HISTORY_DAYS)]
    pub history_days: u64,
}

impl SeedArgs {
    pub fn into_options(self) -> Result<SeedOptions> {
        let options = SeedOptions {
            tenants: self.tenants,
            guests_per_tenant: self.guests,
            stays_per_guest: self.stays_per_guest,
            seed: self.seed,
            today: self
                .today
                .unwrap_or_else(|| chrono::Utc::now().date_naive()),
            history_days: self.history_days,
        };
        options.validate()?;
        Ok(options)
    }
}

/// What to generate.
#[derive(Debug, Clone)]
pub struct SeedOptions {
    pub tenants: usize,
    pub guests_per_tenant: usize,
    /// Reservations per guest on average ([`DEFAULT_STAYS_PER_GUEST`] unless a benchmark asks
    /// for more).
    pub stays_per_guest: f64,
    pub seed: u64,
    pub today: NaiveDate,
    /// How far back the calendar of past stays goes ([`DEFAULT_HISTORY_DAYS`]).
    pub history_days: u64,
}

impl SeedOptions {
    pub fn validate(&self) -> Result<()> {
        if !(1..=1000).contains(&self.tenants) {
            return Err(Error::Invalid(
                "--tenants must be between 1 and 1000".to_owned(),
            ));
        }
        if !(10..=2_000_000).contains(&self.guests_per_tenant) {
            return Err(Error::Invalid(
                "--guests must be between 10 and 2000000".to_owned(),
            ));
        }
        if !(0.1..=10.0).contains(&self.stays_per_guest) {
            return Err(Error::Invalid(
                "--stays-per-guest must be between 0.1 and 10".to_owned(),
            ));
        }
        if !(1..=3650).contains(&self.history_days) {
            return Err(Error::Invalid(
                "--history-days must be between 1 and 3650".to_owned(),
            ));
        }
        Ok(())
    }
}

/// The usual mix: a fifth more stays than guests.
pub const DEFAULT_STAYS_PER_GUEST: f64 = 1.2;

/// Two years of past stays.
pub const DEFAULT_HISTORY_DAYS: u64 = 730;

/// Rows written per table, and how long it took.
#[derive(Debug, Clone, Default)]
pub struct SeedSummary {
    pub tenant_ids: Vec<uuid::Uuid>,
    /// (table, rows) in the order they were loaded, summed over tenants.
    pub rows: Vec<(&'static str, u64)>,
    pub elapsed: Duration,
}

impl SeedSummary {
    pub fn rows_in(&self, table: &str) -> u64 {
        self.rows
            .iter()
            .filter(|(t, _)| *t == table)
            .map(|(_, n)| n)
            .sum()
    }

    fn add(&mut self, table: &'static str, rows: u64) {
        match self.rows.iter_mut().find(|(t, _)| *t == table) {
            Some((_, n)) => *n += rows,
            None => self.rows.push((table, rows)),
        }
    }
}

impl fmt::Display for SeedSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let total: u64 = self.rows.iter().map(|(_, n)| n).sum();
        writeln!(
            f,
            "seeded {} tenant(s), {total} rows in {:.1} s",
            self.tenant_ids.len(),
            self.elapsed.as_secs_f64()
        )?;
        for (table, rows) in &self.rows {
            writeln!(f, "  {table:<24} {rows:>9}")?;
        }
        Ok(())
    }
}

/// Seeds `options.tenants` demo tenants. Fails, changing nothing for that tenant, if a tenant of
/// the same seed already exists (seed a fresh database or use another `--seed`).
pub async fn seed_demo(pool: &PgPool, options: &SeedOptions) -> Result<SeedSummary> {
    options.validate()?;
    let started = Instant::now();
    let mut summary = SeedSummary::default();
    let plans = platform::ensure_platform_rows(pool).await?;
    for index in 0..options.tenants {
        let plan = TenantPlan {
            index,
            guests: options.guests_per_tenant,
            stays_per_tenth_guest: (options.stays_per_guest * 10.0).round() as usize,
            seed: options.seed,
            today: options.today,
            history_days: options.history_days,
        };
        let tenant = generate::generate_tenant(&plan, &plans);
        let mut tx = pool.begin().await?;
        let exists: bool = sqlx::query_scalar(
            "select exists (select 1 from public.tenants where id = $1 or subdomain = $2)",
        )
        .bind(tenant.tenant_id)
        .bind(&tenant.subdomain)
        .fetch_one(&mut *tx)
        .await?;
        if exists {
            return Err(Error::Invalid(format!(
                "demo tenant {} already exists: seed a fresh database or pass another --seed",
                tenant.subdomain
            )));
        }
        sqlx::query("set local app.seeding_series = 'on'")
            .execute(&mut *tx)
            .await?;
        for table in &tenant.tables {
            let table_started = Instant::now();
            let rows = table.copy_into(&mut tx).await?;
            tracing::debug!(
                table = table.table(),
                rows,
                elapsed_ms = table_started.elapsed().as_millis() as u64,
                "copied"
            );
            summary.add(table.table(), rows);
        }
        // The laptops' invoice series: made here with the seed's ids and times (the devices'
        // trigger steps aside while the seed copies them), D1, D2, … in the devices' order.
        let mut series_devices = Vec::new();
        let mut series_ids = Vec::new();
        let mut prefixes = Vec::new();
        let mut created = Vec::new();
        for (n, (device, id, at)) in tenant.device_series.iter().enumerate() {
            series_devices.push(*device);
            series_ids.push(*id);
            prefixes.push(format!("D{}", n + 1));
            created.push(*at);
        }
        sqlx::query(
            "insert into public.guest_invoice_series (tenant_id, id, device_id, prefix, created_at, updated_at)
             select $1, s.id, s.device_id, s.prefix, s.created_at, s.created_at
               from unnest($2::uuid[], $3::uuid[], $4::text[], $5::timestamptz[])
                    as s(device_id, id, prefix, created_at)
              order by s.prefix",
        )
        .bind(tenant.tenant_id)
        .bind(&series_devices)
        .bind(&series_ids)
        .bind(&prefixes)
        .bind(&created)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        tracing::info!(tenant = %tenant.subdomain, "seeded");
        summary.tenant_ids.push(tenant.tenant_id);
        // Statistics as the tables grow (after 1, 2, 4, 8, … tenants): planned on the empty
        // tables' statistics, the checks each insert runs scan whole tables, and every tenant
        // took longer than the one before (40 tenants of 10 guests: 6.2 s for the last five).
        if (index + 1).is_power_of_two() {
            sqlx::query("analyze").execute(pool).await?;
        }
    }
    // Fresh statistics, so the first queries on the new data get good plans.
    sqlx::query("analyze").execute(pool).await?;
    summary.elapsed = started.elapsed();
    Ok(summary)
}
