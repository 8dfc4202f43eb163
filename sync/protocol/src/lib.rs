//! The sync protocol shared by the server (`pms-server serve`) and the laptop's client.
//!
//! - [`tables`]: the explicit list of tables a laptop mirrors and, per table, the columns that
//!   travel. Anything not listed (password hashes, webhook secrets and deliveries, devices,
//!   other tenants named by a flag) never leaves the server.
//! - [`wire`]: request and response bodies, versioned by [`PROTOCOL_VERSION`].
//! - [`hlc`]: the hybrid logical clock stamps that order concurrent edits.
//! - [`merge`]: the pure merge and conflict decisions on a pushed change.
//! - [`flags`]: the one evaluation of feature flags (server and app agree).
//! - [`derived`]: the deterministic ids of entries derived from an event.
//! - [`card`]: the card-number (Luhn) check of free text that must never hold one.
//! - [`money`]: minor units per currency (ISO 4217) and the arithmetic of taxes.

pub mod card;
pub mod derived;
pub mod flags;
pub mod hlc;
pub mod merge;
pub mod money;
pub mod tables;
pub mod wire;

/// The protocol version this build speaks; carried by every sync request.
pub const PROTOCOL_VERSION: u32 = 1;
