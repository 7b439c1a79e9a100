//! The in-memory search index of the registry: every pickup point on a unit sphere in an R*-tree, with
//! what the checkout filters on kept beside it in a few bytes (kind, network, services, limits, open
//! days as a bitmask, free capacity). "The ten nearest points that are open the day the parcel arrives
//! and have a free fitting compartment" is a walk of the tree in distance order that stops at the tenth
//! point that passes, with no allocation per candidate.
//!
//! The index is rebuilt whole from the store (after an import; ~100 ms for 200,000 points) and its
//! capacities are updated in place (atomics) when parcels come and go, so searches never wait on a lock.
//!
//! Open days are local calendar days from `first_day` (the day the index was built, in UTC), 128 of
//! them, computed once per distinct `opening_hours` value and country, with each point's closures
//! taken out. A point without known hours counts as open every day (and says so).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use chrono::{Duration, NaiveDate, NaiveTime};
use relais_domain::ids::{NetworkId, PointId};
use relais_domain::point::{PickupPoint, PointKind, Services};
use relais_domain::value::{Coordinates, Dimensions, SizeClass, Weight};
use rstar::RTree;
use rstar::primitives::GeomWithData;

/// Days covered by the open-days bitmask.
pub const HORIZON_DAYS: u32 = 128;
/// Mean Earth radius, as in `Coordinates::distance_m`.
const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// Free capacity of a point as the index knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Capacity {
    /// Lockers and hubs: available compartments per size class (A, B, C, D), reserved ones excluded.
    pub free: [u32; 4],
    /// Lockers and hubs: all compartments per size class, whatever their state.
    pub total: [u32; 4],
    /// Shelf points: free slots.
    pub shelf_free: u32,
}

impl Capacity {
    /// A point's places and those free now: its doors when it has compartments, else its shelf slots
    /// (`shelf_capacity`, the point's record). What the console's occupancy and the KPIs count.
    pub fn places(&self, shelf_capacity: u32) -> (u32, u32) {
        let doors: u32 = self.total.iter().sum();
        if doors > 0 { (doors, self.free.iter().sum()) } else { (shelf_capacity, self.shelf_free) }
    }

    /// Places taken now over places; none for a point without places.
    pub fn occupancy(&self, shelf_capacity: u32) -> Option<f64> {
        let (total, free) = self.places(shelf_capacity);
        (total > 0).then(|| f64::from(total.saturating_sub(free)) / f64::from(total))
    }
}

struct Entry {
    point: Arc<PickupPoint>,
    kind: u8,
    services: Services,
    accepts: bool,
    hold_days: u8,
    hours_known: bool,
    /// Days the hours open (before closures), shared by every point with the same hours.
    hours_days: u128,
    /// `hours_days` without the point's closure days.
    open_days: u128,
    free: [AtomicU32; 4],
    total: [u32; 4],
    shelf_free: AtomicU32,
}

impl Entry {
    fn capacity(&self) -> Capacity {
        Capacity {
            free: self.free.each_ref().map(|f| f.load(Ordering::Relaxed)),
            total: self.total,
            shelf_free: self.shelf_free.load(Ordering::Relaxed),
        }
    }
}

/// What a point's open days depend on: its hours value, country (holidays) and timezone.
fn hours_key(point: &PickupPoint) -> Option<(&str, &str, &str)> {
    let hours = point.opening_hours.as_ref()?;
    Some((hours.as_str(), &point.address.country, &point.timezone))
}

type Located = GeomWithData<[f64; 3], u32>;

/// What a search asks for. `None` and empty mean "any".
#[derive(Debug, Clone)]
pub struct Filter {
    pub kinds: Vec<PointKind>,
    pub networks: Vec<NetworkId>,
    pub services: Services,
    pub parcel: Option<(Dimensions, Weight)>,
    /// The local day the parcel is expected at the point.
    pub arrival: Option<NaiveDate>,
    /// Share of the hold window (from the arrival day) the point must be open, 0 to 1; `None`:
    /// [`OPEN_SHARE_DEFAULT`] when an arrival day is given.
    pub open_share_min: Option<f64>,
    /// Only points with room for the parcel now.
    pub free_capacity: bool,
}

/// Share of the hold window a point must be open when the search gives an arrival day and no share:
/// a point open on the arrival day but closing the next for two weeks is not a good proposal.
pub const OPEN_SHARE_DEFAULT: f64 = 0.5;

impl Filter {
    /// The share of the hold window asked for.
    pub fn open_share_wanted(&self) -> f64 {
        self.open_share_min.unwrap_or(if self.arrival.is_some() { OPEN_SHARE_DEFAULT } else { 0.0 })
    }
}

impl Default for Filter {
    fn default() -> Self {
        Filter {
            kinds: Vec::new(),
            networks: Vec::new(),
            services: Services::empty(),
            parcel: None,
            arrival: None,
            open_share_min: None,
            free_capacity: false,
        }
    }
}

/// Why a point does not suit a parcel. The order is the order of the checks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Refusal {
    NotAccepting,
    OtherKind,
    OtherNetwork,
    MissingService,
    TooHeavy,
    TooLarge,
    ClosedOnArrival,
    /// Open on too few days of the hold window: the share it is open.
    OpenTooLittle(f64),
    Full,
    TooFar,
}

impl Refusal {
    pub const fn code(self) -> &'static str {
        match self {
            Refusal::NotAccepting => "point_not_accepting",
            Refusal::OtherKind => "kind_not_wanted",
            Refusal::OtherNetwork => "network_not_wanted",
            Refusal::MissingService => "service_missing",
            Refusal::TooHeavy => "too_heavy",
            Refusal::TooLarge => "too_large",
            Refusal::ClosedOnArrival => "closed_on_arrival",
            Refusal::OpenTooLittle(_) => "open_too_little",
            Refusal::Full => "full",
            Refusal::TooFar => "too_far",
        }
    }

    pub fn message(self) -> String {
        match self {
            Refusal::NotAccepting => {
                "the point does not accept parcels now (inactive, maintenance or closed down)".into()
            }
            Refusal::OtherKind => "the point is not of a wanted kind".into(),
            Refusal::OtherNetwork => "the point is not in a wanted network".into(),
            Refusal::MissingService => "the point does not offer a wanted service".into(),
            Refusal::TooHeavy => "the parcel is heavier than the point accepts".into(),
            Refusal::TooLarge => "the parcel is larger than any place at the point".into(),
            Refusal::ClosedOnArrival => "the point is closed the day the parcel arrives".into(),
            Refusal::OpenTooLittle(share) => {
                format!("the point is open on only {:.0} % of the days of the hold window", share * 100.0)
            }
            Refusal::Full => "the point has no free place for the parcel now".into(),
            Refusal::TooFar => "the point is farther than the search radius".into(),
        }
    }
}

/// A point that passed, with what the result shows.
#[derive(Debug, Clone)]
pub struct Hit {
    pub point: Arc<PickupPoint>,
    pub distance_m: f64,
    pub capacity: Option<Capacity>,
    pub hours_known: bool,
}

impl Hit {
    /// Free places that fit `parcel` now (any free place without a parcel): doors of its smallest
    /// fitting class and larger, or shelf slots; `None` when the point's capacity is not known.
    pub fn free_places(&self, parcel: Option<(Dimensions, Weight)>) -> Option<u32> {
        let capacity = self.capacity?;
        Some(if self.point.kind.has_compartments() {
            capacity.free[doors_from(parcel.map(|(d, w)| SizeClass::smallest_fitting(d, w)))..].iter().sum()
        } else {
            capacity.shelf_free
        })
    }
}

/// How much room a result shows: `plenty`, `few` (one or two places), `full`, `unknown`.
pub fn capacity_level(free_places: Option<u32>) -> &'static str {
    match free_places {
        None => "unknown",
        Some(0) => "full",
        Some(1..=2) => "few",
        Some(_) => "plenty",
    }
}

/// The first door class (index) a parcel may use: its smallest fitting class, any door without a parcel.
fn doors_from(fitting: Option<Option<SizeClass>>) -> usize {
    fitting.flatten().map_or(0, |class| class as usize)
}

pub struct PointIndex {
    first_day: NaiveDate,
    entries: Vec<Entry>,
    by_id: HashMap<PointId, u32>,
    by_address: HashMap<String, Vec<u32>>,
    tree: RTree<Located>,
}

/// A point to index: the record, its capacity, and its network's hold window in days.
pub struct Indexed {
    pub point: PickupPoint,
    pub capacity: Capacity,
    pub hold_days: u32,
}

impl PointIndex {
    /// Builds the index of `points`, with open days counted from `first_day`.
    pub fn build(points: Vec<Indexed>, first_day: NaiveDate) -> PointIndex {
        let items = points.into_iter().map(|i| (Arc::new(i.point), i.capacity, i.hold_days)).collect();
        Self::build_shared(items, first_day, None)
    }

    /// Like [`PointIndex::build`], reusing this index's open-day computations where the hours are the
    /// same (a network of 200,000 points can have tens of thousands of distinct `opening_hours` values).
    pub fn rebuilt(&self, points: Vec<Indexed>, first_day: NaiveDate) -> PointIndex {
        let items = points.into_iter().map(|i| (Arc::new(i.point), i.capacity, i.hold_days)).collect();
        Self::build_shared(items, first_day, Some(self))
    }

    /// A new index with `changed` points replaced (same id) or added; the others keep their entries.
    /// A replaced point keeps the door counts it had (an import does not change doors) and takes its
    /// shelf room from its new record. This is how an import reaches the search without reading the
    /// whole registry back.
    pub fn with_changes(&self, changed: Vec<Indexed>) -> PointIndex {
        let mut changed: HashMap<PointId, Indexed> = changed.into_iter().map(|c| (c.point.id, c)).collect();
        let mut items = Vec::with_capacity(self.entries.len() + changed.len());
        for entry in &self.entries {
            let current = entry.capacity();
            match changed.remove(&entry.point.id) {
                Some(new) => {
                    let shelf_free = new.point.shelf_capacity.saturating_sub(new.point.shelf_occupied);
                    let capacity = Capacity { shelf_free, ..current };
                    items.push((Arc::new(new.point), capacity, new.hold_days));
                }
                None => items.push((Arc::clone(&entry.point), current, u32::from(entry.hold_days))),
            }
        }
        let mut added: Vec<Indexed> = changed.into_values().collect();
        added.sort_by_key(|a| a.point.id);
        items.extend(added.into_iter().map(|i| (Arc::new(i.point), i.capacity, i.hold_days)));
        Self::build_shared(items, self.first_day, Some(self))
    }

    fn build_shared(
        points: Vec<(Arc<PickupPoint>, Capacity, u32)>,
        first_day: NaiveDate,
        previous: Option<&PointIndex>,
    ) -> PointIndex {
        // Open days per distinct (hours, country, timezone), seeded from the previous index.
        let mut masks: HashMap<(&str, &str, &str), (u128, bool)> = HashMap::new();
        if let Some(previous) = previous.filter(|p| p.first_day == first_day) {
            for entry in &previous.entries {
                if let Some(key) = hours_key(&entry.point) {
                    masks.entry(key).or_insert((entry.hours_days, entry.hours_known));
                }
            }
        }
        let hours: Vec<(u128, bool)> = points
            .iter()
            .map(|(point, _, _)| match hours_key(point) {
                None => (u128::MAX, false),
                Some(key) => *masks.entry(key).or_insert_with(|| open_days(point, first_day)),
            })
            .collect();
        drop(masks);
        let mut entries = Vec::with_capacity(points.len());
        let mut located = Vec::with_capacity(points.len());
        let mut by_id = HashMap::with_capacity(points.len());
        let mut by_address: HashMap<String, Vec<u32>> = HashMap::new();
        for ((point, capacity, hold_days), (hours_days, hours_known)) in points.into_iter().zip(hours) {
            let index = u32::try_from(entries.len()).unwrap_or(u32::MAX);
            located.push(Located::new(unit_vector(point.coordinates), index));
            by_id.insert(point.id, index);
            by_address.entry(address_key(&point)).or_default().push(index);
            entries.push(Entry {
                kind: kind_bit(point.kind),
                services: point.services,
                accepts: point.accepts_parcels(),
                hold_days: u8::try_from(hold_days.clamp(1, 64)).unwrap_or(64),
                hours_known,
                hours_days,
                open_days: hours_days & !closed_days(&point, first_day),
                free: capacity.free.map(AtomicU32::new),
                total: capacity.total,
                shelf_free: AtomicU32::new(capacity.shelf_free),
                point,
            });
        }
        PointIndex { first_day, entries, by_id, by_address, tree: RTree::bulk_load(located) }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The first day of the open-days bitmask.
    pub fn first_day(&self) -> NaiveDate {
        self.first_day
    }

    pub fn point(&self, id: PointId) -> Option<Arc<PickupPoint>> {
        self.by_id.get(&id).map(|i| Arc::clone(&self.entries[*i as usize].point))
    }

    /// A point's open days from [`PointIndex::first_day`] (bit `d` = day `first_day + d`), closures
    /// taken out; all ones when its hours are not known.
    pub fn open_days(&self, id: PointId) -> Option<u128> {
        self.by_id.get(&id).map(|i| self.entries[*i as usize].open_days)
    }

    /// Every indexed point with its capacity now, in no particular order: the console's map, lists
    /// and KPIs read the network from here rather than from the database.
    pub fn all(&self) -> impl Iterator<Item = (&Arc<PickupPoint>, Capacity)> + '_ {
        self.entries.iter().map(|entry| (&entry.point, entry.capacity()))
    }

    /// Sets a point's free capacity (after parcels came or went). Unknown points are ignored: the next
    /// rebuild brings them.
    pub fn set_capacity(&self, id: PointId, capacity: Capacity) {
        if let Some(i) = self.by_id.get(&id) {
            let entry = &self.entries[*i as usize];
            for (slot, free) in entry.free.iter().zip(capacity.free) {
                slot.store(free, Ordering::Relaxed);
            }
            entry.shelf_free.store(capacity.shelf_free, Ordering::Relaxed);
        }
    }

    /// The `limit` nearest points within `radius_m` of `near` that pass `filter`, nearest first.
    pub fn nearest(&self, near: Coordinates, radius_m: f64, limit: usize, filter: &Filter) -> Vec<Hit> {
        self.nearest_except(near, radius_m, limit, filter, None)
    }

    fn nearest_except(
        &self,
        near: Coordinates,
        radius_m: f64,
        limit: usize,
        filter: &Filter,
        except: Option<u32>,
    ) -> Vec<Hit> {
        let mut hits = Vec::with_capacity(limit);
        if limit == 0 {
            return hits;
        }
        let compiled = Compiled::new(filter);
        let chord_max = chord(radius_m);
        let chord2_max = chord_max * chord_max;
        for (located, chord2) in self.tree.nearest_neighbor_iter_with_distance_2(unit_vector(near)) {
            if chord2 > chord2_max {
                break;
            }
            if Some(located.data) == except {
                continue;
            }
            let entry = &self.entries[located.data as usize];
            if self.first_refusal(entry, &compiled).is_none() {
                hits.push(self.hit(entry, arc_m(chord2.sqrt())));
                if hits.len() == limit {
                    break;
                }
            }
        }
        hits
    }

    /// Every reason `id` does not suit `filter` from `near` within `radius_m` (empty: it suits), or
    /// `None` for an unknown point.
    pub fn check(
        &self,
        id: PointId,
        near: Option<Coordinates>,
        radius_m: f64,
        filter: &Filter,
    ) -> Option<(Hit, Vec<Refusal>)> {
        let index = *self.by_id.get(&id)?;
        let entry = &self.entries[index as usize];
        let compiled = Compiled::new(filter);
        let mut refusals: Vec<Refusal> = CHECKS.iter().filter_map(|check| check(self, entry, &compiled)).collect();
        // A parcel that fits nowhere at the point is not also refused for lack of room.
        if refusals.iter().any(|r| matches!(r, Refusal::TooLarge | Refusal::TooHeavy)) {
            refusals.retain(|r| *r != Refusal::Full);
        }
        let distance_m = near.map_or(0.0, |near| near.distance_m(entry.point.coordinates));
        if distance_m > radius_m {
            refusals.push(Refusal::TooFar);
        }
        Some((self.hit(entry, distance_m), refusals))
    }

    /// Points that suit `filter` nearest to `id` (not `id` itself): the fallbacks when `id` does not.
    pub fn alternatives(&self, id: PointId, radius_m: f64, limit: usize, filter: &Filter) -> Vec<Hit> {
        let Some(index) = self.by_id.get(&id).copied() else { return Vec::new() };
        let near = self.entries[index as usize].point.coordinates;
        self.nearest_except(near, radius_m, limit, filter, Some(index))
    }

    /// Points of other networks at the same place as `id`: within `within_m`, or at the same postcode
    /// and street address. The same shop often serves several networks; each keeps its own identity.
    pub fn same_place(&self, id: PointId, within_m: f64) -> Vec<Hit> {
        let Some(index) = self.by_id.get(&id).copied() else { return Vec::new() };
        let entry = &self.entries[index as usize];
        let network = entry.point.network_id;
        let mut found: Vec<u32> = self
            .tree
            .locate_within_distance(unit_vector(entry.point.coordinates), chord(within_m).powi(2))
            .map(|located| located.data)
            .collect();
        found.extend(self.by_address.get(&address_key(&entry.point)).into_iter().flatten().copied());
        found.sort_unstable();
        found.dedup();
        let mut hits: Vec<Hit> = found
            .into_iter()
            .map(|i| &self.entries[i as usize])
            .filter(|other| other.point.network_id != network)
            .map(|other| self.hit(other, entry.point.coordinates.distance_m(other.point.coordinates)))
            .collect();
        hits.sort_by(|a, b| a.distance_m.total_cmp(&b.distance_m));
        hits
    }

    fn hit(&self, entry: &Entry, distance_m: f64) -> Hit {
        let known =
            entry.point.kind.has_compartments() && entry.total != [0; 4] || !entry.point.kind.has_compartments();
        Hit {
            point: Arc::clone(&entry.point),
            distance_m,
            capacity: known.then(|| entry.capacity()),
            hours_known: entry.hours_known,
        }
    }

    fn first_refusal(&self, entry: &Entry, filter: &Compiled) -> Option<Refusal> {
        CHECKS.iter().find_map(|check| check(self, entry, filter))
    }

    /// Share of the hold window from `arrival` the point is open; days past the horizon count as open.
    fn open_share(&self, entry: &Entry, arrival: NaiveDate) -> (bool, f64) {
        let offset = (arrival - self.first_day).num_days();
        let days = u32::from(entry.hold_days);
        let mut open = 0;
        let mut arrival_open = true;
        for d in 0..days {
            let day = offset + i64::from(d);
            let is_open = !(0..i64::from(HORIZON_DAYS)).contains(&day) || entry.open_days & (1u128 << day) != 0;
            if d == 0 {
                arrival_open = is_open;
            }
            open += u32::from(is_open);
        }
        (arrival_open, f64::from(open) / f64::from(days))
    }
}

/// The filter in the form the checks read: kinds as a bitmask, the parcel's smallest fitting class.
struct Compiled<'a> {
    filter: &'a Filter,
    open_share: f64,
    kinds: u8,
    fitting: Option<Option<SizeClass>>,
}

impl<'a> Compiled<'a> {
    fn new(filter: &'a Filter) -> Self {
        Compiled {
            filter,
            open_share: filter.open_share_wanted(),
            kinds: filter.kinds.iter().fold(0, |bits, kind| bits | kind_bit(*kind)),
            fitting: filter.parcel.map(|(dimensions, weight)| SizeClass::smallest_fitting(dimensions, weight)),
        }
    }
}

type Check = fn(&PointIndex, &Entry, &Compiled) -> Option<Refusal>;

/// The checks in order: cheapest and most selective first.
const CHECKS: [Check; 7] = [
    |_, e, _| (!e.accepts).then_some(Refusal::NotAccepting),
    |_, e, f| (f.kinds != 0 && e.kind & f.kinds == 0).then_some(Refusal::OtherKind),
    |_, e, f| {
        (!f.filter.networks.is_empty() && !f.filter.networks.contains(&e.point.network_id))
            .then_some(Refusal::OtherNetwork)
    },
    |_, e, f| (!e.services.contains(f.filter.services)).then_some(Refusal::MissingService),
    |_, e, f| {
        let (dimensions, weight) = f.filter.parcel?;
        if e.point.kind.has_compartments() {
            if weight > e.point.weight_max {
                return Some(Refusal::TooHeavy);
            }
            let fitting = f.fitting.flatten();
            let any_door = e.total != [0; 4];
            match fitting {
                None if weight.grams() > SizeClass::WEIGHT_GRAMS_MAX => Some(Refusal::TooHeavy),
                None => Some(Refusal::TooLarge),
                Some(class) if any_door && e.total[class as usize..].iter().all(|n| *n == 0) => Some(Refusal::TooLarge),
                Some(_) => None,
            }
        } else {
            e.point.shelf_refusal(dimensions, weight).map(|no_fit| match no_fit {
                relais_domain::compartment::NoFit::TooHeavy => Refusal::TooHeavy,
                _ => Refusal::TooLarge,
            })
        }
    },
    |index, e, f| {
        let arrival = f.filter.arrival?;
        let (open_on_arrival, share) = index.open_share(e, arrival);
        if !open_on_arrival {
            Some(Refusal::ClosedOnArrival)
        } else if share + 1e-9 < f.open_share {
            Some(Refusal::OpenTooLittle(share))
        } else {
            None
        }
    },
    |_, e, f| {
        if !f.filter.free_capacity {
            return None;
        }
        if e.point.kind.has_compartments() {
            if e.total == [0; 4] {
                return None; // Doors not known (another operator's locker): capacity unknown, not full.
            }
            e.free[doors_from(f.fitting)..].iter().all(|n| n.load(Ordering::Relaxed) == 0).then_some(Refusal::Full)
        } else {
            (e.shelf_free.load(Ordering::Relaxed) == 0).then_some(Refusal::Full)
        }
    },
];

const fn kind_bit(kind: PointKind) -> u8 {
    match kind {
        PointKind::Locker => 1,
        PointKind::Counter => 2,
        PointKind::Hub => 4,
        PointKind::Store => 8,
        PointKind::PostOffice => 16,
    }
}

/// The point on the unit sphere: the straight-line (chord) order is the great-circle order.
fn unit_vector(c: Coordinates) -> [f64; 3] {
    let (lat, lon) = (c.latitude().to_radians(), c.longitude().to_radians());
    [lat.cos() * lon.cos(), lat.cos() * lon.sin(), lat.sin()]
}

/// Chord length on the unit sphere for a great-circle distance in metres.
fn chord(distance_m: f64) -> f64 {
    2.0 * (distance_m.min(EARTH_RADIUS_M * std::f64::consts::PI) / (2.0 * EARTH_RADIUS_M)).sin()
}

/// Great-circle distance in metres for a chord on the unit sphere.
fn arc_m(chord: f64) -> f64 {
    2.0 * EARTH_RADIUS_M * (chord / 2.0).min(1.0).asin()
}

/// Postcode and first address line, in capitals without accents or punctuation: `12 RUE DE LA PAIX`.
fn address_key(point: &PickupPoint) -> String {
    let mut key = format!("{}|", point.address.postcode.trim());
    let mut last_space = true;
    for c in point.address.line1.chars().flat_map(char::to_uppercase) {
        let c = crate::gazetteer::fold_accent(c);
        if c.is_alphanumeric() {
            key.push(c);
            last_space = false;
        } else if !last_space {
            key.push(' ');
            last_space = true;
        }
    }
    key.trim_end().to_owned()
}

/// Days from `first_day` on which the point's hours open, and whether they are known. Closures are not
/// applied here (they differ per point; the mask is shared by value).
fn open_days(point: &PickupPoint, first_day: NaiveDate) -> (u128, bool) {
    let Some(hours) = &point.opening_hours else { return (u128::MAX, false) };
    let Ok(schedule) = crate::today::place_of(point).and_then(|place| hours.at(&place)) else {
        return (u128::MAX, false);
    };
    let start = first_day.and_time(NaiveTime::MIN);
    let mut mask = 0u128;
    // Only what the hours say is open: a maybe ("on appointment", an open end's guess) promises nothing.
    let intervals = schedule.intervals(start, start + Duration::days(i64::from(HORIZON_DAYS)));
    for interval in intervals.into_iter().filter(|i| !i.unknown) {
        let first = (interval.from.date() - first_day).num_days();
        // An interval ending at midnight does not open the next day.
        let last = (interval.to - Duration::nanoseconds(1)).date();
        let last = (last - first_day).num_days();
        for day in first.max(0)..=last.min(i64::from(HORIZON_DAYS) - 1) {
            mask |= 1u128 << day;
        }
    }
    (mask, true)
}

fn closed_days(point: &PickupPoint, first_day: NaiveDate) -> u128 {
    let mut mask = 0u128;
    for closure in &point.closures {
        let first = (closure.first - first_day).num_days().max(0);
        let last = (closure.last - first_day).num_days().min(i64::from(HORIZON_DAYS) - 1);
        for day in first..=last {
            mask |= 1u128 << day;
        }
    }
    mask
}

#[cfg(test)]
mod tests;
