//! `pms-server`: the central side's one binary. See `pms-server --help`.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use pms_server::{config, db, seed};

#[derive(Debug, Parser)]
#[command(
    name = "pms-server",
    version,
    about = "Central server of the offline-first PMS"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Apply the schema migrations and create the login role `serve` uses
    /// (PMS_ADMIN_DATABASE_URL; PMS_APP_ROLE, default pms_app; PMS_APP_PASSWORD where set).
    Migrate,
    /// Fill the database with deterministic demo data across every table (PMS_ADMIN_DATABASE_URL).
    SeedDemo(seed::SeedArgs),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return usage_error(error),
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx::postgres::notice=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Help and version go to stdout as usual; a bad flag becomes one line that says what to do.
fn usage_error(error: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        error.kind(),
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
    ) {
        let _ = error.print();
        return ExitCode::SUCCESS;
    }
    let rendered = error.render().to_string();
    let first_line = rendered
        .lines()
        .next()
        .unwrap_or("invalid arguments")
        .trim_start_matches("error: ");
    eprintln!("error: {first_line} (run `pms-server --help` for usage)");
    ExitCode::from(2)
}

async fn run(command: Command) -> pms_server::Result<()> {
    match command {
        Command::Migrate => {
            let role = config::app_role()?;
            let password = config::app_password();
            let pool = db::connect_admin(2).await?;
            let report = db::migrate(&pool, &role, password.as_ref()).await?;
            if report.applied.is_empty() {
                println!("schema is up to date");
            } else {
                println!(
                    "applied {} migration(s): {:?}",
                    report.applied.len(),
                    report.applied
                );
            }
            let verb = if report.app_role_created {
                "created"
            } else {
                "checked"
            };
            println!("login role for serve: {} ({verb})", report.app_role);
        }
        Command::SeedDemo(args) => {
            let options = args.into_options()?;
            let pool = db::connect_admin(2).await?;
            let summary = seed::seed_demo(&pool, &options).await?;
            println!("{summary}");
        }
    }
    Ok(())
}
