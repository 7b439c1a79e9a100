//! Group commit on PostgreSQL: the commands of one process are committed by a few lanes, each on a
//! connection of its own, and a lane commits what waits for it in one transaction. On a 2-core machine
//! a transaction per command spent most of the server's time on the fixed cost of each transaction
//! (`BEGIN`, `COMMIT` and its WAL flush, the round trips, waking a backend): measured with
//! `relais bench lifecycle --backend postgres`, the same rows written one command per transaction reached
//! ~700 lifecycles/s, in batches ~1,000-1,300 (docs/benchmarks.md, session 8; ADR 11).
//!
//! A batch means exactly what its commands would mean one after the other: they run in arrival order in
//! one transaction, and if any of them fails (a versioned update that matched no row, a duplicate, a
//! deadlock, a row lock not granted within 50 ms) the batch is rolled back and each of its commands runs
//! again in a transaction of its own, outside the lane, as it would have without lanes; each gets its
//! own answer and none is lost or half applied, and the lane goes on with the next batch. Commands about
//! one locker (the first point their writes name) go to the same lane, so two lanes of a process do not
//! wait on each other's row locks; processes sharing the database still meet on rows, as before, and
//! their conditional statements decide.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use deadpool_postgres::Pool;
use relais_app::ports::{CommitError, StoreError, Write};
use tokio::sync::{mpsc, oneshot};

use deadpool_postgres::Client;

use super::notices::{Channel, NOTIFY};
use super::writes::{apply, commit_error, exec, sql_of};

/// Lanes per process: each commits one batch at a time on its own connection. Measured on this
/// project's 2-core machine (docs/benchmarks.md, session 8).
pub(crate) const LANES: usize = 4;
/// A batch stops growing at this many commands or writes, so that a large command (a point import)
/// does not hold many small ones, and a failed batch does not cost too many commands a second run.
const BATCH_COMMANDS_MAX: usize = 64;
const BATCH_WRITES_MAX: usize = 2_000;
/// A lane's transaction waits at most this long for a row lock; then its commands run again one by one,
/// outside the lane. Without it, a lane would stand behind a long transaction of another process (an
/// import updating thousands of points) with every command queued behind it, and a batch holding rows of
/// several points could close a cycle of waits with that transaction, which PostgreSQL breaks only after
/// `deadlock_timeout` (1 s), perhaps by aborting the import. With it, the lane always yields first.
const LANE_BEGIN: &str = "BEGIN; SET LOCAL lock_timeout = '50ms'";
/// How a lane's lock timeout reads as an error (postgres.rs `commit_error`); only lanes set one.
pub(crate) const LOCK_NOT_GRANTED: &str = "a row lock was not granted within the commit lane's lock timeout";
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

/// What a lane needs to commit: its connections, those of commands run again alone, and where the
/// index notices go.
#[derive(Clone)]
struct Pools {
    lane: Pool,
    elsewhere: Pool,
    channel: Arc<Channel>,
}

impl Lanes {
    /// Starts the lanes on the current tokio runtime.
    /// `pool` holds the lanes' own connections; `elsewhere` (the store's main pool) serves the commands
    /// that run again outside the lanes.
    pub(crate) fn start(pool: &Pool, elsewhere: &Pool, lanes: usize, channel: Arc<Channel>) -> Lanes {
        let pools = Pools { lane: pool.clone(), elsewhere: elsewhere.clone(), channel };
        let senders = (0..lanes.max(1))
            .map(|_| {
                let (sender, receiver) = mpsc::channel(LANE_QUEUE);
                tokio::spawn(lane(pools.clone(), receiver));
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
        Write::InsertParcel { parcel, .. } | Write::UpdateParcel(parcel) => Some(parcel.point_id.uuid().as_u128()),
        Write::UpdateCompartment(compartment) => Some(compartment.point_id.uuid().as_u128()),
        Write::InsertDoorCommand(command) | Write::UpdateDoorCommand(command) => {
            Some(command.point_id.uuid().as_u128())
        }
        _ => None,
    })
}

async fn lane(pools: Pools, mut receiver: mpsc::Receiver<Pending>) {
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
        let all: Vec<&Write> = batch.iter().flat_map(|p| &p.writes).collect();
        let result = commit_on(&pools.lane, LANE_BEGIN, &all, batch.len(), &pools.channel).await;
        drop(all);
        // A single command refused on its own merits (a conflict, a duplicate) has its answer; anything
        // else runs again, command by command, outside the lane, which goes on with the next batch.
        let answered = batch.len() == 1 && !matches!(&result, Err(e) if must_run_again(e));
        if result.is_ok() || answered {
            for pending in batch {
                // A caller that went away (a cancelled request) no longer wants the answer; its command
                // is committed or not all the same, as on SQLite's writer.
                let _ = pending.reply.send(result.clone());
            }
            continue;
        }
        crate::metrics::batch_replayed("postgres");
        for pending in batch {
            let pools = pools.clone();
            tokio::spawn(async move {
                let writes: Vec<&Write> = pending.writes.iter().collect();
                let result = commit_on(&pools.elsewhere, "BEGIN", &writes, 1, &pools.channel).await;
                let _ = pending.reply.send(result);
            });
        }
    }
}

/// One transaction on a connection of `pool`, opened by `begin`, carrying the writes of `commands`
/// commands: a lane's batch (`LANE_BEGIN`), or one command run again on its own (`BEGIN`, waiting for row
/// locks as long as PostgreSQL lets it, as it would without lanes). Recorded in the metrics when it tells
/// each command's outcome: it committed, or it carried one command.
async fn commit_on(
    pool: &Pool,
    begin: &str,
    writes: &[&Write],
    commands: usize,
    channel: &Channel,
) -> Result<(), CommitError> {
    let mut connection = match pool.get().await {
        Ok(client) => Checkout::new(client),
        Err(e) => return Err(CommitError::Store(StoreError(format!("PostgreSQL connection: {e}")))),
    };
    let started = Instant::now();
    let result = run_transaction(connection.client(), begin, writes, channel).await;
    if result.is_ok() || commands == 1 {
        let outcomes: Vec<_> = (0..commands).map(|_| result.clone()).collect();
        crate::metrics::transaction("postgres", &outcomes, started.elapsed());
    }
    connection.release(clean(&result));
    result
}

/// Whether a lone command's failure says nothing about the command itself (a lock not granted in time,
/// a connection lost), so that it deserves a run of its own.
fn must_run_again(error: &CommitError) -> bool {
    matches!(error, CommitError::Store(_))
}

/// Whether the connection is known to be back outside any transaction: the statement failed on the
/// server (a conflict, a duplicate) and was rolled back, or it committed.
fn clean(result: &Result<(), CommitError>) -> bool {
    match result {
        Ok(()) | Err(CommitError::Conflict | CommitError::Duplicate { .. }) => true,
        Err(CommitError::Store(StoreError(message))) => message == LOCK_NOT_GRANTED,
    }
}

/// Runs the writes as one transaction in two round trips: `BEGIN` and every statement are sent without
/// waiting for each answer (tokio-postgres pipelines requests polled together), then `COMMIT`, or
/// `ROLLBACK` when a statement failed or a versioned update matched no row. The statements are prepared
/// first, in order (a cached statement needs no round trip), so the pipelined sends keep the order of
/// the writes (a compartment after its point).
///
/// `begin` opens the transaction: `BEGIN`, or with settings of its own (this module).
///
/// When the writes change the search index, the transaction also sends the notice that tells the
/// other processes (`notices.rs`); PostgreSQL delivers it only if the transaction commits.
pub(crate) async fn run_transaction(
    client: &Client,
    begin: &str,
    writes: &[&Write],
    channel: &Channel,
) -> Result<(), CommitError> {
    for write in writes {
        client.prepare_cached(sql_of(write)).await.map_err(commit_error)?;
    }
    let notice = channel.payload(writes);
    if notice.is_some() {
        client.prepare_cached(NOTIFY).await.map_err(commit_error)?;
    }
    let begin = client.batch_execute(begin);
    let statements = futures_util::future::join_all(writes.iter().map(|write| apply(client, write)));
    let notify = async {
        match &notice {
            Some(payload) => exec(client, NOTIFY, &[&channel.name, payload]).await.map(|_| ()),
            None => Ok(()),
        }
    };
    let (begun, results, notified) = futures_util::future::join3(begin, statements, notify).await;
    // The first failure in write order is the cause; later statements only report the aborted transaction.
    let outcome = begun
        .map_err(commit_error)
        .and_then(|()| results.into_iter().collect::<Result<(), CommitError>>())
        .and(notified);
    match outcome {
        Ok(()) => client.batch_execute("COMMIT").await.map_err(commit_error),
        Err(error) => {
            client.batch_execute("ROLLBACK").await.map_err(commit_error)?;
            Err(error)
        }
    }
}

/// A pooled connection used for a transaction. If the commit future is dropped half-way (a cancelled
/// request) or the transaction could not be closed cleanly, the connection is discarded instead of going
/// back to the pool with a transaction open.
pub(crate) struct Checkout(Option<deadpool_postgres::Object>);

impl Checkout {
    pub(crate) fn new(object: deadpool_postgres::Object) -> Checkout {
        Checkout(Some(object))
    }

    pub(crate) fn client(&mut self) -> &Client {
        self.0.as_ref().unwrap_or_else(|| unreachable!("used after release"))
    }

    pub(crate) fn release(mut self, clean: bool) {
        if let Some(object) = self.0.take()
            && !clean
        {
            drop(deadpool_postgres::Object::take(object));
        }
    }
}

impl Drop for Checkout {
    fn drop(&mut self) {
        if let Some(object) = self.0.take() {
            drop(deadpool_postgres::Object::take(object));
        }
    }
}
