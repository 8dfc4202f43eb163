//! `pms-server`: the central side's one binary. See `pms-server --help`.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use pms_server::{admin, config, db, kv_import, seed, serve};

// The import maps and writes hundreds of thousands of small JSON values: mimalloc allocates them
// faster than the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    /// Run the sync server (DATABASE_URL as the serve login role, PMS_JWT_SECRET, PMS_LISTEN;
    /// PMS_METRICS_TOKEN to close /metrics). SIGTERM or Ctrl-C: finishes the requests in flight.
    Serve,
    /// Provision tenants (PMS_ADMIN_DATABASE_URL).
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Manage staff accounts (PMS_ADMIN_DATABASE_URL).
    #[command(subcommand)]
    Staff(StaffCommand),
    /// Manage signed-in devices (PMS_ADMIN_DATABASE_URL).
    #[command(subcommand)]
    Device(DeviceCommand),
    /// Run the background jobs (PMS_ADMIN_DATABASE_URL): webhooks, campaigns (PMS_MAIL_PROVIDER,
    /// PMS_SMTP_URL, PMS_MAIL_FROM, PMS_MAIL_FILE), retention, usage alerts, loyalty, billing.
    /// Any number of workers may run at once. PMS_METRICS_LISTEN serves /metrics; SIGTERM or
    /// Ctrl-C stops it between passes.
    Worker {
        /// One pass over every job, then exit (for cron or a test).
        #[arg(long)]
        once: bool,
    },
    /// Remove sync state (feed, push results) older than the retention period
    /// (PMS_ADMIN_DATABASE_URL). Laptops whose cursor is older re-snapshot, keeping their outbox.
    PruneSyncState {
        /// Days of sync state to keep.
        #[arg(long, default_value_t = admin::DEFAULT_SYNC_RETENTION_DAYS)]
        keep_days: u32,
    },
    /// Import the legacy key-value store (kv_store_0bdba248) into the tables, as the owner
    /// (PMS_ADMIN_DATABASE_URL); the store may live in another database (--source-url).
    KvImport(kv_import::cli::KvImportArgs),
    /// Print the HTTP API's OpenAPI document (what `serve` answers at /openapi.json); the
    /// committed copy is regenerated with `pms-server openapi > docs/openapi.json`.
    Openapi,
}

#[derive(Debug, Subcommand)]
enum TenantCommand {
    /// Create a tenant; prints its id.
    Create(admin::TenantCreate),
}

#[derive(Debug, Subcommand)]
enum StaffCommand {
    /// Add a staff account; the password comes from PMS_STAFF_PASSWORD (none: cannot sign in).
    Add(admin::StaffAdd),
    /// Set an account's password from PMS_STAFF_PASSWORD (never a flag, never printed).
    SetPassword {
        #[arg(long)]
        email: String,
    },
    /// Disable an account: its devices can no longer refresh or sync.
    Disable {
        #[arg(long)]
        email: String,
    },
    /// Enable a disabled account again (an owner's laptop may disable, never enable).
    Enable {
        #[arg(long)]
        email: String,
    },
    /// Change an account's role (owner, manager, front_desk, housekeeping); its laptops follow.
    SetRole {
        #[arg(long)]
        email: String,
        #[arg(long)]
        role: String,
    },
}

#[derive(Debug, Subcommand)]
enum DeviceCommand {
    /// Revoke one signed-in device.
    Revoke {
        #[arg(long)]
        id: uuid::Uuid,
    },
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return usage_error(error),
    };
    if let Err(error) = init_logging() {
        eprintln!("error: {error}");
        return ExitCode::from(2);
    }
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

/// Logs go to stderr, as text or, with `PMS_LOG_FORMAT=json`, as one JSON object a line (for a
/// log collector); `RUST_LOG` filters them.
fn init_logging() -> Result<(), String> {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "info,sqlx::postgres::notice=warn".into());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match std::env::var("PMS_LOG_FORMAT").as_deref() {
        Err(_) | Ok("" | "text") => builder.init(),
        Ok("json") => builder.json().flatten_event(true).init(),
        Ok(other) => {
            return Err(format!(
                "PMS_LOG_FORMAT is {other:?}: use text (the default) or json"
            ))
        }
    }
    Ok(())
}

/// `PMS_METRICS_LISTEN`: where the worker serves its metrics, if anywhere.
fn worker_metrics_listen() -> pms_server::Result<Option<std::net::SocketAddr>> {
    match std::env::var("PMS_METRICS_LISTEN") {
        Err(_) => Ok(None),
        Ok(text) if text.is_empty() => Ok(None),
        Ok(text) => text
            .parse()
            .map(Some)
            .map_err(|_| pms_server::Error::InvalidEnv {
                var: "PMS_METRICS_LISTEN",
                reason: format!("{text:?} is not an address:port"),
                hint: "use e.g. PMS_METRICS_LISTEN=127.0.0.1:9187, or leave it unset",
            }),
    }
}

/// Completes at SIGTERM (a service manager, a container's stop) or Ctrl-C.
async fn shutdown_signal() {
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot watch for SIGTERM; stop with Ctrl-C");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
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
        Command::Serve => {
            let config = serve::ServeConfig::from_env()?;
            let pool = db::connect(config::APP_URL_VAR, &config.database_url, 16).await?;
            let listener = tokio::net::TcpListener::bind(config.listen)
                .await
                .map_err(|e| {
                    pms_server::Error::Invalid(format!(
                        "cannot listen on {} ({e}): set PMS_LISTEN",
                        config.listen
                    ))
                })?;
            tracing::info!(address = %config.listen, "serving");
            serve::run(
                listener,
                serve::AppState::new(pool, &config.jwt_secret)
                    .with_max_clock_ahead_ms(config.max_clock_ahead_ms)
                    .with_metrics_token(config.metrics_token.clone()),
                shutdown_signal(),
            )
            .await?;
            tracing::info!("stopped");
        }
        Command::Tenant(TenantCommand::Create(args)) => {
            let pool = db::connect_admin(2).await?;
            println!("{}", admin::create_tenant(&pool, &args).await?);
        }
        Command::Staff(StaffCommand::Add(args)) => {
            let password = std::env::var("PMS_STAFF_PASSWORD")
                .ok()
                .filter(|p| !p.is_empty());
            let pool = db::connect_admin(2).await?;
            println!(
                "{}",
                admin::add_staff(&pool, &args, password.as_deref()).await?
            );
        }
        Command::Staff(StaffCommand::SetPassword { email }) => {
            let password = std::env::var("PMS_STAFF_PASSWORD").map_err(|_| {
                pms_server::Error::Invalid(
                    "PMS_STAFF_PASSWORD is not set: export the new password".to_owned(),
                )
            })?;
            let pool = db::connect_admin(2).await?;
            admin::set_staff_password(&pool, &email, &password).await?;
            println!("password set for {email}");
        }
        Command::Staff(StaffCommand::Disable { email }) => {
            let pool = db::connect_admin(2).await?;
            admin::disable_staff(&pool, &email).await?;
            println!("disabled {email}");
        }
        Command::Staff(StaffCommand::Enable { email }) => {
            let pool = db::connect_admin(2).await?;
            admin::enable_staff(&pool, &email).await?;
            println!("enabled {email}");
        }
        Command::Worker { once } => {
            let pool = db::connect_admin(4).await?;
            let mut config = pms_server::jobs::WorkerConfig {
                mailer: pms_server::jobs::mail::Mailer::from_env()?,
                ..Default::default()
            };
            if once {
                let http = reqwest::Client::new();
                let pass = pms_server::jobs::run_once(&pool, &http, &config).await;
                println!("{pass:#?}");
            } else {
                let (stop, stopped) = tokio::sync::watch::channel(false);
                if let Some(listen) = worker_metrics_listen()? {
                    let metrics = std::sync::Arc::new(Default::default());
                    config.metrics = Some(std::sync::Arc::clone(&metrics));
                    let listener = tokio::net::TcpListener::bind(listen).await.map_err(|e| {
                        pms_server::Error::Invalid(format!(
                            "cannot listen on {listen} ({e}): set PMS_METRICS_LISTEN"
                        ))
                    })?;
                    tracing::info!(address = %listen, "worker metrics at /metrics");
                    let mut stopped = stopped.clone();
                    tokio::spawn(pms_server::jobs::metrics::serve(
                        listener,
                        metrics,
                        async move {
                            let _ = stopped.wait_for(|stop| *stop).await;
                        },
                    ));
                }
                tracing::info!("worker started");
                pms_server::jobs::run(pool, config, shutdown_signal()).await?;
                stop.send_replace(true);
                drop(stopped);
                tracing::info!("worker stopped");
            }
        }
        Command::PruneSyncState { keep_days } => {
            let pool = db::connect_admin(2).await?;
            let pruned = admin::prune_sync_state(&pool, keep_days).await?;
            println!(
                "removed {} feed change(s) and {} push result(s) older than {keep_days} day(s)",
                pruned.changes, pruned.results
            );
        }
        Command::Staff(StaffCommand::SetRole { email, role }) => {
            let pool = db::connect_admin(2).await?;
            admin::set_staff_role(&pool, &email, &role).await?;
            println!("{email} is now {role}");
        }
        Command::KvImport(args) => kv_import::cli::main(args).await?,
        Command::Openapi => print!("{}", pms_server::openapi::to_pretty_json()),
        Command::Device(DeviceCommand::Revoke { id }) => {
            let pool = db::connect_admin(2).await?;
            admin::revoke_device(&pool, id).await?;
            println!("revoked {id}");
        }
    }
    Ok(())
}
