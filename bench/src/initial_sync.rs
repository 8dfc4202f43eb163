//! The initial sync of the whole tenant through the real server by the real `pms-client`, its
//! peak memory, and in the same run the limit: the same rows read with `COPY … TO STDOUT` straight
//! from Postgres and inserted into an empty mirror in one SQLite transaction (no HTTP, no JSON, no
//! paging, no row-level security).

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use futures_util::StreamExt as _;
use pms_sync_client::mirror;
use pms_sync_protocol::tables::SYNCED_TABLES;
use pms_tests::laptops::PASSWORD;
use pms_tests::set_password;
use rusqlite::Connection;
use sqlx::Connection as _;

use crate::fixture::World;
use crate::report::{Figure, Run, Target};

const SECTION: &str = "Initial sync (whole tenant)";

/// Runs both and returns the synced mirror's path, for the local measures.
pub async fn measure(world: &World, client: &Path, dir: &Path, run: &mut Run) -> Result<PathBuf> {
    let email = world.staff(world.tenant, "front_desk", 0).await?;
    set_password(&world.db.pool, &email, PASSWORD).await;
    let mirror_path = dir.join("synced.sqlite3");

    let login = pms_client(client, &mirror_path)
        .args([
            "login",
            "--server",
            &world.server.base_url,
            "--email",
            &email,
        ])
        .output()
        .await
        .context("start pms-client login")?;
    if !login.status.success() {
        bail!(
            "pms-client login: {}",
            String::from_utf8_lossy(&login.stderr)
        );
    }
    let started = Instant::now();
    let mut sync = pms_client(client, &mirror_path)
        .arg("sync")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .context("start pms-client sync")?;
    let pid = sync.id().context("the sync's process id")?;
    let mut stderr = sync.stderr.take().context("the sync's stderr")?;
    let mut errors = String::new();
    let (status, peak_kib, ()) = tokio::join!(sync.wait(), peak_rss_kib(pid), async {
        use tokio::io::AsyncReadExt as _;
        let _ = stderr.read_to_string(&mut errors).await;
    });
    let sync_seconds = started.elapsed().as_secs_f64();
    if !status?.success() {
        bail!("pms-client sync: {errors}");
    }
    let peak_mib = peak_kib as f64 / 1024.0;
    let rows = mirror_rows(&Connection::open(&mirror_path)?)?;

    let limit_path = dir.join("limit.sqlite3");
    let started = Instant::now();
    let limit_rows = copy_into_sqlite(world, &limit_path).await?;
    let limit_seconds = started.elapsed().as_secs_f64();

    run.add(Figure {
        section: SECTION.to_owned(),
        name: format!("pms-client sync of {rows} rows"),
        value: sync_seconds,
        unit: "s".to_owned(),
        target: Target::below(30.0),
        how: "the real client binary against the real server over HTTP, snapshot pages of 1,000"
            .to_owned(),
    });
    run.add(Figure {
        section: SECTION.to_owned(),
        name: format!("limit: COPY TO STDOUT into SQLite, {limit_rows} rows"),
        value: limit_seconds,
        unit: "s".to_owned(),
        target: None,
        how: "Postgres COPY text straight into one SQLite transaction, in this process".to_owned(),
    });
    run.add(Figure {
        section: SECTION.to_owned(),
        name: "sync speed as a share of the limit".to_owned(),
        value: limit_seconds / sync_seconds * 100.0,
        unit: "%".to_owned(),
        target: Target::at_least(60.0),
        how: "limit time / sync time".to_owned(),
    });
    run.add(Figure {
        section: SECTION.to_owned(),
        name: "sync throughput".to_owned(),
        value: rows as f64 / sync_seconds,
        unit: "rows/s".to_owned(),
        target: None,
        how: String::new(),
    });
    run.add(Figure {
        section: SECTION.to_owned(),
        name: "client peak memory during the sync".to_owned(),
        value: peak_mib,
        unit: "MiB".to_owned(),
        target: Target::below(200.0),
        how:
            "the pms-client process's high-water mark of resident memory (VmHWM), read every 20 ms"
                .to_owned(),
    });
    Ok(mirror_path)
}

/// The process's resident-memory high-water mark (VmHWM, KiB), read until the process is gone.
/// The kernel keeps the mark, so the last reading is the peak up to that moment. (getrusage of
/// children would not do: a child spawned with vfork shares the bench's memory until it execs,
/// and reports the bench's own size.)
async fn peak_rss_kib(pid: u32) -> u64 {
    let mut peak = 0;
    loop {
        let Ok(status) = tokio::fs::read_to_string(format!("/proc/{pid}/status")).await else {
            return peak;
        };
        match status
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))
            .and_then(|rest| rest.split_whitespace().next()?.parse::<u64>().ok())
        {
            Some(kib) => peak = peak.max(kib),
            // a zombie has no memory lines left: it has finished
            None => return peak,
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

fn pms_client(binary: &Path, mirror: &Path) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(binary);
    command
        .arg("--db")
        .arg(mirror)
        .env("PMS_PASSWORD", PASSWORD)
        .env("RUST_LOG", "warn");
    command
}

/// Rows held in the mirror's synced tables.
fn mirror_rows(conn: &Connection) -> Result<u64> {
    let mut rows = 0u64;
    for table in SYNCED_TABLES {
        let count: i64 =
            conn.query_row(&format!("select count(*) from {}", table.name), [], |r| {
                r.get(0)
            })?;
        rows += count as u64;
    }
    Ok(rows)
}

/// The limit: every synced table's rows of the tenant (and the platform rows it may read), as
/// COPY text, inserted into a fresh mirror's tables in one transaction.
async fn copy_into_sqlite(world: &World, path: &Path) -> Result<u64> {
    let mut conn = mirror::open(path)?;
    let mut pg = sqlx::PgConnection::connect(&world.db.url()).await?;
    let tx = conn.transaction()?;
    let mut rows = 0u64;
    for table in SYNCED_TABLES {
        let local: Vec<String> = mirror::columns(&tx, table.name)?
            .iter()
            .map(|(name, _)| name.clone())
            .collect();
        let columns: Vec<&str> = table
            .columns
            .iter()
            .copied()
            .filter(|c| local.iter().any(|l| l == c))
            .collect();
        let filter = if table.name == "tenants" {
            format!("id = '{}'", world.tenant)
        } else if table.columns.contains(&"tenant_id") {
            format!("tenant_id = '{0}' or tenant_id is null", world.tenant)
        } else {
            "true".to_owned()
        };
        let copy = format!(
            "copy (select {} from public.{} where {filter}) to stdout",
            columns.join(", "),
            table.name
        );
        let placeholders = vec!["?"; columns.len()].join(", ");
        let mut insert = tx.prepare(&format!(
            "insert or replace into {} ({}) values ({placeholders})",
            table.name,
            columns.join(", ")
        ))?;
        let mut stream = pg.copy_out_raw(&copy).await?;
        let mut pending = Vec::new();
        while let Some(chunk) = stream.next().await {
            pending.extend_from_slice(&chunk?);
            let mut start = 0;
            while let Some(end) = pending[start..].iter().position(|b| *b == b'\n') {
                let line = &pending[start..start + end];
                let values = decode_copy_line(line);
                insert.execute(rusqlite::params_from_iter(values.iter()))?;
                rows += 1;
                start += end + 1;
            }
            pending.drain(..start);
        }
    }
    tx.commit()?;
    Ok(rows)
}

/// One line of COPY's text format: tab-separated fields, `\N` for NULL, backslash escapes.
fn decode_copy_line(line: &[u8]) -> Vec<Option<String>> {
    line.split(|b| *b == b'\t')
        .map(|field| {
            if field == b"\\N" {
                return None;
            }
            let mut out = Vec::with_capacity(field.len());
            let mut bytes = field.iter();
            while let Some(&b) = bytes.next() {
                if b != b'\\' {
                    out.push(b);
                    continue;
                }
                match bytes.next() {
                    Some(b't') => out.push(b'\t'),
                    Some(b'n') => out.push(b'\n'),
                    Some(b'r') => out.push(b'\r'),
                    Some(&other) => out.push(other),
                    None => {}
                }
            }
            Some(String::from_utf8_lossy(&out).into_owned())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::decode_copy_line;

    #[test]
    fn copy_text_fields_are_unescaped() {
        let fields = decode_copy_line(b"a\\tb\t\\N\tline\\nnext\tback\\\\slash");
        assert_eq!(
            fields,
            vec![
                Some("a\tb".to_owned()),
                None,
                Some("line\nnext".to_owned()),
                Some("back\\slash".to_owned())
            ]
        );
    }
}
