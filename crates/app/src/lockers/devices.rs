//! The locker's controller: its heartbeat (door states, firmware; it gets the doors to open back),
//! silence noticed and told, and the collections it validated offline with a QR token.

use chrono::Duration;
use relais_domain::Timestamp;
use relais_domain::dropoff::{CommandPurpose, DoorCommand, DoorReport};
use relais_domain::ids::PointId;
use relais_domain::parcel::Actor;
use relais_domain::value::{ParseError, parse_text};

use crate::App;
use crate::auth::{Caller, Permission};
use crate::error::AppError;
use crate::parcels::Collected;
use crate::parcels::pickup::parse_qr_token;
use crate::ports::{AuditAction, AuditEntry, DeviceStatus, Write};

pub use relais_domain::dropoff::DoorState;

/// A locker that has not beaten for this long (10 heartbeats of 30 s) is reported offline.
pub const DEVICE_SILENCE_SECONDS: i64 = 300;
/// Most doors a heartbeat may describe (a locker has at most `Compartment::PER_POINT_MAX`).
pub const HEARTBEAT_DOORS_MAX: usize = relais_domain::compartment::Compartment::PER_POINT_MAX;
/// Longest firmware version string a heartbeat may carry.
pub const FIRMWARE_LENGTH_MAX: usize = 64;

/// A heartbeat as the locker sends it (not yet checked).
#[derive(Debug, Clone, Default)]
pub struct Heartbeat {
    pub doors: Vec<(String, String)>,
    pub firmware: Option<String>,
}

/// What a heartbeat gets back.
#[derive(Debug, Clone)]
pub struct HeartbeatReply {
    pub commands: Vec<DoorCommand>,
    /// Doors the heartbeat reported jammed that are now out of service.
    pub taken_out_of_service: Vec<String>,
}

impl App {
    /// The locker's heartbeat: its door states are recorded, a door it reports jammed goes out of
    /// service, and it gets the doors it has to open.
    pub async fn heartbeat(
        &self,
        caller: &Caller,
        point_id: PointId,
        heartbeat: Heartbeat,
    ) -> Result<HeartbeatReply, AppError> {
        caller.require(Permission::DeviceOf(point_id))?;
        if heartbeat.doors.len() > HEARTBEAT_DOORS_MAX {
            return Err(ParseError::new("doors", format!("at most {HEARTBEAT_DOORS_MAX} doors")).into());
        }
        let firmware =
            heartbeat.firmware.as_deref().map(|f| parse_text("firmware", f, FIRMWARE_LENGTH_MAX)).transpose()?;
        let compartments = self.store.compartments(point_id).await?;
        if compartments.is_empty() {
            self.load_locker(point_id).await?;
        }
        let mut doors = Vec::with_capacity(heartbeat.doors.len());
        let mut jammed = Vec::new();
        for (label, state) in &heartbeat.doors {
            let door_state = DoorState::parse(state)
                .ok_or_else(|| ParseError::new("doors.state", "must be closed, open or jammed"))?;
            let Some(compartment) = compartments.iter().find(|c| &c.label == label) else {
                return Err(ParseError::new("doors.label", format!("this locker has no door {label:?}")).into());
            };
            if door_state == DoorState::Jammed && compartment.fault.is_none() {
                jammed.push(label.clone());
            }
            doors.push((label.clone(), door_state));
        }
        let key_id = caller.key_id.unwrap_or_default();
        self.run(|| async {
            let mut tx = self.tx();
            let (now, doors, firmware) = (tx.now, doors.clone(), firmware.clone());
            tx.write(Write::PutDeviceStatus(DeviceStatus {
                point_id,
                key_id,
                last_seen_at: now,
                doors,
                firmware,
                offline_since: None,
            }));
            // Back after relais had noticed its silence: say so.
            if let Some(since) = self.store.device_status(point_id).await?.and_then(|s| s.offline_since) {
                tx.message("point.device_online", None, device_payload(point_id, since, now));
            }
            Ok(tx.done(()))
        })
        .await?;
        for label in &jammed {
            self.report_door(caller, point_id, label, DoorReport::Jammed).await?;
        }
        let commands = self.doors_to_open(point_id).await?;
        Ok(HeartbeatReply { commands, taken_out_of_service: jammed })
    }

    /// Marks offline the lockers silent for `DEVICE_SILENCE_SECONDS` (up to `limit`): a
    /// `point.device_offline` message and an audit line each; the next heartbeat says
    /// `point.device_online`.
    pub async fn flag_silent_devices(&self, caller: &Caller, limit: u32) -> Result<u32, AppError> {
        caller.require(Permission::RunJobs)?;
        let before = self.now() - Duration::seconds(DEVICE_SILENCE_SECONDS);
        let mut flagged = 0;
        for device in self.store.silent_devices(before, limit).await? {
            let point_id = device.point_id;
            let marked = self
                .run(|| async {
                    let mut tx = self.tx();
                    // It beat meanwhile, or another process flagged it: nothing to say.
                    let current = self.store.device_status(point_id).await?;
                    let Some(silent) = current.filter(|d| d.last_seen_at < before && d.offline_since.is_none()) else {
                        return Ok(tx.done(false));
                    };
                    let (last_seen_at, now) = (silent.last_seen_at, tx.now);
                    tx.write(Write::MarkDeviceOffline { point_id, last_seen_at, at: now });
                    tx.message("point.device_offline", None, device_payload(point_id, last_seen_at, now));
                    tx.audit(AuditEntry {
                        seq: 0,
                        at: now,
                        actor: Actor::system(),
                        action: AuditAction::DeviceOffline,
                        point_id: Some(point_id),
                        compartment_id: None,
                        parcel_id: None,
                        reason: Some(format!("no heartbeat since {}", last_seen_at.to_rfc3339())),
                    });
                    Ok(tx.done(true))
                })
                .await?;
            flagged += u32::from(marked);
        }
        Ok(flagged)
    }

    /// The doors a locker has to open now.
    pub async fn door_commands(&self, caller: &Caller, point_id: PointId) -> Result<Vec<DoorCommand>, AppError> {
        caller.require(Permission::DeviceOf(point_id))?;
        self.doors_to_open(point_id).await
    }

    /// The doors ordered open and not closed yet (operators: the console's locker view).
    pub async fn pending_door_commands(
        &self,
        caller: &Caller,
        point_id: PointId,
    ) -> Result<Vec<DoorCommand>, AppError> {
        caller.require(Permission::OperateLocker)?;
        self.doors_to_open(point_id).await
    }

    /// The doors a locker still has to open: pending commands but those it opened itself (pickups).
    /// A command stays listed until its door closes; the locker opens each command id once.
    async fn doors_to_open(&self, point_id: PointId) -> Result<Vec<DoorCommand>, AppError> {
        let mut commands = self.store.pending_door_commands(point_id).await?;
        commands.retain(|c| c.purpose != CommandPurpose::Pickup);
        Ok(commands)
    }

    /// The last heartbeat of a locker.
    pub async fn device_status(&self, caller: &Caller, point_id: PointId) -> Result<Option<DeviceStatus>, AppError> {
        caller.require(Permission::ReadPointOperation(point_id))?;
        self.load_locker(point_id).await?;
        Ok(self.store.device_status(point_id).await?)
    }

    /// A locker was offline when a recipient showed a QR token; it checked the signature itself, opened
    /// the door, and reports the collection now. The token is accepted once: a second report finds the
    /// parcel collected (`invalid_transition`).
    pub async fn report_offline_collection(
        &self,
        caller: &Caller,
        point_id: PointId,
        qr_token: &str,
        at: Option<Timestamp>,
    ) -> Result<Collected, AppError> {
        caller.require(Permission::DeviceOf(point_id))?;
        let token = parse_qr_token(qr_token)?;
        let parcel = self.parcel_of_qr(&token, point_id).await?.ok_or(AppError::InvalidPickupCode)?;
        let now = self.now();
        // The reported time, kept between the deposit and now (a locker clock can drift).
        let at = at.map_or(now, |at| at.min(now).max(parcel.deposited_at.unwrap_or(at)));
        self.collect_at(caller, parcel, at, false, Some("offline_qr".to_owned())).await
    }
}

/// What a device message says: which locker, since when, and now.
fn device_payload(point_id: PointId, since: Timestamp, now: Timestamp) -> serde_json::Value {
    serde_json::json!({
        "point_id": point_id.to_string(),
        "since": since.to_rfc3339(),
        "at": now.to_rfc3339(),
    })
}
