//! Routes of the parcel numbers relais issues: a merchant's SSCC-18 series and a network's UPU S10
//! range, set and read, and numbers issued ahead (labels printed before the announce).

use axum::Json;
use axum::extract::{Path, State};
use chrono::{DateTime, Utc};
use relais_app::numbers::{SeriesOwner, SeriesView as Series};
use relais_domain::numbering::Series as Definition;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::HttpState;
use crate::error::{ApiError, ErrorEnvelope};
use crate::extract::{Auth, Body, path_id};

type Result<T> = std::result::Result<T, ApiError>;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SsccSeriesRequest {
    /// 0 to 9: the first digit of every SSCC, chosen by the merchant (packaging level, site...).
    #[schema(example = 1, minimum = 0, maximum = 9)]
    pub extension_digit: i64,
    /// The merchant's GS1 company prefix, 7 to 10 digits.
    #[schema(example = "0614141", min_length = 7, max_length = 10)]
    pub company_prefix: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct S10SeriesRequest {
    /// The UPU service indicator, 2 letters (`EE`, `CP`, `RR`...).
    #[schema(example = "EW", min_length = 2, max_length = 2)]
    pub service: String,
    /// The postal operator's country, ISO 3166 alpha-2.
    #[schema(example = "FR", min_length = 2, max_length = 2)]
    pub country: String,
    /// The range's first and last 8-digit serials.
    #[schema(example = 11272000, minimum = 0, maximum = 99999999)]
    pub first: i64,
    #[schema(example = 11272999, minimum = 0, maximum = 99999999)]
    pub last: i64,
}

/// A numbering series.
#[derive(Debug, Serialize, ToSchema)]
pub struct SeriesView {
    /// `sscc` or `s10`.
    pub kind: String,
    pub extension_digit: Option<u8>,
    pub company_prefix: Option<String>,
    pub service: Option<String>,
    pub country: Option<String>,
    pub first: Option<u32>,
    pub last: Option<u32>,
    /// How many numbers the series makes.
    pub capacity: u64,
    /// Where the next block of serials starts (each process takes blocks of 100).
    pub next_serial: u64,
    pub updated_at: DateTime<Utc>,
}

impl From<Series> for SeriesView {
    fn from(s: Series) -> Self {
        let mut view = SeriesView {
            kind: s.series.kind().to_owned(),
            extension_digit: None,
            company_prefix: None,
            service: None,
            country: None,
            first: None,
            last: None,
            capacity: s.capacity,
            next_serial: s.next_serial,
            updated_at: s.updated_at,
        };
        match s.series {
            Definition::Sscc { extension_digit, company_prefix } => {
                view.extension_digit = Some(extension_digit);
                view.company_prefix = Some(company_prefix);
            }
            Definition::S10 { service, country, first, last } => {
                view.service = Some(service);
                view.country = Some(country);
                view.first = Some(first);
                view.last = Some(last);
            }
        }
        view
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IssueRequest {
    #[schema(example = 10, minimum = 1, maximum = 1000)]
    pub count: u32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IssuedNumbers {
    /// In the order issued; each is the merchant's, never issued again within a year.
    pub numbers: Vec<String>,
}

#[utoipa::path(put, path = "/v1/merchants/{id}/number-series/sscc", tag = "parcels", request_body = SsccSeriesRequest,
    params(("id" = Uuid, Path, description = "The merchant.")), security(("api_key" = ["operator", "merchant"])),
    responses((status = 200, body = SeriesView),
        (status = 404, body = ErrorEnvelope, description = "`not_found`: no such merchant, or another merchant's."),
        (status = 422, body = ErrorEnvelope, description = "`validation_failed`: `extension_digit` or `company_prefix`.")))]
/// Sets the merchant's SSCC series: parcels it announces without a number get the next SSCC. A new
/// prefix starts after the serials it issued within the year.
pub async fn set_sscc(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    Body(r): Body<SsccSeriesRequest>,
) -> Result<Json<SeriesView>> {
    let owner = SeriesOwner::Merchant(path_id("merchant", &id)?);
    let series = Definition::sscc(r.extension_digit, &r.company_prefix)?;
    Ok(Json(state.app.set_number_series(&caller, owner, series).await?.into()))
}

#[utoipa::path(get, path = "/v1/merchants/{id}/number-series/sscc", tag = "parcels",
    params(("id" = Uuid, Path, description = "The merchant.")), security(("api_key" = ["operator", "merchant"])),
    responses((status = 200, body = SeriesView),
        (status = 404, body = ErrorEnvelope, description = "`not_found`: no such merchant, or another merchant's."),
        (status = 409, body = ErrorEnvelope, description = "`no_number_series`: none is set.")))]
/// The merchant's SSCC series.
pub async fn get_sscc(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<Json<SeriesView>> {
    let owner = SeriesOwner::Merchant(path_id("merchant", &id)?);
    Ok(Json(state.app.number_series(&caller, owner, "sscc").await?.into()))
}

#[utoipa::path(put, path = "/v1/networks/{id}/number-series/s10", tag = "parcels", request_body = S10SeriesRequest,
    params(("id" = Uuid, Path, description = "The network.")), security(("api_key" = ["operator"])),
    responses((status = 200, body = SeriesView),
        (status = 404, body = ErrorEnvelope, description = "`not_found`: no such network."),
        (status = 422, body = ErrorEnvelope, description = "`validation_failed`: `service`, `country`, `first` or `last`.")))]
/// Sets a postal network's UPU S10 range.
pub async fn set_s10(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    Body(r): Body<S10SeriesRequest>,
) -> Result<Json<SeriesView>> {
    let owner = SeriesOwner::Network(path_id("network", &id)?);
    let series = Definition::s10(&r.service, &r.country, r.first, r.last)?;
    Ok(Json(state.app.set_number_series(&caller, owner, series).await?.into()))
}

#[utoipa::path(get, path = "/v1/networks/{id}/number-series/s10", tag = "parcels",
    params(("id" = Uuid, Path, description = "The network.")), security(("api_key" = ["operator"])),
    responses((status = 200, body = SeriesView),
        (status = 404, body = ErrorEnvelope, description = "`not_found`: no such network."),
        (status = 409, body = ErrorEnvelope, description = "`no_number_series`: none is set.")))]
/// A network's S10 range.
pub async fn get_s10(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<Json<SeriesView>> {
    let owner = SeriesOwner::Network(path_id("network", &id)?);
    Ok(Json(state.app.number_series(&caller, owner, "s10").await?.into()))
}

#[utoipa::path(post, path = "/v1/merchants/{id}/parcel-numbers", tag = "parcels", request_body = IssueRequest,
    params(("id" = Uuid, Path, description = "The merchant.")), security(("api_key" = ["operator", "merchant"])),
    responses((status = 200, body = IssuedNumbers),
        (status = 404, body = ErrorEnvelope, description = "`not_found`: no such merchant, or another merchant's."),
        (status = 409, body = ErrorEnvelope, description = "`no_number_series`: the merchant has no SSCC series; `numbers_exhausted`: it issued all its numbers within the year."),
        (status = 422, body = ErrorEnvelope, description = "`validation_failed`: `count` is 1 to 1000.")))]
/// Issues SSCCs of the merchant's series ahead of the announce (labels printed at the packing table).
pub async fn issue(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    Body(r): Body<IssueRequest>,
) -> Result<Json<IssuedNumbers>> {
    let owner = SeriesOwner::Merchant(path_id("merchant", &id)?);
    let numbers = state.app.issue_numbers(&caller, owner, "sscc", r.count).await?;
    Ok(Json(IssuedNumbers { numbers: numbers.iter().map(|n| n.as_str().to_owned()).collect() }))
}
