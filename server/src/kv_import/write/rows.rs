//! A batch's rows on their way to the database: one array per column, turned back into typed
//! rows by `unnest` and a cast to each column's type.
//!
//! One JSON array through `json_populate_recordset` would do the same in one parameter, but the
//! database then lexes every row's JSON and looks each field up by name: a tenth of its time in
//! the import. Arrays arrive in the binary protocol, one length-prefixed value after the other.
//! Ids, timestamps, dates, integers and flags are sent in binary where every value of the column
//! reads exactly as its text would (nothing left for the database to parse); every other column
//! is text, and each value goes through its type's input function, as `json_populate_recordset`
//! would have done (so a value reads the same either way: a JSON null is SQL NULL, a JSON number
//! or boolean is its text, an object or array is its JSON text, except into an array column).

use std::borrow::Cow;
use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;
use sqlx::PgConnection;

use crate::kv_import::map::Columns;

/// The type of every column of the tables the import writes (`format_type`), read once per run.
#[derive(Debug, Default, Clone)]
pub struct ColumnTypes(HashMap<(String, String), String>);

impl ColumnTypes {
    pub async fn load(conn: &mut PgConnection) -> Result<Self, sqlx::Error> {
        let types: Vec<(String, String, String)> = sqlx::query_as(
            "select c.relname::text, a.attname::text, format_type(a.atttypid, a.atttypmod)
               from pg_catalog.pg_attribute a
               join pg_catalog.pg_class c on c.oid = a.attrelid
              where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p')
                and a.attnum > 0 and not a.attisdropped",
        )
        .fetch_all(conn)
        .await?;
        Ok(Self(
            types
                .into_iter()
                .map(|(table, column, ty)| ((table, column), ty))
                .collect(),
        ))
    }

    pub(crate) fn of(&self, table: &str, column: &str) -> Option<&str> {
        self.0
            .get(&(table.to_owned(), column.to_owned()))
            .map(String::as_str)
    }
}

/// What one column's values are sent as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    /// Scalars as their text, objects and arrays as JSON.
    Scalar,
    /// Every value as JSON (a JSON string stays a string).
    Json,
    /// A JSON array as an array literal (`{"a","b"}`).
    Array,
}

/// The column types whose values go in binary (no text for the database to parse): ids, times,
/// dates, counts and flags, most of a row's columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Binary {
    Uuid,
    Timestamp,
    Date,
    Int4,
    Int8,
    Bool,
}

impl Binary {
    fn of(ty: &str) -> Option<Self> {
        Some(match ty {
            "uuid" => Self::Uuid,
            "timestamp with time zone" => Self::Timestamp,
            "date" => Self::Date,
            "integer" => Self::Int4,
            "bigint" => Self::Int8,
            "boolean" => Self::Bool,
            _ => return None,
        })
    }
}

/// One column's values, as they are bound.
enum Values<'a> {
    Text(Vec<Option<Cow<'a, str>>>),
    Uuid(Vec<Option<uuid::Uuid>>),
    Timestamp(Vec<Option<DateTime<Utc>>>),
    Date(Vec<Option<NaiveDate>>),
    Int4(Vec<Option<i32>>),
    Int8(Vec<Option<i64>>),
    Bool(Vec<Option<bool>>),
}

impl Values<'_> {
    /// The type of the parameter's array.
    fn array_type(&self) -> &'static str {
        match self {
            Self::Text(_) => "text[]",
            Self::Uuid(_) => "uuid[]",
            Self::Timestamp(_) => "timestamptz[]",
            Self::Date(_) => "date[]",
            Self::Int4(_) => "int4[]",
            Self::Int8(_) => "int8[]",
            Self::Bool(_) => "bool[]",
        }
    }
}

/// The rows of a batch, column by column, for one statement. Text values are borrowed from the
/// rows, not copied.
pub struct RowSet<'a> {
    columns: Vec<String>,
    types: Vec<String>,
    values: Vec<Values<'a>>,
}

impl<'a> RowSet<'a> {
    /// `columns` of `rows` of `table` (a column a row lacks is NULL in that row).
    pub fn new(
        types: &ColumnTypes,
        table: &str,
        columns: &[String],
        rows: impl Iterator<Item = &'a Columns>,
    ) -> Result<Self, sqlx::Error> {
        let rows: Vec<&'a Columns> = rows.collect();
        let mut column_types = Vec::with_capacity(columns.len());
        let mut values = Vec::with_capacity(columns.len());
        for column in columns {
            let ty = types.of(table, column).ok_or_else(|| {
                sqlx::Error::Protocol(format!("public.{table} has no column {column}"))
            })?;
            let cells = rows.iter().map(|row| row.get(column.as_str()));
            let binary = Binary::of(ty).and_then(|binary| binary_values(binary, cells.clone()));
            values.push(binary.unwrap_or_else(|| {
                let form = if ty == "json" || ty == "jsonb" {
                    Form::Json
                } else if ty.ends_with("[]") {
                    Form::Array
                } else {
                    Form::Scalar
                };
                Values::Text(cells.map(|v| v.and_then(|v| text_of(v, form))).collect())
            }));
            column_types.push(ty.to_owned());
        }
        Ok(Self {
            columns: columns.to_vec(),
            types: column_types,
            values,
        })
    }

    /// The `from` item (to be given an alias) that yields the rows typed, with their position
    /// (`ordinality`, from 1); its parameters are numbered from `first_parameter`.
    pub fn source(&self, first_parameter: usize) -> String {
        let select = self
            .columns
            .iter()
            .zip(&self.types)
            .map(|(c, ty)| format!("u.{c}::{ty} as {c}"))
            .chain(std::iter::once("u.ordinality".to_owned()))
            .collect::<Vec<_>>()
            .join(", ");
        let arrays = self
            .values
            .iter()
            .enumerate()
            .map(|(i, values)| format!("${}::{}", first_parameter + i, values.array_type()))
            .collect::<Vec<_>>()
            .join(", ");
        if self.columns.is_empty() {
            // no columns: no rows either
            return "(select 1::bigint as ordinality where false)".to_owned();
        }
        let names = self.columns.join(", ");
        format!("(select {select} from unnest({arrays}) with ordinality as u({names}, ordinality))")
    }

    /// Binds the arrays, in the order of [`RowSet::source`].
    pub fn bind<'q>(
        self,
        mut query: sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
    ) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>
    where
        'a: 'q,
    {
        for values in self.values {
            query = match values {
                Values::Text(v) => query.bind(v),
                Values::Uuid(v) => query.bind(v),
                Values::Timestamp(v) => query.bind(v),
                Values::Date(v) => query.bind(v),
                Values::Int4(v) => query.bind(v),
                Values::Int8(v) => query.bind(v),
                Values::Bool(v) => query.bind(v),
            };
        }
        query
    }
}

/// A column's values in binary, where every one of them reads exactly as the database would
/// read its text; otherwise None, and the column goes as text (so that a value the database
/// refuses is refused with the database's own reason, as before).
fn binary_values<'v>(
    binary: Binary,
    cells: impl Iterator<Item = Option<&'v Value>>,
) -> Option<Values<'static>> {
    fn all<'v, T>(
        cells: impl Iterator<Item = Option<&'v Value>>,
        read: impl Fn(&Value) -> Option<T>,
    ) -> Option<Vec<Option<T>>> {
        cells
            .map(|cell| match cell {
                None | Some(Value::Null) => Some(None),
                Some(value) => read(value).map(Some),
            })
            .collect()
    }
    Some(match binary {
        Binary::Uuid => Values::Uuid(all(cells, |v| uuid::Uuid::try_parse(v.as_str()?).ok())?),
        Binary::Timestamp => Values::Timestamp(all(cells, |v| {
            let at = DateTime::parse_from_rfc3339(v.as_str()?).ok()?;
            // whole microseconds only (the database rounds finer fractions its own way), and
            // no leap second (which it reads as the next minute)
            let nanos = at.timestamp_subsec_nanos();
            (nanos % 1_000 == 0 && nanos < 1_000_000_000).then(|| at.with_timezone(&Utc))
        })?),
        Binary::Date => Values::Date(all(cells, |v| {
            let text = v.as_str()?;
            // `YYYY-MM-DD` exactly (the database reads other spellings by its DateStyle)
            let shape = text.bytes().enumerate().all(|(i, b)| match i {
                4 | 7 => b == b'-',
                _ => b.is_ascii_digit(),
            });
            if text.len() != 10 || !shape {
                return None;
            }
            NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()
        })?),
        Binary::Int4 => Values::Int4(all(cells, |v| i32::try_from(v.as_i64()?).ok())?),
        Binary::Int8 => Values::Int8(all(cells, Value::as_i64)?),
        Binary::Bool => Values::Bool(all(cells, Value::as_bool)?),
    })
}

/// A value as the text its column's input function reads.
fn text_of(value: &Value, form: Form) -> Option<Cow<'_, str>> {
    match (value, form) {
        (Value::Null, _) => None,
        (value, Form::Json) => Some(Cow::Owned(value.to_string())),
        (Value::Array(items), Form::Array) => {
            // elements as their text, like scalars (a JSON null is a NULL element)
            let texts: Vec<Option<Cow<'_, str>>> =
                items.iter().map(|v| text_of(v, Form::Scalar)).collect();
            Some(Cow::Owned(crate::db::array_literal(
                texts.iter().map(Option::as_deref),
            )))
        }
        (Value::String(s), _) => Some(Cow::Borrowed(s)),
        (other, _) => Some(Cow::Owned(other.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_read_as_json_populate_recordset_would_read_them() {
        assert_eq!(text_of(&json!(null), Form::Json), None);
        assert_eq!(text_of(&json!("x"), Form::Json).as_deref(), Some("\"x\""));
        assert_eq!(
            text_of(&json!({"a": 1}), Form::Scalar).as_deref(),
            Some("{\"a\":1}")
        );
        assert_eq!(text_of(&json!(12), Form::Scalar).as_deref(), Some("12"));
        assert_eq!(text_of(&json!(true), Form::Scalar).as_deref(), Some("true"));
        assert_eq!(text_of(&json!("a b"), Form::Scalar).as_deref(), Some("a b"));
    }

    fn binary(binary: Binary, cells: &[Value]) -> Option<Values<'static>> {
        binary_values(binary, cells.iter().map(Some))
    }

    #[test]
    fn ids_times_dates_counts_and_flags_go_in_binary() {
        let Some(Values::Uuid(ids)) = binary(
            Binary::Uuid,
            &[json!("6f1c2a34-8a43-4c5b-9d55-6a0b7e7e0f01"), json!(null)],
        ) else {
            panic!("uuids in binary")
        };
        assert_eq!(
            ids[0].map(|id| id.to_string()).as_deref(),
            Some("6f1c2a34-8a43-4c5b-9d55-6a0b7e7e0f01")
        );
        assert_eq!(ids[1], None);
        let Some(Values::Timestamp(times)) = binary(
            Binary::Timestamp,
            &[
                json!("2025-03-04T05:06:07.123456Z"),
                json!("2025-03-04T07:06:07+02:00"),
            ],
        ) else {
            panic!("timestamps in binary")
        };
        assert_eq!(
            times[0].map(|at| at.to_rfc3339()).as_deref(),
            Some("2025-03-04T05:06:07.123456+00:00")
        );
        assert_eq!(
            times[1].map(|at| at.to_rfc3339()).as_deref(),
            Some("2025-03-04T05:06:07+00:00")
        );
        let Some(Values::Date(dates)) = binary(Binary::Date, &[json!("2025-02-28")]) else {
            panic!("dates in binary")
        };
        assert_eq!(
            dates[0].map(|day| day.to_string()).as_deref(),
            Some("2025-02-28")
        );
        let Some(Values::Int4(counts)) = binary(Binary::Int4, &[json!(2), json!(-7)]) else {
            panic!("integers in binary")
        };
        assert_eq!(counts, vec![Some(2), Some(-7)]);
        let Some(Values::Int8(cents)) = binary(Binary::Int8, &[json!(12_345_678_901_i64)]) else {
            panic!("bigints in binary")
        };
        assert_eq!(cents, vec![Some(12_345_678_901)]);
        let Some(Values::Bool(flags)) = binary(Binary::Bool, &[json!(true), json!(null)]) else {
            panic!("flags in binary")
        };
        assert_eq!(flags, vec![Some(true), None]);
    }

    #[test]
    fn a_value_the_database_must_read_itself_sends_its_column_as_text() {
        // one value that is not exactly what binary would carry: the whole column as text,
        // so that the database reads (or refuses) it as it always did
        assert!(binary(
            Binary::Uuid,
            &[json!("6f1c2a34-8a43-4c5b-9d55-6a0b7e7e0f01"), json!("x1")]
        )
        .is_none());
        assert!(binary(Binary::Timestamp, &[json!("2025-03-04T05:06:07.1234567Z")]).is_none());
        assert!(binary(Binary::Timestamp, &[json!("04/03/2025 05:06")]).is_none());
        assert!(binary(Binary::Timestamp, &[json!("2016-12-31T23:59:60Z")]).is_none());
        assert!(binary(Binary::Date, &[json!("2025-3-4")]).is_none());
        assert!(binary(Binary::Date, &[json!("2025-02-30")]).is_none());
        assert!(binary(Binary::Int4, &[json!(3_000_000_000_i64)]).is_none());
        assert!(binary(Binary::Int4, &[json!("12")]).is_none());
        assert!(binary(Binary::Int8, &[json!(1.5)]).is_none());
        assert!(binary(Binary::Bool, &[json!("yes")]).is_none());
    }

    #[test]
    fn arrays_quote_every_element() {
        assert_eq!(
            text_of(
                &json!(["a", null, "b,c", "say \"hi\"", "back\\slash", 3]),
                Form::Array
            )
            .as_deref(),
            Some(r#"{"a",NULL,"b,c","say \"hi\"","back\\slash","3"}"#)
        );
        assert_eq!(text_of(&json!([]), Form::Array).as_deref(), Some("{}"));
    }
}
