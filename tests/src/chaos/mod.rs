//! The fault campaign (issue 20, first slice): seeded schedules of front-desk operations and
//! faults on several laptops against the real server and Postgres, a history of what each
//! laptop was told, and a checker of that history against the final databases.
//!
//! - [`schedule`]: which laptop does what at each step, from the seed;
//! - [`operations`]: the desk operations themselves, through the client library;
//! - [`history`]: the record of operations, syncs and faults (JSON lines);
//! - [`checker`]: the properties, as pure functions of the history and the final state;
//! - [`runner`]: the laptops, proxies and server, playing a schedule and reading the end state.

pub mod checker;
pub mod history;
pub mod operations;
pub mod runner;
pub mod schedule;
