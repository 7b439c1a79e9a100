//! The calls relais makes to merchants' shops to write their orders' fulfilments back
//! (`relais_app::connectors::write_back`), over the outbound HTTP client (`[outbound]`: timeouts, size
//! cap, proxy, extra certificate authorities), and the job that runs them in `relais serve`.

use relais_app::{App, Caller};

use crate::outbound::HttpOutboundCalls;

/// Shop orders one pass takes.
const BATCH: u32 = 100;

/// Writes shop orders' fulfilments back, a pass every `interval_seconds`, until stopped.
pub async fn write_back_forever(app: App, calls: HttpOutboundCalls, interval_seconds: u64) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(interval_seconds.max(1)));
    loop {
        tick.tick().await;
        match app.write_back_due(&Caller::system(), &calls, BATCH).await {
            Ok(report) if report.written + report.failed > 0 => {
                tracing::info!(written = report.written, failed = report.failed, "write-back to shops");
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "write-back pass failed; will retry"),
        }
    }
}
