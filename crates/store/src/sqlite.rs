//! The SQLite backend, the embedded default: one file (`relais.db`), WAL journal, `synchronous=FULL`.
//!
//! Writes go through one writer thread that commits batches (group commit): every command waiting when
//! the writer is free joins the next transaction, and they all commit with one fsync. A command that
//! fails (a conflict) rolls back alone: the batch is then run again with each command in a savepoint
//! (`commit_batch`). Reads use a small pool of read-only connections and run on the calling task: a read
//! from the page cache takes microseconds, less than a hop to a blocking thread would
//! (docs/adr/0001-storage-access.md). A locker's doors are read from a copy the writer keeps exact
//! (`compartment_cache.rs`, ADR 10).

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use relais_app::ports::{
    AttemptScope, AuditEntry, CommitError, CompartmentCounts, DeviceStatus, ImportRecord, Merchant, OccupancyAlert,
    OutboxMessage, Page, ParcelFilter, PointChange, StoreError, StoreResult, StoredCounter, StoredEvent, Write,
};
use relais_app::{ApiKey, Role, Store};
use relais_domain::Timestamp;
use relais_domain::attempts::AttemptCounter;
use relais_domain::compartment::{Compartment, CompartmentState, DoorFault};
use relais_domain::dropoff::{
    CommandPurpose, CommandState, DoorCommand, DropOffItem, DropOffSession, ItemState, SessionPurpose,
};
use relais_domain::ids::{
    CommandId, CompartmentId, DropOffSessionId, Id, ImportId, MerchantId, NetworkId, OutboxId, ParcelId, PointId,
};
use relais_domain::kpi::{KpiEvent, KpiFact};
use relais_domain::network::{Network, NetworkRules};
use relais_domain::parcel::{
    Actor, ActorKind, EventKind, IncidentKind, Parcel, ParcelEvent, ParcelState, PickupSecretDigests, Recipient,
};
use relais_domain::point::{Address, OpeningHours, PickupPoint, PointKind, PointStatus, Services};
use relais_domain::value::{Coordinates, Dimensions, Email, ParcelNumber, Phone, SizeClass, Weight};
use rusqlite::types::{FromSql, ToSql};
use rusqlite::{Connection, OpenFlags, Row, params};

use crate::compartment_cache::{CACHED_POINTS_MAX, CompartmentCache, Lookup};
use crate::{closures_from_text, closures_to_text, corrupt, duplicate_what, offsets_from_text, offsets_to_text};

/// Most commands one transaction takes: bounds the latency a command waits behind others.
const BATCH_COMMANDS_MAX: usize = 512;
/// Commands that may wait for the writer before senders are slowed down.
const QUEUE_COMMANDS_MAX: usize = 4096;

const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "init", include_str!("../migrations/sqlite/0001_init.sql")),
    (2, "point_hours", include_str!("../migrations/sqlite/0002_point_hours.sql")),
    (3, "point_registry", include_str!("../migrations/sqlite/0003_point_registry.sql")),
    (4, "occupancy_alerts", include_str!("../migrations/sqlite/0004_occupancy_alerts.sql")),
    (5, "locker_devices", include_str!("../migrations/sqlite/0005_locker_devices.sql")),
    (6, "shared_compartments", include_str!("../migrations/sqlite/0006_shared_compartments.sql")),
    (7, "leaner_parcel_indexes", include_str!("../migrations/sqlite/0007_leaner_parcel_indexes.sql")),
    (8, "code_index_without_in", include_str!("../migrations/sqlite/0008_code_index_without_in.sql")),
    (9, "outbox_rowid", include_str!("../migrations/sqlite/0009_outbox_rowid.sql")),
];

struct Job {
    command: Command,
    /// The result, and the command itself: dropped by the caller, so that freeing it (a parcel, texts)
    /// is not the writer's work.
    reply: tokio::sync::oneshot::Sender<(Result<(), CommitError>, Command)>,
}

/// A command's writes, with what can be prepared before the writer runs them: the outbox payloads as
/// text. The single writer bounds the throughput of the whole node, so its time goes to the database
/// only; serialising JSON there was about 5 % of it.
struct Command {
    writes: Vec<Write>,
    /// The payload of each `AppendOutbox` in `writes`, in order.
    payloads: Vec<String>,
}

impl Command {
    fn new(writes: Vec<Write>) -> Command {
        let payloads = writes
            .iter()
            .filter_map(|w| match w {
                Write::AppendOutbox(m) => Some(m.payload.to_string()),
                _ => None,
            })
            .collect();
        Command { writes, payloads }
    }

    fn apply(&self, c: &Connection) -> Result<(), CommitError> {
        let mut payloads = self.payloads.iter().map(String::as_str);
        self.writes.iter().try_for_each(|w| apply(c, w, &mut payloads))
    }
}

pub struct SqliteStore {
    path: PathBuf,
    readers: Mutex<Vec<Connection>>,
    writer: mpsc::SyncSender<Job>,
    /// Kept exact by the writer (see the module).
    compartments: Arc<CompartmentCache>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and applies pending migrations.
    pub fn open(path: &Path) -> StoreResult<SqliteStore> {
        let mut connection = Connection::open(path).map_err(StoreError::new)?;
        configure(&connection)?;
        migrate(&mut connection)?;
        let (writer, jobs) = mpsc::sync_channel::<Job>(QUEUE_COMMANDS_MAX);
        let compartments = Arc::new(CompartmentCache::new(CACHED_POINTS_MAX));
        let cache = Arc::clone(&compartments);
        std::thread::Builder::new()
            .name("relais-sqlite-writer".into())
            .spawn(move || write_loop(connection, jobs, &cache))
            .map_err(StoreError::new)?;
        Ok(SqliteStore { path: path.to_owned(), readers: Mutex::new(Vec::new()), writer, compartments })
    }

    fn read<T>(&self, f: impl FnOnce(&Connection) -> StoreResult<T>) -> StoreResult<T> {
        let pooled = self.readers.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let connection = match pooled {
            Some(c) => c,
            None => {
                let c = Connection::open_with_flags(
                    &self.path,
                    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI,
                )
                .map_err(StoreError::new)?;
                configure_connection(&c)?;
                c
            }
        };
        let result = f(&connection);
        self.readers.lock().unwrap_or_else(|p| p.into_inner()).push(connection);
        result
    }

    fn one<T>(&self, sql: &str, args: &[&dyn ToSql], map: fn(&Row) -> StoreResult<T>) -> StoreResult<Option<T>> {
        self.read(|c| {
            let mut statement = c.prepare_cached(sql).map_err(StoreError::new)?;
            let mut rows = statement.query(args).map_err(StoreError::new)?;
            match rows.next().map_err(StoreError::new)? {
                Some(row) => map(row).map(Some),
                None => Ok(None),
            }
        })
    }

    fn many<T>(&self, sql: &str, args: &[&dyn ToSql], map: fn(&Row) -> StoreResult<T>) -> StoreResult<Vec<T>> {
        self.read(|c| {
            let mut statement = c.prepare_cached(sql).map_err(StoreError::new)?;
            let mut rows = statement.query(args).map_err(StoreError::new)?;
            let mut out = Vec::new();
            while let Some(row) = rows.next().map_err(StoreError::new)? {
                out.push(map(row)?);
            }
            Ok(out)
        })
    }

    /// Table name -> column names, for the test that both schemas agree.
    pub fn schema_columns(&self) -> StoreResult<Vec<(String, Vec<String>)>> {
        let tables = self.many(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
            &[],
            |r| get::<String>(r, 0),
        )?;
        tables
            .into_iter()
            .map(|table| {
                let columns =
                    self.many(&format!("SELECT name FROM pragma_table_info('{table}') ORDER BY name"), &[], |r| {
                        get::<String>(r, 0)
                    })?;
                Ok((table, columns))
            })
            .collect()
    }
}

/// The storage ceiling for the lifecycle benchmark: applies prepared commands with the same statements
/// and the same durability as the store, one transaction per batch, on one connection with no reads
/// and no rules. Returns the time spent in the database only (building the writes is excluded).
pub fn ceiling_run(
    path: &Path,
    batches: impl Iterator<Item = Vec<Vec<Write>>>,
) -> Result<std::time::Duration, CommitError> {
    let connection = Connection::open(path).map_err(|e| CommitError::Store(StoreError::new(e)))?;
    configure(&connection)?;
    // Prepared as the engine's callers prepare them, before the writer sees them.
    let batches: Vec<Vec<Command>> = batches.map(|batch| batch.into_iter().map(Command::new).collect()).collect();
    let mut spent = std::time::Duration::ZERO;
    for batch in batches {
        let started = std::time::Instant::now();
        connection.execute_batch("BEGIN IMMEDIATE").map_err(|e| CommitError::Store(StoreError::new(e)))?;
        for command in &batch {
            command.apply(&connection)?;
        }
        connection.execute_batch("COMMIT").map_err(|e| CommitError::Store(StoreError::new(e)))?;
        spent += started.elapsed();
    }
    Ok(spent)
}

/// The names of the indexes that are not a table's own key. `sql IS NULL` marks the ones SQLite made itself
/// for a PRIMARY KEY or UNIQUE in a table's definition.
const SECONDARY_INDEXES: &str = "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL";

/// Drops every index that is not a table's own key, for `relais bench lifecycle --bare-ceiling`: what the
/// rows alone cost to write. Returns how many it dropped. Never called on a database that serves.
pub fn drop_secondary_indexes(path: &Path) -> StoreResult<usize> {
    let connection = Connection::open(path).map_err(StoreError::new)?;
    configure(&connection)?;
    let names: Vec<String> = connection
        .prepare(SECONDARY_INDEXES)
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .map_err(StoreError::new)?;
    for name in &names {
        connection.execute_batch(&format!("DROP INDEX \"{name}\"")).map_err(StoreError::new)?;
    }
    Ok(names.len())
}

/// Page cache and memory map per connection: the hot pages (compartments, recent parcels, index
/// upper levels) stay in memory, and reads of the rest avoid a system call each. The measured effect on
/// `relais bench lifecycle` is in docs/benchmarks.md.
const READ_PRAGMAS: &str = "PRAGMA cache_size = -65536; PRAGMA mmap_size = 268435456;";

/// Distinct statements the store uses, with room to spare: rusqlite's default cache (16) is smaller, and
/// a statement evicted from it is compiled again on its next use.
const STATEMENT_CACHE_CAPACITY: usize = 128;

/// What every connection, reader or writer, is set up with.
fn configure_connection(c: &Connection) -> StoreResult<()> {
    c.set_prepared_statement_cache_capacity(STATEMENT_CACHE_CAPACITY);
    c.busy_timeout(std::time::Duration::from_secs(5)).map_err(StoreError::new)?;
    c.execute_batch(READ_PRAGMAS).map_err(StoreError::new)
}

/// The writer connection: the shared setup plus journal, durability and integrity settings. Each
/// command runs in a savepoint whose sub-journal (the pages it may have to roll back) stays in memory
/// (`temp_store`): on a temporary file it cost one `pwrite` per page a command touched.
fn configure(c: &Connection) -> StoreResult<()> {
    configure_connection(c)?;
    c.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = FULL;
         PRAGMA foreign_keys = ON;
         PRAGMA temp_store = MEMORY;
         PRAGMA wal_autocheckpoint = 10000;", // 40 MB of WAL between checkpoints: fewer double writes.
    )
    .map_err(StoreError::new)
}

fn migrate(c: &mut Connection) -> StoreResult<()> {
    c.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)",
    )
    .map_err(StoreError::new)?;
    let applied: i64 = c
        .query_row("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", [], |r| r.get(0))
        .map_err(StoreError::new)?;
    for (version, name, sql) in MIGRATIONS.iter().filter(|(v, _, _)| *v > applied) {
        let tx = c.transaction().map_err(StoreError::new)?;
        tx.execute_batch(sql).map_err(|e| StoreError(format!("migration {version} {name}: {e}")))?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, datetime('now'))",
            params![version, name],
        )
        .map_err(StoreError::new)?;
        tx.commit().map_err(StoreError::new)?;
        tracing::info!(version, name, "applied SQLite migration");
    }
    Ok(())
}

/// How often an idle writer looks for changes made by another connection to the file.
const OTHER_WRITERS_POLL: std::time::Duration = std::time::Duration::from_millis(100);

fn write_loop(connection: Connection, jobs: mpsc::Receiver<Job>, cache: &CompartmentCache) {
    let mut data_version = None;
    // Changes by another connection (another process on the same file) make the cached compartments
    // unreliable; this connection's own commits do not move `data_version`. Checked before each batch
    // (a command read before the change fails its version check and reads again) and when idle.
    let mut other_writers = || {
        let now = connection.query_row("PRAGMA data_version", [], |r| r.get::<_, i64>(0)).ok();
        if now.is_none() || now != data_version {
            cache.clear();
            data_version = now;
        }
    };
    loop {
        let first = match jobs.recv_timeout(OTHER_WRITERS_POLL) {
            Ok(job) => job,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                other_writers();
                continue;
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => return,
        };
        other_writers();
        let mut batch = vec![first];
        while batch.len() < BATCH_COMMANDS_MAX {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let started = std::time::Instant::now();
        let results = commit_batch(&connection, &batch);
        crate::metrics::transaction("sqlite", &results, started.elapsed());
        // Before anyone hears of the commit, so that their next read sees it.
        for (job, result) in batch.iter().zip(&results) {
            match result {
                Ok(()) => cache.committed(job.command.writes.iter()),
                Err(_) => cache.forget(job.command.writes.iter()),
            }
        }
        for (job, result) in batch.into_iter().zip(results) {
            // The caller may have given up waiting (request cancelled): its result is simply dropped.
            let _ = job.reply.send((result, job.command));
        }
    }
}

/// Commits a batch. Nearly always every command in it succeeds, so it first runs them back to back with
/// nothing in between; should one fail (a conflict, a duplicate), part of its writes are already in the
/// transaction, so the batch is rolled back and run again the careful way, each command in a savepoint
/// of its own (`commit_batch_in_savepoints`). A savepoint per command cost the writer about 10 % of its
/// time (the statements, and a copy of every page a command touches first), for the rare batch that
/// needs it.
fn commit_batch(c: &Connection, batch: &[Job]) -> Vec<Result<(), CommitError>> {
    if let Err(e) = c.execute_batch("BEGIN IMMEDIATE") {
        return every_command_fails(batch, &e);
    }
    if batch.iter().all(|job| job.command.apply(c).is_ok()) {
        return match c.execute_batch("COMMIT") {
            Ok(()) => batch.iter().map(|_| Ok(())).collect(),
            Err(e) => failed_commit(c, batch, e),
        };
    }
    if let Err(e) = c.execute_batch("ROLLBACK") {
        return every_command_fails(batch, &e);
    }
    crate::metrics::batch_replayed("sqlite");
    commit_batch_in_savepoints(c, batch)
}

/// Commits a batch with each command in its own savepoint: a command that fails rolls back alone while
/// the others commit.
fn commit_batch_in_savepoints(c: &Connection, batch: &[Job]) -> Vec<Result<(), CommitError>> {
    if let Err(e) = c.execute_batch("BEGIN IMMEDIATE") {
        return every_command_fails(batch, &e);
    }
    let mut results = Vec::with_capacity(batch.len());
    for job in batch {
        // Cached statements: `execute_batch` would parse these again for every command.
        let result = run_cached(c, "SAVEPOINT command")
            .map_err(|e| CommitError::Store(StoreError::new(e)))
            .and_then(|()| job.command.apply(c));
        let closed = match result {
            Ok(()) => run_cached(c, "RELEASE command"),
            Err(_) => run_cached(c, "ROLLBACK TO command").and_then(|()| run_cached(c, "RELEASE command")),
        };
        results.push(match closed {
            Ok(()) => result,
            Err(e) => Err(CommitError::Store(StoreError::new(e))),
        });
    }
    match c.execute_batch("COMMIT") {
        Ok(()) => results,
        Err(e) => failed_commit(c, batch, e),
    }
}

/// A `COMMIT` that failed (the disk, most likely): nothing of the batch is kept, and every command says so.
fn failed_commit(c: &Connection, batch: &[Job], e: rusqlite::Error) -> Vec<Result<(), CommitError>> {
    let _ = c.execute_batch("ROLLBACK");
    every_command_fails(batch, &e)
}

/// The same store error for every command of a batch none of which was committed.
fn every_command_fails(batch: &[Job], e: &rusqlite::Error) -> Vec<Result<(), CommitError>> {
    let message = StoreError::new(e).0;
    batch.iter().map(|_| Err(CommitError::Store(StoreError(message.clone())))).collect()
}

fn run_cached(c: &Connection, sql: &str) -> rusqlite::Result<()> {
    c.prepare_cached(sql)?.execute([]).map(drop)
}

fn exec(c: &Connection, sql: &str, args: &[&dyn ToSql]) -> Result<usize, CommitError> {
    let mut statement = c.prepare_cached(sql).map_err(|e| CommitError::Store(StoreError::new(e)))?;
    statement.execute(args).map_err(|e| match &e {
        rusqlite::Error::SqliteFailure(f, Some(message)) if f.code == rusqlite::ErrorCode::ConstraintViolation => {
            match duplicate_what(message) {
                Some(what) => CommitError::Duplicate { what },
                None => CommitError::Store(StoreError::new(&e)),
            }
        }
        _ => CommitError::Store(StoreError::new(&e)),
    })
}

/// Runs a versioned update: no row changed means the row moved on since it was read.
fn exec_versioned(c: &Connection, sql: &str, args: &[&dyn ToSql]) -> Result<(), CommitError> {
    match exec(c, sql, args)? {
        1 => Ok(()),
        _ => Err(CommitError::Conflict),
    }
}

/// One write, on the writer's connection; `payloads` yields the text of each outbox message in turn.
fn apply<'a>(c: &Connection, write: &Write, payloads: &mut impl Iterator<Item = &'a str>) -> Result<(), CommitError> {
    match write {
        Write::InsertNetwork(n) => exec(
            c,
            "INSERT INTO networks (id, name, hold_window_hours, extension_count_max, extension_hours,
                extension_earliest_after_deposit_hours, reminder_offsets_hours, reservation_hours, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                id(n.id),
                n.name,
                n.rules.hold_window_hours,
                n.rules.extension_count_max,
                n.rules.extension_hours,
                n.rules.extension_earliest_after_deposit_hours,
                offsets_to_text(&n.rules.reminder_offsets_hours),
                n.rules.reservation_hours,
                micros(n.created_at)
            ],
        )
        .map(drop),
        Write::InsertMerchant(m) => exec(
            c,
            "INSERT INTO merchants (id, name, created_at) VALUES (?1, ?2, ?3)",
            params![id(m.id), m.name, micros(m.created_at)],
        )
        .map(drop),
        Write::InsertPoint(p) => exec(
            c,
            "INSERT INTO pickup_points (id, network_id, external_id, kind, name, address_line1, address_line2,
                postcode, city, country, latitude, longitude, timezone, status, shelf_capacity, shelf_occupied,
                weight_max_g, dimensions_sum_max_mm, created_at, version, opening_hours, closures, services, source,
                updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22,
                ?23, ?24, ?25)",
            params![
                id(p.id),
                id(p.network_id),
                p.external_id,
                p.kind.as_str(),
                p.name,
                p.address.line1,
                p.address.line2,
                p.address.postcode,
                p.address.city,
                p.address.country,
                p.coordinates.latitude(),
                p.coordinates.longitude(),
                p.timezone,
                p.status.as_str(),
                p.shelf_capacity,
                p.shelf_occupied,
                p.weight_max.grams(),
                p.dimensions_sum_mm_max,
                micros(p.created_at),
                p.version,
                p.opening_hours.as_ref().map(|h| h.as_str()),
                closures_to_text(&p.closures),
                p.services.to_string(),
                p.source,
                micros(p.updated_at)
            ],
        )
        .map(drop),
        Write::InsertCompartment(k) => {
            let (state, parcel, until) = compartment_columns(&k.state);
            exec(
                c,
                "INSERT INTO compartments (id, point_id, label, size, state, parcel_id, reserved_until, version, fault)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    id(k.id),
                    id(k.point_id),
                    k.label,
                    k.size.as_str(),
                    state,
                    parcel,
                    until,
                    k.version,
                    k.fault.map(DoorFault::as_str)
                ],
            )
            .map(drop)
        }
        Write::UpdateCompartment(k) => {
            let (state, parcel, until) = compartment_columns(&k.state);
            exec_versioned(
                c,
                "UPDATE compartments SET state = ?1, parcel_id = ?2, reserved_until = ?3, fault = ?6, sharers = ?7,
                    version = version + 1
                 WHERE id = ?4 AND version = ?5",
                params![
                    state,
                    parcel,
                    until,
                    id(k.id),
                    k.version,
                    k.fault.map(DoorFault::as_str),
                    crate::sharers_to_text(&k.sharers)
                ],
            )
        }
        Write::UpdatePointShelf(p) => exec_versioned(
            c,
            "UPDATE pickup_points SET shelf_occupied = ?1, version = version + 1 WHERE id = ?2 AND version = ?3",
            params![p.shelf_occupied, id(p.id), p.version],
        ),
        Write::UpdatePoint(p) => exec_versioned(
            c,
            "UPDATE pickup_points SET kind = ?1, name = ?2, address_line1 = ?3, address_line2 = ?4, postcode = ?5,
                city = ?6, country = ?7, latitude = ?8, longitude = ?9, timezone = ?10, status = ?11,
                shelf_capacity = ?12, weight_max_g = ?13, dimensions_sum_max_mm = ?14, opening_hours = ?15,
                closures = ?16, services = ?17, source = ?18, updated_at = ?19, version = version + 1
             WHERE id = ?20",
            params![
                p.kind.as_str(),
                p.name,
                p.address.line1,
                p.address.line2,
                p.address.postcode,
                p.address.city,
                p.address.country,
                p.coordinates.latitude(),
                p.coordinates.longitude(),
                p.timezone,
                p.status.as_str(),
                p.shelf_capacity,
                p.weight_max.grams(),
                p.dimensions_sum_mm_max,
                p.opening_hours.as_ref().map(|h| h.as_str()),
                closures_to_text(&p.closures),
                p.services.to_string(),
                p.source,
                micros(p.updated_at),
                id(p.id)
            ],
        ),
        Write::InsertImport(i) => exec(
            c,
            "INSERT INTO point_imports (id, network_id, format, source, at, status, rows_total, rows_refused, added,
                changed, moved, closed, reopened, removed, unchanged, problems)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
            params![
                id(i.id),
                id(i.network_id),
                i.format,
                i.source,
                micros(i.at),
                i.status,
                i.rows_total,
                i.rows_refused,
                i.changes[0],
                i.changes[1],
                i.changes[2],
                i.changes[3],
                i.changes[4],
                i.changes[5],
                i.unchanged,
                i.problems
            ],
        )
        .map(drop),
        Write::AppendPointChange(change) => exec(
            c,
            "INSERT INTO point_changes (point_id, import_id, at, kind, fields) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                id(change.point_id),
                change.import_id.map(id),
                micros(change.at),
                change.kind,
                crate::fields_to_text(&change.fields)
            ],
        )
        .map(drop),
        Write::RaiseOccupancyAlert(a) => exec(
            c,
            "INSERT INTO occupancy_alerts (point_id, raised_at, rate) VALUES (?1, ?2, ?3)",
            params![id(a.point_id), micros(a.raised_at), a.rate],
        )
        .map(drop),
        Write::ClearOccupancyAlert(point_id) => {
            exec(c, "DELETE FROM occupancy_alerts WHERE point_id = ?1", params![id(*point_id)]).map(drop)
        }
        Write::InsertParcel(p) => exec(
            c,
            "INSERT INTO parcels (id, number, merchant_id, network_id, point_id, recipient_name, recipient_phone,
                recipient_email, length_mm, width_mm, height_mm, weight_g, state, incident_kind, compartment_id,
                code_digest, qr_digest, deposited_at, pickup_deadline, extensions_used, created_at, updated_at, version)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23)",
            params![
                id(p.id),
                p.number.as_str(),
                id(p.merchant_id),
                id(p.network_id),
                id(p.point_id),
                p.recipient.name,
                p.recipient.phone.as_ref().map(Phone::as_str),
                p.recipient.email.as_ref().map(Email::as_str),
                p.dimensions.length_mm(),
                p.dimensions.width_mm(),
                p.dimensions.height_mm(),
                p.weight.grams(),
                p.state.as_str(),
                p.state.incident_kind().map(|k| k.as_str()),
                p.compartment_id.map(id),
                &p.secrets.code[..],
                &p.secrets.qr[..],
                p.deposited_at.map(micros),
                p.pickup_deadline.map(micros),
                p.extensions_used,
                micros(p.created_at),
                micros(p.updated_at),
                p.version
            ],
        )
        .map(drop),
        Write::UpdateParcel(p) => {
            let args = params![
                p.state.as_str(),
                p.state.incident_kind().map(|k| k.as_str()),
                p.compartment_id.map(id),
                p.deposited_at.map(micros),
                p.pickup_deadline.map(micros),
                p.extensions_used,
                micros(p.updated_at),
                id(p.id),
                p.version,
                p.reminders_sent,
                p.next_reminder_at.map(micros),
                id(p.point_id),
                p.relocated_from.map(id)
            ];
            // SQLite rewrites every index on a column an UPDATE sets, and checks the foreign key of every
            // such column, whether or not its value changes. A parcel changes point only when relocated,
            // so the usual statement leaves `point_id` and `relocated_from` out (and so the point-keyed
            // indexes and both foreign keys alone); a relocation matches no row there and takes the second.
            let kept_point = exec(
                c,
                "UPDATE parcels SET state = ?1, incident_kind = ?2, compartment_id = ?3, deposited_at = ?4,
                    pickup_deadline = ?5, extensions_used = ?6, updated_at = ?7, reminders_sent = ?10,
                    next_reminder_at = ?11, version = version + 1
                 WHERE id = ?8 AND version = ?9 AND point_id = ?12 AND relocated_from IS ?13",
                args,
            )?;
            if kept_point == 1 {
                return Ok(());
            }
            exec_versioned(
                c,
                "UPDATE parcels SET state = ?1, incident_kind = ?2, compartment_id = ?3, deposited_at = ?4,
                    pickup_deadline = ?5, extensions_used = ?6, updated_at = ?7, reminders_sent = ?10,
                    next_reminder_at = ?11, point_id = ?12, relocated_from = ?13, version = version + 1
                 WHERE id = ?8 AND version = ?9",
                args,
            )
        }
        Write::AppendEvent(e) => exec(
            c,
            "INSERT INTO parcel_events (parcel_id, kind, from_state, to_state, incident_kind, actor_kind, actor_ref,
                reason, compartment_id, at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![
                id(e.parcel_id),
                e.kind.as_str(),
                e.from.map(ParcelState::as_str),
                e.to.as_str(),
                e.to.incident_kind().map(|k| k.as_str()),
                e.actor.kind.as_str(),
                e.actor.reference,
                e.reason,
                e.compartment_id.map(id),
                micros(e.at)
            ],
        )
        .map(drop),
        Write::AppendOutbox(m) => exec(
            c,
            "INSERT INTO outbox (id, topic, parcel_id, payload, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                id(m.id),
                m.topic,
                m.parcel_id.map(id),
                payloads.next().ok_or_else(|| CommitError::Store(StoreError("an outbox message without its text".into())))?,
                micros(m.created_at)
            ],
        )
        .map(drop),
        Write::PutAttemptCounter { scope, counter, expected_version: None } => exec(
            c,
            "INSERT INTO pickup_attempts (scope_key, failures, window_started_at, locked_until, version)
             VALUES (?1, ?2, ?3, ?4, 1)",
            params![scope.key(), counter.failures, micros(counter.window_started_at), counter.locked_until.map(micros)],
        )
        .map(drop),
        Write::PutAttemptCounter { scope, counter, expected_version: Some(version) } => exec_versioned(
            c,
            "UPDATE pickup_attempts SET failures = ?1, window_started_at = ?2, locked_until = ?3, version = version + 1
             WHERE scope_key = ?4 AND version = ?5",
            params![
                counter.failures,
                micros(counter.window_started_at),
                counter.locked_until.map(micros),
                scope.key(),
                version
            ],
        ),
        Write::InsertApiKey(k) => exec(
            c,
            "INSERT INTO api_keys (id, role, merchant_id, point_id, label, digest, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                id(k.id),
                k.role.as_str(),
                k.merchant_id.map(id),
                k.point_id.map(id),
                k.label,
                &k.digest[..],
                micros(k.created_at)
            ],
        )
        .map(drop),
        Write::InsertDropOffSession(d) => exec(
            c,
            "INSERT INTO drop_off_sessions (id, point_id, carrier_key_id, opened_at, closed_at, version, purpose)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                id(d.id),
                id(d.point_id),
                id(d.carrier_key_id),
                micros(d.opened_at),
                d.closed_at.map(micros),
                d.version,
                d.purpose.as_str()
            ],
        )
        .map(drop),
        Write::UpdateDropOffSession(d) => exec_versioned(
            c,
            "UPDATE drop_off_sessions SET closed_at = ?1, version = version + 1 WHERE id = ?2 AND version = ?3",
            params![d.closed_at.map(micros), id(d.id), d.version],
        ),
        Write::InsertDropOffItem(i) => exec(
            c,
            "INSERT INTO drop_off_items (session_id, parcel_id, parcel_number, compartment_id, label, state, reason,
                relocation_point_id, scanned_at, done_at, version)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            params![
                id(i.session_id),
                id(i.parcel_id),
                i.parcel_number,
                i.compartment_id.map(id),
                i.label,
                i.state.as_str(),
                i.reason,
                i.relocation_point_id.map(id),
                micros(i.scanned_at),
                i.done_at.map(micros),
                i.version
            ],
        )
        .map(drop),
        Write::UpdateDropOffItem(i) => exec_versioned(
            c,
            "UPDATE drop_off_items SET compartment_id = ?1, label = ?2, state = ?3, reason = ?4,
                relocation_point_id = ?5, done_at = ?6, version = version + 1
             WHERE session_id = ?7 AND parcel_id = ?8 AND version = ?9",
            params![
                i.compartment_id.map(id),
                i.label,
                i.state.as_str(),
                i.reason,
                i.relocation_point_id.map(id),
                i.done_at.map(micros),
                id(i.session_id),
                id(i.parcel_id),
                i.version
            ],
        ),
        Write::InsertDoorCommand(d) => exec(
            c,
            "INSERT INTO door_commands (id, point_id, compartment_id, label, purpose, parcel_id, session_id, reason,
                state, created_at, done_at, version)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            params![
                id(d.id),
                id(d.point_id),
                id(d.compartment_id),
                d.label,
                d.purpose.as_str(),
                d.parcel_id.map(id),
                d.session_id.map(id),
                d.reason,
                d.state.as_str(),
                micros(d.created_at),
                d.done_at.map(micros),
                d.version
            ],
        )
        .map(drop),
        Write::UpdateDoorCommand(d) => exec_versioned(
            c,
            "UPDATE door_commands SET state = ?1, done_at = ?2, version = version + 1 WHERE id = ?3 AND version = ?4",
            params![d.state.as_str(), d.done_at.map(micros), id(d.id), d.version],
        ),
        Write::PutDeviceStatus(d) => exec(
            c,
            "INSERT INTO device_status (point_id, key_id, last_seen_at, doors, firmware, offline_since)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (point_id) DO UPDATE SET key_id = excluded.key_id, last_seen_at = excluded.last_seen_at,
                doors = excluded.doors, firmware = excluded.firmware, offline_since = excluded.offline_since",
            params![
                id(d.point_id),
                id(d.key_id),
                micros(d.last_seen_at),
                crate::doors_to_text(&d.doors),
                d.firmware,
                d.offline_since.map(micros)
            ],
        )
        .map(drop),
        Write::MarkDeviceOffline { point_id, last_seen_at, at } => exec_versioned(
            c,
            "UPDATE device_status SET offline_since = ?1
             WHERE point_id = ?2 AND last_seen_at = ?3 AND offline_since IS NULL",
            params![micros(*at), id(*point_id), micros(*last_seen_at)],
        ),
        Write::AppendAudit(a) => exec(
            c,
            "INSERT INTO audit_log (at, actor_kind, actor_ref, action, point_id, compartment_id, parcel_id, reason)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                micros(a.at),
                a.actor.kind.as_str(),
                a.actor.reference,
                a.action,
                a.point_id.map(id),
                a.compartment_id.map(id),
                a.parcel_id.map(id),
                a.reason
            ],
        )
        .map(drop),
    }
}

fn compartment_columns(state: &CompartmentState) -> (&'static str, Option<[u8; 16]>, Option<i64>) {
    match *state {
        CompartmentState::Available | CompartmentState::OutOfService | CompartmentState::Disabled => {
            (state.name(), None, None)
        }
        CompartmentState::Reserved { parcel_id, expires_at } => {
            (state.name(), Some(id(parcel_id)), expires_at.map(micros))
        }
        CompartmentState::Occupied { parcel_id } => (state.name(), Some(id(parcel_id)), None),
    }
}

fn id<T>(id: Id<T>) -> [u8; 16] {
    *id.as_bytes()
}

fn micros(t: Timestamp) -> i64 {
    t.timestamp_micros()
}

fn get<T: FromSql>(row: &Row, index: usize) -> StoreResult<T> {
    row.get(index).map_err(StoreError::new)
}

fn get_id<T>(row: &Row, index: usize) -> StoreResult<Id<T>> {
    let bytes: Vec<u8> = get(row, index)?;
    Id::from_slice(&bytes).ok_or_else(|| corrupt("id"))
}

fn get_opt_id<T>(row: &Row, index: usize) -> StoreResult<Option<Id<T>>> {
    let bytes: Option<Vec<u8>> = get(row, index)?;
    bytes.map(|b| Id::from_slice(&b).ok_or_else(|| corrupt("id"))).transpose()
}

fn get_time(row: &Row, index: usize) -> StoreResult<Timestamp> {
    let value: i64 = get(row, index)?;
    chrono::DateTime::from_timestamp_micros(value).ok_or_else(|| corrupt("timestamp"))
}

fn get_opt_time(row: &Row, index: usize) -> StoreResult<Option<Timestamp>> {
    let value: Option<i64> = get(row, index)?;
    value.map(|v| chrono::DateTime::from_timestamp_micros(v).ok_or_else(|| corrupt("timestamp"))).transpose()
}

fn get_digest(row: &Row, index: usize) -> StoreResult<[u8; 32]> {
    let bytes: Vec<u8> = get(row, index)?;
    bytes.try_into().map_err(|_| corrupt("digest"))
}

const NETWORK_COLUMNS: &str = "id, name, hold_window_hours, extension_count_max, extension_hours,
    extension_earliest_after_deposit_hours, reminder_offsets_hours, reservation_hours, created_at";

fn network_row(r: &Row) -> StoreResult<Network> {
    Ok(Network {
        id: get_id(r, 0)?,
        name: get(r, 1)?,
        rules: NetworkRules {
            hold_window_hours: get(r, 2)?,
            extension_count_max: get(r, 3)?,
            extension_hours: get(r, 4)?,
            extension_earliest_after_deposit_hours: get(r, 5)?,
            reminder_offsets_hours: offsets_from_text(&get::<String>(r, 6)?)?,
            reservation_hours: get(r, 7)?,
        },
        created_at: get_time(r, 8)?,
    })
}

const POINT_COLUMNS: &str = "id, network_id, external_id, kind, name, address_line1, address_line2, postcode, city,
    country, latitude, longitude, timezone, status, shelf_capacity, shelf_occupied, weight_max_g,
    dimensions_sum_max_mm, created_at, version, opening_hours, closures, services, source, updated_at";

fn point_row(r: &Row) -> StoreResult<PickupPoint> {
    Ok(PickupPoint {
        id: get_id(r, 0)?,
        network_id: get_id(r, 1)?,
        external_id: get(r, 2)?,
        kind: PointKind::parse(&get::<String>(r, 3)?).map_err(|_| corrupt("point kind"))?,
        name: get(r, 4)?,
        address: Address {
            line1: get(r, 5)?,
            line2: get(r, 6)?,
            postcode: get(r, 7)?,
            city: get(r, 8)?,
            country: get(r, 9)?,
        },
        coordinates: Coordinates::parse(get(r, 10)?, get(r, 11)?).map_err(|_| corrupt("coordinates"))?,
        timezone: get(r, 12)?,
        status: PointStatus::parse(&get::<String>(r, 13)?).map_err(|_| corrupt("point status"))?,
        shelf_capacity: get(r, 14)?,
        shelf_occupied: get(r, 15)?,
        weight_max: Weight::from_grams(get(r, 16)?).map_err(|_| corrupt("weight"))?,
        dimensions_sum_mm_max: get(r, 17)?,
        created_at: get_time(r, 18)?,
        version: get(r, 19)?,
        opening_hours: get::<Option<String>>(r, 20)?.map(OpeningHours::from_stored),
        closures: closures_from_text(&get::<String>(r, 21)?)?,
        services: Services::parse(&get::<String>(r, 22)?).map_err(|_| corrupt("point services"))?,
        source: get(r, 23)?,
        updated_at: get_time(r, 24)?,
    })
}

const IMPORT_COLUMNS: &str = "id, network_id, format, source, at, status, rows_total, rows_refused, added, changed,
    moved, closed, reopened, removed, unchanged, problems";

fn import_row(r: &Row) -> StoreResult<ImportRecord> {
    Ok(ImportRecord {
        id: get_id(r, 0)?,
        network_id: get_id(r, 1)?,
        format: get(r, 2)?,
        source: get(r, 3)?,
        at: get_time(r, 4)?,
        status: get(r, 5)?,
        rows_total: get(r, 6)?,
        rows_refused: get(r, 7)?,
        changes: [get(r, 8)?, get(r, 9)?, get(r, 10)?, get(r, 11)?, get(r, 12)?, get(r, 13)?],
        unchanged: get(r, 14)?,
        problems: get(r, 15)?,
    })
}

fn point_change_row(r: &Row) -> StoreResult<PointChange> {
    Ok(PointChange {
        seq: get(r, 0)?,
        point_id: get_id(r, 1)?,
        import_id: get_opt_id(r, 2)?,
        at: get_time(r, 3)?,
        kind: get(r, 4)?,
        fields: crate::fields_from_text(&get::<String>(r, 5)?)?,
    })
}

fn counts_row(r: &Row) -> StoreResult<crate::CountsRow> {
    let size = SizeClass::parse(&get::<String>(r, 1)?).map_err(|_| corrupt("size class"))?;
    Ok((get_id(r, 0)?, size as usize, get(r, 2)?, get(r, 3)?, get(r, 4)?, get(r, 5)?))
}

const COMPARTMENT_COLUMNS: &str =
    "id, point_id, label, size, state, parcel_id, reserved_until, version, fault, sharers";

fn compartment_row(r: &Row) -> StoreResult<Compartment> {
    let parcel: Option<ParcelId> = get_opt_id(r, 5)?;
    let state = crate::compartment_state(&get::<String>(r, 4)?, parcel, get_opt_time(r, 6)?)?;
    Ok(Compartment {
        id: get_id(r, 0)?,
        point_id: get_id(r, 1)?,
        label: get(r, 2)?,
        size: SizeClass::parse(&get::<String>(r, 3)?).map_err(|_| corrupt("size class"))?,
        state,
        sharers: crate::sharers_from_text(&get::<String>(r, 9)?)?,
        fault: get::<Option<String>>(r, 8)?
            .map(|f| DoorFault::parse(&f).ok_or_else(|| corrupt("door fault")))
            .transpose()?,
        version: get(r, 7)?,
    })
}

const SESSION_COLUMNS: &str = "id, point_id, carrier_key_id, opened_at, closed_at, version, purpose";

fn session_row(r: &Row) -> StoreResult<DropOffSession> {
    Ok(DropOffSession {
        id: get_id(r, 0)?,
        point_id: get_id(r, 1)?,
        carrier_key_id: get_id(r, 2)?,
        opened_at: get_time(r, 3)?,
        closed_at: get_opt_time(r, 4)?,
        version: get(r, 5)?,
        purpose: SessionPurpose::parse(&get::<String>(r, 6)?).ok_or_else(|| corrupt("session purpose"))?,
    })
}

const ITEM_COLUMNS: &str = "session_id, parcel_id, parcel_number, compartment_id, label, state, reason,
    relocation_point_id, scanned_at, done_at, version";

fn item_row(r: &Row) -> StoreResult<DropOffItem> {
    Ok(DropOffItem {
        session_id: get_id(r, 0)?,
        parcel_id: get_id(r, 1)?,
        parcel_number: get(r, 2)?,
        compartment_id: get_opt_id(r, 3)?,
        label: get(r, 4)?,
        state: ItemState::parse(&get::<String>(r, 5)?).ok_or_else(|| corrupt("item state"))?,
        reason: get(r, 6)?,
        relocation_point_id: get_opt_id(r, 7)?,
        scanned_at: get_time(r, 8)?,
        done_at: get_opt_time(r, 9)?,
        version: get(r, 10)?,
    })
}

const COMMAND_COLUMNS: &str =
    "id, point_id, compartment_id, label, purpose, parcel_id, session_id, reason, state, created_at, done_at, version";

fn command_row(r: &Row) -> StoreResult<DoorCommand> {
    Ok(DoorCommand {
        id: get_id(r, 0)?,
        point_id: get_id(r, 1)?,
        compartment_id: get_id(r, 2)?,
        label: get(r, 3)?,
        purpose: CommandPurpose::parse(&get::<String>(r, 4)?).ok_or_else(|| corrupt("command purpose"))?,
        parcel_id: get_opt_id(r, 5)?,
        session_id: get_opt_id(r, 6)?,
        reason: get(r, 7)?,
        state: CommandState::parse(&get::<String>(r, 8)?).ok_or_else(|| corrupt("command state"))?,
        created_at: get_time(r, 9)?,
        done_at: get_opt_time(r, 10)?,
        version: get(r, 11)?,
    })
}

fn device_status_row(r: &Row) -> StoreResult<DeviceStatus> {
    Ok(DeviceStatus {
        point_id: get_id(r, 0)?,
        key_id: get_id(r, 1)?,
        last_seen_at: get_time(r, 2)?,
        doors: crate::doors_from_text(&get::<String>(r, 3)?)?,
        firmware: get(r, 4)?,
        offline_since: get_opt_time(r, 5)?,
    })
}

fn audit_row(r: &Row) -> StoreResult<AuditEntry> {
    Ok(AuditEntry {
        seq: get(r, 0)?,
        at: get_time(r, 1)?,
        actor: Actor {
            kind: ActorKind::parse(&get::<String>(r, 2)?).ok_or_else(|| corrupt("actor"))?,
            reference: get(r, 3)?,
        },
        action: get(r, 4)?,
        point_id: get_opt_id(r, 5)?,
        compartment_id: get_opt_id(r, 6)?,
        parcel_id: get_opt_id(r, 7)?,
        reason: get(r, 8)?,
    })
}

/// The states in which a parcel's pickup code is live: the condition of the partial unique index on codes
/// (migration 0008), written the same way here so that SQLite sees the index applies to the lookup.
const WAITING_FOR_CODE: &str =
    "(state = 'announced' OR state = 'in_transit' OR state = 'ready_for_pickup' OR state = 'deposit_failed')";

const PARCEL_COLUMNS: &str = "id, number, merchant_id, network_id, point_id, recipient_name, recipient_phone,
    recipient_email, length_mm, width_mm, height_mm, weight_g, state, incident_kind, compartment_id, code_digest,
    qr_digest, deposited_at, pickup_deadline, extensions_used, created_at, updated_at, version, reminders_sent,
    next_reminder_at, relocated_from";

fn parcel_row(r: &Row) -> StoreResult<Parcel> {
    let state = ParcelState::parse(&get::<String>(r, 12)?, get::<Option<String>>(r, 13)?.as_deref())
        .ok_or_else(|| corrupt("parcel state"))?;
    Ok(Parcel {
        id: get_id(r, 0)?,
        number: ParcelNumber::parse(&get::<String>(r, 1)?).map_err(|_| corrupt("parcel number"))?,
        merchant_id: get_id(r, 2)?,
        network_id: get_id(r, 3)?,
        point_id: get_id(r, 4)?,
        recipient: Recipient {
            name: get(r, 5)?,
            phone: get::<Option<String>>(r, 6)?.map(|p| Phone::parse(&p)).transpose().map_err(|_| corrupt("phone"))?,
            email: get::<Option<String>>(r, 7)?.map(|e| Email::parse(&e)).transpose().map_err(|_| corrupt("email"))?,
        },
        dimensions: Dimensions::from_mm(get(r, 8)?, get(r, 9)?, get(r, 10)?).map_err(|_| corrupt("dimensions"))?,
        weight: Weight::from_grams(get(r, 11)?).map_err(|_| corrupt("weight"))?,
        state,
        compartment_id: get_opt_id(r, 14)?,
        secrets: PickupSecretDigests { code: get_digest(r, 15)?, qr: get_digest(r, 16)? },
        deposited_at: get_opt_time(r, 17)?,
        pickup_deadline: get_opt_time(r, 18)?,
        extensions_used: get(r, 19)?,
        created_at: get_time(r, 20)?,
        updated_at: get_time(r, 21)?,
        version: get(r, 22)?,
        reminders_sent: get(r, 23)?,
        next_reminder_at: get_opt_time(r, 24)?,
        relocated_from: get_opt_id(r, 25)?,
    })
}

fn event_row(r: &Row) -> StoreResult<StoredEvent> {
    let incident: Option<String> = get(r, 5)?;
    let from = get::<Option<String>>(r, 3)?
        .map(|s| ParcelState::parse(&s, incident.as_deref()).ok_or_else(|| corrupt("state")))
        .transpose()?;
    Ok(StoredEvent {
        seq: get(r, 0)?,
        event: ParcelEvent {
            parcel_id: get_id(r, 1)?,
            kind: EventKind::parse(&get::<String>(r, 2)?).ok_or_else(|| corrupt("event kind"))?,
            from,
            to: ParcelState::parse(&get::<String>(r, 4)?, incident.as_deref()).ok_or_else(|| corrupt("state"))?,
            actor: Actor {
                kind: ActorKind::parse(&get::<String>(r, 6)?).ok_or_else(|| corrupt("actor"))?,
                reference: get(r, 7)?,
            },
            reason: get(r, 8)?,
            compartment_id: get_opt_id(r, 9)?,
            at: get_time(r, 10)?,
        },
    })
}

fn outbox_row(r: &Row) -> StoreResult<OutboxMessage> {
    let payload: String = get(r, 3)?;
    Ok(OutboxMessage {
        id: get_id(r, 0)?,
        topic: get(r, 1)?,
        parcel_id: get_opt_id(r, 2)?,
        payload: serde_json::from_str(&payload).map_err(|_| corrupt("outbox payload"))?,
        created_at: get_time(r, 4)?,
    })
}

fn api_key_row(r: &Row) -> StoreResult<ApiKey> {
    Ok(ApiKey {
        id: get_id(r, 0)?,
        role: Role::parse(&get::<String>(r, 1)?).ok_or_else(|| corrupt("role"))?,
        merchant_id: get_opt_id(r, 2)?,
        point_id: get_opt_id(r, 3)?,
        label: get(r, 4)?,
        digest: get_digest(r, 5)?,
        created_at: get_time(r, 6)?,
    })
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn ping(&self) -> StoreResult<()> {
        self.one("SELECT 1", &[], |r| get::<i64>(r, 0)).map(drop)
    }

    async fn network(&self, network_id: NetworkId) -> StoreResult<Option<Network>> {
        self.one(&format!("SELECT {NETWORK_COLUMNS} FROM networks WHERE id = ?1"), &[&id(network_id)], network_row)
    }

    async fn networks(&self, page: Page<NetworkId>) -> StoreResult<Vec<Network>> {
        let after = page.after.map(id).unwrap_or([0; 16]);
        self.many(
            &format!("SELECT {NETWORK_COLUMNS} FROM networks WHERE id > ?1 ORDER BY id LIMIT ?2"),
            &[&after, &page.limit],
            network_row,
        )
    }

    async fn merchant(&self, merchant_id: MerchantId) -> StoreResult<Option<Merchant>> {
        self.one("SELECT id, name, created_at FROM merchants WHERE id = ?1", &[&id(merchant_id)], |r| {
            Ok(Merchant { id: get_id(r, 0)?, name: get(r, 1)?, created_at: get_time(r, 2)? })
        })
    }

    async fn point(&self, point_id: PointId) -> StoreResult<Option<PickupPoint>> {
        self.one(&format!("SELECT {POINT_COLUMNS} FROM pickup_points WHERE id = ?1"), &[&id(point_id)], point_row)
    }

    async fn points(&self, network_id: Option<NetworkId>, page: Page<PointId>) -> StoreResult<Vec<PickupPoint>> {
        let after = page.after.map(id).unwrap_or([0; 16]);
        match network_id {
            Some(network) => self.many(
                &format!(
                    "SELECT {POINT_COLUMNS} FROM pickup_points WHERE network_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3"
                ),
                &[&id(network), &after, &page.limit],
                point_row,
            ),
            None => self.many(
                &format!("SELECT {POINT_COLUMNS} FROM pickup_points WHERE id > ?1 ORDER BY id LIMIT ?2"),
                &[&after, &page.limit],
                point_row,
            ),
        }
    }

    async fn count_points(&self) -> StoreResult<u64> {
        Ok(self.one("SELECT COUNT(*) FROM pickup_points", &[], |r| get::<i64>(r, 0))?.unwrap_or(0) as u64)
    }

    async fn network_points(&self, network_id: NetworkId) -> StoreResult<Vec<PickupPoint>> {
        self.many(
            &format!("SELECT {POINT_COLUMNS} FROM pickup_points WHERE network_id = ?1"),
            &[&id(network_id)],
            point_row,
        )
    }

    async fn compartment_counts(&self, point_id: Option<PointId>) -> StoreResult<Vec<CompartmentCounts>> {
        let rows = match point_id {
            Some(point) => self.many(
                "SELECT point_id, size, COUNT(*), SUM(state = 'available'), SUM(state = 'occupied'),
                    SUM(state = 'reserved')
                 FROM compartments WHERE point_id = ?1 GROUP BY point_id, size ORDER BY point_id",
                &[&id(point)],
                counts_row,
            )?,
            None => self.many(
                "SELECT point_id, size, COUNT(*), SUM(state = 'available'), SUM(state = 'occupied'),
                    SUM(state = 'reserved')
                 FROM compartments GROUP BY point_id, size ORDER BY point_id",
                &[],
                counts_row,
            )?,
        };
        Ok(crate::gather_counts(rows))
    }

    async fn imports(&self, network_id: NetworkId, page: Page<ImportId>) -> StoreResult<Vec<ImportRecord>> {
        let before = page.after.map(id).unwrap_or([0xFF; 16]);
        self.many(
            &format!(
                "SELECT {IMPORT_COLUMNS} FROM point_imports WHERE network_id = ?1 AND id < ?2 ORDER BY id DESC LIMIT ?3"
            ),
            &[&id(network_id), &before, &page.limit],
            import_row,
        )
    }

    async fn occupancy_alert(&self, point_id: PointId) -> StoreResult<Option<OccupancyAlert>> {
        self.one("SELECT point_id, raised_at, rate FROM occupancy_alerts WHERE point_id = ?1", &[&id(point_id)], |r| {
            Ok(OccupancyAlert { point_id: get_id(r, 0)?, raised_at: get_time(r, 1)?, rate: get(r, 2)? })
        })
    }

    async fn kpi_events(
        &self,
        point_id: Option<PointId>,
        network_id: Option<NetworkId>,
        from: Timestamp,
        to: Timestamp,
    ) -> StoreResult<Vec<KpiEvent>> {
        self.many(
            "SELECT e.parcel_id, p.point_id, p.pickup_deadline, e.kind, e.incident_kind, e.at
             FROM parcel_events e JOIN parcels p ON p.id = e.parcel_id
             WHERE e.parcel_id IN (SELECT parcel_id FROM parcel_events
                                   WHERE kind IN ('deposited', 'deposit_failed') AND at >= ?1 AND at < ?2)
               AND (?3 IS NULL OR p.point_id = ?3) AND (?4 IS NULL OR p.network_id = ?4)
             ORDER BY e.parcel_id, e.seq",
            &[&micros(from), &micros(to), &point_id.map(id), &network_id.map(id)],
            |r| {
                Ok(KpiEvent {
                    parcel_id: get_id(r, 0)?,
                    point_id: get_id(r, 1)?,
                    pickup_deadline: get_opt_time(r, 2)?,
                    kind: EventKind::parse(&get::<String>(r, 3)?).ok_or_else(|| corrupt("event kind"))?,
                    incident: get::<Option<String>>(r, 4)?.as_deref().and_then(IncidentKind::parse),
                    at: get_time(r, 5)?,
                })
            },
        )
    }

    async fn kpi_facts(
        &self,
        point_id: Option<PointId>,
        network_id: Option<NetworkId>,
        from: Timestamp,
        to: Timestamp,
    ) -> StoreResult<Vec<KpiFact>> {
        let args: [&dyn ToSql; 4] = [&micros(from), &micros(to), &point_id.map(id), &network_id.map(id)];
        let mut facts = self.many(
            "SELECT a.point_id, a.at FROM audit_log a JOIN pickup_points p ON p.id = a.point_id
             WHERE a.action IN ('door_jammed', 'door_forced_open', 'door_broken', 'compartment_blocked') AND a.at >= ?1 AND a.at < ?2
               AND (?3 IS NULL OR a.point_id = ?3) AND (?4 IS NULL OR p.network_id = ?4)",
            &args,
            |r| Ok(KpiFact::HardwareIncident { point_id: get_id(r, 0)?, at: get_time(r, 1)? }),
        )?;
        facts.extend(self.many(
            "SELECT s.point_id, i.scanned_at, i.done_at FROM drop_off_items i
               JOIN drop_off_sessions s ON s.id = i.session_id JOIN pickup_points p ON p.id = s.point_id
             WHERE i.state = 'deposited' AND i.done_at >= ?1 AND i.done_at < ?2
               AND (?3 IS NULL OR s.point_id = ?3) AND (?4 IS NULL OR p.network_id = ?4)",
            &args,
            |r| {
                Ok(KpiFact::DepositHandled {
                    point_id: get_id(r, 0)?,
                    scanned_at: get_time(r, 1)?,
                    closed_at: get_time(r, 2)?,
                })
            },
        )?);
        Ok(facts)
    }

    async fn point_changes(&self, point_id: PointId) -> StoreResult<Vec<PointChange>> {
        self.many(
            "SELECT seq, point_id, import_id, at, kind, fields FROM point_changes WHERE point_id = ?1 ORDER BY seq",
            &[&id(point_id)],
            point_change_row,
        )
    }

    async fn compartments(&self, point_id: PointId) -> StoreResult<Vec<Compartment>> {
        let load = || {
            self.many(
                &format!("SELECT {COMPARTMENT_COLUMNS} FROM compartments WHERE point_id = ?1 ORDER BY label"),
                &[&id(point_id)],
                compartment_row,
            )
        };
        let lookup = self.compartments.lookup(point_id);
        crate::metrics::door_copy_read(matches!(lookup, Lookup::Hit(_)));
        match lookup {
            Lookup::Hit(compartments) => Ok(compartments.as_ref().clone()),
            Lookup::Bypass => load(),
            Lookup::Load(number) => {
                let loaded = load();
                self.compartments.store(point_id, number, loaded.as_deref().ok());
                loaded
            }
        }
    }

    async fn compartments_with_lapsed_reservation(&self, now: Timestamp, limit: u32) -> StoreResult<Vec<Compartment>> {
        self.many(
            &format!(
                "SELECT {COMPARTMENT_COLUMNS} FROM compartments
                 WHERE state = 'reserved' AND reserved_until <= ?1 ORDER BY reserved_until LIMIT ?2"
            ),
            &[&micros(now), &limit],
            compartment_row,
        )
    }

    async fn compartment(&self, compartment_id: CompartmentId) -> StoreResult<Option<Compartment>> {
        self.one(
            &format!("SELECT {COMPARTMENT_COLUMNS} FROM compartments WHERE id = ?1"),
            &[&id(compartment_id)],
            compartment_row,
        )
    }

    async fn parcel(&self, parcel_id: ParcelId) -> StoreResult<Option<Parcel>> {
        self.one(&format!("SELECT {PARCEL_COLUMNS} FROM parcels WHERE id = ?1"), &[&id(parcel_id)], parcel_row)
    }

    async fn parcel_by_number(&self, number: &ParcelNumber) -> StoreResult<Option<Parcel>> {
        self.one(&format!("SELECT {PARCEL_COLUMNS} FROM parcels WHERE number = ?1"), &[&number.as_str()], parcel_row)
    }

    async fn parcel_by_code(&self, point_id: PointId, code_digest: &[u8; 32]) -> StoreResult<Option<Parcel>> {
        self.one(
            &format!(
                "SELECT {PARCEL_COLUMNS} FROM parcels
                 WHERE point_id = ?1 AND code_digest = ?2 AND {WAITING_FOR_CODE}"
            ),
            &[&id(point_id), &&code_digest[..]],
            parcel_row,
        )
    }

    async fn parcels(&self, filter: &ParcelFilter, page: Page<ParcelId>) -> StoreResult<Vec<Parcel>> {
        let after = page.after.map(id).unwrap_or([0; 16]);
        let merchant = filter.merchant_id.map(id);
        let point = filter.point_id.map(id);
        let state = filter.state.map(ParcelState::as_str);
        let incident = filter.state.and_then(ParcelState::incident_kind).map(|k| k.as_str());
        self.read(|c| {
            let sql = format!(
                "SELECT {PARCEL_COLUMNS} FROM parcels
                 WHERE id > ?1 AND (?2 IS NULL OR merchant_id = ?2) AND (?3 IS NULL OR point_id = ?3)
                   AND (?4 IS NULL OR state = ?4) AND (?5 IS NULL OR incident_kind = ?5)
                 ORDER BY id LIMIT ?6"
            );
            let mut statement = c.prepare_cached(&sql).map_err(StoreError::new)?;
            let mut rows = statement
                .query(params![after, merchant, point, state, incident, page.limit])
                .map_err(StoreError::new)?;
            let mut out = Vec::new();
            while let Some(row) = rows.next().map_err(StoreError::new)? {
                out.push(parcel_row(row)?);
            }
            Ok(out)
        })
    }

    async fn parcels_waiting_for(
        &self,
        point_id: PointId,
        phone: Option<&Phone>,
        email: Option<&Email>,
        limit: u32,
    ) -> StoreResult<Vec<Parcel>> {
        // Two lookups, one per partial index. Written as an OR with `ORDER BY id`, the planner walked every
        // parcel the point ever had instead (EXPLAIN QUERY PLAN).
        self.many(
            &format!(
                "SELECT {PARCEL_COLUMNS} FROM parcels
                 WHERE state = 'ready_for_pickup' AND point_id = ?1 AND recipient_phone = ?2
                 UNION
                 SELECT {PARCEL_COLUMNS} FROM parcels
                 WHERE state = 'ready_for_pickup' AND point_id = ?1 AND recipient_email = ?3
                 LIMIT ?4"
            ),
            &[&id(point_id), &phone.map(Phone::as_str), &email.map(Email::as_str), &limit],
            parcel_row,
        )
    }

    async fn parcels_due_for_expiry(&self, now: Timestamp, limit: u32) -> StoreResult<Vec<Parcel>> {
        self.many(
            &format!(
                "SELECT {PARCEL_COLUMNS} FROM parcels
                 WHERE state = 'ready_for_pickup' AND pickup_deadline <= ?1 ORDER BY pickup_deadline LIMIT ?2"
            ),
            &[&micros(now), &limit],
            parcel_row,
        )
    }

    async fn parcels_due_for_reminder(&self, now: Timestamp, limit: u32) -> StoreResult<Vec<Parcel>> {
        self.many(
            &format!(
                "SELECT {PARCEL_COLUMNS} FROM parcels
                 WHERE state = 'ready_for_pickup' AND next_reminder_at IS NOT NULL AND next_reminder_at <= ?1
                 ORDER BY next_reminder_at LIMIT ?2"
            ),
            &[&micros(now), &limit],
            parcel_row,
        )
    }

    async fn events(&self, parcel_id: ParcelId) -> StoreResult<Vec<StoredEvent>> {
        self.many(
            "SELECT seq, parcel_id, kind, from_state, to_state, incident_kind, actor_kind, actor_ref, reason,
                compartment_id, at
             FROM parcel_events WHERE parcel_id = ?1 ORDER BY seq",
            &[&id(parcel_id)],
            event_row,
        )
    }

    async fn outbox(&self, after: Option<OutboxId>, limit: u32) -> StoreResult<Vec<OutboxMessage>> {
        let after = after.map(id).unwrap_or([0; 16]);
        self.many(
            "SELECT id, topic, parcel_id, payload, created_at FROM outbox WHERE id > ?1 ORDER BY id LIMIT ?2",
            &[&after, &limit],
            outbox_row,
        )
    }

    async fn attempt_counter(&self, scope: AttemptScope) -> StoreResult<Option<StoredCounter>> {
        self.one(
            "SELECT failures, window_started_at, locked_until, version FROM pickup_attempts WHERE scope_key = ?1",
            &[&scope.key()],
            |r| {
                Ok(StoredCounter {
                    counter: AttemptCounter {
                        failures: get(r, 0)?,
                        window_started_at: get_time(r, 1)?,
                        locked_until: get_opt_time(r, 2)?,
                    },
                    version: get(r, 3)?,
                })
            },
        )
    }

    async fn api_key_by_digest(&self, digest: &[u8; 32]) -> StoreResult<Option<ApiKey>> {
        self.one(
            "SELECT id, role, merchant_id, point_id, label, digest, created_at FROM api_keys
             WHERE digest = ?1 AND revoked_at IS NULL",
            &[&&digest[..]],
            api_key_row,
        )
    }

    async fn api_keys_with_role(&self, role: Role) -> StoreResult<Vec<ApiKey>> {
        self.many(
            "SELECT id, role, merchant_id, point_id, label, digest, created_at FROM api_keys
             WHERE role = ?1 AND revoked_at IS NULL ORDER BY id",
            &[&role.as_str()],
            api_key_row,
        )
    }

    async fn drop_off_session(&self, session_id: DropOffSessionId) -> StoreResult<Option<DropOffSession>> {
        self.one(
            &format!("SELECT {SESSION_COLUMNS} FROM drop_off_sessions WHERE id = ?1"),
            &[&id(session_id)],
            session_row,
        )
    }

    async fn drop_off_items(&self, session_id: DropOffSessionId) -> StoreResult<Vec<DropOffItem>> {
        self.many(
            &format!("SELECT {ITEM_COLUMNS} FROM drop_off_items WHERE session_id = ?1 ORDER BY scanned_at, parcel_id"),
            &[&id(session_id)],
            item_row,
        )
    }

    async fn door_command(&self, command_id: CommandId) -> StoreResult<Option<DoorCommand>> {
        self.one(&format!("SELECT {COMMAND_COLUMNS} FROM door_commands WHERE id = ?1"), &[&id(command_id)], command_row)
    }

    async fn pending_door_command(&self, compartment_id: CompartmentId) -> StoreResult<Option<DoorCommand>> {
        self.one(
            &format!("SELECT {COMMAND_COLUMNS} FROM door_commands WHERE compartment_id = ?1 AND state = 'pending'"),
            &[&id(compartment_id)],
            command_row,
        )
    }

    async fn pending_door_commands(&self, point_id: PointId) -> StoreResult<Vec<DoorCommand>> {
        self.many(
            &format!(
                "SELECT {COMMAND_COLUMNS} FROM door_commands WHERE point_id = ?1 AND state = 'pending' ORDER BY id"
            ),
            &[&id(point_id)],
            command_row,
        )
    }

    async fn device_status(&self, point_id: PointId) -> StoreResult<Option<DeviceStatus>> {
        self.one(
            "SELECT point_id, key_id, last_seen_at, doors, firmware, offline_since FROM device_status WHERE point_id = ?1",
            &[&id(point_id)],
            device_status_row,
        )
    }

    async fn silent_devices(&self, before: Timestamp, limit: u32) -> StoreResult<Vec<DeviceStatus>> {
        self.many(
            "SELECT point_id, key_id, last_seen_at, doors, firmware, offline_since FROM device_status
             WHERE last_seen_at < ?1 AND offline_since IS NULL ORDER BY last_seen_at LIMIT ?2",
            &[&micros(before), &limit],
            device_status_row,
        )
    }

    async fn audit(
        &self,
        point_id: Option<PointId>,
        parcel_id: Option<ParcelId>,
        after: Option<i64>,
        limit: u32,
    ) -> StoreResult<Vec<AuditEntry>> {
        self.many(
            "SELECT seq, at, actor_kind, actor_ref, action, point_id, compartment_id, parcel_id, reason FROM audit_log
             WHERE (?1 IS NULL OR point_id = ?1) AND (?2 IS NULL OR parcel_id = ?2) AND seq > ?3
             ORDER BY seq LIMIT ?4",
            &[&point_id.map(id), &parcel_id.map(id), &after.unwrap_or(0), &limit],
            audit_row,
        )
    }

    async fn commit(&self, writes: Vec<Write>) -> Result<(), CommitError> {
        let (reply, result) = tokio::sync::oneshot::channel();
        let writer = self.writer.clone();
        // The queue is bounded; when it is full, wait off the async workers rather than block them.
        match writer.try_send(Job { command: Command::new(writes), reply }) {
            Ok(()) => {}
            Err(mpsc::TrySendError::Full(job)) => {
                tokio::task::spawn_blocking(move || writer.send(job))
                    .await
                    .map_err(|e| CommitError::Store(StoreError::new(e)))?
                    .map_err(|_| CommitError::Store(StoreError("the SQLite writer has stopped".into())))?;
            }
            Err(mpsc::TrySendError::Disconnected(_)) => {
                return Err(CommitError::Store(StoreError("the SQLite writer has stopped".into())));
            }
        }
        let (result, command) =
            result.await.map_err(|_| CommitError::Store(StoreError("the SQLite writer has stopped".into())))?;
        drop(command);
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn merchant(n: u8, name: &str) -> Merchant {
        let at = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_else(|| unreachable!());
        Merchant { id: Id::from_parts(1_800_000_000_000, [n; 10]), name: name.into(), created_at: at }
    }

    fn job(writes: Vec<Write>) -> Job {
        Job { command: Command::new(writes), reply: tokio::sync::oneshot::channel().0 }
    }

    /// A batch where one command fails half-way: that command leaves nothing, the others commit (the
    /// first, optimistic pass fails, and the batch is run again with savepoints).
    #[test]
    fn a_failing_command_leaves_nothing_and_the_rest_of_its_batch_commits() {
        // A migrated file (removed when `test` is dropped), written here on a connection of the test's own.
        let test = crate::testing::sqlite();
        let c = Connection::open(&test.url).unwrap_or_else(|e| panic!("{e}"));
        configure(&c).unwrap_or_else(|e| panic!("{e}"));

        let batch = vec![
            job(vec![Write::InsertMerchant(merchant(1, "first"))]),
            // Its first write would succeed; its second reuses the first command's id.
            job(vec![Write::InsertMerchant(merchant(2, "half")), Write::InsertMerchant(merchant(1, "clash"))]),
            job(vec![Write::InsertMerchant(merchant(3, "third"))]),
        ];
        let results = commit_batch(&c, &batch);
        assert!(results[0].is_ok() && results[2].is_ok(), "{results:?}");
        assert!(matches!(results[1], Err(CommitError::Duplicate { what: "id" })), "{results:?}");
        let names: Vec<String> = c
            .prepare("SELECT name FROM merchants ORDER BY name")
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(names, ["first", "third"]);

        // And a batch with no failure commits in one pass.
        let results = commit_batch(&c, &[job(vec![Write::InsertMerchant(merchant(4, "fourth"))])]);
        assert!(results[0].is_ok(), "{results:?}");
        let count: i64 =
            c.query_row("SELECT count(*) FROM merchants", [], |r| r.get(0)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(count, 3);
    }

    /// The pickup-code lookup uses the partial unique index on codes, and writing a parcel evaluates that
    /// index's condition in place: a `state IN (...)` there built a temporary B-tree at every check.
    #[test]
    fn the_code_index_serves_lookups_and_costs_no_temporary_table_to_maintain() {
        let test = crate::testing::sqlite();
        let c = Connection::open(&test.url).unwrap_or_else(|e| panic!("{e}"));
        let plan: Vec<String> = c
            .prepare(&format!(
                "EXPLAIN QUERY PLAN SELECT id FROM parcels WHERE point_id = ?1 AND code_digest = ?2 AND {WAITING_FOR_CODE}"
            ))
            .and_then(|mut s| s.query_map([&[0u8; 16][..], &[0u8; 32][..]], |r| r.get(3))?.collect())
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(plan.iter().any(|step| step.contains("parcels_point_id_code_digest_key")), "{plan:?}");
        for statement in [
            "UPDATE parcels SET state = ?1, version = version + 1 WHERE id = ?2 AND version = ?3",
            "INSERT INTO parcels (id, number, merchant_id, network_id, point_id, recipient_name, length_mm, width_mm,
                height_mm, weight_g, state, code_digest, qr_digest, created_at, updated_at, version)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, 1, 1, 1, ?7, ?8, ?9, 0, 0, 1)",
        ] {
            let opcodes: Vec<String> = c
                .prepare(&format!("EXPLAIN {statement}"))
                .and_then(|mut s| {
                    let nulls = vec![rusqlite::types::Null; s.parameter_count()];
                    s.query_map(rusqlite::params_from_iter(nulls), |r| r.get(1))?.collect()
                })
                .unwrap_or_else(|e| panic!("{e}"));
            assert!(opcodes.iter().any(|op| op == "IdxInsert"), "{statement}: {opcodes:?}");
            assert!(!opcodes.iter().any(|op| op == "OpenEphemeral"), "{statement}: {opcodes:?}");
        }
    }

    /// `relais bench lifecycle --bare-ceiling` measures the rows without their indexes: the figure is only
    /// what it says if every index but the tables' own keys is gone, and the rows still go in.
    #[test]
    fn the_bare_ceiling_leaves_only_the_tables_own_keys() {
        let test = crate::testing::sqlite();
        let dropped = drop_secondary_indexes(Path::new(&test.url)).unwrap_or_else(|e| panic!("{e}"));
        assert!(dropped >= 15, "{dropped}");
        let c = Connection::open(&test.url).unwrap_or_else(|e| panic!("{e}"));
        let left: Vec<String> = c
            .prepare(SECONDARY_INDEXES)
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(left.is_empty(), "{left:?}");
        let results = commit_batch(&c, &[job(vec![Write::InsertMerchant(merchant(1, "bare"))])]);
        assert!(results[0].is_ok(), "{results:?}");
    }
}
