//! What the stores report to `/metrics` (Prometheus, through the `metrics` facade; nothing is recorded
//! when no recorder is installed, as in the CLI): how commands fare, and on SQLite how well group commit
//! groups them (commands per transaction is `commands_total / transactions_total`).

use std::time::Duration;

use relais_app::ports::CommitError;

/// Records one transaction (from its start to its commit or rollback) and the outcome of each command it
/// carried. It counts as committed when at least one command committed.
pub(crate) fn transaction(backend: &'static str, results: &[Result<(), CommitError>], took: Duration) {
    for result in results {
        let outcome = match result {
            Ok(()) => "committed",
            Err(CommitError::Conflict) => "conflict",
            Err(CommitError::Duplicate { .. }) => "duplicate",
            Err(CommitError::Store(_)) => "failed",
        };
        metrics::counter!("relais_store_commands_total", "backend" => backend, "outcome" => outcome).increment(1);
    }
    if results.iter().any(Result::is_ok) {
        metrics::counter!("relais_store_transactions_total", "backend" => backend).increment(1);
    }
    metrics::histogram!("relais_store_transaction_seconds", "backend" => backend).record(took.as_secs_f64());
}

/// A batch in which a command failed, run again command by command (SQLite: with a savepoint per command
/// in one transaction; PostgreSQL: a transaction per command).
pub(crate) fn batch_replayed(backend: &'static str) {
    metrics::counter!("relais_store_batches_replayed_total", "backend" => backend).increment(1);
}

/// A read of a locker's doors on SQLite: from the writer's copy (`hit`) or from the database (`miss`).
pub(crate) fn door_copy_read(hit: bool) {
    let outcome = if hit { "hit" } else { "miss" };
    metrics::counter!("relais_store_door_copy_reads_total", "backend" => "sqlite", "outcome" => outcome).increment(1);
}
