//! The spine every command goes through: load what the decision needs, ask the pure domain for the
//! transition, commit the new state with its events and outbox messages in one transaction, and decide
//! again after a lost race.
//!
//! A use case writes its decision as a closure that [`App::run`] calls once per attempt. The closure
//! opens a [`Tx`] (`self.tx()`: the attempt's clock reading and the writes it will commit), loads
//! through the `load_*` helpers (which answer `not_found` for what is missing), asks the domain, puts
//! the writes in the `Tx` ([`Tx::transition`] adds a parcel's event and outbox message with it) and
//! ends with `tx.done(value)`. `run` commits the writes, marks the search index for what they change,
//! and calls the closure again, with fresh reads and a fresh clock reading, when a versioned row moved
//! on in between (optimistic concurrency, ADR 1). After `commit_attempts_max` lost races the command is
//! `busy`. A closure that returns an error has written nothing.
//!
//! Nothing else in the crate calls `Store::commit`: what a command changes always goes through here.

use std::future::Future;

use relais_domain::Timestamp;
use relais_domain::compartment::Compartment;
use relais_domain::delivery::Notice;
use relais_domain::dropoff::DropOffSession;
use relais_domain::ids::{CarrierId, CompartmentId, DropOffSessionId, NetworkId, OutboxId, ParcelId, PointId};
use relais_domain::network::NetworkRules;
use relais_domain::parcel::{Parcel, ParcelEvent, Transition};
use relais_domain::point::PickupPoint;
use relais_domain::value::{ParcelNumber, ParseError};

use crate::App;
use crate::auth::{Caller, Role};
use crate::error::AppError;
use crate::ports::{AuditEntry, Carrier, CommitError, IndexChange, OutboxMessage, StoreError, Write};

/// Most parcels read for one number (merchants each have their own numbers; a handful share one).
const PARCELS_PER_NUMBER_MAX: u32 = 20;

/// Why an attempt stopped short of its commit.
#[derive(Debug)]
pub(crate) enum Halt {
    /// Lost a race (a row moved on since it was read): read again and decide again.
    Conflict,
    /// The command is refused; nothing is written.
    Fail(AppError),
}

impl<E: Into<AppError>> From<E> for Halt {
    fn from(error: E) -> Self {
        Halt::Fail(error.into())
    }
}

/// A compartment that does not allow the change any more was changed by another command since it was
/// read: decide again.
impl From<relais_domain::compartment::CompartmentBusy> for Halt {
    fn from(_: relais_domain::compartment::CompartmentBusy) -> Self {
        Halt::Conflict
    }
}

/// A door command that is no longer pending was finished by another command since it was read.
impl From<relais_domain::dropoff::CommandFinished> for Halt {
    fn from(_: relais_domain::dropoff::CommandFinished) -> Self {
        Halt::Conflict
    }
}

/// One attempt of a command: its instant and the writes it will commit together.
pub(crate) struct Tx<'a> {
    app: &'a App,
    /// The attempt's clock reading: every row and event it writes carries it.
    pub now: Timestamp,
    writes: Vec<Write>,
    /// Unique keys whose clash means another command got there first (or a random draw collided):
    /// decide again rather than refuse.
    retry_on: Vec<&'static str>,
    /// Whether the commit marks the search index (an import swaps in an index built from its diff).
    mark_index: bool,
}

/// What an attempt decided: the value the command answers with, once its writes are committed.
pub(crate) struct Decided<T> {
    value: T,
    writes: Vec<Write>,
    retry_on: Vec<&'static str>,
    mark_index: bool,
}

impl<'a> Tx<'a> {
    /// The attempt is decided: `value` is the answer once the writes are committed.
    pub fn done<T>(self, value: T) -> Decided<T> {
        Decided { value, writes: self.writes, retry_on: self.retry_on, mark_index: self.mark_index }
    }

    pub fn write(&mut self, write: Write) {
        self.writes.push(write);
    }

    pub fn write_all(&mut self, writes: impl IntoIterator<Item = Write>) {
        self.writes.extend(writes);
    }

    /// A whole file's rows (an import: a million doors for 20,000 lockers), taken as they are when
    /// nothing else was written: extending would hold two copies at once (+290 MB at that size).
    pub fn write_batch(&mut self, writes: Vec<Write>) {
        adopt(&mut self.writes, writes);
    }

    /// A clash on this unique key means another command won a race or a random draw collided (a
    /// pickup code already waiting at the point): the command decides again.
    pub fn retry_on_duplicate(&mut self, what: &'static str) {
        self.retry_on.push(what);
    }

    /// The commit leaves the search index alone: the command updates it itself.
    pub fn index_updated_by_the_command(&mut self) {
        self.mark_index = false;
    }

    /// A new parcel: its row, its `announced` event and outbox message.
    pub fn announce(&mut self, transition: Transition, pickup_seal: Vec<u8>) -> Parcel {
        let Transition { parcel, event } = transition;
        let contact_digests = self.app.secrets.recipient_digests(&parcel.recipient);
        self.writes.push(Write::InsertParcel { parcel: parcel.clone(), pickup_seal, contact_digests });
        self.writes.push(Write::AppendEvent(event.clone()));
        self.writes.push(Write::AppendOutbox(self.app.outbox_for(&parcel, &event)));
        parcel
    }

    /// A parcel transition: the parcel (version-checked), its event, and its outbox message with what
    /// the recipient must hear. Returns the parcel as it will be stored.
    pub async fn transition(&mut self, transition: Transition) -> Result<Parcel, StoreError> {
        self.transition_noting(transition, None).await
    }

    /// A parcel transition whose outbox message carries one more field (a relocation proposal).
    pub async fn transition_noting(
        &mut self,
        transition: Transition,
        note: Option<(&'static str, serde_json::Value)>,
    ) -> Result<Parcel, StoreError> {
        let Transition { parcel, event } = transition;
        let mut message = self.app.outbox_message(&parcel, &event).await?;
        if let Some((key, value)) = note {
            message.payload[key] = value;
        }
        self.writes.push(Write::UpdateParcel(parcel.clone()));
        self.writes.push(Write::AppendOutbox(message));
        self.writes.push(Write::AppendEvent(event));
        Ok(Parcel { version: parcel.version + 1, ..parcel })
    }

    /// A compartment's new state (version-checked).
    pub fn compartment(&mut self, compartment: Compartment) {
        self.writes.push(Write::UpdateCompartment(compartment));
    }

    /// A message to the outside world that is not a parcel's event (a door fault, a device gone silent).
    pub fn message(&mut self, topic: &str, parcel_id: Option<ParcelId>, payload: serde_json::Value) {
        let id: OutboxId = self.app.new_id();
        let message = OutboxMessage { id, topic: topic.to_owned(), parcel_id, payload, created_at: self.now };
        self.writes.push(Write::AppendOutbox(message));
    }

    pub fn audit(&mut self, entry: AuditEntry) {
        self.writes.push(Write::AppendAudit(entry));
    }
}

impl App {
    /// A new attempt of a command.
    pub(crate) fn tx(&self) -> Tx<'_> {
        Tx { app: self, now: self.now(), writes: Vec::new(), retry_on: Vec::new(), mark_index: true }
    }

    /// Runs a command: calls `decide` and commits what it decided, again after each lost race, up to
    /// `commit_attempts_max` times (then `busy`).
    pub(crate) async fn run<T, F, Fut>(&self, mut decide: F) -> Result<T, AppError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<Decided<T>, Halt>>,
    {
        for round in 0..self.limits.commit_attempts_max {
            let halt = match decide().await {
                Ok(decided) => match self.commit_decided(decided).await {
                    Ok(value) => return Ok(value),
                    Err(halt) => halt,
                },
                Err(halt) => halt,
            };
            match halt {
                Halt::Fail(error) => return Err(error),
                // Let the winner finish before reading again; after a few rounds back off a little.
                Halt::Conflict if round >= 4 => {
                    tokio::time::sleep(std::time::Duration::from_micros(50 << round.min(8))).await;
                }
                Halt::Conflict => tokio::task::yield_now().await,
            }
        }
        Err(AppError::Busy)
    }

    async fn commit_decided<T>(&self, decided: Decided<T>) -> Result<T, Halt> {
        let Decided { value, writes, retry_on, mark_index } = decided;
        if writes.is_empty() {
            return Ok(value);
        }
        let changes: Vec<IndexChange> =
            if mark_index { writes.iter().filter_map(Write::index_change).collect() } else { Vec::new() };
        match self.store.commit(writes).await {
            Ok(()) => {
                if !changes.is_empty() {
                    self.registry.mark_own(changes);
                }
                Ok(value)
            }
            Err(CommitError::Conflict) => Err(Halt::Conflict),
            Err(CommitError::Duplicate { what }) if retry_on.contains(&what) => Err(Halt::Conflict),
            Err(other) => Err(Halt::Fail(other.into())),
        }
    }

    // What commands load: each is `not_found` when missing, named as the API names it.

    pub(crate) async fn load_point(&self, point_id: PointId) -> Result<PickupPoint, AppError> {
        self.store.point(point_id).await?.ok_or_else(|| AppError::not_found("point", point_id))
    }

    /// The search index as it is now (the console's point list, map and KPIs read the network here).
    pub fn point_index(&self) -> std::sync::Arc<relais_registry::index::PointIndex> {
        self.registry.index()
    }

    /// A point as the search index holds it (no database read): the console's names and lists.
    pub fn registry_point(&self, point_id: PointId) -> Option<std::sync::Arc<PickupPoint>> {
        self.registry.index().point(point_id)
    }

    /// A point as the registry index holds it, read from the store when the index does not have it yet
    /// (created since its last refresh): what a hot path reads instead of a query.
    pub(crate) async fn indexed_point(&self, point_id: PointId) -> Result<std::sync::Arc<PickupPoint>, AppError> {
        match self.registry.index().point(point_id) {
            Some(point) => Ok(point),
            None => Ok(std::sync::Arc::new(self.load_point(point_id).await?)),
        }
    }

    /// A point that has compartments, or why not.
    pub(crate) async fn load_locker(&self, point_id: PointId) -> Result<PickupPoint, AppError> {
        let point = self.load_point(point_id).await?;
        if !point.kind.has_compartments() {
            return Err(ParseError::new("point_id", "is not a locker: a counter takes parcels over its shelf").into());
        }
        Ok(point)
    }

    pub(crate) async fn load_parcel(&self, parcel_id: ParcelId) -> Result<Parcel, AppError> {
        self.store.parcel(parcel_id).await?.ok_or_else(|| AppError::not_found("parcel", parcel_id))
    }

    /// The parcel if it exists and the caller may see it; `not_found` otherwise (its existence is none
    /// of their business).
    pub(crate) async fn load_visible_parcel(&self, caller: &Caller, parcel_id: ParcelId) -> Result<Parcel, AppError> {
        match self.store.parcel(parcel_id).await? {
            Some(parcel) if caller.can_see(&parcel) => Ok(parcel),
            Some(_) | None => Err(AppError::not_found("parcel", parcel_id)),
        }
    }

    pub(crate) async fn load_rules(&self, network_id: NetworkId) -> Result<NetworkRules, AppError> {
        let network = self.store.network(network_id).await?;
        Ok(network.ok_or_else(|| AppError::not_found("network", network_id))?.rules)
    }

    /// The parcel with this number at this point that `visible` lets through: a courier's or a counter's
    /// scan. Numbers are unique per merchant, so two merchants' parcels may carry one; at one point a scan
    /// cannot tell them apart, and says so.
    pub(crate) async fn parcel_numbered_at(
        &self,
        number: &ParcelNumber,
        point_id: PointId,
        visible: impl Fn(&Parcel) -> bool,
    ) -> Result<Parcel, AppError> {
        let found = self.store.parcels_by_number(number, PARCELS_PER_NUMBER_MAX).await?;
        let mut here = found.into_iter().filter(|p| p.point_id == point_id && visible(p));
        match (here.next(), here.next()) {
            (Some(parcel), None) => Ok(parcel),
            (None, _) => Err(AppError::not_found("parcel", number.as_str())),
            (Some(_), Some(_)) => Err(ParseError::new(
                "parcel_number",
                "several parcels at this point carry this number (from different merchants): hand them over by id",
            )
            .into()),
        }
    }

    pub(crate) async fn load_carrier(&self, carrier_id: CarrierId) -> Result<Carrier, AppError> {
        self.store.carrier(carrier_id).await?.ok_or_else(|| AppError::not_found("carrier", carrier_id))
    }

    pub(crate) async fn load_compartment(&self, compartment_id: CompartmentId) -> Result<Compartment, AppError> {
        let compartment = self.store.compartment(compartment_id).await?;
        compartment.ok_or_else(|| AppError::not_found("compartment", compartment_id))
    }

    /// A locker's door by the label painted on it.
    pub(crate) async fn load_door(&self, point_id: PointId, label: &str) -> Result<Compartment, AppError> {
        self.load_locker(point_id).await?;
        let compartments = self.store.compartments(point_id).await?;
        compartments.into_iter().find(|c| c.label == label).ok_or_else(|| AppError::not_found("door", label))
    }

    pub(crate) async fn load_session(&self, session_id: DropOffSessionId) -> Result<DropOffSession, AppError> {
        let session = self.store.drop_off_session(session_id).await?;
        session.ok_or_else(|| AppError::not_found("drop-off session", session_id))
    }

    /// The session if the caller may use it: its locker's device, the carrier that opened it, an
    /// operator. Anyone else is told it does not exist.
    pub(crate) async fn load_session_for(
        &self,
        caller: &Caller,
        session_id: DropOffSessionId,
    ) -> Result<DropOffSession, AppError> {
        let session = self.store.drop_off_session(session_id).await?;
        visible_session(caller, session, session_id)
    }

    /// The outbox message that tells the outside world about a parcel event (`parcel.<event>`).
    pub(crate) fn outbox_for(&self, parcel: &Parcel, event: &ParcelEvent) -> OutboxMessage {
        let payload = serde_json::json!({
            "parcel_id": parcel.id.to_string(),
            "parcel_number": parcel.number.as_str(),
            "merchant_id": parcel.merchant_id.to_string(),
            "point_id": parcel.point_id.to_string(),
            "event": event.kind.as_str(),
            "from": event.from.map(|s| s.as_str()),
            "state": event.to.as_str(),
            "incident": event.to.incident_kind().map(|k| k.as_str()),
            "reason": event.reason,
            "actor": event.actor.kind.as_str(),
            "pickup_deadline": parcel.pickup_deadline.map(|t| t.to_rfc3339()),
            "at": event.at.to_rfc3339(),
            // What the recipient is told, decided now: a reminder is the last one if none is left after it.
            "notice": Notice::of_event(event.kind, parcel.next_reminder_at.is_none()).map(Notice::as_str),
        });
        OutboxMessage {
            id: self.new_id(),
            topic: format!("parcel.{}", event.kind.as_str()),
            parcel_id: Some(parcel.id),
            payload,
            created_at: event.at,
        }
    }
}

/// `more` appended to `into`; taken whole, its buffer and all, when `into` is empty.
fn adopt<T>(into: &mut Vec<T>, mut more: Vec<T>) {
    if into.is_empty() {
        *into = more;
    } else {
        into.append(&mut more);
    }
}

/// `session` if the caller may use it: its locker's device, the carrier that opened it, an operator.
/// Anyone else is told it does not exist.
pub(crate) fn visible_session(
    caller: &Caller,
    session: Option<DropOffSession>,
    session_id: DropOffSessionId,
) -> Result<DropOffSession, AppError> {
    let visible = session.filter(|s| {
        caller.require(crate::auth::Permission::DropOffAt(s.point_id)).is_ok()
            && (caller.role != Role::Carrier || caller.key_id == Some(s.carrier_key_id))
    });
    visible.ok_or_else(|| AppError::not_found("drop-off session", session_id))
}

#[cfg(test)]
mod tests {
    use super::adopt;

    #[test]
    fn a_batch_is_taken_whole_when_nothing_was_written_before_it() {
        let batch: Vec<u64> = (0..1000).collect();
        let buffer = batch.as_ptr();
        let mut writes = Vec::new();
        adopt(&mut writes, batch);
        assert_eq!(writes.as_ptr(), buffer, "the same buffer, not a copy");
        assert_eq!(writes.len(), 1000);

        let mut writes = vec![7, 8];
        adopt(&mut writes, vec![9, 10]);
        assert_eq!(writes, [7, 8, 9, 10]);
    }
}
