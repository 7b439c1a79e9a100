//! The operator's alerts (issue 19): read from the state that raises each one (an occupancy alert, a
//! door's fault, a locker gone silent, a refused import, a dead letter, a claim to file before its
//! deadline), paired with their acknowledgements, and acknowledged with a comment from the console.
//! `relais_domain::alert` names each occurrence; the console's page and its live stream share
//! `App::alerts`.

use chrono::Duration;
use relais_domain::alert::{self, Acknowledgement, Alert, AlertKind, AlertSubject};

use crate::App;
use crate::auth::{Caller, Permission};
use crate::error::AppError;
use crate::ports::{ConsoleWrite, Write};

/// Most alerts of each kind read at once: a screen's worth; the count says when there are more.
pub const ALERTS_PER_KIND_MAX: u32 = 200;
/// How far back refused imports and dead letters stay alerts (afterwards they are history).
const RECENT_DAYS: i64 = 7;
/// A claim still to file is an alert this close to its deadline.
const CLAIM_DEADLINE_NEAR_DAYS: i64 = 7;

/// The alerts now: open ones first (the latest first), then those someone acknowledged.
#[derive(Debug, Clone, Default)]
pub struct AlertsView {
    pub open: Vec<Alert>,
    pub acknowledged: Vec<(Alert, Acknowledgement)>,
}

impl App {
    /// The alerts of the whole network, for operators (and read-only accounts); merchants have none.
    pub async fn alerts(&self, caller: &Caller) -> Result<AlertsView, AppError> {
        caller.require(Permission::ReadKpis)?;
        let now = self.now();
        let limit = ALERTS_PER_KIND_MAX;
        let mut alerts = Vec::new();
        for raised in self.store.occupancy_alerts(limit).await? {
            let point = raised.point_id;
            let detail = format!("{:.0} %", raised.rate * 100.0);
            alerts.push(Alert::new(
                AlertKind::Occupancy,
                AlertSubject::Point(point),
                point.to_string(),
                raised.raised_at,
                detail,
            ));
        }
        for (door, reported_at) in self.store.faulty_compartments(limit).await? {
            let fault = door.fault.map_or("fault", |f| f.as_str());
            let subject =
                AlertSubject::Door { point_id: door.point_id, compartment_id: door.id, label: door.label.clone() };
            // A fault always has its audit line; without one the door's version names the occurrence.
            let since = reported_at.unwrap_or(chrono::DateTime::UNIX_EPOCH + Duration::microseconds(door.version));
            alerts.push(Alert::new(
                AlertKind::DoorFault,
                subject,
                format!("{}-{fault}", door.id),
                since,
                fault.to_owned(),
            ));
        }
        for device in self.store.offline_devices(limit).await? {
            let since = device.offline_since.unwrap_or(device.last_seen_at);
            let detail = device.last_seen_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
            let point = device.point_id;
            alerts.push(Alert::new(
                AlertKind::DeviceSilent,
                AlertSubject::Point(point),
                point.to_string(),
                since,
                detail,
            ));
        }
        for import in self.store.refused_imports(now - Duration::days(RECENT_DAYS), limit).await? {
            let subject = AlertSubject::Import { network_id: import.network_id, import_id: import.id };
            let detail = format!("{} ({} refused of {})", import.source, import.rows_refused, import.rows_total);
            alerts.push(Alert::new(AlertKind::ImportRefused, subject, import.id.to_string(), import.at, detail));
        }
        for delivery in self.store.dead_deliveries(now - Duration::days(RECENT_DAYS), limit).await? {
            let subject =
                AlertSubject::Message { parcel_id: delivery.parcel_id, channel: delivery.channel.as_str().to_owned() };
            // The provider's error, never the address it was for.
            let detail = format!("{}: {}", delivery.topic, delivery.last_error.as_deref().unwrap_or("-"));
            alerts.push(Alert::new(
                AlertKind::MessageFailing,
                subject,
                delivery.id.to_string(),
                delivery.updated_at,
                detail,
            ));
        }
        for claim in self.store.claims_to_file_by(now + Duration::days(CLAIM_DEADLINE_NEAR_DAYS), limit).await? {
            let subject = AlertSubject::Claim { claim_id: claim.id, parcel_id: claim.parcel_id };
            let detail = format!("{} · {}", claim.kind.as_str(), claim.carrier);
            alerts.push(Alert::new(AlertKind::ClaimDeadline, subject, claim.id.to_string(), claim.deadline_at, detail));
        }
        let keys: Vec<String> = alerts.iter().map(|a| a.key.clone()).collect();
        let acks = self.store.alert_acknowledgements(&keys).await?;
        let (open, acknowledged) = alert::split(alerts, &acks);
        Ok(AlertsView { open, acknowledged })
    }

    /// Acknowledges an alert from the console (a form with the session's CSRF token): operators and
    /// admins, with a comment saying what is being done. The first acknowledgement of an occurrence
    /// stands.
    pub async fn acknowledge_alert(&self, token: &str, csrf: &str, key: &str, comment: &str) -> Result<(), AppError> {
        let user = self.console_operator(token, csrf).await?;
        let key = alert::key(key)?;
        let comment = alert::comment(comment)?;
        let acknowledgement = Acknowledgement { key, by: user.account.name.clone(), comment, at: self.now() };
        self.insert(Write::Console(ConsoleWrite::Acknowledge(acknowledgement))).await
    }
}
