//! `GET /v1/kpis`: the KPIs of a period as JSON, or as CSV (`format=csv`) for a spreadsheet;
//! `GET /v1/kpis/nps`: the satisfaction survey's Net Promoter Score.

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use relais_app::kpis::{KpiQuery, NpsQuery};
use relais_domain::kpi::KpiFigures;
use relais_domain::survey::Nps;
use relais_domain::value::ParseError;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::HttpState;
use crate::error::{ApiError, ErrorEnvelope};
use crate::extract::{Auth, QueryParams};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct KpiParams {
    /// First UTC day of deposit, `YYYY-MM-DD`.
    #[param(format = Date, example = "2026-11-01")]
    pub from: String,
    /// Last UTC day of deposit, included; a period covers at most 366 days.
    #[param(format = Date, example = "2026-11-30")]
    pub to: String,
    pub point_id: Option<Uuid>,
    pub network_id: Option<Uuid>,
    /// `json` (default) or `csv`.
    #[param(value_type = Option<KpiFormat>, inline)]
    pub format: Option<String>,
}

/// How the figures are wanted (documents the `format` parameter, which the handler reads itself to name
/// the field at fault).
#[derive(Debug, Clone, Copy, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum KpiFormat {
    Json,
    Csv,
}

/// Counts and rates of a cohort; a rate is absent when its denominator is zero.
#[derive(Debug, Serialize, ToSchema)]
pub struct KpiView {
    pub deposited: u32,
    pub deposit_failed: u32,
    pub collected_in_window: u32,
    pub collected_within_7_days: u32,
    pub removed: u32,
    pub lost: u32,
    pub pickup_rate_window: Option<f64>,
    pub pickup_rate_7_days: Option<f64>,
    pub mean_occupancy_days: Option<f64>,
    pub deposit_error_rate: Option<f64>,
    /// Door faults at the point that day.
    pub hardware_incidents: u32,
    pub hardware_incidents_per_1000_deposits: Option<f64>,
    /// Deposits through a drop-off session (their handling time is known).
    pub deposits_handled: u32,
    /// From the courier's scan to the door reported closed.
    pub mean_deposit_handling_seconds: Option<f64>,
    /// Parcels of the cohort taken back as returns.
    pub returned: u32,
    /// Time-weighted occupancy of the places (doors or shelf slots): parcel-time over place-time.
    pub occupancy: Option<f64>,
    /// What the day cost under the cost model (`[kpi.cost]`), in cents: the points' fixed cost a day
    /// and the variable costs per deposit, return and incident.
    pub cost_cents: u64,
    /// Cost over parcels deposited, in cents.
    pub cost_per_parcel_cents: Option<f64>,
}

impl From<&KpiFigures> for KpiView {
    fn from(f: &KpiFigures) -> Self {
        KpiView {
            deposited: f.deposited,
            deposit_failed: f.deposit_failed,
            collected_in_window: f.collected_in_window,
            collected_within_7_days: f.collected_within_7_days,
            removed: f.removed,
            lost: f.lost,
            pickup_rate_window: f.pickup_rate_window(),
            pickup_rate_7_days: f.pickup_rate_7_days(),
            mean_occupancy_days: f.mean_occupancy_days(),
            deposit_error_rate: f.deposit_error_rate(),
            hardware_incidents: f.hardware_incidents,
            hardware_incidents_per_1000_deposits: f.hardware_incidents_per_1000_deposits(),
            deposits_handled: f.handled,
            mean_deposit_handling_seconds: f.mean_deposit_handling_seconds(),
            returned: f.returned,
            occupancy: f.occupancy(),
            cost_cents: f.cost_cents,
            cost_per_parcel_cents: f.cost_per_parcel_cents(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct KpiDayView {
    pub point_id: Uuid,
    pub day: NaiveDate,
    #[serde(flatten)]
    pub figures: KpiView,
}

/// The satisfaction survey's answers: the Net Promoter Score, promoters (9-10) minus detractors (0-6)
/// in percent of the answers, from -100 to 100.
#[derive(Debug, Serialize, ToSchema)]
pub struct NpsView {
    pub answers: u64,
    pub promoters: u64,
    pub passives: u64,
    pub detractors: u64,
    /// Absent without answers.
    pub nps: Option<f64>,
}

impl From<Nps> for NpsView {
    fn from(n: Nps) -> Self {
        NpsView {
            answers: n.answers(),
            promoters: n.promoters,
            passives: n.passives,
            detractors: n.detractors,
            nps: n.score(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct KpiReportView {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub total: KpiView,
    /// The survey's answers given in the period (at the point, or in the network).
    pub satisfaction: NpsView,
    /// Per point and UTC day of deposit.
    pub days: Vec<KpiDayView>,
    /// Per UTC day over the whole scope (the point, the network, or everything), every day of the
    /// period: each point's places and fixed cost count whether it had parcels or not.
    pub series: Vec<KpiSeriesDay>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct KpiSeriesDay {
    pub day: NaiveDate,
    #[serde(flatten)]
    pub figures: KpiView,
}

/// The CSV header, one row per point and day (the CLI writes the same).
pub const CSV_HEADER: &str = "point_id,day,deposited,deposit_failed,collected_in_window,collected_within_7_days,removed,lost,pickup_rate_window,pickup_rate_7_days,mean_occupancy_days,deposit_error_rate,hardware_incidents,hardware_incidents_per_1000_deposits,deposits_handled,mean_deposit_handling_seconds,returned,occupancy,cost_cents,cost_per_parcel_cents";

pub fn csv_line(point: &str, day: &str, f: &KpiFigures) -> String {
    let rate = |r: Option<f64>| r.map(|r| format!("{r:.4}")).unwrap_or_default();
    format!(
        "{point},{day},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
        f.deposited,
        f.deposit_failed,
        f.collected_in_window,
        f.collected_within_7_days,
        f.removed,
        f.lost,
        rate(f.pickup_rate_window()),
        rate(f.pickup_rate_7_days()),
        rate(f.mean_occupancy_days()),
        rate(f.deposit_error_rate()),
        f.hardware_incidents,
        rate(f.hardware_incidents_per_1000_deposits()),
        f.handled,
        rate(f.mean_deposit_handling_seconds()),
        f.returned,
        rate(f.occupancy()),
        f.cost_cents,
        rate(f.cost_per_parcel_cents()),
    )
}

fn day(field: &'static str, text: &str) -> Result<NaiveDate, ParseError> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .map_err(|_| ParseError::new(field, format!("{text:?} is not a date (YYYY-MM-DD)")))
}

#[utoipa::path(get, path = "/v1/kpis", tag = "operations", params(KpiParams), security(("api_key" = ["operator"])),
    responses((status = 200, description = "The figures, as JSON or (`format=csv`) a spreadsheet.",
        content((KpiReportView = "application/json"), (String = "text/csv")))))]
/// The network's KPIs over the parcels deposited between two days (pickup rates, occupancy, deposit
/// errors, hardware incidents, handling time), per point and day and in total; JSON or CSV.
pub async fn kpis(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    QueryParams(params): QueryParams<KpiParams>,
) -> Result<Response, ApiError> {
    let csv = match params.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(other) => return Err(ParseError::new("format", format!("{other:?} is not json or csv")).into()),
    };
    let query = KpiQuery {
        first: day("from", &params.from)?,
        last: day("to", &params.to)?,
        point_id: params.point_id.map(relais_domain::ids::Id::from_uuid),
        network_id: params.network_id.map(relais_domain::ids::Id::from_uuid),
        nps_by_day: false,
    };
    let report = state.app.kpis(&caller, query).await?;
    if csv {
        let mut body = String::from(CSV_HEADER);
        body.push('\n');
        for ((point, day), figures) in &report.cohorts {
            body.push_str(&csv_line(&point.to_string(), &day.to_string(), figures));
            body.push('\n');
        }
        body.push_str(&csv_line("total", "", &report.total));
        body.push('\n');
        return Ok(([(CONTENT_TYPE, "text/csv; charset=utf-8")], body).into_response());
    }
    let view = KpiReportView {
        from: query.first,
        to: query.last,
        total: KpiView::from(&report.total),
        satisfaction: report.nps.into(),
        days: report
            .cohorts
            .iter()
            .map(|((point, day), figures)| KpiDayView { point_id: point.uuid(), day: *day, figures: figures.into() })
            .collect(),
        series: report.days.iter().map(|(day, figures)| KpiSeriesDay { day: *day, figures: figures.into() }).collect(),
    };
    Ok(axum::Json(view).into_response())
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct NpsParams {
    /// First UTC day of answer, `YYYY-MM-DD`.
    #[param(format = Date, example = "2026-11-01")]
    pub from: String,
    /// Last UTC day of answer, included; a period covers at most 366 days.
    #[param(format = Date, example = "2026-11-30")]
    pub to: String,
    pub network_id: Option<Uuid>,
    pub point_id: Option<Uuid>,
    /// A merchant's key always gets its own.
    pub merchant_id: Option<Uuid>,
    pub carrier_id: Option<Uuid>,
}

#[utoipa::path(get, path = "/v1/kpis/nps", tag = "operations", params(NpsParams),
    security(("api_key" = ["operator", "merchant"])),
    responses((status = 200, body = NpsView),
        (status = 403, body = ErrorEnvelope, description = "`forbidden`: carriers and devices."),
        (status = 404, body = ErrorEnvelope, description = "`not_found`: another merchant's."),
        (status = 422, body = ErrorEnvelope, description = "`validation_failed`: `from` or `to`.")))]
/// The Net Promoter Score of the satisfaction survey's answers given between two days, for a network,
/// a point, a merchant or a carrier; a merchant gets its own parcels'.
pub async fn nps(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    QueryParams(params): QueryParams<NpsParams>,
) -> Result<axum::Json<NpsView>, ApiError> {
    use relais_domain::ids::Id;
    let query = NpsQuery {
        first: day("from", &params.from)?,
        last: day("to", &params.to)?,
        network_id: params.network_id.map(Id::from_uuid),
        point_id: params.point_id.map(Id::from_uuid),
        merchant_id: params.merchant_id.map(Id::from_uuid),
        carrier_id: params.carrier_id.map(Id::from_uuid),
    };
    Ok(axum::Json(state.app.nps(&caller, query).await?.into()))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ReviewParams {
    /// First UTC day of answer, `YYYY-MM-DD`.
    #[param(format = Date, example = "2026-11-01")]
    pub from: String,
    /// Last UTC day of answer, included; a period covers at most 366 days.
    #[param(format = Date, example = "2026-11-30")]
    pub to: String,
    pub point_id: Option<Uuid>,
    /// A merchant's key always gets its own.
    pub merchant_id: Option<Uuid>,
    pub carrier_id: Option<Uuid>,
    /// `json` (default) or `csv`.
    pub format: Option<String>,
}

/// A comment its recipient agreed to publish.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReviewView {
    pub parcel_id: Uuid,
    /// 0 to 10.
    #[schema(example = 9)]
    pub score: u8,
    #[schema(example = "Retrait rapide, casier propre.")]
    pub comment: String,
    pub answered_at: chrono::DateTime<chrono::Utc>,
    /// Where the parcel was collected.
    pub point_name: String,
    pub city: String,
}

#[utoipa::path(get, path = "/v1/reviews", tag = "operations", params(ReviewParams),
    security(("api_key" = ["operator", "merchant"])),
    responses((status = 200, description = "The comments, the latest first (at most 5,000): JSON, or CSV (`answered_at,score,comment,point,city`).",
            content((Vec<ReviewView> = "application/json"), (String = "text/csv"))),
        (status = 403, body = ErrorEnvelope, description = "`forbidden`: carriers and devices."),
        (status = 404, body = ErrorEnvelope, description = "`not_found`: another merchant's."),
        (status = 422, body = ErrorEnvelope, description = "`validation_failed`: `from`, `to` or `format`.")))]
/// The satisfaction survey's comments that recipients agreed to publish, for the merchant's reviews
/// page: the score, the comment, where it was collected; never who wrote it.
pub async fn reviews(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    QueryParams(params): QueryParams<ReviewParams>,
) -> Result<Response, ApiError> {
    use relais_domain::ids::Id;
    let format = params.format.as_deref().unwrap_or("json");
    if !matches!(format, "json" | "csv") {
        return Err(relais_domain::value::ParseError::new("format", "json or csv").into());
    }
    let query = NpsQuery {
        first: day("from", &params.from)?,
        last: day("to", &params.to)?,
        network_id: None,
        point_id: params.point_id.map(Id::from_uuid),
        merchant_id: params.merchant_id.map(Id::from_uuid),
        carrier_id: params.carrier_id.map(Id::from_uuid),
    };
    let reviews = state.app.reviews(&caller, query).await?;
    if format == "csv" {
        return Ok(
            ([(CONTENT_TYPE, "text/csv; charset=utf-8")], relais_app::kpis::reviews_csv(&reviews)).into_response()
        );
    }
    let views: Vec<ReviewView> = reviews
        .into_iter()
        .map(|r| ReviewView {
            parcel_id: r.parcel_id.uuid(),
            score: r.score,
            comment: r.comment,
            answered_at: r.answered_at,
            point_name: r.point_name,
            city: r.city,
        })
        .collect();
    Ok(axum::Json(views).into_response())
}
