//! The CLI side of the registry: `relais import points` (a file, or every file of a drop folder) and
//! `relais points search`. Both call the same use cases as the API; this module only reads files and
//! prints reports.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use relais_app::points::{ImportLimits, ImportOutcome, ImportProgress, ImportRequest, Near, PointSearch};
use relais_app::{App, Caller};
use relais_domain::ids::NetworkId;
use relais_registry::diff::{ChangeKind, Diff};
use relais_registry::formats::{Encoding, Format};
use relais_registry::index::Hit;

pub struct ImportArgs {
    pub network_id: NetworkId,
    pub format: Format,
    pub encoding: Encoding,
    pub dry_run: bool,
    pub limits: ImportLimits,
    /// Draw a progress bar on the terminal for large files (the CLI; not the drop-folder job).
    pub progress: bool,
}

/// Files from this size on get a progress bar.
const PROGRESS_BYTES_MIN: usize = 1 << 20;

/// The import's progress on stderr: a bar while rows are validated, a spinner for the other stages.
/// indicatif draws nothing when stderr is not a terminal.
struct Bar(indicatif::ProgressBar);

impl ImportProgress for Bar {
    fn stage(&self, name: &'static str, total: u64) {
        self.0.set_message(name);
        let style = if total > 0 {
            indicatif::ProgressStyle::with_template("{msg:>26} [{bar:30}] {pos}/{len} rows ({eta} left)")
        } else {
            indicatif::ProgressStyle::with_template("{msg:>26} {spinner} {elapsed}")
        };
        if let Ok(style) = style {
            self.0.set_style(style.progress_chars("=> "));
        }
        self.0.set_length(total);
        self.0.set_position(0);
    }

    fn advance(&self, done: u64) {
        self.0.set_position(done);
    }

    fn finish(&self) {
        self.0.finish_and_clear();
    }
}

/// Imports one file. Returns the report, and whether the file was refused.
pub async fn import_file(app: &App, args: &ImportArgs, path: &Path) -> Result<(String, bool), String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let source = path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned());
    import_bytes(app, args, bytes, source).await
}

/// Imports the file at an `https://` (or `http://`) URL: an operator's export endpoint, fetched with
/// the outgoing client (`[outbound]`: timeouts, size cap, proxy, certificate authorities).
pub async fn import_url(
    app: &App,
    args: &ImportArgs,
    client: &relais_edge::http::HttpClient,
    url: &str,
) -> Result<(String, bool), String> {
    let fetched = client.get(url).await.map_err(|e| e.to_string())?;
    if fetched.status != 200 {
        return Err(format!("{url}: the server answered {}", fetched.status));
    }
    import_bytes(app, args, fetched.body, url.to_owned()).await
}

async fn import_bytes(app: &App, args: &ImportArgs, bytes: Vec<u8>, source: String) -> Result<(String, bool), String> {
    let progress: Option<Arc<dyn ImportProgress>> = (args.progress && bytes.len() >= PROGRESS_BYTES_MIN).then(|| {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        Arc::new(Bar(bar)) as Arc<dyn ImportProgress>
    });
    let request = ImportRequest {
        network_id: args.network_id,
        format: args.format,
        encoding: args.encoding,
        source,
        bytes,
        dry_run: args.dry_run,
        limits: args.limits,
        progress,
    };
    let outcome = app.import_points(&Caller::system(), request).await.map_err(|e| e.to_string())?;
    let refused = outcome.refusal.is_some();
    Ok((report(&outcome, args.dry_run), refused))
}

/// The files of a drop folder to import, oldest name first; sub-folders (`processing`, `done`,
/// `refused`) and hidden or partial files (`.name`, `name.part`, `name.tmp`) are skipped: an FTP upload in progress is not read.
pub fn drop_folder_files(folder: &Path) -> Result<Vec<PathBuf>, String> {
    let entries = std::fs::read_dir(folder).map_err(|e| format!("cannot read folder {}: {e}", folder.display()))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .filter(|p| {
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            !name.starts_with('.') && !name.ends_with(".part") && !name.ends_with(".tmp")
        })
        .collect();
    files.sort();
    Ok(files)
}

/// Moves an imported file to `done/` or `refused/` of its drop folder, with its report
/// (`NAME.report.txt`), so the folder only holds what is new and the operator finds why a file was
/// refused.
pub fn file_away(folder: &Path, path: &Path, refused: bool, report: &str) -> Result<PathBuf, String> {
    let target_folder = folder.join(if refused { "refused" } else { "done" });
    std::fs::create_dir_all(&target_folder).map_err(|e| format!("cannot create {}: {e}", target_folder.display()))?;
    let name = path.file_name().unwrap_or_default();
    let target = target_folder.join(name);
    std::fs::rename(path, &target)
        .map_err(|e| format!("cannot move {} to {}: {e}", path.display(), target.display()))?;
    let report_path = target_folder.join(format!("{}.report.txt", name.to_string_lossy()));
    std::fs::write(&report_path, report).map_err(|e| format!("cannot write {}: {e}", report_path.display()))?;
    Ok(target)
}

/// Where a drop folder's file waits while it is imported. A file found there at the next pass was being
/// imported when relais stopped (a crash, a kill, a restart): it is refused, never tried again, so a
/// file that brings relais down cannot do it at every start.
const PROCESSING: &str = "processing";

/// One pass over a drop folder: files an import interrupted earlier are refused, then every new file is
/// moved to `processing/`, imported, and filed away, in name order. Returns one line per file for the
/// log, with whether the file was refused.
pub async fn drain_drop_folder(app: &App, args: &ImportArgs, folder: &Path) -> Result<Vec<(String, bool)>, String> {
    drain_with(folder, &Importer::Points(app, args)).await
}

/// What a drop folder's files are imported as.
pub enum Importer<'a> {
    Points(&'a App, &'a ImportArgs),
    Orders(&'a App, relais_domain::ids::MerchantId, relais_app::order_files::OrderFormat),
}

impl Importer<'_> {
    /// A file imported: its report, and whether it was refused.
    async fn import(&self, path: &Path) -> Result<(String, bool), String> {
        match self {
            Importer::Points(app, args) => import_file(app, args, path).await,
            Importer::Orders(app, merchant, format) => crate::orders::import_file(app, *merchant, *format, path).await,
        }
    }
}

/// One pass over a drop folder: a point file here, a file of orders in `orders.rs`.
pub async fn drain_with(folder: &Path, importer: &Importer<'_>) -> Result<Vec<(String, bool)>, String> {
    let processing = folder.join(PROCESSING);
    let mut lines = Vec::new();
    if processing.is_dir() {
        for stale in drop_folder_files(&processing)? {
            let name = stale.file_name().unwrap_or_default().to_string_lossy().into_owned();
            let report = format!(
                "import {name}: REFUSED\nreason: relais stopped while importing this file (a crash or a restart); it is \
                 not tried again. Check the file, then drop it again.\n"
            );
            let target = file_away(folder, &stale, true, &report)?;
            lines.push((format!("import {name}: REFUSED (interrupted) -> {}", target.display()), true));
        }
    }
    for file in drop_folder_files(folder)? {
        std::fs::create_dir_all(&processing).map_err(|e| format!("cannot create {}: {e}", processing.display()))?;
        let claimed = processing.join(file.file_name().unwrap_or_default());
        std::fs::rename(&file, &claimed)
            .map_err(|e| format!("cannot move {} to {}: {e}", file.display(), claimed.display()))?;
        let (report, refused) = match importer.import(&claimed).await {
            Ok(done) => done,
            Err(e) => (format!("import failed: {e}\n"), true),
        };
        let target = file_away(folder, &claimed, refused, &report)?;
        let first = report.lines().next().unwrap_or_default().to_owned();
        lines.push((format!("{first} -> {}", target.display()), refused));
    }
    Ok(lines)
}

/// A readable report: the outcome, counts, problems and, for a dry run, the diff point by point.
pub fn report(outcome: &ImportOutcome, dry_run: bool) -> String {
    let r = &outcome.record;
    let mut out = String::new();
    let status = match (&outcome.refusal, dry_run) {
        (Some(_), _) => "REFUSED",
        (None, true) => "dry run: would apply",
        (None, false) => "applied",
    };
    let _ = writeln!(out, "import {} ({}, {}): {status}", r.source, r.format, r.id);
    if let Some(reason) = &outcome.refusal {
        let _ = writeln!(out, "reason: {reason}");
    }
    let _ = writeln!(out, "rows: {} read, {} refused", r.rows_total, r.rows_refused);
    let counts: Vec<String> =
        ChangeKind::ALL.iter().zip(r.changes).map(|(k, n)| format!("{} {n}", k.as_str())).collect();
    let _ = writeln!(out, "points: {}, unchanged {}", counts.join(", "), r.unchanged);
    if !outcome.row_errors.is_empty() {
        let _ = writeln!(out, "problems:");
        for error in &outcome.row_errors {
            let _ = writeln!(out, "  {error}");
        }
    }
    if !outcome.warnings.is_empty() {
        let _ = writeln!(out, "warnings (rows taken, something left out):");
        for warning in &outcome.warnings {
            let _ = writeln!(out, "  {warning}");
        }
    }
    if dry_run {
        out.push_str(&diff_lines(&outcome.diff));
    }
    out
}

/// One line per point: `+` added, `~` changed or moved, `-` removed, `!` closed, `^` reopened.
pub fn diff_lines(diff: &Diff) -> String {
    let mut out = String::new();
    if diff.points.is_empty() {
        return out;
    }
    let _ = writeln!(out, "diff:");
    for p in &diff.points {
        let mark = match p.kind {
            ChangeKind::Added => '+',
            ChangeKind::Changed | ChangeKind::Moved => '~',
            ChangeKind::Closed => '!',
            ChangeKind::Reopened => '^',
            ChangeKind::Removed => '-',
        };
        let fields: Vec<String> =
            p.fields.iter().map(|f| format!("{}: {:?} -> {:?}", f.field, f.before, f.after)).collect();
        let _ = writeln!(
            out,
            "  {mark} {} {} ({}) {}",
            p.after.external_id,
            p.after.name,
            p.kind.as_str(),
            fields.join("; ")
        );
    }
    out
}

/// Search results as lines: distance, kind, name, address, today's hours, capacity.
pub fn search_lines(app: &App, search: &PointSearch) -> Result<Vec<String>, String> {
    let result = app.search_points(&Caller::system(), search).map_err(|e| e.to_string())?;
    let now = app.now();
    let mut lines = vec![format!(
        "{} results near {:.5},{:.5}{}",
        result.hits.len(),
        result.origin.latitude(),
        result.origin.longitude(),
        result.origin_label.map(|l| format!(" ({l})")).unwrap_or_default()
    )];
    lines.extend(result.hits.iter().map(|hit| hit_line(hit, now)));
    Ok(lines)
}

fn hit_line(hit: &Hit, now: relais_domain::Timestamp) -> String {
    let p = &hit.point;
    let today = relais_registry::today::today(p, now);
    let hours = if today.intervals.is_empty() {
        today.state.to_owned()
    } else {
        today.intervals.iter().map(|(a, b)| format!("{a}-{b}")).collect::<Vec<_>>().join(",")
    };
    let capacity = match hit.capacity {
        None => "capacity unknown".to_owned(),
        Some(c) if p.kind.has_compartments() => format!("free A/B/C/D {:?}", c.free),
        Some(c) => format!("{} free on the shelf", c.shelf_free),
    };
    format!(
        "{:>6} m  {:<11} {}  {}, {} {}  today {hours}  {capacity}  [{}]",
        hit.distance_m.round(),
        p.kind.as_str(),
        p.name,
        p.address.line1,
        p.address.postcode,
        p.address.city,
        p.id
    )
}

/// `--near "45.76,4.83"`, `--postcode 69003` or `--city Lyon`: exactly one.
pub fn near(near: Option<&str>, postcode: Option<&str>, city: Option<&str>, country: &str) -> Result<Near, String> {
    match (near, postcode, city) {
        (Some(position), None, None) => {
            let (lat, lon) = position.split_once(',').ok_or("--near takes LAT,LON (e.g. 45.76,4.83)")?;
            let parse = |v: &str| v.trim().parse::<f64>().map_err(|_| format!("--near: {v:?} is not a number"));
            let coordinates =
                relais_domain::value::Coordinates::parse(parse(lat)?, parse(lon)?).map_err(|e| e.to_string())?;
            Ok(Near::Position(coordinates))
        }
        (None, Some(code), None) => Ok(Near::Postcode { country: country.to_owned(), postcode: code.to_owned() }),
        (None, None, Some(name)) => Ok(Near::City { country: country.to_owned(), name: name.to_owned() }),
        _ => Err("give exactly one of --near LAT,LON, --postcode or --city".into()),
    }
}
