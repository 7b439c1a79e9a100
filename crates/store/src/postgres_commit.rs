//! Group commit on PostgreSQL: the commands of one process are committed by a few lanes, each on a
//! connection of the pool, and a lane commits what waits for it in one transaction. On a 2-core machine
//! a transaction per command spent most of the server's time on the fixed cost of each transaction
//! (`BEGIN`, `COMMIT` and its WAL flush, the round trips, waking a backend): measured with
//! `relais bench lifecycle --backend postgres`, the same rows written one command per transaction reached
//! ~700 lifecycles/s, in batches ~1,300 (docs/benchmarks.md, session 8; ADR 11).
//!
//! A batch means exactly what its commands would mean one after the other: they run in arrival order in
//! one transaction, and if any of them fails (a versioned update that matched no row, a duplicate, a
//! deadlock) the batch is rolled back and each command runs again in a transaction of its own, so that
//! each gets its own answer and none is lost or half applied. Commands about one locker (the first
//! point their writes name) go to the same lane, so two lanes of a process do not wait on each other's
//! row locks; processes sharing the database still meet on rows, as before, and their conditional
//! statements decide.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use deadpool_postgres::Pool;
use relais_app::ports::{CommitError, StoreError, Write};
use tokio::sync::{mpsc, oneshot};

use crate::postgres::{Checkout, run_transaction};

/// Lanes per process: each commits one batch at a time on its own connection. Measured on this
/// project's 2-core machine (docs/benchmarks.md, session 8).
pub(crate) const LANES: usize = 4;
/// A batch stops growing at this many commands or writes, so that a large command (a point import)
/// does not hold many small ones, and a failed batch does not cost too many commands a second run.
const BATCH_COMMANDS_MAX: usize = 64;
const BATCH_WRITES_MAX: usize = 2_000;
/// A batch waits at most this long for a row lock before it gives up and its commands run one by one.
/// Without it, a batch holding rows of several points could close a cycle of waits with another
/// process's transaction (an import updating thousands of points), and PostgreSQL would break it only
/// after `deadlock_timeout` (1 s), perhaps by aborting the import. With it, the batch always yields first.
const BATCH_BEGIN: &str = "BEGIN; SET LOCAL lock_timeout = '50ms'";
/// Commands waiting per lane before a caller waits to hand over its own.
const LANE_QUEUE: usize = 1_024;

/// A command on its way to a lane, and where its outcome goes.
struct Pending {
    writes: Vec<Write>,
    reply: oneshot::Sender<Result<(), CommitError>>,
}

/// The handle the store commits through. Dropping it (and its clones) closes the lanes once they have
/// committed what they hold.
#[derive(Clone)]
pub(crate) struct Lanes {
    senders: Vec<mpsc::Sender<Pending>>,
    next: Arc<AtomicUsize>,
}

impl Lanes {
    /// Starts the lanes on the current tokio runtime.
    pub(crate) fn start(pool: &Pool, lanes: usize) -> Lanes {
        let senders = (0..lanes.max(1))
            .map(|_| {
                let (sender, receiver) = mpsc::channel(LANE_QUEUE);
                tokio::spawn(lane(pool.clone(), receiver));
                sender
            })
            .collect();
        Lanes { senders, next: Arc::new(AtomicUsize::new(0)) }
    }

    /// Commits the writes as one command and returns its own outcome.
    pub(crate) async fn commit(&self, writes: Vec<Write>) -> Result<(), CommitError> {
        let index = match locker_of(&writes) {
            Some(point) => (point % self.senders.len() as u128) as usize,
            None => self.next.fetch_add(1, Ordering::Relaxed) % self.senders.len(),
        };
        let (reply, outcome) = oneshot::channel();
        let closed = || CommitError::Store(StoreError("the PostgreSQL commit lanes have stopped".into()));
        self.senders[index].send(Pending { writes, reply }).await.map_err(|_| closed())?;
        outcome.await.map_err(|_| closed())?
    }
}

/// The point a command is about, from its first write that names one: the lane key.
fn locker_of(writes: &[Write]) -> Option<u128> {
    writes.iter().find_map(|write| match write {
        Write::InsertParcel(parcel) | Write::UpdateParcel(parcel) => Some(parcel.point_id.uuid().as_u128()),
        Write::UpdateCompartment(compartment) => Some(compartment.point_id.uuid().as_u128()),
        Write::InsertDoorCommand(command) | Write::UpdateDoorCommand(command) => {
            Some(command.point_id.uuid().as_u128())
        }
        _ => None,
    })
}

async fn lane(pool: Pool, mut receiver: mpsc::Receiver<Pending>) {
    while let Some(first) = receiver.recv().await {
        let mut writes = first.writes.len();
        let mut batch = vec![first];
        while batch.len() < BATCH_COMMANDS_MAX && writes < BATCH_WRITES_MAX {
            match receiver.try_recv() {
                Ok(next) => {
                    writes += next.writes.len();
                    batch.push(next);
                }
                Err(_) => break,
            }
        }
        let (commands, replies): (Vec<Vec<Write>>, Vec<_>) = batch.into_iter().map(|p| (p.writes, p.reply)).unzip();
        let results = commit_batch(&pool, commands).await;
        for (reply, result) in replies.into_iter().zip(results) {
            // A caller that went away (a cancelled request) no longer wants the answer; its command is
            // committed or not all the same, as on SQLite's writer.
            let _ = reply.send(result);
        }
    }
}

/// Runs the batch in one transaction; if it fails, each command again in its own. One outcome per
/// command, in order.
async fn commit_batch(pool: &Pool, commands: Vec<Vec<Write>>) -> Vec<Result<(), CommitError>> {
    if commands.len() == 1 {
        return vec![commit_one(pool, &commands[0]).await];
    }
    let mut all = Vec::with_capacity(commands.iter().map(Vec::len).sum());
    let mut bounds = Vec::with_capacity(commands.len());
    for command in commands {
        let start = all.len();
        all.extend(command);
        bounds.push(start..all.len());
    }
    let together = match pool.get().await {
        Ok(client) => {
            let mut connection = Checkout::new(client);
            let started = Instant::now();
            let together = run_transaction(connection.client(), BATCH_BEGIN, &all).await;
            if together.is_ok() {
                let results: Vec<_> = bounds.iter().map(|_| Ok(())).collect();
                crate::metrics::transaction("postgres", &results, started.elapsed());
            }
            connection.release(clean(&together));
            together
        }
        Err(e) => Err(CommitError::Store(StoreError(format!("PostgreSQL connection: {e}")))),
    };
    if together.is_ok() {
        return bounds.iter().map(|_| Ok(())).collect();
    }
    crate::metrics::batch_replayed("postgres");
    let mut results = Vec::with_capacity(bounds.len());
    for range in bounds {
        results.push(commit_one(pool, &all[range]).await);
    }
    results
}

/// One command in a transaction of its own.
async fn commit_one(pool: &Pool, writes: &[Write]) -> Result<(), CommitError> {
    let mut connection = match pool.get().await {
        Ok(client) => Checkout::new(client),
        Err(e) => return Err(CommitError::Store(StoreError(format!("PostgreSQL connection: {e}")))),
    };
    let started = Instant::now();
    let result = run_transaction(connection.client(), "BEGIN", writes).await;
    crate::metrics::transaction("postgres", std::slice::from_ref(&result), started.elapsed());
    connection.release(clean(&result));
    result
}

/// Whether the connection is known to be back outside any transaction: the statement failed on the
/// server (a conflict, a duplicate) and was rolled back, or it committed.
fn clean(result: &Result<(), CommitError>) -> bool {
    result.is_ok() || matches!(result, Err(CommitError::Conflict | CommitError::Duplicate { .. }))
}
