//! The local SQLite mirror: opening it (WAL, migrations), and moving rows between SQLite and the
//! JSON objects the server speaks, guided by each column's declared type.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, RwLock};
use std::time::{Duration, Instant};

use pms_sync_protocol::tables::{synced_table, SyncedTable};
use rusqlite::types::{ToSqlOutput, Value as SqlValue, ValueRef};
use rusqlite::{params_from_iter, Connection, OptionalExtension};
use rusqlite_migration::{Migrations, M};
use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// The mirror's schema history (`migrations/sqlite/`), only ever appended to.
pub fn migrations() -> Migrations<'static> {
    Migrations::new(vec![
        M::up(include_str!("../../../migrations/sqlite/0001_mirror.sql")),
        M::up(include_str!(
            "../../../migrations/sqlite/0002_outbox_clocks.sql"
        )),
        M::up(include_str!(
            "../../../migrations/sqlite/0003_desk_indexes.sql"
        )),
        M::up(include_str!("../../../migrations/sqlite/0004_folios.sql")),
        M::up(include_str!(
            "../../../migrations/sqlite/0005_rates_audit_invoices.sql"
        )),
        M::up(include_str!(
            "../../../migrations/sqlite/0006_registration_and_history.sql"
        )),
        M::up(include_str!(
            "../../../migrations/sqlite/0007_search_index_follows_searched_columns.sql"
        )),
    ])
}

/// Opens (creating and migrating) the mirror at `path`.
pub fn open(path: &Path) -> Result<Connection> {
    let mut conn = Connection::open(path)?;
    prepare(&mut conn)?;
    Ok(conn)
}

/// An in-memory mirror, for tests and tools.
pub fn open_in_memory() -> Result<Connection> {
    let mut conn = Connection::open_in_memory()?;
    prepare(&mut conn)?;
    Ok(conn)
}

fn prepare(conn: &mut Connection) -> Result<()> {
    // WAL: readers (the screens) never wait for the sync writer, and a crash loses nothing committed.
    conn.pragma_update(None, "journal_mode", "wal")?;
    conn.pragma_update(None, "synchronous", "normal")?;
    conn.busy_handler(Some(wait_for_the_write_lock))?;
    // 32 MiB of pages kept per connection (SQLite's default is 2 MiB): a hotel's indexes the
    // screens walk stay in memory instead of being read again from the file at every keystroke.
    conn.pragma_update(None, "cache_size", -32_768)?;
    // Room for a column lookup and an upsert per synced table, and the screens' queries.
    conn.set_prepared_statement_cache_capacity(128);
    migrations().to_latest(conn)?;
    Ok(())
}

/// WAL pages a screens' connection lets grow before it checkpoints itself: a backstop, as the
/// sync task checkpoints after each round ([`checkpoint`]). SQLite's default (1,000 pages) made
/// about one desk write in a hundred copy the WAL back into the database and wait for the disk.
pub const SCREENS_WAL_BACKSTOP_PAGES: i64 = 10_000;

/// Makes `conn` (the connection the clerk's screens write through) leave WAL checkpoints to the
/// sync task, up to [`SCREENS_WAL_BACKSTOP_PAGES`], so a clerk's save never pays for one.
pub fn leave_checkpoints_to_sync(conn: &Connection) -> Result<()> {
    conn.pragma_update(None, "wal_autocheckpoint", SCREENS_WAL_BACKSTOP_PAGES)?;
    Ok(())
}

/// Copies what the WAL holds back into the database without waiting for anyone (a passive
/// checkpoint: readers and writers go on meanwhile); the sync task runs it after each round.
/// Returns the frames the WAL held and how many of them were copied.
pub fn checkpoint(conn: &Connection) -> Result<(i64, i64)> {
    Ok(conn.query_row("pragma wal_checkpoint(passive)", [], |r| {
        Ok((r.get(1)?, r.get(2)?))
    })?)
}

/// The longest a connection waits for another's write to end: 5,000 steps of a millisecond.
const WRITE_LOCK_WAIT_STEPS: i32 = 5_000;

/// When a connection of this process last found the write lock taken, in microseconds since the
/// first one did (0: never).
static LAST_WAIT_FOR_THE_WRITE_LOCK: AtomicU64 = AtomicU64::new(0);

fn process_micros() -> u64 {
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_micros() as u64 + 1
}

/// The busy handler of every mirror connection: tries again every millisecond, for up to about
/// 5 s. SQLite's own busy timeout sleeps ever longer steps (up to 100 ms each), so a clerk's save
/// that found the sync writing slept on long after the sync's transaction had ended.
fn wait_for_the_write_lock(attempts: i32) -> bool {
    LAST_WAIT_FOR_THE_WRITE_LOCK.store(process_micros(), Ordering::Relaxed);
    if attempts >= WRITE_LOCK_WAIT_STEPS {
        return false;
    }
    std::thread::sleep(Duration::from_millis(1));
    true
}

/// Called by a long writer (a pull applying pages, a snapshot) between its transactions: when a
/// connection waited for the write lock in the last 2 ms (the screens, saving), pauses 2 ms so
/// it takes the lock before the next transaction does. SQLite hands the lock to whoever asks
/// first, and a writer that begins again at once would keep the clerk waiting for its whole run.
pub fn let_waiting_writers_in() {
    if a_writer_is_waiting() {
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Whether a connection of this process found the write lock taken in the last 2 ms: a long
/// writer ends its transaction early to let it in.
pub fn a_writer_is_waiting() -> bool {
    let last_wait = LAST_WAIT_FOR_THE_WRITE_LOCK.load(Ordering::Relaxed);
    last_wait != 0 && process_micros().saturating_sub(last_wait) <= 2_000
}

/// Begins a transaction that writes. It takes the write lock at once (`BEGIN IMMEDIATE`), waiting
/// for it ([`wait_for_the_write_lock`]): a deferred transaction that reads first and then writes fails
/// at once with "database is locked" when another connection (the desk's screens beside the sync)
/// has committed in between, as SQLite cannot upgrade a stale read snapshot.
pub fn write_transaction(conn: &mut Connection) -> Result<rusqlite::Transaction<'_>> {
    Ok(conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?)
}

/// How a column's values travel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    Integer,
    Boolean,
    Json,
}

/// A table's columns with their kinds, in table order.
pub type Columns = Arc<[(String, Kind)]>;

/// The mirror's columns of `table` with their kinds, in table order. Read from the schema once
/// per process and table: every mirror is migrated to this build's schema when it opens
/// ([`open`]), so every connection has the same columns, and every row a snapshot, a pull or a
/// desk's write stores asks (reading `pragma_table_info` each time was a sixth of a campaign's
/// client time).
pub fn columns(conn: &Connection, table: &str) -> Result<Columns> {
    static KNOWN: OnceLock<RwLock<HashMap<&'static str, Columns>>> = OnceLock::new();
    let synced = synced(table)?;
    let known = KNOWN.get_or_init(Default::default);
    if let Some(columns) = known
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .get(synced.name)
    {
        return Ok(columns.clone());
    }
    let mut statement = conn.prepare_cached(&format!(
        "select name, type from pragma_table_info('{}')",
        synced.name
    ))?;
    let columns: Columns = statement
        .query_map([], |row| {
            let name: String = row.get(0)?;
            let declared: String = row.get(1)?;
            let kind = match declared.to_ascii_lowercase().as_str() {
                "integer" => Kind::Integer,
                "boolean" => Kind::Boolean,
                "json_text" => Kind::Json,
                _ => Kind::Text,
            };
            Ok((name, kind))
        })?
        .collect::<Result<Vec<_>, _>>()?
        .into();
    if columns.is_empty() {
        // (a mirror not migrated yet: nothing to remember)
        return Ok(columns);
    }
    if columns.len() > MAX_COLUMNS {
        return Err(Error::Data(format!(
            "the mirror's {table} has {} columns, more than the {MAX_COLUMNS} a row's column set holds",
            columns.len()
        )));
    }
    known
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .insert(synced.name, columns.clone());
    Ok(columns)
}

pub fn synced(table: &str) -> Result<&'static SyncedTable> {
    synced_table(table).ok_or_else(|| Error::UnknownTable(table.to_owned()))
}

/// `value` as SQLite stores it in a column of `kind`; text is borrowed, not copied.
fn to_sql(value: &Value, kind: Kind) -> ToSqlOutput<'_> {
    match (value, kind) {
        (Value::Null, _) => ToSqlOutput::Owned(SqlValue::Null),
        (Value::Bool(b), _) => ToSqlOutput::Owned(SqlValue::Integer(i64::from(*b))),
        (Value::Number(n), Kind::Integer | Kind::Boolean) => ToSqlOutput::Owned(
            n.as_i64()
                .map(SqlValue::Integer)
                .unwrap_or_else(|| SqlValue::Text(n.to_string())),
        ),
        (Value::Number(n), _) => ToSqlOutput::Owned(SqlValue::Text(n.to_string())),
        (Value::String(s), Kind::Json) => {
            ToSqlOutput::Owned(SqlValue::Text(Value::String(s.clone()).to_string()))
        }
        (Value::String(s), _) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
        (other, _) => ToSqlOutput::Owned(SqlValue::Text(other.to_string())),
    }
}

fn from_sql(value: ValueRef<'_>, kind: Kind) -> Value {
    match (value, kind) {
        (ValueRef::Null, _) => Value::Null,
        (ValueRef::Integer(i), Kind::Boolean) => Value::Bool(i != 0),
        (ValueRef::Integer(i), _) => Value::from(i),
        (ValueRef::Real(f), _) => Value::from(f),
        (ValueRef::Text(t), Kind::Json) => serde_json::from_slice(t)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(t).into_owned())),
        (ValueRef::Text(t), _) => Value::String(String::from_utf8_lossy(t).into_owned()),
        (ValueRef::Blob(_), _) => Value::Null,
    }
}

/// Writes `row` (some or all columns; `id` required) into `table`, inserting or updating.
pub fn upsert(conn: &Connection, table: &str, row: &Map<String, Value>) -> Result<()> {
    let all = columns(conn, table)?;
    if !row.contains_key("id") {
        return Err(Error::Data(format!("a {table} row without an id")));
    }
    let mut present = ColumnSet::default();
    for (index, (name, _)) in all.iter().enumerate() {
        if row.contains_key(name) {
            present.insert(index);
        }
    }
    let statement = upsert_statement(synced(table)?.name, &all, &present);
    let values = all
        .iter()
        .enumerate()
        .filter(|(index, _)| present.contains(*index))
        .map(|(_, (name, kind))| to_sql(&row[name.as_str()], *kind));
    // Cached: a snapshot or a pull writes thousands of rows of the same shape in a row.
    conn.prepare_cached(&statement)?
        .execute(params_from_iter(values))?;
    Ok(())
}

/// A row made ready to write by [`ready_row`]: the columns it carries and their values, in the
/// mirror's column order. Made where the row arrives (a thread fetching the next page) so that
/// the thread writing the mirror only runs the statement.
#[derive(Debug)]
pub struct ReadyRow {
    present: ColumnSet,
    values: Vec<SqlValue>,
}

/// `row` of a table whose mirror columns are `all` (see [`columns`]), taken apart for
/// [`upsert_ready_rows`]; its strings are moved, not copied.
pub fn ready_row(table: &str, all: &Columns, mut row: Map<String, Value>) -> Result<ReadyRow> {
    if !row.contains_key("id") {
        return Err(Error::Data(format!("a {table} row without an id")));
    }
    let mut present = ColumnSet::default();
    let mut values = Vec::with_capacity(row.len());
    for (index, (name, kind)) in all.iter().enumerate() {
        if let Some(value) = row.remove(name) {
            present.insert(index);
            values.push(match (value, *kind) {
                (Value::String(text), Kind::Text | Kind::Integer | Kind::Boolean) => {
                    SqlValue::Text(text)
                }
                (value, kind) => into_sql(to_sql(&value, kind)),
            });
        }
    }
    Ok(ReadyRow { present, values })
}

fn into_sql(output: ToSqlOutput<'_>) -> SqlValue {
    match output {
        ToSqlOutput::Borrowed(value) => value.into(),
        ToSqlOutput::Owned(value) => value,
        // (to_sql makes neither of the others)
        _ => SqlValue::Null,
    }
}

/// Writes [`ready_row`]s of `table` (columns `all`) inserting or updating as [`upsert`] does, one statement
/// for each run of rows of the same shape: a snapshot page's rows all have the table's columns,
/// and looking the statement up per row (its text hashed by the statement cache) cost more than
/// some of the inserts.
pub fn upsert_ready_rows<'r>(
    conn: &Connection,
    table: &str,
    all: &Columns,
    rows: impl IntoIterator<Item = &'r ReadyRow>,
) -> Result<()> {
    let table = synced(table)?.name;
    let mut current: Option<(ColumnSet, rusqlite::CachedStatement<'_>)> = None;
    for row in rows {
        if !matches!(&current, Some((present, _)) if *present == row.present) {
            let text = upsert_statement(table, all, &row.present);
            current = Some((row.present, conn.prepare_cached(&text)?));
        }
        if let Some((_, statement)) = &mut current {
            statement.execute(params_from_iter(row.values.iter()))?;
        }
    }
    Ok(())
}

/// The most columns a mirror table may have: what a [`ColumnSet`] holds ([`columns`] refuses a
/// wider table).
const MAX_COLUMNS: usize = 128;

/// Which of a table's columns a row carries, by their place in [`columns`]. Fixed-size, so the
/// statement cache's key is made for every row written without an allocation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
struct ColumnSet([u64; MAX_COLUMNS / 64]);

impl ColumnSet {
    fn insert(&mut self, index: usize) {
        self.0[index / 64] |= 1 << (index % 64);
    }

    fn contains(&self, index: usize) -> bool {
        self.0
            .get(index / 64)
            .is_some_and(|word| word & (1 << (index % 64)) != 0)
    }
}

/// The upsert of `present`'s columns of `table`, made once per table and column set: a snapshot
/// or a pull writes thousands of rows of one shape, and building the text each time cost more
/// than SQLite's insert of a narrow row.
fn upsert_statement(table: &'static str, all: &Columns, present: &ColumnSet) -> Arc<str> {
    type Statements = HashMap<(&'static str, ColumnSet), Arc<str>>;
    static MADE: OnceLock<RwLock<Statements>> = OnceLock::new();
    let made = MADE.get_or_init(Default::default);
    let key = (table, *present);
    if let Some(statement) = made
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .get(&key)
    {
        return statement.clone();
    }
    let names: Vec<&str> = all
        .iter()
        .enumerate()
        .filter(|(index, _)| present.contains(*index))
        .map(|(_, (name, _))| name.as_str())
        .collect();
    let placeholders = vec!["?"; names.len()].join(", ");
    let updates: Vec<String> = names
        .iter()
        .filter(|n| **n != "id")
        .map(|n| format!("{n} = excluded.{n}"))
        .collect();
    let conflict = if updates.is_empty() {
        "do nothing".to_owned()
    } else {
        format!("do update set {}", updates.join(", "))
    };
    let statement: Arc<str> = format!(
        "insert into {table} ({}) values ({placeholders}) on conflict (id) {conflict}",
        names.join(", ")
    )
    .into();
    made.write()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .insert(key, statement.clone());
    statement
}

pub fn delete(conn: &Connection, table: &str, id: &str) -> Result<()> {
    let synced = synced(table)?;
    conn.execute(&format!("delete from {} where id = ?1", synced.name), [id])?;
    Ok(())
}

/// The row `id` of `table` as JSON, if the mirror has it.
pub fn read(conn: &Connection, table: &str, id: &str) -> Result<Option<Map<String, Value>>> {
    let columns = columns(conn, table)?;
    let names: Vec<&str> = columns.iter().map(|(name, _)| name.as_str()).collect();
    let statement = format!("select {} from {table} where id = ?1", names.join(", "));
    let row = conn
        .prepare_cached(&statement)?
        .query_row([id], |row| {
            let mut object = Map::new();
            for (i, (name, kind)) in columns.iter().enumerate() {
                object.insert(name.clone(), from_sql(row.get_ref(i)?, *kind));
            }
            Ok(object)
        })
        .optional()?;
    Ok(row)
}

/// Refuses, in the clerk's words, a guest this laptop does not hold (or holds deleted).
pub fn require_guest(conn: &Connection, guest_id: uuid::Uuid) -> Result<()> {
    let exists: bool = conn.query_row(
        "select exists (select 1 from guests where id = ?1 and deleted_at is null)",
        [guest_id.to_string()],
        |r| r.get(0),
    )?;
    if exists {
        Ok(())
    } else {
        Err(Error::Invalid {
            field: "guest_id",
            message: "The guest is not on this laptop.".to_owned(),
        })
    }
}

/// A value of the sync bookkeeping (`sync_state`).
pub fn state(conn: &Connection, key: &str) -> Result<Option<String>> {
    Ok(conn
        .query_row("select value from sync_state where key = ?1", [key], |r| {
            r.get(0)
        })
        .optional()?)
}

pub fn set_state(conn: &Connection, key: &str, value: &str) -> Result<()> {
    conn.execute(
        "insert into sync_state (key, value) values (?1, ?2) on conflict (key) do update set value = excluded.value",
        [key, value],
    )?;
    Ok(())
}

/// Guest search as you type over the local mirror (FTS5 trigram on name, email and phone): the
/// ids and names of up to `limit` guests whose fields contain `term`, best match first. Terms
/// under three characters (too short for trigrams) match names by prefix instead.
pub fn search_guests(conn: &Connection, term: &str, limit: usize) -> Result<Vec<(String, String)>> {
    let term = term.trim();
    if term.is_empty() {
        return Ok(Vec::new());
    }
    let limit = limit.clamp(1, 200) as i64;
    let rows = if term.chars().count() >= 3 {
        // a phrase, so the user's punctuation is matched, not parsed as FTS syntax
        let phrase = format!("\"{}\"", term.replace('"', "\"\""));
        let mut statement = conn.prepare_cached(
            "select g.id, g.full_name from guests_search s join guests g on g.rowid = s.rowid
              where guests_search match ?1 and g.deleted_at is null order by s.rank limit ?2",
        )?;
        let rows = statement.query_map(rusqlite::params![phrase, limit], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
        rows.collect::<Result<Vec<_>, _>>()?
    } else {
        // A range on the case-insensitive name index rather than LIKE: every name that starts
        // with the term (ASCII letters in either case) sorts between the term and the term
        // followed by the highest code point, so the index finds the first 20 at once where a
        // LIKE would read every guest.
        let mut statement = conn.prepare_cached(
            "select id, full_name from guests
              where full_name >= ?1 collate nocase and full_name < ?2 collate nocase and deleted_at is null
              order by full_name collate nocase limit ?3",
        )?;
        let upper = format!("{term}\u{10FFFF}");
        let rows = statement.query_map(rusqlite::params![term, upper, limit], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
        rows.collect::<Result<Vec<_>, _>>()?
    };
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outbox;

    /// One or two letters typed find names by prefix, in either case, with LIKE's wildcards
    /// taken as the letters they are; the plan reads the name index, not every guest.
    #[test]
    fn a_short_term_finds_names_by_prefix_through_the_index() {
        let mut conn = open_in_memory().expect("mirror");
        for (first, last) in [
            ("Ana", "Lopez"),
            ("anders", "Berg"),
            ("Bob", "Anand"),
            ("a%b", "Odd"),
        ] {
            let mut values = Map::new();
            values.insert("first_name".to_owned(), Value::from(first));
            values.insert("last_name".to_owned(), Value::from(last));
            outbox::write(
                &mut conn,
                "guests",
                pms_sync_protocol::wire::PushOp::Insert,
                uuid::Uuid::now_v7(),
                values,
            )
            .expect("insert");
        }
        let names = |term: &str| -> Vec<String> {
            search_guests(&conn, term, 20)
                .expect("search")
                .into_iter()
                .map(|(_, name)| name)
                .collect()
        };
        assert_eq!(names("an"), vec!["Ana Lopez", "anders Berg"]);
        assert_eq!(names("AN"), vec!["Ana Lopez", "anders Berg"]);
        assert_eq!(names("a%"), vec!["a%b Odd"]);
        assert!(names("z").is_empty());
        let plan: String = conn
            .query_row(
                "explain query plan select id, full_name from guests
                  where full_name >= 'an' collate nocase and full_name < 'ao' collate nocase
                    and deleted_at is null order by full_name collate nocase limit 20",
                [],
                |r| r.get(3),
            )
            .expect("plan");
        assert!(plan.contains("guests_name_nocase_idx"), "{plan}");
    }

    /// The screens' connection never copies the WAL back on a clerk's save (SQLite's default does
    /// so every 1,000 pages, inside the commit): the frames wait for the sync task's passive
    /// checkpoint, which takes them all.
    #[test]
    fn a_screens_connection_leaves_the_wal_to_the_sync_task_checkpoint() {
        let dir = std::env::temp_dir().join(format!("mirror-wal-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("mirror.sqlite3");
        let mut screens = open(&path).expect("mirror");
        leave_checkpoints_to_sync(&screens).expect("leave checkpoints");
        let sync = open(&path).expect("the sync's connection");
        for n in 0..1_500 {
            let mut values = Map::new();
            values.insert("first_name".to_owned(), Value::from(format!("Guest {n}")));
            values.insert("last_name".to_owned(), Value::from("Wal"));
            values.insert("notes".to_owned(), Value::from("x".repeat(2_000)));
            outbox::write(
                &mut screens,
                "guests",
                pms_sync_protocol::wire::PushOp::Insert,
                uuid::Uuid::now_v7(),
                values,
            )
            .expect("a clerk's save");
        }
        let (in_wal, copied) = checkpoint(&sync).expect("the sync task's checkpoint");
        assert!(
            in_wal > 1_000,
            "the saves checkpointed the WAL themselves: {in_wal} frames left"
        );
        assert_eq!(copied, in_wal, "the sync's checkpoint takes every frame");
        drop((screens, sync));
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A long writer that lets waiting writers in between its transactions (as a pull applying
    /// pages does) lets a clerk's save through within a few of them. Before, the save waited in
    /// SQLite's growing sleeps and the writer, beginning again at once, took the lock every time:
    /// the save went through only when the writer had finished.
    #[test]
    fn a_clerks_save_gets_in_between_a_long_writers_transactions() {
        let dir = std::env::temp_dir().join(format!("mirror-fair-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("mirror.sqlite3");
        let mut writer = open(&path).expect("the sync's connection");
        let mut screens = open(&path).expect("the screens' connection");
        const ROUNDS: usize = 400;
        let clerk_saved = |conn: &Connection| state(conn, "clerk").expect("state").is_some();
        let clerk = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            let tx = write_transaction(&mut screens).expect("the clerk's save");
            set_state(&tx, "clerk", "saved").expect("save");
            tx.commit().expect("commit");
        });
        let mut saved_at = None;
        for round in 0..ROUNDS {
            let tx = write_transaction(&mut writer).expect("the writer's transaction");
            set_state(&tx, "round", &round.to_string()).expect("write");
            // a page's part takes a while
            std::thread::sleep(Duration::from_millis(1));
            tx.commit().expect("commit");
            if saved_at.is_none() && clerk_saved(&writer) {
                saved_at = Some(round);
            }
            let_waiting_writers_in();
        }
        clerk.join().expect("the clerk's thread");
        let saved_at = saved_at.unwrap_or(ROUNDS);
        assert!(
            saved_at < ROUNDS / 2,
            "the clerk's save waited until round {saved_at} of {ROUNDS}"
        );
        drop(writer);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// The search index follows the columns it indexes, and only those: a guest's e-mail
    /// corrected is found by the new address and no longer by the old one, a note or a row
    /// written again unchanged (as a pull page does) leaves the index as it was.
    #[test]
    fn the_search_index_follows_what_it_indexes() {
        let conn = open_in_memory().expect("mirror");
        let id = uuid::Uuid::now_v7().to_string();
        let row = |pairs: &[(&str, &str)]| -> Map<String, Value> {
            let mut row = Map::new();
            row.insert("id".to_owned(), Value::from(id.clone()));
            for (column, value) in pairs {
                row.insert((*column).to_owned(), Value::from(*value));
            }
            row
        };
        upsert(
            &conn,
            "guests",
            &row(&[
                ("full_name", "Maren Solberg"),
                ("email", "maren@old.example"),
                ("phone", "+47 555 0101"),
            ]),
        )
        .expect("guest");
        let index_rows = |conn: &Connection| -> i64 {
            conn.query_row("select count(*) from guests_search_docsize", [], |r| {
                r.get(0)
            })
            .expect("index")
        };
        let found = |term: &str| search_guests(&conn, term, 5).expect("search").len();
        upsert(&conn, "guests", &row(&[("notes", "late arrival")])).expect("note");
        upsert(&conn, "guests", &row(&[("full_name", "Maren Solberg")])).expect("same name");
        assert_eq!(index_rows(&conn), 1);
        assert_eq!(found("old.example"), 1);
        upsert(&conn, "guests", &row(&[("email", "maren@new.example")])).expect("new e-mail");
        assert_eq!(found("new.example"), 1, "found by the new address");
        assert_eq!(found("old.example"), 0, "no longer by the old one");
        assert_eq!(found("Solberg"), 1, "and still by name");
        assert_eq!(index_rows(&conn), 1);
    }
}
