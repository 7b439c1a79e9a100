//! The parcel lifecycle: announce (with a compartment's soft reservation), the carrier's scan and
//! deposit, extension, return collection and return to sender, cancel, incidents, and the reads of
//! parcels and their events. Pickups are in [`pickup`], the overflow relocation in [`relocation`].
//!
//! Every command here goes through the spine (`crate::command`): load, decide in the domain, commit.

pub mod pickup;
pub mod relocation;

use relais_domain::compartment::{
    Compartment, NoFit, any_compartment_fits, choose_compartment, reservations_given_back,
};
use relais_domain::ids::{CarrierId, MerchantId, ParcelId, PointId};
use relais_domain::network::NetworkRules;
use relais_domain::parcel::{IncidentKind, NewParcel, Parcel, ParcelEvent, Recipient, Transition, TransitionError};
use relais_domain::point::PickupPoint;
use relais_domain::value::{
    Dimensions, Email, Language, ParcelNumber, ParseError, Phone, PickupCode, Weight, parse_text,
};

use crate::auth::{Caller, Permission, Role};
use crate::command::{Halt, Tx};
use crate::error::AppError;
use crate::numbers::SeriesOwner;
use crate::ports::{Page, ParcelFilter, StoredEvent, Write};
use crate::secrets::new_pickup_code;
use crate::{App, signed};

/// Parcels whose contacts are indexed per commit (`App::index_contacts`).
const CONTACTS_BATCH: u32 = 500;

pub use pickup::{Collected, PickupSecret};

/// A parcel announcement, as the merchant sends it (not yet parsed).
#[derive(Debug, Clone)]
pub struct AnnounceParcel {
    /// Required when an operator announces on a merchant's behalf; a merchant key implies its own.
    pub merchant_id: Option<MerchantId>,
    /// The carrier the merchant hands the parcel to; none: the carriers serving the point's network.
    pub carrier_id: Option<CarrierId>,
    pub point_id: PointId,
    /// None: the next number of the merchant's SSCC series (`numbers.rs`).
    pub parcel_number: Option<String>,
    pub recipient_name: String,
    pub recipient_phone: Option<String>,
    pub recipient_email: Option<String>,
    /// `fr` or `en`; none: the language of the point's country (`Language::of_country`).
    pub recipient_language: Option<String>,
    pub length_mm: i64,
    pub width_mm: i64,
    pub height_mm: i64,
    pub weight_g: i64,
}

/// A parcel checked and numbered, ready to be announced to a point (`App::announce_in`).
#[derive(Debug, Clone)]
pub(crate) struct ParcelToAnnounce {
    pub id: ParcelId,
    pub number: ParcelNumber,
    pub merchant_id: MerchantId,
    pub carrier: Option<crate::ports::Carrier>,
    pub recipient: Recipient,
    /// None: the language of the point's country.
    pub language: Option<Language>,
    pub dimensions: Dimensions,
    pub weight: Weight,
}

/// What one command's announces have reserved so far, by point.
#[derive(Debug, Default)]
pub(crate) struct AnnouncePoints {
    compartments: std::collections::HashMap<PointId, Vec<Compartment>>,
}

/// The merchant a caller announces for: a merchant key its own (another's is forbidden), an operator
/// the one it names.
pub(crate) fn announcing_merchant(caller: &Caller, asked: Option<MerchantId>) -> Result<MerchantId, AppError> {
    caller.require(Permission::AnnounceParcel)?;
    match (caller.role, caller.merchant_id, asked) {
        (Role::Merchant, Some(own), None) => Ok(own),
        (Role::Merchant, Some(own), Some(asked)) if own == asked => Ok(own),
        (Role::Merchant, _, _) => Err(AppError::Forbidden { role: caller.role }),
        (_, _, Some(asked)) => Ok(asked),
        (_, _, None) => Err(ParseError::new("merchant_id", "is required when an operator announces").into()),
    }
}

/// A recipient relais can tell where their parcel is.
pub(crate) fn check_reachable(recipient: &Recipient) -> Result<(), AppError> {
    if recipient.phone.is_none() && recipient.email.is_none() {
        return Err(ParseError::new("recipient", "needs a phone or an e-mail to be told where the parcel is").into());
    }
    Ok(())
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
/// A lost pickup code replaced: the new secrets, shown once.
#[derive(Debug, Clone)]
pub struct Reissued {
    pub parcel: Parcel,
    pub pickup_code: PickupCode,
    pub qr_token: String,
}

#[derive(Debug, Clone)]
pub struct DepositOutcome {
    pub parcel: Parcel,
    pub compartment: Option<Compartment>,
    pub failure: Option<NoFit>,
}

impl App {
    pub async fn announce_parcel(&self, caller: &Caller, input: AnnounceParcel) -> Result<Announced, AppError> {
        let merchant_id = announcing_merchant(caller, input.merchant_id)?;
        let given = input.parcel_number.as_deref().map(ParcelNumber::parse).transpose()?;
        let recipient = Recipient {
            name: parse_text("recipient.name", &input.recipient_name, Recipient::NAME_LENGTH_MAX)?,
            phone: input.recipient_phone.as_deref().map(Phone::parse).transpose()?,
            email: input.recipient_email.as_deref().map(Email::parse).transpose()?,
            language: Language::Fr,
        };
        let language = input.recipient_language.as_deref().map(Language::parse).transpose()?;
        check_reachable(&recipient)?;
        let dimensions = Dimensions::from_mm(input.length_mm, input.width_mm, input.height_mm)?;
        let weight = Weight::from_grams(input.weight_g)?;
        self.check_merchant(caller, merchant_id).await?;
        let carrier = match input.carrier_id {
            Some(carrier_id) => Some(self.load_carrier(carrier_id).await?),
            None => None,
        };
        // Issued last, once the announcement is known to be well formed: a refused one wastes no serial.
        let number = match given {
            Some(number) => number,
            None => self.issue_number(SeriesOwner::Merchant(merchant_id), "sscc").await?,
        };
        let parcel = ParcelToAnnounce {
            id: self.new_id(),
            number,
            merchant_id,
            carrier,
            recipient,
            language,
            dimensions,
            weight,
        };
        self.run(|| async {
            let mut tx = self.tx();
            let mut points = AnnouncePoints::default();
            let announced = self.announce_in(&mut tx, caller, &parcel, input.point_id, &mut points).await?;
            Ok(tx.done(announced))
        })
        .await
    }

    /// Announces a parcel to a point within a command: its reservation (at a locker, a door of its size,
    /// not one another parcel of the same command reserved: `points` keeps them), its code and QR
    /// token sealed, its event and outbox message.
    pub(crate) async fn announce_in(
        &self,
        tx: &mut Tx<'_>,
        caller: &Caller,
        parcel: &ParcelToAnnounce,
        point_id: PointId,
        points: &mut AnnouncePoints,
    ) -> Result<Announced, Halt> {
        // A code already waiting at this point (one in millions): draw another.
        tx.retry_on_duplicate("pickup_code");
        let point = self.load_point(point_id).await?;
        if !point.accepts_parcels() {
            return Err(AppError::NoFittingCompartment(NoFit::PointUnavailable).into());
        }
        if let Some(carrier) = parcel.carrier.as_ref().filter(|c| !c.networks.contains(&point.network_id)) {
            let problem = format!("{} does not serve the network of this point", carrier.name);
            return Err(ParseError::new("carrier_id", problem).into());
        }
        let rules = self.load_rules(point.network_id).await?;
        let (parcel_id, dimensions, weight) = (parcel.id, parcel.dimensions, parcel.weight);
        let reservation = if point.kind.has_compartments() {
            let compartments = match points.compartments.get(&point.id) {
                Some(kept) => kept.clone(),
                None => self.store.compartments(point.id).await?,
            };
            let reservation = match rules.reservation() {
                Some(hold) => {
                    let chosen = choose_compartment(&compartments, parcel_id, dimensions, weight, tx.now)
                        .map_err(AppError::NoFittingCompartment)?;
                    Some(chosen.reserve(parcel_id, tx.now + hold, tx.now)?)
                }
                None => {
                    any_compartment_fits(&compartments, dimensions, weight).map_err(AppError::NoFittingCompartment)?;
                    None
                }
            };
            // The next parcel of the command sees this door taken (one write per door: a door reserved
            // twice in one command would be two updates of one version).
            let kept = compartments
                .into_iter()
                .map(|c| match &reservation {
                    Some(reserved) if reserved.id == c.id => reserved.clone(),
                    _ => c,
                })
                .collect();
            points.compartments.insert(point.id, kept);
            reservation
        } else {
            if let Some(refusal) = point.shelf_refusal(dimensions, weight) {
                return Err(AppError::NoFittingCompartment(refusal).into());
            }
            None
        };
        let pickup_code = new_pickup_code(self.random.as_ref());
        let qr_token = signed::issue_qr(self.secrets.signing_key(), parcel_id, point.id);
        let (secrets, seal) = self.secrets.keep_pickup(parcel_id, &pickup_code, &qr_token, self.random.as_ref());
        let new = NewParcel {
            id: parcel_id,
            number: parcel.number.clone(),
            merchant_id: parcel.merchant_id,
            carrier_id: parcel.carrier.as_ref().map(|c| c.id),
            network_id: point.network_id,
            point_id: point.id,
            recipient: Recipient {
                language: parcel.language.unwrap_or_else(|| Language::of_country(&point.address.country)),
                ..parcel.recipient.clone()
            },
            dimensions,
            weight,
            secrets,
        };
        let announced = tx.announce(Parcel::announce(new, caller.actor(), tx.now), seal);
        if let Some(reserved) = &reservation {
            tx.compartment(reserved.clone());
        }
        Ok(Announced { parcel: announced, pickup_code, qr_token, reservation })
    }

    /// A merchant named by an operator exists (a merchant key's own does: a foreign key).
    pub(crate) async fn check_merchant(&self, caller: &Caller, merchant_id: MerchantId) -> Result<(), AppError> {
        if caller.role != Role::Merchant && self.store.merchant(merchant_id).await?.is_none() {
            return Err(AppError::not_found("merchant", merchant_id));
        }
        Ok(())
    }

    /// Replaces a lost pickup code: a new code and QR token, returned once like at announce (the caller
    /// passes them on, as it did the first ones); the old ones open nothing from this commit on.
    pub async fn reissue_pickup_code(&self, caller: &Caller, parcel_id: ParcelId) -> Result<Reissued, AppError> {
        caller.require(Permission::ReissueCode)?;
        self.run(|| async {
            let mut tx = self.tx();
            // A code already live at this point (one in millions): draw another.
            tx.retry_on_duplicate("pickup_code");
            let parcel = self.load_visible_parcel(caller, parcel_id).await?;
            let pickup_code = new_pickup_code(self.random.as_ref());
            let mut nonce = [0; 4];
            self.random.fill(&mut nonce);
            let qr_token = signed::reissue_qr(self.secrets.signing_key(), parcel.id, parcel.point_id, nonce);
            let (secrets, pickup_seal) =
                self.secrets.keep_pickup(parcel_id, &pickup_code, &qr_token, self.random.as_ref());
            let reissued = parcel.reissue_code(secrets.clone(), caller.actor(), tx.now)?;
            let parcel = tx.transition(reissued).await?;
            tx.write(Write::SetPickupSecrets { parcel_id, secrets, pickup_seal });
            Ok(tx.done(Reissued { parcel, pickup_code, qr_token }))
        })
        .await
    }

    /// The carrier scanned the parcel on its way.
    pub async fn scan_in_transit(&self, caller: &Caller, parcel_id: ParcelId) -> Result<Parcel, AppError> {
        caller.require(Permission::HandleParcel)?;
        self.transition_parcel(caller, parcel_id, |parcel, _, now| parcel.scan_in_transit(caller.actor(), now)).await
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
        self.run(|| async {
            let mut tx = self.tx();
            let parcel = self.load_visible_parcel(caller, parcel_id).await?;
            let point = self.load_point(parcel.point_id).await?;
            let rules = self.load_rules(point.network_id).await?;
            // Refuse an invalid move (depositing twice...) before looking for room.
            parcel.deposit(None, &rules, caller.actor(), tx.now)?;
            match self.place_at(&mut tx, &parcel, &point).await? {
                Ok(compartment) => {
                    let deposited =
                        parcel.deposit(compartment.as_ref().map(|c| c.id), &rules, caller.actor(), tx.now)?;
                    let parcel = tx.transition(deposited).await?;
                    Ok(tx.done(DepositOutcome { parcel, compartment, failure: None }))
                }
                Err(no_fit) => {
                    // A parcel already `deposit_failed` stays so: nothing new happened.
                    let failed = parcel
                        .fail_deposit(no_fit.as_str(), caller.actor(), tx.now)
                        .map_err(|_| AppError::NoFittingCompartment(no_fit))?;
                    self.give_back(&mut tx, &parcel, &failed).await?;
                    let parcel = tx.transition(failed).await?;
                    Ok(tx.done(DepositOutcome { parcel, compartment: None, failure: Some(no_fit) }))
                }
            }
        })
        .await
    }

    /// Finds the parcel its place at its point and writes it in the command: at a locker a compartment
    /// it shares with its recipient's parcels (its own reservation elsewhere given back) or the best fit
    /// (its reservation first), occupied; on a staffed point's shelf a slot. Or why there is no room,
    /// with nothing written.
    async fn place_at(
        &self,
        tx: &mut Tx<'_>,
        parcel: &Parcel,
        point: &PickupPoint,
    ) -> Result<Result<Option<Compartment>, NoFit>, Halt> {
        if !point.accepts_parcels() {
            return Ok(Err(NoFit::PointUnavailable));
        }
        if !point.kind.has_compartments() {
            if let Some(refusal) = point.shelf_refusal(parcel.dimensions, parcel.weight) {
                return Ok(Err(refusal));
            }
            return Ok(match point.take_shelf_slot() {
                Ok(taken) => {
                    tx.write(Write::UpdatePointShelf(taken));
                    Ok(None)
                }
                Err(full) => Err(full),
            });
        }
        let compartments = self.store.compartments(point.id).await?;
        if let Some(shared) = self.compartment_to_share(parcel, &compartments).await? {
            let joined = shared.share(parcel.id)?;
            tx.compartment(joined.clone());
            // Its own reservation, elsewhere, is given back: sharing keeps that door free.
            for given_back in reservations_given_back(&compartments, parcel.id)? {
                tx.compartment(given_back);
            }
            return Ok(Ok(Some(joined)));
        }
        Ok(match choose_compartment(&compartments, parcel.id, parcel.dimensions, parcel.weight, tx.now) {
            Ok(chosen) => {
                let occupied = chosen.occupy(parcel.id, tx.now)?;
                tx.compartment(occupied.clone());
                Ok(Some(occupied))
            }
            Err(no_fit) => Err(no_fit),
        })
    }

    /// One extension of the pickup deadline, within the network's rules.
    pub async fn extend(&self, caller: &Caller, parcel_id: ParcelId) -> Result<Parcel, AppError> {
        caller.require(Permission::ExtendParcel)?;
        self.transition_parcel(caller, parcel_id, |parcel, rules, now| parcel.extend(rules, caller.actor(), now)).await
    }

    /// A courier takes an expired parcel out of its point: the compartment or shelf slot is free again.
    pub async fn collect_return(&self, caller: &Caller, parcel_id: ParcelId) -> Result<Parcel, AppError> {
        caller.require(Permission::ReturnParcel)?;
        self.transition_parcel(caller, parcel_id, |parcel, _, now| parcel.collect_return(caller.actor(), now)).await
    }

    /// The sender has the parcel back.
    pub async fn return_to_sender(&self, caller: &Caller, parcel_id: ParcelId) -> Result<Parcel, AppError> {
        caller.require(Permission::ReturnParcel)?;
        self.transition_parcel(caller, parcel_id, |parcel, _, now| parcel.return_to_sender(caller.actor(), now)).await
    }

    /// The merchant calls the parcel off before it reaches the point; its reservation is released.
    pub async fn cancel(&self, caller: &Caller, parcel_id: ParcelId, reason: Option<&str>) -> Result<Parcel, AppError> {
        caller.require(Permission::CancelParcel)?;
        let reason = reason.map(|r| parse_text("reason", r, ParcelEvent::REASON_LENGTH_MAX)).transpose()?;
        self.transition_parcel(caller, parcel_id, |parcel, _, now| {
            parcel.cancel(reason.as_deref(), caller.actor(), now)
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
        let reason = reason.map(|r| parse_text("reason", r, ParcelEvent::REASON_LENGTH_MAX)).transpose()?;
        self.transition_parcel(caller, parcel_id, |parcel, _, now| {
            parcel.report_incident(kind, reason.as_deref(), caller.actor(), now)
        })
        .await
    }

    pub async fn parcel(&self, caller: &Caller, parcel_id: ParcelId) -> Result<Parcel, AppError> {
        self.load_visible_parcel(caller, parcel_id).await
    }

    /// Lists parcels; a merchant sees only its own, a locker device only those at its point, a carrier
    /// those it handles.
    pub async fn parcels(
        &self,
        caller: &Caller,
        filter: ParcelFilter,
        page: Page<ParcelId>,
    ) -> Result<Vec<Parcel>, AppError> {
        let filter = match caller.role {
            Role::Operator => filter,
            Role::Merchant => ParcelFilter { merchant_id: caller.merchant_id, ..filter },
            Role::LockerDevice => ParcelFilter { point_id: caller.point_id, ..filter },
            // A carrier key without a carrier (made before carriers existed) handles nothing.
            Role::Carrier => match caller.carrier_id {
                Some(carrier_id) => ParcelFilter { carrier_id: Some(carrier_id), ..filter },
                None => return Ok(Vec::new()),
            },
        };
        Ok(self.store.parcels(&filter, Page { limit: self.page_limit(Some(page.limit))?, ..page }).await?)
    }

    /// The parcels with this number the caller may see (numbers are unique per merchant, so an operator
    /// may see several), oldest first.
    pub async fn parcels_by_number(&self, caller: &Caller, number: &str) -> Result<Vec<Parcel>, AppError> {
        let number = ParcelNumber::parse(number)?;
        let found = self.store.parcels_by_number(&number, self.limits.page_size_max).await?;
        Ok(found.into_iter().filter(|p| caller.can_see(p)).collect())
    }

    /// The parcels a person at the console means by what they typed, among those the caller may see:
    /// a recipient's e-mail address or phone number (international form, matched by their keyed
    /// digest: the database holds no index of contacts in clear), else a parcel number and an order
    /// reference. Nothing found is an empty list, not an error.
    pub async fn find_parcels(&self, caller: &Caller, query: &str) -> Result<Vec<Parcel>, AppError> {
        let query = query.trim();
        let limit = self.limits.page_size_max;
        let mut found = Vec::new();
        if let Ok(email) = relais_domain::value::Email::parse(query) {
            found = self.store.parcels_by_contact(&self.secrets.contact_digest(email.as_str()), limit).await?;
        } else if let Ok(phone) = relais_domain::value::Phone::parse(query) {
            found = self.store.parcels_by_contact(&self.secrets.contact_digest(phone.as_str()), limit).await?;
        } else if !query.is_empty() {
            if let Ok(number) = ParcelNumber::parse(query) {
                found = self.store.parcels_by_number(&number, limit).await?;
            }
            if let Ok(reference) = relais_domain::order::reference(query) {
                for parcel in self.store.parcels_by_order_reference(&reference, limit).await? {
                    if !found.iter().any(|p: &Parcel| p.id == parcel.id) {
                        found.push(parcel);
                    }
                }
            }
        }
        Ok(found.into_iter().filter(|p| caller.can_see(p)).collect())
    }

    /// Writes the contact digests of every parcel (the console finds parcels by phone and e-mail through
    /// them): parcels announced before they were written with each parcel get theirs; the others are
    /// left as they are. Returns how many parcels were read.
    pub async fn index_contacts(&self, caller: &Caller) -> Result<u64, AppError> {
        caller.require(Permission::ManageNetwork)?;
        let (mut after, mut read) = (None, 0u64);
        loop {
            let page = Page { after, limit: CONTACTS_BATCH };
            let parcels = self.store.parcels(&ParcelFilter::default(), page).await?;
            let Some(last) = parcels.last() else { return Ok(read) };
            after = Some(last.id);
            read += parcels.len() as u64;
            let writes = parcels
                .iter()
                .map(|p| {
                    let digests = self.secrets.recipient_digests(&p.recipient);
                    Write::Console(crate::ports::ConsoleWrite::IndexContacts { parcel_id: p.id, digests })
                })
                .collect();
            self.insert_all(writes).await?;
        }
    }

    pub async fn parcel_events(&self, caller: &Caller, parcel_id: ParcelId) -> Result<Vec<StoredEvent>, AppError> {
        self.load_visible_parcel(caller, parcel_id).await?;
        Ok(self.store.events(parcel_id).await?)
    }

    /// The common command on one parcel the caller may see: `decide` (the parcel, its network's rules,
    /// the instant) gives the domain transition; what the parcel no longer needs is given back, and the
    /// parcel is committed with its event and outbox message.
    pub(crate) async fn transition_parcel(
        &self,
        caller: &Caller,
        parcel_id: ParcelId,
        decide: impl Fn(&Parcel, &NetworkRules, relais_domain::Timestamp) -> Result<Transition, TransitionError>,
    ) -> Result<Parcel, AppError> {
        self.run(|| async {
            let mut tx = self.tx();
            let parcel = self.load_visible_parcel(caller, parcel_id).await?;
            let rules = self.load_rules(parcel.network_id).await?;
            let transition = decide(&parcel, &rules, tx.now)?;
            self.give_back(&mut tx, &parcel, &transition).await?;
            let parcel = tx.transition(transition).await?;
            Ok(tx.done(parcel))
        })
        .await
    }

    /// Gives back, in the command, what a parcel no longer needs after `transition`
    /// ([`Transition::gives_back`]): the compartment or shelf slot it leaves, the compartment reserved
    /// for it.
    pub(crate) async fn give_back(
        &self,
        tx: &mut Tx<'_>,
        before: &Parcel,
        transition: &Transition,
    ) -> Result<(), Halt> {
        let given = transition.gives_back(before);
        if given.place {
            match before.compartment_id {
                // The parcel's compartment not holding it means another command moved it: read again.
                Some(compartment_id) => {
                    tx.compartment(self.load_compartment(compartment_id).await?.release(before.id)?)
                }
                None => tx.write(Write::UpdatePointShelf(self.load_point(before.point_id).await?.release_shelf_slot())),
            }
        }
        if given.reservation {
            let compartments = self.store.compartments(before.point_id).await?;
            for given_back in reservations_given_back(&compartments, before.id)? {
                tx.compartment(given_back);
            }
        }
        Ok(())
    }
}
