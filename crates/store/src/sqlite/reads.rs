//! The store's reads on SQLite: one query per read, on a pooled read-only connection, decoded by
//! `crate::rows`. A locker's doors come from the copy the writer keeps exact (`doors.rs`, ADR 10).

use async_trait::async_trait;
use relais_app::ports::{
    AttemptScope, AuditEntry, Branding, Carrier, CommitError, CompartmentCounts, DeliveryFilter, DeviceStatus,
    EndpointSecrets, ImportRecord, LeasedDelivery, Merchant, OccupancyAlert, OutboxMessage, Page, ParcelFilter,
    ParcelTracking, PointChange, ShopWriteBack, StoreError, StoreResult, StoredCarrierEvent, StoredConnector,
    StoredCounter, StoredEvent, StoredSeries, StoredTemplate, SurveyFilter, Write,
};
use relais_app::ports::{ClaimFilter, Evidence, EvidenceEntry};
use relais_app::{ApiKey, Store};
use relais_domain::Timestamp;
use relais_domain::claims::Claim;
use relais_domain::compartment::Compartment;
use relais_domain::delivery::{Delivery, Endpoint};
use relais_domain::dropoff::{DoorCommand, DropOffItem, DropOffSession};
use relais_domain::ids::ClaimId;
use relais_domain::ids::{
    ApiKeyId, CarrierId, CommandId, CompartmentId, DeliveryId, DropOffSessionId, EndpointId, Id, ImportId, LeaseId,
    MerchantId, NetworkId, OrderId, OutboxId, ParcelId, PointId,
};
use relais_domain::kpi::{KpiEvent, KpiFact};
use relais_domain::network::Network;
use relais_domain::order::Order;
use relais_domain::parcel::{Parcel, ParcelState};
use relais_domain::point::PickupPoint;
use relais_domain::value::{Email, ParcelNumber, Phone};
use rusqlite::types::{ToSql, ValueRef};
use rusqlite::{Row, params};

use super::SqliteStore;
use super::doors::Lookup;
use super::writes::{id, micros};
use crate::rows::{self, Columns, corrupt};
use crate::rows::{
    ALERT_COLUMNS, API_KEY_COLUMNS, AUDIT_COLUMNS, CARRIER_COLUMNS, COMMAND_COLUMNS, COMPARTMENT_COLUMNS,
    COUNTER_COLUMNS, DELIVERY_COLUMNS, DEVICE_STATUS_COLUMNS, ENDPOINT_COLUMNS, EVENT_COLUMNS, IMPORT_COLUMNS,
    ITEM_COLUMNS, MERCHANT_COLUMNS, NETWORK_COLUMNS, ORDER_COLUMNS, OUTBOX_COLUMNS, PARCEL_COLUMNS,
    POINT_CHANGE_COLUMNS, POINT_COLUMNS, SESSION_COLUMNS,
};

const SURVEY_COLUMNS: &str =
    "parcel_id, merchant_id, network_id, point_id, carrier_id, score, comment, publish, answered_at";

fn value<'a>(row: &'a Row<'_>, index: usize) -> StoreResult<ValueRef<'a>> {
    row.get_ref(index).map_err(StoreError::new)
}

fn time_of(micros: i64) -> StoreResult<Timestamp> {
    chrono::DateTime::from_timestamp_micros(micros).ok_or_else(|| corrupt("timestamp"))
}

impl SqliteStore {
    /// A carrier with the networks it serves.
    fn with_networks(&self, carrier: Carrier) -> StoreResult<Carrier> {
        let networks = self.many(
            "SELECT network_id FROM carrier_networks WHERE carrier_id = ?1 ORDER BY network_id",
            &[&id(carrier.id)],
            |r| r.id(0),
        )?;
        Ok(Carrier { networks, ..carrier })
    }
}

impl Columns for Row<'_> {
    fn id<T>(&self, index: usize) -> StoreResult<Id<T>> {
        Id::from_slice(self.bytes(index)?).ok_or_else(|| corrupt("id"))
    }
    fn opt_id<T>(&self, index: usize) -> StoreResult<Option<Id<T>>> {
        match value(self, index)?.as_blob_or_null().map_err(StoreError::new)? {
            Some(bytes) => Id::from_slice(bytes).map(Some).ok_or_else(|| corrupt("id")),
            None => Ok(None),
        }
    }
    fn text(&self, index: usize) -> StoreResult<&str> {
        value(self, index)?.as_str().map_err(StoreError::new)
    }
    fn opt_text(&self, index: usize) -> StoreResult<Option<&str>> {
        value(self, index)?.as_str_or_null().map_err(StoreError::new)
    }
    fn time(&self, index: usize) -> StoreResult<Timestamp> {
        time_of(self.int(index)?)
    }
    fn opt_time(&self, index: usize) -> StoreResult<Option<Timestamp>> {
        value(self, index)?.as_i64_or_null().map_err(StoreError::new)?.map(time_of).transpose()
    }
    fn int(&self, index: usize) -> StoreResult<i64> {
        value(self, index)?.as_i64().map_err(StoreError::new)
    }
    fn opt_int(&self, index: usize) -> StoreResult<Option<i64>> {
        value(self, index)?.as_i64_or_null().map_err(StoreError::new)
    }
    fn real(&self, index: usize) -> StoreResult<f64> {
        match value(self, index)? {
            ValueRef::Integer(n) => Ok(n as f64),
            other => other.as_f64().map_err(StoreError::new),
        }
    }
    fn bytes(&self, index: usize) -> StoreResult<&[u8]> {
        value(self, index)?.as_blob().map_err(StoreError::new)
    }
    fn json(&self, index: usize) -> StoreResult<serde_json::Value> {
        serde_json::from_str(self.text(index)?).map_err(|_| corrupt("JSON column"))
    }
    fn opt_bytes(&self, index: usize) -> StoreResult<Option<&[u8]>> {
        value(self, index)?.as_blob_or_null().map_err(StoreError::new)
    }
    fn opt_json(&self, index: usize) -> StoreResult<Option<serde_json::Value>> {
        match self.opt_text(index)? {
            Some(text) => serde_json::from_str(text).map(Some).map_err(|_| corrupt("JSON column")),
            None => Ok(None),
        }
    }
}

/// The states in which a parcel's pickup code is live, as SQLite must read them: the very text of the
/// partial unique index's condition (migration 0008), or SQLite does not see that the index applies to
/// the lookup. Written from the domain's definition; a test checks it against the schema.
fn waiting_for_code() -> String {
    let states: Vec<String> = crate::live_code_states().iter().map(|s| format!("state = '{s}'")).collect();
    format!("({})", states.join(" OR "))
}

/// One point's compartment counts: the lookup a deposit or a pickup costs the index job.
fn counts_of_one_point() -> String {
    crate::counts_query("point_id = ?1", "?2")
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn ping(&self) -> StoreResult<()> {
        self.one("SELECT 1", &[], |r| r.int(0)).map(drop)
    }

    async fn network(&self, network_id: NetworkId) -> StoreResult<Option<Network>> {
        self.one(&format!("SELECT {NETWORK_COLUMNS} FROM networks WHERE id = ?1"), &[&id(network_id)], |r| {
            rows::network(r)
        })
    }

    async fn networks(&self, page: Page<NetworkId>) -> StoreResult<Vec<Network>> {
        let after = page.after.map(id).unwrap_or([0; 16]);
        self.many(
            &format!("SELECT {NETWORK_COLUMNS} FROM networks WHERE id > ?1 ORDER BY id LIMIT ?2"),
            &[&after, &page.limit],
            |r| rows::network(r),
        )
    }

    async fn merchant(&self, merchant_id: MerchantId) -> StoreResult<Option<Merchant>> {
        self.one(&format!("SELECT {MERCHANT_COLUMNS} FROM merchants WHERE id = ?1"), &[&id(merchant_id)], |r| {
            rows::merchant(r)
        })
    }

    async fn point(&self, point_id: PointId) -> StoreResult<Option<PickupPoint>> {
        self.one(&format!("SELECT {POINT_COLUMNS} FROM pickup_points WHERE id = ?1"), &[&id(point_id)], |r| {
            rows::point(r)
        })
    }

    async fn points(&self, network_id: Option<NetworkId>, page: Page<PointId>) -> StoreResult<Vec<PickupPoint>> {
        let after = page.after.map(id).unwrap_or([0; 16]);
        match network_id {
            Some(network) => self.many(
                &format!(
                    "SELECT {POINT_COLUMNS} FROM pickup_points WHERE network_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3"
                ),
                &[&id(network), &after, &page.limit],
                |r| rows::point(r),
            ),
            None => self.many(
                &format!("SELECT {POINT_COLUMNS} FROM pickup_points WHERE id > ?1 ORDER BY id LIMIT ?2"),
                &[&after, &page.limit],
                |r| rows::point(r),
            ),
        }
    }

    async fn count_points(&self) -> StoreResult<u64> {
        Ok(self.one("SELECT COUNT(*) FROM pickup_points", &[], |r| r.int(0))?.unwrap_or(0) as u64)
    }

    async fn network_points(&self, network_id: NetworkId) -> StoreResult<Vec<PickupPoint>> {
        self.many(
            &format!("SELECT {POINT_COLUMNS} FROM pickup_points WHERE network_id = ?1"),
            &[&id(network_id)],
            |r| rows::point(r),
        )
    }

    async fn compartment_counts(
        &self,
        point_id: Option<PointId>,
        now: Timestamp,
    ) -> StoreResult<Vec<CompartmentCounts>> {
        // Two statements, not `?1 IS NULL OR point_id = ?1`: that one cannot use the index on
        // `point_id`, so one point's count scanned every compartment of the network, and the index job's
        // back-to-back scans left the log no moment without a reader to restart it.
        let rows = match point_id {
            Some(point) => self.many(&counts_of_one_point(), &[&id(point), &micros(now)], |r| rows::counts(r))?,
            None => self.many(&crate::counts_query("1 = 1", "?1"), &[&micros(now)], |r| rows::counts(r))?,
        };
        Ok(rows::gather_counts(rows))
    }

    async fn imports(&self, network_id: NetworkId, page: Page<ImportId>) -> StoreResult<Vec<ImportRecord>> {
        let before = page.after.map(id).unwrap_or([0xFF; 16]);
        self.many(
            &format!(
                "SELECT {IMPORT_COLUMNS} FROM point_imports WHERE network_id = ?1 AND id < ?2 ORDER BY id DESC LIMIT ?3"
            ),
            &[&id(network_id), &before, &page.limit],
            |r| rows::import(r),
        )
    }

    async fn occupancy_alert(&self, point_id: PointId) -> StoreResult<Option<OccupancyAlert>> {
        self.one(&format!("SELECT {ALERT_COLUMNS} FROM occupancy_alerts WHERE point_id = ?1"), &[&id(point_id)], |r| {
            rows::alert(r)
        })
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
                                   WHERE kind IN ('deposited', 'deposit_failed') AND at >= ?1 AND at < ?2)
               AND (?3 IS NULL OR p.point_id = ?3) AND (?4 IS NULL OR p.network_id = ?4)
             ORDER BY e.parcel_id, e.seq",
            &[&micros(from), &micros(to), &point_id.map(id), &network_id.map(id)],
            |r| rows::kpi_event(r),
        )
    }

    async fn kpi_facts(
        &self,
        point_id: Option<PointId>,
        network_id: Option<NetworkId>,
        from: Timestamp,
        to: Timestamp,
    ) -> StoreResult<Vec<KpiFact>> {
        let args: [&dyn ToSql; 4] = [&micros(from), &micros(to), &point_id.map(id), &network_id.map(id)];
        let mut facts = self.many(
            "SELECT a.point_id, a.at FROM audit_log a JOIN pickup_points p ON p.id = a.point_id
             WHERE a.action IN ('door_jammed', 'door_forced_open', 'door_broken', 'compartment_blocked') AND a.at >= ?1 AND a.at < ?2
               AND (?3 IS NULL OR a.point_id = ?3) AND (?4 IS NULL OR p.network_id = ?4)",
            &args,
            |r| rows::kpi_incident(r),
        )?;
        facts.extend(self.many(
            "SELECT s.point_id, i.scanned_at, i.done_at FROM drop_off_items i
               JOIN drop_off_sessions s ON s.id = i.session_id JOIN pickup_points p ON p.id = s.point_id
             WHERE i.state = 'deposited' AND i.done_at >= ?1 AND i.done_at < ?2
               AND (?3 IS NULL OR s.point_id = ?3) AND (?4 IS NULL OR p.network_id = ?4)",
            &args,
            |r| rows::kpi_handling(r),
        )?);
        Ok(facts)
    }

    async fn point_changes(&self, point_id: PointId) -> StoreResult<Vec<PointChange>> {
        self.many(
            &format!("SELECT {POINT_CHANGE_COLUMNS} FROM point_changes WHERE point_id = ?1 ORDER BY seq"),
            &[&id(point_id)],
            |r| rows::point_change(r),
        )
    }

    async fn compartments(&self, point_id: PointId) -> StoreResult<Vec<Compartment>> {
        let load = || {
            self.many(
                &format!("SELECT {COMPARTMENT_COLUMNS} FROM compartments WHERE point_id = ?1 ORDER BY label"),
                &[&id(point_id)],
                |r| rows::compartment(r),
            )
        };
        let lookup = self.compartments.lookup(point_id);
        crate::metrics::door_copy_read(matches!(lookup, Lookup::Hit(_)));
        match lookup {
            Lookup::Hit(compartments) => Ok(compartments.as_ref().clone()),
            Lookup::Bypass => load(),
            Lookup::Load(number) => {
                let loaded = load();
                self.compartments.store(point_id, number, loaded.as_deref().ok());
                loaded
            }
        }
    }

    async fn compartments_with_lapsed_reservation(&self, now: Timestamp, limit: u32) -> StoreResult<Vec<Compartment>> {
        self.many(
            &format!(
                "SELECT {COMPARTMENT_COLUMNS} FROM compartments
                 WHERE state = 'reserved' AND reserved_until <= ?1 ORDER BY reserved_until LIMIT ?2"
            ),
            &[&micros(now), &limit],
            |r| rows::compartment(r),
        )
    }

    async fn compartment(&self, compartment_id: CompartmentId) -> StoreResult<Option<Compartment>> {
        self.one(
            &format!("SELECT {COMPARTMENT_COLUMNS} FROM compartments WHERE id = ?1"),
            &[&id(compartment_id)],
            |r| rows::compartment(r),
        )
    }

    async fn parcel(&self, parcel_id: ParcelId) -> StoreResult<Option<Parcel>> {
        self.one(&format!("SELECT {PARCEL_COLUMNS} FROM parcels WHERE id = ?1"), &[&id(parcel_id)], |r| rows::parcel(r))
    }

    async fn parcel_with_seal(&self, parcel_id: ParcelId) -> StoreResult<Option<(Parcel, Option<Vec<u8>>)>> {
        let sql = format!("SELECT {PARCEL_COLUMNS}, pickup_seal FROM parcels WHERE id = ?1");
        self.one(&sql, &[&id(parcel_id)], |r| Ok((rows::parcel(r)?, rows::seal_after_parcel(r)?)))
    }

    async fn parcels_by_number(&self, number: &ParcelNumber, limit: u32) -> StoreResult<Vec<Parcel>> {
        self.many(
            &format!("SELECT {PARCEL_COLUMNS} FROM parcels WHERE number = ?1 LIMIT ?2"),
            &[&number.as_str(), &limit],
            |r| rows::parcel(r),
        )
    }

    async fn import_record(&self, import_id: ImportId) -> StoreResult<Option<ImportRecord>> {
        self.one(&format!("SELECT {IMPORT_COLUMNS} FROM point_imports WHERE id = ?1"), &[&id(import_id)], |r| {
            rows::import(r)
        })
    }

    async fn import_changes(&self, import_id: ImportId, limit: u32) -> StoreResult<Vec<PointChange>> {
        self.many(
            &format!("SELECT {POINT_CHANGE_COLUMNS} FROM point_changes WHERE import_id = ?1 ORDER BY seq LIMIT ?2"),
            &[&id(import_id), &limit],
            |r| rows::point_change(r),
        )
    }

    async fn enrolment(&self, token_digest: &[u8; 32]) -> StoreResult<Option<relais_domain::console::Enrolment>> {
        self.one(
            "SELECT token_digest, point_id, label, created_by, created_at, expires_at, used_at
             FROM device_enrolments WHERE token_digest = ?1",
            &[&&token_digest[..]],
            |r| rows::enrolment(r),
        )
    }

    async fn point_keys(&self, point_id: PointId) -> StoreResult<Vec<ApiKey>> {
        self.many(
            &format!("SELECT {API_KEY_COLUMNS} FROM api_keys WHERE point_id = ?1 ORDER BY id"),
            &[&id(point_id)],
            |r| rows::api_key(r),
        )
    }

    async fn occupancy_alerts(&self, limit: u32) -> StoreResult<Vec<OccupancyAlert>> {
        self.many(
            &format!("SELECT {ALERT_COLUMNS} FROM occupancy_alerts ORDER BY raised_at DESC LIMIT ?1"),
            &[&limit],
            |r| rows::alert(r),
        )
    }

    async fn faulty_compartments(&self, limit: u32) -> StoreResult<Vec<(Compartment, Option<Timestamp>)>> {
        self.many(
            &format!(
                "SELECT {COMPARTMENT_COLUMNS}, (SELECT MAX(a.at) FROM audit_log a
                     WHERE a.point_id = compartments.point_id AND a.compartment_id = compartments.id
                       AND a.action IN ('door_jammed', 'door_forced_open', 'door_broken', 'compartment_blocked'))
                 FROM compartments WHERE fault IS NOT NULL ORDER BY point_id, label LIMIT ?1"
            ),
            &[&limit],
            |r| Ok((rows::compartment(r)?, r.opt_time(10)?)),
        )
    }

    async fn offline_devices(&self, limit: u32) -> StoreResult<Vec<DeviceStatus>> {
        self.many(
            &format!(
                "SELECT {DEVICE_STATUS_COLUMNS} FROM device_status WHERE offline_since IS NOT NULL
                 ORDER BY offline_since LIMIT ?1"
            ),
            &[&limit],
            |r| rows::device_status(r),
        )
    }

    async fn refused_imports(&self, since: Timestamp, limit: u32) -> StoreResult<Vec<ImportRecord>> {
        self.many(
            &format!(
                "SELECT {IMPORT_COLUMNS} FROM point_imports WHERE status = 'refused' AND at >= ?1 ORDER BY at DESC LIMIT ?2"
            ),
            &[&micros(since), &limit],
            |r| rows::import(r),
        )
    }

    async fn dead_deliveries(&self, since: Timestamp, limit: u32) -> StoreResult<Vec<Delivery>> {
        self.many(
            &format!(
                "SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE state = 'dead' AND updated_at >= ?1
                 ORDER BY updated_at DESC LIMIT ?2"
            ),
            &[&micros(since), &limit],
            |r| rows::delivery(r),
        )
    }

    async fn claims_to_file_by(&self, by: Timestamp, limit: u32) -> StoreResult<Vec<Claim>> {
        self.many(
            &format!(
                "SELECT {} FROM claims WHERE state = 'to_file' AND deadline_at < ?1 ORDER BY deadline_at LIMIT ?2",
                rows::CLAIM_COLUMNS
            ),
            &[&micros(by), &limit],
            |r| rows::claim(r),
        )
    }

    async fn alert_acknowledgements(&self, keys: &[String]) -> StoreResult<Vec<relais_domain::alert::Acknowledgement>> {
        let mut found = Vec::new();
        for key in keys {
            found.extend(self.one(
                "SELECT key, by_name, comment, at FROM alert_acknowledgements WHERE key = ?1",
                &[key],
                |r| rows::acknowledgement(r),
            )?);
        }
        Ok(found)
    }

    async fn parcels_by_order_reference(&self, reference: &str, limit: u32) -> StoreResult<Vec<Parcel>> {
        let columns = PARCEL_COLUMNS.split(',').map(|c| format!("p.{}", c.trim())).collect::<Vec<_>>().join(", ");
        self.many(
            &format!(
                "SELECT {columns} FROM orders o JOIN order_parcels op ON op.order_id = o.id
                 JOIN parcels p ON p.id = op.parcel_id WHERE o.reference = ?1 ORDER BY o.id, op.shipment LIMIT ?2"
            ),
            &[&reference, &limit],
            |r| rows::parcel(r),
        )
    }

    async fn parcels_by_contact(&self, digest: &str, limit: u32) -> StoreResult<Vec<Parcel>> {
        let columns = PARCEL_COLUMNS.split(',').map(|c| format!("p.{}", c.trim())).collect::<Vec<_>>().join(", ");
        self.many(
            &format!(
                "SELECT {columns} FROM parcel_contacts c JOIN parcels p ON p.id = c.parcel_id
                 WHERE c.digest = ?1 ORDER BY p.created_at DESC LIMIT ?2"
            ),
            &[&digest, &limit],
            |r| rows::parcel(r),
        )
    }

    async fn parcel_by_code(&self, point_id: PointId, code_digest: &[u8; 32]) -> StoreResult<Option<Parcel>> {
        self.one(
            &format!(
                "SELECT {PARCEL_COLUMNS} FROM parcels
                 WHERE point_id = ?1 AND code_digest = ?2 AND {}",
                waiting_for_code()
            ),
            &[&id(point_id), &&code_digest[..]],
            |r| rows::parcel(r),
        )
    }

    async fn parcels(&self, filter: &ParcelFilter, page: Page<ParcelId>) -> StoreResult<Vec<Parcel>> {
        let after = page.after.map(id).unwrap_or([0; 16]);
        let merchant = filter.merchant_id.map(id);
        let point = filter.point_id.map(id);
        let state = filter.state.map(ParcelState::as_str);
        let incident = filter.state.and_then(ParcelState::incident_kind).map(|k| k.as_str());
        let carrier = filter.carrier_id.map(id);
        self.read(|c| {
            let sql = format!(
                "SELECT {PARCEL_COLUMNS} FROM parcels
                 WHERE id > ?1 AND (?2 IS NULL OR merchant_id = ?2) AND (?3 IS NULL OR point_id = ?3)
                   AND (?4 IS NULL OR state = ?4) AND (?5 IS NULL OR incident_kind = ?5)
                   AND (?7 IS NULL OR carrier_id = ?7 OR (carrier_id IS NULL AND network_id IN
                        (SELECT network_id FROM carrier_networks WHERE carrier_id = ?7)))
                 ORDER BY id LIMIT ?6"
            );
            let mut statement = c.prepare_cached(&sql).map_err(StoreError::new)?;
            let mut found = statement
                .query(params![after, merchant, point, state, incident, page.limit, carrier])
                .map_err(StoreError::new)?;
            let mut out = Vec::new();
            while let Some(row) = found.next().map_err(StoreError::new)? {
                out.push(rows::parcel(row)?);
            }
            Ok(out)
        })
    }

    async fn parcels_waiting_for(
        &self,
        point_id: PointId,
        phone: Option<&Phone>,
        email: Option<&Email>,
        limit: u32,
    ) -> StoreResult<Vec<Parcel>> {
        // Two lookups, one per partial index. Written as an OR with `ORDER BY id`, the planner walked every
        // parcel the point ever had instead (EXPLAIN QUERY PLAN).
        self.many(
            &format!(
                "SELECT {PARCEL_COLUMNS} FROM parcels
                 WHERE state = 'ready_for_pickup' AND point_id = ?1 AND recipient_phone = ?2
                 UNION
                 SELECT {PARCEL_COLUMNS} FROM parcels
                 WHERE state = 'ready_for_pickup' AND point_id = ?1 AND recipient_email = ?3
                 LIMIT ?4"
            ),
            &[&id(point_id), &phone.map(Phone::as_str), &email.map(Email::as_str), &limit],
            |r| rows::parcel(r),
        )
    }

    async fn parcels_due_for_expiry(&self, now: Timestamp, limit: u32) -> StoreResult<Vec<Parcel>> {
        self.many(
            &format!(
                "SELECT {PARCEL_COLUMNS} FROM parcels
                 WHERE state = 'ready_for_pickup' AND pickup_deadline <= ?1 ORDER BY pickup_deadline LIMIT ?2"
            ),
            &[&micros(now), &limit],
            |r| rows::parcel(r),
        )
    }

    async fn parcels_due_for_reminder(&self, now: Timestamp, limit: u32) -> StoreResult<Vec<Parcel>> {
        self.many(
            &format!(
                "SELECT {PARCEL_COLUMNS} FROM parcels
                 WHERE state = 'ready_for_pickup' AND next_reminder_at IS NOT NULL AND next_reminder_at <= ?1
                 ORDER BY next_reminder_at LIMIT ?2"
            ),
            &[&micros(now), &limit],
            |r| rows::parcel(r),
        )
    }

    async fn events(&self, parcel_id: ParcelId) -> StoreResult<Vec<StoredEvent>> {
        self.many(
            &format!("SELECT {EVENT_COLUMNS} FROM parcel_events WHERE parcel_id = ?1 ORDER BY seq"),
            &[&id(parcel_id)],
            |r| rows::event(r),
        )
    }

    async fn outbox(&self, after: Option<OutboxId>, limit: u32) -> StoreResult<Vec<OutboxMessage>> {
        let after = after.map(id).unwrap_or([0; 16]);
        self.many(
            &format!("SELECT {OUTBOX_COLUMNS} FROM outbox WHERE id > ?1 ORDER BY id LIMIT ?2"),
            &[&after, &limit],
            |r| rows::outbox(r),
        )
    }

    async fn outbox_message(&self, outbox_id: OutboxId) -> StoreResult<Option<OutboxMessage>> {
        self.one(&format!("SELECT {OUTBOX_COLUMNS} FROM outbox WHERE id = ?1"), &[&id(outbox_id)], |r| rows::outbox(r))
    }

    async fn leased_outbox(&self, lease: LeaseId) -> StoreResult<Vec<OutboxMessage>> {
        self.many(&format!("SELECT {OUTBOX_COLUMNS} FROM outbox WHERE lease_id = ?1 ORDER BY id"), &[&id(lease)], |r| {
            rows::outbox(r)
        })
    }

    async fn leased_deliveries(&self, lease: LeaseId) -> StoreResult<Vec<LeasedDelivery>> {
        self.many(&rows::leased_deliveries_sql("?1"), &[&id(lease)], |r| rows::leased_delivery(r))
    }

    async fn delivery(&self, delivery_id: DeliveryId) -> StoreResult<Option<Delivery>> {
        self.one(&format!("SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE id = ?1"), &[&id(delivery_id)], |r| {
            rows::delivery(r)
        })
    }

    async fn deliveries(&self, filter: &DeliveryFilter, page: Page<DeliveryId>) -> StoreResult<Vec<Delivery>> {
        let after = page.after.map(id).unwrap_or([0xff; 16]);
        self.many(
            &format!(
                "SELECT {DELIVERY_COLUMNS} FROM deliveries
                 WHERE id < ?1 AND (?2 IS NULL OR parcel_id = ?2) AND (?3 IS NULL OR address = ?3)
                   AND (?4 IS NULL OR state = ?4)
                 ORDER BY id DESC LIMIT ?5"
            ),
            &[&after, &filter.parcel_id.map(id), &filter.address, &filter.state.map(|s| s.as_str()), &page.limit],
            |r| rows::delivery(r),
        )
    }

    async fn delivery_counts(&self) -> StoreResult<Vec<(String, String, u64)>> {
        self.many("SELECT channel, state, count(*) FROM deliveries GROUP BY channel, state ORDER BY 1, 2", &[], |r| {
            Ok((r.owned(0)?, r.owned(1)?, u64::try_from(r.int(2)?).unwrap_or(0)))
        })
    }

    async fn endpoint(&self, endpoint_id: EndpointId) -> StoreResult<Option<(Endpoint, EndpointSecrets)>> {
        self.one(&format!("SELECT {ENDPOINT_COLUMNS} FROM endpoints WHERE id = ?1"), &[&id(endpoint_id)], |r| {
            Ok((rows::endpoint(r)?, rows::endpoint_secrets(r)?))
        })
    }

    async fn merchant_branding(&self, merchant_id: MerchantId) -> StoreResult<Option<Branding>> {
        let sql = "SELECT brand_color, logo_url, sender_name, return_address FROM merchants WHERE id = ?1";
        self.one(sql, &[&id(merchant_id)], |r| rows::branding(r))
    }

    async fn endpoints(&self, merchant_id: Option<MerchantId>) -> StoreResult<Vec<Endpoint>> {
        self.many(
            &format!("SELECT {ENDPOINT_COLUMNS} FROM endpoints WHERE merchant_id IS ?1 ORDER BY id"),
            &[&merchant_id.map(id)],
            |r| rows::endpoint(r),
        )
    }

    async fn enabled_endpoints(&self) -> StoreResult<Vec<Endpoint>> {
        self.many(
            &format!("SELECT {ENDPOINT_COLUMNS} FROM endpoints WHERE disabled_at IS NULL ORDER BY id"),
            &[],
            |r| rows::endpoint(r),
        )
    }

    async fn recipient_sends(
        &self,
        addresses: &[String],
        since: Timestamp,
    ) -> StoreResult<Vec<(relais_domain::delivery::Channel, String, Timestamp)>> {
        if addresses.is_empty() {
            return Ok(Vec::new());
        }
        let list = serde_json::to_string(addresses).map_err(StoreError::new)?;
        self.many(
            "SELECT channel, address, next_attempt_at FROM deliveries
             WHERE address IN (SELECT value FROM json_each(?1)) AND parcel_id IS NOT NULL AND next_attempt_at > ?2
               AND channel <> 'webhook'",
            &[&list, &micros(since)],
            |r| Ok((rows::channel(r, 0)?, r.owned(1)?, r.time(2)?)),
        )
    }

    async fn opted_out(&self, digests: &[String]) -> StoreResult<Vec<(String, relais_domain::delivery::Channel)>> {
        if digests.is_empty() {
            return Ok(Vec::new());
        }
        let list = serde_json::to_string(digests).map_err(StoreError::new)?;
        self.many(
            "SELECT contact_digest, channel FROM opt_outs WHERE contact_digest IN (SELECT value FROM json_each(?1))",
            &[&list],
            |r| Ok((r.owned(0)?, rows::channel(r, 1)?)),
        )
    }

    async fn survey_answer(&self, parcel_id: ParcelId) -> StoreResult<Option<relais_domain::survey::SurveyAnswer>> {
        self.one(&format!("SELECT {SURVEY_COLUMNS} FROM survey_answers WHERE parcel_id = ?1"), &[&id(parcel_id)], |r| {
            rows::survey_answer(r)
        })
    }

    async fn survey_scores(&self, f: &SurveyFilter) -> StoreResult<[u64; 11]> {
        let counts = self.many(
            "SELECT score, COUNT(*) FROM survey_answers
             WHERE answered_at >= ?1 AND answered_at < ?2 AND (?3 IS NULL OR network_id = ?3)
               AND (?4 IS NULL OR point_id = ?4) AND (?5 IS NULL OR merchant_id = ?5) AND (?6 IS NULL OR carrier_id = ?6)
             GROUP BY score",
            &[
                &micros(f.from),
                &micros(f.to),
                &f.network_id.map(id),
                &f.point_id.map(id),
                &f.merchant_id.map(id),
                &f.carrier_id.map(id),
            ],
            |r| Ok((r.int(0)?, r.int(1)?)),
        )?;
        Ok(rows::gather_scores(counts))
    }

    async fn published_answers(
        &self,
        f: &SurveyFilter,
        limit: u32,
    ) -> StoreResult<Vec<relais_domain::survey::SurveyAnswer>> {
        self.many(
            &format!(
                "SELECT {SURVEY_COLUMNS} FROM survey_answers
                 WHERE publish = 1 AND comment IS NOT NULL AND answered_at >= ?1 AND answered_at < ?2
                   AND (?3 IS NULL OR network_id = ?3) AND (?4 IS NULL OR point_id = ?4)
                   AND (?5 IS NULL OR merchant_id = ?5) AND (?6 IS NULL OR carrier_id = ?6)
                 ORDER BY answered_at DESC, parcel_id LIMIT ?7"
            ),
            &[
                &micros(f.from),
                &micros(f.to),
                &f.network_id.map(id),
                &f.point_id.map(id),
                &f.merchant_id.map(id),
                &f.carrier_id.map(id),
                &limit,
            ],
            |r| rows::survey_answer(r),
        )
    }

    async fn message_templates(&self) -> StoreResult<Vec<StoredTemplate>> {
        self.many(
            "SELECT notice, lang, part, source, updated_at FROM message_templates ORDER BY notice, lang, part",
            &[],
            |r| rows::stored_template(r),
        )
    }

    async fn order(&self, order_id: OrderId) -> StoreResult<Option<Order>> {
        self.one(&format!("SELECT {ORDER_COLUMNS} FROM orders WHERE id = ?1"), &[&id(order_id)], |r| rows::order(r))
    }

    async fn order_by_reference(&self, merchant_id: MerchantId, reference: &str) -> StoreResult<Option<Order>> {
        self.one(
            &format!("SELECT {ORDER_COLUMNS} FROM orders WHERE merchant_id = ?1 AND reference = ?2"),
            &[&id(merchant_id), &reference],
            |r| rows::order(r),
        )
    }

    async fn order_by_idempotency_key(&self, merchant_id: MerchantId, key: &str) -> StoreResult<Option<Order>> {
        self.one(
            &format!("SELECT {ORDER_COLUMNS} FROM orders WHERE merchant_id = ?1 AND idempotency_key = ?2"),
            &[&id(merchant_id), &key],
            |r| rows::order(r),
        )
    }

    async fn order_parcels(&self, order_id: OrderId) -> StoreResult<Vec<(Parcel, u32)>> {
        let columns = PARCEL_COLUMNS.split(',').map(|c| format!("p.{}", c.trim())).collect::<Vec<_>>().join(", ");
        self.many(
            &format!(
                "SELECT {columns}, o.shipment FROM order_parcels o JOIN parcels p ON p.id = o.parcel_id
                 WHERE o.order_id = ?1 ORDER BY o.shipment, p.id"
            ),
            &[&id(order_id)],
            |r| Ok((rows::parcel(r)?, rows::shipment_after_parcel(r)?)),
        )
    }

    async fn order_of_parcel(&self, parcel_id: ParcelId) -> StoreResult<Option<OrderId>> {
        self.one("SELECT order_id FROM order_parcels WHERE parcel_id = ?1", &[&id(parcel_id)], |r| r.id(0))
    }

    async fn connector(&self, merchant_id: MerchantId, platform: &str) -> StoreResult<Option<StoredConnector>> {
        self.one(
            &format!(
                "SELECT {} FROM shop_connectors WHERE merchant_id = ?1 AND platform = ?2",
                rows::CONNECTOR_COLUMNS
            ),
            &[&id(merchant_id), &platform],
            |r| rows::connector(r),
        )
    }

    async fn shop_orders_due(&self, now: Timestamp, limit: u32) -> StoreResult<Vec<ShopWriteBack>> {
        self.many(
            &format!(
                "SELECT {} FROM shop_orders WHERE stage NOT IN ('delivered', 'ended') AND next_attempt_at <= ?1
                 ORDER BY next_attempt_at LIMIT ?2",
                rows::SHOP_ORDER_COLUMNS
            ),
            &[&micros(now), &limit],
            |r| rows::shop_order(r),
        )
    }

    async fn shop_order(&self, order_id: OrderId) -> StoreResult<Option<ShopWriteBack>> {
        self.one(
            &format!("SELECT {} FROM shop_orders WHERE order_id = ?1", rows::SHOP_ORDER_COLUMNS),
            &[&id(order_id)],
            |r| rows::shop_order(r),
        )
    }

    async fn parcel_tracking(&self, parcel_id: ParcelId) -> StoreResult<Option<ParcelTracking>> {
        self.one(
            &format!("SELECT {} FROM parcel_trackings WHERE parcel_id = ?1", rows::TRACKING_COLUMNS),
            &[&id(parcel_id)],
            |r| rows::parcel_tracking(r),
        )
    }

    async fn tracking_by_number(&self, carrier: &str, number: &str) -> StoreResult<Option<ParcelTracking>> {
        self.one(
            &format!(
                "SELECT {} FROM parcel_trackings WHERE carrier = ?1 AND tracking_number = ?2",
                rows::TRACKING_COLUMNS
            ),
            &[&carrier, &number],
            |r| rows::parcel_tracking(r),
        )
    }

    async fn trackings_due(&self, carrier: &str, now: Timestamp, limit: u32) -> StoreResult<Vec<ParcelTracking>> {
        self.many(
            &format!(
                "SELECT {} FROM parcel_trackings WHERE carrier = ?3 AND next_poll_at IS NOT NULL
                   AND next_poll_at <= ?1
                 ORDER BY next_poll_at LIMIT ?2",
                rows::TRACKING_COLUMNS
            ),
            &[&micros(now), &limit, &carrier],
            |r| rows::parcel_tracking(r),
        )
    }

    async fn carrier_events(&self, parcel_id: ParcelId) -> StoreResult<Vec<StoredCarrierEvent>> {
        self.many(
            &format!(
                "SELECT {} FROM carrier_events WHERE parcel_id = ?1 ORDER BY at, code",
                rows::CARRIER_EVENT_COLUMNS
            ),
            &[&id(parcel_id)],
            |r| rows::carrier_event(r),
        )
    }

    async fn trackings_to_review(&self, now: Timestamp, limit: u32) -> StoreResult<Vec<ParcelTracking>> {
        self.many(
            &format!(
                "SELECT {} FROM parcel_trackings WHERE next_review_at IS NOT NULL AND next_review_at <= ?1
                 ORDER BY next_review_at LIMIT ?2",
                rows::TRACKING_COLUMNS
            ),
            &[&micros(now), &limit],
            |r| rows::parcel_tracking(r),
        )
    }

    async fn claim(&self, claim_id: ClaimId) -> StoreResult<Option<Claim>> {
        self.one(&format!("SELECT {} FROM claims WHERE id = ?1", rows::CLAIM_COLUMNS), &[&id(claim_id)], |r| {
            rows::claim(r)
        })
    }

    async fn claims_of(&self, parcel_id: ParcelId) -> StoreResult<Vec<Claim>> {
        self.many(
            &format!("SELECT {} FROM claims WHERE parcel_id = ?1 ORDER BY created_at, id", rows::CLAIM_COLUMNS),
            &[&id(parcel_id)],
            |r| rows::claim(r),
        )
    }

    async fn claims(&self, filter: &ClaimFilter) -> StoreResult<Vec<Claim>> {
        let merchant = filter.merchant_id.map(id);
        let kind = filter.kind.map(|k| k.as_str());
        let state = filter.state.map(|s| s.as_str());
        let from = filter.occurred_from.map(micros);
        let to = filter.occurred_to.map(micros);
        self.many(
            &format!(
                "SELECT {} FROM claims
                 WHERE (?1 IS NULL OR merchant_id = ?1) AND (?2 IS NULL OR carrier = ?2)
                   AND (?3 IS NULL OR kind = ?3) AND (?4 IS NULL OR state = ?4)
                   AND (?5 IS NULL OR occurred_at >= ?5) AND (?6 IS NULL OR occurred_at < ?6)
                 ORDER BY occurred_at, id LIMIT ?7",
                rows::CLAIM_COLUMNS
            ),
            &[&merchant, &filter.carrier, &kind, &state, &from, &to, &filter.limit],
            |r| rows::claim(r),
        )
    }

    async fn claims_to_remind(&self, now: Timestamp, limit: u32) -> StoreResult<Vec<Claim>> {
        self.many(
            &format!(
                "SELECT {} FROM claims WHERE next_reminder_at IS NOT NULL AND next_reminder_at <= ?1
                 ORDER BY next_reminder_at LIMIT ?2",
                rows::CLAIM_COLUMNS
            ),
            &[&micros(now), &limit],
            |r| rows::claim(r),
        )
    }

    async fn claim_evidence(&self, claim_id: ClaimId) -> StoreResult<Vec<EvidenceEntry>> {
        self.many(
            "SELECT e.sha256, e.content_type, e.size_bytes, c.added_by, c.added_at
             FROM claim_evidence c JOIN evidence e ON e.sha256 = c.sha256
             WHERE c.claim_id = ?1 ORDER BY c.added_at, e.sha256",
            &[&id(claim_id)],
            |r| rows::evidence_entry(r),
        )
    }

    async fn console_account_by_email(
        &self,
        email: &str,
    ) -> StoreResult<Option<relais_domain::console::ConsoleAccount>> {
        self.one(
            &format!("SELECT {} FROM console_accounts WHERE email = ?1", rows::CONSOLE_ACCOUNT_COLUMNS),
            &[&email],
            |r| rows::console_account(r),
        )
    }

    async fn console_account(
        &self,
        account_id: relais_domain::ids::ConsoleAccountId,
    ) -> StoreResult<Option<relais_domain::console::ConsoleAccount>> {
        self.one(
            &format!("SELECT {} FROM console_accounts WHERE id = ?1", rows::CONSOLE_ACCOUNT_COLUMNS),
            &[&id(account_id)],
            |r| rows::console_account(r),
        )
    }

    async fn console_session(
        &self,
        token_digest: &[u8; 32],
    ) -> StoreResult<Option<(relais_domain::ids::ConsoleAccountId, Timestamp)>> {
        let digest = token_digest.as_slice();
        self.one("SELECT account_id, expires_at FROM console_sessions WHERE token_digest = ?1", &[&digest], |r| {
            Ok((r.id(0)?, r.time(1)?))
        })
    }

    async fn evidence(&self, claim_id: ClaimId, sha256: &str) -> StoreResult<Option<Evidence>> {
        self.one(
            "SELECT e.sha256, e.content_type, e.bytes FROM claim_evidence c JOIN evidence e ON e.sha256 = c.sha256
             WHERE c.claim_id = ?1 AND c.sha256 = ?2",
            &[&id(claim_id), &sha256],
            |r| Ok(Evidence { sha256: r.owned(0)?, content_type: r.owned(1)?, bytes: r.bytes(2)?.to_vec() }),
        )
    }

    async fn customer_point(
        &self,
        merchant_id: MerchantId,
        digests: &[String],
    ) -> StoreResult<Option<(PointId, Timestamp)>> {
        let list = serde_json::to_string(digests).map_err(StoreError::new)?;
        self.one(
            "SELECT point_id, used_at FROM customer_points
             WHERE merchant_id = ?1 AND contact_digest IN (SELECT value FROM json_each(?2))
             ORDER BY used_at DESC LIMIT 1",
            &[&id(merchant_id), &list],
            |r| Ok((r.id(0)?, r.time(1)?)),
        )
    }

    async fn number_series(&self, id: &str) -> StoreResult<Option<StoredSeries>> {
        self.one(
            "SELECT id, definition, next_serial, version, updated_at FROM number_series WHERE id = ?1",
            &[&id],
            |r| rows::stored_series(r),
        )
    }

    async fn recent_number_block(
        &self,
        definition: &str,
        start: u64,
        end: u64,
        since: Timestamp,
    ) -> StoreResult<Option<u64>> {
        let (start, end) = (rows::serial_param(start)?, rows::serial_param(end)?);
        let found = self.one(
            "SELECT COALESCE(MAX(start_serial + serials), -1) FROM number_blocks
             WHERE definition = ?1 AND start_serial < ?3 AND start_serial + serials > ?2 AND taken_at >= ?4",
            &[&definition, &start, &end, &micros(since)],
            |r| r.int(0),
        )?;
        // -1: none.
        Ok(found.and_then(|n| u64::try_from(n).ok()))
    }

    async fn attempt_counter(&self, scope: AttemptScope) -> StoreResult<Option<StoredCounter>> {
        self.one(&format!("SELECT {COUNTER_COLUMNS} FROM pickup_attempts WHERE scope_key = ?1"), &[&scope.key()], |r| {
            rows::counter(r)
        })
    }

    async fn api_key_by_digest(&self, digest: &[u8; 32]) -> StoreResult<Option<(ApiKey, Vec<NetworkId>)>> {
        let rows = self.many(&rows::api_key_by_digest_sql("?1"), &[&&digest[..]], |r| rows::api_key_and_network(r))?;
        Ok(rows::with_networks(rows))
    }

    async fn api_key_with_networks(&self, key_id: ApiKeyId) -> StoreResult<Option<(ApiKey, Vec<NetworkId>)>> {
        let rows = self.many(&rows::api_key_by_id_sql("?1"), &[&id(key_id)], |r| rows::api_key_and_network(r))?;
        Ok(rows::with_networks(rows))
    }

    async fn pickup_seal(&self, parcel_id: ParcelId) -> StoreResult<Option<Vec<u8>>> {
        let sql = "SELECT pickup_seal FROM parcels WHERE id = ?1 AND pickup_seal IS NOT NULL";
        self.one(sql, &[&id(parcel_id)], |r| r.bytes(0).map(<[u8]>::to_vec))
    }

    async fn api_key(&self, key_id: ApiKeyId) -> StoreResult<Option<ApiKey>> {
        self.one(&format!("SELECT {API_KEY_COLUMNS} FROM api_keys WHERE id = ?1"), &[&id(key_id)], |r| rows::api_key(r))
    }

    async fn api_keys(&self, page: Page<ApiKeyId>) -> StoreResult<Vec<ApiKey>> {
        let after = page.after.map(id).unwrap_or([0; 16]);
        self.many(
            &format!("SELECT {API_KEY_COLUMNS} FROM api_keys WHERE id > ?1 ORDER BY id LIMIT ?2"),
            &[&after, &page.limit],
            |r| rows::api_key(r),
        )
    }

    async fn carrier(&self, carrier_id: CarrierId) -> StoreResult<Option<Carrier>> {
        let sql = format!("SELECT {CARRIER_COLUMNS} FROM carriers WHERE id = ?1");
        let Some(carrier) = self.one(&sql, &[&id(carrier_id)], |r| rows::carrier(r))? else { return Ok(None) };
        Ok(Some(self.with_networks(carrier)?))
    }

    async fn carriers(&self, page: Page<CarrierId>) -> StoreResult<Vec<Carrier>> {
        let after = page.after.map(id).unwrap_or([0; 16]);
        let sql = format!("SELECT {CARRIER_COLUMNS} FROM carriers WHERE id > ?1 ORDER BY id LIMIT ?2");
        let carriers = self.many(&sql, &[&after, &page.limit], |r| rows::carrier(r))?;
        carriers.into_iter().map(|c| self.with_networks(c)).collect()
    }

    async fn carrier_keys_serving(&self, network_id: NetworkId) -> StoreResult<Vec<ApiKey>> {
        self.many(&rows::carrier_keys_serving_sql("?1"), &[&id(network_id)], |r| rows::api_key(r))
    }

    async fn drop_off_session_with_carrier(
        &self,
        session_id: DropOffSessionId,
    ) -> StoreResult<Option<(DropOffSession, ApiKey, Vec<NetworkId>)>> {
        let rows =
            self.many(&rows::session_with_carrier_sql("?1"), &[&id(session_id)], |r| rows::session_key_and_network(r))?;
        Ok(rows::with_networks(rows).map(|((session, key), networks)| (session, key, networks)))
    }

    async fn drop_off_session(&self, session_id: DropOffSessionId) -> StoreResult<Option<DropOffSession>> {
        self.one(&format!("SELECT {SESSION_COLUMNS} FROM drop_off_sessions WHERE id = ?1"), &[&id(session_id)], |r| {
            rows::session(r)
        })
    }

    async fn drop_off_items(&self, session_id: DropOffSessionId) -> StoreResult<Vec<DropOffItem>> {
        self.many(
            &format!("SELECT {ITEM_COLUMNS} FROM drop_off_items WHERE session_id = ?1 ORDER BY scanned_at, parcel_id"),
            &[&id(session_id)],
            |r| rows::item(r),
        )
    }

    async fn deposit_session_of(&self, parcel_id: ParcelId) -> StoreResult<Option<DropOffSessionId>> {
        self.one(
            "SELECT session_id FROM drop_off_items WHERE parcel_id = ?1 AND state = 'deposited'
             ORDER BY scanned_at DESC LIMIT 1",
            &[&id(parcel_id)],
            |r| r.id(0),
        )
    }

    async fn door_command(&self, command_id: CommandId) -> StoreResult<Option<DoorCommand>> {
        self.one(&format!("SELECT {COMMAND_COLUMNS} FROM door_commands WHERE id = ?1"), &[&id(command_id)], |r| {
            rows::command(r)
        })
    }

    async fn pending_door_command(&self, compartment_id: CompartmentId) -> StoreResult<Option<DoorCommand>> {
        self.one(
            &format!("SELECT {COMMAND_COLUMNS} FROM door_commands WHERE compartment_id = ?1 AND state = 'pending'"),
            &[&id(compartment_id)],
            |r| rows::command(r),
        )
    }

    async fn pending_door_commands(&self, point_id: PointId) -> StoreResult<Vec<DoorCommand>> {
        self.many(
            &format!(
                "SELECT {COMMAND_COLUMNS} FROM door_commands WHERE point_id = ?1 AND state = 'pending' ORDER BY id"
            ),
            &[&id(point_id)],
            |r| rows::command(r),
        )
    }

    async fn device_status(&self, point_id: PointId) -> StoreResult<Option<DeviceStatus>> {
        self.one(
            &format!("SELECT {DEVICE_STATUS_COLUMNS} FROM device_status WHERE point_id = ?1"),
            &[&id(point_id)],
            |r| rows::device_status(r),
        )
    }

    async fn silent_devices(&self, before: Timestamp, limit: u32) -> StoreResult<Vec<DeviceStatus>> {
        self.many(
            &format!(
                "SELECT {DEVICE_STATUS_COLUMNS} FROM device_status
             WHERE last_seen_at < ?1 AND offline_since IS NULL ORDER BY last_seen_at LIMIT ?2"
            ),
            &[&micros(before), &limit],
            |r| rows::device_status(r),
        )
    }

    async fn audit(
        &self,
        point_id: Option<PointId>,
        parcel_id: Option<ParcelId>,
        after: Option<i64>,
        limit: u32,
    ) -> StoreResult<Vec<AuditEntry>> {
        self.many(
            &format!(
                "SELECT {AUDIT_COLUMNS} FROM audit_log
             WHERE (?1 IS NULL OR point_id = ?1) AND (?2 IS NULL OR parcel_id = ?2) AND seq > ?3
             ORDER BY seq LIMIT ?4"
            ),
            &[&point_id.map(id), &parcel_id.map(id), &after.unwrap_or(0), &limit],
            |r| rows::audit(r),
        )
    }

    async fn commit(&self, writes: Vec<Write>) -> Result<(), CommitError> {
        super::writer::commit(&self.writer, writes).await
    }
}

#[cfg(test)]
mod tests {
    use rusqlite::Connection;

    use super::*;

    /// The partial unique index on codes is written in the schema (migration 0008); the lookup's
    /// condition is written from the domain. They must be the very same text, or SQLite does not use the
    /// index, and the same states as `ParcelState::holds_live_code`, or two live codes could collide.
    #[test]
    fn the_code_index_holds_the_live_codes_the_domain_defines() {
        let test = crate::testing::sqlite();
        let c = Connection::open(&test.url).unwrap_or_else(|e| panic!("{e}"));
        let sql: String = c
            .query_row("SELECT sql FROM sqlite_master WHERE name = 'parcels_point_id_code_digest_key'", [], |r| {
                r.get(0)
            })
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(sql.ends_with(&format!("WHERE {}", waiting_for_code())), "{sql}");
        assert_eq!(crate::live_code_states(), ["announced", "in_transit", "ready_for_pickup", "deposit_failed"]);
    }

    /// One point's counts read that point's compartments through the index on `point_id`, not the whole
    /// table: a scan there kept a reader on the log at every moment under load, and the log grew by
    /// gigabytes a minute because no checkpoint could restart it.
    #[test]
    fn one_points_counts_read_only_that_points_compartments() {
        let test = crate::testing::sqlite();
        let c = Connection::open(&test.url).unwrap_or_else(|e| panic!("{e}"));
        let plan: Vec<String> = c
            .prepare(&format!("EXPLAIN QUERY PLAN {}", counts_of_one_point()))
            .and_then(|mut s| s.query_map(rusqlite::params![&[0u8; 16][..], 0i64], |r| r.get(3))?.collect())
            .unwrap_or_else(|e| panic!("{e}"));
        // The old `?1 IS NULL OR point_id = ?1` read "SCAN compartments USING INDEX ...": the whole index.
        assert!(
            plan.iter().any(|step| step.starts_with("SEARCH compartments USING INDEX") && step.contains("point_id=?")),
            "{plan:?}"
        );
        assert!(!plan.iter().any(|step| step.starts_with("SCAN compartments")), "{plan:?}");
    }

    /// A session opened on a keypad reads the keys of the carriers serving the network through the
    /// index of live carrier keys, not every key (there is a device key per locker).
    #[test]
    fn the_keys_serving_a_network_are_read_through_the_carrier_index() {
        let test = crate::testing::sqlite();
        let c = Connection::open(&test.url).unwrap_or_else(|e| panic!("{e}"));
        let plan: Vec<String> = c
            .prepare(&format!("EXPLAIN QUERY PLAN {}", rows::carrier_keys_serving_sql("?1")))
            .and_then(|mut s| s.query_map([&[0u8; 16][..]], |r| r.get(3))?.collect())
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(plan.iter().any(|step| step.contains("api_keys_live_carrier_id")), "{plan:?}");
        assert!(!plan.iter().any(|step| step.starts_with("SCAN api_keys")), "{plan:?}");
    }

    /// The pickup-code lookup uses the partial unique index on codes, and writing a parcel evaluates that
    /// index's condition in place: a `state IN (...)` there built a temporary B-tree at every check.
    #[test]
    fn the_code_index_serves_lookups_and_costs_no_temporary_table_to_maintain() {
        let test = crate::testing::sqlite();
        let c = Connection::open(&test.url).unwrap_or_else(|e| panic!("{e}"));
        let plan: Vec<String> = c
            .prepare(&format!(
                "EXPLAIN QUERY PLAN SELECT id FROM parcels WHERE point_id = ?1 AND code_digest = ?2 AND {}",
                waiting_for_code()
            ))
            .and_then(|mut s| s.query_map([&[0u8; 16][..], &[0u8; 32][..]], |r| r.get(3))?.collect())
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(plan.iter().any(|step| step.contains("parcels_point_id_code_digest_key")), "{plan:?}");
        for statement in [
            "UPDATE parcels SET state = ?1, version = version + 1 WHERE id = ?2 AND version = ?3",
            "INSERT INTO parcels (id, number, merchant_id, network_id, point_id, recipient_name, length_mm, width_mm,
                height_mm, weight_g, state, code_digest, qr_digest, created_at, updated_at, version)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, 1, 1, 1, ?7, ?8, ?9, 0, 0, 1)",
        ] {
            let opcodes: Vec<String> = c
                .prepare(&format!("EXPLAIN {statement}"))
                .and_then(|mut s| {
                    let nulls = vec![rusqlite::types::Null; s.parameter_count()];
                    s.query_map(rusqlite::params_from_iter(nulls), |r| r.get(1))?.collect()
                })
                .unwrap_or_else(|e| panic!("{e}"));
            assert!(opcodes.iter().any(|op| op == "IdxInsert"), "{statement}: {opcodes:?}");
            assert!(!opcodes.iter().any(|op| op == "OpenEphemeral"), "{statement}: {opcodes:?}");
        }
    }
}
