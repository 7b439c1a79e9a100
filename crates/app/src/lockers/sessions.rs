//! Courier sessions at a locker, opened with the courier code of the day: a drop-off (each scan holds a
//! door and orders it open; the deposit is recorded when the door closes, `doors.rs`) or a return
//! collection (every expired parcel's door ordered open at once). Closing a session makes its proof
//! final (`crate::receipts`).

use chrono::Duration;
use relais_domain::compartment::{
    Compartment, ShareCandidate, choose_compartment, choose_shared, reservations_given_back,
};
use relais_domain::dropoff::{
    CommandPurpose, DoorCommand, DoorRefusal, DropOffItem, DropOffSession, ItemState, SessionPurpose,
};
use relais_domain::ids::{ApiKeyId, DropOffSessionId, ParcelId, PointId};
use relais_domain::parcel::{Parcel, ParcelState};
use relais_domain::value::{ParcelNumber, ParseError};
use subtle::ConstantTimeEq;

use super::{COURIER_CODE_DIGITS, carrier_actor, local_day};
use crate::App;
use crate::auth::{Caller, Permission, Role};
use crate::command::{Halt, Tx, visible_session};
use crate::error::{AppError, Throttled};
use crate::ports::{AttemptScope, Page, ParcelFilter, StoreError, Write};

/// How long a door assigned in a session stays held for the courier.
pub const DOOR_HOLD_MINUTES: i64 = 15;
/// Most waiting parcels of one recipient at one point looked at for a compartment to share.
pub const SHARE_LOOKUP_MAX: u32 = 200;
/// Expired parcels of a point read per page when a return collection lists them.
const EXPIRED_PAGE: u32 = 500;

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

impl App {
    /// A courier opens a drop-off session at a locker with the code of the day. Wrong codes count
    /// against the locker (`AppLimits::courier_attempts`), as pickup codes do.
    pub async fn open_drop_off_session(
        &self,
        caller: &Caller,
        point_id: PointId,
        courier_code: &str,
    ) -> Result<DropOffSession, AppError> {
        let view = self.open_session(caller, point_id, courier_code, SessionPurpose::DropOff).await?;
        Ok(view.session)
    }

    /// A courier comes to take back the locker's expired parcels, with the same code of the day: every
    /// expired parcel's door is ordered open at once, and each is taken back when its door closes.
    pub async fn open_return_session(
        &self,
        caller: &Caller,
        point_id: PointId,
        courier_code: &str,
    ) -> Result<SessionView, AppError> {
        self.open_session(caller, point_id, courier_code, SessionPurpose::ReturnCollection).await
    }

    /// The expired parcels of a point, oldest deadline first, each with its door at a locker: the
    /// return-collection list a courier plans a round with.
    pub async fn return_list(
        &self,
        caller: &Caller,
        point_id: PointId,
    ) -> Result<Vec<(Parcel, Option<String>)>, AppError> {
        caller.require(Permission::ReturnParcel)?;
        let point = self.load_point(point_id).await?;
        if !caller.serves(point.network_id) {
            return Err(AppError::Forbidden { role: caller.role });
        }
        let mut expired: Vec<Parcel> =
            self.expired_at(point_id).await?.into_iter().filter(|p| caller.can_see(p)).collect();
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
            let page = self.store.parcels(&filter, Page { after, limit: EXPIRED_PAGE }).await?;
            after = page.last().map(|p| p.id);
            let done = page.len() < EXPIRED_PAGE as usize;
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
    ) -> Result<SessionView, AppError> {
        caller.require(Permission::DropOffAt(point_id))?;
        let code = courier_code.trim();
        if code.len() != COURIER_CODE_DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ParseError::new("courier_code", format!("must be {COURIER_CODE_DIGITS} digits")).into());
        }
        let point = self.load_locker(point_id).await?;
        // A carrier's handheld is limited on its own: its wrong codes lock nobody else out of the locker.
        // Codes typed on the locker's keypad (its device) count against the locker.
        let scope = match (caller.role, caller.key_id) {
            (Role::Carrier, Some(key_id)) => AttemptScope::CarrierCourierCode(point_id, key_id),
            _ => AttemptScope::CourierCode(point_id),
        };
        let gate = self.gates.of(point_id);
        let _one_at_a_time = gate.lock().await;
        let admission = self.check_attempts(scope, self.limits.courier_attempts, Throttled::CourierCodes).await?;
        let now = self.now();
        let (day, _) = local_day(&point, now)?;
        let carriers: Vec<ApiKeyId> = match caller.role {
            Role::Carrier if caller.serves(point.network_id) => caller.key_id.into_iter().collect(),
            Role::Carrier => return Err(AppError::Forbidden { role: caller.role }),
            Role::Operator | Role::LockerDevice | Role::Merchant => {
                self.store.carrier_keys_serving(point.network_id).await?.into_iter().map(|k| k.id).collect()
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
            self.record_failure(scope, self.limits.courier_attempts).await?;
            return Err(AppError::InvalidCourierCode);
        };
        if admission == relais_domain::attempts::Admission::Probe {
            self.record_probe(scope).await?;
        }
        let session = DropOffSession::open(self.new_id(), point_id, purpose, carrier_key_id, now);
        self.run(|| async {
            let mut tx = self.tx();
            tx.retry_on_duplicate("door_command");
            tx.write(Write::InsertDropOffSession(session.clone()));
            let mut items = Vec::new();
            if purpose == SessionPurpose::ReturnCollection {
                // The courier takes back the expired parcels its carrier handles, no one else's.
                let carrier = self.session_carrier(&session).await?;
                let compartments = self.store.compartments(point_id).await?;
                // Expired parcels sharing a compartment come out through one opening of its door.
                let mut opened = Vec::new();
                for parcel in self.expired_at(point_id).await?.into_iter().filter(|p| carrier.can_see(p)) {
                    let Some(compartment) = compartments.iter().find(|c| c.holds(parcel.id)) else { continue };
                    if !opened.contains(&compartment.id) {
                        opened.push(compartment.id);
                        if let Some(stale) = self.store.pending_door_command(compartment.id).await? {
                            tx.write(Write::UpdateDoorCommand(stale.cancel(tx.now)?));
                        }
                        let purpose = CommandPurpose::ReturnCollection;
                        let command = DoorCommand::new(
                            self.new_id(),
                            compartment,
                            purpose,
                            Some(parcel.id),
                            Some(session.id),
                            tx.now,
                        );
                        tx.write(Write::InsertDoorCommand(command));
                    }
                    let item = DropOffItem::scanned(session.id, parcel.id, parcel.number.as_str(), tx.now)
                        .assigned_to(compartment.id, &compartment.label);
                    tx.write(Write::InsertDropOffItem(item.clone()));
                    items.push(item);
                }
            }
            Ok(tx.done(SessionView { session: session.clone(), items }))
        })
        .await
    }

    /// A session with its parcels, for whoever may use it.
    pub async fn drop_off_session(
        &self,
        caller: &Caller,
        session_id: DropOffSessionId,
    ) -> Result<SessionView, AppError> {
        let session = self.load_session_for(caller, session_id).await?;
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
        self.run(|| async {
            let mut tx = self.tx();
            tx.retry_on_duplicate("door_command");
            // A parcel announced elsewhere, or that the session's carrier does not handle, is not found
            // here: a scan learns nothing of other points' parcels.
            let (session, carrier) = self.open_drop_off_session_with_carrier(caller, session_id).await?;
            let parcel = self.parcel_numbered_at(&number, session.point_id, |p| carrier.can_see(p)).await?;
            if let Some(item) =
                self.store.drop_off_items(session.id).await?.into_iter().find(|i| i.parcel_id == parcel.id)
            {
                let command = match (item.state, item.compartment_id) {
                    (ItemState::Assigned, Some(compartment_id)) => {
                        self.store.pending_door_command(compartment_id).await?
                    }
                    _ => None,
                };
                return Ok(tx.done(SessionScan { item, command }));
            }
            let rules = self.load_rules(parcel.network_id).await?;
            // Refuse an invalid move (a parcel already deposited, collected...) before holding a door.
            parcel.deposit(None, &rules, carrier_actor(&session), tx.now)?;
            let item = DropOffItem::scanned(session.id, parcel.id, number.as_str(), tx.now);
            let compartments = self.store.compartments(session.point_id).await?;
            let placed = Placement { session: &session, parcel: &parcel, item, new: true };
            let scan = self.place_in_session(&mut tx, placed, &compartments, |_| true).await?;
            Ok(tx.done(scan))
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
        self.run(|| async {
            let mut tx = self.tx();
            tx.retry_on_duplicate("door_command");
            let session = self.open_drop_off_session_for(caller, session_id).await?;
            let item = self.session_item(session.id, parcel_id).await?;
            let (ItemState::Assigned, Some(refused_id)) = (item.state, item.compartment_id) else {
                return Err(AppError::NotAssigned { state: item.state.as_str() }.into());
            };
            let parcel = self.load_parcel(parcel_id).await?;
            let mut compartments = self.store.compartments(session.point_id).await?;
            let Some(index) = compartments.iter().position(|c| c.id == refused_id) else {
                return Err(AppError::not_found("compartment", refused_id).into());
            };
            let refused = compartments[index].clone();
            if let Some(command) = self.store.pending_door_command(refused.id).await? {
                tx.write(Write::UpdateDoorCommand(command.cancel(tx.now)?));
            }
            let actor = carrier_actor(&session);
            compartments[index] = match refusal.fault() {
                Some(fault) => self.fault_door(&mut tx, &refused, fault, &actor, Some(parcel.id), None).await?.0,
                None => {
                    let released = refused.release(parcel.id)?;
                    tx.compartment(released.clone());
                    released
                }
            };
            let item = DropOffItem { reason: Some(refusal.as_str().to_owned()), ..item };
            let larger_only = refusal == DoorRefusal::TooLarge;
            let candidate = |c: &Compartment| c.id != refused.id && (!larger_only || c.size > refused.size);
            let placed = Placement { session: &session, parcel: &parcel, item, new: false };
            let scan = self.place_in_session(&mut tx, placed, &compartments, candidate).await?;
            Ok(tx.done(scan))
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
        self.run(|| async {
            let mut tx = self.tx();
            let session = self.load_session_for(caller, session_id).await?;
            let closed = session.close(tx.now).map_err(AppError::from)?;
            tx.write(Write::UpdateDropOffSession(closed.clone()));
            let mut items = self.store.drop_off_items(session.id).await?;
            let mut compartments = self.store.compartments(session.point_id).await?;
            let mut cancelled = Vec::new();
            let mut released = Vec::new();
            for item in items.iter_mut().filter(|i| i.state == ItemState::Assigned) {
                if let Some(compartment_id) = item.compartment_id {
                    if !cancelled.contains(&compartment_id) {
                        cancelled.push(compartment_id);
                        if let Some(command) = self.store.pending_door_command(compartment_id).await? {
                            tx.write(Write::UpdateDoorCommand(command.cancel(tx.now)?));
                        }
                    }
                    // A parcel the courier kept gives its door back; an expired parcel not taken back stays in.
                    let held = compartments.iter_mut().find(|c| c.id == compartment_id && c.holds(item.parcel_id));
                    if let Some(held) = held.filter(|_| session.purpose == SessionPurpose::DropOff) {
                        *held = held.release(item.parcel_id)?;
                        released.push(compartment_id);
                    }
                }
                let not_deposited = item.not_deposited(tx.now);
                tx.write(Write::UpdateDropOffItem(not_deposited.clone()));
                *item = DropOffItem { version: not_deposited.version + 1, ..not_deposited };
            }
            for given_back in compartments.into_iter().filter(|c| released.contains(&c.id)) {
                tx.compartment(given_back);
            }
            Ok(tx.done(SessionView { session: DropOffSession { version: closed.version + 1, ..closed }, items }))
        })
        .await
    }

    /// A session the caller may use that is still open and is a drop-off (scans and door refusals).
    async fn open_drop_off_session_for(
        &self,
        caller: &Caller,
        session_id: DropOffSessionId,
    ) -> Result<DropOffSession, AppError> {
        let session = self.load_session_for(caller, session_id).await?;
        still_taking_parcels(session)
    }

    /// `open_drop_off_session_for`, with the carrier whose courier code opened the session as a caller
    /// (what it may handle), read with the session in one statement: a scan's check.
    async fn open_drop_off_session_with_carrier(
        &self,
        caller: &Caller,
        session_id: DropOffSessionId,
    ) -> Result<(DropOffSession, Caller), AppError> {
        let Some((session, key, networks)) = self.store.drop_off_session_with_carrier(session_id).await? else {
            return Err(AppError::not_found("drop-off session", session_id));
        };
        let session = still_taking_parcels(visible_session(caller, Some(session), session_id)?)?;
        Ok((session, Caller::from_key(&key, networks)))
    }

    /// The carrier whose courier code opened a session, as a caller: what it may handle.
    pub(crate) async fn session_carrier(&self, session: &DropOffSession) -> Result<Caller, AppError> {
        match self.store.api_key_with_networks(session.carrier_key_id).await? {
            Some((key, networks)) => Ok(Caller::from_key(&key, networks)),
            None => Ok(Caller { role: Role::Carrier, ..Caller::system() }),
        }
    }

    /// A parcel's place in a session.
    pub(crate) async fn session_item(
        &self,
        session_id: DropOffSessionId,
        parcel_id: ParcelId,
    ) -> Result<DropOffItem, AppError> {
        let items = self.store.drop_off_items(session_id).await?;
        let item = items.into_iter().find(|i| i.parcel_id == parcel_id);
        item.ok_or_else(|| AppError::not_found("parcel in this session", parcel_id))
    }

    /// Gives the parcel a door among `compartments` that pass `candidate` (a compartment it can share
    /// with its recipient's parcels first, then its own hold, then best fit), holding it and queuing its
    /// opening; or fails the deposit with a relocation proposal.
    pub(crate) async fn place_in_session(
        &self,
        tx: &mut Tx<'_>,
        placed: Placement<'_>,
        compartments: &[Compartment],
        candidate: impl Fn(&Compartment) -> bool,
    ) -> Result<SessionScan, Halt> {
        let Placement { session, parcel, item, new } = placed;
        let candidates: Vec<Compartment> = compartments.iter().filter(|c| candidate(c)).cloned().collect();
        let put = |item: &DropOffItem| {
            if new { Write::InsertDropOffItem(item.clone()) } else { Write::UpdateDropOffItem(item.clone()) }
        };
        let stored = |item: DropOffItem| if new { item } else { DropOffItem { version: item.version + 1, ..item } };
        // The door the parcel goes behind (shared or its own): stored as it now is, ordered open.
        let open_for_deposit = |door: Compartment, tx: &mut Tx<'_>| {
            let command = DoorCommand::new(
                self.new_id(),
                &door,
                CommandPurpose::Deposit,
                Some(parcel.id),
                Some(session.id),
                tx.now,
            );
            let item = item.assigned_to(door.id, &door.label);
            tx.compartment(door);
            tx.write(Write::InsertDoorCommand(command.clone()));
            tx.write(put(&item));
            SessionScan { item: stored(item), command: Some(command) }
        };
        if let Some(shared) = self.compartment_to_share(parcel, &candidates).await? {
            let joined = shared.share(parcel.id)?;
            // Its own announce reservation, elsewhere, is given back: sharing keeps that door free.
            for given_back in reservations_given_back(compartments, parcel.id)? {
                tx.compartment(given_back);
            }
            return Ok(open_for_deposit(joined, tx));
        }
        match choose_compartment(&candidates, parcel.id, parcel.dimensions, parcel.weight, tx.now) {
            Ok(chosen) => {
                let held = chosen.reserve(parcel.id, tx.now + Duration::minutes(DOOR_HOLD_MINUTES), tx.now)?;
                // A command left pending on that door (a pickup whose closing was never reported) is stale.
                if let Some(stale) = self.store.pending_door_command(held.id).await? {
                    tx.write(Write::UpdateDoorCommand(stale.cancel(tx.now)?));
                }
                Ok(open_for_deposit(held, tx))
            }
            Err(no_fit) => {
                let failed = parcel.fail_deposit(no_fit.as_str(), carrier_actor(session), tx.now)?;
                // Whatever was held for it (its announce reservation) is given back.
                for given_back in reservations_given_back(compartments, parcel.id)? {
                    tx.compartment(given_back);
                }
                let relocation = self.relocation_for(parcel, session.point_id);
                let item = item.failed(no_fit.as_str(), relocation, tx.now);
                tx.write(put(&item));
                let proposal = ("relocation_point_id", relocation.map(|p| p.to_string()).into());
                tx.transition_noting(failed, Some(proposal)).await?;
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
    ) -> Result<Option<&'a Compartment>, StoreError> {
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
}

/// A parcel being given a door in a session: its item, inserted when `new`, updated otherwise.
pub(crate) struct Placement<'a> {
    pub session: &'a DropOffSession,
    pub parcel: &'a Parcel,
    pub item: DropOffItem,
    pub new: bool,
}

/// The session if it still takes parcels: open, and a drop-off (a return collection's doors were all
/// ordered open when it opened).
fn still_taking_parcels(session: DropOffSession) -> Result<DropOffSession, AppError> {
    session.ensure_open()?;
    match session.purpose {
        SessionPurpose::DropOff => Ok(session),
        SessionPurpose::ReturnCollection => {
            Err(ParseError::new("session", "is a return collection: its doors were all ordered open when it opened")
                .into())
        }
    }
}
