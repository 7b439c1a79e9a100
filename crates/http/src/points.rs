//! The registry's routes: point search and the check of a chosen point (with fallbacks), the same shop
//! in other networks, a point's history, and imports of operators' files.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, NaiveDate, Utc};
use relais_app::points::{ImportLimits, ImportOutcome, ImportRequest, Near, PointSearch, SearchResult};
use relais_app::ports::{ImportRecord, Page as PageRequest, PointChange};
use relais_domain::Timestamp;
use relais_domain::ids::Id;
use relais_domain::point::{PointKind, Services};
use relais_domain::value::{Coordinates, Dimensions, ParseError, SizeClass, Weight};
use relais_registry::diff::ChangeKind;
use relais_registry::formats::{Encoding, Format};
use relais_registry::index::{Filter, Hit, capacity_level};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::HttpState;
use crate::error::{ApiError, ErrorEnvelope};
use crate::extract::{Auth, QueryParams, path_id};
use crate::names;
use crate::wire::{Page, PageQuery, page};

type Result<T> = std::result::Result<T, ApiError>;

/// Where to search from (exactly one of a position, a postcode or a city) and what the parcel needs.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SearchQuery {
    /// Latitude of the origin, with `lon`.
    #[param(minimum = -90.0, maximum = 90.0, example = 45.76)]
    pub lat: Option<f64>,
    /// Longitude of the origin, with `lat`.
    #[param(minimum = -180.0, maximum = 180.0, example = 4.84)]
    pub lon: Option<f64>,
    /// Or a postcode, e.g. `69003`.
    #[param(max_length = 16)]
    pub postcode: Option<String>,
    /// Or a city name, e.g. `Villeurbanne`.
    #[param(max_length = 120)]
    pub city: Option<String>,
    /// ISO 3166 country of the postcode or city (default FR).
    #[param(pattern = "^[A-Za-z]{2}$")]
    pub country: Option<String>,
    /// 1 to 100,000 metres, default 10,000.
    #[param(minimum = 1.0, maximum = 100000.0)]
    pub radius_m: Option<f64>,
    /// 1 to 50, default 10.
    #[param(minimum = 1, maximum = 50)]
    pub limit: Option<u32>,
    /// Comma-separated kinds among `locker,counter,hub,store,post_office`.
    #[param(example = "locker,counter")]
    pub kind: Option<String>,
    /// Comma-separated network ids.
    pub network_id: Option<String>,
    /// Comma-separated services the point must offer, among `collect,send,return,cash_on_delivery`.
    #[param(example = "collect")]
    pub services: Option<String>,
    /// The parcel's outer length (with its width, height and weight): only points that take it.
    #[param(minimum = 1, maximum = 3000)]
    pub length_mm: Option<i64>,
    #[param(minimum = 1, maximum = 3000)]
    pub width_mm: Option<i64>,
    #[param(minimum = 1, maximum = 3000)]
    pub height_mm: Option<i64>,
    #[param(minimum = 1, maximum = 70000)]
    pub weight_g: Option<i64>,
    /// Local day the parcel is expected at the point, `YYYY-MM-DD`, not in the past: the point must be
    /// open that day.
    #[param(format = Date)]
    pub arrival: Option<String>,
    /// Share of the hold window (from the arrival day) the point must be open, 0 to 1; default 0.5 with
    /// `arrival`.
    #[param(minimum = 0.0, maximum = 1.0)]
    pub open_share_min: Option<f64>,
    /// Only points with room for the parcel now.
    pub free_capacity: Option<bool>,
    /// A merchant's key only: its customer's e-mail address or phone number; the point they used last
    /// comes first (`last_used`) when it suits the search. Never on the public widget.
    #[param(max_length = 254)]
    pub customer_email: Option<String>,
    #[param(max_length = 20)]
    pub customer_phone: Option<String>,
    /// The point the customer used last, as the merchant's `GET /v1/customers/last-point` gave it (its
    /// checkout passes it to the widget as `data-last_point_id`): put first and marked `last_used` when
    /// it suits the search. A point's id is no secret; which one a customer used stays the merchant's.
    pub last_point_id: Option<Uuid>,
}

impl SearchQuery {
    fn into_search(self) -> Result<PointSearch> {
        // Which point someone used is a merchant's to ask, on its own search (which takes them out
        // first): a public page, or a check, could probe it.
        if self.customer_email.is_some() || self.customer_phone.is_some() {
            return Err(ApiError::validation(
                "customer_email",
                "is for a merchant's search (/v1/points/search), not the widget or a check",
            ));
        }
        if let Some(country) =
            self.country.as_deref().filter(|c| c.len() != 2 || !c.chars().all(|c| c.is_ascii_alphabetic()))
        {
            let shown: String = country.chars().take(20).collect();
            return Err(
                ParseError::new("country", format!("{shown:?} is not a two-letter ISO 3166 code such as FR")).into()
            );
        }
        let country = self.country.clone().unwrap_or_else(|| "FR".into());
        let near = match (self.lat, self.lon, self.postcode.as_deref(), self.city.as_deref()) {
            (None, None, None, None) => None,
            (Some(lat), Some(lon), None, None) => Some(Near::Position(Coordinates::parse(lat, lon)?)),
            (None, None, Some(postcode), None) => Some(Near::Postcode { country, postcode: postcode.to_owned() }),
            (None, None, None, Some(city)) => Some(Near::City { country, name: city.to_owned() }),
            _ => {
                return Err(ParseError::new("near", "give exactly one of lat and lon, postcode, or city").into());
            }
        };
        let kinds = split(self.kind.as_deref()).map(PointKind::parse).collect::<std::result::Result<Vec<_>, _>>()?;
        let networks = split(self.network_id.as_deref())
            .map(|id| {
                path_id("network", id).map_err(|_| ParseError::new("network_id", format!("{id:?} is not a UUID")))
            })
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let parcel = match (self.length_mm, self.width_mm, self.height_mm, self.weight_g) {
            (None, None, None, None) => None,
            (Some(l), Some(w), Some(h), Some(g)) => Some((Dimensions::from_mm(l, w, h)?, Weight::from_grams(g)?)),
            _ => {
                return Err(
                    ParseError::new("parcel", "give length_mm, width_mm, height_mm and weight_g together").into()
                );
            }
        };
        let arrival = self
            .arrival
            .as_deref()
            .map(|d| {
                NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d")
                    .map_err(|_| ParseError::new("arrival", format!("{d:?} is not a date (YYYY-MM-DD)")))
            })
            .transpose()?;
        Ok(PointSearch {
            near,
            radius_m: self.radius_m,
            limit: self.limit,
            filter: Filter {
                kinds,
                networks,
                services: Services::parse(self.services.as_deref().unwrap_or(""))?,
                parcel,
                arrival,
                open_share_min: self.open_share_min,
                free_capacity: self.free_capacity.unwrap_or(false),
            },
        })
    }
}

fn split(list: Option<&str>) -> impl Iterator<Item = &str> {
    list.unwrap_or("").split(',').map(str::trim).filter(|s| !s.is_empty())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SearchView {
    pub origin: OriginView,
    pub results: Vec<PointHitView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OriginView {
    pub latitude: f64,
    pub longitude: f64,
    /// The postcode or city as found (`69003 LYON`).
    pub label: Option<String>,
}

/// A point in a search result.
#[derive(Debug, Serialize, ToSchema)]
pub struct PointHitView {
    /// The point the merchant's customer used last (a search with `customer_email` or
    /// `customer_phone`): put first.
    pub last_used: bool,
    pub id: Uuid,
    pub network_id: Uuid,
    pub external_id: String,
    pub kind: names::PointKind,
    pub name: String,
    pub address_line1: String,
    pub postcode: String,
    pub city: String,
    pub country: String,
    pub latitude: f64,
    pub longitude: f64,
    pub services: Vec<&'static str>,
    /// Great-circle distance from the search origin, in metres.
    pub distance_m: u32,
    pub today: TodayView,
    pub capacity: CapacityView,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TodayView {
    /// Open intervals of the point's local day, `HH:MM`.
    pub intervals: Vec<IntervalView>,
    /// `open`, `closed` or `unknown` (hours not known).
    pub state: &'static str,
    /// When the state changes next (opening if closed, closing if open).
    pub next_change: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IntervalView {
    pub from: String,
    pub to: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CapacityView {
    /// `plenty`, `few`, `full` or `unknown`.
    pub level: &'static str,
    /// Free places that fit the parcel (any free place without a parcel); absent when unknown.
    pub free: Option<u32>,
}

fn hit_view(hit: &Hit, filter: &Filter, now: Timestamp) -> PointHitView {
    let p = &hit.point;
    let today = relais_registry::today::today(p, now);
    let free = hit.free_places(filter.parcel);
    PointHitView {
        last_used: false,
        id: p.id.uuid(),
        network_id: p.network_id.uuid(),
        external_id: p.external_id.clone(),
        kind: p.kind.into(),
        name: p.name.clone(),
        address_line1: p.address.line1.clone(),
        postcode: p.address.postcode.clone(),
        city: p.address.city.clone(),
        country: p.address.country.clone(),
        latitude: p.coordinates.latitude(),
        longitude: p.coordinates.longitude(),
        services: p.services.names(),
        distance_m: hit.distance_m.round() as u32,
        today: TodayView {
            intervals: today.intervals.into_iter().map(|(from, to)| IntervalView { from, to }).collect(),
            state: today.state,
            next_change: today.next_change,
        },
        capacity: CapacityView { level: capacity_level(free), free },
    }
}

#[utoipa::path(get, path = "/v1/points/search", tag = "points", params(SearchQuery),
    security(("api_key" = ["operator", "merchant", "carrier", "locker_device"])),
    responses((status = 200, body = SearchView),
        (status = 403, body = ErrorEnvelope, description = "`forbidden`: `customer_email` or `customer_phone` with a key other than a merchant's."),
        (status = 422, body = ErrorEnvelope, description = "Or `place_not_found`: an unknown postcode or city (`details.reason`).")))]
/// Points near a position, a postcode or a city, nearest first, with today's hours and room: only those
/// that take the parcel, are open on its arrival day and long enough, of the kinds, networks and
/// services asked.
pub async fn search(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    QueryParams(mut query): QueryParams<SearchQuery>,
) -> Result<Json<SearchView>> {
    let (email, phone) = (query.customer_email.take(), query.customer_phone.take());
    if email.is_none() && phone.is_none() {
        return search_as(&state, &caller, query);
    }
    let search = query.into_search()?;
    let (result, last_first) =
        state.app.search_points_for_customer(&caller, &search, email.as_deref(), phone.as_deref()).await?;
    Ok(marked(view_of(&state, &search, result), last_first))
}

/// The view with its first point marked as the customer's last one.
fn marked(Json(mut view): Json<SearchView>, last_first: bool) -> Json<SearchView> {
    if let Some(first) = view.results.first_mut().filter(|_| last_first) {
        first.last_used = true;
    }
    Json(view)
}

/// The search behind `/v1/points/search` and the widget's public `/widget/points`.
pub(crate) fn search_as(
    state: &HttpState,
    caller: &relais_app::Caller,
    query: SearchQuery,
) -> Result<Json<SearchView>> {
    let last_point = query.last_point_id.map(Id::from_uuid);
    let search = query.into_search()?;
    let mut result = state.app.search_points(caller, &search)?;
    let last_first = last_point.is_some_and(|point| relais_app::points::search::put_first(&mut result, point));
    Ok(marked(view_of(state, &search, result), last_first))
}

fn view_of(state: &HttpState, search: &PointSearch, result: SearchResult) -> Json<SearchView> {
    let now = state.app.now();
    Json(SearchView {
        origin: OriginView {
            latitude: result.origin.latitude(),
            longitude: result.origin.longitude(),
            label: result.origin_label,
        },
        results: result.hits.iter().map(|h| hit_view(h, &search.filter, now)).collect(),
    })
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CheckView {
    /// Whether the point can take the parcel as asked.
    pub suits: bool,
    pub refusals: Vec<RefusalView>,
    pub point: PointHitView,
    /// When it does not suit: the nearest points that do, nearest first.
    pub fallbacks: Vec<PointHitView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RefusalView {
    /// `point_not_accepting`, `kind_not_wanted`, `network_not_wanted`, `service_missing`, `too_heavy`,
    /// `too_large`, `closed_on_arrival`, `open_too_little`, `full`, `too_far`.
    pub code: &'static str,
    pub message: String,
}

#[utoipa::path(get, path = "/v1/points/{id}/check", tag = "points",
    params(("id" = Uuid, Path, description = "The point chosen."), SearchQuery),
    security(("api_key" = ["operator", "merchant", "carrier", "locker_device"])),
    responses((status = 200, body = CheckView),
        (status = 422, body = ErrorEnvelope, description = "Or `place_not_found`: an unknown postcode or city.")))]
/// Whether a chosen point suits a parcel (the check before an order is paid), each reason it does not,
/// and the nearest points that do. The query is a search's: the parcel and its arrival; a position,
/// postcode or city is optional (then `too_far` is checked against the radius).
pub async fn check(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    QueryParams(query): QueryParams<SearchQuery>,
) -> Result<Json<CheckView>> {
    let point_id = path_id("point", &id)?;
    let search = query.into_search()?;
    let check = state.app.check_point(&caller, point_id, &search)?;
    let now = state.app.now();
    Ok(Json(CheckView {
        suits: check.refusals.is_empty(),
        refusals: check.refusals.iter().map(|r| RefusalView { code: r.code(), message: r.message() }).collect(),
        point: hit_view(&check.hit, &search.filter, now),
        fallbacks: check.fallbacks.iter().map(|h| hit_view(h, &search.filter, now)).collect(),
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SamePlaceView {
    /// Points of other networks within 30 m or at the same postcode and street address.
    pub points: Vec<PointHitView>,
}

#[utoipa::path(get, path = "/v1/points/{id}/same-place", tag = "points",
    params(("id" = Uuid, Path, description = "The point.")),
    security(("api_key" = ["operator", "merchant", "carrier", "locker_device"])),
    responses((status = 200, body = SamePlaceView)))]
/// The same shop in other networks: points within 30 m, or at the same postcode and street address.
pub async fn same_place(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<Json<SamePlaceView>> {
    let hits = state.app.same_place(&caller, path_id("point", &id)?)?;
    let now = state.app.now();
    Ok(Json(SamePlaceView { points: hits.iter().map(|h| hit_view(h, &Filter::default(), now)).collect() }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryView {
    pub changes: Vec<ChangeView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ChangeView {
    pub seq: i64,
    pub kind: names::ChangeKind,
    pub at: DateTime<Utc>,
    /// The import that made the change; absent for a change through the API.
    pub import_id: Option<Uuid>,
    pub fields: Vec<FieldChangeView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FieldChangeView {
    pub field: String,
    pub before: String,
    pub after: String,
}

impl From<&PointChange> for ChangeView {
    fn from(c: &PointChange) -> Self {
        ChangeView {
            seq: c.seq,
            kind: c.kind.into(),
            at: c.at,
            import_id: c.import_id.map(|i| i.uuid()),
            fields: c
                .fields
                .iter()
                .map(|(field, before, after)| FieldChangeView {
                    field: field.clone(),
                    before: before.clone(),
                    after: after.clone(),
                })
                .collect(),
        }
    }
}

#[utoipa::path(get, path = "/v1/points/{id}/history", tag = "points",
    params(("id" = Uuid, Path, description = "The point.")),
    security(("api_key" = ["operator", "locker_device"])),
    responses((status = 200, body = HistoryView)))]
/// A point's history: every change an import or the API made to it, oldest first, field by field.
pub async fn history(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<Json<HistoryView>> {
    let changes = state.app.point_history(&caller, path_id("point", &id)?).await?;
    Ok(Json(HistoryView { changes: changes.iter().map(ChangeView::from).collect() }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ImportQuery {
    /// The file's format (docs/import-formats.md).
    #[param(schema_with = names::ImportFormat::doc)]
    pub format: String,
    /// `utf-8` (default) or `iso-8859-1`.
    #[param(schema_with = names::Encoding::doc)]
    pub encoding: Option<String>,
    /// The file's name, for the history.
    #[param(max_length = 300)]
    pub source: Option<String>,
    /// Report the diff without changing anything.
    pub dry_run: Option<bool>,
    /// Largest share of bad rows accepted, 0 to 1 (default 0.05).
    #[param(minimum = 0.0, maximum = 1.0)]
    pub error_share_max: Option<f64>,
    /// Largest share of the network's points the file may remove, 0 to 1 (default 0.2).
    #[param(minimum = 0.0, maximum = 1.0)]
    pub removal_share_max: Option<f64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ImportView {
    pub id: Uuid,
    pub network_id: Uuid,
    pub format: String,
    pub source: String,
    pub at: DateTime<Utc>,
    pub status: names::ImportStatus,
    pub rows_total: u32,
    pub rows_refused: u32,
    /// Points per change: added, changed, moved, closed, reopened, removed.
    pub changes: std::collections::BTreeMap<&'static str, u32>,
    pub unchanged: u32,
    /// The refusal reason first (if any), then bad rows as `line N (id): reason`.
    pub problems: Vec<String>,
}

impl From<&ImportRecord> for ImportView {
    fn from(r: &ImportRecord) -> Self {
        ImportView {
            id: r.id.uuid(),
            network_id: r.network_id.uuid(),
            format: r.format.clone(),
            source: r.source.clone(),
            at: r.at,
            status: r.status.into(),
            rows_total: r.rows_total,
            rows_refused: r.rows_refused,
            changes: ChangeKind::ALL.iter().zip(r.changes).map(|(k, n)| (k.as_str(), n)).collect(),
            unchanged: r.unchanged,
            problems: r.problems.lines().filter(|l| !l.is_empty()).map(str::to_owned).collect(),
        }
    }
}

/// An operator's point file: bytes, read as the `format` parameter says.
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct PointFile(pub Vec<u8>);

#[utoipa::path(post, path = "/v1/networks/{id}/imports", tag = "points",
    params(("id" = Uuid, Path, description = "The network."), ImportQuery),
    request_body(content = PointFile, content_type = "application/octet-stream",
        description = "The operator's file, as is (up to `import_body_bytes_max`); its `format` says how to read it, whatever the content type."),
    security(("api_key" = ["operator"])),
    responses((status = 201, body = ImportView), (status = 200, body = ImportView, description = "A dry run: what the file would change."),
        (status = 422, body = ErrorEnvelope, description = "Or `import_refused`: the whole file refused, nothing changed; the report in `details`.")))]
/// Imports a point file (the request body, as is) into a network. A refused file answers 422
/// `import_refused` with the same report in `details`.
pub async fn import(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    QueryParams(query): QueryParams<ImportQuery>,
    body: Bytes,
) -> Result<(StatusCode, Json<ImportView>)> {
    let network_id = path_id("network", &id)?;
    let format = Format::parse(&query.format).map_err(|m| ParseError::new("format", m))?;
    let encoding =
        Encoding::parse(query.encoding.as_deref().unwrap_or("utf-8")).map_err(|m| ParseError::new("encoding", m))?;
    let defaults = ImportLimits::default();
    let limits = ImportLimits {
        error_share_max: query.error_share_max.unwrap_or(defaults.error_share_max),
        removal_share_max: query.removal_share_max.unwrap_or(defaults.removal_share_max),
        ..defaults
    };
    let dry_run = query.dry_run.unwrap_or(false);
    let request = ImportRequest {
        network_id,
        format,
        encoding,
        source: query.source.unwrap_or_else(|| "api upload".into()),
        bytes: body.to_vec(),
        dry_run,
        limits,
        progress: None,
    };
    let outcome: ImportOutcome = state.app.import_points(&caller, request).await?;
    let view = ImportView::from(&outcome.record);
    match outcome.refusal {
        Some(reason) => Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "import_refused", reason)
            .with_details(serde_json::to_value(&view).unwrap_or_else(|_| json!({})))),
        None if dry_run => Ok((StatusCode::OK, Json(view))),
        None => Ok((StatusCode::CREATED, Json(view))),
    }
}

#[utoipa::path(get, path = "/v1/networks/{id}/imports", tag = "points",
    params(("id" = Uuid, Path, description = "The network."), PageQuery),
    security(("api_key" = ["operator"])), responses((status = 200, body = Page<ImportView>)))]
/// A network's imports, oldest first, with their reports.
pub async fn list_imports(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    QueryParams(query): QueryParams<PageQuery>,
) -> Result<Json<Page<ImportView>>> {
    let limit = state.app.page_limit(query.limit)?;
    let imports = state
        .app
        .imports(&caller, path_id("network", &id)?, PageRequest { after: query.after.map(Id::from_uuid), limit })
        .await?;
    Ok(Json(page(imports.iter().map(ImportView::from).collect(), limit, |i| i.id)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OccupancyView {
    pub point_id: Uuid,
    /// Occupied compartments / compartments.
    pub rate: f64,
    pub threshold: f64,
    /// Per size class A, B, C, D.
    pub classes: Vec<ClassOccupancyView>,
    /// When the alert was raised; absent when the point is under the threshold.
    pub alert_raised_at: Option<DateTime<Utc>>,
    pub rotation: RotationView,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ClassOccupancyView {
    pub size: names::SizeClass,
    pub total: u32,
    pub occupied: u32,
    pub reserved: u32,
    pub available: u32,
    pub rate: f64,
}

/// What to do about a full point: expired parcels to take out first, and lockers nearby with room.
#[derive(Debug, Serialize, ToSchema)]
pub struct RotationView {
    pub expired_parcels: Vec<ExpiredParcelView>,
    pub nearby_with_room: Vec<PointHitView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ExpiredParcelView {
    pub id: Uuid,
    pub parcel_number: String,
    pub compartment_id: Option<Uuid>,
    pub pickup_deadline: Option<DateTime<Utc>>,
}

#[utoipa::path(get, path = "/v1/points/{id}/occupancy", tag = "points",
    params(("id" = Uuid, Path, description = "The point.")),
    security(("api_key" = ["operator", "carrier", "locker_device"])),
    responses((status = 200, body = OccupancyView)))]
/// How full a locker is, per size class, its alert, and what to do about it: expired parcels to take out
/// first and nearby lockers with room. Carriers see it for the networks they serve.
pub async fn occupancy(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<Json<OccupancyView>> {
    let report = state.app.occupancy(&caller, path_id("point", &id)?).await?;
    let o = report.occupancy;
    let now = state.app.now();
    Ok(Json(OccupancyView {
        point_id: report.point.id.uuid(),
        rate: o.rate(),
        threshold: report.threshold,
        classes: SizeClass::ALL
            .iter()
            .map(|class| {
                let i = *class as usize;
                ClassOccupancyView {
                    size: (*class).into(),
                    total: o.total[i],
                    occupied: o.occupied[i],
                    reserved: o.reserved[i],
                    available: o.available[i],
                    rate: o.class_rate(*class),
                }
            })
            .collect(),
        alert_raised_at: report.alert.map(|a| a.raised_at),
        rotation: RotationView {
            expired_parcels: report
                .expired
                .iter()
                .map(|p| ExpiredParcelView {
                    id: p.id.uuid(),
                    parcel_number: p.number.as_str().to_owned(),
                    compartment_id: p.compartment_id.map(|c| c.uuid()),
                    pickup_deadline: p.pickup_deadline,
                })
                .collect(),
            nearby_with_room: report.nearby_with_room.iter().map(|h| hit_view(h, &Filter::default(), now)).collect(),
        },
    }))
}
