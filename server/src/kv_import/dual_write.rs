//! Switching the dual-write on and off: triggers that write guests and reservations back to the
//! legacy store (`kv_import.set_dual_write` in the migration holds the logic).

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

/// Whether the write-back triggers are in place.
pub async fn is_on(pool: &PgPool) -> Result<bool> {
    Ok(sqlx::query_scalar(
        "select count(*) = 2 from pg_trigger
          where tgname = 'kv_dual_write'
            and tgrelid in ('public.guests'::regclass, 'public.reservations'::regclass)",
    )
    .fetch_one(pool)
    .await?)
}
