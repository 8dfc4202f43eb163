//! Where each tenant of the store stands (`kv_import.tenant_states`): legacy → imported →
//! dual_write → cut_over, with who moved it and when, every change kept in
//! `kv_import.tenant_state_changes`.
//!
//! - legacy: the store is the truth; laptops of the tenant are refused (`tenant_not_migrated`).
//! - imported: the tables hold the tenant and laptops are served; the old panel goes stale.
//! - dual_write: as imported, and every write of the tenant's rows is written back to the store.
//! - cut_over: the store is no longer written for the tenant; importing it again would overwrite
//!   the desk's work with the store's, so it is refused unless forced.
//!
//! [`transition`] is the rule (pure); the rest reads and writes the table.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use super::source::StoreTenant;
use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum State {
    Legacy,
    Imported,
    DualWrite,
    CutOver,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Legacy => "legacy",
            State::Imported => "imported",
            State::DualWrite => "dual_write",
            State::CutOver => "cut_over",
        }
    }

    pub fn parse(text: &str) -> Result<State> {
        [
            State::Legacy,
            State::Imported,
            State::DualWrite,
            State::CutOver,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
        .ok_or_else(|| {
            Error::Invalid(format!(
                "unknown tenant state {text:?} in kv_import.tenant_states"
            ))
        })
    }
}

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether a tenant may go from `from` to `to` by `kv-import state` (the import itself takes a
/// tenant from legacy to imported). Forward one step at a time; back to imported (stop writing
/// back) or legacy (roll back) before the cut-over; a cut-over tenant moves only when forced.
pub fn transition(tenant: &str, from: State, to: State, force: bool) -> Result<()> {
    use State::*;
    if from == to {
        return Ok(());
    }
    let allowed = matches!(
        (from, to),
        (Imported, DualWrite)
            | (DualWrite, CutOver)
            | (Imported | DualWrite, Legacy)
            | (DualWrite, Imported)
    );
    if allowed || (force && from == CutOver) {
        return Ok(());
    }
    let hint = match (from, to) {
        (CutOver, _) => {
            "it is cut over: the tables are its truth now; pass --force to move it anyway"
        }
        (Legacy, _) => "import it first (`pms-server kv-import --tenant …`)",
        (Imported, CutOver) => {
            "switch it to dual_write first and let the old panel run beside the desk a while"
        }
        _ => "states go legacy → imported → dual_write → cut_over",
    };
    Err(Error::Invalid(format!(
        "tenant {tenant} cannot go from {from} to {to}: {hint}"
    )))
}

/// The legacy ids of the tenants named on the command line by legacy id or subdomain (case
/// insensitive), in the order given, without repeats.
pub fn resolve(named: &[String], store: &[StoreTenant]) -> Result<Vec<String>> {
    let mut chosen = Vec::new();
    for name in named {
        let found = store
            .iter()
            .find(|t| t.id == *name)
            .or_else(|| {
                store.iter().find(|t| {
                    t.subdomain
                        .as_deref()
                        .is_some_and(|s| s.eq_ignore_ascii_case(name.trim()))
                })
            })
            .ok_or_else(|| {
                let known: Vec<String> = store
                    .iter()
                    .map(|t| match &t.subdomain {
                        Some(s) => format!("{} ({s})", t.id),
                        None => t.id.clone(),
                    })
                    .collect();
                Error::Invalid(format!(
                    "--tenant {name:?} is no tenant of the store (neither a legacy id nor a subdomain); the store has: {}",
                    if known.is_empty() { "none".to_owned() } else { known.join(", ") }
                ))
            })?;
        if !chosen.contains(&found.id) {
            chosen.push(found.id.clone());
        }
    }
    Ok(chosen)
}

/// A tenant's row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantState {
    pub state: State,
    pub changed_by: String,
    pub changed_at: DateTime<Utc>,
}

/// Every tenant with a row, by legacy id.
pub async fn all(pool: &PgPool) -> Result<BTreeMap<String, TenantState>> {
    let rows: Vec<(String, String, String, DateTime<Utc>)> = sqlx::query_as(
        "select tenant, state, changed_by, changed_at from kv_import.tenant_states order by tenant",
    )
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|(tenant, state, changed_by, changed_at)| {
            Ok((
                tenant,
                TenantState {
                    state: State::parse(&state)?,
                    changed_by,
                    changed_at,
                },
            ))
        })
        .collect()
}

/// Since when the desk's writes of each tenant no longer have to be in the store, for the
/// tenants in dual_write or cut_over: the last time the tenant entered dual_write (the store
/// follows the desk from then, up to the import's normalizations, and stops at the cut-over),
/// else when it reached its state. A row written since is the desk's work, not a difference
/// the verification holds against the import.
pub async fn desk_writes_since(pool: &PgPool) -> Result<BTreeMap<String, DateTime<Utc>>> {
    let rows: Vec<(String, DateTime<Utc>)> = sqlx::query_as(
        "select s.tenant,
                coalesce((select max(c.changed_at) from kv_import.tenant_state_changes c
                           where c.tenant = s.tenant and c.to_state = 'dual_write'),
                         s.changed_at)
           from kv_import.tenant_states s
          where s.state in ('dual_write', 'cut_over')",
    )
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().collect())
}

/// Gives every tenant of the store without a row the state legacy.
pub async fn register(pool: &PgPool, tenants: &[String], by: &str) -> Result<()> {
    let mut tx = pool.begin().await?;
    let added: Vec<String> = sqlx::query_scalar(
        "insert into kv_import.tenant_states (tenant, state, changed_by)
         select t, 'legacy', $2 from unnest($1::text[]) t
         on conflict do nothing returning tenant",
    )
    .bind(tenants)
    .bind(by)
    .fetch_all(&mut *tx)
    .await?;
    sqlx::query(
        "insert into kv_import.tenant_state_changes (tenant, to_state, changed_by)
         select t, 'legacy', $2 from unnest($1::text[]) t",
    )
    .bind(&added)
    .bind(by)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Moves `tenant` to `to` if [`transition`] allows it (the import uses `import: true` for
/// legacy → imported); returns the state it was in. Reaching cut_over records the store's read
/// counters (`counters`: seq_scan, idx_scan) for `kv-import retire`.
pub async fn set(
    pool: &PgPool,
    tenant: &str,
    to: State,
    by: &str,
    force: bool,
    counters: Option<(i64, i64)>,
) -> Result<State> {
    let mut tx = pool.begin().await?;
    let from: Option<String> = sqlx::query_scalar(
        "select state from kv_import.tenant_states where tenant = $1 for update",
    )
    .bind(tenant)
    .fetch_optional(&mut *tx)
    .await?;
    let from = from.as_deref().map_or(Ok(State::Legacy), State::parse)?;
    if from == to {
        return Ok(from);
    }
    let by_import = from == State::Legacy && to == State::Imported;
    if !by_import {
        transition(tenant, from, to, force)?;
    }
    sqlx::query(
        "insert into kv_import.tenant_states (tenant, state, changed_by) values ($1, $2, $3)
         on conflict (tenant) do update set state = excluded.state, changed_by = excluded.changed_by,
                                            changed_at = now()",
    )
    .bind(tenant)
    .bind(to.as_str())
    .bind(by)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "insert into kv_import.tenant_state_changes (tenant, from_state, to_state, forced, changed_by)
         values ($1, $2, $3, $4, $5)",
    )
    .bind(tenant)
    .bind(from.as_str())
    .bind(to.as_str())
    .bind(force && from == State::CutOver)
    .bind(by)
    .execute(&mut *tx)
    .await?;
    if let (State::CutOver, Some((seq, idx))) = (to, counters) {
        sqlx::query(
            "insert into kv_import.store_reads (reason, seq_scan, idx_scan) values ($1, $2, $3)",
        )
        .bind(format!("tenant {tenant} cut over"))
        .bind(seq)
        .bind(idx)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(from)
}

/// Rows of the imported tables per tenant (legacy id).
pub async fn rows_per_tenant(pool: &PgPool) -> Result<BTreeMap<String, i64>> {
    let tables: Vec<&str> = super::keys::Entity::ALL.iter().map(|e| e.table()).collect();
    let with_tenant: Vec<String> = sqlx::query_scalar(
        "select table_name::text from information_schema.columns
          where table_schema = 'public' and column_name = 'tenant_id' and table_name = any($1)
          order by 1",
    )
    .bind(&tables)
    .fetch_all(pool)
    .await?;
    if with_tenant.is_empty() {
        return Ok(BTreeMap::new());
    }
    let counts = with_tenant
        .iter()
        .map(|t| format!("select tenant_id, count(*) as n from public.{t} group by 1"))
        .collect::<Vec<_>>()
        .join(" union all ");
    let rows: Vec<(String, i64)> = sqlx::query_as(&format!(
        "select t.external_id, sum(c.n)::bigint from ({counts}) c
           join public.tenants t on t.id = c.tenant_id
          where t.external_id is not null group by 1"
    ))
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().collect())
}

/// Who runs the command: `--by`, or the login name of the shell.
pub fn operator(by: Option<&str>) -> String {
    by.map(str::to_owned)
        .or_else(|| std::env::var("USER").ok())
        .or_else(|| std::env::var("LOGNAME").ok())
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| "unknown".to_owned())
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::State::*;
    use super::*;

    #[rstest]
    #[case::forward(Imported, DualWrite, false, true)]
    #[case::cut_over(DualWrite, CutOver, false, true)]
    #[case::skip_dual_write(Imported, CutOver, false, false)]
    #[case::roll_back(DualWrite, Legacy, false, true)]
    #[case::stop_writing_back(DualWrite, Imported, false, true)]
    #[case::not_imported(Legacy, DualWrite, false, false)]
    #[case::after_cut_over(CutOver, Legacy, false, false)]
    #[case::after_cut_over_forced(CutOver, DualWrite, true, true)]
    #[case::same(CutOver, CutOver, false, true)]
    fn transitions(#[case] from: State, #[case] to: State, #[case] force: bool, #[case] ok: bool) {
        assert_eq!(transition("T-1", from, to, force).is_ok(), ok);
    }

    #[test]
    fn tenants_are_named_by_id_or_subdomain() {
        let store = vec![
            StoreTenant {
                id: "T-1".into(),
                subdomain: Some("aurora".into()),
            },
            StoreTenant {
                id: "T-2".into(),
                subdomain: None,
            },
        ];
        let named = |names: &[&str]| {
            resolve(
                &names.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
                &store,
            )
        };
        assert_eq!(
            named(&["Aurora", "T-2", "T-1"]).ok(),
            Some(vec!["T-1".into(), "T-2".into()])
        );
        let error = named(&["T-9"])
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            error.contains("\"T-9\"") && error.contains("T-1 (aurora)"),
            "{error}"
        );
    }
}
