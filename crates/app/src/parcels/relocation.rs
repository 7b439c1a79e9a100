//! Overflow (domain.md, InPost's rule): a parcel whose chosen point has no room goes to a nearby point
//! of the same network for one business day, with the same code, then on to the chosen point.

use relais_domain::compartment::{NoFit, any_compartment_fits};
use relais_domain::ids::{ParcelId, PointId};
use relais_domain::parcel::Parcel;
use relais_domain::value::ParseError;
use relais_registry::index::Filter;

use crate::App;
use crate::auth::{Caller, Permission};
use crate::error::AppError;
use crate::points::search::{Near, PointSearch};

/// A parcel that finds no room is proposed a point this close (domain.md, overflow).
pub const RELOCATION_RADIUS_M: f64 = 2_000.0;
/// Points of the search the proposal looks at (the nearest with room wins).
const RELOCATION_CANDIDATES: u32 = 5;

impl App {
    /// Overflow: a parcel whose chosen point had no room (`deposit_failed`) goes to `to`, a point of the
    /// same network within `RELOCATION_RADIUS_M` that takes it; the courier deposits it there with the
    /// same code, it waits one business day, then goes on to the chosen point (taken out like an
    /// expired parcel, `in_transit` to the chosen point again).
    pub async fn relocate_parcel(&self, caller: &Caller, parcel_id: ParcelId, to: PointId) -> Result<Parcel, AppError> {
        caller.require(Permission::HandleParcel)?;
        self.run(|| async {
            let mut tx = self.tx();
            let parcel = self.load_visible_parcel(caller, parcel_id).await?;
            let chosen = self.load_point(parcel.relocated_from.unwrap_or(parcel.point_id)).await?;
            let target = self.store.point(to).await?;
            let target =
                target.filter(|t| t.network_id == parcel.network_id).ok_or_else(|| AppError::not_found("point", to))?;
            let distance = chosen.coordinates.distance_m(target.coordinates);
            if distance > RELOCATION_RADIUS_M {
                let problem = format!(
                    "is {distance:.0} m from the chosen point; an overflow point is within {RELOCATION_RADIUS_M:.0} m"
                );
                return Err(ParseError::new("point_id", problem).into());
            }
            if !target.accepts_parcels() {
                return Err(AppError::NoFittingCompartment(NoFit::PointUnavailable).into());
            }
            if target.kind.has_compartments() {
                let compartments = self.store.compartments(target.id).await?;
                any_compartment_fits(&compartments, parcel.dimensions, parcel.weight)
                    .map_err(AppError::NoFittingCompartment)?;
            } else if let Some(refusal) = target.shelf_refusal(parcel.dimensions, parcel.weight) {
                return Err(AppError::NoFittingCompartment(refusal).into());
            }
            let relocated = parcel.relocate(target.id, caller.actor(), tx.now)?;
            let parcel = tx.transition(relocated).await?;
            Ok(tx.done(parcel))
        })
        .await
    }

    /// The points a parcel that found no room could go to now: of its network, within
    /// `RELOCATION_RADIUS_M` of its chosen point, taking it, with room; the nearest first (the
    /// console's relocation form).
    pub fn relocation_candidates(&self, parcel: &Parcel) -> Vec<std::sync::Arc<relais_domain::point::PickupPoint>> {
        self.points_with_room_near(parcel, parcel.relocated_from.unwrap_or(parcel.point_id))
    }

    /// A proposal for a parcel that found no room: the nearest point of the same network within
    /// `RELOCATION_RADIUS_M` that takes it and has room now.
    pub(crate) fn relocation_for(&self, parcel: &Parcel, from: PointId) -> Option<PointId> {
        self.points_with_room_near(parcel, from).first().map(|p| p.id)
    }

    fn points_with_room_near(
        &self,
        parcel: &Parcel,
        from: PointId,
    ) -> Vec<std::sync::Arc<relais_domain::point::PickupPoint>> {
        let Some(origin) = self.registry.index().point(from) else { return Vec::new() };
        let search = PointSearch {
            near: Some(Near::Position(origin.coordinates)),
            radius_m: Some(RELOCATION_RADIUS_M),
            limit: Some(RELOCATION_CANDIDATES),
            filter: Filter {
                networks: vec![parcel.network_id],
                parcel: Some((parcel.dimensions, parcel.weight)),
                free_capacity: true,
                ..Filter::default()
            },
        };
        let Ok(result) = self.search_points(&Caller::system(), &search) else { return Vec::new() };
        result.hits.into_iter().map(|h| h.point).filter(|p| p.id != from && p.id != parcel.point_id).collect()
    }
}
