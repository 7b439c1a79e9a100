//! The compartments of recently used points, in memory, for the SQLite store.
//!
//! Every announce and every deposit at a locker reads all of its doors (about fifty rows) to choose
//! one; under steady writes each of those reads started from an empty page cache (SQLite drops a
//! reader's cache whenever the database changed since its last read) and was the largest read of a
//! lifecycle. On SQLite one process owns the database and one writer thread commits every change, so
//! that writer can keep a copy exact: after each commit, before any caller hears of it, it applies the
//! compartment writes of the commands that succeeded. The database stays the source of truth: a point
//! that is not cached is read from it, and the copy is dropped whenever another connection wrote to
//! the file (`PRAGMA data_version`, checked by the writer before each batch and every 100 ms when idle)
//! and for the points of a command that failed (it may have chosen from a stale copy). ADR 10.
//!
//! A reader that misses loads the point from the database with a marker in place, so that a commit
//! landing between its read and its insert cannot leave a stale copy behind: the writer flags the
//! marker, and the reader then does not keep what it read; nor does a reader whose marker was evicted
//! meanwhile (markers are numbered, so another reader's newer marker is not mistaken for its own).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use relais_app::ports::Write;
use relais_domain::compartment::{Compartment, CompartmentState};
use relais_domain::ids::PointId;

/// Points kept at most; past it, an arbitrary one makes room. 8,192 lockers of 50 doors is about 70 MB.
pub(crate) const CACHED_POINTS_MAX: usize = 8_192;

enum Entry {
    /// A reader is loading the point; `touched` once a commit changed one of its compartments since.
    /// `load` names that reader's load: an evicted marker may be replaced by another reader's.
    Loading { load: u64, touched: bool },
    /// The point's compartments as stored, in label order. Shared with the readers that got it, so a hit
    /// copies it outside the lock.
    Loaded(Arc<Vec<Compartment>>),
}

pub(crate) struct CompartmentCache {
    points: Mutex<HashMap<PointId, Entry>>,
    capacity: usize,
    loads: std::sync::atomic::AtomicU64,
}

/// What a reader got: the compartments, or the go-ahead to load them (and `store` what it read).
pub(crate) enum Lookup {
    Hit(Arc<Vec<Compartment>>),
    /// The reader loads from the database and hands the result to `store` with this load's number.
    Load(u64),
    /// Another reader is loading this point: read from the database without caching.
    Bypass,
}

impl CompartmentCache {
    pub(crate) fn new(capacity: usize) -> CompartmentCache {
        CompartmentCache { points: Mutex::new(HashMap::new()), capacity, loads: std::sync::atomic::AtomicU64::new(0) }
    }

    fn points(&self) -> std::sync::MutexGuard<'_, HashMap<PointId, Entry>> {
        self.points.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn lookup(&self, point_id: PointId) -> Lookup {
        let mut points = self.points();
        match points.get(&point_id) {
            Some(Entry::Loaded(compartments)) => Lookup::Hit(Arc::clone(compartments)),
            Some(Entry::Loading { .. }) => Lookup::Bypass,
            None => {
                if points.len() >= self.capacity {
                    // Any point: a random eviction costs one read of fifty rows when it comes back.
                    if let Some(victim) = points.keys().next().copied() {
                        points.remove(&victim);
                    }
                }
                let load = self.loads.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                points.insert(point_id, Entry::Loading { load, touched: false });
                Lookup::Load(load)
            }
        }
    }

    /// A reader's load `load` after `Lookup::Load` finished: kept unless a commit changed the point
    /// meanwhile (or the load failed, `None`).
    pub(crate) fn store(&self, point_id: PointId, load: u64, loaded: Option<&[Compartment]>) {
        let mut points = self.points();
        match (points.get(&point_id), loaded) {
            (Some(Entry::Loading { load: marker, touched: false }), Some(compartments)) if *marker == load => {
                points.insert(point_id, Entry::Loaded(Arc::new(compartments.to_vec())));
            }
            (Some(Entry::Loading { load: marker, .. }), _) if *marker == load => {
                points.remove(&point_id);
            }
            // Its marker was dropped meanwhile (evicted, or another connection wrote), perhaps replaced
            // by another reader's: what this one read may predate commits nobody flagged. Not kept.
            _ => {}
        }
    }

    /// The compartment writes of commands just committed, as the database now holds them.
    pub(crate) fn committed<'a>(&self, writes: impl Iterator<Item = &'a Write>) {
        let mut points = None;
        for write in writes {
            let (Write::InsertCompartment(k) | Write::UpdateCompartment(k)) = write else { continue };
            let points = points.get_or_insert_with(|| self.points());
            match points.get_mut(&k.point_id) {
                None => {}
                Some(Entry::Loading { touched, .. }) => *touched = true,
                Some(Entry::Loaded(compartments)) => {
                    let compartments = Arc::make_mut(compartments);
                    let kept = match write {
                        Write::InsertCompartment(_) => insert(compartments, k),
                        _ => update(compartments, k),
                    };
                    if !kept {
                        points.remove(&k.point_id);
                    }
                }
            }
        }
    }

    /// Forgets the points of these writes: a command found one of their compartments changed.
    pub(crate) fn forget<'a>(&self, writes: impl Iterator<Item = &'a Write>) {
        let mut points = self.points();
        for write in writes {
            if let Write::InsertCompartment(k) | Write::UpdateCompartment(k) = write {
                points.remove(&k.point_id);
            }
        }
    }

    /// Forgets everything: another connection changed the database.
    pub(crate) fn clear(&self) {
        self.points().clear();
    }
}

/// As `INSERT INTO compartments` stores it; `false` if the copy does not match the database.
fn insert(compartments: &mut Vec<Compartment>, k: &Compartment) -> bool {
    if compartments.iter().any(|c| c.id == k.id) {
        return false;
    }
    let at = compartments.partition_point(|c| c.label < k.label);
    let mut stored = as_stored(k.clone(), k.version);
    // The statement does not write sharers: a new door has none.
    stored.sharers.clear();
    compartments.insert(at, stored);
    true
}

/// As the versioned `UPDATE compartments` stores it (state, parcel, reservation, fault, sharers; the
/// version moves on); `false` if the copy does not match the database.
fn update(compartments: &mut [Compartment], k: &Compartment) -> bool {
    let Some(cached) = compartments.iter_mut().find(|c| c.id == k.id) else { return false };
    if cached.version != k.version {
        return false;
    }
    // The statement leaves the door's identity (point, label, size) as it is.
    let mut stored = as_stored(k.clone(), k.version + 1);
    stored.label = std::mem::take(&mut cached.label);
    (stored.point_id, stored.size) = (cached.point_id, cached.size);
    *cached = stored;
    true
}

/// The compartment as read back from SQLite: times to the microsecond.
fn as_stored(mut k: Compartment, version: i64) -> Compartment {
    if let CompartmentState::Reserved { expires_at: Some(at), .. } = &mut k.state
        && let Some(stored) = chrono::DateTime::from_timestamp_micros(at.timestamp_micros())
    {
        *at = stored;
    }
    k.version = version;
    k
}

#[cfg(test)]
mod tests {
    use super::*;
    use relais_domain::ids::{CompartmentId, ParcelId};
    use relais_domain::value::SizeClass;

    fn point() -> PointId {
        PointId::from_parts(1_800_000_000_000, [1; 10])
    }

    fn door(n: u8, label: &str) -> Compartment {
        let size = SizeClass::parse("A").unwrap_or_else(|e| panic!("{e}"));
        Compartment::new(CompartmentId::from_parts(1_800_000_000_000, [n; 10]), point(), label, size)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    fn loaded(cache: &CompartmentCache, doors: &[Compartment]) {
        let Lookup::Load(load) = cache.lookup(point()) else { panic!("not a miss") };
        cache.store(point(), load, Some(doors));
    }

    fn misses(cache: &CompartmentCache, point: PointId) -> u64 {
        match cache.lookup(point) {
            Lookup::Load(load) => load,
            Lookup::Hit(_) => panic!("a hit"),
            Lookup::Bypass => panic!("a load under way"),
        }
    }

    fn hit(cache: &CompartmentCache) -> Vec<Compartment> {
        match cache.lookup(point()) {
            Lookup::Hit(doors) => doors.as_ref().clone(),
            Lookup::Load(_) => panic!("a miss"),
            Lookup::Bypass => panic!("a load under way"),
        }
    }

    fn reserved(k: &Compartment, n: u8) -> Compartment {
        // Nanoseconds in the expiry: SQLite keeps microseconds, and so must the copy.
        let at = chrono::DateTime::from_timestamp(1_800_000_000, 123_456_789).unwrap_or_else(|| unreachable!());
        let parcel = ParcelId::from_parts(1_800_000_000_000, [n; 10]);
        k.reserve(parcel, at, at - chrono::Duration::hours(1)).unwrap_or_else(|e| panic!("{e:?}"))
    }

    #[test]
    fn commits_are_applied_as_the_database_stores_them() {
        let cache = CompartmentCache::new(8);
        let (a, c) = (door(1, "A01"), door(3, "A03"));
        loaded(&cache, &[a.clone(), c.clone()]);

        // A door added between the two keeps the label order of `ORDER BY label`.
        let b = door(2, "A02");
        cache.committed([Write::InsertCompartment(b.clone())].iter());
        let update = reserved(&a, 9);
        cache.committed([Write::UpdateCompartment(update.clone())].iter());

        let doors = hit(&cache);
        assert_eq!(doors.iter().map(|d| d.label.as_str()).collect::<Vec<_>>(), ["A01", "A02", "A03"]);
        assert_eq!(doors[0].version, a.version + 1);
        let CompartmentState::Reserved { expires_at: Some(at), .. } = doors[0].state else { panic!("{doors:?}") };
        assert_eq!(at.timestamp_subsec_nanos(), 123_456_000);
        assert_eq!((doors[1].clone(), doors[2].clone()), (b, c));
    }

    #[test]
    fn a_copy_that_disagrees_with_the_database_is_dropped() {
        let cache = CompartmentCache::new(8);
        let a = door(1, "A01");
        loaded(&cache, std::slice::from_ref(&a));
        // Written at a version the copy does not have: the copy is wrong somewhere, forget it.
        let stale = Compartment { version: 7, ..reserved(&a, 9) };
        cache.committed([Write::UpdateCompartment(stale)].iter());
        misses(&cache, point());
    }

    #[test]
    fn a_load_overtaken_by_a_commit_is_not_kept() {
        let cache = CompartmentCache::new(8);
        let a = door(1, "A01");
        let load = misses(&cache, point());
        // A second reader meanwhile reads the database itself.
        assert!(matches!(cache.lookup(point()), Lookup::Bypass));
        // The writer commits a change to the point while the first reader is still reading.
        cache.committed([Write::UpdateCompartment(reserved(&a, 9))].iter());
        cache.store(point(), load, Some(std::slice::from_ref(&a)));
        // The read may predate the commit: not kept. A failed load leaves nothing either.
        let load = misses(&cache, point());
        cache.store(point(), load, None);
        misses(&cache, point());
    }

    #[test]
    fn a_load_whose_marker_was_evicted_is_not_kept() {
        let cache = CompartmentCache::new(1);
        let a = door(1, "A01");
        let first = misses(&cache, point());
        // Another point takes the only place; a commit to this point then flags nothing.
        let other = PointId::from_parts(1_800_000_000_000, [2; 10]);
        misses(&cache, other);
        cache.committed([Write::UpdateCompartment(reserved(&a, 9))].iter());
        // A second reader misses and marks the point again; the first reader's older read comes back.
        let second = misses(&cache, point());
        cache.store(point(), first, Some(std::slice::from_ref(&a)));
        assert!(matches!(cache.lookup(point()), Lookup::Bypass), "the second reader's marker stays");
        let fresh = reserved(&a, 9);
        cache.store(point(), second, Some(std::slice::from_ref(&fresh)));
        assert_eq!(hit(&cache), vec![fresh]);
    }

    #[test]
    fn conflicts_other_writers_and_a_full_cache_make_room() {
        let cache = CompartmentCache::new(1);
        let a = door(1, "A01");
        loaded(&cache, std::slice::from_ref(&a));
        cache.forget([Write::UpdateCompartment(a.clone())].iter());
        loaded(&cache, std::slice::from_ref(&a));
        cache.clear();
        loaded(&cache, std::slice::from_ref(&a));

        let other = PointId::from_parts(1_800_000_000_000, [2; 10]);
        misses(&cache, other);
        assert_eq!(cache.points().len(), 1, "one point at most");
    }
}
