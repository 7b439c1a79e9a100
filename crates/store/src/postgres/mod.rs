//! The PostgreSQL backend: the scale-out path, where several `relais serve` processes share one
//! database. A commit is one transaction of conditional statements; a lost race (a versioned update
//! matching no row, a serialization failure, a deadlock) is reported as `CommitError::Conflict` and
//! the use case retries. Commands are committed in groups by four commit lanes (`writer.rs`, ADR 11),
//! each write runs the statement of `writes.rs`, reads are in `reads.rs`, rows are decoded by
//! `crate::rows` as on SQLite, and the index notices between processes are in `notices.rs` (ADR 12).

mod notices;
mod outbox;
mod reads;
mod writer;
mod writes;

use std::sync::Arc;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use relais_app::ports::{StoreError, StoreResult};
use tokio_postgres::types::ToSql;
use tokio_postgres::{NoTls, Row};

use self::notices::Channel;

pub(crate) use self::writer::Lanes;

/// Connections per process. PostgreSQL's default `max_connections` is 100; a few processes fit.
const POOL_CONNECTIONS_MAX: usize = 16;
/// Serialises migrations when several processes start at once.
const MIGRATION_LOCK_KEY: i64 = 0x7265_6c61_6973;

const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "init", include_str!("../../migrations/postgres/0001_init.sql")),
    (2, "point_hours", include_str!("../../migrations/postgres/0002_point_hours.sql")),
    (3, "point_registry", include_str!("../../migrations/postgres/0003_point_registry.sql")),
    (4, "occupancy_alerts", include_str!("../../migrations/postgres/0004_occupancy_alerts.sql")),
    (5, "locker_devices", include_str!("../../migrations/postgres/0005_locker_devices.sql")),
    (6, "shared_compartments", include_str!("../../migrations/postgres/0006_shared_compartments.sql")),
    (7, "leaner_parcel_indexes", include_str!("../../migrations/postgres/0007_leaner_parcel_indexes.sql")),
    (
        8,
        "outbox_without_pending_index",
        include_str!("../../migrations/postgres/0008_outbox_without_pending_index.sql"),
    ),
    (9, "carriers", include_str!("../../migrations/postgres/0009_carriers.sql")),
    (10, "carrier_keys_index", include_str!("../../migrations/postgres/0010_carrier_keys_index.sql")),
    (11, "pickup_seal", include_str!("../../migrations/postgres/0011_pickup_seal.sql")),
    (12, "deliveries", include_str!("../../migrations/postgres/0012_deliveries.sql")),
    (13, "recipient_rules", include_str!("../../migrations/postgres/0013_recipient_rules.sql")),
    (14, "numbering", include_str!("../../migrations/postgres/0014_numbering.sql")),
    (15, "orders", include_str!("../../migrations/postgres/0015_orders.sql")),
    (16, "shop_connectors", include_str!("../../migrations/postgres/0016_shop_connectors.sql")),
    (17, "customer_points", include_str!("../../migrations/postgres/0017_customer_points.sql")),
    (18, "labels", include_str!("../../migrations/postgres/0018_labels.sql")),
    (19, "shop_write_back", include_str!("../../migrations/postgres/0019_shop_write_back.sql")),
    (20, "tracking", include_str!("../../migrations/postgres/0020_tracking.sql")),
    (21, "console", include_str!("../../migrations/postgres/0021_console.sql")),
    (22, "console_views", include_str!("../../migrations/postgres/0022_console_views.sql")),
];

type Param<'a> = &'a (dyn ToSql + Sync);

pub struct PostgresStore {
    pool: Pool,
    /// Group commit (`writer.rs`): every command is committed through these.
    lanes: writer::Lanes,
    /// Where the index notices of this schema go and come from (`notices.rs`).
    channel: Arc<Channel>,
    config: tokio_postgres::Config,
}

impl PostgresStore {
    pub async fn connect(url: &str) -> StoreResult<PostgresStore> {
        let config: tokio_postgres::Config =
            url.parse().map_err(|e| StoreError(format!("invalid database URL: {e}")))?;
        let manager =
            Manager::from_config(config.clone(), NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
        let pool = Pool::builder(manager).max_size(POOL_CONNECTIONS_MAX).build().map_err(StoreError::new)?;
        // The commit lanes have connections of their own: queued behind reads, commits would wait for a
        // connection while the reads that follow them wait for the commits.
        let config_for_notices = config.clone();
        let manager = Manager::from_config(config, NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
        let commit_pool = Pool::builder(manager).max_size(writer::LANES).build().map_err(StoreError::new)?;
        let channel = Arc::new(notice_channel(&pool).await?);
        let lanes = writer::Lanes::start(&commit_pool, &pool, writer::LANES, Arc::clone(&channel));
        let store = PostgresStore { pool, lanes, channel, config: config_for_notices };
        store.migrate().await?;
        Ok(store)
    }

    pub(crate) async fn client(&self) -> StoreResult<deadpool_postgres::Object> {
        self.pool.get().await.map_err(|e| StoreError(format!("PostgreSQL connection: {e}")))
    }

    async fn migrate(&self) -> StoreResult<()> {
        let mut client = self.client().await?;
        client.execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK_KEY]).await.map_err(StoreError::new)?;
        let result = async {
            client
                .batch_execute(
                    "CREATE TABLE IF NOT EXISTS schema_migrations (
                        version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
                )
                .await
                .map_err(StoreError::new)?;
            let applied: i64 = client
                .query_one("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", &[])
                .await
                .map_err(StoreError::new)?
                .get(0);
            for (version, name, sql) in MIGRATIONS.iter().filter(|(v, _, _)| *v > applied) {
                let tx = client.transaction().await.map_err(StoreError::new)?;
                tx.batch_execute(sql).await.map_err(|e| StoreError(format!("migration {version} {name}: {e}")))?;
                tx.execute("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", &[version, name])
                    .await
                    .map_err(StoreError::new)?;
                tx.commit().await.map_err(StoreError::new)?;
                tracing::info!(version, name, "applied PostgreSQL migration");
            }
            Ok(())
        }
        .await;
        client.execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK_KEY]).await.map_err(StoreError::new)?;
        result
    }

    async fn one<T>(
        &self,
        sql: &str,
        args: &[Param<'_>],
        map: impl Fn(&Row) -> StoreResult<T>,
    ) -> StoreResult<Option<T>> {
        let client = self.client().await?;
        let statement = client.prepare_cached(sql).await.map_err(StoreError::new)?;
        match client.query_opt(&statement, args).await.map_err(StoreError::new)? {
            Some(row) => map(&row).map(Some),
            None => Ok(None),
        }
    }

    async fn many<T>(
        &self,
        sql: &str,
        args: &[Param<'_>],
        map: impl Fn(&Row) -> StoreResult<T>,
    ) -> StoreResult<Vec<T>> {
        let client = self.client().await?;
        let statement = client.prepare_cached(sql).await.map_err(StoreError::new)?;
        client.query(&statement, args).await.map_err(StoreError::new)?.iter().map(&map).collect()
    }

    /// The commit lanes (the lifecycle benchmark's ceiling commits through them).
    pub(crate) fn lanes(&self) -> &Lanes {
        &self.lanes
    }

    /// Table name -> column names, for the test that both schemas agree.
    pub async fn schema_columns(&self) -> StoreResult<Vec<(String, Vec<String>)>> {
        let rows = self
            .client()
            .await?
            .query(
                "SELECT table_name::text, column_name::text FROM information_schema.columns
                 WHERE table_schema = current_schema() ORDER BY table_name, column_name",
                &[],
            )
            .await
            .map_err(StoreError::new)?;
        let mut tables: Vec<(String, Vec<String>)> = Vec::new();
        for row in rows {
            let (table, column): (String, String) = (row.get(0), row.get(1));
            match tables.last_mut() {
                Some((last, columns)) if *last == table => columns.push(column),
                _ => tables.push((table, vec![column])),
            }
        }
        Ok(tables)
    }
}

/// The channel of the index notices (`notices.rs`): named after the schema the connections'
/// search path names first, the installation's own; silent on a database without `pg_notify`.
/// PostgreSQL has it; some engines that speak its protocol do not, and there a commit must not fail for
/// want of telling the other processes (ADR 12).
async fn notice_channel(pool: &Pool) -> StoreResult<Channel> {
    let client = pool.get().await.map_err(|e| StoreError(format!("PostgreSQL connection: {e}")))?;
    let row = client.query_one("SELECT current_schema()::text", &[]).await.map_err(StoreError::new)?;
    let schema = row
        .try_get::<_, Option<String>>(0)
        .map_err(StoreError::new)?
        .ok_or_else(|| StoreError("no schema of the search path exists in this database".into()))?;
    // A channel nobody listens on: the probe tells no one anything.
    let enabled = match client.batch_execute("SELECT pg_notify('relais_probe', '')").await {
        Ok(()) => true,
        Err(e) if e.as_db_error().is_some() => {
            tracing::warn!(error = %e, "no pg_notify on this database: other processes' changes reach the search index at its periodic rebuild only");
            false
        }
        Err(e) => return Err(StoreError::new(e)),
    };
    Ok(Channel { enabled, ..Channel::new(&schema) })
}

/// Runs administrative SQL (creating or dropping a schema) on a one-off connection.
pub async fn execute_batch(url: &str, sql: &str) -> StoreResult<()> {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await.map_err(StoreError::new)?;
    let task = tokio::spawn(connection);
    let result = client.batch_execute(sql).await.map_err(StoreError::new);
    drop(client);
    let _ = task.await;
    result
}
