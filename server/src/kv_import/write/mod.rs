//! Writing mapped records: one statement per batch and table, through the tables' own triggers
//! (change feed, confirmation and membership numbers, ledger balances, status timestamps).
//!
//! Rows go in as one array per column that `unnest` turns back into typed rows ([`rows`]),
//! so a batch of any table is one round trip. Three ways of writing:
//!
//! - **upsert** (most tables): insert, or update where an imported column differs; a row whose
//!   columns are all equal is not touched, so a re-run changes nothing (not even `updated_at`).
//! - **numbered** (reservations, loyalty members): rows that exist are updated; new rows are
//!   inserted in the order given, so the numbering trigger gives them consecutive numbers in that
//!   order. (An `insert … on conflict` would fire the trigger for the conflicting rows too, and
//!   leave gaps.)
//! - **opening payments** (folios, folio entries): a booking's legacy paid amount goes in as a
//!   payment on its guest folio, once, and only where the stay has no entries yet ([`folios`]).
//! - **append-only** (the loyalty ledger): rows that do not exist yet are inserted, in order,
//!   each with its balance continuing its member's (computed in the statement); the ledger's
//!   statement trigger checks the balances and moves each member once. Existing entries are
//!   never changed.
//!
//! A statement that fails on a row's data (a check, a foreign key, an exclusion) is rolled back to
//! a savepoint and the batch written row by row: the row that fails goes to quarantine with the
//! database's reason, the others are written. Any other error (the connection, a lock) ends the
//! run; what earlier batches committed stays.

pub mod folios;
pub mod rows;
pub mod stays;

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::Value;
use sqlx::{PgConnection, Row as _};

use super::keys::Entity;
use super::map::{Columns, Extra, Mapped};
use super::report::{LedgerDifference, Reassign};
use rows::{ColumnTypes, RowSet};

/// A record ready to be written.
#[derive(Debug, Clone)]
pub struct Pending {
    pub key: String,
    pub mapped: Mapped,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Inserted,
    Updated,
    Unchanged,
    /// The database refused the row (its message).
    Refused(String),
}

/// What writing a batch did, applied to the run's report once the batch has committed.
#[derive(Debug, Default)]
pub struct Written {
    pub outcomes: Vec<Outcome>,
    pub reassign: Vec<Reassign>,
    /// (tenant legacy id, confirmation number) of each new booking.
    pub numbers: Vec<(String, i64)>,
    pub ledger: Vec<LedgerDifference>,
    /// Properties, room types and rooms found or created.
    pub learned: stays::Places,
}

/// How a table's rows are matched with the records that wrote them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Matched {
    /// `(tenant_id, id)`.
    Id,
    /// tenants: the legacy tenant id in `external_id`.
    ExternalId,
    /// platform tables (plans, flags, retention policies): `legacy_id`, unique across tenants.
    LegacyId,
}

fn matched(entity: Entity) -> Matched {
    match entity {
        Entity::Tenant => Matched::ExternalId,
        Entity::Plan | Entity::FeatureFlag | Entity::RetentionPolicy => Matched::LegacyId,
        _ => Matched::Id,
    }
}

/// The `on conflict` target of an upsert: the natural key of platform rows, so that rows the
/// database already has (created by `seed-demo` or by hand) are adopted rather than duplicated.
fn conflict_target(entity: Entity, tenant_scoped: bool) -> &'static str {
    match (entity, tenant_scoped) {
        (Entity::Tenant, _) => "(external_id) where external_id is not null",
        (Entity::Plan, _) => "(name) where tenant_id is null",
        (Entity::FeatureFlag, false) => "(key) where tenant_id is null",
        (Entity::FeatureFlag, true) => "(tenant_id, key) where tenant_id is not null",
        (Entity::RetentionPolicy, false) => "(policy_type) where tenant_id is null",
        (Entity::RetentionPolicy, true) => "(tenant_id, policy_type) where tenant_id is not null",
        _ => "(tenant_id, id)",
    }
}

/// Columns an upsert never changes on an existing row (the match and the adopted row's id).
fn conflict_columns(entity: Entity) -> &'static [&'static str] {
    match entity {
        Entity::Tenant => &["id", "external_id"],
        Entity::Plan => &["id", "name", "tenant_id"],
        Entity::FeatureFlag => &["id", "key", "tenant_id"],
        Entity::RetentionPolicy => &["id", "policy_type", "tenant_id"],
        _ => &["id", "tenant_id"],
    }
}

/// The SQL expression, over a table row `t`, that [`match_key`] computes from a mapped row.
fn match_sql(entity: Entity) -> &'static str {
    match matched(entity) {
        Matched::Id => "t.tenant_id::text || '/' || t.id::text",
        Matched::ExternalId => "t.external_id",
        Matched::LegacyId => "t.legacy_id",
    }
}

/// The key that finds a mapped row's row in its table.
pub fn match_key(entity: Entity, row: &Columns) -> String {
    let text = |column: &str| match row.get(column) {
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    };
    match matched(entity) {
        Matched::Id => format!("{}/{}", text("tenant_id"), text("id")),
        Matched::ExternalId => text("external_id"),
        Matched::LegacyId => text("legacy_id"),
    }
}

/// Whether a failed statement failed on a row's data, so that the rows can be tried one by one:
/// data exceptions (22…), integrity violations (23…) and exceptions raised by triggers (P0001).
pub fn is_row_error(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            code.starts_with("22") || code.starts_with("23") || code == "P0001"
        }),
        _ => false,
    }
}

/// The database's reason for refusing a row, for the quarantine.
pub fn refusal(error: &sqlx::Error) -> String {
    match error {
        sqlx::Error::Database(db) => {
            let detail = db
                .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
                .and_then(|pg| pg.detail().map(str::to_owned));
            match detail {
                Some(detail) => format!("the database refused it: {} ({detail})", db.message()),
                None => format!("the database refused it: {}", db.message()),
            }
        }
        other => other.to_string(),
    }
}

/// The union of the rows' columns, in name order.
fn columns_of<'a>(rows: impl Iterator<Item = &'a Columns>) -> Vec<String> {
    let mut columns: std::collections::BTreeSet<&'static str> = std::collections::BTreeSet::new();
    for row in rows {
        // rows of one mapper have the same columns: the first row's are usually all there are
        if row.keys().all(|c| columns.contains(c)) {
            continue;
        }
        columns.extend(row.keys().copied());
    }
    columns.into_iter().map(str::to_owned).collect()
}

/// Writes `batch` (all of one entity) with the fast path, or row by row when a row is refused.
pub async fn write_batch(
    conn: &mut PgConnection,
    entity: Entity,
    batch: &[&Pending],
    places: &stays::Places,
    types: &ColumnTypes,
) -> Result<Written, sqlx::Error> {
    sqlx::query("savepoint kv_batch")
        .execute(&mut *conn)
        .await?;
    match write_rows(conn, entity, batch, places, types).await {
        Ok(written) => {
            sqlx::query("release savepoint kv_batch")
                .execute(&mut *conn)
                .await?;
            return Ok(written);
        }
        Err(error) if is_row_error(&error) => {
            sqlx::query("rollback to savepoint kv_batch")
                .execute(&mut *conn)
                .await?;
        }
        Err(error) => return Err(error),
    }
    let mut all = Written::default();
    for pending in batch {
        sqlx::query("savepoint kv_row").execute(&mut *conn).await?;
        match write_rows(conn, entity, &[pending], places, types).await {
            Ok(written) => {
                sqlx::query("release savepoint kv_row")
                    .execute(&mut *conn)
                    .await?;
                all.outcomes.extend(written.outcomes);
                all.reassign.extend(written.reassign);
                all.numbers.extend(written.numbers);
                all.ledger.extend(written.ledger);
                all.learned.learn(written.learned);
            }
            Err(error) if is_row_error(&error) => {
                sqlx::query("rollback to savepoint kv_row")
                    .execute(&mut *conn)
                    .await?;
                all.outcomes.push(Outcome::Refused(refusal(&error)));
            }
            Err(error) => return Err(error),
        }
    }
    sqlx::query("release savepoint kv_batch")
        .execute(&mut *conn)
        .await?;
    Ok(all)
}

async fn write_rows(
    conn: &mut PgConnection,
    entity: Entity,
    batch: &[&Pending],
    places: &stays::Places,
    types: &ColumnTypes,
) -> Result<Written, sqlx::Error> {
    match entity {
        Entity::Reservation => {
            let placed = stays::place(conn, batch, places).await?;
            let mut written = numbered(
                conn,
                entity,
                batch,
                &placed.rows.iter().collect::<Vec<_>>(),
                Some(&placed.existing),
                "confirmation_number",
                types,
            )
            .await?;
            // the legacy paid amounts, as the stays' opening payments
            folios::opening_payments(conn, &placed.rows).await?;
            written.reassign = placed.reassign;
            written.learned = placed.learned;
            Ok(written)
        }
        Entity::LoyaltyMember => {
            let rows: Vec<&Columns> = batch.iter().map(|p| &p.mapped.row).collect();
            numbered(conn, entity, batch, &rows, None, "membership_number", types).await
        }
        Entity::LoyaltyTransaction => ledger(conn, batch, types).await,
        _ => upsert(conn, entity, batch, types).await,
    }
}

/// Insert or update where different (see the module header).
async fn upsert(
    conn: &mut PgConnection,
    entity: Entity,
    batch: &[&Pending],
    types: &ColumnTypes,
) -> Result<Written, sqlx::Error> {
    let table = entity.table();
    let positions: HashMap<String, usize> = batch
        .iter()
        .enumerate()
        .map(|(i, p)| (match_key(entity, &p.mapped.row), i))
        .collect();
    let mut outcomes = vec![Outcome::Unchanged; batch.len()];
    // Rows without a creation time keep the one their row has (or get now() when new): they go
    // in a statement without created_at. Platform rows and tenant overrides differ in conflict
    // target.
    let mut groups: BTreeMap<(bool, bool), Vec<usize>> = BTreeMap::new();
    for (i, p) in batch.iter().enumerate() {
        let dated = p.mapped.row.get("created_at").is_some_and(|v| !v.is_null());
        let tenant_scoped = p.mapped.row.get("tenant_id").is_some_and(|v| !v.is_null());
        groups.entry((dated, tenant_scoped)).or_default().push(i);
    }
    for ((dated, tenant_scoped), members) in groups {
        let rows = || members.iter().map(|i| &batch[*i].mapped.row);
        let columns: Vec<String> = columns_of(rows())
            .into_iter()
            .filter(|c| dated || c != "created_at")
            .collect();
        let fixed = conflict_columns(entity);
        let updatable: Vec<&String> = columns
            .iter()
            .filter(|c| !fixed.contains(&c.as_str()))
            .collect();
        let rows = RowSet::new(types, table, &columns, rows())?;
        let sql = format!(
            "insert into public.{table} as t ({cols})
             select {cols} from {source} as m
             on conflict {conflict} do update set {set}
              where ({old}) is distinct from ({new})
             returning {matched}, (xmax = 0)",
            cols = columns.join(", "),
            source = rows.source(1),
            conflict = conflict_target(entity, tenant_scoped),
            set = updatable
                .iter()
                .map(|c| format!("{c} = excluded.{c}"))
                .collect::<Vec<_>>()
                .join(", "),
            old = updatable
                .iter()
                .map(|c| format!("t.{c}"))
                .collect::<Vec<_>>()
                .join(", "),
            new = updatable
                .iter()
                .map(|c| format!("excluded.{c}"))
                .collect::<Vec<_>>()
                .join(", "),
            matched = match_sql(entity),
        );
        let returned = rows.bind(sqlx::query(&sql)).fetch_all(&mut *conn).await?;
        for row in returned {
            let key: Option<String> = row.try_get(0)?;
            let inserted: bool = row.try_get(1)?;
            if let Some(i) = key.and_then(|k| positions.get(&k)) {
                outcomes[*i] = if inserted {
                    Outcome::Inserted
                } else {
                    Outcome::Updated
                };
            }
        }
    }
    Ok(Written {
        outcomes,
        ..Default::default()
    })
}

/// Update the rows that exist, insert the others in order (see the module header).
async fn numbered(
    conn: &mut PgConnection,
    entity: Entity,
    batch: &[&Pending],
    rows: &[&Columns],
    known: Option<&HashSet<(uuid::Uuid, uuid::Uuid)>>,
    number_column: &str,
    types: &ColumnTypes,
) -> Result<Written, sqlx::Error> {
    let table = entity.table();
    let positions: HashMap<String, usize> = rows
        .iter()
        .enumerate()
        .map(|(i, row)| (match_key(entity, row), i))
        .collect();
    let (tenants, ids) = tenant_and_ids(rows.iter().copied());
    let existing: HashSet<String> = match known {
        Some(known) => known.iter().map(|(t, id)| format!("{t}/{id}")).collect(),
        None => sqlx::query_scalar(&format!(
            "select t.tenant_id::text || '/' || t.id::text from public.{table} t
              where (t.tenant_id, t.id) in (select * from unnest($1::uuid[], $2::uuid[]))"
        ))
        .bind(&tenants)
        .bind(&ids)
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .collect(),
    };
    let mut outcomes = vec![Outcome::Unchanged; rows.len()];
    type Rows<'a> = Vec<&'a Columns>;
    let (old, new): (Rows<'_>, Rows<'_>) = rows
        .iter()
        .partition(|row| existing.contains(&match_key(entity, row)));
    let columns = columns_of(rows.iter().copied());
    let value = |c: &String, created: &str| {
        if c == "created_at" {
            format!("coalesce(m.created_at, {created})")
        } else {
            format!("m.{c}")
        }
    };
    if !old.is_empty() {
        let updatable: Vec<&String> = columns
            .iter()
            .filter(|c| !["id", "tenant_id"].contains(&c.as_str()))
            .collect();
        let rows = RowSet::new(types, table, &columns, old.iter().copied())?;
        let sql = format!(
            "update public.{table} as t set {set}
               from {source} as m
              where t.tenant_id = m.tenant_id and t.id = m.id
                and ({olds}) is distinct from ({news})
             returning {matched}",
            set = updatable
                .iter()
                .map(|c| format!("{c} = {}", value(c, "t.created_at")))
                .collect::<Vec<_>>()
                .join(", "),
            olds = updatable
                .iter()
                .map(|c| format!("t.{c}"))
                .collect::<Vec<_>>()
                .join(", "),
            news = updatable
                .iter()
                .map(|c| value(c, "t.created_at"))
                .collect::<Vec<_>>()
                .join(", "),
            source = rows.source(1),
            matched = match_sql(entity),
        );
        let updated: Vec<String> = rows
            .bind(sqlx::query(&sql))
            .fetch_all(&mut *conn)
            .await?
            .into_iter()
            .map(|row| row.try_get(0))
            .collect::<Result<_, _>>()?;
        for key in updated {
            if let Some(i) = positions.get(&key) {
                outcomes[*i] = Outcome::Updated;
            }
        }
    }
    let mut numbers = Vec::new();
    if !new.is_empty() {
        let rows = RowSet::new(types, table, &columns, new.iter().copied())?;
        let sql = format!(
            "insert into public.{table} as t ({cols})
             select {values} from {source} as m
              order by m.ordinality
             returning {matched}, t.{number_column}",
            cols = columns.join(", "),
            source = rows.source(1),
            values = columns
                .iter()
                .map(|c| value(c, "now()"))
                .collect::<Vec<_>>()
                .join(", "),
            matched = match_sql(entity),
        );
        let inserted = rows.bind(sqlx::query(&sql)).fetch_all(&mut *conn).await?;
        for row in inserted {
            let key: String = row.try_get(0)?;
            let number: i64 = row.try_get(1)?;
            if let Some(i) = positions.get(&key) {
                outcomes[*i] = Outcome::Inserted;
                if entity == Entity::Reservation {
                    let tenant = batch[*i].mapped.tenant.clone().unwrap_or_default();
                    numbers.push((tenant, number));
                }
            }
        }
    }
    Ok(Written {
        outcomes,
        numbers,
        ..Default::default()
    })
}

/// Append what the ledger does not have yet, in order (see the module header).
async fn ledger(
    conn: &mut PgConnection,
    batch: &[&Pending],
    types: &ColumnTypes,
) -> Result<Written, sqlx::Error> {
    let entity = Entity::LoyaltyTransaction;
    let table = entity.table();
    let positions: HashMap<String, usize> = batch
        .iter()
        .enumerate()
        .map(|(i, p)| (match_key(entity, &p.mapped.row), i))
        .collect();
    // the balances are the database's to compute: whatever the record says is left out
    let mut columns: Vec<String> = columns_of(batch.iter().map(|p| &p.mapped.row))
        .into_iter()
        .filter(|c| c != "balance_before" && c != "balance_after")
        .collect();
    // what the statement reads, whether or not the records had it
    for needed in ["tenant_id", "id", "member_id", "points"] {
        if !columns.iter().any(|c| c == needed) {
            columns.push(needed.to_owned());
        }
    }
    let rows = RowSet::new(types, table, &columns, batch.iter().map(|p| &p.mapped.row))?;
    // Each entry's balance continues its member's, in order, as the ledger trigger would
    // compute it entry after entry; the statement trigger checks and applies the balances
    // under the members' locks (`pms.ledger_balances_supplied`, see `import_session`). The
    // member's balance is a scalar subquery, looked up by key: a join was planned, for the
    // first batches of a connection, as a hash of every member (45 ms a batch at 50,000).
    let sql = format!(
        "insert into public.{table} as t ({cols}, balance_before, balance_after)
         select {values}, m.supplied_before, m.supplied_before + m.points
           from (select n.*,
                        coalesce((select member.points_balance from public.loyalty_members member
                                   where member.tenant_id = n.tenant_id and member.id = n.member_id), 0)
                          + coalesce(sum(n.points) over (partition by n.tenant_id, n.member_id order by n.ordinality
                                                         rows between unbounded preceding and 1 preceding), 0)
                          as supplied_before
                   from {source} as n
                  where not exists (select 1 from public.{table} e where e.tenant_id = n.tenant_id and e.id = n.id)) m
          order by m.ordinality
         returning {matched}, t.balance_before, t.balance_after",
        cols = columns.join(", "),
        source = rows.source(1),
        values = columns
            .iter()
            .map(|c| if c == "created_at" {
                "coalesce(m.created_at, now())".to_owned()
            } else {
                format!("m.{c}")
            })
            .collect::<Vec<_>>()
            .join(", "),
        matched = match_sql(entity),
    );
    let inserted = rows.bind(sqlx::query(&sql)).fetch_all(&mut *conn).await?;
    let mut outcomes = vec![Outcome::Unchanged; batch.len()];
    let mut differences = Vec::new();
    for row in inserted {
        let key: String = row.try_get(0)?;
        let before: i64 = row.try_get(1)?;
        let after: i64 = row.try_get(2)?;
        let Some(i) = positions.get(&key) else {
            continue;
        };
        outcomes[*i] = Outcome::Inserted;
        if let Extra::Ledger {
            balance_before,
            balance_after,
        } = batch[*i].mapped.extra
        {
            let differs = |legacy: Option<i64>, ours: i64| legacy.is_some_and(|l| l != ours);
            if differs(balance_before, before) || differs(balance_after, after) {
                differences.push(LedgerDifference {
                    key: batch[*i].key.clone(),
                    legacy_before: balance_before,
                    legacy_after: balance_after,
                    before,
                    after,
                });
            }
        }
    }
    Ok(Written {
        outcomes,
        ledger: differences,
        ..Default::default()
    })
}

/// The `tenant_id` and `id` columns of rows, for `unnest`.
pub(crate) fn tenant_and_ids<'a>(
    rows: impl IntoIterator<Item = &'a Columns>,
) -> (Vec<uuid::Uuid>, Vec<uuid::Uuid>) {
    let uuid = |row: &Columns, column: &str| {
        row.get(column)
            .and_then(Value::as_str)
            .and_then(|s| uuid::Uuid::parse_str(s).ok())
            .unwrap_or_default()
    };
    rows.into_iter()
        .map(|row| (uuid(row, "tenant_id"), uuid(row, "id")))
        .unzip()
}

/// Records that could not be imported, with why (a record seen again updates its reason).
pub async fn quarantine(
    conn: &mut PgConnection,
    records: &[(String, String, String)],
) -> Result<(), sqlx::Error> {
    if records.is_empty() {
        return Ok(());
    }
    let (keys, rest): (Vec<&str>, Vec<(&str, &str)>) = records
        .iter()
        .map(|(k, v, r)| (k.as_str(), (v.as_str(), r.as_str())))
        .unzip();
    let (values, reasons): (Vec<&str>, Vec<&str>) = rest.into_iter().unzip();
    sqlx::query(
        "insert into kv_import.import_quarantine as q (key, value, reason)
         select * from unnest($1::text[], $2::text[], $3::text[])
         on conflict (key) do update
            set value = excluded.value, reason = excluded.reason, last_seen_at = now()",
    )
    .bind(keys)
    .bind(values)
    .bind(reasons)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Takes imported records out of the quarantine.
pub async fn release(conn: &mut PgConnection, keys: &[String]) -> Result<(), sqlx::Error> {
    if !keys.is_empty() {
        sqlx::query("delete from kv_import.import_quarantine where key = any($1)")
            .bind(keys)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// A record to queue: (part, tenant's legacy id, creation time, the record).
pub type Queued = (
    i16,
    String,
    chrono::DateTime<chrono::Utc>,
    super::source::Record,
);

/// Queues records to be written later in creation order.
pub async fn enqueue(
    conn: &mut PgConnection,
    entity: Entity,
    records: &[Queued],
) -> Result<(), sqlx::Error> {
    if records.is_empty() {
        return Ok(());
    }
    let parts: Vec<i16> = records.iter().map(|r| r.0).collect();
    let tenants: Vec<&str> = records.iter().map(|r| r.1.as_str()).collect();
    let times: Vec<chrono::DateTime<chrono::Utc>> = records.iter().map(|r| r.2).collect();
    let keys: Vec<&str> = records.iter().map(|r| r.3.key.as_str()).collect();
    let values: Vec<&str> = records.iter().map(|r| r.3.value.as_str()).collect();
    sqlx::query(
        "insert into kv_import.queue (entity, part, tenant, sort_at, key, value)
         select $1, * from unnest($2::smallint[], $3::text[], $4::timestamptz[], $5::text[], $6::text[])",
    )
    .bind(entity.prefix())
    .bind(parts)
    .bind(tenants)
    .bind(times)
    .bind(keys)
    .bind(values)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
