//! The laptop side of sync.
//!
//! # Layout
//! - [`mirror`]: the local SQLite database (WAL): its migrations (`migrations/sqlite/`), and
//!   reading and writing rows as the JSON the server speaks.
//! - [`outbox`]: the one way to write locally: the row and its outbox entry in one transaction.
//! - [`remote`]: the sync server over HTTP.
//! - [`session_file`]: the headless client's session between runs (never in the SQLite file).
//! - [`booking`]: booking a room and listing bookings from the command line.
//! - [`conflicts`]: the inbox of refused changes and how a person resolves them.
//! - [`engine`]: one round of sync: push the outbox, pull the feed, rebase what is still pending.
//! - [`folio`]: a stay's folios; charges, taxes, payments, refunds, voids and moves as ledger
//!   entries; balances derived from them.
//! - [`business_day`]: a property's day in its time zone, and its open business date.
//! - [`pricing`]: rate plans and the price each night of a stay was booked at.
//! - [`night_audit`]: closing a business date: room charges and taxes, no-shows, the day's figures.
//! - [`guest_invoice`]: the hotel's invoices to its guests, numbered per laptop series.
//! - [`guest_invoice_pdf`]: a guest invoice or credit note rendered as a PDF (plain data in, bytes
//!   out).
//! - [`reports`]: the owner's figures (occupancy, ADR, RevPAR, revenue) and CSV exports.
//! - [`paperwork`]: what a desk prints (arrivals, departures, in house with balances,
//!   housekeeping, registration cards, the outage pack) read from the mirror.
//! - [`paperwork_pdf`]: that paperwork laid out as a PDF on A4 or Letter.
//! - [`registration`]: what check-in captures for the registration card (date of birth,
//!   nationality, identity document) and how long documents are kept.
//! - [`preferences`]: a guest's preferences, checked by the server's rules before they are written.
//! - [`communications`]: a call, an e-mail or a note logged by hand on a guest.
//! - [`history`]: a booking's history, each line with the colleague who did it.
//! - [`loyalty`]: the balance the desk sees (server plus pending) and redemptions within it.
//! - [`loyalty_programs`]: programs, their rules and tiers, as owners and managers set them.
//! - [`error`]: the crate's error type.
//!
//! The `pms-client` binary (`src/main.rs`) drives all of it from the command line.

pub mod booking;
pub mod business_day;
pub mod communications;
pub mod conflicts;
pub mod engine;
pub mod error;
pub mod folio;
pub mod guest_invoice;
pub mod guest_invoice_pdf;
pub mod history;
pub mod loyalty;
pub mod loyalty_programs;
pub mod mirror;
pub mod night_audit;
pub mod outbox;
pub mod paperwork;
pub mod paperwork_pdf;
pub mod preferences;
pub mod pricing;
pub mod registration;
pub mod remote;
pub mod reports;
pub mod session_file;
pub mod sole_writer;

pub use error::{Error, Result};
