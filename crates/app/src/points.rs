//! The pickup-point registry's use cases: importing an operator's file (diff, checks, one atomic
//! commit, history), searching the in-memory index, checking a chosen point with fallbacks, and
//! keeping the index current.
//!
//! The index lives in [`PointRegistry`], beside the store: it is rebuilt whole at start and updated
//! from the diff after an import; each commit that adds or changes a point, a compartment or a shelf
//! marks the point, and a job applies marked points every second (`refresh_index`). On PostgreSQL with
//! several processes, the store tells each process what the others commit (`Store::index_notices`),
//! which marks the same way; a periodic rebuild stays as a safety net.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, RwLock};

use chrono::{Duration, NaiveDate};
use relais_domain::ids::{ImportId, NetworkId, PointId};
use relais_domain::point::PickupPoint;
use relais_domain::value::{Coordinates, ParseError};
use relais_registry::diff::{self, ChangeKind, Diff, Incoming};
use relais_registry::formats::{Encoding, Format, RowError};
use relais_registry::gazetteer::{Gazetteer, GeocodeError};
use relais_registry::index::{Capacity, Filter, Hit, Indexed, PointIndex, Refusal};
use relais_registry::{Compartments, PointValidator};

use crate::App;
use crate::auth::{Caller, Permission};
use crate::error::AppError;
use crate::ports::{CompartmentCounts, ImportRecord, IndexChange, IndexNotice, Page, PointChange, Write};

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
    imports: tokio::sync::Mutex<()>,
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

    fn replace(&self, index: PointIndex) {
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

/// Limits of an import.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ImportLimits {
    /// Largest share of bad rows (unreadable, invalid, duplicate) a file may have and still be applied.
    pub error_share_max: f64,
    /// Largest share of the network's points a file may remove (a truncated file must not close half
    /// the network).
    pub removal_share_max: f64,
    /// Moves longer than this are reported as moves.
    pub moved_threshold_m: f64,
}

impl ImportLimits {
    /// Shares are between 0 and 1; the move threshold is a distance.
    pub fn validate(self) -> Result<ImportLimits, ParseError> {
        for (field, share) in [("error_share_max", self.error_share_max), ("removal_share_max", self.removal_share_max)]
        {
            if !(0.0..=1.0).contains(&share) {
                return Err(ParseError::new(field, "must be between 0 and 1"));
            }
        }
        if !(self.moved_threshold_m.is_finite() && self.moved_threshold_m >= 0.0) {
            return Err(ParseError::new("moved_threshold_m", "must be a distance in metres"));
        }
        Ok(self)
    }
}

impl Default for ImportLimits {
    fn default() -> Self {
        ImportLimits {
            error_share_max: 0.05,
            removal_share_max: 0.2,
            moved_threshold_m: diff::MOVED_THRESHOLD_M_DEFAULT,
        }
    }
}

pub struct ImportRequest {
    pub network_id: NetworkId,
    pub format: Format,
    pub encoding: Encoding,
    /// The file name or URL, for the history.
    pub source: String,
    pub bytes: Vec<u8>,
    pub dry_run: bool,
    pub limits: ImportLimits,
    /// Where to report progress (the CLI draws a bar on large files); `None`: nowhere.
    pub progress: Option<Arc<dyn ImportProgress>>,
}

/// Where an import reports how far it is. Stages come in order: `reading`, `validating` (with a row
/// count), `loading the registry`, `comparing`, `applying`, `updating the search index`.
pub trait ImportProgress: Send + Sync {
    /// A stage begins; `total` units of work (`0` when not counted).
    fn stage(&self, name: &'static str, total: u64);
    /// `done` units of the current stage are finished.
    fn advance(&self, done: u64);
    /// The import is over (applied, refused or dry run).
    fn finish(&self) {}
}

/// Rows validated between two progress reports.
const PROGRESS_STEP: usize = 2_000;

/// What an import did or would do.
#[derive(Debug)]
pub struct ImportOutcome {
    /// As recorded (`applied`, `refused`), or as it would be (`dry_run`).
    pub record: ImportRecord,
    pub diff: Diff,
    /// Every bad row, in line order.
    pub row_errors: Vec<RowError>,
    /// Rows taken with something left out (hours that could not be read).
    pub warnings: Vec<RowError>,
    /// Why the whole file was refused.
    pub refusal: Option<String>,
}

/// Tells the progress reporter the import is over, however it ends.
struct FinishOnDrop(Option<Arc<dyn ImportProgress>>);

impl Drop for FinishOnDrop {
    fn drop(&mut self) {
        if let Some(p) = &self.0 {
            p.finish();
        }
    }
}

/// A file read and validated.
struct Rows {
    incoming: Vec<Incoming>,
    row_errors: Vec<RowError>,
    warnings: Vec<RowError>,
    total: usize,
}

/// Problems kept in the import's record (the full list is in the outcome).
const PROBLEMS_RECORDED_MAX: usize = 200;
/// Points read per store query when loading a network.
const LOAD_PAGE: u32 = 10_000;

/// Where to search from.
#[derive(Debug, Clone)]
pub enum Near {
    Position(Coordinates),
    Postcode { country: String, postcode: String },
    City { country: String, name: String },
}

#[derive(Debug, Clone)]
pub struct PointSearch {
    /// Required by a search; optional for a check.
    pub near: Option<Near>,
    pub radius_m: Option<f64>,
    pub limit: Option<u32>,
    pub filter: Filter,
}

pub struct SearchResult {
    pub origin: Coordinates,
    /// The place a postcode or city was found as.
    pub origin_label: Option<String>,
    pub hits: Vec<Hit>,
}

/// A chosen point judged for a parcel.
pub struct PointCheck {
    pub hit: Hit,
    pub refusals: Vec<Refusal>,
    /// Nearest points that suit, when this one does not.
    pub fallbacks: Vec<Hit>,
}

pub const RADIUS_M_DEFAULT: f64 = 10_000.0;
pub const RADIUS_M_MAX: f64 = 100_000.0;
pub const LIMIT_DEFAULT: u32 = 10;
pub const LIMIT_MAX: u32 = 50;
const FALLBACKS: usize = 3;
/// Another network's point this close is taken for the same shop.
pub const SAME_PLACE_M: f64 = 30.0;
/// Points the index job reads per round trip when it reloads or recounts them.
const REFRESH_BATCH: usize = 500;

impl App {
    /// Commits `writes` and marks the points they change in the search index.
    pub async fn commit(&self, writes: Vec<Write>) -> Result<(), crate::CommitError> {
        let changes: Vec<IndexChange> = writes.iter().filter_map(Write::index_change).collect();
        self.store.commit(writes).await?;
        if !changes.is_empty() {
            self.registry.mark_own(changes);
        }
        Ok(())
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
                .map_err(|e| crate::StoreError::new(format!("index update failed: {e}")))?;
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
            let page = self.store.networks(Page { after, limit: 500 }).await?;
            after = page.last().map(|n| n.id);
            networks.extend(page.into_iter().map(|n| (n.id, n.rules.hold_days())));
            if after.is_none() {
                break;
            }
        }
        let counts: std::collections::HashMap<PointId, CompartmentCounts> =
            self.store.compartment_counts(None).await?.into_iter().map(|c| (c.point_id, c)).collect();
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
            .map_err(|e| crate::StoreError::new(format!("index build failed: {e}")))?;
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
        let counts = self.store.compartment_counts_of(ids).await?.into_iter().map(|c| (c.point_id, c)).collect();
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

    /// Imports an operator's file into a network: reads it, validates every row, diffs it against the
    /// registry and applies the diff in one transaction, or refuses the whole file (too many bad rows,
    /// too many removals, unreadable) and changes nothing. Either way the import is recorded, except a
    /// dry run, which only reports.
    pub async fn import_points(&self, caller: &Caller, request: ImportRequest) -> Result<ImportOutcome, AppError> {
        caller.require(Permission::ManageNetwork)?;
        request.limits.validate()?;
        let network = self
            .store
            .network(request.network_id)
            .await?
            .ok_or_else(|| AppError::not_found("network", request.network_id))?;
        let source = crate::setup::clip(&request.source, 300);
        let _one_at_a_time = self.registry.imports.lock().await;
        let now = self.now();
        let mut record = ImportRecord {
            id: self.new_id(),
            network_id: request.network_id,
            format: request.format.as_str().to_owned(),
            source: source.clone(),
            at: now,
            status: if request.dry_run { "dry_run" } else { "refused" }.to_owned(),
            rows_total: 0,
            rows_refused: 0,
            changes: [0; 6],
            unchanged: 0,
            problems: String::new(),
        };
        // Reading and validating the file (CPU) runs beside loading the network's points (the store).
        let progress = request.progress.clone();
        let report = |name, total| {
            if let Some(p) = &progress {
                p.stage(name, total);
            }
        };
        report("reading", 0);
        let _finish = FinishOnDrop(progress.clone());
        let app = self.clone();
        let read_progress = progress.clone();
        let (format, encoding, network_id, bytes) =
            (request.format, request.encoding, request.network_id, request.bytes);
        let point_source = format!("import:{}:{}", format.as_str(), crate::setup::clip(&source, 200));
        let reading = tokio::task::spawn_blocking(move || {
            app.read_rows(format, encoding, network_id, &bytes, &point_source, now, read_progress.as_deref())
        });
        let current = self.store.network_points(request.network_id).await;
        let read = reading.await.map_err(|e| crate::StoreError::new(format!("reading the file failed: {e}")))?;
        let current = current?;
        let Rows { incoming, mut row_errors, warnings, total: rows_total } = match read {
            Ok(rows) => rows,
            Err(error) => {
                let refusal = error.to_string();
                record.problems = refusal.clone();
                self.record_refusal(&record, request.dry_run).await?;
                return Ok(ImportOutcome {
                    record,
                    diff: Diff::default(),
                    row_errors: Vec::new(),
                    warnings: Vec::new(),
                    refusal: Some(refusal),
                });
            }
        };
        let refused_ids: HashSet<String> = row_errors.iter().filter_map(|e| e.external_id.clone()).collect();
        let current_active =
            current.iter().filter(|p| p.status != relais_domain::point::PointStatus::Decommissioned).count();
        let limits = request.limits;
        report("comparing", 0);
        let mut diff = tokio::task::spawn_blocking(move || {
            let mut diff = diff::diff(current, incoming, &refused_ids, limits.moved_threshold_m);
            // Doors are judged only for the points this file adds (existing points keep theirs).
            diff.points.retain(|change| {
                if change.kind != ChangeKind::Added {
                    return true;
                }
                match relais_registry::record::check_doors(&change.compartments) {
                    Ok(()) => true,
                    Err(e) => {
                        diff.errors.push(RowError {
                            line: change.line.unwrap_or(0),
                            external_id: Some(change.after.external_id.clone()),
                            message: e.to_string(),
                        });
                        false
                    }
                }
            });
            diff
        })
        .await
        .map_err(|e| crate::StoreError::new(format!("diff failed: {e}")))?;
        row_errors.extend(diff.errors.iter().cloned());
        row_errors.sort_by_key(|e| e.line);

        record.rows_total = u32::try_from(rows_total).unwrap_or(u32::MAX);
        record.rows_refused = u32::try_from(row_errors.len()).unwrap_or(u32::MAX);
        for (slot, kind) in record.changes.iter_mut().zip(ChangeKind::ALL) {
            *slot = u32::try_from(diff.count(kind)).unwrap_or(u32::MAX);
        }
        record.unchanged = u32::try_from(diff.unchanged).unwrap_or(u32::MAX);
        let mut problems: Vec<String> =
            row_errors.iter().take(PROBLEMS_RECORDED_MAX).map(ToString::to_string).collect();
        if row_errors.len() > PROBLEMS_RECORDED_MAX {
            problems.push(format!("... and {} more", row_errors.len() - PROBLEMS_RECORDED_MAX));
        }
        problems.extend(warnings.iter().take(PROBLEMS_RECORDED_MAX).map(|w| format!("warning: {w}")));

        let error_share = row_errors.len() as f64 / rows_total.max(1) as f64;
        let removed = diff.count(ChangeKind::Removed);
        let refusal = if rows_total == 0 {
            Some("the file has no rows".to_owned())
        } else if error_share > limits.error_share_max {
            Some(format!(
                "{} of {} rows ({:.1} %) have problems; at most {:.1} % are accepted: nothing was changed",
                row_errors.len(),
                rows_total,
                error_share * 100.0,
                limits.error_share_max * 100.0
            ))
        } else if current_active > 0 && removed as f64 / current_active as f64 > limits.removal_share_max {
            Some(format!(
                "the file would remove {removed} of the network's {current_active} points ({:.1} %), more than {:.1} %: \
                 a truncated file? nothing was changed (raise the removal limit to apply it)",
                removed as f64 * 100.0 / current_active as f64,
                limits.removal_share_max * 100.0
            ))
        } else {
            None
        };
        if let Some(reason) = &refusal {
            problems.insert(0, reason.clone());
        }
        record.problems = problems.join("\n");
        if refusal.is_some() || request.dry_run {
            self.record_refusal(&record, request.dry_run || refusal.is_none()).await?;
            return Ok(ImportOutcome { record, diff, row_errors, warnings, refusal });
        }

        record.status = "applied".to_owned();
        for change in &mut diff.points {
            change.after.updated_at = now;
        }
        let mut writes = Vec::with_capacity(diff.points.len() * 2 + 1);
        writes.push(Write::InsertImport(record.clone()));
        for change in &diff.points {
            let point = &change.after;
            match change.kind {
                ChangeKind::Added => {
                    writes.push(Write::InsertPoint(point.clone()));
                    let doors = self.build_compartments(point.id, &change.compartments)?;
                    writes.extend(doors.into_iter().map(Write::InsertCompartment));
                }
                _ => writes.push(Write::UpdatePoint(point.clone())),
            }
            writes.push(Write::AppendPointChange(PointChange {
                seq: 0,
                point_id: point.id,
                import_id: Some(record.id),
                at: now,
                kind: change.kind.as_str().to_owned(),
                fields: change.fields.iter().map(|f| (f.field.to_owned(), f.before.clone(), f.after.clone())).collect(),
            }));
        }
        report("applying", writes.len() as u64);
        self.store.commit(writes).await?;
        report("updating the search index", 0);
        // The search follows at once, from the diff (no re-read of the registry). A capacity change
        // made between the snapshot and the swap is caught by the next periodic rebuild.
        let hold_days = network.rules.hold_days();
        let changed: Vec<Indexed> = diff
            .points
            .iter()
            .map(|change| {
                let mut doors = [0u32; 4];
                for door in &change.compartments {
                    if let Ok(size) = relais_domain::value::SizeClass::parse(&door.size) {
                        doors[size as usize] += 1;
                    }
                }
                let point = change.after.clone();
                let shelf_free = point.shelf_capacity.saturating_sub(point.shelf_occupied);
                Indexed { point, capacity: Capacity { free: doors, total: doors, shelf_free }, hold_days }
            })
            .collect();
        let index = self.registry.index();
        let next = tokio::task::spawn_blocking(move || index.with_changes(changed))
            .await
            .map_err(|e| crate::StoreError::new(format!("index update failed: {e}")))?;
        self.registry.replace(next);
        Ok(ImportOutcome { record, diff, row_errors, warnings, refusal: None })
    }

    /// A file's rows validated as points of `network_id` (fresh ids; doors checked later, for the points
    /// the import adds), and the rows refused.
    #[allow(clippy::too_many_arguments)] // The parts of an import request a blocking thread needs.
    fn read_rows(
        &self,
        format: Format,
        encoding: Encoding,
        network_id: NetworkId,
        bytes: &[u8],
        source: &str,
        now: relais_domain::Timestamp,
        progress: Option<&dyn ImportProgress>,
    ) -> Result<Rows, relais_registry::formats::FileError> {
        let parsed = format.read(bytes, encoding)?;
        let total = parsed.total();
        let mut row_errors = parsed.errors;
        let mut incoming = Vec::with_capacity(parsed.rows.len());
        let mut validator = PointValidator::new();
        let rows = parsed.rows.len() as u64;
        if let Some(p) = progress {
            p.stage("validating", rows);
        }
        for (n, row) in parsed.rows.into_iter().enumerate() {
            if let Some(p) = progress
                && n % PROGRESS_STEP == 0
            {
                p.advance(n as u64);
            }
            let mut input = row.point;
            input.network_id = network_id;
            match validator.validate(&input, self.new_id(), now, source, Compartments::Deferred) {
                Ok(point) => incoming.push(Incoming { line: row.line, point, compartments: input.compartments }),
                Err(e) => row_errors.push(RowError {
                    line: row.line,
                    external_id: Some(input.external_id.clone()).filter(|i| !i.trim().is_empty()),
                    message: e.to_string(),
                }),
            }
        }
        if let Some(p) = progress {
            p.advance(rows);
        }
        Ok(Rows { incoming, row_errors, warnings: parsed.warnings, total })
    }

    /// Records a refused import (nothing else is written); a dry run records nothing.
    async fn record_refusal(&self, record: &ImportRecord, dry_run: bool) -> Result<(), AppError> {
        if !dry_run {
            self.store.commit(vec![Write::InsertImport(record.clone())]).await?;
        }
        Ok(())
    }

    pub async fn imports(
        &self,
        caller: &Caller,
        network_id: NetworkId,
        page: Page<ImportId>,
    ) -> Result<Vec<ImportRecord>, AppError> {
        caller.require(Permission::ManageNetwork)?;
        Ok(self.store.imports(network_id, Page { limit: self.page_limit(Some(page.limit)), ..page }).await?)
    }

    pub async fn point_history(&self, caller: &Caller, point_id: PointId) -> Result<Vec<PointChange>, AppError> {
        caller.require(Permission::ReadNetwork)?;
        if self.store.point(point_id).await?.is_none() {
            return Err(AppError::not_found("point", point_id));
        }
        Ok(self.store.point_changes(point_id).await?)
    }

    /// The nearest points that suit the search, nearest first.
    pub fn search_points(&self, caller: &Caller, search: &PointSearch) -> Result<SearchResult, AppError> {
        caller.require(Permission::ReadNetwork)?;
        let near = search
            .near
            .as_ref()
            .ok_or_else(|| ParseError::new("near", "give exactly one of lat and lon, postcode, or city"))?;
        let (origin, origin_label) = locate(near)?;
        let radius_m = search_radius(search.radius_m)?;
        let limit = match search.limit {
            None => LIMIT_DEFAULT,
            Some(n) if (1..=LIMIT_MAX).contains(&n) => n,
            Some(_) => return Err(ParseError::new("limit", format!("must be between 1 and {LIMIT_MAX}")).into()),
        };
        check_filter(&search.filter)?;
        let hits = self.registry.index().nearest(origin, radius_m, limit as usize, &search.filter);
        Ok(SearchResult { origin, origin_label, hits })
    }

    /// Whether `point_id` suits the search's parcel (and is within its radius of the search's position,
    /// when it has one), and if not, why, with the nearest points that do.
    pub fn check_point(
        &self,
        caller: &Caller,
        point_id: PointId,
        search: &PointSearch,
    ) -> Result<PointCheck, AppError> {
        caller.require(Permission::ReadNetwork)?;
        // Without a position the point is judged where it is: never too far.
        let near = search.near.as_ref().map(locate).transpose()?.map(|(origin, _)| origin);
        let radius_m = search_radius(search.radius_m)?;
        check_filter(&search.filter)?;
        let index = self.registry.index();
        let (hit, refusals) = index
            .check(point_id, near, radius_m, &search.filter)
            .ok_or_else(|| AppError::not_found("point", point_id))?;
        let fallbacks = if refusals.is_empty() {
            Vec::new()
        } else {
            index.alternatives(point_id, radius_m, FALLBACKS, &search.filter)
        };
        Ok(PointCheck { hit, refusals, fallbacks })
    }

    /// Points of other networks at the same place (same shop, another operator).
    pub fn same_place(&self, caller: &Caller, point_id: PointId) -> Result<Vec<Hit>, AppError> {
        caller.require(Permission::ReadNetwork)?;
        let index = self.registry.index();
        if index.point(point_id).is_none() {
            return Err(AppError::not_found("point", point_id));
        }
        Ok(index.same_place(point_id, SAME_PLACE_M))
    }
}

fn locate(near: &Near) -> Result<(Coordinates, Option<String>), AppError> {
    let gazetteer = Gazetteer::france();
    let place = match near {
        Near::Position(c) => return Ok((*c, None)),
        Near::Postcode { country, postcode } => gazetteer.postcode(country, postcode),
        Near::City { country, name } => gazetteer.city(country, name),
    };
    match place {
        Ok(place) => {
            let label = match &place.postcode {
                Some(code) => format!("{code} {}", place.name),
                None => place.name.clone(),
            };
            Ok((place.coordinates, Some(label)))
        }
        Err(e) => Err(AppError::PlaceNotFound(e)),
    }
}

fn search_radius(radius_m: Option<f64>) -> Result<f64, AppError> {
    match radius_m {
        None => Ok(RADIUS_M_DEFAULT),
        Some(r) if r.is_finite() && (1.0..=RADIUS_M_MAX).contains(&r) => Ok(r),
        Some(_) => Err(ParseError::new("radius_m", "must be between 1 and 100000 metres").into()),
    }
}

fn check_filter(filter: &Filter) -> Result<(), AppError> {
    if filter.open_share_min.is_some_and(|share| !(0.0..=1.0).contains(&share)) {
        return Err(ParseError::new("open_share_min", "must be between 0 and 1").into());
    }
    Ok(())
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

/// Geocoding refusals keep their own message.
impl From<GeocodeError> for AppError {
    fn from(error: GeocodeError) -> Self {
        AppError::PlaceNotFound(error)
    }
}
