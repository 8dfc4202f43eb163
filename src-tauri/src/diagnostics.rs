//! "Copy diagnostics": a plain-text summary a clerk pastes into a support request: the app's
//! version, the OS, the data and log folders, the mode, the server's host, what the sync last saw,
//! the changes waiting and conflicts open (counts and reason codes), and the recent errors of the
//! desk's log.
//!
//! It must carry no secret and no guest data. The counts and codes come from the mirror's
//! bookkeeping and carry none; the server address is reduced to its host (no user, path or
//! query). The error lines are free text, so each is scrubbed before it is shown ([`Scrubber`]):
//! e-mail addresses, anything shaped like a token or a password hash, long digit runs (card and
//! phone numbers) and every word of a guest's name known to this mirror are replaced by a
//! placeholder. Over-scrubbing (a street named like a guest) is accepted; leaking is not.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::path::Path;
use std::sync::LazyLock;

use regex::Regex;
use rusqlite::Connection;

use crate::commands::setup::{app_status, Mode};
use crate::db;
use crate::error::AppResult;
use crate::state::Desk;

/// How many of the log's most recent warnings and errors the text shows.
pub const LOG_LINES: usize = 20;
/// How much of the end of the log file is read for them.
const LOG_TAIL_BYTES: u64 = 256 * 1024;

/// What the app knows about itself that the mirror does not.
pub struct About<'a> {
    pub version: &'a str,
    /// The folder of `desk.log` (`None` when the platform has none).
    pub log_dir: Option<&'a Path>,
}

/// The diagnostics text of this desk.
pub fn report(desk: &Desk, about: &About<'_>) -> AppResult<String> {
    let status = app_status(desk)?;
    let info = desk.sync_info();
    let conn = desk.conn();
    let scrubber = Scrubber::for_mirror(&conn)?;
    let waiting = db::changes_waiting(&conn)?;
    let oldest_waiting = oldest_waiting(&conn)?;
    let conflicts = conflict_reasons(&conn)?;
    let cursor = pms_sync_client::mirror::state(&conn, "cursor_seq")?;
    drop(conn);

    let mut text = String::new();
    let mut line = |label: &str, value: &dyn std::fmt::Display| {
        let _ = writeln!(text, "{label}: {value}");
    };
    line("Front desk", &about.version);
    line(
        "OS",
        &format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
    );
    line("Data folder", &desk.data_dir().display());
    line(
        "Log folder",
        &about
            .log_dir
            .map_or_else(|| "none".to_owned(), |dir| dir.display().to_string()),
    );
    line("Mode", &mode_name(status.mode));
    line(
        "Server",
        &status.server.as_deref().map_or("none", host_of).to_owned(),
    );
    line("Initial sync done", &yes_no(status.initial_sync_done));
    line(
        "Online",
        &info.online.map_or("not tried", |online| yes_no(online)),
    );
    line("Syncing now", &yes_no(info.syncing));
    line(
        "Last sync (since the app started)",
        &info.last_sync.as_deref().unwrap_or("none"),
    );
    line("Pull cursor", &cursor.as_deref().unwrap_or("none"));
    line("Session expired", &yes_no(info.session_expired));
    line(
        "Session kept in",
        &crate::session_store::kept_in(&desk.database_path()),
    );
    line("Update required", &yes_no(info.update_required));
    line(
        "Changes waiting",
        &match oldest_waiting {
            Some(oldest) => format!("{waiting} (oldest from {oldest})"),
            None => waiting.to_string(),
        },
    );
    let open: i64 = conflicts.iter().map(|(_, count)| count).sum();
    let reasons: Vec<String> = conflicts
        .iter()
        .map(|(reason, count)| format!("{reason} {count}"))
        .collect();
    line(
        "Conflicts open",
        &if reasons.is_empty() {
            open.to_string()
        } else {
            format!("{open} ({})", reasons.join(", "))
        },
    );
    line(
        "Last sync error",
        &info
            .last_error
            .as_deref()
            .map_or_else(|| "none".to_owned(), |error| scrubber.scrub(error)),
    );
    let errors = about
        .log_dir
        .map(|dir| recent_problems(&dir.join(format!("{}.log", crate::logging::FILE_NAME))))
        .unwrap_or_default();
    let _ = writeln!(text, "Recent log warnings and errors ({}):", errors.len());
    for error in errors {
        let _ = writeln!(text, "  {}", scrubber.scrub(&error));
    }
    Ok(text)
}

fn yes_no(value: bool) -> &'static str {
    if value {
        "yes"
    } else {
        "no"
    }
}

fn mode_name(mode: Mode) -> &'static str {
    match mode {
        Mode::New => "not set up",
        Mode::Local => "local (this laptop only)",
        Mode::Demo => "demo",
        Mode::Server => "server",
    }
}

/// The host (and port) of a server address: no scheme, user, password, path or query.
pub fn host_of(address: &str) -> &str {
    let rest = address.split_once("://").map_or(address, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host)
}

fn oldest_waiting(conn: &Connection) -> AppResult<Option<String>> {
    Ok(conn.query_row(
        "select min(created_at) from outbox where status = 'pending'",
        [],
        |r| r.get(0),
    )?)
}

/// Open conflicts by reason code (`room_unavailable`, `superseded`, …).
fn conflict_reasons(conn: &Connection) -> AppResult<Vec<(String, i64)>> {
    let mut statement = conn.prepare(
        "select reason, count(*) from conflicts where resolved_at is null
          group by reason order by reason",
    )?;
    let rows = statement.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The last [`LOG_LINES`] warnings and errors of the log file (none when there is no file).
fn recent_problems(path: &Path) -> Vec<String> {
    use std::io::{Read, Seek, SeekFrom};
    let Ok(mut file) = std::fs::File::open(path) else {
        return Vec::new();
    };
    let length = file.metadata().map(|m| m.len()).unwrap_or_default();
    let _ = file.seek(SeekFrom::Start(length.saturating_sub(LOG_TAIL_BYTES)));
    let mut bytes = Vec::new();
    if file.read_to_end(&mut bytes).is_err() {
        return Vec::new();
    }
    let text = String::from_utf8_lossy(&bytes);
    let problems: Vec<&str> = text
        .lines()
        .filter(|line| line.contains("[ERROR]") || line.contains("[WARN]"))
        .collect();
    problems[problems.len().saturating_sub(LOG_LINES)..]
        .iter()
        .map(|line| (*line).to_owned())
        .collect()
}

static EMAIL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[\w.%+-]+@[\w-]+(\.[\w-]+)+").expect("e-mail pattern"));
static HASH: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\$argon2\w*\$\S+").expect("hash pattern"));
/// Tokens: a long run of the characters of base64/base64url, hex and JWTs.
static TOKEN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[A-Za-z0-9_\-+/=.]{24,}").expect("token pattern"));
static UUID: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
        .expect("uuid pattern")
});
/// Card numbers (12 to 19 digits, spaced or not) and international phone numbers.
static NUMBER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\+\d[\d ()-]{6,}\d|\d(?:[ -]?\d){11,18}").expect("number pattern")
});
static WORD: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\w+").expect("word pattern"));

/// Scrubs free text of secrets and of the guests this mirror knows.
pub struct Scrubber {
    /// Every word (lowercase, three letters or more) of a guest's or a booking's name.
    names: HashSet<String>,
}

impl Scrubber {
    pub fn new(names: impl IntoIterator<Item = String>) -> Self {
        let names = names
            .into_iter()
            .flat_map(|name| {
                WORD.find_iter(&name)
                    .map(|word| word.as_str().to_lowercase())
                    .filter(|word| word.chars().count() >= 3)
                    .collect::<Vec<_>>()
            })
            .collect();
        Self { names }
    }

    /// The names of the mirror's guests and of its bookings' guests.
    pub fn for_mirror(conn: &Connection) -> AppResult<Self> {
        let mut statement = conn.prepare(
            "select coalesce(first_name, '') || ' ' || coalesce(last_name, '') || ' ' || coalesce(full_name, '')
               from guests
             union all
             select coalesce(guest_name, '') from reservations",
        )?;
        let names = statement
            .query_map([], |r| r.get::<_, String>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self::new(names))
    }

    pub fn scrub(&self, text: &str) -> String {
        let text = HASH.replace_all(text, "[hash]");
        let text = EMAIL.replace_all(&text, "[email]");
        let text = TOKEN.replace_all(&text, |found: &regex::Captures<'_>| {
            let found = &found[0];
            if UUID.is_match(found) {
                found.to_owned()
            } else {
                "[token]".to_owned()
            }
        });
        let text = NUMBER.replace_all(&text, "[number]");
        WORD.replace_all(&text, |found: &regex::Captures<'_>| {
            let word = &found[0];
            if self.names.contains(&word.to_lowercase()) {
                "[guest]".to_owned()
            } else {
                word.to_owned()
            }
        })
        .into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_address_is_reduced_to_its_host() {
        assert_eq!(
            host_of("https://desk:pw@pms.example.com:8443/api?x=1"),
            "pms.example.com:8443"
        );
        assert_eq!(host_of("http://127.0.0.1:3000"), "127.0.0.1:3000");
        assert_eq!(host_of("pms.example.com/"), "pms.example.com");
    }

    #[test]
    fn the_scrubber_drops_secrets_and_guests_and_keeps_the_rest() {
        let scrubber = Scrubber::new(["Marta Sousa".to_owned(), "Ng".to_owned()]);
        let line = "[2026-12-05][14:13:23][pms_desk::sync_task][ERROR] push of reservation \
                    0193a5c2-7d41-7c2b-9a10-3f5e2b1c4d5e for MARTA sousa (marta.sousa@example.com, \
                    +351 912 345 678) refused; card 4111 1111 1111 1111; token \
                    eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl; hash \
                    $argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA";
        let scrubbed = scrubber.scrub(line);
        assert_eq!(
            scrubbed,
            "[2026-12-05][14:13:23][pms_desk::sync_task][ERROR] push of reservation \
             0193a5c2-7d41-7c2b-9a10-3f5e2b1c4d5e for [guest] [guest] ([email], \
             [number]) refused; card [number]; token [token]; hash [hash]"
        );
    }
}
