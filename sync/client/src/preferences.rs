//! A guest's preferences as the desk edits them: each field checked by the server's rules before
//! it is written, so a clerk hears at once what the server would refuse later.
//!
//! A guest has one preference record. When the laptop holds none, the desk makes it under an id
//! derived from the guest (`derived::guest_preferences_id`): two desks creating it offline make
//! one record, and what each typed is sent as an update of it, merged field by field like any
//! other edit (a concurrent edit of the same field is a conflict a person sees, never lost).

use chrono::{NaiveDate, NaiveTime};
use rusqlite::{Connection, OptionalExtension};
use serde_json::{json, Map, Value};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::outbox;
use pms_sync_protocol::derived;
use pms_sync_protocol::wire::PushOp;

/// Columns whose value is one of a list (the server's checks); null clears them.
const CHOICES: &[(&str, &[&str])] = &[
    ("bed_type", &["king", "queen", "twin", "double"]),
    ("smoking", &["smoking", "non_smoking", "no_preference"]),
    ("floor_preference", &["low", "mid", "high", "specific"]),
    (
        "housekeeping_time",
        &["morning", "afternoon", "evening", "skip"],
    ),
    (
        "occasion_type",
        &["birthday", "anniversary", "honeymoon", "business"],
    ),
];

/// Free-text columns.
const TEXTS: &[&str] = &[
    "room_type",
    "view_preference",
    "pillow_type",
    "newspaper",
    "preferred_language",
    "notes",
];

/// List columns: each a list of short texts.
const LISTS: &[&str] = &[
    "dietary_restrictions",
    "allergies",
    "favorite_foods",
    "favorite_drinks",
    "special_requests",
    "accessibility_needs",
];

fn invalid(field: &str, message: &str) -> Error {
    // the field names are the columns above, all 'static
    let field: &'static str = CHOICES
        .iter()
        .map(|(c, _)| *c)
        .chain(TEXTS.iter().copied())
        .chain(LISTS.iter().copied())
        .chain([
            "specific_floor",
            "room_temperature_c",
            "wake_up_call",
            "wake_up_time",
            "occasion_date",
        ])
        .find(|c| *c == field)
        .unwrap_or("preferences");
    Error::Invalid {
        field,
        message: message.to_owned(),
    }
}

fn text_of(value: &Value) -> Option<String> {
    value
        .as_str()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
}

/// One column's value after the rules (an empty text is null).
fn checked(column: &str, value: &Value) -> Result<Value> {
    if let Some((_, allowed)) = CHOICES.iter().find(|(c, _)| *c == column) {
        return match text_of(value) {
            None => Ok(Value::Null),
            Some(choice) if allowed.contains(&choice.as_str()) => Ok(json!(choice)),
            Some(_) => Err(invalid(column, "Choose one of the listed options.")),
        };
    }
    if TEXTS.contains(&column) {
        let text = text_of(value);
        if text
            .as_deref()
            .is_some_and(pms_sync_protocol::card::contains_card_number)
        {
            return Err(Error::CardNumber {
                field: "preferences",
            });
        }
        return Ok(json!(text));
    }
    if LISTS.contains(&column) {
        let items: Vec<String> = match value {
            Value::Null => Vec::new(),
            Value::Array(items) => items.iter().filter_map(text_of).collect(),
            Value::String(text) => text
                .split([',', '\n'])
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
                .collect(),
            _ => return Err(invalid(column, "Type one item per line.")),
        };
        return Ok(json!(items));
    }
    match column {
        "specific_floor" => match value {
            Value::Null => Ok(Value::Null),
            v => v
                .as_i64()
                .or_else(|| v.as_str().and_then(|t| t.trim().parse().ok()))
                .map(|floor| json!(floor))
                .ok_or_else(|| invalid(column, "Type the floor as a number.")),
        },
        "room_temperature_c" => match value {
            Value::Null => Ok(Value::Null),
            v => match v
                .as_f64()
                .or_else(|| v.as_str().and_then(|t| t.trim().parse().ok()))
            {
                Some(degrees) if (10.0..=35.0).contains(&degrees) => {
                    Ok(json!((degrees * 10.0).round() / 10.0))
                }
                _ => Err(invalid(
                    column,
                    "Type a room temperature between 10 and 35 °C.",
                )),
            },
        },
        "wake_up_call" => Ok(json!(value.as_bool().unwrap_or(false))),
        "wake_up_time" => match text_of(value) {
            None => Ok(Value::Null),
            Some(time) => NaiveTime::parse_from_str(&time, "%H:%M")
                .or_else(|_| NaiveTime::parse_from_str(&time, "%H:%M:%S"))
                .map(|t| json!(t.format("%H:%M:%S").to_string()))
                .map_err(|_| invalid(column, "Type the wake-up time as HH:MM.")),
        },
        "occasion_date" => match text_of(value) {
            None => Ok(Value::Null),
            Some(date) => NaiveDate::parse_from_str(&date, "%Y-%m-%d")
                .map(|d| json!(d.to_string()))
                .map_err(|_| invalid(column, "Type the date as YYYY-MM-DD.")),
        },
        _ => Err(Error::Invalid {
            field: "preferences",
            message: format!("{column} is not a preference the desk can set"),
        }),
    }
}

/// The guest's preference record id on this laptop, if it holds one.
pub fn record_of(conn: &Connection, guest_id: Uuid) -> Result<Option<Uuid>> {
    let id: Option<String> = conn
        .query_row(
            "select id from guest_preferences where guest_id = ?1 order by created_at limit 1",
            [guest_id.to_string()],
            |r| r.get(0),
        )
        .optional()?;
    id.map(|id| Uuid::parse_str(&id).map_err(|_| Error::Data("a preference id".to_owned())))
        .transpose()
}

/// Writes the preferences in `changes` (column → value; a column left out stays as it is) for
/// the guest, after the rules; returns the record's id.
pub fn save(conn: &mut Connection, guest_id: Uuid, changes: &Map<String, Value>) -> Result<Uuid> {
    crate::mirror::require_guest(conn, guest_id)?;
    let current = match record_of(conn, guest_id)? {
        Some(id) => crate::mirror::read(conn, "guest_preferences", &id.to_string())?,
        None => None,
    };
    let mut values = Map::new();
    for (column, value) in changes {
        values.insert(column.clone(), checked(column, value)?);
    }
    // the pairs the server checks together, judged on the record as it will be
    let after = |column: &str| {
        values
            .get(column)
            .or_else(|| current.as_ref().and_then(|c| c.get(column)))
            .cloned()
            .unwrap_or(Value::Null)
    };
    let wants_a_floor = after("floor_preference") == json!("specific");
    let has_a_floor = !after("specific_floor").is_null();
    if wants_a_floor != has_a_floor {
        return Err(invalid(
            "specific_floor",
            "Type the floor when the guest wants a specific one (and only then).",
        ));
    }
    if after("wake_up_call") == json!(true) && after("wake_up_time").is_null() {
        return Err(invalid(
            "wake_up_time",
            "Type the time of the wake-up call.",
        ));
    }
    let id = match &current {
        Some(row) => row
            .get("id")
            .and_then(Value::as_str)
            .and_then(|id| Uuid::parse_str(id).ok())
            .ok_or_else(|| Error::Data("a preference record without an id".to_owned()))?,
        None => {
            let id = derived::guest_preferences_id(guest_id);
            // The server's defaults, written as the record's first state: every desk that makes
            // the record then starts from what the server holds, and an edit is never taken for
            // a concurrent change of a default.
            let mut record = Map::new();
            record.insert("guest_id".into(), json!(guest_id));
            for list in LISTS {
                record.insert((*list).into(), json!([]));
            }
            record.insert("wake_up_call".into(), json!(false));
            outbox::write(conn, "guest_preferences", PushOp::Insert, id, record)?;
            id
        }
    };
    outbox::write(conn, "guest_preferences", PushOp::Update, id, values)?;
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_rule_of_the_server_is_checked_before_writing() {
        assert_eq!(
            checked("bed_type", &json!("king")).expect("accepted"),
            json!("king")
        );
        assert_eq!(
            checked("bed_type", &json!(" ")).expect("accepted"),
            Value::Null
        );
        assert!(checked("bed_type", &json!("waterbed")).is_err());
        assert_eq!(
            checked("allergies", &json!("nuts, shellfish\n")).expect("accepted"),
            json!(["nuts", "shellfish"])
        );
        assert!(checked("room_temperature_c", &json!(40)).is_err());
        assert_eq!(
            checked("room_temperature_c", &json!("21.5")).expect("accepted"),
            json!(21.5)
        );
        assert_eq!(
            checked("wake_up_time", &json!("7:05")).expect("accepted"),
            json!("07:05:00")
        );
        assert!(matches!(
            checked("notes", &json!("card 4111 1111 1111 1111")),
            Err(Error::CardNumber { .. })
        ));
        assert!(checked("legacy_id", &json!("x")).is_err());
    }
}
