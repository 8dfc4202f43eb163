//! Loading a dump of the legacy store (JSON lines, `{"key": …, "value": …}` per line, as
//! `gen_kv.py` writes them) into the store table: `pms-server kv-import load FILE`, the tests and
//! the benchmark. Streams with `COPY` in chunks through a staging table, so memory stays flat
//! and a key already in the store gets the dump's value.

use std::io::BufRead;

use sqlx::{Connection, PgConnection, PgPool};

use super::source::quote_table;
use crate::error::{Error, Result};

/// Lines per COPY chunk.
const CHUNK: usize = 20_000;

/// Creates the store table where absent, in the legacy shape.
pub async fn create_store(pool: &PgPool, table: &str) -> Result<()> {
    let quoted = quote_table(table)?;
    sqlx::query(&format!(
        "create table if not exists {quoted} (key text not null primary key, value jsonb not null)"
    ))
    .execute(pool)
    .await?;
    Ok(())
}

/// Loads every line of `dump` into `table` (created where absent); returns the lines loaded.
pub async fn load_jsonl(pool: &PgPool, table: &str, dump: impl BufRead) -> Result<u64> {
    create_store(pool, table).await?;
    let quoted = quote_table(table)?;
    let mut conn = pool.acquire().await?;
    let mut loaded = 0u64;
    let mut buffer = String::new();
    let mut in_buffer = 0usize;
    for (number, line) in dump.lines().enumerate() {
        let line = line.map_err(|e| Error::Invalid(format!("cannot read the dump: {e}")))?;
        if line.trim().is_empty() {
            continue;
        }
        let record: serde_json::Value = serde_json::from_str(&line).map_err(|e| {
            Error::Invalid(format!("line {} of the dump is not JSON: {e}", number + 1))
        })?;
        let (Some(key), Some(value)) = (
            record.get("key").and_then(|k| k.as_str()),
            record.get("value"),
        ) else {
            return Err(Error::Invalid(format!(
                "line {} of the dump has no \"key\" text and \"value\"",
                number + 1
            )));
        };
        copy_field(&mut buffer, key);
        buffer.push('\t');
        copy_field(&mut buffer, &value.to_string());
        buffer.push('\n');
        in_buffer += 1;
        if in_buffer == CHUNK {
            loaded += flush(&mut conn, &quoted, &buffer).await?;
            buffer.clear();
            in_buffer = 0;
        }
    }
    if in_buffer > 0 {
        loaded += flush(&mut conn, &quoted, &buffer).await?;
    }
    Ok(loaded)
}

/// Escapes a field for COPY's text format.
fn copy_field(buffer: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '\\' => buffer.push_str("\\\\"),
            '\t' => buffer.push_str("\\t"),
            '\n' => buffer.push_str("\\n"),
            '\r' => buffer.push_str("\\r"),
            c => buffer.push(c),
        }
    }
}

async fn flush(conn: &mut PgConnection, table: &str, rows: &str) -> Result<u64> {
    let mut tx = conn.begin().await?;
    sqlx::query("create temporary table kv_load (key text, value jsonb) on commit drop")
        .execute(&mut *tx)
        .await?;
    let mut copy = tx
        .copy_in_raw("copy kv_load (key, value) from stdin")
        .await?;
    for chunk in rows.as_bytes().chunks(1 << 20) {
        copy.send(chunk).await?;
    }
    copy.finish().await?;
    let loaded = sqlx::query(&format!(
        "insert into {table} as s (key, value) select distinct on (key) key, value from kv_load order by key
         on conflict (key) do update set value = excluded.value"
    ))
    .execute(&mut *tx)
    .await?
    .rows_affected();
    tx.commit().await?;
    Ok(loaded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_fields_escape_what_copy_reads_specially() {
        let mut out = String::new();
        copy_field(&mut out, "a\\b\tc\nd\re");
        assert_eq!(out, "a\\\\b\\tc\\nd\\re");
    }
}
