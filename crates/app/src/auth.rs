//! Who may do what. Every use case receives a `Caller` and asks it for permission before touching
//! anything; the HTTP layer only turns an API key into a caller. A merchant only ever sees its own
//! parcels, a locker device only its own point.

use relais_domain::Timestamp;
use relais_domain::ids::{ApiKeyId, CarrierId, MerchantId, NetworkId, PointId};
use relais_domain::parcel::{Actor, ActorKind, Parcel};

use crate::error::AppError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Runs the network: everything.
    Operator,
    /// Announces, reads and cancels its own parcels.
    Merchant,
    /// Scans, deposits, takes expired parcels back.
    Carrier,
    /// The controller of one point (a locker, or a counter's terminal): pickups at that point.
    LockerDevice,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Operator, Role::Merchant, Role::Carrier, Role::LockerDevice];

    pub const fn as_str(self) -> &'static str {
        match self {
            Role::Operator => "operator",
            Role::Merchant => "merchant",
            Role::Carrier => "carrier",
            Role::LockerDevice => "locker_device",
        }
    }

    pub fn parse(input: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == input)
    }
}

/// A stored API key: the secret itself is only ever shown once, at creation; this keeps its digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    pub id: ApiKeyId,
    pub role: Role,
    /// Set for merchant keys: whose parcels.
    pub merchant_id: Option<MerchantId>,
    /// Set for locker device keys: which point.
    pub point_id: Option<PointId>,
    /// Set for carrier keys: which carrier.
    pub carrier_id: Option<CarrierId>,
    pub label: String,
    pub digest: [u8; 32],
    pub created_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
}

impl ApiKey {
    pub const LABEL_LENGTH_MAX: usize = 120;
}

/// The authenticated party of a request, a CLI command or a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub role: Role,
    pub key_id: Option<ApiKeyId>,
    pub merchant_id: Option<MerchantId>,
    pub point_id: Option<PointId>,
    pub carrier_id: Option<CarrierId>,
    /// A carrier's: the networks it serves (what it handles when a merchant named no carrier).
    pub networks: Vec<NetworkId>,
    /// Someone signed in to the console: events and the audit log name their account.
    pub console_account: Option<relais_domain::ids::ConsoleAccountId>,
}

/// What a caller wants to do; the check is in one place (`Caller::require`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    ManageNetwork,
    ReadNetwork,
    AnnounceParcel,
    HandleParcel,
    ReturnParcel,
    PickupAt(PointId),
    ExtendParcel,
    CancelParcel,
    /// Replace a lost pickup code: the merchant (whose customer lost it) and operators.
    ReissueCode,
    ReportIncident,
    RunJobs,
    /// The network's KPIs: operators only.
    ReadKpis,
    /// Operator actions on a parcel (force expiry): operators only.
    OperateParcel,
    /// Open a courier drop-off session and deposit through it at this point: the point's own locker
    /// device (the courier types the code on its screen) or a carrier's handheld.
    DropOffAt(PointId),
    /// Report door events and heartbeats, fetch door commands: the point's own device.
    DeviceOf(PointId),
    /// Operator actions on a locker (remote door opening, repair): operators only.
    OperateLocker,
    /// What a point's operation shows (its device's last heartbeat, its history): operators and the
    /// point's own device.
    ReadPointOperation(PointId),
    /// Webhook endpoints: a merchant its own, operators theirs and any merchant's.
    ManageEndpoints,
    /// A parcel's messages (channel, state, attempts, the provider's answer): operators, and the
    /// merchant of a parcel it sees.
    ReadMessages,
    /// Send a message again: operators.
    ResendMessages,
    /// Edit the recipients' message templates: operators.
    ManageTemplates,
    /// Print a parcel's label: its merchant, the carrier handling it (a depot relabels a damaged one),
    /// operators.
    PrintLabel,
    /// Claims against carriers (late, lost, damaged): the merchant its own, operators all.
    ManageClaims,
}

impl Caller {
    /// The platform itself (jobs, CLI): an operator without a key.
    pub fn system() -> Caller {
        Caller {
            role: Role::Operator,
            key_id: None,
            merchant_id: None,
            point_id: None,
            carrier_id: None,
            networks: Vec::new(),
            console_account: None,
        }
    }

    /// The caller behind a key; `networks` are its carrier's (empty for other roles).
    pub fn from_key(key: &ApiKey, networks: Vec<NetworkId>) -> Caller {
        Caller {
            role: key.role,
            key_id: Some(key.id),
            merchant_id: key.merchant_id,
            point_id: key.point_id,
            carrier_id: key.carrier_id,
            networks,
            console_account: None,
        }
    }

    /// A merchant's own key (benchmarks and tests acting as a merchant without a stored key).
    pub fn merchant(merchant_id: MerchantId) -> Caller {
        Caller { role: Role::Merchant, merchant_id: Some(merchant_id), ..Caller::system() }
    }

    /// A carrier serving `networks` (benchmarks and tests).
    pub fn carrier(carrier_id: CarrierId, networks: Vec<NetworkId>) -> Caller {
        Caller { role: Role::Carrier, carrier_id: Some(carrier_id), networks, ..Caller::system() }
    }

    /// A point's own device (benchmarks and tests).
    pub fn device(point_id: PointId) -> Caller {
        Caller { role: Role::LockerDevice, point_id: Some(point_id), ..Caller::system() }
    }

    /// Whether the caller works in a network: operators everywhere, a carrier in those it serves.
    pub fn serves(&self, network_id: NetworkId) -> bool {
        match self.role {
            Role::Operator => true,
            Role::Carrier => self.networks.contains(&network_id),
            Role::Merchant | Role::LockerDevice => false,
        }
    }

    pub fn require(&self, permission: Permission) -> Result<(), AppError> {
        let allowed = match (self.role, permission) {
            (Role::Operator, _) => true,
            (_, Permission::ReadNetwork) => true,
            (
                Role::Merchant,
                Permission::AnnounceParcel
                | Permission::CancelParcel
                | Permission::ExtendParcel
                | Permission::ReissueCode,
            ) => true,
            (
                Role::Merchant,
                Permission::ReportIncident
                | Permission::ManageEndpoints
                | Permission::ReadMessages
                | Permission::ManageClaims,
            ) => true,
            (Role::Merchant | Role::Carrier, Permission::PrintLabel) => true,
            (Role::Carrier, Permission::HandleParcel | Permission::ReturnParcel | Permission::ReportIncident) => true,
            (Role::LockerDevice, Permission::PickupAt(point) | Permission::DropOffAt(point)) => {
                self.point_id == Some(point)
            }
            (Role::LockerDevice, Permission::DeviceOf(point) | Permission::ReadPointOperation(point)) => {
                self.point_id == Some(point)
            }
            (Role::Carrier, Permission::DropOffAt(_)) => true,
            (Role::LockerDevice, Permission::ReportIncident) => true,
            (Role::Merchant | Role::Carrier | Role::LockerDevice, _) => false,
        };
        if allowed { Ok(()) } else { Err(AppError::Forbidden { role: self.role }) }
    }

    /// The merchant a read is about: a merchant's key its own (another one asked is `not_found`: its
    /// existence is none of this one's business), an operator the one it names.
    pub fn merchant_in_scope(&self, asked: Option<MerchantId>) -> Result<MerchantId, AppError> {
        match (self.role, self.merchant_id, asked) {
            (Role::Merchant, Some(own), None) => Ok(own),
            (Role::Merchant, Some(own), Some(asked)) if own == asked => Ok(own),
            (Role::Merchant, _, Some(asked)) => Err(AppError::not_found("merchant", asked)),
            (Role::Operator, _, Some(asked)) => Ok(asked),
            (Role::Operator, _, None) => {
                Err(relais_domain::value::ParseError::new("merchant_id", "is required with an operator's key").into())
            }
            _ => Err(AppError::Forbidden { role: self.role }),
        }
    }

    /// Whether this caller may see (and so act on) this parcel. A parcel a caller may not see answers
    /// `not_found`, not `forbidden`: its existence is none of their business.
    pub fn can_see(&self, parcel: &Parcel) -> bool {
        match self.role {
            Role::Operator => true,
            Role::Merchant => self.merchant_id == Some(parcel.merchant_id),
            Role::LockerDevice => self.point_id == Some(parcel.point_id),
            // Handed to it by the merchant, or of a network it serves when the merchant named no carrier.
            Role::Carrier => match parcel.carrier_id {
                Some(chosen) => self.carrier_id == Some(chosen),
                None => self.carrier_id.is_some() && self.serves(parcel.network_id),
            },
        }
    }

    /// The actor recorded on events this caller causes.
    pub fn actor(&self) -> Actor {
        if let Some(account) = self.console_account {
            let kind = if self.role == Role::Merchant { ActorKind::Merchant } else { ActorKind::Operator };
            return Actor { kind, reference: Some(format!("console:{account}")) };
        }
        let kind = match self.role {
            Role::Operator if self.key_id.is_none() => ActorKind::System,
            Role::Operator => ActorKind::Operator,
            Role::Merchant => ActorKind::Merchant,
            Role::Carrier => ActorKind::Carrier,
            Role::LockerDevice => ActorKind::LockerDevice,
        };
        Actor { kind, reference: self.key_id.map(|id| id.to_string()) }
    }
}
