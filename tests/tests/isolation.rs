//! Tenant isolation, generated over every table that holds tenant data: what a staff member of
//! tenant A can see and change of tenant B's rows (nothing), what the other API roles see, staff
//! roles inside a tenant, and what the login role of `serve` cannot do.

use pms_tests::{
    begin_as, begin_as_role, sqlstate, staff_claims, violation, Claims, TestDb, APP_ROLE,
};
use sqlx::{PgPool, Row};
use uuid::Uuid;

const INSUFFICIENT_PRIVILEGE: &str = "42501";
const FOREIGN_KEY_VIOLATION: &str = "23503";

/// Every table in `public` with a tenant column, and that column's name (`id` for `tenants`).
async fn tenant_tables(pool: &PgPool) -> Vec<(String, &'static str)> {
    let mut tables: Vec<(String, &'static str)> = sqlx::query_scalar::<_, String>(
        "select c.relname::text from pg_class c
           join pg_namespace n on n.oid = c.relnamespace
          where n.nspname = 'public' and c.relkind = 'r'
            and exists (select 1 from pg_attribute a where a.attrelid = c.oid and a.attname = 'tenant_id' and not a.attisdropped)
          order by 1",
    )
    .fetch_all(pool)
    .await
    .expect("list tables")
    .into_iter()
    .map(|t| (t, "tenant_id"))
    .collect();
    tables.push(("tenants".to_owned(), "id"));
    tables
}

async fn count(pool: &PgPool, table: &str, column: &str, tenant: Uuid) -> i64 {
    sqlx::query_scalar(&format!(
        "select count(*) from public.{table} where {column} = $1"
    ))
    .bind(tenant)
    .fetch_one(pool)
    .await
    .expect("count as superuser")
}

/// A column of `table` that `authenticated` may update, if any.
async fn updatable_column(pool: &PgPool, table: &str) -> Option<String> {
    sqlx::query_scalar(
        "select a.attname::text from pg_attribute a
          where a.attrelid = $1::regclass and a.attnum > 0 and not a.attisdropped and a.attgenerated = ''
            and has_column_privilege('authenticated', a.attrelid, a.attnum, 'UPDATE')
          order by a.attnum limit 1",
    )
    .bind(format!("public.{table}"))
    .fetch_optional(pool)
    .await
    .expect("column privileges")
}

/// The columns of `table` that `authenticated` may insert.
async fn insertable_columns(pool: &PgPool, table: &str) -> Vec<String> {
    sqlx::query_scalar(
        "select a.attname::text from pg_attribute a
          where a.attrelid = $1::regclass and a.attnum > 0 and not a.attisdropped and a.attgenerated = ''
            and has_column_privilege('authenticated', a.attrelid, a.attnum, 'INSERT')
          order by a.attnum",
    )
    .bind(format!("public.{table}"))
    .fetch_all(pool)
    .await
    .expect("column privileges")
}

#[tokio::test]
async fn a_tenant_sees_and_changes_nothing_of_another_tenant() {
    let db = TestDb::migrated().await;
    let seeded = db.seed(2, 40).await;
    let (tenant_a, tenant_b) = (seeded.tenant_ids[0], seeded.tenant_ids[1]);
    let owner_a = staff_claims(&db.pool, tenant_a, "owner").await;
    let mut failures = Vec::new();

    for (table, tenant_column) in tenant_tables(&db.pool).await {
        let rows_of_b = count(&db.pool, &table, tenant_column, tenant_b).await;
        let rows_of_a = count(&db.pool, &table, tenant_column, tenant_a).await;
        assert!(
            rows_of_b > 0 && rows_of_a > 0,
            "seed-demo left {table} empty for a tenant"
        );

        // select: B's rows are invisible
        let mut tx = begin_as(&db.pool, owner_a).await;
        let seen: Result<i64, _> = sqlx::query_scalar(&format!(
            "select count(*) from public.{table} where {tenant_column} = $1"
        ))
        .bind(tenant_b)
        .fetch_one(&mut *tx)
        .await;
        match seen {
            Ok(0) => {}
            Ok(n) => failures.push(format!("{table}: A's owner sees {n} of B's rows")),
            Err(e) => failures.push(format!("{table}: A's owner cannot even query: {e}")),
        }
        tx.rollback().await.expect("rollback");

        // update: nothing of B's changes
        let mut tx = begin_as(&db.pool, owner_a).await;
        match updatable_column(&db.pool, &table).await {
            Some(column) => {
                let updated = sqlx::query(&format!(
                    "update public.{table} set {column} = {column} where {tenant_column} = $1"
                ))
                .bind(tenant_b)
                .execute(&mut *tx)
                .await
                .map(|r| r.rows_affected());
                if !matches!(updated, Ok(0)) {
                    failures.push(format!("{table}: update of B's rows gave {updated:?}"));
                }
            }
            None => {
                let denied = sqlx::query(&format!("update public.{table} set {tenant_column} = {tenant_column} where {tenant_column} = $1"))
                    .bind(tenant_b)
                    .execute(&mut *tx)
                    .await;
                if sqlstate(denied) != INSUFFICIENT_PRIVILEGE {
                    failures.push(format!("{table}: update without privilege was not denied"));
                }
            }
        }
        tx.rollback().await.expect("rollback");

        // delete: nothing of B's goes
        let mut tx = begin_as(&db.pool, owner_a).await;
        let deleted = sqlx::query(&format!(
            "delete from public.{table} where {tenant_column} = $1"
        ))
        .bind(tenant_b)
        .execute(&mut *tx)
        .await;
        match deleted {
            Ok(r) if r.rows_affected() == 0 => {}
            Ok(r) => failures.push(format!(
                "{table}: deleted {} of B's rows",
                r.rows_affected()
            )),
            Err(e) => {
                if sqlstate::<()>(Err(e)) != INSUFFICIENT_PRIVILEGE {
                    failures.push(format!("{table}: delete failed with an unexpected error"));
                }
            }
        }
        tx.rollback().await.expect("rollback");

        // insert: a row carrying B's tenant id is refused; the same row for A is not refused by RLS
        check_insert(
            &db.pool,
            &table,
            tenant_column,
            owner_a,
            tenant_b,
            &mut failures,
        )
        .await;

        assert_eq!(
            count(&db.pool, &table, tenant_column, tenant_b).await,
            rows_of_b,
            "{table}: B's rows changed"
        );
    }
    assert!(
        failures.is_empty(),
        "isolation failures:\n{}",
        failures.join("\n")
    );
}

async fn check_insert(
    pool: &PgPool,
    table: &str,
    tenant_column: &str,
    owner_a: Claims,
    tenant_b: Uuid,
    failures: &mut Vec<String>,
) {
    let columns = insertable_columns(pool, table).await;
    let mut tx = begin_as(pool, owner_a).await;
    if columns.is_empty() {
        let denied = sqlx::query(&format!(
            "insert into public.{table} ({tenant_column}) values ($1)"
        ))
        .bind(tenant_b)
        .execute(&mut *tx)
        .await;
        if sqlstate(denied) != INSUFFICIENT_PRIVILEGE {
            failures.push(format!("{table}: insert without privilege was not denied"));
        }
        return;
    }
    // One of A's rows as JSON, re-aimed at B with a new id.
    let row: serde_json::Value = sqlx::query_scalar(&format!(
        "select to_jsonb(t) from public.{table} t where {tenant_column} = $1 limit 1"
    ))
    .bind(owner_a.tenant_id)
    .fetch_one(pool)
    .await
    .expect("an A row");
    let column_list = columns.join(", ");
    let insert = format!(
        "insert into public.{table} ({column_list}) select {column_list} from jsonb_populate_record(null::public.{table}, $1)"
    );
    let aimed_at = |tenant: Uuid| {
        let mut row = row.clone();
        row[tenant_column] = serde_json::json!(tenant);
        if tenant_column != "id" {
            row["id"] = serde_json::json!(Uuid::now_v7());
        }
        row
    };
    sqlx::query("savepoint s")
        .execute(&mut *tx)
        .await
        .expect("savepoint");
    let refused = sqlx::query(&insert)
        .bind(aimed_at(tenant_b))
        .execute(&mut *tx)
        .await;
    match refused {
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some(INSUFFICIENT_PRIVILEGE) => {}
        other => failures.push(format!("{table}: insert with B's tenant id gave {other:?}")),
    }
    sqlx::query("rollback to savepoint s")
        .execute(&mut *tx)
        .await
        .expect("rollback to savepoint");
    // Control: the same insert for A is not stopped by RLS (it may still hit a unique key).
    if tenant_column != "id" {
        let own = sqlx::query(&insert)
            .bind(aimed_at(owner_a.tenant_id))
            .execute(&mut *tx)
            .await;
        if let Err(sqlx::Error::Database(e)) = &own {
            if e.code().as_deref() == Some(INSUFFICIENT_PRIVILEGE) {
                failures.push(format!(
                    "{table}: A's owner cannot insert A's own row either: {}",
                    e.message()
                ));
            }
        }
    }
    tx.rollback().await.expect("rollback");
}

/// Composite foreign keys make a reference from an A row to a B row impossible, even for a
/// session that bypasses RLS.
#[tokio::test]
async fn a_row_cannot_reference_another_tenants_row() {
    let db = TestDb::migrated().await;
    let seeded = db.seed(2, 30).await;
    let (tenant_a, tenant_b) = (seeded.tenant_ids[0], seeded.tenant_ids[1]);
    // Every foreign key that includes tenant_id, with its other columns paired to the parent's.
    let foreign_keys = sqlx::query(
        "select c.conname::text as name, child.relname::text as child, parent.relname::text as parent,
                array(select a.attname::text from unnest(c.conkey) with ordinality k(n, i)
                        join pg_attribute a on a.attrelid = c.conrelid and a.attnum = k.n order by k.i) as child_columns,
                array(select a.attname::text from unnest(c.confkey) with ordinality k(n, i)
                        join pg_attribute a on a.attrelid = c.confrelid and a.attnum = k.n order by k.i) as parent_columns
           from pg_constraint c
           join pg_class child on child.oid = c.conrelid
           join pg_class parent on parent.oid = c.confrelid
           join pg_namespace n on n.oid = child.relnamespace
          where c.contype = 'f' and n.nspname = 'public' and cardinality(c.conkey) > 1
          order by 1",
    )
    .fetch_all(&db.pool)
    .await
    .expect("foreign keys");
    assert!(
        foreign_keys.len() >= 15,
        "expected the composite foreign keys, found {}",
        foreign_keys.len()
    );

    let mut failures = Vec::new();
    for fk in &foreign_keys {
        let name: String = fk.get("name");
        let child: String = fk.get("child");
        let parent: String = fk.get("parent");
        let child_columns: Vec<String> = fk.get("child_columns");
        let parent_columns: Vec<String> = fk.get("parent_columns");
        assert_eq!(
            child_columns[0], "tenant_id",
            "{name}: a composite key must lead with tenant_id"
        );
        // B's parent row's key values for the non-tenant columns
        let select_parent = parent_columns[1..]
            .iter()
            .map(|c| format!("{c}::text"))
            .collect::<Vec<_>>()
            .join(", ");
        let parent_row = sqlx::query(&format!(
            "select {select_parent} from public.{parent} where tenant_id = $1 limit 1"
        ))
        .bind(tenant_b)
        .fetch_one(&db.pool)
        .await
        .expect("a B parent row");
        let mut tx = db.pool.begin().await.expect("begin");
        let result = if child == "loyalty_transactions" {
            // The ledger is append-only: aim a new A entry at B's member.
            let (member, program, guest): (String, String, String) =
                (parent_row.get(0), parent_row.get(1), parent_row.get(2));
            sqlx::query(
                "insert into public.loyalty_transactions (tenant_id, member_id, program_id, guest_id, type, points)
                 values ($1, $2::uuid, $3::uuid, $4::uuid, 'earn', 10)",
            )
            .bind(tenant_a)
            .bind(member)
            .bind(program)
            .bind(guest)
            .execute(&mut *tx)
            .await
        } else if child == "night_audits" {
            // Append-only: A's audit of a date no audit closed, aimed at B's property.
            let statement = "insert into public.night_audits (tenant_id, property_id, business_date)
                 select tenant_id, $2::uuid, date '1999-01-01' from public.night_audits where tenant_id = $1 limit 1";
            sqlx::query(statement)
                .bind(tenant_a)
                .bind(parent_row.get::<String, _>(0))
                .execute(&mut *tx)
                .await
        } else if child == "guest_invoices" {
            // Immutable: a new A invoice, a copy of one, aimed at B's row (number 1 in a series
            // A does not hold, so only the key decides).
            let columns = [
                "series_id",
                "corrects_invoice_id",
                "property_id",
                "reservation_id",
                "folio_id",
            ];
            let position = |c: &str| child_columns[1..].iter().position(|k| k == c);
            let picked: Vec<String> = columns
                .iter()
                .map(|c| match position(c) {
                    Some(i) => format!("${}::uuid", i + 2),
                    None if *c == "corrects_invoice_id" => "null".to_owned(),
                    None => format!("g.{c}"),
                })
                .collect();
            let kind = if position("corrects_invoice_id").is_some() {
                "credit_note"
            } else {
                "invoice"
            };
            let number = if position("series_id").is_some() {
                "1".to_owned()
            } else {
                "(select max(n.number) + 1 from public.guest_invoices n where n.series_id = g.series_id)".to_owned()
            };
            let statement = format!(
                "insert into public.guest_invoices
                        (tenant_id, series_id, corrects_invoice_id, property_id, reservation_id, folio_id,
                         number, kind, bill_to, currency, net_minor, tax_minor, total_minor, issued_on)
                 select g.tenant_id, {}, {number}, '{kind}', g.bill_to, g.currency, 0, 0, 0, g.issued_on
                   from public.guest_invoices g where g.tenant_id = $1 limit 1",
                picked.join(", ")
            );
            let mut insert = sqlx::query(&statement).bind(tenant_a);
            for i in 0..child_columns.len() - 1 {
                insert = insert.bind(parent_row.get::<String, _>(i));
            }
            insert.execute(&mut *tx).await
        } else if child == "folio_entries" {
            // Append-only too: a new A entry, a copy of one, aimed at B's folio (or entry).
            let columns = [
                "folio_id",
                "reservation_id",
                "voids_entry_id",
                "applies_to_entry_id",
            ];
            let picked: Vec<String> = columns
                .iter()
                .map(|c| match child_columns[1..].iter().position(|k| k == c) {
                    Some(i) => format!("${}::uuid", i + 2),
                    None if *c == "voids_entry_id" || *c == "applies_to_entry_id" => {
                        "null".to_owned()
                    }
                    None => (*c).to_owned(),
                })
                .collect();
            let statement = format!(
                "insert into public.folio_entries
                        (tenant_id, folio_id, reservation_id, voids_entry_id, applies_to_entry_id, kind, amount_minor, currency, payment_method)
                 select tenant_id, {}, 'payment', 1, currency, 'cash'
                   from public.folio_entries where tenant_id = $1 limit 1",
                picked.join(", ")
            );
            let mut insert = sqlx::query(&statement).bind(tenant_a);
            for i in 0..child_columns.len() - 1 {
                insert = insert.bind(parent_row.get::<String, _>(i));
            }
            insert.execute(&mut *tx).await
        } else {
            let assignments = child_columns[1..]
                .iter()
                .enumerate()
                .map(|(i, c)| format!("{c} = ${}::uuid", i + 2))
                .collect::<Vec<_>>()
                .join(", ");
            let statement = format!(
                "update public.{child} set {assignments} where ctid = (select ctid from public.{child} where tenant_id = $1 limit 1)"
            );
            let mut update = sqlx::query(&statement).bind(tenant_a);
            for i in 0..child_columns.len() - 1 {
                update = update.bind(parent_row.get::<String, _>(i));
            }
            update.execute(&mut *tx).await
        };
        // Re-aiming some keys also breaks a sibling key first (a room's property and room type
        // move together): any foreign-key violation means the reference was refused.
        if result.is_ok() {
            failures.push(format!("{name}: another tenant's row was referenced"));
            tx.rollback().await.expect("rollback");
            continue;
        }
        let (state, constraint) = violation(result);
        if state != FOREIGN_KEY_VIOLATION {
            failures.push(format!("{name}: got {state} on {constraint:?}"));
        }
        tx.rollback().await.expect("rollback");
    }
    assert!(
        failures.is_empty(),
        "cross-tenant references not refused:\n{}",
        failures.join("\n")
    );
}

#[tokio::test]
async fn anon_sees_nothing_and_service_role_sees_everything() {
    let db = TestDb::migrated().await;
    let seeded = db.seed(2, 20).await;
    for (table, tenant_column) in tenant_tables(&db.pool).await {
        let total: i64 = sqlx::query_scalar(&format!("select count(*) from public.{table}"))
            .fetch_one(&db.pool)
            .await
            .expect("count");
        let mut tx = begin_as_role(&db.pool, "anon").await;
        let anon = sqlx::query_scalar::<_, i64>(&format!("select count(*) from public.{table}"))
            .fetch_one(&mut *tx)
            .await;
        assert_eq!(sqlstate(anon), INSUFFICIENT_PRIVILEGE, "anon reads {table}");
        tx.rollback().await.expect("rollback");

        let mut tx = begin_as_role(&db.pool, "service_role").await;
        let seen: i64 = sqlx::query_scalar(&format!("select count(*) from public.{table}"))
            .fetch_one(&mut *tx)
            .await
            .expect("service_role reads");
        assert_eq!(seen, total, "service_role sees every row of {table}");
        tx.rollback().await.expect("rollback");

        // An authenticated session without claims (a forgotten set_config) sees nothing.
        let mut tx = begin_as_role(&db.pool, "authenticated").await;
        if let Ok(n) = sqlx::query_scalar::<_, i64>(&format!(
            "select count(*) from public.{table} where {tenant_column} is not null"
        ))
        .fetch_one(&mut *tx)
        .await
        {
            assert_eq!(n, 0, "authenticated without claims sees rows of {table}");
        }
        tx.rollback().await.expect("rollback");
    }
    assert_eq!(seeded.tenant_ids.len(), 2);
}

async fn visible(pool: &PgPool, claims: Claims, table: &str) -> Result<i64, sqlx::Error> {
    let mut tx = begin_as(pool, claims).await;
    let n = sqlx::query_scalar(&format!("select count(*) from public.{table}"))
        .fetch_one(&mut *tx)
        .await;
    tx.rollback().await.expect("rollback");
    n
}

#[tokio::test]
async fn staff_roles_limit_what_each_person_sees() {
    let db = TestDb::migrated().await;
    let seeded = db.seed(1, 20).await;
    let tenant = seeded.tenant_ids[0];
    let owner = staff_claims(&db.pool, tenant, "owner").await;
    let manager = staff_claims(&db.pool, tenant, "manager").await;
    let desk = staff_claims(&db.pool, tenant, "front_desk").await;
    let housekeeping = staff_claims(&db.pool, tenant, "housekeeping").await;

    for billing in [
        "invoices",
        "subscriptions",
        "usage_alerts",
        "webhook_deliveries",
    ] {
        let all = count(&db.pool, billing, "tenant_id", tenant).await;
        assert!(all > 0, "{billing} seeded");
        assert_eq!(
            visible(&db.pool, owner, billing)
                .await
                .expect("owner reads"),
            all,
            "owner reads {billing}"
        );
        assert_eq!(
            visible(&db.pool, manager, billing)
                .await
                .expect("manager reads"),
            all,
            "manager reads {billing}"
        );
        assert_eq!(
            visible(&db.pool, desk, billing).await.expect("query runs"),
            0,
            "front desk reads {billing}"
        );
        assert_eq!(
            visible(&db.pool, housekeeping, billing)
                .await
                .expect("query runs"),
            0,
            "housekeeping reads {billing}"
        );
    }
    // Housekeeping sees rooms and stays but no guest profiles.
    assert!(
        visible(&db.pool, housekeeping, "rooms")
            .await
            .expect("rooms")
            > 0
    );
    assert!(
        visible(&db.pool, housekeeping, "reservations")
            .await
            .expect("reservations")
            > 0
    );
    assert_eq!(
        visible(&db.pool, housekeeping, "guests")
            .await
            .expect("query runs"),
        0
    );
    assert!(visible(&db.pool, desk, "guests").await.expect("guests") > 0);

    // Guest search (a security-definer function) applies the same rules itself.
    let search = |claims: Claims| {
        let pool = db.pool.clone();
        async move {
            let mut tx = begin_as(&pool, claims).await;
            let tenants: Vec<Uuid> =
                sqlx::query_scalar("select tenant_id from app.search_guests('an', 200)")
                    .fetch_all(&mut *tx)
                    .await
                    .expect("search");
            tx.rollback().await.expect("rollback");
            tenants
        }
    };
    let found = search(desk).await;
    assert!(
        !found.is_empty() && found.iter().all(|t| *t == tenant),
        "desk search: {found:?}"
    );
    assert!(
        search(housekeeping).await.is_empty(),
        "housekeeping can search guests"
    );
    let stranger = Claims {
        tenant_id: tenant,
        user_id: Uuid::now_v7(),
    };
    assert!(
        search(stranger).await.is_empty(),
        "a token of no staff member can search guests"
    );

    // Secrets are not readable by anybody on the API side, whatever the role.
    for (table, secret) in [
        ("staff", "password_hash"),
        ("webhooks", "secret"),
        ("feature_flags", "enabled_tenants"),
    ] {
        let mut tx = begin_as(&db.pool, owner).await;
        let read = sqlx::query(&format!("select {secret} from public.{table}"))
            .fetch_all(&mut *tx)
            .await;
        assert_eq!(
            sqlstate(read),
            INSUFFICIENT_PRIVILEGE,
            "{table}.{secret} readable"
        );
        tx.rollback().await.expect("rollback");
    }

    // The front desk cannot write server-owned values.
    let mut tx = begin_as(&db.pool, desk).await;
    let forged = sqlx::query("update public.loyalty_members set points_balance = 1000000")
        .execute(&mut *tx)
        .await;
    assert_eq!(sqlstate(forged), INSUFFICIENT_PRIVILEGE);
    tx.rollback().await.expect("rollback");
    let mut tx = begin_as(&db.pool, desk).await;
    let forged = sqlx::query("update public.guests set total_spent_cents = 1")
        .execute(&mut *tx)
        .await;
    assert_eq!(sqlstate(forged), INSUFFICIENT_PRIVILEGE);
    tx.rollback().await.expect("rollback");

    // A role change or a disabled account takes effect at once.
    sqlx::query("update public.staff set role = 'housekeeping' where user_id = $1")
        .bind(desk.user_id)
        .execute(&db.pool)
        .await
        .expect("demote");
    assert_eq!(
        visible(&db.pool, desk, "guests").await.expect("query runs"),
        0,
        "demoted desk still reads guests"
    );
    sqlx::query("update public.staff set enabled = false where user_id = $1")
        .bind(owner.user_id)
        .execute(&db.pool)
        .await
        .expect("disable");
    assert_eq!(
        visible(&db.pool, owner, "reservations")
            .await
            .expect("query runs"),
        0,
        "disabled owner still reads"
    );
}

#[tokio::test]
async fn the_serve_login_role_cannot_escape_rls() {
    let db = TestDb::migrated().await;
    let seeded = db.seed(1, 10).await;
    let owner = staff_claims(&db.pool, seeded.tenant_ids[0], "owner").await;
    let app = db.pool_as(APP_ROLE, 2).await;

    let (superuser, bypass): (bool, bool) =
        sqlx::query_as("select rolsuper, rolbypassrls from pg_roles where rolname = current_user")
            .fetch_one(&app)
            .await
            .expect("read own role");
    assert!(
        !superuser && !bypass,
        "the serve role must be neither superuser nor BYPASSRLS"
    );

    let denied = |sql: &'static str| {
        let app = app.clone();
        async move {
            let mut conn = app.acquire().await.expect("connect");
            let result = sqlx::query(sql).execute(&mut *conn).await;
            assert_eq!(
                sqlstate(result),
                INSUFFICIENT_PRIVILEGE,
                "{sql} was not denied"
            );
        }
    };
    denied("set role service_role").await;
    denied("set role postgres").await;
    denied("alter table public.guests disable row level security").await;
    denied("alter table public.guests no force row level security").await;
    denied("drop policy tenant_select on public.guests").await;
    denied("create table public.sneaky (id int)").await;
    // Without `set role authenticated` it holds no privilege at all (NOINHERIT).
    denied("select count(*) from public.guests").await;

    // Turning row security off does not help: the query is refused rather than unfiltered.
    let mut tx = app.begin().await.expect("begin");
    sqlx::query("set local row_security = off")
        .execute(&mut *tx)
        .await
        .expect("set row_security");
    sqlx::query("set local role authenticated")
        .execute(&mut *tx)
        .await
        .expect("set role");
    let unfiltered = sqlx::query_scalar::<_, i64>("select count(*) from public.guests")
        .fetch_one(&mut *tx)
        .await;
    assert_eq!(sqlstate(unfiltered), INSUFFICIENT_PRIVILEGE);
    tx.rollback().await.expect("rollback");

    // The way serve works does work: authenticated with a tenant's claims reads that tenant.
    let rows = visible(&app, owner, "guests")
        .await
        .expect("serve reads as authenticated");
    assert_eq!(
        rows,
        count(&db.pool, "guests", "tenant_id", owner.tenant_id).await
    );
}

/// Runs `statement` as `claims` and returns the rows it changed, or the SQLSTATE it failed with.
async fn change_as(pool: &PgPool, claims: Claims, statement: &str) -> Result<u64, String> {
    let mut tx = begin_as(pool, claims).await;
    let outcome = sqlx::query(statement).execute(&mut *tx).await;
    tx.rollback().await.expect("rollback");
    match outcome {
        Ok(done) => Ok(done.rows_affected()),
        Err(error) => Err(sqlstate::<()>(Err(error))),
    }
}

#[tokio::test]
async fn each_role_changes_only_what_it_is_for() {
    let db = TestDb::migrated().await;
    let seeded = db.seed(1, 10).await;
    let tenant = seeded.tenant_ids[0];
    let owner = staff_claims(&db.pool, tenant, "owner").await;
    let manager = staff_claims(&db.pool, tenant, "manager").await;
    let desk = staff_claims(&db.pool, tenant, "front_desk").await;
    let housekeeping = staff_claims(&db.pool, tenant, "housekeeping").await;
    let room: Uuid = sqlx::query_scalar(
        "select id from public.rooms where tenant_id = $1 and deleted_at is null limit 1",
    )
    .bind(tenant)
    .fetch_one(&db.pool)
    .await
    .expect("a room");
    let other_type: Uuid = sqlx::query_scalar(
        "select t.id from public.room_types t join public.rooms r on r.tenant_id = t.tenant_id
          and r.property_id = t.property_id and r.id = $1 where t.id <> r.room_type_id limit 1",
    )
    .bind(room)
    .fetch_one(&db.pool)
    .await
    .expect("another room type of the property");

    // Front desk and housekeeping set the cleaning status of a room, and nothing else of it.
    let cleaning =
        format!("update public.rooms set housekeeping_status = 'dirty' where id = '{room}'");
    let others = [
        format!("update public.rooms set number = 'X-{room}' where id = '{room}'"),
        format!("update public.rooms set room_type_id = '{other_type}' where id = '{room}'"),
        format!("update public.rooms set deleted_at = now() where id = '{room}'"),
        format!("update public.rooms set floor = 9 where id = '{room}'"),
        format!("update public.rooms set housekeeping_status = 'clean', number = 'X' where id = '{room}'"),
    ];
    for (who, claims) in [("front desk", desk), ("housekeeping", housekeeping)] {
        assert_eq!(
            change_as(&db.pool, claims, &cleaning).await,
            Ok(1),
            "{who} sets the status"
        );
        for statement in &others {
            assert_eq!(
                change_as(&db.pool, claims, statement).await,
                Err(INSUFFICIENT_PRIVILEGE.to_owned()),
                "{who}: {statement}"
            );
        }
    }
    // Owners and managers manage rooms.
    for (who, claims) in [("owner", owner), ("manager", manager)] {
        for statement in &others {
            assert_eq!(
                change_as(&db.pool, claims, statement).await,
                Ok(1),
                "{who}: {statement}"
            );
        }
    }

    // An owner may disable a colleague, but an account disabled by the platform stays disabled.
    let colleague = desk.user_id;
    let disable = format!("update public.staff set enabled = false where user_id = '{colleague}'");
    assert_eq!(change_as(&db.pool, owner, &disable).await, Ok(1));
    pms_server::admin::disable_staff(&db.pool, &email_of(&db.pool, colleague).await)
        .await
        .expect("the platform disables the account");
    let enable = format!("update public.staff set enabled = true where user_id = '{colleague}'");
    assert_eq!(
        change_as(&db.pool, owner, &enable).await,
        Err(INSUFFICIENT_PRIVILEGE.to_owned()),
        "an owner re-enabled an account the platform disabled"
    );
    pms_server::admin::enable_staff(&db.pool, &email_of(&db.pool, colleague).await)
        .await
        .expect("the platform enables it again");
    assert!(
        sqlx::query_scalar::<_, bool>("select enabled from public.staff where user_id = $1")
            .bind(colleague)
            .fetch_one(&db.pool)
            .await
            .expect("staff"),
        "enabled by the platform"
    );

    // A revoked laptop stays revoked: owners and managers revoke, nobody takes it back.
    let device: Uuid = sqlx::query_scalar(
        "insert into public.devices (tenant_id, user_id, name, refresh_token_hash, refresh_expires_at)
         values ($1, $2, 'desk 1', repeat('a', 64), now() + interval '1 day') returning id",
    )
    .bind(tenant)
    .bind(desk.user_id)
    .fetch_one(&db.pool)
    .await
    .expect("a device");
    let revoke = format!("update public.devices set revoked_at = now() where id = '{device}'");
    assert_eq!(change_as(&db.pool, manager, &revoke).await, Ok(1));
    pms_server::admin::revoke_device(&db.pool, device)
        .await
        .expect("revoked");
    for (who, claims) in [("owner", owner), ("manager", manager)] {
        for statement in [
            format!("update public.devices set revoked_at = null where id = '{device}'"),
            format!("update public.devices set revoked_at = now() + interval '1 year' where id = '{device}'"),
        ] {
            assert_eq!(
                change_as(&db.pool, claims, &statement).await,
                Err(INSUFFICIENT_PRIVILEGE.to_owned()),
                "{who}: {statement}"
            );
        }
    }
}

async fn email_of(pool: &PgPool, user_id: Uuid) -> String {
    sqlx::query_scalar("select email from public.staff where user_id = $1")
        .bind(user_id)
        .fetch_one(pool)
        .await
        .expect("staff email")
}
