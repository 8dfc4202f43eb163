//! The owner's staff screen: colleagues are listed from the mirror; adding one, changing a role
//! and disabling an account are writes like any other (the outbox, then the server's rules:
//! RLS lets only the owner write staff, and an account is enabled again only by the platform);
//! a temporary password for a new colleague (or one who forgot theirs) comes from the server
//! (`/v1/staff/{user_id}/temporary-password`) and is shown once, never kept on the laptop.

use crate::session_store;
use pms_sync_client::remote::{Remote, TemporaryPassword};
use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tauri::State;
use uuid::Uuid;

use crate::db;
use crate::error::{AppError, AppResult, CmdResult};
use crate::state::Desk;

pub const ROLES: &[&str] = &["owner", "manager", "front_desk", "housekeeping"];

#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct Colleague {
    pub id: String,
    pub user_id: String,
    pub email: String,
    pub display_name: String,
    pub role: String,
    pub enabled: bool,
    /// Still on this laptop only (added offline): no temporary password until it is sent.
    pub pending: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub struct NewColleague {
    pub email: String,
    pub display_name: String,
    pub role: String,
}

fn owner_only(desk: &Desk) -> AppResult<()> {
    let role = match desk.user() {
        Some(user) => user.role,
        None => db::desk_state(&desk.conn(), "desk_staff_role")?.unwrap_or_else(|| "owner".into()),
    };
    if role == "owner" {
        Ok(())
    } else {
        Err(AppError::OwnerOnly)
    }
}

fn check_role(role: &str) -> AppResult<()> {
    if ROLES.contains(&role) {
        Ok(())
    } else {
        Err(AppError::validation("role", "Choose a role from the list."))
    }
}

pub fn list(conn: &Connection) -> AppResult<Vec<Colleague>> {
    let mut statement = conn.prepare(
        "select s.id, s.user_id, s.email, s.display_name, s.role, coalesce(s.enabled, 1),
                exists (select 1 from outbox o where o.table_name = 'staff' and o.row_id = s.id
                          and o.status = 'pending')
           from staff s order by s.enabled desc, s.display_name, s.email",
    )?;
    let rows = statement.query_map([], |r| {
        Ok(Colleague {
            id: r.get(0)?,
            user_id: r.get(1)?,
            email: r.get(2)?,
            display_name: r.get(3)?,
            role: r.get(4)?,
            enabled: r.get(5)?,
            pending: r.get(6)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn colleague(conn: &Connection, user_id: &str) -> AppResult<Colleague> {
    list(conn)?
        .into_iter()
        .find(|c| c.user_id == user_id)
        .ok_or_else(|| AppError::not_found("The colleague"))
}

pub fn add(conn: &mut Connection, input: &NewColleague) -> AppResult<Colleague> {
    let email = input.email.trim().to_lowercase();
    let name = input.display_name.trim();
    if !email.contains('@') || email.contains(char::is_whitespace) {
        return Err(AppError::validation(
            "email",
            "Enter the colleague's email.",
        ));
    }
    if name.is_empty() {
        return Err(AppError::validation(
            "display_name",
            "Enter the colleague's name.",
        ));
    }
    check_role(&input.role)?;
    let taken: bool = conn.query_row(
        "select exists (select 1 from staff where lower(email) = ?1)",
        [&email],
        |r| r.get(0),
    )?;
    if taken {
        return Err(AppError::validation(
            "email",
            "A colleague with this email is already on the team.",
        ));
    }
    let (id, user_id) = (Uuid::now_v7(), Uuid::now_v7());
    db::insert(
        conn,
        "staff",
        id,
        json!({"user_id": user_id, "email": email, "display_name": name, "role": input.role,
               "enabled": true}),
    )?;
    colleague(conn, &user_id.to_string())
}

pub fn change(
    conn: &mut Connection,
    user_id: &str,
    values: serde_json::Value,
) -> AppResult<Colleague> {
    let current = colleague(conn, user_id)?;
    db::update(conn, "staff", db::parse_id("id", &current.id)?, values)?;
    colleague(conn, user_id)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn list_staff(desk: State<'_, Desk>) -> CmdResult<Vec<Colleague>> {
    Ok(list(&desk.conn())?)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn add_staff(desk: State<'_, Desk>, input: NewColleague) -> CmdResult<Colleague> {
    owner_only(&desk)?;
    let added = add(&mut desk.conn(), &input)?;
    desk.changed();
    Ok(added)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn change_staff_role(
    desk: State<'_, Desk>,
    user_id: String,
    role: String,
) -> CmdResult<Colleague> {
    owner_only(&desk)?;
    check_role(&role)?;
    let changed = change(&mut desk.conn(), &user_id, json!({"role": role}))?;
    desk.changed();
    Ok(changed)
}

/// Disables a colleague's account: their laptops are shut out at their next request. Enabling
/// it again is the platform's (`pms-server staff enable`), as the server's rules say.
#[tauri::command(rename_all = "snake_case")]
pub async fn disable_staff(desk: State<'_, Desk>, user_id: String) -> CmdResult<Colleague> {
    owner_only(&desk)?;
    if desk.staff_id().is_some_and(|me| me.to_string() == user_id) {
        return Err(AppError::validation(
            "user_id",
            "You cannot disable your own account from the desk.",
        )
        .into());
    }
    let changed = change(&mut desk.conn(), &user_id, json!({"enabled": false}))?;
    desk.changed();
    Ok(changed)
}

/// A temporary password for a colleague, from the server (online only), shown once.
#[tauri::command(rename_all = "snake_case")]
pub async fn give_temporary_password(
    desk: State<'_, Desk>,
    user_id: String,
) -> CmdResult<TemporaryPassword> {
    owner_only(&desk)?;
    let colleague = colleague(&desk.conn(), &user_id)?;
    if colleague.pending {
        return Err(AppError::NotYetOnServer {
            what: format!("{}'s account", colleague.display_name),
        }
        .into());
    }
    let (Some(stored), Some(token)) = (
        session_store::load(&desk.database_path())?,
        desk.access_token(),
    ) else {
        return Err(AppError::ServerUnreachable.into());
    };
    let user = db::parse_id("user_id", &user_id)?;
    let remote = Remote::new(stored.server).with_access_token(token);
    Ok(remote
        .temporary_password(user)
        .await
        .map_err(AppError::from)?)
}
