//! Courier drop-off sessions at a locker, and the door commands relais sends to lockers.
//!
//! A courier opens a session with the courier code of the day, then scans parcels: each scan assigns a
//! compartment and queues an `open_door` command for the locker. The deposit is recorded only when the
//! locker reports that door closed, so a parcel is `ready_for_pickup` only once it is really behind a
//! shut door. A door the courier cannot use (too small, broken, not empty) is refused and the parcel gets
//! another compartment, or fails with a relocation proposal. Closing the session produces the proof of
//! deposit: what went where, when.
//!
//! The same session, opened with the same courier code, serves the return collection: every expired
//! parcel of the locker gets its door ordered open, and the parcel is taken back when its door closes.

use crate::Timestamp;
use crate::compartment::{Compartment, DoorFault};
use crate::ids::{ApiKeyId, CommandId, CompartmentId, DropOffSessionId, ParcelId, PointId};

/// What a courier came to the locker for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SessionPurpose {
    /// To deposit parcels.
    DropOff,
    /// To take expired parcels back.
    ReturnCollection,
}

impl SessionPurpose {
    pub const fn as_str(self) -> &'static str {
        match self {
            SessionPurpose::DropOff => "drop_off",
            SessionPurpose::ReturnCollection => "return_collection",
        }
    }

    pub fn parse(input: &str) -> Option<Self> {
        [SessionPurpose::DropOff, SessionPurpose::ReturnCollection].into_iter().find(|p| p.as_str() == input)
    }
}

/// A courier's visit to one locker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DropOffSession {
    pub id: DropOffSessionId,
    pub point_id: PointId,
    pub purpose: SessionPurpose,
    /// The carrier whose courier code opened it: the actor of its deposits.
    pub carrier_key_id: ApiKeyId,
    pub opened_at: Timestamp,
    pub closed_at: Option<Timestamp>,
    pub version: i64,
}

/// The session is already closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionClosed {
    pub closed_at: Timestamp,
}

impl DropOffSession {
    pub fn open(
        id: DropOffSessionId,
        point_id: PointId,
        purpose: SessionPurpose,
        carrier_key_id: ApiKeyId,
        now: Timestamp,
    ) -> Self {
        DropOffSession { id, point_id, purpose, carrier_key_id, opened_at: now, closed_at: None, version: 0 }
    }

    pub fn ensure_open(&self) -> Result<(), SessionClosed> {
        match self.closed_at {
            Some(closed_at) => Err(SessionClosed { closed_at }),
            None => Ok(()),
        }
    }

    pub fn close(&self, now: Timestamp) -> Result<DropOffSession, SessionClosed> {
        self.ensure_open()?;
        Ok(DropOffSession { closed_at: Some(now), ..self.clone() })
    }
}

/// Where a scanned parcel stands within its session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ItemState {
    /// A compartment is assigned and its door ordered open; waiting for the door to close.
    Assigned,
    /// The door closed on it: deposited.
    Deposited,
    /// No compartment could take it: `deposit_failed`, with a relocation proposal when one was found.
    Failed,
    /// The session closed before its door did: the parcel is still with the courier (or, in a return
    /// collection, still in the locker).
    NotDeposited,
    /// Return collection: the door closed after the courier took the parcel out.
    TakenBack,
}

impl ItemState {
    pub const ALL: [ItemState; 5] =
        [ItemState::Assigned, ItemState::Deposited, ItemState::Failed, ItemState::NotDeposited, ItemState::TakenBack];

    pub const fn as_str(self) -> &'static str {
        match self {
            ItemState::Assigned => "assigned",
            ItemState::Deposited => "deposited",
            ItemState::Failed => "failed",
            ItemState::NotDeposited => "not_deposited",
            ItemState::TakenBack => "taken_back",
        }
    }

    pub fn parse(input: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == input)
    }
}

/// One parcel scanned in a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DropOffItem {
    pub session_id: DropOffSessionId,
    pub parcel_id: ParcelId,
    pub parcel_number: String,
    pub compartment_id: Option<CompartmentId>,
    /// The door's label, kept for the receipt.
    pub label: Option<String>,
    pub state: ItemState,
    /// Why it failed or why the last door was refused.
    pub reason: Option<String>,
    /// A point within reach that has room, proposed when the deposit failed.
    pub relocation_point_id: Option<PointId>,
    pub scanned_at: Timestamp,
    pub done_at: Option<Timestamp>,
    pub version: i64,
}

impl DropOffItem {
    /// A parcel just scanned in a session, before any door is given to it.
    pub fn scanned(
        session_id: DropOffSessionId,
        parcel_id: ParcelId,
        parcel_number: &str,
        now: Timestamp,
    ) -> DropOffItem {
        DropOffItem {
            session_id,
            parcel_id,
            parcel_number: parcel_number.to_owned(),
            compartment_id: None,
            label: None,
            state: ItemState::Assigned,
            reason: None,
            relocation_point_id: None,
            scanned_at: now,
            done_at: None,
            version: 0,
        }
    }

    pub fn assigned_to(&self, compartment_id: CompartmentId, label: &str) -> DropOffItem {
        DropOffItem {
            compartment_id: Some(compartment_id),
            label: Some(label.to_owned()),
            state: ItemState::Assigned,
            ..self.clone()
        }
    }

    pub fn deposited(&self, now: Timestamp) -> DropOffItem {
        DropOffItem { state: ItemState::Deposited, done_at: Some(now), ..self.clone() }
    }

    pub fn taken_back(&self, now: Timestamp) -> DropOffItem {
        DropOffItem { state: ItemState::TakenBack, done_at: Some(now), ..self.clone() }
    }

    pub fn failed(&self, reason: &str, relocation_point_id: Option<PointId>, now: Timestamp) -> DropOffItem {
        DropOffItem {
            compartment_id: None,
            label: None,
            state: ItemState::Failed,
            reason: Some(reason.to_owned()),
            relocation_point_id,
            done_at: Some(now),
            ..self.clone()
        }
    }

    pub fn not_deposited(&self, now: Timestamp) -> DropOffItem {
        DropOffItem {
            state: ItemState::NotDeposited,
            reason: Some("session_closed_before_the_door".to_owned()),
            done_at: Some(now),
            ..self.clone()
        }
    }
}

/// Why the courier could not use the door relais opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DoorRefusal {
    /// The parcel does not go in: a larger class is needed.
    TooLarge,
    /// The door does not open or does not close.
    DoorBroken,
    /// Something is already inside.
    CompartmentOccupied,
}

impl DoorRefusal {
    pub const ALL: [DoorRefusal; 3] =
        [DoorRefusal::TooLarge, DoorRefusal::DoorBroken, DoorRefusal::CompartmentOccupied];

    pub const fn as_str(self) -> &'static str {
        match self {
            DoorRefusal::TooLarge => "too_large",
            DoorRefusal::DoorBroken => "door_broken",
            DoorRefusal::CompartmentOccupied => "compartment_occupied",
        }
    }

    pub fn parse(input: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == input)
    }

    /// The fault the refused compartment gets: a door too small for this parcel is not faulty.
    pub const fn fault(self) -> Option<DoorFault> {
        match self {
            DoorRefusal::TooLarge => None,
            DoorRefusal::DoorBroken => Some(DoorFault::Broken),
            DoorRefusal::CompartmentOccupied => Some(DoorFault::Blocked),
        }
    }
}

/// Why relais asks a locker to open a door.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CommandPurpose {
    /// A courier deposits a parcel.
    Deposit,
    /// A recipient collects a parcel.
    Pickup,
    /// A courier takes an expired parcel back.
    ReturnCollection,
    /// An operator opens it remotely (stuck parcel, inspection, cleaning).
    Operator,
}

impl CommandPurpose {
    pub const ALL: [CommandPurpose; 4] =
        [CommandPurpose::Deposit, CommandPurpose::Pickup, CommandPurpose::ReturnCollection, CommandPurpose::Operator];

    pub const fn as_str(self) -> &'static str {
        match self {
            CommandPurpose::Deposit => "deposit",
            CommandPurpose::Pickup => "pickup",
            CommandPurpose::ReturnCollection => "return_collection",
            CommandPurpose::Operator => "operator",
        }
    }

    pub fn parse(input: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == input)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CommandState {
    /// Waiting for the door to close (the locker fetches it with its heartbeat until then).
    Pending,
    /// The locker reported the door closed.
    Done,
    /// Called off: the door was refused, faulty, or its session closed.
    Cancelled,
}

impl CommandState {
    pub const ALL: [CommandState; 3] = [CommandState::Pending, CommandState::Done, CommandState::Cancelled];

    pub const fn as_str(self) -> &'static str {
        match self {
            CommandState::Pending => "pending",
            CommandState::Done => "done",
            CommandState::Cancelled => "cancelled",
        }
    }

    pub fn parse(input: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == input)
    }
}

/// An order to open one door, and its outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DoorCommand {
    pub id: CommandId,
    pub point_id: PointId,
    pub compartment_id: CompartmentId,
    pub label: String,
    pub purpose: CommandPurpose,
    pub parcel_id: Option<ParcelId>,
    pub session_id: Option<DropOffSessionId>,
    /// Required for operator openings (audited); otherwise empty.
    pub reason: Option<String>,
    pub state: CommandState,
    pub created_at: Timestamp,
    pub done_at: Option<Timestamp>,
    pub version: i64,
}

/// The command is no longer pending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommandFinished {
    pub state: CommandState,
}

impl DoorCommand {
    /// A pending order to open a compartment's door, for a parcel (and its session) or none.
    pub fn new(
        id: CommandId,
        compartment: &Compartment,
        purpose: CommandPurpose,
        parcel_id: Option<ParcelId>,
        session_id: Option<DropOffSessionId>,
        now: Timestamp,
    ) -> DoorCommand {
        DoorCommand {
            id,
            point_id: compartment.point_id,
            compartment_id: compartment.id,
            label: compartment.label.clone(),
            purpose,
            parcel_id,
            session_id,
            reason: None,
            state: CommandState::Pending,
            created_at: now,
            done_at: None,
            version: 0,
        }
    }

    fn finished(&self, state: CommandState, now: Timestamp) -> Result<DoorCommand, CommandFinished> {
        match self.state {
            CommandState::Pending => Ok(DoorCommand { state, done_at: Some(now), ..self.clone() }),
            CommandState::Done | CommandState::Cancelled => Err(CommandFinished { state: self.state }),
        }
    }

    /// The door opened and closed again.
    pub fn done(&self, now: Timestamp) -> Result<DoorCommand, CommandFinished> {
        self.finished(CommandState::Done, now)
    }

    pub fn cancel(&self, now: Timestamp) -> Result<DoorCommand, CommandFinished> {
        self.finished(CommandState::Cancelled, now)
    }

    /// What a locker opening a door itself for a pickup changes: a pending command its closing report
    /// will close, and the command left pending on that door (a pickup whose closing was never
    /// reported) called off. Except one: a parcel of the same recipient on its way in through that
    /// shared door keeps its deposit command, and the closing records that deposit (calling it off would
    /// leave the parcel inside, unrecorded); then nothing changes.
    pub fn pickup_opening(
        id: CommandId,
        pending: Option<&DoorCommand>,
        compartment: &Compartment,
        parcel_id: ParcelId,
        now: Timestamp,
    ) -> Result<Option<PickupOpening>, CommandFinished> {
        let called_off = match pending {
            Some(stale)
                if stale.purpose == CommandPurpose::Deposit
                    && stale.parcel_id.is_some_and(|p| compartment.holds(p)) =>
            {
                return Ok(None);
            }
            Some(stale) => Some(stale.cancel(now)?),
            None => None,
        };
        let opened = DoorCommand::new(id, compartment, CommandPurpose::Pickup, Some(parcel_id), None, now);
        Ok(Some(PickupOpening { called_off, opened }))
    }
}

/// The door commands a pickup at a locker records ([`DoorCommand::pickup_opening`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PickupOpening {
    pub called_off: Option<DoorCommand>,
    pub opened: DoorCommand,
}

/// A door's state as a locker's heartbeat reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DoorState {
    Closed,
    Open,
    Jammed,
}

impl DoorState {
    pub const ALL: [DoorState; 3] = [DoorState::Closed, DoorState::Open, DoorState::Jammed];

    pub const fn as_str(self) -> &'static str {
        match self {
            DoorState::Closed => "closed",
            DoorState::Open => "open",
            DoorState::Jammed => "jammed",
        }
    }

    pub fn parse(input: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == input)
    }
}

/// What a locker reports about one of its doors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DoorReport {
    /// Shut again after an opening relais ordered.
    Closed,
    /// Stuck: takes the compartment out of service.
    Jammed,
    /// Opened without an order: alarm, and the compartment out of service.
    ForcedOpen,
}

impl DoorReport {
    pub const ALL: [DoorReport; 3] = [DoorReport::Closed, DoorReport::Jammed, DoorReport::ForcedOpen];

    pub const fn as_str(self) -> &'static str {
        match self {
            DoorReport::Closed => "door_closed",
            DoorReport::Jammed => "door_jammed",
            DoorReport::ForcedOpen => "door_forced_open",
        }
    }

    pub fn parse(input: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == input)
    }

    pub const fn fault(self) -> Option<DoorFault> {
        match self {
            DoorReport::Closed => None,
            DoorReport::Jammed => Some(DoorFault::Jammed),
            DoorReport::ForcedOpen => Some(DoorFault::ForcedOpen),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn at(minute: u32) -> Timestamp {
        Utc.with_ymd_and_hms(2026, 11, 27, 7, minute, 0).unwrap()
    }

    fn id<T>(n: u8) -> crate::ids::Id<T> {
        crate::ids::Id::from_parts(1, [n; 10])
    }

    #[test]
    fn a_session_closes_once() {
        let session = DropOffSession::open(id(1), id(2), SessionPurpose::DropOff, id(3), at(0));
        assert!(session.ensure_open().is_ok());
        let closed = session.close(at(9)).unwrap();
        assert_eq!(closed.closed_at, Some(at(9)));
        assert_eq!(closed.close(at(10)), Err(SessionClosed { closed_at: at(9) }));
        assert!(closed.ensure_open().is_err());
    }

    #[test]
    fn a_command_finishes_once() {
        let command = DoorCommand {
            id: id(1),
            point_id: id(2),
            compartment_id: id(3),
            label: "A01".into(),
            purpose: CommandPurpose::Deposit,
            parcel_id: Some(id(4)),
            session_id: Some(id(5)),
            reason: None,
            state: CommandState::Pending,
            created_at: at(0),
            done_at: None,
            version: 0,
        };
        let done = command.done(at(1)).unwrap();
        assert_eq!((done.state, done.done_at), (CommandState::Done, Some(at(1))));
        assert_eq!(done.done(at(2)), Err(CommandFinished { state: CommandState::Done }));
        assert_eq!(done.cancel(at(2)), Err(CommandFinished { state: CommandState::Done }));
        assert_eq!(command.cancel(at(1)).unwrap().state, CommandState::Cancelled);
    }

    #[test]
    fn names_round_trip_and_refusals_map_to_faults() {
        for s in ItemState::ALL {
            assert_eq!(ItemState::parse(s.as_str()), Some(s));
        }
        for p in [SessionPurpose::DropOff, SessionPurpose::ReturnCollection] {
            assert_eq!(SessionPurpose::parse(p.as_str()), Some(p));
        }
        for p in CommandPurpose::ALL {
            assert_eq!(CommandPurpose::parse(p.as_str()), Some(p));
        }
        for s in CommandState::ALL {
            assert_eq!(CommandState::parse(s.as_str()), Some(s));
        }
        for r in DoorReport::ALL {
            assert_eq!(DoorReport::parse(r.as_str()), Some(r));
        }
        let table = [
            (DoorRefusal::TooLarge, None),
            (DoorRefusal::DoorBroken, Some(DoorFault::Broken)),
            (DoorRefusal::CompartmentOccupied, Some(DoorFault::Blocked)),
        ];
        for (refusal, fault) in table {
            assert_eq!(DoorRefusal::parse(refusal.as_str()), Some(refusal));
            assert_eq!(refusal.fault(), fault);
        }
        assert_eq!(DoorReport::Closed.fault(), None);
        assert_eq!(DoorReport::Jammed.fault(), Some(DoorFault::Jammed));
    }
}
