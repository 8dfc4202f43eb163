//! Retiring the store (`kv-import retire [--dry-run]`): the checks that say nobody needs it any
//! more, each with its reason; then an archive of it (gzip JSON lines, one `{"key", "value"}`
//! per record in key order, as `kv-import load` reads them back), the archive's SHA-256 printed
//! and kept, the store and the dual-write triggers dropped, and the retirement recorded in
//! `kv_import.retirements`.
//!
//! Reads of the store are measured by its scan counters (`pg_stat_user_tables`: seq_scan +
//! idx_scan), taken when a tenant is cut over and again after kv-import's own reads: anyone who
//! read the store since (the old panel, a report, a forgotten job) made them grow. Postgres
//! publishes a session's counters when its transaction ends (at most once a second) or when it
//! disconnects, so a read in the last seconds may not show yet.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use sqlx::PgPool;

use super::map::MapOptions;
use super::report::LedgerReport;
use super::source::Source;
use super::states::{self, State};
use super::{dual_write, verify};
use crate::error::{Error, Result};

/// What `kv-import retire` is asked to do.
#[derive(Debug, Clone)]
pub struct RetireOptions {
    /// Only run the checks.
    pub dry_run: bool,
    /// Where the archive goes (needed unless dry).
    pub archive: Option<PathBuf>,
    /// How long every tenant must have been out of dual-write.
    pub quiet_period: Duration,
    pub by: String,
    pub batch_size: i64,
    pub map: MapOptions,
}

/// One condition of the retirement and whether it holds.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Check {
    pub name: &'static str,
    pub ok: bool,
    pub detail: String,
}

/// What a retirement did.
#[derive(Debug, Clone)]
pub struct Retired {
    pub records: u64,
    pub archive: PathBuf,
    pub sha256: String,
}

/// The store's scan counters (seq_scan, idx_scan), from the store's database.
pub async fn read_counters(source: &Source) -> Result<(i64, i64)> {
    Ok(sqlx::query_as(
        "select coalesce(seq_scan, 0), coalesce(idx_scan, 0) from pg_stat_user_tables
          where relid = to_regclass($1)",
    )
    .bind(source.quoted_table())
    .fetch_optional(source.pool())
    .await?
    .unwrap_or((0, 0)))
}

/// The counters once `source`'s own reads are published: its connections are closed (a closed
/// session publishes its counters as it exits) and the counters read on a fresh connection.
pub async fn settled_counters(source: Source) -> Result<(i64, i64)> {
    let pool = source.pool().clone();
    let table = source.quoted_table().to_owned();
    drop(source);
    pool.close().await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let fresh = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect_with((*pool.connect_options()).clone())
        .await?;
    let counters = sqlx::query_as(
        "select coalesce(seq_scan, 0), coalesce(idx_scan, 0) from pg_stat_user_tables
          where relid = to_regclass($1)",
    )
    .bind(&table)
    .fetch_optional(&fresh)
    .await?
    .unwrap_or((0, 0));
    fresh.close().await;
    Ok(counters)
}

/// Records the counters after kv-import's own reads of the store (see [`settled_counters`]).
pub async fn record_own_reads(target: &PgPool, source: Source, reason: &str) -> Result<()> {
    let (seq, idx) = settled_counters(source).await?;
    sqlx::query(
        "insert into kv_import.store_reads (reason, seq_scan, idx_scan) values ($1, $2, $3)",
    )
    .bind(reason)
    .bind(seq)
    .bind(idx)
    .execute(target)
    .await?;
    Ok(())
}

/// The checks, in order; the store's reads first (before this command reads it).
pub async fn checks(
    target: &PgPool,
    source: &Source,
    options: &RetireOptions,
) -> Result<Vec<Check>> {
    let mut checks = vec![no_reads(target, source).await?];
    checks.push(every_tenant_cut_over(target, source).await?);
    checks.push(out_of_dual_write(target, options.quiet_period).await?);
    let mut ledger = LedgerReport::default();
    let verification =
        verify::verify(target, source, options.batch_size, options.map, &mut ledger).await?;
    let differing: Vec<String> = verification
        .tables
        .iter()
        .filter(|c| !c.holds())
        .map(|c| {
            format!(
                "{}: {} of {} records differ or are missing{}",
                c.table,
                c.store - c.equal - c.changed_since_cut_over,
                c.store,
                c.mismatches
                    .first()
                    .map(|m| format!(" (e.g. {m})"))
                    .unwrap_or_default()
            )
        })
        .collect();
    let changed: Vec<String> = verification
        .tables
        .iter()
        .filter(|c| c.changed_since_cut_over > 0)
        .map(|c| format!("{} {}", c.table, c.changed_since_cut_over))
        .collect();
    checks.push(Check {
        name: "verification",
        ok: verification.ok,
        detail: if verification.ok && changed.is_empty() {
            "every record of the store is in the tables as imported".to_owned()
        } else if verification.ok {
            format!(
                "every record of the store is in the tables as imported, or changed since cut-over by the desk: {}",
                changed.join(", ")
            )
        } else {
            format!("the tables differ from the store: {}", differing.join("; "))
        },
    });
    Ok(checks)
}

async fn no_reads(target: &PgPool, source: &Source) -> Result<Check> {
    let baseline: Option<(i64, i64, DateTime<Utc>, String)> = sqlx::query_as(
        "select seq_scan, idx_scan, taken_at, reason from kv_import.store_reads order by id desc limit 1",
    )
    .fetch_optional(target)
    .await?;
    let (seq, idx) = read_counters(source).await?;
    let check = |ok, detail| Check {
        name: "no reads since the cut-over",
        ok,
        detail,
    };
    Ok(match baseline {
        None => check(
            false,
            "no read counters were recorded: cut the tenants over with `kv-import state cut_over`".to_owned(),
        ),
        Some((base_seq, base_idx, at, reason)) if seq < base_seq || idx < base_idx => check(
            false,
            format!("the store's counters went back since {at} ({reason}): statistics were reset, so reads cannot be told; cut the last tenant over again (`kv-import state cut_over --force`) and wait"),
        ),
        Some((base_seq, base_idx, at, reason)) if seq + idx > base_seq + base_idx => check(
            false,
            format!(
                "the store was read since {at} ({reason}): {} sequential and {} index scans; find the reader (the old panel? pg_stat_activity, the server log with log_statement) before retiring",
                seq - base_seq,
                idx - base_idx
            ),
        ),
        Some((_, _, at, reason)) => check(true, format!("no scan of the store since {at} ({reason})")),
    })
}

async fn every_tenant_cut_over(target: &PgPool, source: &Source) -> Result<Check> {
    let known = states::all(target).await?;
    let not_yet: Vec<String> = source
        .tenants()
        .await?
        .into_iter()
        .filter_map(|t| {
            let state = known.get(&t.id).map_or(State::Legacy, |s| s.state);
            (state != State::CutOver).then(|| format!("{} ({state})", t.id))
        })
        .collect();
    Ok(Check {
        name: "every tenant cut over",
        ok: not_yet.is_empty(),
        detail: if not_yet.is_empty() {
            "every tenant of the store is cut_over".to_owned()
        } else {
            format!("not cut over yet: {}", not_yet.join(", "))
        },
    })
}

async fn out_of_dual_write(target: &PgPool, quiet: Duration) -> Result<Check> {
    let (in_dual_write, last): (i64, Option<DateTime<Utc>>) = sqlx::query_as(
        "select (select count(*) from kv_import.tenant_states where state = 'dual_write'),
                (select max(changed_at) from kv_import.tenant_state_changes where from_state = 'dual_write')",
    )
    .fetch_one(target)
    .await?;
    let since = last.map(|at| (Utc::now() - at).to_std().unwrap_or_default());
    let (ok, detail) = match (in_dual_write, since) {
        (n, _) if n > 0 => (false, format!("{n} tenants still in dual_write")),
        (_, Some(since)) if since < quiet => (
            false,
            format!(
                "the last tenant left dual-write {} ago, less than the quiet period of {}: the old panel may still need the store",
                human(since),
                human(quiet)
            ),
        ),
        (_, Some(since)) => (true, format!("the last tenant left dual-write {} ago", human(since))),
        (_, None) => (true, "no tenant was ever in dual-write".to_owned()),
    };
    Ok(Check {
        name: "dual-write off for the quiet period",
        ok,
        detail,
    })
}

/// A duration as `1d2h`, `5m`, `40s`.
pub fn human(duration: Duration) -> String {
    let mut secs = duration.as_secs();
    if secs == 0 {
        return "0s".to_owned();
    }
    let mut out = String::new();
    for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)] {
        if secs >= size {
            out.push_str(&format!("{}{unit}", secs / size));
            secs %= size;
        }
    }
    out
}

/// Parses `30s`, `15m`, `2h`, `7d` (or a sum such as `1d12h`).
pub fn parse_duration(text: &str) -> std::result::Result<Duration, String> {
    let mut total = 0u64;
    let mut number = String::new();
    for c in text.trim().chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let size = match c {
            's' => 1,
            'm' => 60,
            'h' => 3_600,
            'd' => 86_400,
            _ => return Err(format!("{text:?}: use a number and s, m, h or d (e.g. 7d)")),
        };
        let n: u64 = number
            .parse()
            .map_err(|_| format!("{text:?}: a unit needs a number before it (e.g. 7d)"))?;
        total = total.saturating_add(n.saturating_mul(size));
        number.clear();
    }
    if !number.is_empty() || text.trim().is_empty() {
        return Err(format!("{text:?}: give a unit (s, m, h or d), e.g. 7d"));
    }
    Ok(Duration::from_secs(total))
}

/// Writes the store to `path` as gzip JSON lines in key order; returns the records written and
/// the file's SHA-256 (hex).
pub async fn archive(source: &Source, path: &Path) -> Result<(u64, String)> {
    let cannot = |e: std::io::Error| {
        Error::Invalid(format!("cannot write the archive {}: {e}", path.display()))
    };
    if path.exists() {
        return Err(Error::Invalid(format!(
            "the archive {} exists already: choose another --archive (an archive is never overwritten)",
            path.display()
        )));
    }
    let file = std::fs::File::create(path).map_err(cannot)?;
    let mut gz = flate2::write::GzEncoder::new(
        std::io::BufWriter::new(file),
        flate2::Compression::default(),
    );
    let mut after = String::new();
    let mut records = 0u64;
    loop {
        let lines: Vec<(String, String)> = sqlx::query_as(&format!(
            "select key, jsonb_build_object('key', key, 'value', value::jsonb)::text from {} where key > $1 order by key limit 5000",
            source.quoted_table()
        ))
        .bind(&after)
        .fetch_all(source.pool())
        .await?;
        let Some((last, _)) = lines.last() else { break };
        after = last.clone();
        for (_, line) in &lines {
            gz.write_all(line.as_bytes()).map_err(cannot)?;
            gz.write_all(b"\n").map_err(cannot)?;
            records += 1;
        }
    }
    let mut buffered = gz.finish().map_err(cannot)?;
    buffered.flush().map_err(cannot)?;
    let file = buffered.into_inner().map_err(|e| cannot(e.into_error()))?;
    file.sync_all().map_err(cannot)?;
    let bytes = std::fs::read(path).map_err(cannot)?;
    Ok((records, hex::encode(Sha256::digest(&bytes))))
}

/// Archives and drops the store, drops the dual-write, records it. The checks must all hold.
pub async fn retire(
    target: &PgPool,
    source: Source,
    options: &RetireOptions,
    checks: &[Check],
) -> Result<Retired> {
    let failing: Vec<&str> = checks.iter().filter(|c| !c.ok).map(|c| c.name).collect();
    if !failing.is_empty() {
        return Err(Error::Invalid(format!(
            "the store cannot be retired: {} (see the checks above)",
            failing.join(", ")
        )));
    }
    let path = options.archive.clone().ok_or_else(|| {
        Error::Invalid("retiring needs --archive FILE (where the store's archive goes)".to_owned())
    })?;
    let (records, sha256) = archive(&source, &path).await?;
    // the triggers first (they write the store), then the store, then the record of it
    dual_write::set(target, dual_write::Switch::Off).await?;
    sqlx::query(&format!("drop table {}", source.quoted_table()))
        .execute(source.pool())
        .await?;
    sqlx::query(
        "insert into kv_import.retirements (retired_by, store_table, records, archive, archive_sha256, checks)
         values ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&options.by)
    .bind(&source.name)
    .bind(records as i64)
    .bind(path.display().to_string())
    .bind(&sha256)
    .bind(sqlx::types::Json(checks))
    .execute(target)
    .await?;
    Ok(Retired {
        records,
        archive: path,
        sha256,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_and_print() {
        assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(7 * 86_400)));
        assert_eq!(parse_duration("1d12h"), Ok(Duration::from_secs(129_600)));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
        for bad in ["", "7", "d", "7w", "-1d"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        assert_eq!(human(Duration::from_secs(90_061)), "1d1h1m1s");
    }
}
