//! Occupancy of lockers and hubs (issue 4): the live figure per size class, the alert raised through the
//! outbox when a point goes above the threshold (and cleared when it is back under it), and a rotation
//! suggestion: which expired parcels to take out first and which nearby lockers of the network have room.
//!
//! The alert is decided by the capacity refresh (`App::refresh_capacities`), which recounts every point
//! a commit touched within a second: the parcel commands themselves stay as they are.

use relais_domain::Timestamp;
use relais_domain::ids::PointId;
use relais_domain::occupancy::{AlertChange, Occupancy, alert_change};
use relais_domain::parcel::{Parcel, ParcelState};
use relais_domain::point::{PickupPoint, PointKind};
use relais_registry::index::{Filter, Hit};

use crate::App;
use crate::auth::{Caller, Permission};
use crate::error::AppError;
use crate::ports::{CompartmentCounts, OccupancyAlert, Page, ParcelFilter, Write};

/// How far the rotation looks for lockers with room.
const ROTATION_RADIUS_M: f64 = 5_000.0;
const ROTATION_LOCKERS: usize = 5;
/// Expired parcels listed for removal, oldest deadline first.
const ROTATION_PARCELS_MAX: u32 = 100;

pub struct OccupancyReport {
    pub point: PickupPoint,
    pub occupancy: Occupancy,
    pub threshold: f64,
    pub alert: Option<OccupancyAlert>,
    /// Expired parcels still in the point, oldest deadline first: the first to take out.
    pub expired: Vec<Parcel>,
    /// Lockers and hubs of the same network nearby with a free compartment, nearest first.
    pub nearby_with_room: Vec<Hit>,
}

pub fn occupancy_of(counts: Option<&CompartmentCounts>) -> Occupancy {
    match counts {
        Some(c) => Occupancy { total: c.total, occupied: c.occupied, reserved: c.reserved, available: c.free },
        None => Occupancy::default(),
    }
}

impl App {
    /// A point's occupancy, its alert and the rotation suggestion: operators, the point's own device, and
    /// the carriers serving its network (who plan the rotation).
    pub async fn occupancy(&self, caller: &Caller, point_id: PointId) -> Result<OccupancyReport, AppError> {
        let point = self.load_point(point_id).await?;
        if !caller.serves(point.network_id) {
            caller.require(Permission::ReadPointOperation(point_id))?;
        }
        let counts = self.store.compartment_counts(Some(point_id), self.now()).await?;
        let alert = self.store.occupancy_alert(point_id).await?;
        let filter =
            ParcelFilter { point_id: Some(point_id), state: Some(ParcelState::Expired), ..ParcelFilter::default() };
        let mut expired = self.store.parcels(&filter, Page { after: None, limit: ROTATION_PARCELS_MAX }).await?;
        // A carrier sees only the parcels it handles.
        expired.retain(|p| caller.can_see(p));
        expired.sort_by_key(|p| p.pickup_deadline);
        let nearby_with_room = self.registry.index().alternatives(
            point_id,
            ROTATION_RADIUS_M,
            ROTATION_LOCKERS,
            &Filter {
                kinds: vec![PointKind::Locker, PointKind::Hub],
                networks: vec![point.network_id],
                free_capacity: true,
                ..Filter::default()
            },
        );
        Ok(OccupancyReport {
            point,
            occupancy: occupancy_of(counts.first()),
            threshold: self.limits.occupancy_alert_threshold,
            alert,
            expired,
            nearby_with_room,
        })
    }

    /// Raises or clears a point's occupancy alert after its compartments changed, with an outbox
    /// message (`point.occupancy_high`, `point.occupancy_normal`) in the same commit.
    pub(crate) async fn update_occupancy_alert(
        &self,
        point_id: PointId,
        occupancy: &Occupancy,
        now: Timestamp,
    ) -> Result<(), AppError> {
        let threshold = self.limits.occupancy_alert_threshold;
        self.run(|| async {
            let mut tx = self.tx();
            // Another process raised it first: read again, and there is nothing left to raise.
            tx.retry_on_duplicate("occupancy_alert");
            let raised = self.store.occupancy_alert(point_id).await?.is_some();
            let Some(change) = alert_change(occupancy.rate(), raised, threshold) else { return Ok(tx.done(())) };
            let topic = match change {
                AlertChange::Raise => {
                    let alert = OccupancyAlert { point_id, raised_at: now, rate: occupancy.rate() };
                    tx.write(Write::RaiseOccupancyAlert(alert));
                    "point.occupancy_high"
                }
                AlertChange::Clear => {
                    tx.write(Write::ClearOccupancyAlert(point_id));
                    "point.occupancy_normal"
                }
            };
            let payload = serde_json::json!({
                "point_id": point_id.to_string(),
                "rate": occupancy.rate(),
                "threshold": threshold,
                "occupied": occupancy.occupied,
                "total": occupancy.total,
                "at": now.to_rfc3339(),
            });
            tx.message(topic, None, payload);
            Ok(tx.done(()))
        })
        .await
    }
}
