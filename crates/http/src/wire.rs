//! Wire types: the JSON the API reads and writes, kept apart from domain types so that the domain can
//! change shape without breaking clients (and so the domain needs no serde). Requests refuse unknown
//! fields, so a typo is an error rather than a silently ignored value.

use chrono::{DateTime, Utc};
use relais_app::ports::{Merchant, StoredEvent};
use relais_domain::compartment::{Compartment, CompartmentState};
use relais_domain::network::{Network, NetworkRules};
use relais_domain::parcel::Parcel;
use relais_domain::point::PickupPoint;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateNetworkRequest {
    #[schema(example = "Relais Lyon")]
    pub name: String,
    #[serde(default)]
    pub rules: Option<RulesWire>,
}

/// A network's rules; any field left out takes its default (72 h hold, one 48 h extension from 36 h).
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RulesWire {
    pub hold_window_hours: Option<u32>,
    pub extension_count_max: Option<u32>,
    pub extension_hours: Option<u32>,
    pub extension_earliest_after_deposit_hours: Option<u32>,
    pub reminder_offsets_hours: Option<Vec<u32>>,
    pub reservation_hours: Option<u32>,
}

impl RulesWire {
    pub fn into_rules(self) -> NetworkRules {
        let d = NetworkRules::default();
        NetworkRules {
            hold_window_hours: self.hold_window_hours.unwrap_or(d.hold_window_hours),
            extension_count_max: self.extension_count_max.unwrap_or(d.extension_count_max),
            extension_hours: self.extension_hours.unwrap_or(d.extension_hours),
            extension_earliest_after_deposit_hours: self
                .extension_earliest_after_deposit_hours
                .unwrap_or(d.extension_earliest_after_deposit_hours),
            reminder_offsets_hours: self.reminder_offsets_hours.unwrap_or(d.reminder_offsets_hours),
            reservation_hours: self.reservation_hours.unwrap_or(d.reservation_hours),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NetworkView {
    pub id: Uuid,
    pub name: String,
    pub rules: RulesView,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RulesView {
    pub hold_window_hours: u32,
    pub extension_count_max: u32,
    pub extension_hours: u32,
    pub extension_earliest_after_deposit_hours: u32,
    pub reminder_offsets_hours: Vec<u32>,
    pub reservation_hours: u32,
}

impl From<&Network> for NetworkView {
    fn from(n: &Network) -> Self {
        let r = &n.rules;
        NetworkView {
            id: n.id.uuid(),
            name: n.name.clone(),
            rules: RulesView {
                hold_window_hours: r.hold_window_hours,
                extension_count_max: r.extension_count_max,
                extension_hours: r.extension_hours,
                extension_earliest_after_deposit_hours: r.extension_earliest_after_deposit_hours,
                reminder_offsets_hours: r.reminder_offsets_hours.clone(),
                reservation_hours: r.reservation_hours,
            },
            created_at: n.created_at,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateMerchantRequest {
    #[schema(example = "Boutique Martin")]
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MerchantView {
    pub id: Uuid,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

impl From<&Merchant> for MerchantView {
    fn from(m: &Merchant) -> Self {
        MerchantView { id: m.id.uuid(), name: m.name.clone(), created_at: m.created_at }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePointRequest {
    pub network_id: Uuid,
    /// The operator's own id for the point.
    #[schema(example = "LYON-0001")]
    pub external_id: String,
    /// `locker`, `counter`, `hub`, `store` or `post_office`.
    #[schema(example = "locker")]
    pub kind: String,
    pub name: String,
    pub address_line1: String,
    pub address_line2: Option<String>,
    pub postcode: String,
    pub city: String,
    /// ISO 3166-1 alpha-2.
    #[schema(example = "FR")]
    pub country: String,
    pub latitude: f64,
    pub longitude: f64,
    /// IANA zone; `Europe/Paris` when left out.
    pub timezone: Option<String>,
    pub status: Option<String>,
    /// Staffed points: parcel slots on the shelf (default 40).
    pub shelf_capacity: Option<u32>,
    pub weight_max_g: Option<i64>,
    pub dimensions_sum_max_mm: Option<u32>,
    /// Opening hours in the OpenStreetMap `opening_hours` syntax; `PH` uses the country's public holidays.
    #[schema(example = "Mo-Fr 09:00-12:00,14:00-19:00; Sa 09:00-12:00; PH off")]
    pub opening_hours: Option<String>,
    /// Days the point is closed whatever its hours say, each `{"first": "YYYY-MM-DD", "last": "YYYY-MM-DD"}`.
    #[serde(default)]
    pub closures: Vec<ClosureBody>,
    /// Among `collect`, `send`, `return`, `cash_on_delivery`; `["collect"]` when left out.
    #[schema(example = json!(["collect", "return"]))]
    pub services: Option<Vec<String>>,
    /// Lockers and hubs: their doors.
    #[serde(default)]
    pub compartments: Vec<CompartmentRequest>,
}

/// A closure: both days included.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClosureBody {
    #[schema(example = "2026-08-03")]
    pub first: String,
    #[schema(example = "2026-08-16")]
    pub last: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompartmentRequest {
    #[schema(example = "A01")]
    pub label: String,
    /// Size class `A`, `B`, `C` or `D`.
    #[schema(example = "A")]
    pub size: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PointView {
    pub id: Uuid,
    pub network_id: Uuid,
    pub external_id: String,
    pub kind: &'static str,
    pub name: String,
    pub address_line1: String,
    pub address_line2: Option<String>,
    pub postcode: String,
    pub city: String,
    pub country: String,
    pub latitude: f64,
    pub longitude: f64,
    pub timezone: String,
    pub status: &'static str,
    pub shelf_capacity: u32,
    pub shelf_occupied: u32,
    pub weight_max_g: u32,
    /// Canonical `opening_hours` value; absent when not known.
    pub opening_hours: Option<String>,
    pub closures: Vec<ClosureBody>,
    pub services: Vec<&'static str>,
    /// `api`, or the import that last set the record (`import:FORMAT:FILE`).
    pub source: String,
    pub created_at: DateTime<Utc>,
    /// Last change of the registry fields.
    pub updated_at: DateTime<Utc>,
    /// Only in single-point responses.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compartments: Option<Vec<CompartmentView>>,
}

impl PointView {
    pub fn new(p: &PickupPoint, compartments: Option<&[Compartment]>) -> Self {
        PointView {
            id: p.id.uuid(),
            network_id: p.network_id.uuid(),
            external_id: p.external_id.clone(),
            kind: p.kind.as_str(),
            name: p.name.clone(),
            address_line1: p.address.line1.clone(),
            address_line2: p.address.line2.clone(),
            postcode: p.address.postcode.clone(),
            city: p.address.city.clone(),
            country: p.address.country.clone(),
            latitude: p.coordinates.latitude(),
            longitude: p.coordinates.longitude(),
            timezone: p.timezone.clone(),
            status: p.status.as_str(),
            shelf_capacity: p.shelf_capacity,
            shelf_occupied: p.shelf_occupied,
            weight_max_g: p.weight_max.grams(),
            opening_hours: p.opening_hours.as_ref().map(|h| h.as_str().to_owned()),
            closures: p
                .closures
                .iter()
                .map(|c| ClosureBody { first: c.first.to_string(), last: c.last.to_string() })
                .collect(),
            services: p.services.names(),
            source: p.source.clone(),
            created_at: p.created_at,
            updated_at: p.updated_at,
            compartments: compartments.map(|cs| cs.iter().map(CompartmentView::from).collect()),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CompartmentView {
    pub id: Uuid,
    pub label: String,
    pub size: &'static str,
    /// `available`, `reserved`, `occupied`, `out_of_service` or `disabled`.
    pub state: &'static str,
    /// Until when a soft reservation holds.
    pub reserved_until: Option<DateTime<Utc>>,
    /// What is wrong with the door: `door_jammed`, `door_forced_open`, `door_broken`, `compartment_blocked`.
    pub fault: Option<&'static str>,
    /// How many parcels it holds or is held for: more than one when parcels of one recipient share it.
    pub parcels: usize,
}

impl From<&Compartment> for CompartmentView {
    fn from(c: &Compartment) -> Self {
        let reserved_until = match c.state {
            CompartmentState::Reserved { expires_at, .. } => expires_at,
            CompartmentState::Available
            | CompartmentState::Occupied { .. }
            | CompartmentState::OutOfService
            | CompartmentState::Disabled => None,
        };
        CompartmentView {
            id: c.id.uuid(),
            label: c.label.clone(),
            size: c.size.as_str(),
            state: c.state.name(),
            reserved_until,
            fault: c.fault.map(|f| f.as_str()),
            parcels: c.holders().len(),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApiKeyRequest {
    /// `operator`, `merchant`, `carrier` or `locker_device`.
    pub role: String,
    pub merchant_id: Option<Uuid>,
    pub point_id: Option<Uuid>,
    pub label: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyView {
    pub id: Uuid,
    pub role: &'static str,
    pub merchant_id: Option<Uuid>,
    pub point_id: Option<Uuid>,
    pub label: String,
    /// The key itself: shown in this response only, never again.
    pub secret: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnnounceRequest {
    /// Only when an operator announces on a merchant's behalf.
    pub merchant_id: Option<Uuid>,
    pub point_id: Uuid,
    /// SSCC (18 digits), UPU S10 (`EW112720413FR`) or another carrier's tracking number.
    #[schema(example = "EW112720413FR")]
    pub parcel_number: String,
    pub recipient: RecipientWire,
    pub dimensions_mm: DimensionsWire,
    #[schema(example = 1200)]
    pub weight_g: i64,
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecipientWire {
    pub name: String,
    /// E.164, e.g. `+33612345678`.
    pub phone: Option<String>,
    pub email: Option<String>,
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DimensionsWire {
    pub length: i64,
    pub width: i64,
    pub height: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ParcelView {
    pub id: Uuid,
    pub parcel_number: String,
    pub merchant_id: Uuid,
    pub network_id: Uuid,
    pub point_id: Uuid,
    /// `announced`, `in_transit`, `ready_for_pickup`, `collected`, `deposit_failed`, `expired`,
    /// `returning`, `returned_to_sender`, `cancelled` or `incident`.
    pub state: &'static str,
    /// With `incident`: `lost`, `damaged` or `refused`.
    pub incident: Option<&'static str>,
    pub recipient: RecipientWire,
    pub dimensions_mm: DimensionsWire,
    pub weight_g: u32,
    pub compartment_id: Option<Uuid>,
    pub deposited_at: Option<DateTime<Utc>>,
    pub pickup_deadline: Option<DateTime<Utc>>,
    pub extensions_used: u32,
    /// While an overflow parcel waits at a temporary point: the point the recipient chose.
    pub relocated_from: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<&Parcel> for ParcelView {
    fn from(p: &Parcel) -> Self {
        ParcelView {
            id: p.id.uuid(),
            parcel_number: p.number.as_str().to_owned(),
            merchant_id: p.merchant_id.uuid(),
            network_id: p.network_id.uuid(),
            point_id: p.point_id.uuid(),
            state: p.state.as_str(),
            incident: p.state.incident_kind().map(|k| k.as_str()),
            recipient: RecipientWire {
                name: p.recipient.name.clone(),
                phone: p.recipient.phone.as_ref().map(|v| v.as_str().to_owned()),
                email: p.recipient.email.as_ref().map(|v| v.as_str().to_owned()),
            },
            dimensions_mm: DimensionsWire {
                length: i64::from(p.dimensions.length_mm()),
                width: i64::from(p.dimensions.width_mm()),
                height: i64::from(p.dimensions.height_mm()),
            },
            weight_g: p.weight.grams(),
            compartment_id: p.compartment_id.map(|c| c.uuid()),
            deposited_at: p.deposited_at,
            pickup_deadline: p.pickup_deadline,
            extensions_used: p.extensions_used,
            relocated_from: p.relocated_from.map(|r| r.uuid()),
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AnnounceResponse {
    pub parcel: ParcelView,
    /// The recipient's pickup code: returned once, here, and stored only as a keyed digest.
    #[schema(example = "48213077")]
    pub pickup_code: String,
    /// The QR token for contactless pickup: returned once, here.
    pub qr_token: String,
    /// At a locker: the compartment soft-reserved until the parcel arrives.
    pub reservation: Option<CompartmentView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DepositResponse {
    pub parcel: ParcelView,
    /// `deposited` or `deposit_failed`.
    pub outcome: &'static str,
    /// At a locker, the door to open.
    pub compartment: Option<CompartmentView>,
    /// With `deposit_failed`: `too_large`, `too_heavy`, `all_fitting_compartments_busy`, `shelf_full`,
    /// `point_unavailable`.
    pub reason: Option<&'static str>,
    pub message: Option<&'static str>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PickupRequest {
    /// The digits the recipient types.
    pub code: Option<String>,
    /// Or the token of the recipient's QR code.
    pub qr_token: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HandOverRequest {
    pub code: String,
    /// Required at a staffed point (counter, post office, store, hub).
    pub identity: Option<IdentityWire>,
}

/// What the staff checked before handing a parcel over.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IdentityWire {
    /// `id_card`, `passport`, `driving_licence`, `residence_permit` or `other`.
    pub document: String,
    /// The name on the document is the recipient's.
    pub name_matches: bool,
    /// The last 4 letters or digits of the document's number (kept as evidence).
    pub number_last4: Option<String>,
}

impl IdentityWire {
    pub fn check(&self) -> relais_app::counters::IdentityCheck {
        relais_app::counters::IdentityCheck {
            document: self.document.clone(),
            name_matches: self.name_matches,
            number_last4: self.number_last4.clone(),
        }
    }
}

/// A counter scans in a parcel by the number on its label.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScanInRequest {
    pub parcel_number: String,
}

/// A counter hands a parcel over: its number, the recipient's code, the identity check.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CounterHandOverRequest {
    pub parcel_number: String,
    pub code: String,
    pub identity: IdentityWire,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PickupResponse {
    pub parcel: ParcelView,
    /// At a locker, the door to open.
    pub compartment: Option<CompartmentView>,
    /// The recipient's other parcels that shared that door: it opens on them too, so they are collected
    /// with this one (take them all).
    pub shared: Vec<ParcelView>,
}

impl From<&relais_app::parcels::Collected> for PickupResponse {
    fn from(collected: &relais_app::parcels::Collected) -> Self {
        PickupResponse {
            parcel: ParcelView::from(&collected.parcel),
            compartment: collected.compartment.as_ref().map(CompartmentView::from),
            shared: collected.shared.iter().map(ParcelView::from).collect(),
        }
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonRequest {
    pub reason: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IncidentRequest {
    /// `lost`, `damaged` or `refused`.
    pub kind: String,
    pub reason: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventView {
    pub seq: i64,
    pub event: &'static str,
    pub from: Option<&'static str>,
    pub to: &'static str,
    pub incident: Option<&'static str>,
    pub actor: &'static str,
    pub reason: Option<String>,
    pub compartment_id: Option<Uuid>,
    pub at: DateTime<Utc>,
}

impl From<&StoredEvent> for EventView {
    fn from(s: &StoredEvent) -> Self {
        let e = &s.event;
        EventView {
            seq: s.seq,
            event: e.kind.as_str(),
            from: e.from.map(|f| f.as_str()),
            to: e.to.as_str(),
            incident: e.to.incident_kind().map(|k| k.as_str()),
            actor: e.actor.kind.as_str(),
            reason: e.reason.clone(),
            compartment_id: e.compartment_id.map(|c| c.uuid()),
            at: e.at,
        }
    }
}

/// One page of a list. Pass `next_cursor` as `after` to get the next page; `null` means the end.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T: ToSchema> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// An operator's forced expiry: the reason is required (it is kept on the event).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ForceExpiryRequest {
    #[schema(example = "point closing for good on 30 November")]
    pub reason: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// The `next_cursor` of the previous page.
    pub after: Option<Uuid>,
    /// 1 to 500, default 50.
    pub limit: Option<u32>,
    pub network_id: Option<Uuid>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ParcelListQuery {
    pub after: Option<Uuid>,
    pub limit: Option<u32>,
    pub state: Option<String>,
    pub point_id: Option<Uuid>,
    /// Operators and carriers only; a merchant always sees its own parcels.
    pub merchant_id: Option<Uuid>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SweepResponse {
    pub expired: u32,
    pub reservations_released: u32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    pub status: &'static str,
    pub backend: Option<&'static str>,
}
