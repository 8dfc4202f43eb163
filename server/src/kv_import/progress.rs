//! How far a run is, per prefix: records done of the prefix's total, rate and time left. On a
//! terminal, a bar per prefix (`indicatif`, on standard error); otherwise a log line per prefix
//! every [`LOG_EVERY`] (`--progress-every`) and when it ends. The report is not touched.

use std::collections::HashMap;
use std::io::IsTerminal as _;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::keys::Entity;

/// How often a prefix under way is logged when standard error is not a terminal (by default).
pub const LOG_EVERY: Duration = Duration::from_secs(10);

/// Where the progress goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Display {
    /// Bars on standard error.
    Bars,
    /// `tracing` lines (nothing where no subscriber listens, as in the library's tests).
    Log,
}

impl Display {
    /// Bars when standard error is a terminal, log lines otherwise.
    pub fn detect() -> Self {
        if std::io::stderr().is_terminal() {
            Display::Bars
        } else {
            Display::Log
        }
    }
}

/// The progress of one run, shared by its writers.
pub struct Progress {
    display: Display,
    log_every: Duration,
    bars: MultiProgress,
    totals: HashMap<Entity, u64>,
    prefixes: Mutex<HashMap<Entity, Prefix>>,
}

struct Prefix {
    done: u64,
    started: Instant,
    logged: Instant,
    bar: Option<ProgressBar>,
}

impl Progress {
    /// `totals`: records of each prefix in the run (the census); `log_every`: how often a
    /// prefix under way is logged (log lines only).
    pub fn new(display: Display, log_every: Duration, totals: HashMap<Entity, u64>) -> Self {
        let bars = MultiProgress::with_draw_target(match display {
            Display::Bars => ProgressDrawTarget::stderr(),
            Display::Log => ProgressDrawTarget::hidden(),
        });
        Self {
            display,
            log_every,
            bars,
            totals,
            prefixes: Mutex::new(HashMap::new()),
        }
    }

    /// `records` more of `entity` are done (written or quarantined).
    pub fn advance(&self, entity: Entity, records: u64) {
        let total = self.totals.get(&entity).copied().unwrap_or(0);
        let Ok(mut prefixes) = self.prefixes.lock() else {
            return;
        };
        let now = Instant::now();
        let prefix = prefixes.entry(entity).or_insert_with(|| Prefix {
            done: 0,
            started: now,
            logged: now,
            bar: (self.display == Display::Bars).then(|| self.bar(entity, total)),
        });
        prefix.done += records;
        if let Some(bar) = &prefix.bar {
            bar.inc(records);
        } else if now.duration_since(prefix.logged) >= self.log_every {
            prefix.logged = now;
            log(entity, prefix, total, false);
        }
    }

    /// `entity` is done.
    pub fn finish(&self, entity: Entity) {
        let total = self.totals.get(&entity).copied().unwrap_or(0);
        let Ok(mut prefixes) = self.prefixes.lock() else {
            return;
        };
        if let Some(prefix) = prefixes.get_mut(&entity) {
            match &prefix.bar {
                Some(bar) => bar.finish(),
                None => log(entity, prefix, total, true),
            }
        }
    }

    fn bar(&self, entity: Entity, total: u64) -> ProgressBar {
        let bar = self.bars.add(ProgressBar::new(total));
        if let Ok(style) = ProgressStyle::with_template(
            "{prefix:>18} [{bar:30}] {pos}/{len} {per_sec:>12} ETA {eta}",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_prefix(entity.prefix());
        bar
    }
}

fn log(entity: Entity, prefix: &Prefix, total: u64, finished: bool) {
    let seconds = prefix.started.elapsed().as_secs_f64().max(1e-9);
    let rate = prefix.done as f64 / seconds;
    let left = total.saturating_sub(prefix.done);
    let eta_seconds = if rate > 0.0 { left as f64 / rate } else { 0.0 };
    tracing::info!(
        prefix = entity.prefix(),
        done = prefix.done,
        total,
        records_per_second = rate.round(),
        eta_seconds = eta_seconds.round(),
        finished,
        "progress"
    );
}
