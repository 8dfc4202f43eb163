//! The central side of the PMS: the multi-tenant Postgres schema and the `pms-server` commands
//! that administer it.
//!
//! # Layout
//! - [`config`]: environment variables (`PMS_ADMIN_DATABASE_URL`, `DATABASE_URL`, `PMS_APP_ROLE`,
//!   `PMS_APP_PASSWORD`), validated with messages that say what to do.
//! - [`db`]: connecting with either identity, applying the migrations in `migrations/postgres/`,
//!   and creating the unprivileged login role that `serve` uses.
//! - [`seed`]: `seed-demo`, deterministic demo data across every table.
//! - [`admin`]: provisioning tenants and staff (`tenant create`, `staff add`).
//! - [`kv_import`]: `kv-import`, the legacy key-value store into the tables (and dual-write).
//! - [`serve`]: the sync server (HTTP): sign-in, tokens, per-request RLS transactions.
//! - [`openapi`]: the HTTP API's OpenAPI document, derived from the server's own types.
//! - [`jobs`]: `worker`, the background jobs (webhook delivery, data retention).
//! - [`error`]: the crate's error type.
//!
//! Two database identities: migrations and admin commands connect as the owner
//! (`PMS_ADMIN_DATABASE_URL`); `serve` connects as a login role that owns nothing, cannot bypass
//! Row Level Security and only becomes `authenticated` per request.

pub mod admin;
pub mod config;
pub mod db;
pub mod error;
pub mod jobs;
pub mod kv_import;
pub mod openapi;
pub mod seed;
pub mod serve;

pub use error::{Error, Result};
