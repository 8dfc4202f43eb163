//! Loyalty at the desk: programs and their tiers, a guest's memberships with the balance the
//! desk sees (server balance plus pending entries, `pms_sync_client::loyalty`), enrolment, earning
//! and redeeming, the ledger, and the points a stay earns at check-out.
//!
//! A stay earns `total ÷ 100 × points per currency unit × the tier's multiplier` (rounded down),
//! plus the program's first-stay bonus when the member has never earned before.

use pms_sync_client::loyalty as ledger;
use pms_sync_client::loyalty_programs::{self, ProgramInput};
use pms_sync_protocol::derived;
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tauri::State;
use uuid::Uuid;

use super::reservations::Reservation;
use crate::db;
use crate::error::{AppError, AppResult, CmdResult};
use crate::state::Desk;

#[derive(Debug, Clone, Serialize, PartialEq, ts_rs::TS)]
pub struct Tier {
    pub name: String,
    pub required_points: i64,
    pub multiplier: f64,
    pub benefits: Vec<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq, ts_rs::TS)]
pub struct Program {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub enabled: bool,
    pub tiers: Vec<Tier>,
    pub points_per_currency_unit: f64,
    pub first_stay_bonus_points: i64,
    pub birthday_bonus_points: i64,
    pub point_value_cents: f64,
    pub minimum_redemption_points: i64,
    pub points_expiry_days: Option<i64>,
    pub currency: String,
    pub members: i64,
}

fn tiers_of(json: Option<String>) -> Vec<Tier> {
    let parsed: Value = json
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or(Value::Null);
    parsed
        .as_array()
        .map(|tiers| {
            tiers
                .iter()
                .map(|tier| Tier {
                    name: tier["name"].as_str().unwrap_or_default().to_owned(),
                    required_points: tier["required_points"].as_i64().unwrap_or(0),
                    multiplier: tier["multiplier"]
                        .as_f64()
                        .or_else(|| tier["multiplier"].as_str().and_then(|m| m.parse().ok()))
                        .unwrap_or(1.0),
                    benefits: tier["benefits"]
                        .as_array()
                        .map(|b| {
                            b.iter()
                                .filter_map(|x| x.as_str().map(str::to_owned))
                                .collect()
                        })
                        .unwrap_or_default(),
                })
                .collect()
        })
        .unwrap_or_default()
}

pub fn programs(conn: &Connection) -> AppResult<Vec<Program>> {
    let mut statement = conn.prepare_cached(
        "select p.id, p.name, coalesce(p.enabled, 1), p.tiers, coalesce(p.points_per_currency_unit, '1'),
                coalesce(p.first_stay_bonus_points, 0), coalesce(p.minimum_redemption_points, 0),
                (select count(*) from loyalty_members m where m.program_id = p.id and m.deleted_at is null),
                p.description, coalesce(p.birthday_bonus_points, 0), coalesce(p.point_value_cents, '1'),
                p.points_expiry_days, coalesce(p.currency, 'USD')
           from loyalty_programs p where p.deleted_at is null order by p.name",
    )?;
    let rows = statement.query_map([], |r| {
        Ok(Program {
            id: r.get(0)?,
            name: r.get(1)?,
            enabled: r.get(2)?,
            tiers: tiers_of(r.get(3)?),
            points_per_currency_unit: r.get::<_, String>(4)?.parse().unwrap_or(1.0),
            first_stay_bonus_points: r.get(5)?,
            minimum_redemption_points: r.get(6)?,
            members: r.get(7)?,
            description: r.get(8)?,
            birthday_bonus_points: r.get(9)?,
            point_value_cents: r.get::<_, String>(10)?.parse().unwrap_or(1.0),
            points_expiry_days: r.get(11)?,
            currency: r.get(12)?,
        })
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

#[derive(Debug, Clone, Serialize, PartialEq, ts_rs::TS)]
pub struct Membership {
    pub id: String,
    pub program_id: String,
    pub program_name: String,
    pub membership_number: Option<i64>,
    pub tier: Option<String>,
    pub status: String,
    /// The server's balance plus entries not yet synced.
    pub available_points: i64,
}

pub fn memberships(conn: &Connection, guest_id: &str) -> AppResult<Vec<Membership>> {
    let mut statement = conn.prepare_cached(
        "select m.id, m.program_id, coalesce(p.name, ''), m.membership_number, m.current_tier, coalesce(m.status, 'active')
           from loyalty_members m left join loyalty_programs p on p.id = m.program_id
          where m.guest_id = ?1 and m.deleted_at is null order by m.enrolled_at",
    )?;
    let rows = statement
        .query_map([guest_id], |r| {
            Ok(Membership {
                id: r.get(0)?,
                program_id: r.get(1)?,
                program_name: r.get(2)?,
                membership_number: r.get(3)?,
                tier: r.get(4)?,
                status: r.get(5)?,
                available_points: 0,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    rows.into_iter()
        .map(|mut membership| {
            membership.available_points =
                ledger::available_points(conn, db::parse_id("member_id", &membership.id)?)?;
            Ok(membership)
        })
        .collect()
}

/// Enrols a guest in a program (once per program).
pub fn enroll(conn: &mut Connection, guest_id: &str, program_id: &str) -> AppResult<Membership> {
    let program = programs(conn)?
        .into_iter()
        .find(|p| p.id == program_id)
        .ok_or_else(|| AppError::not_found("The loyalty program"))?;
    let guest: Option<String> = conn
        .query_row(
            "select id from guests where id = ?1 and deleted_at is null",
            [guest_id],
            |r| r.get(0),
        )
        .optional()?;
    if guest.is_none() {
        return Err(AppError::not_found("The guest"));
    }
    if memberships(conn, guest_id)?
        .iter()
        .any(|m| m.program_id == program_id)
    {
        return Err(AppError::validation(
            "program_id",
            "The guest is already a member of this program.",
        ));
    }
    let id = Uuid::now_v7();
    db::insert(
        conn,
        "loyalty_members",
        id,
        json!({
            "program_id": program_id, "guest_id": guest_id, "status": "active", "enrolled_at": db::now(),
            "current_tier": program.tiers.first().map(|t| t.name.clone()), "created_at": db::now(),
        }),
    )?;
    memberships(conn, guest_id)?
        .into_iter()
        .find(|m| m.id == id.to_string())
        .ok_or_else(|| AppError::not_found("The membership"))
}

/// Points a checked-out stay earns for the guest's active memberships; returns the total written.
pub fn earn_for_stay(conn: &mut Connection, stay: &Reservation) -> AppResult<i64> {
    let Some(guest_id) = &stay.guest_id else {
        return Ok(0);
    };
    let label = match stay.confirmation_number {
        Some(number) => format!("Stay #{number}"),
        None => format!("Stay {} to {}", stay.check_in, stay.check_out),
    };
    let stay_id = db::parse_id("reservation_id", &stay.id)?;
    let mut total = 0;
    for membership in memberships(conn, guest_id)? {
        if membership.status != "active" {
            continue;
        }
        let Some(program) = programs(conn)?
            .into_iter()
            .find(|p| p.id == membership.program_id)
        else {
            continue;
        };
        if !program.enabled {
            continue;
        }
        let multiplier = program
            .tiers
            .iter()
            .find(|t| Some(&t.name) == membership.tier.as_ref())
            .map(|t| t.multiplier)
            .unwrap_or(1.0);
        let points = stay_points(
            stay.total_amount_cents,
            program.points_per_currency_unit,
            multiplier,
        );
        let member = db::parse_id("member_id", &membership.id)?;
        let earned_before: i64 = conn.query_row(
            "select count(*) from loyalty_transactions where member_id = ?1 and type = 'earn'",
            params![membership.id],
            |r| r.get(0),
        )?;
        // Derived entries: ids from the stay and the member, so a second desk checking the same
        // guest out offline makes the same entries, which the server takes once; and they
        // reference the stay, so the server takes them only once its check-out is accepted.
        let source = ("reservation", stay_id);
        if points > 0
            && ledger::earn_derived(
                conn,
                derived::stay_earning_id(stay_id, member),
                member,
                points,
                "earn",
                &label,
                source,
            )?
            .is_some()
        {
            total += points;
        }
        if earned_before == 0
            && program.first_stay_bonus_points > 0
            && ledger::earn_derived(
                conn,
                derived::first_stay_bonus_id(member),
                member,
                program.first_stay_bonus_points,
                "bonus",
                "First stay bonus",
                source,
            )?
            .is_some()
        {
            total += program.first_stay_bonus_points;
        }
    }
    Ok(total)
}

/// The points of a stay: whole currency units × points per unit × the tier's multiplier.
pub fn stay_points(total_cents: i64, per_unit: f64, multiplier: f64) -> i64 {
    ((total_cents as f64 / 100.0) * per_unit * multiplier)
        .floor()
        .max(0.0) as i64
}

#[derive(Debug, Clone, Serialize, PartialEq, ts_rs::TS)]
pub struct LedgerEntry {
    pub id: String,
    pub kind: String,
    pub points: i64,
    pub description: Option<String>,
    pub balance_after: Option<i64>,
    pub created_at: Option<String>,
    pub pending_sync: bool,
}

pub fn ledger_of(conn: &Connection, member_id: &str) -> AppResult<Vec<LedgerEntry>> {
    let mut statement = conn.prepare_cached(
        "select t.id, t.type, coalesce(t.points, 0), t.description, t.balance_after, t.created_at,
                exists (select 1 from outbox o where o.table_name = 'loyalty_transactions' and o.row_id = t.id and o.status = 'pending')
           from loyalty_transactions t where t.member_id = ?1 order by t.created_at desc, t.id desc limit 200",
    )?;
    let rows = statement.query_map([member_id], |r| {
        Ok(LedgerEntry {
            id: r.get(0)?,
            kind: r.get(1)?,
            points: r.get(2)?,
            description: r.get(3)?,
            balance_after: r.get(4)?,
            created_at: r.get(5)?,
            pending_sync: r.get(6)?,
        })
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

#[derive(Debug, Clone, Deserialize)]
pub struct PointsInput {
    pub member_id: String,
    pub points: i64,
    pub description: Option<String>,
}

/// Creates a loyalty program counting in the property's currency (owners and managers).
#[tauri::command(rename_all = "snake_case")]
pub async fn create_loyalty_program(
    desk: State<'_, Desk>,
    input: ProgramInput,
) -> CmdResult<Vec<Program>> {
    super::managers_only(&desk)?;
    let mut conn = desk.conn();
    let currency = db::property(&conn)?.currency;
    loyalty_programs::create(&mut conn, &input, &currency)?;
    let listed = programs(&conn)?;
    drop(conn);
    desk.changed();
    Ok(listed)
}

/// Changes a loyalty program's rules and tiers (owners and managers).
#[tauri::command(rename_all = "snake_case")]
pub async fn update_loyalty_program(
    desk: State<'_, Desk>,
    id: String,
    input: ProgramInput,
) -> CmdResult<Vec<Program>> {
    super::managers_only(&desk)?;
    let mut conn = desk.conn();
    loyalty_programs::update(&mut conn, db::parse_id("id", &id)?, &input)?;
    let listed = programs(&conn)?;
    drop(conn);
    desk.changed();
    Ok(listed)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn list_programs(desk: State<'_, Desk>) -> CmdResult<Vec<Program>> {
    Ok(programs(&desk.conn())?)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn enroll_guest(
    desk: State<'_, Desk>,
    guest_id: String,
    program_id: String,
) -> CmdResult<Membership> {
    let membership = enroll(&mut desk.conn(), &guest_id, &program_id)?;
    desk.changed();
    Ok(membership)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn redeem_points(desk: State<'_, Desk>, input: PointsInput) -> CmdResult<i64> {
    if input.points <= 0 {
        return Err(AppError::validation("points", "Enter a number of points above zero.").into());
    }
    let mut conn = desk.conn();
    let member = db::parse_id("member_id", &input.member_id)?;
    let description =
        db::optional_text(&input.description).unwrap_or_else(|| "Redeemed at the desk".to_owned());
    ledger::redeem(&mut conn, member, input.points, &description).map_err(AppError::from)?;
    desk.changed();
    Ok(ledger::available_points(&conn, member).map_err(AppError::from)?)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn add_points(desk: State<'_, Desk>, input: PointsInput) -> CmdResult<i64> {
    if input.points <= 0 {
        return Err(AppError::validation("points", "Enter a number of points above zero.").into());
    }
    let mut conn = desk.conn();
    let member = db::parse_id("member_id", &input.member_id)?;
    let description =
        db::optional_text(&input.description).unwrap_or_else(|| "Added at the desk".to_owned());
    ledger::earn(&mut conn, member, input.points, "bonus", &description).map_err(AppError::from)?;
    desk.changed();
    Ok(ledger::available_points(&conn, member).map_err(AppError::from)?)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn member_ledger(
    desk: State<'_, Desk>,
    member_id: String,
) -> CmdResult<Vec<LedgerEntry>> {
    Ok(ledger_of(&desk.conn(), &member_id)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stay_points_follow_the_rules() {
        // 350.00 at 1 point per unit, Gold ×1.5 → 525
        assert_eq!(stay_points(35_000, 1.0, 1.5), 525);
        // cents are not points: 99.99 → 99
        assert_eq!(stay_points(9_999, 1.0, 1.0), 99);
        assert_eq!(stay_points(0, 2.0, 2.0), 0);
    }

    #[test]
    fn tiers_read_from_the_program_json() {
        let tiers = tiers_of(Some(
            r#"[{"name":"Silver","required_points":0,"multiplier":1},{"name":"Gold","required_points":5000,"multiplier":"1.5"}]"#
                .to_owned(),
        ));
        assert_eq!(tiers.len(), 2);
        assert_eq!(tiers[1].name, "Gold");
        assert!((tiers[1].multiplier - 1.5).abs() < f64::EPSILON);
        assert!(tiers_of(None).is_empty());
    }
}
