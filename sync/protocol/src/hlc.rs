//! Hybrid logical clocks: the stamps that order concurrent edits of one field group.
//!
//! A stamp is wall-clock milliseconds, a counter for events within (or behind) one millisecond,
//! and the node (device) that made it, which breaks the last ties so that any two stamps from
//! different devices are ordered. This module owns the stamp, its sortable text form, the two
//! clock rules (a local event, a received stamp), the server's cap on stamps from fast clocks,
//! and the [`Clock`] the rules read the time from. It does no I/O beyond reading the system time
//! in [`SystemClock`].

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A hybrid logical clock stamp, ordered by `wall_ms`, then `counter`, then `node`.
///
/// Held by a device as its clock state (the last stamp it issued or saw, with its own node), and
/// carried by every change. Serialized as its text form (see [`fmt::Display`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct Hlc {
    /// Milliseconds since the Unix epoch, `0..=`[`Hlc::MAX_WALL_MS`].
    pub wall_ms: i64,
    /// Events at the same `wall_ms`, counted from 0.
    pub counter: u32,
    /// The device that made the stamp.
    pub node: Uuid,
}

/// The node of the stamps the server gives its own writes (jobs, admin commands: migration
/// `20261208000100_server_writes_stamped.sql`): the nil uuid, below every device's, so a laptop's
/// edit of the same millisecond wins the tie.
pub const SERVER_NODE: Uuid = Uuid::nil();

/// On the wire a stamp is its text form: 15 digits of wall time (ms), '-', 10 digits of
/// counter, '-', the node's lower-case uuid.
#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Hlc {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some(r"^[0-9]{15}-[0-9]{10}-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"))
            .description(Some(
                "A hybrid logical clock stamp: wall time in ms (15 digits), counter (10 digits), node (uuid); sorts as text",
            ))
            .examples(["001764892800000-0000000000-0190a6c4-8d1e-7c3a-9f00-123456789abc"])
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Hlc {}

impl Hlc {
    /// The largest wall time the 15-digit text form holds (year 33658); larger times are held
    /// here, so the text form keeps sorting like the value.
    pub const MAX_WALL_MS: i64 = 999_999_999_999_999;

    /// The clock state of a device that has seen nothing yet: below every real stamp.
    pub fn start(node: Uuid) -> Hlc {
        Hlc {
            wall_ms: 0,
            counter: 0,
            node,
        }
    }

    /// A local event (a write to the mirror): returns a stamp greater than every stamp this
    /// clock issued or observed before, even when the wall clock went backwards.
    pub fn tick(&mut self, now_ms: i64) -> Hlc {
        let now_ms = clamp_wall(now_ms);
        if now_ms > self.wall_ms {
            self.wall_ms = now_ms;
            self.counter = 0;
        } else {
            // The wall clock has not moved (or went back): count within the last wall time.
            self.bump_counter();
        }
        *self
    }

    /// A received stamp (a pulled row, a server answer): afterwards this clock is past both its
    /// previous state and `remote`, so the next [`tick`](Hlc::tick) orders after what was seen.
    /// The node stays this clock's own.
    pub fn observe(&mut self, remote: Hlc, now_ms: i64) {
        let now_ms = clamp_wall(now_ms);
        let remote_wall_ms = clamp_wall(remote.wall_ms);
        let wall_ms = self.wall_ms.max(remote_wall_ms);
        if now_ms > wall_ms {
            // The wall clock is ahead of everything seen: it alone orders the next events.
            self.wall_ms = now_ms;
            self.counter = 0;
            return;
        }
        let counter = match (wall_ms == self.wall_ms, wall_ms == remote_wall_ms) {
            (true, true) => self.counter.max(remote.counter),
            (true, false) => self.counter,
            (false, _) => remote.counter,
        };
        self.wall_ms = wall_ms;
        self.counter = counter;
        self.bump_counter();
    }

    /// Parses the text form written by [`fmt::Display`]; only that exact (canonical) form is
    /// accepted, so that any two parseable texts sort like their values.
    pub fn parse(text: &str) -> Result<Hlc, HlcParseError> {
        text.parse()
    }

    /// One more event at the current wall time; a counter that is full moves to the next
    /// millisecond instead of wrapping, which keeps the clock monotonic.
    fn bump_counter(&mut self) {
        match self.counter.checked_add(1) {
            Some(counter) => self.counter = counter,
            None => {
                self.wall_ms = clamp_wall(self.wall_ms.saturating_add(1));
                self.counter = 0;
            }
        }
    }
}

/// Keeps a wall time inside the range the text form can sort.
fn clamp_wall(wall_ms: i64) -> i64 {
    wall_ms.clamp(0, Hlc::MAX_WALL_MS)
}

/// The server's guard against fast clocks: a stamp more than `max_skew_ms` ahead of the server's
/// own time is lowered to `server_now_ms + max_skew_ms` (counter and node kept). Applied to every
/// incoming stamp before it is compared or stored, so a laptop whose clock runs a day ahead
/// neither wins every conflict nor, through the stamps others pull, drags their clocks forward.
pub fn cap(stamp: Hlc, server_now_ms: i64, max_skew_ms: i64) -> Hlc {
    let limit = clamp_wall(server_now_ms.saturating_add(max_skew_ms.max(0)));
    if stamp.wall_ms > limit {
        Hlc {
            wall_ms: limit,
            ..stamp
        }
    } else {
        stamp
    }
}

/// `"{wall_ms:015}-{counter:010}-{node}"`: fixed-width, zero-padded fields and a lower-case
/// hyphenated UUID, so comparing two texts byte by byte orders them like the stamps (useful for
/// SQLite and Postgres columns and indexes that store the text).
impl fmt::Display for Hlc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:015}-{:010}-{}",
            self.wall_ms,
            self.counter,
            self.node.hyphenated()
        )
    }
}

/// Why a text is not a stamp.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HlcParseError {
    text: String,
}

impl fmt::Display for HlcParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "not a clock stamp (want 15 digits, '-', 10 digits, '-', a lower-case uuid): {:?}",
            self.text
        )
    }
}

impl std::error::Error for HlcParseError {}

impl FromStr for Hlc {
    type Err = HlcParseError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let error = || HlcParseError {
            text: text.to_owned(),
        };
        let (wall, rest) = text.split_at_checked(15).ok_or_else(error)?;
        let rest = rest.strip_prefix('-').ok_or_else(error)?;
        let (counter, rest) = rest.split_at_checked(10).ok_or_else(error)?;
        let node = rest.strip_prefix('-').ok_or_else(error)?;
        let stamp = Hlc {
            wall_ms: digits(wall).ok_or_else(error)?,
            counter: digits(counter)
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(error)?,
            node: Uuid::try_parse(node).map_err(|_| error())?,
        };
        // Uuid also reads upper-case, braced and simple forms; only the canonical text sorts
        // like the value, so anything else is refused.
        if stamp.to_string() == text {
            Ok(stamp)
        } else {
            Err(error())
        }
    }
}

/// A run of ASCII digits as a number (`str::parse` alone would also take a sign).
fn digits(text: &str) -> Option<i64> {
    if text.bytes().all(|b| b.is_ascii_digit()) {
        text.parse().ok()
    } else {
        None
    }
}

impl From<Hlc> for String {
    fn from(stamp: Hlc) -> String {
        stamp.to_string()
    }
}

impl TryFrom<String> for Hlc {
    type Error = HlcParseError;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse()
    }
}

/// Where the clock rules read the time from: the system clock in the apps, a [`FakeClock`] in
/// tests.
pub trait Clock {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> i64;
}

/// The machine's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        // A clock set before 1970 reads as 0; `tick` still moves forward by counting.
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| {
                i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX)
            })
    }
}

/// A clock that reads what a test set, and can be moved both ways (shareable across threads).
#[derive(Debug, Default)]
pub struct FakeClock {
    now_ms: AtomicI64,
}

impl FakeClock {
    /// A clock reading `now_ms`.
    pub fn new(now_ms: i64) -> FakeClock {
        FakeClock {
            now_ms: AtomicI64::new(now_ms),
        }
    }

    /// Sets the time, forwards or backwards.
    pub fn set(&self, now_ms: i64) {
        self.now_ms.store(now_ms, Ordering::SeqCst);
    }

    /// Moves the time by `delta_ms` (negative goes back).
    pub fn advance(&self, delta_ms: i64) {
        self.now_ms.fetch_add(delta_ms, Ordering::SeqCst);
    }
}

impl Clock for FakeClock {
    fn now_ms(&self) -> i64 {
        self.now_ms.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rstest::rstest;

    const DAY_MS: i64 = 86_400_000;
    /// 2026-01-01T00:00:00Z.
    const NOW: i64 = 1_767_225_600_000;

    fn node(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    fn hlc(wall_ms: i64, counter: u32, n: u128) -> Hlc {
        Hlc {
            wall_ms,
            counter,
            node: node(n),
        }
    }

    #[rstest]
    #[case::wall_time_first(hlc(2, 0, 0), hlc(1, 9, 9))]
    #[case::counter_before_node(hlc(1, 2, 0), hlc(1, 1, 9))]
    #[case::node_breaks_a_tie(hlc(1, 1, 2), hlc(1, 1, 1))]
    fn stamps_order_by_wall_then_counter_then_node(#[case] greater: Hlc, #[case] less: Hlc) {
        assert!(greater > less);
        // The text form sorts the same way, byte by byte.
        assert!(greater.to_string() > less.to_string());
    }

    #[rstest]
    #[case::wall_clock_moved_on(hlc(100, 7, 1), 200, hlc(200, 0, 1))]
    #[case::same_millisecond_counts(hlc(100, 7, 1), 100, hlc(100, 8, 1))]
    #[case::wall_clock_went_back(hlc(100, 7, 1), 40, hlc(100, 8, 1))]
    #[case::full_counter_moves_to_next_ms(hlc(100, u32::MAX, 1), 100, hlc(101, 0, 1))]
    #[case::clock_before_1970_still_counts(hlc(0, 0, 1), -5, hlc(0, 1, 1))]
    fn tick(#[case] mut clock: Hlc, #[case] now_ms: i64, #[case] expected: Hlc) {
        let stamp = clock.tick(now_ms);
        assert_eq!(stamp, expected);
        assert_eq!(clock, expected, "the clock keeps the stamp it issued");
    }

    #[test]
    fn tick_is_monotonic_while_the_clock_goes_back_and_forth() {
        let time = FakeClock::new(NOW);
        let mut clock = Hlc::start(node(1));
        let mut last = clock.tick(time.now_ms());
        for delta in [0, -1, -60_000, 5, -DAY_MS, 0, DAY_MS + 10, -3] {
            time.advance(delta);
            let stamp = clock.tick(time.now_ms());
            assert!(stamp > last, "{stamp} after {last} (delta {delta})");
            last = stamp;
        }
    }

    #[rstest]
    #[case::remote_ahead(hlc(100, 3, 1), hlc(500, 7, 2), 50, hlc(500, 8, 1))]
    #[case::local_ahead(hlc(500, 3, 1), hlc(100, 7, 2), 50, hlc(500, 4, 1))]
    #[case::same_wall_takes_max_counter(hlc(500, 3, 1), hlc(500, 7, 2), 50, hlc(500, 8, 1))]
    #[case::wall_clock_ahead_of_both(hlc(100, 3, 1), hlc(200, 7, 2), 900, hlc(900, 0, 1))]
    fn observe_takes_the_max(
        #[case] mut clock: Hlc,
        #[case] remote: Hlc,
        #[case] now_ms: i64,
        #[case] expected: Hlc,
    ) {
        let before = clock;
        clock.observe(remote, now_ms);
        assert_eq!(clock, expected);
        assert!(clock.node == before.node, "the node stays this clock's own");
        // Whatever comes next orders after both what this clock had and what it saw.
        let next = clock.tick(now_ms);
        assert!(next > remote && next > before);
    }

    #[rstest]
    #[case::day_ahead_is_lowered(hlc(NOW + DAY_MS, 4, 7), hlc(NOW + 5_000, 4, 7))]
    #[case::just_past_the_bound_is_lowered(hlc(NOW + 5_001, 0, 7), hlc(NOW + 5_000, 0, 7))]
    #[case::at_the_bound_is_kept(hlc(NOW + 5_000, 2, 7), hlc(NOW + 5_000, 2, 7))]
    #[case::slightly_ahead_is_kept(hlc(NOW + 1_200, 2, 7), hlc(NOW + 1_200, 2, 7))]
    #[case::behind_is_kept(hlc(NOW - DAY_MS, 2, 7), hlc(NOW - DAY_MS, 2, 7))]
    fn cap_limits_stamps_from_fast_clocks(#[case] stamp: Hlc, #[case] expected: Hlc) {
        assert_eq!(cap(stamp, NOW, 5_000), expected);
    }

    #[test]
    fn a_capped_stamp_does_not_drag_other_clocks_forward() {
        let fast = hlc(NOW + DAY_MS, 0, 9);
        let mut other = Hlc::start(node(1));
        other.observe(cap(fast, NOW, 5_000), NOW);
        assert!(other.wall_ms <= NOW + 5_000);
    }

    #[test]
    fn text_form_is_fixed_width() {
        let stamp = hlc(NOW, 42, 0xab);
        let text = stamp.to_string();
        assert_eq!(
            text,
            "001767225600000-0000000042-00000000-0000-0000-0000-0000000000ab"
        );
        assert_eq!(Hlc::parse(&text), Ok(stamp));
    }

    #[rstest]
    #[case::empty("")]
    #[case::short_wall("01767225600000-0000000042-00000000-0000-0000-0000-0000000000ab")]
    #[case::signed_wall("+01767225600000-0000000042-00000000-0000-0000-0000-0000000000ab")]
    #[case::counter_too_big("001767225600000-4294967296-00000000-0000-0000-0000-0000000000ab")]
    #[case::upper_case_node("001767225600000-0000000042-00000000-0000-0000-0000-0000000000AB")]
    #[case::simple_node("001767225600000-0000000042-000000000000000000000000000000ab")]
    #[case::trailing_text("001767225600000-0000000042-00000000-0000-0000-0000-0000000000ab ")]
    #[case::multibyte("00176722560000é-0000000042-00000000-0000-0000-0000-0000000000ab")]
    fn parse_refuses_anything_but_the_canonical_form(#[case] text: &str) {
        assert!(Hlc::parse(text).is_err(), "{text:?}");
    }

    #[test]
    fn serde_uses_the_text_form() {
        let stamp = hlc(NOW, 1, 2);
        let json = serde_json::to_value(stamp).expect("serialize");
        assert_eq!(json, serde_json::Value::String(stamp.to_string()));
        let back: Hlc = serde_json::from_value(json).expect("deserialize");
        assert_eq!(back, stamp);
        assert!(serde_json::from_str::<Hlc>("\"yesterday\"").is_err());
    }

    #[test]
    fn system_clock_reads_a_plausible_time() {
        assert!(SystemClock.now_ms() > NOW - 365 * DAY_MS);
    }

    fn any_hlc() -> impl Strategy<Value = Hlc> {
        (0..=Hlc::MAX_WALL_MS, any::<u32>(), any::<u128>()).prop_map(|(w, c, n)| hlc(w, c, n))
    }

    proptest! {
        #[test]
        fn text_form_sorts_like_the_value(a in any_hlc(), b in any_hlc()) {
            prop_assert_eq!(a.cmp(&b), a.to_string().cmp(&b.to_string()));
            prop_assert_eq!(Hlc::parse(&a.to_string()), Ok(a));
        }
    }
}
