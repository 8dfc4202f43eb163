//! The migrations and the shape of the schema, read from the catalog so that a new table, policy
//! or grant is covered without touching this file:
//!
//! - the migrations apply to an empty database, and a second `migrate` applies nothing and leaves
//!   the catalog (tables, columns, constraints, indexes, policies, triggers, functions, grants)
//!   exactly as it was;
//! - every table has forced RLS, `created_at`/`updated_at` kept by the shared trigger, and a
//!   tenant-leading primary key (global reference tables excepted, by name);
//! - foreign keys between tenant tables carry the tenant;
//! - policies call the tenant and role functions once per statement (`(select …)`);
//! - nothing is granted to PUBLIC or `anon`, and `authenticated` cannot truncate, reference or
//!   add triggers;
//! - the login role of `serve` is what `migrate` promises, `ensure_app_role` refuses an unsafe
//!   existing role and stores a password as a SCRAM verifier.

use std::collections::{BTreeMap, BTreeSet};

use pms_tests::{server_url, TestDb, APP_ROLE};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgConnection, PgPool, Row};
use uuid::Uuid;

/// The schemas the migrations create objects in.
const SCHEMAS: &str = "('public', 'app', 'auth')";

/// Platform reference tables: their rows are global (`tenant_id` null) or one tenant's override.
const GLOBAL_TABLES: &[&str] = &["plans", "feature_flags", "data_retention_policies"];

/// Tables whose rows never change after insert: instead of the `updated_at` trigger they have a
/// trigger that rejects updates and deletes.
const APPEND_ONLY_TABLES: &[&str] = &[
    "loyalty_transactions",
    "folio_entries",
    "night_audits",
    "guest_invoices",
];

/// The only targets a single-column foreign key from a table with `tenant_id` may have.
const SINGLE_COLUMN_FK_TARGETS: &[(&str, &str)] = &[("tenants", "id"), ("plans", "id")];

// Catalog helpers ------------------------------------------------------------------------------

/// Every ordinary or partitioned table of `public`, except sqlx's bookkeeping.
async fn public_tables(pool: &PgPool) -> Vec<String> {
    sqlx::query_scalar(
        "select c.relname::text from pg_class c
           join pg_namespace n on n.oid = c.relnamespace
          where n.nspname = 'public' and c.relkind in ('r', 'p') and c.relname <> '_sqlx_migrations'
          order by 1",
    )
    .fetch_all(pool)
    .await
    .expect("list tables")
}

struct Column {
    type_name: String,
    not_null: bool,
    default: Option<String>,
}

async fn columns(pool: &PgPool, table: &str) -> BTreeMap<String, Column> {
    sqlx::query(
        "select a.attname::text, format_type(a.atttypid, a.atttypmod), a.attnotnull,
                pg_get_expr(d.adbin, d.adrelid)
           from pg_attribute a
           left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
          where a.attrelid = $1::regclass and a.attnum > 0 and not a.attisdropped",
    )
    .bind(format!("public.{table}"))
    .fetch_all(pool)
    .await
    .expect("columns")
    .into_iter()
    .map(|row| {
        (
            row.get::<String, _>(0),
            Column {
                type_name: row.get(1),
                not_null: row.get(2),
                default: row.get(3),
            },
        )
    })
    .collect()
}

/// The primary key's columns in key order (empty without a primary key).
async fn primary_key(pool: &PgPool, table: &str) -> Vec<String> {
    sqlx::query_scalar(
        "select a.attname::text
           from pg_constraint con
           cross join lateral unnest(con.conkey) with ordinality as k(attnum, position)
           join pg_attribute a on a.attrelid = con.conrelid and a.attnum = k.attnum
          where con.conrelid = $1::regclass and con.contype = 'p'
          order by k.position",
    )
    .bind(format!("public.{table}"))
    .fetch_all(pool)
    .await
    .expect("primary key")
}

/// A description of each trigger of `table`, for messages.
async fn triggers(pool: &PgPool, table: &str) -> Vec<String> {
    sqlx::query_scalar(
        "select pg_get_triggerdef(t.oid) from pg_trigger t
          where t.tgrelid = $1::regclass and not t.tgisinternal order by t.tgname",
    )
    .bind(format!("public.{table}"))
    .fetch_all(pool)
    .await
    .expect("triggers")
}

/// Whether `table` has an enabled row-level BEFORE UPDATE trigger, on any column and without a
/// WHEN condition, that runs `public.update_updated_at_column()`.
async fn has_updated_at_trigger(pool: &PgPool, table: &str) -> bool {
    sqlx::query_scalar(
        "select exists (
            select 1 from pg_trigger t
             where t.tgrelid = $1::regclass and not t.tgisinternal and t.tgenabled <> 'D'
               and t.tgfoid = 'public.update_updated_at_column()'::regprocedure
               and t.tgtype & 1 = 1      -- for each row
               and t.tgtype & 2 = 2      -- before
               and t.tgtype & 16 = 16    -- update
               and cardinality(t.tgattr::int2[]) = 0
               and t.tgqual is null)",
    )
    .bind(format!("public.{table}"))
    .fetch_one(pool)
    .await
    .expect("updated_at trigger")
}

/// Whether `table` has an enabled BEFORE UPDATE OR DELETE trigger, on any column and without a
/// WHEN condition, whose function raises an exception.
async fn has_append_only_trigger(pool: &PgPool, table: &str) -> bool {
    sqlx::query_scalar(
        "select exists (
            select 1 from pg_trigger t
              join pg_proc p on p.oid = t.tgfoid
             where t.tgrelid = $1::regclass and not t.tgisinternal and t.tgenabled <> 'D'
               and t.tgtype & 2 = 2      -- before
               and t.tgtype & 8 = 8      -- delete
               and t.tgtype & 16 = 16    -- update
               and cardinality(t.tgattr::int2[]) = 0
               and t.tgqual is null
               and p.prosrc ~* 'raise\\s+exception')",
    )
    .bind(format!("public.{table}"))
    .fetch_one(pool)
    .await
    .expect("append-only trigger")
}

// Fingerprint of the catalog -------------------------------------------------------------------

/// One sorted list of lines per kind of object: everything the migrations and `migrate` create.
async fn fingerprint(pool: &PgPool) -> BTreeMap<&'static str, Vec<String>> {
    let sections: Vec<(&'static str, String)> = vec![
        (
            "schemas",
            "select format('%s owner=%s acl=%s', nspname, nspowner::regrole, nspacl::text)
               from pg_namespace where nspname not like 'pg\\_%' and nspname <> 'information_schema'"
                .to_owned(),
        ),
        (
            "extensions",
            "select format('%s %s in %s', extname, extversion, extnamespace::regnamespace) from pg_extension"
                .to_owned(),
        ),
        (
            "relations",
            format!(
                "select format('%s.%s kind=%s owner=%s rls=%s forced=%s options=%s acl=%s',
                               n.nspname, c.relname, c.relkind, c.relowner::regrole, c.relrowsecurity,
                               c.relforcerowsecurity, c.reloptions::text, c.relacl::text)
                   from pg_class c join pg_namespace n on n.oid = c.relnamespace
                  where n.nspname in {SCHEMAS}"
            ),
        ),
        (
            "columns",
            format!(
                "select format('%s.%s #%s %s %s not_null=%s default=%s generated=%s identity=%s acl=%s',
                               n.nspname, c.relname, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod),
                               a.attnotnull, pg_get_expr(d.adbin, d.adrelid), a.attgenerated, a.attidentity,
                               a.attacl::text)
                   from pg_attribute a
                   join pg_class c on c.oid = a.attrelid
                   join pg_namespace n on n.oid = c.relnamespace
                   left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
                  where n.nspname in {SCHEMAS} and c.relkind in ('r', 'p', 'v', 'm', 'f')
                    and a.attnum > 0 and not a.attisdropped"
            ),
        ),
        (
            "constraints",
            format!(
                "select format('%s on %s: %s', con.conname, con.conrelid::regclass, pg_get_constraintdef(con.oid))
                   from pg_constraint con join pg_namespace n on n.oid = con.connamespace
                  where n.nspname in {SCHEMAS}"
            ),
        ),
        (
            "indexes",
            format!(
                "select pg_get_indexdef(i.indexrelid)
                   from pg_index i
                   join pg_class c on c.oid = i.indexrelid
                   join pg_namespace n on n.oid = c.relnamespace
                  where n.nspname in {SCHEMAS}"
            ),
        ),
        (
            "policies",
            "select format('%s.%s %s %s for %s to %s using (%s) with check (%s)', schemaname, tablename,
                           policyname, permissive, cmd, roles::text, qual, with_check)
               from pg_policies"
                .to_owned(),
        ),
        (
            "triggers",
            format!(
                "select format('%s enabled=%s', pg_get_triggerdef(t.oid), t.tgenabled)
                   from pg_trigger t
                   join pg_class c on c.oid = t.tgrelid
                   join pg_namespace n on n.oid = c.relnamespace
                  where not t.tgisinternal and n.nspname in {SCHEMAS}"
            ),
        ),
        (
            "functions",
            format!(
                "select format('%s owner=%s security_definer=%s config=%s acl=%s%s', p.oid::regprocedure,
                               p.proowner::regrole, p.prosecdef, p.proconfig::text, p.proacl::text,
                               E'\\n' || pg_get_functiondef(p.oid))
                   from pg_proc p join pg_namespace n on n.oid = p.pronamespace
                  where n.nspname in {SCHEMAS} and p.prokind in ('f', 'p')
                    and not exists (select 1 from pg_depend d
                                     where d.classid = 'pg_proc'::regclass and d.objid = p.oid and d.deptype = 'e')"
            ),
        ),
        (
            "table grants",
            format!(
                "select format('%s.%s %s to %s by %s grantable=%s', table_schema, table_name, privilege_type,
                               grantee, grantor, is_grantable)
                   from information_schema.role_table_grants where table_schema in {SCHEMAS}"
            ),
        ),
        (
            "column grants",
            format!(
                "select format('%s.%s.%s %s to %s by %s grantable=%s', table_schema, table_name, column_name,
                               privilege_type, grantee, grantor, is_grantable)
                   from information_schema.column_privileges where table_schema in {SCHEMAS}"
            ),
        ),
        (
            "routine grants",
            format!(
                "select format('%s.%s %s to %s by %s grantable=%s', routine_schema, specific_name, privilege_type,
                               grantee, grantor, is_grantable)
                   from information_schema.routine_privileges where routine_schema in {SCHEMAS}"
            ),
        ),
        (
            "default privileges",
            "select format('%s in %s on %s: %s', defaclrole::regrole, defaclnamespace::regnamespace,
                           defaclobjtype, defaclacl::text)
               from pg_default_acl"
                .to_owned(),
        ),
        (
            "database",
            "select format('%s owner=%s acl=%s', datname, datdba::regrole, datacl::text)
               from pg_database where datname = current_database()"
                .to_owned(),
        ),
        (
            "roles",
            format!(
                "select format('%s login=%s inherit=%s super=%s bypassrls=%s createrole=%s createdb=%s member_of=%s',
                               r.rolname, r.rolcanlogin, r.rolinherit, r.rolsuper, r.rolbypassrls, r.rolcreaterole,
                               r.rolcreatedb,
                               array(select g.rolname::text from pg_auth_members m join pg_roles g on g.oid = m.roleid
                                      where m.member = r.oid order by 1)::text)
                   from pg_roles r where r.rolname in ('anon', 'authenticated', 'service_role', '{APP_ROLE}')"
            ),
        ),
        (
            "migrations",
            "select format('%s %s success=%s checksum=%s', version, description, success, encode(checksum, 'hex'))
               from public._sqlx_migrations"
                .to_owned(),
        ),
    ];
    let mut fingerprint = BTreeMap::new();
    for (section, sql) in sections {
        let mut lines: Vec<String> = sqlx::query_scalar(&sql)
            .fetch_all(pool)
            .await
            .unwrap_or_else(|e| panic!("fingerprint section {section}: {e}"));
        lines.sort();
        fingerprint.insert(section, lines);
    }
    fingerprint
}

fn fingerprint_differences(
    before: &BTreeMap<&'static str, Vec<String>>,
    after: &BTreeMap<&'static str, Vec<String>>,
) -> Vec<String> {
    let mut differences = Vec::new();
    for (section, lines_before) in before {
        let lines_before: BTreeSet<&String> = lines_before.iter().collect();
        let lines_after: BTreeSet<&String> = after[section].iter().collect();
        for gone in lines_before.difference(&lines_after).take(10) {
            differences.push(format!("{section}: gone after the second migrate: {gone}"));
        }
        for new in lines_after.difference(&lines_before).take(10) {
            differences.push(format!("{section}: new after the second migrate: {new}"));
        }
    }
    differences
}

// Tests ----------------------------------------------------------------------------------------

#[tokio::test]
async fn migrations_apply_to_an_empty_database_and_a_second_run_changes_nothing() {
    let db = TestDb::empty().await;
    let mut failures = Vec::new();

    let expected: Vec<i64> = pms_server::db::MIGRATOR
        .iter()
        .filter(|m| !m.migration_type.is_down_migration())
        .map(|m| m.version)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    assert!(!expected.is_empty(), "MIGRATOR embeds no migrations");

    let first = pms_server::db::migrate(&db.pool, APP_ROLE, None)
        .await
        .expect("migrations apply to an empty database");
    if first.applied != expected {
        failures.push(format!(
            "first migrate reported {:?} applied, expected every migration {expected:?}",
            first.applied
        ));
    }
    if first.app_role != APP_ROLE {
        failures.push(format!(
            "first migrate reported app role {:?}, expected {APP_ROLE:?}",
            first.app_role
        ));
    }
    let recorded: Vec<(i64, bool)> =
        sqlx::query_as("select version, success from public._sqlx_migrations order by version")
            .fetch_all(&db.pool)
            .await
            .expect("read _sqlx_migrations");
    let recorded_ok: Vec<i64> = recorded
        .iter()
        .filter(|(_, ok)| *ok)
        .map(|(v, _)| *v)
        .collect();
    if recorded_ok != expected || recorded.len() != expected.len() {
        failures.push(format!(
            "_sqlx_migrations holds {recorded:?}, expected each of {expected:?} once and successful"
        ));
    }
    let role_exists: bool =
        sqlx::query_scalar("select exists (select 1 from pg_roles where rolname = $1)")
            .bind(APP_ROLE)
            .fetch_one(&db.pool)
            .await
            .expect("look up the app role");
    if !role_exists {
        failures.push(format!("migrate did not create the login role {APP_ROLE}"));
    }
    let can_connect: bool =
        sqlx::query_scalar("select has_database_privilege($1, current_database(), 'CONNECT')")
            .bind(APP_ROLE)
            .fetch_one(&db.pool)
            .await
            .expect("database privilege");
    if !can_connect {
        failures.push(format!(
            "{APP_ROLE} may not connect to the migrated database"
        ));
    }

    let before = fingerprint(&db.pool).await;
    for (section, lines) in &before {
        // default privileges may rightly be empty: the migrations only revoke, and a per-schema
        // revoke of what the global defaults grant stores nothing
        if lines.is_empty() && *section != "default privileges" {
            failures.push(format!(
                "fingerprint section {section} is empty: its query no longer sees the schema"
            ));
        }
    }
    let second = pms_server::db::migrate(&db.pool, APP_ROLE, None)
        .await
        .expect("a second migrate succeeds");
    if !second.applied.is_empty() {
        failures.push(format!("second migrate applied {:?} again", second.applied));
    }
    if second.app_role_created {
        failures.push("second migrate claims to have created the app role again".to_owned());
    }
    let after = fingerprint(&db.pool).await;
    failures.extend(fingerprint_differences(&before, &after));

    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn every_table_has_forced_rls_timestamps_an_updated_at_trigger_and_a_tenant_key() {
    let db = TestDb::migrated().await;
    let pool = &db.pool;
    let tables = public_tables(pool).await;
    assert!(tables.len() > 3, "found only {tables:?} in public");
    let mut failures = Vec::new();

    for table in GLOBAL_TABLES.iter().chain(["tenants"].iter()) {
        if !tables.iter().any(|t| t == table) {
            failures.push(format!(
                "{table} is named by this test but is not in the schema"
            ));
        }
    }

    for table in &tables {
        let (rls, forced): (bool, bool) = sqlx::query_as(
            "select relrowsecurity, relforcerowsecurity from pg_class where oid = $1::regclass",
        )
        .bind(format!("public.{table}"))
        .fetch_one(pool)
        .await
        .expect("rls flags");
        if !rls {
            failures.push(format!("{table}: row level security is not enabled"));
        }
        if !forced {
            failures.push(format!(
                "{table}: row level security is not forced (the owner would bypass it)"
            ));
        }

        let cols = columns(pool, table).await;
        for stamp in ["created_at", "updated_at"] {
            match cols.get(stamp) {
                None => failures.push(format!("{table}: no {stamp} column")),
                Some(c) => {
                    if c.type_name != "timestamp with time zone" {
                        failures.push(format!(
                            "{table}.{stamp} is {}, not timestamptz",
                            c.type_name
                        ));
                    }
                    if !c.not_null {
                        failures.push(format!("{table}.{stamp} is nullable"));
                    }
                    if c.default.is_none() {
                        failures.push(format!("{table}.{stamp} has no default"));
                    }
                }
            }
        }

        if APPEND_ONLY_TABLES.contains(&table.as_str()) {
            if !has_append_only_trigger(pool, table).await {
                failures.push(format!(
                    "{table} is exempt from the updated_at trigger as append-only, but has no \
                     BEFORE UPDATE OR DELETE trigger that raises; its triggers: {:?}",
                    triggers(pool, table).await
                ));
            }
        } else if !has_updated_at_trigger(pool, table).await {
            failures.push(format!(
                "{table}: no row-level BEFORE UPDATE trigger (all columns, no WHEN) executing \
                 public.update_updated_at_column(); its triggers: {:?}",
                triggers(pool, table).await
            ));
        }

        let pk = primary_key(pool, table).await;
        let tenant_id = cols.get("tenant_id");
        if let Some(c) = tenant_id {
            if c.type_name != "uuid" {
                failures.push(format!("{table}.tenant_id is {}, not uuid", c.type_name));
            }
        }
        if table == "tenants" {
            if pk != ["id"] {
                failures.push(format!("tenants: primary key is {pk:?}, expected [id]"));
            }
        } else if GLOBAL_TABLES.contains(&table.as_str()) {
            if pk != ["id"] {
                failures.push(format!(
                    "{table} (global reference table): primary key is {pk:?}, expected [id]"
                ));
            }
            match tenant_id {
                None => failures.push(format!(
                    "{table} (global reference table): no tenant_id column for tenant overrides"
                )),
                Some(c) if c.not_null => failures.push(format!(
                    "{table} (global reference table): tenant_id is not null, so there can be no global rows"
                )),
                Some(_) => {}
            }
            let references_tenants: bool = sqlx::query_scalar(
                "select exists (
                    select 1 from pg_constraint con
                     where con.conrelid = $1::regclass and con.contype = 'f'
                       and con.confrelid = 'public.tenants'::regclass
                       and con.conkey = array[(select attnum from pg_attribute
                                                where attrelid = con.conrelid and attname = 'tenant_id')]
                       and con.confkey = array[(select attnum from pg_attribute
                                                 where attrelid = con.confrelid and attname = 'id')])",
            )
            .bind(format!("public.{table}"))
            .fetch_one(pool)
            .await
            .expect("tenant foreign key");
            if !references_tenants {
                failures.push(format!(
                    "{table} (global reference table): tenant_id does not reference tenants(id)"
                ));
            }
        } else {
            match tenant_id {
                Some(c) if c.not_null => {
                    if pk != ["tenant_id", "id"] {
                        failures.push(format!(
                            "{table}: primary key is {pk:?}, expected [tenant_id, id]"
                        ));
                    }
                }
                Some(_) => failures.push(format!(
                    "{table}: tenant_id is nullable but the table is not a known global reference \
                     table ({GLOBAL_TABLES:?})"
                )),
                None => failures.push(format!(
                    "{table}: no tenant_id column: every table but tenants holds tenant data \
                     (or is a global reference table listed in this test)"
                )),
            }
        }
    }

    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn foreign_keys_between_tenant_tables_lead_with_tenant_id() {
    let db = TestDb::migrated().await;
    let rows = sqlx::query(
        "select con.conname::text,
                src.relname::text,
                dst.relname::text,
                array(select a.attname::text from unnest(con.conkey) with ordinality k(n, o)
                        join pg_attribute a on a.attrelid = con.conrelid and a.attnum = k.n order by k.o),
                array(select a.attname::text from unnest(con.confkey) with ordinality k(n, o)
                        join pg_attribute a on a.attrelid = con.confrelid and a.attnum = k.n order by k.o),
                con.confdeltype::text,
                con.confupdtype::text,
                array(select a.attname::text from unnest(con.confdelsetcols) k(n)
                        join pg_attribute a on a.attrelid = con.conrelid and a.attnum = k.n),
                exists (select 1 from pg_attribute a where a.attrelid = con.conrelid
                           and a.attname = 'tenant_id' and not a.attisdropped),
                exists (select 1 from pg_attribute a where a.attrelid = con.confrelid
                           and a.attname = 'tenant_id' and a.attnotnull and not a.attisdropped)
           from pg_constraint con
           join pg_class src on src.oid = con.conrelid
           join pg_class dst on dst.oid = con.confrelid
           join pg_namespace n on n.oid = src.relnamespace
          where con.contype = 'f' and n.nspname = 'public'
          order by 2, 1",
    )
    .fetch_all(&db.pool)
    .await
    .expect("foreign keys");
    assert!(!rows.is_empty(), "the schema has no foreign keys at all");
    let mut failures = Vec::new();
    let mut tenant_fks = 0;

    for row in rows {
        let name: String = row.get(0);
        let from: String = row.get(1);
        let to: String = row.get(2);
        let from_cols: Vec<String> = row.get(3);
        let to_cols: Vec<String> = row.get(4);
        let on_delete: String = row.get(5);
        let on_update: String = row.get(6);
        let set_cols: Vec<String> = row.get(7);
        let from_has_tenant: bool = row.get(8);
        let to_is_tenant_table: bool = row.get(9);
        let what = format!(
            "{from}.{name}: ({}) -> {to}({})",
            from_cols.join(", "),
            to_cols.join(", ")
        );
        if !from_has_tenant {
            continue;
        }
        if to_is_tenant_table {
            tenant_fks += 1;
            let leads = from_cols.len() >= 2
                && from_cols.first().map(String::as_str) == Some("tenant_id")
                && to_cols.first().map(String::as_str) == Some("tenant_id");
            if !leads {
                failures.push(format!(
                    "{what}: a key between tenant tables must be composite and lead with tenant_id on both sides"
                ));
            }
            // set null / set default on the whole key would try to clear tenant_id
            if matches!(on_delete.as_str(), "n" | "d")
                && (set_cols.is_empty() || set_cols.iter().any(|c| c == "tenant_id"))
            {
                failures.push(format!(
                    "{what}: on delete set null/default touches tenant_id (columns {set_cols:?}); list only the other columns"
                ));
            }
            if matches!(on_update.as_str(), "n" | "d") {
                failures.push(format!(
                    "{what}: on update set null/default would clear tenant_id"
                ));
            }
        } else if from_cols.len() == 1 {
            let allowed = SINGLE_COLUMN_FK_TARGETS
                .iter()
                .any(|(t, c)| *t == to && to_cols == [*c]);
            if !allowed {
                failures.push(format!(
                    "{what}: a single-column key from a table with tenant_id may only reference {SINGLE_COLUMN_FK_TARGETS:?}"
                ));
            }
        } else {
            failures.push(format!(
                "{what}: a composite key from a tenant table to a table without a not-null tenant_id"
            ));
        }
    }
    assert!(
        tenant_fks > 0,
        "no foreign key between tenant tables was found: the catalog query is broken"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The positions in `text` where `function` is called without `SELECT ` before it (a schema
/// qualification in between is allowed).
fn unwrapped_calls(text: &str, function: &str) -> usize {
    let mut unwrapped = 0;
    for (at, _) in text.match_indices(function) {
        let before = &text[..at];
        // strip a schema qualifier such as `app.`
        let before = match before.strip_suffix('.') {
            Some(qualified) => {
                qualified.trim_end_matches(|c: char| c.is_ascii_alphanumeric() || c == '_')
            }
            None => before,
        };
        if !before.ends_with("SELECT ") {
            unwrapped += 1;
        }
    }
    unwrapped
}

#[tokio::test]
async fn policies_call_the_tenant_and_role_functions_once_per_statement() {
    let db = TestDb::migrated().await;
    // (schema, table, policy, roles, using, with check)
    type Policy = (
        String,
        String,
        String,
        Vec<String>,
        Option<String>,
        Option<String>,
    );
    let policies: Vec<Policy> =
        sqlx::query_as(
            "select schemaname::text, tablename::text, policyname::text, roles::text[], qual, with_check
               from pg_policies order by 1, 2, 3",
        )
        .fetch_all(&db.pool)
        .await
        .expect("policies");
    assert!(!policies.is_empty(), "the schema has no policies at all");
    let mut failures = Vec::new();
    let mut calls_seen = 0;

    for (schema, table, policy, roles, qual, with_check) in &policies {
        if roles.iter().any(|r| r == "public" || r == "anon") {
            failures.push(format!(
                "{schema}.{table} policy {policy} applies to {roles:?}: policies are for authenticated"
            ));
        }
        for (clause, text) in [("using", qual), ("with check", with_check)] {
            let Some(text) = text else { continue };
            // auth.uid()/auth.jwt() are the same kind of per-row stable call
            for function in [
                "current_tenant_id()",
                "current_staff_role()",
                "auth.uid()",
                "auth.jwt()",
            ] {
                calls_seen += text.matches(function).count();
                let bare = unwrapped_calls(text, function);
                if bare > 0 {
                    failures.push(format!(
                        "{schema}.{table} policy {policy} ({clause}) calls {function} {bare} time(s) without \
                         wrapping it in (select …), so it runs per row: {text}"
                    ));
                }
            }
        }
    }
    assert!(
        calls_seen > 0,
        "no policy calls current_tenant_id() or current_staff_role(): the text match is broken"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn unwrapped_calls_reads_the_deparsed_form() {
    let wrapped = "(tenant_id = ( SELECT app.current_tenant_id() AS current_tenant_id))";
    assert_eq!(unwrapped_calls(wrapped, "current_tenant_id()"), 0);
    let bare = "((tenant_id = app.current_tenant_id()) AND (( SELECT app.current_tenant_id() AS x) IS NOT NULL))";
    assert_eq!(unwrapped_calls(bare, "current_tenant_id()"), 1);
    assert_eq!(
        unwrapped_calls("(current_staff_role() = 'owner')", "current_staff_role()"),
        1
    );
}

#[tokio::test]
async fn nothing_is_granted_to_public_or_anon_and_authenticated_cannot_truncate_reference_or_trigger(
) {
    let db = TestDb::migrated().await;
    let mut failures = Vec::new();

    let table_grants: Vec<String> = sqlx::query_scalar(
        "select format('%s.%s: %s to %s', table_schema, table_name, privilege_type, grantee)
           from information_schema.role_table_grants
          where table_schema not in ('pg_catalog', 'information_schema')
            and (grantee in ('PUBLIC', 'anon')
                 or (grantee = 'authenticated' and privilege_type in ('TRUNCATE', 'REFERENCES', 'TRIGGER')))
          order by 1",
    )
    .fetch_all(&db.pool)
    .await
    .expect("table grants");
    failures.extend(table_grants.into_iter().map(|g| format!("table grant {g}")));

    let column_grants: Vec<String> = sqlx::query_scalar(
        "select format('%s.%s.%s: %s to %s', table_schema, table_name, column_name, privilege_type, grantee)
           from information_schema.column_privileges
          where table_schema not in ('pg_catalog', 'information_schema')
            and (grantee in ('PUBLIC', 'anon')
                 or (grantee = 'authenticated' and privilege_type = 'REFERENCES'))
          order by 1",
    )
    .fetch_all(&db.pool)
    .await
    .expect("column grants");
    failures.extend(
        column_grants
            .into_iter()
            .map(|g| format!("column grant {g}")),
    );

    // the views above must see the grants of authenticated at all
    let authenticated_grants: i64 = sqlx::query_scalar(
        "select count(*) from information_schema.role_table_grants
          where table_schema = 'public' and grantee = 'authenticated'",
    )
    .fetch_one(&db.pool)
    .await
    .expect("count grants");
    assert!(
        authenticated_grants > 0,
        "information_schema shows no grant to authenticated: the check would see nothing"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn the_app_role_logs_in_inherits_nothing_and_owns_nothing() {
    let db = TestDb::migrated().await;
    let mut failures = Vec::new();

    let (login, inherit, superuser, bypass, createrole, createdb, replication): (
        bool,
        bool,
        bool,
        bool,
        bool,
        bool,
        bool,
    ) = sqlx::query_as(
        "select rolcanlogin, rolinherit, rolsuper, rolbypassrls, rolcreaterole, rolcreatedb, rolreplication
           from pg_roles where rolname = $1",
    )
    .bind(APP_ROLE)
    .fetch_one(&db.pool)
    .await
    .expect("migrate created the app role");
    for (wrong, what) in [
        (!login, "cannot log in"),
        (
            inherit,
            "is INHERIT (it would hold authenticated's privileges without set role)",
        ),
        (superuser, "is a superuser"),
        (bypass, "has BYPASSRLS"),
        (createrole, "has CREATEROLE"),
        (createdb, "has CREATEDB"),
        (replication, "has REPLICATION"),
    ] {
        if wrong {
            failures.push(format!("{APP_ROLE} {what}"));
        }
    }

    let member_of: Vec<String> = sqlx::query_scalar(
        "select g.rolname::text from pg_auth_members m
           join pg_roles g on g.oid = m.roleid
          where m.member = (select oid from pg_roles where rolname = $1)
          order by 1",
    )
    .bind(APP_ROLE)
    .fetch_all(&db.pool)
    .await
    .expect("memberships");
    if member_of != ["anon", "authenticated"] {
        failures.push(format!(
            "{APP_ROLE} is a member of {member_of:?}, expected exactly [anon, authenticated]"
        ));
    }

    let owned: Vec<String> = sqlx::query_scalar(
        "with r as (select oid from pg_roles where rolname = $1)
         select format('%s %s', s.classid::regclass, s.objid) from pg_shdepend s, r
          where s.deptype = 'o' and s.refclassid = 'pg_authid'::regclass and s.refobjid = r.oid
            and s.dbid in (0, (select oid from pg_database where datname = current_database()))
         union all
         select format('database %s', datname) from pg_database, r where datdba = r.oid
         union all
         select format('relation %s', c.oid::regclass) from pg_class c, r where c.relowner = r.oid
         union all
         select format('function %s', p.oid::regprocedure) from pg_proc p, r where p.proowner = r.oid
         union all
         select format('schema %s', n.nspname) from pg_namespace n, r where n.nspowner = r.oid
         union all
         select format('type %s', t.oid::regtype) from pg_type t, r where t.typowner = r.oid",
    )
    .bind(APP_ROLE)
    .fetch_all(&db.pool)
    .await
    .expect("owned objects");
    if !owned.is_empty() {
        failures.push(format!("{APP_ROLE} owns {owned:?}"));
    }

    let own_grants: Vec<String> = sqlx::query_scalar(
        "select format('%s.%s %s', table_schema, table_name, privilege_type)
           from information_schema.role_table_grants where grantee = $1
         union all
         select format('%s.%s.%s %s', table_schema, table_name, column_name, privilege_type)
           from information_schema.column_privileges where grantee = $1",
    )
    .bind(APP_ROLE)
    .fetch_all(&db.pool)
    .await
    .expect("grants to the app role");
    if !own_grants.is_empty() {
        failures.push(format!(
            "{APP_ROLE} holds privileges of its own (it should only act through set role): {own_grants:?}"
        ));
    }

    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A role created by a test. Roles are cluster-wide, so the test drops it with [`TempRole::drop_now`]
/// and, should the test fail half way, `Drop` does it (with a lock timeout, so a stuck session of
/// the test cannot make the cleanup hang).
struct TempRole {
    name: String,
    db_url: String,
    dropped: bool,
}

impl TempRole {
    fn new(db: &TestDb, prefix: &str) -> Self {
        Self {
            name: format!("{prefix}_{}", &Uuid::new_v4().simple().to_string()[..12]),
            db_url: db.url(),
            dropped: false,
        }
    }

    /// Drops the role and what it was granted in the test database; returns what went wrong.
    async fn drop_now(mut self) -> Option<String> {
        self.dropped = true;
        drop_role(&self.db_url, &self.name).await.err()
    }
}

async fn drop_role(db_url: &str, name: &str) -> Result<(), String> {
    let mut last_error = String::new();
    for url in [db_url.to_owned(), server_url()] {
        let options = url
            .parse::<PgConnectOptions>()
            .map_err(|e| e.to_string())?
            .disable_statement_logging();
        let mut conn = match PgConnection::connect_with(&options).await {
            Ok(conn) => conn,
            Err(e) => {
                last_error = format!("connect to drop role {name}: {e}");
                continue;
            }
        };
        let result = sqlx::raw_sql(&format!(
            "set lock_timeout = '10s';
             do $$ begin
                 if exists (select 1 from pg_roles where rolname = '{name}') then
                     drop owned by {name};
                     drop role {name};
                 end if;
             end $$"
        ))
        .execute(&mut conn)
        .await;
        conn.close().await.ok();
        match result {
            Ok(_) => return Ok(()),
            Err(e) => last_error = format!("drop role {name}: {e}"),
        }
    }
    Err(last_error)
}

impl Drop for TempRole {
    fn drop(&mut self) {
        if self.dropped {
            return;
        }
        let name = self.name.clone();
        let db_url = self.db_url.clone();
        let _ = std::thread::spawn(move || {
            if let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                if let Err(e) = runtime.block_on(drop_role(&db_url, &name)) {
                    eprintln!("cleanup: {e}");
                }
            }
        })
        .join();
    }
}

async fn memberships(pool: &PgPool, role: &str) -> Vec<String> {
    sqlx::query_scalar(
        "select g.rolname::text from pg_auth_members m
           join pg_roles g on g.oid = m.roleid
           join pg_roles r on r.oid = m.member
          where r.rolname = $1 order by 1",
    )
    .bind(role)
    .fetch_all(pool)
    .await
    .expect("memberships")
}

/// A pool of one connection to the test database, so that what `ensure_app_role` leaves on its
/// connection is seen by the next statement on that pool.
async fn single_connection_pool(db: &TestDb) -> PgPool {
    let options: PgConnectOptions = db.url().parse().expect("test database URL");
    PgPoolOptions::new()
        .max_connections(1)
        .connect_with(options.disable_statement_logging())
        .await
        .expect("connect to the test database")
}

/// Whether the pool's connection is still inside a transaction that wrote something (a
/// transaction `ensure_app_role` opened and did not end).
async fn left_in_a_transaction(pool: &PgPool) -> bool {
    sqlx::query_scalar::<_, Option<String>>("select pg_current_xact_id_if_assigned()::text")
        .fetch_one(pool)
        .await
        .expect("transaction id")
        .is_some()
}

#[tokio::test]
async fn ensure_app_role_refuses_an_unsafe_existing_role() {
    let db = TestDb::migrated().await;
    let mut failures = Vec::new();
    let cases = [
        ("login inherit", "an INHERIT role", vec![]),
        ("login noinherit bypassrls", "a BYPASSRLS role", vec![]),
        (
            "login noinherit in role service_role",
            "a member of service_role",
            vec!["service_role".to_owned()],
        ),
    ];
    for (attributes, what, expected_memberships) in cases {
        let role = TempRole::new(&db, "pms_unsafe");
        sqlx::query(&format!("create role {} {attributes}", role.name))
            .execute(&db.pool)
            .await
            .expect("create the unsafe role");
        let pool = single_connection_pool(&db).await;
        match pms_server::db::ensure_app_role(&pool, &role.name, None).await {
            Err(pms_server::Error::UnsafeAppRole { role: named, .. }) if named == role.name => {}
            other => failures.push(format!(
                "ensure_app_role accepted {what} ({attributes}): got {other:?}, expected UnsafeAppRole"
            )),
        }
        if left_in_a_transaction(&pool).await {
            failures.push(format!(
                "after refusing {what}, ensure_app_role's connection went back to the pool inside its transaction"
            ));
        }
        pool.close().await;
        // the refusal rolled back what ensure_app_role had granted
        let now_member_of = memberships(&db.pool, &role.name).await;
        if now_member_of != expected_memberships {
            failures.push(format!(
                "after refusing {what}, the role is a member of {now_member_of:?} (expected \
                 {expected_memberships:?}): the refusal left grants behind"
            ));
        }
        if let Some(problem) = role.drop_now().await {
            failures.push(problem);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn ensure_app_role_stores_the_password_as_a_scram_verifier() {
    let db = TestDb::migrated().await;
    let role = TempRole::new(&db, "pms_pw");
    let pool = single_connection_pool(&db).await;
    let mut failures = Vec::new();

    let verifier = |name: String| {
        let pool = db.pool.clone();
        async move {
            sqlx::query_scalar::<_, Option<String>>(
                "select rolpassword from pg_authid where rolname = $1",
            )
            .bind(name)
            .fetch_one(&pool)
            .await
            .expect("read pg_authid")
        }
    };

    let password = format!("pw-{}", Uuid::new_v4().simple());
    let secret = pms_server::config::Secret::new(password.clone());
    match pms_server::db::ensure_app_role(&pool, &role.name, Some(&secret)).await {
        Ok(true) => {}
        other => failures.push(format!(
            "ensure_app_role on a new role name gave {other:?}, expected Ok(true) (created)"
        )),
    }
    let first = verifier(role.name.clone()).await;
    match &first {
        None => failures.push("the role has no password".to_owned()),
        Some(v) => {
            if !v.starts_with("SCRAM-SHA-256$") {
                failures.push(format!(
                    "the password is not stored as a SCRAM-SHA-256 verifier (it starts {:?})",
                    v.chars().take(14).collect::<String>()
                ));
            }
            if v.contains(&password) {
                failures.push("pg_authid holds the password in clear text".to_owned());
            }
        }
    }
    // the password passed through a transaction-local setting, which must not outlive it
    let leftover: Option<String> =
        sqlx::query_scalar("select nullif(current_setting('pms.app_password', true), '')")
            .fetch_one(&pool)
            .await
            .expect("read the setting");
    if leftover.is_some() {
        failures.push(
            "the password is still readable in the session setting pms.app_password".to_owned(),
        );
    }
    let (login, inherit): (bool, bool) =
        sqlx::query_as("select rolcanlogin, rolinherit from pg_roles where rolname = $1")
            .bind(&role.name)
            .fetch_one(&db.pool)
            .await
            .expect("the role exists");
    if !login || inherit {
        failures.push(format!(
            "the new role has login={login}, inherit={inherit}; expected a NOINHERIT login"
        ));
    }

    // a run without a password leaves the existing one alone
    match pms_server::db::ensure_app_role(&pool, &role.name, None).await {
        Ok(false) => {}
        other => failures.push(format!(
            "ensure_app_role on the existing role gave {other:?}, expected Ok(false)"
        )),
    }
    if verifier(role.name.clone()).await != first {
        failures.push("ensure_app_role without a password changed the stored one".to_owned());
    }

    // a new password replaces it
    let rotated = pms_server::config::Secret::new(format!("pw-{}", Uuid::new_v4().simple()));
    if let Err(e) = pms_server::db::ensure_app_role(&pool, &role.name, Some(&rotated)).await {
        failures.push(format!("rotating the password failed: {e}"));
    }
    let after_rotation = verifier(role.name.clone()).await;
    if after_rotation == first || after_rotation.is_none() {
        failures.push("a new PMS_APP_PASSWORD did not replace the stored verifier".to_owned());
    }

    pool.close().await;
    if let Some(problem) = role.drop_now().await {
        failures.push(problem);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The tables `docs/DISTRIBUTION.md` lists under `heading` (each `schema.table` in backticks at
/// the start of a list item, up to the next heading).
fn tables_listed_under(document: &str, heading: &str) -> BTreeSet<String> {
    let mut listed = BTreeSet::new();
    let mut inside = false;
    for line in document.lines() {
        if line.starts_with("## ") {
            inside = line.trim_start_matches("## ").trim() == heading;
            continue;
        }
        if let Some(item) = line.strip_prefix("- `").filter(|_| inside) {
            if let Some((table, _)) = item.split_once('`') {
                listed.insert(table.to_owned());
            }
        }
    }
    listed
}

/// Ready to distribute by tenant (Citus): every primary key, unique index and foreign key of a
/// table whose `tenant_id` is not null includes `tenant_id`, foreign keys to reference tables
/// aside; every table is placed in `docs/DISTRIBUTION.md` (distributed, reference, or
/// coordinator only), and the document names no table the schema does not have.
#[tokio::test]
async fn every_key_of_a_tenant_table_includes_the_tenant() {
    let db = TestDb::migrated().await;
    let document = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../docs/DISTRIBUTION.md"
    ))
    .expect("docs/DISTRIBUTION.md");
    let distributed = tables_listed_under(&document, "Distributed by `tenant_id`");
    let reference = tables_listed_under(&document, "Reference tables");
    let coordinator = tables_listed_under(&document, "Coordinator only");
    assert!(
        distributed.len() > 10 && reference.len() > 2 && !coordinator.is_empty(),
        "the document's lists were not read: {distributed:?} {reference:?} {coordinator:?}"
    );
    let mut failures = Vec::new();

    // Each table is placed once, and tenant tables are the distributed ones.
    let tables: Vec<(String, bool)> = sqlx::query_as(
        "select n.nspname || '.' || c.relname,
                exists (select 1 from pg_attribute a where a.attrelid = c.oid and a.attname = 'tenant_id'
                           and a.attnotnull and not a.attisdropped)
           from pg_class c join pg_namespace n on n.oid = c.relnamespace
          where c.relkind in ('r', 'p') and n.nspname in ('public', 'app', 'kv_import')
            and c.relname <> '_sqlx_migrations'
          order by 1",
    )
    .fetch_all(&db.pool)
    .await
    .expect("tables");
    let in_schema: BTreeSet<String> = tables.iter().map(|(t, _)| t.clone()).collect();
    for (table, tenant_not_null) in &tables {
        let places = [&distributed, &reference, &coordinator]
            .iter()
            .filter(|list| list.contains(table))
            .count();
        if places != 1 {
            failures.push(format!(
                "{table}: listed {places} times in docs/DISTRIBUTION.md (once: distributed, reference or coordinator only)"
            ));
        }
        if distributed.contains(table) && !tenant_not_null {
            failures.push(format!(
                "{table}: listed as distributed by tenant_id but has no not-null tenant_id"
            ));
        }
        if *tenant_not_null && coordinator.contains(table) {
            failures.push(format!(
                "{table}: holds a tenant's rows but is listed as coordinator only"
            ));
        }
    }
    for listed in distributed.iter().chain(&reference).chain(&coordinator) {
        if !in_schema.contains(listed) {
            failures.push(format!(
                "docs/DISTRIBUTION.md names {listed}, which the schema does not have"
            ));
        }
    }

    // Keys of the distributed tables.
    // table, key name, kind, columns, referenced table (foreign keys)
    type Key = (String, String, String, Vec<String>, Option<String>);
    let keys: Vec<Key> = sqlx::query_as(
        "select n.nspname || '.' || t.relname, i.relname::text,
                case when x.indisprimary then 'primary key' else 'unique index' end,
                array(select coalesce(a.attname::text, '(expression)') from unnest(x.indkey) k(n)
                        left join pg_attribute a on a.attrelid = t.oid and a.attnum = k.n),
                null::text
           from pg_index x
           join pg_class t on t.oid = x.indrelid
           join pg_class i on i.oid = x.indexrelid
           join pg_namespace n on n.oid = t.relnamespace
          where x.indisunique and n.nspname in ('public', 'app', 'kv_import')
         union all
         select n.nspname || '.' || t.relname, c.conname::text, 'foreign key',
                array(select a.attname::text from unnest(c.conkey) k(n)
                        join pg_attribute a on a.attrelid = t.oid and a.attnum = k.n),
                fn.nspname || '.' || f.relname
           from pg_constraint c
           join pg_class t on t.oid = c.conrelid
           join pg_namespace n on n.oid = t.relnamespace
           join pg_class f on f.oid = c.confrelid
           join pg_namespace fn on fn.oid = f.relnamespace
          where c.contype = 'f' and n.nspname in ('public', 'app', 'kv_import')
          order by 1, 2",
    )
    .fetch_all(&db.pool)
    .await
    .expect("keys");
    let mut checked = 0;
    for (table, name, kind, columns, references) in keys {
        if !distributed.contains(&table) {
            continue;
        }
        if references.as_ref().is_some_and(|to| reference.contains(to)) {
            continue;
        }
        checked += 1;
        if !columns.iter().any(|c| c == "tenant_id") {
            failures.push(format!(
                "{table}: {kind} {name} ({}) does not include tenant_id{}",
                columns.join(", "),
                references
                    .map(|to| format!(" (references {to}, not a reference table)"))
                    .unwrap_or_default()
            ));
        }
    }
    assert!(
        checked > 30,
        "only {checked} keys checked: the catalog query is broken"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The server's own writes are stamped by field group (migration 20261208000100): the groups the
/// database computes are the merge's (`merge::group_of`) for every synced column, and every
/// synced table that holds tenants' rows has the trigger, so a table added later is not left
/// with writes that any stale laptop edit beats.
#[tokio::test]
async fn server_writes_are_stamped_by_the_merges_field_groups_on_every_synced_table() {
    use pms_sync_protocol::merge::group_of;
    use pms_sync_protocol::tables::SYNCED_TABLES;
    let db = TestDb::migrated().await;
    let mut failures = Vec::new();
    for table in SYNCED_TABLES {
        for column in table.columns {
            let in_sql: String = sqlx::query_scalar("select app.field_group($1, $2)")
                .bind(table.name)
                .bind(column)
                .fetch_one(&db.pool)
                .await
                .expect("field group");
            let in_rust = group_of(table.name, column);
            if in_sql != in_rust.as_str() {
                failures.push(format!(
                    "{}.{column}: app.field_group says {in_sql:?}, merge::group_of {in_rust:?}",
                    table.name
                ));
            }
        }
        let (holds_tenants, stamped): (bool, bool) = sqlx::query_as(
            "select exists (select 1 from pg_attribute a
                             where a.attrelid = $1::regclass and a.attname = 'tenant_id' and not a.attisdropped),
                    exists (select 1 from pg_trigger t
                             where t.tgrelid = $1::regclass and t.tgname = $2
                               and t.tgfoid = 'app.stamp_server_writes'::regproc)",
        )
        .bind(format!("public.{}", table.name))
        .bind(format!("{}_stamp_server_writes", table.name))
        .fetch_one(&db.pool)
        .await
        .expect("trigger");
        if holds_tenants && !stamped {
            failures.push(format!(
                "{}: no {0}_stamp_server_writes trigger (app.stamp_server_writes)",
                table.name
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
