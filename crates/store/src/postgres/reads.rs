//! The store's reads on PostgreSQL: one query per read on a pooled connection (prepared once per
//! connection), decoded by `crate::rows`, as on SQLite.

use async_trait::async_trait;
use relais_app::ports::{
    AttemptScope, AuditEntry, Branding, Carrier, CommitError, CompartmentCounts, DeliveryFilter, DeviceStatus,
    EndpointSecrets, ImportRecord, IndexNotice, LeasedDelivery, Merchant, OccupancyAlert, OutboxMessage, Page,
    ParcelFilter, ParcelTracking, PointChange, ShopWriteBack, StoreError, StoreResult, StoredCarrierEvent,
    StoredConnector, StoredCounter, StoredEvent, StoredSeries, StoredTemplate, SurveyFilter, Write,
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
use tokio_postgres::Row;
use uuid::Uuid;

use super::writes::{big, uuid};
use super::{Param, PostgresStore};
use crate::rows::{self, Columns};
use crate::rows::{
    ALERT_COLUMNS, API_KEY_COLUMNS, AUDIT_COLUMNS, CARRIER_COLUMNS, COMMAND_COLUMNS, COMPARTMENT_COLUMNS,
    COUNTER_COLUMNS, DELIVERY_COLUMNS, DEVICE_STATUS_COLUMNS, ENDPOINT_COLUMNS, EVENT_COLUMNS, IMPORT_COLUMNS,
    ITEM_COLUMNS, MERCHANT_COLUMNS, NETWORK_COLUMNS, ORDER_COLUMNS, OUTBOX_COLUMNS, PARCEL_COLUMNS,
    POINT_CHANGE_COLUMNS, POINT_COLUMNS, SESSION_COLUMNS,
};

const SURVEY_COLUMNS: &str = "parcel_id, merchant_id, network_id, point_id, carrier_id, score::bigint, comment,
    publish::int::bigint, answered_at";

fn get<'a, T: tokio_postgres::types::FromSql<'a>>(row: &'a Row, index: usize) -> StoreResult<T> {
    row.try_get(index).map_err(StoreError::new)
}

/// The states in which a parcel's pickup code is live, as the list of the partial unique index's
/// condition (migration 0001); written from the domain's definition, checked against the schema by a test.
fn live_code_list() -> String {
    crate::live_code_states().iter().map(|s| format!("'{s}'")).collect::<Vec<_>>().join(", ")
}

impl PostgresStore {
    /// A carrier with the networks it serves.
    async fn with_networks(&self, carrier: Carrier) -> StoreResult<Carrier> {
        let networks = self
            .many(
                "SELECT network_id FROM carrier_networks WHERE carrier_id = $1 ORDER BY network_id",
                &[&uuid(carrier.id)],
                |r| r.id(0),
            )
            .await?;
        Ok(Carrier { networks, ..carrier })
    }
}

impl Columns for Row {
    fn id<T>(&self, index: usize) -> StoreResult<Id<T>> {
        Ok(Id::from_uuid(get::<Uuid>(self, index)?))
    }
    fn opt_id<T>(&self, index: usize) -> StoreResult<Option<Id<T>>> {
        Ok(get::<Option<Uuid>>(self, index)?.map(Id::from_uuid))
    }
    fn text(&self, index: usize) -> StoreResult<&str> {
        get(self, index)
    }
    fn opt_text(&self, index: usize) -> StoreResult<Option<&str>> {
        get(self, index)
    }
    fn time(&self, index: usize) -> StoreResult<Timestamp> {
        get(self, index)
    }
    fn opt_time(&self, index: usize) -> StoreResult<Option<Timestamp>> {
        get(self, index)
    }
    fn int(&self, index: usize) -> StoreResult<i64> {
        get(self, index)
    }
    fn opt_int(&self, index: usize) -> StoreResult<Option<i64>> {
        get(self, index)
    }
    fn real(&self, index: usize) -> StoreResult<f64> {
        get(self, index)
    }
    fn bytes(&self, index: usize) -> StoreResult<&[u8]> {
        get(self, index)
    }
    fn json(&self, index: usize) -> StoreResult<serde_json::Value> {
        get(self, index)
    }
    fn opt_bytes(&self, index: usize) -> StoreResult<Option<&[u8]>> {
        get(self, index)
    }
    fn opt_json(&self, index: usize) -> StoreResult<Option<serde_json::Value>> {
        get(self, index)
    }
}

#[async_trait]
impl Store for PostgresStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn ping(&self) -> StoreResult<()> {
        self.one("SELECT 1::bigint", &[], |r| r.int(0)).await.map(drop)
    }

    async fn network(&self, id: NetworkId) -> StoreResult<Option<Network>> {
        self.one(&format!("SELECT {NETWORK_COLUMNS} FROM networks WHERE id = $1"), &[&id.uuid()], rows::network).await
    }

    async fn networks(&self, page: Page<NetworkId>) -> StoreResult<Vec<Network>> {
        let after = page.after.map(uuid).unwrap_or(Uuid::nil());
        self.many(
            &format!("SELECT {NETWORK_COLUMNS} FROM networks WHERE id > $1 ORDER BY id LIMIT $2"),
            &[&after, &big(page.limit)],
            rows::network,
        )
        .await
    }

    async fn merchant(&self, id: MerchantId) -> StoreResult<Option<Merchant>> {
        self.one(&format!("SELECT {MERCHANT_COLUMNS} FROM merchants WHERE id = $1"), &[&id.uuid()], |r| {
            rows::merchant(r)
        })
        .await
    }

    async fn point(&self, id: PointId) -> StoreResult<Option<PickupPoint>> {
        self.one(&format!("SELECT {POINT_COLUMNS} FROM pickup_points WHERE id = $1"), &[&id.uuid()], rows::point).await
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
            rows::point,
        )
        .await
    }

    async fn count_points(&self) -> StoreResult<u64> {
        let count = self.one("SELECT COUNT(*) FROM pickup_points", &[], |r| r.int(0)).await?;
        Ok(count.unwrap_or(0) as u64)
    }

    async fn network_points(&self, network_id: NetworkId) -> StoreResult<Vec<PickupPoint>> {
        self.many(
            &format!("SELECT {POINT_COLUMNS} FROM pickup_points WHERE network_id = $1"),
            &[&uuid(network_id)],
            rows::point,
        )
        .await
    }

    async fn compartment_counts(
        &self,
        point_id: Option<PointId>,
        now: Timestamp,
    ) -> StoreResult<Vec<CompartmentCounts>> {
        // Two statements, not `$1 IS NULL OR point_id = $1`: a prepared statement's generic plan for that
        // one scans the whole table to count one point.
        let rows = match point_id {
            Some(point) => {
                self.many(&crate::counts_query("point_id = $1", "$2"), &[&uuid(point), &now], rows::counts).await?
            }
            None => self.many(&crate::counts_query("TRUE", "$1"), &[&now], rows::counts).await?,
        };
        Ok(rows::gather_counts(rows))
    }

    async fn points_by_id(&self, ids: &[PointId]) -> StoreResult<Vec<PickupPoint>> {
        let ids: Vec<Uuid> = ids.iter().map(|id| id.uuid()).collect();
        self.many(&format!("SELECT {POINT_COLUMNS} FROM pickup_points WHERE id = ANY($1)"), &[&ids], rows::point).await
    }

    async fn compartment_counts_of(&self, ids: &[PointId], now: Timestamp) -> StoreResult<Vec<CompartmentCounts>> {
        let ids: Vec<Uuid> = ids.iter().map(|id| id.uuid()).collect();
        let sql = crate::counts_query("point_id = ANY($1)", "$2");
        Ok(rows::gather_counts(self.many(&sql, &[&ids, &now], rows::counts).await?))
    }

    async fn imports(&self, network_id: NetworkId, page: Page<ImportId>) -> StoreResult<Vec<ImportRecord>> {
        let before = page.after.map(uuid).unwrap_or(Uuid::max());
        self.many(
            &format!(
                "SELECT {IMPORT_COLUMNS} FROM point_imports WHERE network_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3"
            ),
            &[&uuid(network_id), &before, &big(page.limit)],
            rows::import,
        )
        .await
    }

    async fn occupancy_alert(&self, point_id: PointId) -> StoreResult<Option<OccupancyAlert>> {
        self.one(
            &format!("SELECT {ALERT_COLUMNS} FROM occupancy_alerts WHERE point_id = $1"),
            &[&uuid(point_id)],
            rows::alert,
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
            rows::kpi_event,
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
                rows::kpi_incident,
            )
            .await?;
        facts.extend(
            self.many(
                "SELECT s.point_id, i.scanned_at, i.done_at FROM drop_off_items i
                   JOIN drop_off_sessions s ON s.id = i.session_id JOIN pickup_points p ON p.id = s.point_id
                 WHERE i.state = 'deposited' AND i.done_at >= $1 AND i.done_at < $2
                   AND ($3::uuid IS NULL OR s.point_id = $3) AND ($4::uuid IS NULL OR p.network_id = $4)",
                &args,
                rows::kpi_handling,
            )
            .await?,
        );
        Ok(facts)
    }

    async fn point_changes(&self, point_id: PointId) -> StoreResult<Vec<PointChange>> {
        self.many(
            &format!("SELECT {POINT_CHANGE_COLUMNS} FROM point_changes WHERE point_id = $1 ORDER BY seq"),
            &[&uuid(point_id)],
            rows::point_change,
        )
        .await
    }

    async fn compartments(&self, point_id: PointId) -> StoreResult<Vec<Compartment>> {
        self.many(
            &format!("SELECT {COMPARTMENT_COLUMNS} FROM compartments WHERE point_id = $1 ORDER BY label COLLATE \"C\""),
            &[&point_id.uuid()],
            rows::compartment,
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
            rows::compartment,
        )
        .await
    }

    async fn compartment(&self, id: CompartmentId) -> StoreResult<Option<Compartment>> {
        self.one(&format!("SELECT {COMPARTMENT_COLUMNS} FROM compartments WHERE id = $1"), &[&id.uuid()], |r| {
            rows::compartment(r)
        })
        .await
    }

    async fn parcel(&self, id: ParcelId) -> StoreResult<Option<Parcel>> {
        self.one(&format!("SELECT {PARCEL_COLUMNS} FROM parcels WHERE id = $1"), &[&id.uuid()], rows::parcel).await
    }

    async fn parcel_with_seal(&self, id: ParcelId) -> StoreResult<Option<(Parcel, Option<Vec<u8>>)>> {
        let sql = format!("SELECT {PARCEL_COLUMNS}, pickup_seal FROM parcels WHERE id = $1");
        self.one(&sql, &[&id.uuid()], |r| Ok((rows::parcel(r)?, rows::seal_after_parcel(r)?))).await
    }

    async fn parcels_with_seals(&self, ids: &[ParcelId]) -> StoreResult<Vec<(Parcel, Option<Vec<u8>>)>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<Uuid> = ids.iter().map(|id| id.uuid()).collect();
        let sql = format!("SELECT {PARCEL_COLUMNS}, pickup_seal FROM parcels WHERE id = ANY($1)");
        self.many(&sql, &[&ids], |r| Ok((rows::parcel(r)?, rows::seal_after_parcel(r)?))).await
    }

    async fn parcels_by_number(&self, number: &ParcelNumber, limit: u32) -> StoreResult<Vec<Parcel>> {
        self.many(
            &format!("SELECT {PARCEL_COLUMNS} FROM parcels WHERE number = $1 LIMIT $2"),
            &[&number.as_str(), &big(limit)],
            rows::parcel,
        )
        .await
    }

    async fn import_record(&self, import_id: ImportId) -> StoreResult<Option<ImportRecord>> {
        self.one(
            &format!("SELECT {IMPORT_COLUMNS} FROM point_imports WHERE id = $1"),
            &[&uuid(import_id)],
            rows::import,
        )
        .await
    }

    async fn import_changes(&self, import_id: ImportId, limit: u32) -> StoreResult<Vec<PointChange>> {
        self.many(
            &format!("SELECT {POINT_CHANGE_COLUMNS} FROM point_changes WHERE import_id = $1 ORDER BY seq LIMIT $2"),
            &[&uuid(import_id), &big(limit)],
            rows::point_change,
        )
        .await
    }

    async fn enrolment(&self, token_digest: &[u8; 32]) -> StoreResult<Option<relais_domain::console::Enrolment>> {
        self.one(
            "SELECT token_digest, point_id, label, created_by, created_at, expires_at, used_at
             FROM device_enrolments WHERE token_digest = $1",
            &[&&token_digest[..]],
            rows::enrolment,
        )
        .await
    }

    async fn point_keys(&self, point_id: PointId) -> StoreResult<Vec<ApiKey>> {
        self.many(
            &format!("SELECT {API_KEY_COLUMNS} FROM api_keys WHERE point_id = $1 ORDER BY id"),
            &[&uuid(point_id)],
            rows::api_key,
        )
        .await
    }

    async fn occupancy_alerts(&self, limit: u32) -> StoreResult<Vec<OccupancyAlert>> {
        self.many(
            &format!("SELECT {ALERT_COLUMNS} FROM occupancy_alerts ORDER BY raised_at DESC LIMIT $1"),
            &[&big(limit)],
            rows::alert,
        )
        .await
    }

    async fn faulty_compartments(&self, limit: u32) -> StoreResult<Vec<(Compartment, Option<Timestamp>)>> {
        self.many(
            &format!(
                "SELECT {COMPARTMENT_COLUMNS}, (SELECT MAX(a.at) FROM audit_log a
                     WHERE a.point_id = compartments.point_id AND a.compartment_id = compartments.id
                       AND a.action IN ('door_jammed', 'door_forced_open', 'door_broken', 'compartment_blocked'))
                 FROM compartments WHERE fault IS NOT NULL ORDER BY point_id, label LIMIT $1"
            ),
            &[&big(limit)],
            |r| Ok((rows::compartment(r)?, r.opt_time(10)?)),
        )
        .await
    }

    async fn offline_devices(&self, limit: u32) -> StoreResult<Vec<DeviceStatus>> {
        self.many(
            &format!(
                "SELECT {DEVICE_STATUS_COLUMNS} FROM device_status WHERE offline_since IS NOT NULL
                 ORDER BY offline_since LIMIT $1"
            ),
            &[&big(limit)],
            rows::device_status,
        )
        .await
    }

    async fn refused_imports(&self, since: Timestamp, limit: u32) -> StoreResult<Vec<ImportRecord>> {
        self.many(
            &format!(
                "SELECT {IMPORT_COLUMNS} FROM point_imports WHERE status = 'refused' AND at >= $1 ORDER BY at DESC LIMIT $2"
            ),
            &[&since, &big(limit)],
            rows::import,
        )
        .await
    }

    async fn dead_deliveries(&self, since: Timestamp, limit: u32) -> StoreResult<Vec<Delivery>> {
        self.many(
            &format!(
                "SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE state = 'dead' AND updated_at >= $1
                 ORDER BY updated_at DESC LIMIT $2"
            ),
            &[&since, &big(limit)],
            rows::delivery,
        )
        .await
    }

    async fn claims_to_file_by(&self, by: Timestamp, limit: u32) -> StoreResult<Vec<Claim>> {
        self.many(
            &format!(
                "SELECT {} FROM claims WHERE state = 'to_file' AND deadline_at < $1 ORDER BY deadline_at LIMIT $2",
                rows::CLAIM_COLUMNS
            ),
            &[&by, &big(limit)],
            rows::claim,
        )
        .await
    }

    async fn alert_acknowledgements(&self, keys: &[String]) -> StoreResult<Vec<relais_domain::alert::Acknowledgement>> {
        self.many(
            "SELECT key, by_name, comment, at FROM alert_acknowledgements WHERE key = ANY($1)",
            &[&keys],
            rows::acknowledgement,
        )
        .await
    }

    async fn parcels_by_order_reference(&self, reference: &str, limit: u32) -> StoreResult<Vec<Parcel>> {
        let columns = PARCEL_COLUMNS.split(',').map(|c| format!("p.{}", c.trim())).collect::<Vec<_>>().join(", ");
        self.many(
            &format!(
                "SELECT {columns} FROM orders o JOIN order_parcels op ON op.order_id = o.id
                 JOIN parcels p ON p.id = op.parcel_id WHERE o.reference = $1 ORDER BY o.id, op.shipment LIMIT $2"
            ),
            &[&reference, &big(limit)],
            rows::parcel,
        )
        .await
    }

    async fn parcels_by_contact(&self, digest: &str, limit: u32) -> StoreResult<Vec<Parcel>> {
        let columns = PARCEL_COLUMNS.split(',').map(|c| format!("p.{}", c.trim())).collect::<Vec<_>>().join(", ");
        self.many(
            &format!(
                "SELECT {columns} FROM parcel_contacts c JOIN parcels p ON p.id = c.parcel_id
                 WHERE c.digest = $1 ORDER BY p.created_at DESC LIMIT $2"
            ),
            &[&digest, &big(limit)],
            rows::parcel,
        )
        .await
    }

    async fn parcel_by_code(&self, point_id: PointId, code_digest: &[u8; 32]) -> StoreResult<Option<Parcel>> {
        self.one(
            &format!(
                "SELECT {PARCEL_COLUMNS} FROM parcels
                 WHERE point_id = $1 AND code_digest = $2
                   AND state IN ({})",
                live_code_list()
            ),
            &[&point_id.uuid(), &&code_digest[..]],
            rows::parcel,
        )
        .await
    }

    async fn parcels(&self, filter: &ParcelFilter, page: Page<ParcelId>) -> StoreResult<Vec<Parcel>> {
        let after = page.after.map(uuid).unwrap_or(Uuid::nil());
        let merchant = filter.merchant_id.map(uuid);
        let point = filter.point_id.map(uuid);
        let state = filter.state.map(ParcelState::as_str);
        let incident = filter.state.and_then(ParcelState::incident_kind).map(|k| k.as_str());
        let carrier = filter.carrier_id.map(uuid);
        self.many(
            &format!(
                "SELECT {PARCEL_COLUMNS} FROM parcels
                 WHERE id > $1 AND ($2::uuid IS NULL OR merchant_id = $2) AND ($3::uuid IS NULL OR point_id = $3)
                   AND ($4::text IS NULL OR state = $4) AND ($5::text IS NULL OR incident_kind = $5)
                   AND ($7::uuid IS NULL OR carrier_id = $7 OR (carrier_id IS NULL AND network_id IN
                        (SELECT network_id FROM carrier_networks WHERE carrier_id = $7)))
                 ORDER BY id LIMIT $6"
            ),
            &[&after, &merchant, &point, &state, &incident, &big(page.limit), &carrier],
            rows::parcel,
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
            rows::parcel,
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
            rows::parcel,
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
            rows::parcel,
        )
        .await
    }

    async fn events(&self, parcel_id: ParcelId) -> StoreResult<Vec<StoredEvent>> {
        self.many(
            &format!("SELECT {EVENT_COLUMNS} FROM parcel_events WHERE parcel_id = $1 ORDER BY seq"),
            &[&parcel_id.uuid()],
            rows::event,
        )
        .await
    }

    async fn outbox(&self, after: Option<OutboxId>, limit: u32) -> StoreResult<Vec<OutboxMessage>> {
        let after = after.map(uuid).unwrap_or(Uuid::nil());
        self.many(
            &format!("SELECT {OUTBOX_COLUMNS} FROM outbox WHERE id > $1 ORDER BY id LIMIT $2"),
            &[&after, &big(limit)],
            rows::outbox,
        )
        .await
    }

    async fn outbox_message(&self, id: OutboxId) -> StoreResult<Option<OutboxMessage>> {
        self.one(&format!("SELECT {OUTBOX_COLUMNS} FROM outbox WHERE id = $1"), &[&uuid(id)], rows::outbox).await
    }

    async fn leased_outbox(&self, lease: LeaseId) -> StoreResult<Vec<OutboxMessage>> {
        self.many(
            &format!("SELECT {OUTBOX_COLUMNS} FROM outbox WHERE lease_id = $1 ORDER BY id"),
            &[&uuid(lease)],
            rows::outbox,
        )
        .await
    }

    async fn leased_deliveries(&self, lease: LeaseId) -> StoreResult<Vec<LeasedDelivery>> {
        self.many(&rows::leased_deliveries_sql("$1"), &[&uuid(lease)], rows::leased_delivery).await
    }

    async fn delivery(&self, id: DeliveryId) -> StoreResult<Option<Delivery>> {
        self.one(&format!("SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE id = $1"), &[&uuid(id)], rows::delivery)
            .await
    }

    async fn deliveries(&self, filter: &DeliveryFilter, page: Page<DeliveryId>) -> StoreResult<Vec<Delivery>> {
        let after = page.after.map(uuid).unwrap_or(Uuid::max());
        self.many(
            &format!(
                "SELECT {DELIVERY_COLUMNS} FROM deliveries
                 WHERE id < $1 AND ($2::uuid IS NULL OR parcel_id = $2) AND ($3::text IS NULL OR address = $3)
                   AND ($4::text IS NULL OR state = $4)
                 ORDER BY id DESC LIMIT $5"
            ),
            &[
                &after,
                &filter.parcel_id.map(uuid),
                &filter.address,
                &filter.state.map(|s| s.as_str()),
                &big(page.limit),
            ],
            rows::delivery,
        )
        .await
    }

    async fn delivery_counts(&self) -> StoreResult<Vec<(String, String, u64)>> {
        self.many("SELECT channel, state, count(*) FROM deliveries GROUP BY channel, state ORDER BY 1, 2", &[], |r| {
            Ok((r.owned(0)?, r.owned(1)?, u64::try_from(r.int(2)?).unwrap_or(0)))
        })
        .await
    }

    async fn endpoint(&self, id: EndpointId) -> StoreResult<Option<(Endpoint, EndpointSecrets)>> {
        self.one(&format!("SELECT {ENDPOINT_COLUMNS} FROM endpoints WHERE id = $1"), &[&uuid(id)], |r| {
            Ok((rows::endpoint(r)?, rows::endpoint_secrets(r)?))
        })
        .await
    }

    async fn merchant_branding(&self, merchant_id: MerchantId) -> StoreResult<Option<Branding>> {
        let sql = "SELECT brand_color, logo_url, sender_name, return_address FROM merchants WHERE id = $1";
        self.one(sql, &[&uuid(merchant_id)], rows::branding).await
    }

    async fn endpoints(&self, merchant_id: Option<MerchantId>) -> StoreResult<Vec<Endpoint>> {
        self.many(
            &format!("SELECT {ENDPOINT_COLUMNS} FROM endpoints WHERE merchant_id IS NOT DISTINCT FROM $1 ORDER BY id"),
            &[&merchant_id.map(uuid)],
            rows::endpoint,
        )
        .await
    }

    async fn enabled_endpoints(&self) -> StoreResult<Vec<Endpoint>> {
        self.many(
            &format!("SELECT {ENDPOINT_COLUMNS} FROM endpoints WHERE disabled_at IS NULL ORDER BY id"),
            &[],
            rows::endpoint,
        )
        .await
    }

    async fn recipient_sends(
        &self,
        addresses: &[String],
        since: Timestamp,
    ) -> StoreResult<Vec<(relais_domain::delivery::Channel, String, Timestamp)>> {
        if addresses.is_empty() {
            return Ok(Vec::new());
        }
        self.many(
            "SELECT channel, address, next_attempt_at FROM deliveries
             WHERE address = ANY($1) AND parcel_id IS NOT NULL AND next_attempt_at > $2 AND channel <> 'webhook'",
            &[&addresses, &since],
            |r| Ok((rows::channel(r, 0)?, r.owned(1)?, r.time(2)?)),
        )
        .await
    }

    async fn opted_out(&self, digests: &[String]) -> StoreResult<Vec<(String, relais_domain::delivery::Channel)>> {
        if digests.is_empty() {
            return Ok(Vec::new());
        }
        self.many("SELECT contact_digest, channel FROM opt_outs WHERE contact_digest = ANY($1)", &[&digests], |r| {
            Ok((r.owned(0)?, rows::channel(r, 1)?))
        })
        .await
    }

    async fn survey_answer(&self, parcel_id: ParcelId) -> StoreResult<Option<relais_domain::survey::SurveyAnswer>> {
        self.one(
            &format!("SELECT {SURVEY_COLUMNS} FROM survey_answers WHERE parcel_id = $1"),
            &[&uuid(parcel_id)],
            rows::survey_answer,
        )
        .await
    }

    async fn survey_scores(&self, f: &SurveyFilter) -> StoreResult<[u64; 11]> {
        let counts = self
            .many(
                "SELECT score::bigint, COUNT(*) FROM survey_answers
                 WHERE answered_at >= $1 AND answered_at < $2 AND ($3::uuid IS NULL OR network_id = $3)
                   AND ($4::uuid IS NULL OR point_id = $4) AND ($5::uuid IS NULL OR merchant_id = $5)
                   AND ($6::uuid IS NULL OR carrier_id = $6)
                 GROUP BY score",
                &[
                    &f.from,
                    &f.to,
                    &f.network_id.map(uuid),
                    &f.point_id.map(uuid),
                    &f.merchant_id.map(uuid),
                    &f.carrier_id.map(uuid),
                ],
                |r| Ok((r.int(0)?, r.int(1)?)),
            )
            .await?;
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
                 WHERE publish AND comment IS NOT NULL AND answered_at >= $1 AND answered_at < $2
                   AND ($3::uuid IS NULL OR network_id = $3) AND ($4::uuid IS NULL OR point_id = $4)
                   AND ($5::uuid IS NULL OR merchant_id = $5) AND ($6::uuid IS NULL OR carrier_id = $6)
                 ORDER BY answered_at DESC, parcel_id LIMIT $7"
            ),
            &[
                &f.from,
                &f.to,
                &f.network_id.map(uuid),
                &f.point_id.map(uuid),
                &f.merchant_id.map(uuid),
                &f.carrier_id.map(uuid),
                &i64::from(limit),
            ],
            rows::survey_answer,
        )
        .await
    }

    async fn message_templates(&self) -> StoreResult<Vec<StoredTemplate>> {
        self.many(
            "SELECT notice, lang, part, source, updated_at FROM message_templates ORDER BY notice, lang, part",
            &[],
            rows::stored_template,
        )
        .await
    }

    async fn order(&self, order_id: OrderId) -> StoreResult<Option<Order>> {
        self.one(&format!("SELECT {ORDER_COLUMNS} FROM orders WHERE id = $1"), &[&uuid(order_id)], rows::order).await
    }

    async fn order_by_reference(&self, merchant_id: MerchantId, reference: &str) -> StoreResult<Option<Order>> {
        self.one(
            &format!("SELECT {ORDER_COLUMNS} FROM orders WHERE merchant_id = $1 AND reference = $2"),
            &[&uuid(merchant_id), &reference],
            rows::order,
        )
        .await
    }

    async fn order_by_idempotency_key(&self, merchant_id: MerchantId, key: &str) -> StoreResult<Option<Order>> {
        self.one(
            &format!("SELECT {ORDER_COLUMNS} FROM orders WHERE merchant_id = $1 AND idempotency_key = $2"),
            &[&uuid(merchant_id), &key],
            rows::order,
        )
        .await
    }

    async fn order_parcels(&self, order_id: OrderId) -> StoreResult<Vec<(Parcel, u32)>> {
        let columns = PARCEL_COLUMNS.split(',').map(|c| format!("p.{}", c.trim())).collect::<Vec<_>>().join(", ");
        self.many(
            &format!(
                "SELECT {columns}, o.shipment::bigint FROM order_parcels o JOIN parcels p ON p.id = o.parcel_id
                 WHERE o.order_id = $1 ORDER BY o.shipment, p.id"
            ),
            &[&uuid(order_id)],
            |r| Ok((rows::parcel(r)?, rows::shipment_after_parcel(r)?)),
        )
        .await
    }

    async fn order_of_parcel(&self, parcel_id: ParcelId) -> StoreResult<Option<OrderId>> {
        self.one("SELECT order_id FROM order_parcels WHERE parcel_id = $1", &[&uuid(parcel_id)], |r| r.id(0)).await
    }

    async fn connector(&self, merchant_id: MerchantId, platform: &str) -> StoreResult<Option<StoredConnector>> {
        self.one(
            &format!(
                "SELECT {} FROM shop_connectors WHERE merchant_id = $1 AND platform = $2",
                rows::CONNECTOR_COLUMNS
            ),
            &[&uuid(merchant_id), &platform],
            rows::connector,
        )
        .await
    }

    async fn order_references(&self, parcel_ids: &[ParcelId]) -> StoreResult<Vec<(ParcelId, String, u32)>> {
        if parcel_ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<Uuid> = parcel_ids.iter().map(|id| id.uuid()).collect();
        self.many(
            "SELECT op.parcel_id, o.reference, op.shipment::bigint FROM order_parcels op
             JOIN orders o ON o.id = op.order_id WHERE op.parcel_id = ANY($1)",
            &[&ids],
            |r| Ok((r.id(0)?, r.owned(1)?, r.count(2)?)),
        )
        .await
    }

    async fn shop_orders_due(&self, now: Timestamp, limit: u32) -> StoreResult<Vec<ShopWriteBack>> {
        self.many(
            &format!(
                "SELECT {} FROM shop_orders WHERE stage NOT IN ('delivered', 'ended') AND next_attempt_at <= $1
                 ORDER BY next_attempt_at LIMIT $2",
                rows::SHOP_ORDER_COLUMNS
            ),
            &[&now, &i64::from(limit)],
            rows::shop_order,
        )
        .await
    }

    async fn shop_order(&self, order_id: OrderId) -> StoreResult<Option<ShopWriteBack>> {
        self.one(
            &format!("SELECT {} FROM shop_orders WHERE order_id = $1", rows::SHOP_ORDER_COLUMNS),
            &[&uuid(order_id)],
            rows::shop_order,
        )
        .await
    }

    async fn parcel_tracking(&self, parcel_id: ParcelId) -> StoreResult<Option<ParcelTracking>> {
        self.one(
            &format!("SELECT {} FROM parcel_trackings WHERE parcel_id = $1", rows::TRACKING_COLUMNS),
            &[&uuid(parcel_id)],
            rows::parcel_tracking,
        )
        .await
    }

    async fn tracking_by_number(&self, carrier: &str, number: &str) -> StoreResult<Option<ParcelTracking>> {
        self.one(
            &format!(
                "SELECT {} FROM parcel_trackings WHERE carrier = $1 AND tracking_number = $2",
                rows::TRACKING_COLUMNS
            ),
            &[&carrier, &number],
            rows::parcel_tracking,
        )
        .await
    }

    async fn trackings_due(&self, carrier: &str, now: Timestamp, limit: u32) -> StoreResult<Vec<ParcelTracking>> {
        self.many(
            &format!(
                "SELECT {} FROM parcel_trackings WHERE carrier = $3 AND next_poll_at IS NOT NULL
                   AND next_poll_at <= $1
                 ORDER BY next_poll_at LIMIT $2",
                rows::TRACKING_COLUMNS
            ),
            &[&now, &i64::from(limit), &carrier],
            rows::parcel_tracking,
        )
        .await
    }

    async fn carrier_events(&self, parcel_id: ParcelId) -> StoreResult<Vec<StoredCarrierEvent>> {
        self.many(
            &format!(
                "SELECT {} FROM carrier_events WHERE parcel_id = $1 ORDER BY at, code",
                rows::CARRIER_EVENT_COLUMNS
            ),
            &[&uuid(parcel_id)],
            rows::carrier_event,
        )
        .await
    }

    async fn trackings_to_review(&self, now: Timestamp, limit: u32) -> StoreResult<Vec<ParcelTracking>> {
        self.many(
            &format!(
                "SELECT {} FROM parcel_trackings WHERE next_review_at IS NOT NULL AND next_review_at <= $1
                 ORDER BY next_review_at LIMIT $2",
                rows::TRACKING_COLUMNS
            ),
            &[&now, &i64::from(limit)],
            rows::parcel_tracking,
        )
        .await
    }

    async fn claim(&self, claim_id: ClaimId) -> StoreResult<Option<Claim>> {
        self.one(&format!("SELECT {} FROM claims WHERE id = $1", rows::CLAIM_COLUMNS), &[&uuid(claim_id)], rows::claim)
            .await
    }

    async fn claims_of(&self, parcel_id: ParcelId) -> StoreResult<Vec<Claim>> {
        self.many(
            &format!("SELECT {} FROM claims WHERE parcel_id = $1 ORDER BY created_at, id", rows::CLAIM_COLUMNS),
            &[&uuid(parcel_id)],
            rows::claim,
        )
        .await
    }

    async fn claims(&self, filter: &ClaimFilter) -> StoreResult<Vec<Claim>> {
        let merchant = filter.merchant_id.map(uuid);
        let kind = filter.kind.map(|k| k.as_str());
        let state = filter.state.map(|s| s.as_str());
        let from = filter.occurred_from;
        let to = filter.occurred_to;
        self.many(
            &format!(
                "SELECT {} FROM claims
                 WHERE ($1::uuid IS NULL OR merchant_id = $1) AND ($2::text IS NULL OR carrier = $2)
                   AND ($3::text IS NULL OR kind = $3) AND ($4::text IS NULL OR state = $4)
                   AND ($5::timestamptz IS NULL OR occurred_at >= $5)
                   AND ($6::timestamptz IS NULL OR occurred_at < $6)
                 ORDER BY occurred_at, id LIMIT $7",
                rows::CLAIM_COLUMNS
            ),
            &[&merchant, &filter.carrier, &kind, &state, &from, &to, &i64::from(filter.limit)],
            rows::claim,
        )
        .await
    }

    async fn claims_to_remind(&self, now: Timestamp, limit: u32) -> StoreResult<Vec<Claim>> {
        self.many(
            &format!(
                "SELECT {} FROM claims WHERE next_reminder_at IS NOT NULL AND next_reminder_at <= $1
                 ORDER BY next_reminder_at LIMIT $2",
                rows::CLAIM_COLUMNS
            ),
            &[&now, &i64::from(limit)],
            rows::claim,
        )
        .await
    }

    async fn claim_evidence(&self, claim_id: ClaimId) -> StoreResult<Vec<EvidenceEntry>> {
        self.many(
            "SELECT e.sha256, e.content_type, e.size_bytes, c.added_by, c.added_at
             FROM claim_evidence c JOIN evidence e ON e.sha256 = c.sha256
             WHERE c.claim_id = $1 ORDER BY c.added_at, e.sha256",
            &[&uuid(claim_id)],
            rows::evidence_entry,
        )
        .await
    }

    async fn console_account_by_email(
        &self,
        email: &str,
    ) -> StoreResult<Option<relais_domain::console::ConsoleAccount>> {
        self.one(
            &format!("SELECT {} FROM console_accounts WHERE email = $1", rows::CONSOLE_ACCOUNT_COLUMNS),
            &[&email],
            rows::console_account,
        )
        .await
    }

    async fn console_account(
        &self,
        account_id: relais_domain::ids::ConsoleAccountId,
    ) -> StoreResult<Option<relais_domain::console::ConsoleAccount>> {
        self.one(
            &format!("SELECT {} FROM console_accounts WHERE id = $1", rows::CONSOLE_ACCOUNT_COLUMNS),
            &[&uuid(account_id)],
            rows::console_account,
        )
        .await
    }

    async fn console_session(
        &self,
        token_digest: &[u8; 32],
    ) -> StoreResult<Option<(relais_domain::ids::ConsoleAccountId, Timestamp)>> {
        let digest = token_digest.as_slice();
        self.one("SELECT account_id, expires_at FROM console_sessions WHERE token_digest = $1", &[&digest], |r| {
            Ok((r.id(0)?, r.time(1)?))
        })
        .await
    }

    async fn evidence(&self, claim_id: ClaimId, sha256: &str) -> StoreResult<Option<Evidence>> {
        self.one(
            "SELECT e.sha256, e.content_type, e.bytes FROM claim_evidence c JOIN evidence e ON e.sha256 = c.sha256
             WHERE c.claim_id = $1 AND c.sha256 = $2",
            &[&uuid(claim_id), &sha256],
            |r| Ok(Evidence { sha256: r.owned(0)?, content_type: r.owned(1)?, bytes: r.bytes(2)?.to_vec() }),
        )
        .await
    }

    async fn customer_point(
        &self,
        merchant_id: MerchantId,
        digests: &[String],
    ) -> StoreResult<Option<(PointId, Timestamp)>> {
        self.one(
            "SELECT point_id, used_at FROM customer_points
             WHERE merchant_id = $1 AND contact_digest = ANY($2) ORDER BY used_at DESC LIMIT 1",
            &[&uuid(merchant_id), &digests],
            |r| Ok((r.id(0)?, r.time(1)?)),
        )
        .await
    }

    async fn number_series(&self, id: &str) -> StoreResult<Option<StoredSeries>> {
        self.one(
            "SELECT id, definition, next_serial, version, updated_at FROM number_series WHERE id = $1",
            &[&id],
            rows::stored_series,
        )
        .await
    }

    async fn recent_number_block(
        &self,
        definition: &str,
        start: u64,
        end: u64,
        since: Timestamp,
    ) -> StoreResult<Option<u64>> {
        let (start, end) = (rows::serial_param(start)?, rows::serial_param(end)?);
        let found = self
            .one(
                "SELECT COALESCE(MAX(start_serial + serials), -1) FROM number_blocks
                 WHERE definition = $1 AND start_serial < $3 AND start_serial + serials > $2 AND taken_at >= $4",
                &[&definition, &start, &end, &since],
                |r| r.int(0),
            )
            .await?;
        // -1: none.
        Ok(found.and_then(|n| u64::try_from(n).ok()))
    }

    async fn attempt_counter(&self, scope: AttemptScope) -> StoreResult<Option<StoredCounter>> {
        self.one(&format!("SELECT {COUNTER_COLUMNS} FROM pickup_attempts WHERE scope_key = $1"), &[&scope.key()], |r| {
            rows::counter(r)
        })
        .await
    }

    async fn api_key_by_digest(&self, digest: &[u8; 32]) -> StoreResult<Option<(ApiKey, Vec<NetworkId>)>> {
        let rows = self.many(&rows::api_key_by_digest_sql("$1"), &[&&digest[..]], rows::api_key_and_network).await?;
        Ok(rows::with_networks(rows))
    }

    async fn api_key_with_networks(&self, key_id: ApiKeyId) -> StoreResult<Option<(ApiKey, Vec<NetworkId>)>> {
        let rows = self.many(&rows::api_key_by_id_sql("$1"), &[&uuid(key_id)], rows::api_key_and_network).await?;
        Ok(rows::with_networks(rows))
    }

    async fn pickup_seal(&self, parcel_id: ParcelId) -> StoreResult<Option<Vec<u8>>> {
        let sql = "SELECT pickup_seal FROM parcels WHERE id = $1 AND pickup_seal IS NOT NULL";
        self.one(sql, &[&uuid(parcel_id)], |r| r.bytes(0).map(<[u8]>::to_vec)).await
    }

    async fn api_key(&self, key_id: ApiKeyId) -> StoreResult<Option<ApiKey>> {
        self.one(&format!("SELECT {API_KEY_COLUMNS} FROM api_keys WHERE id = $1"), &[&uuid(key_id)], rows::api_key)
            .await
    }

    async fn api_keys(&self, page: Page<ApiKeyId>) -> StoreResult<Vec<ApiKey>> {
        let after = page.after.map(uuid).unwrap_or(Uuid::nil());
        self.many(
            &format!("SELECT {API_KEY_COLUMNS} FROM api_keys WHERE id > $1 ORDER BY id LIMIT $2"),
            &[&after, &big(page.limit)],
            rows::api_key,
        )
        .await
    }

    async fn carrier(&self, carrier_id: CarrierId) -> StoreResult<Option<Carrier>> {
        let sql = format!("SELECT {CARRIER_COLUMNS} FROM carriers WHERE id = $1");
        let Some(carrier) = self.one(&sql, &[&uuid(carrier_id)], rows::carrier).await? else { return Ok(None) };
        Ok(Some(self.with_networks(carrier).await?))
    }

    async fn carriers(&self, page: Page<CarrierId>) -> StoreResult<Vec<Carrier>> {
        let after = page.after.map(uuid).unwrap_or(Uuid::nil());
        let sql = format!("SELECT {CARRIER_COLUMNS} FROM carriers WHERE id > $1 ORDER BY id LIMIT $2");
        let carriers = self.many(&sql, &[&after, &big(page.limit)], rows::carrier).await?;
        let mut out = Vec::with_capacity(carriers.len());
        for carrier in carriers {
            out.push(self.with_networks(carrier).await?);
        }
        Ok(out)
    }

    async fn carrier_keys_serving(&self, network_id: NetworkId) -> StoreResult<Vec<ApiKey>> {
        self.many(&rows::carrier_keys_serving_sql("$1"), &[&uuid(network_id)], rows::api_key).await
    }

    async fn drop_off_session_with_carrier(
        &self,
        session_id: DropOffSessionId,
    ) -> StoreResult<Option<(DropOffSession, ApiKey, Vec<NetworkId>)>> {
        let rows = self
            .many(&rows::session_with_carrier_sql("$1"), &[&uuid(session_id)], rows::session_key_and_network)
            .await?;
        Ok(rows::with_networks(rows).map(|((session, key), networks)| (session, key, networks)))
    }

    async fn drop_off_session(&self, session_id: DropOffSessionId) -> StoreResult<Option<DropOffSession>> {
        self.one(&format!("SELECT {SESSION_COLUMNS} FROM drop_off_sessions WHERE id = $1"), &[&uuid(session_id)], |r| {
            rows::session(r)
        })
        .await
    }

    async fn drop_off_items(&self, session_id: DropOffSessionId) -> StoreResult<Vec<DropOffItem>> {
        self.many(
            &format!("SELECT {ITEM_COLUMNS} FROM drop_off_items WHERE session_id = $1 ORDER BY scanned_at, parcel_id"),
            &[&uuid(session_id)],
            rows::item,
        )
        .await
    }

    async fn deposit_session_of(&self, parcel_id: ParcelId) -> StoreResult<Option<DropOffSessionId>> {
        self.one(
            "SELECT session_id FROM drop_off_items WHERE parcel_id = $1 AND state = 'deposited'
             ORDER BY scanned_at DESC LIMIT 1",
            &[&uuid(parcel_id)],
            |r| r.id(0),
        )
        .await
    }

    async fn door_command(&self, command_id: CommandId) -> StoreResult<Option<DoorCommand>> {
        self.one(&format!("SELECT {COMMAND_COLUMNS} FROM door_commands WHERE id = $1"), &[&uuid(command_id)], |r| {
            rows::command(r)
        })
        .await
    }

    async fn pending_door_command(&self, compartment_id: CompartmentId) -> StoreResult<Option<DoorCommand>> {
        self.one(
            &format!("SELECT {COMMAND_COLUMNS} FROM door_commands WHERE compartment_id = $1 AND state = 'pending'"),
            &[&uuid(compartment_id)],
            rows::command,
        )
        .await
    }

    async fn pending_door_commands(&self, point_id: PointId) -> StoreResult<Vec<DoorCommand>> {
        self.many(
            &format!(
                "SELECT {COMMAND_COLUMNS} FROM door_commands WHERE point_id = $1 AND state = 'pending' ORDER BY id"
            ),
            &[&uuid(point_id)],
            rows::command,
        )
        .await
    }

    async fn device_status(&self, point_id: PointId) -> StoreResult<Option<DeviceStatus>> {
        self.one(
            &format!("SELECT {DEVICE_STATUS_COLUMNS} FROM device_status WHERE point_id = $1"),
            &[&uuid(point_id)],
            rows::device_status,
        )
        .await
    }

    async fn silent_devices(&self, before: Timestamp, limit: u32) -> StoreResult<Vec<DeviceStatus>> {
        self.many(
            &format!(
                "SELECT {DEVICE_STATUS_COLUMNS} FROM device_status
             WHERE last_seen_at < $1 AND offline_since IS NULL ORDER BY last_seen_at LIMIT $2"
            ),
            &[&before, &big(limit)],
            rows::device_status,
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
            &format!(
                "SELECT {AUDIT_COLUMNS} FROM audit_log
             WHERE ($1::uuid IS NULL OR point_id = $1) AND ($2::uuid IS NULL OR parcel_id = $2) AND seq > $3
             ORDER BY seq LIMIT $4"
            ),
            &[&point_id.map(uuid), &parcel_id.map(uuid), &after.unwrap_or(0), &i64::from(limit)],
            rows::audit,
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
        Ok(Some(super::notices::listen(self.config.clone(), (*self.channel).clone()).await?))
    }
}

#[cfg(test)]
mod tests {
    /// The partial unique index on codes (migration 0001) lists exactly the states in which the domain
    /// says a pickup code is live (`ParcelState::holds_live_code`), those the lookup names.
    #[tokio::test]
    async fn the_code_index_holds_the_live_codes_the_domain_defines() {
        let Some(test) = crate::testing::postgres().await else { return };
        let url = test.url.clone();
        let (client, connection) =
            tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap_or_else(|e| panic!("{e}"));
        tokio::spawn(connection);
        let row = client
            .query_one(
                "SELECT indexdef FROM pg_indexes
                 WHERE indexname = 'parcels_point_id_code_digest_key' AND schemaname = current_schema()",
                &[],
            )
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let definition: String = row.get(0);
        let condition = definition.split_once(" WHERE ").map(|(_, c)| c).unwrap_or_default();
        let named: Vec<&str> = condition.split('\'').skip(1).step_by(2).collect();
        assert_eq!(named, crate::live_code_states(), "{definition}");
        assert_eq!(super::live_code_list(), "'announced', 'in_transit', 'ready_for_pickup', 'deposit_failed'");
    }
}
