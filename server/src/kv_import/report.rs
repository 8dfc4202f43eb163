//! What a run did, printed for a person and written as JSON: per key prefix, records seen,
//! imported (inserted, updated, unchanged), quarantined, left in the store and unknown; the
//! repairs made; bookings left without a room; ledger balances recomputed; the verification.
//!
//! Every record is accounted for: imported + quarantined + left + unknown = total.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use super::keys::{disposition, Disposition, Entity};

/// How many examples (quarantined keys, bookings to reassign…) the report lists; the counts are
/// always complete and the quarantine table has every record.
pub const EXAMPLES: usize = 200;

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub source: String,
    pub target: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub import_seconds: f64,
    /// Records of the store per second of import (the verification not included).
    pub records_per_second: f64,
    /// Peak resident memory of the importing process (VmHWM), where the platform tells.
    pub peak_memory_kib: Option<u64>,
    pub prefixes: Vec<PrefixReport>,
    pub totals: Totals,
    /// imported + quarantined + left + unknown = total
    pub accounted: bool,
    pub quarantined: Vec<Quarantined>,
    pub rooms_to_reassign: Vec<Reassign>,
    pub rooms_to_reassign_count: u64,
    pub bookings_without_guest: Vec<String>,
    pub bookings_without_guest_count: u64,
    pub confirmation_numbers: Vec<TenantNumbers>,
    pub ledger: LedgerReport,
    pub verification: Option<Verification>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct PrefixReport {
    pub prefix: String,
    /// mapped, left (documented, no table yet) or unknown
    pub disposition: &'static str,
    pub table: Option<&'static str>,
    pub seen: u64,
    pub imported: u64,
    pub inserted: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub quarantined: u64,
    pub left: u64,
    pub unknown: u64,
    /// repairs made while reading (double-encoded values, numeric strings, other date formats…)
    pub notes: BTreeMap<String, u64>,
    /// time spent importing this prefix
    pub seconds: f64,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Totals {
    pub total: u64,
    pub imported: u64,
    pub inserted: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub quarantined: u64,
    pub left: u64,
    pub unknown: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Quarantined {
    pub key: String,
    pub reason: String,
}

/// An active booking imported without its room: another active stay holds that room.
#[derive(Debug, Clone, Serialize)]
pub struct Reassign {
    pub key: String,
    pub room: String,
    pub check_in: NaiveDate,
    pub check_out: NaiveDate,
}

/// Confirmation numbers given to this run's new bookings, per tenant.
#[derive(Debug, Clone, Serialize)]
pub struct TenantNumbers {
    pub tenant: String,
    pub first: i64,
    pub last: i64,
    pub count: u64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct LedgerReport {
    /// Entries written by this run whose legacy balanceBefore/balanceAfter differ from the
    /// running balance the ledger gives.
    pub entries_recomputed: u64,
    /// Sum over those entries of |legacy balanceAfter − recomputed balance after|.
    pub points_difference: u64,
    pub examples: Vec<LedgerDifference>,
    /// Members whose legacy availablePoints differ from their ledger (from the verification).
    pub members_recomputed: u64,
    pub member_points_difference: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct LedgerDifference {
    pub key: String,
    pub legacy_before: Option<i64>,
    pub legacy_after: Option<i64>,
    pub before: i64,
    pub after: i64,
}

/// The verification pass: the store mapped again and compared with the tables.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Verification {
    pub seconds: f64,
    pub tables: Vec<TableCheck>,
    pub ok: bool,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct TableCheck {
    pub prefix: String,
    pub table: String,
    /// Records of the store that map to a row (quarantined ones excluded).
    pub store: u64,
    /// Of those, rows found in the table.
    pub found: u64,
    /// Of those, rows whose imported columns equal the mapped record.
    pub equal: u64,
    /// Records whose row differs or is gone because the desk wrote it after its tenant entered
    /// dual_write or was cut over (written by a laptop or a job; in the change feed since):
    /// not differences of the import. Left out of the JSON when none.
    #[serde(skip_serializing_if = "is_zero")]
    pub changed_since_cut_over: u64,
    /// SHA-256 over the imported columns, in key order, as the store gives them and as the
    /// table holds them.
    pub store_checksum: String,
    pub table_checksum: String,
    pub mismatches: Vec<String>,
}

impl TableCheck {
    /// Every record maps to a row equal to it or one the desk changed since the cut-over.
    pub fn holds(&self) -> bool {
        self.equal + self.changed_since_cut_over == self.store
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Counters of one prefix while a run is under way.
#[derive(Debug, Clone, Default)]
pub struct Counts {
    pub seen: u64,
    pub inserted: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub quarantined: u64,
    pub notes: BTreeMap<String, u64>,
    pub seconds: f64,
}

impl Counts {
    pub fn note(&mut self, note: &str) {
        *self.notes.entry(note.to_owned()).or_default() += 1;
    }
}

/// Builds the per-prefix lines and the totals from the store's census and the run's counters.
pub fn prefix_lines(
    census: &[(String, i64)],
    counts: &BTreeMap<Entity, Counts>,
) -> (Vec<PrefixReport>, Totals) {
    let mut lines = Vec::new();
    let mut totals = Totals::default();
    for (prefix, count) in census {
        let count = u64::try_from(*count).unwrap_or(0);
        totals.total += count;
        let mut line = PrefixReport {
            prefix: prefix.clone(),
            ..Default::default()
        };
        match disposition(prefix) {
            Disposition::Mapped(entity) => {
                let c = counts.get(&entity).cloned().unwrap_or_default();
                line.disposition = "mapped";
                line.table = Some(entity.table());
                line.seen = c.seen;
                line.inserted = c.inserted;
                line.updated = c.updated;
                line.unchanged = c.unchanged;
                line.imported = c.inserted + c.updated + c.unchanged;
                line.quarantined = c.quarantined;
                line.notes = c.notes;
                line.seconds = c.seconds;
            }
            Disposition::Left => {
                line.disposition = "left";
                line.seen = count;
                line.left = count;
            }
            Disposition::Unknown => {
                line.disposition = "unknown";
                line.seen = count;
                line.unknown = count;
            }
        }
        totals.imported += line.imported;
        totals.inserted += line.inserted;
        totals.updated += line.updated;
        totals.unchanged += line.unchanged;
        totals.quarantined += line.quarantined;
        totals.left += line.left;
        totals.unknown += line.unknown;
        lines.push(line);
    }
    (lines, totals)
}

impl Totals {
    pub fn accounted(&self) -> bool {
        self.imported + self.quarantined + self.left + self.unknown == self.total
    }
}

/// Peak resident memory of this process in KiB (`VmHWM` of /proc/self/status), on Linux.
pub fn peak_memory_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "kv-import from {} into {}", self.source, self.target)?;
        writeln!(
            f,
            "{:<20} {:<24} {:>8} {:>8} {:>8} {:>8} {:>9} {:>11} {:>6} {:>7}",
            "prefix",
            "table",
            "seen",
            "imported",
            "inserted",
            "updated",
            "unchanged",
            "quarantined",
            "left",
            "unknown"
        )?;
        for line in &self.prefixes {
            writeln!(
                f,
                "{:<20} {:<24} {:>8} {:>8} {:>8} {:>8} {:>9} {:>11} {:>6} {:>7}",
                line.prefix,
                line.table.unwrap_or(match line.disposition {
                    "left" => "(left in the store)",
                    _ => "(unknown prefix)",
                }),
                line.seen,
                line.imported,
                line.inserted,
                line.updated,
                line.unchanged,
                line.quarantined,
                line.left,
                line.unknown
            )?;
        }
        let t = &self.totals;
        writeln!(
            f,
            "{:<20} {:<24} {:>8} {:>8} {:>8} {:>8} {:>9} {:>11} {:>6} {:>7}",
            "total",
            "",
            t.total,
            t.imported,
            t.inserted,
            t.updated,
            t.unchanged,
            t.quarantined,
            t.left,
            t.unknown
        )?;
        writeln!(
            f,
            "accounted for: {} (imported {} + quarantined {} + left {} + unknown {} = {} of {})",
            if self.accounted { "yes" } else { "NO" },
            t.imported,
            t.quarantined,
            t.left,
            t.unknown,
            t.imported + t.quarantined + t.left + t.unknown,
            t.total
        )?;
        let mut repairs = String::new();
        for line in &self.prefixes {
            for (note, count) in &line.notes {
                let _ = writeln!(repairs, "  {:<20} {count:>6}  {note}", line.prefix);
            }
        }
        if !repairs.is_empty() {
            write!(f, "repairs and remarks:\n{repairs}")?;
        }
        if !self.quarantined.is_empty() {
            writeln!(f, "quarantined (kv_import.import_quarantine):")?;
            for q in &self.quarantined {
                writeln!(f, "  {}: {}", q.key, q.reason)?;
            }
        }
        if self.rooms_to_reassign_count > 0 {
            writeln!(
                f,
                "bookings imported without their room (another active stay holds it; reassign them): {}",
                self.rooms_to_reassign_count
            )?;
            for r in &self.rooms_to_reassign {
                writeln!(
                    f,
                    "  {} room {} {} → {}",
                    r.key, r.room, r.check_in, r.check_out
                )?;
            }
        }
        if self.bookings_without_guest_count > 0 {
            writeln!(
                f,
                "bookings whose guest is gone (imported without the link, booked name kept): {}",
                self.bookings_without_guest_count
            )?;
            for key in &self.bookings_without_guest {
                writeln!(f, "  {key}")?;
            }
        }
        for n in &self.confirmation_numbers {
            writeln!(
                f,
                "confirmation numbers for {}: {}..{} ({} new bookings, in creation order)",
                n.tenant, n.first, n.last, n.count
            )?;
        }
        let l = &self.ledger;
        if l.entries_recomputed > 0 || l.members_recomputed > 0 {
            writeln!(
                f,
                "loyalty balances recomputed from the ledger: {} entries (|Δ| {} points), {} members (|Δ| {} points)",
                l.entries_recomputed, l.points_difference, l.members_recomputed, l.member_points_difference
            )?;
            let shown = |n: Option<i64>| n.map_or("?".to_owned(), |n| n.to_string());
            for d in &l.examples {
                writeln!(
                    f,
                    "  {}: legacy balance {} → {}, ledger {} → {}",
                    d.key,
                    shown(d.legacy_before),
                    shown(d.legacy_after),
                    d.before,
                    d.after
                )?;
            }
        }
        if let Some(v) = &self.verification {
            writeln!(
                f,
                "verification ({:.1} s): {}",
                v.seconds,
                if v.ok {
                    "every imported record matches its row"
                } else {
                    "DIFFERENCES"
                }
            )?;
            for c in &v.tables {
                writeln!(
                    f,
                    "  {:<20} {:<24} store {:>7} found {:>7} equal {:>7} checksum {} {} {}",
                    c.prefix,
                    c.table,
                    c.store,
                    c.found,
                    c.equal,
                    &c.store_checksum[..12.min(c.store_checksum.len())],
                    if c.store_checksum == c.table_checksum {
                        "="
                    } else {
                        "≠"
                    },
                    &c.table_checksum[..12.min(c.table_checksum.len())]
                )?;
                if c.changed_since_cut_over > 0 {
                    writeln!(
                        f,
                        "    {} changed since cut-over (by the desk, after dual_write began)",
                        c.changed_since_cut_over
                    )?;
                }
                for m in &c.mismatches {
                    writeln!(f, "    {m}")?;
                }
            }
        }
        write!(
            f,
            "{} records in {:.1} s: {:.0} records/s",
            self.totals.total, self.import_seconds, self.records_per_second
        )?;
        if let Some(kib) = self.peak_memory_kib {
            write!(f, ", peak memory {:.1} MiB", kib as f64 / 1024.0)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_record_is_accounted_for() {
        let census = vec![
            ("guest".to_owned(), 10),
            ("usage".to_owned(), 3),
            ("legacy_thing".to_owned(), 1),
        ];
        let mut counts = BTreeMap::new();
        counts.insert(
            Entity::Guest,
            Counts {
                seen: 10,
                inserted: 7,
                updated: 1,
                unchanged: 1,
                quarantined: 1,
                notes: BTreeMap::new(),
                seconds: 0.0,
            },
        );
        let (lines, totals) = prefix_lines(&census, &counts);
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[1].disposition, "left");
        assert_eq!(lines[2].disposition, "unknown");
        assert_eq!(totals.imported, 9);
        assert!(totals.accounted());
        if let Some(c) = counts.get_mut(&Entity::Guest) {
            c.quarantined = 0;
        }
        assert!(!prefix_lines(&census, &counts).1.accounted());
    }

    #[test]
    fn peak_memory_is_read_on_linux() {
        if cfg!(target_os = "linux") {
            assert!(peak_memory_kib().is_some_and(|kib| kib > 0));
        }
    }
}
