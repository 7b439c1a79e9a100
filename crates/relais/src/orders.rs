//! Files of a merchant's orders (docs/orders.md): the report `relais import orders` prints and a drop
//! folder writes beside each file, and the drop folders `serve` watches (`[[order_drop_folders]]`).

use std::fmt::Write;
use std::path::Path;

use relais_app::order_files::{ImportReport, LineOutcome, OrderFormat};
use relais_app::{App, Caller};
use relais_domain::ids::MerchantId;

/// A file's report: one line per order, then the counts; and whether the file (or an order) was refused.
pub fn report(report: &ImportReport) -> (String, bool) {
    let mut out = String::new();
    for line in &report.lines {
        let outcome = match &line.outcome {
            LineOutcome::Valid => "valid".to_owned(),
            LineOutcome::Created { order_id, state } => format!("created {order_id} ({state})"),
            LineOutcome::Existed { order_id } => format!("existing {order_id}"),
            LineOutcome::Refused { code, message } => format!("refused: {code}: {message}"),
        };
        let _ = writeln!(out, "line {} {}: {outcome}", line.line, line.reference);
    }
    let refused = report.count(|o| matches!(o, LineOutcome::Refused { .. }));
    if report.refused {
        let _ = writeln!(out, "{refused} of {} orders are bad: nothing was created", report.lines.len());
        return (out, true);
    }
    let created = report.count(|o| matches!(o, LineOutcome::Created { .. }));
    let existing = report.count(|o| matches!(o, LineOutcome::Existed { .. }));
    let _ = writeln!(out, "{created} created, {existing} already there, {refused} refused");
    (out, refused > 0)
}

/// Imports one file of a merchant's orders; its report, and whether anything was refused.
pub async fn import_file(
    app: &App,
    merchant_id: MerchantId,
    format: OrderFormat,
    path: &Path,
) -> Result<(String, bool), String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let imported =
        app.import_orders(&Caller::system(), Some(merchant_id), format, &bytes).await.map_err(|e| e.to_string())?;
    let name = path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned());
    let (body, refused) = report(&imported);
    let status = if refused { "REFUSED" } else { "imported" };
    Ok((format!("orders {name}: {status}\n{body}"), refused))
}

/// One pass over a merchant's drop folder of order files: each new file imported, then moved to
/// `done/` or `refused/` with its report beside it. One line per file.
pub async fn drain_order_folder(
    app: &App,
    merchant_id: MerchantId,
    format: OrderFormat,
    folder: &Path,
) -> Result<Vec<(String, bool)>, String> {
    crate::points::drain_with(folder, &crate::points::Importer::Orders(app, merchant_id, format)).await
}
