//! The parcel lifecycle use cases: announce, scan, deposit, pickup, extension, return collection,
//! return to sender, cancel, incident; and the reads of parcels and their events.

use relais_domain::attempts::{AttemptCounter, AttemptLimits};
use relais_domain::compartment::{Compartment, NoFit, any_compartment_fits, choose_compartment};
use relais_domain::ids::{ParcelId, PointId};
use relais_domain::network::NetworkRules;
use relais_domain::parcel::{IncidentKind, NewParcel, Parcel, ParcelState, PickupSecretDigests, Recipient, Transition};
use relais_domain::point::PickupPoint;
use relais_domain::value::{Dimensions, Email, ParcelNumber, ParseError, Phone, PickupCode, Weight, parse_text};

use crate::auth::{Caller, Permission, Role};
use crate::counters::IdentityCheck;
use crate::error::AppError;
use crate::ports::{AttemptScope, CommitError, Page, ParcelFilter, StoredEvent, Write};
use crate::secrets::{digests_equal, new_pickup_code};
use crate::signed;
use crate::{App, Retry, committed};

/// A parcel announcement, as the merchant sends it (not yet parsed).
#[derive(Debug, Clone)]
pub struct AnnounceParcel {
    /// Required when an operator announces on a merchant's behalf; a merchant key implies its own.
    pub merchant_id: Option<relais_domain::ids::MerchantId>,
    pub point_id: PointId,
    pub parcel_number: String,
    pub recipient_name: String,
    pub recipient_phone: Option<String>,
    pub recipient_email: Option<String>,
    pub length_mm: i64,
    pub width_mm: i64,
    pub height_mm: i64,
    pub weight_g: i64,
}

/// A parcel just announced, with its secrets: shown once, to the merchant, and never again.
#[derive(Debug, Clone)]
pub struct Announced {
    pub parcel: Parcel,
    pub pickup_code: PickupCode,
    pub qr_token: String,
    /// The compartment soft-reserved for it, at a locker.
    pub reservation: Option<Compartment>,
}

/// What a deposit did: either the parcel is in (with its compartment at a locker), or the deposit
/// failed and the parcel is now `deposit_failed` with the reason.
#[derive(Debug, Clone)]
pub struct DepositOutcome {
    pub parcel: Parcel,
    pub compartment: Option<Compartment>,
    pub failure: Option<NoFit>,
}

/// What the recipient presents.
#[derive(Debug, Clone)]
pub enum PickupSecret {
    Code(String),
    QrToken(String),
}

/// A collection: the parcel and, at a locker, the compartment whose door opens.
#[derive(Debug, Clone)]
pub struct Collected {
    pub parcel: Parcel,
    pub compartment: Option<Compartment>,
    /// The recipient's other parcels that shared the compartment: the door opened on them too, so they
    /// are collected with it.
    pub shared: Vec<Parcel>,
}

impl App {
    pub async fn announce_parcel(&self, caller: &Caller, input: AnnounceParcel) -> Result<Announced, AppError> {
        caller.require(Permission::AnnounceParcel)?;
        let merchant_id = match (caller.role, caller.merchant_id, input.merchant_id) {
            (Role::Merchant, Some(own), None) => own,
            (Role::Merchant, Some(own), Some(asked)) if own == asked => own,
            (Role::Merchant, _, _) => return Err(AppError::Forbidden { role: caller.role }),
            (_, _, Some(asked)) => asked,
            (_, _, None) => return Err(ParseError::new("merchant_id", "is required when an operator announces").into()),
        };
        let number = ParcelNumber::parse(&input.parcel_number)?;
        let recipient = Recipient {
            name: parse_text("recipient.name", &input.recipient_name, 120)?,
            phone: input.recipient_phone.as_deref().map(Phone::parse).transpose()?,
            email: input.recipient_email.as_deref().map(Email::parse).transpose()?,
        };
        if recipient.phone.is_none() && recipient.email.is_none() {
            return Err(
                ParseError::new("recipient", "needs a phone or an e-mail to be told where the parcel is").into()
            );
        }
        let dimensions = Dimensions::from_mm(input.length_mm, input.width_mm, input.height_mm)?;
        let weight = Weight::from_grams(input.weight_g)?;
        // A merchant key references its merchant (foreign key), so only an id an operator typed is checked.
        if caller.role != Role::Merchant && self.store.merchant(merchant_id).await?.is_none() {
            return Err(AppError::not_found("merchant", merchant_id));
        }
        let parcel_id: ParcelId = self.new_id();

        self.retrying(|| async {
            let now = self.now();
            let point =
                self.store.point(input.point_id).await?.ok_or_else(|| AppError::not_found("point", input.point_id))?;
            if !point.accepts_parcels() {
                return Err(AppError::NoFittingCompartment(NoFit::PointUnavailable).into());
            }
            let rules = self.rules_of(&point).await?;
            let mut writes = Vec::with_capacity(5);
            let reservation = if point.kind.has_compartments() {
                let compartments = self.store.compartments(point.id).await?;
                match rules.reservation() {
                    Some(hold) => {
                        let chosen = choose_compartment(&compartments, parcel_id, dimensions, weight, now)
                            .map_err(AppError::NoFittingCompartment)?;
                        let reserved = chosen.reserve(parcel_id, now + hold, now).map_err(|_| Retry::Conflict)?;
                        writes.push(Write::UpdateCompartment(reserved.clone()));
                        Some(reserved)
                    }
                    None => {
                        any_compartment_fits(&compartments, dimensions, weight)
                            .map_err(AppError::NoFittingCompartment)?;
                        None
                    }
                }
            } else {
                if let Some(refusal) = point.shelf_refusal(dimensions, weight) {
                    return Err(AppError::NoFittingCompartment(refusal).into());
                }
                None
            };
            let pickup_code = new_pickup_code(self.random.as_ref());
            let qr_token = signed::issue_qr(self.secrets.signing_key(), parcel_id, point.id);
            let new = NewParcel {
                id: parcel_id,
                number: number.clone(),
                merchant_id,
                network_id: point.network_id,
                point_id: point.id,
                recipient: recipient.clone(),
                dimensions,
                weight,
                secrets: PickupSecretDigests {
                    code: self.secrets.code_digest(&pickup_code),
                    qr: self.secrets.qr_digest(&qr_token),
                },
            };
            let Transition { parcel, event } = Parcel::announce(new, caller.actor(), now);
            let outbox = self.outbox_for(&parcel, &event);
            writes.insert(0, Write::InsertParcel(parcel.clone()));
            writes.push(Write::AppendEvent(event));
            writes.push(Write::AppendOutbox(outbox));
            match self.commit(writes).await {
                // A code already waiting at this point (one in millions): draw another.
                Err(CommitError::Duplicate { what: "pickup_code" }) => Err(Retry::Conflict),
                other => committed(other),
            }?;
            Ok(Announced { parcel, pickup_code, qr_token, reservation })
        })
        .await
    }

    /// The carrier scanned the parcel on its way.
    pub async fn scan_in_transit(&self, caller: &Caller, parcel_id: ParcelId) -> Result<Parcel, AppError> {
        caller.require(Permission::HandleParcel)?;
        self.retrying(|| async {
            let parcel = self.visible_parcel(caller, parcel_id).await?;
            let transition = parcel.scan_in_transit(caller.actor(), self.now())?;
            self.commit_transition(&parcel, transition, Vec::new()).await
        })
        .await
    }

    /// The carrier deposits the parcel at its point: at a locker, a compartment it can share with its
    /// recipient's parcels, else the best fit (its own reservation first); a shelf slot elsewhere;
    /// `deposit_failed` with the reason when there is no room.
    pub async fn deposit(&self, caller: &Caller, parcel_id: ParcelId) -> Result<DepositOutcome, AppError> {
        caller.require(Permission::HandleParcel)?;
        self.deposit_checked(caller, parcel_id).await
    }

    /// A deposit for a caller whose permission the use case has checked (a carrier, a counter).
    pub(crate) async fn deposit_checked(
        &self,
        caller: &Caller,
        parcel_id: ParcelId,
    ) -> Result<DepositOutcome, AppError> {
        self.retrying(|| async {
            let now = self.now();
            let parcel = self.visible_parcel(caller, parcel_id).await?;
            let point = self
                .store
                .point(parcel.point_id)
                .await?
                .ok_or_else(|| AppError::not_found("point", parcel.point_id))?;
            let rules = self.rules_of(&point).await?;
            // Refuse an invalid move (depositing twice...) before looking for room.
            parcel.deposit(None, &rules, caller.actor(), now)?;

            let (placed, mut writes) = if !point.accepts_parcels() {
                (Err(NoFit::PointUnavailable), Vec::new())
            } else if point.kind.has_compartments() {
                let compartments = self.store.compartments(point.id).await?;
                if let Some(shared) = self.compartment_to_share(&parcel, &compartments).await? {
                    let joined = shared.share(parcel.id).map_err(|_| Retry::Conflict)?;
                    let mut writes = vec![Write::UpdateCompartment(joined.clone())];
                    // Its own reservation, elsewhere, is given back: sharing keeps that door free.
                    writes.extend(reservations_given_back(&compartments, parcel.id)?);
                    (Ok(Some(joined)), writes)
                } else {
                    match choose_compartment(&compartments, parcel.id, parcel.dimensions, parcel.weight, now) {
                        Ok(chosen) => {
                            let occupied = chosen.occupy(parcel.id, now).map_err(|_| Retry::Conflict)?;
                            (Ok(Some(occupied.clone())), vec![Write::UpdateCompartment(occupied)])
                        }
                        Err(no_fit) => (Err(no_fit), Vec::new()),
                    }
                }
            } else if let Some(refusal) = point.shelf_refusal(parcel.dimensions, parcel.weight) {
                (Err(refusal), Vec::new())
            } else if !point.shelf_has_room() {
                (Err(NoFit::ShelfFull), Vec::new())
            } else {
                let taken = PickupPoint { shelf_occupied: point.shelf_occupied + 1, ..point.clone() };
                (Ok(None), vec![Write::UpdatePointShelf(taken)])
            };
            match placed {
                Ok(compartment) => {
                    let transition = parcel.deposit(compartment.as_ref().map(|c| c.id), &rules, caller.actor(), now)?;
                    let parcel = self.commit_transition(&parcel, transition, std::mem::take(&mut writes)).await?;
                    Ok(DepositOutcome { parcel, compartment, failure: None })
                }
                Err(no_fit) => {
                    // A parcel already `deposit_failed` stays so: nothing new happened.
                    let transition = parcel
                        .fail_deposit(no_fit.as_str(), caller.actor(), now)
                        .map_err(|_| Retry::Fail(AppError::NoFittingCompartment(no_fit)))?;
                    let released = self.place_writes(&parcel, &transition.parcel).await?;
                    let parcel = self.commit_transition(&parcel, transition, released).await?;
                    Ok(DepositOutcome { parcel, compartment: None, failure: Some(no_fit) })
                }
            }
        })
        .await
    }

    /// A recipient presents a code or QR token at a point (the locker keypad, the counter terminal).
    /// Wrong codes count against the point; past the limit the point refuses codes until the lockout
    /// ends. A code works once: the parcel is then `collected` and no longer waiting.
    pub async fn pickup_at_point(
        &self,
        caller: &Caller,
        point_id: PointId,
        secret: PickupSecret,
    ) -> Result<Collected, AppError> {
        caller.require(Permission::PickupAt(point_id))?;
        let lookup = match &secret {
            PickupSecret::Code(code) => Lookup::Code(self.secrets.code_digest(&PickupCode::parse(code)?)),
            PickupSecret::QrToken(token) => Lookup::Qr(parse_qr_token(token)?),
        };
        let point_scope = AttemptScope::Point(point_id);
        self.check_attempts(point_scope).await?;
        let found = match lookup {
            Lookup::Code(digest) => self.store.parcel_by_code(point_id, &digest).await?,
            Lookup::Qr(token) => self.parcel_of_qr(&token, point_id).await?,
        }
        .filter(|p| p.state == ParcelState::ReadyForPickup);
        let Some(parcel) = found else {
            self.record_failure(point_scope, self.limits.point_attempts).await?;
            return Err(AppError::InvalidPickupCode);
        };
        self.check_attempts(AttemptScope::Parcel(parcel.id)).await?;
        // The locker opens the door itself on this answer; it will report the door closed.
        let door_command = caller.role == Role::LockerDevice;
        self.collect_at(caller, parcel, self.now(), door_command, None).await
    }

    /// Counter hand-over: the staff scanned the parcel and the recipient tells the code. Wrong codes count
    /// against the parcel and the point.
    /// At a staffed point (no compartments) an identity check is required and recorded on the
    /// collection event; a name that does not match refuses the hand-over, audited.
    pub async fn pickup_parcel(
        &self,
        caller: &Caller,
        parcel_id: ParcelId,
        code: &str,
        identity: Option<&IdentityCheck>,
    ) -> Result<Collected, AppError> {
        let code = PickupCode::parse(code)?;
        let identity = identity.map(IdentityCheck::validated).transpose()?;
        let parcel = self.visible_parcel(caller, parcel_id).await.map_err(retry_error)?;
        caller.require(Permission::PickupAt(parcel.point_id))?;
        let point =
            self.store.point(parcel.point_id).await?.ok_or_else(|| AppError::not_found("point", parcel.point_id))?;
        if identity.is_none() && !point.kind.has_compartments() {
            return Err(ParseError::new("identity", "is required for a hand-over at a staffed point").into());
        }
        let (point_scope, parcel_scope) = (AttemptScope::Point(parcel.point_id), AttemptScope::Parcel(parcel.id));
        self.check_attempts(point_scope).await?;
        self.check_attempts(parcel_scope).await?;
        if !digests_equal(&self.secrets.code_digest(&code), &parcel.secrets.code) {
            self.record_failure(parcel_scope, self.limits.parcel_attempts).await?;
            self.record_failure(point_scope, self.limits.point_attempts).await?;
            return Err(AppError::InvalidPickupCode);
        }
        let now = self.now();
        if let Some(identity) = identity.as_ref().filter(|i| !i.name_matches) {
            // Nothing happens to the parcel; the refusal is audited.
            let audit = crate::ports::AuditEntry {
                seq: 0,
                at: now,
                actor: caller.actor(),
                action: "hand_over_refused".to_owned(),
                point_id: Some(parcel.point_id),
                compartment_id: None,
                parcel_id: Some(parcel.id),
                reason: Some(format!("{}:name_does_not_match", identity.note())),
            };
            self.commit(vec![Write::AppendAudit(audit)]).await?;
            return Err(AppError::IdentityMismatch);
        }
        // The check is written on the collection event itself (actor, time, document).
        self.collect_at(caller, parcel, now, false, identity.map(|i| i.note())).await
    }

    /// Collects a parcel just looked up, at `at`: the first try uses that copy, a retry after a lost race
    /// reloads. With `door_command`, the opening of its door is recorded as a pending command, so the
    /// locker's report of the door closing has something to close.
    pub(crate) async fn collect_at(
        &self,
        caller: &Caller,
        found: Parcel,
        at: relais_domain::Timestamp,
        door_command: bool,
        note: Option<String>,
    ) -> Result<Collected, AppError> {
        let parcel_id = found.id;
        let mut first = Some(found);
        self.retrying(|| {
            let known = first.take();
            let note = note.clone();
            async move {
                let parcel = match known {
                    Some(parcel) => parcel,
                    None => {
                        self.store.parcel(parcel_id).await?.ok_or_else(|| AppError::not_found("parcel", parcel_id))?
                    }
                };
                let mut transition = parcel.collect(caller.actor(), at)?;
                transition.event.reason.clone_from(&note);
                let mut writes = self.place_writes(&parcel, &transition.parcel).await?;
                let mut shared = Vec::new();
                let mut others = Vec::new();
                if let Some(Write::UpdateCompartment(left)) =
                    writes.iter_mut().find(|w| matches!(w, Write::UpdateCompartment(_)))
                {
                    for sharer in left.holders() {
                        let Some(other) = self.store.parcel(sharer).await? else { continue };
                        // One still on its way in (its door not closed yet) stays.
                        if other.state != ParcelState::ReadyForPickup {
                            continue;
                        }
                        let mut with_it = other.collect(caller.actor(), at)?;
                        with_it.event.reason = Some("shared_compartment".to_owned());
                        *left = left.release(other.id).map_err(|_| Retry::Conflict)?;
                        shared.push(self.transition_writes(with_it, None, &mut others).await?);
                    }
                }
                writes.extend(others);
                let compartment = writes.iter().find_map(|w| match w {
                    Write::UpdateCompartment(c) => Some(c.clone()),
                    _ => None,
                });
                if let Some(compartment) = compartment.as_ref().filter(|_| door_command) {
                    writes.extend(self.pickup_door_writes(compartment, parcel.id, at).await?);
                }
                let parcel = self.commit_transition(&parcel, transition, writes).await?;
                Ok(Collected { parcel, compartment, shared })
            }
        })
        .await
    }

    /// One extension of the pickup deadline, within the network's rules.
    pub async fn extend(&self, caller: &Caller, parcel_id: ParcelId) -> Result<Parcel, AppError> {
        caller.require(Permission::ExtendParcel)?;
        self.retrying(|| async {
            let parcel = self.visible_parcel(caller, parcel_id).await?;
            let rules = self.rules_of_network(parcel.network_id).await?;
            let transition = parcel.extend(&rules, caller.actor(), self.now())?;
            self.commit_transition(&parcel, transition, Vec::new()).await
        })
        .await
    }

    /// A courier takes an expired parcel out of its point: the compartment or shelf slot is free again.
    pub async fn collect_return(&self, caller: &Caller, parcel_id: ParcelId) -> Result<Parcel, AppError> {
        caller.require(Permission::ReturnParcel)?;
        self.retrying(|| async {
            let parcel = self.visible_parcel(caller, parcel_id).await?;
            let transition = parcel.collect_return(caller.actor(), self.now())?;
            let writes = self.place_writes(&parcel, &transition.parcel).await?;
            self.commit_transition(&parcel, transition, writes).await
        })
        .await
    }

    /// The sender has the parcel back.
    pub async fn return_to_sender(&self, caller: &Caller, parcel_id: ParcelId) -> Result<Parcel, AppError> {
        caller.require(Permission::ReturnParcel)?;
        self.retrying(|| async {
            let parcel = self.visible_parcel(caller, parcel_id).await?;
            let transition = parcel.return_to_sender(caller.actor(), self.now())?;
            self.commit_transition(&parcel, transition, Vec::new()).await
        })
        .await
    }

    /// The merchant calls the parcel off before it reaches the point; its reservation is released.
    pub async fn cancel(&self, caller: &Caller, parcel_id: ParcelId, reason: Option<&str>) -> Result<Parcel, AppError> {
        caller.require(Permission::CancelParcel)?;
        let reason = reason.map(|r| parse_text("reason", r, 500)).transpose()?;
        self.retrying(|| async {
            let parcel = self.visible_parcel(caller, parcel_id).await?;
            let transition = parcel.cancel(reason.as_deref(), caller.actor(), self.now())?;
            let writes = self.place_writes(&parcel, &transition.parcel).await?;
            self.commit_transition(&parcel, transition, writes).await
        })
        .await
    }

    /// An operator expires a waiting parcel now, whatever its deadline; the reason is required and kept.
    pub async fn force_expire(&self, caller: &Caller, parcel_id: ParcelId, reason: &str) -> Result<Parcel, AppError> {
        caller.require(Permission::OperateParcel)?;
        let reason = parse_text("reason", reason, 500)?;
        self.retrying(|| async {
            let parcel = self.visible_parcel(caller, parcel_id).await?;
            let transition = parcel.force_expire(&reason, caller.actor(), self.now())?;
            self.commit_transition(&parcel, transition, Vec::new()).await
        })
        .await
    }

    pub async fn report_incident(
        &self,
        caller: &Caller,
        parcel_id: ParcelId,
        kind: IncidentKind,
        reason: Option<&str>,
    ) -> Result<Parcel, AppError> {
        caller.require(Permission::ReportIncident)?;
        let reason = reason.map(|r| parse_text("reason", r, 500)).transpose()?;
        self.retrying(|| async {
            let parcel = self.visible_parcel(caller, parcel_id).await?;
            let transition = parcel.report_incident(kind, reason.as_deref(), caller.actor(), self.now())?;
            let writes = self.place_writes(&parcel, &transition.parcel).await?;
            self.commit_transition(&parcel, transition, writes).await
        })
        .await
    }

    pub async fn parcel(&self, caller: &Caller, parcel_id: ParcelId) -> Result<Parcel, AppError> {
        self.visible_parcel(caller, parcel_id).await.map_err(retry_error)
    }

    /// Lists parcels; a merchant sees only its own, a locker device only those at its point.
    pub async fn parcels(
        &self,
        caller: &Caller,
        filter: ParcelFilter,
        page: Page<ParcelId>,
    ) -> Result<Vec<Parcel>, AppError> {
        let filter = match caller.role {
            Role::Operator | Role::Carrier => filter,
            Role::Merchant => ParcelFilter { merchant_id: caller.merchant_id, ..filter },
            Role::LockerDevice => ParcelFilter { point_id: caller.point_id, ..filter },
        };
        Ok(self.store.parcels(&filter, Page { limit: self.page_limit(Some(page.limit)), ..page }).await?)
    }

    pub async fn parcel_events(&self, caller: &Caller, parcel_id: ParcelId) -> Result<Vec<StoredEvent>, AppError> {
        self.visible_parcel(caller, parcel_id).await.map_err(retry_error)?;
        Ok(self.store.events(parcel_id).await?)
    }

    /// The parcel if it exists and the caller may see it; `not_found` otherwise.
    async fn visible_parcel(&self, caller: &Caller, parcel_id: ParcelId) -> Result<Parcel, Retry> {
        match self.store.parcel(parcel_id).await? {
            Some(parcel) if caller.can_see(&parcel) => Ok(parcel),
            Some(_) | None => Err(AppError::not_found("parcel", parcel_id).into()),
        }
    }

    pub(crate) async fn rules_of(&self, point: &PickupPoint) -> Result<NetworkRules, Retry> {
        self.rules_of_network(point.network_id).await
    }

    pub(crate) async fn rules_of_network(
        &self,
        network_id: relais_domain::ids::NetworkId,
    ) -> Result<NetworkRules, Retry> {
        let network =
            self.store.network(network_id).await?.ok_or_else(|| AppError::not_found("network", network_id))?;
        Ok(network.rules)
    }

    /// Commits a parcel transition with its event, its outbox message and the given extra writes.
    pub(crate) async fn commit_transition(
        &self,
        before: &Parcel,
        transition: Transition,
        mut writes: Vec<Write>,
    ) -> Result<Parcel, Retry> {
        debug_assert_eq!(transition.parcel.version, before.version);
        let parcel = self.transition_writes(transition, None, &mut writes).await?;
        committed(self.commit(writes).await)?;
        Ok(parcel)
    }

    /// Pushes a transition's writes (the parcel, its outbox message with what the recipient must hear
    /// and `extra` in its payload, its event) and returns the parcel as it will be stored.
    pub(crate) async fn transition_writes(
        &self,
        transition: Transition,
        extra: Option<(&'static str, serde_json::Value)>,
        writes: &mut Vec<Write>,
    ) -> Result<Parcel, Retry> {
        let Transition { parcel, event } = transition;
        writes.push(Write::UpdateParcel(parcel.clone()));
        let mut outbox = self.outbox_with_message(&parcel, &event).await?;
        if let Some((key, value)) = extra {
            outbox.payload[key] = value;
        }
        writes.push(Write::AppendOutbox(outbox));
        writes.push(Write::AppendEvent(event));
        Ok(Parcel { version: parcel.version + 1, ..parcel })
    }

    /// The writes that give back what a parcel no longer needs after a transition: the compartment or
    /// shelf slot it leaves, the compartment reserved for it when it stops being on its way.
    pub(crate) async fn place_writes(&self, before: &Parcel, after: &Parcel) -> Result<Vec<Write>, Retry> {
        let mut writes = Vec::new();
        if before.occupies_place() && !after.occupies_place() {
            match before.compartment_id {
                Some(compartment_id) => {
                    let compartment = self
                        .store
                        .compartment(compartment_id)
                        .await?
                        .ok_or_else(|| AppError::not_found("compartment", compartment_id))?;
                    // The parcel's compartment not holding it means another command moved it: reload.
                    let released = compartment.release(before.id).map_err(|_| Retry::Conflict)?;
                    writes.push(Write::UpdateCompartment(released));
                }
                None => {
                    let point = self
                        .store
                        .point(before.point_id)
                        .await?
                        .ok_or_else(|| AppError::not_found("point", before.point_id))?;
                    let freed = PickupPoint { shelf_occupied: point.shelf_occupied.saturating_sub(1), ..point };
                    writes.push(Write::UpdatePointShelf(freed));
                }
            }
        }
        if before.may_hold_reservation() && !after.may_hold_reservation() && !after.occupies_place() {
            writes.extend(reservations_given_back(&self.store.compartments(before.point_id).await?, before.id)?);
        }
        Ok(writes)
    }

    pub(crate) async fn check_attempts(&self, scope: AttemptScope) -> Result<(), AppError> {
        let stored = self.store.attempt_counter(scope).await?;
        AttemptCounter::check(stored.as_ref().map(|s| &s.counter), self.now())
            .map_err(|locked| AppError::RateLimited { until: locked.until })
    }

    pub(crate) async fn record_failure(&self, scope: AttemptScope, limits: AttemptLimits) -> Result<(), AppError> {
        self.retrying(|| async {
            let stored = self.store.attempt_counter(scope).await?;
            let counter = AttemptCounter::record_failure(stored.as_ref().map(|s| &s.counter), limits, self.now());
            let write = Write::PutAttemptCounter { scope, counter, expected_version: stored.map(|s| s.version) };
            match self.commit(vec![write]).await {
                // Another failure was recorded first (the first row for this scope): count on top of it.
                Err(CommitError::Duplicate { .. }) => Err(Retry::Conflict),
                other => committed(other),
            }
        })
        .await
    }
}

enum Lookup {
    Code([u8; 32]),
    Qr(String),
}

/// A QR token as sent: trimmed, of a sane length (its signature is checked by the use case).
pub(crate) fn parse_qr_token(token: &str) -> Result<String, AppError> {
    let token = token.trim();
    if token.is_empty() || token.len() > signed::QR_TOKEN_LENGTH_MAX {
        let message = format!("must be 1 to {} characters", signed::QR_TOKEN_LENGTH_MAX);
        return Err(ParseError::new("qr_token", message).into());
    }
    Ok(token.to_owned())
}

impl App {
    /// The parcel a QR token names, if its signature is good, it names this point, and it is the token
    /// issued for that parcel. A forged or foreign token finds nothing (and counts as a wrong code).
    pub(crate) async fn parcel_of_qr(&self, token: &str, point_id: PointId) -> Result<Option<Parcel>, AppError> {
        let Ok(claims) = signed::verify_qr(&self.secrets.verifying_key(), token) else {
            return Ok(None);
        };
        if claims.point_id != point_id {
            return Ok(None);
        }
        let parcel = self.store.parcel(claims.parcel_id).await?;
        let digest = self.secrets.qr_digest(token);
        Ok(parcel.filter(|p| p.point_id == point_id && digests_equal(&p.secrets.qr, &digest)))
    }
}

pub(crate) fn retry_error(retry: Retry) -> AppError {
    match retry {
        Retry::Conflict => AppError::Busy,
        Retry::Fail(error) => error,
    }
}

/// The writes that give back the compartments among `compartments` reserved for a parcel (it took another
/// door, or none).
pub(crate) fn reservations_given_back(compartments: &[Compartment], parcel_id: ParcelId) -> Result<Vec<Write>, Retry> {
    let held = compartments.iter().filter(|c| c.is_reserved_for(parcel_id));
    held.map(|c| c.release(parcel_id).map(Write::UpdateCompartment).map_err(|_| Retry::Conflict)).collect()
}
