//! The write-ahead log kept bounded. SQLite's automatic checkpoint is passive: it copies to the
//! database file only the frames no reader still needs, and the log starts again from its beginning
//! only once every frame is copied and no reader is on it. Should some reader always be on it (long
//! reads overlapping in the readers' pool), the log never starts again and its file grows without end.
//! That happened: from d211685, one point's compartment count scanned the whole table, the index job
//! ran it after every deposit, and the log of `relais bench network` on 20,000 lockers grew by 35 MB a
//! second until the disk was full (the count now reads through the index, see `reads.rs`). This bound
//! turns the next such reader into slower commits instead of a full disk: when the file passes it, the
//! writer runs a `RESTART` checkpoint, which waits a moment for the readers of the moment to finish,
//! copies what is left, and the next commit writes from the start of the file again, which
//! `journal_size_limit` then cuts back.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use rusqlite::Connection;

/// The log's file size past which the writer restarts it: a few automatic checkpoints' worth.
pub(super) const WAL_BYTES_MAX: u64 = 256 * 1024 * 1024;
/// What the file is cut back to when the log starts again (`journal_size_limit`): rewriting a file
/// in place is cheaper than growing it. Below the bound, or the next check would restart it again.
pub(super) const WAL_BYTES_KEPT: u64 = 64 * 1024 * 1024;
const _: () = assert!(WAL_BYTES_KEPT < WAL_BYTES_MAX);

/// How long a restart waits for the readers of the moment (their statements take microseconds).
const RESTART_WAIT: Duration = Duration::from_millis(100);
/// How often the writer looks at the log's size (one `stat`).
pub(super) const CHECK_EVERY: Duration = Duration::from_secs(1);

pub(super) struct WalBound {
    /// The `-wal` file beside the database; `None` for an in-memory database.
    path: Option<PathBuf>,
    bytes_max: u64,
    every: Duration,
    checked_at: Option<Instant>,
}

impl WalBound {
    pub(super) fn new(connection: &Connection, bytes_max: u64, every: Duration) -> WalBound {
        let path = connection.path().filter(|p| !p.is_empty()).map(|p| PathBuf::from(format!("{p}-wal")));
        WalBound { path, bytes_max, every, checked_at: None }
    }

    /// Called by the writer between transactions: restarts the log when its file is past the bound.
    /// At most once per `every`; a checkpoint that cannot finish (a reader held on past
    /// `RESTART_WAIT`) is tried again at the next check.
    pub(super) fn check(&mut self, connection: &Connection, now: Instant) {
        if self.checked_at.is_some_and(|at| now.duration_since(at) < self.every) {
            return;
        }
        self.checked_at = Some(now);
        let wal_bytes = self.wal_bytes();
        if wal_bytes <= self.bytes_max {
            return;
        }
        let started = Instant::now();
        match restart(connection) {
            Ok(true) => tracing::info!(
                wal_bytes,
                millis = started.elapsed().as_millis() as u64,
                "SQLite write-ahead log restarted"
            ),
            // Readers held on: tried again at the next check. Said loudly once it keeps failing.
            Ok(false) if wal_bytes > 4 * self.bytes_max => {
                tracing::warn!(wal_bytes, "SQLite write-ahead log far past its bound: readers keep holding it")
            }
            Ok(false) => tracing::debug!(wal_bytes, "SQLite write-ahead log restart put off: readers held it"),
            Err(e) => tracing::warn!(error = %e, "SQLite write-ahead log checkpoint failed"),
        }
    }

    fn wal_bytes(&self) -> u64 {
        self.path.as_ref().and_then(|p| std::fs::metadata(p).ok()).map_or(0, |m| m.len())
    }
}

/// A `RESTART` checkpoint; whether it completed (false: readers held on). Commits wait while it runs,
/// so it waits for readers `RESTART_WAIT` at most, not the connection's busy timeout.
fn restart(connection: &Connection) -> rusqlite::Result<bool> {
    connection.busy_timeout(RESTART_WAIT)?;
    let busy = connection.query_row("PRAGMA wal_checkpoint(RESTART)", [], |r| r.get::<_, i64>(0));
    connection.busy_timeout(super::BUSY_TIMEOUT)?;
    Ok(busy? == 0)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    use super::*;

    fn open(path: &str) -> Connection {
        let c = Connection::open(path).unwrap_or_else(|e| panic!("{e}"));
        crate::sqlite::configure(&c).unwrap_or_else(|e| panic!("{e}"));
        c
    }

    /// Two readers take turns so that one is always inside a read transaction, as the readers' pool is
    /// under load: the passive checkpoint alone would let the log grow with every commit (30 MB here).
    #[test]
    fn the_log_stays_bounded_while_readers_never_stop() {
        let test = crate::testing::sqlite();
        let writer = open(&test.url);
        let (bytes_max, bytes_kept) = (2 * 1024 * 1024, 1024 * 1024);
        writer.execute_batch(&format!("PRAGMA journal_size_limit = {bytes_kept}")).unwrap();
        writer.execute_batch("CREATE TABLE blobs (id INTEGER PRIMARY KEY, body BLOB NOT NULL)").unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let readers: Vec<_> = (0..2)
            .map(|n| {
                let (url, stop) = (test.url.clone(), Arc::clone(&stop));
                std::thread::spawn(move || {
                    let c = open(&url);
                    std::thread::sleep(Duration::from_millis(2 * n));
                    while !stop.load(Ordering::Relaxed) {
                        c.execute_batch("BEGIN").unwrap();
                        let _: i64 = c.query_row("SELECT count(*) FROM blobs", [], |r| r.get(0)).unwrap();
                        std::thread::sleep(Duration::from_millis(4));
                        c.execute_batch("COMMIT").unwrap();
                    }
                })
            })
            .collect();

        let mut bound = WalBound::new(&writer, bytes_max, Duration::ZERO);
        let (mut largest, mut restarts) = (0, 0);
        for commit in 0..300 {
            let tx = writer.unchecked_transaction().unwrap();
            for row in 0..10 {
                tx.execute("INSERT INTO blobs (id, body) VALUES (?1, zeroblob(10000))", [commit * 10 + row]).unwrap();
            }
            tx.commit().unwrap();
            let before = bound.wal_bytes();
            bound.check(&writer, Instant::now());
            restarts += usize::from(before > bytes_max);
            largest = largest.max(bound.wal_bytes());
        }
        stop.store(true, Ordering::Relaxed);
        readers.into_iter().for_each(|r| r.join().unwrap());

        // Past the bound by at most the commit that crossed it (about 100 KB of pages).
        assert!(largest < bytes_max + 1024 * 1024, "the log reached {largest} bytes");
        // Cut back after each restart, so restarted only when it grew past the bound again: 30 MB
        // written, about 1 MB between a cut and the bound.
        assert!((10..=40).contains(&restarts), "{restarts} restarts");
        let rows: i64 = writer.query_row("SELECT count(*) FROM blobs", [], |r| r.get(0)).unwrap();
        assert_eq!(rows, 3000);
    }
}
