//! Reading the legacy store: `kv_store_0bdba248 (key text primary key, value jsonb)`, in this
//! database or another.
//!
//! Records are read one key prefix at a time in pages ordered by key (keyset pagination: each
//! page starts after the last key of the one before), so memory does not grow with the store and
//! a page costs the same at the end of the store as at its start. Where the key column sorts by
//! bytes (collation C, the usual for such tables), a prefix is one contiguous index range; under
//! a linguistic collation the pages filter by prefix instead, which is correct but reads the
//! index once per prefix.

use std::collections::HashMap;
use std::sync::Arc;

use sqlx::PgPool;

use super::keys::{Entity, LEFT_IN_STORE};
use super::map::{map_record, MapOptions};
use super::scope::Scope;
use crate::error::{Error, RedactedUrl, Result};

/// The table the old admin panel used.
pub const DEFAULT_TABLE: &str = "kv_store_0bdba248";

/// One stored record: its key and its value as JSON text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub key: String,
    pub value: String,
}

/// The legacy store, open for reading (cheap to clone: the pool is shared).
#[derive(Clone)]
pub struct Source {
    pool: PgPool,
    /// The table, quoted for SQL.
    table: String,
    /// The table as named by the operator, for messages.
    pub name: String,
    pub url: RedactedUrl,
    byte_ordered: bool,
    json_values: bool,
    /// The records a run takes (None: all of them).
    scope: Option<Arc<Scope>>,
}

/// A tenant of the store: its legacy id and subdomain (where its value has one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreTenant {
    pub id: String,
    pub subdomain: Option<String>,
}

/// Quotes `schema.table` or `table` for SQL; refuses anything but plain identifiers.
pub fn quote_table(name: &str) -> Result<String> {
    let plain = |part: &str| {
        !part.is_empty()
            && part.len() <= 63
            && part.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    let parts: Vec<&str> = name.split('.').collect();
    if parts.len() > 2 || !parts.iter().all(|p| plain(p)) {
        return Err(Error::Invalid(format!(
            "--store-table {name:?} is not a table name: use letters, digits and underscores, optionally schema.table"
        )));
    }
    Ok(parts
        .iter()
        .map(|p| format!("\"{p}\""))
        .collect::<Vec<_>>()
        .join("."))
}

impl Source {
    /// Checks that `table` exists in the database of `pool` with a `key` and a `value` column.
    pub async fn open(pool: PgPool, url: RedactedUrl, table: &str) -> Result<Self> {
        let quoted = quote_table(table)?;
        let found: Option<String> = sqlx::query_scalar("select to_regclass($1)::text")
            .bind(&quoted)
            .fetch_one(&pool)
            .await?;
        if found.is_none() {
            return Err(Error::Invalid(format!(
                "the legacy store {table} does not exist in {url}: load the dump into it (`pms-server kv-import load FILE`) or point --source-url at the database that has it"
            )));
        }
        let columns: Vec<(String, String, Option<String>)> = sqlx::query_as(
            "select a.attname::text, format_type(a.atttypid, a.atttypmod),
                    case when c.collname = 'default' then
                        (select case when d.datlocprovider = 'c' then d.datcollate end
                           from pg_database d where d.datname = current_database())
                    else coalesce(c.collcollate, c.collname) end
               from pg_attribute a
               left join pg_collation c on c.oid = a.attcollation
              where a.attrelid = $1::regclass and a.attnum > 0 and not a.attisdropped",
        )
        .bind(&quoted)
        .fetch_all(&pool)
        .await?;
        let column = |name: &str| columns.iter().find(|(n, _, _)| n == name);
        let (Some(key), Some(value)) = (column("key"), column("value")) else {
            return Err(Error::Invalid(format!(
                "{table} in {url} has no key and value columns: is it the legacy store?"
            )));
        };
        if !matches!(key.1.as_str(), "text" | "character varying") {
            return Err(Error::Invalid(format!(
                "{table}.key in {url} is {}, expected text",
                key.1
            )));
        }
        let byte_ordered = key
            .2
            .as_deref()
            .is_some_and(|c| matches!(c, "C" | "POSIX" | "C.UTF-8" | "C.utf8" | "ucs_basic"));
        let json_values = matches!(value.1.as_str(), "jsonb" | "json");
        Ok(Self {
            pool,
            table: quoted,
            name: table.to_owned(),
            url,
            byte_ordered,
            json_values,
            scope: None,
        })
    }

    /// The pool of the store's database.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The table, quoted for SQL.
    pub fn quoted_table(&self) -> &str {
        &self.table
    }

    /// This store, read only for `scope` from now on.
    pub fn scoped(mut self, scope: Scope) -> Self {
        self.scope = Some(Arc::new(scope));
        self
    }

    pub fn scope(&self) -> Option<&Scope> {
        self.scope.as_deref()
    }

    /// Every `tenant:` record's id and subdomain, in key order.
    pub async fn tenants(&self) -> Result<Vec<StoreTenant>> {
        let mut tenants = Vec::new();
        for record in self.all_of(Entity::Tenant.prefix()).await? {
            let id = record
                .key
                .split_once(':')
                .map_or("", |(_, id)| id)
                .to_owned();
            let subdomain = super::decode::decode_value(&record.value)
                .ok()
                .and_then(|(map, _)| map.get("subdomain")?.as_str().map(str::to_owned));
            tenants.push(StoreTenant { id, subdomain });
        }
        Ok(tenants)
    }

    /// A scope for `tenants` (legacy ids) over this store.
    pub async fn scope_for(&self, tenants: impl IntoIterator<Item = String>) -> Result<Scope> {
        let mut webhooks = HashMap::new();
        for record in self.all_of(Entity::Webhook.prefix()).await? {
            if let Ok(mapped) = map_record(
                Entity::Webhook,
                &record.key,
                &record.value,
                MapOptions::default(),
            ) {
                if let (Some(tenant), Some((_, id))) = (mapped.tenant, record.key.split_once(':')) {
                    webhooks.insert(id.to_owned(), tenant);
                }
            }
        }
        Ok(Scope {
            tenants: tenants.into_iter().collect(),
            store_tenants: self.tenants().await?.into_iter().map(|t| t.id).collect(),
            webhooks,
        })
    }

    /// Every record of a prefix, whatever the scope.
    async fn all_of(&self, prefix: &str) -> Result<Vec<Record>> {
        let mut all = Vec::new();
        loop {
            let after = all.last().map_or(String::new(), |r: &Record| r.key.clone());
            let page = self.raw_page(prefix, &after, 5_000).await?;
            if page.is_empty() {
                return Ok(all);
            }
            all.extend(page);
        }
    }

    /// Records per key prefix (the text before the first `:`), in prefix order.
    pub async fn census(&self) -> Result<Vec<(String, i64)>> {
        if let Some(scope) = &self.scope {
            return self.scoped_census(scope).await;
        }
        Ok(sqlx::query_as(&format!(
            "select split_part(key, ':', 1), count(*) from {} group by 1 order by 1",
            self.table
        ))
        .fetch_all(&self.pool)
        .await?)
    }

    /// [`Source::census`] of the records in `scope`: the whole store is read once.
    async fn scoped_census(&self, scope: &Scope) -> Result<Vec<(String, i64)>> {
        let mut counts: std::collections::BTreeMap<String, i64> = Default::default();
        self.each_record(|key, value| {
            if scope.includes(key, value) {
                *counts
                    .entry(super::keys::prefix_of(key).to_owned())
                    .or_default() += 1;
            }
        })
        .await?;
        Ok(counts.into_iter().collect())
    }

    /// Records per tenant (legacy id; None: platform records), by [`Scope::tenant_of`].
    pub async fn records_per_tenant(
        &self,
        scope: &Scope,
    ) -> Result<std::collections::BTreeMap<Option<String>, i64>> {
        let mut counts = std::collections::BTreeMap::new();
        self.each_record(|key, value| {
            *counts.entry(scope.tenant_of(key, value)).or_default() += 1;
        })
        .await?;
        Ok(counts)
    }

    /// Calls `each` with every record of the store in key order (values of the prefixes left in
    /// the store are not read: `{}` instead).
    async fn each_record(&self, mut each: impl FnMut(&str, &str)) -> Result<()> {
        let mut after = String::new();
        loop {
            let rows: Vec<(String, Option<String>)> = sqlx::query_as(&format!(
                "select key, case when split_part(key, ':', 1) = any($3) then null else value::text end
                   from {} where key > $1 order by key limit $2",
                self.table
            ))
            .bind(&after)
            .bind(5_000_i64)
            .bind(LEFT_IN_STORE)
            .fetch_all(&self.pool)
            .await?;
            let Some((last, _)) = rows.last() else { break };
            after = last.clone();
            for (key, value) in &rows {
                each(key, value.as_deref().unwrap_or("{}"));
            }
        }
        Ok(())
    }

    /// Up to `limit` records of `prefix` in the run's scope whose keys sort after `after`, in key
    /// order. A page of a scoped run may be shorter than `limit`; it is empty only at the end.
    pub async fn page(&self, prefix: &str, after: &str, limit: i64) -> Result<Vec<Record>> {
        let Some(scope) = &self.scope else {
            return self.raw_page(prefix, after, limit).await;
        };
        let mut after = after.to_owned();
        loop {
            let page = self.raw_page(prefix, &after, limit).await?;
            let Some(last) = page.last() else {
                return Ok(page);
            };
            after = last.key.clone();
            let kept: Vec<Record> = page
                .into_iter()
                .filter(|r| scope.includes(&r.key, &r.value))
                .collect();
            if !kept.is_empty() {
                return Ok(kept);
            }
        }
    }

    async fn raw_page(&self, prefix: &str, after: &str, limit: i64) -> Result<Vec<Record>> {
        let sql = if self.byte_ordered {
            // [prefix:, prefix;) holds exactly the keys that start with `prefix:` (';' follows
            // ':'). No other condition: one the planner cannot estimate (a split_part of the key)
            // made it read and sort every remaining key of the prefix for each page.
            format!(
                "select key, value::text from {} where key > $2 and key >= $1 || ':' and key < $1 || ';'
                  order by key limit $3",
                self.table
            )
        } else {
            format!(
                "select key, value::text from {} where key > $2 and split_part(key, ':', 1) = $1
                  order by key limit $3",
                self.table
            )
        };
        let rows: Vec<(String, String)> = sqlx::query_as(&sql)
            .bind(prefix)
            .bind(after)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .into_iter()
            .map(|(key, value)| Record { key, value })
            .collect())
    }

    /// Each tenant's most used booking currency (for the property the import creates).
    pub async fn booking_currencies(&self) -> Result<HashMap<String, String>> {
        if !self.json_values {
            return Ok(HashMap::new());
        }
        let rows: Vec<(String, String)> = sqlx::query_as(&format!(
            "select distinct on (tenant) tenant, currency
               from (select split_part(key, ':', 2) as tenant, upper(value ->> 'currency') as currency, count(*) as n
                       from {}
                      where key >= 'reservation:' and key < 'reservation;' and jsonb_typeof(value::jsonb) = 'object'
                        and value ->> 'currency' ~ '^[A-Za-z]{{3}}$'
                      group by 1, 2) c
              order by tenant, n desc, currency",
            self.table
        ))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_names_are_quoted_or_refused() {
        assert_eq!(
            quote_table("kv_store_0bdba248").ok().as_deref(),
            Some("\"kv_store_0bdba248\"")
        );
        assert_eq!(
            quote_table("legacy.kv").ok().as_deref(),
            Some("\"legacy\".\"kv\"")
        );
        for bad in ["", "a.b.c", "kv; drop table x", "1kv", "kv\""] {
            assert!(quote_table(bad).is_err(), "{bad}");
        }
    }
}
