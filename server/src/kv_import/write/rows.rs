//! A batch's rows on their way to the database: one text array per column, turned back into
//! typed rows by `unnest` and a cast to each column's type.
//!
//! One JSON array through `json_populate_recordset` would do the same in one parameter, but the
//! database then lexes every row's JSON and looks each field up by name: a tenth of its time in
//! the import. Arrays arrive in the binary protocol, one length-prefixed value after the other,
//! and each value goes through its type's input function, as `json_populate_recordset` would
//! have done (so a value reads the same either way: a JSON null is SQL NULL, a JSON number or
//! boolean is its text, an object or array is its JSON text, except into an array column).

use std::collections::HashMap;

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

    fn of(&self, table: &str, column: &str) -> Option<&str> {
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

/// The rows of a batch, column by column, for one statement.
pub struct RowSet {
    columns: Vec<String>,
    types: Vec<String>,
    values: Vec<Vec<Option<String>>>,
}

impl RowSet {
    /// `columns` of `rows` of `table` (a column a row lacks is NULL in that row).
    pub fn new<'a>(
        types: &ColumnTypes,
        table: &str,
        columns: &[String],
        rows: impl Iterator<Item = &'a Columns>,
    ) -> Result<Self, sqlx::Error> {
        let mut column_types = Vec::with_capacity(columns.len());
        let mut forms = Vec::with_capacity(columns.len());
        for column in columns {
            let ty = types.of(table, column).ok_or_else(|| {
                sqlx::Error::Protocol(format!("public.{table} has no column {column}"))
            })?;
            forms.push(if ty == "json" || ty == "jsonb" {
                Form::Json
            } else if ty.ends_with("[]") {
                Form::Array
            } else {
                Form::Scalar
            });
            column_types.push(ty.to_owned());
        }
        let mut values: Vec<Vec<Option<String>>> = vec![Vec::new(); columns.len()];
        for row in rows {
            for ((column, form), out) in columns.iter().zip(&forms).zip(values.iter_mut()) {
                out.push(row.get(column.as_str()).and_then(|v| text_of(v, *form)));
            }
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
        let arrays = (0..self.columns.len())
            .map(|i| format!("${}::text[]", first_parameter + i))
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
    ) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
        for values in self.values {
            query = query.bind(values);
        }
        query
    }
}

/// A value as the text its column's input function reads.
fn text_of(value: &Value, form: Form) -> Option<String> {
    match (value, form) {
        (Value::Null, _) => None,
        (value, Form::Json) => Some(value.to_string()),
        (Value::Array(items), Form::Array) => {
            // elements as their text, like scalars (a JSON null is a NULL element)
            let texts: Vec<Option<String>> =
                items.iter().map(|v| text_of(v, Form::Scalar)).collect();
            Some(crate::db::array_literal(texts.iter().map(Option::as_deref)))
        }
        (Value::String(s), _) => Some(s.clone()),
        (other, _) => Some(other.to_string()),
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
