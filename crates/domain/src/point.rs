//! A pickup point: where parcels wait for recipients. Lockers and hubs hold parcels in compartments;
//! counters, stores and post offices on a shelf with a number of slots (`shelf_capacity`).

use crate::Timestamp;
use crate::ids::{NetworkId, PointId};
use crate::value::{Coordinates, Dimensions, ParseError, Weight, parse_text};
pub use relais_hours::{Closure, OpeningHours};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PointKind {
    Locker,
    Counter,
    Hub,
    Store,
    PostOffice,
}

impl PointKind {
    pub const ALL: [PointKind; 5] =
        [PointKind::Locker, PointKind::Counter, PointKind::Hub, PointKind::Store, PointKind::PostOffice];

    pub fn parse(input: &str) -> Result<Self, ParseError> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.as_str() == input)
            .ok_or_else(|| ParseError::new("kind", "must be one of locker, counter, hub, store, post_office"))
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            PointKind::Locker => "locker",
            PointKind::Counter => "counter",
            PointKind::Hub => "hub",
            PointKind::Store => "store",
            PointKind::PostOffice => "post_office",
        }
    }

    /// Lockers and hubs keep parcels behind doors; the other kinds keep them on a staffed shelf.
    pub const fn has_compartments(self) -> bool {
        match self {
            PointKind::Locker | PointKind::Hub => true,
            PointKind::Counter | PointKind::Store | PointKind::PostOffice => false,
        }
    }
}

/// Status of a point (for a locker, of its device).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PointStatus {
    Active,
    Inactive,
    Maintenance,
    Decommissioned,
}

impl PointStatus {
    pub const ALL: [PointStatus; 4] =
        [PointStatus::Active, PointStatus::Inactive, PointStatus::Maintenance, PointStatus::Decommissioned];

    pub fn parse(input: &str) -> Result<Self, ParseError> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == input)
            .ok_or_else(|| ParseError::new("status", "must be one of active, inactive, maintenance, decommissioned"))
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            PointStatus::Active => "active",
            PointStatus::Inactive => "inactive",
            PointStatus::Maintenance => "maintenance",
            PointStatus::Decommissioned => "decommissioned",
        }
    }
}

/// What a point does besides handing parcels to recipients. A small set kept as bits: search filters on
/// it for every candidate point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Services(u8);

impl Services {
    /// Recipients collect parcels here (every pickup point).
    pub const COLLECT: Services = Services(1);
    /// Senders drop parcels to ship (consumer-to-consumer, merchants without pickup).
    pub const SEND: Services = Services(2);
    /// Recipients drop returns.
    pub const RETURN: Services = Services(4);
    /// The counter takes payment on collection.
    pub const CASH_ON_DELIVERY: Services = Services(8);
    const NAMES: [(Services, &'static str); 4] = [
        (Services::COLLECT, "collect"),
        (Services::SEND, "send"),
        (Services::RETURN, "return"),
        (Services::CASH_ON_DELIVERY, "cash_on_delivery"),
    ];

    pub const fn empty() -> Self {
        Services(0)
    }

    pub const fn union(self, other: Services) -> Self {
        Services(self.0 | other.0)
    }

    pub const fn contains(self, other: Services) -> bool {
        self.0 & other.0 == other.0
    }

    pub const fn bits(self) -> u8 {
        self.0
    }

    /// A comma-separated list such as `collect,return` (the stored and wire form); empty = none.
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        let mut services = Services::empty();
        for name in input.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let (service, _) = Self::NAMES.iter().find(|(_, n)| *n == name).ok_or_else(|| {
                ParseError::new("services", format!("{name:?} is not one of collect, send, return, cash_on_delivery"))
            })?;
            services = services.union(*service);
        }
        Ok(services)
    }

    pub fn names(self) -> Vec<&'static str> {
        Self::NAMES.iter().filter(|(s, _)| self.contains(*s)).map(|(_, n)| *n).collect()
    }
}

impl std::fmt::Display for Services {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.names().join(","))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Address {
    pub line1: String,
    pub line2: Option<String>,
    pub postcode: String,
    pub city: String,
    /// ISO 3166-1 alpha-2, upper case.
    pub country: String,
}

impl Address {
    pub const LINE_LENGTH_MAX: usize = 200;

    pub fn parse(
        line1: &str,
        line2: Option<&str>,
        postcode: &str,
        city: &str,
        country: &str,
    ) -> Result<Self, ParseError> {
        let country = country.trim().to_ascii_uppercase();
        if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(ParseError::new("country", "must be a two-letter ISO 3166 code such as FR"));
        }
        Ok(Address {
            line1: parse_text("address_line1", line1, Self::LINE_LENGTH_MAX)?,
            line2: line2
                .filter(|l| !l.trim().is_empty())
                .map(|l| parse_text("address_line2", l, Self::LINE_LENGTH_MAX))
                .transpose()?,
            postcode: parse_text("postcode", postcode, 16)?,
            city: parse_text("city", city, 120)?,
            country,
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct PickupPoint {
    pub id: PointId,
    pub network_id: NetworkId,
    /// The operator's own id for the point (unique within its network).
    pub external_id: String,
    pub kind: PointKind,
    pub name: String,
    pub address: Address,
    pub coordinates: Coordinates,
    /// IANA time zone name, e.g. `Europe/Paris`.
    pub timezone: String,
    pub status: PointStatus,
    /// Parcel slots on the shelf of a staffed point; 0 for lockers and hubs.
    pub shelf_capacity: u32,
    /// Parcels on the shelf now (deposited, not yet collected or taken back). Kept beside the capacity so
    /// that a deposit can check and take a slot in one conditional write.
    pub shelf_occupied: u32,
    /// Heaviest parcel accepted. Lockers: 25 kg; Mondial Relay counters: 30 kg.
    pub weight_max: Weight,
    /// Largest sum length + width + height accepted at a shelf point (Mondial Relay: 150 cm).
    pub dimensions_sum_mm_max: u32,
    /// Opening hours in the OpenStreetMap syntax; `None` when the operator did not say.
    pub opening_hours: Option<OpeningHours>,
    /// Days the point is closed whatever its hours say (the shop's holidays, works), in date order.
    pub closures: Vec<Closure>,
    pub services: Services,
    /// Where the record comes from: `api`, or the import format and file (`import:mondial_relay:...`).
    pub source: String,
    pub created_at: Timestamp,
    /// Last change of the registry fields (not of the shelf occupancy).
    pub updated_at: Timestamp,
    pub version: i64,
}

impl PickupPoint {
    pub const SHELF_CAPACITY_MAX: u32 = 10_000;

    /// Whether the point accepts new parcels at all.
    pub fn accepts_parcels(&self) -> bool {
        match self.status {
            PointStatus::Active => true,
            PointStatus::Inactive | PointStatus::Maintenance | PointStatus::Decommissioned => false,
        }
    }

    /// Why a parcel of this size and weight cannot be held on this point's shelf, if it cannot.
    pub fn shelf_refusal(&self, dimensions: Dimensions, weight: Weight) -> Option<crate::compartment::NoFit> {
        use crate::compartment::NoFit;
        if weight > self.weight_max {
            Some(NoFit::TooHeavy)
        } else if dimensions.sum_mm() > self.dimensions_sum_mm_max {
            Some(NoFit::TooLarge)
        } else {
            None
        }
    }

    pub fn shelf_has_room(&self) -> bool {
        self.shelf_occupied < self.shelf_capacity
    }

    /// A parcel deposited on the shelf takes a slot, or the shelf is full.
    pub fn take_shelf_slot(&self) -> Result<PickupPoint, crate::compartment::NoFit> {
        if !self.shelf_has_room() {
            return Err(crate::compartment::NoFit::ShelfFull);
        }
        Ok(PickupPoint { shelf_occupied: self.shelf_occupied + 1, ..self.clone() })
    }

    /// A parcel leaves the shelf (collected, taken back, lost): its slot is free again.
    pub fn release_shelf_slot(&self) -> PickupPoint {
        PickupPoint { shelf_occupied: self.shelf_occupied.saturating_sub(1), ..self.clone() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_statuses_round_trip() {
        for kind in PointKind::ALL {
            assert_eq!(PointKind::parse(kind.as_str()), Ok(kind));
        }
        for status in PointStatus::ALL {
            assert_eq!(PointStatus::parse(status.as_str()), Ok(status));
        }
        assert!(PointKind::parse("Locker").is_err());
        assert!(PointStatus::parse("").is_err());
    }

    #[test]
    fn services() {
        let s = Services::parse("collect, return").unwrap();
        assert!(s.contains(Services::COLLECT) && s.contains(Services::RETURN) && !s.contains(Services::SEND));
        assert_eq!(s.to_string(), "collect,return");
        assert_eq!(Services::parse("").unwrap(), Services::empty());
        assert_eq!(Services::parse("collect,teleport").unwrap_err().field, "services");
        assert!(s.contains(Services::empty()));
    }

    #[test]
    fn addresses() {
        let a = Address::parse("1 rue de la Paix", Some("  "), "75002", "Paris", "fr").unwrap();
        assert_eq!(a.country, "FR");
        assert_eq!(a.line2, None);
        assert_eq!(Address::parse("x", None, "1", "P", "FRA").unwrap_err().field, "country");
        assert_eq!(Address::parse(" ", None, "1", "P", "FR").unwrap_err().field, "address_line1");
    }
}
