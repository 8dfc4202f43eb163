//! The verification pass: the store read again, every record mapped as the import maps it, and
//! compared with its row in the table.
//!
//! Per prefix: how many records map to a row (quarantined ones left out), how many rows were
//! found, how many hold exactly the imported columns, and a SHA-256 checksum over those columns
//! in key order as the store gives them and as the table holds them (equal exactly when every
//! record matches its row). The comparison runs in Postgres on typed values: the mapped rows go
//! through the same typed arrays as the import ([`RowSet`]) and are compared column by column
//! with the table's, so formatting plays no part. Columns the database owns (numbers, balances,
//! the room the import may have left unassigned) are not imported columns and not compared;
//! members' legacy balances are compared with the ledger's separately and reported as
//! recomputed.
//!
//! Once a tenant is in dual_write or cut over, the desk's writes are its truth: a row that
//! differs from its record (or is gone) because a laptop or a job wrote it since (a change of
//! the row in the change feed after the tenant entered dual_write, or, in a table the feed does
//! not cover, its `updated_at`) is counted as "changed since cut-over", not as a difference. The
//! feed is what tells for the synced tables, so pruning it (`prune-sync-state`) past the
//! cut-over makes such rows differences again.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Instant;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use sqlx::{PgPool, Row as _};

use super::keys::Entity;
use super::map::{map_record, Extra, MapOptions, Mapped};
use super::report::{LedgerReport, TableCheck, Verification};
use super::resolve::Resolver;
use super::source::Source;
use super::states;
use super::write::match_key;
use super::write::rows::{ColumnTypes, RowSet};
use crate::error::Result;

/// How many differing keys are listed per table.
const MISMATCHES: usize = 10;

/// The SQL condition that pairs a mapped row `m` with its table row `t`.
fn pairing(entity: Entity) -> &'static str {
    match entity {
        Entity::Tenant => "t.external_id = m.external_id",
        Entity::Plan | Entity::FeatureFlag | Entity::RetentionPolicy => "t.legacy_id = m.legacy_id",
        _ => "t.tenant_id = m.tenant_id and t.id = m.id",
    }
}

pub async fn verify(
    target: &PgPool,
    source: &Source,
    batch_size: i64,
    options: MapOptions,
    ledger: &mut LedgerReport,
) -> Result<Verification> {
    let started = Instant::now();
    let mut resolver = Resolver::default();
    let types = ColumnTypes::load(&mut *target.acquire().await?).await?;
    let since = states::desk_writes_since(target).await?;
    let mut tables = Vec::new();
    for entity in Entity::ALL {
        let mut check = TableCheck {
            prefix: entity.prefix().to_owned(),
            table: entity.table().to_owned(),
            ..Default::default()
        };
        let mut store_hash = Sha256::new();
        let mut table_hash = Sha256::new();
        let mut after = String::new();
        loop {
            let page = source.page(entity.prefix(), &after, batch_size).await?;
            let Some(last) = page.last() else { break };
            after = last.key.clone();
            let mut conn = target.acquire().await?;
            let keys: Vec<String> = page.iter().map(|r| r.key.clone()).collect();
            let quarantined: HashSet<String> = sqlx::query_scalar(
                "select key from kv_import.import_quarantine where key = any($1)",
            )
            .bind(&keys)
            .fetch_all(&mut *conn)
            .await?
            .into_iter()
            .collect();
            let kept: Vec<&super::source::Record> = page
                .iter()
                .filter(|r| !quarantined.contains(&r.key))
                .collect();
            let mapped: Vec<Result<Mapped, _>> = kept
                .iter()
                .map(|r| map_record(entity, &r.key, &r.value, options))
                .collect();
            let resolved = resolver.resolve(&mut conn, mapped).await?;
            let (keys, rows): (Vec<String>, Vec<Mapped>) = kept
                .iter()
                .zip(resolved)
                .filter_map(|(r, m)| m.ok().map(|m| (r.key.clone(), m)))
                .unzip();
            if rows.is_empty() {
                continue;
            }
            compare(
                &mut conn,
                &types,
                entity,
                &keys,
                &rows,
                &since,
                &mut check,
                &mut store_hash,
                &mut table_hash,
            )
            .await?;
            if entity == Entity::LoyaltyMember {
                member_balances(&mut conn, &rows, ledger).await?;
            }
        }
        check.store_checksum = hex::encode(store_hash.finalize());
        check.table_checksum = hex::encode(table_hash.finalize());
        tables.push(check);
    }
    let ok = tables
        .iter()
        .all(|c| c.holds() && c.store_checksum == c.table_checksum);
    Ok(Verification {
        seconds: started.elapsed().as_secs_f64(),
        tables,
        ok,
    })
}

/// Compares one page of mapped rows with the table.
// one page's inputs and the three running tallies it adds to; a struct would only rename them
#[allow(clippy::too_many_arguments)]
async fn compare(
    conn: &mut sqlx::PgConnection,
    types: &ColumnTypes,
    entity: Entity,
    keys: &[String],
    rows: &[Mapped],
    since: &BTreeMap<String, DateTime<Utc>>,
    check: &mut TableCheck,
    store_hash: &mut Sha256,
    table_hash: &mut Sha256,
) -> Result<()> {
    let table = entity.table();
    let mut columns: Vec<String> = rows
        .iter()
        .flat_map(|m| m.row.keys())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .map(|c| (*c).to_owned())
        .collect();
    let mapped = RowSet::new(types, table, &columns, rows.iter().map(|m| &m.row))?;
    // platform rows the database already had keep their own id
    if matches!(
        entity,
        Entity::Tenant | Entity::Plan | Entity::FeatureFlag | Entity::RetentionPolicy
    ) {
        columns.retain(|c| c != "id");
    }
    let mapped_value = |c: &String| {
        if c == "created_at" {
            "coalesce(m.created_at, t.created_at)".to_owned()
        } else {
            format!("m.{c}")
        }
    };
    let sql = format!(
        "select m.ordinality,
                md5(row({want})::text),
                case when t is null then null else md5(row({got})::text) end,
                array_remove(array[{differing}], null)
           from {source} as m
           left join public.{table} t on {pairing}
          order by m.ordinality",
        want = columns
            .iter()
            .map(mapped_value)
            .collect::<Vec<_>>()
            .join(", "),
        got = columns
            .iter()
            .map(|c| format!("t.{c}"))
            .collect::<Vec<_>>()
            .join(", "),
        differing = columns
            .iter()
            .map(|c| format!(
                "case when {} is distinct from t.{c} then '{c}' end",
                mapped_value(c)
            ))
            .collect::<Vec<_>>()
            .join(", "),
        source = mapped.source(1),
        pairing = pairing(entity),
    );
    let found = mapped.bind(sqlx::query(&sql)).fetch_all(&mut *conn).await?;
    let mut compared = Vec::with_capacity(found.len());
    for row in found {
        let ordinality: i64 = row.try_get(0)?;
        let want: String = row.try_get(1)?;
        let got: Option<String> = row.try_get(2)?;
        let differing: Vec<String> = row.try_get(3)?;
        let Some(index) = usize::try_from(ordinality - 1)
            .ok()
            .filter(|i| *i < keys.len() && *i < rows.len())
        else {
            continue;
        };
        compared.push((index, want, got, differing));
    }
    let differs: Vec<usize> = compared
        .iter()
        .filter(|(_, want, got, _)| got.as_ref() != Some(want))
        .map(|(index, ..)| *index)
        .collect();
    let changed = changed_since(conn, types, entity, rows, &differs, since).await?;
    for (index, want, got, differing) in compared {
        let key = &keys[index];
        check.store += 1;
        if got.as_ref() != Some(&want) && changed.contains(&index) {
            // the desk's work since the cut-over: the same line on both sides
            check.changed_since_cut_over += 1;
            check.found += u64::from(got.is_some());
            store_hash.update(format!("{key}\nchanged since cut-over\n"));
            table_hash.update(format!("{key}\nchanged since cut-over\n"));
            continue;
        }
        store_hash.update(format!("{key}\n{want}\n"));
        table_hash.update(format!("{key}\n{}\n", got.as_deref().unwrap_or("missing")));
        match got {
            None => {
                if check.mismatches.len() < MISMATCHES {
                    check.mismatches.push(format!("{key}: no row in {table}"));
                }
            }
            Some(got) => {
                check.found += 1;
                if got == want {
                    check.equal += 1;
                } else if check.mismatches.len() < MISMATCHES {
                    check
                        .mismatches
                        .push(format!("{key}: differs in {}", differing.join(", ")));
                }
            }
        }
    }
    Ok(())
}

/// Of the rows at `differs` (indexes into `rows`), those the desk wrote after their tenant
/// entered dual_write or was cut over (`since`, per legacy tenant): a change of the row in the
/// change feed since then (an update or a delete), or, in a table the feed does not cover
/// (webhooks and their deliveries, retention policies: the jobs write them), an `updated_at`
/// since then (the import does not set `updated_at`; the tables' trigger does). Rows of no
/// tenant (plans, platform flags and policies) never count as changed.
async fn changed_since(
    conn: &mut sqlx::PgConnection,
    types: &ColumnTypes,
    entity: Entity,
    rows: &[Mapped],
    differs: &[usize],
    since: &BTreeMap<String, DateTime<Utc>>,
) -> Result<HashSet<usize>> {
    let by_legacy_id = matches!(
        entity,
        Entity::Tenant | Entity::Plan | Entity::FeatureFlag | Entity::RetentionPolicy
    );
    let mut asked = Vec::new();
    for &index in differs {
        let mapped = &rows[index];
        let Some(at) = mapped.tenant.as_ref().and_then(|t| since.get(t)) else {
            continue;
        };
        let (tenants, ids) = super::write::tenant_and_ids(std::iter::once(&mapped.row));
        let legacy = mapped
            .row
            .get(if entity == Entity::Tenant {
                "external_id"
            } else {
                "legacy_id"
            })
            .and_then(|v| v.as_str())
            .map(str::to_owned);
        if (by_legacy_id && legacy.is_none())
            || (!by_legacy_id && (tenants[0].is_nil() || ids[0].is_nil()))
        {
            continue;
        }
        asked.push((index, tenants[0], ids[0], legacy, *at));
    }
    if asked.is_empty() {
        return Ok(HashSet::new());
    }
    let table = entity.table();
    let touched = if types.of(table, "updated_at").is_none() {
        String::new()
    } else if by_legacy_id {
        let column = if entity == Entity::Tenant {
            "external_id"
        } else {
            "legacy_id"
        };
        format!(
            "or exists (select 1 from public.{table} t where t.{column} = w.legacy_id and t.updated_at > w.since)"
        )
    } else {
        format!(
            "or exists (select 1 from public.{table} t
                         where t.tenant_id = w.tenant_id and t.id = w.id and t.updated_at > w.since)"
        )
    };
    let changed: Vec<i32> = sqlx::query_scalar(&format!(
        "select w.n from unnest($1::int[], $2::uuid[], $3::uuid[], $4::text[], $5::timestamptz[])
                           as w(n, tenant_id, id, legacy_id, since)
          where exists (select 1 from app.changes c
                         where c.tenant_id = w.tenant_id and c.row_id = w.id
                           and c.table_name = $6 and c.changed_at > w.since)
                {touched}"
    ))
    .bind(asked.iter().map(|a| a.0 as i32).collect::<Vec<_>>())
    .bind(asked.iter().map(|a| a.1).collect::<Vec<_>>())
    .bind(asked.iter().map(|a| a.2).collect::<Vec<_>>())
    .bind(asked.iter().map(|a| a.3.clone()).collect::<Vec<_>>())
    .bind(asked.iter().map(|a| a.4).collect::<Vec<_>>())
    .bind(table)
    .fetch_all(&mut *conn)
    .await?;
    Ok(changed
        .into_iter()
        .filter_map(|n| usize::try_from(n).ok())
        .collect())
}

/// Members whose legacy available points differ from the balance their ledger gives.
async fn member_balances(
    conn: &mut sqlx::PgConnection,
    rows: &[Mapped],
    ledger: &mut LedgerReport,
) -> Result<()> {
    let (tenants, ids) = super::write::tenant_and_ids(rows.iter().map(|m| &m.row));
    let balances: HashMap<String, i64> = sqlx::query_as::<_, (String, i64)>(
        "select tenant_id::text || '/' || id::text, points_balance from public.loyalty_members
          where (tenant_id, id) in (select * from unnest($1::uuid[], $2::uuid[]))",
    )
    .bind(&tenants)
    .bind(&ids)
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .collect();
    for mapped in rows {
        let Extra::Member {
            available_points: Some(legacy),
        } = mapped.extra
        else {
            continue;
        };
        if let Some(balance) = balances.get(&match_key(Entity::LoyaltyMember, &mapped.row)) {
            if *balance != legacy {
                ledger.members_recomputed += 1;
                ledger.member_points_difference += balance.abs_diff(legacy);
            }
        }
    }
    Ok(())
}
