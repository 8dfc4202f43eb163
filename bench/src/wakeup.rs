//! Long-poll wake-ups at scale (scale item 3): 2,000 laptops long-polling over 200 tenants on one
//! `serve` instance, and a change in one tenant at a time. Each change is written straight into
//! Postgres (its feed trigger notifies at commit), so the instance's work is only the wake-up:
//! hearing the notification, waking that tenant's waiting pulls, answering them, and taking their
//! next long polls. Measured: from the commit to each of the tenant's laptops holding the change
//! (p50, p99), and the instance's CPU per wake-up against its CPU while all 2,000 just wait.
//!
//! The instance runs on a runtime of its own whose threads are named, so its CPU is read from
//! those threads alone (`/proc/self/task/*/stat`), apart from the laptops' in this process.

use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use pms_server::config::Secret;
use pms_server::serve::tokens::TokenKeys;
use pms_sync_protocol::wire::{Cursor, HeadResponse, PullResponse};
use pms_tests::TestServer;
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::fixture::World;
use crate::report::{Figure, Percentiles, Run, Target};

const SECTION: &str = "Long-poll wake-ups";
pub const TENANTS: usize = 200;
pub const LAPTOPS_PER_TENANT: usize = 10;
/// Changes made, each in the next tenant; the first [`WARM_UP`] are not counted.
const ROUNDS: usize = 220;
const WARM_UP: usize = 20;
/// The pause after a change has reached its laptops: their next long polls arrive, and the next
/// wake-up is measured alone, not behind this one.
const BETWEEN: Duration = Duration::from_millis(30);
/// How long the 2,000 laptops wait with nothing changing, for the instance's idle CPU.
const IDLE: Duration = Duration::from_secs(5);
/// The instance's threads' name (what `/proc` shows: at most 15 bytes).
const SERVE_THREADS: &str = "pms-wake-serve";

pub async fn measure(world: &World, run: &mut Run) -> Result<()> {
    println!("  seeding {TENANTS} small tenants…");
    let seeded = pms_server::seed::seed_demo(
        &world.db.pool,
        &pms_server::seed::SeedOptions {
            tenants: TENANTS,
            guests_per_tenant: 10,
            stays_per_guest: 1.0,
            seed: 44,
            today: crate::fixture::seeded_day(),
            history_days: 7,
        },
    )
    .await
    .context("seed the small tenants")?;
    let tenants = seeded.tenant_ids;
    ensure!(tenants.len() == TENANTS, "seeded {} tenants", tenants.len());

    let instance = ServeInstance::start(world).await?;
    let laptops = sign_in_laptops(world, &tenants).await?;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(usize::MAX)
        .build()?;

    // Every laptop long-polls from its tenant's head; each change it receives is reported.
    let (received, mut arrivals) = mpsc::unbounded_channel::<(Uuid, Instant)>();
    let mut pollers = Vec::with_capacity(laptops.len());
    for laptop in &laptops {
        let head = head(&http, &instance.base_url, &laptop.token).await?;
        pollers.push(tokio::spawn(long_poll(
            http.clone(),
            instance.base_url.clone(),
            laptop.token.clone(),
            head,
            received.clone(),
        )));
    }
    drop(received);
    wait_for_waiters(&http, &instance.base_url, laptops.len()).await?;

    let idle_cpu = instance.cpu_over(IDLE).await?;
    let idle_ms_per_s = idle_cpu.as_secs_f64() * 1000.0 / IDLE.as_secs_f64();

    let mut latencies = Vec::with_capacity((ROUNDS - WARM_UP) * LAPTOPS_PER_TENANT);
    let mut counted_from = None;
    for round in 0..ROUNDS {
        if round == WARM_UP {
            counted_from = Some((instance.cpu()?, Instant::now()));
        }
        let tenant = tenants[round % tenants.len()];
        let (guest, committed) = write_change(world, tenant).await?;
        let mut heard = 0;
        while heard < LAPTOPS_PER_TENANT {
            let (id, at) = tokio::time::timeout(Duration::from_secs(40), arrivals.recv())
                .await
                .context("a laptop did not hear of its tenant's change within 40 s")?
                .context("the laptops stopped polling")?;
            if id != guest {
                continue;
            }
            heard += 1;
            if round >= WARM_UP {
                latencies.push((at - committed).as_secs_f64() * 1000.0);
            }
        }
        // the woken laptops send their next long polls meanwhile: part of the wake-up's cost
        // (not asked for through the instance's metrics, whose scrapes would be counted too)
        tokio::time::sleep(BETWEEN).await;
    }
    let (cpu_before, counted_since) = counted_from.context("no round was counted")?;
    let cpu = instance.cpu()?.saturating_sub(cpu_before);
    let wall = counted_since.elapsed();
    for poller in &pollers {
        poller.abort();
    }
    let rounds = (ROUNDS - WARM_UP) as f64;
    // the idle rate over the rounds' wall time is not the wake-ups'
    let idle_during = idle_ms_per_s * wall.as_secs_f64();
    let per_wakeup = ((cpu.as_secs_f64() * 1000.0) - idle_during).max(0.0) / rounds;

    let p = Percentiles::of(&mut latencies);
    let how = format!(
        "{} laptops long-polling over {TENANTS} tenants on one serve instance; {} changes, each \
         in the next tenant, written in Postgres; from the commit to each of the tenant's \
         {LAPTOPS_PER_TENANT} laptops holding it: p50 {:.1} ms, max {:.1} ms",
        laptops.len(),
        ROUNDS - WARM_UP,
        p.p50,
        p.max
    );
    run.add(Figure {
        section: SECTION.to_owned(),
        name: format!(
            "change to its {LAPTOPS_PER_TENANT} laptops while {} long-poll, p99",
            laptops.len()
        ),
        value: p.p99,
        unit: "ms".to_owned(),
        target: Target::below(100.0),
        how,
    });
    run.add(Figure {
        section: SECTION.to_owned(),
        name: "serve CPU per wake-up of a tenant's laptops".to_owned(),
        value: per_wakeup,
        unit: "ms".to_owned(),
        target: None,
        how: format!(
            "the instance's threads' CPU over the rounds, less its idle rate with {} pulls \
             waiting ({idle_ms_per_s:.2} ms of CPU a second), per change: the notification, \
             {LAPTOPS_PER_TENANT} answers and their next long polls",
            laptops.len()
        ),
    });
    Ok(())
}

/// A laptop of the wake-up bench: a device of a tenant's front-desk clerk and its token.
struct PollingLaptop {
    token: String,
}

/// [`LAPTOPS_PER_TENANT`] devices for each tenant's first front-desk clerk, registered in the
/// database and given tokens signed with the server's key: 2,000 sign-ins would meet the
/// server's sign-in limit and measure password hashing, not wake-ups.
async fn sign_in_laptops(world: &World, tenants: &[Uuid]) -> Result<Vec<PollingLaptop>> {
    let keys = TokenKeys::new(&Secret::new(world.server.jwt_secret.clone()));
    let mut laptops = Vec::with_capacity(tenants.len() * LAPTOPS_PER_TENANT);
    for tenant in tenants {
        let user_id: Uuid = sqlx::query_scalar(
            "select user_id from public.staff
              where tenant_id = $1 and role = 'front_desk' and enabled order by email limit 1",
        )
        .bind(tenant)
        .fetch_one(&world.db.pool)
        .await
        .context("a tenant's front-desk clerk")?;
        for n in 0..LAPTOPS_PER_TENANT {
            let device: Uuid = sqlx::query_scalar(
                "insert into public.devices (tenant_id, user_id, name, refresh_token_hash, refresh_expires_at)
                 values ($1, $2, $3, repeat('0', 64), now() + interval '1 day') returning id",
            )
            .bind(tenant)
            .bind(user_id)
            .bind(format!("wake-up laptop {n}"))
            .fetch_one(&world.db.pool)
            .await
            .context("register a device")?;
            let (token, _) = keys
                .issue(*tenant, user_id, "front_desk", device)
                .map_err(|error| anyhow::anyhow!("issue a token: {error:?}"))?;
            laptops.push(PollingLaptop { token });
        }
    }
    Ok(laptops)
}

async fn head(http: &reqwest::Client, base_url: &str, token: &str) -> Result<Cursor> {
    let response = http
        .get(format!("{base_url}/v1/sync/head"))
        .bearer_auth(token)
        .send()
        .await?;
    ensure!(
        response.status().is_success(),
        "head: {}",
        response.status()
    );
    Ok(response.json::<HeadResponse>().await?.cursor)
}

/// One laptop's long polls, one after another, each from where the last left off; every change
/// received is reported with when it arrived.
async fn long_poll(
    http: reqwest::Client,
    base_url: String,
    token: String,
    mut cursor: Cursor,
    received: mpsc::UnboundedSender<(Uuid, Instant)>,
) -> Result<()> {
    loop {
        let response = http
            .get(format!("{base_url}/v1/sync/pull"))
            .query(&[
                ("after_seq", cursor.seq.to_string()),
                ("after_change_no", cursor.change_no.to_string()),
                ("wait", "30".to_owned()),
            ])
            .bearer_auth(&token)
            .send()
            .await?;
        if !response.status().is_success() {
            bail!("a long poll was answered {}", response.status());
        }
        let page: PullResponse = response.json().await?;
        let at = Instant::now();
        for change in &page.changes {
            if received.send((change.id, at)).is_err() {
                return Ok(());
            }
        }
        cursor = page.cursor;
    }
}

/// Waits until the instance counts `count` pulls waiting.
async fn wait_for_waiters(http: &reqwest::Client, base_url: &str, count: usize) -> Result<()> {
    let started = Instant::now();
    loop {
        let scrape = http
            .get(format!("{base_url}/metrics"))
            .send()
            .await?
            .text()
            .await?;
        let waiting = pms_tests::metric(&scrape, "pms_long_poll_waiters").unwrap_or(0.0);
        if waiting as usize >= count {
            return Ok(());
        }
        if started.elapsed() > Duration::from_secs(60) {
            bail!("only {waiting} of {count} pulls are waiting after a minute");
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// A new guest in `tenant`, committed in Postgres; its id and when the commit returned.
async fn write_change(world: &World, tenant: Uuid) -> Result<(Uuid, Instant)> {
    let guest = Uuid::now_v7();
    sqlx::query(
        "insert into public.guests (tenant_id, id, first_name, last_name) values ($1, $2, 'Woken', 'Up')",
    )
    .bind(tenant)
    .bind(guest)
    .execute(&world.db.pool)
    .await?;
    Ok((guest, Instant::now()))
}

/// A `serve` instance beside the bench's, on a runtime of its own with named threads.
struct ServeInstance {
    base_url: String,
    // dropped first: the server stops, then its runtime goes
    server: Option<TestServer>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl ServeInstance {
    async fn start(world: &World) -> Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name(SERVE_THREADS)
            .enable_all()
            .build()?;
        let server = TestServer::start_beside_on(&world.db, &world.server, runtime.handle()).await;
        Ok(Self {
            base_url: server.base_url.clone(),
            server: Some(server),
            runtime: Some(runtime),
        })
    }

    /// The CPU time (user and system) the instance's threads have used so far.
    fn cpu(&self) -> Result<Duration> {
        let ticks_per_second = 100.0; // USER_HZ on Linux
        let mut ticks = 0u64;
        for task in std::fs::read_dir("/proc/self/task")? {
            let task = task?.path();
            let Ok(name) = std::fs::read_to_string(task.join("comm")) else {
                continue;
            };
            if name.trim_end() != SERVE_THREADS {
                continue;
            }
            let Ok(stat) = std::fs::read_to_string(task.join("stat")) else {
                continue;
            };
            // after the command's closing parenthesis: state is field 3, utime 14, stime 15
            let fields: Vec<&str> = stat
                .rsplit_once(')')
                .map(|(_, rest)| rest.split_whitespace().collect())
                .unwrap_or_default();
            let field = |n: usize| fields.get(n - 3).and_then(|v| v.parse::<u64>().ok());
            ticks += field(14).unwrap_or(0) + field(15).unwrap_or(0);
        }
        Ok(Duration::from_secs_f64(ticks as f64 / ticks_per_second))
    }

    async fn cpu_over(&self, span: Duration) -> Result<Duration> {
        let before = self.cpu()?;
        tokio::time::sleep(span).await;
        Ok(self.cpu()?.saturating_sub(before))
    }
}

impl Drop for ServeInstance {
    fn drop(&mut self) {
        drop(self.server.take());
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}
