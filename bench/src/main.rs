//! `pms-bench`: the system measured against the machine's limits, on a generated tenant of about
//! a million rows (100,000 guests, 300,000 reservations, their ledgers and communications) plus 49
//! small tenants, with the real sync server, the real `pms-client` and the desk's own functions.
//!
//! Prints each figure as it is measured, then writes the run as JSON and the Markdown report
//! (`docs/BENCHMARKS.md`). `pms-bench report` renders the report again from a saved JSON.
//! Run it with `scripts/bench` (a release build); the database comes from
//! `PMS_TEST_DATABASE_URL` (default: the local Postgres), in a fresh database dropped at the end.
//!
//! One module per measure; [`fixture`] builds the data and starts the server.

mod fixture;
mod initial_sync;
mod job_vs_desk;
mod latency;
mod legacy;
mod local_ops;
mod push;
mod remote_apply;
mod report;
mod rls;
mod wakeup;

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};

use report::{Machine, Run};

#[derive(Debug, Parser)]
#[command(name = "pms-bench", about = "Benchmarks of the offline-first PMS")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Guests of the benchmark tenant.
    #[arg(long, default_value_t = 100_000)]
    guests: usize,
    /// Reservations per guest (3 gives the 300,000 of the million-row tenant).
    #[arg(long, default_value_t = 3.0)]
    stays_per_guest: f64,
    /// Small tenants beside it, for the push of many tenants at once.
    #[arg(long, default_value_t = 49)]
    other_tenants: usize,
    /// Only these measures (comma-separated): initial, apply, local, latency, push, rls, legacy,
    /// wakeup, jobs. `apply` and `local` need `initial`; `jobs` changes the tenant's stays, so runs last.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// The `pms-client` binary (default: next to this one).
    #[arg(long)]
    client: Option<PathBuf>,
    /// Keep a copy of the synced mirror here (to look into the local measures).
    #[arg(long)]
    keep_mirror: Option<PathBuf>,
    /// Where the run's JSON goes.
    #[arg(long, default_value = "target/bench/results.json")]
    json: PathBuf,
    /// Where the Markdown report goes.
    #[arg(long, default_value = "docs/BENCHMARKS.md")]
    markdown: PathBuf,
    /// Fail (exit 1) unless a figure holds: `NAME>=VALUE` or `NAME<VALUE`, NAME as printed (a
    /// regression guard on ratios against the run's own limits; repeat for several).
    #[arg(long)]
    guard: Vec<String>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Render the Markdown report from a saved run's JSON (to --markdown).
    Report {
        /// The run's JSON.
        json: PathBuf,
    },
}

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    if let Some(Command::Report { json }) = &cli.command {
        let run: Run = serde_json::from_str(
            &std::fs::read_to_string(json).with_context(|| format!("read {}", json.display()))?,
        )?;
        write(&cli.markdown, &run.markdown())?;
        println!("wrote {}", cli.markdown.display());
        return Ok(());
    }
    let wanted = |name: &str| cli.only.is_empty() || cli.only.iter().any(|o| o == name);
    let client = match &cli.client {
        Some(path) => path.clone(),
        None => std::env::current_exe()?.with_file_name("pms-client"),
    };
    if wanted("initial") && !client.exists() {
        bail!(
            "{} is missing: build it first (`cargo build --release -p pms-sync-client`, as scripts/bench does) or pass --client",
            client.display()
        );
    }

    let guards = cli
        .guard
        .iter()
        .map(|text| Guard::parse(text))
        .collect::<Result<Vec<_>>>()?;
    let world = fixture::build(cli.guests, cli.stays_per_guest, cli.other_tenants).await?;
    let postgres: String = sqlx::query_scalar("select version()")
        .fetch_one(&world.db.pool)
        .await?;
    let postgres = postgres
        .split(" on ")
        .next()
        .unwrap_or(&postgres)
        .to_owned();
    let mut run = Run {
        started_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        machine: Machine::this_one(postgres),
        dataset: world.dataset.clone(),
        figures: Vec::new(),
    };
    println!("{} rows in the benchmark tenant", run.rows());

    let dir = std::env::temp_dir().join(format!("pms-bench-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir)?;
    let result = measure_all(&world, &client, &dir, &wanted, &mut run).await;
    if let Some(keep) = &cli.keep_mirror {
        std::fs::copy(dir.join("synced.sqlite3"), keep).context("keep the mirror")?;
    }
    let _ = std::fs::remove_dir_all(&dir);
    result?;
    run.machine.load_at_end = report::load_average();

    println!("\n{}", run.table());
    write(&cli.json, &serde_json::to_string_pretty(&run)?)?;
    write(&cli.markdown, &run.markdown())?;
    println!(
        "wrote {} and {}",
        cli.json.display(),
        cli.markdown.display()
    );
    let broken: Vec<String> = guards
        .iter()
        .filter_map(|guard| guard.broken_by(&run))
        .collect();
    for guard in &guards {
        println!(
            "guard {}{}{}",
            guard.name, guard.target.op, guard.target.value
        );
    }
    if !broken.is_empty() {
        bail!("the regression guard failed:\n{}", broken.join("\n"));
    }
    Ok(())
}

/// A figure that must hold: the regression guard CI runs on a small tenant.
struct Guard {
    name: String,
    target: report::Target,
}

impl Guard {
    fn parse(text: &str) -> Result<Self> {
        let (name, target) = if let Some((name, value)) = text.split_once(">=") {
            (name, report::Target::at_least(value.trim().parse()?))
        } else if let Some((name, value)) = text.split_once('<') {
            (name, report::Target::below(value.trim().parse()?))
        } else {
            bail!("a guard is NAME>=VALUE or NAME<VALUE, not {text:?}");
        };
        Ok(Self {
            name: name.trim().to_owned(),
            target: target.context("a target")?,
        })
    }

    /// Why the run breaks this guard, if it does.
    fn broken_by(&self, run: &Run) -> Option<String> {
        match run.figures.iter().find(|figure| figure.name == self.name) {
            None => Some(format!("{:?} was not measured", self.name)),
            Some(figure) if !self.target.met_by(figure.value) => Some(format!(
                "{}: {} {}, not {} {}",
                self.name, figure.value, figure.unit, self.target.op, self.target.value
            )),
            Some(_) => None,
        }
    }
}

async fn measure_all(
    world: &fixture::World,
    client: &std::path::Path,
    dir: &std::path::Path,
    wanted: &dyn Fn(&str) -> bool,
    run: &mut Run,
) -> Result<()> {
    if wanted("initial") {
        println!("initial sync…");
        let mirror = initial_sync::measure(world, client, dir, run).await?;
        if wanted("apply") {
            println!("remote changes…");
            remote_apply::measure(world, &mirror, run).await?;
        }
        if wanted("local") {
            println!("local operations…");
            local_ops::measure(&mirror, run)?;
        }
    }
    if wanted("latency") {
        println!("laptop A to laptop B…");
        latency::measure(world, run).await?;
    }
    if wanted("push") {
        println!("push throughput…");
        push::measure(world, run).await?;
    }
    if wanted("rls") {
        println!("row level security…");
        rls::measure(world, run).await?;
    }
    if wanted("legacy") {
        println!("legacy search…");
        legacy::measure(world, run).await?;
    }
    if wanted("wakeup") {
        println!("long-poll wake-ups…");
        wakeup::measure(world, run).await?;
    }
    if wanted("jobs") {
        println!("a job and the desk…");
        job_vs_desk::measure(world, run).await?;
    }
    Ok(())
}

fn write(path: &std::path::Path, text: &str) -> Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(path, text).with_context(|| format!("write {}", path.display()))
}
