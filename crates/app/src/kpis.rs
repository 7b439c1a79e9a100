//! The KPIs use case: the event log of a period read back and computed by `relais_domain::kpi`, per
//! point and day, and in total. Shared by `GET /v1/kpis` and `relais kpi`.

use std::collections::BTreeMap;

use chrono::{NaiveDate, NaiveTime};
use relais_domain::ids::{NetworkId, PointId};
use relais_domain::kpi::{KpiFigures, compute};
use relais_domain::value::ParseError;

use crate::App;
use crate::auth::{Caller, Permission};
use crate::error::AppError;

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
}

impl App {
    pub async fn kpis(&self, caller: &Caller, query: KpiQuery) -> Result<KpiReport, AppError> {
        caller.require(Permission::ReadKpis)?;
        if query.last < query.first {
            return Err(ParseError::new("to", "the last day is before the first").into());
        }
        if (query.last - query.first).num_days() >= PERIOD_DAYS_MAX {
            return Err(ParseError::new("to", format!("a period covers at most {PERIOD_DAYS_MAX} days")).into());
        }
        let from = query.first.and_time(NaiveTime::MIN).and_utc();
        let to = (query.last + chrono::Duration::days(1)).and_time(NaiveTime::MIN).and_utc();
        let events = self.store.kpi_events(query.point_id, query.network_id, from, to).await?;
        let facts = self.store.kpi_facts(query.point_id, query.network_id, from, to).await?;
        let (cohorts, total) = compute(&events, &facts, from, to);
        Ok(KpiReport { cohorts, total })
    }
}
