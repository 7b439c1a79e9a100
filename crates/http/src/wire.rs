//! The wire types several capabilities share: a point, a compartment, a parcel, a deposit's and a
//! pickup's outcome, a page of a list. Each capability's own requests and answers live beside its
//! handlers. Wire types are kept apart from domain types so that the domain can change shape without
//! breaking clients (and so the domain needs no serde); requests refuse unknown fields, so a typo is an
//! error rather than a silently ignored value.

use chrono::{DateTime, Utc};
use relais_domain::compartment::{Compartment, CompartmentState, NoFit};
use relais_domain::parcel::Parcel;
use relais_domain::point::PickupPoint;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::names;

#[derive(Debug, Serialize, ToSchema)]
pub struct PointView {
    pub id: Uuid,
    pub network_id: Uuid,
    pub external_id: String,
    pub kind: names::PointKind,
    pub name: String,
    pub address_line1: String,
    pub address_line2: Option<String>,
    pub postcode: String,
    pub city: String,
    pub country: String,
    pub latitude: f64,
    pub longitude: f64,
    pub timezone: String,
    pub status: names::PointStatus,
    pub shelf_capacity: u32,
    pub shelf_occupied: u32,
    pub weight_max_g: u32,
    /// Canonical `opening_hours` value; absent when not known.
    pub opening_hours: Option<String>,
    pub closures: Vec<ClosureView>,
    /// Among `collect`, `send`, `return`, `cash_on_delivery`.
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

/// Days a point is closed whatever its hours say, both included.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClosureView {
    pub first: chrono::NaiveDate,
    pub last: chrono::NaiveDate,
}

impl PointView {
    pub fn new(p: &PickupPoint, compartments: Option<&[Compartment]>) -> Self {
        PointView {
            id: p.id.uuid(),
            network_id: p.network_id.uuid(),
            external_id: p.external_id.clone(),
            kind: p.kind.into(),
            name: p.name.clone(),
            address_line1: p.address.line1.clone(),
            address_line2: p.address.line2.clone(),
            postcode: p.address.postcode.clone(),
            city: p.address.city.clone(),
            country: p.address.country.clone(),
            latitude: p.coordinates.latitude(),
            longitude: p.coordinates.longitude(),
            timezone: p.timezone.clone(),
            status: p.status.into(),
            shelf_capacity: p.shelf_capacity,
            shelf_occupied: p.shelf_occupied,
            weight_max_g: p.weight_max.grams(),
            opening_hours: p.opening_hours.as_ref().map(|h| h.as_str().to_owned()),
            closures: p.closures.iter().map(|c| ClosureView { first: c.first, last: c.last }).collect(),
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
    /// The label on the door.
    pub label: String,
    pub size: names::SizeClass,
    pub state: names::CompartmentState,
    /// Until when a soft reservation holds.
    pub reserved_until: Option<DateTime<Utc>>,
    /// What is wrong with the door.
    pub fault: Option<names::DoorFault>,
    /// How many parcels are behind the door: more than one when parcels of one recipient share it,
    /// none while it is only reserved.
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
            size: c.size.into(),
            state: c.state.into(),
            reserved_until,
            fault: c.fault.map(names::DoorFault),
            parcels: c.inside().len(),
        }
    }
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecipientWire {
    #[schema(min_length = 1, max_length = 120, example = "Camille Martin")]
    pub name: String,
    /// E.164.
    #[schema(example = "+33612345678")]
    pub phone: Option<String>,
    #[schema(example = "camille@example.org", max_length = 254)]
    pub email: Option<String>,
    /// The language of the recipient's messages: `fr` or `en` (a regional tag such as `fr-BE` is read
    /// as its language). Absent: the language of the point's country (French in France, Belgium,
    /// Luxembourg, Monaco and Switzerland; English elsewhere).
    #[schema(example = "fr", max_length = 16)]
    pub language: Option<String>,
}

/// Outer dimensions, in millimetres (1 to 3,000 each).
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DimensionsWire {
    #[schema(minimum = 1, maximum = 3000, example = 300)]
    pub length: i64,
    #[schema(minimum = 1, maximum = 3000, example = 200)]
    pub width: i64,
    #[schema(minimum = 1, maximum = 3000, example = 100)]
    pub height: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ParcelView {
    pub id: Uuid,
    pub parcel_number: String,
    pub merchant_id: Uuid,
    /// The carrier the merchant handed it to; absent: the carriers serving its network.
    pub carrier_id: Option<Uuid>,
    pub network_id: Uuid,
    pub point_id: Uuid,
    pub state: names::ParcelState,
    /// With the `incident` state: what happened.
    pub incident: Option<names::IncidentKind>,
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
            carrier_id: p.carrier_id.map(|c| c.uuid()),
            network_id: p.network_id.uuid(),
            point_id: p.point_id.uuid(),
            state: p.state.into(),
            incident: p.state.incident_kind().map(names::IncidentKind),
            recipient: RecipientWire {
                name: p.recipient.name.clone(),
                phone: p.recipient.phone.as_ref().map(|v| v.as_str().to_owned()),
                email: p.recipient.email.as_ref().map(|v| v.as_str().to_owned()),
                language: Some(p.recipient.language.as_str().to_owned()),
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

/// Whether the parcel went in.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DepositOutcomeName {
    Deposited,
    DepositFailed,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DepositResponse {
    pub parcel: ParcelView,
    pub outcome: DepositOutcomeName,
    /// At a locker, the door to open.
    pub compartment: Option<CompartmentView>,
    /// With `deposit_failed`: why.
    pub reason: Option<names::NoFitReason>,
    /// With `deposit_failed`: what to tell the courier.
    pub message: Option<&'static str>,
}

impl DepositResponse {
    pub fn new(outcome: relais_app::parcels::DepositOutcome) -> Self {
        let relais_app::parcels::DepositOutcome { parcel, compartment, failure } = outcome;
        DepositResponse {
            parcel: ParcelView::from(&parcel),
            outcome: if failure.is_some() { DepositOutcomeName::DepositFailed } else { DepositOutcomeName::Deposited },
            compartment: compartment.as_ref().map(CompartmentView::from),
            reason: failure.map(names::NoFitReason),
            message: failure.map(NoFit::message),
        }
    }
}

/// What the staff checked before handing a parcel over.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IdentityWire {
    /// `id_card`, `passport`, `driving_licence`, `residence_permit` or `other`.
    #[schema(example = "id_card")]
    pub document: String,
    /// The name on the document is the recipient's.
    pub name_matches: bool,
    /// The last 4 letters or digits of the document's number (kept as evidence).
    #[schema(example = "4821", max_length = 4)]
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

/// One page of a list. Pass `next_cursor` as `after` to get the next page; `null` means the end.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T: ToSchema> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// A page with a cursor when it is full (there may be more).
pub(crate) fn page<T: ToSchema>(items: Vec<T>, limit: u32, id: impl Fn(&T) -> Uuid) -> Page<T> {
    let next_cursor = if items.len() as u32 == limit { items.last().map(|i| id(i).to_string()) } else { None };
    Page { items, next_cursor }
}

/// Which page of a list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    /// The `next_cursor` of the previous page.
    pub after: Option<Uuid>,
    /// 1 to 500, default 50.
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
}

/// Which page of a list of points, optionally of one network.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// The `next_cursor` of the previous page.
    pub after: Option<Uuid>,
    /// 1 to 500, default 50.
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    /// Only the points of this network.
    pub network_id: Option<Uuid>,
}
