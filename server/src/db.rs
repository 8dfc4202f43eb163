//! Connecting to the central database, applying its migrations, and the login role for `serve`.

use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgConnection};

use crate::config::{self, Secret};
use crate::error::{Error, RedactedUrl, Result};

/// The central schema's migrations, embedded from `migrations/postgres/`.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

/// Connects to `url` (named by the environment variable `var` in errors).
///
/// Statement logging is off: admin commands carry values (like a role's password) that must not
/// reach a log.
pub async fn connect(var: &'static str, url: &str, max_connections: u32) -> Result<PgPool> {
    let options: PgConnectOptions = url.parse().map_err(|e: sqlx::Error| Error::InvalidEnv {
        var,
        reason: e.to_string(),
        hint: "use a URL such as postgres://user@127.0.0.1:5432/dbname",
    })?;
    let options = options
        .disable_statement_logging()
        .application_name("pms-server");
    let connect_error = |e: sqlx::Error| Error::Connect {
        var,
        url: RedactedUrl::new(url),
        reason: connect_reason(&e),
    };
    // One plain connection first: it fails at once with the real reason, where the pool would
    // keep retrying until its timeout.
    PgConnection::connect_with(&options)
        .await
        .map_err(connect_error)?
        .close()
        .await
        .ok();
    PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(options)
        .await
        .map_err(connect_error)
}

/// Connects with the owner's identity (`PMS_ADMIN_DATABASE_URL`).
pub async fn connect_admin(max_connections: u32) -> Result<PgPool> {
    let url = config::admin_database_url()?;
    connect(config::ADMIN_URL_VAR, &url, max_connections).await
}

fn connect_reason(error: &sqlx::Error) -> String {
    match error {
        sqlx::Error::Io(io) => io.to_string(),
        sqlx::Error::Database(db) => db.message().to_owned(),
        sqlx::Error::PoolTimedOut => "timed out".to_owned(),
        other => other.to_string(),
    }
}

/// What `migrate` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrateReport {
    /// Versions applied by this run (empty when the schema was already current).
    pub applied: Vec<i64>,
    pub app_role: String,
    pub app_role_created: bool,
}

/// Applies every pending migration, then makes sure the login role for `serve` exists and is safe.
pub async fn migrate(
    pool: &PgPool,
    app_role: &str,
    app_password: Option<&Secret>,
) -> Result<MigrateReport> {
    let before: Vec<i64> = applied_versions(pool).await?;
    MIGRATOR.run(pool).await?;
    let after = applied_versions(pool).await?;
    let applied = after.into_iter().filter(|v| !before.contains(v)).collect();
    let app_role_created = ensure_app_role(pool, app_role, app_password).await?;
    Ok(MigrateReport {
        applied,
        app_role: app_role.to_owned(),
        app_role_created,
    })
}

async fn applied_versions(pool: &PgPool) -> Result<Vec<i64>> {
    let exists: bool =
        sqlx::query_scalar("select to_regclass('public._sqlx_migrations') is not null")
            .fetch_one(pool)
            .await?;
    if !exists {
        return Ok(Vec::new());
    }
    Ok(sqlx::query_scalar(
        "select version from public._sqlx_migrations where success order by version",
    )
    .fetch_all(pool)
    .await?)
}

/// Creates the login role `serve` uses where absent: it can log in, owns nothing, does not inherit
/// (so it holds no privilege until it does `set local role authenticated`), is neither superuser nor
/// BYPASSRLS, and is a member of `anon` and `authenticated` only. Returns whether it was created.
pub async fn ensure_app_role(pool: &PgPool, role: &str, password: Option<&Secret>) -> Result<bool> {
    config::validate_role_name(role)?;
    let mut tx = pool.begin().await?;
    let existed: bool =
        sqlx::query_scalar("select exists (select 1 from pg_roles where rolname = $1)")
            .bind(role)
            .fetch_one(&mut *tx)
            .await?;
    // `role` is a validated plain identifier, so quoting it with %I inside the block is exact.
    // Parallel migrations of other databases may create the same (cluster-wide) role at once.
    sqlx::query(&format!(
        "do $$ begin
            if not exists (select 1 from pg_roles where rolname = '{role}') then
                begin
                    create role \"{role}\" login noinherit nosuperuser nocreatedb nocreaterole nobypassrls noreplication;
                exception when duplicate_object or unique_violation then null;
                end;
            end if;
            begin
                grant anon, authenticated to \"{role}\";
            exception when duplicate_object or unique_violation then null;
            end;
            execute format('grant connect on database %I to %I', current_database(), '{role}');
            -- sign-in and token refresh, before any tenant is known (see the sessions migration)
            grant usage on schema app to \"{role}\";
            grant execute on function app.login_lookup(text), app.open_session(uuid, text, text, interval),
                app.rotate_refresh_token(uuid, text, text, interval, interval),
                app.password_state(uuid), app.set_own_password(uuid, text),
                app.tenant_not_migrated(uuid) to \"{role}\";
        end $$"
    ))
    .execute(&mut *tx)
    .await?;
    if let Some(password) = password {
        // The password travels as a bind parameter and is spliced in server-side, so it appears in
        // no statement text that a client or server log could record.
        sqlx::query("select set_config('pms.app_password', $1, true)")
            .bind(password.expose())
            .execute(&mut *tx)
            .await?;
        sqlx::query(&format!(
            "do $$ begin
                execute format('alter role %I password %L', '{role}', current_setting('pms.app_password'));
            end $$"
        ))
        .execute(&mut *tx)
        .await?;
        sqlx::query("select set_config('pms.app_password', '', true)")
            .execute(&mut *tx)
            .await?;
    }
    // Roll back explicitly on refusal: a dropped transaction is rolled back only later, and its
    // connection would go back to the pool still holding a lock on the role.
    if let Err(refused) = check_app_role_is_safe(&mut tx, role).await {
        tx.rollback().await?;
        return Err(refused);
    }
    tx.commit().await?;
    Ok(!existed)
}

async fn check_app_role_is_safe(conn: &mut sqlx::PgConnection, role: &str) -> Result<()> {
    let unsafe_reason = |reason: String| Error::UnsafeAppRole {
        role: role.to_owned(),
        reason,
    };
    let (superuser, bypass, createrole, createdb, inherit): (bool, bool, bool, bool, bool) = sqlx::query_as(
        "select rolsuper, rolbypassrls, rolcreaterole, rolcreatedb, rolinherit from pg_roles where rolname = $1",
    )
    .bind(role)
    .fetch_one(&mut *conn)
    .await?;
    if superuser || bypass || createrole || createdb {
        return Err(unsafe_reason(
            "it is a superuser or has BYPASSRLS, CREATEROLE or CREATEDB".to_owned(),
        ));
    }
    if inherit {
        return Err(unsafe_reason(
            "it inherits its roles' privileges (it must be NOINHERIT)".to_owned(),
        ));
    }
    let other_roles: Vec<String> = sqlx::query_scalar(
        "select g.rolname::text from pg_auth_members m
           join pg_roles g on g.oid = m.roleid
           join pg_roles r on r.oid = m.member
          where r.rolname = $1 and g.rolname not in ('anon', 'authenticated')
          order by 1",
    )
    .bind(role)
    .fetch_all(&mut *conn)
    .await?;
    if !other_roles.is_empty() {
        return Err(unsafe_reason(format!(
            "it is also a member of {}",
            other_roles.join(", ")
        )));
    }
    let owned: i64 = sqlx::query_scalar(
        "select (select count(*) from pg_class where relowner = r.oid)
              + (select count(*) from pg_proc where proowner = r.oid)
              + (select count(*) from pg_namespace where nspowner = r.oid)
              + (select count(*) from pg_type where typowner = r.oid)
           from pg_roles r where r.rolname = $1",
    )
    .bind(role)
    .fetch_one(&mut *conn)
    .await?;
    if owned > 0 {
        return Err(unsafe_reason(format!(
            "it owns {owned} objects in this database"
        )));
    }
    Ok(())
}

/// A one-dimensional Postgres array literal, every element quoted (`None` is a NULL element):
/// `{"a","b \"c\"",NULL}`. For arrays sent as text (COPY, `text[]` parameters cast to a type).
pub fn array_literal<'a>(values: impl Iterator<Item = Option<&'a str>>) -> String {
    let mut out = String::from("{");
    for (i, value) in values.enumerate() {
        if i > 0 {
            out.push(',');
        }
        let Some(value) = value else {
            out.push_str("NULL");
            continue;
        };
        out.push('"');
        for c in value.chars() {
            if c == '"' || c == '\\' {
                out.push('\\');
            }
            out.push(c);
        }
        out.push('"');
    }
    out.push('}');
    out
}

#[cfg(test)]
mod array_literal_tests {
    use super::array_literal;

    #[test]
    fn quotes_array_elements_and_writes_null_bare() {
        assert_eq!(
            array_literal([Some("a"), Some("b \"c\""), Some("d\\e"), None].into_iter()),
            r#"{"a","b \"c\"","d\\e",NULL}"#
        );
        assert_eq!(array_literal(std::iter::empty()), "{}");
    }
}
