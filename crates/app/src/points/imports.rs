//! Imports of an operator's point file into a network: read and validate every row (`relais_registry`),
//! diff the file against the registry, and apply the diff in one commit with its history rows and the
//! import's record, or refuse the whole file (unreadable, too many bad rows, too many removals) and
//! record the refusal. The search index follows at once, from the diff.

use std::collections::HashSet;
use std::sync::Arc;

use relais_domain::ids::{ImportId, NetworkId};
use relais_domain::value::ParseError;
use relais_registry::diff::{self, ChangeKind, Diff, Incoming};
use relais_registry::formats::{Encoding, Format, RowError};
use relais_registry::index::{Capacity, Indexed};
use relais_registry::{Compartments, PointValidator};

use crate::App;
use crate::auth::{Caller, Permission};
use crate::error::AppError;
use crate::ports::{ImportRecord, ImportStatus, Page, PointChange, Write};

/// Changes of one import shown at once.
pub const CHANGES_SHOWN: u32 = 2_000;

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

/// Longest file name or URL an import's record keeps.
const SOURCE_LENGTH_MAX: usize = 300;
/// Longest file name or URL a point keeps as its source (after `import:<format>:`).
const POINT_SOURCE_LENGTH_MAX: usize = 200;
/// Problems kept in the import's record (the full list is in the outcome).
const PROBLEMS_RECORDED_MAX: usize = 200;

impl App {
    /// Imports an operator's file into a network: reads it, validates every row, diffs it against the
    /// registry and applies the diff in one transaction, or refuses the whole file (too many bad rows,
    /// too many removals, unreadable) and changes nothing. Either way the import is recorded, except a
    /// dry run, which only reports.
    pub async fn import_points(&self, caller: &Caller, request: ImportRequest) -> Result<ImportOutcome, AppError> {
        caller.require(Permission::ManageNetwork)?;
        request.limits.validate()?;
        let rules = self.load_rules(request.network_id).await?;
        let source = crate::setup::clip(&request.source, SOURCE_LENGTH_MAX);
        let _one_at_a_time = self.registry.imports.lock().await;
        let now = self.now();
        let mut record = ImportRecord {
            id: self.new_id(),
            network_id: request.network_id,
            format: request.format.as_str().to_owned(),
            source: source.clone(),
            at: now,
            status: if request.dry_run { ImportStatus::DryRun } else { ImportStatus::Refused },
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
        let point_source =
            format!("import:{}:{}", format.as_str(), crate::setup::clip(&source, POINT_SOURCE_LENGTH_MAX));
        let reading = tokio::task::spawn_blocking(move || {
            app.read_rows(format, encoding, network_id, &bytes, &point_source, now, read_progress.as_deref())
        });
        let current = self.store.network_points(request.network_id).await;
        let read = reading.await.map_err(|e| crate::StoreError::message(format!("reading the file failed: {e}")))?;
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
                            item: None,
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
        .map_err(|e| crate::StoreError::message(format!("diff failed: {e}")))?;
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

        record.status = ImportStatus::Applied;
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
                kind: change.kind,
                fields: change.fields.iter().map(|f| (f.field.to_owned(), f.before.clone(), f.after.clone())).collect(),
            }));
        }
        report("applying", writes.len() as u64);
        // One commit for the whole file. The registry fields of a network have one writer (its imports, one
        // at a time) and their updates are not version-checked, so no race can make it start over; should
        // one, the import is `busy` rather than applied from a diff that may be stale.
        let mut once = Some(writes);
        self.run(|| {
            let writes = once.take();
            async move {
                let mut tx = self.tx();
                tx.index_updated_by_the_command();
                tx.write_batch(writes.ok_or(AppError::Busy)?);
                Ok(tx.done(()))
            }
        })
        .await?;
        report("updating the search index", 0);
        // The search follows at once, from the diff (no re-read of the registry). A capacity change
        // made between the snapshot and the swap is caught by the next periodic rebuild.
        let hold_days = rules.hold_days();
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
            .map_err(|e| crate::StoreError::message(format!("index update failed: {e}")))?;
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
        let mut warnings = parsed.warnings;
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
                Ok(point) => {
                    warnings.extend(validator.warnings().iter().map(|message| RowError {
                        line: row.line,
                        item: row.item,
                        external_id: Some(point.external_id.clone()),
                        message: message.clone(),
                    }));
                    incoming.push(Incoming { line: row.line, point, compartments: input.compartments })
                }
                Err(e) => row_errors.push(RowError {
                    line: row.line,
                    item: row.item,
                    external_id: Some(input.external_id.clone()).filter(|i| !i.trim().is_empty()),
                    message: e.to_string(),
                }),
            }
        }
        if let Some(p) = progress {
            p.advance(rows);
        }
        Ok(Rows { incoming, row_errors, warnings, total })
    }

    /// Records a refused import (nothing else is written); a dry run records nothing.
    async fn record_refusal(&self, record: &ImportRecord, dry_run: bool) -> Result<(), AppError> {
        if !dry_run {
            self.run(|| async {
                let mut tx = self.tx();
                tx.write(Write::InsertImport(record.clone()));
                Ok(tx.done(()))
            })
            .await?;
        }
        Ok(())
    }

    /// One import with the changes it made (the first `CHANGES_SHOWN`), for the console.
    pub async fn import_with_changes(
        &self,
        caller: &Caller,
        import_id: ImportId,
    ) -> Result<(ImportRecord, Vec<crate::ports::PointChange>), AppError> {
        caller.require(Permission::ManageNetwork)?;
        let record =
            self.store.import_record(import_id).await?.ok_or_else(|| AppError::not_found("import", import_id))?;
        let changes = self.store.import_changes(import_id, CHANGES_SHOWN).await?;
        Ok((record, changes))
    }

    pub async fn imports(
        &self,
        caller: &Caller,
        network_id: NetworkId,
        page: Page<ImportId>,
    ) -> Result<Vec<ImportRecord>, AppError> {
        caller.require(Permission::ManageNetwork)?;
        Ok(self.store.imports(network_id, Page { limit: self.page_limit(Some(page.limit))?, ..page }).await?)
    }
}
