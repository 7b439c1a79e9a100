//! The live search index: an R-tree of every point with its free capacity (`relais_registry::index`),
//! rebuilt whole at start and every `index_rebuild_seconds`, swapped after an import, and kept current
//! within a second: each commit that adds or changes a point, a compartment or a shelf marks the point
//! (the spine, `crate::command`), and [`App::refresh_index`] reloads or recounts what was marked. On
//! PostgreSQL with several processes, the store tells each process what the others commit
//! (`Store::index_notices`, ADR 12), which marks the same way.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, RwLock};

use chrono::{Duration, NaiveDate};
use relais_domain::ids::{NetworkId, PointId};
use relais_domain::point::PickupPoint;
use relais_registry::index::{Capacity, Indexed, PointIndex};

use crate::App;
use crate::error::AppError;
use crate::ports::{CompartmentCounts, IndexChange, IndexNotice, Page};

/// The live search index and what keeps it current.
pub struct PointRegistry {
    index: RwLock<Arc<PointIndex>>,
    /// Points whose capacity this process changed since the last recount.
    dirty: Mutex<HashSet<PointId>>,
    /// Points whose capacity other processes changed (their notices): recounted, but their occupancy
    /// alerts are for the process that made the change to raise or clear, as for this one's.
    heard: Mutex<HashSet<PointId>>,
    /// Points added or changed (registry fields) since the last refresh: reloaded whole.
    changed: Mutex<HashSet<PointId>>,
    /// Set when the whole index must be rebuilt at the next refresh.
    rebuild: std::sync::atomic::AtomicBool,
    /// Imports run one at a time: each diffs against the registry the previous one left.
    pub(crate) imports: tokio::sync::Mutex<()>,
}

impl Default for PointRegistry {
    fn default() -> Self {
        PointRegistry {
            index: RwLock::new(Arc::new(PointIndex::build(Vec::new(), NaiveDate::default()))),
            dirty: Mutex::new(HashSet::new()),
            heard: Mutex::new(HashSet::new()),
            changed: Mutex::new(HashSet::new()),
            rebuild: std::sync::atomic::AtomicBool::new(false),
            imports: tokio::sync::Mutex::new(()),
        }
    }
}

impl PointRegistry {
    /// The current index (a snapshot: a rebuild swaps in a new one, this one stays valid).
    pub fn index(&self) -> Arc<PointIndex> {
        Arc::clone(&self.index.read().unwrap_or_else(|p| p.into_inner()))
    }

    /// Installs an index built elsewhere (benchmarks search a generated network without a store).
    pub fn install(&self, index: PointIndex) {
        self.replace(index);
    }

    pub(crate) fn replace(&self, index: PointIndex) {
        *self.index.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(index);
    }

    /// Marks what another process committed (its notice) for the next refresh.
    pub fn mark(&self, notice: IndexNotice) {
        match notice {
            IndexNotice::Rebuild => self.rebuild.store(true, std::sync::atomic::Ordering::Relaxed),
            IndexNotice::Changes(changes) => self.mark_changes(changes, &self.heard),
        }
    }

    /// Marks what this process committed for the next refresh.
    pub(crate) fn mark_own(&self, changes: Vec<IndexChange>) {
        self.mark_changes(changes, &self.dirty);
    }

    fn mark_changes(&self, changes: Vec<IndexChange>, capacities: &Mutex<HashSet<PointId>>) {
        let mut capacities = capacities.lock().unwrap_or_else(|p| p.into_inner());
        let mut changed = self.changed.lock().unwrap_or_else(|p| p.into_inner());
        for change in changes {
            match change {
                IndexChange::Point(id) => changed.insert(id),
                IndexChange::Capacity(id) => capacities.insert(id),
            };
        }
    }

    fn take_changed(&self) -> Vec<PointId> {
        self.changed.lock().unwrap_or_else(|p| p.into_inner()).drain().collect()
    }

    fn take_dirty(&self) -> Vec<PointId> {
        self.dirty.lock().unwrap_or_else(|p| p.into_inner()).drain().collect()
    }

    fn take_heard(&self) -> Vec<PointId> {
        self.heard.lock().unwrap_or_else(|p| p.into_inner()).drain().collect()
    }
}

/// Points read per store query when loading a network.
pub(crate) const LOAD_PAGE: u32 = 10_000;
/// Points the index job reads per round trip when it reloads or recounts them.
const REFRESH_BATCH: usize = 500;
/// Networks read per store query when the index is rebuilt.
const NETWORK_PAGE: u32 = 500;

impl App {
    /// Installs a search index built elsewhere (the search benchmark builds one of a generated network,
    /// with no store behind it).
    pub fn install_index(&self, index: PointIndex) {
        self.registry.install(index);
    }

    /// Marks what another process committed (its notice) for the next refresh.
    pub fn hear(&self, notice: IndexNotice) {
        self.registry.mark(notice);
    }

    /// Starts following what other processes sharing the database commit (PostgreSQL): their notices
    /// mark this process's index as its own commits do. Call it before building the index at start,
    /// so that nothing committed in between is missed. Returns false where there is nothing to follow.
    pub async fn follow_other_processes(&self) -> Result<bool, AppError> {
        let Some(mut notices) = self.store.index_notices().await? else { return Ok(false) };
        let registry = Arc::clone(&self.registry);
        tokio::spawn(async move {
            while let Some(notice) = notices.recv().await {
                registry.mark(notice);
            }
        });
        Ok(true)
    }

    /// Brings the search index up to date with what was marked since the last call: rebuilds it when
    /// asked to, reloads the points added or changed, then recounts capacities
    /// (`refresh_capacities`). Returns the number of points reloaded or recounted.
    pub async fn refresh_index(&self) -> Result<usize, AppError> {
        if self.registry.rebuild.swap(false, std::sync::atomic::Ordering::Relaxed) {
            return self.rebuild_index().await;
        }
        let changed = self.registry.take_changed();
        if !changed.is_empty() {
            let mut indexed = Vec::with_capacity(changed.len());
            let mut hold_days = std::collections::HashMap::new();
            for ids in changed.chunks(REFRESH_BATCH) {
                let (points, counts) = self.points_and_counts(ids).await?;
                for point in points {
                    if let std::collections::hash_map::Entry::Vacant(days) = hold_days.entry(point.network_id) {
                        let Some(network) = self.store.network(point.network_id).await? else { continue };
                        days.insert(network.rules.hold_days());
                    }
                    let days = hold_days[&point.network_id];
                    let capacity = capacity_of(&point, counts.get(&point.id));
                    indexed.push(Indexed { capacity, hold_days: days, point });
                }
            }
            // One index swap at a time: an import swaps it too.
            let _one_at_a_time = self.registry.imports.lock().await;
            let index = self.registry.index();
            let next = tokio::task::spawn_blocking(move || index.with_changes(indexed))
                .await
                .map_err(|e| crate::StoreError::message(format!("index update failed: {e}")))?;
            self.registry.replace(next);
        }
        Ok(changed.len() + self.refresh_capacities().await?)
    }

    /// Rebuilds the search index from the store. Returns the number of points indexed.
    pub async fn rebuild_index(&self) -> Result<usize, AppError> {
        // Points marked before the rebuild reads the store are in it; those marked during it are
        // reloaded at the next refresh.
        self.registry.take_changed();
        let mut networks = std::collections::HashMap::new();
        let mut after = None;
        loop {
            let page = self.store.networks(Page { after, limit: NETWORK_PAGE }).await?;
            after = page.last().map(|n| n.id);
            networks.extend(page.into_iter().map(|n| (n.id, n.rules.hold_days())));
            if after.is_none() {
                break;
            }
        }
        let counts: std::collections::HashMap<PointId, CompartmentCounts> =
            self.store.compartment_counts(None, self.now()).await?.into_iter().map(|c| (c.point_id, c)).collect();
        let points = self.all_points(None).await?;
        let indexed = points
            .into_iter()
            .map(|point| Indexed {
                capacity: capacity_of(&point, counts.get(&point.id)),
                hold_days: networks.get(&point.network_id).copied().unwrap_or(3),
                point,
            })
            .collect();
        // Yesterday: a point west of UTC may still be on yesterday's date.
        let first_day = self.now().date_naive() - Duration::days(1);
        // A few hundred milliseconds for 200,000 points: off the async workers.
        let previous = self.registry.index();
        let index = tokio::task::spawn_blocking(move || previous.rebuilt(indexed, first_day))
            .await
            .map_err(|e| crate::StoreError::message(format!("index build failed: {e}")))?;
        let count = index.len();
        self.registry.replace(index);
        Ok(count)
    }

    /// Recounts the capacity of the points marked since the last call, raising or clearing the
    /// occupancy alerts of those this process changed (each process answers for its own commits, so
    /// that one change raises or clears an alert once); rebuilds the index when its calendar has aged a
    /// week. Returns the number of points recounted.
    pub async fn refresh_capacities(&self) -> Result<usize, AppError> {
        let index = self.registry.index();
        if index.first_day() + Duration::days(7) < self.now().date_naive() {
            return self.rebuild_index().await;
        }
        let own: HashSet<PointId> = self.registry.take_dirty().into_iter().collect();
        let mut marked: Vec<PointId> = self.registry.take_heard().into_iter().filter(|id| !own.contains(id)).collect();
        marked.extend(own.iter().copied());
        let now = self.now();
        for ids in marked.chunks(REFRESH_BATCH) {
            let (points, counts) = self.points_and_counts(ids).await?;
            for point in points {
                let counts = counts.get(&point.id);
                index.set_capacity(point.id, capacity_of(&point, counts));
                if own.contains(&point.id) && point.kind.has_compartments() {
                    self.update_occupancy_alert(point.id, &crate::occupancy::occupancy_of(counts), now).await?;
                }
            }
        }
        Ok(marked.len())
    }

    /// The points of `ids` and their compartment counts, in two reads whatever their number.
    async fn points_and_counts(
        &self,
        ids: &[PointId],
    ) -> Result<(Vec<PickupPoint>, std::collections::HashMap<PointId, CompartmentCounts>), AppError> {
        let points = self.store.points_by_id(ids).await?;
        let counts =
            self.store.compartment_counts_of(ids, self.now()).await?.into_iter().map(|c| (c.point_id, c)).collect();
        Ok((points, counts))
    }

    async fn all_points(&self, network_id: Option<NetworkId>) -> Result<Vec<PickupPoint>, AppError> {
        let mut points = Vec::new();
        let mut after = None;
        loop {
            let page = self.store.points(network_id, Page { after, limit: LOAD_PAGE }).await?;
            let full = page.len() == LOAD_PAGE as usize;
            after = page.last().map(|p| p.id);
            points.extend(page);
            if !full {
                return Ok(points);
            }
        }
    }
}

/// A point's free capacity from its compartment counts (lockers, hubs) or its shelf (the others).
pub fn capacity_of(point: &PickupPoint, counts: Option<&CompartmentCounts>) -> Capacity {
    match counts {
        Some(counts) => Capacity { free: counts.free, total: counts.total, shelf_free: 0 },
        None => {
            Capacity { shelf_free: point.shelf_capacity.saturating_sub(point.shelf_occupied), ..Capacity::default() }
        }
    }
}
