//! Provisioning with the owner's identity (`PMS_ADMIN_DATABASE_URL`): tenants, staff accounts,
//! disabling an account and revoking a device.

use sqlx::PgPool;
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::serve::auth::hash_password;

/// `pms-server tenant create`.
#[derive(Debug, Clone, clap::Args)]
pub struct TenantCreate {
    /// The hotel group's name.
    #[arg(long)]
    pub name: String,
    /// Unique lower-case subdomain, e.g. `casa-do-rio`.
    #[arg(long)]
    pub subdomain: String,
    /// Plan name (Trial, Basic, Pro, Enterprise); platform plans must exist (`seed-demo` or the import creates them).
    #[arg(long, default_value = "Trial")]
    pub plan: String,
}

/// `pms-server staff add`. The password comes from `PMS_STAFF_PASSWORD`, never from a flag
/// (flags are visible to every user of the machine).
#[derive(Debug, Clone, clap::Args)]
pub struct StaffAdd {
    /// The tenant's subdomain or id.
    #[arg(long)]
    pub tenant: String,
    #[arg(long)]
    pub email: String,
    #[arg(long = "name")]
    pub display_name: String,
    /// owner, manager, front_desk or housekeeping.
    #[arg(long)]
    pub role: String,
}

pub async fn create_tenant(pool: &PgPool, args: &TenantCreate) -> Result<Uuid> {
    let plan: Option<Uuid> =
        sqlx::query_scalar("select id from public.plans where tenant_id is null and name = $1")
            .bind(&args.plan)
            .fetch_optional(pool)
            .await?;
    let id: Uuid = sqlx::query_scalar(
        "insert into public.tenants (name, subdomain, plan_id, status) values ($1, $2, $3, 'active') returning id",
    )
    .bind(&args.name)
    .bind(&args.subdomain)
    .bind(plan)
    .fetch_one(pool)
    .await
    .map_err(|e| constraint_message(e, "tenants_subdomain", "that subdomain is taken: choose another --subdomain"))?;
    Ok(id)
}

pub async fn add_staff(pool: &PgPool, args: &StaffAdd, password: Option<&str>) -> Result<Uuid> {
    let tenant: Option<Uuid> =
        sqlx::query_scalar("select id from public.tenants where subdomain = $1 or id::text = $1")
            .bind(&args.tenant)
            .fetch_optional(pool)
            .await?;
    let tenant = tenant.ok_or_else(|| {
        Error::Invalid(format!(
            "no tenant {:?}: pass its subdomain or id",
            args.tenant
        ))
    })?;
    let hash = match password {
        Some(p) if p.chars().count() < 10 => {
            return Err(Error::Invalid(
                "PMS_STAFF_PASSWORD must have at least 10 characters".to_owned(),
            ))
        }
        Some(p) => Some(
            hash_password(p)
                .map_err(|e| Error::Invalid(format!("cannot hash the password: {e}")))?,
        ),
        None => None,
    };
    let user_id: Uuid = sqlx::query_scalar(
        "insert into public.staff (tenant_id, email, display_name, role, password_hash)
         values ($1, $2, $3, $4, $5) returning user_id",
    )
    .bind(tenant)
    .bind(args.email.trim())
    .bind(&args.display_name)
    .bind(&args.role)
    .bind(hash)
    .fetch_one(pool)
    .await
    .map_err(
        |e| match e.as_database_error().and_then(|d| d.constraint()) {
            Some("staff_role_check") => Error::Invalid(
                "--role must be owner, manager, front_desk or housekeeping".to_owned(),
            ),
            Some("staff_email_check") => {
                Error::Invalid("--email is not an email address".to_owned())
            }
            _ => constraint_message(
                e,
                "login_identities_email_key",
                "a staff account with that email exists already",
            ),
        },
    )?;
    Ok(user_id)
}

/// Sets a staff account's password (a permanent one: a temporary password an owner gave is
/// replaced), e.g. `scripts/run`'s demo accounts, whose password is generated at each run.
pub async fn set_staff_password(pool: &PgPool, email: &str, password: &str) -> Result<()> {
    if password.chars().count() < 10 {
        return Err(Error::Invalid(
            "PMS_STAFF_PASSWORD must have at least 10 characters".to_owned(),
        ));
    }
    let hash = hash_password(password)
        .map_err(|e| Error::Invalid(format!("cannot hash the password: {e}")))?;
    let updated = sqlx::query(
        "update public.staff set password_hash = $2, password_temporary = false, password_expires_at = null
          where lower(email) = lower($1)",
    )
    .bind(email.trim())
    .bind(hash)
    .execute(pool)
    .await?;
    if updated.rows_affected() == 0 {
        return Err(Error::Invalid(format!(
            "no staff account with email {email:?}"
        )));
    }
    Ok(())
}

/// Disables a staff account: its devices can no longer refresh or sync.
pub async fn disable_staff(pool: &PgPool, email: &str) -> Result<()> {
    set_staff_enabled(pool, email, false).await
}

/// Enables a disabled staff account again (laptops cannot: an owner may only disable).
pub async fn enable_staff(pool: &PgPool, email: &str) -> Result<()> {
    set_staff_enabled(pool, email, true).await
}

async fn set_staff_enabled(pool: &PgPool, email: &str, enabled: bool) -> Result<()> {
    let updated =
        sqlx::query("update public.staff set enabled = $2 where lower(email) = lower($1)")
            .bind(email.trim())
            .bind(enabled)
            .execute(pool)
            .await?;
    if updated.rows_affected() == 0 {
        return Err(Error::Invalid(format!(
            "no staff account with email {email:?}"
        )));
    }
    Ok(())
}

/// Changes a staff member's role. Their laptops follow on the next pull: the server reports the
/// new role and the laptop re-snapshots what it may now read.
pub async fn set_staff_role(pool: &PgPool, email: &str, role: &str) -> Result<()> {
    let updated = sqlx::query("update public.staff set role = $2 where lower(email) = lower($1)")
        .bind(email.trim())
        .bind(role)
        .execute(pool)
        .await
        .map_err(|e| {
            constraint_message(
                e,
                "staff_role",
                "the role must be owner, manager, front_desk or housekeeping",
            )
        })?;
    if updated.rows_affected() == 0 {
        return Err(Error::Invalid(format!(
            "no staff account with email {email:?}"
        )));
    }
    Ok(())
}

/// Days of sync state (feed, push results) `prune-sync-state` keeps unless told otherwise.
pub const DEFAULT_SYNC_RETENTION_DAYS: u32 = 90;

/// What `prune_sync_state` removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pruned {
    pub changes: i64,
    pub results: i64,
}

/// Removes feed changes and push results older than `keep_days` (whole feed transactions, oldest
/// first). A laptop whose cursor is older is told `cursor_expired` and re-snapshots.
pub async fn prune_sync_state(pool: &PgPool, keep_days: u32) -> Result<Pruned> {
    let (changes, results): (i64, i64) =
        sqlx::query_as("select changes_removed, results_removed from app.prune_sync_state(make_interval(days => $1))")
            .bind(i32::try_from(keep_days).unwrap_or(i32::MAX))
            .fetch_one(pool)
            .await?;
    Ok(Pruned { changes, results })
}

/// Revokes one device: it can no longer refresh or sync, the others of the account can.
pub async fn revoke_device(pool: &PgPool, device_id: Uuid) -> Result<()> {
    let updated = sqlx::query(
        "update public.devices set revoked_at = now() where id = $1 and revoked_at is null",
    )
    .bind(device_id)
    .execute(pool)
    .await?;
    if updated.rows_affected() == 0 {
        return Err(Error::Invalid(format!("no active device {device_id}")));
    }
    Ok(())
}

fn constraint_message(error: sqlx::Error, constraint_prefix: &str, message: &str) -> Error {
    match error.as_database_error().and_then(|d| d.constraint()) {
        Some(c) if c.starts_with(constraint_prefix) => Error::Invalid(message.to_owned()),
        Some(c) => Error::Invalid(format!("the database refused the value ({c})")),
        None => Error::Database(error),
    }
}
