//! First run: what the laptop holds (nothing yet, a local hotel, demo data, or a server's
//! tenant), the short local setup (property, room types, rooms), the demo, and connecting to a
//! server with the initial sync and its progress.
//!
//! Local-only mode: a tenant id is made here and remembered as the session's, `local_tenant` is
//! set, and the property, room types and rooms are written through the outbox so that adopting
//! the local hotel into a server tenant later pushes them. No `tenants` row is written.

use std::collections::HashSet;

use crate::session_store;
use pms_sync_client::engine;
use pms_sync_client::remote::Remote;
use pms_sync_client::session_file::StoredSession;
use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tauri::{Emitter, Runtime, State};
use uuid::Uuid;

use crate::db::{self, Property};
use crate::error::{AppError, AppResult, CmdResult};
use crate::state::Desk;

/// What the laptop holds.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Nothing yet: the first-run screen.
    New,
    /// A hotel set up on this laptop, no server.
    Local,
    /// Demo data on this laptop.
    Demo,
    /// Signed in to a server; `initial_sync_done` tells whether the first copy completed.
    Server,
}

#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct AppStatus {
    pub mode: Mode,
    pub property: Option<Property>,
    pub server: Option<String>,
    pub initial_sync_done: bool,
    /// The staff role the screens are shown for (local and demo desks act as the owner).
    pub role: String,
    /// A server desk opens its data only to a signed-in staff member.
    pub locked: bool,
    pub user: Option<crate::state::User>,
    pub today: String,
    /// Minutes without a command before a signed-in desk locks (0: never).
    pub idle_lock_minutes: i64,
}

pub fn app_status(desk: &Desk) -> AppResult<AppStatus> {
    let conn = desk.conn();
    let session = session_store::load(&desk.database_path())?;
    let mode = if db::desk_state(&conn, "desk_demo")?.as_deref() == Some("1") {
        Mode::Demo
    } else if db::desk_state(&conn, "local_tenant")?.as_deref() == Some("1") {
        Mode::Local
    } else if session.is_some() {
        Mode::Server
    } else {
        Mode::New
    };
    Ok(AppStatus {
        mode,
        property: db::current_property(&conn)?,
        server: session.map(|s| s.server),
        initial_sync_done: db::desk_state(&conn, "initial_sync_done")?.as_deref() == Some("1"),
        role: match desk.user() {
            Some(user) => user.role,
            None => db::desk_state(&conn, "desk_staff_role")?.unwrap_or_else(|| "owner".to_owned()),
        },
        locked: desk.is_locked(),
        user: desk.user(),
        today: db::today(&conn, desk.now())?.to_string(),
        idle_lock_minutes: idle_lock_minutes(&conn)?,
    })
}

#[tauri::command(rename_all = "snake_case")]
pub async fn get_app_status(desk: State<'_, Desk>) -> CmdResult<AppStatus> {
    Ok(app_status(&desk)?)
}

/// A room type and its rooms, as typed in the setup form.
#[derive(Debug, Clone, Deserialize)]
pub struct RoomTypeInput {
    pub code: String,
    pub name: String,
    pub base_rate_cents: i64,
    pub max_occupancy: i64,
    /// Room numbers (the UI expands ranges such as `101-110`).
    pub rooms: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SetupInput {
    pub property_name: String,
    pub currency: String,
    pub timezone: Option<String>,
    pub room_types: Vec<RoomTypeInput>,
}

fn validate_setup(input: &SetupInput) -> AppResult<()> {
    if input.property_name.trim().is_empty() {
        return Err(AppError::validation(
            "property_name",
            "Enter the name of the hotel.",
        ));
    }
    let currency = input.currency.trim();
    if currency.len() != 3 || !currency.chars().all(|c| c.is_ascii_uppercase()) {
        return Err(AppError::validation(
            "currency",
            "Enter a three-letter currency code such as EUR or USD.",
        ));
    }
    if input.room_types.is_empty() {
        return Err(AppError::validation(
            "room_types",
            "Add at least one room type.",
        ));
    }
    let mut codes = HashSet::new();
    let mut numbers = HashSet::new();
    for (i, room_type) in input.room_types.iter().enumerate() {
        let field = |name: &str| format!("room_types.{i}.{name}");
        if room_type.code.trim().is_empty() || !codes.insert(room_type.code.trim().to_uppercase()) {
            return Err(AppError::validation(
                &field("code"),
                "Each room type needs its own short code.",
            ));
        }
        if room_type.name.trim().is_empty() {
            return Err(AppError::validation(&field("name"), "Name the room type."));
        }
        if room_type.base_rate_cents < 0 {
            return Err(AppError::validation(
                &field("base_rate_cents"),
                "The rate cannot be negative.",
            ));
        }
        if !(1..=20).contains(&room_type.max_occupancy) {
            return Err(AppError::validation(
                &field("max_occupancy"),
                "Occupancy is between 1 and 20 guests.",
            ));
        }
        if room_type.rooms.is_empty() {
            return Err(AppError::validation(
                &field("rooms"),
                "List the rooms of this type, for example 101-110.",
            ));
        }
        for number in &room_type.rooms {
            if number.trim().is_empty() || !numbers.insert(number.trim().to_owned()) {
                return Err(AppError::validation(
                    &field("rooms"),
                    format!("Room {} is listed twice.", number.trim()),
                ));
            }
        }
    }
    Ok(())
}

/// Starts a local-only hotel (`local_tenant`, to be adopted into a server tenant later).
pub fn setup_local(conn: &mut Connection, input: &SetupInput) -> AppResult<Property> {
    validate_setup(input)?;
    if db::desk_state(conn, "tenant_id")?.is_some() {
        return Err(AppError::AlreadySetUp);
    }
    let property = create_hotel(conn, input)?;
    db::set_desk_state(conn, "local_tenant", "1")?;
    Ok(property)
}

/// A new tenant id, then the property, room types and rooms through the outbox. Refused when
/// the laptop already holds a hotel.
pub fn create_hotel(conn: &mut Connection, input: &SetupInput) -> AppResult<Property> {
    validate_setup(input)?;
    if db::desk_state(conn, "tenant_id")?.is_some() {
        return Err(AppError::AlreadySetUp);
    }
    let tenant = Uuid::now_v7();
    engine::remember_session(conn, tenant)?;
    let property = Uuid::now_v7();
    let currency = input.currency.trim().to_owned();
    let timezone = db::optional_text(&input.timezone).unwrap_or_else(|| "UTC".to_owned());
    let now = db::now();
    db::insert(
        conn,
        "properties",
        property,
        json!({"name": input.property_name.trim(), "currency": currency, "timezone": timezone, "created_at": now}),
    )?;
    for room_type in &input.room_types {
        let type_id = Uuid::now_v7();
        db::insert(
            conn,
            "room_types",
            type_id,
            json!({
                "property_id": property, "code": room_type.code.trim().to_uppercase(), "name": room_type.name.trim(),
                "base_rate_cents": room_type.base_rate_cents, "max_occupancy": room_type.max_occupancy, "created_at": now,
            }),
        )?;
        for number in &room_type.rooms {
            let number = number.trim();
            db::insert(
                conn,
                "rooms",
                Uuid::now_v7(),
                json!({
                    "property_id": property, "room_type_id": type_id, "number": number,
                    "floor": floor_of(number), "housekeeping_status": "clean", "created_at": now,
                }),
            )?;
        }
    }
    db::set_desk_state(conn, "desk_property_id", &property.to_string())?;
    // A local hotel numbers its guest invoices in a series of its own (no server to give one).
    pms_sync_client::guest_invoice::ensure_local_series(conn, &tenant.to_string(), "A")?;
    db::property(conn)
}

/// The floor a room number suggests (`204` → 2), when it is a plain number.
pub fn floor_of(number: &str) -> Option<i64> {
    let n: i64 = number.parse().ok()?;
    (n >= 100).then_some(n / 100).filter(|f| *f <= 200)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn setup_local_hotel(desk: State<'_, Desk>, input: SetupInput) -> CmdResult<Property> {
    let property = setup_local(&mut desk.conn(), &input)?;
    desk.changed();
    Ok(property)
}

/// The properties this laptop holds (every hotel of the group, for an owner's account), by name.
pub fn properties(conn: &Connection) -> AppResult<Vec<Property>> {
    let mut statement = conn.prepare_cached(&format!(
        "select {} from properties where deleted_at is null order by name, id",
        db::PROPERTY_COLUMNS
    ))?;
    let rows = statement.query_map([], db::property_from_row)?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// Makes `id` the property this desk works for: its screens (Today, bookings, rooms, tape chart)
/// show that hotel from now on, on this laptop only.
pub fn choose_property(conn: &Connection, id: &str) -> AppResult<Property> {
    let known = properties(conn)?.into_iter().any(|p| p.id == id);
    if !known {
        return Err(AppError::not_found("property"));
    }
    db::set_desk_state(conn, "desk_property_id", id)?;
    db::property(conn)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn list_properties(desk: State<'_, Desk>) -> CmdResult<Vec<Property>> {
    Ok(properties(&desk.conn())?)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn set_desk_property(desk: State<'_, Desk>, id: String) -> CmdResult<Property> {
    let property = choose_property(&desk.conn(), &id)?;
    desk.changed();
    Ok(property)
}

/// Loads the demo hotel; `guests` (default 120) makes a bigger guest list for performance runs.
#[tauri::command(rename_all = "snake_case")]
pub async fn load_demo(desk: State<'_, Desk>, guests: Option<usize>) -> CmdResult<Property> {
    let guests = guests.unwrap_or(crate::demo::DEMO_GUESTS);
    // the demo hotel is in Lisbon: its bookings are dated around Lisbon's today
    let today = desk.now().with_timezone(&crate::demo::ZONE).date_naive();
    let property = crate::demo::load(&mut desk.conn(), today, guests)?;
    desk.changed();
    Ok(property)
}

#[derive(Debug, Clone, Deserialize)]
pub struct ConnectInput {
    pub server: String,
    pub email: String,
    pub password: String,
    pub device_name: Option<String>,
}

/// Progress of the initial sync, sent as `setup://progress`.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct SyncProgress {
    pub table: String,
    pub tables_done: usize,
    pub tables_total: usize,
    pub rows: u64,
}

/// Checks and normalises the server address typed in.
pub fn server_url(text: &str) -> AppResult<String> {
    let url = text.trim().trim_end_matches('/');
    if !(url.starts_with("http://") || url.starts_with("https://")) || url.len() < 10 {
        return Err(AppError::validation(
            "server",
            "Enter the server address, for example https://pms.example.com",
        ));
    }
    Ok(url.to_owned())
}

/// Signs in to a server, keeps the session beside the database (never in it), and copies the
/// tenant's data with progress events. The password is used for this request only.
#[tauri::command(rename_all = "snake_case")]
pub async fn connect_server<R: Runtime>(
    app: tauri::AppHandle<R>,
    desk: State<'_, Desk>,
    input: ConnectInput,
) -> CmdResult<AppStatus> {
    let server = server_url(&input.server)?;
    if input.email.trim().is_empty() {
        return Err(AppError::validation("email", "Enter your email.").into());
    }
    if input.password.is_empty() {
        return Err(AppError::validation("password", "Enter your password.").into());
    }
    {
        let conn = desk.conn();
        // A hotel set up without a server is adopted into the server's tenant at sign-in
        // (`engine::remember_session`); the demo hotel is not real data and never joins one.
        if db::desk_state(&conn, "desk_demo")?.as_deref() == Some("1") {
            return Err(AppError::validation(
                "server",
                "This laptop runs the demo hotel; use a new data folder to connect to a server.",
            )
            .into());
        }
    }
    let mut remote = Remote::new(server.clone());
    let device_name =
        db::optional_text(&input.device_name).unwrap_or_else(|| "Front desk".to_owned());
    let session = remote
        .login(input.email.trim(), &input.password, &device_name)
        .await
        .map_err(AppError::from)?;
    {
        let mut conn = desk.conn();
        match engine::remember_session(&mut conn, session.tenant_id) {
            Err(pms_sync_client::Error::OtherTenant) => return Err(AppError::validation(
                "email",
                "This laptop holds another hotel's data; use a new data folder for this account.",
            )
            .into()),
            other => other?,
        }
        db::set_desk_state(&conn, "desk_staff_role", &session.staff_role)?;
        db::set_desk_state(&conn, "desk_user_email", input.email.trim())?;
    }
    session_store::save(
        &desk.database_path(),
        &StoredSession {
            server: server.clone(),
            device_id: session.device_id,
            refresh_token: session.refresh_token.clone(),
        },
    )?;
    // later sign-ins on this laptop work offline, against a hash of this password
    crate::credentials::remember(
        desk.data_dir(),
        input.email.trim(),
        &input.password,
        &session.staff_role,
        Some(session.user_id),
    )?;
    desk.sign_in(crate::state::User {
        email: input.email.trim().to_lowercase(),
        role: session.staff_role.clone(),
        user_id: Some(session.user_id),
    });
    // The initial copy runs on its own connection (and thread): the screens stay usable.
    let database = desk.database_path();
    let progress_app = app.clone();
    crate::sync_task::on_own_thread(move || async move {
        let mut conn = pms_sync_client::mirror::open(&database)?;
        engine::initial_sync(&mut conn, &remote, |progress| {
            let _ = progress_app.emit(
                "setup://progress",
                SyncProgress {
                    table: progress.table.to_owned(),
                    tables_done: progress.tables_done,
                    tables_total: progress.tables_total,
                    rows: progress.rows,
                },
            );
            true
        })
        .await?;
        Ok(())
    })
    .await?;
    desk.changed();
    Ok(app_status(&desk)?)
}

/// Signs a staff member in at a desk connected to a server (a colleague taking over the desk is
/// the same: whoever was signed in is signed out). With the server reachable the password is
/// checked there (`/v1/auth/colleague`, through the laptop's own session: no new device), and a
/// hash is kept so the next sign-in works offline; unreachable, it is checked against the hash
/// kept from the colleague's last online sign-in on this laptop. A password the server refuses is
/// refused, whatever hash is kept (a disabled account, a changed password). Local and demo desks
/// need none.
#[tauri::command(rename_all = "snake_case")]
pub async fn sign_in(
    desk: State<'_, Desk>,
    email: String,
    password: String,
    new_password: Option<String>,
) -> CmdResult<AppStatus> {
    if app_status(&desk)?.mode == Mode::Server {
        if email.trim().is_empty() {
            return Err(AppError::validation("email", "Enter your email.").into());
        }
        let new_password = new_password.filter(|p| !p.is_empty());
        let online =
            colleague_online(&desk, email.trim(), &password, new_password.as_deref()).await?;
        let user = match online {
            Some(user) => user,
            None => {
                let kept = crate::credentials::verify(desk.data_dir(), &email, &password)?;
                crate::state::User {
                    email: kept.email,
                    role: kept.role,
                    user_id: kept.user_id,
                }
            }
        };
        desk.sign_in(user);
    }
    Ok(app_status(&desk)?)
}

/// The colleague as the server knows them, or `None` when the server cannot say now (offline,
/// or the background sync holds no fresh session yet): then the kept hash decides.
async fn colleague_online(
    desk: &Desk,
    email: &str,
    password: &str,
    new_password: Option<&str>,
) -> AppResult<Option<crate::state::User>> {
    let (Some(stored), Some(token)) = (
        session_store::load(&desk.database_path())?,
        desk.access_token(),
    ) else {
        return Ok(None);
    };
    let remote = Remote::new(stored.server).with_access_token(token);
    match remote.colleague(email, password, new_password).await {
        Ok(colleague) => {
            // the password that signs in from now on: their own, once a temporary one is replaced
            crate::credentials::remember(
                desk.data_dir(),
                email,
                new_password.unwrap_or(password),
                &colleague.staff_role,
                Some(colleague.user_id),
            )?;
            Ok(Some(crate::state::User {
                email: colleague.email.to_lowercase(),
                role: colleague.staff_role,
                user_id: Some(colleague.user_id),
            }))
        }
        Err(
            error @ pms_sync_client::Error::Refused {
                status: 401 | 403 | 422,
                ..
            },
        ) if !matches!(&error, pms_sync_client::Error::Refused { code, .. }
                if matches!(code.as_str(), "invalid_token" | "session_revoked" | "missing_token")) =>
        {
            // the server's word on this colleague (wrong, disabled, temporary, too short)
            Err(error.into())
        }
        Err(pms_sync_client::Error::Refused { status: 429, .. }) => Err(AppError::ServerRefused {
            message: "Too many sign-in attempts: wait a minute, then try again.".to_owned(),
        }),
        // unreachable, busy, or the laptop's token just expired: the kept hash decides
        Err(_) => Ok(None),
    }
}

/// How long a signed-in desk may stay untouched before it locks (the owner's setting).
pub const IDLE_LOCK_KEY: &str = "desk_idle_lock_minutes";
pub const DEFAULT_IDLE_LOCK_MINUTES: i64 = 15;

/// The idle time after which the desk locks, in minutes (0: never).
pub fn idle_lock_minutes(conn: &rusqlite::Connection) -> AppResult<i64> {
    Ok(db::desk_state(conn, IDLE_LOCK_KEY)?
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_IDLE_LOCK_MINUTES))
}

/// The owner sets how long the desk may stay idle before it locks (0: never; at most 8 hours).
#[tauri::command(rename_all = "snake_case")]
pub async fn set_idle_lock(desk: State<'_, Desk>, minutes: i64) -> CmdResult<AppStatus> {
    let role = app_status(&desk)?.role;
    if role != "owner" {
        return Err(AppError::validation(
            "minutes",
            "Only the owner decides when the desk locks itself.",
        )
        .into());
    }
    if !(0..=480).contains(&minutes) {
        return Err(
            AppError::validation("minutes", "Choose between 0 (never) and 480 minutes.").into(),
        );
    }
    db::set_desk_state(&desk.conn(), IDLE_LOCK_KEY, &minutes.to_string())?;
    Ok(app_status(&desk)?)
}

/// Closes a server desk until the next sign-in.
#[tauri::command(rename_all = "snake_case")]
pub async fn sign_out(desk: State<'_, Desk>) -> CmdResult<AppStatus> {
    let server = app_status(&desk)?.mode == Mode::Server;
    desk.sign_out(server);
    Ok(app_status(&desk)?)
}
