//! The locker at work: courier codes and courier sessions ([`sessions`]), the doors relais orders open
//! and what the locker reports back ([`doors`]), the device's heartbeat and offline collections
//! ([`devices`]). Operator door actions are in `crate::operator`, proofs of deposit in
//! `crate::receipts`.
//!
//! The rule that ties it together: a parcel is deposited when the locker reports its door **closed**,
//! not when the courier scans it. The scan only holds a compartment and queues an `open_door` command.
//! A door that fails takes its compartment out of service, flags the parcel behind it, and a parcel
//! waiting for that door is given another one in the same commit.

pub mod devices;
pub mod doors;
pub mod enrolment;
pub mod sessions;

use chrono::{Duration, NaiveDate};
use relais_domain::Timestamp;
use relais_domain::dropoff::DropOffSession;
use relais_domain::ids::{ApiKeyId, PointId};
use relais_domain::parcel::{Actor, ActorKind};
use relais_domain::point::PickupPoint;
use relais_domain::value::ParseError;

use crate::App;
use crate::auth::{Caller, Role};
use crate::error::AppError;

pub use devices::{DEVICE_SILENCE_SECONDS, DoorState, HEARTBEAT_DOORS_MAX, Heartbeat, HeartbeatReply};
pub use doors::DoorOutcome;
pub use sessions::{DOOR_HOLD_MINUTES, SHARE_LOOKUP_MAX, SessionScan, SessionView};

/// Digits of a courier code.
pub const COURIER_CODE_DIGITS: usize = 8;

/// A carrier's courier code at a locker for one local day.
#[derive(Debug, Clone)]
pub struct CourierCode {
    pub point_id: PointId,
    pub carrier_key_id: ApiKeyId,
    pub code: String,
    /// The locker's local day the code is valid on.
    pub day: NaiveDate,
    /// Local midnight at the end of that day, in UTC.
    pub valid_until: Timestamp,
}

impl App {
    /// Today's courier code of a carrier at a locker. A carrier gets its own; an operator names the
    /// carrier key.
    pub async fn courier_code(
        &self,
        caller: &Caller,
        point_id: PointId,
        carrier_key_id: Option<ApiKeyId>,
    ) -> Result<CourierCode, AppError> {
        let carrier_key_id = match (caller.role, caller.key_id, carrier_key_id) {
            (Role::Carrier, Some(own), None) => own,
            (Role::Carrier, Some(own), Some(asked)) if own == asked => own,
            (Role::Operator, _, Some(asked)) => asked,
            (Role::Operator, _, None) => {
                return Err(ParseError::new("carrier_key_id", "is required when an operator asks").into());
            }
            (role, _, _) => return Err(AppError::Forbidden { role }),
        };
        let point = self.load_locker(point_id).await?;
        if caller.role == Role::Carrier && !caller.serves(point.network_id) {
            return Err(AppError::Forbidden { role: caller.role });
        }
        let (day, valid_until) = local_day(&point, self.now())?;
        Ok(CourierCode {
            point_id,
            carrier_key_id,
            code: self.secrets.courier_code(carrier_key_id, point_id, day),
            day,
            valid_until,
        })
    }
}

/// The carrier whose code opened the session: the actor of what happens through it.
pub(crate) fn carrier_actor(session: &DropOffSession) -> Actor {
    Actor::new(ActorKind::Carrier, session.carrier_key_id.to_string())
}

/// The point's local day at `now`, and the UTC instant that day ends: courier codes turn over at the
/// locker's midnight, not at UTC's.
pub fn local_day(point: &PickupPoint, now: Timestamp) -> Result<(NaiveDate, Timestamp), AppError> {
    use chrono::TimeZone;
    let tz = relais_hours::parse_timezone(&point.timezone)
        .map_err(|_| ParseError::new("timezone", "the point's timezone is not known"))?;
    let day = now.with_timezone(&tz).date_naive();
    let next = day.succ_opt().unwrap_or(day).and_hms_opt(0, 0, 0).unwrap_or_default();
    // At a daylight-saving gap midnight may not exist: the first instant after it then.
    let end = tz
        .from_local_datetime(&next)
        .earliest()
        .or_else(|| tz.from_local_datetime(&(next + Duration::hours(1))).earliest())
        .map_or(now + Duration::days(1), |t| t.with_timezone(&chrono::Utc));
    Ok((day, end))
}
