//! The SQLite writer: one thread, one connection, group commit. Every command waiting when the writer
//! is free joins the next transaction, and they all commit with one fsync. Nearly always every command
//! of a batch succeeds; should one fail (a conflict, a duplicate), the batch is rolled back and run
//! again with each command in a savepoint of its own, so that it alone fails (`commit_batch`). After
//! each commit, before anyone hears of it, the writer brings the copy of the doors up to date
//! (`doors.rs`, ADR 10). Between transactions it keeps the write-ahead log bounded (`wal.rs`).

use std::sync::mpsc;

use relais_app::ports::{CommitError, StoreError, Write};
use rusqlite::Connection;

use super::doors::CompartmentCache;
use super::wal::{CHECK_EVERY, WAL_BYTES_MAX, WalBound};
use super::writes::apply;

/// Most commands one transaction takes: bounds the latency a command waits behind others.
const BATCH_COMMANDS_MAX: usize = 512;
/// Commands that may wait for the writer before senders are slowed down.
pub(super) const QUEUE_COMMANDS_MAX: usize = 4096;

pub(super) struct Job {
    command: Command,
    /// The result, and the command itself: dropped by the caller, so that freeing it (a parcel, texts)
    /// is not the writer's work.
    reply: tokio::sync::oneshot::Sender<(Result<(), CommitError>, Command)>,
}

/// A command's writes, with what can be prepared before the writer runs them: the outbox payloads as
/// text. The single writer bounds the throughput of the whole node, so its time goes to the database
/// only; serialising JSON there was about 5 % of it.
pub(crate) struct Command {
    writes: Vec<Write>,
    /// The payload of each `AppendOutbox` in `writes`, in order.
    payloads: Vec<String>,
}

impl Command {
    pub(crate) fn new(writes: Vec<Write>) -> Command {
        let payloads = writes
            .iter()
            .filter_map(|w| match w {
                Write::AppendOutbox(m) => Some(m.payload.to_string()),
                _ => None,
            })
            .collect();
        Command { writes, payloads }
    }

    pub(crate) fn apply(&self, c: &Connection) -> Result<(), CommitError> {
        let mut payloads = self.payloads.iter().map(String::as_str);
        self.writes.iter().try_for_each(|w| apply(c, w, &mut payloads))
    }
}

/// Sends a command to the writer and waits for its answer. The queue is bounded; when it is full, the
/// wait happens off the async workers rather than blocking them.
pub(super) async fn commit(writer: &mpsc::SyncSender<Job>, writes: Vec<Write>) -> Result<(), CommitError> {
    let stopped = || CommitError::Store(StoreError("the SQLite writer has stopped".into()));
    let (reply, result) = tokio::sync::oneshot::channel();
    match writer.try_send(Job { command: Command::new(writes), reply }) {
        Ok(()) => {}
        Err(mpsc::TrySendError::Full(job)) => {
            let writer = writer.clone();
            tokio::task::spawn_blocking(move || writer.send(job))
                .await
                .map_err(|e| CommitError::Store(StoreError::new(e)))?
                .map_err(|_| stopped())?;
        }
        Err(mpsc::TrySendError::Disconnected(_)) => return Err(stopped()),
    }
    let (result, command) = result.await.map_err(|_| stopped())?;
    drop(command);
    result
}

/// How often an idle writer looks for changes made by another connection to the file.
const OTHER_WRITERS_POLL: std::time::Duration = std::time::Duration::from_millis(100);

pub(super) fn write_loop(connection: Connection, jobs: mpsc::Receiver<Job>, cache: &CompartmentCache) {
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
    let mut wal = WalBound::new(&connection, WAL_BYTES_MAX, CHECK_EVERY);
    loop {
        wal.check(&connection, std::time::Instant::now());
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

#[cfg(test)]
mod tests {
    use relais_app::ports::Merchant;
    use relais_domain::ids::Id;

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
        crate::sqlite::configure(&c).unwrap_or_else(|e| panic!("{e}"));

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
}
