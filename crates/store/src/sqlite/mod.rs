//! The SQLite backend, the embedded default: one file (`relais.db`), WAL journal, `synchronous=FULL`.
//!
//! Writes go through one writer thread that commits batches (group commit): every command waiting when
//! the writer is free joins the next transaction, and they all commit with one fsync. A command that
//! fails (a conflict) rolls back alone. Reads use a small pool of read-only connections and run on the calling task: a read
//! from the page cache takes microseconds, less than a hop to a blocking thread would
//! (docs/adr/0001-storage-access.md). A locker's doors are read from a copy the writer keeps exact
//! (`doors.rs`, ADR 10). The writer is `writer.rs`, what each write runs `writes.rs`, the reads
//! `reads.rs`; rows are decoded by `crate::rows`, as on PostgreSQL.

mod doors;
mod outbox;
mod reads;
mod wal;
mod writer;
mod writes;

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use relais_app::ports::{StoreError, StoreResult};
use rusqlite::types::ToSql;
use rusqlite::{Connection, OpenFlags, Row, params};

use self::doors::{CACHED_POINTS_MAX, CompartmentCache};
use self::writer::{Job, QUEUE_COMMANDS_MAX, write_loop};
use crate::rows::Columns;

pub(crate) use self::writer::Command;

const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "init", include_str!("../../migrations/sqlite/0001_init.sql")),
    (2, "point_hours", include_str!("../../migrations/sqlite/0002_point_hours.sql")),
    (3, "point_registry", include_str!("../../migrations/sqlite/0003_point_registry.sql")),
    (4, "occupancy_alerts", include_str!("../../migrations/sqlite/0004_occupancy_alerts.sql")),
    (5, "locker_devices", include_str!("../../migrations/sqlite/0005_locker_devices.sql")),
    (6, "shared_compartments", include_str!("../../migrations/sqlite/0006_shared_compartments.sql")),
    (7, "leaner_parcel_indexes", include_str!("../../migrations/sqlite/0007_leaner_parcel_indexes.sql")),
    (8, "code_index_without_in", include_str!("../../migrations/sqlite/0008_code_index_without_in.sql")),
    (9, "outbox_rowid", include_str!("../../migrations/sqlite/0009_outbox_rowid.sql")),
    (10, "carriers", include_str!("../../migrations/sqlite/0010_carriers.sql")),
    (11, "carrier_keys_index", include_str!("../../migrations/sqlite/0011_carrier_keys_index.sql")),
    (12, "pickup_seal", include_str!("../../migrations/sqlite/0012_pickup_seal.sql")),
    (13, "deliveries", include_str!("../../migrations/sqlite/0013_deliveries.sql")),
    (14, "recipient_rules", include_str!("../../migrations/sqlite/0014_recipient_rules.sql")),
    (15, "numbering", include_str!("../../migrations/sqlite/0015_numbering.sql")),
    (16, "orders", include_str!("../../migrations/sqlite/0016_orders.sql")),
    (17, "shop_connectors", include_str!("../../migrations/sqlite/0017_shop_connectors.sql")),
    (18, "customer_points", include_str!("../../migrations/sqlite/0018_customer_points.sql")),
    (19, "labels", include_str!("../../migrations/sqlite/0019_labels.sql")),
    (20, "shop_write_back", include_str!("../../migrations/sqlite/0020_shop_write_back.sql")),
    (21, "tracking", include_str!("../../migrations/sqlite/0021_tracking.sql")),
    (22, "console", include_str!("../../migrations/sqlite/0022_console.sql")),
    (23, "console_views", include_str!("../../migrations/sqlite/0023_console_views.sql")),
];

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

    fn one<T>(
        &self,
        sql: &str,
        args: &[&dyn ToSql],
        map: impl Fn(&Row<'_>) -> StoreResult<T>,
    ) -> StoreResult<Option<T>> {
        self.read(|c| {
            let mut statement = c.prepare_cached(sql).map_err(StoreError::new)?;
            let mut rows = statement.query(args).map_err(StoreError::new)?;
            match rows.next().map_err(StoreError::new)? {
                Some(row) => map(row).map(Some),
                None => Ok(None),
            }
        })
    }

    fn many<T>(&self, sql: &str, args: &[&dyn ToSql], map: impl Fn(&Row<'_>) -> StoreResult<T>) -> StoreResult<Vec<T>> {
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
            |r| r.owned(0),
        )?;
        tables
            .into_iter()
            .map(|table| {
                let columns =
                    self.many(&format!("SELECT name FROM pragma_table_info('{table}') ORDER BY name"), &[], |r| {
                        r.owned(0)
                    })?;
                Ok((table, columns))
            })
            .collect()
    }
}

/// Page cache and memory map per connection: the hot pages (compartments, recent parcels, index
/// upper levels) stay in memory, and reads of the rest avoid a system call each. The measured effect on
/// `relais bench lifecycle` is in docs/benchmarks.md.
const READ_PRAGMAS: &str = "PRAGMA cache_size = -65536; PRAGMA mmap_size = 268435456;";

/// Distinct statements the store uses, with room to spare: rusqlite's default cache (16) is smaller, and
/// a statement evicted from it is compiled again on its next use.
const STATEMENT_CACHE_CAPACITY: usize = 128;

/// How long a connection waits for a lock another connection holds (another process's writer).
pub(crate) const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// What every connection, reader or writer, is set up with.
pub(crate) fn configure_connection(c: &Connection) -> StoreResult<()> {
    c.set_prepared_statement_cache_capacity(STATEMENT_CACHE_CAPACITY);
    c.busy_timeout(BUSY_TIMEOUT).map_err(StoreError::new)?;
    c.execute_batch(READ_PRAGMAS).map_err(StoreError::new)
}

/// The writer connection: the shared setup plus journal, durability and integrity settings. Each
/// command runs in a savepoint whose sub-journal (the pages it may have to roll back) stays in memory
/// (`temp_store`): on a temporary file it cost one `pwrite` per page a command touched.
pub(crate) fn configure(c: &Connection) -> StoreResult<()> {
    configure_connection(c)?;
    c.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = FULL;
         PRAGMA foreign_keys = ON;
         PRAGMA temp_store = MEMORY;
         PRAGMA wal_autocheckpoint = 10000;", // 40 MB of WAL between checkpoints: fewer double writes.
    )
    .map_err(StoreError::new)?;
    // When the log starts again, its file is cut back to this (see `wal.rs`).
    c.execute_batch(&format!("PRAGMA journal_size_limit = {};", wal::WAL_BYTES_KEPT)).map_err(StoreError::new)
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
