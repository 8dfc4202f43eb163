//! The command line of `pms-server kv-import`: connecting both databases, the dual-write switch,
//! printing the report.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::decode::SlashDates;
use super::dual_write::{self, Switch};
use super::map::MapOptions;
use super::report::Report;
use super::source::{Source, DEFAULT_TABLE};
use super::ImportOptions;
use crate::config;
use crate::db;
use crate::error::{Error, RedactedUrl, Result};

/// `pms-server kv-import`.
#[derive(Debug, Clone, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct KvImportArgs {
    #[command(subcommand)]
    pub command: Option<KvCommand>,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Debug, Clone, Subcommand)]
pub enum KvCommand {
    /// Load a dump (JSON lines: {"key": …, "value": …}, as gen_kv.py writes) into the store
    /// table, creating it where absent; a key already there gets the dump's value.
    Load {
        /// The dump file ("-" for standard input).
        file: PathBuf,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Debug, Clone, Args)]
pub struct StoreArgs {
    /// The database that holds the legacy store (default: PMS_ADMIN_DATABASE_URL, the
    /// database of the tables).
    #[arg(long, env = "PMS_KV_SOURCE_URL", hide_env_values = true)]
    pub source_url: Option<String>,
    /// The store table, optionally schema-qualified.
    #[arg(long, default_value = DEFAULT_TABLE)]
    pub store_table: String,
}

#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// Records per batch; each batch is one transaction.
    #[arg(long, default_value_t = 1000)]
    pub batch_size: usize,
    /// How to read NN/NN/YYYY dates where both numbers could be the month: refuse (quarantine
    /// the record), dmy or mdy.
    #[arg(long, value_enum, default_value_t = SlashDates::Refuse)]
    pub slash_dates: SlashDates,
    /// Also write the report as JSON to this file.
    #[arg(long)]
    pub report_json: Option<PathBuf>,
    /// Skip the verification pass.
    #[arg(long)]
    pub no_verify: bool,
    /// on: write guests and reservations back to the store from now on (switched on before the
    /// import); off: stop writing back (after a last import), when the store is retired.
    /// Needs the store in the database of the tables.
    #[arg(long, value_enum)]
    pub dual_write: Option<Switch>,
}

/// Runs `pms-server kv-import …`.
pub async fn main(args: KvImportArgs) -> Result<()> {
    match args.command {
        Some(KvCommand::Load { file, store }) => load(&file, &store).await,
        None => import(args.run).await,
    }
}

async fn open_source(store: &StoreArgs, admin_url: &str) -> Result<Source> {
    let (var, url) = match &store.source_url {
        Some(url) => ("--source-url", url.clone()),
        None => (config::ADMIN_URL_VAR, admin_url.to_owned()),
    };
    let pool = db::connect(var, &url, 4).await?;
    Source::open(pool, RedactedUrl::new(&url), &store.store_table).await
}

async fn load(file: &PathBuf, store: &StoreArgs) -> Result<()> {
    let admin_url = config::admin_database_url()?;
    let url = store.source_url.clone().unwrap_or(admin_url);
    let var = if store.source_url.is_some() {
        "--source-url"
    } else {
        config::ADMIN_URL_VAR
    };
    let pool = db::connect(var, &url, 2).await?;
    let loaded = if file.as_os_str() == "-" {
        super::load::load_jsonl(&pool, &store.store_table, std::io::stdin().lock()).await?
    } else {
        let opened = std::fs::File::open(file)
            .map_err(|e| Error::Invalid(format!("cannot open the dump {}: {e}", file.display())))?;
        super::load::load_jsonl(&pool, &store.store_table, std::io::BufReader::new(opened)).await?
    };
    println!(
        "loaded {loaded} records into {} in {}",
        store.store_table,
        RedactedUrl::new(&url)
    );
    Ok(())
}

async fn import(args: RunArgs) -> Result<()> {
    let admin_url = config::admin_database_url()?;
    let target = db::connect_admin(6).await?;
    let source = open_source(&args.store, &admin_url).await?;
    if args.dual_write == Some(Switch::On) {
        dual_write::set(&target, Switch::On).await?;
    }
    let options = ImportOptions {
        batch_size: args.batch_size,
        map: MapOptions {
            slash_dates: args.slash_dates,
        },
        verify: !args.no_verify,
    };
    let report = super::run(&target, &RedactedUrl::new(&admin_url), &source, &options).await?;
    if args.dual_write == Some(Switch::Off) {
        dual_write::set(&target, Switch::Off).await?;
    }
    println!("{report}");
    println!(
        "dual-write: {}",
        if dual_write::is_on(&target).await? {
            "on (guests and reservations are written back to the store)"
        } else {
            "off"
        }
    );
    if let Some(path) = &args.report_json {
        write_json(path, &report)?;
    }
    if report.totals.quarantined > 0 {
        eprintln!(
            "warning: {} records quarantined (see the report and kv_import.import_quarantine)",
            report.totals.quarantined
        );
    }
    if !report.accounted {
        return Err(Error::Invalid(
            "not every record is accounted for (the store changed during the import?): run it again".to_owned(),
        ));
    }
    if report.verification.as_ref().is_some_and(|v| !v.ok) {
        return Err(Error::Invalid(
            "the verification found differences between the store and the tables (listed above)"
                .to_owned(),
        ));
    }
    Ok(())
}

fn write_json(path: &PathBuf, report: &Report) -> Result<()> {
    let text = serde_json::to_string_pretty(report)
        .map_err(|e| Error::Invalid(format!("cannot encode the report: {e}")))?;
    std::fs::write(path, text + "\n")
        .map_err(|e| Error::Invalid(format!("cannot write {}: {e}", path.display())))
}
