//! Campaigns: each campaign with its audience, status and rates (the rates are the server's
//! generated columns, so a campaign made here shows them after sync); choosing an audience with
//! a preview of how many guests it reaches; creating a draft (owners and managers, as the
//! server's policy says). Sending is the server's job.

use rusqlite::{params_from_iter, Connection};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tauri::State;
use uuid::Uuid;

use super::setup::app_status;
use crate::db;
use crate::error::{AppError, AppResult, CmdResult};
use crate::state::Desk;

#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct Campaign {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub status: String,
    pub audience: String,
    #[ts(type = "string[]")]
    pub target_segments: Value,
    #[ts(type = "string[]")]
    pub target_vip_statuses: Value,
    #[ts(type = "string[]")]
    pub target_loyalty_tiers: Value,
    pub scheduled_at: Option<String>,
    pub target_count: i64,
    pub sent_count: i64,
    pub open_rate: Option<String>,
    pub click_rate: Option<String>,
    pub conversion_rate: Option<String>,
}

fn json(text: Option<String>) -> Value {
    text.and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(Value::Array(Vec::new()))
}

pub fn list(conn: &Connection) -> AppResult<Vec<Campaign>> {
    let mut statement = conn.prepare_cached(
        "select id, coalesce(name, ''), coalesce(type, 'email'), coalesce(status, 'draft'), coalesce(audience, 'all_guests'),
                target_segments, target_vip_statuses, target_loyalty_tiers, scheduled_at,
                coalesce(target_count, 0), coalesce(sent_count, 0), open_rate, click_rate, conversion_rate
           from marketing_campaigns where deleted_at is null order by created_at desc limit 200",
    )?;
    let rows = statement.query_map([], |r| {
        Ok(Campaign {
            id: r.get(0)?,
            name: r.get(1)?,
            kind: r.get(2)?,
            status: r.get(3)?,
            audience: r.get(4)?,
            target_segments: json(r.get(5)?),
            target_vip_statuses: json(r.get(6)?),
            target_loyalty_tiers: json(r.get(7)?),
            scheduled_at: r.get(8)?,
            target_count: r.get(9)?,
            sent_count: r.get(10)?,
            open_rate: r.get(11)?,
            click_rate: r.get(12)?,
            conversion_rate: r.get(13)?,
        })
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// Who a campaign goes to.
#[derive(Debug, Clone, Deserialize)]
pub struct Audience {
    /// `all_guests`, `segment`, `vip` or `loyalty_tier`.
    pub audience: String,
    #[serde(default)]
    pub target_segments: Vec<String>,
    #[serde(default)]
    pub target_vip_statuses: Vec<String>,
    #[serde(default)]
    pub target_loyalty_tiers: Vec<String>,
}

const SEGMENTS: &[&str] = &["regular", "business", "leisure", "group"];
const VIP: &[&str] = &["none", "regular", "vip", "vvip"];

fn check_audience(audience: &Audience) -> AppResult<()> {
    let (field, chosen, allowed): (&str, &Vec<String>, Option<&[&str]>) =
        match audience.audience.as_str() {
            "all_guests" => return Ok(()),
            "segment" => ("target_segments", &audience.target_segments, Some(SEGMENTS)),
            "vip" => (
                "target_vip_statuses",
                &audience.target_vip_statuses,
                Some(VIP),
            ),
            "loyalty_tier" => ("target_loyalty_tiers", &audience.target_loyalty_tiers, None),
            _ => {
                return Err(AppError::validation(
                    "audience",
                    "Choose who the campaign goes to.",
                ))
            }
        };
    if chosen.is_empty() {
        return Err(AppError::validation(field, "Choose at least one."));
    }
    if let Some(allowed) = allowed {
        if chosen.iter().any(|c| !allowed.contains(&c.as_str())) {
            return Err(AppError::validation(field, "Choose from the list."));
        }
    }
    Ok(())
}

/// How many guests the audience reaches: guests who agreed to marketing (and, for email, have an
/// address) in the chosen segments, VIP statuses or loyalty tiers.
pub fn audience_count(conn: &Connection, audience: &Audience, kind: &str) -> AppResult<i64> {
    check_audience(audience)?;
    let contact = match kind {
        "email" => " and g.email is not null",
        "sms" => " and g.phone is not null",
        _ => "",
    };
    static NONE: Vec<String> = Vec::new();
    let (filter, values): (&str, &Vec<String>) = match audience.audience.as_str() {
        "segment" => ("g.segment in", &audience.target_segments),
        "vip" => ("g.vip_status in", &audience.target_vip_statuses),
        "loyalty_tier" => (
            "exists (select 1 from loyalty_members m where m.guest_id = g.id and m.deleted_at is null and m.current_tier in",
            &audience.target_loyalty_tiers,
        ),
        _ => ("", &audience.target_segments),
    };
    let values: &Vec<String> = if audience.audience == "all_guests" {
        &NONE
    } else {
        values
    };
    let placeholders = vec!["?"; values.len()].join(", ");
    let condition = match audience.audience.as_str() {
        "all_guests" => String::new(),
        "loyalty_tier" => format!(" and {filter} ({placeholders}))"),
        _ => format!(" and {filter} ({placeholders})"),
    };
    let sql = format!(
        "select count(*) from guests g where g.deleted_at is null and g.anonymized_at is null
            and coalesce(g.marketing_consent, 0) = 1{contact}{condition}"
    );
    Ok(conn.query_row(&sql, params_from_iter(values.iter()), |r| r.get(0))?)
}

#[derive(Debug, Clone, Deserialize)]
pub struct NewCampaign {
    pub name: String,
    /// `email`, `sms`, `push` or `in_app`.
    pub kind: String,
    pub subject: Option<String>,
    pub message: Option<String>,
    #[serde(flatten)]
    pub audience: Audience,
    /// When to send (RFC 3339); none keeps it a draft.
    pub scheduled_at: Option<String>,
}

pub fn create(conn: &mut Connection, input: &NewCampaign) -> AppResult<Campaign> {
    if input.name.trim().is_empty() {
        return Err(AppError::validation("name", "Name the campaign."));
    }
    if !["email", "sms", "push", "in_app"].contains(&input.kind.as_str()) {
        return Err(AppError::validation("kind", "Choose how it is sent."));
    }
    if input.kind == "email" && db::optional_text(&input.subject).is_none() {
        return Err(AppError::validation("subject", "An email needs a subject."));
    }
    check_audience(&input.audience)?;
    let scheduled = db::optional_text(&input.scheduled_at);
    if let Some(when) = &scheduled {
        chrono::DateTime::parse_from_rfc3339(when)
            .map_err(|_| AppError::validation("scheduled_at", "Enter a date and time."))?;
    }
    let id = Uuid::now_v7();
    db::insert(
        conn,
        "marketing_campaigns",
        id,
        json!({
            "name": input.name.trim(), "type": input.kind, "status": if scheduled.is_some() { "scheduled" } else { "draft" },
            "subject": db::optional_text(&input.subject), "message": db::optional_text(&input.message),
            "audience": input.audience.audience, "target_segments": input.audience.target_segments,
            "target_vip_statuses": input.audience.target_vip_statuses, "target_loyalty_tiers": input.audience.target_loyalty_tiers,
            "custom_filters": {}, "scheduled_at": scheduled, "send_immediately": false, "created_at": db::now(),
        }),
    )?;
    list(conn)?
        .into_iter()
        .find(|c| c.id == id.to_string())
        .ok_or_else(|| AppError::not_found("The campaign"))
}

fn require_manager(desk: &Desk) -> AppResult<()> {
    let role = app_status(desk)?.role;
    if matches!(role.as_str(), "owner" | "manager") {
        Ok(())
    } else {
        Err(AppError::validation(
            "role",
            "Campaigns are made by owners and managers.",
        ))
    }
}

#[tauri::command(rename_all = "snake_case")]
pub async fn preview_audience(
    desk: State<'_, Desk>,
    audience: Audience,
    kind: String,
) -> CmdResult<i64> {
    Ok(audience_count(&desk.conn(), &audience, &kind)?)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn create_campaign(desk: State<'_, Desk>, input: NewCampaign) -> CmdResult<Campaign> {
    require_manager(&desk)?;
    let campaign = create(&mut desk.conn(), &input)?;
    desk.changed();
    Ok(campaign)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn list_campaigns(desk: State<'_, Desk>) -> CmdResult<Vec<Campaign>> {
    Ok(list(&desk.conn())?)
}
