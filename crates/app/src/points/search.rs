//! Point search on the live index: the nearest points to a position, a postcode or a city that suit a
//! parcel (kind, network, services, size and weight, open on the arrival day, room now), the check of
//! a chosen point with its fallbacks, and the same shop in other networks.

use relais_domain::Timestamp;
use relais_domain::ids::PointId;
use relais_domain::value::{Coordinates, ParseError};
use relais_registry::gazetteer::{Gazetteer, GeocodeError};
use relais_registry::index::{Filter, Hit, Refusal};

use crate::App;
use crate::auth::{Caller, Permission};
use crate::error::AppError;

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

/// Moves `point` to the head of the result if it is among the hits (a customer's last point, which
/// they are likely to choose again); whether it was.
pub fn put_first(result: &mut SearchResult, point: relais_domain::ids::PointId) -> bool {
    match result.hits.iter().position(|h| h.point.id == point) {
        Some(at) => {
            let hit = result.hits.remove(at);
            result.hits.insert(0, hit);
            true
        }
        None => false,
    }
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

impl App {
    /// The nearest points that suit the search, nearest first.
    pub fn search_points(&self, caller: &Caller, search: &PointSearch) -> Result<SearchResult, AppError> {
        caller.require(Permission::ReadNetwork)?;
        let near = search
            .near
            .as_ref()
            .ok_or_else(|| ParseError::new("near", "give exactly one of lat and lon, postcode, or city"))?;
        let (origin, origin_label) = locate(near)?;
        let radius_m = search_radius(search.radius_m)?;
        let limit = search_limit(search.limit)?;
        check_filter(&search.filter, self.now())?;
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
        // A check answers with at most a few fallbacks; the limit is checked as a search's would be.
        search_limit(search.limit)?;
        check_filter(&search.filter, self.now())?;
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

fn search_limit(limit: Option<u32>) -> Result<u32, AppError> {
    match limit {
        None => Ok(LIMIT_DEFAULT),
        Some(n) if (1..=LIMIT_MAX).contains(&n) => Ok(n),
        Some(_) => Err(ParseError::new("limit", format!("must be between 1 and {LIMIT_MAX}")).into()),
    }
}

/// The filter's own bounds. An arrival day before today everywhere on Earth (the earliest local date,
/// UTC-12) is a mistake: judged on past opening hours, the search would promise nothing true.
fn check_filter(filter: &Filter, now: Timestamp) -> Result<(), AppError> {
    if filter.open_share_min.is_some_and(|share| !(0.0..=1.0).contains(&share)) {
        return Err(ParseError::new("open_share_min", "must be between 0 and 1").into());
    }
    let earliest = (now - chrono::Duration::hours(12)).date_naive();
    if let Some(arrival) = filter.arrival.filter(|day| *day < earliest) {
        return Err(ParseError::new("arrival", format!("{arrival} is in the past; give today or a later day")).into());
    }
    Ok(())
}

/// Geocoding refusals keep their own message.
impl From<GeocodeError> for AppError {
    fn from(error: GeocodeError) -> Self {
        AppError::PlaceNotFound(error)
    }
}
