//! The parcel and its state machine (domain.md section 3).
//!
//! Each transition is a pure function of the parcel, the rules and the time: it returns the new parcel
//! and the event that records it, or a typed error saying why the move is not allowed. Persisting the
//! result, and the compartment changes that go with it, is the app layer's job.

use std::fmt;

use crate::Timestamp;
use crate::ids::{CarrierId, CompartmentId, MerchantId, NetworkId, ParcelId, PointId};
use crate::network::NetworkRules;
use crate::value::{Dimensions, Email, Language, ParcelNumber, Phone, Weight};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IncidentKind {
    Lost,
    Damaged,
    Refused,
}

impl IncidentKind {
    pub const ALL: [IncidentKind; 3] = [IncidentKind::Lost, IncidentKind::Damaged, IncidentKind::Refused];

    pub const fn as_str(self) -> &'static str {
        match self {
            IncidentKind::Lost => "lost",
            IncidentKind::Damaged => "damaged",
            IncidentKind::Refused => "refused",
        }
    }

    pub fn parse(input: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == input)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ParcelState {
    Announced,
    InTransit,
    ReadyForPickup,
    Collected,
    DepositFailed,
    Expired,
    Returning,
    ReturnedToSender,
    Cancelled,
    Incident(IncidentKind),
}

impl ParcelState {
    /// The state's wire and storage name. An incident's kind is stored beside it.
    pub const fn as_str(self) -> &'static str {
        match self {
            ParcelState::Announced => "announced",
            ParcelState::InTransit => "in_transit",
            ParcelState::ReadyForPickup => "ready_for_pickup",
            ParcelState::Collected => "collected",
            ParcelState::DepositFailed => "deposit_failed",
            ParcelState::Expired => "expired",
            ParcelState::Returning => "returning",
            ParcelState::ReturnedToSender => "returned_to_sender",
            ParcelState::Cancelled => "cancelled",
            ParcelState::Incident(_) => "incident",
        }
    }

    pub fn parse(state: &str, incident: Option<&str>) -> Option<Self> {
        Some(match state {
            "announced" => ParcelState::Announced,
            "in_transit" => ParcelState::InTransit,
            "ready_for_pickup" => ParcelState::ReadyForPickup,
            "collected" => ParcelState::Collected,
            "deposit_failed" => ParcelState::DepositFailed,
            "expired" => ParcelState::Expired,
            "returning" => ParcelState::Returning,
            "returned_to_sender" => ParcelState::ReturnedToSender,
            "cancelled" => ParcelState::Cancelled,
            "incident" => ParcelState::Incident(IncidentKind::parse(incident?)?),
            _ => return None,
        })
    }

    pub const fn incident_kind(self) -> Option<IncidentKind> {
        match self {
            ParcelState::Incident(kind) => Some(kind),
            ParcelState::Announced
            | ParcelState::InTransit
            | ParcelState::ReadyForPickup
            | ParcelState::Collected
            | ParcelState::DepositFailed
            | ParcelState::Expired
            | ParcelState::Returning
            | ParcelState::ReturnedToSender
            | ParcelState::Cancelled => None,
        }
    }

    /// Whether a parcel in this state has a live pickup code: from its announcement until it is
    /// collected or leaves the flow. Two parcels whose codes are live at one point never share a code
    /// (a partial unique index whose condition a store test checks against this function).
    pub const fn holds_live_code(self) -> bool {
        match self {
            ParcelState::Announced
            | ParcelState::InTransit
            | ParcelState::ReadyForPickup
            | ParcelState::DepositFailed => true,
            ParcelState::Collected
            | ParcelState::Expired
            | ParcelState::Returning
            | ParcelState::ReturnedToSender
            | ParcelState::Cancelled
            | ParcelState::Incident(_) => false,
        }
    }

    /// Every state, incidents once per kind.
    pub const ALL: [ParcelState; 12] = [
        ParcelState::Announced,
        ParcelState::InTransit,
        ParcelState::ReadyForPickup,
        ParcelState::Collected,
        ParcelState::DepositFailed,
        ParcelState::Expired,
        ParcelState::Returning,
        ParcelState::ReturnedToSender,
        ParcelState::Cancelled,
        ParcelState::Incident(IncidentKind::Lost),
        ParcelState::Incident(IncidentKind::Damaged),
        ParcelState::Incident(IncidentKind::Refused),
    ];

    /// No transition leaves a terminal state.
    pub const fn is_terminal(self) -> bool {
        match self {
            ParcelState::Collected
            | ParcelState::ReturnedToSender
            | ParcelState::Cancelled
            | ParcelState::Incident(_) => true,
            ParcelState::Announced
            | ParcelState::InTransit
            | ParcelState::ReadyForPickup
            | ParcelState::DepositFailed
            | ParcelState::Expired
            | ParcelState::Returning => false,
        }
    }
}

impl fmt::Display for ParcelState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.incident_kind() {
            Some(kind) => write!(f, "incident ({})", kind.as_str()),
            None => f.write_str(self.as_str()),
        }
    }
}

/// Who made a transition happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ActorKind {
    Merchant,
    Carrier,
    LockerDevice,
    Recipient,
    Operator,
    System,
}

impl ActorKind {
    pub const ALL: [ActorKind; 6] = [
        ActorKind::Merchant,
        ActorKind::Carrier,
        ActorKind::LockerDevice,
        ActorKind::Recipient,
        ActorKind::Operator,
        ActorKind::System,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            ActorKind::Merchant => "merchant",
            ActorKind::Carrier => "carrier",
            ActorKind::LockerDevice => "locker_device",
            ActorKind::Recipient => "recipient",
            ActorKind::Operator => "operator",
            ActorKind::System => "system",
        }
    }

    pub fn parse(input: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == input)
    }
}

/// An actor and, when known, which one (an API key id, a device id): enough to audit who did what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub kind: ActorKind,
    pub reference: Option<String>,
}

impl Actor {
    pub fn system() -> Actor {
        Actor { kind: ActorKind::System, reference: None }
    }
    pub fn new(kind: ActorKind, reference: impl Into<String>) -> Actor {
        Actor { kind, reference: Some(reference.into()) }
    }
}

/// What happened to a parcel. The name is also the outbox topic (`parcel.<name>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    Announced,
    InTransit,
    Deposited,
    DepositFailed,
    Collected,
    Extended,
    Expired,
    ReturnCollected,
    ReturnedToSender,
    Cancelled,
    IncidentReported,
    /// The door of the parcel's compartment failed (jammed, forced open): the parcel stays where it is
    /// and someone must look at it.
    CompartmentFault,
    /// The recipient was reminded that the parcel is waiting (the state does not change).
    Reminded,
    /// An operator moved the parcel to another compartment of its locker (the state does not change).
    Moved,
    /// The chosen point had no room: the parcel goes to a nearby point for a business day (overflow).
    Relocated,
    /// The recipient lost their code: a new code and QR token replaced the old ones (the state does not
    /// change).
    CodeReissued,
}

impl EventKind {
    pub const ALL: [EventKind; 16] = [
        EventKind::Announced,
        EventKind::InTransit,
        EventKind::Deposited,
        EventKind::DepositFailed,
        EventKind::Collected,
        EventKind::Extended,
        EventKind::Expired,
        EventKind::ReturnCollected,
        EventKind::ReturnedToSender,
        EventKind::Cancelled,
        EventKind::IncidentReported,
        EventKind::CompartmentFault,
        EventKind::Reminded,
        EventKind::Moved,
        EventKind::Relocated,
        EventKind::CodeReissued,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            EventKind::Announced => "announced",
            EventKind::InTransit => "in_transit",
            EventKind::Deposited => "deposited",
            EventKind::DepositFailed => "deposit_failed",
            EventKind::Collected => "collected",
            EventKind::Extended => "extended",
            EventKind::Expired => "expired",
            EventKind::ReturnCollected => "return_collected",
            EventKind::ReturnedToSender => "returned_to_sender",
            EventKind::Cancelled => "cancelled",
            EventKind::IncidentReported => "incident_reported",
            EventKind::CompartmentFault => "compartment_fault",
            EventKind::Reminded => "reminded",
            EventKind::Moved => "moved",
            EventKind::Relocated => "relocated",
            EventKind::CodeReissued => "code_reissued",
        }
    }

    pub fn parse(input: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == input)
    }
}

/// The record of one transition. The event log is the source of tracking, KPIs and webhooks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParcelEvent {
    pub parcel_id: ParcelId,
    pub kind: EventKind,
    pub from: Option<ParcelState>,
    pub to: ParcelState,
    pub actor: Actor,
    /// A stable token (`too_large`, `merchant_request`...) or a short text a person typed.
    pub reason: Option<String>,
    pub compartment_id: Option<CompartmentId>,
    pub at: Timestamp,
}

impl ParcelEvent {
    /// Longest reason a person may type (a cancellation, an incident, an operator's action).
    pub const REASON_LENGTH_MAX: usize = 500;
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    pub name: String,
    pub phone: Option<Phone>,
    pub email: Option<Email>,
    /// The language of their messages.
    pub language: Language,
}

impl Recipient {
    pub const NAME_LENGTH_MAX: usize = 120;
}

/// Keyed digests of the pickup code and of the QR token; the secrets themselves are never kept.
#[derive(Clone, PartialEq, Eq)]
pub struct PickupSecretDigests {
    pub code: [u8; 32],
    pub qr: [u8; 32],
}

impl fmt::Debug for PickupSecretDigests {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PickupSecretDigests(***)")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parcel {
    pub id: ParcelId,
    pub number: ParcelNumber,
    pub merchant_id: MerchantId,
    /// The carrier the merchant handed it to, when it named one; otherwise the carriers serving the
    /// network handle it.
    pub carrier_id: Option<CarrierId>,
    pub network_id: NetworkId,
    pub point_id: PointId,
    pub recipient: Recipient,
    pub dimensions: Dimensions,
    pub weight: Weight,
    pub state: ParcelState,
    /// The compartment the parcel is in (lockers), once deposited; `None` on a shelf.
    pub compartment_id: Option<CompartmentId>,
    pub secrets: PickupSecretDigests,
    pub deposited_at: Option<Timestamp>,
    pub pickup_deadline: Option<Timestamp>,
    pub extensions_used: u32,
    /// Reminders sent so far.
    pub reminders_sent: u32,
    /// When the next reminder is due, while the parcel waits and one is left (see [`next_reminder`]).
    pub next_reminder_at: Option<Timestamp>,
    /// The point the recipient chose, while the parcel is relocated to another for lack of room there
    /// (overflow); it goes back there after [`RELOCATION_HOLD_HOURS`].
    pub relocated_from: Option<PointId>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Optimistic concurrency: every stored change checks and bumps it.
    pub version: i64,
}

/// How long a relocated parcel waits at the temporary point before it goes on to the chosen one
/// (domain.md, overflow: "for one business day").
pub const RELOCATION_HOLD_HOURS: i64 = 24;

/// The next reminder of a parcel whose deadline is `deadline`: the earliest `deadline - offset` later
/// than `after`, for the network's offsets (hours before the deadline). `None` when none is left.
/// Reminders whose moment has already passed are skipped rather than sent late in a burst.
pub fn next_reminder(deadline: Timestamp, offsets_hours: &[u32], after: Timestamp) -> Option<Timestamp> {
    offsets_hours
        .iter()
        .map(|hours| deadline - chrono::Duration::hours(i64::from(*hours)))
        .filter(|at| *at > after)
        .min()
}

/// The data a merchant gives to announce a parcel, already parsed.
#[derive(Debug, Clone)]
pub struct NewParcel {
    pub id: ParcelId,
    pub number: ParcelNumber,
    pub merchant_id: MerchantId,
    pub carrier_id: Option<CarrierId>,
    pub network_id: NetworkId,
    pub point_id: PointId,
    pub recipient: Recipient,
    pub dimensions: Dimensions,
    pub weight: Weight,
    pub secrets: PickupSecretDigests,
}

/// The move that was asked for, named in errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    ScanInTransit,
    Deposit,
    FailDeposit,
    Collect,
    Extend,
    Expire,
    CollectReturn,
    ReturnToSender,
    Cancel,
    ReportIncident,
    FlagFault,
    Remind,
    Move,
    Relocate,
    ReissueCode,
}

impl Action {
    pub const fn as_str(self) -> &'static str {
        match self {
            Action::ScanInTransit => "scan_in_transit",
            Action::Deposit => "deposit",
            Action::FailDeposit => "fail_deposit",
            Action::Collect => "collect",
            Action::Extend => "extend",
            Action::Expire => "expire",
            Action::CollectReturn => "collect_return",
            Action::ReturnToSender => "return_to_sender",
            Action::Cancel => "cancel",
            Action::ReportIncident => "report_incident",
            Action::FlagFault => "flag_fault",
            Action::Remind => "remind",
            Action::Move => "move",
            Action::Relocate => "relocate",
            Action::ReissueCode => "reissue_code",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExtensionRefusal {
    /// The network's extension count is used up (or the network allows none).
    CountReached { count_max: u32 },
    /// Too soon after deposit; allowed from `earliest`.
    TooEarly { earliest: Timestamp },
    /// The deadline has passed: the parcel is due to expire.
    DeadlinePassed { deadline: Timestamp },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransitionError {
    /// The action does not apply to a parcel in this state.
    Invalid {
        action: Action,
        from: ParcelState,
    },
    ExtensionRefused(ExtensionRefusal),
    /// Expiry asked before the pickup deadline.
    NotYetDue {
        deadline: Timestamp,
    },
    /// A reminder asked before it is due.
    ReminderNotYetDue {
        due: Timestamp,
    },
}

impl fmt::Display for TransitionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TransitionError::Invalid { action, from } => {
                write!(f, "cannot {} a parcel that is {from}", action.as_str().replace('_', " "))
            }
            TransitionError::ExtensionRefused(ExtensionRefusal::CountReached { count_max }) => {
                write!(f, "this parcel cannot be extended again: the network allows {count_max} extension(s)")
            }
            TransitionError::ExtensionRefused(ExtensionRefusal::TooEarly { earliest }) => {
                write!(f, "an extension can be asked from {}", earliest.to_rfc3339())
            }
            TransitionError::ExtensionRefused(ExtensionRefusal::DeadlinePassed { deadline }) => {
                write!(f, "the pickup deadline {} has passed", deadline.to_rfc3339())
            }
            TransitionError::NotYetDue { deadline } => {
                write!(f, "the parcel is not due to expire before {}", deadline.to_rfc3339())
            }
            TransitionError::ReminderNotYetDue { due } => {
                write!(f, "the next reminder is not due before {}", due.to_rfc3339())
            }
        }
    }
}

impl std::error::Error for TransitionError {}

/// A transition's result: the parcel as it is now and the event that says so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub parcel: Parcel,
    pub event: ParcelEvent,
}

/// What a parcel no longer needs after a transition, to be given back in the same commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GivenBack {
    /// The compartment or shelf slot it was in: it was collected, taken back, or lost.
    pub place: bool,
    /// The compartment reserved for it while it was on its way: it will not arrive (cancelled, failed,
    /// lost).
    pub reservation: bool,
}

impl Transition {
    /// What the parcel, as it was `before` this transition, gives back.
    pub fn gives_back(&self, before: &Parcel) -> GivenBack {
        let after = &self.parcel;
        GivenBack {
            place: before.occupies_place() && !after.occupies_place(),
            reservation: before.may_hold_reservation() && !after.may_hold_reservation() && !after.occupies_place(),
        }
    }
}

impl Parcel {
    /// A new parcel, announced by its merchant.
    pub fn announce(new: NewParcel, actor: Actor, now: Timestamp) -> Transition {
        let parcel = Parcel {
            id: new.id,
            number: new.number,
            merchant_id: new.merchant_id,
            carrier_id: new.carrier_id,
            network_id: new.network_id,
            point_id: new.point_id,
            recipient: new.recipient,
            dimensions: new.dimensions,
            weight: new.weight,
            state: ParcelState::Announced,
            compartment_id: None,
            secrets: new.secrets,
            deposited_at: None,
            pickup_deadline: None,
            extensions_used: 0,
            reminders_sent: 0,
            next_reminder_at: None,
            relocated_from: None,
            created_at: now,
            updated_at: now,
            version: 0,
        };
        let event = ParcelEvent {
            parcel_id: parcel.id,
            kind: EventKind::Announced,
            from: None,
            to: ParcelState::Announced,
            actor,
            reason: None,
            compartment_id: None,
            at: now,
        };
        Transition { parcel, event }
    }

    /// The carrier scanned the parcel on its way to the point.
    pub fn scan_in_transit(&self, actor: Actor, now: Timestamp) -> Result<Transition, TransitionError> {
        match self.state {
            ParcelState::Announced => Ok(self.moved(ParcelState::InTransit, EventKind::InTransit, actor, None, now)),
            ParcelState::InTransit
            | ParcelState::ReadyForPickup
            | ParcelState::Collected
            | ParcelState::DepositFailed
            | ParcelState::Expired
            | ParcelState::Returning
            | ParcelState::ReturnedToSender
            | ParcelState::Cancelled
            | ParcelState::Incident(_) => Err(self.invalid(Action::ScanInTransit)),
        }
    }

    /// The parcel is in its compartment (or on the shelf) and can be collected until the deadline.
    /// Carriers often skip the transit scan, so a deposit is accepted straight from `announced`; a
    /// failed deposit may be tried again.
    pub fn deposit(
        &self,
        compartment_id: Option<CompartmentId>,
        rules: &NetworkRules,
        actor: Actor,
        now: Timestamp,
    ) -> Result<Transition, TransitionError> {
        match self.state {
            ParcelState::Announced | ParcelState::InTransit | ParcelState::DepositFailed => {
                let mut transition = self.moved(ParcelState::ReadyForPickup, EventKind::Deposited, actor, None, now);
                // At a temporary point (overflow) the parcel waits one business day, then goes on.
                let hold = match self.relocated_from {
                    Some(_) => chrono::Duration::hours(RELOCATION_HOLD_HOURS),
                    None => rules.hold_window(),
                };
                transition.parcel.compartment_id = compartment_id;
                transition.parcel.deposited_at = Some(now);
                transition.parcel.pickup_deadline = Some(now + hold);
                transition.parcel.next_reminder_at = next_reminder(now + hold, &rules.reminder_offsets_hours, now);
                transition.event.compartment_id = compartment_id;
                Ok(transition)
            }
            ParcelState::ReadyForPickup
            | ParcelState::Collected
            | ParcelState::Expired
            | ParcelState::Returning
            | ParcelState::ReturnedToSender
            | ParcelState::Cancelled
            | ParcelState::Incident(_) => Err(self.invalid(Action::Deposit)),
        }
    }

    /// The carrier could not deposit the parcel (`reason`: too large, compartment broken, point full).
    pub fn fail_deposit(&self, reason: &str, actor: Actor, now: Timestamp) -> Result<Transition, TransitionError> {
        match self.state {
            ParcelState::Announced | ParcelState::InTransit => {
                Ok(self.moved(ParcelState::DepositFailed, EventKind::DepositFailed, actor, Some(reason), now))
            }
            ParcelState::ReadyForPickup
            | ParcelState::Collected
            | ParcelState::DepositFailed
            | ParcelState::Expired
            | ParcelState::Returning
            | ParcelState::ReturnedToSender
            | ParcelState::Cancelled
            | ParcelState::Incident(_) => Err(self.invalid(Action::FailDeposit)),
        }
    }

    /// The recipient took the parcel.
    pub fn collect(&self, actor: Actor, now: Timestamp) -> Result<Transition, TransitionError> {
        match self.state {
            ParcelState::ReadyForPickup => {
                let mut transition = self.moved(ParcelState::Collected, EventKind::Collected, actor, None, now);
                transition.event.compartment_id = self.compartment_id;
                transition.parcel.compartment_id = None;
                Ok(transition)
            }
            ParcelState::Announced
            | ParcelState::InTransit
            | ParcelState::Collected
            | ParcelState::DepositFailed
            | ParcelState::Expired
            | ParcelState::Returning
            | ParcelState::ReturnedToSender
            | ParcelState::Cancelled
            | ParcelState::Incident(_) => Err(self.invalid(Action::Collect)),
        }
    }

    /// Pushes the deadline back by the network's extension, within its rules.
    pub fn extend(&self, rules: &NetworkRules, actor: Actor, now: Timestamp) -> Result<Transition, TransitionError> {
        let (ParcelState::ReadyForPickup, Some(deposited_at), Some(deadline)) =
            (self.state, self.deposited_at, self.pickup_deadline)
        else {
            return Err(self.invalid(Action::Extend));
        };
        if self.extensions_used >= rules.extension_count_max {
            return Err(TransitionError::ExtensionRefused(ExtensionRefusal::CountReached {
                count_max: rules.extension_count_max,
            }));
        }
        if now >= deadline {
            return Err(TransitionError::ExtensionRefused(ExtensionRefusal::DeadlinePassed { deadline }));
        }
        let earliest = deposited_at + rules.extension_earliest_after_deposit();
        if now < earliest {
            return Err(TransitionError::ExtensionRefused(ExtensionRefusal::TooEarly { earliest }));
        }
        let mut transition = self.moved(ParcelState::ReadyForPickup, EventKind::Extended, actor, None, now);
        transition.parcel.pickup_deadline = Some(deadline + rules.extension());
        transition.parcel.extensions_used += 1;
        // The reminders start over for the new deadline.
        transition.parcel.next_reminder_at =
            next_reminder(deadline + rules.extension(), &rules.reminder_offsets_hours, now);
        Ok(transition)
    }

    /// Replaces a lost pickup code and QR token with new ones while the parcel's code is live (the state
    /// does not change; the old secrets open nothing any more).
    pub fn reissue_code(
        &self,
        secrets: PickupSecretDigests,
        actor: Actor,
        now: Timestamp,
    ) -> Result<Transition, TransitionError> {
        if !self.state.holds_live_code() {
            return Err(self.invalid(Action::ReissueCode));
        }
        let mut transition = self.moved(self.state, EventKind::CodeReissued, actor, None, now);
        transition.parcel.secrets = secrets;
        Ok(transition)
    }

    /// Reminds the recipient that the parcel waits, when a reminder is due. The state does not change;
    /// the next reminder is the next one still ahead.
    pub fn remind(&self, rules: &NetworkRules, actor: Actor, now: Timestamp) -> Result<Transition, TransitionError> {
        let (ParcelState::ReadyForPickup, Some(deadline), Some(due)) =
            (self.state, self.pickup_deadline, self.next_reminder_at)
        else {
            return Err(self.invalid(Action::Remind));
        };
        if now < due {
            return Err(TransitionError::ReminderNotYetDue { due });
        }
        let number = self.reminders_sent + 1;
        let mut transition = self.moved(
            ParcelState::ReadyForPickup,
            EventKind::Reminded,
            actor,
            Some(&format!("reminder_{number}")),
            now,
        );
        transition.parcel.reminders_sent = number;
        transition.parcel.next_reminder_at = next_reminder(deadline, &rules.reminder_offsets_hours, now);
        Ok(transition)
    }

    /// The deadline passed without a collection. The parcel stays in its compartment until a courier
    /// takes it back (`collect_return`).
    pub fn expire(&self, actor: Actor, now: Timestamp) -> Result<Transition, TransitionError> {
        let (ParcelState::ReadyForPickup, Some(deadline)) = (self.state, self.pickup_deadline) else {
            return Err(self.invalid(Action::Expire));
        };
        if now < deadline {
            return Err(TransitionError::NotYetDue { deadline });
        }
        Ok(self.moved(ParcelState::Expired, EventKind::Expired, actor, Some("pickup_deadline_passed"), now))
    }

    /// An operator expires a waiting parcel before its deadline (a point closing for good, a parcel the
    /// sender wants back at once). The reason is kept on the event: every operator action is audited.
    pub fn force_expire(&self, reason: &str, actor: Actor, now: Timestamp) -> Result<Transition, TransitionError> {
        if self.state != ParcelState::ReadyForPickup {
            return Err(self.invalid(Action::Expire));
        }
        Ok(self.moved(ParcelState::Expired, EventKind::Expired, actor, Some(reason), now))
    }

    /// A courier took the expired parcel out of the point to send it back.
    pub fn collect_return(&self, actor: Actor, now: Timestamp) -> Result<Transition, TransitionError> {
        match self.state {
            ParcelState::Expired => {
                // Taken out of a temporary point, a relocated parcel goes on to the point the recipient
                // chose; any other goes back to its sender.
                let (to, reason) = match self.relocated_from {
                    Some(_) => (ParcelState::InTransit, Some("back_to_chosen_point")),
                    None => (ParcelState::Returning, None),
                };
                let mut transition = self.moved(to, EventKind::ReturnCollected, actor, reason, now);
                transition.event.compartment_id = self.compartment_id;
                transition.parcel.compartment_id = None;
                if let Some(chosen) = self.relocated_from {
                    transition.parcel.point_id = chosen;
                    transition.parcel.relocated_from = None;
                    transition.parcel.deposited_at = None;
                    transition.parcel.pickup_deadline = None;
                }
                Ok(transition)
            }
            ParcelState::Announced
            | ParcelState::InTransit
            | ParcelState::ReadyForPickup
            | ParcelState::Collected
            | ParcelState::DepositFailed
            | ParcelState::Returning
            | ParcelState::ReturnedToSender
            | ParcelState::Cancelled
            | ParcelState::Incident(_) => Err(self.invalid(Action::CollectReturn)),
        }
    }

    /// The sender received the parcel back.
    pub fn return_to_sender(&self, actor: Actor, now: Timestamp) -> Result<Transition, TransitionError> {
        match self.state {
            ParcelState::Returning => {
                Ok(self.moved(ParcelState::ReturnedToSender, EventKind::ReturnedToSender, actor, None, now))
            }
            ParcelState::Announced
            | ParcelState::InTransit
            | ParcelState::ReadyForPickup
            | ParcelState::Collected
            | ParcelState::DepositFailed
            | ParcelState::Expired
            | ParcelState::ReturnedToSender
            | ParcelState::Cancelled
            | ParcelState::Incident(_) => Err(self.invalid(Action::ReturnToSender)),
        }
    }

    /// The merchant or operator called the parcel off before it reached the point.
    pub fn cancel(&self, reason: Option<&str>, actor: Actor, now: Timestamp) -> Result<Transition, TransitionError> {
        match self.state {
            ParcelState::Announced | ParcelState::InTransit | ParcelState::DepositFailed => {
                Ok(self.moved(ParcelState::Cancelled, EventKind::Cancelled, actor, reason, now))
            }
            ParcelState::ReadyForPickup
            | ParcelState::Collected
            | ParcelState::Expired
            | ParcelState::Returning
            | ParcelState::ReturnedToSender
            | ParcelState::Cancelled
            | ParcelState::Incident(_) => Err(self.invalid(Action::Cancel)),
        }
    }

    /// Lost, damaged or refused: the parcel leaves the normal flow. A lost parcel no longer occupies its
    /// compartment; a damaged or refused one is still physically there until an operator removes it.
    pub fn report_incident(
        &self,
        kind: IncidentKind,
        reason: Option<&str>,
        actor: Actor,
        now: Timestamp,
    ) -> Result<Transition, TransitionError> {
        if self.state.is_terminal() {
            return Err(self.invalid(Action::ReportIncident));
        }
        let mut transition = self.moved(ParcelState::Incident(kind), EventKind::IncidentReported, actor, reason, now);
        transition.event.compartment_id = self.compartment_id;
        if kind == IncidentKind::Lost {
            transition.parcel.compartment_id = None;
        }
        Ok(transition)
    }

    /// Whether two parcels may share a compartment by rule: one merchant, one point, one recipient (the
    /// same phone number or the same e-mail address; a name alone is not enough to tell two people apart).
    pub fn same_recipient(&self, other: &Parcel) -> bool {
        let (mine, theirs) = (&self.recipient, &other.recipient);
        let same_phone = matches!((&mine.phone, &theirs.phone), (Some(a), Some(b)) if a == b);
        let same_email = matches!((&mine.email, &theirs.email), (Some(a), Some(b)) if a == b);
        self.id != other.id
            && self.merchant_id == other.merchant_id
            && self.point_id == other.point_id
            && (same_phone || same_email)
    }

    /// Whether the parcel physically takes up its place (compartment or shelf slot) at the point: from
    /// deposit until it is collected, taken back, or reported lost.
    pub fn occupies_place(&self) -> bool {
        self.deposited_at.is_some()
            && match self.state {
                ParcelState::ReadyForPickup
                | ParcelState::Expired
                | ParcelState::Incident(IncidentKind::Damaged | IncidentKind::Refused) => true,
                ParcelState::Announced
                | ParcelState::InTransit
                | ParcelState::Collected
                | ParcelState::DepositFailed
                | ParcelState::Returning
                | ParcelState::ReturnedToSender
                | ParcelState::Cancelled
                | ParcelState::Incident(IncidentKind::Lost) => false,
            }
    }

    /// Whether the parcel may hold a compartment reservation: only while it is on its way.
    pub fn may_hold_reservation(&self) -> bool {
        match self.state {
            ParcelState::Announced | ParcelState::InTransit => true,
            ParcelState::ReadyForPickup
            | ParcelState::Collected
            | ParcelState::DepositFailed
            | ParcelState::Expired
            | ParcelState::Returning
            | ParcelState::ReturnedToSender
            | ParcelState::Cancelled
            | ParcelState::Incident(_) => false,
        }
    }

    /// The door of the compartment holding the parcel failed. The state does not change: the event is
    /// the flag an operator (and the KPIs) see.
    pub fn flag_fault(&self, fault: &str, actor: Actor, now: Timestamp) -> Result<Transition, TransitionError> {
        if self.compartment_id.is_none() || !self.occupies_place() {
            return Err(self.invalid(Action::FlagFault));
        }
        let mut transition = self.moved(self.state, EventKind::CompartmentFault, actor, Some(fault), now);
        transition.parcel.updated_at = now;
        Ok(transition)
    }

    /// An operator moved the parcel to another compartment of its locker (a failing door, a
    /// rearrangement). The state does not change; the reason is kept on the event.
    pub fn move_to(
        &self,
        compartment_id: CompartmentId,
        reason: &str,
        actor: Actor,
        now: Timestamp,
    ) -> Result<Transition, TransitionError> {
        if self.compartment_id.is_none() || !self.occupies_place() {
            return Err(self.invalid(Action::Move));
        }
        let mut transition = self.moved(self.state, EventKind::Moved, actor, Some(reason), now);
        transition.parcel.compartment_id = Some(compartment_id);
        transition.event.compartment_id = Some(compartment_id);
        Ok(transition)
    }

    /// The chosen point had no room (`deposit_failed`): the parcel goes to `to`, a nearby point, where
    /// the courier deposits it with the same code; after [`RELOCATION_HOLD_HOURS`] there it goes on to
    /// the chosen point (see [`Parcel::collect_return`]).
    pub fn relocate(&self, to: PointId, actor: Actor, now: Timestamp) -> Result<Transition, TransitionError> {
        if self.state != ParcelState::DepositFailed || to == self.point_id {
            return Err(self.invalid(Action::Relocate));
        }
        let mut transition = self.moved(ParcelState::InTransit, EventKind::Relocated, actor, Some("overflow"), now);
        transition.parcel.relocated_from = Some(self.relocated_from.unwrap_or(self.point_id));
        transition.parcel.point_id = to;
        Ok(transition)
    }

    fn moved(
        &self,
        to: ParcelState,
        kind: EventKind,
        actor: Actor,
        reason: Option<&str>,
        now: Timestamp,
    ) -> Transition {
        // Reminders are for a parcel that waits; any other state has none due.
        let next_reminder_at = if to == ParcelState::ReadyForPickup { self.next_reminder_at } else { None };
        let parcel = Parcel { state: to, updated_at: now, next_reminder_at, ..self.clone() };
        let event = ParcelEvent {
            parcel_id: self.id,
            kind,
            from: Some(self.state),
            to,
            actor,
            reason: reason.map(str::to_owned),
            compartment_id: self.compartment_id,
            at: now,
        };
        Transition { parcel, event }
    }

    fn invalid(&self, action: Action) -> TransitionError {
        TransitionError::Invalid { action, from: self.state }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::Id;
    use chrono::{Duration, TimeZone, Utc};

    fn t(hours: i64) -> Timestamp {
        Utc.with_ymd_and_hms(2026, 11, 27, 8, 0, 0).unwrap() + Duration::hours(hours)
    }

    fn announced() -> Parcel {
        let new = NewParcel {
            id: Id::from_parts(1, [1; 10]),
            number: ParcelNumber::parse("EW112720413FR").unwrap(),
            merchant_id: Id::from_parts(1, [2; 10]),
            carrier_id: None,
            network_id: Id::from_parts(1, [3; 10]),
            point_id: Id::from_parts(1, [4; 10]),
            recipient: Recipient { name: "Ana".into(), phone: None, email: None, language: Language::Fr },
            dimensions: Dimensions::from_mm(300, 200, 100).unwrap(),
            weight: Weight::from_grams(900).unwrap(),
            secrets: PickupSecretDigests { code: [0; 32], qr: [0; 32] },
        };
        Parcel::announce(new, Actor::system(), t(0)).parcel
    }

    fn in_state(state: ParcelState) -> Parcel {
        let rules = NetworkRules::default();
        let mut p = announced();
        if !matches!(
            state,
            ParcelState::Announced | ParcelState::InTransit | ParcelState::DepositFailed | ParcelState::Cancelled
        ) {
            p = p.deposit(Some(Id::from_parts(1, [9; 10])), &rules, Actor::system(), t(1)).unwrap().parcel;
        }
        p.state = state;
        p
    }

    #[test]
    fn a_lost_code_is_reissued_only_while_it_is_live() {
        let secrets = PickupSecretDigests { code: [9; 32], qr: [8; 32] };
        for state in ParcelState::ALL {
            let parcel = Parcel { state, ..announced() };
            match parcel.reissue_code(secrets.clone(), Actor::system(), t(1)) {
                Ok(reissued) => {
                    assert!(state.holds_live_code(), "{state:?}");
                    assert_eq!(reissued.parcel.state, state, "the state does not change");
                    assert!(reissued.parcel.secrets == secrets, "the new digests replace the old");
                    assert_eq!(reissued.event.kind, EventKind::CodeReissued);
                    assert_eq!((reissued.event.from, reissued.event.to), (Some(state), state));
                }
                Err(refusal) => {
                    assert!(!state.holds_live_code(), "{state:?}");
                    assert_eq!(refusal, TransitionError::Invalid { action: Action::ReissueCode, from: state });
                }
            }
        }
    }

    #[test]
    fn same_recipient_table() {
        let phone = |p: &str| Some(Phone::parse(p).unwrap());
        let email = |e: &str| Some(Email::parse(e).unwrap());
        let base = announced();
        let with = |name: &str, phone: Option<Phone>, email: Option<Email>| Parcel {
            id: Id::from_parts(1, [7; 10]),
            recipient: Recipient { name: name.into(), phone, email, language: Language::Fr },
            ..base.clone()
        };
        let me =
            Parcel { id: Id::from_parts(1, [6; 10]), ..with("Ana", phone("+33612345678"), email("ana@example.org")) };
        // (other, shares by rule)
        let cases = [
            (with("Ana", phone("+33 6 12 34 56 78"), None), true),
            (with("A. Silva", None, email("ana@Example.ORG")), true),
            (with("Ana", None, email("Ana@example.org")), false),
            (with("Ana", phone("+33612345679"), email("other@example.org")), false),
            (with("Ana", None, None), false),
            (Parcel { merchant_id: Id::from_parts(1, [8; 10]), ..with("Ana", phone("+33612345678"), None) }, false),
            (Parcel { point_id: Id::from_parts(1, [8; 10]), ..with("Ana", phone("+33612345678"), None) }, false),
            (Parcel { id: me.id, ..me.clone() }, false),
        ];
        for (i, (other, expected)) in cases.into_iter().enumerate() {
            assert_eq!(me.same_recipient(&other), expected, "case {i}");
            assert_eq!(other.same_recipient(&me), expected, "case {i}, the other way round");
        }
    }

    const STATES: [ParcelState; 10] = [
        ParcelState::Announced,
        ParcelState::InTransit,
        ParcelState::ReadyForPickup,
        ParcelState::Collected,
        ParcelState::DepositFailed,
        ParcelState::Expired,
        ParcelState::Returning,
        ParcelState::ReturnedToSender,
        ParcelState::Cancelled,
        ParcelState::Incident(IncidentKind::Damaged),
    ];

    /// The whole transition table: for every action and every state, the state it leads to or `None`
    /// when it is refused as invalid. Times are chosen so that time rules pass (deadline at t(73)).
    #[test]
    fn transition_table() {
        use ParcelState::*;
        type Run = Box<dyn Fn(&Parcel) -> Result<Transition, TransitionError>>;
        let actions: Vec<(Action, Run)> = vec![
            (Action::ScanInTransit, Box::new(|p| p.scan_in_transit(Actor::system(), t(2)))),
            (Action::Deposit, Box::new(|p| p.deposit(None, &NetworkRules::default(), Actor::system(), t(2)))),
            (Action::FailDeposit, Box::new(|p| p.fail_deposit("too_large", Actor::system(), t(2)))),
            (Action::Collect, Box::new(|p| p.collect(Actor::system(), t(2)))),
            (Action::Extend, Box::new(move |p| p.extend(&NetworkRules::default(), Actor::system(), t(40)))),
            (Action::Expire, Box::new(|p| p.expire(Actor::system(), t(80)))),
            (Action::CollectReturn, Box::new(|p| p.collect_return(Actor::system(), t(90)))),
            (Action::ReturnToSender, Box::new(|p| p.return_to_sender(Actor::system(), t(100)))),
            (Action::Cancel, Box::new(|p| p.cancel(None, Actor::system(), t(2)))),
            (Action::ReportIncident, Box::new(|p| p.report_incident(IncidentKind::Lost, None, Actor::system(), t(2)))),
        ];
        let expected = |action: Action, from: ParcelState| -> Option<ParcelState> {
            match (action, from) {
                (Action::ScanInTransit, Announced) => Some(InTransit),
                (Action::Deposit, Announced | InTransit | DepositFailed) => Some(ReadyForPickup),
                (Action::FailDeposit, Announced | InTransit) => Some(DepositFailed),
                (Action::Collect, ReadyForPickup) => Some(Collected),
                (Action::Extend, ReadyForPickup) => Some(ReadyForPickup),
                (Action::Expire, ReadyForPickup) => Some(Expired),
                (Action::CollectReturn, Expired) => Some(Returning),
                (Action::ReturnToSender, Returning) => Some(ReturnedToSender),
                (Action::Cancel, Announced | InTransit | DepositFailed) => Some(Cancelled),
                (Action::ReportIncident, s) if !s.is_terminal() => Some(Incident(IncidentKind::Lost)),
                _ => None,
            }
        };
        for (action, run) in &actions {
            for from in STATES {
                let parcel = in_state(from);
                match (run(&parcel), expected(*action, from)) {
                    (Ok(transition), Some(to)) => {
                        assert_eq!(transition.parcel.state, to, "{action:?} from {from}");
                        assert_eq!(transition.event.from, Some(from));
                        assert_eq!(transition.event.to, to);
                    }
                    (Err(TransitionError::Invalid { action: a, from: f }), None) => {
                        assert_eq!((a, f), (*action, from));
                    }
                    (got, want) => panic!("{action:?} from {from}: got {got:?}, want {want:?}"),
                }
            }
        }
    }

    #[test]
    fn deposit_sets_the_deadline_from_the_hold_window() {
        let rules = NetworkRules { hold_window_hours: 120, ..Default::default() };
        let c = Id::from_parts(1, [9; 10]);
        let tr = announced().deposit(Some(c), &rules, Actor::system(), t(5)).unwrap();
        assert_eq!(tr.parcel.deposited_at, Some(t(5)));
        assert_eq!(tr.parcel.pickup_deadline, Some(t(125)));
        assert_eq!(tr.parcel.compartment_id, Some(c));
        assert_eq!(tr.event.kind, EventKind::Deposited);
        assert_eq!(tr.event.compartment_id, Some(c));
    }

    #[test]
    fn extension_rules() {
        let rules = NetworkRules::default(); // 72 h, 1 extension of 48 h from 36 h after deposit
        let deposited = announced().deposit(None, &rules, Actor::system(), t(0)).unwrap().parcel;
        assert_eq!(
            deposited.extend(&rules, Actor::system(), t(35)).unwrap_err(),
            TransitionError::ExtensionRefused(ExtensionRefusal::TooEarly { earliest: t(36) })
        );
        let extended = deposited.extend(&rules, Actor::system(), t(36)).unwrap().parcel;
        assert_eq!(extended.pickup_deadline, Some(t(120)));
        assert_eq!(extended.extensions_used, 1);
        assert_eq!(
            extended.extend(&rules, Actor::system(), t(50)).unwrap_err(),
            TransitionError::ExtensionRefused(ExtensionRefusal::CountReached { count_max: 1 })
        );
        assert_eq!(
            deposited.extend(&rules, Actor::system(), t(72)).unwrap_err(),
            TransitionError::ExtensionRefused(ExtensionRefusal::DeadlinePassed { deadline: t(72) })
        );
        let none = NetworkRules { extension_count_max: 0, ..Default::default() };
        assert!(matches!(
            deposited.extend(&none, Actor::system(), t(40)),
            Err(TransitionError::ExtensionRefused(ExtensionRefusal::CountReached { count_max: 0 }))
        ));
    }

    #[test]
    fn expiry_waits_for_the_deadline_and_keeps_the_compartment() {
        let rules = NetworkRules::default();
        let c = Id::from_parts(1, [9; 10]);
        let deposited = announced().deposit(Some(c), &rules, Actor::system(), t(0)).unwrap().parcel;
        assert_eq!(
            deposited.expire(Actor::system(), t(71)).unwrap_err(),
            TransitionError::NotYetDue { deadline: t(72) }
        );
        let expired = deposited.expire(Actor::system(), t(72)).unwrap().parcel;
        assert_eq!(expired.compartment_id, Some(c));
        let returning = expired.collect_return(Actor::system(), t(80)).unwrap();
        assert_eq!(returning.parcel.compartment_id, None);
        assert_eq!(returning.event.compartment_id, Some(c));
    }

    #[test]
    fn incidents_free_the_compartment_only_when_the_parcel_is_lost() {
        let rules = NetworkRules::default();
        let c = Id::from_parts(1, [9; 10]);
        let deposited = announced().deposit(Some(c), &rules, Actor::system(), t(0)).unwrap().parcel;
        let lost = deposited.report_incident(IncidentKind::Lost, None, Actor::system(), t(1)).unwrap().parcel;
        assert_eq!(lost.compartment_id, None);
        let damaged = deposited.report_incident(IncidentKind::Damaged, Some("wet"), Actor::system(), t(1)).unwrap();
        assert_eq!(damaged.parcel.compartment_id, Some(c));
        assert_eq!(damaged.event.reason.as_deref(), Some("wet"));
    }

    #[test]
    fn an_operator_expires_a_waiting_parcel_before_its_deadline_with_a_reason() {
        let operator = Actor { kind: ActorKind::Operator, reference: Some("key".into()) };
        let forced =
            in_state(ParcelState::ReadyForPickup).force_expire("point closing", operator.clone(), t(2)).unwrap();
        assert_eq!((forced.parcel.state, forced.event.kind), (ParcelState::Expired, EventKind::Expired));
        assert_eq!((forced.event.reason.as_deref(), forced.event.actor), (Some("point closing"), operator.clone()));
        assert!(forced.parcel.compartment_id.is_some(), "still in its compartment until taken back");
        for state in [ParcelState::Announced, ParcelState::Collected, ParcelState::Expired] {
            assert!(in_state(state).force_expire("x", operator.clone(), t(2)).is_err(), "{state:?}");
        }
    }

    #[test]
    fn state_names_round_trip() {
        for state in STATES.into_iter().chain(IncidentKind::ALL.map(ParcelState::Incident)) {
            let kind = state.incident_kind().map(IncidentKind::as_str);
            assert_eq!(ParcelState::parse(state.as_str(), kind), Some(state));
        }
        assert_eq!(ParcelState::parse("incident", None), None);
        assert_eq!(ParcelState::parse("delivered", None), None);
        for kind in EventKind::ALL {
            assert_eq!(EventKind::parse(kind.as_str()), Some(kind));
        }
        for kind in ActorKind::ALL {
            assert_eq!(ActorKind::parse(kind.as_str()), Some(kind));
        }
    }

    #[test]
    fn next_reminder_table() {
        let deadline = t(72);
        // (offsets, after, expected)
        let cases: [(&[u32], Timestamp, Option<Timestamp>); 6] = [
            (&[24], t(1), Some(t(48))),
            (&[48, 24, 6], t(1), Some(t(24))),
            (&[48, 24, 6], t(24), Some(t(48))),
            (&[48, 24, 6], t(60), Some(t(66))),
            (&[48, 24, 6], t(66), None),
            (&[], t(1), None),
        ];
        for (i, (offsets, after, expected)) in cases.into_iter().enumerate() {
            assert_eq!(next_reminder(deadline, offsets, after), expected, "case {i}");
        }
    }

    #[test]
    fn reminders_follow_the_deadline_and_stop_when_the_parcel_leaves() {
        let rules = NetworkRules { reminder_offsets_hours: vec![48, 24], ..NetworkRules::default() };
        let deposited = announced().deposit(None, &rules, Actor::system(), t(0)).unwrap().parcel;
        assert_eq!(deposited.next_reminder_at, Some(t(24)), "72 h hold: 48 h before the deadline");
        assert_eq!(
            deposited.remind(&rules, Actor::system(), t(23)).unwrap_err(),
            TransitionError::ReminderNotYetDue { due: t(24) }
        );
        let first = deposited.remind(&rules, Actor::system(), t(24)).unwrap();
        assert_eq!((first.event.kind, first.event.reason.as_deref()), (EventKind::Reminded, Some("reminder_1")));
        assert_eq!((first.parcel.state, first.parcel.reminders_sent), (ParcelState::ReadyForPickup, 1));
        assert_eq!(first.parcel.next_reminder_at, Some(t(48)));
        // Sent late (the job was down), the second is not followed by a burst of missed ones.
        let second = first.parcel.remind(&rules, Actor::system(), t(50)).unwrap().parcel;
        assert_eq!((second.reminders_sent, second.next_reminder_at), (2, None));
        assert!(second.remind(&rules, Actor::system(), t(60)).is_err(), "none left");
        // An extension starts them over for the new deadline (72 + 48 = 120 h).
        let extended = first.parcel.extend(&rules, Actor::system(), t(40)).unwrap().parcel;
        assert_eq!(extended.next_reminder_at, Some(t(72)), "48 h before the new deadline, not the old one's");
        let extended = extended.remind(&rules, Actor::system(), t(72)).unwrap().parcel;
        assert_eq!(extended.next_reminder_at, Some(t(96)), "then 24 h before it");
        // Collected: no reminder is due any more.
        let collected = first.parcel.collect(Actor::system(), t(30)).unwrap().parcel;
        assert_eq!(collected.next_reminder_at, None);
    }

    #[test]
    fn an_overflow_parcel_waits_a_day_at_the_temporary_point_then_goes_on() {
        let rules = NetworkRules::default();
        let chosen = announced().point_id;
        let temporary: PointId = Id::from_parts(1, [8; 10]);
        let failed = announced().fail_deposit("all_fitting_compartments_busy", Actor::system(), t(1)).unwrap().parcel;
        assert!(announced().relocate(temporary, Actor::system(), t(1)).is_err(), "only a failed deposit");
        assert!(failed.relocate(chosen, Actor::system(), t(1)).is_err(), "to another point");
        let relocated = failed.relocate(temporary, Actor::system(), t(1)).unwrap();
        assert_eq!((relocated.event.kind, relocated.event.reason.as_deref()), (EventKind::Relocated, Some("overflow")));
        let p = relocated.parcel;
        assert_eq!((p.state, p.point_id, p.relocated_from), (ParcelState::InTransit, temporary, Some(chosen)));
        let there = p.deposit(None, &rules, Actor::system(), t(2)).unwrap().parcel;
        assert_eq!(there.pickup_deadline, Some(t(2 + RELOCATION_HOLD_HOURS)), "one day, not the hold window");
        let expired = there.expire(Actor::system(), t(26)).unwrap().parcel;
        let back = expired.collect_return(Actor::system(), t(27)).unwrap();
        assert_eq!(back.event.reason.as_deref(), Some("back_to_chosen_point"));
        let p = back.parcel;
        assert_eq!(
            (p.state, p.point_id, p.relocated_from, p.compartment_id),
            (ParcelState::InTransit, chosen, None, None)
        );
        let home = p.deposit(None, &rules, Actor::system(), t(30)).unwrap().parcel;
        assert_eq!(home.pickup_deadline, Some(t(30 + 72)), "the chosen point's hold window");
    }
}
