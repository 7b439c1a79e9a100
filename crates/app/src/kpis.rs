//! The KPIs use case: the event log of a period read back and computed by `relais_domain::kpi`, per
//! point and day, and in total; and the Net Promoter Score of the satisfaction survey's answers. Shared
//! by `GET /v1/kpis`, `GET /v1/kpis/nps` and `relais kpi`.

use std::collections::BTreeMap;

use chrono::{NaiveDate, NaiveTime};
use relais_domain::Timestamp;
use relais_domain::ids::{CarrierId, MerchantId, NetworkId, PointId};
use relais_domain::kpi::{KpiFigures, compute};
use relais_domain::survey::Nps;
use relais_domain::value::ParseError;

use crate::App;
use crate::auth::{Caller, Permission, Role};
use crate::error::AppError;
use crate::ports::SurveyFilter;

/// Longest period one request covers.
pub const PERIOD_DAYS_MAX: i64 = 366;

/// Parcels deposited from `first` to `last` (UTC days, both included), at a point or in a network.
#[derive(Debug, Clone, Copy)]
pub struct KpiQuery {
    pub first: NaiveDate,
    pub last: NaiveDate,
    pub point_id: Option<PointId>,
    pub network_id: Option<NetworkId>,
}

pub struct KpiReport {
    /// Per point and UTC day of deposit.
    pub cohorts: BTreeMap<(PointId, NaiveDate), KpiFigures>,
    pub total: KpiFigures,
    /// The satisfaction survey's answers given in the period (at the point, or in the network).
    pub nps: Nps,
}

/// Survey answers given from `first` to `last` (UTC days, both included), narrowed to a network, a
/// point, a merchant or a carrier when given.
#[derive(Debug, Clone, Copy)]
pub struct NpsQuery {
    pub first: NaiveDate,
    pub last: NaiveDate,
    pub network_id: Option<NetworkId>,
    pub point_id: Option<PointId>,
    pub merchant_id: Option<MerchantId>,
    pub carrier_id: Option<CarrierId>,
}

impl App {
    pub async fn kpis(&self, caller: &Caller, query: KpiQuery) -> Result<KpiReport, AppError> {
        caller.require(Permission::ReadKpis)?;
        let (from, to) = period(query.first, query.last)?;
        let events = self.store.kpi_events(query.point_id, query.network_id, from, to).await?;
        let facts = self.store.kpi_facts(query.point_id, query.network_id, from, to).await?;
        let (cohorts, total) = compute(&events, &facts, from, to);
        let filter = SurveyFilter {
            from,
            to,
            network_id: query.network_id,
            point_id: query.point_id,
            merchant_id: None,
            carrier_id: None,
        };
        let nps = Nps::of_counts(&self.store.survey_scores(&filter).await?);
        Ok(KpiReport { cohorts, total, nps })
    }

    /// The Net Promoter Score of the survey's answers: operators' of anything, a merchant's of its
    /// own parcels only (another merchant's is `not_found`).
    pub async fn nps(&self, caller: &Caller, query: NpsQuery) -> Result<Nps, AppError> {
        let filter = survey_filter(caller, &query)?;
        Ok(Nps::of_counts(&self.store.survey_scores(&filter).await?))
    }
}

/// Which answers a caller's survey query covers: a merchant's own parcels only (another merchant's is
/// `not_found`), anything an operator names.
fn survey_filter(caller: &Caller, query: &NpsQuery) -> Result<SurveyFilter, AppError> {
    let merchant_id = match caller.role {
        Role::Merchant => match (query.merchant_id, caller.merchant_id) {
            (Some(asked), Some(own)) if asked != own => {
                return Err(AppError::not_found("merchant", asked.to_string()));
            }
            (_, own) => own,
        },
        _ => {
            caller.require(Permission::ReadKpis)?;
            query.merchant_id
        }
    };
    let (from, to) = period(query.first, query.last)?;
    Ok(SurveyFilter {
        from,
        to,
        network_id: query.network_id,
        point_id: query.point_id,
        merchant_id,
        carrier_id: query.carrier_id,
    })
}

/// The instants of a period of UTC days, checked.
fn period(first: NaiveDate, last: NaiveDate) -> Result<(Timestamp, Timestamp), AppError> {
    if last < first {
        return Err(ParseError::new("to", "the last day is before the first").into());
    }
    if (last - first).num_days() >= PERIOD_DAYS_MAX {
        return Err(ParseError::new("to", format!("a period covers at most {PERIOD_DAYS_MAX} days")).into());
    }
    let from = first.and_time(NaiveTime::MIN).and_utc();
    let to = (last + chrono::Duration::days(1)).and_time(NaiveTime::MIN).and_utc();
    Ok((from, to))
}

/// A comment its recipient agreed to publish, as a merchant's reviews page shows it: no name, no
/// contact, where the parcel was collected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Review {
    pub parcel_id: relais_domain::ids::ParcelId,
    pub score: u8,
    pub comment: String,
    pub answered_at: relais_domain::Timestamp,
    pub point_name: String,
    pub city: String,
}

/// Most reviews one export gives.
pub const REVIEWS_MAX: u32 = 5_000;

impl App {
    /// The comments recipients agreed to publish, given between two days, the latest first: a
    /// merchant's own (its reviews page), or an operator's choice of merchant.
    pub async fn reviews(&self, caller: &Caller, query: NpsQuery) -> Result<Vec<Review>, AppError> {
        let filter = survey_filter(caller, &query)?;
        let mut reviews = Vec::new();
        for answer in self.store.published_answers(&filter, REVIEWS_MAX).await? {
            let point = self.indexed_point(answer.point_id).await?;
            reviews.push(Review {
                parcel_id: answer.parcel_id,
                score: answer.score,
                comment: answer.comment.unwrap_or_default(),
                answered_at: answer.answered_at,
                point_name: point.name.clone(),
                city: point.address.city.clone(),
            });
        }
        Ok(reviews)
    }
}

/// Reviews as CSV for a merchant's site: `answered_at,score,comment,point,city`.
pub fn reviews_csv(reviews: &[Review]) -> String {
    let mut out = String::from("answered_at,score,comment,point,city\n");
    for r in reviews {
        let fields = [
            r.answered_at.to_rfc3339(),
            r.score.to_string(),
            crate::csv_out::inert(&r.comment),
            crate::csv_out::inert(&r.point_name),
            crate::csv_out::inert(&r.city),
        ];
        let refs: Vec<&str> = fields.iter().map(String::as_str).collect();
        out.push_str(&crate::csv_out::line(&refs));
        out.push('\n');
    }
    out
}
