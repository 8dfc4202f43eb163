//! Loyalty programs as owners and managers set them up at the desk: the earning and redemption
//! rules and the tiers, checked by the server's rules before they are written. Members, balances
//! and tiers reached stay the server's (they follow the ledger).

use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::outbox;
use pms_sync_protocol::wire::PushOp;

#[derive(Debug, Clone, Deserialize, Serialize, ts_rs::TS)]
pub struct TierInput {
    pub name: String,
    pub required_points: i64,
    /// Points earned are multiplied by this at the tier (1 = none).
    pub multiplier: f64,
    #[serde(default)]
    pub benefits: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, ts_rs::TS)]
pub struct ProgramInput {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    pub enabled: bool,
    /// Points per unit of the currency spent on a stay.
    pub points_per_currency_unit: f64,
    #[serde(default)]
    pub first_stay_bonus_points: i64,
    #[serde(default)]
    pub birthday_bonus_points: i64,
    /// What a point is worth when redeemed, in cents of the currency.
    pub point_value_cents: f64,
    #[serde(default)]
    pub minimum_redemption_points: i64,
    /// None: points never expire.
    #[serde(default)]
    pub points_expiry_days: Option<i64>,
    #[serde(default)]
    pub tiers: Vec<TierInput>,
}

fn invalid(field: &'static str, message: impl Into<String>) -> Error {
    Error::Invalid {
        field,
        message: message.into(),
    }
}

/// The program's columns after the rules (the server's checks, and tiers that climb).
fn columns(input: &ProgramInput) -> Result<Map<String, Value>> {
    let name = input.name.trim();
    if name.is_empty() {
        return Err(invalid("name", "Give the program a name."));
    }
    if !(0.0..=1000.0).contains(&input.points_per_currency_unit) {
        return Err(invalid(
            "points_per_currency_unit",
            "Points per unit spent must be between 0 and 1000.",
        ));
    }
    if !(0.0..=100_000.0).contains(&input.point_value_cents) {
        return Err(invalid(
            "point_value_cents",
            "A point's value must be 0 or more.",
        ));
    }
    for (field, value) in [
        ("first_stay_bonus_points", input.first_stay_bonus_points),
        ("birthday_bonus_points", input.birthday_bonus_points),
        ("minimum_redemption_points", input.minimum_redemption_points),
    ] {
        if value < 0 {
            return Err(invalid(field, "Points cannot be negative."));
        }
    }
    if input.points_expiry_days.is_some_and(|days| days <= 0) {
        return Err(invalid(
            "points_expiry_days",
            "Points expire after 1 day or more (leave it empty for never).",
        ));
    }
    let mut tiers = Vec::new();
    let mut previous: Option<i64> = None;
    for tier in &input.tiers {
        let tier_name = tier.name.trim();
        if tier_name.is_empty() {
            return Err(invalid("tiers", "Give every tier a name."));
        }
        if tiers.iter().any(|t: &Value| {
            t["name"]
                .as_str()
                .is_some_and(|n| n.eq_ignore_ascii_case(tier_name))
        }) {
            return Err(invalid(
                "tiers",
                format!("Two tiers are called {tier_name}."),
            ));
        }
        if tier.required_points < 0 || previous.is_some_and(|p| tier.required_points <= p) {
            return Err(invalid(
                "tiers",
                "Each tier needs more points than the one before it.",
            ));
        }
        if !(1.0..=10.0).contains(&tier.multiplier) {
            return Err(invalid(
                "tiers",
                format!("{tier_name}: the multiplier must be between 1 and 10."),
            ));
        }
        previous = Some(tier.required_points);
        let benefits: Vec<&str> = tier
            .benefits
            .iter()
            .map(|b| b.trim())
            .filter(|b| !b.is_empty())
            .collect();
        tiers.push(
            json!({"name": tier_name, "required_points": tier.required_points,
                          "multiplier": tier.multiplier, "benefits": benefits}),
        );
    }
    let Value::Object(map) = json!({
        "name": name,
        "description": input.description.as_deref().map(str::trim).filter(|d| !d.is_empty()),
        "enabled": input.enabled,
        "tiers": tiers,
        "points_per_currency_unit": input.points_per_currency_unit,
        "first_stay_bonus_points": input.first_stay_bonus_points,
        "birthday_bonus_points": input.birthday_bonus_points,
        "point_value_cents": input.point_value_cents,
        "minimum_redemption_points": input.minimum_redemption_points,
        "points_expiry_days": input.points_expiry_days,
    }) else {
        unreachable!("a json object literal")
    };
    Ok(map)
}

/// Creates a program counting in `currency`; returns its id.
pub fn create(conn: &mut Connection, input: &ProgramInput, currency: &str) -> Result<Uuid> {
    let mut values = columns(input)?;
    values.insert("currency".into(), json!(currency));
    let id = Uuid::now_v7();
    outbox::write(conn, "loyalty_programs", PushOp::Insert, id, values)?;
    Ok(id)
}

/// Changes a program's rules and tiers (what differs from the laptop's row is sent).
pub fn update(conn: &mut Connection, id: Uuid, input: &ProgramInput) -> Result<()> {
    let current = crate::mirror::read(conn, "loyalty_programs", &id.to_string())?
        .filter(|row| row.get("deleted_at").is_none_or(Value::is_null))
        .ok_or_else(|| invalid("id", "The program is not on this laptop."))?;
    let same = |column: &str, value: &Value| {
        let now = current.get(column).unwrap_or(&Value::Null);
        // numerics come back from the mirror as text ("1.5")
        let as_number = now.as_str().and_then(|t| t.parse::<f64>().ok());
        now == value || (as_number.is_some() && as_number == value.as_f64())
    };
    let changed: Map<String, Value> = columns(input)?
        .into_iter()
        .filter(|(column, value)| !same(column, value))
        .collect();
    if !changed.is_empty() {
        outbox::write(conn, "loyalty_programs", PushOp::Update, id, changed)?;
    }
    Ok(())
}
