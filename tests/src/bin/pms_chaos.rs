//! `pms-chaos`: the fault campaign of issue 20. Runs seeded schedules of front-desk operations
//! and faults on 3–5 laptops against the real server (a process per seed) and a Postgres cluster
//! of the campaign's own (`initdb` in a temporary folder, restarted by the schedule), checks
//! each seed's history against the final databases, prints a summary table, shrinks each failing
//! seed to a shorter reproducer, and exits non-zero on any anomaly. See `docs/CHAOS.md`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use pms_tests::chaos::runner::{run_campaign, shrink, Config};

#[derive(Parser, Debug)]
#[command(
    name = "pms-chaos",
    about = "Seeded fault campaign with a history checker"
)]
struct Args {
    /// How many seeds to run (1..=N).
    #[arg(long, default_value_t = 20, conflicts_with = "seed")]
    seeds: u64,
    /// Run this one seed only (a reproducer).
    #[arg(long)]
    seed: Option<u64>,
    /// Front-desk operations per seed.
    #[arg(long, default_value_t = 150)]
    ops: usize,
    /// Laptops per seed (3 to 5).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u8).range(3..=5))]
    laptops: u8,
    /// Write each seed's history as JSON lines to DIR/seed-<seed>.jsonl.
    #[arg(long, value_name = "DIR")]
    history_dir: Option<PathBuf>,
    /// Seeds run side by side.
    #[arg(long, default_value_t = 4)]
    at_once: usize,
    /// Do not re-run failing seeds with fewer operations.
    #[arg(long)]
    no_shrink: bool,
    /// Leave these kinds of fault out of the schedules (comma-separated: partition,
    /// proxy_faults, kill_mid_sync, clock_jump, disk_full, kill_mid_snapshot, revoke_device,
    /// role_change, kill_server, restart_postgres, upgrade_app, prune_sync_state).
    #[arg(long, value_delimiter = ',', value_parser = clap::builder::PossibleValuesParser::new(pms_tests::chaos::schedule::FAULT_KINDS))]
    without: Vec<String>,
    /// The sync server's binary, run (and SIGKILLed) once per seed; default: the
    /// `pms-server-under-test` that `cargo build -p pms-tests --bins` puts beside this one.
    #[arg(long, value_name = "PATH")]
    server_binary: Option<PathBuf>,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> ExitCode {
    let args = Args::parse();
    let seeds: Vec<u64> = match args.seed {
        Some(seed) => vec![seed],
        None => (1..=args.seeds).collect(),
    };
    let config = Config {
        operations: args.ops,
        laptops: usize::from(args.laptops),
        history_dir: args.history_dir,
        at_once: args.at_once,
        server_program: args
            .server_binary
            .unwrap_or_else(pms_tests::chaos::runner::default_server_program),
        without: args.without.into_iter().collect(),
    };
    println!(
        "pms-chaos: {} seeds × {} operations on {} laptops, {} at once",
        seeds.len(),
        config.operations,
        config.laptops,
        config.at_once
    );
    let report = run_campaign(&seeds, &config).await;
    for seed in &report.seeds {
        println!(
            "seed {:>4}: {} operations, {} syncs ({} failed), {} conflicts shown, {} anomalies, {:.1} s",
            seed.seed,
            seed.operations,
            seed.syncs,
            seed.failed_syncs,
            seed.conflicts_shown,
            seed.anomalies.len(),
            seed.elapsed.as_secs_f64()
        );
    }
    println!("\n{report}");
    let mut failing: Vec<u64> = report.anomalies().map(|a| a.seed).collect();
    failing.dedup();
    if failing.is_empty() {
        return ExitCode::SUCCESS;
    }
    if !args.no_shrink {
        for seed in failing {
            let reproducer = shrink(seed, &config).await;
            println!("reproducer: {reproducer} --laptops {}", config.laptops);
        }
    }
    ExitCode::FAILURE
}
