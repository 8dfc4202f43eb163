//! `pms-client`: the sync client without a window, for operations, scripts and tests.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use clap::{Parser, Subcommand};
use pms_sync_client::engine::{remember_session, sync_once};
use pms_sync_client::remote::Remote;
use pms_sync_client::session_file::{self, StoredSession};
use pms_sync_client::{mirror, outbox, Error};

#[derive(Debug, Parser)]
#[command(
    name = "pms-client",
    version,
    about = "Headless sync client of the offline-first PMS"
)]
struct Cli {
    /// The local mirror (SQLite); created on first use.
    #[arg(long, env = "PMS_CLIENT_DB", default_value = "pms-mirror.sqlite3")]
    db: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create (or migrate) the local mirror.
    Init,
    /// Sign in to a server; the password comes from PMS_PASSWORD.
    Login {
        #[arg(long)]
        server: String,
        #[arg(long)]
        email: String,
        #[arg(long, default_value = "pms-client")]
        device_name: String,
    },
    /// Push the outbox and pull the feed, once or continuously.
    Sync {
        /// Keep syncing, waiting this many seconds between rounds (backing off after failures).
        #[arg(long)]
        every: Option<u64>,
    },
    /// Changes waiting, conflicts open, the pull cursor.
    Status,
    /// Issue a guest invoice of a stay's guest folio, numbered in this laptop's series (works
    /// offline). With `--charge`, first post that charge (minor units) as an extra.
    Invoice {
        #[arg(long)]
        reservation: uuid::Uuid,
        #[arg(long)]
        charge: Option<i64>,
        #[arg(long, default_value = "Extra")]
        description: String,
    },
    /// Book a room for a guest (works offline: the server judges it at the next sync); prints
    /// the room and the booking's id.
    Book {
        #[arg(long)]
        guest: String,
        /// The room number; without it, the first room free on those nights.
        #[arg(long)]
        room: Option<String>,
        /// Arrival date (YYYY-MM-DD).
        #[arg(long)]
        from: chrono::NaiveDate,
        #[arg(long, default_value_t = 1)]
        nights: u32,
    },
    /// List bookings whose guest name contains the text: number (or "pending"), guest, room,
    /// dates, status, id; tab-separated.
    Bookings {
        #[arg(long, default_value = "")]
        guest: String,
    },
    /// The conflicts inbox.
    #[command(subcommand)]
    Conflicts(ConflictsCommand),
}

#[derive(Debug, Subcommand)]
enum ConflictsCommand {
    /// List open conflicts.
    List,
    /// Resolve one: keep the server's version, or write mine again as a new change.
    Resolve {
        id: i64,
        #[arg(long, value_parser = ["mine", "theirs"])]
        keep: String,
    },
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error)
            if matches!(
                error.kind(),
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion
            ) =>
        {
            let _ = error.print();
            return ExitCode::SUCCESS;
        }
        Err(error) => {
            let rendered = error.render().to_string();
            let first = rendered
                .lines()
                .next()
                .unwrap_or("invalid arguments")
                .trim_start_matches("error: ")
                .to_owned();
            eprintln!("error: {first} (run `pms-client --help` for usage)");
            return ExitCode::from(2);
        }
    };
    // Two workers: the next snapshot page is fetched while the current one is written.
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let mut conn = mirror::open(&cli.db)?;
    match cli.command {
        Command::Init => println!("mirror ready at {}", cli.db.display()),
        Command::Login {
            server,
            email,
            device_name,
        } => {
            let password = std::env::var("PMS_PASSWORD").map_err(|_| {
                anyhow::anyhow!("PMS_PASSWORD is not set: export the password (it is never a flag)")
            })?;
            let mut remote = Remote::new(server.trim_end_matches('/'));
            let session = remote.login(&email, &password, &device_name).await?;
            remember_session(&mut conn, session.tenant_id)?;
            session_file::save(
                &cli.db,
                &StoredSession {
                    server: server.trim_end_matches('/').to_owned(),
                    device_id: session.device_id,
                    refresh_token: session.refresh_token,
                },
            )?;
            println!(
                "signed in as {} ({}) of tenant {}",
                email, session.staff_role, session.tenant_id
            );
        }
        Command::Sync { every } => {
            let period = Duration::from_secs(every.unwrap_or(0).max(1));
            // While offline, wait longer after each failed round (from twice the period up to
            // five minutes); a round that works goes back to the period.
            let offline_waits = || {
                ExponentialBuilder::new()
                    .with_min_delay(period * 2)
                    .with_max_delay(Duration::from_secs(300).max(period))
                    .without_max_times()
                    .build()
            };
            let mut waits = offline_waits();
            loop {
                let wait = match sync_round(&cli.db, &mut conn).await {
                    Ok(report) => {
                        println!(
                            "pushed {}, rejected {}, pulled {}",
                            report.pushed, report.rejected, report.pulled
                        );
                        waits = offline_waits();
                        period
                    }
                    Err(error) if every.is_some() && error.is_transient() => {
                        eprintln!("offline ({error}); retrying");
                        waits.next().unwrap_or(period)
                    }
                    Err(error) => return Err(error.into()),
                };
                match every {
                    Some(_) => tokio::time::sleep(wait).await,
                    None => break,
                }
            }
        }
        Command::Status => {
            let waiting = outbox::entries(&conn, false)?.len();
            let conflicts: i64 = conn.query_row(
                "select count(*) from conflicts where resolved_at is null",
                [],
                |r| r.get(0),
            )?;
            let seq = mirror::state(&conn, "cursor_seq")?.unwrap_or_else(|| "0".to_owned());
            println!(
                "changes waiting: {waiting}\nconflicts open: {conflicts}\npulled up to: {seq}"
            );
        }
        Command::Invoice {
            reservation,
            charge,
            description,
        } => {
            use pms_sync_client::{folio, guest_invoice};
            if let Some(price) = charge {
                folio::post_charge(
                    &mut conn,
                    &folio::Charge {
                        reservation_id: reservation,
                        description: &description,
                        unit_price_minor: price,
                        quantity: 1,
                        charge_type: "other",
                        ..folio::Charge::default()
                    },
                )?;
            }
            let device = session_file::load(&cli.db)?.map(|s| s.device_id);
            let invoice = guest_invoice::issue(
                &mut conn,
                reservation,
                None,
                device,
                None,
                chrono::Utc::now(),
            )?;
            println!(
                "issued {} total {}",
                invoice.number_label,
                pms_sync_protocol::money::format_minor(invoice.total_minor, &invoice.currency)
            );
        }
        Command::Book {
            guest,
            room,
            from,
            nights,
        } => {
            let until = from + chrono::Days::new(u64::from(nights.max(1)));
            let booked =
                pms_sync_client::booking::book(&mut conn, &guest, room.as_deref(), from, until)?;
            println!(
                "booked room {} of {} for {guest} from {from} to {until}, total {}, id {}",
                booked.room,
                booked.property,
                pms_sync_protocol::money::format_minor(booked.total_minor, &booked.currency),
                booked.id
            );
        }
        Command::Bookings { guest } => {
            for b in pms_sync_client::booking::bookings(&conn, &guest)? {
                let number = b
                    .confirmation_number
                    .map_or_else(|| "pending".to_owned(), |n| n.to_string());
                println!(
                    "{number}\t{}\t{}\t{}\t{}\t{}\t{}",
                    b.guest_name,
                    b.room.as_deref().unwrap_or("-"),
                    b.check_in,
                    b.check_out,
                    b.status,
                    b.id
                );
            }
        }
        Command::Conflicts(ConflictsCommand::List) => {
            let mut statement = conn.prepare(
                "select id, table_name, row_id, reason, coalesce(message, '') from conflicts where resolved_at is null order by id",
            )?;
            let rows = statement.query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                ))
            })?;
            for row in rows {
                let (id, table, row_id, reason, message) = row?;
                println!("{id}\t{table}\t{row_id}\t{reason}\t{message}");
            }
        }
        Command::Conflicts(ConflictsCommand::Resolve { id, keep }) => {
            let resolution = if keep == "mine" {
                pms_sync_client::conflicts::Resolution::KeepMine
            } else {
                pms_sync_client::conflicts::Resolution::KeepTheirs
            };
            pms_sync_client::conflicts::resolve(&mut conn, id, resolution)?;
            println!("conflict {id} resolved ({keep})");
        }
    }
    Ok(())
}

/// One round with the stored session: refresh the tokens, then sync.
async fn sync_round(
    db: &std::path::Path,
    conn: &mut rusqlite::Connection,
) -> Result<pms_sync_client::engine::SyncReport, Error> {
    let stored = session_file::load(db)?.ok_or(Error::NotSignedIn)?;
    let mut remote = Remote::new(stored.server.clone());
    let session = remote
        .refresh(stored.device_id, &stored.refresh_token)
        .await?;
    session_file::save(
        db,
        &StoredSession {
            refresh_token: session.refresh_token.clone(),
            ..stored
        },
    )?;
    // A line for each commit: what a crash (or a kill) now would keep.
    pms_sync_client::engine::initial_sync(conn, &remote, |progress| {
        if progress.committed {
            eprintln!(
                "initial sync: {} ({}/{} tables, {} rows)",
                progress.table, progress.tables_done, progress.tables_total, progress.rows
            );
        }
        true
    })
    .await?;
    sync_once(conn, &remote).await
}
