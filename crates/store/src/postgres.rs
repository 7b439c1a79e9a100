//! The PostgreSQL backend: the scale-out path, where several `relais serve` processes share one
//! database. A commit is one transaction of conditional statements; a lost race (a versioned update
//! matching no row, a serialization failure, a deadlock) is reported as `CommitError::Conflict` and
//! the use case retries.

use std::sync::Arc;

use async_trait::async_trait;
use deadpool_postgres::Client;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use relais_app::ports::{
    AttemptScope, AuditEntry, CommitError, CompartmentCounts, DeviceStatus, ImportRecord, IndexNotice, Merchant,
    OccupancyAlert, OutboxMessage, Page, ParcelFilter, PointChange, StoreError, StoreResult, StoredCounter,
    StoredEvent, Write,
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
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{FromSql, ToSql};
use tokio_postgres::{NoTls, Row};
use uuid::Uuid;

use crate::postgres_notices::{Channel, NOTIFY};
use crate::{closures_from_text, closures_to_text, corrupt, duplicate_what, offsets_from_text, offsets_to_text};

/// Connections per process. PostgreSQL's default `max_connections` is 100; a few processes fit.
const POOL_CONNECTIONS_MAX: usize = 16;
/// Serialises migrations when several processes start at once.
const MIGRATION_LOCK_KEY: i64 = 0x7265_6c61_6973;

const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "init", include_str!("../migrations/postgres/0001_init.sql")),
    (2, "point_hours", include_str!("../migrations/postgres/0002_point_hours.sql")),
    (3, "point_registry", include_str!("../migrations/postgres/0003_point_registry.sql")),
    (4, "occupancy_alerts", include_str!("../migrations/postgres/0004_occupancy_alerts.sql")),
    (5, "locker_devices", include_str!("../migrations/postgres/0005_locker_devices.sql")),
    (6, "shared_compartments", include_str!("../migrations/postgres/0006_shared_compartments.sql")),
    (7, "leaner_parcel_indexes", include_str!("../migrations/postgres/0007_leaner_parcel_indexes.sql")),
    (8, "outbox_without_pending_index", include_str!("../migrations/postgres/0008_outbox_without_pending_index.sql")),
];

type Param<'a> = &'a (dyn ToSql + Sync);

pub struct PostgresStore {
    pool: Pool,
    /// Group commit (postgres_commit.rs): every command is committed through these.
    lanes: crate::postgres_commit::Lanes,
    /// Where the index notices of this schema go and come from (postgres_notices.rs).
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
        let commit_pool =
            Pool::builder(manager).max_size(crate::postgres_commit::LANES).build().map_err(StoreError::new)?;
        let channel = Arc::new(notice_channel(&pool).await?);
        let lanes = crate::postgres_commit::Lanes::start(
            &commit_pool,
            &pool,
            crate::postgres_commit::LANES,
            Arc::clone(&channel),
        );
        let store = PostgresStore { pool, lanes, channel, config: config_for_notices };
        store.migrate().await?;
        Ok(store)
    }

    async fn client(&self) -> StoreResult<deadpool_postgres::Object> {
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

    async fn one<T>(&self, sql: &str, args: &[Param<'_>], map: fn(&Row) -> StoreResult<T>) -> StoreResult<Option<T>> {
        let client = self.client().await?;
        let statement = client.prepare_cached(sql).await.map_err(StoreError::new)?;
        match client.query_opt(&statement, args).await.map_err(StoreError::new)? {
            Some(row) => map(&row).map(Some),
            None => Ok(None),
        }
    }

    async fn many<T>(&self, sql: &str, args: &[Param<'_>], map: fn(&Row) -> StoreResult<T>) -> StoreResult<Vec<T>> {
        let client = self.client().await?;
        let statement = client.prepare_cached(sql).await.map_err(StoreError::new)?;
        client.query(&statement, args).await.map_err(StoreError::new)?.iter().map(map).collect()
    }

    /// The storage ceiling for the lifecycle benchmark: applies prepared commands with the same
    /// statements and the same group commit as `commit`, with no reads and no rules. Each lane is a
    /// sequence that must stay in order (the commands of one locker), one command waiting at a time like
    /// the engine's tasks; lanes run concurrently. Returns the wall time.
    pub async fn ceiling_run(&self, lanes: Vec<Vec<Vec<Write>>>) -> Result<std::time::Duration, CommitError> {
        let started = std::time::Instant::now();
        let store = self.lanes.clone();
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
    pub async fn drop_secondary_indexes(&self) -> StoreResult<usize> {
        let client = self.client().await?;
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

/// The channel of the index notices (postgres_notices.rs): named after the schema the connections'
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

/// Compartment counts per point and size class, of the compartments that meet `condition`.
fn counts_where(condition: &str) -> String {
    format!(
        "SELECT point_id, size, COUNT(*), COUNT(*) FILTER (WHERE state = 'available'),
            COUNT(*) FILTER (WHERE state = 'occupied'), COUNT(*) FILTER (WHERE state = 'reserved')
         FROM compartments WHERE {condition} GROUP BY point_id, size ORDER BY point_id"
    )
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

fn commit_error(e: tokio_postgres::Error) -> CommitError {
    match e.as_db_error() {
        Some(db) if *db.code() == SqlState::UNIQUE_VIOLATION => match db.constraint().and_then(duplicate_what) {
            Some(what) => CommitError::Duplicate { what },
            None => CommitError::Store(StoreError::new(&e)),
        },
        // Only a commit lane sets a lock timeout (postgres_commit.rs); it runs the commands again outside
        // the lane, so no caller sees this error.
        Some(db) if *db.code() == SqlState::LOCK_NOT_AVAILABLE => {
            CommitError::Store(StoreError(crate::postgres_commit::LOCK_NOT_GRANTED.into()))
        }
        Some(db)
            if *db.code() == SqlState::T_R_SERIALIZATION_FAILURE || *db.code() == SqlState::T_R_DEADLOCK_DETECTED =>
        {
            CommitError::Conflict
        }
        _ => CommitError::Store(StoreError::new(&e)),
    }
}

async fn exec(c: &Client, sql: &str, args: &[Param<'_>]) -> Result<u64, CommitError> {
    let statement = c.prepare_cached(sql).await.map_err(commit_error)?;
    c.execute(&statement, args).await.map_err(commit_error)
}

async fn exec_versioned(c: &Client, sql: &str, args: &[Param<'_>]) -> Result<(), CommitError> {
    match exec(c, sql, args).await? {
        1 => Ok(()),
        _ => Err(CommitError::Conflict),
    }
}

fn big(n: u32) -> i64 {
    i64::from(n)
}

fn uuid<T>(id: Id<T>) -> Uuid {
    id.uuid()
}

/// Runs the writes as one transaction in two round trips: `BEGIN` and every statement are sent without
/// waiting for each answer (tokio-postgres pipelines requests polled together), then `COMMIT`, or
/// `ROLLBACK` when a statement failed or a versioned update matched no row. The statements are prepared
/// first, in order (a cached statement needs no round trip), so the pipelined sends keep the order of
/// the writes (a compartment after its point).
///
/// `begin` opens the transaction: `BEGIN`, or with settings of its own (postgres_commit.rs).
///
/// When the writes change the search index, the transaction also sends the notice that tells the
/// other processes (postgres_notices.rs); PostgreSQL delivers it only if the transaction commits.
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

/// The statement each write runs. Kept in one table so a commit can prepare them all before it sends
/// any (see `run_transaction`).
fn sql_of(write: &Write) -> &'static str {
    match write {
        Write::InsertNetwork(_) => "INSERT INTO networks (id, name, hold_window_hours, extension_count_max, extension_hours,
                extension_earliest_after_deposit_hours, reminder_offsets_hours, reservation_hours, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        Write::InsertMerchant(_) => "INSERT INTO merchants (id, name, created_at) VALUES ($1, $2, $3)",
        Write::InsertPoint(_) => "INSERT INTO pickup_points (id, network_id, external_id, kind, name, address_line1, address_line2,
                postcode, city, country, latitude, longitude, timezone, status, shelf_capacity, shelf_occupied,
                weight_max_g, dimensions_sum_max_mm, created_at, version, opening_hours, closures, services, source,
                updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22,
                $23, $24, $25)",
        Write::InsertCompartment(_) => "INSERT INTO compartments (id, point_id, label, size, state, parcel_id, reserved_until, version, fault)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        Write::UpdateCompartment(_) => "UPDATE compartments SET state = $1, parcel_id = $2, reserved_until = $3, fault = $6, sharers = $7,
                    version = version + 1
                 WHERE id = $4 AND version = $5",
        Write::UpdatePointShelf(_) => "UPDATE pickup_points SET shelf_occupied = $1, version = version + 1 WHERE id = $2 AND version = $3",
        Write::UpdatePoint(_) => "UPDATE pickup_points SET kind = $1, name = $2, address_line1 = $3, address_line2 = $4, postcode = $5,
                city = $6, country = $7, latitude = $8, longitude = $9, timezone = $10, status = $11,
                shelf_capacity = $12, weight_max_g = $13, dimensions_sum_max_mm = $14, opening_hours = $15,
                closures = $16, services = $17, source = $18, updated_at = $19, version = version + 1
             WHERE id = $20",
        Write::InsertImport(_) => "INSERT INTO point_imports (id, network_id, format, source, at, status, rows_total, rows_refused, added,
                changed, moved, closed, reopened, removed, unchanged, problems)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
        Write::AppendPointChange(_) => "INSERT INTO point_changes (point_id, import_id, at, kind, fields) VALUES ($1, $2, $3, $4, $5)",
        Write::RaiseOccupancyAlert(_) => "INSERT INTO occupancy_alerts (point_id, raised_at, rate) VALUES ($1, $2, $3)",
        Write::ClearOccupancyAlert(_) => "DELETE FROM occupancy_alerts WHERE point_id = $1",
        Write::InsertParcel(_) => "INSERT INTO parcels (id, number, merchant_id, network_id, point_id, recipient_name, recipient_phone,
                recipient_email, length_mm, width_mm, height_mm, weight_g, state, incident_kind, compartment_id,
                code_digest, qr_digest, deposited_at, pickup_deadline, extensions_used, created_at, updated_at, version)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23)",
        Write::UpdateParcel(_) => "UPDATE parcels SET state = $1, incident_kind = $2, compartment_id = $3, deposited_at = $4,
                    pickup_deadline = $5, extensions_used = $6, updated_at = $7, reminders_sent = $10,
                    next_reminder_at = $11, point_id = $12, relocated_from = $13, version = version + 1
                 WHERE id = $8 AND version = $9",
        Write::AppendEvent(_) => "INSERT INTO parcel_events (parcel_id, kind, from_state, to_state, incident_kind, actor_kind, actor_ref,
                reason, compartment_id, at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        Write::AppendOutbox(_) => "INSERT INTO outbox (id, topic, parcel_id, payload, created_at) VALUES ($1, $2, $3, $4, $5)",
        Write::PutAttemptCounter { expected_version: None, .. } => "INSERT INTO pickup_attempts (scope_key, failures, window_started_at, locked_until, version)
             VALUES ($1, $2, $3, $4, 1)",
        Write::PutAttemptCounter { expected_version: Some(_), .. } => "UPDATE pickup_attempts SET failures = $1, window_started_at = $2, locked_until = $3,
                    version = version + 1
                 WHERE scope_key = $4 AND version = $5",
        Write::InsertApiKey(_) => "INSERT INTO api_keys (id, role, merchant_id, point_id, label, digest, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        Write::InsertDropOffSession(_) => "INSERT INTO drop_off_sessions (id, point_id, carrier_key_id, opened_at, closed_at, version, purpose)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        Write::UpdateDropOffSession(_) => "UPDATE drop_off_sessions SET closed_at = $1, version = version + 1 WHERE id = $2 AND version = $3",
        Write::InsertDropOffItem(_) => "INSERT INTO drop_off_items (session_id, parcel_id, parcel_number, compartment_id, label, state, reason,
                relocation_point_id, scanned_at, done_at, version)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        Write::UpdateDropOffItem(_) => "UPDATE drop_off_items SET compartment_id = $1, label = $2, state = $3, reason = $4,
                relocation_point_id = $5, done_at = $6, version = version + 1
             WHERE session_id = $7 AND parcel_id = $8 AND version = $9",
        Write::InsertDoorCommand(_) => "INSERT INTO door_commands (id, point_id, compartment_id, label, purpose, parcel_id, session_id, reason,
                state, created_at, done_at, version)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        Write::UpdateDoorCommand(_) => "UPDATE door_commands SET state = $1, done_at = $2, version = version + 1 WHERE id = $3 AND version = $4",
        Write::PutDeviceStatus(_) => "INSERT INTO device_status (point_id, key_id, last_seen_at, doors, firmware, offline_since)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (point_id) DO UPDATE SET key_id = excluded.key_id, last_seen_at = excluded.last_seen_at,
                doors = excluded.doors, firmware = excluded.firmware, offline_since = excluded.offline_since",
        Write::MarkDeviceOffline { .. } => "UPDATE device_status SET offline_since = $1
             WHERE point_id = $2 AND last_seen_at = $3 AND offline_since IS NULL",
        Write::AppendAudit(_) => "INSERT INTO audit_log (at, actor_kind, actor_ref, action, point_id, compartment_id, parcel_id, reason)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    }
}

async fn apply(c: &Client, write: &Write) -> Result<(), CommitError> {
    let sql = sql_of(write);
    match write {
        Write::InsertNetwork(n) => exec(
            c,
            sql,
            &[
                &uuid(n.id),
                &n.name,
                &big(n.rules.hold_window_hours),
                &big(n.rules.extension_count_max),
                &big(n.rules.extension_hours),
                &big(n.rules.extension_earliest_after_deposit_hours),
                &offsets_to_text(&n.rules.reminder_offsets_hours),
                &big(n.rules.reservation_hours),
                &n.created_at,
            ],
        )
        .await
        .map(drop),
        Write::InsertMerchant(m) => exec(c, sql, &[&uuid(m.id), &m.name, &m.created_at]).await.map(drop),
        Write::InsertPoint(p) => exec(
            c,
            sql,
            &[
                &uuid(p.id),
                &uuid(p.network_id),
                &p.external_id,
                &p.kind.as_str(),
                &p.name,
                &p.address.line1,
                &p.address.line2,
                &p.address.postcode,
                &p.address.city,
                &p.address.country,
                &p.coordinates.latitude(),
                &p.coordinates.longitude(),
                &p.timezone,
                &p.status.as_str(),
                &big(p.shelf_capacity),
                &big(p.shelf_occupied),
                &big(p.weight_max.grams()),
                &big(p.dimensions_sum_mm_max),
                &p.created_at,
                &p.version,
                &p.opening_hours.as_ref().map(|h| h.as_str()),
                &closures_to_text(&p.closures),
                &p.services.to_string(),
                &p.source,
                &p.updated_at,
            ],
        )
        .await
        .map(drop),
        Write::UpdatePoint(p) => {
            exec_versioned(
                c,
                sql,
                &[
                    &p.kind.as_str(),
                    &p.name,
                    &p.address.line1,
                    &p.address.line2,
                    &p.address.postcode,
                    &p.address.city,
                    &p.address.country,
                    &p.coordinates.latitude(),
                    &p.coordinates.longitude(),
                    &p.timezone,
                    &p.status.as_str(),
                    &big(p.shelf_capacity),
                    &big(p.weight_max.grams()),
                    &big(p.dimensions_sum_mm_max),
                    &p.opening_hours.as_ref().map(|h| h.as_str()),
                    &closures_to_text(&p.closures),
                    &p.services.to_string(),
                    &p.source,
                    &p.updated_at,
                    &uuid(p.id),
                ],
            )
            .await
        }
        Write::InsertImport(i) => exec(
            c,
            sql,
            &[
                &uuid(i.id),
                &uuid(i.network_id),
                &i.format,
                &i.source,
                &i.at,
                &i.status,
                &big(i.rows_total),
                &big(i.rows_refused),
                &big(i.changes[0]),
                &big(i.changes[1]),
                &big(i.changes[2]),
                &big(i.changes[3]),
                &big(i.changes[4]),
                &big(i.changes[5]),
                &big(i.unchanged),
                &i.problems,
            ],
        )
        .await
        .map(drop),
        Write::RaiseOccupancyAlert(a) => exec(c, sql, &[&uuid(a.point_id), &a.raised_at, &a.rate]).await.map(drop),
        Write::ClearOccupancyAlert(point_id) => exec(c, sql, &[&uuid(*point_id)]).await.map(drop),
        Write::AppendPointChange(change) => exec(
            c,
            sql,
            &[
                &uuid(change.point_id),
                &change.import_id.map(uuid),
                &change.at,
                &change.kind,
                &crate::fields_to_text(&change.fields),
            ],
        )
        .await
        .map(drop),
        Write::InsertCompartment(k) => {
            let (state, parcel, until) = compartment_columns(&k.state);
            exec(
                c,
                sql,
                &[
                    &uuid(k.id),
                    &uuid(k.point_id),
                    &k.label,
                    &k.size.as_str(),
                    &state,
                    &parcel,
                    &until,
                    &k.version,
                    &k.fault.map(DoorFault::as_str),
                ],
            )
            .await
            .map(drop)
        }
        Write::UpdateCompartment(k) => {
            let (state, parcel, until) = compartment_columns(&k.state);
            let fault = k.fault.map(DoorFault::as_str);
            let sharers = crate::sharers_to_text(&k.sharers);
            exec_versioned(c, sql, &[&state, &parcel, &until, &uuid(k.id), &k.version, &fault, &sharers]).await
        }
        Write::UpdatePointShelf(p) => exec_versioned(c, sql, &[&big(p.shelf_occupied), &uuid(p.id), &p.version]).await,
        Write::InsertParcel(p) => exec(
            c,
            sql,
            &[
                &uuid(p.id),
                &p.number.as_str(),
                &uuid(p.merchant_id),
                &uuid(p.network_id),
                &uuid(p.point_id),
                &p.recipient.name,
                &p.recipient.phone.as_ref().map(Phone::as_str),
                &p.recipient.email.as_ref().map(Email::as_str),
                &big(p.dimensions.length_mm()),
                &big(p.dimensions.width_mm()),
                &big(p.dimensions.height_mm()),
                &big(p.weight.grams()),
                &p.state.as_str(),
                &p.state.incident_kind().map(|k| k.as_str()),
                &p.compartment_id.map(uuid),
                &&p.secrets.code[..],
                &&p.secrets.qr[..],
                &p.deposited_at,
                &p.pickup_deadline,
                &big(p.extensions_used),
                &p.created_at,
                &p.updated_at,
                &p.version,
            ],
        )
        .await
        .map(drop),
        Write::UpdateParcel(p) => {
            exec_versioned(
                c,
                sql,
                &[
                    &p.state.as_str(),
                    &p.state.incident_kind().map(|k| k.as_str()),
                    &p.compartment_id.map(uuid),
                    &p.deposited_at,
                    &p.pickup_deadline,
                    &big(p.extensions_used),
                    &p.updated_at,
                    &uuid(p.id),
                    &p.version,
                    &big(p.reminders_sent),
                    &p.next_reminder_at,
                    &uuid(p.point_id),
                    &p.relocated_from.map(uuid),
                ],
            )
            .await
        }
        Write::AppendEvent(e) => exec(
            c,
            sql,
            &[
                &uuid(e.parcel_id),
                &e.kind.as_str(),
                &e.from.map(ParcelState::as_str),
                &e.to.as_str(),
                &e.to.incident_kind().map(|k| k.as_str()),
                &e.actor.kind.as_str(),
                &e.actor.reference,
                &e.reason,
                &e.compartment_id.map(uuid),
                &e.at,
            ],
        )
        .await
        .map(drop),
        Write::AppendOutbox(m) => {
            exec(c, sql, &[&uuid(m.id), &m.topic, &m.parcel_id.map(uuid), &m.payload, &m.created_at]).await.map(drop)
        }
        Write::PutAttemptCounter { scope, counter, expected_version: None } => {
            exec(c, sql, &[&scope.key(), &big(counter.failures), &counter.window_started_at, &counter.locked_until])
                .await
                .map(drop)
        }
        Write::PutAttemptCounter { scope, counter, expected_version: Some(version) } => {
            exec_versioned(
                c,
                sql,
                &[&big(counter.failures), &counter.window_started_at, &counter.locked_until, &scope.key(), version],
            )
            .await
        }
        Write::InsertApiKey(k) => exec(
            c,
            sql,
            &[
                &uuid(k.id),
                &k.role.as_str(),
                &k.merchant_id.map(uuid),
                &k.point_id.map(uuid),
                &k.label,
                &&k.digest[..],
                &k.created_at,
            ],
        )
        .await
        .map(drop),
        Write::InsertDropOffSession(d) => exec(
            c,
            sql,
            &[
                &uuid(d.id),
                &uuid(d.point_id),
                &uuid(d.carrier_key_id),
                &d.opened_at,
                &d.closed_at,
                &d.version,
                &d.purpose.as_str(),
            ],
        )
        .await
        .map(drop),
        Write::UpdateDropOffSession(d) => exec_versioned(c, sql, &[&d.closed_at, &uuid(d.id), &d.version]).await,
        Write::InsertDropOffItem(i) => exec(
            c,
            sql,
            &[
                &uuid(i.session_id),
                &uuid(i.parcel_id),
                &i.parcel_number,
                &i.compartment_id.map(uuid),
                &i.label,
                &i.state.as_str(),
                &i.reason,
                &i.relocation_point_id.map(uuid),
                &i.scanned_at,
                &i.done_at,
                &i.version,
            ],
        )
        .await
        .map(drop),
        Write::UpdateDropOffItem(i) => {
            exec_versioned(
                c,
                sql,
                &[
                    &i.compartment_id.map(uuid),
                    &i.label,
                    &i.state.as_str(),
                    &i.reason,
                    &i.relocation_point_id.map(uuid),
                    &i.done_at,
                    &uuid(i.session_id),
                    &uuid(i.parcel_id),
                    &i.version,
                ],
            )
            .await
        }
        Write::InsertDoorCommand(d) => exec(
            c,
            sql,
            &[
                &uuid(d.id),
                &uuid(d.point_id),
                &uuid(d.compartment_id),
                &d.label,
                &d.purpose.as_str(),
                &d.parcel_id.map(uuid),
                &d.session_id.map(uuid),
                &d.reason,
                &d.state.as_str(),
                &d.created_at,
                &d.done_at,
                &d.version,
            ],
        )
        .await
        .map(drop),
        Write::UpdateDoorCommand(d) => {
            exec_versioned(c, sql, &[&d.state.as_str(), &d.done_at, &uuid(d.id), &d.version]).await
        }
        Write::PutDeviceStatus(d) => exec(
            c,
            sql,
            &[
                &uuid(d.point_id),
                &uuid(d.key_id),
                &d.last_seen_at,
                &crate::doors_to_text(&d.doors),
                &d.firmware,
                &d.offline_since,
            ],
        )
        .await
        .map(drop),
        Write::MarkDeviceOffline { point_id, last_seen_at, at } => {
            exec_versioned(c, sql, &[at, &uuid(*point_id), last_seen_at]).await
        }
        Write::AppendAudit(a) => exec(
            c,
            sql,
            &[
                &a.at,
                &a.actor.kind.as_str(),
                &a.actor.reference,
                &a.action,
                &a.point_id.map(uuid),
                &a.compartment_id.map(uuid),
                &a.parcel_id.map(uuid),
                &a.reason,
            ],
        )
        .await
        .map(drop),
    }
}

fn compartment_columns(state: &CompartmentState) -> (&'static str, Option<Uuid>, Option<Timestamp>) {
    match *state {
        CompartmentState::Available | CompartmentState::OutOfService | CompartmentState::Disabled => {
            (state.name(), None, None)
        }
        CompartmentState::Reserved { parcel_id, expires_at } => (state.name(), Some(parcel_id.uuid()), expires_at),
        CompartmentState::Occupied { parcel_id } => (state.name(), Some(parcel_id.uuid()), None),
    }
}

fn get<'a, T: FromSql<'a>>(row: &'a Row, index: usize) -> StoreResult<T> {
    row.try_get(index).map_err(StoreError::new)
}

fn get_u32(row: &Row, index: usize) -> StoreResult<u32> {
    u32::try_from(get::<i64>(row, index)?).map_err(|_| corrupt("integer"))
}

fn get_id<T>(row: &Row, index: usize) -> StoreResult<Id<T>> {
    Ok(Id::from_uuid(get::<Uuid>(row, index)?))
}

fn get_opt_id<T>(row: &Row, index: usize) -> StoreResult<Option<Id<T>>> {
    Ok(get::<Option<Uuid>>(row, index)?.map(Id::from_uuid))
}

fn get_digest(row: &Row, index: usize) -> StoreResult<[u8; 32]> {
    get::<&[u8]>(row, index)?.try_into().map_err(|_| corrupt("digest"))
}

const NETWORK_COLUMNS: &str = "id, name, hold_window_hours, extension_count_max, extension_hours,
    extension_earliest_after_deposit_hours, reminder_offsets_hours, reservation_hours, created_at";

fn network_row(r: &Row) -> StoreResult<Network> {
    Ok(Network {
        id: get_id(r, 0)?,
        name: get(r, 1)?,
        rules: NetworkRules {
            hold_window_hours: get_u32(r, 2)?,
            extension_count_max: get_u32(r, 3)?,
            extension_hours: get_u32(r, 4)?,
            extension_earliest_after_deposit_hours: get_u32(r, 5)?,
            reminder_offsets_hours: offsets_from_text(get(r, 6)?)?,
            reservation_hours: get_u32(r, 7)?,
        },
        created_at: get(r, 8)?,
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
        kind: PointKind::parse(get(r, 3)?).map_err(|_| corrupt("point kind"))?,
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
        status: PointStatus::parse(get(r, 13)?).map_err(|_| corrupt("point status"))?,
        shelf_capacity: get_u32(r, 14)?,
        shelf_occupied: get_u32(r, 15)?,
        weight_max: Weight::from_grams(get(r, 16)?).map_err(|_| corrupt("weight"))?,
        dimensions_sum_mm_max: get_u32(r, 17)?,
        created_at: get(r, 18)?,
        version: get(r, 19)?,
        opening_hours: get::<Option<String>>(r, 20)?.map(OpeningHours::from_stored),
        closures: closures_from_text(&get::<String>(r, 21)?)?,
        services: Services::parse(get(r, 22)?).map_err(|_| corrupt("point services"))?,
        source: get(r, 23)?,
        updated_at: get(r, 24)?,
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
        at: get(r, 4)?,
        status: get(r, 5)?,
        rows_total: get_u32(r, 6)?,
        rows_refused: get_u32(r, 7)?,
        changes: [get_u32(r, 8)?, get_u32(r, 9)?, get_u32(r, 10)?, get_u32(r, 11)?, get_u32(r, 12)?, get_u32(r, 13)?],
        unchanged: get_u32(r, 14)?,
        problems: get(r, 15)?,
    })
}

fn point_change_row(r: &Row) -> StoreResult<PointChange> {
    Ok(PointChange {
        seq: get(r, 0)?,
        point_id: get_id(r, 1)?,
        import_id: get_opt_id(r, 2)?,
        at: get(r, 3)?,
        kind: get(r, 4)?,
        fields: crate::fields_from_text(get(r, 5)?)?,
    })
}

fn counts_row(r: &Row) -> StoreResult<crate::CountsRow> {
    let size = SizeClass::parse(get(r, 1)?).map_err(|_| corrupt("size class"))?;
    Ok((get_id(r, 0)?, size as usize, get_u32(r, 2)?, get_u32(r, 3)?, get_u32(r, 4)?, get_u32(r, 5)?))
}

const COMPARTMENT_COLUMNS: &str =
    "id, point_id, label, size, state, parcel_id, reserved_until, version, fault, sharers";

fn compartment_row(r: &Row) -> StoreResult<Compartment> {
    let state = crate::compartment_state(get(r, 4)?, get_opt_id(r, 5)?, get(r, 6)?)?;
    Ok(Compartment {
        id: get_id(r, 0)?,
        point_id: get_id(r, 1)?,
        label: get(r, 2)?,
        size: SizeClass::parse(get(r, 3)?).map_err(|_| corrupt("size class"))?,
        state,
        sharers: crate::sharers_from_text(get(r, 9)?)?,
        fault: get::<Option<&str>>(r, 8)?
            .map(|f| DoorFault::parse(f).ok_or_else(|| corrupt("door fault")))
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
        opened_at: get(r, 3)?,
        closed_at: get(r, 4)?,
        version: get(r, 5)?,
        purpose: SessionPurpose::parse(get(r, 6)?).ok_or_else(|| corrupt("session purpose"))?,
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
        state: ItemState::parse(get(r, 5)?).ok_or_else(|| corrupt("item state"))?,
        reason: get(r, 6)?,
        relocation_point_id: get_opt_id(r, 7)?,
        scanned_at: get(r, 8)?,
        done_at: get(r, 9)?,
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
        purpose: CommandPurpose::parse(get(r, 4)?).ok_or_else(|| corrupt("command purpose"))?,
        parcel_id: get_opt_id(r, 5)?,
        session_id: get_opt_id(r, 6)?,
        reason: get(r, 7)?,
        state: CommandState::parse(get(r, 8)?).ok_or_else(|| corrupt("command state"))?,
        created_at: get(r, 9)?,
        done_at: get(r, 10)?,
        version: get(r, 11)?,
    })
}

fn device_status_row(r: &Row) -> StoreResult<DeviceStatus> {
    Ok(DeviceStatus {
        point_id: get_id(r, 0)?,
        key_id: get_id(r, 1)?,
        last_seen_at: get(r, 2)?,
        doors: crate::doors_from_text(get(r, 3)?)?,
        firmware: get(r, 4)?,
        offline_since: get(r, 5)?,
    })
}

fn audit_row(r: &Row) -> StoreResult<AuditEntry> {
    Ok(AuditEntry {
        seq: get(r, 0)?,
        at: get(r, 1)?,
        actor: Actor { kind: ActorKind::parse(get(r, 2)?).ok_or_else(|| corrupt("actor"))?, reference: get(r, 3)? },
        action: get(r, 4)?,
        point_id: get_opt_id(r, 5)?,
        compartment_id: get_opt_id(r, 6)?,
        parcel_id: get_opt_id(r, 7)?,
        reason: get(r, 8)?,
    })
}

const PARCEL_COLUMNS: &str = "id, number, merchant_id, network_id, point_id, recipient_name, recipient_phone,
    recipient_email, length_mm, width_mm, height_mm, weight_g, state, incident_kind, compartment_id, code_digest,
    qr_digest, deposited_at, pickup_deadline, extensions_used, created_at, updated_at, version, reminders_sent,
    next_reminder_at, relocated_from";

fn parcel_row(r: &Row) -> StoreResult<Parcel> {
    let state = ParcelState::parse(get(r, 12)?, get(r, 13)?).ok_or_else(|| corrupt("parcel state"))?;
    Ok(Parcel {
        id: get_id(r, 0)?,
        number: ParcelNumber::parse(get(r, 1)?).map_err(|_| corrupt("parcel number"))?,
        merchant_id: get_id(r, 2)?,
        network_id: get_id(r, 3)?,
        point_id: get_id(r, 4)?,
        recipient: Recipient {
            name: get(r, 5)?,
            phone: get::<Option<&str>>(r, 6)?.map(Phone::parse).transpose().map_err(|_| corrupt("phone"))?,
            email: get::<Option<&str>>(r, 7)?.map(Email::parse).transpose().map_err(|_| corrupt("email"))?,
        },
        dimensions: Dimensions::from_mm(get(r, 8)?, get(r, 9)?, get(r, 10)?).map_err(|_| corrupt("dimensions"))?,
        weight: Weight::from_grams(get(r, 11)?).map_err(|_| corrupt("weight"))?,
        state,
        compartment_id: get_opt_id(r, 14)?,
        secrets: PickupSecretDigests { code: get_digest(r, 15)?, qr: get_digest(r, 16)? },
        deposited_at: get(r, 17)?,
        pickup_deadline: get(r, 18)?,
        extensions_used: get_u32(r, 19)?,
        created_at: get(r, 20)?,
        updated_at: get(r, 21)?,
        version: get(r, 22)?,
        reminders_sent: get_u32(r, 23)?,
        next_reminder_at: get(r, 24)?,
        relocated_from: get_opt_id(r, 25)?,
    })
}

fn event_row(r: &Row) -> StoreResult<StoredEvent> {
    let incident: Option<&str> = get(r, 5)?;
    let from = get::<Option<&str>>(r, 3)?
        .map(|s| ParcelState::parse(s, incident).ok_or_else(|| corrupt("state")))
        .transpose()?;
    Ok(StoredEvent {
        seq: get(r, 0)?,
        event: ParcelEvent {
            parcel_id: get_id(r, 1)?,
            kind: EventKind::parse(get(r, 2)?).ok_or_else(|| corrupt("event kind"))?,
            from,
            to: ParcelState::parse(get(r, 4)?, incident).ok_or_else(|| corrupt("state"))?,
            actor: Actor { kind: ActorKind::parse(get(r, 6)?).ok_or_else(|| corrupt("actor"))?, reference: get(r, 7)? },
            reason: get(r, 8)?,
            compartment_id: get_opt_id(r, 9)?,
            at: get(r, 10)?,
        },
    })
}

fn outbox_row(r: &Row) -> StoreResult<OutboxMessage> {
    Ok(OutboxMessage {
        id: get_id(r, 0)?,
        topic: get(r, 1)?,
        parcel_id: get_opt_id(r, 2)?,
        payload: get(r, 3)?,
        created_at: get(r, 4)?,
    })
}

fn api_key_row(r: &Row) -> StoreResult<ApiKey> {
    Ok(ApiKey {
        id: get_id(r, 0)?,
        role: Role::parse(get(r, 1)?).ok_or_else(|| corrupt("role"))?,
        merchant_id: get_opt_id(r, 2)?,
        point_id: get_opt_id(r, 3)?,
        label: get(r, 4)?,
        digest: get_digest(r, 5)?,
        created_at: get(r, 6)?,
    })
}

#[async_trait]
impl Store for PostgresStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn ping(&self) -> StoreResult<()> {
        self.one("SELECT 1::bigint", &[], |r| get::<i64>(r, 0)).await.map(drop)
    }

    async fn network(&self, id: NetworkId) -> StoreResult<Option<Network>> {
        self.one(&format!("SELECT {NETWORK_COLUMNS} FROM networks WHERE id = $1"), &[&id.uuid()], network_row).await
    }

    async fn networks(&self, page: Page<NetworkId>) -> StoreResult<Vec<Network>> {
        let after = page.after.map(uuid).unwrap_or(Uuid::nil());
        self.many(
            &format!("SELECT {NETWORK_COLUMNS} FROM networks WHERE id > $1 ORDER BY id LIMIT $2"),
            &[&after, &big(page.limit)],
            network_row,
        )
        .await
    }

    async fn merchant(&self, id: MerchantId) -> StoreResult<Option<Merchant>> {
        self.one("SELECT id, name, created_at FROM merchants WHERE id = $1", &[&id.uuid()], |r| {
            Ok(Merchant { id: get_id(r, 0)?, name: get(r, 1)?, created_at: get(r, 2)? })
        })
        .await
    }

    async fn point(&self, id: PointId) -> StoreResult<Option<PickupPoint>> {
        self.one(&format!("SELECT {POINT_COLUMNS} FROM pickup_points WHERE id = $1"), &[&id.uuid()], point_row).await
    }

    async fn points(&self, network_id: Option<NetworkId>, page: Page<PointId>) -> StoreResult<Vec<PickupPoint>> {
        let after = page.after.map(uuid).unwrap_or(Uuid::nil());
        let network = network_id.map(uuid);
        self.many(
            &format!(
                "SELECT {POINT_COLUMNS} FROM pickup_points
                 WHERE id > $1 AND ($2::uuid IS NULL OR network_id = $2) ORDER BY id LIMIT $3"
            ),
            &[&after, &network, &big(page.limit)],
            point_row,
        )
        .await
    }

    async fn count_points(&self) -> StoreResult<u64> {
        let count = self.one("SELECT COUNT(*) FROM pickup_points", &[], |r| get::<i64>(r, 0)).await?;
        Ok(count.unwrap_or(0) as u64)
    }

    async fn network_points(&self, network_id: NetworkId) -> StoreResult<Vec<PickupPoint>> {
        self.many(
            &format!("SELECT {POINT_COLUMNS} FROM pickup_points WHERE network_id = $1"),
            &[&uuid(network_id)],
            point_row,
        )
        .await
    }

    async fn compartment_counts(&self, point_id: Option<PointId>) -> StoreResult<Vec<CompartmentCounts>> {
        let point = point_id.map(uuid);
        let sql = counts_where("$1::uuid IS NULL OR point_id = $1");
        Ok(crate::gather_counts(self.many(&sql, &[&point], counts_row).await?))
    }

    async fn points_by_id(&self, ids: &[PointId]) -> StoreResult<Vec<PickupPoint>> {
        let ids: Vec<Uuid> = ids.iter().map(|id| id.uuid()).collect();
        self.many(&format!("SELECT {POINT_COLUMNS} FROM pickup_points WHERE id = ANY($1)"), &[&ids], point_row).await
    }

    async fn compartment_counts_of(&self, ids: &[PointId]) -> StoreResult<Vec<CompartmentCounts>> {
        let ids: Vec<Uuid> = ids.iter().map(|id| id.uuid()).collect();
        Ok(crate::gather_counts(self.many(&counts_where("point_id = ANY($1)"), &[&ids], counts_row).await?))
    }

    async fn imports(&self, network_id: NetworkId, page: Page<ImportId>) -> StoreResult<Vec<ImportRecord>> {
        let before = page.after.map(uuid).unwrap_or(Uuid::max());
        self.many(
            &format!(
                "SELECT {IMPORT_COLUMNS} FROM point_imports WHERE network_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3"
            ),
            &[&uuid(network_id), &before, &big(page.limit)],
            import_row,
        )
        .await
    }

    async fn occupancy_alert(&self, point_id: PointId) -> StoreResult<Option<OccupancyAlert>> {
        self.one(
            "SELECT point_id, raised_at, rate FROM occupancy_alerts WHERE point_id = $1",
            &[&uuid(point_id)],
            |r| Ok(OccupancyAlert { point_id: get_id(r, 0)?, raised_at: get(r, 1)?, rate: get(r, 2)? }),
        )
        .await
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
                                   WHERE kind IN ('deposited', 'deposit_failed') AND at >= $1 AND at < $2)
               AND ($3::uuid IS NULL OR p.point_id = $3) AND ($4::uuid IS NULL OR p.network_id = $4)
             ORDER BY e.parcel_id, e.seq",
            &[&from, &to, &point_id.map(uuid), &network_id.map(uuid)],
            |r| {
                Ok(KpiEvent {
                    parcel_id: get_id(r, 0)?,
                    point_id: get_id(r, 1)?,
                    pickup_deadline: get(r, 2)?,
                    kind: EventKind::parse(get(r, 3)?).ok_or_else(|| corrupt("event kind"))?,
                    incident: get::<Option<&str>>(r, 4)?.and_then(IncidentKind::parse),
                    at: get(r, 5)?,
                })
            },
        )
        .await
    }

    async fn kpi_facts(
        &self,
        point_id: Option<PointId>,
        network_id: Option<NetworkId>,
        from: Timestamp,
        to: Timestamp,
    ) -> StoreResult<Vec<KpiFact>> {
        let (point, network) = (point_id.map(uuid), network_id.map(uuid));
        let args: [Param<'_>; 4] = [&from, &to, &point, &network];
        let mut facts = self
            .many(
                "SELECT a.point_id, a.at FROM audit_log a JOIN pickup_points p ON p.id = a.point_id
                 WHERE a.action IN ('door_jammed', 'door_forced_open', 'door_broken', 'compartment_blocked') AND a.at >= $1 AND a.at < $2
                   AND ($3::uuid IS NULL OR a.point_id = $3) AND ($4::uuid IS NULL OR p.network_id = $4)",
                &args,
                |r| Ok(KpiFact::HardwareIncident { point_id: get_id(r, 0)?, at: get(r, 1)? }),
            )
            .await?;
        facts.extend(
            self.many(
                "SELECT s.point_id, i.scanned_at, i.done_at FROM drop_off_items i
                   JOIN drop_off_sessions s ON s.id = i.session_id JOIN pickup_points p ON p.id = s.point_id
                 WHERE i.state = 'deposited' AND i.done_at >= $1 AND i.done_at < $2
                   AND ($3::uuid IS NULL OR s.point_id = $3) AND ($4::uuid IS NULL OR p.network_id = $4)",
                &args,
                |r| {
                    Ok(KpiFact::DepositHandled {
                        point_id: get_id(r, 0)?,
                        scanned_at: get(r, 1)?,
                        closed_at: get(r, 2)?,
                    })
                },
            )
            .await?,
        );
        Ok(facts)
    }

    async fn point_changes(&self, point_id: PointId) -> StoreResult<Vec<PointChange>> {
        self.many(
            "SELECT seq, point_id, import_id, at, kind, fields FROM point_changes WHERE point_id = $1 ORDER BY seq",
            &[&uuid(point_id)],
            point_change_row,
        )
        .await
    }

    async fn compartments(&self, point_id: PointId) -> StoreResult<Vec<Compartment>> {
        self.many(
            &format!("SELECT {COMPARTMENT_COLUMNS} FROM compartments WHERE point_id = $1 ORDER BY label COLLATE \"C\""),
            &[&point_id.uuid()],
            compartment_row,
        )
        .await
    }

    async fn compartments_with_lapsed_reservation(&self, now: Timestamp, limit: u32) -> StoreResult<Vec<Compartment>> {
        self.many(
            &format!(
                "SELECT {COMPARTMENT_COLUMNS} FROM compartments
                 WHERE state = 'reserved' AND reserved_until <= $1 ORDER BY reserved_until LIMIT $2"
            ),
            &[&now, &big(limit)],
            compartment_row,
        )
        .await
    }

    async fn compartment(&self, id: CompartmentId) -> StoreResult<Option<Compartment>> {
        self.one(
            &format!("SELECT {COMPARTMENT_COLUMNS} FROM compartments WHERE id = $1"),
            &[&id.uuid()],
            compartment_row,
        )
        .await
    }

    async fn parcel(&self, id: ParcelId) -> StoreResult<Option<Parcel>> {
        self.one(&format!("SELECT {PARCEL_COLUMNS} FROM parcels WHERE id = $1"), &[&id.uuid()], parcel_row).await
    }

    async fn parcel_by_number(&self, number: &ParcelNumber) -> StoreResult<Option<Parcel>> {
        self.one(&format!("SELECT {PARCEL_COLUMNS} FROM parcels WHERE number = $1"), &[&number.as_str()], parcel_row)
            .await
    }

    async fn parcel_by_code(&self, point_id: PointId, code_digest: &[u8; 32]) -> StoreResult<Option<Parcel>> {
        self.one(
            &format!(
                "SELECT {PARCEL_COLUMNS} FROM parcels
                 WHERE point_id = $1 AND code_digest = $2
                   AND state IN ('announced', 'in_transit', 'ready_for_pickup', 'deposit_failed')"
            ),
            &[&point_id.uuid(), &&code_digest[..]],
            parcel_row,
        )
        .await
    }

    async fn parcels(&self, filter: &ParcelFilter, page: Page<ParcelId>) -> StoreResult<Vec<Parcel>> {
        let after = page.after.map(uuid).unwrap_or(Uuid::nil());
        let merchant = filter.merchant_id.map(uuid);
        let point = filter.point_id.map(uuid);
        let state = filter.state.map(ParcelState::as_str);
        let incident = filter.state.and_then(ParcelState::incident_kind).map(|k| k.as_str());
        self.many(
            &format!(
                "SELECT {PARCEL_COLUMNS} FROM parcels
                 WHERE id > $1 AND ($2::uuid IS NULL OR merchant_id = $2) AND ($3::uuid IS NULL OR point_id = $3)
                   AND ($4::text IS NULL OR state = $4) AND ($5::text IS NULL OR incident_kind = $5)
                 ORDER BY id LIMIT $6"
            ),
            &[&after, &merchant, &point, &state, &incident, &big(page.limit)],
            parcel_row,
        )
        .await
    }

    async fn parcels_waiting_for(
        &self,
        point_id: PointId,
        phone: Option<&Phone>,
        email: Option<&Email>,
        limit: u32,
    ) -> StoreResult<Vec<Parcel>> {
        self.many(
            &format!(
                "SELECT {PARCEL_COLUMNS} FROM parcels
                 WHERE state = 'ready_for_pickup' AND point_id = $1 AND recipient_phone = $2
                 UNION
                 SELECT {PARCEL_COLUMNS} FROM parcels
                 WHERE state = 'ready_for_pickup' AND point_id = $1 AND recipient_email = $3
                 LIMIT $4"
            ),
            &[&uuid(point_id), &phone.map(Phone::as_str), &email.map(Email::as_str), &big(limit)],
            parcel_row,
        )
        .await
    }

    async fn parcels_due_for_expiry(&self, now: Timestamp, limit: u32) -> StoreResult<Vec<Parcel>> {
        self.many(
            &format!(
                "SELECT {PARCEL_COLUMNS} FROM parcels
                 WHERE state = 'ready_for_pickup' AND pickup_deadline <= $1 ORDER BY pickup_deadline LIMIT $2"
            ),
            &[&now, &big(limit)],
            parcel_row,
        )
        .await
    }

    async fn parcels_due_for_reminder(&self, now: Timestamp, limit: u32) -> StoreResult<Vec<Parcel>> {
        self.many(
            &format!(
                "SELECT {PARCEL_COLUMNS} FROM parcels
                 WHERE state = 'ready_for_pickup' AND next_reminder_at IS NOT NULL AND next_reminder_at <= $1
                 ORDER BY next_reminder_at LIMIT $2"
            ),
            &[&now, &big(limit)],
            parcel_row,
        )
        .await
    }

    async fn events(&self, parcel_id: ParcelId) -> StoreResult<Vec<StoredEvent>> {
        self.many(
            "SELECT seq, parcel_id, kind, from_state, to_state, incident_kind, actor_kind, actor_ref, reason,
                compartment_id, at
             FROM parcel_events WHERE parcel_id = $1 ORDER BY seq",
            &[&parcel_id.uuid()],
            event_row,
        )
        .await
    }

    async fn outbox(&self, after: Option<OutboxId>, limit: u32) -> StoreResult<Vec<OutboxMessage>> {
        let after = after.map(uuid).unwrap_or(Uuid::nil());
        self.many(
            "SELECT id, topic, parcel_id, payload, created_at FROM outbox WHERE id > $1 ORDER BY id LIMIT $2",
            &[&after, &big(limit)],
            outbox_row,
        )
        .await
    }

    async fn attempt_counter(&self, scope: AttemptScope) -> StoreResult<Option<StoredCounter>> {
        self.one(
            "SELECT failures, window_started_at, locked_until, version FROM pickup_attempts WHERE scope_key = $1",
            &[&scope.key()],
            |r| {
                Ok(StoredCounter {
                    counter: AttemptCounter {
                        failures: get_u32(r, 0)?,
                        window_started_at: get(r, 1)?,
                        locked_until: get(r, 2)?,
                    },
                    version: get(r, 3)?,
                })
            },
        )
        .await
    }

    async fn api_key_by_digest(&self, digest: &[u8; 32]) -> StoreResult<Option<ApiKey>> {
        self.one(
            "SELECT id, role, merchant_id, point_id, label, digest, created_at FROM api_keys
             WHERE digest = $1 AND revoked_at IS NULL",
            &[&&digest[..]],
            api_key_row,
        )
        .await
    }

    async fn api_keys_with_role(&self, role: Role) -> StoreResult<Vec<ApiKey>> {
        self.many(
            "SELECT id, role, merchant_id, point_id, label, digest, created_at FROM api_keys
             WHERE role = $1 AND revoked_at IS NULL ORDER BY id",
            &[&role.as_str()],
            api_key_row,
        )
        .await
    }

    async fn drop_off_session(&self, session_id: DropOffSessionId) -> StoreResult<Option<DropOffSession>> {
        self.one(
            &format!("SELECT {SESSION_COLUMNS} FROM drop_off_sessions WHERE id = $1"),
            &[&uuid(session_id)],
            session_row,
        )
        .await
    }

    async fn drop_off_items(&self, session_id: DropOffSessionId) -> StoreResult<Vec<DropOffItem>> {
        self.many(
            &format!("SELECT {ITEM_COLUMNS} FROM drop_off_items WHERE session_id = $1 ORDER BY scanned_at, parcel_id"),
            &[&uuid(session_id)],
            item_row,
        )
        .await
    }

    async fn door_command(&self, command_id: CommandId) -> StoreResult<Option<DoorCommand>> {
        self.one(
            &format!("SELECT {COMMAND_COLUMNS} FROM door_commands WHERE id = $1"),
            &[&uuid(command_id)],
            command_row,
        )
        .await
    }

    async fn pending_door_command(&self, compartment_id: CompartmentId) -> StoreResult<Option<DoorCommand>> {
        self.one(
            &format!("SELECT {COMMAND_COLUMNS} FROM door_commands WHERE compartment_id = $1 AND state = 'pending'"),
            &[&uuid(compartment_id)],
            command_row,
        )
        .await
    }

    async fn pending_door_commands(&self, point_id: PointId) -> StoreResult<Vec<DoorCommand>> {
        self.many(
            &format!(
                "SELECT {COMMAND_COLUMNS} FROM door_commands WHERE point_id = $1 AND state = 'pending' ORDER BY id"
            ),
            &[&uuid(point_id)],
            command_row,
        )
        .await
    }

    async fn device_status(&self, point_id: PointId) -> StoreResult<Option<DeviceStatus>> {
        self.one(
            "SELECT point_id, key_id, last_seen_at, doors, firmware, offline_since FROM device_status WHERE point_id = $1",
            &[&uuid(point_id)],
            device_status_row,
        )
        .await
    }

    async fn silent_devices(&self, before: Timestamp, limit: u32) -> StoreResult<Vec<DeviceStatus>> {
        self.many(
            "SELECT point_id, key_id, last_seen_at, doors, firmware, offline_since FROM device_status
             WHERE last_seen_at < $1 AND offline_since IS NULL ORDER BY last_seen_at LIMIT $2",
            &[&before, &big(limit)],
            device_status_row,
        )
        .await
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
             WHERE ($1::uuid IS NULL OR point_id = $1) AND ($2::uuid IS NULL OR parcel_id = $2) AND seq > $3
             ORDER BY seq LIMIT $4",
            &[&point_id.map(uuid), &parcel_id.map(uuid), &after.unwrap_or(0), &i64::from(limit)],
            audit_row,
        )
        .await
    }

    async fn commit(&self, writes: Vec<Write>) -> Result<(), CommitError> {
        self.lanes.commit(writes).await
    }

    async fn index_notices(&self) -> StoreResult<Option<tokio::sync::mpsc::Receiver<IndexNotice>>> {
        if !self.channel.enabled {
            return Ok(None);
        }
        Ok(Some(crate::postgres_notices::listen(self.config.clone(), (*self.channel).clone()).await?))
    }
}
