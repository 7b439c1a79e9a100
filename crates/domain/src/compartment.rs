//! Compartments (the doors of a locker) and the choice of one for a parcel.
//!
//! Architecture invariant: a compartment holds one parcel, or several parcels of one recipient from one
//! merchant that fit in it together (a **shared compartment**, domain.md section 3), and it is each of
//! those parcels' only place. The state names one parcel (the one that went in first); the others are its
//! `sharers`, and only an occupied compartment has any. A soft reservation whose expiry has passed counts
//! as free: it is released lazily by whoever needs the compartment next, and tidied by the sweep job.
//!
//! A door can fail (jammed, forced open, broken, blocked by something left inside). The fault is kept
//! beside the state, not instead of it: a parcel behind a jammed door is still in that compartment until
//! someone takes it out. A faulty compartment is never free; once empty it is `out_of_service` until an
//! operator repairs it.

use crate::Timestamp;
use crate::ids::{CompartmentId, ParcelId, PointId};
use crate::value::{Dimensions, ParseError, SizeClass, Weight, parse_text};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompartmentState {
    Available,
    /// Held for a parcel. `expires_at: None` is a hard reservation (kept until released).
    Reserved {
        parcel_id: ParcelId,
        expires_at: Option<Timestamp>,
    },
    Occupied {
        parcel_id: ParcelId,
    },
    /// Broken door, dirty, jammed: not usable until repaired.
    OutOfService,
    /// Taken out of use by the operator.
    Disabled,
}

impl CompartmentState {
    pub const fn name(&self) -> &'static str {
        match self {
            CompartmentState::Available => "available",
            CompartmentState::Reserved { .. } => "reserved",
            CompartmentState::Occupied { .. } => "occupied",
            CompartmentState::OutOfService => "out_of_service",
            CompartmentState::Disabled => "disabled",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Compartment {
    pub id: CompartmentId,
    pub point_id: PointId,
    /// What is painted on the door, e.g. `A01`.
    pub label: String,
    pub size: SizeClass,
    pub state: CompartmentState,
    /// Other parcels in it beside the one its state names: same recipient, same merchant, they fit
    /// together. Empty unless the compartment is occupied. In the order they went in.
    pub sharers: Vec<ParcelId>,
    /// What is wrong with the door, if anything.
    pub fault: Option<DoorFault>,
    pub version: i64,
}

/// What can be wrong with a compartment's door.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DoorFault {
    /// The locker reports the door stuck: it does not open or does not latch.
    Jammed,
    /// The door was opened without a command: a break-in or a faulty lock.
    ForcedOpen,
    /// A courier found the door broken.
    Broken,
    /// A courier found the compartment not empty although it should be.
    Blocked,
}

impl DoorFault {
    pub const ALL: [DoorFault; 4] = [DoorFault::Jammed, DoorFault::ForcedOpen, DoorFault::Broken, DoorFault::Blocked];

    pub const fn as_str(self) -> &'static str {
        match self {
            DoorFault::Jammed => "door_jammed",
            DoorFault::ForcedOpen => "door_forced_open",
            DoorFault::Broken => "door_broken",
            DoorFault::Blocked => "compartment_blocked",
        }
    }

    pub fn parse(input: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str() == input)
    }
}

/// A fault recorded on a compartment: the compartment as it is now, and who was affected.
#[derive(Debug, Clone, PartialEq)]
pub struct Faulted {
    pub compartment: Compartment,
    /// The parcels behind the door, to be flagged: the one the state names, then its sharers (one of
    /// which may still be on its way in, with a pending door command).
    pub parcels_inside: Vec<ParcelId>,
    /// The parcel whose reservation was dropped: it will be given another compartment.
    pub reservation_dropped: Option<ParcelId>,
}

/// Why no compartment (or shelf slot) can take a parcel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoFit {
    /// Larger than every size class (or every shelf limit) of the point.
    TooLarge,
    /// Heavier than the point accepts.
    TooHeavy,
    /// Compartments of a fitting size exist but none is free now.
    AllFittingBusy,
    /// A staffed point whose shelf is full.
    ShelfFull,
    /// The point is not active.
    PointUnavailable,
}

impl NoFit {
    /// Stable machine token, used as an event reason and in error details.
    pub const fn as_str(self) -> &'static str {
        match self {
            NoFit::TooLarge => "too_large",
            NoFit::TooHeavy => "too_heavy",
            NoFit::AllFittingBusy => "all_fitting_compartments_busy",
            NoFit::ShelfFull => "shelf_full",
            NoFit::PointUnavailable => "point_unavailable",
        }
    }

    pub const fn message(self) -> &'static str {
        match self {
            NoFit::TooLarge => "the parcel is larger than any compartment or shelf limit of this point",
            NoFit::TooHeavy => "the parcel is heavier than this point accepts",
            NoFit::AllFittingBusy => {
                "every compartment large enough for this parcel is reserved, occupied or out of service"
            }
            NoFit::ShelfFull => "the shelf of this point is full",
            NoFit::PointUnavailable => "this point is not active",
        }
    }
}

/// A compartment transition that the current state does not allow: a programming or concurrency
/// problem the caller must handle (reload and choose again).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompartmentBusy {
    pub compartment_id: CompartmentId,
    pub state: &'static str,
}

impl Compartment {
    pub const LABEL_LENGTH_MAX: usize = 16;
    pub const PER_POINT_MAX: usize = 1_000;

    pub fn new(id: CompartmentId, point_id: PointId, label: &str, size: SizeClass) -> Result<Self, ParseError> {
        Ok(Compartment {
            id,
            point_id,
            label: parse_text("label", label, Self::LABEL_LENGTH_MAX)?,
            size,
            state: CompartmentState::Available,
            sharers: Vec::new(),
            fault: None,
            version: 0,
        })
    }

    /// Free for a new parcel at `now`: available, or soft-reserved with an expiry that has passed.
    pub fn is_free(&self, now: Timestamp) -> bool {
        if self.fault.is_some() || !self.sharers.is_empty() {
            return false;
        }
        match self.state {
            CompartmentState::Available => true,
            CompartmentState::Reserved { expires_at: Some(expires_at), .. } => expires_at <= now,
            CompartmentState::Reserved { expires_at: None, .. }
            | CompartmentState::Occupied { .. }
            | CompartmentState::OutOfService
            | CompartmentState::Disabled => false,
        }
    }

    pub fn is_reserved_for(&self, parcel_id: ParcelId) -> bool {
        matches!(self.state, CompartmentState::Reserved { parcel_id: holder, .. } if holder == parcel_id)
    }

    pub fn holds(&self, parcel_id: ParcelId) -> bool {
        self.named() == Some(parcel_id) || self.sharers.contains(&parcel_id)
    }

    /// Every parcel held: the one the state names, then the sharers.
    pub fn holders(&self) -> Vec<ParcelId> {
        self.named().into_iter().chain(self.sharers.iter().copied()).collect()
    }

    /// The parcels behind the door now: none while it is only reserved for one on its way.
    pub fn inside(&self) -> Vec<ParcelId> {
        match self.state {
            CompartmentState::Occupied { .. } => self.holders(),
            CompartmentState::Available
            | CompartmentState::Reserved { .. }
            | CompartmentState::OutOfService
            | CompartmentState::Disabled => Vec::new(),
        }
    }

    /// Whether another parcel may join the ones in it: occupied, and the door without fault.
    pub fn takes_sharers(&self) -> bool {
        self.fault.is_none() && matches!(self.state, CompartmentState::Occupied { .. })
    }

    /// Adds a parcel to an occupied compartment whose parcels it may share (the caller checked the
    /// recipient, the merchant and the room left: [`choose_shared`]).
    pub fn share(&self, parcel_id: ParcelId) -> Result<Compartment, CompartmentBusy> {
        if !self.takes_sharers() || self.holds(parcel_id) {
            return Err(self.busy());
        }
        let mut shared = self.clone();
        shared.sharers.push(parcel_id);
        Ok(shared)
    }

    /// Soft-reserves the compartment for a parcel until `expires_at` (renews the parcel's own
    /// reservation).
    pub fn reserve(
        &self,
        parcel_id: ParcelId,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> Result<Compartment, CompartmentBusy> {
        let renewal = self.is_reserved_for(parcel_id) && self.fault.is_none();
        if !(self.is_free(now) || renewal) {
            return Err(self.busy());
        }
        Ok(self.with_state(CompartmentState::Reserved { parcel_id, expires_at: Some(expires_at) }))
    }

    /// Puts a parcel in: the compartment must be free, reserved for that very parcel, or occupied with
    /// the parcel among its holders (a sharer whose door just closed).
    pub fn occupy(&self, parcel_id: ParcelId, now: Timestamp) -> Result<Compartment, CompartmentBusy> {
        if matches!(self.state, CompartmentState::Occupied { .. }) && self.holds(parcel_id) {
            return Ok(self.clone());
        }
        if !self.is_free(now) && !self.is_reserved_for(parcel_id) {
            return Err(self.busy());
        }
        Ok(self.with_state(CompartmentState::Occupied { parcel_id }))
    }

    /// Takes a parcel out after a collection or a return collection, or drops a reservation. Only a
    /// parcel it holds can leave. The first sharer left takes the place of a parcel the state named; the
    /// compartment is empty when the last one leaves. A faulty compartment, once empty, is out of service.
    pub fn release(&self, parcel_id: ParcelId) -> Result<Compartment, CompartmentBusy> {
        if !self.holds(parcel_id) {
            return Err(self.busy());
        }
        let mut left = self.clone();
        if let Some(at) = left.sharers.iter().position(|p| *p == parcel_id) {
            left.sharers.remove(at);
        } else if left.sharers.is_empty() {
            left.state = self.empty_state();
        } else {
            left.state = CompartmentState::Occupied { parcel_id: left.sharers.remove(0) };
        }
        Ok(left)
    }

    /// The tidying sweep gives back a soft reservation whose expiry has passed: the compartment is
    /// available again. Refused when it is no longer such a reservation (taken or renewed meanwhile).
    pub fn release_lapsed(&self, now: Timestamp) -> Result<Compartment, CompartmentBusy> {
        match self.state {
            CompartmentState::Reserved { expires_at: Some(expires_at), .. }
                if expires_at <= now && self.fault.is_none() =>
            {
                Ok(self.with_state(CompartmentState::Available))
            }
            CompartmentState::Reserved { .. }
            | CompartmentState::Available
            | CompartmentState::Occupied { .. }
            | CompartmentState::OutOfService
            | CompartmentState::Disabled => Err(self.busy()),
        }
    }

    /// Records a fault of the door. Parcels inside stay (and are named, to be flagged); a reservation is
    /// dropped (the parcel will get another compartment); an empty compartment goes out of service.
    /// The first fault is kept if the door already had one.
    pub fn report_fault(&self, fault: DoorFault) -> Faulted {
        let fault = self.fault.unwrap_or(fault);
        let (state, parcels_inside, reservation_dropped) = match self.state {
            CompartmentState::Occupied { .. } => (self.state, self.holders(), None),
            CompartmentState::Reserved { parcel_id, .. } => {
                (CompartmentState::OutOfService, Vec::new(), Some(parcel_id))
            }
            CompartmentState::Available | CompartmentState::OutOfService => {
                (CompartmentState::OutOfService, Vec::new(), None)
            }
            CompartmentState::Disabled => (CompartmentState::Disabled, Vec::new(), None),
        };
        Faulted {
            compartment: Compartment { state, fault: Some(fault), ..self.clone() },
            parcels_inside,
            reservation_dropped,
        }
    }

    /// The door is fixed: the fault is cleared and an empty compartment is available again.
    pub fn repair(&self) -> Compartment {
        let state = match self.state {
            CompartmentState::OutOfService => CompartmentState::Available,
            other => other,
        };
        Compartment { state, fault: None, ..self.clone() }
    }

    /// The parcel the state names (reserved for it, or occupied by it first).
    fn named(&self) -> Option<ParcelId> {
        match self.state {
            CompartmentState::Reserved { parcel_id, .. } | CompartmentState::Occupied { parcel_id } => Some(parcel_id),
            CompartmentState::Available | CompartmentState::OutOfService | CompartmentState::Disabled => None,
        }
    }

    fn empty_state(&self) -> CompartmentState {
        if self.fault.is_some() { CompartmentState::OutOfService } else { CompartmentState::Available }
    }

    fn with_state(&self, state: CompartmentState) -> Compartment {
        Compartment { state, ..self.clone() }
    }

    fn busy(&self) -> CompartmentBusy {
        CompartmentBusy { compartment_id: self.id, state: self.state.name() }
    }
}

/// The compartments among `compartments` reserved for a parcel, given back (it took another door, or
/// none).
pub fn reservations_given_back(
    compartments: &[Compartment],
    parcel_id: ParcelId,
) -> Result<Vec<Compartment>, CompartmentBusy> {
    compartments.iter().filter(|c| c.is_reserved_for(parcel_id)).map(|c| c.release(parcel_id)).collect()
}

/// Whether any compartment of the point could ever take the parcel (free or not): the check an announce
/// makes when the network does not reserve.
pub fn any_compartment_fits(compartments: &[Compartment], dimensions: Dimensions, weight: Weight) -> Result<(), NoFit> {
    if weight.grams() > SizeClass::WEIGHT_GRAMS_MAX {
        return Err(NoFit::TooHeavy);
    }
    match SizeClass::smallest_fitting(dimensions, weight) {
        Some(smallest) if compartments.iter().any(|c| c.size >= smallest) => Ok(()),
        Some(_) | None => Err(NoFit::TooLarge),
    }
}

/// Best fit: the compartment of the smallest size class that takes the parcel, among those free at
/// `now`; a compartment already reserved for this parcel wins over any other. Ties go to the lowest label
/// so that the choice is deterministic.
pub fn choose_compartment(
    compartments: &[Compartment],
    parcel_id: ParcelId,
    dimensions: Dimensions,
    weight: Weight,
    now: Timestamp,
) -> Result<&Compartment, NoFit> {
    if let Some(own) = compartments.iter().find(|c| c.is_reserved_for(parcel_id)) {
        return Ok(own);
    }
    let Some(smallest) = SizeClass::smallest_fitting(dimensions, weight) else {
        return Err(if weight.grams() > SizeClass::WEIGHT_GRAMS_MAX { NoFit::TooHeavy } else { NoFit::TooLarge });
    };
    let fitting = compartments.iter().filter(|c| c.size >= smallest);
    let mut any_fitting = false;
    let mut best: Option<&Compartment> = None;
    for compartment in fitting {
        any_fitting = true;
        if !compartment.is_free(now) {
            continue;
        }
        let better = match best {
            None => true,
            Some(b) => (compartment.size, &compartment.label) < (b.size, &b.label),
        };
        if better {
            best = Some(compartment);
        }
    }
    match best {
        Some(compartment) => Ok(compartment),
        None if any_fitting => Err(NoFit::AllFittingBusy),
        None => Err(NoFit::TooLarge),
    }
}

/// A compartment a parcel may share, with what is already in it.
#[derive(Debug, Clone)]
pub struct ShareCandidate<'a> {
    /// Occupied only by parcels of the parcel's recipient from its merchant (the caller checked).
    pub compartment: &'a Compartment,
    /// The size and weight of each parcel in it.
    pub inside: Vec<(Dimensions, Weight)>,
}

/// The compartment a parcel shares with parcels of its recipient, if one has room for it: a door without
/// fault whose parcels and this one fit together ([`SizeClass::holds_together`]). The smallest class
/// wins, then the lowest label. Sharing comes before a free compartment: it keeps a door free.
pub fn choose_shared<'a>(
    candidates: &[ShareCandidate<'a>],
    dimensions: Dimensions,
    weight: Weight,
) -> Option<&'a Compartment> {
    candidates
        .iter()
        .filter(|c| c.compartment.takes_sharers())
        .filter(|c| {
            let mut together = c.inside.clone();
            together.push((dimensions, weight));
            c.compartment.size.holds_together(&together)
        })
        .map(|c| c.compartment)
        .min_by(|a, b| (a.size, &a.label).cmp(&(b.size, &b.label)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn at(hour: u32) -> Timestamp {
        Utc.with_ymd_and_hms(2026, 11, 27, hour, 0, 0).unwrap()
    }

    fn id<T>(n: u8) -> crate::ids::Id<T> {
        crate::ids::Id::from_parts(1, [n; 10])
    }

    fn compartment(n: u8, size: SizeClass, state: CompartmentState) -> Compartment {
        let mut c = Compartment::new(id(n), id(0), &format!("{}{n:02}", size.as_str()), size).unwrap();
        c.state = state;
        c
    }

    #[test]
    fn best_fit_table() {
        let me: ParcelId = id(100);
        let other: ParcelId = id(101);
        let small = Dimensions::from_mm(300, 200, 50).unwrap();
        let medium = Dimensions::from_mm(300, 200, 150).unwrap();
        let huge = Dimensions::from_mm(900, 200, 150).unwrap();
        let kg = Weight::from_grams(1_000).unwrap();
        let free = CompartmentState::Available;
        let occupied = CompartmentState::Occupied { parcel_id: other };
        let soft_live = CompartmentState::Reserved { parcel_id: other, expires_at: Some(at(12)) };
        let soft_expired = CompartmentState::Reserved { parcel_id: other, expires_at: Some(at(8)) };
        let hard = CompartmentState::Reserved { parcel_id: other, expires_at: None };
        let mine = CompartmentState::Reserved { parcel_id: me, expires_at: Some(at(8)) };

        // (compartments, parcel, expected label or refusal)
        let cases: Vec<(Vec<Compartment>, Dimensions, Result<&str, NoFit>)> = vec![
            (vec![compartment(1, SizeClass::C, free), compartment(2, SizeClass::A, free)], small, Ok("A02")),
            (vec![compartment(1, SizeClass::C, free), compartment(2, SizeClass::A, occupied)], small, Ok("C01")),
            (vec![compartment(1, SizeClass::A, free), compartment(2, SizeClass::B, free)], medium, Ok("B02")),
            (vec![compartment(1, SizeClass::A, free)], medium, Err(NoFit::TooLarge)),
            (
                vec![compartment(1, SizeClass::B, occupied), compartment(2, SizeClass::C, soft_live)],
                medium,
                Err(NoFit::AllFittingBusy),
            ),
            (vec![compartment(1, SizeClass::B, soft_expired)], medium, Ok("B01")),
            (vec![compartment(1, SizeClass::B, hard)], medium, Err(NoFit::AllFittingBusy)),
            (
                vec![
                    compartment(1, SizeClass::B, CompartmentState::OutOfService),
                    compartment(2, SizeClass::D, CompartmentState::Disabled),
                ],
                medium,
                Err(NoFit::AllFittingBusy),
            ),
            // Its own reservation wins, even over a smaller free compartment and after its expiry.
            (vec![compartment(1, SizeClass::A, free), compartment(2, SizeClass::C, mine)], small, Ok("C02")),
            (vec![compartment(1, SizeClass::D, free)], huge, Err(NoFit::TooLarge)),
            (vec![], small, Err(NoFit::TooLarge)),
        ];
        for (i, (compartments, dims, expected)) in cases.into_iter().enumerate() {
            let got = choose_compartment(&compartments, me, dims, kg, at(10)).map(|c| c.label.as_str());
            assert_eq!(got, expected, "case {i}");
        }
        let heavy = Weight::from_grams(26_000).unwrap();
        assert_eq!(
            choose_compartment(&[compartment(1, SizeClass::D, free)], me, small, heavy, at(10)).map(|c| c.id),
            Err(NoFit::TooHeavy)
        );
    }

    #[test]
    fn transitions_guard_the_holder() {
        let me: ParcelId = id(100);
        let other: ParcelId = id(101);
        let c = compartment(1, SizeClass::A, CompartmentState::Available);
        let reserved = c.reserve(me, at(12), at(10)).unwrap();
        assert!(reserved.reserve(other, at(12), at(11)).is_err(), "a live reservation is not taken");
        assert!(reserved.occupy(other, at(11)).is_err());
        assert!(reserved.reserve(other, at(14), at(13)).is_ok(), "an expired soft reservation is free");
        let occupied = reserved.occupy(me, at(13)).unwrap();
        assert_eq!(occupied.state, CompartmentState::Occupied { parcel_id: me });
        assert!(occupied.occupy(other, at(13)).is_err(), "never two parcels");
        assert!(occupied.release(other).is_err());
        assert_eq!(occupied.release(me).unwrap().state, CompartmentState::Available);
    }

    #[test]
    fn parcels_stack_flat_in_a_compartment() {
        let d = |l, w, h| Dimensions::from_mm(l, w, h).unwrap();
        let g = |grams| Weight::from_grams(grams).unwrap();
        // (class, parcels, fit together)
        type Case = (SizeClass, Vec<(Dimensions, Weight)>, bool);
        let cases: Vec<Case> = vec![
            (SizeClass::A, vec![(d(300, 200, 40), g(500)), (d(300, 200, 40), g(500))], true),
            (SizeClass::A, vec![(d(300, 200, 40), g(500)), (d(300, 200, 41), g(500))], false),
            (SizeClass::B, vec![(d(600, 350, 90), g(5_000)), (d(90, 350, 600), g(5_000))], true),
            (SizeClass::B, vec![(d(650, 350, 90), g(1_000)), (d(100, 100, 10), g(1_000))], false),
            (SizeClass::C, vec![(d(300, 200, 100), g(13_000)), (d(300, 200, 100), g(13_000))], false),
            (SizeClass::D, vec![(d(790, 490, 250), g(1_000)), (d(790, 490, 250), g(1_000))], true),
            (SizeClass::D, vec![(d(790, 490, 250), g(1_000)); 3], false),
            // One parcel: the same answer as the best fit's test.
            (SizeClass::A, vec![(d(300, 200, 80), g(500))], true),
            (SizeClass::A, vec![(d(300, 200, 81), g(500))], false),
        ];
        for (i, (class, parcels, expected)) in cases.into_iter().enumerate() {
            assert_eq!(class.holds_together(&parcels), expected, "case {i}");
            if let [(one, weight)] = parcels[..] {
                assert_eq!(SizeClass::smallest_fitting(one, weight).is_some_and(|s| s <= class), expected, "case {i}");
            }
        }
    }

    #[test]
    fn sharing_a_compartment() {
        let (first, second, third): (ParcelId, ParcelId, ParcelId) = (id(100), id(101), id(102));
        let free = compartment(1, SizeClass::B, CompartmentState::Available);
        assert!(free.share(second).is_err(), "only an occupied compartment is shared");
        let held = free.reserve(first, at(12), at(10)).unwrap();
        assert!(held.share(second).is_err(), "nor one still waiting for its first parcel");
        assert_eq!((held.holders(), held.inside()), (vec![first], vec![]), "reserved: held for it, nothing inside");
        let occupied = held.occupy(first, at(10)).unwrap();
        assert!(occupied.share(first).is_err(), "a parcel is in it once");
        let shared = occupied.share(second).unwrap().share(third).unwrap();
        assert_eq!(shared.holders(), vec![first, second, third]);
        assert_eq!(shared.inside(), shared.holders());
        assert!(!shared.is_free(at(20)));
        assert_eq!(shared.occupy(second, at(10)).unwrap(), shared, "a sharer's door closed: nothing changes");
        assert!(shared.occupy(id(103), at(10)).is_err());

        // (who leaves, holders left, state)
        let cases = [
            (second, vec![first, third], CompartmentState::Occupied { parcel_id: first }),
            (first, vec![second, third], CompartmentState::Occupied { parcel_id: second }),
        ];
        for (i, (leaving, left, state)) in cases.into_iter().enumerate() {
            let after = shared.release(leaving).unwrap();
            assert_eq!((after.holders(), after.state), (left, state), "case {i}");
        }
        let emptied = shared.release(first).unwrap().release(third).unwrap().release(second).unwrap();
        assert_eq!((emptied.state, emptied.sharers.len()), (CompartmentState::Available, 0));
        assert!(shared.release(id(103)).is_err());

        // A fault names every parcel inside; the door stays shut on them until they leave.
        let faulted = shared.report_fault(DoorFault::Jammed);
        assert_eq!(faulted.parcels_inside, vec![first, second, third]);
        assert!(faulted.compartment.share(id(103)).is_err(), "a faulty door takes no one more");
        let out = faulted.compartment.release(first).unwrap().release(second).unwrap().release(third).unwrap();
        assert_eq!(out.state, CompartmentState::OutOfService);
    }

    #[test]
    fn choosing_a_compartment_to_share() {
        let d = |l, w, h| Dimensions::from_mm(l, w, h).unwrap();
        let kg = Weight::from_grams(1_000).unwrap();
        let occupied = CompartmentState::Occupied { parcel_id: id(100) };
        let a = compartment(1, SizeClass::A, occupied);
        let b = compartment(2, SizeClass::B, occupied);
        let c = compartment(3, SizeClass::C, occupied);
        let jammed = Compartment { fault: Some(DoorFault::Jammed), ..compartment(4, SizeClass::C, occupied) };
        let reserved =
            compartment(5, SizeClass::C, CompartmentState::Reserved { parcel_id: id(100), expires_at: None });
        let thin = (d(300, 200, 30), kg);
        let thick = (d(300, 200, 150), kg);
        fn candidate(compartment: &Compartment, inside: Vec<(Dimensions, Weight)>) -> ShareCandidate<'_> {
            ShareCandidate { compartment, inside }
        }
        // (candidates, parcel, expected label)
        let cases = [
            (vec![candidate(&c, vec![thin]), candidate(&a, vec![thin])], thin, Some("A01")),
            (vec![candidate(&a, vec![thin]), candidate(&b, vec![thick])], thick, None),
            (vec![candidate(&b, vec![thin]), candidate(&c, vec![thick])], thick, Some("B02")),
            (vec![candidate(&jammed, vec![thin])], thin, None),
            (vec![candidate(&reserved, vec![])], thin, None),
            (vec![], thin, None),
        ];
        for (i, (candidates, (dims, weight), expected)) in cases.into_iter().enumerate() {
            let got = choose_shared(&candidates, dims, weight).map(|c| c.label.as_str());
            assert_eq!(got, expected, "case {i}");
        }
    }

    #[test]
    fn a_fault_keeps_the_parcel_inside_and_takes_the_door_out_of_use() {
        let me: ParcelId = id(100);
        let free = compartment(1, SizeClass::A, CompartmentState::Available);
        let reserved = free.reserve(me, at(12), at(10)).unwrap();
        let occupied = free.occupy(me, at(10)).unwrap();

        // (before, fault, state after, parcel inside, reservation dropped)
        let cases = [
            (&free, DoorFault::Jammed, CompartmentState::OutOfService, vec![], None),
            (&reserved, DoorFault::Broken, CompartmentState::OutOfService, vec![], Some(me)),
            (&occupied, DoorFault::ForcedOpen, CompartmentState::Occupied { parcel_id: me }, vec![me], None),
        ];
        for (i, (before, fault, state, inside, dropped)) in cases.into_iter().enumerate() {
            let faulted = before.report_fault(fault);
            assert_eq!(faulted.compartment.state, state, "case {i}");
            assert_eq!(faulted.compartment.fault, Some(fault), "case {i}");
            assert_eq!((faulted.parcels_inside, faulted.reservation_dropped), (inside, dropped), "case {i}");
            assert!(!faulted.compartment.is_free(at(20)), "case {i}: a faulty door is never free");
        }
        // The parcel leaves a jammed compartment: it stays out of service until repaired.
        let jammed = occupied.report_fault(DoorFault::Jammed).compartment;
        let emptied = jammed.release(me).unwrap();
        assert_eq!(emptied.state, CompartmentState::OutOfService);
        let repaired = emptied.repair();
        assert_eq!((repaired.state, repaired.fault), (CompartmentState::Available, None));
        assert!(repaired.is_free(at(20)));
        // A second fault does not overwrite the first.
        assert_eq!(jammed.report_fault(DoorFault::Broken).compartment.fault, Some(DoorFault::Jammed));
        assert!(
            choose_compartment(
                &[jammed],
                id(101),
                Dimensions::from_mm(10, 10, 10).unwrap(),
                Weight::from_grams(10).unwrap(),
                at(20)
            )
            .is_err()
        );
    }
}
