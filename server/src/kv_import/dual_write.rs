//! Switching the dual-write on and off: triggers that write every table the store feeds back to
//! the legacy store, for the tenants in `dual_write` (`kv_import.set_dual_write` and
//! `kv_import.legacy_fields` in the migrations hold the logic and the shapes).

use sqlx::PgPool;

use crate::error::{Error, Result};

/// `--dual-write on|off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Switch {
    On,
    Off,
}

/// Turns the write-back triggers on or off in the database of `pool`.
pub async fn set(pool: &PgPool, switch: Switch) -> Result<()> {
    sqlx::query("select kv_import.set_dual_write($1)")
        .bind(switch == Switch::On)
        .execute(pool)
        .await
        .map_err(|e| match &e {
            sqlx::Error::Database(db) => Error::Invalid(format!(
                "cannot switch the dual-write {}: {}",
                if switch == Switch::On { "on" } else { "off" },
                db.message()
            )),
            _ => Error::Database(e),
        })?;
    Ok(())
}

/// Whether the write-back triggers are in place (on every table).
pub async fn is_on(pool: &PgPool) -> Result<bool> {
    Ok(sqlx::query_scalar(
        "select count(*) = 2 + (select count(*) from kv_import.dual_write_tables())
           from pg_trigger g join pg_class c on c.oid = g.tgrelid
          where g.tgname = 'kv_dual_write' and c.relnamespace = 'public'::regnamespace
            and c.relname in (select 'guests' union all select 'reservations'
                              union all select table_name from kv_import.dual_write_tables())",
    )
    .fetch_one(pool)
    .await?)
}
