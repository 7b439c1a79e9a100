//! Typed identifiers. Every entity id is a UUID (version 7: time-ordered, so B-tree inserts stay local);
//! the type parameter stops a parcel id from being passed where a point id is expected.
//! The id is made by the app layer from the clock and the random source (see docs/adr/0002-ids.md).

use std::fmt;
use std::hash::{Hash, Hasher};
use std::marker::PhantomData;
use std::str::FromStr;

use uuid::Uuid;

/// The id of an entity of type `T`.
pub struct Id<T> {
    uuid: Uuid,
    entity: PhantomData<fn() -> T>,
}

impl<T> Id<T> {
    pub const fn from_uuid(uuid: Uuid) -> Self {
        Id { uuid, entity: PhantomData }
    }

    /// Builds a version-7 UUID from a millisecond Unix time and 10 random bytes.
    pub fn from_parts(unix_ms: u64, random: [u8; 10]) -> Self {
        Self::from_uuid(uuid::Builder::from_unix_timestamp_millis(unix_ms, &random).into_uuid())
    }

    pub const fn uuid(&self) -> Uuid {
        self.uuid
    }

    pub fn as_bytes(&self) -> &[u8; 16] {
        self.uuid.as_bytes()
    }

    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        Uuid::from_slice(bytes).ok().map(Self::from_uuid)
    }
}

// Manual impls: a derive would wrongly require `T: Clone`, `T: Eq`... of the marker types.
impl<T> Clone for Id<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Id<T> {}
impl<T> PartialEq for Id<T> {
    fn eq(&self, other: &Self) -> bool {
        self.uuid == other.uuid
    }
}
impl<T> Eq for Id<T> {}
impl<T> PartialOrd for Id<T> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl<T> Ord for Id<T> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.uuid.cmp(&other.uuid)
    }
}
/// The nil id: a placeholder that names nothing (records not yet attached to their network).
impl<T> Default for Id<T> {
    fn default() -> Self {
        Id::from_uuid(Uuid::nil())
    }
}
impl<T> Hash for Id<T> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.uuid.hash(state)
    }
}
impl<T> fmt::Debug for Id<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.uuid)
    }
}
impl<T> fmt::Display for Id<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.uuid.fmt(f)
    }
}
impl<T> FromStr for Id<T> {
    type Err = crate::value::ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(s).map(Self::from_uuid).map_err(|_| crate::value::ParseError::new("id", "is not a UUID"))
    }
}

/// Marker types for ids of entities that have no domain struct of their own here.
pub enum MerchantMarker {}
pub enum EventMarker {}
pub enum ApiKeyMarker {}
pub enum OutboxMarker {}
pub enum ImportMarker {}
pub enum CarrierMarker {}
pub enum LeaseMarker {}

pub type NetworkId = Id<crate::network::Network>;
pub type PointId = Id<crate::point::PickupPoint>;
pub type CompartmentId = Id<crate::compartment::Compartment>;
pub type ParcelId = Id<crate::parcel::Parcel>;
pub type MerchantId = Id<MerchantMarker>;
pub type EventId = Id<EventMarker>;
pub type ApiKeyId = Id<ApiKeyMarker>;
pub type OutboxId = Id<OutboxMarker>;
pub type ImportId = Id<ImportMarker>;
pub type CarrierId = Id<CarrierMarker>;
pub type DropOffSessionId = Id<crate::dropoff::DropOffSession>;
pub type CommandId = Id<crate::dropoff::DoorCommand>;
pub type DeliveryId = Id<crate::delivery::Delivery>;
pub type EndpointId = Id<crate::delivery::Endpoint>;
pub type OrderId = Id<crate::order::Order>;
pub type ClaimId = Id<crate::claims::Claim>;
pub type ConsoleAccountId = Id<crate::console::ConsoleAccount>;
/// Names one claim of a worker: the rows it leased in one go.
pub type LeaseId = Id<LeaseMarker>;
