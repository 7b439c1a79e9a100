//! The `Store` port on two backends: SQLite (embedded, the default) and PostgreSQL (to scale out).
//! Both pass the same conformance suite (`tests/conformance.rs`); their schemas, embedded migrations
//! kept per backend, describe the same tables and columns (a test checks).
//!
//! Each backend is split along the same seams: `writer.rs` (how commands are committed together),
//! `writes.rs` (the statement each write runs), `reads.rs` (the queries). Rows are decoded once for
//! both, in `rows.rs`. What only the benchmarks do is in `bench.rs`.

pub mod bench;
pub mod metrics;
pub mod postgres;
mod rows;
pub mod sqlite;
pub mod testing;

use std::path::Path;
use std::sync::Arc;

use relais_app::Store;
use relais_app::ports::StoreResult;

pub use crate::postgres::PostgresStore;
pub use crate::sqlite::SqliteStore;

/// Opens the store a database URL names: `postgres://...` or `postgresql://...` for PostgreSQL,
/// `sqlite://PATH`, `sqlite:PATH` or a plain file path for SQLite. Applies pending migrations.
pub async fn open(url: &str) -> StoreResult<Arc<dyn Store>> {
    match sqlite_path(url) {
        Some(path) => Ok(Arc::new(SqliteStore::open(path)?)),
        None => Ok(Arc::new(PostgresStore::connect(url).await?)),
    }
}

/// The SQLite file a database URL names, or `None` when the URL is a PostgreSQL one.
pub fn sqlite_path(url: &str) -> Option<&Path> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return None;
    }
    Some(Path::new(url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")).unwrap_or(url)))
}

/// The states in which a parcel's pickup code is live (`ParcelState::holds_live_code`), as the names a
/// row stores: the condition of the partial unique index on codes, and of the lookup that uses it.
pub(crate) fn live_code_states() -> Vec<&'static str> {
    use relais_domain::parcel::ParcelState;
    let mut states: Vec<&str> = ParcelState::ALL.iter().filter(|s| s.holds_live_code()).map(|s| s.as_str()).collect();
    states.dedup();
    states
}

/// Compartment counts per point and size class at an instant (the parameter `now` names), of the
/// compartments that meet `condition`: total, free, occupied, reserved. Free is `Compartment::is_free`:
/// available, or soft-reserved with an expiry that has passed, with no fault and nobody inside; a lapsed
/// reservation is counted free, not reserved. The conformance suite checks these counts against the
/// domain's definition on every compartment state.
pub(crate) fn counts_query(condition: &str, now: &str) -> String {
    format!(
        "SELECT point_id, size, COUNT(*),
            SUM(CASE WHEN fault IS NULL AND sharers = ''
                AND (state = 'available' OR (state = 'reserved' AND reserved_until <= {now})) THEN 1 ELSE 0 END),
            SUM(CASE WHEN state = 'occupied' THEN 1 ELSE 0 END),
            SUM(CASE WHEN state = 'reserved' AND (reserved_until IS NULL OR reserved_until > {now}) THEN 1 ELSE 0 END)
         FROM compartments WHERE {condition} GROUP BY point_id, size ORDER BY point_id"
    )
}

/// Names the unique key a constraint error is about, from the index name (PostgreSQL) or the column
/// list in the message (SQLite). The index names embed their columns so one matcher serves both.
pub(crate) fn duplicate_what(message: &str) -> Option<&'static str> {
    const KEYS: [(&str, &str); 12] = [
        ("orders.merchant_id, orders.reference", "order_reference"),
        ("orders_reference", "order_reference"),
        ("code_digest", "pickup_code"),
        ("parcels.number", "parcel_number"),
        ("parcels_number", "parcel_number"),
        ("external_id", "point_external_id"),
        ("label", "compartment_label"),
        ("scope_key", "attempt_counter"),
        ("digest", "api_key"),
        ("idempotency_key", "idempotency_key"),
        ("parcel_trackings.carrier", "tracking_number"),
        ("parcel_trackings_number", "tracking_number"),
    ];
    if message.contains("console_accounts.email") || message.contains("console_accounts_email") {
        return Some("console_account");
    }
    // One claim of each kind per parcel.
    if message.contains("claims.parcel_id") || message.contains("claims_parcel_kind") {
        return Some("claim");
    }
    // Keyed by its point: a second raise is named, not taken for an id clash.
    if message.contains("occupancy_alerts") {
        return Some("occupancy_alert");
    }
    // A parcel scanned twice in one session (its key is the pair), a second pending opening of a door.
    if message.contains("drop_off_items") {
        return Some("drop_off_item");
    }
    if message.contains("door_commands_pending") || message.contains("door_commands.compartment_id") {
        return Some("door_command");
    }
    let primary = message.contains("PRIMARY KEY") || message.contains("_pkey") || message.ends_with(".id");
    if primary {
        return Some("id");
    }
    KEYS.iter().find(|(needle, _)| message.contains(needle)).map(|(_, what)| *what)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_urls() {
        assert_eq!(sqlite_path("relais.db"), Some(Path::new("relais.db")));
        assert_eq!(sqlite_path("sqlite://data/relais.db"), Some(Path::new("data/relais.db")));
        assert_eq!(sqlite_path("sqlite:relais.db"), Some(Path::new("relais.db")));
        assert_eq!(sqlite_path("postgres://u@h/db"), None);
        assert_eq!(sqlite_path("postgresql://u@h/db"), None);
    }

    #[test]
    fn duplicate_keys_are_named_on_both_backends() {
        let cases = [
            ("UNIQUE constraint failed: parcels.number", Some("parcel_number")),
            ("parcels_number_key", Some("parcel_number")),
            ("UNIQUE constraint failed: parcels.point_id, parcels.code_digest", Some("pickup_code")),
            ("parcels_point_id_code_digest_key", Some("pickup_code")),
            ("UNIQUE constraint failed: api_keys.digest", Some("api_key")),
            (
                "UNIQUE constraint failed: pickup_points.network_id, pickup_points.external_id",
                Some("point_external_id"),
            ),
            ("UNIQUE constraint failed: parcels.id", Some("id")),
            ("networks_pkey", Some("id")),
            ("something else", None),
        ];
        for (message, what) in cases {
            assert_eq!(duplicate_what(message), what, "{message}");
        }
    }
}
