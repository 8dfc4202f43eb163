//! Reading one legacy value, dirt and all (pure: no I/O).
//!
//! A value should be a JSON object with camelCase fields. Real dumps also hold objects encoded
//! twice (a JSON string holding the object), numbers stored as strings, dates in other formats,
//! epoch numbers for timestamps. [`decode_value`] unwraps the value; [`Fields`] reads its fields
//! one by one, converting what is unambiguous and recording a [`Note`] for every repair, and
//! answers a [`Problem`] (which names the field) for what cannot be read. Fields nobody asked
//! for are kept for the report, so nothing is dropped silently.

use std::collections::BTreeSet;

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use serde_json::{Map, Value};

/// Why a record cannot be imported; becomes the quarantine reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem(pub String);

impl Problem {
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }

    pub fn field(field: &str, message: impl std::fmt::Display) -> Self {
        Self(format!("field {field}: {message}"))
    }

    pub fn missing(field: &str) -> Self {
        Self(format!("required field {field} is missing"))
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A repair made while reading a record (counted per key prefix in the report).
pub type Note = String;

/// Unwraps a stored value into its object: a JSON object as is, a JSON string that holds an
/// object (double-encoded, possibly more than once) decoded with a note.
pub fn decode_value(raw: &str) -> Result<(Map<String, Value>, Vec<Note>), Problem> {
    let mut value: Value = serde_json::from_str(raw)
        .map_err(|e| Problem::new(format!("the value is not JSON ({e})")))?;
    let mut notes = Vec::new();
    for _ in 0..4 {
        match value {
            Value::Object(map) => return Ok((map, notes)),
            Value::String(text) => match serde_json::from_str::<Value>(&text) {
                Ok(inner @ (Value::Object(_) | Value::String(_))) => {
                    if notes.is_empty() {
                        notes.push("double-encoded value decoded".to_owned());
                    }
                    value = inner;
                }
                _ => {
                    return Err(Problem::new(
                        "the value is a JSON string, not an object (and does not hold one)",
                    ))
                }
            },
            other => {
                return Err(Problem::new(format!(
                    "the value is a JSON {}, not an object",
                    json_type(&other)
                )))
            }
        }
    }
    Err(Problem::new("the value is encoded more than four times"))
}

/// The JSON type of a value, for messages.
pub fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// A short rendering of a value for messages (long strings cut).
fn shown(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 60 {
        format!("{}…", text.chars().take(60).collect::<String>())
    } else {
        text
    }
}

/// How to read `NN/NN/YYYY` when both numbers could be the month (`05/10/2025`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SlashDates {
    /// Refuse it (the record is quarantined): the store does not say which it means.
    #[default]
    Refuse,
    /// Day first (`05/10/2025` is 5 October), as European admin panels write.
    Dmy,
    /// Month first (`05/10/2025` is 10 May).
    Mdy,
}

/// The fields of one record, read with the conversions the legacy data needs.
#[derive(Debug)]
pub struct Fields {
    /// The fields not read yet (reading takes a field out).
    map: Map<String, Value>,
    /// Fields deliberately not imported (derived values), left out of [`Fields::unread`].
    ignored: BTreeSet<String>,
    notes: Vec<Note>,
    slash_dates: SlashDates,
}

impl Fields {
    pub fn new(map: Map<String, Value>) -> Self {
        Self {
            map,
            ignored: BTreeSet::new(),
            notes: Vec::new(),
            slash_dates: SlashDates::Refuse,
        }
    }

    /// Decodes `raw` (see [`decode_value`]) into fields.
    pub fn parse(raw: &str, slash_dates: SlashDates) -> Result<Self, Problem> {
        let (map, notes) = decode_value(raw)?;
        let mut fields = Self::new(map);
        fields.notes = notes;
        fields.slash_dates = slash_dates;
        Ok(fields)
    }

    pub fn note(&mut self, note: impl Into<String>) {
        self.notes.push(note.into());
    }

    pub fn into_notes(self) -> Vec<Note> {
        self.notes
    }

    pub fn notes(&self) -> &[Note] {
        &self.notes
    }

    /// The field's value, taken out (a field is read once); `null` counts as absent.
    pub fn raw(&mut self, name: &str) -> Option<Value> {
        match self.map.remove(name) {
            None | Some(Value::Null) => None,
            Some(value) => Some(value),
        }
    }

    /// The field's value without reading it.
    pub fn peek(&self, name: &str) -> Option<&Value> {
        self.map.get(name).filter(|v| !v.is_null())
    }

    /// Marks fields as deliberately not imported (derived values such as `fullName`).
    pub fn ignore(&mut self, names: &[&str]) {
        for name in names {
            self.ignored.insert((*name).to_owned());
        }
    }

    /// The fields no mapper read or ignored, in name order.
    pub fn unread(&self) -> Map<String, Value> {
        self.map
            .iter()
            .filter(|(name, _)| !self.ignored.contains(*name))
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect()
    }

    /// Text. Numbers are accepted (with a note); surrounding white space is trimmed.
    pub fn text(&mut self, name: &str) -> Result<Option<String>, Problem> {
        match self.raw(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.trim().to_owned())),
            Some(Value::Number(n)) => {
                self.note(format!("number stored for text ({name})"));
                Ok(Some(n.to_string()))
            }
            Some(other) => Err(Problem::field(
                name,
                format!(
                    "expected text, found {} {}",
                    json_type(&other),
                    shown(&other)
                ),
            )),
        }
    }

    /// Text that is neither absent nor blank.
    pub fn non_blank(&mut self, name: &str) -> Result<Option<String>, Problem> {
        Ok(self.text(name)?.filter(|s| !s.is_empty()))
    }

    pub fn required_text(&mut self, name: &str) -> Result<String, Problem> {
        self.non_blank(name)?.ok_or_else(|| Problem::missing(name))
    }

    /// A whole number; numeric strings and floats without a fraction are converted (noted).
    pub fn integer(&mut self, name: &str) -> Result<Option<i64>, Problem> {
        let Some(value) = self.raw(name) else {
            return Ok(None);
        };
        let wrong = |value: &Value| {
            Problem::field(
                name,
                format!(
                    "expected a whole number, found {} {}",
                    json_type(value),
                    shown(value)
                ),
            )
        };
        match &value {
            Value::Number(n) => {
                if let Some(i) = n.as_i64() {
                    Ok(Some(i))
                } else {
                    match n.as_f64() {
                        Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(Some(f as i64)),
                        _ => Err(wrong(&value)),
                    }
                }
            }
            Value::String(s) => match parse_integer(s) {
                Some(i) => {
                    self.note(format!("number stored as a string ({name})"));
                    Ok(Some(i))
                }
                None if s.trim().is_empty() => {
                    self.note(format!("empty string for a number ({name})"));
                    Ok(None)
                }
                None => Err(wrong(&value)),
            },
            _ => Err(wrong(&value)),
        }
    }

    /// An amount in integer cents (same rules as [`Fields::integer`]; `"12.50"` is refused: it
    /// could be euros or cents).
    pub fn cents(&mut self, name: &str) -> Result<Option<i64>, Problem> {
        self.integer(name).map_err(|Problem(message)| {
            Problem(message.replace("expected a whole number", "expected an amount in cents"))
        })
    }

    pub fn integer_or(&mut self, name: &str, default: i64) -> Result<i64, Problem> {
        Ok(self.integer(name)?.unwrap_or(default))
    }

    /// A 32-bit whole number (counts, limits, percentages).
    pub fn int32(&mut self, name: &str) -> Result<Option<i32>, Problem> {
        match self.integer(name)? {
            None => Ok(None),
            Some(i) => i32::try_from(i)
                .map(Some)
                .map_err(|_| Problem::field(name, format!("{i} is out of range"))),
        }
    }

    pub fn int32_or(&mut self, name: &str, default: i32) -> Result<i32, Problem> {
        Ok(self.int32(name)?.unwrap_or(default))
    }

    /// A number with a fraction (ratings, multipliers); numeric strings converted (noted).
    pub fn number(&mut self, name: &str) -> Result<Option<f64>, Problem> {
        let Some(value) = self.raw(name) else {
            return Ok(None);
        };
        match &value {
            Value::Number(n) => Ok(n.as_f64()),
            Value::String(s) if s.trim().parse::<f64>().is_ok_and(f64::is_finite) => {
                self.note(format!("number stored as a string ({name})"));
                Ok(s.trim().parse::<f64>().ok())
            }
            _ => Err(Problem::field(
                name,
                format!(
                    "expected a number, found {} {}",
                    json_type(&value),
                    shown(&value)
                ),
            )),
        }
    }

    /// A boolean; `"true"`/`"false"`, `"yes"`/`"no"` and 0/1 are converted (noted).
    pub fn boolean(&mut self, name: &str) -> Result<Option<bool>, Problem> {
        let Some(value) = self.raw(name) else {
            return Ok(None);
        };
        let converted = match &value {
            Value::Bool(b) => return Ok(Some(*b)),
            Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
                "true" | "yes" | "1" => Some(true),
                "false" | "no" | "0" => Some(false),
                _ => None,
            },
            Value::Number(n) => match n.as_i64() {
                Some(1) => Some(true),
                Some(0) => Some(false),
                _ => None,
            },
            _ => None,
        };
        match converted {
            Some(b) => {
                self.note(format!("boolean stored as {} ({name})", json_type(&value)));
                Ok(Some(b))
            }
            None => Err(Problem::field(
                name,
                format!(
                    "expected true or false, found {} {}",
                    json_type(&value),
                    shown(&value)
                ),
            )),
        }
    }

    pub fn boolean_or(&mut self, name: &str, default: bool) -> Result<bool, Problem> {
        Ok(self.boolean(name)?.unwrap_or(default))
    }

    /// A calendar date (see [`parse_date`] for the formats); a non-ISO form is noted.
    pub fn date(&mut self, name: &str) -> Result<Option<NaiveDate>, Problem> {
        match self.text_for_time(name)? {
            None => Ok(None),
            Some(text) => {
                let (date, format) = parse_date_with(&text, self.slash_dates)
                    .map_err(|e| Problem::field(name, e))?;
                if let Some(format) = format {
                    self.note(format!("date as {format} ({name})"));
                }
                Ok(Some(date))
            }
        }
    }

    /// A point in time (see [`parse_timestamp`]); epoch numbers are accepted, non-ISO forms noted.
    pub fn timestamp(&mut self, name: &str) -> Result<Option<DateTime<Utc>>, Problem> {
        let Some(value) = self.raw(name) else {
            return Ok(None);
        };
        match &value {
            Value::Number(n) => {
                let epoch = n.as_i64().ok_or_else(|| {
                    Problem::field(name, format!("expected a timestamp, found {n}"))
                })?;
                // Milliseconds since 1970 from JavaScript, or seconds (anything before 1973 in ms).
                let parsed = if epoch.abs() >= 100_000_000_000 {
                    DateTime::from_timestamp_millis(epoch)
                } else {
                    DateTime::from_timestamp(epoch, 0)
                };
                let parsed = parsed.ok_or_else(|| {
                    Problem::field(name, format!("{epoch} is not a possible timestamp"))
                })?;
                self.note(format!("timestamp as epoch number ({name})"));
                Ok(Some(parsed))
            }
            Value::String(s) if s.trim().is_empty() => Ok(None),
            Value::String(s) => {
                let (at, format) = parse_timestamp_with(s, self.slash_dates)
                    .map_err(|e| Problem::field(name, e))?;
                if let Some(format) = format {
                    self.note(format!("timestamp as {format} ({name})"));
                }
                Ok(Some(at))
            }
            other => Err(Problem::field(
                name,
                format!(
                    "expected a timestamp, found {} {}",
                    json_type(other),
                    shown(other)
                ),
            )),
        }
    }

    /// A time of day, `HH:MM` or `HH:MM:SS`.
    pub fn time_of_day(&mut self, name: &str) -> Result<Option<NaiveTime>, Problem> {
        match self.text_for_time(name)? {
            None => Ok(None),
            Some(text) => NaiveTime::parse_from_str(&text, "%H:%M")
                .or_else(|_| NaiveTime::parse_from_str(&text, "%H:%M:%S"))
                .map(Some)
                .map_err(|_| {
                    Problem::field(name, format!("{text:?} is not a time of day (HH:MM)"))
                }),
        }
    }

    fn text_for_time(&mut self, name: &str) -> Result<Option<String>, Problem> {
        match self.raw(name) {
            None => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.trim().to_owned())),
            Some(other) => Err(Problem::field(
                name,
                format!(
                    "expected a date or time as text, found {} {}",
                    json_type(&other),
                    shown(&other)
                ),
            )),
        }
    }

    /// A list of text; a lone string becomes a one-element list (noted), null an empty list.
    pub fn strings(&mut self, name: &str) -> Result<Vec<String>, Problem> {
        match self.raw(name) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .into_iter()
                .filter(|item| !item.is_null())
                .map(|item| match item {
                    Value::String(s) => Ok(s.trim().to_owned()),
                    Value::Number(n) => Ok(n.to_string()),
                    other => Err(Problem::field(
                        name,
                        format!(
                            "expected a list of text, found an item {} {}",
                            json_type(&other),
                            shown(&other)
                        ),
                    )),
                })
                .collect(),
            Some(Value::String(s)) => {
                self.note(format!("single text for a list ({name})"));
                Ok(if s.trim().is_empty() {
                    Vec::new()
                } else {
                    vec![s.trim().to_owned()]
                })
            }
            Some(other) => Err(Problem::field(
                name,
                format!(
                    "expected a list, found {} {}",
                    json_type(&other),
                    shown(&other)
                ),
            )),
        }
    }

    /// A nested object (an object encoded as a string is decoded, noted).
    pub fn object(&mut self, name: &str) -> Result<Option<Map<String, Value>>, Problem> {
        match self.raw(name) {
            None => Ok(None),
            Some(Value::Object(map)) => Ok(Some(map)),
            Some(Value::String(s)) => match serde_json::from_str::<Value>(&s) {
                Ok(Value::Object(map)) => {
                    self.note(format!("double-encoded object decoded ({name})"));
                    Ok(Some(map))
                }
                _ => Err(Problem::field(
                    name,
                    format!(
                        "expected an object, found string {}",
                        shown(&Value::String(s))
                    ),
                )),
            },
            Some(other) => Err(Problem::field(
                name,
                format!(
                    "expected an object, found {} {}",
                    json_type(&other),
                    shown(&other)
                ),
            )),
        }
    }

    /// A nested list of objects (`tiers`, `lineItems`).
    pub fn objects(&mut self, name: &str) -> Result<Vec<Fields>, Problem> {
        match self.raw(name) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .into_iter()
                .enumerate()
                .map(|(i, item)| match item {
                    Value::Object(map) => Ok(Fields::new(map)),
                    other => Err(Problem::field(
                        name,
                        format!(
                            "item {i}: expected an object, found {} {}",
                            json_type(&other),
                            shown(&other)
                        ),
                    )),
                })
                .collect(),
            Some(other) => Err(Problem::field(
                name,
                format!(
                    "expected a list of objects, found {} {}",
                    json_type(&other),
                    shown(&other)
                ),
            )),
        }
    }

    /// One of `allowed` (compared case-blind, `-` and space read as `_`), lower-cased.
    pub fn choice(&mut self, name: &str, allowed: &[&str]) -> Result<Option<String>, Problem> {
        match self.non_blank(name)? {
            None => Ok(None),
            Some(text) => {
                let normal = normal_choice(&text);
                match allowed.iter().find(|a| normal_choice(a) == normal) {
                    Some(found) => Ok(Some((*found).to_owned())),
                    None => Err(Problem::field(
                        name,
                        format!("{text:?} is not one of {}", allowed.join(", ")),
                    )),
                }
            }
        }
    }
}

fn normal_choice(text: &str) -> String {
    text.trim().to_lowercase().replace(['-', ' '], "_")
}

/// A whole number written as text: `"125000"`, `"-3"`, `"12.0"`.
fn parse_integer(text: &str) -> Option<i64> {
    let text = text.trim();
    if let Ok(i) = text.parse::<i64>() {
        return Some(i);
    }
    let (whole, fraction) = text.split_once('.')?;
    if !fraction.is_empty() && fraction.chars().all(|c| c == '0') {
        whole.parse::<i64>().ok()
    } else {
        None
    }
}

/// Parses a calendar date. Returns the date and, for anything but `YYYY-MM-DD`, the format that
/// was recognised. Accepted where unambiguous: an ISO timestamp (its date as written),
/// `YYYY/MM/DD`, `YYYY.MM.DD`, `YYYYMMDD`, `DD.MM.YYYY`, `19 Oct 2025`, `Oct 19, 2025`, and
/// `DD/MM/YYYY` or `MM/DD/YYYY` when one of the two numbers exceeds 12 (or both are equal).
/// `05/10/2025` could be either and is refused (unless `slash_dates` says which the store uses),
/// as are two-digit years and impossible dates.
pub fn parse_date(text: &str) -> Result<(NaiveDate, Option<&'static str>), String> {
    parse_date_with(text, SlashDates::Refuse)
}

pub fn parse_date_with(
    text: &str,
    slash_dates: SlashDates,
) -> Result<(NaiveDate, Option<&'static str>), String> {
    let text = text.trim();
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        if text.len() == 10 {
            return Ok((date, None));
        }
    }
    let impossible = || format!("{text:?} is not a possible date");
    // An ISO timestamp where a date was wanted: the date as written.
    if text.len() > 10
        && text
            .as_bytes()
            .get(10)
            .is_some_and(|b| *b == b'T' || *b == b' ')
    {
        if let Ok(date) = NaiveDate::parse_from_str(&text[..10], "%Y-%m-%d") {
            parse_timestamp(text)?;
            return Ok((date, Some("timestamp")));
        }
    }
    let numbers: Vec<&str> = text.split(['/', '.', '-']).collect();
    let separator = text.chars().find(|c| matches!(c, '/' | '.' | '-'));
    if numbers.len() == 3
        && numbers
            .iter()
            .all(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
    {
        let parse = |s: &str| s.parse::<u32>().map_err(|_| impossible());
        let (a, b, c) = (parse(numbers[0])?, parse(numbers[1])?, parse(numbers[2])?);
        if numbers[0].len() == 4 {
            let date = NaiveDate::from_ymd_opt(a as i32, b, c).ok_or_else(impossible)?;
            return Ok((date, Some("YYYY/MM/DD")));
        }
        if numbers[2].len() != 4 {
            return Err(format!(
                "{text:?} has no four-digit year: the century is ambiguous"
            ));
        }
        let year = c as i32;
        if separator == Some('.') {
            let date = NaiveDate::from_ymd_opt(year, b, a).ok_or_else(impossible)?;
            return Ok((date, Some("DD.MM.YYYY")));
        }
        let (day, month, format) = match slash_dates {
            _ if a == b => (a, b, "DD/MM/YYYY"),
            SlashDates::Dmy => (a, b, "DD/MM/YYYY"),
            SlashDates::Mdy => (b, a, "MM/DD/YYYY"),
            SlashDates::Refuse if a > 12 => (a, b, "DD/MM/YYYY"),
            SlashDates::Refuse if b > 12 => (b, a, "MM/DD/YYYY"),
            SlashDates::Refuse => {
                return Err(format!(
                    "{text:?} is ambiguous: day/month or month/day (see --slash-dates)"
                ))
            }
        };
        let date = NaiveDate::from_ymd_opt(year, month, day).ok_or_else(impossible)?;
        return Ok((date, Some(format)));
    }
    if text.len() == 8 && text.chars().all(|c| c.is_ascii_digit()) {
        let date = NaiveDate::parse_from_str(text, "%Y%m%d").map_err(|_| impossible())?;
        return Ok((date, Some("YYYYMMDD")));
    }
    for format in [
        "%d %b %Y",
        "%d %B %Y",
        "%b %d, %Y",
        "%B %d, %Y",
        "%b %d %Y",
        "%B %d %Y",
    ] {
        if let Ok(date) = NaiveDate::parse_from_str(text, format) {
            return Ok((date, Some("a written-out month")));
        }
    }
    Err(format!("{text:?} is not a date (expected YYYY-MM-DD)"))
}

/// Parses a point in time. RFC 3339 (`2025-10-19T12:00:00.000Z`, any offset) is the legacy
/// format; without an offset, with a space for the `T`, a date alone or a date in another
/// accepted format ([`parse_date`]) followed by a time, UTC is assumed and the format returned.
pub fn parse_timestamp(text: &str) -> Result<(DateTime<Utc>, Option<&'static str>), String> {
    parse_timestamp_with(text, SlashDates::Refuse)
}

pub fn parse_timestamp_with(
    text: &str,
    slash_dates: SlashDates,
) -> Result<(DateTime<Utc>, Option<&'static str>), String> {
    let text = text.trim();
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok((at.with_timezone(&Utc), None));
    }
    let wrong = || format!("{text:?} is not a timestamp (expected 2025-10-19T12:00:00.000Z)");
    let with_t = text.replacen(' ', "T", 1);
    for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(&with_t, format) {
            return Ok((
                Utc.from_utc_datetime(&naive),
                Some("timestamp without offset"),
            ));
        }
    }
    // A date, alone or followed by a time of day.
    let (date_part, time_part) = match text.split_once([' ', 'T']) {
        Some((d, t)) => (d, Some(t.trim())),
        None => (text, None),
    };
    let Ok((date, _)) = parse_date_with(date_part, slash_dates) else {
        return Err(wrong());
    };
    if date.year() < 1000 {
        return Err(wrong());
    }
    let time = match time_part {
        None => NaiveTime::MIN,
        Some(t) => NaiveTime::parse_from_str(t, "%H:%M:%S")
            .or_else(|_| NaiveTime::parse_from_str(t, "%H:%M"))
            .map_err(|_| wrong())?,
    };
    Ok((
        Utc.from_utc_datetime(&date.and_time(time)),
        Some(if time_part.is_some() {
            "date and time in another format"
        } else {
            "date without time"
        }),
    ))
}

/// The legacy timestamp format (`2025-10-19T12:00:00.000Z`), as the old admin panel writes it.
pub fn legacy_timestamp(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

#[cfg(test)]
mod tests {
    use rstest::rstest;
    use serde_json::json;

    use super::*;

    fn fields(value: Value) -> Fields {
        match value {
            Value::Object(map) => Fields::new(map),
            other => panic!("not an object: {other}"),
        }
    }

    fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
    }

    #[test]
    fn an_object_is_read_as_is() {
        let (map, notes) = decode_value(r#"{"a": 1}"#).expect("object");
        assert_eq!(map.get("a"), Some(&json!(1)));
        assert!(notes.is_empty());
    }

    #[test]
    fn a_double_encoded_value_is_decoded_with_a_note() {
        let twice = serde_json::to_string(&json!({"firstName": "Ana"}).to_string()).expect("json");
        let (map, notes) = decode_value(&twice).expect("decoded");
        assert_eq!(map.get("firstName"), Some(&json!("Ana")));
        assert_eq!(notes, vec!["double-encoded value decoded".to_owned()]);
        let thrice = serde_json::to_string(&twice).expect("json");
        assert!(decode_value(&thrice).is_ok());
    }

    #[rstest]
    #[case::number("42", "the value is a JSON number, not an object")]
    #[case::array("[1, 2]", "the value is a JSON array, not an object")]
    #[case::null("null", "the value is a JSON null, not an object")]
    #[case::plain_string(
        r#""hello""#,
        "the value is a JSON string, not an object (and does not hold one)"
    )]
    fn other_values_are_problems(#[case] raw: &str, #[case] expected: &str) {
        assert_eq!(decode_value(raw), Err(Problem::new(expected)));
    }

    #[test]
    fn text_that_is_not_json_is_a_problem() {
        let problem = decode_value("not json").expect_err("refused");
        assert!(problem.0.starts_with("the value is not JSON"), "{problem}");
    }

    #[rstest]
    #[case::number(json!(125000), Some(125000), false)]
    #[case::string(json!("125000"), Some(125000), true)]
    #[case::negative_string(json!(" -3 "), Some(-3), true)]
    #[case::float_without_fraction(json!(12.0), Some(12), false)]
    #[case::string_with_zero_fraction(json!("12.00"), Some(12), true)]
    #[case::null(json!(null), None, false)]
    fn whole_numbers(#[case] value: Value, #[case] expected: Option<i64>, #[case] noted: bool) {
        let mut f = fields(json!({ "n": value }));
        assert_eq!(f.integer("n"), Ok(expected));
        assert_eq!(!f.notes().is_empty(), noted);
    }

    #[rstest]
    #[case::fraction(json!(12.5), "field n: expected a whole number, found number 12.5")]
    #[case::word(json!("many"), "field n: expected a whole number, found string \"many\"")]
    #[case::money_with_cents(json!("12.50"), "field n: expected a whole number, found string \"12.50\"")]
    #[case::boolean(json!(true), "field n: expected a whole number, found boolean true")]
    fn numbers_that_cannot_be_read(#[case] value: Value, #[case] expected: &str) {
        let mut f = fields(json!({ "n": value }));
        assert_eq!(f.integer("n"), Err(Problem::new(expected)));
    }

    #[test]
    fn cents_say_what_they_expected() {
        let mut f = fields(json!({"totalSpent": "12.50"}));
        assert_eq!(
            f.cents("totalSpent"),
            Err(Problem::new(
                "field totalSpent: expected an amount in cents, found string \"12.50\""
            ))
        );
    }

    #[rstest]
    #[case::iso("2025-10-19", ymd(2025, 10, 19), None)]
    #[case::day_first("19/10/2025", ymd(2025, 10, 19), Some("DD/MM/YYYY"))]
    #[case::month_first("10/19/2025", ymd(2025, 10, 19), Some("MM/DD/YYYY"))]
    #[case::same_either_way("07/07/2025", ymd(2025, 7, 7), Some("DD/MM/YYYY"))]
    #[case::dotted("05.10.2025", ymd(2025, 10, 5), Some("DD.MM.YYYY"))]
    #[case::year_first_slashes("2025/10/05", ymd(2025, 10, 5), Some("YYYY/MM/DD"))]
    #[case::compact("20251005", ymd(2025, 10, 5), Some("YYYYMMDD"))]
    #[case::timestamp("2024-01-31T09:00:00.000Z", ymd(2024, 1, 31), Some("timestamp"))]
    #[case::written_out("19 Oct 2025", ymd(2025, 10, 19), Some("a written-out month"))]
    #[case::american_words("October 19, 2025", ymd(2025, 10, 19), Some("a written-out month"))]
    fn dates_in_unambiguous_formats(
        #[case] text: &str,
        #[case] expected: NaiveDate,
        #[case] format: Option<&str>,
    ) {
        assert_eq!(parse_date(text), Ok((expected, format)));
    }

    #[test]
    fn an_ambiguous_date_is_read_as_the_operator_says() {
        assert_eq!(
            parse_date_with("05/10/2025", SlashDates::Dmy),
            Ok((ymd(2025, 10, 5), Some("DD/MM/YYYY")))
        );
        assert_eq!(
            parse_date_with("05/10/2025", SlashDates::Mdy),
            Ok((ymd(2025, 5, 10), Some("MM/DD/YYYY")))
        );
        // a date that contradicts the stated order is impossible, not silently swapped
        assert!(parse_date_with("10/19/2025", SlashDates::Dmy).is_err());
    }

    #[rstest]
    #[case::ambiguous("05/10/2025", "ambiguous")]
    #[case::impossible_day("2025-02-30", "not a possible date")]
    #[case::impossible_slashes("31/02/2025", "not a possible date")]
    #[case::two_digit_year("19/10/25", "four-digit year")]
    #[case::words("next tuesday", "not a date")]
    #[case::bad_timestamp("2025-10-19T25:00:00Z", "not a timestamp")]
    fn dates_that_are_refused(#[case] text: &str, #[case] says: &str) {
        let error = parse_date(text).expect_err("refused");
        assert!(error.contains(says), "{text}: {error}");
    }

    #[rstest]
    #[case::rfc3339("2025-10-19T12:00:00.000Z", "2025-10-19T12:00:00Z", None)]
    #[case::offset("2025-10-19T14:00:00+02:00", "2025-10-19T12:00:00Z", None)]
    #[case::space_is_rfc3339_too("2025-10-19 12:00:00Z", "2025-10-19T12:00:00Z", None)]
    #[case::space_no_offset(
        "2025-10-19 12:00:00",
        "2025-10-19T12:00:00Z",
        Some("timestamp without offset")
    )]
    #[case::no_offset(
        "2025-10-19T12:00:00",
        "2025-10-19T12:00:00Z",
        Some("timestamp without offset")
    )]
    #[case::date_only("2025-10-19", "2025-10-19T00:00:00Z", Some("date without time"))]
    #[case::other_date_and_time(
        "19/10/2025 12:00",
        "2025-10-19T12:00:00Z",
        Some("date and time in another format")
    )]
    fn timestamps(#[case] text: &str, #[case] expected: &str, #[case] format: Option<&str>) {
        let (at, found) = parse_timestamp(text).expect("parsed");
        assert_eq!(
            at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            expected
        );
        assert_eq!(found, format);
    }

    #[test]
    fn epoch_numbers_are_milliseconds_or_seconds() {
        let mut f = fields(json!({"ms": 1_760_875_200_000_i64, "s": 1_760_875_200}));
        let expected = DateTime::from_timestamp(1_760_875_200, 0);
        assert_eq!(f.timestamp("ms"), Ok(expected));
        assert_eq!(f.timestamp("s"), Ok(expected));
        assert_eq!(f.notes().len(), 2);
    }

    #[test]
    fn booleans_lists_and_choices() {
        let mut f = fields(json!({
            "a": "yes", "b": 0, "c": "perhaps",
            "tags": "vip", "none": null, "list": ["x", 2, null],
            "segment": "Business", "smoking": "non-smoking", "odd": "sometimes",
        }));
        assert_eq!(f.boolean("a"), Ok(Some(true)));
        assert_eq!(f.boolean("b"), Ok(Some(false)));
        assert!(f.boolean("c").is_err());
        assert_eq!(f.strings("tags"), Ok(vec!["vip".to_owned()]));
        assert_eq!(f.strings("none"), Ok(vec![]));
        assert_eq!(f.strings("list"), Ok(vec!["x".to_owned(), "2".to_owned()]));
        assert_eq!(
            f.choice("segment", &["regular", "business"]),
            Ok(Some("business".to_owned()))
        );
        assert_eq!(
            f.choice("smoking", &["smoking", "non_smoking"]),
            Ok(Some("non_smoking".to_owned()))
        );
        assert_eq!(
            f.choice("odd", &["always", "never"]),
            Err(Problem::new(
                "field odd: \"sometimes\" is not one of always, never"
            ))
        );
    }

    #[test]
    fn unread_fields_are_kept_for_the_report() {
        let mut f = fields(json!({"a": 1, "b": 2, "c": 3}));
        let _ = f.integer("a");
        f.ignore(&["b"]);
        assert_eq!(
            f.unread(),
            json!({"c": 3}).as_object().cloned().unwrap_or_default()
        );
    }

    #[test]
    fn the_legacy_timestamp_format_round_trips() {
        let (at, _) = parse_timestamp("2025-10-19T12:00:00.120Z").expect("parsed");
        assert_eq!(legacy_timestamp(at), "2025-10-19T12:00:00.120Z");
    }
}
