//! The command line of `pms-server kv-import`: connecting both databases, the dual-write switch,
//! printing the report; the tenants' states (`status`, `state`) and the store's retirement
//! (`retire`).

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::decode::SlashDates;
use super::dual_write::{self, Switch};
use super::map::MapOptions;
use super::report::Report;
use super::retire::{self, RetireOptions};
use super::source::{Source, DEFAULT_TABLE};
use super::states::{self, State};
use super::{ImportOptions, Tenants};
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
    /// A table of the store's tenants: state, since when and by whom, records in the store,
    /// rows in the tables, records quarantined.
    Status {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Moves tenants to another state: dual_write (the store follows their writes), cut_over
    /// (the store no longer does), imported (stop writing back) or legacy (roll back: laptops
    /// are refused again).
    State {
        #[arg(value_enum)]
        to: State,
        /// The tenant (legacy id or subdomain); repeatable.
        #[arg(long = "tenant", required = true)]
        tenants: Vec<String>,
        /// Move a tenant that is cut over.
        #[arg(long)]
        force: bool,
        /// Who does it (default: the login name).
        #[arg(long)]
        by: Option<String>,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Retires the store: checks that nobody needs it, archives it (gzip JSON lines, SHA-256
    /// printed), drops it and the dual-write triggers.
    Retire {
        /// Only run the checks and say which fail.
        #[arg(long)]
        dry_run: bool,
        /// Where the archive goes (it must not exist).
        #[arg(long, required_unless_present = "dry_run")]
        archive: Option<PathBuf>,
        /// How long every tenant must have been out of dual-write (s, m, h, d).
        #[arg(long, default_value = "7d", value_parser = retire::parse_duration)]
        quiet_period: std::time::Duration,
        /// Who does it (default: the login name).
        #[arg(long)]
        by: Option<String>,
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
    /// When standard error is not a terminal, how often each prefix under way logs its
    /// progress (records done of total, rate, time left) (s, m, h, d).
    #[arg(long, default_value = "10s", value_parser = retire::parse_duration)]
    pub progress_every: std::time::Duration,
    /// on: write the rows of tenants in dual_write (`kv-import state dual_write`) back to the
    /// store from now on (switched on before the import); off: stop writing back. Needs the
    /// store in the database of the tables.
    #[arg(long, value_enum)]
    pub dual_write: Option<Switch>,
    /// Import only this tenant (legacy id or subdomain); repeatable. Without it, every tenant.
    #[arg(long = "tenant")]
    pub tenants: Vec<String>,
    /// Import tenants already cut over again (their desk's work is overwritten by the store's).
    #[arg(long)]
    pub force: bool,
    /// Who runs the import (default: the login name), kept with the tenants' states.
    #[arg(long)]
    pub by: Option<String>,
}

/// Runs `pms-server kv-import …`.
pub async fn main(args: KvImportArgs) -> Result<()> {
    match args.command {
        Some(KvCommand::Load { file, store }) => load(&file, &store).await,
        Some(KvCommand::Status { store }) => status(&store).await,
        Some(KvCommand::State {
            to,
            tenants,
            force,
            by,
            store,
        }) => {
            set_state(
                to,
                &tenants,
                force,
                &states::operator(by.as_deref()),
                &store,
            )
            .await
        }
        Some(KvCommand::Retire {
            dry_run,
            archive,
            quiet_period,
            by,
            store,
        }) => {
            let options = RetireOptions {
                dry_run,
                archive,
                quiet_period,
                by: states::operator(by.as_deref()),
                batch_size: 1000,
                map: MapOptions::default(),
            };
            retire_store(&store, &options).await
        }
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
        let mut reader = std::io::BufReader::new(opened);
        // an archive of `kv-import retire` is gzip
        let gzip = std::io::BufRead::fill_buf(&mut reader)
            .map_err(|e| Error::Invalid(format!("cannot read the dump {}: {e}", file.display())))?
            .starts_with(&[0x1f, 0x8b]);
        if gzip {
            let decoder = flate2::bufread::MultiGzDecoder::new(reader);
            super::load::load_jsonl(&pool, &store.store_table, std::io::BufReader::new(decoder))
                .await?
        } else {
            super::load::load_jsonl(&pool, &store.store_table, reader).await?
        }
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
        progress: super::progress::Display::detect(),
        progress_every: args.progress_every,
    };
    let tenants = Tenants {
        named: args.tenants.clone(),
        force: args.force,
        by: states::operator(args.by.as_deref()),
    };
    let report = super::import_tenants(
        &target,
        &RedactedUrl::new(&admin_url),
        source,
        &options,
        &tenants,
    )
    .await?;
    if args.dual_write == Some(Switch::Off) {
        dual_write::set(&target, Switch::Off).await?;
    }
    println!("{report}");
    println!(
        "dual-write: {}",
        if dual_write::is_on(&target).await? {
            "on (the rows of tenants in dual_write are written back to the store)"
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

async fn status(store: &StoreArgs) -> Result<()> {
    let admin_url = config::admin_database_url()?;
    let target = db::connect_admin(2).await?;
    let source = open_source(store, &admin_url).await?;
    let store_tenants = source.tenants().await?;
    let ids: Vec<String> = store_tenants.iter().map(|t| t.id.clone()).collect();
    states::register(&target, &ids, "kv-import status").await?;
    let scope = source.scope_for(ids.clone()).await?;
    let records = source.records_per_tenant(&scope).await?;
    let known = states::all(&target).await?;
    let rows = states::rows_per_tenant(&target).await?;
    let mut quarantined: std::collections::BTreeMap<Option<String>, i64> = Default::default();
    let held: Vec<(String, String)> =
        sqlx::query_as("select key, value from kv_import.import_quarantine")
            .fetch_all(&target)
            .await?;
    for (key, value) in held {
        *quarantined
            .entry(scope.tenant_of(&key, &value))
            .or_default() += 1;
    }
    let mut lines = vec![[
        "tenant",
        "subdomain",
        "state",
        "since",
        "by",
        "store records",
        "rows",
        "quarantined",
    ]
    .map(str::to_owned)];
    for tenant in &store_tenants {
        let state = known.get(&tenant.id);
        let id = Some(tenant.id.clone());
        lines.push([
            tenant.id.clone(),
            tenant.subdomain.clone().unwrap_or_default(),
            state.map_or(State::Legacy, |s| s.state).to_string(),
            state.map_or(String::new(), |s| {
                s.changed_at.format("%Y-%m-%d %H:%M").to_string()
            }),
            state.map_or(String::new(), |s| s.changed_by.clone()),
            records.get(&id).copied().unwrap_or(0).to_string(),
            rows.get(&tenant.id).copied().unwrap_or(0).to_string(),
            quarantined.get(&id).copied().unwrap_or(0).to_string(),
        ]);
    }
    lines.push([
        "(platform)".to_owned(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        records.get(&None).copied().unwrap_or(0).to_string(),
        String::new(),
        quarantined.get(&None).copied().unwrap_or(0).to_string(),
    ]);
    print!("{}", table(&lines));
    if known.values().any(|s| s.state == State::CutOver) {
        // this command's own reads are not somebody else's (see `retire`)
        retire::record_own_reads(&target, source, "kv-import status").await?;
    }
    Ok(())
}

/// Aligned columns, numbers to the right.
fn table(lines: &[[String; 8]]) -> String {
    let mut widths = [0usize; 8];
    for line in lines {
        for (w, cell) in widths.iter_mut().zip(line) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for line in lines {
        let cells: Vec<String> = line
            .iter()
            .zip(widths)
            .enumerate()
            .map(|(i, (cell, w))| {
                if i >= 5 {
                    format!("{cell:>w$}")
                } else {
                    format!("{cell:<w$}")
                }
            })
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

async fn set_state(
    to: State,
    named: &[String],
    force: bool,
    by: &str,
    store: &StoreArgs,
) -> Result<()> {
    let admin_url = config::admin_database_url()?;
    let target = db::connect_admin(2).await?;
    let source = open_source(store, &admin_url).await?;
    let store_tenants = source.tenants().await?;
    let ids: Vec<String> = store_tenants.iter().map(|t| t.id.clone()).collect();
    states::register(&target, &ids, by).await?;
    let chosen = states::resolve(named, &store_tenants)?;
    // the counters once this command's own read of the store is published
    let counters = if to == State::CutOver {
        Some(retire::settled_counters(source).await?)
    } else {
        None
    };
    for tenant in chosen {
        let from = states::set(&target, &tenant, to, by, force, counters).await?;
        println!("{tenant}: {from} → {to} (by {by})");
    }
    Ok(())
}

async fn retire_store(store: &StoreArgs, options: &RetireOptions) -> Result<()> {
    let admin_url = config::admin_database_url()?;
    let target = db::connect_admin(4).await?;
    let source = open_source(store, &admin_url).await?;
    let checks = retire::checks(&target, &source, options).await?;
    for check in &checks {
        println!(
            "{} {}: {}",
            if check.ok { "ok  " } else { "FAIL" },
            check.name,
            check.detail
        );
    }
    let failing = checks.iter().filter(|c| !c.ok).count();
    if options.dry_run || failing > 0 {
        // the checks read the store: those reads are not somebody else's
        retire::record_own_reads(&target, source, "kv-import retire checks").await?;
        if failing > 0 {
            return Err(Error::Invalid(format!(
                "the store cannot be retired: {failing} of {} checks fail (listed above)",
                checks.len()
            )));
        }
        println!("dry run: every check holds; run again without --dry-run to retire the store");
        return Ok(());
    }
    let retired = retire::retire(&target, source, options, &checks).await?;
    println!(
        "retired {}: {} records archived to {}\nsha256 {}",
        store.store_table,
        retired.records,
        retired.archive.display(),
        retired.sha256
    );
    Ok(())
}
