//! `pms-server kv-import`: the legacy key-value store into the normalized tables.

pub mod decode;
pub mod ids;
pub mod keys;
pub mod map;
