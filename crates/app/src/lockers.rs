//! The locker at work: courier codes, courier drop-off sessions and their proof of deposit, the doors
//! relais orders open and what the locker reports back (closed, jammed, forced open), heartbeats,
//! collections a locker validated offline, and the operator's door actions.
//!
//! The rule that ties it together: a parcel is deposited when the locker reports its door **closed**,
//! not when the courier scans it. The scan only holds a compartment and queues an `open_door` command.
//! A door that fails takes its compartment out of service, flags the parcel behind it, and a parcel
//! waiting for that door is given another one in the same commit.

use chrono::{Duration, NaiveDate};
use relais_domain::Timestamp;
use relais_domain::attempts::AttemptLimits;
use relais_domain::compartment::{Compartment, DoorFault, ShareCandidate, choose_compartment, choose_shared};
use relais_domain::dropoff::{
    CommandPurpose, DoorCommand, DoorRefusal, DoorReport, DropOffItem, DropOffSession, ItemState, SessionPurpose,
};
use relais_domain::ids::{ApiKeyId, DropOffSessionId, ParcelId, PointId};
use relais_domain::parcel::{Actor, ActorKind, Parcel, ParcelState};
use relais_domain::point::PickupPoint;
use relais_domain::value::{ParcelNumber, ParseError, parse_text};
use relais_registry::index::Filter;
use subtle::ConstantTimeEq;

use crate::auth::{Caller, Permission, Role};
use crate::error::AppError;
use crate::parcels::{Collected, parse_qr_token, reservations_given_back};
use crate::points::{Near, PointSearch};
use crate::ports::{
    AttemptScope, AuditEntry, CommitError, DeviceStatus, OutboxMessage, Page, ParcelFilter, StoreError, Write,
};
use crate::{App, Retry, committed};

/// How long a door assigned in a session stays held for the courier.
pub const DOOR_HOLD_MINUTES: i64 = 15;
/// A parcel that finds no room is proposed a point this close (domain.md, overflow).
pub const RELOCATION_RADIUS_M: f64 = 2_000.0;
/// Most waiting parcels of one recipient at one point looked at for a compartment to share.
pub const SHARE_LOOKUP_MAX: u32 = 200;
/// Digits of a courier code.
pub const COURIER_CODE_DIGITS: usize = 8;
/// A locker that has not beaten for this long (10 heartbeats of 30 s) is reported offline.
pub const DEVICE_SILENCE_SECONDS: i64 = 300;
/// Most doors a heartbeat may describe (a locker has at most `Compartment::PER_POINT_MAX`).
pub const HEARTBEAT_DOORS_MAX: usize = 1_000;

/// Wrong courier codes at one locker before it refuses codes for a while.
pub const COURIER_ATTEMPTS: AttemptLimits =
    AttemptLimits { failures_max: 10, window_seconds: 600, lockout_seconds: 900 };

/// A carrier's courier code at a locker for one local day.
#[derive(Debug, Clone)]
pub struct CourierCode {
    pub point_id: PointId,
    pub carrier_key_id: ApiKeyId,
    pub code: String,
    /// The locker's local day the code is valid on.
    pub day: NaiveDate,
    /// Local midnight at the end of that day, in UTC.
    pub valid_until: Timestamp,
}

/// A parcel's place in a session after a scan or a refused door.
#[derive(Debug, Clone)]
pub struct SessionScan {
    pub item: DropOffItem,
    /// The door to open, while the parcel is assigned.
    pub command: Option<DoorCommand>,
}

/// A session and its parcels.
#[derive(Debug, Clone)]
pub struct SessionView {
    pub session: DropOffSession,
    pub items: Vec<DropOffItem>,
}

/// The proof of deposit of a session: what the courier left where, and when.
#[derive(Debug, Clone)]
pub struct Receipt {
    pub session: DropOffSession,
    pub point: PickupPoint,
    pub items: Vec<DropOffItem>,
}

/// What a door report did.
#[derive(Debug, Clone)]
pub struct DoorOutcome {
    pub compartment: Compartment,
    /// The command the report closed or called off.
    pub command: Option<DoorCommand>,
    /// The parcel now deposited behind that door.
    pub deposited: Option<Parcel>,
    /// The parcels behind a failing door, flagged.
    pub flagged: Vec<ParcelId>,
    /// A parcel that was waiting for the failing door, given another one (or failed).
    pub reassigned: Option<SessionScan>,
}

/// A door's state as a heartbeat reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DoorState {
    Closed,
    Open,
    Jammed,
}

impl DoorState {
    pub const fn as_str(self) -> &'static str {
        match self {
            DoorState::Closed => "closed",
            DoorState::Open => "open",
            DoorState::Jammed => "jammed",
        }
    }

    pub fn parse(input: &str) -> Option<Self> {
        [DoorState::Closed, DoorState::Open, DoorState::Jammed].into_iter().find(|s| s.as_str() == input)
    }
}

/// A heartbeat as the locker sends it (not yet checked).
#[derive(Debug, Clone, Default)]
pub struct Heartbeat {
    pub doors: Vec<(String, String)>,
    pub firmware: Option<String>,
}

/// What a heartbeat gets back.
#[derive(Debug, Clone)]
pub struct HeartbeatReply {
    pub commands: Vec<DoorCommand>,
    /// Doors the heartbeat reported jammed that are now out of service.
    pub taken_out_of_service: Vec<String>,
}

impl App {
    /// Today's courier code of a carrier at a locker. A carrier gets its own; an operator names the
    /// carrier key.
    pub async fn courier_code(
        &self,
        caller: &Caller,
        point_id: PointId,
        carrier_key_id: Option<ApiKeyId>,
    ) -> Result<CourierCode, AppError> {
        let carrier_key_id = match (caller.role, caller.key_id, carrier_key_id) {
            (Role::Carrier, Some(own), None) => own,
            (Role::Carrier, Some(own), Some(asked)) if own == asked => own,
            (Role::Operator, _, Some(asked)) => asked,
            (Role::Operator, _, None) => {
                return Err(ParseError::new("carrier_key_id", "is required when an operator asks").into());
            }
            (role, _, _) => return Err(AppError::Forbidden { role }),
        };
        let point = self.locker(point_id).await?;
        let (day, valid_until) = local_day(&point, self.now())?;
        Ok(CourierCode {
            point_id,
            carrier_key_id,
            code: self.secrets.courier_code(carrier_key_id, point_id, day),
            day,
            valid_until,
        })
    }

    /// A courier opens a drop-off session at a locker with the code of the day. Wrong codes count
    /// against the locker (`COURIER_ATTEMPTS`), as pickup codes do.
    pub async fn open_drop_off_session(
        &self,
        caller: &Caller,
        point_id: PointId,
        courier_code: &str,
    ) -> Result<DropOffSession, AppError> {
        let (session, _) = self.open_session(caller, point_id, courier_code, SessionPurpose::DropOff).await?;
        Ok(session)
    }

    /// A courier comes to take back the locker's expired parcels, with the same code of the day: every
    /// expired parcel's door is ordered open at once, and each is taken back when its door closes.
    pub async fn open_return_session(
        &self,
        caller: &Caller,
        point_id: PointId,
        courier_code: &str,
    ) -> Result<SessionView, AppError> {
        let (session, items) =
            self.open_session(caller, point_id, courier_code, SessionPurpose::ReturnCollection).await?;
        Ok(SessionView { session, items })
    }

    /// The expired parcels of a point, oldest deadline first, each with its door at a locker: the
    /// return-collection list a courier plans a round with.
    pub async fn return_list(
        &self,
        caller: &Caller,
        point_id: PointId,
    ) -> Result<Vec<(Parcel, Option<String>)>, AppError> {
        caller.require(Permission::ReturnParcel)?;
        self.store.point(point_id).await?.ok_or_else(|| AppError::not_found("point", point_id))?;
        let mut expired = self.expired_at(point_id).await?;
        expired.sort_by_key(|p| p.pickup_deadline);
        let compartments = self.store.compartments(point_id).await?;
        let door = |p: &Parcel| compartments.iter().find(|c| Some(c.id) == p.compartment_id).map(|c| c.label.clone());
        Ok(expired
            .into_iter()
            .map(|p| {
                let at = door(&p);
                (p, at)
            })
            .collect())
    }

    async fn expired_at(&self, point_id: PointId) -> Result<Vec<Parcel>, StoreError> {
        let filter =
            ParcelFilter { point_id: Some(point_id), state: Some(ParcelState::Expired), ..ParcelFilter::default() };
        let mut all = Vec::new();
        let mut after = None;
        loop {
            let page = self.store.parcels(&filter, Page { after, limit: 500 }).await?;
            after = page.last().map(|p| p.id);
            let done = page.len() < 500;
            all.extend(page);
            if done {
                return Ok(all);
            }
        }
    }

    async fn open_session(
        &self,
        caller: &Caller,
        point_id: PointId,
        courier_code: &str,
        purpose: SessionPurpose,
    ) -> Result<(DropOffSession, Vec<DropOffItem>), AppError> {
        caller.require(Permission::DropOffAt(point_id))?;
        let code = courier_code.trim();
        if code.len() != COURIER_CODE_DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ParseError::new("courier_code", format!("must be {COURIER_CODE_DIGITS} digits")).into());
        }
        let point = self.locker(point_id).await?;
        let scope = AttemptScope::CourierCode(point_id);
        self.check_attempts(scope).await?;
        let now = self.now();
        let (day, _) = local_day(&point, now)?;
        let carriers: Vec<ApiKeyId> = match caller.role {
            Role::Carrier => caller.key_id.into_iter().collect(),
            Role::Operator | Role::LockerDevice | Role::Merchant => {
                self.store.api_keys_with_role(Role::Carrier).await?.into_iter().map(|k| k.id).collect()
            }
        };
        // Every candidate is compared, in constant time, so the time taken tells nothing.
        let mut found = None;
        for carrier in carriers {
            let expected = self.secrets.courier_code(carrier, point_id, day);
            if bool::from(expected.as_bytes().ct_eq(code.as_bytes())) && found.is_none() {
                found = Some(carrier);
            }
        }
        let Some(carrier_key_id) = found else {
            self.record_failure(scope, COURIER_ATTEMPTS).await?;
            return Err(AppError::InvalidCourierCode);
        };
        let session = DropOffSession::open(self.new_id(), point_id, purpose, carrier_key_id, now);
        self.retrying(|| async {
            let mut writes = vec![Write::InsertDropOffSession(session.clone())];
            let mut items = Vec::new();
            if purpose == SessionPurpose::ReturnCollection {
                let compartments = self.store.compartments(point_id).await?;
                // Expired parcels sharing a compartment come out through one opening of its door.
                let mut opened = Vec::new();
                for parcel in self.expired_at(point_id).await? {
                    let Some(compartment) = compartments.iter().find(|c| c.holds(parcel.id)) else { continue };
                    if !opened.contains(&compartment.id) {
                        opened.push(compartment.id);
                        if let Some(stale) = self.store.pending_door_command(compartment.id).await? {
                            writes.push(Write::UpdateDoorCommand(stale.cancel(now).map_err(|_| Retry::Conflict)?));
                        }
                        writes.push(Write::InsertDoorCommand(DoorCommand::new(
                            self.new_id(),
                            compartment,
                            CommandPurpose::ReturnCollection,
                            Some(parcel.id),
                            Some(session.id),
                            now,
                        )));
                    }
                    let item = DropOffItem {
                        session_id: session.id,
                        parcel_id: parcel.id,
                        parcel_number: parcel.number.as_str().to_owned(),
                        compartment_id: Some(compartment.id),
                        label: Some(compartment.label.clone()),
                        state: ItemState::Assigned,
                        reason: None,
                        relocation_point_id: None,
                        scanned_at: now,
                        done_at: None,
                        version: 0,
                    };
                    writes.push(Write::InsertDropOffItem(item.clone()));
                    items.push(item);
                }
            }
            self.commit_session(writes).await?;
            Ok((session.clone(), items))
        })
        .await
    }

    /// A session with its parcels, for whoever may use it.
    pub async fn drop_off_session(
        &self,
        caller: &Caller,
        session_id: DropOffSessionId,
    ) -> Result<SessionView, AppError> {
        let session = self.session_for(caller, session_id).await.map_err(crate::parcels::retry_error)?;
        let items = self.store.drop_off_items(session.id).await?;
        Ok(SessionView { session, items })
    }

    /// The courier scans a parcel: a compartment is held and its door ordered open, or the parcel fails
    /// with a relocation proposal. Scanning the same parcel again answers the same.
    pub async fn scan_into_session(
        &self,
        caller: &Caller,
        session_id: DropOffSessionId,
        parcel_number: &str,
    ) -> Result<SessionScan, AppError> {
        let number = ParcelNumber::parse(parcel_number)?;
        self.retrying(|| async {
            let now = self.now();
            let session = self.open_drop_off_session_for(caller, session_id).await?;
            let parcel = self
                .store
                .parcel_by_number(&number)
                .await?
                .ok_or_else(|| AppError::not_found("parcel", number.as_str()))?;
            if parcel.point_id != session.point_id {
                return Err(AppError::WrongPoint { point_id: parcel.point_id.to_string() }.into());
            }
            if let Some(item) =
                self.store.drop_off_items(session.id).await?.into_iter().find(|i| i.parcel_id == parcel.id)
            {
                let command = match (item.state, item.compartment_id) {
                    (ItemState::Assigned, Some(compartment_id)) => {
                        self.store.pending_door_command(compartment_id).await?
                    }
                    _ => None,
                };
                return Ok(SessionScan { item, command });
            }
            let rules = self.rules_of_network(parcel.network_id).await?;
            // Refuse an invalid move (a parcel already deposited, collected...) before holding a door.
            parcel.deposit(None, &rules, carrier_actor(&session), now)?;
            let item = DropOffItem {
                session_id: session.id,
                parcel_id: parcel.id,
                parcel_number: number.as_str().to_owned(),
                compartment_id: None,
                label: None,
                state: ItemState::Assigned,
                reason: None,
                relocation_point_id: None,
                scanned_at: now,
                done_at: None,
                version: 0,
            };
            let compartments = self.store.compartments(session.point_id).await?;
            let mut writes = Vec::new();
            let scan =
                self.place_in_session(&session, &parcel, item, true, &compartments, |_| true, now, &mut writes).await?;
            self.commit_session(writes).await?;
            Ok(scan)
        })
        .await
    }

    /// The courier cannot use the door: too small (a larger class is tried), broken or not empty (the
    /// compartment goes out of service). The parcel gets another door, or fails with a relocation
    /// proposal.
    pub async fn refuse_door(
        &self,
        caller: &Caller,
        session_id: DropOffSessionId,
        parcel_id: ParcelId,
        refusal: DoorRefusal,
    ) -> Result<SessionScan, AppError> {
        self.retrying(|| async {
            let now = self.now();
            let session = self.open_drop_off_session_for(caller, session_id).await?;
            let item = self.session_item(session.id, parcel_id).await?;
            let (ItemState::Assigned, Some(refused_id)) = (item.state, item.compartment_id) else {
                return Err(AppError::NotAssigned { state: item.state.as_str() }.into());
            };
            let parcel = self.store.parcel(parcel_id).await?.ok_or_else(|| AppError::not_found("parcel", parcel_id))?;
            let mut compartments = self.store.compartments(session.point_id).await?;
            let Some(index) = compartments.iter().position(|c| c.id == refused_id) else {
                return Err(AppError::not_found("compartment", refused_id).into());
            };
            let refused = compartments[index].clone();
            let mut writes = Vec::new();
            if let Some(command) = self.store.pending_door_command(refused.id).await? {
                writes.push(Write::UpdateDoorCommand(command.cancel(now).map_err(|_| Retry::Conflict)?));
            }
            let actor = carrier_actor(&session);
            let updated = match refusal.fault() {
                Some(fault) => self.fault_door(&refused, fault, &actor, Some(parcel.id), now, &mut writes).await?.0,
                None => {
                    let released = refused.release(parcel.id).map_err(|_| Retry::Conflict)?;
                    writes.push(Write::UpdateCompartment(released.clone()));
                    released
                }
            };
            compartments[index] = updated;
            let item = DropOffItem { reason: Some(refusal.as_str().to_owned()), ..item };
            let larger_only = refusal == DoorRefusal::TooLarge;
            let candidate = |c: &Compartment| c.id != refused.id && (!larger_only || c.size > refused.size);
            let scan = self
                .place_in_session(&session, &parcel, item, false, &compartments, candidate, now, &mut writes)
                .await?;
            self.commit_session(writes).await?;
            Ok(scan)
        })
        .await
    }

    /// The courier is done: doors still waiting are called off (their parcels stay with the courier)
    /// and the session is closed. The proof of deposit is then final.
    pub async fn close_drop_off_session(
        &self,
        caller: &Caller,
        session_id: DropOffSessionId,
    ) -> Result<SessionView, AppError> {
        self.retrying(|| async {
            let now = self.now();
            let session = self.session_for(caller, session_id).await?;
            let closed = session.close(now).map_err(AppError::from)?;
            let mut writes = vec![Write::UpdateDropOffSession(closed.clone())];
            let mut items = self.store.drop_off_items(session.id).await?;
            let mut compartments = self.store.compartments(session.point_id).await?;
            let mut cancelled = Vec::new();
            let mut released = Vec::new();
            for item in items.iter_mut().filter(|i| i.state == ItemState::Assigned) {
                if let Some(compartment_id) = item.compartment_id {
                    if !cancelled.contains(&compartment_id) {
                        cancelled.push(compartment_id);
                        if let Some(command) = self.store.pending_door_command(compartment_id).await? {
                            writes.push(Write::UpdateDoorCommand(command.cancel(now).map_err(|_| Retry::Conflict)?));
                        }
                    }
                    // A parcel the courier kept gives its door back; an expired parcel not taken back stays in.
                    let held = compartments.iter_mut().find(|c| c.id == compartment_id && c.holds(item.parcel_id));
                    if let Some(held) = held.filter(|_| session.purpose == SessionPurpose::DropOff) {
                        *held = held.release(item.parcel_id).map_err(|_| Retry::Conflict)?;
                        released.push(compartment_id);
                    }
                }
                let not_deposited = item.not_deposited(now);
                writes.push(Write::UpdateDropOffItem(not_deposited.clone()));
                *item = DropOffItem { version: not_deposited.version + 1, ..not_deposited };
            }
            let given_back = compartments.into_iter().filter(|c| released.contains(&c.id));
            writes.extend(given_back.map(Write::UpdateCompartment));
            committed(self.commit(writes).await)?;
            Ok(SessionView { session: DropOffSession { version: closed.version + 1, ..closed }, items })
        })
        .await
    }

    /// The proof of deposit of a session (final once the session is closed).
    pub async fn drop_off_receipt(&self, caller: &Caller, session_id: DropOffSessionId) -> Result<Receipt, AppError> {
        let SessionView { session, items } = self.drop_off_session(caller, session_id).await?;
        let point =
            self.store.point(session.point_id).await?.ok_or_else(|| AppError::not_found("point", session.point_id))?;
        Ok(Receipt { session, point, items })
    }

    /// The locker reports a door: closed after an opening relais ordered (a deposit is recorded then),
    /// jammed or forced open (the compartment goes out of service, the parcel inside is flagged, and a
    /// parcel waiting for that door gets another).
    pub async fn report_door(
        &self,
        caller: &Caller,
        point_id: PointId,
        label: &str,
        report: DoorReport,
    ) -> Result<DoorOutcome, AppError> {
        caller.require(Permission::DeviceOf(point_id))?;
        self.retrying(|| async {
            let now = self.now();
            let mut compartments = self.store.compartments(point_id).await?;
            let Some(index) = compartments.iter().position(|c| c.label == label) else {
                return Err(AppError::not_found("door", label).into());
            };
            let compartment = compartments[index].clone();
            let command = self.store.pending_door_command(compartment.id).await?;
            let mut writes = Vec::new();
            let Some(fault) = report.fault() else {
                let Some(command) = command else {
                    return Err(AppError::DoorNotOpen { label: label.to_owned() }.into());
                };
                let done = command.done(now).map_err(|_| Retry::Conflict)?;
                writes.push(Write::UpdateDoorCommand(done.clone()));
                let deposited = match (command.purpose, command.parcel_id, command.session_id) {
                    (CommandPurpose::Deposit, Some(parcel_id), Some(session_id)) => {
                        Some(self.deposit_behind(&compartment, parcel_id, session_id, now, &mut writes).await?)
                    }
                    (CommandPurpose::ReturnCollection, Some(_), Some(session_id)) => {
                        self.take_back_behind(&compartment, session_id, now, &mut writes).await?;
                        None
                    }
                    _ => None,
                };
                self.commit_session(writes).await?;
                let compartment = compartments.swap_remove(index);
                return Ok(DoorOutcome {
                    compartment,
                    command: Some(done),
                    deposited,
                    flagged: Vec::new(),
                    reassigned: None,
                });
            };
            // A parcel on its way in through that door is not behind it: it gets another door below.
            let arriving = command.as_ref().filter(|c| c.purpose == CommandPurpose::Deposit).and_then(|c| c.parcel_id);
            let (faulted, flagged) =
                self.fault_door(&compartment, fault, &caller.actor(), arriving, now, &mut writes).await?;
            compartments[index] = faulted.clone();
            let mut cancelled = None;
            let mut reassigned = None;
            if let Some(command) = command {
                let off = command.cancel(now).map_err(|_| Retry::Conflict)?;
                writes.push(Write::UpdateDoorCommand(off.clone()));
                if let (CommandPurpose::Deposit, Some(parcel_id), Some(session_id)) =
                    (command.purpose, command.parcel_id, command.session_id)
                {
                    let session = self
                        .store
                        .drop_off_session(session_id)
                        .await?
                        .ok_or_else(|| AppError::not_found("drop-off session", session_id))?;
                    let item =
                        self.store.drop_off_items(session_id).await?.into_iter().find(|i| i.parcel_id == parcel_id);
                    let parcel = self.store.parcel(parcel_id).await?;
                    if let (Some(item), Some(parcel)) = (item, parcel) {
                        let item = DropOffItem { reason: Some(fault.as_str().to_owned()), ..item };
                        let failing = faulted.id;
                        let scan = self
                            .place_in_session(
                                &session,
                                &parcel,
                                item,
                                false,
                                &compartments,
                                |c| c.id != failing,
                                now,
                                &mut writes,
                            )
                            .await?;
                        reassigned = Some(scan);
                    }
                }
                cancelled = Some(off);
            }
            self.commit_session(writes).await?;
            Ok(DoorOutcome { compartment: faulted, command: cancelled, deposited: None, flagged, reassigned })
        })
        .await
    }

    /// The locker's heartbeat: its door states are recorded, a door it reports jammed goes out of
    /// service, and it gets the doors it has to open.
    pub async fn heartbeat(
        &self,
        caller: &Caller,
        point_id: PointId,
        heartbeat: Heartbeat,
    ) -> Result<HeartbeatReply, AppError> {
        caller.require(Permission::DeviceOf(point_id))?;
        if heartbeat.doors.len() > HEARTBEAT_DOORS_MAX {
            return Err(ParseError::new("doors", format!("at most {HEARTBEAT_DOORS_MAX} doors")).into());
        }
        let firmware = heartbeat.firmware.as_deref().map(|f| parse_text("firmware", f, 64)).transpose()?;
        let compartments = self.store.compartments(point_id).await?;
        if compartments.is_empty() {
            self.locker(point_id).await?;
        }
        let mut doors = Vec::with_capacity(heartbeat.doors.len());
        let mut jammed = Vec::new();
        for (label, state) in &heartbeat.doors {
            let door_state = DoorState::parse(state)
                .ok_or_else(|| ParseError::new("doors.state", "must be closed, open or jammed"))?;
            let Some(compartment) = compartments.iter().find(|c| &c.label == label) else {
                return Err(ParseError::new("doors.label", format!("this locker has no door {label:?}")).into());
            };
            if door_state == DoorState::Jammed && compartment.fault.is_none() {
                jammed.push(label.clone());
            }
            doors.push((label.clone(), door_state.as_str().to_owned()));
        }
        let key_id = caller.key_id.unwrap_or_default();
        let now = self.now();
        let status = DeviceStatus { point_id, key_id, last_seen_at: now, doors, firmware, offline_since: None };
        let mut writes = vec![Write::PutDeviceStatus(status)];
        // Back after relais had noticed its silence: say so.
        if let Some(since) = self.store.device_status(point_id).await?.and_then(|s| s.offline_since) {
            writes.push(Write::AppendOutbox(device_message(
                self.new_id(),
                "point.device_online",
                point_id,
                since,
                now,
            )));
        }
        self.commit(writes).await?;
        for label in &jammed {
            self.report_door(caller, point_id, label, DoorReport::Jammed).await?;
        }
        let commands = self.doors_to_open(point_id).await?;
        Ok(HeartbeatReply { commands, taken_out_of_service: jammed })
    }

    /// Marks offline the lockers silent for `DEVICE_SILENCE_SECONDS` (up to `limit`): a
    /// `point.device_offline` message and an audit line each; the next heartbeat says
    /// `point.device_online`.
    pub async fn flag_silent_devices(&self, caller: &Caller, limit: u32) -> Result<u32, AppError> {
        caller.require(Permission::RunJobs)?;
        let now = self.now();
        let before = now - Duration::seconds(DEVICE_SILENCE_SECONDS);
        let mut flagged = 0;
        for device in self.store.silent_devices(before, limit).await? {
            let (point_id, last_seen_at) = (device.point_id, device.last_seen_at);
            let audit = AuditEntry {
                seq: 0,
                at: now,
                actor: Actor::system(),
                action: "device_offline".to_owned(),
                point_id: Some(point_id),
                compartment_id: None,
                parcel_id: None,
                reason: Some(format!("no heartbeat since {}", last_seen_at.to_rfc3339())),
            };
            let writes = vec![
                Write::MarkDeviceOffline { point_id, last_seen_at, at: now },
                Write::AppendOutbox(device_message(self.new_id(), "point.device_offline", point_id, last_seen_at, now)),
                Write::AppendAudit(audit),
            ];
            // It beat meanwhile, or another process flagged it: nothing to say.
            match self.commit(writes).await {
                Ok(()) => flagged += 1,
                Err(CommitError::Conflict) => {}
                Err(other) => return Err(other.into()),
            }
        }
        Ok(flagged)
    }

    /// The doors a locker has to open now.
    pub async fn door_commands(&self, caller: &Caller, point_id: PointId) -> Result<Vec<DoorCommand>, AppError> {
        caller.require(Permission::DeviceOf(point_id))?;
        self.doors_to_open(point_id).await
    }

    /// The last heartbeat of a locker.
    pub async fn device_status(&self, caller: &Caller, point_id: PointId) -> Result<Option<DeviceStatus>, AppError> {
        caller.require(Permission::ReadNetwork)?;
        self.locker(point_id).await?;
        Ok(self.store.device_status(point_id).await?)
    }

    /// A locker was offline when a recipient showed a QR token; it checked the signature itself, opened
    /// the door, and reports the collection now. The token is accepted once: a second report finds the
    /// parcel collected (`invalid_transition`).
    pub async fn report_offline_collection(
        &self,
        caller: &Caller,
        point_id: PointId,
        qr_token: &str,
        at: Option<Timestamp>,
    ) -> Result<Collected, AppError> {
        caller.require(Permission::DeviceOf(point_id))?;
        let token = parse_qr_token(qr_token)?;
        let parcel = self.parcel_of_qr(&token, point_id).await?.ok_or(AppError::InvalidPickupCode)?;
        let now = self.now();
        // The reported time, kept between the deposit and now (a locker clock can drift).
        let at = at.map_or(now, |at| at.min(now).max(parcel.deposited_at.unwrap_or(at)));
        self.collect_at(caller, parcel, at, false, Some("offline_qr".to_owned())).await
    }

    /// An operator opens a door remotely (a stuck parcel, an inspection); the reason is required and
    /// audited.
    pub async fn open_door_remotely(
        &self,
        caller: &Caller,
        point_id: PointId,
        label: &str,
        reason: &str,
    ) -> Result<DoorCommand, AppError> {
        caller.require(Permission::OperateLocker)?;
        let reason = parse_text("reason", reason, 500)?;
        self.retrying(|| async {
            let now = self.now();
            let compartment = self.door(point_id, label).await?;
            if let Some(pending) = self.store.pending_door_command(compartment.id).await? {
                return Ok(pending);
            }
            let command = DoorCommand::new(self.new_id(), &compartment, CommandPurpose::Operator, None, None, now);
            let command = DoorCommand { reason: Some(reason.clone()), ..command };
            let audit = audit(now, caller.actor(), "remote_door_opening", &compartment, None, Some(&reason));
            let writes = vec![Write::InsertDoorCommand(command.clone()), Write::AppendAudit(audit)];
            self.commit_session(writes).await?;
            Ok(command)
        })
        .await
    }

    /// An operator declares a door repaired: the fault is cleared and an empty compartment is
    /// available again.
    pub async fn repair_door(
        &self,
        caller: &Caller,
        point_id: PointId,
        label: &str,
        reason: &str,
    ) -> Result<Compartment, AppError> {
        caller.require(Permission::OperateLocker)?;
        let reason = parse_text("reason", reason, 500)?;
        self.retrying(|| async {
            let now = self.now();
            let compartment = self.door(point_id, label).await?;
            let repaired = compartment.repair();
            let audit = audit(now, caller.actor(), "door_repaired", &compartment, None, Some(&reason));
            committed(self.commit(vec![Write::UpdateCompartment(repaired.clone()), Write::AppendAudit(audit)]).await)?;
            Ok(Compartment { version: repaired.version + 1, ..repaired })
        })
        .await
    }

    /// The audit log of a point or a parcel (operators).
    pub async fn audit_log(
        &self,
        caller: &Caller,
        point_id: Option<PointId>,
        parcel_id: Option<ParcelId>,
        after: Option<i64>,
        limit: Option<u32>,
    ) -> Result<Vec<AuditEntry>, AppError> {
        caller.require(Permission::OperateLocker)?;
        Ok(self.store.audit(point_id, parcel_id, after, self.page_limit(limit)).await?)
    }

    /// A point that has compartments, or why not.
    pub(crate) async fn locker(&self, point_id: PointId) -> Result<PickupPoint, AppError> {
        let point = self.store.point(point_id).await?.ok_or_else(|| AppError::not_found("point", point_id))?;
        if !point.kind.has_compartments() {
            return Err(ParseError::new("point_id", "is not a locker: a counter takes parcels over its shelf").into());
        }
        Ok(point)
    }

    async fn door(&self, point_id: PointId, label: &str) -> Result<Compartment, Retry> {
        self.locker(point_id).await?;
        let compartments = self.store.compartments(point_id).await?;
        Ok(compartments.into_iter().find(|c| c.label == label).ok_or_else(|| AppError::not_found("door", label))?)
    }

    /// The session if the caller may use it: its locker's device, the carrier that opened it, an
    /// operator. Anyone else is told it does not exist.
    async fn session_for(&self, caller: &Caller, session_id: DropOffSessionId) -> Result<DropOffSession, Retry> {
        let session = self.store.drop_off_session(session_id).await?;
        let visible = session.filter(|s| {
            caller.require(Permission::DropOffAt(s.point_id)).is_ok()
                && (caller.role != Role::Carrier || caller.key_id == Some(s.carrier_key_id))
        });
        Ok(visible.ok_or_else(|| AppError::not_found("drop-off session", session_id))?)
    }

    /// A session the caller may use that is still open and is a drop-off (scans and door refusals).
    async fn open_drop_off_session_for(
        &self,
        caller: &Caller,
        session_id: DropOffSessionId,
    ) -> Result<DropOffSession, Retry> {
        let session = self.session_for(caller, session_id).await?;
        session.ensure_open().map_err(AppError::from)?;
        drop_off_only(&session)?;
        Ok(session)
    }

    /// Gives the parcel a door among `compartments` that pass `candidate` (a compartment it can share
    /// with its recipient's parcels first, then its own hold, then best fit), holding it and queuing its
    /// opening; or fails the deposit with a relocation proposal. The item is inserted when `new`, updated
    /// otherwise.
    #[allow(clippy::too_many_arguments)] // One internal step shared by scan, refusal and door fault.
    async fn place_in_session(
        &self,
        session: &DropOffSession,
        parcel: &Parcel,
        item: DropOffItem,
        new: bool,
        compartments: &[Compartment],
        candidate: impl Fn(&Compartment) -> bool,
        now: Timestamp,
        writes: &mut Vec<Write>,
    ) -> Result<SessionScan, Retry> {
        let candidates: Vec<Compartment> = compartments.iter().filter(|c| candidate(c)).cloned().collect();
        let put = |item: &DropOffItem| {
            if new { Write::InsertDropOffItem(item.clone()) } else { Write::UpdateDropOffItem(item.clone()) }
        };
        let stored = |item: DropOffItem| if new { item } else { DropOffItem { version: item.version + 1, ..item } };
        // The door the parcel goes behind (shared or its own): stored as it now is, ordered open.
        let open_for_deposit = |door: Compartment, writes: &mut Vec<Write>| {
            let command =
                DoorCommand::new(self.new_id(), &door, CommandPurpose::Deposit, Some(parcel.id), Some(session.id), now);
            let item = item.assigned_to(door.id, &door.label);
            writes.push(Write::UpdateCompartment(door));
            writes.push(Write::InsertDoorCommand(command.clone()));
            writes.push(put(&item));
            SessionScan { item: stored(item), command: Some(command) }
        };
        if let Some(shared) = self.compartment_to_share(parcel, &candidates).await? {
            let joined = shared.share(parcel.id).map_err(|_| Retry::Conflict)?;
            // Its own announce reservation, elsewhere, is given back: sharing keeps that door free.
            writes.extend(reservations_given_back(compartments, parcel.id)?);
            return Ok(open_for_deposit(joined, writes));
        }
        match choose_compartment(&candidates, parcel.id, parcel.dimensions, parcel.weight, now) {
            Ok(chosen) => {
                let held = chosen.reserve(parcel.id, now + Duration::minutes(DOOR_HOLD_MINUTES), now);
                let held = held.map_err(|_| Retry::Conflict)?;
                // A command left pending on that door (a pickup whose closing was never reported) is stale.
                if let Some(stale) = self.store.pending_door_command(held.id).await? {
                    writes.push(Write::UpdateDoorCommand(stale.cancel(now).map_err(|_| Retry::Conflict)?));
                }
                Ok(open_for_deposit(held, writes))
            }
            Err(no_fit) => {
                let transition = parcel.fail_deposit(no_fit.as_str(), carrier_actor(session), now)?;
                // Whatever was held for it (its announce reservation) is given back.
                writes.extend(reservations_given_back(compartments, parcel.id)?);
                let relocation = self.relocation_for(parcel, session.point_id);
                let item = item.failed(no_fit.as_str(), relocation, now);
                writes.push(put(&item));
                let proposal = ("relocation_point_id", relocation.map(|p| p.to_string()).into());
                self.transition_writes(transition, Some(proposal), writes).await?;
                Ok(SessionScan { item: stored(item), command: None })
            }
        }
    }

    /// The compartment among `candidates` the parcel can share with its recipient's parcels from its
    /// merchant waiting there, if one has room ([`choose_shared`]). A door with a command pending is left
    /// alone: a parcel is going in or coming out.
    pub(crate) async fn compartment_to_share<'a>(
        &self,
        parcel: &Parcel,
        candidates: &'a [Compartment],
    ) -> Result<Option<&'a Compartment>, Retry> {
        if !candidates.iter().any(Compartment::takes_sharers) {
            return Ok(None);
        }
        let recipient = &parcel.recipient;
        let (phone, email) = (recipient.phone.as_ref(), recipient.email.as_ref());
        if phone.is_none() && email.is_none() {
            return Ok(None);
        }
        let waiting = self.store.parcels_waiting_for(parcel.point_id, phone, email, SHARE_LOOKUP_MAX).await?;
        let theirs: Vec<&Parcel> = waiting.iter().filter(|p| parcel.same_recipient(p)).collect();
        if theirs.is_empty() {
            return Ok(None);
        }
        let busy: Vec<_> =
            self.store.pending_door_commands(parcel.point_id).await?.into_iter().map(|c| c.compartment_id).collect();
        let shareable: Vec<ShareCandidate<'a>> = candidates
            .iter()
            .filter(|c| c.takes_sharers() && !busy.contains(&c.id))
            .filter_map(|compartment| {
                // Every parcel in it must be one of the recipient's.
                let inside = compartment
                    .holders()
                    .into_iter()
                    .map(|holder| theirs.iter().find(|p| p.id == holder).map(|p| (p.dimensions, p.weight)));
                Some(ShareCandidate { compartment, inside: inside.collect::<Option<Vec<_>>>()? })
            })
            .collect();
        Ok(choose_shared(&shareable, parcel.dimensions, parcel.weight))
    }

    /// The parcel a door command was for, its session, and its place in that session.
    async fn behind_door(
        &self,
        parcel_id: ParcelId,
        session_id: DropOffSessionId,
    ) -> Result<(Parcel, DropOffSession, DropOffItem), Retry> {
        let parcel = self.store.parcel(parcel_id).await?.ok_or_else(|| AppError::not_found("parcel", parcel_id))?;
        let session = self
            .store
            .drop_off_session(session_id)
            .await?
            .ok_or_else(|| AppError::not_found("drop-off session", session_id))?;
        let item = self.session_item(session_id, parcel_id).await?;
        Ok((parcel, session, item))
    }

    /// A parcel's place in a session.
    async fn session_item(&self, session_id: DropOffSessionId, parcel_id: ParcelId) -> Result<DropOffItem, Retry> {
        let items = self.store.drop_off_items(session_id).await?;
        let item = items.into_iter().find(|i| i.parcel_id == parcel_id);
        Ok(item.ok_or_else(|| AppError::not_found("parcel in this session", parcel_id))?)
    }

    /// Records a deposit behind a door that closed: the compartment held for the parcel is occupied and
    /// the parcel is `ready_for_pickup`, on behalf of the session's carrier.
    async fn deposit_behind(
        &self,
        compartment: &Compartment,
        parcel_id: ParcelId,
        session_id: DropOffSessionId,
        now: Timestamp,
        writes: &mut Vec<Write>,
    ) -> Result<Parcel, Retry> {
        let (parcel, session, item) = self.behind_door(parcel_id, session_id).await?;
        let rules = self.rules_of_network(parcel.network_id).await?;
        let occupied = compartment.occupy(parcel.id, now).map_err(|_| Retry::Conflict)?;
        let transition = parcel.deposit(Some(compartment.id), &rules, carrier_actor(&session), now)?;
        writes.push(Write::UpdateCompartment(occupied));
        writes.push(Write::UpdateDropOffItem(item.deposited(now)));
        self.transition_writes(transition, None, writes).await
    }

    /// Records a return collection behind a door that closed: each expired parcel of the session behind
    /// it (several when they shared the compartment) is `returning` (actor: the session's carrier) and
    /// leaves the compartment.
    async fn take_back_behind(
        &self,
        compartment: &Compartment,
        session_id: DropOffSessionId,
        now: Timestamp,
        writes: &mut Vec<Write>,
    ) -> Result<(), Retry> {
        let session = self
            .store
            .drop_off_session(session_id)
            .await?
            .ok_or_else(|| AppError::not_found("drop-off session", session_id))?;
        let mut left = compartment.clone();
        let items = self.store.drop_off_items(session_id).await?;
        let behind = |i: &DropOffItem| i.state == ItemState::Assigned && i.compartment_id == Some(compartment.id);
        for item in items.into_iter().filter(behind) {
            let parcel = self
                .store
                .parcel(item.parcel_id)
                .await?
                .ok_or_else(|| AppError::not_found("parcel", item.parcel_id))?;
            let transition = parcel.collect_return(carrier_actor(&session), now)?;
            left = left.release(parcel.id).map_err(|_| Retry::Conflict)?;
            writes.push(Write::UpdateDropOffItem(item.taken_back(now)));
            self.transition_writes(transition, None, writes).await?;
        }
        writes.push(Write::UpdateCompartment(left));
        Ok(())
    }

    /// Records a fault of a door: the compartment goes out of use (written), the parcels behind it are
    /// flagged, the fault is audited and told, and `arriving` (a parcel on its way in, not inside yet)
    /// leaves the compartment. Returns the compartment as it will be stored and the flagged parcels.
    async fn fault_door(
        &self,
        compartment: &Compartment,
        fault: DoorFault,
        actor: &Actor,
        arriving: Option<ParcelId>,
        now: Timestamp,
        writes: &mut Vec<Write>,
    ) -> Result<(Compartment, Vec<ParcelId>), Retry> {
        let faulted = compartment.report_fault(fault);
        let (mut after, mut inside) = (faulted.compartment, faulted.parcels_inside);
        if let Some(arriving) = arriving.filter(|p| inside.contains(p)) {
            after = after.release(arriving).map_err(|_| Retry::Conflict)?;
            inside.retain(|p| *p != arriving);
        }
        writes.extend(self.fault_writes(&after, fault, actor, inside.first().copied(), now));
        for parcel_id in &inside {
            let parcel =
                self.store.parcel(*parcel_id).await?.ok_or_else(|| AppError::not_found("parcel", *parcel_id))?;
            let transition = parcel.flag_fault(fault.as_str(), actor.clone(), now)?;
            self.transition_writes(transition, None, writes).await?;
        }
        writes.push(Write::UpdateCompartment(after.clone()));
        Ok((after, inside))
    }

    /// Writes that record a door fault: the audit line and the `point.door_fault` message.
    fn fault_writes(
        &self,
        compartment: &Compartment,
        fault: DoorFault,
        actor: &Actor,
        parcel_inside: Option<ParcelId>,
        now: Timestamp,
    ) -> Vec<Write> {
        let payload = serde_json::json!({
            "point_id": compartment.point_id.to_string(),
            "compartment_id": compartment.id.to_string(),
            "door": compartment.label,
            "fault": fault.as_str(),
            "parcel_id": parcel_inside.map(|p| p.to_string()),
            "actor": actor.kind.as_str(),
            "at": now.to_rfc3339(),
        });
        let message = OutboxMessage {
            id: self.new_id(),
            topic: "point.door_fault".to_owned(),
            parcel_id: parcel_inside,
            payload,
            created_at: now,
        };
        let audit = audit(now, actor.clone(), fault.as_str(), compartment, parcel_inside, None);
        vec![Write::AppendAudit(audit), Write::AppendOutbox(message)]
    }

    /// A proposal for a parcel that found no room: the nearest point of the same network within
    /// `RELOCATION_RADIUS_M` that takes it and has room now.
    fn relocation_for(&self, parcel: &Parcel, from: PointId) -> Option<PointId> {
        let origin = self.registry.index().point(from)?;
        let search = PointSearch {
            near: Some(Near::Position(origin.coordinates)),
            radius_m: Some(RELOCATION_RADIUS_M),
            limit: Some(5),
            filter: Filter {
                networks: vec![parcel.network_id],
                parcel: Some((parcel.dimensions, parcel.weight)),
                free_capacity: true,
                ..Filter::default()
            },
        };
        let result = self.search_points(&Caller::system(), &search).ok()?;
        result.hits.into_iter().map(|h| h.point.id).find(|id| *id != from)
    }

    /// The writes that record a door a locker opened itself for a pickup (a pending command its closing
    /// report will close), calling off any command left pending on that door. Except one: a parcel of
    /// the same recipient on its way in through that shared door keeps its deposit command, and the
    /// closing records that deposit (calling it off would leave the parcel inside, unrecorded).
    pub(crate) async fn pickup_door_writes(
        &self,
        compartment: &Compartment,
        parcel_id: ParcelId,
        now: Timestamp,
    ) -> Result<Vec<Write>, Retry> {
        let mut writes = Vec::with_capacity(2);
        if let Some(stale) = self.store.pending_door_command(compartment.id).await? {
            let arriving =
                stale.purpose == CommandPurpose::Deposit && stale.parcel_id.is_some_and(|p| compartment.holds(p));
            if arriving {
                return Ok(writes);
            }
            writes.push(Write::UpdateDoorCommand(stale.cancel(now).map_err(|_| Retry::Conflict)?));
        }
        let command = DoorCommand::new(self.new_id(), compartment, CommandPurpose::Pickup, Some(parcel_id), None, now);
        writes.push(Write::InsertDoorCommand(command));
        Ok(writes)
    }

    /// The doors a locker still has to open: pending commands but those it opened itself (pickups).
    /// A command stays listed until its door closes; the locker opens each command id once.
    async fn doors_to_open(&self, point_id: PointId) -> Result<Vec<DoorCommand>, AppError> {
        let mut commands = self.store.pending_door_commands(point_id).await?;
        commands.retain(|c| c.purpose != CommandPurpose::Pickup);
        Ok(commands)
    }

    /// Commits a locker command's writes; a door that got a pending command meanwhile is a lost race.
    async fn commit_session(&self, writes: Vec<Write>) -> Result<(), Retry> {
        match self.commit(writes).await {
            Err(CommitError::Duplicate { what: "door_command" }) => Err(Retry::Conflict),
            other => committed(other),
        }
    }
}

/// Scans and door refusals belong to drop-off sessions; a return collection's doors open by themselves.
fn drop_off_only(session: &DropOffSession) -> Result<(), AppError> {
    match session.purpose {
        SessionPurpose::DropOff => Ok(()),
        SessionPurpose::ReturnCollection => {
            Err(ParseError::new("session", "is a return collection: its doors were all ordered open when it opened")
                .into())
        }
    }
}

/// A locker gone silent, or back.
fn device_message(
    id: relais_domain::ids::OutboxId,
    topic: &str,
    point_id: PointId,
    since: Timestamp,
    now: Timestamp,
) -> OutboxMessage {
    let payload = serde_json::json!({
        "point_id": point_id.to_string(),
        "since": since.to_rfc3339(),
        "at": now.to_rfc3339(),
    });
    OutboxMessage { id, topic: topic.to_owned(), parcel_id: None, payload, created_at: now }
}

/// The carrier whose code opened the session: the actor of what happens through it.
fn carrier_actor(session: &DropOffSession) -> Actor {
    Actor::new(ActorKind::Carrier, session.carrier_key_id.to_string())
}

fn audit(
    at: Timestamp,
    actor: Actor,
    action: &str,
    compartment: &Compartment,
    parcel_id: Option<ParcelId>,
    reason: Option<&str>,
) -> AuditEntry {
    AuditEntry {
        seq: 0,
        at,
        actor,
        action: action.to_owned(),
        point_id: Some(compartment.point_id),
        compartment_id: Some(compartment.id),
        parcel_id,
        reason: reason.map(str::to_owned),
    }
}

/// The point's local day at `now`, and the UTC instant that day ends: courier codes turn over at the
/// locker's midnight, not at UTC's.
pub fn local_day(point: &PickupPoint, now: Timestamp) -> Result<(NaiveDate, Timestamp), AppError> {
    use chrono::TimeZone;
    let tz = relais_hours::parse_timezone(&point.timezone)
        .map_err(|_| ParseError::new("timezone", "the point's timezone is not known"))?;
    let day = now.with_timezone(&tz).date_naive();
    let next = day.succ_opt().unwrap_or(day).and_hms_opt(0, 0, 0).unwrap_or_default();
    // At a daylight-saving gap midnight may not exist: the first instant after it then.
    let end = tz
        .from_local_datetime(&next)
        .earliest()
        .or_else(|| tz.from_local_datetime(&(next + Duration::hours(1))).earliest())
        .map_or(now + Duration::days(1), |t| t.with_timezone(&chrono::Utc));
    Ok((day, end))
}

/// An instant as receipts print it: UTC, to the second.
fn receipt_time(at: Timestamp) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// How a receipt names what it proves, per session purpose.
struct ReceiptWords {
    kind: &'static str,
    done: ItemState,
    done_key: &'static str,
    other_key: &'static str,
    title: &'static str,
    done_label: &'static str,
    other_label: &'static str,
}

impl ReceiptWords {
    const fn of(purpose: SessionPurpose) -> ReceiptWords {
        match purpose {
            SessionPurpose::DropOff => ReceiptWords {
                kind: "relais.proof_of_deposit",
                done: ItemState::Deposited,
                done_key: "deposited",
                other_key: "not_deposited",
                title: "Preuve de dépôt / Proof of deposit",
                done_label: "Déposés / Deposited",
                other_label: "Non déposés / Not deposited",
            },
            SessionPurpose::ReturnCollection => ReceiptWords {
                kind: "relais.proof_of_return_collection",
                done: ItemState::TakenBack,
                done_key: "taken_back",
                other_key: "not_taken_back",
                title: "Preuve de reprise / Proof of return collection",
                done_label: "Repris / Taken back",
                other_label: "Non repris / Not taken back",
            },
        }
    }
}

impl Receipt {
    /// The proof of deposit (or of return collection) as a JSON document, to be signed: see
    /// [`crate::signed::sign_document`].
    pub fn document(&self) -> serde_json::Value {
        let words = ReceiptWords::of(self.session.purpose);
        let address = &self.point.address;
        let done: Vec<serde_json::Value> = self
            .items
            .iter()
            .filter(|i| i.state == words.done)
            .map(|i| {
                serde_json::json!({
                    "parcel_number": i.parcel_number,
                    "parcel_id": i.parcel_id.to_string(),
                    "door": i.label,
                    "at": i.done_at.map(receipt_time),
                })
            })
            .collect();
        let others: Vec<serde_json::Value> = self
            .items
            .iter()
            .filter(|i| i.state != words.done)
            .map(|i| {
                serde_json::json!({
                    "parcel_number": i.parcel_number,
                    "parcel_id": i.parcel_id.to_string(),
                    "state": i.state.as_str(),
                    "reason": i.reason,
                    "relocation_point_id": i.relocation_point_id.map(|p| p.to_string()),
                })
            })
            .collect();
        let mut document = serde_json::json!({
            "type": words.kind,
            "version": 1,
            "session_id": self.session.id.to_string(),
            "point": {
                "id": self.point.id.to_string(),
                "network_id": self.point.network_id.to_string(),
                "external_id": self.point.external_id,
                "name": self.point.name,
                "address": format!("{}, {} {}, {}", address.line1, address.postcode, address.city, address.country),
            },
            "carrier_key_id": self.session.carrier_key_id.to_string(),
            "opened_at": receipt_time(self.session.opened_at),
            "closed_at": self.session.closed_at.map(receipt_time),
        });
        document[words.done_key] = done.into();
        document[words.other_key] = others.into();
        document
    }

    /// The printable receipt, in French and English, with the signature to check it against.
    pub fn pdf(&self, signature: &str, key_id: &str) -> Vec<u8> {
        use crate::pdf::Line;
        let words = ReceiptWords::of(self.session.purpose);
        let point = &self.point;
        let mut lines = vec![
            Line::title(words.title),
            Line::new(""),
            Line::new(format!("Consigne / Locker: {} ({})", point.name, point.external_id)),
            Line::new(format!(
                "{}, {} {}, {}",
                point.address.line1, point.address.postcode, point.address.city, point.address.country
            )),
            Line::new(format!("Session: {}", self.session.id)),
            Line::new(format!("Transporteur / Carrier key: {}", self.session.carrier_key_id)),
            Line::new(format!("Ouverte / Opened: {}", receipt_time(self.session.opened_at))),
            Line::new(format!(
                "Fermée / Closed: {}",
                self.session.closed_at.map_or_else(|| "ouverte / still open".to_owned(), receipt_time)
            )),
            Line::new(""),
        ];
        let done: Vec<&DropOffItem> = self.items.iter().filter(|i| i.state == words.done).collect();
        lines.push(Line::new(format!("{}: {}", words.done_label, done.len())));
        for item in done {
            lines.push(Line::new(format!(
                "  {}   porte / door {}   {}",
                item.parcel_number,
                item.label.as_deref().unwrap_or("-"),
                item.done_at.map(receipt_time).unwrap_or_default()
            )));
        }
        let others: Vec<&DropOffItem> = self.items.iter().filter(|i| i.state != words.done).collect();
        lines.push(Line::new(""));
        lines.push(Line::new(format!("{}: {}", words.other_label, others.len())));
        for item in others {
            let relocation =
                item.relocation_point_id.map(|p| format!("   relais proposé / proposed point {p}")).unwrap_or_default();
            lines.push(Line::new(format!(
                "  {}   {}   {}{relocation}",
                item.parcel_number,
                item.state.as_str(),
                item.reason.as_deref().unwrap_or("")
            )));
        }
        lines.push(Line::new(""));
        lines.push(Line::new(format!("Signature Ed25519 (clé / key {key_id}):")));
        for chunk in signature.as_bytes().chunks(64) {
            lines.push(Line::new(format!("  {}", String::from_utf8_lossy(chunk))));
        }
        lines.push(Line::new("Vérifier / Verify: relais receipt verify <receipt.json>"));
        crate::pdf::document(words.title, &lines)
    }
}

impl App {
    /// An operator moves a parcel to another free compartment of its locker (it was behind a failing
    /// door, the locker is being rearranged); the parcel keeps its code and deadline. The reason is
    /// required, on the parcel's event and in the audit log.
    pub async fn move_parcel(
        &self,
        caller: &Caller,
        parcel_id: ParcelId,
        door: &str,
        reason: &str,
    ) -> Result<Parcel, AppError> {
        caller.require(Permission::OperateLocker)?;
        let reason = parse_text("reason", reason, 500)?;
        self.retrying(|| async {
            let now = self.now();
            let parcel = self.store.parcel(parcel_id).await?.ok_or_else(|| AppError::not_found("parcel", parcel_id))?;
            let compartments = self.store.compartments(parcel.point_id).await?;
            let target =
                compartments.iter().find(|c| c.label == door).ok_or_else(|| AppError::not_found("door", door))?;
            // Refuses a parcel that is not in a compartment (not deposited, collected...).
            let transition = parcel.move_to(target.id, &reason, caller.actor(), now)?;
            // The parcel's compartment not holding it means another command moved it: reload.
            let current = compartments.iter().find(|c| c.holds(parcel.id)).ok_or(Retry::Conflict)?;
            if current.id == target.id {
                return Err(ParseError::new("door", "is the parcel's compartment already").into());
            }
            if relais_domain::compartment::any_compartment_fits(
                std::slice::from_ref(target),
                parcel.dimensions,
                parcel.weight,
            )
            .is_err()
            {
                return Err(AppError::NoFittingCompartment(relais_domain::compartment::NoFit::TooLarge).into());
            }
            let occupied = target
                .occupy(parcel.id, now)
                .map_err(|_| AppError::NoFittingCompartment(relais_domain::compartment::NoFit::AllFittingBusy))?;
            let mut writes = vec![
                Write::UpdateCompartment(current.release(parcel.id).map_err(|_| Retry::Conflict)?),
                Write::UpdateCompartment(occupied),
                Write::AppendAudit(audit(now, caller.actor(), "parcel_moved", target, Some(parcel.id), Some(&reason))),
            ];
            let moved = self.transition_writes(transition, None, &mut writes).await?;
            committed(self.commit(writes).await)?;
            Ok(moved)
        })
        .await
    }
}

impl App {
    /// Overflow: a parcel whose chosen point had no room (`deposit_failed`) goes to `to`, a point of the
    /// same network within `RELOCATION_RADIUS_M` that takes it; the courier deposits it there with the
    /// same code, it waits one business day, then goes on to the chosen point (taken out like an
    /// expired parcel, `in_transit` to the chosen point again).
    pub async fn relocate_parcel(&self, caller: &Caller, parcel_id: ParcelId, to: PointId) -> Result<Parcel, AppError> {
        caller.require(Permission::HandleParcel)?;
        self.retrying(|| async {
            let parcel = self.store.parcel(parcel_id).await?;
            let parcel =
                parcel.filter(|p| caller.can_see(p)).ok_or_else(|| AppError::not_found("parcel", parcel_id))?;
            let chosen = parcel.relocated_from.unwrap_or(parcel.point_id);
            let (chosen, target) = (self.store.point(chosen).await?, self.store.point(to).await?);
            let chosen = chosen.ok_or_else(|| AppError::not_found("point", parcel.point_id))?;
            let target =
                target.filter(|t| t.network_id == parcel.network_id).ok_or_else(|| AppError::not_found("point", to))?;
            let distance = chosen.coordinates.distance_m(target.coordinates);
            if distance > RELOCATION_RADIUS_M {
                let problem = format!(
                    "is {distance:.0} m from the chosen point; an overflow point is within {RELOCATION_RADIUS_M:.0} m"
                );
                return Err(ParseError::new("point_id", problem).into());
            }
            if !target.accepts_parcels() {
                return Err(AppError::NoFittingCompartment(relais_domain::compartment::NoFit::PointUnavailable).into());
            }
            if target.kind.has_compartments() {
                let compartments = self.store.compartments(target.id).await?;
                relais_domain::compartment::any_compartment_fits(&compartments, parcel.dimensions, parcel.weight)
                    .map_err(AppError::NoFittingCompartment)?;
            } else if let Some(refusal) = target.shelf_refusal(parcel.dimensions, parcel.weight) {
                return Err(AppError::NoFittingCompartment(refusal).into());
            }
            let transition = parcel.relocate(target.id, caller.actor(), self.now())?;
            self.commit_transition(&parcel, transition, Vec::new()).await
        })
        .await
    }
}
