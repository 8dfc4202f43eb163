//! Bulk loading with `COPY … FROM STDIN` in Postgres' text format: the fastest way in, and row
//! triggers still fire (confirmation numbers, ledger balances are assigned as for any insert).

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::error::Result;

/// One table's rows, encoded as COPY text as they are added.
pub struct CopyTable {
    table: &'static str,
    columns: &'static [&'static str],
    buffer: String,
    rows: usize,
    fields_in_row: usize,
}

impl CopyTable {
    pub fn new(table: &'static str, columns: &'static [&'static str]) -> Self {
        Self {
            table,
            columns,
            buffer: String::new(),
            rows: 0,
            fields_in_row: 0,
        }
    }

    pub fn table(&self) -> &'static str {
        self.table
    }

    /// Starts a row; add exactly one field per column, then call [`Row::end`].
    pub fn row(&mut self) -> Row<'_> {
        self.fields_in_row = 0;
        Row { table: self }
    }

    /// Sends the rows to Postgres.
    pub async fn copy_into(&self, conn: &mut PgConnection) -> Result<u64> {
        if self.rows == 0 {
            return Ok(0);
        }
        let statement = format!(
            "copy public.{} ({}) from stdin",
            self.table,
            self.columns.join(", ")
        );
        let mut copy = conn.copy_in_raw(&statement).await?;
        for chunk in self.buffer.as_bytes().chunks(1 << 20) {
            copy.send(chunk).await?;
        }
        Ok(copy.finish().await?)
    }
}

/// A row being written; fields are appended in column order.
pub struct Row<'a> {
    table: &'a mut CopyTable,
}

impl Row<'_> {
    fn raw(self, encoded: &str) -> Self {
        if self.table.fields_in_row > 0 {
            self.table.buffer.push('\t');
        }
        self.table.buffer.push_str(encoded);
        self.table.fields_in_row += 1;
        self
    }

    pub fn null(self) -> Self {
        self.raw("\\N")
    }

    pub fn text(self, value: &str) -> Self {
        let escaped = escape_copy(value);
        self.raw(&escaped)
    }

    pub fn opt_text(self, value: Option<&str>) -> Self {
        match value {
            Some(v) => self.text(v),
            None => self.null(),
        }
    }

    pub fn uuid(self, value: Uuid) -> Self {
        self.raw(&value.to_string())
    }

    pub fn opt_uuid(self, value: Option<Uuid>) -> Self {
        match value {
            Some(v) => self.uuid(v),
            None => self.null(),
        }
    }

    pub fn int(self, value: i64) -> Self {
        self.raw(&value.to_string())
    }

    pub fn opt_int(self, value: Option<i64>) -> Self {
        match value {
            Some(v) => self.int(v),
            None => self.null(),
        }
    }

    /// A decimal number written exactly as given (for `numeric` columns).
    pub fn decimal(self, value: &str) -> Self {
        self.raw(value)
    }

    pub fn bool(self, value: bool) -> Self {
        self.raw(if value { "t" } else { "f" })
    }

    pub fn date(self, value: NaiveDate) -> Self {
        self.raw(&value.format("%Y-%m-%d").to_string())
    }

    pub fn opt_date(self, value: Option<NaiveDate>) -> Self {
        match value {
            Some(v) => self.date(v),
            None => self.null(),
        }
    }

    pub fn time(self, value: NaiveTime) -> Self {
        self.raw(&value.format("%H:%M:%S").to_string())
    }

    pub fn opt_time(self, value: Option<NaiveTime>) -> Self {
        match value {
            Some(v) => self.time(v),
            None => self.null(),
        }
    }

    pub fn timestamp(self, value: DateTime<Utc>) -> Self {
        self.raw(&value.to_rfc3339())
    }

    pub fn opt_timestamp(self, value: Option<DateTime<Utc>>) -> Self {
        match value {
            Some(v) => self.timestamp(v),
            None => self.null(),
        }
    }

    /// A `text[]` value.
    pub fn text_array<S: AsRef<str>>(self, values: &[S]) -> Self {
        let literal = crate::db::array_literal(values.iter().map(|v| Some(v.as_ref())));
        self.text(&literal)
    }

    pub fn json(self, value: &serde_json::Value) -> Self {
        self.text(&value.to_string())
    }

    /// Ends the row; panics if the field count does not match the columns, which is a bug in the
    /// generator (caught by every test that seeds).
    pub fn end(self) {
        assert_eq!(
            self.table.fields_in_row,
            self.table.columns.len(),
            "row of {} has {} fields for {} columns",
            self.table.table,
            self.table.fields_in_row,
            self.table.columns.len()
        );
        self.table.buffer.push('\n');
        self.table.rows += 1;
    }
}

/// Escapes a value for COPY's text format.
fn escape_copy(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_copy_specials() {
        assert_eq!(escape_copy("a\tb\nc\\d"), "a\\tb\\nc\\\\d");
    }

    #[test]
    #[should_panic(expected = "has 1 fields for 2 columns")]
    fn a_short_row_is_a_bug() {
        let mut table = CopyTable::new("t", &["a", "b"]);
        table.row().int(1).end();
    }
}
