//! The `Store` port on two backends: SQLite (embedded, the default) and PostgreSQL (to scale out).
//! Both pass the same conformance suite (`tests/conformance.rs`); their schemas, embedded migrations
//! kept per backend, describe the same tables and columns (a test checks).

mod compartment_cache;
pub mod metrics;
pub mod postgres;
mod postgres_commit;
mod postgres_notices;
pub mod sqlite;
pub mod testing;

use std::path::Path;
use std::sync::Arc;

use relais_app::Store;
use relais_app::ports::{StoreError, StoreResult};
use relais_domain::Timestamp;
use relais_domain::compartment::CompartmentState;
use relais_domain::ids::ParcelId;

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

/// Names the unique key a constraint error is about, from the index name (PostgreSQL) or the column
/// list in the message (SQLite). The index names embed their columns so one matcher serves both.
pub(crate) fn duplicate_what(message: &str) -> Option<&'static str> {
    const KEYS: [(&str, &str); 7] = [
        ("code_digest", "pickup_code"),
        ("parcels.number", "parcel_number"),
        ("parcels_number", "parcel_number"),
        ("external_id", "point_external_id"),
        ("label", "compartment_label"),
        ("scope_key", "attempt_counter"),
        ("digest", "api_key"),
    ];
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

pub(crate) fn corrupt(what: &str) -> StoreError {
    StoreError(format!("corrupt {what} in the database"))
}

/// Closures as stored: `YYYY-MM-DD..YYYY-MM-DD` ranges joined by `;`.
pub(crate) fn closures_to_text(closures: &[relais_domain::point::Closure]) -> String {
    closures.iter().map(|c| format!("{}..{}", c.first, c.last)).collect::<Vec<_>>().join(";")
}

pub(crate) fn closures_from_text(text: &str) -> StoreResult<Vec<relais_domain::point::Closure>> {
    text.split(';')
        .filter(|range| !range.is_empty())
        .map(|range| {
            let (first, last) = range.split_once("..").ok_or_else(|| corrupt("closures"))?;
            Ok(relais_domain::point::Closure {
                first: first.parse().map_err(|_| corrupt("closures"))?,
                last: last.parse().map_err(|_| corrupt("closures"))?,
            })
        })
        .collect()
}

/// A point change's fields as stored: a JSON array of `{"field", "before", "after"}`.
pub(crate) fn fields_to_text(fields: &[(String, String, String)]) -> String {
    let items: Vec<serde_json::Value> = fields
        .iter()
        .map(|(field, before, after)| serde_json::json!({"field": field, "before": before, "after": after}))
        .collect();
    serde_json::Value::Array(items).to_string()
}

pub(crate) fn fields_from_text(text: &str) -> StoreResult<Vec<(String, String, String)>> {
    let items: Vec<serde_json::Value> = serde_json::from_str(text).map_err(|_| corrupt("point change fields"))?;
    items
        .iter()
        .map(|item| {
            let text = |key: &str| item[key].as_str().map(str::to_owned).ok_or_else(|| corrupt("point change fields"));
            Ok((text("field")?, text("before")?, text("after")?))
        })
        .collect()
}

/// A row of compartment counts: point, size class index, total, available, occupied, reserved.
pub(crate) type CountsRow = (relais_domain::ids::PointId, usize, u32, u32, u32, u32);

/// Count rows sorted by point, gathered per point.
pub(crate) fn gather_counts(rows: Vec<CountsRow>) -> Vec<relais_app::ports::CompartmentCounts> {
    let mut out: Vec<relais_app::ports::CompartmentCounts> = Vec::new();
    for (point_id, size, total, free, occupied, reserved) in rows {
        if out.last().is_none_or(|c| c.point_id != point_id) {
            out.push(relais_app::ports::CompartmentCounts {
                point_id,
                free: [0; 4],
                total: [0; 4],
                occupied: [0; 4],
                reserved: [0; 4],
            });
        }
        if let Some(counts) = out.last_mut() {
            counts.total[size] = total;
            counts.free[size] = free;
            counts.occupied[size] = occupied;
            counts.reserved[size] = reserved;
        }
    }
    out
}

pub(crate) fn offsets_to_text(offsets: &[u32]) -> String {
    offsets.iter().map(u32::to_string).collect::<Vec<_>>().join(",")
}

pub(crate) fn offsets_from_text(text: &str) -> StoreResult<Vec<u32>> {
    if text.is_empty() {
        return Ok(Vec::new());
    }
    text.split(',').map(|n| n.parse().map_err(|_| corrupt("reminder offsets"))).collect()
}

pub(crate) fn compartment_state(
    state: &str,
    parcel: Option<ParcelId>,
    reserved_until: Option<Timestamp>,
) -> StoreResult<CompartmentState> {
    Ok(match (state, parcel) {
        ("available", None) => CompartmentState::Available,
        ("reserved", Some(parcel_id)) => CompartmentState::Reserved { parcel_id, expires_at: reserved_until },
        ("occupied", Some(parcel_id)) => CompartmentState::Occupied { parcel_id },
        ("out_of_service", None) => CompartmentState::OutOfService,
        ("disabled", None) => CompartmentState::Disabled,
        _ => return Err(corrupt("compartment state")),
    })
}

/// The sharers of a compartment as one text column: ids, comma-separated, in order.
pub(crate) fn sharers_to_text(sharers: &[ParcelId]) -> String {
    sharers.iter().map(ToString::to_string).collect::<Vec<_>>().join(",")
}

pub(crate) fn sharers_from_text(text: &str) -> StoreResult<Vec<ParcelId>> {
    if text.is_empty() {
        return Ok(Vec::new());
    }
    text.split(',').map(|p| p.parse().map_err(|_| corrupt("compartment sharers"))).collect()
}

/// A device's door states as one text column: `A01=closed,A02=open`.
pub(crate) fn doors_to_text(doors: &[(String, String)]) -> String {
    doors.iter().map(|(label, state)| format!("{label}={state}")).collect::<Vec<_>>().join(",")
}

pub(crate) fn doors_from_text(text: &str) -> StoreResult<Vec<(String, String)>> {
    if text.is_empty() {
        return Ok(Vec::new());
    }
    text.split(',')
        .map(|pair| {
            pair.split_once('=').map(|(l, s)| (l.to_owned(), s.to_owned())).ok_or_else(|| corrupt("door states"))
        })
        .collect()
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
