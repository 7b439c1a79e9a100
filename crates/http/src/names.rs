//! The names the API gives to the domain's enumerations (a parcel's state, a point's kind, a door's
//! fault...). Each has a wire type of the same name here that writes and reads a value by its name and
//! is described in the OpenAPI document as an `enum` of every name, taken from the domain's own list:
//! the document cannot drift from what the API answers, and a generated client knows every value.

use std::borrow::Cow;

use relais_app::ports;
use relais_domain::ids::Id;
use relais_domain::{compartment, dropoff, parcel, point, value};
use relais_registry::formats;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::{PartialSchema, ToSchema};

/// Defines the wire type of a domain enumeration: a newtype of the same name that writes and reads the
/// value by its name, described in the document as an `enum` of every name the domain lists.
macro_rules! named {
    ($wire:ident, $domain:ty, $about:literal, $all:expr, $name:expr) => {
        #[doc = $about]
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub struct $wire(pub $domain);

        impl $wire {
            /// Every value, each with its own name.
            pub fn all() -> Vec<$domain> {
                $all.into_iter().collect()
            }

            pub fn name(self) -> &'static str {
                $name(self.0)
            }

            pub fn names() -> Vec<&'static str> {
                Self::all().into_iter().map(|v| $wire(v).name()).collect()
            }

            /// The schema, for a request field kept as text (the use case reads it and names the field
            /// at fault).
            pub fn doc() -> RefOr<Schema> {
                <$wire as PartialSchema>::schema()
            }
        }

        impl From<$domain> for $wire {
            fn from(value: $domain) -> Self {
                $wire(value)
            }
        }

        impl Serialize for $wire {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.name())
            }
        }

        impl<'de> Deserialize<'de> for $wire {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = Cow::<str>::deserialize(deserializer)?;
                Self::all().into_iter().map($wire).find(|v| v.name() == text).ok_or_else(|| {
                    let shown: String = text.chars().take(40).collect();
                    D::Error::custom(format!("{shown:?} is not one of {}", Self::names().join(", ")))
                })
            }
        }

        impl PartialSchema for $wire {
            fn schema() -> RefOr<Schema> {
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .enum_values(Some(Self::names()))
                    .description(Some($about))
                    .into()
            }
        }

        impl ToSchema for $wire {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed(stringify!($wire))
            }
        }
    };
}

named!(Role, relais_app::Role, "What an API key may do.", relais_app::Role::ALL, relais_app::Role::as_str);
named!(PointKind, point::PointKind, "What kind of pickup point.", point::PointKind::ALL, point::PointKind::as_str);
named!(
    PointStatus,
    point::PointStatus,
    "Whether the point takes parcels.",
    point::PointStatus::ALL,
    point::PointStatus::as_str
);
named!(
    ParcelState,
    parcel::ParcelState,
    "Where the parcel is in its life; an `incident` says its kind beside it.",
    // One value per name: the incident kinds are told apart by `incident`.
    parcel::ParcelState::ALL
        .into_iter()
        .filter(|s| !matches!(s, parcel::ParcelState::Incident(k) if *k != parcel::IncidentKind::Lost)),
    parcel::ParcelState::as_str
);
named!(
    IncidentKind,
    parcel::IncidentKind,
    "What happened to the parcel.",
    parcel::IncidentKind::ALL,
    parcel::IncidentKind::as_str
);
named!(
    EventKind,
    parcel::EventKind,
    "What happened to a parcel (`parcel.<event>` in the outbox).",
    parcel::EventKind::ALL,
    parcel::EventKind::as_str
);
named!(ActorKind, parcel::ActorKind, "Who made it happen.", parcel::ActorKind::ALL, parcel::ActorKind::as_str);
named!(
    SizeClass,
    value::SizeClass,
    "A compartment's size class (inner dimensions A to D).",
    value::SizeClass::ALL,
    value::SizeClass::as_str
);
named!(
    DoorFault,
    compartment::DoorFault,
    "What is wrong with a door.",
    compartment::DoorFault::ALL,
    compartment::DoorFault::as_str
);
named!(
    DoorRefusal,
    dropoff::DoorRefusal,
    "Why the courier could not use the door relais opened.",
    dropoff::DoorRefusal::ALL,
    dropoff::DoorRefusal::as_str
);
named!(
    DoorReport,
    dropoff::DoorReport,
    "What a locker reports about a door.",
    dropoff::DoorReport::ALL,
    dropoff::DoorReport::as_str
);
named!(
    DoorState,
    dropoff::DoorState,
    "A door's state as the locker's heartbeat reports it.",
    dropoff::DoorState::ALL,
    dropoff::DoorState::as_str
);
named!(
    SessionPurpose,
    dropoff::SessionPurpose,
    "What a courier came to the locker for.",
    [dropoff::SessionPurpose::DropOff, dropoff::SessionPurpose::ReturnCollection],
    dropoff::SessionPurpose::as_str
);
named!(
    ItemState,
    dropoff::ItemState,
    "Where a scanned parcel stands in its session.",
    dropoff::ItemState::ALL,
    dropoff::ItemState::as_str
);
named!(
    CommandPurpose,
    dropoff::CommandPurpose,
    "Why relais orders a door open.",
    dropoff::CommandPurpose::ALL,
    dropoff::CommandPurpose::as_str
);
named!(
    CommandState,
    dropoff::CommandState,
    "Where a door command stands.",
    dropoff::CommandState::ALL,
    dropoff::CommandState::as_str
);
named!(
    ImportStatus,
    ports::ImportStatus,
    "What became of an import.",
    ports::ImportStatus::ALL,
    ports::ImportStatus::as_str
);
named!(
    ChangeKind,
    ports::ChangeKind,
    "How an import or the API changed a point.",
    ports::ChangeKind::ALL,
    ports::ChangeKind::as_str
);
named!(
    AuditAction,
    ports::AuditAction,
    "What an audit entry records.",
    ports::AuditAction::ALL,
    ports::AuditAction::as_str
);
named!(
    ImportFormat,
    formats::Format,
    "The format of an operator's point file.",
    formats::Format::ALL,
    formats::Format::as_str
);
named!(
    Encoding,
    formats::Encoding,
    "The character encoding of a point file.",
    formats::Encoding::ALL,
    formats::Encoding::as_str
);
named!(
    NoFitReason,
    compartment::NoFit,
    "Why no compartment or shelf slot takes the parcel.",
    [
        compartment::NoFit::TooLarge,
        compartment::NoFit::TooHeavy,
        compartment::NoFit::AllFittingBusy,
        compartment::NoFit::ShelfFull,
        compartment::NoFit::PointUnavailable
    ],
    compartment::NoFit::as_str
);
named!(
    CompartmentState,
    compartment::CompartmentState,
    "A compartment's state.",
    [
        compartment::CompartmentState::Available,
        compartment::CompartmentState::Reserved { parcel_id: Id::default(), expires_at: None },
        compartment::CompartmentState::Occupied { parcel_id: Id::default() },
        compartment::CompartmentState::OutOfService,
        compartment::CompartmentState::Disabled,
    ],
    |state: compartment::CompartmentState| state.name()
);

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn names_read_back_and_unknown_ones_are_refused_with_the_list() {
        for kind in PointKind::all() {
            let json = serde_json::to_string(&PointKind(kind)).unwrap();
            assert_eq!(serde_json::from_str::<PointKind>(&json).unwrap(), PointKind(kind));
        }
        let error = serde_json::from_str::<PointKind>("\"castle\"").unwrap_err().to_string();
        assert!(error.contains("\"castle\" is not one of locker, counter, hub, store, post_office"), "{error}");
        assert_eq!(ParcelState::names().len(), 10, "one `incident`");
        let schema = serde_json::to_value(SizeClass::schema()).unwrap();
        assert_eq!(schema["enum"], serde_json::json!(["A", "B", "C", "D"]));
    }
}
named!(
    Channel,
    relais_domain::delivery::Channel,
    "How a message leaves relais.",
    relais_domain::delivery::Channel::ALL,
    relais_domain::delivery::Channel::as_str
);
named!(
    DeliveryState,
    relais_domain::delivery::DeliveryState,
    "Where a message is: `pending` (to send, now or at `next_attempt_at`), `delivered` (a provider took it), `dead` (given up on, with its last error).",
    relais_domain::delivery::DeliveryState::ALL,
    relais_domain::delivery::DeliveryState::as_str
);
