//! The desk's own log: `desk.log` in the app's log folder (on Linux
//! `~/.local/share/<identifier>/logs`), rotated at 1 MB with the last five files kept, so a
//! laptop that runs for months never fills its disk; a development build also prints to stdout.
//! Everything the desk reports goes through the `log` crate into it (what used to be `eprintln!`),
//! and "Copy diagnostics" reads the recent errors back from it (see [`crate::diagnostics`]).

use tauri::plugin::TauriPlugin;
use tauri::Runtime;
use tauri_plugin_log::{RotationStrategy, Target, TargetKind};

/// The log file's name in the log folder, without `.log`.
pub const FILE_NAME: &str = "desk";
/// Size at which the file is rotated.
pub const MAX_BYTES: u128 = 1_000_000;
/// Rotated files kept besides the current one.
pub const KEEP: usize = 5;

/// The log plugin as the app installs it (it becomes the process's `log` logger).
pub fn plugin<R: Runtime>() -> TauriPlugin<R> {
    let mut targets = vec![Target::new(TargetKind::LogDir {
        file_name: Some(FILE_NAME.to_owned()),
    })];
    if cfg!(debug_assertions) {
        targets.push(Target::new(TargetKind::Stdout));
    }
    tauri_plugin_log::Builder::new()
        .clear_targets()
        .targets(targets)
        .level(log::LevelFilter::Info)
        .max_file_size(MAX_BYTES)
        .rotation_strategy(RotationStrategy::KeepSome(KEEP))
        .build()
}
