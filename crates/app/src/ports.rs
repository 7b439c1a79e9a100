//! The ports the use cases need from the outside world: a `Store` for state, a `Clock` for time and a
//! `RandomSource` for ids and secrets. Implementations live elsewhere (`relais-store`) or here when they
//! are trivial (the system clock, the manual clock of tests and simulations).
//!
//! The store interface is deliberately narrow: typed reads, and one `commit` that applies a list of
//! writes in a single transaction. Updates carry the version they were read at; a write whose row has
//! moved on makes the whole commit fail with `CommitError::Conflict`, and the use case reloads and
//! decides again. That is how two carriers depositing into one locker never get the same compartment,
//! on SQLite as on several PostgreSQL-backed processes.

use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use relais_domain::Timestamp;
use relais_domain::attempts::AttemptCounter;
use relais_domain::compartment::{Compartment, DoorFault};
use relais_domain::delivery::{Delivery, DeliveryState, Endpoint};
use relais_domain::dropoff::{DoorCommand, DoorState, DropOffItem, DropOffSession};
use relais_domain::ids::{
    ApiKeyId, CarrierId, CommandId, CompartmentId, DeliveryId, DropOffSessionId, EndpointId, ImportId, LeaseId,
    MerchantId, NetworkId, OutboxId, ParcelId, PointId,
};
use relais_domain::network::Network;
use relais_domain::parcel::{Actor, Parcel, ParcelEvent, ParcelState, PickupSecretDigests};
use relais_domain::point::PickupPoint;
use relais_domain::value::{Email, ParcelNumber, Phone};
pub use relais_registry::diff::ChangeKind;

use crate::auth::ApiKey;

/// Failure of the storage itself (connection lost, disk full, corrupt row). Never a business rule.
#[derive(Debug, Clone, thiserror::Error)]
#[error("storage error: {0}")]
pub struct StoreError(pub String);

impl StoreError {
    /// The error and its causes (a driver's "db error" says nothing; the database's message beneath
    /// it says what failed).
    pub fn new(error: impl std::error::Error) -> Self {
        let mut text = error.to_string();
        let mut cause = error.source();
        while let Some(inner) = cause {
            let more = inner.to_string();
            if !text.contains(&more) {
                text.push_str(": ");
                text.push_str(&more);
            }
            cause = inner.source();
        }
        StoreError(text)
    }

    /// An error described in words.
    pub fn message(text: impl Into<String>) -> Self {
        StoreError(text.into())
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

#[derive(Debug, Clone, thiserror::Error)]
pub enum CommitError {
    /// A versioned row changed since it was read; nothing was written.
    #[error("a row changed since it was read")]
    Conflict,
    /// A unique key is taken (`what` names it: `parcel_number`, `pickup_code`...); nothing was written.
    #[error("{what} already exists")]
    Duplicate { what: &'static str },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A merchant: the shop or platform that announces parcels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Merchant {
    pub id: MerchantId,
    pub name: String,
    pub created_at: Timestamp,
}

impl Merchant {
    pub const NAME_LENGTH_MAX: usize = 120;
}

/// How a merchant's e-mails to its recipients look: its colour (`#rrggbb`), its logo (an `https://` URL)
/// and the sender's name; relais' own when unset.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Branding {
    pub color: Option<String>,
    pub logo_url: Option<String>,
    pub sender_name: Option<String>,
    /// Where returns go, printed as the sender on its labels: a line each (at most 3).
    pub return_address: Option<String>,
}

/// A carrier: the company whose couriers bring parcels to points and take them back. Its keys see and
/// act on the parcels a merchant handed to it, and on those of the networks it serves when the merchant
/// named no carrier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Carrier {
    pub id: CarrierId,
    pub name: String,
    /// The networks whose parcels it handles when their merchant named no carrier.
    pub networks: Vec<NetworkId>,
    pub created_at: Timestamp,
}

impl Carrier {
    pub const NAME_LENGTH_MAX: usize = 120;
    /// Most networks one carrier serves.
    pub const NETWORKS_MAX: usize = 100;
}

/// An event as stored: the domain event plus its position in the global log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    pub seq: i64,
    pub event: ParcelEvent,
}

/// A message to the outside world, written in the same transaction as the change it reports and
/// delivered at least once by a worker (receivers deduplicate on `id`).
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxMessage {
    pub id: OutboxId,
    pub topic: String,
    pub parcel_id: Option<ParcelId>,
    pub payload: serde_json::Value,
    pub created_at: Timestamp,
}

/// Which counter of wrong pickup codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AttemptScope {
    Point(PointId),
    Parcel(ParcelId),
    /// Wrong courier codes typed at a locker (its keypad, through its device).
    CourierCode(PointId),
    /// Wrong courier codes one carrier key sent for a locker through the API: its own counter, so a
    /// carrier cannot lock the locker for the others.
    CarrierCourierCode(PointId, ApiKeyId),
    /// Wrong passwords for a console account.
    ConsolePassword(relais_domain::ids::ConsoleAccountId),
}

impl AttemptScope {
    /// The key under which the counter is stored.
    pub fn key(self) -> String {
        match self {
            AttemptScope::Point(id) => format!("point:{id}"),
            AttemptScope::Parcel(id) => format!("parcel:{id}"),
            AttemptScope::CourierCode(id) => format!("courier:{id}"),
            AttemptScope::CarrierCourierCode(id, key) => format!("courier:{id}:{key}"),
            AttemptScope::ConsolePassword(id) => format!("console:{id}"),
        }
    }
}

/// A counter as stored, with the version that guards its update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredCounter {
    pub counter: AttemptCounter,
    pub version: i64,
}

/// One import of an operator's file into a network, as recorded: applied (its changes are in
/// `point_changes`) or refused (nothing changed; `problems` says why).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportRecord {
    pub id: ImportId,
    pub network_id: NetworkId,
    pub format: String,
    /// The file name or URL.
    pub source: String,
    pub at: Timestamp,
    pub status: ImportStatus,
    pub rows_total: u32,
    pub rows_refused: u32,
    /// Points per kind of change, in `ChangeKind::ALL` order: added, changed, moved, closed, reopened,
    /// removed.
    pub changes: [u32; 6],
    pub unchanged: u32,
    /// The refused rows and file-level reasons, one per line (the first few hundred).
    pub problems: String,
}

/// What became of an import.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ImportStatus {
    /// Its changes are in the registry.
    Applied,
    /// Refused whole: nothing changed.
    Refused,
    /// A dry run: what it would do, never recorded.
    DryRun,
}

impl ImportStatus {
    pub const ALL: [ImportStatus; 3] = [ImportStatus::Applied, ImportStatus::Refused, ImportStatus::DryRun];

    pub const fn as_str(self) -> &'static str {
        match self {
            ImportStatus::Applied => "applied",
            ImportStatus::Refused => "refused",
            ImportStatus::DryRun => "dry_run",
        }
    }

    pub fn parse(input: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == input)
    }
}

/// One change of one point in the registry's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PointChange {
    /// Position in the history, assigned by the store (0 when not yet stored).
    pub seq: i64,
    pub point_id: PointId,
    /// The import that made the change; `None` for a change through the API.
    pub import_id: Option<ImportId>,
    pub at: Timestamp,
    pub kind: ChangeKind,
    /// `(field, before, after)` for each field that changed.
    pub fields: Vec<(String, String, String)>,
}

/// Compartments of a point counted per size class (A, B, C, D), at an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompartmentCounts {
    pub point_id: PointId,
    /// Free then (`Compartment::is_free`: available, or a soft reservation that has lapsed).
    pub free: [u32; 4],
    pub total: [u32; 4],
    pub occupied: [u32; 4],
    pub reserved: [u32; 4],
}

/// A raised occupancy alert of a point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OccupancyAlert {
    pub point_id: PointId,
    pub raised_at: Timestamp,
    /// The occupancy rate when it was raised.
    pub rate: f64,
}

/// The last heartbeat of a point's locker controller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceStatus {
    pub point_id: PointId,
    /// The device key that sent it.
    pub key_id: ApiKeyId,
    pub last_seen_at: Timestamp,
    /// Each door's label and the state the locker reported.
    pub doors: Vec<(String, DoorState)>,
    pub firmware: Option<String>,
    /// When relais noticed the device had gone silent (cleared by its next heartbeat).
    pub offline_since: Option<Timestamp>,
}

/// One line of the audit log: who did what to which point, door or parcel, and why. Operator actions,
/// door faults and device alarms are written here in the same commit as their effect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// Position in the log, assigned by the store (0 when not yet stored).
    pub seq: i64,
    pub at: Timestamp,
    pub actor: Actor,
    pub action: AuditAction,
    pub point_id: Option<PointId>,
    pub compartment_id: Option<CompartmentId>,
    pub parcel_id: Option<ParcelId>,
    pub reason: Option<String>,
}

impl AuditEntry {
    /// An entry about one door of a locker (and the parcel behind it, if any).
    pub fn of_door(
        at: Timestamp,
        actor: Actor,
        action: AuditAction,
        compartment: &Compartment,
        parcel_id: Option<ParcelId>,
        reason: Option<&str>,
    ) -> AuditEntry {
        AuditEntry {
            seq: 0,
            at,
            actor,
            action,
            point_id: Some(compartment.point_id),
            compartment_id: Some(compartment.id),
            parcel_id,
            reason: reason.map(str::to_owned),
        }
    }
}

/// What an audit entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditAction {
    /// A door fault (a hardware incident): reported by the locker or a courier.
    DoorFault(DoorFault),
    /// An operator ordered a door open.
    RemoteDoorOpening,
    /// An operator declared a door repaired.
    DoorRepaired,
    /// An operator moved a parcel to another door.
    ParcelMoved,
    /// A counter refused a hand-over: the identity did not match.
    HandOverRefused,
    /// A locker went silent.
    DeviceOffline,
    /// An API key was issued, revoked or rotated.
    ApiKeyCreated,
    ApiKeyRevoked,
}

impl AuditAction {
    /// Every action, door faults once per fault.
    pub const ALL: [AuditAction; 11] = [
        AuditAction::DoorFault(DoorFault::Jammed),
        AuditAction::DoorFault(DoorFault::ForcedOpen),
        AuditAction::DoorFault(DoorFault::Broken),
        AuditAction::DoorFault(DoorFault::Blocked),
        AuditAction::RemoteDoorOpening,
        AuditAction::DoorRepaired,
        AuditAction::ParcelMoved,
        AuditAction::HandOverRefused,
        AuditAction::DeviceOffline,
        AuditAction::ApiKeyCreated,
        AuditAction::ApiKeyRevoked,
    ];

    pub const fn door_fault(fault: DoorFault) -> AuditAction {
        AuditAction::DoorFault(fault)
    }

    /// The stored and wire name; a door fault is named as the fault (`door_jammed`...).
    pub const fn as_str(self) -> &'static str {
        match self {
            AuditAction::DoorFault(fault) => fault.as_str(),
            AuditAction::RemoteDoorOpening => "remote_door_opening",
            AuditAction::DoorRepaired => "door_repaired",
            AuditAction::ParcelMoved => "parcel_moved",
            AuditAction::HandOverRefused => "hand_over_refused",
            AuditAction::DeviceOffline => "device_offline",
            AuditAction::ApiKeyCreated => "api_key_created",
            AuditAction::ApiKeyRevoked => "api_key_revoked",
        }
    }

    pub fn parse(input: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == input)
    }

    /// Whether the action is a hardware incident (a KPI counts them).
    pub const fn is_hardware_incident(self) -> bool {
        matches!(self, AuditAction::DoorFault(_))
    }
}

/// One write of a commit.
#[derive(Debug, Clone)]
pub enum Write {
    InsertNetwork(Network),
    InsertMerchant(Merchant),
    /// A carrier and the networks it serves.
    InsertCarrier(Carrier),
    /// Replaces the networks a carrier serves.
    SetCarrierNetworks {
        carrier_id: CarrierId,
        networks: Vec<NetworkId>,
    },
    InsertPoint(PickupPoint),
    InsertCompartment(Compartment),
    /// A new parcel, with its pickup code and QR token sealed for the recipient's messages
    /// (`Secrets::seal_pickup`), and the keyed digests of its recipient's phone and e-mail
    /// (`Secrets::contact_digest`) by which the console finds it.
    InsertParcel {
        parcel: Parcel,
        pickup_seal: Vec<u8>,
        contact_digests: Vec<String>,
    },
    /// Stores the parcel's lifecycle fields (state, compartment, deposit time, deadline, extensions,
    /// reminders, and its point when an overflow relocates it) if its stored version is still
    /// `parcel.version`, and bumps the version. Identity fields (number, merchant, recipient, size)
    /// never change after announce. The pickup seal is erased when the state no longer holds a live code
    /// (`ParcelState::holds_live_code`): a collected or returned parcel's code is of no use to anyone.
    UpdateParcel(Parcel),
    /// Replaces a parcel's pickup code and QR token digests (a lost code re-issued); `Duplicate`
    /// (`pickup_code`) if another parcel waiting at the point has that code.
    SetPickupSecrets {
        parcel_id: ParcelId,
        secrets: PickupSecretDigests,
        pickup_seal: Vec<u8>,
    },
    /// Stores the compartment's state if its stored version is still `compartment.version`.
    UpdateCompartment(Compartment),
    /// Stores the point's shelf occupancy if its stored version is still `point.version`.
    UpdatePointShelf(PickupPoint),
    /// Stores the point's registry fields (everything an import or an operator sets: name, address,
    /// position, hours, closures, status, limits, services, source) and bumps its version. Not
    /// version-checked: the registry fields have one writer (imports of the network, serialised), and a
    /// deposit racing an import must not make a 200,000-point import start over; the deposit retries.
    UpdatePoint(PickupPoint),
    InsertImport(ImportRecord),
    AppendPointChange(PointChange),
    /// Raises a point's occupancy alert; `Duplicate` if it is already raised.
    RaiseOccupancyAlert(OccupancyAlert),
    /// Clears a point's occupancy alert (nothing if none).
    ClearOccupancyAlert(PointId),
    AppendEvent(ParcelEvent),
    AppendOutbox(OutboxMessage),
    /// Creates the counter (`expected_version: None`) or updates it if still at that version.
    PutAttemptCounter {
        scope: AttemptScope,
        counter: AttemptCounter,
        expected_version: Option<i64>,
    },
    InsertApiKey(ApiKey),
    /// Revokes a key at `at`; `Conflict` if it is revoked already.
    RevokeApiKey {
        id: ApiKeyId,
        at: Timestamp,
    },
    InsertDropOffSession(DropOffSession),
    /// Stores the session's closing if its stored version is still `session.version`.
    UpdateDropOffSession(DropOffSession),
    /// A parcel scanned in a session; `Duplicate` (`drop_off_item`) if it was already scanned there.
    InsertDropOffItem(DropOffItem),
    /// Stores the item's outcome if its stored version is still `item.version`.
    UpdateDropOffItem(DropOffItem),
    /// A door opening to do; `Duplicate` (`door_command`) if that door already has one pending.
    InsertDoorCommand(DoorCommand),
    /// Stores the command's outcome if its stored version is still `command.version`.
    UpdateDoorCommand(DoorCommand),
    /// Replaces the point's device status (last heartbeat wins).
    PutDeviceStatus(DeviceStatus),
    /// Marks a device offline if it has not beaten since `last_seen_at` and is not marked yet;
    /// `Conflict` otherwise (it beat meanwhile).
    MarkDeviceOffline {
        point_id: PointId,
        last_seen_at: Timestamp,
        at: Timestamp,
    },
    AppendAudit(AuditEntry),
    /// The delivery of the outbox and what shapes it (ADR 15): claims, fan-outs, outcomes, endpoints.
    Messages(MessageWrite),
    /// Parcel numbers' series and the blocks of serials they hand out.
    Numbers(NumberWrite),
    /// Merchants' orders and their parcels.
    Orders(OrderWrite),
    /// What relais follows of parcels at their carriers, and the carriers' events.
    Tracking(TrackingWrite),
    /// Claims against carriers and their evidence.
    Claims(ClaimWrite),
    /// The operator console's accounts and sessions.
    Console(ConsoleWrite),
}

/// The writes of the operator console.
#[derive(Debug, Clone)]
pub enum ConsoleWrite {
    /// An alert acknowledged; a second acknowledgement of the same occurrence keeps the first.
    Acknowledge(relais_domain::alert::Acknowledgement),
    /// A device's enrolment started.
    InsertEnrolment(relais_domain::console::Enrolment),
    /// An enrolment traded for its key; `Conflict` if it was used meanwhile.
    UseEnrolment { token_digest: [u8; 32], at: Timestamp },
    /// A parcel's contact digests (kept once each), for parcels announced before they were written.
    IndexContacts { parcel_id: ParcelId, digests: Vec<String> },
    /// A new account; `Duplicate` (`console_account`) when its e-mail address has one.
    InsertAccount(relais_domain::console::ConsoleAccount),
    /// A session, kept by the keyed digest of its token.
    InsertSession {
        token_digest: [u8; 32],
        account_id: relais_domain::ids::ConsoleAccountId,
        created_at: Timestamp,
        expires_at: Timestamp,
    },
    /// Ends a session (nothing if it is gone).
    DeleteSession { token_digest: [u8; 32] },
}

/// The writes of claims (docs/claims.md).
#[derive(Debug, Clone)]
pub enum ClaimWrite {
    /// A new claim; `Duplicate` (`claim`) when the parcel has one of that kind.
    Insert(relais_domain::claims::Claim),
    /// Stores its state, amounts, reason and reminder if its stored version is still `claim.version`.
    Update(relais_domain::claims::Claim),
    /// A file supporting the claim, stored once by its digest (the same photo twice is one file).
    AddEvidence { claim_id: relais_domain::ids::ClaimId, evidence: Evidence, added_by: String, at: Timestamp },
}

/// A file of evidence: its SHA-256 (hex), its type and bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct Evidence {
    pub sha256: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for Evidence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Evidence({} {} {} bytes)", self.sha256, self.content_type, self.bytes.len())
    }
}

/// A claim's evidence as listed: its digest, type, size, who added it and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvidenceEntry {
    pub sha256: String,
    pub content_type: String,
    pub size_bytes: u64,
    pub added_by: String,
    pub added_at: Timestamp,
}

/// Which claims a list shows.
#[derive(Debug, Clone, Default)]
pub struct ClaimFilter {
    pub merchant_id: Option<MerchantId>,
    pub carrier: Option<String>,
    pub kind: Option<relais_domain::claims::ClaimKind>,
    pub state: Option<relais_domain::claims::ClaimState>,
    /// Claims whose delivery (or loss) occurred in `[from, to)`.
    pub occurred_from: Option<Timestamp>,
    pub occurred_to: Option<Timestamp>,
    pub limit: u32,
}

/// The writes of carrier tracking (docs/tracking.md).
#[derive(Debug, Clone)]
pub enum TrackingWrite {
    /// Starts following a parcel, or replaces what is followed (inserted or replaced whole);
    /// `Duplicate` (`tracking_number`) when another parcel is followed under that carrier and number.
    Put(Box<ParcelTracking>),
    /// A carrier's events of a parcel; one it gave already (same instant, same code) is kept once.
    AppendEvents {
        parcel_id: ParcelId,
        carrier: String,
        events: Vec<relais_tracking::TrackingEvent>,
        received_at: Timestamp,
    },
}

/// A parcel relais follows at its carrier: the carrier's API and the number it knows the parcel by, the
/// last status it gave, and when to ask it next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParcelTracking {
    pub parcel_id: ParcelId,
    pub merchant_id: MerchantId,
    /// The carrier's name in the API (`relais_tracking::Carrier::as_str`).
    pub carrier: String,
    pub tracking_number: String,
    /// The normalised status of the carrier's latest event, once it gave one.
    pub status: Option<String>,
    pub last_event_at: Option<Timestamp>,
    /// When to ask the carrier next; `None` once polling stopped (a final status, or given up).
    pub next_poll_at: Option<Timestamp>,
    /// Polls in a row that brought nothing new: each one waits longer.
    pub quiet_polls: u32,
    /// Failed polls in a row (no answer, refused, unreadable).
    pub failures: u32,
    pub last_error: Option<String>,
    /// The promise (docs/claims.md): the service level's working days and the shipping price paid.
    pub promise: Option<PromiseTerms>,
    /// The day the carrier took the parcel and the day it is due, once it took it.
    pub shipped_on: Option<chrono::NaiveDate>,
    pub due_on: Option<chrono::NaiveDate>,
    /// When it was delivered: available at its point (the carrier's or relais' event, the earlier).
    pub delivered_at: Option<Timestamp>,
    /// When the recipient was told of a delay, and why (once).
    pub delay_told_at: Option<Timestamp>,
    pub delay_reason: Option<String>,
    /// When the promise is looked at again; `None` once settled.
    pub next_review_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// What a parcel's delivery was promised and paid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromiseTerms {
    pub service_days: u32,
    pub shipping_price_cents: i64,
    pub currency: String,
    /// What the goods are worth, in cents (a loss claim asks for it).
    pub declared_value_cents: Option<i64>,
    /// The merchant's name of the service level (`express`), when known: a carrier's scale may differ
    /// by service.
    pub service_level: Option<String>,
}

/// A carrier's event of a parcel, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCarrierEvent {
    pub parcel_id: ParcelId,
    pub carrier: String,
    pub event: relais_tracking::TrackingEvent,
    pub received_at: Timestamp,
}

/// The writes of orders (`store/src/*/orders.rs`).
#[derive(Debug, Clone)]
pub enum OrderWrite {
    /// A new order; `Duplicate` (`order_reference`, `idempotency_key`) when the merchant has one with
    /// that reference or key.
    Insert(relais_domain::order::Order),
    /// Stores its state, point and reason if its stored version is still `order.version`.
    Update(relais_domain::order::Order),
    /// A parcel of the order, in a shipment (1 for the first).
    LinkParcel { order_id: relais_domain::ids::OrderId, parcel_id: ParcelId, shipment: u32 },
    /// Creates or replaces a merchant's connector to a shop platform.
    PutConnector(StoredConnector),
    /// The point a merchant's customer (by a contact's keyed digest) used last.
    PutCustomerPoint { merchant_id: MerchantId, contact_digest: String, point_id: PointId, at: Timestamp },
    /// An order a shop sent and what relais wrote back to it so far (inserted or replaced whole).
    PutShopWriteBack(ShopWriteBack),
}

/// An order a shop platform sent through a connector, and how far relais has written its fulfilment
/// back to the shop (docs/connectors.md).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShopWriteBack {
    pub order_id: relais_domain::ids::OrderId,
    pub merchant_id: MerchantId,
    pub platform: String,
    /// The shop's own id of the order (Shopify's `id`, WooCommerce's `id`, Magento's `entity_id`).
    pub shop_order_id: String,
    /// `none`, `shipped`, `ready` (waiting at the point), `delivered` (collected); `ended` when every
    /// parcel ended otherwise (sent back, cancelled): not looked at again.
    pub stage: String,
    /// What the shop made for it: Shopify's fulfillment id, Magento's shipment id.
    pub shop_ref: Option<String>,
    /// Failed attempts since the last step written.
    pub attempts: u32,
    pub next_attempt_at: Timestamp,
    pub last_error: Option<String>,
    pub updated_at: Timestamp,
}

/// A merchant's connector to a shop platform, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredConnector {
    pub merchant_id: MerchantId,
    pub platform: String,
    /// The shop's webhook secret, sealed (`Secrets::seal_connector_secret`).
    pub secret_seal: Vec<u8>,
    pub length_mm: i64,
    pub width_mm: i64,
    pub height_mm: i64,
    pub weight_g: i64,
    pub updated_at: Timestamp,
    /// The shop's API, to write fulfilments back: its base URL, the user (WooCommerce's consumer key)
    /// and the token sealed (`Secrets::seal_connector_secret` under `<platform>:api`).
    pub api: Option<ShopApiAccess>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShopApiAccess {
    pub url: String,
    pub username: Option<String>,
    pub token_seal: Vec<u8>,
}

/// The writes of the numbering series (`relais_domain::numbering`).
#[derive(Debug, Clone)]
pub enum NumberWrite {
    /// Creates or replaces a series; a new definition starts at `next_serial` (after the blocks of that
    /// definition taken within a year), the same definition where it was.
    PutSeries { id: String, definition: String, next_serial: u64, at: Timestamp },
    /// A block `[start, start + serials)` taken, if the series is still at `version`: its next serial
    /// becomes `start + serials`. `Conflict` otherwise (another process took one meanwhile).
    TakeBlock { series_id: String, version: i64, definition: String, start: u64, serials: u64, at: Timestamp },
}

/// A numbering series as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSeries {
    pub id: String,
    pub definition: String,
    pub next_serial: u64,
    pub version: i64,
    pub updated_at: Timestamp,
}

/// The writes of the outbox's delivery (ADR 15), apart so that each backend applies them in one place
/// (`store/src/*/outbox.rs`).
#[derive(Debug, Clone)]
pub enum MessageWrite {
    /// Leases up to `limit` undispatched outbox messages whose lease is free or lapsed at `now` until
    /// `until` (ADR 15); on PostgreSQL, rows another transaction holds are skipped. Read back with
    /// `Store::leased_outbox(lease)`.
    ClaimOutbox {
        lease: LeaseId,
        now: Timestamp,
        until: Timestamp,
        limit: u32,
    },
    /// A message's deliveries (one already there is left as it is) and the message marked dispatched.
    FanOut {
        outbox_id: OutboxId,
        deliveries: Vec<Delivery>,
        at: Timestamp,
    },
    /// Leases up to `limit` pending deliveries due at `now`: their next attempt is moved to `until`
    /// (a worker that dies leaves them due again then) and their attempts counted. Read back with
    /// `Store::leased_deliveries(lease)`.
    ClaimDeliveries {
        lease: LeaseId,
        now: Timestamp,
        until: Timestamp,
        limit: u32,
    },
    /// An attempt's outcome, if the delivery is still pending and still held by `lease` (another
    /// worker took it over after the lease lapsed: its outcome counts). An acceptance is recorded
    /// whoever holds the lease. Nothing happens otherwise.
    RecordDelivery {
        delivery: Delivery,
        lease: LeaseId,
    },
    /// A delivered or dead delivery sent again from its first attempt, due at `at`; `Conflict` if it
    /// is pending.
    ResendDelivery {
        id: DeliveryId,
        at: Timestamp,
    },
    /// What a provider reported after accepting a message (an SMS delivered to the handset or not).
    SetProviderStatus {
        channel: relais_domain::delivery::Channel,
        provider_ref: String,
        status: String,
        at: Timestamp,
    },
    /// Deletes up to `limit` dispatched outbox messages older than `before` whose deliveries are all
    /// delivered or dead; their deliveries stay.
    PruneOutbox {
        before: Timestamp,
        limit: u32,
    },
    /// Replaces a merchant's branding.
    SetMerchantBranding {
        merchant_id: MerchantId,
        branding: Branding,
    },
    InsertEndpoint {
        endpoint: Endpoint,
        secret_seal: Option<Vec<u8>>,
    },
    /// Stores an endpoint's target, topics and state if its stored version is still `endpoint.version`.
    UpdateEndpoint(Endpoint),
    /// A new signing secret; the one it replaces keeps signing until `previous_until`.
    RotateEndpointSecret {
        id: EndpointId,
        secret_seal: Vec<u8>,
        previous_until: Timestamp,
    },
    /// Records a webhook's outcome on its endpoint: a success clears `failing_since`, a failure sets
    /// it if it is not set.
    EndpointOutcome {
        id: EndpointId,
        ok: bool,
        at: Timestamp,
    },
    /// A recipient stops a channel: their contact's keyed digest, never the contact. Once is enough.
    OptOut {
        contact_digest: String,
        channel: relais_domain::delivery::Channel,
        at: Timestamp,
    },
    /// A survey answer, replacing the parcel's earlier one.
    AnswerSurvey(relais_domain::survey::SurveyAnswer),
    /// An operator's template, replacing the part's earlier one.
    SaveTemplate(StoredTemplate),
    /// Back to the default for a part.
    ResetTemplate {
        notice: String,
        lang: String,
        part: String,
    },
}

/// An operator's template for one part of one notice in one language (`relais_messages::templates`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredTemplate {
    pub notice: String,
    /// `fr` or `en`.
    pub lang: String,
    /// `sms`, `subject`, `text` or `html`.
    pub part: String,
    pub source: String,
    pub updated_at: Timestamp,
}

/// Which survey answers the NPS counts: answered in `[from, to)`, and of one network, point, merchant
/// or carrier when given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SurveyFilter {
    pub from: Timestamp,
    pub to: Timestamp,
    pub network_id: Option<NetworkId>,
    pub point_id: Option<PointId>,
    pub merchant_id: Option<MerchantId>,
    pub carrier_id: Option<CarrierId>,
}

/// An endpoint's sealed signing secrets (ADR 14's seal): the current one, and the previous one while
/// it still signs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EndpointSecrets {
    pub current: Option<Vec<u8>>,
    pub previous: Option<(Vec<u8>, Timestamp)>,
}

/// A delivery as a worker took it: with its message's payload, unless the message was pruned.
#[derive(Debug, Clone, PartialEq)]
pub struct LeasedDelivery {
    pub delivery: Delivery,
    pub payload: Option<serde_json::Value>,
}

/// Which deliveries to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryFilter {
    pub parcel_id: Option<ParcelId>,
    /// Deliveries to this address (a webhook endpoint's id, a phone number, an e-mail address).
    pub address: Option<String>,
    pub state: Option<DeliveryState>,
}

impl Write {
    /// What this write changes in the search index, if anything. The one rule for both the process that
    /// commits (`App::commit` marks its own index) and, on PostgreSQL, the other processes (the store
    /// tells them when the transaction commits).
    pub fn index_change(&self) -> Option<IndexChange> {
        match self {
            // A compartment is inserted only with its point, whose reload counts it.
            Write::UpdateCompartment(c) => Some(IndexChange::Capacity(c.point_id)),
            Write::UpdatePointShelf(p) => Some(IndexChange::Capacity(p.id)),
            Write::InsertPoint(p) | Write::UpdatePoint(p) => Some(IndexChange::Point(p.id)),
            _ => None,
        }
    }
}

/// A change to what the search index holds about a point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IndexChange {
    /// Its free capacity (a compartment or the shelf changed): recount.
    Capacity(PointId),
    /// The point itself (added, or its registry fields changed): reload it.
    Point(PointId),
}

/// What another process sharing the database committed, as the store reports it to this one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IndexNotice {
    Changes(Vec<IndexChange>),
    /// Too many points changed at once to list (an import), or notices may have been missed (the
    /// connection that hears them was lost): rebuild the whole index.
    Rebuild,
}

/// A page request: items after `after` (an id from the previous page), at most `limit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page<C> {
    pub after: Option<C>,
    pub limit: u32,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParcelFilter {
    pub merchant_id: Option<MerchantId>,
    pub point_id: Option<PointId>,
    pub state: Option<ParcelState>,
    /// Only the parcels a carrier handles, as `Caller::can_see` says: handed to it, or of a network it
    /// serves when the merchant named no carrier.
    pub carrier_id: Option<CarrierId>,
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Which backend, for logs and `/readyz`.
    fn backend(&self) -> &'static str;
    /// Cheap round trip to the database.
    async fn ping(&self) -> StoreResult<()>;

    async fn network(&self, id: NetworkId) -> StoreResult<Option<Network>>;
    async fn networks(&self, page: Page<NetworkId>) -> StoreResult<Vec<Network>>;
    async fn merchant(&self, id: MerchantId) -> StoreResult<Option<Merchant>>;
    /// A carrier with the networks it serves.
    async fn carrier(&self, id: CarrierId) -> StoreResult<Option<Carrier>>;
    async fn carriers(&self, page: Page<CarrierId>) -> StoreResult<Vec<Carrier>>;
    async fn point(&self, id: PointId) -> StoreResult<Option<PickupPoint>>;
    async fn points(&self, network_id: Option<NetworkId>, page: Page<PointId>) -> StoreResult<Vec<PickupPoint>>;
    async fn count_points(&self) -> StoreResult<u64>;
    /// Every point of a network, in no particular order (an import diffs against them).
    async fn network_points(&self, network_id: NetworkId) -> StoreResult<Vec<PickupPoint>>;
    /// Compartment counts of every point that has compartments (or of one point) at `now`: a soft
    /// reservation lapsed by then counts as free (`Compartment::is_free`).
    async fn compartment_counts(
        &self,
        point_id: Option<PointId>,
        now: Timestamp,
    ) -> StoreResult<Vec<CompartmentCounts>>;
    /// The points of `ids` that exist, in no particular order: what the index job reloads and recounts
    /// each second, in one round trip where a round trip costs (PostgreSQL).
    async fn points_by_id(&self, ids: &[PointId]) -> StoreResult<Vec<PickupPoint>> {
        let mut points = Vec::with_capacity(ids.len());
        for id in ids {
            points.extend(self.point(*id).await?);
        }
        Ok(points)
    }
    /// Compartment counts of the points of `ids` that have compartments at `now`, in no particular order.
    async fn compartment_counts_of(&self, ids: &[PointId], now: Timestamp) -> StoreResult<Vec<CompartmentCounts>> {
        let mut counts = Vec::with_capacity(ids.len());
        for id in ids {
            counts.extend(self.compartment_counts(Some(*id), now).await?);
        }
        Ok(counts)
    }
    /// Imports of a network, newest first.
    async fn imports(&self, network_id: NetworkId, page: Page<ImportId>) -> StoreResult<Vec<ImportRecord>>;
    async fn occupancy_alert(&self, point_id: PointId) -> StoreResult<Option<OccupancyAlert>>;
    /// Every event of the parcels deposited (or failing deposit) in `[from, to)`, at a point or in a
    /// network when given, grouped by parcel in log order.
    async fn kpi_events(
        &self,
        point_id: Option<PointId>,
        network_id: Option<NetworkId>,
        from: Timestamp,
        to: Timestamp,
    ) -> StoreResult<Vec<relais_domain::kpi::KpiEvent>>;
    /// Door faults (hardware incidents) and the handling of parcels deposited through sessions, in
    /// `[from, to)`, at a point or in a network.
    async fn kpi_facts(
        &self,
        point_id: Option<PointId>,
        network_id: Option<NetworkId>,
        from: Timestamp,
        to: Timestamp,
    ) -> StoreResult<Vec<relais_domain::kpi::KpiFact>>;
    /// A point's history, oldest first.
    async fn point_changes(&self, point_id: PointId) -> StoreResult<Vec<PointChange>>;
    /// The compartments of a point, in label order.
    async fn compartments(&self, point_id: PointId) -> StoreResult<Vec<Compartment>>;
    /// Compartments soft-reserved with an expiry at or before `now`, for the tidying sweep.
    async fn compartments_with_lapsed_reservation(&self, now: Timestamp, limit: u32) -> StoreResult<Vec<Compartment>>;
    async fn compartment(&self, id: CompartmentId) -> StoreResult<Option<Compartment>>;

    async fn parcel(&self, id: ParcelId) -> StoreResult<Option<Parcel>>;
    /// The parcels with this number (unique per merchant: several merchants may use one number), at most
    /// `limit`.
    async fn parcels_by_number(&self, number: &ParcelNumber, limit: u32) -> StoreResult<Vec<Parcel>>;
    /// One import's record.
    async fn import_record(&self, import_id: ImportId) -> StoreResult<Option<ImportRecord>>;
    /// The changes an import made, in order, at most `limit`.
    async fn import_changes(&self, import_id: ImportId, limit: u32) -> StoreResult<Vec<PointChange>>;
    /// A device enrolment by the keyed digest of its token.
    async fn enrolment(&self, token_digest: &[u8; 32]) -> StoreResult<Option<relais_domain::console::Enrolment>>;
    /// The device keys of a point (revoked ones too), oldest first.
    async fn point_keys(&self, point_id: PointId) -> StoreResult<Vec<ApiKey>>;
    /// Raised occupancy alerts (every point's), at most `limit`.
    async fn occupancy_alerts(&self, limit: u32) -> StoreResult<Vec<OccupancyAlert>>;
    /// Compartments whose door reports a fault, with when a fault was last reported there (the audit
    /// log), at most `limit`.
    async fn faulty_compartments(&self, limit: u32) -> StoreResult<Vec<(Compartment, Option<Timestamp>)>>;
    /// Lockers marked offline (silent past `DEVICE_SILENCE_SECONDS`), the longest silent first.
    async fn offline_devices(&self, limit: u32) -> StoreResult<Vec<DeviceStatus>>;
    /// Point files refused since `since`, the latest first, at most `limit`.
    async fn refused_imports(&self, since: Timestamp, limit: u32) -> StoreResult<Vec<ImportRecord>>;
    /// Messages given up (dead letters) since `since`, the latest first, at most `limit`.
    async fn dead_deliveries(&self, since: Timestamp, limit: u32) -> StoreResult<Vec<Delivery>>;
    /// Claims still to file whose deadline is before `by`, the nearest first, at most `limit`.
    async fn claims_to_file_by(&self, by: Timestamp, limit: u32) -> StoreResult<Vec<relais_domain::claims::Claim>>;
    /// The acknowledgements of these alerts' keys.
    async fn alert_acknowledgements(&self, keys: &[String]) -> StoreResult<Vec<relais_domain::alert::Acknowledgement>>;
    /// The parcels of the orders with this reference (any merchant's), at most `limit`.
    async fn parcels_by_order_reference(&self, reference: &str, limit: u32) -> StoreResult<Vec<Parcel>>;
    /// The parcels whose recipient's phone or e-mail has this keyed digest (`Secrets::contact_digest`),
    /// the latest announced first, at most `limit`.
    async fn parcels_by_contact(&self, digest: &str, limit: u32) -> StoreResult<Vec<Parcel>>;
    /// The parcel waiting at `point_id` whose pickup code has this digest.
    async fn parcel_by_code(&self, point_id: PointId, code_digest: &[u8; 32]) -> StoreResult<Option<Parcel>>;
    async fn parcels(&self, filter: &ParcelFilter, page: Page<ParcelId>) -> StoreResult<Vec<Parcel>>;
    /// The parcels `ready_for_pickup` at a point for this phone number or this e-mail address, at most
    /// `limit`, in no particular order.
    async fn parcels_waiting_for(
        &self,
        point_id: PointId,
        phone: Option<&Phone>,
        email: Option<&Email>,
        limit: u32,
    ) -> StoreResult<Vec<Parcel>>;
    /// Parcels `ready_for_pickup` whose deadline is at or before `now`, oldest deadline first.
    async fn parcels_due_for_expiry(&self, now: Timestamp, limit: u32) -> StoreResult<Vec<Parcel>>;
    /// Parcels `ready_for_pickup` whose next reminder is due at or before `now`, oldest first.
    async fn parcels_due_for_reminder(&self, now: Timestamp, limit: u32) -> StoreResult<Vec<Parcel>>;
    async fn events(&self, parcel_id: ParcelId) -> StoreResult<Vec<StoredEvent>>;
    async fn outbox(&self, after: Option<OutboxId>, limit: u32) -> StoreResult<Vec<OutboxMessage>>;
    async fn outbox_message(&self, id: OutboxId) -> StoreResult<Option<OutboxMessage>>;
    /// The outbox messages a `MessageWrite::ClaimOutbox` leased.
    async fn leased_outbox(&self, lease: LeaseId) -> StoreResult<Vec<OutboxMessage>>;
    /// The deliveries a `MessageWrite::ClaimDeliveries` leased, with their messages' payloads.
    async fn leased_deliveries(&self, lease: LeaseId) -> StoreResult<Vec<LeasedDelivery>>;
    async fn delivery(&self, id: DeliveryId) -> StoreResult<Option<Delivery>>;
    /// Deliveries, newest first (`page.after`: the last of the previous page).
    async fn deliveries(&self, filter: &DeliveryFilter, page: Page<DeliveryId>) -> StoreResult<Vec<Delivery>>;
    /// How many deliveries are in each state, per channel: (channel, state, count).
    async fn delivery_counts(&self) -> StoreResult<Vec<(String, String, u64)>>;
    async fn endpoint(&self, id: EndpointId) -> StoreResult<Option<(Endpoint, EndpointSecrets)>>;
    /// A merchant's branding; `None` for an unknown merchant.
    async fn merchant_branding(&self, merchant_id: MerchantId) -> StoreResult<Option<Branding>>;
    /// A merchant's endpoints (`Some`), or the operators' (`None`), oldest first.
    async fn endpoints(&self, merchant_id: Option<MerchantId>) -> StoreResult<Vec<Endpoint>>;
    /// Every enabled endpoint, the operators' and every merchant's: what a fan-out chooses from.
    async fn enabled_endpoints(&self) -> StoreResult<Vec<Endpoint>>;
    /// When the recipients' messages to these addresses left or will leave, from `since` on: what the
    /// per-recipient limit counts. (channel, address, time)
    async fn recipient_sends(
        &self,
        addresses: &[String],
        since: Timestamp,
    ) -> StoreResult<Vec<(relais_domain::delivery::Channel, String, Timestamp)>>;
    /// The channels stopped by these contacts' digests: (digest, channel).
    async fn opted_out(&self, digests: &[String]) -> StoreResult<Vec<(String, relais_domain::delivery::Channel)>>;
    async fn survey_answer(&self, parcel_id: ParcelId) -> StoreResult<Option<relais_domain::survey::SurveyAnswer>>;
    /// How many answers gave each score, 0 to 10.
    async fn survey_scores(&self, filter: &SurveyFilter) -> StoreResult<[u64; 11]>;
    /// The answers with a comment their recipient agreed to publish, the latest first.
    async fn published_answers(
        &self,
        filter: &SurveyFilter,
        limit: u32,
    ) -> StoreResult<Vec<relais_domain::survey::SurveyAnswer>>;
    /// The operators' templates, by notice, language and part.
    async fn message_templates(&self) -> StoreResult<Vec<StoredTemplate>>;
    async fn order(&self, id: relais_domain::ids::OrderId) -> StoreResult<Option<relais_domain::order::Order>>;
    /// A merchant's order by its reference, or by the idempotency key it was created with.
    async fn order_by_reference(
        &self,
        merchant_id: MerchantId,
        reference: &str,
    ) -> StoreResult<Option<relais_domain::order::Order>>;
    async fn order_by_idempotency_key(
        &self,
        merchant_id: MerchantId,
        key: &str,
    ) -> StoreResult<Option<relais_domain::order::Order>>;
    /// An order's parcels with their shipment, in the order they were linked.
    async fn order_parcels(&self, order_id: relais_domain::ids::OrderId) -> StoreResult<Vec<(Parcel, u32)>>;
    async fn connector(&self, merchant_id: MerchantId, platform: &str) -> StoreResult<Option<StoredConnector>>;
    /// Shop orders whose write-back is due at `now` (neither `delivered` nor `ended`), soonest first.
    async fn shop_orders_due(&self, now: Timestamp, limit: u32) -> StoreResult<Vec<ShopWriteBack>>;
    async fn shop_order(&self, order_id: relais_domain::ids::OrderId) -> StoreResult<Option<ShopWriteBack>>;
    /// What relais follows of a parcel at its carrier.
    async fn parcel_tracking(&self, parcel_id: ParcelId) -> StoreResult<Option<ParcelTracking>>;
    /// The parcel a carrier knows by that number (a carrier's push).
    async fn tracking_by_number(&self, carrier: &str, number: &str) -> StoreResult<Option<ParcelTracking>>;
    /// The parcels followed at `carrier` whose poll is due at `now`, the most overdue first.
    async fn trackings_due(&self, carrier: &str, now: Timestamp, limit: u32) -> StoreResult<Vec<ParcelTracking>>;
    /// A parcel's carrier events, oldest first.
    async fn carrier_events(&self, parcel_id: ParcelId) -> StoreResult<Vec<StoredCarrierEvent>>;
    /// The followed parcels whose promise is due for a look at `now`, the most overdue first.
    async fn trackings_to_review(&self, now: Timestamp, limit: u32) -> StoreResult<Vec<ParcelTracking>>;
    async fn claim(&self, id: relais_domain::ids::ClaimId) -> StoreResult<Option<relais_domain::claims::Claim>>;
    /// A parcel's claims, oldest first.
    async fn claims_of(&self, parcel_id: ParcelId) -> StoreResult<Vec<relais_domain::claims::Claim>>;
    /// Claims by the filter, by when they occurred.
    async fn claims(&self, filter: &ClaimFilter) -> StoreResult<Vec<relais_domain::claims::Claim>>;
    /// Claims whose deadline reminder is due at `now`.
    async fn claims_to_remind(&self, now: Timestamp, limit: u32) -> StoreResult<Vec<relais_domain::claims::Claim>>;
    /// A claim's evidence, oldest first.
    async fn claim_evidence(&self, claim_id: relais_domain::ids::ClaimId) -> StoreResult<Vec<EvidenceEntry>>;
    /// A console account by its sign-in name (lower case).
    async fn console_account_by_email(
        &self,
        email: &str,
    ) -> StoreResult<Option<relais_domain::console::ConsoleAccount>>;
    async fn console_account(
        &self,
        id: relais_domain::ids::ConsoleAccountId,
    ) -> StoreResult<Option<relais_domain::console::ConsoleAccount>>;
    /// A session's account and end, by the keyed digest of its token.
    async fn console_session(
        &self,
        token_digest: &[u8; 32],
    ) -> StoreResult<Option<(relais_domain::ids::ConsoleAccountId, Timestamp)>>;
    /// A file of evidence, if the claim has it.
    async fn evidence(&self, claim_id: relais_domain::ids::ClaimId, sha256: &str) -> StoreResult<Option<Evidence>>;
    /// The point a merchant's customer used last, by any of their contacts' digests: the latest.
    async fn customer_point(
        &self,
        merchant_id: MerchantId,
        digests: &[String],
    ) -> StoreResult<Option<(PointId, Timestamp)>>;
    /// The order reference and shipment of those of `parcel_ids` that belong to an order.
    async fn order_references(&self, parcel_ids: &[ParcelId]) -> StoreResult<Vec<(ParcelId, String, u32)>> {
        let mut found = Vec::new();
        for parcel_id in parcel_ids {
            let Some(order_id) = self.order_of_parcel(*parcel_id).await? else { continue };
            let Some(order) = self.order(order_id).await? else { continue };
            let shipment =
                self.order_parcels(order_id).await?.into_iter().find(|(p, _)| p.id == *parcel_id).map_or(1, |(_, s)| s);
            found.push((*parcel_id, order.reference, shipment));
        }
        Ok(found)
    }
    /// The order a parcel belongs to, if any.
    async fn order_of_parcel(&self, parcel_id: ParcelId) -> StoreResult<Option<relais_domain::ids::OrderId>>;
    async fn number_series(&self, id: &str) -> StoreResult<Option<StoredSeries>>;
    /// The end (`start + serials`) of the last block of this definition overlapping `[start, end)` taken
    /// at or after `since`, if any.
    async fn recent_number_block(
        &self,
        definition: &str,
        start: u64,
        end: u64,
        since: Timestamp,
    ) -> StoreResult<Option<u64>>;

    async fn attempt_counter(&self, scope: AttemptScope) -> StoreResult<Option<StoredCounter>>;
    /// The key with this digest, unless revoked, and the networks its carrier serves (none for a key
    /// of another role): what authenticating a request needs, in one read.
    async fn api_key_by_digest(&self, digest: &[u8; 32]) -> StoreResult<Option<(ApiKey, Vec<NetworkId>)>>;
    /// The parcel's pickup code and QR token as sealed for its messages, while its code is live.
    async fn pickup_seal(&self, parcel_id: ParcelId) -> StoreResult<Option<Vec<u8>>>;
    /// A parcel and its seal (while its code is live), in one read: what a message that carries the
    /// code is rendered from.
    async fn parcel_with_seal(&self, parcel_id: ParcelId) -> StoreResult<Option<(Parcel, Option<Vec<u8>>)>>;
    /// The parcels of `ids` that exist, each with its seal, in no particular order: what a round of the
    /// delivery worker renders from, in one round trip where a round trip costs (PostgreSQL).
    async fn parcels_with_seals(&self, ids: &[ParcelId]) -> StoreResult<Vec<(Parcel, Option<Vec<u8>>)>> {
        let mut found = Vec::with_capacity(ids.len());
        for id in ids {
            found.extend(self.parcel_with_seal(*id).await?);
        }
        Ok(found)
    }
    /// A key by its id, revoked or not.
    async fn api_key(&self, id: ApiKeyId) -> StoreResult<Option<ApiKey>>;
    /// A key by its id, revoked or not, and the networks its carrier serves, in one read: whose
    /// expired parcels a return collection opened with that key takes back.
    async fn api_key_with_networks(&self, id: ApiKeyId) -> StoreResult<Option<(ApiKey, Vec<NetworkId>)>>;
    /// Every key, revoked ones too, in creation order.
    async fn api_keys(&self, page: Page<ApiKeyId>) -> StoreResult<Vec<ApiKey>>;
    /// The live keys of the carriers serving a network, oldest first, in one read: the candidates for a
    /// courier code typed on one of its lockers (courier codes are derived per carrier key).
    async fn carrier_keys_serving(&self, network_id: NetworkId) -> StoreResult<Vec<ApiKey>>;

    async fn drop_off_session(&self, id: DropOffSessionId) -> StoreResult<Option<DropOffSession>>;
    /// A session, the key that opened it (revoked or not) and the networks its carrier serves, in one
    /// read: what a scan checks the parcel against.
    async fn drop_off_session_with_carrier(
        &self,
        id: DropOffSessionId,
    ) -> StoreResult<Option<(DropOffSession, ApiKey, Vec<NetworkId>)>>;
    /// The parcels scanned in a session, in scan order.
    async fn drop_off_items(&self, session_id: DropOffSessionId) -> StoreResult<Vec<DropOffItem>>;
    /// The session in which a courier deposited the parcel (its proof of deposit), the latest.
    async fn deposit_session_of(&self, parcel_id: ParcelId) -> StoreResult<Option<DropOffSessionId>>;
    async fn door_command(&self, id: CommandId) -> StoreResult<Option<DoorCommand>>;
    /// The pending command of one door, if any.
    async fn pending_door_command(&self, compartment_id: CompartmentId) -> StoreResult<Option<DoorCommand>>;
    /// The pending commands of a point, oldest first.
    async fn pending_door_commands(&self, point_id: PointId) -> StoreResult<Vec<DoorCommand>>;
    async fn device_status(&self, point_id: PointId) -> StoreResult<Option<DeviceStatus>>;
    /// Devices last seen before `before` and not yet marked offline, longest silent first.
    async fn silent_devices(&self, before: Timestamp, limit: u32) -> StoreResult<Vec<DeviceStatus>>;
    /// Audit entries of a point and/or a parcel, oldest first, after `after` (a `seq`).
    async fn audit(
        &self,
        point_id: Option<PointId>,
        parcel_id: Option<ParcelId>,
        after: Option<i64>,
        limit: u32,
    ) -> StoreResult<Vec<AuditEntry>>;

    /// Applies all writes in one transaction, or none of them.
    async fn commit(&self, writes: Vec<Write>) -> Result<(), CommitError>;

    /// The index changes other processes commit to this database, as they commit them. `None` where no
    /// other process writes (SQLite: one process writes the file, ADR 10). Called once per process.
    async fn index_notices(&self) -> StoreResult<Option<tokio::sync::mpsc::Receiver<IndexNotice>>> {
        Ok(None)
    }
}

/// Where the time comes from. Read through this port only (clippy bans `Utc::now` elsewhere), so tests
/// and simulations can run days in milliseconds.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> Timestamp;
}

/// The wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)] // The one place that reads the wall clock.
    fn now(&self) -> Timestamp {
        Utc::now()
    }
}

/// A clock that moves only when told: tests and simulations.
#[derive(Debug)]
pub struct ManualClock {
    micros: AtomicI64,
}

impl ManualClock {
    pub fn new(start: Timestamp) -> Self {
        ManualClock { micros: AtomicI64::new(start.timestamp_micros()) }
    }
    pub fn set(&self, to: Timestamp) {
        self.micros.store(to.timestamp_micros(), Ordering::SeqCst);
    }
    pub fn advance(&self, by: chrono::Duration) {
        self.micros.fetch_add(by.num_microseconds().unwrap_or(i64::MAX), Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        DateTime::from_timestamp_micros(self.micros.load(Ordering::SeqCst)).unwrap_or_default()
    }
}

/// A clock that runs `scale` times faster than the wall clock from its creation: simulations and
/// benchmarks compress days into minutes with it (`RELAIS_TIME_SCALE`), so hold windows lapse and the
/// expiry sweep has work while the run lasts.
#[derive(Debug)]
pub struct ScaledClock {
    origin: Timestamp,
    started: std::time::Instant,
    scale: f64,
}

impl ScaledClock {
    pub fn new(scale: f64) -> Self {
        ScaledClock { origin: SystemClock.now(), started: std::time::Instant::now(), scale }
    }
}

impl Clock for ScaledClock {
    fn now(&self) -> Timestamp {
        let micros = self.started.elapsed().as_secs_f64() * self.scale * 1e6;
        self.origin + chrono::Duration::microseconds(micros as i64)
    }
}

/// Where randomness comes from: ids, pickup codes, QR tokens, API keys. Production uses the operating
/// system's generator; tests and simulations a seeded one, so a run can be replayed.
pub trait RandomSource: Send + Sync + 'static {
    fn fill(&self, bytes: &mut [u8]);

    fn next_u64(&self) -> u64 {
        let mut bytes = [0u8; 8];
        self.fill(&mut bytes);
        u64::from_le_bytes(bytes)
    }
}

/// The operating system's cryptographic generator, through a thread-local ChaCha generator it seeds.
#[derive(Debug, Default, Clone, Copy)]
pub struct OsRandom;

impl RandomSource for OsRandom {
    fn fill(&self, bytes: &mut [u8]) {
        rand::rng().fill_bytes(bytes);
    }
}

/// A seeded ChaCha generator: the same seed gives the same ids and codes.
#[derive(Debug)]
pub struct SeededRandom(Mutex<StdRng>);

impl SeededRandom {
    pub fn new(seed: u64) -> Self {
        SeededRandom(Mutex::new(StdRng::seed_from_u64(seed)))
    }
}

impl RandomSource for SeededRandom {
    fn fill(&self, bytes: &mut [u8]) {
        // A poisoned lock only means another thread panicked mid-draw; the generator is still usable.
        let mut rng = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        rng.fill_bytes(bytes);
    }
}

/// One call relais makes to another system's API (a shop's, a carrier's).
#[derive(Clone, PartialEq, Eq)]
pub struct OutboundRequest {
    pub method: &'static str,
    pub url: String,
    /// With the credentials: never logged.
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
}

/// Never shows the headers: they carry the merchant's or the carrier's credentials.
impl std::fmt::Debug for OutboundRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "OutboundRequest({} {})", self.method, self.url)
    }
}

/// The answer: its status and (the start of) its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundAnswer {
    pub status: u16,
    pub body: String,
}

/// Calls to other systems' APIs (the binary's outbound HTTP client). An `Err` is a call that got no
/// answer (refused, timed out): tried again later, as a 5xx or a 429 is.
#[async_trait]
pub trait OutboundCalls: Send + Sync {
    async fn call(&self, request: OutboundRequest) -> Result<OutboundAnswer, String>;
}
