//! `pms-server kv-import`: the old admin panel's key-value store (`kv_store_0bdba248`) into the
//! normalized tables, without losing a record.
//!
//! # Layout
//! - [`source`] reads the store in key-ordered pages (keyset pagination), in this database or
//!   another (`--source-url`).
//! - [`keys`] says which prefix goes to which table, in what order, and what a key carries.
//! - [`decode`] reads values with their dirt: double-encoded JSON, numbers as strings, dates in
//!   other formats (where unambiguous), epoch timestamps.
//! - [`map`] holds one pure mapper per key prefix: legacy record → row, references, repairs.
//! - [`ids`] gives stable UUIDv5 ids from (tenant's legacy id, kind, legacy id).
//! - [`resolve`] completes rows with what the tables know (tenant ids, referenced rows).
//! - [`write`](mod@write) writes batches (upsert, numbered, append-only), falls back row by row, keeps
//!   the quarantine; [`write::stays`] places bookings in the property's room types and rooms.
//! - [`verify`] maps the store again and compares it with the tables (counts and checksums).
//! - [`progress`] shows how far a run is (bars on a terminal, log lines otherwise);
//!   [`report`] is the printed and JSON report; [`load`] loads a JSON-lines dump into the
//!   store; [`dual_write`] switches the write-back triggers.
//! - [`scope`] says which records a run for chosen tenants takes (`--tenant`); [`states`] keeps
//!   where each tenant stands (legacy → imported → dual_write → cut_over); [`import_tenants`]
//!   runs an import for them; [`retire`] checks, archives and drops the store.
//!
//! # How a run goes
//! Prefixes are imported in dependency order, each in batches of one transaction: read a page,
//! map it, resolve references, write, quarantine what failed, commit. The first stage
//! ([`keys::FIRST_STAGE`]: plans, tenants, billing, platform rows, guests, programs, campaigns)
//! runs in order; the second ([`keys::SECOND_STAGE`]) in two lanes side by side, which write
//! different tables. Reservations, loyalty members and ledger entries are queued
//! (`kv_import.queue`) with their creation time (read by [`map::queue_order`], without mapping
//! them) and value while the first stage runs, then mapped and written in
//! creation order, so that confirmation and membership numbers follow it and every ledger entry
//! meets its member's balance as it was. Everything is keyed by stable ids and written only where
//! it differs, so a second run changes nothing, and a run that was killed resumes by simply
//! running again: committed batches are found as they were left.
//!
//! The run holds an advisory lock (one import per database) and its transactions set
//! `pms.kv_import`, which the dual-write triggers read to leave the import's own writes alone.

pub mod cli;
pub mod decode;
pub mod dual_write;
pub mod ids;
pub mod keys;
pub mod load;
pub mod map;
pub mod progress;
pub mod report;
pub mod resolve;
pub mod retire;
pub mod scope;
pub mod source;
pub mod states;
pub mod verify;
pub mod write;

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use chrono::{DateTime, Utc};
use sqlx::{Connection, PgPool};

use crate::error::{Error, RedactedUrl, Result};
use keys::Entity;
use map::{map_record, MapOptions, Mapped};
use report::{Counts, LedgerReport, Quarantined, Reassign, Report, EXAMPLES};
use source::{Record, Source};
use write::{Outcome, Pending};

/// Entities written in creation order through the queue.
fn queued_entity(entity: Entity) -> bool {
    matches!(
        entity,
        Entity::Reservation | Entity::LoyaltyMember | Entity::LoyaltyTransaction
    )
}

/// What a run is asked to do.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Records per batch (and per transaction).
    pub batch_size: usize,
    pub map: MapOptions,
    /// Run the verification pass after the import.
    pub verify: bool,
    /// Where the progress goes.
    pub progress: progress::Display,
    /// How often a prefix under way is logged (when the progress goes to the log).
    pub progress_every: std::time::Duration,
}

impl Default for ImportOptions {
    fn default() -> Self {
        Self {
            batch_size: 1000,
            map: MapOptions::default(),
            verify: true,
            progress: progress::Display::Log,
            progress_every: progress::LOG_EVERY,
        }
    }
}

/// Imports the store `source` into the database of `target` (the owner's connection).
pub async fn run(
    target: &PgPool,
    target_name: &RedactedUrl,
    source: &Source,
    options: &ImportOptions,
) -> Result<Report> {
    if options.batch_size == 0 || options.batch_size > 50_000 {
        return Err(Error::Invalid(
            "--batch-size must be between 1 and 50000".to_owned(),
        ));
    }
    // One import at a time per database: the lock lives as long as this connection.
    let mut lock = target.acquire().await?.detach();
    let locked: bool =
        sqlx::query_scalar("select pg_try_advisory_lock(hashtextextended('pms.kv_import', 0))")
            .fetch_one(&mut lock)
            .await?;
    if !locked {
        return Err(Error::Invalid(
            "another kv-import is running against this database: wait for it to finish".to_owned(),
        ));
    }
    let schema_ready: bool =
        sqlx::query_scalar("select to_regclass('kv_import.import_quarantine') is not null")
            .fetch_one(&mut lock)
            .await?;
    if !schema_ready {
        return Err(Error::Invalid(format!(
            "{target_name} has no kv_import schema: run `pms-server migrate` first"
        )));
    }
    let (run_id, run_started): (i64, DateTime<Utc>) =
        sqlx::query_as("insert into kv_import.runs (source) values ($1) returning id, started_at")
            .bind(format!("{} ({})", source.url, source.name))
            .fetch_one(&mut lock)
            .await?;

    // What a run killed before left in the queue is refilled from the store.
    sqlx::query("truncate kv_import.queue")
        .execute(&mut lock)
        .await?;
    let started = Instant::now();
    let census = source.census().await?;
    tracing::info!(seconds = started.elapsed().as_secs_f64(), "census");
    let quarantine_was_empty: bool =
        sqlx::query_scalar("select not exists (select 1 from kv_import.import_quarantine)")
            .fetch_one(&mut lock)
            .await?;
    let currencies = source.booking_currencies().await?;
    tracing::info!(seconds = started.elapsed().as_secs_f64(), "currencies");
    let types = write::rows::ColumnTypes::load(&mut lock).await?;
    let totals = census
        .iter()
        .filter_map(|(prefix, count)| match keys::disposition(prefix) {
            keys::Disposition::Mapped(entity) => Some((entity, u64::try_from(*count).unwrap_or(0))),
            _ => None,
        })
        .collect();
    let progress = progress::Progress::new(options.progress, options.progress_every, totals);
    let mut run = Run {
        progress: &progress,
        target,
        source,
        options,
        types: &types,
        resolver: resolve::Resolver::default(),
        places: write::stays::Places::default(),
        currencies,
        counts: BTreeMap::new(),
        quarantined: Vec::new(),
        reassign: Vec::new(),
        reassign_count: 0,
        orphans: Vec::new(),
        orphan_count: 0,
        numbers: BTreeMap::new(),
        ledger: LedgerReport::default(),
        quarantine_was_empty,
    };
    // The queue is filled while the first stage is written (it touches none of its tables).
    let queueing = AbortOnDrop(tokio::spawn(enqueue_all(
        target.clone(),
        source.clone(),
        options.clone(),
    )));
    run.entities(&keys::FIRST_STAGE).await?;
    let queued = queueing
        .join()
        .await
        .map_err(|e| Error::Invalid(format!("queueing failed: {e}")))??;
    tracing::info!(seconds = started.elapsed().as_secs_f64(), "queued");
    for (entity, seen) in queued {
        run.counts.entry(entity).or_default().seen += seen;
    }
    // The lanes of the second stage write different tables and reference only what the first
    // stage wrote (and, within a lane, what the lane wrote before): they run side by side, so
    // that one lane's work overlaps the other's while they take turns at the tenant's feed.
    let (mut members, mut stays) = (run.sibling(), run.sibling());
    tokio::try_join!(
        members.entities(keys::SECOND_STAGE[0]),
        stays.entities(keys::SECOND_STAGE[1])
    )?;
    run.merge(members);
    run.merge(stays);
    sqlx::query("truncate kv_import.queue")
        .execute(&mut lock)
        .await?;
    // A complete run has seen every record of its scope: quarantined records of the scope no
    // longer in the store go.
    let stale: Vec<(String, String)> = sqlx::query_as(
        "select key, value from kv_import.import_quarantine where last_seen_at < $1",
    )
    .bind(run_started)
    .fetch_all(&mut lock)
    .await?;
    let stale: Vec<String> = stale
        .into_iter()
        .filter(|(key, value)| source.scope().is_none_or(|s| s.includes(key, value)))
        .map(|(key, _)| key)
        .collect();
    sqlx::query("delete from kv_import.import_quarantine where key = any($1)")
        .bind(&stale)
        .execute(&mut lock)
        .await?;
    let import_seconds = started.elapsed().as_secs_f64();

    let (prefixes, totals) = report::prefix_lines(&census, &run.counts);
    let mut ledger = std::mem::take(&mut run.ledger);
    let verification = if options.verify {
        Some(
            verify::verify(
                target,
                source,
                options.batch_size as i64,
                options.map,
                &mut ledger,
            )
            .await?,
        )
    } else {
        None
    };
    let report = Report {
        source: format!("{} ({})", source.url, source.name),
        target: target_name.to_string(),
        started_at: run_started,
        finished_at: Utc::now(),
        import_seconds,
        records_per_second: totals.total as f64 / import_seconds.max(1e-9),
        peak_memory_kib: report::peak_memory_kib(),
        accounted: totals.accounted(),
        prefixes,
        totals,
        quarantined: run.quarantined,
        rooms_to_reassign: run.reassign,
        rooms_to_reassign_count: run.reassign_count,
        bookings_without_guest: run.orphans,
        bookings_without_guest_count: run.orphan_count,
        confirmation_numbers: run
            .numbers
            .into_iter()
            .map(|(tenant, (first, last, count))| report::TenantNumbers {
                tenant,
                first,
                last,
                count,
            })
            .collect(),
        ledger,
        verification,
    };
    sqlx::query("update kv_import.runs set finished_at = now(), report = $2 where id = $1")
        .bind(run_id)
        .bind(sqlx::types::Json(&report))
        .execute(&mut lock)
        .await?;
    lock.close().await.ok();
    Ok(report)
}

/// The tenants a run takes (`--tenant`, by legacy id or subdomain; none: every tenant), whether
/// cut-over ones may be imported again, and who runs it.
#[derive(Debug, Clone, Default)]
pub struct Tenants {
    pub named: Vec<String>,
    pub force: bool,
    pub by: String,
}

/// [`run`] for the tenants `tenants` names, kept in `kv_import.tenant_states`: every tenant of the
/// store gets a state (legacy until imported); a tenant already cut over is refused unless
/// forced; a run that accounts for every record and verifies moves its legacy tenants to
/// imported.
pub async fn import_tenants(
    target: &PgPool,
    target_name: &RedactedUrl,
    source: Source,
    options: &ImportOptions,
    tenants: &Tenants,
) -> Result<Report> {
    let ready: bool =
        sqlx::query_scalar("select to_regclass('kv_import.tenant_states') is not null")
            .fetch_one(target)
            .await?;
    if !ready {
        return Err(Error::Invalid(format!(
            "{target_name} has no kv_import.tenant_states: run `pms-server migrate` first"
        )));
    }
    let store = source.tenants().await?;
    let ids: Vec<String> = store.iter().map(|t| t.id.clone()).collect();
    states::register(target, &ids, &tenants.by).await?;
    let chosen = if tenants.named.is_empty() {
        ids
    } else {
        states::resolve(&tenants.named, &store)?
    };
    let known = states::all(target).await?;
    let cut_over: Vec<String> = chosen
        .iter()
        .filter_map(|t| {
            let s = known.get(t)?;
            (s.state == states::State::CutOver)
                .then(|| format!("{t} (by {} at {})", s.changed_by, s.changed_at))
        })
        .collect();
    if !cut_over.is_empty() && !tenants.force {
        return Err(Error::Invalid(format!(
            "refusing to import again tenants already cut over: {}; the tables are their truth now and an import would overwrite the desk's work with the store's (pass --force to do it anyway)",
            cut_over.join(", ")
        )));
    }
    let source = if tenants.named.is_empty() {
        source
    } else {
        let scope = source.scope_for(chosen.clone()).await?;
        source.scoped(scope)
    };
    let report = run(target, target_name, &source, options).await?;
    if report.accounted && report.verification.as_ref().is_none_or(|v| v.ok) {
        let imported: Vec<String> = sqlx::query_scalar(
            "select external_id from public.tenants where external_id = any($1)",
        )
        .bind(&chosen)
        .fetch_all(target)
        .await?;
        for tenant in imported {
            if known
                .get(&tenant)
                .is_none_or(|s| s.state == states::State::Legacy)
            {
                states::set(
                    target,
                    &tenant,
                    states::State::Imported,
                    &tenants.by,
                    false,
                    None,
                )
                .await?;
            }
        }
    }
    Ok(report)
}

/// Sets up one of the import's transactions. The dual-write triggers leave its writes alone,
/// and guest metrics are left to [`Run::refresh_guest_metrics`] (`pms.kv_import`); ledger entries
/// come with their balances, which the ledger checks per statement
/// (`pms.ledger_balances_supplied`). It does not wait for its commit to reach the disk: after a
/// database crash the last batches may be gone, and the next run writes them again (which is all
/// a re-run ever does); everyone else's transactions keep their durability.
async fn import_session(conn: &mut sqlx::PgConnection) -> Result<()> {
    sqlx::query(
        "select set_config('pms.kv_import', 'on', true), set_config('synchronous_commit', 'off', true),
                set_config('pms.ledger_balances_supplied', 'on', true)",
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// How many parts the ledger's queue is split into (by member), drained side by side.
const LEDGER_PARTS: i16 = 2;

/// The queue part of a record: ledger entries by member (a member's entries stay in one part, in
/// order), everything else in part 0.
fn part_of(order: &map::QueueOrder) -> i16 {
    let member = order.member.unwrap_or_default();
    i16::from(member.as_bytes()[15]) % LEDGER_PARTS
}

/// Errors after which the same transaction may succeed: a deadlock or serialization failure,
/// a lock that could not be had.
fn is_transient(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Database(db) => {
            matches!(db.code().as_deref(), Some("40P01" | "40001" | "55P03"))
        }
        _ => false,
    }
}

/// A task aborted when dropped (an import that fails does not leave its helpers running).
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl<T> AbortOnDrop<T> {
    async fn join(mut self) -> std::result::Result<T, tokio::task::JoinError> {
        (&mut self.0).await
    }
}

/// Every record of the queued entities into the queue with its creation time; returns how many
/// records of each entity were read. Only the order is read now ([`map::queue_order`]); records
/// are mapped in full, once, when the queue is drained, and those that cannot be are quarantined
/// then.
async fn enqueue_all(
    target: PgPool,
    source: Source,
    options: ImportOptions,
) -> Result<Vec<(Entity, u64)>> {
    let mut queued = Vec::new();
    for entity in Entity::ALL.into_iter().filter(|e| queued_entity(*e)) {
        let mut seen = 0;
        let mut pages = spawn_reader(source.clone(), entity, &options, order_page);
        while let Some(page) = pages.recv().await {
            let (records, orders) = page?;
            seen += records.len() as u64;
            let queue: Vec<write::Queued> = records
                .into_iter()
                .zip(orders)
                .map(|(record, order)| {
                    let part = part_of(&order);
                    let at = order.sort_at.unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
                    (part, order.tenant, at, record)
                })
                .collect();
            let mut tx = target.begin().await?;
            import_session(&mut tx).await?;
            write::enqueue(&mut tx, entity, &queue).await?;
            tx.commit().await?;
        }
        queued.push((entity, seen));
    }
    Ok(queued)
}

/// A page of records and what their mapping gave.
type MappedPage = (Vec<Record>, Vec<Result<Mapped, decode::Problem>>);

/// How many pages the readers may be ahead of the writer.
const READ_AHEAD: usize = 1;

/// Reads the pages of a prefix and reads them with `read` (a full mapping, or only the queue
/// order) on another task, so that reading the next page overlaps writing this one.
fn spawn_reader<T: Send + 'static>(
    source: Source,
    entity: Entity,
    options: &ImportOptions,
    read: fn(Entity, &[Record], MapOptions) -> T,
) -> tokio::sync::mpsc::Receiver<Result<(Vec<Record>, T)>> {
    let (sender, receiver) = tokio::sync::mpsc::channel(READ_AHEAD);
    let (batch, map_options) = (options.batch_size as i64, options.map);
    tokio::spawn(async move {
        let mut after = String::new();
        loop {
            let page = match source.page(entity.prefix(), &after, batch).await {
                Ok(page) => page,
                Err(error) => {
                    let _ = sender.send(Err(error)).await;
                    return;
                }
            };
            let Some(last) = page.last() else { return };
            after = last.key.clone();
            let read = read(entity, &page, map_options);
            if sender.send(Ok((page, read))).await.is_err() {
                return;
            }
        }
    });
    receiver
}

/// Reads the queue of an entity in creation order and maps its records (their values as the
/// store gave them when queued), on another task.
fn spawn_queue_reader(
    target: PgPool,
    entity: Entity,
    part: i16,
    options: &ImportOptions,
) -> tokio::sync::mpsc::Receiver<Result<MappedPage>> {
    let (sender, receiver) = tokio::sync::mpsc::channel(READ_AHEAD);
    let (batch, map_options) = (options.batch_size as i64, options.map);
    tokio::spawn(async move {
        let mut cursor: Option<(String, DateTime<Utc>, String)> = None;
        loop {
            let page = match queue_page(&target, entity, part, batch, &cursor).await {
                Ok(page) => page,
                Err(error) => {
                    let _ = sender.send(Err(error)).await;
                    return;
                }
            };
            let Some((records, last)) = page else { return };
            cursor = Some(last);
            let mapped = map_page(entity, &records, map_options);
            if sender.send(Ok((records, mapped))).await.is_err() {
                return;
            }
        }
    });
    receiver
}

/// The next page of the queue after `cursor`, with the records' values; None at the end.
async fn queue_page(
    target: &PgPool,
    entity: Entity,
    part: i16,
    batch: i64,
    cursor: &Option<(String, DateTime<Utc>, String)>,
) -> Result<Option<(Vec<Record>, (String, DateTime<Utc>, String))>> {
    let page: Vec<(String, DateTime<Utc>, String, String)> = match cursor {
        None => sqlx::query_as(
            "select tenant, sort_at, key, value from kv_import.queue where entity = $1 and part = $2
              order by tenant, sort_at, key limit $3",
        )
        .bind(entity.prefix())
        .bind(part)
        .bind(batch)
        .fetch_all(target)
        .await?,
        Some((tenant, at, key)) => {
            sqlx::query_as(
                "select tenant, sort_at, key, value from kv_import.queue
                  where entity = $1 and part = $2 and (tenant, sort_at, key) > ($3, $4, $5)
                  order by tenant, sort_at, key limit $6",
            )
            .bind(entity.prefix())
            .bind(part)
            .bind(tenant)
            .bind(at)
            .bind(key)
            .bind(batch)
            .fetch_all(target)
            .await?
        }
    };
    let Some((tenant, at, key, _)) = page.last() else {
        return Ok(None);
    };
    let last = (tenant.clone(), *at, key.clone());
    let records = page
        .into_iter()
        .map(|(_, _, key, value)| Record { key, value })
        .collect();
    Ok(Some((records, last)))
}

fn map_page(
    entity: Entity,
    records: &[Record],
    options: MapOptions,
) -> Vec<Result<Mapped, decode::Problem>> {
    records
        .iter()
        .map(|r| map_record(entity, &r.key, &r.value, options))
        .collect()
}

fn order_page(entity: Entity, records: &[Record], options: MapOptions) -> Vec<map::QueueOrder> {
    records
        .iter()
        .map(|r| map::queue_order(entity, &r.key, &r.value, options))
        .collect()
}

/// A run under way.
struct Run<'a> {
    progress: &'a progress::Progress,
    target: &'a PgPool,
    source: &'a Source,
    options: &'a ImportOptions,
    types: &'a write::rows::ColumnTypes,
    resolver: resolve::Resolver,
    places: write::stays::Places,
    currencies: HashMap<String, String>,
    counts: BTreeMap<Entity, Counts>,
    quarantined: Vec<Quarantined>,
    reassign: Vec<Reassign>,
    reassign_count: u64,
    orphans: Vec<String>,
    orphan_count: u64,
    numbers: BTreeMap<String, (i64, i64, u64)>,
    ledger: LedgerReport,
    quarantine_was_empty: bool,
}

impl Run<'_> {
    /// Imports `entities`, one after the other.
    async fn entities(&mut self, entities: &[Entity]) -> Result<()> {
        for entity in entities {
            let entity = *entity;
            let phase = Instant::now();
            if queued_entity(entity) {
                self.drain(entity).await?;
            } else {
                self.direct(entity).await?;
            }
            if entity == Entity::Reservation {
                self.refresh_guest_metrics().await?;
            }
            // Fresh statistics for the next lookups (the tables may have been empty).
            sqlx::query(&format!("analyze public.{}", entity.table()))
                .execute(self.target)
                .await?;
            self.progress.finish(entity);
            let counts = self.counts.entry(entity).or_default();
            counts.seconds = phase.elapsed().as_secs_f64();
            tracing::info!(
                prefix = entity.prefix(),
                written = counts.inserted + counts.updated + counts.unchanged,
                quarantined = counts.quarantined,
                seconds = counts.seconds,
                "imported"
            );
            if entity == Entity::Tenant {
                self.resolver.forget_tenants();
            }
        }
        Ok(())
    }

    /// Recomputes the metrics of the imported tenants' guests from their bookings, a chunk of
    /// guests per transaction; a guest whose metrics hold is not written. The import's own
    /// transactions leave this to the end (one pass instead of one per batch of bookings), and a
    /// re-run does it again, so a run killed before it ends like a clean one. Two writers take
    /// the two halves of the guests' ids side by side (the other lane may be done by then).
    async fn refresh_guest_metrics(&self) -> Result<()> {
        let tenants: Vec<uuid::Uuid> = sqlx::query_scalar(
            "select id from public.tenants where external_id is not null order by id",
        )
        .fetch_all(self.target)
        .await?;
        let middle = uuid::Uuid::from_u128(1 << 127);
        for tenant in tenants {
            tokio::try_join!(
                self.refresh_guest_range(tenant, uuid::Uuid::nil(), Some(middle)),
                self.refresh_guest_range(tenant, middle, None),
            )?;
        }
        Ok(())
    }

    /// [`Run::refresh_guest_metrics`] for the tenant's guests from `from` (included) to `to`.
    async fn refresh_guest_range(
        &self,
        tenant: uuid::Uuid,
        from: uuid::Uuid,
        to: Option<uuid::Uuid>,
    ) -> Result<()> {
        const CHUNK: i64 = 5_000;
        let mut from = from;
        loop {
            let mut tx = self.target.begin().await?;
            import_session(&mut tx).await?;
            let guests: Vec<uuid::Uuid> = sqlx::query_scalar(
                "select id from public.guests
                  where tenant_id = $1 and id >= $2 and ($3::uuid is null or id < $3)
                  order by id limit $4",
            )
            .bind(tenant)
            .bind(from)
            .bind(to)
            .bind(CHUNK)
            .fetch_all(&mut *tx)
            .await?;
            let Some(last) = guests.last().copied() else {
                return Ok(());
            };
            sqlx::query("select app.refresh_guest_metrics($1, $2)")
                .bind(tenant)
                .bind(&guests)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            match last.as_u128().checked_add(1) {
                Some(next) => from = uuid::Uuid::from_u128(next),
                None => return Ok(()),
            }
        }
    }

    /// Takes in what another lane did.
    fn merge(&mut self, other: Run<'_>) {
        for (entity, counts) in other.counts {
            let mine = self.counts.entry(entity).or_default();
            mine.seen += counts.seen;
            mine.inserted += counts.inserted;
            mine.updated += counts.updated;
            mine.unchanged += counts.unchanged;
            mine.quarantined += counts.quarantined;
            mine.seconds += counts.seconds;
            for (note, n) in counts.notes {
                *mine.notes.entry(note).or_default() += n;
            }
        }
        let room = EXAMPLES.saturating_sub(self.quarantined.len());
        self.quarantined
            .extend(other.quarantined.into_iter().take(room));
        let room = EXAMPLES.saturating_sub(self.reassign.len());
        self.reassign.extend(other.reassign.into_iter().take(room));
        self.reassign_count += other.reassign_count;
        let room = EXAMPLES.saturating_sub(self.orphans.len());
        self.orphans.extend(other.orphans.into_iter().take(room));
        self.orphan_count += other.orphan_count;
        for (tenant, (first, last, count)) in other.numbers {
            let mine = self.numbers.entry(tenant).or_insert((first, last, 0));
            mine.0 = mine.0.min(first);
            mine.1 = mine.1.max(last);
            mine.2 += count;
        }
        let ledger = other.ledger;
        self.ledger.entries_recomputed += ledger.entries_recomputed;
        self.ledger.points_difference += ledger.points_difference;
        let room = EXAMPLES.saturating_sub(self.ledger.examples.len());
        self.ledger
            .examples
            .extend(ledger.examples.into_iter().take(room));
    }

    /// Every record of the prefix, page by page, straight to its table. Two writers take the
    /// pages in turn (the order of these rows does not matter): while one waits for its
    /// statement or its turn at the tenant's feed, the other's statement runs.
    async fn direct(&mut self, entity: Entity) -> Result<()> {
        let pages = tokio::sync::Mutex::new(spawn_reader(
            self.source.clone(),
            entity,
            self.options,
            map_page,
        ));
        let mut other = self.sibling();
        tokio::try_join!(self.consume(entity, &pages), other.consume(entity, &pages))?;
        self.merge(other);
        Ok(())
    }

    async fn consume(
        &mut self,
        entity: Entity,
        pages: &tokio::sync::Mutex<tokio::sync::mpsc::Receiver<Result<MappedPage>>>,
    ) -> Result<()> {
        loop {
            let page = pages.lock().await.recv().await;
            let Some(page) = page else { return Ok(()) };
            let (records, mapped) = page?;
            self.counts.entry(entity).or_default().seen += records.len() as u64;
            self.write(entity, records, mapped).await?;
        }
    }

    /// A writer of its own for the same run (what it does is merged back).
    fn sibling(&self) -> Self {
        Run {
            progress: self.progress,
            target: self.target,
            source: self.source,
            options: self.options,
            types: self.types,
            resolver: resolve::Resolver::default(),
            places: write::stays::Places::default(),
            currencies: self.currencies.clone(),
            counts: BTreeMap::new(),
            quarantined: Vec::new(),
            reassign: Vec::new(),
            reassign_count: 0,
            orphans: Vec::new(),
            orphan_count: 0,
            numbers: BTreeMap::new(),
            ledger: LedgerReport::default(),
            quarantine_was_empty: self.quarantine_was_empty,
        }
    }

    /// The queue in creation order, page by page, to the table (the queue is emptied when the
    /// run ends). The ledger's parts are drained side by side, each by a writer of its own.
    async fn drain(&mut self, entity: Entity) -> Result<()> {
        if entity == Entity::LoyaltyTransaction {
            let mut other = self.sibling();
            tokio::try_join!(self.drain_part(entity, 0), other.drain_part(entity, 1))?;
            self.merge(other);
        } else {
            self.drain_part(entity, 0).await?;
        }
        Ok(())
    }

    async fn drain_part(&mut self, entity: Entity, part: i16) -> Result<()> {
        let mut pages = spawn_queue_reader(self.target.clone(), entity, part, self.options);
        while let Some(page) = pages.recv().await {
            let (records, mapped) = page?;
            self.write(entity, records, mapped).await?;
        }
        Ok(())
    }

    /// A page, one transaction per tenant. A transaction that writes a tenant's rows holds that
    /// tenant's feed lock to its commit (see the change-feed migration); one that held two could
    /// take them in another order than a writer beside it, and deadlock.
    async fn write(
        &mut self,
        entity: Entity,
        records: Vec<Record>,
        mapped: Vec<Result<Mapped, decode::Problem>>,
    ) -> Result<()> {
        let tenant_of = |key: &str| keys::parse_key(entity, key).ok().and_then(|k| k.tenant);
        let mut records = records.into_iter().zip(mapped).peekable();
        while let Some(first) = records.next() {
            let tenant = tenant_of(&first.0.key);
            let mut group = vec![first];
            while let Some(next) = records.next_if(|(r, _)| tenant_of(&r.key) == tenant) {
                group.push(next);
            }
            let (records, mapped): (Vec<Record>, Vec<_>) = group.into_iter().unzip();
            self.write_tenant(entity, records, mapped).await?;
        }
        Ok(())
    }

    /// Records of one tenant in one transaction. A transaction the database ends to break a
    /// deadlock with somebody else's (the desk's, during dual-write) is tried again.
    async fn write_tenant(
        &mut self,
        entity: Entity,
        records: Vec<Record>,
        mapped: Vec<Result<Mapped, decode::Problem>>,
    ) -> Result<()> {
        let mut mapped = mapped;
        for attempt in 1.. {
            match self.attempt(entity, &records, mapped).await {
                Err(Error::Database(error)) if attempt < 4 && is_transient(&error) => {
                    tracing::warn!(%error, attempt, "batch rolled back by the database; trying again");
                    tokio::time::sleep(std::time::Duration::from_millis(50 * attempt)).await;
                    // mapping is pure: the same records give the same rows
                    mapped = map_page(entity, &records, self.options.map);
                }
                other => return other,
            }
        }
        Ok(())
    }

    /// One try of [`Run::write_tenant`]: resolve, write, quarantine, commit; then the report.
    async fn attempt(
        &mut self,
        entity: Entity,
        records: &[Record],
        mapped: Vec<Result<Mapped, decode::Problem>>,
    ) -> Result<()> {
        let mut tx = self.target.begin().await?;
        import_session(&mut tx).await?;
        let resolved = self.resolver.resolve(&mut tx, mapped).await?;
        let mut pending = Vec::new();
        // the stored value of each pending record, for the quarantine should the table refuse it
        let mut values = Vec::new();
        let mut problems = Vec::new();
        for (record, result) in records.iter().zip(resolved) {
            match result {
                Ok(mapped) => {
                    pending.push(Pending {
                        key: record.key.clone(),
                        mapped,
                    });
                    values.push(&record.value);
                }
                Err(problem) => {
                    problems.push((record.key.clone(), record.value.clone(), problem.0))
                }
            }
        }
        let refs: Vec<&Pending> = pending.iter().collect();
        let written = if refs.is_empty() {
            write::Written::default()
        } else {
            write::write_batch(&mut tx, entity, &refs, &self.places, self.types).await?
        };
        let mut imported = Vec::new();
        for ((p, outcome), value) in pending.iter().zip(&written.outcomes).zip(&values) {
            match outcome {
                Outcome::Refused(reason) => {
                    problems.push((p.key.clone(), (*value).clone(), reason.clone()))
                }
                _ => imported.push((p, outcome)),
            }
        }
        let imported_keys: Vec<String> = imported.iter().map(|(p, _)| p.key.clone()).collect();
        if entity == Entity::Tenant {
            for (p, _) in &imported {
                let Some(legacy) = p.mapped.row.get("external_id").and_then(|v| v.as_str()) else {
                    continue;
                };
                if let Some(tenant_id) = self.resolver.tenant(&mut tx, legacy).await? {
                    write::stays::ensure_property(
                        &mut tx,
                        tenant_id,
                        legacy,
                        self.currencies.get(legacy).map(String::as_str),
                    )
                    .await?;
                }
            }
        }
        write::quarantine(&mut tx, &problems).await?;
        if !self.quarantine_was_empty {
            write::release(&mut tx, &imported_keys).await?;
        }
        tx.commit().await?;
        self.progress.advance(entity, records.len() as u64);

        // What the batch did, now that it is committed.
        let counts = self.counts.entry(entity).or_default();
        for (p, outcome) in &imported {
            match outcome {
                Outcome::Inserted => counts.inserted += 1,
                Outcome::Updated => counts.updated += 1,
                _ => counts.unchanged += 1,
            }
            for note in &p.mapped.notes {
                counts.note(note);
            }
            if p.mapped.notes.iter().any(|n| n.starts_with("guest gone")) {
                self.orphan_count += 1;
                if self.orphans.len() < EXAMPLES {
                    self.orphans.push(p.key.clone());
                }
            }
        }
        self.places.learn(written.learned);
        self.reassign_count += written.reassign.len() as u64;
        let room = EXAMPLES.saturating_sub(self.reassign.len());
        self.reassign
            .extend(written.reassign.into_iter().take(room));
        for (tenant, number) in written.numbers {
            let entry = self.numbers.entry(tenant).or_insert((number, number, 0));
            entry.0 = entry.0.min(number);
            entry.1 = entry.1.max(number);
            entry.2 += 1;
        }
        for difference in written.ledger {
            self.ledger.entries_recomputed += 1;
            self.ledger.points_difference += difference
                .legacy_after
                .map_or(0, |legacy| legacy.abs_diff(difference.after));
            if self.ledger.examples.len() < EXAMPLES {
                self.ledger.examples.push(difference);
            }
        }
        self.note_quarantined(entity, problems);
        Ok(())
    }

    fn note_quarantined(&mut self, entity: Entity, problems: Vec<(String, String, String)>) {
        self.counts.entry(entity).or_default().quarantined += problems.len() as u64;
        for (key, _, reason) in problems {
            if self.quarantined.len() < EXAMPLES {
                self.quarantined.push(Quarantined { key, reason });
            }
        }
    }
}
