//! What only the benchmarks do with a store: write prepared commands with the store's own statements
//! and batching but no reads and no rules (the storage ceiling of `relais bench lifecycle`), and drop
//! every index but the tables' keys (its `--bare-ceiling`). Kept apart from the stores' own surface:
//! nothing here is called on a database that serves.

use std::path::Path;

use relais_app::ports::{CommitError, StoreError, StoreResult, Write};
use rusqlite::Connection;

use crate::PostgresStore;
use crate::sqlite::Command;

/// The storage ceiling for the lifecycle benchmark: applies prepared commands with the same statements
/// and the same durability as the store, one transaction per batch, on one connection with no reads
/// and no rules. Returns the time spent in the database only (building the writes is excluded).
pub fn sqlite_ceiling(
    path: &Path,
    batches: impl Iterator<Item = Vec<Vec<Write>>>,
) -> Result<std::time::Duration, CommitError> {
    let connection = Connection::open(path).map_err(|e| CommitError::Store(StoreError::new(e)))?;
    crate::sqlite::configure(&connection)?;
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
pub fn sqlite_drop_secondary_indexes(path: &Path) -> StoreResult<usize> {
    let connection = Connection::open(path).map_err(StoreError::new)?;
    crate::sqlite::configure(&connection)?;
    let names: Vec<String> = connection
        .prepare(SECONDARY_INDEXES)
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .map_err(StoreError::new)?;
    for name in &names {
        connection.execute_batch(&format!("DROP INDEX \"{name}\"")).map_err(StoreError::new)?;
    }
    Ok(names.len())
}

/// The storage ceiling for the lifecycle benchmark: applies prepared commands with the same
/// statements and the same group commit as `commit`, with no reads and no rules. Each lane is a
/// sequence that must stay in order (the commands of one locker), one command waiting at a time like
/// the engine's tasks; lanes run concurrently. Returns the wall time.
pub async fn postgres_ceiling(
    store: &PostgresStore,
    lanes: Vec<Vec<Vec<Write>>>,
) -> Result<std::time::Duration, CommitError> {
    let started = std::time::Instant::now();
    let store = store.lanes().clone();
    let mut tasks = tokio::task::JoinSet::new();
    for lane in lanes {
        let store = store.clone();
        tasks.spawn(async move {
            for command in lane {
                store.commit(command).await?;
            }
            Ok::<(), CommitError>(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.map_err(|e| CommitError::Store(StoreError::new(e)))??;
    }
    Ok(started.elapsed())
}

/// Drops every index of this schema that is not a primary key, for `relais bench lifecycle
/// --bare-ceiling`: what the rows alone cost to write; returns how many. Never called on a database
/// that serves. (The schema's unique rules are all `CREATE UNIQUE INDEX`, none a table constraint.)
pub async fn postgres_drop_secondary_indexes(store: &PostgresStore) -> StoreResult<usize> {
    let client = store.client().await?;
    let rows = client
        .query(
            "SELECT i.relname::text FROM pg_index x
             JOIN pg_class i ON i.oid = x.indexrelid
             JOIN pg_namespace n ON n.oid = i.relnamespace
             WHERE n.nspname = current_schema() AND NOT x.indisprimary
               AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)",
            &[],
        )
        .await
        .map_err(StoreError::new)?;
    for row in &rows {
        let index: String = row.get(0);
        client.batch_execute(&format!("DROP INDEX \"{index}\"")).await.map_err(StoreError::new)?;
    }
    Ok(rows.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `relais bench lifecycle --bare-ceiling` measures the rows without their indexes: the figure is only
    /// what it says if every index but the tables' own keys is gone, and the rows still go in.
    #[test]
    fn the_bare_ceiling_leaves_only_the_tables_own_keys() {
        let test = crate::testing::sqlite();
        let dropped = sqlite_drop_secondary_indexes(Path::new(&test.url)).unwrap_or_else(|e| panic!("{e}"));
        assert!(dropped >= 15, "{dropped}");
        let c = Connection::open(&test.url).unwrap_or_else(|e| panic!("{e}"));
        let left: Vec<String> = c
            .prepare(SECONDARY_INDEXES)
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(left.is_empty(), "{left:?}");
        let merchant = relais_app::ports::Merchant {
            id: relais_domain::ids::Id::from_parts(1_800_000_000_000, [1; 10]),
            name: "bare".into(),
            created_at: chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default(),
        };
        let spent = sqlite_ceiling(Path::new(&test.url), std::iter::once(vec![vec![Write::InsertMerchant(merchant)]]));
        assert!(spent.is_ok(), "{spent:?}");
        let merchants: i64 =
            c.query_row("SELECT count(*) FROM merchants", [], |r| r.get(0)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(merchants, 1, "the rows still go in");
    }
}
